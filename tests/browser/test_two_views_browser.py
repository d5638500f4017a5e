"""Two views of one Annotator in real JupyterLab: anywidget hands `initialize` and each `render`
different proxies of the model, and the front-end must still keep one model-level state (one label
buffer, one transport). What a user would notice: a stroke painted in one view shows in the other,
and the kernel gets the same messages as with one view (one frame request, one read-ahead, one
stroke).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from segpaint_browser_harness import JupyterServer, Notebook, track_websockets, write_notebook

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

CELLS = [
    """
import numpy as np
import segpaint
session = segpaint.open(np.full((2, 96, 128), 500, np.uint16), axes="TYX")
annotator = segpaint.Annotator(session, brush_size=7, tool="brush")
seen = []  # message types the kernel handled, in order
_handle = annotator._handle_message
def _counting(content, buffers):
    seen.append(content.get("type") if isinstance(content, dict) else None)
    return _handle(content, buffers)
annotator._handle_message = _counting
""",
    "annotator",
    "annotator",
]


def js(page: Any, index: int, body: str, arg: Any = None) -> Any:
    """Evaluate ``body`` with ``s`` the debug object of view ``index``."""
    script = (
        "([index, arg]) => { const root = document.querySelectorAll('.segpaint-annotator')[index];"
        f" const s = root.__segpaint; return (() => {{ {body} }})(); }}"
    )
    return page.evaluate(script, [index, arg])


def test_two_views_share_one_label_buffer_and_one_transport(
    browser: Any, jupyter_server: JupyterServer
) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 1600})
    page = context.new_page()
    ws = track_websockets(page)
    path = write_notebook(jupyter_server.root_dir, "two_views.ipynb", CELLS)
    nb = Notebook.open(page, jupyter_server, path, ws_log=ws)
    try:
        page.wait_for_function(
            "() => document.querySelectorAll('.segpaint-annotator[data-ready=\"1\"]').length === 2",
            timeout=90_000,
            polling=50,
        )
        # Frame 1 is read ahead before the stroke, so the kernel's message order below is fixed.
        page.wait_for_function(
            "() => document.querySelector('.segpaint-annotator').__segpaint.prefetch.held"
            ".includes(1)",
            timeout=60_000,
            polling=50,
        )
        view = page.locator("canvas.segpaint-view").first
        view.scroll_into_view_if_needed()
        a = js(page, 0, "const p = s.imageToClient(arg[0], arg[1]); return [p.x, p.y];", [40, 20])
        b = js(page, 0, "const p = s.imageToClient(arg[0], arg[1]); return [p.x, p.y];", [40, 90])
        page.mouse.move(*a)
        page.mouse.down()
        for k in range(1, 11):
            page.mouse.move(a[0] + (b[0] - a[0]) * k / 10, a[1])
        page.mouse.up()
        page.wait_for_function(
            "() => document.querySelector('.segpaint-annotator').__segpaint.acks >= 1",
            timeout=30_000,
        )
        labels = nb.kernel.array("np.asarray(session.labels('cells', 0))")
        assert (labels == 1).sum() > 300
        # The second view shows the stroke from the first view's buffer: the same one.
        flat = js(
            page,
            1,
            "const out = []; for (let r = 0; r < 96; r++) for (let c = 0; c < 128; c++) "
            "out.push(s.label(r, c)); return out;",
        )
        np.testing.assert_array_equal(np.asarray(flat, np.uint32).reshape(96, 128), labels)
        # One frame request, one read-ahead of frame 1 (one cache for both views) and one stroke
        # reached the kernel, as with one view.
        seen = nb.kernel.eval("seen")
        assert seen == ["request-frame", "prefetch", "stroke"], seen
        assert js(page, 0, "return s.messagesSent;") == js(page, 1, "return s.messagesSent;") == 3
        assert js(page, 0, "return s.prefetch.held;") == js(page, 1, "return s.prefetch.held;")
        assert js(page, 1, "return s.prefetch.held;") == [1]
    finally:
        nb.close()
        context.close()
