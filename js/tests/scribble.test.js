// @vitest-environment jsdom
// Scribble mode (issue 12): marks drawn locally over the image, sent as one polyline per stroke,
// patches from Python applied, "Train from scribbles" sent; pure helpers checked on their own.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import widget from "../widget.js";
import { Stroke } from "../raster.js";
import { MARK_RGBA, chunkPoints, paintMarks, writeMarks } from "../scribble.js";
import { MockModel } from "./mock_model.js";


const H = 12;
const W = 16;
const TOOLS = ["pan", "brush", "eraser", "fill", "picker", "roi", "scribble"];

function initial() {
  return {
    frame: 0, n_frames: 2, population: "cells", populations: ["cells"], tool: "brush", selected_label: 1,
    next_label: 1, brush_size: 3, contrast: [[0, 255]], gamma: [1], channel_visible: [true],
    channel_colors: ["#ffffff"], channel_names: ["nuclei"], opacity: 0.5, contour: false,
    show_selected_only: false, lock_to_roi: false, status: "", rois: [], export_format: "celldetective",
    presegment_methods: ["threshold"], busy: false, progress: 0, _preview_step: 1, _widget_id: "s1",
    image_shape: [H, W],
    limits: { chunk_bytes: 4 * 1024 * 1024, brush_size: [1, 1024], gamma: [0.1, 4], tools: TOOLS, export_formats: ["celldetective"], label_max: 4294967295 },
  };
}

function sendFrame(model, t) {
  const xfer = t + 1;
  model.deliver({ type: "frame", xfer, frame: t, population: "cells", height: H, width: W, channels: [{ index: 0, dtype: "uint8" }], labels: true, partial: false });
  model.deliver({ type: "band", xfer, key: "channel", channel: 0, row0: 0, row1: H, dtype: "uint8" }, [new Uint8Array(H * W).fill(30)]);
  model.deliver({ type: "band", xfer, key: "labels", encoding: "rle", start: 0, runs: 1 }, [Uint32Array.from([0]), Uint32Array.from([H * W])]);
  model.deliver({ type: "frame-end", xfer });
}

function pointer(target, type, x, y) {
  const e = new MouseEvent(type, { clientX: x, clientY: y, button: 0, bubbles: true, cancelable: true });
  Object.defineProperty(e, "pointerId", { value: 1 });
  target.dispatchEvent(e);
}

const key = (target, k) => target.dispatchEvent(new KeyboardEvent("keydown", { key: k, bubbles: true, cancelable: true }));

describe("scribble helpers", () => {
  it("splits a long polyline into pieces that share their ends and rasterise to the same marks", () => {
    const pts = Array.from({ length: 11 }, (_, i) => [1 + i * 0.7, 2 + ((i * 37) % 9)]);
    const pieces = chunkPoints(pts, 4);
    expect(pieces.map((p) => p.length)).toEqual([4, 4, 4, 2]);
    for (let i = 1; i < pieces.length; i++) expect(pieces[i][0]).toEqual(pieces[i - 1].at(-1));
    expect(chunkPoints(pts, 64)).toEqual([pts]);
    const draw = (lines) => {
      const marks = new Uint8Array(H * W);
      for (const line of lines) {
        const s = new Stroke({ labels: marks, touched: new Uint8Array(H * W), width: W, height: H, radius: 1.5, label: 2 });
        for (const p of line) s.moveTo(p);
      }
      return marks;
    };
    expect(Array.from(draw(pieces))).toEqual(Array.from(draw([pts])));
    expect(() => chunkPoints(pts, 1)).toThrow("max must be at least 2");
  });

  it("writes a uint8 patch box and paints marks in their see-through colours", () => {
    const marks = new Uint8Array(4 * 5);
    writeMarks(marks, 5, [1, 3, 2, 4], new Uint8Array([1, 2, 0, 1]));
    expect(Array.from(marks)).toEqual([0, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    expect(() => writeMarks(marks, 5, [0, 2, 0, 2], new Uint8Array(3))).toThrow("3 bytes for a 2x2 box");
    const rgba = new Uint8ClampedArray(4 * 5 * 4).fill(9);
    paintMarks(marks, rgba, 5, [0, 4, 0, 5]);
    expect(Array.from(rgba.subarray(7 * 4, 7 * 4 + 4))).toEqual(MARK_RGBA[1]);
    expect(Array.from(rgba.subarray(8 * 4, 8 * 4 + 4))).toEqual(MARK_RGBA[2]);
    expect(rgba[0 * 4 + 3]).toBe(0); // unmarked: transparent
    expect(MARK_RGBA[1][3]).toBeLessThan(255); // see-through
  });
});

describe("scribble mode in the widget", () => {
  let el, model, cleanup, dispose, root, dbg, canvas;
  beforeEach(() => {
    HTMLCanvasElement.prototype.getContext = () => null;
    el = document.createElement("div");
    document.body.append(el);
    model = new MockModel(initial());
    dispose = widget.initialize({ model });
    cleanup = widget.render({ model, el });
    root = el.querySelector(".segpaint-annotator");
    dbg = root.__segpaint;
    canvas = el.querySelector("canvas.segpaint-view");
    sendFrame(model, 0);
  });
  afterEach(() => {
    cleanup?.();
    dispose?.();
    el.remove();
  });
  const scribbles = () => model.sent.filter((m) => m.content.type === "scribble").map((m) => m.content);

  it("s picks the tool, draws cell marks locally and sends one polyline at pointer-up; labels untouched", () => {
    expect(root.querySelector('button[data-tool="scribble"]')).not.toBe(null);
    key(root, "s");
    expect(model.get("tool")).toBe("scribble");
    const a = dbg.imageToClient(3, 2);
    const b = dbg.imageToClient(3, 9);
    pointer(canvas, "pointerdown", a.x, a.y);
    pointer(canvas, "pointermove", (a.x + b.x) / 2, a.y);
    expect(dbg.scribble(3, 5)).toBe(1); // drawn at once
    expect(scribbles()).toEqual([]); // nothing on the wire during the stroke
    pointer(canvas, "pointermove", b.x, b.y);
    pointer(canvas, "pointerup", b.x, b.y);
    const sent = scribbles();
    expect(sent.length).toBe(1);
    expect(sent[0]).toMatchObject({ population: "cells", frame: 0, radius: 1.5, mark: 1 });
    expect(sent[0].points.length).toBe(3);
    expect(sent[0].points[0][0]).toBeCloseTo(3, 6);
    expect(sent[0].points[2][1]).toBeCloseTo(9, 6);
    // the brush rule: radius 1.5 covers rows 2..4 along the line, not row 5
    expect(dbg.scribble(2, 6)).toBe(1);
    expect(dbg.scribble(5, 6)).toBe(0);
    expect(dbg.label(3, 5)).toBe(0);
    expect(model.sent.filter((m) => m.content.type === "stroke")).toEqual([]);
  });

  it("x swaps to background; Python's patches replace marks; the buttons send their messages", () => {
    key(root, "s");
    key(root, "x");
    const button = root.querySelector('button[data-action="scribble-mark"]');
    expect(button.textContent).toBe("mark: background");
    const p = dbg.imageToClient(6, 6);
    pointer(canvas, "pointerdown", p.x, p.y);
    pointer(canvas, "pointerup", p.x, p.y);
    expect(scribbles()[0].mark).toBe(2);
    expect(dbg.scribble(6, 6)).toBe(2);
    // undo in Python: the box comes back as zeros
    model.deliver({ type: "scribble-patch", population: "cells", frame: 0, bbox: [5, 8, 5, 8] }, [new Uint8Array(9)]);
    expect(dbg.scribble(6, 6)).toBe(0);
    // a patch for another frame is kept for when that frame is shown, not drawn on this one
    model.deliver({ type: "scribble-patch", population: "cells", frame: 1, bbox: [0, 1, 0, 2] }, [new Uint8Array([1, 1])]);
    expect(dbg.scribble(0, 0)).toBe(0);
    button.click();
    expect(button.textContent).toBe("mark: cell");
    root.querySelector('button[data-action="train-scribbles"]').click();
    root.querySelector('button[data-action="clear-scribbles"]').click();
    const types = model.sent.map((m) => m.content.type);
    expect(types).toContain("train-scribbles");
    expect(types).toContain("clear-scribbles");
    model.set("busy", true);
    expect(root.querySelector('button[data-action="train-scribbles"]').disabled).toBe(true);
    // frame 1 shown: its marks from the earlier patch are there
    model.set("frame", 1);
    sendFrame(model, 1);
    expect(dbg.scribble(0, 1)).toBe(1);
  });
});

describe("scribbles in several views of one widget", () => {
  it("a scribble drawn in one view shows in the other at once; a closed view is left alone", () => {
    HTMLCanvasElement.prototype.getContext = () => null;
    const model = new MockModel(initial());
    const dispose = widget.initialize({ model });
    const els = [document.createElement("div"), document.createElement("div")];
    for (const e of els) document.body.append(e);
    const cleanups = els.map((el) => widget.render({ model, el }));
    sendFrame(model, 0);
    const [one, two] = els.map((e) => e.querySelector(".segpaint-annotator").__segpaint);
    model.set("tool", "scribble");
    const canvas = els[0].querySelector("canvas.segpaint-view");
    const p = one.imageToClient(4, 4);
    pointer(canvas, "pointerdown", p.x, p.y);
    expect(two.scribble(4, 4)).toBe(1);
    pointer(canvas, "pointerup", p.x, p.y);
    expect(model.sent.filter((m) => m.content.type === "scribble").length).toBe(1);
    cleanups[1]();
    const q = one.imageToClient(8, 8);
    pointer(canvas, "pointerdown", q.x, q.y); // the closed view is not drawn into (no error)
    pointer(canvas, "pointerup", q.x, q.y);
    expect(one.scribble(8, 8)).toBe(1);
    cleanups[0]();
    dispose();
    for (const e of els) e.remove();
  });
});
