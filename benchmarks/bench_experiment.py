"""Pre-segmenting a whole experiment: threads in this process vs a dask LocalCluster.

    PYTHONPATH=src python benchmarks/bench_experiment.py                    # 4 positions x 50 frames of 1024²
    PYTHONPATH=src python benchmarks/bench_experiment.py --frames 5 --size 512   # small

Writes a Celldetective experiment (``--positions`` positions, ``--frames`` frames of
``--size``² uint16 nuclei each) in a temporary folder, then runs
``Experiment.presegment("targets", "threshold", mode="replace")`` over all positions once on a
thread pool and once on a ``LocalCluster`` of ``--workers`` single-threaded worker processes.
Reports frames per second and peak memory: for threads, the peak RSS of this process above
its level before the run (sampled every 20 ms); for the cluster, each worker's peak RSS
(``ru_maxrss``) and its growth over the run, plus this process's peak growth.  Prints a table
and writes benchmarks/results/bench_experiment.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import tifffile

import segpaint

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
MB = 1024 * 1024


def nuclei_movie(n_frames: int, size: int, seed: int) -> np.ndarray:
    """(T, 1, size, size) uint16: ~1 nucleus per 40x40 px drifting, Gaussian noise."""
    rng = np.random.default_rng(seed)
    base = np.zeros((size, size), np.float32)
    disc = np.hypot(*np.ogrid[-12:13, -12:13])
    for _ in range(size * size // 1600):
        r, c = rng.integers(12, size - 12, 2)
        radius = rng.uniform(6, 12)
        patch = base[r - 12 : r + 13, c - 12 : c + 13]
        patch += (disc <= radius) * rng.uniform(500, 1500)
    movie = np.empty((n_frames, 1, size, size), np.uint16)
    for t in range(n_frames):
        frame = np.roll(base, (t, 2 * t), axis=(0, 1)) + rng.normal(200, 20, (size, size))
        movie[t, 0] = np.clip(frame, 0, 65535)
    return movie


def write_experiment(root: Path, positions: int, frames: int, size: int) -> None:
    root.mkdir(parents=True)
    (root / "config.ini").write_text(
        "[Populations]\npopulations = targets\n\n[MovieSettings]\npxtoum = 0.5\nframetomin = 1\n"
        "movie_prefix = Aligned\n\n[Channels]\nnuclei = 0\n"
    )
    for i in range(positions):
        folder = root / f"W{1 + i // 2}" / f"{100 + i}" / "movie"
        folder.mkdir(parents=True)
        movie = nuclei_movie(frames, size, seed=i)
        tifffile.imwrite(folder / "Aligned.tif", movie, imagej=True, metadata={"axes": "TCYX"})


def rss() -> int:
    import psutil

    return int(psutil.Process().memory_info().rss)


class PeakSampler:
    """Peak RSS of this process while the ``with`` block runs (sampled every 20 ms)."""

    def __init__(self) -> None:
        self.start = 0
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss())

    def __enter__(self) -> PeakSampler:
        self.start = self.peak = rss()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss())


def worker_peak_rss() -> int:
    """This worker's peak RSS in bytes (Linux reports ru_maxrss in KiB)."""
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def run_once(root: Path, client: Any = None) -> tuple[float, int]:
    experiment = segpaint.open_experiment(root, journal=False)
    start = time.perf_counter()
    done = experiment.presegment(
        "targets", "threshold", mode="replace", client=client, progress=False
    )
    return time.perf_counter() - start, sum(len(v) for v in done.values())


def measure(name: str, work: Callable[[], tuple[float, int]]) -> dict[str, Any]:
    with PeakSampler() as sampler:
        seconds, frames = work()
    return {
        "mode": name,
        "frames": frames,
        "seconds": seconds,
        "frames_per_s": frames / seconds,
        "main_peak_growth_mb": (sampler.peak - sampler.start) / MB,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--positions", type=int, default=4)
    parser.add_argument("--frames", type=int, default=50)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    frame_mb = args.size * args.size * 2 / MB
    print(
        f"{args.positions} positions x {args.frames} frames of {args.size}² uint16 "
        f"({frame_mb:.1f} MB a frame, {args.positions * args.frames * frame_mb:.0f} MB in all); "
        f"{os.cpu_count()} CPU(s)"
    )
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="segpaint-bench-exp-") as tmp:
        root = Path(tmp) / "BenchExperiment"
        write_experiment(root, args.positions, args.frames, args.size)
        run_once(root)  # warm-up: imports, the first frame's JIT-free code paths, page cache
        rows.append(measure(f"threads ({os.cpu_count()} in this process)", lambda: run_once(root)))
        try:
            import distributed
        except ImportError:
            print("(dask.distributed not installed: skipping the LocalCluster row)")
        else:
            with (
                distributed.LocalCluster(
                    n_workers=args.workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=":0",
                ) as cluster,
                distributed.Client(cluster) as client,
            ):
                client.run(lambda: __import__("segpaint.segment"))  # warm the workers' imports
                before = client.run(rss)
                row = measure(
                    f"LocalCluster ({args.workers} workers x 1 thread)",
                    lambda: run_once(root, client),
                )
                peaks = client.run(worker_peak_rss)
                row["worker_peak_rss_mb"] = max(peaks.values()) / MB
                row["worker_peak_growth_mb"] = max(peaks[w] - before[w] for w in peaks) / MB
                rows.append(row)
    print()
    header = f"{'mode':<34} {'frames':>6} {'s':>7} {'frames/s':>9} {'main +MB':>9} {'worker peak MB':>15} {'worker +MB':>11}"
    print(header)
    for r in rows:
        print(
            f"{r['mode']:<34} {r['frames']:>6} {r['seconds']:>7.2f} {r['frames_per_s']:>9.2f} "
            f"{r['main_peak_growth_mb']:>9.0f} {r.get('worker_peak_rss_mb', float('nan')):>15.0f} "
            f"{r.get('worker_peak_growth_mb', float('nan')):>11.0f}"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "bench_experiment.json"
    out.write_text(
        json.dumps(
            {
                "args": vars(args),
                "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                "rows": rows,
            },
            indent=1,
        )
    )
    print(f"\nwrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
