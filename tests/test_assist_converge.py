"""Refinement clicks near the outline that converge (noc5): a positive click adds the thin
error it was placed in, not an arc of the background beside it, so a walk of clicks on an
outline that is off by a pixel does not oscillate."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import ndimage as ndi

from masks import disk_mask, full, iou, next_click
from segpaint.ops import tight_bbox
from segpaint.ops.assist import refine_region

SHAPE = (60, 60)
LIMITS = [(0.0, 120.0)]


def noisy_disc(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A disc of radius 10 at (30, 30), blurred (sigma 1), with noise (sigma 3 of a contrast 80)."""
    cell = disk_mask(SHAPE, (30, 30), 10)
    rng = np.random.default_rng(seed)
    img = ndi.gaussian_filter(np.where(cell, 100.0, 20.0), 1.0) + rng.normal(0, 3.0, SHAPE)
    return cell, img


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_positive_click_adds_the_missed_rim_and_not_the_background_beside_it(seed):
    cell, img = noisy_disc(seed)
    cols = np.arange(SHAPE[1])[None, :]
    start = cell & (cols <= 38)  # the object stops 2 px short of the cell's right edge
    click = (30, 39)
    got = full(SHAPE, refine_region(img, tight_bbox(start), (30, 30), positive=[click],
                                    limits=LIMITS))  # fmt: skip
    assert got[click] and (got >= start).all()
    assert iou(got, cell) >= 0.95
    # the edge's shift spreads along the outline; it may add a pixel of background next to
    # the click, never one farther than 3 px from it (it added 6, up to 7 px away, before)
    rows, cols_fp = np.nonzero(got & ~cell)
    assert (np.hypot(rows - click[0], cols_fp - click[1]) <= 3).all()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_clicks_on_an_outline_one_pixel_off_converge(seed):
    # the object is the cell shifted 1 px right: a 1 px crescent missed on the left and one
    # too many on the right; the NoC walk clicks the missed crescent, where the edge is off by
    # one pixel.  No click may cost more than it fixes (IoU never drops by more than 0.01)
    # and three reach 0.9 (before: 0.876 -> 0.849 on the second click, 0.9 on the eighth:
    # each click's shift added an arc of background beside the 1 px crescent)
    cell, img = noisy_disc(seed)
    start = np.roll(cell, 1, axis=1)
    pos: list[tuple[int, int]] = []
    neg: list[tuple[int, int]] = []
    seen = []
    for _ in range(4):
        got = full(SHAPE, refine_region(img, tight_bbox(start), (30, 30), positive=pos,
                                        negative=neg, limits=LIMITS))  # fmt: skip
        assert all(got[p] for p in pos) and not any(got[p] for p in neg)
        seen.append(iou(got, cell))
        nxt = next_click(got, cell)
        assert nxt is not None
        (pos if nxt[1] else neg).append(nxt[0])
    assert all(b >= a - 0.01 for a, b in itertools.pairwise(seen)), seen
    assert seen[3] >= 0.9, seen


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_negative_clicks_on_a_one_pixel_false_ring_take_the_ring_not_the_cell(seed):
    # a dim noisy disc (contrast 40 of 120) whose object is 1 px too wide all round (noc6: the
    # dim nuclei 24, 26, 43, 86 of StarDist's image).  A negative click on the ring moves the
    # edge 0.75 px past itself: it takes the ring beside it and at most one pixel of the cell
    # (before, with the edge 1 px past it: 3); four clicks round the ring reach IoU 0.93
    # (before: 0.898, 20 pixels of the cell lost)
    cell = disk_mask(SHAPE, (30, 30), 8)
    rng = np.random.default_rng(seed)
    img = ndi.gaussian_filter(np.where(cell, 60.0, 20.0), 1.0) + rng.normal(0, 3.0, SHAPE)
    ring = ndi.binary_dilation(cell) & ~cell
    start = cell | ring
    clicks = [(30, 39), (39, 30), (30, 21), (21, 30)]
    seen = []
    for k in range(1, 5):
        got = full(SHAPE, refine_region(img, tight_bbox(start), (30, 30), negative=clicks[:k],
                                        limits=LIMITS))  # fmt: skip
        assert not any(got[p] for p in clicks[:k])
        assert (got <= start).all()
        seen.append(iou(got, cell))
        if k == 1:
            assert int((cell & ~got).sum()) <= 1
            assert int((ring & got).sum()) <= int(ring.sum()) - 5
    assert all(b > a for a, b in itertools.pairwise(seen)), seen
    assert seen[3] >= 0.93, seen
    assert int((cell & ~got).sum()) <= 12


@pytest.mark.parametrize("radius", [6, 8])
def test_a_negative_click_on_a_flat_object_keeps_the_cells_second_layer(radius):
    # noc7: a model's object on a flat image (no brighter than its surroundings, as a pixel
    # classifier's or StarDist's object may be) is 1 px too wide all round.  A negative
    # click on the false ring keeps its dim neighbours out, but only those at most 1 px
    # deeper than itself: no pixel of the cell's second layer is taken (before: 16 / 20
    # pixels over the ring's clicks, up to 5 of the cell per click)
    cell = disk_mask(SHAPE, (30, 30), radius)
    depth = ndi.distance_transform_edt(cell)
    ring = ndi.binary_dilation(cell) & ~cell
    start = cell | ring
    img = np.full(SHAPE, 50.0)
    for click in zip(*np.nonzero(ring), strict=True):
        q = (int(click[0]), int(click[1]))
        got = full(SHAPE, refine_region(img, tight_bbox(start), (30, 30), negative=[q],
                                        limits=LIMITS))  # fmt: skip
        assert not got[q]
        lost = cell & ~got
        assert not (lost & (depth > 1)).any(), (q, np.argwhere(lost & (depth > 1)))
        assert int(lost.sum()) <= 4, (q, int(lost.sum()))
