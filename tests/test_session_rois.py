"""`Session.on_roi_change`: code that shows ROIs (the Annotator) hears about ROIs added or removed
anywhere else, e.g. in another notebook cell."""

from __future__ import annotations

import numpy as np
import pytest

import segpaint


@pytest.fixture
def session(stack: np.ndarray) -> segpaint.Session:
    return segpaint.open(stack, axes="TCYX")


def test_add_and_remove_call_back_with_the_frame(session: segpaint.Session) -> None:
    seen: list[tuple[int, list[tuple[int, int, int, int]]]] = []
    # Called after the change: the callback already sees the new ROIs.
    session.on_roi_change(lambda t: seen.append((t, [r.bbox for r in session.rois(t)])))
    roi = session.add_roi(2, rows=(10, 30), cols=(5, 25))
    session.add_roi(2, rows=(10, 30), cols=(5, 25))  # already there: no change, no call
    session.remove_roi(roi)
    assert seen == [(2, [(10, 30, 5, 25)]), (2, [])]


def test_refused_rois_call_nothing(session: segpaint.Session) -> None:
    seen: list[int] = []
    session.on_roi_change(seen.append)
    with pytest.raises(ValueError, match="empty or reversed"):
        session.add_roi(0, rows=(30, 10), cols=(0, 5))
    with pytest.raises(KeyError, match="not an ROI of this session"):
        session.remove_roi(segpaint.session.ROI(0, 0, 5, 0, 5))
    assert seen == []


def test_unsubscribe_stops_the_calls(session: segpaint.Session) -> None:
    seen: list[int] = []
    unsubscribe = session.on_roi_change(seen.append)
    session.add_roi(0, rows=(0, 4), cols=(0, 4))
    unsubscribe()
    unsubscribe()  # twice is harmless
    session.add_roi(1, rows=(0, 4), cols=(0, 4))
    assert seen == [0]
    assert len(session.rois()) == 2


def test_a_failing_callback_is_reported_after_the_change(session: segpaint.Session) -> None:
    seen: list[int] = []

    def broken(frame: int) -> None:
        raise ValueError("boom")

    session.on_roi_change(broken)
    session.on_roi_change(seen.append)
    with pytest.raises(RuntimeError, match="on_roi_change callback failed.*boom"):
        session.add_roi(1, rows=(0, 4), cols=(0, 4))
    assert [r.bbox for r in session.rois(1)] == [(0, 4, 0, 4)]  # the ROI is there
    assert seen == [1]  # and the other callback heard of it


def test_the_callback_must_be_callable(session: segpaint.Session) -> None:
    with pytest.raises(TypeError, match="callback must be callable; got 3"):
        session.on_roi_change(3)  # type: ignore[arg-type]
