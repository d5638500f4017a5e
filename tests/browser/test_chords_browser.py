"""Modifier clicks in a real browser (JupyterLab + headless Chromium), with the brush tool
active: Ctrl+click on a cell deletes exactly that cell in the kernel's labels (as
`Session.delete_label` does) and paints nothing; Alt+click picks a cell's label as the active
one and changes no pixel; neither switches the tool.  Ctrl+Z brings the cell back.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from segpaint_browser_harness import (
    JupyterServer,
    disc_cells_code,
    open_widget,
    save_screenshot,
    wait_canvas,
)
from segpaint_browser_harness import image_to_client as client  # s: the widget's debug hooks

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

ROWS, COLS = 96, 128
CELLS = [(30, 30, 11), (60, 80, 12), (28, 100, 10)]
SETUP = [
    disc_cells_code(ROWS, COLS, CELLS)
    + """
session.set_labels("cells", 0, truth)
annotator = segpaint.Annotator(session)
annotator.selected_label = 7
""",
    "annotator",
]


def test_ctrl_click_deletes_a_cell_and_alt_click_picks_one_with_the_brush_active(
    browser: Any, jupyter_server: JupyterServer
) -> None:
    lab0 = "np.asarray(session.labels('cells', 0))"
    with open_widget(browser, jupyter_server, "chords", SETUP) as nb:
        page = nb.page
        truth = nb.kernel.array("truth")
        page.keyboard.press("b")
        nb.wait_kernel("annotator.tool == 'brush'")

        # 1. Ctrl+click inside cell 2: cell 2 is gone, nothing else changed, nothing painted
        r, c, _ = CELLS[1]
        page.keyboard.down("Control")
        page.mouse.click(*client(page, r + 3, c - 2))
        page.keyboard.up("Control")
        nb.wait_kernel(f"2 not in {lab0}")
        after = nb.kernel.array(lab0)
        np.testing.assert_array_equal(after, np.where(truth == 2, 0, truth))
        assert nb.kernel.eval("annotator.tool") == "brush"
        assert "deleted cell 2" in nb.kernel.eval("annotator.status")
        wait_canvas(page, after)  # the labels-patch reached the canvas
        save_screenshot(page, "chords_browser", element=page.locator(".segpaint-annotator").first)

        # 2. Alt+click inside cell 3: label 3 is active, no pixel changed, still the brush
        r, c, _ = CELLS[2]
        page.keyboard.down("Alt")
        page.mouse.click(*client(page, r, c + 1))
        page.keyboard.up("Alt")
        nb.wait_kernel("annotator.selected_label == 3")
        np.testing.assert_array_equal(nb.kernel.array(lab0), after)
        assert nb.kernel.eval("annotator.tool") == "brush"
        # the picked label paints: a plain click of the brush on background gives label 3
        page.mouse.click(*client(page, 80, 20))
        nb.wait_kernel(f"{lab0}[80, 20] == 3")

        # 3. Ctrl+Z twice: the dot, then the deletion (one undo step) are taken back
        page.keyboard.press("Control+z")
        nb.wait_kernel(f"{lab0}[80, 20] == 0")
        page.keyboard.press("Control+z")
        nb.wait_kernel(f"2 in {lab0}")
        np.testing.assert_array_equal(nb.kernel.array(lab0), truth)
        wait_canvas(page, truth)
