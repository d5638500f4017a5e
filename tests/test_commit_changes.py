"""Whole-frame tools that list the pixels they change (`_morph_all.changes`,
`Session._commit_changes`): the same pixels, undo steps and journal bytes as the comparison of
the whole new frame they replace, on crowded label images with holes, at the frame's edges, in
a ROI, and for commits that fall back to a dense step."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

import segpaint
from segpaint import ops
from segpaint.ops import _morph_all
from steps import same_steps

MORPHS = [
    ("fill_holes", {}),
    ("grow", {"radius": 1}),
    ("grow", {"radius": 2}),
    ("grow", {"radius": 3}),
    ("shrink", {"radius": 1}),
    ("shrink", {"radius": 3}),
    ("smooth", {"radius": 1}),
    ("smooth", {"radius": 2}),
    ("remove_specks", {"min_size": 0}),
    ("remove_specks", {"min_size": 30}),
]


def crowded(shape=(160, 190), n=60, seed=0):
    """Touching cells up to the frame's edges, cut to a disk, with 1 % holes and specks."""
    rng = np.random.default_rng(seed)
    seeds = np.zeros(shape, np.uint32)
    pts = rng.integers(0, shape, size=(n, 2))
    seeds[pts[:, 0], pts[:, 1]] = np.arange(1, n + 1)
    dist, (ir, ic) = ndi.distance_transform_edt(seeds == 0, return_indices=True)
    lab = seeds[ir, ic]
    lab[dist > rng.integers(4, 14, n + 1)[lab]] = 0
    lab[rng.random(shape) < 0.01] = 0
    k = max(shape[0] * shape[1] // 400, 1)
    lab[rng.integers(0, shape[0], k), rng.integers(0, shape[1], k)] = rng.integers(1, n + 1, k)
    return lab.astype(np.uint32)


def ringed(seed=4):
    """Rings with cells of other labels in their holes (the mixed-rim holes of fill_holes)."""
    lab = crowded((200, 200), 50, seed)
    yy, xx = np.mgrid[:40, :40]
    d2 = (yy - 20) ** 2 + (xx - 20) ** 2
    for k, (r, c) in enumerate(((30, 30), (100, 60), (150, 150), (40, 140))):
        sub = lab[r - 20 : r + 20, c - 20 : c + 20]
        sub[(d2 <= 300) & (d2 > 100)] = 900 + k
        sub[d2 <= 100] = 0
        sub[d2 <= 4] = 950 + k
    return lab


FRAMES = [
    crowded(),
    crowded((97, 64), 30, 1),  # a power-of-two width
    crowded((1, 50), 5, 2),  # one row
    crowded((40, 1), 4, 3),  # one column
    ringed(),
    np.zeros((30, 40), np.uint32),
    np.full((30, 40), 7, np.uint32),
]


@pytest.mark.parametrize(("op", "kw"), MORPHS)
@pytest.mark.parametrize("k", range(len(FRAMES)))
def test_changes_are_the_pixels_the_whole_frame_operation_changes(k, op, kw):
    lab = FRAMES[k]
    idx, values = _morph_all.changes(lab, op, **kw)
    new = ops.morph_labels(lab, op, **kw)
    changed = np.flatnonzero(new != lab)
    np.testing.assert_array_equal(idx, changed)
    np.testing.assert_array_equal(values, new.ravel()[changed])
    assert values.dtype == np.uint32 and idx.dtype == np.intp


@pytest.mark.parametrize(("op", "kw"), MORPHS)
def test_changes_equal_the_per_cell_loop_on_a_crowded_frame(op, kw):
    # the straightforward definitions, one cell at a time (fill_holes: no ring holds a cell)
    lab = crowded((120, 130), 40, 6)
    idx, values = _morph_all.changes(lab, op, **kw)
    out = lab.copy()
    out.ravel()[idx] = values
    ref = lab.copy()
    cells = [int(v) for v in np.unique(lab) if v]
    if op == "fill_holes":
        for v in cells:
            ref[ndi.binary_fill_holes(lab == v) & (lab == 0)] = v
    elif op == "grow":
        dist, (ir, ic) = ndi.distance_transform_edt(lab == 0, return_indices=True)
        grow = (lab == 0) & (dist <= kw["radius"])
        ref[grow] = lab[ir, ic][grow]
    elif op == "shrink":
        yy, xx = np.mgrid[-kw["radius"] : kw["radius"] + 1, -kw["radius"] : kw["radius"] + 1]
        fp = yy**2 + xx**2 <= kw["radius"] ** 2
        same = (ndi.grey_erosion(lab, footprint=fp, mode="nearest") == lab) & (
            ndi.grey_dilation(lab, footprint=fp, mode="nearest") == lab
        )
        ref[~same] = 0
    elif op == "remove_specks":
        for v in cells:
            pieces, n = ndi.label(lab == v)
            sizes = np.bincount(pieces.ravel())
            sizes[0] = 0
            if sizes.sum() < kw["min_size"]:
                ref[lab == v] = 0
            elif n > 1:
                ref[(lab == v) & (pieces != int(np.argmax(sizes)))] = 0
    else:  # smooth: the whole-frame kernel is the reference of the per-cell one
        ref = _morph_all.smooth_all(lab, kw["radius"])
    np.testing.assert_array_equal(out, ref)


def _session(path, lab, shape=None):
    shape = lab.shape if shape is None else shape
    s = segpaint.open(np.zeros((2, *shape), np.uint8), axes="TYX", populations=["c"], journal=path)
    s.set_labels("c", 0, lab)
    return s


BOXES = [None, (10, 150, 0, 190), (7, 120, 31, 160), (0, 160, 64, 128)]


@pytest.mark.parametrize("box", BOXES)
@pytest.mark.parametrize("fraction", [0.004, 0.05, 0.5])
def test_commit_of_listed_changes_makes_the_step_and_record_of_the_frame_commit(
    tmp_path, box, fraction
):
    # ~0.4 % and 5 % of the box: sparse steps; half of it: the dense step of the tight box
    lab = crowded()
    box = (0, 160, 0, 190) if box is None else box
    sub = lab[box[0] : box[1], box[2] : box[3]]
    rng = np.random.default_rng(int(fraction * 1000) + box[2])
    new = sub.copy()
    hit = rng.random(sub.shape) < fraction
    new[hit] = rng.integers(0, 80, int(hit.sum()))
    flat = np.flatnonzero(hit)  # listed: some already hold their value (dropped)
    a, b = _session(tmp_path / "a", lab), _session(tmp_path / "b", lab)
    size = (tmp_path / "a").stat().st_size
    assert (tmp_path / "b").stat().st_size == size
    ca = a._commit("c", 0, box, new, None)
    cb = b._commit_changes("c", 0, box, flat, new.ravel()[flat])
    assert ca == cb
    same_steps(a, b)
    assert (tmp_path / "a").read_bytes() == (tmp_path / "b").read_bytes()
    np.testing.assert_array_equal(a.labels("c", 0), b.labels("c", 0))
    assert a.new_label("c") == b.new_label("c")
    b.undo()
    np.testing.assert_array_equal(b.labels("c", 0), lab)
    b.redo()
    np.testing.assert_array_equal(b.labels("c", 0), a.labels("c", 0))
    a.close()
    b.close()


def test_commit_of_listed_pixels_that_already_hold_their_values_is_no_step(tmp_path):
    lab = crowded()
    s = _session(tmp_path / "j", lab)
    size, step = (tmp_path / "j").stat().st_size, s.history.peek()
    flat = np.array([5, 17, 2000], np.intp)
    assert s._commit_changes("c", 0, (0, 160, 0, 190), flat, lab.ravel()[flat]) is None
    assert s._commit_changes("c", 0, (0, 160, 0, 190), flat[:0], flat[:0]) is None
    assert s.history.peek() is step and (tmp_path / "j").stat().st_size == size
    s.close()


@pytest.mark.parametrize(("op", "kw"), MORPHS)
@pytest.mark.parametrize("roi", [None, (13, 140, 21, 181), (0, 160, 0, 90)])
def test_session_morph_of_every_cell_matches_the_frame_commit(tmp_path, op, kw, roi):
    # the Session lists the kernel's changes; the reference commits the whole new window
    lab = crowded()
    a, b = _session(tmp_path / "a", lab), _session(tmp_path / "b", lab)
    box = (0, 160, 0, 190) if roi is None else roi
    region = lab[box[0] : box[1], box[2] : box[3]]
    new = ops.morph_labels(region, op, **kw)
    ca = a._assist_commit("c", 0, box, new, None, clip=box)
    cb = b.morph("c", 0, None, op, roi=roi, **kw)
    assert ca == cb
    np.testing.assert_array_equal(a.labels("c", 0), b.labels("c", 0))
    after = b.labels("c", 0)
    outside = np.ones(lab.shape, bool)
    outside[box[0] : box[1], box[2] : box[3]] = False
    np.testing.assert_array_equal(after[outside], lab[outside])  # the ROI lock
    assert (tmp_path / "a").read_bytes() == (tmp_path / "b").read_bytes()
    if cb is not None:
        same_steps(a, b)
        b.undo()
        np.testing.assert_array_equal(b.labels("c", 0), lab)
    a.close()
    b.close()


def test_session_morph_of_every_cell_rejects_bad_arguments_as_the_kernel_does(tmp_path):
    s = _session(tmp_path / "j", crowded())
    step = s.history.peek()
    for kw, message in (
        ({"radius": 0}, "radius: expected an integer from 1 to 64 pixels, got 0"),
        ({"radius": 2.5}, "radius: expected an integer from 1 to 64 pixels, got 2.5"),
        ({"radius": True}, "radius: expected an integer from 1 to 64 pixels, got True"),
        ({"min_size": -1}, "min_size: expected an integer >= 0, got -1"),
    ):
        with pytest.raises(ValueError, match=message.replace(".", r"\.")):
            s.morph("c", 0, None, "grow", **kw)
        with pytest.raises(ValueError, match=message.replace(".", r"\.")):
            ops.morph_labels(crowded(), "grow", **kw)
    assert s.history.peek() is step
    s.close()


@pytest.mark.parametrize("mode", ["replace", "fill-empty"])
@pytest.mark.parametrize("roi", [None, (13, 140, 21, 181)])
@pytest.mark.parametrize("partial", [False, True])
def test_copy_labels_step_and_record_are_those_of_its_new_labels(tmp_path, mode, roi, partial):
    # copy_labels commits the runs that change; the reference commits the box it ends with
    lab = crowded()
    target = np.where(lab % 3 == 0, lab, 0).astype(np.uint32) if partial else lab
    source = np.roll(lab, (3, -4), axis=(0, 1))
    source[source == 5] = 0  # a target cell with no source: kept by fill-empty, gone by replace
    a, b = _session(tmp_path / "a", target), _session(tmp_path / "b", target)
    for s in (a, b):
        s.set_labels("c", 1, source)
    box = (0, 160, 0, 190) if roi is None else roi
    change = b.copy_labels("c", 1, 0, mode=mode, roi=roi)
    after = b.labels("c", 0).copy()
    sub = (slice(box[0], box[1]), slice(box[2], box[3]))
    outside = np.ones(lab.shape, bool)
    outside[sub] = False
    np.testing.assert_array_equal(after[outside], target[outside])
    if mode == "fill-empty":  # only background changed, and nothing was erased
        moved = after != target
        assert (target[moved] == 0).all() and (after[moved] != 0).all()
    else:
        assert 5 not in after[sub]
    reference = a._commit("c", 0, box, after[sub].copy(), None)
    assert change == reference
    same_steps(a, b)
    assert (tmp_path / "a").read_bytes() == (tmp_path / "b").read_bytes()
    b.undo()
    np.testing.assert_array_equal(b.labels("c", 0), target)
    a.close()
    b.close()


@pytest.mark.parametrize("shape", [(50, 37), (1, 40), (40, 1), (64, 64), (2, 2)])
@pytest.mark.parametrize("density", [0.0, 0.3, 0.6, 0.9, 1.0])
def test_runs_of_a_mask_are_those_of_the_mask_as_labels(shape, density):
    # fill_holes' background pieces: the mask path against the labels path and ndi.label
    rng = np.random.default_rng(int(density * 10) + shape[0])
    mask = rng.random(shape) < density
    starts, lengths, piece, n = _morph_all._mask_runs(mask)
    ref = _morph_all._label_runs(mask.view(np.uint8))
    np.testing.assert_array_equal(starts, ref[0])
    np.testing.assert_array_equal(lengths, ref[1])
    np.testing.assert_array_equal(piece, ref[3])
    assert n == ref[4] == ndi.label(mask)[1]
