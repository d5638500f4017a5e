// @vitest-environment jsdom
// The "min px" box beside the specks button (js/assist_cells.js): Shift+q (or Shift-click on
// specks) sends `morph remove_specks` on every cell with `min_size` from the box; q on the
// selected cell never sends it; an empty or zero box sends none.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mountWidget, key } from "./assist_fixture.js";

let model, root, unmount, base;
beforeEach(() => {
  ({ model, root, unmount } = mountWidget());
  base = model.sent.length;
});
afterEach(() => unmount());

const morphs = () => model.sent.slice(base).map((m) => m.content).filter((c) => c.type === "assist");
const setMin = (v) => {
  const box = root.querySelector('input[data-control="min-size"]');
  box.value = v;
  box.dispatchEvent(new Event("input"));
};

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

  it("typing in the box is not taken for keys (digits, q)", () => {
    const box = root.querySelector('input[data-control="min-size"]');
    const e = new KeyboardEvent("keydown", { key: "q", bubbles: true, cancelable: true });
    box.dispatchEvent(e);
    expect(e.defaultPrevented).toBe(false);
    expect(morphs()).toEqual([]);
  });
});
