"""Binary messages between the Annotator and its browser front-end (the other half is ``js/codec.js``).

Arrays travel as raw little-endian buffers with a small JSON header: never base64, JSON lists or
JPEG. Anything larger than :data:`CHUNK_BYTES` is split into row bands (or runs), so no message
carries more than a few MB.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

CHUNK_BYTES = 4 * 1024 * 1024
"""Largest buffer payload of one message, in bytes."""

Message = tuple[dict[str, Any], list[memoryview]]
"""``(content, buffers)`` as passed to ``widget.send``."""

_WIRE_DTYPES = {np.dtype(np.uint8): "uint8", np.dtype(np.uint16): "uint16"}


def wire_image(image: npt.NDArray[Any]) -> tuple[npt.NDArray[Any], str]:
    """Convert one channel to a dtype the browser reads: uint8 and uint16 as they are, else float32.

    Examples
    --------
    >>> arr, dtype = wire_image(np.zeros((2, 2), np.int16))
    >>> arr.dtype.str, dtype
    ('<f4', 'float32')
    """
    arr = np.asarray(image)
    if arr.dtype == np.bool_:
        arr = arr.astype(np.uint8)
    name = _WIRE_DTYPES.get(arr.dtype.newbyteorder("=")) if arr.dtype.kind == "u" else None
    if name is None:
        return np.ascontiguousarray(arr, dtype="<f4"), "float32"
    return np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("<")), name


def narrow_labels(labels: npt.NDArray[Any]) -> tuple[npt.NDArray[Any], str]:
    """The smallest unsigned dtype that holds every label exactly (the browser widens it back).

    Examples
    --------
    >>> narrow_labels(np.array([[0, 300]], np.uint32))[1]
    'uint16'
    """
    arr = np.asarray(labels)
    top = int(arr.max()) if arr.size else 0
    if top <= 0xFF:
        return np.ascontiguousarray(arr, dtype="<u1"), "uint8"
    if top <= 0xFFFF:
        return np.ascontiguousarray(arr, dtype="<u2"), "uint16"
    return np.ascontiguousarray(arr, dtype="<u4"), "uint32"


def rows_per_band(width: int, itemsize: int, *, max_bytes: int = CHUNK_BYTES) -> int:
    """How many rows of ``width`` elements fit in one message (at least one).

    Examples
    --------
    >>> rows_per_band(2048, 2, max_bytes=4 * 1024 * 1024)
    1024
    """
    return max(1, max_bytes // max(1, width * itemsize))


def _bands(n_rows: int, step: int) -> Iterator[tuple[int, int]]:
    for r0 in range(0, n_rows, step):
        yield r0, min(n_rows, r0 + step)


def runs(labels: npt.NDArray[Any]) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.uint32]]:
    """Run-length encode a label image in C order: ``(values, lengths)``, both uint32.

    Examples
    --------
    >>> v, n = runs(np.array([[0, 0, 5], [5, 5, 0]], np.uint32))
    >>> v.tolist(), n.tolist()
    ([0, 5, 0], [2, 3, 1])
    """
    flat = np.asarray(labels).ravel()
    if flat.size == 0:
        return np.zeros(0, "<u4"), np.zeros(0, "<u4")
    starts = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    starts = np.concatenate([np.zeros(1, np.int64), starts])
    lengths = np.diff(np.append(starts, flat.size))
    return flat[starts].astype("<u4"), lengths.astype("<u4")


def label_bands(labels: npt.NDArray[Any], *, max_bytes: int = CHUNK_BYTES) -> list[Message]:
    """Band messages (without ``xfer``) for a whole label frame: run-length encoded when that is
    at most half the size of the narrowed raw array, else raw row bands.
    """
    arr = np.asarray(labels)
    values, lengths = runs(arr)
    narrow, dtype = narrow_labels(arr)
    out: list[Message] = []
    if values.size * 8 * 2 <= narrow.nbytes:
        step = max(1, max_bytes // 8)
        starts = np.concatenate([np.zeros(1, np.int64), np.cumsum(lengths, dtype=np.int64)])
        for a in range(0, values.size, step):
            b = min(values.size, a + step)
            content = {
                "key": "labels",
                "encoding": "rle",
                "start": int(starts[a]),
                "runs": b - a,
            }
            out.append((content, [values[a:b].data, lengths[a:b].data]))
        return out
    height, width = narrow.shape
    for r0, r1 in _bands(height, rows_per_band(width, narrow.itemsize, max_bytes=max_bytes)):
        content = {"key": "labels", "encoding": "raw", "row0": r0, "row1": r1, "dtype": dtype}
        out.append((content, [narrow[r0:r1].data]))
    return out


def preview_shape(height: int, width: int, step: int) -> tuple[int, int]:
    """Shape of a frame decimated by ``step`` (every ``step``-th row and column, from 0).

    Examples
    --------
    >>> preview_shape(2048, 2000, 3)
    (683, 667)
    """
    return -(-height // step), -(-width // step)


def frame_messages(
    *,
    xfer: int,
    frame: int,
    population: str,
    shape: tuple[int, int],
    channels: Sequence[tuple[int, npt.NDArray[Any]]],
    labels: npt.NDArray[Any] | None,
    step: int = 1,
    partial: bool = False,
    max_bytes: int = CHUNK_BYTES,
) -> list[Message]:
    """All messages of one frame transfer: a header, row bands, an end marker.

    ``channels`` is a list of ``(channel index, 2-D image)``, each already decimated by ``step``
    (a level of detail matched to the zoom: at ``step`` 3 a 2048² frame sends 683² per channel);
    ``labels`` are always full resolution, or None in a partial transfer (e.g. a channel that was
    just made visible, or the full-resolution channels that follow a preview).
    """
    height, width = shape
    want = preview_shape(height, width, step)
    for idx, img in channels:
        if img.shape != want:
            raise ValueError(
                f"channel {idx} has shape {img.shape}; a {height}x{width} frame at step {step} "
                f"needs {want}"
            )
    if labels is not None and labels.shape != (height, width):
        raise ValueError(f"labels have shape {labels.shape}; the frame is {height}x{width}")
    wired = [(idx, *wire_image(img)) for idx, img in channels]
    header = {
        "type": "frame",
        "xfer": xfer,
        "frame": frame,
        "population": population,
        "height": height,
        "width": width,
        "step": step,
        "channels": [{"index": idx, "dtype": dtype} for idx, _, dtype in wired],
        "labels": labels is not None,
        "max_label": int(labels.max()) if labels is not None and labels.size else 0,
        "partial": partial,
    }
    out: list[Message] = [(header, [])]
    # Labels first: they are small (run-length encoded) and are what editing needs.
    if labels is not None:
        for content, buffers in label_bands(labels, max_bytes=max_bytes):
            out.append(({"type": "band", "xfer": xfer, **content}, buffers))
    ch_height, ch_width = want
    for idx, arr, dtype in wired:
        for r0, r1 in _bands(ch_height, rows_per_band(ch_width, arr.itemsize, max_bytes=max_bytes)):
            content = {
                "type": "band",
                "xfer": xfer,
                "key": "channel",
                "channel": idx,
                "row0": r0,
                "row1": r1,
                "dtype": dtype,
            }
            out.append((content, [arr[r0:r1].data]))
    out.append(({"type": "frame-end", "xfer": xfer}, []))
    return out


def patch_messages(
    *,
    population: str,
    frame: int,
    bbox: Sequence[int],
    values: npt.NDArray[Any],
    max_bytes: int = CHUNK_BYTES,
) -> list[Message]:
    """Region patches of labels for the browser, one self-contained message per row band.

    Examples
    --------
    >>> msgs = patch_messages(population="cells", frame=0, bbox=(0, 2, 0, 3),
    ...                       values=np.ones((2, 3), np.uint32))
    >>> msgs[0][0]["bbox"], msgs[0][0]["dtype"], msgs[0][1][0].nbytes
    ([0, 2, 0, 3], 'uint8', 6)
    """
    r0, r1, c0, c1 = (int(v) for v in bbox)
    narrow, dtype = narrow_labels(values)
    out: list[Message] = []
    for a, b in _bands(r1 - r0, rows_per_band(c1 - c0, narrow.itemsize, max_bytes=max_bytes)):
        content = {
            "type": "patch",
            "population": population,
            "frame": frame,
            "bbox": [r0 + a, r0 + b, c0, c1],
            "dtype": dtype,
        }
        out.append((content, [narrow[a:b].data]))
    return out


@dataclass
class _PendingStroke:
    population: str
    frame: int
    bbox: tuple[int, int, int, int]
    tool: str
    values: npt.NDArray[np.uint32]
    mask: npt.NDArray[np.bool_]
    missing: set[int] = field(default_factory=set)


@dataclass(frozen=True)
class StrokePatch:
    """A browser edit, reassembled: what `Session.apply_patch` needs."""

    stroke: int
    population: str
    frame: int
    bbox: tuple[int, int, int, int]
    tool: str
    values: npt.NDArray[np.uint32]
    mask: npt.NDArray[np.bool_]


def _buffer_array(buffer: Any, dtype: str, count: int, what: str) -> npt.NDArray[Any]:
    arr = np.frombuffer(buffer, dtype=dtype)
    if arr.size != count:
        raise ValueError(f"{what}: expected {count} elements, got {arr.size}")
    return arr


class PatchAssembler:
    """Collects the parts of browser patches (one stroke may arrive as several row bands)."""

    def __init__(self) -> None:
        self._pending: dict[int, _PendingStroke] = {}

    def add(self, content: dict[str, Any], buffers: Sequence[Any]) -> StrokePatch | None:
        """Add one ``patch`` message; returns the whole stroke once its last part arrived."""
        stroke = int(content["stroke"])
        r0, r1, c0, c1 = (int(v) for v in content["bbox"])
        if r1 <= r0 or c1 <= c0:
            raise ValueError(f"patch bbox {content['bbox']!r} is empty")
        a, b = (int(v) for v in content.get("rows", (r0, r1)))
        if not r0 <= a < b <= r1:
            raise ValueError(f"patch rows {[a, b]} lie outside its bbox rows {[r0, r1]}")
        if len(buffers) != 2:
            raise ValueError(f"a patch carries 2 buffers (values, mask); got {len(buffers)}")
        width = c1 - c0
        n = (b - a) * width
        values = _buffer_array(buffers[0], "<u4", n, "patch values")
        mask = _buffer_array(buffers[1], "u1", n, "patch mask")
        parts = int(content.get("parts", 1))
        pending = self._pending.get(stroke)
        if pending is None:
            pending = _PendingStroke(
                population=str(content["population"]),
                frame=int(content["frame"]),
                bbox=(r0, r1, c0, c1),
                tool=str(content.get("tool", "brush")),
                values=np.zeros((r1 - r0, width), np.uint32),
                mask=np.zeros((r1 - r0, width), bool),
                missing=set(range(parts)),
            )
            self._pending[stroke] = pending
        pending.values[a - r0 : b - r0] = values.reshape(b - a, width)
        pending.mask[a - r0 : b - r0] = mask.reshape(b - a, width) != 0
        pending.missing.discard(int(content.get("part", 0)))
        if pending.missing:
            return None
        del self._pending[stroke]
        return StrokePatch(
            stroke=stroke,
            population=pending.population,
            frame=pending.frame,
            bbox=pending.bbox,
            tool=pending.tool,
            values=pending.values,
            mask=pending.mask,
        )
