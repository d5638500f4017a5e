"""The frame transport in real JupyterLab: a zoomed-out view first gets a preview quantized to
8 bits under the contrast on screen, then the lossless full-resolution channels, which must end
up in the browser bit for bit as the kernel holds them (a checksum of every sample on both sides).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from segpaint_browser_harness import JupyterServer, open_widget, wait_full_frame

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

SIZE = 1024
CELLS = [
    f"""
import numpy as np
import segpaint
_rng = np.random.default_rng(3)
stack = _rng.integers(0, 65536, size=(3, 2, {SIZE}, {SIZE}), dtype=np.uint16)
session = segpaint.open(stack, axes="TCYX")
# Labels that differ from frame to frame: frame 2 decodes into frame 0's reused label buffer.
_labels = np.zeros((3, {SIZE}, {SIZE}), np.uint32)
_labels[0, 100:400, 50:900] = 5
_labels[1, 500:600, 500:600] = 9
_labels[2, 300:350, 0:{SIZE}] = 70000
_labels[2, 0:3, 0:5] = 4294967295
for _t in range(3):
    session.set_labels(session.populations[0], _t, _labels[_t])
annotator = segpaint.Annotator(session)
""",
    "annotator",
]

FRAME_CHANGE_JS = """
async (frame) => {
  // Move the frame slider; at the first draw of the new frame, say what the renderer holds.
  const root = document.querySelector('.segpaint-annotator');
  const s = root.__segpaint;
  const input = root.querySelector('input[data-control="frame"]');
  const draws0 = s.draws;
  input.value = String(frame);
  input.dispatchEvent(new Event('input', {bubbles: true}));
  input.dispatchEvent(new Event('change', {bubbles: true}));
  const loop = new MessageChannel();
  return await new Promise((resolve) => {
    const check = () => {
      if (s.draws > draws0 && s.frame === frame) {
        resolve({
          step: s.renderer.previewStep,
          scale: s.view.scale,
          kinds: s.renderer.channels.map((c) => c.data.constructor.name),
          quant: s.renderer.channels.map((c) => c.quant || null),
          full: root.getAttribute('data-full-frame'),
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

CHECKSUM_JS = """
() => {
  // Per channel: dtype, length, and sum of v[i] * (i * 2654435761) mod 2^32 over every sample.
  const s = document.querySelector('.segpaint-annotator').__segpaint;
  return s.renderer.channels.map((c) => {
    let acc = 0;
    const d = c.data;
    for (let i = 0; i < d.length; i++) acc = (acc + Math.imul(d[i], Math.imul(i, 2654435761))) >>> 0;
    return [c.data.constructor.name, d.length, acc, c.quant || null];
  });
}
"""


LABELS_CHECKSUM_JS = """
() => {
  const s = document.querySelector('.segpaint-annotator').__segpaint;
  const d = s.renderer.labels;
  let acc = 0;
  for (let i = 0; i < d.length; i++) acc = (acc + Math.imul(d[i], Math.imul(i, 2654435761))) >>> 0;
  return [d.constructor.name, d.length, acc];
}
"""


def checksum(values: np.ndarray) -> int:
    """The CHECKSUM_JS sum of a channel, computed with numpy."""
    flat = values.ravel().astype(np.uint64)
    weights = (np.arange(flat.size, dtype=np.uint64) * np.uint64(2654435761)) & np.uint64(
        0xFFFFFFFF
    )
    products = (flat * weights) & np.uint64(0xFFFFFFFF)
    return int(products.sum() % (1 << 32))


def test_a_quantized_preview_then_lossless_channels_bit_exact(
    browser: Any, jupyter_server: JupyterServer
) -> None:
    # A short page: the 1024² frame is fitted into ~250 px, a quarter of its pixels or fewer.
    with open_widget(
        browser, jupyter_server, "frame_transport", CELLS, viewport=(1200, 700), focus=False
    ) as nb:
        page = nb.page
        wait_full_frame(page, 0)
        first = page.evaluate(FRAME_CHANGE_JS, 1)
        contrast = nb.kernel.eval("annotator.contrast")
        # The first picture: decimated to what the screen shows, 8 bits under the contrast.
        assert first["step"] > 1 and first["step"] * first["scale"] <= 1.0 + 1e-9, first
        # ... and no finer than that: within 1/8 of image pixels per display pixel, not a whole
        # number of them (3 where the screen shows 1 pixel in 3.9 sends 1.7x the samples).
        assert 1 / first["scale"] - first["step"] < 0.125 + 1e-9, first
        assert first["kinds"] == ["Uint8Array", "Uint8Array"], first
        assert first["quant"] == contrast, first
        assert first["full"] == "", first
        # Then the lossless channels arrive: every sample as the kernel holds it.
        wait_full_frame(page, 1)
        got = page.evaluate(CHECKSUM_JS)
        stack = nb.kernel.array("stack[1]")
        want = [["Uint16Array", SIZE * SIZE, checksum(stack[c]), None] for c in range(2)]
        assert got == want
        # The checksum tells one changed sample apart (it is not blind to the data).
        changed = stack[0].copy()
        changed[SIZE // 2, 7] ^= 1
        assert checksum(changed) != want[0][2]
        assert page.evaluate(LABELS_CHECKSUM_JS) == [
            "Uint32Array",
            SIZE * SIZE,
            checksum(nb.kernel.array("_labels[1]")),
        ]
        # Frame 2's labels go into the buffer frame 0's were in: none of frame 0's survive.
        page.evaluate(FRAME_CHANGE_JS, 2)
        labels2 = nb.kernel.array("_labels[2]")
        assert page.evaluate(LABELS_CHECKSUM_JS) == ["Uint32Array", SIZE * SIZE, checksum(labels2)]
        assert checksum(labels2) != checksum(nb.kernel.array("_labels[0]"))
