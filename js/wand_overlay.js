// @ts-check
// The wand's preview (js/wand.js floods, this shows). `WandOverlay` keeps a 0/1 mask of the frame
// in step with a prefix of `Wand.order`, writing only the pixels that joined or left the region;
// `paint` samples it at the screen's pixels (nearest, like the canvas draws the image) into an
// RGBA buffer the size of the viewport. So a drag move costs what changed plus at most one
// viewport of pixels, never an upload of the whole 2048² frame (which a full-frame canvas would
// copy on every change).

/** @typedef {import("./wand.js").Wand} Wand */
/** @typedef {{scale: number, tx: number, ty: number}} ViewMap image -> viewport: x = tx + col * scale */

/** The preview colour, ABGR (little-endian RGBA): cyan, ~70 % opaque. */
export const WAND_COLOUR = 0xb0ffe500;

/**
 * The wand's region as a 0/1 mask of the frame, kept in step with a prefix of `Wand.order`.
 */
export class WandOverlay {
  /** @param {number} width @param {number} height */
  constructor(width, height) {
    this.width = width;
    this.height = height;
    this.on = new Uint8Array(width * height);
    /** pixels of the flood now shown: order[0:shown) */
    this.shown = 0;
    /** @type {number[] | null} box [row0, row1, col0, col1] (half-open) of every pixel set since the last clear */
    this.box = null;
  }

  /**
   * Bring the shown pixels towards `wand.order[0:count)`: set the pixels that joined, clear
   * those that left, at most `limit` of them (a narrowing that drops most of a large region
   * clears the whole box with row fills instead, and sets back the few that stay).
   * @param {Wand} wand @param {number} count @param {number} [limit] most pixels written
   * @returns {{box: number[] | null, done: boolean}} the half-open box that changed (or null),
   *   and whether `order[0:count)` is now exactly what is shown
   */
  show(wand, count, limit = Infinity) {
    /** @type {number[] | null} */
    let box = null;
    if (count < this.shown && this.shown - count > count) box = this.clear();
    const a = Math.min(count, this.shown);
    const b = Math.max(count, this.shown);
    if (a === b) return { box, done: true };
    const value = count > this.shown ? 1 : 0;
    const from = value ? a : Math.max(a, b - limit);
    const to = value ? Math.min(b, a + limit) : b;
    const { order } = wand;
    const { on, width } = this;
    let r0 = Infinity, r1 = -1, c0 = Infinity, c1 = -1;
    for (let k = from; k < to; k++) {
      const p = order[k];
      on[p] = value;
      const r = (p / width) | 0;
      const c = p - r * width;
      if (r < r0) r0 = r;
      if (r > r1) r1 = r;
      if (c < c0) c0 = c;
      if (c > c1) c1 = c;
    }
    this.shown = value ? to : from;
    const dirty = [r0, r1 + 1, c0, c1 + 1];
    if (value) {
      const x = this.box;
      this.box = x ? [Math.min(x[0], r0), Math.max(x[1], r1 + 1), Math.min(x[2], c0), Math.max(x[3], c1 + 1)] : dirty;
    }
    box = box ? [Math.min(box[0], r0), Math.max(box[1], r1 + 1), Math.min(box[2], c0), Math.max(box[3], c1 + 1)] : dirty;
    return { box, done: this.shown === count };
  }

  /** Clear everything shown (before a new flood overwrites `order`). @returns {number[] | null} the box cleared */
  clear() {
    const x = this.box;
    this.shown = 0;
    this.box = null;
    if (!x) return null;
    for (let r = x[0]; r < x[1]; r++) this.on.fill(0, r * this.width + x[2], r * this.width + x[3]);
    return x;
  }

  /**
   * Paint the region as it falls on the viewport's pixels into `px` (RGBA as ABGR words, row-major,
   * `w` x `h`): every screen pixel of `rect` [x0, x1, y0, y1] gets `colour` when the image pixel
   * under its centre is in the region, 0 otherwise.
   * @param {Uint32Array} px @param {number} w @param {number} h @param {ViewMap} view
   * @param {number[]} rect @param {number} colour
   */
  paint(px, w, h, view, rect, colour) {
    const { scale, tx, ty } = view;
    const { on, width, height } = this;
    const [x0, x1, y0, y1] = rect;
    // the image column under each screen column's centre (-1 outside the frame)
    const cols = new Int32Array(Math.max(0, x1 - x0));
    for (let x = x0; x < x1; x++) {
      const c = Math.floor((x + 0.5 - tx) / scale);
      cols[x - x0] = c >= 0 && c < width ? c : -1;
    }
    for (let y = y0; y < y1; y++) {
      const r = Math.floor((y + 0.5 - ty) / scale);
      const out = y * w;
      if (r < 0 || r >= height) {
        px.fill(0, out + x0, out + x1);
        continue;
      }
      const row = r * width;
      for (let x = x0; x < x1; x++) {
        const c = cols[x - x0];
        px[out + x] = c >= 0 && on[row + c] ? colour : 0;
      }
    }
  }

  /**
   * The screen rectangle [x0, x1, y0, y1] (inside `w` x `h`) that image box `box` covers, or null.
   * @param {number[]} box @param {ViewMap} view @param {number} w @param {number} h
   */
  static onScreen(box, view, w, h) {
    const { scale, tx, ty } = view;
    const x0 = Math.max(0, Math.floor(tx + box[2] * scale) - 1);
    const x1 = Math.min(w, Math.ceil(tx + box[3] * scale) + 1);
    const y0 = Math.max(0, Math.floor(ty + box[0] * scale) - 1);
    const y1 = Math.min(h, Math.ceil(ty + box[1] * scale) + 1);
    return x1 > x0 && y1 > y0 ? [x0, x1, y0, y1] : null;
  }
}

/** A WandOverlay and the viewport-sized off-screen canvas it is painted into (none without a DOM). */
export class WandView {
  /** @param {number} width @param {number} height the frame */
  constructor(width, height) {
    this.overlay = new WandOverlay(width, height);
    /** @type {HTMLCanvasElement | null} */
    this.canvas = null;
    /** @type {CanvasRenderingContext2D | null} */
    this.ctx = null;
    /** @type {ImageData | null} */
    this.img = null;
    /** the view and size painted last ("" before the first paint) */
    this.key = "";
    /** @type {number[] | null} image box changed since the last paint */
    this.dirty = null;
    /** @type {number[] | null} screen rectangle [x0, x1, y0, y1] that may hold painted pixels */
    this.painted = null;
  }

  /** @param {Wand} wand */
  fits(wand) {
    return this.overlay.width === wand.width && this.overlay.height === wand.height;
  }

  /** @param {number[] | null} box */
  touch(box) {
    const d = this.dirty;
    if (box) this.dirty = d ? [Math.min(d[0], box[0]), Math.max(d[1], box[1]), Math.min(d[2], box[2]), Math.max(d[3], box[3])] : box.slice();
  }

  /**
   * Show `wand.order[0:count)` (at most `limit` pixels written: see WandOverlay.show).
   * @param {Wand} wand @param {number} count @param {number} [limit] @returns {boolean} true when all shown
   */
  show(wand, count, limit = Infinity) {
    const got = this.overlay.show(wand, count, limit);
    this.touch(got.box);
    return got.done;
  }

  clear() {
    this.touch(this.overlay.clear());
  }

  /**
   * Bring the off-screen canvas up to date (only the screen rectangle of what changed, or all of
   * it when the view moved) and draw it on the overlay.
   * @param {CanvasRenderingContext2D} ctx the overlay, in CSS pixels
   * @param {ViewMap} view
   * @param {{w: number, h: number}} size the viewport, CSS pixels
   */
  draw(ctx, view, size) {
    if (typeof document === "undefined" || typeof ImageData !== "function") return;
    const w = Math.max(1, Math.ceil(size.w));
    const h = Math.max(1, Math.ceil(size.h));
    if (!this.canvas || !this.img || this.img.width !== w || this.img.height !== h) {
      this.canvas = this.canvas ?? document.createElement("canvas");
      this.canvas.width = w;
      this.canvas.height = h;
      this.ctx = this.canvas.getContext("2d");
      this.img = new ImageData(w, h);
      this.key = "";
      this.painted = null; // a new ImageData is all 0
    }
    if (!this.ctx) return;
    const key = `${view.scale},${view.tx},${view.ty},${w},${h}`;
    // the view moved: repaint where pixels were and where the region is now; else what changed
    const moved = key !== this.key;
    const box = this.overlay.box;
    const now = box && WandOverlay.onScreen(box, view, w, h);
    const rect = moved ? union(this.painted, now) : this.dirty && WandOverlay.onScreen(this.dirty, view, w, h);
    this.painted = moved ? now : union(this.painted, rect);
    this.dirty = null;
    this.key = key;
    if (rect) {
      this.overlay.paint(new Uint32Array(this.img.data.buffer), w, h, view, rect, WAND_COLOUR);
      this.ctx.putImageData(this.img, 0, 0, rect[0], rect[2], rect[1] - rect[0], rect[3] - rect[2]);
    }
    const on = now;
    if (!on) return;
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(this.canvas, on[0], on[2], on[1] - on[0], on[3] - on[2], on[0], on[2], on[1] - on[0], on[3] - on[2]);
  }
}

/** The smallest rectangle holding both (either may be null). @param {number[] | null} a @param {number[] | null} b */
function union(a, b) {
  if (!a) return b;
  if (!b) return a;
  return [Math.min(a[0], b[0]), Math.max(a[1], b[1]), Math.min(a[2], b[2]), Math.max(a[3], b[3])];
}
