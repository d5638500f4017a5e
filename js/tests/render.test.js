import { describe, expect, it } from "vitest";
import { CONTEXT_OPTIONS, Renderer } from "../render.js";

/** A renderer showing the whole image at scale 1 (one screen pixel per image pixel). */
function make({ width = 4, height = 3, channels, labels, scale = 1 }) {
  const r = new Renderer(null);
  r.setViewport(width * scale, height * scale);
  r.setImageSize(height, width);
  r.setView(scale, 0, 0);
  r.setChannels(channels);
  r.setLabels(labels || new Uint32Array(width * height));
  r.redraw();
  return r;
}
const gray = (data, dtype = "uint8", lo = 0, hi = 255) => ({ index: 0, dtype, data, visible: true, rgb: [255, 255, 255], lo, hi, gamma: 1 });

describe("Renderer", () => {
  it("maps one uint16 channel through its contrast limits and colour", () => {
    const data = Uint16Array.from([0, 100, 200, 300, 400, 500, 0, 0, 0, 0, 0, 0]);
    const r = make({ channels: [{ index: 0, dtype: "uint16", data, visible: true, rgb: [0, 255, 0], lo: 100, hi: 300, gamma: 1 }] });
    expect(r.screenPixel(0, 0)).toEqual([0, 0, 0, 255]);
    expect(r.screenPixel(2, 0)).toEqual([0, 128, 0, 255]);
    expect(r.screenPixel(3, 0)).toEqual([0, 255, 0, 255]);
    expect(r.pixel(0, 2)).toEqual(r.screenPixel(2, 0));
  });

  it("adds channels and saturates at 255; hidden channels do not count", () => {
    const a = new Uint8Array(12).fill(200);
    const b = new Uint8Array(12).fill(200);
    const f = new Float32Array(12).fill(0.5);
    const r = make({
      channels: [
        { index: 0, dtype: "uint8", data: a, visible: true, rgb: [255, 0, 0], lo: 0, hi: 200, gamma: 1 },
        { index: 1, dtype: "uint8", data: b, visible: true, rgb: [255, 0, 255], lo: 0, hi: 200, gamma: 1 },
        { index: 2, dtype: "float32", data: f, visible: true, rgb: [0, 255, 0], lo: 0, hi: 1, gamma: 1 },
      ],
    });
    expect(r.screenPixel(1, 1)).toEqual([255, 128, 255, 255]);
    expect(r.setChannelDisplay(1, { lo: 0, hi: 200, gamma: 1, rgb: [255, 0, 255], visible: false })).toBe(true);
    r.redraw();
    expect(r.screenPixel(1, 1)).toEqual([255, 128, 0, 255]);
    expect(r.pixel(1, 1)).toEqual([255, 128, 0, 255]);
    // two integer channels take the two-channel fast path: same result as the general one
    r.setChannelDisplay(2, { lo: 0, hi: 1, gamma: 1, rgb: [0, 255, 0], visible: false });
    r.setChannelDisplay(1, { lo: 0, hi: 200, gamma: 1, rgb: [0, 0, 255], visible: true });
    r.redraw();
    expect(r.screenPixel(0, 0)).toEqual([255, 0, 255, 255]);
  });

  it("blends labels with the opacity; contour and selected-only hide interiors / others", () => {
    const labels = new Uint32Array(25).fill(3); // one 5x5 cell
    const r = make({ width: 5, height: 5, labels, channels: [gray(new Uint8Array(25))] });
    const [cr, cg, cb] = r.colors.rgb(3);
    r.opacity = 1;
    r.redraw();
    expect(r.screenPixel(2, 2)).toEqual([cr, cg, cb, 255]);
    r.contour = true;
    r.redraw();
    expect(r.screenPixel(2, 2)).toEqual([0, 0, 0, 255]);
    expect(r.screenPixel(2, 0)).toEqual([cr, cg, cb, 255]);
    expect(r.pixel(2, 2)).toEqual([0, 0, 0, 255]);
    r.contour = false;
    r.selectedOnly = true;
    r.selected = 4;
    r.redraw();
    expect(r.screenPixel(2, 2)).toEqual([0, 0, 0, 255]);
    r.opacity = 0.5;
    r.selected = 3;
    r.redraw();
    expect(r.screenPixel(2, 2)).toEqual([cr >> 1, cg >> 1, cb >> 1, 255]);
    expect(r.pixel(2, 2)).toEqual(r.screenPixel(2, 2));
  });

  it("zooms with nearest-neighbour lookup and paints the outside as background", () => {
    const data = Uint8Array.from([0, 255, 255, 0]);
    const r = new Renderer(null);
    r.setViewport(10, 10);
    r.setImageSize(2, 2);
    r.setView(4, 1, 1); // image spans screen [1, 9)
    r.setChannels([gray(data)]);
    r.setLabels(new Uint32Array(4));
    r.redraw();
    expect(r.screenPixel(0, 0)).toEqual([26, 26, 26, 255]);
    expect(r.screenPixel(1, 1)).toEqual([0, 0, 0, 255]);
    expect(r.screenPixel(5, 1)).toEqual([255, 255, 255, 255]);
    expect(r.screenPixel(8, 8)).toEqual([0, 0, 0, 255]);
    expect(r.screenPixel(9, 5)).toEqual([26, 26, 26, 255]);
  });

  it("a label edit recomputes only the screen rectangle of its box", () => {
    const w = 20;
    const labels = new Uint32Array(w * w);
    const r = make({ width: w, height: w, labels, channels: [gray(new Uint8Array(w * w))] });
    r.opacity = 1;
    labels[5 * w + 5] = 1;
    labels[15 * w + 15] = 1; // changed outside the box: stays unshown until its own update
    const draws = r.draws;
    r.updateBox([5, 6, 5, 6]);
    expect(r.screenPixel(5, 5)).not.toEqual([0, 0, 0, 255]);
    expect(r.screenPixel(15, 15)).toEqual([0, 0, 0, 255]);
    r.updateBox([15, 16, 15, 16]);
    expect(r.screenPixel(15, 15)).not.toEqual([0, 0, 0, 255]);
    expect(r.draws).toBe(draws); // dirty-rect updates are not full redraws
  });

  it("costs the viewport, not the image: a 4096² frame redraws like a small one", () => {
    const n = 4096;
    const data = new Uint16Array(n * n);
    for (let i = 0; i < n * n; i += 7) data[i] = i & 4095;
    const r = new Renderer(null);
    r.setViewport(600, 400);
    r.setImageSize(n, n);
    r.setView(400 / n, 100, 0);
    r.setChannels([{ index: 0, dtype: "uint16", data, visible: true, rgb: [255, 255, 255], lo: 0, hi: 4095, gamma: 1 }]);
    r.setLabels(new Uint32Array(n * n));
    for (let k = 0; k < 5; k++) r.redraw();
    expect(r.lastDrawMs).toBeLessThan(200); // generous: shared CI machines; the benchmark has figures
    // the screen pixel at (x, y) shows image pixel floor((x + 0.5 - tx) / s)
    const s = 400 / n;
    const col = Math.floor((300 + 0.5 - 100) / s);
    const row = Math.floor((200 + 0.5) / s);
    expect(r.screenPixel(300, 200)).toEqual(r.pixel(row, col));
  });

  it("a contrast change redraws from the gathered samples exactly like a full redraw, label edits and modes included", () => {
    // Two uint16 channels at a zoom that shows each image pixel 2x2 and some background.
    const w = 12;
    const h = 9;
    const a = new Uint16Array(w * h).map((_, i) => (i * 97) % 4000);
    const b = new Uint16Array(w * h).map((_, i) => (i * 31) % 4000);
    const labels = new Uint32Array(w * h);
    labels.fill(4, 2 * w, 4 * w);
    const chans = [
      { index: 0, dtype: "uint16", data: a, visible: true, rgb: [255, 0, 255], lo: 0, hi: 4000, gamma: 1 },
      { index: 1, dtype: "uint16", data: b, visible: true, rgb: [0, 255, 0], lo: 100, hi: 3000, gamma: 1 },
    ];
    const fresh = () => {
      const r = new Renderer(null);
      r.setViewport(30, 24);
      r.setImageSize(h, w);
      r.setView(2, 3, 1);
      r.setChannels(chans);
      r.setLabels(labels);
      r.opacity = 0.6;
      return r;
    };
    const r = fresh();
    r.redraw();
    const same = (settings) => {
      // The renderer under test took its shortcut; a fresh one with the same settings draws all.
      const ref = fresh();
      settings(ref);
      ref.redraw();
      for (let y = 0; y < 24; y++) for (let x = 0; x < 30; x++) expect(r.screenPixel(x, y)).toEqual(ref.screenPixel(x, y));
    };
    const contrast = (t) => t.setChannelDisplay(0, { lo: 500, hi: 1500, gamma: 0.7, rgb: [255, 0, 255], visible: true });
    contrast(r);
    const draws = r.draws;
    r.redrawChannels();
    expect(r.draws).toBe(draws + 1);
    same(contrast);
    // A label painted and drawn as a box, then a contrast change: the new label is on screen.
    labels[6 * w + 6] = 9;
    r.updateBox([6, 7, 6, 7]);
    const gamma = (t) => {
      contrast(t);
      t.setChannelDisplay(1, { lo: 0, hi: 2000, gamma: 2, rgb: [0, 255, 0], visible: true });
    };
    gamma(r);
    r.redrawChannels();
    same(gamma);
    // A hidden channel shown again and contour mode: no stale samples (a full redraw happens).
    const hide = (t) => {
      gamma(t);
      t.setChannelDisplay(1, { lo: 0, hi: 2000, gamma: 2, rgb: [0, 255, 0], visible: false });
    };
    hide(r);
    r.redrawChannels();
    same(hide);
    labels[7 * w + 2] = 5; // not drawn yet: shown by the full redraw that contour mode needs
    gamma(r);
    r.contour = true;
    r.redrawChannels();
    same((t) => {
      gamma(t);
      t.contour = true;
    });
    labels[7 * w + 2] = 0;
  });

  it("a contrast change recomputes only the screen rect of the image, once the background is drawn", () => {
    const w = 10;
    const h = 6;
    const data = new Uint16Array(w * h).map((_, i) => (i * 53) % 3000);
    const labels = new Uint32Array(w * h);
    labels.fill(7, 2 * w, 3 * w);
    labels.fill(8, 4 * w + 3, 4 * w + 6);
    const chan = () => [{ index: 0, dtype: "uint16", data, visible: true, rgb: [255, 255, 255], lo: 0, hi: 3000, gamma: 1 }];
    const r = new Renderer(null);
    r.setViewport(40, 20);
    r.setImageSize(h, w);
    r.setView(2, 5, 3); // the image covers screen rows 3..15 and columns 5..25
    r.setChannels(chan());
    r.setLabels(labels);
    r.selectedOnly = true;
    r.selected = 8;
    r.redraw();
    expect(r.imageRect).toEqual([3, 15, 5, 25]);
    const flushed = [];
    r.flush = (rect) => flushed.push(rect);
    const display = { lo: 200, hi: 1800, gamma: 0.8, rgb: [255, 128, 0], visible: true };
    r.setChannelDisplay(0, display);
    r.redrawChannels();
    expect(flushed).toEqual([[3, 15, 5, 25]]);
    const want = new Renderer(null);
    want.setViewport(40, 20);
    want.setImageSize(h, w);
    want.setView(2, 5, 3);
    want.setChannels(chan());
    want.setLabels(labels);
    want.selectedOnly = true;
    want.selected = 8;
    want.setChannelDisplay(0, display);
    want.redraw();
    expect(Array.from(r.out)).toEqual(Array.from(want.out));
    // The view moved and nothing drew it yet: the next contrast change draws the whole screen.
    r.setView(2, 0, 0);
    want.setView(2, 0, 0);
    flushed.length = 0;
    r.setChannelDisplay(0, { ...display, hi: 1500 });
    r.redrawChannels();
    expect(flushed).toEqual([[0, 20, 0, 40]]);
    want.setChannelDisplay(0, { ...display, hi: 1500 });
    want.redraw();
    expect(Array.from(r.out)).toEqual(Array.from(want.out));
    expect(r.screenPixel(39, 19)).toEqual([26, 26, 26, 255]); // background where the image was
  });
});

describe("Renderer canvas (covers the image's screen rect only)", () => {
  /** A canvas whose 2D context keeps the pixels put into it (as a browser's would). */
  function fakeCanvas() {
    const canvas = {
      width: 300, height: 150, style: /** @type {Record<string, string>} */ ({}), puts: /** @type {number[][]} */ ([]),
      pixels: new Map(),
      getContext: () => ctx,
    };
    const ctx = {
      putImageData(/** @type {any} */ img, /** @type {number} */ dx, /** @type {number} */ dy, x, y, w, h) {
        canvas.puts.push([dx, dy, x, y, w, h]);
        for (let yy = y; yy < y + h; yy++) for (let xx = x; xx < x + w; xx++) {
          const cx = xx + dx, cy = yy + dy;
          if (cx < 0 || cy < 0 || cx >= canvas.width || cy >= canvas.height) throw new Error(`put outside the canvas at ${cx},${cy}`);
          canvas.pixels.set(`${cx},${cy}`, Array.from(img.data.subarray(4 * (yy * img.width + xx), 4 * (yy * img.width + xx) + 4)));
        }
      },
    };
    return canvas;
  }
  const hadImageData = typeof globalThis.ImageData !== "undefined";
  if (!hadImageData) {
    globalThis.ImageData = /** @type {any} */ (class { constructor(data, w, h) { Object.assign(this, { data, width: w, height: h }); } });
  }

  it("is sized and placed over the image, and a brush step uploads only there", () => {
    const canvas = fakeCanvas();
    const r = new Renderer(/** @type {any} */ (canvas));
    // A 4 x 3 image at scale 2 in a 20 x 10 viewport, offset (tx, ty) = (5, 2): screen cols 5..13, rows 2..8.
    r.setViewport(20, 10);
    r.setImageSize(3, 4);
    r.setView(2, 5, 2);
    const data = Uint8Array.from([10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120]);
    r.setChannels([gray(data)]);
    const labels = new Uint32Array(12);
    r.setLabels(labels);
    r.redraw();
    expect([canvas.width, canvas.height, canvas.style.left, canvas.style.top]).toEqual([8, 6, "5px", "2px"]);
    // canvas pixel (0, 0) is screen (5, 2): image (0, 0); (7, 5) is screen (12, 7): image (2, 3)
    expect(canvas.pixels.get("0,0")).toEqual(r.screenPixel(5, 2));
    expect(canvas.pixels.get("7,5")).toEqual(r.screenPixel(12, 7));
    expect(r.screenPixel(12, 7)).toEqual([120, 120, 120, 255]);
    expect(r.screenPixel(1, 1)).toEqual([26, 26, 26, 255]); // the background, which the viewport's CSS shows
    expect(canvas.pixels.size).toBe(48); // nothing outside the image went to the canvas
    // A brush step on image pixel (1, 2): its box (and one pixel around it) is uploaded, inside the canvas.
    canvas.puts.length = 0;
    labels[1 * 4 + 2] = 7;
    r.updateBox([1, 2, 2, 3]);
    expect(canvas.puts.length).toBe(1);
    const [, , x, y, w, h] = canvas.puts[0];
    expect(x >= 5 && y >= 2 && x + w <= 13 && y + h <= 8).toBe(true);
    expect(canvas.pixels.get("4,2")).toEqual(r.screenPixel(9, 4)); // image (1, 2), now labelled
    expect(r.screenPixel(9, 4)).not.toEqual([70, 70, 70, 255]);
  });

  it("asks for a desynchronized 2D context (the canvas's frames skip the page's commit)", () => {
    const asked = /** @type {any[][]} */ ([]);
    const canvas = fakeCanvas();
    const ctx = canvas.getContext();
    canvas.getContext = (/** @type {any[]} */ ...args) => {
      asked.push(args);
      return ctx;
    };
    const r = new Renderer(/** @type {any} */ (canvas));
    r.setViewport(20, 10);
    expect(asked).toEqual([["2d", { desynchronized: true }]]);
    expect(r.ctx).toBe(ctx);
    expect(CONTEXT_OPTIONS).toEqual({ desynchronized: true });
  });

  it("follows the image when the view moves, and hides when it is off screen", () => {
    const canvas = fakeCanvas();
    const r = new Renderer(/** @type {any} */ (canvas));
    r.setViewport(20, 10);
    r.setImageSize(3, 4);
    r.setView(1, 0, 0);
    r.setChannels([gray(new Uint8Array(12).fill(50))]);
    r.setLabels(new Uint32Array(12));
    r.redraw();
    expect([canvas.width, canvas.height, canvas.style.left, canvas.style.top]).toEqual([4, 3, "0px", "0px"]);
    r.setView(1, 16, 7); // partly off the right and bottom edges: cols 16..19, rows 7..9
    r.redrawChannels();
    expect([canvas.width, canvas.height, canvas.style.left, canvas.style.top]).toEqual([4, 3, "16px", "7px"]);
    r.setView(1, 25, 0); // wholly off screen
    r.redraw();
    expect(canvas.style.display).toBe("none");
    r.setView(1, 1, 1);
    r.redraw();
    expect([canvas.style.display, canvas.style.left, canvas.style.top]).toEqual(["", "1px", "1px"]);
    expect(canvas.pixels.get("3,2")).toEqual([50, 50, 50, 255]);
  });
});
