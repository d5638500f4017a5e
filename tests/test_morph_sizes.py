"""Shift+q's size limits (issue 11): ``Session.morph(..., "remove_specks", min_size=, max_size=)``
deletes every cell smaller than "min px" or larger than "max px" in one undo step, inside the ROI
lock only, and the widget's ``morph`` message carries ``max_size`` from the "max px" box."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import segpaint
from segpaint.widgets import Annotator


def _cells() -> np.ndarray:
    """A 1 px speck (1), a 2x2 cell (2), a 3x3 cell with a 1 px speck apart (3), a 6x6 cell (4)."""
    lab = np.zeros((20, 20), np.uint32)
    lab[0, 0] = 1
    lab[2:4, 2:4] = 2
    lab[6:9, 6:9] = 3
    lab[0, 19] = 3  # a speck of cell 3: removed, so cell 3 counts 9 px
    lab[12:18, 12:18] = 4
    return lab


@pytest.fixture
def session() -> segpaint.Session:
    s = segpaint.open(np.zeros((2, 20, 20)), axes="TYX", populations=["cells", "other"])
    s.set_labels("cells", 0, _cells())
    s.set_labels("cells", 1, _cells())
    s.set_labels("other", 0, _cells())
    return s


def test_max_size_deletes_the_large_cells_with_the_specks_in_one_undo_step(session):
    before = np.asarray(session.labels("cells", 0)).copy()
    session.morph("cells", 0, None, "remove_specks", max_size=9)
    lab = np.asarray(session.labels("cells", 0))
    expected = before.copy()
    expected[before == 4] = 0  # 36 px > 9
    expected[0, 19] = 0  # cell 3's speck; then cell 3 has 9 px: kept (not more than 9)
    np.testing.assert_array_equal(lab, expected)
    # both limits at once: cell 1 (1 px) goes too
    session.morph("cells", 0, None, "remove_specks", min_size=2, max_size=8)
    assert np.unique(session.labels("cells", 0)).tolist() == [0, 2]
    # other frames and populations untouched; one undo step each
    np.testing.assert_array_equal(session.labels("cells", 1), before)
    np.testing.assert_array_equal(session.labels("other", 0), before)
    session.undo()
    np.testing.assert_array_equal(session.labels("cells", 0), expected)
    session.undo()
    np.testing.assert_array_equal(session.labels("cells", 0), before)


def test_max_size_respects_the_roi_lock(session):
    before = np.asarray(session.labels("cells", 0)).copy()
    # the ROI holds cell 4's top-left 4x4 corner only: 16 px inside, over 9 => deleted there
    session.morph("cells", 0, None, "remove_specks", max_size=9, roi=(0, 16, 0, 16))
    lab = np.asarray(session.labels("cells", 0))
    assert (lab[12:16, 12:16] == 0).all()
    np.testing.assert_array_equal(lab[16:, :], before[16:, :])  # outside the ROI: kept
    np.testing.assert_array_equal(lab[:, 16:], before[:, 16:])  # (cell 3's speck too)
    np.testing.assert_array_equal(lab[:12, :16], before[:12, :16])  # cells 1-3: 9 px or less
    assert session.morph("cells", 0, None, "remove_specks", max_size=9, roi=(0, 16, 0, 16)) is None


def test_max_size_errors_name_the_parameter(session):
    with pytest.raises(
        ValueError,
        match=r"max_size: deletes large cells only with op='remove_specks' on every cell",
    ):
        session.morph("cells", 0, 4, "remove_specks", max_size=9)
    with pytest.raises(ValueError, match="max_size: deletes large cells only"):
        session.morph("cells", 0, None, "grow", max_size=9)
    with pytest.raises(
        ValueError, match=r"max_size: expected at least 1 pixel \(None: no limit\), got 0"
    ):
        session.morph("cells", 0, None, "remove_specks", max_size=0)
    with pytest.raises(TypeError, match="max_size: expected an integer number of pixels, got 2.5"):
        session.morph("cells", 0, None, "remove_specks", max_size=2.5)  # type: ignore[arg-type]
    np.testing.assert_array_equal(session.labels("cells", 0), _cells())


def test_the_widgets_shift_q_message_deletes_the_cells_over_max_px(session, tmp_path: Path):
    widget = Annotator(session, export_folder=tmp_path / "out", labels_folder=tmp_path / "labels")
    sent: list[Any] = []
    widget.send = lambda content, buffers=None: sent.append(content)  # type: ignore[method-assign]
    msg = {"type": "assist", "tool": "morph", "population": "cells", "frame": 0, "points": []}
    widget._handle_message(
        {**msg, "op": "remove_specks", "label": 0, "max_size": 9, "min_size": 2}, []
    )
    assert np.unique(session.labels("cells", 0)).tolist() == [0, 2, 3]
    assert "cells under 2 px deleted, cells over 9 px deleted" in widget.status, widget.status
    # on one cell (q) the box is not used: cell 4 keeps its pixels
    widget._handle_message({**msg, "op": "remove_specks", "label": 3, "max_size": 1}, [])
    assert (np.asarray(session.labels("cells", 0)) == 3).sum() == 9
    session.undo()
    np.testing.assert_array_equal(session.labels("cells", 0), _cells())
