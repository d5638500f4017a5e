// @vitest-environment jsdom
// Modifier clicks (js/tools.js chordOf, wired in js/input.js) against a mocked anywidget model:
// Ctrl/Cmd+click sends one `delete-cell` message for the cell under the pointer, Alt+click makes
// its label the active one, whatever the tool; neither paints, strokes or switches the tool.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SHORTCUTS } from "../dom.js";
import { chordOf } from "../tools.js";
import { C0, C1, H, LABELS, W, mountWidget, pointer } from "./assist_fixture.js";

let model, root, dbg, canvas, unmount, base;
beforeEach(() => {
  ({ model, root, dbg, canvas, unmount } = mountWidget());
  base = model.sent.length; // what mounting sent (request-frame, ...)
});
afterEach(() => unmount());

const TOOLS = ["pan", "brush", "eraser", "fill", "picker", "roi", "segment", "wand", "split", "merge", "polygon", "delete-box"];
const sent = () => model.sent.slice(base).map((m) => m.content).filter((c) => c.type !== "ping");
const deletes = () => sent().filter((c) => c.type === "delete-cell");
const click = (row, col, extra = {}) => {
  const p = dbg.imageToClient(row, col);
  pointer(canvas, "pointerdown", p.x, p.y, extra);
  pointer(canvas, "pointerup", p.x, p.y, extra);
};
const status = () => root.querySelector(".segpaint-status").textContent;

describe("chordOf", () => {
  it("maps Ctrl or Cmd to delete and Alt to pick, primary button only, Shift and Ctrl+Alt left to the tools", () => {
    expect(chordOf({ button: 0, ctrlKey: true })).toBe("delete");
    expect(chordOf({ button: 0, metaKey: true })).toBe("delete");
    expect(chordOf({ button: 0, altKey: true })).toBe("pick");
    expect(chordOf({ button: 0 })).toBe(null);
    expect(chordOf({ button: 0, shiftKey: true })).toBe(null);
    expect(chordOf({ button: 0, ctrlKey: true, shiftKey: true })).toBe(null);
    expect(chordOf({ button: 0, altKey: true, shiftKey: true })).toBe(null);
    expect(chordOf({ button: 0, ctrlKey: true, altKey: true })).toBe(null);
    expect(chordOf({ button: 1, ctrlKey: true })).toBe(null);
    expect(chordOf({ button: 2, altKey: true })).toBe(null);
  });
  it("are listed in the shortcut table (the ? overlay) with what they do", () => {
    const row = (k) => SHORTCUTS.find((s) => s.keys.includes(k));
    const mods = { Ctrl: "ctrlKey", Cmd: "metaKey", Alt: "altKey" };
    const expected = { "Ctrl + click": "delete", "Cmd + click": "delete", "Alt + click": "pick" };
    for (const [k, chord] of Object.entries(expected)) {
      expect(row(k)?.text, k).toMatch(chord === "delete" ? /^Delete the cell/ : /^Pick the label/);
      expect(chordOf({ button: 0, [mods[k.split(" ")[0]]]: true })).toBe(chord);
    }
  });
});

describe("modifier clicks in the widget", () => {
  it("Ctrl+click with the brush sends delete-cell for the cell under it and paints nothing", () => {
    click(1, 2, { ctrlKey: true });
    expect(sent()).toEqual([{ type: "delete-cell", population: "cells", frame: 0, points: [[1, 2]], label: 2 }]);
    expect(dbg.label(1, 2)).toBe(2); // the kernel's labels-patch removes it, not the browser
    expect(model.get("tool")).toBe("brush");
    expect(status()).toMatch(/deleting cell 2/);
  });

  it("Cmd+click does the same; on background nothing is sent and the status says why", () => {
    click(6, 7, { metaKey: true });
    expect(deletes()).toEqual([{ type: "delete-cell", population: "cells", frame: 0, points: [[6, 7]], label: 3 }]);
    click(4, 4, { ctrlKey: true });
    expect(deletes().length).toBe(1);
    expect(status()).toMatch(/this is background/);
  });

  it("Alt+click picks the label under it (0 on background) and keeps the tool", () => {
    click(6, 7, { altKey: true });
    expect(model.get("selected_label")).toBe(3);
    expect(model.get("tool")).toBe("brush");
    expect(status()).toMatch(/picked label 3/);
    click(4, 4, { altKey: true });
    expect(model.get("selected_label")).toBe(0);
    expect(sent().filter((c) => c.type === "stroke" || c.type === "delete-cell")).toEqual([]);
  });

  it("every tool gives way to the chords: one delete-cell, no stroke, assist or ROI message", () => {
    for (const tool of TOOLS) {
      model.set("tool", tool);
      model.set("selected_label", 7);
      const before = sent().length;
      click(0, 1, { ctrlKey: true });
      expect(sent().slice(before), tool).toEqual([{ type: "delete-cell", population: "cells", frame: 0, points: [[0, 1]], label: 2 }]);
      click(7, 9, { altKey: true });
      expect(model.get("selected_label"), tool).toBe(3);
      expect(model.get("tool"), tool).toBe(tool);
      expect(sent().slice(before + 1), tool).toEqual([]);
    }
  });

  it("a plain click still uses the tool, and Shift+Ctrl is not a chord", () => {
    model.set("tool", "fill");
    click(4, 4);
    expect(sent().filter((c) => c.type === "stroke").length).toBe(1);
    model.set("tool", "segment");
    click(4, 4, { ctrlKey: true, shiftKey: true });
    expect(deletes()).toEqual([]);
  });

  it("with edits locked to an ROI, Ctrl+click outside it sends nothing; inside it does", () => {
    model.set("rois", [[0, 4, 0, 5]]);
    model.set("lock_to_roi", true);
    click(6, 7, { ctrlKey: true });
    expect(deletes()).toEqual([]);
    expect(status()).toMatch(/locked to ROIs/);
    click(1, 1, { ctrlKey: true });
    expect(deletes().length).toBe(1);
  });

  it("Ctrl+click on an Experiment's frame carries its position, as a stroke does", () => {
    const xfer = 9;
    model.deliver({ type: "frame", xfer, frame: 0, population: "cells", height: H, width: W, channels: [{ index: 0, dtype: "uint16" }, { index: 1, dtype: "uint8" }], labels: true, partial: false, position: "W1/100" });
    model.deliver({ type: "band", xfer, key: "channel", channel: 0, row0: 0, row1: H, dtype: "uint16" }, [C0]);
    model.deliver({ type: "band", xfer, key: "channel", channel: 1, row0: 0, row1: H, dtype: "uint8" }, [C1]);
    model.deliver({ type: "band", xfer, key: "labels", encoding: "raw", row0: 0, row1: H, dtype: "uint32" }, [LABELS.slice()]);
    model.deliver({ type: "frame-end", xfer });
    click(6, 7, { ctrlKey: true });
    expect(deletes()).toEqual([{ type: "delete-cell", population: "cells", frame: 0, points: [[6, 7]], label: 3, position: "W1/100" }]);
  });

  it("releasing Alt after an Alt+click is kept from the browser (menu bar); a lone Alt is not", () => {
    const up = () => {
      const e = new KeyboardEvent("keyup", { key: "Alt", bubbles: true, cancelable: true });
      root.dispatchEvent(e);
      return e.defaultPrevented;
    };
    expect(up()).toBe(false);
    click(6, 7, { altKey: true });
    expect(up()).toBe(true);
    expect(up()).toBe(false);
  });
});
