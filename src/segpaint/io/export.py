"""Atomic writers: training samples in three layouts, and full-frame label folders.

Every file is written to a temporary name in its destination folder and then renamed, so a
reader never sees half a file; a sample's files are committed together (if one rename fails
the others are rolled back), and an existing sample is never replaced unless asked.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import tifffile

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


def _write_tiff(path: Path, data: npt.NDArray[Any], *, axes: str, imagej: bool = True) -> None:
    if imagej:
        tifffile.imwrite(path, data, imagej=True, metadata={"axes": axes})
    else:
        tifffile.imwrite(path, data, metadata={"axes": axes})


def _tmp_path(final: Path) -> Path:
    fd, name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".part", dir=final.parent)
    os.close(fd)
    return Path(name)


def commit_files(
    writers: Mapping[Path, Callable[[Path], None]], *, overwrite: bool = False
) -> list[Path]:
    """Write several files atomically as one unit.

    Each writer is called with a temporary path in the destination folder; once all have
    succeeded the temporaries are renamed to their final names. If anything fails, nothing
    new is left behind (temporaries are removed and renamed files rolled back).

    Parameters
    ----------
    writers : mapping of final path -> callable(tmp_path)
        The files to write.
    overwrite : bool
        Replace existing files. When False (the default) an existing file is an error and
        nothing is written.
    """
    finals = list(writers)
    if not overwrite:
        existing = [p for p in finals if p.exists()]
        if existing:
            raise FileExistsError(
                f"{existing[0]} already exists; pass overwrite=True to replace it, or pick "
                "another ROI or folder"
            )
    for p in finals:
        p.parent.mkdir(parents=True, exist_ok=True)
    temps: dict[Path, Path] = {}
    done: list[tuple[Path, Path | None]] = []
    try:
        for final, write in writers.items():
            tmp = _tmp_path(final)
            temps[final] = tmp
            write(tmp)
        for final, tmp in temps.items():
            backup = None
            if final.exists():
                backup = _tmp_path(final)
                os.replace(final, backup)
            os.replace(tmp, final)
            done.append((final, backup))
    except BaseException:
        for final, backup in reversed(done):
            if backup is not None:
                os.replace(backup, final)
            else:
                final.unlink(missing_ok=True)
        for tmp in temps.values():
            tmp.unlink(missing_ok=True)
        raise
    for _, backup in done:
        if backup is not None:
            backup.unlink(missing_ok=True)
    return finals


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
) -> list[Path]:
    """Write one training sample (image ``(C, Y, X)`` + labels ``(Y, X)`` + JSON sidecar).

    Crops smaller than 256 px on a side are zero-padded symmetrically for the Celldetective and
    StarDist layouts (``pad=None``), as Celldetective does; the padding is recorded in the
    sidecar as ``[[top, bottom], [left, right]]``.

    The Celldetective and Cellpose layouts write the image as an ImageJ TIFF ``(C, Y, X)`` in a
    dtype ImageJ holds (see :func:`imagej_image`; values it cannot hold exactly are refused).
    The StarDist layout writes a plain TIFF in the crop's own dtype, channels last ``(Y, X, C)``
    (``(Y, X)`` for one channel), as StarDist's training reads it. The sidecar records the
    written ``axes``, ``shape`` and ``dtype``.

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
    paths = sample_paths(folder, stem, fmt)
    text = json.dumps(meta, indent=4, default=_json_default)
    return commit_files(
        {
            paths.image: write_image,
            paths.mask: lambda p: _write_tiff(p, mask, axes="YX", imagej=mask.dtype != np.uint32),
            paths.sidecar: lambda p: _write_text(p, text),
        },
        overwrite=overwrite,
    )


def _write_channels_last(path: Path, data: npt.NDArray[Any], *, axes: str) -> None:
    """One plain TIFF page ``(Y, X)`` or ``(Y, X, C)`` with C grey samples per pixel.

    ``minisblack`` + ``contig`` keeps every channel count (even 3 or 4) from being stored
    as RGB, so ``tifffile.imread`` returns exactly ``data``.
    """
    if data.ndim == 3:
        tifffile.imwrite(
            path, data, photometric="minisblack", planarconfig="contig", metadata={"axes": axes}
        )
    else:
        tifffile.imwrite(path, data, photometric="minisblack", metadata={"axes": axes})


def _stardist_dtype(image: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """The crop as it is for a plain TIFF (booleans as uint8); complex is refused."""
    if image.dtype.kind == "b":
        return image.astype(np.uint8)
    if image.dtype.kind not in "uif":
        raise ExportError(f"the image crop is {image.dtype}, which a TIFF sample cannot hold")
    return image


def write_label_frame(path: Path, labels: npt.NDArray[np.integer]) -> Path:
    """Write one full-frame label image (YX) atomically, replacing an older version.

    uint16 (ImageJ-readable) when the labels fit, uint32 otherwise.
    """
    top = int(labels.max()) if labels.size else 0
    data = labels.astype(np.uint16 if top <= 65535 else np.uint32)
    commit_files(
        {path: lambda p: _write_tiff(p, data, axes="YX", imagej=data.dtype == np.uint16)},
        overwrite=True,
    )
    return path


def _write_text(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


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
