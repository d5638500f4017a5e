// @ts-check
// The magic wand, ported from the rule in docs/architecture.md ("The wand rule") so that the
// browser gives the pixels `segpaint.ops.wand_mask` gives, bit for bit: every channel normalised
// by its contrast limits and clipped to [0, 1] (float64), summed in channel order, divided by the
// channel count; a pixel is inside when |v - v(seed)| <= tolerance; the region is the 4-connected
// component of inside pixels that holds the seed, inside the clip box. Pure: no DOM, no model.

/** @typedef {ArrayLike<number>} Channel */

export class Wand {
  /**
   * @param {Channel[]} channels raw values of the chosen channels, row-major, full resolution
   * @param {number[][]} limits (low, high) per channel (the display contrast)
   * @param {number} width
   * @param {number} height
   */
  constructor(channels, limits, width, height) {
    if (!channels.length) throw new Error("wand: no channel to look at (show one)");
    if (limits.length !== channels.length) throw new Error(`wand: ${limits.length} limits for ${channels.length} channels`);
    for (const ch of channels) {
      if (ch.length !== width * height) throw new Error(`wand: a channel has ${ch.length} values, expected ${width * height}`);
    }
    this.channels = channels;
    this.width = width;
    this.height = height;
    // v per pixel, computed once (per frame and contrast): a drag re-floods on every move.
    const n = width * height;
    const v = new Float64Array(n);
    const inv = channels.length;
    channels.forEach((ch, c) => {
      const lo = limits[c][0];
      const span = limits[c][1] - limits[c][0];
      if (c === 0) for (let i = 0; i < n; i++) v[i] = Math.min(Math.max((ch[i] - lo) / span, 0), 1);
      else for (let i = 0; i < n; i++) v[i] = v[i] + Math.min(Math.max((ch[i] - lo) / span, 0), 1);
    });
    if (inv > 1) for (let i = 0; i < n; i++) v[i] = v[i] / inv;
    this.v = v;
    /** per-pixel stamp of the last flood that took or refused it (no clearing between floods) */
    this.seen = new Uint32Array(n);
    this.stamp = 0;
    /** spans of the last region: row, first col, last col + 1 */
    this.spans = new Int32Array(3 * 1024);
    this.stack = new Int32Array(2 * 1024);
  }

  /**
   * The region of the seed at `tolerance`, or null when the seed is outside the image or the clip.
   * A scanline flood: runs of inside pixels, each run seeding the rows above and below.
   * @param {number[]} seed [row, col] continuous coordinates (rounded with floor(x + 0.5))
   * @param {number} tolerance 0..1
   * @param {number[] | null} [clip] [row0, row1, col0, col1]
   * @returns {{bbox: number[], mask: Uint8Array, count: number} | null}
   */
  mask(seed, tolerance, clip = null) {
    const { width, height, v } = this;
    const r0 = clip ? Math.max(0, clip[0]) : 0;
    const r1 = clip ? Math.min(height, clip[1]) : height;
    const c0 = clip ? Math.max(0, clip[2]) : 0;
    const c1 = clip ? Math.min(width, clip[3]) : width;
    const sr = Math.floor(seed[0] + 0.5);
    const sc = Math.floor(seed[1] + 0.5);
    if (!(sr >= r0 && sr < r1 && sc >= c0 && sc < c1)) return null;
    if (++this.stamp === 0xffffffff) {
      this.seen.fill(0);
      this.stamp = 1;
    }
    const stamp = this.stamp;
    const seen = this.seen;
    const tol = tolerance;
    const vs = v[sr * width + sc];
    // |v(seed) - v(seed)| is 0 unless v(seed) is NaN: then nothing is inside.
    if (!(Math.abs(vs - vs) <= tol)) return { bbox: [sr, sr + 1, sc, sc + 1], mask: new Uint8Array(1), count: 0 };
    let stack = this.stack;
    let spans = this.spans;
    let top = 0;
    let nspans = 0;
    let count = 0;
    let br0 = sr, br1 = sr, bc0 = sc, bc1 = sc;
    stack[top++] = sr;
    stack[top++] = sc;
    seen[sr * width + sc] = stamp;
    while (top > 0) {
      const c = stack[--top];
      const r = stack[--top];
      const row = r * width;
      // the pixel (r, c) is inside and marked; extend the run both ways
      let a = c;
      while (a > c0) {
        const j = row + a - 1;
        if (seen[j] === stamp || !(Math.abs(v[j] - vs) <= tol)) break;
        seen[j] = stamp;
        a--;
      }
      let b = c + 1;
      while (b < c1) {
        const j = row + b;
        if (seen[j] === stamp || !(Math.abs(v[j] - vs) <= tol)) break;
        seen[j] = stamp;
        b++;
      }
      if (3 * nspans + 3 > spans.length) {
        const grown = new Int32Array(spans.length * 2);
        grown.set(spans);
        spans = grown;
      }
      spans[3 * nspans] = r;
      spans[3 * nspans + 1] = a;
      spans[3 * nspans + 2] = b;
      nspans++;
      count += b - a;
      if (r < br0) br0 = r;
      if (r > br1) br1 = r;
      if (a < bc0) bc0 = a;
      if (b - 1 > bc1) bc1 = b - 1;
      // seed the rows above and below: the first pixel of each inside run under [a, b)
      for (let nr = r - 1; nr <= r + 1; nr += 2) {
        if (nr < r0 || nr >= r1) continue;
        const nrow = nr * width;
        let inRun = false;
        for (let x = a; x < b; x++) {
          const j = nrow + x;
          if (seen[j] === stamp) {
            inRun = false;
            continue;
          }
          if (Math.abs(v[j] - vs) <= tol) {
            seen[j] = stamp;
            if (!inRun) {
              if (top + 2 > stack.length) {
                const grown = new Int32Array(stack.length * 2);
                grown.set(stack);
                stack = grown;
              }
              stack[top++] = nr;
              stack[top++] = x;
              inRun = true;
            } else {
              // part of a run already queued: its flood takes it from there
              seen[j] = 0;
              inRun = true;
            }
          } else {
            inRun = false;
          }
        }
      }
    }
    this.stack = stack;
    this.spans = spans;
    const bw = bc1 - bc0 + 1;
    const mask = new Uint8Array((br1 - br0 + 1) * bw);
    for (let k = 0; k < nspans; k++) {
      const at = (spans[3 * k] - br0) * bw - bc0;
      mask.fill(1, at + spans[3 * k + 1], at + spans[3 * k + 2]);
    }
    return { bbox: [br0, br1 + 1, bc0, bc1 + 1], mask, count };
  }
}
