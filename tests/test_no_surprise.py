"""Issue 10, "nothing surprising happens to my work": ROI operations are undo steps, and an undo
in the Annotator brings the frame it changes into view (the tests play the browser by calling
the widget's message handler)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tifffile

import segpaint
from segpaint.widgets import Annotator


@pytest.fixture
def session(stack: np.ndarray) -> segpaint.Session:
    return segpaint.open(stack, axes="TCYX", channel_names=["phase", "nuclei"])


@pytest.fixture
def widget(session: segpaint.Session, tmp_path: Path) -> Annotator:
    return Annotator(session, export_folder=tmp_path / "out", labels_folder=tmp_path / "labels")


def boxes(session: segpaint.Session, frame: int) -> list[tuple[int, int, int, int]]:
    return [r.bbox for r in session.rois(frame)]


def test_adding_moving_and_removing_an_roi_are_undo_steps(session: segpaint.Session) -> None:
    first = session.add_roi(1, rows=(0, 10), cols=(0, 10))
    second = session.add_roi(1, rows=(20, 30), cols=(20, 30))
    moved = session.move_roi(first, rows=(5, 15))
    session.remove_roi(second)
    assert boxes(session, 1) == [(5, 15, 0, 10)]

    session.undo()  # the removal: the ROI is back in its place
    assert boxes(session, 1) == [(5, 15, 0, 10), (20, 30, 20, 30)]
    session.undo()  # the move
    assert boxes(session, 1) == [(0, 10, 0, 10), (20, 30, 20, 30)]
    session.undo()
    session.undo()
    assert session.rois() == []
    assert not session.can_undo

    session.redo()
    session.redo()
    session.redo()
    assert session.rois(1) == [moved, second]
    session.redo()
    assert session.rois(1) == [moved]
    assert not session.can_redo


def test_undo_after_deleting_an_roi_restores_it_not_an_older_stroke(
    session: segpaint.Session,
) -> None:
    session.paint("cells", 2, [(30, 30)], 4, 9)
    roi = session.add_roi(0, rows=(0, 32), cols=(0, 32))
    session.remove_roi(roi)
    seen: list[int] = []
    session.on_roi_change(seen.append)

    assert session.history_target() == (None, 0)
    assert session.undo() is None  # an ROI step changes no label
    assert session.rois(0) == [roi]
    assert seen == [0]
    assert session.labels("cells", 2)[30, 30] == 9  # the stroke is untouched
    session.undo()  # the add
    assert session.rois(0) == []
    assert session.history_target() == ("cells", 2)
    session.undo()
    assert session.labels("cells", 2)[30, 30] == 0


def test_a_new_roi_clears_redo_and_importing_rois_is_one_step(
    session: segpaint.Session, tmp_path: Path
) -> None:
    session.add_roi(0, rows=(0, 10), cols=(0, 10))
    session.add_roi(2, rows=(0, 10), cols=(0, 10))
    path = session.export_rois_geojson("cells", tmp_path / "rois.geojson")
    for roi in session.rois():
        session.remove_roi(roi)
    session.add_roi(1, rows=(1, 2), cols=(1, 2))
    assert not session.can_redo
    session.import_rois_geojson(path)
    assert len(session.rois()) == 3
    session.undo()  # the whole file at once
    assert [r.bbox for r in session.rois()] == [(1, 2, 1, 2)]


def test_ctrl_z_in_the_widget_brings_back_a_deleted_roi(
    session: segpaint.Session, widget: Annotator
) -> None:
    session.paint("cells", 2, [(30, 30)], 4, 9)
    widget._handle_message({"type": "roi-add", "frame": 0, "bbox": [0, 32, 0, 32]}, [])
    widget._handle_message({"type": "roi-remove", "frame": 0, "bbox": [0, 32, 0, 32]}, [])
    assert widget.rois == []

    widget._handle_message({"type": "undo"}, [])
    assert widget.rois == [[0, 32, 0, 32]]
    assert widget.status == "undo: ROI on frame 0"
    assert session.labels("cells", 2)[30, 30] == 9
    assert widget.frame == 0

    widget._handle_message({"type": "redo"}, [])
    assert widget.rois == []


def test_undo_of_an_roi_move_on_another_frame_shows_that_frame(
    session: segpaint.Session, widget: Annotator
) -> None:
    roi = session.add_roi(2, rows=(0, 10), cols=(0, 10))
    session.move_roi(roi, cols=(40, 50))
    assert widget.frame == 0
    widget._handle_message({"type": "undo"}, [])
    assert widget.frame == 2
    assert widget.rois == [[0, 10, 0, 10]]
    assert widget.status == "undo: ROI on frame 2 (now showing frame 2)"


def test_undo_of_an_edit_in_another_population_shows_it(
    session: segpaint.Session, widget: Annotator, monkeypatch: pytest.MonkeyPatch
) -> None:
    session.add_population("nuclei")
    session.paint("nuclei", 1, [(10, 10)], 3, 4)
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(widget, "send", lambda content, buffers=None: sent.append(content))
    widget._handle_message({"type": "undo"}, [])
    assert (widget.population, widget.frame) == ("nuclei", 1)
    assert (
        widget.status == "undo: nuclei labels on frame 1 (now showing population nuclei, frame 1)"
    )
    assert not session.labels("nuclei", 1).any()
    assert any(c.get("type") == "frame-start" or c.get("frame") == 1 for c in sent)


def test_the_annotator_opens_on_pan_with_a_fresh_label(session: segpaint.Session) -> None:
    session.paint("cells", 0, [(10, 10)], 3, 1)
    session.paint("cells", 1, [(10, 10)], 3, 7)
    widget = Annotator(session)
    assert widget.tool == "pan"  # a first exploratory drag moves the view, it never paints
    assert widget.selected_label == 8  # b then paints a new cell, not cell 1
    assert session.labels("cells", 0)[10, 10] == 1
    chosen = Annotator(session, tool="brush", selected_label=1)
    assert (chosen.tool, chosen.selected_label) == ("brush", 1)


def test_a_ping_from_the_browser_is_answered(
    widget: Annotator, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(widget, "send", lambda content, buffers=None: sent.append(content))
    widget._handle_message({"type": "ping", "id": 7}, [])
    widget._handle_message({"type": "ping", "id": True}, [])
    assert sent == [{"type": "pong", "id": 7}, {"type": "pong", "id": None}]


def _crashed_session(experiment: Path) -> None:
    """Edits journaled by a session that never saved (its kernel died)."""
    s = segpaint.open(experiment)
    s.paint("targets", 1, [(10, 10), (30, 40)], radius=3, label=5)
    s.paint("targets", 0, [(20, 60)], radius=2, label=9)
    del s


def test_the_widget_offers_the_journal_and_recovers_it(
    experiment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gc

    _crashed_session(experiment)
    gc.collect()
    session = segpaint.open(experiment)
    widget = Annotator(session, "targets")
    assert widget.pending_edits == 2
    assert session.labels("targets", 1).max() == 0  # nothing applied behind the user's back
    monkeypatch.setattr(widget, "send", lambda content, buffers=None: None)
    widget._handle_message({"type": "recover"}, [])
    assert widget.pending_edits == 0
    assert widget.status == "recovered 2 unsaved edit(s) on frame(s) 0, 1 (each can be undone)"
    assert session.labels("targets", 1)[10, 10] == 5
    assert session.labels("targets", 0)[20, 60] == 9


def test_the_widget_can_discard_the_journal(
    experiment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gc

    _crashed_session(experiment)
    gc.collect()
    widget = Annotator(segpaint.open(experiment), "targets")
    widget._handle_message({"type": "discard-pending"}, [])
    assert widget.pending_edits == 0
    assert widget.status == "discarded 2 unsaved edit(s) of an earlier session"
    assert segpaint.open(experiment).pending_edits == 0


def test_a_session_from_an_array_asks_for_a_folder_in_words_for_a_person(
    session: segpaint.Session, tmp_path: Path
) -> None:
    widget = Annotator(session)
    assert (widget.export_to, widget.labels_to) == ("", "")
    session.paint("cells", 0, [(10, 10)], 3, 4)
    widget._handle_message({"type": "save"}, [])
    assert widget.status == (
        "Save labels: this image was opened from an array, so there is no experiment folder to "
        "write beside. Type a folder in 'labels to' above, then click Save labels again."
    )
    session.add_roi(0, rows=(0, 20), cols=(0, 20))
    session.pixel_size_um = 0.5
    widget._handle_message({"type": "export"}, [])
    assert "Type a folder in 'export to' above" in widget.status
    assert "folder=" not in widget.status

    out, labels = tmp_path / "samples", tmp_path / "masks"
    widget._handle_message(
        {"type": "set-folders", "export_folder": str(out), "labels_folder": str(labels)}, []
    )
    assert (widget.export_to, widget.labels_to) == (str(out), str(labels))
    assert widget.status == f"Export ROI writes to {out}; Save labels writes to {labels}"
    widget._handle_message({"type": "save"}, [])
    assert (labels / "0000.tif").is_file()
    widget._handle_message({"type": "export"}, [])
    assert sorted(p.name for p in out.iterdir()) == [
        "array_0000_roi_0_20_0_20.json",
        "array_0000_roi_0_20_0_20.tif",
        "array_0000_roi_0_20_0_20_labelled.tif",
    ]

    widget._handle_message({"type": "set-folders", "export_folder": ""}, [])
    assert widget.export_to == ""
    assert widget.status == "Export ROI has no folder yet"
    widget._handle_message({"type": "set-folders", "export_folder": 3}, [])
    assert (
        widget.status == "set-folders refused: export_folder must be a folder path as text; got 3"
    )


def test_the_folders_shown_follow_the_data_population_and_format(experiment: Path) -> None:
    session = segpaint.open(experiment)
    widget = Annotator(session, "targets")
    assert widget.export_to == str(experiment / "annotations_targets")
    assert widget.labels_to == str(experiment / "W1" / "100" / "labels_targets")
    widget.export_format = "cellpose"
    assert widget.export_to == str(experiment / "annotations_targets_cellpose")
    session.add_population("effectors")
    widget.population = "effectors"
    assert widget.labels_to == str(experiment / "W1" / "100" / "labels_effectors")


def test_re_export_asks_then_overwrites_or_writes_a_new_version(
    session: segpaint.Session, tmp_path: Path
) -> None:
    out = tmp_path / "samples"
    widget = Annotator(session, export_folder=out, export_format="cellpose")
    session.paint("cells", 0, [(10, 10)], 4, 3)
    widget._handle_message({"type": "roi-add", "frame": 0, "bbox": [0, 30, 0, 30]}, [])
    widget._handle_message({"type": "roi-add", "frame": 0, "bbox": [30, 60, 30, 60]}, [])
    assert widget.rois_exported == [0, 0]
    one = {"type": "export", "frame": 0, "bbox": [0, 30, 0, 30]}
    widget._handle_message(one, [])
    stem = "array_0000_roi_0_30_0_30"
    assert widget.status == f"exported {stem}.tif to {out}"
    assert widget.rois_exported == [1, 0]  # the canvas marks it

    session.paint("cells", 0, [(20, 20)], 4, 5)  # fix the mask, export again
    widget._handle_message(one, [])
    assert widget.status == (
        f"1 ROI already exported to {out} (files of the same names, cellpose layout): "
        "choose Overwrite or New version"
    )
    assert widget.export_conflict == {
        "frame": 0, "format": "cellpose", "bbox": [0, 30, 0, 30], "rois": [[0, 30, 0, 30]]
    }  # fmt: skip
    masks = tifffile.imread(out / f"{stem}_masks.tif")
    assert masks[20, 20] == 0  # nothing replaced without a confirmation

    widget._handle_message({**one, "mode": "overwrite"}, [])
    assert widget.export_conflict == {}
    assert tifffile.imread(out / f"{stem}_masks.tif")[20, 20] != 0

    widget._handle_message({**one, "mode": "version"}, [])
    assert widget.status == f"exported {stem}_v2.tif to {out}"
    assert json.loads((out / f"{stem}_v2.json").read_text())["version"] == 2
    assert widget.rois_exported == [2, 0]
    widget._handle_message({**one, "mode": "version"}, [])
    assert (out / f"{stem}_v3_masks.tif").is_file()


def test_export_with_no_roi_selected_reports_each_roi(
    session: segpaint.Session, tmp_path: Path
) -> None:
    out = tmp_path / "samples"
    widget = Annotator(session, export_folder=out, export_format="cellpose")
    session.paint("cells", 0, [(10, 10)], 4, 3)
    session.paint("cells", 0, [(40, 40)], 4, 4)
    widget._handle_message({"type": "roi-add", "frame": 0, "bbox": [0, 30, 0, 30]}, [])
    widget._handle_message({"type": "export", "frame": 0, "bbox": [0, 30, 0, 30]}, [])
    widget._handle_message({"type": "roi-add", "frame": 0, "bbox": [30, 60, 30, 60]}, [])
    widget._handle_message({"type": "export", "frame": 0, "bbox": None}, [])
    assert widget.status == (
        f"exported array_0000_roi_30_60_30_60.tif to {out}; "
        f"1 ROI already exported to {out} (files of the same names, cellpose layout): "
        "choose Overwrite or New version"
    )
    assert widget.export_conflict["rois"] == [[0, 30, 0, 30]]
    assert widget.export_conflict["bbox"] is None
    assert widget.rois_exported == [1, 1]
    widget._handle_message({"type": "export", "frame": 0, "bbox": None, "mode": "version"}, [])
    assert widget.status == (
        f"exported array_0000_roi_0_30_0_30_v2.tif, array_0000_roi_30_60_30_60_v2.tif to {out}"
    )


def test_session_export_versions(session: segpaint.Session, tmp_path: Path) -> None:
    roi = session.add_roi(0, rows=(0, 20), cols=(0, 20))
    assert session.exported("cells", roi, format="cellpose", folder=tmp_path) == 0
    session.paint("cells", 0, [(5, 5)], 3, 2)
    session.export_roi("cells", roi, format="cellpose", folder=tmp_path)
    session.export_roi("cells", roi, format="cellpose", folder=tmp_path, version=2)
    assert session.exported("cells", roi, format="cellpose", folder=tmp_path) == 2
    assert session.exported("cells", roi, format="stardist", folder=tmp_path) == 0
    with pytest.raises(ValueError, match=r"version must be an integer >= 2 .*got 1"):
        session.export_roi("cells", roi, format="cellpose", folder=tmp_path, version=1)


def test_a_conflict_is_answered_for_its_rois_only(
    session: segpaint.Session, tmp_path: Path
) -> None:
    out = tmp_path / "samples"
    widget = Annotator(session, export_folder=out, export_format="cellpose")
    session.paint("cells", 0, [(10, 10)], 4, 3)
    session.paint("cells", 0, [(40, 40)], 4, 4)
    widget._handle_message({"type": "roi-add", "frame": 0, "bbox": [0, 30, 0, 30]}, [])
    widget._handle_message({"type": "export", "frame": 0}, [])
    widget._handle_message({"type": "roi-add", "frame": 0, "bbox": [30, 60, 30, 60]}, [])
    widget._handle_message({"type": "export", "frame": 0}, [])
    conflict = widget.export_conflict
    widget._handle_message(
        {"type": "export", "frame": 0, "bboxes": conflict["rois"], "mode": "version"}, []
    )
    assert widget.status == f"exported array_0000_roi_0_30_0_30_v2.tif to {out}"
    assert not (out / "array_0000_roi_30_60_30_60_v2.tif").exists()
    widget._handle_message({"type": "export", "frame": 0, "bboxes": [[1, 2, 3, 4]]}, [])
    assert "no ROI [1, 2, 3, 4] on frame 0" in widget.status
    widget._handle_message({"type": "export", "frame": 0, "bboxes": "all"}, [])
    assert widget.status.startswith("export refused: bboxes must be a list")


@pytest.fixture
def cells() -> segpaint.Session:
    """Bright squares on the 'nuclei' channel (and one on 'phase' only)."""
    movie = np.zeros((3, 2, 64, 64), np.uint16)
    movie[:, 0, 52:62, 2:12] = 1000
    movie[:, 1, 8:20, 8:20] = 1000
    movie[:, 1, 30:50, 30:50] = 1000
    return segpaint.open(movie, axes="TCYX", channel_names=["phase", "nuclei"])


def test_the_panel_defaults_to_the_recorded_method_and_marks_missing_extras(
    cells: segpaint.Session, tmp_path: Path
) -> None:
    import importlib.util

    cells.presegment("cells", channels=["nuclei"], feature_queries=["area < 150"], progress=False)
    widget = Annotator(cells)
    info = widget.presegment_info
    assert info["recorded"] == {
        "method": "threshold",
        "params": {"feature_queries": ["area < 150"], "channels": ["nuclei"]},
    }
    by_name = {m["name"]: m for m in info["methods"]}
    assert by_name["threshold"] == {"name": "threshold", "available": True, "note": ""}
    cellpose = importlib.util.find_spec("cellpose") is not None
    assert by_name["CP_cyto3"]["available"] is cellpose
    if not cellpose:
        assert by_name["CP_cyto3"]["note"] == "needs pip install 'segpaint[cellpose]'"

    # the toolbar button (method only) re-runs with the recorded channels and query
    cells.set_labels("cells", 1, np.zeros((64, 64), np.uint32))
    cells.save_labels("cells", folder=tmp_path)  # nothing unsaved any more: no confirmation
    widget.frame = 1
    widget._handle_message({"type": "presegment", "method": "threshold", "scope": "frame"}, [])
    widget.wait()
    assert widget.status == "pre-segmented 1 frame(s) of cells with threshold"
    labels = cells.labels("cells", 1)
    assert labels[12, 12] > 0
    assert labels[56, 6] == 0  # only the recorded channel, nuclei, was segmented
    assert cells.method("cells") == info["recorded"]  # the query too, not {}


def test_the_panel_sends_method_parameters_and_mode(cells: segpaint.Session) -> None:
    widget = Annotator(cells)
    request = {
        "type": "presegment",
        "method": "threshold",
        "scope": "all",
        "mode": "replace",
        "channels": ["nuclei"],
        "params": {"thresholds": [500, 2000], "do_watershed": False},
    }
    widget._handle_message(request, [])
    widget.wait()
    assert widget.status == "pre-segmented 3 frame(s) of cells with threshold"
    assert cells.labels("cells", 2)[40, 40] > 0
    assert cells.method("cells") == {
        "method": "threshold",
        "params": {"thresholds": [500, 2000], "do_watershed": False, "channels": ["nuclei"]},
    }
    cells.undo()  # one undo step for the run, and the method goes with it
    assert not np.asarray(cells.labels("cells")).any()
    assert cells.method("cells") is None

    widget._handle_message({**request, "params": {"diameter": 30}}, [])
    assert widget.status.startswith("presegment refused: params: diameter is not a parameter")
    widget._handle_message({**request, "channels": ["dapi"]}, [])
    assert widget.status.startswith("presegment refused: channels must be a list of")


def test_replacing_unsaved_corrections_needs_a_confirmation(cells: segpaint.Session) -> None:
    widget = Annotator(cells)
    cells.paint("cells", 1, [(5, 5)], 2, 77)
    request = {"type": "presegment", "method": "threshold", "scope": "all", "channels": ["nuclei"]}
    widget._handle_message(request, [])
    assert widget.status == (
        "pre-segmenting would replace your unsaved corrections on frame(s) 1: confirm in the "
        "panel, or choose 'fill empty frames only'"
    )
    assert widget.presegment_confirm == {"frames": [1], "request": {**request, "confirmed": True}}
    assert cells.labels("cells", 1)[5, 5] == 77  # nothing ran

    widget._handle_message({**request, "mode": "fill-empty"}, [])  # frame 1 is kept
    widget.wait()
    assert widget.presegment_confirm == {}
    assert cells.labels("cells", 1)[5, 5] == 77
    assert cells.labels("cells", 0)[12, 12] > 0

    widget._handle_message(request, [])  # frames 0 and 2 hold only pre-segmented labels
    assert widget.presegment_confirm["frames"] == [1]
    assert cells.edited_frames("cells") == {1}
    widget._handle_message(widget.presegment_confirm["request"], [])  # the panel's "Replace"
    widget.wait()
    assert cells.labels("cells", 1)[5, 5] == 0
    assert widget.status == "pre-segmented 3 frame(s) of cells with threshold"
    assert cells.edited_frames("cells") == set()
    cells.undo()  # the corrections are back, and count as corrections again
    assert cells.labels("cells", 1)[5, 5] == 77
    assert cells.edited_frames("cells") == {1}


def test_a_read_only_session_asks_for_another_folder(experiment: Path, tmp_path: Path) -> None:
    session = segpaint.open(experiment, read_only=True)
    widget = Annotator(session, "targets")
    session.paint("targets", 0, [(10, 10)], 3, 4)
    widget._handle_message({"type": "save"}, [])
    assert widget.status == (
        "Save labels: this session does not write into its data folder (it was opened "
        "read-only, or a newer session of the same data took over). Type another folder in "
        "'labels to' above, then click Save labels again."
    )
    widget._handle_message({"type": "set-folders", "labels_folder": str(tmp_path / "mine")}, [])
    widget._handle_message({"type": "save"}, [])
    assert (tmp_path / "mine" / "0000.tif").is_file()
    session.add_roi(0, rows=(0, 30), cols=(0, 30))
    widget._handle_message({"type": "export", "frame": 0}, [])
    assert widget.status.startswith("Export ROI: this session does not write into its data")


def test_a_step_on_no_frame_does_not_block_undo_in_the_widget(cells: segpaint.Session) -> None:
    cells.paint("cells", 1, [(5, 5)], 2, 7)
    cells.presegment("cells", frames=[], progress=False)  # records the method, writes no frame
    assert cells.history_target() is None and cells.can_undo
    w = Annotator(cells)
    w._handle_message({"type": "undo"}, [])
    assert w.status == "undo: done"
    assert cells.method("cells") is None
    w._handle_message({"type": "undo"}, [])  # the stroke behind it
    assert cells.labels("cells", 1)[5, 5] == 0
    assert w.frame == 1


def test_a_second_format_into_the_same_folder_keeps_the_first(
    session: segpaint.Session, tmp_path: Path
) -> None:
    out = tmp_path / "samples"
    session.pixel_size_um = 0.5
    widget = Annotator(session, export_folder=out)
    session.paint("cells", 0, [(10, 10)], 4, 3)
    widget._handle_message({"type": "roi-add", "frame": 0, "bbox": [0, 30, 0, 30]}, [])
    widget._handle_message({"type": "export", "frame": 0}, [])  # celldetective
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    widget._handle_message({"type": "export", "frame": 0, "format": "cellpose"}, [])
    assert widget.export_conflict["format"] == "cellpose"  # its image name is taken
    widget._handle_message(
        {"type": "export", "frame": 0, "format": "cellpose", "mode": "version",
         "bboxes": widget.export_conflict["rois"]}, []
    )  # fmt: skip
    stem = "array_0000_roi_0_30_0_30"
    assert widget.status == f"exported {stem}_v2.tif to {out}"
    assert (out / f"{stem}_v2_masks.tif").is_file()
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.name in first} == first
