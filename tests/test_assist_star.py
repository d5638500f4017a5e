"""The star-convex check on the click tool's first object (`segpaint.ops._star`, used by
``region_at(refine="watershed")``): a small nucleus pressed against a big one, which the
distance-transform split leaves merged, comes out alone in one click."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage as ndi

import segpaint
from masks import disk_mask, full, iou
from segpaint.ops import _star, assist, region_at
from test_assist_nuclei import LIMITS, SHAPE, ellipse, nuclei

CLICK = (40, 35)


def pressed_pair(
    *, radius: float = 5, rim: float = 0.6, half_width: float = 8, seed: int = 0
) -> tuple[np.ndarray, ...]:
    """A round nucleus of ``radius`` at `CLICK` touching the side of a long one (40 x
    ``2 * half_width`` px, upright), with a valley ``rim`` times as bright between them, and
    noise drawn with ``seed``: (image, small cell, big cell)."""
    small = ellipse(CLICK, radius, radius)
    centre = (40, CLICK[1] + radius + half_width)
    big = ellipse(centre, 20, half_width, math.pi / 2) & ~small
    img = nuclei([small, big], [CLICK, centre], rim=rim, noise=4.0, seed=seed)
    return img, small, big


def clicks_on_pressed_pairs(radius: float) -> tuple[list[float], list[int]]:
    """One click on the small nucleus of 12 pressed pairs (noise seeds 0..11): the IoUs
    with it and the pixels of the big one taken."""
    ious, taken = [], []
    for seed in range(12):
        img, small, big = pressed_pair(radius=radius, half_width=10, seed=seed)
        got = full(SHAPE, region_at(img, CLICK, limits=LIMITS))
        ious.append(iou(got, small))
        taken.append(int((got & big).sum()))
    return ious, taken


@pytest.mark.parametrize(("radius", "before"), [(4, 0), (5, 5)])
def test_one_click_takes_a_small_nucleus_pressed_against_a_big_one(radius, before, monkeypatch):
    # ``before``: how many of the 12 reach 0.85 without the star check (pinned below)
    ious, taken = clicks_on_pressed_pairs(radius)
    assert sum(v >= 0.85 for v in ious) >= 10
    assert min(ious) >= 0.75  # the two others are near misses, never the merged pair
    assert max(taken) <= 12  # a pixel of edge or so of the big one, never the big one
    monkeypatch.setattr(assist, "_STAR_MERGE", math.inf)
    ious, taken = clicks_on_pressed_pairs(radius)
    assert sum(v >= 0.85 for v in ious) == before
    assert max(taken) > 100  # without the check some clicks take the big one as well


def test_refinement_clicks_after_the_star_cut_land_on_their_side():
    img, _, _ = pressed_pair(seed=1)
    inside_big, outside = (40, 50), (40, 25)
    got = full(SHAPE, region_at(img, CLICK, positive=[inside_big], limits=LIMITS))
    assert got[inside_big] and got[CLICK]
    got = full(SHAPE, region_at(img, CLICK, negative=[(40, 39)], limits=LIMITS))
    assert not got[40, 39] and got[CLICK] and not got[outside]


def test_segment_at_cuts_the_pressed_pair_in_one_click_and_one_undo_step():
    img, small, _ = pressed_pair(seed=1)
    s = segpaint.open(img[None, None], axes="TCYX", populations=["nuclei"])
    s.segment_at("nuclei", 0, CLICK, label=4, limits=LIMITS)
    lab = np.asarray(s.labels("nuclei", 0))
    assert set(np.unique(lab)) == {0, 4}
    assert iou(lab == 4, small) >= 0.85
    s.undo()
    assert not np.asarray(s.labels("nuclei", 0)).any()


def test_star_radii_of_a_blurred_disc_are_its_radius():
    shape = (60, 60)
    img = ndi.gaussian_filter(np.where(disk_mask(shape, (30, 30), 10), 1.0, 0.1), 1.0)
    radii = _star.star_radii(img, (30, 30))
    assert radii is not None and radii.shape == (64,)
    assert np.all(np.abs(radii - 10) <= 1.0)


def test_the_angular_median_pulls_back_rays_that_leak_along_a_bridge():
    shape = (60, 80)
    cell = disk_mask(shape, (30, 30), 10)
    bright = cell.copy()
    bright[29:32, 30:70] = True  # a bright bar, 3 px wide, running off to the right
    img = ndi.gaussian_filter(np.where(bright, 1.0, 0.1), 1.0)
    box, mask = _star.star_at(img, (30, 30))
    got = full(shape, (box, mask))
    assert not got[30, 45:].any()  # the bar's rays follow their neighbours back
    assert iou(got, cell) >= 0.9
    unsmoothed = _star.star_radii(img, (30, 30), median=1)
    assert unsmoothed is not None and unsmoothed[0] > 30  # the ray along the bar does leak


def test_star_at_a_corner_stays_in_the_image_and_holds_the_click():
    shape = (40, 40)
    img = ndi.gaussian_filter(np.where(disk_mask(shape, (2, 3), 8), 1.0, 0.1), 1.0)
    box, mask = _star.star_at(img, (2, 3))
    assert box[0] == 0 and box[2] == 0 and box[1] <= 40 and box[3] <= 40
    got = full(shape, (box, mask))
    assert got[2, 3] and iou(got, disk_mask(shape, (2, 3), 8)) >= 0.85


def test_star_on_a_flat_image_is_none():
    assert _star.star_radii(np.full((30, 30), 0.5), (15, 15)) is None


def test_one_click_on_a_cell_wider_than_the_rays_reach_takes_it_whole(monkeypatch):
    # rays shorter than the cell (15 px here, 40 by default) say nothing of its size: a round
    # cell is no merge, however small its star
    shape = (100, 100)
    cell = disk_mask(shape, (50, 50), 30)
    img = ndi.gaussian_filter(np.where(cell, 100.0, 20.0), 1.0)
    img += np.random.default_rng(3).normal(0, 3.0, shape)
    monkeypatch.setattr(_star, "_STAR_REACH", 15.0)
    got = full(shape, region_at(img, (50, 50), limits=LIMITS))
    assert iou(got, cell) >= 0.95


def test_the_star_cut_keeps_the_clip_and_other_labels_out():
    img, small, _ = pressed_pair(seed=1)
    clip = (25, 60, 20, 50)  # rows, cols: part of the big nucleus is outside
    got = full(SHAPE, region_at(img, CLICK, limits=LIMITS, clip=clip))
    assert iou(got, small) >= 0.85
    rows, cols = np.nonzero(got)
    assert rows.min() >= 25 and rows.max() < 60 and cols.min() >= 20 and cols.max() < 50
    labels = np.zeros(SHAPE, np.uint16)
    labels[small & (np.arange(SHAPE[1]) >= 38)[None]] = 7  # a strip of the cell already labelled 7
    got = full(SHAPE, region_at(img, CLICK, limits=LIMITS, labels=labels, label=0))
    assert not (got & (labels == 7)).any()
    assert iou(got, small & (labels != 7)) >= 0.8
