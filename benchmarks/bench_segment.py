"""Pre-segmentation accuracy and speed.

    PYTHONPATH=src python benchmarks/bench_segment.py            # full run
    PYTHONPATH=src python benchmarks/bench_segment.py --quick    # 3 reps, smaller stacks

Accuracy: Celldetective's reference threshold configuration on its real sample (binary IoU, F1 and
AP at IoU 0.5) and the parameter-free default on that sample and on StarDist's bundled nuclei image.
Speed: the threshold pipeline on 1024x1024 frames, serial (the baseline) vs the thread pool vs a
2-worker LocalCluster, and the time per 256x256 frame of randomly initialised Cellpose and
StarDist models on CPU (when those extras are installed).  p50/p95 over repetitions after a warm-up.
Prints a table and writes benchmarks/results/bench_segment.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import segpaint
from segpaint.metrics import binary_iou, match_instances
from segpaint.segment import clear_model_cache, segment

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT.parent / "shared" / "data" / "celldetective" / "sample"
RESULTS = ROOT / "benchmarks" / "results"
REFERENCE = {
    "target_channel": 3,
    "thresholds": [8000, 1e10],
    "filters": [["variance", 4], ["gauss", 2]],
    "marker_min_distance": 13,
    "marker_footprint_size": 34,
    "feature_queries": ["area < 80"],
}


def timings(run: Callable[[], Any], reps: int, warmup: int = 1) -> dict[str, float]:
    for _ in range(warmup):
        run()
    samples = []
    for _ in range(reps):
        start = time.perf_counter()
        run()
        samples.append(time.perf_counter() - start)
    samples.sort()
    p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
    return {"p50_s": statistics.median(samples), "p95_s": p95, "reps": reps}


def synthetic_movie(n_frames: int, size: int, seed: int = 0) -> np.ndarray:
    """(T, 1, size, size) uint16 fluorescence-like nuclei, ~1 per 40x40 px."""
    rng = np.random.default_rng(seed)
    rows, cols = np.ogrid[:size, :size]
    movie = np.empty((n_frames, 1, size, size), np.uint16)
    for t in range(n_frames):
        image = rng.normal(200, 20, (size, size))
        for _ in range(size * size // 1600):
            r, c = rng.integers(0, size, 2)
            radius = rng.uniform(6, 12)
            image[(rows - r) ** 2 + (cols - c) ** 2 <= radius**2] += rng.uniform(500, 1500)
        movie[t, 0] = np.clip(image, 0, None)
    return movie


def accuracy() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    if SAMPLE.is_dir():
        import tifffile

        image = tifffile.imread(SAMPLE / "sample.tif")
        truth = tifffile.imread(SAMPLE / "sample_labelled.tif")
        for name, labels in (
            ("celldetective reference config, sample", segment(image, **REFERENCE)),
            ("parameter-free default, sample Hoechst", segment(image, channels=[3])),
        ):
            result = match_instances(truth, labels, iou_threshold=0.5)
            rows.append(
                {
                    "case": name,
                    "binary_iou": binary_iou(truth, labels),
                    "f1@0.5": result.f1,
                    "ap@0.5": result.average_precision,
                    "objects": f"{result.tp + result.fn} true / {result.tp + result.fp} found",
                }
            )
    else:
        print(f"(shared sample not found at {SAMPLE}: skipping its accuracy rows)")
    try:
        from stardist.data import test_image_nuclei_2d
    except ImportError:
        print("(stardist not installed: skipping its bundled nuclei image)")
    else:
        image, truth = test_image_nuclei_2d(return_mask=True)
        labels = segment(image)
        result = match_instances(truth, labels, iou_threshold=0.5)
        rows.append(
            {
                "case": "parameter-free default, stardist test_image_nuclei_2d",
                "binary_iou": binary_iou(truth, labels),
                "f1@0.5": result.f1,
                "ap@0.5": result.average_precision,
                "objects": f"{result.tp + result.fn} true / {result.tp + result.fp} found",
            }
        )
    return rows


def throughput(n_frames: int, reps: int) -> list[dict[str, Any]]:
    movie = synthetic_movie(n_frames, 1024)
    rows: list[dict[str, Any]] = []

    def run(**kwargs: Any) -> None:
        session = segpaint.open(movie, axes="TCYX")
        session.presegment("cells", progress=False, **kwargs)

    cases: list[tuple[str, dict[str, Any]]] = [
        ("serial loop of segment() (baseline)", {}),
        ("threads (default)", {}),
    ]
    for name, kwargs in cases:
        if name.startswith("serial"):
            # one frame at a time on this thread: the baseline
            def serial() -> None:
                for t in range(n_frames):
                    segment(movie[t])

            stats = timings(serial, reps)
        else:
            stats = timings(lambda kwargs=kwargs: run(**kwargs), reps)
        rows.append({"mode": name, **stats})
    try:
        import distributed
    except ImportError:
        print("(dask.distributed not installed: skipping the LocalCluster row)")
    else:
        with (
            distributed.LocalCluster(
                n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
            ) as cluster,
            distributed.Client(cluster) as client,
        ):
            stats = timings(lambda: run(client=client), reps)
        rows.append({"mode": "LocalCluster, 2 workers x 1 thread", **stats})
    baseline = rows[0]["p50_s"]
    for row in rows:
        row["frames"] = n_frames
        row["ms_per_frame_p50"] = 1000 * row["p50_s"] / n_frames
        row["speedup_vs_serial"] = baseline / row["p50_s"]
    return rows


def model_speed(reps: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    image = synthetic_movie(1, 256)[0, 0]
    folder = Path(tempfile.mkdtemp(prefix="segpaint-bench-"))
    rows.append({"model": "threshold default (baseline)", **timings(lambda: segment(image), reps)})
    try:
        import torch
        from cellpose import models
    except ImportError:
        print("(cellpose not installed: skipping the Cellpose row)")
    else:
        torch.manual_seed(0)
        model = models.CellposeModel(gpu=False, pretrained_model=False, mkldnn=False)
        model.net.save_model(str(folder / "cp_random"))
        path = str(folder / "cp_random")
        rows.append(
            {
                "model": "Cellpose 3 (random weights), CPU",
                **timings(lambda: segment(image, path), reps),
            }
        )
    try:
        from stardist.models import Config2D, StarDist2D
    except ImportError:
        print("(stardist not installed: skipping the StarDist row)")
    else:
        config = Config2D(n_rays=32, grid=(2, 2), n_channel_in=1, train_tensorboard=False)
        model = StarDist2D(config, name="sd_random", basedir=str(folder))
        model.keras_model.save_weights(str(folder / "sd_random" / "weights_best.weights.h5"))
        (folder / "sd_random" / "thresholds.json").write_text('{"prob": 0.9, "nms": 0.3}')
        path = str(folder / "sd_random")
        rows.append(
            {
                "model": "StarDist 2D (random weights), CPU",
                **timings(lambda: segment(image, path), reps),
            }
        )
    clear_model_cache()
    for row in rows:
        row["ms_per_256_frame_p50"] = 1000 * row["p50_s"]
        row["ms_per_256_frame_p95"] = 1000 * row["p95_s"]
    return rows


def table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    def fmt(value: Any) -> str:
        return f"{value:.3f}" if isinstance(value, float) else str(value)

    cells = [[fmt(row.get(c, "")) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = [" | ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines.append("-+-".join("-" * w for w in widths))
    lines += [" | ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 reps and 4 frames (smoke run)")
    parser.add_argument("--reps", type=int, default=10)
    parser.add_argument("--frames", type=int, default=8, help="1024x1024 frames per run")
    args = parser.parse_args()
    reps = 3 if args.quick else args.reps
    frames = 4 if args.quick else args.frames
    warnings.simplefilter("ignore")  # the ML libraries' deprecation chatter

    acc = accuracy()
    print("\nAccuracy (IoU threshold 0.5)")
    print(table(acc, ["case", "binary_iou", "f1@0.5", "ap@0.5", "objects"]))
    speed = throughput(frames, reps)
    print(f"\nThreshold pipeline (parameter-free), {frames} frames of 1024x1024, {reps} reps")
    print(table(speed, ["mode", "p50_s", "p95_s", "ms_per_frame_p50", "speedup_vs_serial"]))
    models = model_speed(reps)
    print(f"\nOne 256x256 frame, {reps} reps")
    print(table(models, ["model", "ms_per_256_frame_p50", "ms_per_256_frame_p95"]))

    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "bench_segment.json"
    out.write_text(
        json.dumps(
            {
                "machine": {
                    "python": platform.python_version(),
                    "cpus": __import__("os").cpu_count(),
                },
                "accuracy": acc,
                "threshold_throughput_1024": speed,
                "models_256": models,
            },
            indent=2,
        )
    )
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
