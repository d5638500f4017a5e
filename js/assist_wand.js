// @ts-check
// The magic wand tool of one view (w): press on the frame, drag sideways to widen or narrow the
// tolerance, release to paint the region with the selected label as one stroke. The flood runs in
// the browser (wand.js) on the shown channels, one budgeted step per animation frame, and the
// preview is drawn from wand_overlay.js. Assist (assist.js) routes the pointer here.

import { pixelOf } from "./tools.js";
import { Wand } from "./wand.js";
import { WandView } from "./wand_overlay.js";

/** @typedef {import("./display.js").Display} Display */
/** @typedef {{row: number, col: number}} Point */

/** Tolerance change per CSS pixel of horizontal drag (400 px: the whole 0..1 range). */
export const WAND_PX = 1 / 400;
/** Tolerance a wand press starts from (later presses start from the last one used). */
export const WAND_START = 0.1;
/** Flood time per animation frame of a drag (ms): the rest of the 16 ms draws the preview. */
export const WAND_BUDGET_MS = 6;
/** Preview pixels written per animation frame at most (the rest on the next frames). */
export const WAND_SHOW_MAX = 1 << 18;

export class WandTool {
  /**
   * @param {Display} d
   * @param {(px: number[]) => number[] | null | undefined} clipAt the ROI an edit at px stays in
   * @param {() => void} draw redraw the overlay
   */
  constructor(d, clipAt, draw) {
    this.d = d;
    this.clipAt = clipAt;
    this.draw = draw;
    /** @type {{start: number[], x: number, frame: number | null, tol: number} | null} the drag */
    this.gesture = null;
    this.tolerance = WAND_START;
    /** @type {{key: string, wand: Wand} | null} */
    this.wandCache = null;
    /** @type {{count: number, exact: boolean} | null} the wand's region now previewed */
    this.preview = null;
    /** @type {WandView | null} the preview's pixels and their off-screen canvas */
    this.wandView = null;
    /** pending animation frame of the wand's preview (one budgeted flood step per frame, not per move) */
    this.wandFrame = 0;
  }

  /** @param {{x: number, y: number}} at */
  move(at) {
    const g = this.gesture;
    if (!g) return;
    this.tolerance = Math.min(Math.max(g.tol + (at.x - g.x) * WAND_PX, 0), 1);
    this.scheduleWand();
  }

  /** The release: paint the whole region at the tolerance of the last move (none if the frame
   * changed under the drag: the preview belonged to the other frame). */
  up() {
    const g = this.gesture;
    if (!g) return;
    this.stopFrames();
    if (g.frame !== this.d.state.frame) {
      this.gesture = null;
      this.hideWand();
      this.d.say("the frame changed during the drag: nothing was done");
      return;
    }
    this.commitWand();
    this.gesture = null;
  }

  /** Drop the drag and its preview; true when there was one. */
  cancel() {
    const had = this.gesture !== null;
    this.stopFrames();
    this.gesture = null;
    this.hideWand();
    return had;
  }

  stopFrames() {
    if (this.wandFrame) cancelAnimationFrame(this.wandFrame);
    this.wandFrame = 0;
  }

  /** True while the region is previewed. */
  hasOverlay() {
    return this.gesture !== null || Boolean(this.preview && this.preview.count);
  }

  /** @param {CanvasRenderingContext2D} ctx */
  drawOverlay(ctx) {
    if (this.preview && this.preview.count) this.wandView?.draw(ctx, this.d.view, this.d.viewSize());
  }

  /**
   * The wand for the shown channels and contrast of the frame held (made once, then reused).
   * @param {boolean} [quiet] preparing ahead: say nothing, ask for nothing
   */
  wand(quiet = false) {
    const { d } = this;
    const { state, model } = d;
    if (quiet && (state.previewStep !== 1 || !state.channelData.size)) return null;
    if (state.previewStep !== 1) {
      state.requestFull(0);
      d.say("wand: loading the frame at full resolution; press again in a moment");
      return null;
    }
    const visible = model.get("channel_visible") || [];
    const contrast = model.get("contrast") || [];
    let shown = [...state.channelData.keys()].filter((i) => visible[i] !== false).sort((a, b) => a - b);
    if (!shown.length) shown = [...state.channelData.keys()].sort((a, b) => a - b);
    if (!shown.length || shown.some((i) => !contrast[i])) {
      d.say("wand: no channel data yet");
      return null;
    }
    const limits = shown.map((i) => [Number(contrast[i][0]), Number(contrast[i][1])]);
    const key = JSON.stringify([state.frame, state.width, state.height, shown, limits]);
    const data = shown.map((i) => /** @type {import("./model.js").ChannelData} */ (state.channelData.get(i)).data);
    const c = this.wandCache;
    if (c && c.key === key && c.wand.channels.every((ch, k) => ch === data[k])) return c.wand;
    const wand = new Wand(data, limits, state.width, state.height);
    this.wandCache = { key, wand };
    return wand;
  }

  /** @param {Point} point @param {{x: number, y: number}} at */
  startWand(point, at) {
    if (!this.wand()) return false;
    this.hideWand();
    this.gesture = { start: [point.row, point.col], x: at.x, frame: this.d.state.frame, tol: this.tolerance };
    if (this.updateWand()) this.scheduleWand();
    this.draw();
    return true;
  }

  /** Pointer moves can come faster than frames: one budgeted flood step per animation frame,
   * and more frames while the flood has not reached the tolerance (the drag paused). */
  scheduleWand() {
    if (typeof requestAnimationFrame !== "function") {
      while (this.updateWand());
      this.draw();
    } else if (!this.wandFrame) {
      this.wandFrame = requestAnimationFrame(() => {
        this.wandFrame = 0;
        const more = this.updateWand();
        this.draw();
        if (more) this.scheduleWand();
      });
    }
  }

  /**
   * Flood on (for WAND_BUDGET_MS at most) towards the tolerance and show what is reached.
   * @returns {boolean} true when the preview is not yet the whole region (call again next frame)
   */
  updateWand() {
    const g = this.gesture;
    const wand = this.wandCache?.wand;
    if (!g || !wand) return false;
    const clip = this.clipAt(pixelOf({ row: g.start[0], col: g.start[1] })) ?? null;
    const flood = wand.flood;
    const got = wand.reach(g.start, this.tolerance, clip, { deadline: performance.now() + WAND_BUDGET_MS });
    // a new flood (the clip changed under the drag) rewrote the order the preview follows
    if (wand.flood !== flood) this.wandView?.clear();
    this.preview = got;
    const n = got ? got.count : 0;
    const shown = this.showWand(wand, n);
    const more = got !== null && (!got.exact || !shown);
    this.d.say(`wand: tolerance ${this.tolerance.toFixed(3)} · ${n}${more ? "+" : ""} px (drag sideways to change, release to paint)`);
    return more;
  }

  /** @param {Wand} wand @param {number} count @returns {boolean} true when all of it is shown */
  showWand(wand, count) {
    if (!this.wandView || !this.wandView.fits(wand)) this.wandView = new WandView(wand.width, wand.height);
    return this.wandView.show(wand, count, WAND_SHOW_MAX);
  }

  /** Clear the preview (its flood may be replaced by the next press's). */
  hideWand() {
    this.preview = null;
    this.wandView?.clear();
  }

  /** Paint the wand's whole region at the gesture's tolerance with the selected label (only on
   * background and that label when preserve_labels is on) and send it as one stroke, like the
   * fill bucket: the same pixels as `session.wand`, however far the preview had got. */
  commitWand() {
    const { d } = this;
    const g = this.gesture;
    const wand = this.wandCache?.wand;
    this.hideWand();
    if (!g || !wand) return;
    const clip = this.clipAt(pixelOf({ row: g.start[0], col: g.start[1] })) ?? null;
    const p = wand.mask(g.start, this.tolerance, clip);
    if (!p || !p.count || !d.state.labels || !d.editor.canEdit()) return;
    const labels = d.state.labels;
    const width = d.renderer.width;
    const label = d.model.get("selected_label") >>> 0;
    const preserve = d.model.get("preserve_labels") !== false;
    const [r0, r1, c0, c1] = p.bbox;
    const w = c1 - c0;
    const mask = p.mask;
    let n = 0;
    for (let r = r0; r < r1; r++) {
      for (let c = c0; c < c1; c++) {
        const k = (r - r0) * w + (c - c0);
        if (!mask[k]) continue;
        const i = r * width + c;
        if (labels[i] === label || (preserve && labels[i] !== 0)) mask[k] = 0;
        else {
          labels[i] = label;
          n++;
        }
      }
    }
    if (!n) {
      d.say(`wand: nothing to paint (the region is already label ${label}${preserve ? " or other cells" : ""})`);
      return;
    }
    d.renderer.updateBox(p.bbox);
    d.editor.send({ bbox: p.bbox, mask }, label);
    d.editor.afterEdit(p.bbox, label);
    d.say(`wand: painted ${n} px with label ${label} (tolerance ${this.tolerance.toFixed(3)})`);
  }
}
