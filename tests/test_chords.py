"""Modifier clicks (issue 11): Ctrl/Cmd+click deletes the cell under the pointer
(`Session.delete_label`, the ``delete-cell`` message), whatever the tool."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import segpaint
from segpaint.data import synthetic_timelapse
from segpaint.widgets import Annotator


@pytest.fixture(scope="module")
def movie() -> Any:
    return synthetic_timelapse(n_frames=2, seed=0)


def _lab(session: Any, frame: int = 0, population: str = "targets") -> np.ndarray:
    return np.asarray(session.labels(population, frame)).copy()


def _centre(mask: np.ndarray) -> tuple[int, int]:
    from scipy import ndimage as ndi

    r, c = np.unravel_index(np.argmax(ndi.distance_transform_edt(mask)), mask.shape)
    return int(r), int(c)


# ------------------------------------------------------------------ Session.delete_label
def _small() -> Any:
    s = segpaint.open(np.zeros((2, 12, 12)), axes="TYX", populations=["cells", "other"])
    lab = np.zeros((12, 12), np.uint32)
    lab[1:4, 1:5] = 4
    lab[6:10, 6:11] = 7
    lab[0, 11] = 4  # a second piece of cell 4, far from the first
    for t in (0, 1):
        s.set_labels("cells", t, lab)
        s.set_labels("other", t, lab)
    s.history.clear()
    return s, lab


def test_delete_label_clears_every_pixel_of_that_cell_in_one_undo_step() -> None:
    s, lab = _small()
    change = s.delete_label("cells", 0, 4)
    assert change is not None and change.frame == 0 and change.population == "cells"
    expected = np.where(lab == 4, 0, lab)
    np.testing.assert_array_equal(_lab(s, 0, "cells"), expected)
    # never another frame or population
    np.testing.assert_array_equal(_lab(s, 1, "cells"), lab)
    np.testing.assert_array_equal(_lab(s, 0, "other"), lab)
    s.undo()
    np.testing.assert_array_equal(_lab(s, 0, "cells"), lab)
    assert not s.can_undo
    s.redo()
    np.testing.assert_array_equal(_lab(s, 0, "cells"), expected)


def test_delete_label_inside_an_roi_keeps_the_cell_outside_it() -> None:
    s, lab = _small()
    s.delete_label("cells", 0, 4, roi=(0, 12, 0, 3))
    expected = lab.copy()
    expected[:, :3][expected[:, :3] == 4] = 0
    np.testing.assert_array_equal(_lab(s, 0, "cells"), expected)
    # an ROI holding none of the cell: nothing changes, no undo step
    s.history.clear()
    assert s.delete_label("cells", 0, 7, roi=(0, 5, 0, 5)) is None
    assert not s.can_undo
    roi = s.add_roi(1, (0, 5), (0, 5))
    with pytest.raises(ValueError, match="roi is on frame 1 but the edit is on frame 0"):
        s.delete_label("cells", 0, 4, roi=roi)


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        ((0, 0), ValueError, "label: 0 is the background"),
        ((0, 9), ValueError, r"label: 9 is not in frame 0 of 'cells'; pick a label that exists"),
        ((0, -1), ValueError, "label=-1"),
        ((0, 2.5), TypeError, "label must be a non-negative integer; got 2.5"),
        ((5, 4), (ValueError, IndexError), "frame"),
    ],
)
def test_delete_label_refuses_what_it_cannot_delete(
    args: tuple[Any, Any], error: Any, message: str
) -> None:
    s, lab = _small()
    with pytest.raises(error, match=message):
        s.delete_label("cells", *args)
    np.testing.assert_array_equal(_lab(s, 0, "cells"), lab)
    assert not s.can_undo


# ------------------------------------------------------------------ the delete-cell message
@pytest.fixture
def annotated(movie: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    session = movie.open()
    session.set_labels("targets", 0, movie.labels["targets"][0])
    session.set_labels("targets", 1, movie.labels["targets"][1])
    session.set_labels("effectors", 0, movie.labels["effectors"][0])
    session.history.clear()
    widget = Annotator(session, export_folder=tmp_path / "out", labels_folder=tmp_path / "labels")
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(widget, "send", lambda content, buffers=None: sent.append(content))
    return session, widget, sent


def _ctrl_click(widget: Annotator, point: tuple[int, int], label: int, **extra: Any) -> None:
    msg = {"type": "delete-cell", "population": "targets", "frame": 0, "points": [list(point)]}
    widget._handle_message({**msg, "label": label, **extra}, [])


def test_ctrl_click_deletes_the_cell_as_session_delete_label_does(
    movie: Any, annotated: Any
) -> None:
    session, widget, sent = annotated
    truth = movie.labels["targets"][0]
    before = _lab(session)
    point = _centre(truth == 5)
    _ctrl_click(widget, point, 5)
    # the same as the Session method on a twin session
    twin = movie.open()
    twin.set_labels("targets", 0, truth)
    twin.delete_label("targets", 0, 5)
    np.testing.assert_array_equal(_lab(session), _lab(twin))
    assert 5 not in _lab(session) and (before == 5).sum() > 50
    assert widget.status.startswith("deleted cell 5 (Ctrl+click")
    assert any(m.get("type") == "labels-patch" for m in sent), [m.get("type") for m in sent]
    np.testing.assert_array_equal(_lab(session, 1), movie.labels["targets"][1])
    np.testing.assert_array_equal(_lab(session, 0, "effectors"), movie.labels["effectors"][0])
    session.undo()  # one undo step
    np.testing.assert_array_equal(_lab(session), before)
    assert not session.can_undo


def test_ctrl_click_respects_the_roi_lock(movie: Any, annotated: Any) -> None:
    session, widget, _ = annotated
    truth = movie.labels["targets"][0]
    before = _lab(session)
    r, c = _centre(truth == 5)
    session.add_roi(0, (r - 2, r + 40), (c - 40, c + 40))
    widget.lock_to_roi = True
    outside = (r - 5, c)
    _ctrl_click(widget, outside, int(before[outside]))
    assert "edits are locked to ROIs and (" in widget.status
    np.testing.assert_array_equal(_lab(session), before)
    _ctrl_click(widget, (r, c), 5)
    lab = _lab(session)
    assert not (lab[r - 2 : r + 40, c - 40 : c + 40] == 5).any()
    np.testing.assert_array_equal(lab[: r - 2] == 5, truth[: r - 2] == 5)  # kept outside
    assert (truth[: r - 2] == 5).any()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"label": 6}, r"the cell under \[\d+, \d+\] is now 5, not the 6 shown; nothing deleted"),
        ({"points": [[0, 0]], "label": 0}, r"background at \[0, 0\], no cell to delete"),
        ({"points": [[float("nan"), 3]]}, r"delete-cell refused: points\[0\] row must be"),
        ({"points": [[3, 3], [4, 4]]}, "delete-cell refused: points must be a list of 1 to 1"),
        ({"frame": 9}, "delete-cell refused: frame must be an integer from 0 to 1"),
        ({"population": "../x"}, "delete-cell refused: population must be one of"),
        ({"label": -1}, "delete-cell refused: label must be an integer from 0"),
    ],
)
def test_a_bad_delete_cell_message_changes_nothing_and_says_why(
    movie: Any, annotated: Any, change: dict[str, Any], message: str
) -> None:
    session, widget, _ = annotated
    before = _lab(session)
    assert before[0, 0] == 0
    msg = {"type": "delete-cell", "population": "targets", "frame": 0, "label": 5}
    widget._handle_message(
        {**msg, "points": [list(_centre(movie.labels["targets"][0] == 5))], **change}, []
    )
    assert re.search(message, widget.status), widget.status
    np.testing.assert_array_equal(_lab(session), before)
    assert not session.can_undo


def test_a_ctrl_click_on_the_position_left_deletes_nothing(
    write_experiment: Any, stack: np.ndarray, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tifffile

    root = write_experiment(tmp_path / "Exp", stack)
    other = root / "W1" / "101" / "movie"
    other.mkdir(parents=True)
    tifffile.imwrite(other / "Aligned.tif", stack, imagej=True, metadata={"axes": "TCYX"})
    experiment = segpaint.open_experiment(root)
    lab = np.zeros(stack.shape[2:], np.uint32)
    lab[10:20, 10:20] = 5
    for well, pos in (("W1", "100"), ("W1", "101")):
        experiment[well, pos].set_labels("targets", 0, lab)
    widget = experiment.annotator(position="W1/101")
    monkeypatch.setattr(widget, "send", lambda content, buffers=None: None)
    msg = {"type": "delete-cell", "population": "targets", "frame": 0, "points": [[15, 15]]}
    widget._handle_message({**msg, "label": 5, "position": "W1/100"}, [])
    assert widget.status.startswith(
        "delete (Ctrl+click) not done: it was clicked on position 'W1/100', but the widget "
        "shows 'W1/101' now"
    )
    for well, pos in (("W1", "100"), ("W1", "101")):
        np.testing.assert_array_equal(experiment[well, pos].labels("targets", 0), lab)
    widget._handle_message({**msg, "label": 5, "position": "W1/101"}, [])
    assert not experiment["W1", "101"].labels("targets", 0).any()
    np.testing.assert_array_equal(experiment["W1", "100"].labels("targets", 0), lab)
