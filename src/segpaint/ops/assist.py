"""Assisted-correction kernels: pure functions behind the Session's click/wand/split/... tools.

Every function takes arrays and returns masks or new label arrays; nothing here edits state.
Images come first, options are keyword-only, coordinates are ``(row, col)``.  Functions that
look at intensities work in a window around the click that grows only while the object
touches its edge, so their cost is bounded by the object, not by the frame.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
from scipy import ndimage as ndi
from skimage.draw import polygon as draw_polygon
from skimage.morphology import disk, h_maxima
from skimage.segmentation import flood, watershed

from segpaint.ops import _morph_all, _star
from segpaint.ops.labels import BBox, _intersect, bbox_slices, stroke_centres, tight_bbox

__all__ = [
    "MORPH_OPS",
    "cells_in_box",
    "channel_intensity",
    "default_limits",
    "label_values",
    "labels_in_box",
    "match_labels",
    "morph_labels",
    "polygon_mask",
    "refine_region",
    "region_at",
    "split_label",
    "split_seeds",
    "wand_mask",
]

MORPH_OPS = ("fill_holes", "grow", "shrink", "smooth", "remove_specks")
"""The operations `morph_labels` knows."""

_BACKGROUND_PERCENTILE = 5.0
_EDGE_BAND = 3.0
_PLATEAU = 0.5  # a click this bright (0..1) with no darker pixel around it is inside a big cell
_AUTO_RADIUS = (4.0, 6.5)
_AUTO_LEVEL = (0.6, 0.45)
_EDGE_RING = (2.0, 6.0)
_EDGE_LEVEL = 0.45
_EDGE_SMALL = 0.5
_SPLIT_SMOOTH = 1.0
_SPLIT_H = 0.5
_CORE = 2.0
_DEEP = 3.0
_MARK = 0.8
_HEART_SHARE = 0.7
_PAST = 1.0
_PAST_OUT = 0.75
_KEEP_OUT = 1.5
_KEEP_GATE = 0.07
_KEEP_DEPTH = 1.0
_SHIFT_REACH = 0.5
_SHIFT_PAD = 30
_REFINE_PAD = 12
_DISC = 1.5
_GATE = 0.1
_STAR_MERGE = 2.0
MIN_CONTRAST = 0.05
"""`region_at` finds nothing where the click is less than this above the background (0..1)."""

Limits = Sequence[tuple[float, float]]
Labels = npt.NDArray[np.uint32]


# ------------------------------------------------------------------------------ helpers
def _as_stack(image: npt.ArrayLike, *, name: str = "image") -> npt.NDArray[Any]:
    """``(C, Y, X)`` view of a 2-D or 3-D image."""
    arr = np.asarray(image)
    if arr.ndim == 2:
        return arr[np.newaxis]
    if arr.ndim != 3:
        raise ValueError(
            f"{name}: expected a (rows, cols) or (channels, rows, cols) image, got shape "
            f"{arr.shape}; pick the channels first (e.g. session.image(frame, channels=[0]))"
        )
    return arr


def _crop(stack: npt.NDArray[Any], box: BBox) -> npt.NDArray[Any]:
    return stack[:, box[0] : box[1], box[2] : box[3]]


def _check_limits(
    limits: Sequence[Sequence[float]] | None, n_channels: int
) -> list[tuple[float, float]] | None:
    """Validate contrast ``limits``: one finite ``(low, high)`` pair per channel, low < high."""
    if limits is None:
        return None
    try:
        pairs = [(float(lo), float(hi)) for lo, hi in limits]
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"limits: expected one (low, high) pair per channel, got {limits!r}"
        ) from err
    if len(pairs) != n_channels:
        raise ValueError(
            f"limits: got {len(pairs)} (low, high) pair(s) for {n_channels} channel(s); "
            "pass one pair per channel, in channel order"
        )
    for lo, hi in pairs:
        if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo):
            raise ValueError(f"limits: each pair needs finite low < high, got {(lo, hi)}")
    return pairs


def default_limits(image: npt.ArrayLike) -> list[tuple[float, float]]:
    """Per-channel contrast limits: the 1st and 99.8th percentiles (sampled on big frames).

    Examples
    --------
    >>> default_limits(np.arange(1001).reshape(1, 7, 143))
    [(10.0, 998.0)]
    """
    from segpaint.ops.labels import percentile_limits

    stack = _as_stack(image)
    return [percentile_limits(c, low=1.0, high=99.8, max_samples=1 << 18) for c in stack]


def channel_intensity(
    image: npt.ArrayLike, *, limits: Limits | None = None
) -> npt.NDArray[np.float64]:
    """Mean of the channels, each normalised to [0, 1] by its contrast limits.

    This is the intensity every assisted tool (and the browser's wand) works on.  In float64,
    for each channel ``c`` in order: ``v_c = min(max((I_c - low_c) / (high_c - low_c), 0), 1)``;
    then ``acc = v_0; acc = acc + v_1; ...`` and the result is ``acc / C``.  The operations are
    done in that order so that a JavaScript port (doubles) gives the same bits.

    Parameters
    ----------
    image : array_like, shape (rows, cols) or (channels, rows, cols)
        Raw intensities.
    limits : sequence of (low, high), keyword-only, optional
        One pair per channel (the display contrast).  Default: `default_limits` of ``image``.

    Examples
    --------
    >>> channel_intensity(np.array([[[0, 5, 10]], [[10, 10, 10]]]), limits=[(0, 10), (0, 20)])
    array([[0.25, 0.5 , 0.75]])
    """
    stack = _as_stack(image)
    pairs = _check_limits(limits, stack.shape[0])
    if pairs is None:
        pairs = default_limits(stack)
    acc: npt.NDArray[np.float64] | None = None
    for channel, (lo, hi) in zip(stack, pairs, strict=True):
        v = (np.asarray(channel, dtype=np.float64) - lo) / (hi - lo)
        np.clip(v, 0.0, 1.0, out=v)
        acc = v if acc is None else acc + v
    assert acc is not None
    out: npt.NDArray[np.float64] = acc / float(stack.shape[0])
    return out


def _check_point(
    point: Sequence[float], shape: tuple[int, int], *, name: str, clip: BBox | None = None
) -> tuple[int, int]:
    try:
        r, c = (math.floor(float(v) + 0.5) for v in point)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name}: expected a (row, col) pair of numbers, got {point!r}") from err
    lim: BBox | None = (0, shape[0], 0, shape[1])
    if clip is not None:
        lim = _intersect((0, shape[0], 0, shape[1]), clip)
    if lim is None or not (lim[0] <= r < lim[1] and lim[2] <= c < lim[3]):
        where = "the ROI" if clip is not None else "the image"
        raise ValueError(
            f"{name}: {(r, c)} is outside {where} (rows {lim[0] if lim else 0}.."
            f"{(lim[1] - 1) if lim else 0}, cols {lim[2] if lim else 0}.."
            f"{(lim[3] - 1) if lim else 0}); click inside it"
        )
    return r, c


def _limits_box(shape: tuple[int, int], clip: BBox | None) -> BBox:
    full: BBox = (0, shape[0], 0, shape[1])
    if clip is None:
        return full
    box = _intersect(full, clip)
    if box is None:
        raise ValueError(f"clip: {clip} does not overlap the image of shape {shape}")
    return box


def _window(point: tuple[int, int], half: int, lim: BBox) -> BBox:
    r, c = point
    return (max(lim[0], r - half), min(lim[1], r + half + 1), max(lim[2], c - half),
            min(lim[3], c + half + 1))  # fmt: skip


def _smoothed_window(
    stack: npt.NDArray[Any],
    pairs: Limits,
    seed: tuple[int, int],
    half: int,
    *,
    lim: BBox,
    sigma: float,
) -> tuple[BBox, npt.NDArray[np.float64]]:
    """The window of ``half`` px around ``seed`` and its `channel_intensity`, smoothed by a
    Gaussian of ``sigma`` (0: none) computed on a box ``3 sigma`` larger, so that the window's
    border pixels are not edge effects."""
    win = _window(seed, half, lim)
    outer = _window(seed, half + math.ceil(3 * sigma), lim)
    v = _window_intensity(stack, pairs, outer, sigma)
    return win, v[win[0] - outer[0] : win[1] - outer[0], win[2] - outer[2] : win[3] - outer[2]]


def _touches(mask: npt.NDArray[np.bool_], win: BBox, lim: BBox) -> bool:
    """Whether ``mask`` reaches an edge of ``win`` that is not an edge of ``lim``."""
    return bool(
        (win[0] > lim[0] and mask[0].any())
        or (win[1] < lim[1] and mask[-1].any())
        or (win[2] > lim[2] and mask[:, 0].any())
        or (win[3] < lim[3] and mask[:, -1].any())
    )


# ------------------------------------------------------------------------------ wand
def wand_mask(
    image: npt.ArrayLike,
    seed_point: Sequence[float],
    tolerance: float,
    *,
    limits: Limits | None = None,
    clip: BBox | None = None,
) -> tuple[BBox, npt.NDArray[np.bool_]]:
    """Magic wand: the 4-connected region around the seed whose intensity is within tolerance.

    The rule (the browser's wand implements the same one, bit for bit): ``v`` is
    `channel_intensity` of ``image`` with ``limits``; a pixel is *inside* when
    ``abs(v - v[seed]) <= tolerance`` (float64); the result is the 4-connected component of
    inside pixels that holds the seed, never leaving ``clip``.

    Parameters
    ----------
    image : array_like, shape (rows, cols) or (channels, rows, cols)
        Raw intensities.
    seed_point : (row, col)
        Where the user clicked (rounded half up to the nearest pixel).
    tolerance : float
        In normalised intensity units, 0..1 (0 takes only pixels equal to the seed's).
    limits : sequence of (low, high), keyword-only, optional
        Contrast limits per channel (default: `default_limits` of the whole image).  Pass the
        display contrast so that the wand takes what the user sees.
    clip : (row0, row1, col0, col1), keyword-only, optional
        The region never leaves this box (the ROI lock).

    Returns
    -------
    (bbox, mask)
        Tight half-open box of the region and its boolean mask.

    Examples
    --------
    >>> img = np.array([[10, 12, 50], [11, 40, 52], [10, 10, 51]])
    >>> box, m = wand_mask(img, (0, 0), 0.05, limits=[(0, 100)])
    >>> box, m.astype(int).tolist()
    ((0, 3, 0, 2), [[1, 1], [1, 0], [1, 1]])
    """
    stack = _as_stack(image)
    shape = (int(stack.shape[1]), int(stack.shape[2]))
    tol = float(tolerance)
    if not (math.isfinite(tol) and 0 <= tol <= 1):
        raise ValueError(
            f"tolerance: expected a number in [0, 1] (normalised intensity), got {tolerance!r}"
        )
    pairs = _check_limits(limits, stack.shape[0])
    if pairs is None:
        pairs = default_limits(stack)
    lim = _limits_box(shape, clip)
    point = _check_point(seed_point, shape, name="seed_point", clip=clip)
    seed_value = channel_intensity(stack[:, point[0] : point[0] + 1, point[1] : point[1] + 1],
                                   limits=pairs)[0, 0]  # fmt: skip
    half = 32
    while True:
        win = _window(point, half, lim)
        v = channel_intensity(_crop(stack, win), limits=pairs)
        inside = np.abs(v - seed_value) <= tol
        mask: npt.NDArray[np.bool_] = flood(  # type: ignore[no-untyped-call]
            inside, (point[0] - win[0], point[1] - win[2]), connectivity=1
        )
        if not _touches(mask, win, lim):
            return tight_bbox(mask, offset=(win[0], win[2]))
        half *= 4


# ------------------------------------------------------------------------------ click
def _points(
    points: Sequence[Sequence[float]] | npt.NDArray[Any],
    shape: tuple[int, int],
    *,
    name: str,
    clip: BBox | None,
) -> list[tuple[int, int]]:
    if isinstance(points, np.ndarray):
        points = points.tolist()
    return [_check_point(p, shape, name=f"{name}[{i}]", clip=clip) for i, p in enumerate(points)]


def _band_region(
    v: npt.NDArray[np.float64],
    seeds: Sequence[tuple[int, int]],
    *,
    level: float,
    exclude: npt.NDArray[np.bool_] | None,
    negatives: Sequence[tuple[int, int]] = (),
    low: float | None = None,
) -> npt.NDArray[np.bool_] | None:
    """The connected pieces of the object's intensity band holding the seeds, holes filled.

    The band comes from the first seed (`_local_band`).  A refinement click within
    ``_EDGE_BAND`` (3) px of the first seed's outline moves the whole outline: a positive
    click just outside lowers the level to its intensity everywhere, a negative click just
    inside raises it above its intensity everywhere (the user says "the edge is here").
    Other refinement clicks change the band only
    near themselves, within the object's inscribed radius ``R`` (and never more than halfway
    to a click of the other kind): a positive click darker than
    the band's low end lowers it to ``b + level * (v_click - b)`` there; a negative click
    raises it to just above ``v_click`` there.  None when the first seed is on background.
    ``low``: the band's low end (the edge level) instead of `_local_band`'s.
    """
    band_low, high = _local_band(v, seeds[:1], level=level)
    if not math.isfinite(band_low):
        return None
    low = band_low if low is None else low
    background = float(np.percentile(v, _BACKGROUND_PERCENTILE))
    threshold: npt.NDArray[np.float64] | float = low
    extra = [p for p in seeds[1:] if v[p] < low]
    if extra or negatives:
        base = _pieces_at((v >= low) & (v <= high), seeds[:1], exclude)
        radius = max(3.0, float(ndi.distance_transform_edt(base).max()) if base.any() else 3.0)
        rr, cc = np.ogrid[: v.shape[0], : v.shape[1]]
        threshold = np.full(v.shape, low)

        def reach(point: tuple[int, int], others: Sequence[tuple[int, int]], most: float) -> float:
            # a click's influence stops halfway to the nearest click of the other kind
            gaps = [math.hypot(point[0] - o[0], point[1] - o[1]) / 2 for o in others]
            return min([most, *gaps])

        # a click in the thin band along the object's edge moves the whole edge (its level):
        # just outside lowers it to the click, just inside (negative) raises it above the click
        inner = ndi.distance_transform_edt(base)
        outer = ndi.distance_transform_edt(~base)
        for r, c in extra:
            if not base[r, c] and outer[r, c] <= _EDGE_BAND:
                threshold = np.minimum(threshold, float(v[r, c]))
        for r, c in negatives:
            if base[r, c] and inner[r, c] <= _EDGE_BAND:
                threshold = np.maximum(threshold, float(v[r, c]) + 0.02 * (high - low))
        for r, c in extra:
            d = reach((r, c), negatives, radius)
            near = (rr - r) ** 2 + (cc - c) ** 2 <= d * d
            threshold[near] = np.minimum(
                threshold[near], background + level * (float(v[r, c]) - background)
            )
        for r, c in negatives:
            d = reach((r, c), seeds, radius / 2)
            near = (rr - r) ** 2 + (cc - c) ** 2 <= d * d
            threshold[near] = np.maximum(threshold[near], float(v[r, c]) + 0.02 * (high - low))
    fg = (v >= threshold) & (v <= high)
    for p in seeds:
        fg[p] = True
    return _pieces_at(fg, seeds, exclude)


def _pieces_at(
    fg: npt.NDArray[np.bool_],
    seeds: Sequence[tuple[int, int]],
    exclude: npt.NDArray[np.bool_] | None,
) -> npt.NDArray[np.bool_]:
    """The connected pieces of ``fg`` (minus ``exclude``) holding the seeds, holes filled."""
    if exclude is not None:
        fg = fg & ~exclude
    pieces, _ = ndi.label(fg)
    keep = np.unique([pieces[p] for p in seeds])
    region: npt.NDArray[np.bool_] = ndi.binary_fill_holes(np.isin(pieces, keep[keep > 0]))
    if exclude is not None:
        region &= ~exclude
    return region


def _inside_plateau(v: npt.NDArray[np.float64], seed: tuple[int, int]) -> bool:
    """True when the click is bright (at least `_PLATEAU` of the contrast range) but the window
    holds nothing darker than it by `MIN_CONTRAST` (`_local_band`'s background, its 5th
    percentile): the window lies inside one big object, and a wider one will find its edge."""
    r, c = seed
    obj = float(np.median(v[max(r - 3, 0) : r + 4, max(c - 3, 0) : c + 4]))
    background = float(np.percentile(v, _BACKGROUND_PERCENTILE))
    return obj >= _PLATEAU and obj - background < MIN_CONTRAST


def _local_band(
    v: npt.NDArray[np.float64], seeds: Sequence[tuple[int, int]], *, level: float
) -> tuple[float, float]:
    """The intensity band of the clicked object, between its background and brighter objects.

    Background ``b``: the 5th percentile of the window.  Object ``o``: the darkest of the
    medians of a 7x7 box around each click.  The band is
    ``[b + level * (o - b), o + 1.5 * (o - b)]``: the low end is the half-maximum of a blurred
    edge for ``level=0.5``; the high end keeps a much brighter neighbour (a bright effector
    on a dim target) out, and holes it leaves inside the object are filled afterwards.
    """
    background = float(np.percentile(v, _BACKGROUND_PERCENTILE))
    obj = min(float(np.median(v[max(r - 3, 0) : r + 4, max(c - 3, 0) : c + 4])) for r, c in seeds)
    if obj - background < MIN_CONTRAST:
        return math.inf, math.inf  # nothing brighter than the background here
    return background + level * (obj - background), obj + 1.5 * (obj - background)


def _object_edge(
    v: npt.NDArray[np.float64],
    region: npt.NDArray[np.bool_],
    exclude: npt.NDArray[np.bool_] | None,
) -> float | None:
    """The edge level of one found object, from its own background and its own plateau.

    ``background + level * (plateau - background)``, ``level`` 0.45 for objects with an
    inscribed radius of 6.5 px or more, rising to 0.5 at 4 px and below (near the
    half-maximum of a blurred edge; measured best on the synthetic targets and effectors and
    on StarDist's nuclei, see benchmarks/bench_effort.py).

    Plateau: the median of the object's interior (pixels at least 2 px inside ``region``).
    Background: the median of the ring 2..6 px outside ``region``, over the ring pixels
    darker than the region's dimmest tenth (a neighbour in the ring is not background), and
    not in ``exclude``.  None when either has fewer than 8 pixels.
    """
    inside = ndi.distance_transform_edt(region)
    interior = v[inside >= 2]
    if interior.size < 8:
        interior = v[region]
    outside = ndi.distance_transform_edt(~region)
    ring = (outside > _EDGE_RING[0]) & (outside <= _EDGE_RING[1])
    if exclude is not None:
        ring &= ~exclude
    values = v[ring]
    values = values[values < np.percentile(v[region], 10)]
    if interior.size < 8 or values.size < 8:
        return None
    plateau, background = float(np.median(interior)), float(np.median(values))
    if plateau - background < MIN_CONTRAST:
        return None
    radius = float(inside.max())
    level = float(np.interp(radius, _AUTO_RADIUS, (_EDGE_SMALL, _EDGE_LEVEL)))
    return background + level * (plateau - background)


class _Clicks(NamedTuple):
    """The inputs `region_at` and `refine_region` share, checked: the image as a stack, its
    contrast limits, the clip box, the positive clicks (the seed first), the negative ones,
    and ``taken(box)``: the pixels of ``box`` the object may not have (``exclude`` and
    other labels' pixels)."""

    stack: npt.NDArray[Any]
    pairs: list[tuple[float, float]]
    lim: BBox
    pos: list[tuple[int, int]]
    neg: list[tuple[int, int]]
    taken: Callable[[BBox], npt.NDArray[np.bool_] | None]

    @classmethod
    def check(
        cls,
        image: npt.ArrayLike,
        seed_point: Sequence[float],
        positive: Sequence[Sequence[float]],
        negative: Sequence[Sequence[float]],
        *,
        limits: Limits | None,
        exclude: npt.NDArray[np.bool_] | None,
        labels: npt.NDArray[np.integer[Any]] | None,
        label: int,
        clip: BBox | None,
        sigma: float,
    ) -> _Clicks:
        stack = _as_stack(image)
        shape = (int(stack.shape[1]), int(stack.shape[2]))
        pairs = _check_limits(limits, stack.shape[0])
        if pairs is None:
            pairs = default_limits(stack)
        if exclude is not None and exclude.shape != shape:
            raise ValueError(f"exclude: shape {exclude.shape} differs from the image's {shape}")
        if labels is not None and labels.shape != shape:
            raise ValueError(f"labels: shape {labels.shape} differs from the image's {shape}")
        if not (math.isfinite(float(sigma)) and sigma >= 0):
            raise ValueError(f"sigma: expected a number >= 0, got {sigma!r}")
        lim = _limits_box(shape, clip)
        seed = _check_point(seed_point, shape, name="seed_point", clip=clip)
        pos = [seed, *_points(positive, shape, name="positive", clip=clip)]
        neg = _points(negative, shape, name="negative", clip=clip)

        def taken(box: BBox) -> npt.NDArray[np.bool_] | None:
            out = None if exclude is None else exclude[bbox_slices(box)]
            if labels is not None:
                sub = labels[bbox_slices(box)]
                others = (sub != 0) & (sub != label)
                out = others if out is None else out | others
            return out

        return cls(stack, pairs, lim, pos, neg, taken)


def region_at(
    image: npt.ArrayLike,
    seed_point: Sequence[float],
    *,
    positive: Sequence[Sequence[float]] = (),
    negative: Sequence[Sequence[float]] = (),
    limits: Limits | None = None,
    exclude: npt.NDArray[np.bool_] | None = None,
    labels: npt.NDArray[np.integer[Any]] | None = None,
    label: int = 0,
    clip: BBox | None = None,
    sigma: float = 0.5,
    h: float = 2.0,
    level: float | None = None,
    max_half: int = 512,
    refine: str = "watershed",
) -> tuple[BBox, npt.NDArray[np.bool_]] | None:
    """The one bright object under a click: a local threshold, then a seeded watershed.

     1. ``v`` = `channel_intensity` smoothed by a Gaussian of ``sigma`` in a window around the
        click (half-size 24 px to start, more when positive clicks are farther apart).
     2. A band of intensities: from ``b + level * (o - b)`` to ``o + 1.5 * (o - b)``, where
        ``b`` is the window's 5th percentile (background) and ``o`` the darkest median of a
        7x7 box around each positive click (the object).  ``level=0.5`` is the half-maximum of
        a blurred edge; the upper end keeps a much brighter neighbour out.
     3. The connected pieces of the band that hold the clicks, holes filled.  If they reach the
        window's edge, or the click is bright (``_PLATEAU``, half the contrast range) with
        nothing darker around it (inside a big cell), the window
        doubles (up to ``max_half``) and steps 1-3 run again: the window is sized by the
        local structure, never the whole frame.
    3b. With ``level=None``: the edge level is measured again on the object just found
        (`_object_edge`): ``b' + l * (o' - b')`` (``l`` 0.45, 0.5 for small objects) with
       ``o'`` the median of its interior
        (its plateau, not the brighter click point) and ``b'`` the median of a ring 2..6 px
        outside it over the pixels darker than the object (its own background, not the
        window's darkest noise).  Step 3 runs once more at that level, kept unless it
        reaches the window's edge.
     4. Touching objects are cut apart by a watershed of the distance transform seeded at the
        clicks and at the neighbours' centres (maxima at least ``h`` deep that are too far from
        every click to be the clicked object's own centre).  Negative clicks inside the result
        compete with the positive ones in a last watershed of the (inverted) intensity, and
        lose their part.

     Parameters
     ----------
     image : array_like, shape (rows, cols) or (channels, rows, cols)
         Raw intensities (bright objects on a darker background).
     seed_point : (row, col)
         The click, inside the object.
     positive, negative : sequence of (row, col), keyword-only
         Extra clicks: more of the object / not the object (refinement).  With
         ``refine="level"`` a click within 3 px of the first click's outline moves the whole
         edge to its intensity (just outside: wider, just inside: tighter); farther clicks
         change the object near themselves.  ``refine="watershed"``: see below.
     limits : sequence of (low, high), keyword-only, optional
         Contrast limits per channel (default: `default_limits`).
     exclude : ndarray of bool, keyword-only, optional
         Pixels the object may not take, shape (rows, cols).
     labels, label : ndarray of int and int, keyword-only, optional
         Existing labels, shape (rows, cols): the object never takes a pixel of another label
         than ``label`` (read only in the window, so a big frame costs nothing extra).
     clip : (row0, row1, col0, col1), keyword-only, optional
         The object never leaves this box.
     sigma : float, keyword-only
         Gaussian smoothing in pixels before thresholding (0 for none).
     h : float, keyword-only
         Minimum depth, in pixels of the distance transform, of a neck that separates two
         touching objects (``math.inf``: never cut).  With ``refine="watershed"`` the cut
         is `_split_basin`'s, at depth 0.5 px of the smoothed distance transform.
     level : float or None, keyword-only
         Where between background (0) and the object (1) its edge is cut, both taken from
         the window as in step 2.  None (default): the object is first found at 0.45 for
         objects with an inscribed radius of 6.5 px or more, rising to 0.6 at 4 px and below
         (blur lowers a small object's peak), then its edge is measured on the object itself
         (step 3b).
     max_half : int, keyword-only
         Largest window half-size: bounds the cost of a click on background.
     refine : {"watershed", "level"}, keyword-only
         How the first object is cut and how refinement clicks act.  ``"watershed"``
         (default): the object is found from ``seed_point`` alone (steps 1-3b) and cut from
         touching neighbours by `_split_basin`; an object still more than twice the area
         of the star-convex polygon around the click (`_star.star_at`: 64 rays, each to the
         half-level or the first valley, median over 9 rays) took a neighbour, and is cut
         to that polygon (`_star_check`); then a negative click deep in a taken
         neighbour is a marker of a watershed of the intensity's edges, a click near the
         outline moves the edge near itself past the click (1 px for a positive one, which
         adds only pixels about as bright as itself; 0.75 px for a negative one, whose
         8 neighbours no brighter than itself and at most 1 px deeper then stay out), and
         every click still on the wrong side fixes the disc of its depth around itself
         (`_refine`): each click changes the object where it was made.  ``"level"``: as in
         steps 2-4 above (a click along the edge moves the whole edge's level).
         ``"watershed"`` needs fewer clicks to IoU 0.85 on StarDist's nuclei (3.32 against
         7.19) and on the synthetic targets and effectors over 4 frames; more on the first
         frame's 14 effectors (docs/performance.md).

     Returns
     -------
     (bbox, mask) or None
         Tight half-open box and mask of the object, or None when the click is on nothing: less
         than `MIN_CONTRAST` above the background, or no edge within ``max_half``.

     Examples
     --------
     >>> img = np.zeros((40, 40)); img[5:15, 5:15] = 1; img[20:35, 22:30] = 1
     >>> box, m = region_at(img, (8, 9), limits=[(0, 1)], sigma=0)
     >>> box, int(m.sum())
     ((5, 15, 5, 15), 100)
    """
    if refine not in ("level", "watershed"):
        raise ValueError(f"refine: expected 'level' or 'watershed', got {refine!r}")
    stack, pairs, lim, pos, neg, taken = _Clicks.check(
        image, seed_point, positive, negative, limits=limits, exclude=exclude, labels=labels,
        label=label, clip=clip, sigma=sigma)  # fmt: skip
    seed = pos[0]

    if refine == "watershed":
        # the object under the first click, uncut, then cut from its neighbours by _split_basin
        blob = region_at(stack, seed, limits=pairs, exclude=exclude, labels=labels,
                         label=label, clip=clip, sigma=sigma, h=math.inf, level=level,
                         max_half=max_half, refine="level")  # fmt: skip
        found = None
        if blob is not None:
            box, mask = blob
            k = 4  # margin: the smoothing in _split_basin must not see the box's edge
            cut = _split_basin(_pad_open(mask, k, box, lim), [(seed[0] - box[0] + k, seed[1] - box[2] + k)],
                               h=_SPLIT_H)[k:-k, k:-k]  # fmt: skip
            found = tight_bbox(cut, offset=(box[0], box[2])) if cut.any() else None
        found = _star_check(stack, pairs, found, seed, lim=lim)
        if not pos[1:] and not neg:
            return found
        return _refine(stack, pairs, found, pos, neg, lim=lim, taken=taken, sigma=sigma)

    def blocked(p: tuple[int, int]) -> bool:
        if exclude is not None and exclude[p]:
            return True
        return labels is not None and int(labels[p]) not in (0, label)

    if any(blocked(p) for p in pos):
        return None
    reach = max(max(abs(p[0] - seed[0]), abs(p[1] - seed[1])) for p in pos)
    half = max(24, reach + 8)
    while True:
        win, v = _smoothed_window(stack, pairs, seed, half, lim=lim, sigma=sigma)
        local = [(p[0] - win[0], p[1] - win[2]) for p in pos]
        if half < max_half and _inside_plateau(v, local[0]):
            half = min(2 * half, max_half)  # no edge yet, inside a big bright cell: look wider
            continue
        if float(v.max()) <= float(v.min()):
            return None
        keep_out = taken(win)
        lneg = [(p[0] - win[0], p[1] - win[2]) for p in neg]
        lneg = [p for p in lneg if 0 <= p[0] < v.shape[0] and 0 <= p[1] < v.shape[1]]
        region = _band_region(
            v, local, level=0.45 if level is None else level, exclude=keep_out, negatives=lneg
        )
        if region is None:
            return None
        if not _touches(region, win, lim):
            break
        if half >= max_half:
            return None  # still no edge in the largest window: not one object
        half = min(2 * half, max_half)
    if not region.any():
        return None
    if level is None:
        # small objects lose contrast to blur, so their edge sits higher on their profile
        radius = float(ndi.distance_transform_edt(region).max())
        auto = float(np.interp(radius, _AUTO_RADIUS, _AUTO_LEVEL))
        if auto > 0.45:
            smaller = _band_region(v, local, level=auto, exclude=keep_out, negatives=lneg)
            if smaller is not None and smaller.any():
                region = smaller
    if level is None:
        edge = _object_edge(v, region, keep_out)
        if edge is not None:
            again = _band_region(v, local, level=0.45, exclude=keep_out, negatives=lneg, low=edge)
            if again is not None and again.any() and not _touches(again, win, lim):
                region = again
    region = _split_off(region, local, h=h)
    lneg = [(p[0] - win[0], p[1] - win[2]) for p in neg]
    lneg = [p for p in lneg if 0 <= p[0] < region.shape[0] and 0 <= p[1] < region.shape[1]]
    lneg = [p for p in lneg if region[p]]
    if lneg:
        markers = np.zeros(region.shape, np.int32)
        for p in local:
            markers[p] = 1
        for p in lneg:
            markers[p] = 2
        # flood the intensity from the clicks: the cut falls in the dim valley between cells.
        # A click on a dim spot would be flooded around, so each positive click also seeds
        # the path up to the top of its (smoothed) intensity hill.
        hill = ndi.gaussian_filter(v, 2.0)
        for p in local:
            for q in _climb_path(np.where(region, hill, -np.inf), p):
                if markers[q] == 0:
                    markers[q] = 1
        parts = watershed(-v, markers, mask=region)  # type: ignore[no-untyped-call]
        region = parts == 1
    if not region.any():
        return None
    return tight_bbox(region, offset=(win[0], win[2]))


def _star_check(
    stack: npt.NDArray[Any],
    pairs: Limits,
    found: tuple[BBox, npt.NDArray[np.bool_]] | None,
    seed: tuple[int, int],
    *,
    lim: BBox,
) -> tuple[BBox, npt.NDArray[np.bool_]] | None:
    """The first object, cut to the star-convex object around the click (`_star.star_at`)
    when it is more than `_STAR_MERGE` times the star's area: it took a touching neighbour
    (the star stops at the valley into it, or its angular median pulls the few rays that
    leaked back).  Otherwise ``found`` as it is: where the object is about the star's size,
    its own outline follows the cell better than the polygon does; and when most rays ran
    their whole reach (40 px), the star says nothing about the object's size."""
    if found is None or not math.isfinite(_STAR_MERGE):
        return found
    half = math.ceil(max(_star._STAR_REACH, _star._STAR_BACKGROUND)) + 2
    win, v = _smoothed_window(stack, pairs, seed, half, lim=lim, sigma=_star._STAR_SIGMA)
    centre = (seed[0] - win[0], seed[1] - win[2])
    radii = _star.star_radii(v, centre, reach=_star._STAR_REACH)
    if radii is None or float(np.median(radii)) >= _star._STAR_REACH - 2 * _star._STAR_STEP:
        return found  # nothing to follow, or an object wider than the rays' reach
    sbox, smask = _star.star_mask(v.shape, centre, radii)
    sbox = (sbox[0] + win[0], sbox[1] + win[0], sbox[2] + win[2], sbox[3] + win[2])
    box, mask = found
    if int(mask.sum()) <= _STAR_MERGE * int(smask.sum()):
        return found
    both = _intersect(box, sbox)
    if both is None:
        return found
    cut = (mask[both[0] - box[0] : both[1] - box[0], both[2] - box[2] : both[3] - box[2]]
           & smask[both[0] - sbox[0] : both[1] - sbox[0], both[2] - sbox[2] : both[3] - sbox[2]])  # fmt: skip
    return tight_bbox(cut, offset=(both[0], both[2])) if cut.any() else found


def refine_region(
    image: npt.ArrayLike,
    start: tuple[BBox, npt.NDArray[np.bool_]] | None,
    seed_point: Sequence[float],
    *,
    positive: Sequence[Sequence[float]] = (),
    negative: Sequence[Sequence[float]] = (),
    limits: Limits | None = None,
    exclude: npt.NDArray[np.bool_] | None = None,
    labels: npt.NDArray[np.integer[Any]] | None = None,
    label: int = 0,
    clip: BBox | None = None,
    sigma: float = 0.5,
) -> tuple[BBox, npt.NDArray[np.bool_]] | None:
    """Correct a given object (a model's, say) with refinement clicks.

    The refinement of `region_at` with ``refine="watershed"``, started from ``start``
    instead of the object `region_at` finds from ``seed_point``: a click deep on the wrong
    side is a marker of a watershed of the intensity's edges, a click near the outline moves
    the edge near itself, and every click still on the wrong side fixes the disc of its depth
    around itself.  Each refinement click's pixel ends on its side (a positive one inside
    the object, a negative one outside), unless it is a pixel of another label.

    Parameters
    ----------
    image : array_like, shape (rows, cols) or (channels, rows, cols)
        Raw intensities (bright objects on a darker background).
    start : (bbox, mask) or None
        The object to correct: a half-open box in image coordinates and its mask (as
        `region_at` returns); None for nothing yet (the clicks alone make the object).
    seed_point : (row, col)
        The first click, inside the object.
    positive, negative : sequence of (row, col), keyword-only
        Refinement clicks: more of the object / not the object.
    limits, exclude, labels, label, clip, sigma : keyword-only
        As in `region_at`.

    Returns
    -------
    (bbox, mask) or None
        Tight half-open box and mask of the corrected object; ``start`` as given when there
        is no refinement click; None when nothing is left.

    Examples
    --------
    >>> img = np.zeros((40, 40)); img[5:15, 5:15] = 1
    >>> start = ((5, 15, 5, 12), np.ones((10, 7), bool))  # a model's object, 3 columns short
    >>> box, m = refine_region(img, start, (9, 8), positive=[(9, 13)], limits=[(0, 1)])
    >>> bool(m[9 - box[0], 13 - box[2]])
    True
    """
    stack, pairs, lim, pos, neg, taken = _Clicks.check(
        image, seed_point, positive, negative, limits=limits, exclude=exclude, labels=labels,
        label=label, clip=clip, sigma=sigma)  # fmt: skip
    shape = (int(stack.shape[1]), int(stack.shape[2]))
    if start is not None:
        box, mask = start
        if not (0 <= box[0] < box[1] <= shape[0] and 0 <= box[2] < box[3] <= shape[1]):
            raise ValueError(f"start: box {box} is not inside the image {shape}")
        if np.shape(mask) != (box[1] - box[0], box[3] - box[2]):
            raise ValueError(
                f"start: mask shape {np.shape(mask)} differs from its box's "
                f"{(box[1] - box[0], box[3] - box[2])}"
            )
    if len(pos) == 1 and not neg:
        return start
    if start is not None:
        # the object never leaves the clip
        mask = np.asarray(start[1], bool)
        inner = _intersect(start[0], lim)
        if inner is None:
            start = None
        else:
            sub = mask[inner[0] - start[0][0] : inner[1] - start[0][0],
                       inner[2] - start[0][2] : inner[3] - start[0][2]]  # fmt: skip
            start = tight_bbox(sub, offset=(inner[0], inner[2])) if sub.any() else None
    return _refine(stack, pairs, start, pos, neg, lim=lim, taken=taken, sigma=sigma)


def _pad_open(mask: npt.NDArray[np.bool_], k: int, box: BBox, lim: BBox) -> npt.NDArray[np.bool_]:
    """``mask`` padded by ``k`` pixels: background, except on the sides where it touches the
    image's (or the clip's) edge, where the object goes on (its edge row is repeated), so a
    cell cut by the edge of the image keeps its depth there."""
    out = np.pad(mask, k, mode="edge")
    if box[0] > lim[0]:
        out[:k] = False
    if box[1] < lim[1]:
        out[-k:] = False
    if box[2] > lim[2]:
        out[:, :k] = False
    if box[3] < lim[3]:
        out[:, -k:] = False
    return out


def _signed_distance(
    found: tuple[BBox, npt.NDArray[np.bool_]] | None, win: BBox
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.float64]]:
    """The object in ``win`` and its signed distance to the outline (< 0 inside, in px)."""
    obj = np.zeros((win[1] - win[0], win[3] - win[2]), bool)
    if found is not None:
        b = found[0]
        obj[b[0] - win[0] : b[1] - win[0], b[2] - win[2] : b[3] - win[2]] = found[1]
    inside = ndi.distance_transform_edt(obj)
    outside = ndi.distance_transform_edt(~obj)
    return obj, np.where(obj, 0.5 - inside, outside - 0.5)


def _refine(
    stack: npt.NDArray[Any],
    limits: Limits,
    found: tuple[BBox, npt.NDArray[np.bool_]] | None,
    positive: Sequence[tuple[int, int]],
    negative: Sequence[tuple[int, int]],
    *,
    lim: BBox,
    taken: Callable[[BBox], npt.NDArray[np.bool_] | None],
    sigma: float,
) -> tuple[BBox, npt.NDArray[np.bool_]] | None:
    """Correct the first click's object with refinement clicks (``refine="watershed"``).

    1. A click more than ``_DEEP`` (3) px on the wrong side of the object (a neighbour taken,
       a part missed) is a marker of `_cut_with_markers`; a cut that takes away more than 30%
       of the first click's heart (the disc around it up to the outline) went through
       the clicked cell and is dropped (`_keeps_heart`).
    2. A click nearer the outline (the edge is off) moves the edge near itself: with ``phi``
       the signed distance to the outline (< 0 inside), the object becomes ``phi < s`` where
       ``s`` is the clicks' targets (``phi(click) + _PAST`` for a positive click, the edge
       1 px past it; ``phi(click) - _PAST_OUT`` for a negative one, 0.75 px past it; 0, no
       move, for a click already on its side) averaged with
       Gaussian weights of ``sigma = _SHIFT_REACH * r`` (``r``: the object's equivalent
       radius), divided by ``max(sum of weights, 1)`` so that it fades to 0 (the edge stays)
       far from every click.  On an object brighter than its surroundings (`_bright_object`)
       the shift adds only pixels at least as bright as the positive clicks near them (their
       intensities averaged with the same weights) less ``_GATE`` (0.1 of the contrast
       range): the click tells the edge's local level, so a click in a thin missed rim adds
       the rim, not an arc of background beside it.
    3. Progress: a click still on the wrong side after 1-2 fixes the disc of ``_DISC`` (1.5)
       times its depth there around itself (never closer than 1 px to a click of the other
       kind), whatever the intensity says; so every click changes the object where it was
       made, and later clicks elsewhere never undo it (each click's pixel stays on its side).
    4. Memory of negative near clicks: the 8 neighbours of each (the disc of ``_KEEP_OUT``,
       1.5 px) that are no brighter than the click plus ``_KEEP_GATE`` (0.07) and at most
       ``_KEEP_DEPTH`` (1 px) deeper in the object than the click (``phi``; a diagonal
       neighbour of the next layer in stays: a model's object need not be brighter than its
       surroundings, so the intensity check alone let the cell's second layer go) stay out, so a
       later positive click's move does not put back the rim a negative one took (a 1 px
       false ring round a dim nucleus was walked around back and forth); positive clicks'
       pixels stay in.

    Of the pieces left, the largest and those holding a positive click are kept; pixels of
    other labels are never taken.
    """
    everyone = [*positive, *negative]
    r, c = positive[0]
    box = found[0] if found is not None else (r, r + 1, c, c + 1)
    pad = _SHIFT_PAD
    win = (
        max(min([box[0], *(p[0] for p in everyone)]) - pad, lim[0]),
        min(max([box[1], *(p[0] + 1 for p in everyone)]) + pad, lim[1]),
        max(min([box[2], *(p[1] for p in everyone)]) - pad, lim[2]),
        min(max([box[3], *(p[1] + 1 for p in everyone)]) + pad, lim[3]),
    )

    def at(p: tuple[int, int]) -> tuple[int, int]:
        return p[0] - win[0], p[1] - win[2]

    obj, phi = _signed_distance(found, win)
    deep_pos = [p for p in positive[1:] if phi[at(p)] > _DEEP]
    deep_neg = [p for p in negative if phi[at(p)] < -_DEEP]
    near_pos = [p for p in positive[1:] if p not in deep_pos]
    near_neg = [p for p in negative if p not in deep_neg]
    if deep_neg:
        # a neighbour taken: cut by a marker watershed of the edges; a missed part is added
        # by its disc (step 3), which measured better than the watershed on the nuclei
        cut = _cut_with_markers(stack, limits, found, positive[0], deep_neg,
                                lim=lim, taken=taken, sigma=sigma)  # fmt: skip
        # a cut through the clicked cell itself (the edges' watershed leaked past it) is
        # dropped: the object stays, and the clicks' discs (step 3) take their parts away
        if found is None or _keeps_heart(obj, cut, win, at(positive[0])):
            found = cut
        obj, phi = _signed_distance(found, win)
    rr, cc = np.ogrid[: obj.shape[0], : obj.shape[1]]
    region = obj
    v = None
    if near_pos or near_neg:
        clicks = [(at(p), 1.0) for p in near_pos] + [(at(p), -1.0) for p in near_neg]
        spread = _SHIFT_REACH * math.sqrt(max(int(obj.sum()), 1) / math.pi)
        v = _window_intensity(stack, limits, win, sigma)
        num = np.zeros(obj.shape)
        den = np.zeros(obj.shape)
        bright = np.zeros(obj.shape)  # the positive clicks' intensities, weighted like `num`
        weight = np.zeros(obj.shape)
        for q, side in clicks:
            w = np.exp(-((rr - q[0]) ** 2 + (cc - q[1]) ** 2) / (2 * spread * spread))
            # a click already on its side (a positive one inside) asks for no move there
            target = float(phi[q]) + (_PAST if side > 0 else _PAST_OUT) * side
            num += w * (max(target, 0.0) if side > 0 else min(target, 0.0))
            den += w
            if side > 0:
                bright += w * float(v[q])
                weight += w
        region = phi < num / np.maximum(den, 1.0)
        # a positive click tells the edge's local level: the shift adds only pixels at least
        # about as bright as the clicks it comes from, not the whole arc beside them
        if _bright_object(obj, phi, v):
            level = np.divide(bright, weight, out=np.full(obj.shape, np.inf), where=weight > 0)
            region &= obj | (v >= level - _GATE)
    if deep_pos and v is None:  # the intensity bounds a deep positive click's disc
        v = _window_intensity(stack, limits, win, sigma)
    region = _fix_discs(region, [at(p) for p in positive], [at(p) for p in negative],
                        v if deep_pos else None)  # fmt: skip
    if near_neg and v is not None:
        # a negative click near the outline is remembered: its 8 neighbours no brighter than
        # it (+ _KEEP_GATE) and at most _KEEP_DEPTH deeper in the object stay out, whatever
        # the other clicks' moves put back
        for q in (at(p) for p in near_neg):
            disc = (rr - q[0]) ** 2 + (cc - q[1]) ** 2 <= _KEEP_OUT * _KEEP_OUT
            dim = v <= float(v[q]) + _KEEP_GATE
            region &= ~(disc & dim & (phi >= float(phi[q]) - _KEEP_DEPTH))
        for p in positive[1:]:
            region[at(p)] = True
    keep_out = taken(win)
    if keep_out is not None:
        region &= ~keep_out
    # keep the pieces holding a positive click (the first click's if it is still in) and the
    # largest one: a dent that cuts the object never leaves a speck around the first click
    pieces, n = ndi.label(region)
    if n == 0:
        return None
    largest = 1 + int(np.argmax(np.bincount(pieces.ravel())[1:]))
    ids = [largest, *(int(pieces[at(p)]) for p in positive)]
    region = np.isin(pieces, [k for k in ids if k])
    if not region.any():
        return None
    return tight_bbox(region, offset=(win[0], win[2]))


def _window_intensity(
    stack: npt.NDArray[Any], limits: Limits, win: BBox, sigma: float
) -> npt.NDArray[np.float64]:
    """`channel_intensity` of the window ``win``, smoothed by a Gaussian of ``sigma``."""
    v = channel_intensity(_crop(stack, win), limits=limits)
    return ndi.gaussian_filter(v, sigma) if sigma > 0 else v


def _bright_object(
    obj: npt.NDArray[np.bool_], phi: npt.NDArray[np.float64], v: npt.NDArray[np.float64]
) -> bool:
    """Whether ``obj`` is brighter than its surroundings: the median of ``v`` inside it at
    least `MIN_CONTRAST` (0.05) above the median of the ring 1..3 px outside it (``phi``: its
    signed distance).  Only then does a click's intensity tell where its edge is (a model's
    object on a channel where the cell is not bright says nothing about it)."""
    ring = (phi > 0) & (phi <= 2.5)
    if not obj.any() or not ring.any():
        return False
    return float(np.median(v[obj])) - float(np.median(v[ring])) >= MIN_CONTRAST


def _keeps_heart(
    obj: npt.NDArray[np.bool_],
    cut: tuple[BBox, npt.NDArray[np.bool_]] | None,
    win: BBox,
    head: tuple[int, int],
) -> bool:
    """Whether ``cut`` (image coordinates) keeps at least ``_HEART_SHARE`` (0.7) of the heart
    of ``obj`` (the window ``win``'s object): the disc around the first click ``head``
    (window coordinates) reaching the object's outline, within the object.  A cut that takes
    the heart went through the clicked cell, not between it and a neighbour (a small cell
    cut off a big neighbour keeps its heart, however little of the object is left)."""
    if cut is None:
        return False
    inside = ndi.distance_transform_edt(obj)
    radius = float(inside[head])
    rr, cc = np.ogrid[: obj.shape[0], : obj.shape[1]]
    heart = obj & ((rr - head[0]) ** 2 + (cc - head[1]) ** 2 <= radius * radius)
    kept = np.zeros(obj.shape, bool)
    b = cut[0]
    kept[b[0] - win[0] : b[1] - win[0], b[2] - win[2] : b[3] - win[2]] = cut[1]
    return bool((kept & heart).sum() >= _HEART_SHARE * heart.sum())


def _fix_discs(
    region: npt.NDArray[np.bool_],
    positive: Sequence[tuple[int, int]],
    negative: Sequence[tuple[int, int]],
    v: npt.NDArray[np.float64] | None,
) -> npt.NDArray[np.bool_]:
    """``region`` with every click's wrong-side disc fixed (step 3 of `_refine`).

    ``positive[0]`` is the first click.  A refinement click ``d`` px on the wrong side of
    ``region`` (its depth in the error, ``d = distance - 0.5``) puts the disc of radius
    ``_DISC * d`` around itself on its own side, shrunk to stay 1 px away from every click
    of the other kind.  A positive click more than ``_DEEP`` px out (a missed part, not the
    dim rim along the edge) takes only the piece of its disc holding it that is at least
    halfway as bright as the click above the background (``v``'s 5th percentile), unless
    the click is less than `MIN_CONTRAST` above it (``v``: the smoothed intensity, given
    when there is such a click).  Then
    each click's own pixel is put on its side.
    """
    out: npt.NDArray[np.bool_] = region.copy()
    inside = ndi.distance_transform_edt(region)
    outside = ndi.distance_transform_edt(~region)
    rr, cc = np.ogrid[: region.shape[0], : region.shape[1]]

    def disc(
        q: tuple[int, int], depth: float, others: Sequence[tuple[int, int]]
    ) -> npt.NDArray[np.bool_] | None:
        gap = min((math.hypot(q[0] - o[0], q[1] - o[1]) for o in others), default=math.inf)
        radius = min(_DISC * depth, gap - 1.0)
        if radius <= 0:
            return None
        inner: npt.NDArray[np.bool_] = (rr - q[0]) ** 2 + (cc - q[1]) ** 2 <= radius * radius
        return inner

    background = float(np.percentile(v, _BACKGROUND_PERCENTILE)) if v is not None else 0.0
    for q in positive[1:]:
        depth = float(outside[q]) - 0.5
        d = disc(q, depth, negative)
        if (
            d is not None
            and v is not None
            and depth > _DEEP
            and float(v[q]) - background >= MIN_CONTRAST
        ):
            # a missed part: only its piece at least halfway as bright as the click (a click
            # on the background takes the whole disc: the user says it is the cell)
            pieces, _ = ndi.label(d & (v >= (float(v[q]) + background) / 2))
            d = pieces == pieces[q] if pieces[q] else None
        if d is not None:
            out |= d
    for q in negative:
        d = disc(q, float(inside[q]) - 0.5, positive)
        if d is not None:
            out &= ~d
    for q in positive[1:]:
        out[q] = True
    for q in negative:
        out[q] = False
    return out


def _cut_with_markers(
    stack: npt.NDArray[Any],
    limits: Limits,
    found: tuple[BBox, npt.NDArray[np.bool_]] | None,
    first: tuple[int, int],
    negative: Sequence[tuple[int, int]],
    *,
    lim: BBox,
    taken: Callable[[BBox], npt.NDArray[np.bool_] | None],
    sigma: float,
) -> tuple[BBox, npt.NDArray[np.bool_]] | None:
    """Cut a taken neighbour off an object with negative clicks deep in it: a marker watershed
    of the edges.

    Markers: the object's core (pixels at least ``_CORE`` px inside it, and always the disc of
    half its depth around the ``first`` click) and the first click are the object; the pixels
    at least ``_CORE`` px outside it and the ``negative`` clicks are not.  A negative click
    ``d`` px inside marks the disc of ``_MARK * d`` px around itself inside the object (the
    part it sits in) and clears the object markers within ``2 d + 2`` px: the part it was
    placed in is open to it.  The watershed of the gradient magnitude of the intensity
    (smoothed by ``sigma``) then puts every unmarked pixel (the open parts and a ``2 _CORE``
    px band along the whole outline, which snaps to the strongest edge) on the side of the
    marker it floods from across the weakest edge, so each click lands on its side and takes
    the region up to the object's edge with it.  Pixels of other labels (``taken``) are never
    taken.  (A missed part is added by `_refine`'s disc, not here.)
    """
    everyone = [first, *negative]
    r, c = first
    box = found[0] if found is not None else (r, r + 1, c, c + 1)
    win = (
        max(min([box[0], *(p[0] for p in everyone)]) - _REFINE_PAD, lim[0]),
        min(max([box[1], *(p[0] + 1 for p in everyone)]) + _REFINE_PAD, lim[1]),
        max(min([box[2], *(p[1] for p in everyone)]) - _REFINE_PAD, lim[2]),
        min(max([box[3], *(p[1] + 1 for p in everyone)]) + _REFINE_PAD, lim[3]),
    )
    obj = np.zeros((win[1] - win[0], win[3] - win[2]), bool)
    if found is not None:
        b = found[0]
        obj[b[0] - win[0] : b[1] - win[0], b[2] - win[2] : b[3] - win[2]] = found[1]
    v = _window_intensity(stack, limits, win, sigma)
    edges = np.hypot(ndi.sobel(v, 0), ndi.sobel(v, 1))
    inside = ndi.distance_transform_edt(obj)
    outside = ndi.distance_transform_edt(~obj)
    core, back = inside >= _CORE, outside >= _CORE
    rr, cc = np.ogrid[: obj.shape[0], : obj.shape[1]]
    head = (first[0] - win[0], first[1] - win[2])
    neg = [(p[0] - win[0], p[1] - win[2]) for p in negative]
    for q in neg:
        rho = 2.0 * float(inside[q]) + 2.0
        core &= (rr - q[0]) ** 2 + (cc - q[1]) ** 2 > rho * rho
    # the heart of the first click's object stays it: half its depth around the first click
    heart = 0.5 * float(inside[head])
    core |= (rr - head[0]) ** 2 + (cc - head[1]) ** 2 <= heart * heart
    keep_out = taken(win)
    markers = np.zeros(obj.shape, np.int32)
    markers[back] = 2
    markers[core] = 1
    if keep_out is not None:
        markers[keep_out] = 2
    # each click marks a disc of half its depth: the part it sits in, not one pixel
    for q in neg:
        half = _MARK * float(inside[q])
        markers[((rr - q[0]) ** 2 + (cc - q[1]) ** 2 <= half * half) & obj] = 2
        markers[q] = 2
    if keep_out is None or not keep_out[head]:
        markers[head] = 1
    if keep_out is not None:
        markers[keep_out] = 2
    parts = watershed(edges, markers) == 1  # type: ignore[no-untyped-call]
    region = parts
    for q in neg:
        region[q] = False
    region[head] = True
    if keep_out is not None:
        region &= ~keep_out
    if not region.any():
        return None
    return tight_bbox(region, offset=(win[0], win[2]))


def _climb_path(values: npt.NDArray[np.float64], point: tuple[int, int]) -> list[tuple[int, int]]:
    """Steepest ascent on ``values`` from ``point`` (8 neighbours): the pixels up to the top."""
    r, c = point
    path = [(r, c)]
    while True:
        r0, c0 = max(r - 1, 0), max(c - 1, 0)
        block = values[r0 : r + 2, c0 : c + 2]
        k = int(np.argmax(block))
        nr, nc = r0 + k // block.shape[1], c0 + k % block.shape[1]
        if values[nr, nc] <= values[r, c]:
            return path
        r, c = nr, nc
        path.append((r, c))


def _climb(dist: npt.NDArray[np.float64], point: tuple[int, int]) -> tuple[int, int]:
    """Steepest ascent on ``dist`` from ``point`` to the top of its hill."""
    return _climb_path(dist, point)[-1]


def _split_off(
    region: npt.NDArray[np.bool_],
    seeds: Sequence[tuple[int, int]],
    *,
    h: float,
    factor: float = 0.5,
) -> npt.NDArray[np.bool_]:
    """The part of ``region`` that belongs to the clicks, cut from touching neighbours.

    Each click climbs the distance transform to the top of its hill ``c``.  A maximum ``p``
    at least ``h`` deep (an h-maximum) is a neighbour's centre when it lies farther from every
    such ``c`` than ``dist(p) + factor * dist(c)``: the two inscribed discs barely overlap,
    so ``p`` cannot be the clicked cell's own centre.  A watershed of the distance transform
    from the clicks (and their tops) and those centres keeps the clicks' part.
    """
    if math.isinf(h):
        return region
    dist = ndi.distance_transform_edt(region)
    tops = [_climb(dist, p) for p in seeds]
    hills, n = ndi.label(h_maxima(dist, h))  # type: ignore[no-untyped-call]
    if n <= 1:
        return region
    centres = ndi.maximum_position(dist, hills, index=np.arange(1, n + 1))
    rivals = [
        (int(r), int(c))
        for r, c in centres
        if all(math.hypot(r - t[0], c - t[1]) > dist[r, c] + factor * dist[t] for t in tops)
    ]
    if not rivals:
        return region
    markers = np.zeros(region.shape, np.int32)
    for k, p in enumerate(rivals):
        markers[p] = k + 2
    for p in [*seeds, *tops]:
        markers[p] = 1
    basins = watershed(-dist, markers, mask=region)  # type: ignore[no-untyped-call]
    out: npt.NDArray[np.bool_] = basins == 1
    return out


def _split_basin(
    region: npt.NDArray[np.bool_],
    seeds: Sequence[tuple[int, int]],
    *,
    h: float,
) -> npt.NDArray[np.bool_]:
    """The part of ``region`` that belongs to the clicks, cut from touching neighbours.

    Used by ``region_at(..., refine="watershed")``.  The distance transform of ``region``, smoothed by a Gaussian of ``_SPLIT_SMOOTH`` px (so
    that a ragged outline makes no false centres), has one maximum at least ``h`` deep per
    object.  Each click climbs it to the top of its hill; the hills that no click reached are
    the neighbours' centres.  A watershed of the distance transform from all of them keeps
    the clicks' basins.
    """
    dist = ndi.gaussian_filter(ndi.distance_transform_edt(region), _SPLIT_SMOOTH)
    hills, n = ndi.label(h_maxima(dist, h))  # type: ignore[no-untyped-call]
    if n <= 1:
        return region
    tops = [_climb(np.where(region, dist, -1.0), p) for p in seeds]
    mine = {int(hills[t]) for t in tops} - {0}
    ours = n + 1
    markers = hills.astype(np.int32)
    if mine:
        markers[np.isin(hills, sorted(mine))] = ours
    for p in [*seeds, *tops]:
        markers[p] = ours
    basins = watershed(-dist, markers, mask=region)  # type: ignore[no-untyped-call]
    out: npt.NDArray[np.bool_] = basins == ours
    return out


# ------------------------------------------------------------------------------ split
def split_label(
    label_image: npt.NDArray[np.integer[Any]],
    label: int,
    seeds: Sequence[Sequence[Sequence[float]]] | npt.NDArray[Any],
    *,
    image: npt.ArrayLike | None = None,
    limits: Limits | None = None,
) -> tuple[BBox, npt.NDArray[np.int32]]:
    """Seeded watershed inside one cell: which part of the cell each pixel goes to.

    Parameters
    ----------
    label_image : ndarray, shape (rows, cols)
        The labels.
    label : int
        The cell to split.
    seeds : sequence of polylines
        One entry per part; each is a list of ``(row, col)`` points (a click is a list of one
        point, a drawn line gives its pixels as one marker).  At least two, each touching the
        cell.
    image : array_like, keyword-only, optional
        Intensities ``(rows, cols)`` or ``(channels, rows, cols)``: when given, the watershed
        runs on the cell's distance transform plus its smoothed intensity (each scaled to
        0..1), so the cut falls in the dim valley between two nuclei or, where there is
        none, at the neck of the shape; otherwise on the distance transform only.
    limits : sequence of (low, high), keyword-only, optional
        Contrast limits for ``image``.

    Returns
    -------
    (bbox, parts)
        The cell's tight box and an int32 array of that shape: 0 outside the cell, ``k + 1``
        where the pixel goes to ``seeds[k]``.

    Examples
    --------
    >>> lab = np.zeros((5, 9), np.uint32); lab[1:4, 1:8] = 3
    >>> box, parts = split_label(lab, 3, [[(2, 1)], [(2, 7)]])
    >>> box, parts.tolist()[1]
    ((1, 4, 1, 8), [1, 1, 1, 1, 2, 2, 2])
    """
    if label_image.ndim != 2:
        raise ValueError(f"label_image: expected (rows, cols), got shape {label_image.shape}")
    cell = label_image == label
    if label == 0 or not cell.any():
        raise ValueError(f"label: {label} is not a cell of this frame; pick a label that exists")
    if isinstance(seeds, np.ndarray):
        seeds = seeds.tolist()
    if len(seeds) < 2:
        raise ValueError(
            f"seeds: need at least two parts (two clicks or strokes), got {len(seeds)}"
        )
    box, mask = tight_bbox(cell)
    markers = np.zeros(mask.shape, np.int32)
    for k, stroke in enumerate(seeds):
        try:
            centres = stroke_centres(stroke)
        except (TypeError, ValueError) as err:
            raise ValueError(
                f"seeds[{k}]: expected a list of (row, col) points, got {stroke!r}"
            ) from err
        rr, cc = centres[:, 0] - box[0], centres[:, 1] - box[2]
        ok = (rr >= 0) & (rr < mask.shape[0]) & (cc >= 0) & (cc < mask.shape[1])
        rr, cc = rr[ok], cc[ok]
        on = mask[rr, cc]
        if not on.any():
            raise ValueError(
                f"seeds[{k}]: {stroke!r} does not touch cell {label}; "
                "click inside the cell to split"
            )
        markers[rr[on], cc[on]] = k + 1
    if image is not None:
        stack = _as_stack(image)
        if stack.shape[1:] != label_image.shape:
            raise ValueError(
                f"image: shape {stack.shape[1:]} differs from label_image {label_image.shape}"
            )
        pairs = _check_limits(limits, stack.shape[0]) or default_limits(stack)
    dist = ndi.distance_transform_edt(np.pad(mask, 1))[1:-1, 1:-1]
    elevation = -dist / max(float(dist.max()), 1.0)
    if image is not None:
        v = _window_intensity(stack, pairs, box, 1.0)
        inside = v[mask]
        span = float(inside.max() - inside.min())
        if span > 0:
            # the cut follows the dim valley between two nuclei and, where there is none
            # (one flat bright blob), the neck of the shape: both terms are scaled to 0..1
            elevation = elevation - (v - float(inside.min())) / span
    ws = watershed(elevation, markers, mask=mask)  # type: ignore[no-untyped-call]
    parts: npt.NDArray[np.int32] = np.asarray(ws, dtype=np.int32)
    return box, parts


def split_seeds(
    label_image: npt.NDArray[np.integer[Any]],
    start: tuple[int, int],
    end: tuple[int, int],
) -> tuple[int, list[tuple[int, int]]]:
    """The cell a split drag means and one seed per part, for :func:`split_label`.

    A drag from one part of a cell to another (both ends on the same label) makes its two ends
    the seeds. A drag across a cell from background to background cuts it: the cell the line
    crosses most is split, seeded at the deepest pixel of its part on each side of the line.

    Parameters
    ----------
    label_image : ndarray, shape (rows, cols)
        The labels.
    start, end : tuple of int
        The drag's first and last ``(row, col)``, inside the image.

    Returns
    -------
    label : int
        The cell to split.
    seeds : list of (row, col)
        Two points, one in each part.

    Raises
    ------
    ValueError
        When the drag joins two different labels, a label and the background, crosses no
        cell, or does not cut the cell it crosses in two.

    Examples
    --------
    >>> lab = np.zeros((5, 9), np.uint32); lab[1:4, 1:8] = 3
    >>> split_seeds(lab, (2, 2), (2, 6))
    (3, [(2, 2), (2, 6)])
    >>> split_seeds(lab, (0, 4), (4, 4))
    (3, [(2, 2), (2, 6)])
    """
    la, lb = int(label_image[start]), int(label_image[end])
    if la != 0 and la == lb:
        return la, [start, end]
    if la != 0 or lb != 0:
        raise ValueError(
            f"split: drag from one part of a cell to another part of the same cell, or across the "
            f"whole cell from background to background; the drag went from label {la} to {lb}"
        )
    n = max(abs(end[0] - start[0]), abs(end[1] - start[1])) + 1
    rows = np.rint(np.linspace(start[0], end[0], n)).astype(int)
    cols = np.rint(np.linspace(start[1], end[1], n)).astype(int)
    crossed = label_image[rows, cols]
    crossed = crossed[crossed != 0]
    if crossed.size == 0:
        raise ValueError("split: the line crosses no cell; drag across the cell to cut")
    values, counts = np.unique(crossed, return_counts=True)
    label = int(values[np.argmax(counts)])
    rr, cc = np.nonzero(label_image == label)
    r0, c0 = int(rr.min()), int(cc.min())
    cell = label_image[r0 : int(rr.max()) + 1, c0 : int(cc.max()) + 1] == label
    gr, gc = np.mgrid[r0 : r0 + cell.shape[0], c0 : c0 + cell.shape[1]]
    # sign of the cross product: which side of the drawn line each pixel of the cell is on
    side = (gr - start[0]) * (end[1] - start[1]) - (gc - start[1]) * (end[0] - start[0])
    seeds = []
    for part in (cell & (side > 0), cell & (side < 0)):
        if not part.any():
            raise ValueError(f"split: the line does not cut cell {label} in two; drag across it")
        depth = ndi.distance_transform_edt(np.pad(part, 1))[1:-1, 1:-1]
        r, c = np.unravel_index(int(np.argmax(depth)), part.shape)
        seeds.append((int(r) + r0, int(c) + c0))
    return label, seeds


# ------------------------------------------------------------------------------ polygon
def polygon_mask(
    shape: tuple[int, int], vertices: npt.ArrayLike, *, clip: BBox | None = None
) -> tuple[BBox, npt.NDArray[np.bool_]] | None:
    """Pixels inside a closed polygon (a lasso), as ``skimage.draw.polygon`` rasterises it.

    Parameters
    ----------
    shape : (int, int)
        Image shape.
    vertices : array_like, shape (n, 2)
        ``(row, col)`` vertices, n >= 3; the outline closes itself.
    clip : (row0, row1, col0, col1), keyword-only, optional
        Only pixels inside this box are kept.

    Returns
    -------
    (bbox, mask) or None
        None when the polygon covers no pixel of the image (or of ``clip``).

    Examples
    --------
    >>> box, m = polygon_mask((10, 10), [(1, 1), (1, 4), (4, 4), (4, 1)])
    >>> box, int(m.sum())
    ((1, 5, 1, 5), 16)
    """
    try:
        pts = np.asarray(vertices, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"vertices: expected (row, col) points, got {vertices!r}") from err
    if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) < 3 or not np.isfinite(pts).all():
        raise ValueError(
            f"vertices: expected at least 3 finite (row, col) points, shape (n, 2); got shape "
            f"{pts.shape}"
        )
    lim = _limits_box(shape, clip)
    rr, cc = draw_polygon(pts[:, 0], pts[:, 1], shape)  # type: ignore[no-untyped-call]
    # draw.polygon leaves out some boundary pixels; the outline itself belongs to the lasso
    edge = stroke_centres(np.vstack([pts, pts[:1]]))
    rr = np.concatenate([rr, edge[:, 0]])
    cc = np.concatenate([cc, edge[:, 1]])
    ok = (rr >= lim[0]) & (rr < lim[1]) & (cc >= lim[2]) & (cc < lim[3])
    rr, cc = rr[ok], cc[ok]
    if rr.size == 0:
        return None
    box: BBox = (int(rr.min()), int(rr.max()) + 1, int(cc.min()), int(cc.max()) + 1)
    mask = np.zeros((box[1] - box[0], box[3] - box[2]), bool)
    mask[rr - box[0], cc - box[2]] = True
    return box, mask


# ------------------------------------------------------------------------------ morphology
def _per_label(
    label_image: Labels, ids: Sequence[int], pad: int
) -> list[tuple[int, tuple[slice, slice]]]:
    """Each label with a box around it grown by ``pad`` (clipped to the image)."""
    out = []
    objects = ndi.find_objects(label_image)
    for value in ids:
        if value <= 0 or value > len(objects) or objects[value - 1] is None:
            continue
        rs, cs = objects[value - 1]
        out.append(
            (
                value,
                (
                    slice(max(rs.start - pad, 0), min(rs.stop + pad, label_image.shape[0])),
                    slice(max(cs.start - pad, 0), min(cs.stop + pad, label_image.shape[1])),
                ),
            )
        )
    return out


def morph_labels(
    label_image: npt.ArrayLike,
    op: str,
    *,
    label: int | None = None,
    radius: int = 1,
    min_size: int = 0,
) -> Labels:
    """Per-label morphology; returns a new label image (the input is not changed).

    Operations (``op``):

    ``fill_holes``
        Background pixels enclosed by a label become that label.
    ``grow``
        Each label grows by ``radius`` pixels (Euclidean) into the background only, never
        over another cell (pixels equidistant from two cells go to the nearer by the
        distance transform's choice, like ``skimage.segmentation.expand_labels``).
    ``shrink``
        Each label loses the pixels within ``radius`` of anything else (background or
        another label).
    ``smooth``
        Each label's outline is smoothed: an opening (bumps, bridges and specks thinner than
        the disk removed) then a closing (notches filled, never the gap between two cells) by
        a disk of ``radius``, taking only background or its own pixels.
    ``remove_specks``
        Each label keeps only its largest 4-connected piece; labels smaller than
        ``min_size`` pixels are deleted.

    With ``label=None`` every label is done at once, in a few passes over the image (no loop
    over the labels; see `segpaint.ops._morph_all`), so a whole 2048x2048 frame with thousands
    of cells takes tens of milliseconds (``fill_holes``: a hole of a cell inside a ring-shaped
    cell keeps the inner cell's label, see `segpaint.ops._morph_all.fill_holes_all`).

    Parameters
    ----------
    label_image : array_like, shape (rows, cols)
        Labels.
    op : str
        One of `MORPH_OPS`.
    label : int or None, keyword-only
        The label to change; None for every label.
    radius : int, keyword-only
        Pixels (>= 1) for ``grow``, ``shrink`` and ``smooth``.
    min_size : int, keyword-only
        For ``remove_specks``: labels with fewer pixels are deleted (0 keeps all).

    Examples
    --------
    >>> lab = np.zeros((5, 5), np.uint32); lab[1:4, 1:4] = 2; lab[2, 2] = 0
    >>> int(morph_labels(lab, "fill_holes")[2, 2])
    2
    >>> int(morph_labels(lab, "grow", radius=1).astype(bool).sum())  # 3x3 + hole + 4 sides x 3
    21
    """
    lab = np.asarray(label_image)
    if lab.ndim != 2 or not (np.issubdtype(lab.dtype, np.integer) or lab.dtype == bool):
        raise ValueError(
            f"label_image: expected a 2-D integer label image, got {lab.dtype} {lab.shape}"
        )
    lab = np.asarray(lab, dtype=np.uint32)
    if op not in MORPH_OPS:
        raise ValueError(f"op: unknown operation {op!r}; choose one of {list(MORPH_OPS)}")
    _morph_all.check_morph_args(radius, min_size)
    if label is None:
        return _morph_every_label(lab, op, radius=int(radius), min_size=int(min_size))
    out: Labels = np.array(lab, dtype=np.uint32)
    ids = [int(label)]
    pad = 2 * radius + 2 if op == "smooth" else radius + 2 if op == "grow" else 1
    for value, (rs, cs) in _per_label(lab, ids, pad):
        sub = lab[rs, cs]
        cell = sub == value
        new = out[rs, cs]
        if op == "fill_holes":
            filled = ndi.binary_fill_holes(cell)
            new[filled & (sub == 0)] = value
        elif op == "grow":
            dist = ndi.distance_transform_edt(~cell)
            new[(dist <= radius) & (sub == 0)] = value
        elif op == "shrink":
            fp = disk(radius).astype(bool)  # type: ignore[no-untyped-call]
            kept = ndi.binary_erosion(np.pad(cell, radius), fp)[radius:-radius, radius:-radius]
            new[cell & ~kept] = 0
        elif op == "smooth":
            soft = _morph_all.smooth_all(cell.astype(np.uint32), radius) != 0
            new[cell & ~soft] = 0
            new[soft & (sub == 0)] = value
        else:  # remove_specks
            pieces, n = ndi.label(cell)
            if cell.sum() < min_size:
                new[cell] = 0
            elif n > 1:
                sizes = np.bincount(pieces.ravel())
                sizes[0] = 0
                new[cell & (pieces != int(np.argmax(sizes)))] = 0
    return out


def _morph_every_label(lab: Labels, op: str, *, radius: int, min_size: int) -> Labels:
    """`morph_labels` with ``label=None``: every label at once (`segpaint.ops._morph_all`)."""
    if op == "grow":
        return _morph_all.grow_all(lab, radius)
    if op == "shrink":
        return _morph_all.shrink_all(lab, radius)
    if op == "fill_holes":
        return _morph_all.fill_holes_all(lab)
    if op == "smooth":
        return _morph_all.smooth_all(lab, radius)
    return _morph_all.remove_specks_all(lab, min_size)


# ------------------------------------------------------------------------------ copy, delete
def _dense(label_image: npt.NDArray[Any]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The label values present and each pixel's index among them (O(N), no sort when small)."""
    flat = np.asarray(label_image).ravel()
    top = int(flat.max()) if flat.size else 0
    if top <= 4 * flat.size + 4096:
        present = np.bincount(flat, minlength=top + 1) > 0
        lut = np.cumsum(present) - 1
        return np.flatnonzero(present).astype(np.int64), lut[flat].astype(np.int64)
    ids, inverse = np.unique(flat, return_inverse=True)
    return ids.astype(np.int64), inverse.astype(np.int64)


def label_values(label_image: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """The non-zero labels present in a label image, sorted (fast on big frames).

    Examples
    --------
    >>> label_values(np.array([[0, 7, 7], [2, 0, 7]])).tolist()
    [2, 7]
    """
    return _label_counts(label_image)[0]


Counted = tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]
"""Labels present (sorted, non-zero) and each one's pixel count."""


def _runs(*images: npt.ArrayLike) -> tuple[list[npt.NDArray[Any]], npt.NDArray[np.intp]]:
    """Runs of pixels (row-major) along which every image keeps one value: each image's value
    on each run, and the runs' lengths.  Cells span many pixels of a row, so the runs are far
    fewer than the pixels, and counting or sorting them is cheap."""
    flats = [np.ascontiguousarray(im).ravel() for im in images]
    size = flats[0].size
    if size == 0:
        return [f[:0] for f in flats], np.zeros(0, np.intp)
    change = flats[0][1:] != flats[0][:-1]
    for f in flats[1:]:
        change |= f[1:] != f[:-1]
    starts = np.concatenate([np.zeros(1, np.intp), np.flatnonzero(change) + 1])
    return [f[starts] for f in flats], np.diff(starts, append=size)


def _counts_of_runs(values: npt.NDArray[Any], lengths: npt.NDArray[np.intp]) -> Counted:
    """`_label_counts` from runs (`_runs`)."""
    empty = np.zeros(0, np.int64)
    if values.size == 0:
        return empty, empty
    top = int(values.max())
    if top == 0:
        return empty, empty
    if top <= 4 * values.size + 4096:
        # background runs count in bin 0, which is dropped: no pass to leave them out
        counts = np.bincount(values, weights=lengths, minlength=top + 1)
        counts[0] = 0
        ids = np.flatnonzero(counts)
        return ids.astype(np.int64), counts[ids].astype(np.int64)
    on = values != 0
    values, lengths = values[on], lengths[on]
    ids, where = np.unique(values, return_inverse=True)
    counts = np.bincount(where.ravel(), weights=lengths, minlength=ids.size)
    return ids.astype(np.int64), counts.astype(np.int64)


def _label_counts(label_image: npt.ArrayLike) -> Counted:
    """The non-zero labels present, sorted, and each one's pixel count (over runs)."""
    (values,), lengths = _runs(label_image)
    return _counts_of_runs(values, lengths)


def _overlaps(
    ss: npt.NDArray[Any], tt: npt.NDArray[Any], lengths: npt.NDArray[np.intp]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Every pair of non-zero labels ``(s, t)`` sharing pixels, and how many pixels, from the
    runs of one ``(source, target)`` pair (`_runs`): only the runs are sorted, not the pixels."""
    both = (ss != 0) & (tt != 0)
    if not both.any():
        empty = np.zeros(0, np.int64)
        return empty, empty, empty
    s, t = ss[both], tt[both]
    # one integer per pair, as narrow as the labels allow (a narrower sort is faster)
    bits = max(int(t.max()).bit_length(), 1)
    wide = (int(s.max()) << bits) >= 1 << 32
    kind = np.uint64 if wide else np.uint32
    code = s.astype(kind) << kind(bits)
    code |= t.astype(kind)
    pairs = np.unique(code)  # few pairs: their sort is cheap, then one search per run
    where = np.searchsorted(pairs, code)
    inter = np.bincount(where, weights=lengths[both], minlength=pairs.size)
    return (
        (pairs >> kind(bits)).astype(np.int64),
        (pairs & kind((1 << bits) - 1)).astype(np.int64),
        inter.astype(np.int64),
    )


def _areas(counted: Counted, ids: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Pixel count of each label in ``ids`` (all present), from `_label_counts`."""
    values, counts = counted
    return counts[np.searchsorted(values, ids)]


def match_labels(
    source: npt.ArrayLike, target: npt.ArrayLike, *, min_iou: float = 0.5
) -> dict[int, int]:
    """Which source cell is which target cell: one-to-one pairs by IoU (>= ``min_iou``).

    Pairs are taken greedily from the highest IoU down; with ``min_iou >= 0.5`` that is the
    unique optimal matching (two cells cannot both overlap one cell by more than half).
    Equal IoUs are taken in (source, target) order.

    Examples
    --------
    >>> a = np.array([[1, 1, 0, 2, 2]]); b = np.array([[7, 7, 0, 0, 9]])
    >>> match_labels(a, b)
    {1: 7, 2: 9}
    """
    return _match_and_count(source, target, min_iou=min_iou)[0]


def _match_and_count(
    source: npt.ArrayLike, target: npt.ArrayLike, *, min_iou: float = 0.5
) -> tuple[dict[int, int], npt.NDArray[np.int64], npt.NDArray[np.int64], Any]:
    """`match_labels`, the labels present in ``source`` and in ``target`` (`label_values`),
    and the runs of one ``(source, target)`` pair they came from (`_runs`: ``((s, t),
    lengths)``), from one pass over the pixels."""
    src = np.asarray(source)
    tgt = np.asarray(target)
    if src.shape != tgt.shape:
        raise ValueError(f"target: shape {tgt.shape} differs from source {src.shape}")
    if not 0 < float(min_iou) <= 1:
        raise ValueError(f"min_iou: expected a number in (0, 1], got {min_iou!r}")
    runs = _runs(src, tgt)
    (ss, tt), lengths = runs
    src_counts, tgt_counts = _counts_of_runs(ss, lengths), _counts_of_runs(tt, lengths)
    s_ids, t_ids, inter = _overlaps(ss, tt, lengths)
    pairs: dict[int, int] = {}
    if inter.size == 0:
        return pairs, src_counts[0], tgt_counts[0], runs
    s_area = _areas(src_counts, s_ids)
    t_area = _areas(tgt_counts, t_ids)
    iou = inter / (s_area + t_area - inter)
    good = np.flatnonzero(iou >= min_iou)
    s_good, t_good = s_ids[good], t_ids[good]
    if np.unique(s_good).size == good.size and np.unique(t_good).size == good.size:
        # no cell in two such pairs (always so for min_iou > 0.5): greedy takes them all
        pairs = dict(zip(s_good.tolist(), t_good.tolist(), strict=True))
        return pairs, src_counts[0], tgt_counts[0], runs
    order = np.argsort(-iou, kind="stable")  # pairs come sorted by (source, target)
    used: set[int] = set()
    for k in order.tolist():
        if iou[k] < min_iou:
            break
        s, t = int(s_ids[k]), int(t_ids[k])
        if s in pairs or t in used:
            continue
        pairs[s] = t
        used.add(t)
    return pairs, src_counts[0], tgt_counts[0], runs


def cells_in_box(
    label_image: npt.ArrayLike, bbox: BBox, *, min_fraction: float = 0.5
) -> tuple[BBox, npt.NDArray[np.bool_]] | None:
    """Mask of every cell with at least ``min_fraction`` of its pixels inside ``bbox``.

    The mask step of "delete in a box": whole cells, also their parts outside the box.

    Returns
    -------
    (bbox, mask) or None
        Tight box and mask of those cells; None when there are none.

    Examples
    --------
    >>> lab = np.array([[1, 1, 0, 2], [1, 1, 0, 2]])
    >>> cells_in_box(lab, (0, 2, 0, 3))
    ((0, 2, 0, 2), array([[ True,  True],
           [ True,  True]]))
    """
    lab = np.asarray(label_image)
    ids = labels_in_box(lab, bbox, min_fraction=min_fraction)
    if not ids:
        return None
    window = _window_around(lab, bbox, ids)
    members = np.isin(lab[bbox_slices(window)], ids)
    return tight_bbox(members, offset=(window[0], window[2]))


def labels_in_box(
    label_image: npt.ArrayLike, bbox: BBox, *, min_fraction: float = 0.5
) -> list[int]:
    """Labels with at least ``min_fraction`` of their pixels inside a half-open box.

    Examples
    --------
    >>> lab = np.array([[1, 1, 0, 2], [1, 1, 0, 2]])
    >>> labels_in_box(lab, (0, 2, 0, 3)), labels_in_box(lab, (0, 2, 1, 4))
    ([1], [1, 2])
    """
    lab = np.asarray(label_image)
    if not 0 < float(min_fraction) <= 1:
        raise ValueError(f"min_fraction: expected a number in (0, 1], got {min_fraction!r}")
    inside = lab[bbox_slices(bbox)]
    ids, counts = np.unique(inside[inside > 0], return_counts=True)
    if ids.size == 0:
        return []
    window = _window_around(lab, bbox, ids)
    sub = lab[bbox_slices(window)]
    values, index = _dense(sub)
    areas = np.bincount(index, minlength=len(values))
    total = areas[np.searchsorted(values, ids)]
    return [int(i) for i, n, t in zip(ids, counts, total, strict=True) if n >= min_fraction * t]


def _window_around(lab: npt.NDArray[Any], bbox: BBox, ids: npt.ArrayLike) -> BBox:
    """A box holding every pixel of the labels ``ids`` that have pixels in ``bbox``.

    Starts at ``bbox`` and doubles its margin while one of them touches an inner edge, so the
    cost follows the cells, not the frame.
    """
    wanted = np.asarray(ids)
    rows, cols = lab.shape
    margin = 8
    window = bbox
    while True:
        sub = lab[bbox_slices(window)]
        edges = [
            sub[0] if window[0] > 0 else None,
            sub[-1] if window[1] < rows else None,
            sub[:, 0] if window[2] > 0 else None,
            sub[:, -1] if window[3] < cols else None,
        ]
        if not any(e is not None and np.isin(e, wanted).any() for e in edges):
            return window
        window = (
            max(bbox[0] - margin, 0),
            min(bbox[1] + margin, rows),
            max(bbox[2] - margin, 0),
            min(bbox[3] + margin, cols),
        )
        margin *= 2
