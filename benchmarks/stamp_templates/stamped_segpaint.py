# bench: stroke=line color=change
# benchmarks/peers_segpaint.py with kernel-side stamps (benchmarks/bench_peers_run.py prints them):
# the shell message reaching the kernel's main thread (`dispatch_shell`), the comm_msg handler
# (after the kernel's "busy" status), the Annotator's `_handle_message`, and the subscriber
# (`bench.done`); each passed to bench.done as ms before it.
# ruff: noqa: B018, F821  (a notebook cell: `bench` comes from the cell above; the widget is shown)
import time

import segpaint

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


def _done(*_a, **_k):
    t = time.time()
    ms = {f"{n}_to_done_ms": round((t - v) * 1000, 3) for n, v in _T.items()}
    bench.done(s.labels("cells", 0), **ms)


stack = bench.image[None, None]  # (T, C, Y, X) = (1, 1, size, size)
s = segpaint.open(stack, axes="TCYX")
"cells" in s.populations or s.add_population("cells")
s.on_change(_done)  # one stroke -> one call
a = segpaint.Annotator(s, population="cells")
_handle = a._handle_message


def _stamp_handle(content, buffers):
    _T["handler"] = time.time()
    return _handle(content, buffers)


a._handle_message = _stamp_handle
a.tool = "brush"
a.brush_size = 2 * int(bench.radius)  # brush_size is a diameter; JS radius = brush_size / 2
a.selected_label = 1
a
