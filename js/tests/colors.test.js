import { describe, expect, it } from "vitest";
import {
  assignColors, buildLut, hashLabel, intensity, LabelColors, labelAdjacency, PALETTE, parseHex, percentileLimits,
} from "../colors.js";

describe("label colours", () => {
  it("finds touching neighbours and neighbours across a one-pixel gap", () => {
    const w = 7;
    const labels = Uint32Array.from([
      1, 1, 2, 0, 3, 0, 0,
      1, 1, 2, 0, 3, 0, 4,
      5, 0, 0, 0, 0, 0, 0,
      5, 0, 0, 0, 0, 0, 0,
    ]);
    const adj = labelAdjacency(labels, w, 4);
    expect([...adj.get(1)].sort()).toEqual([2, 5]);
    expect([...adj.get(2)].sort()).toEqual([1, 3]);
    expect([...adj.get(4)]).toEqual([3]); // across the one-pixel gap at column 5
    expect(adj.get(5).has(2)).toBe(false);
  });

  it("never gives two neighbours the same colour, even when their hashes collide", () => {
    // Find two labels whose hashed palette entries collide, put them side by side.
    const n = PALETTE.length;
    const a = 1;
    let b = 2;
    while (hashLabel(b) % n !== hashLabel(a) % n) b++;
    const labels = Uint32Array.from([a, a, b, b]);
    const colors = new LabelColors();
    colors.reset(labels, 4, 1);
    expect(colors.rgb(a)).not.toEqual(colors.rgb(b));
  });

  it("colours a dense grid of cells so every neighbour pair differs", () => {
    const w = 60;
    const h = 60;
    const labels = new Uint32Array(w * h);
    for (let r = 0; r < h; r++) for (let c = 0; c < w; c++) labels[r * w + c] = 1 + Math.floor(r / 5) * 12 + Math.floor(c / 5);
    const adj = labelAdjacency(labels, w, h);
    const assigned = assignColors(adj);
    for (const [l, ns] of adj) for (const m of ns) expect(assigned.get(l)).not.toBe(assigned.get(m));
  });

  it("recolours a freshly painted label that clashes with its neighbour", () => {
    const n = PALETTE.length;
    let b = 2;
    while (hashLabel(b) % n !== hashLabel(1) % n) b++;
    const labels = Uint32Array.from([1, 1, 0, 0]);
    const colors = new LabelColors();
    colors.reset(labels, 4, 1);
    labels[2] = b;
    colors.update(labels, 4, 1, [0, 1, 2, 3], [b]);
    expect(colors.rgb(b)).not.toEqual(colors.rgb(1));
  });
});

describe("channel LUTs", () => {
  it("applies contrast limits and gamma", () => {
    expect(intensity(10, 10, 20, 1)).toBe(0);
    expect(intensity(20, 10, 20, 1)).toBe(255);
    expect(intensity(15, 10, 20, 1)).toBe(128);
    expect(intensity(15, 10, 20, 2)).toBe(64);
    expect(intensity(1000, 10, 20, 1)).toBe(255);
  });

  it("packs colour contributions in 10-bit lanes (uint16 LUT has 65536 entries)", () => {
    const lut = buildLut("uint16", 0, 1000, 1, [255, 0, 128]);
    expect(lut.length).toBe(65536);
    const v = lut[1000];
    expect(v & 1023).toBe(255);
    expect((v >>> 10) & 1023).toBe(0);
    expect((v >>> 20) & 1023).toBe(128);
    expect(lut[0]).toBe(0);
    expect(buildLut("float32", 0, 1, 1, [1, 1, 1])).toBe(null);
  });

  it("parses #rrggbb and explains the expected form otherwise", () => {
    expect(parseHex("#ff8000")).toEqual([255, 128, 0]);
    expect(() => parseHex("red")).toThrow(/must look like "#rrggbb"; got "red"/);
  });

  it("computes percentile limits from a histogram (integers) or a sample (floats)", () => {
    const data = new Uint16Array(1000);
    for (let i = 0; i < 1000; i++) data[i] = i;
    expect(percentileLimits(data, "uint16", 1, 99)).toEqual([9, 989]);
    const f = Float32Array.from(data, (v) => v / 10);
    const [lo, hi] = percentileLimits(f, "float32", 1, 99);
    expect(lo).toBeCloseTo(1.0, 1);
    expect(hi).toBeCloseTo(98.9, 1);
    expect(percentileLimits(new Uint8Array(10).fill(5), "uint8")).toEqual([5, 6]);
  });
});
