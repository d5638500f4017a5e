"""The file-system layer (segpaint.io._fs): crash-atomic writes, file modes, no symlink escape.

Every test looks at what a user would find on disk: file bytes, modes, which files exist, and
that a folder a symbolic link points to stays untouched.
"""

from __future__ import annotations

import os
import pickle
import random
import signal
import stat
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import tifffile

from segpaint.io import _fs
from segpaint.io._fs import (
    RecoveryReport,
    UnsafePathError,
    atomic_write,
    check_no_symlink,
    commit_files,
    current_umask,
    hold_commits,
    open_append,
    recover_folder,
    safe_dir,
)
from segpaint.io.export import write_label_frame, write_sample

FS_SOURCE = Path(_fs.__file__)


@pytest.fixture
def umask() -> Iterator[Callable[[int], None]]:
    """Set the process umask for one test (restored after)."""
    old = os.umask(0o022)
    os.umask(old)

    def set_mask(mask: int) -> None:
        os.umask(mask)

    yield set_mask
    os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def _ours(folder: Path) -> list[Path]:
    """Every temporary or intent record of ours left anywhere under ``folder``."""
    return sorted(
        p for p in folder.rglob(".*") if p.name.endswith((_fs.TMP_SUFFIX, _fs.COMMIT_SUFFIX))
    )


def _snapshot(folder: Path) -> dict[str, bytes]:
    """Relative path -> bytes of every regular file under ``folder``."""
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


# -- modes -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mask", "file_mode", "dir_mode"), [(0o022, 0o644, 0o755), (0o002, 0o664, 0o775)]
)
def test_new_files_and_folders_honour_the_umask(tmp_path, umask, mask, file_mode, dir_mode):
    umask(mask)
    assert current_umask() == mask
    one = atomic_write(tmp_path / "one.txt", lambda p: p.write_text("x"), base=tmp_path)
    labels = write_label_frame(
        tmp_path / "labels_cells" / "0000.tif", np.ones((4, 4), np.uint16), base=tmp_path
    )
    sample = commit_files(
        {
            tmp_path / "ann" / "images" / "s.tif": lambda p: p.write_bytes(b"i"),
            tmp_path / "ann" / "masks" / "s.tif": lambda p: p.write_bytes(b"m"),
        },
        base=tmp_path,
    )
    for path in [one, labels, *sample]:
        assert _mode(path) == file_mode, path
    for folder in [tmp_path / "labels_cells", tmp_path / "ann", tmp_path / "ann" / "images"]:
        assert _mode(folder) == dir_mode, folder
    with open_append(tmp_path / "journal.bin") as f:
        f.write(b"r")
    assert _mode(tmp_path / "journal.bin") == file_mode


@pytest.mark.parametrize("kept", [0o664, 0o644, 0o600, 0o640], ids=oct)
def test_a_replaced_file_keeps_its_mode(tmp_path, umask, kept):
    umask(0o022)
    mask = tmp_path / "labels_cells" / "0003.tif"
    mask.parent.mkdir()
    tifffile.imwrite(mask, np.zeros((8, 8), np.uint16))
    os.chmod(mask, kept)
    write_label_frame(mask, np.full((8, 8), 5, np.uint16), base=tmp_path)
    assert _mode(mask) == kept
    assert tifffile.imread(mask).max() == 5  # replaced, not left alone
    side = tmp_path / "s.json"
    side.write_text("{}")
    os.chmod(side, kept)
    commit_files(
        {
            side: lambda p: p.write_text('{"a": 1}'),
            tmp_path / "s.tif": lambda p: p.write_bytes(b""),
        },
        overwrite=True,
    )
    assert _mode(side) == kept and side.read_text() == '{"a": 1}'
    assert _mode(tmp_path / "s.tif") == 0o644


def test_current_umask_does_not_change_it(umask):
    umask(0o027)
    assert current_umask() == 0o027
    assert current_umask() == 0o027
    assert os.umask(0o022) == 0o027


# -- symbolic links and escapes ----------------------------------------------------------------


@pytest.fixture
def outside(tmp_path) -> Path:
    """A folder outside the data folder, holding one file; a link will point here."""
    out = tmp_path / "outside"
    out.mkdir()
    (out / "precious.tif").write_bytes(b"do not touch")
    return out


@pytest.fixture
def data(tmp_path) -> Path:
    d = tmp_path / "experiment"
    d.mkdir()
    return d


def test_symlinked_labels_folder_is_refused(data, outside):
    (data / "labels_cells").symlink_to(outside)
    before = _snapshot(outside)
    with pytest.raises(UnsafePathError, match=r"labels_cells is a symbolic link") as err:
        write_label_frame(data / "labels_cells" / "0000.tif", np.ones((4, 4), np.uint8), base=data)
    assert "remove the link or pass an explicit folder=" in str(err.value)
    assert err.value.link == data / "labels_cells"
    assert _snapshot(outside) == before
    with pytest.raises(UnsafePathError, match="labels_cells is a symbolic link"):
        safe_dir(data, "labels_cells")


def test_symlinked_annotations_folder_is_refused(data, outside):
    (data / "annotations_cells").symlink_to(outside)
    before = _snapshot(outside)
    image = np.zeros((1, 8, 8), np.uint16)
    labels = np.zeros((8, 8), np.uint16)
    with pytest.raises(UnsafePathError, match="annotations_cells is a symbolic link"):
        write_sample(data / "annotations_cells", "s", image, labels, {}, base=data)
    assert _snapshot(outside) == before
    assert sorted(p.name for p in outside.iterdir()) == ["precious.tif"]


def test_a_symlinked_stardist_subfolder_stops_the_whole_sample(data, outside):
    base = data / "annotations_cells_stardist"
    (base / "images").mkdir(parents=True)
    (base / "masks").symlink_to(outside)
    with pytest.raises(UnsafePathError, match="masks is a symbolic link"):
        write_sample(
            base, "s", np.zeros((1, 8, 8), np.uint16), np.zeros((8, 8), np.uint16), {},
            format="stardist", base=data,
        )  # fmt: skip
    assert list((base / "images").iterdir()) == []  # nothing written before the refusal
    assert not (base / "meta").exists()
    assert sorted(p.name for p in outside.iterdir()) == ["precious.tif"]


def test_symlinked_segpaint_folder_is_refused(data, outside):
    (data / ".segpaint").symlink_to(outside)
    with pytest.raises(UnsafePathError, match=r"\.segpaint is a symbolic link"):
        safe_dir(data, ".segpaint")
    with pytest.raises(UnsafePathError, match=r"\.segpaint is a symbolic link"):
        atomic_write(data / ".segpaint" / "journal.bin", lambda p: p.write_bytes(b"x"), base=data)
    with pytest.raises(UnsafePathError, match=r"\.segpaint is a symbolic link"):
        recover_folder(data / ".segpaint", base=data)
    assert sorted(p.name for p in outside.iterdir()) == ["precious.tif"]


def test_a_symlinked_final_file_is_refused_and_its_target_unchanged(data, outside):
    folder = data / "labels_cells"
    folder.mkdir()
    (folder / "0000.tif").symlink_to(outside / "precious.tif")
    with pytest.raises(UnsafePathError, match=r"0000\.tif is a symbolic link"):
        write_label_frame(folder / "0000.tif", np.ones((4, 4), np.uint8), base=data)
    with pytest.raises(UnsafePathError, match=r"0000\.tif is a symbolic link"):
        commit_files(
            {folder / "0000.tif": lambda p: p.write_bytes(b"x"), folder / "b": lambda p: None},
            overwrite=True,
            base=data,
        )
    assert (outside / "precious.tif").read_bytes() == b"do not touch"
    assert _ours(data) == [] and not (folder / "b").exists()
    # without base= the link itself is replaced, never written through
    write_label_frame(folder / "0000.tif", np.ones((4, 4), np.uint8))
    assert not (folder / "0000.tif").is_symlink()
    assert (outside / "precious.tif").read_bytes() == b"do not touch"


@pytest.mark.parametrize(
    "path", ["../outside/x.tif", "labels/../../outside/x.tif", "/etc/passwd", "a/../.."]
)
def test_dotdot_escapes_are_refused(data, outside, path):
    with pytest.raises(UnsafePathError, match="outside the data folder"):
        check_no_symlink(data, Path(path))
    with pytest.raises(UnsafePathError, match="outside the data folder"):
        atomic_write(data / path, lambda p: p.write_bytes(b"x"), base=data)
    assert sorted(p.name for p in outside.iterdir()) == ["precious.tif"]


def test_dotdot_folder_parts_are_refused(data):
    with pytest.raises(UnsafePathError, match="'..' and '.' could leave the data folder"):
        safe_dir(data, "labels", "..", "..", "x")
    with pytest.raises(ValueError, match="is not a relative folder name"):
        safe_dir(data, "/tmp")
    assert list(data.iterdir()) == []


def test_check_no_symlink_allows_what_is_inside(data):
    assert check_no_symlink(data, Path("movie/a.tif")) == data / "movie" / "a.tif"
    assert check_no_symlink(data, data / "x" / ".." / "y") == data / "y"
    assert check_no_symlink(data, data) == data
    (data / "movie").mkdir()
    (data / "movie" / "real.tif").write_bytes(b"")
    (data / "movie" / "link.tif").symlink_to(data / "movie" / "real.tif")
    with pytest.raises(UnsafePathError, match=r"link\.tif is a symbolic link"):
        check_no_symlink(data, data / "movie" / "link.tif")
    trusted = data.parent / "via_link"
    trusted.symlink_to(data)  # base itself may be a link: the user chose it
    assert check_no_symlink(trusted, trusted / "movie" / "real.tif") == trusted / "movie/real.tif"


def test_safe_dir_refuses_a_file_in_the_way(data):
    (data / "labels_cells").write_text("not a folder")
    with pytest.raises(NotADirectoryError, match="exists and is not a folder"):
        safe_dir(data, "labels_cells")


def test_open_append_refuses_a_symlinked_journal(data, outside):
    seg = safe_dir(data, ".segpaint")
    (seg / "journal.bin.pending").symlink_to(outside / "precious.tif")
    with pytest.raises(UnsafePathError, match=r"journal\.bin\.pending is a symbolic link"):
        open_append(seg / "journal.bin.pending")
    assert (outside / "precious.tif").read_bytes() == b"do not touch"
    os.link(outside / "precious.tif", seg / "hard.bin")
    with pytest.raises(UnsafePathError, match="has 2 hard links"):
        open_append(seg / "hard.bin")
    assert (outside / "precious.tif").read_bytes() == b"do not touch"
    os.mkfifo(seg / "fifo.bin")
    with pytest.raises(UnsafePathError, match="not a regular file"):
        open_append(seg / "fifo.bin")
    with open_append(seg / "journal.bin") as f:
        f.write(b"one")
    with open_append(seg / "journal.bin") as f:
        f.write(b"two")
    assert (seg / "journal.bin").read_bytes() == b"onetwo"


def test_unsafe_path_error_pickles(data):
    err = UnsafePathError("msg", path=data / "a", link=data)
    back = pickle.loads(pickle.dumps(err))
    assert isinstance(back, ValueError) and str(back) == "msg" and back.link == data


# -- commit_files ------------------------------------------------------------------------------


STARDIST = ("images/s.tif", "masks/s.tif", "meta/s.json")
FLAT = ("s.tif", "s_labelled.tif", "s.json")


def _writers(folder: Path, names, version: str, wrap=None):
    def make(name):
        def write(p: Path) -> None:
            if wrap is not None:
                wrap()
            p.write_bytes(f"{name}:{version};".encode() * 100)

        return write

    return {folder / n: make(n) for n in names}


def _expected(names, version: str) -> dict[str, bytes]:
    return {n: f"{n}:{version};".encode() * 100 for n in names}


def test_commit_files_writes_all_and_leaves_nothing_of_ours(tmp_path):
    paths = commit_files(_writers(tmp_path, STARDIST, "1"), base=tmp_path)
    assert paths == [tmp_path / n for n in STARDIST]
    assert _snapshot(tmp_path) == _expected(STARDIST, "1")
    assert _ours(tmp_path) == []


def test_existing_files_stop_a_commit_before_anything_is_written(tmp_path):
    (tmp_path / "s.json").write_text("old")
    with pytest.raises(FileExistsError, match=r"s\.json already exists; pass overwrite=True"):
        commit_files(_writers(tmp_path, FLAT, "1"))
    assert _snapshot(tmp_path) == {"s.json": b"old"}
    with pytest.raises(FileExistsError, match="already exists"):
        atomic_write(tmp_path / "s.json", lambda p: p.write_text("new"), overwrite=False)
    assert _snapshot(tmp_path) == {"s.json": b"old"}


def test_a_failing_writer_leaves_the_old_files(tmp_path):
    commit_files(_writers(tmp_path, FLAT, "old"))
    writers = _writers(tmp_path, FLAT, "new")

    def broken(p: Path) -> None:
        p.write_bytes(b"half")
        raise OSError("disk full")

    writers[tmp_path / FLAT[2]] = broken
    with pytest.raises(OSError, match="disk full"):
        commit_files(writers, overwrite=True)
    assert _snapshot(tmp_path) == _expected(FLAT, "old")
    assert _ours(tmp_path) == []


class _Crash:
    """Kill the writing "process" after ``after`` steps: from then on every os.replace, os.fsync,
    os.unlink and writer call raises, as nothing more would happen after a real kill."""

    def __init__(self, monkeypatch, after: int, exc: type[BaseException]) -> None:
        self.left = after
        self.exc = exc
        for name in ("replace", "fsync", "unlink"):
            monkeypatch.setattr(os, name, self._wrap(getattr(os, name)))

    def _wrap(self, real):
        def call(*args, **kwargs):
            self.tick()
            return real(*args, **kwargs)

        return call

    def tick(self) -> None:
        if self.left <= 0:
            raise self.exc
        self.left -= 1


@pytest.mark.parametrize("names", [FLAT, STARDIST], ids=["flat", "stardist"])
@pytest.mark.parametrize("had_old", [True, False], ids=["replace", "new"])
def test_a_crash_at_every_step_leaves_the_old_set_or_the_new_set(
    tmp_path, monkeypatch, names, had_old
):
    outcomes = []
    for k in range(200):
        folder = tmp_path / str(k)
        folder.mkdir()
        if had_old:
            commit_files(_writers(folder, names, "old"))
        old = _snapshot(folder)
        with monkeypatch.context() as m:
            crash = _Crash(m, k, (KeyboardInterrupt, SystemExit)[k % 2])
            try:
                commit_files(_writers(folder, names, "new", crash.tick), overwrite=True)
            except (KeyboardInterrupt, SystemExit):
                finished = False
            else:
                finished = True
        report = recover_folder(folder)
        assert report.problems == ()
        now = _snapshot(folder)
        assert now in (old, _expected(names, "new")), f"crash after {k} steps: {sorted(now)}"
        assert _ours(folder) == [], f"crash after {k} steps"
        outcomes.append("new" if now == _expected(names, "new") else "old")
        if finished:
            break
    else:
        pytest.fail("commit_files never finished")
    # the crash landed both before and after the commit point, and recovery had work to do
    assert "old" in outcomes and outcomes.count("new") >= 2, outcomes


def test_an_interrupted_commit_is_finished_at_once_when_it_can_be(tmp_path, monkeypatch):
    commit_files(_writers(tmp_path, STARDIST, "old"))
    real = os.replace
    calls = {"n": 0}

    def once(src, dst):  # the second rename (the first file after the record) is interrupted
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        real(src, dst)

    monkeypatch.setattr(os, "replace", once)
    with pytest.raises(KeyboardInterrupt):
        commit_files(_writers(tmp_path, STARDIST, "new"), overwrite=True)
    monkeypatch.setattr(os, "replace", real)
    assert _snapshot(tmp_path) == _expected(STARDIST, "new")  # without waiting for recovery
    assert _ours(tmp_path) == []


def test_a_crash_in_atomic_write_leaves_the_old_or_the_new_file(tmp_path, monkeypatch):
    target = tmp_path / "0000.tif"
    target.write_bytes(b"old")
    os.chmod(target, 0o664)
    seen = set()
    for k in range(20):
        with monkeypatch.context() as m:
            crash = _Crash(m, k, KeyboardInterrupt)

            def write(p: Path, crash=crash) -> None:
                crash.tick()
                p.write_bytes(b"new")

            try:
                atomic_write(target, write)
                done = True
            except KeyboardInterrupt:
                done = False
        recover_folder(tmp_path)
        assert _snapshot(tmp_path) in ({"0000.tif": b"old"}, {"0000.tif": b"new"})
        assert _mode(target) == 0o664
        seen.add(target.read_bytes())
        if done:
            break
        target.write_bytes(b"old")
    assert seen == {b"old", b"new"}


# -- recover_folder ----------------------------------------------------------------------------


def test_recover_removes_our_leftovers_and_nothing_else(tmp_path, outside):
    for sub in ("", "images", "masks", "meta"):
        (tmp_path / sub).mkdir(exist_ok=True)
        (tmp_path / sub / ".a.tif.0123.segpaint-tmp").write_bytes(b"half")
    keep = {
        "notes.segpaint-tmp": b"no leading dot: not ours",
        "s.tif": b"a sample",
        ".hidden": b"the user's",
        "deeper/.x.segpaint-tmp": b"not a folder recovery looks into",
    }
    for name, content in keep.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(content)
    (tmp_path / ".link.segpaint-tmp").symlink_to(outside / "precious.tif")
    (tmp_path / ".dir.segpaint-tmp").mkdir()
    report = recover_folder(tmp_path)
    assert report == RecoveryReport(rolled_forward=0, temporaries_removed=4)
    assert _snapshot(tmp_path) == {**keep, "outside/precious.tif": b"do not touch"}
    assert (tmp_path / ".link.segpaint-tmp").is_symlink()
    assert (tmp_path / ".dir.segpaint-tmp").is_dir()
    assert recover_folder(tmp_path / "missing") == RecoveryReport()


def test_recover_leaves_a_live_writer_alone(tmp_path):
    """A second session (or thread) recovering the folder while a commit is writing."""
    reports = []

    def write_and_recover(p: Path) -> None:
        p.write_bytes(b"mask")
        reports.append(recover_folder(tmp_path))  # our own temporaries are locked, in use

    paths = commit_files(
        {tmp_path / "a.tif": lambda p: p.write_bytes(b"img"), tmp_path / "b.tif": write_and_recover}
    )
    assert reports[0].temporaries_removed == 0 and reports[0].in_use == 2
    assert [p.read_bytes() for p in paths] == [b"img", b"mask"]


def test_recover_rolls_a_commit_forward(tmp_path, monkeypatch):
    commit_files(_writers(tmp_path, STARDIST, "old"))

    class Killed(BaseException):
        pass

    def die(*args, **kwargs):
        raise Killed

    renames = {"n": 0}

    def hook(src: Path, dst: Path) -> None:  # killed after the record and the first file
        renames["n"] += 1
        if renames["n"] >= 3:
            die()

    with monkeypatch.context() as m:
        m.setattr(_fs, "_before_replace", hook)
        m.setattr(os, "unlink", die)  # a dead process cleans nothing up
        with pytest.raises(Killed):
            commit_files(_writers(tmp_path, STARDIST, "new"), overwrite=True)
    half = _snapshot(tmp_path)
    assert half["images/s.tif"] == _expected(STARDIST, "new")["images/s.tif"]
    assert half["masks/s.tif"] == _expected(STARDIST, "old")["masks/s.tif"]  # a half sample...
    report = recover_folder(tmp_path)
    assert report.rolled_forward == 1 and report.problems == ()
    assert _snapshot(tmp_path) == _expected(STARDIST, "new")  # ...until recovery
    assert _ours(tmp_path) == []


def test_recover_on_a_read_only_folder_reports_instead_of_raising(tmp_path, monkeypatch):
    (tmp_path / ".a.tif.01.segpaint-tmp").write_bytes(b"half")

    def read_only(*args, **kwargs):
        raise PermissionError(13, "Read-only file system")

    monkeypatch.setattr(os, "unlink", read_only)  # (tests may run as root: chmod would not do)
    report = recover_folder(tmp_path)
    assert report.temporaries_removed == 0
    assert "could not remove this leftover temporary" in report.problems[0]
    monkeypatch.undo()
    assert recover_folder(tmp_path).temporaries_removed == 1


def test_recover_refuses_a_forged_intent_record(tmp_path, outside):
    """An intent record received with someone else's data cannot move files around."""
    folder = tmp_path / "annotations_cells"
    folder.mkdir()
    (folder / ".x.0.segpaint-tmp").write_bytes(b"attacker")
    forged = folder / ".s.tif.00.segpaint-commit"
    forged.write_text(
        '{"segpaint_commit": 1, "pairs": [[".x.0.segpaint-tmp", "../outside/precious.tif"]]}'
    )
    report = recover_folder(folder)
    assert report.rolled_forward == 0
    assert "not a usable intent record" in report.problems[0]
    assert (outside / "precious.tif").read_bytes() == b"do not touch"
    assert forged.exists()  # left for a person to look at
    for bad in ("not json", '{"pairs": []}', '{"segpaint_commit": 1, "pairs": [["a", "b"]]}'):
        forged.write_text(bad)
        assert "not a usable intent record" in recover_folder(folder).problems[0]


def _run_threads(targets) -> list[BaseException]:
    errors: list[BaseException] = []

    def guard(fn):
        def run():
            try:
                fn()
            except BaseException as err:  # collected and asserted on in the main thread
                errors.append(err)

        return run

    threads = [threading.Thread(target=guard(fn)) for fn in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return errors


def test_threads_committing_while_another_recovers(tmp_path, monkeypatch):
    """Exports from several threads (another session's recovery running meanwhile) all land whole;
    two threads saving the same sample never mix their files."""
    monkeypatch.setattr(_fs, "_before_replace", lambda src, dst: time.sleep(0.001))  # widen
    stop = threading.Event()
    problems: list[tuple[str, ...]] = []

    def recoverer():
        while True:  # at least once, however the threads are scheduled
            problems.append(recover_folder(tmp_path).problems)
            if stop.is_set():
                break

    def exporter(i):
        def run():
            for j in range(8):
                commit_files(_writers(tmp_path, [f"{i}_{j}.tif", f"{i}_{j}.json"], f"{i}"))

        return run

    def same_sample(tag):
        def run():
            for j in range(8):
                commit_files(_writers(tmp_path, STARDIST, f"{tag}{j}"), overwrite=True)

        return run

    rec = threading.Thread(target=recoverer)
    rec.start()
    try:
        errors = _run_threads(
            [exporter(i) for i in range(3)] + [same_sample("a"), same_sample("b")]
        )
    finally:
        stop.set()
        rec.join(timeout=60)
    assert errors == []
    assert all(p == () for p in problems) and len(problems) > 0
    files = _snapshot(tmp_path)
    for i in range(3):
        for j in range(8):
            for name in (f"{i}_{j}.tif", f"{i}_{j}.json"):
                assert files[name] == f"{name}:{i};".encode() * 100
    version = files["images/s.tif"].split(b";")[0].split(b":")[1].decode()
    assert {k: files[k] for k in STARDIST} == _expected(STARDIST, version)
    assert _ours(tmp_path) == []


def test_a_reader_holding_commits_never_sees_a_half_renamed_sample(tmp_path, monkeypatch):
    monkeypatch.setattr(_fs, "_before_replace", lambda src, dst: time.sleep(0.001))
    commit_files(_writers(tmp_path, STARDIST, "0"))
    done = threading.Event()

    def writer():
        try:
            for j in range(1, 15):
                commit_files(_writers(tmp_path, STARDIST, str(j)), overwrite=True)
        finally:
            done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    seen = []
    while not done.is_set():
        with hold_commits():
            files = {n: (tmp_path / n).read_bytes() for n in STARDIST}
        version = files["images/s.tif"].split(b";")[0].split(b":")[1].decode()
        seen.append(files == _expected(STARDIST, version))
        time.sleep(0.0005)
    thread.join(timeout=60)
    assert seen and all(seen)


def test_two_threads_creating_one_sample_one_wins_whole(tmp_path, monkeypatch):
    monkeypatch.setattr(_fs, "_before_replace", lambda src, dst: time.sleep(0.001))
    for round_ in range(6):
        folder = tmp_path / str(round_)
        errors = _run_threads(
            [lambda tag=tag, f=folder: commit_files(_writers(f, FLAT, tag)) for tag in "ab"]
        )
        assert len(errors) == 1 and isinstance(errors[0], FileExistsError), errors
        files = _snapshot(folder)
        assert files in (_expected(FLAT, "a"), _expected(FLAT, "b"))
        assert _ours(folder) == []


# -- real kills --------------------------------------------------------------------------------

CHILD = textwrap.dedent(
    """
    import importlib.util, random, sys, time
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("segpaint_fs_child", sys.argv[1])
    fs = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = fs
    spec.loader.exec_module(fs)
    folder, rng = Path(sys.argv[2]), random.Random(int(sys.argv[3]))
    names = sys.argv[4].split(",")
    fs._before_replace = lambda src, dst: time.sleep(rng.uniform(0, 0.01))

    def writer(name, version):
        def write(p):
            data = f"{name}:{version};".encode() * 100
            with open(p, "wb") as f:
                f.write(data[: len(data) // 2])
                f.flush()
                time.sleep(rng.uniform(0, 0.005))
                f.write(data[len(data) // 2 :])
        return write

    version = 0
    while True:
        version += 1
        fs.commit_files({folder / n: writer(n, f"v{version}") for n in names}, overwrite=True)
        if version == 1:
            print("ready", flush=True)
    """
)


@pytest.mark.parametrize("names", [STARDIST, FLAT], ids=["stardist", "flat"])
def test_sigkill_during_commits_never_leaves_a_half_sample(tmp_path, names):
    (tmp_path / "child.py").write_text(CHILD)
    folder = tmp_path / "sample"
    folder.mkdir()
    commit_files(_writers(folder, names, "v0"))
    rng = random.Random(8)
    versions, work = [], RecoveryReport()
    for seed in range(4):
        child = subprocess.Popen(
            [sys.executable, str(tmp_path / "child.py"), str(FS_SOURCE), str(folder), str(seed),
             ",".join(names)],
            stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 0.15))
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        child.stdout.close()
        report = recover_folder(folder)
        work = work + report
        assert report.problems == ()
        now = _snapshot(folder)
        version = now[names[0]].split(b";")[0].split(b":")[1].decode()
        assert now == _expected(names, version), f"kill {seed}: files of different exports"
        assert _ours(folder) == []
        versions.append(int(version[1:]))
    assert min(versions) >= 1  # the child made progress before each kill
    assert work.rolled_forward + work.temporaries_removed > 0  # kills landed inside commits
