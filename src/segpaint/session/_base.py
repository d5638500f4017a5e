"""The state every Session part shares: the stack, populations, ownership of the data folder."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import tifffile

from segpaint._events import Event
from segpaint._history import DEFAULT_BUDGET, History
from segpaint._journal import Journal, pending_files, read_journal, set_aside
from segpaint._lock import WriterLock
from segpaint.io._fs import check_no_symlink, recover_folder
from segpaint.io.export import FORMATS
from segpaint.io.source import Source
from segpaint.io.stack import Stack, StackError
from segpaint.session._plumbing import (
    _NAME_RE,
    SessionLock,
    check_population_name,
    lock_path,
    take_writer_lock,
)
from segpaint.session._store import LabelStack, _Population
from segpaint.session._types import ROI

logger = logging.getLogger("segpaint")


class SessionBase:
    """The state every Session part shares: the stack, populations, ownership of the data folder."""

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

    def rois(self, frame: int | None = None) -> list[ROI]:
        """ROIs of one frame, or of all frames (by frame, then in the order they were added)."""
        with self._lock:
            if frame is None:
                return [r for t in sorted(self._rois) for r in self._rois[t]]
            return list(self._rois.get(self.stack.check_frame(frame), []))
