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

__all__ = [
    "FILTERS",
    "FILTER_LIMITS",
    "FILTER_STEPS_MAX",
    "apply_filters",
    "filter_reach",
    "normalize_filters",
]

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

SIGMA_MAX = 100.0
"""Largest Gaussian sigma (px) of ``gauss``, ``dog`` and ``log``: a kernel of 801 taps."""

SIZE_MAX = 4096
"""Largest window (px) of ``maximum``, ``minimum``, ``variance`` and ``std`` (cost per pixel does
not grow with the window; its buffers do)."""

MEDIAN_SIZE_MAX = 31
"""Largest ``median`` window (px): its cost grows with the window's area (33 s per megapixel at
31 on one core)."""

TOPHAT_SIZE_MAX = 50
"""Largest ``tophat`` disk radius (px): its cost grows with the disk's area."""

FILTER_STEPS_MAX = 32
"""Most filter steps one configuration may chain."""

_NUMBER = (-math.inf, math.inf)
FILTER_LIMITS: dict[str, tuple[tuple[str, float, float], ...]] = {
    "gauss": (("sigma", 0.0, SIGMA_MAX),),
    "median": (("size", 1, MEDIAN_SIZE_MAX),),
    "maximum": (("size", 1, SIZE_MAX),),
    "minimum": (("size", 1, SIZE_MAX),),
    "variance": (("size", 1, SIZE_MAX),),
    "std": (("size", 1, SIZE_MAX),),
    "laplace": (),
    "dog": (("sigma_low", 0.0, SIGMA_MAX), ("sigma_high", 0.0, SIGMA_MAX)),
    "log": (("sigma", 0.0, SIGMA_MAX),),
    "tophat": (("size", 1, TOPHAT_SIZE_MAX),),
    "invert": (("value", *_NUMBER),),
    "subtract": (("value", *_NUMBER),),
    "abs": (),
    "ln": (),
}
"""Filter name -> its positional parameters ``(name, lowest, highest)``, all optional.

Sizes are rounded to whole pixels before the check.  Every value must be finite: a bound on
each parameter keeps the work of any configuration bounded by the image.
"""
_SIZES = {"size"}

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
    Every argument must be finite and within its range in `FILTER_LIMITS`, and a list holds at
    most `FILTER_STEPS_MAX` steps, so that the work of any list is bounded by the image; errors
    name the filter, the parameter and the allowed range.

    Examples
    --------
    >>> normalize_filters([["gauss", 2], "laplace"])[0]
    FilterStep(name='gauss', args=(2.0,))
    >>> normalize_filters([["gauss", 1e9]])
    Traceback (most recent call last):
    ...
    ValueError: filters: 'gauss' sigma must be a number from 0 to 100 (pixels); got 1000000000.0
    """
    if filters is None:
        return []
    if isinstance(filters, str) or not isinstance(filters, Sequence):
        raise ValueError(
            f"filters: expected a list like [['gauss', 2], ['variance', 4]], got {filters!r}"
        )
    if len(filters) > FILTER_STEPS_MAX:
        raise ValueError(
            f"filters: {len(filters)} steps; a configuration may chain at most "
            f"{FILTER_STEPS_MAX} filters"
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
        steps.append(FilterStep(name, _check_args(name, raw_args)))
    return steps


def _check_args(name: str, raw_args: tuple[Any, ...]) -> tuple[float, ...]:
    """Check a filter's positional arguments against `FILTER_LIMITS`; errors name all three."""
    spec = FILTER_LIMITS[name]
    if len(raw_args) > len(spec):
        wanted = ", ".join(param for param, _, _ in spec) or "no arguments"
        raise ValueError(
            f"filters: {name!r} takes at most {len(spec)} argument(s) ({wanted}), "
            f"got {list(raw_args)!r}"
        )
    args: list[float] = []
    for arg, (param, low, high) in zip(raw_args, spec, strict=False):
        if isinstance(arg, bool) or not isinstance(arg, int | float | np.integer | np.floating):
            raise ValueError(f"filters: arguments of {name!r} must be numbers, got {arg!r}")
        value = float(arg)
        checked = float(round(value)) if param in _SIZES and math.isfinite(value) else value
        if not math.isfinite(value) or not low <= checked <= high:
            where = "a finite number" if math.isinf(low) else f"a number from {low:g} to {high:g}"
            raise ValueError(
                f"filters: {name!r} {param} must be {where}"
                f"{' (pixels)' if not math.isinf(low) else ''}; got {arg!r}"
            )
        args.append(value)
    if name == "dog":
        low_sigma = args[0] if args else 1.0
        high_sigma = args[1] if len(args) > 1 else 2.0
        if low_sigma > high_sigma:
            raise ValueError(
                f"filters: 'dog' sigma_low ({low_sigma:g}) must not exceed sigma_high "
                f"({high_sigma:g}; 2 when not given), e.g. ['dog', 1, 2]"
            )
    return tuple(args)


def apply_filters(image: npt.ArrayLike, steps: Sequence[FilterStep]) -> FloatImage:
    """Run the filter steps in order on a float64 copy of a 2-D ``image``.

    Steps come from `normalize_filters`, which bounds every parameter.  Values too large for
    float64 (e.g. the square of 1e200 in ``variance``) become ``inf`` without a warning.
    """
    out = np.asarray(image, dtype=np.float64)
    if out.ndim != 2 or out.size == 0:
        raise ValueError(f"filters: expected a non-empty 2-D image, got shape {out.shape}")
    for step in steps:
        if step.name not in FILTER_LIMITS:
            raise ValueError(
                f"filters: unknown filter {step.name!r}; choose from {', '.join(sorted(FILTERS))}"
            )
        args = _check_args(step.name, step.args)
        with np.errstate(over="ignore", invalid="ignore"):
            out = np.asarray(FILTERS[step.name](out, *args), dtype=np.float64)
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
