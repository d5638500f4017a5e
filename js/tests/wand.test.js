// The wand's ordered flood (js/wand.js) and its preview (js/wand_overlay.js): at every tolerance
// of a drag, widening or narrowing, in one go or a few pixels at a time, the region is exactly the
// pixels a plain flood of the rule takes (|v - v(seed)| <= tolerance, 4-connected, inside the clip);
// the preview's mask and its screen pixels are exactly that region. (tests/test_widget_assist.py
// checks the same floods against segpaint.ops.wand_mask in Python.)
import { afterEach, describe, expect, it, vi } from "vitest";
import { Wand } from "../wand.js";
import { WandOverlay, WandView, WAND_COLOUR } from "../wand_overlay.js";

/** A seeded generator in [0, 1). @param {number} seed */
function rng(seed) {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
}

/** The rule, written plainly: normalised intensity, then a breadth-first flood. */
function reference(channels, limits, width, height, seed, tol, clip = null) {
  const n = width * height;
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let sum = 0;
    channels.forEach((ch, c) => (sum += Math.min(Math.max((ch[i] - limits[c][0]) / (limits[c][1] - limits[c][0]), 0), 1)));
    v[i] = channels.length > 1 ? sum / channels.length : sum;
  }
  const [r0, r1, c0, c1] = clip ?? [0, height, 0, width];
  const sr = Math.floor(seed[0] + 0.5);
  const sc = Math.floor(seed[1] + 0.5);
  const vs = v[sr * width + sc];
  const inside = new Uint8Array(n);
  if (!(Math.abs(vs - vs) <= tol)) return inside;
  const queue = [sr * width + sc];
  inside[queue[0]] = 1;
  while (queue.length) {
    const p = queue.pop();
    const r = Math.floor(p / width), c = p % width;
    for (const [nr, nc] of [[r - 1, c], [r + 1, c], [r, c - 1], [r, c + 1]]) {
      if (nr < r0 || nr >= r1 || nc < c0 || nc >= c1) continue;
      const j = nr * width + nc;
      if (!inside[j] && Math.abs(v[j] - vs) <= tol) {
        inside[j] = 1;
        queue.push(j);
      }
    }
  }
  return inside;
}

/** order[0:count) as a 0/1 image. */
function prefix(wand, count) {
  const out = new Uint8Array(wand.width * wand.height);
  for (let k = 0; k < count; k++) out[wand.order[k]] = 1;
  return out;
}

/** A noisy image: bright discs on a dim background, a ramp, some plateaus (equal values). */
function image(width, height, seed, dtype = Uint16Array) {
  const rand = rng(seed);
  const a = new dtype(width * height);
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) {
      let x = 200 + rand() * 80 + c * 2;
      if ((r - height / 2) ** 2 + (c - width / 3) ** 2 < 80) x += 600;
      if (r < 6 && c < 10) x = 300; // a plateau
      a[r * width + c] = x;
    }
  }
  return a;
}

const sum = (a) => a.reduce((s, x) => s + x, 0);

describe("the ordered flood", { timeout: 60_000 }, () => {
  const W = 53, H = 41;
  const chans = [image(W, H, 1), image(W, H, 2, Float32Array)];
  const limits = [[150, 1100], [180.5, 900.25]];

  it("gives the plain flood's pixels at each tolerance of a drag, widening and narrowing, with and without a clip", () => {
    const wand = new Wand(chans, limits, W, H);
    const scan = new Wand(chans, limits, W, H);
    scan.finishMax = 0; // its commits take the scanline flood
    const rand = rng(9);
    for (const clip of [null, [5, 30, 8, 50]]) {
      for (const seed of [[20.4, 17.6], [6, 9], [10, 40]]) {
        for (const tol of [0, 0.01, 0.03, 0.08, 0.05, 0.2, 0.12, 1, 0.3, 0, rand()]) {
          const got = wand.reach(seed, tol, clip);
          expect(got.exact).toBe(true);
          const want = reference(chans, limits, W, H, seed, tol, clip);
          expect(got.count).toBe(sum(want));
          expect(prefix(wand, got.count)).toEqual(want);
          // the committed mask, from the ordered flood (exact here) and from the scanline flood
          for (const m of [wand.mask(seed, tol, clip), scan.mask(seed, tol, clip)]) {
            const [r0, r1, c0, c1] = m.bbox;
            const img = new Uint8Array(W * H);
            for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) img[r * W + c] = m.mask[(r - r0) * (c1 - c0) + (c - c0)];
            expect(img).toEqual(want);
            expect(m.count).toBe(got.count);
            // the box is tight: its first and last rows and columns hold region pixels
            expect([m.mask.subarray(0, c1 - c0), m.mask.subarray(m.mask.length - (c1 - c0))].every((a) => a.includes(1))).toBe(true);
            expect([0, c1 - c0 - 1].every((c) => m.mask.some((x, k) => x && k % (c1 - c0) === c))).toBe(true);
          }
        }
      }
    }
  });

  it("narrowing takes no new pixel: the region is a shorter prefix of the order", () => {
    const wand = new Wand(chans, limits, W, H);
    wand.reach([30, 45], 0.4);
    const done = wand.done;
    for (const tol of [0.3, 0.1, 0.02, 0]) {
      const got = wand.reach([30, 45], tol);
      expect(wand.done).toBe(done);
      expect(prefix(wand, got.count)).toEqual(reference(chans, limits, W, H, [30, 45], tol));
    }
  });

  it("a flood stopped by its budget goes on where it stopped and ends with the same pixels", () => {
    const wand = new Wand(chans, limits, W, H);
    let tol = 0.02;
    let grew = 0;
    const want = (t) => reference(chans, limits, W, H, [30, 45], t);
    for (const step of [7, 1, 50, 3]) {
      tol += 0.02;
      const before = wand.done;
      let got = wand.reach([30, 45], tol, null, { maxPixels: step });
      let calls = 1;
      while (!got.exact) {
        // what is shown meanwhile is a part of the region, never a pixel outside it
        const part = prefix(wand, got.count);
        const full = want(tol);
        expect(part.every((x, i) => x <= full[i])).toBe(true);
        got = wand.reach([30, 45], tol, null, { maxPixels: step });
        calls++;
      }
      // each call took `step` pixels, the last one the rest
      expect(calls).toBe(Math.max(1, Math.ceil((got.count - before) / step)));
      expect(prefix(wand, got.count)).toEqual(want(tol));
      grew += calls > 1 ? 1 : 0;
    }
    expect(grew).toBeGreaterThan(2);
  });

  it("a deadline already past still moves on (a few thousand pixels a call) through a large plateau", () => {
    const big = 160;
    const flat = new Uint8Array(big * big).fill(77);
    for (let i = 0; i < flat.length; i += 97) flat[i] = 80; // a few pixels just off the plateau
    const wand = new Wand([flat], [[0, 255]], big, big);
    let got = wand.reach([80, 80], 0.5, null, { deadline: 0 });
    let calls = 1;
    while (!got.exact) {
      got = wand.reach([80, 80], 0.5, null, { deadline: 0 });
      calls++;
    }
    expect(calls).toBeGreaterThan(2);
    expect(got.count).toBe(big * big);
    expect(wand.reach([80, 80], 0).count).toBe(sum(reference([flat], [[0, 255]], big, big, [80, 80], 0)));
  });

  it("narrowing while a long bucket is half loaded gives the narrower region, not what the wider one took", () => {
    // a comb: column 0 and the even rows at 0 (the seed's), one even-row pixel at 25 (cost ~0.1),
    // the odd rows at 77 (cost ~0.3): the comb's 20k neighbours all fall in one bucket
    const S = 200;
    const comb = new Uint8Array(S * S).map((_, i) => (Math.floor(i / S) % 2 === 0 || i % S === 0 ? 0 : 77));
    comb[2 * S + 100] = 25;
    const wand = new Wand([comb], [[0, 255]], S, S);
    let got = wand.reach([0, 0], 0.31, null, { deadline: 0 });
    for (let k = 0; k < 500 && !(wand.head[wand.bucket] >= 0); k++) got = wand.reach([0, 0], 0.31, null, { deadline: 0 });
    expect(got.exact).toBe(false);
    expect(wand.head[wand.bucket]).toBeGreaterThanOrEqual(0); // loading that bucket, a few thousand a call
    expect(wand.done).toBe(sum(reference([comb], [[0, 255]], S, S, [0, 0], 0.2))); // the 25 is taken
    for (const tol of [0.05, 0]) {
      got = wand.reach([0, 0], tol, null, { deadline: 0 });
      expect(got.exact).toBe(true);
      expect(prefix(wand, got.count)).toEqual(reference([comb], [[0, 255]], S, S, [0, 0], tol));
    }
    while (!(got = wand.reach([0, 0], 0.31, null, { deadline: 0 })).exact);
    expect(got.count).toBe(S * S);
  });

  it("NaN pixels are never inside, a NaN seed gives nothing, and 300 presses (stamp wrap) stay exact", () => {
    const f = Float32Array.from(image(W, H, 4), (x, i) => (i % 11 === 0 ? NaN : x));
    const wand = new Wand([f], [[150, 1100]], W, H);
    expect(wand.reach([0, 0], 1)).toEqual({ count: 0, exact: true }); // pixel 0 is NaN
    expect(wand.mask([0, 0], 1)).toEqual({ bbox: [0, 1, 0, 1], mask: new Uint8Array(1), count: 0 });
    const rand = rng(3);
    for (let k = 0; k < 300; k++) {
      const seed = [Math.floor(rand() * H), Math.floor(rand() * W)];
      const tol = rand() * 0.2;
      const got = wand.reach(seed, tol);
      if (k % 25 === 0 || k > 250) expect(prefix(wand, got.count)).toEqual(reference([f], [[150, 1100]], W, H, seed, tol));
    }
  });

  it("returns null for a seed outside the clip", () => {
    const wand = new Wand(chans, limits, W, H);
    expect(wand.reach([2, 2], 0.1, [5, 30, 8, 50])).toBe(null);
    expect(wand.mask([2, 2], 0.1, [5, 30, 8, 50])).toBe(null);
  });
});

describe("the preview", { timeout: 60_000 }, () => {
  const W = 40, H = 30;
  const chans = [image(W, H, 5)];
  const limits = [[150, 1100]];

  it("keeps its mask equal to the shown prefix while the count goes up and down, a bounded number of pixels at a time", () => {
    const wand = new Wand(chans, limits, W, H);
    const ov = new WandOverlay(W, H);
    for (const tol of [0.05, 0.3, 0.29, 1, 0.01, 0.2]) {
      const got = wand.reach([15, 13], tol);
      let shown = ov.show(wand, got.count, 37);
      while (!shown.done) shown = ov.show(wand, got.count, 37);
      expect(ov.on).toEqual(reference(chans, limits, W, H, [15, 13], tol));
    }
    ov.clear();
    expect(sum(ov.on)).toBe(0);
    expect(ov.box).toBe(null);
  });

  it("paints the screen pixels whose image pixel is in the region (zoomed in and out)", () => {
    const wand = new Wand(chans, limits, W, H);
    const ov = new WandOverlay(W, H);
    const got = wand.reach([15, 13], 0.2);
    ov.show(wand, got.count);
    for (const view of [{ scale: 1, tx: 0, ty: 0 }, { scale: 2.5, tx: -7, ty: 3 }, { scale: 0.5, tx: 4, ty: 0 }]) {
      const w = 64, h = 48;
      const px = new Uint32Array(w * h).fill(123);
      ov.paint(px, w, h, view, [0, w, 0, h], WAND_COLOUR);
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const r = Math.floor((y + 0.5 - view.ty) / view.scale), c = Math.floor((x + 0.5 - view.tx) / view.scale);
          const inside = r >= 0 && r < H && c >= 0 && c < W && ov.on[r * W + c] === 1;
          expect(px[y * w + x]).toBe(inside ? WAND_COLOUR : 0);
        }
      }
      expect(WandOverlay.onScreen([0, H, 0, W], view, w, h)).not.toBe(null);
    }
  });

  it("the view's canvas holds exactly the region's screen pixels through shows, clears and view changes, painting only what changed", () => {
    // a stand-in canvas: putImageData copies the dirty rectangle into `pixels`
    const w = 50, h = 40;
    const screen = new Uint32Array(w * h);
    const puts = [];
    class FakeImageData {
      constructor(width, height) {
        this.width = width;
        this.height = height;
        this.data = new Uint8ClampedArray(width * height * 4);
      }
    }
    const ctx2d = {
      putImageData(img, _x, _y, dx, dy, dw, dh) {
        puts.push(dw * dh);
        const src = new Uint32Array(img.data.buffer);
        for (let y = dy; y < dy + dh; y++) for (let x = dx; x < dx + dw; x++) screen[y * w + x] = src[y * w + x];
      },
    };
    vi.stubGlobal("ImageData", FakeImageData);
    vi.stubGlobal("document", { createElement: () => ({ getContext: () => ctx2d }) });
    const overlayCtx = { drawImage: vi.fn(), imageSmoothingEnabled: true };
    const wand = new Wand(chans, limits, W, H);
    const wv = new WandView(W, H);
    const check = (view) => {
      const want = new Uint32Array(w * h);
      wv.overlay.paint(want, w, h, view, [0, w, 0, h], WAND_COLOUR);
      expect(screen).toEqual(want);
    };
    const views = [{ scale: 1, tx: 3, ty: 2 }, { scale: 1, tx: 3, ty: 2 }, { scale: 2, tx: -10, ty: -5 }, { scale: 0.7, tx: 0, ty: 0 }];
    const tols = [0.02, 0.3, 0.1, 0.5, 0.05];
    views.forEach((view, k) => {
      for (const tol of tols) {
        wv.show(wand, wand.reach([15, 13], tol).count);
        puts.length = 0;
        wv.draw(overlayCtx, view, { w, h });
        check(view);
      }
      if (k === 1) {
        // same view: a small change repaints a small rectangle, no change repaints nothing
        wv.show(wand, wand.reach([15, 13], 0.05).count);
        puts.length = 0;
        wv.draw(overlayCtx, view, { w, h });
        expect(puts).toEqual([]);
      }
      wv.clear();
      wv.draw(overlayCtx, view, { w, h });
      expect(screen.every((x) => x === 0)).toBe(true);
    });
    expect(overlayCtx.drawImage).toHaveBeenCalled();
  });
});

afterEach(() => {
  vi.unstubAllGlobals();
});
