# bench: stroke=line color=change
# segpaint peer for ../shared/bench-peers (run by benchmarks/bench_peers_run.py): like the shared
# templates/segpaint.py, but bench.done reads the edited frame only (s.labels("cells", 0), a view),
# not a copy of every frame's labels; and the image is shown at the harness's display size.
# ruff: noqa: B018, F821  (a notebook cell: `bench` comes from the cell above; the widget is shown)
import segpaint

stack = bench.image[None, None]  # (T, C, Y, X) = (1, 1, size, size)
s = segpaint.open(stack, axes="TCYX")
"cells" in s.populations or s.add_population("cells")
s.on_change(lambda *a, **k: bench.done(s.labels("cells", 0)))  # one stroke -> one call
# The image shown at the harness's display size, as the other peers show theirs: a canvas of
# bench.display CSS px square (the widget's border 1 px + padding 4 px a side around its viewport),
# so the harness's strokes (fractions of the largest canvas) cover the same image pixels.
a = segpaint.Annotator(s, population="cells", height=bench.display)
a.layout.width = f"{bench.display + 10}px"
a.tool = "brush"
a.brush_size = 2 * int(bench.radius)  # brush_size is a diameter; JS radius = brush_size / 2
a.selected_label = 1
a
