// @vitest-environment jsdom
// The wand in the widget when a flood does not fit in one animation frame: the preview says so
// ("N+ px"), goes on over the next frames while the drag pauses until it is the whole region, and a
// release at any moment paints the whole region (wand.js's `mask`, checked against
// segpaint.ops.wand_mask in tests/test_widget_assist.py), as one stroke.
import { afterEach, beforeEach, expect, it, vi } from "vitest";
import { Wand } from "../wand.js";
import { mountWidget, H, W, C0, C1, LABELS, pointer } from "./assist_fixture.js";

let model, root, dbg, canvas, unmount;
beforeEach(() => {
  ({ model, root, dbg, canvas, unmount } = mountWidget());
});
afterEach(() => unmount());

const at = (row, col) => dbg.imageToClient(row, col);

const frame = () => new Promise((resolve) => requestAnimationFrame(resolve));
const status = () => root.querySelector(".segpaint-status").textContent;
const strokes = () => model.sent.filter((m) => m.content.type === "stroke");

/** Every flood step of the widget takes at most 3 pixels: a frame far too short for the region. */
function slowFloods() {
  const reach = Wand.prototype.reach;
  return vi.spyOn(Wand.prototype, "reach").mockImplementation(function (seed, tol, clip, budget) {
    return reach.call(this, seed, tol, clip, budget && budget.deadline !== undefined ? { maxPixels: 3 } : budget);
  });
}

/** The stroke's painted pixels as a set of "r,c". */
function painted(stroke) {
  const [r0, r1, c0, c1] = stroke.content.bbox;
  const bits = new Uint8Array(stroke.buffers[0]);
  const out = new Set();
  for (let r = r0; r < r1; r++) {
    for (let c = c0; c < c1; c++) {
      const k = (r - r0) * (c1 - c0) + (c - c0);
      if ((bits[k >> 3] >> (k & 7)) & 1) out.add(`${r},${c}`);
    }
  }
  return out;
}

/** What the wand should paint at (3, 3) with `tol`: its region minus other cells (preserve_labels). */
function expected(tol) {
  const m = new Wand([C0, C1], [[0, 1000], [0, 100]], W, H).mask([3, 3], tol);
  const [r0, r1, c0, c1] = m.bbox;
  const out = new Set();
  for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) if (m.mask[(r - r0) * (c1 - c0) + (c - c0)] && LABELS[r * W + c] === 0) out.add(`${r},${c}`);
  return { out, count: m.count };
}

it("the preview goes on over the next frames while the drag pauses, then the release paints the whole region", async () => {
  const spy = slowFloods();
  model.set("tool", "wand");
  const p = at(3, 3);
  pointer(canvas, "pointerdown", p.x, p.y);
  pointer(canvas, "pointermove", p.x + 40, p.y); // tolerance 0.1 + 40 / 400 = 0.2
  await frame();
  expect(status()).toMatch(/wand: tolerance 0\.200 · \d+\+ px/); // not all of it yet
  const { out, count } = expected(0.2);
  expect(count).toBeGreaterThan(20);
  for (let k = 0; k < 40 && !status().includes(` ${count} px`); k++) await frame();
  expect(status()).toContain(`tolerance 0.200 · ${count} px`);
  expect(strokes()).toEqual([]);
  pointer(canvas, "pointerup", p.x + 40, p.y);
  expect(strokes().length).toBe(1);
  expect(painted(strokes()[0])).toEqual(out);
  spy.mockRestore();
});

it("a release before the preview has caught up still paints the whole region, once", async () => {
  const spy = slowFloods();
  model.set("tool", "wand");
  const p = at(3, 3);
  pointer(canvas, "pointerdown", p.x, p.y);
  pointer(canvas, "pointermove", p.x + 60, p.y); // tolerance 0.25
  await frame();
  expect(status()).toMatch(/\d+\+ px/);
  pointer(canvas, "pointerup", p.x + 60, p.y);
  expect(strokes().length).toBe(1);
  expect(painted(strokes()[0])).toEqual(expected(0.25).out);
  for (let k = 0; k < 5; k++) await frame(); // no frame left scheduled paints or sends again
  expect(strokes().length).toBe(1);
  spy.mockRestore();
});
