// @vitest-environment jsdom
// The assisted tools of the front-end (js/assist.js) against a mocked anywidget model: what each
// gesture puts on the wire (one `assist` message, or one stroke for the wand) and, for the wand,
// the pixels it paints (those of wand.js, the port of segpaint.ops.wand_mask).
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Wand } from "../wand.js";
import { keyAction } from "../tools.js";
import { mountWidget, H, W, C0, C1, LABELS, pointer, key } from "./assist_fixture.js";


let model, root, dbg, canvas, unmount;
beforeEach(() => {
  ({ model, root, dbg, canvas, unmount } = mountWidget());
});
afterEach(() => unmount());

const at = (row, col) => dbg.imageToClient(row, col);
const assists = () => model.sent.filter((m) => m.content.type === "assist").map((m) => m.content);
const click = (row, col, extra = {}) => {
  const p = at(row, col);
  pointer(canvas, "pointerdown", p.x, p.y, extra);
  pointer(canvas, "pointerup", p.x, p.y, extra);
};
const drag = (a, b, extra = {}) => {
  const p = at(...a);
  const q = at(...b);
  pointer(canvas, "pointerdown", p.x, p.y, extra);
  pointer(canvas, "pointermove", (p.x + q.x) / 2, (p.y + q.y) / 2, extra);
  pointer(canvas, "pointermove", q.x, q.y, extra);
  pointer(canvas, "pointerup", q.x, q.y, extra);
};

describe("assisted tools", () => {
  it("have keys that clash with no other key and a button each", () => {
    const keys = { c: "tool:segment", w: "tool:wand", k: "tool:split", g: "tool:merge", o: "tool:polygon", d: "tool:delete-box", Enter: "enter" };
    for (const [k, action] of Object.entries(keys)) expect(keyAction({ key: k })).toBe(action);
    for (const t of ["segment", "wand", "split", "merge", "polygon", "delete-box"]) expect(root.querySelector(`button[data-tool="${t}"]`)).not.toBe(null);
    key(root, "w");
    expect(model.get("tool")).toBe("wand");
  });

  it("the preserve-labels checkbox shows and sets the trait", () => {
    const box = root.querySelector('input[data-control="preserve-labels"]');
    expect(box.checked).toBe(true);
    box.checked = false;
    box.dispatchEvent(new Event("change"));
    expect(model.get("preserve_labels")).toBe(false);
    model.set("preserve_labels", true);
    expect(box.checked).toBe(true);
  });

  it("a click with the segment tool sends one assist message with the pixel", () => {
    model.set("tool", "segment");
    click(3, 4);
    expect(assists()).toEqual([{ type: "assist", tool: "segment_at", population: "cells", frame: 0, points: [[3, 4]] }]);
    expect(dbg.label(3, 4)).toBe(0); // nothing painted locally: Python's labels-patch brings the cell
  });

  it("merge picks cells (not background, not twice) and sends them on Enter; Escape drops them", () => {
    model.set("tool", "merge");
    click(0, 0);
    click(4, 4); // background
    click(1, 1); // cell 2 again
    click(6, 7);
    expect(assists()).toEqual([]);
    key(root, "Enter");
    expect(assists()).toEqual([{ type: "assist", tool: "merge", population: "cells", frame: 0, points: [[0, 0], [6, 7]] }]);
    click(0, 0);
    key(root, "Escape");
    key(root, "Enter");
    expect(assists().length).toBe(1);
  });

  it("merge: a drag from one cell onto another merges those two at once, the picks kept; onto background or the same cell it picks", () => {
    model.set("tool", "merge");
    click(6, 7); // a pick
    drag([0, 1], [6, 9]); // cell 2 onto cell 3: merged now
    expect(assists()).toEqual([{ type: "assist", tool: "merge", population: "cells", frame: 0, points: [[0, 1], [6, 9]] }]);
    expect(root.querySelector(".segpaint-status").textContent).toMatch(/merging cells 2 and 3/);
    drag([0, 0], [4, 4]); // onto background: cell 2 is picked, nothing sent
    drag([1, 0], [1, 3]); // within cell 2: already picked
    expect(assists().length).toBe(1);
    key(root, "Enter"); // the picks: cell 3 (the click), cell 2 (the drag onto background)
    expect(assists()[1]).toEqual({ type: "assist", tool: "merge", population: "cells", frame: 0, points: [[6, 7], [0, 0]] });
  });

  it("Shift-drag with the split tool sends the drawn line (every pixel it passed) as a cut", () => {
    model.set("tool", "split");
    const path = [[0, 5], [2, 5], [4, 6], [7, 6]];
    const ps = path.map((p) => at(...p));
    pointer(canvas, "pointerdown", ps[0].x, ps[0].y, { shiftKey: true });
    for (const p of ps.slice(1)) pointer(canvas, "pointermove", p.x, p.y, { shiftKey: true });
    pointer(canvas, "pointermove", ps[3].x, ps[3].y, { shiftKey: true }); // the same pixel: not twice
    pointer(canvas, "pointerup", ps[3].x, ps[3].y, { shiftKey: true });
    expect(assists()).toEqual([{ type: "assist", tool: "cut", population: "cells", frame: 0, points: path }]);
    pointer(canvas, "pointerdown", ps[0].x, ps[0].y, { shiftKey: true }); // a click: no line
    pointer(canvas, "pointerup", ps[0].x, ps[0].y, { shiftKey: true });
    expect(assists().length).toBe(1);
  });

  it("split sends the drag's two ends; Shift-drag with the ROI tool deletes in a box, adding no ROI", () => {
    model.set("tool", "split");
    drag([5, 6], [7, 9]);
    expect(assists()).toEqual([{ type: "assist", tool: "split", population: "cells", frame: 0, points: [[5, 6], [7, 9]] }]);
    model.set("tool", "roi");
    drag([6, 9], [0, 5], { shiftKey: true });
    expect(assists()[1]).toEqual({ type: "assist", tool: "delete_in_box", population: "cells", frame: 0, points: [[6, 9]], bbox: [0, 7, 5, 10] });
    expect(model.sent.filter((m) => m.content.type === "roi-add")).toEqual([]);
  });

  it("polygon: vertices, then Enter fills with the selected label", () => {
    model.set("tool", "polygon");
    click(1, 5);
    click(1, 8);
    click(4, 8);
    key(root, "Enter");
    expect(assists()).toEqual([{ type: "assist", tool: "polygon", population: "cells", frame: 0, points: [[1, 5], [1, 8], [4, 8]], label: 7 }]);
  });

  it("with edits locked to an ROI, a click outside it sends nothing", () => {
    model.set("rois", [[0, 4, 0, 5]]);
    model.set("lock_to_roi", true);
    model.set("tool", "segment");
    click(6, 2);
    expect(assists()).toEqual([]);
    expect(root.querySelector(".segpaint-status").textContent).toMatch(/locked to ROIs/);
    click(2, 2);
    expect(assists().length).toBe(1);
  });

  it("polygon: a double-click closes it without adding the repeated vertex", () => {
    model.set("tool", "polygon");
    click(1, 5);
    click(1, 8);
    click(4, 8);
    click(4, 8); // the second click of a double-click
    expect(assists()).toEqual([{ type: "assist", tool: "polygon", population: "cells", frame: 0, points: [[1, 5], [1, 8], [4, 8]], label: 7 }]);
  });

  it("the wand stays inside the ROI under its seed when edits are locked, and paints over cells when preserve_labels is off", () => {
    model.set("rois", [[0, 3, 0, 6]]);
    model.set("lock_to_roi", true);
    model.set("preserve_labels", false);
    model.set("tool", "wand");
    const p = at(1, 4);
    pointer(canvas, "pointerdown", p.x, p.y);
    pointer(canvas, "pointerup", p.x, p.y);
    const expected = new Wand([C0, C1], [[0, 1000], [0, 100]], W, H).mask([1, 4], 0.1, [0, 3, 0, 6]);
    const strokes = model.sent.filter((m) => m.content.type === "stroke");
    expect(strokes.length).toBe(1);
    expect(strokes[0].content.bbox).toEqual(expected.bbox);
    for (let r = 0; r < H; r++) {
      for (let c = 0; c < W; c++) {
        const inRoi = r < 3 && c < 6;
        const [r0, r1, c0, c1] = expected.bbox;
        const inRegion = inRoi && r >= r0 && r < r1 && c >= c0 && c < c1 && expected.mask[(r - r0) * (c1 - c0) + (c - c0)] === 1;
        expect(dbg.label(r, c)).toBe(inRegion ? 7 : LABELS[r * W + c]);
      }
    }
    expect(dbg.label(0, 0)).toBe(7); // cell 2's pixel taken: preserve_labels is off
  });

  it("the wand previews while dragging and paints wand.js's region as one stroke at release", async () => {
    model.set("tool", "wand");
    const p = at(3, 3);
    pointer(canvas, "pointerdown", p.x, p.y);
    // 40 px right: tolerance 0.1 + 40 / 400 = 0.2
    pointer(canvas, "pointermove", p.x + 40, p.y);
    await new Promise((resolve) => requestAnimationFrame(resolve)); // the preview floods once per frame
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(model.sent.filter((m) => m.content.type === "stroke")).toEqual([]);
    expect(root.querySelector(".segpaint-status").textContent).toMatch(/wand: tolerance 0\.200/);
    pointer(canvas, "pointerup", p.x + 40, p.y);
    const expected = new Wand([C0, C1], [[0, 1000], [0, 100]], W, H).mask([3, 3], 0.2);
    const strokes = model.sent.filter((m) => m.content.type === "stroke");
    expect(strokes.length).toBe(1);
    const { content, buffers } = strokes[0];
    expect(content).toMatchObject({ encoding: "mask", label: 7, bbox: expected.bbox, frame: 0, population: "cells" });
    const [r0, r1, c0, c1] = expected.bbox;
    const bits = new Uint8Array(buffers[0]);
    for (let r = r0; r < r1; r++) {
      for (let c = c0; c < c1; c++) {
        const k = (r - r0) * (c1 - c0) + (c - c0);
        const inRegion = expected.mask[k] === 1 && LABELS[r * W + c] === 0; // preserve_labels: other cells kept
        expect(((bits[k >> 3] >> (k & 7)) & 1) === 1).toBe(inRegion);
        expect(dbg.label(r, c)).toBe(inRegion ? 7 : LABELS[r * W + c]);
      }
    }
    expect(expected.count).toBeGreaterThan(20);
  });
});
