"""Crash campaign for the file-system layer: SIGKILL a writer at random points, then check the disk.

A child process saves full-frame labels (``write_label_frame``) and exports samples
(``write_sample``, Celldetective and StarDist layouts, overwriting the same few stems) in a loop,
printing an acknowledgement after each call returns. ``segpaint.io._fs._before_replace`` sleeps a
few milliseconds in the child, so that kills land inside commits (between the renames of one
sample). The parent kills it with SIGKILL after a random delay, runs ``recover_folder`` on each
folder (as a Session does when it opens), and checks:

- every acknowledged label frame is on disk with that version or a newer one (else: frame lost);
- every label file reads whole with tifffile;
- every sample is whole and of one export: image, mask and sidecar all present and all from the
  same version (else: half sample), and no older than the last acknowledged export of that stem;
- no ``*.segpaint-tmp`` / ``*.segpaint-commit`` file remains.

Usage::

    .venv/bin/python benchmarks/crash_fs.py [--kills 240] [--seed 8] [--folder /tmp/x]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import tifffile

from segpaint.io._fs import COMMIT_SUFFIX, TMP_SUFFIX, RecoveryReport, recover_folder

FRAMES = 4
STEMS = ("s0", "s1", "s2")
LAYOUTS = {"celldetective": "annotations_cells", "stardist": "annotations_cells_stardist"}


def _image(version: int) -> np.ndarray:
    return np.full((1, 32, 32), version % 65521 + 1, np.uint16)


def _labels(version: int) -> np.ndarray:
    """``version % 7 + 1`` square cells: the mask tells which export it came from."""
    lab = np.zeros((32, 32), np.uint16)
    for i in range(version % 7 + 1):
        lab[(i // 4) * 8 : (i // 4) * 8 + 6, (i % 4) * 8 : (i % 4) * 8 + 6] = i + 1
    return lab


def child(folder: Path, seed: int, start: int) -> None:
    """Save and export in a loop until killed; one acknowledgement line per finished write."""
    from segpaint.io import _fs
    from segpaint.io.export import write_label_frame, write_sample

    rng = random.Random(seed)
    _fs._before_replace = lambda src, dst: time.sleep(rng.uniform(0, 0.004))
    print("ready", flush=True)
    version = start
    while True:
        version += 1
        if version % 2:
            t = rng.randrange(FRAMES)
            write_label_frame(
                folder / "labels_cells" / f"{t:04d}.tif",
                np.full((64, 64), version, np.uint32),
                base=folder,
            )
            print(f"F {t} {version}", flush=True)
        else:
            fmt = rng.choice(list(LAYOUTS))
            stem = rng.choice(STEMS)
            write_sample(
                folder / LAYOUTS[fmt],
                stem,
                _image(version),
                _labels(version),
                {"version": version},
                format=fmt,  # type: ignore[arg-type]
                overwrite=True,
                base=folder,
            )
            print(f"S {fmt} {stem} {version}", flush=True)


def _sample_files(folder: Path, fmt: str, stem: str) -> list[Path]:
    base = folder / LAYOUTS[fmt]
    if fmt == "celldetective":
        return [base / f"{stem}.tif", base / f"{stem}_labelled.tif", base / f"{stem}.json"]
    return [
        base / "images" / f"{stem}.tif",
        base / "masks" / f"{stem}.tif",
        base / "meta" / f"{stem}.json",
    ]


def check(
    folder: Path, acked_frames: dict[int, int], acked_samples: dict[tuple[str, str], int]
) -> dict[str, int]:
    """Count what a user would find wrong on disk after recovery."""
    out = {"frames_checked": 0, "frames_lost": 0, "samples_checked": 0, "half_samples": 0,
           "stale_samples": 0, "strays": 0}  # fmt: skip
    for t in range(FRAMES):
        path = folder / "labels_cells" / f"{t:04d}.tif"
        if t not in acked_frames:
            continue
        out["frames_checked"] += 1
        try:
            data = tifffile.imread(path)
            ok = data.shape == (64, 64) and data.min() == data.max() >= acked_frames[t]
        except Exception:  # a missing or torn file is a lost frame
            ok = False
        out["frames_lost"] += not ok
    for fmt in LAYOUTS:
        for stem in STEMS:
            files = _sample_files(folder, fmt, stem)
            present = [p.exists() for p in files]
            if not any(present):
                out["half_samples"] += (fmt, stem) in acked_samples
                continue
            out["samples_checked"] += 1
            try:
                version = json.loads(files[2].read_text())["version"]
                image, mask = tifffile.imread(files[0]), tifffile.imread(files[1])
                whole = (
                    all(present)
                    and int(image.max()) == version % 65521 + 1
                    and int(mask.max()) == version % 7 + 1
                )
            except Exception:  # a missing or torn file is a half sample
                whole, version = False, -1
            out["half_samples"] += not whole
            out["stale_samples"] += whole and version < acked_samples.get((fmt, stem), 0)
    out["strays"] = sum(
        1 for p in folder.rglob(".*") if p.name.endswith((TMP_SUFFIX, COMMIT_SUFFIX))
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=240)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--folder", type=Path, default=None)
    parser.add_argument(
        "--child", nargs=3, metavar=("FOLDER", "SEED", "START"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child:
        child(Path(args.child[0]), int(args.child[1]), int(args.child[2]))
        return
    root = args.folder or Path(tempfile.mkdtemp(prefix="segpaint-crash-"))
    folder = root / "experiment"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    rng = random.Random(args.seed)
    acked_frames: dict[int, int] = {}
    acked_samples: dict[tuple[str, str], int] = {}
    totals = {"acks": 0}
    report = RecoveryReport()
    started = time.perf_counter()
    for kill in range(args.kills):
        proc = subprocess.Popen(
            [sys.executable, __file__, "--child", str(folder), str(rng.randrange(1 << 30)),
             str(kill * 10_000)],
            stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != "ready":
            raise SystemExit(f"the child did not start (exit code {proc.wait()})")
        time.sleep(rng.uniform(0.02, 0.3))
        proc.send_signal(signal.SIGKILL)
        lines = proc.stdout.read().splitlines()
        proc.wait()
        for line in lines:
            kind, *rest = line.split()
            if len(rest) != (1 if kind == "F" else 2) + 1:
                continue  # a line cut by the kill
            totals["acks"] += 1
            if kind == "F":
                acked_frames[int(rest[0])] = int(rest[1])
            else:
                acked_samples[(rest[0], rest[1])] = int(rest[2])
        for name in ("labels_cells", *LAYOUTS.values()):
            report = report + recover_folder(folder / name, base=folder)
        for key, value in check(folder, acked_frames, acked_samples).items():
            totals[key] = totals.get(key, 0) + value
    elapsed = time.perf_counter() - started
    rows = [
        ("SIGKILLs", args.kills),
        ("acknowledged writes (frames + samples)", totals["acks"]),
        ("checks of acknowledged frames", totals["frames_checked"]),
        ("frames lost or torn", totals["frames_lost"]),
        ("checks of samples on disk", totals["samples_checked"]),
        ("half samples (missing file, torn, or mixed exports)", totals["half_samples"]),
        ("samples older than the last acknowledged export", totals["stale_samples"]),
        ("stray temporaries / intent records after recovery", totals["strays"]),
        ("commits rolled forward by recovery", report.rolled_forward),
        ("temporaries of interrupted writes removed", report.temporaries_removed),
        ("recovery problems", len(report.problems)),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"| {'what':<{width}} | count |\n| {'-' * width} | ----- |")
    for name, value in rows:
        print(f"| {name:<{width}} | {value:>5} |")
    print(f"({elapsed:.0f} s; folder {folder})")
    bad = (
        totals["frames_lost"] + totals["half_samples"] + totals["stale_samples"] + totals["strays"]
    )
    raise SystemExit(1 if bad or report.problems else 0)


if __name__ == "__main__":
    main()
