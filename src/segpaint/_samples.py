"""Exported samples as a table, reopened as Sessions, excluded from training (public API)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

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

__all__ = ["exclude_sample", "open_sample", "samples"]


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
