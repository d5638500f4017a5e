"""Pre-segment a Session's frames in parallel, a bounded window of frames at a time.

Each task reads its own frame from the (picklable, lazy) stack and returns only labels, so a
1,000-frame movie is never held in memory: at most ``window`` frames are in flight.  Results are
written on the calling thread, one ``set_labels`` (one undo step) per frame.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from segpaint.segment import read_threshold_config, segment

if TYPE_CHECKING:
    from segpaint.io.stack import Stack
    from segpaint.session import Session

__all__ = ["check_run_options", "presegment", "resolve_method"]

MODES = ("replace", "fill-empty")
ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class _FrameJob:
    """How to segment a frame; module-level and plain data so that Dask can pickle it."""

    method: str
    channels: Sequence[int | str] | None
    channel_names: Sequence[str]
    pixel_size_um: float | None
    params: dict[str, Any]

    def __call__(self, stack: Stack, frame: int) -> npt.NDArray[np.uint32]:
        """Read one frame and segment it."""
        return segment(
            stack.frame(frame),
            self.method,
            channels=self.channels,
            channel_names=self.channel_names,
            pixel_size_um=self.pixel_size_um,
            **self.params,
        )


def _frames(session: Session, frames: int | Iterable[int] | None) -> list[int]:
    if frames is None:
        return list(range(session.n_frames))
    wanted = [frames] if isinstance(frames, int | np.integer) else list(frames)
    out: list[int] = []
    for t in wanted:
        if isinstance(t, bool) or not isinstance(t, int | np.integer):
            raise TypeError(f"frames: expected frame indices (int), got {t!r}")
        if not -session.n_frames <= t < session.n_frames:
            raise IndexError(
                f"frames: {t} is out of range, the stack has {session.n_frames} frame(s) "
                f"(0..{session.n_frames - 1})"
            )
        index = int(t) % session.n_frames
        if index not in out:
            out.append(index)
    return out


def check_run_options(mode: str, callback: ProgressCallback | None, window: int | None) -> None:
    """Check the options every pre-segmentation run takes (a Session's, or an Experiment's).

    Raises
    ------
    ValueError
        ``mode`` is not one of `MODES`, or ``window`` is below 1.
    TypeError
        ``callback`` is not callable, or ``window`` is not an int.
    """
    if mode not in MODES:
        raise ValueError(f"mode: expected 'replace' or 'fill-empty', got {mode!r}")
    if callback is not None and not callable(callback):
        raise TypeError(f"callback: expected a function callback(done, total), got {callback!r}")
    if window is not None and (isinstance(window, bool) or not isinstance(window, int)):
        raise TypeError(f"window: expected a positive int, got {window!r}")
    if window is not None and window < 1:
        raise ValueError(f"window: expected a positive int, got {window!r}")


def resolve_method(
    method: str | os.PathLike[str],
    params: Mapping[str, Any],
    channels: Sequence[int | str] | None = None,
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """What a pre-segmentation runs, with which parameters, and what the session records.

    A ``threshold_config_<population>.json`` becomes the ``"threshold"`` method with the file's
    parameters (``params`` given in the call override them); the recorded parameters then name
    the file as ``"config"``. Any other method passes through.

    Parameters
    ----------
    method : str or path-like
        As for `presegment`.
    params : mapping
        The call's method parameters.
    channels : sequence of int or str, optional
        The call's channels; recorded when given.

    Returns
    -------
    method : str
        The method for `segpaint.segment.segment`.
    run_params : dict
        Its parameters.
    recorded : dict
        The parameters `Session.set_method` records (the sidecars' ``method``).

    Examples
    --------
    >>> resolve_method("threshold", {"thresholds": [1, 10]}, channels=["dna"])
    ('threshold', {'thresholds': [1, 10]}, {'thresholds': [1, 10], 'channels': ['dna']})
    """
    method_str = os.fspath(method)
    run_params = dict(params)
    recorded: dict[str, Any] = dict(params)
    if method_str != "threshold" and Path(method_str).suffix.lower() == ".json":
        run_params = {**read_threshold_config(method_str), **params}
        recorded = {"config": method_str, **run_params}
        method_str = "threshold"
    if channels is not None:
        recorded["channels"] = list(channels)
    return method_str, run_params, recorded


def _resolve_reference(session: Session, params: dict[str, Any]) -> dict[str, Any]:
    """Celldetective's ``equalize_reference: [True, frame]`` -> that frame's target channel."""
    ref = params.get("equalize_reference")
    if isinstance(ref, list | tuple) and len(ref) == 2 and ref[0] is True:
        frame = session.stack.check_frame(int(ref[1]), name="equalize_reference frame")
        target = params.get("target_channel", 0)
        if isinstance(target, str):
            if target not in session.channel_names:
                raise ValueError(
                    f"target_channel: no channel named {target!r}; channels are "
                    f"{session.channel_names}"
                )
            target = session.channel_names.index(target)
        return {**params, "equalize_reference": session.stack.frame(frame)[int(target)]}
    return params


def _progress_bar(enabled: bool, total: int, description: str) -> Any:
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:  # tqdm is optional; the callback still reports progress
        return None
    return tqdm(total=total, desc=description, unit="frame")


def _client_workers(client: Any) -> int:
    try:
        return max(1, sum(int(n) for n in client.nthreads().values()))
    except (AttributeError, TypeError, ValueError):
        return 2


def presegment(
    session: Session,
    population: str,
    method: str | os.PathLike[str] = "threshold",
    *,
    frames: int | Iterable[int] | None = None,
    channels: Sequence[int | str] | None = None,
    mode: str = "replace",
    progress: bool = True,
    client: Any = None,
    callback: ProgressCallback | None = None,
    window: int | None = None,
    **params: Any,
) -> list[int]:
    """Pre-segment frames of one population with a threshold pipeline or a model.

    Parameters
    ----------
    session : Session
    population : str
        The population whose labels are written (it must exist).
    method : str or path-like
        Anything `segpaint.segment.segment` accepts: ``"threshold"``, a named model
        (``"CP_cyto3"``, ``"SD_versatile_fluo"``, ...), a local model, or a
        ``threshold_config_<population>.json``.
    frames : int or iterable of int, optional
        Frames to segment (default: all).
    channels : sequence of int or str, optional
        Channels passed to the method, by index or name.
    mode : {"replace", "fill-empty"}
        ``"fill-empty"`` skips frames that already hold labels.
    progress : bool
        Show a tqdm progress bar (in notebooks, a widget bar).
    client : dask.distributed.Client, optional
        Run the frames on that cluster; default: a thread pool in this process.
    callback : callable(done, total), optional
        Called on this thread after each frame is written (the widget's progress hook).
    window : int, optional
        Frames in flight at once (default: twice the number of workers).  Bounds memory.
    **params
        Method parameters, see `segpaint.segment.segment`.

    Returns
    -------
    list of int
        The frames that were written, in ascending order. The run is one undo step
        (``session.undo()`` restores every frame and the method recorded before).

    Examples
    --------
    >>> import numpy as np, segpaint
    >>> movie = np.zeros((2, 32, 32), np.uint16)
    >>> movie[:, 8:16, 8:16] = 1000
    >>> session = segpaint.open(movie, axes="TYX")
    >>> session.presegment("cells", progress=False)
    [0, 1]
    >>> int(session.labels("cells", 1)[10, 10]), session.method("cells")["method"]
    (1, 'threshold')
    """
    check_run_options(mode, callback, window)
    if population not in session.populations:
        raise KeyError(
            f"population: unknown population {population!r}; populations are "
            f"{session.populations}. Add it with session.add_population({population!r})"
        )
    method_str, run_params, recorded = resolve_method(method, params, channels)
    run_params = _resolve_reference(session, run_params)

    todo = _frames(session, frames)
    if mode == "fill-empty":
        todo = [t for t in todo if not np.asarray(session.labels(population, t)).any()]
    total = len(todo)
    job = _FrameJob(method_str, channels, session.channel_names, session.pixel_size_um, run_params)

    written: list[int] = []
    bar = _progress_bar(progress, total, f"{population}: {method_str}")
    # The whole run is one undo step, which also restores the method recorded before it.
    with session.history.group(f"pre-segment {population}"):
        try:
            # the first frame runs here: a wrong parameter fails at once, with a plain traceback
            if todo:
                first = todo[0]
                _write(session, population, first, job(session.stack, first))
                written.append(first)
                _report(bar, callback, len(written), total)
            for frame, labels in _run_parallel(session.stack, todo[1:], job, client, window):
                _write(session, population, frame, labels)
                written.append(frame)
                _report(bar, callback, len(written), total)
        finally:
            if bar is not None:
                bar.close()
        if written or total == 0:
            session.set_method(population, method_str, recorded)
    session._mark_presegmented(population, written)  # not someone's corrections (issue 10)
    return sorted(written)


def _write(session: Session, population: str, frame: int, labels: npt.NDArray[np.uint32]) -> None:
    session.set_labels(population, frame, labels)


def _report(bar: Any, callback: ProgressCallback | None, done: int, total: int) -> None:
    if bar is not None:
        bar.update(1)
    if callback is not None:
        callback(done, total)


def _run_parallel(
    stack: Stack,
    frames: Sequence[int],
    job: _FrameJob,
    client: Any,
    window: int | None,
) -> Iterator[tuple[int, npt.NDArray[np.uint32]]]:
    """Yield ``(frame, labels)`` as frames finish, with at most ``window`` frames in flight."""
    for i, labels in run_frames([(0, stack, t) for t in frames], job, client, window):
        yield frames[i], labels


def run_frames(
    tasks: Sequence[tuple[Hashable, Stack, int]],
    job: _FrameJob,
    client: Any,
    window: int | None,
) -> Iterator[tuple[int, npt.NDArray[np.uint32]]]:
    """Segment ``(stack key, stack, frame)`` tasks; yield ``(task index, labels)`` as they finish.

    Threads in this process by default, or ``client`` (a ``dask.distributed.Client``), to which
    each distinct stack is scattered once; at most ``window`` frames are in flight.
    """
    if not tasks:
        return
    index = range(len(tasks))
    if client is None:
        workers = os.cpu_count() or 1
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="segpaint") as pool:

            def submit_local(i: int) -> Future[npt.NDArray[np.uint32]]:
                _, stack, frame = tasks[i]
                return pool.submit(job, stack, frame)

            yield from _windowed(index, submit_local, window or 2 * workers, wait)
        return

    if not hasattr(client, "submit") or not hasattr(client, "scatter"):
        raise TypeError(
            f"client: expected a dask.distributed.Client, got {type(client).__name__}; "
            "create one with `from dask.distributed import Client; client = Client()`"
        )
    import distributed

    dask_wait: Callable[..., Any] = distributed.wait
    remote: dict[Hashable, Any] = {}
    for key, stack, _ in tasks:
        if key not in remote:
            remote[key] = client.scatter(stack, broadcast=True, hash=False)

    def submit_remote(i: int) -> Any:
        key, _, frame = tasks[i]
        # pure=False: a re-run must recompute, never reuse a cached result for the same key
        return client.submit(job, remote[key], frame, pure=False)

    def wait_remote(pending: Iterable[Any], return_when: str) -> Any:
        return dask_wait(list(pending), return_when=return_when)

    yield from _windowed(index, submit_remote, window or 2 * _client_workers(client), wait_remote)


def _windowed(
    frames: Sequence[int],
    submit: Callable[[int], Any],
    window: int,
    wait_fn: Callable[..., Any],
) -> Iterator[tuple[int, npt.NDArray[np.uint32]]]:
    queue = iter(frames)
    pending: dict[Any, int] = {}
    try:
        for frame in queue:
            pending[submit(frame)] = frame
            if len(pending) >= window:
                break
        while pending:
            done, _ = wait_fn(pending, return_when=FIRST_COMPLETED)
            for future in done:
                frame = pending.pop(future)
                labels = future.result()  # re-raises the task's error here
                for nxt in queue:
                    pending[submit(nxt)] = nxt
                    break
                yield frame, labels
    finally:
        for future in pending:
            future.cancel()
