"""The README's screenshot: the quickstart's data, pre-segmented, with an ROI, in JupyterLab.

Also checks what that picture promises: pre-segmented cells are drawn over the image, and the
opacity slider set from Python takes them off the canvas again.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from segpaint_browser_harness import JupyterServer, Notebook, open_widget, save_screenshot

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

CELLS = [
    """
import json
import numpy as np
import segpaint
from segpaint.data import synthetic_timelapse

data = synthetic_timelapse(n_frames=4, shape=(256, 320), seed=3)
session = data.open()
session.presegment("targets", channels=["nuclei"], progress=False)
roi = session.add_roi(0, rows=(40, 170), cols=(30, 190))
labels0 = np.asarray(session.labels("targets", 0))
inside = np.argwhere(labels0 > 0)
probe = [int(v) for v in inside[len(inside) // 2]]
""",
    """
annotator = session.annotator("targets")
annotator.selected_label = int(labels0.max())
annotator
""",
]


@pytest.fixture(scope="module")
def page(browser: Any, jupyter_server: JupyterServer) -> Iterator[tuple[Any, Notebook]]:
    with open_widget(
        browser, jupyter_server, "readme_screenshot", CELLS, viewport=(1100, 900), focus=False
    ) as nb:
        yield nb.page, nb


def _pixel(pg: Any, row: int, col: int) -> list[int]:
    return list(
        pg.evaluate(
            "([r, c]) => Array.from(document.querySelector('.segpaint-annotator')"
            ".__segpaint.renderedPixel(r, c))",
            [row, col],
        )
    )


def test_readme_screenshot_shows_presegmented_cells(page: tuple[Any, Notebook]) -> None:
    pg, nb = page
    row, col = nb.kernel.eval("probe")
    assert nb.kernel.eval("int(labels0.max())") >= 5  # the threshold default found cells
    root = pg.locator(".segpaint-annotator").first
    # Wait for the label colours to settle, then keep the picture for the README.
    pg.wait_for_timeout(500)
    path = save_screenshot(pg, "readme_annotator", element=root)
    assert path.stat().st_size > 20_000
    with_overlay = _pixel(pg, row, col)
    nb.kernel.run("annotator.opacity = 0.0")
    pg.wait_for_function(
        "([r, c, before]) => { const p = document.querySelector('.segpaint-annotator')"
        ".__segpaint.renderedPixel(r, c); return p[0] !== before[0] || p[1] !== before[1] "
        "|| p[2] !== before[2]; }",
        arg=[row, col, with_overlay],
        timeout=30_000,
    )
    assert _pixel(pg, row, col) != with_overlay
    nb.kernel.run("annotator.opacity = 0.5")
