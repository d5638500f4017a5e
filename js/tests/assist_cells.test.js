// @vitest-environment jsdom
// The assisted tools on cells (js/assist_cells.js) against a mocked anywidget model: the segment
// tool's re-segment and refinement clicks, morph and copy-labels keys and buttons, and the
// `assist` message each puts on the wire (Python runs it: tests/test_widget_assist.py).
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { keyAction } from "../tools.js";
import { mountWidget, H, W, sendFrame, pointer, key } from "./assist_fixture.js";


let model, root, dbg, canvas, unmount;
beforeEach(() => {
  ({ model, root, dbg, canvas, unmount } = mountWidget({ n_frames: 2 }));
});
afterEach(() => unmount());

const at = (row, col) => dbg.imageToClient(row, col);
const assists = () => model.sent.filter((m) => m.content.type === "assist").map((m) => m.content);
const click = (row, col, extra = {}) => {
  const p = at(row, col);
  pointer(canvas, "pointerdown", p.x, p.y, extra);
  pointer(canvas, "pointerup", p.x, p.y, extra);
};


/** Python's answer to a segment_at: the cell's new pixels as a labels-patch. */
function patch(label, cells) {
  const buf = new Uint32Array(H * W);
  for (let i = 0; i < H * W; i++) buf[i] = dbg.label(Math.floor(i / W), i % W);
  for (const [r, c] of cells) buf[r * W + c] = label;
  model.deliver({ type: "labels-patch", frame: 0, population: "cells", bbox: [0, H, 0, W], encoding: "raw", dtype: "uint32" }, [buf]);
}
const status = () => root.querySelector(".segpaint-status").textContent;

describe("assisted tools on cells", () => {
  it("morph and copy keys: lower case the selected cell, upper case (Shift) every cell / replace", () => {
    const keys = {
      i: "assist:morph:fill_holes", I: "assist:morph-all:fill_holes", t: "assist:morph:grow", T: "assist:morph-all:grow",
      j: "assist:morph:shrink", J: "assist:morph-all:shrink", u: "assist:morph:smooth", U: "assist:morph-all:smooth",
      q: "assist:morph:remove_specks", Q: "assist:morph-all:remove_specks", y: "assist:copy", Y: "assist:copy-replace",
      a: "assist:refine", A: "assist:refine-all",
    };
    for (const [k, action] of Object.entries(keys)) expect(keyAction({ key: k, shiftKey: k !== k.toLowerCase() })).toBe(action);
    expect(keyAction({ key: "y", ctrlKey: true })).toBe("redo"); // Ctrl+Y stays redo
    expect(keyAction({ key: "t", altKey: true })).toBe(null);
  });

  it("a click on a cell re-segments it; later clicks refine it with every click so far", () => {
    model.set("tool", "segment");
    click(0, 1); // on cell 2
    expect(assists()).toEqual([{ type: "assist", tool: "segment_at", population: "cells", frame: 0, points: [[0, 1]], label: 2 }]);
    click(1, 3); // on the same cell: positive
    click(3, 3, { shiftKey: true }); // Shift: negative (anywhere)
    click(2, 5); // background within 3 px of the cell's edge: positive
    expect(assists().slice(1)).toEqual([
      { type: "assist", tool: "segment_at", population: "cells", frame: 0, points: [[0, 1]], label: 2, positive: [[1, 3]], negative: [] },
      { type: "assist", tool: "segment_at", population: "cells", frame: 0, points: [[0, 1]], label: 2, positive: [[1, 3]], negative: [[3, 3]] },
      { type: "assist", tool: "segment_at", population: "cells", frame: 0, points: [[0, 1]], label: 2, positive: [[1, 3], [2, 5]], negative: [[3, 3]] },
    ]);
    click(6, 8); // another cell: it becomes the one refined
    expect(assists()[4]).toEqual({ type: "assist", tool: "segment_at", population: "cells", frame: 0, points: [[6, 8]], label: 3 });
    key(root, "Escape"); // ends the refinement: Shift+click has no cell
    click(6, 9, { shiftKey: true });
    expect(assists().length).toBe(5);
    expect(status()).toMatch(/Shift\+click takes a part off the cell last segmented/);
  });

  it("a click on background makes a new cell; once it comes back, clicks refine it", () => {
    model.set("tool", "segment");
    click(3, 1, { shiftKey: true }); // nothing to refine yet
    expect(assists()).toEqual([]);
    click(4, 1);
    expect(assists()).toEqual([{ type: "assist", tool: "segment_at", population: "cells", frame: 0, points: [[4, 1]] }]);
    patch(8, [[3, 0], [3, 1], [4, 0], [4, 1]]); // Python's new cell 8
    expect(dbg.label(4, 1)).toBe(8);
    click(3, 0);
    expect(assists()[1]).toEqual({ type: "assist", tool: "segment_at", population: "cells", frame: 0, points: [[4, 1]], label: 8, positive: [[3, 0]], negative: [] });
    click(7, 5); // background far from cell 8: a new cell, not a refinement
    expect(assists()[2]).toEqual({ type: "assist", tool: "segment_at", population: "cells", frame: 0, points: [[7, 5]] });
  });

  it("morph keys send the selected cell, Shift every cell; a label not in the frame is refused", () => {
    model.set("selected_label", 3);
    key(root, "t");
    key(root, "J", { shiftKey: true });
    expect(assists()).toEqual([
      { type: "assist", tool: "morph", population: "cells", frame: 0, points: [], op: "grow", label: 3 },
      { type: "assist", tool: "morph", population: "cells", frame: 0, points: [], op: "shrink", label: 0 },
    ]);
    model.set("selected_label", 7); // not in this frame
    key(root, "i");
    expect(assists().length).toBe(2);
    expect(status()).toMatch(/cell 7 is not in this frame/);
  });

  it("morph and snap keys act on the cell under the pointer (no pick first); on background or off the canvas, the selected cell", () => {
    model.set("selected_label", 2);
    const hover = (row, col) => {
      const p = at(row, col);
      pointer(canvas, "pointermove", p.x, p.y);
    };
    hover(6, 8); // over cell 3
    key(root, "t");
    key(root, "a");
    key(root, "T", { shiftKey: true }); // Shift: every cell, wherever the pointer is
    hover(3, 5); // background: the selected cell
    key(root, "j");
    hover(6, 8);
    canvas.dispatchEvent(new MouseEvent("pointerleave")); // off the canvas: the selected cell
    key(root, "u");
    expect(assists().map((m) => [m.tool, m.op, m.label])).toEqual([
      ["morph", "grow", 3], ["refine", undefined, 3], ["morph", "grow", 0], ["morph", "shrink", 2], ["morph", "smooth", 2],
    ]);
    expect(model.get("selected_label")).toBe(2); // the selection is left as it was
    expect(status()).toMatch(/smooth: cell 2/);
  });

  it("morph and copy buttons: click for the selected cell / fill-empty, Shift-click for every cell / replace", () => {
    model.set("selected_label", 2);
    root.querySelector('button[data-action="morph:smooth"]').click();
    root.querySelector('button[data-action="morph:remove_specks"]').dispatchEvent(new MouseEvent("click", { shiftKey: true, bubbles: true }));
    expect(assists().map((m) => [m.op, m.label])).toEqual([["smooth", 2], ["remove_specks", 0]]);
    expect(root.querySelectorAll(".segpaint-cell-tools button").length).toBe(7);
  });

  it("snap outlines: a for the selected cell, Shift+a and Shift-click for every cell, the ROI when locked", () => {
    model.set("selected_label", 3);
    key(root, "a");
    key(root, "A", { shiftKey: true });
    root.querySelector('button[data-action="refine"]').click();
    root.querySelector('button[data-action="refine"]').dispatchEvent(new MouseEvent("click", { shiftKey: true, bubbles: true }));
    expect(assists()).toEqual([
      { type: "assist", tool: "refine", population: "cells", frame: 0, points: [], label: 3 },
      { type: "assist", tool: "refine", population: "cells", frame: 0, points: [], label: 0 },
      { type: "assist", tool: "refine", population: "cells", frame: 0, points: [], label: 3 },
      { type: "assist", tool: "refine", population: "cells", frame: 0, points: [], label: 0 },
    ]);
    expect(status()).toMatch(/snapping every cell's outline/);
    model.set("selected_label", 7); // not in this frame: refused, said why
    key(root, "a");
    expect(assists().length).toBe(4);
    expect(status()).toMatch(/snap outlines: cell 7 is not in this frame/);
    model.set("rois", [[4, 8, 5, 10]]);
    model.set("lock_to_roi", true);
    key(root, "A", { shiftKey: true });
    expect(assists()[4]).toEqual({ type: "assist", tool: "refine", population: "cells", frame: 0, points: [[4, 5]], label: 0 });
  });

  it("copy labels brings the previous frame (none on frame 0), Shift replaces", () => {
    key(root, "y");
    expect(assists()).toEqual([]);
    expect(status()).toMatch(/frame 0 has no previous frame/);
    model.set("frame", 1);
    sendFrame(model, 1);
    expect(dbg.frame).toBe(1);
    key(root, "y");
    key(root, "Y", { shiftKey: true });
    expect(assists()).toEqual([
      { type: "assist", tool: "copy_labels", population: "cells", frame: 1, points: [], source_frame: 0, mode: "fill-empty" },
      { type: "assist", tool: "copy_labels", population: "cells", frame: 1, points: [], source_frame: 0, mode: "replace" },
    ]);
  });

  it("with edits locked, morph and copy name the selected ROI (or the only one), else say why", () => {
    model.set("selected_label", 2);
    model.set("rois", [[0, 4, 0, 5], [4, 8, 5, 10]]);
    model.set("lock_to_roi", true);
    key(root, "T", { shiftKey: true });
    expect(assists()).toEqual([]);
    expect(status()).toMatch(/select the ROI to work in/);
    dbg.selectRoi(1);
    key(root, "T", { shiftKey: true });
    expect(assists()).toEqual([{ type: "assist", tool: "morph", population: "cells", frame: 0, points: [[4, 5]], op: "grow", label: 0 }]);
    model.set("rois", [[0, 4, 0, 5]]);
    dbg.selectRoi(-1);
    key(root, "i");
    expect(assists()[1].points).toEqual([[0, 0]]);
  });
});
