"""Whole-frame outline fix (`Session.refine`, `segpaint.ops.refine.refine_outlines`): one call
moves every cell's outline to the image's edge near it."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import ndimage as ndi

import segpaint
from segpaint.ops.refine import RADIUS_MAX, refine_outlines
from steps import paint_during

# (row, col, radius, error): error > 0 = the label is that many px too wide, < 0 too narrow
CELLS = [
    (30, 30, 14, 3), (30, 80, 12, -3), (30, 130, 15, 2), (80, 30, 13, -2),
    (80, 80, 16, 0), (80, 130, 12, 0), (130, 30, 15, 3), (130, 80, 14, -2),
    (130, 130, 13, 0), (175, 55, 12, 2), (175, 110, 14, -3),
]  # fmt: skip
SHAPE = (200, 160)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


@pytest.fixture(scope="module")
def frame() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A blurred, noisy image of bright disks of different brightness, their true labels, and
    labels whose outlines are 2-3 px too wide or too narrow (a third of them right)."""
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[: SHAPE[0], : SHAPE[1]]
    truth = np.zeros(SHAPE, np.uint32)
    wrong = np.zeros(SHAPE, np.uint32)
    image = np.zeros(SHAPE)
    for value, (r, c, radius, error) in enumerate(CELLS, start=1):
        d2 = (yy - r) ** 2 + (xx - c) ** 2
        truth[d2 <= radius * radius] = value
        wrong[d2 <= (radius + error) ** 2] = value
        image += (d2 <= radius * radius) * rng.uniform(600, 1500)
    image = ndi.gaussian_filter(image, 1.0) + 100 + rng.normal(0, 25, SHAPE)
    return np.clip(image, 0, None).astype(np.uint16), truth, wrong


@pytest.fixture
def session(frame):
    image, _, wrong = frame
    movie = np.stack([image, image, image])  # (T, Y, X)
    s = segpaint.open(movie, axes="TYX", populations=["cells", "other"])
    for t in range(3):
        s.set_labels("cells", t, wrong)
        s.set_labels("other", t, wrong)
    return s


def test_one_call_brings_every_cell_back_to_its_edge(session, frame):
    _, truth, wrong = frame
    change = session.refine("cells", 1)
    assert change is not None
    after = np.asarray(session.labels("cells", 1))
    for value, (*_, error) in enumerate(CELLS, start=1):
        got = iou(after == value, truth == value)
        assert got >= 0.9, f"cell {value} (outline {error:+d} px): IoU {got:.3f} with its truth"
        if error == 0:  # a cell that was right stays as it was
            assert iou(after == value, wrong == value) >= 0.95
        else:
            assert got > iou(wrong == value, truth == value)


def test_one_undo_restores_the_frame_and_nothing_else_changes(session, frame):
    _, _, wrong = frame
    session.refine("cells", 1)
    assert not np.array_equal(session.labels("cells", 1), wrong)
    for t in (0, 2):  # other frames and the other population are untouched
        np.testing.assert_array_equal(session.labels("cells", t), wrong)
    for t in range(3):
        np.testing.assert_array_equal(session.labels("other", t), wrong)
    session.undo()
    np.testing.assert_array_equal(session.labels("cells", 1), wrong)
    session.redo()  # and redo gives the refined frame back
    assert not np.array_equal(session.labels("cells", 1), wrong)


def test_a_stroke_from_another_thread_during_a_refine_is_not_undone(session, frame, monkeypatch):
    # The canvas (or a notebook thread) paints while every outline is being snapped: the stroke
    # waits for the refine's commit, then lands on top of it, as its own undo step.
    from segpaint.ops import refine as refine_module

    painter = paint_during(  # `refine_changes` is what `Session.refine` calls
        monkeypatch, refine_module, "refine_changes", session, "cells", 1, [(5, 5), (5, 40)], 2, 77
    )
    before = np.asarray(session.labels("cells", 1)).copy()
    session.refine("cells", 1)
    painter[0].join(timeout=10)
    assert not painter[0].is_alive()
    after = np.asarray(session.labels("cells", 1))
    assert (after[5, 5:41] == 77).all()  # the stroke is there, not reverted by the refine
    session.undo()  # the stroke, made after the refine
    assert not (np.asarray(session.labels("cells", 1)) == 77).any()
    session.undo()  # the refine
    assert np.array_equal(session.labels("cells", 1), before)


def test_roi_lock_keeps_every_pixel_outside_the_roi(session, frame):
    _, truth, wrong = frame
    roi = session.add_roi(1, rows=(0, 105), cols=(0, 105))
    session.refine("cells", 1, roi=roi)
    after = np.asarray(session.labels("cells", 1))
    outside = np.ones(SHAPE, bool)
    outside[0:105, 0:105] = False
    np.testing.assert_array_equal(after[outside], wrong[outside])
    # a cell wholly inside the ROI is fixed; one wholly outside keeps its wrong outline
    assert iou(after == 1, truth == 1) >= 0.9
    np.testing.assert_array_equal(after == 7, wrong == 7)


def test_label_fixes_only_that_cell(session, frame):
    _, truth, wrong = frame
    session.refine("cells", 1, label=2)
    after = np.asarray(session.labels("cells", 1))
    assert iou(after == 2, truth == 2) >= 0.9
    changed = np.unique(np.concatenate([after[after != wrong], wrong[after != wrong]]))
    assert set(changed.tolist()) <= {0, 2}


def test_borders_between_cells_stay_and_no_cell_takes_another():
    """Two touching bright cells drawn too small on their outer sides: they grow to the edge,
    and the pixels of each stay its own."""
    yy, xx = np.mgrid[:60, :90]
    truth = np.zeros((60, 90), np.uint32)
    truth[(yy - 30) ** 2 + (xx - 30) ** 2 <= 18**2] = 1
    truth[((yy - 30) ** 2 + (xx - 62) ** 2 <= 16**2) & (truth == 0)] = 2
    image = ndi.gaussian_filter((truth > 0) * 1000.0, 1.0) + 50
    labels = np.where(ndi.binary_erosion(truth > 0, iterations=2), truth, 0).astype(np.uint32)
    labels[(truth > 0) & (xx >= 44) & (xx <= 48)] = truth[(truth > 0) & (xx >= 44) & (xx <= 48)]
    box, new = refine_outlines(image, labels, limits=[(0.0, 1050.0)])
    assert box == (0, 60, 0, 90)
    for v in (1, 2):
        assert iou(new == v, truth == v) >= 0.9
        assert not ((labels == v) & (new != v) & (new != 0)).any()  # never given to the other
    touching = (labels == 1) & np.roll(labels == 2, -1, axis=1)
    assert touching.any() and (new[touching] == 1).all()


def test_a_cell_with_no_edge_near_it_stays():
    flat = np.full((40, 40), 500, np.uint16)
    labels = np.zeros((40, 40), np.uint32)
    labels[10:30, 12:25] = 4
    found = refine_outlines(flat, labels, limits=[(0.0, 1000.0)])
    assert found is not None
    np.testing.assert_array_equal(found[1], labels)
    assert refine_outlines(flat, np.zeros((40, 40), np.uint32)) is None  # no outline at all


def test_channels_are_the_ones_chosen(frame):
    """The edge is looked for in the chosen channel only: a flat channel moves nothing."""
    image, truth, wrong = frame
    both = np.stack([np.full(SHAPE, 300, np.uint16), image])[None]  # (T, C, Y, X)
    s = segpaint.open(both, axes="TCYX", channel_names=["flat", "cells"], populations=["p"])
    s.set_labels("p", 0, wrong)
    assert s.refine("p", 0, channels=["flat"]) is None
    assert s.refine("p", 0, channels=["cells"]) is not None
    assert iou(np.asarray(s.labels("p", 0)) == 1, truth == 1) >= 0.9


@pytest.mark.parametrize("channels", [["cells"], [1, 2], [-2], [2, 0], ["cells", "flat"]])
def test_chosen_channels_are_read_from_the_frame_without_a_copy_when_in_a_run(
    frame, monkeypatch, channels
):
    """The labels are `refine_outlines`' on the chosen channels; channels in a run (one, or
    neighbours in order) reach the kernel as a read-only view of the frame, not a copy."""
    import segpaint.ops.refine as refine_module

    image, _, wrong = frame
    stack = np.stack([np.full(SHAPE, 300, np.uint16), image, image // 2 + 50])[None]
    s = segpaint.open(stack, axes="TCYX", channel_names=["flat", "cells", "dim"], populations=["p"])
    s.set_labels("p", 0, wrong)
    given = []
    kernel = refine_module.refine_changes
    monkeypatch.setattr(
        refine_module,
        "refine_changes",
        lambda img, *a, **k: given.append(img) or kernel(img, *a, **k),
    )
    s.refine("p", 0, channels=channels)
    index = [s._channel_index(c) for c in channels]
    want = refine_outlines(stack[0, index], wrong, limits=s._assist_channels(0, channels, None)[1])
    assert want is not None
    np.testing.assert_array_equal(s.labels("p", 0), want[1])
    (img,) = given
    np.testing.assert_array_equal(img, stack[0, index])
    run = index == list(range(index[0], index[0] + len(index)))
    assert np.shares_memory(img, s.image(0)) is run
    assert not img.flags.writeable or not run


def test_errors_name_the_parameter(session, frame):
    image, _, wrong = frame
    with pytest.raises(ValueError, match="label: 99 is not in frame 1 of 'cells'"):
        session.refine("cells", 1, label=99)
    with pytest.raises(ValueError, match="label: 0 is the background"):
        session.refine("cells", 1, label=0)
    with pytest.raises(ValueError, match=f"radius: expected an integer from 1 to {RADIUS_MAX}"):
        session.refine("cells", 1, radius=0)
    with pytest.raises(TypeError, match="channels: expected a non-empty list"):
        session.refine("cells", 1, channels=0)
    with pytest.raises(ValueError, match=r"label_image: expected shape \(200, 160\)"):
        refine_outlines(image, wrong[:10])
    with pytest.raises(TypeError, match="label_image: expected unsigned integers"):
        refine_outlines(image, wrong.astype(np.int32))
    with pytest.raises(ValueError, match="clip: .* does not overlap"):
        refine_outlines(image, wrong, clip=(500, 600, 0, 10))


def test_the_largest_label_value_is_a_cell_like_any_other():
    """The band's padded copy is framed by a value no cell has, even at the top of uint32."""
    image = np.zeros((20, 20))
    image[4:16, 4:16] = 1.0
    labels = np.zeros((20, 20), np.uint32)
    labels[6:14, 6:14] = 0xFFFFFFFF
    labels[0, 0] = 1
    _, new = refine_outlines(image, labels, limits=[(0.0, 1.0)])
    assert int((new == 0xFFFFFFFF).sum()) == 12 * 12


def test_on_random_frames_no_cell_takes_another_and_label_limits_the_change():
    """Small random label images (touching cells, one-pixel cells, 1-px-wide frames), random
    radius, ROI and label: no new value appears, no cell's pixel goes to another cell, and with
    ``label`` every pixel of the other cells stays as it was."""
    rng = np.random.default_rng(0)
    for trial in range(120):
        h, w = (int(v) for v in rng.integers(1, 12, 2))
        labels = (rng.integers(0, 4, (h, w)) * (rng.random((h, w)) < 0.6)).astype(np.uint32)
        image = rng.random((int(rng.integers(1, 3)), h, w)) * 100
        clip = None if trial % 3 else (0, max(1, h // 2), 0, w)
        label = None if trial % 2 else (int(labels.max()) or None)
        found = refine_outlines(
            image, labels, limits=[(0.0, 100.0)] * image.shape[0], clip=clip, label=label,
            radius=int(rng.integers(1, 5)),
        )  # fmt: skip
        if found is None:
            continue
        box, new = found
        old = labels[box[0] : box[1], box[2] : box[3]]
        assert set(np.unique(new).tolist()) <= set(np.unique(old).tolist()) | {0}
        assert not ((old != 0) & (new != 0) & (new != old)).any()
        if label is not None:
            others = (old != label) & (new != label)
            np.testing.assert_array_equal(new[others], old[others])


def test_without_numba_or_switched_off_the_numpy_code_runs(monkeypatch):
    """No numba (the `fast` extra) or SEGPAINT_NUMBA=0: `refine_outlines` runs its numpy code
    and gives the documented result."""
    from segpaint.ops import _refine_numba
    from segpaint.ops import refine as refine_module

    monkeypatch.setattr(_refine_numba, "AVAILABLE", False)
    monkeypatch.setattr(refine_module, "_kernels", None)
    monkeypatch.setattr(refine_module, "_kernels_tried", False)
    monkeypatch.delenv("SEGPAINT_NUMBA", raising=False)
    assert refine_module._numba_kernels() is None
    yy, xx = np.mgrid[:21, :21]
    d2 = (yy - 10) ** 2 + (xx - 10) ** 2
    img, lab = (d2 <= 36) * 1.0, (d2 <= 16).astype(np.uint32) * 7
    _, new = refine_module.refine_outlines(img, lab, limits=[(0, 1)])
    np.testing.assert_array_equal(new == 7, img > 0)
    monkeypatch.setattr(refine_module, "_kernels_tried", False)
    monkeypatch.setenv("SEGPAINT_NUMBA", "0")
    assert refine_module._numba_kernels() is None


def test_warm_up_without_numba_compiles_nothing(monkeypatch):
    from segpaint.ops import refine as refine_module

    monkeypatch.setenv("SEGPAINT_NUMBA", "0")
    assert refine_module.warm_up() is False


@pytest.mark.parametrize("shape", [(2048, 300), (301, 257), (33, 40), (17, 3), (16, 9), (1, 5)])
def test_dense_band_borders_add_up_over_runs_of_rows(shape):
    """`_dense_band`'s border count is the same counted whole or run by run (the numba path
    counts it in the runs of its padded copy, on several threads): same choice of band."""
    from segpaint.ops.refine import _borders, _dense_band

    rng = np.random.default_rng(shape[0])
    lab = (rng.random(shape) < 0.3).astype(np.uint32) * rng.integers(1, 9, shape, dtype=np.uint32)
    whole = _borders(lab, 0, shape[0])
    assert whole > 0 or shape[1] < 3
    for _ in range(5):
        cuts = sorted({0, shape[0], *rng.integers(0, shape[0], 4).tolist()})
        assert sum(_borders(lab, a, b) for a, b in itertools.pairwise(cuts)) == whole
    for radius in (1, 3, 16):
        assert _dense_band(lab, radius, whole) == _dense_band(lab, radius)
