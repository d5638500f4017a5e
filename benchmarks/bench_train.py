"""Does a model trained on a few corrected samples beat the threshold default on its population?

    PYTHONPATH=src python benchmarks/bench_train.py            # 5, 10, 20 samples, 8 held-out frames
    PYTHONPATH=src python benchmarks/bench_train.py --quick    # 5, 10 samples, 3 held-out frames
    PYTHONPATH=src python benchmarks/bench_train.py --stardist 300  # + StarDist, 300 s of training

On `segpaint.data.synthetic_timelapse` (256x256, 24 frames), the effectors population (small,
bright nuclei): samples are 128x128 ROIs cut from frames 0-15 with their true masks (a perfectly
corrected annotation), exported as Celldetective samples; the pixel classifier is trained from
5, 10 and 20 of them on the nuclei channel, then pre-segments the held-out frames 16-23 whole.
The threshold default (``segment(image, "threshold", channels=["nuclei"])``) runs on the same
frames.  Scores against the true effector masks: F1 and AP at IoU 0.5, the mean IoU of the pairs
matched at IoU >= 0.5, and the mean IoU of pairs matched at IoU >= 0.1 ("loose").  Times: training
(wall, including feature computation) and prediction per 256x256 frame.  With ``--stardist``
(and the stardist extra), StarDist trained from scratch on the same 10 samples, stopped after
that much wall time (epochs of 10 steps; thresholds tuned on its validation samples).
Prints a table and writes benchmarks/results/bench_train.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

import segpaint
from segpaint.data import synthetic_timelapse
from segpaint.metrics import match_instances
from segpaint.segment import segment

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
POPULATION = "effectors"
TRAIN_FRAMES = range(16)
CROP = 128


def export_samples(data: Any, n: int, folder: Path, seed: int = 0) -> Path:
    """``n`` truth-corrected 128x128 effector samples from the training frames."""
    session = data.open(labels={POPULATION: data.labels[POPULATION]}, journal=False)
    session.set_method(POPULATION, "threshold", {"channels": ["nuclei"]})
    rng = np.random.default_rng(seed)
    rows, cols = session.frame_shape
    target = folder / f"annotations_{POPULATION}"
    done = 0
    while done < n:
        t = int(rng.choice(list(TRAIN_FRAMES)))
        r0 = int(rng.integers(0, rows - CROP + 1))
        c0 = int(rng.integers(0, cols - CROP + 1))
        roi = session.add_roi(t, rows=(r0, r0 + CROP), cols=(c0, c0 + CROP))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # an empty crop is a valid (negative) sample
            try:
                session.export_roi(POPULATION, roi, folder=target)
            except FileExistsError:
                continue
        done += 1
    return target


def score(truth: list[np.ndarray], predictions: list[np.ndarray]) -> dict[str, float]:
    tp = fp = fn = 0
    ious: list[float] = []
    loose: list[float] = []
    for true, pred in zip(truth, predictions, strict=True):
        strict = match_instances(true, pred, iou_threshold=0.5)
        tp, fp, fn = tp + strict.tp, fp + strict.fp, fn + strict.fn
        ious += [strict.mean_matched_iou] * strict.tp
        low = match_instances(true, pred, iou_threshold=0.1)
        loose += [low.mean_matched_iou] * low.tp
    total = tp + fp + fn
    return {
        "f1_at_0.5": 2 * tp / (2 * tp + fp + fn) if total else 1.0,
        "ap_at_0.5": tp / total if total else 1.0,
        "matched_iou": float(np.mean(ious)) if ious else 0.0,
        "matched_iou_loose": float(np.mean(loose)) if loose else 0.0,
        "tp": tp,
        "fp": fp,
        "fn": fn,
    }


def stardist_row(
    data: Any, root: Path, held_out: list[int], truth: list[np.ndarray], budget_s: float
) -> dict[str, Any]:
    """StarDist from scratch on the 10 samples, stopped after ``budget_s`` seconds of training."""
    try:
        import stardist  # noqa: F401
    except ImportError:
        print("stardist is not installed: no StarDist row (pip install 'segpaint[stardist]')")
        return {}
    start = time.perf_counter()

    def out_of_time(record: dict[str, Any]) -> bool:
        return time.perf_counter() - start < budget_s

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = segpaint.train(
            root / f"annotations_{POPULATION}",
            backend="stardist",
            channels=["nuclei"],
            name="sd10",
            epochs=1000,
            steps_per_epoch=10,
            batch_size=4,
            callback=out_of_time,
        )
    train_s = time.perf_counter() - start
    epochs = len(json.loads((model / "config_input.json").read_text())["history"])
    times, predictions = [], []
    for t in held_out:
        begin = time.perf_counter()
        predictions.append(
            segment(data.image[t], model, channel_names=data.channel_names, pixel_size_um=0.65)
        )
        times.append(time.perf_counter() - begin)
    return {
        "method": f"stardist ({epochs} ep)",
        "samples": 10,
        "train_s": train_s,
        "predict_s_per_frame": statistics.median(times),
        **score(truth, predictions),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer sample counts and frames")
    parser.add_argument(
        "--stardist",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="also train StarDist from scratch on the 10 samples for this much wall time "
        "(needs the stardist extra)",
    )
    args = parser.parse_args()
    counts = [5, 10] if args.quick else [5, 10, 20]
    held_out = list(range(16, 19)) if args.quick else list(range(16, 24))
    data = synthetic_timelapse(n_frames=24, shape=(256, 256), seed=0)
    truth = [data.labels[POPULATION][t] for t in held_out]
    names = data.channel_names

    results: list[dict[str, Any]] = []
    times = []
    predictions = []
    for t in held_out:
        start = time.perf_counter()
        predictions.append(
            segment(data.image[t], "threshold", channels=["nuclei"], channel_names=names)
        )
        times.append(time.perf_counter() - start)
    results.append(
        {
            "method": "threshold default",
            "samples": 0,
            "train_s": 0.0,
            "predict_s_per_frame": statistics.median(times),
            **score(truth, predictions),
        }
    )
    with tempfile.TemporaryDirectory() as tmp:
        for n in counts:
            folder = export_samples(data, n, Path(tmp) / f"n{n}")
            start = time.perf_counter()
            model = segpaint.train(folder, channels=["nuclei"], name=f"pc{n}", progress=False)
            train_s = time.perf_counter() - start
            times, predictions = [], []
            for t in held_out:
                start = time.perf_counter()
                predictions.append(
                    segment(
                        data.image[t], model, channel_names=names, pixel_size_um=data.pixel_size_um
                    )
                )
                times.append(time.perf_counter() - start)
            results.append(
                {
                    "method": "pixel classifier",
                    "samples": n,
                    "train_s": train_s,
                    "predict_s_per_frame": statistics.median(times),
                    **score(truth, predictions),
                }
            )

        if args.stardist > 0:
            results.append(stardist_row(data, Path(tmp) / "n10", held_out, truth, args.stardist))

    head = f"{'method':<18}{'samples':>8}{'F1@0.5':>8}{'AP@0.5':>8}{'IoU':>7}{'IoU(0.1)':>10}{'train s':>9}{'pred s/fr':>10}"
    print(f"effectors, held-out frames {held_out[0]}-{held_out[-1]} of synthetic_timelapse(seed=0)")
    print(head)
    results = [r for r in results if r]
    for r in results:
        print(
            f"{r['method']:<18}{r['samples']:>8}{r['f1_at_0.5']:>8.3f}{r['ap_at_0.5']:>8.3f}"
            f"{r['matched_iou']:>7.3f}{r['matched_iou_loose']:>10.3f}{r['train_s']:>9.2f}"
            f"{r['predict_s_per_frame']:>10.3f}"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "bench_train.json"
    out.write_text(
        json.dumps(
            {
                "population": POPULATION,
                "held_out_frames": held_out,
                "quick": args.quick,
                "machine": {"python": platform.python_version(), "cpu": platform.processor()},
                "results": results,
            },
            indent=2,
        )
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
