// @ts-check
// Brush / eraser rasterisation and flood fill on a Uint32Array label buffer (row-major, `width` columns).
// The brush follows docs/architecture.md "Brush rasterisation" exactly, so that a stroke painted here
// and the same polyline through `session.paint` give identical pixels.

/** Disk footprint as row spans: for each dr in [-k, k], the largest |dc| with dr² + dc² <= r². */
export function diskSpans(radius) {
  if (!(radius >= 0.5)) throw new Error(`radius must be >= 0.5 pixels; got ${radius}`);
  const r2 = radius * radius;
  const k = Math.floor(radius);
  const spans = new Int32Array(2 * k + 1);
  for (let dr = -k; dr <= k; dr++) {
    let w = -1;
    // Integer test, same as the Python side (no sqrt rounding surprises).
    for (let dc = 0; dc <= k; dc++) if (dr * dr + dc * dc <= r2) w = dc;
    spans[dr + k] = w;
  }
  return { k, spans };
}

/** Round half up, as Python's floor(x + 0.5). */
const roundHalfUp = (x) => Math.floor(x + 0.5);

/**
 * Integer centres of the segment a -> b for k = 1..n (k = 0 is the previous segment's end).
 * Calls `visit(row, col)` for each centre, skipping consecutive duplicates of `last`.
 */
export function segmentCentres(a, b, visit, includeStart = false) {
  const dRow = b[0] - a[0];
  const dCol = b[1] - a[1];
  const n = Math.max(Math.ceil(Math.abs(dRow)), Math.ceil(Math.abs(dCol)), 1);
  let lastR = NaN;
  let lastC = NaN;
  if (includeStart) {
    lastR = roundHalfUp(a[0]);
    lastC = roundHalfUp(a[1]);
    visit(lastR, lastC);
  }
  for (let k = 1; k <= n; k++) {
    const r = roundHalfUp(a[0] + (dRow * k) / n);
    const c = roundHalfUp(a[1] + (dCol * k) / n);
    if (r === lastR && c === lastC) continue;
    lastR = r;
    lastC = c;
    visit(r, c);
  }
}

/** Smallest box holding both (either may be null). */
export function unionBox(a, b) {
  if (!a) return b ? b.slice() : null;
  if (!b) return a.slice();
  return [Math.min(a[0], b[0]), Math.max(a[1], b[1]), Math.min(a[2], b[2]), Math.max(a[3], b[3])];
}

/**
 * A stroke in progress: paints into `labels` at once and remembers which pixels it touched
 * (in `touched`, a reusable Uint8Array of the frame size) and its bounding box.
 *
 * `clips` is null (whole image) or a list of boxes (ROIs when edits are locked): a pixel is painted
 * only inside one of them. `preserve` paints only where the label is 0.
 *
 * A pointer move allocates nothing: boxes are kept as numbers, and the box a step dirtied is one
 * array reused from step to step (copy it to keep it).
 */
export class Stroke {
  /**
   * @param {{labels: Uint32Array, touched: Uint8Array, width: number, height: number, radius: number,
   *   label: number, clips?: number[][] | null, preserve?: boolean}} options
   */
  constructor({ labels, touched, width, height, radius, label, clips = null, preserve = false }) {
    this.labels = labels;
    this.touched = touched;
    this.width = width;
    this.height = height;
    this.label = label >>> 0;
    this.preserve = preserve;
    this.clips = clips && clips.length ? clips : null;
    this.boxes = this.clips || [[0, height, 0, width]];
    const { k, spans } = diskSpans(radius);
    this.k = k;
    this.spans = spans;
    this.started = false;
    this.lastRow = 0; // the previous point (float image coordinates)
    this.lastCol = 0;
    /** @type {number[] | null} box of touched pixels, half-open [r0, r1, c0, c1] */
    this.bbox = null;
    this.changed = 0; // pixels whose value changed
    /** the box dirtied by the current step: [r0, r1, c0, c1], valid while `stepped` */
    this.step = [0, 0, 0, 0];
    this.stepped = false;
  }

  /** Stamp the disk at an integer centre, growing `step` and `bbox`; true when a pixel was touched. */
  stamp(row, col) {
    const { labels, touched, width, height, k, spans, label, preserve, boxes } = this;
    let r0 = height;
    let r1 = -1;
    let c0 = width;
    let c1 = -1;
    for (let dr = -k; dr <= k; dr++) {
      const w = spans[dr + k];
      if (w < 0) continue;
      const r = row + dr;
      if (r < 0 || r >= height) continue;
      const ca = Math.max(col - w, 0);
      const cb = Math.min(col + w + 1, width);
      if (ca >= cb) continue;
      for (let j = 0; j < boxes.length; j++) {
        const box = boxes[j];
        if (r < box[0] || r >= box[1]) continue;
        const a = Math.max(ca, box[2]);
        const b = Math.min(cb, box[3]);
        if (a >= b) continue;
        const base = r * width;
        for (let i = base + a; i < base + b; i++) {
          if (preserve && labels[i] !== 0 && !touched[i]) continue;
          if (labels[i] !== label) {
            labels[i] = label;
            this.changed++;
          }
          touched[i] = 1;
        }
        if (r < r0) r0 = r;
        if (r + 1 > r1) r1 = r + 1;
        if (a < c0) c0 = a;
        if (b > c1) c1 = b;
      }
    }
    if (r1 < 0) return false;
    const s = this.step;
    if (this.stepped) {
      if (r0 < s[0]) s[0] = r0;
      if (r1 > s[1]) s[1] = r1;
      if (c0 < s[2]) s[2] = c0;
      if (c1 > s[3]) s[3] = c1;
    } else {
      s[0] = r0;
      s[1] = r1;
      s[2] = c0;
      s[3] = c1;
      this.stepped = true;
    }
    const bb = this.bbox;
    if (!bb) this.bbox = [r0, r1, c0, c1];
    else {
      if (r0 < bb[0]) bb[0] = r0;
      if (r1 > bb[1]) bb[1] = r1;
      if (c0 < bb[2]) bb[2] = c0;
      if (c1 > bb[3]) bb[3] = c1;
    }
    return true;
  }

  /**
   * Extend the stroke to the float point (row, col) (centres as in `segmentCentres`); returns the
   * box this step dirtied (the reused `step` array) or null.
   */
  lineTo(row, col) {
    this.stepped = false;
    if (!this.started) {
      this.started = true;
      this.stamp(roundHalfUp(row), roundHalfUp(col));
    } else {
      const r0 = this.lastRow;
      const c0 = this.lastCol;
      const dRow = row - r0;
      const dCol = col - c0;
      const n = Math.max(Math.ceil(Math.abs(dRow)), Math.ceil(Math.abs(dCol)), 1);
      // Consecutive duplicates are skipped within a segment (as segmentCentres does).
      let lastR = NaN;
      let lastC = NaN;
      for (let i = 1; i <= n; i++) {
        const r = roundHalfUp(r0 + (dRow * i) / n);
        const c = roundHalfUp(c0 + (dCol * i) / n);
        if (r === lastR && c === lastC) continue;
        lastR = r;
        lastC = c;
        this.stamp(r, c);
      }
    }
    this.lastRow = row;
    this.lastCol = col;
    return this.stepped ? this.step : null;
  }

  /** `lineTo` for a [row, col] point. */
  moveTo(point) {
    return this.lineTo(point[0], point[1]);
  }

  /**
   * End the stroke: returns {bbox, values (Uint32Array), mask (Uint8Array)} over the touched box
   * and clears `touched` there, or null when nothing was touched.
   */
  finish() {
    const bbox = this.bbox;
    if (!bbox) return null;
    const patch = extractPatch(this.labels, this.touched, this.width, bbox);
    clearBox(this.touched, this.width, bbox);
    return patch;
  }
}

/** Values and mask of a box: values from `labels`, mask = `touched` there. */
export function extractPatch(labels, touched, width, bbox) {
  const [r0, r1, c0, c1] = bbox;
  const w = c1 - c0;
  const values = new Uint32Array((r1 - r0) * w);
  const mask = new Uint8Array((r1 - r0) * w);
  for (let r = r0; r < r1; r++) {
    const src = r * width + c0;
    const dst = (r - r0) * w;
    values.set(labels.subarray(src, src + w), dst);
    mask.set(touched.subarray(src, src + w), dst);
  }
  return { bbox: bbox.slice(), values, mask };
}

/**
 * The mask of a box (`touched` there) without its values: what a stroke of one label sends (the
 * brush, the eraser, the fill), so pointer-up copies one byte a pixel of the box, not five.
 * @param {Uint8Array} touched @param {number} width @param {number[]} bbox
 */
export function extractMask(touched, width, bbox) {
  const [r0, r1, c0, c1] = bbox;
  const w = c1 - c0;
  const mask = new Uint8Array((r1 - r0) * w);
  for (let r = r0; r < r1; r++) mask.set(touched.subarray(r * width + c0, r * width + c1), (r - r0) * w);
  return { bbox: bbox.slice(), mask };
}

/** Zero a box of a frame-size Uint8Array. */
export function clearBox(arr, width, bbox) {
  const [r0, r1, c0, c1] = bbox;
  for (let r = r0; r < r1; r++) arr.fill(0, r * width + c0, r * width + c1);
}

/** True when (row, col) lies in one of the boxes (or boxes is null). */
export function inClips(clips, row, col) {
  if (!clips || !clips.length) return true;
  for (const b of clips) if (row >= b[0] && row < b[1] && col >= b[2] && col < b[3]) return true;
  return false;
}

/**
 * Non-contiguous fill (napari's fill with "contiguous" off): every pixel holding the seed's value,
 * inside `clips` if given, becomes `label`. Same contract as floodFill: marks `touched`, returns
 * the changed box or null.
 * @param {Uint32Array} labels @param {Uint8Array} touched @param {number} width @param {number} height
 * @param {number[]} seed @param {number} label @param {number[][] | null} [clips]
 */
export function replaceValue(labels, touched, width, height, seed, label, clips = null) {
  const [sr, sc] = seed;
  if (sr < 0 || sr >= height || sc < 0 || sc >= width) return null;
  if (!inClips(clips, sr, sc)) return null;
  const target = labels[sr * width + sc];
  label >>>= 0;
  if (target === label) return null;
  const boxes = clips && clips.length ? clips : [[0, height, 0, width]];
  let r0 = height;
  let r1 = 0;
  let c0 = width;
  let c1 = 0;
  for (const b of boxes) {
    for (let r = Math.max(0, b[0]); r < Math.min(height, b[1]); r++) {
      const base = r * width;
      for (let c = Math.max(0, b[2]); c < Math.min(width, b[3]); c++) {
        const i = base + c;
        if (labels[i] !== target || touched[i]) continue;
        labels[i] = label;
        touched[i] = 1;
        if (r < r0) r0 = r;
        if (r + 1 > r1) r1 = r + 1;
        if (c < c0) c0 = c;
        if (c + 1 > c1) c1 = c + 1;
      }
    }
  }
  return r1 > r0 ? [r0, r1, c0, c1] : null;
}

/**
 * 4-connected flood fill of the seed's label value with `label`, inside `clips` (boxes) if given.
 * Marks filled pixels in `touched`; returns the filled box or null (nothing to do).
 * Scanline algorithm with an explicit stack: no recursion, no per-pixel allocation.
 */
/**
 * @param {Uint32Array} labels @param {Uint8Array} touched @param {number} width @param {number} height
 * @param {number[]} seed @param {number} label @param {number[][] | null} [clips]
 */
export function floodFill(labels, touched, width, height, seed, label, clips = null) {
  const [sr, sc] = seed;
  if (sr < 0 || sr >= height || sc < 0 || sc >= width) return null;
  if (!inClips(clips, sr, sc)) return null;
  const target = labels[sr * width + sc];
  label >>>= 0;
  if (target === label) return null;
  const clipList = clips && clips.length ? clips : null;
  /** @param {number} r @param {number} c */
  const ok = (r, c) => {
    const i = r * width + c;
    return labels[i] === target && !touched[i] && (clipList === null || inClips(clipList, r, c));
  };
  let r0 = sr;
  let r1 = sr + 1;
  let c0 = sc;
  let c1 = sc + 1;
  const stack = [sr, sc];
  while (stack.length) {
    const c = /** @type {number} */ (stack.pop());
    const r = /** @type {number} */ (stack.pop());
    if (!ok(r, c)) continue;
    let a = c;
    while (a > 0 && ok(r, a - 1)) a--;
    let b = c;
    while (b + 1 < width && ok(r, b + 1)) b++;
    const base = r * width;
    for (let i = base + a; i <= base + b; i++) {
      labels[i] = label;
      touched[i] = 1;
    }
    if (r < r0) r0 = r;
    if (r + 1 > r1) r1 = r + 1;
    if (a < c0) c0 = a;
    if (b + 1 > c1) c1 = b + 1;
    for (const nr of [r - 1, r + 1]) {
      if (nr < 0 || nr >= height) continue;
      let inRun = false;
      for (let cc = a; cc <= b; cc++) {
        if (ok(nr, cc)) {
          if (!inRun) {
            stack.push(nr, cc);
            inRun = true;
          }
        } else {
          inRun = false;
        }
      }
    }
  }
  return [r0, r1, c0, c1];
}
