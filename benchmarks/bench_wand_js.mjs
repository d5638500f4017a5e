// Time the browser's magic wand (js/wand.js) at 2048 x 2048 under Node: one flood per tolerance
// step of a drag, as the widget runs it on each pointer move. Target: within one animation frame
// (16 ms). Run: node benchmarks/bench_wand_js.mjs [size]
import { Wand } from "../js/wand.js";

const size = Number(process.argv[2] || 2048);
// Two uint16 channels: bright discs of radius 6-20 on a noisy background, plus a smooth ramp so
// that a wide tolerance floods most of the frame (the worst case).
let s = 12345;
const rand = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
const a = new Uint16Array(size * size);
const b = new Uint16Array(size * size);
for (let i = 0; i < a.length; i++) {
  a[i] = 200 + rand() * 60;
  b[i] = 100 + ((i % size) / size) * 400 + rand() * 20;
}
for (let k = 0; k < (size * size) / 4000; k++) {
  const r = Math.floor(rand() * size), c = Math.floor(rand() * size), rad = 6 + Math.floor(rand() * 14);
  for (let y = Math.max(0, r - rad); y < Math.min(size, r + rad); y++)
    for (let x = Math.max(0, c - rad); x < Math.min(size, c + rad); x++)
      if ((y - r) ** 2 + (x - c) ** 2 <= rad * rad) a[y * size + x] += 800;
}
// one known cell (radius 25) at the centre: the usual wand target
for (let y = size / 2 - 25; y <= size / 2 + 25; y++)
  for (let x = size / 2 - 25; x <= size / 2 + 25; x++)
    if ((y - size / 2) ** 2 + (x - size / 2) ** 2 <= 625) a[y * size + x] = 1000 + rand() * 60;
const t0 = performance.now();
const wand = new Wand([a, b], [[150, 1200], [80, 560]], size, size);
const setupMs = performance.now() - t0;
const rows = [];
for (const [where, seed, tol] of [
  ["cell", [size / 2, size / 2], 0.05], ["cell", [size / 2, size / 2], 0.15],
  ["background", [10, 10], 0.02], ["background", [10, 10], 0.05], ["background", [10, 10], 0.1],
  ["background", [10, 10], 0.2], ["background", [10, 10], 0.4],
]) {
  const times = [];
  let count = 0;
  for (let k = 0; k < 25; k++) {
    wand.last = null; // from scratch, not grown from the previous call
    const t0 = performance.now();
    const m = wand.mask(seed, tol);
    times.push(performance.now() - t0);
    count = m ? m.count : 0;
  }
  times.sort((x, y) => x - y);
  rows.push({ seed: where, tolerance: tol, pixels: count, p50_ms: +times[12].toFixed(2), p95_ms: +times[23].toFixed(2) });
}
console.log(`js/wand.js at ${size}x${size}, 2 uint16 channels (node ${process.version})`);
// A drag: one flood per pointer move, the tolerance widening 0.0025 a move (1 px at 1/400 per px)
// up to 0.4, then narrowing back by 0.05 (each narrowing step is a fresh flood).
const drag = [];
for (const [where, seed] of [["cell", [size / 2, size / 2]], ["background", [10, 10]]]) {
  const moves = [];
  for (let tol = 0.02; tol <= 0.4; tol += 0.0025) {
    const t1 = performance.now();
    wand.mask(seed, tol);
    moves.push(performance.now() - t1);
  }
  const back = [];
  for (let tol = 0.35; tol >= 0.05; tol -= 0.05) {
    const t1 = performance.now();
    wand.mask(seed, tol);
    back.push(performance.now() - t1);
  }
  moves.sort((x, y) => x - y);
  back.sort((x, y) => x - y);
  const q = (a, f) => +a[Math.min(a.length - 1, Math.floor(f * (a.length - 1)))].toFixed(2);
  drag.push({ seed: where, widening_moves: moves.length, p50_ms: q(moves, 0.5), p95_ms: q(moves, 0.95), max_ms: q(moves, 1), narrowing_p50_ms: q(back, 0.5), narrowing_max_ms: q(back, 1) });
}
console.log(`set-up (normalised intensity of the frame, once per wand press): ${setupMs.toFixed(1)} ms`);
console.log("one flood from scratch (a press, or a narrowing step):");
console.table(rows);
console.log("per pointer move of a drag:");
console.table(drag);
