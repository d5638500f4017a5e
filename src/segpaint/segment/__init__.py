"""Pre-segmentation backends: the threshold pipeline and Cellpose/StarDist models.

One entry point, `segment`, runs any method on one ``(C, Y, X)`` or ``(Y, X)`` image and returns
``uint32`` labels of shape ``(Y, X)``.  The ML libraries are imported only when a model runs.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from segpaint.segment._filters import FILTERS
from segpaint.segment._models import (
    NAMED_MODELS,
    MissingExtraError,
    MissingWeightsError,
    clear_model_cache,
    run_model,
)
from segpaint.segment._models import frame_normalization as _frame_normalization
from segpaint.segment._query import QuerySyntaxError, parse_query
from segpaint.segment._threshold import (
    CONFIG_KEYS,
    THRESHOLD_PARAMS,
    ThresholdParams,
    read_threshold_config,
    threshold_segment,
    write_threshold_config,
)

__all__ = [
    "CONFIG_KEYS",
    "FILTERS",
    "NAMED_MODELS",
    "THRESHOLD_PARAMS",
    "MissingExtraError",
    "MissingWeightsError",
    "QuerySyntaxError",
    "clear_model_cache",
    "frame_normalization",
    "method_names",
    "parse_query",
    "read_threshold_config",
    "segment",
    "select_channels",
    "write_threshold_config",
]


def method_names() -> list[str]:
    """The methods `segment` knows by name (a local model path or a threshold config also work).

    Examples
    --------
    >>> method_names()[:3]
    ['threshold', 'CP_cyto3', 'CP_livecell']
    """
    return ["threshold", *sorted(NAMED_MODELS)]


def select_channels(
    image: npt.ArrayLike,
    channels: Sequence[int | str] | int | str | None = None,
    channel_names: Sequence[str] | None = None,
) -> tuple[npt.NDArray[Any], list[str]]:
    """Promote ``(Y, X)`` to ``(1, Y, X)`` and keep the requested channels (by index or name).

    Returns the ``(C', Y, X)`` image and the names of the kept channels (empty when unnamed).

    Examples
    --------
    >>> import numpy as np
    >>> image, names = select_channels(np.zeros((3, 4, 5)), ["dna"], ["bf", "gfp", "dna"])
    >>> image.shape, names
    ((1, 4, 5), ['dna'])
    """
    array = np.asarray(image)
    if array.ndim == 2:
        array = array[np.newaxis]
    if array.ndim != 3:
        raise ValueError(
            f"image: expected a (C, Y, X) or (Y, X) array, got shape {array.shape}; "
            "pass one frame, e.g. session.image(t)"
        )
    names = [str(name) for name in channel_names] if channel_names is not None else []
    if names and len(names) != array.shape[0]:
        raise ValueError(
            f"channel_names: {len(names)} name(s) for an image with {array.shape[0]} channel(s)"
        )
    if channels is None:
        return array, names
    wanted = [channels] if isinstance(channels, int | str) else list(channels)
    if not wanted:
        raise ValueError("channels: expected at least one channel index or name, got []")
    indices: list[int] = []
    for channel in wanted:
        if isinstance(channel, str):
            if channel not in names:
                raise ValueError(
                    f"channels: no channel named {channel!r}; channel names are {names} "
                    "(pass channel_names= or use indices)"
                )
            indices.append(names.index(channel))
        elif isinstance(channel, int | np.integer) and not isinstance(channel, bool):
            if not -array.shape[0] <= channel < array.shape[0]:
                raise ValueError(
                    f"channels: index {channel} is out of range for {array.shape[0]} channel(s)"
                )
            indices.append(int(channel) % array.shape[0])
        else:
            raise ValueError(f"channels: expected indices or names, got {channel!r}")
    return array[indices], [names[i] for i in indices] if names else []


def _threshold_config_path(method: str) -> Path | None:
    path = Path(method)
    if path.suffix.lower() == ".json" and path.is_file():
        return path
    return None


def frame_normalization(
    image: npt.ArrayLike,
    method: str | os.PathLike[str],
    *,
    channel_names: Sequence[str] = (),
) -> list[tuple[float, float]] | None:
    """The intensities a model maps to 0 and 1 on a whole ``(C, Y, X)`` image, per model channel.

    Run the model on a crop of ``image`` with ``normalization_values=`` these pairs and the
    crop is scaled as the whole image is (its own percentiles would differ: fewer cells, more
    background).  None for ``"threshold"`` and threshold configs (no normalisation).

    Examples
    --------
    >>> frame_normalization(np.zeros((1, 8, 8)), "threshold") is None
    True
    """
    method_str = os.fspath(method)
    if method_str == "threshold" or _threshold_config_path(method_str) is not None:
        return None
    array = np.asarray(image)
    if array.ndim == 2:
        array = array[None]
    return _frame_normalization(array, method_str, channel_names=channel_names)


def segment(
    image: npt.ArrayLike,
    method: str | os.PathLike[str] = "threshold",
    *,
    channels: Sequence[int | str] | int | str | None = None,
    channel_names: Sequence[str] | None = None,
    pixel_size_um: float | None = None,
    **params: Any,
) -> npt.NDArray[np.uint32]:
    """Segment one image into labelled objects.

    Parameters
    ----------
    image : array_like
        One frame, ``(C, Y, X)`` or ``(Y, X)``.
    method : str or path-like
        ``"threshold"`` (default, pure scikit-image), a named model (see `method_names`:
        ``CP_cyto3``, ``CP_nuclei``, ``CP_livecell``, ``CP_tissuenet``, ``SD_versatile_fluo``,
        ``SD_versatile_he``), a local model (a Cellpose model file, a StarDist model folder, a
        Celldetective model folder with ``config_input.json``), or a Celldetective
        ``threshold_config_<population>.json`` (its keys become threshold parameters; ``params``
        override them).
    channels : sequence of int or str, optional
        Channels to pass to the method, by index or name (default: all).  For models, their order
        is the model's input order (Cellpose: cytoplasm then nuclei).
    channel_names : sequence of str, optional
        Names of the image's channels (for names in ``channels``, ``target_channel``, a
        Celldetective model's ``channels`` and feature queries on ``<channel>_mean``).
    pixel_size_um : float, optional
        The image's µm/px; a model with a known calibration gets the image rescaled to it.
    **params
        Method parameters.  Threshold: Celldetective's keys ``target_channel, thresholds,
        filters, marker_min_distance, marker_footprint_size, feature_queries,
        equalize_reference, do_watershed, fill_holes`` plus ``edge_exclusion``; with none, the
        threshold is Otsu's on a lightly smoothed image and touching objects are split by a
        distance-transform watershed.  Cellpose: ``diameter, flow_threshold,
        cellprob_threshold, normalization_percentile``.  StarDist: ``prob_thresh, nms_thresh,
        normalization_percentile``.

    Returns
    -------
    ndarray of uint32, shape (Y, X)
        0 is background; objects are numbered 1..N.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((40, 60))
    >>> image[10:20, 10:20] = 100
    >>> image[25:35, 40:52] = 100
    >>> labels = segment(image)
    >>> labels.dtype, labels.max()
    (dtype('uint32'), np.uint32(2))
    >>> segment(image, thresholds=[50, 1e10], do_watershed=False).max()
    np.uint32(2)
    """
    if not isinstance(method, str | os.PathLike):
        raise TypeError(
            f"method: expected a method name or a model path, got {type(method).__name__}; "
            f"names: {', '.join(method_names())}"
        )
    array, names = select_channels(image, channels, channel_names)
    if pixel_size_um is not None and not (
        isinstance(pixel_size_um, int | float) and pixel_size_um > 0
    ):
        raise ValueError(f"pixel_size_um: expected a positive number, got {pixel_size_um!r}")
    method_str = os.fspath(method)
    if method_str == "threshold" or _threshold_config_path(method_str) is not None:
        merged = dict(params)
        config = _threshold_config_path(method_str)
        if config is not None:
            merged = {**read_threshold_config(config), **params}
        return threshold_segment(array, ThresholdParams.from_mapping(merged), channel_names=names)
    return run_model(
        array, method_str, channel_names=names, pixel_size_um=pixel_size_um, params=params
    )
