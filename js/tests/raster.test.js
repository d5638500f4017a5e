import { describe, expect, it } from "vitest";
import { clearBox, diskSpans, extractMask, extractPatch, floodFill, Stroke, segmentCentres } from "../raster.js";

/** Reference: docs/architecture.md "Brush rasterisation", written as plainly as possible. */
function referenceMask(h, w, points, radius) {
  const centres = [];
  const round = (x) => Math.floor(x + 0.5);
  centres.push([round(points[0][0]), round(points[0][1])]);
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1];
    const b = points[i];
    const n = Math.max(Math.ceil(Math.abs(b[0] - a[0])), Math.ceil(Math.abs(b[1] - a[1])), 1);
    for (let k = 0; k <= n; k++) centres.push([round(a[0] + ((b[0] - a[0]) * k) / n), round(a[1] + ((b[1] - a[1]) * k) / n)]);
  }
  const mask = new Uint8Array(h * w);
  const k = Math.floor(radius);
  for (const [r, c] of centres) {
    for (let dr = -k; dr <= k; dr++) {
      for (let dc = -k; dc <= k; dc++) {
        if (dr * dr + dc * dc > radius * radius) continue;
        const rr = r + dr;
        const cc = c + dc;
        if (rr >= 0 && rr < h && cc >= 0 && cc < w) mask[rr * w + cc] = 1;
      }
    }
  }
  return mask;
}

function paint(h, w, points, radius, label = 7, extra = {}) {
  const labels = extra.labels || new Uint32Array(h * w);
  const touched = new Uint8Array(h * w);
  const s = new Stroke({ labels, touched, width: w, height: h, radius, label, ...extra });
  for (const p of points) s.moveTo(p);
  return { labels, stroke: s, patch: s.finish(), touched };
}

describe("disk footprint", () => {
  it("matches dr² + dc² <= r² (5 pixels at r = 1, 1 pixel at r = 0.5, 13 at r = 2)", () => {
    const count = (r) => {
      const { spans } = diskSpans(r);
      return Array.from(spans).reduce((a, w) => a + (w >= 0 ? 2 * w + 1 : 0), 0);
    };
    expect(count(0.5)).toBe(1);
    expect(count(1)).toBe(5);
    expect(count(2)).toBe(13);
    expect(count(1.5)).toBe(9);
    expect(() => diskSpans(0.2)).toThrow(/radius must be >= 0.5/);
  });

  it("steps one centre per pixel along a segment (same as stroke_centres in Python)", () => {
    const got = [];
    segmentCentres([0, 0], [0, 3], (r, c) => got.push([r, c]), true);
    expect(got).toEqual([[0, 0], [0, 1], [0, 2], [0, 3]]);
  });
});

describe("Stroke", () => {
  it("paints exactly the reference mask for random polylines and radii", () => {
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    for (let trial = 0; trial < 60; trial++) {
      const h = 40;
      const w = 50;
      const pts = Array.from({ length: 1 + Math.floor(rand() * 6) }, () => [rand() * 50 - 5, rand() * 60 - 5]);
      const radius = 0.5 + rand() * 6;
      const { labels } = paint(h, w, pts, radius);
      const ref = referenceMask(h, w, pts, radius);
      const got = Array.from(labels, (v) => (v === 7 ? 1 : 0));
      expect(got, `trial ${trial}`).toEqual(Array.from(ref));
    }
  });

  it("matches Python's stroke_mask doctest: one point, r = 1 -> bbox (4, 7, 4, 7), 5 pixels", () => {
    const { patch } = paint(10, 10, [[5, 5]], 1);
    expect(patch.bbox).toEqual([4, 7, 4, 7]);
    expect(patch.mask.reduce((a, b) => a + b, 0)).toBe(5);
    expect(Array.from(patch.values)).toEqual([0, 7, 0, 7, 7, 7, 0, 7, 0]);
  });

  it("returns values + mask of its box and clears the touched buffer", () => {
    const labels = new Uint32Array(100).fill(3);
    const { patch, touched } = paint(10, 10, [[2, 2], [2, 6]], 0.5, 9, { labels });
    expect(patch.bbox).toEqual([2, 3, 2, 7]);
    expect(Array.from(patch.values)).toEqual([9, 9, 9, 9, 9]);
    expect(Array.from(patch.mask)).toEqual([1, 1, 1, 1, 1]);
    expect(touched.every((v) => v === 0)).toBe(true);
    expect(labels[2 * 10 + 1]).toBe(3);
  });

  it("returns each step's dirty box in one reused array, and the stroke's box grows with it", () => {
    const labels = new Uint32Array(20 * 20);
    const s = new Stroke({ labels, touched: new Uint8Array(400), width: 20, height: 20, radius: 1, label: 2 });
    const first = s.lineTo(5, 5);
    expect(first).toEqual([4, 7, 4, 7]);
    const second = s.lineTo(5, 9); // centres (5, 6) .. (5, 9)
    expect(second).toBe(first); // the same array: a pointer move allocates no box
    expect(second).toEqual([4, 7, 5, 11]);
    expect(s.bbox).toEqual([4, 7, 4, 11]);
    expect(s.lineTo(-10, -10)).toEqual([0, 6, 1, 10]); // clipped to the frame
    expect(s.lineTo(-30, -30)).toBe(null); // nothing inside the frame: no box
    expect(s.bbox).toEqual([0, 7, 1, 11]);
    // lineTo and moveTo paint the same pixels as the reference disks along the polyline
    const pts = [[5, 5], [5, 9], [-10, -10], [-30, -30]];
    expect(Array.from(labels, (v) => (v ? 1 : 0))).toEqual(Array.from(referenceMask(20, 20, pts, 1)));
  });

  it("clips to ROIs when edits are locked", () => {
    const { labels, patch } = paint(10, 10, [[5, 0], [5, 9]], 0.5, 4, { clips: [[0, 10, 3, 5], [0, 10, 8, 9]] });
    const row = Array.from(labels.slice(50, 60));
    expect(row).toEqual([0, 0, 0, 4, 4, 0, 0, 0, 4, 0]);
    expect(patch.bbox).toEqual([5, 6, 3, 9]);
    expect(Array.from(patch.mask)).toEqual([1, 1, 0, 0, 0, 1]);
  });

  it("paints only background with preserve (brush over a neighbour keeps it)", () => {
    const labels = new Uint32Array(10);
    labels[4] = 2;
    paint(1, 10, [[0, 0], [0, 9]], 0.5, 5, { labels, preserve: true });
    expect(Array.from(labels)).toEqual([5, 5, 5, 5, 2, 5, 5, 5, 5, 5]);
  });

  it("reports nothing for a stroke entirely outside the image", () => {
    const { patch } = paint(10, 10, [[-20, -20], [-15, -30]], 2);
    expect(patch).toBe(null);
  });
});

describe("floodFill", () => {
  const W = 6;
  const H = 5;
  const grid = () =>
    Uint32Array.from([
      1, 1, 0, 0, 2, 2,
      1, 0, 0, 2, 2, 2,
      0, 0, 3, 0, 0, 0,
      0, 3, 3, 3, 0, 1,
      0, 0, 0, 0, 0, 1,
    ]);

  it("fills the 4-connected region of the seed value only", () => {
    const labels = grid();
    const touched = new Uint8Array(W * H);
    const box = floodFill(labels, touched, W, H, [2, 2], 8);
    expect(box).toEqual([2, 4, 1, 4]);
    expect(Array.from(labels)).toEqual([
      1, 1, 0, 0, 2, 2,
      1, 0, 0, 2, 2, 2,
      0, 0, 8, 0, 0, 0,
      0, 8, 8, 8, 0, 1,
      0, 0, 0, 0, 0, 1,
    ]);
    expect(touched.reduce((a, b) => a + b, 0)).toBe(4);
  });

  it("fill with 0 deletes a cell; diagonal contact does not leak", () => {
    const labels = grid();
    floodFill(labels, new Uint8Array(W * H), W, H, [0, 4], 0);
    expect(labels.filter((v) => v === 2).length).toBe(0);
    expect(labels.filter((v) => v === 1).length).toBe(5);
    // Background region touching (0,2) diagonally reaches (2,3) through 4-connected zeros only.
    const l2 = grid();
    floodFill(l2, new Uint8Array(W * H), W, H, [0, 2], 9);
    expect(l2[2 * W + 3]).toBe(9);
    expect(l2[0 * W + 0]).toBe(1);
  });

  it("does nothing when the seed already has the label or lies outside the clip", () => {
    const labels = grid();
    expect(floodFill(labels, new Uint8Array(W * H), W, H, [0, 0], 1)).toBe(null);
    expect(floodFill(labels, new Uint8Array(W * H), W, H, [0, 0], 5, [[3, 5, 0, 6]])).toBe(null);
    expect(Array.from(labels)).toEqual(Array.from(grid()));
  });

  it("stays inside the clip box", () => {
    const labels = new Uint32Array(W * H);
    floodFill(labels, new Uint8Array(W * H), W, H, [1, 1], 4, [[1, 3, 1, 4]]);
    expect(labels.filter((v) => v === 4).length).toBe(6);
    expect(labels[0]).toBe(0);
  });

  it("fills a 2048² frame with a big region without recursion", () => {
    const n = 2048;
    const labels = new Uint32Array(n * n);
    for (let r = 0; r < n; r += 2) labels.fill(1, r * n + 1, r * n + n); // a comb: one long winding path
    const box = floodFill(labels, new Uint8Array(n * n), n, n, [0, 0], 6);
    expect(box).toEqual([0, n, 0, n]);
    expect(labels.every((v) => v !== 0)).toBe(true);
  });
});

describe("extractMask", () => {
  it("is extractPatch's mask without the values, and the stroke's marks clear after it", () => {
    const w = 9;
    const labels = new Uint32Array(w * 7);
    const touched = new Uint8Array(w * 7);
    const s = new Stroke({ labels, touched, width: w, height: 7, radius: 1.5, label: 4 });
    s.lineTo(2, 1);
    s.lineTo(4, 6);
    const bbox = /** @type {number[]} */ (s.bbox);
    const got = extractMask(touched, w, bbox);
    const want = extractPatch(labels, touched, w, bbox);
    expect(got.bbox).toEqual(want.bbox);
    expect(got.bbox).not.toBe(bbox);
    expect(Array.from(got.mask)).toEqual(Array.from(want.mask));
    expect(got.mask.reduce((a, b) => a + b, 0)).toBe(s.changed);
    clearBox(touched, w, got.bbox);
    expect(touched.every((v) => v === 0)).toBe(true);
  });
});
