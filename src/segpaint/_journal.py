"""Autosave journal: every edit is appended to a file as it happens, so a kernel crash loses nothing.

Each record is ``<u32 header length><JSON header><raw uint32 values>``, where the header holds the
population, frame and box and the values are the labels of that box *after* the edit (undo and
redo are journaled the same way). Replaying the records in order rebuilds the labels. A record cut
short by a crash is ignored. The journal is emptied once every edited frame is saved.
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import numpy.typing as npt

from segpaint.ops import BBox

_HEADER = struct.Struct("<I")
_MAX_HEADER = 1 << 16


@dataclass(frozen=True)
class JournalRecord:
    """One journaled edit: the values of ``bbox`` after it."""

    population: str
    frame: int
    bbox: BBox
    values: npt.NDArray[np.uint32]


class Journal:
    """An append-only edit log in one file (created on the first edit)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._file: BinaryIO | None = None

    def append(
        self, population: str, frame: int, bbox: BBox, values: npt.NDArray[np.uint32]
    ) -> None:
        """Append one record and flush it to the operating system."""
        header = json.dumps(
            {"p": population, "t": int(frame), "b": [int(v) for v in bbox]}
        ).encode()
        data = np.ascontiguousarray(values, dtype="<u4").tobytes()
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "ab")  # noqa: SIM115 - kept open between edits
        self._file.write(_HEADER.pack(len(header)) + header + data)
        self._file.flush()

    def clear(self) -> None:
        """Forget every record (after the edits were saved)."""
        self.close()
        self.path.unlink(missing_ok=True)

    def close(self) -> None:
        """Close the file handle; later edits reopen it."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def __del__(self) -> None:
        self.close()


def read_journal(path: Path) -> Iterator[JournalRecord]:
    """The complete records of a journal file, in order (a record cut short is skipped)."""
    raw = Path(path).read_bytes()
    pos = 0
    while pos + _HEADER.size <= len(raw):
        (n,) = _HEADER.unpack_from(raw, pos)
        if n > _MAX_HEADER or pos + _HEADER.size + n > len(raw):
            return
        try:
            head = json.loads(raw[pos + _HEADER.size : pos + _HEADER.size + n])
            r0, r1, c0, c1 = (int(v) for v in head["b"])
            population, frame = str(head["p"]), int(head["t"])
        except (ValueError, KeyError, TypeError):
            return
        start = pos + _HEADER.size + n
        size = (r1 - r0) * (c1 - c0) * 4
        if size < 0 or start + size > len(raw):
            return
        values = np.frombuffer(raw, dtype="<u4", count=size // 4, offset=start)
        yield JournalRecord(
            population, frame, (r0, r1, c0, c1), values.reshape(r1 - r0, c1 - c0).astype(np.uint32)
        )
        pos = start + size


def set_aside(path: Path) -> Path | None:
    """Move a journal left by an earlier session to ``<name>.pending`` and return that path."""
    if not path.is_file() or path.stat().st_size == 0:
        return None
    pending = path.with_name(path.name + ".pending")
    if pending.exists():
        # An older pending journal was never recovered: keep both, newest last.
        with open(pending, "ab") as out:
            out.write(path.read_bytes())
        path.unlink()
    else:
        os.replace(path, pending)
    return pending
