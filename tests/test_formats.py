"""OME-Zarr, Cellpose _seg.npy and QuPath GeoJSON: round trips, bit-exact reads, clear errors."""

from __future__ import annotations

import json
import os
import pickle
import sys
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tifffile

import segpaint
from segpaint.io.cellpose_seg import SegError, read_seg, seg_path, write_seg
from segpaint.io.geojson import GeoJSONError, read_rois
from segpaint.io.zarr import ZarrError, ZarrStack

try:
    import zarr
except ImportError:  # the base install has no zarr: the Cellpose and GeoJSON tests still run
    zarr = None

if zarr is None and os.environ.get("SEGPAINT_REQUIRE_ZARR") == "1":  # CI's dev group installs it
    raise ImportError('SEGPAINT_REQUIRE_ZARR=1 but zarr is missing: pip install "segpaint[zarr]"')
needs_zarr = pytest.mark.skipif(zarr is None, reason='needs zarr: pip install "segpaint[zarr]"')

AXIS = {
    "t": {"name": "t", "type": "time", "unit": "second"},
    "c": {"name": "c", "type": "channel"},
    "z": {"name": "z", "type": "space", "unit": "micrometer"},
    "y": {"name": "y", "type": "space", "unit": "micrometer"},
    "x": {"name": "x", "type": "space", "unit": "micrometer"},
}


def write_ngff(
    url: str,
    data: np.ndarray,
    axes: str,
    *,
    version: str = "0.4",
    levels: int = 2,
    channels: list[str] | None = None,
    labels: dict[str, np.ndarray] | None = None,
    chunks: tuple[int, ...] | None = None,
) -> Any:
    """Write an OME-Zarr image with the zarr package only (NGFF 0.4 = zarr v2, 0.5 = zarr v3)."""
    fmt = 2 if version == "0.4" else 3
    root = zarr.open_group(url, mode="w", zarr_format=fmt)

    def multiscale(group: Any, arr: np.ndarray, ax: str, name: str) -> dict[str, Any]:
        datasets = []
        for level in range(levels):
            index = tuple(slice(None, None, 2**level) if a in "yx" else slice(None) for a in ax)
            part = np.ascontiguousarray(arr[index])
            kwargs = {"dimension_names": list(ax)} if fmt == 3 else {}
            ch = chunks if chunks is not None and level == 0 else part.shape
            out = group.create_array(
                str(level), shape=part.shape, chunks=ch, dtype=part.dtype, **kwargs
            )
            out[...] = part
            scale = [0.5 * 2**level if a in "yx" else 2.0 if a == "t" else 1.0 for a in ax]
            datasets.append(
                {
                    "path": str(level),
                    "coordinateTransformations": [{"type": "scale", "scale": scale}],
                }
            )
        ms: dict[str, Any] = {"name": name, "axes": [AXIS[a] for a in ax], "datasets": datasets}
        if fmt == 2:
            ms["version"] = version
        return ms

    attrs: dict[str, Any] = {"multiscales": [multiscale(root, data, axes, "image")]}
    if channels:
        attrs["omero"] = {"channels": [{"label": c, "color": "FFFFFF"} for c in channels]}
    root.attrs.update({"ome": {"version": version, **attrs}} if fmt == 3 else attrs)
    if labels:
        lab = root.create_group("labels")
        lab.attrs.update(
            {"ome": {"version": version, "labels": list(labels)}}
            if fmt == 3
            else {"labels": list(labels)}
        )
        lax = axes.replace("c", "")
        for name, arr in labels.items():
            g = lab.create_group(name)
            meta = {"multiscales": [multiscale(g, arr, lax, name)], "image-label": {}}
            g.attrs.update({"ome": {"version": version, **meta}} if fmt == 3 else meta)
    return root


def _tcyx(data: np.ndarray, axes: str) -> np.ndarray:
    for a in "tc":
        if a not in axes:
            data = data[np.newaxis]
            axes = a + axes
    if "z" in axes:
        data = data.take(0, axis=axes.index("z"))
        axes = axes.replace("z", "")
    return data.transpose([axes.index(a) for a in "tcyx"])


CASES = [
    ("0.4", "tczyx", "uint16"),
    ("0.4", "tyx", ">u2"),  # big-endian, zarr v2 keeps the byte order
    ("0.4", "cyx", "float32"),
    ("0.5", "tczyx", "uint16"),
    ("0.5", "tcyx", "int16"),
    ("0.5", "yx", "uint8"),
]


@needs_zarr
@pytest.mark.parametrize(("version", "axes", "dtype"), CASES)
def test_zarr_frames_equal_zarrs_own_read(
    tmp_path: Path, version: str, axes: str, dtype: str
) -> None:
    sizes = {"t": 3, "c": 2, "z": 1, "y": 40, "x": 52}
    shape = tuple(sizes[a] for a in axes)
    rng = np.random.default_rng(1)
    data = (rng.random(shape) * 3000).astype(dtype)
    url = str(tmp_path / "img.ome.zarr")
    # chunks that do not line up with frames or rows
    write_ngff(url, data, axes, version=version, chunks=tuple(min(s, 7) for s in shape))
    stack = ZarrStack(url)
    own = np.asarray(zarr.open_group(url, mode="r")["0"][...])
    expected = _tcyx(own, axes)
    assert stack.shape == expected.shape
    assert stack.dtype == own.dtype
    for t in range(stack.shape[0]):
        frame = stack.frame(t)
        assert frame.dtype == own.dtype
        np.testing.assert_array_equal(frame, expected[t])
        assert frame.tobytes() == np.ascontiguousarray(expected[t]).tobytes()
    assert stack.info.pixel_size_um == 0.5
    assert stack.info.extra["ngff_version"] == version
    if "t" in axes:
        assert stack.info.frame_interval_min == pytest.approx(2 / 60)  # 2 s


@needs_zarr
@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_zarr_levels_channels_and_urls(tmp_path: Path, version: str) -> None:
    data = np.arange(2 * 2 * 32 * 48, dtype=np.uint16).reshape(2, 2, 32, 48)
    path = tmp_path / "movie.zarr"
    write_ngff(str(path), data, "tcyx", version=version, channels=["dna", "actin"])
    for source in (path, str(path), f"file://{path}"):
        session = segpaint.open(source, journal=False)
        assert session.shape == (2, 2, 32, 48)
        assert session.channel_names == ["dna", "actin"]
        np.testing.assert_array_equal(session.image(1), data[1])
    low = segpaint.open(ZarrStack(path, level=1), journal=False)
    assert low.shape == (2, 2, 16, 24)
    assert low.pixel_size_um == 1.0
    np.testing.assert_array_equal(low.image(1), data[1][:, ::2, ::2])
    with pytest.raises(ZarrError, match=r"level=2 is out of range: .* has 2 resolution level\(s\)"):
        ZarrStack(path, level=2)
    # pickled (as dask does for its workers), the stack reopens the store
    clone = pickle.loads(pickle.dumps(ZarrStack(path, level=1)))
    np.testing.assert_array_equal(clone.frame(0), data[0][:, ::2, ::2])


@needs_zarr
def test_zarr_from_an_fsspec_memory_url() -> None:
    pytest.importorskip("fsspec")
    url = f"memory://segpaint-{uuid.uuid4().hex}/img.zarr"
    data = np.arange(3 * 24 * 20, dtype=np.uint8).reshape(3, 24, 20)
    write_ngff(url, data, "tyx", version="0.5", levels=1)
    session = segpaint.open(url, journal=False)
    assert session.shape == (3, 1, 24, 20)
    np.testing.assert_array_equal(session.image(2)[0], data[2])
    assert session.source.kind == "array"  # no local folder to write samples beside


@needs_zarr
@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_zarr_labels_groups_load_as_populations_and_write_back(
    tmp_path: Path, version: str
) -> None:
    data = np.zeros((2, 1, 1, 30, 40), np.uint16)
    nuclei = np.zeros((2, 1, 30, 40), np.uint32)
    nuclei[0, 0, 5:10, 5:10] = 3
    nuclei[1, 0, 20:25, 2:9] = 70000
    path = tmp_path / "withlabels.zarr"
    write_ngff(str(path), data, "tczyx", version=version, labels={"Nuclei": nuclei}, levels=1)
    session = segpaint.open(path, journal=False)
    # on open, the labels group is a population already, read lazily and not an unsaved edit
    assert "nuclei" in session.populations and not session.can_undo
    np.testing.assert_array_equal(np.asarray(session.labels("nuclei")), nuclei[:, 0])
    assert session.import_labels() == ["nuclei"]
    np.testing.assert_array_equal(np.asarray(session.labels("nuclei")), nuclei[:, 0])
    session.paint("nuclei", 1, [(2, 30)], radius=1, label=9)
    url = session.export_labels("nuclei")
    assert url.endswith("/labels/nuclei")
    # zarr's own reader sees the corrected labels, and the NGFF metadata lists them
    root = zarr.open_group(str(path), mode="r")
    written = np.asarray(root["labels/nuclei/0"][...])
    assert written.shape == (2, 1, 30, 40)
    np.testing.assert_array_equal(written[:, 0], np.asarray(session.labels("nuclei")))
    assert written[1, 0, 2, 30] == 9
    attrs = dict(root["labels"].attrs)
    listed = attrs["ome"]["labels"] if version == "0.5" else attrs["labels"]
    assert listed == ["Nuclei", "nuclei"]
    # a fresh session reads them back
    again = segpaint.open(path, journal=False)
    again.import_labels(population="nuclei")
    np.testing.assert_array_equal(
        np.asarray(again.labels("nuclei")), np.asarray(session.labels("nuclei"))
    )
    with pytest.raises(FileExistsError, match="labels/nuclei already exists; pass overwrite=True"):
        session.export_labels("nuclei")
    session.export_labels("nuclei", overwrite=True)
    attrs = dict(zarr.open_group(str(path), mode="r")["labels"].attrs)
    assert (attrs["ome"]["labels"] if version == "0.5" else attrs["labels"]) == ["Nuclei", "nuclei"]
    with pytest.raises(KeyError, match=r"no label image 'cells'; it has \['Nuclei', 'nuclei'\]"):
        again.import_labels(population="cells")


@needs_zarr
def test_zarr_labels_written_into_another_store(tmp_path: Path) -> None:
    movie = np.random.default_rng(0).integers(0, 99, (2, 24, 32), dtype=np.uint16)
    path = tmp_path / "image.zarr"
    write_ngff(str(path), movie, "tyx", version="0.5", levels=1)
    session = segpaint.open(movie, axes="TYX", journal=False)
    session.paint("cells", 0, [(4, 4)], radius=2, label=1)
    session.export_labels("cells", path)
    other = segpaint.open(path, journal=False)
    other.import_labels()
    np.testing.assert_array_equal(
        np.asarray(other.labels("cells")), np.asarray(session.labels("cells"))
    )
    with pytest.raises(ValueError, match="not opened from an OME-Zarr; pass path="):
        session.export_labels("cells")
    with pytest.raises(ValueError, match=r"is \(T, Y, X\) = \(2, 24, 32\) but this session"):
        segpaint.open(np.zeros((24, 32), np.uint8), journal=False).export_labels("cells", path)


@needs_zarr
def test_malformed_zarr_says_what_is_wrong(tmp_path: Path) -> None:
    plain = zarr.open_group(str(tmp_path / "plain.zarr"), mode="w", zarr_format=3)
    plain.create_array("0", shape=(4, 4), dtype="uint8")
    with pytest.raises(
        ZarrError, match="not an OME-Zarr image, its attributes hold no 'multiscales'"
    ):
        segpaint.open(tmp_path / "plain.zarr")
    bad_axes = write_ngff(str(tmp_path / "axes.zarr"), np.zeros((4, 4), np.uint8), "yx", levels=1)
    bad_axes.attrs["multiscales"] = [
        {**bad_axes.attrs["multiscales"][0], "axes": [{"name": "q"}, {"name": "x"}]}
    ]
    with pytest.raises(ZarrError, match="axis {'name': 'q'} is not one of t, c, z, y, x"):
        ZarrStack(tmp_path / "axes.zarr")
    missing = write_ngff(str(tmp_path / "missing.zarr"), np.zeros((4, 4), np.uint8), "yx", levels=1)
    del missing["0"]
    with pytest.raises(ZarrError, match="level 0 names the array '0', which is missing"):
        ZarrStack(tmp_path / "missing.zarr")
    z3 = np.zeros((1, 3, 8, 8), np.uint8)
    write_ngff(str(tmp_path / "z.zarr"), z3, "czyx", levels=1)
    with pytest.raises(ZarrError, match="z axis of 3 planes"):
        ZarrStack(tmp_path / "z.zarr")
    with pytest.raises(ZarrError, match="cannot open as a zarr group"):
        ZarrStack(tmp_path / "nothing.zarr")


# ------------------------------------------------------------------ Cellpose _seg.npy
def _cells() -> np.ndarray:
    masks = np.zeros((40, 50), np.uint16)
    masks[5:15, 5:20] = 1
    masks[20:35, 25:45] = 2
    return masks


def test_seg_npy_has_the_fields_cellpose_reads(tmp_path: Path) -> None:
    image = tmp_path / "cells.tif"
    path = write_seg(seg_path(image), _cells(), filename=image, diameter=12.5)
    assert path == tmp_path / "cells_seg.npy"
    dat = np.load(path, allow_pickle=True).item()
    assert dat["masks"].dtype == np.uint16
    np.testing.assert_array_equal(dat["masks"], _cells())
    # outlines: each cell's boundary pixels, holding its label
    assert dat["outlines"].shape == (40, 50)
    assert dat["outlines"][5, 10] == 1  # top edge of cell 1
    assert dat["outlines"][10, 10] == 0  # inside
    assert dat["outlines"][34, 30] == 2
    assert set(np.unique(dat["outlines"])) == {0, 1, 2}
    assert dat["ismanual"].tolist() == [False, False]
    assert dat["filename"] == str(image)
    assert dat["chan_choose"] == [0, 0]
    assert dat["est_diam"] == 12.5
    seg = read_seg(path)
    np.testing.assert_array_equal(seg.masks, _cells())
    assert seg.masks.dtype == np.uint32
    assert seg.filename == str(image)
    with pytest.raises(FileExistsError, match="already exists; pass overwrite=True"):
        write_seg(path, _cells())


def test_seg_npy_round_trip_through_a_session(tmp_path: Path) -> None:
    image = tmp_path / "field.tif"
    pixels = np.random.default_rng(2).integers(0, 500, (40, 50), dtype=np.uint16)
    tifffile.imwrite(image, pixels)
    # a Cellpose user's file, as the GUI left it (old -1 background convention too)
    gui = {"masks": _cells().astype(np.int32) - 1, "outlines": np.zeros((40, 50), np.int32)}
    np.save(tmp_path / "field_seg.npy", np.array(gui, dtype=object), allow_pickle=True)
    session = segpaint.open(image, journal=False)
    assert session.import_labels(tmp_path / "field_seg.npy") == ["cells"]
    np.testing.assert_array_equal(session.labels("cells", 0), _cells())
    session.fill("cells", 0, (30, 30), label=0)  # delete cell 2
    out = session.export_labels("cells", format="cellpose", image=True, overwrite=True)
    assert out == str(tmp_path / "field_seg.npy")
    dat = np.load(out, allow_pickle=True).item()
    assert set(np.unique(dat["masks"])) == {0, 1}
    np.testing.assert_array_equal(dat["img"], pixels)
    assert dat["filename"] == str(image)
    other = segpaint.open(image, journal=False, populations=["nuclei"])
    other.import_labels(out, "nuclei")
    np.testing.assert_array_equal(other.labels("nuclei", 0), session.labels("cells", 0))


def test_malformed_seg_npy_is_a_clear_error(tmp_path: Path) -> None:
    np.save(tmp_path / "array.npy", np.zeros((4, 4)))
    with pytest.raises(SegError, match=r"holds a dict; this file holds an array of shape \(4, 4\)"):
        read_seg(tmp_path / "array.npy")
    np.save(tmp_path / "nomasks_seg.npy", np.array({"img": 1}, dtype=object), allow_pickle=True)
    with pytest.raises(SegError, match=r"no 'masks' in the file \(keys: \['img'\]\)"):
        read_seg(tmp_path / "nomasks_seg.npy")
    stack3d = {"masks": np.zeros((3, 4, 4), np.uint16)}
    np.save(tmp_path / "z_seg.npy", np.array(stack3d, dtype=object), allow_pickle=True)
    with pytest.raises(SegError, match=r"'masks' has shape \(3, 4, 4\); segpaint reads 2-D masks"):
        read_seg(tmp_path / "z_seg.npy")
    floats = {"masks": np.zeros((4, 4), np.float32)}
    np.save(tmp_path / "f_seg.npy", np.array(floats, dtype=object), allow_pickle=True)
    with pytest.raises(SegError, match="'masks' must be integers; found float32"):
        read_seg(tmp_path / "f_seg.npy")
    (tmp_path / "junk_seg.npy").write_bytes(b"not numpy")
    with pytest.raises(SegError, match="not a numpy .npy file"):
        read_seg(tmp_path / "junk_seg.npy")
    session = segpaint.open(np.zeros((8, 8), np.uint8), journal=False)
    np.save(
        tmp_path / "big_seg.npy", np.array({"masks": _cells()}, dtype=object), allow_pickle=True
    )
    with pytest.raises(ValueError, match=r"masks in .* are \(40, 50\) but the frames are \(8, 8\)"):
        session.import_labels(tmp_path / "big_seg.npy")


# ------------------------------------------------------------------ QuPath GeoJSON
def test_geojson_rois_round_trip_next_to_the_samples(experiment: Path) -> None:
    session = segpaint.open(experiment, journal=False)
    session.add_roi(0, rows=(4, 20), cols=(8, 40))
    session.add_roi(2, rows=(10, 64), cols=(0, 16))
    path = session.export_rois_geojson("targets")
    assert path == experiment.resolve() / "annotations_targets" / "MyExp_100_rois.geojson"
    doc = json.loads(path.read_text())
    assert doc["type"] == "FeatureCollection"
    first = doc["features"][0]
    assert first["geometry"]["type"] == "Polygon"
    assert first["geometry"]["coordinates"] == [[[8, 4], [40, 4], [40, 20], [8, 20], [8, 4]]]
    assert first["properties"]["classification"]["name"] == "targets"
    assert first["properties"]["objectType"] == "annotation"
    assert doc["features"][1]["properties"]["frame"] == 2
    fresh = segpaint.open(experiment, journal=False)
    added = fresh.import_rois_geojson(path)
    assert [(r.frame, r.bbox) for r in added] == [(0, (4, 20, 8, 40)), (2, (10, 64, 0, 16))]
    assert fresh.rois() == session.rois()
    assert fresh.import_rois_geojson(path, population="effectors") == []
    assert session.samples("targets") == []  # the .geojson is not taken for a sample sidecar


def test_geojson_reads_a_qupath_export(tmp_path: Path) -> None:
    # QuPath's "Export objects as GeoJSON": a list of features, float coordinates, plane in geometry
    qupath = [
        {
            "type": "Feature",
            "id": "6c0b3f0e",
            "geometry": {
                "type": "Polygon",
                "coordinates": [
                    [[10.0, 5.0], [10.0, 25.0], [30.0, 25.0], [30.0, 5.0], [10.0, 5.0]]
                ],
                "plane": {"c": -1, "z": 0, "t": 1},
            },
            "properties": {"objectType": "annotation", "classification": {"name": "cells"}},
        }
    ]
    path = tmp_path / "qupath.geojson"
    path.write_text(json.dumps(qupath))
    rois = read_rois(path)
    assert [(r.population, r.frame, r.row0, r.row1, r.col0, r.col1) for r in rois] == [
        ("cells", 1, 5, 25, 10, 30)
    ]
    session = segpaint.open(np.zeros((2, 40, 40), np.uint8), axes="TYX", journal=False)
    (roi,) = session.import_rois_geojson(path)
    assert (roi.frame, roi.rows, roi.cols) == (1, (5, 25), (10, 30))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"type": "Point"}', "expected a GeoJSON FeatureCollection"),
        (
            '{"type": "Feature", "geometry": {"type": "Point", "coordinates": [1, 2]}}',
            "feature 0: geometry is 'Point'; segpaint reads rectangle ROIs",
        ),
        (
            '[{"type": "Feature", "geometry": {"type": "Polygon", "coordinates": '
            "[[[0, 0], [5, 0], [7, 3], [5, 5], [0, 5], [0, 0]]]}}]",
            "a Polygon of 5 corners is not a rectangle",
        ),
        (
            '[{"type": "Feature", "geometry": {"type": "Polygon", "coordinates": '
            "[[[0, 0], [5.5, 0], [5.5, 5], [0, 5], [0, 0]]]}}]",
            "coordinate 5.5 is not on a pixel corner",
        ),
    ],
)
def test_malformed_geojson_is_a_clear_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.geojson"
    path.write_text(content)
    with pytest.raises(GeoJSONError, match=message):
        read_rois(path)


def test_geojson_roi_on_a_missing_frame_adds_nothing(tmp_path: Path) -> None:
    session = segpaint.open(np.zeros((2, 20, 20), np.uint8), axes="TYX", journal=False)
    session.add_roi(1, rows=(0, 5), cols=(0, 5))
    path = session.export_rois_geojson("cells", tmp_path / "r.geojson")
    single = segpaint.open(np.zeros((20, 20), np.uint8), journal=False)
    with pytest.raises(ValueError, match="an ROI is on frame 1"):
        single.import_rois_geojson(path)
    assert single.rois() == []


def test_zarr_without_the_extra_names_the_install_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "zarr", None)  # as if zarr were not installed
    (tmp_path / "img.zarr").mkdir()
    with pytest.raises(ImportError, match=r'pip install "segpaint\[zarr\]"'):
        segpaint.open(tmp_path / "img.zarr")


@pytest.mark.ml
def test_seg_npy_both_ways_with_cellpose_io(tmp_path: Path, import_optional: Any) -> None:
    cp_io = import_optional(
        "cellpose.io", env="SEGPAINT_REQUIRE_ML", install='pip install "segpaint[cellpose]"'
    )
    pixels = np.random.default_rng(3).integers(0, 500, (40, 50), dtype=np.uint16)
    image = tmp_path / "train" / "field.tif"
    image.parent.mkdir()
    tifffile.imwrite(image, pixels)
    # segpaint -> Cellpose: its training loader reads our _seg.npy masks
    session = segpaint.open(image, journal=False)
    session.set_labels("cells", 0, _cells())
    session.export_labels("cells", format="cellpose")
    images, labels, names = cp_io.load_images_labels(str(image.parent), mask_filter="_seg.npy")
    assert names == [str(image)]
    np.testing.assert_array_equal(labels[0], _cells())
    np.testing.assert_array_equal(images[0], pixels)
    # Cellpose -> segpaint: a file written by cellpose's own masks_flows_to_seg
    masks = _cells()
    flows = [
        np.zeros((40, 50, 3), np.uint8),  # RGB flow picture
        np.zeros((2, 40, 50), np.float32),  # dY, dX
        np.zeros((40, 50), np.float32),  # cell probability
        np.zeros((2, 40, 50), np.float32),  # pixel destinations
    ]
    other = tmp_path / "other.tif"
    tifffile.imwrite(other, pixels)
    cp_io.masks_flows_to_seg(pixels, masks, flows, str(other), diams=12.0)
    seg = read_seg(tmp_path / "other_seg.npy")
    np.testing.assert_array_equal(seg.masks, masks)
    assert seg.filename == str(other)
    again = segpaint.open(other, journal=False)
    again.import_labels(tmp_path / "other_seg.npy")
    np.testing.assert_array_equal(again.labels("cells", 0), masks)


@needs_zarr
def test_save_labels_writes_the_ngff_labels_group(tmp_path: Path) -> None:
    data = np.zeros((2, 1, 1, 30, 40), np.uint16)
    path = tmp_path / "img.zarr"
    write_ngff(str(path), data, "tczyx", version="0.5", levels=1)
    session = segpaint.open(path)
    session.paint("cells", 1, [(10, 10)], radius=3, label=5)
    (where,) = session.save_labels("cells", format="ngff")
    assert str(where).endswith("labels/cells")
    written = np.asarray(zarr.open_group(str(path), mode="r")["labels/cells/0"][...])
    np.testing.assert_array_equal(written[:, 0], np.asarray(session.labels("cells")))
    assert not session._pops["cells"].dirty  # saved: the journal no longer holds it
    session.close()
    again = segpaint.open(path)
    assert again.pending_edits == 0
    assert again.labels("cells", 1)[10, 10] == 5  # the labels group is a population on open
    with pytest.raises(ValueError, match="format: expected 'tiff' or 'ngff'"):
        again.save_labels("cells", format="png")
