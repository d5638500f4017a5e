"""The stroke path's compact undo steps: one label under a mask (brush, eraser, fill, a browser
stroke) keeps the old values (nothing when they were all background) and the changed pixels as
bits. Undo/redo must still restore every pixel, the history must count what a step holds, and
the journal must hold the same records as before (the dense new values of the box)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import segpaint
from segpaint import ops
from segpaint._history import Edit, constant, held_bytes
from segpaint._journal import read_journal


@pytest.fixture
def session(tmp_path: Path) -> segpaint.Session:
    s = segpaint.open(
        np.zeros((2, 96, 128), np.uint8), axes="TYX", populations=["cells"], journal=tmp_path / "j"
    )
    yield s
    s.close()


def _expected(shape: tuple[int, int], strokes: list[tuple[list, float, int]]) -> np.ndarray:
    out = np.zeros(shape, np.uint32)
    for points, radius, label in strokes:
        hit = ops.stroke_mask(shape, points, radius)
        assert hit is not None
        (r0, r1, c0, c1), mask = hit
        out[r0:r1, c0:c1][mask] = label
    return out


STROKES = [
    ([(20, 10), (20, 90)], 5, 3),  # a horizontal stroke on background: dense step, old = nothing
    ([(10, 10), (80, 120)], 2, 4),  # a thin diagonal: sparse step, crosses label 3
    ([(20, 40), (30, 60)], 6, 0),  # the eraser over both
    ([(60, 20), (62, 100)], 7, 2**32 - 1),  # the largest label
]


def test_label_steps_undo_and_redo_every_pixel(session: segpaint.Session) -> None:
    shape = session.frame_shape
    states = [np.zeros(shape, np.uint32)]
    for k, (points, radius, label) in enumerate(STROKES):
        session.paint("cells", 1, points, radius, label)
        states.append(_expected(shape, STROKES[: k + 1]))
        np.testing.assert_array_equal(session.labels("cells", 1), states[-1])
    for state in reversed(states[:-1]):
        session.undo()
        np.testing.assert_array_equal(session.labels("cells", 1), state)
    for state in states[1:]:
        session.redo()
        np.testing.assert_array_equal(session.labels("cells", 1), state)
    assert not session.labels("cells", 0).any()


def test_a_stroke_on_background_keeps_bits_not_values(session: segpaint.Session) -> None:
    session.paint("cells", 0, [(20, 10), (20, 90)], 5, 3)
    step = session.history.peek()
    assert isinstance(step, Edit) and step.index is None and step.label == 3
    h, w = step.bbox[1] - step.bbox[0], step.bbox[3] - step.bbox[2]
    # the old values were all 0: a constant view (4 bytes); the mask: one bit a pixel
    assert held_bytes(step.old) == 4 and step.new.nbytes == -(-h * w // 8)
    assert session.history.nbytes == step.nbytes == 4 + -(-h * w // 8)
    np.testing.assert_array_equal(
        step.new_values(),
        session.labels("cells", 0)[step.bbox[0] : step.bbox[1], step.bbox[2] : step.bbox[3]],
    )
    # over a labelled box the old values are kept (4 bytes a pixel), the new ones still as bits
    session.paint("cells", 0, [(20, 10), (20, 90)], 5, 9)
    over = session.history.peek()
    assert isinstance(over, Edit) and over.old.nbytes == 4 * over.old.size
    assert over.nbytes == over.old.nbytes + -(-over.old.size // 8)


def test_a_sparse_label_step_keeps_positions_only(session: segpaint.Session) -> None:
    session.paint(
        "cells", 0, [(2, 2), (90, 120)], 1, 5
    )  # thin diagonal: a third of its box or less
    step = session.history.peek()
    assert isinstance(step, Edit) and step.index is not None
    n = step.index.size
    assert held_bytes(step.new) == 4 and held_bytes(step.old) == 4  # one label over background
    assert step.nbytes == 4 * n + 8
    session.undo()
    assert not session.labels("cells", 0).any()


def test_journal_records_are_the_dense_new_values(
    session: segpaint.Session, tmp_path: Path
) -> None:
    session.paint("cells", 1, [(20, 10), (20, 90)], 5, 3)
    session.paint("cells", 1, [(20, 10), (20, 90)], 5, 7)  # over label 3
    session.paint("cells", 1, [(10, 10), (80, 120)], 2, 4)  # sparse
    records = list(read_journal(tmp_path / "j", frame_shape=session.frame_shape))
    assert [r.index is None for r in records] == [True, True, False]
    labels = session.labels("cells", 1)
    for rec in records[:2]:
        r0, r1, c0, c1 = rec.bbox
        assert rec.values.shape == (r1 - r0, c1 - c0)
    # a crashed session's journal rebuilds the same frame
    rebuilt = np.zeros(session.frame_shape, np.uint32)
    for rec in records:
        r0, r1, c0, c1 = rec.bbox
        if rec.index is None:
            rebuilt[r0:r1, c0:c1] = rec.values
        else:
            box = rebuilt[r0:r1, c0:c1].copy()
            box.reshape(-1)[rec.index] = rec.values
            rebuilt[r0:r1, c0:c1] = box
    np.testing.assert_array_equal(rebuilt, labels)


def test_constant_views_are_read_only() -> None:
    zeros = constant(0, (4, 5))
    with pytest.raises(ValueError, match="read-only"):
        zeros[0, 0] = 1
    assert held_bytes(zeros) == 4 and held_bytes(np.zeros((4, 5), np.uint32)) == 80


def test_the_widget_acks_a_stroke_before_it_publishes_the_next_label(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from segpaint.widgets import Annotator
    from segpaint.widgets._wire import stroke_messages

    s = segpaint.open(np.zeros((40, 64, 64), np.uint8), axes="TYX", journal=False)
    widget = Annotator(s)
    order: list[str] = []
    monkeypatch.setattr(widget, "send", lambda content, buffers=None: order.append(content["type"]))
    widget.observe(lambda change: order.append(f"next_label={change['new']}"), "next_label")
    assert widget.next_label == 1
    (r0, r1, c0, c1), mask = ops.stroke_mask(s.frame_shape, [(10, 10), (10, 40)], 3)
    ((content, buffers),) = stroke_messages(
        stroke=1, population=widget.population, frame=0, bbox=(r0, r1, c0, c1), label=1, mask=mask
    )
    widget._handle_message(content, buffers)
    assert order == ["ack", "next_label=2"]
    assert (s.labels(widget.population, 0)[r0:r1, c0:c1][mask] == 1).all()
    # A refused stroke (a box outside the frame) changes nothing and publishes nothing else.
    order.clear()
    widget._handle_message({**content, "stroke": 2, "bbox": [60, 70, 0, 30]}, buffers)
    assert order[0] == "ack" and "next_label=2" not in order and widget.next_label == 2
