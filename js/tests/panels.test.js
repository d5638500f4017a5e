// @vitest-environment jsdom
// Issue 10 panels against a mocked anywidget model: the kernel-lost banner (comm closed, or a
// stroke and a ping unanswered) refuses strokes and frame changes; the recover row sends
// `recover`.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import widget from "../widget.js";
import { ACK_WAIT_MS, PING_WAIT_MS } from "../model.js";
import { MockModel } from "./mock_model.js";


const H = 8;
const W = 10;

function traits(extra = {}) {
  return {
    frame: 0, n_frames: 3, population: "cells", populations: ["cells"], tool: "brush", selected_label: 1,
    next_label: 5, brush_size: 3, contrast: [[0, 1000]], gamma: [1], channel_visible: [true],
    channel_colors: ["#ffffff"], channel_names: ["phase"], opacity: 0.5, contour: false,
    show_selected_only: false, lock_to_roi: false, status: "", rois: [], export_format: "celldetective",
    presegment_methods: ["threshold"], busy: false, progress: 0, _preview_step: 1, _widget_id: "panels",
    pending_edits: 0, export_to: "", rois_exported: [], export_conflict: {}, presegment_info: {}, presegment_confirm: {}, labels_to: "/data/exp/W1/100/labels_cells",
    limits: { chunk_bytes: 4 * 1024 * 1024, brush_size: [1, 1024], gamma: [0.1, 4], tools: ["pan", "brush", "eraser", "fill", "picker", "roi"], export_formats: ["celldetective"], label_max: 4294967295 },
    ...extra,
  };
}

function sendFrame(model, t) {
  const xfer = t + 1;
  model.deliver({ type: "frame", xfer, frame: t, population: "cells", height: H, width: W, channels: [{ index: 0, dtype: "uint16" }], labels: true, partial: false });
  model.deliver({ type: "band", xfer, key: "channel", channel: 0, row0: 0, row1: H, dtype: "uint16" }, [new Uint16Array(H * W).fill(100 * t)]);
  model.deliver({ type: "band", xfer, key: "labels", encoding: "raw", row0: 0, row1: H, dtype: "uint32" }, [new Uint32Array(H * W)]);
  model.deliver({ type: "frame-end", xfer });
}

function pointer(target, type, x, y) {
  const e = new MouseEvent(type, { clientX: x, clientY: y, button: 0, bubbles: true, cancelable: true });
  Object.defineProperty(e, "pointerId", { value: 1 });
  target.dispatchEvent(e);
}

let el, model, cleanup, dispose, root, dbg, canvas;

function mount(extra = {}) {
  el = document.createElement("div");
  document.body.append(el);
  model = new MockModel(traits(extra));
  dispose = widget.initialize({ model });
  cleanup = widget.render({ model, el });
  root = el.querySelector(".segpaint-annotator");
  dbg = root.__segpaint;
  canvas = el.querySelector("canvas.segpaint-view");
}

/** A short brush stroke on row 2; returns how many stroke messages went out. */
function stroke() {
  const a = dbg.imageToClient(2, 2);
  const b = dbg.imageToClient(2, 6);
  pointer(canvas, "pointerdown", a.x, a.y);
  pointer(canvas, "pointermove", b.x, b.y);
  pointer(canvas, "pointerup", b.x, b.y);
  return model.sent.filter((m) => m.content.type === "stroke").length;
}

const banner = () => root.querySelector('[data-panel="kernel-lost"]');

beforeEach(() => {
  HTMLCanvasElement.prototype.getContext = () => null;
  vi.useFakeTimers();
});
afterEach(() => {
  cleanup?.();
  dispose?.();
  el?.remove();
  vi.useRealTimers();
});

describe("kernel gone", () => {
  it("shows a banner when the comm closes, refuses strokes and keeps the frame shown", () => {
    mount();
    sendFrame(model, 0);
    expect(banner().hidden).toBe(true);
    expect(stroke()).toBe(1);
    model.emit("comm:close");
    expect(banner().hidden).toBe(false);
    expect(banner().textContent).toContain("The kernel is gone: the connection to the kernel closed");
    expect(root.hasAttribute("data-kernel-lost")).toBe(true);
    model.set("selected_label", 7);
    expect(stroke()).toBe(1); // refused: nothing painted, nothing sent
    expect(dbg.label(2, 4)).toBe(1);
    expect(root.querySelector(".segpaint-status").textContent).toContain("the kernel is gone");
    const slider = root.querySelector('input[data-control="frame"]');
    slider.value = "2";
    slider.dispatchEvent(new Event("input", { bubbles: true }));
    expect(model.get("frame")).toBe(0); // the slider stays on the frame the canvas shows
    expect(slider.value).toBe("0");
  });

  it("pings when a stroke goes unanswered and calls the kernel gone without a pong", () => {
    mount();
    sendFrame(model, 0);
    stroke();
    vi.advanceTimersByTime(ACK_WAIT_MS + 10);
    const ping = model.sent.find((m) => m.content.type === "ping");
    expect(ping).toBeTruthy();
    expect(banner().hidden).toBe(true);
    vi.advanceTimersByTime(PING_WAIT_MS + 10);
    expect(banner().hidden).toBe(false);
    expect(banner().textContent).toContain("no answer from the kernel");
    expect(banner().textContent).toContain("1 stroke painted here never reached it");
    // A slow kernel that answers at last takes the banner away.
    model.deliver({ type: "ack", stroke: 1, applied: true });
    expect(banner().hidden).toBe(true);
    expect(stroke()).toBe(2);
  });

  it("stays quiet when the kernel answers the ping or acknowledges the stroke", () => {
    mount();
    sendFrame(model, 0);
    stroke();
    vi.advanceTimersByTime(ACK_WAIT_MS + 10);
    const ping = model.sent.find((m) => m.content.type === "ping");
    model.deliver({ type: "pong", id: ping.content.id });
    vi.advanceTimersByTime(PING_WAIT_MS + 10);
    expect(banner().hidden).toBe(true);
    model.deliver({ type: "ack", stroke: 1, applied: true });
    stroke();
    model.deliver({ type: "ack", stroke: 2, applied: true });
    vi.advanceTimersByTime(ACK_WAIT_MS + PING_WAIT_MS + 10);
    expect(model.sent.filter((m) => m.content.type === "ping").length).toBe(1);
    expect(banner().hidden).toBe(true);
  });
});

describe("kernel restarts", () => {
  it("pings when ipywidgets reports the comm's liveness changed, and a message that cannot go out means gone", () => {
    mount();
    sendFrame(model, 0);
    model.emit("comm_live_update");
    const ping = model.sent.at(-1).content;
    expect(ping.type).toBe("ping");
    vi.advanceTimersByTime(PING_WAIT_MS + 10);
    expect(banner().textContent).toContain("no answer from the kernel for 3 s after a ping");
    model.deliver({ type: "pong", id: ping.id });
    expect(banner().hidden).toBe(true);
    model.send = () => {
      throw new Error("Comm is closed");
    };
    stroke();
    expect(banner().hidden).toBe(false);
    expect(banner().textContent).toContain("a message could not be sent (Comm is closed)");
  });
});

describe("recover unsaved edits", () => {
  it("offers the journal's edits with a button that asks Python to recover them", () => {
    mount({ pending_edits: 3 });
    const row = root.querySelector('[data-panel="recover"]');
    expect(row.hidden).toBe(false);
    const button = root.querySelector('button[data-action="recover"]');
    expect(button.textContent).toBe("Recover 3 unsaved edits");
    button.click();
    expect(model.sent.at(-1).content).toEqual({ type: "recover" });
    model.set("pending_edits", 0);
    expect(row.hidden).toBe(true);
  });

  it("discards them on request and hides the row when there is nothing", () => {
    mount({ pending_edits: 1 });
    expect(root.querySelector('button[data-action="recover"]').textContent).toBe("Recover 1 unsaved edit");
    root.querySelector('button[data-action="discard-pending"]').click();
    expect(model.sent.at(-1).content).toEqual({ type: "discard-pending" });
    cleanup();
    dispose();
    el.remove();
    mount();
    expect(root.querySelector('[data-panel="recover"]').hidden).toBe(true);
  });
});

describe("where files go", () => {
  it("shows the folders, asks for one when there is none, and sends what the user types", () => {
    mount();
    const exportTo = root.querySelector('input[data-control="export-folder"]');
    const labelsTo = root.querySelector('input[data-control="labels-folder"]');
    expect(exportTo.value).toBe("");
    expect(exportTo.placeholder).toContain("type a folder");
    expect(labelsTo.value).toBe("/data/exp/W1/100/labels_cells");
    exportTo.value = "/home/me/samples";
    exportTo.dispatchEvent(new Event("change", { bubbles: true }));
    expect(model.sent.at(-1).content).toEqual({ type: "set-folders", export_folder: "/home/me/samples" });
    model.set("export_to", "/home/me/samples");
    expect(exportTo.value).toBe("/home/me/samples");
    // typing "e" in the field does not switch to the eraser
    exportTo.dispatchEvent(new KeyboardEvent("keydown", { key: "e", bubbles: true }));
    expect(model.get("tool")).toBe("brush");
  });
});

describe("re-export", () => {
  it("asks Overwrite (with a confirmation) or New version for the ROIs already on disk", () => {
    mount({ export_to: "/out", rois: [[0, 4, 0, 4], [4, 8, 4, 8]], rois_exported: [1, 0] });
    expect(root.querySelector('[data-panel="exported"]').textContent).toBe("1 of 2 ROIs of this frame exported");
    const row = root.querySelector('[data-panel="export-conflict"]');
    expect(row.hidden).toBe(true);
    const conflict = { frame: 0, format: "cellpose", bbox: null, rois: [[0, 4, 0, 4]] };
    model.set("export_conflict", conflict);
    expect(row.hidden).toBe(false);
    expect(row.textContent).toContain("1 ROI was already exported to this folder (files of the same names, cellpose layout)");
    const confirm = root.querySelector('button[data-action="export-overwrite-confirm"]');
    expect(confirm.hidden).toBe(true);
    const before = model.sent.length;
    root.querySelector('button[data-action="export-overwrite"]').click();
    expect(model.sent.length).toBe(before); // a confirmation first, nothing replaced yet
    expect(confirm.hidden).toBe(false);
    expect(row.textContent).toContain("Replace the 1 exported sample in /out?");
    confirm.click();
    expect(model.sent.at(-1).content).toEqual({ type: "export", frame: 0, format: "cellpose", bboxes: [[0, 4, 0, 4]], mode: "overwrite" });
    expect(row.hidden).toBe(true);

    model.set("export_conflict", { ...conflict });
    root.querySelector('button[data-action="export-version"]').click();
    expect(model.sent.at(-1).content.mode).toBe("version");
    model.set("export_conflict", { ...conflict });
    root.querySelector('button[data-action="export-cancel"]').click();
    expect(row.hidden).toBe(true);
    model.set("rois_exported", [2, 1]);
    expect(root.querySelector('[data-panel="exported"]').textContent).toBe("2 of 2 ROIs of this frame exported");
  });
});

describe("pre-segmentation panel", () => {
  const info = {
    methods: [
      { name: "threshold", available: true, note: "" },
      { name: "CP_cyto3", available: false, note: "needs pip install 'segpaint[cellpose]'" },
      { name: "SD_versatile_fluo", available: true, note: "" },
    ],
    recorded: { method: "threshold", params: { feature_queries: ["area < 150"], channels: ["nuclei"], filters: [["gauss", 2]] } },
  };

  it("opens on the population's recorded method and parameters and sends them back", () => {
    mount({ channel_names: ["phase", "nuclei"], contrast: [[0, 1], [0, 1]], gamma: [1, 1], channel_visible: [true, true], channel_colors: ["#ffffff", "#00ff00"], presegment_info: info });
    const panel = root.querySelector('[data-panel="presegment"]');
    const method = panel.querySelector('select[data-control="preseg-method"]');
    expect(method.value).toBe("threshold");
    const cp = [...method.options].find((o) => o.value === "CP_cyto3");
    expect(cp.disabled).toBe(true);
    expect(cp.textContent).toBe("CP_cyto3 (needs cellpose)");
    expect(cp.title).toBe("needs pip install 'segpaint[cellpose]'");
    expect(panel.querySelector('input[data-channel-name="phase"]').checked).toBe(false);
    expect(panel.querySelector('input[data-channel-name="nuclei"]').checked).toBe(true);
    expect(panel.querySelector('input[data-param="feature_queries"]').value).toBe("area < 150");
    expect(panel.querySelector('[data-params="CP"]').hidden).toBe(true);
    panel.querySelector('input[data-param="threshold-lo"]').value = "500";
    panel.querySelector('select[data-control="preseg-mode"]').value = "fill-empty";
    panel.querySelector('select[data-control="preseg-scope"]').value = "all";
    panel.querySelector('button[data-action="preseg-run"]').click();
    expect(model.sent.at(-1).content).toEqual({
      type: "presegment", method: "threshold", scope: "all", mode: "fill-empty", channels: ["nuclei"],
      // the recorded filters are kept, the query and the new threshold sent
      params: { feature_queries: ["area < 150"], filters: [["gauss", 2]], thresholds: [500, null] },
    });
    method.value = "SD_versatile_fluo";
    method.dispatchEvent(new Event("change"));
    expect(panel.querySelector('[data-params="SD"]').hidden).toBe(false);
    expect(panel.querySelector('[data-params="threshold"]').hidden).toBe(true);
    panel.querySelector('input[data-param="prob_thresh"]').value = "0.6";
    panel.querySelector('button[data-action="preseg-run"]').click();
    expect(model.sent.at(-1).content.params).toEqual({ prob_thresh: 0.6 });
  });

  it("asks before replacing unsaved corrections and sends the confirmed request", () => {
    mount({ presegment_info: info });
    const row = root.querySelector('[data-panel="preseg-confirm"]');
    expect(row.hidden).toBe(true);
    const request = { type: "presegment", method: "threshold", scope: "all", confirmed: true };
    model.set("presegment_confirm", { frames: [1, 2], request });
    expect(row.hidden).toBe(false);
    expect(row.textContent).toContain("replace your unsaved corrections on frames 1, 2");
    root.querySelector('button[data-action="preseg-confirm"]').click();
    expect(model.sent.at(-1).content).toEqual(request);
    expect(row.hidden).toBe(true);
    model.set("presegment_confirm", { frames: [0], request });
    const n = model.sent.length;
    root.querySelector('button[data-action="preseg-cancel"]').click();
    expect(model.sent.length).toBe(n);
    expect(row.hidden).toBe(true);
  });
});
