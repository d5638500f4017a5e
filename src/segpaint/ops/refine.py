"""Whole-frame outline refinement: every cell's outline moves to the image's edge near it.

`refine_outlines` works on a thin band around the current outlines (the pixels within
``radius`` of a cell/background border), never on the whole frame, and has no loop over the
cells: the band is found with a few label-blind passes over bit masks of the frame (or fronts
of pixels when it is thin), then every step is one numpy pass over the band's pixels (flat
indices in a frame padded by one pixel, so neighbours need no bounds checks).  Its cost
follows the total length of the outlines, so a 2048x2048 frame with hundreds of cells takes
tens of ms (3,000 crowded cells: over 100).

The rule, for each cell ``A`` (all at once):

1. The band: pixels within ``radius`` 4-connected steps of a border between a cell and
   background, each on its side (background through background, a cell through its own
   pixels; diagonally that reaches ``radius / sqrt(2)`` px).
   Borders between two cells are not outlines: they never move.
2. Each band pixel belongs to the cell it is in, or (background) to the cell whose rings
   reached it first (`_rings`).
3. The image: the chosen channels normalised by their contrast limits and averaged
   (`segpaint.ops.channel_intensity`); its gradient (central differences).
4. ``A``'s edge level is the mean of the intensity over ``A``'s band pixels
   weighted by the squared gradient: the intensity where the image changes most, i.e. at the
   edge ``A`` sits on (half-way between inside and outside for a blurred step edge), whichever
   side of it the current outline is and however wide each side of the band is.  It is
   taken twice: the second time without the pixels brighter than the mean of the first
   level's bright side (texture inside a cell has gradients too; `_levels`).
5. A band pixel of ``A`` is in ``A`` when it is at least as bright as that level; background
   pixels that would join ``A`` must connect to it (4-connected, through pixels that join) or
   they stay background.  Cells darker than their surroundings are not handled (bright
   objects, as the other assisted tools assume).
6. A cell whose band has less than `MIN_EDGE_CONTRAST` between its bright and dark side (no
   edge to snap to), or that would lose more than three quarters of its band pixels, is left
   as it was, so cells never vanish or jump.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from types import ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt

from segpaint.ops.labels import BBox, _intersect, tight_bbox

__all__ = [
    "MIN_EDGE_CONTRAST",
    "RADIUS_MAX",
    "REFINE_RADIUS",
    "kernels_ready",
    "refine_changes",
    "refine_outlines",
    "warm_up",
]

Labels = npt.NDArray[np.uint32]

REFINE_RADIUS = 3
"""Default ``radius`` of `refine_outlines`: how far (px) an outline may move."""

RADIUS_MAX = 16
"""Largest ``radius`` `refine_outlines` accepts (a wider band would let cells jump)."""

MIN_EDGE_CONTRAST = 0.05
"""A cell whose band's bright and dark sides differ by less than this (0..1, normalised
intensity) has no edge near it: `refine_outlines` leaves it as it is."""

_KEEP_FRACTION = 0.25  # a cell keeping fewer of its band pixels than this is left as it was


def refine_outlines(
    image: npt.ArrayLike,
    label_image: npt.ArrayLike,
    *,
    limits: Sequence[Sequence[float]] | None = None,
    label: int | None = None,
    clip: BBox | None = None,
    radius: int = REFINE_RADIUS,
) -> tuple[BBox, Labels] | None:
    """Move every cell's outline to the image's edge near it (see the module docstring).

    Parameters
    ----------
    image : array_like, shape (rows, cols) or (channels, rows, cols)
        Raw intensities of the channels to look at.
    label_image : array_like of unsigned int, shape (rows, cols)
        The current labels (not changed).
    limits : sequence of (low, high), keyword-only, optional
        Contrast limits per channel (default: `segpaint.ops.default_limits`).
    label : int, keyword-only, optional
        Only this cell's outline moves (default: every cell's).
    clip : (row0, row1, col0, col1), keyword-only, optional
        Only this box is looked at and changed (the ROI lock).
    radius : int, keyword-only
        How far an outline may move, in px (1 to `RADIUS_MAX`): the band's half-width.  An
        outline up to about ``radius - 1`` px off comes back whole; one ``radius`` px off
        only where the image's edge reaches into the band (blurred edges do).

    Returns
    -------
    (bbox, labels) or None
        The box looked at and its new labels (same values everywhere except the moved
        outlines), or None when there is no outline in it.

    Examples
    --------
    A disk of radius 6 in the image, labelled as a disk of radius 4:

    >>> yy, xx = np.mgrid[:21, :21]; d2 = (yy - 10) ** 2 + (xx - 10) ** 2
    >>> img = (d2 <= 36) * 1.0; lab = (d2 <= 16).astype(np.uint32) * 7
    >>> box, new = refine_outlines(img, lab, limits=[(0, 1)])
    >>> int((lab == 7).sum()), int((new == 7).sum()), int((img > 0).sum())
    (49, 113, 113)
    """
    found = _window_inputs(image, label_image, limits, label, clip, radius)
    if found is None:
        return None
    window, channels, pairs, lab = found
    new = _refine_window(channels, pairs, lab, label, radius)
    return (window, new) if new is not None else None


Changes = tuple[BBox, npt.NDArray[np.intp], Labels, Labels]
"""What `refine_changes` returns: ``(bbox, flat, values, old)``."""


def refine_changes(
    image: npt.ArrayLike,
    label_image: npt.ArrayLike,
    *,
    limits: Sequence[Sequence[float]] | None = None,
    label: int | None = None,
    clip: BBox | None = None,
    radius: int = REFINE_RADIUS,
) -> Changes | None:
    """`refine_outlines` as the list of the pixels it changes (what a commit needs: its cost
    follows the change, not the box).

    Parameters are those of `refine_outlines`.

    Returns
    -------
    (bbox, flat, values, old) or None
        The box looked at (as `refine_outlines` gives it); the changed pixels' flat positions
        in it (C order, increasing, ``intp``); their new values and their values in
        ``label_image`` (uint32).  None when there is no outline in the box; empty arrays
        when no pixel moves.

    Examples
    --------
    >>> yy, xx = np.mgrid[:21, :21]; d2 = (yy - 10) ** 2 + (xx - 10) ** 2
    >>> img = (d2 <= 36) * 1.0; lab = (d2 <= 16).astype(np.uint32) * 7
    >>> box, flat, values, old = refine_changes(img, lab, limits=[(0, 1)])
    >>> flat.size, set(values.tolist()), set(old.tolist())  # 113 - 49 pixels join cell 7
    (64, {7}, {0})
    >>> new = lab.copy(); new.ravel()[flat] = values
    >>> bool((new == refine_outlines(img, lab, limits=[(0, 1)])[1]).all())
    True
    """
    found = _window_inputs(image, label_image, limits, label, clip, radius)
    if found is None:
        return None
    window, channels, pairs, lab = found
    kernels = _numba_kernels()
    if kernels is not None and _numba_takes(channels, lab):
        listed = _refine_window_numba(
            kernels, channels, pairs, lab, label, radius=radius, changes=True
        )
        if listed is None:
            return None
        flat, values, old = listed
        return window, flat, values, old
    new = _refine_window_numpy(channels, pairs, lab, label, radius)
    if new is None:
        return None
    changed = np.flatnonzero(new != lab)
    return window, changed, new.ravel()[changed], lab.ravel()[changed]


def _window_inputs(  # noqa: PLR0917 - `refine_outlines`' arguments, passed on
    image: npt.ArrayLike,
    label_image: npt.ArrayLike,
    limits: Sequence[Sequence[float]] | None,
    label: int | None,
    clip: BBox | None,
    radius: int,
) -> tuple[BBox, list[npt.NDArray[np.generic]], Sequence[tuple[float, float]], Labels] | None:
    """`refine_outlines`' arguments checked: the box looked at, its channels (contiguous),
    the contrast limits and its labels (contiguous uint32); None when ``label`` is not in
    the box."""
    from segpaint.ops.assist import _as_stack, _check_limits, default_limits

    stack = _as_stack(image)
    lab_all = np.asarray(label_image)
    if lab_all.ndim != 2 or lab_all.shape != stack.shape[1:]:
        raise ValueError(
            f"label_image: expected shape {stack.shape[1:]} (the image's rows, cols), got "
            f"{lab_all.shape}"
        )
    if lab_all.dtype.kind != "u":
        raise TypeError(f"label_image: expected unsigned integers, got dtype {lab_all.dtype}")
    if isinstance(radius, bool) or not isinstance(radius, int) or not 1 <= radius <= RADIUS_MAX:
        raise ValueError(f"radius: expected an integer from 1 to {RADIUS_MAX} px, got {radius!r}")
    pairs = _check_limits(limits, stack.shape[0])
    if pairs is None:
        pairs = default_limits(stack)
    h, w = lab_all.shape
    full: BBox = (0, h, 0, w)
    lim = full if clip is None else _intersect(full, tuple(int(v) for v in clip))  # type: ignore[arg-type]
    if lim is None:
        raise ValueError(f"clip: {clip} does not overlap the image of shape {(h, w)}")
    window = lim
    if label is not None:
        cell = lab_all[lim[0] : lim[1], lim[2] : lim[3]] == label
        if not cell.any():
            return None
        box, _ = tight_bbox(cell, offset=(lim[0], lim[2]))
        reach = radius + 2
        window = (max(box[0] - reach, lim[0]), min(box[1] + reach, lim[1]),
                  max(box[2] - reach, lim[2]), min(box[3] + reach, lim[3]))  # fmt: skip
    rows, cols = slice(window[0], window[1]), slice(window[2], window[3])
    lab = np.ascontiguousarray(lab_all[rows, cols], dtype=np.uint32)
    return window, [np.ascontiguousarray(c[rows, cols]) for c in stack], pairs, lab


def kernels_ready() -> bool:
    """Whether `refine_outlines` can run without compiling first.

    False only when it runs with numba and this process has not compiled (or loaded from
    numba's on-disk cache) its kernels yet: the next call then takes seconds the first time
    after an install, a fraction of a second from the cache.  The widget says so in its
    status line before the call.

    Examples
    --------
    >>> import os
    >>> os.environ["SEGPAINT_NUMBA"] = "0"
    >>> kernels_ready()  # the numpy code: nothing to compile
    True
    >>> del os.environ["SEGPAINT_NUMBA"]
    """
    kernels = _numba_kernels()
    if kernels is None:
        return True
    return all(getattr(kernels, name).signatures for name in kernels.KERNELS)


def warm_up(dtype: npt.DTypeLike = np.uint16) -> bool:
    """Compile `refine_outlines`' numba kernels now, for images of ``dtype``.

    The first call of a process compiles them (seconds with an empty cache, a fraction of a
    second from numba's on-disk cache); calling this beforehand, in a background thread for
    instance, spares that wait at the first refine.  Nothing is compiled without numba or
    with ``SEGPAINT_NUMBA=0``.

    Parameters
    ----------
    dtype : dtype, optional
        The image's dtype (each compiles its own intensity kernel).

    Returns
    -------
    bool
        Whether `refine_outlines` uses numba here.

    Examples
    --------
    >>> import threading
    >>> threading.Thread(target=warm_up, args=(np.float32,), daemon=True).start()  # doctest: +SKIP
    """
    if _numba_kernels() is None:
        return False
    yy, xx = np.mgrid[:48, :48]
    image = np.asarray((yy - 24) ** 2 + (xx - 24) ** 2 <= 100).astype(dtype)
    disk = ((yy - 24) ** 2 + (xx - 24) ** 2 <= 64).astype(np.uint32)  # band over the frame
    specks = (yy // 4 % 2 * (xx // 4 % 2) * (yy * 48 + xx)).astype(np.uint32)  # estimated thin
    for lab in (disk, specks):  # the bit-mask band and fronts of pixels (`_dense_band`)
        refine_changes(image, lab, limits=[(0, 1)])  # every kernel `refine_outlines` runs too
    return True


def _padded(image: npt.NDArray[Any], *, edge: bool) -> npt.NDArray[Any]:
    """``image`` with one more pixel on each side: a copy of its edge (``edge``) or 0."""
    h, w = image.shape
    out = np.empty((h + 2, w + 2), image.dtype)
    out[1:-1, 1:-1] = image
    if edge:
        out[0, 1:-1], out[-1, 1:-1] = image[0], image[-1]
        out[:, 0], out[:, -1] = out[:, 1], out[:, -2]
    else:
        out[0], out[-1], out[:, 0], out[:, -1] = 0, 0, 0, 0
    return out


DENSE_BAND = 0.15
"""`_rings` finds the band with masks of the whole frame (`_rings_masks`) when it is likely
to cover more than this fraction of the frame (crowded frames: every cell, hole and speck has
an outline), else by stepping fronts of pixels (`_rings_fronts`, cost of the band only)."""


Band = tuple[npt.NDArray[np.intp], Labels, Labels, npt.NDArray[np.bool_]]


def _dense_band(lab: Labels, radius: int, borders: int | None = None) -> bool:
    """Whether `_rings` takes `_rings_masks` (a band likely to cover much of the frame);
    ``borders``: `_borders` of all of ``lab``'s rows, when already counted."""
    if borders is None:
        borders = _borders(lab, 0, lab.shape[0])
    return bool(16 * borders * 2 * (2 * radius + 1) > DENSE_BAND * lab.size)


def _borders(lab: Labels, first: int, end: int) -> int:
    """The borders `_dense_band` counts on rows ``first`` to ``end`` of ``lab``: along every
    16th row, and between it and the next row (the band's likely size; rows only: every
    16th column would read every cache line of the frame).  Runs of rows add up."""
    top = -(-first // 16) * 16  # the first 16th row from ``first``
    rows = lab[top:end:16] == 0
    below = lab[top + 1 : end + 1 : 16] == 0  # (the last row has none under it)
    return int(
        np.count_nonzero(rows[:, 1:] != rows[:, :-1])
        + np.count_nonzero(rows[: below.shape[0]] != below)
    )


def _rings(lab: Labels, radius: int) -> Band:
    """The band: 4-connected rings from the borders, ``radius`` steps each way, each staying on
    its side (background through background, a cell through its own pixels).

    Returns the band's flat indices in the padded frame (`_padded`: one more pixel each
    side); the cell each belongs to (its own; a background pixel: the nearest across the
    border: on the border, the cell above it, else left, below, right; further out, that of
    its neighbour one step nearer, below, above, right, then left first); ``lab`` padded
    with 0; and which band pixels are a cell's (not background).  Both ways give the same
    band and cells (the order of the pixels may differ).
    """
    if _dense_band(lab, radius):
        return _rings_masks(lab, radius)
    return _rings_fronts(lab, radius)


def _fence(lab: Labels) -> int:
    """A value no pixel of ``lab`` has, other than 0: the frame of `_rings_fronts`' copy."""
    top = int(lab.max()) if lab.size else 0
    if top < 0xFFFFFFFF:
        return 0xFFFFFFFF
    values = np.unique(lab)  # every value taken up to the top: rare, so the sort is fine
    gaps = np.flatnonzero(np.diff(values.astype(np.int64)) > 1)
    return int(values[gaps[0]]) + 1 if gaps.size else 1


def _border_pairs(lab: Labels) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """The cell/background pairs of 4-neighbours in the padded frame (`_padded`): pairs
    ``(p, p + 1)`` then ``(p, p + wide)``, each in row-major order, as their first pixels
    and their second ones."""
    w = lab.shape[1]
    wide = w + 2
    bg = lab == 0
    across = np.flatnonzero(bg[:, 1:] != bg[:, :-1])  # pairs (p, p + 1) on an (h, w - 1) grid
    across += across // (w - 1) * 3 + wide + 1  # to the padded grid
    down = np.flatnonzero(bg[1:] != bg[:-1])  # pairs (p, p + w) on the (h, w) grid
    down += down // w * 2 + wide + 1
    return np.concatenate([across, down]), np.concatenate([across + 1, down + wide])


def _rings_fronts(lab: Labels, radius: int) -> Band:
    """`_rings` for a thin band: fronts of pixels step out from the borders, one gather per
    step and direction, on a copy framed by a value no step can want (a pixel taken becomes
    that value too, so no step takes it twice)."""
    w = lab.shape[1]
    wide = w + 2
    padded = _padded(lab, edge=False)
    fence = _fence(lab)
    work = padded.copy()
    work[0], work[-1], work[:, 0], work[:, -1] = fence, fence, fence, fence
    flat = work.ravel()
    first, second = _border_pairs(lab)
    owner = np.maximum(flat[first], flat[second])  # one of the two is background
    px = np.concatenate([first, second])
    own = np.concatenate([owner, owner])
    # a border pixel comes two to four times: keep one, the last written (the priority above)
    slot = np.empty(flat.size, np.int32)
    order = np.arange(px.size, dtype=np.int32)
    slot[px] = order
    one = slot[px] == order
    px, own = px[one], own[one]
    inner = flat[px] != 0
    flat[px] = fence
    # the two sides apart: background steps to background, a cell's pixels to its own
    fronts = [(px[inner], own[inner], False), (px[~inner], own[~inner], True)]
    parts_idx, parts_own, parts_was = [px], [own], [inner]
    for _ in range(radius):
        nxt_fronts = []
        for front, owners, background in fronts:
            nxt, nown = [], []
            for d in (-wide, wide, -1, 1):
                q = front + d
                value = flat[q]
                keep = value == 0 if background else value == owners
                q = q[keep]
                flat[q] = fence
                nxt.append(q)
                nown.append(owners[keep])
            step_idx, step_own = np.concatenate(nxt), np.concatenate(nown)
            parts_idx.append(step_idx)
            parts_own.append(step_own)
            parts_was.append(np.full(step_idx.size, not background))
            if step_idx.size:
                nxt_fronts.append((step_idx, step_own, background))
        fronts = nxt_fronts
    idx, owner = np.concatenate(parts_idx), np.concatenate(parts_own)
    return idx, owner, padded, np.concatenate(parts_was)


def _pack(mask: npt.NDArray[np.bool_], size: int) -> npt.NDArray[np.uint64]:
    """``mask`` (flat, up to ``size`` long, False beyond) as bits: bit ``j`` of word ``i`` is
    pixel ``64 * i + j``."""
    words = np.zeros(-(-size // 64) * 8, np.uint8)
    packed = np.packbits(mask, bitorder="little")
    words[: packed.size] = packed
    return words.view("<u8")


def _up(bits: npt.NDArray[np.uint64], shift: int) -> npt.NDArray[np.uint64]:
    """Bits moved ``shift`` pixels up the flat frame: pixel ``i`` gets pixel ``i - shift``."""
    q, r = divmod(shift, 64)
    out = np.zeros_like(bits)
    n = bits.size
    if r == 0:
        out[q:] = bits[: n - q]
        return out
    np.left_shift(bits[: n - q], np.uint64(r), out=out[q:])
    out[q + 1 :] |= bits[: n - q - 1] >> np.uint64(64 - r)
    return out


def _down(bits: npt.NDArray[np.uint64], shift: int) -> npt.NDArray[np.uint64]:
    """Bits moved ``shift`` pixels down the flat frame: pixel ``i`` gets pixel ``i + shift``."""
    q, r = divmod(shift, 64)
    out = np.zeros_like(bits)
    n = bits.size
    if r == 0:
        out[: n - q] = bits[q:]
        return out
    np.right_shift(bits[q:], np.uint64(r), out=out[: n - q])
    out[: n - q - 1] |= bits[q + 1 :] << np.uint64(64 - r)
    return out


def _ring_bits(
    lab: Labels, radius: int
) -> tuple[Labels, npt.NDArray[np.uint64], list[npt.NDArray[np.uint64]], npt.NDArray[np.uint64]]:
    """The rings of `_rings_masks` as bits (`_pack`): ``lab`` padded with 0, its background,
    the rings (ring ``k``: the pixels first reached after ``k - 1`` steps) and the band."""
    wide = lab.shape[1] + 2
    padded = _padded(lab, edge=False)
    flat = padded.ravel()
    size = flat.size
    # pairs (i, i + 1) and (i, i + wide) with a pixel of the padding never join: every step
    # stays inside the window and no bounds are checked
    high = padded.shape[0]
    valid = np.zeros((high, wide), bool)
    valid[1:-1, 1:-2] = True  # (i, i + 1): both inside
    valid_across = _pack(valid.ravel(), size)
    valid[1:-1, -2] = True
    valid[-2] = False  # (i, i + wide): both inside
    valid_down = _pack(valid.ravel(), size)
    del valid
    same_across = _pack(flat[1:] == flat[:-1], size) & valid_across
    same_down = _pack(flat[wide:] == flat[:-wide], size) & valid_down
    bg = _pack(flat == 0, size)
    # the borders: both pixels of every cell/background pair
    pair_across = (bg ^ _down(bg, 1)) & valid_across
    pair_down = (bg ^ _down(bg, wide)) & valid_down
    front = pair_across | _up(pair_across, 1) | pair_down | _up(pair_down, wide)
    del pair_across, pair_down
    taken = front.copy()
    rings = [front]  # ring k + 1: the pixels first reached at step k
    for _ in range(radius):
        nxt = _up(front & same_across, 1)
        nxt |= _down(front, 1) & same_across
        nxt |= _up(front & same_down, wide)
        nxt |= _down(front, wide) & same_down
        nxt &= ~taken
        taken |= nxt
        rings.append(nxt)
        front = nxt
    return padded, bg, rings, taken


def _rings_masks(lab: Labels, radius: int) -> Band:
    """`_rings` for a band that covers much of the frame.

    Returns the band's flat indices in the padded frame (`_padded`: one more pixel each
    side), its cells' pixels then its background's, each increasing; the cell each belongs
    to (its own; a background pixel: the nearest across the border, see below); ``lab``
    padded with 0; and which are a cell's (the first ones).

    The rings are label-blind masks of the frame (a step goes between 4-neighbours with the
    same value), kept as bits (64 pixels a word: a step is a few word operations on 1/64 of
    the frame), so their cost is two comparisons of the frame and one unpacking of the band.
    A background pixel's cell comes from its neighbour one step nearer the border: below,
    above, right, then left first; on the border itself from the cell next to it: above,
    left, below, then right first.
    """
    padded, bg, rings, taken = _ring_bits(lab, radius)
    wide = lab.shape[1] + 2
    flat = padded.ravel()
    size = flat.size
    # the band's cell pixels (their own cell), then its background pixels
    cells = np.unpackbits((taken & ~bg).view(np.uint8), count=size, bitorder="little")
    cell_px = np.flatnonzero(cells.view(bool))
    del cells
    bg_px = np.flatnonzero(
        np.unpackbits((taken & bg).view(np.uint8), count=size, bitorder="little").view(bool)
    )
    # each background pixel of the band: which neighbour gives its cell, as word operations
    # (ring 1: the first cell above, left, below, right; further out: the first pixel of
    # the ring before below, above, right, left), kept with its ring in one byte a pixel
    orders = {1: (-wide, -1, wide, 1), 2: (wide, -wide, 1, -1)}
    planes = [np.zeros_like(bg) for _ in range(2 + (radius + 1).bit_length())]
    before = ~bg
    for k, reached in enumerate(rings, start=1):
        ring = reached & bg
        chosen = np.zeros_like(bg)
        for way, d in enumerate(orders[min(k, 2)][:-1]):
            there = ring & (_down(before, d) if d > 0 else _up(before, -d)) & ~chosen
            chosen |= there
            if way & 1:
                planes[0] |= there
            if way & 2:
                planes[1] |= there
        planes[0] |= ring & ~chosen  # the last way, 3
        planes[1] |= ring & ~chosen
        for j in range(k.bit_length()):
            if k >> j & 1:
                planes[2 + j] |= ring
        before = ring
    code = np.zeros(size, np.uint8)
    for j, plane in enumerate(planes):
        bit = np.unpackbits(plane.view(np.uint8), count=size, bitorder="little")
        if j:
            bit *= np.uint8(1 << j)
        code |= bit
    bg_code = np.take(code, bg_px)
    del code
    bg_steps = bg_code >> np.uint8(2)
    bg_way = bg_code & np.uint8(3)
    # the band's arrays filled in place: its cells' pixels first, then its background's
    n_cell = cell_px.size
    idx = np.empty(n_cell + bg_px.size, np.intp)
    idx[:n_cell], idx[n_cell:] = cell_px, bg_px
    owner: Labels = np.empty(idx.size, np.uint32)
    np.take(flat, cell_px, out=owner[:n_cell])
    bg_owner = owner[n_cell:]
    ring_owner = np.empty(size, np.uint32)  # read only where written (the ring before)
    for k in range(1, radius + 2):
        at = np.flatnonzero(bg_steps == k)
        if at.size == 0:
            break
        px = bg_px[at]
        off = np.take(np.array(orders[min(k, 2)], np.intp), bg_way[at])
        off += px
        found = np.take(flat if k == 1 else ring_owner, off)
        ring_owner[px] = found
        bg_owner[at] = found
    was = np.zeros(idx.size, bool)
    was[:n_cell] = True
    return idx, owner, padded, was


def _value_and_gradient(
    channels: list[npt.NDArray[np.generic]],
    limits: Sequence[tuple[float, float]],
    idx: npt.NDArray[np.intp],
    shape: tuple[int, int],
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """At each band pixel (``idx``: flat indices in the padded frame of ``shape``): the
    normalised intensity and its squared central-difference gradient (neighbours beyond the
    window repeat the edge)."""
    wide = shape[1] + 2
    vals = np.empty((5, idx.size), np.float32)
    # every band pixel is inside the window: its neighbours are views of the flat frame at
    # an offset, gathered at one shared index (no index array per neighbour)
    at = idx - wide
    for c, (channel, (lo, hi)) in enumerate(zip(channels, limits, strict=True)):
        flat = _padded(np.asarray(channel), edge=True).ravel()
        scale = np.float32(1.0 / (hi - lo))
        for k, d in enumerate((0, -wide, wide, -1, 1)):
            v = vals[k] if c == 0 else np.empty(idx.size, np.float32)
            # (x - lo) * scale in float32: x converted as it is copied in (a plain cast; a
            # subtraction that converts its input takes numpy's slower buffered loop)
            v[...] = np.take(flat[wide + d :], at)
            v -= np.float32(lo)
            v *= scale
            np.clip(v, 0.0, 1.0, out=v)
            if c:
                vals[k] += v
    if len(channels) > 1:
        vals /= np.float32(len(channels))
    gy = vals[2] - vals[1]
    gx = vals[4] - vals[3]
    gx *= gx  # gx * gx + gy * gy, in place
    gy *= gy
    gx += gy
    return vals[0], gx


def _dense_ids(owner: Labels) -> tuple[npt.NDArray[np.intp], int]:
    """An index per owner for `numpy.bincount` (0 stays 0) and the number of bins: the label
    itself when the labels are small enough, else its rank among the owners present."""
    top = int(owner.max()) if owner.size else 0
    if top <= 4 * owner.size + 4096:
        return owner.astype(np.intp), top + 1
    ids, inverse = np.unique(owner, return_inverse=True)
    if ids[0] != 0:
        return inverse.astype(np.intp) + 1, ids.size + 1
    return inverse.astype(np.intp), ids.size


def _levels(
    dense: npt.NDArray[np.intp],
    n: int,
    value: npt.NDArray[np.float32],
    grad2: npt.NDArray[np.float32],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Each cell's edge level (gradient-weighted mean intensity of its band, its brighter
    texture left out), whether the cell has an edge to snap to, and which band pixels are at
    least as bright as their cell's level.

    A sum over the pixels of one side of a level (``value >= level`` or not) is one
    `numpy.bincount` over the key ``2 * cell + side`` (odd bins: the bright side, even: the
    dark one): both sides in one pass, each bin summed in the band's order like a bincount
    over the cell with zeros elsewhere, so the sums are those bit for bit.
    """
    # float64 once (bincount converts its weights on every call, and a float32 compared
    # with float64 levels goes through numpy's buffered loop); the products stay float32
    value64 = value.astype(np.float64)
    grad64 = grad2.astype(np.float64)
    weighted = (grad2 * value).astype(np.float64)
    weight = np.bincount(dense, grad64, minlength=n)
    level = np.bincount(dense, weighted, minlength=n) / np.maximum(weight, 1e-30)
    twice = dense << 1

    # texture inside a cell (brighter than its rim) has gradients too: weigh only the pixels
    # up to the mean of the bright side, where the cell's own edge is
    key = twice + (value64 >= np.take(level, dense))
    n_in = np.bincount(key, minlength=2 * n)[1::2]
    top = np.bincount(key, value64, minlength=2 * n)[1::2] / np.maximum(n_in, 1)
    key = twice + (value64 <= np.take(top, dense))  # the rim: odd bins
    weight = np.bincount(key, grad64, minlength=2 * n)[1::2]
    level = np.bincount(key, weighted, minlength=2 * n)[1::2] / np.maximum(weight, 1e-30)
    # contrast: the means of the two sides of the level
    inside = value64 >= np.take(level, dense)
    key = twice + inside
    count = np.bincount(key, minlength=2 * n)
    total = np.bincount(key, value64, minlength=2 * n)
    n_up, n_down = count[1::2], count[::2]
    hi = total[1::2] / np.maximum(n_up, 1)
    lo = total[::2] / np.maximum(n_down, 1)
    ok = (weight > 0) & (n_up > 0) & (n_down > 0) & (hi - lo >= MIN_EDGE_CONTRAST)
    return level, ok, inside


_NUMBA_OFF = ("0", "false", "no", "off")
_NUMBA_DTYPES = frozenset("?bBhHiIlLqQefd")  # channel dtypes the compiled kernels take
_kernels: ModuleType | None = None
_kernels_tried = False


def _numba_kernels() -> ModuleType | None:
    """`segpaint.ops._refine_numba` when numba imports and ``SEGPAINT_NUMBA`` is not ``0``
    (read at each call), else None (the numpy code runs)."""
    global _kernels, _kernels_tried  # noqa: PLW0603 - imported once, on first use
    if os.environ.get("SEGPAINT_NUMBA", "1").strip().lower() in _NUMBA_OFF:
        return None
    if not _kernels_tried:
        _kernels_tried = True
        try:
            from segpaint.ops import _refine_numba
        except ImportError:  # a numba that does not load
            _refine_numba = None  # type: ignore[assignment]
        # no numba (the `fast` extra): the module imports, its kernels are plain Python
        if _refine_numba is not None and _refine_numba.AVAILABLE:
            _kernels = _refine_numba
    return _kernels


def _dense_ids32(owner: Labels) -> tuple[Labels, int]:
    """`_dense_ids` as uint32 (the owners themselves when small enough: no copy)."""
    top = int(owner.max())
    if top <= 4 * owner.size + 4096:
        return owner, top + 1
    dense, n = _dense_ids(owner)
    return dense.astype(np.uint32), n


def _refine_window_numba(
    kernels: ModuleType,
    channels: list[npt.NDArray[np.generic]],
    limits: Sequence[tuple[float, float]],
    lab: Labels,
    label: int | None,
    *,
    radius: int,
    changes: bool = False,
) -> Any:
    """`_refine_window` through numba kernels (`segpaint.ops._refine_numba`): the same
    labels bit for bit; with ``changes``, the changed pixels instead (``(flat, values,
    old)``, as `refine_changes` lists them)."""
    # `_padded(lab, edge=False)` and the channels' `_padded(edge=True)` (a band pixel's
    # neighbours then one row or one place away in both, no edge to check), their rows
    # copied over the kernels' threads (numpy's copy releases the GIL)
    h, w = lab.shape
    padded = np.empty((h + 2, w + 2), np.uint32)
    padded[0], padded[-1], padded[:, 0], padded[:, -1] = 0, 0, 0, 0
    image = np.empty((len(channels), h + 2, w + 2), np.result_type(*channels))
    counted: list[int] = []  # `_dense_band`'s borders, run by run (on the threads too)

    def rows(a: int, b: int) -> None:
        np.copyto(padded[1 + a : 1 + b, 1:-1], lab[a:b])
        for plane, channel in zip(image, channels, strict=True):
            inner = plane[1 + a : 1 + b]
            np.copyto(inner[:, 1:-1], channel[a:b])
            inner[:, 0], inner[:, -1] = channel[a:b, 0], channel[a:b, -1]
        counted.append(_borders(lab, a, b))

    kernels._spread(rows, h, kernels.threads(), run=128)
    image[:, 0], image[:, -1] = image[:, 1], image[:, -2]
    if _dense_band(lab, radius, sum(counted)):
        # `_ring_bits` compiled, with the band's counts (one pass over the threads)
        bg, rings, taken, counts = kernels.ring_bits(padded, radius, counts=True)
        idx, owner, was = kernels.band(padded.ravel(), taken, bg, rings, w + 2, counts)
    else:
        first, second = _border_pairs(lab)
        idx, owner, was = kernels.rings_fronts(
            padded, first, second, np.uint32(_fence(lab)), radius
        )
    if label is not None:
        keep = owner == label
        idx, owner, was = idx[keep], owner[keep], was[keep]
    if idx.size == 0:
        return None
    low = np.array([np.float32(lo) for lo, _ in limits], np.float32)
    scale = np.array([np.float32(1.0 / (hi - lo)) for lo, hi in limits], np.float32)
    dense, n = _dense_ids32(owner)
    marks = kernels.refine_cells(
        image, low, scale, dense, n, (idx, owner, was), padded.ravel(),
        radius, MIN_EDGE_CONTRAST, _KEEP_FRACTION, mark=changes,
    )  # fmt: skip
    if changes:
        return kernels.list_changes(marks, lab.shape[1])
    result: Labels = padded[1:-1, 1:-1]
    return result


def _numba_takes(channels: list[npt.NDArray[np.generic]], lab: Labels) -> bool:
    """Whether the numba kernels take this window (when numba is on)."""
    return lab.size > 0 and all(c.dtype.char in _NUMBA_DTYPES for c in channels)


def _refine_window(
    channels: list[npt.NDArray[np.generic]],
    limits: Sequence[tuple[float, float]],
    lab: Labels,
    label: int | None,
    radius: int,
) -> Labels | None:
    """`refine_outlines` on one window: the new labels, or None when there is no outline."""
    kernels = _numba_kernels()
    if kernels is not None and _numba_takes(channels, lab):
        new: Labels | None = _refine_window_numba(
            kernels, channels, limits, lab, label, radius=radius
        )
        return new
    return _refine_window_numpy(channels, limits, lab, label, radius)


def _refine_window_numpy(
    channels: list[npt.NDArray[np.generic]],
    limits: Sequence[tuple[float, float]],
    lab: Labels,
    label: int | None,
    radius: int,
) -> Labels | None:
    """`_refine_window` in numpy."""
    h, w = lab.shape
    wide = w + 2
    idx, owner, padded, was = _rings(lab, radius)
    if label is not None:
        keep = owner == label
        idx, owner, was = idx[keep], owner[keep], was[keep]
    if idx.size == 0:
        return None
    value, grad2 = _value_and_gradient(channels, limits, idx, (h, w))
    dense, n = _dense_ids(owner)
    _, ok, inside = _levels(dense, n, value, grad2)
    flat = padded.ravel()
    # `padded` is this call's own copy, read before this line only: the new labels go in it
    # (its padding stays 0: no neighbour beyond the window is a cell's)
    out, oflat = padded, flat
    oflat[idx[was & ~inside]] = 0  # band pixels of a cell below its level leave it
    # background that joins a cell must connect to it through pixels that join too
    grow = np.flatnonzero(~was & inside & np.take(ok, dense))
    # the band pixels each cell keeps: its own above its level, and the background it took
    kept = was & inside
    for _ in range(radius + 1):
        if grow.size == 0:
            break
        p, o = idx[grow], owner[grow]
        above = p - wide  # the four neighbours: views of the frame at offsets, one index
        hit = np.take(oflat, above) == o
        hit |= np.take(oflat[2 * wide :], above) == o
        hit |= np.take(oflat[wide - 1 :], above) == o
        hit |= np.take(oflat[wide + 1 :], above) == o
        if not hit.any():
            break
        oflat[p[hit]] = o[hit]
        kept[grow[hit]] = True
        grow = grow[~hit]
    # per cell, the band pixels it kept and had, counted in one pass: key 4 * cell + 2 * kept
    # + had
    key = dense << 2
    key += kept.view(np.uint8) << np.uint8(1)
    key += was
    counts = np.bincount(key, minlength=4 * n).reshape(n, 4)
    ok &= counts[:, 2:].sum(axis=1) >= _KEEP_FRACTION * counts[:, 1::2].sum(axis=1)
    back = ~np.take(ok, dense)
    if back.any():  # cells with no edge, or that would mostly vanish, stay as they were
        # a band pixel of a cell was its owner's, one of background was 0
        oflat[idx[back]] = np.where(was[back], owner[back], 0)
    result: Labels = out[1:-1, 1:-1]
    return result
