// @ts-check
// Scribble mode (issue 12): "cell" and "background" marks drawn over the image, ilastik-style, to
// train the population's pixel classifier. The marks live in the Session (session.scribbles), never
// in the labels. Here: a per-view copy of the marks (one uint8 buffer per population and frame),
// drawn in two see-through colours on a canvas of their own; a scribble is painted at once with the
// brush rule (raster.js) and sent at pointer-up as its polyline (`scribble` message), which Python
// rasterises with the same rule. Python sends `scribble-patch` boxes (uint8) for marks changed
// elsewhere (undo, redo, clear, code). "Train from scribbles" asks Python to train and pre-segment.

import { h } from "./dom.js";
import { Stroke, unionBox } from "./raster.js";

/** @typedef {import("./display.js").Display} Display */
/** @typedef {{row: number, col: number}} Point */

export const MARK_CELL = 1;
export const MARK_BACKGROUND = 2;
/** Most points in one `scribble` message (Python's SCRIBBLE_POINTS_MAX). */
export const POINTS_MAX = 4096;
/** See-through RGBA of each mark. */
export const MARK_RGBA = /** @type {Record<number, number[]>} */ ({
  [MARK_CELL]: [0, 230, 118, 150],
  [MARK_BACKGROUND]: [255, 64, 129, 150],
});
export const MARK_NAMES = /** @type {Record<number, string>} */ ({ [MARK_CELL]: "cell", [MARK_BACKGROUND]: "background" });

/**
 * Split a polyline into pieces of at most `max` points; each piece starts where the last ended, so
 * the pieces rasterise to the same pixels as the whole.
 * @param {number[][]} points @param {number} [max]
 * @returns {number[][][]}
 */
export function chunkPoints(points, max = POINTS_MAX) {
  if (max < 2) throw new Error(`max must be at least 2; got ${max}`);
  if (points.length <= max) return [points];
  const out = [];
  for (let i = 0; i < points.length - 1; i += max - 1) out.push(points.slice(i, i + max));
  return out;
}

/**
 * Write a uint8 box of marks (a `scribble-patch`) into a frame's marks.
 * @param {Uint8Array} marks @param {number} width @param {number[]} bbox @param {ArrayBufferView} buffer
 */
export function writeMarks(marks, width, bbox, buffer) {
  const [r0, r1, c0, c1] = bbox;
  const w = c1 - c0;
  const src = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  if (src.length !== (r1 - r0) * w) throw new Error(`scribble-patch: ${src.length} bytes for a ${r1 - r0}x${w} box`);
  for (let r = r0; r < r1; r++) marks.set(src.subarray((r - r0) * w, (r - r0 + 1) * w), r * width + c0);
}

/**
 * RGBA (premultiplied by nothing: straight alpha) of the marks in `box`, written into `rgba` (the
 * whole frame, 4 bytes per pixel).
 * @param {Uint8Array} marks @param {Uint8ClampedArray} rgba @param {number} width @param {number[]} box
 */
export function paintMarks(marks, rgba, width, box) {
  const [r0, r1, c0, c1] = box;
  for (let r = r0; r < r1; r++) {
    for (let c = c0; c < c1; c++) {
      const i = r * width + c;
      const color = MARK_RGBA[marks[i]];
      const o = i * 4;
      if (color) {
        rgba[o] = color[0];
        rgba[o + 1] = color[1];
        rgba[o + 2] = color[2];
        rgba[o + 3] = color[3];
      } else {
        rgba[o + 3] = 0;
      }
    }
  }
}

/**
 * Marks shared by the views of one widget (keyed on the model-level state): a scribble drawn in one
 * view shows in the others at once, as strokes do.
 * @type {WeakMap<object, {store: Map<string, Uint8Array>, layers: Set<ScribbleLayer>}>}
 */
const SHARED = new WeakMap();

export class ScribbleLayer {
  /**
   * @param {Display} d
   * @param {(target: EventTarget, type: string, fn: (e: any) => void) => void} listen
   * @param {(name: string, fn: (...args: any[]) => void) => void} onModel
   */
  constructor(d, listen, onModel) {
    this.d = d;
    let shared = SHARED.get(d.state);
    if (!shared) {
      shared = { store: new Map(), layers: new Set() };
      SHARED.set(d.state, shared);
    }
    this.shared = shared;
    /** @type {Map<string, Uint8Array>} marks per `${position}\u0000${population}\u0000${frame}`, shared by the views */
    this.store = shared.store;
    shared.layers.add(this);
    this.mark = MARK_CELL;
    /** @type {Stroke | null} */
    this.stroke = null;
    /** @type {number[][]} */
    this.points = [];
    /** @type {{key: string, rgba: Uint8ClampedArray, canvas: HTMLCanvasElement | null, dirty: number[] | null} | null} */
    this.picture = null;

    const { ui } = d;
    this.canvas = /** @type {HTMLCanvasElement} */ (h("canvas", { class: "segpaint-scribble" }));
    this.canvas.style.cssText = "position:absolute;left:0;top:0;pointer-events:none";
    ui.viewport.insertBefore(this.canvas, ui.viewCanvas);
    this.btnMark = h("button", { type: "button", "data-action": "scribble-mark", title: "Scribble mark: cell or background (x swaps)" });
    this.btnTrain = h("button", {
      type: "button", "data-action": "train-scribbles", text: "Train from scribbles",
      title: "Train this population's pixel classifier from its scribbles, then pre-segment this frame",
    });
    this.btnClear = h("button", { type: "button", "data-action": "clear-scribbles", text: "Clear scribbles", title: "Remove this frame's scribbles (undo brings them back)" });
    this.row = h("div", { class: "segpaint-row segpaint-scribble-row" }, ["scribbles ", this.btnMark, this.btnTrain, this.btnClear]);
    ui.root.insertBefore(this.row, ui.viewport);
    listen(this.btnMark, "click", () => this.swap());
    listen(this.btnTrain, "click", () => this.train());
    listen(this.btnClear, "click", () => {
      d.say("clearing scribbles…");
      d.state.send({ type: "clear-scribbles" });
    });
    onModel("msg:custom", (/** @type {any} */ msg, /** @type {DataView[]} */ buffers) => {
      if (msg && msg.type === "scribble-patch") this.receive(msg, buffers || []);
    });
    onModel("change:busy", () => this.sync());
    this.sync();
  }

  /** The view goes: stop drawing into it from the other views. */
  dispose() {
    this.shared.layers.delete(this);
  }

  /**
   * Marks are kept per position (an Experiment's widget; null for one Session), population, frame.
   * @param {string | null} population @param {number | null} frame
   */
  key(population, frame) {
    return `${this.d.state.position}\u0000${population}\u0000${frame}`;
  }

  /** Marks of the frame shown (created empty on first use), or null before a frame arrived. */
  current(create = false) {
    const { state } = this.d;
    if (state.frame === null || !state.width || !state.height) return null;
    const key = this.key(state.population, state.frame);
    let marks = this.store.get(key) || null;
    if (!marks && create) {
      marks = new Uint8Array(state.width * state.height);
      this.store.set(key, marks);
    }
    return marks;
  }

  /** Mark value at a pixel of the frame shown (0 when none). @param {number} row @param {number} col */
  markAt(row, col) {
    const marks = this.current();
    return marks ? marks[row * this.d.state.width + col] : 0;
  }

  sync() {
    this.btnMark.textContent = `mark: ${MARK_NAMES[this.mark]}`;
    this.btnMark.style.color = `rgb(${MARK_RGBA[this.mark].slice(0, 3).join(",")})`;
    /** @type {HTMLButtonElement} */ (this.btnTrain).disabled = Boolean(this.d.model.get("busy"));
  }

  /** `x`: swap cell and background. */
  swap() {
    this.mark = this.mark === MARK_CELL ? MARK_BACKGROUND : MARK_CELL;
    this.sync();
    this.d.say(`scribble mark: ${MARK_NAMES[this.mark]}`);
  }

  train() {
    this.d.say("training from scribbles…");
    this.d.state.send({ type: "train-scribbles" });
  }

  /** @param {Point} point */
  start(point) {
    const { d } = this;
    if (d.state.frame !== d.model.get("frame")) {
      d.say("loading the frame…");
      return false;
    }
    const marks = this.current(true);
    if (!marks) return false;
    const { width, height } = d.state;
    this.stroke = new Stroke({
      labels: /** @type {any} */ (marks), touched: new Uint8Array(width * height), width, height,
      radius: Math.max(d.model.get("brush_size") / 2, 0.5), label: this.mark,
    });
    this.points = [];
    this.extend([point]);
    return true;
  }

  /** @param {Point[]} points */
  extend(points) {
    const s = this.stroke;
    if (!s) return;
    for (const p of points) {
      this.points.push([p.row, p.col]);
      const dirty = s.moveTo([p.row, p.col]);
      if (dirty) for (const layer of this.shared.layers) layer.repaint(dirty);
    }
  }

  get active() {
    return this.stroke !== null;
  }

  /** Pointer-up: send the polyline (Python rasterises it with the same rule). */
  end() {
    const s = this.stroke;
    this.stroke = null;
    if (!s) return;
    const { state } = this.d;
    for (const points of chunkPoints(this.points)) {
      state.send({ type: "scribble", population: state.population, frame: state.frame, points, radius: Math.max(this.d.model.get("brush_size") / 2, 0.5), mark: s.label });
    }
    this.points = [];
  }

  /** @param {any} msg @param {DataView[]} buffers */
  receive(msg, buffers) {
    const { state } = this.d;
    const width = state.width;
    const height = state.height;
    if (!width || !height || !buffers.length) return;
    const key = this.key(msg.population, msg.frame);
    let marks = this.store.get(key);
    if (!marks) {
      marks = new Uint8Array(width * height);
      this.store.set(key, marks);
    }
    writeMarks(marks, width, msg.bbox, buffers[0]);
    if (key === this.key(state.population, state.frame)) this.repaint(msg.bbox);
  }

  /** Update the picture of the marks in `box` and redraw. @param {number[]} box */
  repaint(box) {
    const marks = this.current();
    const pic = this.ensurePicture();
    if (marks && pic) {
      paintMarks(marks, pic.rgba, this.d.state.width, box);
      pic.dirty = unionBox(pic.dirty, box);
    }
    this.draw();
  }

  /** The RGBA picture of the frame shown's marks (rebuilt when the frame changes). */
  ensurePicture() {
    const { state } = this.d;
    const key = this.key(state.population, state.frame);
    if (this.picture && this.picture.key === key) return this.picture;
    if (state.frame === null || !state.width || !state.height) return null;
    const rgba = new Uint8ClampedArray(state.width * state.height * 4);
    const marks = this.current();
    if (marks) paintMarks(marks, rgba, state.width, [0, state.height, 0, state.width]);
    const canvas = typeof document !== "undefined" ? document.createElement("canvas") : null;
    if (canvas) {
      canvas.width = state.width;
      canvas.height = state.height;
    }
    this.picture = { key, rgba, canvas, dirty: [0, state.height, 0, state.width] };
    return this.picture;
  }

  /** Draw the marks of the frame shown over the image, at the view's zoom and pan. */
  draw() {
    const { renderer, view } = this.d;
    const w = renderer.viewWidth || 0;
    const hgt = renderer.viewHeight || 0;
    if (this.canvas.width !== w) this.canvas.width = w;
    if (this.canvas.height !== hgt) this.canvas.height = hgt;
    // No marks on this frame: hide the canvas, so the browser does not copy an empty layer out
    // at every frame of a brush stroke.
    const shown = Boolean(this.current() && this.ensurePicture()?.canvas);
    if (this.canvas.style.display !== (shown ? "" : "none")) this.canvas.style.display = shown ? "" : "none";
    const ctx = this.canvas.getContext("2d");
    if (!ctx) return; // no 2-D canvas (jsdom)
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, w, hgt);
    const pic = this.ensurePicture();
    if (!pic || !pic.canvas || !this.current()) return;
    const pctx = pic.canvas.getContext("2d");
    if (!pctx) return;
    if (pic.dirty && typeof ImageData === "function") {
      // only the changed box: a scribble step costs its box, not the frame
      const [r0, r1, c0, c1] = pic.dirty;
      pctx.putImageData(new ImageData(/** @type {Uint8ClampedArray<ArrayBuffer>} */ (pic.rgba), pic.canvas.width, pic.canvas.height), 0, 0, c0, r0, c1 - c0, r1 - r0);
      pic.dirty = null;
    }
    ctx.imageSmoothingEnabled = false;
    ctx.setTransform(view.scale, 0, 0, view.scale, view.tx, view.ty);
    ctx.drawImage(pic.canvas, 0, 0);
  }
}
