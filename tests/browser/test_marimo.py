"""The Annotator in marimo: ``marimo run`` on loopback, headless Chromium, a real mouse stroke.

marimo runs the notebook's cells in its own server process, out of reach of the tests; the test
notebook therefore subscribes to ``session.on_change`` and writes the edited frame's labels to a
file, which the test reads (bit-exact ``.npy``).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from segpaint_browser_harness import ARTIFACTS, REPO_ROOT, free_port

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

READY = '.segpaint-annotator[data-ready="1"]'
N_ROWS, N_COLS = 96, 128

NOTEBOOK = """
import marimo

app = marimo.App()


@app.cell
def _():
    import os

    import marimo as mo
    import numpy as np

    import segpaint

    out = os.environ["SEGPAINT_MARIMO_OUT"]
    image = np.full(({rows}, {cols}), 200, np.uint16)
    image[20:60, 30:90] = 3000
    session = segpaint.open(image, journal=False)

    def dump(population, frame, bbox):
        tmp = out + ".part.npy"
        np.save(tmp, np.asarray(session.labels(population, frame)))
        os.replace(tmp, out)

    session.on_change(dump)
    annotator = session.annotator(brush_size=5, tool="brush")
    widget = mo.ui.anywidget(annotator)
    widget
    return


if __name__ == "__main__":
    app.run()
"""


def _marimo_missing() -> str | None:
    if shutil.which("chromium") is None:
        return "chromium is not installed (run `bash scripts/setup_browser.sh`)"
    for module in ("marimo", "playwright"):
        try:
            __import__(module)
        except ImportError:
            return f"python package {module!r} is missing (pip install 'segpaint[browser]')"
    if not (REPO_ROOT / "src" / "segpaint" / "static" / "widget.js").is_file():
        return "the widget bundle is not built (cd js && npm install && npm run build)"
    return None


@dataclass
class MarimoServer:
    process: subprocess.Popen[bytes]
    port: int
    token: str
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/?access_token={self.token}"

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


def _start(notebook: Path, env_extra: dict[str, str], scratch: Path) -> MarimoServer:
    port = free_port()
    token = secrets.token_hex(12)
    env = dict(os.environ)
    src = str(REPO_ROOT / "src")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH", "")) if p)
    env["HOME"] = str(scratch)  # marimo's config and cache stay in the test's folder
    env.update(env_extra)
    log = scratch / f"marimo-{notebook.stem}.log"
    cmd = [
        sys.executable,
        "-m",
        "marimo",
        "run",
        str(notebook),
        "--headless",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--token-password",
        token,
        "--no-sandbox",
    ]
    with log.open("wb") as fh:
        process = subprocess.Popen(cmd, cwd=scratch, env=env, stdout=fh, stderr=subprocess.STDOUT)
    server = MarimoServer(process, port, token, log)
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"marimo exited with {process.returncode}:\n{server.log_tail()}")
        with (
            contextlib.suppress(urllib.error.URLError, ConnectionError, TimeoutError),
            urllib.request.urlopen(server.url, timeout=2) as response,
        ):
            if response.status == 200:
                return server
        if time.monotonic() > deadline:
            _stop(server)
            raise TimeoutError(f"marimo did not answer within 60 s:\n{server.log_tail()}")
        time.sleep(0.25)


def _stop(server: MarimoServer) -> None:
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=5)


@pytest.fixture
def chromium_page(browser: Any) -> Iterator[Any]:
    """A page of the session's Chromium (one Playwright per test session: a second one would
    start its own event loop inside the first)."""
    reason = _marimo_missing()
    if reason is not None:
        if os.environ.get("SEGPAINT_REQUIRE_BROWSER") == "1":
            pytest.fail(f"SEGPAINT_REQUIRE_BROWSER=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    context = browser.new_context(viewport={"width": 1300, "height": 1000})
    try:
        yield context.new_page()
    finally:
        context.close()


def _screenshot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    with contextlib.suppress(Exception):
        page.screenshot(path=str(ARTIFACTS / name))


def test_a_stroke_in_marimo_reaches_the_session(chromium_page: Any, tmp_path: Path) -> None:
    notebook = tmp_path / "annotate.py"
    notebook.write_text(textwrap.dedent(NOTEBOOK.format(rows=N_ROWS, cols=N_COLS)))
    out = tmp_path / "labels.npy"
    server = _start(notebook, {"SEGPAINT_MARIMO_OUT": str(out)}, tmp_path)
    page = chromium_page
    try:
        page.goto(server.url)
        try:
            page.wait_for_selector(READY, timeout=90_000)
        except Exception:
            _screenshot(page, "marimo-not-ready.png")
            raise AssertionError(
                f"the Annotator never became ready:\n{server.log_tail()}"
            ) from None
        canvas = page.locator("canvas.segpaint-view").first
        canvas.scroll_into_view_if_needed()
        box = canvas.bounding_box()
        assert box is not None
        assert not out.exists()  # nothing painted yet
        # a horizontal stroke through the middle of the canvas, with the default brush
        y = box["y"] + box["height"] * 0.5
        page.mouse.move(box["x"] + box["width"] * 0.3, y)
        page.mouse.down()
        for k in range(1, 11):
            page.mouse.move(box["x"] + box["width"] * (0.3 + 0.04 * k), y)
        page.mouse.up()
        deadline = time.monotonic() + 30
        while not out.exists():
            if time.monotonic() > deadline:
                _screenshot(page, "marimo-no-stroke.png")
                raise AssertionError(f"no edit reached the Session:\n{server.log_tail()}")
            time.sleep(0.1)
        time.sleep(0.5)  # let a possible second write land
        labels = np.load(out)
        _screenshot(page, "marimo-annotator.png")
    finally:
        _stop(server)
    assert labels.shape == (N_ROWS, N_COLS)
    painted = np.argwhere(labels > 0)
    assert len(painted) > 20
    # the stroke is horizontal: a few rows around the middle, spanning ~40% of the width
    rows, cols = painted[:, 0], painted[:, 1]
    assert rows.max() - rows.min() <= 12
    assert abs(rows.mean() - N_ROWS / 2) < 12
    assert cols.max() - cols.min() > 0.3 * N_COLS


def test_the_marimo_example_notebook_shows_the_annotator(
    chromium_page: Any, tmp_path: Path
) -> None:
    notebook = REPO_ROOT / "notebooks" / "marimo_annotator.py"
    server = _start(notebook, {}, tmp_path)
    page = chromium_page
    try:
        page.goto(server.url)
        try:
            page.wait_for_selector(READY, timeout=120_000)
        except Exception:
            _screenshot(page, "marimo-example-not-ready.png")
            raise AssertionError(
                f"the example never showed the Annotator:\n{server.log_tail()}"
            ) from None
        page.wait_for_selector("text=cells per frame", timeout=30_000)
        before = _cell_counts(page)
        # `m` (a new label), a short stroke near a corner, then "Count cells": one more cell
        page.locator(".segpaint-annotator").first.focus()
        page.keyboard.press("m")
        canvas = page.locator("canvas.segpaint-view").first
        canvas.scroll_into_view_if_needed()
        box = canvas.bounding_box()
        assert box is not None
        # near the top, around the middle: inside the (letterboxed) image whatever the fit
        y = box["y"] + box["height"] * 0.04
        page.mouse.move(box["x"] + box["width"] * 0.45, y)
        page.mouse.down()
        for k in range(1, 6):
            page.mouse.move(box["x"] + box["width"] * (0.45 + 0.01 * k), y)
        page.mouse.up()
        deadline = time.monotonic() + 30
        while True:
            page.get_by_role("button", name="Count cells").click()
            page.wait_for_timeout(500)
            after = _cell_counts(page)
            if after[0] == before[0] + 1 or time.monotonic() > deadline:
                break
        _screenshot(page, "marimo-example.png")
        assert after == [before[0] + 1, *before[1:]], (before, after)
    finally:
        _stop(server)


def _cell_counts(page: Any) -> list[int]:
    text = page.get_by_text("cells per frame").first.inner_text()
    inside = text.split("[", 1)[1].split("]", 1)[0]
    return [int(v) for v in inside.split(",")]
