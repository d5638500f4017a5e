"""Baseline painter built "the ipycanvas way", for ``benchmarks/bench_browser.py``.

Every pointer event goes to the kernel as its own comm message; Python rasterises the brush segment
into a numpy label image and draws the stamped disks back onto the canvas under ``hold_canvas``.
This is how notebook painters are usually written with ipycanvas, and what segpaint's local
painting (one binary patch per stroke) is compared with.

The brush follows the rasterisation pinned in ``docs/architecture.md`` (segment centres rounded
with ``floor(x + 0.5)``, disk offsets ``dr*dr + dc*dc <= r*r``), so both painters produce the same
pixels for the same stroke.

Examples
--------
>>> import numpy as np
>>> from ipycanvas_painter import IpycanvasPainter     # doctest: +SKIP
>>> painter = IpycanvasPainter(np.zeros((64, 64), np.uint16), radius=6, label=3)  # doctest: +SKIP
>>> painter.canvas                                      # doctest: +SKIP
"""

from __future__ import annotations

import math
import time

import numpy as np
from ipycanvas import Canvas, hold_canvas

__all__ = ["IpycanvasPainter", "segment_centres"]


def segment_centres(start: tuple[float, float], end: tuple[float, float]) -> list[tuple[int, int]]:
    """Return the integer brush centres of the segment ``start → end`` (both included).

    Examples
    --------
    >>> segment_centres((0.0, 0.0), (0.0, 3.0))
    [(0, 0), (0, 1), (0, 2), (0, 3)]
    """
    (r0, c0), (r1, c1) = start, end
    n = max(math.ceil(abs(r1 - r0)), math.ceil(abs(c1 - c0)), 1)
    return [
        (math.floor(r0 + ((r1 - r0) * k) / n + 0.5), math.floor(c0 + ((c1 - c0) * k) / n + 0.5))
        for k in range(n + 1)
    ]


class IpycanvasPainter:
    """A brush painter whose every pointer event is handled in Python.

    Parameters
    ----------
    image : numpy.ndarray
        ``(Y, X)`` image shown under the labels (any numeric dtype; min-max scaled to grey).
    radius : float, keyword-only
        Brush radius in pixels.
    label : int, keyword-only
        Label value the brush writes.
    display_size : int, keyword-only
        CSS size of the canvas' longer side in pixels (the canvas keeps the image's pixels).

    Attributes
    ----------
    labels : numpy.ndarray
        ``(Y, X)`` ``uint32`` label image, updated at every pointer move.
    stroke_end_times : list of float
        ``time.time()`` at which each stroke's pointerup had been applied to ``labels``.
    n_events : int
        Pointer events received from the browser (down + moves + up).
    """

    def __init__(
        self,
        image: np.ndarray,
        *,
        radius: float = 6.0,
        label: int = 1,
        display_size: int = 640,
    ) -> None:
        if image.ndim != 2:
            raise ValueError(
                f"image must be 2-D (Y, X), got shape {image.shape}; pass one channel of one frame"
            )
        if radius < 0.5:
            raise ValueError(f"radius must be >= 0.5 pixel, got {radius}")
        self.radius = float(radius)
        self.label = int(label)
        n_rows, n_cols = image.shape
        self.labels = np.zeros((n_rows, n_cols), dtype=np.uint32)
        self.stroke_end_times: list[float] = []
        self.n_events = 0
        self._last: tuple[float, float] | None = None
        rr = math.floor(self.radius)
        d_rows, d_cols = np.mgrid[-rr : rr + 1, -rr : rr + 1]
        inside = d_rows * d_rows + d_cols * d_cols <= self.radius * self.radius
        self._offsets = (d_rows[inside], d_cols[inside])

        scale = display_size / max(n_rows, n_cols)
        self.canvas = Canvas(width=n_cols, height=n_rows)
        self.canvas.layout.width = f"{round(n_cols * scale)}px"
        self.canvas.layout.height = f"{round(n_rows * scale)}px"
        self.canvas.add_class("segpaint-baseline")
        self.canvas.fill_style = "rgb(255, 0, 255)"
        self.show(image)
        self.canvas.on_mouse_down(self._on_down)
        self.canvas.on_mouse_move(self._on_move)
        self.canvas.on_mouse_up(self._on_up)

    def show(self, image: np.ndarray, *, limits: tuple[float, float] | None = None) -> None:
        """Draw ``image`` (a new frame, or new contrast ``limits``) with the labels on top.

        The ipycanvas way: the display is computed in Python and sent as RGB pixels.
        """
        if image.shape != self.labels.shape:
            raise ValueError(
                f"image must have the canvas' shape {self.labels.shape}, got {image.shape}"
            )
        grey = image.astype(np.float32)
        lo, hi = limits if limits is not None else (float(grey.min()), float(grey.max()))
        scaled = np.clip((grey - lo) * (255.0 / (hi - lo if hi > lo else 1.0)), 0, 255)
        rgb = np.repeat(scaled.astype(np.uint8)[:, :, None], 3, axis=2)
        rgb[self.labels > 0] = (255, 0, 255)
        self.canvas.put_image_data(rgb, 0, 0)

    def _stamp(self, centres: list[tuple[int, int]]) -> None:
        """Write the brush at ``centres`` into ``labels`` and draw the disks back."""
        n_rows, n_cols = self.labels.shape
        d_rows, d_cols = self._offsets
        rows = (np.array([c[0] for c in centres])[:, None] + d_rows[None, :]).ravel()
        cols = (np.array([c[1] for c in centres])[:, None] + d_cols[None, :]).ravel()
        keep = (rows >= 0) & (rows < n_rows) & (cols >= 0) & (cols < n_cols)
        self.labels[rows[keep], cols[keep]] = self.label
        centre_rows = np.array([c[0] for c in centres], dtype=np.float64)
        centre_cols = np.array([c[1] for c in centres], dtype=np.float64)
        with hold_canvas(self.canvas):
            # Pixel (row, col) covers [col, col + 1) on the canvas: draw around its centre.
            self.canvas.fill_circles(centre_cols + 0.5, centre_rows + 0.5, self.radius + 0.5)

    @staticmethod
    def _point(x: float, y: float) -> tuple[float, float]:
        # ipycanvas gives canvas coordinates, where pixel (row, col) spans [col, col + 1);
        # the brush works on pixel centres (integer row/col), hence the half-pixel shift.
        return (y - 0.5, x - 0.5)

    def _on_down(self, x: float, y: float) -> None:
        self.n_events += 1
        self._last = self._point(x, y)
        self._stamp(segment_centres(self._last, self._last))

    def _on_move(self, x: float, y: float) -> None:
        self.n_events += 1
        if self._last is None:
            return
        point = self._point(x, y)
        self._stamp(segment_centres(self._last, point))
        self._last = point

    def _on_up(self, x: float, y: float) -> None:
        self.n_events += 1
        if self._last is not None:
            point = self._point(x, y)
            self._stamp(segment_centres(self._last, point))
        self._last = None
        self.stroke_end_times.append(time.time())
