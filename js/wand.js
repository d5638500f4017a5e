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
    /** 1 on the pixels of the last region (cleared over its box before a fresh flood) */
    this.inside = new Uint8Array(n);
    /** @type {number[] | null} box [row0, row1, col0, col1] (inclusive) holding the 1s of `inside` */
    this.insideBox = null;
    /** pixels next to the last region that were outside at its tolerance */
    this.rejected = new Int32Array(1024);
    this.nrejected = 0;
    this.stack = new Int32Array(2 * 1024);
    /** @type {{s0: number, key: string, tol: number, vs: number, count: number, box: number[]} | null} */
    this.last = null;
  }

  /**
   * The region of the seed at `tolerance`, or null when the seed is outside the image or the clip.
   * A scanline flood: runs of inside pixels, each run seeding the rows above and below. While a
   * drag widens the tolerance around the same seed, the flood goes on from the previous region's
   * rim (the region at a larger tolerance contains the one at a smaller), so a move costs what
   * the region grew, not its size.
   * @param {number[]} seed [row, col] continuous coordinates (rounded with floor(x + 0.5))
   * @param {number} tolerance 0..1
   * @param {number[] | null} [clip] [row0, row1, col0, col1]
   * @returns {{bbox: number[], mask: Uint8Array, count: number} | null}
   */
  mask(seed, tolerance, clip = null) {
    const { width, height, v, seen } = this;
    const r0 = clip ? Math.max(0, clip[0]) : 0;
    const r1 = clip ? Math.min(height, clip[1]) : height;
    const c0 = clip ? Math.max(0, clip[2]) : 0;
    const c1 = clip ? Math.min(width, clip[3]) : width;
    const sr = Math.floor(seed[0] + 0.5);
    const sc = Math.floor(seed[1] + 0.5);
    if (!(sr >= r0 && sr < r1 && sc >= c0 && sc < c1)) return null;
    const tol = tolerance;
    const s0 = sr * width + sc;
    const vs = v[s0];
    // |v(seed) - v(seed)| is 0 unless v(seed) is NaN: then nothing is inside.
    if (!(Math.abs(vs - vs) <= tol)) {
      this.last = null;
      return { bbox: [sr, sr + 1, sc, sc + 1], mask: new Uint8Array(1), count: 0 };
    }
    const key = `${r0},${r1},${c0},${c1}`;
    const inside = this.inside;
    let stack = this.stack;
    let rejected = this.rejected;
    let top = 0;
    const last = this.last;
    let nrej, count, br0, br1, bc0, bc1;
    if (last && last.s0 === s0 && last.key === key && tol >= last.tol) {
      // grow: the rim pixels now inside start new runs; the others stay on the rim
      count = last.count;
      [br0, br1, bc0, bc1] = last.box;
      nrej = 0;
      for (let k = 0; k < this.nrejected; k++) {
        const j = rejected[k];
        if (Math.abs(v[j] - vs) <= tol) {
          if (top + 2 > stack.length) stack = grow(stack);
          stack[top++] = (j / width) | 0;
          stack[top++] = j % width;
        } else {
          rejected[nrej++] = j;
        }
      }
    } else {
      if (++this.stamp === 0xffffffff) {
        seen.fill(0);
        this.stamp = 1;
      }
      if (this.insideBox) {
        const [a0, a1, b0, b1] = this.insideBox;
        for (let r = a0; r <= a1; r++) inside.fill(0, r * width + b0, r * width + b1 + 1);
      }
      nrej = 0;
      count = 0;
      br0 = br1 = sr;
      bc0 = bc1 = sc;
      stack[top++] = sr;
      stack[top++] = sc;
      seen[s0] = this.stamp;
    }
    const stamp = this.stamp;
    // Every pixel tested is marked: inside ones join a run, outside ones go on the rim list.
    while (top > 0) {
      const c = stack[--top];
      const r = stack[--top];
      const row = r * width;
      // the pixel (r, c) is inside and marked; extend the run both ways
      let a = c;
      while (a > c0) {
        const j = row + a - 1;
        if (seen[j] === stamp) break;
        seen[j] = stamp;
        if (!(Math.abs(v[j] - vs) <= tol)) {
          if (nrej === rejected.length) rejected = grow(rejected);
          rejected[nrej++] = j;
          break;
        }
        a--;
      }
      let b = c + 1;
      while (b < c1) {
        const j = row + b;
        if (seen[j] === stamp) break;
        seen[j] = stamp;
        if (!(Math.abs(v[j] - vs) <= tol)) {
          if (nrej === rejected.length) rejected = grow(rejected);
          rejected[nrej++] = j;
          break;
        }
        b++;
      }
      inside.fill(1, row + a, row + b);
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
            // the first pixel of a run is queued (and marked); the rest is left to its flood
            if (!inRun) {
              seen[j] = stamp;
              if (top + 2 > stack.length) stack = grow(stack);
              stack[top++] = nr;
              stack[top++] = x;
              inRun = true;
            }
          } else {
            seen[j] = stamp;
            if (nrej === rejected.length) rejected = grow(rejected);
            rejected[nrej++] = j;
            inRun = false;
          }
        }
      }
    }
    this.stack = stack;
    this.rejected = rejected;
    this.nrejected = nrej;
    this.last = { s0, key, tol, vs, count, box: [br0, br1, bc0, bc1] };
    this.insideBox = [br0, br1, bc0, bc1];
    const bw = bc1 - bc0 + 1;
    const mask = new Uint8Array((br1 - br0 + 1) * bw);
    for (let r = br0; r <= br1; r++) mask.set(inside.subarray(r * width + bc0, r * width + bc1 + 1), (r - br0) * bw);
    return { bbox: [br0, br1 + 1, bc0, bc1 + 1], mask, count };
  }
}

/** A copy of `a` twice as long. @param {Int32Array} a */
function grow(a) {
  const out = new Int32Array(a.length * 2);
  out.set(a);
  return out;
}
