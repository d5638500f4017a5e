// @ts-check
// Read-ahead (issue 9): while the user looks at frame t, the page holds the picture (the preview
// channels at the step and contrast on screen, and the labels) of its neighbours, so a change to
// t±1 draws from the page at once and the kernel only sends the lossless pull. One cache per
// widget model (model.js), shared by every view. A picture is stored as the transfer's messages,
// replayed through the frame assembler on a hit: the same install path as a received frame.
// Wire (see segpaint/widgets/_wire.py): "prefetch" {frame, from} asks; the answer is a transfer
// whose header has `prefetch: true`; "prefetch-hit" {frame, from, xfer} goes before the frame
// trait on a hit; "prefetch-drop" {frame, population} says a picture's labels changed.

import { now } from "./render.js";

/** Pictures kept (least recently stored or used goes first). */
export const PREFETCH_CACHE = 4;
/** An answer not complete this long (ms) after its request no longer holds the next one back. */
export const PREFETCH_WAIT_MS = 3000;

/**
 * The preview step Python sends for the `_preview_step` trait (mirror of _wire.snap_preview_step).
 * @param {unknown} step
 */
export function snapPreviewStep(step) {
  const v = Number(step);
  if (!Number.isFinite(v) || v < 1.25) return 1;
  return Math.floor(Math.min(v, 16) / 0.125) * 0.125;
}

/**
 * What a picture must match to stand for a frame on screen now.
 * @typedef {object} Want
 * @property {number} frame
 * @property {string | null} position
 * @property {string | null} population
 * @property {number} step preview step Python would send now
 * @property {number[]} visible visible channel indices, ascending
 * @property {number[][]} contrast limits per channel (a quantized channel's `quant` must equal them)
 */

/**
 * A stored picture: its header and every message of its transfer, in order.
 * @typedef {object} Picture
 * @property {any} header
 * @property {[any, DataView[]][]} messages
 * @property {string | null} position
 */

/** @param {any} header */
const positionOf = (header) => (typeof header.position === "string" && header.position !== "" ? header.position : null);

/**
 * Whether a stored picture is what a change to `want.frame` would show: same frame, position,
 * population, preview step and visible channels, and every quantized channel under the limits on
 * screen now (a channel sent as it is, uint8, holds whatever the contrast).
 * @param {Picture} pic @param {Want} want
 */
export function pictureMatches(pic, want) {
  const h = pic.header;
  if (h.frame !== want.frame || pic.position !== want.position || h.population !== want.population) return false;
  if (Number(h.preview_step || 1) !== want.step) return false;
  const chans = [...h.channels].sort((a, b) => a.index - b.index);
  if (chans.length !== want.visible.length || chans.some((ch, i) => ch.index !== want.visible[i])) return false;
  return chans.every((ch) => !Array.isArray(ch.quant) || (ch.quant[0] === Number(want.contrast[ch.index]?.[0]) && ch.quant[1] === Number(want.contrast[ch.index]?.[1])));
}

/** The pictures read ahead, and the requests that fetch them one at a time. */
export class Prefetcher {
  /**
   * @param {(content: any) => void} send to the kernel
   * @param {number} [limit] pictures kept
   */
  constructor(send, limit = PREFETCH_CACHE) {
    this.send = send;
    this.limit = limit;
    /** @type {Picture[]} stored pictures, oldest first */
    this.pictures = [];
    /** @type {Map<number, Picture>} transfers being received, by xfer */
    this.incoming = new Map();
    /** @type {{frame: number, from: number, at: number} | null} the request in flight */
    this.asked = null;
    /** direction of the last frame change: +1 forward, -1 back */
    this.direction = 1;
    this.counters = { asked: 0, stored: 0, hits: 0, misses: 0, dropped: 0 };
  }

  /** Forget every picture (another population or position, read-ahead off). */
  clear() {
    this.pictures = [];
    this.incoming.clear();
    this.asked = null;
  }

  /** Forget frame `frame`'s pictures (it is current, or its labels changed). @param {number} frame */
  forget(frame) {
    this.pictures = this.pictures.filter((p) => p.header.frame !== frame);
  }

  /**
   * The stored picture for `want`, moved to the newest place; null on a miss.
   * @param {Want} want
   */
  take(want) {
    const i = this.pictures.findIndex((p) => pictureMatches(p, want));
    if (i < 0) {
      this.counters.misses++;
      return null;
    }
    this.counters.hits++;
    const [pic] = this.pictures.splice(i, 1);
    return pic;
  }

  /**
   * A kernel message: consumes it (true) when it belongs to read-ahead: a prefetched transfer
   * (its header, bands, end) or a drop. `current` says what is on screen: an answer for the
   * current frame, another population or position is ignored (its messages still consumed).
   * @param {any} msg @param {DataView[]} buffers
   * @param {() => {frame: number | null, position: string | null, population: string | null}} current
   * @returns {boolean} whether the message was consumed
   */
  receive(msg, buffers, current) {
    const type = msg?.type;
    if (type === "prefetch-drop") {
      this.counters.dropped++;
      this.pictures = this.pictures.filter((p) => p.header.frame !== msg.frame || p.header.population !== msg.population);
      return true;
    }
    if (type === "frame") {
      if (!msg.prefetch) return false;
      const pic = { header: msg, messages: /** @type {[any, DataView[]][]} */ ([[msg, []]]), position: positionOf(msg) };
      this.incoming.set(msg.xfer, pic);
      return true;
    }
    if (type !== "band" && type !== "frame-end") return false;
    const pic = this.incoming.get(msg.xfer);
    if (!pic) return false;
    pic.messages.push([msg, buffers]);
    if (type === "band") return true;
    this.incoming.delete(msg.xfer);
    if (this.asked?.frame === pic.header.frame) this.asked = null;
    const h = pic.header;
    const on = current();
    if (h.frame === on.frame || h.population !== on.population || pic.position !== on.position) return true;
    this.forget(h.frame);
    this.pictures.push(pic);
    while (this.pictures.length > this.limit) this.pictures.shift();
    this.counters.stored++;
    return true;
  }

  /**
   * The frame `from` is on screen (its first picture drawn): ask for the next neighbour not held,
   * in the direction of the last move first, then the other, up to `reach` frames each side;
   * one request at a time (the next once its answer is in), so read-ahead never queues more than
   * one picture in front of the user's next frame change.
   * @param {Want} want what the frame `from` shows (`want.frame` is ignored)
   * @param {number} from @param {number} reach @param {number} nFrames
   * @returns {number | null} the frame asked for
   */
  next(want, from, reach, nFrames) {
    if (this.asked && now() - this.asked.at < PREFETCH_WAIT_MS) return null;
    this.asked = null;
    for (let d = 1; d <= reach; d++) {
      for (const k of [from + this.direction * d, from - this.direction * d]) {
        if (k < 0 || k >= nFrames) continue;
        if (this.pictures.some((p) => pictureMatches(p, { ...want, frame: k }))) continue;
        if ([...this.incoming.values()].some((p) => p.header.frame === k)) continue;
        this.asked = { frame: k, from, at: now() };
        this.counters.asked++;
        this.send(want.position === null ? { type: "prefetch", frame: k, from } : { type: "prefetch", frame: k, from, position: want.position });
        return k;
      }
    }
    return null;
  }
}

/**
 * Read-ahead wired to one widget model's state (model.js): asks for the neighbours once a frame
 * is drawn, stores the answers, and on a frame change that hits installs the picture at once.
 */
export class ReadAhead {
  /** @param {import("./model.js").ModelState} state */
  constructor(state) {
    this.state = state;
    const model = state.model;
    this.cache = new Prefetcher((content) => state.send(content));
    /** @type {number | null} the frame the kernel shows once it has read what the page sent */
    this.shown = model.get("frame") ?? null;
    /** @type {ReturnType<typeof setTimeout> | 0} */
    this.timer = 0;
    /** prefetch-hit messages sent (a frame transfer says how many the kernel had received) */
    this.hitsSent = 0;
    this.onFrame = () => this.frameChanged();
    this.onClear = () => this.cache.clear();
    model.on("change:frame", this.onFrame);
    for (const name of ["population", "position", "prefetch"]) model.on(`change:${name}`, this.onClear);
  }

  dispose() {
    const model = this.state.model;
    model.off("change:frame", this.onFrame);
    for (const name of ["population", "position", "prefetch"]) model.off(`change:${name}`, this.onClear);
    if (this.timer) clearTimeout(this.timer);
    this.cache.clear();
  }

  /** What a picture of `frame` must match to be shown now. @param {number} frame @returns {Want} */
  want(frame) {
    const m = this.state.model;
    const position = m.get("position");
    /** @type {boolean[]} */
    const shownChannels = m.get("channel_visible") || [];
    return {
      frame,
      position: typeof position === "string" && position !== "" ? position : null,
      population: m.get("population") ?? null,
      step: snapPreviewStep(m.get("_preview_step")),
      visible: shownChannels.flatMap((v, i) => (v ? [i] : [])),
      contrast: m.get("contrast") || [],
    };
  }

  /**
   * A kernel message: true when read-ahead consumed it (then model.js does nothing else with it).
   * @param {any} msg @param {DataView[]} buffers
   */
  receive(msg, buffers) {
    const consumed = this.cache.receive(msg, buffers, () => this.want(this.state.model.get("frame")));
    if (consumed && msg.type === "frame-end") this.ask(); // the next neighbour, if any
    return consumed;
  }

  /**
   * The frame trait changed (this page, or Python): a stored picture of the new frame is
   * installed at once, after telling the kernel ("prefetch-hit" goes before the trait update on
   * the same comm), so it sends no preview. The new frame is never kept in the cache.
   */
  frameChanged() {
    const m = this.state.model;
    const t = m.get("frame");
    const from = this.shown;
    this.shown = t;
    if (typeof t !== "number" || t === from) return;
    this.cache.direction = typeof from === "number" && t < from ? -1 : 1;
    this.cache.asked = null; // a new chain of requests starts once this frame is drawn
    const pic = Number(m.get("prefetch")) > 0 && typeof from === "number" && !this.state.lost ? this.cache.take(this.want(t)) : null;
    this.cache.forget(t);
    if (!pic) {
      // A change from Python whose frame arrived before the trait: read ahead from it now.
      if (this.state.frame === t) this.installed(t);
      return;
    }
    this.hitsSent++;
    this.state.send({ type: "prefetch-hit", frame: t, from, xfer: pic.header.xfer });
    this.replay(pic);
  }

  /** Install a stored picture: its messages through the assembler, as if they came now. @param {Picture} pic */
  replay(pic) {
    const state = this.state;
    const a = state.assembler;
    const t0 = now();
    // The pending transfer (the frame left, or its lossless pull) is abandoned, as by a new header.
    if (a.pending && a.pending.xfer === state.pullXfer) state.fullRequested = null;
    for (const [msg, buffers] of pic.messages) {
      if (msg.type === "frame") {
        a.begin(msg);
        state.incomingPosition = pic.position === null ? null : [msg.xfer, pic.position];
        state.pullXfer = null;
      } else if (msg.type === "band") {
        a.band(msg, buffers);
      } else {
        const p = a.end(msg);
        if (!p) continue;
        state.counters.framesReceived++;
        state.install(p);
        state.counters.lastFrame = { receiveMs: 0, installMs: now() - t0 };
      }
    }
  }

  /** A whole frame was installed and drawn: it is not read ahead any more; its neighbours are. @param {number} frame */
  installed(frame) {
    this.cache.forget(frame);
    // A request in flight may have reached the kernel before it moved to this frame (it ignores
    // those): the chain starts again from here.
    this.cache.asked = null;
    if (frame !== this.state.model.get("frame")) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = 0;
      this.ask();
    }, 0);
  }

  /** Ask for the next neighbour of the frame on screen (see Prefetcher.next). */
  ask() {
    const state = this.state;
    const m = state.model;
    const reach = Number(m.get("prefetch")) || 0;
    if (reach <= 0 || state.lost || state.frame === null || state.frame !== m.get("frame") || state.frame !== this.shown) return;
    this.cache.next(this.want(state.frame), state.frame, reach, Number(m.get("n_frames")) || 1);
  }
}
