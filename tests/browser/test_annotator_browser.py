"""The Annotator in a real browser: JupyterLab (and Notebook 7) in headless Chromium.

A notebook builds a Session from a small synthetic stack and shows an Annotator; the tests then
really press keys, click and drag with the mouse (Playwright, at client coordinates given by the
widget's ``__segpaint.imageToClient``), and check what a user would notice: the session's labels in
the kernel (read over ZeroMQ, bit-exact), files on disk, the canvas pixels, and the messages the
page sent to the kernel. Screenshots are saved under ``test-artifacts/``.
"""

from __future__ import annotations

import itertools
import json
import math
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from segpaint_browser_harness import (
    REPO_ROOT,
    JupyterServer,
    Notebook,
    WebSocketLog,
    open_widget,
    save_screenshot,
    track_websockets,
    write_notebook,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

N_FRAMES, N_ROWS, N_COLS = 3, 96, 128
CELL_CENTRES = [(24, 30), (60, 40), (40, 90), (75, 100)]  # (row, col) of cells 1..4 on frame 0
CELL_RADIUS = 10
WAIT_MS = 30_000

SETUP_CELLS = [
    # 1. a kernel-side counter of the comm messages the kernel handles (page -> kernel traffic)
    """
import json, pathlib, tempfile
import numpy as np
import segpaint
_counts = {"comm": 0}
_kernel = get_ipython().kernel
_comm_msg = _kernel.shell_handlers["comm_msg"]
def _counting_comm_msg(*args, **kwargs):
    _counts["comm"] += 1
    return _comm_msg(*args, **kwargs)
_kernel.shell_handlers["comm_msg"] = _counting_comm_msg
""",
    # 2. the data: cells that move by (3, 4) px per frame on a background that brightens
    f"""
T, Y, X = {N_FRAMES}, {N_ROWS}, {N_COLS}
centres = {CELL_CENTRES}
rows, cols = np.ogrid[:Y, :X]
stack = np.zeros((T, 2, Y, X), np.uint16)
cells0 = np.zeros((Y, X), np.uint32)
for t in range(T):
    stack[t, 0] = 200 + 400 * t
    for k, (r, c) in enumerate(centres):
        disk = (rows - r - 3 * t) ** 2 + (cols - c - 4 * t) ** 2 <= {CELL_RADIUS} ** 2
        stack[t, 0][disk] = 3000 + 1000 * k
        if t == 0:
            cells0[disk] = k + 1
    stack[t, 1] = (cols * 40 + rows * 10 + 500 * t).astype(np.uint16)
export_dir = pathlib.Path(tempfile.mkdtemp(prefix="segpaint-export-"))
session = segpaint.open(
    stack, axes="TCYX", channel_names=["nuclei", "ramp"],
    populations=["cells", "scratch"], pixel_size_um=0.5,
)
session.set_labels("cells", 0, cells0)
""",
    # 3. the widget
    """
annotator = segpaint.Annotator(session, population="cells", export_folder=export_dir)
annotator
""",
]


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------
def disk_stroke_mask(
    centres: list[tuple[int, int]], radius: float, shape: tuple[int, int]
) -> np.ndarray:
    """Pixels the brush covers: every (dr, dc) with dr² + dc² <= r² around each integer centre."""
    rows, cols = np.ogrid[: shape[0], : shape[1]]
    mask = np.zeros(shape, dtype=bool)
    for r, c in centres:
        mask |= (rows - r) ** 2 + (cols - c) ** 2 <= radius * radius
    return mask


def segment_centres(points: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Brush centres of a polyline through integer points (docs/architecture.md)."""
    out = [points[0]]
    for (r0, c0), (r1, c1) in itertools.pairwise(points):
        n = max(abs(r1 - r0), abs(c1 - c0), 1)
        out += [
            (math.floor(r0 + (r1 - r0) * k / n + 0.5), math.floor(c0 + (c1 - c0) * k / n + 0.5))
            for k in range(1, n + 1)
        ]
    return out


class Annotator:
    """The widget in a page: real input through Playwright, state through the kernel."""

    ROOT = ".segpaint-annotator"

    def __init__(self, nb: Notebook, ws: WebSocketLog) -> None:
        self.nb = nb
        self.page = nb.page
        self.kernel = nb.kernel
        self.ws = ws
        self.root = self.page.locator(self.ROOT).first

    def js(self, body: str, arg: Any = None) -> Any:
        """Evaluate ``(s, root, arg) => body`` with ``s`` the widget's ``__segpaint`` object."""
        script = (
            f"(arg) => {{ const root = document.querySelector('{self.ROOT}'); "
            f"const s = root.__segpaint; return (() => {{ {body} }})(); }}"
        )
        return self.page.evaluate(script, arg)

    def wait_js(self, condition: str, arg: Any = None, timeout_ms: int = WAIT_MS) -> None:
        script = (
            f"(arg) => {{ const root = document.querySelector('{self.ROOT}'); "
            f"const s = root && root.__segpaint; if (!s) return false; return ({condition}); }}"
        )
        self.page.wait_for_function(script, arg=arg, timeout=timeout_ms, polling=20)

    def client(self, row: float, col: float) -> tuple[float, float]:
        point = self.js("const p = s.imageToClient(arg[0], arg[1]); return [p.x, p.y];", [row, col])
        return float(point[0]), float(point[1])

    def focus(self) -> None:
        self.js("root.focus({preventScroll: true}); return true;")

    def press(self, key: str) -> None:
        self.focus()
        self.page.keyboard.press(key)

    def labels(self, population: str = "cells", frame: int = 0) -> np.ndarray:
        return np.asarray(self.kernel.array(f"session.labels({population!r}, {frame})"))

    def browser_labels(self) -> np.ndarray:
        """The widget's local label buffer of the current frame."""
        flat = self.js(
            "const out = []; for (let r = 0; r < arg[0]; r++) for (let c = 0; c < arg[1]; c++) "
            "out.push(s.label(r, c)); return out;",
            [N_ROWS, N_COLS],
        )
        return np.asarray(flat, dtype=np.uint32).reshape(N_ROWS, N_COLS)

    def pixel(self, row: int, col: int) -> list[int]:
        return list(self.js("return Array.from(s.renderedPixel(arg[0], arg[1]));", [row, col]))

    def acks(self) -> int:
        return int(self.js("return s.acks;"))

    def comm_count(self) -> int:
        return int(self.kernel.eval("_counts['comm']"))

    def drag(self, points: list[tuple[int, int]]) -> None:
        """Press at the first image point, move through the others, release at the last."""
        self.page.mouse.move(*self.client(*points[0]))
        self.page.mouse.down()
        for point in points[1:]:
            self.page.mouse.move(*self.client(*point))
        self.page.mouse.up()

    def stroke(self, points: list[tuple[int, int]]) -> None:
        """A brush/eraser stroke; returns once the kernel acknowledged its patch."""
        acks = self.acks()
        self.drag(points)
        self.wait_js("s.acks > arg", acks)

    def click(self, row: int, col: int) -> None:
        self.page.mouse.click(*self.client(row, col))

    def wait_kernel(self, expr: str, *, timeout_s: float = 30.0) -> None:
        """Wait until ``expr`` is true in the kernel (polled over ZeroMQ)."""
        deadline = time.monotonic() + timeout_s
        while not self.kernel.eval(f"bool({expr})"):
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"kernel: {expr!r} still false after {timeout_s} s; "
                    f"annotator.status = {self.kernel.eval('annotator.status')!r}; "
                    f"status line: {self.status()!r}"
                )
            time.sleep(0.05)

    def wait_browser_labels(self, expected: np.ndarray) -> None:
        deadline = time.monotonic() + 30
        while not np.array_equal(self.browser_labels(), expected):
            if time.monotonic() > deadline:
                raise AssertionError("the canvas' label buffer never matched the session")
            time.sleep(0.05)

    def status(self) -> str:
        return str(self.page.locator(".segpaint-status").first.inner_text())


# --------------------------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def lab(browser: Any, jupyter_server: JupyterServer) -> Iterator[Annotator]:
    """One JupyterLab page showing the Annotator for the whole module."""
    with open_widget(browser, jupyter_server, "annotator_lab", SETUP_CELLS, focus=False) as nb:
        assert nb.ws is not None
        yield Annotator(nb, nb.ws)


@pytest.fixture
def ui(lab: Annotator) -> Annotator:
    """The module's Annotator, reset to frame 0 with the original cells, brush tool, label 1."""
    lab.kernel.run(
        "annotator.frame = 0\n"
        "session.set_labels('cells', 0, cells0)\n"
        "annotator.tool = 'brush'\n"
        "annotator.selected_label = 1\n"
        "annotator.brush_size = 7\n"
    )
    lab.wait_js("root.dataset.frame === '0'")
    lab.wait_browser_labels(lab.kernel.array("cells0"))
    lab.focus()
    return lab


# --------------------------------------------------------------------------------------------
# tests
# --------------------------------------------------------------------------------------------
def test_annotator_renders_in_jupyterlab(ui: Annotator) -> None:
    assert ui.kernel.eval("segpaint.__file__").startswith(str(REPO_ROOT / "src"))
    assert ui.root.get_attribute("data-ready") == "1"
    assert ui.root.get_attribute("data-frame") == "0"
    # The overlay shows cells: a cell centre and the background are drawn differently.
    row, col = CELL_CENTRES[0]
    assert ui.pixel(row, col) != ui.pixel(90, 5)
    assert ui.pixel(90, 5)[3] == 255  # the image is drawn (opaque), not an empty canvas
    for tool in ("pan", "brush", "eraser", "fill", "picker", "roi"):
        assert ui.page.locator(f'{Annotator.ROOT} button[data-tool="{tool}"]').count() == 1
    path = save_screenshot(ui.page, "annotator_lab", element=ui.root)
    assert path.stat().st_size > 10_000


def test_brush_stroke_changes_exactly_the_pixels_under_it(ui: Annotator) -> None:
    ui.kernel.run("annotator.selected_label = 9")
    ui.wait_js("root.querySelector('input[data-control=\"selected-label\"]').value === '9'")
    ui.press("b")
    before = ui.labels()
    other_frame = ui.labels(frame=1)
    comm0 = ui.comm_count()
    # Horizontal, diagonal and vertical segments: every brush centre is an integer pixel.
    points = [(88, 8), (88, 30), (80, 38), (80, 50), (86, 50)]
    ui.page.mouse.move(*ui.client(*points[0]))
    ui.page.mouse.down()
    for point in points[1:]:
        ui.page.mouse.move(*ui.client(*point))
    # Nothing reaches the kernel while the pointer is down.
    assert ui.comm_count() == comm0
    acks = ui.acks()
    ui.page.mouse.up()
    ui.wait_js("s.acks > arg", acks)
    after = ui.labels()

    expected = disk_stroke_mask(segment_centres(points), 3.5, before.shape)
    changed = after != before
    np.testing.assert_array_equal(changed, expected & (before != 9))
    assert (after[expected] == 9).all()
    np.testing.assert_array_equal(ui.labels(frame=1), other_frame)
    # The stroke arrived as one message and is what the browser shows.
    assert ui.comm_count() - comm0 == 1
    np.testing.assert_array_equal(ui.browser_labels(), after)
    # The same stroke through the Python API paints the same pixels.
    ui.kernel.run(f"session.paint('scratch', 0, {points}, 3.5, 9)")
    np.testing.assert_array_equal(ui.labels("scratch") == 9, expected)
    ui.kernel.run("session.set_labels('scratch', 0, np.zeros((Y, X), np.uint32))")
    save_screenshot(ui.page, "annotator_brush_stroke", element=ui.root)


def screen_rgb(page: Any, points: list[tuple[float, float]]) -> np.ndarray:
    """The RGB the page shows on screen (a screenshot, not a canvas read-back) at client points."""
    import imageio.v3 as iio  # scikit-image's own dependency (with Pillow for PNG)

    shot = np.asarray(iio.imread(page.screenshot(), extension=".png"))
    k = float(page.evaluate("window.devicePixelRatio")) or 1.0
    return np.array([shot[int(y * k), int(x * k), :3] for x, y in points], np.int32)


def test_a_stroke_is_on_screen_under_the_pointer_mid_drag_and_after_release(ui: Annotator) -> None:
    # The image canvas hands its frames to the compositor itself (a desynchronized context,
    # js/render.js): what counts is the screen, so this reads screenshots, not the canvas.
    ui.kernel.run("annotator.selected_label = 9")
    ui.wait_js("root.querySelector('input[data-control=\"selected-label\"]').value === '9'")
    ui.press("b")
    before = ui.labels()
    row, cols = 6, [10, 18, 26, 34]  # above the cells
    on = [ui.client(row, c) for c in cols]
    off = [ui.client(row + 12, c) for c in cols]  # 12 rows below: outside a 7 px brush
    shown0 = screen_rgb(ui.page, on + off)
    ui.page.mouse.move(*on[0])
    ui.page.mouse.down()
    for point in on[1:]:
        ui.page.mouse.move(*point)
    ui.wait_js("true")  # one round trip: the page has handled the moves
    mid = screen_rgb(ui.page, on + off)
    # the viewport, not the widget: an element's screenshot scrolls it into view, which would
    # move the client points the next reading and the release use
    save_screenshot(ui.page, "annotator_stroke_mid_drag")
    acks = ui.acks()
    ui.page.mouse.up()
    ui.wait_js("s.acks > arg", acks)
    after = screen_rgb(ui.page, on + off)
    save_screenshot(ui.page, "annotator_stroke_released")
    n = len(on)
    changed = np.abs(mid - shown0).sum(axis=1) > 30
    assert changed[:n].all(), (
        f"mid-drag, the stroke is not on screen under the pointer: {mid[:n]} vs {shown0[:n]}"
    )
    assert not changed[n:].any(), "mid-drag, pixels away from the stroke changed on screen"
    np.testing.assert_array_equal(after, mid)  # the release shows what the drag showed
    labels = ui.labels()
    assert (labels[row, cols] == 9).all() and (
        labels[row + 12, cols] == before[row + 12, cols]
    ).all()


CURSOR_PIXELS = """
const canvas = root.querySelector("canvas.segpaint-view");
const m = /url\\("(data:image\\/png;base64,[^"]+)"\\)(?: (\\d+)x\\))? (\\d+) (\\d+)/.exec(canvas.style.cursor);
if (!m) return { css: canvas.style.cursor };
const img = new Image();
img.src = m[1];
return img.decode().then(() => {
  const c = document.createElement("canvas");
  c.width = img.width; c.height = img.height;
  const ctx = c.getContext("2d");
  ctx.drawImage(img, 0, 0);
  const a = Array.from(ctx.getImageData(0, 0, c.width, c.height).data.filter((_, i) => i % 4 === 3));
  return { css: canvas.style.cursor, src: m[1], ratio: Number(m[2] || 1), hot: [Number(m[3]), Number(m[4])],
    width: c.width, height: c.height, alpha: a };
});
"""


def test_brush_outline_is_a_bitmap_cursor_ring_of_the_brush_size(ui: Annotator) -> None:
    """The brush outline follows the pointer as its cursor image: a PNG (Chromium redraws an SVG
    cursor at every move), a ring of the brush's radius on screen, hot spot at its centre, there
    before, during and after a stroke."""
    ui.kernel.run("annotator.brush_size = 9")
    ui.wait_js("root.querySelector('input[data-control=\"brush-size\"]').value === '9'")
    x, y = ui.client(50, 64)
    ui.page.mouse.move(x, y)
    ui.wait_js("root.querySelector('canvas.segpaint-view').style.cursor.includes('image/png')")
    got = ui.js(CURSOR_PIXELS)
    assert got["css"].startswith(('url("data:image/png', 'image-set(url("data:image/png')), got[
        "css"
    ][:60]
    scale = ui.client(50, 65)[0] - x  # CSS px per image pixel
    radius = 4.5 * scale * got["ratio"]  # the ring's radius in the cursor image's pixels
    size = got["width"]
    assert got["height"] == size and abs(size - math.ceil(2 * 4.5 * scale + 2) * got["ratio"]) < 1
    assert got["hot"] == [round(size / got["ratio"] / 2)] * 2
    alpha = np.asarray(got["alpha"]).reshape(size, size)
    rows, cols = np.indices(alpha.shape)
    dist = np.hypot(rows + 0.5 - size / 2, cols + 0.5 - size / 2)
    ring = np.abs(dist - radius) < 0.5
    assert (alpha[ring] > 0).mean() > 0.9  # the outline is drawn all round
    assert (alpha[dist < radius - 2] == 0).all()  # and see-through inside
    assert (alpha[dist > radius + 2] == 0).all()
    # A stroke leaves the cursor alone (nothing to redraw per move), and paints.
    ui.stroke([(50, 60), (50, 70)])
    assert ui.js("return root.querySelector('canvas.segpaint-view').style.cursor;") == got["css"]
    # For the eye: the widget with the cursor image drawn where the pointer is (screenshots
    # leave the pointer out).
    ui.js(
        "const vp = root.querySelector('.segpaint-viewport'); const b = vp.getBoundingClientRect();"
        "const p = s.imageToClient(50, 64); const i = document.createElement('img');"
        "i.id = 'cursor-shot'; i.src = arg[0]; Object.assign(i.style, {position: 'absolute',"
        "left: `${p.x - b.left - arg[1]}px`, top: `${p.y - b.top - arg[1]}px`,"
        "width: `${arg[2]}px`, pointerEvents: 'none'}); vp.append(i); return true;",
        [got["src"], got["hot"][0], size / got["ratio"]],
    )
    try:
        save_screenshot(ui.page, "annotator_brush_cursor", element=ui.root)
    finally:
        ui.js("document.getElementById('cursor-shot').remove(); return true;")


def test_m_then_stroke_makes_a_new_label(ui: Annotator) -> None:
    before = ui.labels()
    ui.press("m")
    ui.wait_kernel("annotator.selected_label != 1")
    new = int(ui.kernel.eval("annotator.selected_label"))
    assert new not in before
    assert f"new label {new}" in ui.status()
    points = [(10, 60), (10, 75)]
    ui.stroke(points)
    after = ui.labels()
    painted = after == new
    expected = disk_stroke_mask(segment_centres(points), 3.5, before.shape)
    np.testing.assert_array_equal(painted, expected)
    np.testing.assert_array_equal(after[~painted], before[~painted])


def test_fill_with_zero_deletes_a_cell(ui: Annotator) -> None:
    before = ui.labels()
    ui.press("l")
    ui.click(90, 5)  # pick the background: selected label 0
    ui.wait_kernel("annotator.selected_label == 0")
    ui.press("f")
    acks = ui.acks()
    row, col = CELL_CENTRES[1]
    ui.click(row, col)
    ui.wait_js("s.acks > arg", acks)
    after = ui.labels()
    assert 2 in before
    assert 2 not in after
    np.testing.assert_array_equal(after, np.where(before == 2, 0, before))
    np.testing.assert_array_equal(ui.browser_labels(), after)


def test_ctrl_z_restores_bit_exact_and_ctrl_shift_z_redoes(ui: Annotator) -> None:
    before = ui.labels()
    ui.kernel.run("annotator.selected_label = 3")
    ui.wait_kernel("annotator.selected_label == 3")
    # Across cell 1 and the background, overwriting part of cell 1 with label 3.
    ui.stroke([(24, 10), (24, 45), (30, 45)])
    painted = ui.labels()
    assert not np.array_equal(painted, before)

    ui.press("Control+z")
    ui.wait_kernel("np.array_equal(session.labels('cells', 0), cells0)")
    np.testing.assert_array_equal(ui.labels(), before)
    ui.wait_browser_labels(before)

    ui.press("Control+Shift+z")
    ui.wait_kernel("not np.array_equal(session.labels('cells', 0), cells0)")
    np.testing.assert_array_equal(ui.labels(), painted)
    ui.wait_browser_labels(painted)


def test_roi_drawn_with_the_mouse_then_export_writes_the_files(ui: Annotator) -> None:
    ui.kernel.run("for _roi in session.rois(0): session.remove_roi(_roi)")
    ui.press("r")
    ui.drag([(10, 15), (30, 40), (50, 60)])
    ui.wait_kernel("len(session.rois(0)) == 1")
    roi = ui.kernel.eval(
        "[session.rois(0)[0].row0, session.rois(0)[0].row1,"
        " session.rois(0)[0].col0, session.rois(0)[0].col1]"
    )
    assert roi == [10, 51, 15, 61]  # both end pixels included, half-open box

    ui.page.locator(f'{Annotator.ROOT} button[data-action="export"]').click()
    ui.wait_kernel("annotator.status.startswith('exported')")
    ui.page.wait_for_function(
        "() => document.querySelector('.segpaint-status').textContent.includes('exported')",
        timeout=WAIT_MS,
    )
    names = ui.kernel.eval("sorted(p.name for p in export_dir.rglob('*') if p.is_file())")
    stem = f"_0000_roi_{roi[0]}_{roi[1]}_{roi[2]}_{roi[3]}"
    assert any(n.endswith(stem + ".tif") for n in names), names
    assert any(n.endswith(stem + "_labelled.tif") for n in names), names
    assert any(n.endswith(stem + ".json") for n in names), names
    # What was written is the crop: its mask holds the same cells as the session inside the ROI.
    check = json.dumps(
        ui.kernel.eval(
            "(lambda m, crop: [int(np.count_nonzero(m)), int(np.count_nonzero(crop)),"
            " len(np.unique(m[m > 0])), len(np.unique(crop[crop > 0]))])("
            "__import__('tifffile').imread(next(export_dir.rglob('*_labelled.tif'))),"
            # the export's QC drops specks the ROI edge cut off, as Celldetective does
            " __import__('segpaint.io.qc').io.qc.correct_mask("
            "session.labels('cells', 0)[10:51, 15:61])[0])"
        )
    )
    n_mask, n_crop, ids_mask, ids_crop = json.loads(check)
    assert n_mask == n_crop > 0
    assert ids_mask == ids_crop
    image_shape = ui.kernel.eval(
        "list(__import__('tifffile').imread(next(p for p in export_dir.rglob('*.tif')"
        " if not p.name.endswith('_labelled.tif'))).shape)"
    )
    assert image_shape[0] == 2  # both channels, CYX
    save_screenshot(ui.page, "annotator_roi_export", element=ui.root)
    ui.kernel.run("for _roi in session.rois(0): session.remove_roi(_roi)")


def test_frame_slider_changes_what_the_canvas_shows(ui: Annotator) -> None:
    ui.press("e")  # a tool other than the default, to check it survives the frame change
    view0 = ui.js("return s.view;")
    contrast0 = ui.kernel.eval("annotator.contrast")
    row, col = CELL_CENTRES[0][0] - 8, CELL_CENTRES[0][1] - 8  # inside cell 1 at frame 0 only
    pixel0 = ui.pixel(row, col)
    slider = ui.page.locator(f'{Annotator.ROOT} input[data-control="frame"]').first
    box = slider.bounding_box()
    assert box is not None
    # Drag the thumb from frame 0 to the middle of the track (frame 1 of 0..2).
    y = box["y"] + box["height"] / 2
    ui.page.mouse.move(box["x"] + 2, y)
    ui.page.mouse.down()
    ui.page.mouse.move(box["x"] + box["width"] * 0.3, y)
    ui.page.mouse.move(box["x"] + box["width"] * 0.5, y)
    ui.page.mouse.up()
    ui.wait_js("root.dataset.frame === '1'")
    ui.wait_kernel("annotator.frame == 1")
    assert ui.pixel(row, col) != pixel0
    assert ui.kernel.eval("annotator.tool") == "eraser"
    assert ui.js("return s.view;") == view0
    assert ui.kernel.eval("annotator.contrast") == contrast0
    save_screenshot(ui.page, "annotator_frame_1", element=ui.root)
    ui.press(",")  # back to frame 0 with the napari key
    ui.wait_js("root.dataset.frame === '0'")
    assert ui.pixel(row, col) == pixel0


def test_contrast_drag_rerenders_without_a_kernel_message(ui: Annotator) -> None:
    slider = ui.page.locator(
        f'{Annotator.ROOT} input[data-control="contrast-hi"][data-channel="0"]'
    ).first
    slider.scroll_into_view_if_needed()
    box = slider.bounding_box()
    assert box is not None
    row, col = CELL_CENTRES[0]  # 3000 in channel 0: saturates when the upper limit comes down
    pixel0 = ui.pixel(row, col)
    draws0 = int(ui.js("return s.draws;"))
    sent_by_widget0 = int(ui.js("return s.messagesSent;"))
    comm0 = ui.comm_count()
    sent0 = len(ui.ws.sent)
    y = box["y"] + box["height"] / 2
    ui.page.mouse.move(box["x"] + box["width"] * 0.9, y)
    ui.page.mouse.down()
    for frac in (0.6, 0.4, 0.2, 0.1):
        ui.page.mouse.move(box["x"] + box["width"] * frac, y)
    ui.wait_js("s.draws > arg", draws0)
    assert ui.pixel(row, col) != pixel0
    # While dragging, nothing went to the kernel.
    assert int(ui.js("return s.messagesSent;")) == sent_by_widget0
    assert len(ui.ws.sent) == sent0
    assert ui.comm_count() == comm0
    ui.page.mouse.up()
    # On release the new limits reach Python once.
    ui.wait_kernel(f"annotator.contrast[0][1] == {float(slider.input_value())}")
    assert ui.comm_count() - comm0 <= 1
    save_screenshot(ui.page, "annotator_contrast", element=ui.root)
    ui.kernel.run(
        "annotator.contrast = [list(segpaint.ops.percentile_limits(stack[0, c])) for c in range(2)]"
    )


def test_edits_from_python_reach_the_canvas(ui: Annotator) -> None:
    pixel0 = ui.pixel(5, 120)
    ui.kernel.run("session.paint('cells', 0, [(5, 120)], 3, 7)")
    expected = ui.labels()
    assert expected[5, 120] == 7
    ui.wait_browser_labels(expected)
    ui.wait_js("String(s.renderedPixel(5, 120)) !== String(arg)", pixel0)


def test_annotator_renders_in_notebook_7(browser: Any, jupyter_server: JupyterServer) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 1100})
    try:
        page = context.new_page()
        ws = track_websockets(page)
        path = write_notebook(jupyter_server.root_dir, "annotator_nb7.ipynb", SETUP_CELLS)
        nb = Notebook.open(page, jupyter_server, path, ui="notebook", ws_log=ws)
        try:
            nb.wait_for('.segpaint-annotator[data-ready="1"]', name="annotator_nb7")
            assert "/notebooks/" in page.url
            view = Annotator(nb, ws)
            page.locator("canvas.segpaint-view").first.scroll_into_view_if_needed()
            row, col = CELL_CENTRES[2]
            assert view.pixel(row, col) != view.pixel(90, 5)
            view.kernel.run("annotator.tool = 'brush'\nannotator.selected_label = 5")
            view.wait_js(
                "root.querySelector('input[data-control=\"selected-label\"]').value === '5'"
            )
            view.stroke([(88, 10), (88, 20)])
            painted = view.labels() == 5
            np.testing.assert_array_equal(
                painted, disk_stroke_mask(segment_centres([(88, 10), (88, 20)]), 5.0, painted.shape)
            )
            press_on_slider(view, "frame", "ArrowRight")  # Notebook 7 keeps its keys off it
            view.wait_kernel("annotator.frame == 1")
            view.wait_js("root.dataset.frame === '1'")
            save_screenshot(page, "annotator_notebook7")
        finally:
            nb.close()
    finally:
        context.close()


def press_on_slider(view: Annotator, control: str, key: str) -> None:
    """Focus one of the widget's sliders (as a click or Tab would) and press ``key``."""
    slider = view.page.locator(f'{Annotator.ROOT} input[data-control="{control}"]').first
    slider.focus()
    view.page.keyboard.press(key)


def test_arrow_keys_step_a_focused_slider(ui: Annotator) -> None:
    press_on_slider(ui, "frame", "ArrowRight")
    ui.wait_kernel("annotator.frame == 1")
    ui.wait_js("root.dataset.frame === '1'")
    press_on_slider(ui, "frame", "End")
    ui.wait_kernel("annotator.frame == 2")
    press_on_slider(ui, "frame", "ArrowLeft")
    ui.wait_kernel("annotator.frame == 1")
    press_on_slider(ui, "frame", "Home")
    ui.wait_kernel("annotator.frame == 0")
    # Brush size and opacity step too; their values reach Python.
    press_on_slider(ui, "brush-size", "ArrowRight")
    ui.wait_kernel("annotator.brush_size == 8")
    press_on_slider(ui, "opacity", "ArrowLeft")
    ui.wait_kernel("abs(annotator.opacity - 0.49) < 1e-9")
    ui.kernel.run("annotator.opacity = 0.5")
    # The widget's own single-letter keys still work once the widget itself has the focus.
    ui.press("e")
    ui.wait_kernel("annotator.tool == 'eraser'")


def test_an_roi_added_from_the_kernel_shows_up(ui: Annotator) -> None:
    overlay_alpha = (
        "const c = root.querySelector('canvas.segpaint-view'); const r = c.getBoundingClientRect();"
        "const p = s.imageToClient(arg[0], arg[1]); const k = c.width / r.width;"
        "return c.getContext('2d').getImageData(Math.round((p.x - r.left) * k),"
        " Math.round((p.y - r.top) * k), 1, 1).data[3];"
    )
    inside = [25, 40]
    assert ui.js(overlay_alpha, inside) == 0  # nothing drawn over the image there yet
    ui.kernel.run("_roi = session.add_roi(0, rows=(10, 40), cols=(20, 60))")  # no refresh()
    ui.wait_js("s.rois.length === 1 && s.rois[0].join() === '10,40,20,60'")
    assert ui.js(overlay_alpha, inside) > 0  # the ROI's see-through fill is on the canvas
    save_screenshot(ui.page, "annotator_roi_from_kernel", element=ui.root)
    ui.kernel.run("session.remove_roi(_roi)")
    ui.wait_js("s.rois.length === 0")
    assert ui.js(overlay_alpha, inside) == 0
