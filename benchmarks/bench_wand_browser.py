"""Time the browser's magic wand per pointer move of a drag at 2048 x 2048 in Chromium: the same
drags as ``bench_wand_js.mjs`` (its ``runWandBench``), with each move's main-thread work as the
widget does it: the flood step, then the preview on a 1024 x 700 canvas (this tree: the changed
pixels put into an off-screen canvas, the visible part drawn; the baseline, main's wand.js: the
region's box rebuilt as a fresh ImageData and drawn). Before and after run in the same browser,
each in a fresh page; the page runs the drags as steps, and the driver reads the main thread's CPU
time (CDP ``ThreadTime``) around each move, next to the wall time the page measures.

Run: ``python benchmarks/bench_wand_browser.py [--baseline-ref main] [--reps 2]`` (needs Debian's
``chromium`` and the ``playwright`` package, as the browser tests do). Writes
``benchmarks/results/wand_browser.json``.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"

_PAGE = """
const view = { scale: 700 / SIZE, tx: (1024 - 700) / 2, ty: 0 };
const size = { w: 1024, h: 700 };
const screen = document.createElement("canvas");
screen.width = size.w;
screen.height = size.h;
document.body.append(screen);
const ctx = screen.getContext("2d");
function paintOld(m) {
  // main's drawOverlay: a canvas of the region's box, a fresh ImageData filled from the mask
  ctx.clearRect(0, 0, size.w, size.h);
  if (!m || !m.count) return;
  const [r0, r1, c0, c1] = m.bbox;
  const off = document.createElement("canvas");
  off.width = c1 - c0;
  off.height = r1 - r0;
  const octx = off.getContext("2d");
  const img = octx.createImageData(off.width, off.height);
  const px = new Uint32Array(img.data.buffer);
  for (let k = 0; k < m.mask.length; k++) if (m.mask[k]) px[k] = Ov.WAND_COLOUR;
  octx.putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(off, view.tx + c0 * view.scale, view.ty + r0 * view.scale, off.width * view.scale, off.height * view.scale);
}
function makeView(w) {
  const wv = new Ov.WandView(w.width, w.height);
  return {
    show(wand, count, limit) {
      const done = wv.show(wand, count, limit);
      ctx.clearRect(0, 0, size.w, size.h);
      wv.draw(ctx, view, size);
      return done;
    },
    clear() { wv.clear(); },
  };
}
window.steps = Bench.runWandSteps({
  OldWand: Old ? Old.Wand : null, Wand: New.Wand, view: makeView, paintOld,
  now: () => performance.now(), size: SIZE, reps: REPS, budgetMs: BUDGET, showMax: SHOW_MAX,
  moves: MOVES,
});
return true;
"""


def _module(source: str, names: list[str]) -> str:
    """An ES module's text as an expression that returns its exported ``names`` (imports cut)."""
    body = re.sub(r"^import .*$", "", source, flags=re.M)
    body = re.sub(r"^export (const|class|function\*?|async function) ", r"\1 ", body, flags=re.M)
    return "(() => {\n" + body + "\nreturn { " + ", ".join(names) + " };\n})()"


def _bench_body() -> str:
    """bench_wand_js.mjs without its Node part."""
    text = (ROOT / "benchmarks" / "bench_wand_js.mjs").read_text()
    return re.split(r"^// -+ node main$", text, flags=re.M)[0]


def _constant(name: str) -> str:
    text = (ROOT / "js" / "assist.js").read_text()
    found = re.search(rf"^export const {name} = (.+);$", text, flags=re.M)
    if found is None:
        raise SystemExit(f"js/assist.js has no constant {name}")
    return found.group(1)


def page_script(baseline: str | None, reps: int, moves: str, size: int = 2048) -> str:
    """The page's script: both wands, the overlay, the benchmark body, ready to step.

    ``moves`` is whose drags run ("before" or "after"); each runs in a fresh page, so that the
    baseline's per-move garbage is not collected during the other wand's moves.
    """
    bench = _bench_body()
    parts = [
        "const New = " + _module((ROOT / "js" / "wand.js").read_text(), ["Wand"]) + ";",
        "const Ov = "
        + _module(
            (ROOT / "js" / "wand_overlay.js").read_text(),
            ["WandOverlay", "WandView", "WAND_COLOUR"],
        )
        + ";",
        "const Old = " + (_module(baseline, ["Wand"]) if baseline else "null") + ";",
        "const Bench = " + _module(bench, ["runWandSteps", "mergeRuns"]) + ";",
        f"const REPS = {reps}, BUDGET = {_constant('WAND_BUDGET_MS')}, "
        f"SHOW_MAX = {_constant('WAND_SHOW_MAX')}, MOVES = {json.dumps(moves)}, SIZE = {size};",
        _PAGE,
    ]
    return "() => {\n" + "\n".join(parts) + "\n}"


_STEP = "() => { const s = window.steps.next(); return s.done ? { done: s.value } : s.value; }"


def _drive(page: Any) -> dict[str, Any]:
    """Run the page's steps, reading the main thread's CPU time (CDP ``ThreadTime``) around each
    move: per-move CPU ms, which time lost to other processes on a loaded machine does not inflate
    (it includes one CDP round trip's own cost, measured as ``overhead_ms``)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Performance.enable", {"timeDomain": "threadTicks"})

    def thread_ms() -> float:
        metrics = cdp.send("Performance.getMetrics")["metrics"]
        return 1000.0 * next(m["value"] for m in metrics if m["name"] == "ThreadTime")

    empty = []
    for _ in range(50):
        t0 = thread_ms()
        page.evaluate("() => null")
        empty.append(thread_ms() - t0)
    cpu: dict[tuple[int, str], list[float]] = {}
    while True:
        t0 = thread_ms()
        step = page.evaluate(_STEP)
        t1 = thread_ms()
        if "done" in step:
            out: dict[str, Any] = step["done"]
            break
        if step["kind"] == "move":
            cpu.setdefault((step["sweep"], step["who"]), []).append(t1 - t0)
    for (sweep, who), values in cpu.items():
        values.sort()
        row = out["rows"][sweep]
        row[f"{who}_cpu_p95"] = round(values[int(0.95 * (len(values) - 1))], 2)
        row[f"{who}_cpu_max"] = round(values[-1], 2)
    out["overhead_ms"] = round(sorted(empty)[len(empty) // 2], 2)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-ref", default="main", help="git ref of the 'before' wand.js")
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--size", type=int, default=2048, help="frame side (pixels)")
    args = parser.parse_args()
    chromium = shutil.which("chromium")
    if chromium is None:
        print("chromium is not installed (bash scripts/setup_browser.sh)", file=sys.stderr)
        return 1
    from playwright.sync_api import sync_playwright

    shown = subprocess.run(
        ["git", "show", f"{args.baseline_ref}:js/wand.js"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    baseline = shown.stdout if shown.returncode == 0 else None
    if baseline is None:
        print(f"no baseline: git show {args.baseline_ref}:js/wand.js failed", file=sys.stderr)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--headless", "--no-sandbox"])
        try:
            runs = []
            for moves in ("before", "after") if baseline else ("after",):
                page = browser.new_page()
                page.set_default_timeout(0)
                page.evaluate(page_script(baseline, args.reps, moves, args.size))
                runs.append(_drive(page))
                page.close()
            if len(runs) == 2:
                merge = browser.new_page()
                out = merge.evaluate(
                    "([a, b]) => { const Bench = "
                    + _module(_bench_body(), ["mergeRuns"])
                    + "; return Bench.mergeRuns(a, b); }",
                    runs,
                )
            else:
                out = runs[0]
            version = browser.version
        finally:
            browser.close()
    print(
        f"js/wand.js per drag move at {args.size}x{args.size} in Chromium {version} (main thread, ms); "
        f"before = {args.baseline_ref}:js/wand.js; reps {out['reps']}, budget {out['budget_ms']} ms"
    )
    print(
        f"set-up per press: {out['setup_ms']}; *_cpu_*: main-thread CPU ms per move (CDP "
        f"ThreadTime, incl. ~{out['overhead_ms']} ms of CDP round trip); *_p50/p95/max: wall ms"
    )
    rows = out["rows"]
    print(" | ".join(rows[0]))
    for row in rows:
        print(" | ".join(str(v) for v in row.values()))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "wand_browser.json").write_text(
        json.dumps({"chromium": version, "baseline": args.baseline_ref, **out}, indent=1)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
