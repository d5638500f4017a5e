// Time the browser's magic wand per pointer move of a drag at 2048 x 2048 under Node: the wand of
// this tree (js/wand.js: one ordered flood per press, a 6 ms budget per move, the preview updated
// by js/wand_overlay.js and sampled at the viewport's pixels) against a baseline wand.js (main's: a fresh scanline flood on every move
// that narrows, the preview rebuilt from the region's mask), in the same run, on the same image.
// Each move's time includes updating the preview's pixels (in Chromium, bench_wand_browser.py adds
// the canvas upload and draw). Target: every move within one animation frame (16 ms).
//
// Run: git show main:js/wand.js > /tmp/wand_main.js
//      node benchmarks/bench_wand_js.mjs [--size 2048] [--baseline /tmp/wand_main.js] [--reps 3]
// Writes benchmarks/results/wand_js.json.
//
// bench_wand_browser.py runs the same `runWandBench` in a page: keep it free of Node APIs (the
// part after "node main" is cut there).

/** The synthetic frame: two uint16 channels, bright discs on a noisy background, a smooth ramp
 * in the second channel, and one known cell (radius 25) at the centre. @param {number} size */
export function makeImage(size) {
  let s = 12345;
  const rand = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  const a = new Uint16Array(size * size);
  const b = new Uint16Array(size * size);
  for (let i = 0; i < a.length; i++) {
    a[i] = 200 + rand() * 60;
    b[i] = 100 + ((i % size) / size) * 400 + rand() * 20;
  }
  for (let k = 0; k < (size * size) / 4000; k++) {
    const r = Math.floor(rand() * size), c = Math.floor(rand() * size), rad = 6 + Math.floor(rand() * 14);
    for (let y = Math.max(0, r - rad); y < Math.min(size, r + rad); y++)
      for (let x = Math.max(0, c - rad); x < Math.min(size, c + rad); x++) if ((y - r) ** 2 + (x - c) ** 2 <= rad * rad) a[y * size + x] += 800;
  }
  const h = size / 2;
  for (let y = h - 25; y <= h + 25; y++) for (let x = h - 25; x <= h + 25; x++) if ((y - h) ** 2 + (x - h) ** 2 <= 625) a[y * size + x] = 1000 + rand() * 60;
  return { channels: [a, b], limits: [[150, 1200], [80, 560]] };
}

/** @param {number} a @param {number} b @param {number} step */
function range(a, b, step) {
  const out = [];
  const n = Math.round(Math.abs(b - a) / step);
  for (let k = 0; k <= n; k++) out.push(+(a + Math.sign(b - a) * k * step).toFixed(6));
  return out;
}

/** @param {number[]} xs @param {number} f */
function q(xs, f) {
  const a = [...xs].sort((x, y) => x - y);
  return +a[Math.min(a.length - 1, Math.floor(f * (a.length - 1)))].toFixed(2);
}

/**
 * Both wands through the same drags. `paintOld(m)` shows a baseline region (its bbox + mask);
 * `view` shows the new wand's prefix (show(wand, count, limit) -> all shown?, clear()), as
 * js/assist.js does: `budgetMs` of flood and at most `showMax` preview pixels per move. `cpu`
 * (optional) reads the process's CPU time in ms, so that time lost to other processes on a
 * shared machine can be told apart.
 * `moves` says whose drags run ("before", "after" or "both"): the baseline allocates a region-sized
 * image per move, and its garbage would be collected during the other wand's moves if both ran
 * in one page. The commits (and their pixel comparison) run in every mode.
 * @param {{OldWand: any, Wand: any, view: (w: any) => any, paintOld: (m: any) => void, now: () => number,
 *   cpu?: () => number, size: number, reps: number, budgetMs: number, showMax: number, moves?: string}} o
 */
export function runWandBench(o) {
  const steps = runWandSteps(o);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/**
 * `runWandBench` as steps, so that a driver outside the page can read the main thread's CPU time
 * around each move: it yields {kind: "idle"} just before a timed move and {kind: "move", who,
 * sweep} just after it (who: "before" or "after"; sweep: the row's index); the result is the
 * generator's return value.
 * @param {Parameters<typeof runWandBench>[0]} o
 */
export function* runWandSteps(o) {
  const { size, now } = o;
  const img = makeImage(size);
  let t = now();
  const fresh = new o.Wand(img.channels, img.limits, size, size);
  const setupNew = now() - t;
  t = now();
  const old = o.OldWand ? new o.OldWand(img.channels, img.limits, size, size) : null;
  const setupOld = now() - t;
  const view = o.view(fresh);
  const h = size / 2;
  const cell = [h, h];
  const bg = [10, 10];
  const up = range(0, 0.5, 0.02);
  const sweeps = [
    { name: "on a cell (0 -> 0.15)", seed: cell, tols: range(0, 0.15, 0.0025) },
    { name: "cell leaks into noise (0.1 -> 0.5)", seed: cell, tols: range(0.1, 0.5, 0.0025) },
    { name: "background widening (0.02 -> 0.4)", seed: bg, tols: range(0.02, 0.4, 0.0025) },
    { name: "background narrowing (0.4 -> 0.02)", seed: bg, tols: range(0.4, 0.02, 0.0025), warm: 0.4 },
    { name: "fast drag on a cell (0 -> 0.5 -> 0, 0.02/move)", seed: cell, tols: [...up, ...up.slice(0, -1).reverse()] },
  ];
  const rows = [];
  for (const sw of sweeps) {
    const before = [], after = [], beforeCpu = [], afterCpu = [], commitOld = [], commitNew = [], settle = [];
    const cpu = o.cpu ?? (() => 0);
    let partial = 0, same = true, pixels = 0;
    for (let rep = 0; rep < o.reps; rep++) {
      if (old && o.moves !== "after") {
        old.last = null; // a new press
        if (sw.warm !== undefined) old.mask(sw.seed, sw.warm);
        for (const tol of sw.tols) {
          yield { kind: "idle" };
          const c0 = cpu();
          const t0 = now();
          const m = old.mask(sw.seed, tol);
          o.paintOld(m);
          before.push(now() - t0);
          beforeCpu.push(cpu() - c0);
          yield { kind: "move", who: "before", sweep: rows.length };
        }
      }
      const last = sw.tols[sw.tols.length - 1];
      if (o.moves !== "before") {
      // a new press: the previous flood and its preview are dropped
      view.clear();
      fresh.flood = null;
      if (sw.warm !== undefined) view.show(fresh, /** @type {any} */ (fresh.reach(sw.seed, sw.warm)).count);
      for (const tol of sw.tols) {
        yield { kind: "idle" };
        const c0 = cpu();
        const t0 = now();
        const got = fresh.reach(sw.seed, tol, null, { deadline: t0 + o.budgetMs });
        const shown = view.show(fresh, got.count, o.showMax);
        after.push(now() - t0);
        afterCpu.push(cpu() - c0);
        yield { kind: "move", who: "after", sweep: rows.length };
        if (!got.exact || !shown) partial++;
      }
      // the drag pauses: more frames until the preview is exact
      let frames = 0;
      for (;;) {
        yield { kind: "idle" };
        const c0 = cpu();
        const t0 = now();
        const got = fresh.reach(sw.seed, last, null, { deadline: t0 + o.budgetMs });
        const shown = view.show(fresh, got.count, o.showMax);
        after.push(now() - t0);
        afterCpu.push(cpu() - c0);
        yield { kind: "move", who: "after", sweep: rows.length };
        if (got.exact && shown) break;
        frames++;
      }
      settle.push(frames);
      }
      // release: the committed region (exact, whatever the preview had reached)
      if (o.moves === "before") fresh.flood = null;
      let t0 = now();
      const mNew = fresh.mask(sw.seed, last);
      commitNew.push(now() - t0);
      pixels = mNew.count;
      if (old) {
        t0 = now();
        const mOld = old.mask(sw.seed, last);
        commitOld.push(now() - t0);
        same &&= mOld.count === mNew.count && mOld.bbox.join() === mNew.bbox.join() && mOld.mask.every((x, k) => x === mNew.mask[k]);
      }
    }
    const row = { drag: sw.name, moves: sw.tols.length, final_px: pixels };
    if (old && o.moves !== "after") {
      Object.assign(row, { before_p50: q(before, 0.5), before_p95: q(before, 0.95), before_max: q(before, 1) });
      if (o.cpu) Object.assign(row, { before_cpu_p95: q(beforeCpu, 0.95), before_cpu_max: q(beforeCpu, 1) });
      Object.assign(row, { before_commit_ms: q(commitOld, 0.5) });
    }
    if (o.moves !== "before") {
      Object.assign(row, { after_p50: q(after, 0.5), after_p95: q(after, 0.95), after_max: q(after, 1) });
      if (o.cpu) Object.assign(row, { after_cpu_p95: q(afterCpu, 0.95), after_cpu_max: q(afterCpu, 1) });
      Object.assign(row, {
        over_16ms: after.filter((x) => x > 16).length, partial_moves: partial, settle_frames: Math.max(...settle),
        after_commit_ms: q(commitNew, 0.5),
      });
    }
    if (old) row.same_pixels = same;
    rows.push(row);
  }
  return { size, reps: o.reps, budget_ms: o.budgetMs, setup_ms: { before: +setupOld.toFixed(1), after: +setupNew.toFixed(1) }, rows };
}

/**
 * One row per drag from a "before" run and an "after" run, with the ratio of their p95s.
 * @param {any} a @param {any} b
 */
export function mergeRuns(a, b) {
  const rows = a.rows.map((/** @type {any} */ r, /** @type {number} */ k) => {
    const row = { ...r, ...b.rows[k] };
    if (row.before_p95 !== undefined) row.p95_ratio = +(row.before_p95 / Math.max(row.after_p95, 0.01)).toFixed(1);
    if (row.before_cpu_p95 !== undefined) row.cpu_p95_ratio = +(row.before_cpu_p95 / Math.max(row.after_cpu_p95, 0.01)).toFixed(1);
    return row;
  });
  return { ...b, setup_ms: { before: a.setup_ms.before, after: b.setup_ms.after }, rows };
}

// ------------------------------------------------------------------------------ node main
if (typeof process !== "undefined" && process.argv[1] && import.meta.url.endsWith(process.argv[1].split("/").pop() ?? "")) {
  const { writeFileSync, mkdirSync } = await import("node:fs");
  const { Wand } = await import("../js/wand.js");
  const { WandOverlay, WAND_COLOUR } = await import("../js/wand_overlay.js");
  const { WAND_BUDGET_MS, WAND_SHOW_MAX } = await import("../js/assist.js");
  const arg = (name, dflt) => {
    const k = process.argv.indexOf(name);
    return k > 0 ? process.argv[k + 1] : dflt;
  };
  const size = Number(arg("--size", 2048));
  const baseline = arg("--baseline", null);
  const OldWand = baseline ? (await import(new URL(baseline, `file://${process.cwd()}/`).href)).Wand : null;
  const paintOld = (m) => {
    // main's preview: a fresh RGBA image of the region's box, filled from its mask
    if (!m || !m.count) return;
    const px = new Uint32Array(m.mask.length);
    for (let k = 0; k < m.mask.length; k++) if (m.mask[k]) px[k] = WAND_COLOUR;
  };
  const options = {
    OldWand, Wand, view: (w) => {
      // this tree's preview: the changed pixels into the frame's mask, then (when it changed) the
      // screen rectangle of what changed sampled at a 1024 x 700 viewport's pixels, the frame fitted in it
      const ov = new WandOverlay(w.width, w.height);
      const px = new Uint32Array(1024 * 700);
      const vm = { scale: 700 / w.height, tx: (1024 - (w.width * 700) / w.height) / 2, ty: 0 };
      const show = (wand, count, limit) => {
        const got = ov.show(wand, count, limit);
        const rect = got.box && WandOverlay.onScreen(got.box, vm, 1024, 700);
        if (rect) ov.paint(px, 1024, 700, vm, rect, WAND_COLOUR);
        return got.done;
      };
      return { show, clear: () => ov.clear() };
    },
    paintOld, now: () => performance.now(), cpu: () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; },
    size, reps: Number(arg("--reps", 3)), budgetMs: WAND_BUDGET_MS, showMax: WAND_SHOW_MAX,
  };
  // the baseline's drags, then this tree's (each pass's garbage stays in its own pass, mostly)
  const out = OldWand
    ? mergeRuns(runWandBench({ ...options, moves: "before" }), runWandBench({ ...options, moves: "after" }))
    : runWandBench({ ...options, moves: "after" });
  console.log(`js/wand.js per drag move at ${size}x${size}, 2 uint16 channels, node ${process.version}; ms; before = ${baseline ?? "(none)"}`);
  console.log(`set-up per press (normalised intensity): before ${out.setup_ms.before} ms, after ${out.setup_ms.after} ms`);
  console.table(out.rows);
  const dir = new URL("./results/", import.meta.url);
  mkdirSync(dir, { recursive: true });
  writeFileSync(new URL("wand_js.json", dir), JSON.stringify({ runtime: `node ${process.version}`, baseline, ...out }, null, 1));
}
