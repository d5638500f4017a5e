"""Editing through the Session: strokes, fill, patches, new labels, undo/redo, change events."""

from __future__ import annotations

import numpy as np
import pytest

import segpaint
from segpaint import ops


@pytest.fixture
def session(stack):
    return segpaint.open(stack, populations=["targets", "effectors"])


def test_paint_changes_exactly_the_stroke(session):
    change = session.paint("targets", 1, [(10, 10), (30, 60)], radius=4, label=3)
    bbox, mask = ops.stroke_mask((64, 80), [(10, 10), (30, 60)], 4)
    expected = np.zeros((64, 80), np.uint32)
    expected[ops.bbox_slices(bbox)][mask] = 3
    np.testing.assert_array_equal(session.labels("targets", 1), expected)
    assert change is not None and change.bbox == bbox and change.frame == 1


def test_edit_never_touches_other_frames_or_populations(session):
    session.paint("targets", 1, [(10, 10), (30, 60)], radius=4, label=3)
    assert session.labels("targets", 0).max() == 0
    assert session.labels("targets", 2).max() == 0
    assert session.labels("effectors", 1).max() == 0
    assert np.asarray(session.labels("targets")).shape == (3, 64, 80)


def test_paint_inside_roi_only(session):
    roi = session.add_roi(0, rows=(20, 40), cols=(20, 40))
    session.paint("targets", 0, [(30, 0), (30, 79)], radius=5, label=2, roi=roi)
    lab = session.labels("targets", 0)
    outside = np.ones(lab.shape, bool)
    outside[20:40, 20:40] = False
    assert lab[outside].max() == 0
    assert (lab[25:35, 20:40] == 2).all()


def test_preserve_labels_paints_background_only(session):
    session.paint("targets", 0, [(30, 30)], radius=6, label=1)
    session.paint("targets", 0, [(30, 20), (30, 45)], radius=3, label=2, preserve_labels=True)
    lab = session.labels("targets", 0)
    assert lab[30, 30] == 1  # kept
    assert lab[30, 20] == 2 and lab[30, 45] == 2


def test_erase(session):
    session.paint("targets", 0, [(30, 30)], radius=6, label=1)
    session.erase("targets", 0, [(30, 30)], radius=2)
    lab = session.labels("targets", 0)
    assert lab[30, 30] == 0 and lab[30, 35] == 1


def test_fill_with_zero_deletes_the_cell(session):
    session.paint("targets", 0, [(10, 10)], radius=4, label=1)
    session.paint("targets", 0, [(40, 60)], radius=4, label=2)
    session.fill("targets", 0, (10, 10), 0)
    lab = session.labels("targets", 0)
    assert not (lab == 1).any()
    assert (lab == 2).sum() == len(ops.disk_offsets(4))


def test_fill_background_region(session):
    session.paint("targets", 0, [(0, 40), (63, 40)], radius=1, label=1)  # a wall
    session.fill("targets", 0, (5, 5), 9)
    lab = session.labels("targets", 0)
    assert (lab[:, :39] == 9).all() and (lab[:, 42:] == 0).all()


def test_fill_same_label_is_a_no_op(session):
    session.paint("targets", 0, [(10, 10)], radius=4, label=1)
    assert session.fill("targets", 0, (10, 10), 1) is None
    assert len(session.history) == 1


def test_apply_patch_and_mask(session):
    values = np.full((4, 5), 6, np.uint32)
    mask = np.zeros((4, 5), bool)
    mask[1:3, 1:4] = True
    session.apply_patch("targets", 2, (10, 14, 20, 25), values, mask=mask)
    lab = session.labels("targets", 2)
    assert lab.sum() == 6 * 6 and (lab[11:13, 21:24] == 6).all()
    with pytest.raises(ValueError, match=r"values must have shape \(4, 5\)"):
        session.apply_patch("targets", 2, (10, 14, 20, 25), np.zeros((5, 5)))
    with pytest.raises(ValueError, match="outside the image"):
        session.apply_patch("targets", 2, (60, 70, 0, 5), np.zeros((10, 5)))


def test_new_label_over_whole_population(session):
    assert session.new_label("targets") == 1
    session.paint("targets", 2, [(5, 5)], radius=2, label=41)
    assert session.new_label("targets") == 42
    session.fill("targets", 2, (5, 5), 0)
    assert session.new_label("targets") == 1
    assert session.new_label("effectors") == 1


def test_undo_redo_bit_exact_across_frames_and_populations(session):
    rng = np.random.default_rng(1)
    snapshots = []
    for i in range(6):
        snapshots.append({p: np.asarray(session.labels(p)).copy() for p in session.populations})
        pop = session.populations[i % 2]
        pts = rng.uniform(0, 60, size=(3, 2))
        session.paint(pop, i % 3, pts, radius=3, label=i + 1)
    final = {p: np.asarray(session.labels(p)).copy() for p in session.populations}
    for snap in reversed(snapshots):
        assert session.undo() is not None
        for p in session.populations:
            np.testing.assert_array_equal(session.labels(p), snap[p])
    assert session.undo() is None
    for _ in snapshots:
        session.redo()
    for p in session.populations:
        np.testing.assert_array_equal(session.labels(p), final[p])


def test_new_edit_clears_redo(session):
    session.paint("targets", 0, [(10, 10)], 3, 1)
    session.undo()
    assert session.can_redo
    session.paint("targets", 0, [(20, 20)], 3, 2)
    assert not session.can_redo and session.redo() is None


def test_history_stores_only_changed_box(session):
    # A brush stroke is one label under a mask: the step holds the box's old values (none when
    # they were all background) and the changed pixels as bits (7 bytes for the 7 x 7 box).
    session.paint("targets", 0, [(10, 10)], 3, 1)
    assert session.history.nbytes == 4 + 7
    session.paint("targets", 0, [(10, 10)], 3, 2)  # over label 1: its old values are kept
    assert session.history.nbytes == (4 + 7) + (7 * 7 * 4 + 7)
    session.undo()
    session.undo()
    assert not session.labels("targets", 0).any()
    session.redo()
    session.redo()
    expected = np.zeros(session.frame_shape, np.uint32)
    (r0, r1, c0, c1), mask = ops.stroke_mask(session.frame_shape, [(10, 10)], 3)
    expected[r0:r1, c0:c1][mask] = 2
    np.testing.assert_array_equal(session.labels("targets", 0), expected)


def test_history_byte_budget_drops_oldest(stack):
    s = segpaint.open(stack, history_bytes=3 * (4 + 7))
    for i in range(5):
        s.paint("cells", 0, [(10, 10 + 10 * i)], 3, i + 1)
    assert len(s.history) == 3
    for _ in range(3):
        s.undo()
    assert s.undo() is None
    lab = s.labels("cells", 0)
    assert lab[10, 10] == 1 and lab[10, 20] == 2 and lab[10, 30] == 0


def test_on_change_reports_every_edit_undo_redo(session):
    events = []
    unsubscribe = session.on_change(lambda p, t, b: events.append((p, t, b)))
    session.paint("targets", 1, [(10, 10)], 2, 1)
    session.fill("targets", 1, (10, 10), 4)
    session.undo()
    session.redo()
    assert [e[:2] for e in events] == [("targets", 1)] * 4
    assert events[0][2] == (8, 13, 8, 13)
    unsubscribe()
    session.paint("targets", 1, [(30, 30)], 2, 1)
    assert len(events) == 4


def test_labels_are_read_only(session):
    with pytest.raises(ValueError, match="read-only"):
        session.labels("targets", 0)[0, 0] = 5


def test_set_labels_is_one_undo_step(session):
    new = np.zeros((64, 80), np.uint16)
    new[:10, :10] = 3
    change = session.set_labels("targets", 0, new)
    assert change is not None and change.bbox == (0, 10, 0, 10)
    session.undo()
    assert session.labels("targets", 0).max() == 0


def test_initial_labels_passed_to_open(stack):
    lab = np.zeros((3, 64, 80), np.int32)
    lab[1, 5:9, 5:9] = 12
    s = segpaint.open(stack, labels={"nuclei": lab})
    assert s.populations == ["cells", "nuclei"]
    np.testing.assert_array_equal(s.labels("nuclei", 1), lab[1])
    assert s.new_label("nuclei") == 13
    assert not s.can_undo


def test_rois(session):
    a = session.add_roi(0, rows=(-5, 20), cols=(10, 500))
    assert (a.row0, a.row1, a.col0, a.col1) == (0, 20, 10, 80)
    b = session.add_roi(0, rows=(30, 40), cols=(0, 10))
    session.add_roi(1, rows=(1, 2), cols=(1, 2))
    assert session.rois(0) == [a, b]
    assert len(session.rois()) == 3
    session.remove_roi(a)
    assert session.rois(0) == [b]
    with pytest.raises(KeyError, match="not an ROI of this session"):
        session.remove_roi(a)
