// @ts-check
// The anywidget front-end of segpaint.Annotator, wired from small modules:
//   model.js     per-model state (anywidget `initialize`): transport, frame, the label buffer
//   dom.js       the elements;               controls.js  what the controls do, actions
//   display.js   one view: renderer, zoom, status;   channels.js  channels and contrast
//   editor.js    strokes, fill, picker, `m`;  roi.js       ROIs and the overlay
//   input.js     pointer / keys -> actions;   debug.js     hooks for browser tests
//   panels.js    kernel-lost banner, recover unsaved edits (issue 10)
// Painting happens in the browser on the shared label buffer; one binary stroke per edit goes to
// Python. Limits (chunk size, brush and gamma ranges, export formats) come from Python's
// `limits` trait.

import { ChannelPanel } from "./channels.js";
import { Controls } from "./controls.js";
import { debugHooks } from "./debug.js";
import { Display } from "./display.js";
import { buildDom } from "./dom.js";
import { Editor } from "./editor.js";
import { Assist } from "./assist.js";
import { bindInput } from "./input.js";
import { LabelList } from "./labels.js";
import { disposeModelState, modelState } from "./model.js";
import { RoiLayer } from "./roi.js";
import { ScribbleLayer } from "./scribble.js";
import { Panels } from "./panels.js";

export { stepSlider } from "./dom.js";

/** @typedef {import("./model.js").WidgetModel} WidgetModel */

/**
 * The limits Python sends once (see segpaint.widgets.Annotator.limits).
 * @typedef {object} Limits
 * @property {number} chunk_bytes
 * @property {number[]} brush_size [min, max] diameter in pixels
 * @property {number[]} gamma [min, max]
 * @property {string[]} export_formats
 * @property {string[]} tools
 */

/** @param {WidgetModel} model @returns {Limits} */
function limitsOf(model) {
  const limits = model.get("limits");
  if (!limits || !limits.chunk_bytes) throw new Error("segpaint: the widget model has no `limits` (Python and JS versions differ?)");
  return limits;
}

/**
 * Mount one view of the widget into `el`; returns the cleanup function.
 * @param {{ model: WidgetModel, el: HTMLElement }} args
 */
export function mount({ model, el }) {
  /** @type {(() => void)[]} */
  const cleanups = [];
  /** @type {import("./input.js").Listen} */
  const listen = (target, type, fn, opts) => {
    target.addEventListener(type, fn, opts);
    cleanups.push(() => target.removeEventListener(type, fn, opts));
  };
  /** @param {string} name @param {(...args: any[]) => void} fn */
  const onModel = (name, fn) => {
    model.on(name, fn);
    cleanups.push(() => model.off(name, fn));
  };

  const limits = limitsOf(model);
  const state = modelState(model);
  const ui = buildDom({ brushMin: limits.brush_size[0], exportFormats: limits.export_formats, tools: limits.tools });
  el.append(ui.root);
  cleanups.push(() => ui.root.remove());

  const d = new Display(model, state, ui, (fn) => cleanups.push(fn));
  d.rois = new RoiLayer(d);
  d.editor = new Editor(d, { chunkBytes: limits.chunk_bytes });
  d.assist = new Assist(d);
  d.channels = new ChannelPanel(d, listen, { gammaMin: limits.gamma[0], gammaMax: limits.gamma[1] });
  d.controls = new Controls(d, listen, { brushMin: limits.brush_size[0], brushMax: limits.brush_size[1], tools: limits.tools });
  d.labelList = new LabelList(d, listen); // issue 10: label list
  cleanups.push(() => d.labelList?.dispose());
  d.scribbles = new ScribbleLayer(d, listen, onModel); // issue 12: scribble mode
  cleanups.push(() => d.scribbles?.dispose());
  d.assist.bindControls(listen, onModel);
  new Panels(d, listen, onModel); // issue 10: kernel-lost banner, recover row
  bindInput(d, listen);
  cleanups.push(state.attach(d.hooks));

  // ---------------------------------------------------------------- model -> view
  const c = d.controls;
  onModel("change:tool", () => {
    d.assist.toolChanged();
    c.syncTool();
  });
  onModel("change:brush_size", () => c.syncBrush());
  onModel("change:frame", () => {
    c.syncFrame();
    d.rois.selected = -1;
    d.assist.cancel(); // merge picks and polygon vertices belong to the frame left
  });
  onModel("change:populations", () => c.syncPopulations());
  onModel("change:population", () => c.syncPopulations());
  onModel("change:positions", () => c.syncPositions());
  onModel("change:position", () => c.syncPositions());
  onModel("change:presegment_methods", () => c.syncMethods());
  onModel("change:busy", () => c.syncBusy());
  onModel("change:progress", () => c.syncBusy());
  onModel("change:export_format", () => (ui.formatSelect.value = model.get("export_format")));
  for (const name of ["opacity", "contour", "show_selected_only", "selected_label", "lock_to_roi", "fill_contiguous"]) {
    onModel(`change:${name}`, () => {
      c.syncOverlay();
      d.updateStatus();
    });
  }
  for (const name of ["contrast", "gamma", "channel_visible", "channel_colors"]) onModel(`change:${name}`, () => d.channels.sync());
  onModel("change:channel_names", () => d.channels.build());
  onModel("change:status", () => {
    d.message = "";
    d.updateStatus();
  });
  onModel("change:rois", () => d.rois.syncFromModel());
  onModel("change:height", () => c.syncHeight()); // issue 10: canvas size
  for (const name of ["n_frames", "frame_interval_min"]) onModel(`change:${name}`, () => c.syncFrame());

  // Initial sync.
  d.channels.build();
  c.syncAll();
  d.rois.boxes = (model.get("rois") || []).map((/** @type {number[]} */ b) => b.slice());
  d.updateStatus();
  // Ask for a level of detail that fits the viewport before the first frame is sent.
  const shape = model.get("image_shape");
  if (shape && shape.length === 2) {
    const s = d.viewSize();
    d.view.fit(shape[0], shape[1], s.h, s.w);
    state.wantPreviewStep(d.hooks, d.wantedPreviewStep());
  }
  // The first view asks Python for the frame; a later view shows what the model already holds
  // (messages sent before the first view existed are lost, so the request is needed once).
  if (!state.requestFrame() && state.labels && state.frame !== null) {
    d.installFrame({
      xfer: 0, frame: state.frame, population: state.population, partial: false, height: state.height,
      width: state.width, previewStep: state.previewStep, chanWidth: 0, channels: new Map(), labels: state.labels,
      maxLabel: state.localMax, labelsFilled: 0,
    });
  }

  if (typeof ResizeObserver === "function") {
    const ro = new ResizeObserver(() => {
      d.syncViewport();
      d.rois.draw();
    });
    ro.observe(ui.viewport);
    cleanups.push(() => ro.disconnect());
  }

  /** @type {any} */ (ui.root).__segpaint = debugHooks(d);

  return () => {
    for (const fn of cleanups.reverse()) fn();
  };
}

export default {
  /** @param {{ model: WidgetModel }} args */
  initialize({ model }) {
    modelState(model);
    return () => disposeModelState(model);
  },
  /** @param {{ model: WidgetModel, el: HTMLElement }} args */
  render({ model, el }) {
    return mount({ model, el });
  },
};
