"""Compiled kernels of `segpaint.ops.refine` (numba: the optional ``fast`` extra).

`segpaint.ops.refine` uses this module only when numba imports (and ``SEGPAINT_NUMBA`` is
not ``0``); without it the numpy code runs (this module still imports, its kernels then plain
Python: never called).  Each kernel is one loop over the pixels in the
order the numpy code uses, so the outputs are those of the numpy path bit for bit:

- `ring_bits`: `segpaint.ops.refine._ring_bits` (the background, the rings and the band as
  bit words), a word at a time (`ring_block`: the frame packed, 64 pixels compared at once
  into bits; ring 0; then each ring from the one before), runs of words over `threads`
  threads, each run with the words around it it needs (one pass, not one a ring).
- `band`: the end of `segpaint.ops.refine._rings_masks` (each background pixel's cell from
  the rings kept as bits), one loop over the band's background pixels and one along the
  chains of neighbours that give them their cells, instead of bit planes unpacked to bytes
  and a gather a ring.
- `intensity`, `levels`, `connect`: the rest of `segpaint.ops.refine._refine_window`:
  intensities and squared gradients in float32, the per-cell sums in float64 added in the
  band's order (what `numpy.bincount` does with weights), the connecting rounds and the
  counts.

The kernels are compiled on first use (``cache=True``: numba keeps them on disk next to this
file, or under ``NUMBA_CACHE_DIR`` / the user's cache folder when the package is read-only;
with no writable place they are compiled in each process).
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import numpy as np

try:
    import numba
except ImportError:  # importable without numba (doctest collection); refine does not use it then
    numba = None

AVAILABLE = numba is not None
"""Whether numba imported: the kernels below are compiled (else plain Python, never used)."""

__all__ = [
    "AVAILABLE", "KERNELS", "band", "cells", "changes", "group", "list_changes", "ring_bits",
    "rings_fronts",
]  # fmt: skip

KERNELS = (
    "ring_block",
    "band_counts",
    "band_words",
    "rings_fronts",
    "group_rank",
    "group_part",
    "group_starts",
    "cells",
    "changes",
)
"""The kernels `segpaint.ops.refine` calls (each compiled on first use)."""

_F = TypeVar("_F", bound=Callable[..., Any])


def _jit(fn: _F) -> _F:
    """``numba.njit(cache=True, nogil=True)``, without the on-disk cache where numba has no
    writable place for it (it raises at decoration time there); ``fn`` itself without numba."""
    if numba is None:
        return fn
    try:
        return numba.njit(cache=True, nogil=True)(fn)  # type: ignore[no-any-return]
    except RuntimeError:  # "cannot cache function ...: no locator available"
        return numba.njit(nogil=True)(fn)  # type: ignore[no-any-return]


def _inline(fn: _F) -> _F:
    """``numba.njit(inline="always")``: a helper typed into its caller (no kernel of its own
    to compile and cache: each costs a fraction of a second at the first call)."""
    if numba is None:
        return fn
    return numba.njit(inline="always")(fn)  # type: ignore[no-any-return]


_ONE = np.uint64(1)


@_jit
def _bit(word: Any, p: int) -> bool:  # pragma: no cover - compiled
    """Pixel ``p``'s bit in ``word``, its word of a `segpaint.ops.refine._pack`-ed mask."""
    return bool((word >> np.uint64(p & 63)) & _ONE)


_M64 = np.uint64(0x03F79D71B4CB0A89)  # a de Bruijn sequence: lowest set bit -> its index
_BIT_INDEX = np.zeros(64, np.intp)
for _i in range(64):
    _BIT_INDEX[((1 << _i) * 0x03F79D71B4CB0A89 & 0xFFFFFFFFFFFFFFFF) >> 58] = _i
del _i


@_jit
def _popcount(x: Any) -> int:  # pragma: no cover - compiled
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return int((x * np.uint64(0x0101010101010101)) >> np.uint64(56))


@_jit
def _rank(counts: Any, words: Any, p: int) -> int:  # pragma: no cover - compiled
    """How many set bits of ``words`` come before pixel ``p`` (``counts``: before each
    word)."""
    at = np.uint64(p >> 6)
    below = (_ONE << np.uint64(p & 63)) - _ONE
    return int(counts[at]) + _popcount(words[at] & below)


@_inline
def _span(a: int, b: int) -> Any:  # pragma: no cover - compiled
    """The bits ``a`` to ``b`` (clipped to 0..64) of a word set."""
    a = max(a, 0)
    b = min(b, 64)
    if b <= a:
        return np.uint64(0)
    top = ~np.uint64(0) if b == 64 else (_ONE << np.uint64(b)) - _ONE
    return top & ~((_ONE << np.uint64(a)) - _ONE)


@_inline
def _valid_word(p0: int, high: int, wide: int) -> Any:  # pragma: no cover - compiled
    """The bits of the word at pixel ``p0`` whose pairs ``(p, p + 1)``, resp. ``(p, p +
    wide)``, have both pixels off the padding of a ``high`` x ``wide`` frame."""
    across = np.uint64(0)
    down = np.uint64(0)
    r, c = p0 // wide, p0 % wide
    j = 0
    while j < 64 and r < high:
        end = j + wide - c  # this row's last bit, + 1
        if 1 <= r <= high - 2:
            start = max(j, j + 1 - c)  # column 1 on
            across |= _span(start, min(end, j + wide - 2 - c))  # up to column wide - 3
            if r <= high - 3:
                down |= _span(start, min(end, j + wide - 1 - c))  # up to column wide - 2
        j = end
        r += 1
        c = 0
    return across, down


@_inline
def _pack_words(  # noqa: PLR0917 - numba takes no keyword-only arguments
    flat: Any, high: int, wide: int, out: Any, first: int, end: int
) -> None:  # pragma: no cover - compiled
    """Words ``first`` to ``end`` of `segpaint.ops.refine._ring_bits`' masks of the padded
    labels ``flat`` (``high`` rows of ``wide``) into ``out``'s rows (word ``first`` in
    column 0): 0, the background; 1
    and 2, the pairs of 4-neighbours ``(p, p + 1)`` and ``(p, p + wide)`` off the padding
    with the same label; 3 and 4, those with a cell and background (their first pixels)."""
    size = flat.size
    for wi in range(first, end):
        i = wi - first
        p0 = wi * 64
        zero = eq_a = eq_d = zero_d = np.uint64(0)
        if p0 + 64 + wide <= size:
            # slices, indexed from 0: LLVM vectorises the loop (no negative index to wrap)
            here = flat[p0 : p0 + 64]
            right = flat[p0 + 1 : p0 + 65]
            below = flat[p0 + wide : p0 + wide + 64]
            for j in range(64):
                v = here[j]
                bit = np.uint64(j)
                zero |= np.uint64(v == 0) << bit
                eq_a |= np.uint64(right[j] == v) << bit
                eq_d |= np.uint64(below[j] == v) << bit
                zero_d |= np.uint64(below[j] == 0) << bit
            next_zero = flat[p0 + 64] == 0
        else:
            for j in range(min(64, size - p0)):
                p = p0 + j
                v = flat[p]
                bit = np.uint64(j)
                zero |= np.uint64(v == 0) << bit
                if p + 1 < size:
                    eq_a |= np.uint64(flat[p + 1] == v) << bit
                if p + wide < size:
                    eq_d |= np.uint64(flat[p + wide] == v) << bit
                    zero_d |= np.uint64(flat[p + wide] == 0) << bit
            next_zero = p0 + 64 < size and flat[p0 + 64] == 0
        across, down = _valid_word(p0, high, wide)
        out[0, i] = zero
        out[1, i] = eq_a & across
        out[2, i] = eq_d & down
        out[3, i] = (zero ^ ((zero >> _ONE) | (np.uint64(next_zero) << np.uint64(63)))) & across
        out[4, i] = (zero ^ zero_d) & down


@_inline
def _up_word(x: Any, wi: int, q: int, r: int) -> Any:  # pragma: no cover - compiled
    """Word ``wi`` of ``x`` moved ``64 * q + r`` pixels up (`segpaint.ops.refine._up`)."""
    n = x.size
    src = wi - q
    out = np.uint64(0)
    if 0 <= src < n:
        out = x[src] << np.uint64(r)
    if r and 0 <= src - 1 < n:
        out |= x[src - 1] >> np.uint64(64 - r)
    return out


@_inline
def _down_word(x: Any, wi: int, q: int, r: int) -> Any:  # pragma: no cover - compiled
    """Word ``wi`` of ``x`` moved ``64 * q + r`` pixels down (`segpaint.ops.refine._down`)."""
    n = x.size
    src = wi + q
    out = np.uint64(0)
    if 0 <= src < n:
        out = x[src] >> np.uint64(r)
    if r and 0 <= src + 1 < n:
        out |= x[src + 1] << np.uint64(64 - r)
    return out


@_jit
def ring_block(  # noqa: PLR0917 - numba takes no keyword-only arguments
    flat: Any, high: int, out: Any, scratch: Any, first: int, end: int
) -> None:  # pragma: no cover - compiled
    """Words ``first`` to ``end`` of `segpaint.ops.refine._ring_bits` (``rings.shape[0] - 1``
    steps) in one go: the frame packed (`_pack_words`), ring 0 (both pixels of every
    cell/background pair), then each ring from the one before (the pixels not taken yet one
    step from it between 4-neighbours with the same label), and the band split as
    `band_counts` splits it (each word's counts at ``n_cell[wi + 1]``, ``n_bg[wi + 1]``:
    their sums before each word are left to the caller).  ``out``: ``(bg, rings, taken,
    cell_words, bg_words, n_cell, n_bg)``; ``flat``: the padded labels, ``high`` rows;
    ``scratch``: this thread's work words, (8, at least the run's words and the words
    around it).

    A word of ring ``k`` depends on the words up to a row and a word around it in ring
    ``k - 1``, so the words ``(radius + 1) * (row + 2)`` either side of the run are worked
    out too (in this call's own arrays; only the run's own words are written to ``out``):
    runs need no pass a ring one after the other, and give the words of the whole frame's
    passes (a word's errors at the edge of its run's arrays, where the words beyond read as
    0, travel at most a row and a word a step)."""
    bg, rings, taken, cell_words, bg_words, n_cell, n_bg = out
    wide = flat.size // high
    n_words = bg.size
    radius = rings.shape[0] - 1
    q, r = wide >> 6, wide & 63
    halo = (radius + 1) * (q + 2)
    lo = max(first - halo, 0)
    hi = min(end + halo, n_words)
    m = hi - lo
    words = scratch[:5, :m]
    _pack_words(flat, high, wide, words, lo, hi)
    front = scratch[5, :m]
    seen = scratch[6, :m]
    nxt = scratch[7, :m]
    pa = words[3]
    pd = words[4]
    for i in range(m):
        f = pa[i] | _up_word(pa, i, 0, 1) | pd[i] | _up_word(pd, i, q, r)
        front[i] = f
        seen[i] = f
    for wi in range(first, end):
        rings[0, wi] = front[wi - lo]
    same_a = words[1]
    same_d = words[2]
    for k in range(radius):
        for i in range(m):
            x = (front[i] & same_a[i]) << _ONE
            if i >= 1:
                x |= (front[i - 1] & same_a[i - 1]) >> np.uint64(63)
            x |= _down_word(front, i, 0, 1) & same_a[i]
            src = i - q
            if 0 <= src < m:
                x |= (front[src] & same_d[src]) << np.uint64(r)
            if r and 0 <= src - 1 < m:
                x |= (front[src - 1] & same_d[src - 1]) >> np.uint64(64 - r)
            x |= _down_word(front, i, q, r) & same_d[i]
            x &= ~seen[i]
            seen[i] |= x  # (only this word's: no word reads another's `seen`)
            nxt[i] = x
        front, nxt = nxt, front
        for wi in range(first, end):
            rings[k + 1, wi] = front[wi - lo]
    for wi in range(first, end):
        i = wi - lo
        b = words[0, i]
        t = seen[i]
        bg[wi] = b
        taken[wi] = t
        cell_words[wi] = t & ~b
        bg_words[wi] = t & b
        n_cell[wi + 1] = _popcount(t & ~b)
        n_bg[wi + 1] = _popcount(t & b)


@_jit
def band_counts(taken: Any, bg: Any) -> Any:  # pragma: no cover - compiled
    """The band's bits (`segpaint.ops.refine._ring_bits`: ``taken``, the band; ``bg``, the
    background) split into its cells' and its background's, and how many pixels of each
    come before each word (and in all, last): ``(cell_words, bg_words, before_cell,
    before_bg)``, what `band_words` takes."""
    n_words = taken.size
    cell_words = taken & ~bg
    bg_words = taken & bg
    before_cell = np.empty(n_words + 1, np.int64)
    before_bg = np.empty(n_words + 1, np.int64)
    n_cell = n_bg = 0
    for wi in range(n_words):
        before_cell[wi] = n_cell
        before_bg[wi] = n_bg
        n_cell += _popcount(cell_words[wi])
        n_bg += _popcount(bg_words[wi])
    before_cell[n_words] = n_cell
    before_bg[n_words] = n_bg
    return cell_words, bg_words, before_cell, before_bg


@_jit
def band_words(  # noqa: PLR0917 - numba takes no keyword-only arguments
    flat: Any, bg: Any, rings: Any, wide: int, counts: Any, out: Any, k: int, first: int, end: int
) -> None:  # pragma: no cover - compiled
    """Part of the band of `segpaint.ops.refine._rings_masks`, from its bits: the band's
    pixels in words ``first`` to ``end`` that are its background's of ring ``k`` (one row of
    ``rings`` a ring), or (``k < 0``) its cells' and its background's of ring 0 (one pass
    over the labels for both, not two: each reads the words' rows of the frame), each
    written at its place in ``out``
    (``(idx, owner, was)``: its cells' pixels then its background's, each in increasing
    order) with the cell it belongs to.  ``flat``: the padded labels; ``counts``: what
    `band_counts` returns.

    A background pixel's cell: on ring 0, the cell above, left, below, then right of it;
    further out, that of the background pixel of the ring before below, above, right, then
    left of it, written by the call for that ring (so the rings go one after the other;
    within a ring, parts of the words in any order)."""
    cell_words, bg_words, before_cell, before_bg = counts
    idx, owner, was = out
    size = flat.size
    n_cell = before_cell[before_cell.size - 1]
    bg_owner = owner[n_cell:]
    bg_idx = idx[n_cell:]
    ring = max(k, 0)
    before = rings[max(k - 1, 0)]  # the ring before's words (k > 0)
    for wi in range(first, end):
        if k < 0:
            j = before_cell[wi]
            x = cell_words[wi]
            while x:
                low = x & (~x + _ONE)
                p = wi * 64 + _BIT_INDEX[(low * _M64) >> np.uint64(58)]
                x ^= low
                if p >= size:
                    break
                u = np.uint64(j)  # (unsigned places: no check for negative indices)
                idx[u] = p
                owner[u] = flat[np.uint64(p)]
                was[u] = True
                j += 1
        x = rings[ring, wi] & bg_words[wi]
        while x:
            low = x & (~x + _ONE)
            p = wi * 64 + _BIT_INDEX[(low * _M64) >> np.uint64(58)]
            x ^= low
            if p >= size:
                break
            j = before_bg[wi] + _popcount(bg_words[wi] & (low - _ONE))
            u = np.uint64(j)
            bg_idx[u] = p
            was[np.uint64(n_cell + j)] = False
            if ring == 0:  # the first cell above, left, below, right (selects, no branches)
                o = flat[np.uint64(p + 1)]
                v = flat[np.uint64(p + wide)]
                o = v if v != 0 else o
                v = flat[np.uint64(p - 1)]
                o = v if v != 0 else o
                v = flat[np.uint64(p - wide)]
                bg_owner[u] = v if v != 0 else o
                continue
            q = p + wide
            if _bit(before[np.uint64(q >> 6)] & bg[np.uint64(q >> 6)], q):
                bg_owner[u] = bg_owner[np.uint64(_rank(before_bg, bg_words, q))]
                continue
            q = p - wide
            if _bit(before[np.uint64(q >> 6)] & bg[np.uint64(q >> 6)], q):
                bg_owner[u] = bg_owner[np.uint64(_rank(before_bg, bg_words, q))]
                continue
            q = p + 1
            if _bit(before[np.uint64(q >> 6)] & bg[np.uint64(q >> 6)], q):
                bg_owner[u] = bg_owner[u + _ONE]
            else:
                bg_owner[u] = bg_owner[u - _ONE]


@_jit
def _step(  # noqa: PLR0917 - numba takes no keyword-only arguments
    flat: Any, front: Any, background: bool, fence: Any, wide: int, out: Any, own: Any, end: int
) -> int:  # pragma: no cover - compiled
    """One step of a front (``front``: places in ``out``/``own``) up, down, left then right:
    the pixels not taken yet with the wanted value (0 for background, else the front pixel's
    cell) are appended to ``out``/``own`` and fenced; returns the new end."""
    for d in (-wide, wide, -1, 1):
        for t in front:
            q = out[t] + d
            o = own[t]
            value = flat[q]
            if (value == 0) if background else (value == o):
                flat[q] = fence
                out[end] = q
                own[end] = o
                end += 1
    return end


@_jit
def rings_fronts(
    padded: Any, first: Any, second: Any, fence: Any, radius: int
) -> Any:  # pragma: no cover - compiled
    """`segpaint.ops.refine._rings_fronts` (a thin band) in the same order: ``(idx, owner,
    was)``.  ``padded``: the labels with one pixel of 0 around (fenced while stepping, then
    given back its values); ``first``, ``second``: the border pairs' pixels as that function
    lists them; ``fence``: a value no pixel has (`segpaint.ops.refine._fence`)."""
    high, wide = padded.shape
    flat = padded.ravel()
    size = flat.size
    # the first pixels of all pairs, then the second ones, each pair's cell the non-zero one;
    # a pixel met twice keeps its last place (found walking back, fencing what is met)
    n_pairs = first.size
    pair_owner = np.empty(n_pairs, np.uint32)
    for k in range(n_pairs):
        pair_owner[k] = max(flat[first[k]], flat[second[k]])
    keep = np.zeros(2 * n_pairs, np.bool_)
    value = np.empty(2 * n_pairs, np.uint32)
    n_kept = 0
    for t in range(2 * n_pairs - 1, -1, -1):
        p = first[t] if t < n_pairs else second[t - n_pairs]
        if flat[p] != fence:
            value[t] = flat[p]
            flat[p] = fence
            keep[t] = True
            n_kept += 1
    cap = size  # the band has at most every pixel (pages are touched only as used)
    out = np.empty(cap, np.intp)
    own = np.empty(cap, np.uint32)
    end = 0
    n_inner = 0
    was = np.empty(cap, np.bool_)
    for t in range(2 * n_pairs):
        if keep[t]:
            out[end] = first[t] if t < n_pairs else second[t - n_pairs]
            own[end] = pair_owner[t if t < n_pairs else t - n_pairs]
            was[end] = value[t] != 0
            n_inner += was[end]
            end += 1
    inner = np.empty(n_inner, np.intp)
    outer = np.empty(end - n_inner, np.intp)
    i = j = 0
    for t in range(end):
        if was[t]:
            inner[i] = t
            i += 1
        else:
            outer[j] = t
            j += 1
    # the frame: fenced too (no step leaves the window)
    for p in range(wide):
        flat[p] = fence
        flat[size - wide + p] = fence
    for r in range(1, high - 1):
        flat[r * wide] = fence
        flat[r * wide + wide - 1] = fence
    # `radius` steps, the cells' front before the background's
    for _ in range(radius):
        start = end
        new_inner = np.empty(0, np.intp)
        new_outer = np.empty(0, np.intp)
        if inner.size:
            end = _step(flat, inner, False, fence, wide, out, own, end)
            new_inner = np.arange(start, end)
            was[start:end] = True
        mid = end
        if outer.size:
            end = _step(flat, outer, True, fence, wide, out, own, end)
            new_outer = np.arange(mid, end)
            was[mid:end] = False
        inner, outer = new_inner, new_outer
        if inner.size == 0 and outer.size == 0:
            break
    # the labels back where they were fenced
    for t in range(end):
        flat[out[t]] = own[t] if was[t] else 0
    for p in range(wide):
        flat[p] = 0
        flat[size - wide + p] = 0
    for r in range(1, high - 1):
        flat[r * wide] = 0
        flat[r * wide + wide - 1] = 0
    return out[:end].copy(), own[:end].copy(), was[:end].copy()


@_jit
def _norm(x: Any, lo: Any, sc: Any) -> Any:  # pragma: no cover - compiled
    """``(x - lo) * sc`` in float32, clipped to 0..1 (NaN stays NaN, as `numpy.clip`)."""
    a = (np.float32(x) - lo) * sc
    if a < 0:
        return np.float32(0.0)
    if a > 1:
        return np.float32(1.0)
    return a


@_jit
def _over(num: float, den: float) -> float:  # pragma: no cover - compiled
    """``num / np.maximum(den, 1e-30)`` (a NaN ``den`` stays NaN, as numpy's maximum)."""
    return num / (den if (den >= 1e-30 or np.isnan(den)) else 1e-30)


@_jit
def group_rank(dense: Any, n: int, owner: Any) -> Any:  # pragma: no cover - compiled
    """Each bin's group (``dense``: each band pixel's bin, < ``n``): its rank in the order
    the band first meets it (-1: no pixel), and each group's label (``owner``)."""
    nb = dense.size
    rank = np.full(n, -1, np.int64)
    labels = np.empty(min(n, nb), np.uint32)
    n_groups = 0
    for i in range(nb):
        d = dense[i]
        if rank[d] < 0:
            rank[d] = n_groups
            labels[n_groups] = owner[i]
            n_groups += 1
    return rank, labels[:n_groups]


@_jit
def group_part(  # noqa: PLR0917 - numba takes no keyword-only arguments
    dense: Any, rank: Any, idx: Any, was: Any, fill: Any, packed: Any, part: int, count: bool
) -> None:  # pragma: no cover - compiled
    """Part ``part`` of the band (of ``fill.shape[0]`` equal parts, in order): its pixels
    counted per group into ``fill[part, g + 1]`` (``count``), or each written at its place
    ``fill[part, g]`` (then the next) into ``packed`` as ``2 * idx + was``."""
    parts = fill.shape[0]
    nb = idx.size
    row = fill[part]
    first, end = part * nb // parts, (part + 1) * nb // parts
    if first == end:
        return
    # a cell's pixels come in runs (along a row): the run's count or place stays in a
    # register, stored when the run ends (not a store and a load a pixel)
    d = dense[first]
    if count:
        n = 0
        for i in range(first, end):
            if dense[i] != d:
                row[rank[d] + 1] += n
                d = dense[i]
                n = 0
            n += 1
        row[rank[d] + 1] += n
        return
    g = rank[d]
    at = row[g]
    for i in range(first, end):
        if dense[i] != d:
            row[g] = at
            d = dense[i]
            g = rank[d]
            at = row[g]
        packed[np.uint64(at)] = (idx[i] << 1) | np.int64(was[i])  # (unsigned: no wrap check)
        at += 1
    row[g] = at


@_jit
def group_starts(fill: Any) -> Any:  # pragma: no cover - compiled
    """Each group's first place (and the band's size, last) from the counts per part
    (``fill[part, g + 1]``), which become each part's first place in each group
    (``fill[part, g]``): a group's pixels of part 0, then of part 1, ..."""
    parts, width = fill.shape
    starts = np.zeros(width, np.int64)
    for g in range(width - 1):
        at = starts[g]
        for part in range(parts):
            k = fill[part, g + 1]
            fill[part, g] = at
            at += k
        starts[g + 1] = at
    return starts


@_jit
def _cell(  # noqa: PLR0917 - numba takes no keyword-only arguments
    planes: Any,
    h: int,
    w: int,
    low: Any,
    scale: Any,
    cell: Any,
    label: Any,
    oflat: Any,
    radius: int,
    min_contrast: float,
    keep_fraction: float,
    value: Any,
    grad: Any,
    slot: Any,
    hit: Any,
    marks: Any,
    table: Any,
) -> int:  # pragma: no cover - compiled
    """`segpaint.ops.refine._refine_window`'s rule for one cell, from its band pixels
    (``cell``: ``2 * idx + was``, in the band's order) to its new labels in ``oflat``.

    Every sum is this cell's alone, in float64 added in the band's order (what
    `numpy.bincount` does with weights), so the same bits as the numpy code; and what the
    cell writes (its own band pixels) is read by no other cell's rule (a neighbour counts for
    a cell only when it has that cell's label, which only the cell itself writes), so cells
    may run in any order, on any thread.  ``planes``: the channels with a copy of their
    edge around them (`padded_image`), flat (C, ``(h + 2) * (w + 2)``, the labels' places);
    ``low``, ``scale``: their normalisation; ``value``, ``grad``, ``slot``, ``hit``: work
    arrays at least as long as ``cell``; ``table``, the first channel's normalised value of
    each integer the image can hold (`norm_table`; empty: `_norm` a pixel).

    With ``marks`` (bit words of the padded frame; empty: not wanted), the pixels the cell
    changes are also listed: their bits set in ``marks``, and ``2 * p + joined`` at the
    start of ``cell`` (read no more once the rule is done: a cell's own part of the band),
    where ``joined`` is 1 for background that joins the cell, 0 for a pixel that leaves it;
    returns how many (0 when it is left as it was)."""
    m = cell.size
    wide = w + 2
    nch = planes.shape[0]
    nf = np.float32(nch)
    # the first channel as one row, read at unsigned places: numba wraps a negative signed
    # index (a compare and a select a load; these places are never negative)
    plane0 = planes[0]
    tabled = table.size > 0
    uw = np.uint64(wide)
    # the image at each pixel (`_pixel`) and the first level's sums
    weight = 0.0
    total = 0.0
    for k in range(m):
        # the pixel and its four neighbours, each channel normalised and clipped, averaged
        # (`segpaint.ops.refine._value_and_gradient`; written out here: a call a pixel
        # costs twice the loop); the image has a copy of its edge around it (`planes`), so
        # a band pixel's neighbours are one row or one place away, as in the labels
        at = np.uint64(cell[k] >> 1)
        up = at - uw
        dn = at + uw
        lf = at - _ONE
        rt = at + _ONE
        if tabled:  # (the same float32 values, looked up: 5 loads, not 5 `_norm`)
            v0 = table[np.uint64(plane0[at])]
            v1 = table[np.uint64(plane0[up])]
            v2 = table[np.uint64(plane0[dn])]
            v3 = table[np.uint64(plane0[lf])]
            v4 = table[np.uint64(plane0[rt])]
        else:
            lo, sc = low[0], scale[0]
            v0 = _norm(plane0[at], lo, sc)
            v1 = _norm(plane0[up], lo, sc)
            v2 = _norm(plane0[dn], lo, sc)
            v3 = _norm(plane0[lf], lo, sc)
            v4 = _norm(plane0[rt], lo, sc)
        if nch > 1:
            for ch in range(1, nch):  # (the first channel only is looked up)
                lo, sc = low[ch], scale[ch]
                v0 += _norm(planes[ch, at], lo, sc)
                v1 += _norm(planes[ch, up], lo, sc)
                v2 += _norm(planes[ch, dn], lo, sc)
                v3 += _norm(planes[ch, lf], lo, sc)
                v4 += _norm(planes[ch, rt], lo, sc)
            v0 /= nf
            v1 /= nf
            v2 /= nf
            v3 /= nf
            v4 /= nf
        gy = v2 - v1
        gx = v4 - v3
        g = gx * gx + gy * gy
        value[k] = v0
        grad[k] = g
        weight += np.float64(g)
        total += np.float64(g * v0)
    # the edge level: gradient-weighted mean intensity, then again over the rim (the pixels
    # up to the mean of the bright side: texture inside a cell has gradients too)
    level = _over(total, weight)
    n_in = 0
    bright = 0.0
    for k in range(m):
        v = np.float64(value[k])
        if v >= level:
            n_in += 1
            bright += v
    top = bright / max(n_in, 1)
    weight = 0.0
    total = 0.0
    for k in range(m):
        if np.float64(value[k]) <= top:
            g = grad[k]
            weight += np.float64(g)
            total += np.float64(g * value[k])
    level = _over(total, weight)
    # the two sides of the level: contrast, the cell pixels that leave (slot's front) and the
    # background that may join (slot's back)
    n_up = n_down = n_had = n_kept = n_leave = n_join = 0
    t_up = 0.0
    t_down = 0.0
    for k in range(m):
        v = np.float64(value[k])
        above = v >= level
        if above:
            n_up += 1
            t_up += v
        else:
            n_down += 1
            t_down += v
        if cell[k] & 1:
            n_had += 1
            if above:
                n_kept += 1
            else:
                slot[n_leave] = k
                n_leave += 1
        elif above:
            n_join += 1
            slot[m - n_join] = k
    hi = t_up / max(n_up, 1)
    lo = t_down / max(n_down, 1)
    if not (weight > 0 and n_up > 0 and n_down > 0 and hi - lo >= min_contrast):
        return 0  # no edge to snap to: the cell stays as it is (nothing written)
    for j in range(n_leave):
        oflat[cell[slot[j]] >> 1] = 0
    # background that joins must connect to the cell through pixels that join too (rounds:
    # each sees the frame as the round before left it); slot[first:grown] fills with the
    # pixels taken, slot[grown:m] keeps those still waiting
    first = m - n_join
    grown = first
    for _ in range(radius + 1):
        if grown == m:
            break
        any_hit = False
        for j in range(grown, m):
            p = cell[slot[j]] >> 1
            u = np.uint64(p)
            x = (
                oflat[u - np.uint64(wide)] == label
                or oflat[u + np.uint64(wide)] == label
                or oflat[u - _ONE] == label
                or oflat[u + _ONE] == label
            )
            hit[j] = x
            any_hit |= x
        if not any_hit:
            break
        for j in range(grown, m):
            if hit[j]:
                k = slot[j]
                oflat[cell[k] >> 1] = label
                n_kept += 1
                slot[j] = slot[grown]
                slot[grown] = k
                grown += 1
    if n_kept >= keep_fraction * n_had:
        if marks.size == 0:
            return 0
        # the changes listed (`changes` puts them in order): read from `cell` through
        # `slot` first, then written over `cell`'s start
        for j in range(n_leave):
            slot[j] = cell[slot[j]] & ~np.int64(1)  # 2 * p: leaves
        n_join = grown - first
        for j in range(first, grown):
            slot[j] = cell[slot[j]] | np.int64(1)  # 2 * p + 1: joins
        for j in range(n_leave):
            cell[j] = slot[j]
        for j in range(n_join):
            cell[n_leave + j] = slot[first + j]
        for j in range(n_leave + n_join):
            p = cell[j] >> 1
            marks[p >> 6] |= _ONE << np.uint64(p & 63)
        return int(n_leave + n_join)
    # it would lose most of its band: as it was
    for j in range(n_leave):
        oflat[cell[slot[j]] >> 1] = label
    for j in range(first, grown):
        oflat[cell[slot[j]] >> 1] = 0
    return 0


@_jit
def cells(  # noqa: PLR0917 - numba takes no keyword-only arguments
    stack: Any,
    low: Any,
    scale: Any,
    grouped: Any,
    oflat: Any,
    radius: int,
    min_contrast: float,
    keep_fraction: float,
    marks: Any,
    listed: Any,
    table: Any,
    first: int,
    end: int,
) -> None:  # pragma: no cover - compiled
    """The rule of `segpaint.ops.refine._refine_window` after the band for the cells of
    groups ``first`` to ``end`` (`_cell`, one after the other): ``stack``, the channels with
    a copy of their edge around them (C, rows + 2, cols + 2: the padded labels' places);
    ``low``, ``scale``, their normalisation (float32); ``grouped``, what `group`
    returns; ``oflat``, the padded labels, flat, changed in place; ``marks``, this thread's
    bits of the changed pixels (empty: not wanted), ``listed``, how many each group lists
    (see `_cell`); ``table``, `norm_table`'s (or empty).  Runs of cells may go on
    several threads at once: the labels do not depend on which thread runs which cell (see `_cell`)."""
    starts, labels, packed = grouped
    nch, h, w = stack.shape
    h, w = h - 2, w - 2  # (the image's own rows and columns)
    planes = stack.reshape(nch, stack.shape[1] * stack.shape[2])  # (one offset a pixel)
    m = 0
    for g in range(first, end):
        m = max(m, starts[g + 1] - starts[g])
    value = np.empty(m, np.float32)
    grad = np.empty(m, np.float32)
    slot = np.empty(m, np.intp)
    hit = np.empty(m, np.bool_)
    for g in range(first, end):
        n = _cell(planes, h, w, low, scale, packed[starts[g] : starts[g + 1]], labels[g], oflat,
                  radius, min_contrast, keep_fraction, value, grad, slot, hit, marks,
                  table)  # fmt: skip
        if marks.size:
            listed[g] = n


@_jit
def changes(  # noqa: PLR0917 - numba takes no keyword-only arguments
    grouped: Any, listed: Any, counts: Any, out: Any, w: int, first: int, end: int
) -> None:  # pragma: no cover - compiled
    """The pixels `cells` changed in groups ``first`` to ``end``, each written at its place
    in the list for a commit (``out``: ``(flat, values, old)``, their flat positions in the
    window of ``w`` columns, increasing, new and old values).  ``grouped``: what `group`
    returns, each group's changes listed at its start by `cells` (``listed``: how many);
    ``counts``: `band_counts` of the bits of all changes (every thread's): a pixel's place is
    its rank among them, so groups may be written in any order, on any thread.  A pixel that
    leaves its cell was the cell's label and is 0, one that joins was 0 and is the label."""
    starts, labels, packed = grouped
    bits, _, before, _ = counts
    flat, values, old = out
    wide = w + 2
    for g in range(first, end):
        label = labels[g]
        s0 = starts[g]
        for k in range(listed[g]):
            e = packed[s0 + k]
            p = e >> 1
            wi = np.uint64(p >> 6)  # (unsigned places: no wrap of negative indices)
            j = np.uint64(before[wi] + _popcount(bits[wi] & ((_ONE << np.uint64(p & 63)) - _ONE)))
            flat[j] = p - (p // wide * 2 + w + 1)  # row r + 1 of the padding: r * w + c
            if e & 1:
                values[j] = label
                old[j] = 0
            else:
                values[j] = 0
                old[j] = label


def threads() -> int:
    """How many threads `refine_cells` takes: the processors this process may run on, at
    most ``NUMBA_NUM_THREADS`` (numba's limit: set it to 1 for one thread)."""
    top = int(numba.config.NUMBA_NUM_THREADS) if numba is not None else 1
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # (macOS, Windows)
        cpus = os.cpu_count() or 1
    return max(1, min(top, cpus))


_RUN = 32  # cells a run of `cells` takes at least (a call costs microseconds)
_SHARE = 2  # a run of `_spread` takes 1 / (this * threads) of the items left, at least its `run`
_pool: tuple[int, ThreadPoolExecutor] | None = None  # (the process that made it, the pool)
_pool_lock = threading.Lock()


def _workers() -> ThreadPoolExecutor:
    """The threads `_spread` hands runs to (made on first use, and again in a forked child:
    a fork keeps the pool's bookkeeping but not its threads, which would never run a run)."""
    global _pool  # noqa: PLW0603 - one pool a process, made when first needed
    with _pool_lock:
        if _pool is None or _pool[0] != os.getpid():
            top = int(numba.config.NUMBA_NUM_THREADS) if numba is not None else 1
            pool = ThreadPoolExecutor(max(1, top - 1), thread_name_prefix="segpaint-refine")
            _pool = (os.getpid(), pool)
        return _pool[1]


def _cuts(n_items: int, n_threads: int, run: int) -> list[int]:
    """Where `_spread` cuts ``range(n_items)``: runs shorter and shorter (each 1 /
    (`_SHARE` * ``n_threads``) of the items left, at least ``run``, the last what is left),
    so the threads' last runs are short and they end close together."""
    cuts = [0]
    left = n_items
    while left > 0:
        size = max(run, left // (_SHARE * n_threads))
        size = left if left - size < run else size  # no run shorter than ``run`` at the end
        cuts.append(cuts[-1] + size)
        left -= size
    return cuts


def _spread(
    work: Callable[[int, int], None], n_items: int, n_threads: int, *, run: int = 0
) -> None:
    """``work(first, end)`` over ``range(n_items)`` in runs of at least ``run`` items
    (default `_RUN`) handed
    out one at a time to ``n_threads`` threads (this one and pool threads) as they free up
    (a thread the system pauses, on a busy machine, does not hold the others up at the
    end); returns when every run is done (not waiting for a pool thread that took none)."""
    run = run or _RUN
    if n_threads < 2 or n_items < 2 * run:
        work(0, n_items)
        return
    cuts = _cuts(n_items, n_threads, run)
    n_runs = len(cuts) - 1
    runs = iter(range(n_runs))
    done = threading.Condition()
    finished = [0]  # runs done
    failed: list[BaseException] = []

    def lane() -> None:
        while True:
            with done:
                r = next(runs, None)
            if r is None:
                return
            try:
                work(cuts[r], cuts[r + 1])
            except BaseException as error:  # raised again in the calling thread
                failed.append(error)
            finally:
                with done:
                    finished[0] += 1
                    done.notify_all()

    for _ in range(n_threads - 1):
        _workers().submit(lane)
    lane()
    # wait for the runs, not for the helpers: one the system has not started yet (a busy
    # machine) finds no run left when it starts, and returns
    with done:
        done.wait_for(lambda: finished[0] == n_runs)
    if failed:
        raise failed[0]


class _Slots:
    """Each thread's slot in per-thread buffers (0, 1, ...): the next free one, taken on the
    thread's first call; ``len``: the slots taken."""

    def __init__(self) -> None:
        self._taken: dict[int, int] = {}
        self._lock = threading.Lock()

    def __call__(self) -> int:
        me = threading.get_ident()
        with self._lock:
            return self._taken.setdefault(me, len(self._taken))

    def __len__(self) -> int:
        return len(self._taken)


_WORD_RUN = 2048  # words a run of `ring_block` takes at least


def ring_bits(padded: Any, radius: int, *, counts: bool = False) -> Any:
    """`segpaint.ops.refine._ring_bits` compiled, over `threads` threads: ``(bg, rings,
    taken)`` for the padded labels ``padded``, the same words (``rings``: one row a ring),
    and with ``counts``, what `band_counts` returns for them, fourth.  Each run of words is
    packed and ringed on its own (`ring_block`): one pass over the threads, not one a ring."""
    high = padded.shape[0]
    flat = padded.ravel()
    n_words = -(-flat.size // 64)
    bg = np.empty(n_words, np.uint64)
    rings = np.empty((radius + 1, n_words), np.uint64)
    taken = np.empty(n_words, np.uint64)
    cell_words = np.empty(n_words, np.uint64)
    bg_words = np.empty(n_words, np.uint64)
    before_cell = np.empty(n_words + 1, np.int64)
    before_bg = np.empty(n_words + 1, np.int64)
    out = (bg, rings, taken, cell_words, bg_words, before_cell, before_bg)
    halo = (radius + 1) * ((flat.size // high >> 6) + 2)  # as `ring_block` reaches
    n_threads = threads()
    run = max(_WORD_RUN, 2 * halo)
    cuts = [0, n_words] if n_threads < 2 or n_words < 2 * run else _cuts(n_words, n_threads, run)
    longest = max(b - a for a, b in itertools.pairwise(cuts))
    # a thread's work words (given, not made in each run: a run makes no arrays)
    scratch = np.empty((n_threads, 8, min(longest + 2 * halo, n_words)), np.uint64)
    slot = _Slots()  # a thread's set of work words

    def step(a: int, b: int) -> None:
        ring_block(flat, high, out, scratch[slot()], a, b)

    _spread(step, n_words, n_threads, run=run)
    if not counts:
        return bg, rings, taken
    before_cell[0] = before_bg[0] = 0
    np.cumsum(before_cell, out=before_cell)
    np.cumsum(before_bg, out=before_bg)
    return bg, rings, taken, (cell_words, bg_words, before_cell, before_bg)


def band(  # noqa: PLR0917 - the bits, passed on
    flat: Any, taken: Any, bg: Any, rings: Any, wide: int, counts: Any = None
) -> Any:
    """The band of `segpaint.ops.refine._rings_masks` from its bits (`_ring_bits`:
    ``taken``, the band; ``bg``, the background; ``rings``, one row of words a ring):
    ``(idx, owner, was)``, its cells' pixels then its background's, each in increasing
    order, each pixel's cell as that function gives it (`band_words`: its cells and ring 0,
    then ring after ring, each over `threads` threads).  ``flat``: the padded labels;
    ``counts``: what `band_counts` returns for ``taken`` and ``bg`` (`ring_bits` gives them
    with ``counts``), found here when not given."""
    if counts is None:
        counts = band_counts(taken, bg)
    total = int(counts[2][-1] + counts[3][-1])
    out = (np.empty(total, np.intp), np.empty(total, np.uint32), np.empty(total, np.bool_))
    n_words = taken.size
    n_threads = threads()

    def first(a: int, b: int) -> None:
        """Words ``a`` to ``b`` of the cells and of ring 0 (which takes its cells from the
        labels, not from a ring before)."""
        band_words(flat, bg, rings, wide, counts, out, -1, a, b)

    _spread(first, n_words, n_threads)
    for k in range(1, rings.shape[0]):  # each ring from the one before: one after the other

        def ring(a: int, b: int, k: int = k) -> None:
            band_words(flat, bg, rings, wide, counts, out, k, a, b)

        _spread(ring, n_words, n_threads)
    return out


_PARTS = 8  # `group` cuts the band in this many parts (its places do not depend on it)


def group(dense: Any, n: int, idx: Any, owner: Any, was: Any) -> Any:
    """The band (``idx``, ``owner``, ``was``, as `band` or `rings_fronts` list it) grouped
    by cell, each cell's pixels in the band's order (a stable counting sort on ``dense``:
    each pixel's bin, < ``n``): ``(starts, labels, packed)``: group ``g``'s pixels at
    ``packed[starts[g]:starts[g + 1]]`` (``2 * idx + was``), its label ``labels[g]``; the
    groups in the order the band first meets them (their top row, left first: cells next to
    each other on the frame come one after the other, their rows still in cache).  The
    band's `_PARTS` parts are counted, then written, over `threads` threads: each part's
    pixels go after those of the parts before, whichever thread writes them."""
    rank, labels = group_rank(dense, n, owner)
    fill = np.zeros((_PARTS, labels.size + 1), np.int64)
    packed = np.empty(idx.size, np.int64)
    n_threads = threads()
    for count in (True, False):
        if not count:
            starts = group_starts(fill)

        def parts(a: int, b: int, count: bool = count) -> None:
            for part in range(a, b):
                group_part(dense, rank, idx, was, fill, packed, part, count)

        _spread(parts, _PARTS, n_threads, run=1)
    return starts, labels, packed


def norm_table(stack: Any, low: Any, scale: Any, n_pixels: int) -> Any:
    """What `cells` looks each pixel's normalised value up in: for an image of 8 or 16-bit
    unsigned integers (``stack``, (C, rows, cols)) whose band has enough pixels
    (``n_pixels``: 5 reads each) for the table to pay, the first channel's `_norm` of every
    value the dtype holds (256 or 65,536 float32), the same float32 operations as `_norm`
    (so the same bits); else an empty array (`_cell` then normalises each pixel).  Further
    channels are normalised a pixel at a time (a table each would compile more code)."""
    if stack.dtype.char not in "BH" or 8 * n_pixels < (size := 1 << (8 * stack.itemsize)):
        return np.zeros(0, np.float32)
    table = np.arange(size, dtype=np.float32)
    np.multiply(np.subtract(table, low[0], out=table), scale[0], out=table)
    table[table < 0] = 0  # (NaN stays NaN, as in `_norm`)
    table[table > 1] = 1
    return table


def refine_cells(  # noqa: PLR0917 - the kernels' arguments, passed on
    stack: Any,
    low: Any,
    scale: Any,
    dense: Any,
    n: int,
    band_: tuple[Any, Any, Any],
    oflat: Any,
    radius: int,
    min_contrast: float,
    keep_fraction: float,
    *,
    mark: bool = False,
) -> Any:
    """`group`, then `cells` on `threads` threads (this one and pool threads; the kernels
    release the GIL): the new labels written into ``oflat``.  ``band_``: ``(idx, owner,
    was)``.  The cells go in runs (`_spread`); the labels are the same whichever thread takes
    which run.  With ``mark``, returns what `changes` takes to list the changed pixels: the
    groups, how many each lists, and their bits (a set a thread: a word is shared by the
    cells near it, which may run on different threads); else None."""
    idx, owner, was = band_
    grouped = group(dense, n, idx, owner, was)
    n_groups = grouped[1].size
    args = (stack, low, scale, grouped, oflat, radius, min_contrast, keep_fraction)
    table = norm_table(stack, low, scale, idx.size)
    n_threads = threads()
    if not mark:
        none = np.zeros(0, np.uint64)
        listed = np.zeros(0, np.int64)
        _spread(lambda a, b: cells(*args, none, listed, table, a, b), n_groups, n_threads)
        return None
    marks = np.zeros((n_threads, -(-oflat.size // 64)), np.uint64)
    listed = np.zeros(n_groups, np.int64)
    slot = _Slots()  # a thread's marks

    def run(a: int, b: int) -> None:
        cells(*args, marks[slot()], listed, table, a, b)

    _spread(run, n_groups, n_threads)
    return grouped, listed, marks[: max(len(slot), 1)]


def list_changes(marked: tuple[Any, Any, Any], w: int) -> tuple[Any, Any, Any]:
    """The pixels `refine_cells` changed (``marked``: what it returns with ``mark``), in
    order: ``(flat, values, old)`` (`changes`, the groups over `threads` threads).  ``w``:
    the window's columns."""
    grouped, listed, marks = marked
    bits = np.bitwise_or.reduce(marks, axis=0) if marks.shape[0] > 1 else marks[0]
    counts = band_counts(bits, np.zeros_like(bits))  # their ranks: set bits before each word
    n = int(counts[2][-1])
    out = (np.empty(n, np.intp), np.empty(n, np.uint32), np.empty(n, np.uint32))
    n_groups = listed.size

    def part(a: int, b: int) -> None:
        changes(grouped, listed, counts, out, w, a, b)

    _spread(part, n_groups, threads())
    return out
