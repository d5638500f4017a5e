"""Read-ahead in real JupyterLab (issue 9): a change to a neighbour the page read ahead draws
that frame's pixels and labels from the page, and an edit of that neighbour from Python while the
user looks at another frame never lets its stale labels show.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from segpaint_browser_harness import (
    JupyterServer,
    annotator_js,
    open_widget,
    save_screenshot,
    wait_full_frame,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

SIZE = 1024
# Two grey levels under contrast [0, 1000]: the 8-bit preview holds them exactly, so the picture
# read ahead must render the very pixels the lossless channels render.
CELLS = [
    f"""
import numpy as np
import segpaint
stack = np.zeros((3, {SIZE}, {SIZE}), np.uint16)
stack[0, 600:800, 100:300] = 1000
stack[1, 100:300, 100:300] = 1000
stack[2, 100:300, 600:800] = 1000
session = segpaint.open(stack, axes="TYX")
_labels = np.zeros(({SIZE}, {SIZE}), np.uint32)
_labels[400:500, 400:500] = 5
session.set_labels("cells", 1, _labels)
annotator = segpaint.Annotator(session, contrast=[[0, 1000]])
seen = []  # message types the kernel handled, in order
_handle = annotator._handle_message
def _counting(content, buffers):
    seen.append(content.get("type") if isinstance(content, dict) else None)
    return _handle(content, buffers)
annotator._handle_message = _counting
steps = []  # (frame, preview step the kernel holds as sent) right after each frame change
annotator.observe(lambda ch: steps.append((ch["new"], annotator._sent_preview_step)), "frame")
""",
    "annotator",
]

POINTS = [(150, 150), (150, 700), (450, 450), (700, 200), (10, 10)]

CHANGE_JS = """
async ([frame, points]) => {
  // Move the frame slider; at the first draw of the new frame, say what it shows at `points`.
  const root = document.querySelector('.segpaint-annotator');
  const s = root.__segpaint;
  const input = root.querySelector('input[data-control="frame"]');
  const draws0 = s.draws;
  const hits0 = s.prefetch.hits;
  input.value = String(frame);
  input.dispatchEvent(new Event('input', {bubbles: true}));
  input.dispatchEvent(new Event('change', {bubbles: true}));
  const loop = new MessageChannel();
  return await new Promise((resolve) => {
    const check = () => {
      if (s.draws > draws0 && s.frame === frame) {
        resolve({
          hit: s.prefetch.hits > hits0,
          step: s.renderer.previewStep,
          pixels: points.map(([r, c]) => Array.from(s.renderedPixel(r, c))),
          labels: points.map(([r, c]) => s.label(r, c)),
        });
        return;
      }
      loop.port2.postMessage(0);
    };
    loop.port1.onmessage = check;
    check();
  });
}
"""

LABELS_CHECKSUM_JS = """
const d = s.renderer.labels;
let acc = 0;
for (let i = 0; i < d.length; i++) acc = (acc + Math.imul(d[i], Math.imul(i, 2654435761))) >>> 0;
return acc;
"""


def checksum(values: np.ndarray) -> int:
    """LABELS_CHECKSUM_JS computed with numpy."""
    flat = values.ravel().astype(np.uint64)
    weights = (np.arange(flat.size, dtype=np.uint64) * np.uint64(2654435761)) & np.uint64(
        0xFFFFFFFF
    )
    return int(((flat * weights) & np.uint64(0xFFFFFFFF)).sum() % (1 << 32))


def wait_held(page: Any, frame: int) -> None:
    page.wait_for_function(
        f"() => document.querySelector('.segpaint-annotator').__segpaint.prefetch.held"
        f".includes({frame})",
        timeout=60_000,
        polling=50,
    )


def test_a_neighbour_read_ahead_draws_from_the_page_and_never_shows_stale_labels(
    browser: Any, jupyter_server: JupyterServer
) -> None:
    with open_widget(
        browser, jupyter_server, "prefetch", CELLS, viewport=(1200, 700), focus=False
    ) as nb:
        page = nb.page
        wait_full_frame(page, 0)
        wait_held(page, 1)  # frame 1's picture is in the page
        first = page.evaluate(CHANGE_JS, [1, POINTS])
        assert first["hit"], first
        assert first["step"] > 1, first  # a preview (zoomed out), drawn from the page
        # The kernel was told before the frame trait moved, and sent no preview. The page's
        # message travels on its own websocket, the test's eval on another connection: wait for it.
        nb.wait_kernel("'prefetch-hit' in seen", timeout_s=30.0)
        nb.wait_kernel("any(f == 1 for f, _ in steps)", timeout_s=30.0)
        # (read at the change: the lossless pull that follows resets it to 1)
        assert nb.kernel.eval("[s for f, s in steps if f == 1]") == [first["step"]]
        # Its labels are frame 1's, every pixel.
        assert first["labels"] == [0, 0, 5, 0, 0]
        labels1 = nb.kernel.array("np.asarray(session.labels('cells', 1))")
        assert annotator_js(page, LABELS_CHECKSUM_JS) == checksum(labels1)
        # Its pixels are frame 1's: what the lossless channels draw once pulled, and not frame
        # 0's (bright at (700, 200)) nor frame 2's (bright at (150, 700)).
        wait_full_frame(page, 1)
        full = page.evaluate(
            "(points) => { const s = document.querySelector('.segpaint-annotator').__segpaint;"
            " return points.map(([r, c]) => Array.from(s.renderedPixel(r, c))); }",
            POINTS,
        )
        assert first["pixels"] == full
        bright, dark = full[0], full[1]
        assert bright != dark and full[3] == dark and full[4] == dark, full

        # On frame 1, frame 2 is read ahead; then Python paints a cell into frame 2.
        wait_held(page, 2)
        nb.kernel.run("session.paint('cells', 2, [(600, 600)], 30, 77)")
        page.wait_for_function(
            "() => document.querySelector('.segpaint-annotator').__segpaint.prefetch.dropped >= 1",
            timeout=30_000,
        )
        moved = page.evaluate(CHANGE_JS, [2, [(600, 600), (150, 700), (10, 10)]])
        # The first picture of frame 2 already has the new cell: no stale labels, ever.
        assert moved["labels"] == [77, 0, 0], moved
        save_screenshot(
            page,
            "prefetch_hit_after_python_paint",
            element=page.locator(".segpaint-annotator").first,
        )
        labels2 = nb.kernel.array("np.asarray(session.labels('cells', 2))")
        assert int(labels2[600, 600]) == 77
        wait_full_frame(page, 2)
        assert annotator_js(page, LABELS_CHECKSUM_JS) == checksum(labels2)
