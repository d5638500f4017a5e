"""The effort branch's widget features in a real browser (JupyterLab + headless Chromium): `t`
with the pointer on a cell grows that cell, not the selected one (no Alt+click first); a drag
with the merge tool from one cell onto another merges the two at once; a Shift-drag with the
split tool cuts a cell exactly along the line (`Session.cut`).  Each is one undo step.
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
annotator.selected_label = 1
""",
    "annotator",
]


def drag(page: Any, a: tuple[float, float], b: tuple[float, float], steps: int = 12) -> None:
    page.mouse.move(*client(page, *a))
    page.mouse.down()
    for k in range(1, steps + 1):
        page.mouse.move(
            *client(page, a[0] + (b[0] - a[0]) * k / steps, a[1] + (b[1] - a[1]) * k / steps)
        )
    page.mouse.up()


def test_pointer_keys_merge_drag_and_cut(browser: Any, jupyter_server: JupyterServer) -> None:
    lab0 = "np.asarray(session.labels('cells', 0))"
    with open_widget(browser, jupyter_server, "effort_tools", SETUP) as nb:
        page = nb.page
        truth = nb.kernel.array("truth")
        nb.kernel.run(
            "twin = segpaint.open(image[None], axes='TYX', populations=['cells'])\n"
            "twin.set_labels('cells', 0, truth)\n"
            "twin.morph('cells', 0, 2, 'grow', radius=1)"
        )
        grown = nb.kernel.array("np.asarray(twin.labels('cells', 0))")

        # 1. the pointer on cell 2 (cell 1 selected), `t`: cell 2 grows by 1 px, cell 1 does not
        r, c, _ = CELLS[1]
        page.mouse.move(*client(page, r, c))
        page.keyboard.press("t")
        nb.wait_kernel(f"({lab0} == 2).sum() > {(truth == 2).sum()}")
        np.testing.assert_array_equal(nb.kernel.array(lab0), grown)
        assert nb.kernel.eval("annotator.selected_label") == 1
        nb.kernel.run("session.undo()")
        np.testing.assert_array_equal(nb.kernel.array(lab0), truth)
        wait_canvas(page, truth)

        # 2. the merge tool, a drag from cell 1 onto cell 3: merged at once, no Enter
        page.keyboard.press("g")
        nb.wait_kernel("annotator.tool == 'merge'")
        drag(page, CELLS[0][:2], CELLS[2][:2])
        nb.wait_kernel(f"({lab0} == 3).sum() == 0")
        merged = nb.kernel.array(lab0)
        np.testing.assert_array_equal(merged == 1, (truth == 1) | (truth == 3))
        np.testing.assert_array_equal(merged == 2, truth == 2)
        nb.kernel.run("session.undo()")
        wait_canvas(page, truth)

        # 3. the split tool, Shift-drag straight down across cell 2 at its centre column: cut there
        page.keyboard.press("k")
        nb.wait_kernel("annotator.tool == 'split'")
        page.keyboard.down("Shift")
        drag(page, (r - 16, c), (r + 16, c), steps=32)
        page.keyboard.up("Shift")
        nb.wait_kernel(f"len(np.unique({lab0}[truth == 2])) == 2")
        cut = nb.kernel.array(lab0)
        left, right = cut[r, c - 5], cut[r, c + 5]
        assert {int(left), int(right)} >= {2} and left != right and 0 not in (left, right)
        np.testing.assert_array_equal(cut != 0, truth != 0)  # no pixel gained or lost
        sides = cut[truth == 2]
        assert set(np.unique(sides).tolist()) == {int(left), int(right)}
        assert "cut cell 2 along the line" in nb.kernel.eval("annotator.status")
        wait_canvas(page, cut)
        save_screenshot(page, "effort_tools_cut", element=page.locator(".segpaint-annotator").first)
        nb.kernel.run("session.undo()")
        np.testing.assert_array_equal(nb.kernel.array(lab0), truth)
