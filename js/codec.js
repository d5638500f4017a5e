// @ts-check
// The browser's codec; segpaint/widgets/_wire.py is the kernel's. Each holds both directions:
//   kernel -> browser: "frame" + "band"s + "frame-end" (frame_assembler.js), "labels-patch"
//                      (writeLabelBox), "ack", "prefetch-drop" (prefetch.js);
//   browser -> kernel: "stroke" (encodeStroke), "request-frame", "request-full", "more",
//                      "prefetch", "prefetch-hit" (prefetch.js), "undo", "redo", "roi-add",
//                      "roi-change", "roi-remove", "export", "save", "presegment".
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

/**
 * The batch of a pulled transfer in flight: bands not received yet, when the last one came and
 * the gaps between them, and how many batches were asked for (see nextPullBatch).
 */
export class PullBatch {
  /** @param {number} outstanding bands on their way @param {number} [last] when the last came (-1: none) @param {number} [asked] */
  constructor(outstanding, last = -1, asked = 0) {
    this.outstanding = outstanding;
    this.last = last;
    this.gaps = 0;
    this.count = 0;
    this.asked = asked;
  }

  /**
   * A band arrived at `t` (ms): the bands to ask for next once the batch is in (0: not yet).
   * @param {number} t @param {number} max the kernel's largest batch
   */
  arrived(t, max) {
    if (this.last >= 0) {
      this.gaps += t - this.last;
      this.count++;
    }
    this.last = t;
    if (--this.outstanding > 0) return 0;
    const n = nextPullBatch(this.count ? this.gaps / this.count : null, max, this.asked);
    // The first band of the next batch comes a round trip later: not a gap.
    Object.assign(this, new PullBatch(n, -1, this.asked + 1));
    return n;
  }
}
