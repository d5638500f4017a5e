"""Session behaviours the Annotator used to do itself: edit notifications with an origin and the
next label, edits clipped to several ROIs, moving an ROI in one step, exporting a frame's ROIs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import segpaint
from segpaint.session import Change, RoiExport

LABEL_MAX = 2**32 - 1


@pytest.fixture
def session(stack: np.ndarray) -> segpaint.Session:
    return segpaint.open(stack, axes="TCYX", pixel_size_um=0.5)


# --------------------------------------------------------------------------- on_edit, origin
def test_edit_events_carry_the_origin_and_the_next_label(session: segpaint.Session) -> None:
    seen: list[Change] = []
    session.on_edit(seen.append)
    me = object()
    change = session.paint("cells", 0, [(10, 10)], 3, 7, origin=me)
    assert change is not None and change.origin is me
    session.fill("cells", 1, (5, 5), 40, origin="fill")
    session.apply_patch("cells", 2, (0, 2, 0, 2), np.full((2, 2), 12), origin="patch")
    session.undo(origin="undo")
    session.redo(origin="redo")
    session.set_labels("cells", 2, np.zeros((64, 80), np.uint32), origin="set")
    assert [(c.frame, c.origin, c.next_label) for c in seen] == [
        (0, me, 8),
        (1, "fill", 41),
        (2, "patch", 41),
        (2, "undo", 41),
        (2, "redo", 41),
        (2, "set", 41),
    ]
    assert seen[0].bbox == change.bbox


def test_the_next_label_is_zero_once_the_largest_label_is_used(session: segpaint.Session) -> None:
    seen: list[Change] = []
    session.on_edit(seen.append)
    session.paint("cells", 0, [(10, 10)], 2, LABEL_MAX)
    assert seen[-1].next_label == 0
    session.undo()
    assert seen[-1].next_label == 1


def test_on_change_is_a_thin_wrapper_and_failures_are_reported(session: segpaint.Session) -> None:
    calls: list[tuple[str, int, tuple[int, ...]]] = []
    stop = session.on_change(lambda p, f, b: calls.append((p, f, b)))
    change = session.paint("cells", 1, [(3, 3)], 1, 2, origin="x")
    assert calls == [("cells", 1, change.bbox)]
    stop()
    session.on_edit(lambda c: 1 / 0)
    with pytest.raises(RuntimeError, match="on_change callback failed after the edit was applied"):
        session.paint("cells", 1, [(30, 30)], 1, 2)
    assert (np.asarray(session.labels("cells", 1))[30, 30]) == 2  # the edit stays
    with pytest.raises(TypeError, match="callback must be callable"):
        session.on_edit("print")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- clips
def two_rois(session: segpaint.Session) -> None:
    session.add_roi(0, rows=(0, 20), cols=(0, 20))
    session.add_roi(0, rows=(40, 64), cols=(40, 80))


def test_a_stroke_clipped_to_the_frames_rois_changes_only_pixels_inside_them(
    session: segpaint.Session,
) -> None:
    two_rois(session)
    session.paint("cells", 0, [(10, 0), (10, 79), (50, 79), (50, 0)], 3, 5, clip_to_rois=True)
    labels = np.asarray(session.labels("cells", 0))
    inside = np.zeros(labels.shape, bool)
    inside[0:20, 0:20] = inside[40:64, 40:80] = True
    assert (labels[inside] == 5).sum() > 100
    assert (labels[~inside] == 0).all()
    # The same with the ROIs given as a list.
    session.undo()
    rois = session.rois(0)
    session.paint("cells", 0, [(10, 0), (10, 79), (50, 79), (50, 0)], 3, 5, roi=rois)
    np.testing.assert_array_equal(session.labels("cells", 0), labels)


def test_a_fill_clipped_to_several_rois_never_leaks_between_them(
    session: segpaint.Session,
) -> None:
    two_rois(session)
    # All background is one connected region: the fill must stay in the ROI of its seed... and
    # in the other ROI only through pixels inside the ROIs (there are none between them).
    session.fill("cells", 0, (5, 5), 9, clip_to_rois=True)
    labels = np.asarray(session.labels("cells", 0))
    assert (labels[0:20, 0:20] == 9).all()
    assert (labels == 9).sum() == 20 * 20
    with pytest.raises(ValueError, match=r"seed \(30, 30\) is outside the ROIs"):
        session.fill("cells", 0, (30, 30), 9, clip_to_rois=True)


def test_a_browser_patch_clipped_to_the_rois(session: segpaint.Session) -> None:
    two_rois(session)
    change = session.apply_patch(
        "cells", 0, (10, 50, 10, 50), np.full((40, 40), 3), clip_to_rois=True
    )
    assert change is not None
    labels = np.asarray(session.labels("cells", 0))
    assert (labels[10:20, 10:20] == 3).all() and (labels[40:50, 40:50] == 3).all()
    assert (labels == 3).sum() == 200


def test_clip_errors_say_what_to_do(session: segpaint.Session) -> None:
    with pytest.raises(ValueError, match="clip_to_rois=True but frame 1 has no ROI; add one"):
        session.paint("cells", 1, [(5, 5)], 2, 1, clip_to_rois=True)
    with pytest.raises(ValueError, match="pass roi= or clip_to_rois=True, not both"):
        session.paint("cells", 1, [(5, 5)], 2, 1, roi=(0, 4, 0, 4), clip_to_rois=True)
    assert not session.can_undo


# --------------------------------------------------------------------------- move_roi
def test_move_roi_replaces_it_in_place_with_one_notification(session: segpaint.Session) -> None:
    a = session.add_roi(1, rows=(0, 10), cols=(0, 10))
    b = session.add_roi(1, rows=(20, 30), cols=(20, 30))
    seen: list[int] = []
    session.on_roi_change(seen.append)
    moved = session.move_roi(a, rows=(50, 70), cols=(-5, 5))  # clipped to the 64x80 image
    assert moved.bbox == (50, 64, 0, 5)
    assert session.rois(1) == [moved, b]  # keeps its place
    assert seen == [1]
    assert session.move_roi(moved) is moved  # nothing to do: no notification
    assert seen == [1]
    merged = session.move_roi(moved, rows=(20, 30), cols=(20, 30))  # onto b: one ROI left
    assert merged == b and session.rois(1) == [b]
    with pytest.raises(KeyError, match="is not an ROI of this session"):
        session.move_roi(a, rows=(0, 5))
    with pytest.raises(ValueError, match="is empty or reversed"):
        session.move_roi(b, rows=(9, 3))
    assert session.rois(1) == [b]


# --------------------------------------------------------------------------- export_rois
def test_export_rois_writes_each_roi_and_reports_each(
    session: segpaint.Session, tmp_path: Path
) -> None:
    session.paint("cells", 0, [(10, 10)], 4, 3)
    session.paint("cells", 0, [(40, 50)], 4, 4)
    first = session.add_roi(0, rows=(0, 20), cols=(0, 20))
    second = session.add_roi(0, rows=(30, 60), cols=(30, 70))
    session.export_roi("cells", second, format="cellpose", folder=tmp_path)  # already there
    results = session.export_rois("cells", 0, format="cellpose", folder=tmp_path)
    assert [r.roi for r in results] == [first, second]
    ok, failed = results
    assert ok.ok and not failed.ok
    assert [p.name for p in ok.files] == [
        f"{session.sample_stem(first)}.tif",
        f"{session.sample_stem(first)}_masks.tif",
        f"{session.sample_stem(first)}.json",
    ]
    assert all(p.is_file() for p in ok.files)
    assert failed.files == [] and "exists" in str(failed.error)
    assert session.export_rois("cells", 2, format="cellpose", folder=tmp_path) == []
    assert isinstance(ok, RoiExport)
