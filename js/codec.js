// @ts-check
// The browser's codec; segpaint/widgets/_wire.py is the kernel's. Each holds both directions:
//   kernel -> browser: "frame" + "band"s + "frame-end" (FrameAssembler), "labels-patch"
//                      (writeLabelBox), "ack";
//   browser -> kernel: "stroke" (encodeStroke), "request-frame", "request-full", "more", "undo",
//                      "redo", "roi-add", "roi-change", "roi-remove", "export", "save", "presegment".
// An array travels as a small JSON header {dtype, shape} plus one raw little-endian buffer:
// never base64, never JSON lists. Large arrays travel as row bands that are reassembled here.
// Channels may be decimated by the transfer's preview step (`preview_step`); labels never are.
// A preview's channels may be quantized: uint8 samples under contrast limits `quant: [lo, hi]`
// (sample k stands for lo + k * (hi - lo) / 255, see `dequantize`), with the true `range`.

/** @typedef {Uint8Array | Uint16Array | Uint32Array | Int16Array | Int32Array | Float32Array | Float64Array} PixelArray */

/**
 * One channel of a transfer. A quantized one (a preview) has `quant`, `range` and `sourceDtype`.
 * @typedef {object} ChannelBand
 * @property {number} [index]
 * @property {string} dtype dtype of `data`
 * @property {PixelArray} data
 * @property {number[]} [quant] [lo, hi]: sample k stands for lo + k * (hi - lo) / 255
 * @property {number[]} [range] [min, max] of the channel's true values
 * @property {string} [sourceDtype] dtype of the channel's true values
 */

/**
 * The image value a sample stands for: itself, or for a quantized channel lo + k * (hi - lo) / 255.
 * @param {number} sample @param {number[] | undefined} quant
 */
export function dequantize(sample, quant) {
  return quant ? quant[0] + (sample * (quant[1] - quant[0])) / 255 : sample;
}

/**
 * A frame transfer being reassembled, then installed (see segpaint.widgets._wire.frame_messages).
 * @typedef {object} Frame
 * @property {number} xfer
 * @property {number} frame
 * @property {string | null} population
 * @property {boolean} partial
 * @property {number} height
 * @property {number} width
 * @property {number} previewStep channels are decimated by the preview step; labels never are
 * @property {number} chanWidth
 * @property {Map<number, ChannelBand>} channels
 * @property {Uint32Array | null} labels
 * @property {number} maxLabel
 * @property {number} labelsFilled
 * @property {boolean} [labelsNonzero] a band of this transfer wrote a non-zero label (or raw
 *   labels, not looked at); false: the frame holds no label at all
 * @property {boolean} [labelsZeroed] `labels` held zeros when the transfer began (a fresh
 *   buffer), so runs of 0 need not be written; false for a reused buffer
 */

/** Typed-array constructors for the dtypes that cross the wire. */
/** @type {Record<string, new (...args: any[]) => PixelArray> & {[k: string]: any}} */
export const DTYPES = {
  uint8: Uint8Array,
  uint16: Uint16Array,
  uint32: Uint32Array,
  int16: Int16Array,
  int32: Int32Array,
  float32: Float32Array,
  float64: Float64Array,
};

/** Bytes per element of a wire dtype. */
export function itemsize(dtype) {
  const ctor = DTYPES[dtype];
  if (!ctor) throw new Error(`unsupported dtype ${JSON.stringify(dtype)}; expected one of ${Object.keys(DTYPES).join(", ")}`);
  return ctor.BYTES_PER_ELEMENT;
}

/** View any buffer-like value (ArrayBuffer, DataView, typed array) as bytes, without copying. */
export function asBytes(buffer) {
  if (buffer instanceof Uint8Array) return buffer;
  if (buffer instanceof ArrayBuffer) return new Uint8Array(buffer);
  if (ArrayBuffer.isView(buffer)) return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  throw new TypeError("expected an ArrayBuffer, DataView or typed array");
}

/**
 * Decode {dtype, shape} + buffer into a typed array of that dtype.
 * Copies only when the buffer is not aligned for the dtype (Jupyter may hand out unaligned views).
 */
export function decodeArray(header, buffer) {
  const ctor = DTYPES[header.dtype];
  if (!ctor) throw new Error(`unsupported dtype ${JSON.stringify(header.dtype)}`);
  const bytes = asBytes(buffer);
  const n = header.shape.reduce((a, b) => a * b, 1);
  if (bytes.byteLength !== n * ctor.BYTES_PER_ELEMENT) {
    throw new Error(`buffer holds ${bytes.byteLength} bytes but ${header.dtype}${JSON.stringify(header.shape)} needs ${n * ctor.BYTES_PER_ELEMENT}`);
  }
  if (bytes.byteOffset % ctor.BYTES_PER_ELEMENT === 0) {
    return new ctor(bytes.buffer, bytes.byteOffset, n);
  }
  const out = new ctor(n);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

/** Encode a typed array as [{dtype, shape}, ArrayBuffer] (the buffer covers exactly the data). */
export function encodeArray(data, shape) {
  const dtype = Object.keys(DTYPES).find((k) => data instanceof DTYPES[k]);
  if (!dtype) throw new TypeError("expected a typed array");
  const n = shape.reduce((a, b) => a * b, 1);
  if (n !== data.length) throw new Error(`shape ${JSON.stringify(shape)} does not match ${data.length} elements`);
  const buf = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength ? data.buffer : data.slice().buffer;
  return [{ dtype, shape }, buf];
}

/**
 * Copy a band of rows (raw bytes of `dtype`) into a full-size typed array `target` of width `width`.
 * Works for any alignment because it copies bytes.
 */
export function writeRows(target, width, row0, buffer) {
  const bytes = asBytes(buffer);
  const start = row0 * width * target.BYTES_PER_ELEMENT;
  if (start + bytes.byteLength > target.byteLength) throw new Error("band does not fit in the frame");
  new Uint8Array(target.buffer, target.byteOffset + start, bytes.byteLength).set(bytes);
}

/**
 * Widen a band of labels sent as uint8/uint16/uint32 into a Uint32Array label buffer.
 * `bbox` is [row0, row1, col0, col1] inside a frame of `width` columns.
 */
export function writeLabelBox(labels, width, bbox, dtype, buffer) {
  const [r0, r1, c0, c1] = bbox;
  const w = c1 - c0;
  const src = decodeArray({ dtype, shape: [r1 - r0, w] }, buffer);
  if (c0 === 0 && w === width && dtype === "uint32") {
    labels.set(src, r0 * width);
    return;
  }
  for (let r = r0; r < r1; r++) {
    const off = (r - r0) * w;
    const dst = r * width + c0;
    for (let c = 0; c < w; c++) labels[dst + c] = src[off + c];
  }
}

/**
 * Decode a run-length encoded label image: `values[i]` repeated `lengths[i]` times, in C order.
 * Writes into `labels` starting at element `start`; returns the number of elements covered.
 * `zeroed`: `labels` is known to hold zeros there (a fresh buffer): runs of 0 are skipped, so
 * the background of a 4096² frame never touches its 64 MB (the pages stay unmapped zeros).
 * @param {Uint32Array} labels @param {number} start @param {ArrayLike<number>} values
 * @param {ArrayLike<number>} lengths @param {boolean} [zeroed]
 */
export function decodeRuns(labels, start, values, lengths, zeroed = false) {
  let pos = start;
  for (let i = 0; i < values.length; i++) {
    const n = lengths[i];
    const v = values[i];
    if (v !== 0 || !zeroed) labels.fill(v, pos, pos + n);
    pos += n;
  }
  return pos - start;
}

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

/**
 * Pack `count` bytes of a 0/1 mask from `start` into bits, least significant bit first.
 * @param {Uint8Array} mask @param {number} start @param {number} count
 */
export function packBits(mask, start, count) {
  const out = new Uint8Array((count + 7) >> 3);
  for (let i = 0; i < count; i++) if (mask[start + i]) out[i >> 3] |= 1 << (i & 7);
  return out;
}

/**
 * The "stroke" messages of one edit, in row bands of at most `chunkBytes` (usually one part).
 * With `label` (brush, eraser, fill: one label under the mask) a "mask" stroke: the mask
 * bit-packed, 1 bit per pixel of the box. With `values` a "values" stroke: uint32 values and a
 * uint8 mask. Mirror of segpaint.widgets._wire.stroke_messages.
 * @param {{stroke: number, population: string | null, frame: number | null, bbox: number[],
 *   mask: Uint8Array, label?: number, values?: Uint32Array}} edit
 * @param {number} chunkBytes
 * @returns {[Record<string, any>, ArrayBuffer[]][]}
 */
export function encodeStroke(edit, chunkBytes) {
  const [r0, r1, c0, c1] = edit.bbox;
  const w = c1 - c0;
  const values = edit.values;
  const rowsPerPart = values ? Math.max(1, Math.floor(chunkBytes / (w * 5))) : Math.max(1, Math.floor((chunkBytes * 8) / w));
  const parts = Math.ceil((r1 - r0) / rowsPerPart);
  /** @type {[Record<string, any>, ArrayBuffer[]][]} */
  const out = [];
  for (let k = 0; k < parts; k++) {
    const a = r0 + k * rowsPerPart;
    const b = Math.min(r1, a + rowsPerPart);
    const content = { type: "stroke", stroke: edit.stroke, part: k, parts, population: edit.population, frame: edit.frame, bbox: [r0, r1, c0, c1], rows: [a, b] };
    const start = (a - r0) * w;
    const n = (b - a) * w;
    if (values) {
      out.push([{ ...content, encoding: "values" }, [values.slice(start, start + n).buffer, edit.mask.slice(start, start + n).buffer]]);
    } else {
      out.push([{ ...content, encoding: "mask", label: (edit.label ?? 0) >>> 0 }, [packBits(edit.mask, start, n).buffer]]);
    }
  }
  return out;
}

/**
 * A "more" request asks for as many bands as arrive in about this long (ms), back to back: what
 * a frame change may wait behind. The round trip of a request is not counted (nothing queues
 * behind it), so on loopback, where it is most of what a band costs, a 2048² x 2 pull takes a
 * handful of requests, not 33. Each request is a kernel busy/idle pair, which JupyterLab answers
 * by re-rendering its toolbar (layout included): 33 of them cost the page more than the frame.
 */
export const PULL_BATCH_MS = 40;

/**
 * Bands to ask for next, from the time between bands arriving back to back in the last batch
 * (`gapMs`; null when it had one band): PULL_BATCH_MS of them, at most `max` (the `limits`
 * trait; 1 for a kernel that takes one per request) and at most 2^`asked` after `asked`
 * requests, so a pull that a frame change cuts short (scrubbing) never had more than a band or
 * two on its way, and a pull left alone grows to full batches after a few requests.
 * @param {number | null} gapMs @param {number} max @param {number} asked
 */
export function nextPullBatch(gapMs, max, asked) {
  const cap = Math.max(1, Math.min(max, 2 ** asked));
  const n = gapMs === null ? 2 : Math.floor(PULL_BATCH_MS / Math.max(gapMs, 0.5));
  return Math.max(Math.min(2, cap), Math.min(cap, n));
}
