"""The Annotator: an anywidget view of a :class:`segpaint.Session` (canvas, tools, sliders)."""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import anywidget
import numpy as np
import numpy.typing as npt
import traitlets

from segpaint.ops import percentile_limits, split_seeds
from segpaint.ops.refine import kernels_ready
from segpaint.session import RoiExport
from segpaint.widgets._traits import (
    FloatIn,
    IntIn,
    OneOf,
    PercentileRange,
    PerChannel,
    boolean,
    contrast_limits,
    hex_color,
    number_in,
)
from segpaint.widgets._wire import (
    CHUNK_BYTES,
    PREFETCH_MAX,
    AssistRequest,
    Message,
    Stroke,
    StrokeAssembler,
    WireError,
    ack_message,
    assist_request,
    clipped_bbox,
    decimate,
    frame_messages,
    label_bands,
    labels_patch_messages,
    prefetch_drop_message,
    snap_preview_step,
    wire_bbox,
    wire_choice,
    wire_int,
    wire_points,
)

if TYPE_CHECKING:
    from segpaint.experiment import Experiment
    from segpaint.session import ROI, Change, Session

ASSIST_MORPH_RADIUS = {"grow": 1, "shrink": 1, "smooth": 2}
"""Pixels per press of the widget's morph keys: grow and shrink step by 1 px whatever the brush
size; smoothing by a disk of 1 px changes almost nothing, so it uses 2."""

__all__ = [
    "BRUSH_SIZE_MAX",
    "BRUSH_SIZE_MIN",
    "EXPORT_FORMATS",
    "GAMMA_MAX",
    "GAMMA_MIN",
    "LABEL_MAX",
    "TOOLS",
    "Annotator",
]

TOOLS = (
    "pan",
    "brush",
    "eraser",
    "fill",
    "picker",
    "roi",
    "scribble",  # issue 12: cell / background marks for training
    # assisted tools (issue 11): click-to-segment, magic wand, split, merge, polygon, delete in box
    "segment",
    "wand",
    "split",
    "merge",
    "polygon",
    "delete-box",
)
"""Tool names, as in the toolbar."""
BRUSH_SIZE_MIN = 1
"""Smallest brush diameter in pixels."""
BRUSH_SIZE_MAX = 1024
"""Largest brush diameter in pixels (radius 512, the Session's limit)."""
GAMMA_MIN = 0.1
"""Smallest display gamma."""
GAMMA_MAX = 4.0
"""Largest display gamma."""
LABEL_MAX = 2**32 - 1
"""Largest label value (labels are uint32)."""
SCRIBBLE_POINTS_MAX = 4096
"""Most polyline points in one scribble message (the browser splits longer strokes)."""
EXPORT_FORMATS = ("celldetective", "cellpose", "stardist")
"""Layouts `Session.export_roi` writes."""
DEFAULT_COLORS = ("#ff00ff", "#00ff00", "#00ffff", "#ff0000", "#ffff00", "#0000ff")
"""Channel colours in order (one channel alone is shown in grey)."""

_STATIC = Path(__file__).resolve().parent.parent / "static"
_BUNDLE = _STATIC / "widget.js"
_MISSING_BUNDLE = """
export default { render({ el }) {
  el.textContent = "segpaint: the front-end bundle (segpaint/static/widget.js) is missing. " +
    "Build it with `bash scripts/build_js.sh` (needs Node.js), or reinstall segpaint with pip.";
  el.style.color = "#b00020";
} };
"""
PULL_BYTES = 512 * 1024
"""Band size of a full-resolution transfer that follows a preview (the browser pulls it)."""
PULL_WINDOW = 1
"""Bands of such a transfer in flight at once: a frame change never waits behind more."""
PULL_BATCH_MAX = 16
"""Most bands one "more" request may ask for. The browser doubles its batch while a batch comes
within ~40 ms and halves it when one takes over twice that (``nextPullBatch`` in codec.js): on
loopback a 2048² x 2 pull then costs a handful of kernel round trips (each a busy/idle pair that
JupyterLab re-renders its toolbar for), not 33; over a slow link it stays at one band a time."""
_LIMITS: dict[str, Any] = {
    "chunk_bytes": CHUNK_BYTES,
    "brush_size": [BRUSH_SIZE_MIN, BRUSH_SIZE_MAX],
    "gamma": [GAMMA_MIN, GAMMA_MAX],
    "tools": list(TOOLS),
    "export_formats": list(EXPORT_FORMATS),
    "label_max": LABEL_MAX,
    "pull_batch_max": PULL_BATCH_MAX,
}
# What a handler may raise on a bad request; anything else is a bug and is not swallowed.
_FAILURES = (ValueError, TypeError, KeyError, IndexError, OSError, RuntimeError, ArithmeticError)


PRESEGMENT_PARAMS: dict[str, tuple[str, ...]] = {
    "threshold": (
        "channels", "target_channel", "thresholds", "filters", "marker_min_distance",
        "marker_footprint_size", "feature_queries", "equalize_reference", "do_watershed",
        "fill_holes", "edge_exclusion",
    ),
    "CP": ("channels", "diameter", "cellprob_threshold", "flow_threshold",
           "normalization_percentile"),
    "SD": ("channels", "prob_thresh", "nms_thresh", "normalization_percentile"),
    "model": ("channels", "diameter", "cellprob_threshold", "flow_threshold", "prob_thresh",
              "nms_thresh", "normalization_percentile"),
}  # fmt: skip
"""Parameters the pre-segmentation panel may send, per method family (CP_*, SD_*, others)."""


def _default_methods() -> list[str]:
    try:
        from segpaint.segment import method_names
    except ImportError:  # pragma: no cover - the segment layer is part of the package
        return ["threshold"]
    return method_names()


class Annotator(anywidget.AnyWidget):
    """Correct a :class:`segpaint.Session`'s masks in a notebook: brush, eraser, fill, ROIs, export.

    Painting happens in the browser at once; at the end of each stroke one binary patch goes to
    the session (one undo step). Edits made from Python (``session.paint``, undo,
    pre-segmentation) show up on the canvas as they happen.

    Parameters
    ----------
    session : segpaint.Session or segpaint.Experiment
        The data; the widget owns nothing. An :class:`segpaint.Experiment` shows one position at a
        time, with a position selector (the ``position`` trait).
    population : str, optional
        Population to edit; default: the session's first (``"cells"`` is added when it has none).
    export_folder, labels_folder : path, optional
        Where "Export ROI" and "Save labels" write; needed for sessions opened from arrays.
    **traits
        Initial values of any trait below (``frame=3``, ``tool="fill"``, ``contrast=[...]``).

    Examples
    --------
    >>> import numpy as np, segpaint
    >>> session = segpaint.open(np.zeros((3, 64, 64), np.uint16), axes="TYX")
    >>> annotator = segpaint.Annotator(session, frame=2, tool="fill")
    >>> annotator.frame, annotator.tool, annotator.population
    (2, 'fill', 'cells')
    """

    _esm = _BUNDLE if _BUNDLE.is_file() else _MISSING_BUNDLE

    frame = IntIn(
        0,
        low=0,
        high=lambda w: w.n_frames - 1,
        note=lambda w: f"the session has {w.n_frames} frame(s)",
        help="Frame shown and edited (0-based).",
    ).tag(sync=True)
    n_frames = traitlets.Int(1, read_only=True, help="Frames in the session.").tag(sync=True)
    image_shape = traitlets.List(
        traitlets.Int(), read_only=True, help="(rows, cols) of a frame."
    ).tag(sync=True)
    population = OneOf(
        "",
        choices=lambda w: w.session.populations,
        hint=lambda w, v: f"Add it first with session.add_population({v!r})",
        listed=True,
        help="Population whose labels are shown and edited.",
    ).tag(sync=True)
    populations = traitlets.List(
        traitlets.Unicode(), read_only=True, help="The session's populations (for the selector)."
    ).tag(sync=True)
    tool = OneOf(
        "pan",
        choices=TOOLS,
        help="Active tool: pan (the default, as in napari: a first drag never paints), brush, "
        "eraser, fill, picker, roi, scribble, segment, wand, split, merge, polygon or delete-box.",
    ).tag(sync=True)
    selected_label = IntIn(
        1,
        low=0,
        high=LABEL_MAX,
        note="0 erases",
        help="Label the brush and fill write (0 erases; fill with 0 deletes a cell). Default: the "
        "population's next unused label, so the brush never starts on an existing cell.",
    ).tag(sync=True)
    next_label = traitlets.Int(
        1, read_only=True, help="Next unused label of the population (what `m` selects)."
    ).tag(sync=True)
    brush_size = IntIn(
        10,
        low=BRUSH_SIZE_MIN,
        high=BRUSH_SIZE_MAX,
        what="an integer diameter",
        unit=" pixels",
        help="Brush diameter in pixels.",
    ).tag(sync=True)
    channel_names = traitlets.List(
        traitlets.Unicode(), read_only=True, help="Channel names, in order."
    ).tag(sync=True)
    contrast = PerChannel(
        contrast_limits, help="Contrast limits [lo, hi] per channel, in image units (lo < hi)."
    ).tag(sync=True)
    gamma = PerChannel(
        number_in(GAMMA_MIN, GAMMA_MAX),
        help=f"Display gamma per channel, between {GAMMA_MIN} and {GAMMA_MAX}.",
    ).tag(sync=True)
    channel_visible = PerChannel(boolean, help="Whether each channel is shown.").tag(sync=True)
    channel_colors = PerChannel(hex_color, help='Display colour per channel as "#rrggbb".').tag(
        sync=True
    )
    opacity = FloatIn(0.5, low=0, high=1, help="Opacity of the label overlay, 0 to 1.").tag(
        sync=True
    )
    contour = traitlets.Bool(False, help="Show labels as outlines only.").tag(sync=True)
    show_selected_only = traitlets.Bool(False, help="Show only the selected label.").tag(sync=True)
    lock_to_roi = traitlets.Bool(
        False, help="Edits change only pixels inside the frame's ROIs."
    ).tag(sync=True)
    preserve_labels = traitlets.Bool(
        True,
        help="Click-to-segment, the wand and the polygon never paint over other cells.",
    ).tag(sync=True)
    rois: traitlets.List[Any] = traitlets.List(
        read_only=True, help="ROIs of the current frame as [row0, row1, col0, col1]."
    ).tag(sync=True)
    click_refine = OneOf(
        "watershed",
        choices=("level", "watershed"),
        help=(
            "How the click tool (c) finds and refines a cell (`segment_at`'s refine=, the same "
            "default): 'watershed' cuts touching nuclei apart and lets each refinement click fix "
            "the part it lands in; 'level' moves the whole edge to a click near it."
        ),
    ).tag(sync=True)
    click_method = traitlets.Unicode(
        "auto",
        help=(
            "What the click tool (c) runs (`segment_at`'s method=): 'auto' (classical, "
            "refined as `click_refine` says) or a `segpaint.segment.segment` method: a model "
            "folder from `segpaint.train` (the population's own model), 'threshold', "
            "'SD_versatile_fluo' ...; its object under the click is the cell, refinement "
            "clicks correct it.  No control shows it: set it from Python."
        ),
    ).tag(sync=True)
    export_format = OneOf(
        "celldetective",
        choices=EXPORT_FORMATS,
        help="Layout of 'Export ROI': celldetective, cellpose or stardist.",
    ).tag(sync=True)
    presegment_methods = traitlets.List(
        traitlets.Unicode(), help="Methods offered by the 'Pre-segment' button."
    ).tag(sync=True)
    status = traitlets.Unicode("", help="Last message shown in the status line.").tag(sync=True)
    export_to = traitlets.Unicode(
        "",
        read_only=True,
        help="Folder 'Export ROI' writes to ('' when there is none: a session from an array).",
    ).tag(sync=True)
    labels_to = traitlets.Unicode(
        "", read_only=True, help="Folder 'Save labels' writes to ('' when there is none)."
    ).tag(sync=True)
    rois_exported: traitlets.List[Any] = traitlets.List(
        read_only=True,
        help="Per ROI of the frame (as in rois): how many versions Export ROI wrote, 0 for none.",
    ).tag(sync=True)
    export_conflict: traitlets.Dict[str, Any] = traitlets.Dict(
        read_only=True,
        help="The last export's ROIs already on disk, waiting for Overwrite or New version.",
    ).tag(sync=True)
    presegment_info: traitlets.Dict[str, Any] = traitlets.Dict(
        read_only=True,
        help="For the pre-segmentation panel: each method (available, or the extra it needs) "
        "and the population's recorded method and parameters (its defaults).",
    ).tag(sync=True)
    presegment_confirm: traitlets.Dict[str, Any] = traitlets.Dict(
        read_only=True,
        help="A pre-segmentation waiting for confirmation: the frames whose unsaved corrections "
        "it would replace, and the request to send again with confirmed=True.",
    ).tag(sync=True)
    pending_edits = traitlets.Int(
        0,
        read_only=True,
        help="Edits an earlier session journaled but never saved (the widget offers to recover "
        "them: Session.recover).",
    ).tag(sync=True)
    _widget_id = traitlets.Unicode(
        read_only=True,
        help="A unique id: the front-end keys its per-model state on it (anywidget hands "
        "`initialize` and each `render` different proxies of one model).",
    ).tag(sync=True)
    limits = traitlets.Dict(
        read_only=True,
        help="Constants the front-end uses, sent once from here: chunk_bytes, brush_size "
        "[min, max], gamma [min, max], tools, export_formats, label_max.",
    ).tag(sync=True)
    _preview_step = traitlets.Float(
        1.0,
        help="Decimation the view can show without loss at its zoom, display pixels per image "
        "pixel's reciprocal (set by the browser; snapped to 1/8 steps from 1.25, else 1).",
    ).tag(sync=True)
    prefetch = IntIn(
        1,
        low=0,
        high=PREFETCH_MAX,
        what="a number of frames",
        note="frames read ahead on each side of the current one; 0 turns read-ahead off",
        help="Frames read ahead on each side of the current one (default 1): the browser holds "
        "their picture, so a change to one of them draws at once; 0 turns read-ahead off.",
    ).tag(sync=True)
    busy = traitlets.Bool(False, read_only=True, help="True while a pre-segmentation runs.").tag(
        sync=True
    )
    progress = traitlets.Float(0.0, read_only=True, help="Pre-segmentation progress, 0 to 1.").tag(
        sync=True
    )
    position = OneOf(
        "",
        choices=lambda w: w.positions or [""],
        hint=lambda w, v: (
            "Only an Annotator of an Experiment has positions: "
            "segpaint.Annotator(segpaint.open_experiment(root))"
            if not w.positions
            else "Positions are named well/position"
        ),
        listed=True,
        help='Position shown and edited ("W1/100"), when the widget shows an Experiment.',
    ).tag(sync=True)
    positions = traitlets.List(
        traitlets.Unicode(),
        read_only=True,
        help="The Experiment's positions (for the selector); empty for a single Session.",
    ).tag(sync=True)

    # ---- issue 10, "Everything at hand" (branch uib): canvas size, time axis, auto contrast ----
    height = IntIn(
        0,
        low=0,
        high=20000,
        what="a canvas height",
        unit=" CSS pixels",
        note="0 fits the notebook area; the drag handle under the canvas sets it too",
        help="Canvas height in CSS pixels (under 160 shows 160); 0 (default) fits the notebook area.",
    ).tag(sync=True)
    frame_interval_min = traitlets.Float(
        0.0,
        read_only=True,
        help="Minutes between frames (the session's frame_interval_min); 0 when unknown.",
    ).tag(sync=True)
    fill_contiguous = traitlets.Bool(
        True,
        help="Fill bucket: True fills the connected region; False every pixel of that label.",
    ).tag(sync=True)
    auto_percentiles = PercentileRange(
        (1.0, 99.8),
        help="Percentiles (low, high) the 'auto' contrast button uses, e.g. (1, 99.8).",
    ).tag(sync=True)

    def _sync_time_axis(self, session: Session) -> None:
        """Publish the session's frame interval (shown as minutes next to the frame number)."""
        interval = getattr(session, "frame_interval_min", None)
        number = isinstance(interval, int | float) and not isinstance(interval, bool)
        value = float(interval) if number and interval is not None else 0.0
        self.set_trait("frame_interval_min", value if np.isfinite(value) and value > 0 else 0.0)

    # ---- end of issue 10 block ----

    def __init__(
        self,
        session: Session | Experiment,
        population: str | None = None,
        *,
        export_folder: str | Path | None = None,
        labels_folder: str | Path | None = None,
        **traits: Any,
    ) -> None:
        session = self._open_position(session, traits)
        self.session = session
        self.export_folder = None if export_folder is None else Path(export_folder)
        self.labels_folder = None if labels_folder is None else Path(labels_folder)
        self.last_export: list[Path] = []
        self.last_saved: list[Path] = []
        self._xfers = itertools.count(1)
        self._strokes = StrokeAssembler()
        # Passed as `origin` with this widget's strokes: their change events are not echoed.
        self._stroke_origin = _StrokeOrigin(self)
        self._stroke_next_label: int | None = None  # from this widget's stroke, sent after its ack
        self._sent_channels: set[int] = set()
        self._sent_preview_step: float = 1
        # The full-resolution transfer the browser is pulling, band by band (see _on_more).
        self._pull: _Pull | None = None
        # Read-ahead (see _on_prefetch): per (position, population, frame) sent ahead, what the
        # browser holds (xfer, preview step, channels, quantization); an edit of one of those
        # frames drops it there. And the picture the browser said it installed for the next
        # frame change (prefetch-hit): that change sends no preview.
        self._prefetched: dict[tuple[str, str, int], _Ahead] = {}
        self._page_holds: tuple[int, int] | None = None
        self._hits_seen = 0  # prefetch-hit messages received (each frame transfer says how many)
        # The label bands of the last read-only array that owns its data (the session hands out
        # one shared array of zeros for every frame nobody labelled): a frame change onto such a
        # frame reuses them instead of run-length encoding 16 M zeros again (4096²: ~6 ms).
        self._label_bands: tuple[npt.NDArray[Any], list[Message]] | None = None
        self._worker: threading.Thread | None = None
        if population is None:
            if not session.populations:
                session.add_population("cells")
            population = session.populations[0]
        n_channels = session.n_channels
        names = list(session.channel_names)
        first = session.image(int(traits.get("frame", 0)) if _is_int(traits.get("frame")) else 0)
        defaults: dict[str, Any] = {
            "contrast": [list(percentile_limits(first[c])) for c in range(n_channels)],
            "gamma": [1.0] * n_channels,
            "channel_visible": [True] * n_channels,
            "channel_colors": (
                ["#ffffff"]
                if n_channels == 1
                else [DEFAULT_COLORS[c % 6] for c in range(n_channels)]
            ),
            "presegment_methods": _default_methods(),
        }
        # Read-only traits first (validators of the others look at them).
        self.set_trait("limits", _LIMITS)
        self.set_trait("_widget_id", uuid.uuid4().hex)
        self.set_trait("n_frames", session.n_frames)
        self._sync_time_axis(session)
        self.set_trait("image_shape", list(session.frame_shape))
        self.set_trait("channel_names", names)
        self.set_trait("populations", list(session.populations))
        super().__init__(**{**defaults, "population": population, **traits})
        self._refresh_next_label()
        if "selected_label" not in traits and self.next_label:  # issue 10: a fresh label
            self.selected_label = self.next_label
        self._refresh_rois()
        self.set_trait("pending_edits", session.pending_edits)
        self._refresh_folders()
        self._refresh_presegment_info()
        self._unsubscribe: Callable[[], None] | None = session.on_edit(self._on_session_edit)
        # ROIs added or removed from code (another cell) show up without refresh().
        self._unsubscribe_rois: Callable[[], None] | None = session.on_roi_change(
            self._on_session_rois
        )
        self._scribble_origin_init()
        self.on_msg(self._on_custom_msg)

    def __new__(cls, *args: Any, **kwargs: Any) -> Annotator:
        # Checked here, before a widget (and its comm) exists, so a typo leaves nothing behind.
        known = {"session", "population", "export_folder", "labels_folder", *cls._user_traits()}
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise TypeError(
                f"Annotator got unexpected keyword argument(s) {unknown}; check the spelling. "
                f"Accepted: {', '.join(sorted(known))}"
            )
        instance: Annotator = super().__new__(cls, *args, **kwargs)
        return instance

    @classmethod
    def _user_traits(cls) -> list[str]:
        read_only = {
            "n_frames",
            "populations",
            "channel_names",
            "next_label",
            "rois",
            "busy",
            "pending_edits",
            "export_to",
            "labels_to",
            "rois_exported",
            "export_conflict",
            "presegment_info",
            "presegment_confirm",
        }
        read_only |= {"positions", "frame_interval_min"}
        read_only |= {"limits", "_widget_id"}
        read_only |= {"_preview_step", "image_shape"}
        return [
            name for name in cls.class_own_traits(sync=bool) if name not in read_only | {"progress"}
        ]

    # ------------------------------------------------------------------ public helpers
    def set_contrast(self, channel: int | str, lo: float, hi: float) -> None:
        """Set one channel's contrast limits (by index or name); the view updates at once.

        Examples
        --------
        >>> import numpy as np, segpaint
        >>> a = segpaint.Annotator(segpaint.open(np.zeros((1, 8, 8), np.uint8), axes="TYX"))
        >>> a.set_contrast(0, 10, 200)
        >>> a.contrast
        [[10.0, 200.0]]
        """
        c = self._channel(channel)
        limits = [list(x) for x in self.contrast]
        limits[c] = [lo, hi]
        self.contrast = limits

    def auto_contrast(
        self, channel: int | str | None = None, *, low: float = 1.0, high: float = 99.8
    ) -> None:
        """Contrast limits from percentiles of the current frame (one channel, or all)."""
        channels = range(len(self.channel_names)) if channel is None else [self._channel(channel)]
        image = self.session.image(self.frame)
        limits = [list(x) for x in self.contrast]
        for c in channels:
            limits[c] = list(percentile_limits(image[c], low=low, high=high))
        self.contrast = limits

    def refresh(self) -> None:
        """Re-read populations and ROIs from the session and resend the frame (after changes the
        session does not announce, such as ``add_population`` from code)."""
        self.set_trait("populations", list(self.session.populations))
        self._refresh_rois()
        self._refresh_next_label()
        self._send_frame()
        for t in self.session.scribbled_frames(self.population):  # issue 12
            self._send_scribbles(self.population, t, None)

    def close(self) -> None:
        """Stop listening to the session and close the widget."""
        # getattr: a widget whose __init__ failed is closed by its finaliser too.
        for name in ("_unsubscribe", "_unsubscribe_rois", "_unsubscribe_scribbles"):
            unsubscribe = getattr(self, name, None)
            if unsubscribe is not None:
                unsubscribe()
                setattr(self, name, None)
        super().close()

    # ------------------------------------------------------------------ positions (issue 13)
    # An Annotator of an Experiment shows one position's Session at a time. Switching re-binds
    # the widget to that Session's events (the old one's no longer reach the canvas) and keeps
    # the view settings; the Session left stays cached in the Experiment with its edits, undo
    # history and journal.
    experiment: Experiment | None = None
    """The Experiment whose positions the widget shows; None for a single Session."""
    _unsubscribe_scribbles: Callable[[], None] | None  # set by the scribbles block (issue 12)

    def _open_position(self, source: Session | Experiment, traits: dict[str, Any]) -> Session:
        """The Session to show first: ``source`` itself, or the Experiment's ``position`` (popped
        from ``traits``; default: its first position)."""
        from segpaint.experiment import Experiment

        if not isinstance(source, Experiment):
            return source
        names = source.names
        name = traits.pop("position", None)
        if name is None:  # the first position whose movie can be used
            usable = [f"{p.well}/{p.position}" for p in source.positions if p.problem is None]
            name = usable[0] if usable else names[0]
        if not isinstance(name, str) or name not in names:
            raise ValueError(f"position must be one of {names}; got {name!r}")
        self.experiment = source
        self.set_trait("positions", names)
        self.set_trait("position", name)  # the validator opens the Session (or says why not)
        return source.session(name)

    @traitlets.validate("click_method")
    def _check_click_method(self, proposal: dict[str, Any]) -> str:
        value = proposal["value"]
        if value == "auto":
            return str(value)
        names = _default_methods()
        if value in names or (value and Path(value).expanduser().exists()):
            return str(value)
        raise traitlets.TraitError(
            f"click_method: {value!r} is neither 'auto', a method name ({', '.join(names)}) "
            "nor an existing model path; check the spelling, or pass the folder "
            "segpaint.train returned"
        )

    @traitlets.validate("position")
    def _check_position(self, proposal: dict[str, Any]) -> str:
        value = str(proposal["value"])
        # _trait_values: the value held, unvalidated ("" before __init__ sets the first one)
        if self.experiment is None or value == self._trait_values.get("position", ""):
            return value
        worker = getattr(self, "_worker", None)
        if worker is not None and worker.is_alive():
            raise traitlets.TraitError(
                f"position cannot change to {value!r} while a pre-segmentation of "
                f"{self.position!r} runs; wait for it (annotator.wait()) and set it again"
            )
        try:
            self.experiment.session(value)
        except (ValueError, KeyError, OSError) as err:
            raise traitlets.TraitError(f"position {value!r} cannot be opened: {err}") from err
        return value

    @traitlets.observe("position")
    def _position_changed(self, change: dict[str, Any]) -> None:
        if change["old"] == "" or self.experiment is None:
            return  # set by __init__
        self._show_session(self.experiment.session(change["new"]), change["new"])

    def _show_session(self, session: Session, name: str) -> None:
        """Show ``session``: listen to its events only, keep tool, zoom, contrast, brush size and
        population (when it has one of that name), clamp the frame, send the frame."""
        if session is self.session:
            return
        for attr in ("_unsubscribe", "_unsubscribe_rois", "_unsubscribe_scribbles"):
            unsubscribe = getattr(self, attr, None)
            if unsubscribe is not None:
                unsubscribe()
                setattr(self, attr, None)
        self._strokes = StrokeAssembler()  # parts of a stroke on the position left are dropped
        self._pull = None
        self._forget_prefetched()  # the browser forgets the position's pictures too
        self.session = session
        self._unsubscribe = session.on_edit(self._on_session_edit)
        self._unsubscribe_rois = session.on_roi_change(self._on_session_rois)
        self._unsubscribe_scribbles = session.on_scribble(self._on_session_scribble)
        self._refresh_folders()  # issue 10
        self._refresh_presegment_info()
        notes: list[str] = []
        self.set_trait("n_frames", session.n_frames)
        self._sync_time_axis(session)
        self.set_trait("image_shape", list(session.frame_shape))
        names = list(session.channel_names)
        if names != list(self.channel_names):
            n = len(names)
            first = session.image(min(self.frame, session.n_frames - 1))
            self.set_trait("channel_names", names)
            self.contrast = [list(percentile_limits(first[c])) for c in range(n)]
            self.gamma = [1.0] * n
            self.channel_visible = [True] * n
            self.channel_colors = (
                ["#ffffff"] if n == 1 else [DEFAULT_COLORS[c % 6] for c in range(n)]
            )
            notes.append("other channels: contrast reset")
        if self.population not in session.populations:
            if not session.populations:
                session.add_population(self.population)
            else:
                notes.append(f"no population {self.population!r} there")
        self.set_trait("populations", list(session.populations))
        self.population = (
            self.population if self.population in session.populations else session.populations[0]
        )
        frame = min(self.frame, session.n_frames - 1)
        if frame != self.frame:
            notes.append(f"frame {self.frame} clamped to {frame}")
            self.frame = frame  # its observer refreshes the ROIs and sends the frame
        else:
            self._refresh_rois()
            self._send_frame()
        self._refresh_next_label()
        for t in session.scribbled_frames(self.population):  # issue 12: this position's marks
            self._send_scribbles(self.population, t, None)
        extra = f" ({'; '.join(notes)})" if notes else ""
        self.status = f"position {name}: {session.n_frames} frame(s){extra}"

    def _other_position(self, content: Any) -> Any:
        """The position a browser message was sent from when it is not the one shown now (an
        Experiment's widget that switched before the message arrived); None otherwise."""
        where = content.get("position") if isinstance(content, dict) else None
        if self.experiment is None or where is None or where == self.position:
            return None
        return where

    def _stroke_elsewhere(self, content: dict[str, Any]) -> bool:
        """Refuse a stroke painted on another position than the one shown (sent before the
        browser received the switch); True when refused."""
        where = self._other_position(content)
        if where is None:
            return False
        self._refuse(
            content,
            f"edit not applied: it was painted on position {where!r}, but the widget shows "
            f"{self.position!r} now; paint it again",
        )
        return True

    # ------------------------------------------------------------------ end of positions

    def _channel(self, channel: int | str) -> int:
        names = list(self.channel_names)
        if isinstance(channel, str):
            if channel not in names:
                raise ValueError(f"channel must be one of {names} or an index; got {channel!r}")
            return names.index(channel)
        if not _is_int(channel) or not 0 <= int(channel) < len(names):
            raise ValueError(
                f"channel must be an index from 0 to {len(names) - 1} or a name in {names}; "
                f"got {channel!r}"
            )
        return int(channel)

    # ------------------------------------------------------------------ Python -> browser
    def _send_messages(self, messages: list[Message]) -> None:
        for content, buffers in messages:
            if self.experiment is not None and content.get("type") == "frame":
                # The browser tags its strokes with the position of the frame it shows.
                self.send({**content, "position": self.position}, buffers)
            else:
                self.send(content, buffers)

    def _send_frame(
        self,
        *,
        channels: Sequence[int] | None = None,
        labels: bool = True,
        preview_step: float | None = None,
    ) -> None:
        """Send the current frame: the given (default: visible) channels, decimated by
        ``preview_step`` (default: the one the view asked for), and the full-resolution labels."""
        visible = [c for c, v in enumerate(self.channel_visible) if v]
        wanted = visible if channels is None else list(channels)
        partial = channels is not None or not labels
        step: float
        if preview_step is not None:
            step = preview_step
        elif partial:
            step = self._sent_preview_step
        else:
            step = snap_preview_step(self._preview_step)
        if step == int(step):
            step = int(step)  # the header says 3, not 3.0
        if not wanted and not labels:
            return
        self._pull = None  # a new transfer replaces the browser's pending one: stop the old pull
        messages = self._transfer(self.frame, wanted, labels=labels, step=step, partial=partial)
        # How many prefetch-hits had arrived when this was sent: the page drops a transfer of
        # another frame sent before its latest hit (it would pull the page back; see model.js).
        messages[0][0]["hits"] = self._hits_seen
        if not partial or step != self._sent_preview_step:
            self._sent_channels = set()
        self._sent_channels |= set(wanted)
        self._sent_preview_step = step
        self._send_messages(messages)

    def _transfer(
        self, frame: int, wanted: list[int], *, labels: bool, step: float, partial: bool
    ) -> list[Message]:
        """The messages of one transfer of ``frame``: channels ``wanted`` decimated by ``step``
        (quantized under the contrast now on screen when ``step > 1``), and its labels."""
        # The whole (cached) frame, not session.image(channels=...): that copies every channel
        # at full resolution before the preview keeps one pixel in step².
        image = self.session.image(frame) if wanted else None
        chans = []
        if image is not None:
            chans = [(c, decimate(image[c], step)) for c in wanted]
        lab = np.asarray(self.session.labels(self.population, frame)) if labels else None
        label_messages = self._cached_label_bands(lab)
        return frame_messages(
            xfer=next(self._xfers),
            frame=frame,
            population=self.population,
            shape=self.session.frame_shape,
            channels=chans,
            labels=lab,
            preview_step=step,
            partial=partial,
            max_bytes=CHUNK_BYTES,
            # A preview is what the screen shows first: 8 bits per sample under the contrast
            # now on screen (half the bytes of uint16); the lossless channels are pulled after.
            quantize=self._quantize(wanted, step),
            label_messages=label_messages,
        )

    def _quantize(
        self, wanted: Sequence[int], step: float
    ) -> dict[int, tuple[float, float]] | None:
        """The contrast limits a preview at ``step`` quantizes channels ``wanted`` under."""
        if step <= 1:
            return None
        return {c: (float(self.contrast[c][0]), float(self.contrast[c][1])) for c in wanted}

    # ---------------------------------------------------------------- read-ahead (issue 9)
    def _picture_now(self) -> tuple[float, tuple[int, ...], tuple[tuple[int, float, float], ...]]:
        """What makes a picture of any frame valid on screen now: the preview step the view asks
        for, the visible channels and the limits a preview quantizes them under."""
        step = snap_preview_step(self._preview_step)
        step = int(step) if step == int(step) else step
        visible = tuple(c for c, v in enumerate(self.channel_visible) if v)
        quant = tuple((c, lo, hi) for c, (lo, hi) in (self._quantize(visible, step) or {}).items())
        return step, visible, quant

    def _ahead_key(self, frame: int, population: str | None = None) -> tuple[str, str, int]:
        return (self.position, self.population if population is None else population, frame)

    def _on_prefetch(self, content: dict[str, Any]) -> None:
        """The browser shows frame ``from`` and reads ahead: send frame ``frame``'s picture (the
        transfer a change to it would send), tagged ``prefetch``. Ignored when read-ahead is off,
        the browser has moved on (``from`` is not the frame shown), for the current frame, a frame
        further than ``prefetch`` from it, or another position."""
        frame = self._wire_frame(content)
        shown = wire_int(content, "from", low=0, high=self.n_frames - 1)
        if self.prefetch == 0 or shown != self.frame or frame == self.frame:
            return
        if abs(frame - self.frame) > self.prefetch or self._other_position(content) is not None:
            return
        step, visible, quant = self._picture_now()
        messages = self._transfer(frame, list(visible), labels=True, step=step, partial=False)
        messages[0][0]["prefetch"] = True
        self._prefetched[self._ahead_key(frame)] = _Ahead(
            messages[0][0]["xfer"], step, visible, quant
        )
        self._send_messages(messages)

    def _on_prefetch_hit(self, content: dict[str, Any]) -> None:
        """The browser leaves frame ``from`` for ``frame`` and shows the picture it read ahead
        (transfer ``xfer``): the frame moves here at once, and sends no preview if nothing
        changed that picture since (see :meth:`_preview_held`).

        The frame moves on this message, not only on the trait update that follows it: the
        widget manager holds a trait update back while an earlier one is unanswered, and the
        requests the page sends after a hit (``request-full``, ``prefetch``) must find the
        kernel on the new frame. Ignored when the browser had left another frame."""
        self._hits_seen += 1  # counted even when refused: the page counts every hit it sends
        frame = self._wire_frame(content)
        shown = wire_int(content, "from", low=0, high=self.n_frames - 1)
        xfer = wire_int(content, "xfer", low=1, high=2**53)
        if shown != self.frame or frame == self.frame:
            return
        self._page_holds = (frame, xfer)
        # As a trait update from the page: nothing is sent back (an update from here could
        # arrive after the user moved on and pull the page back to this frame).
        with self._lock_property(frame=frame):
            self.frame = frame

    def _preview_held(self) -> _Ahead | None:
        """On a frame change: the picture read ahead that the browser installed for this frame,
        when it is still what this change would send (None: send as usual). The frame is no
        longer read ahead either way (it is the current one)."""
        held, self._page_holds = self._page_holds, None
        ahead = self._prefetched.pop(self._ahead_key(self.frame), None)
        if held is None or ahead is None or held != (self.frame, ahead.xfer):
            return None
        step, visible, quant = self._picture_now()
        return ahead if (ahead.step, ahead.visible, ahead.quant) == (step, visible, quant) else None

    def _forget_prefetched(self) -> None:
        """Another population or position: the browser forgets its pictures read ahead."""
        self._prefetched.clear()
        self._page_holds = None

    def _drop_prefetched(self, population: str, frame: int) -> None:
        """The labels of ``frame`` changed: if the browser holds its picture, it forgets it."""
        if self._prefetched.pop(self._ahead_key(frame, population), None) is not None:
            where = self.position if self.experiment is not None else None
            drop = prefetch_drop_message(frame=frame, population=population, position=where)
            self._send_messages([drop])

    def _cached_label_bands(self, lab: npt.NDArray[Any] | None) -> list[Message] | None:
        """Label bands of ``lab`` when it cannot change under them (read-only and owning its
        data, as the session's shared zeros of an unlabelled frame): encoded once and reused
        while the same object comes back. None for any other array (encoded per transfer)."""
        if lab is None or lab.flags.writeable or lab.base is not None:
            return None
        cached = self._label_bands
        if cached is not None and cached[0] is lab:
            return cached[1]
        bands = label_bands(lab, max_bytes=CHUNK_BYTES)
        self._label_bands = (lab, bands)
        return bands

    def _on_request_full(self, content: dict[str, Any]) -> None:
        """The view settled on a frame shown at a reduced level of detail: send full resolution."""
        if self._wire_frame(content) != self.frame or self._sent_preview_step == 1:
            return
        if self._pull is not None and self._pull.frame == self.frame:
            return  # already on its way
        visible = [c for c, v in enumerate(self.channel_visible) if v]
        if not visible:
            return
        image = self.session.image(self.frame)  # the cached frame: bands are views of it, no copy
        messages = frame_messages(
            xfer=next(self._xfers),
            frame=self.frame,
            population=self.population,
            shape=self.session.frame_shape,
            channels=[(c, image[c]) for c in visible],
            labels=None,
            preview_step=1,
            partial=True,
            max_bytes=PULL_BYTES,
        )
        # Pulled, not pushed: the header and PULL_WINDOW bands now, then one band per "more"
        # from the browser. A frame change in between abandons the rest (it never queues behind
        # megabytes of a frame nobody looks at any more).
        messages[0][0]["pull"] = True
        messages[0][0]["window"] = PULL_WINDOW  # bands that come with the header
        self._pull = _Pull(messages[0][0]["xfer"], self.frame, visible, messages)
        self._send_pulled(1 + PULL_WINDOW)

    def _on_more(self, content: dict[str, Any]) -> None:
        """The browser received a band of the pulled transfer ``xfer``: send the next ``n``
        (default 1, at most :data:`PULL_BATCH_MAX`)."""
        n = wire_int(content, "n", low=1, high=PULL_BATCH_MAX, default=1)
        pull = self._pull
        if pull is None or content.get("xfer") != pull.xfer or pull.frame != self.frame:
            return  # a transfer that was abandoned (frame change, another transfer)
        self._send_pulled(n)

    def _send_pulled(self, n: int) -> None:
        pull = self._pull
        assert pull is not None
        end = min(len(pull.messages), pull.next + n)
        if end >= len(pull.messages) - 1:  # the end marker needs no request of its own
            end = len(pull.messages)
        batch, pull.next = pull.messages[pull.next : end], end
        if pull.next >= len(pull.messages):
            self._pull = None
            self._sent_channels = set(pull.channels)
            self._sent_preview_step = 1
        self._send_messages(batch)

    def _send_labels_box(self, population: str, frame: int, bbox: Sequence[int]) -> None:
        h, w = self.session.frame_shape
        r0, r1, c0, c1 = (int(v) for v in bbox)
        r0, r1, c0, c1 = max(r0, 0), min(r1, h), max(c0, 0), min(c1, w)
        if r1 <= r0 or c1 <= c0:
            return
        values = np.asarray(self.session.labels(population, frame))[r0:r1, c0:c1]
        self._send_messages(
            labels_patch_messages(
                population=population, frame=frame, bbox=(r0, r1, c0, c1), values=values
            )
        )

    def _on_session_edit(self, change: Change) -> None:
        """Any edit, undo or redo: the session says the next label; the canvas gets the box,
        unless the change is one of this widget's strokes (already on the canvas: its next
        label is published after the stroke's ack, see `_on_stroke`)."""
        try:
            self._drop_prefetched(change.population, change.frame)
            if change.population != self.population:
                return
            if change.origin is self._stroke_origin:
                self._stroke_next_label = change.next_label
                return
            if change.next_label is not None:
                self._set_next_label(change.next_label)
            if change.origin is self._stroke_origin or change.frame != self.frame:
                return
            self._send_labels_box(change.population, change.frame, change.bbox)
        except Exception as err:  # the session reports callback errors after the edit
            self.status = f"could not update the canvas: {err}"

    def _on_session_rois(self, frame: int) -> None:
        if frame == self.frame:
            self._refresh_rois()

    @traitlets.observe("frame")
    def _frame_changed(self, change: dict[str, Any]) -> None:
        self._refresh_rois()
        ahead = self._preview_held()
        if ahead is None:
            self._send_frame()
        else:  # the browser shows the picture it read ahead: only the lossless pull is left
            self._pull = None
            self._sent_channels = set(ahead.visible)
            self._sent_preview_step = ahead.step
        self._send_scribbles(self.population, self.frame, None)  # issue 12

    @traitlets.observe("population")
    def _population_changed(self, change: dict[str, Any]) -> None:
        if change["old"] == "":
            return  # set by __init__; the browser asks for the frame when it mounts
        self._refresh_folders()  # issue 10
        self._refresh_presegment_info()
        self._refresh_next_label()
        self._forget_prefetched()
        self._send_frame(channels=[], labels=True)
        self._send_scribbles(self.population, self.frame, None)  # issue 12

    @traitlets.observe("channel_visible")
    def _visible_changed(self, change: dict[str, Any]) -> None:
        missing = [c for c, v in enumerate(change["new"]) if v and c not in self._sent_channels]
        if missing and change["old"]:
            self._send_frame(channels=missing, labels=False)

    def _refresh_rois(self) -> None:
        rois = self.session.rois(self.frame)
        self.set_trait("rois", [[r.row0, r.row1, r.col0, r.col1] for r in rois])
        if hasattr(self, "export_folder"):  # issue 10: which are exported (after __init__ starts)
            self._refresh_exported()

    def _refresh_next_label(self) -> None:
        if self.population:
            try:
                nxt = self.session.new_label(self.population)
            except ValueError:
                nxt = 0
            self._set_next_label(nxt)

    def _set_next_label(self, value: int) -> None:
        """Publish the next unused label; 0 when the population already uses the largest one."""
        if value > LABEL_MAX:
            value = 0
        if value == 0 and self.next_label != 0:
            self.status = (
                f"labels of {self.population!r} reach {LABEL_MAX}, the largest uint32 label: "
                "no unused label is left above it (m does nothing); relabel the frames with "
                "segpaint.ops.relabel_sequential or pick a free label by hand"
            )
        self.set_trait("next_label", value)

    # ------------------------------------------------------------------ browser -> Python
    def _on_custom_msg(self, widget: Any, content: Any, buffers: Sequence[Any]) -> None:
        self._handle_message(content, list(buffers or []))

    def _handle_message(self, content: Any, buffers: list[Any]) -> None:
        """Dispatch one message from the front-end (tests call this to act as the browser).

        Every field is validated here, at the boundary: a message that breaks the protocol
        (NaN, a box outside the frame, a forged part count) changes nothing and is reported in
        the status line, never raised into the kernel's log as a traceback.
        """
        kind = content.get("type") if isinstance(content, dict) else None
        handlers: dict[str, Callable[[], None]] = {
            "request-frame": self.refresh,
            "request-full": lambda: self._on_request_full(content),
            "more": lambda: self._on_more(content),
            "prefetch": lambda: self._on_prefetch(content),
            "prefetch-hit": lambda: self._on_prefetch_hit(content),
            "stroke": lambda: self._on_stroke(content, buffers),
            "undo": lambda: self._on_history("undo"),
            "redo": lambda: self._on_history("redo"),
            "roi-add": lambda: self._on_roi_add(content),
            "roi-change": lambda: self._on_roi_change(content),
            "roi-remove": lambda: self._on_roi_remove(content),
            "export": lambda: self._on_export(content),
            "save": self._on_save,
            "presegment": lambda: self._on_presegment(content),
            "scribble": lambda: self._on_scribble(content),  # issue 12: scribbles
            "train-scribbles": self.train_scribbles,
            "clear-scribbles": self._on_clear_scribbles,
            "assist": lambda: self._on_assist(content),
            "delete-cell": lambda: self._on_delete_cell(content),  # Ctrl/Cmd+click
            "ping": lambda: self._on_ping(content),  # issue 10: is the kernel there?
            "recover": self._on_recover,
            "discard-pending": self._on_discard_pending,
            "set-folders": lambda: self._on_set_folders(content),
        }
        handler = handlers.get(kind) if isinstance(kind, str) else None
        if handler is None:
            self.status = f"ignored an unknown message from the browser: {kind!r}"
            return
        try:
            handler()
        except WireError as err:
            self.status = f"{kind} refused: {err}"
        except _FAILURES as err:
            self.status = f"{kind} failed: {err}"

    def _wire_frame(self, content: dict[str, Any], default: Any = None) -> int:
        kw = {} if default is None else {"default": default}
        return wire_int(content, "frame", low=0, high=self.n_frames - 1, **kw)

    def _on_stroke(self, content: dict[str, Any], buffers: list[Any]) -> None:
        t0 = time.perf_counter()
        if self._stroke_elsewhere(content):
            return
        try:
            stroke = self._strokes.add(
                content,
                buffers,
                shape=self.session.frame_shape,
                n_frames=self.n_frames,
                populations=self.session.populations,
            )
        except WireError as err:
            self._refuse(content, f"edit not applied: {err}")
            return
        if stroke is None:
            return
        applied: bool | None = None
        try:
            applied = self._apply(stroke)
        except _FAILURES as err:
            # The browser painted something the session refused: put the truth back on the canvas.
            self._refuse(content, f"edit not applied: {err}")
        if applied is not None:
            ms = (time.perf_counter() - t0) * 1000
            self._send_messages([ack_message(stroke.stroke, applied=applied, ms=ms)])
        # The ack goes first (the page waits for it), then the next unused label.
        nxt, self._stroke_next_label = self._stroke_next_label, None
        if nxt is not None:
            self._set_next_label(nxt)
        if applied is not None:
            self._report_autosave()

    def _report_autosave(self) -> None:
        """Say so on the status line while the autosave journal cannot be written (and when it is
        back): edits are then only in memory until saved."""
        autosave = self.session.autosave
        if autosave.startswith("off"):
            self.status = (
                f"autosave is off ({autosave[5:]}): your edits are kept in memory only; "
                "Save labels writes them"
            )
            self._autosave_was_off = True
        elif getattr(self, "_autosave_was_off", False):
            self._autosave_was_off = False
            self.status = "autosave is back on: every edit is journaled again"

    def _refuse(self, content: dict[str, Any], message: str) -> None:
        """Answer a refused stroke: ``applied: False`` and a message, then the labels the session
        holds under its box (clipped to the frame), so the canvas rolls the stroke back."""
        self.status = message
        stroke = content.get("stroke")
        valid_id = isinstance(stroke, int) and not isinstance(stroke, bool)
        reply = ack_message(stroke if valid_id else None, applied=False, message=message)
        self._send_messages([reply])
        population, frame = content.get("population"), content.get("frame")
        box = clipped_bbox(content.get("bbox"), self.session.frame_shape)
        if population == self.population and frame == self.frame and box is not None:
            self._send_labels_box(self.population, self.frame, box)

    def _apply(self, stroke: Stroke) -> bool:
        change = self.session.apply_patch(
            stroke.population,
            stroke.frame,
            stroke.bbox,
            stroke.values,
            mask=stroke.mask,
            clip_to_rois=self.lock_to_roi,
            origin=self._stroke_origin,
        )
        return change is not None

    # >>> issue 10: nothing surprising happens to my work (undo, kernel, defaults, export, presegment)
    def _on_history(self, which: str) -> None:
        """Undo or redo the newest step, then bring its frame (and population) into view, so an
        undo never changes something the user cannot see."""
        redo = which == "redo"
        if not (self.session.can_redo if redo else self.session.can_undo):
            self.status = f"nothing to {which}"
            return
        target = self.session.history_target(redo=redo)
        (self.session.redo if redo else self.session.undo)(origin=self)
        if target is None:  # a step on no frame (a recorded method alone)
            self.status = f"{which}: done"
            return
        population, frame = target
        moved = []
        if population is not None and population != self.population:
            self.population = population
            moved.append(f"population {population}")
        if frame != self.frame:
            self.frame = frame
            moved.append(f"frame {frame}")
        what = "ROI" if population is None else f"{population} labels"
        shown = f" (now showing {', '.join(moved)})" if moved else ""
        self.status = f"{which}: {what} on frame {frame}{shown}"

    def _on_ping(self, content: dict[str, Any]) -> None:
        """The browser waited too long for a stroke's answer: say the kernel is still here."""
        ping = content.get("id")
        valid = isinstance(ping, int) and not isinstance(ping, bool)
        self.send({"type": "pong", "id": ping if valid else None})

    def _on_recover(self) -> None:
        """Apply the journaled edits of an earlier session (``Session.recover``), then redraw."""
        n = self.session.pending_edits
        changes = self.session.recover()
        self.set_trait("pending_edits", self.session.pending_edits)
        frames = sorted({c.frame for c in changes})
        self._refresh_next_label()
        self._send_frame(channels=[], labels=True)
        where = f" on frame(s) {', '.join(map(str, frames))}" if frames else ""
        skipped = n - len(changes)
        note = f"; {skipped} were older than the saved labels and were skipped" if skipped else ""
        self.status = f"recovered {len(changes)} unsaved edit(s){where} (each can be undone){note}"

    def _on_discard_pending(self) -> None:
        n = self.session.pending_edits
        self.session.discard_pending()
        self.set_trait("pending_edits", self.session.pending_edits)
        self.status = f"discarded {n} unsaved edit(s) of an earlier session"

    # Where "Export ROI" and "Save labels" write: shown and typed in the browser (js/panels.js).
    def _default_folder(self, kind: str) -> Path | None:
        source = self.session.source
        if kind == "export":
            return self.export_folder or source.default_export_folder(
                self.population, self.export_format
            )
        return self.labels_folder or source.default_labels_folder(self.population)

    def _refresh_folders(self) -> None:
        """Publish where files go (``""``: nowhere yet, the user must type a folder)."""
        for kind, trait in (("export", "export_to"), ("labels", "labels_to")):
            folder = self._default_folder(kind)
            self.set_trait(trait, "" if folder is None else str(folder))
        self._refresh_exported()

    @traitlets.observe("export_format")
    def _export_format_changed(self, change: dict[str, Any]) -> None:
        self._refresh_folders()

    def _on_set_folders(self, content: dict[str, Any]) -> None:
        """The user typed a folder: ``""`` goes back to the default beside the data."""
        said = []
        for key, kind in (("export_folder", "export"), ("labels_folder", "labels")):
            if key not in content:
                continue
            value = content[key]
            if not isinstance(value, str) or len(value) > 4096 or "\x00" in value:
                raise WireError(f"{key} must be a folder path as text; got {value!r}")
            folder = Path(value.strip()).expanduser() if value.strip() else None
            setattr(self, key, folder)
            where = self._default_folder(kind)
            what = "Export ROI" if kind == "export" else "Save labels"
            said.append(f"{what} writes to {where}" if where else f"{what} has no folder yet")
        self._refresh_folders()
        self.status = "; ".join(said)

    def _no_folder(self, action: str, field: str) -> str:
        return (
            f"{action}: this image was opened from an array, so there is no experiment folder "
            f"to write beside. Type a folder in '{field}' above, then click {action} again."
        )

    def _read_only_folder(self, action: str, field: str, chosen: Path | None) -> str | None:
        """The message for a read-only session writing beside its data, or None."""
        if chosen is not None or not self.session.read_only:
            return None
        return (
            f"{action}: this session does not write into its data folder (it was opened "
            "read-only, or a newer session of the same data took over). Type another folder in "
            f"'{field}' above, then click {action} again."
        )

    def _on_export(self, content: dict[str, Any]) -> None:
        """Export the ROI given (``bbox``) or every ROI of the frame, reporting each.

        ``mode``: ``"ask"`` (default) writes only ROIs not exported yet and asks about the others
        (``export_conflict``); ``"overwrite"`` replaces them (the browser confirmed);
        ``"version"`` writes each as its next version, ``<stem>_v2``... ``bboxes`` (a list of
        boxes) names the ROIs instead of ``bbox``: the answer to a conflict.
        """
        fmt = wire_choice(content, "format", EXPORT_FORMATS, default=self.export_format)
        mode = wire_choice(content, "mode", ("ask", "overwrite", "version"), default="ask")
        frame = self._wire_frame(content, default=self.frame)
        bbox = content.get("bbox")
        box = None if bbox is None else wire_bbox(content, "bbox", self.session.frame_shape)
        rois = [self._find_roi(frame, box)] if box is not None else self.session.rois(frame)
        if "bboxes" in content:  # the ROIs of a conflict, answered with Overwrite / New version
            listed = content["bboxes"]
            if not isinstance(listed, list) or not listed or len(listed) > len(rois):
                raise WireError(f"bboxes must be a list of this frame's ROIs; got {listed!r}")
            shape = self.session.frame_shape
            rois = [self._find_roi(frame, wire_bbox({"bbox": b}, "bbox", shape)) for b in listed]
        self.set_trait("export_conflict", {})
        if not rois:
            self.status = "no ROI on this frame: draw one with the ROI tool (r) first"
            return
        if self.export_folder is None and not self.export_to:
            self.status = self._no_folder("Export ROI", "export to")
            return
        refused = self._read_only_folder("Export ROI", "export to", self.export_folder)
        if refused:
            self.status = refused
            return
        s, pop, folder = self.session, self.population, self.export_folder
        done = {r: s.exported(pop, r, format=fmt, folder=folder) for r in rois}
        results: list[RoiExport] = []
        asked: list[ROI] = []
        for roi in rois:
            if done[roi] and mode == "ask":
                asked.append(roi)
                continue
            version = done[roi] + 1 if done[roi] and mode == "version" else None
            try:
                files = s.export_roi(
                    pop, roi, format=fmt, folder=folder, overwrite=mode == "overwrite",
                    version=version,
                )  # fmt: skip
            except (OSError, ValueError) as err:  # ExportError is a ValueError
                results.append(RoiExport(roi, [], str(err)))
            else:
                results.append(RoiExport(roi, files))
        written = [path for r in results for path in r.files]
        self.last_export = written
        self._refresh_exported()
        where = self._default_folder("export")
        ok = [r for r in results if r.ok]
        parts = [f"exported {', '.join(r.files[0].name for r in ok)} to {where}"] if ok else []
        for r in results:  # each ROI not written, and why
            if not r.ok:
                name = f"ROI rows {r.roi.row0}-{r.roi.row1}, cols {r.roi.col0}-{r.roi.col1}"
                parts.append(f"{name} not written: {r.error}")
        if asked:
            self.set_trait(
                "export_conflict",
                {
                    "frame": frame,
                    "format": fmt,
                    "bbox": None if box is None else list(box),
                    "rois": [list(r.bbox) for r in asked],
                },
            )
            n = len(asked)
            parts.append(
                f"{n} ROI{'s' if n > 1 else ''} already exported to {where} (files of the same "
                f"names, {fmt} layout): "
                "choose Overwrite or New version"
            )
        self.status = "; ".join(parts)

    def _refresh_exported(self) -> None:
        """Mark the ROIs of the frame already exported (format and folder of Export ROI)."""
        try:
            marks = [
                self.session.exported(
                    self.population, r, format=self.export_format, folder=self.export_folder
                )
                for r in self.session.rois(self.frame)
            ]
        except (OSError, ValueError, IndexError):  # a position switch clamps the frame next
            marks = []
        self.set_trait("rois_exported", marks)

    def _on_save(self) -> None:
        if self.labels_folder is None and not self.labels_to:
            self.status = self._no_folder("Save labels", "labels to")
            return
        refused = self._read_only_folder("Save labels", "labels to", self.labels_folder)
        if refused:
            self.status = refused
            return
        written = self.session.save_labels(self.population, folder=self.labels_folder)
        self.last_saved = written
        if not written:
            self.status = "labels already saved (no edited frame)"
            return
        self.status = f"saved {len(written)} frame(s) to {written[0].parent}"

    # The pre-segmentation panel: method, channels, the method's main parameters, replace or
    # fill empty frames; defaults from the population's recorded method; a confirmation before
    # frames with unsaved edits are replaced.
    def _refresh_presegment_info(self) -> None:
        import importlib.util

        from segpaint.segment import NAMED_MODELS

        methods = []
        for name in self.presegment_methods:
            library = NAMED_MODELS.get(name, ("", ""))[0]
            missing = bool(library) and importlib.util.find_spec(library) is None
            note = f"needs pip install 'segpaint[{library}]'" if missing else ""
            methods.append({"name": name, "available": not missing, "note": note})
        recorded = self.session.method(self.population) if self.population else None
        self.set_trait("presegment_info", {"methods": methods, "recorded": recorded or {}})

    @traitlets.observe("presegment_methods")
    def _presegment_methods_changed(self, change: dict[str, Any]) -> None:
        if self.population:
            self._refresh_presegment_info()

    def _presegment_params(self, method: str, content: dict[str, Any]) -> dict[str, Any]:
        """The parameters to run with: those sent, else the recorded ones for the same method."""
        if "params" not in content:
            recorded = self.session.method(self.population) or {}
            if recorded.get("method") == method:
                return dict(recorded.get("params") or {})
            return {}
        params = content["params"]
        if not isinstance(params, dict):
            raise WireError(f"params must be an object of parameter values; got {params!r}")
        family = "threshold" if method == "threshold" else method.split("_", maxsplit=1)[0]
        allowed = PRESEGMENT_PARAMS.get(family, PRESEGMENT_PARAMS["model"])
        unknown = sorted(set(params) - set(allowed))
        if unknown:
            raise WireError(
                f"params: {', '.join(unknown)} is not a parameter of {method} "
                f"(it takes {', '.join(allowed)})"
            )
        for key, value in params.items():
            ok = (
                value is None
                or isinstance(value, bool | int | float | str)
                or (isinstance(value, list) and len(value) <= 64)
            )
            if not ok:
                raise WireError(f"params: {key} must be a number, text or a list; got {value!r}")
        return dict(params)

    def _on_presegment(self, content: dict[str, Any]) -> None:
        if self._worker is not None and self._worker.is_alive():
            self.status = "a pre-segmentation is already running"
            return
        asked = {"method": content.get("method") or "threshold"}  # an empty menu sends ""
        method = wire_choice(asked, "method", self.presegment_methods)
        scope = wire_choice(content, "scope", ("frame", "all"), default="frame")
        mode = wire_choice(content, "mode", ("replace", "fill-empty"), default="replace")
        params = self._presegment_params(method, content)
        channels = params.pop("channels", None)
        if "channels" in content:
            channels = content["channels"]
        if channels is not None and (
            not isinstance(channels, list)
            or not channels
            or any(c not in self.channel_names for c in channels)
        ):
            raise WireError(
                f"channels must be a list of {list(self.channel_names)}; got {channels!r}"
            )
        frames = [self.frame] if scope == "frame" else list(range(self.n_frames))
        population = self.population
        self.set_trait("presegment_confirm", {})
        if mode == "replace" and content.get("confirmed") is not True:
            edited = sorted(set(frames) & self.session.edited_frames(population))
            if edited:
                shown = ", ".join(map(str, edited[:10])) + ("…" if len(edited) > 10 else "")
                self.set_trait(
                    "presegment_confirm",
                    {"frames": edited, "request": {**content, "confirmed": True}},
                )
                self.status = (
                    f"pre-segmenting would replace your unsaved corrections on frame(s) {shown}: "
                    "confirm in the panel, or choose 'fill empty frames only'"
                )
                return
        self.set_trait("busy", True)
        self.set_trait("progress", 0.0)
        self.status = f"pre-segmenting with {method}…"

        def progress(done: int, total: int) -> None:
            self.set_trait("progress", done / max(total, 1))

        def run() -> None:
            try:
                written = self.session.presegment(
                    population,
                    method,
                    frames=frames,
                    channels=channels,
                    mode=mode,
                    progress=False,
                    callback=progress,
                    **params,
                )
                n = len(written) if isinstance(written, list | tuple) else "the"
                self.status = f"pre-segmented {n} frame(s) of {population} with {method}"
            except (NotImplementedError, AttributeError) as err:
                self.status = f"pre-segmentation is not available: {err}"
            except Exception as err:  # a worker thread must report, never die silently
                self.status = f"pre-segmentation failed: {err}"
            finally:
                self._refresh_next_label()
                self._refresh_presegment_info()
                self.set_trait("busy", False)

        # A thread keeps the kernel answering strokes, pans and frame changes meanwhile.
        self._worker = threading.Thread(target=run, name="segpaint-presegment", daemon=True)
        self._worker.start()

    # <<< issue 10

    def _find_roi(self, frame: int, box: tuple[int, int, int, int]) -> ROI:
        for roi in self.session.rois(frame):
            if roi.bbox == box:
                return roi
        raise KeyError(f"no ROI {list(box)} on frame {frame}")

    def _on_roi_add(self, content: dict[str, Any]) -> None:
        frame = self._wire_frame(content)
        r0, r1, c0, c1 = wire_bbox(content, "bbox", self.session.frame_shape)
        try:
            roi = self.session.add_roi(frame, rows=(r0, r1), cols=(c0, c1))
        finally:
            self._refresh_rois()
        self.status = f"ROI rows {roi.row0}-{roi.row1}, cols {roi.col0}-{roi.col1}"

    def _on_roi_change(self, content: dict[str, Any]) -> None:
        frame = self._wire_frame(content)
        old_box = wire_bbox(content, "old", self.session.frame_shape)
        r0, r1, c0, c1 = wire_bbox(content, "bbox", self.session.frame_shape)
        try:
            roi = self.session.move_roi(
                self._find_roi(frame, old_box), rows=(r0, r1), cols=(c0, c1)
            )
        finally:
            self._refresh_rois()
        self.status = f"ROI now rows {roi.row0}-{roi.row1}, cols {roi.col0}-{roi.col1}"

    def _on_roi_remove(self, content: dict[str, Any]) -> None:
        frame = self._wire_frame(content)
        box = wire_bbox(content, "bbox", self.session.frame_shape)
        try:
            self.session.remove_roi(self._find_roi(frame, box))
        finally:
            self._refresh_rois()
        self.status = "ROI removed"

    # ------------------------------------------------------- scribbles (issue 12) >>>
    # The "scribble" tool draws cell (1) / background (2) marks into the Session's scribbles (not
    # the labels); "Train from scribbles" trains the population's pixel classifier from them in a
    # thread, then pre-segments the current frame with the new model (one undo step).
    def _scribble_origin_init(self) -> None:
        self._scribble_origin = _StrokeOrigin(self)
        self._unsubscribe_scribbles = self.session.on_scribble(self._on_session_scribble)
        self.last_model: Path | None = None

    def _send_scribbles(self, population: str, frame: int, bbox: Sequence[int] | None) -> None:
        """Send the session's scribble marks of ``bbox`` (default: the frame) as uint8 patches."""
        if bbox is None and frame not in self.session.scribbled_frames(population):
            # Nothing marked (the usual frame change): no frame-sized copy nor scan of zeros
            # after the frame's messages went out.
            return
        marks = self.session.scribbles(population, frame)
        if bbox is None:  # the marked part only; the browser holds zeros elsewhere
            marked_rows = np.flatnonzero(marks.any(1))
            if not marked_rows.size:  # erased since scribbled_frames looked
                return
            # Columns from the marked rows only (one pass over the frame, not two).
            band = marks[marked_rows[0] : marked_rows[-1] + 1]
            marked_cols = np.flatnonzero(band.any(0))
            bbox = (
                int(marked_rows[0]),
                int(marked_rows[-1]) + 1,
                int(marked_cols[0]),
                int(marked_cols[-1]) + 1,
            )
        r0, r1, c0, c1 = (int(v) for v in bbox)
        marks = marks[r0:r1, c0:c1]
        step = max(1, CHUNK_BYTES // max(c1 - c0, 1))
        for a in range(0, r1 - r0, step):
            b = min(a + step, r1 - r0)
            content = {
                "type": "scribble-patch",
                "population": population,
                "frame": frame,
                "bbox": [r0 + a, r0 + b, c0, c1],
            }
            self.send(content, [np.ascontiguousarray(marks[a:b]).data])

    def _on_session_scribble(self, population: str, frame: int, bbox: Any, origin: Any) -> None:
        if origin is self._scribble_origin or population != self.population:
            return
        try:
            self._send_scribbles(population, frame, bbox)
        except Exception as err:  # the session reports callback errors after the change
            self.status = f"could not update the scribbles: {err}"

    def _on_scribble(self, content: dict[str, Any]) -> None:
        """One scribble stroke: ``{population, frame, points: [[row, col], ...], radius, mark}``,
        rasterised by the session with the brush rule (the browser drew the same pixels)."""
        try:
            population = wire_choice(content, "population", self.session.populations)
            frame = self._wire_frame(content)
            mark = wire_int(content, "mark", low=0, high=2)
            radius = content.get("radius")
            if (
                not isinstance(radius, int | float)
                or isinstance(radius, bool)
                or not 0.5 <= radius <= BRUSH_SIZE_MAX / 2
            ):
                raise WireError(
                    f"radius must be a number from 0.5 to {BRUSH_SIZE_MAX / 2}; got {radius!r}"
                )
            points = content.get("points")
            if not isinstance(points, list) or not 1 <= len(points) <= SCRIBBLE_POINTS_MAX:
                raise WireError(
                    f"points must be a list of 1 to {SCRIBBLE_POINTS_MAX} [row, col] pairs; "
                    f"got {type(points).__name__} of {len(points) if isinstance(points, list) else 0}"
                )
            h, w = self.session.frame_shape
            reach = max(h, w) + radius + 1
            for p in points:
                if (
                    not isinstance(p, list)
                    or len(p) != 2
                    or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in p)
                    or not all(-reach <= v <= reach for v in p)  # also refuses NaN
                ):
                    raise WireError(
                        f"points must hold [row, col] number pairs near the frame; got {p!r}"
                    )
            self.session.scribble(
                population, frame, points, float(radius), mark, origin=self._scribble_origin
            )
        except WireError as err:
            self.status = f"scribble refused: {err}"
            self._resend_scribbles(content)
        except _FAILURES as err:
            self.status = f"scribble not applied: {err}"
            self._resend_scribbles(content)

    def _resend_scribbles(self, content: dict[str, Any]) -> None:
        """After a refused scribble, put the session's marks back on the canvas."""
        population, frame = content.get("population"), content.get("frame")
        if population == self.population and frame == self.frame:
            h, w = self.session.frame_shape
            self._send_scribbles(self.population, self.frame, (0, h, 0, w))

    def _on_clear_scribbles(self) -> None:
        cleared = self.session.clear_scribbles(self.population, self.frame)
        self.status = "scribbles cleared" if cleared else "no scribbles on this frame"

    def train_scribbles(self, **kwargs: Any) -> None:
        """What "Train from scribbles" does: train the population's pixel classifier from its
        scribbles (all frames) in a thread, then pre-segment the current frame with it.

        Progress shows in `status` and `progress`; `wait` waits for the end; the model folder is
        in `last_model` (and the status line). ``kwargs`` go to
        :func:`segpaint.train_from_scribbles` (``n_estimators``, ``steps``, ``folder``, ...);
        the default channels are the visible ones.
        """
        if self._worker is not None and self._worker.is_alive():
            self.status = "busy: training or pre-segmentation is already running"
            return
        population, frame = self.population, self.frame
        frames = self.session.scribbled_frames(population)
        marks = {t: self.session.scribbles(population, t) for t in frames}
        values = set().union(*(set(np.unique(m).tolist()) for m in marks.values()))
        if not {1, 2} <= values:
            self.status = (
                "train from scribbles: mark some cell (scribble tool, s) and some background "
                "(x swaps the mark) first"
            )
            return
        from segpaint.segment._train import train_from_scribbles

        visible = [c for c, v in enumerate(self.channel_visible) if v]
        options: dict[str, Any] = {
            "channels": visible or None,
            "name": f"scribbles_{time.strftime('%Y%m%d-%H%M%S')}",
            "folder": self.export_folder,
            "progress": False,
            **kwargs,
        }
        total = max(1, int(options.get("steps", 4)))
        self.set_trait("busy", True)
        self.set_trait("progress", 0.0)
        self.status = f"training {population} from scribbles on {len(frames)} frame(s)…"

        def on_step(record: dict[str, Any]) -> None:
            self.set_trait("progress", min(1.0, 0.8 * record["step"] / total))
            self.status = (
                f"training {population} from scribbles: step {record['step']}/{total}, "
                f"loss {record['loss']:.3f}"
            )

        def run() -> None:
            try:
                folder = train_from_scribbles(
                    self.session, population, marks, callback=on_step, **options
                )
                self.last_model = folder
                self.status = f"pre-segmenting frame {frame} with the new model…"
                self.session.presegment(population, str(folder), frames=[frame], progress=False)
                self.set_trait("progress", 1.0)
                self.status = (
                    f"trained from scribbles; frame {frame} pre-segmented; model: {folder}"
                )
            except Exception as err:  # a worker thread must report, never die silently
                self.status = f"train from scribbles failed: {err}"
            finally:
                self._refresh_next_label()
                self.set_trait("busy", False)

        self._worker = threading.Thread(target=run, name="segpaint-scribbles", daemon=True)
        self._worker.start()

    # <<< scribbles (issue 12)
    # ------------------------------------------------ assisted tools (issue 11): begin
    def _assist_channels(self) -> tuple[list[int], list[list[float]]]:
        """The channels shown (all when none is) and their display contrast."""
        shown = [c for c, v in enumerate(self.channel_visible) if v]
        channels = shown or list(range(len(self.channel_names)))
        return channels, [[float(v) for v in self.contrast[c]] for c in channels]

    def _assist_clip(
        self, frame: int, point: tuple[int, int] | None
    ) -> tuple[int, int, int, int] | None:
        """With edits locked to ROIs: the ROI under the gesture's first point (else None).

        ``point=None`` (morph, copy labels: no click) stands for the frame's only ROI."""
        if not self.lock_to_roi:
            return None
        rois = self.session.rois(frame)
        if point is None:
            if len(rois) == 1:
                return rois[0].bbox
            raise ValueError(
                f"edits are locked to ROIs and frame {frame} has {len(rois)}: select the ROI to "
                "work in (ROI tool, click it), or untick 'lock to ROI'"
            )
        r, c = point
        for roi in rois:
            if roi.row0 <= r < roi.row1 and roi.col0 <= c < roi.col1:
                return roi.bbox
        raise ValueError(
            f"edits are locked to ROIs and {point} is in none of frame {frame}'s: start inside an "
            "ROI, or untick 'lock to ROI'"
        )

    def _on_assist(self, content: dict[str, Any]) -> None:
        """Run one Session tool for the browser: one undo step; the canvas gets the result as a
        labels-patch (the change is not this widget's stroke)."""
        t0 = time.perf_counter()
        req = assist_request(
            content,
            shape=self.session.frame_shape,
            n_frames=self.n_frames,
            populations=self.session.populations,
        )
        s, pop, t = self.session, req.population, req.frame
        where = req.points[0] if req.points else None
        clip = self._assist_clip(t, where)
        labels = np.asarray(s.labels(pop, t))
        change: Change | None
        done = ""
        if req.tool == "segment_at":
            change, done = self._assist_segment(req, clip, labels)
        elif req.tool == "morph":
            channels, limits = self._assist_channels()
            label = int(req.label or 0)
            change = s.morph(
                pop,
                t,
                label or None,
                req.op,
                radius=ASSIST_MORPH_RADIUS.get(req.op, 1),
                min_size=req.min_size,
                max_size=(req.max_size or None) if not label else None,
                roi=clip,
            )
            what = f"cell {label}" if label else ("every cell in the ROI" if clip else "every cell")
            done = f"{req.op.replace('_', ' ')} on {what}"
            if req.min_size:
                done += f", cells under {req.min_size} px deleted"
            if req.max_size and not label:
                done += f", cells over {req.max_size} px deleted"
        elif req.tool == "refine":
            channels, limits = self._assist_channels()
            label = int(req.label or 0)
            if not kernels_ready():  # the page hears it before the call blocks
                self.status = (
                    "refine: compiling the numba kernels first (seconds after an "
                    "install, then cached on disk)…"
                )
            change = s.refine(
                pop, t, label=label or None, channels=channels, limits=limits, roi=clip
            )
            what = f"cell {label}" if label else ("every cell in the ROI" if clip else "every cell")
            done = f"outlines snapped to the image's edges on {what}"
        elif req.tool == "copy_labels":
            assert req.source_frame is not None
            change = s.copy_labels(pop, req.source_frame, t, roi=clip, mode=req.mode)
            done = f"copied frame {req.source_frame}'s cells ({req.mode})"
        elif req.tool == "merge":
            picked = sorted({int(labels[r, c]) for r, c in req.points} - {0})
            if len(picked) < 2:
                raise ValueError(
                    f"merge: click two or more different cells, then Enter; the clicks hit "
                    f"label(s) {picked or 'none (background)'}"
                )
            change = s.merge(pop, t, picked, roi=clip)
            done = f"merged {picked} into {picked[0]}"
        elif req.tool == "split":
            label, seeds = split_seeds(labels, req.points[0], req.points[1])
            channels, limits = self._assist_channels()
            change = s.split(pop, t, label, seeds, channels=channels, limits=limits, roi=clip)
            done = f"split cell {label}"
        elif req.tool == "cut":
            picked = labels[tuple(np.asarray(req.points).T)]
            ids, counts = np.unique(picked[picked != 0], return_counts=True)
            change = s.cut(pop, t, req.points, roi=clip)
            what = f"cell {int(ids[np.argmax(counts)])}" if ids.size else "the cell"
            done = f"cut {what} along the line"
        elif req.tool == "polygon":
            change = s.polygon(
                pop,
                t,
                req.points,
                int(req.label or 0),
                roi=clip,
                preserve_labels=self.preserve_labels,
            )
            done = f"polygon filled with label {req.label}"
        else:
            assert req.bbox is not None
            change = s.delete_in_box(pop, t, req.bbox, roi=clip)
            done = f"deleted the cells inside {list(req.bbox)}"
        ms = (time.perf_counter() - t0) * 1000
        if change is None:
            at = f" at {list(req.points[0])}" if req.points else ""
            self.status = f"{req.tool}: nothing changed{at}"
        else:
            self.status = f"{req.tool}: {done} ({ms:.0f} ms)"

    def _assist_segment(
        self,
        req: AssistRequest,
        clip: tuple[int, int, int, int] | None,
        labels: npt.NDArray[Any],
    ) -> tuple[Change | None, str]:
        """Click-to-segment: background makes a new cell; a click on a cell (or ``label``)
        re-segments that cell, with the refinement clicks ``positive``/``negative``."""
        s, pop, t = self.session, req.population, req.frame
        channels, limits = self._assist_channels()
        point = req.points[0]
        under = int(labels[point])
        value = int(req.label) if req.label else under
        fresh = value == 0
        if fresh:
            value = s.new_label(pop)
        change = s.segment_at(
            pop,
            t,
            point,
            label=value,
            channels=channels,
            limits=limits,
            roi=clip,
            preserve_labels=self.preserve_labels,
            positive=req.positive,
            negative=req.negative,
            **(
                {"refine": self.click_refine}
                if self.click_method == "auto"
                else {"method": self.click_method}
            ),
        )
        if change is None:
            return None, ""
        self.selected_label = value
        if fresh:
            return change, f"new cell {value}"
        clicks = len(req.positive) + len(req.negative)
        more = f" with {clicks} refinement click(s)" if clicks else ""
        return change, f"re-segmented cell {value}{more}"

    def _on_delete_cell(self, content: dict[str, Any]) -> None:
        """Ctrl/Cmd+click on a cell, whatever the tool: `Session.delete_label` on the cell under
        the click (one undo step; only inside the clicked ROI when edits are locked).

        ``{type: "delete-cell", population, frame, points: [[row, col]], label, position?}``:
        ``label`` is the cell the browser showed under the click; when the kernel's labels hold
        another value there (an edit in flight), or the click was on another position than the
        one shown now, nothing is deleted and the status line says so.
        """
        where = self._other_position(content)
        if where is not None:
            self.status = (
                f"delete (Ctrl+click) not done: it was clicked on position {where!r}, but the "
                f"widget shows {self.position!r} now; click again"
            )
            return
        s = self.session
        pop = wire_choice(content, "population", list(s.populations))
        t = self._wire_frame(content)
        (point,) = wire_points(content, "points", s.frame_shape, low=1, high=1)
        seen = wire_int(content, "label", low=0, high=LABEL_MAX)
        clip = self._assist_clip(t, point)
        under = int(np.asarray(s.labels(pop, t))[point])
        if under != seen:
            self.status = (
                f"delete (Ctrl+click): the cell under {list(point)} is now {under}, not the "
                f"{seen} shown; nothing deleted, click again"
            )
            return
        if under == 0:
            self.status = f"delete (Ctrl+click): background at {list(point)}, no cell to delete"
            return
        change = s.delete_label(pop, t, under, roi=clip)
        inside = " inside the ROI" if clip is not None else ""
        self.status = (
            f"deleted cell {under}{inside} (Ctrl+click; Ctrl+Z brings it back)"
            if change is not None
            else f"delete (Ctrl+click): nothing changed at {list(point)}"
        )

    # ------------------------------------------------ assisted tools (issue 11): end

    def wait(self, timeout: float | None = None) -> None:
        """Wait for a running pre-segmentation to finish (for scripts and tests)."""
        if self._worker is not None:
            self._worker.join(timeout)


class _Ahead(NamedTuple):
    """A picture sent ahead (see ``Annotator._on_prefetch``): its transfer and what made it."""

    xfer: int
    step: float
    visible: tuple[int, ...]
    quant: tuple[tuple[int, float, float], ...]


class _Pull:
    """A full-resolution transfer sent band by band as the browser asks for more."""

    def __init__(self, xfer: int, frame: int, channels: list[int], messages: list[Message]) -> None:
        self.xfer = xfer
        self.frame = frame
        self.channels = channels
        self.messages = messages
        self.next = 0


def _is_int(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


class _StrokeOrigin:
    """The ``origin`` of an Annotator's own strokes (identity is what counts)."""

    def __init__(self, annotator: Annotator) -> None:
        self.annotator_id = id(annotator)

    def __repr__(self) -> str:
        return f"<strokes of Annotator {self.annotator_id:#x}>"
