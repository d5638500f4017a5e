"""Pure numpy functions on label images: strokes, flood fill, new labels, relabelling.

Coordinates are ``(row, col)``; boxes are half-open ``(row0, row1, col0, col1)``.
None of these functions modifies its input unless it says so.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
from scipy import ndimage as ndi
from skimage.segmentation import flood

BBox: TypeAlias = tuple[int, int, int, int]
"""Half-open box ``(row0, row1, col0, col1)``."""

LABEL_DTYPE = np.dtype(np.uint32)
"""The dtype of every label image held by a Session."""

# scipy ships partial hints: a typed handle keeps mypy strict
_edt: Callable[..., Any] = ndi.distance_transform_edt

RADIUS_MAX = 512.0
"""Largest brush radius in pixels (a bigger brush is almost always a mistake)."""

STROKE_POINTS_MAX = 10_000
"""Most vertices one stroke may have (a pointer sampled at 240 Hz for 40 s); split longer ones."""

COORD_MAX = 2.0**50
"""Largest absolute ``(row, col)`` coordinate a stroke vertex may have (about 1.1e15 pixels)."""

STROKE_CENTRES_MAX = 1 << 22
"""Most disk centres :func:`stroke_centres` returns when no ``box`` bounds the stroke."""

PAD_SIZE_MAX = 1 << 16
"""Largest ``min_size`` of :func:`pad_symmetric`."""

_DIRECT_MAX = 1 << 18  # centres kept as a list; a longer stroke is marked in a grid instead
_CHUNK = 1 << 16  # centres generated at a time
_SPAN_CHUNK = 1 << 18  # row spans stamped at a time
_SPANS_PER_PIXEL = 4  # more row spans than this per output pixel: use the distance transform
_SPANS_MIN = 1 << 16  # ... unless there are fewer than this


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
    if pts.shape[0] > STROKE_POINTS_MAX:
        raise ValueError(
            f"{name} has {pts.shape[0]} vertices; a stroke takes at most {STROKE_POINTS_MAX}: "
            "split it into several strokes or drop close vertices"
        )
    if not np.isfinite(pts).all():
        raise ValueError(f"{name} contains NaN or infinite coordinates; pass finite (row, col)")
    if np.abs(pts).max() > COORD_MAX:
        raise ValueError(
            f"{name} has a coordinate of {np.abs(pts).max():g} pixels; coordinates must lie "
            f"within +-{COORD_MAX:g} (points outside the image are clipped, so pass the "
            "image edge instead)"
        )
    return pts


def _check_radius(radius: float) -> float:
    try:
        r = float(radius)
    except (TypeError, ValueError):
        r = math.nan
    if not np.isfinite(r) or r < 0.5 or r > RADIUS_MAX:
        raise ValueError(
            f"radius must be a number between 0.5 and {RADIUS_MAX:g} pixels; got {radius!r}"
        )
    return r


def _check_box(box: Sequence[int], name: str) -> BBox:
    try:
        r0, r1, c0, c1 = (operator.index(v) for v in box)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be 4 integers (row0, row1, col0, col1); got {box!r}") from err
    return r0, r1, c0, c1


def _check_shape(shape: Sequence[int]) -> tuple[int, int]:
    try:
        rows, cols = (operator.index(v) for v in shape)
    except (TypeError, ValueError) as err:
        raise TypeError(f"shape must be 2 integers (rows, cols); got {shape!r}") from err
    if rows < 0 or cols < 0:
        raise ValueError(f"shape must not be negative; got {(rows, cols)}")
    return rows, cols


def _segment_plan(
    pts: npt.NDArray[np.float64], box: BBox | None
) -> tuple[npt.NDArray[np.float64], ...]:
    """Per segment: start, step, step count and the range of steps whose centre can be in box.

    Each segment ``a -> b`` is stepped as ``floor(a + (b - a) * k / n + 0.5)`` for
    ``k = 1..n``, ``n`` its Chebyshev length.  With a box, Liang-Barsky clipping in the
    segment's parameter keeps only the steps near the box, so a segment costs at most the box's
    size however far it reaches; the kept steps are computed exactly as without clipping.
    """
    a = pts[:-1]
    d = pts[1:] - a
    n = np.maximum(np.ceil(np.abs(d)).max(axis=1, initial=0.0), 1.0)
    first = np.ones(len(a))
    last = n.copy()
    if box is not None and len(a):
        # centre floor(p + 0.5) lies in [lo, hi) when p lies in [lo - 0.5, hi - 0.5); 1 px spare
        t0 = np.zeros(len(a))
        t1 = np.ones(len(a))
        for axis, (lo, hi) in enumerate(
            ((box[0] - 1.5, box[1] + 0.5), (box[2] - 1.5, box[3] + 0.5))
        ):
            p, v = a[:, axis], d[:, axis]
            flat = v == 0
            inside = (p >= lo) & (p <= hi)
            with np.errstate(divide="ignore", invalid="ignore"):
                ta = (lo - p) / v
                tb = (hi - p) / v
            enter = np.where(flat, np.where(inside, -np.inf, np.inf), np.minimum(ta, tb))
            leave = np.where(flat, np.where(inside, np.inf, -np.inf), np.maximum(ta, tb))
            t0 = np.maximum(t0, enter)
            t1 = np.minimum(t1, leave)
        hit = t0 <= t1
        first = np.where(hit, np.maximum(np.floor(t0 * n) - 1.0, 1.0), 1.0)
        last = np.where(hit, np.minimum(np.ceil(t1 * n) + 1.0, n), 0.0)
    keep = last >= first
    return a[keep], d[keep], n[keep], first[keep], (last - first + 1.0)[keep]


def _centre_chunks(
    pts: npt.NDArray[np.float64], box: BBox | None
) -> Iterator[npt.NDArray[np.int64]]:
    """Disk centres of the polyline in order (inside ``box`` if given), a chunk at a time."""
    start = np.floor(pts[:1] + 0.5)
    a, d, n, first, count = _segment_plan(pts, box)
    pending = [start]
    ends = np.cumsum(count)
    done = 0.0
    index = 0
    while True:
        if pending:
            block = np.concatenate(pending)
            pending = []
        else:
            if index >= len(a):
                return
            # whole segments up to about _CHUNK centres (at least one segment)
            stop = max(index + 1, int(np.searchsorted(ends, done + _CHUNK, side="right")))
            cnt = count[index:stop].astype(np.int64)
            seg = np.repeat(np.arange(index, stop), cnt)
            offset = np.arange(len(seg)) - np.repeat(np.cumsum(cnt) - cnt, cnt)
            k = (first[seg] + offset)[:, np.newaxis]
            block = np.floor(a[seg] + (d[seg] * k) / n[seg][:, np.newaxis] + 0.5)
            done = float(ends[stop - 1])
            index = stop
        if box is not None:
            inside = (
                (block[:, 0] >= box[0])
                & (block[:, 0] < box[1])
                & (block[:, 1] >= box[2])
                & (block[:, 1] < box[3])
            )
            block = block[inside]
        if len(block):
            yield block.astype(np.int64)


def stroke_centres(
    points: npt.ArrayLike, *, box: Sequence[int] | None = None
) -> npt.NDArray[np.int64]:
    """Integer disk centres along a polyline, one step per pixel so fast strokes have no gaps.

    Parameters
    ----------
    points : array_like, shape (n, 2)
        Vertices of the polyline as ``(row, col)``; floats are allowed.  At most
        `STROKE_POINTS_MAX` vertices, coordinates within ``+-COORD_MAX``.
    box : (row0, row1, col0, col1), optional
        Keep only the centres inside this half-open box.  Each segment is clipped to the box
        before it is stepped, so the cost is bounded by the box whatever the coordinates.
        Without a box a stroke may have at most `STROKE_CENTRES_MAX` centres.

    Returns
    -------
    ndarray of int64, shape (m, 2)
        The centres (inside ``box``), consecutive duplicates removed.

    Examples
    --------
    >>> stroke_centres([(0, 0), (0, 3)]).tolist()
    [[0, 0], [0, 1], [0, 2], [0, 3]]
    >>> stroke_centres([(0, 0), (0, 1e9)], box=(0, 1, 0, 3)).tolist()
    [[0, 0], [0, 1], [0, 2]]
    """
    pts = _as_points(points)
    lim = None if box is None else _check_box(box, "box")
    if lim is None:
        total = float(np.maximum(np.ceil(np.abs(np.diff(pts, axis=0))).max(axis=1), 1.0).sum())
        if total + 1 > STROKE_CENTRES_MAX:
            raise ValueError(
                f"points: the stroke is {total:.0f} pixels long, more than {STROKE_CENTRES_MAX} "
                "steps; pass box=(row0, row1, col0, col1) to keep only the part that matters"
            )
    chunks = list(_centre_chunks(pts, lim))
    if not chunks:
        return np.zeros((0, 2), dtype=np.int64)
    centres = np.concatenate(chunks)
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


@lru_cache(maxsize=64)
def _half_widths(r: float) -> npt.NDArray[np.int64]:
    """For ``dr = -k..k``: the largest ``dc`` with ``dr² + dc² <= r²`` (the disk's row spans)."""
    k = math.floor(r)
    dr = np.arange(-k, k + 1, dtype=np.int64)
    w = np.floor(np.sqrt(np.maximum(r * r - dr * dr, 0.0))).astype(np.int64)
    # sqrt may round either way: settle on the exact integer test disk_offsets uses
    w = np.where(dr * dr + (w + 1) * (w + 1) <= r * r, w + 1, w)
    widths = np.asarray(np.where(dr * dr + w * w > r * r, w - 1, w), dtype=np.int64)
    widths.flags.writeable = False
    return widths


def _stamp_spans(centres: npt.NDArray[np.int64], r: float, out: BBox) -> npt.NDArray[np.bool_]:
    """Union of disks as row spans: per (row, start) the furthest end, then a running maximum.

    Costs one span per centre and disk row, and about 16 bytes per pixel of ``out`` at most.
    """
    widths = _half_widths(r)
    k = len(widths) // 2
    dr = np.arange(-k, k + 1, dtype=np.int64)
    h, w = out[1] - out[0], out[3] - out[2]
    ends = np.zeros((h, w), dtype=np.int32)
    # about 45 bytes of temporaries per span: a chunk never outgrows the output box
    step = max(1, min(_SPAN_CHUNK, h * w // 4) // len(widths))
    for i in range(0, len(centres), step):
        c = centres[i : i + step]
        rows = (c[:, :1] - out[0]) + dr
        col = c[:, 1:] - out[2]
        start = np.maximum(col - widths, 0)
        end = np.minimum(col + widths + 1, w)
        ok = (rows >= 0) & (rows < h) & (start < end)
        np.maximum.at(ends, (rows[ok], start[ok]), end[ok].astype(np.int32))
    np.maximum.accumulate(ends, axis=1, out=ends)
    return ends > np.arange(w, dtype=np.int32)


def _stamp_edt(
    grid: npt.NDArray[np.bool_], origin: tuple[int, int], r: float, out: BBox
) -> npt.NDArray[np.bool_]:
    """Union of disks from the nearest centre of every pixel (exact Euclidean feature transform).

    ``grid`` marks the centres on a domain starting at ``origin`` that holds ``out``; costs
    about 20 bytes per domain pixel and time linear in it, however many centres there are.
    """
    nearest = np.empty((2, *grid.shape), dtype=np.int32)
    _edt(~grid, return_distances=False, return_indices=True, indices=nearest)
    h, w = out[1] - out[0], out[3] - out[2]
    r0, c0 = out[0] - origin[0], out[2] - origin[1]
    mask = np.empty((h, w), dtype=bool)
    cols = np.arange(c0, c0 + w, dtype=np.int64)
    step = max(1, (1 << 20) // max(w, 1))
    for i in range(0, h, step):
        rows = np.arange(r0 + i, r0 + min(h, i + step), dtype=np.int64)[:, np.newaxis]
        drow = nearest[0, r0 + i : r0 + i + len(rows), c0 : c0 + w] - rows
        dcol = nearest[1, r0 + i : r0 + i + len(rows), c0 : c0 + w] - cols
        mask[i : i + len(rows)] = drow * drow + dcol * dcol <= r * r
    return mask


def stroke_mask(
    shape: tuple[int, int],
    points: npt.ArrayLike,
    radius: float,
    *,
    clip: BBox | None = None,
) -> tuple[BBox, npt.NDArray[np.bool_]] | None:
    """Rasterise a brush stroke: the union of disks along a polyline.

    The polyline is clipped to the image (grown by the radius) before it is stepped, and the
    disks are stamped as row spans (or, for very long strokes of a wide brush, from an exact
    distance transform), so time and memory are bounded by the image, however far the points
    reach or however wide the brush: the peak is a few bytes per pixel of the stroke's box.

    Parameters
    ----------
    shape : (int, int)
        Shape ``(rows, cols)`` of the image the stroke is drawn on.
    points : array_like, shape (n, 2)
        Polyline vertices ``(row, col)``; they may lie outside the image.  At most
        `STROKE_POINTS_MAX` of them.
    radius : float
        Brush radius in pixels (0.5 to `RADIUS_MAX`).
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
    >>> stroke_mask((10, 10), [(-1e9, 50), (1e9, 50)], 3) is None
    True
    """
    rows, cols = _check_shape(shape)
    pts = _as_points(points)
    r = _check_radius(radius)
    full: BBox = (0, rows, 0, cols)
    lim = full if clip is None else _intersect(full, _check_box(clip, "clip"))
    if lim is None or lim[0] >= lim[1] or lim[2] >= lim[3]:
        return None
    k = math.floor(r)
    # centres whose disk can touch the allowed area
    reach: BBox = (lim[0] - k, lim[1] + k, lim[2] - k, lim[3] + k)
    chunks: list[npt.NDArray[np.int64]] = []
    n_centres = 0
    grid: npt.NDArray[np.bool_] | None = None
    domain = reach
    for chunk in _centre_chunks(pts, reach):
        if grid is None and n_centres + len(chunk) > _DIRECT_MAX:
            # a very long stroke: mark its centres on a grid over its reach in the image
            lo = np.floor(pts.min(axis=0)) - 1
            hi = np.ceil(pts.max(axis=0)) + 2
            found = _intersect(reach, (int(lo[0]), int(hi[0]), int(lo[1]), int(hi[1])))
            assert found is not None  # the chunks lie in both boxes
            domain = found
            grid = np.zeros((domain[1] - domain[0], domain[3] - domain[2]), dtype=bool)
            for old in chunks:
                grid[old[:, 0] - domain[0], old[:, 1] - domain[2]] = True
            chunks = []
        if grid is not None:
            grid[chunk[:, 0] - domain[0], chunk[:, 1] - domain[2]] = True
        else:
            chunks.append(chunk)
        n_centres += len(chunk)
    if n_centres == 0:
        return None
    if grid is None:
        centres = np.concatenate(chunks)
        lo_r, lo_c = (int(v) for v in centres.min(axis=0))
        hi_r, hi_c = (int(v) + 1 for v in centres.max(axis=0))
    else:
        found_r = np.flatnonzero(grid.any(axis=1))
        found_c = np.flatnonzero(grid.any(axis=0))
        lo_r, hi_r = domain[0] + int(found_r[0]), domain[0] + int(found_r[-1]) + 1
        lo_c, hi_c = domain[2] + int(found_c[0]), domain[2] + int(found_c[-1]) + 1
    out = _intersect(lim, (lo_r - k, hi_r + k, lo_c - k, hi_c + k))
    if out is None:
        return None
    area = (out[1] - out[0]) * (out[3] - out[2])
    if grid is None and len(centres) * (2 * k + 1) <= _SPANS_PER_PIXEL * area + _SPANS_MIN:
        mask = _stamp_spans(centres, r, out)
    else:
        # the centres' box and the output box, on one grid
        dom: BBox = (min(lo_r, out[0]), max(hi_r, out[1]), min(lo_c, out[2]), max(hi_c, out[3]))
        marks = np.zeros((dom[1] - dom[0], dom[3] - dom[2]), dtype=bool)
        if grid is None:
            marks[centres[:, 0] - dom[0], centres[:, 1] - dom[2]] = True
        else:
            src = _intersect(domain, dom)
            assert src is not None
            marks[src[0] - dom[0] : src[1] - dom[0], src[2] - dom[2] : src[3] - dom[2]] = grid[
                src[0] - domain[0] : src[1] - domain[0], src[2] - domain[2] : src[3] - domain[2]
            ]
            del grid
        mask = _stamp_edt(marks, (dom[0], dom[2]), r, out)
    if not mask.any():
        return None
    return tight_bbox(mask, offset=(out[0], out[2]))


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
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"mask must be 2-D (rows, cols); got shape {mask.shape}")
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
    contiguous: bool = True,
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
    contiguous : bool
        True (default): only the region connected to the seed. False: every pixel holding the
        seed's value (inside ``clip``), as napari's fill with "contiguous" off.

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
    >>> box, m = fill_mask(lab, (0, 0), contiguous=False)
    >>> box, m.astype(int).tolist()
    ((0, 3, 0, 3), [[1, 1, 0], [0, 1, 0], [0, 0, 1]])
    """
    label_image = np.asarray(label_image)
    if label_image.ndim != 2:
        raise ValueError(f"label_image must be 2-D (rows, cols); got shape {label_image.shape}")
    if connectivity not in (1, 2):
        raise ValueError(
            f"connectivity must be 1 (4-connected) or 2 (8-connected); got {connectivity!r}"
        )
    full: BBox = (0, label_image.shape[0], 0, label_image.shape[1])
    lim = full if clip is None else _intersect(full, clip)
    try:
        row, col = (int(v) for v in seed_point)
    except (TypeError, ValueError, OverflowError) as err:
        raise TypeError(
            f"seed_point must be a (row, col) pair of pixel indices; got {seed_point!r}"
        ) from err
    if label_image.size == 0:
        raise ValueError(
            f"label_image has no pixels (shape {label_image.shape}); there is nothing to fill"
        )
    if lim is None or not (lim[0] <= row < lim[1] and lim[2] <= col < lim[3]):
        raise ValueError(
            f"seed_point {seed_point!r} is outside the image{' or the ROI' if clip else ''} "
            f"(rows {lim[0] if lim else 0}..{lim[1] - 1 if lim else 0}, "
            f"cols {lim[2] if lim else 0}..{lim[3] - 1 if lim else 0}); pick a pixel inside it"
        )
    if not contiguous:
        sub = label_image[bbox_slices(lim)]
        return tight_bbox(sub == label_image[row, col], offset=(lim[0], lim[2]))
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


def _label_dtype(dtype: npt.DTypeLike) -> np.dtype[Any]:
    try:
        kind = np.dtype(dtype)
    except TypeError as err:
        raise TypeError(f"dtype must be an integer dtype such as np.uint32; got {dtype!r}") from err
    if kind.kind not in "ui":
        raise TypeError(f"dtype must be an integer dtype such as np.uint32; got {kind.name}")
    return kind


def next_label(max_label: int, *, dtype: npt.DTypeLike = LABEL_DTYPE) -> int:
    """The label after ``max_label``, checked against the dtype's range.

    Parameters
    ----------
    max_label : int
        The largest label in use (0 when there is none).
    dtype : dtype, optional
        The label image's integer dtype (``uint32`` by default).

    Raises
    ------
    ValueError
        When ``max_label`` is already the largest value of ``dtype``: no label is left above
        it, and the labels must be renumbered (`relabel_sequential`) to free values.

    Examples
    --------
    >>> next_label(41)
    42
    >>> next_label(2**32 - 1)
    Traceback (most recent call last):
    ...
    ValueError: no label is left after 4294967295, the largest uint32 label; ...
    """
    kind = _label_dtype(dtype)
    top = check_label(max_label, dtype=kind, name="max_label")
    if top >= int(np.iinfo(kind).max):
        raise ValueError(
            f"no label is left after {top}, the largest {kind.name} label; renumber the "
            "labels 1..N first, e.g. session.set_labels(population, frame, "
            "segpaint.ops.relabel_sequential(labels)) for each frame"
        )
    return top + 1


def check_label(label: object, *, dtype: npt.DTypeLike = LABEL_DTYPE, name: str = "label") -> int:
    """Validate a label value for a label image of ``dtype`` and return it as ``int``.

    Whole-number floats (``3.0``) are accepted; booleans, fractions, NaN, negative values and
    values above the dtype's range are refused with a message that names ``name``.

    Examples
    --------
    >>> check_label(3)
    3
    >>> check_label(2**32)
    Traceback (most recent call last):
    ...
    ValueError: label=4294967296 is outside the range of uint32 labels (0..4294967295); ...
    """
    kind = _label_dtype(dtype)
    if isinstance(label, bool | np.bool_):
        raise TypeError(
            f"{name} must be a non-negative integer; got the boolean {bool(label)} (pass 1 or 0)"
        )
    if not isinstance(label, int | np.integer):
        if isinstance(label, float | np.floating) and float(label).is_integer():
            label = int(label)
        else:
            raise TypeError(f"{name} must be a non-negative integer; got {label!r}")
    info = np.iinfo(kind)
    value = int(label)
    if value < 0 or value > info.max:
        raise ValueError(
            f"{name}={value} is outside the range of {kind.name} labels "
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
    if arr.size == 0:
        return np.array(arr, dtype=LABEL_DTYPE)
    top = int(arr.max())
    if top <= 4 * arr.size + 65536:  # a lookup table: linear time, no sort
        present = np.zeros(top + 1, dtype=bool)
        present[arr.ravel()] = True
        present[0] = False
        lut = np.cumsum(present, dtype=LABEL_DTYPE)
        return lut[arr]
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
    image = np.asarray(image)
    if image.ndim < 2:
        raise ValueError(f"image must have at least 2 dimensions (..., Y, X); got {image.shape}")
    if isinstance(min_size, bool) or not isinstance(min_size, int | np.integer):
        raise TypeError(f"min_size must be a whole number of pixels; got {min_size!r}")
    if not 0 <= min_size <= PAD_SIZE_MAX:
        raise ValueError(
            f"min_size must be from 0 to {PAD_SIZE_MAX} pixels (Celldetective uses 256); "
            f"got {min_size}"
        )
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
    if isinstance(max_samples, bool) or not isinstance(max_samples, int) or max_samples < 1:
        raise ValueError(f"max_samples must be a whole number >= 1; got {max_samples!r}")
    arr = np.asarray(image).ravel()
    if arr.dtype == bool:
        arr = arr.view(np.uint8)
    if arr.dtype.kind not in "uif":
        raise TypeError(f"image must hold real numbers; got dtype {arr.dtype}")
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
    shape = _check_shape(shape)
    try:
        r0, r1, c0, c1 = (int(v) for v in bbox)
    except (TypeError, ValueError, OverflowError) as err:
        raise TypeError(
            f"{name} must be 4 integers (row0, row1, col0, col1); got {bbox!r}"
        ) from err
    if not (0 <= r0 < r1 <= shape[0] and 0 <= c0 < c1 <= shape[1]):
        raise ValueError(
            f"{name}={(r0, r1, c0, c1)} is empty or outside the image of shape {shape}; "
            f"need 0 <= row0 < row1 <= {shape[0]} and 0 <= col0 < col1 <= {shape[1]}"
        )
    return r0, r1, c0, c1
