"""Exported samples as a table, reopened as Sessions, excluded from training (public API)."""

from __future__ import annotations

import re
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from segpaint._version import __version__
from segpaint.io.export import sample_paths, write_sample
from segpaint.io.qc import qc_sample
from segpaint.io.samples import (
    SampleFile,
    as_sample_files,
    find_samples,
    read_sample,
    sample_table,
    set_excluded,
)
from segpaint.session import Session
from segpaint.session import open as open_session

__all__ = ["exclude_sample", "open_sample", "samples", "save_sample_version"]


def samples(source: Any, population: str | None = None) -> list[dict[str, Any]]:
    """Every exported sample of a folder or experiment, one row (dict) per sample.

    Parameters
    ----------
    source : path or list
        A sample folder (``annotations_<population>``, a Cellpose or StarDist export), an
        experiment root (its ``annotations_*`` folders), or a list of samples / sidecar paths.
    population : str, optional
        Only this population's samples.

    Returns
    -------
    list of dict
        ``sample, population, format, experiment, well, position, source, frame, roi,
        n_labels, method, qc_flags, excluded, path`` (``path`` is the sidecar: pass it to
        `open_sample`, `exclude_sample` or `segpaint.train`).

    Examples
    --------
    >>> import tempfile, numpy as np, segpaint
    >>> folder = tempfile.mkdtemp()
    >>> s = segpaint.open(np.zeros((1, 32, 32), np.uint8), axes="TYX", pixel_size_um=1)
    >>> _ = s.paint("cells", 0, [(10, 10)], radius=4, label=1)
    >>> _ = s.export_roi("cells", s.add_roi(0, rows=(0, 20), cols=(0, 20)), folder=folder)
    >>> [(row["sample"], row["n_labels"], row["excluded"]) for row in segpaint.samples(folder)]
    [('array_0000_roi_0_20_0_20', 1, False)]
    """
    found = (
        find_samples(source, population)
        if isinstance(source, str | Path)
        else as_sample_files(source, population)
    )
    return sample_table(found)


def _one(sample: Any) -> SampleFile:
    if isinstance(sample, dict) and "path" in sample:
        sample = sample["path"]
    found = as_sample_files([sample])
    return found[0]


def open_sample(sample: Any, **kwargs: Any) -> Session:
    """Open an exported sample as a one-frame Session, its mask loaded as labels.

    The export padding is removed, so the Session holds the crop as it was cut; re-exporting
    it (``session.export_roi``) pads it again.  The population is the sample's (``"cells"``
    when the sidecar does not say).

    Parameters
    ----------
    sample : path, row of `samples`, or sample object
        The sidecar (``stem.json``), the image, or a row from `samples`.
    **kwargs
        Passed to `segpaint.open` (e.g. ``journal=``).
    """
    found = _one(sample)
    image, mask = read_sample(found)
    population = found.population or "cells"
    options: dict[str, Any] = {
        "axes": "CYX",
        "channel_names": found.channels or None,
        "pixel_size_um": found.pixel_size_um,
        "labels": {population: np.asarray(mask, dtype=np.uint32)},
        "populations": [population],
        "name": found.stem,
        "journal": False,
    }
    interval = found.metadata.get("frame_interval_min")
    if isinstance(interval, int | float) and interval > 0:
        options["frame_interval_min"] = float(interval)
    options.update(kwargs)
    session = open_session(image, **options)
    method = found.metadata.get("method")
    if isinstance(method, dict) and method.get("method"):
        session.set_method(population, str(method["method"]), dict(method.get("params") or {}))
    return session


def exclude_sample(sample: Any, excluded: bool = True) -> dict[str, Any]:
    """Exclude a sample from training (``excluded=False`` includes it again); files are kept.

    The flag is written into the sample's sidecar atomically; `segpaint.train` skips excluded
    samples.  Returns the sample's updated row (see `samples`).
    """
    return sample_table([set_excluded(_one(sample), excluded)])[0]


_COMPUTED = ("padding", "format", "shape", "dtype", "source_dtype", "n_labels", "excluded")
_VERSION = re.compile(r"^(?P<base>.+)_v(?P<n>\d+)$")


def _next_stem(sample: SampleFile) -> tuple[str, int]:
    match = _VERSION.match(sample.stem)
    base = match.group("base") if match else sample.stem
    version = int(match.group("n")) + 1 if match else 2
    while True:
        stem = f"{base}_v{version}"
        paths = sample_paths(_sample_folder(sample), stem, sample.format)  # type: ignore[arg-type]
        if not any(p.exists() for p in paths.all()):
            return stem, version
        version += 1


def _sample_folder(sample: SampleFile) -> Path:
    parent = sample.sidecar.parent
    return parent.parent if sample.format == "stardist" else parent


def save_sample_version(
    session: Session,
    sample: Any,
    *,
    population: str | None = None,
    auto_correct: bool | str = True,
) -> dict[str, Any]:
    """Save a fixed sample as its next version and exclude the old one (nothing is overwritten).

    ``session`` is the one `open_sample` gave (frame 0 is the crop); its labels are written as
    ``<stem>_v2`` (then ``_v3``, ...) beside the original, in the same layout and padding, with
    a sidecar that keeps the original's origin and adds ``"version"`` and ``"replaces"``.  The
    mask goes through the same QC and auto-correction as an export.  The original stays on disk,
    marked excluded, so training uses the new version only.

    Returns the new sample's row (see `samples`).
    """
    found = _one(sample)
    pop = population or found.population or "cells"
    image, _ = read_sample(found)
    labels = np.asarray(session.labels(pop, 0))
    if labels.shape != image.shape[1:]:
        raise ValueError(
            f"session: its frame is {labels.shape} but the sample's crop is {image.shape[1:]}; "
            "pass the Session that segpaint.open_sample(sample) returned"
        )
    old_qc = found.metadata.get("qc")
    previous: dict[str, Any] = old_qc if isinstance(old_qc, dict) else {}
    mask, qc, corrected = qc_sample(
        labels,
        auto_correct=auto_correct,  # type: ignore[arg-type]  # validated there
    )
    # where the crop sits in its frame did not change: keep what the export found about it
    for key in ("cut_by_roi", "overlaps_sample"):
        qc[key] = previous.get(key, [])
        if qc[key] and key not in qc["flags_after"]:
            qc["flags_after"].append(key)
    if "empty" in qc["flags_after"]:
        warnings.warn(
            f"the new version of {found.stem!r} has an empty mask (no {pop} object in the crop)",
            UserWarning,
            stacklevel=2,
        )
    stem, version = _next_stem(found)
    meta = {k: v for k, v in found.metadata.items() if k not in _COMPUTED}
    meta.update(
        {
            "version": version,
            "replaces": found.stem,
            "qc": qc,
            "auto_correct": corrected,
            "method": session.method(pop) or found.metadata.get("method"),
            "segpaint_version": __version__,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
    )
    pad = any(any(side) for side in found.padding)
    written = write_sample(
        _sample_folder(found),
        stem,
        image,
        mask,
        meta,
        format=found.format,  # type: ignore[arg-type]
        pad=pad,
    )
    set_excluded(found, True)
    return sample_table(as_sample_files([written[2]]))[0]
