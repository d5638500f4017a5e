"""`refine_outlines` through its numba kernels (the ``fast`` extra) gives the labels of the numpy
code bit for bit: crowded frames (the bit-mask band) and sparse ones (fronts of pixels), ROIs,
radii 1..16, one cell, labels above 65,535 and near 2**32, several channels, float images,
empty frames.  ``SEGPAINT_NUMBA=0`` forces the numpy code in the same process."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

from masks import off_by, voronoi_cells
from segpaint.ops import refine

pytest.importorskip("numba")

pytestmark = pytest.mark.ml  # numba comes with the cellpose/stardist extras: the ML run


def crowded(shape, n, seed):
    """Touching cells (Voronoi pieces cut to disks), holes, cells at the edges; ``n < 10``:
    that many big disks (a thin band)."""
    if n < 10:
        rng = np.random.default_rng(seed)
        yy, xx = np.mgrid[: shape[0], : shape[1]]
        lab = np.zeros(shape, np.uint32)
        for k in range(n):
            r0, c0 = rng.integers(0, shape)
            lab[(yy - r0) ** 2 + (xx - c0) ** 2 <= rng.integers(20, 60) ** 2] = k + 1
        return lab
    return voronoi_cells(shape, n, seed, radii=(4, 13))


def picture(truth, seed, *, dtype=np.uint16):
    """Cells of their own brightness on a dark, noisy background, edges blurred."""
    rng = np.random.default_rng(seed)
    bright = rng.uniform(400, 1500, int(truth.max()) + 1)
    bright[0] = 0
    img = ndi.gaussian_filter(bright[truth], 1.2) + 100 + rng.normal(0, 25, truth.shape)
    return np.clip(img, 0, 4000).astype(dtype)


def both(monkeypatch, image, labels, **kw):
    """``refine_outlines`` with numba and without: (numba's result, numpy's result)."""
    monkeypatch.setenv("SEGPAINT_NUMBA", "1")
    assert refine._numba_kernels() is not None
    fast = refine.refine_outlines(image, labels, **kw)
    monkeypatch.setenv("SEGPAINT_NUMBA", "0")
    assert refine._numba_kernels() is None
    slow = refine.refine_outlines(image, labels, **kw)
    return fast, slow


def assert_same(fast, slow):
    assert (fast is None) == (slow is None)
    if fast is None:
        return
    assert fast[0] == slow[0]
    assert fast[1].dtype == slow[1].dtype == np.uint32
    np.testing.assert_array_equal(fast[1], slow[1])


CASES = [  # (shape, cells, seed, px off): crowded (masks) and sparse (fronts) bands
    ((300, 340), 260, 0, 2),
    ((257, 199), 150, 1, 1),
    ((400, 400), 90, 2, 3),  # fewer, bigger cells
    ((300, 512), 6, 3, 2),  # a few big disks: the band by fronts of pixels
]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("radius", [1, 2, 3, 5, 8, 16])
def test_every_cell_same_labels_as_numpy(monkeypatch, case, radius):
    shape, n, seed, px = case
    truth = crowded(shape, n, seed)
    start = off_by(truth, px)
    # crowded: the bit-mask band (numba lists it); a few disks and a thin band: fronts
    if n > 10 or radius <= 2:
        assert refine._dense_band(start, radius) == (n > 10)
    image = picture(truth, seed)
    fast, slow = both(monkeypatch, image, start, limits=[(100, 1600)], radius=radius)
    assert_same(fast, slow)
    # the refinement did something a user sees: outlines moved toward the truth
    assert int((fast[1] != start).sum()) > 0
    assert (fast[1] == truth).mean() > (start == truth).mean()


@pytest.mark.parametrize("clip", [(40, 200, 30, 250), (0, 90, 250, 340), (299, 300, 0, 340)])
def test_roi_and_one_cell_same_as_numpy(monkeypatch, clip):
    truth = crowded((300, 340), 260, 4)
    start = off_by(truth, 2)
    image = picture(truth, 4)
    assert_same(*both(monkeypatch, image, start, limits=[(100, 1600)], clip=clip))
    one = int(np.unique(start[start > 0])[100])
    fast, slow = both(monkeypatch, image, start, limits=[(100, 1600)], label=one, clip=clip)
    assert_same(fast, slow)
    fast, slow = both(monkeypatch, image, start, limits=[(100, 1600)], label=one, radius=7)
    assert_same(fast, slow)
    changed = fast[1] != start[fast[0][0] : fast[0][1], fast[0][2] : fast[0][3]]
    assert set(np.unique(fast[1][changed])) <= {0, one}


@pytest.mark.parametrize("offset", [70_000, 2**32 - 5_000])
def test_big_labels_two_float_channels_same_as_numpy(monkeypatch, offset):
    truth = crowded((220, 260), 160, 5)
    start = off_by(truth, 2)
    start = np.where(start > 0, start.astype(np.uint64) + offset, 0).astype(np.uint32)
    first = picture(truth, 5, dtype=np.float32)
    two = np.stack([first, first[::-1].copy() * 0.7])
    for radius in (1, 3, 6):
        fast, slow = both(
            monkeypatch, two, start, limits=[(100, 1500), (50.5, 1200.25)], radius=radius
        )
        assert_same(fast, slow)
        assert int(fast[1].max()) > offset


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.float64])
def test_other_image_types_same_as_numpy(monkeypatch, dtype):
    truth = crowded((150, 170), 90, 6)
    image = picture(truth, 6, dtype=np.float64)
    image = (image / 16).astype(dtype) if dtype == np.uint8 else image.astype(dtype)
    limits = [(5.0, 100.0)] if dtype == np.uint8 else [(100.0, 1600.0)]
    assert_same(*both(monkeypatch, image, off_by(truth, 2), limits=limits))
    # the default limits (percentiles of the image) too
    assert_same(*both(monkeypatch, image, off_by(truth, 1)))


@pytest.mark.parametrize("dtype", [np.uint16, np.float32])
def test_cells_cut_by_every_edge_of_a_noisy_image_same_as_numpy(monkeypatch, dtype):
    """Band pixels on the image's edge: their neighbour beyond it is the pixel itself
    (numba reads a copy of the image with its edge around it, numpy clamps): one and two
    channels of noise, whose edge rows and columns differ from the rows next to them."""
    truth = crowded((160, 190), 120, 8)
    start = off_by(truth, 2)
    assert start[0].any() and start[-1].any() and start[:, 0].any() and start[:, -1].any()
    rng = np.random.default_rng(8)
    one = picture(truth, 8, dtype=np.float64) + rng.normal(0, 150, truth.shape)
    one = np.clip(one, 0, 4000).astype(dtype)
    two = np.stack([one, one[::-1, ::-1].copy()])
    for image, limits in ((one, [(100, 1500)]), (two, [(100, 1500), (0, 2500)])):
        for radius in (1, 3):
            fast, slow = both(monkeypatch, image, start, limits=limits, radius=radius)
            assert_same(fast, slow)
            edge = np.zeros(truth.shape, bool)
            edge[[0, -1]], edge[:, [0, -1]] = True, True
            assert (fast[1] != start)[edge].any()  # outlines on the edge moved


def test_one_cell_empty_and_full_frames(monkeypatch):
    yy, xx = np.mgrid[:41, :41]
    disk = ((yy - 20) ** 2 + (xx - 20) ** 2 <= 100).astype(np.uint32) * 9
    image = ((yy - 20) ** 2 + (xx - 20) ** 2 <= 169) * 1000.0
    fast, slow = both(monkeypatch, image, disk, limits=[(0, 1000)], radius=4)
    assert_same(fast, slow)
    assert int((fast[1] == 9).sum()) == int((image > 0).sum())
    empty = np.zeros((64, 80), np.uint32)
    assert both(monkeypatch, image[:1, :1] + np.zeros((64, 80)), empty) == (None, None)
    full = np.full((64, 80), 3, np.uint32)  # one cell, no background: no outline
    assert both(monkeypatch, np.zeros((64, 80)), full, limits=[(0, 1)]) == (None, None)
    # a one-pixel cell, and a cell on every edge of the window
    speck = np.zeros((9, 9), np.uint32)
    speck[4, 4] = 1
    speck[0, :] = 2
    speck[:, -1] = 3
    bright = np.zeros((9, 9))
    bright[3:6, 3:6] = 1.0
    bright[0, :] = bright[:, -1] = 1.0
    for radius in (1, 2, 16):
        assert_same(*both(monkeypatch, bright, speck, limits=[(0, 1)], radius=radius))


def test_switch_reads_the_environment_at_each_call(monkeypatch):
    for off in ("0", "off", "false", "No"):
        monkeypatch.setenv("SEGPAINT_NUMBA", off)
        assert refine._numba_kernels() is None
    monkeypatch.delenv("SEGPAINT_NUMBA", raising=False)
    kernels = refine._numba_kernels()
    assert kernels is not None
    assert kernels.__name__ == "segpaint.ops._refine_numba"


def test_cells_left_as_they_were_same_as_numpy(monkeypatch):
    """A cell on a flat image (no edge) and one whose bright spot is far smaller than it
    (it would lose most of its band) stay as they were; a cell beside them moves."""
    yy, xx = np.mgrid[:120, :200]
    lab = np.zeros((120, 200), np.uint32)
    image = np.zeros((120, 200))
    lab[(yy - 60) ** 2 + (xx - 35) ** 2 <= 15**2] = 1  # flat image under it: no edge
    lab[(yy - 60) ** 2 + (xx - 100) ** 2 <= 20**2] = 2  # a spot of radius 3 in it
    image[(yy - 60) ** 2 + (xx - 100) ** 2 <= 3**2] = 1.0
    lab[(yy - 60) ** 2 + (xx - 165) ** 2 <= 12**2] = 3  # drawn 3 px too small
    image[(yy - 60) ** 2 + (xx - 165) ** 2 <= 15**2] = 1.0
    image = ndi.gaussian_filter(image, 1.0)
    for radius in (2, 4, 8):
        fast, slow = both(monkeypatch, image, lab, limits=[(0, 1)], radius=radius)
        assert_same(fast, slow)
        np.testing.assert_array_equal(fast[1] == 1, lab == 1)
        np.testing.assert_array_equal(fast[1] == 2, lab == 2)
        assert int((fast[1] == 3).sum()) > int((lab == 3).sum())


def test_labels_at_the_top_of_uint32_same_as_numpy(monkeypatch):
    """Labels 2**32 - 1 and 2**32 - 2 (the fronts' fence is then a free value below them)."""
    yy, xx = np.mgrid[:200, :260]
    lab = np.zeros((200, 260), np.uint32)
    lab[(yy - 100) ** 2 + (xx - 70) ** 2 <= 30**2] = 0xFFFFFFFF
    lab[(yy - 100) ** 2 + (xx - 190) ** 2 <= 30**2] = 0xFFFFFFFE
    near = ((yy - 100) ** 2 + (xx - 70) ** 2 <= 33**2) | (
        (yy - 100) ** 2 + (xx - 190) ** 2 <= 33**2
    )
    image = ndi.gaussian_filter(near * 1.0, 1.0)
    assert not refine._dense_band(lab, 2)  # fronts of pixels
    for radius in (2, 5):
        fast, slow = both(monkeypatch, image, lab, limits=[(0, 1)], radius=radius)
        assert_same(fast, slow)
        assert int((fast[1] == 0xFFFFFFFF).sum()) > int((lab == 0xFFFFFFFF).sum())


def test_warm_up_compiles_every_kernel(monkeypatch):
    monkeypatch.delenv("SEGPAINT_NUMBA", raising=False)
    assert refine.warm_up(np.int16) is True
    kernels = refine._numba_kernels()
    for name in kernels.KERNELS:
        assert getattr(kernels, name).signatures, name
    assert any("int16" in str(sig) for sig in kernels.cells.signatures)
    monkeypatch.setenv("SEGPAINT_NUMBA", "0")
    assert refine.warm_up() is False


def test_kernels_ready_says_whether_the_next_refine_compiles(monkeypatch):
    monkeypatch.delenv("SEGPAINT_NUMBA", raising=False)
    kernels = refine._numba_kernels()
    names = kernels.KERNELS
    assert "cells" in names and "band_words" in names and "group" not in names  # (Python)
    # a process that has not compiled them yet: a fresh dispatcher per kernel, no signatures
    for name in names:
        monkeypatch.setattr(kernels, name, type("D", (), {"signatures": []})())
    assert refine.kernels_ready() is False
    monkeypatch.setenv("SEGPAINT_NUMBA", "0")
    assert refine.kernels_ready() is True  # the numpy code compiles nothing
    monkeypatch.undo()
    refine.warm_up()
    assert refine.kernels_ready() is True


@pytest.mark.parametrize("n_threads", [1, 2, 3, 7])
def test_any_number_of_threads_gives_numpys_labels(monkeypatch, n_threads):
    """The cells run in runs over several threads (`_refine_numba.refine_cells`): whichever
    thread takes which run, and however many, the labels are numpy's."""
    kernels = refine._numba_kernels()
    monkeypatch.setattr(kernels, "threads", lambda: n_threads)
    monkeypatch.setattr(kernels, "_RUN", 4)  # many runs even on a small frame
    truth = crowded((360, 420), 400, 7)
    image = picture(truth, 7)
    for px, radius in ((2, 3), (1, 1), (3, 6)):
        fast, slow = both(monkeypatch, image, off_by(truth, px), limits=[(0, 2000)], radius=radius)
        assert_same(fast, slow)
        assert int((fast[1] != off_by(truth, px)).sum()) > 500  # outlines moved


@pytest.mark.parametrize("n_threads", [1, 2, 3])
@pytest.mark.parametrize(
    "shape", [(360, 420), (40, 62), (30, 128), (9, 200), (130, 7), (3, 3), (1, 5)]
)
def test_ring_bits_compiled_gives_numpys_words(monkeypatch, shape, n_threads):
    """`_refine_numba.ring_bits` (runs of words on several threads, each packed and ringed
    with the words around it) gives `refine._ring_bits`' words, and `band_counts`' split
    and counts: frames narrower than a word, rows a multiple of 64 px wide (padded: 64 and
    130), a row or a column of cells, every radius up to 16 (the larger frames in many
    runs: each run's first and last rings found from the words around it)."""
    kernels = refine._numba_kernels()
    monkeypatch.setattr(kernels, "threads", lambda: n_threads)
    monkeypatch.setattr(kernels, "_WORD_RUN", 3)  # many runs even on a small frame
    rng = np.random.default_rng(sum(shape))
    lab = crowded((max(shape), max(shape)), 40, 5)[: shape[0], : shape[1]].copy()
    lab[rng.random(shape) < 0.02] = 7  # specks: borders everywhere
    lab[0, 0], lab[-1, -1] = 0, 9  # at least one border, even on the smallest frames
    for radius in (1, 3, 16):
        padded, bg, rings, taken = refine._ring_bits(lab, radius)
        bg2, rings2, taken2 = kernels.ring_bits(padded, radius)
        np.testing.assert_array_equal(bg2, bg)
        np.testing.assert_array_equal(rings2, np.stack(rings))
        np.testing.assert_array_equal(taken2, taken)
        assert taken.any()  # a band was found
        # the band's split and counts, found with the rings (`band` takes them)
        *_, counts = kernels.ring_bits(padded, radius, counts=True)
        for got, want in zip(counts, kernels.band_counts(taken, bg), strict=True):
            np.testing.assert_array_equal(got, want)


def test_threads_follow_numbas_limit(monkeypatch):
    kernels = refine._numba_kernels()
    import numba

    monkeypatch.setattr(numba.config, "NUMBA_NUM_THREADS", 1)
    assert kernels.threads() == 1
    monkeypatch.setattr(numba.config, "NUMBA_NUM_THREADS", 512)
    assert 1 <= kernels.threads() <= 512


def test_group_lists_each_cells_band_in_the_bands_order():
    """`group`: a stable sort of the band by cell, the cells in the order the band first
    meets them, each with its label; ``2 * idx + was`` packed."""
    kernels = refine._numba_kernels()
    rng = np.random.default_rng(3)
    owner = rng.choice(np.array([5, 9, 70000, 12], np.uint32), 500)
    idx = rng.permutation(10_000)[:500].astype(np.intp)
    was = rng.random(500) < 0.5
    dense, n = refine._dense_ids32(owner)
    starts, labels, packed = kernels.group(dense, n, idx, owner, was)
    first_seen = list(dict.fromkeys(owner.tolist()))
    assert labels.tolist() == first_seen
    for g, label in enumerate(first_seen):
        mine = np.flatnonzero(owner == label)  # in the band's order
        np.testing.assert_array_equal(packed[starts[g] : starts[g + 1]], 2 * idx[mine] + was[mine])
    assert starts[0] == 0 and starts[-1] == 500


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="no fork here")
def test_a_forked_child_refines_on_threads_of_its_own(monkeypatch, tmp_path):
    """A child forked after a threaded refine gets a pool of its own (the parent's threads
    are not in it): its refine finishes, with numpy's labels."""
    import multiprocessing

    kernels = refine._numba_kernels()
    monkeypatch.setattr(kernels, "threads", lambda: 2)
    monkeypatch.setattr(kernels, "_RUN", 4)
    truth = crowded((300, 340), 260, 0)
    image, start = picture(truth, 0), off_by(truth, 2)
    want = refine.refine_outlines(image, start, limits=[(0, 2000)])
    assert kernels._pool is not None  # the parent's pool is made

    def child(out):
        got = refine.refine_outlines(image, start, limits=[(0, 2000)])
        np.save(out, got[1])

    proc = multiprocessing.get_context("fork").Process(target=child, args=(tmp_path / "c.npy",))
    proc.start()
    proc.join(60)
    assert proc.exitcode == 0
    np.testing.assert_array_equal(np.load(tmp_path / "c.npy"), want[1])


def changes_both(monkeypatch, image, labels, **kw):
    """``refine_changes`` with numba and without: (numba's list, numpy's list)."""
    monkeypatch.setenv("SEGPAINT_NUMBA", "1")
    fast = refine.refine_changes(image, labels, **kw)
    monkeypatch.setenv("SEGPAINT_NUMBA", "0")
    slow = refine.refine_changes(image, labels, **kw)
    return fast, slow


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("kw", [{}, {"radius": 1}, {"radius": 6}, {"clip": (30, 220, 41, 299)}])
def test_changes_listed_by_the_kernel_are_numpys(monkeypatch, case, kw):
    """The numba kernel lists the changed pixels itself (a bit a pixel, read in order): the
    same positions (increasing), new values and old values as numpy's comparison of the new
    window with the old, and they turn the old labels into `refine_outlines`' result."""
    shape, n, seed, px = case
    truth = crowded(shape, n, seed)
    start = off_by(truth, px)
    image = picture(truth, seed)
    fast, slow = changes_both(monkeypatch, image, start, limits=[(100, 1600)], **kw)
    assert fast is not None and slow is not None
    assert fast[0] == slow[0]
    for got, want in zip(fast[1:], slow[1:], strict=True):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
    box, flat, values, old = fast
    assert flat.size > 100 and (np.diff(flat) > 0).all()
    window = start[box[0] : box[1], box[2] : box[3]]
    np.testing.assert_array_equal(old, window.ravel()[flat])
    assert ((old == 0) != (values == 0)).all()  # between background and a cell, never two cells
    new = window.copy()
    new.ravel()[flat] = values
    monkeypatch.setenv("SEGPAINT_NUMBA", "1")
    np.testing.assert_array_equal(
        new, refine.refine_outlines(image, start, limits=[(100, 1600)], **kw)[1]
    )


@pytest.mark.parametrize("n_threads", [1, 3])
def test_changes_on_threads_and_for_one_cell(monkeypatch, n_threads):
    kernels = refine._numba_kernels()
    monkeypatch.setattr(kernels, "threads", lambda: n_threads)
    monkeypatch.setattr(kernels, "_RUN", 4)
    truth = crowded((360, 420), 400, 7)
    image = picture(truth, 7)
    start = off_by(truth, 2)
    one = int(np.unique(start)[150])
    for kw in ({}, {"label": one}):
        fast, slow = changes_both(monkeypatch, image, start, limits=[(0, 2000)], **kw)
        assert fast[0] == slow[0]
        for got, want in zip(fast[1:], slow[1:], strict=True):
            np.testing.assert_array_equal(got, want)
    assert set(fast[2].tolist()) | set(fast[3].tolist()) <= {0, one}  # only that cell moved
    assert fast[1].size > 0


def test_changes_empty_when_nothing_moves_and_none_without_outline(monkeypatch):
    truth = crowded((120, 130), 40, 3)
    image = picture(truth, 3)
    flat_image = np.full(truth.shape, 700, np.uint16)  # no edge anywhere: every cell stays
    for env in ("1", "0"):
        monkeypatch.setenv("SEGPAINT_NUMBA", env)
        box, flat, values, old = refine.refine_changes(flat_image, truth, limits=[(0, 2000)])
        assert box == (0, 120, 0, 130)
        assert flat.size == values.size == old.size == 0
        assert refine.refine_changes(image, np.zeros_like(truth), limits=[(0, 2000)]) is None


class _Stalled:
    """A pool whose threads never start (a machine so busy the system does not run them)."""

    def __init__(self):
        self.lanes = []

    def submit(self, fn):
        self.lanes.append(fn)


def test_spread_does_not_wait_for_a_pool_thread_that_never_starts(monkeypatch):
    kernels = refine._numba_kernels()
    stalled = _Stalled()
    monkeypatch.setattr(kernels, "_workers", lambda: stalled)
    seen = []
    kernels._spread(lambda a, b: seen.append((a, b)), 1000, 3, run=10)
    # every item done once, by this thread alone, without the helpers
    assert sorted(seen)[0][0] == 0 and sorted(seen)[-1][1] == 1000
    n_runs = len(kernels._cuts(1000, 3, 10)) - 1
    assert sum(b - a for a, b in seen) == 1000 and len(seen) == n_runs == 21
    assert len(stalled.lanes) == 2
    stalled.lanes[0]()  # a helper that starts late finds nothing left to do
    assert len(seen) == n_runs


@pytest.mark.parametrize(
    ("n_items", "n_threads", "run"),
    [(1000, 3, 10), (3000, 2, 32), (65_600, 2, 2048), (8, 2, 1), (20, 2, 10), (21, 4, 10)],
)
def test_spread_cuts_shorter_and_shorter_runs(n_items, n_threads, run):
    kernels = refine._numba_kernels()
    cuts = kernels._cuts(n_items, n_threads, run)
    sizes = np.diff(cuts)
    # every item once, in order; no run under ``run``; the first 1 / (2 * threads) of all,
    # then each at most the one before (the last may take the few left over)
    assert cuts[0] == 0 and cuts[-1] == n_items and (sizes >= run).all()
    assert sizes[0] == max(run, n_items // (2 * n_threads)) or sizes.size == 1
    assert (np.diff(sizes[:-1]) <= 0).all()
    assert sizes[-1] < 2 * max(run, sizes[0])


def test_spread_raises_an_error_of_any_thread(monkeypatch):
    kernels = refine._numba_kernels()

    def work(a, b):
        if a >= 500:
            raise ValueError(f"run {a}")

    with pytest.raises(ValueError, match="run"):
        kernels._spread(work, 1000, 3, run=10)


@pytest.mark.parametrize(
    ("dtype", "lo", "hi"),
    [(np.uint8, 5.0, 100.0), (np.uint16, 100.0, 1600.0), (np.uint16, -3.5, 9e4)],
)
def test_norm_table_holds_norm_of_every_value(dtype, lo, hi):
    kernels = refine._numba_kernels()
    stack = np.zeros((2, 4, 4), dtype)
    low = np.array([lo, 0.0], np.float32)
    scale = np.array([1 / (hi - lo), 1 / 255], np.float32)
    table = kernels.norm_table(stack, low, scale, 1 << 16)  # the first channel's
    size = np.iinfo(dtype).max + 1
    assert table.shape == (size,) and table.dtype == np.float32
    values = np.r_[0:size:37, size - 1]
    want = [kernels._norm(dtype(v), low[0], scale[0]) for v in values]
    np.testing.assert_array_equal(table[values], np.array(want, np.float32))
    assert table.min() >= 0 and table.max() <= 1  # clipped
    assert (table == 0).any() == (lo > 0) and (table == 1).any() == (hi < size)


def test_norm_table_only_for_small_integers_and_a_band_big_enough():
    kernels = refine._numba_kernels()
    low, scale = np.zeros(1, np.float32), np.ones(1, np.float32)
    for dtype in (np.float32, np.int16, np.uint32, np.bool_):  # _norm a pixel there
        assert kernels.norm_table(np.zeros((1, 3, 3), dtype), low, scale, 10**6).size == 0
    sixteen = np.zeros((1, 3, 3), np.uint16)
    assert kernels.norm_table(sixteen, low, scale, 8191).size == 0  # one cell's band
    assert kernels.norm_table(sixteen, low, scale, 8192).size == 65_536


def test_two_16_bit_channels_looked_up_same_as_numpy(monkeypatch):
    truth = crowded((300, 340), 260, 8)
    first = picture(truth, 8)
    two = np.stack([first, (first[::-1] // 3 + 7).astype(np.uint16)])
    start = off_by(truth, 2)
    kernels = refine._numba_kernels()
    n_band = int(np.count_nonzero(start)) // 4  # well under the band's size
    low = np.zeros(2, np.float32)
    assert kernels.norm_table(two, low, low + 1, n_band).size == 65_536  # looked up
    # limits that clip both ends of both channels, and the default limits
    for limits in ([(300.0, 1200.0), (150.5, 420.25)], None):
        fast, slow = both(monkeypatch, two, start, limits=limits)
        assert_same(fast, slow)
        assert np.count_nonzero(fast[1] != start) > 1000  # the outlines moved
