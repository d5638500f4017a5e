// @ts-check
// Model-level state of one Annotator, made once per widget model in anywidget's `initialize`: the
// transport (one listener for kernel messages, one stroke counter, the pending acks, the pulled
// full-resolution transfer) and the frame it assembled (channels, the label buffer). Every view
// of the widget renders from this one copy, so two views put the same bytes on the wire as one.

import { PullBatch, encodeStroke, writeLabelBox } from "./codec.js";
import { FrameAssembler } from "./frame_assembler.js";
import { computeRange } from "./colors.js";
import { ReadAhead } from "./prefetch.js";
import { now } from "./render.js";
import { KernelWatch } from "./liveness.js";

export { ACK_WAIT_MS, PING_WAIT_MS } from "./liveness.js";

/** @typedef {import("./codec.js").Frame} Frame */
/** @typedef {import("./codec.js").ChannelBand} ChannelData a channel held (quantized in a preview) */

/**
 * What a view listens to (each hook optional).
 * @typedef {object} ViewHooks
 * @property {(p: Frame) => void} [frame] a frame, or part of one, was installed
 * @property {(box: number[], edited: Iterable<number>) => void} [labels] labels changed in `box`
 * @property {(msg: any) => void} [ack] Python answered a stroke
 * @property {() => boolean} [busy] true while this view must not ask for more (e.g. playing)
 * @property {(reason: string | null) => void} [lost] the kernel is gone (why), or back (null)
 */

/**
 * The part of an anywidget model this module uses.
 * @typedef {object} WidgetModel
 * @property {(name: string) => any} get
 * @property {(name: string, value: any) => void} set
 * @property {() => void} save_changes
 * @property {(name: string, fn: (...args: any[]) => void) => void} on
 * @property {(name: string, fn: (...args: any[]) => void) => void} off
 * @property {(content: any, callbacks?: any, buffers?: ArrayBuffer[] | ArrayBufferView[]) => void} send
 */

export class ModelState {
  /** @param {WidgetModel} model */
  constructor(model) {
    this.model = model;
    this.assembler = new FrameAssembler();
    /** @type {number | null} frame whose data is in the buffers */
    this.frame = null;
    /** @type {string | null} */
    this.population = null;
    /** @type {string | null} position ("W1/100") of the frame held, for an Experiment's widget */
    this.position = null;
    /** @type {[number, string] | null} xfer and position of the transfer being assembled */
    this.incomingPosition = null;
    this.height = 0;
    this.width = 0;
    /** @type {Map<number, ChannelData>} */
    this.channelData = new Map();
    /** @type {number} preview step of the channels held (1: full resolution) */
    this.previewStep = 1;
    /** @type {number[][]} slider range per channel */
    this.ranges = [];
    /** @type {Uint32Array | null} the label buffer every view paints into and renders from */
    this.labels = null;
    /** @type {Uint8Array | null} scratch mask of the stroke being painted */
    this.touched = null;
    this.localMax = 0;
    this.strokeSeq = 0;
    /** @type {Map<number, number>} stroke id -> time sent */
    this.pendingAcks = new Map();
    /** @type {number | null} xfer of the full-resolution transfer being pulled band by band */
    this.pullXfer = null;
    /** the pulled transfer's batch of bands */
    this.pull = new PullBatch(0);
    /** @type {number | null} */
    this.fullRequested = null;
    /** @type {ReturnType<typeof setTimeout> | 0} */
    this.fullTimer = 0;
    this.requested = false;
    /** @type {Map<ViewHooks, number>} each view and the preview step it can show */
    this.views = new Map();
    this.counters = {
      messagesSent: 0, messagesReceived: 0, acks: 0, lastAckMs: 0, framesReceived: 0, frameStart: 0,
      /** @type {{receiveMs: number, installMs: number} | undefined} */
      lastFrame: undefined,
    };
    /** @param {any} msg @param {DataView[]} [buffers] */
    this.onMessage = (msg, buffers) => this.receive(msg, buffers || []);
    model.on("msg:custom", this.onMessage);
    /** whether the kernel is still there (liveness.js) */
    this.watch = new KernelWatch(
      (content) => this.send(content),
      (reason) => {
        for (const v of this.views.keys()) v.lost?.(reason);
      },
    );
    this.onCommClose = () => this.watch.closed();
    model.on("comm:close", this.onCommClose);
    // ipywidgets says so when a kernel restarts or dies (it carries no value: ask the kernel).
    this.onLiveChange = () => this.watch.ping();
    model.on("comm_live_update", this.onLiveChange);
    /** the neighbours' pictures read ahead (issue 9; prefetch.js) */
    this.readAhead = new ReadAhead(this);
  }

  dispose() {
    this.model.off("msg:custom", this.onMessage);
    this.model.off("comm:close", this.onCommClose);
    this.model.off("comm_live_update", this.onLiveChange);
    if (this.fullTimer) clearTimeout(this.fullTimer);
    this.assembler.dispose();
    this.readAhead.dispose();
    this.watch.dispose();
    this.views.clear();
  }

  /** @returns {string | null} why the kernel is gone (null while it answers) */
  get lost() {
    return this.watch.lost;
  }

  /** @param {ViewHooks} hooks @returns {() => void} detach */
  attach(hooks) {
    this.views.set(hooks, 0);
    return () => {
      this.views.delete(hooks);
      this.syncPreviewStep();
    };
  }

  /** @param {any} content @param {ArrayBuffer[]} [buffers] */
  send(content, buffers = []) {
    this.counters.messagesSent++;
    try {
      this.model.send(content, null, buffers);
    } catch (err) {
      // ipywidgets throws once the comm is closed (e.g. "Comm is closed")
      this.watch.markLost(`a message could not be sent (${err instanceof Error ? err.message : err})`);
    }
  }

  /** Ask Python for the current frame, once per model (later views reuse what arrived). */
  requestFrame() {
    if (this.requested) return false;
    this.requested = true;
    this.send({ type: "request-frame" });
    return true;
  }

  /**
   * A view asks for the preview step it can show at its zoom; the model asks Python for the
   * finest any view needs.
   * @param {ViewHooks} hooks @param {number} previewStep
   */
  wantPreviewStep(hooks, previewStep) {
    this.views.set(hooks, previewStep);
    this.syncPreviewStep();
  }

  syncPreviewStep() {
    const steps = [...this.views.values()].filter((s) => s > 0);
    if (!steps.length) return;
    const want = Math.min(...steps);
    if (want !== this.model.get("_preview_step")) {
      this.model.set("_preview_step", want);
      this.model.save_changes();
    }
  }

  /** Ask for the full-resolution channels once the views have settled on a frame. */
  requestFull(delay = 150) {
    if (this.fullTimer) clearTimeout(this.fullTimer);
    this.fullTimer = setTimeout(() => {
      this.fullTimer = 0;
      if ([...this.views.keys()].some((v) => v.busy?.())) return;
      if (this.previewStep === 1 || this.frame === null || this.frame !== this.model.get("frame")) return;
      if (this.fullRequested === this.frame) return;
      this.fullRequested = this.frame;
      this.send({ type: "request-full", frame: this.frame });
    }, delay);
  }

  /**
   * Send one stroke (a label under a mask, or values + mask, over its box); returns its id.
   * @param {{bbox: number[], mask: Uint8Array, label?: number, values?: Uint32Array}} patch
   * @param {number} chunkBytes largest payload of one message
   */
  sendStroke(patch, chunkBytes) {
    const id = ++this.strokeSeq;
    this.pendingAcks.set(id, now());
    const edit = { ...patch, stroke: id, population: this.population, frame: this.frame };
    // Tagged with the position of the frame it was painted on: Python refuses it if it moved on.
    const position = this.position;
    for (const [content, buffers] of encodeStroke(edit, chunkBytes)) this.send(position === null ? content : { ...content, position }, buffers);
    this.watch.watchAck(() => this.pendingAcks.has(id));
    return id;
  }

  /**
   * A view edited the label buffer: tell the other views.
   * @param {ViewHooks} source @param {number[]} box @param {number} label
   */
  edited(source, box, label) {
    if (label > this.localMax) this.localMax = label;
    for (const v of this.views.keys()) if (v !== source) v.labels?.(box, [label]);
  }

  /** @param {any} msg @param {DataView[]} buffers */
  receive(msg, buffers) {
    this.watch.heard();
    this.counters.messagesReceived++;
    if (this.readAhead.receive(msg, buffers)) return; // a neighbour's picture, or its drop
    const a = this.assembler;
    switch (msg?.type) {
      case "frame":
        // Sent before the kernel saw this page's latest prefetch-hit, of a frame not wanted now:
        // dropped whole (its bands find no pending transfer), or it would pull the page back.
        if (typeof msg.hits === "number" && msg.hits < this.readAhead.hitsSent && msg.frame !== this.model.get("frame")) break;
        // A transfer still pending is abandoned (Python stopped sending it): if it was the
        // full-resolution pull, the views may ask again once this one is shown.
        if (a.pending && a.pending.xfer === this.pullXfer) this.fullRequested = null;
        a.begin(msg);
        this.incomingPosition = typeof msg.position === "string" ? [msg.xfer, msg.position] : null;
        this.pullXfer = msg.pull ? msg.xfer : null;
        // A pull's header comes with `window` bands (1 when not said).
        if (msg.pull) this.pull = new PullBatch(Number(msg.window) || 1, now());
        this.counters.frameStart = now();
        break;
      case "band": {
        // Bands of an older transfer (another frame, a superseded pull) are dropped here.
        const pending = a.pending;
        if (msg.xfer === this.pullXfer && pending && pending.xfer === msg.xfer && pending.frame !== this.model.get("frame")) {
          // The user moved on: the pulled frame is stale. Drop it whole (its late bands and end
          // marker are ignored, nothing half-copied is ever installed) and ask for no more.
          a.abandon();
          this.pullXfer = null;
          this.fullRequested = null;
          break;
        }
        if (a.band(msg, buffers) && msg.xfer === this.pullXfer) {
          // Pulled transfers come in batches that take ~PULL_BATCH_MS (codec.js), so a frame
          // change never waits behind more than about that.
          const n = this.pull.arrived(now(), Number(this.model.get("limits")?.pull_batch_max) || 1);
          if (n) this.send(n === 1 ? { type: "more", xfer: msg.xfer } : { type: "more", xfer: msg.xfer, n });
        }
        break;
      }
      case "frame-end": {
        const p = a.end(msg);
        if (p && p.xfer === this.pullXfer) this.pullXfer = null;
        if (p) {
          this.counters.framesReceived++;
          const t0 = now();
          this.install(p);
          this.counters.lastFrame = { receiveMs: t0 - this.counters.frameStart, installMs: now() - t0 };
        }
        break;
      }
      case "labels-patch":
        this.applyPatch(msg, buffers);
        break;
      case "pong":
        this.watch.pong(msg.id);
        break;
      case "ack": {
        const t0 = this.pendingAcks.get(msg.stroke);
        this.pendingAcks.delete(msg.stroke);
        this.counters.acks++;
        if (t0 !== undefined) this.counters.lastAckMs = now() - t0;
        for (const v of this.views.keys()) v.ack?.(msg);
        break;
      }
      default:
        break;
    }
  }

  /** @param {Frame} p */
  install(p) {
    const sizeChanged = p.height !== this.height || p.width !== this.width;
    const newFrame = !p.partial || sizeChanged || p.frame !== this.frame;
    // Arrays this transfer replaces: once every view shows the new ones, the assembler reuses them.
    const replaced = newFrame || p.previewStep !== this.previewStep ? [...this.channelData.values()] : [...p.channels.keys()].map((i) => this.channelData.get(i));
    if (newFrame || p.previewStep !== this.previewStep) this.channelData = new Map();
    this.previewStep = p.previewStep;
    for (const [idx, ch] of p.channels) {
      this.channelData.set(idx, ch);
      // A quantized preview says its channel's true range (its samples are 0..255).
      const r = ch.range || computeRange(ch.data);
      const prev = this.ranges[idx];
      this.ranges[idx] = prev ? [Math.min(prev[0], r[0]), Math.max(prev[1], r[1])] : r;
    }
    this.height = p.height;
    this.width = p.width;
    const n = p.height * p.width;
    if (!this.touched || this.touched.length !== n) this.touched = new Uint8Array(n);
    const position = this.incomingPosition?.[0] === p.xfer ? this.incomingPosition[1] : this.position;
    // A whole frame (not the pull's channels): the kernel starts over, the pull may be asked again.
    if (!p.partial || p.frame !== this.frame || position !== this.position) this.fullRequested = null;
    this.position = position;
    this.frame = p.frame;
    this.population = p.population;
    if (p.labels) {
      // The previous frame's buffer: every view switches to the new one below (and drops a
      // stroke it was painting), so the next frame change decodes into it, no new allocation.
      if (this.labels && this.labels !== p.labels) this.assembler.retireLabels(this.labels);
      this.labels = p.labels;
      this.localMax = p.maxLabel;
    } else if (!this.labels || this.labels.length !== n) {
      this.labels = new Uint32Array(n);
    }
    for (const v of this.views.keys()) v.frame?.(p);
    const shown = new Set([...this.channelData.values()].map((ch) => ch.data));
    for (const ch of replaced) if (ch && !shown.has(ch.data)) this.assembler.retire(ch.data);
    if (!p.partial) this.readAhead.installed(p.frame);
  }

  /**
   * A "labels-patch" from Python (undo, pre-segmentation, a refused stroke rolled back).
   * @param {any} msg @param {DataView[]} buffers
   */
  applyPatch(msg, buffers) {
    const labels = this.labels;
    if (!labels || msg.frame !== this.frame || msg.population !== this.population) return;
    writeLabelBox(labels, this.width, msg.bbox, msg.dtype, buffers[0]);
    const [r0, r1, c0, c1] = msg.bbox;
    const edited = new Set();
    for (let r = r0; r < r1; r++) {
      for (let c = c0; c < c1; c++) {
        const v = labels[r * this.width + c];
        if (v > this.localMax) this.localMax = v;
        edited.add(v);
      }
      if (edited.size > 4096) break;
    }
    for (const v of this.views.keys()) v.labels?.(msg.bbox, edited);
  }
}

/**
 * States by model. anywidget hands `initialize` and each `render` a different proxy of one model,
 * so the key is the model's `_widget_id` (unique per Python widget), or the object itself in tests
 * whose mocks have none.
 * @type {Map<unknown, ModelState>}
 */
const STATES = new Map();

/** @param {WidgetModel} model */
const keyOf = (model) => model.get("_widget_id") || model;

/**
 * The model's state, made on first use (anywidget calls `initialize` first; tests may not).
 * @param {WidgetModel} model
 */
export function modelState(model) {
  const key = keyOf(model);
  let s = STATES.get(key);
  if (!s) {
    s = new ModelState(model);
    STATES.set(key, s);
  }
  return s;
}

/**
 * Drop the model's state (anywidget calls initialize's cleanup when the model goes).
 * @param {WidgetModel} model
 */
export function disposeModelState(model) {
  const key = keyOf(model);
  STATES.get(key)?.dispose();
  STATES.delete(key);
}
