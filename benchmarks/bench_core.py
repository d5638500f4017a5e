"""Core editing and I/O speed on a 2048x2048 frame (issue 2 targets), with naive baselines.

Run:  python benchmarks/bench_core.py [--quick] [--no-big-tiff]
Prints a table and writes benchmarks/results/core.json. Not a test: nothing fails on a time.
"""

from __future__ import annotations

import argparse
import itertools
import json
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
import psutil
import tifffile
from skimage.draw import disk
from skimage.segmentation import flood

import segpaint

RESULTS = Path(__file__).parent / "results"


def timeit(fn: Callable[[], Any], *, reps: int, warmup: int = 2) -> dict[str, float]:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    return {
        "p50_ms": statistics.median(times),
        "p95_ms": times[min(len(times) - 1, round(0.95 * (len(times) - 1)))],
        "min_ms": times[0],
        "reps": reps,
    }


def stroke_points(length: float = 300.0, n: int = 40) -> np.ndarray:
    """A curved 300-px stroke sampled like 40 pointer moves."""
    t = np.linspace(0, 1, n)
    rows = 1024 + 60 * np.sin(3 * t)
    cols = 874 + length * t
    return np.stack([rows, cols], axis=1)


def naive_stroke(labels: np.ndarray, points: np.ndarray, radius: float, label: int) -> None:
    """Baseline: stamp skimage.draw.disk at every pixel step along the polyline."""
    for a, b in itertools.pairwise(points):
        n = int(max(abs(b - a).max(), 1))
        for k in range(n + 1):
            r, c = disk(tuple(a + (b - a) * k / n), radius, shape=labels.shape)
            labels[r, c] = label


def bench_edits(reps: int) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    img = rng.integers(0, 4000, size=(1, 2, 2048, 2048), dtype=np.uint16)
    s = segpaint.open(img, pixel_size_um=0.5)
    # Populate the frame with cells so fill and new_label work on realistic labels.
    for i, (r, c) in enumerate(rng.integers(100, 1948, size=(200, 2))):
        s.paint("cells", 0, [(r, c)], radius=15, label=i + 2)
    s.paint("cells", 0, [(400, 400)], radius=40, label=1)  # the 5,000-px cell
    cell_px = int((s.labels("cells", 0) == 1).sum())
    pts = stroke_points()
    out: dict[str, Any] = {"cell_px": cell_px}
    labels = [3, 4]
    state = {"i": 0}

    def paint() -> None:
        state["i"] ^= 1
        s.paint("cells", 0, pts, radius=10, label=labels[state["i"]])

    out["stroke_300px_r10"] = timeit(paint, reps=reps)
    # The same stroke on a session with the autosave journal on (the default for files).
    with tempfile.TemporaryDirectory() as d:
        journaled = segpaint.open(img, pixel_size_um=0.5, journal=Path(d) / "journal.bin")

        def paint_journaled() -> None:
            state["i"] ^= 1
            journaled.paint("cells", 0, pts, radius=10, label=labels[state["i"]])

        out["stroke_300px_r10_journaled"] = timeit(paint_journaled, reps=reps)
        journaled.history.clear()
    base = np.array(s.labels("cells", 0))
    out["stroke_baseline_naive_disks"] = timeit(
        lambda: naive_stroke(base, pts, 10, 5), reps=max(3, reps // 5)
    )

    fills = [1, 9]

    def fill() -> None:
        state["i"] ^= 1
        s.fill("cells", 0, (400, 400), fills[state["i"]])

    out["fill_5000px_cell"] = timeit(fill, reps=reps)
    frame = np.array(s.labels("cells", 0))
    out["fill_baseline_flood_full_frame"] = timeit(lambda: flood(frame, (400, 400)), reps=reps)

    def undo_redo() -> None:
        s.undo()
        s.redo()

    s.paint("cells", 0, pts, radius=10, label=7)
    out["undo_plus_redo_stroke"] = timeit(undo_redo, reps=reps)
    out["undo_stroke"] = {
        k: (v / 2 if k.endswith("_ms") else v) for k, v in out["undo_plus_redo_stroke"].items()
    }
    out["new_label"] = timeit(lambda: s.new_label("cells"), reps=reps)

    with tempfile.TemporaryDirectory() as d:
        counter = {"n": 0}

        def export() -> None:
            counter["n"] += 1
            roi = s.add_roi(0, rows=(512, 1024), cols=(512 + counter["n"], 1024 + counter["n"]))
            s.export_roi("cells", roi, folder=d)

        out["export_512_roi"] = timeit(export, reps=reps)
    return out


def bench_big_tiff(reps: int, folder: Path) -> dict[str, Any]:
    path = folder / "big.tif"
    shape = (1000, 1, 1024, 1024)  # 2.1 GB of uint16
    if not path.exists():
        t0 = time.perf_counter()
        with tifffile.TiffWriter(path, bigtiff=True, imagej=False) as w:
            frame = np.zeros(shape[1:], np.uint16)
            w.write(
                shape=shape,
                dtype=np.uint16,
                metadata={"axes": "TCYX"},
                data=((frame + t).astype(np.uint16) for t in range(shape[0])),
            )
        print(
            f"  wrote {path.stat().st_size / 1e9:.2f} GB test TIFF in {time.perf_counter() - t0:.1f} s"
        )
    proc = psutil.Process()
    rss0 = proc.memory_info().rss
    sessions = []

    def do_open() -> None:
        sessions.append(segpaint.open(path, read_only=True))

    def open_for_editing() -> None:
        segpaint.open(path).close()  # + the writer lock (an fsynced file) and the journal check

    res: dict[str, Any] = {"file_gb": path.stat().st_size / 1e9}
    res["open"] = timeit(do_open, reps=reps, warmup=1)
    res["open_for_editing"] = timeit(open_for_editing, reps=reps, warmup=1)
    rss1 = proc.memory_info().rss
    res["rss_growth_mb_after_opens"] = (rss1 - rss0) / 1e6
    warm = sessions[-1].stack
    sessions.clear()
    assert warm.shape == shape

    def read_warm() -> None:
        assert int(warm.frame(500)[0, 0, 0]) == 500

    res["read_frame_500_warm"] = timeit(read_warm, reps=reps)
    # Cold: a fresh session, the file dropped from the page cache, and a frame never read before.
    frames = iter(range(501, 1000))

    def read_cold() -> None:
        t = next(frames)
        fresh = segpaint.open(path, read_only=True)
        fd = os.open(path, os.O_RDONLY)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.close(fd)
        t0 = time.perf_counter()
        arr = fresh.image(t)
        cold_times.append((time.perf_counter() - t0) * 1e3)
        assert int(arr[0, 0, 0]) == t

    cold_times: list[float] = []
    timeit(read_cold, reps=reps, warmup=0)
    cold_times.sort()
    res["read_frame_cold"] = {
        "p50_ms": statistics.median(cold_times),
        "p95_ms": cold_times[min(len(cold_times) - 1, round(0.95 * (len(cold_times) - 1)))],
        "min_ms": cold_times[0],
        "reps": len(cold_times),
    }
    res["rss_growth_mb_total"] = (proc.memory_info().rss - rss0) / 1e6
    # Baseline: what a non-lazy reader pays just to get one frame.
    t0 = time.perf_counter()
    with tifffile.TiffFile(path) as tif:
        tif.asarray(key=500)
    res["baseline_tifffile_asarray_key_ms"] = (time.perf_counter() - t0) * 1e3
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="fewer repetitions")
    ap.add_argument("--no-big-tiff", action="store_true", help="skip the 2 GB TIFF part")
    ap.add_argument("--tmp", default=tempfile.gettempdir(), help="where the 2 GB TIFF goes")
    args = ap.parse_args()
    reps = 10 if args.quick else 30
    results: dict[str, Any] = {
        "machine": {
            "python": sys.version.split()[0],
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "segpaint": segpaint.__version__,
    }
    results["edits_2048"] = bench_edits(reps)
    if not args.no_big_tiff:
        folder = Path(args.tmp) / "segpaint-bench"
        folder.mkdir(exist_ok=True)
        try:
            results["big_tiff"] = bench_big_tiff(max(10, reps // 3), folder)
        finally:
            (folder / "big.tif").unlink(missing_ok=True)
    targets = {
        "stroke_300px_r10": 2.0,
        "stroke_300px_r10_journaled": 2.0,
        "fill_5000px_cell": 10.0,
        "undo_stroke": 2.0,
        "export_512_roi": 100.0,
        "open": 500.0,
        "read_frame_cold": 50.0,
        "read_frame_500_warm": 50.0,
    }
    print(f"\n{'benchmark':36s} {'p50 ms':>9s} {'p95 ms':>9s} {'target':>8s}")
    for group in ("edits_2048", "big_tiff"):
        for name, v in results.get(group, {}).items():
            if isinstance(v, dict) and "p50_ms" in v:
                tgt = targets.get(name)
                print(
                    f"{name:36s} {v['p50_ms']:9.3f} {v['p95_ms']:9.3f} {('< ' + str(tgt)) if tgt else '':>8s}"
                )
    e = results["edits_2048"]
    print(
        f"\nstroke speed-up vs naive disks: {e['stroke_baseline_naive_disks']['p50_ms'] / e['stroke_300px_r10']['p50_ms']:.1f}x"
    )
    print(
        f"fill speed-up vs full-frame flood: {e['fill_baseline_flood_full_frame']['p50_ms'] / e['fill_5000px_cell']['p50_ms']:.1f}x (cell of {e['cell_px']} px)"
    )
    if "big_tiff" in results:
        b = results["big_tiff"]
        print(
            f"RSS growth: {b['rss_growth_mb_after_opens']:.1f} MB after {b['open']['reps'] + 1} opens, "
            f"{b['rss_growth_mb_total']:.1f} MB after reads; file {b['file_gb']:.2f} GB"
        )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "core.json").write_text(json.dumps(results, indent=2))
    print(f"wrote {RESULTS / 'core.json'}")


if __name__ == "__main__":
    main()
