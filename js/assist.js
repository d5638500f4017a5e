// @ts-check
// Assisted tools (issue 11) of one view. Click-to-segment (c: a new cell, or re-segment and refine
// one, see assist_cells.js), split (k: drag from one part of a cell to another, or across it),
// merge (g: click cells, Enter), polygon (o: click vertices, double-click or Enter closes), delete
// in a box (d, or Shift-drag with the ROI tool), morph (i t j u q) and copy labels (y) send one
// `assist` message; Python runs the Session's tool (one undo step) and the result comes back as a
// labels-patch. The magic wand (w) runs in the browser (wand.js) on the shown channels: drag
// sideways to widen or narrow the tolerance, release to commit the region as one stroke.

import { CellTools } from "./assist_cells.js";
import { pixelOf } from "./tools.js";
import { Wand } from "./wand.js";
import { WandView } from "./wand_overlay.js";

/** @typedef {import("./display.js").Display} Display */
/** @typedef {{row: number, col: number}} Point */

/** Tools this module handles, and the Session tool each `assist` message names. */
export const ASSIST_TOOLS = /** @type {Record<string, string>} */ ({
  segment: "segment_at", split: "split", merge: "merge", polygon: "polygon", "delete-box": "delete_in_box", wand: "",
});
/** Tolerance change per CSS pixel of horizontal drag (400 px: the whole 0..1 range). */
export const WAND_PX = 1 / 400;
/** Tolerance a wand press starts from (later presses start from the last one used). */
export const WAND_START = 0.1;
/** Flood time per animation frame of a drag (ms): the rest of the 16 ms draws the preview. */
export const WAND_BUDGET_MS = 6;
/** Preview pixels written per animation frame at most (the rest on the next frames). */
export const WAND_SHOW_MAX = 1 << 18;
const DOUBLE_CLICK_MS = 350;

export class Assist {
  /** @param {Display} d */
  constructor(d) {
    this.d = d;
    /** @type {number[][]} merge clicks or polygon vertices, [row, col] pixels */
    this.points = [];
    /** @type {{kind: string, start: number[], end: number[], x: number, frame: number | null, tol?: number} | null} */
    this.gesture = null;
    this.lastDown = { t: 0, x: 0, y: 0 };
    this.tolerance = WAND_START;
    /** @type {{key: string, wand: Wand} | null} */
    this.wandCache = null;
    /** @type {{count: number, exact: boolean} | null} the wand's region now previewed */
    this.preview = null;
    /** @type {WandView | null} the preview's pixels and their off-screen canvas */
    this.wandView = null;
    /** pending animation frame of the wand's preview (one budgeted flood step per frame, not per move) */
    this.wandFrame = 0;
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
    if (this.d.model.get("tool") === "wand" && this.d.state.previewStep === 1) setTimeout(() => this.wand(true), 0);
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
      const label = this.labelAt(px);
      if (!label) d.say("merge: click inside the cells to merge (this is background)");
      else if (this.points.some((p) => this.labelAt(p) === label)) d.say(`merge: cell ${label} is already picked`);
      else this.points.push(px);
      if (this.points.length) d.say(`merge: ${this.points.length} cell(s) picked; Enter merges, Escape cancels`);
      this.draw();
      return false;
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
    if (tool === "wand") return this.startWand(point, at);
    // split, delete-box, Shift+ROI: a drag
    this.gesture = { kind: tool === "split" ? "split" : "box", start: px, end: px, x: at.x, frame: d.state.frame };
    return true;
  }

  /** @param {Point} point @param {{x: number, y: number}} at */
  move(point, at) {
    const g = this.gesture;
    if (!g) return;
    if (g.kind === "wand") {
      this.tolerance = Math.min(Math.max((g.tol ?? WAND_START) + (at.x - g.x) * WAND_PX, 0), 1);
      this.scheduleWand();
      return;
    }
    g.end = pixelOf(point);
    this.draw();
  }

  up() {
    const g = this.gesture;
    this.gesture = null;
    if (!g) return;
    if (g.frame !== this.d.state.frame) {
      // the frame changed under the drag: what it drew belongs to the other frame
      if (this.wandFrame) cancelAnimationFrame(this.wandFrame);
      this.wandFrame = 0;
      this.hideWand();
      this.d.say("the frame changed during the drag: nothing was done");
      this.draw();
      return;
    }
    if (g.kind === "wand") {
      if (this.wandFrame) cancelAnimationFrame(this.wandFrame);
      this.wandFrame = 0;
      this.gesture = g;
      this.commitWand(); // the whole region at the tolerance of the last move
      this.gesture = null;
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
    const had = this.points.length > 0 || this.gesture !== null || refining;
    if (this.wandFrame) cancelAnimationFrame(this.wandFrame);
    this.wandFrame = 0;
    this.points = [];
    this.gesture = null;
    this.hideWand();
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

  // ------------------------------------------------------------------------------ the wand
  /**
   * The wand for the shown channels and contrast of the frame held (made once, then reused).
   * @param {boolean} [quiet] preparing ahead: say nothing, ask for nothing
   */
  wand(quiet = false) {
    const { d } = this;
    const { state, model } = d;
    if (quiet && (state.previewStep !== 1 || !state.channelData.size)) return null;
    if (state.previewStep !== 1) {
      state.requestFull(0);
      d.say("wand: loading the frame at full resolution; press again in a moment");
      return null;
    }
    const visible = model.get("channel_visible") || [];
    const contrast = model.get("contrast") || [];
    let shown = [...state.channelData.keys()].filter((i) => visible[i] !== false).sort((a, b) => a - b);
    if (!shown.length) shown = [...state.channelData.keys()].sort((a, b) => a - b);
    if (!shown.length || shown.some((i) => !contrast[i])) {
      d.say("wand: no channel data yet");
      return null;
    }
    const limits = shown.map((i) => [Number(contrast[i][0]), Number(contrast[i][1])]);
    const key = JSON.stringify([state.frame, state.width, state.height, shown, limits]);
    const data = shown.map((i) => /** @type {import("./model.js").ChannelData} */ (state.channelData.get(i)).data);
    const c = this.wandCache;
    if (c && c.key === key && c.wand.channels.every((ch, k) => ch === data[k])) return c.wand;
    const wand = new Wand(data, limits, state.width, state.height);
    this.wandCache = { key, wand };
    return wand;
  }

  /** @param {Point} point @param {{x: number, y: number}} at */
  startWand(point, at) {
    if (!this.wand()) return false;
    this.hideWand();
    this.gesture = { kind: "wand", start: [point.row, point.col], end: [point.row, point.col], x: at.x, frame: this.d.state.frame, tol: this.tolerance };
    if (this.updateWand()) this.scheduleWand();
    this.draw();
    return true;
  }

  /** Pointer moves can come faster than frames: one budgeted flood step per animation frame,
   * and more frames while the flood has not reached the tolerance (the drag paused). */
  scheduleWand() {
    if (typeof requestAnimationFrame !== "function") {
      while (this.updateWand());
      this.draw();
    } else if (!this.wandFrame) {
      this.wandFrame = requestAnimationFrame(() => {
        this.wandFrame = 0;
        const more = this.updateWand();
        this.draw();
        if (more) this.scheduleWand();
      });
    }
  }

  /**
   * Flood on (for WAND_BUDGET_MS at most) towards the tolerance and show what is reached.
   * @returns {boolean} true when the preview is not yet the whole region (call again next frame)
   */
  updateWand() {
    const g = this.gesture;
    const wand = this.wandCache?.wand;
    if (!g || g.kind !== "wand" || !wand) return false;
    const clip = this.clipAt(pixelOf({ row: g.start[0], col: g.start[1] })) ?? null;
    const flood = wand.flood;
    const got = wand.reach(g.start, this.tolerance, clip, { deadline: performance.now() + WAND_BUDGET_MS });
    // a new flood (the clip changed under the drag) rewrote the order the preview follows
    if (wand.flood !== flood) this.wandView?.clear();
    this.preview = got;
    const n = got ? got.count : 0;
    const shown = this.showWand(wand, n);
    const more = got !== null && (!got.exact || !shown);
    this.d.say(`wand: tolerance ${this.tolerance.toFixed(3)} · ${n}${more ? "+" : ""} px (drag sideways to change, release to paint)`);
    return more;
  }

  /** @param {Wand} wand @param {number} count @returns {boolean} true when all of it is shown */
  showWand(wand, count) {
    if (!this.wandView || !this.wandView.fits(wand)) this.wandView = new WandView(wand.width, wand.height);
    return this.wandView.show(wand, count, WAND_SHOW_MAX);
  }

  /** Clear the preview (its flood may be replaced by the next press's). */
  hideWand() {
    this.preview = null;
    this.wandView?.clear();
  }

  /** Paint the wand's whole region at the gesture's tolerance with the selected label (only on
   * background and that label when preserve_labels is on) and send it as one stroke, like the
   * fill bucket: the same pixels as `session.wand`, however far the preview had got. */
  commitWand() {
    const { d } = this;
    const g = this.gesture;
    const wand = this.wandCache?.wand;
    this.hideWand();
    if (!g || !wand) return;
    const clip = this.clipAt(pixelOf({ row: g.start[0], col: g.start[1] })) ?? null;
    const p = wand.mask(g.start, this.tolerance, clip);
    if (!p || !p.count || !d.state.labels || !d.editor.canEdit()) return;
    const labels = d.state.labels;
    const width = d.renderer.width;
    const label = d.model.get("selected_label") >>> 0;
    const preserve = d.model.get("preserve_labels") !== false;
    const [r0, r1, c0, c1] = p.bbox;
    const w = c1 - c0;
    const mask = p.mask;
    let n = 0;
    for (let r = r0; r < r1; r++) {
      for (let c = c0; c < c1; c++) {
        const k = (r - r0) * w + (c - c0);
        if (!mask[k]) continue;
        const i = r * width + c;
        if (labels[i] === label || (preserve && labels[i] !== 0)) mask[k] = 0;
        else {
          labels[i] = label;
          n++;
        }
      }
    }
    if (!n) {
      d.say(`wand: nothing to paint (the region is already label ${label}${preserve ? " or other cells" : ""})`);
      return;
    }
    d.renderer.updateBox(p.bbox);
    d.editor.send({ bbox: p.bbox, mask }, label);
    d.editor.afterEdit(p.bbox, label);
    d.say(`wand: painted ${n} px with label ${label} (tolerance ${this.tolerance.toFixed(3)})`);
  }

  // ---------------------------------------------------------------------------- the overlay
  draw() {
    this.d.rois.draw();
  }

  /** True when `drawOverlay` has something to draw (picks, a gesture, the wand's region). */
  hasOverlay() {
    return this.points.length > 0 || this.gesture !== null || Boolean(this.preview && this.preview.count);
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
    if (g && g.kind === "split") {
      ctx.beginPath();
      ctx.moveTo(at(g.start).x, at(g.start).y);
      ctx.lineTo(at(g.end).x, at(g.end).y);
      ctx.stroke();
    } else if (g && g.kind === "box") {
      const a = view.toViewport(Math.min(g.start[0], g.end[0]) - 0.5, Math.min(g.start[1], g.end[1]) - 0.5);
      const b = view.toViewport(Math.max(g.start[0], g.end[0]) + 0.5, Math.max(g.start[1], g.end[1]) + 0.5);
      ctx.strokeStyle = "#ff5252";
      ctx.setLineDash([4, 3]);
      ctx.strokeRect(a.x, a.y, b.x - a.x, b.y - a.y);
    }
    if (this.preview && this.preview.count) this.wandView?.draw(ctx, view, this.d.viewSize());
    ctx.restore();
  }
}
