// Time the page's script for a contrast drag and for a brush stroke under Node, this tree beside a
// before tree (same run, same data, alternating), without a browser: the parts Chromium adds (the
// canvas upload, layout, the websocket) are bench_browser.py's and bench_peers_run.py's.
//
// - contrast: Renderer.setChannelDisplay + redrawChannels per slider step (what channels.js runs on
//   an `input` event) on a 4096² uint16 frame with labels, at the benchmark page's canvas size;
// - move: one pointer move of a stroke (Stroke.lineTo through the move's points + updateBox of the
//   box it dirtied), like the shared harness's line strokes (40 moves over 0.4 of the width);
// - release: pointer-up up to the stroke's message (Editor.endStroke's work before model.send:
//   the patch and its encoding).
//
// Run: node benchmarks/bench_stroke_js.mjs [--before /tmp/base6f/js] [--view 1350x550] [--reps 40]
// Writes benchmarks/results/stroke_js.json.

import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const [viewW, viewH] = opt("view", "1350x550").split("x").map(Number);
const reps = Number(opt("reps", "40"));
const trees = { after: resolve(here, "../js") };
if (opt("before", "")) trees.before = resolve(opt("before", ""));

/** @param {string} dir */
async function load(dir) {
  const url = (f) => pathToFileURL(join(dir, f)).href;
  const render = await import(url("render.js"));
  const raster = await import(url("raster.js"));
  const codec = await import(url("codec.js"));
  let editor = null;
  try {
    editor = await import(url("editor.js"));
  } catch {
    editor = null; // a tree whose editor needs the DOM at import
  }
  return { ...render, ...raster, ...codec, editor };
}

function frame(size) {
  let s = 7;
  const rand = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  const data = new Uint16Array(size * size);
  for (let i = 0; i < data.length; i++) data[i] = 300 + rand() * 3000;
  const labels = new Uint32Array(size * size);
  for (let k = 1; k <= 400; k++) {
    const r = Math.floor(rand() * size), c = Math.floor(rand() * size), rad = 8 + Math.floor(rand() * 20);
    for (let y = Math.max(0, r - rad); y < Math.min(size, r + rad); y++)
      for (let x = Math.max(0, c - rad); x < Math.min(size, c + rad); x++)
        if ((y - r) ** 2 + (x - c) ** 2 <= rad * rad) labels[y * size + x] = k;
  }
  return { data, labels };
}

function renderer(mod, size, data, labels) {
  const r = new mod.Renderer(null);
  r.setViewport(viewW, viewH);
  r.setImageSize(size, size);
  const scale = Math.min(viewW / size, viewH / size);
  r.setView(scale, (viewW - size * scale) / 2, (viewH - size * scale) / 2);
  r.setChannels([{ index: 0, dtype: "uint16", data, visible: true, rgb: [255, 255, 255], lo: 300, hi: 3300, gamma: 1 }]);
  r.setLabels(labels);
  r.redraw();
  return r;
}

const pct = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.round((q / 100) * (s.length - 1)))];
};

// Each figure alternates the trees change by change (stroke by stroke), so both share the load.
function contrastRuns(names, fr, size, gamma) {
  const rs = names.map((name) => renderer(mods[name], size, fr.data, fr.labels));
  const out = names.map(() => []);
  for (let k = 0; k < 3 * reps + 3; k++) {
    const hi = 1500 + ((k * 97) % 1800);
    names.forEach((_, j) => {
      const t0 = performance.now();
      rs[j].setChannelDisplay(0, { lo: 300, hi, gamma, rgb: [255, 255, 255], visible: true });
      rs[j].redrawChannels();
      if (k >= 3) out[j].push(performance.now() - t0);
    });
  }
  return out;
}

function strokeRuns(names, size) {
  const state = names.map((name) => {
    const labels = new Uint32Array(size * size);
    const touched = new Uint8Array(size * size);
    const r = renderer(mods[name], size, new Uint16Array(size * size).fill(1000), labels);
    return { mod: mods[name], labels, touched, r, moves: [], release: [] };
  });
  for (let k = 0; k < 3 * reps; k++) {
    const row = size * (0.15 + 0.7 * ((k * 0.035) % 1));
    for (const st of state) {
      const { mod, labels, touched, r } = st;
      const stroke = new mod.Stroke({ labels, touched, width: size, height: size, radius: 6, label: k + 1 });
      stroke.lineTo(row, size * 0.3);
      for (let m = 1; m <= 40; m++) {
        const t0 = performance.now();
        const box = stroke.lineTo(row, size * (0.3 + (0.4 * m) / 40));
        if (box) r.updateBox(box);
        st.moves.push(performance.now() - t0);
      }
      // What Editor.endStroke runs before model.send: this tree's mask-only patch, the before
      // tree's Stroke.finish (values and mask), then the codec's encoding.
      const t0 = performance.now();
      const patch = mod.extractMask ? mod.extractMask(touched, size, stroke.bbox) : stroke.finish();
      const msgs = mod.encodeStroke({ bbox: patch.bbox, mask: patch.mask, label: stroke.label, stroke: k, population: "cells", frame: 0 }, 2 ** 20);
      st.release.push(performance.now() - t0);
      if (mod.extractMask) mod.clearBox(touched, size, patch.bbox);
      if (!msgs.length) throw new Error("no stroke message");
    }
  }
  return state;
}

const mods = {};
for (const [name, dir] of Object.entries(trees)) mods[name] = await load(dir);
const names = Object.keys(trees);
const rows = [];
const fr = frame(4096);
for (const gamma of [1, 0.7]) {
  const got = contrastRuns(names, fr, 4096, gamma);
  names.forEach((name, j) => rows.push({ figure: `contrast 4096² gamma ${gamma}`, tree: name, p50: pct(got[j], 50), p95: pct(got[j], 95) }));
}
for (const size of [512, 2048, 4096]) {
  const state = strokeRuns(names, size);
  names.forEach((name, j) => rows.push({ figure: `move ${size}²`, tree: name, p50: pct(state[j].moves, 50), p95: pct(state[j].moves, 95) }));
  names.forEach((name, j) => rows.push({ figure: `release ${size}²`, tree: name, p50: pct(state[j].release, 50), p95: pct(state[j].release, 95) }));
}
console.log(`page script under Node ${process.version}, viewport ${viewW}x${viewH}, ms p50 / p95`);
for (const row of rows) {
  const before = rows.find((o) => o.figure === row.figure && o.tree === "before");
  const ratio = before && row.tree === "after" ? `  ratio ${(row.p50 / before.p50).toFixed(2)} / ${(row.p95 / before.p95).toFixed(2)}` : "";
  console.log(`${row.figure.padEnd(28)} ${row.tree.padEnd(7)} ${row.p50.toFixed(3).padStart(8)} / ${row.p95.toFixed(3).padStart(8)}${ratio}`);
}
mkdirSync(join(here, "results"), { recursive: true });
writeFileSync(join(here, "results", "stroke_js.json"), JSON.stringify({ view: [viewW, viewH], reps, rows }, null, 1));
console.log("wrote benchmarks/results/stroke_js.json");
