"""Instance-segmentation accuracy: optimal one-to-one matching of objects by IoU."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment

__all__ = ["MatchResult", "binary_iou", "iou_matrix", "match_instances"]


@dataclass(frozen=True)
class MatchResult:
    """Counts and scores of one true-vs-predicted comparison.

    Attributes
    ----------
    tp, fp, fn : int
        Matched pairs, unmatched predictions, unmatched true objects.
    precision, recall, f1 : float
        ``tp/(tp+fp)``, ``tp/(tp+fn)`` and their harmonic mean (1.0 when both images are empty).
    average_precision : float
        ``tp/(tp+fp+fn)``, StarDist's "accuracy" (AP at one IoU threshold).
    mean_matched_iou : float
        Mean IoU over matched pairs (0.0 when there are none).
    iou_threshold : float
        The IoU a pair needed to count as a match.
    """

    tp: int
    fp: int
    fn: int
    precision: float
    recall: float
    f1: float
    average_precision: float
    mean_matched_iou: float
    iou_threshold: float


def _as_labels(name: str, labels: npt.ArrayLike) -> npt.NDArray[np.integer[Any]]:
    array = np.asarray(labels)
    if not (np.issubdtype(array.dtype, np.integer) or array.dtype == np.bool_):
        raise TypeError(f"{name}: expected an integer label image, got dtype {array.dtype}")
    if array.size and array.min() < 0:
        raise ValueError(f"{name}: labels must be >= 0 (0 is background), got {array.min()}")
    return array.astype(np.int64, copy=False)


def iou_matrix(
    true_labels: npt.ArrayLike, pred_labels: npt.ArrayLike
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """IoU of every true object with every predicted object.

    Returns
    -------
    iou : ndarray, shape (n_true, n_pred)
    true_ids, pred_ids : ndarray
        The label values of the rows and columns.

    Examples
    --------
    >>> import numpy as np
    >>> iou, t, p = iou_matrix(np.array([[1, 1, 0, 0]]), np.array([[0, 2, 2, 0]]))
    >>> iou.round(3).tolist(), t.tolist(), p.tolist()
    ([[0.333]], [1], [2])
    """
    true = _as_labels("true_labels", true_labels)
    pred = _as_labels("pred_labels", pred_labels)
    if true.shape != pred.shape:
        raise ValueError(
            f"pred_labels: shape {pred.shape} differs from true_labels {true.shape}; "
            "compare label images of the same frame"
        )
    true_ids, true_index = np.unique(true, return_inverse=True)
    pred_ids, pred_index = np.unique(pred, return_inverse=True)
    # joint histogram of (true, pred) pixel pairs: overlaps in one pass
    n_pairs = len(true_ids) * len(pred_ids)
    joint = true_index.ravel().astype(np.int64) * len(pred_ids) + pred_index.ravel()
    overlap = np.bincount(joint, minlength=n_pairs).reshape(len(true_ids), len(pred_ids))
    true_area = overlap.sum(axis=1, keepdims=True)
    pred_area = overlap.sum(axis=0, keepdims=True)
    union = true_area + pred_area - overlap
    iou = np.divide(overlap, union, out=np.zeros(overlap.shape), where=union > 0)
    keep_true = true_ids > 0
    keep_pred = pred_ids > 0
    return (
        iou[np.ix_(keep_true, keep_pred)],
        true_ids[keep_true].astype(np.int64),
        pred_ids[keep_pred].astype(np.int64),
    )


def match_instances(
    true_labels: npt.ArrayLike, pred_labels: npt.ArrayLike, *, iou_threshold: float = 0.5
) -> MatchResult:
    """Match predicted objects to true objects one-to-one and score the result.

    The pairing maximises the total IoU (Hungarian algorithm) among pairs whose IoU reaches
    ``iou_threshold``, so each object is matched at most once.

    Parameters
    ----------
    true_labels, pred_labels : array_like of int
        Label images of the same shape, 0 is background.
    iou_threshold : float, keyword-only
        Minimum IoU (in ``(0, 1]``) for a pair to count as a true positive.

    Returns
    -------
    MatchResult

    Examples
    --------
    >>> import numpy as np
    >>> true = np.array([[1, 1, 0, 2, 2]])
    >>> pred = np.array([[5, 5, 0, 0, 7]])
    >>> result = match_instances(true, pred, iou_threshold=0.5)
    >>> result.tp, result.fp, result.fn, result.average_precision
    (2, 0, 0, 1.0)
    >>> match_instances(true, pred, iou_threshold=0.6).f1
    0.5
    """
    if not isinstance(iou_threshold, int | float) or not 0 < iou_threshold <= 1:
        raise ValueError(f"iou_threshold: expected a number in (0, 1], got {iou_threshold!r}")
    iou, true_ids, pred_ids = iou_matrix(true_labels, pred_labels)
    n_true, n_pred = len(true_ids), len(pred_ids)
    matched = np.zeros(0)
    if n_true and n_pred:
        eligible = iou >= iou_threshold
        # ineligible pairs get a cost no eligible assignment can beat, then are discarded
        cost = np.where(eligible, -iou, 1.0)
        rows, cols = linear_sum_assignment(cost)
        good = eligible[rows, cols]
        matched = iou[rows[good], cols[good]]
    tp = len(matched)
    fp = n_pred - tp
    fn = n_true - tp
    precision = tp / (tp + fp) if tp + fp else 1.0 if fn == 0 else 0.0
    recall = tp / (tp + fn) if tp + fn else 1.0 if fp == 0 else 0.0
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0
    average_precision = tp / (tp + fp + fn) if tp + fp + fn else 1.0
    return MatchResult(
        tp=tp,
        fp=fp,
        fn=fn,
        precision=float(precision),
        recall=float(recall),
        f1=float(f1),
        average_precision=float(average_precision),
        mean_matched_iou=float(matched.mean()) if tp else 0.0,
        iou_threshold=float(iou_threshold),
    )


def binary_iou(true_labels: npt.ArrayLike, pred_labels: npt.ArrayLike) -> float:
    """IoU of the foregrounds (label > 0), ignoring object identities.

    Examples
    --------
    >>> import numpy as np
    >>> binary_iou(np.array([1, 1, 0, 0]), np.array([0, 3, 3, 0]))
    0.3333333333333333
    """
    true = _as_labels("true_labels", true_labels) > 0
    pred = _as_labels("pred_labels", pred_labels) > 0
    if true.shape != pred.shape:
        raise ValueError(f"pred_labels: shape {pred.shape} differs from true_labels {true.shape}")
    union = np.logical_or(true, pred).sum()
    return float(np.logical_and(true, pred).sum() / union) if union else 1.0
