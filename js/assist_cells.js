// @ts-check
// Assisted tools on whole cells (issue 11), each one `assist` message that Python runs as one
// Session call (one undo step):
//   - click-to-segment (c): a click on background makes a new cell; a click on a cell re-segments
//     it; later clicks refine the cell last segmented (`segment_at`'s positive / negative clicks,
//     all of them in each call): a click on it or just outside its edge adds, Shift+click removes;
//   - morph (i fill holes, t grow 1 px, j shrink 1 px, u smooth, q remove specks) on the cell
//     under the pointer (as napari's keys act where the cursor is; the selected cell when the
//     pointer is on background or off the canvas), with Shift on every cell of the frame (or of
//     the ROI when edits are locked); Shift+q also deletes the cells under "min px" and over "max px";
//   - snap outlines (a): that cell's outline moves to the image's edge near it
//     (`Session.refine`); Shift+a every cell of the frame (or of the ROI when edits are locked);
//   - copy labels (y): the previous frame's cells where this frame is empty; Shift+y replaces.

import { MORPH_KEYS, pixelOf } from "./tools.js";

/** @typedef {import("./display.js").Display} Display */
/** Names said on the status line. */
const MORPH_NAMES = /** @type {Record<string, string>} */ ({
  fill_holes: "fill holes", grow: "grow 1 px", shrink: "shrink 1 px", smooth: "smooth", remove_specks: "remove specks",
});
/** Button faces: short, so the row fits a 1024 px wide notebook (the title says the rest). */
const MORPH_SHORT = /** @type {Record<string, string>} */ ({
  fill_holes: "holes", grow: "+1 px", shrink: "−1 px", smooth: "smooth", remove_specks: "specks",
});
/** A click this close to the refined cell (px, Chebyshev) is on its edge: a positive click. */
export const EDGE_PX = 3;

export class CellTools {
  /**
   * @param {Display} d
   * @param {(tool: string, points: number[][], extra?: Record<string, any>) => void} send
   */
  constructor(d, send) {
    this.d = d;
    this.send = send;
    /** @type {{population: string, frame: number, label: number, seed: number[], positive: number[][], negative: number[][]} | null}
     * the cell being refined (label 0: its first segmentation has not come back yet) */
    this.refine = null;
    /** Shift+q also deletes every cell smaller than this many px (0: none); the label list shows sizes */
    this.minSize = sizeBox("min", "Shift+q (Shift-click specks) also deletes every cell smaller than this many px (0: none)");
    /** Shift+q also deletes every cell larger than this many px (0: none), e.g. another population's nuclei */
    this.maxSize = sizeBox("max", "Shift+q (Shift-click specks) also deletes every cell larger than this many px (0: none)");
  }

  /**
   * Buttons for morph, snap outlines and copy labels (Shift-click: every cell / replace), after
   * `after`.
   * @param {import("./input.js").Listen} listen @param {Element} after
   */
  bindControls(listen, after) {
    const row = document.createElement("span");
    row.className = "segpaint-cell-tools";
    const buttons = [
      ...Object.entries(MORPH_KEYS).map(([k, op]) => [`morph:${op}`, MORPH_SHORT[op], `${MORPH_NAMES[op]}: the selected cell (${k}); Shift: every cell (${k.toUpperCase()})`]),
      ["refine", "snap", "Snap outlines to the image's edges (the shown channels): the selected cell (a); Shift: every cell (A)"],
      ["copy", "⤓ prev", "Copy the previous frame's cells where this frame is empty (y); Shift: replace (Y)"],
    ];
    for (const [action, text, title] of buttons) {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = text;
      b.title = title;
      b.setAttribute("data-action", action);
      listen(b, "click", (/** @type {MouseEvent} */ e) => this.run(e.shiftKey ? shifted(action) : action));
      row.append(b);
      if (action === "morph:remove_specks") {
        for (const input of [this.minSize, this.maxSize]) {
          const box = document.createElement("label");
          box.title = input.title;
          box.style.margin = "0 0.3em 0 0.2em";
          box.append(input);
          row.append(box);
        }
      }
    }
    after.after(row);
  }

  /** Escape, a tool or frame change: the next click starts a new cell. */
  cancel() {
    const had = this.refine !== null;
    this.refine = null;
    return had;
  }

  /** @param {number[]} px */
  labelAt(px) {
    const { state, renderer } = this.d;
    return state.labels ? state.labels[px[0] * renderer.width + px[1]] : 0;
  }

  /** The cell being refined, when it is still there (same frame, population, label at its seed). */
  target() {
    const r = this.refine;
    const { state } = this.d;
    if (!r || r.frame !== state.frame || r.population !== state.population) return null;
    const now = this.labelAt(r.seed);
    if (r.label === 0 && now !== 0) r.label = now; // the new cell came back
    return now !== 0 && now === r.label ? r : null;
  }

  /** @param {number[]} px @param {number} label true when `label` is within EDGE_PX of px */
  near(px, label) {
    const { renderer } = this.d;
    for (let r = Math.max(0, px[0] - EDGE_PX); r <= Math.min(renderer.height - 1, px[0] + EDGE_PX); r++) {
      for (let c = Math.max(0, px[1] - EDGE_PX); c <= Math.min(renderer.width - 1, px[1] + EDGE_PX); c++) {
        if (this.labelAt([r, c]) === label) return true;
      }
    }
    return false;
  }

  /**
   * A click with the segment tool.
   * @param {number[]} px @param {boolean} shift
   */
  click(px, shift) {
    const { d } = this;
    const under = this.labelAt(px);
    const t = this.target();
    if (shift) {
      if (!t) {
        d.say("segment: Shift+click takes a part off the cell last segmented; click a cell first");
        return;
      }
      t.negative.push(px);
      t.positive = t.positive.filter((p) => p[0] !== px[0] || p[1] !== px[1]);
      this.sendRefine(t, `cell ${t.label}: not here (${px[0]}, ${px[1]})`);
    } else if (t && (under === t.label || (under === 0 && this.near(px, t.label)))) {
      t.positive.push(px);
      t.negative = t.negative.filter((p) => p[0] !== px[0] || p[1] !== px[1]);
      this.sendRefine(t, `cell ${t.label}: more here (${px[0]}, ${px[1]})`);
    } else {
      const { state } = d;
      if (state.frame === null || state.population === null) return;
      this.refine = { population: state.population, frame: state.frame, label: under, seed: px, positive: [], negative: [] };
      if (under) {
        this.send("segment_at", [px], { label: under });
        d.say(`re-segmenting cell ${under} from (${px[0]}, ${px[1]})…; click it again to add, Shift+click to remove`);
      } else {
        this.send("segment_at", [px]);
        d.say(`segmenting the cell at (${px[0]}, ${px[1]})…`);
      }
    }
  }

  /** @param {NonNullable<CellTools["refine"]>} t @param {string} what */
  sendRefine(t, what) {
    const copy = (/** @type {number[][]} */ ps) => ps.map((p) => p.slice());
    this.send("segment_at", [t.seed], { label: t.label, positive: copy(t.positive), negative: copy(t.negative) });
    this.d.say(`refining ${what}; ${t.positive.length + t.negative.length} click(s) so far`);
  }

  /**
   * Where a morph or copy stays when edits are locked: [] when not locked, the first corner of
   * the selected ROI (or of the only one), or null (said why) when it is ambiguous.
   * @returns {number[][] | null}
   */
  where() {
    const { d } = this;
    const clips = d.editor.clips();
    if (!clips) return [];
    const box = clips[d.rois.selected] ?? (clips.length === 1 ? clips[0] : undefined);
    if (!box) {
      d.say(clips.length ? "edits are locked to ROIs: select the ROI to work in (r, click it), or untick lock" : "edits are locked to ROIs but this frame has none: draw one with r, or untick lock");
      return null;
    }
    return [[box[0], box[2]]];
  }

  /**
   * Run `morph:<op>`, `morph-all:<op>`, `refine`, `refine-all`, `copy` or `copy-replace` (keys
   * and buttons).
   * @param {string} action
   */
  run(action) {
    const { d } = this;
    if (!d.editor.canEdit()) return;
    const points = this.where();
    if (!points) return;
    const { state } = d;
    if (action === "copy" || action === "copy-replace") {
      if (state.frame === null) return;
      if (state.frame === 0) {
        d.say("copy labels: frame 0 has no previous frame");
        return;
      }
      const mode = action === "copy" ? "fill-empty" : "replace";
      this.send("copy_labels", points, { source_frame: state.frame - 1, mode });
      d.say(`copying frame ${state.frame - 1}'s cells (${mode})…`);
      return;
    }
    if (action === "refine" || action === "refine-all") {
      const label = action === "refine" ? this.keyCell("snap outlines") : 0;
      if (label === null) return;
      this.send("refine", points, { label });
      d.say(`snapping ${label ? `cell ${label}'s outline` : "every cell's outline"} to the image's edges…`);
      return;
    }
    const [kind, op] = action.split(":");
    if (!(op in MORPH_NAMES)) return;
    const label = kind === "morph" ? this.keyCell(MORPH_NAMES[op]) : 0;
    if (label === null) return;
    const every = !label && op === "remove_specks"; // the size limits: every cell only
    const cut = every ? pixels(this.minSize) : 0;
    const top = every ? pixels(this.maxSize) : 0;
    this.send("morph", points, { op, label, ...(cut ? { min_size: cut } : {}), ...(top ? { max_size: top } : {}) });
    const sizes = `${cut ? `, and cells under ${cut} px` : ""}${top ? `, and cells over ${top} px` : ""}`;
    d.say(`${MORPH_NAMES[op]}: ${label ? `cell ${label}` : "every cell"}${sizes}…`);
  }

  /**
   * The cell a one-cell key acts on: the one under the pointer when the pointer is on the canvas
   * over a cell (no Alt+click pick needed first), else the selected label (a button, or the
   * pointer on background); null when that is not in this frame (said why).
   * @param {string} what the action, for the status line
   * @returns {number | null}
   */
  keyCell(what) {
    const under = this.underPointer();
    return under || this.selected(what);
  }

  /** The label under the pointer while it is on the canvas (0: off it, or on background). */
  underPointer() {
    const { d } = this;
    if (!d.hover || !d.cursor || !d.state.labels) return 0;
    const [r, c] = pixelOf(d.cursor);
    if (r < 0 || c < 0 || r >= d.renderer.height || c >= d.renderer.width) return 0;
    return this.labelAt([r, c]);
  }

  /**
   * The selected label when it is in this frame, else null (said why).
   * @param {string} what the action, for the status line
   * @returns {number | null}
   */
  selected(what) {
    const { d } = this;
    const label = d.model.get("selected_label") >>> 0;
    if (!label || !d.state.labels || !d.state.labels.includes(label)) {
      d.say(`${what}: cell ${label} is not in this frame; pick a cell (l) or hold Shift for every cell`);
      return null;
    }
    return label;
  }
}

/**
 * A small numeric box beside the specks button ("min px" / "max px"; empty: 0, none).
 * @param {string} which "min" or "max" @param {string} title
 */
function sizeBox(which, title) {
  const input = document.createElement("input");
  input.type = "text"; // a number box's spinner would hide the placeholder at this width
  input.inputMode = "numeric";
  input.pattern = "[0-9]*";
  input.value = ""; // empty: 0 (none); the placeholder names the box
  input.placeholder = `${which} px`;
  input.setAttribute("data-control", `${which}-size`);
  input.title = title;
  input.style.width = "3.6em";
  return input;
}

/** A size box's value in px (0: empty, not a number, or not positive). @param {HTMLInputElement} input */
function pixels(input) {
  const value = Math.floor(Number(input.value));
  return value > 0 ? value : 0;
}

/** The Shift variant of an action: every cell, or replace. @param {string} action */
export function shifted(action) {
  if (action === "copy") return "copy-replace";
  if (action === "refine") return "refine-all";
  return action.replace(/^morph:/, "morph-all:");
}
