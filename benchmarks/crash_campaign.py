"""Crash campaign: kill a process that edits, saves and exports, at random points, and count losses.

A child process opens a small Celldetective experiment and runs a seeded sequence of operations
(brush strokes, fills, undo, ``save_labels``, ``export_roi`` in two layouts, overwriting earlier
samples). After each operation returns it prints an acknowledgement. Its ``os.replace``,
``os.fsync`` and file writes are slowed by random sleeps, so kills land inside every write
window. The parent SIGKILLs it after a random delay, then opens the experiment as a user would
(``segpaint.open`` + ``recover()``) and checks:

- acknowledged edits recovered: the labels equal the replay of every acknowledged operation
  (the operation in flight may or may not be there), on every frame;
- frames lost: a label file saved before the round that is missing or unreadable afterwards;
- half samples: a sample with 1 or 2 of its 3 files, or whose mask does not match its sidecar;
- stray temporaries: temporary or intent files of ours left after the next open.

    python benchmarks/crash_campaign.py              # 200 kills (about 5-8 minutes on 2 cores)
    python benchmarks/crash_campaign.py --kills 20   # a quick look

Prints a table and writes ``benchmarks/results/crash_campaign.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import tifffile

FRAMES, SIZE = 3, 96
ROIS = [(0, (8, 72), (8, 72)), (1, (20, 90), (0, 64)), (2, (0, 48), (30, 96))]


def make_experiment(root: Path) -> Path:
    """A one-position Celldetective experiment with a (3, 2, 96, 96) uint16 movie."""
    rng = np.random.default_rng(0)
    movie = rng.integers(0, 4000, size=(FRAMES, 2, SIZE, SIZE), dtype=np.uint16)
    root.mkdir(parents=True)
    (root / "config.ini").write_text(
        "[Populations]\npopulations = targets\n\n[MovieSettings]\npxtoum = 0.5\n"
        "frametomin = 2.0\nmovie_prefix = Aligned\n\n[Channels]\nbf = 0\nnuclei = 1\n"
    )
    movie_dir = root / "W1" / "100" / "movie"
    movie_dir.mkdir(parents=True)
    tifffile.imwrite(movie_dir / "Aligned.tif", movie, imagej=True, metadata={"axes": "TCYX"})
    return root


def operations(seed: int, n: int = 400) -> list[dict[str, Any]]:
    """The seeded operation sequence a child runs (and the parent replays)."""
    rng = random.Random(seed)
    ops: list[dict[str, Any]] = []
    for _ in range(n):
        kind = rng.choices(["paint", "fill", "undo", "save", "export"], weights=[10, 3, 2, 3, 3])[0]
        frame = rng.randrange(FRAMES)
        if kind == "paint":
            pts = [(rng.randrange(SIZE), rng.randrange(SIZE)) for _ in range(rng.randint(1, 4))]
            ops.append(
                {
                    "op": kind,
                    "frame": frame,
                    "points": pts,
                    "radius": rng.randint(2, 9),
                    "label": rng.randint(0, 40),
                }
            )
        elif kind == "fill":
            ops.append(
                {
                    "op": kind,
                    "frame": frame,
                    "seed": (rng.randrange(SIZE), rng.randrange(SIZE)),
                    "label": rng.randint(0, 40),
                }
            )
        elif kind == "export":
            ops.append(
                {
                    "op": kind,
                    "roi": rng.randrange(len(ROIS)),
                    "format": rng.choice(["celldetective", "stardist"]),
                }
            )
        else:
            ops.append({"op": kind})
    return ops


def apply_edit(session: Any, op: dict[str, Any]) -> None:
    """Apply one labels-changing operation (save and export change no label)."""
    if op["op"] == "paint":
        session.paint("targets", op["frame"], op["points"], op["radius"], op["label"])
    elif op["op"] == "fill":
        session.fill("targets", op["frame"], op["seed"], op["label"])
    elif op["op"] == "undo":
        session.undo()


def _slow_down(rng: random.Random) -> None:
    """Widen every write window so that kills land inside them."""
    real_replace, real_fsync = os.replace, os.fsync

    def replace(src: Any, dst: Any, **kwargs: Any) -> None:
        time.sleep(rng.random() * 0.01)
        real_replace(src, dst, **kwargs)
        time.sleep(rng.random() * 0.01)

    def fsync(fd: int) -> None:
        time.sleep(rng.random() * 0.004)
        real_fsync(fd)

    os.replace = replace  # type: ignore[assignment]
    os.fsync = fsync  # type: ignore[assignment]


def child(root: Path, seed: int) -> None:
    """Run the operations and acknowledge each one on stdout."""
    import segpaint

    _slow_down(random.Random(seed + 1))
    session = segpaint.open(root)
    rois = [session.add_roi(t, rows=r, cols=c) for t, r, c in ROIS]
    print("ready", flush=True)
    for i, op in enumerate(operations(seed)):
        if op["op"] == "save":
            session.save_labels("targets")
        elif op["op"] == "export":
            session.export_roi("targets", rois[op["roi"]], format=op["format"], overwrite=True)
        else:
            apply_edit(session, op)
        print(f"ack {i}", flush=True)


def _labels_before(root: Path) -> dict[str, bytes]:
    folder = root / "W1" / "100" / "labels_targets"
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.tif"))} if folder.is_dir() else {}


def _check_samples(root: Path) -> int:
    """Samples with missing files, or whose mask does not match its sidecar."""
    half = 0
    layouts = {
        "annotations_targets": lambda f, stem: (
            f / f"{stem}.tif",
            f / f"{stem}_labelled.tif",
            f / f"{stem}.json",
        ),
        "annotations_targets_stardist": lambda f, stem: (
            f / "images" / f"{stem}.tif",
            f / "masks" / f"{stem}.tif",
            f / "meta" / f"{stem}.json",
        ),
    }
    for name, paths in layouts.items():
        folder = root / name
        if not folder.is_dir():
            continue
        stems = {
            p.name.removesuffix("_labelled.tif").removesuffix(".tif").removesuffix(".json")
            for p in folder.rglob("*")
            if p.is_file() and not p.name.startswith(".")
        }
        for stem in stems:
            image, mask, side = paths(folder, stem)
            present = [p.is_file() for p in (image, mask, side)]
            if not all(present):
                half += 1
                continue
            try:
                meta = json.loads(side.read_text())
                arr = tifffile.imread(mask)
                img = tifffile.imread(image)
            except Exception:
                half += 1
                continue
            sums = meta.get("checksums", {})
            if sums.get("mask") != zlib.crc32(np.ascontiguousarray(arr).tobytes()) or sums.get(
                "image"
            ) != zlib.crc32(np.ascontiguousarray(img).tobytes()):
                half += 1
    return half


def _strays(root: Path) -> int:
    return sum(
        1
        for p in root.rglob("*")
        if p.name.endswith((".segpaint-tmp", ".segpaint-commit", ".part"))
    )


def campaign(kills: int, seed: int, workdir: Path | None = None) -> dict[str, Any]:
    import segpaint

    rng = random.Random(seed)
    work = Path(tempfile.mkdtemp(prefix="segpaint-crash-", dir=workdir))
    root = make_experiment(work / "Exp")
    movie = tifffile.imread(root / "W1" / "100" / "movie" / "Aligned.tif")
    totals = {
        "kills": 0,
        "acknowledged_ops": 0,
        "acknowledged_edits": 0,
        "edits_recovered": 0,
        "rounds_with_lost_edits": 0,
        "frames_lost": 0,
        "half_samples": 0,
        "stray_temporaries": 0,
        "samples_on_disk": 0,
    }
    state = np.zeros((FRAMES, SIZE, SIZE), np.uint32)
    t0 = time.perf_counter()
    for round_ in range(kills):
        saved = _labels_before(root)
        child_seed = seed * 100_000 + round_
        proc = subprocess.Popen(
            [sys.executable, __file__, "--child", str(root), "--seed", str(child_seed)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != "ready":
            proc.kill()
            raise RuntimeError(f"child failed to start: {proc.communicate()[1]}")
        deadline = time.monotonic() + rng.uniform(0.02, 1.5)
        acked = -1
        os.set_blocking(proc.stdout.fileno(), False)
        while time.monotonic() < deadline and proc.poll() is None:
            line = proc.stdout.readline()
            if line.startswith("ack"):
                acked = int(line.split()[1])
            elif not line:
                time.sleep(0.001)
        os.kill(proc.pid, signal.SIGKILL)
        rest, err = proc.communicate()
        for line in rest.splitlines():  # acknowledged before the kill, read after it
            if line.startswith("ack"):
                acked = int(line.split()[1])
        if proc.returncode != -signal.SIGKILL:
            raise RuntimeError(f"child ended by itself ({proc.returncode}): {err[-2000:]}")
        totals["kills"] += 1
        ops = operations(child_seed)
        done = ops[: acked + 1]
        totals["acknowledged_ops"] += len(done)
        n_edits = sum(op["op"] in ("paint", "fill", "undo") for op in done)
        totals["acknowledged_edits"] += n_edits
        # What the user should find: every acknowledged edit, and maybe the one in flight.
        candidates = []
        for upto in (acked + 1, acked + 2):
            ref = segpaint.open(
                movie,
                axes="TCYX",
                labels={"targets": state},
                journal=False,
                populations=["targets"],
            )
            for op in ops[:upto]:
                apply_edit(ref, op)
            candidates.append(np.asarray(ref.labels("targets")))
        # The user's next open: finishes interrupted writes, offers the journal.
        user = segpaint.open(root)
        user.recover()
        got = np.asarray(user.labels("targets"))
        if any(np.array_equal(got, c) for c in candidates):
            totals["edits_recovered"] += n_edits
        else:
            totals["rounds_with_lost_edits"] += 1
        for name in saved:
            path = root / "W1" / "100" / "labels_targets" / name
            try:
                tifffile.imread(path)
            except Exception:
                totals["frames_lost"] += 1
        totals["half_samples"] += _check_samples(root)
        totals["stray_temporaries"] += _strays(root)
        user.save_labels("targets")  # the next round starts from what the user has now
        state = got.astype(np.uint32)
        user.close()
        del user
    totals["samples_on_disk"] = sum(1 for p in root.rglob("*.json") if not p.name.startswith("."))
    totals["seconds"] = round(time.perf_counter() - t0, 1)
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--child", type=Path)
    parser.add_argument("--workdir", type=Path, help="where to make the experiment (default: tmp)")
    args = parser.parse_args()
    if args.child is not None:
        child(args.child, args.seed)
        return
    totals = campaign(args.kills, args.seed, args.workdir)
    width = max(len(k) for k in totals)
    print(f"crash campaign: {totals['kills']} SIGKILLs in {totals['seconds']} s")
    for key, value in totals.items():
        print(f"  {key:<{width}}  {value}")
    out = Path(__file__).parent / "results" / "crash_campaign.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(totals, indent=2))
    ok = (
        totals["rounds_with_lost_edits"],
        totals["frames_lost"],
        totals["half_samples"],
        totals["stray_temporaries"],
    ) == (0, 0, 0, 0)
    print(
        "target met: all acknowledged edits recovered, 0 frames lost, 0 half samples, "
        f"0 stray temporaries: {'yes' if ok else 'NO'}"
    )


if __name__ == "__main__":
    main()
