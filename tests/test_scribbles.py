"""Scribbles (issue 12): per population and frame, beside the labels; one undo step each; the
Annotator's scribble messages and its "Train from scribbles" handler."""

from __future__ import annotations

import numpy as np
import pytest

import segpaint
from segpaint.metrics import match_instances
from sent import capture


@pytest.fixture
def session():
    return segpaint.open(np.zeros((3, 32, 40), np.uint16), axes="TYX", journal=False)


def test_scribble_marks_pixels_of_the_brush_and_never_labels(session):
    change = session.scribble("cells", 1, [(10, 5), (10, 15)], 2, mark=1)
    marks = session.scribbles("cells", 1)
    assert marks.dtype == np.uint8 and marks.shape == (32, 40)
    # the brush rasteriser: the same pixels session.paint would give
    session.paint("cells", 2, [(10, 5), (10, 15)], 2, 7)
    np.testing.assert_array_equal(marks == 1, np.asarray(session.labels("cells", 2)) == 7)
    assert change is not None and change.bbox == (8, 13, 3, 18)
    assert not np.asarray(session.labels("cells", 1)).any()  # labels untouched
    assert not session.scribbles("cells", 0).any()  # other frames untouched
    session.scribble("cells", 1, [(20, 20)], 3, mark=2)
    assert set(np.unique(session.scribbles("cells", 1))) == {0, 1, 2}
    assert session.scribbled_frames("cells") == [1]
    # mark 0 erases marks
    session.scribble("cells", 1, [(20, 20)], 5, mark=0)
    assert 2 not in session.scribbles("cells", 1)
    # the returned array is a copy
    session.scribbles("cells", 1)[:] = 2
    assert 2 not in session.scribbles("cells", 1)


def test_scribble_undo_redo_is_one_step_each(session):
    session.scribble("cells", 0, [(5, 5), (5, 30)], 2, mark=1)
    first = session.scribbles("cells", 0)
    session.scribble("cells", 0, [(5, 10), (25, 10)], 2, mark=2)
    both = session.scribbles("cells", 0)
    session.undo()
    np.testing.assert_array_equal(session.scribbles("cells", 0), first)
    session.undo()
    assert not session.scribbles("cells", 0).any()
    session.redo()
    session.redo()
    np.testing.assert_array_equal(session.scribbles("cells", 0), both)
    assert not np.asarray(session.labels("cells")).any()


def test_clear_scribbles_is_one_undo_step_over_frames(session):
    seen = []
    session.on_scribble(lambda *args: seen.append(args[:2]))
    session.scribble("cells", 0, [(5, 5)], 2, mark=1)
    session.scribble("cells", 2, [(5, 5)], 2, mark=2)
    assert session.clear_scribbles("cells") == [0, 2]
    assert session.scribbled_frames("cells") == []
    session.undo()
    assert session.scribbled_frames("cells") == [0, 2]
    assert session.clear_scribbles("cells", 2) == [2]
    assert session.scribbled_frames("cells") == [0]
    assert ("cells", 0) in seen and ("cells", 2) in seen


def test_scribble_errors_name_the_parameter(session):
    with pytest.raises(ValueError, match=r"mark must be 1 \(cell\), 2 \(background\) or 0"):
        session.scribble("cells", 0, [(1, 1)], 2, mark=3)
    with pytest.raises(ValueError, match="mark must be"):
        session.scribble("cells", 0, [(1, 1)], 2, mark=True)
    with pytest.raises(KeyError, match="population"):
        session.scribble("nope", 0, [(1, 1)], 2, mark=1)
    with pytest.raises((ValueError, IndexError), match="frame"):
        session.scribbles("cells", 9)


def test_scribbles_are_not_exported(session, tmp_path):
    import tifffile

    session.scribble("cells", 0, [(10, 10)], 4, mark=1)
    session.scribble("cells", 0, [(20, 30)], 4, mark=2)
    session.paint("cells", 0, [(25, 5)], 3, 4)
    roi = session.add_roi(0, rows=(0, 32), cols=(0, 40))
    files = session.export_roi("cells", roi, format="cellpose", folder=tmp_path)
    mask = [p for p in files if p.name.endswith("_masks.tif")]
    assert mask
    written = tifffile.imread(mask[0])
    np.testing.assert_array_equal(written > 0, np.asarray(session.labels("cells", 0)) > 0)


# ---------------------------------------------------------------- the Annotator's scribble mode
def _scribble_msg(frame, points, radius, mark, population="effectors"):
    return {
        "type": "scribble",
        "population": population,
        "frame": frame,
        "points": [[float(r), float(c)] for r, c in points],
        "radius": radius,
        "mark": mark,
    }


@pytest.fixture(scope="module")
def movie():
    from segpaint.data import synthetic_timelapse

    return synthetic_timelapse(n_frames=3, shape=(128, 128), seed=3)


def test_browser_scribbles_train_and_presegment_the_frame(movie, tmp_path, monkeypatch):
    """What the "Train from scribbles" button does, driven by the messages the browser sends: a
    few cell and background strokes, then train; the frame is pre-segmented by the new model."""
    from scipy import ndimage as ndi

    session = movie.open(journal=False)
    widget = session.annotator("effectors", export_folder=tmp_path, frame=1)
    sent = capture(widget, monkeypatch)
    truth = movie.labels["effectors"][1]
    # a short cell stroke through the middle of each effector nucleus (a user's click-drag)
    centres = ndi.center_of_mass(truth > 0, truth, range(1, int(truth.max()) + 1))
    for r, c in [p for p in centres if np.isfinite(p[0])][:8]:
        widget._handle_message(_scribble_msg(1, [(r, c - 1), (r, c + 1)], 1.5, 1), [])
    # background: lines through the empty space, and across a few targets (not this population)
    far = ~ndi.binary_dilation(truth > 0, iterations=5)
    for row in range(4, 128, 16):
        cols = np.flatnonzero(far[row])
        runs = np.split(cols, np.flatnonzero(np.diff(cols) > 1) + 1)
        for run in runs:
            if len(run) > 6:
                widget._handle_message(_scribble_msg(1, [(row, run[1]), (row, run[-2])], 1, 2), [])
    marks = session.scribbles("effectors", 1)
    assert (marks == 1).sum() > 50 and (marks == 2).sum() > 500
    assert not np.asarray(session.labels("effectors", 1)).any()
    assert not [c for c, _ in sent if c["type"] == "scribble-patch"]  # own strokes not echoed

    before = match_instances(truth, np.asarray(session.labels("effectors", 1)))
    widget._handle_message({"type": "train-scribbles"}, [])
    widget.wait(120)
    assert not widget.busy
    assert "model:" in widget.status, widget.status
    folder = widget.last_model
    assert folder is not None and (folder / "config_input.json").is_file()
    assert folder.parent == tmp_path / "models" / "segmentation_effectors"
    assert str(folder) in widget.status
    labels = np.asarray(session.labels("effectors", 1))
    result = match_instances(truth, labels)
    assert before.f1 == 0 and result.f1 > 0.5, result
    # the pre-segmentation is one undo step; the scribbles stay
    session.undo()
    assert not np.asarray(session.labels("effectors", 1)).any()
    np.testing.assert_array_equal(session.scribbles("effectors", 1), marks)


def test_train_from_scribbles_without_both_marks_says_what_to_do(movie, tmp_path):
    session = movie.open(journal=False)
    widget = session.annotator("effectors", export_folder=tmp_path)
    widget._handle_message(_scribble_msg(0, [(10, 10)], 3, 1), [])
    widget._handle_message({"type": "train-scribbles"}, [])
    assert "mark some cell" in widget.status and "background" in widget.status
    assert not widget.busy and widget.last_model is None


def test_scribble_messages_are_validated_and_undo_reaches_the_canvas(movie, monkeypatch):
    session = movie.open(journal=False)
    widget = session.annotator("effectors")
    sent = capture(widget, monkeypatch)
    widget._handle_message(_scribble_msg(0, [(float("nan"), 3)], 2, 1), [])
    assert widget.status.startswith("scribble refused: points must hold [row, col]")
    widget._handle_message(_scribble_msg(0, [(3, 3)], 2, 5), [])
    assert widget.status.startswith("scribble refused: mark must be an integer from 0 to 2")
    widget._handle_message(_scribble_msg(0, [(3, 3)] * 5000, 2, 1), [])
    assert "points must be a list of 1 to 4096" in widget.status
    widget._handle_message(_scribble_msg(0, [(3, 3)], 0.1, 1), [])
    assert "radius must be a number from 0.5" in widget.status
    assert not session.scribbled_frames("effectors")
    # refused: the canvas gets the session's marks of the whole frame back
    patches = [c for c, _ in sent if c["type"] == "scribble-patch"]
    assert patches and patches[-1]["bbox"] == [0, 128, 0, 128]
    sent.clear()
    widget._handle_message(_scribble_msg(0, [(20, 20)], 2, 2), [])
    assert session.scribbles("effectors", 0)[20, 20] == 2
    widget._handle_message({"type": "undo"}, [])
    assert not session.scribbled_frames("effectors")
    ((content, buffers),) = [(c, b) for c, b in sent if c["type"] == "scribble-patch"]
    r0, r1, c0, c1 = content["bbox"]
    values = np.frombuffer(buffers[0], np.uint8).reshape(r1 - r0, c1 - c0)
    assert (r0, c0) == (18, 18) and not values.any()  # the undone marks, now zeros
    # a scribble drawn from code shows on the canvas
    sent.clear()
    session.scribble("effectors", 0, [(40, 40)], 1, mark=1)
    assert [c["bbox"] for c, _ in sent if c["type"] == "scribble-patch"] == [
        [39, 42, 39, 42]
    ]  # radius 1: a plus
    widget._handle_message({"type": "clear-scribbles"}, [])
    assert widget.status == "scribbles cleared" and not session.scribbled_frames("effectors")


def test_scribble_steps_count_against_the_undo_budget():
    session = segpaint.open(np.zeros((1, 64, 64), np.uint8), axes="TYX", journal=False)
    session.scribble("cells", 0, [(10, 10)], 3, mark=1)
    one = session.history.nbytes
    assert one > 0  # old and new marks of the box are held
    session.history.budget_bytes = one  # room for one step: the older one goes
    session.scribble("cells", 0, [(40, 40)], 3, mark=2)
    assert len(session.history) == 1
    session.undo()
    assert session.scribbles("cells", 0)[40, 40] == 0 and session.scribbles("cells", 0)[10, 10] == 1
    assert session.undo() is None and session.scribbles("cells", 0)[10, 10] == 1
