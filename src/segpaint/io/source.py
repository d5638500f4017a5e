"""Turn whatever the user passes to :func:`segpaint.open` into a lazy stack plus context."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from segpaint.io.celldetective import (
    Position,
    is_experiment_root,
    is_position_folder,
    resolve_position,
)
from segpaint.io.stack import ArrayStack, FolderStack, Stack, StackError, StackInfo, TiffStack
from segpaint.io.zarr import is_zarr

SourceKind = Literal["array", "file", "folder", "experiment"]


_TIFF_SUFFIXES = (".ome.tiff", ".ome.tif", ".tiff", ".tif", ".btf", ".tf8")


def image_name(path: Path) -> str:
    """A file's name without its TIFF extension, dots kept: ``cells.day1.tif`` -> ``cells.day1``.

    Examples
    --------
    >>> image_name(Path("cells.day1.ome.tif"))
    'cells.day1'
    """
    lower = path.name.lower()
    for suffix in _TIFF_SUFFIXES:
        if lower.endswith(suffix) and len(lower) > len(suffix):
            return path.name[: -len(suffix)]
    return path.name


@dataclass(frozen=True)
class Source:
    """Where a Session's images come from; decides where its labels, journal and samples go.

    Each image has its own: a TIFF file's labels go to ``labels_<population>/<name>/`` beside
    it and its journal and lock to ``.segpaint/<file name>.*``, keyed on the whole file name, so
    two images of one folder never share them. A Celldetective position keeps Celldetective's
    layout (``labels_<population>/`` in the position folder).
    """

    kind: SourceKind
    name: str
    """Used in sample names: experiment ``<exp>_<position>``, the file name without its TIFF
    extension, the folder name, or ``array``."""
    path: Path | None = None
    position: Position | None = None

    @property
    def data_folder(self) -> Path | None:
        """The folder segpaint writes its own files into (labels, journal, lock)."""
        if self.position is not None:
            return self.position.folder
        if self.path is None:
            return None
        return self.path.parent if self.kind == "file" else self.path

    @property
    def export_base(self) -> Path | None:
        """The folder that holds the default export folders (the experiment root for positions)."""
        if self.position is not None:
            return self.position.root
        return self.data_folder

    @property
    def key(self) -> str:
        """The journal's and lock's file name stem inside ``.segpaint/``."""
        if self.kind == "file" and self.path is not None:
            return self.path.name
        return "position" if self.position is not None else "folder"

    def default_export_folder(self, population: str, format: str) -> Path | None:
        """``annotations_<population>`` at the experiment root, or beside the file/folder."""
        suffix = "" if format == "celldetective" else f"_{format}"
        base = self.export_base
        return base / f"annotations_{population}{suffix}" if base is not None else None

    def default_journal(self) -> Path | None:
        """Where the autosave journal goes: a hidden ``.segpaint/`` folder beside the data."""
        folder = self.data_folder
        return folder / ".segpaint" / f"{self.key}.journal" if folder is not None else None

    def default_labels_folder(self, population: str) -> Path | None:
        """``labels_<population>`` in the position or stack folder; ``labels_<population>/<name>``
        beside a file."""
        if self.position is not None:
            return self.position.labels_folder(population)
        folder = self.data_folder
        if folder is None:
            return None
        labels = folder / f"labels_{population}"
        return labels / self.name if self.kind == "file" else labels


def _sidecar_info(path: Path) -> StackInfo | None:
    """Channel names and µm/px from a Celldetective sample sidecar beside the image, if any."""
    if not path.is_file():
        return None
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict):
        return None
    names = meta.get("channels")
    calib = meta.get("spatial_calibration")
    return StackInfo(
        channel_names=[str(n) for n in names] if isinstance(names, list) else None,
        pixel_size_um=float(calib) if isinstance(calib, (int, float)) and calib > 0 else None,
    )


def read_source(
    source: Any,
    *,
    axes: str | None = None,
    well: str | None = None,
    position: str | int | None = None,
    name: str | None = None,
) -> tuple[Stack, Source]:
    """Open ``source`` lazily: an array, a TIFF file, a folder of TIFFs or a Celldetective experiment."""
    # OME-Zarr (issue 13): a ready Stack (e.g. ZarrStack(url, level=1)), a *.zarr folder or a URL
    if isinstance(source, Stack):
        return source, Source("array", name or "array")
    if isinstance(source, (str, Path)) and is_zarr(source):
        from segpaint.io.zarr import ZarrStack

        text = str(source)
        stem = text.rstrip("/").rsplit("/", 1)[-1].split(".")[0] or "image"
        if "://" in text and not text.startswith("file://"):
            return ZarrStack(text), Source("array", name or stem)
        local = Path(text.removeprefix("file://")).expanduser().resolve()
        if not local.exists():
            raise FileNotFoundError(f"source {text!r} does not exist; check the path")
        return ZarrStack(local), Source("file", name or stem, local)
    if isinstance(source, (str, Path)):
        path = Path(source).expanduser().resolve()
        if not path.exists():
            raise FileNotFoundError(f"source {str(source)!r} does not exist; check the path")
        if path.is_dir():
            if is_experiment_root(path) or is_position_folder(path):
                pos = resolve_position(path, well=well, position=position)
                cfg = pos.config
                info = StackInfo(
                    channel_names=list(cfg.channel_names),
                    pixel_size_um=cfg.pixel_size_um,
                    frame_interval_min=cfg.frame_interval_min,
                )
                stack: Stack = TiffStack(
                    pos.movie_path(), channels_interleaved=len(cfg.channel_names), info=info
                )
                label = name or f"{pos.name}_{pos.position}"
                return stack, Source("experiment", label, pos.root, pos)
            stack = FolderStack(path, axes=axes)
            return stack, Source("folder", name or path.name, path)
        if path.suffix.lower() not in (
            ".tif",
            ".tiff",
            ".btf",
            ".tf8",
        ) and not path.name.lower().endswith((".ome.tif", ".ome.tiff")):
            raise StackError(
                f"{path.name}: segpaint reads TIFF files (.tif, .tiff, OME-TIFF), folders of TIFFs "
                "and Celldetective experiments; convert other formats to TIFF first"
            )
        stem = image_name(path)
        stack = TiffStack(path, axes=axes, info=_sidecar_info(path.with_name(f"{stem}.json")))
        return stack, Source("file", name or stem, path)
    if isinstance(source, (list, tuple)):
        raise TypeError(
            "source must be a numpy array, a path to a TIFF file or folder, or a Celldetective "
            f"experiment folder; got a {type(source).__name__} (wrap lists with np.asarray)"
        )
    if not hasattr(source, "shape") or not hasattr(source, "dtype"):
        raise TypeError(
            "source must be a numpy array, a path to a TIFF file or folder, or a Celldetective "
            f"experiment folder; got {type(source).__name__}"
        )
    stack = ArrayStack(source, axes=axes)
    return stack, Source("array", name or "array")
