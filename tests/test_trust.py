"""Data trust on the Session side: each image its own labels and journal, no lost edit, one writer."""

from __future__ import annotations

import errno
import gc
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import tifffile

import segpaint
from segpaint._journal import read_journal
from segpaint.session import _autosave, _base, _formats, _store


@pytest.fixture
def two_tiffs(tmp_path: Path, stack: np.ndarray) -> tuple[Path, Path]:
    """Two same-size movies in one folder, named so that cutting at the first dot confuses them."""
    a, b = tmp_path / "cells.day1.tif", tmp_path / "cells.day2.tif"
    tifffile.imwrite(a, stack, imagej=True, metadata={"axes": "TCYX"})
    tifffile.imwrite(b, stack[::-1].copy(), imagej=True, metadata={"axes": "TCYX"})
    return a, b


# ------------------------------------------------------------------ identity
def test_each_tiff_of_a_folder_has_its_own_labels(two_tiffs):
    a, b = two_tiffs
    sa = segpaint.open(a)
    sa.paint("cells", 0, [(10, 10)], radius=3, label=4)
    sa.save_labels("cells")
    sb = segpaint.open(b)
    sb.paint("cells", 0, [(40, 40)], radius=3, label=9)
    written = sb.save_labels("cells")
    assert written == [a.parent / "labels_cells" / "cells.day2" / "0000.tif"]
    sa.close()
    sb.close()
    again = segpaint.open(a)
    lab = again.labels("cells", 0)
    assert lab[10, 10] == 4 and lab[40, 40] == 0  # B's save did not touch A's masks
    assert segpaint.open(b, read_only=True).labels("cells", 0)[40, 40] == 9


def test_journals_are_keyed_on_the_whole_file_name(two_tiffs):
    a, b = two_tiffs
    sa = segpaint.open(a)
    sa.paint("cells", 1, [(5, 5)], radius=2, label=3)
    assert sa.journal_path is not None and sa.journal_path.name == "cells.day1.tif.journal"
    sb = segpaint.open(b)
    assert sb.pending_edits == 0  # day 1's edits are not day 2's
    sa.close()
    assert segpaint.open(a).pending_edits == 1


def test_sample_names_keep_the_dots_of_the_file_name(two_tiffs):
    a, _ = two_tiffs
    s = segpaint.open(a, pixel_size_um=0.5)
    roi = s.add_roi(0, rows=(0, 16), cols=(0, 16))
    assert s.sample_stem(roi).startswith("cells.day1_0000_roi_")


def test_old_shared_label_layout_is_not_loaded(two_tiffs, caplog):
    a, _ = two_tiffs
    shared = a.parent / "labels_cells"
    shared.mkdir()
    tifffile.imwrite(shared / "0000.tif", np.full((64, 80), 7, np.uint16))
    with caplog.at_level("WARNING", logger="segpaint"):
        s = segpaint.open(a)
    assert s.labels("cells", 0).max() == 0
    assert "old layout" in caplog.text and "cells.day1" in caplog.text


def test_experiment_positions_keep_celldetective_layout(experiment):
    s = segpaint.open(experiment)
    s.paint("targets", 2, [(5, 5)], radius=2, label=1)
    (path,) = s.save_labels("targets")
    assert path == experiment / "W1" / "100" / "labels_targets" / "0002.tif"


# ------------------------------------------------------------- no lost edit
def test_an_edit_made_while_saving_stays_unsaved_and_journaled(experiment, monkeypatch):
    s = segpaint.open(experiment)
    s.paint("targets", 1, [(10, 10)], radius=3, label=5)
    real = _formats.write_label_frame

    def write_and_race(path, arr, **kwargs):
        # Another thread (the canvas, a pre-segmentation) edits the frame while it is written.
        worker = threading.Thread(
            target=s.paint, args=("targets", 1, [(40, 40)], 3, 6), daemon=True
        )
        worker.start()
        worker.join()
        return real(path, arr, **kwargs)

    monkeypatch.setattr(_formats, "write_label_frame", write_and_race)
    s.save_labels("targets")
    monkeypatch.undo()
    on_disk = tifffile.imread(experiment / "W1" / "100" / "labels_targets" / "0001.tif")
    assert on_disk[10, 10] == 5 and on_disk[40, 40] == 0  # the snapshot, not half of each
    assert 1 in s._pops["targets"].dirty
    assert s.journal_path is not None and s.journal_path.exists()
    s.close()
    again = segpaint.open(experiment)
    assert again.pending_edits >= 1
    again.recover()
    lab = again.labels("targets", 1)
    assert lab[10, 10] == 5 and lab[40, 40] == 6


def test_a_lazy_load_never_races_a_stroke(experiment, monkeypatch):
    first = segpaint.open(experiment)
    for t in range(3):
        first.paint("targets", t, [(50, 70)], radius=4, label=11)
    first.save_labels("targets")
    first.close()
    real = tifffile.imread

    def slow_imread(*args, **kwargs):
        time.sleep(0.05)  # widen the window between "loading" and "loaded"
        return real(*args, **kwargs)

    monkeypatch.setattr(_base.tifffile, "imread", slow_imread)
    s = segpaint.open(experiment)
    threads = []
    for t in range(3):
        threads.append(threading.Thread(target=s.labels, args=("targets", t)))
        threads.append(threading.Thread(target=s.paint, args=("targets", t, [(10, 10)], 3, 2)))
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for t in range(3):
        lab = s.labels("targets", t)
        assert lab[10, 10] == 2, f"the stroke on frame {t} was lost"
        assert lab[50, 70] == 11, f"the saved labels of frame {t} were lost"
    s.undo()
    s.undo()
    s.undo()
    for t in range(3):
        assert s.labels("targets", t)[50, 70] == 11  # undo never writes zeros over saved cells


def test_pending_edits_stay_until_recovered_or_discarded(experiment):
    s = segpaint.open(experiment)
    s.paint("targets", 0, [(8, 8)], radius=2, label=3)
    s.close()
    for _ in range(3):  # restarts that neither recover nor discard
        again = segpaint.open(experiment)
        assert again.pending_edits == 1
        again.close()
    last = segpaint.open(experiment)
    assert len(last.recover()) == 1
    last.close()  # recovered but not saved: still offered next time
    saver = segpaint.open(experiment)
    assert saver.pending_edits == 1
    saver.recover()
    saver.save_labels("targets")
    saver.close()
    assert segpaint.open(experiment).pending_edits == 0


def test_torn_record_never_becomes_labels(experiment):
    s = segpaint.open(experiment)
    s.paint("targets", 1, [(10, 10)], radius=3, label=5)
    s.paint("targets", 1, [(40, 40)], radius=3, label=6)
    path = s.journal_path
    s.close()
    assert path is not None
    data = path.read_bytes()
    path.write_bytes(data[:-7])  # the kernel died inside the second record
    second = segpaint.open(experiment)
    second.paint("targets", 2, [(20, 20)], radius=3, label=8)  # a later session's edit
    second.close()
    third = segpaint.open(experiment)
    assert third.pending_edits == 2  # the first record of session 1, and session 2's edit
    third.recover()
    assert third.labels("targets", 1)[10, 10] == 5
    assert third.labels("targets", 1)[40, 40] == 0
    assert third.labels("targets", 2)[20, 20] == 8
    assert np.asarray(third.labels("targets")).max() == 8  # no journal byte became a label


def test_corrupt_record_stops_reading(experiment):
    s = segpaint.open(experiment)
    s.paint("targets", 1, [(10, 10)], radius=3, label=5)
    s.paint("targets", 1, [(40, 40)], radius=3, label=6)
    path = s.journal_path
    s.close()
    assert path is not None
    data = bytearray(path.read_bytes())
    data[-3] ^= 0xFF  # a flipped bit in the last record's payload
    path.write_bytes(bytes(data))
    again = segpaint.open(experiment)
    assert again.pending_edits == 1


def test_a_pending_journal_never_replays_over_a_newer_save(experiment):
    s = segpaint.open(experiment)
    s.paint("targets", 1, [(10, 10)], radius=3, label=5)
    s.close()  # unsaved: the edit is pending
    b = segpaint.open(experiment)
    b.paint("targets", 1, [(10, 10)], radius=3, label=9)
    b.save_labels("targets")  # frame 1 saved after the pending edit was journaled
    b.close()
    c = segpaint.open(experiment)
    assert c.pending_edits == 1
    assert c.recover() == []
    assert c.labels("targets", 1)[10, 10] == 9


def test_autosave_comes_back_after_disk_full(experiment, monkeypatch, caplog):
    s = segpaint.open(experiment)
    s.paint("targets", 0, [(5, 5)], radius=2, label=1)
    journal = s._journal
    assert journal is not None
    real_append = journal.append
    full = {"on": True}

    def append(*args, **kwargs):
        if full["on"]:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_append(*args, **kwargs)

    real_rewrite = journal.rewrite

    def rewrite(records):
        if full["on"]:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_rewrite(records)

    monkeypatch.setattr(journal, "append", append)
    monkeypatch.setattr(journal, "rewrite", rewrite)
    with caplog.at_level("WARNING", logger="segpaint"):
        s.paint("targets", 1, [(20, 20)], radius=2, label=2)
        s.paint("targets", 2, [(30, 30)], radius=2, label=3)
    assert s.autosave.startswith("off:") and "No space left" in s.autosave
    assert "autosave journal disabled" in caplog.text
    full["on"] = False
    s.paint("targets", 2, [(40, 40)], radius=2, label=4)
    assert s.autosave == "on"
    expected = np.asarray(s.labels("targets")).copy()
    s.close()
    again = segpaint.open(experiment)
    again.recover()
    np.testing.assert_array_equal(np.asarray(again.labels("targets")), expected)


def test_journal_size_is_bounded_by_what_is_unsaved(experiment, monkeypatch):
    monkeypatch.setattr(_autosave, "JOURNAL_MIN_BYTES", 4096)
    s = segpaint.open(experiment)
    rng = np.random.default_rng(1)
    for _ in range(300):
        r, c = (int(v) for v in rng.integers(0, 60, 2))
        s.paint("targets", 0, [(r, c)], radius=5, label=int(rng.integers(1, 50)))
    assert s.journal_path is not None
    size = s.journal_path.stat().st_size
    assert size < 4 * 4096 + 64 * 80 * 4  # compacted: not 300 records
    expected = np.asarray(s.labels("targets")).copy()
    s.close()
    again = segpaint.open(experiment)
    again.recover()
    np.testing.assert_array_equal(np.asarray(again.labels("targets")), expected)


def test_saving_some_frames_keeps_only_the_others_in_the_journal(experiment):
    s = segpaint.open(experiment, populations=["targets", "effectors"])
    s.paint("targets", 0, [(5, 5)], radius=2, label=1)
    s.paint("effectors", 1, [(6, 6)], radius=2, label=2)
    s.save_labels("targets")
    assert s.journal_path is not None
    records = list(read_journal(s.journal_path))
    assert {(r.population, r.frame) for r in records} == {("effectors", 1)}


# ----------------------------------------------------------- one writer
def _child_open(experiment: Path, code: str = "") -> subprocess.Popen[str]:
    script = textwrap.dedent(
        f"""
        import sys, time, segpaint
        s = segpaint.open({str(experiment)!r})
        {code}
        print("ready", flush=True)
        sys.stdin.readline()
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    return proc


def test_a_second_process_gets_a_clear_error(experiment):
    proc = _child_open(experiment)
    try:
        with pytest.raises(segpaint.SessionLockedError, match=r"read_only=True"):
            segpaint.open(experiment)
        looker = segpaint.open(experiment, read_only=True)
        looker.paint("targets", 0, [(5, 5)], radius=2, label=1)  # edits in memory are fine
        with pytest.raises(PermissionError, match="folder="):
            looker.save_labels("targets")
        assert looker.journal_path is None
    finally:
        proc.communicate("\n", timeout=30)
    segpaint.open(experiment).close()  # released when the other process ended


def test_a_killed_process_leaves_a_stale_lock_that_is_taken_over(experiment):
    proc = _child_open(experiment, 's.paint("targets", 0, [(5, 5)], 2, 7)')
    proc.kill()
    proc.communicate(timeout=30)
    lock = next((experiment / "W1" / "100" / ".segpaint").glob("*.lock"))
    assert json.loads(lock.read_text())["pid"] == proc.pid
    s = segpaint.open(experiment)  # stale: the pid is gone
    assert s.pending_edits == 1
    assert json.loads(lock.read_text())["pid"] == os.getpid()


def test_reopening_in_the_same_kernel_demotes_the_older_session(experiment, caplog):
    old = segpaint.open(experiment)
    old.paint("targets", 0, [(5, 5)], radius=2, label=7)
    with caplog.at_level("WARNING", logger="segpaint"):
        new = segpaint.open(experiment)
    assert old.read_only and "read-only" in caplog.text
    with pytest.raises(PermissionError, match="newer session"):
        old.save_labels("targets")
    assert new.pending_edits == 1  # the older session's unsaved edit is offered
    new.recover()
    assert new.labels("targets", 0)[5, 5] == 7
    del old
    gc.collect()  # the older session going away must not release the newer one's lock
    assert list((experiment / "W1" / "100" / ".segpaint").glob("*.lock"))


# ------------------------------------------------------------ no escape
def test_a_symlinked_pending_journal_is_never_read_or_written(experiment, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    private = experiment / "W1" / "100" / ".segpaint"
    private.mkdir()
    (private / "position.journal.pending-1").symlink_to(victim)
    s = segpaint.open(experiment)
    assert s.pending_edits == 0
    s.paint("targets", 0, [(5, 5)], radius=2, label=1)
    s.discard_pending()
    s.close()
    assert victim.read_text() == "precious"


def test_a_symlinked_journal_is_refused_at_open(experiment, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    private = experiment / "W1" / "100" / ".segpaint"
    private.mkdir()
    (private / "position.journal").symlink_to(victim)
    with pytest.raises(ValueError, match="link"):
        segpaint.open(experiment)
    assert victim.read_text() == "precious"
    segpaint.open(experiment, read_only=True)


def test_symlinked_label_and_export_folders_are_refused(experiment, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (experiment / "W1" / "100" / "labels_targets").symlink_to(elsewhere)
    (experiment / "annotations_targets").symlink_to(elsewhere)
    s = segpaint.open(experiment)
    s.paint("targets", 0, [(5, 5)], radius=2, label=1)
    with pytest.raises(ValueError, match="link"):
        s.save_labels("targets")
    roi = s.add_roi(0, rows=(0, 32), cols=(0, 32))
    with pytest.raises(ValueError, match="link"):
        s.export_roi("targets", roi)
    assert list(elsewhere.iterdir()) == []
    # An explicit folder is the user's choice.
    assert s.save_labels("targets", folder=elsewhere) == [elsewhere / "0000.tif"]


def test_symlinked_private_folder_is_refused(experiment, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (experiment / "W1" / "100" / ".segpaint").symlink_to(elsewhere)
    with pytest.raises(ValueError, match="link"):
        segpaint.open(experiment)
    assert list(elsewhere.iterdir()) == []
    segpaint.open(experiment, read_only=True)  # looking is still possible


# ------------------------------------------------------------ bounded memory
def test_label_memory_is_bounded_and_nothing_is_lost(experiment, monkeypatch):
    monkeypatch.setattr(_store, "HOT_BYTES", 2 * 64 * 80 * 4)
    s = segpaint.open(experiment)
    pop = s._pops["targets"]
    truth = []
    rng = np.random.default_rng(3)
    for t in range(3):
        lab = rng.integers(0, 5, size=(64, 80)).astype(np.uint32)
        s.set_labels("targets", t, lab)
        truth.append(lab)
    assert len(pop.hot) <= 2 and pop.cold  # the coldest unsaved frame is compressed
    for t in range(3):
        np.testing.assert_array_equal(s.labels("targets", t), truth[t])
    s.save_labels("targets")
    for t in range(3):
        s.labels("targets", t)
    assert not pop.cold  # saved frames are read back from their files instead
    for t in (2, 1, 0):
        np.testing.assert_array_equal(s.labels("targets", t), truth[t])


def test_a_kill_after_a_save_raced_by_an_edit_loses_nothing(experiment, monkeypatch):
    s = segpaint.open(experiment)
    s.paint("targets", 1, [(10, 10)], radius=3, label=5)
    real = _formats.write_label_frame

    def write_and_race(path, arr, **kwargs):
        worker = threading.Thread(
            target=s.paint, args=("targets", 1, [(40, 40)], 3, 6), daemon=True
        )
        worker.start()
        worker.join()
        return real(path, arr, **kwargs)

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # the kernel dies after the rename, before the journal is trimmed

    monkeypatch.setattr(_formats, "write_label_frame", write_and_race)
    assert s._journal is not None
    monkeypatch.setattr(s._journal, "rewrite", killed)
    with pytest.raises(KeyboardInterrupt):
        s.save_labels("targets")
    monkeypatch.undo()
    s.close()
    again = segpaint.open(experiment)
    again.recover()
    lab = again.labels("targets", 1)
    assert lab[10, 10] == 5 and lab[40, 40] == 6


def test_callbacks_run_after_the_lock_is_released(experiment):
    s = segpaint.open(experiment)
    seen = []

    def check(population, frame, bbox):
        # Another thread must be able to use the session while the callback runs.
        worker = threading.Thread(target=lambda: seen.append(s.labels(population, frame).max()))
        worker.start()
        worker.join(timeout=5)
        assert not worker.is_alive(), "the session lock was held during the callback"

    s.on_change(check)
    s.paint("targets", 0, [(5, 5)], radius=2, label=3)
    s.paint("targets", 0, [(5, 9)], radius=2, label=4, preserve_labels=True)
    s.fill("targets", 0, (5, 5), 7)
    s.undo()
    assert seen == [3, 4, 7, 4]


def test_experiment_presegment_respects_the_writer_lock(experiment):
    exp = segpaint.open_experiment(experiment)
    proc = _child_open(experiment)
    try:
        with pytest.raises(segpaint.SessionLockedError, match="read_only=True"):
            exp.presegment("targets", progress=False)
    finally:
        proc.communicate("\n", timeout=30)
    assert not (experiment / "W1" / "100" / "labels_targets").exists()
    other = segpaint.open(experiment)  # a session of this kernel holds it: refused too
    with pytest.raises(segpaint.SessionLockedError, match="this kernel"):
        exp.presegment("targets", progress=False)
    other.close()
    done = exp.presegment("targets", progress=False)
    assert done[("W1", "100")] == [0, 1, 2]
    # the lock was released: a session can open the position now
    assert segpaint.open(experiment).labels("targets", 0).max() > 0


def test_the_repr_announces_pending_edits_and_read_only(experiment):
    s = segpaint.open(experiment)
    s.paint("targets", 0, [(5, 5)], radius=2, label=1)
    s.close()
    again = segpaint.open(experiment)
    assert "1 unsaved edit(s) from an earlier session: session.recover()" in repr(again)
    assert "read-only" in repr(segpaint.open(experiment, read_only=True))


def test_tools_that_edit_under_the_lock_notify_after_it(experiment):
    s = segpaint.open(experiment)
    s.paint("targets", 0, [(20, 20)], radius=6, label=3)
    seen = []

    def check(population, frame, bbox):
        worker = threading.Thread(target=lambda: seen.append(s.labels(population, 1).max()))
        worker.start()
        worker.join(timeout=5)
        assert not worker.is_alive(), "the session lock was held during the callback"

    s.on_change(check)
    s.copy_labels("targets", 0, 1)  # reads both frames and writes under the lock
    assert seen == [3]
