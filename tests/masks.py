"""Masks the assisted-tool tests compare: a disk, a found (bbox, mask) on the whole frame, IoU."""

from __future__ import annotations

import numpy as np

from segpaint.ops import bbox_slices


def disk_mask(shape: tuple[int, int], centre: tuple[float, float], radius: float) -> np.ndarray:
    """The pixels of ``shape`` within ``radius`` of ``centre`` (row, col)."""
    rr, cc = np.ogrid[: shape[0], : shape[1]]
    return (rr - centre[0]) ** 2 + (cc - centre[1]) ** 2 <= radius**2


def full(shape: tuple[int, int], found: tuple | None) -> np.ndarray:
    """`region_at`'s ``(bbox, mask)`` placed in a frame of ``shape`` (it must have found one)."""
    assert found is not None, "region_at found nothing"
    out = np.zeros(shape, bool)
    out[bbox_slices(found[0])] = found[1]
    return out


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two non-empty boolean masks."""
    return float((a & b).sum() / (a | b).sum())
