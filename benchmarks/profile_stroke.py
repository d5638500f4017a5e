"""Where a stroke's kernel time goes, in one plain Python process (no browser, no kernel).

Replays the shared painter harness's strokes (``../shared/bench-peers``: a horizontal line from
0.3 to 0.7 of the width, radius 6 px, rows 0.035 of the height apart) as the ``stroke`` messages
codec.js sends (``_wire.stroke_messages``: one label under a bit-packed mask) into an Annotator's
message handler, with the harness's ``on_change`` subscriber (``bench.done``), and stamps:

- ``decode``: ``StrokeAssembler.add`` (message -> mask);
- ``to_done``: handler entry -> the subscriber sees the labels hold the stroke (the harness's stamp);
- ``handler``: the whole handler, ack and widget observers included.

Each size runs in its own subprocess per tree (``--base-src`` adds the before tree, interleaved
in the same run), so the two trees share the machine's load. Prints p50 / p95 (µs) and writes
``benchmarks/results/profile_stroke.json``; ``--cprofile`` prints the top functions of one tree.

    PYTHONPATH=src python benchmarks/profile_stroke.py --sizes 512,2048,4096 --base-src /tmp/base6f/src
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def _child(size: int, n: int, journal: bool, cprofile: bool) -> dict[str, Any]:
    """Run in the subprocess: replay ``n`` strokes at ``size``², return the stamps (ns)."""
    import numpy as np

    import segpaint
    from segpaint.ops import stroke_mask
    from segpaint.widgets import _wire
    from segpaint.widgets._wire import stroke_messages

    rng = np.random.default_rng(0)
    image = rng.integers(40, 160, (size, size), dtype=np.uint8)
    folder = tempfile.mkdtemp(prefix="segpaint-profile-")
    s = segpaint.open(
        image[None, None],
        axes="TCYX",
        journal=Path(folder) / "j.journal" if journal else False,
    )
    if "cells" not in s.populations:
        s.add_population("cells")
    stamps: dict[str, list[int]] = {"decode": [], "to_done": [], "handler": []}
    state = {"t0": 0}

    def done(*_: Any) -> None:
        s.labels("cells", 0)  # what the harness's bench.done reads
        stamps["to_done"].append(time.perf_counter_ns() - state["t0"])

    s.on_change(done)
    a = segpaint.Annotator(s, population="cells")
    sent: list[Any] = []
    a.send = lambda content, buffers=None: sent.append((content, buffers))  # type: ignore[method-assign]
    a.tool = "brush"
    a.brush_size = 12
    a.selected_label = 1

    assembler_add = _wire.StrokeAssembler.add

    def timed_add(self: Any, *args: Any, **kw: Any) -> Any:
        t = time.perf_counter_ns()
        out = assembler_add(self, *args, **kw)
        stamps["decode"].append(time.perf_counter_ns() - t)
        return out

    _wire.StrokeAssembler.add = timed_add  # type: ignore[method-assign]

    messages = []
    for k in range(n + 3):  # 3 warm-up strokes
        row = size * (0.15 + 0.7 * ((k * 0.035) % 1.0))
        points = [(row, size * 0.3), (row, size * 0.7)]
        hit = stroke_mask((size, size), points, 6)
        assert hit is not None
        bbox, mask = hit
        messages.append(
            stroke_messages(
                stroke=k + 1, population="cells", frame=0, bbox=bbox, label=k + 1, mask=mask
            )
        )
    profiler = None
    if cprofile:
        import cProfile

        profiler = cProfile.Profile()
    for k, msgs in enumerate(messages):
        if k == 3 and profiler is not None:
            profiler.enable()
        for content, buffers in msgs:
            # The kernel hands the handler memoryviews of the websocket frame's bytes.
            views = [memoryview(bytes(b)) for b in buffers]
            state["t0"] = time.perf_counter_ns()
            a._handle_message(content, views)
            stamps["handler"].append(time.perf_counter_ns() - state["t0"])
    if profiler is not None:
        import pstats

        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(40)
    acks = [c for c, _ in sent if c.get("type") == "ack"]
    if len(acks) != len(messages) or not all(c["applied"] for c in acks):
        raise RuntimeError(f"a stroke was not applied: {acks[-1:]}")
    return {k: v[3:] for k, v in stamps.items()}


def _pct(values: list[int], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))] / 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="512,2048,4096")
    ap.add_argument("--n", type=int, default=200, help="timed strokes per size and tree")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds per tree")
    ap.add_argument("--journal", action="store_true", help="sessions with an autosave journal")
    ap.add_argument("--base-src", help="the before tree's src folder, run beside this one")
    ap.add_argument("--cprofile", action="store_true", help="cProfile this tree, print, exit")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        size, n, journal, prof = json.loads(a.child)
        result = _child(size, n, journal, prof)
        if not prof:
            print(json.dumps(result))
        return
    trees = {"after": str(HERE.parent / "src")}
    if a.base_src:
        trees = {"before": a.base_src, **trees}
    sizes = [int(v) for v in a.sizes.split(",")]
    if a.cprofile:
        for size in sizes:
            env = {**os.environ, "PYTHONPATH": trees["after"]}
            arg = json.dumps([size, a.n, a.journal, True])
            subprocess.run([sys.executable, __file__, "--child", arg], env=env, check=True)
        return
    got: dict[str, dict[int, dict[str, list[int]]]] = {t: {} for t in trees}
    for size in sizes:
        for _ in range(a.rounds):
            for tree, src in trees.items():
                env = {**os.environ, "PYTHONPATH": src}
                arg = json.dumps([size, a.n // a.rounds, a.journal, False])
                out = subprocess.run(
                    [sys.executable, __file__, "--child", arg],
                    env=env,
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
                for key, values in json.loads(out.splitlines()[-1]).items():
                    got[tree].setdefault(size, {}).setdefault(key, []).extend(values)
    print(f"stroke kernel side, µs p50 / p95, journal={'on' if a.journal else 'off'}")
    head = f"{'size':>6} {'tree':>7} {'decode':>14} {'to done':>14} {'handler':>14}"
    print(head + ("  ratio to done/handler p50" if a.base_src else ""))
    table = []
    for size in sizes:
        for tree in trees:
            st = got[tree][size]
            row = {
                "size": size,
                "tree": tree,
                **{f"{k}_p50_us": _pct(v, 50) for k, v in st.items()},
                **{f"{k}_p95_us": _pct(v, 95) for k, v in st.items()},
            }
            table.append(row)
            cells = " ".join(
                f"{_pct(st[k], 50):6.1f}/{_pct(st[k], 95):6.1f}"
                for k in ("decode", "to_done", "handler")
            )
            extra = ""
            if a.base_src and tree == "after":
                before = got["before"][size]
                extra = "  " + " / ".join(
                    f"{_pct(st[k], 50) / _pct(before[k], 50):.2f}" for k in ("to_done", "handler")
                )
            print(f"{size:>6} {tree:>7} {cells}{extra}")
    out_dir = HERE / "results"
    out_dir.mkdir(exist_ok=True)
    path = out_dir / "profile_stroke.json"
    path.write_text(json.dumps({"journal": a.journal, "rows": table, "load": os.getloadavg()}))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
