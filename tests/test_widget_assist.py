"""The Annotator's assisted tools (issue 11): the browser's wand (js/wand.js, run by Node) against
`segpaint.ops.wand_mask`, and the ``assist`` message that runs the Session's tools."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import traitlets

from masks import iou
from segpaint.data import synthetic_timelapse
from segpaint.ops import wand_mask
from segpaint.widgets import Annotator

_WAND_JS = Path(__file__).resolve().parents[1] / "js" / "wand.js"
_WAND_SCRIPT = """
import { readFileSync } from "node:fs";
const { Wand } = await import(process.argv[1]);
const input = JSON.parse(readFileSync(0, "utf8"));
const TYPES = { uint8: Uint8Array, uint16: Uint16Array, float32: Float32Array };
const channels = input.channels.map(([dtype, text]) => {
  const b = Buffer.from(text, "base64");
  const copy = new Uint8Array(b.length);
  copy.set(b);
  return new TYPES[dtype](copy.buffer);
});
const wand = new Wand(channels, input.limits, input.width, input.height);
// the same drags through a wand whose commits always take the scanline flood
const scan = new Wand(channels, input.limits, input.width, input.height);
scan.finishMax = 0;
const out = input.cases.map(({ seed, tol, clip, maxPixels }) => [wand, scan].map((w) => {
  // a drag move under a budget: the flood goes on a few pixels a call, as frames go by
  if (maxPixels) while (!w.reach(seed, tol, clip, { maxPixels }).exact);
  const m = w.mask(seed, tol, clip);
  return m && { bbox: m.bbox, mask: Buffer.from(m.mask).toString("base64") };
}));
console.log(JSON.stringify(out));
"""


def _cells(shape: tuple[int, int], seed: int) -> np.ndarray:
    """A noisy image of bright discs on a dim background (float64, before the dtype cast)."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[: shape[0], : shape[1]]
    image = rng.normal(200, 30, shape)
    for _ in range(12):
        r, c = rng.integers(0, shape[0]), rng.integers(0, shape[1])
        rad = rng.integers(5, 14)
        image += rng.uniform(300, 900) * ((rows - r) ** 2 + (cols - c) ** 2 <= rad**2)
    return image


def _run_node_wand(
    channels: list[np.ndarray], limits: list[list[float]], cases: list[dict[str, Any]]
) -> list[Any]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed (needed to run js/wand.js)")
    height, width = channels[0].shape
    payload = {
        "channels": [
            [
                str(ch.dtype),
                base64.b64encode(
                    np.ascontiguousarray(ch).astype(ch.dtype.newbyteorder("<")).tobytes()
                ).decode(),
            ]
            for ch in channels
        ],
        "limits": limits,
        "width": width,
        "height": height,
        "cases": cases,
    }
    run = subprocess.run(
        [node, "--input-type=module", "-e", _WAND_SCRIPT, _WAND_JS.as_uri()],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    result: list[Any] = json.loads(run.stdout)
    return result


@pytest.mark.parametrize(
    ("dtypes", "limits"),
    [
        (["uint16"], [[150.0, 1100.0]]),
        (["uint8", "float32"], [[10.0, 240.0], [180.5, 1400.25]]),
        (["float32", "uint16", "uint16"], [[100.0, 900.0], [0.0, 65535.0], [250.0, 251.0]]),
    ],
)
def test_the_browser_wand_gives_the_pixels_of_wand_mask(
    dtypes: list[str], limits: list[list[float]]
) -> None:
    """js/wand.js and segpaint.ops.wand_mask on the same raw channels, limits, seeds, tolerances
    and ROI clips: the same box and the same pixels, every time (and a 2-px-wide tolerance sweep
    on a real edge, where a rounding difference would show)."""
    shape = (97, 131)
    channels = []
    for k, dtype in enumerate(dtypes):
        raw = _cells(shape, seed=k)
        if dtype == "uint8":
            raw = raw / 4
        channels.append(
            np.clip(raw, 0, np.iinfo(dtype).max if dtype != "float32" else None).astype(dtype)
        )
    stack = np.stack(channels)
    rng = np.random.default_rng(5)
    cases: list[dict[str, Any]] = []
    for _ in range(40):
        seed = [float(rng.uniform(0, shape[0] - 1)), float(rng.uniform(0, shape[1] - 1))]
        tol = float(rng.choice([0.0, 0.02, 0.1, 0.25, 0.5, 1.0, rng.uniform(0, 0.4)]))
        clip = None
        if rng.random() < 0.3:
            r, c = int(seed[0] + 0.5), int(seed[1] + 0.5)
            clip = [max(0, r - 20), r + 15, max(0, c - 10), c + 30]
        cases.append({"seed": seed, "tol": tol, "clip": clip})
    # the exact boundary: tolerance equal to a neighbour's distance from the seed value
    from segpaint.ops import channel_intensity

    v = channel_intensity(stack, limits=[tuple(p) for p in limits])
    for r, c in [(40, 60), (10, 10)]:
        for dr, dc in [(0, 1), (1, 0)]:
            cases.append(
                {"seed": [r, c], "tol": float(abs(v[r + dr, c + dc] - v[r, c])), "clip": None}
            )
    # a drag: the same seed (and clip) at tolerances up and down, as the widget asks on each
    # move (one ordered flood per press: widening goes on where it stopped, narrowing takes a
    # shorter prefix), with no budget, and with a budget of a few pixels per call
    for seed, clip in [((40.2, 60.4), None), ((50, 20), [30, 90, 0, 70]), ((10, 10), None)]:
        for budget in (None, 5, 97):
            for tol in (0.0, 0.01, 0.03, 0.05, 0.1, 0.1, 0.2, 0.15, 0.3, 0.6, 1.0, 0.02, 0.4):
                case: dict[str, Any] = {"seed": list(seed), "tol": tol, "clip": clip}
                if budget:
                    case["maxPixels"] = budget
                cases.append(case)
    got = _run_node_wand(channels, limits, cases)
    for case, outs in zip(cases, got, strict=True):
        box, mask = wand_mask(
            stack, case["seed"], case["tol"], limits=[tuple(p) for p in limits], clip=case["clip"]
        )
        for out in outs:  # from the ordered flood, then from the scanline flood
            assert out is not None, case
            assert tuple(out["bbox"]) == box, case
            js_mask = np.frombuffer(base64.b64decode(out["mask"]), np.uint8).reshape(mask.shape)
            np.testing.assert_array_equal(js_mask.astype(bool), mask, err_msg=str(case))
        assert mask.sum() >= 1


# ------------------------------------------------------------------ the assist message (Python)
def _centre(mask: np.ndarray) -> tuple[int, int]:
    from scipy import ndimage as ndi

    r, c = np.unravel_index(np.argmax(ndi.distance_transform_edt(mask)), mask.shape)
    return int(r), int(c)


@pytest.fixture(scope="module")
def movie() -> Any:
    return synthetic_timelapse(n_frames=2, seed=0)


@pytest.fixture
def annotated(movie: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """An Annotator on the synthetic movie, showing the nuclei channel only; what it sends."""
    session = movie.open()
    widget = Annotator(session, export_folder=tmp_path / "out", labels_folder=tmp_path / "labels")
    widget.channel_visible = [name == "nuclei" for name in session.channel_names]
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(widget, "send", lambda content, buffers=None: sent.append(content))
    return session, widget, sent


def _assist(widget: Annotator, tool: str, points: list[Any], **extra: Any) -> None:
    msg = {"type": "assist", "tool": tool, "population": "targets", "frame": 0, "points": points}
    widget._handle_message({**msg, **extra}, [])


def _lab(session: Any, frame: int = 0, population: str = "targets") -> np.ndarray:
    return np.asarray(session.labels(population, frame)).copy()


@pytest.mark.parametrize("mode", ["level", "watershed"])
def test_the_click_tool_refines_as_click_refine_says(movie: Any, tmp_path: Path, mode: str) -> None:
    """`Annotator.click_refine` is `segment_at`'s refine=: the widget's click and refinement
    clicks give the pixels the Session method gives with that mode."""
    truth = movie.labels["targets"][0]
    cell = truth == 4
    seed = list(_centre(cell))
    rows, cols = np.nonzero(cell)
    negative = [[int(rows.max()) + 3, int(cols.mean())]]  # just below the cell
    session = movie.open()
    widget = Annotator(session, labels_folder=tmp_path / "labels", click_refine=mode)
    widget.channel_visible = [name == "nuclei" for name in session.channel_names]
    widget.send = lambda content, buffers=None: None  # type: ignore[method-assign]
    label = session.new_label("targets")
    _assist(widget, "segment_at", [seed])
    _assist(widget, "segment_at", [seed], label=label, negative=negative)
    expected = movie.open()
    shown = [i for i, name in enumerate(expected.channel_names) if name == "nuclei"]
    limits = [list(map(float, widget.contrast[i])) for i in shown]
    for neg in ([], negative):
        expected.segment_at("targets", 0, tuple(seed), label=label, channels=shown,
                            limits=limits, negative=neg, refine=mode)  # fmt: skip
    assert np.array_equal(_lab(session), _lab(expected))
    assert iou(_lab(session) == label, cell) >= 0.85
    with pytest.raises(traitlets.TraitError, match="level, watershed"):
        widget.click_refine = "snap"


def test_a_click_with_the_segment_tool_makes_the_missed_cell_one_undo_step(
    movie: Any, annotated: Any
) -> None:
    session, widget, sent = annotated
    truth = movie.labels["targets"][0]
    other_frame, effectors = _lab(session, 1), _lab(session, 0, "effectors")
    cell = truth == 4
    new = session.new_label("targets")
    _assist(widget, "segment_at", [list(_centre(cell))])
    lab = _lab(session)
    assert iou(lab == new, cell) >= 0.85
    assert set(np.unique(lab)) == {0, new}
    assert widget.selected_label == new and widget.next_label == new + 1
    assert widget.status.startswith(f"segment_at: new cell {new}")
    # the canvas gets the cell as a labels-patch
    patches = [m for m in sent if m["type"] == "labels-patch"]
    assert patches and all(m["frame"] == 0 and m["population"] == "targets" for m in patches)
    r0, r1, c0, c1 = patches[0]["bbox"]
    rows, cols = np.nonzero(lab)
    assert r0 <= rows.min() and rows.max() < r1 and c0 <= cols.min() and cols.max() < c1
    np.testing.assert_array_equal(_lab(session, 1), other_frame)
    np.testing.assert_array_equal(_lab(session, 0, "effectors"), effectors)
    session.undo()
    assert _lab(session).max() == 0


def test_the_segment_tool_uses_the_shown_channels_and_their_contrast(
    movie: Any, annotated: Any
) -> None:
    """Contrast limits above the nucleus make it invisible: the click finds nothing."""
    session, widget, _ = annotated
    nuclei = session.channel_names.index("nuclei")
    contrast = [list(x) for x in widget.contrast]
    contrast[nuclei] = [60000.0, 65000.0]
    widget.contrast = contrast
    _assist(widget, "segment_at", [list(_centre(movie.labels["targets"][0] == 4))])
    assert _lab(session).max() == 0
    assert widget.status.startswith("segment_at: nothing changed")


def test_assisted_tools_respect_the_roi_lock(movie: Any, annotated: Any) -> None:
    session, widget, _ = annotated
    truth = movie.labels["targets"][0]
    r, c = _centre(truth == 4)
    session.add_roi(0, (r - 3, r + 40), (c - 40, c + 40))
    widget.lock_to_roi = True
    _assist(widget, "segment_at", [[r - 10, c]])  # above the ROI
    assert "edits are locked to ROIs and (" in widget.status and _lab(session).max() == 0
    _assist(widget, "segment_at", [[r, c]])
    lab = _lab(session)
    assert lab.max() > 0 and not lab[: r - 3].any() and not lab[r + 40 :].any()
    assert not lab[:, : c - 40].any() and not lab[:, c + 40 :].any()


def test_merge_split_polygon_and_delete_box_through_the_wire(movie: Any, annotated: Any) -> None:
    session, widget, _ = annotated
    truth = movie.labels["targets"][0]
    a, b = _centre(truth == 1), _centre(truth == 2)
    pair = np.where((truth == 1) | (truth == 2), 1, 0).astype(np.uint32)
    session.set_labels("targets", 0, pair)
    # split by a drag from one part to the other: two labels, each its truth
    _assist(widget, "split", [list(a), list(b)])
    lab = _lab(session)
    assert iou(lab == 1, truth == 1) >= 0.8 and iou(lab == 2, truth == 2) >= 0.8
    # merge: clicks on both, one step; the smallest label keeps the union
    _assist(widget, "merge", [list(a), list(b)])
    assert set(np.unique(_lab(session))) == {0, 1}
    np.testing.assert_array_equal(_lab(session) == 1, pair == 1)
    # split by a cut across the cell, from background to background, between the two nuclei
    mid = ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
    d = (b[1] - a[1], -(b[0] - a[0]))  # perpendicular to a -> b
    n = float(np.hypot(*d))
    ends = [[round(mid[0] + k * 30 * d[0] / n), round(mid[1] + k * 30 * d[1] / n)] for k in (-1, 1)]
    assert _lab(session)[tuple(ends[0])] == 0 and _lab(session)[tuple(ends[1])] == 0
    _assist(widget, "split", ends)
    lab = _lab(session)
    assert {int(lab[a]), int(lab[b])} == {1, 2}, widget.status
    assert iou(lab == lab[a], truth == 1) >= 0.8 and iou(lab == lab[b], truth == 2) >= 0.8
    # polygon: the outline filled with its label, other cells kept (preserve_labels)
    _assist(widget, "polygon", [[0, 0], [0, 20], [20, 20], [20, 0]], label=9)
    assert (_lab(session)[:21, :21] == 9).sum() >= 400
    # delete in a box: every cell mostly inside goes
    _assist(widget, "delete_in_box", [[0, 0]], bbox=[0, 25, 0, 25])
    assert 9 not in _lab(session) and {1, 2} <= set(np.unique(_lab(session)))
    for _ in range(5):
        session.undo()
    np.testing.assert_array_equal(_lab(session), pair)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"tool": "lasso"}, "assist refused: tool must be one of 'segment_at'"),
        ({"points": [[float("nan"), 3]]}, r"points\[0\] row must be an integer"),
        ({"points": [[3, 10_000]]}, r"points\[0\] col must be an integer from 0 to"),
        ({"points": [[1.5, 3]]}, r"points\[0\] row must be an integer"),
        ({"points": []}, "points must be a list of 1 to 1"),
        ({"frame": 7}, "frame must be an integer from 0 to 1"),
        ({"population": "../x"}, "population must be one of"),
        ({"tool": "merge", "points": [[1, 1], [2, 2]]}, "assist failed: merge: click two or more"),
        ({"tool": "polygon", "points": [[1, 1], [2, 2], [3, 1]]}, "label is missing"),
        ({"tool": "delete_in_box", "bbox": [5, 2, 0, 4]}, "bbox row1 must be an integer"),
        (
            {"tool": "split", "points": [[0, 0], [1, 1]]},
            "assist failed: split: the line crosses no cell",
        ),
    ],
)
def test_a_bad_assist_message_changes_nothing_and_says_why(
    annotated: Any, change: dict[str, Any], message: str
) -> None:
    session, widget, _ = annotated
    before = _lab(session)
    msg = {"type": "assist", "tool": "segment_at", "population": "targets", "frame": 0}
    msg.update({"points": [[10, 10]], "bbox": [0, 4, 0, 4]})
    widget._handle_message({**msg, **change}, [])
    assert re.search(message, widget.status), widget.status
    np.testing.assert_array_equal(_lab(session), before)
    assert not session.can_undo


# ------------------------------------------- re-segment, refine, morph, copy labels, split channels
def test_a_click_on_an_existing_cell_re_segments_it_keeping_its_label(
    movie: Any, annotated: Any
) -> None:
    """A bad mask of cell 4 (its truth grown 6 px): the click keeps label 4 and fits the cell."""
    from scipy import ndimage as ndi

    session, widget, _ = annotated
    truth = movie.labels["targets"][0]
    cell = truth == 4
    bad = np.where(ndi.binary_dilation(cell, iterations=6), 4, 0).astype(np.uint32)
    bad[truth == 1] = 1  # another cell, left alone
    session.set_labels("targets", 0, bad)
    other_frame, effectors = _lab(session, 1), _lab(session, 0, "effectors")
    next_before = session.new_label("targets")
    _assist(widget, "segment_at", [list(_centre(cell))])
    lab = _lab(session)
    assert iou(lab == 4, cell) >= 0.85 and iou(bad == 4, cell) < 0.7
    assert widget.status.startswith("segment_at: re-segmented cell 4"), widget.status
    assert widget.selected_label == 4 and session.new_label("targets") == next_before
    np.testing.assert_array_equal(lab == 1, bad == 1)
    np.testing.assert_array_equal(_lab(session, 1), other_frame)
    np.testing.assert_array_equal(_lab(session, 0, "effectors"), effectors)
    session.undo()
    np.testing.assert_array_equal(_lab(session), bad)


def test_refinement_clicks_go_with_the_cells_label_in_one_call(movie: Any, annotated: Any) -> None:
    """label= names the cell; a negative click takes its part away; one undo step per call."""
    session, widget, _ = annotated
    truth = movie.labels["targets"][0]
    cell = truth == 4
    seed = _centre(cell)
    _assist(widget, "segment_at", [list(seed)])
    value = widget.selected_label
    first = _lab(session)
    rows, cols = np.nonzero(first == value)
    far = int(np.argmax((rows - seed[0]) ** 2 + (cols - seed[1]) ** 2))
    # a point inside the cell, two thirds of the way to its farthest pixel
    neg = (
        round(seed[0] + (rows[far] - seed[0]) * 2 / 3),
        round(seed[1] + (cols[far] - seed[1]) * 2 / 3),
    )
    assert first[neg] == value
    _assist(widget, "segment_at", [list(seed)], label=value, negative=[list(neg)])
    lab = _lab(session)
    assert lab[neg] != value and lab[seed] == value, widget.status
    assert (lab == value).sum() < (first == value).sum()
    assert "re-segmented cell" in widget.status and "1 refinement click" in widget.status
    # a positive click on the cell with the negative one dropped: back to the whole cell
    _assist(widget, "segment_at", [list(seed)], label=value, positive=[list(neg)])
    assert _lab(session)[neg] == value
    session.undo()
    np.testing.assert_array_equal(_lab(session), lab)
    session.undo()
    np.testing.assert_array_equal(_lab(session), first)


def _morph(widget: Annotator, op: str, label: int, points: list[Any] | None = None) -> None:
    _assist(widget, "morph", points or [], op=op, label=label)


def test_morph_grows_and_shrinks_the_selected_cell_by_one_pixel_or_every_cell(
    movie: Any, annotated: Any
) -> None:
    from scipy import ndimage as ndi

    session, widget, _ = annotated
    truth = movie.labels["targets"][0]
    start = np.where(np.isin(truth, [1, 4]), truth, 0).astype(np.uint32)
    session.set_labels("targets", 0, start)
    other_frame = _lab(session, 1)
    _morph(widget, "grow", 4)
    lab = _lab(session)
    ring = ndi.binary_dilation(start == 4) & (start == 0)
    assert widget.status.startswith("morph: grow on cell 4"), widget.status
    np.testing.assert_array_equal(lab == 4, (start == 4) | ring)  # exactly 1 px (Euclidean)
    np.testing.assert_array_equal(lab == 1, start == 1)
    _morph(widget, "shrink", 0)  # Shift: every cell
    both = _lab(session)
    assert (both == 1).sum() < (start == 1).sum() and (both == 4).sum() < (lab == 4).sum()
    np.testing.assert_array_equal(_lab(session, 1), other_frame)
    session.undo()
    np.testing.assert_array_equal(_lab(session), lab)
    session.undo()
    np.testing.assert_array_equal(_lab(session), start)


def test_morph_fill_holes_smooth_and_specks_and_the_roi_lock(movie: Any, annotated: Any) -> None:
    session, widget, _ = annotated
    truth = movie.labels["targets"][0]
    start = np.where(np.isin(truth, [1, 4]), truth, 0).astype(np.uint32)
    holes = start.copy()
    for v in (1, 4):
        r, c = _centre(truth == v)
        holes[r - 1 : r + 2, c - 1 : c + 2] = 0  # a hole in each
    holes[0:2, 0:2] = 4  # a speck of cell 4 in a corner
    session.set_labels("targets", 0, holes)
    r4, c4 = _centre(truth == 4)
    _morph(widget, "fill_holes", 4)
    lab = _lab(session)
    assert lab[r4, c4] == 4 and lab[_centre(truth == 1)] == 0
    _morph(widget, "remove_specks", 4)
    assert not _lab(session)[0:2, 0:2].any()
    # locked to one ROI around cell 1: every-cell fill holes changes only inside it
    r1, c1 = _centre(truth == 1)
    session.add_roi(0, (r1 - 5, r1 + 5), (c1 - 30, c1 + 30))
    widget.lock_to_roi = True
    before = _lab(session)
    _morph(widget, "fill_holes", 0)
    after = _lab(session)
    assert after[r1, c1] == 1 and "every cell in the ROI" in widget.status
    outside = np.ones_like(after, bool)
    outside[r1 - 5 : r1 + 5, c1 - 30 : c1 + 30] = False
    np.testing.assert_array_equal(after[outside], before[outside])
    # two ROIs and no point: which one is ambiguous, so nothing happens
    session.add_roi(0, (0, 10), (0, 10))
    _morph(widget, "smooth", 0)
    assert "frame 0 has 2: select the ROI" in widget.status
    np.testing.assert_array_equal(_lab(session), after)
    # the point names the ROI
    _morph(widget, "grow", 0, points=[[r1, c1]])
    grown = _lab(session)
    np.testing.assert_array_equal(grown[outside], before[outside])
    assert (grown == 1).sum() > (after == 1).sum()


def test_copy_labels_brings_the_previous_frames_cells_keeping_identities(
    movie: Any, annotated: Any
) -> None:
    session, widget, _ = annotated
    t0, t1 = movie.labels["targets"][0], movie.labels["targets"][1]
    session.set_labels("targets", 0, t0.astype(np.uint32))
    # frame 1 already has cell 2 (as label 7) and a false cell 9 where frame 0 has cell 3
    mine = np.where(t1 == 2, 7, 0).astype(np.uint32)
    mine[t0 == 3] = 9
    session.set_labels("targets", 1, mine)
    effectors = _lab(session, 1, "effectors")
    frame0 = _lab(session, 0)
    _assist(widget, "copy_labels", [], frame=1, source_frame=0)
    lab = _lab(session, 1)
    assert widget.status.startswith("copy_labels: copied frame 0's cells (fill-empty)")
    np.testing.assert_array_equal(lab == 7, t1 == 2)  # kept, not overwritten
    assert (lab == 9).sum() == (t0 == 3).sum()  # the match keeps its label 9
    for v in (1, 4):  # the others arrive with their own labels, on background only
        np.testing.assert_array_equal(lab == v, (t0 == v) & (mine == 0))
    np.testing.assert_array_equal(_lab(session, 0), frame0)
    np.testing.assert_array_equal(_lab(session, 1, "effectors"), effectors)
    session.undo()
    np.testing.assert_array_equal(_lab(session, 1), mine)
    # Shift: replace — frame 1 becomes frame 0's masks, cell 2 keeps its identity 7
    _assist(widget, "copy_labels", [], frame=1, source_frame=0, mode="replace")
    lab = _lab(session, 1)
    np.testing.assert_array_equal(lab > 0, t0 > 0)
    assert (lab == 9).sum() == (t0 == 3).sum() and 3 not in lab
    session.undo()
    np.testing.assert_array_equal(_lab(session, 1), mine)


def test_copy_labels_respects_the_roi_lock(movie: Any, annotated: Any) -> None:
    session, widget, _ = annotated
    t0 = movie.labels["targets"][0]
    session.set_labels("targets", 0, t0.astype(np.uint32))
    r, c = _centre(t0 == 4)
    session.add_roi(1, (r - 20, r + 20), (c - 20, c + 20))
    widget.lock_to_roi = True
    _assist(widget, "copy_labels", [[r, c]], frame=1, source_frame=0, mode="replace")
    lab = _lab(session, 1)
    inside = np.zeros_like(lab, bool)
    inside[r - 20 : r + 20, c - 20 : c + 20] = True
    assert lab[r, c] == 4 and not lab[~inside].any()


def test_the_widgets_split_follows_the_shown_channels(
    movie: Any, annotated: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The split gets the channels and contrast segment_at gets (the intensity-aware split)."""
    session, widget, _ = annotated
    truth = movie.labels["targets"][0]
    a, b = _centre(truth == 1), _centre(truth == 2)
    pair = np.where((truth == 1) | (truth == 2), 1, 0).astype(np.uint32)
    session.set_labels("targets", 0, pair)
    seen: list[dict[str, Any]] = []
    split = type(session).split

    def spy(self: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs)
        return split(self, *args, **kwargs)

    monkeypatch.setattr(type(session), "split", spy)
    _assist(widget, "split", [list(a), list(b)])
    channels, limits = widget._assist_channels()
    assert seen == [{"channels": channels, "limits": limits, "roi": None}]
    assert channels == [session.channel_names.index("nuclei")]
    lab = _lab(session)
    assert iou(lab == 1, truth == 1) >= 0.85 and iou(lab == 2, truth == 2) >= 0.85


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"tool": "morph", "op": "blur", "label": 1}, "op must be one of 'fill_holes'"),
        ({"tool": "morph", "op": "grow"}, "label is missing"),
        ({"tool": "morph", "op": "grow", "label": 3}, "assist failed: label: 3 is not in frame 0"),
        ({"tool": "copy_labels"}, "source_frame is missing"),
        ({"tool": "copy_labels", "source_frame": 0}, "source_frame: 0 is the frame being edited"),
        ({"tool": "copy_labels", "source_frame": 1, "mode": "all"}, "mode must be one of"),
        ({"positive": [[1, 99999]]}, r"positive\[0\] col must be an integer"),
        ({"label": 0}, "label must be an integer from 1"),
    ],
)
def test_a_bad_morph_copy_or_refine_message_changes_nothing(
    annotated: Any, change: dict[str, Any], message: str
) -> None:
    session, widget, _ = annotated
    msg = {"type": "assist", "tool": "segment_at", "population": "targets", "frame": 0}
    msg["points"] = [[10, 10]]
    widget._handle_message({**msg, **change}, [])
    assert re.search(message, widget.status), widget.status
    assert _lab(session).max() == 0 and not session.can_undo
