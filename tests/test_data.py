"""Demo data: the synthetic time-lapse looks and behaves like the movie it claims to be."""

from __future__ import annotations

import importlib
import os
import sys

import numpy as np
import pytest
from scipy import ndimage as ndi

import segpaint
from segpaint import data
from segpaint.metrics import match_instances
from segpaint.segment import segment


@pytest.fixture(scope="module")
def movie() -> data.SyntheticTimelapse:
    return data.synthetic_timelapse()


def centroids(labels: np.ndarray) -> dict[int, tuple[float, float]]:
    ids = [int(i) for i in np.unique(labels) if i]
    points = ndi.center_of_mass(labels > 0, labels, ids)
    return {i: (float(r), float(c)) for i, (r, c) in zip(ids, points, strict=True)}


def all_nuclei(movie: data.SyntheticTimelapse, t: int) -> np.ndarray:
    """Both populations in one label image (effector ids shifted past the targets')."""
    targets = movie.labels["targets"][t].astype(np.int64)
    effectors = movie.labels["effectors"][t].astype(np.int64)
    return np.where(effectors > 0, effectors + 10_000, targets)


def test_default_movie_shapes_dtypes_and_calibration(movie: data.SyntheticTimelapse) -> None:
    assert movie.image.shape == (8, 2, 256, 256)
    assert movie.image.dtype == np.uint16
    assert movie.channel_names == ["nuclei", "cytoplasm"]
    assert set(movie.labels) == set(movie.cell_labels) == {"targets", "effectors"}
    for stack in (*movie.labels.values(), *movie.cell_labels.values()):
        assert stack.shape == (8, 256, 256)
        assert stack.dtype == np.uint32
    assert movie.pixel_size_um > 0
    assert movie.frame_interval_min > 0


def test_same_seed_same_movie_other_seed_other_movie() -> None:
    a = data.synthetic_timelapse(n_frames=3, shape=(96, 128), seed=7)
    b = data.synthetic_timelapse(n_frames=3, shape=(96, 128), seed=7)
    c = data.synthetic_timelapse(n_frames=3, shape=(96, 128), seed=8)
    np.testing.assert_array_equal(a.image, b.image)
    for pop in data.POPULATIONS:
        np.testing.assert_array_equal(a.labels[pop], b.labels[pop])
    assert a.divisions == b.divisions
    assert not np.array_equal(a.image, c.image)
    assert a.image.shape == (3, 2, 96, 128)


def test_nuclei_lie_inside_their_cells(movie: data.SyntheticTimelapse) -> None:
    for pop in data.POPULATIONS:
        nuclei, cells = movie.labels[pop], movie.cell_labels[pop]
        inside = nuclei > 0
        # a nucleus pixel belongs to the same cell (or is hidden by a cell of the other population)
        same = cells[inside] == nuclei[inside]
        assert same.mean() > 0.97, pop


def test_a_target_divides_into_two_new_daughters(movie: data.SyntheticTimelapse) -> None:
    assert len(movie.divisions) == 1
    div = movie.divisions[0]
    assert div.population == "targets"
    assert 1 <= div.frame < movie.image.shape[0]
    labels = movie.labels["targets"]
    before, after = labels[div.frame - 1], labels[div.frame]
    assert (before == div.mother).any()
    assert not (labels[div.frame :] == div.mother).any(), "the mother must disappear"
    mother_at = centroids(before)[div.mother]
    mother_area = int((before == div.mother).sum())
    after_centres = centroids(after)
    for daughter in div.daughters:
        assert not (labels[: div.frame] == daughter).any(), "daughters are new labels"
        assert (after == daughter).any()
        # each daughter is smaller than the mother and sits right next to where it was
        assert (after == daughter).sum() < mother_area
        distance = np.hypot(*np.subtract(after_centres[daughter], mother_at))
        assert distance < 2 * np.sqrt(mother_area / np.pi)
    counts = [len(np.unique(f)) - 1 for f in labels]
    assert counts[div.frame] == counts[div.frame - 1] + 1


def test_divisions_spread_over_the_movie() -> None:
    movie = data.synthetic_timelapse(n_frames=9, shape=(192, 192), n_targets=6, n_divisions=3)
    frames = [d.frame for d in movie.divisions]
    assert len(frames) == 3
    assert len(set(frames)) == 3
    assert all(1 <= f < 9 for f in frames)


def test_cells_leave_the_field_through_the_border(movie: data.SyntheticTimelapse) -> None:
    effectors = movie.labels["effectors"]
    first = {int(i) for i in np.unique(effectors[0]) if i}
    last = {int(i) for i in np.unique(effectors[-1]) if i}
    gone = first - last
    assert gone, "some effector must leave the field"
    for label in gone:
        present = [t for t in range(len(effectors)) if (effectors[t] == label).any()]
        mask = effectors[present[-1]] == label
        border = mask[0].any() or mask[-1].any() or mask[:, 0].any() or mask[:, -1].any()
        assert border, f"effector {label} vanished away from the border"


def test_cells_touch(movie: data.SyntheticTimelapse) -> None:
    # target nuclei side by side (a watershed's job), effectors in contact with target cells
    targets = movie.labels["targets"][0]
    touching_nuclei = 0
    for label in np.unique(targets)[1:]:
        ring = ndi.binary_dilation(targets == label, iterations=2) & (targets != label)
        touching_nuclei += bool((targets[ring] > 0).any())
    assert touching_nuclei >= 2
    cells = movie.cell_labels["targets"][0] > 0
    effector_cells = movie.cell_labels["effectors"][0]
    conjugates = [
        label
        for label in np.unique(effector_cells)[1:]
        if (ndi.binary_dilation(effector_cells == label, iterations=2) & cells).any()
    ]
    assert len(conjugates) >= 2


def test_populations_differ_in_size_and_brightness(movie: data.SyntheticTimelapse) -> None:
    nuclei_channel = movie.image[0, 0].astype(float)
    areas, brightness = {}, {}
    for pop in data.POPULATIONS:
        labels = movie.labels[pop][0]
        ids = np.unique(labels)[1:]
        areas[pop] = np.median(ndi.sum_labels(np.ones_like(labels), labels, ids))
        brightness[pop] = np.median(ndi.mean(nuclei_channel, labels, ids))
    assert areas["targets"] > 3 * areas["effectors"]
    assert brightness["effectors"] > 1.5 * brightness["targets"]


def test_images_carry_noise_and_uneven_background(movie: data.SyntheticTimelapse) -> None:
    frame = movie.image[0, 0].astype(float)
    background = (movie.cell_labels["targets"][0] == 0) & (movie.cell_labels["effectors"][0] == 0)
    background = ndi.binary_erosion(background, iterations=8)
    assert frame[background].std() > 2.0, "no noise in the background"
    # consecutive frames differ even where nothing moves (fresh shot noise)
    assert (movie.image[0, 0][background] != movie.image[1, 0][background]).mean() > 0.5
    # uneven illumination: background level differs between the image's quadrants
    quadrant_means = []
    half_r, half_c = frame.shape[0] // 2, frame.shape[1] // 2
    for rows in (slice(0, half_r), slice(half_r, None)):
        for cols in (slice(0, half_c), slice(half_c, None)):
            quadrant_means.append(frame[rows, cols][background[rows, cols]].mean())
    assert max(quadrant_means) > 1.1 * min(quadrant_means)


def test_camera_offset_raises_the_background() -> None:
    plain = data.synthetic_timelapse(n_frames=1, shape=(64, 64), n_targets=1, n_effectors=0)
    offset = data.synthetic_timelapse(
        n_frames=1, shape=(64, 64), n_targets=1, n_effectors=0, camera_offset=100
    )
    assert 90 < np.median(offset.image) - np.median(plain.image) < 110


@pytest.mark.parametrize("frame", [0, 7])
def test_threshold_default_finds_the_nuclei(movie: data.SyntheticTimelapse, frame: int) -> None:
    labels = segment(movie.image[frame], channels=["nuclei"], channel_names=movie.channel_names)
    truth = all_nuclei(movie, frame)
    result = match_instances(truth, labels)
    assert result.f1 > 0.7, result
    # the big targets are easy: nearly all found, with good overlap
    targets = match_instances(movie.labels["targets"][frame], labels)
    assert targets.recall > 0.8, targets
    assert targets.mean_matched_iou > 0.75, targets


def test_open_gives_a_session_that_exports(
    movie: data.SyntheticTimelapse, tmp_path: os.PathLike[str]
) -> None:
    session = movie.open()
    assert isinstance(session, segpaint.Session)
    assert session.shape == movie.image.shape
    assert session.channel_names == ["nuclei", "cytoplasm"]
    assert session.populations == ["targets", "effectors"]
    assert session.pixel_size_um == movie.pixel_size_um
    np.testing.assert_array_equal(session.image(3), movie.image[3])
    assert not np.asarray(session.labels("targets")).any()
    session.set_labels("targets", 0, movie.labels["targets"][0])
    roi = session.add_roi(0, rows=(0, 128), cols=(0, 128))
    written = session.export_roi("targets", roi, folder=tmp_path)
    assert {p.suffix for p in written} == {".tif", ".json"}
    assert len(session.samples("targets", folder=tmp_path)) == 1

    truth = movie.open(labels=movie.labels)
    np.testing.assert_array_equal(np.asarray(truth.labels("effectors")), movie.labels["effectors"])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_frames": 0}, r"n_frames: expected an integer >= 1, got 0"),
        ({"n_targets": -1}, r"n_targets: expected an integer >= 0"),
        ({"seed": 1.5}, r"seed: expected an integer >= 0, got 1.5"),
        ({"shape": (16, 300)}, r"shape: each side must be >= 32 pixels"),
        ({"shape": 256}, r"shape: expected \(rows, cols\)"),
        ({"photons": 0}, r"photons: expected a number > 0"),
        ({"read_noise": float("nan")}, r"read_noise: expected a finite number >= 0"),
    ],
)
def test_bad_arguments_say_what_to_pass(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        data.synthetic_timelapse(**kwargs)  # type: ignore[arg-type]


def test_stardist_nuclei_without_stardist_names_the_install_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "stardist", None)  # import stardist -> ImportError
    with pytest.raises(data.DataUnavailableError, match=r'pip install "segpaint\[stardist\]"'):
        data.stardist_nuclei()


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (ModuleNotFoundError("No module named 'pooch'"), r"needs the pooch package: pip install"),
        (ConnectionError("Name or service not known"), r"could not download .*no network"),
    ],
)
def test_human_mitosis_unavailable_says_why(
    monkeypatch: pytest.MonkeyPatch, error: Exception, message: str
) -> None:
    import skimage.data

    def unavailable() -> np.ndarray:
        raise error

    monkeypatch.setattr(skimage.data, "human_mitosis", unavailable)
    with pytest.raises(data.DataUnavailableError, match=message):
        data.human_mitosis()


def test_human_mitosis_when_available() -> None:
    try:
        image = data.human_mitosis()
    except data.DataUnavailableError as err:
        pytest.skip(f"human_mitosis is not available here: {err}")
    assert image.image.shape == (512, 512)
    assert image.labels is None
    assert image.open().shape == (1, 1, 512, 512)


@pytest.mark.ml
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::FutureWarning")
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_stardist_nuclei_with_stardist() -> None:
    try:
        importlib.import_module("stardist")
    except ImportError as err:
        if os.environ.get("SEGPAINT_REQUIRE_ML") == "1":
            pytest.fail(f"SEGPAINT_REQUIRE_ML=1 but stardist is not installed ({err})")
        pytest.skip(f"stardist is not installed ({err})")
    image = data.stardist_nuclei()
    assert image.image.ndim == 2
    assert image.labels is not None
    assert image.labels.shape == image.image.shape
    assert image.labels.max() > 10  # many nuclei
    session = image.open()
    assert session.populations == ["nuclei"]
