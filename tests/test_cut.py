"""The split tool's Shift-drag (issue 11): ``Session.cut`` cuts the cell a drawn line crosses
exactly along the line: one undo step, new labels for the other parts, nothing else changed,
the ROI lock respected, errors that say how to draw it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import segpaint
from segpaint.widgets import Annotator


def _frame() -> np.ndarray:
    """Cell 3: rows 2-9, cols 2-17 (8x16); cell 5 below it: rows 12-15, cols 2-6."""
    lab = np.zeros((18, 20), np.uint32)
    lab[2:10, 2:18] = 3
    lab[12:16, 2:7] = 5
    return lab


@pytest.fixture
def session() -> segpaint.Session:
    s = segpaint.open(np.zeros((2, 18, 20)), axes="TYX", populations=["cells", "other"])
    for t in range(2):
        s.set_labels("cells", t, _frame())
    s.set_labels("other", 0, _frame())
    return s


def test_a_line_across_a_cell_cuts_it_exactly_there_in_one_undo_step(session):
    before = _frame()
    session.cut("cells", 0, [(0, 12), (11, 12)])  # a vertical line at col 12, off the cell's ends
    lab = np.asarray(session.labels("cells", 0))
    # the largest part (cols 2-11) keeps 3, the other (cols 13-17) gets one new label
    new = int(lab[5, 15])
    assert new not in (0, 3, 5)
    assert (lab[2:10, 2:12] == 3).all() and (lab[2:10, 13:18] == new).all()
    assert set(np.unique(lab[2:10, 12]).tolist()) <= {3, new}  # the line joins a side
    np.testing.assert_array_equal(lab != 0, before != 0)  # no pixel gained or lost
    np.testing.assert_array_equal(lab == 5, before == 5)  # the other cell untouched
    np.testing.assert_array_equal(session.labels("cells", 1), before)
    np.testing.assert_array_equal(session.labels("other", 0), before)
    session.undo()
    np.testing.assert_array_equal(session.labels("cells", 0), before)


def test_a_slanted_line_leaves_no_4_connected_leak(session):
    before = _frame()
    session.cut("cells", 0, [(1, 4), (10, 15)])
    lab = np.asarray(session.labels("cells", 0))
    rows, cols = np.nonzero(before == 3)
    side = (cols - 4) * 9 - (rows - 1) * 11  # > 0: right of the line (row 1, col 4)->(10, 15)
    values = lab[rows, cols]
    far_right = values[side > 20]
    far_left = values[side < -20]
    assert len(set(far_right.tolist())) == 1 and len(set(far_left.tolist())) == 1
    assert far_right[0] != far_left[0]


def test_the_roi_lock_keeps_the_outside(session):
    before = _frame()
    session.cut("cells", 0, [(0, 12), (11, 12)], roi=(0, 18, 0, 15))
    lab = np.asarray(session.labels("cells", 0))
    np.testing.assert_array_equal(lab[:, 15:], before[:, 15:])
    assert (lab[2:10, 13:15] != 3).all()  # the cut part inside the ROI got the new label


def test_cut_errors_say_how_to_draw_the_line(session):
    with pytest.raises(ValueError, match="line: it crosses no cell; draw the cut across the cell"):
        session.cut("cells", 0, [(0, 0), (0, 19)])
    with pytest.raises(
        ValueError, match="line: it does not cut cell 3 in two; draw it across the whole cell"
    ):
        session.cut("cells", 0, [(0, 12), (5, 12)])  # stops inside the cell
    with pytest.raises(ValueError, match=r"line: expected two or more \(row, col\) vertices"):
        session.cut("cells", 0, [(3, 3)])
    np.testing.assert_array_equal(session.labels("cells", 0), _frame())


def test_the_widgets_shift_drag_with_the_split_tool_cuts(session, tmp_path: Path):
    widget = Annotator(session, export_folder=tmp_path / "out", labels_folder=tmp_path / "labels")
    sent: list[Any] = []
    widget.send = lambda content, buffers=None: sent.append(content)  # type: ignore[method-assign]
    msg = {"type": "assist", "tool": "cut", "population": "cells", "frame": 0}
    widget._handle_message({**msg, "points": [[0, 12], [6, 12], [11, 12]]}, [])
    lab = np.asarray(session.labels("cells", 0))
    assert lab[5, 4] == 3 and lab[5, 15] not in (0, 3)
    assert widget.status.startswith("cut: cut cell 3 along the line"), widget.status
    session.undo()
    np.testing.assert_array_equal(session.labels("cells", 0), _frame())
    widget._handle_message({**msg, "points": [[0, 0], [0, 19]]}, [])
    assert "crosses no cell" in widget.status, widget.status
