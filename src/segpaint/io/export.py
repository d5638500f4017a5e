"""Atomic writers: training samples in three layouts, and full-frame label folders.

Every file is written to a temporary name in its destination folder, fsynced and renamed in one
step, so a reader never sees half a file and a kill never loses the old one; a sample's files are
committed as one unit (:func:`segpaint.io._fs.commit_files`: after a crash and
:func:`~segpaint.io._fs.recover_folder`, all old or all new), an existing sample is never replaced
unless asked, and with ``base=`` nothing is written through a symbolic link.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import tifffile

from segpaint.io._fs import atomic_write, commit_files, open_nofollow, reserve_temp
from segpaint.ops import pad_symmetric, relabel_sequential

ExportFormat = Literal["celldetective", "cellpose", "stardist"]
FORMATS: tuple[str, ...] = ("celldetective", "cellpose", "stardist")
MIN_SIZE = 256
"""Crops smaller than this on a side are zero-padded (StarDist trains on 256² patches)."""


class ExportError(ValueError):
    """A sample that cannot be written as asked."""


def check_format(format: str) -> ExportFormat:
    """Validate an export format name."""
    if format not in FORMATS:
        raise ExportError(f"format={format!r} is not known; use one of {', '.join(FORMATS)}")
    return format  # type: ignore[return-value]


__all__ = ["commit_files"]  # re-exported: callers import it from here


def _write_tiff(path: Path, data: npt.NDArray[Any], *, axes: str, imagej: bool = True) -> None:
    """Write ``data`` to ``path`` (never through a symbolic link)."""
    with open_nofollow(path) as f:
        if imagej:
            tifffile.imwrite(f, data, imagej=True, metadata={"axes": axes})
        else:
            tifffile.imwrite(f, data, metadata={"axes": axes})


def _tmp_path(final: Path) -> Path:
    """A new, empty temporary beside ``final``, named so that recovery removes it if left."""
    return reserve_temp(final)


FLOAT32_EXACT_INT = 2**24
"""Every integer of magnitude up to 2**24 is a float32; beyond, float32 rounds."""


def imagej_image(image: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Cast an image to a dtype ImageJ stores (uint8, uint16, int16, float32), keeping values.

    Integers that fit in uint16 become uint16, those that fit in int16 become int16, other
    integers of magnitude up to 2**24 and floats that float32 holds exactly become float32.
    Anything else would change values and is refused: an export never silently loses data.

    Raises
    ------
    ExportError
        When float32 cannot hold the values exactly (integers beyond 2**24, e.g. uint64 near
        2**60, or float64 values with more precision or range than float32); the message says
        how to convert the image or which layout stores it as it is.

    Examples
    --------
    >>> imagej_image(np.array([1, 2], dtype=np.int64)).dtype
    dtype('uint16')
    >>> imagej_image(np.array([0.5, -3.25])).dtype
    dtype('float32')
    """
    dt = image.dtype
    if dt in (np.uint8, np.uint16, np.int16, np.float32):
        return image
    if dt.kind == "b":
        return image.astype(np.uint8)
    if image.size == 0:
        return image.astype(np.uint16 if dt.kind in "ui" else np.float32)
    fix = (
        "rescale the image to a range ImageJ holds (e.g. skimage.exposure.rescale_intensity("
        "image, out_range=np.uint16)) or convert it yourself when rounding is acceptable "
        "(image.astype(np.float32)) and open that; or export with format='stardist', which "
        "stores the crop's own dtype"
    )
    if dt.kind in "ui":
        lo, hi = int(image.min()), int(image.max())
        if lo >= 0 and hi <= np.iinfo(np.uint16).max:
            return image.astype(np.uint16)
        if lo >= np.iinfo(np.int16).min and hi <= np.iinfo(np.int16).max:
            return image.astype(np.int16)
        if lo >= -FLOAT32_EXACT_INT and hi <= FLOAT32_EXACT_INT:
            return image.astype(np.float32)
        raise ExportError(
            f"the image crop is {dt} with values from {lo} to {hi}: an ImageJ TIFF stores "
            "uint8, uint16, int16 or float32, and float32 holds integers exactly only up to "
            f"{FLOAT32_EXACT_INT:,} (2**24), so the sample would not hold your values; {fix}"
        )
    if dt.kind == "f":
        with np.errstate(over="ignore", invalid="ignore"):
            f32 = image.astype(np.float32)
            same = f32.astype(dt) == image
        same |= np.isnan(image) & np.isnan(f32)
        if same.all():
            return f32
        where = tuple(int(i) for i in np.argwhere(~same)[0])
        raise ExportError(
            f"the image crop is {dt} and float32 (the only ImageJ float) would change "
            f"{int((~same).sum())} of its values, e.g. {float(image[where])!r} at {where} "
            f"becomes {float(f32[where])!r}; {fix}"
        )
    raise ExportError(f"the image crop is {dt}, which a TIFF sample cannot hold; {fix}")


def mask_for_format(labels: npt.NDArray[np.integer], format: ExportFormat) -> npt.NDArray[Any]:
    """Relabel ``1..N`` and cast to the mask dtype of ``format``.

    Celldetective masks are int16 (at most 32,767 cells); Cellpose and StarDist masks are
    uint16 (uint32 when there are more than 65,535 cells).
    """
    seq = relabel_sequential(labels)
    n = int(seq.max()) if seq.size else 0
    if format == "celldetective":
        if n > np.iinfo(np.int16).max:
            raise ExportError(
                f"the crop holds {n} labels but Celldetective masks are int16 (at most 32767); "
                "export a smaller ROI, or use format='cellpose'"
            )
        return seq.astype(np.int16)
    return seq.astype(np.uint16 if n <= 65535 else np.uint32)


@dataclass(frozen=True)
class SamplePaths:
    """Where one sample's files go for a given layout."""

    image: Path
    mask: Path
    sidecar: Path

    def all(self) -> list[Path]:
        """The three paths, image first."""
        return [self.image, self.mask, self.sidecar]


def sample_paths(folder: Path, stem: str, format: ExportFormat) -> SamplePaths:
    """The file names of a sample in each layout (see DESIGN: export formats)."""
    if format == "celldetective":
        return SamplePaths(
            folder / f"{stem}.tif", folder / f"{stem}_labelled.tif", folder / f"{stem}.json"
        )
    if format == "cellpose":
        return SamplePaths(
            folder / f"{stem}.tif", folder / f"{stem}_masks.tif", folder / f"{stem}.json"
        )
    return SamplePaths(
        folder / "images" / f"{stem}.tif",
        folder / "masks" / f"{stem}.tif",
        folder / "meta" / f"{stem}.json",
    )


def write_sample(
    folder: Path,
    stem: str,
    image: npt.NDArray[Any],
    labels: npt.NDArray[np.integer],
    sidecar: dict[str, Any],
    *,
    format: ExportFormat = "celldetective",
    pad: bool | None = None,
    overwrite: bool = False,
    base: Path | None = None,
) -> list[Path]:
    """Write one training sample (image ``(C, Y, X)`` + labels ``(Y, X)`` + JSON sidecar).

    Crops smaller than 256 px on a side are zero-padded symmetrically for the Celldetective and
    StarDist layouts (``pad=None``), as Celldetective does; the padding is recorded in the
    sidecar as ``[[top, bottom], [left, right]]``.

    The Celldetective and Cellpose layouts write the image as an ImageJ TIFF ``(C, Y, X)`` in a
    dtype ImageJ holds (see :func:`imagej_image`; values it cannot hold exactly are refused).
    The StarDist layout writes a plain TIFF in the crop's own dtype, channels last ``(Y, X, C)``
    (``(Y, X)`` for one channel), as StarDist's training reads it. The sidecar records the
    written ``axes``, ``shape`` and ``dtype``, and checksums of the image and mask arrays.

    The three files are committed as one unit (all old or all new after a crash); with ``base``
    (the data folder) no file or folder is written through a symbolic link.

    Returns the written paths (image, mask, sidecar).
    """
    fmt = check_format(format)
    if image.ndim != 3 or labels.ndim != 2 or image.shape[1:] != labels.shape:
        raise ExportError(
            f"image must be (C, Y, X) and labels (Y, X) of the same Y, X; got {image.shape} and "
            f"{labels.shape}"
        )
    mask = mask_for_format(labels, fmt)
    # StarDist reads any dtype (it normalises), so its layout keeps the crop's own values.
    img = _stardist_dtype(image) if fmt == "stardist" else imagej_image(image)
    do_pad = fmt != "cellpose" if pad is None else pad
    padding = ((0, 0), (0, 0))
    if do_pad:
        img, padding = pad_symmetric(img, min_size=MIN_SIZE)
        mask, _ = pad_symmetric(mask, min_size=MIN_SIZE)
    axes = "CYX"
    if fmt == "stardist":
        # StarDist's training reads the last axis as channels: (Y, X, C), or (Y, X) for one.
        axes = "YX" if img.shape[0] == 1 else "YXC"
        img = np.ascontiguousarray(img[0] if img.shape[0] == 1 else np.moveaxis(img, 0, -1))

    def write_image(p: Path) -> None:
        if fmt == "stardist":
            _write_channels_last(p, img, axes=axes)
        else:
            _write_tiff(p, img, axes="CYX")

    meta = dict(sidecar)
    meta.update(
        {
            "padding": [list(padding[0]), list(padding[1])],
            "format": fmt,
            "axes": axes,
            "shape": list(img.shape),
            "dtype": str(img.dtype),
            "source_dtype": str(image.dtype),
            "n_labels": int(mask.max()) if mask.size else 0,
        }
    )
    # Lets a reader tell that the three files belong together (one export, not two).
    meta["checksums"] = {"image": _crc32(img), "mask": _crc32(mask), "of": "array bytes, C order"}
    paths = sample_paths(folder, stem, fmt)
    text = json.dumps(meta, indent=4, default=_json_default)
    return commit_files(
        {
            paths.image: write_image,
            paths.mask: lambda p: _write_tiff(p, mask, axes="YX", imagej=mask.dtype != np.uint32),
            paths.sidecar: lambda p: _write_text(p, text),
        },
        overwrite=overwrite,
        base=base,
    )


def _write_channels_last(path: Path, data: npt.NDArray[Any], *, axes: str) -> None:
    """One plain TIFF page ``(Y, X)`` or ``(Y, X, C)`` with C grey samples per pixel.

    ``minisblack`` + ``contig`` keeps every channel count (even 3 or 4) from being stored
    as RGB, so ``tifffile.imread`` returns exactly ``data``.
    """
    with open_nofollow(path) as f:
        if data.ndim == 3:
            tifffile.imwrite(
                f, data, photometric="minisblack", planarconfig="contig", metadata={"axes": axes}
            )
        else:
            tifffile.imwrite(f, data, photometric="minisblack", metadata={"axes": axes})


def _stardist_dtype(image: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """The crop as it is for a plain TIFF (booleans as uint8); complex is refused."""
    if image.dtype.kind == "b":
        return image.astype(np.uint8)
    if image.dtype.kind not in "uif":
        raise ExportError(f"the image crop is {image.dtype}, which a TIFF sample cannot hold")
    return image


def write_label_frame(
    path: Path,
    labels: npt.NDArray[np.integer],
    *,
    base: Path | None = None,
    before_replace: Callable[[Path], None] | None = None,
) -> Path:
    """Write one full-frame label image (YX) atomically, replacing an older version.

    uint16 (ImageJ-readable) when the labels fit, uint32 otherwise. The old file is replaced by
    one rename (a kill leaves the old frame or the new one) and keeps its mode; a new file gets
    ``0o666 & ~umask``.

    Parameters
    ----------
    path : Path
        The frame's file, e.g. ``labels_cells/0003.tif``.
    labels : ndarray (Y, X)
        Non-negative integer labels.
    base : Path, optional
        The data folder ``path`` must stay inside without crossing a symbolic link (a symlinked
        ``labels_<population>/`` is refused with :class:`~segpaint.io._fs.UnsafePathError`).
    before_replace : callable(Path) -> None, optional
        See :func:`segpaint.io._fs.atomic_write`.

    Returns
    -------
    Path
        The written path.
    """
    top = int(labels.max()) if labels.size else 0
    data = labels.astype(np.uint16 if top <= 65535 else np.uint32)
    return atomic_write(
        path,
        lambda p: _write_tiff(p, data, axes="YX", imagej=data.dtype == np.uint16),
        base=base,
        before_replace=before_replace,
    )


def _crc32(arr: npt.NDArray[Any]) -> int:
    return zlib.crc32(np.ascontiguousarray(arr).tobytes())


def _write_text(path: Path, text: str) -> None:
    """Write UTF-8 text to ``path`` (never through a symbolic link)."""
    with open_nofollow(path) as f:
        f.write(text.encode("utf-8"))


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"cannot store {type(obj).__name__} in a sidecar")


def read_sidecar(path: Path) -> dict[str, Any]:
    """Read a sample's JSON sidecar."""
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    if not isinstance(data, dict):
        raise ExportError(f"{path} is not a sample sidecar (expected a JSON object)")
    return data
