// @ts-check
// Pointer geometry and tool helpers: the view transform (zoom at cursor, pan, fit), ROI hit-testing
// and editing, and the napari-like key map. Pure helpers; widget.js wires them to DOM events.


export const ZOOM_MIN = 1 / 64;
export const ZOOM_MAX = 64;

/**
 * Image <-> viewport transform. The image pixel (row, col) covers [col, col + 1) x [row, row + 1) in
 * image units; viewport x = tx + col * scale, y = ty + row * scale (CSS pixels inside the viewport).
 * "Point" coordinates handed to the brush put pixel centres on integers (row - 0.5 shift).
 */
export class View {
  constructor() {
    this.scale = 1;
    this.tx = 0;
    this.ty = 0;
  }

  /** Continuous image coordinates (pixel centres on integers) of a viewport point. */
  toImage(x, y) {
    return { row: (y - this.ty) / this.scale - 0.5, col: (x - this.tx) / this.scale - 0.5 };
  }

  /** Viewport point of a (continuous) image coordinate. */
  toViewport(row, col) {
    return { x: this.tx + (col + 0.5) * this.scale, y: this.ty + (row + 0.5) * this.scale };
  }

  /** Zoom by `factor` keeping the image point under (x, y) fixed. */
  zoomAt(x, y, factor) {
    const s = Math.min(Math.max(this.scale * factor, ZOOM_MIN), ZOOM_MAX);
    const k = s / this.scale;
    this.tx = x - (x - this.tx) * k;
    this.ty = y - (y - this.ty) * k;
    this.scale = s;
  }

  panBy(dx, dy) {
    this.tx += dx;
    this.ty += dy;
  }

  /** Fit an image of height x width into a viewport, centred. */
  fit(height, width, viewHeight, viewWidth) {
    if (!height || !width || !viewHeight || !viewWidth) return;
    this.scale = Math.min(viewWidth / width, viewHeight / height);
    this.tx = (viewWidth - width * this.scale) / 2;
    this.ty = (viewHeight - height * this.scale) / 2;
  }
}

/** Integer pixel under a continuous point. */
export function pixelOf(point) {
  return [Math.floor(point.row + 0.5), Math.floor(point.col + 0.5)];
}

/** Clip a box [r0, r1, c0, c1] to the image, or null when empty. */
export function clipBox(box, height, width) {
  const r0 = Math.max(0, Math.min(box[0], height));
  const r1 = Math.max(0, Math.min(box[1], height));
  const c0 = Math.max(0, Math.min(box[2], width));
  const c1 = Math.max(0, Math.min(box[3], width));
  return r1 > r0 && c1 > c0 ? [r0, r1, c0, c1] : null;
}

/** ROI box spanned by two continuous points (both pixels included). */
export function boxFromPoints(a, b) {
  const [ra, ca] = pixelOf(a);
  const [rb, cb] = pixelOf(b);
  return [Math.min(ra, rb), Math.max(ra, rb) + 1, Math.min(ca, cb), Math.max(ca, cb) + 1];
}

/**
 * What an ROI pointer-down at a continuous point grabs: {index, handle} where handle is "move" or a
 * combination of "n"/"s" and "w"/"e" (edges/corners, within `tol` image pixels), or null.
 * Later ROIs are on top, so they win.
 */
export function hitRoi(rois, point, tol) {
  const y = point.row + 0.5;
  const x = point.col + 0.5;
  for (let i = rois.length - 1; i >= 0; i--) {
    const [r0, r1, c0, c1] = rois[i];
    if (y < r0 - tol || y > r1 + tol || x < c0 - tol || x > c1 + tol) continue;
    let h = "";
    if (Math.abs(y - r0) <= tol) h += "n";
    else if (Math.abs(y - r1) <= tol) h += "s";
    if (Math.abs(x - c0) <= tol) h += "w";
    else if (Math.abs(x - c1) <= tol) h += "e";
    if (h) return { index: i, handle: h };
    if (y >= r0 && y <= r1 && x >= c0 && x <= c1) return { index: i, handle: "move" };
  }
  return null;
}

/**
 * Apply a drag of (dRow, dCol) whole pixels to an ROI with the grabbed handle; keeps it inside the
 * image and at least one pixel on each side.
 */
export function dragRoi(box, handle, dRow, dCol, height, width) {
  let [r0, r1, c0, c1] = box;
  if (handle === "move") {
    const dr = Math.min(Math.max(dRow, -r0), height - r1);
    const dc = Math.min(Math.max(dCol, -c0), width - c1);
    return [r0 + dr, r1 + dr, c0 + dc, c1 + dc];
  }
  if (handle.includes("n")) r0 = Math.min(Math.max(r0 + dRow, 0), r1 - 1);
  if (handle.includes("s")) r1 = Math.max(Math.min(r1 + dRow, height), r0 + 1);
  if (handle.includes("w")) c0 = Math.min(Math.max(c0 + dCol, 0), c1 - 1);
  if (handle.includes("e")) c1 = Math.max(Math.min(c1 + dCol, width), c0 + 1);
  return [r0, r1, c0, c1];
}

/** CSS cursor for an ROI handle. */
export function handleCursor(handle) {
  if (!handle) return "crosshair";
  if (handle === "move") return "move";
  if (handle === "n" || handle === "s") return "ns-resize";
  if (handle === "w" || handle === "e") return "ew-resize";
  return handle === "nw" || handle === "se" ? "nwse-resize" : "nesw-resize";
}

/** Morph keys (js/assist_cells.js) -> `session.morph` operations; with Shift: every cell. */
export const MORPH_KEYS = /** @type {Record<string, string>} */ ({
  i: "fill_holes", t: "grow", j: "shrink", u: "smooth", q: "remove_specks",
});

/**
 * napari-like keys -> action names (null when the key is not ours). `e` is a KeyboardEvent-like
 * object ({key, ctrlKey, metaKey, shiftKey, altKey}).
 */
export function keyAction(e) {
  const mod = e.ctrlKey || e.metaKey;
  const key = e.key;
  if (mod && !e.altKey) {
    const k = key.toLowerCase();
    if (k === "z") return e.shiftKey ? "redo" : "undo";
    if (k === "y") return "redo";
    return null;
  }
  if (e.altKey || mod) return null;
  // assisted tools on cells (js/assist_cells.js): upper case (Shift) = every cell / replace
  const lower = key.length === 1 ? key.toLowerCase() : "";
  if (lower in MORPH_KEYS) return `assist:morph${key === lower ? "" : "-all"}:${MORPH_KEYS[lower]}`;
  if (lower === "y") return key === lower ? "assist:copy" : "assist:copy-replace";
  if (lower === "a") return key === lower ? "assist:refine" : "assist:refine-all"; // snap outlines
  switch (key) {
    case "m":
      return "new-label";
    case "b":
    case "p":
      return "tool:brush";
    case "e":
      return "tool:eraser";
    case "f":
      return "tool:fill";
    case "l":
      return "tool:picker";
    case "r":
      return "tool:roi";
    case "h":
      return "tool:pan";
    case "s":
      return "tool:scribble";
    case "x":
      return "scribble-swap";
    // assisted tools (issue 11, js/assist.js)
    case "c":
      return "tool:segment";
    case "w":
      return "tool:wand";
    case "k":
      return "tool:split";
    case "g":
      return "tool:merge";
    case "o":
      return "tool:polygon";
    case "d":
      return "tool:delete-box";
    case "Enter":
      return "enter";
    case "v": // preserVe labels (p is the brush, as in napari)
      return "toggle-preserve";
    case "n": // contiguous fill on / off (Non-contiguous)
      return "toggle-contiguous";
    case "?":
      return "help";
    case "[":
      return "brush-smaller";
    case "]":
      return "brush-bigger";
    case ",":
    case "<":
      return "frame-prev";
    case ".":
    case ">":
      return "frame-next";
    case " ":
      return "space";
    case "Delete":
    case "Backspace":
      return "delete-roi";
    case "Escape":
      return "escape";
    default:
      return null;
  }
}

/**
 * Modifier clicks (chords) that act whatever the tool, so they save a tool switch: Ctrl+click
 * (Cmd+click on a Mac) deletes the cell under the pointer (Cellpose's chord), Alt+click picks its
 * label as the active one (the eyedropper of paint programs). Only the primary button, and only
 * one modifier: Shift (refinement clicks, Shift-drag with the ROI tool) and Ctrl+Alt combinations
 * stay with the tools. `e` is a PointerEvent-like object ({button, ctrlKey, metaKey, altKey,
 * shiftKey}).
 * @param {{button?: number, ctrlKey?: boolean, metaKey?: boolean, altKey?: boolean, shiftKey?: boolean}} e
 * @returns {"delete" | "pick" | null}
 */
export function chordOf(e) {
  if ((e.button ?? 0) !== 0 || e.shiftKey) return null;
  const mod = Boolean(e.ctrlKey || e.metaKey);
  if (mod && !e.altKey) return "delete";
  if (e.altKey && !mod) return "pick";
  return null;
}

/** Next brush size for `[` / `]`: steps of one below 10 px, ~10 % above. */
export function stepBrush(size, dir, min, max) {
  const step = size < 10 ? 1 : Math.max(1, Math.round(size * 0.1));
  return Math.min(Math.max(size + dir * step, min), max);
}
