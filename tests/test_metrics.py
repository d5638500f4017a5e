"""match_instances against cases counted by hand."""

from __future__ import annotations

import numpy as np
import pytest

from segpaint.metrics import binary_iou, iou_matrix, match_instances


def test_identical_images_score_one_with_any_ids() -> None:
    true = np.zeros((10, 10), np.uint16)
    true[1:4, 1:4] = 3
    true[6:9, 5:9] = 8
    pred = np.where(true == 3, 1, np.where(true == 8, 2, 0)).astype(np.uint32)
    result = match_instances(true, pred)
    assert (result.tp, result.fp, result.fn) == (2, 0, 0)
    assert result.precision == result.recall == result.f1 == result.average_precision == 1.0
    assert result.mean_matched_iou == 1.0


def test_hand_counted_partial_overlaps() -> None:
    # true 1: 4 px at cols 0-3; pred 1 covers cols 1-3 -> IoU 3/4
    # true 2: 4 px at cols 6-9; pred 2 covers cols 8-11 -> IoU 2/6
    # pred 3: an extra object; true 3: a missed object
    true = np.zeros((3, 14), np.int32)
    pred = np.zeros((3, 14), np.int32)
    true[0, 0:4] = 1
    pred[0, 1:4] = 1
    true[0, 6:10] = 2
    pred[0, 8:12] = 2
    pred[2, 0:3] = 3
    true[2, 10:13] = 3
    result = match_instances(true, pred, iou_threshold=0.5)
    assert (result.tp, result.fp, result.fn) == (1, 2, 2)
    assert result.precision == pytest.approx(1 / 3)
    assert result.recall == pytest.approx(1 / 3)
    assert result.f1 == pytest.approx(2 * 1 / (2 * 1 + 2 + 2))
    assert result.average_precision == pytest.approx(1 / 5)
    assert result.mean_matched_iou == pytest.approx(0.75)
    low = match_instances(true, pred, iou_threshold=0.3)
    assert (low.tp, low.fp, low.fn) == (2, 1, 1)
    assert low.mean_matched_iou == pytest.approx((0.75 + 2 / 6) / 2)


def test_matching_is_optimal_not_greedy() -> None:
    # pred A overlaps true 1 (IoU 6/17) and true 2 (IoU 7/16, the best pair overall); pred B
    # overlaps only true 2 (IoU 3/10).  Greedy on the best IoU takes A-2 and ends with 1 TP;
    # the optimal one-to-one matching takes A-1 and B-2: 2 TP.
    true = np.zeros((1, 24), np.int32)
    pred = np.zeros((1, 24), np.int32)
    true[0, 0:10] = 1
    true[0, 10:20] = 2
    pred[0, 4:17] = 5
    pred[0, 17:20] = 6
    iou, true_ids, pred_ids = iou_matrix(true, pred)
    assert true_ids.tolist() == [1, 2]
    assert pred_ids.tolist() == [5, 6]
    np.testing.assert_allclose(iou, [[6 / 17, 0], [7 / 16, 3 / 10]])
    result = match_instances(true, pred, iou_threshold=0.29)
    assert (result.tp, result.fp, result.fn) == (2, 0, 0)
    assert result.mean_matched_iou == pytest.approx((6 / 17 + 3 / 10) / 2)
    # above B-2's IoU only A-2 qualifies
    strict = match_instances(true, pred, iou_threshold=0.4)
    assert (strict.tp, strict.fp, strict.fn) == (1, 1, 1)
    assert strict.mean_matched_iou == pytest.approx(7 / 16)


def test_empty_images() -> None:
    empty = np.zeros((5, 5), np.uint8)
    one = empty.copy()
    one[1:3, 1:3] = 1
    both = match_instances(empty, empty)
    assert (both.tp, both.fp, both.fn, both.f1) == (0, 0, 0, 1.0)
    missed = match_instances(one, empty)
    assert (missed.fn, missed.recall, missed.precision, missed.f1) == (1, 0.0, 0.0, 0.0)
    extra = match_instances(empty, one)
    assert (extra.fp, extra.precision, extra.average_precision) == (1, 0.0, 0.0)


def test_binary_iou() -> None:
    assert binary_iou(np.array([[1, 2, 0, 0]]), np.array([[0, 7, 7, 0]])) == pytest.approx(1 / 3)


def test_errors_name_the_parameter() -> None:
    a = np.zeros((4, 4), np.int32)
    with pytest.raises(ValueError, match="pred_labels: shape"):
        match_instances(a, np.zeros((4, 5), np.int32))
    with pytest.raises(ValueError, match=r"iou_threshold: expected a number in \(0, 1\]"):
        match_instances(a, a, iou_threshold=0)
    with pytest.raises(TypeError, match="true_labels: expected an integer label image"):
        match_instances(a.astype(float), a)
    with pytest.raises(ValueError, match="pred_labels: labels must be >= 0"):
        match_instances(a, a - 1)
