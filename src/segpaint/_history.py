"""Undo/redo history bounded by bytes: one edit = one step = the changed box's old and new values."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from segpaint.ops import BBox

DEFAULT_BUDGET = 256 * 1024**2
"""Default undo budget in bytes (256 MB)."""


@dataclass(frozen=True)
class Edit:
    """One undo step: the values of ``bbox`` in ``population``/``frame`` before and after."""

    population: str
    frame: int
    bbox: BBox
    old: npt.NDArray[np.uint32]
    new: npt.NDArray[np.uint32]

    @property
    def nbytes(self) -> int:
        """Memory the step holds."""
        return int(self.old.nbytes + self.new.nbytes)


class History:
    """Undo and redo stacks with a byte budget; the oldest steps are dropped first."""

    def __init__(self, budget_bytes: int = DEFAULT_BUDGET) -> None:
        if budget_bytes < 0:
            raise ValueError(f"budget_bytes must be >= 0; got {budget_bytes}")
        self.budget_bytes = int(budget_bytes)
        self._undo: deque[Edit] = deque()
        self._redo: list[Edit] = []
        self._bytes = 0

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

    def push(self, edit: Edit) -> None:
        """Record a new edit; clears the redo stack and trims to the budget."""
        for e in self._redo:
            self._bytes -= e.nbytes
        self._redo.clear()
        self._undo.append(edit)
        self._bytes += edit.nbytes
        while self._bytes > self.budget_bytes and self._undo:
            self._bytes -= self._undo.popleft().nbytes

    def pop_undo(self) -> Edit | None:
        """Take the newest step off the undo stack onto the redo stack."""
        if not self._undo:
            return None
        edit = self._undo.pop()
        self._redo.append(edit)
        return edit

    def pop_redo(self) -> Edit | None:
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
