// @vitest-environment jsdom
// Issue 10, "Everything at hand": shortcuts overlay from one table, label swatches, the label box,
// status messages that expire, a wheel that leaves the notebook scrolling, frame row, play speed,
// canvas height, accessible names, auto-contrast percentiles.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import widget from "../widget.js";
import { SHORTCUTS } from "../dom.js";
import { keyAction } from "../tools.js";
import { MESSAGE_SECONDS, ZOOM_OUT_OF_FIT } from "../display.js";
import { HUE_GAP_DEG, PALETTE, cssColor, hueDistance, hueOf, parseHex } from "../colors.js";
import { parseLabel } from "../controls.js";
import { LIST_DEBOUNCE_MS, LabelList, labelStats } from "../labels.js";
import { MockModel } from "./mock_model.js";


const H = 8;
const W = 10;

function state(extra = {}) {
  return {
    frame: 0, n_frames: 3, population: "cells", populations: ["cells"], tool: "brush", selected_label: 1,
    next_label: 5, brush_size: 3, contrast: [[0, 1000]], gamma: [1], channel_visible: [true],
    channel_colors: ["#ffffff"], channel_names: ["phase"], opacity: 0.5, contour: false,
    show_selected_only: false, lock_to_roi: false, preserve_labels: true, status: "", rois: [],
    export_format: "celldetective", presegment_methods: ["threshold"], busy: false, progress: 0, _preview_step: 1,
    _widget_id: "w1", height: 0, frame_interval_min: 0, auto_percentiles: [1, 99.8],
    limits: { chunk_bytes: 4 * 1024 * 1024, brush_size: [1, 1024], gamma: [0.1, 4], tools: ["pan", "brush", "eraser", "fill", "picker", "roi"], export_formats: ["celldetective"], label_max: 4294967295 },
    ...extra,
  };
}

/** Frame `t`: channel 0 = pixel index (0..79), labels 0 but cell 4 on (7, 0) and (7, 1). */
function sendFrame(model, t, labels = null) {
  const xfer = t + 1;
  const c0 = new Uint16Array(H * W).map((_, i) => i);
  if (!labels) {
    labels = new Uint32Array(H * W);
    labels[7 * W] = 4;
    labels[7 * W + 1] = 4;
  }
  model.deliver({ type: "frame", xfer, frame: t, population: "cells", height: H, width: W, channels: [{ index: 0, dtype: "uint16" }], labels: true, partial: false });
  model.deliver({ type: "band", xfer, key: "channel", channel: 0, row0: 0, row1: H, dtype: "uint16" }, [c0]);
  model.deliver({ type: "band", xfer, key: "labels", encoding: "raw", row0: 0, row1: H, dtype: "uint32" }, [labels]);
  model.deliver({ type: "frame-end", xfer });
}

function pointer(target, type, x, y, extra = {}) {
  const e = new MouseEvent(type, { clientX: x, clientY: y, button: 0, bubbles: true, cancelable: true, ...extra });
  Object.defineProperty(e, "pointerId", { value: 1 });
  target.dispatchEvent(e);
}
const key = (target, k, extra = {}) => target.dispatchEvent(new KeyboardEvent("keydown", { key: k, bubbles: true, cancelable: true, ...extra }));
/** Dispatch a wheel event; returns whether the page may scroll (default not prevented). */
const wheel = (target, x, y, deltaY, extra = {}) =>
  target.dispatchEvent(new WheelEvent("wheel", { clientX: x, clientY: y, deltaY, bubbles: true, cancelable: true, ...extra }));

let el;
let model;
let cleanup;
let dispose;
let root;
let dbg;
let canvas;
const q = (sel) => root.querySelector(sel);
const statusText = () => q(".segpaint-status").textContent;

function mount(extra = {}) {
  el = document.createElement("div");
  document.body.append(el);
  model = new MockModel(state(extra));
  dispose = widget.initialize({ model });
  cleanup = widget.render({ model, el });
  root = el.querySelector(".segpaint-annotator");
  dbg = root.__segpaint;
  canvas = q("canvas.segpaint-view");
}

beforeEach(() => {
  HTMLCanvasElement.prototype.getContext = () => null;
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
  cleanup?.();
  dispose?.();
  el?.remove();
});

/** On-screen size of one image pixel (the view's scale). */
const scale = () => dbg.imageToClient(0, 1).x - dbg.imageToClient(0, 0).x;

describe("shortcuts: one table for keys and the ? overlay", () => {
  /** KeyboardEvent-like object of a table entry such as "Ctrl+Shift+Z". */
  const keyEvent = (k) => {
    const parts = k.length > 1 && k.includes("+") ? k.split("+") : [k];
    const base = parts.pop();
    return { key: base, ctrlKey: parts.includes("Ctrl"), metaKey: false, shiftKey: parts.includes("Shift"), altKey: false };
  };

  it("every key in the table does what the table says", () => {
    for (const s of SHORTCUTS) {
      if (s.action === null) continue;
      for (const k of s.keys) expect([k, keyAction(keyEvent(k))]).toEqual([k, s.action]);
    }
  });

  it("every key the widget handles is in the table (the overlay cannot go stale)", () => {
    const listed = new Set(SHORTCUTS.flatMap((s) => s.keys));
    const named = ["Enter", "Escape", "Delete", "Backspace", "Tab", "ArrowLeft", "ArrowUp", "Home", "End", " "];
    const printable = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i));
    for (const k of [...printable, ...named]) {
      const action = keyAction({ key: k, ctrlKey: false, metaKey: false, shiftKey: false, altKey: false });
      if (action) expect([k, listed.has(k)]).toEqual([k, true]);
      const withCtrl = keyAction({ key: k, ctrlKey: true, metaKey: false, shiftKey: false, altKey: false });
      if (withCtrl) expect([k, listed.has(`Ctrl+${k.toUpperCase()}`)]).toEqual([k, true]);
    }
  });

  it("? opens the overlay listing every row; ?, Escape and its close button hide it", () => {
    mount();
    const help = q(".segpaint-help");
    expect(help.hidden).toBe(true);
    key(root, "?");
    expect(help.hidden).toBe(false);
    const rows = [...help.querySelectorAll("tr")];
    expect(rows.length).toBe(SHORTCUTS.length);
    expect(rows.map((r) => r.cells[1].textContent)).toEqual(SHORTCUTS.map((s) => s.text));
    expect(help.textContent).toContain("Ctrl/Cmd");
    key(root, "?");
    expect(help.hidden).toBe(true);
    key(root, "?");
    key(root, "Escape");
    expect(help.hidden).toBe(true);
    q('button[data-action="help"]').click();
    expect(help.hidden).toBe(false);
    help.querySelector("button").click();
    expect(help.hidden).toBe(true);
  });

  it("v toggles preserve labels and says so", () => {
    mount();
    key(root, "v");
    expect(model.get("preserve_labels")).toBe(false);
    expect(statusText()).toContain("preserve labels off");
    key(root, "v");
    expect(model.get("preserve_labels")).toBe(true);
    expect(q('input[data-control="preserve-labels"]')?.checked ?? true).toBe(true);
  });
});

describe("contiguous fill", () => {
  it("n turns contiguous fill off: the bucket then changes every pixel of the clicked label, in one patch", () => {
    mount({ tool: "fill", selected_label: 9, fill_contiguous: true });
    const labels = new Uint32Array(H * W);
    labels[0] = 4; // (0, 0)
    labels[5 * W + 5] = 4; // (5, 5), not connected to (0, 0)
    sendFrame(model, 0, labels);
    const box = q('input[data-control="fill-contiguous"]');
    expect(box.checked).toBe(true);
    const p = dbg.imageToClient(0, 0);
    pointer(canvas, "pointerdown", p.x, p.y);
    pointer(canvas, "pointerup", p.x, p.y);
    expect([dbg.label(0, 0), dbg.label(5, 5)]).toEqual([9, 4]); // contiguous: only (0, 0)
    key(root, "n");
    expect(model.get("fill_contiguous")).toBe(false);
    expect(box.checked).toBe(false);
    expect(statusText()).toContain("contiguous fill off");
    model.set("selected_label", 7);
    pointer(canvas, "pointerdown", p.x, p.y); // (0, 0) is 9 now: fills only 9s, so (0, 0)
    pointer(canvas, "pointerup", p.x, p.y);
    const q5 = dbg.imageToClient(5, 5);
    model.set("selected_label", 2);
    const before = model.sent.filter((m) => m.content.type === "stroke").length;
    pointer(canvas, "pointerdown", q5.x, q5.y);
    pointer(canvas, "pointerup", q5.x, q5.y);
    expect([dbg.label(0, 0), dbg.label(5, 5), dbg.label(7, 0)]).toEqual([7, 2, 0]);
    // label 4 was only at (5, 5): one patch for the fill
    expect(model.sent.filter((m) => m.content.type === "stroke").length).toBe(before + 1);
    model.set("selected_label", 3);
    const bg = dbg.imageToClient(2, 2);
    pointer(canvas, "pointerdown", bg.x, bg.y);
    pointer(canvas, "pointerup", bg.x, bg.y);
    // every background pixel became 3, the labelled ones stayed
    let threes = 0;
    for (let r = 0; r < H; r++) for (let c = 0; c < W; c++) if (dbg.label(r, c) === 3) threes++;
    expect(threes).toBe(H * W - 2);
    expect([dbg.label(0, 0), dbg.label(5, 5)]).toEqual([7, 2]);
    box.checked = true;
    box.dispatchEvent(new Event("change"));
    expect(model.get("fill_contiguous")).toBe(true);
  });
});

describe("label list", () => {
  const wait = (ms) => new Promise((r) => setTimeout(r, ms));

  it("labelStats counts pixels and boxes per label", () => {
    const lab = Uint32Array.from([0, 4, 4, 0, 0, 4, 2, 0, 0]);
    const st = labelStats(lab, 3, 3);
    expect([...st.keys()].sort()).toEqual([2, 4]);
    expect(st.get(4)).toEqual({ count: 3, box: [0, 2, 1, 3] });
    expect(st.get(2)).toEqual({ count: 1, box: [2, 3, 0, 1] });
  });

  it("labelStats over row bands adds up to the whole frame (runs crossing rows and gaps)", () => {
    const w = 7, hgt = 9;
    const lab = new Uint32Array(w * hgt).map((_, i) => [0, 3, 3, 9, 0, 0, 9, 3][(i * 5) % 8]);
    const whole = labelStats(lab, w, hgt);
    const banded = new Map();
    for (let r = 0; r < hgt; r += 2) labelStats(lab, w, Math.min(2, hgt - r), banded, r);
    expect([...banded].sort((a, b) => a[0] - b[0])).toEqual([...whole].sort((a, b) => a[0] - b[0]));
    // pixel by pixel, the plain definition
    for (const [v, st] of whole) {
      let n = 0, r0 = hgt, r1 = 0, c0 = w, c1 = 0;
      for (let i = 0; i < lab.length; i++) {
        if (lab[i] !== v) continue;
        const r = Math.floor(i / w), c = i % w;
        n++; r0 = Math.min(r0, r); r1 = Math.max(r1, r + 1); c0 = Math.min(c0, c); c1 = Math.max(c1, c + 1);
      }
      expect(st).toEqual({ count: n, box: [r0, r1, c0, c1] });
    }
  });

  it("a large frame is counted in bands, one task each; an edit meanwhile drops the stale count", async () => {
    const w = 64, hgt = 64;
    const labels = new Uint32Array(w * hgt);
    labels.fill(2, 0, 10 * w); // rows 0-9: label 2
    labels.fill(7, 60 * w); // rows 60-63: label 7
    const fake = /** @type {any} */ ({
      state: { labels }, renderer: { width: w, height: hgt },
      ui: { labelList: document.createElement("select"), labelCount: document.createElement("span"), viewCanvas: document.createElement("canvas"), root: document.createElement("div") },
    });
    const list = new LabelList(fake, () => {});
    list.slicePixels = 8 * w; // 8 bands
    list.refresh();
    expect(fake.ui.labelCount.textContent).toBe(""); // only the first band is done
    labels.fill(5, 0, 10 * w); // an edit in the rows already counted: label 2 becomes 5...
    list.dirty(); // ...and the pointerup that follows it
    await wait(60); // long enough for the other 7 bands: the stale count is never shown
    expect(fake.ui.labelCount.textContent).toBe("");
    await wait(LIST_DEBOUNCE_MS + 100);
    expect(fake.ui.labelCount.textContent).toBe("2 labels");
    expect([...list.stats.keys()].sort()).toEqual([5, 7]);
    expect(list.stats.get(5)).toEqual({ count: 10 * w, box: [0, 10, 0, w] });
    expect(list.stats.get(7)).toEqual({ count: 4 * w, box: [60, 64, 0, w] });
    list.dispose();
  });

  it("lists the frame's labels with sizes; choosing one selects it and centres it; edits update it", async () => {
    mount({ tool: "brush", selected_label: 6, brush_size: 1 });
    const labels = new Uint32Array(H * W);
    labels[7 * W] = 4;
    labels[7 * W + 1] = 4;
    labels[1 * W + 8] = 5;
    sendFrame(model, 0, labels);
    await wait(LIST_DEBOUNCE_MS + 50);
    const list = q('select[data-control="label-list"]');
    expect(q('[data-control="label-count"]').textContent).toBe("2 labels");
    expect([...list.options].slice(1).map((o) => o.textContent)).toEqual(["4 · 2 px", "5 · 1 px"]);
    list.value = "4";
    list.dispatchEvent(new Event("change"));
    expect(model.get("selected_label")).toBe(4);
    // the cell's centre (rows 7-8, cols 0-2 as pixel edges) is at the viewport's centre (512 x 512 in jsdom)
    const centre = dbg.imageToClient(7, 0.5);
    expect(centre.x).toBeCloseTo(256, 5);
    expect(centre.y).toBeCloseTo(256, 5);
    expect(statusText()).toContain("label 4: 2 px");
    // a stroke of a new label shows up once the pointer is released
    model.set("selected_label", 6);
    const p = dbg.imageToClient(3, 5);
    pointer(canvas, "pointerdown", p.x, p.y);
    pointer(canvas, "pointerup", p.x, p.y);
    await wait(LIST_DEBOUNCE_MS + 50);
    expect(q('[data-control="label-count"]').textContent).toBe("3 labels");
    expect([...list.options].map((o) => o.textContent)).toContain("6 · 1 px");
  });
});

describe("labels at hand", () => {
  it("Enter in the label box applies it; negative or fractional values are refused with a message", () => {
    mount();
    sendFrame(model, 0);
    const box = q('input[data-control="selected-label"]');
    box.value = "7";
    key(box, "Enter");
    expect(model.get("selected_label")).toBe(7);
    box.value = "-3";
    key(box, "Enter");
    expect(model.get("selected_label")).toBe(7);
    expect(box.value).toBe("7");
    expect(statusText()).toContain('label must be a whole number from 0 (erase) to 4294967295; got "-3"');
    box.value = "2.5";
    box.dispatchEvent(new Event("change", { bubbles: true }));
    expect(model.get("selected_label")).toBe(7);
    expect(parseLabel(" 12 ")).toEqual({ label: 12 });
    expect(parseLabel("")).toHaveProperty("error");
  });

  it("the swatch shows the selected label's colour; the status line the colour under the cursor", async () => {
    const nextFrame = () => new Promise((r) => requestAnimationFrame(r));
    mount();
    sendFrame(model, 0);
    const swatch = q('[data-control="selected-swatch"]');
    model.set("selected_label", 4);
    const colour4 = swatch.getAttribute("data-color");
    expect(PALETTE.map(cssColor)).toContain(colour4);
    model.set("selected_label", 0);
    expect(swatch.getAttribute("data-color")).toBe("");
    expect(swatch.classList.contains("segpaint-swatch-none")).toBe(true);
    const under = q('[data-control="cursor-swatch"]');
    const p = dbg.imageToClient(7, 1);
    pointer(canvas, "pointermove", p.x, p.y);
    await nextFrame();
    expect(statusText()).toContain("label 4");
    expect(under.hidden).toBe(false);
    expect(under.getAttribute("data-color")).toBe(colour4);
    const bg = dbg.imageToClient(2, 2);
    pointer(canvas, "pointermove", bg.x, bg.y);
    await nextFrame();
    expect(statusText()).toContain("label 0");
    expect(under.hidden).toBe(true);
  });
});

describe("label colours follow the channels shown", () => {
  it("on a green channel no selected label is shown green; hiding the channel gives green back", () => {
    mount({ channel_colors: ["#00ff00"] });
    sendFrame(model, 0);
    const swatch = q('[data-control="selected-swatch"]');
    const hues = [];
    for (let label = 1; label <= 60; label++) {
      model.set("selected_label", label);
      const h = hueOf(parseHex(swatch.getAttribute("data-color")));
      if (h.sat > 0.2) hues.push(h.hue);
    }
    expect(hues.length).toBeGreaterThan(30);
    expect(Math.min(...hues.map((h) => hueDistance(h, 120)))).toBeGreaterThanOrEqual(HUE_GAP_DEG);
    model.set("channel_visible", [false]);
    const greens = [];
    for (let label = 1; label <= 60; label++) {
      model.set("selected_label", label);
      const h = hueOf(parseHex(swatch.getAttribute("data-color")));
      if (h.sat > 0.2 && hueDistance(h.hue, 120) < HUE_GAP_DEG) greens.push(label);
    }
    expect(greens.length).toBeGreaterThan(0);
  });
});

describe("contrast: two ends, typed values, gamma shown", () => {
  it("typed limits apply on Enter or change; a reversed or non-number pair is refused with a message", () => {
    mount();
    sendFrame(model, 0);
    const loNum = q('input[data-control="contrast-lo-value"][data-channel="0"]');
    const hiNum = q('input[data-control="contrast-hi-value"][data-channel="0"]');
    expect([loNum.value, hiNum.value]).toEqual(["0", "1000"]);
    // both ends of one track
    const range = q(".segpaint-range");
    expect(range.querySelector('[data-control="contrast-lo"]')).not.toBe(null);
    expect(range.querySelector('[data-control="contrast-hi"]')).not.toBe(null);
    hiNum.value = "12345";
    key(hiNum, "Enter");
    expect(model.get("contrast")[0]).toEqual([0, 12345]);
    expect(q('input[data-control="contrast-hi"]').value).toBe("12345"); // the slider's range grew to it
    loNum.value = "20000";
    loNum.dispatchEvent(new Event("change"));
    expect(model.get("contrast")[0]).toEqual([0, 12345]);
    expect(statusText()).toContain("phase: the lower contrast limit (20000) must be below the upper one (12345)");
    expect(loNum.value).toBe("0");
    loNum.value = "";
    loNum.dispatchEvent(new Event("change"));
    expect(statusText()).toContain("phase: contrast limits must be numbers");
    expect(model.get("contrast")[0]).toEqual([0, 12345]);
  });

  it("dragging a slider updates the typed boxes; the gamma value is shown", () => {
    mount();
    sendFrame(model, 0);
    const hi = q('input[data-control="contrast-hi"]');
    hi.value = "600";
    hi.dispatchEvent(new Event("input"));
    expect(q('input[data-control="contrast-hi-value"]').value).toBe("600");
    const gamma = q('input[data-control="gamma"]');
    const shown = q('[data-control="gamma-value"]');
    expect(shown.textContent).toBe("γ 1.00");
    gamma.value = "1.5";
    gamma.dispatchEvent(new Event("input"));
    expect(shown.textContent).toBe("γ 1.50");
    model.set("gamma", [0.75]);
    expect(shown.textContent).toBe("γ 0.75");
  });
});

describe("status line", () => {
  it("a message leaves the line after MESSAGE_SECONDS but stays readable in the tooltip; a click unfolds it", () => {
    vi.useFakeTimers();
    mount();
    const long = "exported to /very/long/path/".repeat(6);
    model.set("status", long);
    const status = q(".segpaint-status");
    expect(statusText()).toContain(long);
    expect(status.title).toContain(long);
    vi.advanceTimersByTime(MESSAGE_SECONDS * 1000 - 100);
    expect(statusText()).toContain(long);
    vi.advanceTimersByTime(200);
    expect(statusText()).not.toContain(long);
    expect(statusText()).toContain("selected 1");
    expect(status.title).toContain(`last message: ${long}`);
    // The same words said again (a second refused label) come back for another MESSAGE_SECONDS.
    const box = q('input[data-control="selected-label"]');
    box.value = "-1";
    key(box, "Enter");
    expect(statusText()).toContain("label must be a whole number");
    vi.advanceTimersByTime(MESSAGE_SECONDS * 1000 + 100);
    expect(statusText()).not.toContain("label must be a whole number");
    box.value = "-1";
    key(box, "Enter");
    expect(statusText()).toContain("label must be a whole number");
    status.click();
    expect(status.classList.contains("segpaint-status-full")).toBe(true);
    status.click();
    expect(status.classList.contains("segpaint-status-full")).toBe(false);
  });
});

describe("wheel and zoom", () => {
  it("a wheel over an unfocused canvas scrolls the page; after a click, or with Ctrl, it zooms", () => {
    mount({ tool: "pan" });
    sendFrame(model, 0);
    const s0 = scale();
    const p = dbg.imageToClient(4, 5);
    pointer(canvas, "pointerenter", p.x, p.y); // hovering focuses the widget for keys...
    expect(wheel(canvas, p.x, p.y, -100)).toBe(true); // ...but the wheel still scrolls the notebook
    expect(scale()).toBe(s0);
    expect(wheel(canvas, p.x, p.y, -100, { ctrlKey: true })).toBe(false);
    const s1 = scale();
    expect(s1).toBeGreaterThan(s0);
    pointer(canvas, "pointerdown", p.x, p.y);
    pointer(canvas, "pointerup", p.x, p.y);
    expect(wheel(canvas, p.x, p.y, -100)).toBe(false);
    expect(scale()).toBeGreaterThan(s1);
    // Focus leaves the widget (a click in another cell): the wheel scrolls again.
    const other = document.createElement("input");
    document.body.append(other);
    other.focus();
    const s2 = scale();
    expect(wheel(canvas, p.x, p.y, -100)).toBe(true);
    expect(scale()).toBe(s2);
    other.remove();
  });

  it("zooming out stops at a fraction of the fitted size", () => {
    mount({ tool: "pan" });
    sendFrame(model, 0);
    const fitted = scale();
    const p = dbg.imageToClient(4, 5);
    for (let i = 0; i < 40; i++) wheel(canvas, p.x, p.y, 500, { ctrlKey: true });
    expect(scale()).toBeCloseTo(fitted * ZOOM_OUT_OF_FIT, 6);
  });
});

describe("frames, play speed, canvas height, names", () => {
  it("hides the frame controls for a single-frame image and shows minutes when the interval is known", () => {
    mount({ n_frames: 1 });
    expect(q(".segpaint-frames").hidden).toBe(true);
    expect(q('select[data-control="population"]').closest("[hidden]")).toBe(null);
    cleanup();
    dispose();
    el.remove();
    mount({ n_frames: 12, frame: 3, frame_interval_min: 7.5 });
    expect(q(".segpaint-frames").hidden).toBe(false);
    expect(q(".segpaint-frames .segpaint-value").textContent).toBe("3 / 11 · 22.5 min");
    model.set("frame_interval_min", 0);
    expect(q(".segpaint-frames .segpaint-value").textContent).toBe("3 / 11");
  });

  it("plays at the frames per second typed in the speed box (1 to 30)", () => {
    mount();
    const spy = vi.spyOn(globalThis, "setInterval");
    const fps = q('input[data-control="play-fps"]');
    fps.value = "4";
    fps.dispatchEvent(new Event("change"));
    q('button[data-action="play"]').click();
    expect(spy).toHaveBeenLastCalledWith(expect.any(Function), 250);
    fps.value = "500";
    fps.dispatchEvent(new Event("change")); // clamped, and a running play picks it up
    expect(fps.value).toBe("30");
    expect(spy.mock.calls.at(-1)[1]).toBeCloseTo(1000 / 30, 6);
    q('button[data-action="play"]').click();
  });

  it("the height trait sizes the canvas; the drag handle resizes it and saves the trait", () => {
    mount();
    const vp = q(".segpaint-viewport");
    expect(vp.style.height).toBe(""); // default: CSS fits the notebook area
    model.set("height", 400);
    expect(vp.style.height).toBe("400px");
    const handle = q(".segpaint-resize");
    vi.spyOn(vp, "getBoundingClientRect").mockReturnValue({ width: 600, height: 400, left: 0, top: 0, right: 600, bottom: 400, x: 0, y: 0, toJSON: () => ({}) });
    pointer(handle, "pointerdown", 10, 500);
    pointer(handle, "pointermove", 10, 620);
    expect(vp.style.height).toBe("520px");
    pointer(handle, "pointerup", 10, 620);
    expect(model.get("height")).toBe(520);
    pointer(handle, "pointerdown", 10, 500);
    pointer(handle, "pointermove", 10, -900);
    pointer(handle, "pointerup", 10, -900);
    expect(model.get("height")).toBe(160);
    model.set("height", 0);
    expect(vp.style.height).toBe("");
  });

  it("every control has an accessible name", () => {
    mount();
    const controls = [...root.querySelectorAll("button, input, select")];
    expect(controls.length).toBeGreaterThan(20);
    const unnamed = controls.filter((c) => !(c.getAttribute("aria-label") || "").trim()).map((c) => c.outerHTML);
    expect(unnamed).toEqual([]);
    expect(q('button[data-action="frame-prev"]').getAttribute("aria-label")).toBe("Previous frame (,)");
  });

  it("auto contrast uses the auto_percentiles trait", () => {
    mount({ auto_percentiles: [0, 100] });
    sendFrame(model, 0);
    q('button[data-action="auto-contrast"]').click();
    expect(model.get("contrast")[0]).toEqual([0, 79]);
    model.set("auto_percentiles", [50, 60]);
    q('button[data-action="auto-contrast"]').click();
    const [lo, hi] = model.get("contrast")[0];
    // values 0..79 once each: the 50th percentile is 39 (the lower median), the 60th is 47
    expect([lo, hi]).toEqual([39, 47]);
  });
});
