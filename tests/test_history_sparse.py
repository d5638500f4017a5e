"""Large changes that touch few pixels of their box: sparse undo steps and sparse journal records.

Undo/redo must restore every pixel exactly, the history must count what a step really holds,
and a crashed session's journal must rebuild the same labels (old dense journals still read).
"""

from __future__ import annotations

import numpy as np
import pytest

import segpaint
from segpaint._history import Edit
from segpaint._journal import encode_record, read_journal


def _cells(shape=(256, 256), n=60, seed=1):
    rng = np.random.default_rng(seed)
    lab = np.zeros(shape, np.uint32)
    rr, cc = np.mgrid[: shape[0], : shape[1]]
    for k in range(1, n + 1):
        r, c = rng.integers(8, shape[0] - 8), rng.integers(8, shape[1] - 8)
        lab[(rr - r) ** 2 + (cc - c) ** 2 <= rng.integers(100, 400)] = k
    return lab


@pytest.fixture
def session(tmp_path):
    s = segpaint.open(
        np.zeros((2, 256, 256), np.uint8), axes="TYX", populations=["cells"], journal=tmp_path / "j"
    )
    yield s
    s.close()


def test_whole_frame_grow_is_a_sparse_step_that_undoes_exactly(session):
    lab = _cells()
    session.set_labels("cells", 0, lab)
    dense = session.history.peek()
    assert isinstance(dense, Edit) and dense.index is None
    before = session.history.nbytes
    session.morph("cells", 0, None, "grow", radius=1)
    grown = session.labels("cells", 0).copy()
    n_changed = int((grown != lab).sum())
    assert 0 < n_changed < lab.size // 3
    step = session.history.peek()
    assert isinstance(step, Edit) and step.index is not None
    # positions (uint32) + old + new: 12 bytes a changed pixel, not 8 per pixel of the box
    assert session.history.nbytes - before == 12 * n_changed == step.nbytes
    assert session.undo() is not None
    np.testing.assert_array_equal(session.labels("cells", 0), lab)
    session.redo()
    np.testing.assert_array_equal(session.labels("cells", 0), grown)
    session.undo()
    session.undo()
    assert not session.labels("cells", 0).any()


def test_sparse_step_box_is_the_tight_box_of_the_change(session):
    lab = np.zeros((256, 256), np.uint32)
    lab[100:110, 50:60] = 3
    lab[200:205, 10:12] = 4
    session.set_labels("cells", 0, lab)
    values = lab.copy()
    values[100, 50] = 7
    values[204, 11] = 8
    change = session.apply_patch("cells", 0, (0, 256, 0, 256), values)
    assert change.bbox == (100, 205, 11, 51)
    assert session.labels("cells", 0)[100, 50] == 7 and session.labels("cells", 0)[204, 11] == 8
    assert session.new_label("cells") == 9


def test_sparse_step_that_erases_the_top_label_updates_the_next_label(session):
    lab = _cells()
    session.set_labels("cells", 0, lab)
    assert session.new_label("cells") == int(lab.max()) + 1
    top = int(lab.max())
    session.apply_patch("cells", 0, (0, 256, 0, 256), 0, mask=lab == top)
    assert isinstance(session.history.peek(), Edit) and session.history.peek().index is not None
    assert session.new_label("cells") == int(np.where(lab == top, 0, lab).max()) + 1
    session.undo()
    assert session.new_label("cells") == top + 1


def test_a_crashed_sessions_sparse_records_rebuild_the_labels(tmp_path):
    image = np.zeros((2, 256, 256), np.uint8)
    path = tmp_path / "journal.bin"
    s = segpaint.open(image, axes="TYX", populations=["cells"], journal=path)
    lab = _cells()
    s.set_labels("cells", 0, lab)
    s.morph("cells", 0, None, "grow", radius=2)
    s.morph("cells", 0, None, "shrink", radius=1)
    s.undo()
    s.redo()
    s.paint("cells", 0, [(30, 30), (60, 90)], 3, 99)
    s.morph("cells", 0, None, "smooth", radius=2)
    # sparse edits of a box narrower than the frame, and of whole rows lower down
    for box in [(40, 120, 30, 200), (50, 256, 0, 256)]:
        values = s.labels("cells", 0)[box[0] : box[1], box[2] : box[3]].copy()
        values[5, 7] = 123
        values[-1, -2] = 124
        values[-3, 1] = 0
        s.apply_patch("cells", 0, box, values)
        assert s.history.peek().index is not None
    expected = s.labels("cells", 0).copy()
    records = list(read_journal(path, frame_shape=(256, 256)))
    assert any(r.index is not None for r in records)
    s._journal.close()  # the kernel dies: nothing is saved, the journal stays
    again = segpaint.open(image, axes="TYX", populations=["cells"], journal=path)
    assert again.pending_edits == len(records)
    again.recover()
    np.testing.assert_array_equal(again.labels("cells", 0), expected)
    again.close()


def test_sparse_record_round_trips_and_a_bad_one_stops_reading(tmp_path):
    index = np.array([0, 5, 6, 59], np.intp)
    values = np.array([1, 2, 3, 2**32 - 1], np.uint32)
    good = encode_record("cells", 0, (10, 16, 20, 30), values, index=index)
    dense = encode_record("cells", 0, (0, 2, 0, 2), np.arange(4, dtype=np.uint32).reshape(2, 2))
    path = tmp_path / "j"
    path.write_bytes(dense + good)
    first, second = read_journal(path, frame_shape=(64, 64))
    assert first.index is None and first.values.tolist() == [[0, 1], [2, 3]]
    np.testing.assert_array_equal(second.index, index)
    np.testing.assert_array_equal(second.values, values)
    # a position outside the box (6 x 10 = 60 pixels) is not trusted: reading stops there
    outside = encode_record("cells", 0, (10, 16, 20, 30), values, index=index + 1)
    path.write_bytes(dense + outside + dense)
    assert len(list(read_journal(path))) == 1


def test_sparse_write_of_a_strided_values_array(session):
    # _assist_commit clips values to an ROI: a strided view, not a contiguous array
    lab = _cells()
    session.set_labels("cells", 0, lab)
    big = np.zeros((256, 512), np.uint32)
    big[:, ::2] = lab
    big[10, 20] = 77
    values = big[:, ::2]
    assert not values.flags.c_contiguous
    change = session.apply_patch("cells", 0, (0, 256, 0, 256), lab)
    assert change is None
    session._commit("cells", 0, (0, 256, 0, 256), values, None)
    expected = lab.copy()
    expected[10, 10] = 77
    np.testing.assert_array_equal(session.labels("cells", 0), expected)
    session.undo()
    np.testing.assert_array_equal(session.labels("cells", 0), lab)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint16])
@pytest.mark.parametrize("n_changed", [3, 40_000])  # sparse, dense
def test_commit_takes_values_of_any_integer_type(session, dtype, n_changed):
    values = np.zeros((256, 256), dtype)
    values.reshape(-1)[:n_changed] = 9
    session._commit("cells", 1, (0, 256, 0, 256), values, None)
    got = session.labels("cells", 1)
    assert got.dtype == np.uint32 and int((got == 9).sum()) == n_changed


BOXES = [(0, 256, 0, 256), (40, 120, 30, 200), (50, 256, 0, 256), (3, 250, 17, 256)]


@pytest.mark.parametrize("box", BOXES)
@pytest.mark.parametrize("strided", [False, True])
def test_sparse_step_and_record_are_those_of_the_changed_pixels(tmp_path, box, strided):
    # the step and the journal record, worked out from the changed pixels one way only
    path = tmp_path / "journal.bin"
    s = segpaint.open(
        np.zeros((2, 256, 256), np.uint8), axes="TYX", populations=["c"], journal=path
    )
    lab = _cells()
    s.set_labels("c", 1, lab)
    sub = (slice(box[0], box[1]), slice(box[2], box[3]))
    values = lab[sub].copy()
    rng = np.random.default_rng(box[0] + box[2])
    hit = rng.random(values.shape) < 0.02
    hit[:, :5] = False  # the change's columns narrower than the box's
    values[hit] = rng.integers(0, 500, int(hit.sum()))
    changed = values != lab[sub]
    if strided:
        wide = np.zeros((values.shape[0], 2 * values.shape[1]), np.uint32)
        wide[:, ::2] = values
        values = wide[:, ::2]
    size = path.stat().st_size
    s._commit("c", 1, box, values, None)
    rows, cols = np.nonzero(changed)
    tight = (
        box[0] + rows.min(),
        box[0] + rows.max() + 1,
        box[2] + cols.min(),
        box[2] + cols.max() + 1,
    )
    step = s.history.peek()
    assert isinstance(step, Edit) and step.bbox == tuple(int(v) for v in tight)
    frame_index = (rows + box[0]) * 256 + cols + box[2]
    np.testing.assert_array_equal(step.index, frame_index)
    assert step.index.dtype == np.uint32
    np.testing.assert_array_equal(step.old, lab[sub][changed])
    np.testing.assert_array_equal(step.new, values[changed])
    inner = (rows + box[0] - tight[0]) * (tight[3] - tight[2]) + cols + box[2] - tight[2]
    record = encode_record("c", 1, step.bbox, values[changed], None, index=inner)
    assert path.read_bytes()[size:] == record
    s.undo()
    np.testing.assert_array_equal(s.labels("c", 1), lab)
    s.close()
