import { describe, expect, it } from "vitest";
import { decodeArray, decodeRuns, encodeArray, itemsize, nextPullBatch, PULL_BATCH_MS, writeLabelBox, writeRows } from "../codec.js";
import { FrameAssembler, ZERO_STEP } from "../frame_assembler.js";

describe("decodeArray / encodeArray", () => {
  it("round-trips every wire dtype bit-exactly", () => {
    const cases = [
      new Uint8Array([0, 1, 255, 7, 8, 9]),
      new Uint16Array([0, 65535, 4095, 1, 2, 3]),
      new Uint32Array([0, 4294967295, 123456789, 1, 2, 3]),
      new Float32Array([0, -1.5, 3.25, Infinity, 1e-7, 2]),
    ];
    for (const a of cases) {
      const [header, buf] = encodeArray(a, [2, 3]);
      expect(header.shape).toEqual([2, 3]);
      const back = decodeArray(header, buf);
      expect(back.constructor).toBe(a.constructor);
      expect(Array.from(back)).toEqual(Array.from(a));
    }
  });

  it("copies unaligned buffers instead of failing (Jupyter hands out DataViews at any offset)", () => {
    const raw = new Uint8Array(1 + 4 * 3);
    const vals = new Uint32Array([7, 70000, 4294967295]);
    raw.set(new Uint8Array(vals.buffer), 1);
    const dv = new DataView(raw.buffer, 1, 12);
    const out = decodeArray({ dtype: "uint32", shape: [3] }, dv);
    expect(Array.from(out)).toEqual([7, 70000, 4294967295]);
  });

  it("rejects a buffer of the wrong size with the sizes in the message", () => {
    expect(() => decodeArray({ dtype: "uint16", shape: [4] }, new ArrayBuffer(6))).toThrow(/6 bytes .* needs 8/);
    expect(() => itemsize("int64")).toThrow(/unsupported dtype "int64"/);
  });
});

describe("row bands and labels", () => {
  it("writes row bands into a full frame", () => {
    const frame = new Uint16Array(4 * 3);
    writeRows(frame, 3, 1, new Uint16Array([1, 2, 3, 4, 5, 6]));
    expect(Array.from(frame)).toEqual([0, 0, 0, 1, 2, 3, 4, 5, 6, 0, 0, 0]);
    expect(() => writeRows(frame, 3, 3, new Uint16Array(6))).toThrow(/does not fit/);
  });

  it("widens uint8/uint16 label boxes into the uint32 buffer", () => {
    const labels = new Uint32Array(3 * 4).fill(9);
    writeLabelBox(labels, 4, [1, 3, 1, 3], "uint16", new Uint16Array([1, 2, 65535, 0]));
    expect(Array.from(labels)).toEqual([9, 9, 9, 9, 9, 1, 2, 9, 9, 65535, 0, 9]);
    writeLabelBox(labels, 4, [0, 1, 0, 4], "uint32", new Uint32Array([5, 6, 7, 4294967295]));
    expect(Array.from(labels.slice(0, 4))).toEqual([5, 6, 7, 4294967295]);
  });

  it("decodes run-length encoded labels", () => {
    const labels = new Uint32Array(8).fill(1);
    const n = decodeRuns(labels, 1, new Uint32Array([0, 3, 70000]), new Uint32Array([2, 1, 3]));
    expect(n).toBe(6);
    expect(Array.from(labels)).toEqual([1, 0, 0, 3, 70000, 70000, 70000, 1]);
  });
});

describe("FrameAssembler", () => {
  it("reassembles channels and labels from bands and ignores stale transfers", () => {
    const asm = new FrameAssembler();
    asm.begin({ xfer: 1, frame: 0, population: "p", height: 2, width: 2, channels: [{ index: 0, dtype: "uint8" }], labels: true });
    asm.begin({ xfer: 2, frame: 3, population: "p", height: 2, width: 3, channels: [{ index: 1, dtype: "uint16" }], labels: true });
    expect(asm.band({ xfer: 1, key: "channel", channel: 0, row0: 0, row1: 1 }, [new Uint8Array([1, 2])])).toBe(false);
    asm.band({ xfer: 2, key: "channel", channel: 1, row0: 0, row1: 1 }, [new Uint16Array([1, 2, 3])]);
    asm.band({ xfer: 2, key: "channel", channel: 1, row0: 1, row1: 2 }, [new Uint16Array([4, 5, 60000])]);
    asm.band({ xfer: 2, key: "labels", encoding: "rle", start: 0, runs: 2 }, [new Uint32Array([0, 8]), new Uint32Array([4, 2])]);
    expect(asm.end({ xfer: 1 })).toBe(null);
    const p = asm.end({ xfer: 2 });
    expect(p.frame).toBe(3);
    expect(Array.from(p.channels.get(1).data)).toEqual([1, 2, 3, 4, 5, 60000]);
    expect(Array.from(p.labels)).toEqual([0, 0, 0, 0, 8, 8]);
    expect(asm.end({ xfer: 2 })).toBe(null);
  });

  it("decodes run-length labels sent as narrow values and lengths", () => {
    const asm = new FrameAssembler();
    asm.begin({ xfer: 1, frame: 0, population: "p", height: 2, width: 3, channels: [], labels: true });
    asm.band({ xfer: 1, key: "labels", encoding: "rle", start: 0, runs: 3, values_dtype: "uint16", lengths_dtype: "uint8" },
      [new Uint16Array([0, 65535, 300]), new Uint8Array([1, 4, 1])]);
    expect(Array.from(asm.end({ xfer: 1 }).labels)).toEqual([0, 65535, 65535, 65535, 65535, 300]);
  });

  it("decodes the next frame's labels into the retired buffer, zero runs included", () => {
    const asm = new FrameAssembler();
    const header = { population: "p", height: 2, width: 3, channels: [], labels: true };
    const rle = (/** @type {number} */ xfer, /** @type {number[]} */ v, /** @type {number[]} */ n) =>
      asm.band({ xfer, key: "labels", encoding: "rle", start: 0, runs: v.length }, [new Uint32Array(v), new Uint32Array(n)]);
    asm.begin({ ...header, xfer: 1, frame: 0 });
    rle(1, [7, 9], [3, 3]);
    const first = asm.end({ xfer: 1 }).labels;
    expect(Array.from(first)).toEqual([7, 7, 7, 9, 9, 9]);
    asm.retireLabels(first);
    asm.begin({ ...header, xfer: 2, frame: 1 });
    rle(2, [0, 5, 0], [2, 1, 3]);
    const second = asm.end({ xfer: 2 });
    expect(second.labels).toBe(first); // no new buffer
    expect(Array.from(second.labels)).toEqual([0, 0, 5, 0, 0, 0]); // old labels gone
    // another size: a fresh buffer; an abandoned transfer's buffer is reused by the next one
    asm.begin({ ...header, xfer: 3, frame: 2, height: 1 });
    const abandoned = asm.pending.labels;
    expect(abandoned).not.toBe(first);
    asm.begin({ ...header, xfer: 4, frame: 3, height: 1 });
    expect(asm.pending.labels).toBe(abandoned);
  });
});

describe("label buffers and pulls between frames", () => {
  const header = (xfer) => ({ xfer, frame: 0, population: "cells", height: 4, width: 5, channels: [], labels: true, max_label: 9 });
  const rle = (asm, xfer, values, lengths) =>
    asm.band({ xfer, key: "labels", encoding: "rle", start: 0, runs: values.length }, [Uint32Array.from(values), Uint32Array.from(lengths)]);

  it("zeroes a retired label buffer in the background, so the next frame writes only its cells", async () => {
    const asm = new FrameAssembler();
    const old = new Uint32Array(20).fill(7);
    asm.retireLabels(old);
    await new Promise((r) => setTimeout(r, 10));
    expect(Array.from(old)).toEqual(new Array(20).fill(0)); // zeroed between tasks
    const p = asm.begin(header(1));
    expect(p.labels).toBe(old); // reused, known to be zero: runs of 0 are skipped
    expect(p.labelsZeroed).toBe(true);
    rle(asm, 1, [0, 9, 0], [6, 2, 12]);
    expect(Array.from(asm.end({ xfer: 1 }).labels)).toEqual([0, 0, 0, 0, 0, 0, 9, 9, ...new Array(12).fill(0)]);
    expect(p.labelsNonzero).toBe(true);
    expect(ZERO_STEP).toBeGreaterThan(0);
  });

  it("a buffer taken before the background got to it is zeroed then; an all-zero frame says so", () => {
    const asm = new FrameAssembler();
    const old = new Uint32Array(20).fill(3);
    asm.retireLabels(old);
    const p = asm.begin(header(2)); // at once: no task ran in between
    expect(p.labels).toBe(old);
    rle(asm, 2, [0], [20]);
    expect(Array.from(asm.end({ xfer: 2 }).labels)).toEqual(new Array(20).fill(0));
    expect(p.labelsNonzero).toBe(false);
    asm.dispose();
  });

  it("asks for as many pulled bands as come back to back in PULL_BATCH_MS, growing from one", () => {
    // The first requests of a pull stay small, whatever the rate: 1, 2, 4, 8, then the rate's.
    expect([0, 1, 2, 3, 4, 5].map((asked) => nextPullBatch(0, 16, asked))).toEqual([1, 2, 4, 8, 16, 16]);
    expect(nextPullBatch(null, 16, 5)).toBe(2); // one band, no gap seen: two, to measure one
    expect(nextPullBatch(PULL_BATCH_MS / 8, 16, 5)).toBe(8);
    expect(nextPullBatch(PULL_BATCH_MS * 3, 16, 5)).toBe(2); // a slow link: two in flight, as before
    expect(nextPullBatch(1, 1, 5)).toBe(1); // a kernel that sends one band per request
  });
});
