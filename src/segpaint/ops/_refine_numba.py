"""Compiled kernels of `segpaint.ops.refine` (numba: the optional ``fast`` extra).

`segpaint.ops.refine` uses this module only when numba imports (and ``SEGPAINT_NUMBA`` is
not ``0``); without it the numpy code runs (this module still imports, its kernels then plain
Python: never called).  Each kernel is one loop over the pixels in the
order the numpy code uses, so the outputs are those of the numpy path bit for bit:

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

from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

try:
    import numba
except ImportError:  # importable without numba (doctest collection); refine does not use it then
    numba = None

AVAILABLE = numba is not None
"""Whether numba imported: the kernels below are compiled (else plain Python, never used)."""

__all__ = ["AVAILABLE", "band", "connect", "intensity", "levels", "rings_fronts"]

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
    at = p >> 6
    below = (_ONE << np.uint64(p & 63)) - _ONE
    return int(counts[at]) + _popcount(words[at] & below)


@_jit
def band(flat: Any, taken: Any, bg: Any, rings: Any, wide: int) -> Any:  # pragma: no cover
    """The band of `segpaint.ops.refine._rings_masks` from its bits (`_ring_bits`:
    ``taken``, the band; ``bg``, the background; ``rings``, one row of words a ring):
    ``(idx, owner, was)``, its cells' pixels then its background's, each in increasing
    order, each pixel's cell as that function gives it.  ``flat``: the padded labels."""
    size = flat.size
    n_words = taken.size
    # the band's cell and background pixels counted before each word
    cell_words = taken & ~bg
    bg_words = taken & bg
    before_cell = np.empty(n_words, np.int64)
    before_bg = np.empty(n_words, np.int64)
    n_cell = n_bg = 0
    for wi in range(n_words):
        before_cell[wi] = n_cell
        before_bg[wi] = n_bg
        n_cell += _popcount(cell_words[wi])
        n_bg += _popcount(bg_words[wi])
    idx = np.empty(n_cell + n_bg, np.intp)
    owner = np.empty(n_cell + n_bg, np.uint32)
    was = np.zeros(n_cell + n_bg, np.bool_)
    j = 0
    for wi in range(n_words):
        x = cell_words[wi]
        while x:
            low = x & (~x + _ONE)
            p = wi * 64 + _BIT_INDEX[(low * _M64) >> np.uint64(58)]
            x ^= low
            if p >= size:
                break
            idx[j] = p
            owner[j] = flat[p]
            was[j] = True
            j += 1
    # the background pixels ring by ring, each at its rank in increasing order, its cell
    # from one neighbour (ring 1: the cell above, left, below, then right of it; further
    # out: the background pixel of the ring before below, above, right, then left of it,
    # whose cell the pass before found)
    bg_owner = owner[n_cell:]
    bg_idx = idx[n_cell:]
    for k in range(rings.shape[0]):
        for wi in range(n_words):
            x = rings[k, wi] & bg_words[wi]
            while x:
                low = x & (~x + _ONE)
                p = wi * 64 + _BIT_INDEX[(low * _M64) >> np.uint64(58)]
                x ^= low
                if p >= size:
                    break
                j = before_bg[wi] + _popcount(bg_words[wi] & (low - _ONE))
                bg_idx[j] = p
                if k == 0:
                    if flat[p - wide] != 0:
                        bg_owner[j] = flat[p - wide]
                    elif flat[p - 1] != 0:
                        bg_owner[j] = flat[p - 1]
                    elif flat[p + wide] != 0:
                        bg_owner[j] = flat[p + wide]
                    else:
                        bg_owner[j] = flat[p + 1]
                    continue
                q = p + wide
                if _bit(rings[k - 1, q >> 6] & bg[q >> 6], q):
                    bg_owner[j] = bg_owner[_rank(before_bg, bg_words, q)]
                    continue
                q = p - wide
                if _bit(rings[k - 1, q >> 6] & bg[q >> 6], q):
                    bg_owner[j] = bg_owner[_rank(before_bg, bg_words, q)]
                    continue
                q = p + 1
                if _bit(rings[k - 1, q >> 6] & bg[q >> 6], q):
                    bg_owner[j] = bg_owner[j + 1]
                else:
                    bg_owner[j] = bg_owner[j - 1]
    return idx, owner, was


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
def _side_means(total: Any, count: Any) -> Any:  # pragma: no cover - compiled
    out = np.empty(total.size, np.float64)
    for c in range(total.size):
        out[c] = total[c] / max(count[c], 1)
    return out


@_jit
def _ratio(num: Any, den: Any) -> Any:  # pragma: no cover - compiled
    """``num / np.maximum(den, 1e-30)`` (NaN in ``den`` stays NaN, as numpy's maximum)."""
    out = np.empty(num.size, np.float64)
    for c in range(num.size):
        d = den[c]
        out[c] = num[c] / (d if (d >= 1e-30 or np.isnan(d)) else 1e-30)
    return out


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
def intensity(stack: Any, low: Any, scale: Any, idx: Any, dense: Any, n: int) -> Any:  # noqa: PLR0917
    """At each band pixel (``idx``, flat in the padded frame of ``stack``'s rows and
    columns): the channels normalised by ``low`` and ``scale`` (float32), clipped to 0..1
    and averaged, and the squared central-difference gradient of that (the window's edge
    repeated beyond it), as float32 like `segpaint.ops.refine._value_and_gradient`; and,
    summed per cell (``dense``: each pixel's bin, < ``n``) in the band's order, the squared
    gradients and their products with the intensity (`levels`' first sums)."""
    nch, h, w = stack.shape
    planes = stack.reshape(nch, h * w)  # (C-contiguous: one offset a pixel for all channels)
    wide = w + 2
    nb = idx.size
    nf = np.float32(nch)
    value = np.empty(nb, np.float32)
    grad = np.empty(nb, np.float32)
    weight = np.zeros(n, np.float64)
    total = np.zeros(n, np.float64)
    row_start = -wide - 1  # the padded row of the pixel before: a division only on a new row
    r = -1
    for i in range(nb):
        p = idx[i]
        if p < row_start or p >= row_start + wide:
            r = p // wide - 1
            row_start = (r + 1) * wide
        c = p - row_start - 1
        at = r * w + c
        up = at - w if r > 0 else at
        dn = at + w if r < h - 1 else at
        lf = at - 1 if c > 0 else at
        rt = at + 1 if c < w - 1 else at
        lo, sc = low[0], scale[0]
        v0 = _norm(planes[0, at], lo, sc)
        v1 = _norm(planes[0, up], lo, sc)
        v2 = _norm(planes[0, dn], lo, sc)
        v3 = _norm(planes[0, lf], lo, sc)
        v4 = _norm(planes[0, rt], lo, sc)
        if nch > 1:
            for ch in range(1, nch):
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
        value[i] = v0
        grad[i] = g
        d = dense[i]
        weight[d] += np.float64(g)
        total[d] += np.float64(g * v0)
    return value, grad, weight, total


@_jit
def levels(  # noqa: PLR0917 - numba takes no keyword-only arguments
    value: Any, grad: Any, dense: Any, was: Any, weight: Any, total: Any, min_contrast: float
) -> Any:  # pragma: no cover - compiled
    """`segpaint.ops.refine._levels`' ``ok`` (``weight``, ``total``: the first sums, from
    `intensity`; overwritten), every sum in float64, added in the band's order (what
    `numpy.bincount` does with weights), so the same bits; and, from its last pass over the
    band, what `connect` needs: the cell pixels below their level (``leave``), the
    background pixels at least as bright as their cell's level (``join``), and per cell the
    band pixels it had and keeps."""
    nb = value.size
    n = weight.size
    # the edge level: gradient-weighted mean intensity, then again over the rim (the pixels
    # up to the mean of the bright side)
    level = _ratio(total, weight)
    n_in = np.zeros(n, np.int64)
    bright = np.zeros(n, np.float64)
    for i in range(nb):
        d = dense[i]
        v = np.float64(value[i])
        if v >= level[d]:
            n_in[d] += 1
            bright[d] += v
    top = _side_means(bright, n_in)
    weight[:] = 0.0
    total[:] = 0.0
    for i in range(nb):
        d = dense[i]
        if np.float64(value[i]) <= top[d]:
            g = grad[i]
            weight[d] += np.float64(g)
            total[d] += np.float64(g * value[i])
    level = _ratio(total, weight)
    # contrast: the means of the two sides of the level
    n_up = np.zeros(n, np.int64)
    n_down = np.zeros(n, np.int64)
    t_up = np.zeros(n, np.float64)
    t_down = np.zeros(n, np.float64)
    n_had = np.zeros(n, np.int64)
    n_kept = np.zeros(n, np.int64)
    leave = np.empty(nb, np.intp)
    join = np.empty(nb, np.intp)
    n_leave = n_join = 0
    for i in range(nb):
        d = dense[i]
        v = np.float64(value[i])
        up = v >= level[d]
        if up:
            n_up[d] += 1
            t_up[d] += v
        else:
            n_down[d] += 1
            t_down[d] += v
        if was[i]:
            n_had[d] += 1
            if up:
                n_kept[d] += 1
            else:
                leave[n_leave] = i
                n_leave += 1
        elif up:
            join[n_join] = i
            n_join += 1
    hi = _side_means(t_up, n_up)
    lo = _side_means(t_down, n_down)
    ok = np.empty(n, np.bool_)
    for c in range(n):
        ok[c] = weight[c] > 0 and n_up[c] > 0 and n_down[c] > 0 and hi[c] - lo[c] >= min_contrast
    return ok, leave[:n_leave], join[:n_join], n_had, n_kept


@_jit
def connect(  # noqa: PLR0917 - numba takes no keyword-only arguments
    idx: Any,
    owner: Any,
    dense: Any,
    found: Any,
    oflat: Any,
    wide: int,
    radius: int,
    keep_fraction: float,
) -> None:  # pragma: no cover - compiled
    """The end of `segpaint.ops.refine._refine_window` (``found``: what `levels` returns):
    the new labels written into ``oflat`` (the padded frame, flat), the same pixels as the
    numpy steps.  Only the pixels that change are visited: a cell left as it was gets back
    the pixels it lost and loses those it took, which is all the numpy code's restoring
    changes."""
    ok, leave, join, n_had, n_kept = found
    # band pixels of a cell below its level leave it
    for i in leave:
        oflat[idx[i]] = 0
    # background that joins a cell must connect to it through pixels that join too (rounds:
    # each sees the frame as the round before left it)
    grow = np.empty(join.size, np.intp)
    ng = 0
    for i in join:
        if ok[dense[i]]:
            grow[ng] = i
            ng += 1
    grown = np.empty(ng, np.intp)
    n_grown = 0
    hit = np.empty(ng, np.bool_)
    for _ in range(radius + 1):
        if ng == 0:
            break
        any_hit = False
        for j in range(ng):
            i = grow[j]
            p = idx[i]
            o = owner[i]
            h = (
                oflat[p - wide] == o
                or oflat[p + wide] == o
                or oflat[p - 1] == o
                or (oflat[p + 1] == o)
            )
            hit[j] = h
            any_hit |= h
        if not any_hit:
            break
        m = 0
        for j in range(ng):
            i = grow[j]
            if hit[j]:
                oflat[idx[i]] = owner[i]
                n_kept[dense[i]] += 1
                grown[n_grown] = i
                n_grown += 1
            else:
                grow[m] = i
                m += 1
        ng = m
    # cells that would keep fewer than `keep_fraction` of their band pixels, or with no
    # edge, stay as they were
    for c in range(ok.size):
        ok[c] = ok[c] and n_kept[c] >= keep_fraction * n_had[c]
    for i in leave:
        if not ok[dense[i]]:
            oflat[idx[i]] = owner[i]
    for t in range(n_grown):
        i = grown[t]
        if not ok[dense[i]]:
            oflat[idx[i]] = 0
