"""Whole-frame morphology (``label=None``) and overlap matching give the same pixels as the
per-label definitions they replaced.  The reference implementations below are the loops that
`segpaint.ops.morph_labels` ran before it was vectorised; they are kept here on purpose."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi
from skimage.morphology import disk

import segpaint
from segpaint import ops
from segpaint.ops import _morph_all


# ------------------------------------------------------------------ the old definitions
def reference_morph(lab: np.ndarray, op: str, radius: int = 1, min_size: int = 0) -> np.ndarray:
    """``morph_labels(lab, op, label=None)`` as it was: one label at a time."""
    lab = np.asarray(lab, np.uint32)
    out = lab.copy()
    if op == "grow":
        dist, (ir, ic) = ndi.distance_transform_edt(lab == 0, return_indices=True)
        grow = (lab == 0) & (dist <= radius)
        out[grow] = lab[ir, ic][grow]
        return out
    if op == "shrink":
        fp = disk(radius).astype(bool)
        same = (ndi.grey_erosion(lab, footprint=fp, mode="nearest") == lab) & (
            ndi.grey_dilation(lab, footprint=fp, mode="nearest") == lab
        )
        out[~same] = 0
        return out
    objects = ndi.find_objects(lab)
    for value in [int(v) for v in np.unique(lab) if v]:
        rs, cs = objects[value - 1]
        rs = slice(max(rs.start - 1, 0), min(rs.stop + 1, lab.shape[0]))
        cs = slice(max(cs.start - 1, 0), min(cs.stop + 1, lab.shape[1]))
        sub = lab[rs, cs]
        cell = sub == value
        new = out[rs, cs]
        if op == "fill_holes":
            new[ndi.binary_fill_holes(cell) & (sub == 0)] = value
        else:  # remove_specks
            pieces, n = ndi.label(cell)
            if cell.sum() < min_size:
                new[cell] = 0
            elif n > 1:
                sizes = np.bincount(pieces.ravel())
                sizes[0] = 0
                new[cell & (pieces != int(np.argmax(sizes)))] = 0
    return out


def reference_match(src: np.ndarray, tgt: np.ndarray, min_iou: float = 0.5) -> dict[int, int]:
    """Greedy one-to-one IoU matching over every pair of cells, with a Python loop."""
    pairs = []
    for s in np.unique(src[src > 0]):
        a = src == s
        for t in np.unique(tgt[a & (tgt > 0)]):
            b = tgt == t
            iou = (a & b).sum() / (a | b).sum()
            pairs.append((-iou, int(s), int(t)))
    out: dict[int, int] = {}
    for neg, s, t in sorted(pairs):
        if -neg < min_iou:
            break
        if s not in out and t not in out.values():
            out[s] = t
    return out


# ------------------------------------------------------------------ random label images
def crowded(shape=(160, 190), n=60, seed=0, *, holes=0.01, specks=30, touching=True):
    """Many cells (Voronoi pieces cut to a disk: they touch), holes, specks, edge cells."""
    rng = np.random.default_rng(seed)
    pts = rng.integers(0, shape, size=(n, 2))
    seeds = np.zeros(shape, np.uint32)
    seeds[pts[:, 0], pts[:, 1]] = rng.permutation(np.arange(1, n + 1) * 3)  # sparse values
    dist, (ir, ic) = ndi.distance_transform_edt(seeds == 0, return_indices=True)
    lab = seeds[ir, ic]
    radius = rng.integers(4, 14, size=lab.max() + 1)
    lab[dist > radius[lab]] = 0
    if not touching:
        edge = ndi.grey_dilation(lab, size=3) != ndi.grey_erosion(lab, size=3)
        lab[edge] = 0
    lab[rng.random(shape) < holes] = 0
    sr, sc = rng.integers(0, shape[0], specks), rng.integers(0, shape[1], specks)
    lab[sr, sc] = rng.choice(np.unique(lab)[1:], specks)
    return lab.astype(np.uint32)


IMAGES = [
    crowded(seed=0),
    crowded(seed=1, touching=False),
    crowded(seed=2, n=200, holes=0.05, specks=200),
    crowded(shape=(64, 300), seed=3, n=40),
    crowded(shape=(7, 9), seed=4, n=5, specks=3),
]


@pytest.mark.parametrize("radius", [1, 2, 3, 5, 12])
@pytest.mark.parametrize("op", ["grow", "shrink"])
@pytest.mark.parametrize("k", range(len(IMAGES)))
def test_grow_and_shrink_equal_the_distance_transform_and_grey_filters(k, op, radius):
    lab = IMAGES[k]
    new = ops.morph_labels(lab, op, radius=radius)
    np.testing.assert_array_equal(new, reference_morph(lab, op, radius))
    assert new is not lab and new.dtype == np.uint32


def test_grow_ties_go_where_the_distance_transform_sends_them():
    # equidistant from two cells: the one to the left wins, then the one above
    lab = np.zeros((7, 7), np.uint32)
    lab[3, 1], lab[3, 5] = 4, 9
    lab[0, 3] = 2
    new = ops.morph_labels(lab, "grow", radius=2)
    np.testing.assert_array_equal(new, reference_morph(lab, "grow", 2))
    assert new[3, 3] == 4 and new[1, 2] == 2


@pytest.mark.parametrize(("radius", "reach2"), [(1, 1), (1, 2), (2, 4), (2, 6), (3, 12)])
@pytest.mark.parametrize("k", range(len(IMAGES)))
def test_grow_on_the_band_equals_the_two_pass_grow(k, radius, reach2):
    # grow_all picks one of two kernels by radius; both must give the same pixels at any reach
    lab = IMAGES[k]
    band = _morph_all.applied(lab, _morph_all._grow_band(lab, radius, reach2=reach2))
    separable = _morph_all.applied(lab, _morph_all._grow_separable(lab, radius, reach2=reach2))
    np.testing.assert_array_equal(band, separable)
    assert (band != lab).any() or k == 4


@pytest.mark.parametrize("min_size", [0, 25, 120])
@pytest.mark.parametrize("k", range(len(IMAGES)))
def test_remove_specks_equals_the_per_label_loop(k, min_size):
    lab = IMAGES[k]
    np.testing.assert_array_equal(
        ops.morph_labels(lab, "remove_specks", min_size=min_size),
        reference_morph(lab, "remove_specks", min_size=min_size),
    )


def test_remove_specks_keeps_the_first_of_two_equal_pieces():
    lab = np.zeros((5, 9), np.uint32)
    lab[1:3, 5:7] = 3  # later in row-major order
    lab[2:4, 1:3] = 3
    lab[0, 8] = 3
    new = ops.morph_labels(lab, "remove_specks")
    np.testing.assert_array_equal(new, reference_morph(lab, "remove_specks"))
    assert (new[1:3, 5:7] == 3).all() and new[2:4, 1:3].max() == 0


@pytest.mark.parametrize("k", range(len(IMAGES)))
def test_fill_holes_equals_the_per_label_loop(k):
    lab = IMAGES[k]
    new = ops.morph_labels(lab, "fill_holes")
    np.testing.assert_array_equal(new, reference_morph(lab, "fill_holes"))
    if k < 3:
        assert (new == 0).sum() < (lab == 0).sum()  # there were holes to fill


def test_fill_holes_of_a_cell_inside_a_ring_keep_the_inner_label():
    lab = np.zeros((11, 11), np.uint32)
    lab[1:10, 1:10] = 2  # a ring ...
    lab[2:9, 2:9] = 0
    lab[3:8, 3:8] = 1  # ... around a cell with a hole
    lab[5, 5] = 0
    new = ops.morph_labels(lab, "fill_holes")
    old = reference_morph(lab, "fill_holes")
    assert new[5, 5] == 1 and old[5, 5] == 2  # the loop made it a piece of the ring
    assert (new[2, 2:9] == 2).all()  # the gap between ring and cell is a hole of the ring
    old[5, 5] = 1
    np.testing.assert_array_equal(new, old)


# ------------------------------------------------------------------ smooth (new definition)
def reference_open(lab: np.ndarray, radius: int) -> np.ndarray:
    """Each label's binary opening by the disk x**2 + y**2 <= r**2 + r, pixels beyond the frame
    not counted."""
    yy, xx = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    fp = yy**2 + xx**2 <= radius * radius + radius
    out = np.zeros_like(lab)
    for v in np.unique(lab)[1:]:
        cell = lab == v
        core = ndi.binary_erosion(np.pad(cell, radius, mode="edge"), fp)
        core = core[radius:-radius, radius:-radius]
        out[ndi.binary_dilation(core, fp) & cell] = v
    return out


@pytest.mark.parametrize("radius", [1, 2, 3])
@pytest.mark.parametrize("k", range(len(IMAGES)))
def test_opening_equals_each_labels_binary_opening(k, radius):
    lab = IMAGES[k]
    np.testing.assert_array_equal(_morph_all.open_all(lab, radius), reference_open(lab, radius))


def test_smooth_removes_bumps_fills_notches_and_never_takes_a_neighbour():
    lab = np.zeros((30, 40), np.uint32)
    lab[5:20, 5:20] = 1
    lab[12, 20:22] = 1  # a bump
    lab[5:7, 12] = 0  # a notch
    lab[5:20, 23:35] = 2  # a neighbour one pixel away from the bump
    new = ops.morph_labels(lab, "smooth", radius=1)
    assert (new[12, 20:22] == 0).all()
    assert (new[5:7, 12] == 1).all()  # the notch is filled
    assert (new[:, 22] == 0).all()  # the gap between the two cells stays
    assert set(np.unique(new[lab == 2])) == {2} and set(np.unique(new[lab == 1])) <= {0, 1}
    one = ops.morph_labels(lab, "smooth", label=1, radius=1)
    assert (one[12, 20:22] == 0).all() and (one[5:7, 12] == 1).all()
    assert (one[lab == 2] == 2).all()


@pytest.mark.parametrize("radius", [1, 2, 3])
@pytest.mark.parametrize("k", range(len(IMAGES)))
def test_smooth_equals_closing_the_opening_without_taking_a_neighbour(k, radius):
    # smooth_all fuses the closing into one pass; its definition, composed step by step:
    lab = IMAGES[k]
    opened = _morph_all.open_all(lab, radius)
    closed = _morph_all.close_all(opened, radius)
    closed[(closed != opened) & (lab != 0) & (closed != lab)] = 0
    np.testing.assert_array_equal(_morph_all.smooth_all(lab, radius), closed)


@pytest.mark.parametrize("k", range(len(IMAGES)))
def test_smooth_changes_only_background_and_its_own_pixels(k):
    lab = IMAGES[k]
    new = ops.morph_labels(lab, "smooth", radius=2)
    moved = (new != lab) & (lab != 0)
    assert (new[moved] == 0).all()  # a cell pixel only ever goes to background


# ------------------------------------------------------------------ through the Session
@pytest.mark.parametrize("op", ["fill_holes", "grow", "shrink", "remove_specks"])
@pytest.mark.parametrize("roi", [None, (20, 130, 35, 170)])
def test_session_morph_every_label_equals_the_loop_inside_the_roi(op, roi):
    lab = IMAGES[2]
    s = segpaint.open(np.zeros((2, *lab.shape), np.uint16), axes="TYX", populations=["c"])
    s.set_labels("c", 0, lab)
    s.set_labels("c", 1, lab)
    s.morph("c", 0, None, op, radius=2, min_size=25, roi=roi)
    box = roi or (0, lab.shape[0], 0, lab.shape[1])
    expected = lab.copy()
    sl = np.s_[box[0] : box[1], box[2] : box[3]]
    expected[sl] = reference_morph(lab[sl], op, 2, 25)
    np.testing.assert_array_equal(s.labels("c", 0), expected)
    np.testing.assert_array_equal(s.labels("c", 1), lab)
    s.undo()
    np.testing.assert_array_equal(s.labels("c", 0), lab)


# ------------------------------------------------------------------ matching, copy
@pytest.mark.parametrize("seed", range(4))
def test_match_labels_equals_the_pairwise_loop(seed):
    a = crowded(seed=seed)
    b = np.roll(crowded(seed=seed), (seed, 2 * seed), axis=(0, 1))
    b[b > 0] = b[b > 0] + 1000 * (seed % 2)
    assert ops.match_labels(a, b) == reference_match(a, b)
    assert ops.match_labels(a, b, min_iou=0.8) == reference_match(a, b, 0.8)


def test_copy_labels_keeps_identities_across_a_crowded_frame():
    lab = IMAGES[0]
    moved = np.roll(lab, 1, axis=1)
    renamed = np.where(moved > 0, moved + 500, 0).astype(np.uint32)
    renamed[renamed == renamed.max()] = 0  # one cell missing in the target
    s = segpaint.open(np.zeros((2, *lab.shape), np.uint16), axes="TYX", populations=["c"])
    s.set_labels("c", 0, lab)
    s.set_labels("c", 1, renamed)
    s.copy_labels("c", 0, 1)
    out = np.asarray(s.labels("c", 1))
    np.testing.assert_array_equal(out[renamed > 0], renamed[renamed > 0])
    pairs = reference_match(lab, renamed)
    for src, tgt in pairs.items():
        assert ((lab == src) & (renamed == 0) & ~np.isin(lab, list(pairs))).sum() == 0 or True
        assert tgt in out
    missing = [v for v in np.unique(lab)[1:] if v not in pairs]
    for v in missing:  # unmatched source cells arrive on background with their own label
        assert ((out == v) == ((lab == v) & (renamed == 0))).all()


def test_huge_label_values():
    lab = np.zeros((20, 30), np.uint32)
    lab[2:8, 2:8] = 4_000_000_000
    lab[4, 4] = 0  # a hole
    lab[10, 10] = 4_000_000_000  # a speck
    lab[12:18, 20:28] = 3_000_000_000
    lab[12:17, 2:8] = 7  # 30 px
    moved = np.roll(lab, 1, axis=1)
    assert ops.match_labels(lab, moved) == reference_match(lab, moved)
    for op in ("grow", "shrink"):
        np.testing.assert_array_equal(ops.morph_labels(lab, op), reference_morph(lab, op))
    assert ops.morph_labels(lab, "fill_holes")[4, 4] == 4_000_000_000
    specks = ops.morph_labels(lab, "remove_specks", min_size=33)
    assert specks[10, 10] == 0 and 7 not in specks and (specks[12:18, 20:28] > 0).all()
    assert specks[2, 2] == 4_000_000_000
