"""Issue 10, "nothing surprising happens to my work", in JupyterLab and Notebook 7 (Chromium): the
widget opens on pan (a first drag paints nothing), Ctrl+Z after deleting an ROI brings it back and
Ctrl+Z of an edit on another frame shows that frame, a session from an array shows where exports go
and takes a typed folder, a second export offers a new version, the pre-segmentation panel asks
before replacing corrections, and once the kernel is gone a banner says so and strokes are refused.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any

import pytest
from segpaint_browser_harness import (
    JupyterServer,
    Notebook,
    save_screenshot,
    track_websockets,
    write_notebook,
)
from segpaint_browser_harness import annotator_js as js
from segpaint_browser_harness import image_to_client as client  # s: the widget's debug hooks

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

ROOT = ".segpaint-annotator"

CELLS = [
    """
import numpy as np
import segpaint
movie = np.full((2, 96, 128), 500, np.uint16)
session = segpaint.open(movie, axes="TYX", pixel_size_um=0.5)
cells0 = np.zeros((96, 128), np.uint32)
cells0[20:40, 20:40] = 1
session.set_labels("cells", 0, cells0)
annotator = segpaint.Annotator(session, brush_size=7)
annotator
""",
]


def drag(page: Any, a: tuple[int, int], b: tuple[int, int]) -> None:
    page.mouse.move(*client(page, *a))
    page.mouse.down()
    for k in range(1, 9):
        page.mouse.move(*client(page, a[0] + (b[0] - a[0]) * k / 8, a[1] + (b[1] - a[1]) * k / 8))
    page.mouse.up()


@pytest.mark.parametrize("ui", ["lab", "notebook"])
def test_no_surprise_in_the_page(
    browser: Any, jupyter_server: JupyterServer, tmp_path: Path, ui: str
) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 1400})
    page = context.new_page()
    ws = track_websockets(page)
    path = write_notebook(jupyter_server.root_dir, f"no_surprise_{ui}.ipynb", CELLS)
    nb = Notebook.open(page, jupyter_server, path, ui=ui, ws_log=ws)
    try:
        nb.wait_for(f'{ROOT}[data-ready="1"]', name="no_surprise")
        root = page.locator(ROOT).first
        page.locator("canvas.segpaint-view").first.scroll_into_view_if_needed()

        # Nothing to recover, no conflict, nothing to confirm: those rows are not shown.
        for panel in ("recover", "export-conflict", "preseg-confirm", "kernel-lost"):
            assert page.locator(f'{ROOT} [data-panel="{panel}"]').is_hidden(), panel

        # 1. Opens on pan: an exploratory drag across the cell moves the view, paints nothing.
        assert nb.kernel.eval("annotator.tool") == "pan"
        assert nb.kernel.eval("annotator.selected_label") == 2  # b would paint a new cell
        drag(page, (30, 10), (30, 90))
        time.sleep(0.5)
        assert js(page, "return [s.label(30, 50), s.label(30, 30)];") == [0, 1]  # buffer too
        assert nb.kernel.eval("int((session.labels('cells', 0) != cells0).sum())") == 0
        js(page, "root.querySelector('button[data-action=\"fit\"]').click(); return 1;")

        # 2. Draw an ROI (r + drag), delete it with the toolbar, Ctrl+Z brings it back.
        root.focus()
        page.keyboard.press("r")
        drag(page, (10, 10), (60, 70))
        nb.wait_kernel("len(session.rois(0)) == 1")
        page.locator(f'{ROOT} button[data-action="delete-roi"]').click()
        nb.wait_kernel("len(session.rois(0)) == 0")
        root.focus()
        page.keyboard.press("Control+z")
        nb.wait_kernel("len(session.rois(0)) == 1")
        page.wait_for_function(
            f"() => document.querySelector('{ROOT}').__segpaint.rois.length === 1", timeout=30_000
        )
        assert nb.kernel.eval("int((session.labels('cells', 0) != cells0).sum())") == 0

        # 3. From an array: the export folder is asked for; typing one (Enter) sets it.
        folder = page.locator(f'{ROOT} input[data-control="export-folder"]')
        assert folder.input_value() == ""
        assert "type a folder" in (folder.get_attribute("placeholder") or "")
        out = tmp_path / "samples"
        folder.fill(str(out))
        folder.press("Enter")
        nb.wait_kernel(f"annotator.export_to == {str(out)!r}")

        # 4. Export, then export again: a choice, and "new version" writes _v2.
        page.locator(f'{ROOT} button[data-action="export"]').click()
        nb.wait_kernel("annotator.rois_exported == [1]")
        page.locator(f'{ROOT} button[data-action="export"]').click()
        conflict = page.locator(f'{ROOT} [data-panel="export-conflict"]')
        conflict.wait_for(state="visible", timeout=30_000)
        save_screenshot(page, f"no_surprise_re_export_{ui}", element=root)
        page.locator(f'{ROOT} button[data-action="export-version"]').click()
        nb.wait_kernel("annotator.rois_exported == [2]")
        assert conflict.is_hidden()
        names = sorted(p.name for p in out.iterdir())
        assert len(names) == 6, names  # the first export and its version 2, three files each
        assert sum(n.endswith(("_v2.tif", "_v2.json", "_v2_labelled.tif")) for n in names) == 3

        # 5. Ctrl+Z of an edit made on another frame shows that frame, slider and canvas.
        nb.kernel.run("session.paint('cells', 1, [(70, 100)], 3, 9)")
        root.focus()
        page.keyboard.press("Control+z")
        nb.wait_kernel("annotator.frame == 1")
        page.wait_for_function(
            f"() => document.querySelector('{ROOT}').dataset.frame === '1'", timeout=30_000
        )
        assert page.locator(f'{ROOT} input[data-control="frame"]').input_value() == "1"
        assert nb.kernel.eval("int(session.labels('cells', 1).max())") == 0

        # 6. The pre-segmentation panel asks before replacing unsaved corrections.
        page.locator(f'{ROOT} [data-panel="presegment"] summary').click()
        page.locator(f'{ROOT} select[data-control="preseg-scope"]').select_option("all")
        page.locator(f'{ROOT} button[data-action="preseg-run"]').click()
        confirm = page.locator(f'{ROOT} [data-panel="preseg-confirm"]')
        confirm.wait_for(state="visible", timeout=30_000)
        assert "replace your unsaved corrections on frame" in confirm.inner_text()
        save_screenshot(page, f"no_surprise_presegment_{ui}", element=root)
        page.locator(f'{ROOT} button[data-action="preseg-cancel"]').click()
        assert confirm.is_hidden()
        assert nb.kernel.eval("int((session.labels('cells', 0) != cells0).sum())") == 0

        # 7. The kernel goes: a banner, and a stroke paints nothing.
        root.focus()
        page.keyboard.press("b")
        nb.wait_kernel("annotator.tool == 'brush'")
        nb.kernel.close()
        jupyter_server.shutdown_kernel(path)
        drag(page, (80, 80), (80, 120))  # sent to nobody: no ack comes
        banner = page.locator(f'{ROOT} [data-panel="kernel-lost"]')
        banner.wait_for(state="visible", timeout=30_000)
        assert "The kernel is gone" in banner.inner_text()
        save_screenshot(page, f"no_surprise_kernel_gone_{ui}", element=root)
        before = js(page, "return s.label(90, 100);")
        drag(page, (90, 90), (90, 110))
        assert js(page, "return s.label(90, 100);") == before == 0
        assert "the kernel is gone" in page.locator(f"{ROOT} .segpaint-status").inner_text()
    finally:
        with contextlib.suppress(Exception):  # step 5 already closed the kernel and its client
            nb.close()
        context.close()
