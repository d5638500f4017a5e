"""Bounded work for any input (issue 8, part 5): strokes, labels, filters, queries, thresholds.

Every test here failed on the code before the bounds: a huge allocation, a raw numpy/scipy
error or a RecursionError instead of a result or a message that names the parameter.
"""

from __future__ import annotations

import time
import tracemalloc

import numpy as np
import pytest

from segpaint import ops
from segpaint.ops import labels as _labels

# ------------------------------------------------------------------------------- strokes


def _reference(shape, centres, radius, clip=None):
    """Every pixel within `radius` of one of `centres` (and inside `clip`), by brute force."""
    rr, cc = np.mgrid[: shape[0], : shape[1]]
    out = np.zeros(shape, bool)
    for r, c in centres:
        out |= (rr - r) ** 2 + (cc - c) ** 2 <= radius * radius
    if clip is not None:
        keep = np.zeros(shape, bool)
        keep[max(clip[0], 0) : max(clip[1], 0), max(clip[2], 0) : max(clip[3], 0)] = True
        out &= keep
    return out


def _painted(shape, hit):
    out = np.zeros(shape, bool)
    if hit is not None:
        out[ops.bbox_slices(hit[0])] = hit[1]
    return out


@pytest.fixture
def small_batches(monkeypatch):
    """Tiny chunk sizes, so that a short stroke takes the paths meant for very long ones."""
    monkeypatch.setattr(_labels, "_CHUNK", 2)
    monkeypatch.setattr(_labels, "_DIRECT_MAX", 3)


@pytest.fixture
def distance_transform(monkeypatch):
    """Always stamp through the distance transform, never as row spans."""
    monkeypatch.setattr(_labels, "_SPANS_PER_PIXEL", 0)
    monkeypatch.setattr(_labels, "_SPANS_MIN", 0)


def _random_strokes(n):
    rng = np.random.default_rng(8)
    for _ in range(n):
        shape = tuple(int(v) for v in rng.integers(1, 40, 2))
        points = rng.uniform(-60, 100, (int(rng.integers(1, 6)), 2))
        radius = float(rng.choice([0.5, 0.7, 1, 1.5, 2.5, 5.2, 13]))
        clip = None
        if rng.random() < 0.3:
            clip = tuple(int(v) for v in rng.integers(-5, 45, 4))
        yield shape, points, radius, clip


@pytest.mark.parametrize("path", ["spans", "grid", "distance"])
def test_strokes_crossing_the_frame_paint_exactly_the_in_frame_part(path, request):
    # Strokes from far outside to far outside, on small frames: the result equals the union of
    # disks at the stroke's (unclipped) centres, cut to the frame and the clip box.
    if path == "grid":
        request.getfixturevalue("small_batches")
    if path == "distance":
        request.getfixturevalue("distance_transform")
    for shape, points, radius, clip in _random_strokes(150):
        expected = _reference(shape, ops.stroke_centres(points), radius, clip)
        got = _painted(shape, ops.stroke_mask(shape, points, radius, clip=clip))
        np.testing.assert_array_equal(got, expected, err_msg=f"{shape} {points} {radius} {clip}")


def test_stroke_centres_in_a_box_are_the_unclipped_centres_inside_it():
    rng = np.random.default_rng(3)
    for _ in range(200):
        points = rng.uniform(-80, 120, (int(rng.integers(1, 7)), 2))
        box = tuple(int(v) for v in rng.integers(-10, 45, 4))
        every = ops.stroke_centres(points)
        inside = every[
            (every[:, 0] >= box[0])
            & (every[:, 0] < box[1])
            & (every[:, 1] >= box[2])
            & (every[:, 1] < box[3])
        ]
        if len(inside):
            keep = np.ones(len(inside), bool)
            keep[1:] = np.any(inside[1:] != inside[:-1], axis=1)
            inside = inside[keep]
        np.testing.assert_array_equal(ops.stroke_centres(points, box=box), inside.reshape(-1, 2))


def test_stroke_to_1e9_paints_the_in_frame_diagonal_in_bounded_memory():
    # Before: about 7.7 GB of centres for this stroke (then MemoryError).
    shape = (64, 64)
    tracemalloc.start()
    t0 = time.perf_counter()
    hit = ops.stroke_mask(shape, [(10, 10), (1e9, 1e9)], 3)
    seconds = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    # The stroke runs along the diagonal (10, 10), (11, 11), ...: the same pixels as a stroke
    # that ends just past the frame.
    diagonal = [(i, i) for i in range(10, 80)]
    np.testing.assert_array_equal(_painted(shape, hit), _reference(shape, diagonal, 3))
    assert peak < 1 << 20
    assert seconds < 1.0


def test_stroke_entirely_outside_changes_nothing():
    assert ops.stroke_mask((50, 50), [(-1e9, -1e9), (-1e9, 1e9)], 10) is None
    assert ops.stroke_mask((50, 50), [(60.6, -20), (60.6, 80)], 10) is None
    assert ops.stroke_mask((50, 50), [(-5, -5), (-5, 80)], 3.5) is None  # 5 px above row 0
    assert ops.stroke_mask((50, 50), [(-3, -5), (-3, 80)], 3.5) is not None  # 3 px: touches
    assert ops.stroke_mask((50, 50), [(10, 10)], 3, clip=(30, 40, 30, 40)) is None
    assert ops.stroke_mask((0, 50), [(0, 0)], 3) is None
    assert ops.stroke_centres([(-1e9, 0), (-1e9, 1e9)], box=(0, 10, 0, 10)).shape == (0, 2)


def test_stroke_session_paint_far_outside(stack):
    import segpaint

    session = segpaint.open(stack)
    assert session.paint("cells", 0, [(-1e12, 5), (-1e12, 1e12)], radius=5, label=1) is None
    change = session.paint("cells", 0, [(5, -1e12), (5, 1e12)], radius=2, label=1)
    assert change is not None
    labels = np.asarray(session.labels("cells", 0))
    assert (labels[3:8] == 1).all() and labels[8:].max() == 0 and labels[:3].max() == 0


@pytest.mark.parametrize(
    ("shape", "points", "radius"),
    [
        ((2048, 2048), [(0, 0), (2047, 2047)], 512),  # the largest brush across the frame
        ((2048, 2048), [(1024, -1e9), (1024, 1e9)], 512),
        ((256, 256), [(0, 0), (255, 255)], 128),
    ],
)
def test_largest_brush_peak_memory_bounded_by_the_frame(shape, points, radius):
    # Before: one index per (centre, disk pixel), 12 GiB for the 2048x2048 diagonal.
    frame_bytes = shape[0] * shape[1] * 4  # one uint32 label frame
    ops.disk_offsets.cache_clear()
    _labels._half_widths.cache_clear()
    tracemalloc.start()
    hit = ops.stroke_mask(shape, points, radius)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert hit is not None
    assert peak < 20 * frame_bytes, f"peak {peak / frame_bytes:.1f} x the frame"
    full = _painted(shape, hit)
    if points[0][0] == 0:
        # the diagonal: (0, c) is painted iff some centre (i, i) is within the radius
        side = shape[0]
        assert full[np.arange(side), np.arange(side)].all()
        for col in (int(radius * np.sqrt(2)) - 1, int(radius * np.sqrt(2)) + 1):
            i = np.arange(side)
            near = (i * i + (col - i) ** 2 <= radius * radius).any()
            assert full[0, col] == near and full[col, 0] == near
        assert not full[0, -1]
    else:
        # a horizontal band of rows 1024 +- 512 over the whole width
        assert full[512:1537].all() and not full[:512].any() and not full[1537:].any()


def test_very_long_zigzag_is_bounded_and_exact_in_the_frame(small_batches):
    rng = np.random.default_rng(0)
    points = rng.uniform(-30, 60, (300, 2))
    shape = (32, 24)
    expected = _reference(shape, ops.stroke_centres(points, box=(-5, 37, -5, 29)), 4)
    np.testing.assert_array_equal(_painted(shape, ops.stroke_mask(shape, points, 4)), expected)


def test_half_widths_match_the_disk_offsets():
    for radius in [0.5, 0.99, 1, np.sqrt(2), 1.5, 2, 2.5, np.sqrt(50), 7.1, 10, 33.3, 512]:
        offsets = ops.disk_offsets(radius)
        widths = _labels._half_widths(float(radius))
        k = len(widths) // 2
        for dr in range(-k, k + 1):
            assert widths[dr + k] == offsets[offsets[:, 0] == dr, 1].max()


def test_too_many_points_is_refused_with_the_limit():
    points = np.zeros((ops.STROKE_POINTS_MAX + 1, 2))
    with pytest.raises(
        ValueError, match=r"points has 10001 vertices; a stroke takes at most 10000"
    ):
        ops.stroke_mask((10, 10), points, 2)
    assert ops.stroke_mask((10, 10), points[:-1], 2) is not None


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (
            {"points": [(0, 1e300)]},
            ValueError,
            r"coordinate of 1e\+300 pixels; .* within \+-1.1259e\+15",
        ),
        ({"points": [(0, np.inf)]}, ValueError, "NaN or infinite"),
        ({"radius": "big"}, ValueError, "radius must be a number between 0.5 and 512"),
        ({"radius": None}, ValueError, "radius must be a number between 0.5 and 512"),
        ({"shape": (10,)}, TypeError, r"shape must be 2 integers \(rows, cols\)"),
        ({"shape": (10.5, 3)}, TypeError, r"shape must be 2 integers \(rows, cols\)"),
        ({"shape": (-1, 3)}, ValueError, "shape must not be negative"),
        ({"clip": (0, 3)}, TypeError, r"clip must be 4 integers \(row0, row1, col0, col1\)"),
    ],
)
def test_bad_stroke_arguments(kwargs, error, match):
    args = {"shape": (10, 10), "points": [(1, 1)], "radius": 2, **kwargs}
    with pytest.raises(error, match=match):
        ops.stroke_mask(args.pop("shape"), args.pop("points"), args.pop("radius"), **args)


def test_stroke_centres_without_a_box_refuses_a_huge_stroke():
    with pytest.raises(ValueError, match=r"the stroke is 1000000000 pixels long.*pass box="):
        ops.stroke_centres([(0, 0), (0, 1e9)])
    with pytest.raises(TypeError, match=r"box must be 4 integers"):
        ops.stroke_centres([(0, 0)], box=(0, 1))


# -------------------------------------------------------------------------------- labels

TOP = 2**32 - 1


def test_next_label_at_the_top_of_the_dtype_says_how_to_fix():
    assert ops.next_label(TOP - 1) == TOP
    with pytest.raises(
        ValueError,
        match=r"no label is left after 4294967295, the largest uint32 label;.*"
        r"segpaint\.ops\.relabel_sequential",
    ):
        ops.next_label(TOP)
    with pytest.raises(ValueError, match="no label is left after 255, the largest uint8 label"):
        ops.next_label(255, dtype=np.uint8)
    with pytest.raises(ValueError, match=r"max_label=4294967296 is outside the range"):
        ops.next_label(2**32)
    with pytest.raises(ValueError, match=r"max_label=-1 is outside the range"):
        ops.next_label(-1)
    with pytest.raises(TypeError, match="max_label must be a non-negative integer; got 2.5"):
        ops.next_label(2.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="dtype must be an integer dtype such as np.uint32"):
        ops.next_label(3, dtype=np.float32)


def test_relabel_sequential_frees_labels_after_the_top():
    frame = np.array([[0, TOP], [7, TOP]], dtype=np.uint32)
    relabelled = ops.relabel_sequential(frame)
    np.testing.assert_array_equal(relabelled, [[0, 2], [1, 2]])
    assert ops.next_label(int(relabelled.max())) == 3


def test_session_new_label_at_the_top(stack):
    import segpaint

    session = segpaint.open(stack)
    session.paint("cells", 0, [(5, 5)], radius=2, label=TOP)
    with pytest.raises(ValueError, match="no label is left after 4294967295"):
        session.new_label("cells")


@pytest.mark.parametrize(
    ("label", "error", "match"),
    [
        (2**32, ValueError, r"label=4294967296 is outside the range of uint32 labels"),
        (np.uint64(2**63), ValueError, r"label=9223372036854775808 is outside the range"),
        (-1, ValueError, r"label=-1 is outside the range of uint32 labels \(0..4294967295\)"),
        (np.int8(-3), ValueError, r"label=-3 is outside the range"),
        (True, TypeError, r"got the boolean True \(pass 1 or 0\)"),
        (np.bool_(False), TypeError, r"got the boolean False \(pass 1 or 0\)"),
        (1.5, TypeError, "label must be a non-negative integer; got 1.5"),
        (float("nan"), TypeError, "label must be a non-negative integer; got nan"),
        (float("inf"), TypeError, "label must be a non-negative integer; got inf"),
        (1e20, ValueError, r"label=100000000000000000000 is outside the range"),
        ("3", TypeError, "label must be a non-negative integer; got '3'"),
        (None, TypeError, "label must be a non-negative integer; got None"),
    ],
)
def test_check_label_refuses(label, error, match):
    with pytest.raises(error, match=match):
        ops.check_label(label)


def test_check_label_accepts_whole_numbers_up_to_the_top():
    assert ops.check_label(TOP) == TOP
    assert ops.check_label(np.uint32(TOP)) == TOP
    assert ops.check_label(7.0) == 7
    assert ops.check_label(0) == 0
    assert ops.check_label(255, dtype=np.uint8) == 255
    with pytest.raises(ValueError, match="outside the range of uint8 labels"):
        ops.check_label(256, dtype=np.uint8)
