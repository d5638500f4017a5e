"""Real-browser harness: JupyterLab on loopback + Debian's Chromium driven by Playwright.

Fixtures (session scope unless noted):

- ``jupyter_server``: a JupyterLab server started with the tests' own Python (so the kernel imports
  this checkout's ``segpaint`` through ``PYTHONPATH``), on a free loopback port, with a random token,
  a temporary root folder and isolated config/runtime folders; stopped at teardown.
- ``browser``: headless Chromium (``shutil.which("chromium")``, never a Playwright download).
- ``new_page`` (function scope): a factory of fresh pages (closed at teardown) that records the
  websocket frames each page sends and receives.

Helpers used by the tests and by ``benchmarks/bench_browser.py``: :func:`open_widget` (a fresh
page with a notebook whose cells build a widget, ready and focused), :func:`write_notebook`,
:func:`annotator_js`, :func:`browser_labels`, :func:`wait_canvas`,
:class:`Notebook` (open in JupyterLab or Notebook 7, run all cells, reach the kernel), and
:class:`KernelClient` (evaluate Python in the notebook's kernel directly over ZeroMQ, so checking
state from the tests adds no traffic to the page's websocket).

Without chromium the tests skip with the reason; with ``SEGPAINT_REQUIRE_BROWSER=1`` (set in CI) they
fail instead. Screenshots go to ``test-artifacts/`` at the repository root (git-ignored).
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

# The test modules import the helpers below as `segpaint_browser_harness` (a `conftest` module name
# is not unique: tests/conftest.py exists too); benchmarks/bench_browser.py loads this file so.
sys.modules.setdefault("segpaint_browser_harness", sys.modules[__name__])

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERVER_START_TIMEOUT_S = 60.0
KERNEL_TIMEOUT_S = 60.0


# --------------------------------------------------------------------------------------------
# availability: skip locally, fail in CI
# --------------------------------------------------------------------------------------------
def browser_missing_reason() -> str | None:
    """Say why the browser tests cannot run here, or ``None`` when they can."""
    if shutil.which("chromium") is None:
        return "chromium is not installed (run `bash scripts/setup_browser.sh`)"
    for module in ("playwright", "jupyterlab", "jupyter_client"):
        try:
            __import__(module)
        except ImportError:
            return f"python package {module!r} is missing (pip install 'segpaint[browser]')"
    return None


def require_browser() -> None:
    """Skip (or fail when ``SEGPAINT_REQUIRE_BROWSER=1``) when the browser stack is missing."""
    reason = browser_missing_reason()
    if reason is None:
        return
    if os.environ.get("SEGPAINT_REQUIRE_BROWSER") == "1":
        pytest.fail(f"SEGPAINT_REQUIRE_BROWSER=1 but {reason}", pytrace=False)
    pytest.skip(reason)


# --------------------------------------------------------------------------------------------
# JupyterLab server
# --------------------------------------------------------------------------------------------
def free_port() -> int:
    """Return a TCP port that is free on the loopback interface right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class JupyterServer:
    """A running JupyterLab server (see :func:`start_jupyter_server`)."""

    process: subprocess.Popen[bytes]
    port: int
    token: str
    root_dir: Path
    runtime_dir: Path
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str, *, port: int | None = None) -> str:
        """Return the page URL for ``path`` with the token (``port`` routes through a proxy)."""
        sep = "&" if "?" in path else "?"
        return f"http://127.0.0.1:{port or self.port}{path}{sep}token={self.token}"

    def api(self, path: str, *, method: str = "GET") -> Any:
        """Call a REST endpoint of the server; return its decoded JSON (``None`` when empty)."""
        request = urllib.request.Request(
            self.base_url + path, method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shutdown_kernel(self, notebook_path: str) -> None:
        """Shut down the kernel session of ``notebook_path`` (no-op when there is none)."""
        for sess in self.api("/api/sessions"):
            if sess.get("path") == notebook_path:
                self.api(f"/api/sessions/{sess['id']}", method="DELETE")

    def kernel_id(self, notebook_path: str, *, timeout: float = KERNEL_TIMEOUT_S) -> str:
        """Return the id of the kernel attached to ``notebook_path`` (waits until it exists)."""
        deadline = time.monotonic() + timeout
        while True:
            for sess in self.api("/api/sessions"):
                if sess.get("path") == notebook_path and sess.get("kernel"):
                    return str(sess["kernel"]["id"])
            if time.monotonic() > deadline:
                raise TimeoutError(f"no kernel session for {notebook_path!r} after {timeout} s")
            time.sleep(0.1)

    def log_tail(self, n_chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-n_chars:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def start_jupyter_server(base: Path) -> JupyterServer:
    """Start JupyterLab with this Python on a free loopback port, rooted in ``base / "root"``."""
    root_dir = base / "root"
    runtime_dir = base / "runtime"
    config_dir = base / "config"
    for folder in (root_dir, runtime_dir, config_dir, base / "settings", base / "workspaces"):
        folder.mkdir(parents=True, exist_ok=True)
    # No "get notified about Jupyter news?" toast over the canvas.
    notification = base / "settings" / "@jupyterlab" / "apputils-extension"
    notification.mkdir(parents=True, exist_ok=True)
    (notification / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    token = secrets.token_hex(16)
    port = free_port()
    env = dict(os.environ)
    # The kernel inherits this environment: it imports segpaint from this checkout.
    src = str(REPO_ROOT / "src")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH", "")) if p)
    env["JUPYTER_RUNTIME_DIR"] = str(runtime_dir)
    env["JUPYTER_CONFIG_DIR"] = str(config_dir)
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    env.pop("JUPYTER_TOKEN", None)
    log_path = base / "jupyter.log"
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--allow-root",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.token={token}",
        f"--ServerApp.root_dir={root_dir}",
        "--LabApp.expose_app_in_browser=True",
        "--JupyterNotebookApp.expose_app_in_browser=True",
        f"--LabApp.user_settings_dir={base / 'settings'}",
        f"--LabApp.workspaces_dir={base / 'workspaces'}",
        "--LabApp.news_url=",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(cmd, cwd=root_dir, env=env, stdout=log, stderr=subprocess.STDOUT)
    server = JupyterServer(process, port, token, root_dir, runtime_dir, log_path)
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"JupyterLab exited early:\n{server.log_tail()}")
        try:
            server.api("/api/status")
            return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            if time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(
                    f"JupyterLab did not answer in {SERVER_START_TIMEOUT_S} s:\n{server.log_tail()}"
                ) from None
            time.sleep(0.2)


# --------------------------------------------------------------------------------------------
# kernel access over ZeroMQ (no traffic on the page's websocket)
# --------------------------------------------------------------------------------------------
class KernelError(RuntimeError):
    """Code run through :class:`KernelClient` raised in the kernel."""


class KernelClient:
    """Run code in a running kernel (the notebook's) from the test process.

    Values come back through ``user_expressions`` in the execute reply (JSON) or through a
    ``.npy`` file in a scratch folder (arrays), so the kernel's iopub stream is never needed.
    """

    def __init__(self, connection_file: Path, scratch: Path) -> None:
        from jupyter_client.blocking.client import BlockingKernelClient

        self._scratch = scratch
        self._counter = 0
        self._kc = BlockingKernelClient(connection_file=str(connection_file))
        self._kc.load_connection_file()
        self._kc.start_channels(iopub=False, stdin=False, hb=False)

    @property
    def session_id(self) -> str:
        """The Jupyter message session id of this client (in the headers of its messages)."""
        return str(self._kc.session.session)

    def close(self) -> None:
        self._kc.stop_channels()

    def _request(self, code: str, expressions: dict[str, str], timeout: float) -> dict[str, Any]:
        msg_id = self._kc.execute(
            code,
            silent=False,
            store_history=False,
            user_expressions=expressions,
            allow_stdin=False,
        )
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"kernel did not answer in {timeout} s to:\n{code}")
            reply = self._kc.get_shell_msg(timeout=remaining)
            if reply["parent_header"].get("msg_id") == msg_id:
                content: dict[str, Any] = reply["content"]
                break
        if content["status"] != "ok":
            trace = "\n".join(content.get("traceback", []))
            raise KernelError(f"{content.get('ename')}: {content.get('evalue')}\n{trace}\n{code}")
        return content

    def run(self, code: str, *, timeout: float = KERNEL_TIMEOUT_S) -> None:
        """Execute ``code`` in the kernel; raise :class:`KernelError` when it raises."""
        self._request(code, {}, timeout)

    def eval(self, expr: str, *, code: str = "", timeout: float = KERNEL_TIMEOUT_S) -> Any:
        """Run ``code``, then return ``expr`` evaluated in the kernel (must be JSON-able)."""
        wrapped = f"__import__('json').dumps({expr})"
        content = self._request(code, {"r": wrapped}, timeout)
        result = content["user_expressions"]["r"]
        if result["status"] != "ok":
            trace = "\n".join(result.get("traceback", []))
            raise KernelError(f"{result.get('ename')}: {result.get('evalue')}\n{trace}\n{expr}")
        return json.loads(ast.literal_eval(result["data"]["text/plain"]))

    def array(self, expr: str, *, timeout: float = KERNEL_TIMEOUT_S) -> np.ndarray:
        """Return ``numpy.asarray(expr)`` evaluated in the kernel, bit-exact (through ``.npy``)."""
        self._counter += 1
        path = self._scratch / f"kernel_array_{os.getpid()}_{self._counter}.npy"
        self.run(
            f"__import__('numpy').save({str(path)!r}, __import__('numpy').asarray({expr}))",
            timeout=timeout,
        )
        try:
            array: np.ndarray = np.load(path)
            return array
        finally:
            path.unlink(missing_ok=True)


# --------------------------------------------------------------------------------------------
# notebooks
# --------------------------------------------------------------------------------------------
def disc_cells_code(rows: int, cols: int, cells: list[tuple[int, int, int]]) -> str:
    """Notebook code for a one-frame movie of bright discs on noise: ``truth`` (uint32, disc k
    of ``cells`` = [(row, col, radius)] is label k), its ``image`` (uint16) and a ``session`` on
    it with the population "cells" (no labels set)."""
    return f"""
import numpy as np
import segpaint
rng = np.random.default_rng(0)
rr, cc = np.mgrid[:{rows}, :{cols}]
truth = np.zeros(({rows}, {cols}), np.uint32)
for k, (r, c, rad) in enumerate({cells}, start=1):
    truth[(rr - r) ** 2 + (cc - c) ** 2 <= rad**2] = k
image = (300 + rng.normal(0, 15, ({rows}, {cols})) + 1200 * (truth > 0)).astype(np.uint16)
session = segpaint.open(image[None], axes="TYX", populations=["cells"])
"""


def write_notebook(root_dir: Path, name: str, cells: list[str]) -> str:
    """Write a code-only notebook ``name`` (python3 kernel) under ``root_dir``; return its path."""
    notebook = {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "id": f"cell-{i}",
                "metadata": {},
                "outputs": [],
                "source": source,
            }
            for i, source in enumerate(cells)
        ],
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (root_dir / name).write_text(json.dumps(notebook, indent=1))
    return name


@dataclass
class WebSocketLog:
    """Kernel websocket frames a page sent and received: ``(time.perf_counter(), n_bytes)``.

    Frames whose payload contains one of ``ignore`` (e.g. the session id of a
    :class:`KernelClient`, whose iopub status messages the server broadcasts to every page) are
    left out, so the log counts only the page's own traffic.
    """

    sent: list[tuple[float, int]] = field(default_factory=list)
    received: list[tuple[float, int]] = field(default_factory=list)
    ignore: list[bytes] = field(default_factory=list)
    all_received: list[tuple[float, int]] = field(default_factory=list)

    def _record(self, frames: list[tuple[float, int]], payload: str | bytes) -> None:
        data = payload.encode() if isinstance(payload, str) else payload
        now = time.perf_counter()
        if frames is self.received:
            self.all_received.append((now, len(data)))
        if any(token in data for token in self.ignore):
            return
        frames.append((now, len(data)))

    def bytes_received(self, since: float = 0.0, until: float = float("inf")) -> int:
        """Bytes in all frames received (``ignore`` does not apply) in ``[since, until)``."""
        return sum(n for t, n in self.all_received if since <= t < until)

    def counts(self, since: float = 0.0, until: float = float("inf")) -> tuple[int, int]:
        """Return (frames sent, frames received) with ``since <= time < until``."""
        return (
            sum(since <= t < until for t, _ in self.sent),
            sum(since <= t < until for t, _ in self.received),
        )


def track_websockets(page: Any) -> WebSocketLog:
    """Record every kernel websocket frame ``page`` sends or receives (see :class:`WebSocketLog`)."""
    log = WebSocketLog()

    def on_websocket(ws: Any) -> None:
        if "/api/kernels/" not in ws.url:
            return
        ws.on("framesent", lambda payload: log._record(log.sent, payload))
        ws.on("framereceived", lambda payload: log._record(log.received, payload))

    page.on("websocket", on_websocket)
    return log


RUN_ALL_JS = """
async () => {
  const app = window.jupyterapp;
  const widget = app.shell.currentWidget;
  await widget.context.sessionContext.ready;
  // More room for the widget: fold JupyterLab's side panels away (Notebook 7 has none open).
  if (app.shell.collapseLeft) app.shell.collapseLeft();
  if (app.shell.collapseRight) app.shell.collapseRight();
  if (app.commands.hasCommand('notebook:run-all-cells')) {
    await app.commands.execute('notebook:run-all-cells');
  } else {
    await app.commands.execute('runmenu:run-all');
  }
}
"""

NOTEBOOK_READY_JS = """
() => {
  const app = window.jupyterapp;
  if (!app || !app.shell) return false;
  const widget = app.shell.currentWidget;
  if (!widget || !widget.context || !widget.context.sessionContext) return false;
  const kernel = widget.context.sessionContext.session?.kernel;
  return !!kernel && kernel.connectionStatus === 'connected';
}
"""


class Notebook:
    """A notebook open in a page (JupyterLab or Notebook 7) with a client to its kernel."""

    def __init__(
        self,
        page: Any,
        server: JupyterServer,
        path: str,
        kernel: KernelClient,
        ws_log: WebSocketLog | None = None,
    ) -> None:
        self.page = page
        self.server = server
        self.path = path
        self.kernel = kernel
        self.ws = ws_log

    @classmethod
    def open(
        cls,
        page: Any,
        server: JupyterServer,
        path: str,
        *,
        ui: str = "lab",
        port: int | None = None,
        ws_log: WebSocketLog | None = None,
        timeout: float = 90.0,
    ) -> Notebook:
        """Open ``path`` in ``ui`` ("lab" or "notebook"), run all its cells, attach a kernel client.

        ``port`` loads the page through another port (a latency proxy in front of the server);
        ``ws_log`` (the page's) is told to leave out the kernel client's own broadcast messages.
        """
        if ui not in ("lab", "notebook"):
            raise ValueError(f"ui must be 'lab' or 'notebook', got {ui!r}")
        # `reset`: never restore the previous page's workspace (its notebooks would open too).
        route = f"/lab/tree/{path}?reset" if ui == "lab" else f"/notebooks/{path}"
        page.goto(server.url(route, port=port), wait_until="domcontentloaded")
        page.wait_for_function(NOTEBOOK_READY_JS, timeout=timeout * 1000, polling=100)
        page.evaluate(RUN_ALL_JS)
        kernel_id = server.kernel_id(path)
        connection_file = server.runtime_dir / f"kernel-{kernel_id}.json"
        kernel = KernelClient(connection_file, server.runtime_dir)
        if ws_log is not None:
            ws_log.ignore.append(kernel.session_id.encode())
        return cls(page, server, path, kernel, ws_log)

    def close(self, *, shutdown: bool = True) -> None:
        """Close the kernel client; with ``shutdown``, also stop the notebook's kernel."""
        self.kernel.close()
        if shutdown:
            self.server.shutdown_kernel(self.path)

    def error_outputs(self) -> list[str]:
        """Text of the error and stderr outputs shown in the notebook."""
        return list(
            self.page.locator(
                ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
            ).all_inner_texts()
        )

    def wait_kernel(self, expr: str, timeout_s: float = 30.0) -> None:
        """Wait until ``expr`` is true in the kernel (polled over ZeroMQ); on timeout, fail with
        the annotator's status line."""
        deadline = time.monotonic() + timeout_s
        while not self.kernel.eval(f"bool({expr})"):
            if time.monotonic() > deadline:
                status = self.kernel.eval("annotator.status")
                raise AssertionError(
                    f"kernel: {expr!r} still false after {timeout_s} s; annotator.status = {status!r}"
                )
            time.sleep(0.05)

    def wait_for(self, selector: str, *, timeout: float = 90.0, name: str = "wait") -> Any:
        """Wait until ``selector`` is attached and return its locator.

        On timeout, saves a screenshot ``test-artifacts/<name>-timeout.png`` and fails with the
        notebook's error outputs, which usually say why (a traceback in a cell).
        """
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        locator = self.page.locator(selector).first
        deadline = time.monotonic() + timeout
        while True:
            try:
                locator.wait_for(state="attached", timeout=1000)
                return locator
            except PlaywrightTimeout:
                errors = [e for e in self.error_outputs() if "Error" in e]
                if not errors and time.monotonic() < deadline:
                    continue
            shot = save_screenshot(self.page, f"{name}-timeout")
            text = "\n".join(errors) or "(no error output in the notebook)"
            raise AssertionError(f"{selector!r} did not appear (screenshot {shot}):\n{text}")


def annotator_js(page: Any, body: str, arg: Any = None) -> Any:
    """Run ``body`` in the page with ``root`` (the first Annotator's element), ``s`` (its debug
    hooks, ``root.__segpaint``) and ``arg`` in scope; returns what it returns."""
    script = (
        "(arg) => { const root = document.querySelector('.segpaint-annotator');"
        f" const s = root.__segpaint; return (() => {{ {body} }})(); }}"
    )
    return page.evaluate(script, arg)


def image_to_client(page: Any, row: float, col: float) -> tuple[float, float]:
    """The page's client point (x, y) of image pixel (``row``, ``col``) in the first Annotator,
    at its current zoom and pan (for Playwright's mouse)."""
    p = annotator_js(
        page, "const p = s.imageToClient(arg[0], arg[1]); return [p.x, p.y];", [row, col]
    )
    return float(p[0]), float(p[1])


def wait_full_frame(page: Any, frame: int) -> None:
    """Wait until the first Annotator holds ``frame``'s lossless channels (not only a preview)."""
    page.wait_for_function(
        "() => document.querySelector('.segpaint-annotator').getAttribute('data-full-frame')"
        f" === '{frame}'",
        timeout=60_000,
    )


def browser_labels(page: Any, rows: int, cols: int) -> np.ndarray:
    """The first Annotator's label buffer in the browser, ``rows`` x ``cols`` pixels from (0, 0)."""
    flat = annotator_js(
        page,
        "const out = []; for (let r = 0; r < arg[0]; r++) for (let c = 0; c < arg[1]; c++) "
        "out.push(s.label(r, c)); return out;",
        [rows, cols],
    )
    return np.asarray(flat, np.uint32).reshape(rows, cols)


def wait_canvas(page: Any, expected: np.ndarray, *, timeout_s: float = 30.0) -> None:
    """Wait until the browser's label buffer equals ``expected`` (the kernel's labels)."""
    deadline = time.monotonic() + timeout_s
    while not np.array_equal(browser_labels(page, *expected.shape), expected):
        if time.monotonic() > deadline:
            raise AssertionError("the canvas' label buffer never matched the session")
        time.sleep(0.05)


def save_screenshot(page: Any, name: str, *, element: Any | None = None) -> Path:
    """Save a PNG of the page (or of ``element``) as ``test-artifacts/<name>.png``."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    if element is not None:
        element.screenshot(path=str(path))
    else:
        page.screenshot(path=str(path), full_page=False)
    return path


WIDGET_READY = '.segpaint-annotator[data-ready="1"]'


@contextlib.contextmanager
def open_widget(
    browser: Any,
    server: JupyterServer,
    name: str,
    cells: list[str],
    *,
    viewport: tuple[int, int] = (1400, 1100),
    ui: str = "lab",
    focus: bool = True,
) -> Iterator[Notebook]:
    """A fresh page with ``<name>.ipynb`` (``cells``) open in ``ui`` and run, its first Annotator ready.

    The widget's canvas is scrolled into view and, with ``focus``, the widget holds the keyboard
    focus. Yields the `Notebook` (``nb.page``; ``nb.ws``: the page's websocket frame log); at the
    end its kernel is shut down and the page's browser context closed.
    """
    context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
    try:
        page = context.new_page()
        ws = track_websockets(page)
        path = write_notebook(server.root_dir, f"{name}.ipynb", cells)
        nb = Notebook.open(page, server, path, ui=ui, ws_log=ws)
        try:
            nb.wait_for(WIDGET_READY, name=name)
            page.locator("canvas.segpaint-view").first.scroll_into_view_if_needed()
            if focus:
                annotator_js(page, "root.focus({preventScroll: true}); return true;")
            yield nb
        finally:
            nb.close()
    finally:
        context.close()


# --------------------------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def browser_available() -> None:
    require_browser()


@pytest.fixture(scope="session")
def jupyter_server(browser_available: None) -> Iterator[JupyterServer]:
    with tempfile.TemporaryDirectory(prefix="segpaint-browser-") as tmp:
        server = start_jupyter_server(Path(tmp))
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture(scope="session")
def browser(browser_available: None) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=shutil.which("chromium"), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def new_page(browser: Any) -> Iterator[Callable[[], tuple[Any, WebSocketLog]]]:
    """Factory of fresh pages (1400 x 1000 viewport), each with its websocket frame log."""
    contexts: list[Any] = []

    def make() -> tuple[Any, WebSocketLog]:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        contexts.append(context)
        page = context.new_page()
        return page, track_websockets(page)

    yield make
    for context in contexts:
        with contextlib.suppress(Exception):
            context.close()
