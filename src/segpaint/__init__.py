"""segpaint: correct cell segmentation masks in Jupyter and export training samples.

``import segpaint`` loads the Session and its readers only; the submodules ``segpaint.data``,
``segpaint.segment``, ``segpaint.metrics`` and ``segpaint.widgets`` (and ``segpaint.Annotator``)
are imported the first time they are used, so that importing the package stays fast.

>>> import numpy as np, segpaint
>>> session = segpaint.open(np.zeros((2, 32, 32), np.uint8), axes="TYX")
>>> session.paint("cells", 0, [(5, 5), (5, 20)], radius=2, label=1) is not None
True
>>> segpaint.metrics.binary_iou(session.labels("cells", 0), session.labels("cells", 0))
1.0
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from segpaint._lock import SessionLockedError
from segpaint._samples import exclude_sample, open_sample, samples, save_sample_version
from segpaint._version import __version__
from segpaint.session import ROI, Change, LabelStack, Sample, Session, open
from segpaint.session import register_viewer as _register_viewer

if TYPE_CHECKING:
    from segpaint import data, metrics, segment, widgets
    from segpaint.experiment import Experiment, open_experiment
    from segpaint.segment._train import evaluate, train, train_from_scribbles
    from segpaint.widgets import Annotator, SampleGallery

__all__ = [
    "ROI",
    "Annotator",
    "Change",
    "Experiment",
    "LabelStack",
    "Sample",
    "SampleGallery",
    "Session",
    "SessionLockedError",
    "__version__",
    "data",
    "evaluate",
    "exclude_sample",
    "metrics",
    "open",
    "open_experiment",
    "open_sample",
    "samples",
    "save_sample_version",
    "segment",
    "train",
    "train_from_scribbles",
    "widgets",
]

# Submodules imported on first attribute access (PEP 562): ``segpaint.data.synthetic_timelapse()``
# works after a bare ``import segpaint`` without paying for scipy.optimize or anywidget up front.
_LAZY_SUBMODULES = frozenset({"data", "metrics", "segment", "widgets"})


def __getattr__(name: str) -> Any:
    if name in _LAZY_SUBMODULES:
        # import_module also sets the attribute on this package, so this runs once per name.
        return importlib.import_module(f"segpaint.{name}")
    if name == "Annotator":
        # The widget pulls in anywidget/ipywidgets; import it only when asked for.
        from segpaint.widgets import Annotator

        return Annotator
    if name in ("Experiment", "open_experiment"):
        from segpaint import experiment

        return getattr(experiment, name)
    if name in ("train", "evaluate", "train_from_scribbles"):
        # training pulls in the segment layer (scikit-image features, scikit-learn on use)
        from segpaint.segment import _train

        return getattr(_train, name)
    if name == "SampleGallery":
        from segpaint.widgets import SampleGallery

        return SampleGallery
    raise AttributeError(f"module 'segpaint' has no attribute {name!r}")


def _annotator(
    session: Session | Experiment, population: str | None = None, **kwargs: Any
) -> Annotator:
    # This package sits above the session and widget layers: it tells the session layer which
    # viewer Session.annotator() opens, and imports the widget only when one is asked for.
    from segpaint.widgets import Annotator

    return Annotator(session, population=population, **kwargs)


_register_viewer(_annotator)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
