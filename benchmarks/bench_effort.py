"""Annotation effort with brush/eraser/fill only vs every assisted tool (issue 11), and tool speed.

A scripted annotator corrects a pre-segmentation against the ground truth through `Session`
methods and counts its actions (one click, one stroke, one key = one action).

Every action is counted (honest accounting, see `Annotator`): tool switches (a key), picking a
label ((a) picker + click, (b) Alt+click), ``m``, brush-size changes, every click/stroke/drag, and the undo (plus
the wasted attempt) after a tool that did not work.  Nothing is tried and undone for free: each
error type has one fixed policy, with fallbacks that cost actions.

* (a) ``brush``: brush, eraser and fill bucket only.  Missed cell: ``m``, an outline stroke
  (radius 1) along its true contour, a fill inside.  Merged pair: an eraser stroke along the
  interface, ``m``, a fill.  Split cell: pick the kept label, one fill per extra fragment.
  False cell: pick 0, fill.  Boundary error: one brush (the cell's label) or eraser stroke per
  error piece (radius = the piece's half thickness), largest piece first, stopping once the
  cell is fixed (IoU >= `FIX_IOU`, counted on the pixels: the user sees the outline is right,
  the rule every tool of (b) stops at too), or a redraw (fill 0, outline, fill) when that
  takes more than 3 strokes.  (Through 42ef260 every piece was painted and more than 3 pieces
  meant a redraw, in both modes; that run is in docs/performance.md.)
* (b) ``all``: every tool of the widget, used only as the widget offers it.  The chords
  replace switches: a label pick is Alt+click on the cell (one action, no tool switch), a
  deletion (a false cell, or a cell to redraw) is Ctrl+click on it (`Session.delete_label`,
  one action, no switch).  First, once per frame (before the first round, after the copy in
  the copy rows), one Shift+a (``refine`` on every cell of the frame: the whole-frame outline
  fix, one key, no tool switch since keys act whatever the tool).  The annotator looks at the
  result: if the frame got worse (more cells to fix, or as many and a lower mean matched IoU,
  or an outline now around two cells: more merged cells), one undo (counted); either way the
  rounds below follow.  (The merged-cells clause was added after the first measurement: there
  a copied cell that grew over a moved neighbour counted as fewer cells to fix, yet cost a
  split and its fallbacks; that run is in docs/performance.md.)  Then: missed cell (a dot of
  at most `TINY_PX` px, under 8 px across, is drawn as in (a) straight away): one click
  of the click tool on its background part (``segment_at``, a new label, which becomes
  active); if the result is not that cell (IoU < 0.5): undo, then the wand dragged the way a
  user does (from a tight tolerance, widened until just before the preview floods out; one
  drag; it paints the active label, so ``m`` first unless the active label is on no cell); if
  that fails too: undo and (a).  Merged pair: a cut (Shift-drag with the split tool,
  `Session.cut`: the cell is cut exactly along the drawn line) through the visible waist
  between the two nuclei, undone if a nucleus's part did not get a label of its own; then the
  split tool, one drag per extra part (its two ends are the seeds; the watershed follows the
  shown channels' edges, as the widget's split does); if a part is wrong: undo and (a).  A
  cell with another cell's blob in it (most of its wrong pixels are one piece, a quarter of
  the cell or more: a second nucleus inside the outline): a cut along the blob's edge and a
  Ctrl+click on the blob, undone if the cell got no better; what is left is seen next round.
  Boundary error: when the outline is uniformly 1-2 px too wide/narrow (visible), with the
  pointer on the cell (the morph keys act on the cell under the pointer: no pick) press ``t``
  (grow) or ``j`` (shrink) once per px until the cell is fixed, a too-wide outline that is
  visibly bumpy getting ``u`` (smooth) first (the widget's keys: 1 px a press; a press that
  made it worse is undone); when the cell is wrong mostly in one place (one error piece of
  3/4 of the wrong pixels), (a)'s strokes straight away (a stroke fixes one piece for sure);
  otherwise one click on the cell that re-segments it under the same label
  (``segment_at(label=...)``); undo if it got worse or is not that cell (IoU < 0.5); then
  (a)'s strokes for what is left.  After a
  click-tool result that is the right cell but not yet good (IoU 0.5..0.85): up to
  `REFINE_CLICKS` refinement clicks where the outline is most wrong (the NoC rule), each
  undone if it makes it worse; a positive click is only made where the widget takes it as one
  (on the cell, or on background within ``EDGE_PX`` = 3 px of it), else the refinement stops.
  `REFINE_CLICKS` is 2.  It was 0 from eb37983 to the merge of ``refine="watershed"`` as
  ``segment_at``'s default: under ``"level"``, 4 of the 7 such clicks on the nuclei were
  undone (132 actions against 104 without).  Under ``"watershed"`` (each refinement click
  fixes the part it lands in) the nuclei take 94 actions with 0 clicks, 98 with 1 and 90 with
  2; the synthetic rows are the same for 0 and 2 (33 and 114).  False cells:
  when 3 or more are smaller (specks) or larger (another population's nuclei) than every cell
  that is right (the label list shows sizes), the widget's "min px" / "max px" box typed at
  the middle of the size gap (one action; the boxes keep their value from frame to frame, so
  a value still in the gap is not typed again, and a left-over value that would delete a real
  cell is emptied first, one action) and Shift+q (one key: ``morph remove_specks`` on every
  cell with ``min_size`` / ``max_size``); the rest Ctrl+clicked.  Split cell: the merge tool,
  one drag from the kept fragment onto each other one (the widget merges the two cells under
  a drag's ends at once).
* Batching (both modes, fixed order): in each round (at most `MAX_PASSES`) the errors found
  at its start are fixed one tool at a time, each tool's pass over every cell that needs it,
  so a tool switch is paid once per pass, not per cell: (b) morph keys (Shift+q with the size
  boxes, then the 1-2 px bands) -> fill (false cells: (b) Ctrl+click; then split fragments
  with their kept label, (b) merge drags) -> (b) split tool (cuts of merged pairs and of extra
  blobs, then split drags) -> (b) click tool (missed cells, then re-segmented boundaries) -> (b) wand (the
  missed cells the click did not get) -> eraser (merged interfaces, boundary pieces outside
  the cell; a cell morphed but not enough skips the click pass and goes to the strokes,
  as its policy says) -> per cell: ``m`` + fill for the parts of merged cells, outline + fill for missed
  cells, brush strokes for boundary pieces inside the cell, redraws.  The last group stays per
  cell because each needs its own label (``m`` or a pick) and the brush-then-fill of one cell
  is cheaper than a pick per cell in two passes.  What a pass could not fix goes on to the
  next tool's pass.  The table reports tool switches and label picks on their own.
* Time-lapse (b) only, two extra rows: from the second frame on, first
  ``copy_labels(previous, frame, mode=...)`` (1 action) onto the frame's pre-segmentation,
  then the same policy for what is left: ``"fill-empty"`` (adds previous cells only where
  this frame has none) and ``"replace"`` (the frame becomes the corrected previous frame).
  (a) cannot copy, so it stays as is.  Cells to fix are counted on the pre-segmentation in
  every row, so actions per corrected cell compare.

In the widget: ``morph`` (keys i t j u q on the cell under the pointer, else the selected
cell; Shift for every cell; Shift+q with the "min px" / "max px" boxes), ``refine`` (a /
Shift+a), refinement clicks and a click-tool click on an existing cell re-segmenting it (the
click tool), ``cut`` (Shift-drag with the split tool), merge drags (the merge tool),
Ctrl+click (delete a cell) and Alt+click (pick its label).

Datasets: the synthetic time-lapse (targets and effectors, pre-segmentation = the default
threshold pipeline on the nuclei channel) and, when stardist is importable, its bundled nuclei
image with a degraded copy of the true masks as pre-segmentation.  Also NoC@85/NoC@90 of
``segment_at`` (clicks until a cell reaches IoU 0.85/0.90, at most 20; later clicks go to the
deepest point of the largest error, positive or negative) and every tool's time at 2048².

Run:  python benchmarks/bench_effort.py [--quick] [--no-timing] [--no-nuclei] [--picture]
      python benchmarks/bench_effort.py --only noc   (the NoC table alone, every refine mode)
Prints tables and writes benchmarks/results/effort.json.  Not a test: nothing fails on a figure.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage as ndi
from skimage.measure import find_contours
from skimage.morphology import disk, skeletonize

import segpaint
from segpaint import ops
from segpaint.data import synthetic_timelapse
from segpaint.metrics import match_instances
from segpaint.segment import segment
from segpaint.widgets._annotator import ASSIST_MORPH_RADIUS

RESULTS = Path(__file__).parent / "results"
FIX_IOU = 0.85  # the annotator fixes a matched cell whose IoU is below this
MAX_PASSES = 3
REFINE_CLICKS = 2  # (b): refinement clicks after a click-tool result that is close (see below)
WAND_START = 0.1  # the browser wand's starting tolerance (js/assist.js WAND_START)
EDGE_PX = 3  # a click this close to the refined cell is a positive click (js/assist_cells.js)
TINY_PX = 50  # (b): a missed cell this small (under 8 px across) is painted, not clicked


# ------------------------------------------------------------------------------ geometry
def centre(mask: np.ndarray) -> tuple[int, int]:
    """Deepest pixel of a mask: where an annotator clicks."""
    dist = ndi.distance_transform_edt(np.pad(mask, 1))[1:-1, 1:-1]
    r, c = np.unravel_index(int(np.argmax(dist)), mask.shape)
    return int(r), int(c)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = (a | b).sum()
    return float((a & b).sum() / union) if union else 1.0


def contour(mask: np.ndarray) -> np.ndarray:
    """The longest outline of a mask as (row, col) points (a closed polyline)."""
    lines = find_contours(np.pad(mask, 1).astype(float), 0.5)
    line = max(lines, key=len) - 1.0
    return np.vstack([line, line[:1]])


def stroke_through(piece: np.ndarray, around: tuple[float, float]) -> tuple[np.ndarray, float]:
    """A stroke covering an error piece: its skeleton in angular order, radius = half width."""
    dist = ndi.distance_transform_edt(np.pad(piece, 1))[1:-1, 1:-1]
    skel = skeletonize(piece)
    rr, cc = np.nonzero(skel if skel.any() else piece)
    order = np.argsort(np.arctan2(rr - around[0], cc - around[1]))
    points = np.stack([rr[order], cc[order]], axis=1).astype(float)
    if len(points) > 2:  # start after the widest gap, so the stroke never jumps across the cell
        gaps = np.hypot(*(np.roll(points, -1, axis=0) - points).T)
        points = np.roll(points, -(int(np.argmax(gaps)) + 1), axis=0)
    # a one-pixel-thin piece gets a one-pixel brush (radius 0.5): the annotator zooms in
    return points, max(0.5, float(dist.max()) - 0.5)


# ------------------------------------------------------------------------------ errors
def analyse(pred: np.ndarray, truth: np.ndarray) -> dict[str, list[Any]]:
    """Find false cells, merged cells, split cells, missed cells and boundary errors."""
    t_ids, t_inv = np.unique(truth, return_inverse=True)
    p_ids, p_inv = np.unique(pred, return_inverse=True)
    inter = np.bincount(
        t_inv.ravel() * len(p_ids) + p_inv.ravel(), minlength=len(t_ids) * len(p_ids)
    ).reshape(len(t_ids), len(p_ids))
    area_t, area_p = inter.sum(1), inter.sum(0)
    t0 = 1 if t_ids[0] == 0 else 0
    p0 = 1 if p_ids[0] == 0 else 0
    covers = inter[t0:, p0:] >= 0.5 * area_t[t0:, None]  # p holds most of t
    inside = inter[t0:, p0:] >= 0.5 * area_p[None, p0:]  # p lies mostly in t
    out: dict[str, list[Any]] = {k: [] for k in ("false", "merged", "split", "missed", "boundary")}
    merged_p = set()
    for j, p in enumerate(p_ids[p0:]):
        ts = [int(t_ids[t0 + i]) for i in np.flatnonzero(covers[:, j])]
        if len(ts) >= 2:
            out["merged"].append((int(p), ts))
            merged_p.add(j)
        elif not ts and not inside[:, j].any():
            out["false"].append(int(p))
    for i, t in enumerate(t_ids[t0:]):
        holders = [j for j in np.flatnonzero(covers[i]) if j not in merged_p]
        if np.flatnonzero(covers[i]).size and not holders:
            continue  # part of a merged cell
        fragments = [int(p_ids[p0 + j]) for j in np.flatnonzero(inside[i]) if j not in merged_p]
        if holders and int(p_ids[p0 + holders[0]]) not in fragments:
            fragments.append(int(p_ids[p0 + holders[0]]))
        if len(fragments) >= 2:
            out["split"].append((int(t), fragments))
            continue
        if holders:
            j = holders[0]
            value = inter[t0 + i, p0 + j] / (
                area_t[t0 + i] + area_p[p0 + j] - inter[t0 + i, p0 + j]
            )
            if value < FIX_IOU:
                out["boundary"].append((int(t), int(p_ids[p0 + j])))
            continue
        if len(fragments) == 1:
            out["boundary"].append((int(t), fragments[0]))
        else:
            out["missed"].append(int(t))
    return out


def n_cells_to_fix(pred: np.ndarray, truth: np.ndarray) -> int:
    """True cells without a match at IoU >= FIX_IOU, plus false cells: the corrected cells."""
    errors = analyse(pred, truth)
    return (
        len(errors["false"])
        + sum(len(ts) for _, ts in errors["merged"])
        + len(errors["split"])
        + len(errors["missed"])
        + len(errors["boundary"])
    )


# ------------------------------------------------------------------------------ annotator
class Annotator:
    """Corrects one frame of one population with a fixed policy, counting every action.

    The annotator has what a user of the Annotator widget has: an active tool, an active
    label and a brush size.  Costs (each is one action): a tool switch (its key), ``m`` (a new
    label, which becomes active), a brush-size change (``[``/``]`` or the slider), every click,
    stroke or drag, and every undo.  Picking an existing label (or 0) is, in (a), the picker
    tool (a switch) and a click on that cell; in (b), Alt+click on it (one action, no switch:
    the widget's eyedropper chord, whatever the tool).  Deleting a cell is, in (a), pick 0 and
    a fill-bucket click; in (b), Ctrl+click on it (one action, no switch: the widget's delete
    chord, `Session.delete_label`).  A chord needs the cell on the canvas: (b) picks a cell's
    label before deleting it for a redraw.  A tool that does not give a usable result is undone
    (Ctrl+Z), its attempt stays counted, and the fallback is paid in full.  No tool is tried
    and taken back for free.  ``actions`` counts by error kind, ``how`` by kind of action.
    """

    def __init__(
        self,
        session: segpaint.Session,
        population: str,
        frame: int,
        truth: np.ndarray,
        *,
        mode: str,
        channels: list[int | str] | None,
        boxes: dict[str, int] | None = None,
    ) -> None:
        self.s, self.pop, self.t, self.truth = session, population, frame, truth
        # the widget's "min px" / "max px" boxes: they keep their value from frame to frame
        self.boxes = boxes if boxes is not None else {"min": 0, "max": 0}
        self.mode, self.channels = mode, channels
        self.actions: Counter[str] = Counter()
        self.how: Counter[str] = Counter()
        self.tool: str | None = None
        self.active: int | None = None
        self.size = 1.0

    @property
    def lab(self) -> np.ndarray:
        return np.asarray(self.s.labels(self.pop, self.t))

    def total(self) -> int:
        return sum(self.actions.values())

    # what the user does ------------------------------------------------------------
    def act(self, kind: str, how: str, n: int = 1) -> None:
        self.actions[kind] += n
        self.how[how] += n

    def use(self, tool: str, kind: str) -> None:
        if self.tool != tool:
            self.tool = tool
            self.act(kind, "tool switch")

    def pick(self, label: int, kind: str) -> None:
        """Make ``label`` the active one: (a) the picker tool and a click on that label; (b)
        Alt+click on it (a chord: whatever the tool, no switch).  Either way a pixel of that
        label (or of background, for 0) must be on the canvas to click."""
        if self.active == label:
            return
        if self.mode == "all":
            if not (self.lab == label).any():
                raise AssertionError(f"policy: Alt+click on label {label}, which is not shown")
            self.act(kind, "Alt+click (pick)")
        else:
            self.use("picker", kind)
            self.act(kind, "pick label")
        self.active = label

    def new(self, kind: str) -> int:
        value = self.s.new_label(self.pop)
        self.act(kind, "m (new label)")
        self.active = value
        return value

    def brush_size(self, radius: float, kind: str) -> None:
        if abs(radius - self.size) > 0.25:
            self.size = radius
            self.act(kind, "brush size")

    def undo(self, kind: str) -> None:
        self.s.undo()
        self.act(kind, "undo")

    def stroke(self, points: np.ndarray, radius: float, value: int, kind: str) -> None:
        """A brush stroke with the active label, or an eraser stroke when ``value`` is 0."""
        if value:
            self.pick(value, kind)
            self.use("brush", kind)
        else:
            self.use("eraser", kind)
        self.brush_size(radius, kind)
        self.s.paint(self.pop, self.t, points, radius, value, preserve_labels=value != 0)
        self.act(kind, "stroke")

    def fill(self, seed: tuple[int, int], value: int, kind: str) -> None:
        self.pick(value, kind)
        self.use("fill", kind)
        self.s.fill(self.pop, self.t, seed, value)
        self.act(kind, "click")

    # (a) brush / eraser / fill -------------------------------------------------------
    def draw_cell(self, mask: np.ndarray, value: int, kind: str) -> None:
        """Outline stroke (radius 1) along the true contour, then a fill inside."""
        self.stroke(contour(mask), 1.0, value, kind)
        seed = centre(mask)
        if self.lab[seed] == 0:
            _, fill = ops.fill_mask(self.lab, seed)
            if fill.sum() <= 3 * mask.sum():
                self.fill(seed, value, kind)
            else:  # the outline is not closed (a neighbour in the way): paint the inside
                points, radius = stroke_through(mask, seed)
                self.stroke(points, radius, value, kind)

    def brush_missed(self, t: int) -> None:
        value = self.new("missed")
        self.draw_cell(self.truth == t, value, "missed")

    def erase_merged(self, p: int, ts: list[int]) -> None:
        """Merged pair, eraser pass: one stroke along each interface between the true cells."""
        ts = sorted(ts, key=lambda v: -(self.truth == v).sum())
        for t in ts[1:]:
            others = np.isin(self.truth, [v for v in ts if v != t])
            line = ndi.binary_dilation(self.truth == t) & others & (self.lab == p)
            if line.any():
                rr, cc = np.nonzero(line)
                axis = np.linalg.svd(np.stack([rr - rr.mean(), cc - cc.mean()]), False)[0][:, 0]
                order = np.argsort(axis[0] * rr + axis[1] * cc)
                self.stroke(np.stack([rr[order], cc[order]], 1), 1.0, 0, "merged")

    def label_merged(self, p: int, ts: list[int]) -> None:
        """Merged pair, fill pass: ``m`` and one fill per part cut off by the eraser."""
        ts = sorted(ts, key=lambda v: -(self.truth == v).sum())
        for t in ts[1:]:
            part = (self.truth == t) & (self.lab == p)
            value = self.new("merged")
            if part.any():
                self.fill(centre(part), value, "merged")

    def fill_split(self, t: int, fragments: list[int]) -> None:
        keep = max(fragments, key=lambda v: (self.lab == v).sum())
        for p in fragments:
            if p != keep:
                self.fill(centre(self.lab == p), keep, "split")

    def merge_split(self, t: int, fragments: list[int]) -> None:
        """(b): the merge tool, one drag from the largest fragment onto each other one (the
        widget merges the two cells under the drag's ends at once; the smaller label keeps
        the union)."""
        keep = max(fragments, key=lambda v: (self.lab == v).sum())
        for p in fragments:
            if p != keep and self.alive(p) and self.alive(keep):
                self.use("merge", "split")
                self.s.merge(self.pop, self.t, [keep, p])
                self.act("split", "drag")
                keep = min(keep, p)

    def delete(self, p: int, kind: str = "false") -> None:
        """Delete a cell: (a) pick 0 and the fill bucket; (b) Ctrl+click on it
        (`Session.delete_label`: every pixel of the label; a chord, no tool switch)."""
        if self.mode == "all":
            self.s.delete_label(self.pop, self.t, p)
            self.act(kind, "Ctrl+click (delete)")
        else:
            self.fill(centre(self.lab == p), 0, kind)

    def boundary_pieces(self, t: int, p: int) -> list[tuple[int, np.ndarray]] | None:
        """The error pieces of a badly bounded cell to paint (value, mask), largest first, as
        many as it takes to reach `FIX_IOU` (counted on the pixels: the user stops when the
        outline looks right); None: redraw it (more than 3 strokes needed)."""
        cell = self.truth == t
        lab = self.lab
        mine = lab == p
        pieces = []
        for wanted, mask in ((p, cell & (lab == 0)), (0, mine & ~cell)):
            parts, n = ndi.label(mask, np.ones((3, 3)))
            sizes = np.bincount(parts.ravel())[1:]
            pieces += [(int(sizes[k]), wanted, parts == k + 1) for k in range(n) if sizes[k] >= 3]
        inter, union = int((cell & mine).sum()), int((cell | mine).sum())
        chosen = []
        for size, wanted, mask in sorted(pieces, key=lambda x: -x[0]):
            if inter >= FIX_IOU * union:
                break
            chosen.append((wanted, mask))
            if wanted == p:
                inter += size
            else:
                union -= size
        return None if len(chosen) > 3 else chosen

    def one_piece(self, t: int, p: int) -> bool:
        """The outline is wrong mostly in one place (a blob too many or a bite out: one error
        piece of at least 3/4 of the wrong pixels)."""
        pieces = self.boundary_pieces(t, p)
        if not pieces:
            return False
        sizes = [int(m.sum()) for _, m in pieces]
        return max(sizes) >= 0.75 * sum(sizes)

    def paint_pieces(self, t: int, pieces: list[tuple[int, np.ndarray]], value: int) -> None:
        """One stroke per piece that gets ``value`` (0: the eraser pass, a label: the brush)."""
        around = centre(self.truth == t)
        for wanted, piece in pieces:
            if wanted == value:
                points, radius = stroke_through(piece, around)
                self.stroke(points, radius, wanted, "boundary")

    def redraw(self, t: int, p: int) -> None:
        """More than 3 error pieces: delete the cell, outline it, fill it.  (b): Alt+click the
        cell first (while it is still there to click: its label becomes active), then Ctrl+click
        deletes it."""
        if self.mode == "all":
            self.pick(p, "boundary")
        self.delete(p, "boundary")
        self.draw_cell(self.truth == t, p, "boundary")

    # (b) every tool ----------------------------------------------------------------
    def wand_tolerance(self, seed: tuple[int, int]) -> float:
        """Where a user stops dragging the wand: from a tight tolerance, widen while the
        preview grows smoothly; stop at the step before it floods out (area x1.5 in one step
        of 0.01).  Only the preview is looked at, never the truth."""
        image = self.s.image(self.t, self.channels)
        limits = ops.default_limits(image)
        tol, area = WAND_START, None
        for step in np.arange(0.01, 0.6, 0.01):
            _, mask = ops.wand_mask(image, seed, float(step), limits=limits)
            n = int(mask.sum())
            if area is not None and n > 1.5 * area and n > 50:
                break
            tol, area = float(step), n
        return tol

    def refine(self, seed: tuple[int, int], value: int, cell: np.ndarray, kind: str) -> None:
        """Up to ``REFINE_CLICKS`` refinement clicks where the outline is most wrong (the
        NoC protocol: the user sees where; a click along the edge moves the edge).  Each is
        one click and one undo step; a click that makes it worse is undone (one more)."""
        pos: list[tuple[int, int]] = []
        neg: list[tuple[int, int]] = []
        for _ in range(REFINE_CLICKS):
            now = iou(self.lab == value, cell)
            if now >= FIX_IOU:
                return
            nxt = next_click(self.lab == value, cell)
            if nxt is None or (nxt[1] and not self.refines(nxt[0], value)):
                return  # the widget would start a new cell there, not refine this one
            (pos if nxt[1] else neg).append(nxt[0])
            change = self.s.segment_at(
                self.pop, self.t, seed, label=value, channels=self.channels,
                positive=pos, negative=neg,
            )  # fmt: skip
            self.act(kind, "click")
            if change is not None and iou(self.lab == value, cell) < now:
                self.undo(kind)
                return

    def refines(self, point: tuple[int, int], value: int) -> bool:
        """Is a plain click at ``point`` a positive refinement click of cell ``value`` in the
        widget (js/assist_cells.js)?  On the cell, or on background within `EDGE_PX` of it."""
        lab = self.lab
        if lab[point] == value:
            return True
        if lab[point] != 0:
            return False
        r, c = point
        return bool(
            (lab[max(r - EDGE_PX, 0) : r + EDGE_PX + 1, max(c - EDGE_PX, 0) : c + EDGE_PX + 1]
             == value).any()
        )  # fmt: skip

    def click_missed(self, t: int) -> bool:
        """Click pass: one click of the click tool (a new label, as in the widget), then
        refinement clicks; undone when it is not that cell (IoU < 0.5).  True: done."""
        cell = self.truth == t
        free = cell & (self.lab == 0)  # a click on another cell would re-segment that cell
        if not free.any():
            return False
        seed = centre(free)
        self.use("click", "missed")
        change = self.s.segment_at(self.pop, self.t, seed, channels=self.channels)
        self.act("missed", "click")
        if change is None:
            return False
        value = int(self.lab[seed])  # the region always holds the click
        self.active = value
        if iou(self.lab == value, cell) >= 0.5:
            self.refine(seed, value, cell, "missed")
            return True  # right cell; below FIX_IOU the next pass's boundary fixes finish it
        self.undo("missed")
        return False

    def wand_missed(self, t: int) -> bool:
        """Wand pass: one drag, the way a user widens it (`wand_tolerance`).  True: done."""
        cell = self.truth == t
        seed = centre(cell)
        self.use("wand", "missed")
        # the wand paints the active label: ``m`` first, unless the active label is on no cell
        # (a click-tool cell undone just before leaves its label active and unused)
        if self.active and not (self.lab == self.active).any():
            value = self.active
        else:
            value = self.new("missed")
        tol = self.wand_tolerance(seed)
        change = self.s.wand(self.pop, self.t, seed, tol, label=value, channels=self.channels,
                             preserve_labels=True)  # fmt: skip
        self.act("missed", "drag")
        if change is not None and iou(self.lab == value, cell) >= 0.5:
            self.active = value
            return True
        if change is not None:
            self.undo("missed")
        return False

    def cut_line(
        self, keep: np.ndarray, other: np.ndarray, region: np.ndarray
    ) -> np.ndarray | None:
        """Where a user draws a cut between two visible blobs of one cell (``region``):
        through the waist between them (the pixels of ``region`` nearer ``other`` that touch
        those nearer ``keep``; (a)'s eraser line of a merged pair is the same), in order around
        ``other``'s centre from the widest gap, carried 3 px past both ends so that it reaches
        the background."""
        to_keep = ndi.distance_transform_edt(~keep)
        to_other = ndi.distance_transform_edt(~other)
        near_other = region & (to_other < to_keep)
        line = near_other & ndi.binary_dilation(region & ~near_other)
        if line.sum() < 2:
            return None
        rr, cc = np.nonzero(line)
        orr, occ = np.nonzero(other)
        order = np.argsort(np.arctan2(rr - orr.mean(), cc - occ.mean()))
        points = np.stack([rr[order], cc[order]], 1).astype(float)
        gaps = np.hypot(*(np.roll(points, -1, axis=0) - points).T)
        points = np.roll(points, -(int(np.argmax(gaps)) + 1), axis=0)
        ends = []
        for tip, before in (
            (points[0], points[min(2, len(points) - 1)]),
            (points[-1], points[max(-3, -len(points))]),
        ):
            step = tip - before
            ends.append(tip + 3 * step / max(float(np.hypot(*step)), 1e-9))
        limit = np.array(self.truth.shape) - 1
        points = np.vstack([np.clip(ends[0], 0, limit), points, np.clip(ends[1], 0, limit)])
        return np.round(points).astype(int)

    def cut(self, line: np.ndarray | None, kind: str) -> bool:
        """One Shift-drag of the split tool along ``line`` (`Session.cut`); False when the
        line cut nothing (the widget says why; the drag is counted, nothing to undo)."""
        self.use("split", kind)
        self.act(kind, "drag")
        if line is None:
            return False
        try:
            return self.s.cut(self.pop, self.t, line) is not None
        except ValueError:
            return False

    def cut_merged(self, p: int, ts: list[int]) -> bool:
        """Cut pass, a merged pair: one cut through the visible waist between the two nuclei;
        undone when a nucleus's part of the cell did not get a label of its own (IoU < 0.5).
        True: done (what is still wrong with either cell is fixed in the next round)."""
        if len(ts) != 2:
            return False
        region = self.lab == p
        a, b = ((self.truth == t) & region for t in ts)
        if not self.cut(self.cut_line(a, b, region), "merged"):
            return False
        lab = self.lab  # each nucleus's part of the cell went to its own label (what is seen)
        if all(iou((lab == lab[centre(m)]) & region, m) >= 0.5 for m in (a, b)):
            return True
        self.undo("merged")
        return False

    def cut_off(self, t: int, p: int) -> bool:
        """Cut pass, a cell with a whole extra blob in it (a nucleus of the other population,
        a second bright blob inside the outline: most (60 %) of the wrong pixels are that piece,
        a quarter of the cell or more): one cut along the blob's edge, then Ctrl+click on the
        blob (a chord).  Both undone if the cell did not get better.  True: kept (what is left
        to fix is seen afresh in the next round)."""
        cell = self.truth == t
        lab = self.lab
        mine = lab == p
        start = iou(mine, cell)
        parts, n = ndi.label(mine & ~cell)
        if n == 0 or not (cell & mine).any():
            return False
        sizes = np.bincount(parts.ravel())[1:]
        big = parts == int(np.argmax(sizes)) + 1
        if big.sum() < 0.25 * mine.sum() or big.sum() < 0.6 * (mine ^ cell).sum():
            return False
        if not self.cut(self.cut_line(cell & mine, big, mine), "boundary"):
            return False
        blob = int(np.bincount(self.lab[big]).argmax())
        if blob not in (0, p):
            self.s.delete_label(self.pop, self.t, blob)
            self.act("boundary", "Ctrl+click (delete)")
        if iou(self.lab == p, cell) > start:
            return True
        if blob not in (0, p):
            self.undo("boundary")
        self.undo("boundary")
        return False

    def split_merged(self, p: int, ts: list[int]) -> bool:
        """Split pass: one drag per extra part (its two ends are the seeds; the cut follows
        the shown channels' edges, as the widget's split does).  True: done."""
        seeds = [centre((self.truth == t) & (self.lab == p)) for t in ts]
        self.use("split", "merged")
        # the widget splits along the shown channels' edges (all channels when none is chosen)
        shown = self.channels if self.channels is not None else list(range(self.s.n_channels))
        change = self.s.split(self.pop, self.t, p, seeds, channels=shown)
        self.act("merged", "drag", len(ts) - 1)
        lab = self.lab
        ok = change is not None and all(
            iou(lab == lab[sd], self.truth == t) >= 0.5 for sd, t in zip(seeds, ts, strict=True)
        )
        if not ok and change is not None:
            self.undo("merged")
        return ok

    def band(self, cell: np.ndarray, mine: np.ndarray) -> tuple[str, int] | None:
        """The outline is uniformly too wide or too narrow by 1 or 2 px (visible)."""
        inter = (cell & mine).sum()
        perimeter = max(1.0, float((cell & ~ndi.binary_erosion(cell)).sum()))
        if inter >= 0.97 * cell.sum() and mine.sum() > cell.sum():
            r = round((mine.sum() - cell.sum()) / perimeter)
            return ("shrink", r) if 1 <= r <= 2 else None
        if inter >= 0.97 * mine.sum() and cell.sum() > mine.sum():
            r = round((cell.sum() - mine.sum()) / perimeter)
            return ("grow", r) if 1 <= r <= 2 else None
        return None

    def bumpy(self, p: int) -> bool:
        """Is the cell's outline visibly bumpy?  An opening by a 2 px disk (what ``u`` does)
        would take off more than a tenth of a pixel per outline pixel (looked at on the
        labels only)."""
        mine = np.pad(self.lab == p, 3)
        opened = ndi.binary_opening(mine, structure=disk(2))
        perimeter = max(1.0, float((mine & ~ndi.binary_erosion(mine)).sum()))
        return bool((mine & ~opened).sum() > 0.1 * perimeter)

    def morph_boundary(self, t: int, p: int) -> bool | None:
        """Morph pass: the whole outline is off by 1-2 px.  As in the widget: with the pointer
        on the cell (the keys act on the cell under the pointer, no pick), press its key (``t``
        grow, ``j`` shrink: `ASSIST_MORPH_RADIUS` px a press, one undo step each) once per px,
        stopping once the cell is fixed; a too-wide outline that is visibly bumpy gets ``u``
        (smooth) first, which takes the bumps off, before any shrink.  Keys
        act whatever the tool, so no switch.  A press that made it worse is undone.  True: the
        cell is fixed; False: tried, not enough (the strokes finish it); None: not a band (the
        click pass)."""
        cell = self.truth == t
        fix = self.band(cell, self.lab == p)
        if fix is None:
            return None
        op, radius = fix
        now = iou(self.lab == p, cell)
        presses = [op] * (radius // ASSIST_MORPH_RADIUS[op])
        if op == "shrink" and self.bumpy(p):
            presses = ["smooth", *presses]
        for key in presses:
            before = now
            change = self.s.morph(self.pop, self.t, p, key, radius=ASSIST_MORPH_RADIUS[key])
            self.act("boundary", "morph key")
            now = iou(self.lab == p, cell)
            if now >= FIX_IOU:
                break  # fixed (the rule every tool stops at)
            if change is not None and now < before:
                self.undo("boundary")
                now = before
                if key != "smooth":
                    break
        return now >= FIX_IOU

    def click_boundary(self, t: int, p: int) -> bool:
        """Click pass: one click re-segments the cell under its label (no pick: it acts on
        the cell under the click), then refinement clicks; undone if it got worse or is not
        that cell.  True: the cell is fixed."""
        cell = self.truth == t
        start = iou(self.lab == p, cell)
        # the click must land on the cell: the widget re-segments the cell under the click
        mine = cell & (self.lab == p)
        if not mine.any():
            return False
        seed = centre(cell) if self.lab[centre(cell)] == p else centre(mine)
        self.use("click", "boundary")
        change = self.s.segment_at(self.pop, self.t, seed, label=p, channels=self.channels)
        self.act("boundary", "click")
        if change is not None and iou(self.lab == p, cell) >= max(start, 0.5):
            self.refine(seed, p, cell, "boundary")
        now = iou(self.lab == p, cell)
        if now >= FIX_IOU:
            return True
        if change is not None and (now < start or now < 0.5):  # worse, or not that cell
            self.undo("boundary")
        return False

    def size_filter(self, errors: dict[str, list[Any]]) -> None:
        """(b): Shift+q with the "min px" / "max px" boxes (``morph remove_specks`` on every
        cell with ``min_size`` / ``max_size``: one key, whatever the tool) when at least 3
        false cells are smaller (specks) or larger (another population's nuclei) than every
        cell that is right (the label list shows sizes; the user sees which cells are right).
        A box is typed (one action) only when its value, kept from the frame before as in the
        widget, does not fall in the gap; then at the gap's middle, a round number a user would
        type.  A box left from before that would delete a cell that is not false is emptied
        (one action) first."""
        lab = self.lab
        areas = np.bincount(lab.ravel())
        false = set(errors["false"])
        wrong = false | {p for p, _ in errors["merged"]} | {p for _, p in errors["boundary"]}
        wrong |= {p for _, ps in errors["split"] for p in ps}
        present = [int(p) for p in np.flatnonzero(areas)[1:] if p]
        good = [areas[p] for p in present if p not in wrong]
        if not good:
            return
        low, high = int(min(good)), int(max(good))
        specks = [int(areas[p]) for p in false if areas[p] and areas[p] < low]
        bigs = [int(areas[p]) for p in false if areas[p] > high]
        real = [int(areas[p]) for p in present if p not in false]
        want = {"min": len(specks) >= 3, "max": len(bigs) >= 3}
        if not any(want.values()):
            return
        for box, wanted in want.items():
            value = self.boxes[box]
            if wanted:
                lo, hi = (max(specks) + 1, low) if box == "min" else (high, min(bigs) - 1)
                if not (value and lo <= value <= hi):  # type the gap's middle
                    self.boxes[box] = (lo + hi) // 2
                    self.act("false", f"{box} px")
            elif value and any((a < value) if box == "min" else (a > value) for a in real):
                self.boxes[box] = 0  # it would delete a real cell: emptied
                self.act("false", f"{box} px")
        self.s.morph(
            self.pop, self.t, None, "remove_specks",
            min_size=self.boxes["min"], max_size=self.boxes["max"] or None,
        )  # fmt: skip
        self.act("false", "morph key")

    def snap_frame(self) -> None:
        """(b), once per frame: Shift+a (``refine`` every cell), undone if the frame got worse
        (more cells to fix, or as many and a lower mean matched IoU, or more merged cells)."""
        before = self.lab.copy()
        change = self.s.refine(self.pop, self.t, channels=self.channels)
        self.act("boundary", "snap outlines (A)")
        if change is None:
            return
        after = self.lab
        n0, n1 = n_cells_to_fix(before, self.truth), n_cells_to_fix(after, self.truth)
        merged0 = len(analyse(before, self.truth)["merged"])
        merged1 = len(analyse(after, self.truth)["merged"])
        lower = score(after, self.truth)[1] < score(before, self.truth)[1]
        if n1 > n0 or (n1 == n0 and lower) or merged1 > merged0:
            self.undo("boundary")

    # the loop -------------------------------------------------------------------
    def alive(self, p: int) -> bool:
        return bool((self.lab == p).any())

    def run(self) -> None:
        """Up to `MAX_PASSES` rounds; in each, one pass per tool (see the module docstring)."""
        assisted = self.mode == "all"
        if assisted:
            self.snap_frame()
        for _ in range(MAX_PASSES):
            errors = analyse(self.lab, self.truth)
            if not any(errors.values()):
                return
            merged, missed, boundary = errors["merged"], errors["missed"], errors["boundary"]
            banded: list[tuple[int, int]] = []  # morphed, not enough: strokes, no click
            if assisted:  # morph pass
                self.size_filter(errors)
                todo = []
                for t, p in boundary:
                    if not self.alive(p):
                        continue
                    done = self.morph_boundary(t, p)
                    if done is None:
                        todo.append((t, p))
                    elif not done:
                        banded.append((t, p))
                boundary = todo
            # fill pass (label 0, then the kept fragments)
            for p in errors["false"]:
                if self.alive(p):
                    self.delete(p)
            for t, fragments in errors["split"]:  # (b): merge drags
                alive = [p for p in fragments if self.alive(p)]
                (self.merge_split if assisted else self.fill_split)(t, alive)
            if assisted:  # split pass, click pass, wand pass
                # cut pass (the split tool, Shift-drag): merged pairs, cells with an extra
                # blob; then split drags for the merged cells the cut did not part
                merged = [(p, ts) for p, ts in merged if not self.cut_merged(p, ts)]
                boundary = [(t, p) for t, p in boundary if not self.cut_off(t, p)]
                merged = [
                    (p, ts) for p, ts in merged if self.alive(p) and not self.split_merged(p, ts)
                ]
                # a tiny missed cell (a dot under 8 px across, visible) is painted, not clicked
                tiny = [t for t in missed if (self.truth == t).sum() <= TINY_PX]
                missed = [t for t in missed if t not in tiny and not self.click_missed(t)]
                # wrong mostly in one place (a blob too many, a bite out): a stroke fixes it for
                # sure, a click is a gamble, so such cells go straight to the strokes
                boundary = [
                    (t, p)
                    for t, p in boundary
                    if self.alive(p) and (self.one_piece(t, p) or not self.click_boundary(t, p))
                ]
                missed = [t for t in missed if not self.wand_missed(t)] + tiny
                boundary = banded + boundary
            # eraser pass: merged interfaces, boundary pieces outside the cell
            merged = [(p, ts) for p, ts in merged if self.alive(p)]
            for p, ts in merged:
                self.erase_merged(p, ts)
            plans = [(t, p, self.boundary_pieces(t, p)) for t, p in boundary if self.alive(p)]
            for t, _, pieces in plans:
                if pieces is not None:
                    self.paint_pieces(t, pieces, 0)
            # per cell (the label matters: m or a pick each): fills, outlines, brush strokes
            for p, ts in merged:
                self.label_merged(p, ts)
            for t in missed:
                self.brush_missed(t)
            for t, p, pieces in plans:
                if pieces is None:
                    self.redraw(t, p)
                else:
                    self.paint_pieces(t, pieces, p)


def next_click(pred: np.ndarray, truth: np.ndarray) -> tuple[tuple[int, int], bool] | None:
    """The deepest point of the largest error: (point, positive?) as in the NoC protocol."""
    best = None
    for positive, err in ((True, truth & ~pred), (False, pred & ~truth)):
        if not err.any():
            continue
        dist = ndi.distance_transform_edt(np.pad(err, 1))[1:-1, 1:-1]
        k = int(np.argmax(dist))
        if best is None or dist.flat[k] > best[0]:
            best = (float(dist.flat[k]), np.unravel_index(k, err.shape), positive)
    if best is None:
        return None
    return (int(best[1][0]), int(best[1][1])), best[2]


# ------------------------------------------------------------------------------ runs
def score(pred: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    m = match_instances(truth, pred, iou_threshold=0.5)
    return m.f1, m.mean_matched_iou


def correct_movie(
    make_session: Callable[[], segpaint.Session],
    population: str,
    truth: np.ndarray,
    preseg: np.ndarray,
    *,
    mode: str,
    channels: list[int | str] | None,
    copy: str | None = None,
) -> dict[str, Any]:
    """Correct every frame of ``preseg`` (T, Y, X) from its own pre-segmentation.

    ``copy`` (mode "all" only): from the second frame on, first ``copy_labels(previous,
    frame, mode=copy)`` (one action, kind "copy"), then correct what is left.  The cells to
    fix are always counted on the pre-segmentation, so the rows compare.
    """
    session = make_session()
    actions: Counter[str] = Counter()
    how: Counter[str] = Counter()
    to_fix = 0
    boxes = {"min": 0, "max": 0}  # the widget's size boxes, kept across frames
    for t in range(len(preseg)):
        session.set_labels(population, t, preseg[t])
        to_fix += n_cells_to_fix(preseg[t], truth[t])
        if copy is not None and t > 0:
            session.copy_labels(population, t - 1, t, mode=copy)
            actions["copy"] += 1
            how["copy labels"] += 1
        annotator = Annotator(
            session, population, t, truth[t], mode=mode, channels=channels, boxes=boxes
        )
        annotator.run()
        actions.update(annotator.actions)
        how.update(annotator.how)
    final = np.asarray(session.labels(population))
    f1s, ious = zip(*(score(final[t], truth[t]) for t in range(len(final))), strict=True)
    total = sum(actions.values())
    return {
        "labels": final,  # popped before the JSON is written
        "mode": mode if copy is None else f"{mode}, copy {copy}",
        "actions": total,
        "tool_switches": how["tool switch"],
        "label_picks": how["pick label"] + how["Alt+click (pick)"],
        "chords": how["Alt+click (pick)"] + how["Ctrl+click (delete)"],
        "by_kind": dict(actions),
        "by_action": dict(how),
        "cells_to_fix": to_fix,
        "actions_per_corrected_cell": total / max(to_fix, 1),
        "f1": float(np.mean(f1s)),
        "mean_iou": float(np.mean(ious)),
    }


def nuclei_image(what: str) -> tuple[np.ndarray, np.ndarray] | None:
    """StarDist's bundled nuclei image and its truth (labels 1..N), or None (and a line
    saying ``what`` is skipped) when stardist does not import."""
    try:
        from stardist.data import test_image_nuclei_2d
    except ImportError:
        print(f"stardist not importable: {what} skipped", file=sys.stderr)
        return None
    image, mask = test_image_nuclei_2d(return_mask=True)
    return np.asarray(image), ops.relabel_sequential(np.asarray(mask))


def click_walk(
    truth: np.ndarray,
    t: int,
    tb: tuple[int, int, int, int],
    click: Callable[[list[tuple[int, int]], list[tuple[int, int]]], Any],
    *,
    max_clicks: int,
) -> tuple[int, int, float]:
    """Click one true cell until its IoU reaches 0.90: (NoC@85, NoC@90, first click's IoU).

    ``click(positive, negative)`` re-segments the cell with the refinement clicks so far and
    returns its (bbox, mask) or None; ``t`` is the cell's label in ``truth``.  Each next click goes at the deepest point of the
    largest error (`next_click`); IoU and the next click are computed in the box holding the
    cell (``tb``) and the result, 2 px wider (the same figures as on the whole frame, faster).
    """
    shape = truth.shape
    pos: list[tuple[int, int]] = []
    neg: list[tuple[int, int]] = []
    hit85 = hit90 = max_clicks
    first = 0.0
    for k in range(1, max_clicks + 1):
        found = click(pos, neg)
        fb = found[0] if found is not None else tb
        box = (max(min(tb[0], fb[0]) - 2, 0), min(max(tb[1], fb[1]) + 2, shape[0]),
               max(min(tb[2], fb[2]) - 2, 0), min(max(tb[3], fb[3]) + 2, shape[1]))  # fmt: skip
        cell = truth[ops.bbox_slices(box)] == t
        got = np.zeros(cell.shape, bool)
        if found is not None:
            got[fb[0] - box[0] : fb[1] - box[0], fb[2] - box[2] : fb[3] - box[2]] = found[1]
        value = iou(got, cell)
        if k == 1:
            first = value
        if value >= 0.85:
            hit85 = min(hit85, k)
        if value >= 0.90:
            hit90 = k
            break
        nxt = next_click(got, cell)
        if nxt is None:
            break
        (pos if nxt[1] else neg).append((nxt[0][0] + box[0], nxt[0][1] + box[2]))
    return hit85, hit90, first


def noc(
    image: np.ndarray,
    truth: np.ndarray,
    *,
    limits: list[tuple[float, float]],
    max_clicks: int = 20,
    halves: bool = False,
    **params: Any,
) -> dict[str, Any]:
    """NoC@85 / NoC@90 of region_at over every true cell (single frame, (C, Y, X) image).

    The first click goes at the cell's deepest pixel (`centre`), each next one at the deepest
    point of the largest error (`next_click`).  IoU and the next click are computed in the
    box holding the cell and the result (the same figures as on the whole frame, faster).
    ``halves``: also the same figures for the cells whose first click is in the left half of
    the image (where region_at's constants were tuned) and in the right half (held out), and
    how many cells still miss 0.85 after ``max_clicks``.  ``stuck``: those cells (label in
    ``truth``, first click, area, first click's IoU).
    """
    clicks85, clicks90, first, sides, stuck = [], [], [], [], []
    boxes = ndi.find_objects(truth)
    shape = truth.shape
    for t in np.unique(truth)[1:]:
        sl = boxes[int(t) - 1]
        assert sl is not None
        tb = (sl[0].start, sl[0].stop, sl[1].start, sl[1].stop)
        r, c = centre(truth[sl] == t)
        seed = (r + tb[0], c + tb[2])
        sides.append("left" if seed[1] < shape[1] / 2 else "right")
        hit85, hit90, first_iou = click_walk(
            truth,
            int(t),
            tb,
            lambda pos, neg, seed=seed: ops.region_at(
                image, seed, positive=pos, negative=neg, limits=limits, **params
            ),
            max_clicks=max_clicks,
        )
        clicks85.append(hit85)
        clicks90.append(hit90)
        first.append(first_iou)
        if hit85 >= max_clicks:
            stuck.append({"label": int(t), "seed": [int(seed[0]), int(seed[1])],
                          "area": int(np.sum(truth[sl] == t)), "first_click_iou": first_iou})  # fmt: skip

    out: dict[str, Any] = noc_figures(clicks85, clicks90, first, max_clicks=max_clicks)
    out["per_cell"] = {"noc85": clicks85, "noc90": clicks90, "first_click_iou": first}
    out["stuck"] = stuck
    if halves:
        side = np.array(sides)
        out["halves"] = {}
        for h in ("left", "right"):
            picked = [np.array(x)[side == h] for x in (clicks85, clicks90, first)]
            out["halves"][h] = noc_figures(*picked, max_clicks=max_clicks)
    return out


def noc_figures(
    clicks85: Any, clicks90: Any, first: Any, *, max_clicks: int = 20
) -> dict[str, Any]:
    """The NoC table's figures from per-cell clicks to 0.85 / 0.90 and first-click IoUs."""
    n85, f = np.asarray(clicks85), np.asarray(first)
    return {
        "cells": int(n85.size),
        "noc85": float(np.mean(n85)),
        "noc90": float(np.mean(np.asarray(clicks90))),
        "first_click_iou_mean": float(np.mean(f)),
        "first_click_iou_ge_085": float(np.mean(f >= 0.85)),
        "at_max_clicks_85": int(np.sum(n85 >= max_clicks)),
    }


NOC_MODES = ("level", "watershed")
"""The ``refine`` modes of region_at whose NoC is reported."""


def noc_rows(n_frames: int, *, nuclei: bool) -> dict[str, Any]:
    """NoC of every refine mode on the synthetic targets/effectors and StarDist's nuclei.

    Synthetic: the first frame (the rows of earlier tables) and every one of the ``n_frames``
    frames pooled (more cells: each frame's cells are placed and overlap differently).
    """
    data = synthetic_timelapse(n_frames=n_frames, seed=0)
    rows: dict[str, Any] = {}
    for population in ("targets", "effectors"):
        for mode in NOC_MODES:
            frames = []
            for t in range(n_frames):
                image = data.image[t, :1]
                frames.append(noc(image, data.labels[population][t],
                                  limits=ops.default_limits(image), refine=mode))  # fmt: skip
            rows[f"synthetic {population}, refine={mode}"] = frames[0]
            pooled = [
                [x for f in frames for x in f["per_cell"][k]]
                for k in ("noc85", "noc90", "first_click_iou")
            ]
            rows[f"synthetic {population}, {n_frames} frames, refine={mode}"] = noc_figures(*pooled)
        print(f"done: NoC synthetic {population}", file=sys.stderr)
    sets = []
    found = nuclei_image("nuclei part") if nuclei else None
    if found is not None:
        sets.append(("StarDist nuclei", found[0][None], found[1]))
    for name, image, truth in sets:
        limits = ops.default_limits(image)
        for mode in NOC_MODES:
            rows[f"{name}, refine={mode}"] = noc(
                image, truth, limits=limits, refine=mode, halves="nuclei" in name
            )
        print(f"done: NoC {name}", file=sys.stderr)
    return rows


# ------------------------------------------------------- NoC with a model trained on the left half
MODEL_BACKENDS = ("pixel-classifier", "stardist")
"""Backends trained on the nuclei's left half for the NoC rows (cellpose: ``--backends``)."""

MODEL_TRAIN: dict[str, dict[str, Any]] = {
    "pixel-classifier": {},
    # from scratch on CPU: about 6 min here (2 shared cores)
    "stardist": {"epochs": 60, "steps_per_epoch": 8, "batch_size": 4},
    "cellpose": {"epochs": 60, "batch_size": 4},
}
"""`segpaint.segment.train` options per backend (part of the cached model's key)."""

NUCLEI_UM = 1.0
"""The nuclei's pixel size as given to the samples and the NoC Session (the same: no rescale)."""

SAMPLE_ROWS = ((0, 160), (88, 248), (176, 336), (264, 424), (352, 512))
"""Row ranges of the left half's samples (overlapping, so most cells are whole in one)."""


def left_right(truth: np.ndarray) -> tuple[list[int], list[int]]:
    """The cells whose first click (`centre`) is left / right of the image's middle column."""
    left, right = [], []
    for t, sl in enumerate(ndi.find_objects(truth), start=1):
        if sl is None:
            continue
        c = centre(truth[sl] == t)[1] + sl[1].start
        (left if c < truth.shape[1] / 2 else right).append(t)
    return left, right


def export_left(image: np.ndarray, truth: np.ndarray, folder: Path) -> Path:
    """Export the left half's truth as samples through the Session (set labels, export_roi).

    The samples' columns stop before the first pixel of any right-half cell, so the model
    never sees a held-out cell (not even as background).
    """
    left, right = left_right(truth)
    stop = int(np.nonzero(np.isin(truth, right).any(axis=0))[0].min())
    session = segpaint.open(image, axes="YX", populations=["nuclei"], journal=False,
                            pixel_size_um=NUCLEI_UM)  # fmt: skip
    session.set_labels("nuclei", 0, np.where(np.isin(truth, left), truth, 0))
    out = folder / "annotations_nuclei"
    for rows in SAMPLE_ROWS:
        session.export_roi("nuclei", session.add_roi(0, rows=rows, cols=(0, stop)), folder=out)
    return out


def trained_model(image: np.ndarray, truth: np.ndarray, backend: str) -> Path:
    """The model trained on the left half's samples, cached in results/noc_models/ by a hash
    of its inputs (image, truth, backend, options, sample rows)."""
    key = hashlib.sha256()
    for part in (image.tobytes(), truth.tobytes(), backend.encode(),
                 json.dumps([MODEL_TRAIN[backend], SAMPLE_ROWS]).encode()):  # fmt: skip
        key.update(part)
    name = f"{backend.replace('-', '_')}_{key.hexdigest()[:12]}"
    root = RESULTS / "noc_models"
    model = root / "models" / "segmentation_nuclei" / name
    if model.is_dir():
        print(f"cached model: {model}", file=sys.stderr)
        return model
    with tempfile.TemporaryDirectory() as tmp:
        samples = export_left(image, truth, Path(tmp))
        started = time.perf_counter()
        root.mkdir(parents=True, exist_ok=True)
        try:
            path = segpaint.train(samples, backend=backend, name=name, folder=root,
                                          progress=False, **MODEL_TRAIN[backend])  # fmt: skip
        except BaseException:
            shutil.rmtree(model, ignore_errors=True)
            raise
    print(f"trained {backend} in {time.perf_counter() - started:.0f} s: {path}", file=sys.stderr)
    return path


def noc_session(
    image: np.ndarray,
    truth: np.ndarray,
    cells: list[int],
    *,
    method: str,
    max_clicks: int = 20,
) -> dict[str, Any]:
    """NoC of ``session.segment_at(method=...)`` over ``cells`` (same clicks as `noc`).

    Each click re-segments the cell (``label=1``, the first click plus every refinement
    click so far), on an empty label image.
    """
    session = segpaint.open(image, axes="YX", populations=["nuclei"], journal=False,
                            pixel_size_um=NUCLEI_UM)  # fmt: skip
    empty = np.zeros(truth.shape, np.uint32)
    clicks85, clicks90, first = [], [], []
    ms_first: list[float] = []
    ms_more: list[float] = []
    boxes = ndi.find_objects(truth)
    for t in cells:
        sl = boxes[t - 1]
        assert sl is not None
        tb = (sl[0].start, sl[0].stop, sl[1].start, sl[1].stop)
        r, c = centre(truth[sl] == t)
        seed = (r + tb[0], c + tb[2])
        session.set_labels("nuclei", 0, empty)
        calls = 0

        def click(pos: list[tuple[int, int]], neg: list[tuple[int, int]], seed: Any = seed) -> Any:
            nonlocal calls
            started = time.perf_counter()
            session.segment_at("nuclei", 0, seed, label=1, method=method,
                               positive=pos, negative=neg)  # fmt: skip
            (ms_first if calls == 0 else ms_more).append(1e3 * (time.perf_counter() - started))
            calls += 1
            lab = np.asarray(session.labels("nuclei")[0]) == 1
            return ops.tight_bbox(lab) if lab.any() else None

        hit85, hit90, first_iou = click_walk(truth, t, tb, click, max_clicks=max_clicks)
        first.append(first_iou)
        clicks85.append(hit85)
        clicks90.append(hit90)
    out: dict[str, Any] = noc_figures(clicks85, clicks90, first, max_clicks=max_clicks)
    out["per_cell"] = {"noc85": clicks85, "noc90": clicks90, "first_click_iou": first}
    for name, ms in (("first_click_ms", ms_first), ("refine_click_ms", ms_more)):
        if ms:
            out[name] = {"p50": float(np.percentile(ms, 50)), "p95": float(np.percentile(ms, 95))}
    return out


def model_rows(image: np.ndarray, truth: np.ndarray, backends: list[str]) -> dict[str, Any]:
    """Nuclei, right half: the classical click and each backend trained on the left half,
    every row from the Session's ``segment_at`` in the same run."""
    from segpaint.segment._models import _import

    _, right = left_right(truth)
    rows: dict[str, Any] = {}
    started = time.perf_counter()
    rows["StarDist nuclei, right half, method=auto (Session)"] = noc_session(
        image, truth, right, method="auto"
    )
    rows["StarDist nuclei, right half, method=auto (Session)"]["seconds"] = round(
        time.perf_counter() - started, 1
    )
    for backend in backends:
        if backend != "pixel-classifier":
            try:
                _import(backend)
            except ImportError:
                print(f"{backend} not importable: its row skipped", file=sys.stderr)
                continue
        model = trained_model(image, truth, backend)
        started = time.perf_counter()
        row = noc_session(image, truth, right, method=str(model))
        row["seconds"] = round(time.perf_counter() - started, 1)
        row["model"] = str(model)
        rows[f"StarDist nuclei, right half, method={backend} trained on the left half"] = row
        print(f"done: NoC {backend}", file=sys.stderr)
    return rows


def print_noc(nocs: dict[str, Any]) -> None:
    """The NoC table; nuclei rows also by half (left: tuned on, right: held out)."""
    print("\n## segment_at: NoC (clicks to IoU 0.85 / 0.90, max 20)\n")
    print(
        "| data | cells | NoC@85 | NoC@90 | first-click IoU mean | first click >= 0.85 "
        "| cells at 20 clicks (0.85) |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, row in nocs.items():
        parts = [(name, row)] + [
            (f"{name}, {half} half", r) for half, r in row.get("halves", {}).items()
        ]
        for label, r in parts:
            print(
                f"| {label} | {r['cells']} | {r['noc85']:.2f} | {r['noc90']:.2f} | "
                f"{r['first_click_iou_mean']:.3f} | {r['first_click_iou_ge_085']:.0%} | "
                f"{r['at_max_clicks_85']} |"
            )
    for name, row in nocs.items():
        if row.get("halves") and row.get("stuck"):
            # which cells cost the most: those still under 0.85 after the last click
            cells = ", ".join(
                f"{c['label']} at {tuple(c['seed'])} ({c['area']} px, first {c['first_click_iou']:.2f})"
                for c in row["stuck"]
            )
            print(f"\n{name}: under 0.85 after 20 clicks: {cells}")
    timed = {name: r for name, r in nocs.items() if "first_click_ms" in r}
    if timed:
        print("\n| data | first click ms p50 / p95 | refinement click ms p50 / p95 |")
        print("| --- | --- | --- |")
        for name, r in timed.items():
            f, m = r["first_click_ms"], r.get("refine_click_ms", {"p50": 0.0, "p95": 0.0})
            print(f"| {name} | {f['p50']:.0f} / {f['p95']:.0f} | {m['p50']:.0f} / {m['p95']:.0f} |")


def degrade(truth: np.ndarray, seed: int = 0) -> np.ndarray:
    """A pre-segmentation with every kind of error: missed, false, merged, split, boundary."""
    rng = np.random.default_rng(seed)
    lab = truth.astype(np.uint32).copy()
    ids = [int(v) for v in np.unique(lab)[1:]]
    rng.shuffle(ids)
    n = len(ids)
    missed, split, boundary = ids[: n // 10], ids[n // 10 : n // 5], ids[n // 5 : n // 5 + n // 6]
    merged_src = ids[n // 5 + n // 6 :]
    for v in missed:
        lab[lab == v] = 0
    nxt = int(lab.max()) + 1
    for v in split:
        rr, cc = np.nonzero(lab == v)
        angle = rng.uniform(0, math.pi)
        side = (rr - rr.mean()) * math.sin(angle) + (cc - cc.mean()) * math.cos(angle) > 0
        lab[rr[side], cc[side]] = nxt
        nxt += 1
    for k, v in enumerate(boundary):
        cell = lab == v
        if k % 2:
            lab[ndi.binary_dilation(cell, iterations=2) & (lab == 0)] = v
        else:
            lab[cell & ~ndi.binary_erosion(cell, iterations=2)] = 0
    merges = 0
    for v in merged_src:  # merge touching neighbours (about 8% of the cells)
        if merges >= n // 12 or not (lab == v).any():
            continue
        ring = ndi.binary_dilation(lab == v, iterations=2) & (lab > 0) & (lab != v)
        if ring.any():
            other = int(np.bincount(lab[ring]).argmax())
            gap = ndi.binary_dilation(lab == v, iterations=2) & ndi.binary_dilation(
                lab == other, iterations=2
            )
            lab[(lab == other) | (gap & (lab == 0))] = v
            merges += 1
    free = ndi.distance_transform_edt(truth == 0)
    for _ in range(max(1, n // 20)):  # false cells on background
        rr, cc = np.nonzero(free > 10)
        k = int(rng.integers(len(rr)))
        r, c = rr[k], cc[k]
        rad = int(rng.integers(4, 8))
        yy, xx = np.ogrid[: lab.shape[0], : lab.shape[1]]
        lab[((yy - r) ** 2 + (xx - c) ** 2 <= rad * rad) & (lab == 0)] = nxt
        nxt += 1
        free[max(r - 20, 0) : r + 20, max(c - 20, 0) : c + 20] = 0
    return ops.relabel_sequential(lab)


# ------------------------------------------------------------------------------ timing
def timeit(fn: Callable[[], Any], undo: Callable[[], Any], *, reps: int) -> dict[str, float]:
    times = []
    for _ in range(reps + 2):
        t0 = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - t0) * 1e3)
        if out is not None:
            undo()
    times = sorted(times[2:])
    return {
        "p50_ms": statistics.median(times),
        "p95_ms": times[min(len(times) - 1, round(0.95 * (len(times) - 1)))],
        "reps": reps,
    }


def tool_timings(reps: int) -> dict[str, dict[str, float]]:
    """Each tool on a 2048x2048 frame (4x4 tiles of the synthetic movie), undo between runs."""
    tile = synthetic_timelapse(n_frames=2, shape=(512, 512), n_targets=40, n_effectors=50, seed=3)
    image = np.tile(tile.image, (1, 1, 4, 4))
    truth = np.zeros((2, 2048, 2048), np.uint32)
    step = int(tile.labels["targets"].max()) + 1
    for i in range(4):
        for j in range(4):
            block = tile.labels["targets"]
            offset = (i * 4 + j) * step
            truth[:, i * 512 : (i + 1) * 512, j * 512 : (j + 1) * 512] = np.where(
                block > 0, block + offset, 0
            )
    s = segpaint.open(image, axes="TCYX", channel_names=tile.channel_names, populations=["targets"])
    partial = truth[1].copy()
    partial[np.isin(partial, np.unique(partial)[1::10])] = 0
    s.set_labels("targets", 0, truth[0])
    s.set_labels("targets", 1, partial)
    base = 5 * step  # a tile near the middle (row 1, col 1)
    cell_a = truth[0] == base + 1  # targets 1 and 2 of a tile touch
    cell_b = truth[0] == base + 2
    a, b = centre(cell_a), centre(cell_b)
    merged = truth[0].copy()
    merged[cell_b] = base + 1
    s2 = segpaint.open(
        image, axes="TCYX", channel_names=tile.channel_names, populations=["targets"]
    )
    s2.set_labels("targets", 0, merged)
    empty = segpaint.open(
        image, axes="TCYX", channel_names=tile.channel_names, populations=["targets"]
    )
    # every target's outline 2 px off (grown or shrunk, alternately): what refine fixes
    from segpaint.ops._morph_all import grow_all, shrink_all

    odd = np.isin(truth[0], np.unique(truth[0])[1::2])
    wide = np.where(odd, grow_all(truth[0], 2), shrink_all(truth[0], 2)).astype(np.uint32)
    s_wide = segpaint.open(
        image, axes="TCYX", channel_names=tile.channel_names, populations=["targets"]
    )
    s_wide.set_labels("targets", 0, wide)
    limits = ops.default_limits(image[0, :1])
    angles = np.linspace(0, 2 * math.pi, 24, endpoint=False)
    poly = np.stack([1024 + 15 * np.sin(angles), 1024 + 15 * np.cos(angles)], 1)
    roi = (768, 1280, 768, 1280)
    return {
        "segment_at": timeit(
            lambda: empty.segment_at("targets", 0, a, channels=["nuclei"], limits=limits),
            empty.undo,
            reps=reps,
        ),
        "segment_at (default limits)": timeit(
            lambda: empty.segment_at("targets", 0, a, channels=["nuclei"]), empty.undo, reps=reps
        ),
        "wand": timeit(
            lambda: empty.wand("targets", 0, a, 0.1, label=5, channels=["nuclei"], limits=limits),
            empty.undo,
            reps=reps,
        ),
        "split (2 clicks)": timeit(
            lambda: s2.split("targets", 0, base + 1, [a, b]), s2.undo, reps=reps
        ),
        "merge": timeit(lambda: s.merge("targets", 0, [base + 1, base + 2]), s.undo, reps=reps),
        "polygon (24 vertices)": timeit(
            lambda: s.polygon("targets", 0, poly, 9999), s.undo, reps=reps
        ),
        "morph grow (one cell)": timeit(
            lambda: s.morph("targets", 0, base + 1, "grow", radius=2), s.undo, reps=reps
        ),
        "morph smooth (one cell)": timeit(
            lambda: s.morph("targets", 0, base + 1, "smooth", radius=2), s.undo, reps=reps
        ),
        "morph grow (all, 512² ROI)": timeit(
            lambda: s.morph("targets", 0, None, "grow", radius=2, roi=roi), s.undo, reps=reps
        ),
        "morph grow (all, whole frame)": timeit(
            lambda: s.morph("targets", 0, None, "grow", radius=2), s.undo, reps=max(3, reps // 3)
        ),
        "refine (every cell, whole frame)": timeit(
            lambda: s_wide.refine("targets", 0, channels=["nuclei"]), s_wide.undo, reps=reps
        ),
        "copy_labels fill-empty (frame)": timeit(
            lambda: s.copy_labels("targets", 0, 1), s.undo, reps=reps
        ),
        "copy_labels replace (512² ROI)": timeit(
            lambda: s.copy_labels("targets", 0, 1, roi=roi, mode="replace"), s.undo, reps=reps
        ),
        "delete_in_box (256²)": timeit(
            lambda: s.delete_in_box("targets", 0, (896, 1152, 896, 1152)), s.undo, reps=reps
        ),
        "cut (one cell, a line across it)": timeit(
            lambda: s.cut("targets", 0, [(a[0] - 25, a[1]), (a[0] + 25, a[1])]), s.undo, reps=reps
        ),
        "Shift+q with max px (whole frame)": timeit(
            lambda: s.morph("targets", 0, None, "remove_specks", max_size=150),
            s.undo,
            reps=max(3, reps // 3),
        ),
        "delete_label (one cell, Ctrl+click)": timeit(
            lambda: s.delete_label("targets", 0, base + 1), s.undo, reps=reps
        ),
    }


# ------------------------------------------------------------------------------ picture
def picture(image: np.ndarray, labels: np.ndarray, truth: np.ndarray, path: Path) -> None:
    """The image with the final label outlines (yellow) and the truth's (cyan, thin)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from skimage.segmentation import find_boundaries

    f1, mean_iou = score(labels, truth)
    fig, ax = plt.subplots(figsize=(10, 10), dpi=100)
    lo, hi = np.percentile(image, (1, 99.8))
    ax.imshow(image, cmap="gray", vmin=lo, vmax=hi)
    overlay = np.zeros((*labels.shape, 4))
    overlay[find_boundaries(truth, mode="inner")] = (0, 1, 1, 0.6)
    overlay[find_boundaries(labels, mode="inner")] = (1, 1, 0, 1)
    ax.imshow(overlay)
    ax.set_title(
        f"StarDist nuclei corrected with every tool: {len(np.unique(labels)) - 1} labels, "
        f"F1@0.5 {f1:.3f}, mean IoU {mean_iou:.3f} (yellow: final, cyan: truth)"
    )
    ax.axis("off")
    path.parent.mkdir(exist_ok=True)
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    print(f"wrote {path}", file=sys.stderr)


# ------------------------------------------------------------------------------ main
def effort_rows(name: str, runs: dict[str, dict[str, Any]]) -> list[str]:
    rows = []
    for r in runs.values():
        rows.append(
            f"| {name} | {r['mode']} | {r['cells_to_fix']} | {r['actions']} | "
            f"{r['tool_switches']} | {r['label_picks']} | {r['chords']} | "
            f"{r['actions_per_corrected_cell']:.2f} | {r['f1']:.3f} | {r['mean_iou']:.3f} | "
            + ", ".join(f"{k} {v}" for k, v in sorted(r["by_kind"].items()))
            + " | "
            + ", ".join(f"{k} {v}" for k, v in sorted(r["by_action"].items()))
            + " |"
        )
    for r in runs.values():
        r.pop("labels", None)
    a = runs["brush"]["actions"]
    for key, r in runs.items():
        if key != "brush":
            rows.append(
                f"| {name} | ratio (a)/({r['mode']}) | | {a / max(r['actions'], 1):.2f}x "
                "| | | | | | | | |"
            )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 frames, 10 timing runs")
    parser.add_argument("--no-timing", action="store_true")
    parser.add_argument("--no-nuclei", action="store_true")
    parser.add_argument("--frames", type=int, default=None)
    parser.add_argument(
        "--picture",
        action="store_true",
        help="save the nuclei frame corrected with every tool: benchmarks/results/effort_nuclei.png",
    )
    parser.add_argument(
        "--only",
        choices=["noc", "noc-model"],
        default=None,
        help="noc: only the NoC table (every refine mode, and the nuclei's right half with "
        "models trained on the left half), written to results/effort_noc.json; noc-model: "
        "only the right-half rows",
    )
    parser.add_argument(
        "--backends",
        default=",".join(MODEL_BACKENDS),
        help="training backends for the right-half rows, comma-separated "
        f"(default {','.join(MODEL_BACKENDS)}; also cellpose)",
    )
    args = parser.parse_args()
    n_frames = args.frames or (2 if args.quick else 4)
    if args.only in ("noc", "noc-model"):
        nocs = noc_rows(n_frames, nuclei=not args.no_nuclei) if args.only == "noc" else {}
        found = None if args.no_nuclei else nuclei_image("right-half model rows")
        if found is not None:
            backends = [b for b in args.backends.split(",") if b]
            nocs.update(model_rows(*found, backends))
        print_noc(nocs)
        RESULTS.mkdir(exist_ok=True)
        path = RESULTS / ("effort_noc.json" if args.only == "noc" else "effort_noc_model.json")
        path.write_text(json.dumps({"version": segpaint.__version__, "noc": nocs}, indent=2))
        print(f"\nwrote {path}")
        return 0
    reps = 10 if args.quick else 20
    report: dict[str, Any] = {
        "version": segpaint.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "fix_iou": FIX_IOU,
    }
    lines = [
        "| data | mode | cells to fix | actions | tool switches | label picks | chords "
        "| actions/cell | F1@0.5 | mean IoU | by error | by action |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]

    data = synthetic_timelapse(n_frames=n_frames, seed=0)
    effort: dict[str, Any] = {}
    nocs: dict[str, Any] = {}
    for population in ("targets", "effectors"):
        truth = data.labels[population]
        preseg = np.stack(
            [segment(data.image[t], "threshold", channels=[0]) for t in range(n_frames)]
        )
        pre_f1, pre_iou = zip(*(score(preseg[t], truth[t]) for t in range(n_frames)), strict=True)
        runs = {
            mode: correct_movie(
                data.open, population, truth, preseg, mode=mode, channels=["nuclei"]
            )
            for mode in ("brush", "all")
        }
        for copy in ("fill-empty", "replace"):  # (b) with the previous frame copied first
            runs[f"all+copy {copy}"] = correct_movie(
                data.open, population, truth, preseg, mode="all", channels=["nuclei"], copy=copy
            )
        name = f"synthetic {population} ({n_frames} frames)"
        effort[name] = {
            "preseg_f1": float(np.mean(pre_f1)),
            "preseg_iou": float(np.mean(pre_iou)),
            **runs,
        }
        lines += effort_rows(name, runs)
        nocs[f"synthetic {population}"] = noc(
            data.image[0, :1], truth[0], limits=ops.default_limits(data.image[0, :1])
        )
        nocs[f"synthetic {population}, refine=watershed"] = noc(
            data.image[0, :1],
            truth[0],
            limits=ops.default_limits(data.image[0, :1]),
            refine="watershed",
        )
        print(f"done: {name}", file=sys.stderr)

    found = None if args.no_nuclei else nuclei_image("nuclei part")
    if found is not None:
        image, cells = found
        truth = cells[None]
        preseg = degrade(truth[0])[None]
        pre_f1, pre_iou = score(preseg[0], truth[0])
        runs = {
            mode: correct_movie(
                lambda: segpaint.open(image, axes="YX", populations=["nuclei"]),
                "nuclei",
                truth,
                preseg,
                mode=mode,
                channels=None,
            )
            for mode in ("brush", "all")
        }
        if args.picture:
            picture(image, runs["all"]["labels"][0], truth[0], RESULTS / "effort_nuclei.png")
        name = "StarDist nuclei (degraded)"
        effort[name] = {"preseg_f1": pre_f1, "preseg_iou": pre_iou, **runs}
        lines += effort_rows(name, runs)
        limits = ops.default_limits(image[None])
        nocs["StarDist nuclei"] = noc(image[None], truth[0], limits=limits)
        # sensitivity: the edge level is a parameter (not tuned per dataset by default)
        for level in (0.55,):
            nocs[f"StarDist nuclei, level={level}"] = noc(
                image[None], truth[0], limits=limits, level=level
            )
        nocs["StarDist nuclei, refine=watershed"] = noc(
            image[None], truth[0], limits=limits, refine="watershed"
        )
    report["effort"] = effort
    report["noc"] = nocs
    print("\n## Effort (actions: click, stroke or key)\n")
    print("\n".join(lines))
    print_noc(nocs)
    if not args.no_timing:
        timings = tool_timings(reps)
        report["timing_2048"] = timings
        print("\n## Tool time on a 2048x2048 frame (Session call incl. undo record)\n")
        print("| tool | p50 ms | p95 ms | runs |")
        print("| --- | --- | --- | --- |")
        for name, r in timings.items():
            print(f"| {name} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['reps']} |")
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "effort.json"
    path.write_text(json.dumps(report, indent=2))
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
