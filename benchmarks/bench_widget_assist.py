"""Round trip of the widget's assisted tools at 2048x2048: the ``assist`` message vs the Session call.

What a user of the Annotator waits for, kernel side: ``Annotator._handle_message`` with an
``assist`` message (validation, ROI clip, the Session tool, the labels-patch encoded for the
browser; ``send`` is stubbed, so no transport) for the tools added to the widget by issue 11:
morph (one cell, every cell), copy labels (fill-empty, replace), a click on an existing cell
(re-segment), a refinement click, and the split now given the shown channels.

Baseline, in the same run and interleaved rep by rep: the same Session call made directly (for
the split: the split without channels, what the widget sent before).  The ratio is the widget's
overhead (or, for the split, what the intensity-aware split costs).  Each change is undone between
repetitions (undo not timed).  p50/p95 over ``--reps`` after two warm-ups.

Run:  python benchmarks/bench_widget_assist.py [--reps 15]
Prints a table and writes benchmarks/results/widget_assist.json.  Not a test.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage as ndi

sys.path.insert(0, str(Path(__file__).parent))
from bench_tools import movie_frames, open_session
from segpaint.widgets import Annotator

RESULTS = Path(__file__).parent / "results"


def _stats(times: list[float]) -> dict[str, float]:
    times = sorted(times)
    return {
        "p50_ms": statistics.median(times),
        "p95_ms": times[min(len(times) - 1, math.ceil(0.95 * len(times)) - 1)],
    }


def pair(
    widget_call: Callable[[], Any],
    base_call: Callable[[], Any],
    s: Any,
    frame: int,
    reps: int,
) -> dict[str, Any]:
    """Interleave the two calls (A, B, A, B ...) so load from other jobs hits both alike; each
    must change the frame (checked, not timed), and is undone."""
    out: dict[str, list[float]] = {"widget": [], "session": []}
    for k in range(reps + 2):
        for name, fn in (("widget", widget_call), ("session", base_call)):
            before = np.asarray(s.labels("cells", frame)).copy()
            t0 = time.perf_counter()
            fn()
            dt = (time.perf_counter() - t0) * 1e3
            if np.array_equal(before, np.asarray(s.labels("cells", frame))):
                raise RuntimeError(f"{name} call changed nothing: the row would time a no-op")
            s.undo()
            if k >= 2:
                out[name].append(dt)
    row = {name: _stats(v) for name, v in out.items()}
    row["ratio_p50"] = row["widget"]["p50_ms"] / row["session"]["p50_ms"]
    return row


def _centre(mask: np.ndarray) -> tuple[int, int]:
    r, c = np.unravel_index(np.argmax(ndi.distance_transform_edt(mask)), mask.shape)
    return int(r), int(c)


def bench(reps: int) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="bench_widget_assist-"))
    image, truth, names = movie_frames()
    s = open_session(image, names, folder)
    rr, cc = np.mgrid[:2048, :2048]
    pocked = np.where((rr % 9 == 4) & (cc % 9 == 4), 0, truth[0]).astype(np.uint32)
    s.set_labels("cells", 0, pocked)  # one-pixel holes: something for fill holes to do
    s.set_labels("cells", 1, np.where(truth[1] % 3 == 0, truth[1], 0).astype(np.uint32))
    w = Annotator(s)
    w.send = lambda content, buffers=None: None  # type: ignore[method-assign]
    nuclei = names.index("nuclei") if "nuclei" in names else 0
    w.channel_visible = [i == nuclei for i in range(len(names))]
    channels, limits = w._assist_channels()
    label = int(truth[0][1024, 1024]) or int(np.unique(truth[0])[len(np.unique(truth[0])) // 2])
    cell = truth[0] == label
    seed = _centre(cell)
    rows = np.nonzero(cell)[0]
    edge = (int(rows.max()) + 1, seed[1])  # just below the cell: a positive edge click

    def msg(tool: str, frame: int = 0, points: Any = (), **extra: Any) -> Callable[[], None]:
        content = {"type": "assist", "tool": tool, "population": "cells", "frame": frame}
        content.update({"points": [list(p) for p in points], **extra})

        def call() -> None:
            before = w.status
            w._handle_message(content, [])
            if "failed" in w.status or "refused" in w.status:
                raise RuntimeError(f"{tool}: {w.status} (before: {before})")

        return call

    cases: list[tuple[str, Callable[[], Any], Callable[[], Any]]] = [
        (
            "morph grow 1 px, one cell",
            msg("morph", op="grow", label=label),
            lambda: s.morph("cells", 0, label, "grow", radius=1),
        ),
        (
            "morph grow 1 px, every cell",
            msg("morph", op="grow", label=0),
            lambda: s.morph("cells", 0, None, "grow", radius=1),
        ),
        (
            "morph fill holes, every cell",
            msg("morph", op="fill_holes", label=0),
            lambda: s.morph("cells", 0, None, "fill_holes"),
        ),
        (
            "morph smooth (2 px), every cell",
            msg("morph", op="smooth", label=0),
            lambda: s.morph("cells", 0, None, "smooth", radius=2),
        ),
        (
            "copy labels 0 -> 1, fill-empty",
            msg("copy_labels", frame=1, source_frame=0),
            lambda: s.copy_labels("cells", 0, 1),
        ),
        (
            "copy labels 0 -> 1, replace",
            msg("copy_labels", frame=1, source_frame=0, mode="replace"),
            lambda: s.copy_labels("cells", 0, 1, mode="replace"),
        ),
        (
            "click on a cell: re-segment",
            msg("segment_at", points=[seed]),
            lambda: s.segment_at("cells", 0, seed, label=label, channels=channels, limits=limits),
        ),
        (
            "refinement: + edge click, - click",
            msg("segment_at", points=[seed], label=label, positive=[edge], negative=[[0, 0]]),
            lambda: s.segment_at(
                "cells",
                0,
                seed,
                label=label,
                channels=channels,
                limits=limits,
                positive=[edge],
                negative=[(0, 0)],
            ),
        ),
    ]
    out: dict[str, Any] = {}
    print(
        f"{'tool (2048x2048, journal on)':38s} {'widget p50/p95 ms':>20s} {'session p50/p95 ms':>20s} {'ratio':>6s}"
    )
    for name, wcall, scall in cases:
        row = pair(wcall, scall, s, 1 if "copy" in name else 0, reps)
        out[name] = row
        print(
            f"{name:38s} {row['widget']['p50_ms']:9.1f} / {row['widget']['p95_ms']:7.1f}"
            f" {row['session']['p50_ms']:9.1f} / {row['session']['p95_ms']:7.1f} {row['ratio_p50']:6.2f}"
        )
    # the split: the widget now passes the shown channels; before, none (distance split)
    from skimage.segmentation import expand_labels

    lab0 = expand_labels(truth[0], 6)  # cells grown until some touch: a pair to merge and split
    merged = lab0.copy()
    touch = (lab0[:, :-1] != lab0[:, 1:]) & (lab0[:, :-1] > 0) & (lab0[:, 1:] > 0)
    touching = []
    if touch.any():
        r, c = (int(v[0]) for v in np.nonzero(touch))
        a_lab, b_lab = int(lab0[r, c]), int(lab0[r, c + 1])
        touching = [b_lab]
    if touching:
        merged[merged == b_lab] = a_lab
        s.set_labels("cells", 0, merged)
        a, b = _centre(lab0 == a_lab), _centre(lab0 == b_lab)
        new = msg("split", points=[a, b])
        old = lambda: s.split("cells", 0, a_lab, [a, b])  # noqa: E731
        row = pair(new, old, s, 0, reps)
        row["note"] = "session = the split without channels (what the widget sent before)"
        out["split with channels (vs without)"] = row
        print(
            f"{'split, shown channels (vs none)':38s} {row['widget']['p50_ms']:9.1f} / {row['widget']['p95_ms']:7.1f}"
            f" {row['session']['p50_ms']:9.1f} / {row['session']['p95_ms']:7.1f} {row['ratio_p50']:6.2f}"
        )
    else:
        print("split: no two touching cells in the frame; not timed")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=15)
    args = parser.parse_args()
    load = os.getloadavg()
    rows = bench(args.reps)
    results = {
        "rows": rows,
        "reps": args.reps,
        "load_before": load,
        "load_after": os.getloadavg(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "widget_assist.json").write_text(json.dumps(results, indent=2))
    print(f"\nload average before/after: {load} / {results['load_after']}")


if __name__ == "__main__":
    main()
