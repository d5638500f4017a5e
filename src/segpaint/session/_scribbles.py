"""Scribbles: cell/background marks per frame for the pixel classifier (issue 12)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from segpaint.ops import bbox_slices, stroke_mask, tight_bbox
from segpaint.session._base import SessionBase
from segpaint.session._types import SCRIBBLE_MARKS, Change, ScribbleCallback


class _ScribblesMixin(SessionBase):
    """Scribbles: cell/background marks per frame for the pixel classifier (issue 12)."""

    # ------------------------------------------------------- scribbles (issue 12) >>>
    # Marks for training a pixel classifier: 1 = cell, 2 = background, 0 = unmarked. Kept per
    # population and frame beside the labels, never in them; never exported as samples; each
    # change is one undo step (a history record of kind "scribble").
    def scribbles(self, population: str, frame: int) -> npt.NDArray[np.uint8]:
        """The scribble marks of one frame: a ``(Y, X)`` uint8 copy, 0 unmarked, 1 cell,
        2 background (all zeros when the frame has none).

        Examples
        --------
        >>> import numpy as np, segpaint
        >>> session = segpaint.open(np.zeros((2, 16, 16), np.uint8), axes="TYX")
        >>> _ = session.scribble("cells", 1, [(8, 2), (8, 6)], 1, mark=1)
        >>> int(session.scribbles("cells", 1).sum()), int(session.scribbles("cells", 0).sum())
        (17, 0)
        """
        self._pop(population)
        t = self.stack.check_frame(frame)
        with self._lock:
            marks = self._scribbles.get((population, t))
            return np.zeros(self.frame_shape, np.uint8) if marks is None else marks.copy()

    def scribbled_frames(self, population: str) -> list[int]:
        """Frames of ``population`` that hold at least one scribble mark, in order."""
        self._pop(population)
        with self._lock:
            return sorted(t for (p, t), m in self._scribbles.items() if p == population and m.any())

    def scribble(
        self,
        population: str,
        frame: int,
        points: npt.ArrayLike,
        radius: float,
        mark: int,
        *,
        origin: Any = None,
    ) -> Change | None:
        """Draw a scribble mark along a polyline with the brush rasteriser (see :meth:`paint`).

        Parameters
        ----------
        population, frame
            Whose scribbles to draw on; the labels are never changed.
        points : array_like, shape (n, 2)
            Polyline vertices ``(row, col)``.
        radius : float
            Brush radius in pixels.
        mark : int
            ``1`` cell, ``2`` background, ``0`` erases marks.
        origin : object, optional
            Passed to :meth:`on_scribble` callbacks.

        Returns
        -------
        Change or None
            The changed box (one undo step), or None when nothing changed.
        """
        self._pop(population)
        t = self.stack.check_frame(frame)
        if (
            isinstance(mark, bool)
            or not isinstance(mark, int | np.integer)
            or mark not in SCRIBBLE_MARKS
        ):
            raise ValueError(
                f"mark must be 1 (cell), 2 (background) or 0 (erase marks); got {mark!r}"
            )
        hit = stroke_mask(self.frame_shape, points, radius)
        if hit is None:
            return None
        bbox, mask = hit
        with self._lock:
            marks = self._scribbles.get((population, t))
            if marks is None:
                marks = self._scribbles[(population, t)] = np.zeros(self.frame_shape, np.uint8)
            region = marks[bbox_slices(bbox)]
            changed = mask & (region != mark)
            if not changed.any():
                return None
            box, _ = tight_bbox(changed)
            abs_box = (bbox[0] + box[0], bbox[0] + box[1], bbox[2] + box[2], bbox[2] + box[3])
            sub = bbox_slices(box)
            old = region[sub].copy()
            region[sub][changed[sub]] = mark
            self._history.record("scribble", (population, t, abs_box), old, region[sub].copy())
            self._lock.after_release(self._scribble_callbacks.emit, population, t, abs_box, origin)
        return Change(population, t, abs_box, origin=origin)

    def clear_scribbles(
        self, population: str, frame: int | None = None, *, origin: Any = None
    ) -> list[int]:
        """Remove the scribble marks of one frame (or of every frame): one undo step.

        Returns
        -------
        list of int
            The frames that had marks.
        """
        self._pop(population)
        frames = [self.stack.check_frame(frame)] if frame is not None else None
        h, w = self.frame_shape
        cleared = []
        with self._lock, self._history.group("clear scribbles"):
            for t in frames if frames is not None else self.scribbled_frames(population):
                marks = self._scribbles.get((population, t))
                if marks is None or not marks.any():
                    continue
                before = marks.copy()
                marks[...] = 0
                self._history.record(
                    "scribble", (population, t, (0, h, 0, w)), before, marks.copy()
                )
                self._lock.after_release(
                    self._scribble_callbacks.emit, population, t, (0, h, 0, w), origin
                )
                cleared.append(t)
        return cleared

    def on_scribble(self, callback: ScribbleCallback) -> Callable[[], None]:
        """Call ``callback(population, frame, bbox, origin)`` after every scribble change (drawn,
        cleared, undone, redone); returns a function that unsubscribes it."""
        return self._scribble_callbacks.connect(callback)

    def _restore_scribble(self, key: Any, value: npt.NDArray[np.uint8]) -> None:
        population, t, bbox = key
        marks = self._scribbles.get((population, t))
        if marks is None:
            marks = self._scribbles[(population, t)] = np.zeros(self.frame_shape, np.uint8)
        marks[bbox_slices(bbox)] = value
        self._lock.after_release(self._scribble_callbacks.emit, population, t, bbox, None)

    # <<< scribbles (issue 12)
