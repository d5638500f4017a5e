"""Allow-listed image filters for the threshold pipeline, looked up by name (never evaluated).

Names and positional arguments follow Celldetective's ``filters`` lists, e.g.
``[["variance", 4], ["gauss", 2]]``.  Every filter maps a float image to a float image.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import ndimage as ndi
from skimage import filters as _skfilters
from skimage import morphology as _morphology

__all__ = ["FILTERS", "apply_filters", "filter_reach", "normalize_filters"]

FloatImage = npt.NDArray[np.float64]

# scikit-image ships no type hints: typed handles keep mypy strict
_difference_of_gaussians: Callable[..., Any] = _skfilters.difference_of_gaussians
_white_tophat: Callable[..., Any] = _morphology.white_tophat
_disk: Callable[..., Any] = _morphology.disk


def _size(value: float, name: str) -> int:
    size = round(value)
    if size < 1:
        raise ValueError(f"filter {name!r}: size must be >= 1, got {value!r}")
    return size


def _gauss(image: FloatImage, sigma: float = 2.0) -> FloatImage:
    return np.asarray(ndi.gaussian_filter(image, float(sigma)), dtype=np.float64)


def _median(image: FloatImage, size: float = 3) -> FloatImage:
    return np.asarray(ndi.median_filter(image, _size(size, "median")), dtype=np.float64)


def _maximum(image: FloatImage, size: float = 3) -> FloatImage:
    return np.asarray(ndi.maximum_filter(image, _size(size, "maximum")), dtype=np.float64)


def _minimum(image: FloatImage, size: float = 3) -> FloatImage:
    return np.asarray(ndi.minimum_filter(image, _size(size, "minimum")), dtype=np.float64)


def _variance(image: FloatImage, size: float = 4) -> FloatImage:
    size_int = _size(size, "variance")
    mean = np.asarray(ndi.uniform_filter(image, size_int), dtype=np.float64)
    mean_sq = np.asarray(ndi.uniform_filter(image * image, size_int), dtype=np.float64)
    # rounding can make E[x^2] - E[x]^2 slightly negative on flat regions
    return np.maximum(mean_sq - mean * mean, 0.0)


def _std(image: FloatImage, size: float = 4) -> FloatImage:
    return np.sqrt(_variance(image, size))


def _laplace(image: FloatImage) -> FloatImage:
    return np.asarray(ndi.laplace(image), dtype=np.float64)


def _dog(image: FloatImage, sigma_low: float = 1.0, sigma_high: float = 2.0) -> FloatImage:
    return np.asarray(
        _difference_of_gaussians(image, float(sigma_low), float(sigma_high)),
        dtype=np.float64,
    )


def _log(image: FloatImage, sigma: float = 1.0) -> FloatImage:
    # sign flipped so that bright blobs come out positive, as a threshold expects
    return -np.asarray(ndi.gaussian_laplace(image, float(sigma)), dtype=np.float64)


def _tophat(image: FloatImage, size: float = 5) -> FloatImage:
    return np.asarray(_white_tophat(image, _disk(_size(size, "tophat"))), dtype=np.float64)


def _invert(image: FloatImage, value: float | None = None) -> FloatImage:
    top = float(image.max()) if value is None else float(value)
    return top - image


def _subtract(image: FloatImage, value: float = 0.0) -> FloatImage:
    return image - float(value)


def _abs(image: FloatImage) -> FloatImage:
    return np.abs(image)


def _ln(image: FloatImage) -> FloatImage:
    return np.log(np.maximum(image, 1e-12))


FILTERS: dict[str, Callable[..., FloatImage]] = {
    "gauss": _gauss,
    "median": _median,
    "maximum": _maximum,
    "minimum": _minimum,
    "variance": _variance,
    "std": _std,
    "laplace": _laplace,
    "dog": _dog,
    "log": _log,
    "tophat": _tophat,
    "invert": _invert,
    "subtract": _subtract,
    "abs": _abs,
    "ln": _ln,
}
"""Filter name -> function(image, *args).  The only filters a configuration can name."""

# How far (in pixels) each filter's output depends on pixels near it, from its first argument.
_REACH: dict[str, Callable[[float], float]] = {
    "gauss": lambda s: 2.0 * s,
    "median": lambda s: s / 2.0,
    "maximum": lambda s: s / 2.0,
    "minimum": lambda s: s / 2.0,
    "variance": lambda s: s / 2.0,
    "std": lambda s: s / 2.0,
    "laplace": lambda _s: 1.0,
    "dog": lambda s: 2.0 * s,
    "log": lambda s: 2.0 * s,
    "tophat": lambda s: s,
}
_DEFAULT_FIRST_ARG = {"laplace": 1.0, "dog": 2.0, "log": 1.0}


@dataclass(frozen=True)
class FilterStep:
    """One named filter and its positional arguments."""

    name: str
    args: tuple[float, ...]


def normalize_filters(filters: Any) -> list[FilterStep]:
    """Check a Celldetective-style filter list and return it as `FilterStep` items.

    Accepts ``[["gauss", 2], ["variance", 4]]``, ``[("median", 3)]`` or bare names ``["laplace"]``.
    """
    if filters is None:
        return []
    if isinstance(filters, str) or not isinstance(filters, Sequence):
        raise ValueError(
            f"filters: expected a list like [['gauss', 2], ['variance', 4]], got {filters!r}"
        )
    steps: list[FilterStep] = []
    raw_args: tuple[Any, ...]
    for item in filters:
        if isinstance(item, str):
            name, raw_args = item, ()
        elif isinstance(item, Sequence) and item and isinstance(item[0], str):
            name, raw_args = item[0], tuple(item[1:])
        else:
            raise ValueError(
                "filters: each item must be a name or [name, *args] like ['gauss', 2], "
                f"got {item!r}"
            )
        if name not in FILTERS:
            raise ValueError(
                f"filters: unknown filter {name!r}; choose from {', '.join(sorted(FILTERS))}"
            )
        args: list[float] = []
        for arg in raw_args:
            if isinstance(arg, bool) or not isinstance(arg, int | float | np.integer | np.floating):
                raise ValueError(f"filters: arguments of {name!r} must be numbers, got {arg!r}")
            args.append(float(arg))
        steps.append(FilterStep(name, tuple(args)))
    return steps


def apply_filters(image: npt.ArrayLike, steps: Sequence[FilterStep]) -> FloatImage:
    """Run the filter steps in order on a float64 copy of ``image``."""
    out = np.asarray(image, dtype=np.float64)
    for step in steps:
        try:
            out = np.asarray(FILTERS[step.name](out, *step.args), dtype=np.float64)
        except TypeError as error:
            raise ValueError(
                f"filters: wrong number of arguments for {step.name!r}: {list(step.args)} ({error})"
            ) from None
    return out


def filter_reach(steps: Sequence[FilterStep]) -> int:
    """Width of the border (pixels) whose filtered values depend on pixels outside the image."""
    reach = 0.0
    for step in steps:
        if step.name in _REACH:
            first = step.args[0] if step.args else _DEFAULT_FIRST_ARG.get(step.name, 3.0)
            if step.name == "dog" and len(step.args) > 1:
                first = step.args[1]
            reach += _REACH[step.name](first)
    return math.ceil(reach)
