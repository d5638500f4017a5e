// @ts-check
// Editing the shared label buffer: brush and eraser strokes, the fill bucket, the label picker and
// `m` (next label). Painting is local and at once; each finished edit goes to Python as one stroke.

import { floodFill, replaceValue, extractMask, clearBox, Stroke, inClips } from "./raster.js";
import { pixelOf } from "./tools.js";
import { now } from "./render.js";

/** @typedef {import("./display.js").Display} Display */
/** @typedef {{row: number, col: number}} Point */

const LABEL_MAX = 0xffffffff;
/** During a stroke the status line (cursor position, label under it) updates this often (ms). */
export const STROKE_STATUS_MS = 250;
/** Largest brush outline (CSS px across) drawn as the pointer's cursor image (Chromium takes 128). */
export const CURSOR_MAX_PX = 128;

/**
 * The CSS cursor showing the brush outline: a circle of radius `r` (CSS px) in a `size` px square,
 * hot spot at the centre. A bitmap (PNG drawn once here, at the screen's pixel ratio) where the
 * page can draw one, else SVG: Chromium rasterises an SVG cursor again at every pointer move, which
 * runs the SVG image's style, layout and paint before each move is dispatched (0.3 ms a move
 * measured in JupyterLab), while a bitmap cursor is decoded once.
 * @param {number} size @param {number} r @param {string} color
 * @param {() => HTMLCanvasElement | null} [makeCanvas] (tests)
 */
export function brushCursorCss(size, r, color, makeCanvas = defaultCanvas) {
  const c = size / 2;
  const hot = `${Math.round(c)} ${Math.round(c)}`;
  const svg = `<svg xmlns='http://www.w3.org/2000/svg' width='${size}' height='${size}'>` +
    `<circle cx='${c}' cy='${c}' r='${r}' fill='none' stroke='${color}' stroke-width='1'/></svg>`;
  const vector = `url("data:image/svg+xml,${encodeURIComponent(svg)}") ${hot}, crosshair`;
  const canvas = makeCanvas();
  const ctx = canvas && canvas.getContext ? canvas.getContext("2d") : null;
  if (!canvas || !ctx) return vector;
  const ratio = Math.min(Math.max(Math.round((typeof devicePixelRatio === "number" && devicePixelRatio) || 1), 1), 4);
  canvas.width = canvas.height = size * ratio;
  ctx.scale(ratio, ratio);
  ctx.strokeStyle = color;
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.arc(c, c, r, 0, 2 * Math.PI);
  ctx.stroke();
  const png = canvas.toDataURL("image/png");
  if (!png.startsWith("data:image/png")) return vector;
  const css = ratio === 1 ? `url("${png}") ${hot}, crosshair` : `image-set(url("${png}") ${ratio}x) ${hot}, crosshair`;
  const supported = typeof CSS === "undefined" || typeof CSS.supports !== "function" || CSS.supports("cursor", css);
  return supported ? css : vector;
}

/** A canvas to draw a cursor image into, or null without a DOM. */
function defaultCanvas() {
  return typeof document === "undefined" ? null : document.createElement("canvas");
}

export class Editor {
  /**
   * @param {Display} d
   * @param {{ chunkBytes: number }} limits
   */
  constructor(d, limits) {
    this.d = d;
    this.limits = limits;
    /** @type {(Stroke & {tool?: string}) | null} */
    this.stroke = null;
    // The brush outline follows the pointer as an element moved by a CSS transform: the
    // compositor moves it, so a pointer move repaints no canvas and lays nothing out.
    /** @type {HTMLElement | null} */
    this.cursorEl = null;
    this.cursorRadius = -1;
    this.cursorColor = "";
    this.cursorKey = "";
    /** a pan drag is on (middle button or the pan tool): the pointer shows the hand, not the brush */
    this.panning = false;
    this.cursorCss = "";
    this.cursorShown = "";
    /** @type {number[]} image box one pointer event dirtied, [r0, r1, c0, c1] (reused) */
    this.dirty = [0, 0, 0, 0];
    this.frameQueued = 0;
    /** @type {ReturnType<typeof setTimeout> | 0} */
    this.statusTimer = 0;
    this.cursorNative = false;
    this.statusAt = -Infinity;
  }

  /**
   * Show the brush outline at the pointer (or hide it): a circle of the brush's radius, white for
   * the brush, red for the eraser. Up to CURSOR_MAX_PX across it is the pointer's own cursor image
   * (a bitmap: `brushCursorCss`),
   * which the browser moves without running the page at all; a larger one is an element over the
   * canvas moved by a CSS transform.
   */
  drawCursor() {
    const { d } = this;
    const tool = d.model.get("tool");
    const brush = (tool === "brush" || tool === "eraser") && !d.space && !this.panning;
    const r = Math.max((d.model.get("brush_size") / 2) * d.view.scale, 1);
    const color = tool === "eraser" ? "#ff6060" : "#ffffff";
    const size = Math.ceil(2 * r + 2);
    const native = brush && size <= CURSOR_MAX_PX;
    this.cursorNative = native;
    const canvas = d.ui.viewCanvas;
    if (native) {
      const key = `${size}:${r}:${color}`;
      if (key !== this.cursorKey) {
        this.cursorKey = key;
        this.cursorCss = brushCursorCss(size, r, color);
        this.cursorShown = "";
      }
      // Tools and space-panning set the canvas cursor too: put ours back when it was replaced.
      if (canvas.style.cursor !== this.cursorShown || !this.cursorShown) {
        canvas.style.cursor = this.cursorCss;
        this.cursorShown = canvas.style.cursor;
      }
    }
    const show = brush && !native && d.hover !== null;
    let el = this.cursorEl;
    if (!show || !d.hover) {
      if (el && el.style.display !== "none") el.style.display = "none";
      return;
    }
    if (!el) {
      if (typeof document === "undefined") return;
      el = document.createElement("div");
      el.className = "segpaint-brush-cursor";
      Object.assign(el.style, {
        position: "absolute", left: "0", top: "0", pointerEvents: "none", borderRadius: "50%",
        boxSizing: "border-box", borderStyle: "solid", borderWidth: "1px", willChange: "transform",
      });
      d.ui.viewport.append(el);
      this.cursorEl = el;
    }
    if (r !== this.cursorRadius) {
      this.cursorRadius = r;
      el.style.width = el.style.height = `${2 * r + 1}px`;
    }
    if (color !== this.cursorColor) {
      this.cursorColor = color;
      el.style.borderColor = color;
    }
    el.style.transform = `translate(${d.hover.x - r - 0.5}px, ${d.hover.y - r - 0.5}px)`;
    if (el.style.display === "none") el.style.display = "";
  }

  /**
   * The pointer moved with the brush or eraser: place the outline once per animation frame (the
   * ROI overlay does not change, so it is not redrawn). The status line follows at every frame
   * when hovering, and every STROKE_STATUS_MS during a stroke: new text means a layout and a
   * repaint of the page, which would cost each move more than the painting itself.
   */
  pointerMoved() {
    if (typeof requestAnimationFrame !== "function") {
      this.drawCursor();
      this.d.updateStatus();
      return;
    }
    if (this.stroke && this.cursorNative) {
      // Painting with the outline as the pointer's cursor: nothing to place at each frame, and
      // the status line catches up every STROKE_STATUS_MS (no animation-frame callback per move).
      if (!this.statusTimer) this.statusTimer = setTimeout(this.onStatus, STROKE_STATUS_MS);
      return;
    }
    if (this.frameQueued) return;
    this.frameQueued = requestAnimationFrame(this.onFrame);
  }

  /** @type {() => void} */
  onStatus = () => {
    this.statusTimer = 0;
    if (!this.d.ui.root.isConnected) return;
    this.statusAt = now();
    this.d.updateStatus();
  };

  /** @type {() => void} */
  onFrame = () => {
    this.frameQueued = 0;
    if (!this.d.ui.root.isConnected) return;
    this.drawCursor(); // sets styles only when the outline changed or (a large one) moved
    const t = now();
    if (this.stroke && t - this.statusAt < STROKE_STATUS_MS) return;
    this.statusAt = t;
    this.d.updateStatus();
  };

  get active() {
    return this.stroke !== null;
  }

  /** Drop a stroke in progress (its label buffer was replaced). */
  abandon() {
    this.stroke = null;
  }

  canEdit() {
    const { d } = this;
    if (!d.state.labels || d.state.frame === null) return false;
    if (d.model.get("busy")) {
      d.say("pre-segmentation is running; edits resume when it ends");
      return false;
    }
    if (d.state.frame !== d.model.get("frame")) {
      d.say("loading the frame…");
      return false;
    }
    return true;
  }

  /** ROI boxes edits are clipped to (lock to ROI), or null. @returns {number[][] | null} */
  clips() {
    if (!this.d.model.get("lock_to_roi")) return null;
    return this.d.rois.boxes;
  }

  lockedOut() {
    const c = this.clips();
    if (c && c.length === 0) {
      this.d.say("edits are locked to ROIs but this frame has none: draw one with r, or untick lock");
      return true;
    }
    return false;
  }

  /** @param {number[]} box @param {number} label */
  afterEdit(box, label) {
    const { d } = this;
    const labels = /** @type {Uint32Array} */ (d.state.labels);
    if (d.renderer.colors.update(labels, d.renderer.width, d.renderer.height, box, [label])) d.redraw();
    d.state.edited(d.hooks, box, label);
  }

  /**
   * Send an edit that wrote `label` under `patch.mask`: one bit per pixel of its box.
   * @param {{bbox: number[], mask: Uint8Array}} patch @param {number} label
   */
  send(patch, label) {
    this.d.state.sendStroke({ bbox: patch.bbox, mask: patch.mask, label }, this.limits.chunkBytes);
  }

  /** @param {Point} point @param {string} tool */
  startStroke(point, tool) {
    const { d } = this;
    if (!this.canEdit() || this.lockedOut()) return false;
    const label = tool === "eraser" ? 0 : d.model.get("selected_label") >>> 0;
    const stroke = new Stroke({
      labels: /** @type {Uint32Array} */ (d.state.labels), touched: /** @type {Uint8Array} */ (d.state.touched),
      width: d.renderer.width, height: d.renderer.height,
      radius: Math.max(d.model.get("brush_size") / 2, 0.5), label, clips: this.clips(),
    });
    this.stroke = Object.assign(stroke, { tool });
    const dirty = stroke.lineTo(point.row, point.col);
    if (dirty) d.renderer.updateBox(dirty);
    return true;
  }

  /**
   * Extend the stroke through points given as flat [row0, col0, row1, col1, ...] (a pointer
   * event and the events the browser coalesced into it); redraws the union of what they dirtied
   * once.
   * @param {ArrayLike<number>} rowCols @param {number} [count] points to take (default: all)
   */
  extendStroke(rowCols, count = rowCols.length >> 1) {
    const s = this.stroke;
    if (!s) return;
    const box = this.dirty;
    let any = false;
    for (let i = 0; i < count; i++) {
      const step = s.lineTo(rowCols[2 * i], rowCols[2 * i + 1]);
      if (!step) continue;
      if (!any) {
        box[0] = step[0];
        box[1] = step[1];
        box[2] = step[2];
        box[3] = step[3];
        any = true;
      } else {
        if (step[0] < box[0]) box[0] = step[0];
        if (step[1] > box[1]) box[1] = step[1];
        if (step[2] < box[2]) box[2] = step[2];
        if (step[3] > box[3]) box[3] = step[3];
      }
    }
    if (any) this.d.renderer.updateBox(box);
  }

  endStroke() {
    const s = this.stroke;
    this.stroke = null;
    if (!s) return;
    if (!s.bbox) {
      this.pointerMoved(); // nothing painted (all of it outside the ROIs)
      return;
    }
    // Send first: the kernel gets the stroke while the browser clears the stroke's marks,
    // recolours neighbours and the status line catches up with the pointer. The message needs
    // the mask only (one label), not the box's values.
    const patch = extractMask(s.touched, s.width, s.bbox);
    this.send(patch, s.label);
    clearBox(s.touched, s.width, patch.bbox);
    this.pointerMoved();
    this.afterEdit(patch.bbox, s.label);
  }

  /** @param {Point} point */
  fillAt(point) {
    const { d } = this;
    if (!this.canEdit() || this.lockedOut()) return;
    const c = this.clips();
    const [r, col] = pixelOf(point);
    const { width, height } = d.renderer;
    if (r < 0 || col < 0 || r >= height || col >= width) return;
    const labels = /** @type {Uint32Array} */ (d.state.labels);
    const touched = /** @type {Uint8Array} */ (d.state.touched);
    const label = d.model.get("selected_label") >>> 0;
    const box = (d.model.get("fill_contiguous") === false ? replaceValue : floodFill)(labels, touched, width, height, [r, col], label, c);
    if (!box) {
      d.say(inClips(c, r, col) ? `already label ${label} here` : "outside the ROI (edits are locked)");
      return;
    }
    const patch = extractMask(touched, width, box);
    this.send(patch, label);
    clearBox(touched, width, box);
    d.renderer.updateBox(box);
    this.afterEdit(box, label);
  }

  /** @param {Point} point */
  pickAt(point) {
    const { d } = this;
    if (!d.state.labels) return;
    const [r, c] = pixelOf(point);
    if (r < 0 || c < 0 || r >= d.renderer.height || c >= d.renderer.width) return;
    this.setSelected(d.state.labels[r * d.renderer.width + c]);
  }

  /** @param {number} label */
  setSelected(label) {
    const { d } = this;
    d.save("selected_label", label >>> 0);
    d.ui.labelInput.value = String(label >>> 0);
    if (d.model.get("show_selected_only")) {
      d.renderer.selected = label >>> 0;
      d.redraw();
    }
    d.updateStatus();
  }

  /** `m`: the next unused label (Python's, or above what this browser painted). */
  newLabel() {
    const { d } = this;
    const published = d.model.get("next_label");
    // next_label 0: Python says the population already uses the largest uint32 label.
    const next = published === 0 ? 0 : Math.max(published || 1, d.state.localMax + 1);
    if (next === 0 || next > LABEL_MAX) {
      d.say(`no unused label is left: the labels reach ${LABEL_MAX}, the largest uint32 label`);
      return;
    }
    this.setSelected(next);
    if (!["brush", "fill"].includes(d.model.get("tool"))) d.controls.setTool("brush");
    d.say(`new label ${next}`);
  }
}
