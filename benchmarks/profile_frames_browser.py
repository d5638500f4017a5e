"""Where a frame change, a scrub step and a contrast change spend their time (issue 9).

Not a benchmark (``bench_browser.py`` is): a profile. Drives the same notebooks as
``bench_browser.py`` (JupyterLab + headless Chromium) and, around the same actions,

- samples the page's JavaScript with Chromium's profiler (CDP ``Profiler``, 100 µs) and prints
  the functions with the most self time, the garbage collector included;
- stamps the kernel side (``Annotator._send_frame``, ``_on_request_full``, ``_on_more``,
  ``send``) with the system clock, and the page side (the change, the draw) with
  ``performance.timeOrigin + performance.now()`` (the same clock), and splits each change into
  change -> kernel handler starts (trait sync), kernel encode + send, kernel sent -> page draw
  starts (relay, decode, install), draw;
- for the scrub, notes whether the pull of the previous frame was still in flight.

Usage::

    PYTHONPATH=src .venv/bin/python benchmarks/profile_frames_browser.py [--reps 12]
        [--only frame2048 frame4096 contrast4096 scrub] [--out profile_frames.json]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent


def _load_bench() -> Any:
    spec = importlib.util.spec_from_file_location(
        "segpaint_bench_browser", HERE / "bench_browser.py"
    )
    if spec is None or spec.loader is None:
        raise ImportError("cannot load bench_browser.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


B = _load_bench()
H = B.H

KERNEL_STAMPS = """
import time as _pt
_stamps = []
def _stamped(name):
    orig = getattr(annotator, name)
    def wrapper(*args, **kwargs):
        t0 = _pt.time()
        try:
            return orig(*args, **kwargs)
        finally:
            _stamps.append((name, t0 * 1000.0, _pt.time() * 1000.0))
    setattr(annotator, name, wrapper)
for _name in ("_send_frame", "_on_request_full", "_on_more", "send"):
    _stamped(_name)
"""

PAGE_STAMPS = """
() => {
  // Draw start/end stamps on the epoch clock (wraps the renderer's redraw once).
  const s = document.querySelector('.segpaint-annotator').__segpaint;
  const r = s.renderer;
  if (window.__draws) return;
  window.__draws = [];
  const orig = r.redraw.bind(r);
  r.redraw = () => {
    const t0 = performance.timeOrigin + performance.now();
    orig();
    window.__draws.push([t0, performance.timeOrigin + performance.now()]);
  };
}
"""

# bench_browser's change-and-wait-for-the-draw, plus the wall-clock time of the change (to line
# up with the kernel's stamps)
CHANGE_JS = f"""
async (args) => {{
  const t0 = performance.timeOrigin + performance.now();
  const ms = await ({B.WAIT_REDRAW_JS})({{channel: 0, ...args}});
  return {{ms, t0}};
}}
"""


def self_times(profile: dict[str, Any]) -> list[tuple[str, float]]:
    """Self time (ms) per function from a CDP CPU profile."""
    nodes = {n["id"]: n for n in profile["nodes"]}
    samples = profile.get("samples", [])
    deltas = profile.get("timeDeltas", [])
    per: dict[str, float] = defaultdict(float)
    for node_id, dt in zip(samples, [*deltas[1:], 0], strict=False):
        cf = nodes[node_id]["callFrame"]
        url = cf.get("url", "").rsplit("/", 1)[-1]
        name = f"{cf['functionName'] or '(anonymous)'} {url}:{cf.get('lineNumber', -1) + 1}"
        if not url:
            name = cf["functionName"] or "(anonymous)"
        per[name] += dt / 1000.0
    return sorted(per.items(), key=lambda kv: -kv[1])


def callers(profile: dict[str, Any], names: list[str], depth: int = 6) -> dict[str, list]:
    """For the heaviest functions, self time by the chain of callers above them."""
    nodes = {n["id"]: n for n in profile["nodes"]}
    parent = {c: n["id"] for n in profile["nodes"] for c in n.get("children", [])}
    per_node: dict[int, float] = defaultdict(float)
    deltas = profile.get("timeDeltas", [])
    for node_id, dt in zip(profile.get("samples", []), [*deltas[1:], 0], strict=False):
        per_node[node_id] += dt / 1000.0

    def label(node_id: int) -> str:
        cf = nodes[node_id]["callFrame"]
        return f"{cf['functionName'] or '(anon)'}:{cf.get('lineNumber', -1) + 1}"

    out: dict[str, list] = {}
    for name in names:
        fn = name.split(" ")[0]
        chains: dict[str, float] = defaultdict(float)
        for node_id, ms in per_node.items():
            if (nodes[node_id]["callFrame"]["functionName"] or "(anonymous)") != fn:
                continue
            chain, cur = [], parent.get(node_id)
            while cur is not None and len(chain) < depth:
                chain.append(label(cur))
                cur = parent.get(cur)
            chains[" < ".join(chain)] += ms
        out[name] = sorted(chains.items(), key=lambda kv: -kv[1])[:5]
    return out


def breakdown(changes: list[dict[str, Any]], stamps: list[Any], draws: list[Any]) -> list[dict]:
    rows = []
    for ch in changes:
        t0, ms = ch["t0"], ch["ms"]
        t1 = t0 + ms
        sf = [s for s in stamps if s[0] == "_send_frame" and t0 <= s[1] <= t1]
        pulls = [
            s for s in stamps if s[0] in ("_on_more", "_on_request_full") and t0 - 400 <= s[1] <= t1
        ]
        dr = [d for d in draws if t0 <= d[0] <= t1 + 1]
        row = {"total_ms": ms}
        if sf:
            row["to_kernel_ms"] = sf[0][1] - t0
            row["kernel_ms"] = sf[0][2] - sf[0][1]
        if dr:
            row["draw_ms"] = dr[-1][1] - dr[-1][0]
            if sf:
                row["kernel_to_draw_ms"] = dr[-1][0] - sf[0][2]
        row["pull_msgs_near"] = len(pulls)
        rows.append(row)
    return rows


def summary(rows: list[dict]) -> dict[str, tuple[float, float]]:
    keys = sorted({k for r in rows for k in r})
    return {
        k: (
            float(np.percentile([r[k] for r in rows if k in r], 50)),
            float(np.percentile([r[k] for r in rows if k in r], 95)),
        )
        for k in keys
        if any(k in r for r in rows)
    }


def run_case(browser: Any, server: Any, case: str, reps: int) -> dict[str, Any]:
    size, n_ch = (4096, 1) if "4096" in case else (2048, 2)
    n_frames = 4 if case == "scrub" else 3
    cells = B.segpaint_cells(n_frames, n_ch, size)
    head, last = cells[-1].rsplit("\n", 1)
    cells[-1] = head + "\n" + KERNEL_STAMPS + "\n" + last
    with B.opened(browser, server, f"profile_{case}.ipynb", cells) as (nb, ws, cdp):
        nb.wait_for('.segpaint-annotator[data-ready="1"]', timeout=180, name="profile")
        B.wait_quiet(nb.page, ws)
        nb.page.evaluate(PAGE_STAMPS)
        cdp.send("Profiler.enable")
        cdp.send("Profiler.setSamplingInterval", {"interval": 100})
        changes = []
        warm = 2
        cdp.send("Profiler.start")
        for rep in range(warm + reps):
            if case == "scrub":
                frame = [1, 2, 3, 0][rep % 4]
                res = nb.page.evaluate(CHANGE_JS, {"action": "frame", "frame": frame, "value": 0})
                nb.page.wait_for_timeout(200)
            elif case.startswith("contrast"):
                res = nb.page.evaluate(
                    CHANGE_JS, {"action": "contrast", "frame": 0, "value": 0.5 + 0.04 * (rep % 10)}
                )
                B.wait_quiet(nb.page, ws)
            else:
                res = nb.page.evaluate(
                    CHANGE_JS, {"action": "frame", "frame": (rep + 1) % 3, "value": 0}
                )
                B.wait_quiet(nb.page, ws)
            if rep >= warm:
                changes.append(res)
        profile = cdp.send("Profiler.stop")["profile"]
        draws = nb.page.evaluate("() => window.__draws")
        stamps = nb.kernel.eval("_stamps")
    rows = breakdown(changes, stamps, draws)
    top = self_times(profile)
    total = sum(v for _, v in top)
    return {
        "case": case,
        "per_change": rows,
        "summary": summary(rows),
        "profile_total_ms": total,
        "top_self_ms": top[:30],
        "callers_ms": callers(profile, [name for name, _ in top[:12]]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=12)
    parser.add_argument(
        "--only",
        nargs="+",
        default=["frame2048", "frame4096", "contrast4096", "scrub"],
        choices=["frame2048", "frame4096", "contrast4096", "scrub"],
    )
    parser.add_argument("--out", default="profile_frames.json")
    args = parser.parse_args(argv)
    reason = H.browser_missing_reason()
    if reason:
        print(f"profile: cannot run: {reason}", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    results = []
    with tempfile.TemporaryDirectory(prefix="segpaint-profile-") as tmp:
        server = H.start_jupyter_server(Path(tmp))
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(
                    executable_path=shutil.which("chromium"), headless=True, args=H.CHROMIUM_ARGS
                )
                try:
                    for case in args.only:
                        res = run_case(browser, server, case, args.reps)
                        results.append(res)
                        print(f"== {case}: p50 / p95 ms")
                        for k, (p50, p95) in res["summary"].items():
                            print(f"   {k:<20} {p50:8.1f} {p95:8.1f}")
                        print(
                            "   per change:", [round(r["total_ms"], 1) for r in res["per_change"]]
                        )
                        print(f"   profiled page CPU (all {args.reps + 2} changes, idle excluded):")
                        for name, ms in res["top_self_ms"][:18]:
                            if name == "(idle)":
                                continue
                            print(f"     {ms:8.1f}  {name}")
                finally:
                    browser.close()
        finally:
            server.stop()
    out = HERE / "results" / args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"created": time.strftime("%Y-%m-%dT%H:%M:%S"), "rows": results}))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
