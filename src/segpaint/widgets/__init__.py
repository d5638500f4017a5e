"""Notebook widgets bound to a :class:`segpaint.Session` (anywidget; JS source in ``js/``)."""

from segpaint.widgets._annotator import (
    BRUSH_SIZE_MAX,
    BRUSH_SIZE_MIN,
    EXPORT_FORMATS,
    GAMMA_MAX,
    GAMMA_MIN,
    LABEL_MAX,
    TOOLS,
    Annotator,
)
from segpaint.widgets._gallery import SampleGallery

__all__ = [
    "BRUSH_SIZE_MAX",
    "BRUSH_SIZE_MIN",
    "EXPORT_FORMATS",
    "GAMMA_MAX",
    "GAMMA_MIN",
    "LABEL_MAX",
    "TOOLS",
    "Annotator",
    "SampleGallery",
]
