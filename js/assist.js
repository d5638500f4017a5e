// @ts-check
// Assisted tools (issue 11) of one view. Click-to-segment (c: a new cell, or re-segment and refine
// one, see assist_cells.js), split (k: drag from one part of a cell to another, or across it;
// Shift-drag: cut exactly along the drawn line), merge (g: click cells, Enter; or drag from one
// cell onto another), polygon (o: click vertices, double-click or Enter closes), delete in a box
// (d, or Shift-drag with the ROI tool), morph (i t j u q) and copy labels (y) send one
// `assist` message; Python runs the Session's tool (one undo step) and the result comes back as a
// labels-patch. The magic wand (w) runs in the browser (wand.js) on the shown channels: drag
// sideways to widen or narrow the tolerance, release to commit the region as one stroke.

import { CellTools } from "./assist_cells.js";
import { WandTool } from "./assist_wand.js";
import { pixelOf } from "./tools.js";

/** @typedef {import("./display.js").Display} Display */
/** @typedef {{row: number, col: number}} Point */

/** Tools this module handles, and the Session tool each `assist` message names. */
export const ASSIST_TOOLS = /** @type {Record<string, string>} */ ({
  segment: "segment_at", split: "split", merge: "merge", polygon: "polygon", "delete-box": "delete_in_box", wand: "",
});
export { WAND_BUDGET_MS, WAND_PX, WAND_SHOW_MAX, WAND_START } from "./assist_wand.js";
const DOUBLE_CLICK_MS = 350;
/** Most points of a cut line (Python's MAX_ASSIST_POINTS); a longer drag keeps its start. */
const CUT_POINTS_MAX = 4096;

export class Assist {
  /** @param {Display} d */
  constructor(d) {
    this.d = d;
    /** @type {number[][]} merge clicks or polygon vertices, [row, col] pixels */
    this.points = [];
    /** @type {{kind: string, start: number[], end: number[], x: number, frame: number | null, path: number[][]} | null} split, cut, merge or box drag */
    this.gesture = null;
    this.lastDown = { t: 0, x: 0, y: 0 };
    /** the magic wand (w) */
    this.wandTool = new WandTool(d, (px) => this.clipAt(px), () => this.draw());
    /** click-to-segment refinement, morph and copy labels */
    this.cells = new CellTools(d, (tool, points, extra) => this.send(tool, points, extra));
  }

  /**
   * The "preserve labels" checkbox, next to "lock edits to ROI" (the `preserve_labels` trait).
   * @param {import("./input.js").Listen} listen
   * @param {(name: string, fn: (...args: any[]) => void) => void} onModel
   */
  bindControls(listen, onModel) {
    const { ui, model } = this.d;
    const box = document.createElement("input");
    box.type = "checkbox";
    box.setAttribute("data-control", "preserve-labels");
    const label = document.createElement("label");
    label.title = "Click-to-segment, the wand and the polygon never paint over other cells";
    label.append(box, " preserve labels");
    ui.lockRoi.parentElement?.after(label);
    const sync = () => (box.checked = model.get("preserve_labels") !== false);
    sync();
    listen(box, "change", () => this.d.save("preserve_labels", box.checked));
    onModel("change:preserve_labels", sync);
    this.cells.bindControls(listen, label);
  }

  /** A morph or copy-labels action (keys i t j u q y, with Shift; buttons). @param {string} action */
  run(action) {
    this.cells.run(action);
  }

  /** The tool changed: drop what is picked; with the wand, prepare it while the user aims. */
  toolChanged() {
    this.cancel();
    if (this.d.model.get("tool") === "wand" && this.d.state.previewStep === 1) setTimeout(() => this.wandTool.wand(true), 0);
  }

  /**
   * Does a pointer-down with `tool` belong here? (Shift-drag with the ROI tool deletes in a box.)
   * @param {string} tool @param {{shiftKey?: boolean}} e
   */
  handles(tool, e) {
    return tool in ASSIST_TOOLS || (tool === "roi" && Boolean(e.shiftKey));
  }

  /**
   * Pointer down; true when a drag follows (split, box, wand).
   * @param {Point} point @param {{x: number, y: number}} at viewport px @param {string} tool
   * @param {{shiftKey?: boolean}} [e] the pointer event (Shift+click: a negative refinement click)
   */
  down(point, at, tool, e = {}) {
    const { d } = this;
    const px = pixelOf(point);
    if (!d.editor.canEdit() || !this.inside(px)) return false;
    const now = Date.now();
    const double = now - this.lastDown.t < DOUBLE_CLICK_MS && Math.hypot(at.x - this.lastDown.x, at.y - this.lastDown.y) < 6;
    this.lastDown = { t: now, x: at.x, y: at.y };
    if (tool === "segment") {
      this.cells.click(px, Boolean(e.shiftKey));
      return false;
    }
    if (tool === "merge") {
      // a click picks the cell (Enter merges the picks); a drag from one cell onto another
      // merges those two at once (one gesture, as a user joins two halves of a cell)
      this.gesture = { kind: "merge", start: px, end: px, x: at.x, frame: d.state.frame, path: [px] };
      return true;
    }
    if (tool === "polygon") {
      if (double && this.points.length >= 3) {
        this.finishPolygon();
        return false;
      }
      this.points.push(px);
      d.say(`polygon: ${this.points.length} vertices; double-click or Enter closes, Escape cancels`);
      this.draw();
      return false;
    }
    if (tool === "wand") return this.wandTool.startWand(point, at);
    // split (Shift: a cut along the drawn line), delete-box, Shift+ROI: a drag
    const kind = tool === "split" ? (e.shiftKey ? "cut" : "split") : "box";
    this.gesture = { kind, start: px, end: px, x: at.x, frame: d.state.frame, path: [px] };
    return true;
  }

  /** @param {Point} point @param {{x: number, y: number}} at */
  move(point, at) {
    if (this.wandTool.gesture) {
      this.wandTool.move(at);
      return;
    }
    const g = this.gesture;
    if (!g) return;
    g.end = pixelOf(point);
    const last = g.path[g.path.length - 1];
    if (g.kind === "cut" && (last[0] !== g.end[0] || last[1] !== g.end[1]) && g.path.length < CUT_POINTS_MAX) g.path.push(g.end);
    this.draw();
  }

  up() {
    if (this.wandTool.gesture) {
      this.wandTool.up();
      this.draw();
      return;
    }
    const g = this.gesture;
    this.gesture = null;
    if (!g) return;
    if (g.frame !== this.d.state.frame) {
      // the frame changed under the drag: what it drew belongs to the other frame
      this.d.say("the frame changed during the drag: nothing was done");
      this.draw();
      return;
    }
    if (g.kind === "merge") {
      this.mergeUp(g.start, g.end);
    } else if (g.kind === "cut") {
      if (g.path.length < 2) this.d.say("cut (Shift-drag with split): draw the line across the cell, from background to background");
      else this.send("cut", g.path);
    } else if (g.kind === "split") {
      if (g.start[0] === g.end[0] && g.start[1] === g.end[1]) this.d.say("split: drag from one part of the cell to the other, or across it");
      else this.send("split", [g.start, g.end]);
    } else {
      const [h, w] = [this.d.renderer.height, this.d.renderer.width];
      const r0 = Math.max(0, Math.min(g.start[0], g.end[0]));
      const r1 = Math.min(h, Math.max(g.start[0], g.end[0]) + 1);
      const c0 = Math.max(0, Math.min(g.start[1], g.end[1]));
      const c1 = Math.min(w, Math.max(g.start[1], g.end[1]) + 1);
      if (r1 - r0 > 1 && c1 - c0 > 1) this.send("delete_in_box", [g.start], { bbox: [r0, r1, c0, c1] });
    }
    this.draw();
  }

  /**
   * The merge tool's pointer-up: from one cell onto another, those two merge now (the picks
   * stay); otherwise the cell where it went down is picked (Enter merges the picks).
   * @param {number[]} start @param {number[]} end
   */
  mergeUp(start, end) {
    const { d } = this;
    const from = this.labelAt(start);
    const onto = this.labelAt(end);
    if (from && onto && onto !== from) {
      this.send("merge", [start, end]);
      d.say(`merging cells ${from} and ${onto}…`);
      return;
    }
    if (!from) d.say("merge: click inside the cells to merge (this is background), or drag from one cell onto another");
    else if (this.points.some((p) => this.labelAt(p) === from)) d.say(`merge: cell ${from} is already picked`);
    else this.points.push(start);
    if (this.points.length) d.say(`merge: ${this.points.length} cell(s) picked; Enter merges, Escape cancels`);
  }

  /** Enter: merge the picked cells, or close the polygon. */
  enter() {
    const tool = this.d.model.get("tool");
    if (tool === "merge" && this.points.length >= 2) {
      this.send("merge", this.points);
      this.points = [];
    } else if (tool === "merge") {
      this.d.say("merge: click two or more cells first");
    } else if (tool === "polygon") {
      this.finishPolygon();
    }
    this.draw();
  }

  /** Escape or a tool change: drop what is picked or dragged. */
  cancel() {
    const refining = this.cells.cancel();
    const wand = this.wandTool.cancel();
    const had = this.points.length > 0 || this.gesture !== null || refining || wand;
    this.points = [];
    this.gesture = null;
    if (had) this.d.rois.draw();
    return had;
  }

  finishPolygon() {
    if (this.points.length < 3) {
      this.d.say("polygon: click three or more vertices first");
      return;
    }
    this.send("polygon", this.points, { label: this.d.model.get("selected_label") >>> 0 });
    this.points = [];
    this.draw();
  }

  /** @param {number[]} px */
  labelAt(px) {
    const { state, renderer } = this.d;
    return state.labels ? state.labels[px[0] * renderer.width + px[1]] : 0;
  }

  /** @param {number[]} px inside the frame (and, when edits are locked, inside an ROI) */
  inside(px) {
    const { d } = this;
    if (px[0] < 0 || px[1] < 0 || px[0] >= d.renderer.height || px[1] >= d.renderer.width) return false;
    if (this.clipAt(px) === undefined) {
      d.say("edits are locked to ROIs: start inside one (draw one with r), or untick lock");
      return false;
    }
    return true;
  }

  /**
   * The ROI an edit starting at `px` stays in: null when edits are not locked, undefined when
   * they are and `px` is in no ROI.
   * @param {number[]} px @returns {number[] | null | undefined}
   */
  clipAt(px) {
    const clips = this.d.editor.clips();
    if (!clips) return null;
    return clips.find((b) => px[0] >= b[0] && px[0] < b[1] && px[1] >= b[2] && px[1] < b[3]);
  }

  /**
   * @param {string} tool Session tool @param {number[][]} points @param {Record<string, any>} [extra]
   */
  send(tool, points, extra = {}) {
    const { state } = this.d;
    state.send({ type: "assist", tool, population: state.population, frame: state.frame, points: points.map((p) => p.slice()), ...extra });
  }

  // ---------------------------------------------------------------------------- the overlay
  draw() {
    this.d.rois.draw();
  }

  /** True when `drawOverlay` has something to draw (picks, a gesture, the wand's region). */
  hasOverlay() {
    return this.points.length > 0 || this.gesture !== null || this.wandTool.hasOverlay();
  }

  /**
   * Draw picks, lines, boxes and the wand's region on the overlay (RoiLayer.draw calls this).
   * @param {CanvasRenderingContext2D} ctx
   */
  drawOverlay(ctx) {
    const { view } = this.d;
    /** @param {number[]} px */
    const at = (px) => view.toViewport(px[0], px[1]);
    ctx.save();
    ctx.lineWidth = 2;
    ctx.strokeStyle = "#00e5ff";
    ctx.fillStyle = "#00e5ff";
    const tool = this.d.model.get("tool");
    if (this.points.length) {
      if (tool === "polygon") {
        ctx.beginPath();
        this.points.forEach((p, i) => (i ? ctx.lineTo(at(p).x, at(p).y) : ctx.moveTo(at(p).x, at(p).y)));
        if (this.d.hover) ctx.lineTo(this.d.hover.x, this.d.hover.y);
        ctx.stroke();
      }
      for (const p of this.points) ctx.fillRect(at(p).x - 3, at(p).y - 3, 6, 6);
    }
    const g = this.gesture;
    if (g && (g.kind === "split" || (g.kind === "merge" && (g.end[0] !== g.start[0] || g.end[1] !== g.start[1])))) {
      ctx.beginPath();
      ctx.moveTo(at(g.start).x, at(g.start).y);
      ctx.lineTo(at(g.end).x, at(g.end).y);
      ctx.stroke();
    } else if (g && g.kind === "cut") {
      ctx.beginPath();
      g.path.forEach((p, i) => (i ? ctx.lineTo(at(p).x, at(p).y) : ctx.moveTo(at(p).x, at(p).y)));
      ctx.stroke();
    } else if (g && g.kind === "box") {
      const a = view.toViewport(Math.min(g.start[0], g.end[0]) - 0.5, Math.min(g.start[1], g.end[1]) - 0.5);
      const b = view.toViewport(Math.max(g.start[0], g.end[0]) + 0.5, Math.max(g.start[1], g.end[1]) + 0.5);
      ctx.strokeStyle = "#ff5252";
      ctx.setLineDash([4, 3]);
      ctx.strokeRect(a.x, a.y, b.x - a.x, b.y - a.y);
    }
    this.wandTool.drawOverlay(ctx);
    ctx.restore();
  }
}
