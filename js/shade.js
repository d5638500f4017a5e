// @ts-check
// The pixel work of the viewport renderer (render.js): channel samples through their LUTs, added
// up in packed 10-bit lanes, labels blended on top. Two ways to a screen rectangle:
// `composeDirect` looks every sample up in the frame in one pass (a new frame, a new view);
// `gatherRect` keeps each screen pixel's samples and label, and `shadeRect` maps those through the
// LUTs, so a contrast drag reads the viewport's samples in order, not a 4096² frame.

import { intensity, pack10 } from "./colors.js";

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
function rowOneAt(out, o, idx, n, d0, l0) {
  for (let k = 0; k < n; k++) {
    const i = idx[k];
    out[o + k] = i < 0 ? BACKGROUND : lanesRgba(l0[d0[i]]);
  }
}
function rowTwoAt(out, o, idx, n, d0, l0, d1, l1) {
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
function rowManyAt(out, o, idx, n, chans) {
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

// The same from the samples gathered for it (`g*[o + k]`, one
// per screen pixel; see gatherRect); `cols[x0 + k] < 0` marks screen pixels outside the
// image. Separate loops per case keep each call site monomorphic.
function rowOne(out, o, cols, x0, n, g0, l0) {
  for (let k = 0; k < n; k++) out[o + k] = cols[x0 + k] < 0 ? BACKGROUND : lanesRgba(l0[g0[o + k]]);
}
function rowTwo(out, o, cols, x0, n, g0, l0, g1, l1) {
  for (let k = 0; k < n; k++) {
    if (cols[x0 + k] < 0) {
      out[o + k] = BACKGROUND;
      continue;
    }
    const v = l0[g0[o + k]] + l1[g1[o + k]];
    out[o + k] = (v & OVER) === 0 ? lanesRgba(v) : clampLanes(v);
  }
}
function rowMany(out, o, cols, x0, n, chans, gs) {
  for (let k = 0; k < n; k++) {
    if (cols[x0 + k] < 0) {
      out[o + k] = BACKGROUND;
      continue;
    }
    let v = 0;
    for (let c = 0; c < chans.length; c++) v += channelLanes(chans[c], gs[c][o + k]);
    out[o + k] = clampLanes(v);
  }
}

/**
 * `rowOne` and the label blend of `shadeRect` in one pass, for a row segment that lies inside the
 * image: screen pixels `o .. o + n` from gathered samples `g0`, LUT `l0` and gathered labels `lab`.
 * @param {any} r the Renderer @param {Uint32Array} out @param {number} o @param {number} n
 * @param {ArrayLike<number>} g0 @param {Uint32Array} l0 @param {Uint32Array} lab
 * @param {number} a label opacity 1..256 @param {number} only the one label shown, or -1
 */
function rowOneLabels(r, out, o, n, g0, l0, lab, a, only) {
  const na = 256 - a;
  let lastLabel = -1;
  let lr = 0;
  let lg = 0;
  let lb = 0;
  for (let p = o; p < o + n; p++) {
    const v = l0[g0[p]];
    const L = lab[p];
    if (L === 0 || (only >= 0 && L !== only)) {
      out[p] = (ALPHA | ((v >>> 4) & 0xff0000) | ((v >>> 2) & 0xff00) | (v & 0xff)) >>> 0;
      continue;
    }
    if (L !== lastLabel) {
      const rgb = r.colors.rgb(L);
      lr = rgb[0] * a;
      lg = rgb[1] * a;
      lb = rgb[2] * a;
      lastLabel = L;
    }
    out[p] = blend(lanesRgba(v), lr, lg, lb, na);
  }
}

/**
 * `rowOneLabels` for two channels (their lanes added, saturated at 255).
 * @param {any} r @param {Uint32Array} out @param {number} o @param {number} n
 * @param {ArrayLike<number>} g0 @param {Uint32Array} l0 @param {ArrayLike<number>} g1
 * @param {Uint32Array} l1 @param {Uint32Array} lab @param {number} a @param {number} only
 */
function rowTwoLabels(r, out, o, n, g0, l0, g1, l1, lab, a, only) {
  const na = 256 - a;
  let lastLabel = -1;
  let lr = 0;
  let lg = 0;
  let lb = 0;
  for (let p = o; p < o + n; p++) {
    const v = l0[g0[p]] + l1[g1[p]];
    const px = (v & OVER) === 0 ? lanesRgba(v) : clampLanes(v);
    const L = lab[p];
    if (L === 0 || (only >= 0 && L !== only)) {
      out[p] = px;
      continue;
    }
    if (L !== lastLabel) {
      const rgb = r.colors.rgb(L);
      lr = rgb[0] * a;
      lg = rgb[1] * a;
      lb = rgb[2] * a;
      lastLabel = L;
    }
    out[p] = blend(px, lr, lg, lb, na);
  }
}

/**
 * A packed RGBA pixel `px` under a label colour: `lr, lg, lb` are the colour's channels times the
 * label opacity (0..256), `na` is 256 minus that opacity.
 * @param {number} px @param {number} lr @param {number} lg @param {number} lb @param {number} na
 */
export function blend(px, lr, lg, lb, na) {
  const rr = ((px & 0xff) * na + lr) >>> 8;
  const gg = (((px >>> 8) & 0xff) * na + lg) >>> 8;
  const bb = (((px >>> 16) & 0xff) * na + lb) >>> 8;
  return (ALPHA | (bb << 16) | (gg << 8) | rr) >>> 0;
}

/**
 * The frame positions (`idx`) and, for decimated channels, the channel positions (`idxC`) of the
 * `n` screen pixels from column `x0` on a screen row showing image row `row`; -1 off the image.
 * @param {any} r the Renderer @param {number} row @param {number} x0 @param {number} n
 * @param {Int32Array} idx @param {Int32Array} idxC (`idx` itself at full resolution)
 */
function rowIndex(r, row, x0, n, idx, idxC) {
  const { colIdx, colIdxC, width, chanWidth } = r;
  const step = r.previewStep;
  const rowBase = row * width;
  for (let k = 0; k < n; k++) {
    const c = colIdx[x0 + k];
    idx[k] = c < 0 ? -1 : rowBase + c;
  }
  if (step !== 1) {
    const rowBaseC = Math.floor(row / step) * chanWidth;
    for (let k = 0; k < n; k++) {
      const c = colIdxC[x0 + k];
      idxC[k] = c < 0 ? -1 : rowBaseC + c;
    }
  }
}

/**
 * Compute a screen rectangle of `r` into its `out` in one pass, looking every sample up in
 * the frame (a frame change, a view change).
 * @param {any} r the Renderer @param {number[]} rect @param {any[]} vis visible channels
 */
export function composeDirect(r, rect, vis) {
  if (!r.out || !r.rowIdx || !r.colIdx || !r._idx || !r._idxC || !r.colIdxC) return;
  const [y0, y1, x0, x1] = rect;
  const { out, width, height, labels, rowIdx, viewWidth } = r;
  const n = x1 - x0;
  const idx = r._idx;
  const idxC = r.previewStep === 1 ? idx : r._idxC;
  const intLuts = vis.every((c) => c.lut);
  const a = Math.round(Math.min(Math.max(r.opacity, 0), 1) * 256);
  const na = 256 - a;
  const contour = r.contour;
  const only = r.selectedOnly ? r.selected >>> 0 : -1;
  for (let y = y0; y < y1; y++) {
    const o = y * viewWidth + x0;
    const row = rowIdx[y];
    if (row < 0) {
      out.fill(BACKGROUND, o, o + n);
      continue;
    }
    rowIndex(r, row, x0, n, idx, idxC);
    const rowBase = row * width;
    if (vis.length === 0) {
      for (let k = 0; k < n; k++) out[o + k] = idx[k] < 0 ? BACKGROUND : ALPHA;
    } else if (vis.length === 1 && intLuts) rowOneAt(out, o, idxC, n, vis[0].data, vis[0].lut);
    else if (vis.length === 2 && intLuts) rowTwoAt(out, o, idxC, n, vis[0].data, vis[0].lut, vis[1].data, vis[1].lut);
    else rowManyAt(out, o, idxC, n, vis);
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
          c === 0 || c === width - 1 || row === 0 || row === height - 1 ||
          labels[i - 1] !== L || labels[i + 1] !== L || labels[i - width] !== L || labels[i + width] !== L;
        if (!edge) continue;
      }
      if (L !== lastLabel) {
        const rgb = r.colors.rgb(L);
        lr = rgb[0] * a;
        lg = rgb[1] * a;
        lb = rgb[2] * a;
        lastLabel = L;
      }
      out[o + k] = blend(out[o + k], lr, lg, lb, na);
    }
  }
}


/**
 * Gather the samples and labels of a screen rectangle of `r` into `r.gathered` (see
 * Renderer._dropGathered).
 * @param {any} r the Renderer @param {number[]} rect @param {any[]} vis visible channels
 */
export function gatherRect(r, rect, vis) {
  const [y0, y1, x0, x1] = rect;
  const { width, height, labels, rowIdx, viewWidth } = r;
  const n = x1 - x0;
  const idx = r._idx;
  const idxC = r.previewStep === 1 ? idx : r._idxC;
  if (!rowIdx || !r.colIdx || !idx || !idxC || !r.colIdxC) return;
  const g = r.gathered;
  const contour = r.contour;
  if (g.contour !== contour) g.full = false; // label samples of the other mode are no use
  g.contour = contour;
  const size = viewWidth * r.viewHeight;
  if (!g.labels || g.labels.length !== size) g.labels = new Uint32Array(size);
  const lab = g.labels;
  const arrays = vis.map((c) => r._gatherArray(c));
  for (let y = y0; y < y1; y++) {
    const o = y * viewWidth + x0;
    const row = rowIdx[y];
    if (row < 0) {
      lab.fill(0, o, o + n);
      continue;
    }
    rowIndex(r, row, x0, n, idx, idxC);
    const rowBase = row * width;
    for (let c = 0; c < vis.length; c++) {
      const data = vis[c].data;
      const dst = arrays[c];
      for (let k = 0; k < n; k++) {
        const i = idxC[k];
        dst[o + k] = i < 0 ? 0 : data[i];
      }
    }
    if (!labels) {
      lab.fill(0, o, o + n);
      continue;
    }
    for (let k = 0; k < n; k++) {
      const i = idx[k];
      let L = i < 0 ? 0 : labels[i];
      if (L !== 0 && contour) {
        const c = i - rowBase;
        const edge =
          c === 0 || c === width - 1 || row === 0 || row === height - 1 ||
          labels[i - 1] !== L || labels[i + 1] !== L || labels[i - width] !== L || labels[i + width] !== L;
        if (!edge) L = 0;
      }
      lab[o + k] = L;
    }
  }
}

/**
 * Map the gathered samples and labels of a screen rectangle of `r` to RGBA in its `out`.
 * @param {any} r the Renderer @param {number[]} rect @param {any[]} vis visible channels
 */
export function shadeRect(r, rect, vis) {
  const [y0, y1, x0, x1] = rect;
  const { out, colIdx, rowIdx, viewWidth } = r;
  if (!out || !rowIdx || !colIdx) return;
  const n = x1 - x0;
  const g = r.gathered;
  const gs = vis.map((c) => /** @type {any} */ (g.arrays.get(c.index)));
  const lab = /** @type {Uint32Array} */ (g.labels);
  const intLuts = vis.every((c) => c.lut);
  const a = Math.round(Math.min(Math.max(r.opacity, 0), 1) * 256);
  const na = 256 - a;
  const only = r.selectedOnly ? r.selected >>> 0 : -1;
  // A rect inside the image (what a contrast change redraws) with one integer channel: channel
  // and label in one pass over the row, no test for the background.
  const inside = n > 0 && colIdx[x0] >= 0 && colIdx[x1 - 1] >= 0;
  const fused = inside && a !== 0 && intLuts && (vis.length === 1 || vis.length === 2);
  for (let y = y0; y < y1; y++) {
    const o = y * viewWidth + x0;
    if (rowIdx[y] < 0) {
      out.fill(BACKGROUND, o, o + n);
      continue;
    }
    if (fused) {
      if (vis.length === 1) rowOneLabels(r, out, o, n, gs[0], vis[0].lut, lab, a, only);
      else rowTwoLabels(r, out, o, n, gs[0], vis[0].lut, gs[1], vis[1].lut, lab, a, only);
      continue;
    }
    if (vis.length === 0) {
      for (let k = 0; k < n; k++) out[o + k] = colIdx[x0 + k] < 0 ? BACKGROUND : ALPHA;
    } else if (vis.length === 1 && intLuts) rowOne(out, o, colIdx, x0, n, gs[0], vis[0].lut);
    else if (vis.length === 2 && intLuts) rowTwo(out, o, colIdx, x0, n, gs[0], vis[0].lut, gs[1], vis[1].lut);
    else rowMany(out, o, colIdx, x0, n, vis, gs);
    if (a === 0) continue;
    let lastLabel = -1;
    let lr = 0;
    let lg = 0;
    let lb = 0;
    for (let k = 0; k < n; k++) {
      const L = lab[o + k];
      if (L === 0 || (only >= 0 && L !== only)) continue;
      if (L !== lastLabel) {
        const rgb = r.colors.rgb(L);
        lr = rgb[0] * a;
        lg = rgb[1] * a;
        lb = rgb[2] * a;
        lastLabel = L;
      }
      out[o + k] = blend(out[o + k], lr, lg, lb, na);
    }
  }
}


export { ALPHA, BACKGROUND, clampLanes, channelLanes };
