// The widget on a small two-channel frame with two cells, for the assisted-tool tests
// (assist.test.js, assist_cells.test.js, wand_widget.test.js): the frame, the pointer and key events,
// and one mounted widget over a mocked anywidget model.
import widget from "../widget.js";
import { MockModel } from "./mock_model.js";

export const H = 8;
export const W = 10;
const TOOLS = ["pan", "brush", "eraser", "fill", "picker", "roi", "segment", "wand", "split", "merge", "polygon", "delete-box"];
// channel 0: a ramp (i * 10), channel 1: constant; labels: cell 2 at rows 0-1 cols 0-3, cell 3 at rows 5-7 cols 6-9
export const C0 = new Uint16Array(H * W).map((_, i) => i * 10);
export const C1 = new Uint8Array(H * W).fill(50);
export const LABELS = new Uint32Array(H * W).map((_, i) => {
  const r = Math.floor(i / W);
  const c = i % W;
  if (r <= 1 && c <= 3) return 2;
  if (r >= 5 && c >= 6) return 3;
  return 0;
});

/** Send frame `frame` (the two channels above and LABELS) as the kernel does. */
export function sendFrame(model, frame = 0) {
  const xfer = 1 + frame;
  model.deliver({ type: "frame", xfer, frame, population: "cells", height: H, width: W, channels: [{ index: 0, dtype: "uint16" }, { index: 1, dtype: "uint8" }], labels: true, partial: false });
  model.deliver({ type: "band", xfer, key: "channel", channel: 0, row0: 0, row1: H, dtype: "uint16" }, [C0]);
  model.deliver({ type: "band", xfer, key: "channel", channel: 1, row0: 0, row1: H, dtype: "uint8" }, [C1]);
  model.deliver({ type: "band", xfer, key: "labels", encoding: "raw", row0: 0, row1: H, dtype: "uint32" }, [LABELS.slice()]);
  model.deliver({ type: "frame-end", xfer });
}

export function pointer(target, type, x, y, extra = {}) {
  const e = new MouseEvent(type, { clientX: x, clientY: y, button: 0, bubbles: true, cancelable: true, ...extra });
  Object.defineProperty(e, "pointerId", { value: 1 });
  target.dispatchEvent(e);
}

export const key = (target, k, extra = {}) => target.dispatchEvent(new KeyboardEvent("keydown", { key: k, bubbles: true, cancelable: true, ...extra }));

/**
 * Mount the widget (brush, label 7, next label 8) with frame 0 delivered; `unmount()` in afterEach.
 * @param {{n_frames?: number}} [options]
 */
export function mountWidget({ n_frames = 1 } = {}) {
  HTMLCanvasElement.prototype.getContext = () => null;
  const el = document.createElement("div");
  document.body.append(el);
  const model = new MockModel({
    frame: 0, n_frames, population: "cells", populations: ["cells"], tool: "brush", selected_label: 7,
    next_label: 8, brush_size: 3, contrast: [[0, 1000], [0, 100]], gamma: [1, 1], channel_visible: [true, true],
    channel_colors: ["#ff00ff", "#00ff00"], channel_names: ["phase", "nuclei"], opacity: 0.5, contour: false,
    show_selected_only: false, lock_to_roi: false, preserve_labels: true, status: "", rois: [], export_format: "celldetective",
    presegment_methods: ["threshold"], busy: false, progress: 0, _preview_step: 1, _widget_id: "assist-w",
    limits: { chunk_bytes: 4 * 1024 * 1024, brush_size: [1, 1024], gamma: [0.1, 4], tools: TOOLS, export_formats: ["celldetective"], label_max: 4294967295 },
  });
  const disposeModel = widget.initialize({ model });
  const cleanup = widget.render({ model, el });
  const root = el.querySelector(".segpaint-annotator");
  const dbg = root.__segpaint;
  const canvas = el.querySelector("canvas.segpaint-view");
  sendFrame(model);
  const unmount = () => {
    cleanup?.();
    disposeModel?.();
    el.remove();
  };
  return { el, model, root, dbg, canvas, unmount };
}
