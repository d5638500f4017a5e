import { describe, expect, it } from "vitest";
import { decodeRuns, dequantize } from "../codec.js";
import { FrameAssembler } from "../frame_assembler.js";
import { buildLut, intensity, pack10 } from "../colors.js";
import { Renderer } from "../render.js";

// A 4x6 uint16 frame, its preview at step 2 (2x3) quantized under [lo, hi] the way
// segpaint.widgets._wire.quantize_channel does it, and the messages _wire.frame_messages sends.
const HEIGHT = 4;
const WIDTH = 6;
const FULL = Uint16Array.from([
  0, 100, 200, 300, 400, 500,
  600, 700, 800, 900, 1000, 1100,
  1200, 1300, 1400, 1500, 1600, 1700,
  1800, 1900, 2000, 2100, 2200, 65535,
]);
const QUANT = [100, 2100];
const preview = () => {
  const out = [];
  for (let r = 0; r < HEIGHT; r += 2) for (let c = 0; c < WIDTH; c += 2) out.push(FULL[r * WIDTH + c]);
  return out;
};
const quantized = () =>
  Uint8Array.from(preview(), (v) => Math.min(255, Math.max(0, Math.round(((v - QUANT[0]) * 255) / (QUANT[1] - QUANT[0])))));

/** The preview transfer as Python sends it: header, one band per channel, end. */
function previewMessages(xfer = 1) {
  return [
    [{ type: "frame", xfer, frame: 0, population: "cells", height: HEIGHT, width: WIDTH, preview_step: 2,
      channels: [{ index: 0, dtype: "uint8", source_dtype: "uint16", quant: QUANT, range: [0, 2200] }],
      labels: false, max_label: 0, partial: false }, []],
    [{ type: "band", xfer, key: "channel", channel: 0, row0: 0, row1: 2, dtype: "uint8" }, [new DataView(quantized().buffer)]],
    [{ type: "frame-end", xfer }, []],
  ];
}

/** Feed messages to the real assembler; returns the installed frame. */
function assemble(messages) {
  const a = new FrameAssembler();
  let done = null;
  for (const [msg, buffers] of messages) {
    if (msg.type === "frame") a.begin(msg);
    else if (msg.type === "band") a.band(msg, buffers);
    else done = a.end(msg);
  }
  return done;
}

/** A renderer at scale 1 showing one channel of `frame`. */
function show(frame, lo, hi, gamma = 1) {
  const r = new Renderer(null);
  r.setViewport(WIDTH, HEIGHT);
  r.setImageSize(HEIGHT, WIDTH);
  r.setView(1, 0, 0);
  const ch = frame.channels.get(0);
  r.setChannels([{ index: 0, dtype: ch.dtype, data: ch.data, quant: ch.quant, visible: true, rgb: [255, 255, 255], lo, hi, gamma }], frame.previewStep);
  r.setLabels(new Uint32Array(WIDTH * HEIGHT));
  r.redraw();
  return r;
}

describe("quantized preview channels", () => {
  it("the assembler keeps the samples, their contrast limits, true range and dtype", () => {
    const p = assemble(previewMessages());
    const ch = p.channels.get(0);
    expect(ch.dtype).toBe("uint8");
    expect(Array.from(ch.data)).toEqual(Array.from(quantized()));
    expect(ch.quant).toEqual(QUANT);
    expect(ch.range).toEqual([0, 2200]);
    expect(ch.sourceDtype).toBe("uint16");
    expect(dequantize(255, ch.quant)).toBe(2100);
    expect(dequantize(7, undefined)).toBe(7);
  });

  it("refuses a quantized channel that is not uint8 or has no range between its limits", () => {
    const [[header]] = previewMessages();
    const bad = { ...header, channels: [{ index: 0, dtype: "uint16", quant: QUANT }] };
    expect(() => new FrameAssembler().begin(bad)).toThrow(/must be uint8 with quant \[lo, hi\]/);
    const flat = { ...header, channels: [{ index: 0, dtype: "uint8", quant: [5, 5] }] };
    expect(() => new FrameAssembler().begin(flat)).toThrow(/got uint8 \[5,5\]/);
  });

  it("under the contrast it was made with, the preview looks like the lossless frame to 1 grey level", () => {
    const p = assemble(previewMessages());
    const r = show(p, QUANT[0], QUANT[1]);
    const lossless = new Renderer(null);
    lossless.setViewport(WIDTH, HEIGHT);
    lossless.setImageSize(HEIGHT, WIDTH);
    lossless.setView(1, 0, 0);
    lossless.setChannels([{ index: 0, dtype: "uint16", data: FULL, visible: true, rgb: [255, 255, 255], lo: QUANT[0], hi: QUANT[1], gamma: 1 }]);
    lossless.setLabels(new Uint32Array(WIDTH * HEIGHT));
    for (let row = 0; row < HEIGHT; row += 2) {
      for (let col = 0; col < WIDTH; col += 2) {
        const a = r.pixel(row, col)[0];
        const b = lossless.pixel(row, col)[0];
        expect(Math.abs(a - b)).toBeLessThanOrEqual(1);
      }
    }
  });

  it("a contrast or gamma change on the preview maps the values its samples stand for", () => {
    const p = assemble(previewMessages());
    const r = show(p, 600, 1600, 0.5);
    const ch = p.channels.get(0);
    for (let k = 0; k < ch.data.length; k++) {
      const row = Math.floor(k / 3) * 2;
      const col = (k % 3) * 2;
      const want = intensity(dequantize(ch.data[k], QUANT), 600, 1600, 0.5);
      expect(r.pixel(row, col)[0]).toBe(want);
      expect(r.screenPixel(col, row)[0]).toBe(want); // the canvas buffer holds the same
    }
    // Not a re-scaled sample: value 1300 (sample 153) under [600, 1600] is 70% grey, not 60%.
    expect(r.pixel(2, 2)[0]).toBe(intensity(dequantize(ch.data[4], QUANT), 600, 1600, 0.5));
  });

  it("a preview at a fractional step (display resolution): each pixel shows the sample of its cell", () => {
    // Python's _wire.decimate at step 2.5 keeps rows/columns ceil(j * 2.5) of the 4x6 frame: 0, 3, 5.
    const step = 2.5;
    const keep = (/** @type {number} */ n) => Array.from({ length: Math.ceil(n / step) }, (_, j) => Math.min(n - 1, Math.ceil(j * step)));
    const rows = keep(HEIGHT);
    const cols = keep(WIDTH);
    expect([rows, cols]).toEqual([[0, 3], [0, 3, 5]]);
    const samples = Uint16Array.from(rows.flatMap((r) => cols.map((c) => FULL[r * WIDTH + c])));
    const p = assemble([
      [{ type: "frame", xfer: 1, frame: 0, population: "cells", height: HEIGHT, width: WIDTH, preview_step: step,
        channels: [{ index: 0, dtype: "uint16" }], labels: false, max_label: 0, partial: false }, []],
      [{ type: "band", xfer: 1, key: "channel", channel: 0, row0: 0, row1: 2, dtype: "uint16" }, [new DataView(samples.buffer)]],
      [{ type: "frame-end", xfer: 1 }, []],
    ]);
    expect(p.channels.get(0).data.length).toBe(6);
    const r = show(p, 0, 2200);
    for (let row = 0; row < HEIGHT; row++) {
      for (let col = 0; col < WIDTH; col++) {
        const k = Math.floor(row / step) * cols.length + Math.floor(col / step);
        expect(r.pixel(row, col)[0]).toBe(intensity(samples[k], 0, 2200, 1));
        // the sample a pixel shows comes from inside that pixel's cell [j * step, (j + 1) * step)
        const [sr, sc] = [rows[Math.floor(row / step)], cols[Math.floor(col / step)]];
        expect(Math.floor(sr / step)).toBe(Math.floor(row / step));
        expect(Math.floor(sc / step)).toBe(Math.floor(col / step));
      }
    }
  });

  it("the uint16 LUT computed over the contrast window only equals the one computed everywhere", () => {
    for (const [lo, hi, gamma] of [[100, 300, 1], [1000.5, 1000.7, 2], [0, 65535, 0.5], [-50, 20, 1], [60000, 70000, 1], [5, 5, 1]]) {
      const lut = buildLut("uint16", lo, hi, gamma, [255, 128, 0]);
      for (const v of [0, 1, 99, 100, 101, 200, 299, 300, 301, 1000, 1001, 5, 6, 4, 20, 21, 59999, 60000, 65535]) {
        const i = intensity(v, lo, hi, gamma);
        expect(lut[v]).toBe(pack10((i * 255 + 127) / 255 | 0, (i * 128 + 127) / 255 | 0, 0));
      }
    }
  });

  it("run-length labels land bit-exact; zero runs are skipped only in a buffer known to be zeroed", () => {
    const values = Uint32Array.from([0, 4294967295, 0, 7]);
    const lengths = Uint32Array.from([5, 2, 3, 14]);
    const [[header]] = previewMessages(3);
    const a = new FrameAssembler();
    a.begin({ ...header, xfer: 3, labels: true, max_label: 4294967295 });
    a.band({ type: "band", xfer: 3, key: "labels", encoding: "rle", start: 0, runs: 4 }, [new DataView(values.buffer), new DataView(lengths.buffer)]);
    const p = a.end({ type: "frame-end", xfer: 3 });
    const want = [];
    values.forEach((v, i) => { for (let k = 0; k < lengths[i]; k++) want.push(v); });
    expect(Array.from(p.labels)).toEqual(want);
    const dirty = new Uint32Array(24).fill(9);
    expect(decodeRuns(dirty, 0, values, lengths)).toBe(24);
    expect(Array.from(dirty)).toEqual(want); // not known to be zeroed: every run written
  });
});

describe("channel arrays reused across transfers", () => {
  it("a retired array is reused for the next transfer of its size and every sample is rewritten", () => {
    const a = new FrameAssembler();
    const first = assemble(previewMessages(1));
    const old = first.channels.get(0).data;
    old.fill(77); // what a shown-and-replaced array holds: anything
    a.retire(old);
    a.retire(old); // twice: still one spare
    expect(a.spare.length).toBe(1);
    for (const [msg, buffers] of previewMessages(2)) {
      if (msg.type === "frame") a.begin(msg);
      else if (msg.type === "band") a.band(msg, buffers);
    }
    const p = a.end({ type: "frame-end", xfer: 2 });
    expect(p.channels.get(0).data).toBe(old);
    expect(Array.from(p.channels.get(0).data)).toEqual(Array.from(quantized()));
    expect(a.spare.length).toBe(0);
    // A transfer abandoned by the next header hands its arrays back; other sizes are not taken.
    a.begin({ ...previewMessages(3)[0][0], xfer: 3 });
    const abandoned = a.pending.channels.get(0).data;
    a.begin({ ...previewMessages(4)[0][0], xfer: 4, preview_step: 1, channels: [{ index: 0, dtype: "uint16" }] });
    expect(a.spare).toEqual([abandoned]);
    expect(a.pending.channels.get(0).data).not.toBe(abandoned);
  });
});
