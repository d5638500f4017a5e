"""The :class:`Session`: a lazy image stack, per-population label stacks, edits with undo, ROIs, export.

Everything the Annotator widget does goes through a Session method, so scripts, tests and
teaching notebooks can do the same without a browser.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import warnings
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import tifffile

from segpaint._events import Event
from segpaint._history import DEFAULT_BUDGET, Edit, Group, History, Step
from segpaint._journal import (
    Journal,
    Signature,
    encode_record,
    pending_files,
    read_journal,
    set_aside,
)
from segpaint._lock import WriterLock
from segpaint._version import __version__
from segpaint.io._fs import check_no_symlink, recover_folder, safe_dir
from segpaint.io.export import (
    FORMATS,
    ExportError,
    check_format,
    read_sidecar,
    sample_paths,
    write_label_frame,
    write_sample,
)
from segpaint.io.qc import earlier_rois, qc_sample
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
ScribbleCallback = Callable[[str, int, BBox, Any], None]
SCRIBBLE_MARKS = (0, 1, 2)
"""Scribble mark values: 0 unmarked (erases marks), 1 cell, 2 background."""
logger = logging.getLogger("segpaint")
_NAME_RE = re.compile(r"^[a-z0-9_-]+$")
HOT_BYTES = 256 * 1024**2
"""Label frames kept as arrays per population; colder ones are dropped or compressed."""
JOURNAL_MIN_BYTES = 64 * 1024**2
"""The journal is compacted when it outgrows this and four times its last compacted size."""


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


class SessionLock:
    """The session's re-entrant lock; notifications asked for inside it run after its release.

    Every Session method takes it; an edit made while it is held (by a tool that reads and writes
    in one step) announces its change only once the outermost ``with`` block of this thread ends,
    so subscribers never run with the lock held and may use the session from any thread.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._local = threading.local()

    def __enter__(self) -> SessionLock:
        self._lock.acquire()
        self._local.depth = getattr(self._local, "depth", 0) + 1
        return self

    def __exit__(self, *exc: object) -> None:
        self._local.depth -= 1
        pending: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []
        if self._local.depth == 0:
            pending = getattr(self._local, "pending", [])
            self._local.pending = []
        self._lock.release()
        error: BaseException | None = None
        for fn, args in pending:  # every notification runs; the first failure is raised after
            try:
                fn(*args)
            except Exception as err:
                error = error or err
        if error is not None:
            raise error

    def after_release(self, fn: Callable[..., Any], *args: Any) -> None:
        """Call ``fn(*args)`` now, or when this thread releases the lock if it holds it."""
        if getattr(self._local, "depth", 0) > 0:
            if not hasattr(self._local, "pending"):
                self._local.pending = []
            self._local.pending.append((fn, args))
        else:
            fn(*args)


class _Population:
    """One population's label stack, stored frame by frame (absent frames are zeros).

    Frames are read lazily from ``labels_<population>/`` under the session lock, so a stroke on
    one thread never races a load on another. Memory stays bounded: at most ``hot_bytes`` of
    frames are kept as arrays; a colder frame is dropped when it is saved (it is read back from
    its file) or kept zlib-compressed when it holds unsaved edits. Every write bumps the frame's
    ``version``; a save marks a frame clean only if no edit came in while it was being written.
    """

    def __init__(
        self,
        name: str,
        shape: tuple[int, int, int],
        loader: Callable[[int], npt.NDArray[Any] | None],
        lock: SessionLock,
        *,
        hot_bytes: int | None = None,
    ) -> None:
        self.name = name
        self.shape = shape
        self.loader = loader
        self.lock = lock
        self.hot: OrderedDict[int, npt.NDArray[np.uint32]] = OrderedDict()
        self.cold: dict[int, bytes] = {}
        self.loaded: set[int] = set()
        """Frames whose file was read (or that were set from memory): not read again."""
        self.on_disk: set[int] = set()
        """Frames whose labels equal their file in ``labels_<population>/``: dropped when cold."""
        self.version: dict[int, int] = {}
        self.saved_version: dict[int, int] = {}
        self.maxima: dict[int, int] = {}
        self.method: dict[str, Any] | None = None
        self.base: dict[int, Signature] = {}
        """Signature of each journaled frame's label file when this session last read/wrote it."""
        self._zeros: npt.NDArray[np.uint32] | None = None
        frame_bytes = max(1, shape[1] * shape[2] * LABEL_DTYPE.itemsize)
        self.max_hot = max(2, (HOT_BYTES if hot_bytes is None else hot_bytes) // frame_bytes)

    @property
    def dirty(self) -> set[int]:
        """Frames with edits not yet saved."""
        return {t for t, v in self.version.items() if self.saved_version.get(t, 0) != v}

    def is_dirty(self, t: int) -> bool:
        """Whether frame ``t`` has edits not yet saved."""
        return self.version.get(t, 0) != self.saved_version.get(t, 0)

    def has_data(self, t: int) -> bool:
        """Whether frame ``t`` holds labels in memory (hot or compressed)."""
        return t in self.hot or t in self.cold

    def _get(self, t: int) -> npt.NDArray[np.uint32] | None:
        """The frame's array (making it hot), or None when it has no labels."""
        with self.lock:
            arr = self.hot.get(t)
            if arr is not None:
                self.hot.move_to_end(t)
                return arr
            blob = self.cold.pop(t, None)
            if blob is not None:
                arr = np.frombuffer(zlib.decompress(blob), dtype=LABEL_DTYPE)
                arr = arr.reshape(self.shape[1:]).copy()
            elif t not in self.loaded:
                data = self.loader(t)
                self.loaded.add(t)
                if data is not None:
                    self.on_disk.add(t)
                    checked = as_label_image(
                        data, name=f"labels_{self.name}/{t:04d}.tif", shape=self.shape[1:]
                    )
                    arr = np.array(checked, dtype=LABEL_DTYPE)
            if arr is None:
                return None
            self._put(t, arr)
            return arr

    def _put(self, t: int, arr: npt.NDArray[np.uint32]) -> None:
        self.hot[t] = arr
        self.hot.move_to_end(t)
        while len(self.hot) > self.max_hot:
            old_t, old = self.hot.popitem(last=False)
            if old_t in self.on_disk:
                self.loaded.discard(old_t)  # its file holds exactly this: read it back if needed
            else:
                self.cold[old_t] = zlib.compress(old.tobytes(), 1)

    def view(self, t: int) -> npt.NDArray[np.uint32]:
        arr = self._get(t)
        if arr is None:
            if self._zeros is None:
                self._zeros = np.zeros(self.shape[1:], dtype=LABEL_DTYPE)
                self._zeros.flags.writeable = False
            return self._zeros
        out: npt.NDArray[np.uint32] = arr.view()
        out.flags.writeable = False
        return out

    def writable(self, t: int) -> npt.NDArray[np.uint32]:
        with self.lock:
            arr = self._get(t)
            if arr is None:
                arr = np.zeros(self.shape[1:], dtype=LABEL_DTYPE)
                self._put(t, arr)
            return arr

    def touch(self, t: int) -> None:
        """Record that frame ``t`` changed (call with the lock held)."""
        self.version[t] = self.version.get(t, 0) + 1
        self.on_disk.discard(t)

    def set_frame(self, t: int, arr: npt.NDArray[np.uint32]) -> None:
        """Hold ``arr`` as frame ``t`` without reading its file (initial labels from memory)."""
        with self.lock:
            self.loaded.add(t)
            self.cold.pop(t, None)
            self._put(t, arr)

    def frames_with_data(self) -> list[int]:
        """Frames that hold labels in memory, sorted."""
        with self.lock:
            return sorted(set(self.hot) | set(self.cold))

    def frame_max(self, t: int) -> int:
        with self.lock:
            if t not in self.maxima:
                arr = self._get(t)
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


def lock_path(source: Source, journal: Path | None = None) -> Path | None:
    """The writer lock of a source's data: ``.segpaint/<key>.lock`` in its data folder (whatever
    journal a session uses); for an array, beside its ``journal`` file, if any."""
    folder = source.data_folder
    if folder is not None:
        return folder / ".segpaint" / f"{source.key}.lock"
    return journal.with_name(journal.name + ".lock") if journal is not None else None


def take_writer_lock(
    source: Source,
    journal: Path | None = None,
    *,
    on_superseded: Callable[[], None] = lambda: None,
    take_over: bool = True,
) -> WriterLock | None:
    """Take the writer lock of a source's data (see :mod:`segpaint._lock`); None for arrays
    without a journal. Interrupted writes in the lock's folder are finished first."""
    path = lock_path(source, journal)
    if path is None:
        return None
    base = source.data_folder if source.data_folder is not None else path.parent
    if path.parent != base:
        safe_dir(base, *path.parent.relative_to(base).parts)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
    recover_folder(path.parent)
    return WriterLock(path, base=base, on_superseded=on_superseded, take_over=take_over)


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
        read_only: bool = False,
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
        self._lock = SessionLock()
        self._history = History(history_bytes)
        self._pops: dict[str, _Population] = {}
        self._rois: dict[int, list[ROI]] = {}
        self._presegmented: dict[str, dict[int, int]] = {}
        """Per population, frame -> label version a pre-segmentation left (issue 10)."""
        # One mechanism for edit and ROI notifications (see segpaint._events.Event).
        self._callbacks = Event("on_change", "the edit")
        self._roi_callbacks = Event("on_roi_change", "the ROI change")
        self._scribble_callbacks = Event("on_scribble", "the scribble")  # issue 12
        self._scribbles: dict[tuple[str, int], npt.NDArray[np.uint8]] = {}
        self._cache: OrderedDict[int, npt.NDArray[Any]] = OrderedDict()
        self._read_only = bool(read_only)
        self._superseded = False
        self._writer: WriterLock | None = None
        self._journal: Journal | None = None
        self._journal_path: Path | None = None
        self._journal_compacted = 0
        self._autosave_error: str | None = None
        if journal is True:
            self._journal_path = self.source.default_journal()
        elif journal is not False:
            self._journal_path = Path(journal)
        if not self._read_only:
            self._take_writer_lock()
            if self._journal_path is not None:
                base = self._private_base()
                if base is not None:
                    check_no_symlink(base, self._journal_path)
                set_aside(self._journal_path)
                self._journal = Journal(self._journal_path, base=self._private_base())
        if self.pending_edits:
            logger.info(
                "segpaint: %s holds edits that were never saved; session.recover() applies them, "
                "session.discard_pending() deletes them",
                self._journal_path,
            )
        if populations is None:
            pos = self.source.position
            populations = pos.config.populations if pos is not None else ["cells"]
        for name in populations:
            self.add_population(name)

    # ------------------------------------------------------------- ownership
    def _private_base(self) -> Path | None:
        """The folder under which segpaint's own files (journal, lock) may not follow a link."""
        if self._journal_path is None:
            return None
        folder = self.source.data_folder
        if folder is not None and self._journal_path.parent == folder / ".segpaint":
            return folder
        return self._journal_path.parent

    def _lock_path(self) -> Path | None:
        return lock_path(self.source, self._journal_path)

    def _take_writer_lock(self) -> None:
        try:
            self._writer = take_writer_lock(
                self.source, self._journal_path, on_superseded=self._on_superseded
            )
        except OSError as err:  # a read-only folder: nothing can be saved there by anyone
            logger.warning(
                "segpaint: cannot write the lock file %s (%s); saving into the data folder will "
                "likely fail too: pass folder= to save elsewhere",
                self._lock_path(),
                err,
            )

    def _on_superseded(self) -> None:
        """A newer session of the same data in this process took over: stop writing."""
        with self._lock:
            self._superseded = True
            self._read_only = True
            if self._journal is not None:
                self._journal.close()
                self._journal = None
        logger.warning(
            "segpaint: a newer session of %s was opened in this kernel; this older one is now "
            "read-only (its unsaved edits are offered by the new session's recover())",
            self.source.path or self.source.name,
        )

    @property
    def read_only(self) -> bool:
        """True when this session never writes into its data folder (``read_only=True``, or a
        newer session of the same data took over). Saving and exporting to a ``folder=`` you
        pass still work."""
        return self._read_only

    def close(self) -> None:
        """Stop writing: close the journal and release the writer lock.

        Unsaved edits stay in the journal, so the next :func:`segpaint.open` offers them.
        The session stays usable read-only.
        """
        with self._lock:
            if self._journal is not None:
                self._journal.close()
                self._journal = None
            if self._writer is not None:
                self._writer.release()
                self._writer = None
            self._read_only = True

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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
        if not self._read_only:
            for path in (folder, *self._default_export_folders(name)):
                if path is not None and path.is_dir() and not path.is_symlink():
                    recover_folder(path)
        self._warn_shared_labels(name)
        with self._lock:
            if name in self._pops:  # added by another thread meanwhile
                raise ValueError(f"population {name!r} already exists")
            self._pops[name] = _Population(name, (t, y, x), self._label_loader(folder), self._lock)

    def _default_export_folders(self, population: str) -> list[Path]:
        return [
            p
            for fmt in FORMATS
            if (p := self.source.default_export_folder(population, fmt)) is not None
        ]

    def _warn_shared_labels(self, population: str) -> None:
        """Label frames of the old layout, shared by every TIFF of a folder, are not loaded."""
        folder = self.source.data_folder
        if self.source.kind != "file" or folder is None:
            return
        shared = folder / f"labels_{population}"
        if shared.is_dir() and any(shared.glob("[0-9][0-9][0-9][0-9].tif")):
            logger.warning(
                "segpaint: %s holds label frames in the old layout, shared by every image of the "
                "folder, so they are not loaded for %s. If they belong to this image, move them "
                "into %s",
                shared,
                self.source.path.name if self.source.path else self.source.name,
                self.source.default_labels_folder(population),
            )

    def _label_loader(self, folder: Path | None) -> Callable[[int], npt.NDArray[Any] | None]:
        def load(t: int) -> npt.NDArray[Any] | None:
            if folder is None:
                return None
            path = folder / f"{t:04d}.tif"
            if not path.is_file():
                return None
            try:
                return np.asarray(tifffile.imread(path))
            except Exception as err:
                raise StackError(
                    f"cannot read the label file {path}: {err}; the file may be damaged: move it "
                    "away to start this frame from empty labels"
                ) from err

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
        """Record how a population's masks were pre-segmented (written into exported sidecars).

        Inside a pre-segmentation run this is part of the run's undo step: undo restores the
        method recorded before.
        """
        pop = self._pop(population)
        with self._lock:
            before = pop.method
            pop.method = {"method": str(method), "params": dict(params)}
            if self._history.recording:
                self._history.record("method", population, before, pop.method)

    def method(self, population: str) -> dict[str, Any] | None:
        """How a population was pre-segmented (``{"method", "params"}``), or None."""
        return self._pop(population).method

    def edited_frames(self, population: str) -> set[int]:
        """Frames of ``population`` with edits not saved yet, leaving out frames that hold only
        what a pre-segmentation wrote (what a pre-segmentation that replaces them would
        overwrite: someone's corrections; :meth:`save_labels` writes them)."""
        pop = self._pop(population)
        with self._lock:
            fresh = self._presegmented.get(population, {})
            return {t for t in pop.dirty if fresh.get(t) != pop.version.get(t, 0)}

    def _mark_presegmented(self, population: str, frames: Iterable[int]) -> None:
        """Remember the versions a pre-segmentation left (see :meth:`edited_frames`)."""
        pop = self._pop(population)
        with self._lock:
            marks = self._presegmented.setdefault(population, {})
            for t in frames:
                marks[t] = pop.version.get(t, 0)

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
        """Write ``values`` into ``bbox`` (where ``mask``), record one undo step, notify.

        Subscribers are notified after the session lock is released.
        """
        t = self.stack.check_frame(frame)
        with self._lock:
            box = self._apply(population, t, bbox, values, mask)
        return self._emit(population, t, box, origin=origin) if box is not None else None

    def _apply(
        self,
        population: str,
        t: int,
        bbox: BBox,
        values: npt.NDArray[np.uint32] | int,
        mask: npt.NDArray[np.bool_] | None,
    ) -> BBox | None:
        """The body of :meth:`_commit`, with the lock held: returns the changed box, or None."""
        pop = self._pop(population)
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
        return abs_box

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
        pop.touch(t)
        top = int(new.max()) if new.size else 0
        known = pop.maxima.get(t)
        if known is not None:
            if top >= known:
                pop.maxima[t] = top
            elif old.size and int(old.max()) >= known:
                del pop.maxima[t]  # the maximum may have been erased: recompute when asked

    def _emit(self, population: str, frame: int, bbox: BBox, *, origin: Any = None) -> Change:
        """Notify subscribers; inside a locked block, once the lock is released."""
        self._lock.after_release(self._callbacks.emit, population, frame, bbox, origin)
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
        if not preserve_labels:
            return self._commit(population, t, bbox, value, mask, origin=origin)
        with self._lock:  # read and write the labels in one step: no stroke in between
            mask = mask & (self._pop(population).view(t)[bbox_slices(bbox)] == 0)
            box = self._apply(population, t, bbox, value, mask)
        return self._emit(population, t, box, origin=origin) if box is not None else None

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
        contiguous: bool = True,
        origin: Any = None,
    ) -> Change | None:
        """Flood-fill the contiguous region of the seed's label with ``label`` (0 deletes a cell).

        ``contiguous=False`` fills every pixel of the frame holding the seed's value (issue 10).

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
        with self._lock:  # the region is measured and filled in one step
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
            bbox, mask = fill_mask(
                labels, (r, c), connectivity=connectivity, clip=clip, contiguous=contiguous
            )
            box = self._apply(population, t, bbox, value, mask)
        return self._emit(population, t, box, origin=origin) if box is not None else None

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
    def _signature(self, population: str, t: int) -> Signature:
        """``(mtime_ns, size)`` of frame ``t``'s label file in the default folder, or None."""
        folder = self.source.default_labels_folder(population)
        if folder is None:
            return None
        try:
            st = (folder / f"{t:04d}.tif").stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def _log(self, population: str, frame: int, bbox: BBox, values: npt.NDArray[np.uint32]) -> None:
        """Journal one edit (call with the lock held). A failed write never blocks editing:
        autosave is reported off and comes back, complete, once writing works again."""
        if self._journal is None:
            return
        pop = self._pops[population]
        if frame not in pop.base:
            pop.base[frame] = self._signature(population, frame)
        try:
            if self._autosave_error is not None:
                self._compact_journal()  # the records since the failure are not on disk
            else:
                self._journal.append(population, frame, bbox, values, pop.base[frame])
                limit = max(JOURNAL_MIN_BYTES, 4 * self._journal_compacted)
                if self._journal.nbytes > limit:
                    self._compact_journal()
        except OSError as err:
            self._journal.close()
            if self._autosave_error is None:
                logger.warning(
                    "segpaint: autosave journal disabled, cannot write %s: %s. Edits are kept in "
                    "memory; autosave resumes by itself once the journal can be written again "
                    "(check session.autosave), and save_labels() still saves them",
                    self._journal.path,
                    err,
                )
            self._autosave_error = err.strerror or str(err)
            return
        if self._autosave_error is not None:
            logger.warning("segpaint: autosave journal back on at %s", self._journal.path)
            self._autosave_error = None

    def _marker(self, population: str, t: int) -> Callable[[Path], None]:
        """Before a save's rename: journal which file signature that save produces."""

        def mark(tmp: Path) -> None:
            st = tmp.stat()
            with self._lock:
                if self._journal is None or self._autosave_error is not None:
                    return
                try:
                    self._journal.mark_saved(population, t, (st.st_mtime_ns, st.st_size))
                except OSError as err:
                    self._autosave_error = err.strerror or str(err)

        return mark

    def _compact_journal(self) -> None:
        """Rewrite the journal as one record per unsaved frame (call with the lock held)."""
        if self._journal is None:
            return
        records = []
        h, w = self.frame_shape
        for name, pop in self._pops.items():
            for t in sorted(pop.dirty):
                records.append(encode_record(name, t, (0, h, 0, w), pop.view(t), pop.base.get(t)))
        self._journal.rewrite(records)
        self._journal_compacted = self._journal.nbytes

    @property
    def autosave(self) -> str:
        """``"on"``; ``"off: <reason>"`` after a failed journal write (it comes back by itself);
        ``"disabled"`` (``journal=False``, an array without a journal path, or read-only)."""
        if self._journal is None:
            return "disabled"
        return "on" if self._autosave_error is None else f"off: {self._autosave_error}"

    @property
    def journal_path(self) -> Path | None:
        """The autosave journal (every edit since the last save), or None when there is none."""
        return self._journal.path if self._journal is not None else None

    def _pending_files(self) -> list[Path]:
        return pending_files(self._journal_path) if self._journal_path is not None else []

    @property
    def pending_edits(self) -> int:
        """Edits earlier sessions journaled but never saved (see :meth:`recover`).

        They stay reported, session after session, until :meth:`recover` or
        :meth:`discard_pending`.
        """
        return sum(
            not rec.is_marker
            for path in self._pending_files()
            for rec in read_journal(path, frame_shape=self.frame_shape)
        )

    def recover(self) -> list[Change]:
        """Apply the edits earlier sessions journaled but never saved (e.g. before a crash).

        Each becomes an undoable edit of this session; the pending journals are then deleted.
        Edits of populations this session does not have are added as new populations. An edit
        of a frame whose label file was saved after the edit was journaled is skipped (the saved
        file is newer) and reported in the log.
        """
        if self._read_only:
            raise PermissionError(
                "this session is read-only: recover() would change the data's journal; open the "
                "data without read_only=True to recover its pending edits"
            )
        changes = []
        stale = 0
        files = self._pending_files()
        for path in files:
            records = list(read_journal(path, frame_shape=self.frame_shape))
            # The file signatures each frame had, as this journal's session knew them: as a base
            # of its edits, or from its own saves. A label file with another signature was saved
            # by another session after these edits: it is newer, and they are skipped.
            known: dict[tuple[str, int], set[Signature]] = {}
            for rec in records:
                known.setdefault((rec.population, rec.frame), set()).add(
                    rec.saved if rec.is_marker else rec.base
                )
            for rec in records:
                if rec.is_marker or not 0 <= rec.frame < self.n_frames:
                    continue
                if rec.population not in self._pops:
                    self.add_population(rec.population)
                if (
                    self._signature(rec.population, rec.frame)
                    not in known[(rec.population, rec.frame)]
                ):
                    stale += 1
                    continue
                change = self.apply_patch(rec.population, rec.frame, rec.bbox, rec.values)
                if change is not None:
                    changes.append(change)
        if stale:
            logger.warning(
                "segpaint: %d journaled edit(s) were not applied: their frames were saved after "
                "the edits were journaled, so the saved label files are newer",
                stale,
            )
        for path in files:
            path.unlink(missing_ok=True)
        return changes

    def discard_pending(self) -> None:
        """Delete the edits earlier sessions journaled but never saved."""
        if self._read_only:
            raise PermissionError(
                "this session is read-only: open the data without read_only=True to discard "
                "its pending edits"
            )
        for path in self._pending_files():
            path.unlink(missing_ok=True)

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
        """Undo the newest step (any frame, any population); returns what changed, or None.

        A step is one edit, or one action over several frames (a pre-segmentation run), which
        also restores what the action changed besides labels (the recorded method). For a step
        over several frames, the returned change is the last one announced. Adding, moving and
        removing an ROI are steps too; they change no label, so they return None
        (:meth:`history_target` says where a step acts before it is undone).
        """
        with self._lock:
            step = self._history.pop_undo()
            if step is None:
                return None
            boxes = self._replay(step, undo=True)
        return self._emit_each(boxes, origin)

    def redo(self, *, origin: Any = None) -> Change | None:
        """Redo the newest undone step; returns what changed, or None."""
        with self._lock:
            step = self._history.pop_redo()
            if step is None:
                return None
            boxes = self._replay(step, undo=False)
        return self._emit_each(boxes, origin)

    def _replay(self, step: Step, *, undo: bool) -> list[tuple[str, int, BBox]]:
        """Write a step's old (undo) or new (redo) values, with the lock held."""
        edits = step.edits if isinstance(step, Group) else [step]
        changes = step.changes if isinstance(step, Group) else []
        boxes = []
        for edit in reversed(edits) if undo else edits:
            values, other = (edit.old, edit.new) if undo else (edit.new, edit.old)
            self._write(self._pops[edit.population], edit.frame, edit.bbox, values, other)
            self._log(edit.population, edit.frame, edit.bbox, values)
            boxes.append((edit.population, edit.frame, edit.bbox))
        for kind, key, before, after in reversed(changes) if undo else changes:
            self._restore(kind, key, before if undo else after)
        return boxes

    def _restore(self, kind: str, key: Any, value: Any) -> None:
        if kind == "method" and key in self._pops:
            self._pops[key].method = value
        elif kind == "roi":  # issue 10: ROI operations are undo steps
            self._rois[key] = list(value)
            self._emit_roi(key)
        elif kind == "scribble":  # issue 12: scribble marks
            self._restore_scribble(key, value)

    def _emit_each(self, boxes: list[tuple[str, int, BBox]], origin: Any) -> Change | None:
        change = None
        for population, frame, bbox in boxes:
            change = self._emit(population, frame, bbox, origin=origin)
        return change

    def history_target(self, *, redo: bool = False) -> tuple[str | None, int] | None:
        """Where the next :meth:`undo` (or, with ``redo=True``, :meth:`redo`) acts:
        ``(population, frame)``, with population None for an ROI step; None when there is no step
        or the step is on no frame (a recorded method alone).

        A step over several frames (a pre-segmentation run) names its first frame. A widget uses
        this to bring the frame into view before undoing an edit made elsewhere.

        Examples
        --------
        >>> import numpy as np, segpaint
        >>> session = segpaint.open(np.zeros((3, 16, 16), np.uint8), axes="TYX")
        >>> _ = session.paint("cells", 2, [(4, 4)], 2, 7)
        >>> roi = session.add_roi(1, rows=(0, 8), cols=(0, 8))
        >>> session.history_target()
        (None, 1)
        >>> _ = session.undo()
        >>> session.history_target()
        ('cells', 2)
        """
        with self._lock:
            step = self._history.peek(redo=redo)
        if step is None:
            return None
        if isinstance(step, Edit):
            return step.population, step.frame
        if step.edits:
            return step.edits[0].population, step.edits[0].frame
        for kind, key, _, _ in step.changes:
            if kind == "roi":
                return None, int(key)
            if kind == "scribble":
                return str(key[0]), int(key[1])
        return None

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
        self._lock.after_release(self._roi_callbacks.emit, frame)

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
                before = list(items)
                items.append(roi)
                self._history.record("roi", t, before, list(items))
        if added:
            self._emit_roi(t)
        return roi

    def rois(self, frame: int | None = None) -> list[ROI]:
        """ROIs of one frame, or of all frames (by frame, then in the order they were added)."""
        with self._lock:
            if frame is None:
                return [r for t in sorted(self._rois) for r in self._rois[t]]
            return list(self._rois.get(self.stack.check_frame(frame), []))

    def remove_roi(self, roi: ROI) -> None:
        """Remove an ROI returned by :meth:`add_roi`."""
        with self._lock:
            items = self._rois.get(roi.frame, []) if isinstance(roi, ROI) else []
            if roi not in items:
                raise KeyError(f"{roi!r} is not an ROI of this session; see session.rois()")
            before = list(items)
            items.remove(roi)
            self._history.record("roi", roi.frame, before, list(items))
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
            before = list(items)
            if new in items:
                items.remove(roi)
            else:
                items[items.index(roi)] = new
            self._history.record("roi", roi.frame, before, list(items))
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
    def _target(
        self, folder: str | Path | None, default: Path | None, verb: str
    ) -> tuple[Path, Path]:
        """Where to write, and the folder below which no symlink may be followed.

        An explicit ``folder`` is the user's choice (links in it are theirs); the default lies
        inside the data folder, which nothing written may leave.
        """
        if folder is not None:
            path = Path(folder).expanduser()
            return path, path
        if default is None:
            raise ValueError(
                f"folder= is required to {verb}: this session was opened from an array, so there "
                "is no experiment or file to write beside; pass folder='some/folder'"
            )
        if self._read_only:
            why = (
                "a newer session of the same data was opened in this kernel: use that one"
                if self._superseded
                else "it was opened with read_only=True"
            )
            raise PermissionError(
                f"this session does not write into its data folder ({why}); pass folder= to "
                f"{verb} somewhere else"
            )
        data = self.source.data_folder
        base = (
            data if data is not None and default.is_relative_to(data) else self.source.export_base
        )
        assert base is not None  # a default folder exists only for sources with a folder
        return default, base

    def _export_folder(
        self, population: str, format: str, folder: str | Path | None
    ) -> tuple[Path, Path]:
        return self._target(folder, self.source.default_export_folder(population, format), "export")

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
        auto_correct: bool | str = True,
        version: int | None = None,
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
        auto_correct : bool or "refuse"
            Quality control (`segpaint.io.qc`): ``True`` splits labels made of separate pieces
            and drops objects under 9 px, like Celldetective; ``False`` exports as drawn;
            ``"refuse"`` raises an error naming the labels instead.  The checks and the changes
            are recorded in the sidecar (``"qc"``, ``"auto_correct"``); an empty mask warns.
        version : int, optional
            Write a new version of a sample already exported, ``<stem>_v<version>`` (2 or more;
            the sidecar records it), instead of replacing it: ``exported(...) + 1`` is the next.

        Returns
        -------
        list of Path
            The image, mask and sidecar written.
        """
        if version is not None and (
            isinstance(version, bool) or not isinstance(version, int) or version < 2
        ):
            raise ValueError(
                f"version must be an integer >= 2 (version 1 is the sample without a suffix); "
                f"got {version!r}; session.exported(population, roi) + 1 is the next free one"
            )
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
            frame_labels = pop.view(roi.frame)  # read-only; QC reads only the ring around the ROI
            labels = np.array(frame_labels[bbox_slices(roi.bbox)])
        target, base = self._export_folder(population, fmt, folder)
        source = str(self.source.path) if self.source.path else self.source.kind
        labels, qc, corrected = qc_sample(
            labels,
            auto_correct=auto_correct,  # type: ignore[arg-type]  # validated there
            roi=roi.bbox,
            frame_labels=frame_labels,
            earlier=earlier_rois(
                sample_paths(target, "x", fmt).sidecar.parent.glob("*.json"),
                source=source,
                frame=roi.frame,
                exclude=self.sample_stem(roi),
            ),
        )
        if "empty" in qc["flags_after"]:
            warnings.warn(
                f"the exported sample {self.sample_stem(roi)!r} has an empty mask (no "
                f"{population} object in the ROI); it teaches a model that this region holds "
                "no cell, so make sure it does not",
                UserWarning,
                stacklevel=2,
            )
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
            "source": source,
            "experiment": pos.name if pos else None,
            "well": pos.well if pos else None,
            "position": pos.position if pos else None,
            "frame_interval_min": self.frame_interval_min,
            "method": pop.method,
            "segpaint_version": __version__,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "qc": qc,
            "auto_correct": corrected,
        }
        stem = self.sample_stem(roi)
        if version is not None:
            sidecar["version"] = version
            stem = f"{stem}_v{version}"
        return write_sample(
            target,
            stem,
            image,
            labels,
            sidecar,
            format=fmt,
            pad=pad,
            overwrite=overwrite,
            base=base,
        )

    def exported(
        self,
        population: str,
        roi: ROI,
        *,
        format: str = "celldetective",
        folder: str | Path | None = None,
    ) -> int:
        """How many times ``roi`` was exported into ``folder``: the highest version on disk (1 for
        the sample without a suffix, n for ``<stem>_v<n>``), 0 when none; see :meth:`export_roi`.

        Examples
        --------
        >>> import numpy as np, segpaint, tempfile
        >>> session = segpaint.open(np.zeros((1, 32, 32), np.uint8), axes="TYX")
        >>> roi = session.add_roi(0, rows=(0, 16), cols=(0, 16))
        >>> out = tempfile.mkdtemp()
        >>> session.exported("cells", roi, format="cellpose", folder=out)
        0
        """
        fmt = check_format(format)
        self._pop(population)
        target = (
            Path(folder).expanduser()
            if folder is not None
            else self.source.default_export_folder(population, fmt)
        )
        if target is None:
            return 0
        stem = self.sample_stem(roi)
        found = 1 if sample_paths(target, stem, fmt).image.exists() else 0
        version = 2
        while sample_paths(target, f"{stem}_v{version}", fmt).image.exists():
            found = version
            version += 1
        return found

    def save_labels(
        self,
        population: str,
        *,
        folder: str | Path | None = None,
        all_frames: bool = False,
        format: str = "tiff",
    ) -> list[Path]:
        """Write edited frames to ``labels_<population>/{t:04d}.tif`` (YX), atomically.

        Safe while other threads edit: each frame is copied with its version under the session
        lock and written outside it; a frame edited during the write stays unsaved (and
        journaled), so the next save writes it again.

        Parameters
        ----------
        folder : path, optional
            Default: ``labels_<population>`` in the experiment position, or
            ``labels_<population>/<image name>/`` beside a file.
        all_frames : bool
            Write every frame that has labels, not only the edited ones.
        format : {"tiff", "ngff"}
            ``"ngff"``: for a session opened from an OME-Zarr image, write the population as the
            image's NGFF label group ``labels/<population>`` (every frame, replacing the group;
            see :meth:`export_labels`) instead of TIFF frames.
        """
        if format == "ngff":
            return self._save_ngff(population)
        if format != "tiff":
            raise ValueError(f"format: expected 'tiff' or 'ngff', got {format!r}")
        pop = self._pop(population)
        target, base = self._target(
            folder, self.source.default_labels_folder(population), "save labels"
        )
        default = folder is None
        if all_frames:
            frames = [
                t
                for t in range(self.n_frames)
                if pop.has_data(t) or self._signature(population, t) is not None
            ]
        else:
            with self._lock:
                frames = sorted(pop.dirty)
        written = []
        for t in frames:
            with self._lock:
                arr = pop.view(t).copy()
                version = pop.version.get(t, 0)
            path = write_label_frame(
                target / f"{t:04d}.tif",
                arr,
                base=base,
                before_replace=self._marker(population, t) if default else None,
            )
            written.append(path)
            with self._lock:
                if default:
                    pop.base[t] = self._signature(population, t)
                if pop.version.get(t, 0) == version:
                    pop.saved_version[t] = version
                    if default:
                        pop.on_disk.add(t)  # can be read back from there when cold
        if self._journal is not None:
            with self._lock:
                try:
                    if not any(p.dirty for p in self._pops.values()):
                        self._journal.clear()  # every edit is on disk now
                    else:
                        self._compact_journal()
                    self._autosave_error = None
                except OSError as err:
                    self._autosave_error = err.strerror or str(err)
        return written

    # ------------------------------------------- other tools' formats (issue 13)
    def import_labels(
        self,
        source: str | Path | None = None,
        population: str | None = None,
        *,
        frame: int = 0,
    ) -> list[str]:
        """Load labels written by another tool as populations (one undo step per frame).

        Parameters
        ----------
        source : path or URL, optional
            A Cellpose ``_seg.npy`` (its ``masks`` become ``population`` on ``frame``), or an
            OME-Zarr image whose ``labels/`` groups become populations named after them.
            Default: this session's own OME-Zarr, when it was opened from one.
            ``_seg.npy`` files are unpickled, which can run code: use trusted files only.
        population : str, optional
            For ``_seg.npy``: the population to fill (default: the first one).  For OME-Zarr:
            load only the label image of that name (default: every one).
        frame : int
            For ``_seg.npy``: the frame its masks belong to.

        Returns
        -------
        list of str
            The populations that received labels (created when missing).
        """
        from segpaint.io import zarr as ngff

        if source is not None and str(source).endswith(".npy"):
            from segpaint.io.cellpose_seg import read_seg

            t = self.stack.check_frame(frame)
            seg = read_seg(source)
            if seg.masks.shape != self.frame_shape:
                raise ValueError(
                    f"source: the masks in {source} are {seg.masks.shape} but the frames are "
                    f"{self.frame_shape}; open the image those masks were made on"
                )
            default = self.populations[0] if self.populations else "cells"
            name = check_population_name(population or default)
            if name not in self._pops:
                self.add_population(name)
            self.set_labels(name, t, seg.masks)
            return [name]
        if source is None:
            if not isinstance(self.stack, ngff.ZarrStack):
                raise ValueError(
                    "source: this session was not opened from an OME-Zarr; pass the path of a "
                    "_seg.npy file or of an OME-Zarr image"
                )
            image = self.stack
        else:
            level = self.stack.level if isinstance(self.stack, ngff.ZarrStack) else 0
            image = ngff.ZarrStack(source, level=level)
            if (image.shape[0], *image.shape[2:]) != (self.n_frames, *self.frame_shape):
                raise ValueError(
                    f"source: {source} is (T, Y, X) = {(image.shape[0], *image.shape[2:])} but "
                    f"this session is {(self.n_frames, *self.frame_shape)}"
                )
        names = ngff.label_names(image)
        if population is not None:
            if population not in names:
                raise KeyError(
                    f"population: {image.url} has no label image {population!r}; it has {names}"
                )
            names = [population]
        loaded = []
        for label in names:
            pop = ngff.population_name(label)
            if pop not in self._pops:
                self.add_population(pop)
            for t in range(self.n_frames):
                data = ngff.read_label_frame(image, label, t)
                if data.any() or self.labels(pop, t).any():
                    self.set_labels(pop, t, data)
            loaded.append(pop)
        return loaded

    def export_labels(
        self,
        population: str,
        path: str | Path | None = None,
        *,
        format: str = "ngff",
        frame: int = 0,
        image: bool = False,
        overwrite: bool = False,
    ) -> str:
        """Write a population's labels in another tool's format.

        Parameters
        ----------
        population : str
            Whose labels.
        path : path or URL, optional
            ``format="ngff"``: the OME-Zarr image to add ``labels/<population>`` to (default:
            the one this session was opened from).  ``format="cellpose"``: the ``_seg.npy`` to
            write (default: ``<image stem>_seg.npy`` beside the image file, or
            ``<stem>_<frame>_seg.npy`` for a time-lapse).
        format : {"ngff", "cellpose"}
            ``"ngff"`` writes every frame as an NGFF label image (one resolution level, the
            session's); ``"cellpose"`` writes one frame in the fields Cellpose's GUI reads.
        frame : int
            ``format="cellpose"``: the frame to write.
        image : bool
            ``format="cellpose"``: also store the frame's image as ``img`` (channels last).
        overwrite : bool
            Replace an existing label image or file (otherwise an error).

        Returns
        -------
        str
            Where the labels went.
        """
        self._pop(population)
        if format == "ngff":
            from segpaint.io import zarr as ngff

            if path is None:
                if not isinstance(self.stack, ngff.ZarrStack):
                    raise ValueError(
                        "path: this session was not opened from an OME-Zarr; pass path= of the "
                        "OME-Zarr image to add the labels to"
                    )
                target = self.stack
            else:
                level = self.stack.level if isinstance(self.stack, ngff.ZarrStack) else 0
                target = ngff.ZarrStack(path, level=level)
                if (target.shape[0], *target.shape[2:]) != (self.n_frames, *self.frame_shape):
                    raise ValueError(
                        f"path: {path} is (T, Y, X) = {(target.shape[0], *target.shape[2:])} "
                        f"but this session is {(self.n_frames, *self.frame_shape)}"
                    )

            def read(t: int) -> npt.NDArray[np.uint32]:
                with self._lock:
                    return np.array(self._pop(population).view(t))

            return ngff.write_labels(target, population, read, overwrite=overwrite)
        if format == "cellpose":
            from segpaint.io.cellpose_seg import seg_path, write_seg

            t = self.stack.check_frame(frame)
            src = self.source.path
            if path is None:
                if src is None or self.source.kind != "file":
                    raise ValueError(
                        "path: this session was not opened from an image file; pass "
                        "path='<name>_seg.npy'"
                    )
                base = seg_path(src)
                path = (
                    base
                    if self.n_frames == 1
                    else base.with_name(f"{src.name.split('.')[0]}_{t:04d}_seg.npy")
                )
            with self._lock:
                masks = np.array(self._pop(population).view(t))
            img = None
            if image:
                frame_image = self.image(t)
                img = (
                    frame_image[0] if frame_image.shape[0] == 1 else frame_image.transpose(1, 2, 0)
                )
            written = write_seg(
                path,
                masks,
                filename=src if src is not None and self.source.kind == "file" else None,
                image=img,
                overwrite=overwrite,
            )
            return str(written)
        raise ValueError(f"format: expected 'ngff' or 'cellpose', got {format!r}")

    def export_rois_geojson(
        self, population: str, path: str | Path | None = None, *, overwrite: bool = True
    ) -> Path:
        """Write this session's ROIs as QuPath GeoJSON rectangles classified as ``population``.

        Default path: ``<session name>_rois.geojson`` in the population's sample folder
        (``annotations_<population>/``), next to the samples.
        """
        from segpaint.io.geojson import RoiRecord, write_rois

        self._pop(population)
        base = None
        if path is None:
            folder, base = self._export_folder(population, "celldetective", None)
            path = folder / f"{self.source.name}_rois.geojson"
        records = [
            RoiRecord(population, r.frame, r.row0, r.row1, r.col0, r.col1) for r in self.rois()
        ]
        return write_rois(path, records, overwrite=overwrite, base=base)

    def import_rois_geojson(self, path: str | Path, *, population: str | None = None) -> list[ROI]:
        """Add the rectangle ROIs of a GeoJSON file (segpaint's or QuPath's export).

        Parameters
        ----------
        path : path
            The ``.geojson`` file.
        population : str, optional
            Only ROIs classified as this population (and unclassified ones); default: all.

        Returns
        -------
        list of ROI
            The ROIs added (clipped to the image); none is added if one is invalid.
        """
        from segpaint.io.geojson import read_rois

        records = [
            r for r in read_rois(path) if population is None or r.population in (None, population)
        ]
        for r in records:
            try:
                self.stack.check_frame(r.frame)
            except IndexError as err:
                raise ValueError(f"{path}: an ROI is on frame {r.frame}: {err}") from err
        with self._history.group("import ROIs"):  # one undo step for the file
            return [self.add_roi(r.frame, (r.row0, r.row1), (r.col0, r.col1)) for r in records]

    def _save_ngff(self, population: str) -> list[Path]:
        pop = self._pop(population)
        with self._lock:
            versions = dict(pop.version)
        where = self.export_labels(population, format="ngff", overwrite=True)
        with self._lock:
            for t, version in versions.items():
                if pop.version.get(t, 0) == version:
                    pop.saved_version[t] = version
            if self._journal is not None:
                try:
                    self._compact_journal()
                except OSError as err:
                    self._autosave_error = err.strerror or str(err)
        return [Path(where)]

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
        base = (
            Path(folder)
            if folder is not None
            else self.source.default_export_folder(population, fmt)
        )
        if base is None:
            raise ValueError(
                "folder= is required to list samples: this session was opened from an array; "
                "pass the folder you exported to"
            )
        if not self._read_only and base.is_dir() and not base.is_symlink():
            recover_folder(base)  # finish (or undo) a sample write a crash interrupted
        side_dir = sample_paths(base, "x", fmt).sidecar.parent
        out = []
        for side in sorted(side_dir.glob("*.json")):
            paths = sample_paths(base, side.stem, fmt)
            if paths.image.is_file() and paths.mask.is_file():
                out.append(Sample(paths.image, paths.mask, side, read_sidecar(side)))
        return out

    # ------------------------------------------------------- scribbles (issue 12) >>>
    # Marks for training a pixel classifier: 1 = cell, 2 = background, 0 = unmarked. Kept per
    # population and frame beside the labels, never in them; never exported as samples; each
    # change is one undo step (a history record of kind "scribble").
    def scribbles(self, population: str, frame: int) -> npt.NDArray[np.uint8]:
        """The scribble marks of one frame: a ``(Y, X)`` uint8 copy, 0 unmarked, 1 cell,
        2 background (all zeros when the frame has none).

        Examples
        --------
        >>> import numpy as np, segpaint
        >>> session = segpaint.open(np.zeros((2, 16, 16), np.uint8), axes="TYX")
        >>> _ = session.scribble("cells", 1, [(8, 2), (8, 6)], 1, mark=1)
        >>> int(session.scribbles("cells", 1).sum()), int(session.scribbles("cells", 0).sum())
        (17, 0)
        """
        self._pop(population)
        t = self.stack.check_frame(frame)
        with self._lock:
            marks = self._scribbles.get((population, t))
            return np.zeros(self.frame_shape, np.uint8) if marks is None else marks.copy()

    def scribbled_frames(self, population: str) -> list[int]:
        """Frames of ``population`` that hold at least one scribble mark, in order."""
        self._pop(population)
        with self._lock:
            return sorted(t for (p, t), m in self._scribbles.items() if p == population and m.any())

    def scribble(
        self,
        population: str,
        frame: int,
        points: npt.ArrayLike,
        radius: float,
        mark: int,
        *,
        origin: Any = None,
    ) -> Change | None:
        """Draw a scribble mark along a polyline with the brush rasteriser (see :meth:`paint`).

        Parameters
        ----------
        population, frame
            Whose scribbles to draw on; the labels are never changed.
        points : array_like, shape (n, 2)
            Polyline vertices ``(row, col)``.
        radius : float
            Brush radius in pixels.
        mark : int
            ``1`` cell, ``2`` background, ``0`` erases marks.
        origin : object, optional
            Passed to :meth:`on_scribble` callbacks.

        Returns
        -------
        Change or None
            The changed box (one undo step), or None when nothing changed.
        """
        self._pop(population)
        t = self.stack.check_frame(frame)
        if (
            isinstance(mark, bool)
            or not isinstance(mark, int | np.integer)
            or mark not in SCRIBBLE_MARKS
        ):
            raise ValueError(
                f"mark must be 1 (cell), 2 (background) or 0 (erase marks); got {mark!r}"
            )
        hit = stroke_mask(self.frame_shape, points, radius)
        if hit is None:
            return None
        bbox, mask = hit
        with self._lock:
            marks = self._scribbles.get((population, t))
            if marks is None:
                marks = self._scribbles[(population, t)] = np.zeros(self.frame_shape, np.uint8)
            region = marks[bbox_slices(bbox)]
            changed = mask & (region != mark)
            if not changed.any():
                return None
            box, _ = tight_bbox(changed)
            abs_box = (bbox[0] + box[0], bbox[0] + box[1], bbox[2] + box[2], bbox[2] + box[3])
            sub = bbox_slices(box)
            old = region[sub].copy()
            region[sub][changed[sub]] = mark
            self._history.record("scribble", (population, t, abs_box), old, region[sub].copy())
            self._lock.after_release(self._scribble_callbacks.emit, population, t, abs_box, origin)
        return Change(population, t, abs_box, origin=origin)

    def clear_scribbles(
        self, population: str, frame: int | None = None, *, origin: Any = None
    ) -> list[int]:
        """Remove the scribble marks of one frame (or of every frame): one undo step.

        Returns
        -------
        list of int
            The frames that had marks.
        """
        self._pop(population)
        frames = [self.stack.check_frame(frame)] if frame is not None else None
        h, w = self.frame_shape
        cleared = []
        with self._lock, self._history.group("clear scribbles"):
            for t in frames if frames is not None else self.scribbled_frames(population):
                marks = self._scribbles.get((population, t))
                if marks is None or not marks.any():
                    continue
                before = marks.copy()
                marks[...] = 0
                self._history.record(
                    "scribble", (population, t, (0, h, 0, w)), before, marks.copy()
                )
                self._lock.after_release(
                    self._scribble_callbacks.emit, population, t, (0, h, 0, w), origin
                )
                cleared.append(t)
        return cleared

    def on_scribble(self, callback: ScribbleCallback) -> Callable[[], None]:
        """Call ``callback(population, frame, bbox, origin)`` after every scribble change (drawn,
        cleared, undone, redone); returns a function that unsubscribes it."""
        return self._scribble_callbacks.connect(callback)

    def _restore_scribble(self, key: Any, value: npt.NDArray[np.uint8]) -> None:
        population, t, bbox = key
        marks = self._scribbles.get((population, t))
        if marks is None:
            marks = self._scribbles[(population, t)] = np.zeros(self.frame_shape, np.uint8)
        marks[bbox_slices(bbox)] = value
        self._lock.after_release(self._scribble_callbacks.emit, population, t, bbox, None)

    # <<< scribbles (issue 12)

    # ------------------------------------------------------------ other layers
    def presegment(
        self,
        population: str,
        method: str | os.PathLike[str] = "threshold",
        *,
        frames: int | Iterable[int] | None = None,
        channels: Sequence[int | str] | None = None,
        mode: str = "replace",
        progress: bool = True,
        client: Any = None,
        callback: Callable[[int, int], None] | None = None,
        window: int | None = None,
        **params: Any,
    ) -> list[int]:
        """Pre-segment frames of a population (one undo step for the whole run).

        Parameters
        ----------
        population : str
            Whose labels are written.
        method : str or path-like
            ``"threshold"`` (default), a named model (``"CP_cyto3"``, ``"SD_versatile_fluo"``,
            ...), a model folder (Cellpose, StarDist, Celldetective, or one from
            :func:`segpaint.train`), or a ``threshold_config_<population>.json``.
        frames : int or iterable of int, optional
            Frames to segment (default: all).
        channels : sequence of int or str, optional
            Channels given to the method, by index or name.
        mode : {"replace", "fill-empty"}
            ``"fill-empty"`` skips frames that already hold labels.
        progress : bool
            Show a progress bar.
        client : dask.distributed.Client, optional
            Run frames on that cluster (default: threads in this process).
        callback : callable(done, total), optional
            Called on this thread after each frame is written.
        window : int, optional
            Frames in flight at once (bounds memory).
        **params
            The method's parameters (see :func:`segpaint.segment.segment`).

        Returns
        -------
        list of int
            The frames written.
        """
        from segpaint._presegment import presegment

        return presegment(
            self,
            population,
            method,
            frames=frames,
            channels=channels,
            mode=mode,
            progress=progress,
            client=client,
            callback=callback,
            window=window,
            **params,
        )

    def annotator(self, population: str | None = None, **kwargs: Any) -> Annotator:
        """An :class:`segpaint.Annotator` widget bound to this session."""
        from segpaint.widgets import Annotator

        return Annotator(self, population=population, **kwargs)

    def __repr__(self) -> str:
        t, c, y, x = self.shape
        notes = []
        pending = self.pending_edits
        if pending:
            notes.append(
                f"{pending} unsaved edit(s) from an earlier session: session.recover() applies "
                "them, session.discard_pending() drops them"
            )
        if self._read_only:
            notes.append("read-only")
        if self._autosave_error is not None:
            notes.append(f"autosave off: {self._autosave_error}")
        extra = "".join(f"; {n}" for n in notes)
        return (
            f"<Session {self.source.name!r}: {t} frame(s) x {c} channel(s) {self.channel_names} of "
            f"{y}x{x} {self.dtype}, populations {self.populations}{extra}>"
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
    read_only: bool = False,
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
    read_only : bool
        Look without writing anything into the data folder: no journal, no writer lock, and
        saves or exports only to a ``folder=`` you pass. Files and experiments are open for
        writing in one process at a time: a second process gets
        :class:`segpaint.SessionLockedError` and can pass ``read_only=True``.

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
        read_only=read_only,
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
                pop.set_frame(t, np.array(checked[t]))
    _attach_zarr_labels(session)
    session.history.clear()
    return session


def _attach_zarr_labels(session: Session) -> None:
    """An OME-Zarr image's ``labels/`` groups become populations, read lazily frame by frame.

    Frames saved by segpaint (``labels_<population>/``) take precedence over the Zarr labels.
    """
    if type(session.stack).__name__ != "ZarrStack":
        return
    from segpaint.io.zarr import ZarrStack, label_names, population_name, read_label_frame

    stack = session.stack
    assert isinstance(stack, ZarrStack)
    for label in label_names(stack):
        name = population_name(label)
        if name not in session.populations:
            session.add_population(name)
        pop = session._pops[name]
        saved = pop.loader

        def load(t: int, saved: Callable[[int], Any] = saved, label: str = label) -> Any:
            data = saved(t)
            return data if data is not None else read_label_frame(stack, label, t)

        pop.loader = load
