// @ts-check
// ROIs of the frame shown: the see-through overlay (the brush outline is js/editor.js's), drawing, moving,
// resizing and deleting with the ROI tool. The session owns the ROIs; this view proposes changes
// and shows what the `rois` trait says.

import { pixelOf, boxFromPoints, hitRoi, dragRoi, handleCursor, clipBox } from "./tools.js";

/** @typedef {import("./display.js").Display} Display */
/** @typedef {{row: number, col: number}} Point */
/**
 * @typedef {{kind: "roi-new", start: Point, box: number[] | null, id: number}
 *   | {kind: "roi-edit", index: number, handle: string, start: number[], orig: number[], id: number}} RoiDrag
 */

export class RoiLayer {
  /** @param {Display} d */
  constructor(d) {
    this.d = d;
    /** @type {number[][]} */
    this.boxes = [];
    this.selected = -1;
    /** @type {RoiDrag | null} */
    this.drag = null;
  }

  /** The `rois` trait changed (Python added, moved or removed one): keep the selection. */
  syncFromModel() {
    /** @type {number[][]} */
    const rois = this.d.model.get("rois") || [];
    if (!this.drag) {
      const sel = this.selected >= 0 ? this.boxes[this.selected] : null;
      this.boxes = rois.map((b) => b.slice());
      this.selected = sel ? this.boxes.findIndex((b) => b.every((v, i) => v === sel[i])) : -1;
    }
    this.draw();
  }

  /** @param {string} type @param {Record<string, any>} extra */
  send(type, extra) {
    this.d.state.send({ type, frame: this.d.state.frame, ...extra });
  }

  deleteSelected() {
    if (this.selected < 0 || this.selected >= this.boxes.length) {
      this.d.say("no ROI selected (click one with the ROI tool)");
      return;
    }
    const box = this.boxes[this.selected];
    this.boxes = this.boxes.filter((_, i) => i !== this.selected);
    this.selected = -1;
    this.send("roi-remove", { bbox: box });
    this.draw();
  }

  /** @param {number} i */
  select(i) {
    this.selected = i;
    this.draw();
  }

  /** Pointer down with the ROI tool. @param {Point} point @param {number} id */
  start(point, id) {
    if (this.d.state.frame === null) return;
    const hit = hitRoi(this.boxes, point, 6 / this.d.view.scale);
    if (hit) {
      this.selected = hit.index;
      this.drag = { kind: "roi-edit", index: hit.index, handle: hit.handle, start: pixelOf(point), orig: this.boxes[hit.index].slice(), id };
    } else {
      this.selected = -1;
      this.drag = { kind: "roi-new", start: point, box: null, id };
    }
    this.draw();
  }

  /** @param {Point} point @param {number} id */
  move(point, id) {
    const drag = this.drag;
    const { renderer } = this.d;
    if (!drag || drag.id !== id) {
      if (this.d.model.get("tool") === "roi") {
        this.d.ui.viewCanvas.style.cursor = handleCursor(hitRoi(this.boxes, point, 6 / this.d.view.scale)?.handle);
      }
      return;
    }
    if (drag.kind === "roi-new") {
      drag.box = clipBox(boxFromPoints(drag.start, point), renderer.height, renderer.width);
    } else {
      const [r, c] = pixelOf(point);
      this.boxes[drag.index] = dragRoi(drag.orig, drag.handle, r - drag.start[0], c - drag.start[1], renderer.height, renderer.width);
    }
  }

  /** @param {number} id */
  end(id) {
    const drag = this.drag;
    if (!drag || drag.id !== id) return;
    this.drag = null;
    if (drag.kind === "roi-new") {
      const b = drag.box;
      if (b && (b[1] - b[0] > 1 || b[3] - b[2] > 1)) {
        this.boxes = [...this.boxes, b];
        this.selected = this.boxes.length - 1;
        this.send("roi-add", { bbox: b });
      }
    } else {
      const box = this.boxes[drag.index];
      if (box.some((v, i) => v !== drag.orig[i])) this.send("roi-change", { old: drag.orig, bbox: box });
    }
    this.draw();
  }

  /** Overlay: ROIs (see-through fill, solid outline, handles on the selected one) and the brush. */
  draw() {
    const { d } = this;
    d.editor.drawCursor(); // the brush outline is the pointer's cursor or an element (js/editor.js)
    const canvas = d.ui.viewCanvas;
    const ctx = canvas.getContext ? canvas.getContext("2d") : null;
    if (!ctx) return;
    const s = d.viewSize();
    const dpr = (typeof window !== "undefined" && window.devicePixelRatio) || 1;
    // Nothing to show (no ROI, no drag, no assist marks): a 0x0 backing store (the element still
    // covers the viewport and takes the pointer), so the browser copies no empty layer per frame.
    const empty = this.boxes.length === 0 && !this.drag && !d.assist.hasOverlay();
    const W = empty ? 0 : Math.round(s.w * dpr);
    const H = empty ? 0 : Math.round(s.h * dpr);
    if (canvas.width !== W || canvas.height !== H) {
      canvas.width = W;
      canvas.height = H;
    }
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, s.w, s.h);
    const { scale, tx, ty } = d.view;
    const exported = d.model.get("rois_exported") || []; // issue 10: versions on disk, per ROI
    this.boxes.forEach((b, i) => {
      const x = tx + b[2] * scale;
      const y = ty + b[0] * scale;
      const w = (b[3] - b[2]) * scale;
      const hh = (b[1] - b[0]) * scale;
      const sel = i === this.selected;
      ctx.fillStyle = sel ? "rgba(255,255,0,0.12)" : "rgba(255,255,255,0.08)";
      ctx.fillRect(x, y, w, hh);
      ctx.lineWidth = sel ? 2 : 1.5;
      ctx.strokeStyle = sel ? "#ffff00" : "#ffffff";
      ctx.setLineDash(sel ? [] : [6, 4]);
      ctx.strokeRect(x, y, w, hh);
      ctx.setLineDash([]);
      if (sel) {
        ctx.fillStyle = "#ffff00";
        for (const [px, py] of [[x, y], [x + w, y], [x, y + hh], [x + w, y + hh]]) ctx.fillRect(px - 3, py - 3, 6, 6);
      }
      const n = exported[i] || 0;
      if (n > 0 && i < exported.length) {
        ctx.fillStyle = "#66bb6a";
        ctx.font = "11px system-ui, sans-serif";
        ctx.fillText(n > 1 ? `✓ exported (v${n})` : "✓ exported", x + 4, y + 13);
      }
    });
    const drag = this.drag;
    if (drag && drag.kind === "roi-new" && drag.box) {
      const b = drag.box;
      ctx.strokeStyle = "#ffff00";
      ctx.setLineDash([4, 3]);
      ctx.strokeRect(tx + b[2] * scale, ty + b[0] * scale, (b[3] - b[2]) * scale, (b[1] - b[0]) * scale);
      ctx.setLineDash([]);
    }
    d.assist?.drawOverlay(ctx);
  }
}
