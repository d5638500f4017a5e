"""A whole Celldetective experiment: its wells and positions, each opened lazily as a Session.

Samples, labels and journals stay per position, where Celldetective keeps them::

    experiment/
        config.ini
        W1/100/movie/...            # one movie per position
        W1/100/labels_<pop>/        # labels of that position, one file per frame
        annotations_<pop>/          # every position's samples (the sidecar names the position)

The :class:`Experiment` only adds what needs every position at once: one pre-segmentation run
(one progress bar) over all of them, and the samples and coverage of the whole experiment.
"""

from __future__ import annotations

import configparser
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import tifffile

from segpaint._lock import WriterLock
from segpaint._presegment import (
    _FrameJob,
    _progress_bar,
    check_run_options,
    resolve_method,
    run_frames,
)
from segpaint.io.celldetective import (
    ExperimentConfig,
    ExperimentError,
    Position,
    is_experiment_root,
    list_positions,
    read_config,
)
from segpaint.io.export import check_format, read_sidecar, sample_paths, write_label_frame
from segpaint.io.source import read_source
from segpaint.io.stack import Stack
from segpaint.session import Sample, Session, check_population_name, take_writer_lock
from segpaint.session import open as open_session
from segpaint.session._viewers import open_viewer

if TYPE_CHECKING:
    from segpaint.widgets import Annotator

__all__ = ["Experiment", "PositionInfo", "open_experiment"]

PositionKey = tuple[str, str]
"""``(well, position)``, e.g. ``("W1", "100")``."""


@dataclass(frozen=True)
class PositionInfo:
    """One position of an experiment, as the folder layout and ``config.ini`` describe it."""

    well: str
    position: str
    folder: Path
    movie: Path | None
    """The position's movie; None when it cannot be used (see ``problem``)."""
    well_metadata: dict[str, str] = field(default_factory=dict)
    """This well's values from ``config.ini``'s ``[Labels]`` (cell type, antibody, ...)."""
    problem: str | None = None
    """Why the movie cannot be used (none, or several matching ``movie_prefix``), else None."""

    @property
    def key(self) -> PositionKey:
        """``(well, position)``."""
        return (self.well, self.position)


def _well_labels(config_path: Path, wells: Sequence[str]) -> dict[str, dict[str, str]]:
    """``[Labels]`` of config.ini: each key lists one comma-separated value per well, in order."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(config_path, encoding="utf-8")
    out: dict[str, dict[str, str]] = {w: {} for w in wells}
    if not parser.has_section("Labels"):
        return out
    for key, raw in parser["Labels"].items():
        values = [v.strip() for v in raw.split(",")]
        if len(values) != len(wells):
            continue  # Celldetective falls back to well indices too
        for well, value in zip(wells, values, strict=True):
            out[well][key] = value
    return out


def _natural(name: str) -> tuple[Any, ...]:
    digits = "".join(c for c in name if c.isdigit())
    return (name.rstrip("0123456789"), int(digits) if digits else -1, name)


class Experiment:
    """A Celldetective experiment: wells, positions, and one lazily opened Session per position.

    Create one with :func:`open_experiment`.  ``experiment[well, position]`` (or
    :meth:`session`) opens that position's Session on first use and returns the same object
    afterwards, so its edits, undo history and journal are kept while you move between positions.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        populations: Sequence[str] | None = None,
        journal: bool = True,
        read_only: bool = False,
    ) -> None:
        self.read_only = bool(read_only)
        """Open each position read-only (no lock, no journal; saves need ``folder=``)."""
        path = Path(root).expanduser().resolve()
        if not is_experiment_root(path):
            raise ExperimentError(
                f"root: {path} has no config.ini, so it is not a Celldetective experiment root; "
                "pass the folder that holds config.ini (a position folder W1/100 opens with "
                "segpaint.open)"
            )
        self.root = path
        self.config: ExperimentConfig = read_config(path / "config.ini")
        pairs = sorted(list_positions(path), key=lambda k: (_natural(k[0]), _natural(k[1])))
        if not pairs:
            raise ExperimentError(
                f"root: the experiment {path} has no position (no well/position/movie/ folder)"
            )
        wells = list(dict.fromkeys(w for w, _ in pairs))
        labels = _well_labels(path / "config.ini", wells)
        self._positions: dict[PositionKey, PositionInfo] = {}
        for well, pos in pairs:
            folder = path / well / pos
            # one unusable position (a movie still copying, two movies) must not hide the others
            movie: Path | None = None
            problem = None
            try:
                movie = Position(path, well, pos, self.config).movie_path()
            except ExperimentError as err:
                problem = str(err)
            self._positions[(well, pos)] = PositionInfo(
                well, pos, folder, movie, dict(labels[well]), problem
            )
        pops = list(populations) if populations is not None else list(self.config.populations)
        self.populations = [check_population_name(p) for p in pops]
        self.journal = journal
        self._sessions: dict[PositionKey, Session] = {}
        self._stacks: dict[PositionKey, Stack] = {}
        # how each (position, population) was pre-segmented, given to Sessions opened later
        self._methods: dict[tuple[PositionKey, str], tuple[str, dict[str, Any]]] = {}

    # ------------------------------------------------------------ layout
    @property
    def name(self) -> str:
        """The experiment's name (its folder's name), the prefix of sample names."""
        return self.root.name

    @property
    def wells(self) -> list[str]:
        """Well names in natural order (``W1, W2, ..., W10``)."""
        return list(dict.fromkeys(w for w, _ in self._positions))

    @property
    def positions(self) -> list[PositionInfo]:
        """Every position, well by well, in natural order."""
        return list(self._positions.values())

    @property
    def names(self) -> list[str]:
        """``"well/position"`` of every position (what a position menu lists; accepted by
        :meth:`session`)."""
        return [f"{w}/{p}" for w, p in self._positions]

    def positions_in(self, well: str) -> list[str]:
        """Position names of one well."""
        self._check_well(well)
        return [p for w, p in self._positions if w == well]

    def _check_well(self, well: str) -> None:
        if well not in self.wells:
            raise KeyError(f"well: no well {well!r} in {self.root}; wells are {self.wells}")

    def _key(self, well: Any, position: Any = None) -> PositionKey:
        if position is None and isinstance(well, str) and "/" in well:
            well, position = well.split("/", 1)
        if position is None and isinstance(well, tuple) and len(well) == 2:
            well, position = well
        if not isinstance(well, str) or position is None:
            raise TypeError(
                f"position: expected a well and a position, e.g. experiment['W1', '100'] or "
                f"'W1/100'; got {well!r}, {position!r}"
            )
        self._check_well(well)
        key = (well, str(position))
        if key not in self._positions:
            raise KeyError(
                f"position: no position {position!r} in well {well!r}; that well has "
                f"{self.positions_in(well)}"
            )
        return key

    def __len__(self) -> int:
        return len(self._positions)

    def __iter__(self) -> Iterator[PositionKey]:
        return iter(self._positions)

    def __contains__(self, key: object) -> bool:
        return key in self._positions

    # ---------------------------------------------------------- sessions
    def session(self, well: str, position: str | int | None = None) -> Session:
        """The Session of one position, opened on first use and cached.

        Parameters
        ----------
        well : str
            ``"W1"``, or ``"W1/100"`` with ``position`` omitted.
        position : str or int
            ``"100"``.
        """
        key = self._key(well, position)
        if key not in self._sessions:
            self._check_movie(key)
            session = open_session(
                self._positions[key].folder,
                populations=list(self.populations),
                journal=self.journal,
                read_only=self.read_only,
            )
            for (where, pop), (method, params) in self._methods.items():
                if where == key and pop in session.populations:
                    session.set_method(pop, method, params)
            self._sessions[key] = session
        return self._sessions[key]

    def __getitem__(self, key: Any) -> Session:
        return self.session(key)

    def annotator(
        self,
        well: str | None = None,
        position: str | int | None = None,
        population: str | None = None,
        **kwargs: Any,
    ) -> Annotator:
        """An :class:`segpaint.Annotator` of this experiment, one position at a time.

        Parameters
        ----------
        well, position : str, optional
            The position shown first (``"W1", "100"``, or ``"W1/100"`` as ``well``); a well
            alone shows its first position; default: the experiment's first position.
        population : str, optional
            Population to edit; default: the Session's first.
        **kwargs
            Passed to :class:`segpaint.Annotator` (``tool=``, ``frame=``, ...).

        The widget's position selector (its ``position`` trait) moves between positions; each
        position's Session stays cached here with its unsaved edits.
        """
        name: str | None = None
        if well is None and position is not None:
            key = self._key(position)  # "W1/100"; a bare "100" says a well is needed
            name = f"{key[0]}/{key[1]}"
        elif well is not None:
            if position is None and "/" not in well:
                self._check_well(well)
                position = self.positions_in(well)[0]
            key = self._key(well, position)
            name = f"{key[0]}/{key[1]}"
        if name is not None:
            kwargs["position"] = name
        # the widget layer sits above this one: segpaint/__init__.py registers its factory
        viewer: Annotator = open_viewer(self, population, **kwargs)
        return viewer

    @property
    def open_sessions(self) -> dict[PositionKey, Session]:
        """The Sessions opened so far (a copy of the cache)."""
        return dict(self._sessions)

    def _check_movie(self, key: PositionKey) -> None:
        problem = self._positions[key].problem
        if problem is not None:
            raise ExperimentError(f"position {key[0]}/{key[1]}: {problem}")

    def _stack(self, key: PositionKey) -> Stack:
        if key in self._sessions:
            return self._sessions[key].stack
        if key not in self._stacks:
            self._check_movie(key)
            self._stacks[key], _ = read_source(self._positions[key].folder)
        return self._stacks[key]

    def save_labels(self, population: str | None = None) -> list[Path]:
        """Save the edited frames of every open Session (see `Session.save_labels`)."""
        pops = [population] if population is not None else self.populations
        written: list[Path] = []
        for session in self._sessions.values():
            for pop in pops:
                if pop in session.populations:
                    written += session.save_labels(pop)
        return written

    # ------------------------------------------------------ presegment
    def _select(self, positions: Any) -> list[PositionKey]:
        if positions is None:
            return list(self._positions)
        pair = (
            isinstance(positions, tuple)
            and len(positions) == 2
            and positions[0] in self.wells
            and not (isinstance(positions[1], str) and positions[1] in self.wells)
        )
        if isinstance(positions, str) or pair:  # one "W1/100", one well, or one (well, position)
            positions = [positions]
        out: list[PositionKey] = []
        for item in positions:
            if isinstance(item, str) and "/" not in item and item in self.wells:
                keys = [(item, p) for p in self.positions_in(item)]
            else:
                keys = [self._key(item)]
            out += [k for k in keys if k not in out]
        return out

    def _label_file(self, key: PositionKey, population: str, frame: int) -> Path:
        return self._positions[key].folder / f"labels_{population}" / f"{frame:04d}.tif"

    def _has_labels(self, key: PositionKey, population: str, frame: int) -> bool:
        if key in self._sessions:
            return bool(np.asarray(self._sessions[key].labels(population, frame)).any())
        path = self._label_file(key, population, frame)
        return path.is_file() and bool(np.asarray(tifffile.imread(path)).any())

    def presegment(
        self,
        population: str,
        method: str | os.PathLike[str] = "threshold",
        *,
        positions: Any = None,
        frames: int | Iterable[int] | None = None,
        channels: Sequence[int | str] | None = None,
        mode: str = "fill-empty",
        save: bool = True,
        client: Any = None,
        progress: bool = True,
        callback: Callable[[int, int], None] | None = None,
        window: int | None = None,
        **params: Any,
    ) -> dict[PositionKey, list[int]]:
        """Pre-segment one population in every position, with one progress bar.

        Frames of all positions share one pool of workers (threads, or a dask.distributed
        cluster with ``client=``); at most ``window`` frames are in flight, and each task reads
        its own frame from the movie, so memory is bounded by a few frames, not by the
        experiment.

        Stopping (Ctrl+C, an error) loses nothing written so far: with ``save=True`` each frame
        is written to ``labels_<population>/{t:04d}.tif`` as soon as it is done, and running
        the same call again with ``mode="fill-empty"`` (the default) skips the frames that
        already hold labels.

        Parameters
        ----------
        population : str
            One of the experiment's populations.
        method : str or path-like
            As for `Session.presegment`: ``"threshold"``, a named model, a local model or a
            ``threshold_config_<population>.json``.
        positions : iterable, optional
            ``(well, position)`` pairs, ``"W1/100"`` strings or well names (all of that well's
            positions).  Default: every position.
        frames : int or iterable of int, optional
            Frames to segment in each position (default: all).
        channels : sequence of int or str, optional
            Channels given to the method, by index or name.
        mode : {"fill-empty", "replace"}
            ``"fill-empty"`` skips frames already holding labels (resume); ``"replace"`` redoes
            them.
        save : bool
            Write each frame's labels to disk as it finishes.  Positions whose Session is open
            go through it (so an Annotator shows the result; ``Session.save_labels`` then also
            saves that population's other unsaved edits of that position); the others are
            written straight to their label folder without opening a Session.  With
            ``save=False`` every position's Session is opened and holds the results in memory.
        client : dask.distributed.Client, optional
            Run the frames on that cluster; default: a thread pool in this process.
        progress : bool
            One tqdm progress bar for the whole run.
        callback : callable(done, total), optional
            Called on this thread after each frame is written.
        window : int, optional
            Frames in flight at once (default: twice the number of workers).
        **params
            Method parameters (see `segpaint.segment.segment`).

        Returns
        -------
        dict of (well, position) -> list of int
            The frames written in each selected position (empty when all were done already).
        """
        check_run_options(mode, callback, window)
        if save and self.read_only:
            raise PermissionError(
                "this experiment was opened with read_only=True, so pre-segmentation cannot save "
                "into it; pass save=False to keep the results in the positions' sessions"
            )
        if population not in self.populations:
            raise KeyError(
                f"population: unknown population {population!r}; this experiment has "
                f"{self.populations} (from [Populations] in config.ini, or populations= of "
                "open_experiment)"
            )
        keys = self._select(positions)
        method_str, run_params, recorded = resolve_method(method, params, channels)
        if isinstance(run_params.get("equalize_reference"), list | tuple):
            raise ValueError(
                "equalize_reference: a reference frame differs per position; pre-segment "
                "positions one by one with experiment[well, position].presegment(...)"
            )

        tasks: list[tuple[PositionKey, int]] = []
        for key in keys:
            stack = self._stack(key)
            for t in _frame_list(stack, frames, key):
                if mode == "fill-empty" and self._has_labels(key, population, t):
                    continue
                tasks.append((key, t))
        job = _FrameJob(
            method_str,
            channels,
            list(self.config.channel_names),
            self.config.pixel_size_um,
            run_params,
        )
        if not save:
            for key in keys:
                self.session(*key)

        # Positions without an open Session are written straight to their label folders: hold
        # their writer locks meanwhile, so no other session (here or in another process) saves
        # over them; one that is already open elsewhere is refused before anything runs.
        locks: list[WriterLock] = []
        try:
            for key in {k for k, _ in tasks if k not in self._sessions}:
                _, source = read_source(self._positions[key].folder)
                lock = take_writer_lock(source, take_over=False)
                if lock is not None:
                    locks.append(lock)
            return self._presegment_locked(
                population=population,
                keys=keys,
                tasks=tasks,
                job=job,
                client=client,
                window=window,
                save=save,
                progress=progress,
                callback=callback,
                mode=mode,
                method_str=method_str,
                recorded=recorded,
            )
        finally:
            for lock in locks:
                lock.release()

    def _presegment_locked(
        self,
        *,
        population: str,
        keys: list[PositionKey],
        tasks: list[tuple[PositionKey, int]],
        job: _FrameJob,
        client: Any,
        window: int | None,
        save: bool,
        progress: bool,
        callback: Callable[[int, int], None] | None,
        mode: str,
        method_str: str,
        recorded: dict[str, Any],
    ) -> dict[PositionKey, list[int]]:
        written: dict[PositionKey, list[int]] = {key: [] for key in keys}
        total = len(tasks)
        done = 0
        bar = _progress_bar(progress, total, f"{population}: {method_str}, {len(keys)} position(s)")
        try:
            # the first frame runs here: a wrong parameter fails at once, with a plain traceback
            pending = tasks
            if tasks:
                key, t = tasks[0]
                self._write(key, population, t, job(self._stack(key), t), save)
                written[key].append(t)
                done += 1
                _report(bar, callback, done, total)
                pending = tasks[1:]
            for (key, t), labels in self._run(pending, job, client, window):
                self._write(key, population, t, labels, save)
                written[key].append(t)
                done += 1
                _report(bar, callback, done, total)
        finally:
            if bar is not None:
                bar.close()
            for key in keys:
                if written[key] or mode == "fill-empty":  # done now, or by an earlier run
                    self._methods[(key, population)] = (method_str, recorded)
                    session = self._sessions.get(key)
                    if session is not None and population in session.populations:
                        session.set_method(population, method_str, recorded)
        return {key: sorted(frames_) for key, frames_ in written.items()}

    def method(
        self, population: str, well: str, position: str | int | None = None
    ) -> dict[str, Any] | None:
        """How :meth:`presegment` last did a population in a position (``{"method", "params"}``).

        None when this Experiment has not pre-segmented it (a Session opened for that position
        gets the same record, which goes into its exported sidecars).
        """
        key = self._key(well, position)
        if (key, population) not in self._methods:
            return None
        method, params = self._methods[(key, population)]
        return {"method": method, "params": dict(params)}

    def _write(
        self,
        key: PositionKey,
        population: str,
        frame: int,
        labels: npt.NDArray[np.uint32],
        save: bool,
    ) -> None:
        session = self._sessions.get(key)
        if session is None:
            folder = self._positions[key].folder
            write_label_frame(self._label_file(key, population, frame), labels, base=folder)
            return
        session.set_labels(population, frame, labels)
        if save:
            session.save_labels(population)

    def _run(
        self,
        tasks: Sequence[tuple[PositionKey, int]],
        job: _FrameJob,
        client: Any,
        window: int | None,
    ) -> Iterator[tuple[tuple[PositionKey, int], npt.NDArray[np.uint32]]]:
        frames = [(key, self._stack(key), t) for key, t in tasks]
        for i, labels in run_frames(frames, job, client, window):
            yield tasks[i], labels

    # ----------------------------------------------------------- samples
    def samples(
        self, population: str | None = None, *, format: str = "celldetective"
    ) -> list[Sample]:
        """Every exported sample of the experiment (all positions), read from the sidecars.

        Parameters
        ----------
        population : str, optional
            One population (default: all of them).
        format : {"celldetective", "cellpose", "stardist"}
            The layout the samples were exported in (their folder at the experiment root).
        """
        fmt = check_format(format)
        pops = self.populations if population is None else [population]
        if population is not None and population not in self.populations:
            raise KeyError(
                f"population: unknown population {population!r}; this experiment has "
                f"{self.populations}"
            )
        out: list[Sample] = []
        for pop in pops:
            suffix = "" if fmt == "celldetective" else f"_{fmt}"
            base = self.root / f"annotations_{pop}{suffix}"
            side_dir = sample_paths(base, "x", fmt).sidecar.parent
            for side in sorted(side_dir.glob("*.json")):
                paths = sample_paths(base, side.stem, fmt)
                if paths.image.is_file() and paths.mask.is_file():
                    out.append(Sample(paths.image, paths.mask, side, read_sidecar(side)))
        return out

    def coverage(
        self, population: str | None = None, *, format: str = "celldetective"
    ) -> list[dict[str, Any]]:
        """Where the samples come from: one row per position.

        Each row holds ``well``, ``position``, ``frames`` (of the movie), ``samples``,
        ``frames_sampled`` (sorted frame indices) and ``area_fraction`` (the share of the
        field of view covered by at least one sample, over all frames); ``frames`` and
        ``area_fraction`` are None for a position without a usable movie.
        ``pandas.DataFrame(rows)`` makes it a table.
        """
        samples = self.samples(population, format=format)
        rows = []
        for key, info in self._positions.items():
            mine = [
                s
                for s in samples
                if (s.metadata.get("well"), str(s.metadata.get("position"))) == key
            ]
            frames = area = None  # a position without a usable movie has no field to cover
            if info.problem is None:
                frames = self._stack(key).shape[0]
                cover = self.coverage_map(population, *key, format=format, samples=mine)
                area = float((cover > 0).mean())
            rows.append(
                {
                    "well": info.well,
                    "position": info.position,
                    "frames": frames,
                    "samples": len(mine),
                    "frames_sampled": sorted({s.frame for s in mine}),
                    "area_fraction": area,
                }
            )
        return rows

    def coverage_map(
        self,
        population: str | None,
        well: str,
        position: str,
        *,
        format: str = "celldetective",
        samples: Sequence[Sample] | None = None,
    ) -> npt.NDArray[np.int32]:
        """A ``(Y, X)`` image counting how many samples (any frame) cover each pixel of a position."""
        key = self._key(well, position)
        if samples is None:
            samples = [
                s
                for s in self.samples(population, format=format)
                if (s.metadata.get("well"), str(s.metadata.get("position"))) == key
            ]
        _, _, y, x = self._stack(key).shape
        out = np.zeros((y, x), np.int32)
        for s in samples:
            roi = s.roi
            if roi is not None:
                out[roi.row0 : roi.row1, roi.col0 : roi.col1] += 1
        return out

    def __repr__(self) -> str:
        return (
            f"<Experiment {self.name!r}: {len(self.wells)} well(s), {len(self)} position(s), "
            f"channels {self.config.channel_names}, populations {self.populations}>"
        )


def _frame_list(stack: Stack, frames: int | Iterable[int] | None, key: PositionKey) -> list[int]:
    n = stack.shape[0]
    if frames is None:
        return list(range(n))
    wanted = [frames] if isinstance(frames, int | np.integer) else list(frames)
    out: list[int] = []
    for t in wanted:
        if isinstance(t, bool) or not isinstance(t, int | np.integer):
            raise TypeError(f"frames: expected frame indices (int), got {t!r}")
        if not -n <= t < n:
            raise IndexError(
                f"frames: {t} is out of range for position {key[0]}/{key[1]}, which has {n} "
                f"frame(s) (0..{n - 1})"
            )
        if int(t) % n not in out:
            out.append(int(t) % n)
    return out


def _report(bar: Any, callback: Callable[[int, int], None] | None, done: int, total: int) -> None:
    if bar is not None:
        bar.update(1)
    if callback is not None:
        callback(done, total)


def open_experiment(
    root: str | os.PathLike[str],
    *,
    populations: Sequence[str] | None = None,
    journal: bool = True,
    read_only: bool = False,
) -> Experiment:
    """Open a Celldetective experiment root with all its wells and positions.

    Opening reads ``config.ini`` and the folder layout only; each position's Session opens on
    first use (``experiment["W1", "100"]``).

    Parameters
    ----------
    root : path
        The folder holding ``config.ini`` and the well folders.
    populations : sequence of str, optional
        Default: ``[Populations]`` of config.ini (``effectors, targets`` when absent).
    journal : bool
        Give each position's Session its autosave journal (in ``W1/100/.segpaint/``).
    read_only : bool
        Open each position with ``read_only=True``: nothing is written into the experiment.

    Examples
    --------
    >>> experiment = open_experiment("path/to/experiment")  # doctest: +SKIP
    >>> experiment.wells, [p.key for p in experiment.positions]  # doctest: +SKIP
    (['W1', 'W2'], [('W1', '100'), ('W1', '101'), ('W2', '200')])
    """
    return Experiment(root, populations=populations, journal=journal, read_only=read_only)
