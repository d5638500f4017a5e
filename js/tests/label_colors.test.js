// Issue 10: label colours are never near-black on a dark image and never share the hue of a
// visible channel (a green cell on a green channel disappears).
import { describe, expect, it } from "vitest";
import {
  HUE_GAP_DEG, HUE_SATURATION_MIN, LABEL_COLORS_MIN, LABEL_LUMA_MIN, LabelColors, PALETTE, assignColors, hueDistance,
  hueOf, labelAdjacency, labelColorChoices, luma, parseHex,
} from "../colors.js";

// The channel colours segpaint.widgets.Annotator hands out (DEFAULT_COLORS), plus white.
const DEFAULTS = ["#ff00ff", "#00ff00", "#00ffff", "#ff0000", "#ffff00", "#0000ff"].map(parseHex);

/** Every subset of the default channel colours with 1 to 3 members. */
function subsets() {
  const out = [];
  const n = DEFAULTS.length;
  for (let mask = 1; mask < 1 << n; mask++) {
    const set = DEFAULTS.filter((_, i) => mask & (1 << i));
    if (set.length <= 3) out.push(set);
  }
  return out;
}

describe("label colours", () => {
  it("no palette entry is near-black (luma >= LABEL_LUMA_MIN)", () => {
    const dark = PALETTE.filter((rgb) => luma(rgb) < LABEL_LUMA_MIN);
    expect(dark).toEqual([]);
    expect(luma([0, 0, 128])).toBeLessThan(LABEL_LUMA_MIN); // what the old palette held
  });

  it("hue helpers: red 0, green 120, blue 240; distance wraps round the wheel", () => {
    expect(hueOf([255, 0, 0]).hue).toBe(0);
    expect(hueOf([0, 255, 0]).hue).toBe(120);
    expect(hueOf([0, 0, 255]).hue).toBe(240);
    expect(hueOf([255, 255, 255]).sat).toBe(0);
    expect(hueDistance(350, 10)).toBe(20);
  });

  it("with one to three default channels visible, every label colour keeps HUE_GAP_DEG from each", () => {
    for (const channels of subsets()) {
      const choices = labelColorChoices(channels);
      expect(choices.length).toBeGreaterThanOrEqual(8);
      for (const i of choices) {
        const h = hueOf(PALETTE[i]);
        if (h.sat < HUE_SATURATION_MIN * 0.8) continue; // no hue to clash with
        for (const ch of channels) {
          expect([PALETTE[i], ch, hueDistance(h.hue, hueOf(ch).hue) >= HUE_GAP_DEG]).toEqual([PALETTE[i], ch, true]);
        }
      }
    }
  });

  it("a grey or white channel leaves the whole palette; six hues still leave LABEL_COLORS_MIN colours", () => {
    expect(labelColorChoices([[255, 255, 255]])).toEqual(PALETTE.map((_, i) => i));
    expect(labelColorChoices([])).toEqual(PALETTE.map((_, i) => i));
    expect(labelColorChoices(DEFAULTS).length).toBe(LABEL_COLORS_MIN);
  });

  it("LabelColors on a green channel: no label is green, neighbours still differ", () => {
    // a 40 x 40 image of 4 x 4 tiles, each its own label: every tile touches its neighbours
    const W = 40;
    const labels = new Uint32Array(W * W).map((_, i) => 1 + Math.floor(Math.floor(i / W) / 4) * 10 + Math.floor((i % W) / 4));
    const colors = new LabelColors();
    colors.reset(labels, W, W);
    const green = [0, 255, 0];
    expect(colors.avoidChannels([green])).toBe(true);
    expect(colors.avoidChannels([green])).toBe(false); // same channels: nothing to redo
    const adj = labelAdjacency(labels, W, W);
    for (let label = 1; label <= 100; label++) {
      const rgb = colors.rgb(label);
      const h = hueOf(rgb);
      if (h.sat >= HUE_SATURATION_MIN * 0.8) expect(hueDistance(h.hue, 120)).toBeGreaterThanOrEqual(HUE_GAP_DEG);
      expect(luma(rgb)).toBeGreaterThanOrEqual(LABEL_LUMA_MIN);
      for (const n of adj.get(label) || []) expect(colors.colorIndex(n)).not.toBe(colors.colorIndex(label));
    }
    // a label drawn later (not assigned yet) also avoids green
    for (let label = 1000; label < 1200; label++) expect(labelColorChoices([green])).toContain(colors.colorIndex(label));
  });

  it("assignColors keeps its old behaviour without choices", () => {
    const adj = new Map([[1, new Set([2])], [2, new Set([1])]]);
    const a = assignColors(adj);
    const b = assignColors(adj, PALETTE.length, new Map(), null, PALETTE.map((_, i) => i));
    expect([...a]).toEqual([...b]);
  });
});
