"""The session layer: a lazy image stack, per-population label stacks, edits with undo, ROIs, export.

Everything the Annotator widget does goes through a :class:`Session` method, so scripts, tests and
teaching notebooks can do the same without a browser. The package is split by concern:

============== ===============================================================
``_types``     value types: :class:`ROI`, :class:`Change`, :class:`RoiExport`, :class:`Sample`
``_plumbing``  :class:`SessionLock`, the writer lock on the data folder, name checks
``_store``     per-population label frames (hot arrays, cold compressed)
``_base``      state shared by every part: stack, channels, populations, ownership
``_scribbles`` cell/background marks for the pixel classifier
``_autosave``  the autosave journal
``_edits``     paint/erase/fill/patches, clipping to ROIs, undo/redo, events
``_rois``      ROIs and moving them
``_assist``    assisted tools (segment at a click, wand, split, merge, ...)
``_export``    samples, full-frame label saves
``_formats``   other tools' label formats, GeoJSON ROIs
``_core``      :class:`Session` assembled from the mixins above
``_open``      :func:`open`
``_viewers``   the viewer :meth:`Session.annotator` opens (registered from above)
============== ===============================================================
"""

from __future__ import annotations

from segpaint.session._autosave import JOURNAL_MIN_BYTES
from segpaint.session._core import Session
from segpaint.session._open import open
from segpaint.session._plumbing import (
    SessionLock,
    check_population_name,
    lock_path,
    take_writer_lock,
)
from segpaint.session._store import HOT_BYTES, LabelStack
from segpaint.session._types import (
    ROI,
    SCRIBBLE_MARKS,
    Change,
    ChangeCallback,
    RoiCallback,
    RoiClip,
    RoiExport,
    Sample,
    ScribbleCallback,
)
from segpaint.session._viewers import ViewerFactory, register_viewer

__all__ = [
    "HOT_BYTES",
    "JOURNAL_MIN_BYTES",
    "ROI",
    "SCRIBBLE_MARKS",
    "Change",
    "ChangeCallback",
    "LabelStack",
    "RoiCallback",
    "RoiClip",
    "RoiExport",
    "Sample",
    "ScribbleCallback",
    "Session",
    "SessionLock",
    "ViewerFactory",
    "check_population_name",
    "lock_path",
    "open",
    "register_viewer",
    "take_writer_lock",
]

# Public classes say where users import them from (repr, pickling, docs).
for _cls in (ROI, Change, RoiExport, Sample, Session, SessionLock, LabelStack):
    _cls.__module__ = __name__
del _cls
