// @ts-check
// The label list of the frame shown: how many labels, their sizes, and choosing one selects it and
// brings it into view (issue 10). Counted in the browser from the shared label buffer, after a
// frame arrives and after edits (debounced), so it costs nothing while painting.

import { h } from "./dom.js";

/** @typedef {import("./display.js").Display} Display */

/** Wait after the last edit before counting again, ms. */
export const LIST_DEBOUNCE_MS = 250;
/** Options listed at most (the largest labels first); the count covers them all. */
export const LIST_MAX = 2000;
/** Pixels the label count scans in one task (about 2 ms) before it lets the page go on. */
export const LIST_SLICE_PIXELS = 1 << 19;

/**
 * Pixel count and bounding box [row0, row1, col0, col1] (half-open) of every non-zero label, of
 * `height` rows from row `first` on, added to `stats` (a new map by default).
 * @param {ArrayLike<number>} labels @param {number} width @param {number} height
 * @param {Map<number, {count: number, box: number[]}>} [stats] @param {number} [first]
 * @returns {Map<number, {count: number, box: number[]}>}
 */
export function labelStats(labels, width, height, stats = new Map(), first = 0) {
  // Run by run: the map is looked up once per run of one value, not once per pixel.
  for (let r = first; r < first + height; r++) {
    const base = r * width;
    let c = 0;
    while (c < width) {
      const v = labels[base + c];
      let e = c + 1;
      while (e < width && labels[base + e] === v) e++;
      if (v !== 0) {
        const s = stats.get(v);
        if (!s) {
          stats.set(v, { count: e - c, box: [r, r + 1, c, e] });
        } else {
          s.count += e - c;
          const b = s.box;
          if (r + 1 > b[1]) b[1] = r + 1;
          if (c < b[2]) b[2] = c;
          if (e > b[3]) b[3] = e;
        }
      }
      c = e;
    }
  }
  return stats;
}

export class LabelList {
  /**
   * @param {Display} d
   * @param {(target: EventTarget, type: string, fn: (e: any) => void) => void} listen
   */
  constructor(d, listen) {
    this.d = d;
    /** @type {ReturnType<typeof setTimeout> | 0} */
    this.timer = 0;
    /** @type {Map<number, {count: number, box: number[]}>} */
    this.stats = new Map();
    /** @type {ReturnType<typeof setTimeout> | 0} */
    this.sliceTimer = 0;
    this.scan = 0;
    this.slicePixels = LIST_SLICE_PIXELS;
    const { ui } = d;
    listen(ui.labelList, "change", () => {
      const label = Number(ui.labelList.value);
      if (Number.isInteger(label) && label > 0) this.jump(label);
    });
    // The browser's own strokes are not echoed back: count again once a pointer or key edit ends.
    listen(ui.viewCanvas, "pointerup", () => this.dirty());
    listen(ui.root, "keyup", () => this.dirty());
  }

  /** Count again soon (edits come in bursts); a count under way is stale: drop it. */
  dirty() {
    this.scan++;
    if (this.sliceTimer) clearTimeout(this.sliceTimer);
    this.sliceTimer = 0;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = 0;
      this.refresh();
    }, LIST_DEBOUNCE_MS);
  }

  dispose() {
    if (this.timer) clearTimeout(this.timer);
    if (this.sliceTimer) clearTimeout(this.sliceTimer);
    this.timer = this.sliceTimer = 0;
    this.scan++;
  }

  /**
   * Count the labels of the frame shown and rebuild the list. A large frame is counted in row
   * bands of about `slicePixels`, one task each, so a 4096² frame never blocks the page for
   * tens of ms after a stroke; an edit or a new frame meanwhile starts the count again.
   */
  refresh() {
    const { d } = this;
    const { labels } = d.state;
    const { width, height } = d.renderer;
    const scan = ++this.scan;
    if (this.sliceTimer) clearTimeout(this.sliceTimer);
    this.sliceTimer = 0;
    if (!labels || !width || !height) {
      this.show(new Map());
      return;
    }
    const rows = Math.max(1, Math.ceil(this.slicePixels / width));
    /** @type {Map<number, {count: number, box: number[]}>} */
    const stats = new Map();
    /** @param {number} r0 */
    const band = (r0) => {
      if (scan !== this.scan || d.state.labels !== labels) return; // superseded
      const r1 = Math.min(height, r0 + rows);
      labelStats(labels, width, r1 - r0, stats, r0);
      if (r1 < height) this.sliceTimer = setTimeout(() => band(r1), 0);
      else this.show(stats);
    };
    band(0);
  }

  /** @param {Map<number, {count: number, box: number[]}>} stats */
  show(stats) {
    const { d } = this;
    this.sliceTimer = 0;
    this.stats = stats;
    const n = this.stats.size;
    d.ui.labelCount.textContent = `${n} label${n === 1 ? "" : "s"}`;
    const sorted = [...this.stats].sort((a, b) => a[0] - b[0]);
    const shown = sorted.length > LIST_MAX ? [...sorted].sort((a, b) => b[1].count - a[1].count).slice(0, LIST_MAX).sort((a, b) => a[0] - b[0]) : sorted;
    const head = h("option", { value: "", text: n ? "go to label…" : "no labels", disabled: true });
    d.ui.labelList.replaceChildren(head, ...shown.map(([label, s]) => h("option", { value: String(label), text: `${label} · ${s.count} px` })));
    d.ui.labelList.value = "";
  }

  /**
   * Select `label` and bring it into view: centred at the current zoom, or zoomed out until it
   * fits (with a margin). @param {number} label
   */
  jump(label) {
    const { d } = this;
    d.editor.setSelected(label);
    const s = this.stats.get(label);
    if (!s) {
      d.say(`label ${label} is not on this frame`);
      return;
    }
    const [r0, r1, c0, c1] = s.box;
    const size = d.viewSize();
    const fits = Math.min(size.w / ((c1 - c0) * 1.5), size.h / ((r1 - r0) * 1.5));
    const v = d.view;
    if (v.scale > fits) v.scale = fits;
    v.tx = size.w / 2 - ((c0 + c1) / 2) * v.scale;
    v.ty = size.h / 2 - ((r0 + r1) / 2) * v.scale;
    d.userMovedView = true;
    d.applyTransform();
    d.say(`label ${label}: ${s.count} px, rows ${r0}–${r1 - 1}, cols ${c0}–${c1 - 1}`);
    d.ui.labelList.value = "";
  }
}
