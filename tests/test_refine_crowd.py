"""Refine and copy-labels on crowded frames (issue 11): the faster band and matching give
the pixels a user expects on small known cases, touching cells and cells cut by the frame."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

import segpaint
from masks import voronoi_cells
from segpaint import ops
from segpaint.ops import refine
from segpaint.ops._morph_all import grow_all, shrink_all


def crowded(shape=(90, 110), n=45, seed=0):
    """Touching cells (Voronoi pieces cut to a disk), holes and specks, cells at the edges."""
    return voronoi_cells(shape, n, seed, radii=(4, 11), specks=20)


def reference_rings(lab: np.ndarray, radius: int) -> dict[tuple[int, int], int]:
    """The band and each pixel's cell, one pixel at a time (the rule `_rings` documents):
    border pixels first (a background pixel takes the cell above it, else left, below,
    right), then ``radius`` steps, cell sides before background, each step trying the
    neighbour below, above, right, left of the pixel taken (first one wins)."""
    h, w = lab.shape
    owner: dict[tuple[int, int], int] = {}
    for r in range(h):
        for c in range(w):
            if lab[r, c]:
                if any(
                    0 <= r + dr < h and 0 <= c + dc < w and lab[r + dr, c + dc] == 0
                    for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1))
                ):
                    owner[r, c] = int(lab[r, c])
            else:
                for dr, dc in ((-1, 0), (0, -1), (1, 0), (0, 1)):
                    rr, cc = r + dr, c + dc
                    if 0 <= rr < h and 0 <= cc < w and lab[rr, cc]:
                        owner[r, c] = int(lab[rr, cc])
                        break
    fronts = [[p for p in owner if lab[p]], [p for p in owner if not lab[p]]]
    for _ in range(radius):
        nxt_fronts = []
        for front in fronts:
            nxt = []
            for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1)):  # the pixel taken is front + d
                for r, c in front:
                    q = (r + dr, c + dc)
                    if not (0 <= q[0] < h and 0 <= q[1] < w) or q in owner:
                        continue
                    if lab[q] == lab[r, c]:  # background to background, a cell to itself
                        owner[q] = owner[r, c]
                        nxt.append(q)
            nxt_fronts.append(nxt)
        fronts = nxt_fronts
    return owner


@pytest.mark.parametrize("way", ["masks", "fronts"])
@pytest.mark.parametrize("radius", [1, 3])
@pytest.mark.parametrize("seed", range(3))
def test_band_and_each_pixels_cell_follow_the_documented_rule(seed, radius, way):
    lab = crowded(seed=seed)
    idx, owner, padded, was = getattr(refine, f"_rings_{way}")(lab, radius)
    wide = lab.shape[1] + 2
    rows, cols = np.divmod(idx, wide)
    pixels = zip((rows - 1).tolist(), (cols - 1).tolist(), strict=True)
    got = dict(zip(pixels, owner.tolist(), strict=True))
    assert got == reference_rings(lab, radius)
    np.testing.assert_array_equal(padded[1:-1, 1:-1], lab)
    assert not padded[0].any() and not padded[:, -1].any()
    np.testing.assert_array_equal(was, padded.ravel()[idx] != 0)  # the band pixels of a cell


def few_cells(shape=(200, 240)):
    """Four disks, two of them touching, one cut by the frame's edge."""
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    lab = np.zeros(shape, np.uint32)
    for value, (r, c) in ((4, (50, 60)), (9, (50, 80)), (2, (150, 150)), (7, (0, 200))):
        lab[((yy - r) ** 2 + (xx - c) ** 2 <= 100) & (lab == 0)] = value
    return lab


@pytest.mark.parametrize("way", ["masks", "fronts"])
def test_the_band_is_found_with_masks_on_crowded_frames_and_fronts_on_sparse_ones(way, monkeypatch):
    lab = crowded(seed=1) if way == "masks" else few_cells()
    ways = []
    for name in ("_rings_masks", "_rings_fronts"):
        real = getattr(refine, name)
        monkeypatch.setattr(
            refine, name, lambda *a, real=real, name=name: ways.append(name) or real(*a)
        )
    idx, owner, _, was = refine._rings(lab, 3)
    assert ways == [f"_rings_{way}"]
    monkeypatch.undo()
    other = refine._rings_fronts if way == "masks" else refine._rings_masks
    idx2, owner2, _, was2 = other(lab, 3)
    order, order2 = np.argsort(idx), np.argsort(idx2)
    np.testing.assert_array_equal(idx[order], idx2[order2])
    np.testing.assert_array_equal(owner[order], owner2[order2])
    np.testing.assert_array_equal(was[order], was2[order2])


def scene(seed=0, shape=(90, 110)):
    """Crowded cells of random brightness on a dark background, blurred, and their labels
    off by 2 px (every other cell too wide, the others too narrow)."""
    truth = crowded(shape, seed=seed)
    rng = np.random.default_rng(seed)
    bright = rng.uniform(400, 1500, int(truth.max()) + 1)
    bright[0] = 0
    image = ndi.gaussian_filter(bright[truth].astype(np.float32), 1.0) + 100
    odd = np.isin(truth, ops.label_values(truth)[::2])
    start = np.where(odd, grow_all(truth, 2), shrink_all(truth, 2)).astype(np.uint32)
    return image.astype(np.uint16), truth, start


@pytest.mark.parametrize("seed", range(3))
def test_refine_brings_crowded_touching_cells_back_to_their_outlines(seed):
    image, truth, start = scene(seed)
    s = segpaint.open(image, axes="YX", populations=["cells"])
    s.set_labels("cells", 0, start)
    s.refine("cells", 0)
    new = s.labels("cells", 0)
    before = (start == truth).mean()
    after = (new == truth).mean()
    assert after > before + 0.05 and after > 0.93
    # no pixel goes from one cell to another, and every cell is still there
    moved = (new != start) & (new != 0) & (start != 0)
    assert not moved.any()
    np.testing.assert_array_equal(ops.label_values(new), ops.label_values(start))
    s.undo()
    np.testing.assert_array_equal(s.labels("cells", 0), start)


def test_refine_snaps_cells_cut_by_the_frame_edge_to_the_image():
    # half disks at the top edge, a quarter disk in a corner: sharp edges in the image
    yy, xx = np.mgrid[:40, :60]
    image = np.zeros((40, 60))
    truth = np.zeros((40, 60), np.uint32)
    for value, (r, c) in ((3, (0, 20)), (8, (39, 59)), (5, (20, 45))):
        d2 = (yy - r) ** 2 + (xx - c) ** 2
        image[d2 <= 64] = 100
        truth[d2 <= 64] = value
    start = shrink_all(truth, 2)
    box, new = refine.refine_outlines(image, start, limits=[(0, 100)])
    assert box == (0, 40, 0, 60)
    np.testing.assert_array_equal(new, truth)


def test_refine_one_cell_or_a_roi_leaves_every_other_pixel_alone():
    image, _, start = scene(1)
    one = int(ops.label_values(start)[7])
    box, new = refine.refine_outlines(image, start, limits=[(100, 1500)], label=one)
    window = start[box[0] : box[1], box[2] : box[3]]
    changed = new != window
    assert changed.any()
    assert set(np.unique(new[changed]).tolist()) <= {0, one}
    assert set(np.unique(window[changed]).tolist()) <= {0, one}
    roi = (20, 60, 30, 80)
    box, new = refine.refine_outlines(image, start, limits=[(100, 1500)], clip=roi)
    assert box == roi and new.shape == (40, 50)


# --------------------------------------------------------------------------- copy labels
def reference_match(src, tgt, min_iou):
    pairs = []
    for s in np.unique(src[src > 0]):
        a = src == s
        for t in np.unique(tgt[a & (tgt > 0)]):
            b = tgt == t
            pairs.append((-((a & b).sum() / (a | b).sum()), int(s), int(t)))
    out: dict[int, int] = {}
    for neg, s, t in sorted(pairs):
        if -neg < min_iou:
            break
        if s not in out and t not in out.values():
            out[s] = t
    return out


@pytest.mark.parametrize("min_iou", [0.2, 0.5, 0.9])
@pytest.mark.parametrize("offset", [0, 70_000, 3_000_000_000])
def test_match_labels_on_crowded_frames_with_small_and_huge_labels(offset, min_iou):
    a = crowded(seed=4)
    b = np.roll(crowded(seed=4), (3, -2), axis=(0, 1))
    b[40:50] = 0  # some cells lost
    b[b > 0] += offset
    assert ops.match_labels(a, b, min_iou=min_iou) == reference_match(a, b, min_iou)


def test_match_labels_with_a_low_threshold_takes_the_best_of_two_claims():
    # source 1 overlaps targets 5 (IoU 0.6) and 6 (IoU 0.3): below 0.5 a cell can be in two
    # pairs above the threshold; the best pair wins and the other target stays free
    src = np.zeros((1, 20), np.uint32)
    tgt = np.zeros((1, 20), np.uint32)
    src[0, 0:10] = 1
    tgt[0, 0:6] = 5
    tgt[0, 6:9] = 6
    src[0, 12:20] = 2
    tgt[0, 11:19] = 7
    pairs = ops.match_labels(src, tgt, min_iou=0.25)
    assert pairs == {1: 5, 2: 7} == reference_match(src, tgt, 0.25)


@pytest.mark.parametrize("offset", [0, 3_000_000_000])
def test_copy_labels_replace_on_a_crowded_frame_keeps_identities(offset):
    lab = crowded(seed=5)
    lab[lab > 0] += offset
    moved = np.roll(lab, (1, 1), axis=(0, 1))
    renamed = np.where(lab > 0, lab + 1000, 0).astype(np.uint32)  # frame 1: other labels
    s = segpaint.open(np.zeros((2, *lab.shape), np.uint16), axes="TYX", populations=["c"])
    s.set_labels("c", 0, moved)
    s.set_labels("c", 1, renamed)
    s.copy_labels("c", 0, 1, mode="replace")
    new = s.labels("c", 1)
    pairs = reference_match(moved, renamed, 0.5)
    assert len(pairs) > 25
    for src_value, tgt_value in pairs.items():
        np.testing.assert_array_equal(new == tgt_value, moved == src_value)
    np.testing.assert_array_equal(new != 0, moved != 0)  # replace: the source's masks
    np.testing.assert_array_equal(s.labels("c", 0), moved)  # the source frame is untouched


def reference_levels(dense, n, value, grad2):
    """`refine._levels` with one bincount per sum, zeros off the side summed (the rule)."""
    weight = np.bincount(dense, grad2, minlength=n)
    level = np.bincount(dense, grad2 * value, minlength=n) / np.maximum(weight, 1e-30)
    bright = value >= level[dense]
    n_in = np.bincount(dense, bright, minlength=n)
    top = np.bincount(dense, np.where(bright, value, 0), minlength=n) / np.maximum(n_in, 1)
    rim = np.where(value <= top[dense], grad2, 0)
    weight = np.bincount(dense, rim, minlength=n)
    level = np.bincount(dense, rim * value, minlength=n) / np.maximum(weight, 1e-30)
    inside = value >= level[dense]
    n_up = np.bincount(dense, inside, minlength=n)
    n_down = np.bincount(dense, ~inside, minlength=n)
    hi = np.bincount(dense, np.where(inside, value, 0), minlength=n) / np.maximum(n_up, 1)
    lo = np.bincount(dense, np.where(inside, 0, value), minlength=n) / np.maximum(n_down, 1)
    ok = (weight > 0) & (n_up > 0) & (n_down > 0) & (hi - lo >= refine.MIN_EDGE_CONTRAST)
    return level, ok, inside


@pytest.mark.parametrize("seed", range(3))
def test_levels_keyed_by_side_equal_one_bincount_per_sum_bit_for_bit(seed):
    rng = np.random.default_rng(seed)
    # cells of 1 to ~3,000 pixels in no order, values with ties (quantised, clipped to 0 and
    # 1), a cell of one value (no gradient), a cell with no contrast, bins with no pixel
    dense = rng.integers(1, 60, 40_000)
    dense[rng.random(dense.size) < 0.3] = 7
    dense[dense == 11] = 12
    value = np.clip(np.round(rng.normal(0.5, 0.4, dense.size) * 64) / 64, 0, 1)
    value = value.astype(np.float32)
    value[dense == 3] = 0.25
    value[dense == 5] = 0.5 + value[dense == 5] * np.float32(0.01)
    grad2 = (rng.random(dense.size) ** 3).astype(np.float32)
    grad2[dense == 3] = 0
    # a cell whose level is exactly one of its values (its only pixels with a gradient):
    # pixels equal to a level are on its bright side
    nine = dense == 9
    value[nine] = rng.choice(np.float32([0.25, 0.5, 0.75]), int(nine.sum()))
    grad2[nine & (value != 0.5)] = 0
    got = refine._levels(dense.astype(np.intp), 61, value, grad2)
    want = reference_levels(dense.astype(np.intp), 61, value, grad2)
    np.testing.assert_array_equal(got[0].view(np.uint64), want[0].view(np.uint64))
    np.testing.assert_array_equal(got[1], want[1])
    np.testing.assert_array_equal(got[2], want[2])
    assert not got[1][3] and not got[1][5] and got[1][7] and got[2].any() and not got[2].all()
    assert got[0][9] == 0.5 and got[2][nine & (value == 0.5)].all()


DTYPES = [(np.uint8, 255), (np.uint16, 60000), (np.int32, 2e9), (np.uint64, 1.8e19)]
DTYPES += [(np.float32, 1e3), (np.float64, 1e3), (bool, 1)]


@pytest.mark.parametrize(("dtype", "top"), DTYPES)
def test_band_intensity_and_gradient_equal_the_plain_float32_rule_for_every_dtype(dtype, top):
    # each channel: (x - low) * (1 / (high - low)) in float32, clipped to 0..1, averaged over
    # the channels; the frame's edge repeats; gradient = squared central differences
    rng = np.random.default_rng(5)
    channels = [(rng.random((30, 40)) * top).astype(dtype) for _ in range(2)]
    limits = [(3.0, top * 0.7), (1.0, top * 0.3)]
    rows, cols = np.mgrid[1:31, 1:41]
    idx = (rows * 42 + cols).ravel()[::3]  # band pixels: flat indices in the padded frame
    value, grad2 = refine._value_and_gradient(channels, limits, idx, (30, 40))

    def norm(ch, lo, hi):
        padded = np.pad(ch, 1, mode="edge").astype(np.float32)
        out = (padded - np.float32(lo)) * np.float32(1.0 / (hi - lo))
        return np.clip(out, 0, 1).astype(np.float32)

    mean = sum(norm(c, lo, hi) for c, (lo, hi) in zip(channels, limits, strict=True))
    mean = (mean / np.float32(2)).astype(np.float32).ravel()
    gy = mean[idx + 42] - mean[idx - 42]
    gx = mean[idx + 1] - mean[idx - 1]
    np.testing.assert_array_equal(value, mean[idx])
    np.testing.assert_array_equal(grad2, gx * gx + gy * gy)
