"""The autosave journal: a kernel crash loses no edit; saving empties it."""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import segpaint
from segpaint._journal import read_journal


def _edit(session):
    session.paint("targets", 1, [(10, 10), (30, 40)], radius=3, label=5)
    session.fill("targets", 1, (10, 10), 7)
    session.paint("targets", 2, [(50, 50)], radius=4, label=2)
    session.undo()
    session.paint("targets", 0, [(20, 60)], radius=2, label=9)


def test_crashed_kernel_edits_are_recovered(experiment):
    # A real crash: a child process edits, then dies without saving or closing anything.
    script = textwrap.dedent(
        f"""
        import os, segpaint
        s = segpaint.open({str(experiment)!r})
        s.paint("targets", 1, [(10, 10), (30, 40)], radius=3, label=5)
        s.fill("targets", 1, (10, 10), 7)
        s.paint("targets", 0, [(20, 60)], radius=2, label=9)
        os._exit(1)
        """
    )
    subprocess.run([sys.executable, "-c", script], check=False)
    expected = segpaint.open(experiment, journal=False)
    expected.paint("targets", 1, [(10, 10), (30, 40)], radius=3, label=5)
    expected.fill("targets", 1, (10, 10), 7)
    expected.paint("targets", 0, [(20, 60)], radius=2, label=9)

    s = segpaint.open(experiment)
    assert s.pending_edits == 3
    assert np.asarray(s.labels("targets")).max() == 0  # nothing applied behind the user's back
    changes = s.recover()
    assert len(changes) == 3
    np.testing.assert_array_equal(
        np.asarray(s.labels("targets")), np.asarray(expected.labels("targets"))
    )
    assert s.pending_edits == 0
    s.undo()  # recovered edits are ordinary undo steps
    assert s.labels("targets", 0).max() == 0


def test_undo_and_redo_are_journaled(experiment):
    s = segpaint.open(experiment)
    _edit(s)
    final = np.asarray(s.labels("targets")).copy()
    path = s.journal_path
    del s
    gc.collect()
    again = segpaint.open(experiment)
    again.recover()
    np.testing.assert_array_equal(np.asarray(again.labels("targets")), final)
    assert path is not None and path.parent.name == ".segpaint"


def test_saving_empties_the_journal(experiment):
    s = segpaint.open(experiment)
    _edit(s)
    assert s.journal_path is not None
    assert len(list(read_journal(s.journal_path))) == 5
    s.save_labels("targets")
    assert not s.journal_path.exists()
    assert segpaint.open(experiment).pending_edits == 0


def test_discard_pending(experiment):
    s = segpaint.open(experiment)
    _edit(s)
    del s
    gc.collect()
    again = segpaint.open(experiment)
    assert again.pending_edits == 5
    again.discard_pending()
    assert again.pending_edits == 0
    assert segpaint.open(experiment).pending_edits == 0


def test_record_cut_short_by_a_crash_is_skipped(experiment):
    s = segpaint.open(experiment)
    s.paint("targets", 1, [(10, 10)], radius=3, label=5)
    s.paint("targets", 1, [(40, 40)], radius=3, label=6)
    path = s.journal_path
    assert path is not None
    del s
    gc.collect()
    data = path.read_bytes()
    path.write_bytes(data[:-10])  # the last record was being written when the kernel died
    again = segpaint.open(experiment)
    assert again.pending_edits == 1
    again.recover()
    lab = again.labels("targets", 1)
    assert lab[10, 10] == 5 and lab[40, 40] == 0


def test_array_sessions_journal_only_when_given_a_path(stack, tmp_path):
    assert segpaint.open(stack).journal_path is None
    s = segpaint.open(stack, journal=tmp_path / "j.bin")
    s.paint("cells", 0, [(5, 5)], radius=2, label=1)
    assert (tmp_path / "j.bin").stat().st_size > 0
    assert segpaint.open(stack, journal=tmp_path / "j.bin").pending_edits == 1


def test_unwritable_journal_does_not_block_editing(stack, tmp_path, caplog):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    s = segpaint.open(stack, journal=blocker / "sub" / "j.bin")
    with caplog.at_level("WARNING", logger="segpaint"):
        s.paint("cells", 0, [(5, 5)], radius=2, label=1)
    assert s.labels("cells", 0)[5, 5] == 1
    assert s.autosave.startswith("off:")
    assert "autosave journal disabled" in caplog.text


@pytest.mark.parametrize("journal", [False])
def test_journal_off(experiment, journal):
    s = segpaint.open(experiment, journal=journal)
    s.paint("targets", 1, [(10, 10)], radius=3, label=5)
    assert s.journal_path is None
    assert not list((experiment / "W1" / "100").glob(".segpaint/*.journal*"))
