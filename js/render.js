// @ts-check
// Viewport renderer: the canvas holds exactly what is on screen (one canvas pixel per CSS pixel of
// the viewport), computed from the image data by nearest-neighbour lookup. The canvas covers only
// the screen rect that shows the image (the viewport's own background, the same colour, shows
// around it): Chromium copies each changed canvas whole into every frame it composites, so a
// brush step in a fitted 512² frame copies 550 x 550 pixels, not the 958 x 550 viewport. Every operation therefore
// costs in proportion to the viewport, not the image: a contrast change or a new frame at 4096²
// costs the same as at 512², and a brush step recomputes only the screen rectangle it dirtied.
// Channels go through per-channel LUTs (contrast, gamma, colour) and add up; labels are blended on
// top with the opacity, optionally as contours or for the selected label only.

import { buildLut, LabelColors } from "./colors.js";
import { ALPHA, blend, channelLanes, clampLanes, composeDirect, gatherRect, shadeRect } from "./shade.js";

/**
 * The image canvas's 2D context options. `desynchronized`: Chromium hands each changed frame of
 * the canvas straight to the compositor (as it does an OffscreenCanvas), not through the page's
 * main-thread commit, so a brush step costs the page's main thread no layer update, no copy of
 * the canvas and no wait for the commit (docs/performance.md, "A stroke under the floor's
 * time"). Browsers without it ignore the option; reading the canvas back works as before.
 */
/** @type {CanvasRenderingContext2DSettings} */
export const CONTEXT_OPTIONS = { desynchronized: true };

export class Renderer {
  /** @param {HTMLCanvasElement|null} canvas the viewport canvas (null in tests without a 2D context) */
  constructor(canvas = null) {
    this.canvas = canvas;
    this.ctx = null;
    this.viewWidth = 0;
    this.viewHeight = 0;
    this.out = null; // Uint32Array RGBA of the viewport
    this.imageData = null;
    this.width = 0; // image
    this.height = 0;
    this.scale = 1;
    this.tx = 0;
    this.ty = 0;
    this.colIdx = null; // image column of each screen column (-1 outside)
    this.rowIdx = null;
    this.channels = []; // {index, dtype, data, visible, rgb, lo, hi, gamma, lut}
    this.previewStep = 1; // channel data decimated by the preview step; labels are full size
    this.chanWidth = 0;
    this.colIdxC = null;
    this._idxC = null;
    this.labels = null;
    this.colors = new LabelColors();
    this.opacity = 0.5;
    this.contour = false;
    this.selectedOnly = false;
    this.selected = 0;
    this.draws = 0;
    this.lastDrawMs = 0;
    this._idx = null;
    /** @type {number[] | null} the screen rect [y0, y1, x0, x1] that shows image pixels, or null */
    this.imageRect = null;
    /** @type {number[] | null} the screen rect the canvas covers (set by full redraws), or null */
    this.canvasRect = null;
    /** whether the screen outside `imageRect` was drawn since the mapping last changed */
    this.backgroundDrawn = false;
    /** @type {any} samples and labels per screen pixel (see _dropGathered) */
    this.gathered = null;
    this._dropGathered();
  }

  /** Size the viewport (CSS pixels). */
  setViewport(viewWidth, viewHeight) {
    const w = Math.max(1, Math.round(viewWidth));
    const h = Math.max(1, Math.round(viewHeight));
    if (w === this.viewWidth && h === this.viewHeight && this.out) return false;
    this.viewWidth = w;
    this.viewHeight = h;
    const bytes = new Uint8ClampedArray(w * h * 4);
    this.out = new Uint32Array(bytes.buffer);
    this._idx = new Int32Array(w);
    this._idxC = new Int32Array(w);
    if (this.canvas) {
      this.canvasRect = null; // placed by the next full redraw
      this.ctx = this.canvas.getContext ? this.canvas.getContext("2d", CONTEXT_OPTIONS) : null;
      this.imageData = this.ctx && typeof ImageData !== "undefined" ? new ImageData(bytes, w, h) : null;
    }
    this._mapping();
    return true;
  }

  /**
   * Size and place the canvas over the screen rect that shows the image (hidden when none
   * does). Only full redraws call it: resizing a canvas clears it.
   */
  _placeCanvas() {
    const c = this.canvas;
    if (!c) return;
    const want = this.imageRect;
    const have = this.canvasRect;
    if (want && have && want[0] === have[0] && want[1] === have[1] && want[2] === have[2] && want[3] === have[3]) return;
    this.canvasRect = want ? want.slice() : null;
    if (!want) {
      c.style.display = "none";
      return;
    }
    const [y0, y1, x0, x1] = want;
    if (c.width !== x1 - x0) c.width = x1 - x0;
    if (c.height !== y1 - y0) c.height = y1 - y0;
    c.style.left = `${x0}px`;
    c.style.top = `${y0}px`;
    c.style.display = "";
  }

  /** Image size of the current frame. */
  setImageSize(height, width) {
    if (height === this.height && width === this.width) return;
    this.height = height;
    this.width = width;
    this._mapping();
  }

  /** View transform: screen x = tx + col * scale (see tools.js View). */
  setView(scale, tx, ty) {
    if (scale === this.scale && tx === this.tx && ty === this.ty) return;
    this.scale = scale;
    this.tx = tx;
    this.ty = ty;
    this._mapping();
  }

  _mapping() {
    const { viewWidth, viewHeight, width, height, scale, tx, ty } = this;
    // The screen outside the image holds its background from the last full draw only.
    this.backgroundDrawn = false;
    if (!viewWidth) return;
    this.colIdx = new Int32Array(viewWidth);
    this.rowIdx = new Int32Array(viewHeight);
    for (let x = 0; x < viewWidth; x++) {
      const c = Math.floor((x + 0.5 - tx) / scale);
      this.colIdx[x] = c >= 0 && c < width ? c : -1;
    }
    for (let y = 0; y < viewHeight; y++) {
      const r = Math.floor((y + 0.5 - ty) / scale);
      this.rowIdx[y] = r >= 0 && r < height ? r : -1;
    }
    this.imageRect = shownSpan(this.rowIdx, this.colIdx);
    this._chanMapping();
  }

  _chanMapping() {
    this._dropGathered();
    if (!this.colIdx) return;
    const step = this.previewStep;
    this.colIdxC = new Int32Array(this.colIdx.length);
    for (let x = 0; x < this.colIdx.length; x++) {
      const c = this.colIdx[x];
      this.colIdxC[x] = c < 0 ? -1 : Math.floor(c / step);
    }
  }

  /**
   * Set the channel list: [{index, dtype, data, visible, rgb, lo, hi, gamma, quant?}]. All channels
   * hold the frame decimated by `previewStep` (1 = full resolution), i.e. ceil(width / previewStep)
   * columns; a quantized preview channel (`quant`, uint8) is looked up as the values it stands for.
   */
  setChannels(channels, previewStep = 1) {
    this.channels = channels.map((c) => ({ ...c, lut: buildLut(c.dtype, c.lo, c.hi, c.gamma, c.rgb, c.quant) }));
    this.previewStep = previewStep;
    this.chanWidth = Math.ceil(this.width / previewStep);
    this._chanMapping();
  }

  /** Index into the channel arrays of image pixel (row, col). */
  chanIndex(row, col) {
    const s = this.previewStep;
    return s === 1 ? row * this.width + col : Math.floor(row / s) * this.chanWidth + Math.floor(col / s);
  }

  /** Update one channel's display settings; returns true when its pixels look different. */
  setChannelDisplay(index, { lo, hi, gamma, rgb, visible }) {
    const ch = this.channels.find((c) => c.index === index);
    if (!ch) return false;
    const sameLut = ch.lo === lo && ch.hi === hi && ch.gamma === gamma &&
      ch.rgb[0] === rgb[0] && ch.rgb[1] === rgb[1] && ch.rgb[2] === rgb[2];
    if (sameLut && ch.visible === visible) return false;
    Object.assign(ch, { lo, hi, gamma, rgb, visible });
    if (!sameLut) ch.lut = buildLut(ch.dtype, lo, hi, gamma, rgb, ch.quant);
    return true;
  }

  /** Install a frame's label buffer (colours keep their assignment until `recolorSteps` runs). */
  setLabels(labels) {
    this.labels = labels;
    this._dropGathered();
  }

  /**
   * Recompute neighbour-aware label colours for the whole frame, in steps (a generator the caller
   * drives between tasks); returns true on change.
   */
  *recolorSteps(empty = false) {
    if (!this.labels) return false;
    const before = this.colors.assigned;
    yield* this.colors.resetInSteps(this.labels, this.width, this.height, 256, empty);
    for (const [l, i] of this.colors.assigned) if (before.get(l) !== i) return true;
    return false;
  }

  /** Screen rectangle [y0, y1, x0, x1] covering an image box (clipped to the viewport), or null. */
  screenRect(box) {
    const [r0, r1, c0, c1] = box;
    const { scale, tx, ty } = this;
    const x0 = Math.max(0, Math.floor(tx + c0 * scale) - 1);
    const x1 = Math.min(this.viewWidth, Math.ceil(tx + c1 * scale) + 1);
    const y0 = Math.max(0, Math.floor(ty + r0 * scale) - 1);
    const y1 = Math.min(this.viewHeight, Math.ceil(ty + r1 * scale) + 1);
    return x1 > x0 && y1 > y0 ? [y0, y1, x0, x1] : null;
  }

  /**
   * Per-screen-pixel copies of what the viewport shows (`gather`): each visible channel's sample
   * and the label blended there (0: none, contours already applied). A contrast, gamma or colour
   * change then maps these through the new LUTs (`redrawChannels`), reading the viewport's few
   * hundred thousand samples in order instead of looking them up again in a 4096² frame.
   * Every drawing path (full redraw, dirty box) gathers what it draws, so they stay in step
   * with the screen; anything that moves the mapping or replaces the data drops them.
   */
  _dropGathered() {
    // The arrays stay allocated (a frame change must not allocate megabytes): only marked stale.
    if (!this.gathered) this.gathered = { full: false, contour: false, arrays: new Map(), valid: new Set(), labels: null };
    this.gathered.full = false;
    this.gathered.valid.clear();
  }

  /** The gathered-sample array of a channel (its dtype, one element per screen pixel). */
  _gatherArray(ch) {
    const n = this.viewWidth * this.viewHeight;
    const have = this.gathered.arrays.get(ch.index);
    if (have && have.constructor === ch.data.constructor && have.length === n) return have;
    const arr = new ch.data.constructor(n);
    this.gathered.arrays.set(ch.index, arr);
    return arr;
  }

  /**
   * Compute a screen rectangle into `out`. A full redraw looks every sample up in one pass; a box
   * (a brush step, a patch) also keeps the gathered samples in step when they are whole.
   */
  compose(rect) {
    if (!this.out || !this.rowIdx || !this.colIdx || !this._idx || !this._idxC || !this.colIdxC) return;
    const vis = this.channels.filter((c) => c.visible && c.data);
    const g = this.gathered;
    const full = rect[0] === 0 && rect[1] === this.viewHeight && rect[2] === 0 && rect[3] === this.viewWidth;
    if (full || !g.full || g.contour !== this.contour) {
      g.full = false; // gathered again by the next redrawChannels
      composeDirect(this, rect, vis);
      return;
    }
    // The box's hidden channels are not gathered: their samples go stale there.
    for (const idx of [...g.valid]) if (!vis.some((c) => c.index === idx)) g.valid.delete(idx);
    gatherRect(this, rect, vis);
    shadeRect(this, rect, vis);
  }

  /** Upload a screen rect of `out` to the canvas (the part of it the canvas covers). */
  flush(rect) {
    const on = this.canvasRect;
    if (!this.ctx || !this.imageData || !on) return;
    const y0 = Math.max(rect[0], on[0]);
    const y1 = Math.min(rect[1], on[1]);
    const x0 = Math.max(rect[2], on[2]);
    const x1 = Math.min(rect[3], on[3]);
    if (y1 <= y0 || x1 <= x0) return;
    this.ctx.putImageData(this.imageData, -on[2], -on[0], x0, y0, x1 - x0, y1 - y0);
  }

  /** Image pixels changed inside `box` (a brush step, a patch): recompute only its screen rect. */
  updateBox(box) {
    // One pixel more: contours of the neighbours depend on the changed pixels.
    const rect = this.screenRect([box[0] - 1, box[1] + 1, box[2] - 1, box[3] + 1]);
    if (!rect) return;
    this.compose(rect);
    this.flush(rect);
  }

  /** Recompute the whole viewport (new frame, contrast, view change, overlay mode). */
  redraw() {
    if (!this.out) return;
    const t0 = now();
    const rect = [0, this.viewHeight, 0, this.viewWidth];
    this.compose(rect);
    this._placeCanvas();
    this.flush(rect);
    this.backgroundDrawn = Boolean(this.rowIdx);
    this.lastDrawMs = now() - t0;
    this.draws++;
  }

  /**
   * Redraw after a change of channel display only (contrast, gamma, colour, visibility) or of
   * label colours: from the samples gathered by the last full redraw when they cover every
   * visible channel (no lookup in the frame), else a full redraw.
   */
  redrawChannels() {
    if (!this.out || !this.rowIdx || !this.colIdx || !this._idx || !this._idxC || !this.colIdxC) return;
    const t0 = now();
    const g = this.gathered;
    const vis = this.channels.filter((c) => c.visible && c.data);
    // Channel display and label colours change nothing outside the image: once the background
    // is on screen, only the screen rect that shows the image is recomputed and uploaded (at
    // 4096² in a 958 x 550 viewport, 550 of the 958 columns).
    const full = [0, this.viewHeight, 0, this.viewWidth];
    const rect = this.backgroundDrawn ? this.imageRect : full;
    this._placeCanvas();
    if (rect) {
      if (!(g.full && g.contour === this.contour && g.labels && vis.every((c) => g.valid.has(c.index)))) {
        // The first change after a new frame or view gathers (a full lookup); the next ones do not.
        g.valid.clear();
        gatherRect(this, rect, vis);
        g.full = true;
        for (const c of vis) g.valid.add(c.index);
      }
      shadeRect(this, rect, vis);
      this.flush(rect);
      this.backgroundDrawn = true;
    }
    this.lastDrawMs = now() - t0;
    this.draws++;
  }

  /** [r, g, b, a] that the renderer shows for image pixel (row, col), with the current settings. */
  pixel(row, col) {
    if (row < 0 || col < 0 || row >= this.height || col >= this.width) return [26, 26, 26, 255];
    const i = row * this.width + col;
    const ic = this.chanIndex(row, col);
    const vis = this.channels.filter((c) => c.visible && c.data);
    let v = 0;
    for (const ch of vis) v += channelLanes(ch, ch.data[ic]);
    let px = vis.length ? clampLanes(v) : ALPHA;
    const L = this.labels ? this.labels[i] : 0;
    const a = Math.round(Math.min(Math.max(this.opacity, 0), 1) * 256);
    const only = this.selectedOnly ? this.selected >>> 0 : -1;
    let shown = L !== 0 && a !== 0 && (only < 0 || L === only);
    if (shown && this.contour) {
      const { width, height, labels } = this;
      shown = col === 0 || col === width - 1 || row === 0 || row === height - 1 ||
        labels[i - 1] !== L || labels[i + 1] !== L || labels[i - width] !== L || labels[i + width] !== L;
    }
    if (shown) {
      const [cr, cg, cb] = this.colors.rgb(L);
      const na = 256 - a;
      px = blend(px, cr * a, cg * a, cb * a, na);
    }
    return [px & 255, (px >>> 8) & 255, (px >>> 16) & 255, 255];
  }

  /** [r, g, b, a] actually in the viewport buffer at screen (x, y) (CSS px in the viewport). */
  screenPixel(x, y) {
    const xi = Math.floor(x);
    const yi = Math.floor(y);
    if (!this.out || xi < 0 || yi < 0 || xi >= this.viewWidth || yi >= this.viewHeight) return null;
    const v = this.out[yi * this.viewWidth + xi];
    return [v & 255, (v >>> 8) & 255, (v >>> 16) & 255, (v >>> 24) & 255];
  }
}

/**
 * The screen rect [y0, y1, x0, x1] whose pixels show the image (`rowIdx` and `colIdx` >= 0: each
 * is one run, the mapping being monotonic), or null when the image is off screen.
 * @param {Int32Array} rowIdx @param {Int32Array} colIdx
 */
export function shownSpan(rowIdx, colIdx) {
  const run = (/** @type {Int32Array} */ idx) => {
    let a = 0;
    while (a < idx.length && idx[a] < 0) a++;
    let b = idx.length;
    while (b > a && idx[b - 1] < 0) b--;
    return [a, b];
  };
  const [y0, y1] = run(rowIdx);
  const [x0, x1] = run(colIdx);
  return y1 > y0 && x1 > x0 ? [y0, y1, x0, x1] : null;
}

export function now() {
  return typeof performance !== "undefined" ? performance.now() : Date.now();
}
