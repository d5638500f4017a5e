"""The assisted tools in a real browser (JupyterLab + headless Chromium): click-to-segment finds a
cell the pre-segmentation missed, and the magic wand dragged sideways paints exactly the pixels
`segpaint.ops.wand_mask` gives at that tolerance. What a user would notice is checked: the Session's
labels in the kernel (read over ZeroMQ) and the canvas' label buffer.
"""

from __future__ import annotations

import math
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
from segpaint_browser_harness import annotator_js as js
from segpaint_browser_harness import image_to_client as client  # s: the widget's debug hooks

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

ROWS, COLS = 96, 128
# (row, col, radius) of the cells; only the first is in the pre-segmentation
CELLS = [(30, 30, 11), (60, 80, 12), (28, 100, 10)]
SETUP = [
    disc_cells_code(ROWS, COLS, CELLS)
    + """
session.set_labels("cells", 0, np.where(truth == 1, 1, 0).astype(np.uint32))
annotator = segpaint.Annotator(session)
""",
    "annotator",
]


def test_click_to_segment_and_the_wand_in_jupyterlab(
    browser: Any, jupyter_server: JupyterServer
) -> None:
    with open_widget(browser, jupyter_server, "assist", SETUP) as nb:
        page = nb.page
        truth = nb.kernel.array("truth")

        # 1. click-to-segment: `c`, then a click inside cell 2, which the pre-segmentation missed
        page.keyboard.press("c")
        nb.wait_kernel("annotator.tool == 'segment'")
        r, c, _ = CELLS[1]
        page.mouse.click(*client(page, r + 2, c - 3))
        nb.wait_kernel(f"np.asarray(session.labels('cells', 0))[{r}, {c}] != 0")
        labels = nb.kernel.array("np.asarray(session.labels('cells', 0))")
        new = labels[r, c]
        assert new not in (0, 1)
        got, cell = labels == new, truth == 2
        assert (got & cell).sum() / (got | cell).sum() >= 0.85
        np.testing.assert_array_equal(labels == 1, truth == 1)  # the other cell is untouched
        assert nb.kernel.eval("session.can_undo")
        wait_canvas(page, labels)  # the labels-patch reached the canvas
        assert nb.kernel.eval("annotator.selected_label") == new

        # 2. the wand: `w`, label 9, press in cell 3, drag 40 px right (tolerance 0.1 + 40/400)
        nb.kernel.run("annotator.selected_label = 9")
        page.keyboard.press("w")
        nb.wait_kernel("annotator.tool == 'wand'")
        r, c, _ = CELLS[2]
        x, y = (float(round(v)) for v in client(page, r, c))
        seed = js(page, "return s.clientToImage(arg[0], arg[1]);", [x, y])
        page.mouse.move(x, y)
        page.mouse.down()
        for k in range(1, 9):
            page.mouse.move(x + 5 * k, y)
        page.wait_for_function(
            "() => document.querySelector('.segpaint-status').textContent.includes('tolerance 0.200')",
            timeout=10_000,
        )
        save_screenshot(
            page, "assist_wand_preview", element=page.locator(".segpaint-annotator").first
        )
        page.mouse.up()
        tol = 0.1 + 40 * (1 / 400)
        point = (math.floor(seed["row"] + 0.5), math.floor(seed["col"] + 0.5))
        nb.wait_kernel("(np.asarray(session.labels('cells', 0)) == 9).any()")
        expected = nb.kernel.array(
            f"segpaint.ops.wand_mask(session.image(0), {point}, {tol!r}, "
            "limits=[tuple(x) for x in annotator.contrast])[1]"
        )
        box = nb.kernel.eval(
            f"list(segpaint.ops.wand_mask(session.image(0), {point}, {tol!r}, "
            "limits=[tuple(x) for x in annotator.contrast])[0])"
        )
        after = nb.kernel.array("np.asarray(session.labels('cells', 0))")
        want = labels.copy()
        region = np.zeros_like(want, bool)
        region[box[0] : box[1], box[2] : box[3]] = expected
        want[region & (labels == 0)] = 9  # preserve_labels: other cells kept
        np.testing.assert_array_equal(after, want)
        cell = truth == 3
        assert ((after == 9) & cell).sum() / ((after == 9) | cell).sum() >= 0.85
        wait_canvas(page, after)

        # 3. merge (`g`, click cells 1 and 3, Enter in JupyterLab), then split them again (`s`,
        # a drag from one to the other): each one step, each seen by the kernel
        (r1, c1, _), (r3, c3, _) = CELLS[0], CELLS[2]
        page.keyboard.press("g")
        nb.wait_kernel("annotator.tool == 'merge'")
        page.mouse.click(*client(page, r1, c1))
        page.mouse.click(*client(page, r3, c3))
        page.keyboard.press("Enter")
        nb.wait_kernel("9 not in np.asarray(session.labels('cells', 0))")
        merged = nb.kernel.array("np.asarray(session.labels('cells', 0))")
        np.testing.assert_array_equal(merged == 1, (after == 1) | (after == 9))
        page.keyboard.press("k")
        nb.wait_kernel("annotator.tool == 'split'")
        page.mouse.move(*client(page, r1, c1))
        page.mouse.down()
        for k in range(1, 11):
            page.mouse.move(*client(page, r1 + (r3 - r1) * k / 10, c1 + (c3 - c1) * k / 10))
        page.mouse.up()
        nb.wait_kernel(f"np.asarray(session.labels('cells', 0))[{r3}, {c3}] != 1")
        split = nb.kernel.array("np.asarray(session.labels('cells', 0))")
        assert split[r1, c1] == 1
        np.testing.assert_array_equal(split == split[r3, c3], after == 9)
        wait_canvas(page, split)
        save_screenshot(page, "assist_browser", element=page.locator(".segpaint-annotator").first)


# a two-frame movie: frame 0 has cell 1 too small (radius 5) and cell 2 right; frame 1 is empty
SETUP_CELLS = [
    f"""
import numpy as np
import segpaint
rng = np.random.default_rng(1)
rr, cc = np.mgrid[:{ROWS}, :{COLS}]
truth = np.zeros(({ROWS}, {COLS}), np.uint32)
for k, (r, c, rad) in enumerate({CELLS[:2]}, start=1):
    truth[(rr - r) ** 2 + (cc - c) ** 2 <= rad**2] = k
image = (300 + rng.normal(0, 15, (2, {ROWS}, {COLS})) + 1200 * (truth > 0)).astype(np.uint16)
session = segpaint.open(image, axes="TYX", populations=["cells"])
r, c, _ = {CELLS[0]}
start = np.where(truth == 2, 2, 0).astype(np.uint32)
start[(rr - r) ** 2 + (cc - c) ** 2 <= 25] = 1
session.set_labels("cells", 0, start)
annotator = segpaint.Annotator(session)
""",
    "annotator",
]


def test_re_segment_click_morph_and_copy_labels_keys_in_jupyterlab(
    browser: Any, jupyter_server: JupyterServer
) -> None:
    lab0 = "np.asarray(session.labels('cells', 0))"
    with open_widget(browser, jupyter_server, "assist_cells", SETUP_CELLS) as nb:
        page = nb.page
        truth = nb.kernel.array("truth")
        start = nb.kernel.array(lab0)

        # 1. `c`, a click on cell 1 (too small): it is re-segmented, keeping label 1
        page.keyboard.press("c")
        nb.wait_kernel("annotator.tool == 'segment'")
        r, c, _ = CELLS[0]
        page.mouse.click(*client(page, r + 1, c - 1))
        nb.wait_kernel(f"({lab0} == 1).sum() > {(start == 1).sum() + 50}")
        labels = nb.kernel.array(lab0)
        got, cell = labels == 1, truth == 1
        assert (got & cell).sum() / (got | cell).sum() >= 0.85
        assert set(np.unique(labels)) == {0, 1, 2}  # no new label
        np.testing.assert_array_equal(labels == 2, start == 2)
        assert "re-segmented cell 1" in nb.kernel.eval("annotator.status")
        wait_canvas(page, labels)
        # Shift+click near its right edge: a negative click, the cell loses that part (one call
        # with the first click as seed); undo brings the re-segmented cell back
        page.keyboard.down("Shift")
        page.mouse.click(*client(page, r, c + 8))
        page.keyboard.up("Shift")
        nb.wait_kernel(f"{lab0}[{r}, {c + 8}] == 0")
        refined = nb.kernel.array(lab0)
        assert refined[r, c] == 1 and (refined == 1).sum() < (labels == 1).sum()
        assert "1 refinement click" in nb.kernel.eval("annotator.status")
        nb.kernel.run("session.undo()")
        np.testing.assert_array_equal(nb.kernel.array(lab0), labels)
        wait_canvas(page, labels)

        # 2. select cell 2, pointer on background (keys act on the cell under the pointer, the
        # selected cell when there is none), `t`: cell 2 grows by exactly 1 px
        nb.kernel.run("annotator.selected_label = 2")
        page.wait_for_function(  # the trait reached the browser
            "() => document.querySelector('[data-control=\"selected-label\"]').value === '2'"
        )
        assert labels[85, 10] == 0
        page.mouse.move(*client(page, 85, 10))
        page.keyboard.press("t")
        nb.wait_kernel(f"({lab0} == 2).sum() > {(labels == 2).sum()}")
        grown = nb.kernel.array(lab0)
        from scipy import ndimage as ndi

        np.testing.assert_array_equal(
            grown == 2, ndi.binary_dilation(labels == 2) & ((labels == 0) | (labels == 2))
        )
        np.testing.assert_array_equal(grown == 1, labels == 1)
        wait_canvas(page, grown)

        # 3. `.` to frame 1 (empty), `y`: frame 0's cells arrive with their labels
        page.keyboard.press(".")
        nb.wait_kernel("annotator.frame == 1")
        page.wait_for_function(
            "() => document.querySelector('.segpaint-annotator').__segpaint.frame === 1"
        )
        page.keyboard.press("y")
        nb.wait_kernel("np.asarray(session.labels('cells', 1)).any()")
        copied = nb.kernel.array("np.asarray(session.labels('cells', 1))")
        np.testing.assert_array_equal(copied, grown)
        np.testing.assert_array_equal(nb.kernel.array(lab0), grown)
        wait_canvas(page, copied)
        save_screenshot(
            page, "assist_cells_browser", element=page.locator(".segpaint-annotator").first
        )
        # one undo step each: undo brings frame 1 back to empty
        nb.kernel.run("session.undo()")
        assert not nb.kernel.eval("bool(np.asarray(session.labels('cells', 1)).any())")
