// @ts-check
// Input mapping: pointer (mouse, pen, touch), wheel and keys to actions of the editor, the ROI
// layer, the view and the controls. Handlers stay thin: geometry lives in tools.js.

import { SLIDER_KEYS, stepSlider } from "./dom.js";
import { chordOf, keyAction, pixelOf } from "./tools.js";

/** @typedef {import("./display.js").Display} Display */
/** @typedef {(target: EventTarget, type: string, fn: (e: any) => void, opts?: AddEventListenerOptions | boolean) => void} Listen */

/**
 * @param {any} t an event target
 * @param {boolean} [numbers] count number inputs as typing
 */
const isTyping = (t, numbers = false) =>
  Boolean(t) && (t.tagName === "TEXTAREA" || t.isContentEditable || (t.tagName === "INPUT" && (t.type === "text" || (numbers && t.type === "number"))));

/**
 * Wire the pointer and keyboard of one view.
 * @param {Display} d
 * @param {Listen} listen
 */
export function bindInput(d, listen) {
  const { ui, view } = d;
  const canvas = ui.viewCanvas;
  /** @type {{kind: "pan", x: number, y: number, id: number} | {kind: "stroke" | "scribble" | "assist", id: number} | null} */
  let drag = null;

  /** @param {MouseEvent} e */
  const localXY = (e) => {
    const r = ui.viewport.getBoundingClientRect();
    return { x: e.clientX - r.left, y: e.clientY - r.top };
  };
  /** @param {MouseEvent} e */
  const pointOf = (e) => {
    const { x, y } = localXY(e);
    return view.toImage(x, y);
  };

  /** An Alt+click was used: the Alt key's release must not open the browser's menu bar. */
  let chordUsed = false;

  /**
   * A modifier click (tools.js `chordOf`), whatever the tool: "delete" asks the kernel to
   * delete the cell under the click (`Session.delete_label`, one undo step; the result comes
   * back as a labels-patch), "pick" makes its label the active one (an eyedropper: no edit).
   * @param {"delete" | "pick"} chord @param {{row: number, col: number}} point
   */
  const runChord = (chord, point) => {
    const px = pixelOf(point);
    const { state, renderer } = d;
    if (!state.labels || px[0] < 0 || px[1] < 0 || px[0] >= renderer.height || px[1] >= renderer.width) return;
    const label = state.labels[px[0] * renderer.width + px[1]] >>> 0;
    if (chord === "pick") {
      d.editor.setSelected(label);
      d.say(label ? `picked label ${label} (Alt+click)` : "picked label 0: the brush erases, the fill bucket deletes (Alt+click)");
      return;
    }
    if (state.lost) {
      d.say("the kernel is gone: nothing is deleted (see the red banner)");
      return;
    }
    if (!label) {
      d.say("Ctrl+click deletes the cell under the pointer: this is background");
      return;
    }
    if (!d.editor.canEdit() || !d.assist.inside(px)) return;
    // tagged with the position shown (an Experiment's widget), like a stroke: Python refuses it if it moved on
    const where = state.position === null ? {} : { position: state.position };
    state.send({ type: "delete-cell", population: state.population, frame: state.frame, points: [px], label, ...where });
    d.say(`deleting cell ${label} (Ctrl+click)…`);
  };

  listen(canvas, "pointerdown", (/** @type {PointerEvent} */ e) => {
    if (e.button === 2) return;
    ui.root.focus({ preventScroll: true });
    d.engaged = true; // from now on the wheel zooms, until focus leaves the widget
    const { x, y } = localXY(e);
    const point = view.toImage(x, y);
    d.cursor = point;
    const tool = d.model.get("tool");
    try {
      canvas.setPointerCapture(e.pointerId);
    } catch {
      /* synthetic events in tests have no active pointer */
    }
    e.preventDefault();
    const chord = e.button === 1 || d.space ? null : chordOf(e);
    if (chord) {
      chordUsed = chord === "pick";
      runChord(chord, point);
      return;
    }
    if (e.button === 1 || d.space || tool === "pan") {
      drag = { kind: "pan", x, y, id: e.pointerId };
      d.editor.panning = true;
      canvas.style.cursor = "grabbing";
      return;
    }
    if (d.state.lost) {
      // issue 10: no kernel will ever store it (js/panels.js shows why); panning still works
      d.say("the kernel is gone: nothing is painted (see the red banner)");
      return;
    }
    if (d.assist.handles(tool, e)) {
      if (d.assist.down(point, { x, y }, tool, e)) drag = { kind: "assist", id: e.pointerId };
    } else if (tool === "brush" || tool === "eraser") {
      if (d.editor.startStroke(point, tool)) drag = { kind: "stroke", id: e.pointerId };
    } else if (tool === "fill") {
      d.editor.fillAt(point);
    } else if (tool === "picker") {
      d.editor.pickAt(point);
    } else if (tool === "roi") {
      d.rois.start(point, e.pointerId);
    } else if (tool === "scribble" && d.scribbles) {
      if (d.scribbles.start(point)) drag = { kind: "scribble", id: e.pointerId };
    }
  });

  /** Image points (row, col pairs) of one pointer event and the events coalesced into it (reused). */
  let points = new Float64Array(64);

  listen(canvas, "pointermove", (/** @type {PointerEvent} */ e) => {
    const r = ui.viewport.getBoundingClientRect(); // once per event, not per coalesced event
    const x = e.clientX - r.left;
    const y = e.clientY - r.top;
    d.hover = { x, y };
    const point = view.toImage(x, y);
    d.cursor = point;
    if (drag && drag.id === e.pointerId && drag.kind === "stroke") {
      if (d.editor.active) {
        const evs = typeof e.getCoalescedEvents === "function" ? e.getCoalescedEvents() : [];
        const n = Math.max(evs.length, 1);
        if (points.length < 2 * n) points = new Float64Array(4 * n);
        if (evs.length) {
          const { scale, tx, ty } = view;
          for (let i = 0; i < n; i++) {
            points[2 * i] = (evs[i].clientY - r.top - ty) / scale - 0.5;
            points[2 * i + 1] = (evs[i].clientX - r.left - tx) / scale - 0.5;
          }
        } else {
          points[0] = point.row;
          points[1] = point.col;
        }
        d.editor.extendStroke(points, n);
      }
      d.editor.pointerMoved(); // the ROI overlay does not change during a stroke
      return;
    }
    if (drag && drag.id === e.pointerId) {
      if (drag.kind === "pan") {
        view.panBy(x - drag.x, y - drag.y);
        d.userMovedView = true;
        drag.x = x;
        drag.y = y;
        d.applyTransform();
      } else if (drag.kind === "scribble" && d.scribbles) {
        const evs = typeof e.getCoalescedEvents === "function" ? e.getCoalescedEvents() : [];
        d.scribbles.extend(evs.length ? evs.map(pointOf) : [point]);
      } else if (drag.kind === "assist") {
        d.assist.move(point, { x, y });
      }
    } else {
      d.rois.move(point, e.pointerId);
    }
    const tool = d.model.get("tool");
    // Hovering with the brush or eraser moves only its outline (and the status line).
    if ((tool === "brush" || tool === "eraser") && !d.rois.drag) d.editor.pointerMoved();
    else d.hoverChanged();
  });

  /** @param {PointerEvent} e */
  const endDrag = (e) => {
    d.rois.end(e.pointerId);
    if (!drag || drag.id !== e.pointerId) return;
    const kind = drag.kind;
    drag = null;
    d.editor.panning = false;
    if (kind === "stroke") d.editor.endStroke();
    else if (kind === "scribble") d.scribbles?.end();
    else if (kind === "assist") d.assist.up();
    else d.controls.syncTool();
    d.rois.draw();
  };
  listen(canvas, "pointerup", endDrag);
  listen(canvas, "pointercancel", endDrag);
  listen(canvas, "pointerleave", () => {
    d.hover = null;
    d.rois.draw();
  });
  listen(canvas, "pointerenter", () => {
    if (!isTyping(document.activeElement)) ui.root.focus({ preventScroll: true });
  });
  listen(canvas, "contextmenu", (e) => e.preventDefault());
  // Middle-drag pans: keep the browser's autoscroll / paste-on-middle-click out of it.
  listen(canvas, "mousedown", (/** @type {MouseEvent} */ e) => {
    if (e.button === 1) e.preventDefault();
  });
  listen(canvas, "auxclick", (e) => e.preventDefault());
  listen(canvas, "wheel", (/** @type {WheelEvent} */ e) => {
    if (!d.wheelZooms(e)) return; // the notebook scrolls (issue 10)
    e.preventDefault();
    const { x, y } = localXY(e);
    const dy = e.deltaMode === 1 ? e.deltaY * 16 : e.deltaY;
    d.zoomAt(x, y, Math.exp(-dy * 0.0015));
  }, { passive: false });

  listen(ui.root, "keydown", (/** @type {KeyboardEvent} */ e) => {
    if (isTyping(e.target, true)) return;
    const action = keyAction(e);
    if (!action) return;
    e.preventDefault();
    e.stopPropagation();
    if (action === "space") {
      d.space = true;
      canvas.style.cursor = "grab";
      return;
    }
    d.controls.run(action);
  });
  // Arrow keys on a focused slider: JupyterLab and Notebook 7 handle keydown on the document in the
  // capture phase (notebook navigation, shortcuts) before the slider sees it, whatever
  // data-lm-suppress-shortcuts says. The window's capture phase comes first: step our own sliders
  // there and keep the event from going further. Keys aimed at anything else are left alone.
  if (typeof window !== "undefined") {
    listen(window, "keydown", (/** @type {KeyboardEvent} */ e) => {
      const t = /** @type {HTMLInputElement | null} */ (e.target);
      if (!t || t.tagName !== "INPUT" || t.type !== "range" || !ui.root.contains(t)) return;
      if (e.ctrlKey || e.metaKey || e.altKey || !(e.key in SLIDER_KEYS)) return;
      e.preventDefault();
      e.stopImmediatePropagation();
      stepSlider(t, e.key);
    }, true);
  }
  listen(ui.root, "keyup", (/** @type {KeyboardEvent} */ e) => {
    if (e.key === "Alt" && chordUsed) {
      chordUsed = false;
      e.preventDefault(); // Firefox / Windows: releasing Alt would focus the menu bar
      return;
    }
    if (e.key === " ") {
      d.space = false;
      e.stopPropagation();
      d.controls.syncTool();
    }
  });
}
