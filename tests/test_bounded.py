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


# ------------------------------------------------------------------------ other ops inputs


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (
            lambda: ops.tight_bbox(np.ones(5, bool)),
            ValueError,
            r"mask must be 2-D .* got shape \(5,\)",
        ),
        (
            lambda: ops.fill_mask(np.zeros((5, 5), np.uint32), (np.nan, 1)),
            TypeError,
            r"seed_point must be a \(row, col\) pair of pixel indices; got \(nan, 1\)",
        ),
        (
            lambda: ops.fill_mask(np.zeros((5, 5), np.uint32), (1,)),
            TypeError,
            r"seed_point must be a \(row, col\) pair",
        ),
        (
            lambda: ops.fill_mask(np.zeros((0, 0), np.uint32), (0, 0)),
            ValueError,
            r"label_image has no pixels \(shape \(0, 0\)\); there is nothing to fill",
        ),
        (lambda: ops.pad_symmetric(np.ones(5)), ValueError, "at least 2 dimensions"),
        (
            lambda: ops.pad_symmetric(np.ones((2, 2)), min_size=10**12),
            ValueError,
            r"min_size must be from 0 to 65536 pixels \(Celldetective uses 256\)",
        ),
        (lambda: ops.pad_symmetric(np.ones((2, 2)), min_size=2.5), TypeError, "min_size must be"),
        (
            lambda: ops.percentile_limits(np.arange(10), max_samples=0),
            ValueError,
            "max_samples must be a whole number >= 1",
        ),
        (lambda: ops.percentile_limits(np.array(["a"])), TypeError, "real numbers; got dtype <U1"),
        (
            lambda: ops.percentile_limits(np.array([1j])),
            TypeError,
            "real numbers; got dtype complex",
        ),
        (lambda: ops.check_bbox((0, 1, 0, 1), (5,)), TypeError, r"shape must be 2 integers"),
        (lambda: ops.check_bbox((0, 1e300, 0, 1), (5, 5)), ValueError, r"outside the image"),
        (lambda: ops.check_bbox((0, np.inf, 0, 1), (5, 5)), TypeError, "bbox must be 4 integers"),
    ],
)
def test_other_ops_refuse_bad_input_with_a_message(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_other_ops_edge_cases_that_have_an_answer():
    empty = ops.relabel_sequential(np.zeros((0, 5), np.uint32))
    assert empty.shape == (0, 5) and empty.dtype == np.uint32
    assert ops.percentile_limits(np.array([True, False, True]), low=0, high=100) == (0.0, 1.0)
    box, mask = ops.fill_mask(np.zeros((1, 1), np.uint32), (0, 0))
    assert box == (0, 1, 0, 1) and mask.all()
    assert ops.fill_mask([[0, 1], [1, 0]], (0.0, 0.0))[0] == (0, 1, 0, 1)


# ------------------------------------------------------------------------------- filters


def _nuclei():
    rng = np.random.default_rng(5)
    image = rng.normal(200.0, 10.0, (48, 64))
    rows, cols = np.ogrid[:48, :64]
    for r, c in [(12, 14), (30, 40), (20, 52)]:
        image[(rows - r) ** 2 + (cols - c) ** 2 <= 36] += 1000
    return image.astype(np.uint16)


@pytest.mark.parametrize(
    ("filters", "match"),
    [
        (
            [["gauss", 1e9]],
            r"'gauss' sigma must be a number from 0 to 100 \(pixels\); got 1000000000.0",
        ),
        ([["gauss", -1]], r"'gauss' sigma must be a number from 0 to 100 \(pixels\); got -1"),
        ([["gauss", float("nan")]], r"'gauss' sigma must be a number from 0 to 100 .*got nan"),
        ([["gauss", float("inf")]], r"'gauss' sigma must be a number from 0 to 100 .*got inf"),
        ([["median", 1e9]], r"'median' size must be a number from 1 to 31 \(pixels\)"),
        ([["median", 0]], r"'median' size must be a number from 1 to 31"),
        ([["variance", 1e9]], r"'variance' size must be a number from 1 to 4096"),
        ([["std", -3]], r"'std' size must be a number from 1 to 4096"),
        ([["maximum", 1e12]], r"'maximum' size must be a number from 1 to 4096"),
        ([["minimum", float("inf")]], r"'minimum' size must be a number from 1 to 4096"),
        ([["tophat", 1e9]], r"'tophat' size must be a number from 1 to 50"),
        ([["dog", 1e9, 1e9]], r"'dog' sigma_low must be a number from 0 to 100"),
        ([["dog", 1, -2]], r"'dog' sigma_high must be a number from 0 to 100"),
        (
            [["dog", 3, 1]],
            r"'dog' sigma_low \(3\) must not exceed sigma_high \(1; 2 when not given\)",
        ),
        ([["dog", 3]], r"'dog' sigma_low \(3\) must not exceed sigma_high \(2; 2 when not given\)"),
        ([["log", -2]], r"'log' sigma must be a number from 0 to 100"),
        ([["subtract", float("inf")]], r"'subtract' value must be a finite number; got inf"),
        ([["invert", float("nan")]], r"'invert' value must be a finite number; got nan"),
        ([["gauss", 1, 2, 3]], r"'gauss' takes at most 1 argument\(s\) \(sigma\), got \[1, 2, 3\]"),
        ([["laplace", 1]], r"'laplace' takes at most 0 argument\(s\) \(no arguments\)"),
        ([["abs"]] * 33, "filters: 33 steps; a configuration may chain at most 32 filters"),
    ],
)
def test_filter_parameters_are_bounded(filters, match):
    from segpaint.segment import segment

    # before: MemoryError (59.6 GiB for gauss 1e9, 888 PiB for median 1e9), OverflowError,
    # "cannot convert float NaN to integer", or a silently empty result (subtract inf)
    with pytest.raises(ValueError, match="filters: " + match.removeprefix("filters: ")):
        segment(_nuclei(), filters=filters, thresholds=[500, 1e10])


def test_filter_parameters_at_their_limits_still_run():
    from segpaint.segment import segment

    image = _nuclei()
    for filters in (
        [["gauss", 0]],
        [["gauss", 100]],
        [["median", 31]],
        [["variance", 4096]],
        [["dog", 0, 100]],
        [["tophat", 50]],
        [["subtract", -1e300]],
    ):
        labels = segment(image[:, :40], filters=filters, thresholds=[-1e300, 1e300])
        assert labels.shape == (48, 40)


def test_filters_on_tiny_and_empty_images():
    from segpaint.segment._filters import apply_filters, normalize_filters

    steps = normalize_filters([["variance", 4], ["gauss", 2], "invert", ["median", 3]])
    np.testing.assert_array_equal(apply_filters(np.ones((1, 1)), steps), [[0.0]])
    with pytest.raises(
        ValueError, match=r"filters: expected a non-empty 2-D image, got shape \(0, 0\)"
    ):
        apply_filters(np.zeros((0, 0)), steps)
    with pytest.raises(ValueError, match=r"non-empty 2-D image, got shape \(3, 4, 4\)"):
        apply_filters(np.zeros((3, 4, 4)), steps)


def test_variance_of_huge_values_is_inf_not_a_warning():
    from segpaint.segment._filters import apply_filters, normalize_filters

    out = apply_filters(np.full((4, 4), 1e200), normalize_filters([["variance", 2]]))
    assert out.shape == (4, 4)  # overflow is an inf or NaN value, never a raised RuntimeWarning


# ------------------------------------------------------------------------------- queries


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("(" * 400 + "area < 5" + ")" * 400, "more than 32 nested parentheses or 'not'"),
        ("not " * 400 + "area < 5", "more than 32 nested parentheses or 'not'"),
        ("(" * 33 + "area < 5" + ")" * 33, "more than 32 nested"),
        (" or ".join(["area < 5"] * 300), "is 3596 characters long; a query may have at most 2000"),
    ],
)
def test_query_depth_and_length_are_bounded(text, match):
    from segpaint.segment import QuerySyntaxError, parse_query

    # before: RecursionError (400-deep), or minutes of parsing for a 1 MB query
    with pytest.raises(QuerySyntaxError, match=match):
        parse_query(text, {"area"})


def test_query_at_the_limits_evaluates():
    from segpaint.segment import parse_query

    deep = parse_query("(" * 32 + "area < 5" + ")" * 32, {"area"})
    np.testing.assert_array_equal(deep({"area": [1, 9]}), [True, False])
    negated = parse_query("not " * 32 + "area < 5", {"area"})  # even count: unchanged
    np.testing.assert_array_equal(negated({"area": [1, 9]}), [True, False])
    long = parse_query(" or ".join(f"area == {i}" for i in range(130)), {"area"})
    np.testing.assert_array_equal(long({"area": [3, 129, 130]}), [True, True, False])
    inf = parse_query("area < 1e999", {"area"})  # an overflowing number is +inf
    np.testing.assert_array_equal(inf({"area": [1e308]}), [True])


def test_query_values_are_checked():
    from segpaint.segment import parse_query

    query = parse_query("area < 5 and eccentricity > 0.5", {"area", "eccentricity"})
    with pytest.raises(KeyError, match="no values for 'eccentricity'"):
        query({"area": [1]})
    with pytest.raises(ValueError, match=r"one value per object; got different lengths \(area: 2"):
        query({"area": [1, 2], "eccentricity": [1, 2, 3]})
    with pytest.raises(ValueError, match=r"values of 'area' must be 1-D .* got shape \(1, 2\)"):
        query({"area": [[1, 2]], "eccentricity": [1, 2]})
    with pytest.raises(ValueError, match="values of 'area' must be numbers"):
        query({"area": ["x"], "eccentricity": [1]})


# ---------------------------------------------------------------------------- thresholds


def test_infinite_thresholds_are_open_bounds():
    from segpaint.segment import segment

    image = _nuclei()
    reference = segment(image, thresholds=[600, 1e10])
    assert reference.max() == 3
    for high in (np.inf, float("inf"), "inf", "Infinity", 1e400):
        np.testing.assert_array_equal(segment(image, thresholds=[600, high]), reference)
    everything = segment(image, thresholds=[-np.inf, np.inf], do_watershed=False)
    assert everything.max() == 1  # all pixels (away from the filters' edge) are one object
    nothing = segment(image, thresholds=[np.inf, np.inf])
    assert nothing.max() == 0


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ({"thresholds": [float("nan"), 5]}, ValueError, "thresholds: NaN is not a threshold"),
        ({"thresholds": [600, float("nan")]}, ValueError, "thresholds: NaN is not a threshold"),
        ({"thresholds": [600, "lots"]}, ValueError, r"\[8000, 'inf'\]"),
        (
            {"marker_min_distance": float("inf")},
            ValueError,
            "marker_min_distance: expected a finite",
        ),
        (
            {"marker_min_distance": float("nan")},
            ValueError,
            "marker_min_distance: expected a finite",
        ),
        ({"marker_footprint_size": -4}, ValueError, "marker_footprint_size: expected a finite"),
        (
            {"feature_queries": ["area < 1"] * 65},
            ValueError,
            "feature_queries: 65 queries; at most 64",
        ),
        ({"equalize_reference": np.zeros((0, 0))}, ValueError, "non-empty 2-D real reference"),
        ({"equalize_reference": np.full((4, 4), np.nan)}, ValueError, "NaN or infinite values"),
    ],
)
def test_bad_threshold_parameters(params, error, match):
    from segpaint.segment import segment

    with pytest.raises(error, match=match):
        segment(_nuclei(), **{"thresholds": [600, 1e10], **params})


def test_huge_marker_sizes_are_clipped_to_the_image():
    from skimage.feature import peak_local_max

    from segpaint.segment import segment

    image = _nuclei()
    # before: np.ones((1e9, 1e9)) for the footprint (MemoryError)
    side = max(image.shape)
    clipped = segment(image, thresholds=[600, 1e10], marker_footprint_size=2 * side + 1)
    for size in (10**9, 10**6):
        labels = segment(image, thresholds=[600, 1e10], marker_footprint_size=size)
        np.testing.assert_array_equal(labels, clipped)
    far = segment(image, thresholds=[600, 1e10], marker_min_distance=10**9)
    np.testing.assert_array_equal(
        far, segment(image, thresholds=[600, 1e10], marker_min_distance=81)
    )
    # the premise: a footprint past twice the side, or a spacing past the diagonal, finds the same
    relief = np.random.default_rng(0).random((20, 30))
    for a, b in (((61, 1), (201, 1)), ((3, 37), (3, 500))):
        np.testing.assert_array_equal(
            peak_local_max(relief, footprint=np.ones((a[0], a[0])), min_distance=a[1]),
            peak_local_max(relief, footprint=np.ones((b[0], b[0])), min_distance=b[1]),
        )


def test_threshold_segment_images_of_any_size_and_values():
    from segpaint.segment import segment

    assert segment(np.ones((1, 1)), thresholds=[0.5, 2]).shape == (1, 1)
    assert segment(np.ones((1, 1))).max() == 0
    assert segment(np.arange(5.0)[None]).shape == (1, 5)
    assert segment(np.full((20, 20), 7.0), thresholds=["otsu", np.inf]).shape == (20, 20)
    assert segment(np.full((10, 10), np.nan)).max() == 0  # no finite pixel: no object
    with pytest.raises(ValueError, match=r"image: expected a non-empty \(C, Y, X\) array"):
        segment(np.zeros((0, 0)))
    with pytest.raises(ValueError, match=r"got shape \(1, 5, 0\)"):
        segment(np.zeros((5, 0)))
    with pytest.raises(TypeError, match="expected real numbers .* got dtype complex128"):
        segment(np.ones((8, 8), complex))
    with pytest.raises(TypeError, match="got dtype object"):
        segment(np.full((8, 8), None))
    # +inf pixels count as the brightest finite value (before: "autodetected range of
    # [1.0, inf] is not finite" from Otsu)
    image = _nuclei().astype(np.float64)
    spiked = image.copy()
    spiked[12, 14] = np.inf
    np.testing.assert_array_equal(
        segment(spiked, thresholds=["otsu", np.inf]),
        segment(np.where(np.isinf(spiked), image.max(), spiked), thresholds=["otsu", np.inf]),
    )


def test_read_threshold_config_bad_files(tmp_path):
    from segpaint.segment import read_threshold_config

    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ValueError, match="nests lists or objects too deeply"):
        read_threshold_config(deep)  # before: RecursionError
    latin = tmp_path / "latin.json"
    latin.write_bytes('{"filters": [["gauss", 2]], "note": "\xb5m"}'.encode("latin-1"))
    with pytest.raises(ValueError, match="is not UTF-8 text .* save it as UTF-8 JSON"):
        read_threshold_config(latin)  # before: UnicodeDecodeError
    folder = tmp_path / "threshold_config_cells.json"
    folder.mkdir()
    with pytest.raises(IsADirectoryError, match="is a folder; pass the path of a"):
        read_threshold_config(folder)
    infinite = tmp_path / "inf.json"
    infinite.write_text('{"thresholds": [8000, Infinity], "filters": [["gauss", 1e400]]}')
    with pytest.raises(ValueError, match="'gauss' sigma must be a number from 0 to 100"):
        read_threshold_config(infinite)
    infinite.write_text('{"thresholds": [8000, Infinity]}')
    assert read_threshold_config(infinite)["thresholds"] == [8000, np.inf]


# ------------------------------------------------------------------------------- metrics


def _dense_reference(true, pred, threshold):
    """The matching on the full IoU matrix (what match_instances did before)."""
    from scipy.optimize import linear_sum_assignment

    t_ids = np.unique(true[true > 0])
    p_ids = np.unique(pred[pred > 0])
    iou = np.zeros((len(t_ids), len(p_ids)))
    for i, t in enumerate(t_ids):
        for j, p in enumerate(p_ids):
            inter = np.sum((true == t) & (pred == p))
            iou[i, j] = inter / np.sum((true == t) | (pred == p))
    if not (len(t_ids) and len(p_ids)):
        return 0, iou
    eligible = iou >= threshold
    rows, cols = linear_sum_assignment(np.where(eligible, -iou, 1.0))
    good = eligible[rows, cols]
    return int(good.sum()), iou


def test_matching_equals_the_dense_hungarian_reference():
    from scipy import ndimage as ndi

    from segpaint.metrics import iou_matrix, match_instances

    rng = np.random.default_rng(4)
    for _ in range(60):
        shape = (int(rng.integers(1, 30)), int(rng.integers(1, 30)))
        images = []
        for _ in range(2):
            blobs = ndi.gaussian_filter(rng.random(shape), 1.2) > rng.uniform(0.45, 0.55)
            labels = ndi.label(blobs)[0] * int(rng.integers(1, 5000))  # sparse label values
            images.append(labels)
        threshold = float(rng.choice([0.1, 0.3, 0.5, 0.8]))
        tp, dense = _dense_reference(images[0], images[1], threshold)
        result = match_instances(images[0], images[1], iou_threshold=threshold)
        assert result.tp == tp
        np.testing.assert_allclose(iou_matrix(images[0], images[1])[0], dense)


def test_matching_two_intensity_images_is_bounded():
    from segpaint.metrics import iou_matrix, match_instances

    # A raw image passed as labels: 65,536 "objects" on each side.  Before: a joint histogram
    # of 65536 x 65536 pairs (34 GB) for match_instances and iou_matrix.
    rng = np.random.default_rng(0)
    a = rng.integers(0, 65536, (512, 512))
    b = rng.integers(0, 65536, (512, 512))
    tracemalloc.start()
    result = match_instances(a, b)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert result.tp + result.fn == len(np.unique(a[a > 0]))
    assert result.tp + result.fp == len(np.unique(b[b > 0]))
    assert peak < 40 * a.nbytes
    with pytest.raises(ValueError, match=r"iou_matrix: \d+ true x \d+ predicted objects is more"):
        iou_matrix(a, b)
