"""Time of the click tool at 2048x2048, by ``refine`` mode: ``segment_at`` through the Session.

What a user waits for after a click of the ``c`` tool: ``session.segment_at`` on the 4x4-tiled
synthetic movie of `bench_tools` (autosave journal on, undone between repetitions), for the
first click and for the same click with 1 and 3 refinement clicks (placed by the NoC rule on
the clicked cell), with ``refine="level"`` (the default) and ``refine="watershed"``.  The modes
alternate call after call, so both see the same load.  p50/p95 over ``--reps`` runs after two
warm-up runs, plus the CPU p50 of this process.

With ``--base SRC`` (another tree's ``src``, e.g. main's), also the kernel alone
(``region_at`` on the frame, no Session) of that tree's ``segpaint/ops/assist.py`` and of this
one, alternating call after call in this process, for ``refine="watershed"``: the same-run
before/after of a change to the kernel (p50, p95 and their ratio new/base).

The number of clicks (NoC) is `bench_effort.py --only noc`'s.

Run:  python benchmarks/bench_click.py [--reps 30] [--base /path/to/main/src]
Prints a table and writes benchmarks/results/click.json.  Not a test: nothing fails on a time.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_effort import next_click
from bench_tools import RESULTS, _centre, movie_frames, open_session
from segpaint import ops

MODES = ("level", "watershed")


def clicks_for(image: np.ndarray, cell: np.ndarray, seed: tuple[int, int], limits: Any, n: int):
    """The first ``n`` NoC refinement clicks on ``cell`` (refine="level" results)."""
    pos: list[tuple[int, int]] = []
    neg: list[tuple[int, int]] = []
    for _ in range(n):
        found = ops.region_at(image, seed, positive=pos, negative=neg, limits=limits,
                              refine="level")  # fmt: skip
        got = np.zeros(cell.shape, bool)
        if found is not None:
            got[ops.bbox_slices(found[0])] = found[1]
        nxt = next_click(got, cell)
        if nxt is None:
            break
        (pos if nxt[1] else neg).append(nxt[0])
    return pos, neg


def p50_p95(times: list[float]) -> tuple[float, float]:
    """Median and 95th percentile (nearest rank) of ``times``."""
    ordered = sorted(times)
    return statistics.median(ordered), ordered[min(len(ordered) - 1,
                                                   math.ceil(0.95 * len(ordered)) - 1)]  # fmt: skip


def base_kernel(src: str) -> Any:
    """``region_at`` of the ``segpaint/ops/assist.py`` under ``src`` (its helpers from here)."""
    path = Path(src) / "segpaint" / "ops" / "assist.py"
    spec = importlib.util.spec_from_file_location("base_assist", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"--base: no segpaint/ops/assist.py under {src}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.region_at


def kernel_ab(image: np.ndarray, cases: list[Any], limits: Any, src: str, reps: int) -> Any:
    """The watershed kernel of ``src`` and of this tree, alternating, on the same clicks."""
    kernels = {"base": base_kernel(src), "new": ops.region_at}
    times: dict[tuple[str, str], list[float]] = {}
    for rep in range(reps + 2):
        for name, seed, pos, neg in cases:
            for which, fn in kernels.items():
                t0 = time.perf_counter()
                fn(image, seed, positive=pos, negative=neg, limits=limits, refine="watershed")
                if rep >= 2:
                    times.setdefault((name, which), []).append((time.perf_counter() - t0) * 1e3)
    out: dict[str, Any] = {}
    print("\n| region_at(refine='watershed') at 2048x2048, kernel | base p50 / p95 ms "
          "| new p50 / p95 ms | new/base p50 / p95 |")  # fmt: skip
    print("| --- | --- | --- | --- |")
    for name in dict.fromkeys(n for n, _ in times):
        b50, b95 = p50_p95(times[(name, "base")])
        n50, n95 = p50_p95(times[(name, "new")])
        out[name] = {"base_p50_ms": b50, "base_p95_ms": b95, "new_p50_ms": n50,
                     "new_p95_ms": n95, "runs": len(times[(name, "new")])}  # fmt: skip
        print(f"| {name} | {b50:.1f} / {b95:.1f} | {n50:.1f} / {n95:.1f} | "
              f"{n50 / b50:.2f} / {n95 / b95:.2f} |")  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=30)
    parser.add_argument(
        "--base",
        default=None,
        help="another tree's src folder: also time its region_at kernel against this one's",
    )
    args = parser.parse_args()
    image, truth, names = movie_frames()
    limits = ops.default_limits(image[0, :1])
    step = int(truth[0][:512, :512].max()) + 1
    cells = [5 * step + k for k in (1, 2, 3)]
    rows: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        s = open_session(image, names, Path(tmp))
        cases = []
        for value in cells:
            cell = truth[0] == value
            seed = _centre(cell)
            for n in (0, 1, 3):
                pos, neg = clicks_for(image[0, :1], cell, seed, limits, n)
                cases.append((f"{n} refinement click(s)", seed, pos, neg))
        for _ in range(args.reps + 2):
            for name, seed, pos, neg in cases:
                for mode in MODES:
                    c0, t0 = time.process_time(), time.perf_counter()
                    out = s.segment_at("cells", 0, seed, label=7, positive=pos, negative=neg,
                                       channels=[names[0]], limits=limits, refine=mode)  # fmt: skip
                    wall = (time.perf_counter() - t0) * 1e3
                    cpu = (time.process_time() - c0) * 1e3
                    row = rows.setdefault(f"{name}, refine={mode}", {"wall": [], "cpu": []})
                    row["wall"].append(wall)
                    row["cpu"].append(cpu)
                    if out is not None:
                        s.undo()
        s.close()
    skip = 2 * len(cells)  # the warm-up runs of each row
    report: dict[str, Any] = {}
    print("| segment_at at 2048x2048 | p50 ms | p95 ms | CPU p50 ms | runs |")
    print("| --- | --- | --- | --- | --- |")
    for name, row in rows.items():
        wall = sorted(row["wall"][skip:])
        p95 = wall[min(len(wall) - 1, math.ceil(0.95 * len(wall)) - 1)]
        report[name] = {
            "p50_ms": statistics.median(wall),
            "p95_ms": p95,
            "cpu_p50_ms": statistics.median(row["cpu"][skip:]),
            "runs": len(wall),
        }
        r = report[name]
        print(f"| {name} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['cpu_p50_ms']:.1f} | "
              f"{r['runs']} |")  # fmt: skip
    if args.base:  # the same clicks, through each tree's kernel
        report["kernel, refine=watershed"] = kernel_ab(
            image[0, :1], cases, limits, args.base, args.reps
        )
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "click.json"
    path.write_text(json.dumps(report, indent=2))
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
