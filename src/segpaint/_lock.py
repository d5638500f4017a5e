"""One writer at a time: a lock file beside the autosave journal.

Two sessions on the same data (two notebooks, or a restarted kernel whose old process lives on)
would overwrite each other's saves and journals. The first session writes
``.segpaint/<key>.lock`` holding its process id, host and process start time; a second opener
in another process gets :class:`SessionLockedError`, which offers ``read_only=True``. A lock whose
process is gone (same host, dead pid or a recycled one) is stale and is taken over. Within one
process the newest session takes over and the older one becomes read-only, which is what
re-running ``segpaint.open(...)`` in a notebook cell needs.
"""

from __future__ import annotations

import inspect
import json
import os
import socket
import threading
import weakref
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from segpaint.io._fs import atomic_write

_HELD: dict[str, weakref.ref[WriterLock]] = {}
"""lock path -> the lock this process holds on it (its session is demoted on takeover)."""
_HELD_LOCK = threading.Lock()


class SessionLockedError(RuntimeError):
    """The data is open for writing in another process."""


def _start_time(pid: int) -> str | None:
    """The start time of process ``pid`` (Linux ``/proc``), to tell a recycled pid apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 22 counts from after the ")" closing the command name, which may contain spaces.
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _owner() -> dict[str, Any]:
    pid = os.getpid()
    return {
        "pid": pid,
        "host": socket.gethostname(),
        "start": _start_time(pid),
        "since": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def read_owner(path: Path) -> dict[str, Any] | None:
    """The owner recorded in a lock file, or None when it is unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def is_stale(owner: dict[str, Any] | None) -> bool:
    """True when the owner is a process of this host that no longer runs."""
    if owner is None:
        return True  # torn or garbage: written by a process killed mid-write
    if owner.get("host") != socket.gethostname():
        return False
    try:
        pid = int(owner["pid"])
    except (KeyError, TypeError, ValueError):
        return True
    if not _alive(pid):
        return True
    start = owner.get("start")
    return start is not None and _start_time(pid) not in (None, start)


class WriterLock:
    """The lock file of one session; released by :meth:`release` or when garbage-collected."""

    _finalizer: weakref.finalize[Any, Any]
    _on_superseded: Callable[[], Callable[[], None] | None]

    def __init__(
        self,
        path: Path,
        *,
        base: Path | None,
        on_superseded: Callable[[], None],
        take_over: bool = True,
    ) -> None:
        self.path = Path(path)
        key = os.path.abspath(self.path)
        owner = read_owner(self.path) if self.path.exists() else None
        if owner is not None and owner.get("pid") == os.getpid():
            with _HELD_LOCK:
                ref = _HELD.get(key)
            if not take_over and ref is not None and ref() is not None:
                raise SessionLockedError(
                    f"this data is open for editing in a Session of this kernel ({self.path}); "
                    "work through that session, or close it (session.close()) first"
                )
            owner = None  # an older session of this process: taken over below
        elif self.path.exists() and not is_stale(owner):
            assert owner is not None
            raise SessionLockedError(
                f"this data is already open for editing by process {owner.get('pid')} on "
                f"{owner.get('host')} (since {owner.get('since')}): two sessions would overwrite "
                "each other's saves. Close that session (session.close()), or open this one with "
                f"read_only=True to look without saving. If that process is gone, delete {self.path}"
            )
        with _HELD_LOCK:
            ref = _HELD.pop(key, None)
        older = ref() if ref is not None else None
        if older is not None:
            older._finalizer.detach()  # the file is ours now: the older lock must not delete it
            older.on_superseded()
        # A weak reference: the lock must not keep its session alive (the session owns the lock,
        # and a cycle would leave closing files to the cyclic garbage collector).
        if inspect.ismethod(on_superseded):
            self._on_superseded = weakref.WeakMethod(on_superseded)
        else:
            self._on_superseded = lambda: on_superseded
        text = json.dumps(_owner())
        atomic_write(self.path, lambda p: _write_text(p, text), base=base)
        with _HELD_LOCK:
            _HELD[key] = weakref.ref(self)
        self._finalizer = weakref.finalize(self, _release, key, self.path, id(self))

    def on_superseded(self) -> None:
        """Tell the session holding this lock that a newer one of this process took over."""
        callback = self._on_superseded()
        if callback is not None:
            callback()

    def release(self) -> None:
        """Delete the lock file (if it is still ours)."""
        self._finalizer()

    @property
    def held(self) -> bool:
        """Whether this lock is still the one recorded for its file in this process."""
        return self._finalizer.alive


def _write_text(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def _release(key: str, path: Path, ident: int) -> None:
    with _HELD_LOCK:
        ref = _HELD.get(key)
        lock = ref() if ref is not None else None
        if lock is None or id(lock) == ident:
            _HELD.pop(key, None)
    owner = read_owner(path)
    if owner is not None and owner.get("pid") == os.getpid():
        path.unlink(missing_ok=True)
