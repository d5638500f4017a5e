"""Instance-segmentation accuracy: optimal one-to-one matching of objects by IoU."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

__all__ = ["IOU_MATRIX_MAX", "MatchResult", "binary_iou", "iou_matrix", "match_instances"]

IOU_MATRIX_MAX = 1 << 25
"""Most entries (true objects x predicted objects) :func:`iou_matrix` returns (256 MB)."""


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


def _unique_inverse(
    labels: npt.NDArray[np.integer[Any]],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.intp]]:
    """``np.unique(labels, return_inverse=True)`` for labels >= 0, flattened; in linear time
    through a lookup table when the largest label is not much bigger than the image."""
    flat = labels.ravel()
    if flat.size and int(flat.max()) <= 4 * flat.size + 1024:
        present = np.bincount(flat) > 0
        lookup = np.cumsum(present) - 1
        return np.flatnonzero(present).astype(np.int64), lookup[flat]
    ids, inverse = np.unique(flat, return_inverse=True)
    return ids.astype(np.int64), inverse.ravel()


def _overlaps(
    true: npt.NDArray[np.integer[Any]], pred: npt.NDArray[np.integer[Any]]
) -> tuple[
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.intp],
    npt.NDArray[np.intp],
    npt.NDArray[np.float64],
]:
    """Object ids and the IoU of every *overlapping* (true, pred) pair of foreground objects.

    Memory and time grow with the number of pixels, never with ``n_true * n_pred``: the joint
    histogram is dense only while it is no bigger than a few times the image.
    """
    if true.shape != pred.shape:
        raise ValueError(
            f"pred_labels: shape {pred.shape} differs from true_labels {true.shape}; "
            "compare label images of the same frame"
        )
    true_ids, true_index = _unique_inverse(true)
    pred_ids, pred_index = _unique_inverse(pred)
    n_pred = len(pred_ids)
    joint = true_index.ravel().astype(np.int64) * n_pred + pred_index.ravel()
    true_area = np.bincount(true_index.ravel(), minlength=len(true_ids))
    pred_area = np.bincount(pred_index.ravel(), minlength=n_pred)
    if len(true_ids) * n_pred <= 4 * joint.size + 1024:
        # dense joint histogram in one pass (the common case: far fewer objects than pixels)
        dense = np.bincount(joint, minlength=len(true_ids) * n_pred)
        pairs = np.flatnonzero(dense)
        counts = dense[pairs]
    else:
        pairs, counts = np.unique(joint, return_counts=True)
    rows, cols = np.divmod(pairs, n_pred)
    foreground = (true_ids[rows] > 0) & (pred_ids[cols] > 0)
    rows, cols, counts = rows[foreground], cols[foreground], counts[foreground]
    iou = counts / (true_area[rows] + pred_area[cols] - counts)
    keep_true = np.flatnonzero(true_ids > 0)
    keep_pred = np.flatnonzero(pred_ids > 0)
    # renumber rows/cols to the foreground objects only
    row_of = np.searchsorted(keep_true, rows)
    col_of = np.searchsorted(keep_pred, cols)
    return (
        true_ids[keep_true].astype(np.int64),
        pred_ids[keep_pred].astype(np.int64),
        row_of,
        col_of,
        iou.astype(np.float64),
    )


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
    true_ids, pred_ids, rows, cols, values = _overlaps(true, pred)
    if len(true_ids) * len(pred_ids) > IOU_MATRIX_MAX:
        raise ValueError(
            f"iou_matrix: {len(true_ids)} true x {len(pred_ids)} predicted objects is more than "
            f"{IOU_MATRIX_MAX} pairs to hold densely; are both label images (not intensity "
            "images)? match_instances scores any number of objects"
        )
    iou = np.zeros((len(true_ids), len(pred_ids)))
    iou[rows, cols] = values
    return iou, true_ids, pred_ids


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
    true = _as_labels("true_labels", true_labels)
    pred = _as_labels("pred_labels", pred_labels)
    true_ids, pred_ids, rows, cols, values = _overlaps(true, pred)
    n_true, n_pred = len(true_ids), len(pred_ids)
    eligible = values >= iou_threshold
    matched = _best_matching(rows[eligible], cols[eligible], values[eligible], n_true)
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


def _best_matching(
    rows: npt.NDArray[np.intp],
    cols: npt.NDArray[np.intp],
    iou: npt.NDArray[np.float64],
    n_true: int,
) -> npt.NDArray[np.float64]:
    """IoUs of the optimal one-to-one matching over the eligible (row, col) pairs.

    The same optimum as a Hungarian assignment on the full matrix where ineligible pairs cost
    1 and eligible ones ``-iou``, solved per connected group of eligible pairs: objects that
    share no eligible pair cannot influence each other, and most groups are a single pair
    (above an IoU of 0.5 every object has at most one eligible partner).
    """
    if len(rows) == 0:
        return np.zeros(0)
    n_cols = int(cols.max()) + 1
    graph = coo_matrix((np.ones(len(rows)), (rows, n_true + cols)), shape=(n_true + n_cols,) * 2)
    _, group = connected_components(graph, directed=False)
    edge_group = group[rows]
    order = np.argsort(edge_group, kind="stable")
    bounds = np.flatnonzero(np.diff(edge_group[order])) + 1
    matched: list[float] = []
    for edges in np.split(order, bounds):
        if len(edges) == 1:
            matched.append(float(iou[edges[0]]))
            continue
        r_ids, r = np.unique(rows[edges], return_inverse=True)
        c_ids, c = np.unique(cols[edges], return_inverse=True)
        cost = np.ones((len(r_ids), len(c_ids)))
        cost[r, c] = -iou[edges]
        best_r, best_c = linear_sum_assignment(cost)
        good = cost[best_r, best_c] < 0
        matched.extend((-cost[best_r[good], best_c[good]]).tolist())
    return np.asarray(matched, dtype=np.float64)


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
