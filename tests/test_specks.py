"""Shift+q with "min px": the widget's ``morph remove_specks`` on every cell also deletes the
cells smaller than ``min_size`` (`Session.morph`), one undo step."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from segpaint.data import synthetic_timelapse
from segpaint.widgets import Annotator


@pytest.fixture(scope="module")
def movie() -> Any:
    return synthetic_timelapse(n_frames=1, seed=0)


def _specked(movie: Any) -> np.ndarray:
    """The true targets plus five 3x3 specks on background, apart from every cell."""
    lab = movie.labels["targets"][0].astype(np.uint32).copy()
    top = int(lab.max())
    k = 0
    for r in range(8, lab.shape[0] - 8, 24):
        for c in range(8, lab.shape[1] - 8, 24):
            if k < 5 and not lab[r - 3 : r + 4, c - 3 : c + 4].any():
                k += 1
                lab[r - 1 : r + 2, c - 1 : c + 2] = top + k
    assert len(np.unique(lab)) - 1 == top + 5
    return lab


@pytest.fixture
def annotated(movie: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    session = movie.open()
    session.set_labels("targets", 0, _specked(movie))
    session.history.clear()
    widget = Annotator(session, export_folder=tmp_path / "out", labels_folder=tmp_path / "labels")
    monkeypatch.setattr(widget, "send", lambda content, buffers=None: None)
    return session, widget


def _shift_q(widget: Annotator, **extra: Any) -> None:
    msg = {"type": "assist", "tool": "morph", "population": "targets", "frame": 0, "points": []}
    widget._handle_message({**msg, "op": "remove_specks", "label": 0, **extra}, [])


def test_shift_q_with_min_px_deletes_the_small_cells_as_session_morph_does(
    movie: Any, annotated: Any
) -> None:
    session, widget = annotated
    before = np.asarray(session.labels("targets", 0)).copy()
    areas = np.bincount(movie.labels["targets"][0].ravel())[1:]
    _shift_q(widget, min_size=int(areas.min()))  # just below the smallest real cell
    twin = movie.open()
    twin.set_labels("targets", 0, before)
    twin.morph("targets", 0, None, "remove_specks", min_size=int(areas.min()))
    after = np.asarray(session.labels("targets", 0))
    np.testing.assert_array_equal(after, np.asarray(twin.labels("targets", 0)))
    np.testing.assert_array_equal(after, movie.labels["targets"][0])  # every speck gone
    assert re.search(rf"cells under {areas.min()} px deleted", widget.status), widget.status
    session.undo()  # one step
    np.testing.assert_array_equal(np.asarray(session.labels("targets", 0)), before)
    assert not session.can_undo


def test_without_min_px_shift_q_keeps_small_cells(annotated: Any) -> None:
    session, widget = annotated
    before = np.asarray(session.labels("targets", 0)).copy()
    _shift_q(widget)
    np.testing.assert_array_equal(np.asarray(session.labels("targets", 0)), before)


@pytest.mark.parametrize("value", [-1, 2.5, "9", 10**9])
def test_a_bad_min_px_changes_nothing_and_says_why(annotated: Any, value: Any) -> None:
    session, widget = annotated
    before = np.asarray(session.labels("targets", 0)).copy()
    _shift_q(widget, min_size=value)
    assert re.search(r"assist refused: min_size must be an integer from 0 to \d+", widget.status)
    np.testing.assert_array_equal(np.asarray(session.labels("targets", 0)), before)
    assert not session.can_undo
