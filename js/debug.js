// @ts-check
// Debug hooks for browser tests and benchmarks: `root.__segpaint` maps image and screen
// coordinates, reads labels and rendered pixels, and counts messages (per widget model).

import { pixelOf } from "./tools.js";

/** @typedef {import("./display.js").Display} Display */

/** @param {Display} d */
export function debugHooks(d) {
  const { ui, view, renderer, state } = d;
  const c = state.counters;
  return {
    /** @param {number} row @param {number} col */
    imageToClient(row, col) {
      const r = ui.viewport.getBoundingClientRect();
      const p = view.toViewport(row, col);
      return { x: r.left + p.x, y: r.top + p.y };
    },
    /** @param {number} x @param {number} y */
    clientToImage(x, y) {
      const r = ui.viewport.getBoundingClientRect();
      const [row, col] = pixelOf(view.toImage(x - r.left, y - r.top));
      return { row, col };
    },
    /** Scribble mark at a pixel (0 none, 1 cell, 2 background). @param {number} row @param {number} col */
    scribble(row, col) {
      return d.scribbles ? d.scribbles.markAt(row, col) : 0;
    },
    /** @param {number} row @param {number} col */
    label(row, col) {
      return state.labels ? state.labels[row * renderer.width + col] : undefined;
    },
    /** @param {number} row @param {number} col */
    renderedPixel(row, col) {
      return renderer.pixel(row, col);
    },
    get messagesSent() {
      return c.messagesSent;
    },
    get messagesReceived() {
      return c.messagesReceived;
    },
    get acks() {
      return c.acks;
    },
    get lastAckMs() {
      return c.lastAckMs;
    },
    get lastFrame() {
      return c.lastFrame;
    },
    get framesReceived() {
      return c.framesReceived;
    },
    /** read-ahead (issue 9): its counters and the frames whose pictures are held */
    get prefetch() {
      const cache = state.readAhead.cache;
      return { ...cache.counters, held: cache.pictures.map((p) => p.header.frame) };
    },
    get draws() {
      return renderer.draws;
    },
    get lastDrawMs() {
      return renderer.lastDrawMs;
    },
    get frame() {
      return state.frame;
    },
    get view() {
      return { scale: view.scale, tx: view.tx, ty: view.ty };
    },
    get rois() {
      return d.rois.boxes.map((b) => b.slice());
    },
    /** @param {number} i */
    selectRoi(i) {
      d.rois.select(i);
    },
    renderer,
  };
}
