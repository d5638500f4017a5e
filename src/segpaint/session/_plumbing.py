"""The session's lock, its writer lock on the data folder, and population-name checks."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from segpaint._lock import WriterLock
from segpaint.io._fs import recover_folder, safe_dir
from segpaint.io.source import Source

_NAME_RE = re.compile(r"^[a-z0-9_-]+$")


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
