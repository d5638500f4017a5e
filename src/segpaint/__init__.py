"""segpaint: correct cell segmentation masks in Jupyter and export training samples.

>>> import numpy as np, segpaint
>>> session = segpaint.open(np.zeros((2, 32, 32), np.uint8), axes="TYX")
>>> session.paint("cells", 0, [(5, 5), (5, 20)], radius=2, label=1) is not None
True
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from segpaint._lock import SessionLockedError
from segpaint._samples import exclude_sample, open_sample, samples, save_sample_version
from segpaint._version import __version__
from segpaint.session import ROI, Change, LabelStack, Sample, Session, open

if TYPE_CHECKING:
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
    "evaluate",
    "exclude_sample",
    "open",
    "open_experiment",
    "open_sample",
    "samples",
    "save_sample_version",
    "train",
    "train_from_scribbles",
]


def __getattr__(name: str) -> Any:
    # The widget pulls in anywidget/ipywidgets; import it only when asked for.
    if name == "Annotator":
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
