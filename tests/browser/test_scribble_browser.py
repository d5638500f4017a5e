"""Scribble mode (issue 12) and the SampleGallery in real JupyterLab (headless Chromium).

Scribbles: the user picks the scribble tool (``s``), drags short "cell" strokes over a few nuclei,
swaps to "background" (``x``), drags strokes through empty space, clicks "Train from scribbles",
and gets the frame pre-segmented by the new pixel classifier. Checked in the kernel: the marks
(bit-exact with the browser's, so both sides rasterise alike), the labels (F1 > 0.5 against the
synthetic truth), the model folder. Gallery: three exported samples, "exclude" clicked on one,
its sidecar on disk says ``"excluded": true`` and the others do not.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from segpaint_browser_harness import (
    JupyterServer,
    Notebook,
    open_widget,
    save_screenshot,
    write_notebook,
)
from segpaint_browser_harness import annotator_js as js  # s: the widget's debug hooks

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

ROOT = ".segpaint-annotator"

SCRIBBLE_CELLS = [
    """
import json, pathlib, tempfile
import numpy as np
from scipy import ndimage as ndi
import segpaint
from segpaint.data import synthetic_timelapse
from segpaint.metrics import match_instances
movie = synthetic_timelapse(n_frames=2, shape=(128, 128), seed=3)
session = movie.open(journal=False)
truth = movie.labels["effectors"][0]
model_dir = pathlib.Path(tempfile.mkdtemp(prefix="segpaint-models-"))
# where a user would scribble: short strokes across 8 effector nuclei, lines through empty space
centres = [c for c in ndi.center_of_mass(truth > 0, truth, range(1, int(truth.max()) + 1))
           if np.isfinite(c[0])][:8]
cell_strokes = [[[round(r), round(c) - 1], [round(r), round(c) + 1]] for r, c in centres]
far = ~ndi.binary_dilation(truth > 0, iterations=5)
background_strokes = []
for row in range(4, 128, 16):
    cols = np.flatnonzero(far[row])
    for run in np.split(cols, np.flatnonzero(np.diff(cols) > 1) + 1):
        if len(run) > 6:
            background_strokes.append([[row, int(run[1])], [row, int(run[-2])]])
""",
    """
annotator = segpaint.Annotator(session, population="effectors", export_folder=model_dir,
                               brush_size=3, channel_visible=[True, False])
annotator
""",
]


def drag(page: Any, points: list[list[int]]) -> None:
    xy = [
        js(page, "const p = s.imageToClient(arg[0], arg[1]); return [p.x, p.y];", p) for p in points
    ]
    page.mouse.move(*xy[0])
    page.mouse.down()
    for k in range(1, 5):  # a few moves between the ends, as a hand would
        page.mouse.move(
            xy[0][0] + (xy[-1][0] - xy[0][0]) * k / 4, xy[0][1] + (xy[-1][1] - xy[0][1]) * k / 4
        )
    page.mouse.up()


def test_scribble_then_train_presegments_the_frame(
    browser: Any, jupyter_server: JupyterServer
) -> None:
    with open_widget(browser, jupyter_server, "scribbles", SCRIBBLE_CELLS) as nb:
        page = nb.page
        page.keyboard.press("s")
        nb.wait_kernel("annotator.tool == 'scribble'", 30)
        cells = nb.kernel.eval("cell_strokes")
        for stroke in cells:
            drag(page, stroke)
        # drawn in the browser at once, on the scribble buffer, not the labels
        r, c = cells[0][0]
        assert js(page, "return s.scribble(arg[0], arg[1]);", [r, c + 1]) == 1
        assert js(page, "return s.label(arg[0], arg[1]);", [r, c + 1]) == 0
        js(page, "root.focus({preventScroll: true}); return true;")
        page.keyboard.press("x")
        assert "background" in page.locator('button[data-action="scribble-mark"]').inner_text()
        background = nb.kernel.eval("background_strokes")
        for stroke in background:
            drag(page, stroke)
        flat = js(
            page,
            "const out = []; for (let r = 0; r < 128; r++) for (let c = 0; c < 128; c++) "
            "out.push(s.scribble(r, c)); return out;",
        )
        drawn = np.asarray(flat, np.uint8).reshape(128, 128)
        assert (drawn == 1).sum() > 50 and (drawn == 2).sum() > 500
        # the kernel rasterised the same polylines to the same pixels (bit-exact)
        deadline = time.monotonic() + 30
        while not np.array_equal(
            marks := nb.kernel.array("session.scribbles('effectors', 0)"), drawn
        ):
            assert time.monotonic() < deadline, (
                f"kernel marks differ at {np.argwhere(marks != drawn)[:5]}"
            )
            time.sleep(0.1)
        assert not nb.kernel.array("session.labels('effectors', 0)").any()
        save_screenshot(page, "scribbles_drawn", element=page.locator(ROOT).first)

        page.locator('button[data-action="train-scribbles"]').click()
        nb.wait_kernel("annotator.last_model is not None and not annotator.busy", 180)
        status = nb.kernel.eval("annotator.status")
        assert "model:" in status, status
        model = Path(nb.kernel.eval("str(annotator.last_model)"))
        assert (model / "config_input.json").is_file()
        f1 = nb.kernel.eval("match_instances(truth, np.asarray(session.labels('effectors', 0))).f1")
        assert f1 > 0.5, f1
        # the pre-segmentation reached the canvas, and the status line says where the model is
        labels = nb.kernel.array("session.labels('effectors', 0)")
        deadline = time.monotonic() + 30
        while True:
            flat = js(
                page,
                "const out = []; for (let r = 0; r < 128; r++) for (let c = 0; c < 128; c++) "
                "out.push(s.label(r, c)); return out;",
            )
            if np.array_equal(np.asarray(flat, np.uint32).reshape(128, 128), labels):
                break
            assert time.monotonic() < deadline, "the canvas never showed the pre-segmentation"
            time.sleep(0.1)
        assert str(model) in page.locator(".segpaint-status").first.inner_text()
        save_screenshot(page, "scribbles_trained", element=page.locator(ROOT).first)


GALLERY_CELLS = [
    """
import json, pathlib, tempfile
import numpy as np
import segpaint
from segpaint.data import synthetic_timelapse
movie = synthetic_timelapse(n_frames=3, shape=(96, 96), seed=1)
session = movie.open(labels={"effectors": movie.labels["effectors"]}, journal=False)
folder = pathlib.Path(tempfile.mkdtemp(prefix="segpaint-samples-"))
for t in range(3):
    session.export_roi("effectors", session.add_roi(t, rows=(0, 64), cols=(16, 80)), folder=folder)
gallery = segpaint.SampleGallery(folder, session=session)
names = [row["sample"] for row in gallery.rows]
""",
    "gallery",
]


def test_gallery_exclude_writes_the_sidecar_flag(
    browser: Any, jupyter_server: JupyterServer
) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 1100})
    page = context.new_page()
    path = write_notebook(jupyter_server.root_dir, "gallery.ipynb", GALLERY_CELLS)
    nb = Notebook.open(page, jupyter_server, path)
    try:
        names = nb.kernel.eval("names")
        assert len(names) == 3
        target = names[1]
        # the card whose caption names the sample, and its "exclude" button
        card = page.locator(
            f"xpath=//b[text()='{target}']/ancestor::div[contains(@class, 'widget-vbox')][1]"
        )
        card.wait_for(timeout=90_000)
        button = card.locator("button", has_text="exclude")
        assert button.count() == 1
        button.click()
        sidecars = {n: Path(nb.kernel.eval(f"str(folder / '{n}.json')")) for n in names}
        deadline = time.monotonic() + 30
        while not json.loads(sidecars[target].read_text()).get("excluded"):
            assert time.monotonic() < deadline, "the sidecar never said excluded"
            time.sleep(0.1)
        for name in names:
            meta = json.loads(sidecars[name].read_text())
            assert bool(meta.get("excluded")) is (name == target), (name, meta.get("excluded"))
        # the files are kept, and the card now offers "include"
        assert all((sidecars[n].with_suffix(".tif")).is_file() for n in names)
        page.locator(
            f"xpath=//b[text()='{target}']/ancestor::div[contains(@class, 'widget-vbox')][1]"
            "//button[normalize-space()='include']"
        ).wait_for(timeout=30_000)
        save_screenshot(page, "gallery_excluded")
    finally:
        nb.close()
        context.close()
