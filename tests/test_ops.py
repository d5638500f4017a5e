"""The pure label operations in segpaint.ops."""

from __future__ import annotations

import numpy as np
import pytest

from segpaint import ops


def _brute_force_stroke(shape, points, radius):
    """Reference: every pixel within `radius` of some DDA centre of the polyline."""
    centres = ops.stroke_centres(points)
    rr, cc = np.mgrid[: shape[0], : shape[1]]
    out = np.zeros(shape, bool)
    for r, c in centres:
        out |= (rr - r) ** 2 + (cc - c) ** 2 <= radius * radius
    return out


@pytest.mark.parametrize("radius", [0.5, 1, 2.5, 6, 10])
def test_stroke_mask_matches_brute_force(radius):
    shape = (60, 70)
    points = [(3.2, 4.7), (40.5, 66.1), (55, 10)]
    bbox, mask = ops.stroke_mask(shape, points, radius)
    full = np.zeros(shape, bool)
    full[ops.bbox_slices(bbox)] = mask
    np.testing.assert_array_equal(full, _brute_force_stroke(shape, points, radius))


def test_fast_stroke_has_no_gaps():
    # Two points 200 px apart: the painted band is connected along its whole length.
    bbox, mask = ops.stroke_mask((50, 300), [(25, 10), (25, 210)], 1)
    assert bbox == (24, 27, 9, 212)
    assert mask[1].all()


def test_stroke_clipped_to_image_and_box():
    bbox, _ = ops.stroke_mask((20, 20), [(0, 0)], 3)
    assert bbox == (0, 4, 0, 4)
    assert ops.stroke_mask((20, 20), [(-50, -50)], 3) is None
    bbox, _ = ops.stroke_mask((20, 20), [(10, 10)], 5, clip=(8, 12, 0, 20))
    assert bbox[0] >= 8 and bbox[1] <= 12


def test_disk_offsets_shape():
    offsets = ops.disk_offsets(2.0)
    assert len(offsets) == 13
    assert (offsets**2).sum(axis=1).max() <= 4


@pytest.mark.parametrize("bad", [0, -1, float("nan"), 10_000])
def test_bad_radius(bad):
    with pytest.raises(ValueError, match="radius must be a number between 0.5"):
        ops.stroke_mask((10, 10), [(1, 1)], bad)


@pytest.mark.parametrize("bad", [[], [[1, 2, 3]], [[np.nan, 1]]])
def test_bad_points(bad):
    with pytest.raises(ValueError, match="points"):
        ops.stroke_mask((10, 10), bad, 2)


def test_fill_mask_follows_contiguous_region_only():
    lab = np.zeros((300, 300), np.uint32)
    lab[10:200, 10:20] = 5  # a long thin cell
    lab[10:200, 30:40] = 5  # same label, not touching
    box, mask = ops.fill_mask(lab, (150, 15))
    assert box == (10, 200, 10, 20)
    assert mask.all()


def test_fill_mask_background_grows_to_whole_image():
    lab = np.zeros((500, 400), np.uint32)
    lab[100:110, 100:110] = 1
    box, mask = ops.fill_mask(lab, (0, 0))
    assert box == (0, 500, 0, 400)
    assert mask.sum() == 500 * 400 - 100


def test_fill_mask_connectivity():
    lab = np.eye(4, dtype=np.uint32)
    assert ops.fill_mask(lab, (0, 0))[1].sum() == 1
    assert ops.fill_mask(lab, (0, 0), connectivity=2)[1].sum() == 4
    with pytest.raises(ValueError, match="connectivity must be 1"):
        ops.fill_mask(lab, (0, 0), connectivity=3)


def test_fill_mask_seed_outside():
    with pytest.raises(ValueError, match="seed_point .* is outside the image"):
        ops.fill_mask(np.zeros((5, 5), np.uint32), (7, 1))


def test_relabel_sequential_keeps_order_and_background():
    lab = np.array([[0, 9, 9], [40, 0, 3]])
    np.testing.assert_array_equal(ops.relabel_sequential(lab), [[0, 2, 2], [3, 0, 1]])
    np.testing.assert_array_equal(ops.relabel_sequential(np.array([[4, 4]])), [[1, 1]])


def test_as_label_image_rejects_bad_values():
    with pytest.raises(ValueError, match="negative"):
        ops.as_label_image(np.array([[-1, 0]]))
    with pytest.raises(ValueError, match="NaN"):
        ops.as_label_image(np.array([[np.nan, 0]]))
    with pytest.raises(ValueError, match="fractional"):
        ops.as_label_image(np.array([[0.5, 0]]))
    with pytest.raises(ValueError, match="above the uint32"):
        ops.as_label_image(np.array([[2**40]]))
    assert ops.as_label_image(np.array([[1.0, 2.0]])).dtype == np.uint32


def test_check_label_range():
    with pytest.raises(ValueError, match="outside the range of uint32"):
        ops.check_label(2**32)
    with pytest.raises(TypeError, match="non-negative integer"):
        ops.check_label("3")  # type: ignore[arg-type]


def test_pad_symmetric_like_celldetective():
    img = np.ones((2, 255, 300), np.uint16)
    out, pad = ops.pad_symmetric(img)
    assert out.shape == (2, 257, 300)  # odd deficit rounded up to even, split equally
    assert pad == ((1, 1), (0, 0))
    assert out[:, 0].sum() == 0 and out[:, 1].all()


def test_percentile_limits():
    lo, hi = ops.percentile_limits(np.arange(1000), low=1, high=99)
    assert 9 <= lo <= 11 and 988 <= hi <= 990
