"""The editing core: paint, erase, fill, patches, clipping to ROIs, undo/redo and events."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from segpaint._history import Edit, Group, History, Step, constant
from segpaint._journal import Signature, read_journal
from segpaint.ops import (
    BBox,
    as_label_image,
    bbox_slices,
    check_bbox,
    check_label,
    fill_mask,
    next_label,
    stroke_mask,
)
from segpaint.session._autosave import _JournalMixin
from segpaint.session._scribbles import _ScribblesMixin
from segpaint.session._store import _Population
from segpaint.session._types import ROI, Change, ChangeCallback, RoiCallback, RoiClip

logger = logging.getLogger("segpaint")


def _frame_index(
    flat: npt.NDArray[np.intp],
    bbox: BBox,
    frame_width: int,
    rows_cols: Callable[[], tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]] | None,
) -> npt.NDArray[np.intp]:
    """Flat positions in ``bbox`` (C order) as flat positions in the frame."""
    width = bbox[3] - bbox[2]
    if width == frame_width:  # whole rows: the box's flat positions are the frame's, shifted
        return flat + bbox[0] * width if bbox[0] else flat
    if rows_cols is None:
        rows = flat // width
        cols = flat - rows * width
    else:
        rows, cols = rows_cols()
    return (rows + bbox[0]) * frame_width + (cols + bbox[2])


class _EditsMixin(_JournalMixin, _ScribblesMixin):
    """The editing core: paint, erase, fill, patches, clipping to ROIs, undo/redo and events."""

    # ------------------------------------------------------------------ edits
    def _roi_box(self, roi: ROI | Sequence[int] | None, frame: int) -> BBox | None:
        if roi is None:
            return None
        if isinstance(roi, ROI):
            if roi.frame != frame:
                raise ValueError(f"roi is on frame {roi.frame} but the edit is on frame {frame}")
            return roi.bbox
        return check_bbox(roi, self.frame_shape, name="roi")

    def _commit(
        self,
        population: str,
        frame: int,
        bbox: BBox,
        values: npt.NDArray[np.uint32] | int,
        mask: npt.NDArray[np.bool_] | None,
        *,
        origin: Any = None,
    ) -> Change | None:
        """Write ``values`` into ``bbox`` (where ``mask``), record one undo step, notify.

        Subscribers are notified after the session lock is released.
        """
        t = self.stack.check_frame(frame)
        with self._lock:
            box = self._apply(population, t, bbox, values, mask)
        return self._emit(population, t, box, origin=origin) if box is not None else None

    def _apply(
        self,
        population: str,
        t: int,
        bbox: BBox,
        values: npt.NDArray[np.uint32] | int,
        mask: npt.NDArray[np.bool_] | None,
    ) -> BBox | None:
        """The body of :meth:`_commit`, with the lock held: returns the changed box, or None.

        One pass finds the changed pixels; a change that touches at most a third of its box
        is written and recorded sparse (positions + old/new values, see `Edit`), else the
        tight box of the change is recorded dense.
        """
        pop = self._pop(population)
        with self._lock:
            arr = pop.writable(t)
            region = arr[bbox[0] : bbox[1], bbox[2] : bbox[3]]
            changed = values != region if isinstance(values, np.ndarray) else region != values
            if mask is not None:
                changed &= mask
            n = int(np.count_nonzero(changed))
            if n == 0:
                return None
            if 3 * n <= changed.size and arr.flags.c_contiguous:
                return self._apply_sparse(population, t, bbox, values, changed, pop=pop, arr=arr)
            return self._apply_dense(population, t, bbox, values, changed, pop=pop, arr=arr, n=n)

    def _apply_dense(
        self,
        population: str,
        t: int,
        bbox: BBox,
        values: npt.NDArray[np.uint32] | int,
        changed: npt.NDArray[np.bool_],
        *,
        pop: _Population,
        arr: npt.NDArray[np.uint32],
        n: int,
    ) -> BBox:
        """Record the tight box of ``changed`` (``n`` pixels of frame ``arr``) and write it: old
        and new values, or for one label (``values`` an int) the old values and the changed
        pixels as bits (see `Edit`)."""
        h, w = changed.shape
        if n == h * w:  # every pixel of the box changed: it is its own tight box
            a, b, c, d = 0, h, 0, w
            sub = changed
        else:
            rows = np.asarray(changed.any(axis=1))
            cols = np.asarray(changed.any(axis=0))
            a, b = int(rows.argmax()), h - int(rows[::-1].argmax())
            c, d = int(cols.argmax()), w - int(cols[::-1].argmax())
            sub = changed[a:b, c:d]
        abs_box = (bbox[0] + a, bbox[0] + b, bbox[2] + c, bbox[2] + d)
        target = arr[abs_box[0] : abs_box[1], abs_box[2] : abs_box[3]]
        if isinstance(values, np.ndarray):
            old_vals = target.copy()
            new_vals = old_vals.copy()
            np.copyto(
                new_vals,
                values[a:b, c:d],
                where=sub,
                casting="unsafe",  # like assignment: callers pass labels of any integer type
            )
            target[...] = new_vals
            self._bookkeep(pop, t, new_vals, old_vals)
            self._history.push(Edit(population, t, abs_box, old_vals, new_vals))
            self._log(population, t, abs_box, new_vals)
            return abs_box
        # One label under a mask (brush, eraser, fill): the step keeps the old values (nothing
        # when they were all background) and the mask as bits. Every array the history keeps
        # is new memory, whose first touch costs page faults: what is not kept is not paid.
        label = int(values)
        old_vals = target.copy() if target.any() else constant(0, target.shape)
        np.copyto(target, label, where=sub, casting="unsafe")
        self._bookkeep(pop, t, target, old_vals, value=label)
        bits = np.packbits(sub, bitorder="little")
        self._history.push(Edit(population, t, abs_box, old_vals, bits, label=label))
        self._log(population, t, abs_box, target)  # the journal copies what it writes
        return abs_box

    def _apply_sparse(
        self,
        population: str,
        t: int,
        bbox: BBox,
        values: npt.NDArray[np.uint32] | int,
        changed: npt.NDArray[np.bool_],
        *,
        pop: _Population,
        arr: npt.NDArray[np.uint32],
    ) -> BBox:
        """Record the changed pixels only (frame positions, old and new values) and write them
        into frame ``arr`` (C-contiguous)."""
        width = changed.shape[1]
        flat = np.flatnonzero(changed)
        # the changed columns from one pass over the mask's bits (no division of every
        # position: rows and columns are worked out below only where they are needed)
        used = np.flatnonzero(changed.any(axis=0))
        label = None if isinstance(values, np.ndarray) else int(values)
        if isinstance(values, np.ndarray):
            if values.flags.c_contiguous:
                picked = values.reshape(-1)[flat]
            else:
                rows = flat // width
                picked = values[rows, flat - rows * width]
            new_vals = np.ascontiguousarray(picked, dtype=np.uint32)
        else:  # one label: kept as a constant view, no memory per pixel
            new_vals = constant(values, flat.shape)
        cols = (int(used[0]), int(used[-1]) + 1)
        return self._record_sparse(
            population, t, bbox, flat, new_vals, cols=cols, label=label, pop=pop, arr=arr
        )

    def _record_sparse(
        self,
        population: str,
        t: int,
        bbox: BBox,
        flat: npt.NDArray[np.intp],
        new_vals: npt.NDArray[np.uint32],
        *,
        cols: tuple[int, int],
        label: int | None,
        pop: _Population,
        arr: npt.NDArray[np.uint32],
        old_vals: npt.NDArray[np.uint32] | None = None,
    ) -> BBox:
        """`_apply_sparse`'s step once the change is known: ``flat`` (increasing positions in
        ``bbox``, C order) get ``new_vals``; ``cols`` is the half-open range of the changed
        columns in ``bbox``; ``old_vals`` the frame's values there when already read."""
        width = bbox[3] - bbox[2]
        abs_box = (
            bbox[0] + int(flat[0]) // width,
            bbox[0] + int(flat[-1]) // width + 1,
            bbox[2] + cols[0],
            bbox[2] + cols[1],
        )
        found: list[npt.NDArray[np.intp]] = []

        def rows_cols() -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
            """Each changed pixel's row and column in the box (worked out once, when needed)."""
            if not found:
                rows = flat // width
                found.extend((rows, flat - rows * width))
            return found[0], found[1]

        index = _frame_index(flat, bbox, arr.shape[1], rows_cols)
        flat_frame = arr.reshape(-1)  # a view: the callers checked the frame is C-contiguous
        if old_vals is None:
            old_vals = flat_frame[index]
        if label is not None and not old_vals.any():  # only background was under the stroke
            old_vals = constant(0, old_vals.shape)
        flat_frame[index] = new_vals
        self._bookkeep(pop, t, new_vals, old_vals, value=label)
        # kept as uint32 (half the memory) when the frame allows it
        kept = index.astype(np.uint32) if arr.size <= np.iinfo(np.uint32).max else index
        self._history.push(Edit(population, t, abs_box, old_vals, new_vals, kept))
        if self._journal is not None:
            if abs_box[2:] == bbox[2:]:  # the same columns: positions in the box, shifted
                top = (abs_box[0] - bbox[0]) * width
                inner = flat - top if top else flat
            else:
                rows, cols_ = rows_cols()
                inner = (rows - (abs_box[0] - bbox[0])) * (abs_box[3] - abs_box[2]) + (
                    cols_ - (abs_box[2] - bbox[2])
                )
            self._log(population, t, abs_box, new_vals, index=inner)
        return abs_box

    def _commit_changes(
        self,
        population: str,
        t: int,
        bbox: BBox,
        flat: npt.NDArray[np.integer[Any]],
        values: npt.NDArray[np.integer[Any]],
        *,
        old: npt.NDArray[np.uint32] | None = None,
        origin: Any = None,
    ) -> Change | None:
        """`_commit` of a change a kernel listed: the pixels at ``flat`` (increasing flat
        positions in ``bbox``, C order) become ``values``.

        The undo step, journal record and event are those `_commit` makes for the same new
        values of the box (listed pixels that already hold their value are dropped), without
        a comparison of the box: the cost follows the change, not the frame.  ``old``: those
        pixels' values now, when the caller read them holding the session lock it still holds
        (else they are read here).
        """
        t = self.stack.check_frame(t)
        pop = self._pop(population)
        with self._lock:
            arr = pop.writable(t)
            box = self._apply_changes(
                population, t, bbox, flat, values, pop=pop, arr=arr, old=old
            )  # fmt: skip
        return self._emit(population, t, box, origin=origin) if box is not None else None

    def _apply_changes(
        self,
        population: str,
        t: int,
        bbox: BBox,
        flat: npt.NDArray[np.integer[Any]],
        values: npt.NDArray[np.integer[Any]],
        *,
        pop: _Population,
        arr: npt.NDArray[np.uint32],
        old: npt.NDArray[np.uint32] | None = None,
    ) -> BBox | None:
        """The body of `_commit_changes`, with the lock held."""
        h, width = bbox[1] - bbox[0], bbox[3] - bbox[2]
        pos: npt.NDArray[np.intp] = np.asarray(flat, dtype=np.intp)
        new_vals = np.ascontiguousarray(values, dtype=np.uint32)
        if not arr.flags.c_contiguous or pos.size * 3 > h * width:
            # a large change (or another store): the box's new values, compared as `_commit` does
            region = arr[bbox[0] : bbox[1], bbox[2] : bbox[3]]
            new = region.copy()
            new.reshape(-1)[pos] = new_vals
            return self._apply(population, t, bbox, new, None)
        if old is None:
            old_vals = arr.reshape(-1)[_frame_index(pos, bbox, arr.shape[1], None)]
        else:
            old_vals = np.ascontiguousarray(old, dtype=np.uint32)
        same = old_vals == new_vals
        if same.any():  # a listed pixel already holds its value (the frame moved meanwhile)
            differ = ~same
            pos, new_vals, old_vals = pos[differ], new_vals[differ], old_vals[differ]
        if pos.size == 0:
            return None
        # a power-of-two width takes a mask, no division
        pow2 = width & (width - 1) == 0
        cols = np.bitwise_and(pos, width - 1) if pow2 else pos % width
        used = (int(cols.min()), int(cols.max()) + 1)
        return self._record_sparse(
            population, t, bbox, pos, new_vals, cols=used, label=None, pop=pop, arr=arr,
            old_vals=old_vals,
        )  # fmt: skip

    def _log_sparse(
        self,
        population: str,
        t: int,
        box: BBox,
        index: npt.NDArray[np.integer[Any]],
        values: npt.NDArray[np.uint32],
    ) -> None:
        """Journal a sparse write: ``index`` (increasing flat positions in the frame) get
        ``values``; the record lists their positions in ``box``."""
        if self._journal is None:
            return
        rows, cols = np.divmod(index.astype(np.intp, copy=False), self.frame_shape[1])
        inner = (rows - box[0]) * (box[3] - box[2]) + (cols - box[2])
        self._log(population, t, box, values, index=inner)

    def _write_at(
        self,
        pop: _Population,
        t: int,
        index: npt.NDArray[np.integer[Any]],
        new: npt.NDArray[np.uint32],
        old: npt.NDArray[np.uint32],
    ) -> None:
        """Write ``new`` at the flat positions ``index`` of frame ``t`` (a sparse `Edit`)."""
        arr = pop.writable(t)
        index = index.astype(np.intp, copy=False)  # numpy scatters faster with intp
        if arr.flags.c_contiguous:
            arr.reshape(-1)[index] = new  # a view: C-contiguous
        else:  # pragma: no cover - frames are C-contiguous; kept for any other store
            arr[np.unravel_index(index, arr.shape)] = new
        self._bookkeep(pop, t, new, old)

    def _write(
        self,
        pop: _Population,
        t: int,
        bbox: BBox,
        new: npt.NDArray[np.uint32],
        old: npt.NDArray[np.uint32],
    ) -> None:
        arr = pop.writable(t)
        arr[bbox_slices(bbox)] = new
        self._bookkeep(pop, t, new, old)

    @staticmethod
    def _bookkeep(
        pop: _Population,
        t: int,
        new: npt.NDArray[np.uint32],
        old: npt.NDArray[np.uint32],
        *,
        value: int | None = None,
    ) -> None:
        """Mark frame ``t`` changed and keep its known maximum label right.

        ``value``: the one label the edit wrote (``new`` holds it and old values that did not
        change); when it is at least the known maximum it is the new one, without a pass."""
        pop.touch(t)
        known = pop.maxima.get(t)
        if known is not None:
            if value is not None and value >= known:
                pop.maxima[t] = value
                return
            top = int(new.max()) if new.size else 0
            if top >= known:
                pop.maxima[t] = top
            elif old.size and int(old.max()) >= known:
                del pop.maxima[t]  # the maximum may have been erased: recompute when asked

    def _emit(self, population: str, frame: int, bbox: BBox, *, origin: Any = None) -> Change:
        """Notify subscribers; inside a locked block, once the lock is released."""
        self._lock.after_release(self._callbacks.emit, population, frame, bbox, origin)
        return Change(population, frame, bbox, origin=origin)

    def paint(
        self,
        population: str,
        frame: int,
        points: npt.ArrayLike,
        radius: float,
        label: int,
        *,
        preserve_labels: bool = False,
        roi: RoiClip = None,
        clip_to_rois: bool = False,
        origin: Any = None,
    ) -> Change | None:
        """Paint ``label`` along a polyline of ``(row, col)`` points with a round brush.

        Parameters
        ----------
        population, frame
            Which labels to edit.
        points : array_like, shape (n, 2)
            Polyline vertices; consecutive points are joined, so fast strokes have no gaps.
        radius : float
            Brush radius in pixels.
        label : int
            Label to paint (0 erases).
        preserve_labels : bool
            Only paint over background (0), leaving other cells untouched.
        roi : ROI, (row0, row1, col0, col1), or a list of them, optional
            Pixels outside it (outside all of them) are never changed.
        clip_to_rois : bool
            Change only pixels inside the frame's ROIs (:meth:`rois`); an error when it has none.
        origin : object, optional
            Passed to change notifications (``Change.origin``), so a caller recognises its own
            edits (the widget does not echo its strokes back to the browser).

        Returns
        -------
        Change or None
            The changed box, or None when nothing changed.
        """
        t = self.stack.check_frame(frame)
        value = check_label(label)
        clip, boxes = self._edit_clip(roi, clip_to_rois, t)
        hit = stroke_mask(self.frame_shape, points, radius, clip=clip)
        if hit is None:
            return None
        bbox, mask = hit
        if boxes is not None:
            mask = mask & self._inside(boxes, bbox)
        if not preserve_labels:
            return self._commit(population, t, bbox, value, mask, origin=origin)
        with self._lock:  # read and write the labels in one step: no stroke in between
            mask = mask & (self._pop(population).view(t)[bbox_slices(bbox)] == 0)
            box = self._apply(population, t, bbox, value, mask)
        return self._emit(population, t, box, origin=origin) if box is not None else None

    def erase(
        self,
        population: str,
        frame: int,
        points: npt.ArrayLike,
        radius: float,
        *,
        roi: RoiClip = None,
        clip_to_rois: bool = False,
        origin: Any = None,
    ) -> Change | None:
        """Set labels to 0 along a polyline (the eraser). See :meth:`paint`."""
        return self.paint(
            population, frame, points, radius, 0, roi=roi, clip_to_rois=clip_to_rois, origin=origin
        )

    def fill(
        self,
        population: str,
        frame: int,
        seed: Sequence[int],
        label: int,
        *,
        roi: RoiClip = None,
        clip_to_rois: bool = False,
        connectivity: int = 1,
        contiguous: bool = True,
        origin: Any = None,
    ) -> Change | None:
        """Flood-fill the contiguous region of the seed's label with ``label`` (0 deletes a cell).

        ``contiguous=False`` fills every pixel of the frame holding the seed's value (issue 10).

        With several ROIs (``roi=[...]`` or ``clip_to_rois=True``) the fill spreads only through
        pixels inside them, like the widget's locked fill; a seed outside them changes nothing.
        See :meth:`paint` for ``roi``, ``clip_to_rois`` and ``origin``.
        """
        t = self.stack.check_frame(frame)
        value = check_label(label)
        clip, boxes = self._edit_clip(roi, clip_to_rois, t)
        try:
            r, c = (int(v) for v in seed)
        except (TypeError, ValueError) as err:
            raise TypeError(f"seed must be a (row, col) pair of integers; got {seed!r}") from err
        with self._lock:  # the region is measured and filled in one step
            labels = self._pop(population).view(t)
            if boxes is not None and len(boxes) > 1:
                h, w = self.frame_shape
                if (
                    0 <= r < h
                    and 0 <= c < w
                    and not self._inside(boxes, (r, r + 1, c, c + 1))[0, 0]
                ):
                    raise ValueError(
                        f"seed {(r, c)} is outside the ROIs {[list(b) for b in boxes]}; pick a "
                        "pixel inside one, or edit without the ROI clip"
                    )
                # Pixels outside the ROIs get a value other than the seed's: the fill stops there.
                labels = np.array(labels)
                outside = ~self._inside(boxes, (0, h, 0, w))
                if 0 <= r < h and 0 <= c < w:
                    labels[outside] = labels[r, c] ^ 1
            bbox, mask = fill_mask(
                labels, (r, c), connectivity=connectivity, clip=clip, contiguous=contiguous
            )
            box = self._apply(population, t, bbox, value, mask)
        return self._emit(population, t, box, origin=origin) if box is not None else None

    def apply_patch(
        self,
        population: str,
        frame: int,
        bbox: Sequence[int],
        values: npt.ArrayLike | int,
        *,
        mask: npt.ArrayLike | None = None,
        roi: RoiClip = None,
        clip_to_rois: bool = False,
        origin: Any = None,
    ) -> Change | None:
        """Write a block of label values (what the widget sends at the end of a stroke).

        Parameters
        ----------
        bbox : (row0, row1, col0, col1)
            Half-open box inside the frame.
        values : array_like, shape (row1 - row0, col1 - col0), or int
            New labels for the box, or one label for every pixel of ``mask``.
        mask : array_like of bool, optional
            Only pixels where it is True are written.
        roi, clip_to_rois, origin
            As in :meth:`paint`: pixels outside the ROI(s) are never written.
        """
        t = self.stack.check_frame(frame)
        box = check_bbox(bbox, self.frame_shape)
        shape = (box[1] - box[0], box[3] - box[2])
        vals: npt.NDArray[np.uint32] | int
        if isinstance(values, int | np.integer):
            vals = check_label(int(values), name="values")
        else:
            vals = as_label_image(values, name="values", shape=shape)
        m = None
        if mask is not None:
            m = np.asarray(mask)
            if m.shape != shape or m.dtype != bool:
                raise ValueError(
                    f"mask must be a boolean array of shape {shape}; got {m.dtype} {m.shape}"
                )
        _, boxes = self._edit_clip(roi, clip_to_rois, t)
        if boxes is not None:
            inside = self._inside(boxes, box)
            m = inside if m is None else m & inside
        return self._commit(population, t, box, vals, m, origin=origin)

    def set_labels(
        self, population: str, frame: int, labels: npt.ArrayLike, *, origin: Any = None
    ) -> Change | None:
        """Replace a whole frame's labels (one undo step), e.g. with a pre-segmentation result."""
        t = self.stack.check_frame(frame)
        vals = as_label_image(labels, name="labels", shape=self.frame_shape)
        return self._commit(
            population,
            t,
            (0, self.frame_shape[0], 0, self.frame_shape[1]),
            vals,
            None,
            origin=origin,
        )

    def new_label(self, population: str) -> int:
        """The next unused label over all frames of the population (napari's ``m``)."""
        with self._lock:
            return next_label(self._pop(population).max_label())

    def _edit_clip(
        self, roi: RoiClip, clip_to_rois: bool, frame: int
    ) -> tuple[BBox | None, list[BBox] | None]:
        """The clip of an edit: the bounding box for the rasteriser and the boxes (or None)."""
        if clip_to_rois:
            if roi is not None:
                raise ValueError("pass roi= or clip_to_rois=True, not both")
            boxes = [r.bbox for r in self.rois(frame)]
            if not boxes:
                raise ValueError(
                    f"clip_to_rois=True but frame {frame} has no ROI; add one with "
                    "session.add_roi(frame, rows=..., cols=...) or edit without the clip"
                )
        elif roi is None:
            return None, None
        elif (
            isinstance(roi, list | tuple)
            and roi
            and all(isinstance(r, ROI | list | tuple) for r in roi)
        ):
            boxes = [self._roi_box(r, frame) or (0, 0, 0, 0) for r in roi]
        else:
            box = self._roi_box(roi, frame)
            return box, None if box is None else [box]
        union = (
            min(b[0] for b in boxes),
            max(b[1] for b in boxes),
            min(b[2] for b in boxes),
            max(b[3] for b in boxes),
        )
        return union, boxes

    @staticmethod
    def _inside(boxes: Sequence[BBox], bbox: BBox) -> npt.NDArray[np.bool_]:
        """Mask over ``bbox`` of the pixels inside any of ``boxes``."""
        r0, r1, c0, c1 = bbox
        inside = np.zeros((r1 - r0, c1 - c0), bool)
        for box in boxes:
            a, b, c, d = max(box[0], r0), min(box[1], r1), max(box[2], c0), min(box[3], c1)
            if a < b and c < d:
                inside[a - r0 : b - r0, c - c0 : d - c0] = True
        return inside

    def recover(self) -> list[Change]:
        """Apply the edits earlier sessions journaled but never saved (e.g. before a crash).

        Each becomes an undoable edit of this session; the pending journals are then deleted.
        Edits of populations this session does not have are added as new populations. An edit
        of a frame whose label file was saved after the edit was journaled is skipped (the saved
        file is newer) and reported in the log.
        """
        if self._read_only:
            raise PermissionError(
                "this session is read-only: recover() would change the data's journal; open the "
                "data without read_only=True to recover its pending edits"
            )
        changes = []
        stale = 0
        files = self._pending_files()
        for path in files:
            records = list(read_journal(path, frame_shape=self.frame_shape))
            # The file signatures each frame had, as this journal's session knew them: as a base
            # of its edits, or from its own saves. A label file with another signature was saved
            # by another session after these edits: it is newer, and they are skipped.
            known: dict[tuple[str, int], set[Signature]] = {}
            for rec in records:
                known.setdefault((rec.population, rec.frame), set()).add(
                    rec.saved if rec.is_marker else rec.base
                )
            for rec in records:
                if rec.is_marker or not 0 <= rec.frame < self.n_frames:
                    continue
                if rec.population not in self._pops:
                    self.add_population(rec.population)
                if (
                    self._signature(rec.population, rec.frame)
                    not in known[(rec.population, rec.frame)]
                ):
                    stale += 1
                    continue
                if rec.index is None:
                    change = self.apply_patch(rec.population, rec.frame, rec.bbox, rec.values)
                else:  # a sparse record: only the listed pixels of the box
                    shape = (rec.bbox[1] - rec.bbox[0], rec.bbox[3] - rec.bbox[2])
                    values = np.zeros(shape, np.uint32)
                    mask = np.zeros(shape, bool)
                    values.reshape(-1)[rec.index] = rec.values
                    mask.reshape(-1)[rec.index] = True
                    change = self.apply_patch(
                        rec.population, rec.frame, rec.bbox, values, mask=mask
                    )
                if change is not None:
                    changes.append(change)
        if stale:
            logger.warning(
                "segpaint: %d journaled edit(s) were not applied: their frames were saved after "
                "the edits were journaled, so the saved label files are newer",
                stale,
            )
        for path in files:
            path.unlink(missing_ok=True)
        return changes

    # --------------------------------------------------------------- history
    @property
    def can_undo(self) -> bool:
        """Whether :meth:`undo` has a step to undo."""
        return self._history.can_undo

    @property
    def can_redo(self) -> bool:
        """Whether :meth:`redo` has a step to redo."""
        return self._history.can_redo

    def undo(self, *, origin: Any = None) -> Change | None:
        """Undo the newest step (any frame, any population); returns what changed, or None.

        A step is one edit, or one action over several frames (a pre-segmentation run), which
        also restores what the action changed besides labels (the recorded method). For a step
        over several frames, the returned change is the last one announced. Adding, moving and
        removing an ROI are steps too; they change no label, so they return None
        (:meth:`history_target` says where a step acts before it is undone).
        """
        with self._lock:
            step = self._history.pop_undo()
            if step is None:
                return None
            boxes = self._replay(step, undo=True)
        return self._emit_each(boxes, origin)

    def redo(self, *, origin: Any = None) -> Change | None:
        """Redo the newest undone step; returns what changed, or None."""
        with self._lock:
            step = self._history.pop_redo()
            if step is None:
                return None
            boxes = self._replay(step, undo=False)
        return self._emit_each(boxes, origin)

    def _replay(self, step: Step, *, undo: bool) -> list[tuple[str, int, BBox]]:
        """Write a step's old (undo) or new (redo) values, with the lock held."""
        edits = step.edits if isinstance(step, Group) else [step]
        changes = step.changes if isinstance(step, Group) else []
        boxes = []
        for edit in reversed(edits) if undo else edits:
            values, other = (edit.old, edit.new_values()) if undo else (edit.new_values(), edit.old)
            pop = self._pops[edit.population]
            if edit.index is None:
                self._write(pop, edit.frame, edit.bbox, values, other)
                self._log(edit.population, edit.frame, edit.bbox, values)
            else:
                self._write_at(pop, edit.frame, edit.index, values, other)
                self._log_sparse(edit.population, edit.frame, edit.bbox, edit.index, values)
            boxes.append((edit.population, edit.frame, edit.bbox))
        for kind, key, before, after in reversed(changes) if undo else changes:
            self._restore(kind, key, before if undo else after)
        return boxes

    def _restore(self, kind: str, key: Any, value: Any) -> None:
        if kind == "method" and key in self._pops:
            self._pops[key].method = value
        elif kind == "roi":  # issue 10: ROI operations are undo steps
            self._rois[key] = list(value)
            self._emit_roi(key)
        elif kind == "scribble":  # issue 12: scribble marks
            self._restore_scribble(key, value)

    def _emit_each(self, boxes: list[tuple[str, int, BBox]], origin: Any) -> Change | None:
        change = None
        for population, frame, bbox in boxes:
            change = self._emit(population, frame, bbox, origin=origin)
        return change

    def history_target(self, *, redo: bool = False) -> tuple[str | None, int] | None:
        """Where the next :meth:`undo` (or, with ``redo=True``, :meth:`redo`) acts:
        ``(population, frame)``, with population None for an ROI step; None when there is no step
        or the step is on no frame (a recorded method alone).

        A step over several frames (a pre-segmentation run) names its first frame. A widget uses
        this to bring the frame into view before undoing an edit made elsewhere.

        Examples
        --------
        >>> import numpy as np, segpaint
        >>> session = segpaint.open(np.zeros((3, 16, 16), np.uint8), axes="TYX")
        >>> _ = session.paint("cells", 2, [(4, 4)], 2, 7)
        >>> roi = session.add_roi(1, rows=(0, 8), cols=(0, 8))
        >>> session.history_target()
        (None, 1)
        >>> _ = session.undo()
        >>> session.history_target()
        ('cells', 2)
        """
        with self._lock:
            step = self._history.peek(redo=redo)
        if step is None:
            return None
        if isinstance(step, Edit):
            return step.population, step.frame
        if step.edits:
            return step.edits[0].population, step.edits[0].frame
        for kind, key, _, _ in step.changes:
            if kind == "roi":
                return None, int(key)
            if kind == "scribble":
                return str(key[0]), int(key[1])
        return None

    @property
    def history(self) -> History:
        """The undo history (``budget_bytes`` may be changed)."""
        return self._history

    def on_change(self, callback: ChangeCallback) -> Callable[[], None]:
        """Call ``callback(population, frame, bbox)`` after every edit, undo and redo.

        Returns a function that unsubscribes it.
        """
        if not callable(callback):
            raise TypeError(f"callback must be callable; got {callback!r}")
        return self._callbacks.connect(lambda p, f, b, origin: callback(p, f, b))

    def on_roi_change(self, callback: RoiCallback) -> Callable[[], None]:
        """Call ``callback(frame)`` after :meth:`add_roi` or :meth:`remove_roi` changed the ROIs
        of ``frame`` (adding an ROI that is already there changes nothing and calls nothing).

        Returns a function that unsubscribes it. A failing callback does not undo the change:
        the others are still called, then a ``RuntimeError`` reports it.

        Examples
        --------
        >>> import numpy as np, segpaint
        >>> session = segpaint.open(np.zeros((2, 32, 32), np.uint16), axes="TYX")
        >>> seen = []
        >>> unsubscribe = session.on_roi_change(seen.append)
        >>> roi = session.add_roi(1, rows=(0, 8), cols=(0, 8))
        >>> session.remove_roi(roi)
        >>> unsubscribe()
        >>> _ = session.add_roi(0, rows=(0, 8), cols=(0, 8))
        >>> seen
        [1, 1]
        """
        return self._roi_callbacks.connect(callback)

    def _emit_roi(self, frame: int) -> None:
        self._lock.after_release(self._roi_callbacks.emit, frame)
