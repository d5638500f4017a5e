"""Value types of the session layer: ROIs, change events, export results, samples."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from segpaint.ops import BBox

ChangeCallback = Callable[[str, int, BBox], None]
RoiClip = Any
"""``roi=`` of an edit: an ROI, a ``(row0, row1, col0, col1)`` box, a list of them, or None."""
RoiCallback = Callable[[int], None]
ScribbleCallback = Callable[[str, int, BBox, Any], None]
SCRIBBLE_MARKS = (0, 1, 2)
"""Scribble mark values: 0 unmarked (erases marks), 1 cell, 2 background."""


@dataclass(frozen=True)
class ROI:
    """A rectangle on one frame: half-open rows ``[row0, row1)`` and cols ``[col0, col1)``."""

    frame: int
    row0: int
    row1: int
    col0: int
    col1: int

    @property
    def rows(self) -> tuple[int, int]:
        """``(row0, row1)``."""
        return self.row0, self.row1

    @property
    def cols(self) -> tuple[int, int]:
        """``(col0, col1)``."""
        return self.col0, self.col1

    @property
    def bbox(self) -> BBox:
        """``(row0, row1, col0, col1)``."""
        return self.row0, self.row1, self.col0, self.col1

    @property
    def shape(self) -> tuple[int, int]:
        """``(rows, cols)`` of the crop."""
        return self.row1 - self.row0, self.col1 - self.col0


@dataclass(frozen=True)
class Change:
    """What an edit, undo or redo changed: a box of one population's frame."""

    population: str
    frame: int
    bbox: BBox
    origin: Any = field(default=None, compare=False)
    """Who asked for it: the ``origin=`` given to the edit, undo or redo (e.g. a widget)."""
    next_label: int | None = field(default=None, compare=False)
    """In :meth:`Session.on_edit` events: the population's next unused label after the change
    (0 when the largest label is used); None elsewhere."""


@dataclass(frozen=True)
class RoiExport:
    """What :meth:`Session.export_rois` did with one ROI: the files written, or why not."""

    roi: ROI
    files: list[Path]
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the sample was written."""
        return self.error is None


@dataclass(frozen=True)
class Sample:
    """An exported training sample found on disk."""

    image: Path
    mask: Path
    sidecar: Path
    metadata: dict[str, Any]

    @property
    def frame(self) -> int:
        """Frame the sample was cut from."""
        return int(self.metadata.get("frame", -1))

    @property
    def roi(self) -> ROI | None:
        """The ROI of the crop, when the sidecar records it."""
        r = self.metadata.get("roi")
        if not isinstance(r, dict):
            return None
        return ROI(int(r["frame"]), int(r["row0"]), int(r["row1"]), int(r["col0"]), int(r["col1"]))
