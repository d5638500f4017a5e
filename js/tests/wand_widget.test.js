// @vitest-environment jsdom
// The wand in the widget when a flood does not fit in one animation frame: the preview says so
// ("N+ px"), goes on over the next frames while the drag pauses until it is the whole region, and a
// release at any moment paints the whole region (wand.js's `mask`, checked against
// segpaint.ops.wand_mask in tests/test_widget_assist.py), as one stroke.
import { afterEach, beforeEach, expect, it, vi } from "vitest";
import widget from "../widget.js";
import { Wand } from "../wand.js";
import { MockModel } from "./mock_model.js";

const H = 8;
const W = 10;
const TOOLS = ["pan", "brush", "eraser", "fill", "picker", "roi", "segment", "wand", "split", "merge", "polygon", "delete-box"];
// channel 0: a ramp (i * 10), channel 1: constant; labels: cell 2 at rows 0-1 cols 0-3, cell 3 at rows 5-7 cols 6-9
const C0 = new Uint16Array(H * W).map((_, i) => i * 10);
const C1 = new Uint8Array(H * W).fill(50);
const LABELS = new Uint32Array(H * W).map((_, i) => {
  const r = Math.floor(i / W);
  const c = i % W;
  if (r <= 1 && c <= 3) return 2;
  if (r >= 5 && c >= 6) return 3;
  return 0;
});

function sendFrame(model) {
  const xfer = 1;
  model.deliver({ type: "frame", xfer, frame: 0, population: "cells", height: H, width: W, channels: [{ index: 0, dtype: "uint16" }, { index: 1, dtype: "uint8" }], labels: true, partial: false });
  model.deliver({ type: "band", xfer, key: "channel", channel: 0, row0: 0, row1: H, dtype: "uint16" }, [C0]);
  model.deliver({ type: "band", xfer, key: "channel", channel: 1, row0: 0, row1: H, dtype: "uint8" }, [C1]);
  model.deliver({ type: "band", xfer, key: "labels", encoding: "raw", row0: 0, row1: H, dtype: "uint32" }, [LABELS.slice()]);
  model.deliver({ type: "frame-end", xfer });
}

function pointer(target, type, x, y, extra = {}) {
  const e = new MouseEvent(type, { clientX: x, clientY: y, button: 0, bubbles: true, cancelable: true, ...extra });
  Object.defineProperty(e, "pointerId", { value: 1 });
  target.dispatchEvent(e);
}

let el, model, cleanup, disposeModel, root, dbg, canvas;
beforeEach(() => {
  HTMLCanvasElement.prototype.getContext = () => null;
  el = document.createElement("div");
  document.body.append(el);
  model = new MockModel({
    frame: 0, n_frames: 1, population: "cells", populations: ["cells"], tool: "brush", selected_label: 7,
    next_label: 8, brush_size: 3, contrast: [[0, 1000], [0, 100]], gamma: [1, 1], channel_visible: [true, true],
    channel_colors: ["#ff00ff", "#00ff00"], channel_names: ["phase", "nuclei"], opacity: 0.5, contour: false,
    show_selected_only: false, lock_to_roi: false, preserve_labels: true, status: "", rois: [], export_format: "celldetective",
    presegment_methods: ["threshold"], busy: false, progress: 0, _preview_step: 1, _widget_id: "assist-w",
    limits: { chunk_bytes: 4 * 1024 * 1024, brush_size: [1, 1024], gamma: [0.1, 4], tools: TOOLS, export_formats: ["celldetective"], label_max: 4294967295 },
  });
  disposeModel = widget.initialize({ model });
  cleanup = widget.render({ model, el });
  root = el.querySelector(".segpaint-annotator");
  dbg = root.__segpaint;
  canvas = el.querySelector("canvas.segpaint-view");
  sendFrame(model);
});
afterEach(() => {
  cleanup?.();
  disposeModel?.();
  el.remove();
});

const at = (row, col) => dbg.imageToClient(row, col);

const frame = () => new Promise((resolve) => requestAnimationFrame(resolve));
const status = () => root.querySelector(".segpaint-status").textContent;
const strokes = () => model.sent.filter((m) => m.content.type === "stroke");

/** Every flood step of the widget takes at most 3 pixels: a frame far too short for the region. */
function slowFloods() {
  const reach = Wand.prototype.reach;
  return vi.spyOn(Wand.prototype, "reach").mockImplementation(function (seed, tol, clip, budget) {
    return reach.call(this, seed, tol, clip, budget && budget.deadline !== undefined ? { maxPixels: 3 } : budget);
  });
}

/** The stroke's painted pixels as a set of "r,c". */
function painted(stroke) {
  const [r0, r1, c0, c1] = stroke.content.bbox;
  const bits = new Uint8Array(stroke.buffers[0]);
  const out = new Set();
  for (let r = r0; r < r1; r++) {
    for (let c = c0; c < c1; c++) {
      const k = (r - r0) * (c1 - c0) + (c - c0);
      if ((bits[k >> 3] >> (k & 7)) & 1) out.add(`${r},${c}`);
    }
  }
  return out;
}

/** What the wand should paint at (3, 3) with `tol`: its region minus other cells (preserve_labels). */
function expected(tol) {
  const m = new Wand([C0, C1], [[0, 1000], [0, 100]], W, H).mask([3, 3], tol);
  const [r0, r1, c0, c1] = m.bbox;
  const out = new Set();
  for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) if (m.mask[(r - r0) * (c1 - c0) + (c - c0)] && LABELS[r * W + c] === 0) out.add(`${r},${c}`);
  return { out, count: m.count };
}

it("the preview goes on over the next frames while the drag pauses, then the release paints the whole region", async () => {
  const spy = slowFloods();
  model.set("tool", "wand");
  const p = at(3, 3);
  pointer(canvas, "pointerdown", p.x, p.y);
  pointer(canvas, "pointermove", p.x + 40, p.y); // tolerance 0.1 + 40 / 400 = 0.2
  await frame();
  expect(status()).toMatch(/wand: tolerance 0\.200 · \d+\+ px/); // not all of it yet
  const { out, count } = expected(0.2);
  expect(count).toBeGreaterThan(20);
  for (let k = 0; k < 40 && !status().includes(` ${count} px`); k++) await frame();
  expect(status()).toContain(`tolerance 0.200 · ${count} px`);
  expect(strokes()).toEqual([]);
  pointer(canvas, "pointerup", p.x + 40, p.y);
  expect(strokes().length).toBe(1);
  expect(painted(strokes()[0])).toEqual(out);
  spy.mockRestore();
});

it("a release before the preview has caught up still paints the whole region, once", async () => {
  const spy = slowFloods();
  model.set("tool", "wand");
  const p = at(3, 3);
  pointer(canvas, "pointerdown", p.x, p.y);
  pointer(canvas, "pointermove", p.x + 60, p.y); // tolerance 0.25
  await frame();
  expect(status()).toMatch(/\d+\+ px/);
  pointer(canvas, "pointerup", p.x + 60, p.y);
  expect(strokes().length).toBe(1);
  expect(painted(strokes()[0])).toEqual(expected(0.25).out);
  for (let k = 0; k < 5; k++) await frame(); // no frame left scheduled paints or sends again
  expect(strokes().length).toBe(1);
  spy.mockRestore();
});
