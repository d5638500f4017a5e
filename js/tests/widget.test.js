// @vitest-environment jsdom
// Mounts the widget against a mocked anywidget model (no Jupyter): frames arrive as binary bands,
// pointer events paint locally, and exactly one binary patch per stroke goes to "Python".
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import widget from "../widget.js";
import { MockModel } from "./mock_model.js";
import { STROKE_STATUS_MS } from "../editor.js";


const H = 8;
const W = 10;

function state(extra = {}) {
  return {
    frame: 0, n_frames: 3, population: "cells", populations: ["cells"], tool: "brush", selected_label: 1,
    next_label: 5, brush_size: 3, contrast: [[0, 1000], [0, 100]], gamma: [1, 1], channel_visible: [true, true],
    channel_colors: ["#ff00ff", "#00ff00"], channel_names: ["phase", "nuclei"], opacity: 0.5, contour: false,
    show_selected_only: false, lock_to_roi: false, status: "", rois: [], export_format: "celldetective",
    presegment_methods: ["threshold"], busy: false, progress: 0, _preview_step: 1, _widget_id: "w1",
    limits: { chunk_bytes: 4 * 1024 * 1024, brush_size: [1, 1024], gamma: [0.1, 4], tools: ["pan", "brush", "eraser", "fill", "picker", "roi"], export_formats: ["celldetective", "cellpose", "stardist"], label_max: 4294967295 },
    ...extra,
  };
}

/** Send frame `t` the way segpaint/widgets/_wire.py does: header, bands, end. */
function sendFrame(model, t, { xfer = t + 1, labels = null } = {}) {
  const c0 = new Uint16Array(H * W).map((_, i) => (i * 10 + t * 100) % 1000);
  const c1 = new Uint8Array(H * W).fill(50);
  model.deliver({ type: "frame", xfer, frame: t, population: "cells", height: H, width: W, channels: [{ index: 0, dtype: "uint16" }, { index: 1, dtype: "uint8" }], labels: true, partial: false });
  model.deliver({ type: "band", xfer, key: "channel", channel: 0, row0: 0, row1: 4, dtype: "uint16" }, [c0.subarray(0, 4 * W)]);
  model.deliver({ type: "band", xfer, key: "channel", channel: 0, row0: 4, row1: 8, dtype: "uint16" }, [c0.subarray(4 * W)]);
  model.deliver({ type: "band", xfer, key: "channel", channel: 1, row0: 0, row1: 8, dtype: "uint8" }, [c1]);
  if (labels) {
    model.deliver({ type: "band", xfer, key: "labels", encoding: "raw", row0: 0, row1: H, dtype: "uint32" }, [labels]);
  } else {
    // RLE: everything 0 except a 2-pixel cell 4 at the start of row 7
    model.deliver({ type: "band", xfer, key: "labels", encoding: "rle", start: 0, runs: 2 }, [Uint32Array.from([0, 4]), Uint32Array.from([7 * W, 2])]);
    model.deliver({ type: "band", xfer, key: "labels", encoding: "rle", start: 7 * W + 2, runs: 1 }, [Uint32Array.from([0]), Uint32Array.from([W - 2])]);
  }
  model.deliver({ type: "frame-end", xfer });
}

function pointer(target, type, x, y, extra = {}) {
  const e = new MouseEvent(type, { clientX: x, clientY: y, button: 0, bubbles: true, cancelable: true, ...extra });
  Object.defineProperty(e, "pointerId", { value: 1 });
  target.dispatchEvent(e);
}

function key(target, k, extra = {}) {
  target.dispatchEvent(new KeyboardEvent("keydown", { key: k, bubbles: true, cancelable: true, ...extra }));
}

let el;
let model;
let cleanup;
let disposeModel;
let root;
let dbg;
let canvas;

beforeEach(() => {
  HTMLCanvasElement.prototype.getContext = () => null; // jsdom has no 2D canvas; the renderer copes
  el = document.createElement("div");
  document.body.append(el);
  model = new MockModel(state());
  disposeModel = widget.initialize({ model }); // as anywidget does, once per model
  cleanup = widget.render({ model, el });
  root = el.querySelector(".segpaint-annotator");
  dbg = root.__segpaint;
  canvas = el.querySelector("canvas.segpaint-view");
});
afterEach(() => {
  cleanup?.();
  disposeModel?.();
  el.remove();
});

const at = (row, col) => dbg.imageToClient(row, col);
const patches = () => model.sent.filter((m) => m.content.type === "stroke");

describe("Annotator front-end", () => {
  it("exposes the DOM contract and asks Python for the frame when it mounts", () => {
    expect(root.getAttribute("data-ready")).toBe("0");
    expect(model.sent[0].content).toEqual({ type: "request-frame" });
    for (const t of ["pan", "brush", "eraser", "fill", "picker", "roi"]) expect(root.querySelector(`button[data-tool="${t}"]`)).not.toBe(null);
    for (const a of ["undo", "redo", "new-label", "fit", "export", "save", "presegment"]) expect(root.querySelector(`button[data-action="${a}"]`)).not.toBe(null);
    for (const c of ["frame", "brush-size", "opacity"]) expect(root.querySelector(`input[data-control="${c}"]`)).not.toBe(null);
    expect(root.querySelector('input[data-control="contrast-lo"][data-channel="1"]')).not.toBe(null);
    expect(root.querySelector('select[data-control="export-format"]')).not.toBe(null);
    expect(root.querySelector('select[data-control="population"]').value).toBe("cells");
  });

  it("draws a frame from binary bands (uint16 + uint8 + RLE labels) and marks itself ready", () => {
    sendFrame(model, 0);
    expect(root.getAttribute("data-ready")).toBe("1");
    expect(root.getAttribute("data-frame")).toBe("0");
    expect(Number(root.getAttribute("data-draws"))).toBeGreaterThan(0);
    expect(dbg.label(7, 0)).toBe(4);
    expect(dbg.label(7, 2)).toBe(0);
    // channel 0 pixel (0, 5) = 50 of 1000 in magenta, channel 1 = 50 of 100 in green
    expect(dbg.renderedPixel(0, 5)).toEqual([13, 128, 13, 255]);
    const p = at(3, 4);
    expect(dbg.clientToImage(p.x, p.y)).toEqual({ row: 3, col: 4 });
  });

  it("paints a stroke locally and sends exactly one binary patch at pointer-up", () => {
    sendFrame(model, 0);
    const before = model.sent.length;
    const a = at(2, 2);
    const b = at(2, 6);
    pointer(canvas, "pointerdown", a.x, a.y);
    for (let k = 1; k <= 8; k++) pointer(canvas, "pointermove", a.x + ((b.x - a.x) * k) / 8, a.y);
    expect(model.sent.length).toBe(before); // nothing goes to Python during the stroke
    expect(dbg.label(2, 4)).toBe(1); // painted locally at once
    pointer(canvas, "pointerup", b.x, b.y);
    const sent = patches();
    expect(sent.length).toBe(1);
    const { content, buffers } = sent[0];
    // One label under a bit-packed mask: 1 bit per pixel of the box.
    expect(content).toMatchObject({ population: "cells", frame: 0, part: 0, parts: 1, encoding: "mask", label: 1 });
    // brush_size 3 -> radius 1.5: 3x3 disks along row 2 from col 2 to col 6
    expect(content.bbox).toEqual([1, 4, 1, 8]);
    expect(buffers.length).toBe(1);
    const bits = new Uint8Array(buffers[0]);
    expect(bits.length).toBe(Math.ceil((3 * 7) / 8));
    expect(Array.from({ length: 21 }, (_, i) => (bits[i >> 3] >> (i & 7)) & 1)).toEqual(new Array(21).fill(1));
    expect(dbg.label(0, 4)).toBe(0);
    expect(dbg.messagesSent).toBe(model.sent.length);
  });

  it("paints every coalesced pointer event of a move, and redraws no ROI overlay during a stroke", async () => {
    sendFrame(model, 0);
    model.set("rois", [[0, 8, 0, 10]]); // an ROI on the overlay: it must not be redrawn per move
    let overlayDraws = 0;
    canvas.getContext = () => {
      overlayDraws++;
      return null;
    };
    const a = at(1, 1);
    pointer(canvas, "pointerdown", a.x, a.y);
    const drawsAtDown = overlayDraws;
    // One pointermove standing for three the browser coalesced: (1, 3), (4, 3), (4, 8).
    const e = new MouseEvent("pointermove", { clientX: at(4, 8).x, clientY: at(4, 8).y, bubbles: true });
    Object.defineProperty(e, "pointerId", { value: 1 });
    const coalesced = [at(1, 3), at(4, 3), at(4, 8)].map((p) => ({ clientX: p.x, clientY: p.y }));
    Object.defineProperty(e, "getCoalescedEvents", { value: () => coalesced });
    canvas.dispatchEvent(e);
    expect(dbg.label(1, 2)).toBe(1); // between the press and the first coalesced point
    expect(dbg.label(3, 3)).toBe(1); // on the way down to (4, 3)
    expect(dbg.label(4, 6)).toBe(1); // on the way to (4, 8)
    expect(dbg.label(6, 6)).toBe(0);
    await new Promise((resolve) => requestAnimationFrame(resolve)); // hover work runs once per frame
    expect(overlayDraws).toBe(drawsAtDown);
    pointer(canvas, "pointerup", at(4, 8).x, at(4, 8).y);
    expect(patches().length).toBe(1);
    expect(patches()[0].content.bbox).toEqual([0, 6, 0, 10]);
  });

  it("paints with a small brush without an animation-frame callback per move; the status line follows every STROKE_STATUS_MS", async () => {
    sendFrame(model, 0);
    model.set("brush_size", 1); // the outline is the pointer's own cursor image
    const status = () => root.querySelector(".segpaint-status-text").textContent;
    const p0 = at(2, 2);
    pointer(canvas, "pointermove", p0.x, p0.y);
    await new Promise((resolve) => requestAnimationFrame(resolve));
    expect(status()).toContain("(2, 2)");
    const raf = vi.spyOn(window, "requestAnimationFrame");
    pointer(canvas, "pointerdown", p0.x, p0.y);
    for (const col of [3, 4, 5, 6]) pointer(canvas, "pointermove", at(2, col).x, at(2, col).y);
    expect(raf).not.toHaveBeenCalled();
    expect(dbg.label(2, 6)).toBe(1); // painted at once
    await new Promise((resolve) => setTimeout(resolve, STROKE_STATUS_MS + 30));
    expect(status()).toContain("(2, 6)"); // caught up during the stroke
    const line = root.querySelector(".segpaint-status");
    expect(line.title).toContain("(2, 2)"); // the tooltip waits for the stroke's end
    const textNode = root.querySelector(".segpaint-status-text").firstChild;
    pointer(canvas, "pointerup", at(2, 6).x, at(2, 6).y);
    expect(raf).toHaveBeenCalled(); // the release puts the cursor and status back at once
    raf.mockRestore();
    await new Promise((resolve) => requestAnimationFrame(resolve));
    expect(line.title).toContain("(2, 6)");
    expect(line.title).toContain("label 1");
    // the line's text node was rewritten in place, not replaced
    expect(root.querySelector(".segpaint-status-text").firstChild).toBe(textNode);
    expect(status()).toContain("(2, 6)");
  });

  it("shows a wide brush outline as an element under the pointer, red for the eraser, none for fill", async () => {
    sendFrame(model, 0);
    const nextFrame = () => new Promise((resolve) => requestAnimationFrame(resolve));
    const p = at(4, 5);
    pointer(canvas, "pointermove", p.x, p.y);
    await nextFrame();
    const outline = root.querySelector(".segpaint-brush-cursor");
    expect(outline).not.toBe(null);
    expect(outline.style.display).not.toBe("none");
    // brush_size 3 at the view's scale: a circle of radius 1.5 * scale around the pointer
    const scale = at(0, 1).x - at(0, 0).x;
    const r = 1.5 * scale;
    expect(parseFloat(outline.style.width)).toBeCloseTo(2 * r + 1, 5);
    const vp = root.querySelector(".segpaint-viewport").getBoundingClientRect();
    const [tx, ty] = outline.style.transform.match(/-?[\d.]+/g).map(Number);
    expect(tx + r + 0.5).toBeCloseTo(p.x - vp.left, 5);
    expect(ty + r + 0.5).toBeCloseTo(p.y - vp.top, 5);
    expect(outline.style.borderColor).toBe("rgb(255, 255, 255)");
    model.set("tool", "eraser");
    pointer(canvas, "pointermove", p.x + 1, p.y);
    await nextFrame();
    expect(outline.style.borderColor).toBe("rgb(255, 96, 96)");
    model.set("tool", "fill");
    pointer(canvas, "pointermove", p.x + 2, p.y);
    await nextFrame();
    expect(outline.style.display).toBe("none");
    model.set("tool", "brush");
    pointer(canvas, "pointermove", p.x, p.y);
    await nextFrame();
    expect(outline.style.display).not.toBe("none");
    pointer(canvas, "pointerleave", p.x, p.y);
    expect(outline.style.display).toBe("none");
  });

  it("shows a brush outline up to 128 px as the pointer's cursor image, the hand while panning", async () => {
    sendFrame(model, 0);
    const nextFrame = () => new Promise((resolve) => requestAnimationFrame(resolve));
    const scale = at(0, 1).x - at(0, 0).x;
    model.set("brush_size", 1); // radius 0.5 px of the image: 0.5 * scale on screen
    const p = at(4, 5);
    pointer(canvas, "pointermove", p.x, p.y);
    await nextFrame();
    const outline = root.querySelector(".segpaint-brush-cursor");
    expect(outline === null || outline.style.display === "none").toBe(true);
    const size = Math.ceil(scale + 2);
    expect(size).toBeLessThanOrEqual(128);
    const css = canvas.style.cursor;
    const svg = decodeURIComponent(css.match(/data:image\/svg\+xml,(.*?)"\)/)[1]);
    expect(svg).toContain(`width='${size}'`);
    expect(Number(svg.match(/ r='([\d.]+)'/)[1])).toBeCloseTo(0.5 * scale, 6);
    expect(svg).toContain("stroke='#ffffff'");
    expect(css).toMatch(new RegExp(`\\) ${Math.round(size / 2)} ${Math.round(size / 2)}, crosshair$`)); // hot spot: the centre
    // A middle-button pan shows the hand, not the brush; the brush comes back at release.
    pointer(canvas, "pointerdown", p.x, p.y, { button: 1 });
    pointer(canvas, "pointermove", p.x + 5, p.y);
    await nextFrame();
    expect(canvas.style.cursor).toBe("grabbing");
    pointer(canvas, "pointerup", p.x + 5, p.y, { button: 1 });
    expect(canvas.style.cursor).toContain("data:image/svg+xml");
    model.set("tool", "fill");
    expect(canvas.style.cursor).toBe("crosshair");
  });

  it("keeps no backing store on the overlay or scribble canvas while they have nothing to show", () => {
    // A canvas layer is copied out at every frame of a stroke: an empty one must not be there.
    const ctx = new Proxy({}, { get: (t, k) => (k in t ? t[k] : () => {}), set: (t, k, v) => ((t[k] = v), true) });
    canvas.getContext = () => ctx;
    sendFrame(model, 0);
    model.set("rois", []);
    expect([canvas.width, canvas.height]).toEqual([0, 0]);
    expect(root.querySelector("canvas.segpaint-scribble").style.display).toBe("none");
    model.set("rois", [[1, 5, 1, 5]]);
    expect(canvas.width).toBeGreaterThan(0); // the ROI is drawn
    expect(canvas.height).toBeGreaterThan(0);
    model.set("rois", []);
    expect([canvas.width, canvas.height]).toEqual([0, 0]);
  });

  it("erases and fills (fill with 0 deletes a cell), each as one patch", () => {
    sendFrame(model, 0);
    model.set("tool", "fill");
    model.set("selected_label", 0);
    const p = at(7, 1);
    pointer(canvas, "pointerdown", p.x, p.y);
    pointer(canvas, "pointerup", p.x, p.y);
    expect(dbg.label(7, 0)).toBe(0);
    expect(dbg.label(7, 1)).toBe(0);
    const [fill] = patches();
    expect(fill.content.bbox).toEqual([7, 8, 0, 2]);
    expect(fill.content).toMatchObject({ encoding: "mask", label: 0 });
    expect(Array.from(new Uint8Array(fill.buffers[0]))).toEqual([0b11]);
    model.set("tool", "eraser");
    pointer(canvas, "pointerdown", at(0, 0).x, at(0, 0).y);
    pointer(canvas, "pointerup", at(0, 0).x, at(0, 0).y);
    const erase = patches()[1];
    expect(erase.content).toMatchObject({ encoding: "mask", label: 0 });
    expect(Array.from(new Uint8Array(erase.buffers[0])).some((m) => m !== 0)).toBe(true);
  });

  it("m does nothing but say so once the labels reach the largest uint32 label", () => {
    sendFrame(model, 0, { labels: new Uint32Array(H * W).fill(0xffffffff) });
    model.set("next_label", 0); // what Python publishes when no unused label is left
    model.set("selected_label", 3);
    key(root, "m");
    expect(model.get("selected_label")).toBe(3);
    expect(root.querySelector(".segpaint-status").textContent).toContain("no unused label is left");
  });

  it("keeps napari keys: m picks the next unused label, b/e/f/l/r switch tools, [ ] size, Ctrl+Z undo", () => {
    sendFrame(model, 0);
    key(root, "e");
    expect(model.get("tool")).toBe("eraser");
    key(root, "m");
    expect(model.get("selected_label")).toBe(5); // max(next_label 5, local max 4 + 1)
    expect(model.get("tool")).toBe("brush");
    key(root, "f");
    key(root, "l");
    expect(model.get("tool")).toBe("picker");
    key(root, "r");
    expect(model.get("tool")).toBe("roi");
    key(root, "]");
    expect(model.get("brush_size")).toBe(4);
    key(root, "[");
    key(root, "[");
    expect(model.get("brush_size")).toBe(2);
    key(root, "z", { ctrlKey: true });
    key(root, "Z", { ctrlKey: true, shiftKey: true });
    expect(model.sent.slice(-2).map((m) => m.content.type)).toEqual(["undo", "redo"]);
    key(root, ".");
    expect(model.get("frame")).toBe(1);
    key(root, ",");
    expect(model.get("frame")).toBe(0);
  });

  it("re-renders a contrast change locally without any message to Python until release", () => {
    sendFrame(model, 0);
    const before = model.sent.length;
    const saves = model.saved.length;
    const draws = dbg.draws;
    const px = dbg.renderedPixel(0, 5);
    const hi = root.querySelector('input[data-control="contrast-hi"][data-channel="0"]');
    hi.value = "100";
    hi.dispatchEvent(new Event("input", { bubbles: true }));
    expect(dbg.draws).toBe(draws + 1);
    expect(dbg.renderedPixel(0, 5)).not.toEqual(px);
    expect(model.sent.length).toBe(before);
    expect(model.saved.length).toBe(saves);
    hi.dispatchEvent(new Event("change", { bubbles: true }));
    expect(model.get("contrast")[0]).toEqual([0, 100]);
  });

  it("applies region patches from Python (undo, pre-segmentation) to the local buffer", () => {
    sendFrame(model, 0);
    model.deliver({ type: "labels-patch", population: "cells", frame: 0, bbox: [0, 2, 0, 2], dtype: "uint16" }, [Uint16Array.from([9, 9, 9, 70])]);
    expect(dbg.label(0, 0)).toBe(9);
    expect(dbg.label(1, 1)).toBe(70);
    model.deliver({ type: "labels-patch", population: "cells", frame: 2, bbox: [0, 1, 0, 1], dtype: "uint32" }, [Uint32Array.from([5])]);
    expect(dbg.label(0, 0)).toBe(9); // another frame's patch does not touch this one
  });

  it("changes frame through the model and shows the new frame when it arrives", () => {
    sendFrame(model, 0);
    const slider = root.querySelector('input[data-control="frame"]');
    slider.value = "2";
    slider.dispatchEvent(new Event("input", { bubbles: true }));
    expect(model.get("frame")).toBe(2);
    const px0 = dbg.renderedPixel(0, 0);
    sendFrame(model, 2);
    expect(root.getAttribute("data-frame")).toBe("2");
    expect(dbg.renderedPixel(0, 0)).not.toEqual(px0);
    expect(model.get("tool")).toBe("brush");
  });

  it("draws, moves and deletes ROIs and exports the selected one", () => {
    sendFrame(model, 0);
    model.set("tool", "roi");
    pointer(canvas, "pointerdown", at(1, 1).x, at(1, 1).y);
    pointer(canvas, "pointermove", at(4, 5).x, at(4, 5).y);
    pointer(canvas, "pointerup", at(4, 5).x, at(4, 5).y);
    const add = model.sent.at(-1).content;
    expect(add).toEqual({ type: "roi-add", frame: 0, bbox: [1, 5, 1, 6] });
    // drag inside: move by (1, 2)
    pointer(canvas, "pointerdown", at(3, 3).x, at(3, 3).y);
    pointer(canvas, "pointermove", at(4, 5).x, at(4, 5).y);
    pointer(canvas, "pointerup", at(4, 5).x, at(4, 5).y);
    expect(model.sent.at(-1).content).toEqual({ type: "roi-change", frame: 0, old: [1, 5, 1, 6], bbox: [2, 6, 3, 8] });
    root.querySelector('button[data-action="export"]').click();
    expect(model.sent.at(-1).content).toEqual({ type: "export", frame: 0, bbox: [2, 6, 3, 8], format: "celldetective" });
    key(root, "Delete");
    expect(model.sent.at(-1).content).toEqual({ type: "roi-remove", frame: 0, bbox: [2, 6, 3, 8] });
    expect(dbg.rois).toEqual([]);
  });

  it("locks edits to ROIs: nothing outside them changes, and none at all without an ROI", () => {
    sendFrame(model, 0);
    model.set("lock_to_roi", true);
    pointer(canvas, "pointerdown", at(2, 2).x, at(2, 2).y);
    pointer(canvas, "pointerup", at(2, 2).x, at(2, 2).y);
    expect(patches().length).toBe(0);
    expect(root.querySelector(".segpaint-status").textContent).toMatch(/locked to ROIs but this frame has none/);
    model.set("rois", [[0, 3, 0, 3]]);
    const a = at(2, 0);
    const b = at(2, 6);
    pointer(canvas, "pointerdown", a.x, a.y);
    pointer(canvas, "pointermove", b.x, b.y);
    pointer(canvas, "pointerup", b.x, b.y);
    expect(dbg.label(2, 2)).toBe(1);
    expect(dbg.label(2, 4)).toBe(0);
    expect(patches()[0].content.bbox[3]).toBeLessThanOrEqual(3);
  });

  it("shows cursor position, pixel values and labels in the status line (once per animation frame)", async () => {
    sendFrame(model, 0);
    const p = at(7, 1);
    const before = root.querySelector(".segpaint-status").textContent;
    pointer(canvas, "pointermove", p.x, p.y);
    expect(root.querySelector(".segpaint-status").textContent).toBe(before); // not per event
    await new Promise((resolve) => requestAnimationFrame(resolve));
    const text = root.querySelector(".segpaint-status").textContent;
    expect(text).toContain("(7, 1)");
    expect(text).toContain("phase=710");
    expect(text).toContain("nuclei=50");
    expect(text).toContain("label 4");
    expect(text).toContain("selected 1");
  });

  it("shows a decimated preview at once, then asks for full resolution when the view settles", async () => {
    const xfer = 50;
    // step 2: channels are 4 x 5 (every other row/col), labels full size
    const c0 = new Uint16Array(4 * 5).map((_, i) => 100 * i);
    model.deliver({ type: "frame", xfer, frame: 1, population: "cells", height: H, width: W, preview_step: 2, channels: [{ index: 0, dtype: "uint16" }], labels: true, max_label: 0, partial: false });
    model.deliver({ type: "band", xfer, key: "labels", encoding: "rle", start: 0, runs: 1 }, [Uint32Array.from([0]), Uint32Array.from([H * W])]);
    model.deliver({ type: "band", xfer, key: "channel", channel: 0, row0: 0, row1: 4, dtype: "uint16" }, [c0]);
    model.deliver({ type: "frame-end", xfer });
    model.set("frame", 1);
    expect(root.getAttribute("data-frame")).toBe("1");
    expect(root.getAttribute("data-full-frame")).toBe("");
    // image pixel (3, 5) lies in preview cell (1, 2) = 700 of contrast [0, 1000] -> 179 magenta
    expect(dbg.renderedPixel(3, 5)).toEqual([179, 0, 179, 255]);
    await new Promise((r) => setTimeout(r, 200));
    expect(model.sent.filter((m) => m.content.type === "request-full").map((m) => m.content)).toEqual([{ type: "request-full", frame: 1 }]);
    const full = new Uint16Array(H * W).fill(1000);
    model.deliver({ type: "frame", xfer: xfer + 1, frame: 1, population: "cells", height: H, width: W, step: 1, channels: [{ index: 0, dtype: "uint16" }], labels: false, partial: true });
    model.deliver({ type: "band", xfer: xfer + 1, key: "channel", channel: 0, row0: 0, row1: H, dtype: "uint16" }, [full]);
    model.deliver({ type: "frame-end", xfer: xfer + 1 });
    expect(root.getAttribute("data-full-frame")).toBe("1");
    expect(dbg.renderedPixel(3, 5)).toEqual([255, 0, 255, 255]);
  });

  it("asks for the level of detail its fitted view shows as soon as a frame is installed", async () => {
    // A 1024² frame in the 512 px jsdom viewport: fitted at scale 0.5, so the view wants step 2.
    const n = 1024;
    const xfer = 70;
    const quantized = new Uint8Array(128 * 128).fill(128);
    model.deliver({ type: "frame", xfer, frame: 0, population: "cells", height: n, width: n, preview_step: 8, channels: [{ index: 0, dtype: "uint8", quant: [0, 1000], range: [0, 1000], source_dtype: "uint16" }], labels: true, max_label: 0, partial: false });
    model.deliver({ type: "band", xfer, key: "labels", encoding: "rle", start: 0, runs: 1 }, [Uint32Array.from([0]), Uint32Array.from([n * n])]);
    model.deliver({ type: "band", xfer, key: "channel", channel: 0, row0: 0, row1: 128, dtype: "uint8" }, [quantized]);
    model.deliver({ type: "frame-end", xfer });
    expect(dbg.view.scale).toBe(0.5);
    expect(model.get("_preview_step")).toBe(2);
    // The preview held is coarser than the screen: full resolution is asked for at once.
    await new Promise((r) => setTimeout(r, 20));
    expect(model.sent.filter((m) => m.content.type === "request-full").map((m) => m.content)).toEqual([{ type: "request-full", frame: 0 }]);
    // Sample 128 of [0, 1000] stands for 502: 128 of 255 under the contrast [0, 1000], magenta.
    expect(dbg.renderedPixel(500, 500)).toEqual([128, 0, 128, 255]);
  });

  it("pulls full resolution band by band and stops asking, and drops old bands, when the frame changes", () => {
    const lowres = (t) => {
      const xfer = 10 + t;
      model.deliver({ type: "frame", xfer, frame: t, population: "cells", height: H, width: W, preview_step: 2, channels: [{ index: 0, dtype: "uint16" }], labels: true, max_label: 0, partial: false });
      model.deliver({ type: "band", xfer, key: "labels", encoding: "rle", start: 0, runs: 1 }, [Uint32Array.from([0]), Uint32Array.from([H * W])]);
      model.deliver({ type: "band", xfer, key: "channel", channel: 0, row0: 0, row1: 4, dtype: "uint16" }, [new Uint16Array(20)]);
      model.deliver({ type: "frame-end", xfer });
    };
    lowres(0);
    const more = () => model.sent.filter((m) => m.content.type === "more").map((m) => m.content);
    const pull = 20;
    const full = new Uint16Array(H * W).fill(1000);
    model.deliver({ type: "frame", xfer: pull, frame: 0, population: "cells", height: H, width: W, step: 1, channels: [{ index: 0, dtype: "uint16" }], labels: false, partial: true, pull: true });
    model.deliver({ type: "band", xfer: pull, key: "channel", channel: 0, row0: 0, row1: 2, dtype: "uint16" }, [full.subarray(0, 2 * W)]);
    expect(more()).toEqual([{ type: "more", xfer: pull }]);
    // The user moves on: no more requests for the old frame's bands, and a new frame replaces them.
    model.set("frame", 1);
    model.deliver({ type: "band", xfer: pull, key: "channel", channel: 0, row0: 2, row1: 4, dtype: "uint16" }, [full.subarray(2 * W, 4 * W)]);
    expect(more()).toHaveLength(1);
    lowres(1);
    expect(root.getAttribute("data-frame")).toBe("1");
    model.deliver({ type: "band", xfer: pull, key: "channel", channel: 0, row0: 4, row1: 8, dtype: "uint16" }, [full.subarray(4 * W)]);
    model.deliver({ type: "frame-end", xfer: pull });
    expect(root.getAttribute("data-frame")).toBe("1");
    expect(root.getAttribute("data-full-frame")).toBe("");
    expect(dbg.renderedPixel(5, 5)).toEqual([0, 0, 0, 255]);
    expect(more()).toHaveLength(1);
  });

  it("asks for several pulled bands per request when they come fast, and drops a stale pull whole", () => {
    model.set("limits", { ...model.get("limits"), pull_batch_max: 16 });
    const lowres = (t) => {
      const xfer = 40 + t;
      model.deliver({ type: "frame", xfer, frame: t, population: "cells", height: H, width: W, preview_step: 2, channels: [{ index: 0, dtype: "uint16" }], labels: true, max_label: 0, partial: false });
      model.deliver({ type: "band", xfer, key: "labels", encoding: "rle", start: 0, runs: 1 }, [Uint32Array.from([0]), Uint32Array.from([H * W])]);
      model.deliver({ type: "band", xfer, key: "channel", channel: 0, row0: 0, row1: 4, dtype: "uint16" }, [new Uint16Array(20)]);
      model.deliver({ type: "frame-end", xfer });
    };
    const more = () => model.sent.filter((m) => m.content.type === "more").map((m) => m.content);
    const full = new Uint16Array(H * W).fill(1000);
    const header = (xfer, frame) => model.deliver({ type: "frame", xfer, frame, population: "cells", height: H, width: W, preview_step: 1, channels: [{ index: 0, dtype: "uint16" }], labels: false, partial: true, pull: true, window: 1 });
    const row = (xfer, r) => model.deliver({ type: "band", xfer, key: "channel", channel: 0, row0: r, row1: r + 1, dtype: "uint16" }, [full.subarray(r * W, (r + 1) * W)]);
    lowres(0);
    header(50, 0);
    row(50, 0);
    // Bands come without a gap (jsdom): each request asks for twice as many as the last.
    expect(more()).toEqual([{ type: "more", xfer: 50 }]);
    row(50, 1);
    expect(more().map((m) => m.n)).toEqual([undefined, 2]);
    for (let r = 2; r < 4; r++) row(50, r);
    expect(more().map((m) => m.n)).toEqual([undefined, 2, 4]);
    for (let r = 4; r < H; r++) row(50, r);
    expect(more().map((m) => m.n)).toEqual([undefined, 2, 4, 8]);
    model.deliver({ type: "frame-end", xfer: 50 });
    expect(root.getAttribute("data-full-frame")).toBe("0");
    const lossless = dbg.renderedPixel(5, 5);
    // Frame 1: its pull starts, then the user moves on to frame 2 before it is whole.
    model.set("frame", 1);
    lowres(1);
    header(51, 1);
    row(51, 0);
    expect(more()).toHaveLength(5); // a new pull starts small again
    expect(more()[4]).toEqual({ type: "more", xfer: 51 });
    model.set("frame", 2);
    for (let r = 1; r < H; r++) row(51, r); // late bands: dropped, no request
    model.deliver({ type: "frame-end", xfer: 51 });
    expect(more()).toHaveLength(5);
    // Nothing of the stale pull was installed: frame 1's preview is still what is shown.
    expect(root.getAttribute("data-frame")).toBe("1");
    expect(root.getAttribute("data-full-frame")).toBe("");
    expect(dbg.renderedPixel(5, 5)).not.toEqual(lossless);
  });

  it("steps a focused slider with arrow keys before the notebook's document-level handlers see them", () => {
    sendFrame(model, 0);
    const seen = [];
    const notebook = (e) => seen.push(e.key); // JupyterLab listens on the document, capture phase
    document.addEventListener("keydown", notebook, true);
    try {
      const frame = root.querySelector('input[data-control="frame"]');
      frame.focus();
      key(frame, "ArrowRight");
      expect(model.get("frame")).toBe(1);
      key(frame, "End");
      expect(model.get("frame")).toBe(2);
      key(frame, "ArrowRight"); // already at the end: nothing
      expect(model.get("frame")).toBe(2);
      key(frame, "Home");
      expect(model.get("frame")).toBe(0);
      const opacity = root.querySelector('input[data-control="opacity"]');
      key(opacity, "ArrowLeft");
      expect(model.get("opacity")).toBe(0.49);
      const brush = root.querySelector('input[data-control="brush-size"]');
      key(brush, "ArrowUp");
      expect(model.get("brush_size")).toBe(4);
      expect(seen).toEqual([]);
      // The widget's own letters still work from a slider; keys elsewhere are not ours.
      key(brush, "e");
      expect(model.get("tool")).toBe("eraser");
      const outside = document.createElement("input");
      outside.type = "range";
      document.body.append(outside);
      const e = new KeyboardEvent("keydown", { key: "ArrowRight", bubbles: true, cancelable: true });
      outside.dispatchEvent(e);
      outside.remove();
      expect(e.defaultPrevented).toBe(false);
      expect(seen).toEqual(["e", "ArrowRight"]);
    } finally {
      document.removeEventListener("keydown", notebook, true);
    }
  });

  it("removes its DOM and model listeners on cleanup", () => {
    expect(model.listeners()).toBeGreaterThan(5);
    cleanup();
    cleanup = null;
    // the model-level transport (messages, comm close, liveness) and read-ahead (frame,
    // population, position, prefetch) outlive its views
    expect(model.listeners()).toBe(7);
    expect(el.querySelector(".segpaint-annotator")).toBe(null);
    disposeModel();
    disposeModel = null;
    expect(model.listeners()).toBe(0);
  });
});

let wires = 0;

/** What anywidget hands each hook: a fresh proxy of the one model (never the same object). */
function proxy(m) {
  return {
    get: (k) => m.get(k), set: (k, v) => m.set(k, v), save_changes: () => m.save_changes(),
    send: (...args) => m.send(...args), on: (n, f) => m.on(n, f), off: (n, f) => m.off(n, f),
  };
}

/** Mount `views` views of one model, feed them a pulled frame and a stroke; return what went out. */
function wire(views) {
  const m = new MockModel(state({ _widget_id: `wire-${++wires}` }));
  const dispose = widget.initialize({ model: proxy(m) });
  const els = [];
  const cleanups = [];
  for (let k = 0; k < views; k++) {
    const e = document.createElement("div");
    document.body.append(e);
    els.push(e);
    cleanups.push(widget.render({ model: proxy(m), el: e }));
  }
  sendFrame(m, 0);
  // A full-resolution transfer pulled band by band: each band asks for the next one.
  const c0 = new Uint16Array(H * W).fill(7);
  m.deliver({ type: "frame", xfer: 9, frame: 0, population: "cells", height: H, width: W, step: 1, channels: [{ index: 0, dtype: "uint16" }], labels: false, partial: true, pull: true });
  for (const [r0, r1] of [[0, 3], [3, 6], [6, 8]]) {
    m.deliver({ type: "band", xfer: 9, key: "channel", channel: 0, row0: r0, row1: r1, dtype: "uint16" }, [c0.subarray(r0 * W, r1 * W)]);
  }
  m.deliver({ type: "frame-end", xfer: 9 });
  const roots = els.map((e) => e.querySelector(".segpaint-annotator"));
  const first = roots[0].__segpaint;
  const view = roots[0].querySelector("canvas.segpaint-view");
  const a = first.imageToClient(2, 2);
  const b = first.imageToClient(2, 7);
  pointer(view, "pointerdown", a.x, a.y);
  pointer(view, "pointermove", b.x, b.y);
  pointer(view, "pointerup", b.x, b.y);
  const labels = roots.map((r) => [r.__segpaint.label(2, 2), r.__segpaint.label(2, 7), r.__segpaint.label(6, 2)]);
  const sent = m.sent.map(({ content, buffers }) => ({
    content: JSON.stringify(content),
    bytes: buffers.map((buf) => Array.from(new Uint8Array(buf.buffer ?? buf))),
  }));
  for (const fn of cleanups) fn();
  dispose();
  for (const e of els) e.remove();
  return { sent, labels, saved: m.saved.flat() };
}

describe("several views of one widget", () => {
  it("put the same bytes on the wire as one view and share one label buffer, whatever proxies anywidget hands them", () => {
    const one = wire(1);
    const two = wire(2);
    expect(two.sent).toEqual(one.sent);
    expect(two.saved).toEqual(one.saved);
    expect(one.sent.map((s) => JSON.parse(s.content).type)).toEqual(["request-frame", "more", "more", "more", "stroke"]);
    // The stroke painted in the first view is in the second view's labels too.
    expect(two.labels[0]).toEqual([1, 1, 0]);
    expect(two.labels[1]).toEqual(two.labels[0]);
  });
});
