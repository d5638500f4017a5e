"""Masks the assisted-tool tests compare: a disk, a found (bbox, mask) on the whole frame, IoU,
the NoC protocol's next click; and crowded label images to run the whole-frame tools on."""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

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


def next_click(got: np.ndarray, cell: np.ndarray) -> tuple[tuple[int, int], bool] | None:
    """The NoC protocol's next click: the deepest pixel of the largest error, (point, positive?)
    (positive: a pixel of ``cell`` that ``got`` missed); None when ``got`` is ``cell``."""
    best = None
    for positive, err in ((True, cell & ~got), (False, got & ~cell)):
        if err.any():
            depth = ndi.distance_transform_edt(np.pad(err, 1))[1:-1, 1:-1]
            k = int(np.argmax(depth))
            if best is None or depth.flat[k] > best[0]:
                best = (float(depth.flat[k]), np.unravel_index(k, err.shape), positive)
    if best is None:
        return None
    return (int(best[1][0]), int(best[1][1])), best[2]


def voronoi_cells(
    shape: tuple[int, int],
    n: int,
    seed: int,
    *,
    radii: tuple[int, int],
    holes: float = 0.01,
    specks: int = 0,
) -> np.ndarray:
    """Touching cells 1..n (Voronoi pieces cut to a disk of a radius drawn in ``radii``),
    a fraction ``holes`` of pixels cleared, ``specks`` one-pixel specks of a cell's label
    (cells at the edges too); uint32."""
    rng = np.random.default_rng(seed)
    pts = rng.integers(0, shape, size=(n, 2))
    seeds = np.zeros(shape, np.uint32)
    seeds[pts[:, 0], pts[:, 1]] = np.arange(1, n + 1)
    dist, (ir, ic) = ndi.distance_transform_edt(seeds == 0, return_indices=True)
    lab = seeds[ir, ic]
    lab[dist > rng.integers(radii[0], radii[1], n + 1)[lab]] = 0
    lab[rng.random(shape) < holes] = 0
    if specks:
        lab[rng.integers(0, shape[0], specks), rng.integers(0, shape[1], specks)] = rng.integers(
            1, n, specks
        )
    return lab.astype(np.uint32)


def off_by(lab: np.ndarray, px: int) -> np.ndarray:
    """Every other cell grown by ``px`` (into background), the others shrunk by ``px``: outlines
    a refine should bring back."""
    grown = ndi.grey_dilation(lab * (lab % 2 == 1), size=2 * px + 1)
    out = np.where((lab == 0) & (grown > 0), grown, lab)
    even = (lab % 2 == 0) & (lab > 0)
    shrunk = ndi.binary_erosion(even, iterations=px) | ~even
    return np.where(shrunk, out, 0).astype(lab.dtype)
