"""OME-Zarr (NGFF 0.4 and 0.5, zarr v2 and v3) images read lazily, and NGFF label groups.

An OME-Zarr image is a zarr group whose attributes hold ``multiscales`` (NGFF 0.4, zarr v2:
in ``.zattrs``; NGFF 0.5, zarr v3: under ``"ome"`` in ``zarr.json``).  Each multiscale level is
an array with named axes (``t``, ``c``, ``z``, ``y``, ``x``); segpaint reads one level, one frame
at a time.  Label images live in the ``labels/`` sub-group, one multiscale group per name.

Needs the optional ``zarr`` package: ``pip install "segpaint[zarr]"``.  Any fsspec URL works
(``file://``, ``memory://``, ``s3://`` with s3fs, ...); pass ``storage_options=`` for
credentials.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from segpaint.io.stack import Stack, StackError, StackInfo

__all__ = [
    "ZarrError",
    "ZarrStack",
    "is_zarr",
    "label_names",
    "read_label_frame",
    "write_labels",
]

INSTALL = 'pip install "segpaint[zarr]" (zarr 3, Python 3.11 or newer)'
_AXIS_TYPES = {"time": "T", "channel": "C"}
_UNITS_UM = {"micrometer": 1.0, "nanometer": 1e-3, "millimeter": 1e3, "angstrom": 1e-4}
_UNITS_MIN = {"minute": 1.0, "second": 1 / 60, "hour": 60.0, "millisecond": 1 / 60000}


class ZarrError(StackError):
    """An OME-Zarr store that cannot be read or written as NGFF."""


def _zarr() -> Any:
    try:
        import zarr
    except ImportError as err:
        raise ImportError(f"reading OME-Zarr needs the zarr package: {INSTALL}") from err
    return zarr


def is_zarr(source: str | Path) -> bool:
    """True for a ``*.zarr`` path or URL, or a local folder holding zarr metadata."""
    text = str(source).rstrip("/")
    if text.lower().endswith(".zarr"):
        return True
    if "://" in text:
        return False
    path = Path(text)
    return path.is_dir() and any((path / f).is_file() for f in ("zarr.json", ".zattrs", ".zgroup"))


def _open_group(url: str, mode: str, storage_options: Mapping[str, Any] | None) -> Any:
    zarr = _zarr()
    kwargs: dict[str, Any] = {"mode": mode}
    if storage_options:
        kwargs["storage_options"] = dict(storage_options)
    try:
        return zarr.open_group(url, **kwargs)
    except Exception as err:  # zarr's own GroupNotFoundError, fsspec's errors, bad metadata
        raise ZarrError(
            f"{url}: cannot open as a zarr group ({type(err).__name__}: {err})"
        ) from err


def _ngff(attrs: Mapping[str, Any], url: str) -> tuple[str, dict[str, Any]]:
    """``(version, attributes)``: NGFF 0.5 nests them under ``"ome"``, 0.4 keeps them at the top."""
    if isinstance(attrs.get("ome"), dict):
        ome = dict(attrs["ome"])
        return str(ome.get("version", "0.5")), ome
    if "multiscales" in attrs or "labels" in attrs:
        ms = attrs.get("multiscales")
        version = ms[0].get("version", "0.4") if isinstance(ms, list) and ms else "0.4"
        return str(version), dict(attrs)
    raise ZarrError(
        f"{url}: not an OME-Zarr image, its attributes hold no 'multiscales' (NGFF 0.4) nor "
        "'ome' (NGFF 0.5); open the image group (the one with the resolution levels 0, 1, ...)"
    )


def _axes(multiscale: Mapping[str, Any], ndim: int, url: str) -> str:
    axes = multiscale.get("axes")
    if axes is None:  # NGFF <= 0.3 had no axes: always 5-D tczyx
        axes = list("tczyx")[-ndim:]
    if not isinstance(axes, list) or len(axes) != ndim:
        raise ZarrError(
            f"{url}: multiscales 'axes' {axes!r} does not describe the {ndim} dimensions of the array"
        )
    letters = ""
    for ax in axes:
        name = (ax.get("name") if isinstance(ax, dict) else ax) or ""
        kind = ax.get("type") if isinstance(ax, dict) else None
        letter = _AXIS_TYPES.get(str(kind), "") or str(name).upper()[:1]
        if letter not in "TCZYX" or letter in letters:
            raise ZarrError(
                f"{url}: axis {ax!r} is not one of t, c, z, y, x (or repeats one); segpaint reads "
                "images with axes among t, c, z, y, x"
            )
        letters += letter
    if "Y" not in letters or "X" not in letters:
        raise ZarrError(f"{url}: axes {letters.lower()!r} have no y and x")
    return letters


def _scale(multiscale: Mapping[str, Any], dataset: Mapping[str, Any], ndim: int) -> list[float]:
    scale = [1.0] * ndim
    for transforms in (
        dataset.get("coordinateTransformations"),
        multiscale.get("coordinateTransformations"),
    ):
        for tr in transforms or []:
            if isinstance(tr, dict) and tr.get("type") == "scale":
                values = tr.get("scale")
                if isinstance(values, list) and len(values) == ndim:
                    scale = [a * float(b) for a, b in zip(scale, values, strict=True)]
    return scale


def _unit(multiscale: Mapping[str, Any], index: int, table: Mapping[str, float]) -> float | None:
    axes = multiscale.get("axes")
    if not isinstance(axes, list) or not isinstance(axes[index], dict):
        return None
    unit = axes[index].get("unit")
    return table.get(str(unit)) if unit is not None else None


class _Image:
    """One NGFF image group opened at one level (used for images and label images)."""

    def __init__(
        self,
        url: str,
        level: int,
        storage_options: Mapping[str, Any] | None,
        *,
        group: Any = None,
        mode: str = "r",
    ) -> None:
        self.url = url
        self.group = group if group is not None else _open_group(url, mode, storage_options)
        self.version, self.attrs = _ngff(dict(self.group.attrs), url)
        multiscales = self.attrs.get("multiscales")
        if (
            not isinstance(multiscales, list)
            or not multiscales
            or not isinstance(multiscales[0], dict)
        ):
            raise ZarrError(f"{url}: 'multiscales' must be a non-empty list of objects")
        self.multiscale: dict[str, Any] = multiscales[0]
        datasets = self.multiscale.get("datasets")
        if not isinstance(datasets, list) or not datasets:
            raise ZarrError(f"{url}: multiscales has no 'datasets' (resolution levels)")
        if isinstance(level, bool) or not isinstance(level, int | np.integer):
            raise TypeError(f"level: expected an int resolution level, got {level!r}")
        if not 0 <= level < len(datasets):
            raise ZarrError(
                f"level={level} is out of range: {url} has {len(datasets)} resolution level(s) "
                f"(0..{len(datasets) - 1}, 0 is full resolution)"
            )
        self.n_levels = len(datasets)
        self.dataset: dict[str, Any] = datasets[level]
        path = self.dataset.get("path")
        try:
            self.array = self.group[str(path)]
        except KeyError as err:
            raise ZarrError(
                f"{url}: level {level} names the array {path!r}, which is missing"
            ) from err
        if not hasattr(self.array, "shape") or not hasattr(self.array, "dtype"):
            raise ZarrError(f"{url}: level {level} ({path!r}) is a group, not an array")
        self.axes = _axes(self.multiscale, len(self.array.shape), url)
        self.scale = _scale(self.multiscale, self.dataset, len(self.axes))


class ZarrStack(Stack):
    """An OME-Zarr image read lazily as a ``(T, C, Y, X)`` stack, one resolution level.

    Parameters
    ----------
    url : str or path
        A local ``.zarr`` folder or any fsspec URL (``file://``, ``memory://``, ``s3://``, ...)
        of an NGFF image group (NGFF 0.4 on zarr v2, NGFF 0.5 on zarr v3).
    level : int
        Resolution level, ``0`` (full resolution, the default) to ``n_levels - 1``.
    storage_options : mapping, optional
        Passed to fsspec for remote URLs (credentials, anonymous access, ...).

    Notes
    -----
    Frames are read with zarr's own decoder, so pixels equal what ``zarr`` returns bit for bit.
    A Z axis of size 1 is dropped; a deeper Z is an error (segpaint annotates 2-D frames).
    """

    def __init__(
        self,
        url: str | Path,
        *,
        level: int = 0,
        storage_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.url = str(url)
        self.level = level
        self.storage_options = dict(storage_options) if storage_options else None
        self._lock = threading.Lock()
        self._open()

    def _open(self) -> None:
        image = _Image(self.url, self.level, self.storage_options)
        self._image = image
        self.version = image.version
        self.n_levels = image.n_levels
        shape = dict(zip(image.axes, (int(s) for s in image.array.shape), strict=True))
        if shape.get("Z", 1) != 1:
            raise ZarrError(
                f"{self.url} has a z axis of {shape['Z']} planes; segpaint annotates 2-D frames: "
                "write a projection (or one plane) to its own OME-Zarr first"
            )
        self.shape = (shape.get("T", 1), shape.get("C", 1), shape["Y"], shape["X"])
        self.dtype = np.dtype(image.array.dtype)
        if self.dtype.kind not in "uifb":
            raise ZarrError(f"{self.url}: dtype {self.dtype} is not numeric")
        self.source = self.url
        self.info = self._info(image)

    def _info(self, image: _Image) -> StackInfo:
        names = None
        omero = image.attrs.get("omero")
        channels = omero.get("channels") if isinstance(omero, dict) else None
        if isinstance(channels, list) and len(channels) == self.shape[1]:
            labels = [c.get("label") if isinstance(c, dict) else None for c in channels]
            if all(isinstance(x, str) and x for x in labels):
                names = [str(x) for x in labels]
        pixel = interval = None
        ix = image.axes.index("X")
        factor = _unit(image.multiscale, ix, _UNITS_UM)
        if factor is not None and image.scale[ix] > 0:
            pixel = image.scale[ix] * factor
        if "T" in image.axes:
            it = image.axes.index("T")
            factor = _unit(image.multiscale, it, _UNITS_MIN)
            if factor is not None and image.scale[it] > 0:
                interval = image.scale[it] * factor
        extra = {"ngff_version": image.version, "level": self.level, "n_levels": image.n_levels}
        return StackInfo(names, pixel, interval, extra)

    @property
    def axes(self) -> str:
        """The array's own axes, e.g. ``"TCZYX"``."""
        return self._image.axes

    @property
    def scale(self) -> list[float]:
        """The level's scale per axis (in the axes' units), as the metadata states it."""
        return list(self._image.scale)

    def frame(self, t: int) -> npt.NDArray[Any]:
        ti = self.check_frame(t)
        axes = self._image.axes
        index = tuple(ti if a == "T" else 0 if a == "Z" else slice(None) for a in axes)
        with self._lock:
            data = np.asarray(self._image.array[index])
        rest = [a for a in axes if a not in "TZ"]
        if "C" not in rest:
            data = data[np.newaxis]
            rest = ["C", *rest]
        out: npt.NDArray[Any] = np.ascontiguousarray(data.transpose([rest.index(a) for a in "CYX"]))
        return out

    def __getstate__(self) -> dict[str, Any]:
        return {"url": self.url, "level": self.level, "storage_options": self.storage_options}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.url = state["url"]
        self.level = state["level"]
        self.storage_options = state["storage_options"]
        self._lock = threading.Lock()
        self._open()


def _labels_group(stack: ZarrStack, *, create: bool = False) -> Any:
    group = stack._image.group
    if "labels" not in group:
        if not create:
            return None
        return group.create_group("labels")
    return group["labels"]


def _labels_list(labels_group: Any, url: str) -> list[str]:
    _, attrs = _ngff(dict(labels_group.attrs), f"{url}/labels")
    names = attrs.get("labels", [])
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ZarrError(
            f"{url}/labels: 'labels' must be a list of label group names; got {names!r}"
        )
    return list(names)


def label_names(stack: ZarrStack) -> list[str]:
    """Names of the label images in the image's ``labels/`` group (empty when there is none)."""
    group = _labels_group(stack)
    return [] if group is None else _labels_list(group, stack.url)


def population_name(label: str) -> str:
    """A population name (``[a-z0-9_-]+``) for an NGFF label name: lower case, other characters ``_``.

    Examples
    --------
    >>> population_name("Cell Masks (v2)")
    'cell_masks_v2'
    """
    name = re.sub(r"[^a-z0-9_-]+", "_", label.lower()).strip("_")
    return name or "labels"


def _label_image(stack: ZarrStack, name: str) -> _Image:
    group = _labels_group(stack)
    if group is None or name not in _labels_list(group, stack.url):
        raise ZarrError(f"{stack.url} has no label image {name!r}; it has {label_names(stack)}")
    try:
        sub = group[name]
    except KeyError as err:
        raise ZarrError(f"{stack.url}/labels lists {name!r} but has no such group") from err
    image = _Image(f"{stack.url}/labels/{name}", stack.level, None, group=sub)
    shape = dict(zip(image.axes, (int(s) for s in image.array.shape), strict=True))
    expected = {"T": stack.shape[0], "Y": stack.shape[2], "X": stack.shape[3]}
    found = {k: shape.get(k, 1) for k in expected}
    if found != expected or shape.get("C", 1) != 1 or shape.get("Z", 1) != 1:
        raise ZarrError(
            f"{image.url} level {stack.level} has shape {dict(shape)} but the image level has "
            f"(T, Y, X) = {tuple(expected.values())}; label images must match their image"
        )
    if np.dtype(image.array.dtype).kind not in "ui":
        raise ZarrError(f"{image.url}: labels must be integers; got {image.array.dtype}")
    return image


def read_label_frame(stack: ZarrStack, name: str, t: int) -> npt.NDArray[Any]:
    """Frame ``t`` of the label image ``labels/<name>`` at the stack's level, as ``(Y, X)``."""
    image = _label_image(stack, name)
    ti = stack.check_frame(t)
    index = tuple(ti if a == "T" else 0 if a in "CZ" else slice(None) for a in image.axes)
    data = np.asarray(image.array[index])
    rest = [a for a in image.axes if a in "YX"]
    out: npt.NDArray[Any] = data if rest == ["Y", "X"] else data.T
    return out


def write_labels(
    stack: ZarrStack,
    name: str,
    frame: Callable[[int], npt.NDArray[np.integer]],
    *,
    overwrite: bool = False,
) -> str:
    """Write a label image ``labels/<name>`` into the OME-Zarr the stack was read from.

    One resolution level is written, matching the stack's level (its scale is copied), with
    the image's axes minus ``c``; the NGFF version and zarr format follow the image's.

    Parameters
    ----------
    stack : ZarrStack
        The image; its store must be writable.
    name : str
        The label image's name (a population name).
    frame : callable(t) -> (Y, X) integer array
        Labels of each frame, asked for one frame at a time (memory stays one frame).
    overwrite : bool
        Replace an existing label image of that name (otherwise an error).

    Notes
    -----
    Zarr stores have no atomic rename: the label image is written chunk by chunk and listed in
    ``labels/`` last, so an interrupted write leaves it unlisted (or, when replacing, removed);
    write it again.

    Returns
    -------
    str
        The label image's URL.
    """
    _zarr()  # a clear error when zarr is missing
    url = f"{stack.url.rstrip('/')}/labels/{name}"
    writable = _Image(stack.url, stack.level, stack.storage_options, mode="r+")
    group = writable.group
    fmt = int(getattr(group.metadata, "zarr_format", 2))
    labels = group["labels"] if "labels" in group else group.create_group("labels")
    names = _labels_list(labels, stack.url) if labels.attrs else []
    ngff05 = writable.version.startswith("0.5") or fmt == 3
    if name in names or name in labels:
        if not overwrite:
            raise FileExistsError(
                f"{url} already exists; pass overwrite=True to replace it or pick another name"
            )
        names = [n for n in names if n != name]
        _list_labels(labels, names, ngff05)  # unlisted first: never listed while half-written
        del labels[name]
    keep = [i for i, a in enumerate(writable.axes) if a != "C"]
    axes_meta = writable.multiscale.get("axes")
    shape = tuple(int(writable.array.shape[i]) for i in keep)
    chunks_src = getattr(writable.array, "chunks", shape)
    chunks = tuple(
        1 if writable.axes[i] in "TZ" else min(int(chunks_src[i]), shape[j])
        for j, i in enumerate(keep)
    )
    sub = labels.create_group(name)
    kwargs: dict[str, Any] = {}
    if fmt == 3:
        kwargs["dimension_names"] = [writable.axes[i].lower() for i in keep]
    out = sub.create_array("0", shape=shape, chunks=chunks, dtype="uint32", fill_value=0, **kwargs)
    letters = [writable.axes[i] for i in keep]
    for t in range(stack.shape[0]):
        data = np.asarray(frame(t))
        index = tuple(t if a == "T" else 0 if a == "Z" else slice(None) for a in letters)
        out[index] = data.astype(np.uint32, copy=False)
    multiscale: dict[str, Any] = {
        "name": name,
        "axes": [axes_meta[i] for i in keep]
        if isinstance(axes_meta, list)
        else [a.lower() for a in letters],
        "datasets": [
            {
                "path": "0",
                "coordinateTransformations": [
                    {"type": "scale", "scale": [writable.scale[i] for i in keep]}
                ],
            }
        ],
    }
    image_label = {"source": {"image": "../../"}}
    if ngff05:
        sub.attrs["ome"] = {
            "version": "0.5",
            "multiscales": [multiscale],
            "image-label": image_label,
        }
    else:
        multiscale["version"] = writable.version
        sub.attrs.update(
            {
                "multiscales": [multiscale],
                "image-label": {"version": writable.version, **image_label},
            }
        )
    _list_labels(labels, [*names, name], ngff05)
    return url


def _list_labels(labels: Any, names: list[str], ngff05: bool) -> None:
    if ngff05:
        labels.attrs["ome"] = {"version": "0.5", "labels": names}
    else:
        labels.attrs["labels"] = names
