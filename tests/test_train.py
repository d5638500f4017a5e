"""Training the pixel classifier from samples and scribbles; the model folder; presegment; evaluate."""

from __future__ import annotations

import json
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import tifffile

import segpaint
from segpaint.data import synthetic_timelapse
from segpaint.metrics import match_instances
from segpaint.segment import segment

# keys Celldetective's trainer reads (celldetective/processes/train_segmentation_model.py)
CELLDETECTIVE_INSTRUCTIONS = {
    "model_name",
    "target_directory",
    "model_type",
    "pretrained",
    "ds",
    "channel_option",
    "normalization_percentile",
    "normalization_clip",
    "normalization_values",
    "spatial_calibration",
    "validation_split",
    "augmentation_factor",
    "learning_rate",
    "epochs",
    "batch_size",
}
CELLDETECTIVE_CONFIG = {
    "channels",
    "normalization_percentile",
    "normalization_clip",
    "normalization_values",
    "model_type",
    "spatial_calibration",
    "cell_size_um",
    "dataset",
}
FAST = {"n_estimators": 12, "steps": 3, "pixels_per_class": 1500, "progress": False}


@pytest.fixture(scope="module")
def movie():
    return synthetic_timelapse(n_frames=8, shape=(160, 160), seed=3)


@pytest.fixture(scope="module")
def exported(movie, tmp_path_factory):
    """Six corrected effector samples (the truth) from frames 0-5 of an 'experiment' folder."""
    root = tmp_path_factory.mktemp("exp")
    s = movie.open(labels={"effectors": movie.labels["effectors"]}, journal=False)
    s.set_method("effectors", "threshold", {"channels": ["nuclei"]})
    folder = root / "annotations_effectors"
    for t in range(6):
        r0, c0 = (t * 13) % 60, (t * 29) % 60
        roi = s.add_roi(t, rows=(r0, r0 + 100), cols=(c0, c0 + 100))
        s.export_roi("effectors", roi, folder=folder)
    return root, folder


@pytest.fixture(scope="module")
def model(exported):
    _, folder = exported
    return segpaint.train(folder, channels=["nuclei"], name="pc", seed=1, **FAST)


def test_model_folder_is_celldetective_layout(model, exported):
    root, folder = exported
    assert model == root / "models" / "segmentation_effectors" / "pc"
    assert (model / "pixel_classifier.joblib").is_file()
    config = json.loads((model / "config_input.json").read_text())
    assert set(config) >= CELLDETECTIVE_CONFIG
    assert config["model_type"] == "pixel-classifier"
    assert config["channels"] == ["nuclei"]
    assert config["spatial_calibration"] == 0.65
    assert config["normalization_percentile"] == [True]
    assert config["normalization_values"] == [[1.0, 99.8]]
    stems = sorted(p.stem for p in folder.glob("*.json"))
    train, val = config["dataset"]["train"], config["dataset"]["validation"]
    assert sorted(train + val) == stems and not set(train) & set(val)
    assert len(val) == 1  # round(0.2 * 6)
    assert 4 < config["cell_size_um"] < 15  # effector nuclei: ~10 px across at 0.65 µm/px
    assert [h["step"] for h in config["history"]] == [1, 2, 3]
    assert config["stopped_early"] is False
    curve = iio.imread(model / "training_curve.png")
    assert curve.shape == (160, 320, 3)
    assert (curve == [31, 119, 180]).all(axis=2).any()  # the loss line is drawn
    instructions = json.loads((model / "training_instructions.json").read_text())
    assert set(instructions) >= CELLDETECTIVE_INSTRUCTIONS
    assert instructions["model_name"] == "pc"
    assert instructions["target_directory"] == str(model.parent)
    assert instructions["channel_option"] == ["nuclei"]
    assert instructions["ds"] == [str(folder)]


def test_split_is_seeded_and_recorded(exported, tmp_path):
    _, folder = exported
    splits = []
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        path = segpaint.train(
            folder, channels=["nuclei"], name=name, folder=tmp_path, seed=seed, **FAST
        )
        splits.append(json.loads((path / "config_input.json").read_text())["dataset"])
    assert splits[0] == splits[1]
    assert segpaint.segment._train.split_indices(
        6, 0.2, 7
    ) == segpaint.segment._train.split_indices(6, 0.2, 7)


def test_presegment_with_the_model_folder(model, movie, tmp_path):
    s = movie.open(journal=False)
    s.presegment("effectors", model, frames=[7], progress=False)
    labels = np.asarray(s.labels("effectors", 7))
    truth = movie.labels["effectors"][7]
    assert match_instances(truth, labels).f1 > 0.8
    # the threshold default on the same frame, for the record: far worse on effectors
    threshold = segment(
        movie.image[7], "threshold", channels=["nuclei"], channel_names=movie.channel_names
    )
    assert match_instances(truth, labels).f1 > match_instances(truth, threshold).f1
    assert s.method("effectors")["method"] == str(model)
    roi = s.add_roi(7, rows=(0, 80), cols=(0, 80))
    meta = json.loads(
        s.export_roi("effectors", roi, folder=tmp_path, auto_correct=False)[2].read_text()
    )
    assert meta["method"]["method"] == str(model)


def test_model_needs_its_channel_by_name(model, movie):
    with pytest.raises(ValueError, match="the model needs a channel named 'nuclei'"):
        segment(movie.image[0], model, channel_names=["a", "b"])


def test_stop_early_from_callback_and_keyboard_interrupt(exported, tmp_path):
    _, folder = exported
    seen = []

    def stop_at_two(record):
        seen.append(record)
        return record["step"] < 2

    path = segpaint.train(
        folder, channels=["nuclei"], name="stop", folder=tmp_path, callback=stop_at_two, **FAST
    )
    config = json.loads((path / "config_input.json").read_text())
    assert [r["step"] for r in seen] == [1, 2]
    assert config["stopped_early"] is True
    assert config["pixel_classifier"]["n_estimators"] == 8  # 2 of 3 steps of 12 trees
    assert all(np.isfinite(r["loss"]) and 0 <= r["accuracy"] <= 1 for r in seen)

    def interrupt(record):
        if record["step"] == 2:
            raise KeyboardInterrupt

    path = segpaint.train(
        folder, channels=["nuclei"], name="ctrl-c", folder=tmp_path, callback=interrupt, **FAST
    )
    config = json.loads((path / "config_input.json").read_text())
    assert config["stopped_early"] is True and len(config["history"]) == 2
    # the interrupted model still segments
    assert (
        segment(np.zeros((2, 64, 64), np.uint16), path, channel_names=["nuclei", "cytoplasm"]).max()
        == 0
    )


def test_excluded_samples_are_not_trained_on(exported, tmp_path):
    _, folder = exported
    rows = segpaint.samples(folder)
    first = rows[0]["sample"]
    segpaint.exclude_sample(rows[0])
    try:
        path = segpaint.train(folder, channels=["nuclei"], name="ex", folder=tmp_path, **FAST)
        dataset = json.loads((path / "config_input.json").read_text())["dataset"]
        assert first not in dataset["train"] + dataset["validation"]
        assert len(dataset["train"] + dataset["validation"]) == 5
    finally:
        segpaint.exclude_sample(rows[0], excluded=False)


def test_train_errors(exported, tmp_path, model):
    _, folder = exported
    with pytest.raises(ValueError, match="backend: 'forest' is not known"):
        segpaint.train(folder, backend="forest")
    with pytest.raises(ValueError, match="no channel named 'dna'"):
        segpaint.train(folder, channels=["dna"], folder=tmp_path, **FAST)
    with pytest.raises(ValueError, match="none is of population 'targets'"):
        segpaint.train(folder, population="targets", folder=tmp_path, **FAST)
    with pytest.raises(FileExistsError, match="pass overwrite=True or another name"):
        segpaint.train(folder, channels=["nuclei"], name="pc", **FAST)
    assert (model / "pixel_classifier.joblib").is_file()  # the existing model is intact


def test_missing_extra_names_the_pip_line(exported, tmp_path, monkeypatch):
    import segpaint.segment._models as models

    def missing(library):
        raise models.MissingExtraError(f'install it with: pip install "segpaint[{library}]"')

    monkeypatch.setattr(models, "_import", missing)
    _, folder = exported
    for backend in ("stardist", "cellpose"):
        with pytest.raises(ImportError, match=rf'pip install "segpaint\[{backend}\]"'):
            segpaint.train(folder, backend=backend, folder=tmp_path)
    assert not (tmp_path / "models").exists()  # nothing started


def test_evaluate_known_cases(movie, tmp_path):
    """Samples whose masks are exactly the threshold output: threshold scores 1, nothing scores 0."""
    s = movie.open(journal=False)
    truth = {}
    for t in (0, 1):
        crop = movie.image[t][:, 10:110, 20:120]
        labels = segment(crop, "threshold", channels=["nuclei"], channel_names=movie.channel_names)
        full = np.zeros(s.frame_shape, np.uint32)
        full[10:110, 20:120] = labels
        s.set_labels("effectors", t, full)
        truth[t] = int(labels.max())
        s.export_roi(
            "effectors",
            s.add_roi(t, rows=(10, 110), cols=(20, 120)),
            folder=tmp_path,
            auto_correct=False,
        )
    n = sum(truth.values())
    result = segpaint.evaluate("threshold", tmp_path, baseline=None, channels=["nuclei"])
    for t in (0.5, 0.7, 0.9):
        assert result.score("model", t) == 1.0
    row = next(r for r in result.rows if r["iou_threshold"] == 0.5)
    assert (row["tp"], row["fp"], row["fn"], row["ap"]) == (n, 0, 0, 1.0)
    nothing = segpaint.evaluate(
        "threshold", tmp_path, baseline="threshold", params={"thresholds": [1e9, 1e10]}
    )
    row = next(
        r
        for r in nothing.rows
        if r["method"] == "threshold" and r["iou_threshold"] == 0.5 and r["tp"] == 0
    )
    assert (row["tp"], row["fp"], row["fn"], row["f1"]) == (0, 0, n, 0.0)
    assert nothing.methods == {"model": "threshold", "baseline": "threshold (baseline)"}
    assert nothing.score("baseline", 0.5) == 1.0  # threshold reads channel 0 (nuclei) by default
    assert "F1@0.5" in nothing.table() and "AP@0.9" in nothing.table()


def test_evaluate_model_vs_recorded_method_and_picture(model, exported, tmp_path):
    _, folder = exported
    result = segpaint.evaluate(model, folder)
    val = json.loads((model / "config_input.json").read_text())["dataset"]["validation"]
    assert result.samples == val  # only the held-out samples
    assert result.methods == {"model": "pc", "baseline": "threshold (recorded)"}
    assert result.score("model", 0.5) > result.score("baseline", 0.5)
    assert result.worst == val[0]
    picture = result.picture
    assert picture.dtype == np.uint8 and picture.shape[2] == 3
    assert picture.shape[1] == 3 * 100 + 2 * 4  # truth | model | baseline, 100-px crops
    png = result.save_picture(tmp_path / "worst.png")
    np.testing.assert_array_equal(iio.imread(png), picture)
    every = segpaint.evaluate(model, folder, validation_only=False)
    assert len(every.samples) == 6
    with pytest.raises(ValueError, match="was trained on all of them; pass its validation"):
        segpaint.evaluate(model, [p for p in folder.glob("*.json") if p.stem not in val])


def test_train_from_scribbles(movie, tmp_path):
    s = movie.open(journal=False)
    truth = movie.labels["effectors"][0]
    others = movie.labels["targets"][0]
    from scipy import ndimage as ndi

    marks = np.zeros(truth.shape, np.uint8)
    cells = ndi.binary_erosion(truth > 0, iterations=2)
    marks[cells & (np.indices(truth.shape).sum(0) % 3 == 0)] = 1  # sparse strokes in nuclei
    far = ~ndi.binary_dilation(truth > 0, iterations=4)
    marks[far & (np.arange(truth.shape[1]) % 9 == 0)[None, :]] = 2  # background lines
    marks[(others > 0) & (np.arange(truth.shape[1]) % 3 == 0)[None, :]] = 2  # targets: not ours
    path = segpaint.train_from_scribbles(
        s,
        "effectors",
        {0: marks},
        channels=["nuclei"],
        folder=tmp_path,
        name="scr",
        n_estimators=12,
        steps=2,
        progress=False,
    )
    assert path == tmp_path / "models" / "segmentation_effectors" / "scr"
    config = json.loads((path / "config_input.json").read_text())
    assert config["model_type"] == "pixel-classifier"
    assert config["pixel_classifier"]["scribbles"]["frames"] == [0]
    assert config["pixel_classifier"]["scribbles"]["cell_pixels"] == int((marks == 1).sum())
    s.presegment("effectors", path, frames=[6], progress=False)
    result = match_instances(movie.labels["effectors"][6], np.asarray(s.labels("effectors", 6)))
    assert result.f1 > 0.6
    with pytest.raises(ValueError, match="mark both some cell"):
        segpaint.train_from_scribbles(
            s, "effectors", {0: (marks == 1).astype(np.uint8)}, folder=tmp_path
        )
    with pytest.raises(ValueError, match=r"values \[5, 10\] found"):
        segpaint.train_from_scribbles(s, "effectors", {0: marks * 5}, folder=tmp_path)


def test_sample_images_unpadded_match_session(exported, movie):
    """What training reads is the crop as cut (the export padding removed)."""
    _, folder = exported
    sample = segpaint.io.samples.find_samples(folder)[0]
    image, mask = segpaint.io.samples.read_sample(sample)
    roi = sample.metadata["roi"]
    np.testing.assert_array_equal(
        image, movie.image[roi["frame"], :, roi["row0"] : roi["row1"], roi["col0"] : roi["col1"]]
    )
    truth = movie.labels["effectors"][
        roi["frame"], roi["row0"] : roi["row1"], roi["col0"] : roi["col1"]
    ]
    np.testing.assert_array_equal(mask > 0, truth > 0)
    assert tifffile.imread(sample.mask).shape == (256, 256)
    assert isinstance(sample.image, Path)


def test_curve_picture_draws_from_first_to_last_point():
    from segpaint.io.png import curve_picture

    picture = curve_picture({"loss": [1.0, 0.0]}, size=(50, 100))
    blue = (picture == [31, 119, 180]).all(axis=2)
    assert blue[4, 4] and blue[45, 95]  # highest value top-left, lowest bottom-right
    assert not blue[45, 4]
    assert (curve_picture({"loss": []}) == 255).sum() > 0  # an empty history: an empty frame


@pytest.mark.shared_data
def test_real_celldetective_sample_left_half_to_right_half(shared_data, tmp_path):
    """Trained on the left half of Celldetective's hand-corrected MCF-7 sample, scored on the
    right half against Celldetective's own reference threshold pipeline for it."""
    from segpaint.segment import write_threshold_config

    src = shared_data / "celldetective" / "sample"
    assert (
        segpaint.samples(src)[0]["population"] is None
    )  # a Celldetective sidecar, no segpaint keys
    image = tifffile.imread(src / "sample.tif")
    mask = tifffile.imread(src / "sample_labelled.tif")
    meta = json.loads((src / "sample.json").read_text())
    session = segpaint.open(
        image,
        axes="CYX",
        channel_names=meta["channels"],
        pixel_size_um=meta["spatial_calibration"],
        labels={"targets": mask.astype(np.uint32)},
        name="mcf7",
        journal=False,
    )
    folder = tmp_path / "annotations_targets"
    for cols in ((0, 330), (330, 660)):
        session.export_roi("targets", session.add_roi(0, rows=(0, 682), cols=cols), folder=folder)
    reference = tmp_path / "threshold_config_targets.json"
    write_threshold_config(
        reference,
        {
            "target_channel": 3,
            "thresholds": [8000, 1e10],
            "filters": [["variance", 4], ["gauss", 2]],
            "marker_min_distance": 13,
            "marker_footprint_size": 34,
            "feature_queries": ["area < 80"],
        },
    )
    model = segpaint.train(
        folder, channels=["live_nuclei_channel"], validation_split=0.5, seed=0, progress=False
    )
    result = segpaint.evaluate(model, folder, baseline=reference)
    assert result.samples == ["mcf7_0000_roi_0_682_330_660"]  # the held-out right half
    assert result.score("model", 0.5) > result.score("baseline", 0.5)
    assert result.score("model", 0.5, "mean_matched_iou") > 0.8
    # the picture shows the model's input channel (live nuclei, index 3), not brightfield
    from segpaint.io.png import grey_rgb

    panel = result.picture[:, :330]
    expected = grey_rgb(image[3, :, 330:660])
    plain = ~(panel == [0, 255, 0]).all(axis=2)
    np.testing.assert_array_equal(panel[plain], expected[plain])
