"""The position selector of an Experiment's Annotator in real JupyterLab (issue 13): choose a
position in the toolbar's <select>, paint a stroke, and the Session of that position changes while
the one left does not; the view's zoom and the tool stay as they were.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from segpaint_browser_harness import JupyterServer, open_widget
from segpaint_browser_harness import annotator_js as js  # s: the widget's debug hooks

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

CELLS = [
    """
import textwrap
from pathlib import Path
import numpy as np
import tifffile
import segpaint

root = Path("PositionsExp")
root.mkdir()
(root / "config.ini").write_text(textwrap.dedent('''\\
    [Populations]
    populations = targets

    [MovieSettings]
    pxtoum = 0.5
    frametomin = 1.0
    movie_prefix = Aligned

    [Channels]
    nuclei_channel = 0
    '''))
for seed, name in enumerate(["W1/100", "W1/101"]):
    (root / name / "movie").mkdir(parents=True)
    movie = np.full((2, 1, 96, 128), 400 + 300 * seed, np.uint16)
    tifffile.imwrite(root / name / "movie" / "Aligned.tif", movie, imagej=True,
                     metadata={"axes": "TCYX"})
experiment = segpaint.open_experiment(root)
# A mark on W1/101 from code: the browser shows it once that position's frame is on screen.
experiment["W1", "101"].paint("targets", 0, [(80, 110)], 4, 5)
annotator = experiment.annotator(brush_size=7, tool="brush", selected_label=1)
""",
    "annotator",
]


def test_choosing_a_position_then_painting_edits_that_position_only(
    browser: Any, jupyter_server: JupyterServer
) -> None:
    with open_widget(
        browser, jupyter_server, "positions", CELLS, viewport=(1400, 1200), focus=False
    ) as nb:
        page = nb.page
        select = page.locator('select[data-control="position"]')
        assert select.is_visible()
        assert select.locator("option").all_inner_texts() == ["W1/100", "W1/101"]
        assert select.input_value() == "W1/100"
        assert js(page, "return s.label(80, 110);") == 0  # W1/100 has no labels
        zoom = js(page, "return s.view;")

        select.select_option("W1/101")
        page.wait_for_function(
            "() => document.querySelector('.segpaint-annotator').__segpaint.label(80, 110) === 5",
            timeout=30_000,
            polling=50,
        )
        assert nb.kernel.eval("annotator.position") == "W1/101"
        assert js(page, "return s.view;") == zoom
        assert nb.kernel.eval("(annotator.tool, annotator.brush_size)") == ["brush", 7]

        view = page.locator("canvas.segpaint-view")
        view.scroll_into_view_if_needed()
        a = js(page, "const p = s.imageToClient(arg[0], arg[1]); return [p.x, p.y];", [30, 20])
        b = js(page, "const p = s.imageToClient(arg[0], arg[1]); return [p.x, p.y];", [30, 90])
        page.mouse.move(*a)
        page.mouse.down()
        for k in range(1, 11):
            page.mouse.move(a[0] + (b[0] - a[0]) * k / 10, a[1])
        page.mouse.up()
        page.wait_for_function(
            "() => document.querySelector('.segpaint-annotator').__segpaint.acks >= 1",
            timeout=30_000,
        )
        shown = nb.kernel.array("np.asarray(experiment['W1', '101'].labels('targets', 0))")
        left = nb.kernel.array("np.asarray(experiment['W1', '100'].labels('targets', 0))")
        assert (shown[25:36, 15:96] == 1).sum() > 300
        assert (shown == 5).sum() > 0  # the mark from code is still there
        assert not left.any(), "the stroke reached the position left"
        # What the browser holds is what the kernel holds for W1/101.
        flat = js(
            page,
            "const out = []; for (let r = 0; r < 96; r++) for (let c = 0; c < 128; c++) "
            "out.push(s.label(r, c)); return out;",
        )
        np.testing.assert_array_equal(np.asarray(flat, np.uint32).reshape(96, 128), shown)
        assert "not applied" not in nb.kernel.eval("annotator.status")
