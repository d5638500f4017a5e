"""Cellpose ``_seg.npy`` files: the GUI's saved masks, read as labels and written back.

A ``_seg.npy`` is a Python dict pickled by ``numpy.save``.  Cellpose's GUI (``File > Load
masks``/drag-and-drop of ``image_seg.npy``) needs ``masks`` and ``outlines`` and looks for the
image at ``filename`` (or beside the ``.npy``), falling back to ``img``; ``colors``,
``ismanual``, ``chan_choose``, ``est_diam``/``diameter`` and ``flows`` are optional.  Cellpose's
own ``io.masks_flows_to_seg`` writes the same keys, which is what :func:`write_seg` writes.

.. warning::
   Reading a ``_seg.npy`` unpickles it, and unpickling can run arbitrary code.  Open only files
   from a source you trust (your own Cellpose runs, your lab's share).
"""

from __future__ import annotations

import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from skimage.segmentation import find_boundaries

from segpaint.io.export import commit_files

__all__ = ["CellposeSeg", "SegError", "read_seg", "seg_path", "write_seg"]

SUFFIX = "_seg.npy"


class SegError(ValueError):
    """A file that is not a usable Cellpose ``_seg.npy``."""


@dataclass(frozen=True)
class CellposeSeg:
    """What segpaint takes from a ``_seg.npy``."""

    masks: npt.NDArray[np.uint32]
    """``(Y, X)`` labels, 0 = background."""
    filename: str | None = None
    """The image the masks belong to, as Cellpose recorded it."""
    image: npt.NDArray[Any] | None = None
    """``img``, when the file holds one."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Other plain fields (``chan_choose``, ``est_diam``, ``diameter``, ...)."""


def seg_path(image: str | os.PathLike[str]) -> Path:
    """Where Cellpose keeps the masks of ``image``: ``cells.tif`` -> ``cells_seg.npy``.

    Examples
    --------
    >>> seg_path("data/cells.tif").as_posix()
    'data/cells_seg.npy'
    """
    path = Path(image)
    return (
        path.with_name(path.name.split(".")[0] + SUFFIX)
        if "." in path.name
        else path.with_name(path.name + SUFFIX)
    )


def read_seg(path: str | os.PathLike[str]) -> CellposeSeg:
    """Read a Cellpose ``_seg.npy``: its ``masks`` (2-D) and the image it names.

    .. warning::
       This unpickles the file (``np.load(..., allow_pickle=True)``), which can execute code:
       read only ``_seg.npy`` files from a trusted source.

    Raises
    ------
    SegError
        When the file is not a pickled dict, has no ``masks``, or its masks are not a 2-D
        non-negative integer image; the message says what was found.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"path: {p} does not exist")
    if not p.name.endswith(".npy"):
        raise SegError(
            f"path: {p.name} is not a .npy file; Cellpose saves masks as <image>_seg.npy"
        )
    with p.open("rb") as fh:
        magic = fh.read(6)
    if magic != b"\x93NUMPY":  # np.load would unpickle any other file as a raw pickle
        raise SegError(f"{p}: not a numpy .npy file (it does not start with the .npy header)")
    try:
        raw = np.load(p, allow_pickle=True)
    except (OSError, ValueError, EOFError, pickle.UnpicklingError) as err:
        raise SegError(f"{p}: not a numpy .npy file ({err})") from err
    if not (isinstance(raw, np.ndarray) and raw.dtype == object and raw.shape == ()):
        shape = getattr(raw, "shape", None)
        raise SegError(
            f"{p}: a Cellpose _seg.npy holds a dict; this file holds an array of shape {shape} "
            "(open it with np.load and pass it as labels= instead)"
        )
    dat = raw.item()
    if not isinstance(dat, dict):
        raise SegError(f"{p}: a Cellpose _seg.npy holds a dict; found a {type(dat).__name__}")
    if "masks" not in dat:
        raise SegError(f"{p}: no 'masks' in the file (keys: {sorted(map(str, dat))})")
    masks = np.asarray(dat["masks"])
    if masks.ndim == 3 and masks.shape[0] == 1:
        masks = masks[0]
    if masks.ndim != 2:
        raise SegError(
            f"{p}: 'masks' has shape {masks.shape}; segpaint reads 2-D masks (one plane), a "
            "Cellpose 3-D stack is not supported"
        )
    if masks.dtype.kind not in "ui":
        raise SegError(f"{p}: 'masks' must be integers; found {masks.dtype}")
    if masks.size and masks.min() == -1:  # the GUI's old convention (-1 = background)
        masks = masks.astype(np.int64) + 1
    if masks.size and masks.min() < 0:
        raise SegError(f"{p}: 'masks' holds negative labels (min {masks.min()})")
    if masks.size and int(masks.max()) > np.iinfo(np.uint32).max:
        raise SegError(f"{p}: 'masks' holds labels above 2**32 - 1")
    filename = dat.get("filename")
    image = dat.get("img")
    extra = {
        k: dat[k] for k in ("chan_choose", "est_diam", "diameter", "ismanual", "colors") if k in dat
    }
    return CellposeSeg(
        masks=masks.astype(np.uint32),
        filename=str(filename) if isinstance(filename, str | os.PathLike) else None,
        image=np.asarray(image) if isinstance(image, np.ndarray) else None,
        extra=extra,
    )


def _outlines(masks: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Each cell's inner boundary pixels, holding the cell's label (as Cellpose stores them)."""
    edge = find_boundaries(masks, mode="inner")  # type: ignore[no-untyped-call]
    out: npt.NDArray[Any] = np.where(edge, masks, 0).astype(masks.dtype)
    return out


def write_seg(
    path: str | os.PathLike[str],
    masks: npt.ArrayLike,
    *,
    filename: str | os.PathLike[str] | None = None,
    image: npt.ArrayLike | None = None,
    channels: tuple[int, int] = (0, 0),
    diameter: float | None = None,
    overwrite: bool = False,
) -> Path:
    """Write ``masks`` as a ``_seg.npy`` the Cellpose GUI opens, atomically.

    Fields: ``masks`` (uint16, or uint32 above 65,534 labels), ``outlines`` (same dtype, each
    cell's boundary holding its label), ``ismanual`` (one False per label), ``chan_choose``,
    ``filename`` (the image; Cellpose also looks beside the file), ``img`` (optional), and
    ``est_diam``/``diameter`` when given.

    Parameters
    ----------
    path : path
        The file to write, conventionally ``<image stem>_seg.npy`` beside the image
        (see `seg_path`).
    masks : (Y, X) integer array
        Labels, 0 = background.
    filename : path, optional
        The image the masks belong to.
    image : array, optional
        Stored as ``img`` (the GUI shows it when ``filename`` cannot be found).
    channels : (int, int)
        Cellpose's ``chan_choose`` (0 = gray, 1 = red, 2 = green, 3 = blue).
    diameter : float, optional
        Stored as ``est_diam`` and ``diameter``.
    overwrite : bool
        Replace an existing file (otherwise an error).
    """
    p = Path(path)
    if not p.name.endswith(".npy"):
        raise ValueError(f"path: {p.name} must end with .npy (Cellpose looks for <image>_seg.npy)")
    arr = np.asarray(masks)
    if arr.ndim != 2 or arr.dtype.kind not in "ui":
        raise ValueError(f"masks: expected a 2-D integer label image, got {arr.dtype} {arr.shape}")
    if arr.size and arr.min() < 0:
        raise ValueError("masks: labels must be >= 0")
    top = int(arr.max()) if arr.size else 0
    data = arr.astype(np.uint16 if top < 2**16 - 1 else np.uint32)
    dat: dict[str, Any] = {
        "masks": data,
        "outlines": _outlines(data),
        "ismanual": np.zeros(top, bool),
        "chan_choose": [int(channels[0]), int(channels[1])],
        "filename": os.fspath(filename) if filename is not None else str(p)[: -len(SUFFIX)],
    }
    if image is not None:
        dat["img"] = np.asarray(image)
    if diameter is not None:
        dat["est_diam"] = float(diameter)
        dat["diameter"] = float(diameter)

    def write(tmp: Path) -> None:
        with tmp.open("wb") as fh:  # a file object: np.save would append .npy to a name
            np.save(fh, np.array(dat, dtype=object), allow_pickle=True)

    commit_files({p: write}, overwrite=overwrite)
    return p
