"""The threshold pipeline, its filters, the feature-query grammar and Celldetective configs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from segpaint.metrics import binary_iou, match_instances
from segpaint.segment import (
    FILTERS,
    QuerySyntaxError,
    method_names,
    parse_query,
    read_threshold_config,
    segment,
    select_channels,
    write_threshold_config,
)

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
SAMPLE = SHARED / "celldetective" / "sample"
REFERENCE = {
    "target_channel": 3,
    "thresholds": [8000, 1e10],
    "filters": [["variance", 4], ["gauss", 2]],
    "marker_min_distance": 13,
    "marker_footprint_size": 34,
    "feature_queries": ["area < 80"],
}


def disc(shape: tuple[int, int], center: tuple[float, float], radius: float) -> np.ndarray:
    rows, cols = np.ogrid[: shape[0], : shape[1]]
    return (rows - center[0]) ** 2 + (cols - center[1]) ** 2 <= radius**2


def synthetic_nuclei(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Noisy fluorescence-like discs of varied brightness, two pairs touching; and their truth."""
    rng = np.random.default_rng(seed)
    shape = (128, 160)
    truth = np.zeros(shape, np.int32)
    centers = [(20, 20), (20, 60), (60, 30), (64, 100), (100, 40), (100, 130), (30, 130)]
    radii = [9, 10, 8, 11, 9, 10, 8]
    # two touching pairs: watershed must split them
    centers += [(64, 121), (100, 57)]
    radii += [9, 8]
    image = rng.normal(200.0, 15.0, shape)
    for index, (center, radius) in enumerate(zip(centers, radii, strict=True), start=1):
        mask = disc(shape, center, radius) & (truth == 0)
        truth[mask] = index
        image[mask] += rng.uniform(600, 1500)
    return np.clip(image, 0, None).astype(np.uint16), truth


def test_parameter_free_default_finds_and_splits_nuclei() -> None:
    image, truth = synthetic_nuclei()
    labels = segment(image)
    assert labels.dtype == np.uint32
    assert labels.shape == image.shape
    result = match_instances(truth, labels, iou_threshold=0.5)
    assert result.tp == 9, result
    assert result.fp == 0
    assert np.unique(labels).tolist() == list(range(10))  # relabelled 1..N


@pytest.mark.parametrize("offset", [0, 100, 5000])
def test_parameter_free_default_ignores_a_camera_offset(offset: int) -> None:
    # Real cameras add a constant offset; the automatic level must not assume a zero background.
    image, truth = synthetic_nuclei()
    labels = segment(image.astype(np.float64) + offset)
    result = match_instances(truth, labels, iou_threshold=0.5)
    assert result.tp == 9, result
    assert result.fp == 0, result


def test_no_watershed_merges_touching_nuclei() -> None:
    image, truth = synthetic_nuclei()
    merged = segment(image, thresholds=["otsu", 1e10], filters=[["gauss", 1]], do_watershed=False)
    assert merged.max() == 7  # 9 nuclei, two touching pairs
    assert binary_iou(truth, merged) > 0.85
    split = segment(image, thresholds=["otsu", 1e10], filters=[["gauss", 1]], marker_min_distance=5)
    assert match_instances(truth, split).tp == 9


def test_explicit_thresholds_and_max_threshold() -> None:
    image = np.zeros((30, 60), np.uint16)
    image[5:15, 5:15] = 500
    image[5:15, 30:40] = 5000
    both = segment(image, thresholds=[100, 1e10], filters=[], do_watershed=False)
    assert both.max() == 2
    only_dim = segment(image, thresholds=[100, 1000], filters=[], do_watershed=False)
    assert only_dim.max() == 1
    assert only_dim[10, 10] == 1
    assert only_dim[10, 35] == 0


def test_feature_queries_remove_matching_objects() -> None:
    image = np.zeros((40, 80), np.uint16)
    image[5:10, 5:10] = 900  # area 25
    image[20:35, 20:35] = 900  # area 225
    image[20:30, 50:75] = 300  # area 250, dimmer
    base = {"thresholds": [100, 1e10], "filters": [], "do_watershed": False}
    everything = segment(image, **base)
    assert everything.max() == 3
    no_small = segment(image, feature_queries=["area < 80"], **base)
    assert no_small.max() == 2
    assert no_small[7, 7] == 0
    assert no_small[25, 25] > 0
    dim_or_small = segment(image, feature_queries=["area < 80 or intensity_mean < 500"], **base)
    assert dim_or_small.max() == 1
    assert dim_or_small[25, 25] == 1
    named = segment(
        image[np.newaxis],
        channel_names=["dna"],
        feature_queries=["dna_mean < 500 and area > 200"],
        **base,
    )
    assert named.max() == 2
    assert named[25, 60] == 0


def test_edge_exclusion_drops_a_border_band() -> None:
    image = np.full((40, 40), 1000, np.uint16)
    kept = segment(image, thresholds=[500, 1e10], filters=[["gauss", 2]], do_watershed=False)
    # a Gaussian of sigma 2 sees 2 sigma past the border: that band is unreliable
    assert not kept[:4].any()
    assert not kept[:, -4:].any()
    assert kept[4, 20] == 1
    assert kept[20, 20] == 1
    whole = segment(
        image,
        thresholds=[500, 1e10],
        filters=[["gauss", 2]],
        do_watershed=False,
        edge_exclusion=False,
    )
    assert whole.all()


def test_fill_holes() -> None:
    image = np.zeros((30, 30), np.uint16)
    image[5:25, 5:25] = 1000
    image[12:18, 12:18] = 0
    base = {"thresholds": [500, 1e10], "filters": [], "do_watershed": False}
    assert segment(image, **base)[15, 15] == 1
    assert segment(image, fill_holes=False, **base)[15, 15] == 0


def test_filters_are_applied_by_name() -> None:
    image = np.zeros((40, 40), np.uint16)
    image[10:30, 10:30] = 1000
    # the variance filter turns a flat square into its outline: threshold keeps a ring
    ring = segment(
        image,
        thresholds=[1000, 1e10],
        filters=[["variance", 3]],
        do_watershed=False,
        fill_holes=False,
    )
    assert ring[20, 20] == 0
    assert ring[10, 20] == 1
    inverted = segment(
        image,
        thresholds=[500, 1e10],
        filters=[["invert", 1000]],
        do_watershed=False,
        fill_holes=False,
    )
    assert inverted[20, 20] == 0
    assert inverted[3, 3] == 1
    for name in ("gauss", "median", "std", "laplace", "dog", "log", "tophat", "abs", "subtract"):
        assert name in FILTERS


def test_channel_selection_by_name_and_target_channel() -> None:
    image, truth = synthetic_nuclei()
    stack = np.stack([np.zeros_like(image), image])
    by_name = segment(stack, channels=["dna"], channel_names=["bf", "dna"])
    by_target = segment(stack, channel_names=["bf", "dna"], target_channel="dna")
    by_index = segment(stack, target_channel=1)
    np.testing.assert_array_equal(by_name, by_target)
    np.testing.assert_array_equal(by_name, by_index)
    assert match_instances(truth, by_name).tp == 9
    sub, names = select_channels(stack, [1], ["bf", "dna"])
    assert sub.shape == (1, *image.shape)
    assert names == ["dna"]


def test_empty_and_flat_images_give_no_labels() -> None:
    assert segment(np.zeros((20, 20), np.uint16)).max() == 0
    assert segment(np.full((20, 20), 7, np.uint16)).max() == 0


def test_errors_name_the_parameter() -> None:
    image = np.zeros((2, 10, 10), np.uint16)
    with pytest.raises(TypeError, match=r"unknown parameter.*'threshold'.*check the spelling"):
        segment(image, threshold=[1, 2])
    with pytest.raises(ValueError, match=r"filters: unknown filter 'os\.system'"):
        segment(image, filters=[["os.system", 1]])
    with pytest.raises(ValueError, match=r"thresholds: expected \[min, max\]"):
        segment(image, thresholds=[1])
    with pytest.raises(ValueError, match="target_channel: index 5 is out of range"):
        segment(image, target_channel=5)
    with pytest.raises(ValueError, match="channels: no channel named 'gfp'"):
        segment(image, channels=["gfp"], channel_names=["a", "b"])
    with pytest.raises(ValueError, match=r"image: expected a \(C, Y, X\) or \(Y, X\) array"):
        segment(np.zeros((2, 2, 10, 10)))
    with pytest.raises(ValueError, match="method: unknown method 'CP_cyto9'"):
        segment(image, "CP_cyto9")
    with pytest.raises(QuerySyntaxError, match="unknown property 'volume'"):
        segment(image + 100, thresholds=[0, 1e10], filters=[], feature_queries=["volume < 3"])
    assert "threshold" in method_names()
    assert "SD_versatile_fluo" in method_names()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("area < 80", [True, False, False]),
        ("area<=100", [True, True, False]),
        ("80 < area", [False, True, True]),
        ("area > 50 and area < 150", [False, True, False]),
        ("area < 80 or eccentricity > 0.9", [True, False, True]),
        ("not (area < 80)", [False, True, True]),
        ("~(area < 80) & eccentricity < 0.5", [False, True, False]),
        ("50 < area <= 100", [False, True, False]),
        ("area == 200 | area != 100", [True, False, True]),
        ("area > 1e2", [False, False, True]),
    ],
)
def test_query_grammar(text: str, expected: list[bool]) -> None:
    values = {"area": [50.0, 100.0, 200.0], "eccentricity": [0.1, 0.2, 0.95]}
    query = parse_query(text, {"area", "eccentricity"})
    assert query(values).tolist() == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("__import__('os').system('ls')", "unexpected character"),
        ("area < 80; rm", "unexpected character ';'"),
        ("area.sum() > 3", "unexpected character '.'"),
        ("area", "expected a comparison operator"),
        ("area < ", "expected a property name or a number at the end"),
        ("area < 80 and", "expected a property name or a number at the end"),
        ("(area < 80", "missing '\\)'"),
        ("area < size", "each comparison needs one property and one number"),
        ("1 < 2", "each comparison needs one property and one number"),
        ("", "empty query"),
        ("volume > 3", "unknown property 'volume'"),
        ("area < 80 80", "unexpected token"),
    ],
)
def test_query_grammar_rejects(text: str, message: str) -> None:
    with pytest.raises(QuerySyntaxError, match=message):
        parse_query(text, {"area", "size"})


def test_threshold_config_round_trip(tmp_path: Path) -> None:
    path = write_threshold_config(tmp_path / "threshold_config_targets.json", REFERENCE)
    data = json.loads(path.read_text())
    assert list(data) == [
        "target_channel",
        "thresholds",
        "filters",
        "marker_min_distance",
        "marker_footprint_size",
        "feature_queries",
        "equalize_reference",
        "do_watershed",
        "fill_holes",
    ]
    assert data["filters"] == [["variance", 4.0], ["gauss", 2.0]]
    params = read_threshold_config(path)
    assert params["thresholds"] == [8000, 1e10]
    image, _ = synthetic_nuclei()
    stack = np.stack([image] * 4)
    np.testing.assert_array_equal(segment(stack, path), segment(stack, **REFERENCE))
    # keywords override the file
    np.testing.assert_array_equal(
        segment(stack, path, thresholds=[1e9, 1e10]), np.zeros(image.shape, np.uint32)
    )


def test_reads_a_celldetective_config_with_extra_keys(tmp_path: Path) -> None:
    path = tmp_path / "threshold_config_effectors.json"
    config = {**REFERENCE, "equalize_reference": [False, 0], "do_watershed": True}
    config["fill_holes"] = True
    config["other_key_from_the_gui"] = 3
    path.write_text(json.dumps(config))
    params = read_threshold_config(path)
    assert "other_key_from_the_gui" not in params
    image, _ = synthetic_nuclei()
    assert segment(np.stack([image] * 4), **params).max() > 0


def test_bad_config_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "threshold_config_targets.json"
    path.write_text('{"thresholds": "high"}')
    with pytest.raises(ValueError, match=r"thresholds: expected \[min, max\]"):
        read_threshold_config(path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_threshold_config(tmp_path / "missing.json")


@pytest.mark.shared_data
@pytest.mark.skipif(not SAMPLE.is_dir(), reason=f"shared test data not found at {SAMPLE}")
def test_celldetective_reference_config_on_the_real_sample() -> None:
    tifffile = pytest.importorskip("tifffile")
    image = tifffile.imread(SAMPLE / "sample.tif")
    truth = tifffile.imread(SAMPLE / "sample_labelled.tif")
    labels = segment(image, **REFERENCE)
    assert binary_iou(truth, labels) > 0.7  # Celldetective's own bar
    assert match_instances(truth, labels).f1 > 0.8
    default = segment(image, channels=[3])
    assert match_instances(truth, default).f1 > 0.9
