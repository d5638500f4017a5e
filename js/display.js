// @ts-check
// One view of the widget: its renderer, pan/zoom and status line, drawn from the model-level
// state (model.js). The other per-view parts (channels, editor, ROIs, controls, input) hang off
// it, so each module reaches the others through one object.

import { Renderer, now } from "./render.js";
import { View, pixelOf } from "./tools.js";
import { cssColor } from "./colors.js";
import { dequantize } from "./codec.js";

/** @typedef {import("./model.js").ModelState} ModelState */
/** @typedef {import("./model.js").WidgetModel} WidgetModel */
/** @typedef {import("./dom.js").Dom} Dom */

/** Numbers in the status line: integers as they are, others to 4 significant digits. */
/** @param {number} v */
export const fmt = (v) => (Number.isInteger(v) ? String(v) : Number(v).toPrecision(4));

/** Seconds a message stays in the status line (it stays readable in the line's tooltip). */
export const MESSAGE_SECONDS = 8;
/** Zoom-out stops when the image is this fraction of the fitted size (a dot is no use). */
export const ZOOM_OUT_OF_FIT = 0.25;

export class Display {
  /**
   * @param {WidgetModel} model
   * @param {ModelState} state
   * @param {Dom} ui
   * @param {(fn: () => void) => void} onCleanup
   */
  constructor(model, state, ui, onCleanup) {
    this.model = model;
    this.state = state;
    this.ui = ui;
    this.renderer = new Renderer(ui.imageCanvas);
    this.view = new View();
    /** @type {{row: number, col: number} | null} continuous image point under the pointer */
    this.cursor = null;
    /** @type {{x: number, y: number} | null} viewport px under the pointer */
    this.hover = null;
    this.message = "";
    /** @type {{text: string, since: number}} the message shown last and when it appeared */
    this.shown = { text: "", since: 0 };
    /** @type {ReturnType<typeof setTimeout> | 0} */
    this.expireTimer = 0;
    /** clicked since it last had focus: the wheel zooms (hovering alone focuses it for keys) */
    this.engaged = false;
    this.ready = false;
    this.fitted = false;
    this.userMovedView = false;
    this.space = false;
    /** @type {ReturnType<typeof setTimeout> | 0} */
    this.recolorTimer = 0;
    /** @type {number} pending animation frame of hoverChanged */
    this.hoverFrame = 0;
    /** @type {{waiting: boolean, timer: ReturnType<typeof setInterval> | 0} | null} */
    this.playing = null;
    /** @type {import("./channels.js").ChannelPanel} */
    this.channels = /** @type {any} */ (null);
    /** @type {import("./editor.js").Editor} */
    this.editor = /** @type {any} */ (null);
    /** @type {import("./roi.js").RoiLayer} */
    this.rois = /** @type {any} */ (null);
    /** @type {import("./assist.js").Assist} */
    this.assist = /** @type {any} */ (null);
    /** @type {import("./controls.js").Controls} */
    this.controls = /** @type {any} */ (null);
    /** @type {import("./labels.js").LabelList | null} the label list (issue 10) */
    this.labelList = null;
    /** @type {import("./scribble.js").ScribbleLayer | null} scribble marks (issue 12) */
    this.scribbles = null;
    /** @type {import("./model.js").ViewHooks} what the model-level state calls on this view */
    this.hooks = {
      frame: (p) => this.installFrame(p),
      labels: (box, edited) => this.labelsChanged(box, edited),
      ack: (msg) => msg.message && this.say(msg.message),
      busy: () => this.playing !== null,
    };
    onCleanup(() => this.recolorTimer && clearTimeout(this.recolorTimer));
    onCleanup(() => this.expireTimer && clearTimeout(this.expireTimer));
    // Click the status line to read a long message (a path, an error) in full; click again to fold.
    const toggleFull = () => ui.status.classList.toggle("segpaint-status-full");
    ui.status.addEventListener("click", toggleFull);
    onCleanup(() => ui.status.removeEventListener("click", toggleFull));
    /** @param {FocusEvent} e */
    const focusOut = (e) => {
      if (!(e.relatedTarget instanceof Node && ui.root.contains(e.relatedTarget))) this.engaged = false;
    };
    ui.root.addEventListener("focusout", focusOut);
    onCleanup(() => ui.root.removeEventListener("focusout", focusOut));
    onCleanup(() => this.hoverFrame && cancelAnimationFrame(this.hoverFrame));
  }

  /**
   * The pointer moved: redraw the overlay (brush outline, ROI being dragged) and the status line
   * once per animation frame, not once per event, so a stroke's moves cost only the painting.
   */
  hoverChanged() {
    if (typeof requestAnimationFrame !== "function") {
      this.rois.draw();
      this.updateStatus();
      return;
    }
    if (this.hoverFrame) return;
    this.hoverFrame = requestAnimationFrame(() => {
      this.hoverFrame = 0;
      this.rois.draw();
      this.updateStatus();
    });
  }

  /** @param {string} name @param {any} value */
  save(name, value) {
    this.model.set(name, value);
    this.model.save_changes();
  }

  viewSize() {
    const vp = this.ui.viewport;
    const r = vp.getBoundingClientRect();
    return { w: r.width || vp.clientWidth || 512, h: r.height || vp.clientHeight || 512, left: r.left, top: r.top };
  }

  markDrawn() {
    this.ui.root.setAttribute("data-draws", String(this.renderer.draws));
    this.ui.root.setAttribute("data-frame", this.state.frame === null ? "" : String(this.state.frame));
  }

  /** Full viewport redraw (cost ∝ viewport, not image): new frame, contrast, view, overlay mode. */
  redraw() {
    if (!this.state.labels && this.state.channelData.size === 0) return;
    this.renderer.redraw();
    this.scribbles?.draw();
    this.markDrawn();
    this.updateStatus();
  }

  /**
   * Redraw after a change of channel display (contrast, gamma, colour, visibility) or of label
   * colours, with the labels unchanged: from the samples the renderer gathered (see
   * Renderer.redrawChannels), not from the frame.
   */
  redrawChannels() {
    if (!this.state.labels && this.state.channelData.size === 0) return;
    this.renderer.redrawChannels(); // the scribble layer is its own canvas: unchanged
    this.markDrawn();
    this.updateStatus();
  }

  applyTransform() {
    const v = this.view;
    this.renderer.setView(v.scale, v.tx, v.ty);
    this.redraw();
    this.rois.draw();
    if (this.state.frame !== null) this.syncPreviewStep();
  }

  syncViewport() {
    const s = this.viewSize();
    if (this.renderer.setViewport(s.w, s.h) && this.state.frame !== null) {
      if (!this.userMovedView) this.view.fit(this.renderer.height, this.renderer.width, s.h, s.w);
      this.applyTransform();
    }
  }

  fit() {
    const s = this.viewSize();
    this.view.fit(this.renderer.height, this.renderer.width, s.h, s.w);
    this.applyTransform();
  }

  /**
   * Label colours that keep neighbours apart are recomputed after a frame is shown, in steps, so
   * they never delay the frame itself.
   */
  recolor(empty = false) {
    if (this.recolorTimer) clearTimeout(this.recolorTimer);
    const gen = this.renderer.recolorSteps(empty);
    const step = () => {
      const t0 = now();
      let res = gen.next();
      while (!res.done && now() - t0 < 8) res = gen.next();
      if (res.done) {
        this.recolorTimer = 0;
        if (res.value) this.redrawChannels();
      } else {
        this.recolorTimer = setTimeout(step, 0);
      }
    };
    this.recolorTimer = setTimeout(step, 0);
  }

  /**
   * Whether the wheel should zoom: only when the canvas was clicked and the widget kept focus, or with
   * Ctrl/Cmd held; otherwise the wheel scrolls the notebook past the widget.
   * @param {{ctrlKey: boolean, metaKey: boolean}} e
   */
  wheelZooms(e) {
    const active = typeof document !== "undefined" ? document.activeElement : null;
    return e.ctrlKey || e.metaKey || (this.engaged && active === this.ui.root);
  }

  /** Zoom by `factor` at viewport (x, y), no further out than ZOOM_OUT_OF_FIT of the fitted size. */
  /** @param {number} x @param {number} y @param {number} factor */
  zoomAt(x, y, factor) {
    const s = this.viewSize();
    const { height, width } = this.renderer;
    const fitScale = height && width ? Math.min(s.w / width, s.h / height) : 0;
    const floor = fitScale * ZOOM_OUT_OF_FIT;
    if (factor < 1 && this.view.scale * factor < floor) factor = Math.min(1, floor / this.view.scale);
    if (factor === 1) return;
    this.view.zoomAt(x, y, factor);
    this.userMovedView = true;
    this.applyTransform();
  }

  updateStatus() {
    const { model, state, renderer } = this;
    const parts = [];
    let under = 0;
    const names = model.get("channel_names") || [];
    const visible = model.get("channel_visible") || [];
    if (this.cursor && state.labels) {
      const [r, c] = pixelOf(this.cursor);
      if (r >= 0 && c >= 0 && r < renderer.height && c < renderer.width) {
        parts.push(`(${r}, ${c})`);
        const vals = [];
        for (const [idx, ch] of state.channelData) {
          if (visible[idx] === false) continue;
          // A quantized preview shows the value its sample stands for, marked approximate.
          const v = ch.data[renderer.chanIndex(r, c)];
          vals.push(`${names[idx] ?? "c" + idx}=${ch.quant ? "≈" + fmt(Math.round(dequantize(v, ch.quant) * 100) / 100) : fmt(v)}`);
        }
        if (vals.length) parts.push(vals.join(" "));
        under = state.labels[r * renderer.width + c];
        parts.push(`label ${under}`);
      }
    }
    parts.push(`selected ${model.get("selected_label")}`);
    const msg = this.message || model.get("status") || "";
    const t = Date.now();
    if (msg !== this.shown.text) {
      this.shown = { text: msg, since: t };
      if (this.expireTimer) clearTimeout(this.expireTimer);
      this.expireTimer = msg ? setTimeout(() => ((this.expireTimer = 0), this.updateStatus()), MESSAGE_SECONDS * 1000) : 0;
    }
    const fresh = msg && t - this.shown.since < MESSAGE_SECONDS * 1000;
    if (fresh) parts.push(msg);
    const text = parts.join(" · ");
    const { status, statusText, cursorSwatch } = this.ui;
    // Only what changed is written, the text into its text node in place: during a stroke the
    // line follows the pointer every STROKE_STATUS_MS, and each write is style or layout work
    // for the page (a new text node, an attribute that JupyterLab's selectors watch).
    const node = statusText.firstChild;
    if (node && node.nodeType === 3 && node === statusText.lastChild) {
      if (/** @type {Text} */ (node).data !== text) /** @type {Text} */ (node).data = text;
    } else statusText.textContent = text;
    // The tooltip keeps the whole line and the last message after it left the line; no one
    // reads it mid-stroke, so it catches up when the stroke ends.
    if (!this.editor || !this.editor.active) {
      const title = fresh || !msg ? text : `${text}\nlast message: ${msg}`;
      if (status.title !== title) status.title = title;
    }
    const color = under ? cssColor(renderer.colors.rgb(under)) : "";
    if (cursorSwatch.getAttribute("data-color") !== color) {
      cursorSwatch.style.background = color;
      cursorSwatch.setAttribute("data-color", color);
    }
    if (cursorSwatch.hidden !== !under) cursorSwatch.hidden = !under;
  }

  /** @param {string} text */
  say(text) {
    this.message = text;
    this.shown = { text: "", since: 0 }; // the same words said again are a new message: show them
    this.updateStatus();
  }

  /**
   * The preview step the view can show without visible loss at its zoom: image pixels per
   * display pixel, rounded down to 1/8 (not to a whole number: 3.625 for a 2048² frame in 550 px
   * sends 565², not 683²); 1 below 1.25 (zoomed in: full resolution). Python snaps it the same
   * way (`_wire.snap_preview_step`).
   */
  wantedPreviewStep() {
    const step = Math.floor(8 / this.view.scale) / 8;
    return Number.isFinite(step) && step >= 1.25 ? Math.min(16, step) : 1;
  }

  syncPreviewStep() {
    const want = this.wantedPreviewStep();
    this.state.wantPreviewStep(this.hooks, want);
    // Zoomed in past what the preview holds: ask for full resolution now.
    if (this.state.previewStep > want) this.state.requestFull(0);
  }

  /** The model-level state installed a frame: show it. @param {import("./codec.js").Frame} p */
  installFrame(p) {
    const { state, renderer, ui } = this;
    const sizeChanged = p.height !== renderer.height || p.width !== renderer.width;
    renderer.setImageSize(p.height, p.width);
    const newLabels = Boolean(p.labels) || renderer.labels !== state.labels;
    if (newLabels) {
      this.editor.abandon(); // a new label buffer: a stroke on the old one cannot continue
      renderer.setLabels(state.labels);
    }
    renderer.setChannels(this.channels.channelList(), state.previewStep);
    this.channels.syncControls();
    const s = this.viewSize();
    renderer.setViewport(s.w, s.h);
    if (!this.fitted || sizeChanged) {
      this.view.fit(p.height, p.width, s.h, s.w);
      this.fitted = true;
    }
    renderer.setView(this.view.scale, this.view.tx, this.view.ty);
    // The level of detail asked for follows the view as it is now: a resize seen first here (not
    // by the ResizeObserver) or the first fit must not leave Python sending a coarser preview
    // than the screen shows (bench_browser's frame_remote checks it).
    this.syncPreviewStep();
    // Draw at once (not on the next animation frame) so a frame change shows as soon as data arrived.
    this.redraw();
    if (state.previewStep === 1) ui.root.setAttribute("data-full-frame", String(state.frame));
    else {
      ui.root.setAttribute("data-full-frame", "");
      state.requestFull(this.wantedPreviewStep() < state.previewStep ? 0 : 150);
    }
    // A frame whose runs were all 0 needs no scan of its pixels: no neighbours to colour apart,
    // and a list that already says "no labels" stays right. Channels alone (the lossless pull)
    // leave the labels, and so the list, as they were.
    const empty = Boolean(p.labels) && !p.labelsNonzero;
    if (p.labels) this.recolor(empty);
    if (newLabels && !(empty && this.labelList?.stats.size === 0)) this.labelList?.dirty();
    if (!this.ready) {
      this.ready = true;
      ui.root.setAttribute("data-ready", "1");
    }
    this.updateStatus();
    this.rois.draw();
    if (this.playing) this.playing.waiting = false;
  }

  /** Labels changed in `box` (Python, or another view of this widget). */
  /** @param {number[]} box @param {Iterable<number>} edited */
  labelsChanged(box, edited) {
    const { renderer, state } = this;
    if (!state.labels) return;
    if (renderer.colors.update(state.labels, renderer.width, renderer.height, box, edited)) this.redraw();
    else renderer.updateBox(box);
    this.labelList?.dirty();
    this.updateStatus();
  }
}
