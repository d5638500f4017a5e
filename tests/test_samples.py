"""Reading exported samples back: the table, reopening a sample, excluding one, every layout."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tifffile

import segpaint


@pytest.fixture
def session(experiment):
    s = segpaint.open(experiment)
    s.paint("targets", 1, [(20, 20)], radius=5, label=40)
    s.paint("targets", 1, [(40, 50)], radius=5, label=7)
    return s


def test_table_lists_every_layout_of_an_experiment(session, experiment):
    roi = session.add_roi(1, rows=(10, 60), cols=(10, 70))
    session.export_roi("targets", roi)
    session.export_roi("targets", roi, format="stardist")
    session.export_roi("targets", roi, format="cellpose")
    rows = segpaint.samples(experiment)
    assert sorted(r["format"] for r in rows) == ["celldetective", "cellpose", "stardist"]
    for row in rows:
        assert row["sample"] == "MyExp_100_0001_roi_10_60_10_70"
        assert (row["population"], row["well"], row["position"], row["frame"]) == (
            "targets",
            "W1",
            "100",
            1,
        )
        assert row["roi"] == [10, 60, 10, 70]
        assert row["n_labels"] == 2 and row["qc_flags"] == [] and row["excluded"] is False
    assert segpaint.samples(experiment, population="effectors") == []
    only = segpaint.samples(experiment / "annotations_targets")
    assert [r["format"] for r in only] == ["celldetective"]


def test_open_sample_loads_the_crop_and_its_mask(session, experiment, stack):
    roi = session.add_roi(1, rows=(10, 60), cols=(10, 70))
    paths = session.export_roi("targets", roi)
    opened = segpaint.open_sample(paths[2])
    assert opened.shape == (1, 2, 50, 60)  # the padding is gone
    np.testing.assert_array_equal(opened.image(0), stack[1, :, 10:60, 10:70])
    assert opened.channel_names == ["brightfield_channel", "live_nuclei_channel"]
    assert opened.pixel_size_um == 0.5
    labels = np.asarray(opened.labels("targets", 0))
    original = np.asarray(session.labels("targets", 1))[10:60, 10:70]
    np.testing.assert_array_equal(labels > 0, original > 0)
    assert sorted(np.unique(labels).tolist()) == [0, 1, 2]
    # exported again from the reopened sample: the same mask, padded the same way
    again = opened.export_roi(
        "targets", opened.add_roi(0, rows=(0, 50), cols=(0, 60)), folder=experiment / "fixed"
    )
    mask = tifffile.imread(again[1])
    assert mask.shape == (256, 256)
    np.testing.assert_array_equal(mask, tifffile.imread(paths[1]))


def test_open_sample_reads_the_stardist_meta_sidecar(session, experiment):
    roi = session.add_roi(1, rows=(10, 60), cols=(10, 70))
    paths = session.export_roi("targets", roi, format="stardist")
    assert paths[2].parent.name == "meta"
    opened = segpaint.open_sample(paths[0])  # the image path finds meta/stem.json
    assert opened.pixel_size_um == 0.5
    assert opened.channel_names == ["brightfield_channel", "live_nuclei_channel"]
    assert opened.shape == (1, 2, 50, 60)


def test_exclude_and_include_rewrite_only_the_flag(session, experiment):
    roi = session.add_roi(1, rows=(10, 60), cols=(10, 70))
    paths = session.export_roi("targets", roi)
    before = json.loads(paths[2].read_text())
    image_bytes = paths[0].read_bytes()
    row = segpaint.exclude_sample(paths[2])
    assert row["excluded"] is True
    after = json.loads(paths[2].read_text())
    assert after == {**before, "excluded": True}
    assert paths[0].read_bytes() == image_bytes
    assert segpaint.samples(experiment)[0]["excluded"] is True
    assert segpaint.exclude_sample(row, excluded=False)["excluded"] is False
    assert json.loads(paths[2].read_text())["excluded"] is False
    assert not list(paths[2].parent.glob("*.part"))  # no temporary left behind


def test_bad_sources_say_what_to_pass(tmp_path):
    with pytest.raises(FileNotFoundError, match="is not a folder; pass a sample folder"):
        segpaint.samples(tmp_path / "missing")
    (tmp_path / "notes.json").write_text("{}")
    assert segpaint.samples(tmp_path) == []
    with pytest.raises(FileNotFoundError, match="is not the sidecar of an exported sample"):
        segpaint.open_sample(tmp_path / "notes.json")


@pytest.mark.parametrize("fmt", ["celldetective", "stardist"])
def test_fixed_sample_is_saved_as_a_new_version(session, experiment, fmt):
    roi = session.add_roi(1, rows=(10, 60), cols=(10, 70))
    paths = session.export_roi("targets", roi, format=fmt)
    opened = segpaint.open_sample(paths[2])
    opened.fill("targets", 0, (10, 10), 0)  # delete the cell painted at (20, 20) of the frame
    row = segpaint.save_sample_version(opened, paths[2])
    stem = "MyExp_100_0001_roi_10_60_10_70"
    assert row["sample"] == f"{stem}_v2" and row["excluded"] is False
    assert row["roi"] == [10, 60, 10, 70] and row["n_labels"] == 1
    new = json.loads(next(experiment.rglob(f"{stem}_v2.json")).read_text())
    assert (new["version"], new["replaces"], new["frame"]) == (2, stem, 1)
    assert new["padding"] == json.loads(paths[2].read_text())["padding"]
    # the original is untouched on disk but excluded from training
    assert json.loads(paths[2].read_text())["excluded"] is True
    assert paths[1].is_file()
    (new_sample,) = segpaint.io.samples.as_sample_files([row["path"]])
    assert new_sample.format == fmt
    new_mask = tifffile.imread(new_sample.mask)
    old_mask = tifffile.imread(paths[1])
    assert new_mask.shape == old_mask.shape and new_mask.max() == 1 and old_mask.max() == 2
    # once more: v3, and v2 is excluded in turn
    again = segpaint.save_sample_version(segpaint.open_sample(row), row)
    assert again["sample"] == f"{stem}_v3"
    excluded = {r["sample"]: r["excluded"] for r in segpaint.samples(experiment)}
    assert excluded == {stem: True, f"{stem}_v2": True, f"{stem}_v3": False}


def test_save_version_needs_the_samples_session(session, experiment):
    paths = session.export_roi("targets", session.add_roi(1, rows=(10, 60), cols=(10, 70)))
    with pytest.raises(ValueError, match="pass the Session that segpaint.open_sample"):
        segpaint.save_sample_version(session, paths[2])


def test_population_from_the_annotations_folder_when_the_sidecar_has_none(session, experiment):
    """Celldetective's own sidecars hold only spatial_calibration and channels."""
    paths = session.export_roi("targets", session.add_roi(1, rows=(10, 60), cols=(10, 70)))
    paths[2].write_text(json.dumps({"spatial_calibration": 0.5, "channels": ["a", "b"]}))
    (row,) = segpaint.samples(experiment)
    assert row["population"] == "targets" and row["roi"] is None
    assert segpaint.samples(experiment, population="targets") == [row]
    assert segpaint.open_sample(paths[2]).populations == ["targets"]
