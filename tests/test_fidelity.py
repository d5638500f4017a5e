"""Every frame segpaint reads equals what tifffile reads, bit for bit, or the file is refused.

The corpus is generated with tifffile into tmp_path: dtypes x byte orders x storages x layouts.
Not the full cartesian product, because some combinations cannot be written:

- ImageJ hyperstacks are contiguous only: ImageJ reads neither compressed nor tiled files, and
  it has no int32 type (tifffile refuses to write one).
- A folder of per-frame files and a single page have no hyperstack metadata to test.
"""

from __future__ import annotations

import pickle
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tifffile

import segpaint
from segpaint.io import StackError

T, C, Y, X = 3, 2, 17, 23
DTYPES = ["uint8", "uint16", "int16", "int32", "float32"]
BYTEORDERS = ["<", ">"]
STORAGES = {
    "contiguous": {},
    "zlib": {"compression": "zlib"},
    "lzw": {"compression": "lzw"},
    "tiled": {"tile": (16, 16)},
    # Tiles as wide as the image: still contiguous, so the memory-mapped path must read them.
    "tiled_rows": {"tile": (16, 32)},
}
LAYOUTS = ["single", "multipage", "shaped", "imagej", "ome", "bigtiff", "folder"]


def _data(dtype: str, shape: tuple[int, ...]) -> np.ndarray:
    """Values whose bytes all differ, so a swapped byte order cannot go unnoticed."""
    rng = np.random.default_rng(zlib.crc32(f"{dtype}{shape}".encode()))
    dt = np.dtype(dtype)
    if dt.kind == "f":
        return (rng.standard_normal(shape) * 1000).astype(dt)
    info = np.iinfo(dt)
    return rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=dt)


def _cases() -> list[Any]:
    cases = []
    for layout in LAYOUTS:
        for storage in STORAGES:
            if layout == "imagej" and storage != "contiguous":
                continue  # ImageJ is contiguous-only (see the module docstring)
            for dtype in DTYPES:
                if layout == "imagej" and dtype == "int32":
                    continue  # ImageJ has no int32
                for bo in BYTEORDERS:
                    cases.append(
                        pytest.param(
                            layout, storage, dtype, bo, id=f"{layout}-{storage}-{dtype}-{bo}"
                        )
                    )
    return cases


def _write(
    tmp: Path, layout: str, storage: str, dtype: str, bo: str
) -> tuple[Path, str | None, np.ndarray]:
    """Write one corpus file; return its path, the axes= to pass and tifffile's (T, C, Y, X)."""
    y, x = (32, 32) if storage == "tiled_rows" else (Y, X)
    kw: dict[str, Any] = {"byteorder": bo, **STORAGES[storage]}
    data = _data(dtype, (T, C, y, x))
    if layout == "single":
        path = tmp / "single.tif"
        tifffile.imwrite(path, data[0, 0], metadata=None, **kw)
        ref = tifffile.imread(path)
        assert ref.shape == (y, x)
        return path, None, ref[np.newaxis, np.newaxis]
    if layout == "multipage":  # plain pages, no metadata: the user says what they are
        path = tmp / "pages.tif"
        with tifffile.TiffWriter(path, byteorder=bo) as w:
            for plane in data.reshape(T * C, y, x):
                w.write(plane, metadata=None, **STORAGES[storage])
        ref = tifffile.imread(path)
        assert ref.shape == (T * C, y, x)
        return path, "TYX", ref[:, np.newaxis]
    if layout == "shaped":  # tifffile's own JSON shape metadata
        path = tmp / "shaped.tif"
        tifffile.imwrite(path, data, metadata={"axes": "TCYX"}, **kw)
    elif layout == "bigtiff":
        path = tmp / "big.tif"
        tifffile.imwrite(path, data, bigtiff=True, metadata={"axes": "TCYX"}, **kw)
    elif layout == "ome":
        path = tmp / "img.ome.tif"
        tifffile.imwrite(
            path, data, metadata={"axes": "TCYX", "Channel": {"Name": ["a", "b"]}}, **kw
        )
    elif layout == "imagej":  # TZCYX hyperstack with a label per plane, as Fiji writes it
        path = tmp / "hyper.tif"
        labels = [f"t{t}c{c}" for t in range(T) for c in range(C)]
        tifffile.imwrite(
            path,
            data[:, np.newaxis],
            imagej=True,
            metadata={"axes": "TZCYX", "Labels": labels},
            **kw,
        )
    else:  # folder of per-frame (C, Y, X) files
        path = tmp / "frames"
        path.mkdir()
        for t in range(T):
            tifffile.imwrite(path / f"f{t + 1}.tif", data[t], metadata={"axes": "CYX"}, **kw)
        ref = np.stack([tifffile.imread(path / f"f{t + 1}.tif") for t in range(T)])
        np.testing.assert_array_equal(ref, data)  # the writer itself is right
        return path, None, ref
    ref = tifffile.imread(path)
    np.testing.assert_array_equal(ref.reshape(T, C, y, x), data)
    return path, None, ref.reshape(T, C, y, x)


def _assert_same(got: np.ndarray, ref: np.ndarray) -> None:
    assert got.dtype == ref.dtype.newbyteorder("=") and got.dtype.isnative
    assert got.shape == ref.shape
    assert np.array_equal(got, ref), "pixels differ from tifffile.imread"
    assert got.tobytes() == np.ascontiguousarray(ref, dtype=got.dtype).tobytes()  # bit for bit


@pytest.mark.parametrize(("layout", "storage", "dtype", "bo"), _cases())
def test_every_frame_equals_tifffile(tmp_path, layout, storage, dtype, bo):
    path, axes, ref = _write(tmp_path, layout, storage, dtype, bo)
    s = segpaint.open(path, axes=axes)
    assert s.shape == ref.shape
    for t in range(ref.shape[0]):
        _assert_same(s.image(t), ref[t])
    contiguous = storage == "contiguous" and layout in ("shaped", "ome", "bigtiff", "imagej")
    # One page of full-width tiles is contiguous too (tifffile puts IFDs between tiled pages).
    contiguous |= layout == "single" and storage in ("contiguous", "tiled_rows")
    if contiguous:  # the fast path is kept wherever it is correct
        assert s.stack._memmap is not None  # type: ignore[attr-defined]
    if storage in ("zlib", "lzw", "tiled"):
        assert getattr(s.stack, "_memmap", None) is None


def test_big_endian_imagej_float_movie_of_a_celldetective_experiment(tmp_path, write_experiment):
    """The critical case: Fiji's default save (big-endian, uncompressed) of a float32 movie."""
    movie = _data("float32", (T, C, Y, X))
    root = write_experiment(tmp_path / "Exp", movie)
    path = root / "W1" / "100" / "movie" / "Aligned.tif"
    tifffile.imwrite(path, movie, imagej=True, byteorder=">", metadata={"axes": "TCYX"})
    with tifffile.TiffFile(path) as tif:
        assert tif.byteorder == ">"
    s = segpaint.open(root)
    assert s.stack._memmap is not None  # type: ignore[attr-defined]
    for t in range(T):
        _assert_same(s.image(t), movie[t])


def test_big_endian_stack_pickles_for_dask_workers(tmp_path):
    data = _data("int16", (T, C, Y, X))
    path = tmp_path / "be.tif"
    tifffile.imwrite(path, data, imagej=True, byteorder=">", metadata={"axes": "TCYX"})
    stack = segpaint.open(path).stack
    clone = pickle.loads(pickle.dumps(stack))
    for t in range(T):
        _assert_same(clone.frame(t), data[t])


def test_multifile_ome_is_not_memory_mapped_across_files(tmp_path):
    """An OME series spread over two files: pages of the second must come from that file."""
    data = _data("uint16", (2, Y, X))
    uuid = "urn:uuid:00000000-0000-0000-0000-00000000000"
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?><OME xmlns="http://www.openmicroscopy.org/Schemas/'
        'OME/2016-06" UUID="{u}1"><Image ID="Image:0"><Pixels ID="Pixels:0" DimensionOrder='
        f'"XYCZT" Type="uint16" SizeX="{X}" SizeY="{Y}" SizeC="1" SizeZ="1" SizeT="2" '
        'BigEndian="false"><Channel ID="Channel:0:0" SamplesPerPixel="1"/>'
        '<TiffData FirstT="0" IFD="0" PlaneCount="1"><UUID FileName="a.ome.tif">{u}1</UUID>'
        '</TiffData><TiffData FirstT="1" IFD="0" PlaneCount="1"><UUID FileName="b.ome.tif">{u}2'
        "</UUID></TiffData></Pixels></Image></OME>"
    )
    tifffile.imwrite(tmp_path / "a.ome.tif", data[0], description=xml.format(u=uuid), metadata=None)
    tifffile.imwrite(tmp_path / "b.ome.tif", data[1], description=xml.format(u=uuid), metadata=None)
    ref = tifffile.imread(tmp_path / "a.ome.tif")
    assert ref.shape == (2, Y, X)  # tifffile follows the set
    s = segpaint.open(tmp_path / "a.ome.tif")
    assert s.shape == (2, 1, Y, X)
    for t in range(2):
        _assert_same(s.image(t), ref[t, np.newaxis])


def test_real_celldetective_movie_equals_tifffile(shared_data: Path):
    path = shared_data / "celldetective" / "ExperimentTest" / "W1" / "100" / "movie" / "sample.tif"
    ref = tifffile.imread(path)
    s = segpaint.open(path, read_only=True)  # shared data: look, never write
    assert s.shape == (1, *ref.shape)
    _assert_same(s.image(0), ref)
    s2 = segpaint.open(shared_data / "celldetective" / "ExperimentTest", read_only=True)
    _assert_same(s2.image(0), ref)


# ---------------------------------------------------------------- refused, with the fix


def test_pages_of_differing_shapes_are_refused(tmp_path):
    path = tmp_path / "mixed.tif"
    with tifffile.TiffWriter(path) as w:
        w.write(np.zeros((Y, X), np.uint16), metadata=None)
        w.write(np.zeros((Y, X), np.uint16), metadata=None)
        w.write(np.zeros((8, 9), np.uint16), metadata=None)
    with pytest.raises(
        StackError,
        match=r"mixed.tif holds 2 image series \(pages of differing shapes.*\(8, 9\) uint16",
    ):
        segpaint.open(path, axes="TYX")


@pytest.mark.parametrize("cut", ["half", "last_plane"])
def test_truncated_imagej_stack_is_refused(tmp_path, cut):
    path = tmp_path / "cut.tif"
    data = _data("uint16", (T, C, Y, X))
    tifffile.imwrite(path, data, imagej=True, metadata={"axes": "TCYX"})
    raw = path.read_bytes()
    keep = len(raw) // 2 if cut == "half" else len(raw) - Y * X * 2
    path.write_bytes(raw[:keep])
    # Cut in half, the ImageJ header survives and says what is missing; cut by one plane, the
    # last page's IFD is gone and tifffile cannot even build the series.
    with pytest.raises(StackError, match=r"(images=6 \(frames=3, channels=2.*)?truncated"):
        segpaint.open(path)


@pytest.mark.parametrize("compression", [None, "zlib"])
def test_truncated_shaped_and_ome_stacks_are_refused(tmp_path, compression):
    data = _data("float32", (T, C, Y, X))
    for name in ("shaped.tif", "img.ome.tif"):
        path = tmp_path / name
        tifffile.imwrite(path, data, metadata={"axes": "TCYX"}, compression=compression)
        raw = path.read_bytes()
        path.write_bytes(raw[: len(raw) // 2])
        with pytest.raises(StackError, match=r"truncated"):
            segpaint.open(path, axes="TCYX")


def test_ome_declaring_more_planes_than_present_is_refused(tmp_path):
    """OME SizeT=3 over 2 pages: tifffile would fill the missing frame with zeros."""
    data = _data("uint16", (2, Y, X))
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?><OME xmlns="http://www.openmicroscopy.org/'
        'Schemas/OME/2016-06"><Image ID="Image:0"><Pixels ID="Pixels:0" DimensionOrder="XYCZT" '
        f'Type="uint16" SizeX="{X}" SizeY="{Y}" SizeC="1" SizeZ="1" SizeT="3" '
        'BigEndian="false"><Channel ID="Channel:0:0" SamplesPerPixel="1"/><TiffData/></Pixels>'
        "</Image></OME>"
    )
    path = tmp_path / "short.ome.tif"
    with tifffile.TiffWriter(path) as w:
        w.write(data[0], description=xml, metadata=None)
        w.write(data[1], metadata=None)
    with pytest.raises(
        StackError, match=r"declares 3 image pages \(ome metadata.*only 2 are present"
    ):
        segpaint.open(path)


def test_imagej_images_without_frames_or_channels_asks_for_axes(tmp_path):
    path = tmp_path / "plain.tif"
    data = _data("uint16", (6, Y, X))
    with tifffile.TiffWriter(path) as w:
        for i, plane in enumerate(data):
            w.write(
                plane, description="ImageJ=1.54f\nimages=6\n" if i == 0 else None, metadata=None
            )
    with pytest.raises(
        StackError,
        match=r'images=6 but not whether they are frames, channels or slices: pass axes="TYX"',
    ):
        segpaint.open(path)
    s = segpaint.open(path, axes="TYX")
    assert s.shape == (6, 1, Y, X)
    _assert_same(s.image(4), data[4][np.newaxis])


def test_imagej_slices_can_be_read_as_time(tmp_path):
    path = tmp_path / "z.tif"
    data = _data("uint8", (4, Y, X))
    tifffile.imwrite(path, data, imagej=True, metadata={"axes": "ZYX"})
    with pytest.raises(StackError, match=r'Z axis of size 4.*axes="TYX"'):
        segpaint.open(path)
    s = segpaint.open(path, axes="TYX")
    _assert_same(s.image(3), data[3][np.newaxis])


def test_colour_last_axis_array_asks_for_tyxc():
    data = np.zeros((10, 64, 64, 3), np.uint8)
    data[2, 5, 6] = (1, 2, 3)
    with pytest.raises(StackError, match=r'looks like colour .* pass axes="TYXC"'):
        segpaint.open(data)
    s = segpaint.open(data, axes="TYXC")
    assert s.shape == (10, 3, 64, 64)
    assert list(s.image(2)[:, 5, 6]) == [1, 2, 3]
    assert segpaint.open(data, axes="TCYX").shape == (10, 64, 64, 3)  # explicit wins


def test_colour_last_axis_file_asks_for_tyxc(tmp_path):
    path = tmp_path / "rgb.tif"
    data = _data("uint8", (4, Y, X, 3))
    tifffile.imwrite(path, data, photometric="rgb")
    with pytest.raises(StackError, match=r'4 colour images of 17 x 23 pixels .* pass axes="TYXC"'):
        segpaint.open(path)
    s = segpaint.open(path, axes="TYXC")
    ref = tifffile.imread(path)
    for t in range(4):
        _assert_same(s.image(t), np.moveaxis(ref[t], -1, 0))


@pytest.mark.parametrize("storage", ["contiguous", "zlib"])
def test_nan_in_a_file_is_refused_when_its_frame_is_read(tmp_path, storage):
    data = _data("float32", (T, C, Y, X))
    data[1, 1, 3, 4] = np.nan
    path = tmp_path / "nan.tif"
    tifffile.imwrite(path, data, metadata={"axes": "TCYX"}, **STORAGES[storage])
    s = segpaint.open(path)  # opening reads no pixels
    _assert_same(s.image(0), data[0])
    with pytest.raises(
        StackError, match=r"frame 1 of nan.tif contains 1 NaN value\(s\).*nan_to_num"
    ):
        s.image(1)


def test_nan_in_a_folder_frame_is_refused(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    data = _data("float32", (2, Y, X))
    data[1, 0, 0] = np.nan
    for t in range(2):
        tifffile.imwrite(folder / f"{t}.tif", data[t])
    s = segpaint.open(folder)
    _assert_same(s.image(0), data[0][np.newaxis])
    with pytest.raises(StackError, match=r"frame 1 of 1.tif contains 1 NaN"):
        s.image(1)


def test_folder_frame_of_another_dtype_is_refused(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    tifffile.imwrite(folder / "0.tif", np.zeros((Y, X), np.uint16))
    tifffile.imwrite(folder / "1.tif", np.zeros((Y, X), np.float32))
    s = segpaint.open(folder)
    with pytest.raises(StackError, match=r"1.tif holds float32 pixels but 0.tif holds uint16"):
        s.image(1)


def test_complex_tiff_is_refused(tmp_path):
    path = tmp_path / "c.tif"
    tifffile.imwrite(path, np.zeros((Y, X), np.complex64))
    with pytest.raises(StackError, match=r"holds complex64 pixels"):
        segpaint.open(path)


# ---------------------------------------------------------------- exports read back exactly

EXACT_IN_IMAGEJ = {
    "uint8": np.array([0, 7, 255]),
    "uint16": np.array([0, 300, 65535]),
    "int16": np.array([-32768, 5, 32767]),
    "int32": np.array([-(2**24), 70000, 2**24]),  # float32 holds these exactly
    "uint64": np.array([0, 1, 65535]),  # fits uint16
    "int8": np.array([-128, 0, 127]),
    "float64": np.array([0.5, -3.25, 2.0**100]),  # float32 holds these exactly
    "float16": np.array([0.5, -2.0, 65504.0]),
    "bool": np.array([0, 1, 1]),
}
LOSSY_IN_IMAGEJ = {
    "uint64": np.array([0, 2**60 + 1, 3]),
    "int32": np.array([0, 2**24 + 1, 3]),
    "int64": np.array([-(2**40), 0, 1]),
    "float64": np.array([0.1, 0.2, 1e-50]),
    "float64-overflow": np.array([1e300, 0, 1]),
}


def _crop(values: np.ndarray, dtype: str, channels: int) -> np.ndarray:
    """A (C, 9, 11) crop holding ``values`` (cycled) in ``dtype``."""
    n = channels * 9 * 11
    return np.resize(values, n).reshape(channels, 9, 11).astype(dtype.split("-", maxsplit=1)[0])


@pytest.mark.parametrize("fmt", ["celldetective", "cellpose", "stardist"])
@pytest.mark.parametrize("channels", [1, 2, 3])
@pytest.mark.parametrize("dtype", list(EXACT_IN_IMAGEJ))
def test_exported_image_reads_back_exactly(tmp_path, fmt, channels, dtype):
    from segpaint.io.export import write_sample

    image = _crop(EXACT_IN_IMAGEJ[dtype], dtype, channels)
    labels = np.zeros((9, 11), np.uint16)
    labels[2:5, 3:7] = 4
    paths = write_sample(tmp_path, "s", image, labels, {}, format=fmt, pad=False)
    back = tifffile.imread(paths[0])
    meta = __import__("json").loads(paths[2].read_text())
    if fmt == "stardist":  # channels last, the crop's own dtype (bool as uint8)
        expected = image[0] if channels == 1 else np.moveaxis(image, 0, -1)
        assert meta["axes"] == ("YX" if channels == 1 else "YXC")
        assert back.dtype == (np.uint8 if dtype == "bool" else image.dtype)
    else:  # ImageJ (C, Y, X); ImageJ drops a single channel axis
        expected = image[0] if channels == 1 else image
        assert meta["axes"] == "CYX"
        assert back.dtype in (np.uint8, np.uint16, np.int16, np.float32)
    assert back.shape == expected.shape == tuple(meta["shape"])[-back.ndim :]
    # bit for bit against the source crop: the same values, compared in the source's dtype
    assert np.array_equal(back.astype(image.dtype), expected)
    assert np.array_equal(back, expected.astype(back.dtype))
    assert meta["dtype"] == str(back.dtype)


@pytest.mark.parametrize("fmt", ["celldetective", "cellpose"])
@pytest.mark.parametrize("case", list(LOSSY_IN_IMAGEJ))
def test_imagej_export_refuses_values_it_would_change(tmp_path, fmt, case):
    from segpaint.io.export import ExportError, write_sample

    image = _crop(LOSSY_IN_IMAGEJ[case], case, 2)
    with pytest.raises(ExportError, match=r"(2\*\*24|would change).*format='stardist'"):
        write_sample(tmp_path, "s", image, np.zeros((9, 11), np.uint16), {}, format=fmt)
    assert not any(tmp_path.rglob("*.tif"))  # nothing half-written


@pytest.mark.parametrize("case", list(LOSSY_IN_IMAGEJ))
def test_stardist_export_keeps_what_imagej_cannot(tmp_path, case):
    from segpaint.io.export import write_sample

    image = _crop(LOSSY_IN_IMAGEJ[case], case, 2)
    paths = write_sample(
        tmp_path, "s", image, np.zeros((9, 11), np.uint16), {}, format="stardist", pad=False
    )
    back = tifffile.imread(paths[0])
    assert back.dtype == image.dtype and back.shape == (9, 11, 2)
    assert back.tobytes() == np.ascontiguousarray(np.moveaxis(image, 0, -1)).tobytes()


def test_session_export_of_a_big_endian_movie_holds_the_movie_values(tmp_path):
    """End to end: Fiji's big-endian float file -> open -> export: the crop equals tifffile's."""
    movie = _data("float32", (T, C, 40, 50))
    path = tmp_path / "fiji.tif"
    tifffile.imwrite(path, movie, imagej=True, byteorder=">", metadata={"axes": "TCYX"})
    s = segpaint.open(path, pixel_size_um=1)
    roi = s.add_roi(2, rows=(5, 30), cols=(7, 41))
    s.paint("cells", 2, [(15, 20)], radius=4, label=1)  # a cell: an empty mask would warn
    for fmt in ("celldetective", "stardist"):
        files = s.export_roi("cells", roi, folder=tmp_path / fmt, format=fmt, pad=False)
        back = tifffile.imread(files[0])
        ref = tifffile.imread(path)[2, :, 5:30, 7:41]
        if fmt == "stardist":
            ref = np.moveaxis(ref, 0, -1)
        assert back.tobytes() == np.ascontiguousarray(ref, dtype=back.dtype).tobytes()


@pytest.mark.ml
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::FutureWarning")
@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")
def test_stardist_training_reads_exported_samples_as_two_channels(tmp_path, import_optional):
    """StarDist's training recipe (imread, n_channel = X[0].shape[-1]) on our stardist layout."""
    install = 'pip install "segpaint[stardist]"'
    sd_models = import_optional("stardist.models", env="SEGPAINT_REQUIRE_ML", install=install)
    tf = import_optional("tensorflow", env="SEGPAINT_REQUIRE_ML", install=install)
    csbdeep_utils = import_optional("csbdeep.utils", env="SEGPAINT_REQUIRE_ML", install=install)
    rng = np.random.default_rng(1)
    image = rng.integers(0, 200, size=(2, 96, 96)).astype(np.uint16)
    labels = np.zeros((96, 96), np.uint16)
    for i, (r, c) in enumerate([(20, 20), (20, 60), (60, 30), (70, 70)], start=1):
        rr, cc = np.ogrid[:96, :96]
        disk = (rr - r) ** 2 + (cc - c) ** 2 < 100
        labels[disk] = i
        image[:, disk] += np.array([1000, 500], np.uint16)[:, None]
    s = segpaint.open(image, axes="CYX", pixel_size_um=1, labels={"nuclei": labels[None]})
    for rows in ((0, 96), (10, 90)):
        s.export_roi(
            "nuclei", s.add_roi(0, rows=rows, cols=(0, 96)), format="stardist", folder=tmp_path
        )
    # the recipe of StarDist's 2D training notebook
    X = [tifffile.imread(p) for p in sorted((tmp_path / "images").glob("*.tif"))]
    Y = [tifffile.imread(p) for p in sorted((tmp_path / "masks").glob("*.tif"))]
    n_channel = 1 if X[0].ndim == 2 else X[0].shape[-1]
    assert n_channel == 2 and X[0].shape[:2] == Y[0].shape
    X = [csbdeep_utils.normalize(x, 1, 99.8, axis=(0, 1)) for x in X]
    tf.keras.utils.set_random_seed(0)
    config = sd_models.Config2D(
        n_rays=8,
        grid=(2, 2),
        n_channel_in=n_channel,
        unet_n_depth=1,
        train_patch_size=(64, 64),
        train_batch_size=1,
        train_epochs=1,
        train_steps_per_epoch=1,
        train_tensorboard=False,
    )
    model = sd_models.StarDist2D(config, name="m", basedir=str(tmp_path / "models"))
    model.train(X, Y, validation_data=(X[:1], Y[:1]), epochs=1, steps_per_epoch=1)
    assert (tmp_path / "models" / "m" / "weights_last.weights.h5").exists() or any(
        (tmp_path / "models" / "m").glob("weights_*")
    )
