"""Exported training samples: layouts, file structure, sidecars, atomicity, no silent overwrite."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest
import tifffile

import segpaint
from segpaint.io import ExportError, recover_folder

# most exports here are of empty ROIs: the layouts matter, not the QC warning (tests/test_qc.py)
pytestmark = pytest.mark.filterwarnings("ignore:the exported sample .* has an empty mask")


@pytest.fixture
def painted(experiment):
    s = segpaint.open(experiment)
    s.paint("targets", 1, [(20, 20)], radius=5, label=40)
    s.paint("targets", 1, [(40, 50)], radius=5, label=7)
    s.paint("targets", 1, [(2, 2)], radius=2, label=99)  # outside the ROI below
    return s


def _read(path: Path):
    with tifffile.TiffFile(path) as tif:
        return tif.asarray(), tif.series[0].axes, tif.is_imagej, tif.imagej_metadata


def test_celldetective_layout(painted, experiment, stack):
    roi = painted.add_roi(1, rows=(10, 60), cols=(10, 70))
    paths = painted.export_roi("targets", roi)
    folder = experiment / "annotations_targets"
    stem = "MyExp_100_0001_roi_10_60_10_70"
    assert paths == [
        folder / f"{stem}.tif",
        folder / f"{stem}_labelled.tif",
        folder / f"{stem}.json",
    ]
    image, axes, is_ij, md = _read(paths[0])
    assert axes == "CYX" and is_ij and md["channels"] == 2 and image.dtype == np.uint16
    pad_r, pad_c = (256 - 50) // 2, (256 - 60) // 2
    assert image.shape == (2, 256, 256)
    np.testing.assert_array_equal(
        image[:, pad_r : pad_r + 50, pad_c : pad_c + 60], stack[1, :, 10:60, 10:70]
    )
    assert image[:, :pad_r].max() == 0
    mask, maxes, is_ij, _ = _read(paths[1])
    assert mask.dtype == np.int16 and maxes == "YX" and is_ij
    crop = mask[pad_r : pad_r + 50, pad_c : pad_c + 60]
    assert sorted(np.unique(crop)) == [0, 1, 2]  # 7 -> 1, 40 -> 2: relabelled 1..N in order
    np.testing.assert_array_equal(
        crop == 2, np.asarray(painted.labels("targets", 1))[10:60, 10:70] == 40
    )
    meta = json.loads(paths[2].read_text())
    assert meta["spatial_calibration"] == 0.5
    assert meta["channels"] == ["brightfield_channel", "live_nuclei_channel"]
    assert meta["frame"] == 1 and meta["population"] == "targets"
    assert meta["roi"] == {"frame": 1, "row0": 10, "row1": 60, "col0": 10, "col1": 70}
    assert meta["padding"] == [[pad_r, pad_r], [pad_c, pad_c]]
    assert meta["segpaint_version"] == segpaint.__version__
    assert meta["source"] == str(experiment) and meta["position"] == "100"


def test_cellpose_and_stardist_layouts(painted, experiment):
    roi = painted.add_roi(1, rows=(10, 60), cols=(10, 70))
    cp = painted.export_roi("targets", roi, format="cellpose")
    assert [p.name for p in cp] == [
        "MyExp_100_0001_roi_10_60_10_70.tif",
        "MyExp_100_0001_roi_10_60_10_70_masks.tif",
        "MyExp_100_0001_roi_10_60_10_70.json",
    ]
    assert cp[0].parent == experiment / "annotations_targets_cellpose"
    img = tifffile.imread(cp[0])
    mask = tifffile.imread(cp[1])
    assert img.shape == (2, 50, 60) and mask.shape == (50, 60) and mask.dtype == np.uint16
    sd = painted.export_roi("targets", roi, format="stardist")
    base = experiment / "annotations_targets_stardist"
    assert sd[0] == base / "images" / "MyExp_100_0001_roi_10_60_10_70.tif"
    assert sd[1] == base / "masks" / "MyExp_100_0001_roi_10_60_10_70.tif"
    assert tifffile.imread(sd[1]).shape == (256, 256)
    # StarDist reads the last axis as channels: two channels are written (Y, X, C).
    sd_img = tifffile.imread(sd[0])
    assert sd_img.shape == (256, 256, 2)
    np.testing.assert_array_equal(
        sd_img[103:153, 98:158], painted.image(1)[:, 10:60, 10:70].transpose(1, 2, 0)
    )


def test_existing_sample_is_never_overwritten_silently(painted):
    roi = painted.add_roi(1, rows=(10, 60), cols=(10, 70))
    first = painted.export_roi("targets", roi)
    before = first[1].read_bytes()
    painted.paint("targets", 1, [(30, 30)], radius=3, label=5)
    with pytest.raises(FileExistsError, match="already exists; pass overwrite=True"):
        painted.export_roi("targets", roi)
    assert first[1].read_bytes() == before
    painted.export_roi("targets", roi, overwrite=True)
    assert first[1].read_bytes() != before


def test_interrupted_export_leaves_no_half_sample(painted, experiment, tmp_path, monkeypatch):
    """Interrupt every rename of an export in turn: the sample is then absent or whole."""
    roi = painted.add_roi(1, rows=(10, 60), cols=(10, 70))

    def files(folder):  # name -> content (the sidecar without its "created" time)
        return {
            p.name: {k: v for k, v in json.loads(p.read_text()).items() if k != "created"}
            if p.suffix == ".json"
            else p.read_bytes()
            for p in folder.iterdir()
        }

    painted.export_roi("targets", roi, folder=tmp_path / "ref")
    whole = files(tmp_path / "ref")
    real_replace = os.replace
    outcomes = []
    for k in range(1, 10):
        folder = tmp_path / f"k{k}"
        calls = {"n": 0}

        def flaky_replace(src, dst, k=k, calls=calls):
            calls["n"] += 1
            if calls["n"] == k:
                raise KeyboardInterrupt
            return real_replace(src, dst)

        monkeypatch.setattr(os, "replace", flaky_replace)
        try:
            painted.export_roi("targets", roi, folder=folder)
            finished = True
        except KeyboardInterrupt:
            finished = False
        monkeypatch.setattr(os, "replace", real_replace)
        recover_folder(folder)
        found = files(folder)
        assert found in ({}, whole), f"rename {k} interrupted: {sorted(found)}"
        assert len(painted.samples("targets", folder=folder)) == (1 if found else 0)
        outcomes.append(bool(found))
        if finished:
            break
    assert outcomes[0] is False and outcomes[-1] is True  # before and after the commit point


def test_exports_and_saves_honour_the_umask_and_keep_modes(painted, experiment, tmp_path):
    old = os.umask(0o002)
    try:
        roi = painted.add_roi(1, rows=(10, 60), cols=(10, 70))
        paths = painted.export_roi("targets", roi)
        assert {stat.S_IMODE(p.stat().st_mode) for p in paths} == {0o664}
        os.chmod(paths[1], 0o644)
        painted.export_roi("targets", roi, overwrite=True)
        assert stat.S_IMODE(paths[1].stat().st_mode) == 0o644  # replaced, mode kept
        assert stat.S_IMODE(paths[0].stat().st_mode) == 0o664
        # saving over a Celldetective mask never narrows it
        (saved,) = painted.save_labels("targets")
        os.chmod(saved, 0o644)
        painted.paint("targets", 1, [(30, 30)], radius=3, label=5)
        painted.save_labels("targets")
        assert stat.S_IMODE(saved.stat().st_mode) == 0o644
        assert tifffile.imread(saved)[30, 30] == 5
        assert not [p for p in saved.parent.iterdir() if p.name.startswith(".")]
    finally:
        os.umask(old)


def test_samples_lists_what_was_exported(painted):
    a = painted.add_roi(1, rows=(10, 60), cols=(10, 70))
    b = painted.add_roi(0, rows=(0, 30), cols=(0, 30))
    painted.export_roi("targets", a)
    painted.export_roi("targets", b)
    samples = painted.samples("targets")
    assert [s.roi for s in samples] == [b, a]
    assert samples[1].metadata["n_labels"] == 2


def test_save_labels_writes_edited_frames(painted, experiment):
    paths = painted.save_labels("targets")
    folder = experiment / "W1" / "100" / "labels_targets"
    assert paths == [folder / "0001.tif"]
    np.testing.assert_array_equal(tifffile.imread(paths[0]), painted.labels("targets", 1))
    assert painted.save_labels("targets") == []  # nothing new
    reopened = segpaint.open(experiment)
    np.testing.assert_array_equal(reopened.labels("targets", 1), painted.labels("targets", 1))


def test_array_session_needs_folder(stack, tmp_path):
    s = segpaint.open(stack, pixel_size_um=0.3)
    roi = s.add_roi(0, rows=(0, 10), cols=(0, 10))
    with pytest.raises(ValueError, match="folder= is required"):
        s.export_roi("cells", roi)
    with pytest.raises(ValueError, match="folder= is required"):
        s.save_labels("cells")
    assert len(s.export_roi("cells", roi, folder=tmp_path)) == 3


def test_file_session_exports_beside_the_file(tmp_path, stack):
    path = tmp_path / "movie.tif"
    tifffile.imwrite(path, stack, imagej=True, metadata={"axes": "TCYX"})
    s = segpaint.open(path, pixel_size_um=0.3)
    roi = s.add_roi(2, rows=(0, 10), cols=(0, 10))
    paths = s.export_roi("cells", roi)
    assert paths[0] == tmp_path / "annotations_cells" / "movie_0002_roi_0_10_0_10.tif"


def test_unknown_pixel_size_blocks_celldetective_export(stack, tmp_path):
    s = segpaint.open(stack)
    roi = s.add_roi(0, rows=(0, 10), cols=(0, 10))
    with pytest.raises(ExportError, match="set session.pixel_size_um"):
        s.export_roi("cells", roi, folder=tmp_path)
    assert s.export_roi("cells", roi, folder=tmp_path, format="cellpose")


def test_too_many_labels_for_int16(tmp_path):
    img = np.zeros((200, 200), np.uint8)
    lab = np.arange(200 * 200, dtype=np.uint32).reshape(200, 200)
    s = segpaint.open(img, pixel_size_um=1, labels={"cells": lab})
    roi = s.add_roi(0, rows=(0, 200), cols=(0, 200))
    with pytest.raises(ExportError, match="Celldetective masks are int16"):
        s.export_roi("cells", roi, folder=tmp_path, auto_correct=False)
    assert not any(tmp_path.iterdir())


def test_float64_and_int32_images_are_stored_as_imagej_types(tmp_path):
    # float64 values that float32 holds exactly are stored as float32, unchanged.
    data = np.arange(64 * 64, dtype=np.float64).reshape(64, 64) / 4
    s = segpaint.open(data, pixel_size_um=1)
    roi = s.add_roi(0, rows=(0, 32), cols=(0, 32))
    img = tifffile.imread(s.export_roi("cells", roi, folder=tmp_path, pad=False)[0])
    assert img.dtype == np.float32
    np.testing.assert_array_equal(img.astype(np.float64), data[:32, :32])
    # ones it would round are refused (see test_fidelity.py for the full set).
    s1 = segpaint.open(np.linspace(0, 1, 64 * 64).reshape(64, 64), pixel_size_um=1)
    with pytest.raises(ExportError, match="float32 .* would change"):
        s1.export_roi("cells", s1.add_roi(0, rows=(0, 32), cols=(0, 32)), folder=tmp_path / "c")
    s2 = segpaint.open(np.full((64, 64), 70000, np.int32), pixel_size_um=1)
    img2 = tifffile.imread(
        s2.export_roi("cells", s2.add_roi(0, rows=(0, 8), cols=(0, 8)), folder=tmp_path / "b")[0]
    )
    assert img2.dtype == np.float32 and img2.max() == 70000


def test_structure_matches_real_celldetective_sample(shared_data, tmp_path):
    """Our export of the real sample has the same pages, ImageJ metadata, dtypes and sidecar keys."""
    sample = shared_data / "celldetective" / "sample"
    ref_mask = tifffile.imread(sample / "sample_labelled.tif")
    s = segpaint.open(
        sample / "sample.tif", labels={"cells": ref_mask.astype(np.int32)}, read_only=True
    )
    roi = s.add_roi(0, rows=(0, 682), cols=(0, 660))
    paths = s.export_roi("cells", roi, folder=tmp_path)
    for ours, theirs in (
        (paths[0], sample / "sample.tif"),
        (paths[1], sample / "sample_labelled.tif"),
    ):
        with tifffile.TiffFile(ours) as a, tifffile.TiffFile(theirs) as b:
            assert len(a.pages) == len(b.pages)
            assert a.series[0].axes == b.series[0].axes
            assert a.series[0].shape == b.series[0].shape
            assert a.series[0].dtype == b.series[0].dtype
            assert a.is_imagej and b.is_imagej
            for key in ("images", "channels", "hyperstack", "mode"):
                assert a.imagej_metadata.get(key) == b.imagej_metadata.get(key)
    ours_meta = json.loads(paths[2].read_text())
    theirs_meta = json.loads((sample / "sample.json").read_text())
    assert set(theirs_meta) <= set(ours_meta)
    assert ours_meta["channels"] == theirs_meta["channels"]
    assert ours_meta["spatial_calibration"] == theirs_meta["spatial_calibration"]
    np.testing.assert_array_equal(tifffile.imread(paths[0]), tifffile.imread(sample / "sample.tif"))
    mask = tifffile.imread(paths[1])
    assert mask.max() == len(np.unique(ref_mask)) - 1  # relabelled 1..N
    np.testing.assert_array_equal(mask > 0, ref_mask > 0)


def test_celldetective_training_loader_reads_our_samples(painted, experiment, import_optional):
    loaders = import_optional(
        "celldetective.utils.image_loaders",
        env="SEGPAINT_REQUIRE_CELLDETECTIVE",
        install="pip install --no-deps celldetective && pip install natsort imageio pandas",
    )
    a = painted.add_roi(1, rows=(10, 60), cols=(10, 70))
    b = painted.add_roi(1, rows=(0, 64), cols=(0, 80))
    painted.export_roi("targets", a)
    painted.export_roi("targets", b)
    folder = experiment / "annotations_targets"
    X, Y, files = loaders.load_image_dataset(
        [str(folder)], ["live_nuclei_channel", "brightfield_channel"], train_spatial_calibration=0.5
    )
    assert len(X) == len(Y) == 2
    by_name = dict(zip((Path(f).name for f in files), zip(X, Y, strict=True), strict=True))
    x, y = by_name["MyExp_100_0001_roi_0_64_0_80.tif"]
    assert x.shape == (256, 256, 2) and y.shape == (256, 256)
    # channel order follows the request: live nuclei (our channel 1) first
    orig = painted.image(1)
    pr, pc = (256 - 64) // 2, (256 - 80) // 2
    np.testing.assert_array_equal(x[pr : pr + 64, pc : pc + 80, 0], orig[1])
    assert len(np.unique(y)) == 4  # background + 3 cells


def test_sidecar_records_the_presegmentation_method(experiment):
    s = segpaint.open(experiment)
    s.presegment("targets", frames=[1], channels=["live_nuclei_channel"], progress=False)
    roi = s.add_roi(1, rows=(0, 64), cols=(0, 80))
    meta = json.loads(s.export_roi("targets", roi)[2].read_text())
    assert meta["method"] == {
        "method": "threshold",
        "params": {"channels": ["live_nuclei_channel"]},
    }
