"""Quality checks and automatic correction of a training sample's mask, run at export.

What is checked (each becomes a flag in the sample's sidecar, under ``"qc"``):

``empty``
    the crop holds no object;
``disjoint``
    one label is made of several separate pieces (8-connectivity);
``specks``
    objects smaller than ``min_area`` pixels;
``holes``
    objects with background enclosed inside them;
``cut_by_roi``
    objects that continue outside the ROI (the crop cuts them), not counting the frame border;
``overlaps_sample``
    the ROI overlaps an ROI already exported from the same frame of the same image.

Celldetective cleans every mask before export (its ``auto_correct_masks``: separate pieces of
one label become labels of their own, objects under 9 px are dropped).  `correct_mask` does
the same here and reports exactly what it changed, so the change can be recorded beside the
sample; ``auto_correct="refuse"`` reports the problem as an error instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from scipy import ndimage as ndi

from segpaint.ops import BBox, as_label_image

__all__ = [
    "MIN_AREA",
    "QC_FLAGS",
    "QCError",
    "check_mask",
    "correct_mask",
    "earlier_rois",
    "qc_sample",
]

MIN_AREA = 9
"""Objects smaller than this (pixels) are specks, as in Celldetective's ``auto_correct_masks``."""

QC_FLAGS: tuple[str, ...] = (
    "empty",
    "disjoint",
    "specks",
    "holes",
    "cut_by_roi",
    "overlaps_sample",
)
AutoCorrect = bool | Literal["refuse"]
_EIGHT = np.ones((3, 3), dtype=bool)


class QCError(ValueError):
    """A sample refused by quality control (``auto_correct="refuse"``)."""


def _pieces(mask: npt.NDArray[np.bool_]) -> tuple[npt.NDArray[np.int32], int]:
    pieces, n = ndi.label(mask, structure=_EIGHT)
    return pieces, int(n)


def _label_boxes(labels: npt.NDArray[Any]) -> dict[int, tuple[slice, slice]]:
    boxes: dict[int, tuple[slice, slice]] = {}
    for index, box in enumerate(ndi.find_objects(labels), start=1):
        if box is not None:
            boxes[index] = (box[0], box[1])
    return boxes


def check_mask(
    labels: npt.ArrayLike,
    *,
    min_area: int = MIN_AREA,
    roi: BBox | None = None,
    frame_labels: npt.ArrayLike | None = None,
    frame_shape: tuple[int, int] | None = None,
    earlier: Iterable[tuple[str, BBox]] = (),
) -> dict[str, Any]:
    """Check one sample's mask and return the QC record stored in its sidecar.

    Parameters
    ----------
    labels : array_like of int, shape (Y, X)
        The crop's mask, 0 is background.
    min_area : int, keyword-only
        Objects under this many pixels are specks.
    roi : (row0, row1, col0, col1), keyword-only, optional
        Where the crop lies in its frame (for ``cut_by_roi`` and ``overlaps_sample``).
    frame_labels : array_like of int, shape of the frame, keyword-only, optional
        The whole frame's labels: an object is cut when it has pixels outside the ROI.  Without
        it, an object touching an ROI side that is not the frame border counts as cut.
    frame_shape : (int, int), keyword-only, optional
        The frame's shape, when ``frame_labels`` is not given.
    earlier : iterable of (name, roi), keyword-only
        ROIs already exported from the same frame; overlapping ones are listed.

    Returns
    -------
    dict
        ``{"flags": [...], "n_objects": N, "disjoint": [labels], "specks": [labels],
        "holes": [labels], "cut_by_roi": [labels], "overlaps_sample": [{"sample", "overlap"}]}``
        where ``flags`` names every check that found something, in `QC_FLAGS` order and
        ``overlap`` is the fraction of this ROI's area covered by the earlier one.

    Examples
    --------
    >>> mask = np.zeros((8, 8), np.uint16)
    >>> mask[1:4, 1:4] = 1
    >>> mask[6, 6] = 1
    >>> check_mask(mask)["flags"]
    ['disjoint', 'specks']
    """
    arr = as_label_image(labels, name="labels")
    if arr.ndim != 2:
        raise ValueError(f"labels: expected a (Y, X) mask, got shape {arr.shape}")
    report: dict[str, Any] = {"n_objects": 0}
    boxes = _label_boxes(arr)
    report["n_objects"] = len(boxes)
    disjoint: list[int] = []
    specks: list[int] = []
    holes: list[int] = []
    for value, box in boxes.items():
        mask = arr[box] == value
        pieces, n = _pieces(mask)
        if n > 1:
            disjoint.append(value)
        sizes = np.bincount(pieces.ravel())[1:]
        if (sizes < min_area).any():
            specks.append(value)
        padded = np.pad(mask, 1)
        if (ndi.binary_fill_holes(padded) & ~padded).any():
            holes.append(value)
    report["disjoint"] = disjoint
    report["specks"] = specks
    report["holes"] = holes
    report["cut_by_roi"] = _cut_labels(arr, boxes, roi, frame_labels, frame_shape)
    report["overlaps_sample"] = _overlaps(roi, earlier)
    flags = ["empty"] if not boxes else []
    flags += [name for name in QC_FLAGS[1:] if report[name]]
    report["flags"] = flags
    report["min_area"] = int(min_area)
    return report


def _cut_labels(
    arr: npt.NDArray[Any],
    boxes: dict[int, tuple[slice, slice]],
    roi: BBox | None,
    frame_labels: npt.ArrayLike | None,
    frame_shape: tuple[int, int] | None,
) -> list[int]:
    if roi is None or not boxes:
        return []
    if frame_labels is not None:
        # A cell is cut when a pixel on the crop's edge has the same label just outside it:
        # only the one-pixel ring around the ROI is read, never the whole frame.
        frame = np.asarray(frame_labels)
        r0, r1, c0, c1 = roi
        h, w = frame.shape
        pairs = []
        if r0 > 0:
            pairs.append((arr[0, :], frame[r0 - 1, c0:c1]))
        if r1 < h:
            pairs.append((arr[-1, :], frame[r1, c0:c1]))
        if c0 > 0:
            pairs.append((arr[:, 0], frame[r0:r1, c0 - 1]))
        if c1 < w:
            pairs.append((arr[:, -1], frame[r0:r1, c1]))
        found: set[int] = set()
        for edge, beyond in pairs:
            same = (edge == beyond) & (edge > 0)
            found.update(int(v) for v in np.unique(edge[same]))
        return sorted(found)
    row0, row1, col0, col1 = roi
    rows, cols = frame_shape if frame_shape is not None else (row1, col1)
    cut: set[int] = set()
    sides = [
        (row0 > 0, arr[0, :]),
        (row1 < rows, arr[-1, :]),
        (col0 > 0, arr[:, 0]),
        (col1 < cols, arr[:, -1]),
    ]
    for inner, line in sides:
        if inner:
            cut.update(int(v) for v in np.unique(line) if v)
    return sorted(cut)


def _overlaps(roi: BBox | None, earlier: Iterable[tuple[str, BBox]]) -> list[dict[str, Any]]:
    if roi is None:
        return []
    row0, row1, col0, col1 = roi
    area = max(1, (row1 - row0) * (col1 - col0))
    found = []
    for name, (r0, r1, c0, c1) in earlier:
        rows = min(row1, r1) - max(row0, r0)
        cols = min(col1, c1) - max(col0, c0)
        if rows > 0 and cols > 0:
            found.append({"sample": name, "overlap": round(rows * cols / area, 4)})
    return found


def correct_mask(
    labels: npt.ArrayLike, *, min_area: int = MIN_AREA
) -> tuple[npt.NDArray[np.uint32], dict[str, Any]]:
    """Split labels made of separate pieces and drop objects under ``min_area`` pixels.

    The largest piece of a split label keeps its value; the other pieces get new labels above
    the current maximum.  Pieces smaller than ``min_area`` (8-connected) are removed, whether
    they were stray bits of a larger cell or whole specks.

    Parameters
    ----------
    labels : array_like of int, shape (Y, X)
    min_area : int, keyword-only
        Smallest object kept, in pixels (Celldetective: 9).

    Returns
    -------
    corrected : ndarray of uint32
        A new array; the input is not modified.
    changes : dict
        ``{"split": {label: [new labels]}, "removed": {label: pixels}, "pixels_removed": n,
        "changed": bool, "min_area": min_area}``.

    Examples
    --------
    >>> mask = np.zeros((6, 10), np.uint16)
    >>> mask[1:4, 1:4] = 1
    >>> mask[1:4, 6:9] = 1
    >>> mask[5, 0] = 2
    >>> out, changes = correct_mask(mask)
    >>> sorted(np.unique(out).tolist()), changes["split"], changes["removed"]
    ([0, 1, 3], {'1': [3]}, {'2': 1})
    """
    if isinstance(min_area, bool) or not isinstance(min_area, int | np.integer) or min_area < 0:
        raise ValueError(f"min_area: expected an int >= 0 (e.g. 9), got {min_area!r}")
    arr = as_label_image(labels, name="labels")
    if arr.ndim != 2:
        raise ValueError(f"labels: expected a (Y, X) mask, got shape {arr.shape}")
    out = np.array(arr, dtype=np.uint32)
    top = int(out.max()) if out.size else 0
    split: dict[str, list[int]] = {}
    removed: dict[str, int] = {}
    for value, box in _label_boxes(arr).items():
        region = out[box]
        mask = arr[box] == value
        pieces, n = _pieces(mask)
        sizes = np.bincount(pieces.ravel())
        sizes[0] = 0
        biggest = int(np.argmax(sizes))
        for piece in range(1, n + 1):
            where = pieces == piece
            if sizes[piece] < min_area:
                region[where] = 0
                removed[str(value)] = removed.get(str(value), 0) + int(sizes[piece])
            elif piece != biggest:
                top += 1
                region[where] = top
                split.setdefault(str(value), []).append(top)
    changes: dict[str, Any] = {
        "split": split,
        "removed": removed,
        "pixels_removed": int(sum(removed.values())),
        "changed": bool(split or removed),
        "min_area": int(min_area),
    }
    return out, changes


def qc_sample(
    labels: npt.ArrayLike,
    *,
    auto_correct: AutoCorrect = True,
    min_area: int = MIN_AREA,
    roi: BBox | None = None,
    frame_labels: npt.ArrayLike | None = None,
    frame_shape: tuple[int, int] | None = None,
    earlier: Sequence[tuple[str, BBox]] = (),
) -> tuple[npt.NDArray[np.uint32], dict[str, Any], dict[str, Any]]:
    """QC a sample's mask, correct it as asked, and return ``(mask, qc, auto_correct)``.

    Parameters
    ----------
    labels : array_like of int, shape (Y, X)
    auto_correct : bool or "refuse", keyword-only
        ``True`` (default): split disjoint labels and drop specks (`correct_mask`); ``False``:
        export as drawn, only flag; ``"refuse"``: raise `QCError` naming the labels to fix.
    min_area, roi, frame_labels, frame_shape, earlier
        See `check_mask`.

    Returns
    -------
    mask : ndarray of uint32
        The mask to export (corrected when ``auto_correct=True``).
    qc : dict
        `check_mask` of the mask as drawn (``"flags"`` etc.), plus ``"flags_after"``: the
        flags still true of the exported mask.
    auto_correct : dict
        ``{"mode": ..., "changed": bool, ...}``: what `correct_mask` changed (empty when off).
    """
    if auto_correct not in (True, False, "refuse"):
        raise ValueError(
            f"auto_correct: expected True, False or 'refuse', got {auto_correct!r}; True splits "
            "disjoint labels and drops specks, 'refuse' reports them as an error"
        )
    context: dict[str, Any] = {
        "min_area": min_area,
        "roi": roi,
        "frame_labels": frame_labels,
        "frame_shape": frame_shape,
        "earlier": earlier,
    }
    report = check_mask(labels, **context)
    mode = "refuse" if auto_correct == "refuse" else ("on" if auto_correct else "off")
    if auto_correct == "refuse":
        problems = [
            f"{name} label(s) {report[name]}" for name in ("disjoint", "specks") if report[name]
        ]
        if problems:
            raise QCError(
                "the mask has " + " and ".join(problems) + f" (objects under {min_area} px are "
                "specks); fix them (fill-bucket a speck with 0, give each piece its own label) or "
                "export with auto_correct=True to split pieces and drop specks automatically"
            )
    if auto_correct is True:
        mask, changes = correct_mask(labels, min_area=min_area)
        after = report["flags"]
        if changes["changed"]:
            # cut/overlap depend on the ROI, not on the correction: keep them as found
            redo = check_mask(mask, min_area=min_area)
            redo.update({k: report[k] for k in ("cut_by_roi", "overlaps_sample")})
            after = (["empty"] if not redo["n_objects"] else []) + [
                name for name in QC_FLAGS[1:] if redo[name]
            ]
    else:
        mask = np.array(as_label_image(labels, name="labels"), dtype=np.uint32)
        changes = {"changed": False}
        after = report["flags"]
    report["flags_after"] = after
    return mask, report, {"mode": mode, **changes}


def earlier_rois(
    sidecars: Iterable[Path], *, source: str, frame: int, exclude: str | None = None
) -> list[tuple[str, BBox]]:
    """ROIs of the samples (sidecar files) cut from the same ``source`` and ``frame``.

    Unreadable sidecars and samples without an ROI are skipped; ``exclude`` is a stem (the
    sample being re-exported).
    """
    import json

    found: list[tuple[str, BBox]] = []
    for path in sidecars:
        if path.stem == exclude:
            continue
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
            r = meta["roi"]
            if meta.get("source") != source or int(meta.get("frame", -1)) != frame:
                continue
            box = (int(r["row0"]), int(r["row1"]), int(r["col0"]), int(r["col1"]))
        except (OSError, ValueError, KeyError, TypeError):
            continue
        found.append((path.stem, box))
    return found
