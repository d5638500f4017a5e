"""Pixels of ``region_at(..., refine="watershed")``: every click makes progress where it is made.

Issue 11: a refinement click fixes (at least) the error piece under it, a later click made
elsewhere never undoes it, and a cell cut by the image's edge keeps its depth there.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from masks import disk_mask, full, iou
from segpaint.ops import region_at

LIMITS = [(0.0, 120.0)]


def blob_image(mask: np.ndarray, seed: int = 0) -> np.ndarray:
    img = ndi.gaussian_filter(np.where(mask, 100.0, 20.0), 1.0)
    return img + np.random.default_rng(seed).normal(0, 2, mask.shape)


def click(img, shape, pos=(), neg=()):
    return full(shape, region_at(img, (40, 40), positive=list(pos), negative=list(neg),
                                 limits=LIMITS, refine="watershed"))  # fmt: skip


def test_a_deep_positive_click_on_background_takes_its_disc_and_nothing_far_away():
    # the user says the cell goes on where the intensity says background (a dim part)
    shape = (80, 80)
    img = blob_image(disk_mask(shape, (40, 40), 12))
    first = click(img, shape)
    q = (40, 40 + 12 + 6)  # about 5.5 px outside the found edge
    got = click(img, shape, pos=[q])
    assert got[q]
    # the disc of its depth around the click is taken, joined to the cell
    assert got[disk_mask(shape, q, 4)].all()
    assert ndi.label(got)[1] == 1
    # nothing changes on the far (left) side
    assert (got[:, :36] == first[:, :36]).all()


def test_a_deep_positive_click_on_a_missed_part_takes_that_part_not_the_background():
    shape = (80, 100)
    a, b = disk_mask(shape, (40, 40), 12), disk_mask(shape, (40, 70), 8)
    img = blob_image(a | b)
    first = click(img, shape)
    assert not first[b].any(), "the setup expects the first click to miss b"
    got = click(img, shape, pos=[(40, 70)])
    assert iou(got, a | b) >= 0.85
    assert got[b].mean() >= 0.95
    assert not got[
        (~a) & (~b) & ~disk_mask(shape, (40, 70), 10) & ~disk_mask(shape, (40, 40), 14)
    ].any()


def test_a_deep_negative_click_in_a_taken_neighbour_removes_it():
    shape = (80, 100)
    # overlapping discs: one distance maximum, so the first click takes both
    a, b = disk_mask(shape, (40, 40), 12), disk_mask(shape, (40, 50), 11)
    img = blob_image(a | b, seed=3)
    first = click(img, shape)
    assert iou(first, a) < 0.75, "the setup expects the first click to take both"
    got = click(img, shape, neg=[(40, 56)])
    assert not got[disk_mask(shape, (40, 56), 3)].any()
    assert iou(got, a) >= 0.85
    assert got[disk_mask(shape, (40, 40), 9)].all()  # the cell itself stays


def test_a_click_is_not_undone_by_a_later_click_elsewhere():
    shape = (80, 80)
    img = blob_image(disk_mask(shape, (40, 40), 12))
    first = click(img, shape)
    right = (40, 40 + 12 + 4)  # outside on the right: the cell is wider there
    one = click(img, shape, pos=[right])
    gained = one & ~first
    assert gained[:, 50:].sum() >= 10
    # a negative click on the other side, just inside the left edge
    left = (40, int(np.nonzero(first[40])[0].min()) + 1)
    two = click(img, shape, pos=[right], neg=[left])
    assert not two[left] and two[right]
    assert (two[:, 50:] == one[:, 50:]).all()  # the right side is as the first click left it


def test_every_click_stays_on_its_side_when_clicks_crowd_the_edge():
    shape = (80, 80)
    img = blob_image(disk_mask(shape, (40, 40), 12), seed=5)
    edge = int(np.nonzero(click(img, shape)[40])[0].max())
    pos = [(40, edge + 2), (36, edge + 1), (44, edge + 2)]
    neg = [(30, edge - 2), (50, edge - 3), (40, 29)]
    got = click(img, shape, pos=pos, neg=neg)
    assert all(got[p] for p in pos)
    assert not any(got[p] for p in neg)


def ellipse_mask(shape, centre, half_rows, half_cols):
    rr, cc = np.ogrid[: shape[0], : shape[1]]
    return ((rr - centre[0]) / half_rows) ** 2 + ((cc - centre[1]) / half_cols) ** 2 <= 1


def test_a_cell_touching_one_cut_by_the_image_edge_is_split_from_it():
    # a flat cell above another whose lower part is outside the image (like StarDist's
    # nuclei at the image's bottom edge): the cut cell keeps its depth at the edge, so the
    # two have two distance maxima and the click takes only its own cell
    shape = (60, 80)
    upper = ellipse_mask(shape, (39, 40), 9, 14)
    lower = ellipse_mask(shape, (56, 40), 9, 14)
    img = blob_image(upper | lower, seed=2)
    got = full(shape, region_at(img, (39, 40), limits=LIMITS, refine="watershed"))
    assert iou(got, upper) >= 0.9
    assert (got & lower & ~upper).sum() <= 10


def test_a_click_already_on_its_side_changes_nothing():
    # a positive click inside the cell, a negative one on the background: nothing to fix
    shape = (80, 80)
    img = blob_image(disk_mask(shape, (40, 40), 12), seed=7)
    first = click(img, shape)
    assert (click(img, shape, pos=[(34, 40)]) == first).all()
    assert (click(img, shape, neg=[(40, 70)]) == first).all()
