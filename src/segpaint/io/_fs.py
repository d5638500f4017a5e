"""The file-system layer under every write: crash-atomic files, honest modes, no symlink escape.

Three promises, kept here so that the readers, writers, journal and session cannot forget them:

* **Crash-atomic.** A file is written to a temporary in its destination folder (``.<name>.<random>
  .segpaint-tmp``), fsynced, given its mode, and then made visible by *one* ``os.replace``; the
  folder is fsynced after. Several files that belong together (a sample's image, mask and
  sidecar) are committed as one unit through an *intent record* (``.<name>.<random>
  .segpaint-commit``, JSON): once the record is on disk the commit is decided, and
  :func:`recover_folder` finishes the renames after a crash. A kill at any point therefore leaves,
  after recovery, either the old files or all the new ones.
* **Modes.** A new file gets ``0o666 & ~umask`` like any file the user creates; a replaced file
  keeps the mode it had (saving over a Celldetective mask never narrows it).
* **No escape.** Inside a data folder nothing is created, written or read through a symbolic link
  (:func:`safe_dir`, :func:`check_no_symlink`, :func:`open_append`): a folder received from
  someone else cannot redirect a save to a file elsewhere. The folder the user names is trusted.

A writer process holds an advisory lock (``flock``) on each of its temporaries and on its intent
record until it is done, so :func:`recover_folder` run by another session (or another thread)
leaves a commit in progress alone and only cleans up after writers that are gone.
Within one process the renames of all commits are serialised (two threads saving one sample
never mix their files) and :func:`hold_commits` lets a reader see no commit half-published.

Limits: the symbolic-link checks use ``lstat`` before writing, so they stop links that are in the
data (a received experiment) but not a concurrent attacker who swaps a folder for a link between
the check and the write; two *processes* writing the same sample at the same moment are ordered
only by the session's writer lock; on file systems without ``flock`` a recovery cannot tell a
live writer's temporaries from leftovers.

This module uses the standard library only (so a crash-test child process can load it alone).
"""

from __future__ import annotations

import errno
import json
import os
import secrets
import stat
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

if sys.platform != "win32":
    import fcntl

TMP_SUFFIX = ".segpaint-tmp"
"""Every temporary segpaint writes ends with this (and starts with a dot)."""
COMMIT_SUFFIX = ".segpaint-commit"
"""Every intent record ends with this (and starts with a dot)."""
RECOVER_SUBFOLDERS: tuple[str, ...] = ("images", "masks", "meta")
"""Sub-folders :func:`recover_folder` also cleans (the StarDist layout)."""

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_NAME_BYTES = 200  # room for the dot, the random part and the suffix within NAME_MAX (255)
_RECORD_VERSION = 1

_before_replace: Callable[[Path, Path], None] | None = None
"""Test hook: called with ``(source, destination)`` before every rename that publishes a file.

Crash tests set it (in a child process) to sleep, which widens the windows between renames so that
a SIGKILL lands inside a commit. Never set in normal use.
"""

_UMASK_LOCK = threading.Lock()
_PUBLISH = threading.RLock()
"""Serialises the renames of this process's commits, so that two threads saving the same files
cannot interleave them (a mask of one export with the sidecar of another), and re-checks
``overwrite=False`` at the last moment."""


class UnsafePathError(ValueError):
    """A path inside a data folder that segpaint refuses to use: a symbolic link, or an escape.

    Attributes
    ----------
    path : Path
        The path segpaint was asked to use.
    link : Path or None
        The symbolic link found on the way to it (None for a ``..`` escape).
    """

    def __init__(self, message: str, *, path: Path, link: Path | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.link = link

    def __reduce__(self) -> tuple[Any, ...]:  # keep it picklable (dask, multiprocessing)
        return (_rebuild_unsafe, (str(self), self.path, self.link))


def _rebuild_unsafe(message: str, path: Path, link: Path | None) -> UnsafePathError:
    return UnsafePathError(message, path=path, link=link)


def _link_error(path: Path, link: Path) -> UnsafePathError:
    try:
        target = os.readlink(link)
    except OSError:
        target = "?"
    return UnsafePathError(
        f"refusing {path}: {link} is a symbolic link (to {target}) inside the data folder, and "
        "segpaint never reads or writes through a link there (it could redirect a save to a "
        "file outside the data); remove the link or pass an explicit folder=",
        path=Path(path),
        link=Path(link),
    )


def current_umask() -> int:
    """The process umask, read without changing it (safe to call from any thread).

    Linux reports it in ``/proc/self/status``; elsewhere it is read with the
    ``os.umask(x); os.umask(old)`` pair under a lock, with ``x = 0o077`` so that a file another
    thread creates in that instant is made narrower, never wider.

    Examples
    --------
    >>> 0 <= current_umask() <= 0o777
    True
    """
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _UMASK_LOCK:
        old = os.umask(0o077)
        os.umask(old)
    return old


def new_file_mode() -> int:
    """The mode a new file gets: ``0o666 & ~umask``."""
    return 0o666 & ~current_umask()


# -- paths ---------------------------------------------------------------------------------------


def _confine(base: Path, path: Path) -> tuple[str, str]:
    """``(base, path)`` normalised; ``path`` (relative paths are taken inside ``base``) must be
    inside ``base`` once ``..`` is resolved lexically."""
    b = os.path.normpath(os.path.abspath(base))
    p = os.path.normpath(os.path.join(b, os.fspath(path)))
    if os.path.commonpath([b, p]) != b:
        raise UnsafePathError(
            f"refusing {path}: it resolves to {p}, outside the data folder {b}; use a path "
            "inside the data folder, or pass an explicit folder=",
            path=Path(path),
        )
    return b, p


def check_no_symlink(base: Path, path: Path) -> Path:
    """Check that ``path`` stays inside ``base`` and crosses no symbolic link below it.

    ``path`` must be inside ``base`` lexically (after ``os.path.normpath``; a relative ``path`` is
    taken relative to ``base``), and no existing component from ``base`` (exclusive) down to
    ``path`` (inclusive) may be a symbolic link. ``base`` itself is trusted: it is the data folder
    or a folder the user named. Components that do not exist yet are fine.

    Parameters
    ----------
    base : Path
        The trusted folder.
    path : Path
        A path to read, write or create inside it.

    Returns
    -------
    Path
        ``path``, normalised (absolute, without ``..``).

    Raises
    ------
    UnsafePathError
        When ``path`` escapes ``base`` or a component is a symbolic link.

    Examples
    --------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> check_no_symlink(root, root / "labels_cells" / "0000.tif") == root / "labels_cells/0000.tif"
    True
    """
    b, p = _confine(base, path)
    cur = b
    rel = os.path.relpath(p, b)
    for part in [] if rel == os.curdir else rel.split(os.sep):
        cur = os.path.join(cur, part)
        try:
            st = os.lstat(cur)
        except (FileNotFoundError, NotADirectoryError):
            break  # nothing deeper exists either
        if stat.S_ISLNK(st.st_mode):
            raise _link_error(Path(p), Path(cur))
    return Path(p)


def _split_parts(parts: Iterable[str]) -> list[str]:
    names: list[str] = []
    for part in parts:
        pieces = PurePosixPath(str(part).replace(os.sep, "/")).parts
        if not pieces or str(part).startswith(("/", os.sep)) or "\0" in str(part):
            raise ValueError(
                f"folder part {part!r} is not a relative folder name; pass names such as "
                "'labels_cells' or 'images'"
            )
        for piece in pieces:
            if piece in (".", ".."):
                raise UnsafePathError(
                    f"refusing folder part {part!r}: '..' and '.' could leave the data folder; "
                    "pass plain folder names",
                    path=Path(part),
                )
            names.append(piece)
    return names


def safe_dir(base: Path, *parts: str) -> Path:
    """The folder ``base/parts...``, created where missing, never through a symbolic link.

    Like ``mkdir -p``, but each component below ``base`` is checked with ``lstat``: a symbolic
    link, or something that is not a folder, is refused instead of followed. New folders get
    ``0o777 & ~umask`` and are made durable (their parent is fsynced). ``base`` itself is trusted
    (the data folder, or a folder the user named) and is created if missing.

    Parameters
    ----------
    base : Path
        The trusted folder.
    *parts : str
        Folder names below it (``"a/b"`` counts as ``"a", "b"``); ``..`` is refused.

    Returns
    -------
    Path
        ``base / parts...``.

    Raises
    ------
    UnsafePathError
        When a component is a symbolic link (or a part is ``..``).
    NotADirectoryError
        When a component exists and is not a folder.

    Examples
    --------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> safe_dir(root, "annotations_cells", "images").is_dir()
    True
    """
    names = _split_parts(parts)
    cur = Path(base)
    if not names:
        cur.mkdir(parents=True, exist_ok=True)
        return cur
    if not os.path.isdir(cur):
        cur.mkdir(parents=True, exist_ok=True)
    for name in names:
        parent, cur = cur, cur / name
        try:
            os.mkdir(cur)
        except FileExistsError:
            pass
        else:
            _fsync_dir(parent)
        st = os.lstat(cur)
        if stat.S_ISLNK(st.st_mode):
            raise _link_error(cur, cur)
        if not stat.S_ISDIR(st.st_mode):
            raise NotADirectoryError(
                f"{cur} exists and is not a folder; segpaint needs a folder there: move the file "
                "away or pass another folder="
            )
    return cur


# -- low-level helpers ---------------------------------------------------------------------------


def _fsync(fd: int) -> None:
    """Flush a file to stable storage (on macOS ``fsync`` stops at the drive's cache)."""
    full = getattr(fcntl, "F_FULLFSYNC", None) if sys.platform == "darwin" else None
    if full is not None:
        try:
            fcntl.fcntl(fd, full)
        except OSError:  # not every file system supports it
            pass
        else:
            return
    os.fsync(fd)


def _fsync_dir(folder: Path | str) -> None:
    """Make a folder's entries (new names, renames, removals) durable."""
    if sys.platform == "win32":  # folders cannot be opened there; NTFS journals metadata
        return
    fd = os.open(folder, os.O_RDONLY | _DIRECTORY | _CLOEXEC)
    try:
        _fsync(fd)
    except OSError as err:  # some file systems cannot sync a folder; the data is synced anyway
        if err.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise
    finally:
        os.close(fd)


def _lock(fd: int, *, wait: bool) -> bool:
    """Take the advisory lock on ``fd``; False when another holder has it (``wait=False``).

    File systems without ``flock`` count as unlocked (True): nothing can be known there.
    """
    if sys.platform == "win32":
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError as err:  # ENOLCK, EOPNOTSUPP...: no locking on this file system
        return err.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES)
    return True


@contextmanager
def hold_commits() -> Iterator[None]:
    """Pause this process's commits while reading a set of files that belong together.

    While held, no :func:`commit_files` or :func:`atomic_write` of this process (any thread)
    publishes files, so a listing of samples never sees one half-renamed. Writes in other
    processes are not paused (their commits are finished by :func:`recover_folder`). Hold it
    briefly: writers wait.

    Examples
    --------
    >>> with hold_commits():
    ...     pass
    """
    with _PUBLISH:
        yield


def _replace(src: Path, dst: Path) -> None:
    """The one rename that publishes a file (the test hook runs first)."""
    if _before_replace is not None:
        _before_replace(src, dst)
    os.replace(src, dst)


def _short(name: str) -> str:
    return name.encode("utf-8", "surrogateescape")[:_NAME_BYTES].decode("utf-8", "ignore")


def _is_ours(name: str, suffix: str) -> bool:
    return name.startswith(".") and name.endswith(suffix) and len(name) > len(suffix) + 1


def open_nofollow(path: Path, *, truncate: bool = True) -> BinaryIO:
    """Open ``path`` for writing (created with ``0o666 & ~umask`` if missing), refusing a link.

    Parameters
    ----------
    path : Path
        The file; its last component must not be a symbolic link.
    truncate : bool
        Empty an existing file first (the default).

    Raises
    ------
    UnsafePathError
        When ``path`` is a symbolic link or not a regular file.
    """
    flags = os.O_WRONLY | os.O_CREAT | _NOFOLLOW | _CLOEXEC | _NONBLOCK
    if truncate:
        flags |= os.O_TRUNC
    return _open_regular(path, flags)


def _open_regular(path: Path, flags: int, buffering: int = -1) -> BinaryIO:
    try:
        fd = os.open(path, flags, 0o666)
    except OSError as err:
        if err.errno == errno.ELOOP or (err.errno == errno.EMLINK and os.path.islink(path)):
            raise _link_error(Path(path), Path(path)) from None
        if err.errno == errno.ENXIO:  # a FIFO without a reader
            raise UnsafePathError(
                f"refusing {path}: it is not a regular file; remove it or pass an explicit folder=",
                path=Path(path),
            ) from None
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UnsafePathError(
                f"refusing {path}: it is not a regular file; remove it or pass an explicit folder=",
                path=Path(path),
            )
        if _NONBLOCK:
            os.set_blocking(fd, True)
        f = os.fdopen(fd, "ab" if flags & os.O_APPEND else "wb", buffering=buffering)
        # name the file by its path, not its descriptor (tifffile and error messages use it)
        raw: Any = getattr(f, "raw", f)
        raw.name = os.fspath(path)
        return f
    except BaseException:
        os.close(fd)
        raise


def open_append(path: Path, *, buffering: int = -1) -> BinaryIO:
    """Open a file for appending (the autosave journal) without following a symbolic link.

    The file is opened with ``O_NOFOLLOW | O_APPEND | O_CREAT``; a new file gets
    ``0o666 & ~umask``. A link, something that is not a regular file, or a file with more than
    one hard link (which could alias a file outside the data folder) is refused.

    Parameters
    ----------
    path : Path
        The file to append to.
    buffering : int
        As for :func:`open`; the default buffers, so call ``flush()`` after each record.

    Returns
    -------
    BinaryIO
        The open file, positioned at its end.

    Raises
    ------
    UnsafePathError
        When ``path`` is a symbolic link, not a regular file, or hard-linked elsewhere.
    """
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | _NOFOLLOW | _CLOEXEC | _NONBLOCK
    f = _open_regular(path, flags, buffering)
    nlink = os.fstat(f.fileno()).st_nlink
    if nlink > 1:
        f.close()
        raise UnsafePathError(
            f"refusing {path}: it has {nlink} hard links, so appending to it could change a file "
            "outside the data folder; remove it (or copy it to a plain file) or pass an explicit "
            "folder=",
            path=Path(path),
        )
    return f


# -- temporaries ---------------------------------------------------------------------------------


class _Temp:
    """A locked temporary beside ``final``: created exclusively (0600 while written), locked
    until closed, so that :func:`recover_folder` elsewhere leaves it alone while we live."""

    def __init__(self, final: Path) -> None:
        self.final = final
        while True:
            path = final.parent / f".{_short(final.name)}.{secrets.token_hex(6)}{TMP_SUFFIX}"
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o600)
            except FileExistsError:
                continue
            _lock(fd, wait=True)
            try:  # a recovery may have removed it between open and lock: then start again
                same = os.path.samestat(os.lstat(path), os.fstat(fd))
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        self.path = path
        self.fd: int | None = fd
        self.published = False

    def fill(self, write: Callable[[Path], None], mode: int) -> None:
        """Let ``write`` write the temporary, then fsync it and give it ``mode``."""
        assert self.fd is not None
        write(self.path)
        try:
            same = os.path.samestat(os.lstat(self.path), os.fstat(self.fd))
        except FileNotFoundError:
            same = False
        if not same:
            raise OSError(
                f"the writer for {self.final} replaced or removed its temporary {self.path} "
                "instead of writing into it; a writer must write exactly the path it is given"
            )
        _fsync(self.fd)
        if sys.platform == "win32":
            os.chmod(self.path, mode)
        else:
            os.fchmod(self.fd, mode)

    def discard(self) -> None:
        """Remove the temporary (unless it was published)."""
        if not self.published:
            with suppress(FileNotFoundError):
                os.unlink(self.path)

    def close(self) -> None:
        """Release the lock."""
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def _mode_for(final: Path) -> int:
    """An existing regular file's mode (kept), else the mode of a new file."""
    try:
        st = os.lstat(final)
    except FileNotFoundError:
        return new_file_mode()
    if stat.S_ISREG(st.st_mode):
        return stat.S_IMODE(st.st_mode)
    return new_file_mode()


def reserve_temp(final: Path) -> Path:
    """Create an empty temporary beside ``final`` (named as ours, so recovery removes it if it is
    left behind) and return its path. The caller writes it and renames or removes it."""
    t = _Temp(Path(final))
    t.close()
    return t.path


def _prepare(paths: Iterable[Path], base: Path | None) -> list[Path]:
    finals: list[Path] = []
    for p in paths:
        final = check_no_symlink(base, Path(p)) if base is not None else Path(p)
        if final in finals:
            raise ValueError(f"{final} is given twice; each file of a commit needs its own path")
        finals.append(final)
    return finals


def _make_parent(final: Path, base: Path | None) -> None:
    if base is None:
        final.parent.mkdir(parents=True, exist_ok=True)
        return
    b = os.path.normpath(os.path.abspath(base))
    rel = os.path.relpath(final.parent, b)
    if rel == os.curdir:
        safe_dir(Path(b))
    else:
        safe_dir(Path(b), *rel.split(os.sep))


def _check_target(final: Path, overwrite: bool) -> None:
    if not os.path.lexists(final):
        return
    if not overwrite:
        raise FileExistsError(
            f"{final} already exists; pass overwrite=True to replace it, or pick another ROI or "
            "folder"
        )
    if os.path.isdir(final) and not os.path.islink(final):
        raise IsADirectoryError(f"{final} is a folder; segpaint will not replace it with a file")


def atomic_write(
    path: Path,
    write: Callable[[Path], None],
    *,
    base: Path | None = None,
    overwrite: bool = True,
    before_replace: Callable[[Path], None] | None = None,
) -> Path:
    """Write one file so that a crash leaves either the old file or the new one, whole.

    ``write`` is called with a temporary path in the same folder (``.<name>.<random>
    .segpaint-tmp``); the temporary is fsynced, given its mode (an existing file's mode is kept,
    a new file gets ``0o666 & ~umask``), renamed onto ``path`` by one ``os.replace`` and the
    folder is fsynced. Missing parent folders are created (with :func:`safe_dir` under ``base``).

    Parameters
    ----------
    path : Path
        The final file.
    write : callable(Path) -> None
        Writes the file's content to the path it is given (exactly that path).
    base : Path, optional
        The data folder ``path`` must stay inside, crossing no symbolic link
        (:func:`check_no_symlink`).
    overwrite : bool
        Replace an existing file (the default); when False an existing file is an error.
    before_replace : callable(Path) -> None, optional
        Called with the complete, fsynced temporary just before the rename (its ``stat`` is what
        the final file will have): the autosave journal records there which save it is.

    Returns
    -------
    Path
        The final path.

    Examples
    --------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> p = atomic_write(root / "a.txt", lambda t: t.write_text("hello"), base=root)
    >>> p.read_text()
    'hello'
    """
    (final,) = _prepare([Path(path)], base)
    _check_target(final, overwrite)
    _make_parent(final, base)
    tmp = _Temp(final)
    try:
        tmp.fill(write, _mode_for(final))
        if before_replace is not None:
            before_replace(tmp.path)
        with _PUBLISH:
            _check_target(final, overwrite)  # again: another thread may have written it
            _replace(tmp.path, final)
            tmp.published = True
        _fsync_dir(final.parent)
    except BaseException:
        tmp.discard()
        raise
    finally:
        tmp.close()
    return final


# -- multi-file commits --------------------------------------------------------------------------


def _rel(folder: Path, path: Path) -> str:
    return PurePosixPath(*Path(os.path.relpath(path, folder)).parts).as_posix()


def _write_record(path: Path, pairs: list[tuple[str, str]]) -> None:
    text = json.dumps({"segpaint_commit": _RECORD_VERSION, "pairs": [list(p) for p in pairs]})
    with open_nofollow(path) as f:
        f.write(text.encode("utf-8"))


def _roll_forward(folder: Path, pairs: list[tuple[str, str]]) -> list[str]:
    """Finish the renames of one commit; returns what could not be finished."""
    problems: list[str] = []
    dirs: list[Path] = []
    for tmp_rel, final_rel in pairs:
        tmp, final = folder / tmp_rel, folder / final_rel
        if final.parent not in dirs:
            dirs.append(final.parent)
        try:
            st = os.lstat(tmp)
        except FileNotFoundError:
            if not os.path.lexists(final):
                problems.append(
                    f"{final}: its temporary {tmp.name} is gone and it was never renamed"
                )
            continue  # renamed before the crash
        if not stat.S_ISREG(st.st_mode):
            problems.append(f"{tmp} is not a regular file")
            continue
        _replace(tmp, final)
    for d in dirs:
        _fsync_dir(d)
    return problems


def commit_files(
    writers: Mapping[Path, Callable[[Path], None]],
    *,
    overwrite: bool = False,
    base: Path | None = None,
) -> list[Path]:
    """Write several files as one unit: after a crash (and :func:`recover_folder`), either all the
    old files or all the new ones are there.

    Each writer is called with a temporary path beside its final file. Once all temporaries are
    written and fsynced, an intent record (``.<first name>.<random>.segpaint-commit``, JSON pairs
    of temporary -> final, relative to the common parent folder) is written atomically: from that
    moment the commit is decided. Then each temporary is renamed onto its final name, the folders
    are fsynced and the record is removed. An error before the record leaves the old files and
    removes the temporaries; an error after it finishes the renames (or leaves the record for
    :func:`recover_folder` when a rename itself fails).

    Parameters
    ----------
    writers : mapping of final path -> callable(tmp_path)
        The files to write; they may sit in different sub-folders of one folder (the StarDist
        layout ``images/``, ``masks/``, ``meta/``).
    overwrite : bool
        Replace existing files. When False (the default) an existing file is an error and
        nothing is written.
    base : Path, optional
        The data folder every file must stay inside, crossing no symbolic link; missing folders
        below it are created with :func:`safe_dir`.

    Returns
    -------
    list of Path
        The final paths, in the order given.

    Raises
    ------
    FileExistsError
        When a file exists and ``overwrite`` is False (before anything is written).
    UnsafePathError
        When a path escapes ``base`` or crosses a symbolic link.
    """
    finals = _prepare(writers, base)
    for final in finals:
        _check_target(final, overwrite)
    if not finals:
        return []
    for final in finals:
        _make_parent(final, base)
    temps: list[_Temp] = []
    record: _Temp | None = None
    record_path: Path | None = None
    committed = False
    try:
        for final, write in zip(finals, writers.values(), strict=True):
            temps.append(_Temp(final))
            temps[-1].fill(write, _mode_for(final))
        if len(temps) == 1:  # one rename is atomic on its own
            with _PUBLISH:
                _check_target(finals[0], overwrite)
                _replace(temps[0].path, finals[0])
                temps[0].published = True
            _fsync_dir(finals[0].parent)
            return finals
        parents = list(dict.fromkeys(t.path.parent for t in temps))
        for d in parents:  # the temporaries' names must be durable before the record
            _fsync_dir(d)
        folder = Path(os.path.commonpath([os.fspath(d) for d in parents]))
        pairs = [
            (_rel(folder, t.path), _rel(folder, f)) for t, f in zip(temps, finals, strict=True)
        ]
        record_path = folder / f".{_short(finals[0].name)}.{secrets.token_hex(6)}{COMMIT_SUFFIX}"
        record = _Temp(record_path)
        record.fill(lambda p: _write_record(p, pairs), new_file_mode())
        with _PUBLISH:
            for final in finals:  # again: another thread may have written them meanwhile
                _check_target(final, overwrite)
            _replace(record.path, record_path)
            record.published = committed = True
            _fsync_dir(folder)
            problems = _roll_forward(folder, pairs)
            for t in temps:
                t.published = True
            if problems:  # only if someone removed our temporaries: keep the record, say so
                raise OSError("; ".join(problems))
            os.unlink(record_path)
            _fsync_dir(folder)
    except BaseException:
        if not committed and record is not None and record_path is not None:
            # an interrupt may land right after the record's rename returned
            with suppress(OSError):
                assert record.fd is not None
                committed = os.path.samestat(os.lstat(record_path), os.fstat(record.fd))
        if committed and record_path is not None:
            with suppress(BaseException), _PUBLISH:  # best effort; else recover_folder finishes
                if not _roll_forward(record_path.parent, pairs):
                    os.unlink(record_path)
                    _fsync_dir(record_path.parent)
            for t in temps:
                t.published = True
        else:
            for t in _present(temps, record):
                with suppress(BaseException):
                    t.discard()
        raise
    finally:
        for t in _present(temps, record):
            t.close()
    return finals


def _present(temps: list[_Temp], record: _Temp | None) -> list[_Temp]:
    return [*temps, record] if record is not None else list(temps)


# -- recovery ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecoveryReport:
    """What :func:`recover_folder` did.

    Attributes
    ----------
    rolled_forward : int
        Interrupted commits finished (intent records replayed and removed).
    temporaries_removed : int
        Temporaries of interrupted writes removed.
    in_use : int
        Records and temporaries left alone because a live writer holds them.
    problems : tuple of str
        Records that could not be finished or were refused, with why (they are kept).
    """

    rolled_forward: int = 0
    temporaries_removed: int = 0
    in_use: int = 0
    problems: tuple[str, ...] = ()

    def __add__(self, other: RecoveryReport) -> RecoveryReport:
        return RecoveryReport(
            self.rolled_forward + other.rolled_forward,
            self.temporaries_removed + other.temporaries_removed,
            self.in_use + other.in_use,
            self.problems + other.problems,
        )


def _read_record(folder: Path, path: Path, fd: int) -> list[tuple[str, str]]:
    """The pairs of one intent record; ValueError when it is not one of ours or unsafe."""
    with os.fdopen(os.dup(fd), "rb") as f:
        f.seek(0)
        data = json.loads(f.read(1 << 20).decode("utf-8"))
    if not isinstance(data, dict) or data.get("segpaint_commit") != _RECORD_VERSION:
        raise ValueError("not a segpaint intent record")
    raw = data.get("pairs")
    if not isinstance(raw, list):
        raise ValueError("no list of pairs")
    pairs: list[tuple[str, str]] = []
    for item in raw:
        if not (
            isinstance(item, list) and len(item) == 2 and all(isinstance(s, str) for s in item)
        ):
            raise ValueError(f"bad pair {item!r}")
        tmp, final = PurePosixPath(item[0]), PurePosixPath(item[1])
        for p in (tmp, final):
            if p.is_absolute() or any(s in ("..", ".", "") for s in p.parts) or "\\" in str(p):
                raise ValueError(f"path {str(p)!r} leaves the folder")
        if tmp.parent != final.parent or not _is_ours(tmp.name, TMP_SUFFIX):
            raise ValueError(f"{str(tmp)!r} is not a temporary of ours beside {str(final)!r}")
        check_no_symlink(folder, folder / str(final))
        pairs.append((str(tmp), str(final)))
    return pairs


def _open_locked(path: Path) -> int | None:
    """Open one of our files and take its lock; None if it is in use (or not a plain file)."""
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW | _CLOEXEC | _NONBLOCK)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode) or not _lock(fd, wait=False):
            os.close(fd)
            return None
        if not os.path.samestat(os.lstat(path), os.fstat(fd)):  # renamed meanwhile
            os.close(fd)
            return None
    except OSError:
        os.close(fd)
        return None
    return fd


def recover_folder(folder: Path, *, base: Path | None = None) -> RecoveryReport:
    """Finish or clean up the writes a crash interrupted in ``folder``.

    Every intent record in ``folder`` (from :func:`commit_files`) is rolled forward: the renames
    whose temporaries still exist are done (a temporary that is gone while its final file exists
    was renamed before the crash), then the record is removed. Then the temporaries of ours
    (``.*.segpaint-tmp``, regular files) that no record names are removed: they are interrupted
    writes. The immediate sub-folders ``images/``, ``masks/`` and ``meta/`` are cleaned too.
    Records and temporaries a live writer holds (another thread or session) are left alone, and
    nothing that is not ours is ever removed. Symbolic links inside ``folder`` are never followed.

    Parameters
    ----------
    folder : Path
        A label, export or ``.segpaint/`` folder; a missing folder is fine.
    base : Path, optional
        The data folder ``folder`` must be inside, crossing no symbolic link.

    Returns
    -------
    RecoveryReport
        Counts of commits rolled forward and temporaries removed, and any problem found (a
        read-only or unlistable folder is reported there, not raised, so opening data on a
        read-only disk still works).

    Raises
    ------
    UnsafePathError
        With ``base``, when ``folder`` escapes it or crosses a symbolic link.
    """
    folder = check_no_symlink(base, Path(folder)) if base is not None else Path(folder)
    if not os.path.isdir(folder):  # without base the folder is the caller's choice, link or not
        return RecoveryReport()
    rolled = removed = in_use = 0
    problems: list[str] = []
    keep: set[Path] = set()
    try:
        records = sorted(e.name for e in os.scandir(folder) if _is_ours(e.name, COMMIT_SUFFIX))
    except OSError as err:
        return RecoveryReport(problems=(f"{folder}: cannot be listed ({err})",))
    for name in records:
        path = folder / name
        fd = _open_locked(path)
        if fd is None:
            in_use += 1
            continue
        try:
            try:
                pairs = _read_record(folder, path, fd)
            except (ValueError, UnicodeDecodeError, OSError) as err:
                problems.append(f"{path}: left in place, not a usable intent record ({err})")
                continue
            try:
                left = _roll_forward(folder, pairs)
                if not left:
                    os.unlink(path)
                    _fsync_dir(folder)
                    rolled += 1
            except OSError as err:  # a read-only folder: report, never stop the caller
                left = [f"{path}: could not finish the commit ({err})"]
            if left:
                problems.extend(left)
                keep.update(folder / t for t, _ in pairs)
        finally:
            os.close(fd)
    folders = [folder]
    for sub in RECOVER_SUBFOLDERS:
        with suppress(OSError):
            if stat.S_ISDIR(os.lstat(folder / sub).st_mode):  # lstat: a link is not descended
                folders.append(folder / sub)
    for d in folders:
        gone = 0
        try:
            entries = list(os.scandir(d))
        except OSError as err:
            problems.append(f"{d}: cannot be listed ({err})")
            continue
        for entry in entries:
            path = d / entry.name
            if not _is_ours(entry.name, TMP_SUFFIX) or path in keep:
                continue
            if not entry.is_file(follow_symlinks=False):
                continue  # not a file we wrote: never touched
            fd = _open_locked(path)
            if fd is None:
                in_use += 1
                continue
            try:
                os.unlink(path)
                gone += 1
            except OSError as err:  # a read-only folder: report, never stop the caller
                problems.append(f"{path}: could not remove this leftover temporary ({err})")
            finally:
                os.close(fd)
        if gone:
            with suppress(OSError):
                _fsync_dir(d)
            removed += gone
    return RecoveryReport(rolled, removed, in_use, tuple(problems))
