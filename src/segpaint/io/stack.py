"""Lazy image stacks normalised to ``(T, C, Y, X)``.

A :class:`Stack` reads one frame at a time; opening a file reads its metadata only. Stacks are
picklable (file-backed ones reopen their file on the other side), so Dask workers can read
frames themselves.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import weakref
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import tifffile

AXES_HELP = (
    'pass axes= with one letter per dimension, e.g. axes="YX", "TYX", "CYX", "TCYX" or "TYXC" '
    "(T time, C channel, Y rows, X columns)"
)
_VALID_AXES = set("TCYXSZ")


class StackError(ValueError):
    """An image source that cannot be read as a ``(T, C, Y, X)`` stack."""


def normalise_axes(axes: str, ndim: int, *, name: str = "axes") -> str:
    """Validate an axes string for an array of ``ndim`` dimensions; ``S`` counts as ``C``.

    Examples
    --------
    >>> normalise_axes("tyx", 3)
    'TYX'
    """
    if not isinstance(axes, str):
        raise TypeError(f"{name} must be a string such as 'TCYX'; got {axes!r}")
    ax = axes.upper().replace("S", "C")
    bad = set(ax) - _VALID_AXES
    if bad:
        raise StackError(f"{name}={axes!r} has unknown letters {sorted(bad)}; {AXES_HELP}")
    if len(ax) != ndim:
        raise StackError(
            f"{name}={axes!r} has {len(ax)} letters but the image has {ndim} dimensions; {AXES_HELP}"
        )
    if len(set(ax)) != len(ax):
        raise StackError(f"{name}={axes!r} repeats a letter; {AXES_HELP}")
    if "Y" not in ax or "X" not in ax:
        raise StackError(f"{name}={axes!r} must contain Y and X; {AXES_HELP}")
    return ax


def guess_axes(shape: Sequence[int]) -> str:
    """Axes for shapes that are not ambiguous: 2-D is ``YX``, 4-D is ``TCYX``.

    Raises a :class:`StackError` that shows the ``axes=`` to pass for 3-D and 5-D shapes, and
    for 4-D shapes whose last axis looks like colour (4 entries or fewer, e.g. ``(10, 512, 512,
    3)``), which would otherwise read as hundreds of channels of a few pixels wide.

    Examples
    --------
    >>> guess_axes((512, 512))
    'YX'
    """
    if len(shape) == 2:
        return "YX"
    if len(shape) == 4:
        if shape[-1] <= 4 < shape[-3]:
            # (10, 512, 512, 3) would otherwise read as 512 channels of 512 x 3 pixels.
            raise StackError(
                f"an image of shape {tuple(shape)} looks like colour (its last axis has "
                f'{shape[-1]} entries): pass axes="TYXC" (channels last), or axes="TCYX" if it '
                f"really is {shape[1]} channels of {shape[2]} x {shape[3]} pixels. {AXES_HELP}"
            )
        return "TCYX"
    if len(shape) == 3:
        hint = '"TYX" (a time-lapse) or "CYX" (channels)'
        if shape[-1] <= 4 < shape[0]:
            hint = '"YXC" (RGB-like channels last), "TYX" or "CYX"'
        raise StackError(
            f"an image of shape {tuple(shape)} is ambiguous: pass axes={hint}. {AXES_HELP}"
        )
    raise StackError(
        f"cannot read an image with {len(shape)} dimensions {tuple(shape)}; {AXES_HELP}"
    )


@dataclass
class StackInfo:
    """Metadata a reader found: channel names, µm per pixel, minutes per frame."""

    channel_names: list[str] | None = None
    pixel_size_um: float | None = None
    frame_interval_min: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Stack(ABC):
    """A lazy ``(T, C, Y, X)`` image stack."""

    shape: tuple[int, int, int, int]
    dtype: np.dtype[Any]
    info: StackInfo
    source: str

    @abstractmethod
    def frame(self, t: int) -> npt.NDArray[Any]:
        """Read frame ``t`` as a new ``(C, Y, X)`` array."""

    def check_frame(self, t: int, *, name: str = "frame") -> int:
        """Validate a frame index (negative indices count from the end)."""
        if isinstance(t, bool) or not isinstance(t, (int, np.integer)):
            raise TypeError(f"{name} must be an integer frame index; got {t!r}")
        n = self.shape[0]
        ti = int(t) + n if t < 0 else int(t)
        if not 0 <= ti < n:
            raise IndexError(f"{name}={t} is out of range: the stack has {n} frame(s) (0..{n - 1})")
        return ti

    @property
    def nbytes(self) -> int:
        """Size of the whole stack in bytes if it were loaded."""
        return int(np.prod(self.shape)) * self.dtype.itemsize

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.shape} {self.dtype} from {self.source}>"


def _to_tcyx(arr: npt.NDArray[Any], axes: str) -> npt.NDArray[Any]:
    """View ``arr`` (with normalised ``axes``) as ``(T, C, Y, X)`` without copying."""
    if "Z" in axes:
        z = arr.shape[axes.index("Z")]
        if z != 1:
            raise StackError(
                f"the image has a Z axis of size {z}; segpaint annotates 2-D frames: "
                "project it first (e.g. arr.max(axis=...)) or pass axes with Z moved into T"
            )
        arr = arr.take(0, axis=axes.index("Z"))
        axes = axes.replace("Z", "")
    for letter in "TC":
        if letter not in axes:
            arr = arr[np.newaxis]
            axes = letter + axes
    order = [axes.index(a) for a in "TCYX"]
    out: npt.NDArray[Any] = arr.transpose(order)
    return out


class ArrayStack(Stack):
    """A stack held in memory (or any array-like, e.g. a memmap)."""

    def __init__(
        self,
        data: npt.ArrayLike,
        *,
        axes: str | None = None,
        info: StackInfo | None = None,
        source: str = "array",
    ) -> None:
        arr = np.asanyarray(data)
        if arr.dtype.kind not in "uifb":
            raise StackError(
                f"image dtype {arr.dtype} is not numeric; pass an integer or float array"
            )
        if arr.dtype.kind == "f" and arr.size and np.isnan(arr).any():
            raise StackError(
                "the image contains NaN values; replace them first, e.g. np.nan_to_num(image)"
            )
        ax = normalise_axes(axes, arr.ndim) if axes is not None else guess_axes(arr.shape)
        self._data = _to_tcyx(arr, ax)
        self.shape = tuple(int(s) for s in self._data.shape)  # type: ignore[assignment]
        self.dtype = self._data.dtype
        self.info = info or StackInfo()
        self.source = source

    def frame(self, t: int) -> npt.NDArray[Any]:
        return np.array(self._data[self.check_frame(t)])


class TiffStack(Stack):
    """A TIFF / OME-TIFF / ImageJ hyperstack read lazily, one frame at a time.

    Uncompressed files whose planes lie contiguously in the file are memory-mapped with the
    file's byte order; others are read page by page through tifffile. Frames are always
    returned in native byte order with the values ``tifffile.imread`` gives. A file that is
    truncated, holds pages of differing shapes, or whose metadata declares more images than it
    holds is refused when opened; a float frame holding NaN is refused when it is read.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        axes: str | None = None,
        channels_interleaved: int | None = None,
        info: StackInfo | None = None,
    ) -> None:
        self.path = Path(path)
        self._axes_arg = axes
        self._interleaved = channels_interleaved
        self._lock = threading.Lock()
        self._open()
        if info is not None:
            merged = self.info
            self.info = StackInfo(
                channel_names=info.channel_names or merged.channel_names,
                pixel_size_um=info.pixel_size_um or merged.pixel_size_um,
                frame_interval_min=info.frame_interval_min or merged.frame_interval_min,
                extra={**merged.extra, **info.extra},
            )

    def _open(self) -> None:
        with _TiffLog() as log:
            try:
                tif = tifffile.TiffFile(self.path)
            except FileNotFoundError:
                raise
            except Exception as err:
                raise StackError(f"cannot read {self.path} as a TIFF file: {err}") from err
            try:
                self._parse(tif, log)
            except BaseException:
                tif.close()
                raise
        if self._memmap is not None:
            tif.close()  # the memmap keeps its own mapping; no file handle to leak
        else:
            self._finalizer = weakref.finalize(self, tif.close)

    def _parse(self, tif: tifffile.TiffFile, log: _TiffLog) -> None:
        try:
            series = tif.series[0]
            shape = tuple(int(s) for s in series.shape)
            file_axes = series.axes
            self.dtype = np.dtype(series.dtype).newbyteorder("=")
            page_shape = tuple(int(s) for s in series.keyframe.shape)
            self.info = _tiff_info(tif)
        except Exception as err:
            raise StackError(
                f"cannot read the image series of {self.path}: {err}; the file is truncated or "
                "damaged: re-export or re-copy it"
            ) from err
        if self.dtype.kind not in "uifb":
            raise StackError(
                f"{self.path.name} holds {self.dtype} pixels; segpaint reads integer and real "
                "images: convert it (e.g. np.abs(tifffile.imread(path))) and open the array"
            )
        self._tif = tif
        self._series = series
        self._page_shape = page_shape
        _check_complete(tif, series, self.path, log)
        _check_codec(series.keyframe, self.path)
        if self._interleaved is not None:
            # Celldetective movies: pages are (t0c0, t0c1, ..., t1c0, ...) whatever the metadata says.
            n_c = self._interleaved
            if len(page_shape) != 2:
                raise StackError(
                    f"{self.path}: expected one 2-D image per page, got pages of {page_shape}"
                )
            total = int(np.prod(shape)) // int(np.prod(page_shape))
            if total % n_c:
                raise StackError(
                    f"{self.path} has {total} image planes, which is not a multiple of the "
                    f"{n_c} channels listed in config.ini [Channels]; check the channel indices"
                )
            shape = (total // n_c, n_c, *page_shape)
            axes = "TCYX"
        elif self._axes_arg is not None:
            axes = normalise_axes(self._axes_arg, len(shape))
        else:
            _check_imagej_declares_axes(tif, series, self.path)
            axes = _axes_from_tiff(file_axes, shape, self.path)
        self.axes = axes
        self._file_shape = shape
        dims = dict(zip(axes, shape, strict=True))
        if "Z" in dims and dims["Z"] != 1:
            raise StackError(
                f"{self.path.name} has a Z axis of size {dims['Z']}; segpaint annotates 2-D frames: "
                'project it first, or pass axes= with Z read as T (e.g. axes="TYX")'
            )
        self.shape = (dims.get("T", 1), dims.get("C", 1), dims["Y"], dims["X"])
        self.source = str(self.path)
        self._memmap = self._try_memmap(shape)

    def _try_memmap(self, shape: tuple[int, ...]) -> npt.NDArray[Any] | None:
        """Map the pixels when the whole series lies uncompressed, in order, in this file."""
        try:
            # dataoffset is None unless every page is uncompressed, unpredicted, in final
            # form (no fill order or subsampling) and each one starts where the previous ends.
            offset = self._series.dataoffset
            pages = list(getattr(self._series, "_pages", []))
        except Exception:  # tifffile raises on some exotic series
            return None
        if offset is None or not pages:
            return None
        # Multi-file OME series: pages may live in other files whose offsets mean nothing here.
        if any(p is None or p.parent is not self._tif for p in pages):
            return None
        nbytes = math.prod(shape) * self.dtype.itemsize
        size = self.path.stat().st_size
        if offset + nbytes > size:
            raise StackError(
                f"{self.path.name} is truncated: its pixels need {offset + nbytes} bytes but the "
                f"file has {size}; re-export or re-copy it"
            )
        file_dtype = self.dtype.newbyteorder(self._tif.byteorder)
        mm = np.memmap(self.path, dtype=file_dtype, mode="r", offset=offset, shape=shape)
        return _to_tcyx(mm, self.axes)

    def frame(self, t: int) -> npt.NDArray[Any]:
        ti = self.check_frame(t)
        if self._memmap is not None:
            out = np.empty(self.shape[1:], dtype=self.dtype)
            out[...] = self._memmap[ti]  # copies and swaps big-endian values to native
            return _refuse_nan(out, ti, self.path.name)
        # Page-wise read of the planes that make frame t.
        planes_shape = (
            self._file_shape[:-2] if len(self._page_shape) == 2 else self._file_shape[:-3]
        )
        plane_axes = self.axes[: len(planes_shape)]
        idx = np.arange(int(np.prod(planes_shape))).reshape(planes_shape)
        sel = _to_tcyx(idx[..., np.newaxis, np.newaxis], plane_axes + "YX")[ti, :, 0, 0]
        with self._lock:
            try:
                data = self._read_pages([int(k) for k in sel])
            except Exception as err:
                raise StackError(
                    f"cannot read frame {ti} of {self.path}: {err}. The file may be truncated "
                    "or corrupted; re-export it"
                ) from err
        data = np.asarray(data).astype(self.dtype, copy=False)
        if len(self._page_shape) == 3:  # YXS pages: channels last in each page
            data = np.moveaxis(data.reshape(-1, *self._page_shape), -1, 1).reshape(
                -1, *self._page_shape[:2]
            )
        return _refuse_nan(np.ascontiguousarray(data.reshape(self.shape[1:])), ti, self.path.name)

    def _read_pages(self, keys: list[int]) -> npt.NDArray[Any]:
        """Read pages of the series; pages of a multi-file OME set may sit in closed files."""
        reopened = []
        try:
            for k in keys:
                page = self._series[k]
                if page is None:  # refused at open; kept for files changed since
                    raise StackError(f"page {k} of the series is missing")
                fh = page.parent.filehandle
                if fh.closed and fh not in reopened:
                    fh.open()
                    reopened.append(fh)
            out = self._series.asarray(key=keys if len(keys) > 1 else keys[0])
        finally:
            for fh in reopened:
                fh.close()
        return np.asarray(out)

    def close(self) -> None:
        """Close the file handle (the stack reopens it when pickled and unpickled)."""
        self._memmap = None
        self._tif.close()

    def __getstate__(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "axes": self._axes_arg,
            "interleaved": self._interleaved,
            "info": self.info,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.path = state["path"]
        self._axes_arg = state["axes"]
        self._interleaved = state["interleaved"]
        self._lock = threading.Lock()
        self._open()
        self.info = state["info"]


def tiff_planes(path: str | Path) -> int:
    """Number of pages (2-D planes) in a TIFF's first series; reads metadata only.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> path = Path(tempfile.mkdtemp()) / "m.tif"
    >>> tifffile.imwrite(path, np.zeros((3, 2, 4, 5), np.uint8), metadata={"axes": "TCYX"})
    >>> tiff_planes(path)
    6
    """
    path = Path(path)
    try:
        with tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            page = math.prod(int(n) for n in series.keyframe.shape)
            return math.prod(int(n) for n in series.shape) // max(1, page)
    except FileNotFoundError:
        raise
    except Exception as err:
        raise StackError(f"cannot read {path} as a TIFF file: {err}") from err


def _refuse_nan(frame: npt.NDArray[Any], t: int, name: str) -> npt.NDArray[Any]:
    """Refuse a float frame holding NaN, as :class:`ArrayStack` refuses NaN arrays."""
    if frame.dtype.kind == "f" and frame.size:
        n = int(np.count_nonzero(np.isnan(frame)))
        if n:
            raise StackError(
                f"frame {t} of {name} contains {n} NaN value(s); segpaint refuses NaN pixels "
                "(they cannot be displayed, thresholded or exported): replace them, e.g. "
                "segpaint.open(np.nan_to_num(tifffile.imread(path)), axes=...), or fix the file"
            )
    return frame


class _TiffLog(logging.Handler):
    """Collect what tifffile logs about damaged files while this thread opens one."""

    # Structural damage only: odd metadata tags (GeoKeys, resolution, ...) are not refused.
    _DAMAGE = (
        "invalid page offset",
        "invalid offset to",
        "invalid value offset",
        "corrupted tag list",
        "corrupted file",
        "tifftag.fromfile",
        "series raised",
        "series contains",
        "failed to read",
        "truncat",
    )

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []
        self._thread = threading.get_ident()

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self._thread:
            self.messages.append(record.getMessage())

    def damage(self) -> list[str]:
        """Messages that say the file's structure is broken (not merely unusual)."""
        return [m for m in self.messages if any(k in m.lower() for k in self._DAMAGE)]

    def __enter__(self) -> _TiffLog:
        logging.getLogger("tifffile").addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        logging.getLogger("tifffile").removeHandler(self)


def _check_complete(
    tif: tifffile.TiffFile, series: tifffile.TiffPageSeries, path: Path, log: _TiffLog
) -> None:
    """Refuse files that hold less than they declare, or several stacks of differing shapes."""
    if len(tif.series) > 1:
        found = ", ".join(
            f"{tuple(int(n) for n in s.shape)} {np.dtype(s.dtype)}" for s in tif.series[:6]
        )
        raise StackError(
            f"{path.name} holds {len(tif.series)} image series (pages of differing shapes or "
            f"types, or separate stacks: {found}{', ...' if len(tif.series) > 6 else ''}); "
            "segpaint reads one stack per "
            "file: save each as its own file, e.g. tifffile.imwrite(out, tifffile.imread(path, "
            "series=i)), and open that"
        )
    md = tif.imagej_metadata
    present_pages = [p for p in getattr(series, "_pages", []) if p is not None]
    if md is not None and series.kind not in ("imagej", "ome"):
        declared = md.get("images", "?")
        raise StackError(
            f"{path.name}: its ImageJ metadata declares images={declared} "
            f"(frames={md.get('frames', 1)}, channels={md.get('channels', 1)}, "
            f"slices={md.get('slices', 1)}) but the file holds {len(tif.pages)} page(s): it is "
            "truncated or damaged; re-export or re-copy it"
        )
    broken = log.damage()
    if broken:
        raise StackError(
            f"{path.name} is truncated or damaged (tifffile: {broken[0]}); segpaint would read "
            "only part of it: re-export or re-copy the file"
        )
    if len(present_pages) > 1 and len(present_pages) < len(series):
        raise StackError(
            f"{path.name} declares {len(series)} image pages ({series.kind} metadata, shape "
            f"{tuple(int(n) for n in series.shape)}) but only {len(present_pages)} are present: "
            "the file is truncated or a file of a multi-file set is missing; re-export it"
        )
    size = path.stat().st_size
    for page in present_pages:
        ends = [
            int(o) + int(n) for o, n in zip(page.dataoffsets, page.databytecounts, strict=False)
        ]
        if page.parent is tif and ends and max(ends) > size:
            raise StackError(
                f"{path.name} is truncated: page {page.index} needs bytes up to {max(ends)} but "
                f"the file has {size}; re-export or re-copy it"
            )


def _check_codec(page: Any, path: Path) -> None:
    """Say which package decodes the file when tifffile lacks its codec (e.g. LZW)."""
    compression = getattr(page, "compression", 1)
    if compression == 1:
        return
    try:
        tifffile.TIFF.DECOMPRESSORS[compression]
    except KeyError as err:
        name = getattr(compression, "name", str(compression))
        raise StackError(
            f"{path.name} is compressed with {name}, which tifffile decodes only with the "
            "imagecodecs package: pip install imagecodecs"
        ) from err


def _check_imagej_declares_axes(
    tif: tifffile.TiffFile, series: tifffile.TiffPageSeries, path: Path
) -> None:
    """An ImageJ stack of ``images=N`` that does not say frames, channels or slices is ambiguous."""
    md = tif.imagej_metadata
    if md is None or series.kind != "imagej":
        return
    images = md.get("images", 1)
    if (
        isinstance(images, int)
        and images > 1
        and not any(k in md for k in ("frames", "channels", "slices"))
    ):
        raise StackError(
            f"{path.name}: its ImageJ metadata says images={images} but not whether they are "
            'frames, channels or slices: pass axes="TYX" (a time-lapse) or axes="CYX" '
            "(channels)"
        )


def _axes_from_tiff(file_axes: str, shape: tuple[int, ...], path: Path) -> str:
    ax = file_axes.upper()
    # tifffile uses I/Q for generic page sequences: unknown meaning, ambiguous unless 2-D.
    if "I" in ax or "Q" in ax:
        generic = ax.replace("I", "?").replace("Q", "?")
        if generic.count("?") == 0 or len(shape) == 2:
            return normalise_axes(ax, len(shape))
        if len(shape) == 3 and shape[0] == 1:
            return "TYX"
        if ax.endswith("S") and len(shape) == 4 and shape[-1] <= 4:
            raise StackError(
                f"{path.name}: the file stores {shape[0]} colour images of {shape[1]} x "
                f"{shape[2]} pixels with {shape[-1]} samples each (tifffile axes {file_axes!r}) "
                'without saying that they are frames: pass axes="TYXC"'
            )
        raise StackError(
            f"{path.name}: the file stores {len(shape)} dimensions {shape} without saying which "
            f"is time and which is channel (tifffile axes {file_axes!r}); {AXES_HELP}"
        )
    ax = ax.replace("S", "C")
    if "E" in ax or "A" in ax or "R" in ax or "H" in ax or "P" in ax or "V" in ax or "L" in ax:
        raise StackError(f"{path.name}: unsupported axes {file_axes!r}; {AXES_HELP}")
    return normalise_axes(ax, len(shape))


def _tiff_info(tif: tifffile.TiffFile) -> StackInfo:
    info = StackInfo()
    if tif.is_ome and tif.ome_metadata:
        xml = tif.ome_metadata
        names = re.findall(r"<Channel[^>]*?\bName=\"([^\"]*)\"", xml)
        if names:
            info.channel_names = names
        m = re.search(r"PhysicalSizeX=\"([0-9.eE+-]+)\"", xml)
        unit = re.search(r"PhysicalSizeXUnit=\"([^\"]+)\"", xml)
        if m and (unit is None or unit.group(1) in ("µm", "um", "micron")):
            info.pixel_size_um = float(m.group(1))
        m = re.search(r"TimeIncrement=\"([0-9.eE+-]+)\"", xml)
        tunit = re.search(r"TimeIncrementUnit=\"([^\"]+)\"", xml)
        if m:
            factor = {"s": 1 / 60, "ms": 1 / 60000, "min": 1.0, "h": 60.0}.get(
                tunit.group(1) if tunit else "s", 1 / 60
            )
            info.frame_interval_min = float(m.group(1)) * factor
    elif tif.is_imagej and tif.imagej_metadata:
        md = tif.imagej_metadata
        labels = md.get("Labels")
        if isinstance(labels, list) and labels and all(isinstance(v, str) for v in labels):
            info.channel_names = labels
        finterval = md.get("finterval")
        if finterval:
            info.frame_interval_min = float(finterval) / 60.0
        unit = md.get("unit", "")
        page = tif.pages.first
        xres = page.tags.get("XResolution")
        if unit in ("micron", "um", "µm", "\\u00B5m") and xres is not None:
            num, den = xres.value
            if num:
                info.pixel_size_um = den / num
    return info


class FolderStack(Stack):
    """A folder of per-frame TIFF files (natural sort order), each ``(Y, X)`` or ``(C, Y, X)``.

    Every file must have the shape and dtype of the first; a float frame holding NaN is refused
    when it is read, like a NaN array.
    """

    def __init__(
        self, folder: str | Path, *, axes: str | None = None, pattern: str = "*.tif*"
    ) -> None:
        self.folder = Path(folder)
        files = sorted(self.folder.glob(pattern), key=_natural_key)
        if not files:
            raise StackError(
                f"no files matching {pattern!r} in {self.folder}; pass a folder of TIFFs"
            )
        self.files = files
        self._axes = _frame_axes(axes)
        with tifffile.TiffFile(files[0]) as tif:
            series = tif.series[0]
            file_shape = tuple(int(s) for s in series.shape)
            self._file_axes = self._axes or _single_frame_axes(series.axes, file_shape)
            self.info = _tiff_info(tif)
            self.dtype = np.dtype(series.dtype).newbyteorder("=")
        normalise_axes(self._file_axes, len(file_shape))
        if "T" in self._file_axes:
            raise StackError(
                f"{files[0].name} holds several frames; a folder stack needs one frame per file "
                "(open the file itself instead)"
            )
        dims = dict(zip(self._file_axes, file_shape, strict=True))
        self.shape = (len(files), dims.get("C", 1), dims["Y"], dims["X"])
        self.source = str(self.folder)

    def frame(self, t: int) -> npt.NDArray[Any]:
        ti = self.check_frame(t)
        try:
            arr = tifffile.imread(self.files[ti])
        except Exception as err:
            raise StackError(
                f"cannot read {self.files[ti]}: {err}; the file may be truncated"
            ) from err
        if arr.ndim != len(self._file_axes):
            raise StackError(
                f"{self.files[ti].name} has shape {arr.shape} but {self.files[0].name} has axes "
                f"{self._file_axes!r}; all files of a folder stack must have the same shape"
            )
        out = _to_tcyx(arr, normalise_axes(self._file_axes, arr.ndim))[0]
        if out.shape != self.shape[1:]:
            raise StackError(
                f"{self.files[ti].name} has shape {out.shape} (C, Y, X) but "
                f"{self.files[0].name} had {self.shape[1:]}; all files of a folder stack must have the same shape"
            )
        if out.dtype != self.dtype:
            raise StackError(
                f"{self.files[ti].name} holds {out.dtype} pixels but {self.files[0].name} holds "
                f"{self.dtype}; all files of a folder stack must have the same dtype: convert them"
            )
        return _refuse_nan(np.ascontiguousarray(out, dtype=self.dtype), ti, self.files[ti].name)


def _single_frame_axes(series_axes: str, shape: tuple[int, ...]) -> str:
    """Axes of a one-frame file: 2-D is YX; 3-D is CYX, or YXC when the last axis is small."""
    ax = series_axes.upper().replace("S", "C")
    if len(shape) == 2:
        return "YX"
    if set(ax) <= set("CYX") and len(ax) == len(shape):
        return ax
    if len(shape) == 3:
        return "YXC" if shape[-1] <= 4 < shape[0] else "CYX"
    raise StackError(f"a frame file of shape {shape} is not 2-D or 3-D; {AXES_HELP}")


def _frame_axes(axes: str | None) -> str | None:
    if axes is None:
        return None
    return axes.upper().replace("T", "")


def _natural_key(path: Path) -> list[Any]:
    return [int(tok) if tok.isdigit() else tok.lower() for tok in re.split(r"(\d+)", path.name)]
