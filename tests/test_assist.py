"""Assisted correction (issue 11): click-to-segment, wand, split, merge, polygon, morphology,
copy from another frame, delete in a box.  Kernels in segpaint.ops.assist, tools on Session."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from scipy import ndimage as ndi

import segpaint
from masks import iou
from segpaint import ops
from segpaint.data import synthetic_timelapse
from steps import paint_during


def centre(mask: np.ndarray) -> tuple[int, int]:
    """The pixel deepest inside a mask (where an annotator clicks)."""
    r, c = np.unravel_index(np.argmax(ndi.distance_transform_edt(mask)), mask.shape)
    return int(r), int(c)


@pytest.fixture(scope="module")
def movie():
    return synthetic_timelapse(n_frames=2, seed=0)


@pytest.fixture
def session(movie):
    return movie.open()


@pytest.fixture
def small():
    """3 frames of 40x50, two channels, two populations, some labels on frame 1."""
    img = np.zeros((3, 2, 40, 50), np.uint16)
    img[:, 0, 5:15, 5:15] = 1000
    img[:, 0, 20:35, 22:30] = 1000
    img[:, 1] = 50
    s = segpaint.open(img, axes="TCYX", populations=["targets", "effectors"])
    lab = np.zeros((40, 50), np.uint32)
    lab[5:15, 5:15] = 1
    lab[20:35, 22:30] = 2
    s.set_labels("targets", 1, lab)
    s.set_labels("effectors", 1, lab)
    return s


# ------------------------------------------------------------------------- segment_at
def test_click_on_each_isolated_target_gives_its_nucleus(movie, session):
    truth = movie.labels["targets"][0]
    near_effector = ndi.binary_dilation(movie.labels["effectors"][0] > 0, iterations=3)
    checked = 0
    for value in np.unique(truth)[1:]:
        cell = truth == value
        if (cell & near_effector).any():
            continue  # an effector on top of a target: not an isolated nucleus
        before = session.new_label("targets")
        change = session.segment_at("targets", 0, centre(cell), channels=["nuclei"])
        assert change is not None
        lab = np.asarray(session.labels("targets", 0))
        assert iou(lab == before, cell) >= 0.85, f"target {value}"
        checked += 1
    assert checked >= 6


def test_click_on_one_of_a_touching_pair_takes_only_that_nucleus(movie, session):
    truth = movie.labels["targets"][0]
    near_effector = ndi.binary_dilation(movie.labels["effectors"][0] > 0, iterations=3)
    checked = 0
    # targets (1, 2), (5, 6), (9, 10) are drawn side by side: touching pairs
    for first, second in [(1, 2), (5, 6), (9, 10)]:
        pair = (truth == first) | (truth == second)
        if (pair & near_effector).any():
            continue
        assert (ndi.binary_dilation(truth == first, iterations=3) & (truth == second)).any()
        session.segment_at("targets", 0, centre(truth == second), channels=["nuclei"], label=70)
        got = np.asarray(session.labels("targets", 0)) == 70
        assert iou(got, truth == second) >= 0.85
        assert (got & (truth == first)).sum() <= 5
        session.undo()
        checked += 1
    assert checked >= 1


def test_click_on_background_changes_nothing(session):
    assert session.segment_at("targets", 0, (0, 0), channels=["nuclei"]) is None
    assert np.asarray(session.labels("targets", 0)).max() == 0
    assert not session.can_undo


@pytest.mark.parametrize("radius", [4, 30, 45, 80])
def test_a_click_inside_a_big_cell_gives_that_cell(radius):
    # the first window (24 px around the click) lies inside the cell and has no edge: the
    # click looked wider instead of answering "nothing here" (cells of radius >= ~30 px);
    # a small cell (2% of that window) is found in it as before
    rng = np.random.default_rng(radius)
    rr, cc = np.mgrid[:300, :300]
    cell = (rr - 150) ** 2 + (cc - 140) ** 2 <= radius**2
    image = (100 + 900 * cell + rng.integers(0, 20, cell.shape)).astype(np.uint16)
    s = segpaint.open(image[None], axes="TYX", populations=["cells"])
    assert s.segment_at("cells", 0, (150, 140)) is not None
    got = np.asarray(s.labels("cells", 0))
    assert iou(got == got[150, 140], cell) >= (0.8 if radius < 10 else 0.95)
    if radius >= 30:  # (a 4 px cell is under the default limits' top percentile: noise shows)
        assert s.segment_at("cells", 0, (10, 290)) is None  # empty background: still nothing


def test_click_respects_roi_and_other_cells(movie, session):
    truth = movie.labels["targets"][0]
    cell = truth == 4
    r, c = centre(cell)
    # another cell painted over the nucleus' left half must survive (preserve_labels=True)
    session.paint("targets", 0, [(r - 20, c - 20), (r + 20, c - 20)], radius=18, label=50)
    before = np.asarray(session.labels("targets", 0)).copy()
    roi = (r - 4, r + 30, c - 30, c + 30)
    session.segment_at("targets", 0, (r, c + 3), channels=["nuclei"], label=60, roi=roi)
    after = np.asarray(session.labels("targets", 0))
    outside = np.ones(after.shape, bool)
    outside[roi[0] : roi[1], roi[2] : roi[3]] = False
    np.testing.assert_array_equal(after[outside], before[outside])
    np.testing.assert_array_equal(after == 50, before == 50)
    assert (after == 60).sum() > 50


def test_refinement_clicks_resegment_the_same_label():
    # a dumbbell: two squares joined by a bridge
    img = np.zeros((1, 1, 40, 60), np.float32)
    img[0, 0, 10:30, 5:25] = 1
    img[0, 0, 10:30, 35:55] = 1
    img[0, 0, 18:22, 25:35] = 1
    s = segpaint.open(img, axes="TCYX", populations=["cells"])
    s.segment_at("cells", 0, (20, 15), label=1, sigma=0)
    lab = np.asarray(s.labels("cells", 0)).copy()
    # the neck is cut: the click takes its own square only
    assert (lab[10:30, 5:25] == 1).all() and lab[20, 45] == 0
    first = lab
    # a positive click adds the other square (and the bridge); the same label, one step more
    s.segment_at("cells", 0, (20, 15), label=1, positive=[(20, 45)], sigma=0)
    lab = np.asarray(s.labels("cells", 0)).copy()
    np.testing.assert_array_equal(lab == 1, img[0, 0] > 0)
    # a negative click takes its side of the far square back out
    s.segment_at("cells", 0, (20, 15), label=1, positive=[(20, 40)], negative=[(20, 53)], sigma=0)
    lab = np.asarray(s.labels("cells", 0))
    assert lab[20, 15] == 1 and lab[20, 40] == 1 and lab[20, 53] == 0
    assert set(np.unique(lab)) == {0, 1}
    s.undo()
    s.undo()
    np.testing.assert_array_equal(s.labels("cells", 0), first)


def test_click_with_a_named_method_on_a_crop(movie, session):
    truth = movie.labels["targets"][0]
    cell = truth == 5
    session.segment_at("targets", 0, centre(cell), channels=["nuclei"], method="threshold", label=9)
    got = np.asarray(session.labels("targets", 0)) == 9
    assert iou(got, cell) >= 0.6
    assert set(np.unique(np.asarray(session.labels("targets", 0)))) == {0, 9}


def test_segment_at_errors(session):
    with pytest.raises(TypeError, match="unknown parameter.*'sigmaa'.*check the spelling"):
        session.segment_at("targets", 0, (10, 10), sigmaa=1)
    with pytest.raises(ValueError, match="seed_point.*outside the image"):
        session.segment_at("targets", 0, (300, 10))
    with pytest.raises(TypeError, match="channels: expected a non-empty list"):
        session.segment_at("targets", 0, (10, 10), channels="nuclei")
    # one check (ops.assist's) for the session and the kernels, so one message
    with pytest.raises(
        ValueError,
        match=r"limits: got 1 \(low, high\) pair\(s\) for 2 channel\(s\); pass one pair per "
        "channel, in channel order",
    ):
        session.segment_at("targets", 0, (10, 10), limits=[(0, 1)])
    with pytest.raises(TypeError, match=r"limits: expected one \(low, high\) pair per channel"):
        session.segment_at("targets", 0, (10, 10), limits=[0, 1])
    with pytest.raises(
        ValueError, match=r"limits: each pair needs finite low < high, got \(5.0, 5.0\)"
    ):
        session.segment_at("targets", 0, (10, 10), limits=[(0, 1), (5, 5)])
    with pytest.raises(ValueError, match="label: 0 is the background"):
        session.segment_at("targets", 0, (10, 10), label=0)
    with pytest.raises(KeyError, match="unknown population 'cells'"):
        session.segment_at("cells", 0, (10, 10))
    # refinement clicks work with any method now (tests/test_assist_model.py); their check
    with pytest.raises(ValueError, match=r"positive\[0\]: \(40, 40\) is outside the ROI"):
        session.segment_at("targets", 0, (10, 10), method="threshold", roi=(0, 32, 0, 32),
                           positive=[(40, 40)])  # fmt: skip


# ------------------------------------------------------------------------------ wand
def test_wand_rule_on_a_hand_made_image():
    img = np.array(
        [
            [10, 12, 50, 10],
            [11, 40, 52, 10],
            [10, 10, 51, 10],
            [90, 10, 50, 11],
        ],
        np.uint16,
    )
    # 4-connected, |v - v(seed)| <= tol with v = I / 100: the right column is cut off by 50s
    box, mask = ops.wand_mask(img, (0, 0), 0.02, limits=[(0, 100)])
    full = np.zeros(img.shape, bool)
    full[ops.bbox_slices(box)] = mask
    expected = np.array(
        [[1, 1, 0, 0], [1, 0, 0, 0], [1, 1, 0, 0], [0, 1, 0, 0]], bool
    )  # (3, 0) = 90 is out; (1, 1) = 40 is out
    np.testing.assert_array_equal(full, expected)
    # the tolerance is inclusive: 0.01 takes exactly the pixels with |I - 10| <= 1
    box, mask = ops.wand_mask(img, (0, 0), 0.01, limits=[(0, 100)])
    full[...] = False
    full[ops.bbox_slices(box)] = mask
    assert full[1, 0] and not full[0, 1]
    # two channels: the mean of each channel normalised by its own limits
    two = np.stack([img, np.full(img.shape, 7, np.uint16)])
    v = ops.channel_intensity(two, limits=[(0, 100), (0, 7)])
    np.testing.assert_array_equal(v, (img / 100 + 1.0) / 2)


def test_wand_grows_past_its_first_window():
    img = np.zeros((300, 300), np.uint8)
    img[:, 150:] = 200
    box, mask = ops.wand_mask(img, (150, 10), 0.1, limits=[(0, 255)])
    assert box == (0, 300, 0, 150) and mask.all()


def test_session_wand_paints_the_region(small):
    change = small.wand("targets", 0, (8, 8), 0.1, label=3, channels=[0])
    assert change is not None
    lab = np.asarray(small.labels("targets", 0))
    assert (lab == 3).sum() == 100 and (lab[5:15, 5:15] == 3).all()
    # a big tolerance reaches everything, but the ROI stops it
    small.wand("targets", 0, (0, 0), 1.0, label=4, channels=[0], roi=(0, 20, 0, 20))
    lab = np.asarray(small.labels("targets", 0))
    assert (lab[:20, :20] == 4).all() and lab[20:].max() == 0 and lab[:, 20:].max() == 0


def test_wand_preserve_labels(small):
    small.wand("targets", 1, (0, 0), 1.0, label=5, channels=[0], preserve_labels=True)
    lab = np.asarray(small.labels("targets", 1))
    assert (lab[5:15, 5:15] == 1).all() and (lab[20:35, 22:30] == 2).all()
    assert lab[0, 0] == 5 and set(np.unique(lab)) == {1, 2, 5}


def test_wand_errors(small):
    with pytest.raises(ValueError, match=r"tolerance: expected a number in \[0, 1\]"):
        small.wand("targets", 0, (8, 8), 5, label=1)
    with pytest.raises(ValueError, match="seed_point.*outside the ROI"):
        small.wand("targets", 0, (30, 30), 0.1, label=1, roi=(0, 10, 0, 10))
    with pytest.raises(ValueError, match="limits: each pair needs finite low < high"):
        ops.wand_mask(np.zeros((4, 4)), (0, 0), 0.1, limits=[(1, 1)])


# ------------------------------------------------------------------------ split, merge
def test_split_a_merged_pair_gives_both_nuclei(movie, session):
    truth = movie.labels["targets"][0].copy()
    merged = truth.copy()
    merged[truth == 2] = 1  # the pre-segmentation merged the touching pair 1 + 2
    merged[(truth != 1) & (truth != 2)] = 0
    session.set_labels("targets", 0, merged)
    before = np.asarray(session.labels("targets", 0)).copy()
    new = session.new_label("targets")
    session.split("targets", 0, 1, [centre(truth == 1), centre(truth == 2)])
    lab = np.asarray(session.labels("targets", 0))
    assert iou(lab == 1, truth == 1) >= 0.8
    assert iou(lab == new, truth == 2) >= 0.8
    session.undo()
    np.testing.assert_array_equal(session.labels("targets", 0), before)
    # the same split on the nuclei channel's intensity edges
    session.split("targets", 0, 1, [centre(truth == 1), centre(truth == 2)], channels=["nuclei"])
    lab = np.asarray(session.labels("targets", 0))
    assert iou(lab == 1, truth == 1) >= 0.8 and iou(lab == new, truth == 2) >= 0.8


def test_split_with_a_drawn_line_and_three_parts():
    lab = np.zeros((20, 60), np.uint32)
    lab[5:15, 2:58] = 4
    s = segpaint.open(np.zeros((1, 20, 60), np.uint16), axes="TYX", populations=["cells"])
    s.set_labels("cells", 0, lab)
    s.split("cells", 0, 4, [[(6, 5), (13, 5)], (10, 30), (10, 55)])
    out = np.asarray(s.labels("cells", 0))
    assert out[10, 3] == 4 and out[10, 30] == 5 and out[10, 56] == 6
    assert set(np.unique(out)) == {0, 4, 5, 6} and ((out > 0) == (lab > 0)).all()


def _dumbbell() -> np.ndarray:
    """Two 9-px-radius disks joined by a 3-px neck, label 4, plus a small cell 7 elsewhere."""
    rr, cc = np.mgrid[:40, :60]
    lab = np.zeros((40, 60), np.uint32)
    lab[((rr - 20) ** 2 + (cc - 15) ** 2 <= 81) | ((rr - 20) ** 2 + (cc - 41) ** 2 <= 81)] = 4
    lab[19:22, 15:42] = 4
    lab[2:6, 50:56] = 7
    return lab


def test_split_seeds_of_a_drag_inside_one_cell_are_its_ends():
    lab = _dumbbell()
    assert ops.split_seeds(lab, (20, 12), (21, 44)) == (4, [(20, 12), (21, 44)])


def test_split_seeds_of_a_cut_fall_deep_in_each_half_and_split_label_uses_them():
    lab = _dumbbell()
    label, seeds = ops.split_seeds(lab, (0, 28), (39, 28))  # background to background at the neck
    assert label == 4
    (ra, ca), (rb, cb) = sorted(seeds, key=lambda p: p[1])
    assert abs(ra - 20) <= 2 and abs(ca - 15) <= 2  # the left disk's centre
    assert abs(rb - 20) <= 2 and abs(cb - 41) <= 2  # the right disk's centre
    box, parts = ops.split_label(lab, label, [[s] for s in seeds])
    whole = np.zeros(lab.shape, np.int32)
    whole[ops.bbox_slices(box)] = parts
    left, right = whole[20, 15], whole[20, 41]
    assert {left, right} == {1, 2}
    cols = np.mgrid[:40, :60][1]
    assert (whole[(lab == 4) & (cols < 27)] == left).all()
    assert (whole[(lab == 4) & (cols > 29)] == right).all()


def test_split_seeds_cuts_the_cell_the_line_crosses_most():
    lab = _dumbbell()
    # the line grazes cell 7 for a few pixels and crosses cell 4 for most of its length
    label, _ = ops.split_seeds(lab, (0, 52), (39, 20))
    assert label == 4


def test_split_seeds_errors():
    lab = _dumbbell()
    with pytest.raises(ValueError, match="the drag went from label 4 to 7"):
        ops.split_seeds(lab, (20, 15), (3, 52))
    with pytest.raises(ValueError, match="the drag went from label 0 to 4"):
        ops.split_seeds(lab, (0, 0), (20, 15))
    with pytest.raises(ValueError, match="the line crosses no cell"):
        ops.split_seeds(lab, (0, 0), (39, 0))
    flat = np.zeros((5, 9), np.uint32)
    flat[2, 1:8] = 3  # one row high: a cut along it leaves nothing on either side
    with pytest.raises(ValueError, match="the line does not cut cell 3 in two"):
        ops.split_seeds(flat, (2, 0), (2, 8))


def test_split_errors(small):
    with pytest.raises(ValueError, match="seeds: need at least two parts"):
        small.split("targets", 1, 1, [(8, 8)])
    with pytest.raises(ValueError, match=r"seeds\[1\].*does not touch cell 1"):
        small.split("targets", 1, 1, [(8, 8), (30, 25)])
    with pytest.raises(ValueError, match="label: 9 is not a cell of this frame"):
        small.split("targets", 1, 9, [(8, 8), (9, 9)])


def test_merge_keeps_the_union_under_the_smallest_label(small):
    before = np.asarray(small.labels("targets", 1)).copy()
    small.merge("targets", 1, [2, 1])
    lab = np.asarray(small.labels("targets", 1))
    np.testing.assert_array_equal(lab == 1, before > 0)
    assert 2 not in lab
    small.undo()
    np.testing.assert_array_equal(small.labels("targets", 1), before)
    with pytest.raises(ValueError, match="labels: need at least two different non-zero"):
        small.merge("targets", 1, [1, 1])
    with pytest.raises(ValueError, match=r"labels: \[7\] not in frame 1 of 'targets'"):
        small.merge("targets", 1, [1, 7])


# --------------------------------------------------------------------------- polygon
def test_polygon_fills_the_outline(small):
    small.polygon("targets", 0, [(2, 2), (2, 11), (11, 11), (11, 2)], 6)
    lab = np.asarray(small.labels("targets", 0))
    assert (lab[2:12, 2:12] == 6).all() and (lab == 6).sum() == 100
    small.polygon("targets", 1, [(0, 0), (0, 49), (39, 49), (39, 0)], 7, preserve_labels=True)
    lab = np.asarray(small.labels("targets", 1))
    assert (lab[5:15, 5:15] == 1).all() and lab[0, 0] == 7
    small.polygon("targets", 2, [(0, 0), (0, 49), (39, 49)], 8, roi=(0, 10, 40, 50))
    lab = np.asarray(small.labels("targets", 2))
    assert lab[:10, 40:].min() == 8 and (lab == 8).sum() == 100
    with pytest.raises(ValueError, match="vertices: expected at least 3"):
        small.polygon("targets", 0, [(1, 1), (2, 2)], 1)
    assert small.polygon("targets", 0, [(100, 100), (100, 120), (120, 120)], 1) is None


# ------------------------------------------------------------------------ morphology
def test_morph_kernels_on_hand_made_labels():
    lab = np.zeros((12, 20), np.uint32)
    lab[2:9, 2:9] = 1
    lab[5, 5] = 0  # a hole
    lab[2:9, 10:16] = 2  # a neighbour one pixel away
    lab[11, 19] = 1  # a speck of label 1
    filled = ops.morph_labels(lab, "fill_holes")
    assert filled[5, 5] == 1 and (filled[lab > 0] == lab[lab > 0]).all()
    grown = ops.morph_labels(lab, "grow", label=1, radius=2)
    assert (grown[lab == 2] == 2).all()  # never overwrites the neighbour
    assert grown[2:9, 9].tolist() == [1] * 7 and grown[1, 4] == 1 and grown[0, 4] == 1
    assert grown[5, 5] == 1
    shrunk = ops.morph_labels(lab, "shrink", label=2, radius=1)
    assert (shrunk == 2).sum() == 5 * 4 and (shrunk == 1).sum() == (lab == 1).sum()
    both = ops.morph_labels(lab, "shrink", radius=1)
    assert (both == 2).sum() == 5 * 4 and both[11, 19] == 0
    clean = ops.morph_labels(lab, "remove_specks")
    assert clean[11, 19] == 0 and (clean == 1).sum() == (lab == 1).sum() - 1
    tiny = ops.morph_labels(lab, "remove_specks", min_size=45)
    assert 2 not in tiny and (tiny == 1).sum() == 48
    rough = lab.copy()
    rough[2, 2] = 0
    rough[9, 5] = 1  # a one-pixel bump
    smooth = ops.morph_labels(rough, "smooth", label=1, radius=1)
    assert smooth[9, 5] == 0 and (smooth[lab == 2] == 2).all()
    with pytest.raises(ValueError, match="op: unknown operation 'dilate'"):
        ops.morph_labels(lab, "dilate")
    with pytest.raises(ValueError, match="radius: expected an integer from 1 to 64"):
        ops.morph_labels(lab, "grow", radius=0)


def test_session_morph_every_label_in_the_roi_only(small):
    before = np.asarray(small.labels("targets", 1)).copy()
    small.morph("targets", 1, None, "grow", radius=2, roi=(0, 18, 0, 50))
    lab = np.asarray(small.labels("targets", 1))
    assert (lab == 1).sum() > (before == 1).sum()
    np.testing.assert_array_equal(lab[18:], before[18:])
    small.morph("targets", 1, 2, "shrink", radius=1)
    assert (np.asarray(small.labels("targets", 1)) == 2).sum() == 13 * 6
    with pytest.raises(ValueError, match="label: 9 is not in frame 1 of 'targets'"):
        small.morph("targets", 1, 9, "grow")
    with pytest.raises(ValueError, match="op: unknown operation"):
        small.morph("targets", 1, 1, "dilate")


def test_a_stroke_from_another_thread_during_a_morph_is_not_undone(small, monkeypatch):
    # One cell grown while another thread paints beside it, inside the window the morph
    # commits: the stroke waits for the morph's commit, then lands on top, its own undo step.
    from segpaint.ops import assist as assist_module

    painter = paint_during(
        monkeypatch, assist_module, "morph_labels", small, "targets", 1, [(18, 4), (18, 16)], 1, 7
    )
    before = np.asarray(small.labels("targets", 1)).copy()
    small.morph("targets", 1, 1, "grow", radius=2)
    painter[0].join(timeout=10)
    assert not painter[0].is_alive()
    lab = np.asarray(small.labels("targets", 1))
    assert (lab[18, 4:17] == 7).all()  # the stroke is there, not reverted by the morph
    assert (lab == 1).sum() > (before == 1).sum()
    small.undo()  # the stroke, made after the morph
    assert not (np.asarray(small.labels("targets", 1)) == 7).any()
    small.undo()  # the morph
    np.testing.assert_array_equal(small.labels("targets", 1), before)


# ------------------------------------------------------------------ copy, delete in box
def test_copy_into_an_empty_frame_keeps_identities(movie, session):
    session.set_labels("targets", 0, movie.labels["targets"][0])
    session.copy_labels("targets", 0, 1)
    np.testing.assert_array_equal(session.labels("targets", 1), movie.labels["targets"][0])


def test_copy_fill_empty_adds_the_missing_cells_with_their_track_label(movie, session):
    truth0, truth1 = movie.labels["targets"][0], movie.labels["targets"][1]
    session.set_labels("targets", 0, truth0)
    partial = truth1.copy()
    partial[partial == 3] = 0  # frame 1 missed cell 3
    session.set_labels("targets", 1, partial)
    session.copy_labels("targets", 0, 1)
    lab = np.asarray(session.labels("targets", 1))
    np.testing.assert_array_equal(lab[partial > 0], partial[partial > 0])
    assert iou(lab == 3, truth1 == 3) >= 0.5  # it moved a little between frames
    assert set(np.unique(lab)) == set(np.unique(truth1))


def test_copy_replace_keeps_the_target_frames_labels(movie, session):
    truth0, truth1 = movie.labels["targets"][0], movie.labels["targets"][1]
    session.set_labels("targets", 0, truth0)
    renamed = np.where(truth1 > 0, truth1 + 100, 0).astype(np.uint32)
    session.set_labels("targets", 1, renamed)
    session.copy_labels("targets", 0, 1, mode="replace")
    lab = np.asarray(session.labels("targets", 1))
    assert set(np.unique(lab)) == set(np.unique(renamed))
    for value in np.unique(truth0)[1:]:
        assert iou(lab == value + 100, truth0 == value) == 1.0


def test_copy_gives_new_labels_when_taken(small):
    lab = np.zeros((40, 50), np.uint32)
    lab[30:38, 2:10] = 1  # label 1 is another cell here
    small.set_labels("targets", 2, lab)
    new = small.new_label("targets")
    small.copy_labels("targets", 1, 2)
    out = np.asarray(small.labels("targets", 2))
    assert (out[5:15, 5:15] == new).all() and (out[20:35, 22:30] == 2).all()
    assert (out[30:38, 2:10] == 1).all()
    with pytest.raises(ValueError, match="mode: expected 'fill-empty' or 'replace'"):
        small.copy_labels("targets", 1, 2, mode="merge")
    with pytest.raises(ValueError, match="source_frame: 2 is the frame being edited"):
        small.copy_labels("targets", 2, 2)


def test_delete_in_box(small):
    # cell 1 fully inside, cell 2 one third inside: only cell 1 goes
    small.delete_in_box("targets", 1, (0, 25, 0, 40))
    lab = np.asarray(small.labels("targets", 1))
    assert 1 not in lab and (lab[20:35, 22:30] == 2).all()
    small.delete_in_box("targets", 1, (0, 25, 0, 40), min_fraction=0.3)
    assert np.asarray(small.labels("targets", 1)).max() == 0
    with pytest.raises(ValueError, match="bbox=.*outside the image"):
        small.delete_in_box("targets", 1, (0, 99, 0, 10))
    with pytest.raises(ValueError, match=r"min_fraction: expected a number in \(0, 1\]"):
        small.delete_in_box("targets", 0, (0, 10, 0, 10), min_fraction=2)


# ---------------------------------------------------------- one undo step, nothing else
TOOLS: dict[str, Callable[[Any], Any]] = {
    "segment_at": lambda s: s.segment_at("targets", 0, (25, 26), channels=[0], sigma=0),
    "wand": lambda s: s.wand("targets", 1, (0, 0), 0.5, label=9, channels=[0]),
    "split": lambda s: s.split("targets", 1, 2, [(21, 25), (33, 25)]),
    "merge": lambda s: s.merge("targets", 1, [1, 2]),
    "polygon": lambda s: s.polygon("targets", 1, [(0, 0), (0, 30), (30, 0)], 9),
    "morph": lambda s: s.morph("targets", 1, None, "grow", radius=3),
    "copy_labels": lambda s: s.copy_labels("targets", 1, 2),
    "delete_in_box": lambda s: s.delete_in_box("targets", 1, (0, 20, 0, 20)),
}


@pytest.mark.parametrize("tool", sorted(TOOLS))
def test_each_tool_is_one_undo_step_on_one_frame_of_one_population(small, tool):
    frames = {
        (p, t): np.asarray(small.labels(p, t)).copy()
        for p in small.populations
        for t in range(small.n_frames)
    }
    depth = len(small.history)
    change = TOOLS[tool](small)
    assert change is not None and change.population == "targets"
    assert len(small.history) == depth + 1
    for (p, t), before in frames.items():
        if (p, t) != ("targets", change.frame):
            np.testing.assert_array_equal(small.labels(p, t), before, err_msg=f"{p} {t}")
    edited = ("targets", change.frame)
    assert not np.array_equal(small.labels(*edited), frames[edited])
    small.undo()
    np.testing.assert_array_equal(small.labels(*edited), frames[edited])
    small.redo()
    small.undo()
    np.testing.assert_array_equal(small.labels(*edited), frames[edited])


ROI_TOOLS: dict[str, Callable[[Any, Any], Any]] = {
    "segment_at": lambda s, roi: s.segment_at("targets", 0, (25, 26), channels=[0], roi=roi),
    "wand": lambda s, roi: s.wand("targets", 1, (19, 45), 0.5, label=9, channels=[0], roi=roi),
    "split": lambda s, roi: s.split("targets", 1, 2, [(21, 25), (33, 25)], roi=roi),
    "merge": lambda s, roi: s.merge("targets", 1, [1, 2], roi=roi),
    "polygon": lambda s, roi: s.polygon("targets", 1, [(0, 0), (39, 49), (39, 0)], 9, roi=roi),
    "morph": lambda s, roi: s.morph("targets", 1, None, "grow", radius=3, roi=roi),
    "copy_labels": lambda s, roi: s.copy_labels("targets", 1, 2, mode="replace", roi=roi),
    "delete_in_box": lambda s, roi: s.delete_in_box("targets", 1, (0, 40, 0, 50), roi=roi),
}


@pytest.mark.parametrize("tool", sorted(ROI_TOOLS))
def test_each_tool_never_writes_outside_the_roi(small, tool):
    frame = {"copy_labels": 2, "segment_at": 0}.get(tool, 1)
    roi = small.add_roi(frame, rows=(18, 40), cols=(20, 50))
    before = np.asarray(small.labels("targets", frame)).copy()
    change = ROI_TOOLS[tool](small, roi)
    assert change is not None
    after = np.asarray(small.labels("targets", frame))
    outside = np.ones(after.shape, bool)
    outside[18:40, 20:50] = False
    np.testing.assert_array_equal(after[outside], before[outside])
    assert not np.array_equal(after, before)
