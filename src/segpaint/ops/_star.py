"""A star-convex object around a click: the shape prior the click tool's first object lacks.

From the click, ``rays`` rays read the smoothed intensity; each stops where it first falls
under the half-level between the click's core and the local background, or earlier at the
first clear dip followed by a rise (a valley into a touching neighbour).  The radii are then
smoothed along the angle by a circular median, so the few rays that leak into a neighbour
are pulled back by theirs, and the polygon is rasterised.  Nuclei are near-convex; a
touching neighbour changes a few rays, never the whole outline.

`segpaint.ops.assist.region_at` (``refine="watershed"``) uses it only as a check on its
first object: an object more than ``_STAR_MERGE`` times the star's area took a neighbour,
and is cut to the star (docs/performance.md, "Eighth pass").
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import ndimage as ndi

from segpaint.ops.labels import BBox

_STAR_RAYS = 64
_STAR_REACH = 40.0
_STAR_STEP = 0.5
_STAR_SIGMA = 1.0
_STAR_LEVEL = 0.5
_STAR_DIP = 0.06
_STAR_RISE = 3.0
_STAR_CORE = 3
_STAR_BACKGROUND = 30
_STAR_MEDIAN = 9
_STAR_MIN_CONTRAST = 0.05


def star_radii(
    v: npt.NDArray[np.float64],
    point: tuple[int, int],
    *,
    rays: int = _STAR_RAYS,
    reach: float = _STAR_REACH,
    step: float = _STAR_STEP,
    level: float = _STAR_LEVEL,
    dip: float = _STAR_DIP,
    rise: float = _STAR_RISE,
    median: int = _STAR_MEDIAN,
) -> npt.NDArray[np.float64] | None:
    """The radii of the star-convex object around ``point`` in the intensity ``v`` (smoothed).

    Ray ``i`` goes at angle ``2 pi i / rays`` (counter-clockwise from +col towards +row),
    sampled every ``step`` px up to ``reach`` px or ``v``'s edge (bilinear).  Core ``o``: the
    90th percentile of the 7x7 box around ``point``; background ``b``: the 5th percentile of
    the box of half-size 30 px.  A ray ends at the first sample under
    ``b + level * (o - b)``, or earlier at the first local minimum at least
    ``dip * (o - b)`` under the ray's maximum so far and followed, within ``rise`` px, by a
    rise of as much.  The radii are then the circular median over ``median`` rays.

    Returns None when the core is less than 0.05 above the background (nothing to follow).
    """
    r0, c0 = point
    k = _STAR_CORE
    core = float(np.percentile(v[max(r0 - k, 0) : r0 + k + 1, max(c0 - k, 0) : c0 + k + 1], 90))
    q = _STAR_BACKGROUND
    back = float(np.percentile(v[max(r0 - q, 0) : r0 + q + 1, max(c0 - q, 0) : c0 + q + 1], 5))
    contrast = core - back
    if contrast < _STAR_MIN_CONTRAST:
        return None
    angle = np.arange(rays) * (2 * math.pi / rays)
    t = np.arange(0.0, reach, step)
    rr = r0 + np.sin(angle)[:, None] * t[None]
    cc = c0 + np.cos(angle)[:, None] * t[None]
    out = (rr < 0) | (rr > v.shape[0] - 1) | (cc < 0) | (cc > v.shape[1] - 1)
    p = _bilinear(v, rr, cc)
    n = t.size
    below = (p < back + level * contrast) | out
    below[:, -1] = True
    end = np.argmax(below, axis=1)
    # the first clear dip: a local minimum under the ray's maximum so far, then a rise
    ahead = int(rise / step)
    runmax = np.maximum.accumulate(p, axis=1)
    nxt = np.full_like(p, -np.inf)
    # nxt[:, j] = max(p[:, j + 1 : j + 1 + ahead])
    fwd = ndi.maximum_filter1d(p, size=ahead, axis=1, mode="nearest", origin=-(ahead // 2))
    nxt[:, :-1] = fwd[:, 1:]
    dips = np.zeros_like(below)
    dips[:, 2:-1] = (
        (p[:, 2:-1] <= p[:, 1:-2])
        & (p[:, 2:-1] <= p[:, 3:])
        & (runmax[:, 2:-1] - p[:, 2:-1] >= dip * contrast)
        & (nxt[:, 2:-1] - p[:, 2:-1] >= dip * contrast)
    )
    dips &= np.arange(n)[None] < end[:, None]
    has = dips.any(axis=1)
    end = np.where(has, np.argmax(dips, axis=1), end)
    radii: npt.NDArray[np.float64] = t[end]
    if median > 1:
        radii = ndi.median_filter(radii, size=median, mode="wrap")
    return radii


def _bilinear(
    v: npt.NDArray[np.float64], rr: npt.NDArray[np.float64], cc: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """``v`` read at (``rr``, ``cc``) by bilinear interpolation, points past the edge read at
    the nearest edge pixel (``map_coordinates(order=1, mode="nearest")``, 5x faster here)."""
    if v.shape[0] < 2 or v.shape[1] < 2:
        v = np.pad(v, ((0, max(0, 2 - v.shape[0])), (0, max(0, 2 - v.shape[1]))), mode="edge")
    r = np.clip(rr, 0, v.shape[0] - 1)
    c = np.clip(cc, 0, v.shape[1] - 1)
    r0 = np.minimum(r.astype(np.intp), v.shape[0] - 2)
    c0 = np.minimum(c.astype(np.intp), v.shape[1] - 2)
    fr, fc = r - r0, c - c0
    top = v[r0, c0] * (1 - fc) + v[r0, c0 + 1] * fc
    bottom = v[r0 + 1, c0] * (1 - fc) + v[r0 + 1, c0 + 1] * fc
    out: npt.NDArray[np.float64] = top * (1 - fr) + bottom * fr
    return out


def star_mask(
    shape: tuple[int, int], point: tuple[int, int], radii: npt.NDArray[np.float64]
) -> tuple[BBox, npt.NDArray[np.bool_]]:
    """The pixels of ``shape`` within the star polygon of ``radii`` around ``point``: a
    pixel at angle ``a`` and distance ``d`` is in when ``d`` is at most the radius
    interpolated linearly between the two rays around ``a``.  (box, mask), the box clipped to
    ``shape`` (it always holds ``point``)."""
    rays = radii.size
    m = math.ceil(float(radii.max())) + 1
    r0, c0 = point
    box = (max(r0 - m, 0), min(r0 + m + 1, shape[0]), max(c0 - m, 0), min(c0 + m + 1, shape[1]))
    dy = np.arange(box[0], box[1])[:, None] - r0
    dx = np.arange(box[2], box[3])[None, :] - c0
    turn = np.mod(np.arctan2(dy, dx), 2 * math.pi) * (rays / (2 * math.pi))
    i = np.floor(turn).astype(np.intp) % rays
    f = turn - np.floor(turn)
    radius = radii[i] * (1 - f) + radii[(i + 1) % rays] * f
    return box, np.hypot(dy, dx) <= radius


def star_at(
    v: npt.NDArray[Any], point: tuple[int, int], **options: Any
) -> tuple[BBox, npt.NDArray[np.bool_]] | None:
    """`star_radii` then `star_mask` in ``v``'s coordinates; None as `star_radii`."""
    radii = star_radii(v, point, **options)
    if radii is None:
        return None
    return star_mask((int(v.shape[0]), int(v.shape[1])), point, radii)
