"""The Annotator of an Experiment: one position at a time, a position selector (issue 13).

The tests play the browser by calling the widget's message handler, as test_widget_python.py
does, and check the labels of both positions' Sessions and what the widget sends.
"""

from __future__ import annotations

import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest
import tifffile
import traitlets

import segpaint
from segpaint.experiment import Experiment
from segpaint.ops import stroke_mask
from segpaint.widgets import Annotator
from segpaint.widgets._wire import decode_frame, stroke_messages
from sent import capture

# W1/100 and W1/101: 3 frames of 40x56; W2/200: 2 frames of 32x48 (another size and length).
LAYOUT = {"W1/100": (3, 40, 56), "W1/101": (3, 40, 56), "W2/200": (2, 32, 48)}


def _write_experiment(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "config.ini").write_text(
        textwrap.dedent(
            """\
            [Populations]
            populations = targets,effectors

            [MovieSettings]
            pxtoum = 0.5
            frametomin = 1.0
            movie_prefix = Aligned

            [Channels]
            live_nuclei_channel = 0
            brightfield_channel = 1
            """
        )
    )
    for seed, (name, (frames, h, w)) in enumerate(LAYOUT.items()):
        movie = np.random.default_rng(seed).integers(0, 4000, (frames, 2, h, w), dtype=np.uint16)
        movie[:, 0] += np.uint16(1000 * seed)  # each position's pixels differ
        folder = root / name / "movie"
        folder.mkdir(parents=True)
        tifffile.imwrite(folder / "Aligned.tif", movie, imagej=True, metadata={"axes": "TCYX"})
    return root


@pytest.fixture
def experiment(tmp_path: Path) -> Experiment:
    return segpaint.open_experiment(_write_experiment(tmp_path / "Exp"))


def paint_in_browser(
    widget: Annotator,
    points: list[tuple[float, float]],
    label: int,
    *,
    position: str | None = None,
    stroke: int = 1,
) -> np.ndarray:
    """Send the stroke the browser sends at pointer-up (tagged with the position it shows, as
    js/model.js does); returns the expected mask over the whole frame."""
    shape = widget.session.frame_shape
    result = stroke_mask(shape, points, 3)
    assert result is not None
    (r0, r1, c0, c1), mask = result
    for content, buffers in stroke_messages(
        stroke=stroke,
        population=widget.population,
        frame=widget.frame,
        bbox=(r0, r1, c0, c1),
        label=label,
        mask=mask,
    ):
        widget._handle_message({**content, "position": position or widget.position}, buffers)
    full = np.zeros(shape, bool)
    full[r0:r1, c0:c1] = mask
    return full


def test_an_experiment_annotator_lists_its_positions_and_a_session_one_has_none(
    experiment: Experiment,
) -> None:
    widget = Annotator(experiment)
    assert widget.positions == ["W1/100", "W1/101", "W2/200"]
    assert widget.position == "W1/100"
    assert widget.session is experiment["W1", "100"]
    assert widget.experiment is experiment
    assert widget.population == "targets"

    assert experiment.annotator("W1", "101").session is experiment["W1", "101"]
    assert experiment.annotator("W1/101").position == "W1/101"
    assert experiment.annotator("W2", population="effectors").position == "W2/200"
    assert experiment.annotator(tool="fill").tool == "fill"
    with pytest.raises(KeyError, match=r"position: no position '999' in well 'W1'"):
        experiment.annotator("W1", "999")
    assert experiment.annotator(position="W2/200").position == "W2/200"
    with pytest.raises(TypeError, match=r"position: expected a well and a position"):
        experiment.annotator(position="100")
    with pytest.raises(ValueError, match=r"position must be one of \['W1/100'.*got 'W9/1'"):
        Annotator(experiment, position="W9/1")
    with pytest.raises(traitlets.TraitError, match=r"position must be one of .*got 'W9/1'"):
        widget.position = "W9/1"
    assert widget.position == "W1/100"

    single = Annotator(experiment["W1", "100"])
    assert single.positions == [] and single.position == "" and single.experiment is None
    with pytest.raises(traitlets.TraitError, match="Only an Annotator of an Experiment"):
        single.position = "W1/100"


def test_switching_keeps_the_view_settings_and_sends_the_new_position_frame(
    experiment: Experiment, monkeypatch: pytest.MonkeyPatch
) -> None:
    widget = experiment.annotator(population="effectors", tool="fill", brush_size=17, frame=2)
    widget.set_contrast(0, 5, 6000)
    widget.gamma = [0.5, 2.0]
    widget.opacity = 0.25
    sent = capture(widget, monkeypatch)

    widget.position = "W1/101"

    new = experiment["W1", "101"]
    assert widget.session is new
    assert (widget.tool, widget.brush_size, widget.population, widget.frame) == (
        "fill",
        17,
        "effectors",
        2,
    )
    assert widget.contrast == [[5.0, 6000.0], widget.contrast[1]]
    assert widget.gamma == [0.5, 2.0] and widget.opacity == 0.25
    assert widget.status == "position W1/101: 3 frame(s)"
    got = decode_frame(sent)
    assert got.header["position"] == "W1/101" and got.header["frame"] == 2
    assert got.header["population"] == "effectors"
    for c in (0, 1):
        np.testing.assert_array_equal(got.channels[c], new.image(2)[c])
    np.testing.assert_array_equal(got.labels, new.labels("effectors", 2))


def test_edits_stay_with_their_position_and_the_left_session_no_longer_reaches_the_canvas(
    experiment: Experiment, monkeypatch: pytest.MonkeyPatch
) -> None:
    widget = experiment.annotator("W1/100", frame=1)
    first, second = experiment["W1", "100"], experiment["W1", "101"]
    sent = capture(widget, monkeypatch)

    mask_a = paint_in_browser(widget, [(10, 10), (10, 30)], 4, stroke=1)
    widget.position = "W1/101"
    mask_b = paint_in_browser(widget, [(25, 20), (30, 40)], 9, stroke=2)

    assert set(np.unique(first.labels("targets", 1)[mask_a])) == {4}
    assert not first.labels("targets", 1)[~mask_a].any()
    assert set(np.unique(second.labels("targets", 1)[mask_b])) == {9}
    assert not second.labels("targets", 1)[~mask_b].any()
    # The edit of the position left is journaled (a kernel crash would not lose it).
    journal = first.journal_path
    assert journal is not None and journal.is_file() and journal.stat().st_size > 0

    # Edits of the position left, from code, no longer reach this widget ...
    sent.clear()
    first.paint("targets", 1, [(30, 30)], 3, 5)
    assert sent == []
    # ... while those of the position shown do.
    second.paint("targets", 1, [(5, 5)], 2, 6)
    patches = [c for c, _ in sent if c["type"] == "labels-patch"]
    assert len(patches) == 1 and patches[0]["frame"] == 1

    # Undo acts on the position shown: the code edit of W1/101, then the browser's stroke 9.
    widget._handle_message({"type": "undo"}, [])
    widget._handle_message({"type": "undo"}, [])
    assert not second.labels("targets", 1).any()
    assert set(np.unique(first.labels("targets", 1))) == {0, 4, 5}

    # Back to W1/100: its labels, with both of its edits, come to the canvas.
    sent.clear()
    widget.position = "W1/100"
    assert widget.session is first
    np.testing.assert_array_equal(decode_frame(sent).labels, first.labels("targets", 1))
    assert decode_frame(sent).header["position"] == "W1/100"
    assert (decode_frame(sent).labels == 4).sum() == mask_a.sum() - (
        first.labels("targets", 1)[mask_a] == 5
    ).sum()


def test_the_frame_is_clamped_to_a_shorter_position(
    experiment: Experiment, monkeypatch: pytest.MonkeyPatch
) -> None:
    widget = experiment.annotator(frame=2)
    sent = capture(widget, monkeypatch)
    widget.position = "W2/200"
    assert (widget.n_frames, widget.frame, widget.image_shape) == (2, 1, [32, 48])
    assert widget.status == "position W2/200: 2 frame(s) (frame 2 clamped to 1)"
    got = decode_frame(sent)
    assert (got.header["frame"], got.header["height"], got.header["width"]) == (1, 32, 48)
    np.testing.assert_array_equal(got.channels[0], experiment["W2", "200"].image(1)[0])
    with pytest.raises(traitlets.TraitError, match=r"frame must be an integer from 0 to 1"):
        widget.frame = 2


def test_a_stroke_painted_on_the_position_left_is_refused(
    experiment: Experiment, monkeypatch: pytest.MonkeyPatch
) -> None:
    widget = experiment.annotator()
    widget.position = "W1/101"
    sent = capture(widget, monkeypatch)
    paint_in_browser(widget, [(10, 10)], 3, position="W1/100")
    assert not experiment["W1", "100"].labels("targets", 0).any()
    assert not experiment["W1", "101"].labels("targets", 0).any()
    acks = [c for c, _ in sent if c["type"] == "ack"]
    assert acks and acks[0]["applied"] is False
    assert widget.status.startswith(
        "edit not applied: it was painted on position 'W1/100', but the widget shows 'W1/101'"
    )


def test_the_position_does_not_change_during_a_presegmentation_or_to_a_broken_one(
    experiment: Experiment,
) -> None:
    (experiment.root / "W1" / "100" / "movie" / "Aligned.tif").unlink()
    experiment = segpaint.open_experiment(experiment.root)
    widget = experiment.annotator()
    assert widget.position == "W1/101"  # the first position that can be opened
    with pytest.raises(traitlets.TraitError, match=r"position 'W1/100' cannot be opened: .*movie"):
        widget.position = "W1/100"
    assert widget.position == "W1/101" and widget.session is experiment["W1", "101"]

    release = threading.Event()
    widget._worker = threading.Thread(target=release.wait)
    widget._worker.start()
    try:
        with pytest.raises(traitlets.TraitError, match="while a pre-segmentation of 'W1/101'"):
            widget.position = "W2/200"
    finally:
        release.set()
        widget.wait()
    assert widget.session is experiment["W1", "101"]
    widget.position = "W2/200"
    assert widget.session is experiment["W2", "200"]


def test_close_stops_listening_to_the_position_shown(
    experiment: Experiment, monkeypatch: pytest.MonkeyPatch
) -> None:
    widget = experiment.annotator()
    widget.position = "W1/101"
    sent = capture(widget, monkeypatch)
    widget.close()
    experiment["W1", "101"].paint("targets", 0, [(5, 5)], 2, 6)
    assert sent == []


def test_scribbles_follow_the_position_shown(
    experiment: Experiment, monkeypatch: pytest.MonkeyPatch
) -> None:
    widget = experiment.annotator("W1/100")
    first, second = experiment["W1", "100"], experiment["W1", "101"]
    second.scribble("targets", 0, [(10, 10)], 2, 1)
    sent = capture(widget, monkeypatch)
    widget.position = "W1/101"
    patches = [c for c, _ in sent if c["type"] == "scribble-patch"]
    assert [(c["population"], c["frame"]) for c in patches] == [("targets", 0)]

    sent.clear()
    first.scribble("targets", 0, [(20, 20)], 2, 2)  # the position left: not on this canvas
    assert sent == []
    second.scribble("targets", 0, [(30, 30)], 2, 2)
    assert [c["type"] for c, _ in sent] == ["scribble-patch"]
