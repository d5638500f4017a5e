"""segpaint.open: arrays, TIFF files, folders and Celldetective experiments, read lazily."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import tifffile

import segpaint
from segpaint.io import ExperimentError, StackError


@pytest.mark.parametrize(
    ("shape", "axes", "expected"),
    [
        ((32, 40), "YX", (1, 1, 32, 40)),
        ((5, 32, 40), "TYX", (5, 1, 32, 40)),
        ((3, 32, 40), "CYX", (1, 3, 32, 40)),
        ((4, 32, 40, 3), "TYXC", (4, 3, 32, 40)),
        ((32, 40, 3), "YXS", (1, 3, 32, 40)),
        ((2, 1, 3, 32, 40), "TZCYX", (2, 3, 32, 40)),
    ],
)
def test_array_axes_normalised_to_tcyx(shape, axes, expected):
    data = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    s = segpaint.open(data, axes=axes)
    assert s.shape == expected
    assert s.image(0).shape == expected[1:]
    assert s.image(expected[0] - 1).dtype == np.float32


def test_tyxc_pixels_land_in_the_right_channel():
    data = np.zeros((2, 8, 9, 3), np.uint8)
    data[1, 4, 5, 2] = 77
    s = segpaint.open(data, axes="TYXC")
    assert s.image(1)[2, 4, 5] == 77
    assert s.image(0).max() == 0


def test_ambiguous_3d_shape_says_which_axes_to_pass():
    with pytest.raises(StackError, match=r'ambiguous: pass axes="TYX" \(a time-lapse\) or "CYX"'):
        segpaint.open(np.zeros((5, 32, 32)))


def test_axes_of_wrong_length():
    with pytest.raises(StackError, match="has 2 letters but the image has 3 dimensions"):
        segpaint.open(np.zeros((5, 32, 32)), axes="YX")


def test_nan_image_is_rejected():
    img = np.zeros((8, 8), np.float32)
    img[2, 2] = np.nan
    with pytest.raises(StackError, match="NaN"):
        segpaint.open(img)


def test_z_stack_is_rejected_with_advice():
    with pytest.raises(StackError, match="Z axis of size 4"):
        segpaint.open(np.zeros((4, 8, 8)), axes="ZYX")


def test_imagej_hyperstack_axes_from_metadata(tmp_path, stack):
    path = tmp_path / "movie.tif"
    tifffile.imwrite(path, stack, imagej=True, metadata={"axes": "TCYX"})
    s = segpaint.open(path)
    assert s.shape == stack.shape
    for t in range(stack.shape[0]):
        np.testing.assert_array_equal(s.image(t), stack[t])
    assert s.source.kind == "file" and s.source.name == "movie"


def test_compressed_tiff_read_page_by_page(tmp_path, stack):
    path = tmp_path / "zipped.tif"
    tifffile.imwrite(path, stack, compression="zlib", metadata={"axes": "TCYX"})
    s = segpaint.open(path)
    assert s.stack._memmap is None  # type: ignore[attr-defined]
    np.testing.assert_array_equal(s.image(2), stack[2])


def test_ome_tiff_channel_names(tmp_path, stack):
    path = tmp_path / "img.ome.tif"
    tifffile.imwrite(
        path,
        stack,
        metadata={"axes": "TCYX", "Channel": {"Name": ["DAPI", "GFP"]}, "PhysicalSizeX": 0.65},
    )
    s = segpaint.open(path)
    assert s.channel_names == ["DAPI", "GFP"]
    assert s.pixel_size_um == pytest.approx(0.65)
    np.testing.assert_array_equal(s.image(1, channels=["GFP"])[0], stack[1, 1])


def test_plain_multipage_tiff_needs_axes(tmp_path, stack):
    path = tmp_path / "pages.tif"
    with tifffile.TiffWriter(path) as w:
        for t in range(3):
            for c in range(2):
                w.write(stack[t, c], metadata=None)
    with pytest.raises(StackError, match="without saying which is time and which is channel"):
        segpaint.open(path)
    s = segpaint.open(path, axes="CYX")  # 6 pages read as channels
    assert s.shape == (1, 6, 64, 80)


def test_truncated_tiff_gives_clear_error(tmp_path, stack):
    path = tmp_path / "cut.tif"
    tifffile.imwrite(path, stack, compression="zlib", metadata={"axes": "TCYX"})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(StackError, match=r"(cannot read|truncated)"):
        segpaint.open(path).image(2)


def test_not_a_tiff(tmp_path):
    bad = tmp_path / "fake.tif"
    bad.write_bytes(b"not a tiff at all")
    with pytest.raises(StackError, match="cannot read .* as a TIFF file"):
        segpaint.open(bad)
    other = tmp_path / "movie.avi"
    other.write_bytes(b"x")
    with pytest.raises(StackError, match="convert other formats to TIFF"):
        segpaint.open(other)


def test_missing_path():
    with pytest.raises(FileNotFoundError, match="does not exist"):
        segpaint.open("/no/such/file.tif")


def test_folder_of_frames(tmp_path, stack):
    folder = tmp_path / "frames"
    folder.mkdir()
    for t in range(3):
        tifffile.imwrite(folder / f"frame_{t + 1}.tif", stack[t])  # natural order: 1, 2, 3
    tifffile.imwrite(folder / "frame_10.tif", stack[0])
    s = segpaint.open(folder, axes="TCYX")
    assert s.shape == (4, 2, 64, 80)
    np.testing.assert_array_equal(s.image(2), stack[2])
    np.testing.assert_array_equal(s.image(3), stack[0])


def test_open_reads_no_pixels_until_asked(tmp_path, stack, monkeypatch):
    path = tmp_path / "movie.tif"
    tifffile.imwrite(path, stack, imagej=True, metadata={"axes": "TCYX"})
    s = segpaint.open(path)
    calls = []
    original = type(s.stack).frame
    monkeypatch.setattr(
        type(s.stack), "frame", lambda self, t: calls.append(t) or original(self, t)
    )
    s.image(1)
    s.image(1)  # cached
    assert calls == [1]


def test_tiff_stack_pickles_and_reopens(tmp_path, stack):
    path = tmp_path / "movie.tif"
    tifffile.imwrite(path, stack, imagej=True, metadata={"axes": "TCYX"})
    s = segpaint.open(path)
    clone = pickle.loads(pickle.dumps(s.stack))
    np.testing.assert_array_equal(clone.frame(2), stack[2])


# ---------------------------------------------------------------- Celldetective


def test_experiment_position_folder(experiment, stack):
    s = segpaint.open(experiment / "W1" / "100")
    assert s.shape == stack.shape
    assert s.channel_names == ["brightfield_channel", "live_nuclei_channel"]
    assert s.pixel_size_um == 0.5 and s.frame_interval_min == 2.0
    assert s.populations == ["targets"]
    np.testing.assert_array_equal(s.image(1), stack[1])
    assert s.source.name == "MyExp_100"


def test_experiment_root_with_single_position(experiment):
    s = segpaint.open(experiment)
    assert s.source.position is not None and s.source.position.well == "W1"


def test_experiment_root_with_several_positions(experiment, stack):
    (experiment / "W2" / "200" / "movie").mkdir(parents=True)
    tifffile.imwrite(
        experiment / "W2" / "200" / "movie" / "Aligned.tif",
        stack,
        imagej=True,
        metadata={"axes": "TCYX"},
    )
    with pytest.raises(
        ExperimentError, match="several positions; pick one with well= and position="
    ):
        segpaint.open(experiment)
    s = segpaint.open(experiment, well="W2", position=200)
    assert s.source.name == "MyExp_200"
    with pytest.raises(ExperimentError, match="available: well='W1'"):
        segpaint.open(experiment, well="W9")


def test_existing_labels_load_lazily(experiment):
    labels_dir = experiment / "W1" / "100" / "labels_targets"
    labels_dir.mkdir()
    lab = np.zeros((64, 80), np.uint16)
    lab[5:10, 5:10] = 7
    tifffile.imwrite(labels_dir / "0001.tif", lab)
    s = segpaint.open(experiment)
    assert s.labels("targets", 0).max() == 0  # missing frame: empty
    np.testing.assert_array_equal(s.labels("targets", 1), lab)
    assert s.new_label("targets") == 8


def test_default_populations_when_section_missing(tmp_path, stack, write_experiment):
    root = write_experiment(tmp_path / "E", stack, populations=None)
    assert segpaint.open(root).populations == ["effectors", "targets"]


def test_legacy_config_channels_in_movie_settings(tmp_path, stack, write_experiment):
    root = write_experiment(
        tmp_path / "Legacy",
        stack,
        channels="",
        extra_movie_settings="pxtoum = 0.3\nframetomin = 1\nbrightfield_channel = 1\nlive_nuclei_channel = 0",
    )
    text = (root / "config.ini").read_text().replace("[Channels]\n", "")
    (root / "config.ini").write_text(text)
    s = segpaint.open(root)
    assert s.channel_names == ["live_nuclei_channel", "brightfield_channel"]


def test_config_missing_key(tmp_path, stack, write_experiment):
    root = write_experiment(tmp_path / "E", stack, extra_movie_settings="frametomin = 1")
    with pytest.raises(
        ExperimentError,
        match=r"missing 'pxtoum' in \[MovieSettings\]; add a line 'pxtoum = <number>'",
    ):
        segpaint.open(root)


def test_movie_planes_not_multiple_of_channels(tmp_path, stack, write_experiment):
    root = write_experiment(tmp_path / "E", stack, channels="a = 0\nb = 1\nc = 2\nd = 3")
    with pytest.raises(StackError, match="not a multiple of the 4 channels"):
        segpaint.open(root)


def test_shared_experiment(shared_data: Path):
    root = shared_data / "celldetective" / "ExperimentTest"
    s = segpaint.open(root / "W1" / "100", read_only=True)  # shared data: never written
    assert s.shape == (1, 4, 682, 660)
    assert s.channel_names == [
        "brightfield_channel",
        "dead_nuclei_channel",
        "empty_channel",
        "live_nuclei_channel",
    ]
    assert s.pixel_size_um == pytest.approx(0.3112)
    assert s.populations == ["targets"]
    ref = tifffile.imread(root / "W1" / "100" / "movie" / "sample.tif")
    np.testing.assert_array_equal(s.image(0), ref)


def test_sample_sidecar_gives_channel_names(shared_data: Path):
    s = segpaint.open(shared_data / "celldetective" / "sample" / "sample.tif", read_only=True)
    assert s.channel_names[3] == "live_nuclei_channel"
    assert s.pixel_size_um == pytest.approx(0.3112)
