"""The whole-frame outline fix in a real browser (JupyterLab + headless Chromium): Shift+a on
the canvas snaps every cell's outline to the image, and the kernel's labels become exactly what
`Session.refine` gives for the channels and contrast on screen; `a` does it for the selected cell
only; the "snap" button sits in the cell-tools row.  The canvas' label buffer follows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from segpaint_browser_harness import (
    JupyterServer,
    open_widget,
    save_screenshot,
    wait_canvas,
)
from segpaint_browser_harness import annotator_js as js  # s: the widget's debug hooks

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

ROWS, COLS = 96, 128
# (row, col, radius, error px of the pre-segmentation's outline: + too wide, - too narrow)
CELLS = [(30, 30, 12, 3), (60, 80, 13, -2), (28, 100, 11, 2)]
SETUP = [
    f"""
import numpy as np
from scipy import ndimage as ndi
import segpaint
rng = np.random.default_rng(0)
rr, cc = np.mgrid[:{ROWS}, :{COLS}]
truth = np.zeros(({ROWS}, {COLS}), np.uint32)
wrong = np.zeros(({ROWS}, {COLS}), np.uint32)
for k, (r, c, rad, err) in enumerate({CELLS}, start=1):
    truth[(rr - r) ** 2 + (cc - c) ** 2 <= rad**2] = k
    wrong[(rr - r) ** 2 + (cc - c) ** 2 <= (rad + err) ** 2] = k
image = ndi.gaussian_filter(1200.0 * (truth > 0), 1.0) + 300 + rng.normal(0, 15, truth.shape)
session = segpaint.open(image.astype(np.uint16)[None], axes="TYX", populations=["cells"])
session.set_labels("cells", 0, wrong)
annotator = segpaint.Annotator(session)
""",
    "annotator",
]


def test_shift_a_snaps_every_outline_as_session_refine_does(
    browser: Any, jupyter_server: JupyterServer
) -> None:
    lab0 = "np.asarray(session.labels('cells', 0))"
    with open_widget(
        browser, jupyter_server, "refine", SETUP, viewport=(1024, 700), focus=False
    ) as nb:
        page = nb.page
        truth, wrong = nb.kernel.array("truth"), nb.kernel.array("wrong")
        # what the Session method gives for the channels and contrast the widget shows
        nb.kernel.run(
            "twin = segpaint.open(image.astype(np.uint16)[None], axes='TYX', populations=['cells'])\n"
            "twin.set_labels('cells', 0, wrong)\n"
            "ch, lim = annotator._assist_channels()\n"
            "twin.refine('cells', 0, channels=ch, limits=lim)\n"
            "one = segpaint.open(image.astype(np.uint16)[None], axes='TYX', populations=['cells'])\n"
            "one.set_labels('cells', 0, wrong)\n"
            "one.refine('cells', 0, label=2, channels=ch, limits=lim)"
        )
        expected = nb.kernel.array("np.asarray(twin.labels('cells', 0))")
        only_two = nb.kernel.array("np.asarray(one.labels('cells', 0))")
        # the "snap" button is in the cell-tools row, on screen at 1024 x 700
        button = page.locator('.segpaint-annotator button[data-action="refine"]').first
        box = button.bounding_box()
        assert box is not None and box["x"] + box["width"] <= 1024, box

        # 1. select cell 2, `a`: only cell 2's outline moves
        nb.kernel.run("annotator.selected_label = 2")
        page.wait_for_function(
            "() => document.querySelector('[data-control=\"selected-label\"]').value === '2'"
        )
        js(page, "root.focus({preventScroll: true}); return true;")
        page.keyboard.press("a")
        nb.wait_kernel(f"not np.array_equal({lab0}, wrong)")
        np.testing.assert_array_equal(nb.kernel.array(lab0), only_two)
        nb.kernel.run("session.undo()")
        np.testing.assert_array_equal(nb.kernel.array(lab0), wrong)
        wait_canvas(page, wrong)

        # 2. Shift+a: every cell, one undo step; the labels are the Session method's
        page.keyboard.press("Shift+KeyA")
        nb.wait_kernel(f"not np.array_equal({lab0}, wrong)")
        after = nb.kernel.array(lab0)
        np.testing.assert_array_equal(after, expected)
        for k in range(1, len(CELLS) + 1):
            got, cell = after == k, truth == k
            assert (got & cell).sum() / (got | cell).sum() >= 0.9, k
        assert "outlines snapped to the image's edges on every cell" in nb.kernel.eval(
            "annotator.status"
        )
        wait_canvas(page, after)
        save_screenshot(page, "refine_browser", element=page.locator(".segpaint-annotator").first)
        nb.kernel.run("session.undo()")
        np.testing.assert_array_equal(nb.kernel.array(lab0), wrong)
        wait_canvas(page, wrong)
