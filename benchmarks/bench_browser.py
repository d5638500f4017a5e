"""Browser benchmark: segpaint's Annotator vs a painter built the ipycanvas way.

Runs JupyterLab on loopback and drives it with headless Chromium (Debian's ``chromium``; run
``bash scripts/setup_browser.sh`` first), like the browser tests. Figures (see
``../shared/BENCHMARKS.md``):

- stroke (40 pointer moves at ~60 Hz, brush radius 6) on a 512² and a 2048² image, for segpaint and
  for the ipycanvas baseline (``benchmarks/baselines/ipycanvas_painter.py``) in the same run:
  ``shown`` (pointerup → the stroke's last pixel is on the canvas), ``kernel`` (pointerup → the
  kernel's labels hold the stroke; stamped in the kernel with ``time.time()`` and compared with the
  page's ``performance.timeOrigin + performance.now()``, the same system clock), messages per stroke
  (comm messages handled by the kernel; websocket frames out/in), and ``move cost`` (main-thread
  task time of the page per pointer move, from Chromium's ``Performance.getMetrics``);
- the same strokes through a loopback TCP proxy adding 50 ms each way and limiting each
  direction to 50 Mbit/s (``--latency-ms``, ``--bandwidth-mbit``: the remote-kernel case);
- ``frame_remote``: frame slider -> first picture through that proxy at 2048² x 2 channels
  uint16, the picture's level of detail against the screen's (``display_ok``) and the bytes it
  waited for; the lossless channels that follow arrive before the next change;
- frame switch (frame slider → new frame drawn) at 2048² x 2 channels uint16 and 4096² x 1 channel;
- contrast change (contrast slider → redrawn) at 2048², with the websocket frames it sent;
- scrub: frame changes at 2048² x 2 channels, each 200 ms after the previous one was drawn (so
  each lands while the previous frame's full-resolution channels are on their way: the view asks
  for them 150 ms after it rests), frame change → drawn.

p50/p95 over ``--reps`` repetitions after ``--warmup``; a table on stdout and JSON in
``benchmarks/results/browser.json``.

Usage::

    .venv/bin/python benchmarks/bench_browser.py [--reps 12] [--warmup 2] [--quick]
        [--only strokes scrub redraw remote baseline] [--latency-sizes 2048] [--out name.json]
        [--no-prefetch]

The frame figures run with the Annotator's read-ahead (``prefetch=1``: a change to a neighbour of
the frame shown draws from the page) unless ``--no-prefetch`` (the cold path); each row says how
many of its changes were hits. The redraw figure's frames go 1, 2, 0 (a jump of two: a miss).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import math
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results"
N_MOVES = 40
MOVE_INTERVAL_S = 1 / 60
BRUSH_RADIUS = 6
LABEL = 7


def _load_harness() -> Any:
    """Import the browser-test harness (``tests/browser/conftest.py``) as a plain module."""
    spec = importlib.util.spec_from_file_location(
        "segpaint_browser_harness", REPO / "tests" / "browser" / "conftest.py"
    )
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load the browser harness from {REPO / 'tests' / 'browser'}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


H = _load_harness()


# --------------------------------------------------------------------------------------------
# latency proxy: loopback TCP forwarder that delays every chunk by `delay_s` in each direction
# --------------------------------------------------------------------------------------------
class LatencyProxy:
    """Forward ``127.0.0.1:port`` to ``127.0.0.1:target_port`` like a slow network link.

    Every chunk is held ``delay_s`` in each direction, and with ``bandwidth_bps`` > 0 each
    direction of each connection is a token bucket of that many bits per second (a serial link:
    a chunk leaves once the link has sent the chunks before it). Order is kept per direction; HTTP
    and websockets both pass. Both settings may change while connections are open.
    """

    PIECE = 16 * 1024
    """Bytes released at once by the bandwidth limit (smooth at 50 Mbit/s: 2.6 ms a piece)."""

    def __init__(
        self, target_port: int, *, delay_s: float = 0.0, bandwidth_bps: float = 0.0
    ) -> None:
        self.target_port = target_port
        self.delay_s = delay_s
        self.bandwidth_bps = bandwidth_bps
        self.port = H.free_port()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self._ready.wait(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", self.port)
        )
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            server.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            link_free = 0.0  # when the link has sent everything before (bandwidth limit)
            while True:
                due, chunk = await queue.get()
                if not chunk:
                    break
                at = due
                if self.bandwidth_bps > 0:
                    at = max(due, link_free)
                    link_free = at + len(chunk) * 8 / self.bandwidth_bps
                wait = at - time.perf_counter()
                if wait > 0:
                    await asyncio.sleep(wait)
                writer.write(chunk)
                await writer.drain()
            with contextlib.suppress(OSError):
                writer.close()

        task = asyncio.ensure_future(deliver())
        try:
            while True:
                chunk = await reader.read(1 << 20)
                due = time.perf_counter() + self.delay_s
                for k in range(0, max(len(chunk), 1), self.PIECE):
                    queue.put_nowait((due, chunk[k : k + self.PIECE]))
                if not chunk:
                    break
        except OSError:
            queue.put_nowait((0.0, b""))
        await task

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(
            self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
        )

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


# --------------------------------------------------------------------------------------------
# page-side instrumentation
# --------------------------------------------------------------------------------------------
INSTALL_JS = """
() => {
  if (window.__bench) return;
  const b = window.__bench = {up: null, upEpoch: null, shown: null, target: null};
  const channel = new MessageChannel();
  let pending = null;
  channel.port1.onmessage = () => { const f = pending; pending = null; if (f) f(); };
  const soon = (f) => { pending = f; channel.port2.postMessage(0); };
  b.read = (t) => {
    if (t.kind === 'segpaint') {
      const root = document.querySelector('.segpaint-annotator');
      return Array.from(root.__segpaint.renderedPixel(t.row, t.col));
    }
    const canvas = document.querySelector('canvas.segpaint-baseline');
    return Array.from(canvas.getContext('2d').getImageData(t.col, t.row, 1, 1).data);
  };
  const poll = () => {
    const t = b.target;
    if (!t) return;
    const px = b.read(t);
    if (px.some((v, i) => v !== t.before[i])) { b.shown = performance.now() - b.up; return; }
    if (performance.now() - b.up > 10000) { b.shown = -1; return; }
    soon(poll);
  };
  window.addEventListener('pointerup', () => {
    b.up = performance.now();
    b.upEpoch = performance.timeOrigin + b.up;
    // Already on the canvas when the button is released (painted during the moves): 0.
    const t = b.target;
    if (t && b.read(t).some((v, i) => v !== t.before[i])) { b.shown = 0; return; }
    soon(poll);   // otherwise look again as soon as the page is free
  }, {capture: true});
  b.arm = (target) => {
    b.target = Object.assign({}, target, {before: b.read(target)});
    b.up = null; b.shown = null;
  };
}
"""

CLOCK_OFFSET_JS = "() => performance.timeOrigin + performance.now()"

WAIT_REDRAW_JS = """
async ({action, frame, channel, value}) => {
  // Polls the widget's draw counter (every full redraw bumps it) on a fast task loop.
  const root = document.querySelector('.segpaint-annotator');
  const s = root.__segpaint;
  const draws0 = s.draws;
  let input;
  if (action === 'frame') {
    input = root.querySelector('input[data-control="frame"]');
    input.value = String(frame);
  } else {
    input = root.querySelector(`input[data-control="contrast-hi"][data-channel="${channel}"]`);
    const lo = Number(input.min), hi = Number(input.max);
    input.value = String(lo + (hi - lo) * value);  // value: a fraction of the slider's range
  }
  const t0 = performance.now();
  // A slider being dragged fires `input` only; `change` comes on release (see COMMIT_JS).
  input.dispatchEvent(new Event('input', {bubbles: true}));
  if (action === 'frame') input.dispatchEvent(new Event('change', {bubbles: true}));
  const channelLoop = new MessageChannel();
  return await new Promise((resolve) => {
    const check = () => {
      const drawn = s.draws > draws0 && (action !== 'frame' || s.frame === frame);
      if (drawn) { resolve(performance.now() - t0); return; }
      if (performance.now() - t0 > 20000) { resolve(-1); return; }
      channelLoop.port2.postMessage(0);
    };
    channelLoop.port1.onmessage = check;
    check();
  });
}
"""

SCRUB_JS = """
async ({frames, n, pauseMs}) => {
  // Frame changes `pauseMs` after the previous one was drawn; returns change -> drawn per change.
  const root = document.querySelector('.segpaint-annotator');
  const s = root.__segpaint;
  const input = root.querySelector('input[data-control="frame"]');
  const loop = new MessageChannel();
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const out = [];
  for (let i = 0; i < n; i++) {
    const frame = frames[i % frames.length];
    const draws0 = s.draws;
    input.value = String(frame);
    const t0 = performance.now();
    input.dispatchEvent(new Event('input', {bubbles: true}));
    input.dispatchEvent(new Event('change', {bubbles: true}));
    const ms = await new Promise((resolve) => {
      const check = () => {
        if (s.draws > draws0 && s.frame === frame) { resolve(performance.now() - t0); return; }
        if (performance.now() - t0 > 20000) { resolve(-1); return; }
        loop.port2.postMessage(0);
      };
      loop.port1.onmessage = check;
      check();
    });
    out.push(ms);
    if (ms < 0) break;
    await sleep(pauseMs);
  }
  return out;
}
"""

COMMIT_JS = """
(channel) => {
  const root = document.querySelector('.segpaint-annotator');
  const input = root.querySelector(`input[data-control="contrast-hi"][data-channel="${channel}"]`);
  input.dispatchEvent(new Event('change', {bubbles: true}));
}
"""

WATCH_JS = """
(points) => {
  // Baseline redraws: note when any of `points` changes on the ipycanvas canvas.
  const canvas = document.querySelector('canvas.segpaint-baseline');
  const ctx = canvas.getContext('2d');
  const read = () => points.map(([r, c]) => ctx.getImageData(c, r, 1, 1).data.join()).join('|');
  const before = read();
  const w = window.__watch = {changedEpoch: null};
  const t0 = performance.now();
  const tick = () => {
    if (read() !== before) { w.changedEpoch = performance.timeOrigin + performance.now(); return; }
    if (performance.now() - t0 > 20000) { w.changedEpoch = -1; return; }
    setTimeout(tick, 1);
  };
  setTimeout(tick, 1);
}
"""

KERNEL_SETUP = """
import sys, time
_bench = {"changes": [], "comm": 0}
_k = get_ipython().kernel
_orig_comm_msg = _k.shell_handlers["comm_msg"]
def _counting_comm_msg(*args, **kwargs):
    _bench["comm"] += 1
    return _orig_comm_msg(*args, **kwargs)
_k.shell_handlers["comm_msg"] = _counting_comm_msg
"""


def synthetic_stack(n_frames: int, n_channels: int, size: int) -> str:
    """Python source building a deterministic (T, C, Y, X) uint16 stack named ``stack``."""
    return f"""
import numpy as np
_rng = np.random.default_rng(0)
stack = np.empty(({n_frames}, {n_channels}, {size}, {size}), np.uint16)
_rows, _cols = np.ogrid[:{size}, :{size}]
for _t in range({n_frames}):
    for _c in range({n_channels}):
        _base = (1000 + 900 * np.sin(_rows / (23.0 + 7 * _c)) * np.cos(_cols / (31.0 + _t)))
        stack[_t, _c] = (_base + _rng.integers(0, 400, ({size}, {size}))).astype(np.uint16)
"""


def segpaint_cells(
    n_frames: int, n_channels: int, size: int, *, prefetch: int | None = None
) -> list[str]:
    """The notebook of a segpaint figure; ``prefetch``: the Annotator's read-ahead (None: its
    default; 0 turns it off, the cold path of every frame change)."""
    extra = "" if prefetch is None else f", prefetch={prefetch}"
    return [
        KERNEL_SETUP + synthetic_stack(n_frames, n_channels, size),
        "import segpaint\n"
        "session = segpaint.open(stack, axes='TCYX', populations=['cells'])\n"
        "session.on_change(lambda p, f, b: _bench['changes'].append(time.time()))\n"
        f"annotator = segpaint.Annotator(session, population='cells'{extra})\n"
        "annotator",
    ]


HITS_JS = """
() => {
  // Frame changes drawn from a picture read ahead so far (0 for a front-end without read-ahead).
  const s = document.querySelector('.segpaint-annotator').__segpaint;
  return s.prefetch ? s.prefetch.hits : 0;
}
"""


SETTLE_S = 0.6
"""Wait after a frame change before looking for quiet (see ``wait_quiet``)."""

READ_AHEAD_JS = """
() => {
  // The read-ahead counters (asked, stored, hits, misses, dropped; null without read-ahead).
  const s = document.querySelector('.segpaint-annotator').__segpaint;
  return s.prefetch ? s.prefetch : null;
}
"""


def prefetch_arg(args: argparse.Namespace) -> int | None:
    return 0 if args.no_prefetch else None


def read_ahead(args: argparse.Namespace) -> str:
    return "read-ahead off" if args.no_prefetch else "read-ahead on"


def ipycanvas_cells(size: int) -> list[str]:
    return [
        KERNEL_SETUP + synthetic_stack(1, 1, size),
        f"sys.path.insert(0, {str(HERE / 'baselines')!r})\n"
        "from ipycanvas_painter import IpycanvasPainter\n"
        f"painter = IpycanvasPainter(stack[0, 0], radius={BRUSH_RADIUS}, label={LABEL})\n"
        "painter.canvas",
    ]


# --------------------------------------------------------------------------------------------
# measurements
# --------------------------------------------------------------------------------------------
def stroke_path(size: int, rep: int) -> list[tuple[float, float]]:
    """Image points (row, col) of one stroke: a gentle wave, a fresh band of rows per rep."""
    band = max(size // 40, 2 * BRUSH_RADIUS + 3)
    row0 = size * 0.15 + (rep % 30) * band * 0.8
    col0, col1 = size * 0.2, size * 0.8
    points = []
    for k in range(N_MOVES + 1):
        col = col0 + (col1 - col0) * k / N_MOVES
        row = row0 + band * 0.3 * math.sin(k / 5)
        points.append((float(round(row)), float(round(col))))
    return points


class Painter:
    """What differs between segpaint's widget and the baseline in one stroke."""

    def __init__(self, kind: str, notebook: Any) -> None:
        self.kind = kind
        self.nb = notebook
        page = notebook.page
        page.evaluate(INSTALL_JS)
        if kind == "segpaint":
            notebook.wait_for('.segpaint-annotator[data-ready="1"]', timeout=180, name="bench")
            page.locator('button[data-tool="brush"]').first.click()
            notebook.kernel.run(
                f"annotator.selected_label = {LABEL}\nannotator.brush_size = {2 * BRUSH_RADIUS}"
            )
        else:
            notebook.wait_for("canvas.segpaint-baseline", timeout=180, name="bench")
        # The whole canvas must be inside the viewport (pointer coordinates are viewport
        # coordinates) and stay put: focusing a partly hidden canvas would scroll it mid-stroke.
        selector = "canvas.segpaint-view" if kind == "segpaint" else "canvas.segpaint-baseline"
        page.evaluate(
            "(sel) => document.querySelector(sel).scrollIntoView({block: 'center'})", selector
        )
        page.wait_for_timeout(300)  # let the layout settle before reading client rects

    def to_client(self, points: list[tuple[float, float]]) -> list[tuple[float, float]]:
        if self.kind == "segpaint":
            js = """(pts) => { const s = document.querySelector('.segpaint-annotator').__segpaint;
                      return pts.map(([r, c]) => { const p = s.imageToClient(r, c); return [p.x, p.y]; }); }"""
        else:
            js = """(pts) => { const el = document.querySelector('canvas.segpaint-baseline');
                      const b = el.getBoundingClientRect();
                      return pts.map(([r, c]) => [b.left + (c + 0.5) * b.width / el.width,
                                                  b.top + (r + 0.5) * b.height / el.height]); }"""
        return [tuple(p) for p in self.nb.page.evaluate(js, [list(p) for p in points])]

    def kernel_state(self) -> dict[str, Any]:
        if self.kind == "segpaint":
            expr = "{'t': (_bench['changes'] or [0.0])[-1], 'n': len(_bench['changes']), 'comm': _bench['comm']}"
        else:
            expr = "{'t': (painter.stroke_end_times or [0.0])[-1], 'n': len(painter.stroke_end_times), 'comm': _bench['comm']}"
        return dict(self.nb.kernel.eval(expr))

    def holds(self, points: list[tuple[float, float]]) -> bool:
        rows = [int(r) for r, _ in points]
        cols = [int(c) for _, c in points]
        src = "session.labels('cells', 0)" if self.kind == "segpaint" else "painter.labels"
        return bool(self.nb.kernel.eval(f"bool(({src}[{rows}, {cols}] == {LABEL}).all())"))


def clock_offset_ms(page: Any, samples: int = 5) -> float:
    """Page clock (``performance.timeOrigin + now()``) minus ``time.time()``, in ms.

    Taken from the sample with the shortest round trip, against its midpoint.
    """
    best: tuple[float, float] | None = None
    for _ in range(samples):
        t0 = time.time()
        page_ms = float(page.evaluate(CLOCK_OFFSET_JS))
        t1 = time.time()
        if best is None or t1 - t0 < best[0]:
            best = (t1 - t0, page_ms - (t0 + t1) * 500.0)
    assert best is not None
    return best[1]


def cdp_task_seconds(cdp: Any) -> float:
    metrics = cdp.send("Performance.getMetrics")["metrics"]
    return float(next(m["value"] for m in metrics if m["name"] == "TaskDuration"))


def idle_task_ms(cdp: Any, samples: int = 3) -> float:
    """Main-thread task ms of the idle page per move interval (what "move cost" includes anyway)."""
    costs = []
    for _ in range(samples):
        busy0 = cdp_task_seconds(cdp)
        time.sleep(N_MOVES * MOVE_INTERVAL_S)
        costs.append((cdp_task_seconds(cdp) - busy0) * 1000.0 / N_MOVES)
    return float(np.median(costs))


def one_stroke(painter: Painter, ws: Any, cdp: Any, rep: int, size: int) -> dict[str, float]:
    page = painter.nb.page
    points = stroke_path(size, rep)
    client = painter.to_client(points)
    last_row, last_col = points[-1]
    before = painter.kernel_state()
    page.evaluate(
        "(t) => window.__bench.arm(t)",
        {"kind": painter.kind, "row": int(last_row), "col": int(last_col)},
    )
    offset_ms = clock_offset_ms(page)

    page.mouse.move(*client[0])
    t_start = time.perf_counter()
    busy0 = cdp_task_seconds(cdp)
    page.mouse.down()
    next_at = time.perf_counter()
    for x, y in client[1:]:
        next_at += MOVE_INTERVAL_S
        delay = next_at - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        page.mouse.move(x, y)
    busy1 = cdp_task_seconds(cdp)
    # Release one move interval after the last move, as a hand at 60 Hz does.
    next_at += MOVE_INTERVAL_S
    delay = next_at - time.perf_counter()
    if delay > 0:
        time.sleep(delay)
    page.mouse.up()

    page.wait_for_function("() => window.__bench.shown !== null", timeout=30_000, polling=5)
    bench = page.evaluate("() => ({shown: window.__bench.shown, upEpoch: window.__bench.upEpoch})")
    deadline = time.monotonic() + 30
    while True:
        state = painter.kernel_state()
        if state["n"] > before["n"] and painter.holds(points):
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"{painter.kind}: the kernel never held the stroke (rep {rep})")
        time.sleep(0.01)
    # Let the last frames (status idle, draw-backs, echoes) arrive before counting.
    page.wait_for_timeout(300)
    t_end = time.perf_counter()
    after = painter.kernel_state()
    up_wall_ms = bench["upEpoch"] - offset_ms
    out, inn = ws.counts(t_start, t_end)
    return {
        "shown_ms": float(bench["shown"]),
        "kernel_ms": after["t"] * 1000.0 - up_wall_ms,
        "kernel_messages": float(after["comm"] - before["comm"]),
        "ws_out": float(out),
        "ws_in": float(inn),
        "move_cost_ms": (busy1 - busy0) * 1000.0 / N_MOVES,
    }


def summarise(samples: list[dict[str, float]]) -> dict[str, dict[str, float]]:
    keys = samples[0].keys()
    return {
        k: {
            "p50": float(np.percentile([s[k] for s in samples], 50)),
            "p95": float(np.percentile([s[k] for s in samples], 95)),
        }
        for k in keys
    }


@contextlib.contextmanager
def opened(
    browser: Any, server: Any, name: str, cells: list[str], *, port: int | None = None
) -> Iterator[tuple[Any, Any, Any]]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        ws = H.track_websockets(page)
        path = H.write_notebook(server.root_dir, name, cells)
        nb = H.Notebook.open(page, server, path, port=port, ws_log=ws, timeout=180)
        cdp = context.new_cdp_session(page)
        cdp.send("Performance.enable")
        try:
            yield nb, ws, cdp
        finally:
            nb.close()
    finally:
        context.close()


def bench_strokes(
    browser: Any,
    server: Any,
    proxy: LatencyProxy,
    args: argparse.Namespace,
    log: Callable[[str], None],
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cases = [(size, 0.0) for size in args.sizes] + [
        (size, args.latency_ms) for size in args.latency_sizes
    ]
    for size, latency_ms in cases:
        for kind in args.painters:
            cells = segpaint_cells(1, 1, size) if kind == "segpaint" else ipycanvas_cells(size)
            name = f"stroke_{kind}_{size}_{int(latency_ms)}.ipynb"
            port = proxy.port if latency_ms else None
            with opened(browser, server, name, cells, port=port) as (nb, ws, cdp):
                painter = Painter(kind, nb)
                idle = idle_task_ms(cdp)
                proxy.delay_s = latency_ms / 1000.0
                proxy.bandwidth_bps = args.bandwidth_mbit * 1e6 if latency_ms else 0.0
                try:
                    samples = []
                    for rep in range(args.warmup + args.reps):
                        sample = one_stroke(painter, ws, cdp, rep, size)
                        if rep >= args.warmup:
                            samples.append(sample)
                finally:
                    proxy.delay_s = 0.0
                    proxy.bandwidth_bps = 0.0
                H.save_screenshot(nb.page, f"bench_stroke_{kind}_{size}_{int(latency_ms)}ms")
            row = {
                "figure": "stroke",
                "painter": kind,
                "size": size,
                "added_latency_ms": latency_ms,
                "bandwidth_mbit": args.bandwidth_mbit if latency_ms else 0.0,
                "reps": len(samples),
                **summarise(samples),
                "idle_page_ms_per_move_interval": idle,
            }
            rows.append(row)
            log(format_stroke(row))
    return rows


def bench_redraws(
    browser: Any, server: Any, args: argparse.Namespace, log: Callable[[str], None]
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cases = [("frame", 2048, 2), ("contrast", 2048, 2), ("frame", 4096, 1), ("contrast", 4096, 1)]
    for size in {c[1] for c in cases}:
        n_channels = 2 if size == 2048 else 1
        with opened(
            browser,
            server,
            f"redraw_{size}.ipynb",
            segpaint_cells(3, n_channels, size, prefetch=prefetch_arg(args)),
        ) as (nb, ws, _cdp):
            nb.wait_for('.segpaint-annotator[data-ready="1"]', timeout=180, name="bench")
            wait_quiet(nb.page, ws)
            for action, case_size, _ in cases:
                if case_size != size:
                    continue
                samples = []
                for rep in range(args.warmup + args.reps):
                    t0 = time.perf_counter()
                    params = {
                        "action": action,
                        "frame": (rep + 1) % 3,
                        "channel": 0,
                        "value": 0.5 + 0.04 * (rep % 10),
                    }
                    hits0 = nb.page.evaluate(HITS_JS)
                    ms = nb.page.evaluate(WAIT_REDRAW_JS, params)
                    if ms < 0:
                        raise TimeoutError(f"{action} at {size}: no redraw within 20 s")
                    hit = float(nb.page.evaluate(HITS_JS) > hits0)
                    first = nb.page.evaluate(FIRST_PICTURE_JS)
                    wait_quiet(nb.page, ws, settle_s=SETTLE_S)
                    out, _ = ws.counts(t0, time.perf_counter())
                    if action == "contrast":  # release the slider: the limits go to Python
                        nb.page.evaluate(COMMIT_JS, 0)
                        nb.page.wait_for_timeout(100)
                    if rep >= args.warmup:
                        mb_in = ws.bytes_received(t0, time.perf_counter()) / 1e6
                        samples.append(
                            {
                                "redraw_ms": ms,
                                "hit": hit,
                                "ws_out": float(out),
                                "mb_in": mb_in,
                                "receive_ms": float(first["receiveMs"]),
                                "install_ms": float(first["installMs"]),
                                "draw_ms": float(
                                    nb.page.evaluate(
                                        "() => document.querySelector('.segpaint-annotator')"
                                        ".__segpaint.lastDrawMs"
                                    )
                                ),
                            }
                        )
                H.save_screenshot(nb.page, f"bench_{action}_{size}")
                row = {
                    "figure": action,
                    "painter": "segpaint",
                    "size": size,
                    "channels": n_channels,
                    "prefetch": 0 if args.no_prefetch else 1,
                    "hits": int(sum(x["hit"] for x in samples)),
                    "reps": len(samples),
                    **summarise(samples),
                }
                rows.append(row)
                log(format_redraw(row))
    return rows


def bench_scrub(
    browser: Any, server: Any, args: argparse.Namespace, log: Callable[[str], None]
) -> list[dict[str, Any]]:
    """Back-to-back frame changes at 2048² x 2 channels, 200 ms after each draw."""
    size, n_channels, n_frames, pause_ms = 2048, 2, 4, 200
    cells = segpaint_cells(n_frames, n_channels, size, prefetch=prefetch_arg(args))
    with opened(browser, server, "scrub.ipynb", cells) as (nb, ws, _cdp):
        nb.wait_for('.segpaint-annotator[data-ready="1"]', timeout=180, name="bench")
        wait_quiet(nb.page, ws)
        frames = [1, 2, 3, 0]
        n = args.warmup + args.reps
        t0 = time.perf_counter()
        hits0 = nb.page.evaluate(HITS_JS)
        times = nb.page.evaluate(SCRUB_JS, {"frames": frames, "n": n, "pauseMs": pause_ms})
        hits = nb.page.evaluate(HITS_JS) - hits0
        if len(times) < n or min(times) < 0:
            raise TimeoutError(f"scrub at {size}: a frame was not drawn within 20 s ({times})")
        mb_in = ws.bytes_received(t0, time.perf_counter()) / 1e6
        wait_quiet(nb.page, ws)
        H.save_screenshot(nb.page, f"bench_scrub_{size}")
    samples = [{"redraw_ms": float(ms), "mb_in": mb_in / n} for ms in times[args.warmup :]]
    row = {
        "figure": "scrub",
        "painter": "segpaint",
        "size": size,
        "channels": n_channels,
        "pause_ms": pause_ms,
        "prefetch": 0 if args.no_prefetch else 1,
        "hits": hits,
        "changes": n,
        "reps": len(samples),
        **summarise(samples),
        "redraw_ms_each": [round(float(ms), 1) for ms in times[args.warmup :]],
    }
    log(
        f"scrub    segpaint  {size:>5}² x {n_channels}ch       | "
        f"redraw {fmt(row['redraw_ms'])} | {row['mb_in']['p50']:.1f} MB in per change | "
        f"next change {pause_ms} ms after each draw | {read_ahead(args)}: {hits}/{n} hits"
    )
    return [row]


FIRST_PICTURE_JS = """
() => {
  // What the first picture after a frame change holds: the level of detail of its channels
  // against the screen's (image pixels per device pixel), and their bytes per sample.
  const s = document.querySelector('.segpaint-annotator').__segpaint;
  const r = s.renderer;
  const f = s.lastFrame || {receiveMs: -1, installMs: -1};
  return {step: r.previewStep, scale: s.view.scale, dpr: window.devicePixelRatio || 1,
          bytes: r.channels.map((c) => c.data.BYTES_PER_ELEMENT),
          receiveMs: f.receiveMs, installMs: f.installMs};
}
"""


def bench_remote_frame(
    browser: Any,
    server: Any,
    proxy: LatencyProxy,
    args: argparse.Namespace,
    log: Callable[[str], None],
) -> list[dict[str, Any]]:
    """Frame change -> first picture through the slow-link proxy, at 2048² x 2 channels.

    The page talks to the kernel through ``proxy`` (``--latency-ms`` each way, ``--bandwidth-mbit``
    per direction). Each change starts from an idle widget (the lossless data of the previous one
    all arrived); the figure is frame slider -> the new frame first drawn, and that picture's
    level of detail is checked against the screen (``display_ok``: at most one image pixel per
    device pixel dropped, i.e. preview step <= 1 / (scale * devicePixelRatio)).
    """
    size, n_channels = 2048, 2
    cells = segpaint_cells(3, n_channels, size, prefetch=prefetch_arg(args))
    with opened(browser, server, "remote_frame.ipynb", cells, port=proxy.port) as (nb, ws, _cdp):
        nb.wait_for('.segpaint-annotator[data-ready="1"]', timeout=180, name="bench")
        proxy.delay_s = args.latency_ms / 1000.0
        proxy.bandwidth_bps = args.bandwidth_mbit * 1e6
        try:
            wait_quiet(nb.page, ws, quiet_s=1.0, timeout_s=60)
            samples = []
            for rep in range(args.warmup + args.reps):
                t0 = time.perf_counter()
                params = {"action": "frame", "frame": (rep + 1) % 3, "channel": 0, "value": 0}
                hits0 = nb.page.evaluate(HITS_JS)
                ms = nb.page.evaluate(WAIT_REDRAW_JS, params)
                if ms < 0:
                    raise TimeoutError(f"remote frame change at {size}: no picture within 20 s")
                hit = float(nb.page.evaluate(HITS_JS) > hits0)
                first = nb.page.evaluate(FIRST_PICTURE_JS)
                mb_first = ws.bytes_received(t0, time.perf_counter()) / 1e6
                # The lossless bands follow; the next change starts once they all arrived.
                wait_quiet(nb.page, ws, quiet_s=1.0, timeout_s=60, settle_s=SETTLE_S)
                full = bool(
                    nb.page.evaluate(
                        "() => document.querySelector('.segpaint-annotator')"
                        ".getAttribute('data-full-frame') !== ''"
                    )
                )
                shows = first["step"] * first["scale"] * first["dpr"]
                if rep >= args.warmup:
                    samples.append(
                        {
                            "first_picture_ms": ms,
                            "hit": hit,
                            "receive_ms": float(first["receiveMs"]),
                            "install_ms": float(first["installMs"]),
                            "mb_first": mb_first,
                            "mb_total": ws.bytes_received(t0, time.perf_counter()) / 1e6,
                            "preview_step": float(first["step"]),
                            "scale": float(first["scale"]),
                            "bytes_per_sample": float(max(first["bytes"] or [0])),
                            "display_ok": float(shows <= 1.0 + 1e-6),
                            "lossless_after": float(full),
                        }
                    )
        finally:
            proxy.delay_s = 0.0
            proxy.bandwidth_bps = 0.0
        read_ahead_counters = nb.page.evaluate(READ_AHEAD_JS)
        H.save_screenshot(nb.page, f"bench_frame_remote_{size}")
    row = {
        "figure": "frame_remote",
        "painter": "segpaint",
        "size": size,
        "channels": n_channels,
        "added_latency_ms": args.latency_ms,
        "bandwidth_mbit": args.bandwidth_mbit,
        "prefetch": 0 if args.no_prefetch else 1,
        "reps": len(samples),
        **summarise(samples),
        "first_picture_ms_each": [round(x["first_picture_ms"], 1) for x in samples],
        "hit_each": [int(x["hit"]) for x in samples],
        "read_ahead": read_ahead_counters,
    }
    log(
        f"frame    remote    {size:>5}² x {n_channels}ch +{args.latency_ms:.0f} ms "
        f"{args.bandwidth_mbit:.0f} Mbit/s | first picture {fmt(row['first_picture_ms'])} | "
        f"{row['mb_first']['p50']:.2f} MB before it, {row['mb_total']['p50']:.1f} MB in all | "
        f"header->end {fmt(row['receive_ms'])}, install {fmt(row['install_ms'])} | "
        f"step {row['preview_step']['p50']:g} at scale {row['scale']['p50']:.3f}, "
        f"{row['bytes_per_sample']['p50']:.0f} B/sample, "
        f"display-resolution {row['display_ok']['p50']:.0f}, lossless after "
        f"{row['lossless_after']['p50']:.0f} | {read_ahead(args)}: "
        f"{sum(x['hit'] for x in samples):.0f}/{len(samples)} hits"
    )
    return [row]


def wait_quiet(
    page: Any, ws: Any, *, quiet_s: float = 0.3, timeout_s: float = 20.0, settle_s: float = 0.0
) -> None:
    """Wait until the page has received no websocket frame for ``quiet_s``.

    Frame switches are measured from an idle widget: segpaint sends a preview at the view's
    resolution first and the full-resolution frame after it, and a switch that starts while that
    transfer is still running waits behind it (what fast scrubbing costs; see the report).
    ``settle_s``: wait that long first. A change drawn from a picture read ahead received nothing
    yet: its lossless pull (asked 150 ms after the draw) and the next read-ahead start after it.
    """
    if settle_s > 0:
        page.wait_for_timeout(settle_s * 1000)
    deadline = time.perf_counter() + timeout_s
    while time.perf_counter() < deadline:
        page.wait_for_timeout(50)  # lets Playwright deliver pending frame events
        last = ws.all_received[-1][0] if ws.all_received else 0.0
        if time.perf_counter() - last >= quiet_s:
            return


def bench_redraws_baseline(
    browser: Any, server: Any, args: argparse.Namespace, log: Callable[[str], None]
) -> list[dict[str, Any]]:
    """Frame switch and contrast change the ipycanvas way: Python composes RGB and sends it."""
    rows: list[dict[str, Any]] = []
    for size in (2048, 4096):
        cells = [
            KERNEL_SETUP + synthetic_stack(3, 1, size),
            f"sys.path.insert(0, {str(HERE / 'baselines')!r})\n"
            "from ipycanvas_painter import IpycanvasPainter\n"
            f"painter = IpycanvasPainter(stack[0, 0], radius={BRUSH_RADIUS}, label={LABEL})\n"
            "_lo, _hi = float(stack[0, 0].min()), float(stack[0, 0].max())\n"
            "painter.canvas",
        ]
        with opened(browser, server, f"redraw_ipycanvas_{size}.ipynb", cells) as (nb, ws, _):
            nb.wait_for("canvas.segpaint-baseline", timeout=180, name="bench")
            page = nb.page
            wait_quiet(page, ws)
            points = [[size * k // 7, size * (7 - k) // 8] for k in range(1, 7)]
            for action in ("frame", "contrast"):
                samples = []
                for rep in range(args.warmup + args.reps):
                    if action == "frame":
                        call = f"painter.show(stack[{(rep + 1) % 3}, 0], limits=(_lo, _hi))"
                    else:
                        frac = 0.5 + 0.04 * (rep % 10)
                        call = (
                            f"painter.show(stack[0, 0], limits=(_lo, _lo + {frac} * (_hi - _lo)))"
                        )
                    page.evaluate(WATCH_JS, points)
                    offset_ms = clock_offset_ms(page)
                    t_start = time.perf_counter()
                    nb.kernel.run(f"_t0 = time.time()\n{call}")
                    page.wait_for_function(
                        "() => window.__watch.changedEpoch !== null", timeout=30_000, polling=5
                    )
                    changed = float(page.evaluate("() => window.__watch.changedEpoch"))
                    if changed < 0:
                        raise TimeoutError(f"ipycanvas {action} at {size}: canvas never changed")
                    ms = changed - offset_ms - float(nb.kernel.eval("_t0")) * 1000.0
                    wait_quiet(page, ws)
                    mb_in = ws.bytes_received(t_start, time.perf_counter()) / 1e6
                    if rep >= args.warmup:
                        samples.append({"redraw_ms": ms, "ws_out": 0.0, "mb_in": mb_in})
                row = {
                    "figure": action,
                    "painter": "ipycanvas",
                    "size": size,
                    "channels": 1,
                    "reps": len(samples),
                    **summarise(samples),
                }
                rows.append(row)
                log(format_redraw(row))
    return rows


def fmt(stat: dict[str, float], digits: int = 1) -> str:
    return f"{stat['p50']:.{digits}f} / {stat['p95']:.{digits}f}"


def format_stroke(row: dict[str, Any]) -> str:
    return (
        f"stroke  {row['painter']:<9} {row['size']:>5}²  +{row['added_latency_ms']:>3.0f} ms | "
        f"shown {fmt(row['shown_ms']):>15} | kernel {fmt(row['kernel_ms']):>15} | "
        f"msgs {row['kernel_messages']['p50']:.0f}; ws {row['ws_out']['p50']:.0f}/"
        f"{row['ws_in']['p50']:.0f} | move {fmt(row['move_cost_ms'])}"
        f" (idle page {row['idle_page_ms_per_move_interval']:.1f})"
    )


def format_redraw(row: dict[str, Any]) -> str:
    if row["painter"] == "ipycanvas":
        what = "kernel call -> canvas changed (display computed in Python)"
    elif row["figure"] == "frame":
        what = f"ws out during the slider change {row['ws_out']['p50']:.0f}"
    else:
        what = f"ws out during the drag (input events) {row['ws_out']['p50']:.0f}"
    parts = ""
    if row["painter"] == "segpaint":
        parts = f" | draw {fmt(row['draw_ms'])}"
        if row["figure"] == "frame":
            parts = (
                f" | header->end {fmt(row['receive_ms'])}, install {fmt(row['install_ms'])}{parts}"
                f" | read-ahead {'off' if row.get('prefetch') == 0 else 'on'}: "
                f"{row.get('hits', 0)}/{row['reps']} hits"
            )
    return (
        f"{row['figure']:<8} {row['painter']:<9} {row['size']:>5}² x {row['channels']}ch       | "
        f"redraw {fmt(row['redraw_ms'])} | {row['mb_in']['p50']:.1f} MB in | {what}{parts}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=12)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--sizes", type=int, nargs="*", default=[512, 2048])
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--latency-sizes", type=int, nargs="*", default=[512])
    parser.add_argument(
        "--bandwidth-mbit",
        type=float,
        default=50.0,
        help="bandwidth per direction of the remote-kernel proxy (strokes and frame_remote)",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        choices=["strokes", "scrub", "redraw", "remote", "baseline"],
        help="run only these figures (default: all)",
    )
    parser.add_argument(
        "--painters",
        nargs="+",
        default=["segpaint", "ipycanvas"],
        choices=["segpaint", "ipycanvas"],
    )
    parser.add_argument("--skip-redraw", action="store_true")
    parser.add_argument("--skip-strokes", action="store_true")
    parser.add_argument("--only-scrub", action="store_true", help="only the scrub figure")
    parser.add_argument(
        "--out", default="browser.json", help="file name of the JSON in benchmarks/results/"
    )
    parser.add_argument("--quick", action="store_true", help="3 reps, 1 warm-up (a smoke run)")
    parser.add_argument(
        "--no-prefetch",
        action="store_true",
        help="Annotator(prefetch=0) in the frame figures (scrub, redraw, remote): the cold path "
        "of every frame change, without the neighbours' pictures read ahead",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.reps, args.warmup = 3, 1
    reason = H.browser_missing_reason()
    if reason:
        print(f"bench_browser: cannot run: {reason}", file=sys.stderr)
        return 2

    from playwright.sync_api import sync_playwright

    def wanted(figure: str) -> bool:
        if args.only:
            return figure in args.only
        if args.only_scrub:
            return figure == "scrub"
        if figure == "strokes":
            return not args.skip_strokes
        if figure in ("redraw", "baseline"):
            return not args.skip_redraw
        return True

    def log(line: str) -> None:
        print(line, flush=True)

    started = time.time()
    with tempfile.TemporaryDirectory(prefix="segpaint-bench-") as tmp:
        server = H.start_jupyter_server(Path(tmp))
        proxy = LatencyProxy(server.port)
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(
                    executable_path=shutil.which("chromium"), headless=True, args=H.CHROMIUM_ARGS
                )
                try:
                    print(
                        "p50 / p95 in ms; msgs = comm messages the kernel handled per stroke; "
                        "ws = websocket frames out/in; move = page task ms per pointer move"
                    )
                    rows = []
                    if wanted("strokes"):
                        rows += bench_strokes(browser, server, proxy, args, log)
                    if wanted("scrub"):
                        rows += bench_scrub(browser, server, args, log)
                    if wanted("remote"):
                        rows += bench_remote_frame(browser, server, proxy, args, log)
                    if wanted("redraw"):
                        rows += bench_redraws(browser, server, args, log)
                    if wanted("baseline") and "ipycanvas" in args.painters:
                        rows += bench_redraws_baseline(browser, server, args, log)
                    chromium_version = browser.version
                finally:
                    browser.close()
        finally:
            proxy.close()
            server.stop()

    # Ratios of p50s; a figure under the page clock's resolution (0.1 ms) counts as 0.1 ms.
    ratios: dict[str, dict[str, float]] = {}
    for size, latency in [(n, 0.0) for n in args.sizes] + [
        (n, args.latency_ms) for n in args.latency_sizes
    ]:
        by = {
            r["painter"]: r
            for r in rows
            if r["figure"] == "stroke" and r["size"] == size and r["added_latency_ms"] == latency
        }
        if {"segpaint", "ipycanvas"} <= by.keys():
            ratios[f"{size}px +{latency:.0f}ms"] = {
                key: by["ipycanvas"][key]["p50"] / max(by["segpaint"][key]["p50"], 0.1)
                for key in ("shown_ms", "kernel_ms", "move_cost_ms", "ws_out", "kernel_messages")
            }
    print("ipycanvas / segpaint, p50 ratios (shown: segpaint 0 ms counted as 0.1 ms):")
    for case, ratio in ratios.items():
        print(f"- {case}: " + ", ".join(f"{k} {v:.1f}x" for k, v in ratio.items()))
    jupyterlab_version = subprocess.run(
        [sys.executable, "-c", "import jupyterlab; print(jupyterlab.__version__)"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / args.out
    out.write_text(
        json.dumps(
            {
                "benchmark": "browser",
                "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
                "seconds": round(time.time() - started, 1),
                "reps": args.reps,
                "warmup": args.warmup,
                "machine": {
                    "python": platform.python_version(),
                    "cpus": __import__("os").cpu_count(),
                    "chromium": chromium_version,
                    "jupyterlab": jupyterlab_version,
                },
                "rows": rows,
                "ratios_ipycanvas_over_segpaint": ratios,
            },
            indent=1,
        )
    )
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
