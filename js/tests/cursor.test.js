import { afterEach, describe, expect, it, vi } from "vitest";
import { brushCursorCss } from "../editor.js";

/** A canvas whose 2D context records the outline drawn and whose PNG names it. */
function fakeCanvas() {
  const calls = /** @type {any[]} */ ([]);
  const ctx = {
    scale: (/** @type {number} */ x, /** @type {number} */ y) => calls.push(["scale", x, y]),
    beginPath: () => calls.push(["beginPath"]),
    arc: (/** @type {number[]} */ ...a) => calls.push(["arc", ...a]),
    stroke: () => calls.push(["stroke", ctx.strokeStyle, ctx.lineWidth]),
    strokeStyle: "", lineWidth: 0,
  };
  const canvas = {
    width: 0, height: 0, calls,
    getContext: () => ctx,
    toDataURL: (/** @type {string} */ type) => `data:${type};base64,CIRCLE${canvas.width}`,
  };
  return canvas;
}

describe("brushCursorCss", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("is a PNG of the outline drawn once, hot spot at its centre (no SVG to rasterise at each move)", () => {
    vi.stubGlobal("devicePixelRatio", 1);
    const canvas = fakeCanvas();
    const css = brushCursorCss(15, 6.5, "#ffffff", () => /** @type {any} */ (canvas));
    expect(css).toBe('url("data:image/png;base64,CIRCLE15") 8 8, crosshair');
    expect(css).not.toContain("svg");
    expect([canvas.width, canvas.height]).toEqual([15, 15]);
    expect(canvas.calls).toEqual([["scale", 1, 1], ["beginPath"], ["arc", 7.5, 7.5, 6.5, 0, 2 * Math.PI], ["stroke", "#ffffff", 1]]);
  });

  it("is drawn at the screen's pixel ratio and declared as such (sharp on HiDPI screens)", () => {
    vi.stubGlobal("devicePixelRatio", 2);
    vi.stubGlobal("CSS", { supports: () => true });
    const canvas = fakeCanvas();
    const css = brushCursorCss(10, 4, "#ff6060", () => /** @type {any} */ (canvas));
    expect(css).toBe('image-set(url("data:image/png;base64,CIRCLE20") 2x) 5 5, crosshair');
    expect(canvas.calls[0]).toEqual(["scale", 2, 2]);
    expect(canvas.calls[3]).toEqual(["stroke", "#ff6060", 1]);
  });

  it("falls back to SVG without a 2D canvas, or where the browser takes no image-set cursor", () => {
    const svg = brushCursorCss(10, 4, "#ffffff", () => null);
    expect(svg).toMatch(/^url\("data:image\/svg\+xml,.*"\) 5 5, crosshair$/);
    expect(decodeURIComponent(svg)).toContain("r='4'");
    vi.stubGlobal("devicePixelRatio", 2);
    vi.stubGlobal("CSS", { supports: () => false });
    expect(brushCursorCss(10, 4, "#ffffff", () => /** @type {any} */ (fakeCanvas()))).toBe(svg);
  });
});
