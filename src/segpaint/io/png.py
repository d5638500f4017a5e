"""A small PNG encoder (stdlib zlib) and an outline overlay, for thumbnails and report pictures.

Pictures need no plotting library: an RGB image is encoded losslessly with zlib, and mask
outlines are drawn in colour over a grey channel.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["curve_picture", "encode_png", "grey_rgb", "outline_overlay", "write_png"]


def _chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def encode_png(rgb: npt.ArrayLike) -> bytes:
    """Encode a ``(Y, X, 3)`` or ``(Y, X)`` uint8 image as PNG bytes.

    Examples
    --------
    >>> encode_png(np.zeros((2, 3, 3), np.uint8))[:8]
    b'\\x89PNG\\r\\n\\x1a\\n'
    """
    arr = np.asarray(rgb)
    if arr.dtype != np.uint8:
        raise TypeError(f"rgb: expected uint8, got {arr.dtype}; scale with grey_rgb first")
    if arr.ndim == 2:
        colour = 0
    elif arr.ndim == 3 and arr.shape[2] == 3:
        colour = 2
    else:
        raise ValueError(f"rgb: expected (Y, X) or (Y, X, 3), got shape {arr.shape}")
    rows, cols = arr.shape[:2]
    raw = np.ascontiguousarray(arr).reshape(rows, -1)
    scan = np.concatenate([np.zeros((rows, 1), np.uint8), raw], axis=1).tobytes()
    header = struct.pack(">IIBBBBB", cols, rows, 8, colour, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(scan, 6))
        + _chunk(b"IEND", b"")
    )


def write_png(path: str | Path, rgb: npt.ArrayLike) -> Path:
    """Write ``rgb`` as a PNG file (atomically) and return its path."""
    from segpaint.io.export import commit_files

    data = encode_png(rgb)
    target = Path(path)

    def write(tmp: Path) -> None:
        tmp.write_bytes(data)

    commit_files({target: write}, overwrite=True)
    return target


def grey_rgb(
    channel: npt.ArrayLike, *, low: float = 1.0, high: float = 99.8
) -> npt.NDArray[np.uint8]:
    """A ``(Y, X)`` channel scaled by its percentiles to a grey ``(Y, X, 3)`` uint8 image."""
    data = np.asarray(channel, dtype=np.float64)
    if data.size == 0:
        return np.zeros((*data.shape, 3), np.uint8)
    lo, hi = np.percentile(data, [low, high])
    scaled = np.clip((data - lo) / (hi - lo if hi > lo else 1.0), 0, 1)
    grey = (scaled * 255).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=2)


def outline_overlay(
    rgb: npt.NDArray[np.uint8],
    labels: npt.ArrayLike,
    colour: Sequence[int] = (0, 255, 0),
) -> npt.NDArray[np.uint8]:
    """Draw the outlines of ``labels`` over ``rgb`` (a copy) in ``colour``."""
    from skimage.segmentation import find_boundaries

    out = np.array(rgb, copy=True)
    edges: Any = find_boundaries(np.asarray(labels), mode="inner")  # type: ignore[no-untyped-call]
    out[edges] = np.asarray(colour, dtype=np.uint8)
    return out


def curve_picture(
    series: Mapping[str, Sequence[float]],
    *,
    size: tuple[int, int] = (160, 320),
    colours: Sequence[Sequence[int]] = ((31, 119, 180), (255, 127, 14), (44, 160, 44)),
) -> npt.NDArray[np.uint8]:
    """A plain line chart of one or more series (e.g. training and validation loss).

    All series share the y range (their min..max) and the x axis (their index); the picture
    is white with a grey frame, one colour per series in order.  No text: the caller says
    what the colours are.

    Examples
    --------
    >>> curve_picture({"loss": [1.0, 0.5, 0.25]}).shape
    (160, 320, 3)
    """
    rows, cols = size
    out = np.full((rows, cols, 3), 255, np.uint8)
    out[[0, -1], :] = 160
    out[:, [0, -1]] = 160
    values = [np.asarray(v, dtype=float) for v in series.values()]
    finite = np.concatenate([v[np.isfinite(v)] for v in values]) if values else np.zeros(0)
    if finite.size == 0:
        return out
    low, high = float(finite.min()), float(finite.max())
    span = high - low if high > low else 1.0
    longest = max(len(v) for v in values)
    for colour, v in zip(colours, values, strict=False):
        if len(v) == 0:
            continue
        x = np.arange(len(v)) * (cols - 9) / max(1, longest - 1) + 4
        y = (rows - 5) - (v - low) / span * (rows - 9)
        # dense samples along each segment draw a connected line
        t = np.linspace(0, len(v) - 1, num=max(2, 4 * cols))
        ok = np.isfinite(np.interp(t, np.arange(len(v)), y))
        xs = np.interp(t, np.arange(len(v)), x)[ok].round().astype(int)
        ys = np.interp(t, np.arange(len(v)), y)[ok].round().astype(int)
        for dr in (0, 1):
            out[np.clip(ys + dr, 0, rows - 1), np.clip(xs, 0, cols - 1)] = colour
    return out
