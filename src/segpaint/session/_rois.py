"""ROIs on frames: add, remove, move, and the next-label bookkeeping the widget shows."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from segpaint.ops import BBox
from segpaint.session._edits import _EditsMixin
from segpaint.session._types import ROI, Change


class _RoisMixin(_EditsMixin):
    """ROIs on frames: add, remove, move, and the next-label bookkeeping the widget shows."""

    # ------------------------------------------------------------------ ROIs
    def add_roi(self, frame: int, rows: Sequence[int], cols: Sequence[int]) -> ROI:
        """Add a rectangle ROI on ``frame``: half-open ``rows=(r0, r1)``, ``cols=(c0, c1)``.

        The box is clipped to the image; an empty or reversed box is an error.
        """
        roi = self._new_roi(frame, rows, cols)
        t = roi.frame
        with self._lock:
            items = self._rois.setdefault(t, [])
            added = roi not in items
            if added:
                before = list(items)
                items.append(roi)
                self._history.record("roi", t, before, list(items))
        if added:
            self._emit_roi(t)
        return roi

    def remove_roi(self, roi: ROI) -> None:
        """Remove an ROI returned by :meth:`add_roi`."""
        with self._lock:
            items = self._rois.get(roi.frame, []) if isinstance(roi, ROI) else []
            if roi not in items:
                raise KeyError(f"{roi!r} is not an ROI of this session; see session.rois()")
            before = list(items)
            items.remove(roi)
            self._history.record("roi", roi.frame, before, list(items))
        self._emit_roi(roi.frame)

    # ------------------------------------------------- widget behaviours owned by the Session
    # (edit notifications with origin and next label, ROI clips, moving ROIs, exporting a frame)
    def on_edit(self, callback: Callable[[Change], Any]) -> Callable[[], None]:
        """Call ``callback(change)`` after every edit, undo and redo, with a :class:`Change` that
        carries its ``origin`` and the population's ``next_label`` (0 when none is left).

        This is :meth:`on_change` with more to say: the one place that knows the next unused
        label, and who asked for the change. Returns a function that unsubscribes it.

        Examples
        --------
        >>> import numpy as np, segpaint
        >>> session = segpaint.open(np.zeros((1, 16, 16), np.uint8), axes="TYX")
        >>> seen = []
        >>> stop = session.on_edit(seen.append)
        >>> _ = session.paint("cells", 0, [(4, 4)], 2, 7, origin="me")
        >>> seen[0].origin, seen[0].next_label
        ('me', 8)
        """
        if not callable(callback):
            raise TypeError(f"callback must be callable; got {callback!r}")

        def call(population: str, frame: int, bbox: BBox, origin: Any) -> None:
            nxt = self._next_label_or_zero(population)
            callback(Change(population, frame, bbox, origin=origin, next_label=nxt))

        return self._callbacks.connect(call)

    def _next_label_or_zero(self, population: str) -> int:
        try:
            return self.new_label(population)
        except ValueError:  # the largest uint32 label is in use
            return 0

    def _new_roi(self, frame: int, rows: Sequence[int], cols: Sequence[int]) -> ROI:
        """Validate and clip a box to an ROI of ``frame`` (not yet added)."""
        t = self.stack.check_frame(frame)
        try:
            r0, r1 = (int(v) for v in rows)
            c0, c1 = (int(v) for v in cols)
        except (TypeError, ValueError, OverflowError) as err:
            raise TypeError(
                f"rows and cols must be (start, stop) integer pairs; got {rows!r}, {cols!r}"
            ) from err
        if r1 <= r0 or c1 <= c0:
            raise ValueError(
                f"ROI rows={rows!r}, cols={cols!r} is empty or reversed; pass (start, stop) with "
                "start < stop, e.g. rows=(100, 356)"
            )
        h, w = self.frame_shape
        cr0, cr1, cc0, cc1 = max(r0, 0), min(r1, h), max(c0, 0), min(c1, w)
        if cr1 <= cr0 or cc1 <= cc0:
            raise ValueError(
                f"ROI rows={rows!r}, cols={cols!r} lies outside the {h}x{w} image; "
                f"use rows within 0..{h} and cols within 0..{w}"
            )
        return ROI(t, cr0, cr1, cc0, cc1)

    def move_roi(
        self, roi: ROI, rows: Sequence[int] | None = None, cols: Sequence[int] | None = None
    ) -> ROI:
        """Move or resize an ROI in one step: it keeps its place in :meth:`rois` and listeners
        hear one change. Omitted ``rows``/``cols`` keep the old ones; the box is clipped to the
        image. Moving onto an identical ROI of the frame merges the two.

        Examples
        --------
        >>> import numpy as np, segpaint
        >>> session = segpaint.open(np.zeros((1, 64, 64), np.uint8), axes="TYX")
        >>> roi = session.add_roi(0, rows=(0, 10), cols=(0, 10))
        >>> session.move_roi(roi, rows=(20, 30)).bbox
        (20, 30, 0, 10)
        """
        items = self._rois.get(roi.frame, []) if isinstance(roi, ROI) else []
        if roi not in items:
            raise KeyError(f"{roi!r} is not an ROI of this session; see session.rois()")
        new = self._new_roi(
            roi.frame, roi.rows if rows is None else rows, roi.cols if cols is None else cols
        )
        if new == roi:
            return roi
        with self._lock:
            before = list(items)
            if new in items:
                items.remove(roi)
            else:
                items[items.index(roi)] = new
            self._history.record("roi", roi.frame, before, list(items))
        self._emit_roi(roi.frame)
        return new
