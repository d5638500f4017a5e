"""Read-ahead (issue 9): the kernel side. The tests play the browser: they ask for a neighbour's
picture (``prefetch``), say a frame change shows it (``prefetch-hit``), and decode what the
widget sends back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import traitlets

import segpaint
from segpaint.widgets import Annotator
from segpaint.widgets._wire import PREFETCH_MAX, decode_frame
from sent import Sent, capture


@pytest.fixture
def session(stack: np.ndarray) -> segpaint.Session:
    s = segpaint.open(stack, axes="TCYX", channel_names=["phase", "nuclei"])
    labels = np.zeros((64, 80), np.uint32)
    labels[10:20, 10:30] = 4
    s.set_labels("cells", 1, labels)
    return s


@pytest.fixture
def widget(session: segpaint.Session, tmp_path: Path) -> Annotator:
    w = Annotator(session, export_folder=tmp_path / "out", labels_folder=tmp_path / "labels")
    w.set_trait("_preview_step", 2)  # the view shows one image pixel in 2: a quantized preview
    return w


def headers(sent: Sent) -> list[dict[str, Any]]:
    return [c for c, _ in sent if c["type"] == "frame"]


def ask(widget: Annotator, frame: int, shown: int | None = None) -> None:
    shown = widget.frame if shown is None else shown
    widget._handle_message({"type": "prefetch", "frame": frame, "from": shown}, [])


def test_a_prefetch_answer_is_the_picture_a_frame_change_would_send(
    session: segpaint.Session, widget: Annotator, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = capture(widget, monkeypatch)
    widget.set_contrast("nuclei", 100, 1100)
    ask(widget, 1)
    (header,) = headers(sent)
    assert header["prefetch"] is True and header["frame"] == 1 and header["partial"] is False
    ahead = decode_frame(sent)
    np.testing.assert_array_equal(ahead.labels, session.labels("cells", 1))
    assert ahead.labels is not None and int(ahead.labels.max()) == 4
    # The same preview a change to frame 1 sends: step, quantization, bytes.
    widget.frame = 1
    change = decode_frame(sent, xfer=headers(sent)[1]["xfer"])
    assert change.header["preview_step"] == header["preview_step"] == 2
    assert [ch["quant"] for ch in header["channels"]] == [
        list(map(float, c)) for c in widget.contrast
    ]
    assert header["channels"][1]["quant"] == [100.0, 1100.0]
    for c in (0, 1):
        assert ahead.channels[c].dtype == np.uint8
        np.testing.assert_array_equal(ahead.channels[c], change.channels[c])
    np.testing.assert_array_equal(ahead.labels, change.labels)
    assert widget.frame == 1 and widget._sent_preview_step == 2


def test_prefetch_is_bounded_to_neighbours_and_ignored_when_stale_or_off(
    widget: Annotator, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = capture(widget, monkeypatch)
    ask(widget, 0)  # the current frame: it is on screen already
    ask(widget, 2)  # two frames away, prefetch=1
    ask(widget, 1, shown=2)  # the browser had moved on (it asked from frame 2)
    assert headers(sent) == []
    widget._handle_message({"type": "prefetch", "frame": 3, "from": 0}, [])  # out of range
    assert headers(sent) == []
    assert "frame must be an integer from 0 to 2" in widget.status
    widget.prefetch = 2
    ask(widget, 2)
    assert [h["frame"] for h in headers(sent)] == [2]
    widget.prefetch = 0
    sent.clear()
    ask(widget, 1)
    assert sent == []


def test_the_prefetch_trait_says_what_it_expects(session: segpaint.Session) -> None:
    assert Annotator(session).prefetch == 1
    assert Annotator(session, prefetch=0).prefetch == 0
    with pytest.raises(traitlets.TraitError, match=r"prefetch must be a number of frames from 0"):
        Annotator(session, prefetch=PREFETCH_MAX + 1)
    w = Annotator(session)
    with pytest.raises(traitlets.TraitError, match=r"0 turns read-ahead off\); got -1"):
        w.prefetch = -1
    with pytest.raises(traitlets.TraitError, match=r"got 1.5"):
        w.prefetch = 1.5  # type: ignore[assignment]
    assert w.prefetch == 1


def test_a_hit_sends_no_preview_and_the_lossless_pull_follows(
    session: segpaint.Session, widget: Annotator, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = capture(widget, monkeypatch)
    states: list[dict[str, Any]] = []  # trait updates sent to the page
    monkeypatch.setattr(widget, "_send", lambda msg, buffers=None: states.append(msg))
    ask(widget, 1)
    xfer = headers(sent)[0]["xfer"]
    sent.clear()
    # What the browser sends on a frame change that shows the picture: the hit, then the trait.
    widget._handle_message({"type": "prefetch-hit", "frame": 1, "from": 0, "xfer": xfer}, [])
    assert widget.frame == 1  # moved by the hit: what the page asks next finds it there
    assert headers(sent) == []  # no preview, no labels: the browser has them
    # ... and not sent back to the page (it is the page's own value; an update from here could
    # come after the user moved on and pull the page back).
    assert not [m for m in states if "frame" in m.get("state", {})]
    # The page's next requests may overtake its trait update (the widget manager holds one back
    # while an earlier one is unanswered): they are answered all the same.
    widget._handle_message({"type": "request-full", "frame": 1}, [])
    while not any(c["type"] == "frame-end" for c, _ in sent):
        bands = [c for c, _ in sent if c["type"] == "band"]
        widget._handle_message({"type": "more", "xfer": bands[-1]["xfer"], "n": 16}, [])
    ask(widget, 2, shown=1)
    assert [h["frame"] for h in headers(sent)] == [1, 2]
    widget.frame = 1  # the trait update, when it comes, changes nothing
    assert len(headers(sent)) == 2
    widget.frame = 2  # a change from Python does reach the page
    assert [m["state"]["frame"] for m in states if "frame" in m.get("state", {})] == [2]
    widget.frame = 1
    sent[:] = [m for m in sent if m[0].get("xfer") == headers(sent)[0]["xfer"]]
    full = decode_frame(sent)
    assert full.header["preview_step"] == 1 and full.labels is None
    for c in (0, 1):
        np.testing.assert_array_equal(full.channels[c], session.image(1)[c])


@pytest.mark.parametrize(
    "stale",
    ["another xfer", "from another frame", "contrast changed", "channel hidden", "zoomed"],
)
def test_a_hit_that_no_longer_matches_gets_the_frame_as_usual(
    stale: str, widget: Annotator, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = capture(widget, monkeypatch)
    ask(widget, 1)
    xfer = headers(sent)[0]["xfer"]
    hit = {"type": "prefetch-hit", "frame": 1, "from": 0, "xfer": xfer}
    if stale == "another xfer":
        hit["xfer"] = xfer + 1
    elif stale == "from another frame":
        hit["from"] = 2
    elif stale == "contrast changed":
        widget.set_contrast(0, 5, 500)
    elif stale == "channel hidden":
        widget.channel_visible = [True, False]
    else:
        widget.set_trait("_preview_step", 3)
    sent.clear()
    widget._handle_message(hit, [])
    widget.frame = 1
    (header,) = headers(sent)
    assert header["frame"] == 1 and "prefetch" not in header and header["labels"] is True


def test_every_frame_change_says_how_many_hits_the_kernel_had_seen(
    widget: Annotator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page drops a frame of another frame sent before its latest hit (model.js): without
    the count, a change the kernel began before a hit arrives after the hit's picture and
    pulls the page back to a frame it left."""
    sent = capture(widget, monkeypatch)
    widget.frame = 2
    assert headers(sent)[-1]["hits"] == 0
    ask(widget, 1)
    xfer = headers(sent)[-1]["xfer"]
    assert "hits" not in headers(sent)[-1]  # a picture read ahead is never dropped so
    widget._handle_message({"type": "prefetch-hit", "frame": 1, "from": 2, "xfer": xfer}, [])
    # refused (the kernel is not on frame 2 any more): counted all the same
    widget._handle_message({"type": "prefetch-hit", "frame": 0, "from": 2, "xfer": xfer}, [])
    widget.frame = 0
    assert widget._hits_seen == 2
    assert [h["hits"] for h in headers(sent) if h["frame"] == 0] == [2]


@pytest.mark.parametrize("edit", ["paint", "set_labels", "undo", "copy_labels"])
def test_an_edit_of_a_frame_read_ahead_drops_it_and_a_hit_is_refused(
    edit: str, session: segpaint.Session, widget: Annotator, monkeypatch: pytest.MonkeyPatch
) -> None:
    if edit == "undo":
        session.paint("cells", 1, [(40, 40)], 3, 9)
    sent = capture(widget, monkeypatch)
    ask(widget, 1)
    xfer = headers(sent)[0]["xfer"]
    sent.clear()
    if edit == "paint":
        session.paint("cells", 1, [(40, 40)], 3, 7)
    elif edit == "set_labels":
        session.set_labels("cells", 1, np.full((64, 80), 2, np.uint32))
    elif edit == "undo":
        session.undo()
    else:
        session.paint("cells", 0, [(50, 60)], 4, 3)
        sent.clear()
        session.copy_labels("cells", 0, 1)
    drops = [c for c, _ in sent if c["type"] == "prefetch-drop"]
    assert drops == [{"type": "prefetch-drop", "frame": 1, "population": "cells"}]
    # A hit sent before the drop reached the browser: the change sends the frame with its new labels.
    sent.clear()
    widget._handle_message({"type": "prefetch-hit", "frame": 1, "from": 0, "xfer": xfer}, [])
    widget.frame = 1
    got = decode_frame(sent)
    np.testing.assert_array_equal(got.labels, session.labels("cells", 1))


def test_edits_of_the_current_frame_or_of_frames_not_read_ahead_drop_nothing(
    session: segpaint.Session, widget: Annotator, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = capture(widget, monkeypatch)
    session.paint("cells", 2, [(5, 5)], 2, 3)  # never sent ahead
    session.paint("cells", 0, [(5, 5)], 2, 3)  # the current frame: a labels patch
    assert [c["type"] for c, _ in sent] == ["labels-patch"]
    ask(widget, 1)
    widget.frame = 1  # a miss: frame 1 is current now, no longer read ahead
    sent.clear()
    session.paint("cells", 1, [(5, 5)], 2, 3)
    assert [c["type"] for c, _ in sent] == ["labels-patch"]


def test_a_population_change_forgets_what_was_read_ahead(
    session: segpaint.Session, widget: Annotator, monkeypatch: pytest.MonkeyPatch
) -> None:
    session.add_population("nuclei")
    widget.set_trait("populations", list(session.populations))
    sent = capture(widget, monkeypatch)
    ask(widget, 1)
    xfer = headers(sent)[0]["xfer"]
    widget.population = "nuclei"
    sent.clear()
    widget._handle_message({"type": "prefetch-hit", "frame": 1, "from": 0, "xfer": xfer}, [])
    widget.frame = 1
    (header,) = headers(sent)  # the hit of the other population's picture is not trusted
    assert header["population"] == "nuclei"


def test_an_experiment_annotator_tags_pictures_and_drops_with_its_position(
    experiment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    widget = Annotator(segpaint.open_experiment(experiment))
    sent = capture(widget, monkeypatch)
    shown = {"type": "prefetch", "frame": 1, "from": 0}
    widget._handle_message({**shown, "position": "W2/200"}, [])  # asked from another position
    assert headers(sent) == []
    widget._handle_message({**shown, "position": "W1/100"}, [])
    (header,) = headers(sent)
    assert (header["position"], header["frame"], header["prefetch"]) == ("W1/100", 1, True)
    sent.clear()
    widget.session.paint(widget.population, 1, [(5, 5)], 2, 3)
    assert [c for c, _ in sent] == [
        {"type": "prefetch-drop", "frame": 1, "population": widget.population, "position": "W1/100"}
    ]
