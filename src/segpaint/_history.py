"""Undo/redo history bounded by bytes: one edit = one step = the changed box's old and new values.

A :meth:`History.group` makes the edits of one action (a pre-segmentation run over many frames) a
single step, :class:`Group`, that can also carry what else the action changed (the population's
recorded method, an ROI), so undo restores those too.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from segpaint.ops import BBox

DEFAULT_BUDGET = 256 * 1024**2
"""Default undo budget in bytes (256 MB)."""


def constant(value: int, shape: tuple[int, ...]) -> npt.NDArray[np.uint32]:
    """A read-only uint32 array of one value that holds no memory of its own (a broadcast view):
    what an `Edit` keeps for a box that held only background, or a label painted everywhere.

    Examples
    --------
    >>> zeros = constant(0, (512, 512))
    >>> held_bytes(zeros), zeros.shape, int(zeros[3, 4])
    (4, (512, 512), 0)
    """
    return np.broadcast_to(np.uint32(value), shape)


def held_bytes(array: npt.NDArray[Any]) -> int:
    """Bytes ``array`` holds: its element's size for a :func:`constant`, else ``nbytes``."""
    if array.size > 1 and 0 in array.strides:
        return int(array.itemsize)
    return int(array.nbytes)


@dataclass(frozen=True)
class Edit:
    """One undo step: the values of ``bbox`` in ``population``/``frame`` before and after.

    Dense (``index`` is None): ``old`` and ``new`` are the whole box, shape of ``bbox``.
    Sparse: ``index`` holds the flat (C-order) positions *in the frame* of the pixels that
    changed, ``old`` and ``new`` their values (1-D, same length); pixels of the box that are
    not listed did not change. A large change that touches few pixels of its box (a
    whole-frame ``grow``) is recorded sparse: 12 bytes per changed pixel instead of 8 per
    pixel of the box.

    Painted (``label`` is not None, dense): one label written under a mask, which is what
    brush, eraser and fill strokes are; ``new`` holds the changed pixels of the box as bits
    (``np.packbits``, little bit order, row-major): 4 bytes and 1 bit per pixel of the box
    instead of 8. ``old`` and ``new`` may be :func:`constant` views (a box that held only
    background, a sparse edit of one label), which hold no memory. :meth:`new_values` gives
    the values after the edit in every case.
    """

    population: str
    frame: int
    bbox: BBox
    old: npt.NDArray[np.uint32]
    new: npt.NDArray[Any]
    index: npt.NDArray[np.integer[Any]] | None = None
    label: int | None = None

    @property
    def nbytes(self) -> int:
        """Memory the step holds."""
        extra = 0 if self.index is None else int(self.index.nbytes)
        return held_bytes(self.old) + held_bytes(self.new) + extra

    def new_values(self) -> npt.NDArray[np.uint32]:
        """The values after the edit: the box's (dense) or the listed pixels' (sparse)."""
        if self.label is None or self.index is not None:
            return self.new
        shape = (self.bbox[1] - self.bbox[0], self.bbox[3] - self.bbox[2])
        bits = np.unpackbits(self.new, count=shape[0] * shape[1], bitorder="little")
        out = np.array(self.old, dtype=np.uint32)  # a copy: old may be a constant view
        out[bits.view(np.bool_).reshape(shape)] = self.label
        return out


@dataclass
class Group:
    """One undo step made of several edits (applied in order) and other changes.

    ``changes`` holds ``(kind, key, before, after)`` tuples the session restores on undo and
    re-applies on redo, e.g. ``("method", "targets", {...}, {...})`` or ``("roi", 3, roi, None)``.
    """

    name: str
    edits: list[Edit] = field(default_factory=list)
    changes: list[tuple[str, Any, Any, Any]] = field(default_factory=list)

    @property
    def nbytes(self) -> int:
        """Memory the step holds (edits, and arrays among its other changes: scribble marks)."""
        arrays = sum(
            int(v.nbytes)
            for _, _, *values in self.changes
            for v in values
            if isinstance(v, np.ndarray)
        )
        return sum(e.nbytes for e in self.edits) + arrays


Step = Edit | Group


class History:
    """Undo and redo stacks with a byte budget; the oldest steps are dropped first."""

    def __init__(self, budget_bytes: int = DEFAULT_BUDGET) -> None:
        if budget_bytes < 0:
            raise ValueError(f"budget_bytes must be >= 0; got {budget_bytes}")
        self.budget_bytes = int(budget_bytes)
        self._undo: deque[Step] = deque()
        self._redo: list[Step] = []
        self._bytes = 0
        self._open: dict[int, list[Group]] = {}
        """Groups being recorded, per thread: a stroke from another thread stays its own step."""

    @property
    def nbytes(self) -> int:
        """Bytes held by undo and redo steps."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._undo)

    @property
    def can_undo(self) -> bool:
        """Whether there is a step to undo."""
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        """Whether there is a step to redo."""
        return bool(self._redo)

    def push(self, edit: Step) -> None:
        """Record a new edit (into the calling thread's open group, if any); clears the redo
        stack and trims to the budget."""
        groups = self._open.get(threading.get_ident())
        if groups and isinstance(edit, Edit):
            groups[-1].edits.append(edit)
            return
        self._push_step(edit)

    @property
    def recording(self) -> bool:
        """Whether the calling thread is inside :meth:`group`."""
        return bool(self._open.get(threading.get_ident()))

    def record(self, kind: str, key: Any, before: Any, after: Any) -> None:
        """Record a change that is not a label edit (see :class:`Group`) as its own step, or into
        the calling thread's open group."""
        groups = self._open.get(threading.get_ident())
        if groups:
            groups[-1].changes.append((kind, key, before, after))
            return
        self._push_step(Group(kind, changes=[(kind, key, before, after)]))

    @contextmanager
    def group(self, name: str) -> Iterator[Group]:
        """Make every edit the calling thread records inside the block one undo step.

        Nested groups join the outermost one. The step is pushed when the block ends, also when it
        ends with an error (what was applied can be undone); an empty group pushes nothing.
        """
        ident = threading.get_ident()
        stack = self._open.setdefault(ident, [])
        step = Group(name)
        stack.append(step)
        try:
            yield step
        finally:
            stack.pop()
            if stack:
                stack[-1].edits.extend(step.edits)
                stack[-1].changes.extend(step.changes)
            else:
                del self._open[ident]
                if step.edits or step.changes:
                    self._push_step(step)

    def _push_step(self, edit: Step) -> None:
        for e in self._redo:
            self._bytes -= e.nbytes
        self._redo.clear()
        self._undo.append(edit)
        self._bytes += edit.nbytes
        while self._bytes > self.budget_bytes and self._undo:
            self._bytes -= self._undo.popleft().nbytes

    def peek(self, *, redo: bool = False) -> Step | None:
        """The step :meth:`pop_undo` (or, with ``redo=True``, :meth:`pop_redo`) would take next."""
        stack = self._redo if redo else self._undo
        return stack[-1] if stack else None

    def pop_undo(self) -> Step | None:
        """Take the newest step off the undo stack onto the redo stack."""
        if not self._undo:
            return None
        edit = self._undo.pop()
        self._redo.append(edit)
        return edit

    def pop_redo(self) -> Step | None:
        """Take the newest undone step back onto the undo stack."""
        if not self._redo:
            return None
        edit = self._redo.pop()
        self._undo.append(edit)
        return edit

    def clear(self) -> None:
        """Forget every step."""
        self._undo.clear()
        self._redo.clear()
        self._bytes = 0
