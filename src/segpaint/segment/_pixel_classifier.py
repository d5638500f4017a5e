"""The embedded pixel classifier: multiscale features + a random forest, then a watershed.

No weights to download and no deep-learning framework: scikit-image computes per-pixel
features (smoothed intensity, edges, texture at several scales) on each normalised channel, a
scikit-learn random forest classifies every pixel as background, cell interior or cell
boundary, and instances come from a watershed of the boundary probability seeded by the
connected interiors, inside the foreground.  It trains in seconds on a handful of samples (or on
scribbles) and is saved with joblib inside a Celldetective-style model folder.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import ndimage as ndi

__all__ = [
    "CLASSIFIER_FILE",
    "MODEL_TYPE",
    "PIXEL_PARAMS",
    "PixelClassifier",
    "labels_from_probabilities",
    "load_classifier",
    "pixel_features",
    "pixel_targets",
]

MODEL_TYPE = "pixel-classifier"
"""``model_type`` in the model folder's ``config_input.json``."""
CLASSIFIER_FILE = "pixel_classifier.joblib"
BACKGROUND, INTERIOR, BOUNDARY = 0, 1, 2
PIXEL_PARAMS = frozenset({"min_size", "normalization_percentile", "normalization_values"})
"""Prediction parameters `segpaint.segment.segment` accepts for this backend."""


def _import_sklearn() -> Any:
    try:
        import sklearn.ensemble
    except ImportError as error:  # a base dependency, but say how to get it back
        raise ImportError(
            f"the pixel classifier needs scikit-learn ({error}); install it with: "
            "pip install scikit-learn"
        ) from error
    return sklearn.ensemble


def pixel_features(
    image: npt.NDArray[Any], *, sigma_min: float = 1.0, sigma_max: float = 8.0
) -> npt.NDArray[np.float32]:
    """Per-pixel features of a normalised ``(C, Y, X)`` image, shape ``(Y, X, F)``.

    For every channel: Gaussian-smoothed intensity, gradient magnitude and Hessian eigenvalues
    at scales from ``sigma_min`` to ``sigma_max`` (`skimage.feature.multiscale_basic_features`).

    Examples
    --------
    >>> pixel_features(np.zeros((2, 16, 16), np.float32)).shape[:2]
    (16, 16)
    """
    from skimage.feature import multiscale_basic_features

    if image.ndim != 3:
        raise ValueError(f"image: expected (C, Y, X), got shape {image.shape}")
    feats = multiscale_basic_features(  # type: ignore[no-untyped-call]
        np.moveaxis(np.asarray(image, dtype=np.float32), 0, -1),
        sigma_min=sigma_min,
        sigma_max=sigma_max,
        channel_axis=-1,
    )
    return np.asarray(feats, dtype=np.float32)


def pixel_targets(labels: npt.NDArray[np.integer[Any]]) -> npt.NDArray[np.uint8]:
    """Classes to learn from an instance mask: 0 background, 1 interior, 2 boundary.

    The boundary is each object's inner rim (1 px), so touching cells stay apart.

    Examples
    --------
    >>> m = np.zeros((5, 5), np.uint8)
    >>> m[1:4, 1:4] = 1
    >>> pixel_targets(m)[1:4, 1:4].tolist()
    [[2, 2, 2], [2, 1, 2], [2, 2, 2]]
    """
    from skimage.segmentation import find_boundaries

    out = np.zeros(labels.shape, np.uint8)
    out[labels > 0] = INTERIOR
    rim = find_boundaries(labels, mode="inner")  # type: ignore[no-untyped-call]
    out[rim & (labels > 0)] = BOUNDARY
    return out


def labels_from_probabilities(
    proba: npt.NDArray[np.floating[Any]], *, min_size: int = 9, min_distance: int = 4
) -> npt.NDArray[np.uint32]:
    """Instances from ``(Y, X, 3)`` class probabilities (background, interior, boundary).

    Foreground is where background is not the most likely class; seeds are the connected
    interiors; a watershed of the boundary probability grows them over the foreground.  A
    model without a boundary class (trained from scribbles) is split by a distance-transform
    watershed instead, with seeds at least ``min_distance`` pixels apart.  Objects under
    ``min_size`` pixels are dropped and labels are numbered 1..N.
    """
    from skimage.segmentation import relabel_sequential, watershed

    background, interior, boundary = proba[..., 0], proba[..., 1], proba[..., 2]
    foreground = background < np.maximum(interior, boundary)
    foreground = ndi.binary_fill_holes(foreground)
    if boundary.any():
        seeds, _ = ndi.label((interior > boundary) & (interior > background))
        landscape = boundary
    else:
        # trained without a boundary class (scribbles): split touching cells by distance
        from skimage.feature import peak_local_max

        landscape = -ndi.distance_transform_edt(foreground)
        parts, _ = ndi.label(foreground)
        peaks = peak_local_max(  # type: ignore[no-untyped-call]
            -landscape, min_distance=min_distance, labels=parts
        )
        seeds = np.zeros(parts.shape, np.int32)
        seeds[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
    if seeds.max() == 0:
        return np.zeros(proba.shape[:2], np.uint32)
    grown = watershed(landscape, markers=seeds, mask=foreground)  # type: ignore[no-untyped-call]
    if min_size > 1:
        sizes = np.bincount(grown.ravel())
        grown[sizes[grown] < min_size] = 0
    out, _, _ = relabel_sequential(grown)  # type: ignore[no-untyped-call]
    return np.asarray(out, dtype=np.uint32)


@dataclass
class PixelClassifier:
    """A trained pixel classifier and how to feed it.

    Attributes
    ----------
    forest : sklearn.ensemble.RandomForestClassifier
    sigma_min, sigma_max : float
        Feature scales (pixels of the training calibration).
    min_size : int
        Smallest object kept at prediction (pixels).
    n_channels : int
        Channels the forest was trained on.
    """

    forest: Any
    sigma_min: float = 1.0
    sigma_max: float = 8.0
    min_size: int = 9
    n_channels: int = 1
    info: dict[str, Any] = field(default_factory=dict)

    def predict_proba(self, image: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
        """Class probabilities ``(Y, X, 3)`` of a normalised ``(C, Y, X)`` image."""
        if image.shape[0] != self.n_channels:
            raise ValueError(
                f"channels: this pixel classifier takes {self.n_channels} channel(s), got "
                f"{image.shape[0]}; pass channels= to choose them"
            )
        feats = pixel_features(image, sigma_min=self.sigma_min, sigma_max=self.sigma_max)
        flat = feats.reshape(-1, feats.shape[-1])
        proba = np.zeros((flat.shape[0], 3), np.float32)
        # classes the forest saw (scribbles may have no boundary class)
        proba[:, np.asarray(self.forest.classes_, dtype=np.intp)] = self.forest.predict_proba(flat)
        return proba.reshape(*feats.shape[:2], 3)

    def predict_labels(
        self, image: npt.NDArray[Any], *, min_size: int | None = None
    ) -> npt.NDArray[np.uint32]:
        """Instance labels of a normalised ``(C, Y, X)`` image."""
        size = self.min_size if min_size is None else int(min_size)
        return labels_from_probabilities(self.predict_proba(image), min_size=size)


_CACHE: dict[tuple[str, float], PixelClassifier] = {}
_CACHE_LOCK = threading.Lock()


def load_classifier(folder: str | Path) -> PixelClassifier:
    """Load (once per process and file version) the classifier saved in a model folder."""
    import joblib

    path = Path(folder) / CLASSIFIER_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"method: {folder} is a pixel-classifier model folder (config_input.json says so) "
            f"but {CLASSIFIER_FILE} is missing; train it again with segpaint.train(...)"
        )
    key = (str(path), path.stat().st_mtime)
    with _CACHE_LOCK:
        if key not in _CACHE:
            model = joblib.load(path)
            if not isinstance(model, PixelClassifier):
                raise ValueError(f"method: {path} does not hold a segpaint PixelClassifier")
            _CACHE[key] = model
        return _CACHE[key]


def predict(
    folder: str, data: npt.NDArray[np.float32], options: Mapping[str, Any]
) -> npt.NDArray[np.uint32]:
    """Labels of a normalised, rescaled ``(C, Y, X)`` image with the model in ``folder``."""
    model = load_classifier(folder)
    size = options.get("min_size")
    return model.predict_labels(data, min_size=None if size is None else int(size))
