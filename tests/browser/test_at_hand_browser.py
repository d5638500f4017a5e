"""Issue 10, "Everything at hand", in a real page: JupyterLab at 1024 x 700 (light and dark) and
Notebook 7. The wheel over an unfocused canvas scrolls the notebook; after a click it zooms. The
widget fits the window with its status line; Enter in the label box applies it; the `?` overlay
lists the shortcuts; the drag handle resizes the canvas and Python's ``height`` follows.
Screenshots go to test-artifacts/at_hand_*.png.
"""

from __future__ import annotations

from typing import Any

import pytest
from segpaint_browser_harness import (
    JupyterServer,
    Notebook,
    save_screenshot,
    track_websockets,
    write_notebook,
)
from segpaint_browser_harness import annotator_js as js  # s: the widget's debug hooks

pytestmark = [pytest.mark.browser, pytest.mark.timeout(400)]

ROOT = ".segpaint-annotator"
CELLS = [
    """
import numpy as np
import segpaint

rng = np.random.default_rng(0)
movie = rng.integers(200, 1400, size=(4, 2, 240, 320), dtype=np.uint16)
session = segpaint.open(movie, axes="TCYX", channel_names=["phase", "nuclei"], frame_interval_min=5)
if "cells" not in session.populations:
    session.add_population("cells")
for k in range(12):
    session.paint("cells", 0, [(40 + (k // 4) * 70, 40 + (k % 4) * 75)], 22, k + 1)
annotator = segpaint.Annotator(session, tool="pan", selected_label=3)
annotator
""",
    "print('\\n'.join(f'line {i}' for i in range(150)))",
]


SCROLLER = """
let el = root.parentElement;
while (el && !(el.scrollHeight > el.clientHeight + 10 && /(auto|scroll)/.test(getComputedStyle(el).overflowY)))
  el = el.parentElement;
"""


def scroll_top(page: Any) -> float:
    """scrollTop of the notebook's scrolling panel around the widget."""
    return float(js(page, SCROLLER + "return el ? el.scrollTop : -1;"))


def open_notebook(browser: Any, server: JupyterServer, name: str, ui: str = "lab") -> Notebook:
    context = browser.new_context(viewport={"width": 1024, "height": 700})
    page = context.new_page()
    ws = track_websockets(page)
    path = write_notebook(server.root_dir, name, CELLS)
    nb = Notebook.open(page, server, path, ui=ui, ws_log=ws)
    nb.wait_for(f'{ROOT}[data-ready="1"]', name=f"{name}-ready")
    page.locator(ROOT).first.scroll_into_view_if_needed()
    return nb


def close(nb: Notebook) -> None:
    context = nb.page.context
    nb.close()
    context.close()


def test_wheel_scrolls_the_notebook_until_the_canvas_is_clicked(
    browser: Any, jupyter_server: JupyterServer
) -> None:
    nb = open_notebook(browser, jupyter_server, "at_hand_wheel.ipynb")
    page = nb.page
    try:
        page.wait_for_function(
            "() => document.querySelectorAll('.jp-OutputArea-output').length >= 2", timeout=60000
        )
        canvas = page.locator(f"{ROOT} canvas.segpaint-view").first
        js(
            page,
            "s && root.querySelector('canvas.segpaint-view').scrollIntoView({block: 'center'}); return 1;",
        )
        box = canvas.bounding_box()
        assert box is not None
        x, y = box["x"] + box["width"] / 2, box["y"] + min(box["height"] / 2, 100)
        page.mouse.move(x, y)  # hovering gives the widget the keys, not the wheel
        view0 = js(page, "return s.view;")
        top0 = scroll_top(page)
        assert top0 >= 0, "no scrolling panel around the widget"
        page.mouse.wheel(0, 300)
        page.wait_for_timeout(300)
        info = js(
            page,
            SCROLLER + "const hit = document.elementFromPoint(arg[0], arg[1]);"
            " return {cls: el && el.className, top: el && el.scrollTop, sh: el && el.scrollHeight,"
            " ch: el && el.clientHeight, hit: hit && hit.className, view: s.view,"
            " active: document.activeElement && document.activeElement.className};",
            [x, y],
        )
        assert info["top"] > top0, repr(info)
        assert js(page, "return s.view;") == view0
        # A click on the canvas (pan tool: no edit) hands it the wheel: now it zooms, no scrolling.
        page.locator(ROOT).first.scroll_into_view_if_needed()
        box = canvas.bounding_box()
        assert box is not None
        x, y = box["x"] + box["width"] / 2, box["y"] + min(box["height"] / 2, 100)
        page.mouse.click(x, y)
        top1 = scroll_top(page)
        page.mouse.wheel(0, -200)
        page.wait_for_function(
            "(v) => document.querySelector('.segpaint-annotator').__segpaint.view.scale > v",
            arg=view0["scale"],
            timeout=5000,
        )
        assert scroll_top(page) == top1
        assert nb.kernel.eval("int(session.labels('cells', 0).max())") == 12  # nothing painted
        save_screenshot(page, "at_hand_lab_light_1024x700_zoomed")
    finally:
        close(nb)


def test_fits_1024x700_enter_applies_label_help_overlay_and_resize(
    browser: Any, jupyter_server: JupyterServer
) -> None:
    nb = open_notebook(browser, jupyter_server, "at_hand_fit.ipynb")
    page = nb.page
    try:
        # The whole widget, status line included, fits the notebook's scrolling area.
        fit = js(
            page,
            SCROLLER + "const r = root.getBoundingClientRect();"
            " return {widget: r.height, area: el.clientHeight};",
        )
        assert fit["widget"] <= fit["area"], (
            f"widget {fit['widget']}px, notebook area {fit['area']}px"
        )
        js(page, "root.scrollIntoView({block: 'start'}); return true;")
        status_bottom = js(
            page, "return root.querySelector('.segpaint-status').getBoundingClientRect().bottom;"
        )
        assert status_bottom <= 700, status_bottom
        # Frame time in minutes (frame_interval_min=5), frame controls shown (4 frames).
        frame_text = page.locator(f"{ROOT} .segpaint-frames .segpaint-value").first.inner_text()
        assert frame_text == "0 / 3 · 0 min"
        # Enter in the label box applies it in JupyterLab; a negative value is refused.
        box = page.locator(f'{ROOT} input[data-control="selected-label"]').first
        box.fill("9")
        box.press("Enter")
        page.wait_for_function(
            f"() => document.querySelector('{ROOT} .segpaint-status').textContent.includes('selected 9')"
        )
        assert nb.kernel.eval("annotator.selected_label") == 9
        box.fill("-4")
        box.press("Enter")
        status = page.locator(f"{ROOT} .segpaint-status").first
        assert "label must be a whole number" in status.inner_text()
        assert nb.kernel.eval("annotator.selected_label") == 9
        assert box.input_value() == "9"
        swatch = js(
            page, "return root.querySelector('[data-control=selected-swatch]').dataset.color;"
        )
        assert swatch.startswith("#") and len(swatch) == 7
        # The label list counts the frame's 12 cells; choosing one selects it (Python follows).
        page.wait_for_function(
            f"() => document.querySelector('{ROOT} [data-control=label-count]').textContent"
            " === '12 labels'"
        )
        page.locator(f'{ROOT} select[data-control="label-list"]').first.select_option("7")
        page.wait_for_function(
            f"() => document.querySelector('{ROOT} .segpaint-status').textContent.includes('label 7:')"
        )
        # The page says so at once; the trait reaches the kernel a moment later (a comm message).
        nb.wait_kernel("annotator.selected_label == 7", 10)
        js(page, "root.querySelector('[data-action=fit]').click(); return 1;")
        # A typed contrast limit applies on Enter in JupyterLab too.
        hi = page.locator(f'{ROOT} input[data-control="contrast-hi-value"][data-channel="0"]').first
        hi.fill("900")
        hi.press("Enter")
        nb.wait_kernel("annotator.contrast[0][1] == 900", 10)
        # n and v (no clash with JupyterLab's command-mode keys) toggle the fill and preserve modes.
        js(page, "root.focus(); return true;")
        page.keyboard.press("n")
        page.keyboard.press("v")
        nb.wait_kernel("not annotator.fill_contiguous and not annotator.preserve_labels", 10)
        assert page.locator(".jp-Notebook .jp-MarkdownCell").count() == 0  # no cell turned markdown
        # ? lists the shortcuts over the canvas; Escape closes it.
        js(page, "root.focus(); return true;")
        page.keyboard.press("?")
        help_box = page.locator(f"{ROOT} .segpaint-help").first
        assert help_box.is_visible()
        assert "Ctrl/Cmd" in help_box.inner_text()
        save_screenshot(page, "at_hand_lab_light_1024x700_help")
        page.keyboard.press("Escape")
        assert not help_box.is_visible()
        save_screenshot(page, "at_hand_lab_light_1024x700")
        # The drag handle resizes the canvas; Python's `height` follows on release.
        handle = page.locator(f"{ROOT} .segpaint-resize").first
        hb = handle.bounding_box()
        assert hb is not None
        h0 = js(
            page, "return root.querySelector('.segpaint-viewport').getBoundingClientRect().height;"
        )
        page.mouse.move(hb["x"] + hb["width"] / 2, hb["y"] + hb["height"] / 2)
        page.mouse.down()
        page.mouse.move(hb["x"] + hb["width"] / 2, hb["y"] + hb["height"] / 2 - 60, steps=5)
        page.mouse.up()
        expected = max(160, round(h0 - 60))  # 160 px is the smallest canvas
        nb.wait_kernel(f"abs(annotator.height - {expected}) <= 1", 10)
        nb.kernel.run("annotator.height = 0")
        page.wait_for_function(
            f"() => document.querySelector('{ROOT} .segpaint-viewport').style.height === ''"
        )
    finally:
        close(nb)


def test_dark_theme_and_notebook7_screenshots(browser: Any, jupyter_server: JupyterServer) -> None:
    nb = open_notebook(browser, jupyter_server, "at_hand_dark.ipynb")
    page = nb.page
    try:
        page.evaluate(
            "async () => await window.jupyterapp.commands.execute("
            "'apputils:change-theme', {theme: 'JupyterLab Dark'})"
        )
        page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'")
        page.wait_for_timeout(500)
        border = js(page, "return getComputedStyle(root).borderTopColor;")
        background = js(
            page, "return getComputedStyle(document.querySelector('.jp-Notebook')).backgroundColor;"
        )
        assert border != background, (border, background)
        js(page, "root.scrollIntoView({block: 'start'}); return true;")
        save_screenshot(page, "at_hand_lab_dark_1024x700")
    finally:
        page.evaluate(
            "async () => await window.jupyterapp.commands.execute("
            "'apputils:change-theme', {theme: 'JupyterLab Light'})"
        )
        close(nb)
    nb = open_notebook(browser, jupyter_server, "at_hand_nb7.ipynb", ui="notebook")
    try:
        js(nb.page, "root.scrollIntoView({block: 'start'}); return true;")
        assert nb.page.locator(f"{ROOT} .segpaint-status").first.is_visible()
        save_screenshot(nb.page, "at_hand_notebook7_1024x700")
    finally:
        close(nb)
