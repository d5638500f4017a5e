// @ts-check
// Colours: label colours that keep neighbouring labels apart, and per-channel LUTs
// (contrast limits + gamma + channel colour) computed in the browser.

/**
 * A palette of distinct colours (r, g, b); neighbours never share an entry. None is darker than
 * LABEL_LUMA_MIN, so a label stays visible on a dark image.
 */
export const PALETTE = [
  [230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48], [180, 80, 230],
  [70, 240, 240], [240, 50, 230], [210, 245, 60], [250, 190, 212], [0, 170, 170], [220, 190, 255],
  [170, 110, 40], [255, 250, 200], [200, 60, 60], [170, 255, 195], [128, 128, 0], [255, 215, 180],
  [90, 120, 255], [255, 99, 71], [46, 139, 87], [218, 112, 214], [100, 149, 237], [255, 160, 0],
];

/** Smallest luma (0..1, Rec. 601 weights) of a label colour: nothing near-black on dark images. */
export const LABEL_LUMA_MIN = 0.35;
/** Label colours keep at least this hue distance (degrees) from every visible coloured channel. */
export const HUE_GAP_DEG = 30;
/** Saturation from which a colour has a hue worth keeping apart (white, greys and pastels do not). */
export const HUE_SATURATION_MIN = 0.25;
/** The fewest label colours kept, however many channel hues there are to avoid. */
export const LABEL_COLORS_MIN = 6;

/** Luma 0..1 of [r, g, b]. @param {number[]} rgb */
export const luma = ([r, g, b]) => (0.299 * r + 0.587 * g + 0.114 * b) / 255;

/** HSV hue (degrees) and saturation (0..1) of [r, g, b]. @param {number[]} rgb */
export function hueOf([r, g, b]) {
  const max = Math.max(r, g, b);
  const min = Math.min(r, g, b);
  const c = max - min;
  const sat = max ? c / max : 0;
  if (!c) return { hue: 0, sat };
  let hue = max === r ? ((g - b) / c) % 6 : max === g ? (b - r) / c + 2 : (r - g) / c + 4;
  hue *= 60;
  return { hue: hue < 0 ? hue + 360 : hue, sat };
}

/** Distance between two hues on the colour wheel, 0..180. @param {number} a @param {number} b */
export const hueDistance = (a, b) => {
  const d = Math.abs(a - b) % 360;
  return d > 180 ? 360 - d : d;
};

/**
 * Palette entries a label may use next to channels shown in `channelRgbs`: those at least
 * HUE_GAP_DEG from every saturated channel hue (a green cell on a green channel is invisible).
 * Pale entries are judged by their hue too once saturated enough to have one. When too few are
 * left, the LABEL_COLORS_MIN entries farthest in hue from the channels are kept.
 * @param {number[][]} channelRgbs colours of the visible channels
 * @returns {number[]} palette indices, ascending
 */
export function labelColorChoices(channelRgbs) {
  const hues = channelRgbs.map(hueOf).filter((h) => h.sat >= HUE_SATURATION_MIN).map((h) => h.hue);
  const gap = PALETTE.map((rgb) => {
    const h = hueOf(rgb);
    if (h.sat < HUE_SATURATION_MIN * 0.8 || !hues.length) return 180;
    return Math.min(...hues.map((c) => hueDistance(c, h.hue)));
  });
  const all = PALETTE.map((_, i) => i);
  const ok = all.filter((i) => gap[i] >= HUE_GAP_DEG);
  if (ok.length >= LABEL_COLORS_MIN) return ok;
  return all.sort((a, b) => gap[b] - gap[a] || a - b).slice(0, LABEL_COLORS_MIN).sort((a, b) => a - b);
}

/** Deterministic integer hash (so a label keeps its colour across frames unless a neighbour clashes). */
export function hashLabel(label) {
  let h = label >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x45d9f3b) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x45d9f3b) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * Adjacency of labels: two non-zero labels are neighbours when they touch, or face each other
 * across a one-pixel gap (watershed lines), horizontally or vertically, inside rows/cols of `box`.
 * Returns Map<label, Set<label>> (symmetric), added to `adj`.
 */
/**
 * @param {ArrayLike<number>} labels @param {number} width @param {number} height
 * @param {number[] | null} [box] @param {Map<number, Set<number>>} [adj]
 */
export function labelAdjacency(labels, width, height, box = null, adj = new Map()) {
  const pairs = new Set();
  collectPairs(labels, width, height, box || [0, height, 0, width], pairs);
  return pairsToAdjacency(pairs, adj);
}

const SHIFT = 2 ** 26;

/** Add the neighbour pairs found in `box` to `pairs` (numbers a * 2^26 + b with a < b, or strings). */
export function collectPairs(labels, width, height, box, pairs) {
  const [r0, r1, c0, c1] = box;
  // Boundaries come in runs of the same pair: skip repeats before touching the Set.
  let last = -1;
  const link = (a, b) => {
    const lo = a < b ? a : b;
    const hi = a < b ? b : a;
    const key = hi < SHIFT ? lo * SHIFT + hi : `${lo},${hi}`;
    if (key === last) return;
    last = key;
    pairs.add(key);
  };
  for (let r = r0; r < r1; r++) {
    const base = r * width;
    for (let c = c0; c < c1; c++) {
      const v = labels[base + c];
      if (v === 0) continue;
      if (c + 1 < width) {
        const w = labels[base + c + 1];
        if (w !== v) {
          if (w !== 0) link(v, w);
          else if (c + 2 < width) {
            const w2 = labels[base + c + 2];
            if (w2 !== v && w2 !== 0) link(v, w2);
          }
        }
      }
      if (r + 1 < height) {
        const w = labels[base + width + c];
        if (w !== v) {
          if (w !== 0) link(v, w);
          else if (r + 2 < height) {
            const w2 = labels[base + 2 * width + c];
            if (w2 !== v && w2 !== 0) link(v, w2);
          }
        }
      }
    }
  }
  return pairs;
}

/** Turn a pair set into a symmetric Map<label, Set<label>>. */
export function pairsToAdjacency(pairs, adj = new Map()) {
  const add = (a, b) => {
    let s = adj.get(a);
    if (!s) adj.set(a, (s = new Set()));
    s.add(b);
  };
  for (const key of pairs) {
    let a;
    let b;
    if (typeof key === "number") {
      a = Math.floor(key / SHIFT);
      b = key - a * SHIFT;
    } else {
      [a, b] = key.split(",").map(Number);
    }
    add(a, b);
    add(b, a);
  }
  return adj;
}

/**
 * Greedy colouring: each label gets its hashed palette entry unless a neighbour already holds it,
 * then the next free one. Returns Map<label, paletteIndex>. With 24 colours and planar-ish
 * adjacency a free colour always exists; if not, the hashed one is kept.
 */
/**
 * @param {Map<number, Set<number>>} adj @param {number} [nColors] @param {Map<number, number>} [assigned]
 * @param {Iterable<number> | null} [only] @param {number[] | null} [choices]
 */
export function assignColors(adj, nColors = PALETTE.length, assigned = new Map(), only = null, choices = null) {
  // `choices`: the palette indices allowed (labelColorChoices); all of 0..nColors-1 by default.
  const pool = choices && choices.length ? choices : Array.from({ length: nColors }, (_, i) => i);
  const m = pool.length;
  const todo = only ? [...only] : [...adj.keys()];
  todo.sort((a, b) => a - b);
  for (const label of todo) {
    const used = new Set();
    for (const n of adj.get(label) || []) {
      if (n === label) continue;
      const a = assigned.get(n);
      used.add(a === undefined ? pool[hashLabel(n) % m] : a);
    }
    const start = hashLabel(label) % m;
    let pick = pool[start];
    for (let i = 0; i < m; i++) {
      const cand = pool[(start + i) % m];
      if (!used.has(cand)) {
        pick = cand;
        break;
      }
    }
    assigned.set(label, pick);
  }
  return assigned;
}

/** Label colour table: palette index for a label (hash when not assigned yet). */
export class LabelColors {
  constructor() {
    this.adj = new Map();
    this.assigned = new Map();
    /** @type {number[]} palette indices labels may use (see avoidChannels) */
    this.choices = PALETTE.map((_, i) => i);
  }

  /** Palette index a label gets when nothing clashes. @param {number} label */
  hashIndex(label) {
    return this.choices[hashLabel(label) % this.choices.length];
  }

  /**
   * Keep label colours away from the hues of the visible channels. Returns true when the choice
   * changed (colours were reassigned: the overlay needs a redraw).
   * @param {number[][]} channelRgbs colours of the visible channels
   */
  avoidChannels(channelRgbs) {
    const choices = labelColorChoices(channelRgbs);
    if (choices.join() === this.choices.join()) return false;
    this.choices = choices;
    this.assigned = assignColors(this.adj, PALETTE.length, new Map(), null, choices);
    return true;
  }

  /** Recompute for a whole frame. */
  reset(labels, width, height) {
    this.adj = labelAdjacency(labels, width, height);
    this.assigned = assignColors(this.adj, PALETTE.length, new Map(), null, this.choices);
  }

  /**
   * The same as `reset`, in bands of rows between which the caller may yield (a 4096² frame takes
   * a few hundred ms). Returns a generator; the colours switch over when it finishes.
   */
  *resetInSteps(labels, width, height, rowsPerStep = 256, empty = false) {
    const pairs = new Set();
    // A frame known to hold no label (its header's max_label is 0) has no neighbours to find.
    for (let r = 0; r < (empty ? 0 : height); r += rowsPerStep) {
      collectPairs(labels, width, height, [r, Math.min(height, r + rowsPerStep), 0, width], pairs);
      yield r;
    }
    this.adj = pairsToAdjacency(pairs);
    this.assigned = assignColors(this.adj, PALETTE.length, new Map(), null, this.choices);
  }

  /**
   * After an edit inside `box`: add adjacencies found there and recolour the given labels when they
   * clash with a neighbour. Returns true when a colour changed (the overlay needs a full redraw).
   */
  update(labels, width, height, box, edited) {
    const grow = [Math.max(box[0] - 2, 0), Math.min(box[1] + 2, height), Math.max(box[2] - 2, 0), Math.min(box[3] + 2, width)];
    labelAdjacency(labels, width, height, grow, this.adj);
    let changed = false;
    for (const label of edited) {
      if (label === 0) continue;
      const before = this.assigned.get(label);
      let clash = before === undefined;
      if (!clash) for (const n of this.adj.get(label) || []) if (this.colorIndex(n) === before) clash = true;
      if (!clash) continue;
      this.assigned.delete(label);
      assignColors(this.adj, PALETTE.length, this.assigned, [label], this.choices);
      const after = this.assigned.get(label);
      if (before !== undefined && after !== before) changed = true;
      if (before === undefined && after !== this.hashIndex(label)) changed = true;
    }
    return changed;
  }

  /** Palette index of a label. */
  colorIndex(label) {
    const i = this.assigned.get(label);
    return i === undefined ? this.hashIndex(label) : i;
  }

  /** RGB of a label. */
  rgb(label) {
    return PALETTE[this.colorIndex(label)];
  }
}

/** "#rrggbb" of [r, g, b]. @param {number[]} rgb */
export const cssColor = (rgb) => "#" + rgb.map((v) => v.toString(16).padStart(2, "0")).join("");

/** Parse "#rrggbb" into [r, g, b]; throws with the expected form otherwise. */
export function parseHex(color) {
  const m = /^#([0-9a-fA-F]{6})$/.exec(color || "");
  if (!m) throw new Error(`channel colour must look like "#rrggbb"; got ${JSON.stringify(color)}`);
  const v = parseInt(m[1], 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}

/** Intensity 0..255 of a value after contrast limits [lo, hi] and gamma. */
export function intensity(value, lo, hi, gamma) {
  if (!(hi > lo)) return value >= hi ? 255 : 0;
  let t = (value - lo) / (hi - lo);
  if (t <= 0) return 0;
  if (t >= 1) return 255;
  if (gamma !== 1) t = Math.pow(t, gamma);
  return Math.round(t * 255);
}

/**
 * Packed colour lookup for integer channels: entry v holds the channel's contribution for value v,
 * as r | g << 10 | b << 20 (10-bit lanes so up to four channels add without overflow).
 * `quant` ([lo, hi] of a quantized preview channel, uint8): entry k is for the value k stands for,
 * lo + k * (hi - lo) / 255, so contrast and gamma act on a preview as on the lossless data.
 * @param {string} dtype @param {number} lo @param {number} hi @param {number} gamma
 * @param {number[]} rgb @param {number[] | null} [quant]
 */
export function buildLut(dtype, lo, hi, gamma, rgb, quant = null) {
  const size = dtype === "uint8" ? 256 : dtype === "uint16" ? 65536 : 0;
  if (!size) return null;
  const lut = new Uint32Array(size);
  const [cr, cg, cb] = rgb;
  /** @param {number} i */
  const lanes = (i) => pack10((i * cr + 127) / 255 | 0, (i * cg + 127) / 255 | 0, (i * cb + 127) / 255 | 0);
  if (quant) {
    const [qlo, qhi] = quant;
    for (let k = 0; k < size; k++) lut[k] = lanes(intensity(qlo + (k * (qhi - qlo)) / 255, lo, hi, gamma));
    return lut;
  }
  // Intensity is 0 up to lo and 255 from hi on: only the values between need computing (a
  // contrast drag on uint16 then costs the width of the window, not 65,536 powers).
  let first = 0;
  let stop = size;
  if (Number.isFinite(lo) && Number.isFinite(hi) && hi > lo) {
    first = Math.min(size, Math.max(0, Math.floor(lo)));
    stop = Math.min(size, Math.max(first, Math.ceil(hi) + 1));
  }
  if (first > 0) lut.fill(lanes(intensity(first - 1, lo, hi, gamma)), 0, first);
  let prev = -1;
  let packed = 0;
  for (let v = first; v < stop; v++) {
    const i = intensity(v, lo, hi, gamma);
    if (i !== prev) {
      packed = lanes(i);
      prev = i;
    }
    lut[v] = packed;
  }
  if (stop < size) lut.fill(lanes(intensity(stop, lo, hi, gamma)), stop, size);
  return lut;
}

/** Pack three 0..1023 lanes. */
export function pack10(r, g, b) {
  return (r | (g << 10) | (b << 20)) >>> 0;
}

/**
 * Percentile contrast limits of a channel (auto contrast): [lo, hi] at the given percentiles.
 * Integer channels use a histogram (exact, one pass); float channels sort a strided sample.
 */
export function percentileLimits(data, dtype, pLow = 1, pHigh = 99.8) {
  const n = data.length;
  if (n === 0) return [0, 1];
  if (dtype === "uint8" || dtype === "uint16") {
    const hist = new Uint32Array(dtype === "uint8" ? 256 : 65536);
    for (let i = 0; i < n; i++) hist[data[i]]++;
    const find = (p) => {
      const target = (p / 100) * (n - 1);
      let acc = 0;
      for (let v = 0; v < hist.length; v++) {
        acc += hist[v];
        if (acc > target) return v;
      }
      return hist.length - 1;
    };
    const lo = find(pLow);
    let hi = find(pHigh);
    if (hi <= lo) hi = lo + 1;
    return [lo, hi];
  }
  const step = Math.max(1, Math.floor(n / 262144));
  const sample = [];
  for (let i = 0; i < n; i += step) if (Number.isFinite(data[i])) sample.push(data[i]);
  if (!sample.length) return [0, 1];
  const s = Float64Array.from(sample).sort();
  const at = (p) => s[Math.min(s.length - 1, Math.max(0, Math.round((p / 100) * (s.length - 1))))];
  const lo = at(pLow);
  let hi = at(pHigh);
  if (!(hi > lo)) hi = lo + 1;
  return [lo, hi];
}

/**
 * Range of a channel for its contrast sliders, from a strided sample (cheap on frame changes).
 * @param {ArrayLike<number>} data
 * @returns {number[]}
 */
export function computeRange(data) {
  let mn = Infinity;
  let mx = -Infinity;
  const step = Math.max(1, Math.floor(data.length / 262144));
  for (let i = 0; i < data.length; i += step) {
    const v = data[i];
    if (v < mn) mn = v;
    if (v > mx) mx = v;
  }
  if (!Number.isFinite(mn)) return [0, 1];
  return mx > mn ? [mn, mx] : [mn, mn + 1];
}
