// @ts-check
// Viewport renderer: the canvas holds exactly what is on screen (one canvas pixel per CSS pixel of
// the viewport), computed from the image data by nearest-neighbour lookup. Every operation therefore
// costs in proportion to the viewport, not the image: a contrast change or a new frame at 4096²
// costs the same as at 512², and a brush step recomputes only the screen rectangle it dirtied.
// Channels go through per-channel LUTs (contrast, gamma, colour) and add up; labels are blended on
// top with the opacity, optionally as contours or for the selected label only.

import { buildLut, intensity, LabelColors, pack10 } from "./colors.js";

const ALPHA = 0xff000000;
const BACKGROUND = 0xff1a1a1a; // outside the image (little-endian RGBA: #1a1a1a)
// Bits 8-9 of each 10-bit lane: set when a lane sum went above 255 and must saturate.
const OVER = 0x300c0300;

function clampLanes(v) {
  let r = v & 1023;
  let g = (v >>> 10) & 1023;
  let b = (v >>> 20) & 1023;
  if (r > 255) r = 255;
  if (g > 255) g = 255;
  if (b > 255) b = 255;
  return (ALPHA | (b << 16) | (g << 8) | r) >>> 0;
}

/** Packed 10-bit lanes -> opaque RGBA (lanes known to be <= 255). */
function lanesRgba(v) {
  return (ALPHA | ((v >>> 4) & 0xff0000) | ((v >>> 2) & 0xff00) | (v & 0xff)) >>> 0;
}

/** Packed lanes of one channel value (LUT for integers, computed for floats). */
function channelLanes(ch, value) {
  if (ch.lut) return ch.lut[value];
  const t = intensity(value, ch.lo, ch.hi, ch.gamma);
  const [cr, cg, cb] = ch.rgb;
  return pack10((t * cr + 127) / 255 | 0, (t * cg + 127) / 255 | 0, (t * cb + 127) / 255 | 0);
}

// Channel composite of a screen row segment: `idx[k]` is the image pixel index of screen pixel
// x0 + k (or -1 outside). Separate loops per case keep each call site monomorphic.
function rowOne(out, o, idx, n, d0, l0) {
  for (let k = 0; k < n; k++) {
    const i = idx[k];
    out[o + k] = i < 0 ? BACKGROUND : lanesRgba(l0[d0[i]]);
  }
}
function rowTwo(out, o, idx, n, d0, l0, d1, l1) {
  for (let k = 0; k < n; k++) {
    const i = idx[k];
    if (i < 0) {
      out[o + k] = BACKGROUND;
      continue;
    }
    const v = l0[d0[i]] + l1[d1[i]];
    out[o + k] = (v & OVER) === 0 ? lanesRgba(v) : clampLanes(v);
  }
}
function rowMany(out, o, idx, n, chans) {
  for (let k = 0; k < n; k++) {
    const i = idx[k];
    if (i < 0) {
      out[o + k] = BACKGROUND;
      continue;
    }
    let v = 0;
    for (let c = 0; c < chans.length; c++) v += channelLanes(chans[c], chans[c].data[i]);
    out[o + k] = clampLanes(v);
  }
}

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
      this.canvas.width = w;
      this.canvas.height = h;
      this.ctx = this.canvas.getContext ? this.canvas.getContext("2d") : null;
      this.imageData = this.ctx && typeof ImageData !== "undefined" ? new ImageData(bytes, w, h) : null;
    }
    this._mapping();
    return true;
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
    this._chanMapping();
  }

  _chanMapping() {
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
  }

  /**
   * Recompute neighbour-aware label colours for the whole frame, in steps (a generator the caller
   * drives between tasks); returns true on change.
   */
  *recolorSteps() {
    if (!this.labels) return false;
    const before = this.colors.assigned;
    yield* this.colors.resetInSteps(this.labels, this.width, this.height);
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

  /** Compute a screen rectangle into `out`. */
  compose(rect) {
    if (!this.out || !this.rowIdx || !this.colIdx || !this._idx || !this._idxC || !this.colIdxC) return;
    const [y0, y1, x0, x1] = rect;
    const { out, width, height, labels, colIdx, rowIdx, viewWidth } = this;
    const n = x1 - x0;
    const idx = this._idx;
    const step = this.previewStep;
    const idxC = step === 1 ? idx : this._idxC;
    const colIdxC = this.colIdxC;
    const chanWidth = this.chanWidth;
    const vis = this.channels.filter((c) => c.visible && c.data);
    const intLuts = vis.every((c) => c.lut);
    const a = Math.round(Math.min(Math.max(this.opacity, 0), 1) * 256);
    const na = 256 - a;
    const contour = this.contour;
    const only = this.selectedOnly ? this.selected >>> 0 : -1;
    for (let y = y0; y < y1; y++) {
      const o = y * viewWidth + x0;
      const r = rowIdx[y];
      if (r < 0) {
        out.fill(BACKGROUND, o, o + n);
        continue;
      }
      const rowBase = r * width;
      for (let k = 0; k < n; k++) {
        const c = colIdx[x0 + k];
        idx[k] = c < 0 ? -1 : rowBase + c;
      }
      if (step !== 1) {
        const rowBaseC = Math.floor(r / step) * chanWidth;
        for (let k = 0; k < n; k++) {
          const c = colIdxC[x0 + k];
          idxC[k] = c < 0 ? -1 : rowBaseC + c;
        }
      }
      if (vis.length === 0) {
        for (let k = 0; k < n; k++) out[o + k] = idx[k] < 0 ? BACKGROUND : ALPHA;
      } else if (vis.length === 1 && intLuts) rowOne(out, o, idxC, n, vis[0].data, vis[0].lut);
      else if (vis.length === 2 && intLuts) rowTwo(out, o, idxC, n, vis[0].data, vis[0].lut, vis[1].data, vis[1].lut);
      else rowMany(out, o, idxC, n, vis);
      if (!labels || a === 0) continue;
      let lastLabel = -1;
      let lr = 0;
      let lg = 0;
      let lb = 0;
      for (let k = 0; k < n; k++) {
        const i = idx[k];
        if (i < 0) continue;
        const L = labels[i];
        if (L === 0 || (only >= 0 && L !== only)) continue;
        if (contour) {
          const c = i - rowBase;
          const edge =
            c === 0 || c === width - 1 || r === 0 || r === height - 1 ||
            labels[i - 1] !== L || labels[i + 1] !== L || labels[i - width] !== L || labels[i + width] !== L;
          if (!edge) continue;
        }
        if (L !== lastLabel) {
          const rgb = this.colors.rgb(L);
          lr = rgb[0] * a;
          lg = rgb[1] * a;
          lb = rgb[2] * a;
          lastLabel = L;
        }
        const b = out[o + k];
        const rr = ((b & 0xff) * na + lr) >>> 8;
        const gg = (((b >>> 8) & 0xff) * na + lg) >>> 8;
        const bb = (((b >>> 16) & 0xff) * na + lb) >>> 8;
        out[o + k] = (ALPHA | (bb << 16) | (gg << 8) | rr) >>> 0;
      }
    }
  }

  flush(rect) {
    if (!this.ctx || !this.imageData) return;
    const [y0, y1, x0, x1] = rect;
    this.ctx.putImageData(this.imageData, 0, 0, x0, y0, x1 - x0, y1 - y0);
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
    this.flush(rect);
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
      const rr = ((px & 0xff) * na + cr * a) >>> 8;
      const gg = (((px >>> 8) & 0xff) * na + cg * a) >>> 8;
      const bb = (((px >>> 16) & 0xff) * na + cb * a) >>> 8;
      px = (ALPHA | (bb << 16) | (gg << 8) | rr) >>> 0;
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

export function now() {
  return typeof performance !== "undefined" ? performance.now() : Date.now();
}
