"""Pure numpy functions on label images: strokes, flood fill, new labels, relabelling.

Coordinates are ``(row, col)``; boxes are half-open ``(row0, row1, col0, col1)``.
None of these functions modifies its input unless it says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from itertools import pairwise
from typing import TypeAlias

import numpy as np
import numpy.typing as npt
from skimage.segmentation import flood

BBox: TypeAlias = tuple[int, int, int, int]
"""Half-open box ``(row0, row1, col0, col1)``."""

LABEL_DTYPE = np.dtype(np.uint32)
"""The dtype of every label image held by a Session."""

RADIUS_MAX = 512.0
"""Largest brush radius in pixels (a bigger brush is almost always a mistake)."""


def _as_points(points: npt.ArrayLike, *, name: str = "points") -> npt.NDArray[np.float64]:
    try:
        pts = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"{name} must be a sequence of (row, col) pairs, e.g. [(10, 12), (14, 20)]; "
            f"got {points!r}"
        ) from err
    if pts.ndim == 1 and pts.shape[0] == 2:
        pts = pts[np.newaxis]
    if pts.ndim != 2 or pts.shape[1] != 2 or pts.shape[0] == 0:
        raise ValueError(
            f"{name} must have shape (n, 2) with n >= 1 (row, col) pairs; got shape {pts.shape}"
        )
    if not np.isfinite(pts).all():
        raise ValueError(f"{name} contains NaN or infinite coordinates; pass finite (row, col)")
    return pts


def _check_radius(radius: float) -> float:
    r = float(radius)
    if not np.isfinite(r) or r < 0.5 or r > RADIUS_MAX:
        raise ValueError(
            f"radius must be a number between 0.5 and {RADIUS_MAX:g} pixels; got {radius!r}"
        )
    return r


def stroke_centres(points: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Integer disk centres along a polyline, one step per pixel so fast strokes have no gaps.

    Parameters
    ----------
    points : array_like, shape (n, 2)
        Vertices of the polyline as ``(row, col)``; floats are allowed.

    Returns
    -------
    ndarray of int64, shape (m, 2)
        The centres, consecutive duplicates removed.

    Examples
    --------
    >>> stroke_centres([(0, 0), (0, 3)]).tolist()
    [[0, 0], [0, 1], [0, 2], [0, 3]]
    """
    pts = _as_points(points)
    chunks = [np.floor(pts[:1] + 0.5)]
    for a, b in pairwise(pts):
        d = b - a
        n = int(max(np.ceil(abs(d[0])), np.ceil(abs(d[1])), 1.0))
        k = np.arange(1, n + 1, dtype=np.float64)[:, np.newaxis]
        chunks.append(np.floor(a + (d * k) / n + 0.5))
    centres = np.concatenate(chunks).astype(np.int64)
    keep = np.ones(len(centres), dtype=bool)
    keep[1:] = np.any(centres[1:] != centres[:-1], axis=1)
    return centres[keep]


@lru_cache(maxsize=64)
def disk_offsets(radius: float) -> npt.NDArray[np.int64]:
    """Integer ``(drow, dcol)`` offsets of a disk: every offset with ``dr² + dc² <= r²``.

    Examples
    --------
    >>> len(disk_offsets(1.0))
    5
    """
    r = _check_radius(radius)
    k = int(np.floor(r))
    dr, dc = np.mgrid[-k : k + 1, -k : k + 1]
    inside = dr * dr + dc * dc <= r * r
    offsets = np.stack([dr[inside], dc[inside]], axis=1).astype(np.int64)
    offsets.flags.writeable = False
    return offsets


def stroke_mask(
    shape: tuple[int, int],
    points: npt.ArrayLike,
    radius: float,
    *,
    clip: BBox | None = None,
) -> tuple[BBox, npt.NDArray[np.bool_]] | None:
    """Rasterise a brush stroke: the union of disks along a polyline.

    Parameters
    ----------
    shape : (int, int)
        Shape ``(rows, cols)`` of the image the stroke is drawn on.
    points : array_like, shape (n, 2)
        Polyline vertices ``(row, col)``.
    radius : float
        Brush radius in pixels (>= 0.5).
    clip : (row0, row1, col0, col1), optional
        Only pixels inside this half-open box are kept (e.g. an ROI).

    Returns
    -------
    (bbox, mask) or None
        The tight half-open bounding box of the stroke and a boolean mask of that box's shape,
        or ``None`` when the stroke misses the image (or the clip box) entirely.

    Examples
    --------
    >>> bbox, mask = stroke_mask((10, 10), [(5, 5)], 1)
    >>> bbox, int(mask.sum())
    ((4, 7, 4, 7), 5)
    """
    centres = stroke_centres(points)
    offsets = disk_offsets(_check_radius(radius))
    lim = (
        (0, shape[0], 0, shape[1]) if clip is None else _intersect((0, shape[0], 0, shape[1]), clip)
    )
    if lim is None:
        return None
    k = int(offsets[:, 0].max())
    # Drop centres whose disk cannot touch the allowed area before the (n x k) broadcast.
    near = (
        (centres[:, 0] + k >= lim[0])
        & (centres[:, 0] - k < lim[1])
        & (centres[:, 1] + k >= lim[2])
        & (centres[:, 1] - k < lim[3])
    )
    centres = centres[near]
    if len(centres) == 0:
        return None
    r0 = max(int(centres[:, 0].min()) - k, lim[0])
    r1 = min(int(centres[:, 0].max()) + k + 1, lim[1])
    c0 = max(int(centres[:, 1].min()) - k, lim[2])
    c1 = min(int(centres[:, 1].max()) + k + 1, lim[3])
    h, w = r1 - r0, c1 - c0
    # Stamp the disk at every centre into a padded box, then crop to the allowed area.
    pad = np.zeros((h + 2 * k + 2, w + 2 * k + 2), dtype=bool)
    rows = (centres[:, 0] - r0 + k)[:, np.newaxis] + offsets[:, 0]
    cols = (centres[:, 1] - c0 + k)[:, np.newaxis] + offsets[:, 1]
    ok = (rows >= 0) & (rows < pad.shape[0]) & (cols >= 0) & (cols < pad.shape[1])
    pad[rows[ok], cols[ok]] = True
    mask = pad[k : k + h, k : k + w]
    if not mask.any():
        return None
    return tight_bbox(mask, offset=(r0, c0))


def tight_bbox(
    mask: npt.NDArray[np.bool_], *, offset: tuple[int, int] = (0, 0)
) -> tuple[BBox, npt.NDArray[np.bool_]]:
    """Shrink a non-empty boolean mask to its bounding box.

    Returns the half-open box (shifted by ``offset``) and the cropped mask.

    Examples
    --------
    >>> m = np.zeros((4, 4), bool); m[1:3, 2] = True
    >>> tight_bbox(m)[0]
    (1, 3, 2, 3)
    """
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    if len(rows) == 0:
        raise ValueError("mask is empty: there is no bounding box to take")
    r0, r1, c0, c1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    box = (r0 + offset[0], r1 + offset[0], c0 + offset[1], c1 + offset[1])
    return box, mask[r0:r1, c0:c1]


def _intersect(a: BBox, b: BBox) -> BBox | None:
    box = (max(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), min(a[3], b[3]))
    if box[0] >= box[1] or box[2] >= box[3]:
        return None
    return box


def bbox_slices(bbox: BBox) -> tuple[slice, slice]:
    """``(rows, cols)`` slices of a half-open box.

    Examples
    --------
    >>> bbox_slices((1, 3, 0, 2))
    (slice(1, 3, None), slice(0, 2, None))
    """
    return slice(bbox[0], bbox[1]), slice(bbox[2], bbox[3])


def union_bbox(a: BBox, b: BBox) -> BBox:
    """Smallest half-open box holding both boxes.

    Examples
    --------
    >>> union_bbox((0, 2, 0, 2), (5, 6, 1, 9))
    (0, 6, 0, 9)
    """
    return (min(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), max(a[3], b[3]))


def fill_mask(
    label_image: npt.NDArray[np.integer],
    seed_point: tuple[int, int],
    *,
    connectivity: int = 1,
    clip: BBox | None = None,
) -> tuple[BBox, npt.NDArray[np.bool_]]:
    """Contiguous region of the seed's label value (the mask step of a fill bucket).

    The search starts in a small window around the seed and grows it only while the region
    touches the window's edge, so filling one cell of a large frame costs about the cell's size.

    Parameters
    ----------
    label_image : ndarray, shape (rows, cols)
        The label image.
    seed_point : (int, int)
        ``(row, col)`` of the seed; it must lie inside the image (and inside ``clip``).
    connectivity : {1, 2}
        1 for 4-connected regions (the default, like napari), 2 for 8-connected.
    clip : (row0, row1, col0, col1), optional
        The region does not extend outside this box.

    Returns
    -------
    (bbox, mask)
        Tight half-open bounding box of the region and its boolean mask.

    Examples
    --------
    >>> lab = np.array([[1, 1, 0], [0, 1, 0], [2, 0, 1]])
    >>> box, m = fill_mask(lab, (0, 0))
    >>> box, m.astype(int).tolist()
    ((0, 2, 0, 2), [[1, 1], [0, 1]])
    """
    if label_image.ndim != 2:
        raise ValueError(f"label_image must be 2-D (rows, cols); got shape {label_image.shape}")
    if connectivity not in (1, 2):
        raise ValueError(
            f"connectivity must be 1 (4-connected) or 2 (8-connected); got {connectivity!r}"
        )
    full: BBox = (0, label_image.shape[0], 0, label_image.shape[1])
    lim = full if clip is None else _intersect(full, clip)
    row, col = int(seed_point[0]), int(seed_point[1])
    if lim is None or not (lim[0] <= row < lim[1] and lim[2] <= col < lim[3]):
        raise ValueError(
            f"seed_point {seed_point!r} is outside the image{' or the ROI' if clip else ''} "
            f"(rows {lim[0] if lim else 0}..{lim[1] - 1 if lim else 0}, "
            f"cols {lim[2] if lim else 0}..{lim[3] - 1 if lim else 0}); pick a pixel inside it"
        )
    half = 32
    while True:
        win = (
            max(lim[0], row - half),
            min(lim[1], row + half),
            max(lim[2], col - half),
            min(lim[3], col + half),
        )
        sub = label_image[bbox_slices(win)]
        mask: npt.NDArray[np.bool_] = flood(  # type: ignore[no-untyped-call]
            sub, (row - win[0], col - win[2]), connectivity=connectivity
        )
        touches = (
            (win[0] > lim[0] and mask[0].any())
            or (win[1] < lim[1] and mask[-1].any())
            or (win[2] > lim[2] and mask[:, 0].any())
            or (win[3] < lim[3] and mask[:, -1].any())
        )
        if not touches:
            return tight_bbox(mask, offset=(win[0], win[2]))
        half *= 4


def next_label(max_label: int, *, dtype: npt.DTypeLike = LABEL_DTYPE) -> int:
    """The label after ``max_label``, checked against the dtype's range.

    Examples
    --------
    >>> next_label(41)
    42
    """
    new = int(max_label) + 1
    check_label(new, dtype=dtype)
    return new


def check_label(label: int, *, dtype: npt.DTypeLike = LABEL_DTYPE, name: str = "label") -> int:
    """Validate a label value for a label image of ``dtype`` and return it as ``int``.

    Examples
    --------
    >>> check_label(3)
    3
    """
    if isinstance(label, bool) or not isinstance(label, (int, np.integer)):
        if isinstance(label, (float, np.floating)) and float(label).is_integer():
            label = int(label)
        else:
            raise TypeError(f"{name} must be a non-negative integer; got {label!r}")
    info = np.iinfo(np.dtype(dtype))
    value = int(label)
    if value < 0 or value > info.max:
        raise ValueError(
            f"{name}={value} is outside the range of {np.dtype(dtype).name} labels "
            f"(0..{info.max}); use a smaller label, or relabel with segpaint.ops.relabel_sequential"
        )
    return value


def as_label_image(
    values: npt.ArrayLike, *, name: str = "labels", shape: tuple[int, ...] | None = None
) -> npt.NDArray[np.uint32]:
    """Validate an array of labels and return it as ``uint32``.

    Accepts unsigned and signed integer arrays with non-negative values, booleans, and float
    arrays holding only whole numbers. Rejects NaN, negative values, fractions and values
    above the ``uint32`` range, naming ``name`` in the error.

    Examples
    --------
    >>> as_label_image(np.array([[0, 2], [1, 0]], dtype=np.int64)).dtype
    dtype('uint32')
    """
    arr = np.asarray(values)
    if shape is not None and arr.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}; got {arr.shape}")
    if arr.dtype == bool:
        return arr.astype(LABEL_DTYPE)
    if arr.dtype.kind == "f":
        if arr.size and not np.isfinite(arr).all():
            raise ValueError(
                f"{name} contains NaN or infinite values; labels must be whole numbers >= 0"
            )
        if arr.size and not np.array_equal(arr, np.floor(arr)):
            raise ValueError(
                f"{name} has fractional values (dtype {arr.dtype}); labels are whole numbers: "
                "pass an integer array, e.g. labels.astype(np.uint32) after rounding"
            )
    elif arr.dtype.kind not in "ui":
        raise TypeError(f"{name} must be an integer array of labels; got dtype {arr.dtype}")
    if arr.size:
        lo, hi = arr.min(), arr.max()
        if lo < 0:
            raise ValueError(
                f"{name} has negative values (min {lo}); labels are 0 (background) or positive"
            )
        if hi > np.iinfo(LABEL_DTYPE).max:
            raise ValueError(
                f"{name} has values above the uint32 label range (max {hi}); relabel first with "
                "segpaint.ops.relabel_sequential"
            )
    return arr.astype(LABEL_DTYPE, copy=False)


def relabel_sequential(label_image: npt.ArrayLike) -> npt.NDArray[np.uint32]:
    """Renumber the labels of an image to ``1..N`` keeping their order; 0 stays background.

    Examples
    --------
    >>> relabel_sequential(np.array([[0, 7], [7, 3]])).tolist()
    [[0, 2], [2, 1]]
    """
    arr = as_label_image(label_image, name="label_image")
    values, inverse = np.unique(arr, return_inverse=True)
    first = 0 if values[0] == 0 else 1
    new = np.arange(first, first + len(values), dtype=LABEL_DTYPE)
    return new[inverse.reshape(arr.shape)]


def pad_symmetric(
    image: npt.NDArray[np.generic], *, min_size: int = 256
) -> tuple[npt.NDArray[np.generic], tuple[tuple[int, int], tuple[int, int]]]:
    """Zero-pad the last two axes up to ``min_size`` the way Celldetective does.

    A side shorter than ``min_size`` gets ``min_size - size`` zeros, rounded up to an even
    number and split equally between both ends (so a 255-px side becomes 257).

    Returns the padded array and ``((top, bottom), (left, right))``.

    Examples
    --------
    >>> out, pad = pad_symmetric(np.ones((2, 250, 300)), min_size=256)
    >>> out.shape, pad
    ((2, 256, 300), ((3, 3), (0, 0)))
    """
    pads: list[tuple[int, int]] = []
    for size in image.shape[-2:]:
        total = max(0, min_size - size)
        total += total % 2
        pads.append((total // 2, total // 2))
    if not any(p[0] for p in pads):
        return image, ((0, 0), (0, 0))
    spec = [(0, 0)] * (image.ndim - 2) + pads
    return np.pad(image, spec, mode="constant"), (pads[0], pads[1])


def percentile_limits(
    image: npt.ArrayLike, *, low: float = 1.0, high: float = 99.8, max_samples: int = 1 << 20
) -> tuple[float, float]:
    """Contrast limits from percentiles of an image, sampled for speed on large frames.

    Examples
    --------
    >>> percentile_limits(np.arange(101), low=10, high=90)
    (10.0, 90.0)
    """
    if not 0 <= low < high <= 100:
        raise ValueError(f"need 0 <= low < high <= 100; got low={low}, high={high}")
    arr = np.asarray(image).ravel()
    if arr.size > max_samples:
        arr = arr[:: arr.size // max_samples + 1]
    arr = arr[np.isfinite(arr)] if arr.dtype.kind == "f" else arr
    if arr.size == 0:
        return 0.0, 1.0
    lo, hi = np.percentile(arr, [low, high])
    if hi <= lo:
        hi = lo + 1.0
    return float(lo), float(hi)


def check_bbox(bbox: Sequence[int], shape: tuple[int, int], *, name: str = "bbox") -> BBox:
    """Validate a half-open ``(row0, row1, col0, col1)`` box inside an image of ``shape``.

    Examples
    --------
    >>> check_bbox((0, 2, 1, 3), (4, 4))
    (0, 2, 1, 3)
    """
    try:
        r0, r1, c0, c1 = (int(v) for v in bbox)
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"{name} must be 4 integers (row0, row1, col0, col1); got {bbox!r}"
        ) from err
    if not (0 <= r0 < r1 <= shape[0] and 0 <= c0 < c1 <= shape[1]):
        raise ValueError(
            f"{name}={(r0, r1, c0, c1)} is empty or outside the image of shape {shape}; "
            f"need 0 <= row0 < row1 <= {shape[0]} and 0 <= col0 < col1 <= {shape[1]}"
        )
    return r0, r1, c0, c1
