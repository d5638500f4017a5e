"""The click tool on StarDist's bundled nuclei image (``stardist.data``; the ML environment).

The clicks are those of `benchmarks/bench_effort.py --only noc` (the NoC rule: the deepest
point of the largest error) on one nucleus of a touching pair, where the seventh click once
cut the clicked nucleus away with its neighbour (IoU 0.84 -> 0.11).
"""

from __future__ import annotations

import numpy as np
import pytest

from masks import full, iou
from optional import import_or_skip
from segpaint import ops

pytestmark = [
    pytest.mark.ml,
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
]

SEED = (322, 351)  # the deepest pixel of the nucleus (its truth's label there)
POSITIVE = [(318, 342), (317, 345)]
NEGATIVE = [(306, 349), (316, 339), (317, 337), (314, 348)]


@pytest.fixture(scope="module")
def nuclei():
    data = import_or_skip(
        "stardist.data", env="SEGPAINT_REQUIRE_ML", install="pip install 'segpaint[stardist]'"
    )
    image, mask = data.test_image_nuclei_2d(return_mask=True)
    return np.asarray(image), np.asarray(mask)


def test_a_deep_negative_click_never_takes_the_clicked_nucleus_away(nuclei):
    image, mask = nuclei
    cell = mask == mask[SEED]
    limits = ops.default_limits(image)
    shape = image.shape
    before = full(shape, ops.region_at(image, SEED, positive=POSITIVE, negative=NEGATIVE[:3],
                                       limits=limits))  # fmt: skip
    assert iou(before, cell) >= 0.8, "the setup expects the six clicks to be near 0.85"
    got = full(shape, ops.region_at(image, SEED, positive=POSITIVE, negative=NEGATIVE,
                                    limits=limits))  # fmt: skip
    assert iou(got, cell) >= 0.7
    assert all(got[p] for p in [SEED, *POSITIVE])
    assert not any(got[p] for p in NEGATIVE)


@pytest.mark.parametrize(
    ("seed", "before", "after"), [((497, 277), 0.34, 0.85), ((492, 63), 0.27, 0.75)]
)
def test_one_click_on_a_nucleus_in_a_clump_is_cut_to_its_star(nuclei, seed, before, after):
    # the first object took 1-3 neighbours (2.8-3.5x the cell); the star check cuts it to the
    # polygon around the click (first-click IoU ``before`` without it, docs/performance.md)
    image, mask = nuclei
    cell = mask == mask[seed]
    got = full(image.shape, ops.region_at(image, seed, limits=ops.default_limits(image)))
    assert iou(got, cell) >= after > before
    others = np.unique(mask[got & ~cell])
    assert all(int(np.sum(got & (mask == k))) < 0.2 * np.sum(mask == k) for k in others if k)
