// @ts-check
// Toolbar, sliders and buttons: what each control does, the actions keys map to, and keeping the
// controls in step with the model's traits.

import { h } from "./dom.js";
import { stepBrush } from "./tools.js";

/** @typedef {import("./display.js").Display} Display */

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
    listen(ui.labelInput, "change", () => d.editor.setSelected(Math.max(0, Math.floor(Number(ui.labelInput.value) || 0))));
    listen(ui.opacity, "input", () => {
      d.renderer.opacity = Number(ui.opacity.value);
      d.redraw();
    });
    listen(ui.opacity, "change", () => d.save("opacity", Number(ui.opacity.value)));
    listen(ui.contour, "change", () => d.save("contour", ui.contour.checked));
    listen(ui.selectedOnly, "change", () => d.save("show_selected_only", ui.selectedOnly.checked));
    listen(ui.lockRoi, "change", () => d.save("lock_to_roi", ui.lockRoi.checked));
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
        if (!d.assist.cancel()) d.rois.select(-1);
        break;
      case "scribble-swap":
        d.scribbles?.swap();
        break;
      case "fit":
        d.userMovedView = false;
        d.fit();
        break;
      default:
        if (action.startsWith("tool:")) this.setTool(action.slice(5));
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
    }, 100);
    d.playing = play;
    d.ui.btnPlay.textContent = "❚❚ pause";
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
    ui.frameLabel.textContent = `${model.get("frame")} / ${n - 1}`;
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
    ui.labelInput.value = String(model.get("selected_label"));
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
    this.d.ui.formatSelect.value = this.d.model.get("export_format") || "celldetective";
  }
}
