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
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import tifffile

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
        self._callbacks: list[ChangeCallback] = []
        self._roi_callbacks: list[RoiCallback] = []
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
        return self._emit(population, t, abs_box)

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

    def _emit(self, population: str, frame: int, bbox: BBox) -> Change:
        errors: list[BaseException] = []
        for cb in list(self._callbacks):
            try:
                cb(population, frame, bbox)
            except Exception as err:  # keep notifying the others, then report
                errors.append(err)
        if errors:
            raise RuntimeError(
                f"an on_change callback failed after the edit was applied: {errors[0]!r}"
            ) from errors[0]
        return Change(population, frame, bbox)

    def paint(
        self,
        population: str,
        frame: int,
        points: npt.ArrayLike,
        radius: float,
        label: int,
        *,
        preserve_labels: bool = False,
        roi: ROI | Sequence[int] | None = None,
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
        roi : ROI or (row0, row1, col0, col1), optional
            Pixels outside it are never changed.

        Returns
        -------
        Change or None
            The changed box, or None when nothing changed.
        """
        t = self.stack.check_frame(frame)
        value = check_label(label)
        clip = self._roi_box(roi, t)
        hit = stroke_mask(self.frame_shape, points, radius, clip=clip)
        if hit is None:
            return None
        bbox, mask = hit
        if preserve_labels:
            mask = mask & (self._pop(population).view(t)[bbox_slices(bbox)] == 0)
        return self._commit(population, t, bbox, value, mask)

    def erase(
        self,
        population: str,
        frame: int,
        points: npt.ArrayLike,
        radius: float,
        *,
        roi: ROI | Sequence[int] | None = None,
    ) -> Change | None:
        """Set labels to 0 along a polyline (the eraser). See :meth:`paint`."""
        return self.paint(population, frame, points, radius, 0, roi=roi)

    def fill(
        self,
        population: str,
        frame: int,
        seed: Sequence[int],
        label: int,
        *,
        roi: ROI | Sequence[int] | None = None,
        connectivity: int = 1,
    ) -> Change | None:
        """Flood-fill the contiguous region of the seed's label with ``label`` (0 deletes a cell)."""
        t = self.stack.check_frame(frame)
        value = check_label(label)
        clip = self._roi_box(roi, t)
        try:
            r, c = (int(v) for v in seed)
        except (TypeError, ValueError) as err:
            raise TypeError(f"seed must be a (row, col) pair of integers; got {seed!r}") from err
        with self._lock:
            bbox, mask = fill_mask(
                self._pop(population).view(t), (r, c), connectivity=connectivity, clip=clip
            )
            return self._commit(population, t, bbox, value, mask)

    def apply_patch(
        self,
        population: str,
        frame: int,
        bbox: Sequence[int],
        values: npt.ArrayLike,
        *,
        mask: npt.ArrayLike | None = None,
    ) -> Change | None:
        """Write a block of label values (what the widget sends at the end of a stroke).

        Parameters
        ----------
        bbox : (row0, row1, col0, col1)
            Half-open box inside the frame.
        values : array_like, shape (row1 - row0, col1 - col0)
            New labels for the box.
        mask : array_like of bool, optional
            Only pixels where it is True are written.
        """
        t = self.stack.check_frame(frame)
        box = check_bbox(bbox, self.frame_shape)
        shape = (box[1] - box[0], box[3] - box[2])
        vals = as_label_image(values, name="values", shape=shape)
        m = None
        if mask is not None:
            m = np.asarray(mask)
            if m.shape != shape or m.dtype != bool:
                raise ValueError(
                    f"mask must be a boolean array of shape {shape}; got {m.dtype} {m.shape}"
                )
        return self._commit(population, t, box, vals, m)

    def set_labels(self, population: str, frame: int, labels: npt.ArrayLike) -> Change | None:
        """Replace a whole frame's labels (one undo step), e.g. with a pre-segmentation result."""
        t = self.stack.check_frame(frame)
        vals = as_label_image(labels, name="labels", shape=self.frame_shape)
        return self._commit(
            population, t, (0, self.frame_shape[0], 0, self.frame_shape[1]), vals, None
        )

    def new_label(self, population: str) -> int:
        """The next unused label over all frames of the population (napari's ``m``)."""
        with self._lock:
            return next_label(self._pop(population).max_label())

    # ------------------------------------------------------- assisted tools (issue 11)
    # Kernels live in segpaint.ops.assist (imported here, not at the top, so that this block
    # stays one contiguous piece of the file).
    _ASSIST_PARAMS = ("sigma", "h", "level", "max_half")

    def _assist_channels(
        self, t: int, channels: Sequence[int | str] | None, limits: Sequence[Sequence[float]] | None
    ) -> tuple[npt.NDArray[Any], list[tuple[float, float]]]:
        """The chosen channels of frame ``t`` and their contrast limits (given or default)."""
        from segpaint.ops.assist import default_limits

        if channels is not None and (isinstance(channels, str | int) or not len(channels)):
            raise TypeError(
                f"channels: expected a non-empty list of channel names or indices, got "
                f"{channels!r}; e.g. channels=[{self._channel_names[0]!r}]"
            )
        image = self.image(t, channels)
        if limits is None:
            # frames never change, so their percentiles are computed once per channel set
            cache: dict[tuple[int, tuple[int, ...]], list[tuple[float, float]]]
            cache = self.__dict__.setdefault("_assist_limits", {})
            picked = range(self.n_channels) if channels is None else channels
            key = (t, tuple(self._channel_index(c) for c in picked))
            if key not in cache:
                if len(cache) >= 32:
                    cache.clear()
                cache[key] = default_limits(image)
            return image, cache[key]
        try:
            pairs = [(float(lo), float(hi)) for lo, hi in limits]
        except (TypeError, ValueError) as err:
            raise TypeError(
                f"limits: expected one (low, high) pair per channel, got {limits!r}"
            ) from err
        if len(pairs) != image.shape[0]:
            raise ValueError(
                f"limits: got {len(pairs)} (low, high) pair(s) for {image.shape[0]} channel(s) "
                f"{list(channels) if channels is not None else self._channel_names}; pass one "
                "pair per channel"
            )
        return image, pairs

    def _assist_commit(
        self,
        population: str,
        t: int,
        bbox: BBox,
        values: npt.NDArray[np.uint32] | int,
        mask: npt.NDArray[np.bool_],
        *,
        clip: BBox | None,
        preserve_label: int | None = None,
    ) -> Change | None:
        """Commit ``values`` where ``mask``, never outside ``clip``; one undo step.

        With ``preserve_label`` set, pixels of any other label than it (and 0) are kept.
        """
        if clip is not None:
            box = (
                max(bbox[0], clip[0]),
                min(bbox[1], clip[1]),
                max(bbox[2], clip[2]),
                min(bbox[3], clip[3]),
            )
            if box[0] >= box[1] or box[2] >= box[3]:
                return None
            inner = (box[0] - bbox[0], box[1] - bbox[0], box[2] - bbox[2], box[3] - bbox[2])
            mask = mask[bbox_slices(inner)]
            if isinstance(values, np.ndarray):
                values = values[bbox_slices(inner)]
            bbox = box
        if preserve_label is not None:
            current = self._pop(population).view(t)[bbox_slices(bbox)]
            mask = mask & ((current == 0) | (current == preserve_label))
        if not mask.any():
            return None
        return self._commit(population, t, bbox, values, mask)

    def _new_labels(self, population: str, n: int) -> list[int]:
        first = self.new_label(population)
        last = next_label(first + n - 2) if n > 1 else first
        return list(range(first, last + 1))

    def segment_at(
        self,
        population: str,
        frame: int,
        point: Sequence[float],
        *,
        label: int | None = None,
        channels: Sequence[int | str] | None = None,
        roi: ROI | Sequence[int] | None = None,
        preserve_labels: bool = True,
        method: str = "auto",
        limits: Sequence[Sequence[float]] | None = None,
        positive: Sequence[Sequence[float]] = (),
        negative: Sequence[Sequence[float]] = (),
        **params: Any,
    ) -> Change | None:
        """Click inside a cell the pre-segmentation missed: that one cell becomes a label.

        ``method="auto"`` runs `segpaint.ops.region_at` (a local threshold between the
        window's background and the clicked object, in a window that grows with the object,
        then a distance watershed that cuts touching neighbours off).  Any other ``method``
        is a name `segpaint.segment.segment` knows (``"threshold"``, ``"CP_cyto3"``,
        ``"SD_versatile_fluo"``, a model folder ...): it runs on a crop of ``2 * window`` px
        around the click (``window=128`` by default) and the object under the click is kept.

        Parameters
        ----------
        population, frame
            Which labels to edit.
        point : (row, col)
            The click, inside the cell.
        label : int, optional
            Label to give the cell (default: `new_label`).  An existing label is re-segmented:
            its old pixels outside the new region (inside ``roi``) are cleared, so refining
            with more clicks is one undo step each.
        channels : sequence of int or str, optional
            Channels to look at (default: all); their contrast-normalised mean is used.
        roi : ROI or (row0, row1, col0, col1), optional
            The cell never leaves it; nothing outside it changes.
        preserve_labels : bool
            Never take pixels of other cells (default True).
        method : str
            ``"auto"`` (classical, no model) or a `segpaint.segment.segment` method.
        limits : sequence of (low, high), optional
            Contrast limits per chosen channel (the display contrast); default percentiles.
        positive, negative : sequence of (row, col)
            Refinement clicks: more of this cell / not this cell (``method="auto"`` only).
        **params
            ``method="auto"``: ``sigma``, ``h``, ``level``, ``max_half`` (see `region_at`).
            Otherwise ``window`` and the method's own parameters.

        Returns
        -------
        Change or None
            None when the click found nothing (background) or nothing changed.
        """
        from segpaint.ops.assist import region_at

        t = self.stack.check_frame(frame)
        clip = self._roi_box(roi, t)
        value = self.new_label(population) if label is None else check_label(label)
        if value == 0:
            raise ValueError("label: 0 is the background; pass label=None for a new label")
        image, pairs = self._assist_channels(t, channels, limits)
        current = self._pop(population).view(t)
        hit: tuple[BBox, npt.NDArray[np.bool_]] | None
        if method == "auto":
            unknown = sorted(set(params) - set(self._ASSIST_PARAMS))
            if unknown:
                raise TypeError(
                    f"segment_at: unknown parameter(s) {unknown} for method='auto'; check the "
                    f"spelling, known ones are {list(self._ASSIST_PARAMS)}"
                )
            hit = region_at(
                image,
                point,
                positive=positive,
                negative=negative,
                limits=pairs,
                labels=current if preserve_labels else None,
                label=value,
                clip=clip,
                **params,
            )
        else:
            if positive or negative:
                raise ValueError(
                    f"positive/negative: refinement clicks need method='auto', got {method!r}"
                )
            hit = self._segment_crop(t, point, image, method, clip=clip, **params)
        if hit is None:
            return None
        bbox, mask = hit
        old_cell = current == value if label is not None else None
        if old_cell is not None and old_cell.any():
            # re-segmenting an existing cell: clear its old pixels that the new region drops
            old_box, _ = tight_bbox(old_cell)
            whole = (
                min(bbox[0], old_box[0]),
                max(bbox[1], old_box[1]),
                min(bbox[2], old_box[2]),
                max(bbox[3], old_box[3]),
            )
            new = np.zeros((whole[1] - whole[0], whole[3] - whole[2]), bool)
            new[
                bbox[0] - whole[0] : bbox[1] - whole[0], bbox[2] - whole[2] : bbox[3] - whole[2]
            ] = mask
            region = current[bbox_slices(whole)]
            values = np.where(new, value, np.where(region == value, 0, region)).astype(LABEL_DTYPE)
            write = new | (region == value)
            if preserve_labels:
                write &= (region == 0) | (region == value)
            return self._assist_commit(population, t, whole, values, write, clip=clip)
        return self._assist_commit(
            population,
            t,
            bbox,
            value,
            mask,
            clip=clip,
            preserve_label=value if preserve_labels else None,
        )

    def _segment_crop(
        self,
        t: int,
        point: Sequence[float],
        image: npt.NDArray[Any],
        method: str,
        *,
        clip: BBox | None,
        window: int = 128,
        **params: Any,
    ) -> tuple[BBox, npt.NDArray[np.bool_]] | None:
        """Run a segmentation method on a crop around ``point``; the object under it."""
        from segpaint.segment import segment

        if isinstance(window, bool) or not isinstance(window, int) or not 16 <= window <= 1024:
            raise ValueError(f"window: expected an integer from 16 to 1024 px, got {window!r}")
        try:
            r, c = (int(np.floor(float(v) + 0.5)) for v in point)
        except (TypeError, ValueError) as err:
            raise TypeError(f"point: expected a (row, col) pair, got {point!r}") from err
        lim = clip if clip is not None else (0, self.frame_shape[0], 0, self.frame_shape[1])
        if not (lim[0] <= r < lim[1] and lim[2] <= c < lim[3]):
            raise ValueError(f"point: {(r, c)} is outside the image or the ROI {lim}")
        box = (
            max(lim[0], r - window),
            min(lim[1], r + window),
            max(lim[2], c - window),
            min(lim[3], c + window),
        )
        crop = image[:, box[0] : box[1], box[2] : box[3]]
        found = segment(crop, method, pixel_size_um=self.pixel_size_um, **params)
        hit = int(found[r - box[0], c - box[2]])
        if hit == 0:
            return None
        return tight_bbox(found == hit, offset=(box[0], box[2]))

    def wand(
        self,
        population: str,
        frame: int,
        point: Sequence[float],
        tolerance: float,
        *,
        label: int,
        channels: Sequence[int | str] | None = None,
        roi: ROI | Sequence[int] | None = None,
        preserve_labels: bool = False,
        limits: Sequence[Sequence[float]] | None = None,
    ) -> Change | None:
        """Magic wand: paint ``label`` on the 4-connected region of similar intensity.

        The rule is `segpaint.ops.wand_mask` (documented in docs/architecture.md so that the
        browser's wand gives the same pixels): channels normalised by ``limits`` (the display
        contrast; default percentiles 1-99.8), averaged, then every 4-connected pixel with
        ``abs(v - v[seed]) <= tolerance``.

        Parameters
        ----------
        point : (row, col)
            The seed.
        tolerance : float
            0..1, in normalised intensity.
        label : int
            Label to paint (0 erases the region).
        channels, roi, limits
            As in `segment_at`; the region never leaves ``roi``.
        preserve_labels : bool
            Only paint over background (and ``label`` itself).
        """
        from segpaint.ops.assist import wand_mask

        t = self.stack.check_frame(frame)
        value = check_label(label)
        clip = self._roi_box(roi, t)
        image, pairs = self._assist_channels(t, channels, limits)
        bbox, mask = wand_mask(image, point, tolerance, limits=pairs, clip=clip)
        return self._assist_commit(
            population,
            t,
            bbox,
            value,
            mask,
            clip=clip,
            preserve_label=value if preserve_labels else None,
        )

    def split(
        self,
        population: str,
        frame: int,
        label: int,
        seeds: Sequence[Any] | npt.NDArray[Any],
        *,
        channels: Sequence[int | str] | None = None,
        limits: Sequence[Sequence[float]] | None = None,
        roi: ROI | Sequence[int] | None = None,
    ) -> Change | None:
        """Split one cell by a seeded watershed; every part but the first gets a new label.

        Parameters
        ----------
        label : int
            The cell to split.
        seeds : sequence
            One entry per part, at least two: a click ``(row, col)`` or a drawn line
            ``[(row, col), ...]`` (its pixels are that part's seed).
        channels : sequence of int or str, optional
            When given, the watershed follows the intensity edges of these channels;
            otherwise it cuts the cell's shape at its necks (distance transform).
        limits, roi
            As in `segment_at`.  Pixels outside ``roi`` keep ``label``.

        Returns
        -------
        Change or None
            The part of ``seeds[0]`` keeps ``label``; the others get labels from `new_label`
            in order.
        """
        from segpaint.ops.assist import split_label

        t = self.stack.check_frame(frame)
        value = check_label(label)
        clip = self._roi_box(roi, t)
        try:
            strokes = [
                [s] if np.ndim(s) == 1 else s
                for s in (seeds.tolist() if isinstance(seeds, np.ndarray) else seeds)
            ]
        except TypeError as err:
            raise TypeError(
                f"seeds: expected a list of clicks (row, col) or lines [(row, col), ...], got {seeds!r}"
            ) from err
        current = self._pop(population).view(t)
        image = None
        if channels is not None:
            image, pairs = self._assist_channels(t, channels, limits)
        else:
            pairs = None
        box, parts = split_label(current, value, strokes, image=image, limits=pairs)
        n = len(strokes)
        new_ids = self._new_labels(population, n - 1)
        lut = np.array([0, value, *new_ids], dtype=LABEL_DTYPE)
        values = lut[parts]
        mask = parts > 0
        return self._assist_commit(population, t, box, values, mask, clip=clip)

    def merge(
        self,
        population: str,
        frame: int,
        labels: Sequence[int],
        *,
        roi: ROI | Sequence[int] | None = None,
    ) -> Change | None:
        """Merge cells into one: the smallest of ``labels`` keeps the union, the others are freed.

        Parameters
        ----------
        labels : sequence of int
            Two or more labels present in the frame.
        roi
            Pixels outside it keep their label.
        """
        t = self.stack.check_frame(frame)
        clip = self._roi_box(roi, t)
        try:
            ids = sorted({check_label(v, name="labels") for v in labels})
        except TypeError as err:
            raise TypeError(f"labels: expected a list of label values, got {labels!r}") from err
        if 0 in ids or len(ids) < 2:
            raise ValueError(
                f"labels: need at least two different non-zero labels to merge, got {labels!r}"
            )
        current = self._pop(population).view(t)
        members = np.isin(current, ids)
        present = set(np.unique(current[members]).tolist())
        missing = [v for v in ids if v not in present]
        if missing:
            raise ValueError(
                f"labels: {missing} not in frame {t} of {population!r}; pick labels that exist"
            )
        bbox, mask = tight_bbox(members)
        return self._assist_commit(population, t, bbox, ids[0], mask, clip=clip)

    def polygon(
        self,
        population: str,
        frame: int,
        vertices: npt.ArrayLike,
        label: int,
        *,
        roi: ROI | Sequence[int] | None = None,
        preserve_labels: bool = False,
    ) -> Change | None:
        """Fill a lasso / polygon outline (``(row, col)`` vertices, closed) with ``label``.

        The outline pixels belong to the polygon (`segpaint.ops.polygon_mask`); with
        ``preserve_labels`` only background (and ``label``) pixels are painted.
        """
        from segpaint.ops.assist import polygon_mask

        t = self.stack.check_frame(frame)
        value = check_label(label)
        clip = self._roi_box(roi, t)
        hit = polygon_mask(self.frame_shape, vertices, clip=clip)
        if hit is None:
            return None
        bbox, mask = hit
        return self._assist_commit(
            population,
            t,
            bbox,
            value,
            mask,
            clip=clip,
            preserve_label=value if preserve_labels else None,
        )

    def morph(
        self,
        population: str,
        frame: int,
        label: int | None,
        op: str,
        *,
        radius: int = 1,
        min_size: int = 0,
        roi: ROI | Sequence[int] | None = None,
    ) -> Change | None:
        """Per-cell morphology: ``fill_holes``, ``grow``, ``shrink``, ``smooth``, ``remove_specks``.

        See `segpaint.ops.morph_labels` for each operation; growing never overwrites another
        cell.  ``label=None`` applies it to every cell of the frame, or of ``roi`` when given
        (then only the ROI is looked at and changed).
        """
        from segpaint.ops.assist import MORPH_OPS, morph_labels

        t = self.stack.check_frame(frame)
        clip = self._roi_box(roi, t)
        if op not in MORPH_OPS:
            raise ValueError(f"op: unknown operation {op!r}; choose one of {list(MORPH_OPS)}")
        value = None if label is None else check_label(label)
        current = self._pop(population).view(t)
        h, w = self.frame_shape
        if value is not None:
            cell = current == value
            if not cell.any():
                raise ValueError(
                    f"label: {value} is not in frame {t} of {population!r}; pick a label that exists"
                )
            box, _ = tight_bbox(cell)
            reach = (radius if isinstance(radius, int) else 1) + 2
            window = (
                max(box[0] - reach, 0),
                min(box[1] + reach, h),
                max(box[2] - reach, 0),
                min(box[3] + reach, w),
            )
        else:
            window = clip if clip is not None else (0, h, 0, w)
        region = current[bbox_slices(window)]
        new = morph_labels(region, op, label=value, radius=radius, min_size=min_size)
        changed = new != region
        if not changed.any():
            return None
        return self._assist_commit(population, t, window, new, changed, clip=clip)

    def copy_labels(
        self,
        population: str,
        source_frame: int,
        frame: int,
        *,
        roi: ROI | Sequence[int] | None = None,
        mode: str = "fill-empty",
        min_iou: float = 0.5,
    ) -> Change | None:
        """Bring another frame's masks into this one, keeping each cell's identity.

        A source cell that overlaps a cell of ``frame`` with IoU >= ``min_iou`` is the same
        cell: it takes that cell's label.  Other source cells keep their own label when it is
        free in ``frame``, else get a new one (`new_label`), so labels stay unique.

        Parameters
        ----------
        source_frame, frame : int
            Copy from, copy to (only ``frame`` changes).
        roi : ROI or (row0, row1, col0, col1), optional
            Only this box is copied and matched.
        mode : {"fill-empty", "replace"}
            ``"fill-empty"``: add the source cells that have no match, only on background
            pixels.  ``"replace"``: the box becomes the source's masks (relabelled as above).
        min_iou : float
            Overlap that makes two masks the same cell.
        """
        from segpaint.ops.assist import label_values, match_labels

        t = self.stack.check_frame(frame)
        s = self.stack.check_frame(source_frame)
        if mode not in ("fill-empty", "replace"):
            raise ValueError(f"mode: expected 'fill-empty' or 'replace', got {mode!r}")
        if s == t:
            raise ValueError(f"source_frame: {s} is the frame being edited; pick another frame")
        clip = self._roi_box(roi, t)
        h, w = self.frame_shape
        box = clip if clip is not None else (0, h, 0, w)
        pop = self._pop(population)
        with self._lock:
            target_all = pop.view(t)
            src = pop.view(s)[bbox_slices(box)]
            tgt = target_all[bbox_slices(box)]
            pairs = match_labels(src, tgt, min_iou=min_iou)
            used = set(label_values(target_all).tolist())
            src_ids = [int(v) for v in label_values(src)]
            lut = {0: 0}
            fresh = [v for v in src_ids if v not in pairs and v in used]
            new_ids = iter(self._new_labels(population, len(fresh)) if fresh else [])
            for v in src_ids:
                if v in pairs:
                    lut[v] = pairs[v]
                elif v in used:
                    lut[v] = next(new_ids)
                else:
                    lut[v] = v
            keys = np.array(sorted(lut), dtype=np.int64)
            vals = np.array([lut[k] for k in sorted(lut)], dtype=LABEL_DTYPE)
            loose = np.array([k != 0 and k not in pairs for k in keys.tolist()])
            if keys[-1] <= 4 * src.size + 4096:
                # a lookup table indexed by the label: a gather instead of a binary search
                index: npt.NDArray[Any] = np.zeros(int(keys[-1]) + 1, np.int64)
                index[keys] = np.arange(len(keys))
                index = index[src]
            else:
                index = np.searchsorted(keys, src)
            mapped = vals[index]
            mask = np.ones(src.shape, bool) if mode == "replace" else loose[index] & (tgt == 0)
            return self._assist_commit(population, t, box, mapped, mask, clip=None)

    def delete_in_box(
        self,
        population: str,
        frame: int,
        bbox: Sequence[int],
        *,
        min_fraction: float = 0.5,
        roi: ROI | Sequence[int] | None = None,
    ) -> Change | None:
        """Delete every cell with at least ``min_fraction`` of its pixels inside ``bbox``.

        The whole cell is deleted (not only its part inside the box), except pixels outside
        ``roi`` when one is given.
        """
        from segpaint.ops.assist import cells_in_box

        t = self.stack.check_frame(frame)
        box = check_bbox(bbox, self.frame_shape, name="bbox")
        clip = self._roi_box(roi, t)
        current = self._pop(population).view(t)
        hit = cells_in_box(current, box, min_fraction=min_fraction)
        if hit is None:
            return None
        whole, mask = hit
        return self._assist_commit(population, t, whole, 0, mask, clip=clip)

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

    def undo(self) -> Change | None:
        """Undo the newest edit (any frame, any population); returns what changed, or None."""
        with self._lock:
            edit = self._history.pop_undo()
            if edit is None:
                return None
            self._write(self._pops[edit.population], edit.frame, edit.bbox, edit.old, edit.new)
            self._log(edit.population, edit.frame, edit.bbox, edit.old)
        return self._emit(edit.population, edit.frame, edit.bbox)

    def redo(self) -> Change | None:
        """Redo the newest undone edit; returns what changed, or None."""
        with self._lock:
            edit = self._history.pop_redo()
            if edit is None:
                return None
            self._write(self._pops[edit.population], edit.frame, edit.bbox, edit.new, edit.old)
            self._log(edit.population, edit.frame, edit.bbox, edit.new)
        return self._emit(edit.population, edit.frame, edit.bbox)

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
        self._callbacks.append(callback)

        def unsubscribe() -> None:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

        return unsubscribe

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
        if not callable(callback):
            raise TypeError(f"callback must be callable; got {callback!r}")
        self._roi_callbacks.append(callback)

        def unsubscribe() -> None:
            if callback in self._roi_callbacks:
                self._roi_callbacks.remove(callback)

        return unsubscribe

    def _emit_roi(self, frame: int) -> None:
        errors: list[BaseException] = []
        for cb in list(self._roi_callbacks):
            try:
                cb(frame)
            except Exception as err:  # keep notifying the others, then report
                errors.append(err)
        if errors:
            raise RuntimeError(
                f"an on_roi_change callback failed after the ROI change was applied: {errors[0]!r}"
            ) from errors[0]

    # ------------------------------------------------------------------ ROIs
    def add_roi(self, frame: int, rows: Sequence[int], cols: Sequence[int]) -> ROI:
        """Add a rectangle ROI on ``frame``: half-open ``rows=(r0, r1)``, ``cols=(c0, c1)``.

        The box is clipped to the image; an empty or reversed box is an error.
        """
        t = self.stack.check_frame(frame)
        try:
            r0, r1 = (int(v) for v in rows)
            c0, c1 = (int(v) for v in cols)
        except (TypeError, ValueError) as err:
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
        roi = ROI(t, cr0, cr1, cc0, cc1)
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
