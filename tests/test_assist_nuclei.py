"""Pixels of the click tool (``region_at``, default ``refine="watershed"``) on nucleus-like
synthetic images: touching ellipses with an intensity valley, and a noisy ellipse.  (A
negative click that must not take the clicked cell away with its neighbour: on StarDist's
nuclei, in test_assist_nuclei_ml.py.)"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

from masks import full, iou
from segpaint.ops import region_at

SHAPE = (80, 100)
LIMITS = [(0.0, 110.0)]


def ellipse(centre: tuple[float, float], a: float, b: float, theta: float = 0.0) -> np.ndarray:
    """The pixels within the ellipse of half-axes ``a`` (along ``theta``) and ``b``."""
    rr, cc = np.mgrid[: SHAPE[0], : SHAPE[1]].astype(float)
    y, x = rr - centre[0], cc - centre[1]
    u = x * np.cos(theta) + y * np.sin(theta)
    v = -x * np.sin(theta) + y * np.cos(theta)
    return (u / a) ** 2 + (v / b) ** 2 <= 1


def nuclei(masks: list[np.ndarray], centres: list[tuple[float, float]], *, rim: float,
           noise: float, seed: int = 1) -> np.ndarray:  # fmt: skip
    """Blurred bright nuclei on a dark background, each brightest at its centre and ``rim``
    times as bright at its outline (so two touching nuclei have a valley between them)."""
    img = np.full(SHAPE, 20.0)
    for m in masks:
        img[m] = 100.0
    img = ndi.gaussian_filter(img, 1.0)
    rr, cc = np.mgrid[: SHAPE[0], : SHAPE[1]]
    dome = np.max([np.exp(-((rr - r) ** 2 + (cc - c) ** 2) / (2 * 6.0**2)) for r, c in centres],
                  axis=0)  # fmt: skip
    img = 20 + (img - 20) * (rim + (1 - rim) * dome)
    return img + np.random.default_rng(seed).normal(0, noise, SHAPE)


@pytest.mark.parametrize(("dx", "bar"), [(13, 0.8), (15, 0.85), (17, 0.9)])
def test_one_click_takes_one_of_two_overlapping_nuclei_with_a_valley_between(dx, bar):
    # the union of the two ellipses has hardly a neck at dx=13: the valley has to help
    a = ellipse((40, 40), 10, 7)
    b = ellipse((40, 40 + dx), 10, 7) & ~a
    img = nuclei([a, b], [(40, 40), (40, 40 + dx)], rim=0.5, noise=3.0)
    left = full(SHAPE, region_at(img, (40, 37), limits=LIMITS))
    right = full(SHAPE, region_at(img, (40, 43 + dx), limits=LIMITS))
    assert iou(left, a) >= bar
    assert iou(right, b) >= bar
    assert not left[40, 43 + dx] and not right[40, 37]


@pytest.mark.parametrize("noise", [8.0, 16.0])
def test_one_click_on_a_noisy_ellipse_gives_its_outline(noise):
    cell = ellipse((40, 50), 12, 8, 0.5)
    img = np.full(SHAPE, 20.0)
    img[cell] = 90.0
    img = ndi.gaussian_filter(img, 0.7) + np.random.default_rng(2).normal(0, noise, SHAPE)
    got = full(SHAPE, region_at(img, (40, 50), limits=LIMITS))
    assert iou(got, cell) >= 0.9
