"""The Annotator's Python side without a browser: the tests play the front-end by calling the
message handler with what js/widget.js sends, and decode what the widget sends back."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import traitlets

import segpaint
from segpaint.ops import stroke_mask
from segpaint.widgets import BRUSH_SIZE_MAX, LABEL_MAX, Annotator
from segpaint.widgets._wire import CHUNK_BYTES, stroke_messages
from segpaint.widgets._wire import decode_frame as wire_decode_frame
from sent import Sent, capture


@pytest.fixture
def session(stack: np.ndarray) -> segpaint.Session:
    return segpaint.open(stack, axes="TCYX", channel_names=["phase", "nuclei"])


@pytest.fixture
def widget(session: segpaint.Session, tmp_path: Path) -> Annotator:
    return Annotator(session, export_folder=tmp_path / "out", labels_folder=tmp_path / "labels")


def browser_stroke(
    session: segpaint.Session,
    frame: int,
    points: list[tuple[float, float]],
    radius: float,
    label: int,
    *,
    stroke: int = 1,
    parts: int = 1,
) -> list[tuple[dict[str, Any], list[Any]]]:
    """The stroke message(s) the browser sends at pointer-up (the label under a bit-packed mask
    of its box), made with the codec's own encoder; ``parts`` > 1 shrinks the chunk size."""
    result = stroke_mask(session.frame_shape, points, radius)
    assert result is not None
    (r0, r1, c0, c1), mask = result
    rows = -(-(r1 - r0) // parts)
    messages = stroke_messages(
        stroke=stroke,
        population="cells",
        frame=frame,
        bbox=(r0, r1, c0, c1),
        label=label,
        mask=mask,
        max_bytes=CHUNK_BYTES if parts == 1 else -(-rows * (c1 - c0) // 8),
    )
    assert len(messages) == parts
    return messages


def decode_frame(sent: Sent) -> dict[str, Any]:
    """The first frame transfer in ``sent``, decoded by the codec's decoder (the mirror of
    js/frame_assembler.js FrameAssembler); every message stays under the chunk size."""
    for _, buffers in sent:
        assert sum(memoryview(b).nbytes for b in buffers) <= CHUNK_BYTES
    got = wire_decode_frame(sent)
    return {"header": got.header, "channels": got.channels, "labels": got.labels}


def pull_all(widget: Annotator, sent: Sent) -> None:
    """Ask for the next band of a pulled transfer after each band, as js/widget.js does."""
    asked = 0
    while True:
        bands = [c for c, _ in sent if c["type"] == "band"]
        if any(c["type"] == "frame-end" for c, _ in sent) or asked >= len(bands):
            return
        widget._handle_message({"type": "more", "xfer": bands[asked]["xfer"]}, [])
        asked += 1


# --------------------------------------------------------------------------- strokes
def test_a_browser_stroke_is_one_undo_step_on_exactly_its_pixels(
    session: segpaint.Session, widget: Annotator, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = capture(widget, monkeypatch)
    ((content, buffers),) = browser_stroke(session, 1, [(10, 10), (10, 40), (30, 40)], 3, 7)
    widget._handle_message(content, buffers)

    expected = np.zeros(session.frame_shape, np.uint32)
    (r0, r1, c0, c1), mask = stroke_mask(session.frame_shape, [(10, 10), (10, 40), (30, 40)], 3)
    expected[r0:r1, c0:c1][mask] = 7
    np.testing.assert_array_equal(session.labels("cells", 1), expected)
    assert not session.labels("cells", 0).any()
    # The browser already shows the stroke: the only reply is an ack, no echo patch.
    assert [c["type"] for c, _ in sent] == ["ack"]
    assert sent[0][0]["applied"] is True
    assert widget.next_label == 8
    session.undo()
    assert not session.labels("cells", 1).any()
    assert not session.can_undo


def test_a_stroke_in_several_parts_is_applied_once_when_complete(
    session: segpaint.Session, widget: Annotator
) -> None:
    parts = browser_stroke(session, 0, [(5, 5), (50, 70)], 4, 3, parts=3)
    for content, buffers in parts[:2]:
        widget._handle_message(content, buffers)
        assert not session.labels("cells", 0).any()
    widget._handle_message(*parts[2])
    assert (session.labels("cells", 0) == 3).sum() > 100
    session.undo()
    assert not session.labels("cells", 0).any()
    assert not session.can_undo


def test_fill_with_zero_from_the_browser_deletes_a_cell(
    session: segpaint.Session, widget: Annotator
) -> None:
    session.paint("cells", 0, [(20, 20)], 5, 4)
    cell = np.asarray(session.labels("cells", 0)) == 4
    rows, cols = np.nonzero(cell)
    r0, r1, c0, c1 = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    content = {
        "type": "stroke",
        "stroke": 9,
        "tool": "fill",
        "population": "cells",
        "frame": 0,
        "bbox": [int(r0), int(r1), int(c0), int(c1)],
    }
    values = np.zeros((r1 - r0, c1 - c0), "<u4")
    mask = cell[r0:r1, c0:c1].astype(np.uint8)
    widget._handle_message(content, [memoryview(values.tobytes()), memoryview(mask.tobytes())])
    assert not session.labels("cells", 0).any()


def test_lock_to_roi_keeps_pixels_outside_the_rois(
    session: segpaint.Session, widget: Annotator
) -> None:
    widget._handle_message({"type": "roi-add", "frame": 0, "bbox": [0, 64, 0, 20]}, [])
    widget.lock_to_roi = True
    ((content, buffers),) = browser_stroke(session, 0, [(10, 5), (10, 60)], 1, 2)
    widget._handle_message(content, buffers)
    labels = np.asarray(session.labels("cells", 0))
    assert (labels[:, :20] == 2).any()
    assert not labels[:, 20:].any()


def test_a_refused_patch_is_reported_and_the_canvas_is_resynced(
    widget: Annotator, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = capture(widget, monkeypatch)
    content = {
        "type": "stroke",
        "stroke": 1,
        "population": "cells",
        "frame": 0,
        "bbox": [60, 70, 0, 2],
    }
    values = memoryview(np.ones(20, "<u4").tobytes())
    widget._handle_message(content, [values, memoryview(np.ones(20, np.uint8).tobytes())])
    assert widget.status == "edit not applied: bbox row1 must be an integer from 61 to 64; got 70"
    assert [c["type"] for c, _ in sent] == ["ack", "labels-patch"]
    assert sent[0][0]["applied"] is False
    assert sent[1][0]["bbox"] == [60, 64, 0, 2]  # what the session holds, clipped to the frame
    assert not np.frombuffer(sent[1][1][0], sent[1][0]["dtype"]).any()


def test_a_malformed_patch_says_what_was_expected(widget: Annotator) -> None:
    content = {
        "type": "stroke",
        "stroke": 1,
        "population": "cells",
        "frame": 0,
        "bbox": [0, 2, 0, 2],
    }
    widget._handle_message(content, [memoryview(b"\0" * 8)])
    assert widget.status == "edit not applied: a stroke carries 2 buffers (values, mask); got 1"
    widget._handle_message(content, [memoryview(b"\0" * 8), memoryview(b"\0" * 4)])
    assert widget.status == (
        "edit not applied: stroke values: expected 4 elements (16 bytes), got 8 bytes"
    )


# --------------------------------------------------------------------------- Python -> browser
def test_python_edits_reach_the_canvas_as_region_patches(
    session: segpaint.Session, widget: Annotator, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = capture(widget, monkeypatch)
    change = session.paint("cells", 0, [(30, 30), (30, 50)], 4, 300)
    assert change is not None
    ((content, buffers),) = sent
    assert content["type"] == "labels-patch"
    assert content["frame"] == 0
    assert content["population"] == "cells"
    assert tuple(content["bbox"]) == change.bbox
    assert content["dtype"] == "uint16"  # 300 fits: narrowed on the wire, widened in JS
    r0, r1, c0, c1 = change.bbox
    got = np.frombuffer(buffers[0], "<u2").reshape(r1 - r0, c1 - c0)
    np.testing.assert_array_equal(got, session.labels("cells", 0)[r0:r1, c0:c1])

    sent.clear()
    session.paint("cells", 2, [(3, 3)], 2, 5000)  # another frame: nothing to redraw
    assert sent == []
    assert widget.next_label == 5001  # but `m` in the browser will not reuse 5000
    session.undo()  # undo of frame 2: still nothing
    assert sent == []
    session.undo()  # undo of the frame shown: a patch restoring zeros
    ((content, buffers),) = sent
    assert not np.frombuffer(buffers[0], content["dtype"]).any()


def test_undo_and_redo_from_the_browser(
    session: segpaint.Session, widget: Annotator, monkeypatch: pytest.MonkeyPatch
) -> None:
    session.paint("cells", 2, [(3, 3)], 2, 5)
    sent = capture(widget, monkeypatch)
    widget._handle_message({"type": "undo"}, [])  # an edit on another frame: it comes into view
    assert widget.status == "undo: cells labels on frame 2 (now showing frame 2)"
    assert widget.frame == 2
    assert not session.labels("cells", 2).any()
    widget._handle_message({"type": "undo"}, [])
    assert widget.status == "nothing to undo"
    sent.clear()
    widget._handle_message({"type": "redo"}, [])
    assert widget.status == "redo: cells labels on frame 2"
    assert [c["type"] for c, _ in sent] == ["labels-patch"]


def test_frame_change_sends_visible_channels_and_labels_as_binary(
    session: segpaint.Session, widget: Annotator, monkeypatch: pytest.MonkeyPatch
) -> None:
    session.paint("cells", 2, [(10, 10)], 3, 70000)
    sent = capture(widget, monkeypatch)
    widget.frame = 2
    got = decode_frame(sent)
    assert got["header"]["frame"] == 2
    assert [c["dtype"] for c in got["header"]["channels"]] == ["uint16", "uint16"]
    for c in range(2):
        np.testing.assert_array_equal(got["channels"][c], session.image(2)[c])
    np.testing.assert_array_equal(got["labels"], session.labels("cells", 2))
    for content, buffers in sent:
        for b in buffers:
            assert isinstance(b, memoryview | bytes)  # raw buffers, never lists or base64
        assert all(not isinstance(v, list) or len(v) < 10 for v in content.values())


def test_hidden_channels_are_not_sent_until_shown(
    session: segpaint.Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    widget = Annotator(session, channel_visible=[True, False])
    sent = capture(widget, monkeypatch)
    widget._handle_message({"type": "request-frame"}, [])
    assert list(decode_frame(sent)["channels"]) == [0]
    sent.clear()
    widget.channel_visible = [True, True]
    got = decode_frame(sent)
    assert got["header"]["partial"] is True
    assert got["labels"] is None
    np.testing.assert_array_equal(got["channels"][1], session.image(0)[1])


def test_display_settings_from_python_send_no_pixels(
    widget: Annotator, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = capture(widget, monkeypatch)
    widget.set_contrast("nuclei", 5, 600)
    widget.gamma = [1.0, 2.0]
    widget.opacity = 0.2
    widget.channel_colors = ["#FF0000", "#00ff00"]
    assert widget.contrast[1] == [5.0, 600.0]
    assert widget.channel_colors[0] == "#ff0000"
    assert sent == []  # contrast, gamma, colours and blending are computed in the browser


@pytest.mark.parametrize(
    ("labels_kind", "encoding"), [("blobs", "rle"), ("noise", "raw")], ids=["rle", "raw"]
)
def test_a_4096_frame_is_chunked_below_the_limit(
    labels_kind: str, encoding: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    n = 4096
    image = np.arange(n * n, dtype=np.uint32).reshape(1, n, n).astype(np.uint16)
    session = segpaint.open(image, axes="TYX")
    if labels_kind == "blobs":
        lab = np.zeros((n, n), np.uint32)
        lab[100:900, 200:1500] = 1
        lab[2000:4000, 10:4000] = 70000
    else:
        lab = np.random.default_rng(1).integers(0, 70000, (n, n), dtype=np.uint32)
    session.set_labels("cells", 0, lab)
    widget = Annotator(session)
    sent = capture(widget, monkeypatch)
    widget._handle_message({"type": "request-frame"}, [])
    sizes = [sum(memoryview(b).nbytes for b in buffers) for _, buffers in sent]
    assert max(sizes) <= CHUNK_BYTES
    assert sum(sizes) >= n * n * 2  # the whole channel went
    encodings = {c.get("encoding") for c, _ in sent if c.get("key") == "labels"}
    assert encodings == {encoding}
    got = decode_frame(sent)
    np.testing.assert_array_equal(got["channels"][0], image[0])
    np.testing.assert_array_equal(got["labels"], lab)


def test_float_and_signed_images_travel_as_float32(monkeypatch: pytest.MonkeyPatch) -> None:
    data = np.array([[[-5, 0], [3, 32000]]], np.int16)
    widget = Annotator(segpaint.open(data, axes="TYX"))
    sent = capture(widget, monkeypatch)
    widget._handle_message({"type": "request-frame"}, [])
    got = decode_frame(sent)
    assert got["header"]["channels"] == [{"index": 0, "dtype": "float32"}]
    np.testing.assert_array_equal(got["channels"][0], data[0].astype(np.float32))


# --------------------------------------------------------------------------- traits
@pytest.mark.parametrize(
    ("trait", "value", "match"),
    [
        (
            "frame",
            3,
            r"frame must be an integer from 0 to 2 \(the session has 3 frame\(s\)\); got 3",
        ),
        ("frame", 1.5, "frame must be an integer"),
        (
            "tool",
            "lasso",
            "tool must be one of pan, brush, eraser, fill, picker, roi, scribble, segment, wand, "
            "split, merge, polygon, delete-box; got 'lasso'",
        ),
        ("selected_label", -1, "selected_label must be an integer from 0 to 4294967295"),
        (
            "brush_size",
            BRUSH_SIZE_MAX + 1,
            f"brush_size must be an integer diameter from 1 to {BRUSH_SIZE_MAX}",
        ),
        (
            "contrast",
            [[0, 10]],
            r"contrast must be a list with one entry per channel \(2: \['phase', 'nuclei'\]\)",
        ),
        ("contrast", [[0, 10], [5, 5]], r"contrast\[1\] must be \[lo, hi\] with finite lo < hi"),
        ("gamma", [1, 0], r"gamma\[1\] must be a number from 0.1 to 4.0; got 0"),
        ("channel_visible", [True, 1], r"channel_visible\[1\] must be True or False"),
        (
            "channel_colors",
            ["red", "#00ff00"],
            r'channel_colors\[0\] must be a colour like "#rrggbb" \(e.g. "#ff00ff"\); got \'red\'',
        ),
        ("opacity", 1.5, "opacity must be a number from 0 to 1; got 1.5"),
        ("opacity", float("nan"), "opacity must be a number from 0 to 1; got nan"),
        ("brush_size", 10.0, "brush_size must be an integer diameter from 1 to 1024 pixels"),
        ("selected_label", True, r"selected_label must be an integer from 0 to 4294967295 \(0"),
        ("export_format", "zarr", "export_format must be one of celldetective, cellpose, stardist"),
        (
            "population",
            "effectors",
            r"population must be one of \['cells'\]; got 'effectors'. Add it first with session.add_population\('effectors'\)",
        ),
    ],
)
def test_traits_say_what_was_expected(
    widget: Annotator, trait: str, value: Any, match: str
) -> None:
    before = getattr(widget, trait)
    with pytest.raises(traitlets.TraitError, match=match):
        setattr(widget, trait, value)
    assert getattr(widget, trait) == before


def test_unknown_keyword_asks_to_check_the_spelling(session: segpaint.Session) -> None:
    with pytest.raises(
        TypeError, match=r"unexpected keyword argument\(s\) \['brushsize'\]; check the spelling"
    ):
        Annotator(session, brushsize=5)


def test_traits_from_code_and_defaults(session: segpaint.Session) -> None:
    session.add_population("nuclei")
    widget = session.annotator("nuclei", frame=2, tool="fill", brush_size=25, selected_label=0)
    assert (widget.population, widget.frame, widget.tool) == ("nuclei", 2, "fill")
    assert widget.brush_size == 25
    assert widget.selected_label == 0
    assert widget.populations == ["cells", "nuclei"]
    assert widget.channel_names == ["phase", "nuclei"]
    assert widget.channel_colors == ["#ff00ff", "#00ff00"]
    lo, hi = widget.contrast[0]
    assert 0 <= lo < hi <= 4000
    assert "threshold" in widget.presegment_methods
    with pytest.raises(
        ValueError, match=r"channel must be one of \['phase', 'nuclei'\] or an index"
    ):
        widget.set_contrast("dna", 0, 1)


# --------------------------------------------------------------------------- ROIs, export, save
def test_rois_from_the_browser_live_in_the_session(
    session: segpaint.Session, widget: Annotator
) -> None:
    widget._handle_message({"type": "roi-add", "frame": 0, "bbox": [5, 30, 10, 50]}, [])
    assert [r.bbox for r in session.rois(0)] == [(5, 30, 10, 50)]
    assert widget.rois == [[5, 30, 10, 50]]
    move = {"type": "roi-change", "frame": 0, "old": [5, 30, 10, 50], "bbox": [6, 31, 12, 52]}
    widget._handle_message(move, [])
    assert [r.bbox for r in session.rois(0)] == [(6, 31, 12, 52)]
    widget._handle_message({"type": "roi-remove", "frame": 0, "bbox": [6, 31, 12, 52]}, [])
    assert session.rois(0) == []
    assert widget.rois == []
    widget._handle_message({"type": "roi-remove", "frame": 0, "bbox": [6, 31, 12, 52]}, [])
    assert widget.status == "roi-remove failed: 'no ROI [6, 31, 12, 52] on frame 0'"
    widget.frame = 1
    assert widget.rois == []


def test_export_roi_writes_the_files_and_names_them(
    session: segpaint.Session, widget: Annotator, tmp_path: Path
) -> None:
    session.paint("cells", 1, [(20, 20)], 6, 3)
    widget.frame = 1
    widget._handle_message({"type": "roi-add", "frame": 1, "bbox": [0, 40, 0, 60]}, [])
    widget._handle_message(
        {"type": "export", "frame": 1, "bbox": [0, 40, 0, 60], "format": "cellpose"}, []
    )
    assert widget.last_export
    assert all(p.exists() for p in widget.last_export)
    assert widget.status.startswith("exported ")
    assert "_0001_roi_0_40_0_60" in widget.status
    assert {p.parent for p in widget.last_export} == {tmp_path / "out"}


def test_export_and_save_explain_a_missing_folder(session: segpaint.Session) -> None:
    widget = Annotator(session)
    widget._handle_message({"type": "export", "frame": 0, "bbox": None}, [])
    assert widget.status == "no ROI on this frame: draw one with the ROI tool (r) first"
    widget._handle_message({"type": "roi-add", "frame": 0, "bbox": [0, 10, 0, 10]}, [])
    widget._handle_message({"type": "export", "frame": 0, "bbox": None, "format": "cellpose"}, [])
    assert widget.status.startswith("Export ROI: this image was opened from an array")
    widget._handle_message({"type": "save"}, [])
    assert widget.status.startswith("Save labels: this image was opened from an array")
    widget._handle_message({"type": "set-folders", "export_folder": "unused"}, [])
    widget._handle_message({"type": "export", "frame": 0, "bbox": None}, [])
    assert widget.status.startswith(
        "ROI rows 0-10, cols 0-10 not written: Celldetective samples need the pixel size"
    )


def test_save_labels_writes_edited_frames(
    session: segpaint.Session, widget: Annotator, tmp_path: Path
) -> None:
    session.paint("cells", 2, [(20, 20)], 6, 3)
    widget._handle_message({"type": "save"}, [])
    assert [p.name for p in widget.last_saved] == ["0002.tif"]
    assert widget.status == f"saved 1 frame(s) to {tmp_path / 'labels'}"
    widget._handle_message({"type": "save"}, [])
    assert widget.status == "labels already saved (no edited frame)"


# --------------------------------------------------------------------------- pre-segmentation
def test_presegment_runs_in_a_thread_with_progress(monkeypatch: pytest.MonkeyPatch) -> None:
    image = np.zeros((2, 64, 64), np.uint16)
    image[:, 10:25, 10:25] = 1000
    image[:, 40:55, 30:50] = 1000
    session = segpaint.open(image, axes="TYX")
    widget = Annotator(session, frame=1)
    sent = capture(widget, monkeypatch)
    widget._handle_message({"type": "presegment", "method": "threshold", "scope": "frame"}, [])
    widget.wait(60)
    assert widget.busy is False
    assert widget.progress == 1.0
    assert widget.status == "pre-segmented 1 frame(s) of cells with threshold"
    labels = np.asarray(session.labels("cells", 1))
    assert len(np.unique(labels[labels > 0])) == 2
    assert not session.labels("cells", 0).any()
    assert any(
        c["type"] == "labels-patch" and c["frame"] == 1 for c, _ in sent
    )  # reached the canvas
    assert widget.next_label == 3


def test_presegment_failures_land_in_the_status_line(
    widget: Annotator, monkeypatch: pytest.MonkeyPatch
) -> None:
    def missing(*args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("Session.presegment lands with the pre-segmentation issue")

    monkeypatch.setattr(widget.session, "presegment", missing)
    widget._handle_message({"type": "presegment", "method": "CP_cyto3", "scope": "all"}, [])
    widget.wait(10)
    assert widget.status == (
        "pre-segmentation is not available: Session.presegment lands with the "
        "pre-segmentation issue"
    )
    assert widget.busy is False


def test_unknown_messages_are_reported(widget: Annotator) -> None:
    widget._handle_message({"type": "teleport"}, [])
    assert widget.status == "ignored an unknown message from the browser: 'teleport'"


def test_close_unsubscribes_from_the_session(
    session: segpaint.Session, widget: Annotator, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = capture(widget, monkeypatch)
    widget.close()
    session.paint("cells", 0, [(5, 5)], 2, 1)
    session.add_roi(0, rows=(0, 10), cols=(0, 10))
    assert sent == []
    assert widget.rois == []


def test_rois_added_and_removed_from_code_show_up_without_refresh(
    session: segpaint.Session, widget: Annotator
) -> None:
    roi = session.add_roi(0, rows=(5, 20), cols=(10, 40))  # e.g. in another notebook cell
    assert widget.rois == [[5, 20, 10, 40]]
    session.add_roi(1, rows=(0, 8), cols=(0, 8))  # another frame: not shown now
    assert widget.rois == [[5, 20, 10, 40]]
    session.remove_roi(roi)
    assert widget.rois == []
    widget.frame = 1
    assert widget.rois == [[0, 8, 0, 8]]


def test_the_bundle_is_the_esm(widget: Annotator) -> None:
    bundle = Path(segpaint.widgets._annotator.__file__).parent.parent / "static" / "widget.js"
    if bundle.is_file():
        assert "segpaint-annotator" in bundle.read_text()


def test_a_zoomed_out_view_gets_a_preview_then_full_resolution(
    session: segpaint.Session, widget: Annotator, monkeypatch: pytest.MonkeyPatch
) -> None:
    session.paint("cells", 1, [(10, 10)], 3, 5)
    sent = capture(widget, monkeypatch)
    widget.set_trait(
        "_preview_step", 3
    )  # what the browser asks for when 3 pixels share a screen pixel
    widget.frame = 1
    got = decode_frame(sent)
    assert got["header"]["preview_step"] == 3
    # The preview: 8 bits per sample under the contrast on screen; each sample within half a
    # grey level of the value it stands for (inside the limits), the true range alongside.
    preview = session.image(1)[0, ::3, ::3].astype(float)
    lo, hi = widget.contrast[0]
    info = got["header"]["channels"][0]
    assert (info["dtype"], info["quant"], info["source_dtype"]) == ("uint8", [lo, hi], "uint16")
    assert info["range"] == [preview.min(), preview.max()]
    shown = lo + got["channels"][0] * (hi - lo) / 255
    assert got["channels"][0].dtype == np.uint8
    assert np.abs(shown - np.clip(preview, lo, hi)).max() <= (hi - lo) / 510 + 1e-9
    np.testing.assert_array_equal(got["labels"], session.labels("cells", 1))  # labels: always full
    assert got["header"]["max_label"] == 5
    sent.clear()
    widget._handle_message({"type": "request-full", "frame": 1}, [])
    pull_all(widget, sent)
    full = decode_frame(sent)
    assert full["header"]["preview_step"] == 1
    assert full["header"]["partial"] is True
    assert full["labels"] is None
    assert all("quant" not in ch for ch in full["header"]["channels"])  # lossless after
    for c in range(2):
        assert full["channels"][c].dtype == np.uint16
        np.testing.assert_array_equal(full["channels"][c], session.image(1)[c])
    sent.clear()
    widget._handle_message({"type": "request-full", "frame": 1}, [])  # already full: nothing
    widget._handle_message({"type": "request-full", "frame": 0}, [])  # a stale request: nothing
    assert sent == []


def test_a_preview_is_quantized_under_the_contrast_set_when_it_is_sent(
    session: segpaint.Session, widget: Annotator, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = capture(widget, monkeypatch)
    widget.set_contrast("nuclei", 100, 1100)
    widget.set_trait("_preview_step", 2)
    widget.frame = 2
    got = decode_frame(sent)
    info = {ch["index"]: ch for ch in got["header"]["channels"]}
    assert info[1]["quant"] == [100.0, 1100.0]
    raw = session.image(2)[1, ::2, ::2].astype(np.int64)
    expect = np.clip(np.rint((raw - 100) * 255 / 1000), 0, 255)
    np.testing.assert_array_equal(got["channels"][1], expect)
    # Zoomed in (step 1) the frame travels lossless at once: nothing to pull after it.
    sent.clear()
    widget.set_trait("_preview_step", 1)
    widget.frame = 0
    full = decode_frame(sent)
    assert [ch["dtype"] for ch in full["header"]["channels"]] == ["uint16", "uint16"]
    np.testing.assert_array_equal(full["channels"][1], session.image(0)[1])


def test_a_preview_has_the_display_resolution_not_a_whole_number_step(
    session: segpaint.Session, widget: Annotator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A view showing 1 display pixel per 2.7 image pixels asks for 2.7: the preview is the frame
    # sampled at ceil(j * 2.625) (snapped to 1/8), not every 2nd pixel (a third more of them).
    height, width = session.frame_shape
    sent = capture(widget, monkeypatch)
    widget.set_trait("_preview_step", 2.7)
    widget.frame = 1
    got = decode_frame(sent)
    assert got["header"]["preview_step"] == 2.625
    rows = np.minimum(np.ceil(np.arange(-(-height * 8 // 21)) * 2.625).astype(int), height - 1)
    cols = np.minimum(np.ceil(np.arange(-(-width * 8 // 21)) * 2.625).astype(int), width - 1)
    lo, hi = widget.contrast[0]
    raw = session.image(1)[0][np.ix_(rows, cols)].astype(np.int64)
    expect = np.clip(np.rint((raw - lo) * 255 / (hi - lo)), 0, 255)
    np.testing.assert_array_equal(got["channels"][0], expect)
    np.testing.assert_array_equal(got["labels"], session.labels("cells", 1))
    # Hostile or zoomed-in asks: whole frames (below 1.25, not a number) or at most 16.
    for asked, step in [(1.2, 1), (float("nan"), 1), (-4.0, 1), (1e9, 16), (3.0, 3)]:
        sent.clear()
        widget.set_trait("_preview_step", asked)
        widget.frame = 2 if widget.frame != 2 else 0
        got = decode_frame(sent)
        assert got["header"]["preview_step"] == step, asked
        assert got["channels"][1].shape == (-(-height // step), -(-width // step)), asked


def test_dense_labels_travel_as_narrow_runs_and_decode_exactly() -> None:
    from segpaint.widgets._wire import frame_messages

    # 2500 round cells on a 2048² frame: 4 bytes per run (uint16 values and lengths), not 8.
    yy, xx = np.mgrid[0:2048, 0:2048]
    inside = ((yy % 41 - 20) ** 2 + (xx % 41 - 20) ** 2) <= 18**2
    dense = np.where(inside, (yy // 41) * 50 + xx // 41 + 1, 0).astype(np.uint32)
    # Large labels and a long background run: uint32 values and lengths, still exact.
    sparse = np.zeros((512, 512), np.uint32)
    sparse[300:310, 5:9] = 4294967295
    sparse[400, 0] = 70000
    for labels, dtypes in [(dense, ("uint16", "uint16")), (sparse, ("uint32", "uint32"))]:
        sent = frame_messages(
            xfer=1, frame=0, population="p", shape=labels.shape, channels=[], labels=labels
        )
        bands = [(c, b) for c, b in sent if c["type"] == "band"]
        assert {(c["values_dtype"], c["lengths_dtype"]) for c, _ in bands} == {dtypes}
        runs = sum(c["runs"] for c, _ in bands)
        width = np.dtype(dtypes[0]).itemsize + np.dtype(dtypes[1]).itemsize
        assert sum(memoryview(x).nbytes for _, b in bands for x in b) == runs * width
        got = wire_decode_frame(sent)
        np.testing.assert_array_equal(got.labels, labels)
        assert got.header["max_label"] == labels.max()


def test_quantize_channel_rounds_clips_and_names_bad_limits() -> None:
    from segpaint.widgets._wire import frame_messages, quantize_channel

    values = np.array([[0, 99, 100, 150, 199, 200, 65535]], np.uint16)
    assert quantize_channel(values, 100.0, 200.0).tolist() == [[0, 0, 0, 127, 252, 255, 255]]
    floats = np.array([[np.nan, -1.0, 0.5, 2.0]], np.float32)
    assert quantize_channel(floats, 0.0, 1.0).tolist() == [[0, 0, 128, 255]]
    with pytest.raises(ValueError, match=r"lo < hi; got lo=5.0, hi=5.0"):
        quantize_channel(values, 5.0, 5.0)
    with pytest.raises(ValueError, match=r"quantize applies to previews only"):
        frame_messages(
            xfer=1, frame=0, population="cells", shape=(1, 7), channels=[(0, values)],
            labels=None, quantize={0: (0.0, 1.0)},
        )  # fmt: skip
    # A uint8 channel is already 8 bits: it travels as it is, lossless, even in a preview.
    small = np.arange(12, dtype=np.uint8).reshape(3, 4)
    msgs = frame_messages(
        xfer=1, frame=0, population="cells", shape=(6, 8), channels=[(0, small)],
        labels=None, preview_step=2, quantize={0: (0.0, 1.0)},
    )  # fmt: skip
    got = wire_decode_frame(msgs)
    assert got.header["channels"] == [{"index": 0, "dtype": "uint8"}]
    np.testing.assert_array_equal(got.channels[0], small)


def test_a_frame_change_abandons_the_rest_of_a_full_resolution_transfer(
    session: segpaint.Session, widget: Annotator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Full resolution travels one band per request from the browser: a frame change that comes
    # while it is on its way never waits behind the rest of it.
    monkeypatch.setattr(segpaint.widgets._annotator, "PULL_BYTES", 1024)
    sent = capture(widget, monkeypatch)
    widget.set_trait("_preview_step", 2)
    widget.frame = 1
    sent.clear()
    widget._handle_message({"type": "request-full", "frame": 1}, [])
    header = sent[0][0]
    assert header["pull"] is True and header["preview_step"] == 1
    window = segpaint.widgets._annotator.PULL_WINDOW
    assert [c["type"] for c, _ in sent] == ["frame"] + ["band"] * window  # header, first band(s)
    widget._handle_message({"type": "more", "xfer": header["xfer"]}, [])
    assert [c["type"] for c, _ in sent] == ["frame"] + ["band"] * (window + 1)
    # One request may ask for several bands (the browser sizes it to the rate it sees).
    widget._handle_message({"type": "more", "xfer": header["xfer"], "n": 3}, [])
    assert [c["type"] for c, _ in sent] == ["frame"] + ["band"] * (window + 4)
    widget.frame = 2  # the user scrubs on
    sent.clear()
    widget._handle_message({"type": "more", "xfer": header["xfer"]}, [])  # late request: nothing
    assert sent == []
    # The abandoned transfer did not count as sent: frame 2's full resolution comes when asked.
    widget._handle_message({"type": "request-full", "frame": 2}, [])
    pull_all(widget, sent)
    full = decode_frame(sent)
    assert full["header"]["frame"] == 2
    for c in range(2):
        np.testing.assert_array_equal(full["channels"][c], session.image(2)[c])


def test_frames_nobody_labelled_reuse_their_label_bands_and_a_painted_frame_sends_its_paint(
    session: segpaint.Session, widget: Annotator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The session hands out one read-only array of zeros for every unlabelled frame: its
    # run-length encoding is computed once, not at every frame change.
    encoded: list[tuple[int, ...]] = []
    real = segpaint.widgets._annotator.label_bands

    def counted(labels: np.ndarray, **kwargs: Any) -> Any:
        encoded.append(labels.shape)
        return real(labels, **kwargs)

    monkeypatch.setattr(segpaint.widgets._annotator, "label_bands", counted)
    sent = capture(widget, monkeypatch)
    for frame in (1, 2, 0, 1):
        sent.clear()
        widget.frame = frame
        got = decode_frame(sent)
        assert got["header"]["frame"] == frame
        assert not got["labels"].any()
    assert encoded == []  # encoded once, for the first frame the widget sent when it was made
    # Painted: that frame's labels are its own (writable) array now, encoded as they are.
    session.paint("cells", 2, [(3, 4)], 2, 9)
    sent.clear()
    widget.frame = 2
    got = decode_frame(sent)
    np.testing.assert_array_equal(got["labels"], session.labels("cells", 2))
    assert got["labels"][3, 4] == 9
    sent.clear()
    widget.frame = 0  # still unlabelled: the cached zeros again
    assert not decode_frame(sent)["labels"].any()


def test_a_frame_change_sends_the_frames_scribbles_after_it_and_nothing_when_unmarked(
    session: segpaint.Session, widget: Annotator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Scribble marks of the new frame follow its transfer, cut to the marked box; a frame
    # without marks sends none and never copies the frame's (all-zero) marks to find that out.
    session.scribble("cells", 1, [(10, 12), (20, 30)], 2, mark=1)
    sent = capture(widget, monkeypatch)
    copies: list[int] = []
    real = session.scribbles

    def counted(population: str, frame: int) -> np.ndarray:
        copies.append(frame)
        return real(population, frame)

    monkeypatch.setattr(session, "scribbles", counted)
    widget.frame = 1
    types = [c["type"] for c, _ in sent]
    assert types.index("frame-end") < types.index("scribble-patch")
    ((content, buffers),) = [(c, b) for c, b in sent if c["type"] == "scribble-patch"]
    r0, r1, c0, c1 = content["bbox"]
    marks = real("cells", 1)
    rows, cols = np.nonzero(marks)
    assert (r0, r1, c0, c1) == (rows.min(), rows.max() + 1, cols.min(), cols.max() + 1)
    values = np.frombuffer(buffers[0], np.uint8).reshape(r1 - r0, c1 - c0)
    np.testing.assert_array_equal(values, marks[r0:r1, c0:c1])
    sent.clear()
    copies.clear()
    widget.frame = 2
    assert [c["type"] for c, _ in sent if c["type"] == "scribble-patch"] == []
    assert copies == []


# --------------------------------------------------------------------------- hostile messages
INF, NAN = float("inf"), float("nan")


def stroke_message(**changes: Any) -> tuple[dict[str, Any], list[Any]]:
    """A valid one-part stroke of label 9 over rows 10-12, cols 20-24 of frame 0, then `changes`."""
    content: dict[str, Any] = {
        "type": "stroke",
        "stroke": 5,
        "part": 0,
        "parts": 1,
        "population": "cells",
        "frame": 0,
        "bbox": [10, 12, 20, 24],
        "rows": [10, 12],
    }
    content.update(changes)
    buffers = [memoryview(np.full(8, 9, "<u4").tobytes()), memoryview(np.ones(8, "u1").tobytes())]
    return content, buffers


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"stroke": INF}, "stroke must be an integer from 0 to 9007199254740992; got inf"),
        ({"stroke": NAN}, "stroke must be an integer"),
        ({"stroke": "5"}, "stroke must be an integer"),
        ({"stroke": True}, "stroke must be an integer"),
        ({"parts": 10**12}, "parts must be an integer from 1 to 2; got 1000000000000"),
        ({"parts": 0}, "parts must be an integer from 1 to 2; got 0"),
        ({"parts": INF}, "parts must be an integer from 1 to 2; got inf"),
        ({"part": 3}, "part must be an integer from 0 to 0; got 3"),
        ({"bbox": [10, INF, 20, 24]}, "bbox row1 must be an integer from 11 to 64; got inf"),
        ({"bbox": [NAN, 12, 20, 24]}, "bbox row0 must be an integer from 0 to 63; got nan"),
        ({"bbox": [10, 12, 20, 10**9]}, "bbox col1 must be an integer from 21 to 80"),
        ({"bbox": [-2, 12, 20, 24]}, "bbox row0 must be an integer from 0 to 63; got -2"),
        ({"bbox": [12, 10, 20, 24]}, "bbox row1 must be an integer from 13 to 64; got 10"),
        ({"bbox": [10, 12, 20]}, "bbox must be \\[row0, row1, col0, col1\\]"),
        ({"bbox": None}, "bbox must be \\[row0, row1, col0, col1\\]"),
        ({"rows": [10, 13]}, "rows\\[1\\] must be an integer from 11 to 12; got 13"),
        ({"rows": [NAN, 12]}, "rows\\[0\\] must be an integer from 10 to 11; got nan"),
        ({"population": "ghosts"}, "population must be one of 'cells'; got 'ghosts'"),
        ({"population": None}, "population must be one of 'cells'; got None"),
        ({"frame": 3}, "frame must be an integer from 0 to 2; got 3"),
        ({"frame": -INF}, "frame must be an integer from 0 to 2; got -inf"),
        ({"frame": 0.5}, "frame must be an integer from 0 to 2; got 0.5"),
    ],
)
def test_a_hostile_stroke_changes_nothing_and_is_answered_applied_false(
    session: segpaint.Session,
    widget: Annotator,
    monkeypatch: pytest.MonkeyPatch,
    changes: dict[str, Any],
    reason: str,
) -> None:
    session.paint("cells", 0, [(11, 22)], 3, 4)
    before = np.array(session.labels("cells", 0))
    sent = capture(widget, monkeypatch)
    widget._handle_message(*stroke_message(**changes))
    np.testing.assert_array_equal(session.labels("cells", 0), before)
    ack = sent[0][0]
    assert ack["type"] == "ack"
    assert ack["applied"] is False
    assert ack["stroke"] == (5 if "stroke" not in changes else None)
    assert re.match("edit not applied: " + reason, ack["message"])
    assert widget.status == ack["message"]
    session.undo()  # the one edit on the history is the paint above
    assert not session.labels("cells", 0).any()
    assert not session.can_undo


def mask_stroke(**changes: Any) -> tuple[dict[str, Any], list[Any]]:
    """A valid bit-packed stroke of label 9 over rows 10-12, cols 20-24 of frame 0, then `changes`."""
    content, _ = stroke_message(encoding="mask", label=9)
    content.update(changes)
    return content, [memoryview(np.packbits(np.ones(8, "u1"), bitorder="little").tobytes())]


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        (({"label": INF}, None), "label must be an integer from 0 to 4294967295; got inf"),
        (({"label": 2**32}, None), "label must be an integer from 0 to 4294967295; got 4294967296"),
        (({"label": -1}, None), "label must be an integer from 0 to 4294967295; got -1"),
        (({"label": None}, None), "label must be an integer from 0 to 4294967295; got None"),
        (({"encoding": "jpeg"}, None), "encoding must be one of 'mask', 'values'; got 'jpeg'"),
        (({}, [b"\xff\xff"]), "stroke mask bytes: expected 1 elements \\(1 bytes\\), got 2 bytes"),
        (({}, [b"\xff", b"\xff"]), "a mask stroke carries 1 buffer \\(the mask\\); got 2"),
    ],
)
def test_a_hostile_mask_stroke_changes_nothing(
    session: segpaint.Session,
    widget: Annotator,
    monkeypatch: pytest.MonkeyPatch,
    case: tuple[dict[str, Any], list[bytes] | None],
    reason: str,
) -> None:
    changes, buffers = case
    sent = capture(widget, monkeypatch)
    content, good = mask_stroke(**changes)
    widget._handle_message(content, good if buffers is None else [memoryview(b) for b in buffers])
    assert not np.asarray(session.labels("cells", 0)).any()
    assert sent[0][0]["applied"] is False
    assert re.match("edit not applied: " + reason, sent[0][0]["message"])


def test_a_mask_stroke_writes_its_label_under_its_mask(
    session: segpaint.Session, widget: Annotator, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = capture(widget, monkeypatch)
    widget._handle_message(*mask_stroke(label=LABEL_MAX))
    assert sent[0][0]["applied"] is True
    labels = np.asarray(session.labels("cells", 0))
    assert (labels[10:12, 20:24] == LABEL_MAX).all() and (labels == LABEL_MAX).sum() == 8
    # Parts must agree on the encoding and the label.
    first = mask_stroke(stroke=6, parts=2, rows=[10, 11])
    first[1][0] = memoryview(b"\x0f")
    widget._handle_message(*first)
    second = stroke_message(stroke=6, parts=2, part=1, rows=[11, 12])
    second[1][0] = memoryview(np.full(4, 9, "<u4").tobytes())
    second[1][1] = memoryview(np.ones(4, "u1").tobytes())
    widget._handle_message(*second)
    assert "disagrees with its earlier parts" in widget.status


def test_a_refused_stroke_inside_the_frame_puts_the_labels_back_on_the_canvas(
    session: segpaint.Session, widget: Annotator, monkeypatch: pytest.MonkeyPatch
) -> None:
    session.paint("cells", 0, [(11, 22)], 3, 4)
    sent = capture(widget, monkeypatch)
    content, buffers = stroke_message(rows=[10, 11])  # buffers hold two rows, not one
    widget._handle_message(content, buffers)
    assert [c["type"] for c, _ in sent] == ["ack", "labels-patch"]
    assert sent[0][0]["message"] == (
        "edit not applied: stroke values: expected 4 elements (16 bytes), got 32 bytes"
    )
    patch, (buffer,) = sent[1]
    assert patch["bbox"] == [10, 12, 20, 24]
    got = np.frombuffer(buffer, patch["dtype"]).reshape(2, 4)
    np.testing.assert_array_equal(got, session.labels("cells", 0)[10:12, 20:24])


def test_a_forged_part_count_allocates_nothing_large(widget: Annotator) -> None:
    import tracemalloc

    content, buffers = stroke_message(parts=10**12, bbox=[0, 64, 0, 80], rows=[0, 1])
    tracemalloc.start()
    try:
        widget._handle_message(content, buffers)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1024 * 1024
    assert widget.status == (
        "edit not applied: parts must be an integer from 1 to 64; got 1000000000000"
    )


def test_parts_that_disagree_drop_the_stroke(
    session: segpaint.Session, widget: Annotator, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = browser_stroke(session, 0, [(5, 5), (50, 70)], 4, 3, parts=2)
    widget._handle_message(*first[0])
    content, buffers = first[1]
    sent = capture(widget, monkeypatch)
    widget._handle_message({**content, "frame": 1}, buffers)  # same stroke id, another frame
    assert sent[0][0]["applied"] is False
    assert "disagrees with its earlier parts" in widget.status
    widget._handle_message(content, buffers)  # the true last part: its first part is gone
    assert not session.labels("cells", 0).any()
    assert not session.can_undo


def test_at_most_a_few_unfinished_strokes_wait_for_their_parts(
    session: segpaint.Session, widget: Annotator
) -> None:
    from segpaint.widgets._wire import MAX_PENDING_STROKES

    strokes = [
        browser_stroke(session, 0, [(5, 5), (50, 70)], 4, 3, stroke=k, parts=2) for k in range(10)
    ]
    for parts in strokes:
        widget._handle_message(*parts[0])
    assert len(widget._strokes._pending) == MAX_PENDING_STROKES
    widget._handle_message(*strokes[-1][1])  # the newest still completes
    assert (session.labels("cells", 0) == 3).sum() > 100
    before = np.array(session.labels("cells", 0))
    widget._handle_message(*strokes[0][1])  # the oldest was dropped: its last part alone is nothing
    np.testing.assert_array_equal(session.labels("cells", 0), before)
    session.undo()
    assert not session.can_undo


@pytest.mark.parametrize(
    ("content", "status"),
    [
        ({"type": "request-full", "frame": INF}, "request-full refused: frame must be an integer"),
        ({"type": "more", "xfer": 1, "n": 1e9}, "more refused: n must be an integer from 1 to 16"),
        ({"type": "more", "xfer": 1, "n": NAN}, "more refused: n must be an integer from 1 to 16"),
        ({"type": "roi-add", "frame": 0, "bbox": [0, INF, 0, 3]}, "roi-add refused: bbox row1"),
        ({"type": "roi-add", "frame": NAN, "bbox": [0, 4, 0, 3]}, "roi-add refused: frame must"),
        ({"type": "roi-add", "frame": 0, "bbox": [0, 65, 0, 3]}, "roi-add refused: bbox row1"),
        (
            {"type": "roi-change", "frame": 0, "old": [0, 4, 0, NAN], "bbox": [0, 4, 0, 3]},
            "roi-change refused: old col1",
        ),
        ({"type": "roi-remove", "frame": "0", "bbox": [0, 4, 0, 4]}, "roi-remove refused: frame"),
        ({"type": "export", "frame": NAN}, "export refused: frame must be an integer from 0 to 2"),
        ({"type": "export", "format": "png"}, "export refused: format must be one of"),
        ({"type": "export", "bbox": [0, 1e300, 0, 4]}, "export refused: bbox row1"),
        ({"type": "presegment", "scope": "everything"}, "presegment refused: scope must be"),
        ({"type": "presegment", "method": "rm -rf"}, "presegment refused: method must be"),
        ({"type": INF}, "ignored an unknown message from the browser: inf"),
    ],
)
def test_hostile_requests_change_nothing_and_say_why(
    session: segpaint.Session, widget: Annotator, content: dict[str, Any], status: str
) -> None:
    roi = session.add_roi(0, rows=(0, 4), cols=(0, 4))
    widget._handle_message(content, [])
    assert widget.status.startswith(status)
    assert session.rois() == [roi]
    assert not np.asarray(session.labels("cells")).any()
    assert widget.busy is False


@pytest.mark.parametrize("content", ["junk", None, [1, 2], 3.5])
def test_a_message_that_is_not_an_object_is_reported(widget: Annotator, content: Any) -> None:
    widget._handle_message(content, [])
    assert widget.status == "ignored an unknown message from the browser: None"


def test_the_largest_label_value_breaks_neither_the_widget_nor_frames(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    session = segpaint.open(np.zeros((2, 32, 40), np.uint16), axes="TYX")
    labels = np.zeros((32, 40), np.uint32)
    labels[:4, :4] = LABEL_MAX
    labels[10:12, 10:12] = 7
    session.set_labels("cells", 0, labels)

    widget = Annotator(session)
    assert widget.next_label == 0
    assert widget.status.startswith(
        "labels of 'cells' reach 4294967295, the largest uint32 label: no unused label is left"
    )
    sent = capture(widget, monkeypatch)
    widget._handle_message({"type": "request-frame"}, [])
    frame = decode_frame(sent)
    np.testing.assert_array_equal(frame["labels"], labels)
    assert frame["header"]["max_label"] == LABEL_MAX

    # A stroke of the largest label is applied, and a Python edit up to it keeps `m` off.
    sent.clear()
    content, buffers = stroke_message()
    buffers[0] = memoryview(np.full(8, LABEL_MAX, "<u4").tobytes())
    widget._handle_message(content, buffers)
    assert sent[0][0]["applied"] is True
    assert (np.asarray(session.labels("cells", 0))[10:12, 20:24] == LABEL_MAX).all()
    assert widget.next_label == 0


def test_next_label_runs_out_when_an_edit_reaches_the_largest_label(
    session: segpaint.Session, widget: Annotator
) -> None:
    assert widget.next_label == 1
    session.paint("cells", 0, [(5, 5)], 2, LABEL_MAX)
    assert widget.next_label == 0
    assert "no unused label is left" in widget.status


def test_the_front_end_limits_come_from_python(widget: Annotator) -> None:
    from segpaint.widgets import EXPORT_FORMATS, GAMMA_MAX, GAMMA_MIN, TOOLS

    assert widget.limits == {
        "chunk_bytes": CHUNK_BYTES,
        "brush_size": [1, BRUSH_SIZE_MAX],
        "gamma": [GAMMA_MIN, GAMMA_MAX],
        "tools": list(TOOLS),
        "export_formats": list(EXPORT_FORMATS),
        "label_max": LABEL_MAX,
        "pull_batch_max": segpaint.widgets._annotator.PULL_BATCH_MAX,
    }
    assert "limits" in widget.get_state()
    with pytest.raises(traitlets.TraitError, match="read-only"):
        widget.limits = {}


# --------------------------------------------------------------------------- one codec per side
_CODEC_JS = Path(__file__).resolve().parents[1] / "js" / "codec.js"
_ASSEMBLER_JS = _CODEC_JS.with_name("frame_assembler.js")
_NODE_SCRIPT = """
import { readFileSync } from "node:fs";
const codec = await import(process.argv[1]);
const { FrameAssembler } = await import(process.argv[2]);
const input = JSON.parse(readFileSync(0, "utf8"));
const b64 = (a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("base64");
const buf = (s) => { const b = Buffer.from(s, "base64"); return new Uint8Array(b.buffer, b.byteOffset, b.length); };
const asm = new FrameAssembler();
let frame = null;
for (const { content, buffers } of input.frame) {
  const bufs = buffers.map(buf);
  if (content.type === "frame") asm.begin(content);
  else if (content.type === "band") asm.band(content, bufs);
  else if (content.type === "frame-end") frame = asm.end(content);
}
for (const { content, buffers } of input.patches) {
  codec.writeLabelBox(frame.labels, frame.width, content.bbox, content.dtype, buf(buffers[0]));
}
const s = input.stroke;
const stroke = codec.encodeStroke({ ...s, values: Uint32Array.from(s.values), mask: Uint8Array.from(s.mask) }, s.chunk);
const { values: _v, ...m } = s;
const masked = codec.encodeStroke({ ...m, stroke: 13, label: 4294967295, mask: Uint8Array.from(s.mask) }, 2);
console.log(JSON.stringify({
  previewStep: frame.previewStep,
  labels: b64(frame.labels),
  channels: [...frame.channels].map(([i, ch]) => [i, ch.dtype, b64(ch.data)]),
  stroke: stroke.map(([content, buffers]) => ({ content, buffers: buffers.map((b) => b64(new Uint8Array(b))) })),
  masked: masked.map(([content, buffers]) => ({ content, buffers: buffers.map((b) => b64(new Uint8Array(b))) })),
}));
"""


def test_the_browser_codec_reads_what_python_writes_and_python_reads_its_strokes() -> None:
    """Both codecs, end to end: js/codec.js (run by Node) decodes a frame and a labels-patch made
    by _wire.py bit for bit, and _wire.py's StrokeAssembler decodes the strokes codec.js makes."""
    import base64
    import json
    import shutil
    import subprocess

    from segpaint.widgets._wire import StrokeAssembler, frame_messages, labels_patch_messages

    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed (needed to run js/codec.js)")
    rng = np.random.default_rng(3)
    labels = np.zeros((50, 70), np.uint32)
    labels[5:20, 5:30] = 7
    labels[30:45, 10:60] = 70000  # needs uint32 on the wire
    image = rng.integers(0, 65535, (50, 70), dtype=np.uint16)
    floats = rng.normal(size=(50, 70)).astype(np.float32)
    frame = frame_messages(
        xfer=4,
        frame=1,
        population="cells",
        shape=(50, 70),
        channels=[(0, image[::3, ::3]), (1, floats[::3, ::3])],
        labels=labels,
        preview_step=3,
        max_bytes=300,  # many bands
    )
    patch_values = np.full((4, 5), 300, np.uint32)
    patches = labels_patch_messages(
        population="cells", frame=1, bbox=(1, 5, 2, 7), values=patch_values, max_bytes=20
    )
    expected = labels.copy()
    expected[1:5, 2:7] = 300
    mask = rng.random((6, 9)) < 0.5
    values = np.where(mask, 9, 0).astype(np.uint32)

    def wire(messages: Any) -> list[dict[str, Any]]:
        return [
            {"content": c, "buffers": [base64.b64encode(bytes(b)).decode() for b in bufs]}
            for c, bufs in messages
        ]

    stroke_in = {
        "stroke": 12,
        "population": "cells",
        "frame": 1,
        "bbox": [10, 16, 20, 29],
        "values": values.ravel().tolist(),
        "mask": mask.ravel().astype(int).tolist(),
        "chunk": 2 * 9 * 5,  # two rows per part: three parts
    }
    payload = json.dumps({"frame": wire(frame), "patches": wire(patches), "stroke": stroke_in})
    run = subprocess.run(
        [
            node,
            "--input-type=module",
            "-e",
            _NODE_SCRIPT,
            _CODEC_JS.as_uri(),
            _ASSEMBLER_JS.as_uri(),
        ],
        input=payload,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)

    def arr(text: str, dtype: str) -> np.ndarray:
        return np.frombuffer(base64.b64decode(text), dtype)

    assert out["previewStep"] == 3
    np.testing.assert_array_equal(arr(out["labels"], "<u4").reshape(50, 70), expected)
    channels = {
        i: arr(data, {"uint16": "<u2", "float32": "<f4"}[dt]) for i, dt, data in out["channels"]
    }
    np.testing.assert_array_equal(channels[0].reshape(17, 24), image[::3, ::3])
    np.testing.assert_array_equal(channels[1].reshape(17, 24), floats[::3, ::3])

    assembler = StrokeAssembler()
    got = None
    for msg in out["stroke"]:
        assert msg["content"]["type"] == "stroke"
        got = assembler.add(
            msg["content"],
            [base64.b64decode(b) for b in msg["buffers"]],
            shape=(50, 70),
            n_frames=3,
            populations=["cells"],
        )
    assert len(out["stroke"]) == 3
    assert got is not None
    assert (got.stroke, got.population, got.frame, got.bbox) == (12, "cells", 1, (10, 16, 20, 29))
    np.testing.assert_array_equal(got.mask, mask)
    np.testing.assert_array_equal(got.values, values)
    # The brush's own encoding: one label (here the largest) under a bit-packed mask, one row
    # (9 bits, 2 bytes) per part with this chunk size.
    got = None
    for msg in out["masked"]:
        assert msg["content"]["encoding"] == "mask"
        got = assembler.add(
            msg["content"],
            [base64.b64decode(b) for b in msg["buffers"]],
            shape=(50, 70),
            n_frames=3,
            populations=["cells"],
        )
    assert len(out["masked"]) == 6
    assert got is not None and got.stroke == 13 and got.values == LABEL_MAX
    np.testing.assert_array_equal(got.mask, mask)


def test_each_widget_has_its_own_front_end_key(session: segpaint.Session) -> None:
    # The browser keys its per-model state (one label buffer, one transport) on this id.
    a, b = Annotator(session), Annotator(session)
    assert len(a._widget_id) == 32 and a._widget_id != b._widget_id
    assert a.get_state()["_widget_id"] == a._widget_id


def test_the_status_line_says_when_autosave_is_off_and_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    session = segpaint.open(np.zeros((2, 64, 64), np.uint16), axes="TYX", journal=tmp_path / "j")
    widget = Annotator(session)
    journal = session._journal
    assert journal is not None
    full = {"on": True}
    real_append, real_rewrite = journal.append, journal.rewrite

    def append(*args: Any, **kwargs: Any) -> None:
        if full["on"]:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_append(*args, **kwargs)

    def rewrite(records: Any) -> None:
        if full["on"]:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_rewrite(records)

    monkeypatch.setattr(journal, "append", append)
    monkeypatch.setattr(journal, "rewrite", rewrite)
    session.paint("cells", 0, [(5, 5)], 2, 1)  # from code: the widget reports on its next stroke
    widget._report_autosave()
    assert widget.status.startswith("autosave is off (No space left on device)")
    full["on"] = False
    session.paint("cells", 0, [(9, 9)], 2, 1)
    widget._report_autosave()
    assert widget.status == "autosave is back on: every edit is journaled again"
