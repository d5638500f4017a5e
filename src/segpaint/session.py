"""The :class:`Session`: a lazy image stack, per-population label stacks, edits with undo, ROIs, export.

Everything the Annotator widget does goes through a Session method, so scripts, tests and
teaching notebooks can do the same without a browser.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import tifffile

from segpaint._events import Event
from segpaint._history import DEFAULT_BUDGET, Edit, History
from segpaint._journal import Journal, read_journal, set_aside
from segpaint._version import __version__
from segpaint.io.export import (
    ExportError,
    check_format,
    read_sidecar,
    sample_paths,
    write_label_frame,
    write_sample,
)
from segpaint.io.source import Source, read_source
from segpaint.io.stack import Stack, StackError
from segpaint.ops import (
    LABEL_DTYPE,
    BBox,
    as_label_image,
    bbox_slices,
    check_bbox,
    check_label,
    fill_mask,
    next_label,
    stroke_mask,
    tight_bbox,
)

if TYPE_CHECKING:
    from segpaint.widgets import Annotator

ChangeCallback = Callable[[str, int, BBox], None]
RoiClip = Any
"""``roi=`` of an edit: an ROI, a ``(row0, row1, col0, col1)`` box, a list of them, or None."""
RoiCallback = Callable[[int], None]
logger = logging.getLogger("segpaint")
_NAME_RE = re.compile(r"^[a-z0-9_-]+$")


@dataclass(frozen=True)
class ROI:
    """A rectangle on one frame: half-open rows ``[row0, row1)`` and cols ``[col0, col1)``."""

    frame: int
    row0: int
    row1: int
    col0: int
    col1: int

    @property
    def rows(self) -> tuple[int, int]:
        """``(row0, row1)``."""
        return self.row0, self.row1

    @property
    def cols(self) -> tuple[int, int]:
        """``(col0, col1)``."""
        return self.col0, self.col1

    @property
    def bbox(self) -> BBox:
        """``(row0, row1, col0, col1)``."""
        return self.row0, self.row1, self.col0, self.col1

    @property
    def shape(self) -> tuple[int, int]:
        """``(rows, cols)`` of the crop."""
        return self.row1 - self.row0, self.col1 - self.col0


@dataclass(frozen=True)
class Change:
    """What an edit, undo or redo changed: a box of one population's frame."""

    population: str
    frame: int
    bbox: BBox
    origin: Any = field(default=None, compare=False)
    """Who asked for it: the ``origin=`` given to the edit, undo or redo (e.g. a widget)."""
    next_label: int | None = field(default=None, compare=False)
    """In :meth:`Session.on_edit` events: the population's next unused label after the change
    (0 when the largest label is used); None elsewhere."""


@dataclass(frozen=True)
class RoiExport:
    """What :meth:`Session.export_rois` did with one ROI: the files written, or why not."""

    roi: ROI
    files: list[Path]
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the sample was written."""
        return self.error is None


@dataclass(frozen=True)
class Sample:
    """An exported training sample found on disk."""

    image: Path
    mask: Path
    sidecar: Path
    metadata: dict[str, Any]

    @property
    def frame(self) -> int:
        """Frame the sample was cut from."""
        return int(self.metadata.get("frame", -1))

    @property
    def roi(self) -> ROI | None:
        """The ROI of the crop, when the sidecar records it."""
        r = self.metadata.get("roi")
        if not isinstance(r, dict):
            return None
        return ROI(int(r["frame"]), int(r["row0"]), int(r["row1"]), int(r["col0"]), int(r["col1"]))


class _Population:
    """One population's label stack, stored frame by frame (absent frames are zeros)."""

    def __init__(
        self,
        name: str,
        shape: tuple[int, int, int],
        loader: Callable[[int], npt.NDArray[Any] | None],
    ) -> None:
        self.name = name
        self.shape = shape
        self.frames: dict[int, npt.NDArray[np.uint32]] = {}
        self.loader = loader
        self.loaded: set[int] = set()
        self.dirty: set[int] = set()
        self.maxima: dict[int, int] = {}
        self.method: dict[str, Any] | None = None
        self._zeros: npt.NDArray[np.uint32] | None = None

    def _load(self, t: int) -> npt.NDArray[np.uint32] | None:
        if t not in self.loaded:
            self.loaded.add(t)
            data = self.loader(t)
            if data is not None:
                arr = as_label_image(
                    data, name=f"labels_{self.name}/{t:04d}.tif", shape=self.shape[1:]
                )
                self.frames[t] = np.array(arr, dtype=LABEL_DTYPE)
        return self.frames.get(t)

    def view(self, t: int) -> npt.NDArray[np.uint32]:
        arr = self._load(t)
        if arr is None:
            if self._zeros is None:
                self._zeros = np.zeros(self.shape[1:], dtype=LABEL_DTYPE)
                self._zeros.flags.writeable = False
            return self._zeros
        out: npt.NDArray[np.uint32] = arr.view()
        out.flags.writeable = False
        return out

    def writable(self, t: int) -> npt.NDArray[np.uint32]:
        arr = self._load(t)
        if arr is None:
            arr = np.zeros(self.shape[1:], dtype=LABEL_DTYPE)
            self.frames[t] = arr
        return arr

    def frame_max(self, t: int) -> int:
        if t not in self.maxima:
            arr = self._load(t)
            self.maxima[t] = int(arr.max()) if arr is not None and arr.size else 0
        return self.maxima[t]

    def max_label(self) -> int:
        return max((self.frame_max(t) for t in range(self.shape[0])), default=0)


class LabelStack:
    """Read-only ``(T, Y, X)`` view of a population's labels; ``np.asarray`` materialises it.

    Indexing with a frame number returns that frame without loading the others.
    """

    def __init__(self, population: _Population) -> None:
        self._pop = population

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(T, Y, X)``."""
        return self._pop.shape

    @property
    def dtype(self) -> np.dtype[np.uint32]:
        """Always ``uint32``."""
        return LABEL_DTYPE

    @property
    def ndim(self) -> int:
        """3."""
        return 3

    def __len__(self) -> int:
        return self._pop.shape[0]

    def __iter__(self) -> Iterator[npt.NDArray[np.uint32]]:
        for t in range(len(self)):
            yield self._pop.view(t)

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, (int, np.integer)):
            n = len(self)
            t = int(key) + n if key < 0 else int(key)
            if not 0 <= t < n:
                raise IndexError(f"frame {key} is out of range for {n} frame(s)")
            return self._pop.view(t)
        if isinstance(key, tuple) and key and isinstance(key[0], (int, np.integer)):
            return self[key[0]][key[1:]]
        return np.asarray(self)[key]

    def __array__(self, dtype: Any = None, copy: Any = None) -> npt.NDArray[Any]:
        out = np.stack([self._pop.view(t) for t in range(len(self))])
        return out if dtype is None else out.astype(dtype)

    def __repr__(self) -> str:
        return f"<LabelStack {self._pop.name!r} shape={self.shape} uint32>"


def check_population_name(name: str) -> str:
    """Validate a population name: lowercase letters, digits, ``_`` and ``-`` only (never a path)."""
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise ValueError(
            f"population name {name!r} is not allowed: use lowercase letters, digits, '_' and '-' "
            "only (e.g. 'targets', 'effectors', 'nuclei_1'); it becomes a folder name, never a path"
        )
    return name


class Session:
    """A stack to annotate, its populations' labels, ROIs and edit history.

    Create one with :func:`segpaint.open`. Every edit is one undo step, touches one frame of one
    population, and is announced to :meth:`on_change` subscribers.
    """

    def __init__(
        self,
        stack: Stack,
        source: Source | None = None,
        *,
        channel_names: Sequence[str] | None = None,
        pixel_size_um: float | None = None,
        frame_interval_min: float | None = None,
        populations: Sequence[str] | None = None,
        history_bytes: int = DEFAULT_BUDGET,
        journal: bool | str | Path = True,
    ) -> None:
        self.stack = stack
        self.source = source or Source("array", "array")
        t, c, y, x = stack.shape
        if t == 0 or c == 0 or y == 0 or x == 0:
            raise StackError(f"the image stack is empty: shape (T, C, Y, X) = {stack.shape}")
        names = channel_names if channel_names is not None else stack.info.channel_names
        if names is None or len(names) != c:
            if channel_names is not None:
                raise ValueError(
                    f"channel_names has {len(channel_names)} names but the stack has {c} channel(s); "
                    "pass one name per channel"
                )
            names = [f"channel_{i}" for i in range(c)]
        self._channel_names = [str(n) for n in names]
        self._pixel_size_um: float | None = None
        self.pixel_size_um = (
            pixel_size_um if pixel_size_um is not None else stack.info.pixel_size_um
        )
        self.frame_interval_min = (
            frame_interval_min if frame_interval_min is not None else stack.info.frame_interval_min
        )
        self._lock = threading.RLock()
        self._history = History(history_bytes)
        self._pops: dict[str, _Population] = {}
        self._rois: dict[int, list[ROI]] = {}
        # One mechanism for edit and ROI notifications (see segpaint._events.Event).
        self._callbacks = Event("on_change", "the edit")
        self._roi_callbacks = Event("on_roi_change", "the ROI change")
        self._cache: OrderedDict[int, npt.NDArray[Any]] = OrderedDict()
        self._journal: Journal | None = None
        self._pending: Path | None = None
        if journal is not False:
            path = self.source.default_journal() if journal is True else Path(journal)
            if path is not None:
                self._pending = set_aside(path)
                self._journal = Journal(path)
                if self._pending is not None:
                    logger.info(
                        "segpaint: %s holds edits that were never saved; session.recover() "
                        "applies them, session.discard_pending() deletes them",
                        self._pending,
                    )
        if populations is None:
            pos = self.source.position
            populations = pos.config.populations if pos is not None else ["cells"]
        for name in populations:
            self.add_population(name)

    # ------------------------------------------------------------------ stack
    @property
    def shape(self) -> tuple[int, int, int, int]:
        """``(T, C, Y, X)``."""
        return self.stack.shape

    @property
    def n_frames(self) -> int:
        """Number of frames T."""
        return self.stack.shape[0]

    @property
    def n_channels(self) -> int:
        """Number of channels C."""
        return self.stack.shape[1]

    @property
    def frame_shape(self) -> tuple[int, int]:
        """``(Y, X)``."""
        return self.stack.shape[2], self.stack.shape[3]

    @property
    def dtype(self) -> np.dtype[Any]:
        """dtype of the image stack."""
        return self.stack.dtype

    @property
    def channel_names(self) -> list[str]:
        """Channel names in stack order."""
        return list(self._channel_names)

    @property
    def pixel_size_um(self) -> float | None:
        """µm per pixel, or None when unknown (set it to export Celldetective samples)."""
        return self._pixel_size_um

    @pixel_size_um.setter
    def pixel_size_um(self, value: float | None) -> None:
        if value is not None:
            v = float(value)
            if not np.isfinite(v) or v <= 0:
                raise ValueError(
                    f"pixel_size_um must be a positive number of µm per pixel; got {value!r}"
                )
            value = v
        self._pixel_size_um = value

    def _channel_index(self, channel: int | str) -> int:
        if isinstance(channel, str):
            if channel not in self._channel_names:
                raise KeyError(f"unknown channel {channel!r}; channels are {self._channel_names}")
            return self._channel_names.index(channel)
        c = int(channel)
        if not -self.n_channels <= c < self.n_channels:
            raise IndexError(f"channel {channel} is out of range for {self.n_channels} channel(s)")
        return c % self.n_channels

    def image(self, frame: int, channels: Sequence[int | str] | None = None) -> npt.NDArray[Any]:
        """Frame ``frame`` as ``(C, Y, X)`` (only that frame is read from disk).

        Parameters
        ----------
        frame : int
            Frame index.
        channels : sequence of int or str, optional
            Channels to return, by index or name (default: all).
        """
        t = self.stack.check_frame(frame)
        with self._lock:
            data = self._cache.get(t)
            if data is None:
                data = self.stack.frame(t)
                data.flags.writeable = False
                self._cache[t] = data
                while len(self._cache) > 2:
                    self._cache.popitem(last=False)
            else:
                self._cache.move_to_end(t)
        if channels is None:
            return data
        return data[[self._channel_index(c) for c in channels]]

    # ------------------------------------------------------------ populations
    @property
    def populations(self) -> list[str]:
        """Population names, in the order they were added."""
        return list(self._pops)

    def add_population(self, name: str) -> None:
        """Add an (empty, or read from ``labels_<name>/``) population.

        Names are lowercase letters, digits, ``_`` and ``-`` (``"targets"``, ``"effectors"``).
        """
        check_population_name(name)
        if name in self._pops:
            raise ValueError(
                f"population {name!r} already exists; populations are {self.populations}"
            )
        t, _, y, x = self.shape
        folder = self.source.default_labels_folder(name)
        self._pops[name] = _Population(name, (t, y, x), self._label_loader(folder))

    @staticmethod
    def _label_loader(folder: Path | None) -> Callable[[int], npt.NDArray[Any] | None]:
        def load(t: int) -> npt.NDArray[Any] | None:
            if folder is None:
                return None
            path = folder / f"{t:04d}.tif"
            if not path.is_file():
                return None
            try:
                return np.asarray(tifffile.imread(path))
            except Exception as err:
                raise StackError(f"cannot read the label file {path}: {err}") from err

        return load

    def _pop(self, population: str) -> _Population:
        if population not in self._pops:
            if isinstance(population, str) and _NAME_RE.fullmatch(population):
                raise KeyError(
                    f"unknown population {population!r}; populations are {self.populations}. "
                    f"Add it with session.add_population({population!r})"
                )
            check_population_name(population)
        return self._pops[population]

    def labels(self, population: str, frame: int | None = None) -> Any:
        """A population's labels: ``(T, Y, X)`` :class:`LabelStack`, or one frame ``(Y, X)``.

        Returned arrays are read-only views; edit through :meth:`paint`, :meth:`fill`,
        :meth:`apply_patch` or :meth:`set_labels` so that undo and the widget stay in sync.
        """
        pop = self._pop(population)
        if frame is None:
            return LabelStack(pop)
        with self._lock:
            return pop.view(self.stack.check_frame(frame))

    def set_method(self, population: str, method: str, params: Mapping[str, Any]) -> None:
        """Record how a population's masks were pre-segmented (written into exported sidecars)."""
        self._pop(population).method = {"method": str(method), "params": dict(params)}

    def method(self, population: str) -> dict[str, Any] | None:
        """How a population was pre-segmented (``{"method", "params"}``), or None."""
        return self._pop(population).method

    # ------------------------------------------------------------------ edits
    def _roi_box(self, roi: ROI | Sequence[int] | None, frame: int) -> BBox | None:
        if roi is None:
            return None
        if isinstance(roi, ROI):
            if roi.frame != frame:
                raise ValueError(f"roi is on frame {roi.frame} but the edit is on frame {frame}")
            return roi.bbox
        return check_bbox(roi, self.frame_shape, name="roi")

    def _commit(
        self,
        population: str,
        frame: int,
        bbox: BBox,
        values: npt.NDArray[np.uint32] | int,
        mask: npt.NDArray[np.bool_] | None,
        *,
        origin: Any = None,
    ) -> Change | None:
        """Write ``values`` into ``bbox`` (where ``mask``), record one undo step, notify."""
        pop = self._pop(population)
        t = self.stack.check_frame(frame)
        with self._lock:
            arr = pop.writable(t)
            region = arr[bbox_slices(bbox)]
            new = region.copy()
            if mask is None:
                new[...] = values
            elif isinstance(values, np.ndarray):
                new[mask] = values[mask]
            else:
                new[mask] = values
            changed = new != region
            if not changed.any():
                return None
            box, _ = tight_bbox(changed)
            sub = bbox_slices(box)
            old_vals, new_vals = region[sub].copy(), new[sub]
            abs_box = (bbox[0] + box[0], bbox[0] + box[1], bbox[2] + box[2], bbox[2] + box[3])
            self._write(pop, t, abs_box, new_vals, old_vals)
            self._history.push(
                Edit(population, t, abs_box, old_vals, np.ascontiguousarray(new_vals))
            )
            self._log(population, t, abs_box, new_vals)
        return self._emit(population, t, abs_box, origin=origin)

    def _write(
        self,
        pop: _Population,
        t: int,
        bbox: BBox,
        new: npt.NDArray[np.uint32],
        old: npt.NDArray[np.uint32],
    ) -> None:
        arr = pop.writable(t)
        arr[bbox_slices(bbox)] = new
        pop.dirty.add(t)
        top = int(new.max()) if new.size else 0
        known = pop.maxima.get(t)
        if known is not None:
            if top >= known:
                pop.maxima[t] = top
            elif old.size and int(old.max()) >= known:
                del pop.maxima[t]  # the maximum may have been erased: recompute when asked

    def _emit(self, population: str, frame: int, bbox: BBox, *, origin: Any = None) -> Change:
        errors: list[BaseException] = []
        for cb in list(self._callbacks):
            try:
                cb(population, frame, bbox, origin)
            except Exception as err:  # keep notifying the others, then report
                errors.append(err)
        if errors:
            raise RuntimeError(
                f"an on_change callback failed after the edit was applied: {errors[0]!r}"
            ) from errors[0]
        return Change(population, frame, bbox, origin=origin)

    def paint(
        self,
        population: str,
        frame: int,
        points: npt.ArrayLike,
        radius: float,
        label: int,
        *,
        preserve_labels: bool = False,
        roi: RoiClip = None,
        clip_to_rois: bool = False,
        origin: Any = None,
    ) -> Change | None:
        """Paint ``label`` along a polyline of ``(row, col)`` points with a round brush.

        Parameters
        ----------
        population, frame
            Which labels to edit.
        points : array_like, shape (n, 2)
            Polyline vertices; consecutive points are joined, so fast strokes have no gaps.
        radius : float
            Brush radius in pixels.
        label : int
            Label to paint (0 erases).
        preserve_labels : bool
            Only paint over background (0), leaving other cells untouched.
        roi : ROI, (row0, row1, col0, col1), or a list of them, optional
            Pixels outside it (outside all of them) are never changed.
        clip_to_rois : bool
            Change only pixels inside the frame's ROIs (:meth:`rois`); an error when it has none.
        origin : object, optional
            Passed to change notifications (``Change.origin``), so a caller recognises its own
            edits (the widget does not echo its strokes back to the browser).

        Returns
        -------
        Change or None
            The changed box, or None when nothing changed.
        """
        t = self.stack.check_frame(frame)
        value = check_label(label)
        clip, boxes = self._edit_clip(roi, clip_to_rois, t)
        hit = stroke_mask(self.frame_shape, points, radius, clip=clip)
        if hit is None:
            return None
        bbox, mask = hit
        if boxes is not None:
            mask = mask & self._inside(boxes, bbox)
        if preserve_labels:
            mask = mask & (self._pop(population).view(t)[bbox_slices(bbox)] == 0)
        return self._commit(population, t, bbox, value, mask, origin=origin)

    def erase(
        self,
        population: str,
        frame: int,
        points: npt.ArrayLike,
        radius: float,
        *,
        roi: RoiClip = None,
        clip_to_rois: bool = False,
        origin: Any = None,
    ) -> Change | None:
        """Set labels to 0 along a polyline (the eraser). See :meth:`paint`."""
        return self.paint(
            population, frame, points, radius, 0, roi=roi, clip_to_rois=clip_to_rois, origin=origin
        )

    def fill(
        self,
        population: str,
        frame: int,
        seed: Sequence[int],
        label: int,
        *,
        roi: RoiClip = None,
        clip_to_rois: bool = False,
        connectivity: int = 1,
        origin: Any = None,
    ) -> Change | None:
        """Flood-fill the contiguous region of the seed's label with ``label`` (0 deletes a cell).

        With several ROIs (``roi=[...]`` or ``clip_to_rois=True``) the fill spreads only through
        pixels inside them, like the widget's locked fill; a seed outside them changes nothing.
        See :meth:`paint` for ``roi``, ``clip_to_rois`` and ``origin``.
        """
        t = self.stack.check_frame(frame)
        value = check_label(label)
        clip, boxes = self._edit_clip(roi, clip_to_rois, t)
        try:
            r, c = (int(v) for v in seed)
        except (TypeError, ValueError) as err:
            raise TypeError(f"seed must be a (row, col) pair of integers; got {seed!r}") from err
        with self._lock:
            labels = self._pop(population).view(t)
            if boxes is not None and len(boxes) > 1:
                h, w = self.frame_shape
                if (
                    0 <= r < h
                    and 0 <= c < w
                    and not self._inside(boxes, (r, r + 1, c, c + 1))[0, 0]
                ):
                    raise ValueError(
                        f"seed {(r, c)} is outside the ROIs {[list(b) for b in boxes]}; pick a "
                        "pixel inside one, or edit without the ROI clip"
                    )
                # Pixels outside the ROIs get a value other than the seed's: the fill stops there.
                labels = np.array(labels)
                outside = ~self._inside(boxes, (0, h, 0, w))
                if 0 <= r < h and 0 <= c < w:
                    labels[outside] = labels[r, c] ^ 1
            bbox, mask = fill_mask(labels, (r, c), connectivity=connectivity, clip=clip)
            return self._commit(population, t, bbox, value, mask, origin=origin)

    def apply_patch(
        self,
        population: str,
        frame: int,
        bbox: Sequence[int],
        values: npt.ArrayLike | int,
        *,
        mask: npt.ArrayLike | None = None,
        roi: RoiClip = None,
        clip_to_rois: bool = False,
        origin: Any = None,
    ) -> Change | None:
        """Write a block of label values (what the widget sends at the end of a stroke).

        Parameters
        ----------
        bbox : (row0, row1, col0, col1)
            Half-open box inside the frame.
        values : array_like, shape (row1 - row0, col1 - col0), or int
            New labels for the box, or one label for every pixel of ``mask``.
        mask : array_like of bool, optional
            Only pixels where it is True are written.
        roi, clip_to_rois, origin
            As in :meth:`paint`: pixels outside the ROI(s) are never written.
        """
        t = self.stack.check_frame(frame)
        box = check_bbox(bbox, self.frame_shape)
        shape = (box[1] - box[0], box[3] - box[2])
        vals: npt.NDArray[np.uint32] | int
        if isinstance(values, int | np.integer):
            vals = check_label(int(values), name="values")
        else:
            vals = as_label_image(values, name="values", shape=shape)
        m = None
        if mask is not None:
            m = np.asarray(mask)
            if m.shape != shape or m.dtype != bool:
                raise ValueError(
                    f"mask must be a boolean array of shape {shape}; got {m.dtype} {m.shape}"
                )
        _, boxes = self._edit_clip(roi, clip_to_rois, t)
        if boxes is not None:
            inside = self._inside(boxes, box)
            m = inside if m is None else m & inside
        return self._commit(population, t, box, vals, m, origin=origin)

    def set_labels(
        self, population: str, frame: int, labels: npt.ArrayLike, *, origin: Any = None
    ) -> Change | None:
        """Replace a whole frame's labels (one undo step), e.g. with a pre-segmentation result."""
        t = self.stack.check_frame(frame)
        vals = as_label_image(labels, name="labels", shape=self.frame_shape)
        return self._commit(
            population,
            t,
            (0, self.frame_shape[0], 0, self.frame_shape[1]),
            vals,
            None,
            origin=origin,
        )

    def new_label(self, population: str) -> int:
        """The next unused label over all frames of the population (napari's ``m``)."""
        with self._lock:
            return next_label(self._pop(population).max_label())

    # --------------------------------------------------------------- journal
    def _log(self, population: str, frame: int, bbox: BBox, values: npt.NDArray[np.uint32]) -> None:
        if self._journal is None:
            return
        try:
            self._journal.append(population, frame, bbox, values)
        except OSError as err:  # a read-only folder must not stop the user from editing
            logger.warning(
                "segpaint: autosave journal disabled, cannot write %s: %s", self._journal.path, err
            )
            self._journal = None

    @property
    def journal_path(self) -> Path | None:
        """The autosave journal (every edit since the last save), or None when there is none."""
        return self._journal.path if self._journal is not None else None

    @property
    def pending_edits(self) -> int:
        """Edits an earlier session journaled but never saved (see :meth:`recover`)."""
        if self._pending is None or not self._pending.is_file():
            return 0
        return sum(1 for _ in read_journal(self._pending))

    def recover(self) -> list[Change]:
        """Apply the edits an earlier session journaled but never saved (e.g. before a crash).

        Each becomes an undoable edit of this session; the pending journal is then deleted.
        Edits of populations this session does not have are added as new populations.
        """
        if self._pending is None or not self._pending.is_file():
            return []
        changes = []
        for rec in read_journal(self._pending):
            if rec.population not in self._pops:
                self.add_population(rec.population)
            change = self.apply_patch(rec.population, rec.frame, rec.bbox, rec.values)
            if change is not None:
                changes.append(change)
        self.discard_pending()
        return changes

    def discard_pending(self) -> None:
        """Delete the edits an earlier session journaled but never saved."""
        if self._pending is not None:
            self._pending.unlink(missing_ok=True)
            self._pending = None

    # --------------------------------------------------------------- history
    @property
    def can_undo(self) -> bool:
        """Whether :meth:`undo` has a step to undo."""
        return self._history.can_undo

    @property
    def can_redo(self) -> bool:
        """Whether :meth:`redo` has a step to redo."""
        return self._history.can_redo

    def undo(self, *, origin: Any = None) -> Change | None:
        """Undo the newest edit (any frame, any population); returns what changed, or None."""
        with self._lock:
            edit = self._history.pop_undo()
            if edit is None:
                return None
            self._write(self._pops[edit.population], edit.frame, edit.bbox, edit.old, edit.new)
            self._log(edit.population, edit.frame, edit.bbox, edit.old)
        return self._emit(edit.population, edit.frame, edit.bbox, origin=origin)

    def redo(self, *, origin: Any = None) -> Change | None:
        """Redo the newest undone edit; returns what changed, or None."""
        with self._lock:
            edit = self._history.pop_redo()
            if edit is None:
                return None
            self._write(self._pops[edit.population], edit.frame, edit.bbox, edit.new, edit.old)
            self._log(edit.population, edit.frame, edit.bbox, edit.new)
        return self._emit(edit.population, edit.frame, edit.bbox, origin=origin)

    @property
    def history(self) -> History:
        """The undo history (``budget_bytes`` may be changed)."""
        return self._history

    def on_change(self, callback: ChangeCallback) -> Callable[[], None]:
        """Call ``callback(population, frame, bbox)`` after every edit, undo and redo.

        Returns a function that unsubscribes it.
        """
        if not callable(callback):
            raise TypeError(f"callback must be callable; got {callback!r}")
        return self._callbacks.connect(lambda p, f, b, origin: callback(p, f, b))

    def on_roi_change(self, callback: RoiCallback) -> Callable[[], None]:
        """Call ``callback(frame)`` after :meth:`add_roi` or :meth:`remove_roi` changed the ROIs
        of ``frame`` (adding an ROI that is already there changes nothing and calls nothing).

        Returns a function that unsubscribes it. A failing callback does not undo the change:
        the others are still called, then a ``RuntimeError`` reports it.

        Examples
        --------
        >>> import numpy as np, segpaint
        >>> session = segpaint.open(np.zeros((2, 32, 32), np.uint16), axes="TYX")
        >>> seen = []
        >>> unsubscribe = session.on_roi_change(seen.append)
        >>> roi = session.add_roi(1, rows=(0, 8), cols=(0, 8))
        >>> session.remove_roi(roi)
        >>> unsubscribe()
        >>> _ = session.add_roi(0, rows=(0, 8), cols=(0, 8))
        >>> seen
        [1, 1]
        """
        return self._roi_callbacks.connect(callback)

    def _emit_roi(self, frame: int) -> None:
        self._roi_callbacks.emit(frame)

    # ------------------------------------------------------------------ ROIs
    def add_roi(self, frame: int, rows: Sequence[int], cols: Sequence[int]) -> ROI:
        """Add a rectangle ROI on ``frame``: half-open ``rows=(r0, r1)``, ``cols=(c0, c1)``.

        The box is clipped to the image; an empty or reversed box is an error.
        """
        roi = self._new_roi(frame, rows, cols)
        t = roi.frame
        with self._lock:
            items = self._rois.setdefault(t, [])
            added = roi not in items
            if added:
                items.append(roi)
        if added:
            self._emit_roi(t)
        return roi

    def rois(self, frame: int | None = None) -> list[ROI]:
        """ROIs of one frame, or of all frames (by frame, then in the order they were added)."""
        if frame is None:
            return [r for t in sorted(self._rois) for r in self._rois[t]]
        return list(self._rois.get(self.stack.check_frame(frame), []))

    def remove_roi(self, roi: ROI) -> None:
        """Remove an ROI returned by :meth:`add_roi`."""
        items = self._rois.get(roi.frame, []) if isinstance(roi, ROI) else []
        if roi not in items:
            raise KeyError(f"{roi!r} is not an ROI of this session; see session.rois()")
        items.remove(roi)
        self._emit_roi(roi.frame)

    # ------------------------------------------------- widget behaviours owned by the Session
    # (edit notifications with origin and next label, ROI clips, moving ROIs, exporting a frame)
    def on_edit(self, callback: Callable[[Change], Any]) -> Callable[[], None]:
        """Call ``callback(change)`` after every edit, undo and redo, with a :class:`Change` that
        carries its ``origin`` and the population's ``next_label`` (0 when none is left).

        This is :meth:`on_change` with more to say: the one place that knows the next unused
        label, and who asked for the change. Returns a function that unsubscribes it.

        Examples
        --------
        >>> import numpy as np, segpaint
        >>> session = segpaint.open(np.zeros((1, 16, 16), np.uint8), axes="TYX")
        >>> seen = []
        >>> stop = session.on_edit(seen.append)
        >>> _ = session.paint("cells", 0, [(4, 4)], 2, 7, origin="me")
        >>> seen[0].origin, seen[0].next_label
        ('me', 8)
        """
        if not callable(callback):
            raise TypeError(f"callback must be callable; got {callback!r}")

        def call(population: str, frame: int, bbox: BBox, origin: Any) -> None:
            nxt = self._next_label_or_zero(population)
            callback(Change(population, frame, bbox, origin=origin, next_label=nxt))

        return self._callbacks.connect(call)

    def _next_label_or_zero(self, population: str) -> int:
        try:
            return self.new_label(population)
        except ValueError:  # the largest uint32 label is in use
            return 0

    def _new_roi(self, frame: int, rows: Sequence[int], cols: Sequence[int]) -> ROI:
        """Validate and clip a box to an ROI of ``frame`` (not yet added)."""
        t = self.stack.check_frame(frame)
        try:
            r0, r1 = (int(v) for v in rows)
            c0, c1 = (int(v) for v in cols)
        except (TypeError, ValueError, OverflowError) as err:
            raise TypeError(
                f"rows and cols must be (start, stop) integer pairs; got {rows!r}, {cols!r}"
            ) from err
        if r1 <= r0 or c1 <= c0:
            raise ValueError(
                f"ROI rows={rows!r}, cols={cols!r} is empty or reversed; pass (start, stop) with "
                "start < stop, e.g. rows=(100, 356)"
            )
        h, w = self.frame_shape
        cr0, cr1, cc0, cc1 = max(r0, 0), min(r1, h), max(c0, 0), min(c1, w)
        if cr1 <= cr0 or cc1 <= cc0:
            raise ValueError(
                f"ROI rows={rows!r}, cols={cols!r} lies outside the {h}x{w} image; "
                f"use rows within 0..{h} and cols within 0..{w}"
            )
        return ROI(t, cr0, cr1, cc0, cc1)

    def move_roi(
        self, roi: ROI, rows: Sequence[int] | None = None, cols: Sequence[int] | None = None
    ) -> ROI:
        """Move or resize an ROI in one step: it keeps its place in :meth:`rois` and listeners
        hear one change. Omitted ``rows``/``cols`` keep the old ones; the box is clipped to the
        image. Moving onto an identical ROI of the frame merges the two.

        Examples
        --------
        >>> import numpy as np, segpaint
        >>> session = segpaint.open(np.zeros((1, 64, 64), np.uint8), axes="TYX")
        >>> roi = session.add_roi(0, rows=(0, 10), cols=(0, 10))
        >>> session.move_roi(roi, rows=(20, 30)).bbox
        (20, 30, 0, 10)
        """
        items = self._rois.get(roi.frame, []) if isinstance(roi, ROI) else []
        if roi not in items:
            raise KeyError(f"{roi!r} is not an ROI of this session; see session.rois()")
        new = self._new_roi(
            roi.frame, roi.rows if rows is None else rows, roi.cols if cols is None else cols
        )
        if new == roi:
            return roi
        with self._lock:
            if new in items:
                items.remove(roi)
            else:
                items[items.index(roi)] = new
        self._emit_roi(roi.frame)
        return new

    def _edit_clip(
        self, roi: RoiClip, clip_to_rois: bool, frame: int
    ) -> tuple[BBox | None, list[BBox] | None]:
        """The clip of an edit: the bounding box for the rasteriser and the boxes (or None)."""
        if clip_to_rois:
            if roi is not None:
                raise ValueError("pass roi= or clip_to_rois=True, not both")
            boxes = [r.bbox for r in self.rois(frame)]
            if not boxes:
                raise ValueError(
                    f"clip_to_rois=True but frame {frame} has no ROI; add one with "
                    "session.add_roi(frame, rows=..., cols=...) or edit without the clip"
                )
        elif roi is None:
            return None, None
        elif (
            isinstance(roi, list | tuple)
            and roi
            and all(isinstance(r, ROI | list | tuple) for r in roi)
        ):
            boxes = [self._roi_box(r, frame) or (0, 0, 0, 0) for r in roi]
        else:
            box = self._roi_box(roi, frame)
            return box, None if box is None else [box]
        union = (
            min(b[0] for b in boxes),
            max(b[1] for b in boxes),
            min(b[2] for b in boxes),
            max(b[3] for b in boxes),
        )
        return union, boxes

    @staticmethod
    def _inside(boxes: Sequence[BBox], bbox: BBox) -> npt.NDArray[np.bool_]:
        """Mask over ``bbox`` of the pixels inside any of ``boxes``."""
        r0, r1, c0, c1 = bbox
        inside = np.zeros((r1 - r0, c1 - c0), bool)
        for box in boxes:
            a, b, c, d = max(box[0], r0), min(box[1], r1), max(box[2], c0), min(box[3], c1)
            if a < b and c < d:
                inside[a - r0 : b - r0, c - c0 : d - c0] = True
        return inside

    def export_rois(
        self,
        population: str,
        frame: int,
        *,
        format: str = "celldetective",
        folder: str | Path | None = None,
        overwrite: bool = False,
        pad: bool | None = None,
    ) -> list[RoiExport]:
        """Export every ROI of ``frame`` (see :meth:`export_roi`), reporting each: a sample that
        cannot be written (it exists, a missing pixel size) does not stop the others.

        Returns
        -------
        list of RoiExport
            One per ROI of the frame, in order (empty when the frame has none): ``files``
            written, or ``error`` saying why not.
        """
        check_format(format)
        self._pop(population)
        out: list[RoiExport] = []
        for roi in self.rois(frame):
            try:
                files = self.export_roi(
                    population, roi, format=format, folder=folder, overwrite=overwrite, pad=pad
                )
            except (ExportError, OSError, ValueError) as err:
                out.append(RoiExport(roi, [], str(err)))
            else:
                out.append(RoiExport(roi, files))
        return out

    # ----------------------------------------------------------------- export
    @staticmethod
    def _folder(folder: str | Path | None, default: Path | None, verb: str) -> Path:
        """``folder`` if given, else the source's default; arrays have none."""
        if folder is not None:
            return Path(folder)
        if default is None:
            raise ValueError(
                "folder= is required: this session was opened from an array, so there is no "
                f"experiment or file to {verb} beside"
            )
        return default

    def _export_folder(self, population: str, format: str, folder: str | Path | None) -> Path:
        return self._folder(folder, self.source.default_export_folder(population, format), "export")

    def sample_stem(self, roi: ROI) -> str:
        """``{experiment}_{position}_{frame:04d}_roi_{row0}_{row1}_{col0}_{col1}``."""
        return f"{self.source.name}_{roi.frame:04d}_roi_{roi.row0}_{roi.row1}_{roi.col0}_{roi.col1}"

    def export_roi(
        self,
        population: str,
        roi: ROI,
        *,
        format: str = "celldetective",
        folder: str | Path | None = None,
        overwrite: bool = False,
        pad: bool | None = None,
    ) -> list[Path]:
        """Export the crop of an ROI (all channels + the population's mask + sidecar JSON).

        Parameters
        ----------
        population : str
            Whose masks to export.
        roi : ROI
            From :meth:`add_roi`.
        format : {"celldetective", "cellpose", "stardist"}
            Layout of the files (see the README).
        folder : path, optional
            Default: ``annotations_<population>`` at the experiment root, or beside the file.
        overwrite : bool
            Replace an existing sample with the same name (otherwise an error).
        pad : bool, optional
            Zero-pad crops under 256 px to 256 (default: yes for celldetective and stardist).

        Returns
        -------
        list of Path
            The image, mask and sidecar written.
        """
        fmt = check_format(format)
        if not isinstance(roi, ROI):
            raise TypeError(
                f"roi must be an ROI from session.add_roi(frame, rows=..., cols=...); got {roi!r}"
            )
        pop = self._pop(population)
        check_bbox(roi.bbox, self.frame_shape, name="roi")
        if fmt == "celldetective" and self.pixel_size_um is None:
            raise ExportError(
                "Celldetective samples need the pixel size: set session.pixel_size_um = <µm per "
                "pixel> (or pass pixel_size_um= to segpaint.open), or export with format='cellpose'"
            )
        rows, cols = bbox_slices(roi.bbox)
        image = np.array(self.image(roi.frame)[:, rows, cols])
        with self._lock:
            labels = np.array(pop.view(roi.frame)[bbox_slices(roi.bbox)])
        pos = self.source.position
        sidecar: dict[str, Any] = {
            "spatial_calibration": self.pixel_size_um,
            "channels": self.channel_names,
            "frame": roi.frame,
            "population": population,
            "roi": {
                "frame": roi.frame,
                "row0": roi.row0,
                "row1": roi.row1,
                "col0": roi.col0,
                "col1": roi.col1,
            },
            "source": str(self.source.path) if self.source.path else self.source.kind,
            "experiment": pos.name if pos else None,
            "well": pos.well if pos else None,
            "position": pos.position if pos else None,
            "frame_interval_min": self.frame_interval_min,
            "method": pop.method,
            "segpaint_version": __version__,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        return write_sample(
            self._export_folder(population, fmt, folder),
            self.sample_stem(roi),
            image,
            labels,
            sidecar,
            format=fmt,
            pad=pad,
            overwrite=overwrite,
        )

    def save_labels(
        self, population: str, *, folder: str | Path | None = None, all_frames: bool = False
    ) -> list[Path]:
        """Write edited frames to ``labels_<population>/{t:04d}.tif`` (YX), atomically.

        Parameters
        ----------
        folder : path, optional
            Default: ``labels_<population>`` in the experiment position, or beside the file.
        all_frames : bool
            Write every frame that has labels, not only the edited ones.
        """
        pop = self._pop(population)
        target = self._folder(folder, self.source.default_labels_folder(population), "save")
        with self._lock:
            frames = sorted(pop.frames) if all_frames else sorted(pop.dirty)
            snapshot = {t: pop.frames[t].copy() for t in frames if t in pop.frames}
        written = [write_label_frame(target / f"{t:04d}.tif", arr) for t, arr in snapshot.items()]
        with self._lock:
            pop.dirty.difference_update(snapshot)
            if self._journal is not None and not any(p.dirty for p in self._pops.values()):
                self._journal.clear()  # every edit is on disk now
        return written

    def samples(
        self,
        population: str,
        *,
        format: str = "celldetective",
        folder: str | Path | None = None,
    ) -> list[Sample]:
        """Samples already exported for a population (read from the sidecars on disk)."""
        fmt = check_format(format)
        self._pop(population)
        base = self._export_folder(population, fmt, folder)
        side_dir = sample_paths(base, "x", fmt).sidecar.parent
        out = []
        for side in sorted(side_dir.glob("*.json")):
            paths = sample_paths(base, side.stem, fmt)
            if paths.image.is_file() and paths.mask.is_file():
                out.append(Sample(paths.image, paths.mask, side, read_sidecar(side)))
        return out

    # ------------------------------------------------------------ other layers
    def presegment(self, population: str, method: str = "threshold", **kwargs: Any) -> Any:
        """Pre-segment frames of a population; see :func:`segpaint._presegment.presegment`."""
        from segpaint._presegment import presegment

        return presegment(self, population, method, **kwargs)

    def annotator(self, population: str | None = None, **kwargs: Any) -> Annotator:
        """An :class:`segpaint.Annotator` widget bound to this session."""
        from segpaint.widgets import Annotator

        return Annotator(self, population=population, **kwargs)

    def __repr__(self) -> str:
        t, c, y, x = self.shape
        return (
            f"<Session {self.source.name!r}: {t} frame(s) x {c} channel(s) {self.channel_names} of "
            f"{y}x{x} {self.dtype}, populations {self.populations}>"
        )


def open(
    source: Any,
    *,
    axes: str | None = None,
    channel_names: Sequence[str] | None = None,
    pixel_size_um: float | None = None,
    frame_interval_min: float | None = None,
    populations: Sequence[str] | None = None,
    labels: Mapping[str, npt.ArrayLike] | None = None,
    well: str | None = None,
    position: str | int | None = None,
    name: str | None = None,
    history_bytes: int = DEFAULT_BUDGET,
    journal: bool | str | Path = True,
) -> Session:
    """Open images to annotate and return a :class:`Session`.

    Parameters
    ----------
    source : ndarray, path to a TIFF / OME-TIFF / ImageJ file, folder of TIFFs, or a Celldetective experiment
        Files are read lazily: opening reads metadata only, and showing a frame reads that frame.
        A Celldetective experiment can be given as a position folder (``W1/100``) or as the
        experiment root plus ``well=`` and ``position=``.
    axes : str, optional
        One letter per dimension (``"YX"``, ``"TYX"``, ``"CYX"``, ``"TCYX"``, ``"TYXC"``) when the
        shape or file metadata do not say; ambiguous shapes are an error that shows what to pass.
    channel_names, pixel_size_um, frame_interval_min : optional
        Override what the file or config.ini says.
    populations : sequence of str, optional
        Default: the experiment's ``[Populations]`` (``effectors, targets`` when absent), or
        ``["cells"]``.
    labels : mapping of population -> array, optional
        Initial labels ``(T, Y, X)`` (or ``(Y, X)`` for one frame) per population.
    name : str, optional
        Prefix of exported sample names (default: ``<experiment>_<position>`` or the file stem).
    journal : bool or path
        Autosave every edit to a journal so that a kernel crash loses nothing (default: a hidden
        ``.segpaint/`` folder beside files and experiments; arrays need a path). Edits left by a
        session that never saved are reported by ``session.pending_edits`` and applied by
        ``session.recover()``. ``False`` turns it off.

    Examples
    --------
    >>> import numpy as np, segpaint
    >>> s = segpaint.open(np.zeros((3, 64, 64), np.uint16), axes="TYX")
    >>> s.shape, s.populations
    ((3, 1, 64, 64), ['cells'])
    """
    stack, src = read_source(source, axes=axes, well=well, position=position, name=name)
    pops = list(populations) if populations is not None else None
    if labels is not None and pops is not None:
        pops += [p for p in labels if p not in pops]
    session = Session(
        stack,
        src,
        channel_names=channel_names,
        pixel_size_um=pixel_size_um,
        frame_interval_min=frame_interval_min,
        populations=pops,
        history_bytes=history_bytes,
        journal=journal,
    )
    for pop_name, arr in (labels or {}).items():
        if pop_name not in session.populations:
            session.add_population(pop_name)
        data = np.asarray(arr)
        if data.ndim == 2:
            data = data[np.newaxis]
        expected = (session.n_frames, *session.frame_shape)
        if data.shape != expected:
            raise ValueError(
                f"labels[{pop_name!r}] has shape {np.asarray(arr).shape}; expected {expected} "
                f"(T, Y, X) or {session.frame_shape} for a single frame"
            )
        checked = as_label_image(data, name=f"labels[{pop_name!r}]")
        pop = session._pops[pop_name]
        for t in range(len(checked)):
            if checked[t].any():
                pop.frames[t] = np.array(checked[t])
                pop.loaded.add(t)
    session.history.clear()
    return session
