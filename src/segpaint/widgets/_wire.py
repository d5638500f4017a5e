"""Binary messages between the Annotator and its browser front-end: this module is the Python
codec, ``js/codec.js`` the browser's; each holds both directions.

Arrays travel as raw little-endian buffers with a small JSON header: never base64, JSON lists or
JPEG. Anything larger than :data:`CHUNK_BYTES` is split into row bands (or runs), so no message
carries more than a few MB. Message types (``type``), by direction:

kernel -> browser
    ``frame`` (header), ``band`` (rows of one array), ``frame-end``; ``labels-patch`` (labels of a
    box changed in Python); ``ack`` (answer to a ``stroke``); ``prefetch-drop`` (the labels of a
    frame the browser read ahead changed: forget its picture).
browser -> kernel
    ``stroke`` (one brush stroke, erase or fill: values + mask over its box); ``request-frame``,
    ``request-full``, ``more`` (the pulled full-resolution transfer); ``prefetch`` (read ahead:
    send a neighbour's picture), ``prefetch-hit`` (the next frame change shows a picture read
    ahead: send no preview); ``undo``, ``redo``, ``roi-add``, ``roi-change``, ``roi-remove``,
    ``export``, ``save``, ``presegment``.

Read-ahead: while the browser shows frame ``t`` it asks (``prefetch``, with ``from: t``) for the
pictures of its neighbours (at most :data:`PREFETCH_MAX` frames each side); the kernel answers
with the transfer a frame change to that frame would send (preview channels at the preview step
and contrast now on screen, and the labels), its header tagged ``prefetch: true``, which the
browser stores instead of installing. A frame change onto a stored picture installs it at once
and says so first (``prefetch-hit`` with the transfer's ``xfer``, before the trait update on the
same comm), so the kernel sends no preview; the lossless channels are pulled as after any preview.
When the labels of a frame sent ahead change (any edit, undo, redo, pre-segmentation), the kernel
sends ``prefetch-drop`` for it (after the stale transfer: the comm is ordered).

The level of detail a transfer's channels are decimated by is its *preview step* everywhere: the
header field ``preview_step``, the browser's ``_preview_step`` trait, ``previewStep`` in JS.

A preview (step > 1) is what the screen shows first; its channels may travel *quantized*: 8 bits
per sample under the channel's contrast limits at send time (header ``quant: [lo, hi]``; sample
``k`` stands for ``lo + k * (hi - lo) / 255``, see :func:`quantize_channel`), with the channel's
true ``range: [min, max]``. The lossless full-resolution channels are pulled after it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from segpaint.ops import MORPH_OPS

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


def quantize_channel(image: npt.NDArray[Any], lo: float, hi: float) -> npt.NDArray[np.uint8]:
    """Map a channel to 8 bits under contrast limits: ``round((v - lo) * 255 / (hi - lo))``,
    clipped to 0..255 (NaN to 0). The browser reads sample ``k`` as ``lo + k * (hi - lo) / 255``.

    uint16 goes through a 65,536-entry table (one lookup per pixel, no float image).

    Examples
    --------
    >>> quantize_channel(np.array([[0, 100, 150, 300]], np.uint16), 100.0, 200.0).tolist()
    [[0, 0, 127, 255]]
    """
    if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo):
        raise ValueError(f"contrast limits must be finite with lo < hi; got lo={lo!r}, hi={hi!r}")
    arr = np.asarray(image)
    factor = 255.0 / (hi - lo)
    if arr.dtype.kind in "ub" and arr.dtype.itemsize <= 2:
        values = np.arange(1 << (8 * arr.dtype.itemsize), dtype=np.float64)
        table = np.clip(np.rint((values - lo) * factor), 0, 255).astype(np.uint8)
        looked_up: npt.NDArray[np.uint8] = table[arr]
        return looked_up
    scaled = (arr.astype(np.float32) - np.float32(lo)) * np.float32(factor)
    out = np.clip(np.rint(scaled), 0, 255)
    result: npt.NDArray[np.uint8] = np.nan_to_num(out, nan=0.0).astype(np.uint8)
    return result


def _finite_range(arr: npt.NDArray[Any]) -> list[float]:
    """[min, max] of the finite values of ``arr`` ([0, 1] when there are none)."""
    if arr.dtype.kind == "f":
        arr = arr[np.isfinite(arr)]
    if not arr.size:
        return [0.0, 1.0]
    return [float(arr.min()), float(arr.max())]


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
    # The narrowed raw array is at least one byte per pixel: RLE wins without computing it.
    rle = values.size * 8 * 2 <= arr.size
    narrow, dtype = (arr, "") if rle else narrow_labels(arr)
    out: list[Message] = []
    if rle or values.size * 8 * 2 <= narrow.nbytes:
        step = max(1, max_bytes // 8)
        starts = np.concatenate([np.zeros(1, np.int64), np.cumsum(lengths, dtype=np.int64)])
        # Values and lengths as narrow as they fit (a dense 2048² frame: 4 bytes per run, not 8).
        values, values_dtype = narrow_labels(values)
        lengths, lengths_dtype = narrow_labels(lengths)
        for a in range(0, values.size, step):
            b = min(values.size, a + step)
            content = {
                "key": "labels",
                "encoding": "rle",
                "start": int(starts[a]),
                "runs": b - a,
                "values_dtype": values_dtype,
                "lengths_dtype": lengths_dtype,
            }
            out.append((content, [values[a:b].data, lengths[a:b].data]))
        return out
    height, width = narrow.shape
    for r0, r1 in _bands(height, rows_per_band(width, narrow.itemsize, max_bytes=max_bytes)):
        content = {"key": "labels", "encoding": "raw", "row0": r0, "row1": r1, "dtype": dtype}
        out.append((content, [narrow[r0:r1].data]))
    return out


#: Preview steps are multiples of this (exact binary fractions: Python and JS agree on every
#: ``ceil(height / step)``); a step below :data:`PREVIEW_STEP_MIN` means full resolution.
PREVIEW_STEP_QUANTUM = 0.125
PREVIEW_STEP_MIN = 1.25
PREVIEW_STEP_MAX = 16.0


def snap_preview_step(step: Any) -> float:
    """A preview step the wire accepts: ``step`` rounded down to a multiple of 1/8, clamped to
    [1, 16]; below 1.25 (or not a finite number) it is 1, full resolution.

    The browser asks for the reciprocal of its zoom (display pixels per image pixel), so the
    preview has what the screen shows and no more: 565² for a 2048² frame in 550 px, where a
    whole-number step (3) sends 683².

    Examples
    --------
    >>> snap_preview_step(3.72), snap_preview_step(1.2), snap_preview_step(99), snap_preview_step(3)
    (3.625, 1.0, 16.0, 3.0)
    """
    try:
        value = float(step)
    except (TypeError, ValueError):
        return 1.0
    if not math.isfinite(value) or value < PREVIEW_STEP_MIN:
        return 1.0
    return math.floor(min(value, PREVIEW_STEP_MAX) / PREVIEW_STEP_QUANTUM) * PREVIEW_STEP_QUANTUM


def preview_shape(height: int, width: int, preview_step: float) -> tuple[int, int]:
    """Shape of a frame decimated by ``preview_step`` (see :func:`preview_index`).

    Examples
    --------
    >>> preview_shape(2048, 2000, 3)
    (683, 667)
    >>> preview_shape(2048, 2048, 3.625)
    (565, 565)
    """
    return math.ceil(height / preview_step), math.ceil(width / preview_step)


def preview_index(n: int, preview_step: float) -> npt.NDArray[np.intp]:
    """The rows (or columns) of ``n`` a preview keeps: preview pixel ``j`` stands for image
    pixels ``[j * step, (j + 1) * step)`` (the renderer maps pixel ``c`` to ``floor(c / step)``)
    and holds the first of them, ``ceil(j * step)``; every ``step``-th for a whole-number step.

    Examples
    --------
    >>> preview_index(10, 2.5).tolist(), preview_index(7, 3).tolist()
    ([0, 3, 5, 8], [0, 3, 6])
    """
    count = math.ceil(n / preview_step)
    index: npt.NDArray[np.intp] = np.ceil(np.arange(count) * preview_step).astype(np.intp)
    return np.minimum(index, n - 1, out=index)


def decimate(image: npt.NDArray[Any], preview_step: float) -> npt.NDArray[Any]:
    """A 2-D image decimated by ``preview_step`` (nearest sampling, :func:`preview_index`): a
    view for a whole-number step, a small copy otherwise.

    Examples
    --------
    >>> decimate(np.arange(100).reshape(10, 10), 2.5)[1].tolist()
    [30, 33, 35, 38]
    """
    if preview_step == int(preview_step):
        step = int(preview_step)
        return image[::step, ::step]
    rows = preview_index(image.shape[0], preview_step)
    cols = preview_index(image.shape[1], preview_step)
    return image[rows[:, None], cols[None, :]]


PREFETCH_MAX = 2
"""Most frames read ahead on each side of the current one (the ``prefetch`` trait's maximum)."""


def prefetch_drop_message(*, frame: int, population: str, position: str | None = None) -> Message:
    """The ``prefetch-drop`` message: the browser forgets frame ``frame``'s picture read ahead.

    Examples
    --------
    >>> prefetch_drop_message(frame=3, population="cells")
    ({'type': 'prefetch-drop', 'frame': 3, 'population': 'cells'}, [])
    """
    content: dict[str, Any] = {"type": "prefetch-drop", "frame": frame, "population": population}
    if position is not None:
        content["position"] = position
    return content, []


def frame_messages(
    *,
    xfer: int,
    frame: int,
    population: str,
    shape: tuple[int, int],
    channels: Sequence[tuple[int, npt.NDArray[Any]]],
    labels: npt.NDArray[Any] | None,
    preview_step: float = 1,
    partial: bool = False,
    max_bytes: int = CHUNK_BYTES,
    quantize: dict[int, tuple[float, float]] | None = None,
    label_messages: list[Message] | None = None,
) -> list[Message]:
    """All messages of one frame transfer: a header, row bands, an end marker.

    ``channels`` is a list of ``(channel index, 2-D image)``, each already decimated by
    ``preview_step`` (a level of detail matched to the zoom: at 3 a 2048² frame sends 683² per
    channel);
    ``labels`` are always full resolution, or None in a partial transfer (e.g. a channel that was
    just made visible, or the full-resolution channels that follow a preview).
    ``quantize`` maps channel indices to contrast limits ``(lo, hi)``: those channels travel as
    8 bits per sample (:func:`quantize_channel`; a uint8 channel is sent as it is), only in a
    preview (``preview_step > 1``): the lossless channels follow it.
    ``label_messages``: :func:`label_bands` of ``labels``, already computed (the caller knows
    they have not changed since), so they are not encoded again.
    """
    height, width = shape
    want = preview_shape(height, width, preview_step)
    for idx, img in channels:
        if img.shape != want:
            raise ValueError(
                f"channel {idx} has shape {img.shape}; a {height}x{width} frame at preview_step "
                f"{preview_step} "
                f"needs {want}"
            )
    if labels is not None and labels.shape != (height, width):
        raise ValueError(f"labels have shape {labels.shape}; the frame is {height}x{width}")
    if quantize and preview_step <= 1:
        raise ValueError("quantize applies to previews only (preview_step > 1); got preview_step=1")
    wired = [(idx, *wire_image(img)) for idx, img in channels]
    described: list[dict[str, Any]] = []
    for k, (idx, arr, dtype) in enumerate(wired):
        info: dict[str, Any] = {"index": idx, "dtype": dtype}
        limits = (quantize or {}).get(idx)
        if limits is not None and dtype != "uint8":
            lo, hi = float(limits[0]), float(limits[1])
            info.update(source_dtype=dtype, quant=[lo, hi], range=_finite_range(arr))
            wired[k] = (idx, quantize_channel(arr, lo, hi), "uint8")
            info["dtype"] = "uint8"
        described.append(info)
    header = {
        "type": "frame",
        "xfer": xfer,
        "frame": frame,
        "population": population,
        "height": height,
        "width": width,
        "preview_step": preview_step,
        "channels": described,
        "labels": labels is not None,
        "max_label": 0,
        "partial": partial,
    }
    out: list[Message] = [(header, [])]
    # Labels first: they are small (run-length encoded) and are what editing needs.
    if labels is not None:
        bands = (
            label_bands(labels, max_bytes=max_bytes) if label_messages is None else label_messages
        )
        # The largest label, from the runs' values when RLE (a fraction of the pixels).
        if bands and bands[0][0]["encoding"] == "rle":
            header["max_label"] = max((int(np.max(b[0])) for _, b in bands if len(b[0])), default=0)
        elif labels.size:
            header["max_label"] = int(labels.max())
        for content, buffers in bands:
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


def labels_patch_messages(
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
    >>> msgs = labels_patch_messages(population="cells", frame=0, bbox=(0, 2, 0, 3),
    ...                       values=np.ones((2, 3), np.uint32))
    >>> msgs[0][0]["bbox"], msgs[0][0]["dtype"], msgs[0][1][0].nbytes
    ([0, 2, 0, 3], 'uint8', 6)
    """
    r0, r1, c0, c1 = (int(v) for v in bbox)
    narrow, dtype = narrow_labels(values)
    out: list[Message] = []
    for a, b in _bands(r1 - r0, rows_per_band(c1 - c0, narrow.itemsize, max_bytes=max_bytes)):
        content = {
            "type": "labels-patch",
            "population": population,
            "frame": frame,
            "bbox": [r0 + a, r0 + b, c0, c1],
            "dtype": dtype,
        }
        out.append((content, [narrow[a:b].data]))
    return out


@dataclass
class DecodedFrame:
    """A frame transfer decoded by :func:`decode_frame` (what ``FrameAssembler`` in js/frame_assembler.js builds)."""

    header: dict[str, Any]
    channels: dict[int, npt.NDArray[Any]]
    labels: npt.NDArray[np.uint32] | None


def decode_frame(messages: Sequence[Message], xfer: int | None = None) -> DecodedFrame:
    """Reassemble one frame transfer (the first one, or ``xfer``) from the messages sent.

    The mirror of ``FrameAssembler`` in js/frame_assembler.js, for scripts and tests that act as the browser.

    Examples
    --------
    >>> labels = np.array([[0, 0, 5], [5, 5, 0]], np.uint32)
    >>> msgs = frame_messages(xfer=1, frame=0, population="cells", shape=(2, 3),
    ...                       channels=[(0, np.ones((2, 3), np.uint16))], labels=labels)
    >>> decode_frame(msgs).labels.tolist()
    [[0, 0, 5], [5, 5, 0]]
    """
    header = next(
        (c for c, _ in messages if c.get("type") == "frame" and xfer in (None, c["xfer"])), None
    )
    if header is None:
        raise ValueError(f"no frame header{'' if xfer is None else f' for xfer {xfer}'}")
    h, w = header["height"], header["width"]
    ch_h, ch_w = preview_shape(h, w, header["preview_step"])
    dtypes = {ch["index"]: ch["dtype"] for ch in header["channels"]}
    chans = {c: np.zeros((ch_h, ch_w), dt) for c, dt in dtypes.items()}
    labels = np.zeros(h * w, np.uint32) if header["labels"] else None
    ended = False
    for content, buffers in messages:
        if content.get("xfer") != header["xfer"]:
            continue
        if content["type"] == "frame-end":
            ended = True
        if content["type"] != "band":
            continue
        if content["key"] == "channel":
            c = content["channel"]
            band = np.frombuffer(buffers[0], content["dtype"]).reshape(-1, ch_w)
            chans[c][content["row0"] : content["row1"]] = band
        elif labels is None:
            raise ValueError("a labels band in a transfer whose header has labels=False")
        elif content["encoding"] == "rle":
            values = np.frombuffer(buffers[0], content.get("values_dtype", "uint32"))
            lengths = np.frombuffer(buffers[1], content.get("lengths_dtype", "uint32")).astype(
                np.int64
            )
            start = content["start"]
            labels[start : start + int(lengths.sum())] = np.repeat(values, lengths)
        else:
            rows = np.frombuffer(buffers[0], content["dtype"]).reshape(-1, w)
            labels.reshape(h, w)[content["row0"] : content["row1"]] = rows
    if not ended:
        raise ValueError(f"transfer {header['xfer']} has no frame-end")
    return DecodedFrame(header, chans, None if labels is None else labels.reshape(h, w))


def apply_labels_patch(labels: npt.NDArray[Any], content: dict[str, Any], buffer: Any) -> None:
    """Write one ``labels-patch`` message into a frame's labels (as codec.js ``writeLabelBox``)."""
    r0, r1, c0, c1 = content["bbox"]
    values = np.frombuffer(buffer, content["dtype"]).reshape(r1 - r0, c1 - c0)
    labels[r0:r1, c0:c1] = values


def stroke_messages(
    *,
    stroke: int,
    population: str,
    frame: int,
    bbox: Sequence[int],
    mask: npt.NDArray[Any],
    values: npt.NDArray[Any] | None = None,
    label: int | None = None,
    max_bytes: int = CHUNK_BYTES,
) -> list[Message]:
    """The ``stroke`` messages the browser sends for one edit (as codec.js ``encodeStroke``).

    With ``label``: a ``"mask"`` stroke, one label under a bit-packed ``mask`` (what the brush,
    eraser and fill send: 1 bit per pixel of the box). With ``values`` (uint32 over ``bbox``): a
    ``"values"`` stroke, values + a byte mask. Parts are row bands of at most ``max_bytes``.

    Examples
    --------
    >>> msgs = stroke_messages(stroke=1, population="cells", frame=0, bbox=(2, 4, 0, 3),
    ...                        values=np.full((2, 3), 7), mask=np.ones((2, 3), bool))
    >>> msgs[0][0]["type"], msgs[0][0]["parts"], [b.nbytes for b in msgs[0][1]]
    ('stroke', 1, [24, 6])
    >>> msgs = stroke_messages(stroke=2, population="cells", frame=0, bbox=(0, 4, 0, 40),
    ...                        label=7, mask=np.ones((4, 40), bool))
    >>> msgs[0][0]["encoding"], msgs[0][0]["label"], [b.nbytes for b in msgs[0][1]]
    ('mask', 7, [20])
    """
    if (values is None) == (label is None):
        raise ValueError("pass values= (a values stroke) or label= (a mask stroke), not both")
    r0, r1, c0, c1 = (int(v) for v in bbox)
    width = c1 - c0
    m = np.ascontiguousarray(mask, "u1")
    vals = None if values is None else np.ascontiguousarray(values, "<u4")
    per = (
        max(1, (max_bytes * 8) // max(1, width))
        if vals is None
        else rows_per_band(width, 5, max_bytes=max_bytes)
    )
    bands = list(_bands(r1 - r0, per))
    out: list[Message] = []
    for k, (a, b) in enumerate(bands):
        content: dict[str, Any] = {
            "type": "stroke",
            "stroke": stroke,
            "part": k,
            "parts": len(bands),
            "population": population,
            "frame": frame,
            "bbox": [r0, r1, c0, c1],
            "rows": [r0 + a, r0 + b],
        }
        if vals is None:
            content.update(encoding="mask", label=label)
            out.append((content, [np.packbits(m[a:b].ravel(), bitorder="little").data]))
        else:
            content["encoding"] = "values"
            out.append((content, [vals[a:b].data, m[a:b].data]))
    return out


def ack_message(
    stroke: int | None, *, applied: bool, ms: float | None = None, message: str | None = None
) -> Message:
    """The answer to a ``stroke``: applied or not (then ``message`` says why)."""
    content: dict[str, Any] = {"type": "ack", "stroke": stroke, "applied": applied}
    if ms is not None:
        content["ms"] = ms
    if message is not None:
        content["message"] = message
    return content, []


LABEL_MAX = 2**32 - 1
"""Largest label value (labels are uint32)."""
MAX_STROKE_ID = 2**53
"""Largest stroke id the browser may use (integers stay exact in a JavaScript number)."""
MAX_PENDING_STROKES = 4
"""Strokes whose parts may be arriving at once; an older unfinished one is dropped."""

_MISSING = object()


class WireError(ValueError):
    """A message from the browser that does not follow the protocol; the text says what and why."""


def wire_int(
    content: dict[str, Any], key: str, *, low: int, high: int, default: Any = _MISSING
) -> int:
    """Read an integer field of a browser message, from ``low`` to ``high`` inclusive.

    JSON numbers that are whole floats (``3.0``) are accepted; booleans, strings, NaN and
    infinities are not.

    Examples
    --------
    >>> wire_int({"frame": 2.0}, "frame", low=0, high=4)
    2
    >>> wire_int({"frame": float("inf")}, "frame", low=0, high=4)
    Traceback (most recent call last):
    ...
    segpaint.widgets._wire.WireError: frame must be an integer from 0 to 4; got inf
    """
    value = content.get(key, default)
    if type(value) is int and low <= value <= high:  # what JSON gives: the quick way
        return value
    if value is _MISSING:
        raise WireError(f"{key} is missing (an integer from {low} to {high})")
    ok = isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)
    if (
        isinstance(value, float | np.floating)
        and math.isfinite(value)
        and float(value).is_integer()
    ):
        ok = True
    if not ok or not low <= int(value) <= high:
        raise WireError(f"{key} must be an integer from {low} to {high}; got {value!r}")
    return int(value)


def wire_bbox(
    content: dict[str, Any], key: str, shape: tuple[int, int]
) -> tuple[int, int, int, int]:
    """Read a half-open ``[row0, row1, col0, col1]`` box that lies inside a frame of ``shape``.

    Examples
    --------
    >>> wire_bbox({"bbox": [0, 2, 1, 3]}, "bbox", (4, 4))
    (0, 2, 1, 3)
    """
    box = content.get(key)
    h, w = shape
    if not isinstance(box, list | tuple) or len(box) != 4:
        raise WireError(f"{key} must be [row0, row1, col0, col1]; got {box!r}")
    names = [f"{key} {name}" for name in ("row0", "row1", "col0", "col1")]
    fields = dict(zip(names, box, strict=True))
    r0 = wire_int(fields, names[0], low=0, high=h - 1)
    r1 = wire_int(fields, names[1], low=r0 + 1, high=h)
    c0 = wire_int(fields, names[2], low=0, high=w - 1)
    c1 = wire_int(fields, names[3], low=c0 + 1, high=w)
    return r0, r1, c0, c1


def wire_choice(
    content: dict[str, Any], key: str, choices: Sequence[str], default: Any = _MISSING
) -> str:
    """Read a string field that must be one of ``choices``.

    Examples
    --------
    >>> wire_choice({"scope": "all"}, "scope", ("frame", "all"))
    'all'
    """
    value = content.get(key, default)
    if not isinstance(value, str) or value not in choices:
        raise WireError(f"{key} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value


def clipped_bbox(box: Any, shape: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """A box clipped to the frame, or None when it is not four finite numbers or is empty there.

    Used to put the truth back on the canvas after a refused stroke whose box overflows.

    Examples
    --------
    >>> clipped_bbox([60, 70, -3, 2], (64, 64))
    (60, 64, 0, 2)
    >>> clipped_bbox([0, float("nan"), 0, 2], (64, 64)) is None
    True
    """
    if not isinstance(box, list | tuple) or len(box) != 4:
        return None
    if not all(
        isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in box
    ):
        return None
    h, w = shape
    r0, r1 = max(0, min(h, int(box[0]))), max(0, min(h, int(box[1])))
    c0, c1 = max(0, min(w, int(box[2]))), max(0, min(w, int(box[3])))
    return (r0, r1, c0, c1) if r0 < r1 and c0 < c1 else None


@dataclass
class _PendingStroke:
    population: str
    frame: int
    bbox: tuple[int, int, int, int]
    parts: int
    label: int | None
    values: npt.NDArray[np.uint32] | None
    mask: npt.NDArray[np.bool_]
    missing: set[int] = field(default_factory=set)


@dataclass(frozen=True)
class Stroke:
    """A browser edit, reassembled: what `Session.apply_patch` needs.

    ``values`` is one label for the whole mask (a ``"mask"`` stroke: brush, eraser, fill) or an
    array over the box (a ``"values"`` stroke).
    """

    stroke: int
    population: str
    frame: int
    bbox: tuple[int, int, int, int]
    values: npt.NDArray[np.uint32] | int
    mask: npt.NDArray[np.bool_]


def _buffer_array(buffer: Any, dtype: str, count: int, what: str) -> npt.NDArray[Any]:
    try:
        size = memoryview(buffer).nbytes
    except TypeError as err:
        raise WireError(f"{what}: expected a binary buffer; got {type(buffer).__name__}") from err
    itemsize = np.dtype(dtype).itemsize
    if size != count * itemsize:
        raise WireError(
            f"{what}: expected {count} elements ({count * itemsize} bytes), got {size} bytes"
        )
    return np.frombuffer(buffer, dtype=dtype)


class StrokeAssembler:
    """Collects the parts of browser strokes (one stroke may arrive as several row bands).

    Every field is checked before anything is allocated: a stroke costs at most its box, which
    lies inside the frame, and at most :data:`MAX_PENDING_STROKES` strokes wait for parts.
    """

    def __init__(self) -> None:
        self._pending: dict[int, _PendingStroke] = {}

    def add(
        self,
        content: dict[str, Any],
        buffers: Sequence[Any],
        *,
        shape: tuple[int, int],
        n_frames: int,
        populations: Sequence[str],
    ) -> Stroke | None:
        """Add one ``stroke`` message; returns the whole stroke once its last part arrived.

        Raises
        ------
        WireError
            A field is missing, out of range or inconsistent with the stroke's earlier parts, or
            a buffer does not match the declared box; the stroke is dropped.
        """
        stroke = wire_int(content, "stroke", low=0, high=MAX_STROKE_ID)
        try:
            return self._add(
                stroke, content, buffers, shape=shape, n_frames=n_frames, populations=populations
            )
        except WireError:
            self._pending.pop(stroke, None)
            raise

    def _add(
        self,
        stroke: int,
        content: dict[str, Any],
        buffers: Sequence[Any],
        *,
        shape: tuple[int, int],
        n_frames: int,
        populations: Sequence[str],
    ) -> Stroke | None:
        population = wire_choice(content, "population", list(populations))
        frame = wire_int(content, "frame", low=0, high=n_frames - 1)
        r0, r1, c0, c1 = wire_bbox(content, "bbox", shape)
        rows = content.get("rows", [r0, r1])
        if not isinstance(rows, list | tuple) or len(rows) != 2:
            raise WireError(f"rows must be [first, stop] inside the box rows; got {rows!r}")
        a = wire_int({"rows[0]": rows[0]}, "rows[0]", low=r0, high=r1 - 1)
        b = wire_int({"rows[1]": rows[1]}, "rows[1]", low=a + 1, high=r1)
        # Each part carries at least one row: more parts than rows is a forged message.
        parts = wire_int(content, "parts", low=1, high=r1 - r0, default=1)
        part = wire_int(content, "part", low=0, high=parts - 1, default=0)
        encoding = wire_choice(content, "encoding", ("mask", "values"), default="values")
        width = c1 - c0
        n = (b - a) * width
        label: int | None = None
        values: npt.NDArray[Any] | None = None
        if encoding == "mask":
            # One label under a bit-packed mask (LSB first, row-major): 1 bit per pixel.
            label = wire_int(content, "label", low=0, high=LABEL_MAX)
            if len(buffers) != 1:
                raise WireError(f"a mask stroke carries 1 buffer (the mask); got {len(buffers)}")
            bits = _buffer_array(buffers[0], "u1", -(-n // 8), "stroke mask bytes")
            mask = np.unpackbits(bits, count=n, bitorder="little")
        else:
            if len(buffers) != 2:
                raise WireError(f"a stroke carries 2 buffers (values, mask); got {len(buffers)}")
            values = _buffer_array(buffers[0], "<u4", n, "stroke values")
            mask = _buffer_array(buffers[1], "u1", n, "stroke mask")
        pending = self._pending.get(stroke)
        if pending is None and parts == 1 and (a, b) == (r0, r1):
            # The whole stroke in one message (nearly every stroke): no assembly buffers.
            whole = mask.reshape(r1 - r0, width)
            one: npt.NDArray[np.uint32] | int
            flags: npt.NDArray[np.bool_]
            if label is not None:  # a mask stroke: 0/1 bytes, viewed as bool
                one, flags = label, whole.view(np.bool_)
            else:
                assert values is not None  # a values stroke: both buffers were checked above
                one, flags = values.reshape(r1 - r0, width), whole != 0
            return Stroke(
                stroke=stroke,
                population=population,
                frame=frame,
                bbox=(r0, r1, c0, c1),
                values=one,
                mask=flags,
            )
        if pending is not None and (
            pending.population,
            pending.frame,
            pending.bbox,
            pending.parts,
            pending.label,
        ) != (population, frame, (r0, r1, c0, c1), parts, label):
            raise WireError(f"part {part} of stroke {stroke} disagrees with its earlier parts")
        if pending is None:
            while len(self._pending) >= MAX_PENDING_STROKES:
                del self._pending[next(iter(self._pending))]
            pending = _PendingStroke(
                population=population,
                frame=frame,
                bbox=(r0, r1, c0, c1),
                parts=parts,
                label=label,
                values=None if label is not None else np.zeros((r1 - r0, width), np.uint32),
                mask=np.zeros((r1 - r0, width), bool),
                missing=set(range(parts)),
            )
            self._pending[stroke] = pending
        if pending.values is not None and values is not None:
            pending.values[a - r0 : b - r0] = values.reshape(b - a, width)
        pending.mask[a - r0 : b - r0] = mask.reshape(b - a, width) != 0
        pending.missing.discard(part)
        if pending.missing:
            return None
        del self._pending[stroke]
        values_out: npt.NDArray[np.uint32] | int
        if pending.values is not None:
            values_out = pending.values
        else:
            assert pending.label is not None  # a mask stroke: its label was checked above
            values_out = pending.label
        return Stroke(
            stroke=stroke,
            population=pending.population,
            frame=pending.frame,
            bbox=pending.bbox,
            values=values_out,
            mask=pending.mask,
        )


# ----------------------------------------------------------------- assisted tools (issue 11)
ASSIST_TOOLS = (
    "segment_at",
    "merge",
    "split",
    "cut",
    "polygon",
    "delete_in_box",
    "morph",
    "copy_labels",
    "refine",
)
"""Session tools an ``assist`` message may ask for (the wand travels as a stroke)."""
MAX_ASSIST_POINTS = 4096
"""Most points one ``assist`` message may carry (polygon vertices, merge clicks, a cut line)."""


@dataclass
class AssistRequest:
    """A validated ``assist`` message: which Session tool, where, on what."""

    tool: str
    population: str
    frame: int
    points: list[tuple[int, int]]
    """The clicks, in order: segment_at one, merge two or more, split the drag's two ends,
    polygon its vertices (three or more), delete_in_box the box's first corner."""
    bbox: tuple[int, int, int, int] | None = None
    """delete_in_box: the drawn box."""
    label: int | None = None
    """polygon: the label to fill with (0 deletes); segment_at: the cell to re-segment (None:
    the cell under the click, or a new one on background); morph, refine: the cell (0: every
    cell)."""
    positive: list[tuple[int, int]] = field(default_factory=list)
    """segment_at: refinement clicks on the cell (more of it)."""
    negative: list[tuple[int, int]] = field(default_factory=list)
    """segment_at: refinement clicks off the cell (not it)."""
    op: str = ""
    """morph: one of `segpaint.ops.MORPH_OPS`."""
    min_size: int = 0
    """morph ``remove_specks`` on every cell: cells with fewer pixels are deleted (0: none)."""
    max_size: int = 0
    """morph ``remove_specks`` on every cell: cells with more pixels are deleted (0: none)."""
    source_frame: int | None = None
    """copy_labels: the frame copied from."""
    mode: str = "fill-empty"
    """copy_labels: ``"fill-empty"`` or ``"replace"``."""


def wire_points(
    content: dict[str, Any], key: str, shape: tuple[int, int], *, low: int, high: int
) -> list[tuple[int, int]]:
    """Read a list of ``[row, col]`` pixels inside a frame of ``shape`` (``low`` to ``high`` of them).

    Examples
    --------
    >>> wire_points({"points": [[1, 2], [3.0, 0]]}, "points", (4, 4), low=1, high=5)
    [(1, 2), (3, 0)]
    """
    points = content.get(key)
    if not isinstance(points, list | tuple) or not low <= len(points) <= high:
        count = len(points) if isinstance(points, list | tuple) else points
        raise WireError(f"{key} must be a list of {low} to {high} [row, col] pairs; got {count!r}")
    out = []
    for i, p in enumerate(points):
        if not isinstance(p, list | tuple) or len(p) != 2:
            raise WireError(f"{key}[{i}] must be a [row, col] pair; got {p!r}")
        fields = {f"{key}[{i}] row": p[0], f"{key}[{i}] col": p[1]}
        r = wire_int(fields, f"{key}[{i}] row", low=0, high=shape[0] - 1)
        c = wire_int(fields, f"{key}[{i}] col", low=0, high=shape[1] - 1)
        out.append((r, c))
    return out


def assist_request(
    content: dict[str, Any], *, shape: tuple[int, int], n_frames: int, populations: Sequence[str]
) -> AssistRequest:
    """Validate an ``assist`` message (every field, before anything runs).

    ``{type: "assist", tool, population, frame, points: [[row, col], ...]}``, plus ``bbox`` for
    ``delete_in_box``, ``label`` for ``polygon`` and ``morph`` (0: every cell), optional
    ``label``/``positive``/``negative`` for ``segment_at`` (re-segment and refine a cell),
    ``op`` for ``morph`` (and optional ``min_size`` / ``max_size`` for ``remove_specks``), ``source_frame`` and ``mode`` for ``copy_labels``, ``label`` for
    ``refine`` (0: every cell).  ``morph``, ``refine`` and ``copy_labels`` take zero or one point (a point inside the ROI to stay in when edits are
    locked).  Raises `WireError` naming the field.

    Examples
    --------
    >>> msg = {"tool": "segment_at", "population": "cells", "frame": 0, "points": [[3, 4]]}
    >>> assist_request(msg, shape=(8, 8), n_frames=1, populations=["cells"]).points
    [(3, 4)]
    """
    tool = wire_choice(content, "tool", ASSIST_TOOLS)
    population = wire_choice(content, "population", list(populations))
    frame = wire_int(content, "frame", low=0, high=n_frames - 1)
    counts = {
        "segment_at": (1, 1),
        "merge": (2, MAX_ASSIST_POINTS),
        "split": (2, 2),
        "cut": (2, MAX_ASSIST_POINTS),
        "polygon": (3, MAX_ASSIST_POINTS),
        "delete_in_box": (1, 1),
        "morph": (0, 1),
        "copy_labels": (0, 1),
        "refine": (0, 1),
    }
    low, high = counts[tool]
    points = wire_points({"points": [], **content}, "points", shape, low=low, high=high)
    request = AssistRequest(tool, population, frame, points)
    if tool == "delete_in_box":
        request.bbox = wire_bbox(content, "bbox", shape)
    if tool in ("polygon", "morph", "refine"):
        request.label = wire_int(content, "label", low=0, high=LABEL_MAX)
    if tool == "segment_at":
        if content.get("label") is not None:
            request.label = wire_int(content, "label", low=1, high=LABEL_MAX)
        for key in ("positive", "negative"):
            clicks = wire_points({key: [], **content}, key, shape, low=0, high=MAX_ASSIST_POINTS)
            setattr(request, key, clicks)
    if tool == "morph":
        request.op = wire_choice(content, "op", MORPH_OPS)
        if request.op == "remove_specks":
            request.min_size = wire_int(
                content, "min_size", low=0, high=shape[0] * shape[1], default=0
            )
            request.max_size = wire_int(
                content, "max_size", low=0, high=shape[0] * shape[1], default=0
            )
    if tool == "copy_labels":
        request.source_frame = wire_int(content, "source_frame", low=0, high=n_frames - 1)
        request.mode = wire_choice(content, "mode", ("fill-empty", "replace"), "fill-empty")
    return request
