// @ts-check
// The magic wand, ported from the rule in docs/architecture.md ("The wand rule") so that the
// browser gives the pixels `segpaint.ops.wand_mask` gives, bit for bit: every channel normalised
// by its contrast limits and clipped to [0, 1] (float64), summed in channel order, divided by the
// channel count; a pixel is inside when |v - v(seed)| <= tolerance; the region is the 4-connected
// component of inside pixels that holds the seed, inside the clip box. Pure: no DOM, no model.
//
// How a drag stays within one animation frame: with d(p) = |v(p) - v(seed)|, a pixel is in the
// region at tolerance t iff its minimax path cost from the seed (the smallest, over 4-connected
// paths inside the clip, of the largest d on the path) is <= t. So one flood per press visits the
// pixels in increasing cost order (Dijkstra for bottleneck paths: a bucket queue over d quantised
// to 1/2^14, an exact binary heap inside the bucket being emptied, and a plain stack for the
// pixels whose d is below the current level) and appends them to `order`. The region at t is a
// prefix of `order` (the pixels whose cost is <= t): widening goes on from where the flood
// stopped, narrowing only finds a shorter prefix, and a move can stop the flood at a deadline and
// go on at the next frame. Costs are the exact float64 d values, so the prefix is exact.

import { KeyHeap, Levels, growInt } from "./key_heap.js";

/** @typedef {ArrayLike<number>} Channel */
/** @typedef {{deadline?: number, maxPixels?: number}} Budget */

/** Buckets of the queue: d in [k / 2^14, (k + 1) / 2^14) goes to bucket k (a power of two, so exact). */
export const WAND_BUCKETS = 1 << 14;
/** Pixels handled between two looks at the clock. */
const CLOCK_EVERY = 1024;

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
    // v per pixel, computed once (per frame and contrast): every press floods it.
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
    /** per-pixel stamp of the flood that queued it (cleared once every 255 floods; one byte a
     * pixel keeps it in cache better than the flood's other arrays) */
    this.seen = new Uint8Array(n);
    this.stamp = 0;
    /** the pixels taken so far, in increasing cost order */
    this.order = new Int32Array(n);
    /** how many of `order` are taken */
    this.done = 0;
    /** links of the bucket lists (a pixel sits in at most one list) */
    this.next = new Int32Array(n);
    this.head = new Int32Array(WAND_BUCKETS).fill(-1);
    /** where the cost rises along `order` */
    this.levels = new Levels();
    /** pixels at the current level, not yet taken */
    this.stack = new Int32Array(1024);
    this.top = 0;
    /** the bucket being emptied: a binary min-heap on (key, pixel) */
    this.heap = new KeyHeap();
    /** the cost of the last pixel taken, and its bucket */
    this.cur = 0;
    this.bucket = 0;
    /** half-open [row0, row1, col0, col1] of order[0:done) */
    this.box = [0, 0, 0, 0];
    /** true once every pixel the seed can reach is in `order` */
    this.complete = false;
    /** @type {{s0: number, key: string, vs: number, r0: number, r1: number, c0: number, c1: number} | null} */
    this.flood = null;
    /** `mask` finishes the ordered flood when at most this many pixels are left, else scans */
    this.finishMax = 1 << 14;
    /** @type {Uint8Array | null} the scanline flood's marks (all 0 between calls) */
    this.mark = null;
    this.scanStack = new Int32Array(1024);
  }

  /**
   * Take pixels in cost order until the next one costs more than `tolerance`, or the budget is
   * spent. A new seed or clip starts a new flood; the same ones go on from where it stopped.
   * @param {number[]} seed [row, col] continuous coordinates (rounded with floor(x + 0.5))
   * @param {number} tolerance 0..1
   * @param {number[] | null} [clip] [row0, row1, col0, col1]
   * @param {Budget} [budget] stop at `deadline` (performance.now() ms) or after `maxPixels` taken
   * @returns {{count: number, exact: boolean} | null} the region's pixel count (`order[0:count]`)
   *   and whether it is the whole region at `tolerance`; null when the seed is outside the clip
   */
  reach(seed, tolerance, clip = null, budget = {}) {
    const { width, height } = this;
    const r0 = clip ? Math.max(0, clip[0]) : 0;
    const r1 = clip ? Math.min(height, clip[1]) : height;
    const c0 = clip ? Math.max(0, clip[2]) : 0;
    const c1 = clip ? Math.min(width, clip[3]) : width;
    const sr = Math.floor(seed[0] + 0.5);
    const sc = Math.floor(seed[1] + 0.5);
    if (!(sr >= r0 && sr < r1 && sc >= c0 && sc < c1)) return null;
    const s0 = sr * width + sc;
    const key = `${r0},${r1},${c0},${c1}`;
    const f = this.flood;
    if (!f || f.s0 !== s0 || f.key !== key) this.start(s0, key, r0, r1, c0, c1);
    const vs = /** @type {NonNullable<Wand["flood"]>} */ (this.flood).vs;
    // |v(seed) - v(seed)| is 0 unless v(seed) is NaN: then nothing is inside.
    if (!(Math.abs(vs - vs) <= tolerance)) return { count: 0, exact: true };
    const exact = this.advance(tolerance, budget);
    // (when the flood stopped early, what it took may still include pixels of an earlier, wider
    // tolerance: the count is always the prefix that costs <= tolerance)
    return { count: this.countAt(tolerance), exact };
  }

  /**
   * The region of the seed at `tolerance` (the whole of it, whatever the time), or null when the
   * seed is outside the image or the clip. From the ordered flood when it is there (or a few
   * thousand pixels from it), else from a scanline flood at `tolerance` (what a commit needs
   * after a quick wide drag: O(region) at a few ns a pixel, where the ordered flood costs ~10x).
   * @param {number[]} seed @param {number} tolerance @param {number[] | null} [clip]
   * @returns {{bbox: number[], mask: Uint8Array, count: number} | null}
   */
  mask(seed, tolerance, clip = null) {
    const got = this.reach(seed, tolerance, clip, { maxPixels: this.finishMax });
    if (!got) return null;
    const sr = Math.floor(seed[0] + 0.5);
    const sc = Math.floor(seed[1] + 0.5);
    if (!got.count) return { bbox: [sr, sr + 1, sc, sc + 1], mask: new Uint8Array(1), count: 0 };
    if (!got.exact) return this.scan(sr * this.width + sc, tolerance);
    const { order, width } = this;
    const count = got.count;
    let br0 = Infinity, br1 = -1, bc0 = Infinity, bc1 = -1;
    if (count === this.done) [br0, br1, bc0, bc1] = [this.box[0], this.box[1] - 1, this.box[2], this.box[3] - 1];
    else for (let k = 0; k < count; k++) {
      const p = order[k];
      const r = (p / width) | 0;
      const c = p - r * width;
      if (r < br0) br0 = r;
      if (r > br1) br1 = r;
      if (c < bc0) bc0 = c;
      if (c > bc1) bc1 = c;
    }
    const bw = bc1 - bc0 + 1;
    const mask = new Uint8Array((br1 - br0 + 1) * bw);
    for (let k = 0; k < count; k++) {
      const p = order[k];
      const r = (p / width) | 0;
      mask[(r - br0) * bw + (p - r * width - bc0)] = 1;
    }
    return { bbox: [br0, br1 + 1, bc0, bc1 + 1], mask, count };
  }

  /**
   * A scanline flood from pixel `s0` at `tol` inside the current flood's clip: runs of inside
   * pixels, each seeding the rows above and below. Leaves `mark` all 0 again.
   * @param {number} s0 @param {number} tol
   */
  scan(s0, tol) {
    const { v, width } = this;
    const { vs, r0, r1, c0, c1 } = /** @type {NonNullable<Wand["flood"]>} */ (this.flood);
    const mark = (this.mark ??= new Uint8Array(v.length));
    let stack = this.scanStack;
    let top = 0;
    stack[top++] = s0;
    let br0 = Infinity, br1 = -1, bc0 = Infinity, bc1 = -1;
    let count = 0;
    while (top > 0) {
      const p = stack[--top];
      if (mark[p]) continue;
      const r = (p / width) | 0;
      const row = r * width;
      let a = p - row;
      let b = a + 1;
      while (a > c0 && !mark[row + a - 1] && Math.abs(v[row + a - 1] - vs) <= tol) a--;
      while (b < c1 && !mark[row + b] && Math.abs(v[row + b] - vs) <= tol) b++;
      mark.fill(1, row + a, row + b);
      count += b - a;
      if (r < br0) br0 = r;
      if (r > br1) br1 = r;
      if (a < bc0) bc0 = a;
      if (b - 1 > bc1) bc1 = b - 1;
      for (let nr = r - 1; nr <= r + 1; nr += 2) {
        if (nr < r0 || nr >= r1) continue;
        const nrow = nr * width;
        let inRun = false;
        for (let x = a; x < b; x++) {
          const j = nrow + x;
          const inside = !mark[j] && Math.abs(v[j] - vs) <= tol;
          if (inside && !inRun) {
            if (top === stack.length) stack = this.scanStack = growInt(stack);
            stack[top++] = j;
          }
          inRun = inside;
        }
      }
    }
    const bw = bc1 - bc0 + 1;
    const mask = new Uint8Array((br1 - br0 + 1) * bw);
    for (let r = br0; r <= br1; r++) {
      const row = r * width;
      mask.set(mark.subarray(row + bc0, row + bc1 + 1), (r - br0) * bw);
      mark.fill(0, row + bc0, row + bc1 + 1);
    }
    return { bbox: [br0, br1 + 1, bc0, bc1 + 1], mask, count };
  }

  /**
   * How many pixels of `order` cost at most `tolerance` (of those taken so far).
   * @param {number} tolerance
   */
  countAt(tolerance) {
    return this.levels.find(tolerance, this.done);
  }

  /**
   * A new flood from pixel `s0` inside [r0, r1) x [c0, c1): the seed alone, at cost 0.
   * @param {number} s0 @param {string} key @param {number} r0 @param {number} r1 @param {number} c0 @param {number} c1
   */
  start(s0, key, r0, r1, c0, c1) {
    if (++this.stamp === 0x100) {
      this.seen.fill(0);
      this.stamp = 1;
    }
    this.head.fill(-1);
    const vs = this.v[s0];
    this.flood = { s0, key, vs, r0, r1, c0, c1 };
    this.done = 0;
    this.box = [Infinity, -Infinity, Infinity, -Infinity];
    this.levels.clear();
    this.top = 0;
    this.heap.clear();
    this.cur = 0;
    this.bucket = 0;
    this.complete = !(Math.abs(vs - vs) <= 1);
    this.seen[s0] = this.stamp;
    if (!this.complete) this.stack[this.top++] = s0;
  }

  /**
   * Take pixels while the cheapest one left costs <= `tol` and the budget lasts.
   * @param {number} tol @param {Budget} budget @returns {boolean} true when every pixel costing <= tol is taken
   */
  advance(tol, budget) {
    const deadline = budget.deadline ?? Infinity;
    const stopAt = budget.maxPixels === undefined ? Infinity : this.done + Math.max(1, budget.maxPixels);
    const f = /** @type {NonNullable<Wand["flood"]>} */ (this.flood);
    const { v, seen, order, next, head, width, box, heap, levels } = this;
    const { vs, r0, r1, c0, c1 } = f;
    const stamp = this.stamp;
    let { cur, bucket, done, top, stack } = this;
    let check = done + CLOCK_EVERY;
    let exact = true;
    for (;;) {
      let p;
      if (top > 0) {
        if (cur > tol) break;
        p = stack[--top];
      } else if (head[bucket] >= 0) {
        // the bucket's list goes into the heap before any of it is taken (its smallest is
        // anywhere in it); a long list (a plateau of equal values) may take several frames.
        // A narrower tolerance than the bucket's (the drag went back meanwhile) waits for it.
        if (bucket > Math.min(WAND_BUCKETS - 1, Math.floor(tol * WAND_BUCKETS))) break;
        let j = head[bucket];
        let k = 0;
        for (; j >= 0; j = next[j]) {
          heap.push(Math.abs(v[j] - vs), j);
          if ((++k & 4095) === 0 && performance.now() >= deadline) {
            j = next[j];
            break;
          }
        }
        head[bucket] = j;
        if (j >= 0) {
          exact = false;
          break;
        }
        continue;
      } else if (heap.size > 0) {
        if (heap.top() > tol) break;
        cur = heap.top();
        p = heap.pop();
      } else {
        // the bucket is empty: go to the next non-empty one, unless all of it costs more than tol
        let b = bucket + 1;
        while (b < WAND_BUCKETS && head[b] < 0) b++;
        if (b >= WAND_BUCKETS) {
          this.complete = true;
          break;
        }
        if (b > Math.min(WAND_BUCKETS - 1, Math.floor(tol * WAND_BUCKETS))) break;
        bucket = b;
        continue;
      }
      if (done >= stopAt || (done >= check && (check = done + CLOCK_EVERY) && performance.now() >= deadline)) {
        // out of budget: put p back where it came from (top of the stack, at level cur)
        if (top === stack.length) stack = this.stack = growInt(stack);
        stack[top++] = p;
        exact = false;
        break;
      }
      order[done++] = p;
      if (cur > levels.last()) levels.add(done - 1, cur);
      const r = (p / width) | 0;
      const c = p - r * width;
      if (r < box[0]) box[0] = r;
      if (r >= box[1]) box[1] = r + 1;
      if (c < box[2]) box[2] = c;
      if (c >= box[3]) box[3] = c + 1;
      // the 4 neighbours inside the clip, each queued once: the first discovery is the cheapest
      for (let k = 0; k < 4; k++) {
        let j;
        if (k === 0) { if (r <= r0) continue; j = p - width; }
        else if (k === 1) { if (r + 1 >= r1) continue; j = p + width; }
        else if (k === 2) { if (c <= c0) continue; j = p - 1; }
        else { if (c + 1 >= c1) continue; j = p + 1; }
        if (seen[j] === stamp) continue;
        seen[j] = stamp;
        const d = Math.abs(v[j] - vs);
        if (d <= cur) {
          if (top === stack.length) stack = this.stack = growInt(stack);
          stack[top++] = j;
        } else if (d <= 1) {
          // d > cur, so its bucket is this one or a later one (NaN fails both tests: never inside)
          const b = Math.min(WAND_BUCKETS - 1, Math.floor(d * WAND_BUCKETS));
          if (b === bucket) heap.push(d, j);
          else {
            next[j] = head[b];
            head[b] = j;
          }
        }
      }
    }
    this.cur = cur;
    this.bucket = bucket;
    this.done = done;
    this.top = top;
    return exact;
  }
}
