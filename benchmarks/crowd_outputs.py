"""Same pixels as a revision: save the outputs of the crowded-frame tools, or compare with them.

The whole-frame kernels (`refine`, `morph` with ``label=None``) are made faster pass after pass
and must give the pixels they gave before, bit for bit.  This saves ~150 outputs of
``segpaint`` as imported (run it with a revision's ``src`` first on the path) into a folder, then
compares this tree's outputs with them:

    git archive 3c0610f src | tar -x -C /tmp/rev
    PYTHONPATH=/tmp/rev/src python benchmarks/crowd_outputs.py save /tmp/outputs
    PYTHONPATH=src python benchmarks/crowd_outputs.py check /tmp/outputs [NAME_PART]

Frames: crowded 2048x2048 frames of three seeds and of 6,000 cells, 600x700 with labels above
70,000, 301x257, the movie frame, 40 ring-shaped cells with cells in their holes.  Outputs:
fill_holes, grow r1/2/3/5, shrink r1/3, smooth r2, remove_specks 30 (whole frame, and in a
Session ROI); `Session.copy_labels` (replace and fill-empty, three shifts, whole frame and a ROI,
onto a full and a partly empty frame) and whole-frame `Session.morph` with its journal, undone
and redone; refine of every cell / a ROI / a ROI on the frame's edge / one cell, radius 1, 2,
3, 5, 16, outlines 1-3 px off, two channels, labels above 65,535 and near 2**32, a few big
cells.  ~1.8 GB of .npy files; exits 1 when any output differs.

``refine`` runs its numba kernels where numba imports (the ``fast`` extra; the ML environment
has it) and its numpy code elsewhere or with ``SEGPAINT_NUMBA=0``: check both ways, e.g.
``PYTHONPATH=src .venv-ci/ml/bin/python benchmarks/crowd_outputs.py check /tmp/outputs refine``
and the same with ``SEGPAINT_NUMBA=0`` (or with the dev environment's python).
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage as ndi

import segpaint
from segpaint import ops
from segpaint.ops import refine as refine_module

sys.path.insert(0, str(Path(__file__).parent))
import bench_tools as bt


def frames() -> dict[str, np.ndarray]:
    out = {f"crowd{seed}": bt.crowded(seed=seed) for seed in (0, 1, 2)}
    out["crowd_n6000"] = bt.crowded(n=6000, seed=5)
    c = bt.crowded(shape=(600, 700), n=500, seed=7)
    out["crowd_big_ids"] = np.where(c > 0, c + 70000, 0).astype(np.uint32)
    out["crowd_small"] = bt.crowded(shape=(301, 257), n=200, seed=9)
    out["movie"] = bt.movie_frames()[1][0]
    return out


def rings() -> np.ndarray:
    """A crowded frame with 40 ring-shaped cells, a hole and a small cell in each."""
    rng = np.random.default_rng(11)
    lab = bt.crowded(seed=3)
    yy, xx = np.mgrid[:80, :80]
    d2 = (yy - 40) ** 2 + (xx - 40) ** 2
    for k in range(40):
        r0, c0 = rng.integers(60, 1988, 2)
        sub = lab[r0 - 40 : r0 + 40, c0 - 40 : c0 + 40]
        sub[(d2 <= 900) & (d2 > 400)] = 9000 + k
        sub[d2 <= 400] = 0
        sub[d2 <= 4] = 9500 + k
    return lab


def outputs(want: Callable[[str], bool]) -> Any:
    """(name, array) of every output whose name ``want`` accepts."""
    every = frames()
    for fname, lab in every.items():
        for op, kws in (
            ("fill_holes", [{}]),
            ("grow", [{"radius": r} for r in (1, 2, 3, 5)]),
            ("shrink", [{"radius": r} for r in (1, 3)]),
            ("smooth", [{"radius": 2}]),
            ("remove_specks", [{"min_size": 30}]),
        ):
            for kw in kws:
                name = f"morph_{fname}_{op}_" + "_".join(f"{k}{v}" for k, v in kw.items())
                if want(name):
                    yield name, ops.morph_labels(lab, op, **kw)
    ringed = rings()
    if want("morph_rings"):
        yield "morph_rings_fill_holes", ops.morph_labels(ringed, "fill_holes")
        yield "morph_rings_grow3", ops.morph_labels(ringed, "grow", radius=3)
    blank = np.zeros((1, 1, 2048, 2048), np.uint16)
    for op, kw in (("fill_holes", {}), ("grow", {"radius": 3}), ("grow", {"radius": 1})):
        name = f"session_morph_roi_{op}_{kw.get('radius', 0)}"
        if want(name):
            s = segpaint.open(blank, axes="TCYX", populations=["cells"], journal=False)
            s.set_labels("cells", 0, every["crowd1"])
            s.morph("cells", 0, None, op, roi=(100, 900, 333, 1500), **kw)
            yield name, s.labels("cells", 0).copy()
            s.close()
    yield from copy_outputs(want, every)
    yield from refine_outputs(want, every["movie"])


def copy_outputs(want: Callable[[str], bool], every: dict[str, np.ndarray]) -> Any:
    """``Session.copy_labels`` (replace / fill-empty, whole frame and ROIs, three shifts of the
    source, a target with a few cells already there) and whole-frame ``Session.morph`` on a
    journaled session: the labels after, and after an undo and a redo."""
    blank = np.zeros((2, 1, 2048, 2048), np.uint16)
    lab = every["crowd1"]
    partial = np.where(np.isin(lab % 7, (0, 3)), lab, 0).astype(np.uint32)
    for shift in ((2, 3), (0, 0), (-9, 14)):
        for target_name, target in (("crowd0", every["crowd0"]), ("partial", partial)):
            for mode in ("replace", "fill-empty"):
                for roi_name, roi in (("all", None), ("roi", (100, 900, 333, 1500))):
                    name = f"copy_{mode}_{target_name}_s{shift[0]}_{shift[1]}_{roi_name}"
                    if not want(name):
                        continue
                    s = segpaint.open(blank, axes="TCYX", populations=["cells"], journal=False)
                    s.set_labels("cells", 1, np.roll(lab, shift, axis=(0, 1)))
                    s.set_labels("cells", 0, target)
                    s.copy_labels("cells", 1, 0, mode=mode, roi=roi)
                    yield name, s.labels("cells", 0).copy()
                    s.close()
    with tempfile.TemporaryDirectory() as folder:
        for op, kw in (("fill_holes", {}), ("grow", {"radius": 3}), ("smooth", {"radius": 2})):
            name = f"session_morph_journal_{op}"
            if not want(name):
                continue
            s = segpaint.open(blank, axes="TCYX", populations=["cells"],
                              journal=Path(folder) / f"{op}.bin")  # fmt: skip
            s.set_labels("cells", 0, lab)
            s.morph("cells", 0, None, op, **kw)
            yield name, s.labels("cells", 0).copy()
            s.undo()
            yield f"{name}_undone", s.labels("cells", 0).copy()
            s.redo()
            yield f"{name}_redone", s.labels("cells", 0).copy()
            s.close()


def refine_outputs(want: Callable[[str], bool], movie: np.ndarray) -> Any:
    lab = bt.crowded()
    lab6 = bt.crowded(n=6000, seed=5)
    image = bt.movie_frames()[0]
    cases = {
        "movie": (image, movie),
        "crowded": (bt.crowded_picture(lab)[None, None], lab),
        "crowd6000": (bt.crowded_picture(lab6)[None, None], lab6),
    }
    rois = {"roi": (768, 1280, 768, 1280), "roiedge": (0, 300, 1800, 2048)}
    options: list[tuple[str, dict[str, Any]]] = [("all", {})]
    options += [(k, {"roi": v}) for k, v in rois.items()]
    options += [(f"r{r}", {"radius": r}) for r in (5, 1, 2, 16)]
    for fname, (img, cells) in cases.items():
        for px in (2, 1, 3) if fname == "crowded" else (2, 1):
            start = bt.off_by(cells, px)
            n = ops.label_values(cells)
            runs = [*options, ("one", {"label": int(n[n.size // 2])})]
            for kw_name, kw in runs:
                name = f"refine_{fname}_off{px}_{kw_name}"
                if not want(name):
                    continue
                s = segpaint.open(img, axes="TCYX", populations=["cells"], journal=False)
                s.set_labels("cells", 0, start)
                s.refine("cells", 0, channels=[0], **kw)
                yield name, s.labels("cells", 0).copy()
                s.close()
    # the kernel: two float channels, labels above 65,535 and near 2**32, radii
    rng = np.random.default_rng(0)
    bright = rng.uniform(400, 1500, int(lab.max()) + 1)
    bright[0] = 0
    picture = ndi.gaussian_filter(bright[lab].astype(np.float32), 1.0) + 100
    picture += rng.normal(0, 20, lab.shape).astype(np.float32)
    sub = lab[:700, :600]
    two = np.stack([picture[:700, :600], picture[:700, :600][::-1]])
    big = np.where(sub > 0, sub + 100000, 0).astype(np.uint32)
    huge = np.where(sub > 0, sub.astype(np.uint64) + (2**32 - 4000), 0).astype(np.uint32)
    for cells, name in ((big, "big"), (sub, "small"), (huge, "huge")):
        for r in (1, 3, 6):
            if want(f"refine_kernel2ch_{name}_r{r}"):
                box, new = refine_module.refine_outlines(
                    two, bt.off_by(cells, 2), limits=[(100, 1500), (50, 1400)], radius=r
                )
                yield f"refine_kernel2ch_{name}_r{r}", new
                yield f"refine_kernel2ch_{name}_r{r}_box", np.array(box)
    # a few big cells: a thin band (fronts of pixels)
    yy, xx = np.mgrid[:1024, :1024]
    few = np.zeros((1024, 1024), np.uint32)
    disks = ((200, 200, 90), (600, 300, 150), (700, 800, 120), (150, 700, 60))
    for k, (r0, c0, rr) in enumerate(disks):
        few[(yy - r0) ** 2 + (xx - c0) ** 2 <= rr * rr] = k + 1
    blur = ndi.gaussian_filter(((few > 0) * 1000.0).astype(np.float32), 2)
    image_few = blur + rng.normal(0, 10, few.shape)
    for r in (2, 3, 8):
        if want(f"refine_kernel_few_r{r}"):
            found = refine_module.refine_outlines(
                image_few, bt.off_by(few, 4), limits=[(0, 1000)], radius=r
            )
            yield f"refine_kernel_few_r{r}", np.zeros(1) if found is None else found[1]


def main() -> None:
    if len(sys.argv) < 3 or sys.argv[1] not in ("save", "check"):
        raise SystemExit(__doc__)
    mode, folder = sys.argv[1], Path(sys.argv[2])
    part = sys.argv[3] if len(sys.argv) > 3 else ""
    folder.mkdir(parents=True, exist_ok=True)
    print(f"{mode}: segpaint from {segpaint.__file__}", flush=True)
    count = bad = 0
    for name, arr in outputs(lambda name: part in name):
        count += 1
        path = folder / f"{name}.npy"
        if mode == "save":
            np.save(path, arr)
            continue
        ref = np.load(path)
        if ref.dtype != arr.dtype or ref.shape != arr.shape or not np.array_equal(ref, arr):
            bad += 1
            diff = int((ref != arr).sum()) if ref.shape == arr.shape else -1
            print(f"DIFF {name}: {diff} px, dtypes {ref.dtype}/{arr.dtype}", flush=True)
    print(f"{mode}: {count} outputs, {bad} differences")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
