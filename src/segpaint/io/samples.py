"""Reading exported training samples back: find them, read them without their padding, exclude them.

A sample is three files (image, mask, JSON sidecar) in one of the three export layouts
(see `segpaint.io.export`).  The sidecar says how the crop was padded; `read_sample` removes
that padding so the arrays are the crop as it was cut.  Excluding a sample from training sets
``"excluded": true`` in its sidecar, rewritten atomically; the files stay.
"""

from __future__ import annotations

import json
import re
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
    "coverage_picture",
    "find_samples",
    "read_sample",
    "sample_coverage",
    "sample_table",
    "set_excluded",
]


_ANNOTATIONS = re.compile(r"^annotations_([a-z0-9_-]+?)(?:_cellpose|_stardist)?$")


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
        """The population the mask is of: the sidecar's, else the folder's
        (``annotations_<population>``, as Celldetective names it), else None."""
        value = self.metadata.get("population")
        if value is not None:
            return str(value)
        folder = self.sidecar.parent
        if self.format == "stardist":
            folder = folder.parent
        match = _ANNOTATIONS.match(folder.name)
        return match.group(1) if match else None

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
        Keep only the samples of this population (from their sidecars or their
        ``annotations_<population>`` folder); samples whose population is unknown are kept.
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
        if population is not None and sample.population not in (population, None):
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
        if sample is not None and (population is None or sample.population in (population, None)):
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
    # The stardist layout is channels last; its sidecar says so (older exports were CYX).
    channels_last = sample.metadata.get("axes") == "YXC" or (
        "axes" not in sample.metadata
        and image.ndim == 3
        and image.shape[:2] == mask.shape
        and image.shape[1:] != mask.shape
    )
    if channels_last and image.ndim == 3:
        image = np.moveaxis(image, -1, 0)
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


def sample_coverage(
    rows: Sequence[dict[str, Any]],
    *,
    n_frames: int | None = None,
    frame_shape: tuple[int, int] | None = None,
    grid: int = 4,
) -> dict[str, Any]:
    """Where samples come from: frames, positions and regions of the field of view.

    Parameters
    ----------
    rows : sequence of dict
        Rows of `sample_table` (excluded samples count as not sampled).
    n_frames, frame_shape : keyword-only, optional
        The movie's length and frame shape (a Session's); without them the frames run to the
        last sampled one and the field of view to the furthest ROI edge (``"inferred"``).
    grid : int, keyword-only
        The field of view is cut into ``grid x grid`` regions.

    Returns
    -------
    dict
        ``frames``: {frame: samples}; ``frames_not_sampled``; ``positions``: {"well/position":
        samples}; ``regions``: ``grid x grid`` list of sample counts (an ROI counts in every
        region it overlaps); ``regions_not_sampled``: [(row, col)]; ``field``: the
        ``frame_shape`` used; ``inferred``: whether it was inferred.

    Examples
    --------
    >>> rows = [{"frame": 1, "roi": [0, 50, 0, 50], "well": "W1", "position": "100"}]
    >>> cov = sample_coverage(rows, n_frames=3, frame_shape=(100, 100), grid=2)
    >>> cov["frames_not_sampled"], cov["regions"], cov["regions_not_sampled"]
    ([0, 2], [[1, 0], [0, 0]], [(0, 1), (1, 0), (1, 1)])
    """
    if isinstance(grid, bool) or not isinstance(grid, int) or grid < 1:
        raise ValueError(f"grid: expected an int >= 1, got {grid!r}")
    used = [r for r in rows if not r.get("excluded")]
    frames: dict[int, int] = {}
    positions: dict[str, int] = {}
    rois = []
    for r in used:
        if isinstance(r.get("frame"), int):
            frames[r["frame"]] = frames.get(r["frame"], 0) + 1
        key = f"{r.get('well') or '-'}/{r.get('position') or '-'}"
        positions[key] = positions.get(key, 0) + 1
        if r.get("roi"):
            rois.append([int(v) for v in r["roi"]])
    inferred = frame_shape is None
    if frame_shape is None:
        frame_shape = (
            max((b[1] for b in rois), default=1),
            max((b[3] for b in rois), default=1),
        )
    total = n_frames if n_frames is not None else (max(frames) + 1 if frames else 0)
    regions = [[0] * grid for _ in range(grid)]
    rows_px, cols_px = frame_shape
    for r0, r1, c0, c1 in rois:
        for i in range(grid):
            top, bottom = i * rows_px / grid, (i + 1) * rows_px / grid
            for j in range(grid):
                left, right = j * cols_px / grid, (j + 1) * cols_px / grid
                if r0 < bottom and r1 > top and c0 < right and c1 > left:
                    regions[i][j] += 1
    return {
        "frames": dict(sorted(frames.items())),
        "frames_not_sampled": [t for t in range(total) if t not in frames],
        "positions": dict(sorted(positions.items())),
        "regions": regions,
        "regions_not_sampled": [
            (i, j) for i in range(grid) for j in range(grid) if not regions[i][j]
        ],
        "field": [int(rows_px), int(cols_px)],
        "n_frames": total,
        "inferred": inferred,
        "n_samples": len(used),
    }


def coverage_picture(coverage: dict[str, Any], *, cell: int = 24) -> npt.NDArray[np.uint8]:
    """An RGB picture of `sample_coverage`: the field-of-view regions (top) and the frames
    (bottom strip); grey is not sampled, greener is sampled more often."""
    regions = np.asarray(coverage["regions"], dtype=float)
    frames = np.zeros(max(1, coverage["n_frames"]))
    for t, n in coverage["frames"].items():
        if t < len(frames):
            frames[t] = n

    def colour(values: npt.NDArray[np.float64]) -> npt.NDArray[np.uint8]:
        top = values.max() if values.size and values.max() > 0 else 1.0
        out = np.empty((*values.shape, 3), np.uint8)
        out[...] = (70, 70, 70)
        hit = values > 0
        level = (values[hit] / top * 155 + 100).astype(np.uint8)
        out[hit] = np.stack([np.zeros_like(level), level, np.zeros_like(level) + 40], axis=-1)
        return out

    field = np.kron(colour(regions), np.ones((cell, cell, 1), np.uint8))
    strip_cell = max(2, field.shape[1] // len(frames))
    strip = np.kron(colour(frames[None, :]), np.ones((cell // 2, strip_cell, 1), np.uint8))
    width = max(field.shape[1], strip.shape[1])
    canvas = np.full((field.shape[0] + 4 + strip.shape[0], width, 3), 255, np.uint8)
    canvas[: field.shape[0], : field.shape[1]] = field
    canvas[field.shape[0] + 4 :, : strip.shape[1]] = strip
    # grid lines between regions
    canvas[: field.shape[0] : cell, : field.shape[1]] = 255
    canvas[: field.shape[0], : field.shape[1] : cell] = 255
    return canvas
