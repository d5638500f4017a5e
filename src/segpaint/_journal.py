"""Autosave journal: every edit is appended to a file as it happens, so a kernel crash loses nothing.

A journal file is a sequence of self-checking records::

    b"SPJ2" | u32 header length | u64 payload length | u32 CRC-32 of header + payload | header | payload

The header is JSON (population, frame, box, and ``base``: the signature of the frame's saved label
file when the session last read or wrote it); the payload is the compressed little-endian uint32
labels of the box *after* the edit (undo and redo are journaled the same way). The header's
``"z"`` key names the compression: ``"lz4"`` (raw LZ4 block, through imagecodecs: about 15x
faster than zlib on a whole 2048x2048 frame, so a whole-frame tool stays interactive) or, when
the key is absent (journals written before it existed), zlib. A *sparse* record (header key
``"s"``: the number of pixels it lists) holds only the pixels of the box the edit changed: its
payload decodes to ``s`` uint32 position steps (flat C-order positions in the box, the first
from 0, each later one from the previous) then their ``s`` uint32 values; the other pixels of
the box are left as they are. Replaying
the records in order rebuilds the labels. A *save marker* (``"saved"``: the signature the frame's
label file is about to get, with an empty payload) is written just before a save renames the
new file into place, so recovery can tell a file this session saved (replay its records: they
rebuild the same pixels) from one another session saved later (skip them: the file is newer). Reading stops at the first record that is incomplete
or fails its checksum (a record torn by a crash): nothing after it is trusted, and nothing in it
is ever written into labels.

A session never appends to a journal an earlier session left behind: on open, that file is
renamed to a *pending* file (``<name>.pending-<n>``), which stays until :meth:`Session.recover`
or :meth:`Session.discard_pending`. A session's own journal is compacted (rewritten atomically
with one record per unsaved frame) when it grows, so its size stays bounded by what is unsaved.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import struct
import weakref
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt

from segpaint.io._fs import atomic_write, check_no_symlink, open_append
from segpaint.ops import BBox

try:  # a core dependency (TIFF codecs); its LZ4 block codec keeps whole-frame records cheap
    import imagecodecs as _codecs

    _lz4: Any = _codecs if _codecs.LZ4.available else None
except ImportError:  # pragma: no cover
    _lz4 = None

MAGIC = b"SPJ2"
_LZ4 = "lz4"
_HEAD = struct.Struct("<4sIQI")
_MAX_HEADER = 1 << 16
Signature = tuple[int, int] | None
"""``(mtime_ns, size)`` of a saved label file, or None when there was none."""


@dataclass(frozen=True)
class JournalRecord:
    """One journaled edit: the values of ``bbox`` after it."""

    population: str
    frame: int
    bbox: BBox
    values: npt.NDArray[np.uint32]
    base: Signature = None
    saved: Signature = None
    """For a save marker: the signature the frame's file got (``values`` is then empty)."""
    index: npt.NDArray[np.intp] | None = None
    """For a sparse record: the flat (C-order) positions in ``bbox`` of ``values`` (1-D)."""

    @property
    def is_marker(self) -> bool:
        """True for a save marker, False for an edit."""
        return self.saved is not None


def encode_record(
    population: str,
    frame: int,
    bbox: BBox,
    values: npt.NDArray[np.uint32],
    base: Signature = None,
    *,
    index: npt.NDArray[np.integer[Any]] | None = None,
) -> bytes:
    """One edit record as bytes (see the module docstring).

    With ``index`` (increasing flat positions in ``bbox``), the record is sparse: ``values``
    (1-D, one per position) are the new values of those pixels only.
    """
    head: dict[str, Any] = {
        "p": population,
        "t": int(frame),
        "b": [int(v) for v in bbox],
        "base": list(base) if base is not None else None,
    }
    if index is not None:
        steps = np.diff(index, prepend=0).astype("<u4")
        raw = np.concatenate([steps, np.asarray(values, dtype="<u4").reshape(-1)])
        head["s"] = int(steps.size)
    else:
        raw = np.ascontiguousarray(values, dtype="<u4")
    if _lz4 is not None:
        head["z"] = _LZ4
        payload = bytes(_lz4.lz4_encode(raw))
    else:  # pragma: no cover - imagecodecs is a dependency; kept for a build without LZ4
        payload = zlib.compress(raw.tobytes(), 1)
    return _pack(json.dumps(head).encode(), payload)


def _decode(payload: bytes, codec: str | None, expected: int) -> bytes | None:
    """The ``expected`` bytes a payload holds, or None when it does not decode to exactly that."""
    if codec == _LZ4:
        if _lz4 is None:  # pragma: no cover
            raise RuntimeError(
                "journal: this record is LZ4-compressed and imagecodecs has no LZ4 codec; "
                "install it with `pip install imagecodecs`"
            )
        if expected == 0:
            return b"" if not payload else None
        try:
            raw = bytes(_lz4.lz4_decode(payload, out=expected))
        except (RuntimeError, ValueError):  # imagecodecs.Lz4Error: a record not to trust
            return None
        return raw if len(raw) == expected else None
    if codec is not None:
        return None  # a codec this version does not know: stop like at a torn record
    decomp = zlib.decompressobj()
    try:
        raw = decomp.decompress(payload, expected)
    except zlib.error:
        return None
    if len(raw) != expected or decomp.unconsumed_tail:
        return None
    return raw


def encode_marker(population: str, frame: int, saved: tuple[int, int]) -> bytes:
    """A save marker: frame ``frame``'s label file is about to get signature ``saved``."""
    head = {"p": population, "t": int(frame), "saved": [int(v) for v in saved]}
    return _pack(json.dumps(head).encode(), b"")


def _pack(header: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(payload, zlib.crc32(header))
    return _HEAD.pack(MAGIC, len(header), len(payload), crc) + header + payload


class Journal:
    """An append-only edit log in one file (created on the first edit).

    Appends go through a descriptor opened without following symlinks. ``nbytes`` is the size
    written so far, so the owner can decide when to :meth:`rewrite` (compact) it.
    """

    def __init__(self, path: Path, *, base: Path | None = None) -> None:
        self.path = Path(path)
        self.base = base
        self._file: BinaryIO | None = None
        self.nbytes = self.path.stat().st_size if self.path.is_file() else 0

    def append(
        self,
        population: str,
        frame: int,
        bbox: BBox,
        values: npt.NDArray[np.uint32],
        base: Signature = None,
        *,
        index: npt.NDArray[np.integer[Any]] | None = None,
    ) -> None:
        """Append one edit record (sparse with ``index``) and flush it to the operating system."""
        self.write(encode_record(population, frame, bbox, values, base, index=index))

    def mark_saved(self, population: str, frame: int, saved: tuple[int, int]) -> None:
        """Append a save marker (see the module docstring) and flush it."""
        self.write(encode_marker(population, frame, saved))

    def write(self, data: bytes) -> None:
        """Append encoded records."""
        if self._file is None:
            if self.base is not None:
                check_no_symlink(self.base, self.path)
            self._file = open_append(self.path)
            # Closed before the file object's own finaliser even if the journal dies in a cycle.
            self._closer = weakref.finalize(self, _close_quietly, self._file)
        self._file.write(data)
        self._file.flush()
        self.nbytes += len(data)

    def rewrite(self, records: list[bytes]) -> None:
        """Replace the whole journal, atomically, with ``records`` (from :func:`encode_record`)."""
        self.close()
        blob = b"".join(records)
        if not blob:
            self.clear()
            return

        def write(path: Path) -> None:
            path.write_bytes(blob)

        atomic_write(self.path, write, base=self.base)
        self.nbytes = len(blob)

    def clear(self) -> None:
        """Forget every record (after the edits were saved)."""
        self.close()
        self.path.unlink(missing_ok=True)
        self.nbytes = 0

    def close(self) -> None:
        """Close the file handle; later edits reopen it."""
        if self._file is not None:
            _close_quietly(self._file)
            self._file = None

    def __del__(self) -> None:
        self.close()


def _close_quietly(handle: BinaryIO) -> None:
    with contextlib.suppress(OSError):  # a failed flush (disk full) was reported already
        handle.close()


def read_journal(
    path: Path, *, frame_shape: tuple[int, int] | None = None
) -> Iterator[JournalRecord]:
    """The valid records of a journal file, in order.

    Reading stops at the first record that is cut short, fails its checksum, or describes a box
    outside ``frame_shape``: a torn tail is ignored, and no byte of it becomes a label.
    """
    with open(path, "rb") as handle:
        while True:
            head = handle.read(_HEAD.size)
            if len(head) < _HEAD.size:
                return
            magic, n_head, n_payload, crc = _HEAD.unpack(head)
            if magic != MAGIC or n_head > _MAX_HEADER:
                return
            header = handle.read(n_head)
            if len(header) < n_head:
                return
            record = _parse_header(header, frame_shape)
            if record is None:
                return
            population, frame, bbox, base, saved, codec, sparse = record
            area = (bbox[1] - bbox[0]) * (bbox[3] - bbox[2])
            if saved is not None:
                expected = 0
            elif sparse is not None:
                if not 0 < sparse <= area:
                    return
                expected = 8 * sparse
            else:
                expected = area * 4
            # zlib never grows incompressible data by more than ~0.1 % + a few bytes.
            if n_payload > expected + expected // 100 + 64:
                return
            payload = handle.read(n_payload)
            if len(payload) < n_payload or zlib.crc32(payload, zlib.crc32(header)) != crc:
                return
            if saved is not None:
                if n_payload:
                    return
                yield JournalRecord(
                    population, frame, bbox, np.zeros((0, 0), np.uint32), saved=saved
                )
                continue
            raw = _decode(payload, codec, expected)
            if raw is None:
                return
            values = np.frombuffer(raw, dtype="<u4").astype(np.uint32)
            if sparse is not None:
                steps = values[:sparse].astype(np.intp)
                # positions strictly increase and stay in the box, else the record is not trusted
                if (steps[1:] == 0).any():
                    return
                index = np.cumsum(steps)
                if index[-1] >= area:
                    return
                yield JournalRecord(population, frame, bbox, values[sparse:], base, index=index)
                continue
            yield JournalRecord(
                population,
                frame,
                bbox,
                values.reshape(bbox[1] - bbox[0], bbox[3] - bbox[2]),
                base,
            )


def _parse_header(
    header: bytes, frame_shape: tuple[int, int] | None
) -> tuple[str, int, BBox, Signature, Signature, str | None, int | None] | None:
    try:
        head: Any = json.loads(header)
        population, frame = str(head["p"]), int(head["t"])
        if "saved" in head:
            saved = (int(head["saved"][0]), int(head["saved"][1]))
            return (
                (population, frame, (0, 1, 0, 1), None, saved, None, None) if frame >= 0 else None
            )
        r0, r1, c0, c1 = (int(v) for v in head["b"])
        raw_base = head.get("base")
        base = (int(raw_base[0]), int(raw_base[1])) if raw_base is not None else None
        codec = head.get("z")
        if codec is not None and not isinstance(codec, str):
            return None
        sparse = head.get("s")
        if sparse is not None and (isinstance(sparse, bool) or not isinstance(sparse, int)):
            return None
    except (ValueError, KeyError, TypeError, IndexError):
        return None
    if not (0 <= r0 < r1 and 0 <= c0 < c1) or frame < 0:
        return None
    if frame_shape is not None and (r1 > frame_shape[0] or c1 > frame_shape[1]):
        return None
    return population, frame, (r0, r1, c0, c1), base, None, codec, sparse


_PENDING_RE = re.compile(r"\.pending-(\d+)$")


def pending_files(path: Path) -> list[Path]:
    """Journals earlier sessions left beside ``path`` (``<name>.pending-<n>``), oldest first."""
    folder = path.parent
    if not folder.is_dir():
        return []
    found = []
    for p in folder.glob(f"{path.name}.pending-*"):
        m = _PENDING_RE.search(p.name)
        if m and p.is_file() and not p.is_symlink():
            found.append((int(m.group(1)), p))
    return [p for _, p in sorted(found)]


def set_aside(path: Path) -> Path | None:
    """Rename a journal left by an earlier session to a new ``<name>.pending-<n>`` file.

    Earlier pending files are never appended to or overwritten. Returns the new pending path, or
    None when there was no (non-empty) journal.
    """
    if path.is_symlink() or not path.is_file():
        return None
    if path.stat().st_size == 0:
        path.unlink()
        return None
    existing = pending_files(path)
    n = 1 + max((int(_PENDING_RE.search(p.name).group(1)) for p in existing), default=0)  # type: ignore[union-attr]
    pending = path.with_name(f"{path.name}.pending-{n}")
    os.replace(path, pending)
    return pending
