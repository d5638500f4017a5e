"""The whole-frame outline fix through the widget's ``assist`` message (key ``a`` / ``A`` and
the "snap" button send it): the kernel's labels become what `Session.refine` gives."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from segpaint.data import synthetic_timelapse
from segpaint.ops._morph_all import grow_all
from segpaint.widgets import Annotator


@pytest.fixture(scope="module")
def movie() -> Any:
    return synthetic_timelapse(n_frames=2, seed=0)


@pytest.fixture
def annotated(movie: Any, tmp_path: Path) -> Any:
    """An Annotator showing the nuclei channel, every target 2 px too wide on frame 0."""
    session = movie.open()
    widget = Annotator(session, export_folder=tmp_path / "out", labels_folder=tmp_path / "labels")
    widget.channel_visible = [name == "nuclei" for name in session.channel_names]
    wide = grow_all(movie.labels["targets"][0].astype(np.uint32), 2)
    session.set_labels("targets", 0, wide)
    return session, widget, wide


def _refine(widget: Annotator, label: int, points: list[Any] | None = None) -> None:
    msg = {"type": "assist", "tool": "refine", "population": "targets", "frame": 0}
    widget._handle_message({**msg, "points": points or [], "label": label}, [])


def _lab(session: Any, frame: int = 0) -> np.ndarray:
    return np.asarray(session.labels("targets", frame)).copy()


def test_the_message_does_what_session_refine_does(movie: Any, annotated: Any) -> None:
    session, widget, wide = annotated
    twin = movie.open()
    twin.set_labels("targets", 0, wide)
    channels, limits = widget._assist_channels()
    twin.refine("targets", 0, channels=channels, limits=limits)
    other = _lab(session, 1)
    _refine(widget, 0)  # Shift+a: every cell
    assert widget.status.startswith("refine: outlines snapped"), widget.status
    assert "every cell" in widget.status
    after = _lab(session)
    np.testing.assert_array_equal(after, np.asarray(twin.labels("targets", 0)))
    assert (after != wide).sum() > 100  # the outlines moved
    truth = movie.labels["targets"][0]
    assert ((after > 0) == (truth > 0)).mean() > ((wide > 0) == (truth > 0)).mean()
    np.testing.assert_array_equal(_lab(session, 1), other)
    session.undo()
    np.testing.assert_array_equal(_lab(session), wide)


def test_one_cell_and_the_roi_lock(annotated: Any) -> None:
    session, widget, wide = annotated
    _refine(widget, 3)  # a: the selected cell only
    after = _lab(session)
    changed = set(np.unique(np.concatenate([after[after != wide], wide[after != wide]])).tolist())
    assert changed == {0, 3}, changed
    assert widget.status.startswith("refine: outlines snapped to the image's edges on cell 3")
    session.undo()
    session.add_roi(0, (0, 128), (0, 128))
    widget.lock_to_roi = True
    _refine(widget, 0)
    after = _lab(session)
    assert "every cell in the ROI" in widget.status
    outside = np.ones_like(after, bool)
    outside[:128, :128] = False
    np.testing.assert_array_equal(after[outside], wide[outside])
    assert (after[:128, :128] != wide[:128, :128]).any()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"label": None}, "label must be an integer"),
        ({"label": 999}, "assist failed: label: 999 is not in frame 0"),
        ({"points": [[1, 2], [3, 4]]}, "points"),
    ],
)
def test_a_bad_refine_message_changes_nothing(
    annotated: Any, change: dict[str, Any], message: str
) -> None:
    session, widget, wide = annotated
    msg = {"type": "assist", "tool": "refine", "population": "targets", "frame": 0, "label": 0}
    widget._handle_message({**msg, **change}, [])
    assert re.search(message, widget.status), widget.status
    np.testing.assert_array_equal(_lab(session), wide)


def test_the_first_snap_says_the_numba_kernels_compile(
    annotated: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A first refine that compiles (seconds) is announced before the call blocks."""
    from segpaint.widgets import _annotator

    session, widget, wide = annotated
    statuses: list[str] = []
    widget.observe(lambda change: statuses.append(change["new"]), names="status")
    monkeypatch.setattr(_annotator, "kernels_ready", lambda: False)
    _refine(widget, 0)
    assert "compiling the numba kernels" in statuses[0], statuses
    assert widget.status.startswith("refine: outlines snapped"), widget.status
    assert (_lab(session) != wide).sum() > 100
    statuses.clear()
    monkeypatch.setattr(_annotator, "kernels_ready", lambda: True)
    _refine(widget, 0)
    assert not any("compiling" in text for text in statuses), statuses
