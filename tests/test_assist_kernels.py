"""Pixels of the assisted-correction kernels on hand-made images (issue 11): the click's
object, its edge, touching neighbours, edge-moving refinement clicks and the one-drag split."""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from masks import disk_mask, full, iou
from segpaint.ops import bbox_slices, region_at, split_label


def nucleus_image(masks: list[np.ndarray], *, blur: float = 2.0, seed: int = 0) -> np.ndarray:
    """Fluorescence-like: flat objects at 100 on 20, blurred, with Poisson-like noise."""
    rng = np.random.default_rng(seed)
    img = np.full(masks[0].shape, 20.0)
    for m in masks:
        img[m] = 100.0
    img = ndi.gaussian_filter(img, blur)
    return img + rng.normal(0, 3, img.shape)


def test_click_on_a_blurred_nucleus_finds_its_true_edge():
    shape = (96, 96)
    cell = disk_mask(shape, (48, 48), 12)
    img = nucleus_image([cell])
    got = full(shape, region_at(img, (48, 48), limits=[(0, 120)]))
    assert iou(got, cell) >= 0.9
    # the edge is at the half-maximum: not one pixel too wide all around
    ring = ndi.binary_dilation(cell, iterations=1) & ~cell
    assert (got & ring).sum() <= 0.5 * ring.sum()


def test_the_edge_is_measured_on_the_object_not_on_the_window():
    # a nucleus (100) in its dimmer cytoplasm (40) on a dark background (10): the window's
    # darkest pixels are the background, so a level taken from them cuts into the cytoplasm;
    # the object's own ring (cytoplasm) and plateau put the edge at the nucleus
    shape = (96, 96)
    cell = disk_mask(shape, (48, 48), 10)
    for seed in range(3):
        rng = np.random.default_rng(seed)
        img = np.full(shape, 10.0)
        img[disk_mask(shape, (48, 50), 22)] = 40.0
        img[cell] = 100.0
        img = ndi.gaussian_filter(img, 2.0) + rng.normal(0, 3, shape)
        got = full(shape, region_at(img, (48, 48), limits=[(0, 120)]))
        assert iou(got, cell) >= 0.85, f"seed {seed}"
        window_level = full(shape, region_at(img, (48, 48), limits=[(0, 120)], level=0.45))
        assert iou(window_level, cell) < 0.8  # what a fixed level on the window's range gives
        assert window_level.sum() > 1.2 * cell.sum()


def test_click_on_one_of_two_touching_disks_takes_only_that_disk():
    shape = (80, 120)
    left = disk_mask(shape, (40, 42), 14)
    right = disk_mask(shape, (40, 68), 14) & ~left  # they overlap: one touching pair
    img = nucleus_image([left, right], blur=1.5, seed=1)
    for clicked, other, point in ((right, left, (40, 70)), (left, right, (40, 40))):
        got = full(shape, region_at(img, point, limits=[(0, 120)]))
        assert iou(got, clicked) >= 0.85
        assert (got & other).sum() <= 0.05 * other.sum()


def test_labelled_neighbour_is_never_taken():
    shape = (80, 120)
    left = disk_mask(shape, (40, 42), 14)
    right = disk_mask(shape, (40, 68), 14) & ~left
    img = nucleus_image([left, right], blur=1.5, seed=2)
    labels = np.zeros(shape, np.uint32)
    labels[left] = 7
    got = full(shape, region_at(img, (40, 70), limits=[(0, 120)], labels=labels, label=9))
    assert not (got & left).any()
    assert iou(got, right) >= 0.85


def test_a_click_along_the_edge_moves_the_whole_edge():
    # refine="level" (the default before issue 11's watershed mode): a click sets the level
    shape = (96, 96)
    cell = disk_mask(shape, (48, 48), 12)
    img = nucleus_image([cell], seed=3)
    limits = [(0, 120)]
    wide = full(shape, region_at(img, (48, 48), limits=limits, level=0.2,
                            refine="level"))  # fmt: skip
    assert wide.sum() > cell.sum() * 1.15  # a low level: the outline is too wide all around
    # one negative click just inside the too-wide outline, on the right side
    rim = wide & ~ndi.binary_erosion(wide, iterations=2)
    rows, cols = np.nonzero(rim & (np.arange(96)[None, :] > 58))
    k = int(np.argmax(cols))
    point = (int(rows[k]), int(cols[k]) - 1)
    tighter = full(shape, region_at(img, (48, 48), negative=[point], limits=limits, level=0.2,
                                 refine="level"))  # fmt: skip
    assert not tighter[point]
    assert iou(tighter, cell) > iou(wide, cell) + 0.05
    # the left side (far from the click) moved too: the click set the edge's level
    left_half = np.zeros(shape, bool)
    left_half[:, :40] = True
    assert (tighter & left_half).sum() < (wide & left_half).sum()
    # and a positive click just outside a too-tight outline grows it everywhere
    tight = full(shape, region_at(img, (48, 48), limits=limits, level=0.8, refine="level"))
    assert tight.sum() < cell.sum() * 0.85
    outside = ndi.binary_dilation(tight, iterations=2) & ~tight
    rows, cols = np.nonzero(outside)
    k = int(np.argmin(cols))
    grown = full(
        shape, region_at(img, (48, 48), positive=[(int(rows[k]), int(cols[k]))], limits=limits,
                         level=0.8, refine="level"),
    )  # fmt: skip
    assert iou(grown, cell) > iou(tight, cell) + 0.05
    right_half = np.zeros(shape, bool)
    right_half[:, 56:] = True
    assert (grown & right_half).sum() > (tight & right_half).sum()


def test_split_a_merged_pair_from_one_drag():
    shape = (80, 120)
    left = disk_mask(shape, (40, 42), 14)
    right = disk_mask(shape, (40, 68), 14) & ~left
    labels = np.zeros(shape, np.uint32)
    labels[left | right] = 5
    drag = [(38, 40), (41, 71)]  # press in one cell, release in the other: the two seeds
    box, parts = split_label(labels, 5, [[drag[0]], [drag[-1]]])
    whole = np.zeros(shape, np.int32)
    whole[bbox_slices(box)] = parts
    assert iou(whole == 1, left) >= 0.9
    assert iou(whole == 2, right) >= 0.9
    img = nucleus_image([left, right], blur=1.5, seed=4)
    box, parts = split_label(labels, 5, [[drag[0]], [drag[-1]]], image=img, limits=[(0, 120)])
    whole[:] = 0
    whole[bbox_slices(box)] = parts
    assert iou(whole == 1, left) >= 0.9
    assert iou(whole == 2, right) >= 0.9
