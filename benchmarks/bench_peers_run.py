"""The shared painter harness (``../shared/bench-peers``) plus the page's main-thread time per move.

``bench_peers.py`` reports ``ack`` (how long Playwright's ``mouse.move`` waited), which sits at the
60 fps frame rate for every peer that keeps up, so it cannot say which page works less. This
wrapper runs the same harness, unchanged, and adds from Chromium's ``Performance.getMetrics``:

- ``move task``: main-thread task ms of the page per pointer move, from just before the press to
  just after the last move, divided by the moves (so it includes the press, and whatever else the
  page ran meanwhile: the ``idle`` column is that per move-interval on the untouched page);
- ``up task``: main-thread task ms from just before the release to the harness's read-out after
  its settle time (the stroke's packing and sending, the acknowledgement, the harness's probe);
- ``script``, ``layout``, ``style``: the move task split by kind (ms per move);
- ``cpu``: the main thread's CPU time per move (``ThreadTime``), and ``proc``: the whole renderer
  process's (``ProcessTime``: compositor and raster threads too). Task time is wall time, so on a
  loaded machine a task that loses the CPU counts the wait; CPU time does not, and moves less
  from run to run.

It also runs the segpaint templates a second time against another source tree (``--base-src``,
e.g. an export of main), in the same JupyterLab, so before/after figures come from one run, and
prints every peer's ratio to ``anywidget_ref`` (the floor) at the same size.

Usage::

    PYTHONPATH=src .venv/bin/python benchmarks/bench_peers_run.py --sizes 512,2048,4096 \\
        --peers anywidget_ref,segpaint,peers_segpaint --base-src /tmp/base/src

``--trace K`` also records a Chrome trace (devtools.timeline, cc, viz, blink categories) of the
K-th stroke's moves (press to last move; 0 = the warm-up; ``--trace-up``: to the read-out after
the release) of every peer into
``benchmarks/results/trace_<peer>_<size>.json`` and prints, per peer, the renderer main thread's
self time per move by event name (what the page's task per move is made of) and the other
threads' busy time.

Templates that pass ``<stamp>_to_done_ms`` to ``bench.done`` (``benchmarks/stamp_templates/``: the
floor and segpaint with kernel-side stamps) get the stroke's end split into release -> websocket
frame -> kernel main thread -> comm handler -> widget handler -> ``bench.done``::

    python benchmarks/bench_peers_run.py --sizes 2048 --templates benchmarks/stamp_templates \
        --peers stamped_floor,stamped_segpaint --floor stamped_floor

Runs on a loaded machine move by tens of percent; pool several (each written with ``--json``)::

    python benchmarks/bench_peers_run.py --pool benchmarks/results/run1.json run2.json run3.json

prints each peer's per-move task, CPU and process time over all their measured strokes (p50 / p95)
and the ratios to the floor's pooled figures.

Every other option goes through to ``bench_peers.py``. Writes ``benchmarks/results/peers.json``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
HARNESS = HERE.parent.parent / "shared" / "bench-peers" / "bench_peers.py"
OWN_TEMPLATE = HERE / "peers_segpaint.py"
FLOOR = "anywidget_ref"
TRACE_CATEGORIES = [
    "devtools.timeline",
    "disabled-by-default-devtools.timeline",
    "disabled-by-default-devtools.timeline.frame",
    "disabled-by-default-devtools.timeline.invalidationTracking",
    "toplevel",
    "blink",
    "cc",
    "viz",
    "gpu",
]
METRICS = (
    "TaskDuration",
    "ScriptDuration",
    "LayoutDuration",
    "RecalcStyleDuration",
    "ThreadTime",
    "ProcessTime",
)

# Wall-clock marks of the stroke's end in the page (the kernel stamps time.time(): the same clock):
# the pointerup reaching the page, and the first kernel-websocket frame sent after it.
UP_HOOK = r"""
(() => {
  const T = (window.__strokeT = { up: null, send: null });
  const wall = () => performance.timeOrigin + performance.now();
  window.addEventListener("pointerdown", () => { T.up = T.send = null; }, { capture: true });
  window.addEventListener("pointerup", () => { T.up = wall(); }, { capture: true });
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (d) {
    if (T.up !== null && T.send === null && /\/api\/kernels\/[^/]+\/channels/.test(this.url)) T.send = wall();
    return send.call(this, d);
  };
})();
"""


def load_harness(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location("bench_peers", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"--harness {path}: not a Python file")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["bench_peers"] = mod
    spec.loader.exec_module(mod)
    return mod


class Probe:
    """Main-thread metrics of one page, sampled around each stroke."""

    def __init__(self, page: Any, trace: int | None = None, trace_up: bool = False) -> None:
        self.page = page
        self.trace = trace  # the stroke (press count from 0) whose moves are traced
        self.trace_up = trace_up  # ... and its release, up to the harness's read-out
        self.presses = 0
        self.tracing = False
        self.trace_data: bytes | None = None
        self.cdp: Any = None
        self.strokes: list[dict[str, float]] = []
        self.idle_ms: float | None = None
        self._down: dict[str, float] | None = None
        self._up: dict[str, float] | None = None
        self._t_up = 0.0
        self.moved = 0

    def sample(self) -> dict[str, float]:
        if self.cdp is None:
            self.cdp = self.page.context.new_cdp_session(self.page)
            self.cdp.send("Performance.enable")
        got = {m["name"]: m["value"] for m in self.cdp.send("Performance.getMetrics")["metrics"]}
        return {k: float(got.get(k, 0.0)) * 1000 for k in METRICS}

    def idle(self, moves: int, pace_ms: float) -> None:
        """Task ms per move interval of the page left alone (3 samples, median)."""
        costs = []
        for _ in range(3):
            a = self.sample()
            time.sleep(moves * pace_ms / 1000)
            costs.append((self.sample()["TaskDuration"] - a["TaskDuration"]) / moves)
        self.idle_ms = float(np.median(costs))

    def down(self) -> None:
        self.moved = 0
        if self.trace is not None and self.presses == self.trace:
            self.page.context.browser.start_tracing(page=self.page, categories=TRACE_CATEGORIES)
            self.tracing = True
        self.presses += 1
        self._down = self.sample()

    def moved_to(self, moves: int) -> None:
        """After the stroke's last move (not at the release: the harness times the release)."""
        self.moved += 1
        if self.moved == moves:
            self._up = self.sample()
            if self.tracing and not self.trace_up:
                self.trace_data = self.page.context.browser.stop_tracing()
                self.tracing = False

    def up(self) -> None:
        self._t_up = time.time()

    def settled(self, moves: int, marks: dict[str, Any]) -> None:
        if self._down is None or self._up is None:
            return
        end = self.sample()
        if self.tracing:
            self.trace_data = self.page.context.browser.stop_tracing()
            self.tracing = False
        rec = {f"move_{k}": (self._up[k] - self._down[k]) / moves for k in METRICS}
        rec["up_task_ms"] = end["TaskDuration"] - self._up["TaskDuration"]
        if marks.get("up") is not None:
            rec["up_dispatch_ms"] = marks["up"] - self._t_up * 1000
            if marks.get("send") is not None:
                rec["up_to_send_ms"] = marks["send"] - marks["up"]
                rec["send_at_ms"] = marks["send"] - self._t_up * 1000
        self.strokes.append(rec)
        self._down = self._up = None


class _Mouse:
    def __init__(self, mouse: Any, probe: Probe, moves: int, pace: float) -> None:
        self._mouse, self._probe, self._moves, self._pace = mouse, probe, moves, pace

    def move(self, *a: Any, **k: Any) -> Any:
        out = self._mouse.move(*a, **k)
        if self._probe._down is not None:
            self._probe.moved_to(self._moves)
        return out

    def down(self, *a: Any, **k: Any) -> Any:
        if self._probe.idle_ms is None:
            self._probe.idle(self._moves, self._pace)
        self._probe.down()
        return self._mouse.down(*a, **k)

    def up(self, *a: Any, **k: Any) -> Any:
        self._probe.up()
        return self._mouse.up(*a, **k)


class _Page:
    """The harness's page, with the mouse watched; everything else passes through."""

    def __init__(self, page: Any, probe: Probe, moves: int, pace: float) -> None:
        self._page, self._probe = page, probe
        self.mouse = _Mouse(page.mouse, probe, moves, pace)
        self._moves = moves

    def evaluate(self, expression: str, *a: Any, **k: Any) -> Any:
        out = self._page.evaluate(expression, *a, **k)
        if "window.__benchWS]" in expression:  # the harness reads a stroke's figures: it settled
            self._probe.settled(self._moves, self._page.evaluate("() => window.__strokeT || {}"))
        return out

    def __getattr__(self, name: str) -> Any:
        return getattr(self._page, name)


class _Context:
    def __init__(
        self, ctx: Any, probes: list[Probe], moves: int, pace: float, trace: tuple[int | None, bool]
    ) -> None:
        self._ctx, self._probes, self._moves, self._pace = ctx, probes, moves, pace
        self._trace, self._trace_up = trace

    def new_page(self, *a: Any, **k: Any) -> _Page:
        page = self._ctx.new_page(*a, **k)
        page.add_init_script(UP_HOOK)
        probe = Probe(page, self._trace, self._trace_up)
        self._probes.append(probe)
        return _Page(page, probe, self._moves, self._pace)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ctx, name)


class _Browser:
    def __init__(
        self,
        browser: Any,
        probes: list[Probe],
        moves: int,
        pace: float,
        trace: tuple[int | None, bool],
    ) -> None:
        self._browser, self._probes, self._moves, self._pace = browser, probes, moves, pace
        self._trace = trace

    def new_context(self, *a: Any, **k: Any) -> _Context:
        ctx = self._browser.new_context(*a, **k)
        return _Context(ctx, self._probes, self._moves, self._pace, self._trace)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._browser, name)


def trace_summary(data: bytes, moves: int, top: int = 14) -> dict[str, Any]:
    """Self time per move (ms) by event name on the page's renderer main thread; busy ms per
    move of the other threads (compositor, raster, viz) from a Chrome trace of one stroke."""
    raw = json.loads(data)
    events = raw["traceEvents"] if isinstance(raw, dict) else raw
    names: dict[tuple[int, int], str] = {}
    for e in events:
        if e.get("ph") == "M" and e.get("name") == "thread_name":
            names[(e["pid"], e["tid"])] = e["args"]["name"]
    spans: dict[tuple[int, int], list[tuple[float, float, str]]] = {}
    for e in events:
        if e.get("ph") == "X" and "dur" in e:
            key = (e["pid"], e["tid"])
            spans.setdefault(key, []).append((float(e["ts"]), float(e["ts"] + e["dur"]), e["name"]))
    mains = [k for k, v in names.items() if v == "CrRendererMain" and spans.get(k)]
    # the page's renderer: the main thread that dispatched the most input events
    main = max(
        mains,
        key=lambda k: sum(1 for s in spans[k] if s[2] in ("EventDispatch", "HandleInputEvent")),
        default=None,
    )
    selfs: dict[str, float] = {}
    if main is not None:
        stack: list[list[Any]] = []  # [end, name, child time]
        for t0, t1, name in sorted(spans[main], key=lambda s: (s[0], -s[1])):
            while stack and stack[-1][0] <= t0:
                end, nm, child = stack.pop()
                selfs[nm] = selfs.get(nm, 0.0) + child
            if stack:
                stack[-1][2] -= t1 - t0
            stack.append([t1, name, t1 - t0])
        while stack:
            end, nm, child = stack.pop()
            selfs[nm] = selfs.get(nm, 0.0) + child
    busy: dict[str, float] = {}
    for key, ss in spans.items():
        if main is not None and key[0] != main[0] and names.get(key) == "CrRendererMain":
            continue
        tname = names.get(key, str(key[1]))
        covered, end = 0.0, -1.0
        for t0, t1, _ in sorted(ss):
            if t1 <= end:
                continue
            covered += t1 - max(t0, end)
            end = t1
        busy[tname] = busy.get(tname, 0.0) + covered
    per = 1000.0 * max(moves, 1)
    order = sorted(selfs.items(), key=lambda kv: -kv[1])[:top]
    return {
        "main_self_ms_per_move": {k: round(v / per, 4) for k, v in order},
        "main_total_ms_per_move": round(sum(selfs.values()) / per, 4),
        "threads_busy_ms_per_move": {
            k: round(v / per, 4) for k, v in sorted(busy.items(), key=lambda kv: -kv[1])[:8]
        },
    }


def stamp_table(results: list[dict[str, Any]]) -> str:
    """The parts of release -> ``bench.done`` from the stamped templates (``stamp_templates/``):
    release -> first websocket frame (page), -> the kernel's main thread (``dispatch_shell``),
    -> the comm handler (after the "busy" status), -> the widget's handler, -> ``bench.done``."""
    lines = []
    for r in results:
        timed = [x for x in r["records"] if not x["warmup"]]
        if not any("shell_to_done_ms" in x for x in timed):
            continue
        parts: dict[str, list[float]] = {}
        for x in timed:
            k, sent = x.get("kernel_ms"), x.get("send_at_ms")
            sh, co, ha = (x.get(f"{n}_to_done_ms") for n in ("shell", "comm", "handler"))
            if None in (k, sent, sh, co, ha):
                continue
            for name, v in (
                ("release->ws", sent),
                ("ws->shell", k - sent - sh),
                ("shell->comm", sh - co),
                ("comm->handler", co - ha),
                ("handler->done", ha),
                ("release->done", k),
            ):
                parts.setdefault(name, []).append(v)
        cells = [f"{n} {pct(v, 50)}/{pct(v, 95)}" for n, v in parts.items()]
        lines.append(f"{r['peer']:>18} {r['size']:>5}: " + "  ".join(cells))
    return "\n".join(lines)


def pct(values: list[float], q: float) -> float | None:
    v = [x for x in values if x is not None]
    return round(float(np.percentile(v, q)), 2) if v else None


def base_template(src: Path, base_src: Path, out: Path) -> Path:
    """A copy of a segpaint template that imports segpaint from ``base_src`` (front-end included)."""
    body = src.read_text()
    head = [ln for ln in body.splitlines() if ln.startswith("# bench:")]
    prelude = (
        f"import sys; sys.path.insert(0, {str(base_src)!r})\n"
        "for _m in [m for m in sys.modules if m == 'segpaint' or m.startswith('segpaint.')]:\n"
        "    del sys.modules[_m]\n"
    )
    out.write_text("\n".join(head) + "\n" + prelude + body)
    return out


def summarise(results: list[dict[str, Any]], idle: dict[int, float | None]) -> list[dict[str, Any]]:
    rows = []
    for r in results:
        timed = [x for x in r["records"] if not x["warmup"]]
        s = r["summary"]
        row = {
            "peer": r["peer"],
            "size": r["size"],
            "ok": f"{s['complete']}/{s['strokes']}",
            "kernel_p50": s["kernel_p50"],
            "kernel_p95": s["kernel_p95"],
            "kib_out": s["kb_out_med"],
            "ack": s["move_ack_med"],
            "idle_ms": idle.get(id(r)),
        }
        for key, name in (
            ("move_TaskDuration", "task"),
            ("move_ScriptDuration", "script"),
            ("move_LayoutDuration", "layout"),
            ("move_RecalcStyleDuration", "style"),
            ("move_ThreadTime", "cpu"),
            ("move_ProcessTime", "proc"),
            ("up_task_ms", "up"),
            ("up_dispatch_ms", "dispatch"),
            ("up_to_send_ms", "pack"),
            ("send_at_ms", "sent"),
        ):
            vals = [x.get(key) for x in timed]
            row[f"{name}_p50"] = pct([v for v in vals if v is not None], 50)
            row[f"{name}_p95"] = pct([v for v in vals if v is not None], 95)
        rows.append(row)
    return rows


def table(rows: list[dict[str, Any]], floor_peer: str = FLOOR) -> str:
    cols = [
        ("peer", "peer"),
        ("size", "size"),
        ("ok", "ok"),
        ("kernel_p50", "kernel p50"),
        ("kernel_p95", "p95"),
        ("kib_out", "KiB out"),
        ("ack", "ack"),
        ("task_p50", "move task p50"),
        ("task_p95", "p95"),
        ("script_p50", "script"),
        ("layout_p50", "layout"),
        ("style_p50", "style"),
        ("cpu_p50", "cpu p50"),
        ("cpu_p95", "p95"),
        ("proc_p50", "proc"),
        ("idle_ms", "idle"),
        ("up_p50", "up task"),
        ("dispatch_p50", "up->page"),
        ("pack_p50", "page->ws"),
        ("sent_p50", "up->ws"),
        ("r_kernel", "x kernel p50/p95"),
        ("r_kib", "x KiB"),
        ("r_task", "x task p50/p95"),
        ("r_cpu", "x cpu p50/p95"),
        ("r_proc", "x proc"),
    ]
    floor = {r["size"]: r for r in rows if r["peer"] == floor_peer}

    def ratio(a: Any, b: Any) -> str:
        return "-" if a is None or not b else f"{a / b:.2f}"

    out = []
    for r in rows:
        f = floor.get(r["size"], {})
        cells = dict(r)
        cells["r_kernel"] = (
            f"{ratio(r['kernel_p50'], f.get('kernel_p50'))}/{ratio(r['kernel_p95'], f.get('kernel_p95'))}"
        )
        cells["r_kib"] = ratio(r["kib_out"], f.get("kib_out"))
        cells["r_task"] = (
            f"{ratio(r['task_p50'], f.get('task_p50'))}/{ratio(r['task_p95'], f.get('task_p95'))}"
        )
        cells["r_cpu"] = (
            f"{ratio(r['cpu_p50'], f.get('cpu_p50'))}/{ratio(r['cpu_p95'], f.get('cpu_p95'))}"
        )
        cells["r_proc"] = ratio(r["proc_p50"], f.get("proc_p50"))
        out.append(
            [
                "-"
                if cells[k] is None
                else f"{cells[k]:g}"
                if isinstance(cells[k], float)
                else str(cells[k])
                for k, _ in cols
            ]
        )
    out.insert(0, [h for _, h in cols])
    wid = [max(len(row[i]) for row in out) for i in range(len(cols))]
    return "\n".join(
        "  ".join(c.ljust(wid[i]) if i == 0 else c.rjust(wid[i]) for i, c in enumerate(row))
        for row in out
    )


POOLED = (
    ("stroke->py", "kernel_ms"),
    ("task", "move_TaskDuration"),
    ("cpu", "move_ThreadTime"),
    ("proc", "move_ProcessTime"),
)


def pooled_table(files: list[Path], floor: str) -> str:
    """Per-stroke figures of the measured strokes of several runs' JSON files (pointer-up to
    the stroke in Python; page time per move), pooled per peer and size: p50 / p95 ms and their
    ratios to ``floor``'s pooled p50 / p95 at the same size."""
    strokes: dict[tuple[str, int], dict[str, list[float]]] = {}
    for f in files:
        for res in json.loads(f.read_text())["results"]:
            got = strokes.setdefault((res["peer"], res["size"]), {k: [] for _, k in POOLED})
            for rec in res["records"]:
                if rec.get("warmup") or rec.get("move_TaskDuration") is None:
                    continue
                for _, key in POOLED:
                    got[key].append(float(rec[key]))
    head = ["peer", "size", "strokes"]
    for name, _ in POOLED:
        head += [f"{name} p50", "p95", f"x {name} p50/p95"]
    out = [head]
    for (peer, size), got in sorted(strokes.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        base = strokes.get((floor, size))
        row = [peer, str(size), str(len(got["move_TaskDuration"]))]
        for _, key in POOLED:
            a = np.asarray(got[key])
            p50, p95 = float(np.median(a)), float(np.percentile(a, 95))
            ratio = ""
            if base and base[key]:
                b = np.asarray(base[key])
                ratio = f"{p50 / np.median(b):.2f}/{p95 / np.percentile(b, 95):.2f}"
            row += [f"{p50:.2f}", f"{p95:.2f}", ratio]
        out.append(row)
    wid = [max(len(r[i]) for r in out) for i in range(len(head))]
    lines = [
        "  ".join(c.ljust(wid[i]) if i == 0 else c.rjust(wid[i]) for i, c in enumerate(r))
        for r in out
    ]
    return f"{len(files)} runs pooled, ratios to {floor}:\n" + "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(add_help=False)
    ap.add_argument("--harness", type=Path, default=HARNESS)
    ap.add_argument(
        "--base-src", type=Path, default=None, help="run the segpaint peers on this tree too"
    )
    ap.add_argument("--json", type=Path, default=RESULTS / "peers.json")
    ap.add_argument("--moves", type=int, default=40)
    ap.add_argument("--pace-ms", default="16")
    ap.add_argument("--peers", default=f"{FLOOR},segpaint,{OWN_TEMPLATE.stem}")
    ap.add_argument("--floor", default=FLOOR, help="the peer the ratios divide by")
    ap.add_argument(
        "--trace", type=int, default=None, help="trace this stroke's moves (0: warm-up)"
    )
    ap.add_argument("--trace-up", action="store_true", help="the traced stroke's release too")
    ap.add_argument("--pool", type=Path, nargs="+", default=None, help="pool these runs' JSON")
    mine, rest = ap.parse_known_args(argv)
    if "--help" in rest or "-h" in rest:
        print(__doc__)
        return 0
    if mine.pool:
        print(pooled_table(mine.pool, mine.floor))
        return 0
    bp = load_harness(mine.harness)
    tmp = Path(tempfile.mkdtemp(prefix="peers-templates-"))
    peers = [p for p in mine.peers.split(",") if p]
    extra = ["--template", str(OWN_TEMPLATE)]
    if mine.base_src is not None:
        shared = mine.harness.parent / "templates" / "segpaint.py"
        for name, src in (("segpaint", shared), (OWN_TEMPLATE.stem, OWN_TEMPLATE)):
            if name in peers:
                t = base_template(src, mine.base_src.resolve(), tmp / f"{name}_base.py")
                extra += ["--template", str(t)]
                peers.insert(peers.index(name), t.stem)  # before first: "before" rows lead
    pace = float(mine.pace_ms.split(",")[0])
    results: list[dict[str, Any]] = []
    idle: dict[int, float | None] = {}
    run_peer = bp.run_peer

    def watched(browser: Any, *a: Any, **k: Any) -> dict[str, Any]:
        probes: list[Probe] = []
        wrapped = _Browser(browser, probes, mine.moves, pace, (mine.trace, mine.trace_up))
        res: dict[str, Any] = run_peer(wrapped, *a, **k)
        strokes = probes[0].strokes if probes else []
        if probes and probes[0].trace_data is not None:
            path = RESULTS / f"trace_{res['peer']}_{res['size']}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(probes[0].trace_data)
            res["trace"] = {"path": str(path), **trace_summary(probes[0].trace_data, mine.moves)}
        for rec, extra_rec in zip(res["records"], strokes, strict=False):
            rec.update({key: round(v, 3) for key, v in extra_rec.items()})
        results.append(res)
        idle[id(res)] = round(probes[0].idle_ms, 2) if probes and probes[0].idle_ms else None
        res["idle_task_ms_per_move"] = idle[id(res)]
        return res

    bp.run_peer = watched
    argv_h = [*rest, *extra, "--peers", ",".join(peers), "--moves", str(mine.moves)]
    argv_h += ["--pace-ms", mine.pace_ms]
    code: int = bp.main(argv_h)
    rows = summarise(results, idle)
    print("\nmain-thread time per pointer move (Performance.getMetrics), ratios to the floor:")
    print(table(rows, mine.floor))
    print(
        "move task: page main-thread ms per move, press to release / moves (script, layout, style: "
        "its parts; cpu: the main thread's CPU ms, proc: the renderer process's); idle: the same on the untouched page; up task: release to read-out (ms); "
        "up->page: release to the page's pointerup; page->ws: pointerup to the first kernel websocket "
        "frame; up->ws: release to that frame (p50s, ms); "
        f"x: ratio to {mine.floor} at the same size, this run."
    )
    stamps = stamp_table(results)
    if stamps:
        print(
            "\nkernel-side stamps (templates that pass *_to_done_ms to bench.done), p50 / p95 ms:"
        )
        print(stamps)
    for r in results:
        if "trace" in r:
            t = r["trace"]
            print(
                f"\ntrace {r['peer']} {r['size']}: main thread {t['main_total_ms_per_move']} ms/move"
            )
            for name, ms in t["main_self_ms_per_move"].items():
                print(f"  {ms:8.4f}  {name}")
            print(
                "  threads busy ms/move: "
                + ", ".join(f"{k} {v}" for k, v in t["threads_busy_ms_per_move"].items())
            )
    mine.json.parent.mkdir(parents=True, exist_ok=True)
    mine.json.write_text(json.dumps({"rows": rows, "results": results}, indent=1, default=str))
    print(f"wrote {mine.json}")
    return code


if __name__ == "__main__":
    sys.exit(main())
