"""Reading exported training samples back: find them, read them without their padding, exclude them.

A sample is three files (image, mask, JSON sidecar) in one of the three export layouts
(see `segpaint.io.export`).  The sidecar says how the crop was padded; `read_sample` removes
that padding so the arrays are the crop as it was cut.  Excluding a sample from training sets
``"excluded": true`` in its sidecar, rewritten atomically; the files stay.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import tifffile

from segpaint.io.export import ExportError, commit_files, read_sidecar

__all__ = [
    "SampleFile",
    "as_sample_files",
    "find_samples",
    "read_sample",
    "sample_table",
    "set_excluded",
]


@dataclass(frozen=True)
class SampleFile:
    """One exported sample on disk: its three files, its layout and its sidecar's content."""

    image: Path
    mask: Path
    sidecar: Path
    format: str
    metadata: dict[str, Any]

    @property
    def stem(self) -> str:
        """The sample's name (file stem)."""
        return self.sidecar.stem

    @property
    def population(self) -> str | None:
        """The population the mask is of, when the sidecar records it."""
        value = self.metadata.get("population")
        return str(value) if value is not None else None

    @property
    def excluded(self) -> bool:
        """Whether the sample is excluded from training (the files stay)."""
        return bool(self.metadata.get("excluded", False))

    @property
    def padding(self) -> tuple[tuple[int, int], tuple[int, int]]:
        """``((top, bottom), (left, right))`` zeros added around the crop at export."""
        pad = self.metadata.get("padding") or [[0, 0], [0, 0]]
        return (int(pad[0][0]), int(pad[0][1])), (int(pad[1][0]), int(pad[1][1]))

    @property
    def channels(self) -> list[str]:
        """Channel names of the image, from the sidecar (empty when unknown)."""
        names = self.metadata.get("channels")
        return [str(n) for n in names] if isinstance(names, list) else []

    @property
    def pixel_size_um(self) -> float | None:
        """µm per pixel (the sidecar's ``spatial_calibration``)."""
        value = self.metadata.get("spatial_calibration")
        return float(value) if isinstance(value, int | float) and value > 0 else None

    @property
    def qc_flags(self) -> list[str]:
        """QC flags of the exported mask (after any auto-correction)."""
        qc = self.metadata.get("qc")
        if not isinstance(qc, dict):
            return []
        flags = qc.get("flags_after", qc.get("flags", []))
        return [str(f) for f in flags] if isinstance(flags, list) else []


def _layout_of(sidecar: Path) -> tuple[str, Path, Path] | None:
    stem = sidecar.stem
    folder = sidecar.parent
    if folder.name == "meta":
        image, mask = (
            folder.parent / "images" / f"{stem}.tif",
            folder.parent / "masks" / f"{stem}.tif",
        )
        if image.is_file() and mask.is_file():
            return "stardist", image, mask
    image = folder / f"{stem}.tif"
    for fmt, suffix in (("celldetective", "_labelled"), ("cellpose", "_masks")):
        mask = folder / f"{stem}{suffix}.tif"
        if image.is_file() and mask.is_file():
            return fmt, image, mask
    return None


def _from_sidecar(path: Path) -> SampleFile | None:
    found = _layout_of(path)
    if found is None:
        return None
    try:
        meta = read_sidecar(path)
    except (ValueError, OSError):  # not a sample's sidecar (another JSON in the folder)
        return None
    fmt, image, mask = found
    return SampleFile(image, mask, path, fmt, meta)


def _sidecars(folder: Path) -> list[Path]:
    paths = sorted(folder.glob("*.json")) + sorted((folder / "meta").glob("*.json"))
    for sub in sorted(folder.glob("annotations_*")):
        if sub.is_dir():
            paths += sorted(sub.glob("*.json")) + sorted((sub / "meta").glob("*.json"))
    return paths


def find_samples(source: str | Path, population: str | None = None) -> list[SampleFile]:
    """Every exported sample in a folder, in any layout, sorted by name.

    Parameters
    ----------
    source : path
        A sample folder (``annotations_<population>``, a Cellpose or StarDist export folder),
        or an experiment root / any folder holding ``annotations_*`` folders.
    population : str, optional
        Keep only the samples of this population (from their sidecars).
    """
    folder = Path(source).expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(
            f"source: {str(source)!r} is not a folder; pass a sample folder "
            "(annotations_<population>) or an experiment root"
        )
    out: list[SampleFile] = []
    seen: set[Path] = set()
    for side in _sidecars(folder):
        resolved = side.resolve()
        if resolved in seen:
            continue
        seen.add(resolved)
        sample = _from_sidecar(side)
        if sample is None:
            continue
        if population is not None and sample.population != population:
            continue
        out.append(sample)
    return sorted(out, key=lambda s: (str(s.sidecar.parent), s.stem))


def as_sample_files(
    samples: str | Path | SampleFile | Iterable[Any], population: str | None = None
) -> list[SampleFile]:
    """Normalise what a user passes as samples into a list of `SampleFile`.

    Accepts a folder (see `find_samples`), one `SampleFile`, or an iterable of `SampleFile`,
    `segpaint.Sample` (anything with a ``sidecar`` path), sidecar paths or image paths.
    """
    if isinstance(samples, str | Path):
        if Path(samples).is_dir():
            return find_samples(samples, population)
        samples = [samples]
    if isinstance(samples, SampleFile):
        samples = [samples]
    out: list[SampleFile] = []
    for item in samples:
        if isinstance(item, SampleFile):
            sample: SampleFile | None = item
        else:
            path = Path(getattr(item, "sidecar", item))
            if path.suffix.lower() in (".tif", ".tiff"):
                base = path.parent.parent / "meta" if path.parent.name == "images" else path.parent
                path = base / f"{path.stem}.json"
            sample = _from_sidecar(path)
            if sample is None:
                raise FileNotFoundError(
                    f"samples: {str(path)!r} is not the sidecar of an exported sample (expected "
                    "stem.json beside stem.tif and its mask); pass a folder or paths from "
                    "session.export_roi"
                )
        if sample is not None and (population is None or sample.population == population):
            out.append(sample)
    return out


def read_sample(
    sample: SampleFile, *, unpad: bool = True
) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    """Read a sample's image ``(C, Y, X)`` and mask ``(Y, X)``, without the export padding.

    Examples
    --------
    See `segpaint.open_sample` for a Session on a sample.
    """
    image = np.asarray(tifffile.imread(sample.image))
    mask = np.asarray(tifffile.imread(sample.mask))
    if image.ndim == 2:
        image = image[np.newaxis]
    if image.ndim != 3 or mask.ndim != 2 or image.shape[1:] != mask.shape:
        raise ExportError(
            f"{sample.image}: expected an image (C, Y, X) and a mask (Y, X) of the same size, "
            f"got {image.shape} and {mask.shape}"
        )
    if unpad:
        (top, bottom), (left, right) = sample.padding
        rows = slice(top, mask.shape[0] - bottom)
        cols = slice(left, mask.shape[1] - right)
        image, mask = image[:, rows, cols], mask[rows, cols]
    return image, mask


def set_excluded(sample: SampleFile, excluded: bool = True) -> SampleFile:
    """Exclude a sample from training (or include it again), without deleting anything.

    The sidecar is rewritten atomically with ``"excluded": true/false``; the image and mask
    are untouched.  Returns the updated `SampleFile`.
    """
    meta = read_sidecar(sample.sidecar)
    meta["excluded"] = bool(excluded)
    text = json.dumps(meta, indent=4)

    def write(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")

    commit_files({sample.sidecar: write}, overwrite=True)
    return SampleFile(sample.image, sample.mask, sample.sidecar, sample.format, meta)


def sample_table(samples: Sequence[SampleFile]) -> list[dict[str, Any]]:
    """One row per sample: name, population, origin, size, objects, QC flags, excluded."""
    rows = []
    for s in samples:
        m = s.metadata
        roi = m.get("roi") if isinstance(m.get("roi"), dict) else {}
        rows.append(
            {
                "sample": s.stem,
                "population": s.population,
                "format": s.format,
                "experiment": m.get("experiment"),
                "well": m.get("well"),
                "position": m.get("position"),
                "source": m.get("source"),
                "frame": m.get("frame"),
                "roi": [roi.get(k) for k in ("row0", "row1", "col0", "col1")] if roi else None,
                "n_labels": m.get("n_labels"),
                "method": (m.get("method") or {}).get("method")
                if isinstance(m.get("method"), dict)
                else m.get("method"),
                "qc_flags": s.qc_flags,
                "excluded": s.excluded,
                "path": str(s.sidecar),
            }
        )
    return rows
