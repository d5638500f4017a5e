// @ts-check
// The widget's DOM: toolbar, settings, frame row, channel box, actions, viewport, status line.
// Elements only; what they do is wired in controls.js, channels.js and input.js.

import { CSS } from "./style.js";

/** @type {Record<string, string>} */
const TOOL_TITLES = {
  pan: "Pan / zoom (h, or space-drag)",
  brush: "Brush (b / p)",
  eraser: "Eraser (e)",
  fill: "Fill bucket (f); fill with label 0 deletes a cell",
  picker: "Label picker (l)",
  roi: "ROI rectangle (r): drag to draw, drag inside to move, edges to resize, Delete to remove",
  scribble: "Scribble (s): cell / background marks to train a pixel classifier; x swaps the mark",
  segment: "Click-to-segment (c): click inside a missed cell",
  wand: "Magic wand (w): press on a cell, drag sideways to change the tolerance, release to paint",
  split: "Split (k): drag from one part of a cell to the other, or across the cell",
  merge: "Merge (g): click the cells, then Enter",
  polygon: "Polygon (o): click vertices; double-click or Enter fills it with the selected label",
  "delete-box": "Delete in box (d, or Shift-drag with the ROI tool): every cell inside goes",
};

/**
 * Every keyboard shortcut, in the order the `?` overlay lists them. One table: the overlay is built
 * from it and a test checks it against tools.js keyAction, so neither can go stale.
 * `action` is what keyAction returns for each of `keys` (null: handled elsewhere, e.g. the wheel).
 * @type {{keys: string[], action: string | null, text: string}[]}
 */
export const SHORTCUTS = [
  { keys: ["h"], action: "tool:pan", text: "Pan / zoom tool (or middle-drag)" },
  { keys: [" "], action: "space", text: "Hold and drag to pan with any tool" },
  { keys: ["b", "p"], action: "tool:brush", text: "Brush" },
  { keys: ["e"], action: "tool:eraser", text: "Eraser" },
  { keys: ["f"], action: "tool:fill", text: "Fill bucket (fill with label 0 deletes a cell)" },
  { keys: ["l"], action: "tool:picker", text: "Label picker" },
  { keys: ["r"], action: "tool:roi", text: "ROI rectangle" },
  { keys: ["s"], action: "tool:scribble", text: "Scribble (cell / background marks)" },
  { keys: ["x"], action: "scribble-swap", text: "Swap the scribble mark" },
  { keys: ["c"], action: "tool:segment", text: "Click-to-segment" },
  { keys: ["w"], action: "tool:wand", text: "Magic wand" },
  { keys: ["k"], action: "tool:split", text: "Split a cell: drag from one part to the other; Shift-drag cuts it exactly along the drawn line" },
  { keys: ["g"], action: "tool:merge", text: "Merge cells: click them, then Enter; or drag from one cell onto another (merged at once)" },
  { keys: ["o"], action: "tool:polygon", text: "Polygon" },
  { keys: ["d"], action: "tool:delete-box", text: "Delete every cell in a box" },
  { keys: ["c + click"], action: null, text: "Click-to-segment: on background a new cell; on a cell re-segments it; then click it (or just outside its edge) to add, Shift+click to remove" },
  { keys: ["Ctrl + click", "Cmd + click"], action: null, text: "Delete the cell under the pointer, whatever the tool (as in Cellpose); Ctrl+Z brings it back" },
  { keys: ["Alt + click"], action: null, text: "Pick the label under the pointer as the active one (eyedropper), whatever the tool; on background: label 0" },
  { keys: ["i"], action: "assist:morph:fill_holes", text: "Fill holes in the cell under the pointer (the selected cell when the pointer is off the cells)" },
  { keys: ["I"], action: "assist:morph-all:fill_holes", text: "Shift+i: the same on every cell (of the selected ROI when edits are locked)" },
  { keys: ["t"], action: "assist:morph:grow", text: "Grow the cell under the pointer (else the selected cell) by 1 px (never over another cell)" },
  { keys: ["T"], action: "assist:morph-all:grow", text: "Shift+t: the same on every cell (of the selected ROI when edits are locked)" },
  { keys: ["j"], action: "assist:morph:shrink", text: "Shrink the cell under the pointer (else the selected cell) by 1 px" },
  { keys: ["J"], action: "assist:morph-all:shrink", text: "Shift+j: the same on every cell (of the selected ROI when edits are locked)" },
  { keys: ["u"], action: "assist:morph:smooth", text: "Smooth the outline of the cell under the pointer (else the selected cell)" },
  { keys: ["U"], action: "assist:morph-all:smooth", text: "Shift+u: the same on every cell (of the selected ROI when edits are locked)" },
  { keys: ["q"], action: "assist:morph:remove_specks", text: "Remove specks: keep the largest piece of the cell under the pointer (else the selected cell)" },
  { keys: ["Q"], action: "assist:morph-all:remove_specks", text: "Shift+q: the same on every cell (of the selected ROI when edits are locked), and deletes the cells smaller than the \"min px\" box and larger than the \"max px\" box beside the specks button" },
  { keys: ["a"], action: "assist:refine", text: "Snap the outline of the cell under the pointer (else the selected cell) to the image's edge near it (the shown channels)" },
  { keys: ["A"], action: "assist:refine-all", text: "Shift+a: snap every cell's outline at once (of the selected ROI when edits are locked)" },
  { keys: ["y"], action: "assist:copy", text: "Copy the previous frame's cells where this frame is empty, keeping identities" },
  { keys: ["Y"], action: "assist:copy-replace", text: "Shift+y: replace this frame's cells with the previous frame's (the ROI only when locked)" },
  { keys: ["m"], action: "new-label", text: "Select a new, unused label" },
  { keys: ["n"], action: "toggle-contiguous", text: "Contiguous fill on / off (off: the fill bucket changes every pixel of that label)" },
  { keys: ["v"], action: "toggle-preserve", text: "Preserve labels on / off (assisted tools never paint over other cells)" },
  { keys: ["["], action: "brush-smaller", text: "Brush smaller" },
  { keys: ["]"], action: "brush-bigger", text: "Brush bigger" },
  { keys: [",", "<"], action: "frame-prev", text: "Previous frame" },
  { keys: [".", ">"], action: "frame-next", text: "Next frame" },
  { keys: ["Delete", "Backspace"], action: "delete-roi", text: "Delete the selected ROI" },
  { keys: ["Enter"], action: "enter", text: "Finish a merge or polygon" },
  { keys: ["Escape"], action: "escape", text: "Cancel / deselect the ROI, close this list" },
  { keys: ["?"], action: "help", text: "Show / hide this list of shortcuts" },
  { keys: ["Ctrl+Z"], action: "undo", text: "Undo" },
  { keys: ["Ctrl+Shift+Z", "Ctrl+Y"], action: "redo", text: "Redo" },
  { keys: ["Wheel"], action: null, text: "Zoom at the cursor once the canvas has focus (click it first), or any time with Ctrl/Cmd held; otherwise the wheel scrolls the notebook" },
];

/** Slider keys handled by the widget itself: a step down or up, or the ends of the range. */
/** @type {Record<string, number | "min" | "max">} */
export const SLIDER_KEYS = { ArrowLeft: -1, ArrowDown: -1, ArrowRight: 1, ArrowUp: 1, Home: "min", End: "max" };

/**
 * Step a range input as the browser would for `key`, then dispatch `input` and `change` (what the
 * widget's listeners act on).
 * @param {HTMLInputElement} input
 * @param {string} key
 */
export function stepSlider(input, key) {
  const min = Number(input.min || 0);
  const max = Number(input.max || 100);
  const step = Number(input.step) > 0 ? Number(input.step) : 1;
  const move = SLIDER_KEYS[key];
  const old = Number(input.value);
  let value = move === "min" ? min : move === "max" ? max : old + move * step;
  // Stay on the step grid (min + k * step) and inside the range; round away float noise.
  value = Math.min(max, Math.max(min, min + Math.round((value - min) / step) * step));
  value = Number(value.toPrecision(12));
  if (value === old) return false;
  input.value = String(value);
  input.dispatchEvent(new Event("input", { bubbles: true }));
  input.dispatchEvent(new Event("change", { bubbles: true }));
  return true;
}

/**
 * Create an element with attributes/properties and children.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, any>} [attrs]
 * @param {(Node | string)[]} [children]
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attrs = {}, children = []) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else if (k.startsWith("data-")) el.setAttribute(k, v);
    else if (k in el) /** @type {any} */ (el)[k] = v;
    else el.setAttribute(k, v);
  }
  for (const c of children) el.append(c);
  return el;
}

/**
 * @param {string} action @param {string} text @param {string} title
 */
const actionButton = (action, text, title) => h("button", { type: "button", "data-action": action, title, text });

/** The `?` overlay: a table of SHORTCUTS (hidden until `?`). */
function buildHelp() {
  const rows = SHORTCUTS.map((s) =>
    h("tr", {}, [h("td", {}, s.keys.flatMap((k, i) => [...(i ? [" / "] : []), h("kbd", { text: k === " " ? "Space" : k })])), h("td", { text: s.text })]),
  );
  const close = h("button", { type: "button", "data-action": "help", text: "close", title: "Close the list of shortcuts (? or Escape)" });
  const help = h("div", { class: "segpaint-help", role: "dialog", "aria-label": "Keyboard shortcuts" }, [
    h("div", { class: "segpaint-help-head" }, [h("strong", { text: "Keyboard shortcuts" }), close]),
    h("table", {}, [h("tbody", {}, rows)]),
  ]);
  help.hidden = true;
  return { help, btnHelpClose: close };
}

/**
 * Build the widget's elements.
 * @param {{ brushMin: number, exportFormats: string[], tools: string[] }} limits
 */
export function buildDom(limits) {
  const root = h("div", { class: "segpaint-annotator", tabIndex: 0 });
  root.setAttribute("data-ready", "0");
  root.setAttribute("data-frame", "");
  root.setAttribute("data-draws", "0");
  // Keep JupyterLab's command-mode shortcuts (m = markdown, f = find, ...) away from our keys.
  root.setAttribute("data-lm-suppress-shortcuts", "true");
  root.append(h("style", { text: CSS }));

  const toolbar = h("div", { class: "segpaint-toolbar" });
  /** @type {Record<string, HTMLButtonElement>} */
  const toolButtons = {};
  for (const t of limits.tools) {
    const b = h("button", { type: "button", "data-tool": t, title: TOOL_TITLES[t] ?? t, text: t });
    toolButtons[t] = b;
    toolbar.append(b);
  }
  const btnUndo = actionButton("undo", "undo", "Undo (Ctrl+Z)");
  const btnRedo = actionButton("redo", "redo", "Redo (Ctrl+Shift+Z)");
  const btnNew = actionButton("new-label", "new label", "New label (m)");
  const btnFit = actionButton("fit", "fit", "Fit the image in the view");
  const btnDeleteRoi = actionButton("delete-roi", "delete ROI", "Delete the selected ROI (Delete)");
  const btnHelp = actionButton("help", "?", "Keyboard shortcuts (?)");
  toolbar.append(h("span", { class: "segpaint-sep" }), btnUndo, btnRedo, btnNew, btnFit, btnDeleteRoi, btnHelp);
  // An Experiment's widget: one position at a time (hidden for a single Session; see controls.js).
  const posSelect = h("select", { "data-control": "position", title: "Position (well/position) shown and edited" });
  const posLabel = h("label", { class: "segpaint-position" }, ["position ", posSelect]);
  posLabel.style.display = "none";
  toolbar.append(h("span", { class: "segpaint-sep" }), posLabel);

  const brushSize = h("input", { type: "range", min: limits.brushMin, max: 100, step: 1, "data-control": "brush-size", title: "Brush size ([ / ])" });
  const brushLabel = h("span", { class: "segpaint-value" });
  const labelInput = h("input", { type: "number", min: 0, step: 1, "data-control": "selected-label", title: "Selected label (0 erases); Enter applies" });
  const labelSwatch = h("span", { class: "segpaint-swatch", "data-control": "selected-swatch", title: "Colour of the selected label" });
  const opacity = h("input", { type: "range", min: 0, max: 1, step: 0.01, "data-control": "opacity", title: "Label opacity" });
  const contour = h("input", { type: "checkbox", "data-control": "contour", title: "Show labels as outlines" });
  const selectedOnly = h("input", { type: "checkbox", "data-control": "selected-only", title: "Show only the selected label" });
  const lockRoi = h("input", { type: "checkbox", "data-control": "lock-to-roi", title: "Lock edits to the ROIs" });
  const labelCount = h("span", { class: "segpaint-value", "data-control": "label-count" });
  const labelList = h("select", { "data-control": "label-list", title: "Labels on this frame: choose one to select it and bring it into view" });
  const contiguous = h("input", { type: "checkbox", "data-control": "fill-contiguous", title: "Contiguous fill (n): off, the fill bucket changes every pixel of the clicked label" });
  const settings = h("div", { class: "segpaint-row" }, [
    h("label", {}, ["brush ", brushSize, brushLabel]),
    h("label", {}, ["label ", labelInput, labelSwatch]),
    h("label", {}, ["opacity ", opacity]),
    h("label", {}, [contour, " contour"]),
    h("label", {}, [selectedOnly, " selected only"]),
    h("label", {}, [contiguous, " contiguous fill"]),
    h("label", {}, [lockRoi, " lock edits to ROI"]),
    h("label", {}, [labelCount, " ", labelList]),
  ]);

  const frameSlider = h("input", { type: "range", min: 0, max: 0, step: 1, "data-control": "frame", title: "Frame (, / .)" });
  const frameLabel = h("span", { class: "segpaint-value" });
  const btnPrev = actionButton("frame-prev", "◀", "Previous frame (,)");
  const btnPlay = actionButton("play", "▶ play", "Play / pause");
  const btnNext = actionButton("frame-next", "▶", "Next frame (.)");
  const playFps = h("input", { type: "number", min: 1, max: 30, step: 1, value: 10, "data-control": "play-fps", title: "Play speed in frames per second (1 to 30)" });
  const popSelect = h("select", { "data-control": "population", title: "Population" });
  // Frame controls: hidden for a single-frame image (controls.js syncFrame).
  const frameBox = h("span", { class: "segpaint-frames" }, [
    h("label", {}, ["frame ", frameSlider, frameLabel]), btnPrev, btnPlay, btnNext, h("label", {}, [playFps, " fps"]),
  ]);
  const frameRow = h("div", { class: "segpaint-row" }, [frameBox, h("label", {}, ["population ", popSelect])]);

  const formatSelect = h("select", { "data-control": "export-format", title: "Export format" });
  for (const f of limits.exportFormats) formatSelect.append(h("option", { value: f, text: f }));
  const btnExport = actionButton("export", "Export ROI", "Export the selected ROI (or all ROIs of this frame)");
  const btnSave = actionButton("save", "Save labels", "Save the population's labels (labels_<population>/)");
  const methodSelect = h("select", { "data-control": "presegment-method", title: "Pre-segmentation method" });
  const scopeSelect = h("select", { "data-control": "presegment-scope", title: "Frames to pre-segment" });
  scopeSelect.append(h("option", { value: "frame", text: "this frame" }), h("option", { value: "all", text: "all frames" }));
  const btnPreseg = actionButton("presegment", "Pre-segment", "Run the pre-segmentation");
  const progress = h("progress", { class: "segpaint-progress", max: 1, value: 0 });
  const actionsRow = h("div", { class: "segpaint-row" }, [
    formatSelect, btnExport, btnSave, h("span", { class: "segpaint-sep" }), methodSelect, scopeSelect, btnPreseg, progress,
  ]);

  const channelsBox = h("div", { class: "segpaint-channels" });
  const viewport = h("div", { class: "segpaint-viewport" });
  const imageCanvas = h("canvas", { class: "segpaint-image" }); // what is on screen, viewport-size
  const viewCanvas = h("canvas", { class: "segpaint-view", "aria-label": "Image and labels (click to give it focus; then the wheel zooms)" });
  viewport.append(imageCanvas, viewCanvas);
  // Drag handle under the canvas: drag to resize (the `height` trait keeps the result).
  const resizeHandle = h("div", { class: "segpaint-resize", role: "separator", "aria-orientation": "horizontal", title: "Drag to resize the canvas" });
  const { help, btnHelpClose } = buildHelp();
  viewport.append(help);
  // Status: the colour of the label under the cursor, then the text (click to show a long message in full).
  const cursorSwatch = h("span", { class: "segpaint-swatch", "data-control": "cursor-swatch" });
  const statusText = h("span", { class: "segpaint-status-text" });
  // No role="status": it would be read aloud at every pointer move.
  const status = h("div", { class: "segpaint-status", title: "" }, [cursorSwatch, statusText]);
  root.append(toolbar, settings, frameRow, channelsBox, actionsRow, viewport, resizeHandle, status);
  nameControls(root);

  return {
    root, toolButtons, btnUndo, btnRedo, btnNew, btnFit, btnDeleteRoi, btnHelp, btnHelpClose, help, brushSize, brushLabel, labelInput,
    labelSwatch, labelCount, labelList, opacity, contour, selectedOnly, lockRoi, contiguous, frameSlider, frameLabel, btnPrev, btnPlay, btnNext, playFps, frameBox, popSelect,
    posSelect, posLabel, formatSelect, btnExport, btnSave, methodSelect, scopeSelect, btnPreseg, progress, channelsBox, viewport,
    imageCanvas, viewCanvas, resizeHandle, status, statusText, cursorSwatch,
  };
}

/**
 * Give every control an accessible name: its title, else its visible text (screen readers read
 * an icon button such as "◀" as nothing useful). Called again for controls added later.
 * @param {HTMLElement} root
 */
export function nameControls(root) {
  for (const el of root.querySelectorAll("button, input, select, canvas.segpaint-view")) {
    if (el.getAttribute("aria-label")) continue;
    const name = el.getAttribute("title") || el.textContent?.trim() || el.getAttribute("data-control") || "";
    if (name) el.setAttribute("aria-label", name);
  }
}

/** @typedef {ReturnType<typeof buildDom>} Dom */
