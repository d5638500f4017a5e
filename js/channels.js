// @ts-check
// Channels and contrast: one row of controls per channel (visible, colour, lo/hi, gamma, auto),
// and the display settings pushed to the renderer. Dragging a slider re-renders locally only; the
// trait goes to Python once, on release.

import { parseHex, percentileLimits } from "./colors.js";
import { dequantize } from "./codec.js";
import { h, nameControls } from "./dom.js";
import { fmt } from "./display.js";

/** @typedef {import("./display.js").Display} Display */

/**
 * @typedef {object} ChannelControls
 * @property {HTMLInputElement} vis
 * @property {HTMLInputElement} color
 * @property {HTMLInputElement} lo
 * @property {HTMLInputElement} hi
 * @property {HTMLInputElement} gamma
 * @property {HTMLButtonElement} auto
 * @property {HTMLInputElement} loNum typed lower limit
 * @property {HTMLInputElement} hiNum typed upper limit
 * @property {HTMLSpanElement} gammaText the gamma value
 */

/**
 * Check typed contrast limits: two finite numbers, lower below upper. Returns the pair or a
 * message for the status line.
 * @param {string} loText @param {string} hiText @param {string} name channel name
 * @returns {{limits: number[]} | {error: string}}
 */
export function parseContrast(loText, hiText, name) {
  const lo = Number(String(loText).trim() || NaN);
  const hi = Number(String(hiText).trim() || NaN);
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) {
    return { error: `${name}: contrast limits must be numbers; got ${JSON.stringify(loText)} and ${JSON.stringify(hiText)}` };
  }
  if (!(hi > lo)) return { error: `${name}: the lower contrast limit (${lo}) must be below the upper one (${hi})` };
  return { limits: [lo, hi] };
}

/** Gamma as shown next to its slider. @param {number} g */
export const fmtGamma = (g) => `γ ${Number(g).toFixed(2)}`;

export class ChannelPanel {
  /**
   * @param {Display} d
   * @param {(target: EventTarget, type: string, fn: (e: any) => void) => void} listen
   * @param {{ gammaMin: number, gammaMax: number }} limits
   */
  constructor(d, listen, limits) {
    this.d = d;
    this.listen = listen;
    this.limits = limits;
    /** @type {ChannelControls[]} */
    this.controls = [];
    /** @type {number[][] | null} contrast while a slider is dragged */
    this.contrastDraft = null;
    /** @type {number[] | null} */
    this.gammaDraft = null;
    this.lastMoved = "";
  }

  /** @param {string} name */
  get(name) {
    return this.d.model.get(name) || [];
  }

  build() {
    const { d, listen } = this;
    const box = d.ui.channelsBox;
    box.replaceChildren();
    this.controls = [];
    /** @type {string[]} */
    const names = this.get("channel_names");
    names.forEach((name, c) => {
      const data = { "data-channel": String(c) };
      const vis = h("input", { type: "checkbox", "data-control": "channel-visible", ...data, title: `Show ${name}` });
      const color = h("input", { type: "color", "data-control": "channel-color", ...data, title: `Colour of ${name}` });
      // Two ends on one track (two range inputs stacked; the lower one takes only its thumb), and
      // the limits as numbers to type: one slider pixel spans hundreds of grey levels on 16 bits.
      const lo = h("input", { type: "range", "data-control": "contrast-lo", ...data, title: `${name}: lower contrast limit` });
      const hi = h("input", { type: "range", "data-control": "contrast-hi", ...data, title: `${name}: upper contrast limit` });
      const loNum = h("input", { type: "number", step: "any", "data-control": "contrast-lo-value", ...data, title: `${name}: lower contrast limit (type a value, Enter applies)` });
      const hiNum = h("input", { type: "number", step: "any", "data-control": "contrast-hi-value", ...data, title: `${name}: upper contrast limit (type a value, Enter applies)` });
      const gamma = h("input", { type: "range", min: this.limits.gammaMin, max: this.limits.gammaMax, step: 0.05, "data-control": "gamma", ...data, title: `${name}: gamma` });
      const gammaText = h("span", { class: "segpaint-value", "data-control": "gamma-value", ...data });
      const auto = h("button", { type: "button", "data-action": "auto-contrast", ...data, text: "auto", title: "Contrast from percentiles of this frame (the auto_percentiles trait, default 1 and 99.8)" });
      const range = h("span", { class: "segpaint-range" }, [hi, lo]);
      box.append(h("div", { class: "segpaint-row segpaint-channel" }, [vis, color, h("b", { text: ` ${name} ` }), loNum, range, hiNum, gamma, gammaText, auto]));
      this.controls.push({ vis, color, lo, hi, gamma, auto, loNum, hiNum, gammaText });
      const typed = () => {
        const parsed = parseContrast(loNum.value, hiNum.value, name);
        if ("error" in parsed) {
          d.say(parsed.error);
          this.syncControls();
          return;
        }
        const cl = this.get("contrast").map((/** @type {number[]} */ x) => x.slice());
        cl[c] = parsed.limits;
        d.save("contrast", cl);
        this.sync();
      };
      for (const num of [loNum, hiNum]) {
        listen(num, "change", typed);
        listen(num, "keydown", (/** @type {KeyboardEvent} */ e) => {
          if (e.key !== "Enter") return;
          e.preventDefault();
          e.stopPropagation();
          typed();
        });
      }
      const localContrast = () => {
        /** @type {number[][]} */
        const cl = this.get("contrast").map((/** @type {number[]} */ x) => x.slice());
        let a = Number(lo.value);
        let b = Number(hi.value);
        if (b <= a) {
          if (document.activeElement === lo || this.lastMoved === "lo") a = b - Number(lo.step || 1);
          else b = a + Number(hi.step || 1);
        }
        cl[c] = [a, b];
        return cl;
      };
      /** @param {string} which */
      const drag = (which) => () => {
        this.lastMoved = which;
        this.contrastDraft = localContrast();
        this.apply(this.contrastDraft);
      };
      listen(lo, "input", drag("lo"));
      listen(hi, "input", drag("hi"));
      const commitContrast = () => {
        if (this.contrastDraft) d.save("contrast", this.contrastDraft);
        this.contrastDraft = null;
      };
      listen(lo, "change", commitContrast);
      listen(hi, "change", commitContrast);
      listen(gamma, "input", () => {
        const g = this.get("gamma").slice();
        g[c] = Number(gamma.value);
        gammaText.textContent = fmtGamma(g[c]);
        this.gammaDraft = g;
        this.apply(null, g);
      });
      listen(gamma, "change", () => {
        if (this.gammaDraft) d.save("gamma", this.gammaDraft);
        this.gammaDraft = null;
      });
      listen(vis, "change", () => {
        const v = this.get("channel_visible").slice();
        v[c] = vis.checked;
        d.save("channel_visible", v);
        this.sync();
      });
      listen(color, "input", () => {
        const cols = this.get("channel_colors").slice();
        cols[c] = color.value;
        d.save("channel_colors", cols);
        this.sync();
      });
      listen(auto, "click", () => {
        const ch = d.state.channelData.get(c);
        if (!ch) {
          d.say(`channel ${name} is hidden; show it first`);
          return;
        }
        const cl = this.get("contrast").map((/** @type {number[]} */ x) => x.slice());
        const [pLow, pHigh] = d.model.get("auto_percentiles") || [1, 99.8];
        // On a quantized preview the percentiles are of its samples: map them back to values.
        cl[c] = percentileLimits(ch.data, ch.dtype, pLow, pHigh).map((v) => dequantize(v, ch.quant));
        if (!(cl[c][1] > cl[c][0])) cl[c] = [cl[c][0], cl[c][0] + 1];
        d.save("contrast", cl);
        this.sync();
      });
    });
    nameControls(box);
    this.syncControls();
    this.apply(); // label colours avoid the channel hues from the start
  }

  /**
   * The typed-limit boxes follow the sliders (not while the user types in them).
   * @param {ChannelControls} ctl @param {number[]} lim
   */
  showLimits(ctl, lim) {
    const active = typeof document !== "undefined" ? document.activeElement : null;
    if (active !== ctl.loNum) ctl.loNum.value = fmt(lim[0]);
    if (active !== ctl.hiNum) ctl.hiNum.value = fmt(lim[1]);
  }

  /** @param {number} c */
  range(c) {
    const r = this.d.state.ranges[c] || [0, 1];
    const cl = this.get("contrast")[c] || r;
    return [Math.min(r[0], cl[0]), Math.max(r[1], cl[1])];
  }

  syncControls() {
    const cl = this.get("contrast");
    const g = this.get("gamma");
    const vis = this.get("channel_visible");
    const cols = this.get("channel_colors");
    this.controls.forEach((ctl, c) => {
      const [mn, mx] = this.range(c);
      const ch = this.d.state.channelData.get(c);
      const isInt = !ch || (ch.sourceDtype || ch.dtype) !== "float32";
      const step = isInt ? 1 : (mx - mn) / 1000 || 0.001;
      for (const s of [ctl.lo, ctl.hi]) {
        s.min = String(mn);
        s.max = String(mx);
        s.step = String(step);
      }
      if (cl[c]) {
        ctl.lo.value = String(cl[c][0]);
        ctl.hi.value = String(cl[c][1]);
        this.showLimits(ctl, cl[c]);
      }
      if (g[c] !== undefined) {
        ctl.gamma.value = String(g[c]);
        ctl.gammaText.textContent = fmtGamma(g[c]);
      }
      ctl.vis.checked = vis[c] !== false;
      if (cols[c]) ctl.color.value = cols[c];
    });
  }

  /**
   * Push channel display settings (from traits, or drafts while a slider is dragged) to the renderer.
   * @param {number[][] | null} [contrast]
   * @param {number[] | null} [gamma]
   */
  apply(contrast = null, gamma = null) {
    const cl = contrast || this.contrastDraft || this.get("contrast");
    const g = gamma || this.gammaDraft || this.get("gamma");
    const vis = this.get("channel_visible");
    const cols = this.get("channel_colors");
    const renderer = this.d.renderer;
    let changed = false;
    for (const ch of renderer.channels) {
      const c = ch.index;
      let rgb = ch.rgb;
      try {
        rgb = parseHex(cols[c]);
      } catch {
        /* keep the previous colour when a bad value slips through */
      }
      const [lo, hi] = cl[c] || [ch.lo, ch.hi];
      if (renderer.setChannelDisplay(c, { lo, hi, gamma: g[c] ?? 1, rgb, visible: vis[c] !== false })) changed = true;
    }
    if (contrast) {
      contrast.forEach((lim, c) => {
        if (this.controls[c] && lim) this.showLimits(this.controls[c], lim);
      });
    }
    // Label colours keep clear of the hues of the channels on screen (issue 10).
    /** @type {number[][]} */
    const shown = [];
    cols.forEach((/** @type {string} */ col, /** @type {number} */ c) => {
      if (vis[c] === false) return;
      try {
        shown.push(parseHex(col));
      } catch {
        /* a bad colour has no hue to avoid */
      }
    });
    if (renderer.colors.avoidChannels(shown)) {
      changed = true;
      this.d.controls?.syncSwatch();
    }
    if (changed) this.d.redrawChannels();
  }

  /** The renderer's channel list for the data the model holds. */
  channelList() {
    const cl = this.get("contrast");
    const g = this.get("gamma");
    const vis = this.get("channel_visible");
    const cols = this.get("channel_colors");
    const list = [];
    for (const [idx, ch] of this.d.state.channelData) {
      let rgb = [255, 255, 255];
      try {
        rgb = parseHex(cols[idx]);
      } catch {
        /* default white */
      }
      const [lo, hi] = cl[idx] || ch.quant || percentileLimits(ch.data, ch.dtype);
      list.push({ index: idx, dtype: ch.dtype, data: ch.data, quant: ch.quant, visible: vis[idx] !== false, rgb, lo, hi, gamma: g[idx] ?? 1 });
    }
    return list;
  }

  sync() {
    this.apply();
    this.syncControls();
  }
}
