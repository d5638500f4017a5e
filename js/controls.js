// @ts-check
// Toolbar, sliders and buttons: what each control does, the actions keys map to, and keeping the
// controls in step with the model's traits.

import { h, nameControls } from "./dom.js";
import { stepBrush } from "./tools.js";
import { cssColor } from "./colors.js";

/** @typedef {import("./display.js").Display} Display */

/** Play speed limits, frames per second. */
export const PLAY_FPS_MIN = 1;
export const PLAY_FPS_MAX = 30;
/** Smallest canvas height a drag of the handle leaves, CSS pixels. */
export const CANVAS_HEIGHT_MIN = 160;

/**
 * Parse what was typed in the label box: a whole number >= 0, or an error that says so.
 * @param {string} text
 * @returns {{label: number} | {error: string}}
 */
export function parseLabel(text) {
  const t = String(text).trim();
  const v = Number(t);
  if (t === "" || !Number.isInteger(v) || v < 0 || v > 0xffffffff) {
    return { error: `label must be a whole number from 0 (erase) to 4294967295; got ${JSON.stringify(t)}` };
  }
  return { label: v };
}


/** Time of a frame, in minutes: "12 min", "7.5 min". @param {number} minutes */
export const fmtMinutes = (minutes) => `${Number(minutes.toFixed(2))} min`;

export class Controls {
  /**
   * @param {Display} d
   * @param {(target: EventTarget, type: string, fn: (e: any) => void) => void} listen
   * @param {{ brushMin: number, brushMax: number, tools: string[] }} limits
   */
  constructor(d, listen, limits) {
    this.d = d;
    this.limits = limits;
    const { ui } = d;
    for (const [t, b] of Object.entries(ui.toolButtons)) listen(b, "click", () => this.setTool(t));
    /** @type {[HTMLElement, string][]} */
    const actions = [
      [ui.btnUndo, "undo"], [ui.btnRedo, "redo"], [ui.btnNew, "new-label"], [ui.btnFit, "fit"],
      [ui.btnDeleteRoi, "delete-roi"], [ui.btnPrev, "frame-prev"], [ui.btnNext, "frame-next"],
    ];
    for (const [b, action] of actions) listen(b, "click", () => this.run(action));
    listen(ui.frameSlider, "input", () => this.setFrame(Number(ui.frameSlider.value)));
    listen(ui.popSelect, "change", () => d.save("population", ui.popSelect.value));
    listen(ui.posSelect, "change", () => {
      // A stroke in progress belongs to the position shown: send it before switching.
      if (d.editor.active) d.editor.endStroke();
      d.save("position", ui.posSelect.value);
    });
    listen(ui.brushSize, "input", () => {
      d.save("brush_size", Number(ui.brushSize.value));
      this.syncBrush();
    });
    // Enter applies at once (JupyterLab keeps the number box's Enter from making a "change").
    listen(ui.labelInput, "change", () => this.applyLabelInput());
    listen(ui.labelInput, "keydown", (/** @type {KeyboardEvent} */ e) => {
      if (e.key !== "Enter") return;
      e.preventDefault();
      e.stopPropagation();
      this.applyLabelInput();
    });
    listen(ui.btnHelp, "click", () => this.run("help"));
    listen(ui.btnHelpClose, "click", () => this.run("help"));
    listen(ui.playFps, "change", () => {
      const v = Math.round(Number(ui.playFps.value));
      const fps = Number.isFinite(v) ? Math.min(PLAY_FPS_MAX, Math.max(PLAY_FPS_MIN, v)) : 10;
      ui.playFps.value = String(fps);
      if (d.playing) {
        this.togglePlay();
        this.togglePlay();
      }
    });
    this.bindResize(listen);
    listen(ui.opacity, "input", () => {
      d.renderer.opacity = Number(ui.opacity.value);
      d.redraw();
    });
    listen(ui.opacity, "change", () => d.save("opacity", Number(ui.opacity.value)));
    listen(ui.contour, "change", () => d.save("contour", ui.contour.checked));
    listen(ui.selectedOnly, "change", () => d.save("show_selected_only", ui.selectedOnly.checked));
    listen(ui.lockRoi, "change", () => d.save("lock_to_roi", ui.lockRoi.checked));
    listen(ui.contiguous, "change", () => d.save("fill_contiguous", ui.contiguous.checked));
    listen(ui.formatSelect, "change", () => d.save("export_format", ui.formatSelect.value));
    listen(ui.btnExport, "click", () => {
      const rois = d.rois;
      const box = rois.selected >= 0 ? rois.boxes[rois.selected] : null;
      if (!box && !rois.boxes.length) {
        d.say("no ROI on this frame: draw one with the ROI tool (r) first");
        return;
      }
      d.say("exporting…");
      d.state.send({ type: "export", frame: d.state.frame, bbox: box, format: ui.formatSelect.value });
    });
    listen(ui.btnSave, "click", () => {
      d.say("saving…");
      d.state.send({ type: "save" });
    });
    listen(ui.btnPreseg, "click", () => {
      d.state.send({ type: "presegment", method: ui.methodSelect.value, scope: ui.scopeSelect.value });
    });
    listen(ui.btnPlay, "click", () => this.togglePlay());
  }

  /** Run a named action (from a key, a button). @param {string} action */
  run(action) {
    const { d } = this;
    switch (action) {
      case "undo":
      case "redo":
        if (d.editor.active) d.editor.endStroke();
        d.state.send({ type: action });
        break;
      case "new-label":
        d.editor.newLabel();
        break;
      case "brush-smaller":
      case "brush-bigger": {
        const { brushMin, brushMax } = this.limits;
        d.save("brush_size", stepBrush(d.model.get("brush_size"), action === "brush-bigger" ? 1 : -1, brushMin, brushMax));
        this.syncBrush();
        break;
      }
      case "frame-prev":
        this.setFrame(d.model.get("frame") - 1);
        break;
      case "frame-next":
        this.setFrame(d.model.get("frame") + 1);
        break;
      case "delete-roi":
        d.rois.deleteSelected();
        break;
      case "enter":
        d.assist.enter();
        break;
      case "escape":
        if (!d.ui.help.hidden) d.ui.help.hidden = true;
        else if (!d.assist.cancel()) d.rois.select(-1);
        break;
      case "toggle-contiguous": {
        const on = d.model.get("fill_contiguous") === false;
        d.save("fill_contiguous", on);
        d.say(`contiguous fill ${on ? "on" : "off: the fill bucket changes every pixel of the clicked label"}`);
        break;
      }
      case "help":
        d.ui.help.hidden = !d.ui.help.hidden;
        d.ui.btnHelp.setAttribute("aria-expanded", String(!d.ui.help.hidden));
        break;
      case "toggle-preserve": {
        const on = d.model.get("preserve_labels") === false;
        d.save("preserve_labels", on);
        d.say(`preserve labels ${on ? "on: assisted tools leave other cells alone" : "off"}`);
        break;
      }
      case "scribble-swap":
        d.scribbles?.swap();
        break;
      case "fit":
        d.userMovedView = false;
        d.fit();
        break;
      default:
        if (action.startsWith("tool:")) this.setTool(action.slice(5));
        else if (action.startsWith("assist:")) d.assist.run(action.slice(7));
    }
  }

  togglePlay() {
    const { d } = this;
    if (d.playing) {
      clearInterval(d.playing.timer);
      d.playing = null;
      d.ui.btnPlay.textContent = "▶ play";
      d.state.requestFull(0);
      return;
    }
    /** @type {{waiting: boolean, timer: ReturnType<typeof setInterval> | 0}} */
    const play = { waiting: false, timer: 0 };
    play.timer = setInterval(() => {
      if (play.waiting) return;
      const n = d.model.get("n_frames") || 1;
      play.waiting = true;
      d.save("frame", (d.model.get("frame") + 1) % n);
      this.syncFrame();
    }, 1000 / this.playFps());
    d.playing = play;
    d.ui.btnPlay.textContent = "❚❚ pause";
  }

  /** Play speed from the fps box, within PLAY_FPS_MIN..PLAY_FPS_MAX. */
  playFps() {
    const v = Number(this.d.ui.playFps.value);
    return Number.isFinite(v) ? Math.min(PLAY_FPS_MAX, Math.max(PLAY_FPS_MIN, v)) : 10;
  }

  /** Apply the label box: a whole number >= 0; anything else is refused and the box restored. */
  applyLabelInput() {
    const { d } = this;
    const parsed = parseLabel(d.ui.labelInput.value);
    if ("error" in parsed) {
      d.say(parsed.error);
      d.ui.labelInput.value = String(d.model.get("selected_label"));
      return;
    }
    d.editor.setSelected(parsed.label);
    this.syncSwatch();
  }

  /** The selected label's colour next to the label box (none for 0, which erases). */
  syncSwatch() {
    const { d } = this;
    const label = d.model.get("selected_label") >>> 0;
    const sw = d.ui.labelSwatch;
    const color = label ? cssColor(d.renderer.colors.rgb(label)) : "";
    sw.style.background = color;
    sw.classList.toggle("segpaint-swatch-none", !label);
    sw.setAttribute("data-color", color);
    sw.title = label ? `Colour of label ${label}` : "Label 0 erases";
  }

  /**
   * The drag handle under the canvas: dragging sets the canvas height; release saves it in the
   * `height` trait. @param {(target: EventTarget, type: string, fn: (e: any) => void) => void} listen
   */
  bindResize(listen) {
    const { d } = this;
    const handle = d.ui.resizeHandle;
    /** @type {{y: number, h: number, id: number, last: number} | null} */
    let drag = null;
    listen(handle, "pointerdown", (/** @type {PointerEvent} */ e) => {
      const h0 = Math.round(d.viewSize().h);
      drag = { y: e.clientY, h: h0, id: e.pointerId, last: h0 };
      try {
        handle.setPointerCapture(e.pointerId);
      } catch {
        /* synthetic events in tests */
      }
      e.preventDefault();
    });
    listen(handle, "pointermove", (/** @type {PointerEvent} */ e) => {
      if (!drag || drag.id !== e.pointerId) return;
      drag.last = Math.max(CANVAS_HEIGHT_MIN, Math.round(drag.h + e.clientY - drag.y));
      d.ui.viewport.style.height = `${drag.last}px`;
      d.syncViewport();
    });
    const end = (/** @type {PointerEvent} */ e) => {
      if (!drag || drag.id !== e.pointerId) return;
      const last = drag.last;
      drag = null;
      d.save("height", last);
    };
    listen(handle, "pointerup", end);
    listen(handle, "pointercancel", end);
  }

  /** Canvas height from the `height` trait (0: the default, which fits the notebook area). */
  syncHeight() {
    const { d } = this;
    const hgt = Number(d.model.get("height")) || 0;
    d.ui.viewport.style.height = hgt > 0 ? `${Math.max(CANVAS_HEIGHT_MIN, hgt)}px` : "";
    d.syncViewport();
  }

  /** @param {string} tool */
  setTool(tool) {
    if (!this.limits.tools.includes(tool)) return;
    this.d.save("tool", tool);
    this.syncTool();
  }

  syncTool() {
    const { d } = this;
    const tool = d.model.get("tool");
    for (const [t, b] of Object.entries(d.ui.toolButtons)) b.classList.toggle("segpaint-active", t === tool);
    d.ui.viewCanvas.style.cursor = tool === "pan" ? "grab" : tool === "picker" ? "copy" : "crosshair";
    d.rois.draw();
  }

  /** @param {number} t */
  setFrame(t) {
    const { d } = this;
    const n = d.model.get("n_frames") || 1;
    const f = Math.min(Math.max(t, 0), n - 1);
    if (f === d.model.get("frame")) return;
    if (d.editor.active) d.editor.endStroke();
    d.save("frame", f);
    this.syncFrame();
  }

  syncFrame() {
    const { model, ui } = this.d;
    const n = model.get("n_frames") || 1;
    ui.frameSlider.max = String(n - 1);
    ui.frameSlider.value = String(model.get("frame"));
    const t = model.get("frame");
    const dt = Number(model.get("frame_interval_min")) || 0;
    ui.frameLabel.textContent = `${t} / ${n - 1}` + (dt > 0 ? ` · ${fmtMinutes(t * dt)}` : "");
    ui.frameBox.hidden = n <= 1;
  }

  syncBrush() {
    const { model, ui } = this.d;
    const s = model.get("brush_size");
    ui.brushSize.max = String(Math.max(100, s));
    ui.brushSize.value = String(s);
    ui.brushLabel.textContent = `${s}px`;
    this.d.rois.draw();
  }

  syncPopulations() {
    const { model, ui } = this.d;
    /** @type {string[]} */
    const pops = model.get("populations") || [];
    ui.popSelect.replaceChildren(...pops.map((p) => h("option", { value: p, text: p })));
    ui.popSelect.value = model.get("population");
  }

  /** The position selector: shown only when the widget has several positions. */
  syncPositions() {
    const { model, ui } = this.d;
    /** @type {string[]} */
    const positions = model.get("positions") || [];
    const names = [...ui.posSelect.options].map((o) => o.value);
    if (names.join("\n") !== positions.join("\n")) {
      ui.posSelect.replaceChildren(...positions.map((p) => h("option", { value: p, text: p })));
    }
    ui.posSelect.value = model.get("position") || "";
    ui.posLabel.style.display = positions.length > 1 ? "" : "none";
  }

  syncMethods() {
    /** @type {string[]} */
    const methods = this.d.model.get("presegment_methods") || [];
    this.d.ui.methodSelect.replaceChildren(...methods.map((m) => h("option", { value: m, text: m })));
  }

  syncBusy() {
    const { model, ui } = this.d;
    const busy = model.get("busy");
    ui.btnPreseg.disabled = busy;
    ui.progress.style.visibility = busy ? "visible" : "hidden";
    ui.progress.value = model.get("progress") || 0;
  }

  syncOverlay() {
    const { model, ui, renderer } = this.d;
    renderer.opacity = model.get("opacity");
    renderer.contour = model.get("contour");
    renderer.selectedOnly = model.get("show_selected_only");
    renderer.selected = model.get("selected_label") >>> 0;
    ui.opacity.value = String(model.get("opacity"));
    ui.contour.checked = model.get("contour");
    ui.selectedOnly.checked = model.get("show_selected_only");
    ui.lockRoi.checked = model.get("lock_to_roi");
    ui.contiguous.checked = model.get("fill_contiguous") !== false;
    ui.labelInput.value = String(model.get("selected_label"));
    this.syncSwatch();
    this.d.redraw();
  }

  syncAll() {
    this.syncTool();
    this.syncBrush();
    this.syncFrame();
    this.syncPopulations();
    this.syncPositions();
    this.syncMethods();
    this.syncBusy();
    this.syncOverlay();
    this.syncHeight();
    this.d.ui.formatSelect.value = this.d.model.get("export_format") || "celldetective";
    nameControls(this.d.ui.root); // controls added by other modules (channels, assist) too
  }
}
