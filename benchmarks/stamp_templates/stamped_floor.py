# bench: stroke=line color=red
# The floor (../shared/bench-peers/templates/anywidget_ref.py, its painter unchanged) with the
# kernel-side stamps of stamped_segpaint.py (benchmarks/bench_peers_run.py prints them).
# ruff: noqa: B018, E402, F821
# Design floor for segpaint: an anywidget that paints locally in JS (same disk brush, same interpolation as
# bench.stamp_segment) and sends ONE binary message per stroke at pointerup: the labels of the stroke's bbox.
import time

_T: dict[str, float] = {}
_k = get_ipython().kernel
_dispatch, _comm = _k.dispatch_shell, _k.shell_handlers["comm_msg"]


async def _stamp_dispatch(msg, /, subshell_id=None, *, concurrent=False):
    _T["shell"] = time.time()
    return await _dispatch(msg, subshell_id=subshell_id, concurrent=concurrent)


def _stamp_comm(*a):
    _T["comm"] = time.time()
    return _comm(*a)


_k.dispatch_shell, _k.shell_handlers["comm_msg"] = _stamp_dispatch, _stamp_comm

import anywidget
import numpy as np
import traitlets


class RefPainter(anywidget.AnyWidget):
    _esm = r"""
    function render({ model, el }) {
      const N = model.get("size"), R = model.get("radius"), D = model.get("display");
      const cv = document.createElement("canvas");
      cv.width = N; cv.height = N;
      Object.assign(cv.style, { width: D + "px", height: D + "px", touchAction: "none", display: "block" });
      el.appendChild(cv);
      const ctx = cv.getContext("2d");
      const dv = model.get("image");
      const grey = new Uint8Array(dv.buffer, dv.byteOffset, dv.byteLength);
      const im = ctx.createImageData(N, N);
      for (let i = 0; i < N * N; i++) {
        const g = grey[i]; im.data[4 * i] = g; im.data[4 * i + 1] = g; im.data[4 * i + 2] = g; im.data[4 * i + 3] = 255;
      }
      ctx.putImageData(im, 0, 0);
      const labels = new Uint8Array(N * N);
      const r = Math.floor(R), offs = [];
      for (let dy = -r; dy <= r; dy++) for (let dx = -r; dx <= r; dx++) if (dx * dx + dy * dy <= R * R) offs.push([dx, dy]);
      let down = false, last = null, moves = 0, bb = null;
      ctx.fillStyle = "#ff0000";
      const stamp = (cx, cy) => {
        for (const [dx, dy] of offs) {
          const x = cx + dx, y = cy + dy;
          if (x >= 0 && y >= 0 && x < N && y < N) labels[y * N + x] = 1;
        }
        const b = [Math.max(0, cy - r), Math.min(N, cy + r + 1), Math.max(0, cx - r), Math.min(N, cx + r + 1)];
        bb = bb ? [Math.min(bb[0], b[0]), Math.max(bb[1], b[1]), Math.min(bb[2], b[2]), Math.max(bb[3], b[3])] : b;
        ctx.beginPath(); ctx.arc(cx + 0.5, cy + 0.5, R + 0.5, 0, 2 * Math.PI); ctx.fill();
      };
      const segment = (x0, y0, x1, y1) => {
        const n = Math.max(1, Math.ceil(Math.hypot(x1 - x0, y1 - y0) / Math.max(1, R / 2)));
        for (let i = 1; i <= n; i++) stamp(Math.floor(x0 + (x1 - x0) * (i / n)), Math.floor(y0 + (y1 - y0) * (i / n)));
      };
      const pos = (e) => { const b = cv.getBoundingClientRect();
        return [N * (e.clientX - b.left) / b.width, N * (e.clientY - b.top) / b.height]; };
      cv.addEventListener("pointerdown", (e) => {
        if (e.button !== 0) return;
        cv.setPointerCapture(e.pointerId);
        down = true; moves = 0; bb = null; last = pos(e);
        segment(...last, ...last);
      });
      cv.addEventListener("pointermove", (e) => {
        if (!down) return;
        moves++;
        const p = pos(e); segment(...last, ...p); last = p;
      });
      const up = (e) => {
        if (!down) return;
        down = false;
        const p = pos(e); segment(...last, ...p); last = p;
        const [y0, y1, x0, x1] = bb, w = x1 - x0, h = y1 - y0, patch = new Uint8Array(w * h);
        for (let y = 0; y < h; y++) patch.set(labels.subarray((y0 + y) * N + x0, (y0 + y) * N + x1), y * w);
        model.send({ type: "patch", x: x0, y: y0, w: w, h: h, moves: moves }, undefined, [patch.buffer]);
      };
      cv.addEventListener("pointerup", up);
      cv.addEventListener("pointercancel", up);
    }
    export default { render };
    """
    size = traitlets.Int(512).tag(sync=True)
    radius = traitlets.Float(6).tag(sync=True)
    display = traitlets.Int(512).tag(sync=True)
    image = traitlets.Bytes(b"").tag(sync=True)


labels = np.zeros((bench.size, bench.size), np.uint8)


def on_msg(widget, content, buffers):
    _T["handler"] = time.time()
    if content.get("type") != "patch":
        return
    bench.event()
    x, y, w, h = content["x"], content["y"], content["w"], content["h"]
    labels[y : y + h, x : x + w] = np.frombuffer(buffers[0], np.uint8).reshape(h, w)
    t = time.time()
    ms = {f"{n}_to_done_ms": round((t - v) * 1000, 3) for n, v in _T.items()}
    bench.done(labels, **ms, js_moves=content["moves"], patch_bytes=w * h)


painter = RefPainter(
    size=bench.size, radius=bench.radius, display=bench.display, image=bench.image.tobytes()
)
painter.on_msg(on_msg)
painter
