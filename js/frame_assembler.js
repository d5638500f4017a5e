// @ts-check
// Reassembles the kernel's frame transfers ("frame" header, row "band"s, "frame-end"; see
// codec.js for the encoding) into the arrays a view draws, reusing retired arrays so a frame
// change allocates nothing once the sizes are known.

import { DTYPES, decodeArray, decodeRuns, writeLabelBox, writeRows } from "./codec.js";

/** @typedef {import("./codec.js").Frame} Frame */
/** @typedef {import("./codec.js").PixelArray} PixelArray */
/** @typedef {import("./codec.js").ChannelBand} ChannelBand */

/** Retired channel arrays kept for reuse (two channels, preview and full resolution). */
export const SPARE_ARRAYS = 4;
/**
 * Elements of a retired label buffer zeroed per task in the background (4 MB: about a
 * millisecond), so the next frame decodes into zeros and skips its runs of 0 instead of filling
 * 16 MB (2048²) or 64 MB (4096²) while the user waits for it.
 */
export const ZERO_STEP = 1 << 20;

/** Reassembles a frame sent as a header, row bands per array, and an end marker. */
export class FrameAssembler {
  constructor() {
    /** @type {Frame | null} */
    this.pending = null;
    /**
     * Channel arrays no longer shown (`retire`), reused by the next transfer of their type and
     * length: scrubbing then allocates no new megabytes per frame (nor makes the collector free
     * them). Every sample of a reused array is overwritten before its transfer is installed.
     * @type {PixelArray[]}
     */
    this.spare = [];
    /**
     * The label buffer of a frame no longer shown (`retireLabels`): the next full transfer of
     * the same size decodes into it instead of allocating 16 MB (2048²) or 64 MB (4096²) again.
     * @type {Uint32Array | null}
     */
    this.spareLabels = null;
    /** elements of `spareLabels` from 0 known to be zero (zeroed between tasks) */
    this.spareZeroed = 0;
    /** @type {ReturnType<typeof setTimeout> | 0} */
    this.zeroTimer = 0;
  }

  /** Hand back a label buffer nobody shows or paints any more. @param {Uint32Array} labels */
  retireLabels(labels) {
    if (this.pending?.labels === labels) return;
    this.spareLabels = labels;
    this.spareZeroed = 0;
    this.zeroSoon();
  }

  /** Zero the spare label buffer, ZERO_STEP elements per task, while nothing else runs. */
  zeroSoon() {
    if (this.zeroTimer || typeof setTimeout !== "function") return;
    this.zeroTimer = setTimeout(() => {
      this.zeroTimer = 0;
      const spare = this.spareLabels;
      if (!spare || this.spareZeroed >= spare.length) return;
      const end = Math.min(spare.length, this.spareZeroed + ZERO_STEP);
      spare.fill(0, this.spareZeroed, end);
      this.spareZeroed = end;
      if (end < spare.length) this.zeroSoon();
    }, 0);
  }

  /** Stop zeroing in the background (the widget goes). */
  dispose() {
    if (this.zeroTimer) clearTimeout(this.zeroTimer);
    this.zeroTimer = 0;
    this.spareLabels = null;
    this.spare = [];
  }

  /**
   * A label buffer of `n` zeros: the spare one when it fits (what the background has not zeroed
   * yet is zeroed now), else a fresh one.
   * @param {number} n
   */
  takeLabels(n) {
    const spare = this.spareLabels;
    if (spare && spare.length === n) {
      this.spareLabels = null;
      if (this.spareZeroed < n) spare.fill(0, this.spareZeroed);
      return { labels: spare, zeroed: true };
    }
    return { labels: new Uint32Array(n), zeroed: true };
  }

  /** Hand back a channel array nobody shows any more. @param {PixelArray} data */
  retire(data) {
    if (this.spare.includes(data)) return;
    this.spare.push(data);
    if (this.spare.length > SPARE_ARRAYS) this.spare.shift();
  }

  /** @param {new (n: number) => PixelArray} ctor @param {number} n */
  take(ctor, n) {
    const i = this.spare.findIndex((a) => a instanceof ctor && a.length === n);
    return i >= 0 ? this.spare.splice(i, 1)[0] : new ctor(n);
  }

  /** Drop the pending transfer (its later bands and end marker are then ignored). */
  abandon() {
    // An abandoned transfer's arrays were never shown: reuse them.
    if (this.pending) for (const ch of this.pending.channels.values()) this.retire(ch.data);
    const labels = this.pending?.labels;
    this.pending = null;
    if (labels) this.retireLabels(labels);
  }

  /** Start a transfer from a "frame" header; returns the pending transfer. */
  begin(header) {
    const { height, width } = header;
    this.abandon();
    // Channels may come decimated by the preview step (matched to the zoom); labels never.
    const previewStep = header.preview_step || 1;
    const chanHeight = Math.ceil(height / previewStep);
    const chanWidth = Math.ceil(width / previewStep);
    const channels = new Map();
    const fresh = header.labels ? this.takeLabels(height * width) : null;
    for (const ch of header.channels) {
      const ctor = DTYPES[ch.dtype];
      if (!ctor) throw new Error(`unsupported channel dtype ${ch.dtype}`);
      /** @type {ChannelBand} */
      const band = { index: ch.index, dtype: ch.dtype, data: this.take(ctor, chanHeight * chanWidth) };
      if (Array.isArray(ch.quant)) {
        if (ch.dtype !== "uint8" || !(ch.quant[1] > ch.quant[0])) throw new Error(`quantized channel ${ch.index} must be uint8 with quant [lo, hi], lo < hi; got ${ch.dtype} ${JSON.stringify(ch.quant)}`);
        band.quant = [Number(ch.quant[0]), Number(ch.quant[1])];
        band.range = Array.isArray(ch.range) ? [Number(ch.range[0]), Number(ch.range[1])] : band.quant.slice();
        band.sourceDtype = String(ch.source_dtype || "uint16");
      }
      channels.set(ch.index, band);
    }
    this.pending = {
      xfer: header.xfer,
      frame: header.frame,
      population: header.population,
      partial: Boolean(header.partial),
      height,
      width,
      previewStep,
      chanWidth,
      channels,
      labels: fresh ? fresh.labels : null,
      labelsZeroed: fresh ? fresh.zeroed : false,
      maxLabel: header.max_label || 0,
      labelsFilled: 0,
      labelsNonzero: false,
    };
    return this.pending;
  }

  /** Add one band message; ignores bands of a transfer that is no longer pending. */
  band(msg, buffers) {
    const p = this.pending;
    if (!p || msg.xfer !== p.xfer) return false;
    if (msg.key === "labels") {
      if (!p.labels) throw new Error(`a labels band in transfer ${p.xfer}, whose header has labels=false`);
      if (msg.encoding === "rle") {
        // Values and lengths come as narrow as they fit (uint8/16/32; uint32 when not said).
        const values = decodeArray({ dtype: msg.values_dtype || "uint32", shape: [msg.runs] }, buffers[0]);
        const lengths = decodeArray({ dtype: msg.lengths_dtype || "uint32", shape: [msg.runs] }, buffers[1]);
        // RLE bands carry their start element (runs need not end on a row boundary).
        // A fresh buffer holds zeros: runs of 0 are skipped; a reused one gets every run written.
        decodeRuns(p.labels, msg.start, values, lengths, Boolean(p.labelsZeroed));
        if (!p.labelsNonzero) for (let i = 0; i < values.length && !p.labelsNonzero; i++) p.labelsNonzero = values[i] !== 0;
      } else {
        p.labelsNonzero = true;
        writeLabelBox(p.labels, p.width, [msg.row0, msg.row1, 0, p.width], msg.dtype, buffers[0]);
      }
    } else {
      const ch = p.channels.get(msg.channel);
      if (!ch) throw new Error(`band for unknown channel ${msg.channel}`);
      writeRows(ch.data, p.chanWidth, msg.row0, buffers[0]);
    }
    return true;
  }

  /** Finish a transfer; returns it when it matches the pending one, else null. */
  end(msg) {
    const p = this.pending;
    if (!p || msg.xfer !== p.xfer) return null;
    this.pending = null;
    return p;
  }
}
