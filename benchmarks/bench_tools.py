"""Round trip of every assisted tool at 2048x2048 through the Session, against main's kernels.

What a user waits for: ``session.morph`` (every cell of the frame, each operation),
``session.copy_labels`` (a whole frame), ``session.refine`` (every cell's outline snapped to the
image, the ROI, one cell: no baseline, so beside ``morph grow`` on the same session in the same
run), ``segment_at``, ``wand``, ``split``, ``merge``, ``polygon`` and ``delete_in_box``, each on a session with its autosave journal on (the default
for files), undone between repetitions (undo is not timed).  p50/p95 over ``--reps`` runs after
two warm-up runs.

Baseline, in the same run: the same Session calls with main's kernels put back for the tools
that changed (the per-label ``morph_labels`` loop, ``match_labels``/``label_values`` with a
dense relabel, and zlib journal records), kept below as reference functions.  The slow
baseline calls run ``--baseline-reps`` times (they take seconds).  Also the kernels alone and
the session's own costs around them (undo record + journal + event for a whole-frame change).

Frames: ``movie`` = 4x4 tiles of the synthetic time-lapse (640 nuclei, like bench_effort);
``crowded`` = 3,000 touching cells with holes and specks (the worst case for per-cell loops).

Run:  python benchmarks/bench_tools.py [--reps 10] [--baseline-reps 3] [--quick] [--refine]
Prints a table and writes benchmarks/results/tools.json.  Not a test: nothing fails on a time.

A/B against a git revision (the tree this branch started from, say):
      python benchmarks/bench_tools.py --against 2f73db4 [--rounds 3] [--reps 5]
exports that revision's ``src`` into a temporary folder and times the crowded frame's
whole-frame tools (``refine`` of every cell included), the session's own cost and the kernels of
refine, fill_holes and grow r3 alone in child processes, alternating the revision's
code and this tree's round after round (so both see the same load), then pools each side's
samples: wall and CPU (process_time) p50/p95 and the ratios.  Writes results/tools_ab.json.

numba (the ``fast`` extra) against the numpy code, in an environment that has numba:
      python benchmarks/bench_tools.py --numba [--rounds 3] [--reps 10]
times ``refine`` (kernel alone and Session round trips, crowded and movie frames) with
``SEGPAINT_NUMBA`` on and off, alternating round after round in one process, then the first
call of a fresh process (numpy; numba with an empty on-disk cache, then warm).  Writes
results/refine_numba.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage as ndi
from skimage.morphology import disk

import segpaint
import segpaint._journal as journal_module
from segpaint import ops
from segpaint.data import synthetic_timelapse
from segpaint.ops import assist

RESULTS = Path(__file__).parent / "results"
TARGET_MS = 50.0
MORPH = [
    ("fill_holes", {}),
    ("grow", {"radius": 1}),
    ("grow", {"radius": 3}),
    ("shrink", {"radius": 1}),
    ("shrink", {"radius": 3}),
    ("smooth", {"radius": 2}),
    ("remove_specks", {"min_size": 30}),
]


# ----------------------------------------------------------------- main's kernels (reference)
def main_morph_labels(
    label_image: Any, op: str, *, label: int | None = None, radius: int = 1, min_size: int = 0
) -> np.ndarray:
    """``segpaint.ops.morph_labels`` as on main (14f1d33): a loop over the labels."""
    lab = np.asarray(label_image, dtype=np.uint32)
    out = np.array(lab, dtype=np.uint32)
    ids = [int(v) for v in np.unique(lab) if v] if label is None else [int(label)]
    if op == "grow" and label is None:
        dist, (ir, ic) = ndi.distance_transform_edt(lab == 0, return_indices=True)
        near = lab[ir, ic]
        grow = (lab == 0) & (dist <= radius)
        out[grow] = near[grow]
        return out
    if op == "shrink" and label is None:
        fp = disk(radius).astype(bool)
        same = (ndi.grey_erosion(lab, footprint=fp, mode="nearest") == lab) & (
            ndi.grey_dilation(lab, footprint=fp, mode="nearest") == lab
        )
        out[~same] = 0
        return out
    pad = radius + 2 if op in ("grow", "smooth") else 1
    objects = ndi.find_objects(lab)
    for value in ids:
        if value > len(objects) or objects[value - 1] is None:
            continue
        rs, cs = objects[value - 1]
        rs = slice(max(rs.start - pad, 0), min(rs.stop + pad, lab.shape[0]))
        cs = slice(max(cs.start - pad, 0), min(cs.stop + pad, lab.shape[1]))
        sub = lab[rs, cs]
        cell = sub == value
        new = out[rs, cs]
        if op == "fill_holes":
            new[ndi.binary_fill_holes(cell) & (sub == 0)] = value
        elif op == "grow":
            new[(ndi.distance_transform_edt(~cell) <= radius) & (sub == 0)] = value
        elif op == "shrink":
            fp = disk(radius).astype(bool)
            kept = ndi.binary_erosion(np.pad(cell, radius), fp)[radius:-radius, radius:-radius]
            new[cell & ~kept] = 0
        elif op == "smooth":
            soft = ndi.gaussian_filter(cell.astype(np.float64), float(radius)) > 0.5
            new[cell & ~soft] = 0
            new[soft & (sub == 0)] = value
        else:
            pieces, n = ndi.label(cell)
            if cell.sum() < min_size:
                new[cell] = 0
            elif n > 1:
                sizes = np.bincount(pieces.ravel())
                sizes[0] = 0
                new[cell & (pieces != int(np.argmax(sizes)))] = 0
    return out


def _main_dense(label_image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    flat = np.asarray(label_image).ravel()
    top = int(flat.max()) if flat.size else 0
    if top <= 4 * flat.size + 4096:
        present = np.bincount(flat, minlength=top + 1) > 0
        lut = np.cumsum(present) - 1
        return np.flatnonzero(present).astype(np.int64), lut[flat].astype(np.int64)
    ids, inverse = np.unique(flat, return_inverse=True)
    return ids.astype(np.int64), inverse.astype(np.int64)


def main_label_values(label_image: Any) -> np.ndarray:
    ids, _ = _main_dense(np.asarray(label_image))
    return ids[ids > 0]


def main_match_labels(source: Any, target: Any, *, min_iou: float = 0.5) -> dict[int, int]:
    """``segpaint.ops.match_labels`` as on main: a joint histogram over dense relabels."""
    src, tgt = np.asarray(source), np.asarray(target)
    s_ids, s_inv = _main_dense(src)
    t_ids, t_inv = _main_dense(tgt)
    joint = np.bincount(s_inv * len(t_ids) + t_inv, minlength=len(s_ids) * len(t_ids)).reshape(
        len(s_ids), len(t_ids)
    )
    s_area, t_area = joint.sum(axis=1), joint.sum(axis=0)
    rows, cols = np.nonzero(joint)
    keep = (s_ids[rows] > 0) & (t_ids[cols] > 0)
    rows, cols = rows[keep], cols[keep]
    inter = joint[rows, cols]
    iou = inter / (s_area[rows] + t_area[cols] - inter)
    pairs: dict[int, int] = {}
    used: set[int] = set()
    for k in np.argsort(-iou, kind="stable"):
        if iou[k] < min_iou:
            break
        s, t = int(s_ids[rows[k]]), int(t_ids[cols[k]])
        if s in pairs or t in used:
            continue
        pairs[s] = t
        used.add(t)
    return pairs


def main_encode_record(population, frame, bbox, values, base=None, *, index=None) -> bytes:
    """The journal record as on main: zlib level 1 of the whole box (of the listed pixels for
    a sparse record, which main did not have: the same payload as the LZ4 one)."""
    head = {"p": population, "t": int(frame), "b": [int(v) for v in bbox],
            "base": list(base) if base is not None else None}  # fmt: skip
    if index is not None:
        steps = np.diff(index, prepend=0).astype("<u4")
        raw = np.concatenate([steps, np.asarray(values, dtype="<u4").reshape(-1)])
        head["s"] = int(steps.size)
    else:
        raw = np.ascontiguousarray(values, dtype="<u4")
    payload = zlib.compress(raw.tobytes(), 1)
    return journal_module._pack(json.dumps(head).encode(), payload)


@contextlib.contextmanager
def main_kernels() -> Iterator[None]:
    """Put main's kernels back for the duration (the Session imports them at each call)."""
    saved = (assist.morph_labels, assist.match_labels, assist.label_values,
             journal_module.encode_record, assist._match_and_count)  # fmt: skip
    assist.morph_labels = main_morph_labels  # type: ignore[assignment]
    assist.match_labels = main_match_labels
    assist.label_values = main_label_values
    journal_module.encode_record = main_encode_record
    # the session's copy_labels matches and lists both frames' labels in one call
    assist._match_and_count = lambda src, tgt, *, min_iou: (
        main_match_labels(src, tgt, min_iou=min_iou), main_label_values(src),
        main_label_values(tgt), None)  # fmt: skip
    try:
        yield
    finally:
        (assist.morph_labels, assist.match_labels, assist.label_values,
         journal_module.encode_record, assist._match_and_count) = saved  # fmt: skip


# ------------------------------------------------------------------------------- frames
def crowded(shape: tuple[int, int] = (2048, 2048), n: int = 3000, seed: int = 0) -> np.ndarray:
    """Touching cells (Voronoi pieces cut to a disk), 0.2 % holes, 500 specks."""
    rng = np.random.default_rng(seed)
    pts = rng.integers(0, shape, size=(n, 2))
    seeds = np.zeros(shape, np.uint32)
    seeds[pts[:, 0], pts[:, 1]] = np.arange(1, n + 1)
    dist, (ir, ic) = ndi.distance_transform_edt(seeds == 0, return_indices=True)
    lab = seeds[ir, ic]
    lab[dist > rng.integers(6, 20, n + 1)[lab]] = 0
    lab[rng.random(shape) < 0.002] = 0
    sr, sc = rng.integers(0, shape[0], 500), rng.integers(0, shape[1], 500)
    lab[sr, sc] = rng.integers(1, n + 1, 500)
    return lab.astype(np.uint32)


def movie_frames() -> tuple[np.ndarray, np.ndarray, list[str]]:
    """4x4 tiles of the synthetic movie: image (2, C, 2048, 2048) and labels (2, 2048, 2048)."""
    tile = synthetic_timelapse(n_frames=2, shape=(512, 512), n_targets=40, n_effectors=50, seed=3)
    image = np.tile(tile.image, (1, 1, 4, 4))
    truth = np.zeros((2, 2048, 2048), np.uint32)
    block = tile.labels["targets"]
    step = int(block.max()) + 1
    for i in range(4):
        for j in range(4):
            offset = (i * 4 + j) * step
            truth[:, i * 512 : (i + 1) * 512, j * 512 : (j + 1) * 512] = np.where(
                block > 0, block + offset, 0
            )
    return image, truth, list(tile.channel_names)


# ------------------------------------------------------------------------------- timing
def timeit(
    fn: Callable[[], Any], undo: Callable[[], Any], *, reps: int, warmup: int = 2
) -> dict[str, float]:
    """Wall-clock p50/p95 (what the user waits for) and the CPU time of this process, p50 (less
    sensitive to other jobs on a shared machine, though memory bandwidth is still shared)."""
    times, cpu = [], []
    for _ in range(reps + warmup):
        c0, t0 = time.process_time(), time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - t0) * 1e3)
        cpu.append((time.process_time() - c0) * 1e3)
        if out is not None:
            undo()
    times = sorted(times[warmup:])
    return {
        "p50_ms": statistics.median(times),
        "p95_ms": times[min(len(times) - 1, math.ceil(0.95 * len(times)) - 1)],
        "cpu_p50_ms": statistics.median(cpu[warmup:]),
        "reps": reps,
        "wall_ms": times,
        "cpu_ms": cpu[warmup:],
    }


def open_session(image: np.ndarray, names: list[str] | None, folder: Path) -> Any:
    return segpaint.open(
        image, axes="TCYX", channel_names=names, populations=["cells"],
        journal=folder / f"journal-{time.perf_counter_ns()}.bin",
    )  # fmt: skip


def bench(
    reps: int, baseline_reps: int, quick: bool, *, only_refine: bool = False
) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="bench_tools-"))
    image, truth, names = movie_frames()
    rows: dict[str, dict[str, Any]] = {}

    def both(name: str, s: Any, call: Callable[[], Any], *, changed: bool = True) -> None:
        new = timeit(call, s.undo, reps=reps)
        row: dict[str, Any] = {"new": new}
        if changed:
            with main_kernels():
                row["main"] = timeit(call, s.undo, reps=baseline_reps, warmup=1)
        rows[name] = row
        _print_row(name, row)

    print(f"{'tool (2048x2048, journal on)':48s} {HEADER}  <{TARGET_MS:.0f} p95")
    if only_refine:
        refine_rows(rows, image=image, truth=truth[0], names=names, folder=folder, both=both)
        return {"tools": rows}
    frames = {"crowded": crowded()}
    if not quick:
        frames["movie"] = truth[0]
    for fname, lab in frames.items():
        s = open_session(image[:, :1], None, folder)
        s.set_labels("cells", 0, lab)
        s.set_labels("cells", 1, np.roll(lab, (2, 3), axis=(0, 1)))
        n_cells = int(ops.label_values(lab).size)
        for op, kw in MORPH:
            arg = ",".join(f"{k}={v}" for k, v in kw.items())
            both(f"{fname} ({n_cells} cells): morph {op}({arg}) all",
                 s, lambda op=op, kw=kw, s=s: s.morph("cells", 0, None, op, **kw))  # fmt: skip
        both(f"{fname} ({n_cells} cells): copy_labels fill-empty", s,
             lambda s=s: s.copy_labels("cells", 1, 0))  # fmt: skip
        both(f"{fname} ({n_cells} cells): copy_labels replace", s,
             lambda s=s: s.copy_labels("cells", 1, 0, mode="replace"))  # fmt: skip
        s.close()

    # the tools that look at intensities, on the movie (their kernels did not change here)
    s = open_session(image, names, folder)
    s.set_labels("cells", 0, truth[0])
    step = int(truth[0][:512, :512].max()) + 1
    base = 5 * step
    a = _centre(truth[0] == base + 1)
    b = _centre(truth[0] == base + 2)
    merged = truth[0].copy()
    merged[truth[0] == base + 2] = base + 1
    s2 = open_session(image, names, folder)
    s2.set_labels("cells", 0, merged)
    empty = open_session(image, names, folder)
    limits = ops.default_limits(image[0, :1])
    angles = np.linspace(0, 2 * math.pi, 24, endpoint=False)
    poly = np.stack([1024 + 15 * np.sin(angles), 1024 + 15 * np.cos(angles)], 1)
    chan = [names[0]]
    both("movie: segment_at", empty,
         lambda: empty.segment_at("cells", 0, a, channels=chan, limits=limits), changed=False)  # fmt: skip
    both("movie: wand", empty,
         lambda: empty.wand("cells", 0, a, 0.1, label=5, channels=chan, limits=limits),
         changed=False)  # fmt: skip
    both("movie: split (2 clicks)", s2, lambda: s2.split("cells", 0, base + 1, [a, b]),
         changed=False)  # fmt: skip
    both("movie: merge", s, lambda: s.merge("cells", 0, [base + 1, base + 2]), changed=False)
    both("movie: polygon (24 vertices)", s, lambda: s.polygon("cells", 0, poly, 9999),
         changed=False)  # fmt: skip
    both("movie: delete_in_box (256²)", s,
         lambda: s.delete_in_box("cells", 0, (896, 1152, 896, 1152)), changed=False)  # fmt: skip
    for x in (s, s2, empty):
        x.close()
    refine_rows(rows, image=image, truth=truth[0], names=names, folder=folder, both=both)
    return {"tools": rows, "kernels": kernels(frames["crowded"], reps, baseline_reps),
            "session_costs": session_costs(frames["crowded"], reps, folder)}  # fmt: skip


def off_by(lab: np.ndarray, px: int) -> np.ndarray:
    """Every other cell grown by ``px``, the others shrunk by ``px``: what ``refine`` fixes."""
    from segpaint.ops._morph_all import grow_all, shrink_all

    odd = np.isin(lab, ops.label_values(lab)[::2])
    return np.where(odd, grow_all(lab, px), shrink_all(lab, px)).astype(np.uint32)


def crowded_picture(lab: np.ndarray) -> np.ndarray:
    """An image of the crowded frame: bright cells of random brightness, blurred, noisy."""
    rng = np.random.default_rng(0)
    bright = rng.uniform(400, 1500, int(lab.max()) + 1)
    bright[0] = 0
    picture = ndi.gaussian_filter(bright[lab].astype(np.float32), 1.0) + 100
    picture += rng.normal(0, 20, lab.shape).astype(np.float32)
    out: np.ndarray = np.clip(picture, 0, None).astype(np.uint16)
    return out


def refine_rows(
    rows: dict[str, dict[str, Any]],
    *,
    image: np.ndarray,
    truth: np.ndarray,
    names: list[str],
    folder: Path,
    both: Callable[..., None],
) -> None:
    """``refine`` (new: no baseline kernel) beside ``morph grow(radius=1) all`` on the same
    session in the same run (a whole-frame tool of the same kind), and the ratio of the two."""
    lab = crowded()
    cases = {
        "movie": (image, truth, names),
        "crowded": (crowded_picture(lab)[None, None], lab, None),
    }
    for fname, (img, cells, chans) in cases.items():
        s = open_session(img, chans, folder)
        s.set_labels("cells", 0, off_by(cells, 2))
        n = int(ops.label_values(cells).size)
        ref = f"{fname} ({n} cells): morph grow(radius=1) all (reference)"
        both(ref, s, lambda s=s: s.morph("cells", 0, None, "grow", radius=1), changed=False)
        name = f"{fname} ({n} cells): refine every cell (outlines ±2 px)"
        both(name, s, lambda s=s: s.refine("cells", 0, channels=[0]), changed=False)
        ratio = rows[name]["new"]["p50_ms"] / rows[ref]["new"]["p50_ms"]
        ratio95 = rows[name]["new"]["p95_ms"] / rows[ref]["new"]["p95_ms"]
        rows[name]["vs_reference"] = {"p50": ratio, "p95": ratio95}
        print(f"{'  refine / morph grow, same run':48s} p50 x{ratio:.2f}, p95 x{ratio95:.2f}")
        both(f"{fname} ({n} cells): refine every cell, 512² ROI", s,
             lambda s=s: s.refine("cells", 0, channels=[0], roi=(768, 1280, 768, 1280)),
             changed=False)  # fmt: skip
        one = int(ops.label_values(cells)[n // 2])
        both(f"{fname} ({n} cells): refine one cell", s,
             lambda s=s, one=one: s.refine("cells", 0, label=one, channels=[0]),
             changed=False)  # fmt: skip
        s.close()


def _centre(mask: np.ndarray) -> tuple[int, int]:
    r, c = np.unravel_index(np.argmax(ndi.distance_transform_edt(mask)), mask.shape)
    return int(r), int(c)


def kernels(lab: np.ndarray, reps: int, baseline_reps: int) -> dict[str, Any]:
    """The kernels alone (no Session) on the crowded frame."""
    print(f"\n{'kernel alone, crowded 2048x2048':48s} {HEADER}")
    rows: dict[str, Any] = {}
    moved = np.roll(lab, (2, 3), axis=(0, 1))
    calls: list[tuple[str, Callable[[], Any], Callable[[], Any]]] = [
        (f"morph_labels {op} {kw}",
         lambda op=op, kw=kw: ops.morph_labels(lab, op, **kw),
         lambda op=op, kw=kw: main_morph_labels(lab, op, **kw))
        for op, kw in MORPH
    ]  # fmt: skip
    calls.append(("match_labels", lambda: ops.match_labels(moved, lab),
                  lambda: main_match_labels(moved, lab)))  # fmt: skip
    calls.append(("label_values", lambda: ops.label_values(lab),
                  lambda: main_label_values(lab)))  # fmt: skip
    for name, new, old in calls:
        row = {"new": timeit(new, lambda: None, reps=reps),
               "main": timeit(old, lambda: None, reps=baseline_reps, warmup=1)}  # fmt: skip
        rows[name] = row
        _print_row(name, row, target=False)
    return rows


def session_costs(lab: np.ndarray, reps: int, folder: Path) -> dict[str, Any]:
    """A whole-frame sparse change committed through the Session: journal off, on (LZ4), on
    with main's zlib records.  This is the part of every whole-frame tool that is not its
    kernel (undo record, journal record, change event, label bookkeeping)."""
    grown = ops.morph_labels(lab, "grow", radius=1)
    changed = grown != lab
    image = np.zeros((2, 1, *lab.shape), np.uint16)
    out: dict[str, Any] = {}
    print(
        f"\n{'session cost of a whole-frame change':48s} {'p50 ms':>8s} {'p95 ms':>8s} {'cpu':>6s}"
    )
    for name, journal in (("journal off", False), ("journal on", True), ("journal on, zlib", True)):
        s = segpaint.open(image, axes="TCYX", populations=["cells"],
                          journal=folder / f"cost-{len(out)}.bin" if journal else False)  # fmt: skip
        s.set_labels("cells", 0, lab)
        box = (0, lab.shape[0], 0, lab.shape[1])
        ctx = main_kernels() if "zlib" in name else contextlib.nullcontext()
        with ctx:
            r = timeit(
                lambda s=s, box=box: s._assist_commit("cells", 0, box, grown, changed, clip=None),
                s.undo, reps=reps,
            )  # fmt: skip
        out[name] = r
        print(f"{name:48s} {r['p50_ms']:8.1f} {r['p95_ms']:8.1f} {r['cpu_p50_ms']:6.1f}")
        s.close()
    return out


def _print_row(name: str, row: dict[str, Any], *, target: bool = True) -> None:
    new = row["new"]
    main = row.get("main")
    old = (
        f"{main['p50_ms']:7.0f}/{main['p95_ms']:<7.0f}{main['cpu_p50_ms']:7.0f}"
        if main
        else f"{'(same)':>22s}"
    )
    ratio = f"{main['p50_ms'] / new['p50_ms']:6.1f}" if main else f"{'':6s}"
    ok = ("yes" if new["p95_ms"] < TARGET_MS else "no") if target else ""
    print(
        f"{name:48s} {old} {new['p50_ms']:7.1f}/{new['p95_ms']:<7.1f}{new['cpu_p50_ms']:7.1f} "
        f"{ratio}  {ok}",
        flush=True,
    )


HEADER = f"{'main p50/p95 cpu':>22s} {'new p50/p95 cpu (ms)':>22s} {'x p50':>6s}"


# ------------------------------------------------------------------- A/B against a revision
def side_run(reps: int) -> dict[str, Any]:
    """One child's samples: the crowded frame's whole-frame tools and the session's own cost of
    a whole-frame change (journal on), with whatever ``segpaint`` the child imports."""
    folder = Path(tempfile.mkdtemp(prefix="bench_tools_ab-"))
    lab = crowded()
    image = np.zeros((2, 1, *lab.shape), np.uint16)
    s = open_session(image, None, folder)
    s.set_labels("cells", 0, lab)
    s.set_labels("cells", 1, np.roll(lab, (2, 3), axis=(0, 1)))
    calls: list[tuple[str, Callable[[], Any]]] = [
        (f"morph {op}({','.join(f'{k}={v}' for k, v in kw.items())})",
         lambda op=op, kw=kw: s.morph("cells", 0, None, op, **kw))
        for op, kw in MORPH
    ]  # fmt: skip
    calls.append(("copy_labels fill-empty", lambda: s.copy_labels("cells", 1, 0)))
    calls.append(("copy_labels replace", lambda: s.copy_labels("cells", 1, 0, mode="replace")))
    grown = ops.morph_labels(lab, "grow", radius=1)
    changed = grown != lab
    box = (0, lab.shape[0], 0, lab.shape[1])
    calls.append(("session cost (commit grow r1)",
                  lambda: s._assist_commit("cells", 0, box, grown, changed, clip=None)))  # fmt: skip
    calls.append(("undo of that commit", lambda: None))
    # refine on the crowded frame's picture (as `refine_rows`), every outline 2 px off
    r = open_session(crowded_picture(lab)[None, None], None, folder)
    r.set_labels("cells", 0, off_by(lab, 2))
    calls.append(("refine every cell (±2 px)", lambda: r.refine("cells", 0, channels=[0])))
    # the kernels alone (no session: no undo record, journal or event), same frames
    from segpaint.ops.refine import refine_outlines

    picture, start = crowded_picture(lab), off_by(lab, 2)
    limits = ops.default_limits(picture[None])
    calls.append(("kernel: refine_outlines",
                  lambda: _nothing(refine_outlines(picture, start, limits=limits))))  # fmt: skip
    for op, kw in (("fill_holes", {}), ("grow", {"radius": 3})):
        calls.append((f"kernel: morph_labels {op}",
                      lambda op=op, kw=kw: _nothing(ops.morph_labels(lab, op, **kw))))  # fmt: skip
    out: dict[str, Any] = {}
    for name, call in calls:
        if name.startswith("undo"):
            undo = []
            for _ in range(reps + 1):
                s._assist_commit("cells", 0, box, grown, changed, clip=None)
                c0, t0 = time.process_time(), time.perf_counter()
                s.undo()
                undo.append(((time.perf_counter() - t0) * 1e3, (time.process_time() - c0) * 1e3))
            out[name] = {"wall_ms": [u[0] for u in undo[1:]], "cpu_ms": [u[1] for u in undo[1:]]}
            continue
        owner = r if name.startswith("refine") else s
        # a kernel returns None here: nothing to undo
        res = timeit(call, owner.undo, reps=reps, warmup=1)
        out[name] = {"wall_ms": res["wall_ms"], "cpu_ms": res["cpu_ms"]}
    s.close()
    r.close()
    return out


def _nothing(_: Any) -> None:
    """A kernel's result dropped: `timeit` undoes nothing after it."""


def _p(values: list[float], q: float) -> float:
    v = sorted(values)
    return v[min(len(v) - 1, max(0, math.ceil(q * len(v)) - 1))]


def _export(root: Path, rev: str) -> Path:
    """``rev``'s ``src`` folder, exported into a new temporary folder."""
    base = Path(tempfile.mkdtemp(prefix=f"bench_tools-{rev}-"))
    archive = subprocess.run(["git", "-C", str(root), "archive", rev, "src"], check=True,
                             capture_output=True).stdout  # fmt: skip
    subprocess.run(["tar", "-x", "-C", str(base)], input=archive, check=True)
    return base / "src"


def against(rev: str, rounds: int, reps: int, this: str | None = None) -> None:
    """Alternate child runs of ``rev``'s code and this tree's (or revision ``this``'s); print
    and save pooled figures."""
    root = Path(__file__).resolve().parent.parent
    sides = {rev: _export(root, rev), "this tree": _export(root, this) if this else root / "src"}
    pooled: dict[str, dict[str, dict[str, list[float]]]] = {k: {} for k in sides}
    load = os.getloadavg()[0]
    for rnd in range(rounds):
        for side, src in sides.items():
            env = {**os.environ, "PYTHONPATH": str(src)}
            res = subprocess.run(
                [sys.executable, __file__, "--side-run", "--reps", str(reps)],
                env=env, check=True, capture_output=True, text=True,
            )  # fmt: skip
            for tool, r in json.loads(res.stdout.strip().splitlines()[-1]).items():
                row = pooled[side].setdefault(tool, {"wall_ms": [], "cpu_ms": []})
                row["wall_ms"] += r["wall_ms"]
                row["cpu_ms"] += r["cpu_ms"]
            print(f"round {rnd + 1}/{rounds}: {side} done", file=sys.stderr, flush=True)
    b = pooled["this tree"]
    print(f"crowded 2048x2048, 3,000 cells, journal on; {rounds} rounds x {reps} reps a side, "
          f"alternating; load {load:.1f} -> {os.getloadavg()[0]:.1f}")  # fmt: skip
    print(f"{'tool':34s} {rev + ' wall p50/p95':>17s} {'cpu p50/p95':>13s}  "
          f"{'this wall p50/p95':>17s} {'cpu p50/p95':>13s} {'x cpu50':>7s} {'x wall50':>8s} "
          f"{'cpu95<50':>8s}")  # fmt: skip
    table = {}
    for tool in b:
        row = {side: {f"{k}_{q}": _p(pooled[side][tool][f"{k}_ms"], v)
                      for k in ("wall", "cpu") for q, v in (("p50", 0.5), ("p95", 0.95))}
               for side in sides}  # fmt: skip
        table[tool] = row
        x, y = row[rev], row["this tree"]
        print(f"{tool:34s} {x['wall_p50']:8.1f}/{x['wall_p95']:<8.1f} "
              f"{x['cpu_p50']:6.1f}/{x['cpu_p95']:<6.1f}  {y['wall_p50']:8.1f}/{y['wall_p95']:<8.1f} "
              f"{y['cpu_p50']:6.1f}/{y['cpu_p95']:<6.1f} {x['cpu_p50'] / y['cpu_p50']:7.2f} "
              f"{x['wall_p50'] / y['wall_p50']:8.2f} {'yes' if y['cpu_p95'] < TARGET_MS else 'no':>8s}")  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "tools_ab.json").write_text(json.dumps(
        {"against": rev, "rounds": rounds, "reps": reps, "table": table, "samples": pooled},
        indent=1))  # fmt: skip
    print(f"wrote {RESULTS / 'tools_ab.json'}")


# ------------------------------------------------------- refine with and without numba
def numba_rows(rounds: int, reps: int) -> None:
    """``refine`` with its numba kernels and with the numpy code, interleaved in one process
    (``SEGPAINT_NUMBA`` is read at each call): the kernel alone and the Session round trip
    (journal on) on the crowded frame and the movie frame, every cell and one cell; then the
    first call's cost in fresh child processes (numba's on-disk cache empty, then warm)."""
    from segpaint.ops import refine as refine_module
    from segpaint.ops.refine import refine_outlines

    if refine_module._numba_kernels() is None:
        raise SystemExit("--numba: numba does not import here (pip install 'segpaint[fast]')")
    folder = Path(tempfile.mkdtemp(prefix="bench_tools_numba-"))
    image, truth, names = movie_frames()
    lab = crowded()
    picture, start = crowded_picture(lab), off_by(lab, 2)
    limits = ops.default_limits(picture[None])
    r = open_session(picture[None, None], None, folder)
    r.set_labels("cells", 0, start)
    m = open_session(image, names, folder)
    m.set_labels("cells", 0, off_by(truth[0], 2))
    one = int(ops.label_values(lab)[1500])
    calls: list[tuple[str, Any, Callable[[], Any]]] = [
        ("crowded: refine every cell (round trip)", r, lambda: r.refine("cells", 0, channels=[0])),
        ("crowded: kernel refine_outlines", None,
         lambda: _nothing(refine_outlines(picture, start, limits=limits))),
        ("crowded: refine, 512² ROI (round trip)", r,
         lambda: r.refine("cells", 0, channels=[0], roi=(768, 1280, 768, 1280))),
        ("crowded: refine one cell (round trip)", r,
         lambda: r.refine("cells", 0, label=one, channels=[0])),
        ("movie: refine every cell (round trip)", m, lambda: m.refine("cells", 0, channels=[0])),
    ]  # fmt: skip
    modes = ("on", "off")
    pooled: dict[str, dict[str, dict[str, list[float]]]] = {
        name: {mode: {"wall_ms": [], "cpu_ms": []} for mode in modes} for name, _, _ in calls
    }
    load = os.getloadavg()[0]
    for rnd in range(rounds):
        for mode in modes if rnd % 2 == 0 else modes[::-1]:
            os.environ["SEGPAINT_NUMBA"] = "1" if mode == "on" else "0"
            for name, owner, call in calls:
                res = timeit(call, owner.undo if owner else lambda: None, reps=reps, warmup=1)
                pooled[name][mode]["wall_ms"] += res["wall_ms"]
                pooled[name][mode]["cpu_ms"] += res["cpu_ms"]
        print(f"round {rnd + 1}/{rounds} done", file=sys.stderr, flush=True)
    os.environ.pop("SEGPAINT_NUMBA", None)
    r.close()
    m.close()
    print(f"refine with numba (on) and numpy (off), interleaved: {rounds} rounds x {reps} reps a "
          f"side; load {load:.1f} -> {os.getloadavg()[0]:.1f}")  # fmt: skip
    print(f"{'2048x2048, journal on':40s} {'numpy wall p50/p95':>18s} {'cpu p50/p95':>13s}  "
          f"{'numba wall p50/p95':>18s} {'cpu p50/p95':>13s} {'x cpu50':>7s} {'x wall95':>8s} "
          f"{'wall95<50':>9s}")  # fmt: skip
    table: dict[str, Any] = {}
    for name, _, _ in calls:
        row = {mode: {f"{k}_{q}": _p(pooled[name][mode][f"{k}_ms"], v)
                      for k in ("wall", "cpu") for q, v in (("p50", 0.5), ("p95", 0.95))}
               for mode in modes}  # fmt: skip
        table[name] = row
        x, y = row["off"], row["on"]
        print(f"{name:40s} {x['wall_p50']:8.1f}/{x['wall_p95']:<9.1f} "
              f"{x['cpu_p50']:6.1f}/{x['cpu_p95']:<6.1f}  {y['wall_p50']:8.1f}/{y['wall_p95']:<9.1f} "
              f"{y['cpu_p50']:6.1f}/{y['cpu_p95']:<6.1f} {x['cpu_p50'] / y['cpu_p50']:7.2f} "
              f"{x['wall_p95'] / y['wall_p95']:8.2f} {'yes' if y['wall_p95'] < TARGET_MS else 'no':>9s}")  # fmt: skip
    first = first_calls()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "refine_numba.json").write_text(json.dumps(
        {"rounds": rounds, "reps": reps, "table": table, "first_call": first, "samples": pooled},
        indent=1))  # fmt: skip
    print(f"wrote {RESULTS / 'refine_numba.json'}")


_FIRST_CALL = """
import json, time
import numpy as np
t0 = time.perf_counter()
from segpaint.ops.refine import refine_outlines, _numba_kernels
lab = np.zeros((64, 64), np.uint32); lab[20:40, 20:40] = 1
img = np.zeros((64, 64), np.float32); img[18:42, 18:42] = 1
kernels = _numba_kernels()
t1 = time.perf_counter()
refine_outlines(img, lab, limits=[(0, 1)])
t2 = time.perf_counter()
refine_outlines(img, lab, limits=[(0, 1)])
t3 = time.perf_counter()
print(json.dumps({"import_ms": (t1 - t0) * 1e3, "first_ms": (t2 - t1) * 1e3,
                  "second_ms": (t3 - t2) * 1e3, "numba": kernels is not None}))
"""


def first_calls() -> dict[str, Any]:
    """The first ``refine_outlines`` of a fresh process (a 64x64 crowded-path frame, uint16
    image): numpy; numba with an empty on-disk cache (it compiles); numba with that cache warm."""
    cache = tempfile.mkdtemp(prefix="bench_tools_numba_cache-")
    out: dict[str, Any] = {}
    print(f"\n{'first call in a fresh process':40s} {'import':>8s} {'1st call':>9s} {'2nd':>7s}")
    for name, extra in (("numpy (SEGPAINT_NUMBA=0)", {"SEGPAINT_NUMBA": "0"}),
                        ("numba, cache empty (compiles)", {"NUMBA_CACHE_DIR": cache}),
                        ("numba, cache warm", {"NUMBA_CACHE_DIR": cache}),
                        ("numba, cache warm (again)", {"NUMBA_CACHE_DIR": cache})):  # fmt: skip
        env = {**os.environ, **extra}
        res = subprocess.run([sys.executable, "-c", _FIRST_CALL], env=env, check=True,
                             capture_output=True, text=True)  # fmt: skip
        row = json.loads(res.stdout.strip().splitlines()[-1])
        out[name] = row
        print(
            f"{name:40s} {row['import_ms']:7.0f}  {row['first_ms']:8.0f}  {row['second_ms']:6.1f}"
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=10)
    parser.add_argument("--baseline-reps", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="crowded frame only, 5 reps")
    parser.add_argument("--refine", action="store_true", help="only the refine rows")
    parser.add_argument("--against", metavar="REV", help="A/B against a git revision's src")
    parser.add_argument("--rounds", type=int, default=3, help="with --against: rounds a side")
    parser.add_argument("--this", metavar="REV", help="with --against: a revision, not the tree")
    parser.add_argument(
        "--numba", action="store_true",
        help="refine with numba and with numpy, interleaved, and the first call's cost",
    )  # fmt: skip
    parser.add_argument("--side-run", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.numba:
        numba_rows(args.rounds, args.reps)
        return
    if args.side_run:
        print(json.dumps(side_run(args.reps)))
        return
    if args.against:
        against(args.against, args.rounds, args.reps, args.this)
        return
    reps = 5 if args.quick else args.reps
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    results = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_before": load,
        **bench(reps, args.baseline_reps, args.quick, only_refine=args.refine),
        "load_after": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "tools.json").write_text(json.dumps(results, indent=2))
    print(f"\nload average before/after: {load} / {results['load_after']}; "
          f"wrote {RESULTS / 'tools.json'}")  # fmt: skip


if __name__ == "__main__":
    main()
