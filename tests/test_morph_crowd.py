"""Whole-frame tools on crowded frames (issue 11, "every tool under 50 ms"): the faster kernels
give the pixels a user expects on small known cases, and the same pixels on either of their
paths (sparse checks for few candidates, passes over the frame for many)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

from segpaint import ops
from segpaint.ops import _morph_all


def crowded(shape=(120, 150), n=70, seed=0, *, holes=0.01, specks=40):
    """Touching cells (Voronoi pieces cut to a disk), holes, one-pixel specks, edge cells."""
    rng = np.random.default_rng(seed)
    pts = rng.integers(0, shape, size=(n, 2))
    seeds = np.zeros(shape, np.uint32)
    seeds[pts[:, 0], pts[:, 1]] = rng.permutation(np.arange(1, n + 1) * 7)
    dist, (ir, ic) = ndi.distance_transform_edt(seeds == 0, return_indices=True)
    lab = seeds[ir, ic]
    lab[dist > rng.integers(3, 12, size=int(lab.max()) + 1)[lab]] = 0
    lab[rng.random(shape) < holes] = 0
    sr, sc = rng.integers(0, shape[0], specks), rng.integers(0, shape[1], specks)
    lab[sr, sc] = rng.choice(np.unique(lab)[1:], specks)
    return lab.astype(np.uint32)


FRAMES = [crowded(seed=s) for s in range(3)] + [crowded((40, 300), n=60, seed=7, holes=0.05)]


# ------------------------------------------------------------------------------ smooth
@pytest.mark.parametrize("radius", [1, 2, 3])
@pytest.mark.parametrize("k", range(len(FRAMES)))
def test_smooth_checks_candidates_one_by_one_or_in_passes_with_the_same_pixels(
    k, radius, monkeypatch
):
    lab = FRAMES[k]
    monkeypatch.setattr(_morph_all, "SPARSE_CLOSE_MAX", 10**9)  # always the sparse check
    sparse = _morph_all.smooth_all(lab, radius)
    monkeypatch.setattr(_morph_all, "SPARSE_CLOSE_MAX", 0)  # always the passes
    dense = _morph_all.smooth_all(lab, radius)
    np.testing.assert_array_equal(sparse, dense)
    # and both are the opening, then the closing that never takes another cell's pixel
    opened = _morph_all.open_all(lab, radius)
    closed = _morph_all.close_all(opened, radius)
    closed[(closed != opened) & (lab != 0) & (closed != lab)] = 0
    np.testing.assert_array_equal(sparse, closed)
    assert (sparse != lab).any()


def test_smooth_fills_a_notch_beside_a_touching_cell_but_not_the_gap_between_two_cells():
    lab = np.zeros((24, 30), np.uint32)
    lab[4:20, 3:14] = 5
    lab[4:20, 14:26] = 9  # touches 5 along column 14
    lab[4:6, 8] = 0  # a notch in 5's top edge
    lab[19, 20] = 0  # a notch in 9's bottom edge
    lab[10, 26] = 9  # a one-pixel bump on 9's right edge
    lab[0:2, 0:2] = 3  # a small cell in the corner (its disks leave the frame)
    new = ops.morph_labels(lab, "smooth", radius=1)
    assert (new[4:6, 8] == 5).all() and new[19, 20] == 9  # notches filled by their own cell
    assert new[10, 26] == 0  # the bump goes
    assert (new[4:20, 14] == 9).all() and (new[4:20, 13] == 5).all()  # the contact stays
    assert (new[lab == 9] != 5).all() and (new[lab == 5] != 9).all()  # nobody takes a neighbour
    assert (new[0:2, 0:2] == 3).all()  # the frame's edge does not erode the corner cell
    gap = lab.copy()
    gap[4:20, 14] = 0  # now a one-pixel gap between the two cells
    assert (ops.morph_labels(gap, "smooth", radius=1)[4:20, 14] == 0).all()


def test_smooth_on_a_frame_of_cells_separated_by_thin_gaps_takes_the_passes(monkeypatch):
    # a grid of cells 1 px apart: every gap pixel is a candidate (more than 1/16 of the frame)
    lab = np.zeros((63, 63), np.uint32)
    for i in range(8):
        for j in range(8):
            lab[i * 8 : i * 8 + 7, j * 8 : j * 8 + 7] = i * 8 + j + 1
    lab[3, 3] = 0  # a hole in cell 1: filled
    calls = []
    dense = _morph_all._close_dense
    monkeypatch.setattr(_morph_all, "_close_dense", lambda *a: calls.append(1) or dense(*a))
    new = _morph_all.smooth_all(lab, 1)
    assert calls == [1]
    assert new[3, 3] == 1
    new[3, 3] = 0
    np.testing.assert_array_equal(new, lab)  # nothing else: the gaps stay


# ------------------------------------------------------------------------- remove specks
def reference_specks(lab: np.ndarray, min_size: int) -> np.ndarray:
    """One label at a time: keep its largest 4-connected piece (the first on a tie)."""
    out = lab.copy()
    for v in np.unique(lab)[1:]:
        cell = lab == v
        pieces, n = ndi.label(cell)
        if cell.sum() < min_size:
            out[cell] = 0
        elif n > 1:
            sizes = np.bincount(pieces.ravel())
            sizes[0] = 0
            out[cell & (pieces != int(np.argmax(sizes)))] = 0
    return out


@pytest.mark.parametrize("min_size", [0, 10, 60])
@pytest.mark.parametrize("k", range(len(FRAMES)))
def test_remove_specks_on_crowded_frames_equals_the_per_label_loop(k, min_size):
    lab = FRAMES[k]
    new = ops.morph_labels(lab, "remove_specks", min_size=min_size)
    np.testing.assert_array_equal(new, reference_specks(lab, min_size))
    assert (new != lab).any()


def test_remove_specks_joins_pieces_through_other_rows_and_not_diagonally_or_across_rows():
    lab = np.zeros((6, 8), np.uint32)
    lab[0, 0:2] = lab[0, 5:7] = 4  # a U: two arms joined only by the bottom row
    lab[1:3, 0] = lab[1:3, 6] = 4
    lab[3, 0:7] = 4
    lab[4, 7] = 4  # touches the U only diagonally: a speck
    lab[4, 0:3] = 2  # 2's main piece, two rows
    lab[5, 0] = 2
    new = ops.morph_labels(lab, "remove_specks")
    np.testing.assert_array_equal(new, reference_specks(lab, 0))
    assert (new[0, 0:2] == 4).all() and (new[0, 5:7] == 4).all()  # the U stays whole
    assert new[4, 7] == 0  # the diagonal neighbour is a speck
    assert (new[4, 0:3] == 2).all() and new[5, 0] == 2
    # the end of a row and the start of the next are neighbours in memory, not in the image
    wrap = np.zeros((3, 4), np.uint32)
    wrap[0, 1:4] = 6
    wrap[1, 0] = 6
    new = ops.morph_labels(wrap, "remove_specks")
    assert new[1, 0] == 0 and (new[0, 1:4] == 6).all()


def test_remove_specks_with_labels_above_65535_and_an_empty_frame():
    lab = FRAMES[0].astype(np.uint32)
    big = np.where(lab > 0, lab + 100_000, 0).astype(np.uint32)
    np.testing.assert_array_equal(
        ops.morph_labels(big, "remove_specks", min_size=10), reference_specks(big, 10)
    )
    empty = np.zeros((5, 6), np.uint32)
    np.testing.assert_array_equal(ops.morph_labels(empty, "remove_specks", min_size=3), empty)


# -------------------------------------------------------------------------- fill holes
def holes_by_labelling(lab):
    """`fill_holes_all`'s single-label rule with every background pixel labelled
    (`scipy.ndimage.label`): pieces off the frame edge whose neighbours are one label."""
    out = lab.copy()
    pieces, n = ndi.label(lab == 0)
    edge = set(np.unique(np.concatenate([pieces[0], pieces[-1], pieces[:, 0], pieces[:, -1]])))
    for piece in range(1, n + 1):
        if piece in edge:
            continue
        mask = pieces == piece
        rim = np.unique(lab[ndi.binary_dilation(mask) & ~mask])
        if rim.size == 1:
            out[mask] = rim[0]
    return out


@pytest.mark.parametrize("k", range(len(FRAMES)))
def test_fill_holes_on_crowded_frames_fills_what_a_labelling_of_the_background_finds(k):
    lab = FRAMES[k]
    new = ops.morph_labels(lab, "fill_holes")
    single = holes_by_labelling(lab)
    # every hole with one label around it is filled with it; nothing else changes but holes
    # of several labels (the mixed-rim rule, tested against the loop elsewhere)
    filled = single != lab
    assert filled.any()
    np.testing.assert_array_equal(new[filled], single[filled])
    other = (new != lab) & ~filled
    assert (lab[other] == 0).all()
    np.testing.assert_array_equal(new[~filled & ~other], lab[~filled & ~other])


def test_fill_holes_leaves_background_that_reaches_any_frame_edge():
    # a cell with a gap to each edge: the gaps are background reaching the edge, not holes;
    # one real hole of two pixels joined only through the row below, one diagonal pair
    lab = np.full((9, 12), 5, np.uint32)
    lab[0, 3] = lab[8, 7] = lab[4, 0] = lab[5, 11] = 0  # one pixel on each edge
    lab[3, 4] = lab[4, 4] = lab[4, 5] = lab[3, 6] = 0  # an L and a pixel above its end
    lab[6, 8] = lab[7, 9] = 0  # two pixels touching only diagonally: two holes
    new = ops.morph_labels(lab, "fill_holes")
    for r, c in ((0, 3), (8, 7), (4, 0), (5, 11)):
        assert new[r, c] == 0
    for r, c in ((3, 4), (4, 4), (4, 5), (3, 6), (6, 8), (7, 9)):
        assert new[r, c] == 5
    # a hole against the last column's neighbour and the first row's: still inside
    lab = np.full((5, 5), 3, np.uint32)
    lab[1, 3] = lab[3, 1] = 0
    assert (ops.morph_labels(lab, "fill_holes") == 3).all()


def test_fill_holes_without_background_or_without_cells():
    full = np.full((6, 7), 4, np.uint32)
    np.testing.assert_array_equal(ops.morph_labels(full, "fill_holes"), full)
    empty = np.zeros((6, 7), np.uint32)
    np.testing.assert_array_equal(ops.morph_labels(empty, "fill_holes"), empty)


def test_walks_from_a_hole_count_a_cell_only_when_they_come_out_into_open_background():
    # hole at (20, 40) between cells 3 (left, 35 px wide) and 7 (right); above it cell 7
    # then another hole; below it cell 7 then cell 5; right: cell 7 to the frame edge
    lab = np.zeros((41, 80), np.uint32)
    lab[2:39, 5:40] = 3
    lab[2:39, 40:80] = 7
    lab[30:39, 38:43] = 5
    lab[20, 40] = 0  # the hole
    lab[8, 40] = 0  # another hole, straight above it
    pieces, _ = ndi.label(lab == 0)
    edge = np.concatenate([pieces[0], pieces[-1], pieces[:, 0], pieces[:, -1]])
    inner = ~np.isin(pieces, edge)
    open_bg = (lab == 0) & ~inner
    seeds = np.array([20 * 80 + 40, 8 * 80 + 40])
    which = np.array([pieces[20, 40], pieces[8, 40]])
    pieces = np.where(inner, pieces, 0).astype(np.int32)
    got = _morph_all._escapes(lab, pieces, open_bg, seeds, which)
    # hole 1: left through 3 (35 px, beyond the first 16) into open background; right
    # through 7 to the frame's edge; up into the other hole and down into cell 5: not escapes
    # hole 2: up through 7 into open background, left through 3, right through 7 to the edge
    assert got == [{3, 7}, {3, 7}]
    # a walk longer than 2 * steps does not count
    assert _morph_all._escapes(lab, pieces, open_bg, seeds[:1], which[:1], steps=10) == [set()]


# -------------------------------------------------------------------------------- grow
def grown_by_distance_transform(lab, radius):
    """Every label grown by ``radius`` px: the nearest labelled pixel within reach (scipy's
    feature transform, its tie-break)."""
    dist, (ir, ic) = ndi.distance_transform_edt(lab == 0, return_indices=True)
    out = lab.copy()
    grow = (lab == 0) & (dist <= radius)
    out[grow] = lab[ir, ic][grow]
    return out


@pytest.mark.parametrize("radius", [2, 3, 5])
@pytest.mark.parametrize("shape", [(40, 1), (30, 2), (25, 3), (20, 5), (9, 7), (33, 64), (1, 50)])
def test_grow_on_narrow_and_wide_frames_equals_the_distance_transform(shape, radius):
    # the row passes shift the flat frame and redo the first and last `radius` columns:
    # frames narrower than the disk, as wide as a few columns, a single row
    rng = np.random.default_rng(shape[0] * 100 + shape[1] + radius)
    lab = np.where(rng.random(shape) < 0.08, rng.integers(1, 9, shape), 0).astype(np.uint32)
    lab[0, 0] = 3  # at least one cell, in a corner
    np.testing.assert_array_equal(
        _morph_all.applied(lab, _morph_all._grow_separable(lab, radius)),
        grown_by_distance_transform(lab, radius),
    )
    np.testing.assert_array_equal(
        ops.morph_labels(lab, "grow", radius=radius), grown_by_distance_transform(lab, radius)
    )


@pytest.mark.parametrize("k", range(len(FRAMES)))
def test_grow_r3_on_crowded_frames_equals_the_distance_transform(k):
    lab = FRAMES[k]
    new = ops.morph_labels(lab, "grow", radius=3)
    assert (new != lab).any()
    np.testing.assert_array_equal(new, grown_by_distance_transform(lab, 3))
