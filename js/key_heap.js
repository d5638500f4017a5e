// @ts-check
// A binary min-heap of (key, pixel) pairs in two growable typed arrays: the wand empties one
// bucket of its queue with it (see wand.js). No objects per entry, so a flood of millions of
// pixels allocates only when the heap doubles.

export class KeyHeap {
  /** @param {number} [capacity] */
  constructor(capacity = 1024) {
    this.key = new Float64Array(capacity);
    this.pix = new Int32Array(capacity);
    this.size = 0;
  }

  clear() {
    this.size = 0;
  }

  /** The smallest key (the heap must not be empty). */
  top() {
    return this.key[0];
  }

  /** @param {number} key @param {number} pix */
  push(key, pix) {
    if (this.size === this.pix.length) {
      this.pix = growInt(this.pix);
      this.key = growFloat(this.key);
    }
    const { key: keys, pix: pixs } = this;
    let i = this.size++;
    while (i > 0) {
      const up = (i - 1) >> 1;
      if (keys[up] <= key) break;
      keys[i] = keys[up];
      pixs[i] = pixs[up];
      i = up;
    }
    keys[i] = key;
    pixs[i] = pix;
  }

  /** The pixel of the smallest key (removed). */
  pop() {
    const { key: keys, pix: pixs } = this;
    const out = pixs[0];
    const n = --this.size;
    const key = keys[n];
    const pix = pixs[n];
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && keys[child + 1] < keys[child]) child++;
      if (keys[child] >= key) break;
      keys[i] = keys[child];
      pixs[i] = pixs[child];
      i = child;
    }
    keys[i] = key;
    pixs[i] = pix;
    return out;
  }
}

/**
 * Where a cost rises along an ordered list of pixels: `pos[k]` pixels come before `key[k]`.
 * Appending only; `find(t)` is the number of pixels whose cost is <= t.
 */
export class Levels {
  constructor() {
    this.pos = new Int32Array(256);
    this.key = new Float64Array(256);
    this.n = 0;
  }

  clear() {
    this.n = 0;
  }

  /** The last key added (-Infinity when none). */
  last() {
    return this.n ? this.key[this.n - 1] : -Infinity;
  }

  /** @param {number} pos @param {number} key */
  add(pos, key) {
    if (this.n === this.pos.length) {
      this.pos = growInt(this.pos);
      this.key = growFloat(this.key);
    }
    this.pos[this.n] = pos;
    this.key[this.n++] = key;
  }

  /**
   * The first level whose key is above `t` (binary search): its position, or `all` when none is.
   * @param {number} t @param {number} all
   */
  find(t, all) {
    const { key, pos } = this;
    let lo = 0;
    let hi = this.n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (key[mid] <= t) lo = mid + 1;
      else hi = mid;
    }
    return lo < this.n ? pos[lo] : all;
  }
}

/** A copy of `a` twice as long. @param {Int32Array} a */
export function growInt(a) {
  const out = new Int32Array(a.length * 2);
  out.set(a);
  return out;
}

/** @param {Float64Array} a */
function growFloat(a) {
  const out = new Float64Array(a.length * 2);
  out.set(a);
  return out;
}
