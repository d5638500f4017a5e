// @vitest-environment jsdom
// The position selector of an Experiment's Annotator (issue 13), against a mocked anywidget model:
// hidden for one Session, listing the positions otherwise; choosing one sets the `position` trait;
// strokes carry the position of the frame they were painted on.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import widget from "../widget.js";
import { MockModel } from "./mock_model.js";


const H = 6;
const W = 8;
let ids = 0;

function state(extra = {}) {
  return {
    frame: 0, n_frames: 2, population: "cells", populations: ["cells"], tool: "brush", selected_label: 3,
    next_label: 5, brush_size: 1, contrast: [[0, 1000]], gamma: [1], channel_visible: [true],
    channel_colors: ["#ffffff"], channel_names: ["nuclei"], opacity: 0.5, contour: false,
    show_selected_only: false, lock_to_roi: false, status: "", rois: [], export_format: "celldetective",
    presegment_methods: ["threshold"], busy: false, progress: 0, _preview_step: 1, _widget_id: `pos-${++ids}`,
    position: "", positions: [],
    limits: { chunk_bytes: 4 * 1024 * 1024, brush_size: [1, 1024], gamma: [0.1, 4], tools: ["pan", "brush", "eraser", "fill", "picker", "roi"], export_formats: ["celldetective"], label_max: 4294967295 },
    ...extra,
  };
}

/** One full frame as segpaint/widgets/_wire.py sends it, tagged with `position`; labels all `fill`. */
function sendFrame(model, xfer, position, fill) {
  const header = { type: "frame", xfer, frame: 0, population: "cells", height: H, width: W, channels: [{ index: 0, dtype: "uint16" }], labels: true, partial: false };
  model.deliver(position === null ? header : { ...header, position });
  model.deliver({ type: "band", xfer, key: "channel", channel: 0, row0: 0, row1: H, dtype: "uint16" }, [new Uint16Array(H * W).fill(100 * xfer)]);
  model.deliver({ type: "band", xfer, key: "labels", encoding: "raw", row0: 0, row1: H, dtype: "uint32" }, [new Uint32Array(H * W).fill(fill)]);
  model.deliver({ type: "frame-end", xfer });
}

function pointer(target, type, x, y) {
  const e = new MouseEvent(type, { clientX: x, clientY: y, button: 0, bubbles: true, cancelable: true });
  Object.defineProperty(e, "pointerId", { value: 1 });
  target.dispatchEvent(e);
}

let el;
let cleanup;
let dispose;

function mount(model) {
  dispose = widget.initialize({ model });
  cleanup = widget.render({ model, el });
  const root = el.querySelector(".segpaint-annotator");
  return { root, dbg: root.__segpaint, select: root.querySelector('select[data-control="position"]'), canvas: root.querySelector("canvas.segpaint-view") };
}

/** Click-paint one pixel at (row, col); returns the stroke messages sent. */
function dab({ dbg, canvas }, model, row, col) {
  const before = model.sent.length;
  const p = dbg.imageToClient(row, col);
  pointer(canvas, "pointerdown", p.x, p.y);
  pointer(canvas, "pointerup", p.x, p.y);
  return model.sent.slice(before).filter((m) => m.content.type === "stroke");
}

beforeEach(() => {
  HTMLCanvasElement.prototype.getContext = () => null;
  el = document.createElement("div");
  document.body.append(el);
});
afterEach(() => {
  cleanup?.();
  dispose?.();
  el.remove();
});

describe("position selector", () => {
  it("is hidden for a single Session and its strokes carry no position", () => {
    const model = new MockModel(state());
    const view = mount(model);
    expect(view.select).not.toBe(null);
    expect(view.select.closest("label").style.display).toBe("none");
    sendFrame(model, 1, null, 0);
    const [stroke] = dab(view, model, 2, 2);
    expect(stroke.content).not.toHaveProperty("position");
  });

  it("lists an Experiment's positions, sets the trait, and tags strokes with the frame's position", () => {
    const model = new MockModel(state({ positions: ["W1/100", "W1/101", "W2/200"], position: "W1/100" }));
    const view = mount(model);
    const label = view.select.closest("label");
    expect(label.style.display).toBe("");
    expect(label.textContent).toContain("position");
    expect([...view.select.options].map((o) => o.value)).toEqual(["W1/100", "W1/101", "W2/200"]);
    expect(view.select.value).toBe("W1/100");

    sendFrame(model, 1, "W1/100", 0);
    expect(dab(view, model, 1, 1)[0].content).toMatchObject({ position: "W1/100", label: 3 });

    // Choosing a position sets the trait; until the new frame arrives, strokes still belong to
    // the position on screen.
    view.select.value = "W1/101";
    view.select.dispatchEvent(new Event("change", { bubbles: true }));
    expect(model.get("position")).toBe("W1/101");
    expect(dab(view, model, 1, 2)[0].content.position).toBe("W1/100");

    sendFrame(model, 2, "W1/101", 7);
    expect(view.dbg.label(4, 4)).toBe(7); // the new position's labels replaced the old ones
    expect(dab(view, model, 3, 3)[0].content.position).toBe("W1/101");
    // Scribble marks are kept per position: W1/101's mark is not shown on W1/100, and back.
    model.deliver({ type: "scribble-patch", population: "cells", frame: 0, bbox: [2, 3, 2, 3] }, [Uint8Array.from([1])]);
    expect(view.dbg.scribble(2, 2)).toBe(1);
    sendFrame(model, 3, "W1/100", 0);
    expect(view.dbg.scribble(2, 2)).toBe(0);
    sendFrame(model, 4, "W1/101", 7);
    expect(view.dbg.scribble(2, 2)).toBe(1);
    // Python setting the trait moves the selector; the tool and brush stay as they were.
    model.set("position", "W2/200");
    expect(view.select.value).toBe("W2/200");
    expect([model.get("tool"), model.get("brush_size")]).toEqual(["brush", 1]);
  });
});
