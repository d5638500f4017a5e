"""Cellpose 3 and StarDist backends, the named-model registry and local model folders.

The libraries are imported only here, only when a model runs.  Loaded models are cached per
process (a Dask worker loads each model once) and each is used by one thread at a time.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import ndimage as ndi

from segpaint.segment._pixel_classifier import MODEL_TYPE, PIXEL_PARAMS
from segpaint.segment._pixel_classifier import predict as predict_pixel_classifier

__all__ = [
    "NAMED_MODELS",
    "MissingExtraError",
    "MissingWeightsError",
    "ModelSpec",
    "clear_model_cache",
    "normalize_channels",
    "resolve_model",
    "run_model",
]


class MissingExtraError(ImportError):
    """An optional dependency (cellpose, stardist) is not installed."""


class MissingWeightsError(FileNotFoundError):
    """Pretrained weights are not on disk and could not be downloaded."""


NAMED_MODELS: dict[str, tuple[str, str]] = {
    "CP_cyto3": ("cellpose", "cyto3"),
    "CP_nuclei": ("cellpose", "nuclei"),
    "CP_livecell": ("cellpose", "livecell_cp3"),
    "CP_tissuenet": ("cellpose", "tissuenet_cp3"),
    "SD_versatile_fluo": ("stardist", "2D_versatile_fluo"),
    "SD_versatile_he": ("stardist", "2D_versatile_he"),
}
"""segpaint name -> (library, the library's own model name)."""

_EXTRA = {"cellpose": "cellpose", "stardist": "stardist"}
_DEFAULT_PERCENTILES = {"cellpose": (1.0, 99.0), "stardist": (1.0, 99.8), MODEL_TYPE: (1.0, 99.8)}
_CELLPOSE_PARAMS = {
    "diameter",
    "flow_threshold",
    "cellprob_threshold",
    "normalization_percentile",
    "normalization_values",
}
_STARDIST_PARAMS = {"prob_thresh", "nms_thresh", "normalization_percentile", "normalization_values"}


@dataclass(frozen=True)
class ModelSpec:
    """Everything needed to load and feed one model.

    Attributes
    ----------
    library : {"cellpose", "stardist"}
    source : str
        A built-in model name (``"cyto3"``) or a local path.
    builtin : bool
        Whether ``source`` names a library's pretrained model.
    channels : tuple of str, optional
        Input channel names (a Celldetective ``config_input.json``), matched to the image's.
    pixel_size_um : float, optional
        The model's calibration; images are rescaled from theirs to it.
    normalization : tuple of (percentile, (low, high), clip) per channel, optional
    defaults : mapping
        Prediction parameters from the model's configuration (``diameter``, thresholds).
    """

    library: str
    source: str
    builtin: bool = False
    channels: tuple[str, ...] | None = None
    pixel_size_um: float | None = None
    normalization: tuple[tuple[bool, tuple[float, float], bool], ...] | None = None
    defaults: Mapping[str, Any] = field(default_factory=dict)


def _import(library: str) -> Any:
    try:
        if library == "cellpose":
            from cellpose import models

            return models
        from stardist import models as sd_models

        return sd_models
    except ImportError as error:
        raise MissingExtraError(
            f"the {library!r} backend needs the optional {library} extra, which is not "
            f'installed ({error}); install it with: pip install "segpaint[{_EXTRA[library]}]"'
        ) from error


def _read_celldetective_config(folder: Path) -> ModelSpec:
    config_path = folder / "config_input.json"
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"method: {config_path} is not valid JSON ({error})") from None
    if not isinstance(config, dict):
        raise ValueError(f"method: {config_path} must hold a JSON object")
    library = str(config.get("model_type", "")).lower()
    if library not in ("cellpose", "stardist", MODEL_TYPE):
        library = "stardist" if (folder / "config.json").is_file() else "cellpose"
    raw_channels = config.get("channels")
    channels: list[Any] = raw_channels if isinstance(raw_channels, list) else []
    n = len(channels)
    normalization = None
    if n:
        percentile = config.get("normalization_percentile", [True] * n)
        values = config.get("normalization_values", [_DEFAULT_PERCENTILES[library]] * n)
        clip = config.get("normalization_clip", [False] * n)
        if not (len(percentile) == len(values) == len(clip) == n):
            raise ValueError(
                f"method: {config_path}: normalization_percentile/values/clip need one entry per "
                f"channel ({n})"
            )
        normalization = tuple(
            (bool(p), (float(v[0]), float(v[1])), bool(c))
            for p, v, c in zip(percentile, values, clip, strict=True)
        )
    defaults = {
        key: config[key]
        for key in ("diameter", "cellprob_threshold", "flow_threshold")
        if key in config and library == "cellpose"
    }
    calibration = config.get("spatial_calibration")
    if library == MODEL_TYPE and isinstance(config.get("min_size"), int):
        defaults["min_size"] = config["min_size"]
    source = _find_cellpose_file(folder) if library == "cellpose" else str(folder)
    return ModelSpec(
        library=library,
        source=source,
        channels=tuple(str(c) for c in channels) if n else None,
        pixel_size_um=float(calibration) if calibration else None,
        normalization=normalization,
        defaults=defaults,
    )


def _find_cellpose_file(folder: Path) -> str:
    named = folder / folder.name
    if named.is_file():
        return str(named)
    candidates = [
        p for p in sorted(folder.iterdir()) if p.is_file() and p.suffix in ("", ".pth", ".pt")
    ]
    if len(candidates) != 1:
        raise FileNotFoundError(
            f"method: {folder} holds config_input.json but no single Cellpose model file "
            f"(expected {named.name!r} or one file without extension); found "
            f"{[p.name for p in candidates]}"
        )
    return str(candidates[0])


def resolve_model(method: str) -> ModelSpec:
    """Turn a method name or a local path into a `ModelSpec`.

    Examples
    --------
    >>> resolve_model("CP_nuclei").source
    'nuclei'
    """
    if method in NAMED_MODELS:
        library, name = NAMED_MODELS[method]
        return ModelSpec(library=library, source=name, builtin=True)
    path = Path(method).expanduser()
    if path.is_file():
        return ModelSpec(library="cellpose", source=str(path))
    if path.is_dir():
        if (path / "config_input.json").is_file():
            return _read_celldetective_config(path)
        if (path / "config.json").is_file():
            return ModelSpec(library="stardist", source=str(path))
        raise FileNotFoundError(
            f"method: {path} is a folder but neither a StarDist model (config.json + weights) "
            "nor a Celldetective model (config_input.json)"
        )
    raise ValueError(
        f"method: unknown method {method!r}; use 'threshold', one of "
        f"{', '.join(sorted(NAMED_MODELS))}, a Cellpose model file, a StarDist model folder, "
        "a Celldetective model folder or a threshold_config_<population>.json (check the "
        "spelling and that the path exists)"
    )


def normalize_channels(
    image: npt.NDArray[Any],
    normalization: Sequence[tuple[bool, tuple[float, float], bool]],
) -> npt.NDArray[np.float32]:
    """Scale each channel to about [0, 1]: by percentiles or by fixed values, optionally clipped.

    Examples
    --------
    >>> import numpy as np
    >>> out = normalize_channels(np.arange(101.0)[None, None, :], [(True, (0, 100), False)])
    >>> float(out.min()), float(out.max())
    (0.0, 1.0)
    """
    out = np.empty(image.shape, dtype=np.float32)
    for index, (percentile, (low, high), clip) in enumerate(normalization):
        channel = np.asarray(image[index], dtype=np.float32)
        if percentile:
            low_value, high_value = np.percentile(channel, [low, high])
        else:
            low_value, high_value = low, high
        scale = float(high_value - low_value)
        scaled = (channel - low_value) / (scale if scale > 0 else 1.0)
        out[index] = np.clip(scaled, 0.0, 1.0) if clip else scaled
    return out


def _map_channels(
    image: npt.NDArray[Any], spec: ModelSpec, channel_names: Sequence[str]
) -> npt.NDArray[Any]:
    """Reorder the image's channels into the model's input order, by name."""
    if spec.channels is None:
        return image
    if not channel_names:
        if image.shape[0] == len(spec.channels):
            return image
        raise ValueError(
            f"channels: the model expects channels {list(spec.channels)} but the image has "
            f"{image.shape[0]} unnamed channel(s); pass channel_names= (or channels= in the "
            "model's order)"
        )
    planes = []
    for name in spec.channels:
        if name in ("None", "none", ""):
            planes.append(np.zeros(image.shape[1:], dtype=image.dtype))
        elif name in channel_names:
            planes.append(image[list(channel_names).index(name)])
        else:
            raise ValueError(
                f"channels: the model needs a channel named {name!r}; the image's channels are "
                f"{list(channel_names)} (rename them with channel_names=)"
            )
    return np.stack(planes)


_CACHE: dict[tuple[str, str, float], tuple[Any, threading.Lock]] = {}
_CACHE_LOCK = threading.Lock()


def clear_model_cache() -> None:
    """Forget the loaded models (they are kept per process to avoid reloading per frame)."""
    with _CACHE_LOCK:
        _CACHE.clear()


def _load(spec: ModelSpec) -> tuple[Any, threading.Lock]:
    mtime = 0.0 if spec.builtin else os.path.getmtime(spec.source)
    key = (spec.library, spec.source, mtime)
    with _CACHE_LOCK:
        if key in _CACHE:
            return _CACHE[key]
        model = _load_cellpose(spec) if spec.library == "cellpose" else _load_stardist(spec)
        _CACHE[key] = (model, threading.Lock())
        return _CACHE[key]


def _load_cellpose(spec: ModelSpec) -> Any:
    models = _import("cellpose")
    if spec.builtin:
        folder = Path(models.MODEL_DIR)
        name = "nucleitorch_0" if spec.source == "nuclei" else spec.source
        weights = folder / name
        if not weights.is_file():
            try:
                models.model_path(spec.source, 0)
            except Exception as error:  # the library raises URLError, HTTPError, OSError...
                url = getattr(models, "_MODEL_URL", "https://www.cellpose.org/models")
                raise MissingWeightsError(
                    f"Cellpose weights {name!r} for {spec.source!r} are not in {folder} and "
                    f"could not be downloaded ({type(error).__name__}: {error}); on a machine "
                    f"with network, download {url}/{name} into that folder (or set "
                    "CELLPOSE_LOCAL_MODELS_PATH to the folder that holds it)"
                ) from error
        return models.CellposeModel(gpu=False, model_type=spec.source)
    return models.CellposeModel(gpu=False, pretrained_model=spec.source)


def _load_stardist(spec: ModelSpec) -> Any:
    sd_models = _import("stardist")
    if spec.builtin:
        try:
            return sd_models.StarDist2D.from_pretrained(spec.source)
        except Exception as error:  # keras' get_file raises URLError/OSError/Exception
            cache = (
                Path(os.environ.get("KERAS_HOME", Path.home() / ".keras"))
                / "models"
                / "StarDist2D"
                / spec.source
            )
            raise MissingWeightsError(
                f"StarDist weights {spec.source!r} are not in {cache} and could not be "
                f"downloaded ({type(error).__name__}: {error}); on a machine with network run "
                f"StarDist2D.from_pretrained({spec.source!r}) once and copy {cache} here, or "
                "pass the path of an unpacked model folder as method="
            ) from error
    folder = Path(spec.source)
    return sd_models.StarDist2D(None, name=folder.name, basedir=str(folder.parent))


def _rescale(image: npt.NDArray[Any], factor: float, order: int) -> npt.NDArray[Any]:
    if abs(factor - 1.0) < 1e-6:
        return image
    zoom = (1.0,) * (image.ndim - 2) + (factor, factor)
    return np.asarray(ndi.zoom(image, zoom, order=order))


def _resize_labels(labels: npt.NDArray[Any], shape: tuple[int, int]) -> npt.NDArray[Any]:
    if labels.shape == shape:
        return labels
    rows = np.minimum((np.arange(shape[0]) + 0.5) * labels.shape[0] / shape[0], labels.shape[0] - 1)
    cols = np.minimum((np.arange(shape[1]) + 0.5) * labels.shape[1] / shape[1], labels.shape[1] - 1)
    return labels[np.ix_(rows.astype(np.intp), cols.astype(np.intp))]


def _check_params(library: str, params: Mapping[str, Any]) -> None:
    accepted = {"cellpose": _CELLPOSE_PARAMS, MODEL_TYPE: PIXEL_PARAMS}.get(
        library, _STARDIST_PARAMS
    )
    unknown = sorted(set(params) - accepted)
    if unknown:
        raise TypeError(
            f"{library} model: unknown parameter(s) {', '.join(map(repr, unknown))}; check the "
            f"spelling; accepted: {', '.join(sorted(accepted))}"
        )


def _normalization(
    spec: ModelSpec, n_channels: int, options: dict[str, Any]
) -> tuple[tuple[bool, tuple[float, float], bool], ...]:
    """The model's normalisation of ``n_channels`` channels; ``normalization_percentile`` or
    ``normalization_values`` (fixed (low, high) intensities per channel) in ``options``
    override it (and are popped)."""
    normalization = spec.normalization
    if "normalization_percentile" in options:
        low, high = options.pop("normalization_percentile")
        normalization = tuple((True, (float(low), float(high)), False) for _ in range(n_channels))
    if normalization is None:
        low, high = _DEFAULT_PERCENTILES[spec.library]
        normalization = tuple((True, (low, high), False) for _ in range(n_channels))
    if len(normalization) != n_channels:
        raise ValueError(
            f"channels: the model normalises {len(normalization)} channel(s) but the image has "
            f"{n_channels}; pass channels= to choose them"
        )
    if "normalization_values" in options:
        values = options.pop("normalization_values")
        try:
            pairs = [(float(lo), float(hi)) for lo, hi in values]
        except (TypeError, ValueError) as err:
            raise TypeError(
                f"normalization_values: expected one (low, high) pair per channel, got {values!r}"
            ) from err
        if len(pairs) != n_channels:
            raise ValueError(
                f"normalization_values: {len(pairs)} pair(s) for {n_channels} channel(s); pass "
                "one (low, high) per model channel"
            )
        normalization = tuple(
            (False, pair, clip) for pair, (_, _, clip) in zip(pairs, normalization, strict=True)
        )
    return normalization


def frame_normalization(
    image: npt.NDArray[Any], method: str, *, channel_names: Sequence[str] = ()
) -> list[tuple[float, float]]:
    """The intensities a model maps to 0 and 1 on ``image`` (C, Y, X), one pair per model channel.

    Pass them as ``normalization_values=`` when running the model on a crop of ``image``: the
    crop is then scaled as the whole image would be (a crop's own percentiles differ, and a
    model trained on whole samples segments it worse).
    """
    spec = resolve_model(method)
    data = _map_channels(image, spec, channel_names)
    out = []
    for index, (percentile, (low, high), _) in enumerate(_normalization(spec, len(data), {})):
        if percentile:
            lo, hi = np.percentile(np.asarray(data[index], dtype=np.float32), [low, high])
            out.append((float(lo), float(hi)))
        else:
            out.append((float(low), float(high)))
    return out


def run_model(
    image: npt.NDArray[Any],
    method: str,
    *,
    channel_names: Sequence[str],
    pixel_size_um: float | None,
    params: Mapping[str, Any],
) -> npt.NDArray[np.uint32]:
    """Predict labels with a Cellpose, StarDist or pixel-classifier model on a ``(C, Y, X)`` image."""
    spec = resolve_model(method)
    _check_params(spec.library, params)
    options = {**spec.defaults, **params}
    shape = (int(image.shape[1]), int(image.shape[2]))
    data = _map_channels(image, spec, channel_names)

    data = normalize_channels(data, _normalization(spec, data.shape[0], options))

    factor = 1.0
    if spec.pixel_size_um is not None and pixel_size_um is not None:
        factor = pixel_size_um / spec.pixel_size_um
    data = _rescale(data, factor, order=1)

    if spec.library == MODEL_TYPE:
        labels = predict_pixel_classifier(spec.source, data, options)
        return np.asarray(_resize_labels(labels, shape), dtype=np.uint32)
    model, lock = _load(spec)
    with lock:
        if spec.library == "cellpose":
            labels = _predict_cellpose(model, data, options)
        else:
            labels = _predict_stardist(model, data, options)
    labels = _resize_labels(np.asarray(labels), shape)
    return np.asarray(labels, dtype=np.uint32)


def _predict_cellpose(model: Any, data: npt.NDArray[np.float32], options: Mapping[str, Any]) -> Any:
    if data.shape[0] == 1:
        x, channels, axis = data[0], [0, 0], None
    elif data.shape[0] == 2:
        x, channels, axis = data, [1, 2], 0
    else:
        raise ValueError(
            f"channels: Cellpose takes 1 channel or 2 (cytoplasm, nuclei), got {data.shape[0]}; "
            "pass channels= to choose them"
        )
    masks, _flows, _styles = model.eval(
        x,
        channels=channels,
        channel_axis=axis,
        normalize=False,
        diameter=options.get("diameter"),
        flow_threshold=float(options.get("flow_threshold", 0.4)),
        cellprob_threshold=float(options.get("cellprob_threshold", 0.0)),
    )
    return masks


def _predict_stardist(model: Any, data: npt.NDArray[np.float32], options: Mapping[str, Any]) -> Any:
    n_in = int(model.config.n_channel_in)
    if data.shape[0] != n_in:
        raise ValueError(
            f"channels: this StarDist model takes {n_in} channel(s), got {data.shape[0]}; "
            "pass channels= to choose them"
        )
    x, axes = (data[0], "YX") if n_in == 1 else (np.moveaxis(data, 0, -1), "YXC")
    labels, _details = model.predict_instances(
        x,
        axes=axes,
        prob_thresh=options.get("prob_thresh"),
        nms_thresh=options.get("nms_thresh"),
        show_tile_progress=False,
        verbose=False,
    )
    return labels
