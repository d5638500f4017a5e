"""The threshold pipeline: filters -> threshold -> (watershed split) -> property filters.

Pure scikit-image/scipy.  Parameters use Celldetective's ``threshold_config_<population>.json``
keys, so a configuration made in Celldetective runs here unchanged (and the other way round).
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import ndimage as ndi
from skimage import exposure, feature, filters, measure, segmentation

from segpaint.segment._filters import FilterStep, apply_filters, filter_reach, normalize_filters
from segpaint.segment._query import Query, parse_query

__all__ = [
    "CONFIG_KEYS",
    "THRESHOLD_PARAMS",
    "ThresholdParams",
    "read_threshold_config",
    "threshold_segment",
    "write_threshold_config",
]

Labels = npt.NDArray[np.uint32]

# scikit-image ships no type hints: typed handles keep mypy strict
_match_histograms: Callable[..., Any] = exposure.match_histograms
_peak_local_max: Callable[..., Any] = feature.peak_local_max
_threshold_otsu: Callable[..., Any] = filters.threshold_otsu
_regionprops_table: Callable[..., Any] = measure.regionprops_table
_relabel_sequential: Callable[..., Any] = segmentation.relabel_sequential
_watershed: Callable[..., Any] = segmentation.watershed
_threshold_local: Callable[..., Any] = filters.threshold_local

_AUTO_BLOCK_SIZE = 51  # px: the local-threshold window of the parameter-free mode

FEATURE_QUERIES_MAX = 64
"""Most feature queries one configuration may hold."""

CONFIG_KEYS = (
    "target_channel",
    "thresholds",
    "filters",
    "marker_min_distance",
    "marker_footprint_size",
    "feature_queries",
    "equalize_reference",
    "do_watershed",
    "fill_holes",
)
"""The keys of Celldetective's ``threshold_config_<population>.json``, in its order."""

THRESHOLD_PARAMS = (*CONFIG_KEYS, "edge_exclusion")
"""Every keyword the threshold method accepts."""

_GEOMETRY = (
    "area",
    "area_bbox",
    "area_convex",
    "area_filled",
    "eccentricity",
    "equivalent_diameter_area",
    "euler_number",
    "extent",
    "feret_diameter_max",
    "major_axis_length",
    "minor_axis_length",
    "orientation",
    "perimeter",
    "solidity",
)
_INTENSITY = ("intensity_mean", "intensity_min", "intensity_max")


@dataclass(frozen=True)
class ThresholdParams:
    """Validated threshold-pipeline parameters (``None`` means "choose from the image")."""

    target_channel: int | str = 0
    thresholds: tuple[float | str, float | str] | None = None
    filters: tuple[FilterStep, ...] | None = None
    marker_min_distance: int | None = None
    marker_footprint_size: int | None = None
    feature_queries: tuple[str, ...] | None = None
    equalize_reference: npt.NDArray[Any] | None = field(default=None, compare=False)
    do_watershed: bool = True
    fill_holes: bool = True
    edge_exclusion: bool = True

    @classmethod
    def from_mapping(cls, params: Mapping[str, Any]) -> ThresholdParams:
        """Validate keyword parameters; errors name the parameter and what was expected."""
        if not isinstance(params, Mapping):
            raise TypeError(
                f"threshold method: parameters must be a mapping like {{'thresholds': [8000, "
                f"1e10]}}, got {type(params).__name__}"
            )
        unknown = sorted(set(params) - set(THRESHOLD_PARAMS))
        if unknown:
            raise TypeError(
                f"threshold method: unknown parameter(s) {', '.join(map(repr, unknown))}; "
                f"check the spelling; accepted: {', '.join(THRESHOLD_PARAMS)}"
            )
        kwargs: dict[str, Any] = {}
        target = params.get("target_channel", 0)
        if isinstance(target, bool) or not isinstance(target, int | str | np.integer):
            raise ValueError(f"target_channel: expected a channel index or name, got {target!r}")
        kwargs["target_channel"] = target if isinstance(target, str) else int(target)
        kwargs["thresholds"] = _check_thresholds(params.get("thresholds"))
        filters = params.get("filters")
        kwargs["filters"] = None if filters is None else tuple(normalize_filters(filters))
        for key in ("marker_min_distance", "marker_footprint_size"):
            value = params.get(key)
            if value is not None:
                if (
                    isinstance(value, bool)
                    or not isinstance(value, int | float | np.integer | np.floating)
                    or not math.isfinite(value)
                    or value < 1
                ):
                    raise ValueError(
                        f"{key}: expected a finite number of pixels >= 1, got {value!r}"
                    )
                # larger than the image works like the image's size (clipped when segmenting)
                value = round(float(value))
            kwargs[key] = value
        queries = params.get("feature_queries")
        if queries is not None:
            if isinstance(queries, str):
                queries = [queries]
            if not isinstance(queries, Sequence) or not all(isinstance(q, str) for q in queries):
                raise ValueError(
                    f"feature_queries: expected a list of strings like ['area < 80'], "
                    f"got {queries!r}"
                )
            if len(queries) > FEATURE_QUERIES_MAX:
                raise ValueError(
                    f"feature_queries: {len(queries)} queries; at most {FEATURE_QUERIES_MAX} "
                    "(join conditions with 'or' inside one query)"
                )
            queries = tuple(queries)
        kwargs["feature_queries"] = queries
        kwargs["equalize_reference"] = _check_reference(params.get("equalize_reference"))
        for key in ("do_watershed", "fill_holes", "edge_exclusion"):
            value = params.get(key, True)
            if not isinstance(value, bool | np.bool_):
                raise ValueError(f"{key}: expected True or False, got {value!r}")
            kwargs[key] = bool(value)
        return cls(**kwargs)


_INFINITIES = {
    "inf": math.inf,
    "+inf": math.inf,
    "infinity": math.inf,
    "+infinity": math.inf,
    "-inf": -math.inf,
    "-infinity": -math.inf,
}


def _check_thresholds(value: Any) -> tuple[float | str, float | str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = [value, math.inf]
    if isinstance(value, Sequence) and not isinstance(value, str):
        # an open bound may be written "inf" (JSON has no infinity literal of its own)
        value = [_INFINITIES.get(v.strip().lower(), v) if isinstance(v, str) else v for v in value]
    if (
        not isinstance(value, Sequence)
        or len(value) != 2
        or not all(
            (isinstance(v, str) and v == "otsu")
            or (isinstance(v, int | float | np.number) and not isinstance(v, bool))
            for v in value
        )
    ):
        raise ValueError(
            f"thresholds: expected [min, max] with numbers, 'inf' or 'otsu' (e.g. [8000, 1e10], "
            f"[8000, 'inf'] or ['otsu', 1e10]), got {value!r}"
        )
    low, high = (v if isinstance(v, str) else float(v) for v in value)
    if any(isinstance(v, float) and math.isnan(v) for v in (low, high)):
        raise ValueError(
            f"thresholds: NaN is not a threshold, got {list(value)!r}; for an open bound use "
            "inf (or a large number such as 1e10), e.g. [8000, inf]"
        )
    if not isinstance(low, str) and not isinstance(high, str) and low > high:
        raise ValueError(f"thresholds: min must not exceed max, got {list(value)!r}")
    return (low, high)


def _check_reference(value: Any) -> npt.NDArray[Any] | None:
    # Celldetective stores [False, ...] / False / null when histogram matching is off;
    # a frame index can only be resolved by whoever owns the stack (the Session).
    if value is None or value is False:
        return None
    if isinstance(value, list | tuple) and value and value[0] is False:
        return None
    array = np.asarray(value)
    if (
        array.ndim != 2
        or array.size == 0
        or not np.issubdtype(array.dtype, np.number)
        or np.issubdtype(array.dtype, np.complexfloating)
    ):
        raise ValueError(
            "equalize_reference: expected a non-empty 2-D real reference image (or None/False "
            f"to disable), got {array.dtype} of shape {array.shape}; a Session resolves "
            "Celldetective's [True, frame] form itself"
        )
    if not np.isfinite(array).all():
        raise ValueError(
            "equalize_reference: the reference image has NaN or infinite values; pass a frame "
            "without them"
        )
    return array


def _region_values(
    labels: npt.NDArray[np.integer[Any]],
    intensity: npt.NDArray[Any],
    target: int,
    channel_names: Sequence[str],
    names: set[str],
) -> dict[str, npt.NDArray[np.float64]]:
    """Measure only the properties the queries use, one value per object in label order."""
    geometry = [name for name in names if name in _GEOMETRY]
    props = ["label", *geometry]
    need_intensity = any(name not in _GEOMETRY for name in names)
    if need_intensity:
        props += list(_INTENSITY)
    table = _regionprops_table(
        labels,
        intensity_image=np.moveaxis(intensity, 0, -1) if need_intensity else None,
        properties=props,
    )
    values: dict[str, npt.NDArray[np.float64]] = {
        name: np.asarray(table[name], dtype=np.float64) for name in geometry
    }
    if need_intensity:
        for stat in ("mean", "min", "max"):
            for channel in range(intensity.shape[0]):
                column = np.asarray(table[f"intensity_{stat}-{channel}"], dtype=np.float64)
                values[f"intensity_{stat}-{channel}"] = column
                if channel < len(channel_names):
                    values[f"{channel_names[channel]}_{stat}"] = column
                if channel == target:
                    values[f"intensity_{stat}"] = column
    return values


def query_properties(n_channels: int, channel_names: Sequence[str]) -> set[str]:
    """All property names a feature query may use on an image with these channels."""
    names = set(_GEOMETRY) | set(_INTENSITY)
    for stat in ("mean", "min", "max"):
        for channel in range(n_channels):
            names.add(f"intensity_{stat}-{channel}")
        names.update(f"{name}_{stat}" for name in channel_names)
    return names


def _auto_binary(smoothed: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
    """Parameter-free foreground: brighter than the local background and than half-way from the
    background level to Otsu's level.

    A global threshold loses dim nuclei next to bright ones when the background varies; a local
    (Gaussian-weighted mean) threshold alone picks up background texture; both together do well
    on ordinary fluorescence nuclei. The background level (1st percentile) makes the rule
    independent of a camera offset.
    """
    if float(smoothed.max()) == float(smoothed.min()):
        return np.zeros(smoothed.shape, dtype=bool)
    local = np.asarray(_threshold_local(smoothed, _AUTO_BLOCK_SIZE), dtype=np.float64)
    background = float(np.percentile(smoothed, 1.0))
    level = background + 0.5 * (float(_threshold_otsu(smoothed)) - background)
    binary = (smoothed > local) & (smoothed > level)
    return np.asarray(ndi.binary_opening(binary), dtype=bool)


def _auto_markers(
    distance: npt.NDArray[np.float64], binary: npt.NDArray[np.bool_]
) -> tuple[int, int]:
    """Marker spacing from the objects' typical radius (median of their largest inscribed disc)."""
    rough, n = ndi.label(binary)
    if n == 0:
        return 1, 1
    radii = np.zeros(n + 1)
    np.maximum.at(radii, rough.ravel(), distance.ravel())  # ndi.maximum sorts: 10x slower
    radius = float(np.median(radii[1:]))
    min_distance = max(2, round(radius))
    return min_distance, 2 * min_distance + 1


def threshold_segment(
    image: npt.NDArray[Any],
    params: ThresholdParams,
    *,
    channel_names: Sequence[str] = (),
) -> Labels:
    """Run the threshold pipeline on a ``(C, Y, X)`` image; returns ``uint32`` labels 1..N.

    NaN pixels of the target channel count as its median, ``+inf``/``-inf`` as its largest /
    smallest finite value; a channel without finite values has no objects.
    """
    image = np.asarray(image)
    if image.ndim != 3 or image.size == 0:
        raise ValueError(
            f"image: expected a non-empty (C, Y, X) array, got shape {image.shape}; pass one "
            "frame with at least one pixel"
        )
    if image.dtype.kind not in "biuf":
        raise TypeError(
            f"image: expected real numbers (bool, integer or float), got dtype {image.dtype}"
        )
    target = params.target_channel
    if isinstance(target, str):
        if target not in channel_names:
            raise ValueError(
                f"target_channel: no channel named {target!r}; channels are {list(channel_names)}"
            )
        target = list(channel_names).index(target)
    if not -image.shape[0] <= target < image.shape[0]:
        raise ValueError(
            f"target_channel: index {target} is out of range for an image with "
            f"{image.shape[0]} channel(s); pass 0..{image.shape[0] - 1} or a channel name"
        )
    target %= image.shape[0]
    plane = np.asarray(image[target], dtype=np.float64)
    finite = np.isfinite(plane)
    if not finite.all():
        if not finite.any():
            return np.zeros(plane.shape, dtype=np.uint32)
        values = plane[finite]
        plane = np.where(np.isnan(plane), np.median(values), plane)
        plane = np.clip(plane, values.min(), values.max())
    if params.equalize_reference is not None:
        plane = np.asarray(_match_histograms(plane, params.equalize_reference), np.float64)

    auto = params.filters is None and params.thresholds is None
    steps: tuple[FilterStep, ...]
    if params.filters is None:
        # light smoothing so that otsu and the distance transform are not driven by noise
        steps = (FilterStep("gauss", (1.0,)),) if params.thresholds is None else ()
    else:
        steps = params.filters
    filtered = apply_filters(plane, steps)

    if auto:
        binary = _auto_binary(filtered)
    else:
        low, high = params.thresholds if params.thresholds is not None else ("otsu", math.inf)
        otsu = float(_threshold_otsu(filtered)) if "otsu" in (low, high) else math.nan
        low_value = otsu if low == "otsu" else float(low)
        high_value = otsu if high == "otsu" else float(high)
        binary = (filtered >= low_value) & (filtered <= high_value)
    if params.fill_holes:
        binary = ndi.binary_fill_holes(binary)
    if params.edge_exclusion:
        edge = filter_reach(steps)
        if edge > 0:
            binary[:edge] = False
            binary[-edge:] = False
            binary[:, :edge] = False
            binary[:, -edge:] = False

    labels: npt.NDArray[np.integer[Any]]
    if params.do_watershed and binary.any():
        distance = ndi.distance_transform_edt(binary)
        if auto:
            # a smoother relief: one peak per roundish nucleus rather than one per bump
            distance = ndi.gaussian_filter(distance, 2.0)
        min_distance, footprint_size = _auto_markers(distance, binary)
        if params.marker_min_distance is not None:
            min_distance = params.marker_min_distance
        if params.marker_footprint_size is not None:
            footprint_size = params.marker_footprint_size
        # beyond the image's diagonal / twice its side these change nothing: clip them there
        side = max(binary.shape)
        min_distance = min(min_distance, math.ceil(math.hypot(*binary.shape)) + 1)
        footprint_size = min(footprint_size, 2 * side + 1)
        # one region for the whole foreground, as Celldetective does: per-object regions make
        # peak_local_max loop over objects (3x slower on a 1024x1024 frame) for the same peaks
        peaks = _peak_local_max(
            distance,
            min_distance=min_distance,
            footprint=np.ones((footprint_size, footprint_size), dtype=bool),
            labels=binary.astype(np.uint8),
            exclude_border=False,
        )
        markers = np.zeros(binary.shape, dtype=np.int32)
        markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1, dtype=np.int32)
        labels = _watershed(-distance, markers, mask=binary)
        if params.fill_holes:
            labels = _fill_label_holes(labels)
    else:
        labels, _ = ndi.label(binary)

    if params.feature_queries:
        labels = _apply_queries(labels, image, target, channel_names, params.feature_queries)
    elif params.feature_queries is None and auto:
        labels = _drop_debris(labels)
    relabelled, _, _ = _relabel_sequential(labels)
    return np.asarray(relabelled, dtype=np.uint32)


def _apply_queries(
    labels: npt.NDArray[np.integer[Any]],
    image: npt.NDArray[Any],
    target: int,
    channel_names: Sequence[str],
    queries: Sequence[str],
) -> npt.NDArray[np.integer[Any]]:
    """Remove the objects that match any query (Celldetective's meaning of feature_queries)."""
    if labels.max() == 0:
        return labels
    known = query_properties(image.shape[0], channel_names)
    parsed: list[Query] = [parse_query(text, known) for text in queries]
    needed = set().union(*(query.properties for query in parsed))
    values = _region_values(labels, image, target, channel_names, needed)
    ids = np.unique(labels)
    ids = ids[ids > 0]
    remove = np.zeros(len(ids), dtype=bool)
    for query in parsed:
        remove |= query(values)
    if remove.any():
        labels = np.where(np.isin(labels, ids[remove]), 0, labels)
    return labels


def _drop_debris(labels: npt.NDArray[np.integer[Any]]) -> npt.NDArray[np.integer[Any]]:
    """Parameter-free mode: remove objects under a tenth of the median object area."""
    areas = np.bincount(labels.ravel())[1:]
    present = areas > 0
    if not present.any():
        return labels
    limit = 0.1 * float(np.median(areas[present]))
    drop = np.flatnonzero(present & (areas < limit)) + 1
    if drop.size == 0:
        return labels
    return np.asarray(np.where(np.isin(labels, drop), 0, labels), dtype=labels.dtype)


def _fill_label_holes(labels: npt.NDArray[np.integer[Any]]) -> npt.NDArray[np.integer[Any]]:
    out: npt.NDArray[np.integer[Any]] = np.array(labels, copy=True)
    for index, box in enumerate(ndi.find_objects(labels), start=1):
        if box is None:
            continue
        filled = ndi.binary_fill_holes(labels[box] == index)
        region = out[box]
        region[filled & (region == 0)] = index
    return out


def read_threshold_config(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a Celldetective ``threshold_config_<population>.json`` as threshold parameters.

    Parameters
    ----------
    path : path-like
        The JSON file.

    Returns
    -------
    dict
        The recognised keys (see `CONFIG_KEYS`), ready to pass as ``**params``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = write_threshold_config(folder / "threshold_config_targets.json",
    ...                            {"target_channel": 3, "thresholds": [8000, 1e10]})
    >>> read_threshold_config(folder / "threshold_config_targets.json")["thresholds"]
    [8000.0, 10000000000.0]
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(
            f"threshold config: {path} does not exist; pass the path of a "
            "threshold_config_<population>.json file"
        ) from None
    except IsADirectoryError:
        raise IsADirectoryError(
            f"threshold config: {path} is a folder; pass the path of a "
            "threshold_config_<population>.json file"
        ) from None
    except UnicodeDecodeError as error:
        raise ValueError(
            f"threshold config: {path} is not UTF-8 text ({error}); save it as UTF-8 JSON"
        ) from None
    except json.JSONDecodeError as error:
        raise ValueError(f"threshold config: {path} is not valid JSON ({error})") from None
    except RecursionError:
        raise ValueError(
            f"threshold config: {path} nests lists or objects too deeply to be a threshold config"
        ) from None
    if not isinstance(data, dict):
        raise ValueError(f"threshold config: {path} must hold a JSON object, got {type(data)}")
    params = {key: data[key] for key in CONFIG_KEYS if key in data}
    ThresholdParams.from_mapping(params)  # fail early, naming the bad key
    return params


def write_threshold_config(path: str | os.PathLike[str], params: Mapping[str, Any]) -> Path:
    """Write threshold parameters as a Celldetective ``threshold_config_<population>.json``.

    Unknown keys are an error; keys left out are written with the pipeline's defaults
    (``null`` where the pipeline chooses from the image).  The file is replaced atomically.
    """
    checked = ThresholdParams.from_mapping(params)
    data: dict[str, Any] = {
        "target_channel": checked.target_channel,
        # JSON has no infinity: an open upper bound is written as the largest float
        "thresholds": None
        if checked.thresholds is None
        else [v if isinstance(v, str) else min(v, sys.float_info.max) for v in checked.thresholds],
        "filters": None
        if checked.filters is None
        else [[step.name, *step.args] for step in checked.filters],
        "marker_min_distance": checked.marker_min_distance,
        "marker_footprint_size": checked.marker_footprint_size,
        "feature_queries": None
        if checked.feature_queries is None
        else list(checked.feature_queries),
        "equalize_reference": None
        if checked.equalize_reference is None
        else checked.equalize_reference.tolist(),
        "do_watershed": checked.do_watershed,
        "fill_holes": checked.fill_holes,
    }
    if "equalize_reference" in params and checked.equalize_reference is None:
        data["equalize_reference"] = params["equalize_reference"]
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=4), encoding="utf-8")
    os.replace(tmp, path)
    return path
