"""Whole-frame morphology of every label at once: no loop over labels.

`segpaint.ops.morph_labels` with ``label=None`` runs these.  Each one is a few passes over the
frame (shifted slices of label-blind masks; a graph of row runs for connected pieces), and
the few pixels that may change are then checked one by one, so the cost follows the frame
size, not the number of cells: a 2048x2048 frame with thousands of cells takes tens of ms
where a loop over the cells took seconds.  They give the same pixels as the per-label
definitions (tests keep the loops as the reference), except where a docstring says otherwise.

Each one also comes as ``*_changes`` (and `changes` for any of them): the pixels it changes as
increasing flat positions and their new values, which is what a Session commits (recording and
journaling only those pixels), without a copy of the frame or a comparison with it.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import numpy.typing as npt
from scipy import ndimage as ndi

Labels = npt.NDArray[np.uint32]
Changes = tuple[npt.NDArray[np.intp], Labels]
"""A whole-frame operation's change: the flat (C-order) positions of the pixels it changes,
increasing, and their new values (each differs from the pixel's value before)."""


def applied(lab: Labels, change: Changes) -> Labels:
    """A copy of ``lab`` with ``change`` written into it."""
    out: Labels = lab.copy()
    out.ravel()[change[0]] = change[1]
    return out


def check_morph_args(radius: object, min_size: object) -> None:
    """Check ``radius`` (an integer 1..64) and ``min_size`` (an integer >= 0) of
    `segpaint.ops.assist.morph_labels` and of the session's whole-frame morph."""
    if (
        isinstance(radius, bool)
        or not isinstance(radius, int | np.integer)
        or not 1 <= radius <= 64
    ):
        raise ValueError(f"radius: expected an integer from 1 to 64 pixels, got {radius!r}")
    if isinstance(min_size, bool) or not isinstance(min_size, int | np.integer) or min_size < 0:
        raise ValueError(f"min_size: expected an integer >= 0, got {min_size!r}")


def changes(lab: Labels, op: str, *, radius: int = 1, min_size: int = 0) -> Changes:
    """The change ``morph_labels(lab, op, label=None, ...)`` makes (`Changes`), ``lab`` a
    C-contiguous uint32 label image; ``op`` one of fill_holes, grow, shrink, smooth,
    remove_specks.

    Examples
    --------
    >>> lab = np.zeros((3, 4), np.uint32); lab[1, 1] = 5
    >>> idx, values = changes(lab, "grow", radius=1)
    >>> idx.tolist(), values.tolist()
    ([1, 4, 6, 9], [5, 5, 5, 5])
    """
    if op == "grow":
        return grow_changes(lab, radius)
    if op == "shrink":
        return shrink_changes(lab, radius)
    if op == "fill_holes":
        return fill_holes_changes(lab)
    if op == "smooth":
        return smooth_changes(lab, radius)
    if op == "remove_specks":
        return remove_specks_changes(lab, min_size)
    raise ValueError(f"op: unknown operation {op!r}")


def _nothing() -> Changes:
    return np.zeros(0, np.intp), np.zeros(0, np.uint32)


BAND_MAX_RADIUS = 1
"""`grow_all` checks the background band pixel by pixel up to this radius (at most 8 offsets
each, most settled by the first four), and runs two separable passes over the frame above it:
at radius 3 a band pixel of a crowded 2048x2048 frame tries 14 offsets on average, which costs
more than the passes."""


def grow_all(lab: Labels, radius: int, *, reach2: int | None = None) -> Labels:
    """Every label grows by ``radius`` px (Euclidean) into the background.

    A background pixel takes the label of its nearest labelled pixel when that one is within
    ``radius``; among equally near labelled pixels the one with the smallest column, then the
    smallest row, wins (``scipy.ndimage.distance_transform_edt``'s choice).  ``reach2``
    (default ``radius**2``, at most ``radius**2 + radius``) is the largest squared distance
    that grows.  Small radii look only at the background band that grows (`_grow_band`),
    larger ones make two passes over the frame (`_grow_separable`); both give the same pixels.
    """
    return applied(lab, grow_changes(lab, radius, reach2=reach2))


def grow_changes(lab: Labels, radius: int, *, reach2: int | None = None) -> Changes:
    """`grow_all`'s change (`Changes`): the background pixels that take a label."""
    if radius <= BAND_MAX_RADIUS:
        return _grow_band(lab, radius, reach2=reach2)
    return _grow_separable(lab, radius, reach2=reach2)


@functools.lru_cache(maxsize=64)
def _offsets(radius: int, far2: int) -> tuple[tuple[int, int], ...]:
    """The ``(dy, dx)`` of the disk ``dy**2 + dx**2 <= far2`` (centre excluded), in the order a
    background pixel prefers them: nearest first, then the smallest column, then the smallest
    row."""
    span = range(-radius, radius + 1)
    offs = [(dy, dx) for dy in span for dx in span if 0 < dy * dy + dx * dx <= far2]
    return tuple(sorted(offs, key=lambda o: (o[0] * o[0] + o[1] * o[1], o[1], o[0])))


@functools.lru_cache(maxsize=64)
def _rings(radius: int, far2: int, width: int) -> tuple[tuple[int, ...], ...]:
    """`_offsets` by rings of equal distance, nearest first, as flat steps in rows ``width``
    wide (`_grown_inside` runs many times per call of `smooth_all`: worked out once)."""
    offsets = _offsets(radius, far2)
    return tuple(
        tuple(dy * width + dx for dy, dx in offsets if dy * dy + dx * dx == d2)
        for d2 in sorted({dy * dy + dx * dx for dy, dx in offsets})
    )


def _grow_band(lab: Labels, radius: int, *, reach2: int | None = None) -> Changes:
    """`grow_changes` on the band only: the background pixels with a label within reach (found
    by one label-blind dilation) take the first labelled pixel of the disk in preference order
    (`_grown_at`).  Its cost follows the band, not the frame."""
    far2 = radius * radius if reach2 is None else reach2
    fg = lab != 0
    band = _dilate(fg, radius, far2)
    band &= ~fg
    idx = np.flatnonzero(band)
    if idx.size == 0:
        return _nothing()
    found = _grown_at(lab, idx, radius, far2)
    hit = found != 0
    if not hit.all():
        idx, found = idx[hit], found[hit]
    return idx, found


_CHUNK = 1 << 16  # pixels per block of `_grown_at`'s (pixels x offsets) gathers


def _grown_at(lab: Labels, idx: npt.NDArray[np.intp], radius: int, far2: int) -> Labels:
    """`grow_all`'s value at the background pixels ``idx`` (flat indices): the label of the
    first labelled pixel of the disk ``dy**2 + dx**2 <= far2`` in `_offsets` order, else 0.

    The offsets go by rings of equal distance, nearest first: one gather of a ring's offsets
    per pixel still looking, so most pixels are settled by the first ring or two.
    """
    h, w = lab.shape
    rows, cols = np.divmod(idx, w)
    edge = (rows < radius) | (rows >= h - radius) | (cols < radius) | (cols >= w - radius)
    if not edge.any():
        return _grown_inside(lab, idx, radius, far2)
    found: Labels = np.zeros(idx.size, np.uint32)
    inner = np.flatnonzero(~edge)
    found[inner] = _grown_inside(lab, idx[inner], radius, far2)
    # near the frame's edge, offsets beyond it do not count: the slow way, on few pixels
    outer = np.flatnonzero(edge)
    flat = lab.ravel()
    for dy, dx in _offsets(radius, far2):
        r, c = rows[outer] + dy, cols[outer] + dx
        inside = (r >= 0) & (r < h) & (c >= 0) & (c < w)
        v = np.zeros(outer.size, np.uint32)
        v[inside] = flat[r[inside] * w + c[inside]]
        hit = v != 0
        found[outer[hit]] = v[hit]
        outer = outer[~hit]
        if outer.size == 0:
            break
    return found


def _grown_inside(lab: Labels, idx: npt.NDArray[np.intp], radius: int, far2: int) -> Labels:
    """`_grown_at` for pixels at least ``radius`` px from the frame's edge."""
    w = lab.shape[1]
    flat = lab.ravel()
    found: Labels = np.zeros(idx.size, np.uint32)
    if idx.size == 0:
        return found
    todo = np.arange(idx.size)
    for ring in _rings(radius, far2, w):
        step = np.array(ring, np.intp)
        if todo.size == idx.size:  # the first ring, every pixel: one gather per offset, the
            # last preferred first, each labelled one taking over (no 2-D gather, no argmax)
            for k in ring[::-1]:
                v = np.take(flat, idx + k)
                np.copyto(found, v, where=v != 0)
            todo = np.flatnonzero(found == 0)
            if todo.size == 0:
                break
            continue
        for lo in range(0, todo.size, _CHUNK):
            part = todo[lo : lo + _CHUNK]
            v = np.take(flat, idx[part, None] + step)
            first = np.argmax(v != 0, axis=1)  # 0 (a zero) when none is labelled
            found[part] = v[np.arange(part.size), first]
        todo = todo[found[todo] == 0]
        if todo.size == 0:
            break
    return found


def _grow_separable(lab: Labels, radius: int, *, reach2: int | None = None) -> Changes:
    """`grow_changes` in two separable passes over the frame, bounded by ``radius``.

    Each pass keeps one small integer per pixel, a *key* ``d2 * S + offset + radius`` (``S`` a
    power of two above ``2 * radius``): its minimum is the nearest labelled pixel, ties going
    to the smallest offset, so a pass is one add and one ``minimum`` per shift.  Pass 1, along
    the columns: the nearest labelled pixel within ``radius`` rows (above first on a tie).
    Pass 2, along the rows: the column minimising ``dx**2 + dy**2`` (leftmost on a tie).
    """
    far2 = radius * radius if reach2 is None else reach2
    h, w = lab.shape
    fg = lab != 0
    bits = (2 * radius).bit_length()  # S = 2**bits > 2 * radius
    mask = (1 << bits) - 1
    top1 = (radius * radius << bits) + 2 * radius  # the largest key of pass 1
    # "no labelled pixel within reach": above every key, and its d2 is beyond far2
    none1 = max(1 << top1.bit_length(), far2 + 1 << bits)
    top2 = (far2 + 1 + radius * radius << bits) + 2 * radius
    kind = next(k for k in (np.uint8, np.uint16, np.uint32)
                if max(none1 + top1, top2) <= np.iinfo(k).max)  # fmt: skip
    # pass 1: key1 = dy**2 * S + dy + radius, or none1 and above
    cost = np.multiply(~fg, kind(none1), dtype=kind)  # 0 on labels, none1 elsewhere
    key1 = cost + kind(radius)
    buf = np.empty_like(cost)  # one scratch array for every shift's candidates
    for dy in range(1, min(radius, h - 1) + 1):
        for step in (-dy, dy):
            dst = slice(-step, None) if step < 0 else slice(None, -step)
            src = slice(None, step) if step < 0 else slice(step, None)
            cand = np.add(cost[src], kind((dy * dy << bits) + step + radius), out=buf[src])
            np.minimum(key1[dst], cand, out=key1[dst])
    # pass 2: key2 = (dy**2 + dx**2) * S + dx + radius, with dy**2 capped at far2 + 1
    # dy**2 * S (the key without its offset bits), capped at (far2 + 1) * S: masks, not shifts
    dv2 = np.bitwise_and(key1, kind(~mask & np.iinfo(kind).max))
    buf.fill(far2 + 1 << bits)  # numpy's minimum with a scalar is ~10x slower than two arrays
    np.minimum(dv2, buf, out=dv2)
    key2 = dv2 + kind(radius)
    shifts = [s for s in (*range(-radius, 0), *range(1, radius + 1)) if abs(s) < w]
    # shifts of the flat frame (one contiguous pass each; a shift of columns in 2-D is ~3x
    # slower): pixel i takes pixel i + shift, which is in the row before or after for the
    # first and last `radius` columns, done again below along their rows
    flat_dv2, flat_key2, flat_buf = dv2.ravel(), key2.ravel(), buf.ravel()
    n = flat_dv2.size
    for shift in shifts:
        length = n - abs(shift)
        src = flat_dv2[shift:] if shift > 0 else flat_dv2[:length]
        dst = flat_key2[:length] if shift > 0 else flat_key2[-shift:]
        cand = np.add(src, kind((shift * shift << bits) + shift + radius), out=flat_buf[:length])
        np.minimum(dst, cand, out=dst)
    for col in sorted({*range(min(radius, w)), *range(max(w - radius, 0), w)}):
        key = dv2[:, col] + kind(radius)
        for shift in shifts:
            if 0 <= col + shift < w:
                cand = dv2[:, col + shift] + kind((shift * shift << bits) + shift + radius)
                np.minimum(key, cand, out=key)
        key2[:, col] = key
    # d2 <= far2, i.e. key2 < (far2 + 1) * S (the offset bits are below S)
    grow = np.flatnonzero(~fg & (key2 < kind(far2 + 1 << bits)))
    if grow.size == 0:
        return _nothing()
    # follow the offsets: along the row to the column, then along it to the pixel
    at = grow + ((key2.ravel()[grow] & kind(mask)).astype(np.intp) - radius)
    at += ((key1.ravel()[at] & kind(mask)).astype(np.intp) - radius) * w
    return grow, lab.ravel()[at]


def _any_change_within(
    changes: npt.NDArray[np.bool_], n: int, reach: int
) -> list[npt.NDArray[np.bool_]]:
    """``[a_0, ..., a_reach]``: ``a_k[i]`` says whether one of the pairs ``(j, j + 1)`` with
    ``i - k <= j < i + k`` (inside ``0 .. n - 1``) differs, along axis 1.

    ``changes[:, j]`` is pair ``(j, j + 1)``, for ``j`` in ``0 .. n - 2``.  Each ``a_k`` is a
    view of shape ``(rows, n)`` into rows ``n + 2 * reach`` wide: the windows are shifts of
    the whole padded buffer, one contiguous pass each (a shift of columns in 2-D is slower).
    """
    rows = changes.shape[0]
    wide = n + 2 * reach
    padded = np.zeros((rows + 1, wide), bool)  # one spare row: every shift stays inside
    padded[:rows, reach : reach + n - 1] = changes
    flat = padded.ravel()
    size = rows * wide
    out = [np.zeros((rows, wide), bool)]
    for k in range(1, reach + 1):
        # window [i - k, i + k - 1] grows by pair i - k on the left and pair i + k - 1 on the right
        a = np.logical_or(
            flat[reach - k : reach - k + size], flat[reach + k - 1 : reach + k - 1 + size]
        )
        if k > 1:  # a_0 is empty
            a |= out[-1].ravel()
        out.append(a.reshape(rows, wide))
    return [a[:, :n] for a in out]


def shrink_all(lab: Labels, radius: int, *, reach2: int | None = None) -> Labels:
    """Every label loses its pixels within ``radius`` (a disk) of a different value.

    Equal to ``grey_erosion == lab == grey_dilation`` with ``skimage.morphology.disk(radius)``
    and ``mode="nearest"`` (pixels beyond the frame edge do not count), without the
    non-separable filters: the disk is uniform when its middle column is, and each of its rows
    is (row ``dy`` spans ``isqrt(radius**2 - dy**2)`` px either side).  ``reach2`` (default
    ``radius**2``, at most ``radius**2 + radius``) is the disk's largest squared distance.
    """
    out: Labels = np.where(_shrink_marked(lab, radius, reach2=reach2), np.uint32(0), lab)
    return out


def shrink_changes(lab: Labels, radius: int, *, reach2: int | None = None) -> Changes:
    """`shrink_all`'s change (`Changes`): the labelled pixels it clears."""
    marked = _shrink_marked(lab, radius, reach2=reach2)
    marked &= lab != 0
    idx = np.flatnonzero(marked)
    return idx, np.zeros(idx.size, np.uint32)


def _shrink_marked(lab: Labels, radius: int, *, reach2: int | None = None) -> npt.NDArray[np.bool_]:
    """The pixels `shrink_all` clears (labelled or not): a different value within the disk."""
    far2 = radius * radius if reach2 is None else reach2
    h, w = lab.shape
    # the pairs along the rows from one comparison of the flat frame (contiguous: ~3x faster
    # than comparing 2-D column slices); the pair across each row's end is left out
    pairs = np.empty(h * w, bool)
    flat = lab.ravel()
    np.not_equal(flat[1:], flat[:-1], out=pairs[:-1])
    across = _any_change_within(pairs.reshape(h, w)[:, : w - 1], w, radius)
    # the middle column: a change between rows j and j + 1 for some j in [i - radius, i + radius)
    down = np.zeros((h + 2 * radius, w), bool)
    np.not_equal(lab[1:], lab[:-1], out=down[radius : radius + h - 1])
    # the first two windows OR-ed into a new array (not zeros, then OR-ed one by one)
    marked = np.logical_or(down[:h], down[1 : 1 + h])
    for j in range(2 - radius, radius):
        marked |= down[radius + j : radius + j + h]
    for dy in range(-radius, radius + 1):
        if abs(dy) >= h or math.isqrt(far2 - dy * dy) == 0:
            continue  # no pair within 0 columns: nothing to add
        row = across[math.isqrt(far2 - dy * dy)]
        if dy >= 0:
            marked[: h - dy] |= row[dy:]
        else:
            marked[-dy:] |= row[: h + dy]
    return marked


def fill_holes_all(lab: Labels) -> Labels:
    """Each label's holes filled: background that only that label encloses takes it.

    A hole is a background piece (4-connected) that does not reach the frame edge.  When its rim
    is one label, it takes that label.  When its rim has several labels (a speck or a cell
    inside a cell, next to the hole), it takes the largest rim label ``w`` whose side of the
    image, walking through everything but ``w``, is closed (the other rim labels are inside
    ``w``).  This equals filling each label's holes in turn (``binary_fill_holes``, the larger
    label last) except for a hole whose rim is one cell that lies inside a larger-numbered
    ring-shaped cell: the loop gave that hole to the ring (a piece of the ring inside the inner
    cell), here it keeps the inner cell's label.
    """
    return applied(lab, fill_holes_changes(lab))


def fill_holes_changes(lab: Labels) -> Changes:
    """`fill_holes_all`'s change (`Changes`): the hole pixels that take a label."""
    h, w = lab.shape
    if h < 3 or w < 3:
        return _nothing()
    bg = lab == 0
    # the background's 4-connected pieces from its row runs (`_label_runs`: a graph of runs,
    # not a labelling of every pixel); pieces are numbered from 1
    starts, lengths, piece, n = _mask_runs(bg)
    if n == 0:
        return _nothing()
    piece += 1
    row, col = np.divmod(starts, w)
    edge = np.zeros(n + 1, bool)
    edge[piece[(row == 0) | (row == h - 1) | (col == 0) | (col + lengths == w)]] = True
    edge[0] = True
    if edge.all():
        return _nothing()
    # the pixels of inner pieces, from their runs (few holes in a big frame)
    sel = ~edge[piece]
    first_px, length = starts[sel], lengths[sel]
    inner = np.repeat(first_px - (np.cumsum(length) - length), length) + np.arange(length.sum())
    which = np.repeat(piece[sel], length)
    values = lab.ravel()
    lo = np.full(n + 1, np.iinfo(np.uint32).max, np.uint32)
    hi = np.zeros(n + 1, np.uint32)
    rims = []
    for step in (-w, w, -1, 1):  # inner pieces never touch the edge: every neighbour exists
        nb = values[inner + step]
        on = nb != 0
        np.minimum.at(lo, which[on], nb[on])
        np.maximum.at(hi, which[on], nb[on])
        rims.append(np.stack([which[on], nb[on].astype(np.int64)], 1))
    fill = np.where((lo == hi) & (hi != 0), hi, 0).astype(np.uint32)
    mixed = np.flatnonzero((lo != hi) & (hi != 0))
    if mixed.size:
        first = np.zeros(n + 1, np.intp)
        first[which[::-1]] = inner[::-1]  # the last write wins: each piece's first pixel
        open_bg = bg.copy()  # background that reaches the frame edge
        open_bg.ravel()[inner] = False
        pieces = np.zeros(lab.shape, np.int32)  # the inner pieces' numbers, 0 elsewhere
        pieces.ravel()[inner] = which
        _fill_mixed_rims(
            lab,
            pieces,
            open_bg=open_bg,
            rims=np.concatenate(rims),
            mixed=mixed,
            first=first,
            fill=fill,
        )
    take = fill[which] != 0
    return inner[take], fill[which[take]]


def _fill_mixed_rims(
    lab: Labels,
    pieces: npt.NDArray[np.int32],
    *,
    open_bg: npt.NDArray[np.bool_],
    rims: npt.NDArray[np.int64],
    mixed: npt.NDArray[np.intp],
    first: npt.NDArray[np.intp],
    fill: Labels,
) -> None:
    """Set ``fill[piece]`` for holes whose rim has several labels (see `fill_holes_all`).

    ``first[piece]`` is one pixel of each piece (a flat index).  Most such holes sit on the
    border of two touching cells: a straight walk from the hole through one rim cell into open
    background proves that no other rim label closes it, so the flood (`_closed_behind`) only
    runs for the walls no walk rules out.
    """
    wanted = np.zeros(first.size, bool)
    wanted[mixed] = True
    rims = rims[wanted[rims[:, 0]]]
    # the distinct (piece, label) pairs, sorted: one integer each (a 1-D sort, not rows')
    span = int(rims[:, 1].max()) + 1
    code = np.unique(rims[:, 0] * span + rims[:, 1])
    rims = np.stack([code // span, code % span], axis=1)
    starts = np.searchsorted(rims[:, 0], mixed)
    stops = np.searchsorted(rims[:, 0], mixed, side="right")
    escapes = _escapes(lab, pieces, open_bg, first[mixed], mixed)
    w = lab.shape[1]
    todo = zip(mixed.tolist(), starts.tolist(), stops.tolist(), escapes, strict=True)
    for piece, a, b, out_through in todo:
        r, c = divmod(int(first[piece]), w)
        for wall in sorted(rims[a:b, 1].tolist(), reverse=True):
            if out_through - {wall}:
                continue  # a walk avoiding `wall` reaches open background
            if _closed_behind(lab, open_bg, box=(r, r + 1, c, c + 1), wall=wall):
                fill[piece] = wall
                break


def _escapes(
    lab: Labels,
    pieces: npt.NDArray[np.int32],
    open_bg: npt.NDArray[np.bool_],
    seeds: npt.NDArray[np.intp],
    which: npt.NDArray[np.intp],
    *,
    steps: int = 64,
) -> list[set[int]]:
    """For each seed (a pixel of hole ``which[i]``): the labels ``u`` such that a straight walk
    up, down, left or right goes through the hole, then through ``u`` only, then reaches open
    background or the frame edge, within ``2 * steps`` pixels.

    The pixels of every walk are read at once (`_walk`), first its 16 nearest (most walks
    end there), then 40 for the walks still going (on a crowded frame all end there), then all
    ``2 * steps``.
    """
    n = seeds.size
    found: list[set[int]] = [set() for _ in range(n)]
    walk = np.tile(np.arange(n), 4)
    start = np.tile(seeds, 4)
    way = np.repeat(np.arange(4), n)
    for length in sorted({min(16, 2 * steps), min(40, 2 * steps), 2 * steps}):
        going, label = _walk(
            lab, pieces, open_bg, start=start, way=way, hole=which[walk], length=length
        )
        for i, u in zip(walk[label > 0].tolist(), label[label > 0].tolist(), strict=True):
            found[i].add(int(u))
        walk, start, way = walk[going], start[going], way[going]
        if walk.size == 0:
            break
    return found


def _walk(
    lab: Labels,
    pieces: npt.NDArray[np.int32],
    open_bg: npt.NDArray[np.bool_],
    *,
    start: npt.NDArray[np.intp],
    way: npt.NDArray[np.intp],
    hole: npt.NDArray[np.intp],
    length: int,
) -> tuple[npt.NDArray[np.bool_], Labels]:
    """`_escapes`' walks from ``start`` (flat) up, down, left or right (``way`` 0-3) over
    ``length`` pixels: whether each is still going at the end, and the label it escaped
    through (0: none)."""
    h, w = lab.shape
    rows, cols = np.divmod(start, w)
    along = np.arange(1, length + 1)
    r = rows[:, None] + np.array([-1, 1, 0, 0])[way][:, None] * along
    c = cols[:, None] + np.array([0, 0, -1, 1])[way][:, None] * along
    inside = (r >= 0) & (r < h) & (c >= 0) & (c < w)
    at = np.where(inside, r * w + c, 0)
    v = np.where(inside, lab.ravel()[at], 0)
    in_hole = inside & (pieces.ravel()[at] == hole[:, None])
    line = np.arange(start.size)
    first = np.argmin(in_hole, axis=1)  # where each walk leaves the hole
    left = ~in_hole[line, first]
    u = v[line, first]
    ok = left & (u != 0)  # out of the hole into a cell, inside the frame
    # where it leaves that cell: a pixel of another value or beyond the frame's edge
    off = (v != u[:, None]) | ~inside
    off[along[None, :] <= first[:, None] + 1] = False
    last = np.argmax(off, axis=1)
    out = off[line, last]
    going = ~left | (ok & ~out)
    ok &= out & (~inside[line, last] | open_bg.ravel()[at[line, last]])
    label: Labels = np.where(ok, u, 0).astype(np.uint32)
    return going, label


_CROSS = ndi.generate_binary_structure(2, 1)


def _closed_behind(
    lab: Labels,
    open_bg: npt.NDArray[np.bool_],
    *,
    box: tuple[int, int, int, int],
    wall: int,
) -> bool:
    """Whether the 4-connected region of ``lab != wall`` holding the background piece in
    ``box`` is closed: it reaches neither the frame edge nor background that does.

    The window around the piece doubles its margin while the region touches its edge, so the
    cost follows the region; a region that leaks reaches open background within a few pixels.
    """
    h, w = lab.shape
    margin = 4
    while True:
        win = (max(box[0] - margin, 0), min(box[1] + margin, h), max(box[2] - margin, 0),
               min(box[3] + margin, w))  # fmt: skip
        sub = lab[win[0] : win[1], win[2] : win[3]]
        parts, _ = ndi.label(sub != wall, structure=_CROSS)
        # the piece is background inside `box`; any of its pixels names the region
        inner = sub[box[0] - win[0] : box[1] - win[0], box[2] - win[2] : box[3] - win[2]]
        seed = parts[box[0] - win[0] : box[1] - win[0], box[2] - win[2] : box[3] - win[2]]
        region = parts == seed[inner == 0][0]
        if (region & open_bg[win[0] : win[1], win[2] : win[3]]).any():
            return False
        at_edge = (region[0].any(), region[-1].any(), region[:, 0].any(), region[:, -1].any())
        if (win[0] == 0 and at_edge[0]) or (win[1] == h and at_edge[1]) or (
            win[2] == 0 and at_edge[2]) or (win[3] == w and at_edge[3]):  # fmt: skip
            return False
        if not any(at_edge):
            return True
        margin *= 2


def remove_specks_all(lab: Labels, min_size: int) -> Labels:
    """Every label keeps its largest 4-connected piece (the first in row-major order on a tie);
    labels with fewer than ``min_size`` pixels are deleted.

    The pieces come from the runs of one label along the rows (`_label_runs`), joined where
    two runs of the same label in neighbouring rows share a column: a graph of runs (one
    ``connected_components``), not a labelling of every pixel.
    """
    return applied(lab, remove_specks_changes(lab, min_size))


def remove_specks_changes(lab: Labels, min_size: int) -> Changes:
    """`remove_specks_all`'s change (`Changes`): the pixels it clears."""
    starts, lengths, values, piece, n = _label_runs(lab)
    if n == 0:
        return _nothing()
    size = np.bincount(piece, weights=lengths, minlength=n).astype(np.int64)
    owner = np.zeros(n, np.int64)
    owner[piece] = values
    # each piece's first run (runs are in row-major order): the tie-break
    first_run = np.empty(n, np.intp)
    first_run[piece[::-1]] = np.arange(piece.size - 1, -1, -1)
    # per owner: biggest piece first, then the first in row-major order
    order = np.lexsort((first_run, -size, owner))
    first = np.ones(n, bool)
    first[1:] = owner[order[1:]] != owner[order[:-1]]
    keep = np.zeros(n, bool)
    keep[order[first]] = True
    if min_size > 0:
        heads = np.flatnonzero(first)
        area = np.add.reduceat(size[order], heads)  # each owner's pixels
        small = np.repeat(area < min_size, np.diff(np.append(heads, n)))
        keep[order[small]] = False
    gone = ~keep[piece]
    if not gone.any():
        return _nothing()
    first_px, length = starts[gone], lengths[gone]
    pixels = np.repeat(first_px - (np.cumsum(length) - length), length) + np.arange(length.sum())
    return pixels, np.zeros(pixels.size, np.uint32)


def _label_runs(
    lab: Labels,
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], Labels, npt.NDArray[np.intp], int]:
    """The runs of one non-zero label along the rows (first flat index, length, label) and
    the 4-connected piece each belongs to (0 .. count - 1); and their count.
    """
    h, w = lab.shape
    flat = lab.ravel()
    if flat.size == 0:
        none = np.zeros(0, np.intp)
        return none, none, flat[:0], none, 0
    # ends[p]: pixel p is the last of its run (the label changes after it, or the row ends)
    ends = np.empty(flat.size, bool)
    np.not_equal(flat[1:], flat[:-1], out=ends[:-1])
    ends[w - 1 :: w] = True
    starts = np.flatnonzero(ends[:-1])
    starts += 1
    starts = np.concatenate([np.zeros(1, np.intp), starts])
    lengths = np.diff(starts, append=flat.size)
    values = flat[starts]
    fg = values != 0
    starts, lengths, values = starts[fg], lengths[fg], values[fg]
    if starts.size == 0:
        none = np.zeros(0, np.intp)
        return none, none, values, none, 0
    # the same label in the row below, at the first column of each stretch shared by two
    # runs (a stretch goes on while both rows' runs go on)
    # (flat and contiguous: pixel p and p + w; 2-D column slices are ~3x slower)
    size = (h - 1) * w
    same = np.equal(flat[:size], flat[w:])
    same &= flat[:size] != 0
    # a stretch starts where the column before is not shared, or either run ends there
    # (the run above ends there exactly when the one below does: both rows have one label);
    # a row's first column always starts one: the pixel before it ends a run (`ends`)
    link = np.empty(size, bool)
    if size:
        link[0] = same[0]
        np.logical_not(same[:-1], out=link[1:])
        link[1:] |= ends[: size - 1]
        link &= same
    piece, n = _connect_runs(starts, np.flatnonzero(link), w)
    return starts, lengths, values, piece, n


def _mask_runs(
    mask: npt.NDArray[np.bool_],
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.intp], int]:
    """`_label_runs` of a mask (its set pixels as one label): the runs' first flat index and
    length, the 4-connected piece of each, and their count; fewer passes than for labels."""
    h, w = mask.shape
    flat = mask.ravel()
    none = np.zeros(0, np.intp)
    if flat.size == 0:
        return none, none, none, 0
    # a run starts at a set pixel after an unset one or at a row's start; ends likewise
    first = np.empty(flat.size, bool)
    first[0] = flat[0]
    np.greater(flat[1:], flat[:-1], out=first[1:])
    first[::w] = flat[::w]
    last = np.empty(flat.size, bool)
    last[-1] = flat[-1]
    np.greater(flat[:-1], flat[1:], out=last[:-1])
    last[w - 1 :: w] = flat[w - 1 :: w]
    starts = np.flatnonzero(first)
    if starts.size == 0:
        return none, none, none, 0
    lengths = np.flatnonzero(last) - starts + 1
    # set in both rows; a stretch of such columns starts where the column before is not one,
    # or at a row's first column (`_label_runs`' rule: a run of a mask ends where it is unset)
    size = (h - 1) * w
    same = np.logical_and(flat[:size], flat[w:])
    link = np.empty(size, bool)
    if size:
        link[0] = same[0]
        np.greater(same[1:], same[:-1], out=link[1:])
        link[::w] = same[::w]
    piece, n = _connect_runs(starts, np.flatnonzero(link), w)
    return starts, lengths, piece, n


def _connect_runs(
    starts: npt.NDArray[np.intp], top: npt.NDArray[np.intp], w: int
) -> tuple[npt.NDArray[np.intp], int]:
    """The connected piece of each run (and their count), the runs starting at flat ``starts``
    (increasing), linked where pixel ``top`` and the one below it (``top + w``) are in runs that
    touch: each such pixel pair is one edge between the two runs holding them."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    run_top = np.searchsorted(starts, top, side="right") - 1
    run_below = np.searchsorted(starts, top + w, side="right") - 1
    graph = coo_matrix(
        (np.ones(top.size, np.int8), (run_top, run_below)), shape=(starts.size, starts.size)
    )
    n, piece = connected_components(graph, directed=False)
    return piece.astype(np.intp), int(n)


def _round(radius: int) -> int:
    """Squared reach of the digital disk ``x**2 + y**2 <= r**2 + r`` (3x3 for ``r = 1``): round
    enough for smoothing, and it removes one-pixel bumps at ``r = 1``."""
    return radius * radius + radius


def _dilate(mask: npt.NDArray[np.bool_], radius: int, reach2: int) -> npt.NDArray[np.bool_]:
    """Binary dilation by the disk ``dy**2 + dx**2 <= reach2``: row spans, then rows, OR-ed.

    The row spans are shifts of the flat mask (one contiguous pass each; a shift of columns
    in 2-D is slower); the first and last ``k`` columns, where a shift carries pixels from
    the row before or after, are then computed again from the mask (a few columns).
    """
    h, w = mask.shape
    spans = [mask]
    flat = mask.ravel()
    for k in range(1, radius + 1):
        if k < w:
            # the span before, OR-ed with the mask shifted k either way (written in place of
            # a copy: two passes, not three)
            before = spans[-1].ravel()
            out = np.empty_like(flat)
            np.logical_or(before[k:], flat[:-k], out=out[k:])
            out[:k] = before[:k]
            np.logical_or(out[:-k], flat[k:], out=out[:-k])
            grown = out.reshape(h, w)
            for c in (*range(k), *range(max(w - k, k), w)):
                np.any(mask[:, max(c - k, 0) : c + k + 1], axis=1, out=grown[:, c])
        else:
            grown = spans[-1].copy()
        spans.append(grown)
    dilated: npt.NDArray[np.bool_] = spans[math.isqrt(reach2)].copy()  # the middle row (dy = 0)
    for dy in range(-radius, radius + 1):
        if dy == 0 or abs(dy) >= h:
            continue
        row = spans[math.isqrt(reach2 - dy * dy)]
        if dy >= 0:
            dilated[dy:] |= row[: h - dy]
        else:
            dilated[: h + dy] |= row[-dy:]
    return dilated


def open_all(lab: Labels, radius: int) -> Labels:
    """Every label opened by a disk of ``radius`` (`_round`): its pixels outside every disk that
    fits inside it go to background (thin bumps, bridges and specks).

    A disk that fits inside a label holds no other value, so the label-blind dilation of all
    the disks' centres only ever covers pixels of the label they came from.
    """
    core = lab != 0
    core &= ~_shrink_marked(lab, radius, reach2=_round(radius))
    out: Labels = np.where(_dilate(core, radius, _round(radius)), lab, np.uint32(0))
    return out


def close_all(lab: Labels, radius: int) -> Labels:
    """Background notches and gaps of every label filled: a background pixel takes label ``v``
    when the whole disk of ``radius`` around it lies in what ``v`` covers once every label has
    grown by ``radius`` (`grow_all`, so two cells never fill the gap between them)."""
    grown = grow_all(lab, radius, reach2=_round(radius))
    inner = shrink_all(grown, radius, reach2=_round(radius))
    out: Labels = lab.copy()
    np.copyto(out, inner, where=lab == 0)
    return out


SPARSE_CLOSE_MAX = 16
"""`smooth_all` checks the closing's candidates one by one (`_close_sparse`) while they are
at most 1/16 of the frame (a few percent on a crowded frame), else makes dense passes."""


def smooth_all(lab: Labels, radius: int) -> Labels:
    """Opening then closing of every label by a disk of ``radius`` (`open_all`, `close_all`):
    bumps and bridges thinner than the disk go, then notches narrower than it are filled.

    The closing fills a background pixel of the opened image only when the whole disk around
    it is within reach of a label (one label-blind erosion of the grown mask): those few
    candidates are checked pixel by pixel (`_close_sparse`), not the frame.
    """
    return applied(lab, smooth_changes(lab, radius))


def smooth_changes(lab: Labels, radius: int) -> Changes:
    """`smooth_all`'s change (`Changes`): the pixels the opening clears and the closing does
    not give back, and the background the closing fills."""
    reach2 = _round(radius)
    fg = lab != 0
    core = fg & ~_shrink_marked(lab, radius, reach2=reach2)
    kept = _dilate(core, radius, reach2)
    out: Labels = lab.copy()
    gone = fg & ~kept  # the opening's pixels: usually few
    cleared = np.flatnonzero(gone)
    out.ravel()[cleared] = 0
    kept &= fg  # the opened image's labelled pixels
    # grown != 0 is the dilation of the labelled pixels; the closing needs its whole disk
    cand = _dilate(~_dilate(kept, radius, reach2), radius, reach2)
    np.logical_or(cand, kept, out=cand)
    idx = np.flatnonzero(~cand)
    if idx.size * SPARSE_CLOSE_MAX > lab.size:
        closed = _close_dense(lab, out, radius)
        return _differences(lab, closed)
    filled = _close_sparse(lab, out, idx, radius) if idx.size else []
    if not filled:
        return cleared, np.zeros(cleared.size, np.uint32)
    # each list is increasing: a stable sort merges them; a cleared pixel the closing gave
    # back its label (the closing gives a pixel only background or its own label) is no change
    every = np.sort(np.concatenate([cleared, *filled]), kind="stable")
    new = out.ravel()[every]
    differ = new != lab.ravel()[every]
    differ[1:] &= every[1:] != every[:-1]
    return every[differ], new[differ]


def _differences(before: Labels, after: Labels) -> Changes:
    """``after``'s change from ``before`` (`Changes`), by a comparison of every pixel."""
    idx = np.flatnonzero(after != before)
    return idx, after.ravel()[idx]


def _close_dense(lab: Labels, opened: Labels, radius: int) -> Labels:
    """`smooth_all`'s closing of ``opened`` (changed in place and returned) in passes over the
    frame: a background pixel takes its grown label when the disk around it is uniform in the
    grown image, and never a pixel another cell had in ``lab``."""
    grown = grow_all(opened, radius, reach2=_round(radius))
    fill = opened == 0
    fill &= ~_shrink_marked(grown, radius, reach2=_round(radius))
    fill &= grown != 0
    fill &= (lab == 0) | (grown == lab)
    np.copyto(opened, grown, where=fill)
    return opened


def _close_sparse(
    lab: Labels, opened: Labels, idx: npt.NDArray[np.intp], radius: int
) -> list[npt.NDArray[np.intp]]:
    """`_close_dense` on the candidate pixels ``idx`` (flat; background of ``opened``, whose
    disk is within reach of a label), changing ``opened`` in place.

    A candidate takes its grown value (`_grown_at`) when every pixel of its disk has it too.
    The disk's pixels go farthest first, each one gather for the candidates still standing:
    first its labelled pixels (a different cell rules a candidate out: most are gaps between
    two cells), then the grown value of its background pixels.  Returns the positions it
    filled (increasing lists).
    """
    reach2 = _round(radius)
    h, w = lab.shape
    flat = opened.ravel()
    rows, cols = np.divmod(idx, w)
    far = 2 * radius  # a disk pixel's own disk stays in the frame
    edge = (rows < far) | (rows >= h - far) | (cols < far) | (cols >= w - far)
    filled = []
    if edge.any():  # near the frame's edge the disks are cut: the checks with bounds, few pixels
        filled.append(_close_near_edge(lab, opened, idx[edge], radius))
        idx = idx[~edge]
    # the disk's farthest pixels first: they rule out the most candidates (another cell across
    # the gap), so the checks that follow run on fewer (the order does not change the result).
    # A candidate's labelled disk pixels must all hold one label: that label is then its grown
    # value (the nearest labelled pixel is in the disk; 0 when none is), kept as they are read
    steps = [dy * w + dx for dy, dx in reversed(_offsets(radius, reach2))]
    value = np.take(flat, idx + steps[0])
    for step in steps[1:]:  # labelled pixels of the disk: one label or none
        there = np.take(flat, idx + step)
        keep = (there == 0) | (there == value) | (value == 0)
        idx, value, there = idx[keep], value[keep], there[keep]
        np.maximum(value, there, out=value)  # 0 takes the label; one label stays
    before = lab.ravel()[idx]
    alive = (before == 0) | (before == value)
    idx, value = idx[alive], value[alive]
    for step in steps:  # background pixels of the disk: grown to the same value
        at = idx + step
        empty = np.flatnonzero(np.take(flat, at) == 0)
        keep = np.ones(idx.size, bool)
        keep[empty] = _grown_inside(opened, at[empty], radius, reach2) == value[empty]
        idx, value = idx[keep], value[keep]
    flat[idx] = value
    filled.append(idx)
    return filled


def _close_near_edge(
    lab: Labels, opened: Labels, idx: npt.NDArray[np.intp], radius: int
) -> npt.NDArray[np.intp]:
    """`_close_sparse` for candidates within ``2 * radius`` of the frame's edge (disk pixels
    beyond it do not count): every disk pixel of every candidate at once (they are few)."""
    reach2 = _round(radius)
    h, w = lab.shape
    flat = opened.ravel()
    value = _grown_at(opened, idx, radius, reach2)
    before = lab.ravel()[idx]
    alive = (before == 0) | (before == value)
    idx, value = idx[alive], value[alive]
    offs = np.array(_offsets(radius, reach2), np.intp).reshape(-1, 2)
    rows, cols = np.divmod(idx, w)
    r = rows[:, None] + offs[:, 0]
    c = cols[:, None] + offs[:, 1]
    inside = (r >= 0) & (r < h) & (c >= 0) & (c < w)
    # a disk pixel beyond the frame's edge does not count: the candidate itself stands in
    at = np.where(inside, r * w + c, idx[:, None])
    there = flat[at]
    empty = there == 0
    there[empty] = _grown_at(opened, at[empty], radius, reach2)
    same = (there == value[:, None]).all(axis=1)
    done: npt.NDArray[np.intp] = idx[same]
    flat[done] = value[same]
    return done
