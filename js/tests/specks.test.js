// @vitest-environment jsdom
// The "min px" box beside the specks button (js/assist_cells.js): Shift+q (or Shift-click on
// specks) sends `morph remove_specks` on every cell with `min_size` from the box; q on the
// selected cell never sends it; an empty or zero box sends none. The "max px" box beside it sends
// `max_size` the same way (the cells larger than it are deleted: another population's nuclei).
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mountWidget, key } from "./assist_fixture.js";

let model, root, unmount, base;
beforeEach(() => {
  ({ model, root, unmount } = mountWidget());
  base = model.sent.length;
});
afterEach(() => unmount());

const morphs = () => model.sent.slice(base).map((m) => m.content).filter((c) => c.type === "assist");
const setBox = (which, v) => {
  const box = root.querySelector(`input[data-control="${which}-size"]`);
  box.value = v;
  box.dispatchEvent(new Event("input"));
};
const setMin = (v) => setBox("min", v);

describe("min px (delete the cells smaller than it)", () => {
  it("sits beside the specks button, empty (0) by default: Shift+q sends no min_size", () => {
    const box = root.querySelector('input[data-control="min-size"]');
    expect(box.value).toBe("");
    expect(box.placeholder).toBe("min px");
    expect(box.closest("label").previousElementSibling.getAttribute("data-action")).toBe("morph:remove_specks");
    key(root, "Q", { shiftKey: true });
    expect(morphs()).toEqual([{ type: "assist", tool: "morph", population: "cells", frame: 0, points: [], op: "remove_specks", label: 0 }]);
  });

  it("Shift+q and Shift-click on specks send min_size; q on the selected cell does not", () => {
    setMin("40");
    key(root, "Q", { shiftKey: true });
    root.querySelector('button[data-action="morph:remove_specks"]').dispatchEvent(new MouseEvent("click", { shiftKey: true, bubbles: true }));
    model.set("selected_label", 3);
    key(root, "q");
    expect(morphs()).toEqual([
      { type: "assist", tool: "morph", population: "cells", frame: 0, points: [], op: "remove_specks", label: 0, min_size: 40 },
      { type: "assist", tool: "morph", population: "cells", frame: 0, points: [], op: "remove_specks", label: 0, min_size: 40 },
      { type: "assist", tool: "morph", population: "cells", frame: 0, points: [], op: "remove_specks", label: 3 },
    ]);
    expect(root.querySelector(".segpaint-status").textContent).toMatch(/remove specks: cell 3/);
  });

  it("max px sits after min px; Shift+q sends max_size (with min_size when both are set), q never does", () => {
    const max = root.querySelector('input[data-control="max-size"]');
    expect(max.value).toBe("");
    expect(max.placeholder).toBe("max px");
    expect(max.closest("label").previousElementSibling.querySelector("input").getAttribute("data-control")).toBe("min-size");
    setBox("max", "150");
    key(root, "Q", { shiftKey: true });
    setMin("12");
    key(root, "Q", { shiftKey: true });
    model.set("selected_label", 3);
    key(root, "q");
    setBox("max", "0"); // 0: no limit
    key(root, "Q", { shiftKey: true });
    expect(morphs().map(({ label, min_size, max_size }) => ({ label, min_size, max_size }))).toEqual([
      { label: 0, min_size: undefined, max_size: 150 },
      { label: 0, min_size: 12, max_size: 150 },
      { label: 3, min_size: undefined, max_size: undefined },
      { label: 0, min_size: 12, max_size: undefined },
    ]);
    expect(root.querySelector(".segpaint-status").textContent).toMatch(/cells under 12 px/);
  });

  it("typing in the box is not taken for keys (digits, q)", () => {
    const box = root.querySelector('input[data-control="min-size"]');
    const e = new KeyboardEvent("keydown", { key: "q", bubbles: true, cancelable: true });
    box.dispatchEvent(e);
    expect(e.defaultPrevented).toBe(false);
    expect(morphs()).toEqual([]);
  });
});
