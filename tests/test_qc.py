"""Sample QC at export: flags, Celldetective-style auto-correction, refuse-and-report."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tifffile

import segpaint
from segpaint.io.qc import QCError, check_mask, correct_mask, qc_sample


def _mask() -> np.ndarray:
    m = np.zeros((30, 30), np.uint16)
    m[2:8, 2:8] = 1  # a clean square
    m[12:18, 2:8] = 2  # label 2 in two pieces...
    m[12:18, 20:26] = 2
    m[25, 25] = 3  # a 1-px speck
    m[2:10, 15:23] = 4  # a ring: label 4 with a hole
    m[5:7, 18:20] = 0
    return m


def test_check_mask_flags_each_problem():
    report = check_mask(_mask())
    assert report["flags"] == ["disjoint", "specks", "holes"]
    assert report["disjoint"] == [2]
    assert report["specks"] == [3]
    assert report["holes"] == [4]
    assert report["n_objects"] == 4


def test_check_mask_empty_and_cut_by_roi():
    assert check_mask(np.zeros((5, 5), np.uint8))["flags"] == ["empty"]
    frame = np.zeros((40, 40), np.uint16)
    frame[10:20, 10:20] = 5  # crosses the ROI's top side
    frame[25:30, 25:30] = 6  # inside
    crop = frame[15:35, 5:35]
    report = check_mask(crop, roi=(15, 35, 5, 35), frame_labels=frame)
    assert report["cut_by_roi"] == [5]
    # without the frame: touching an inner side counts, the frame border does not
    edge = np.zeros((10, 10), np.uint8)
    edge[0, 3] = 1  # top side, inner (row0 > 0)
    edge[5, 0] = 2  # left side, but col0 == 0 is the frame border
    report = check_mask(edge, roi=(5, 15, 0, 10), frame_shape=(40, 40), min_area=1)
    assert report["cut_by_roi"] == [1]


def test_check_mask_overlap_with_earlier_sample():
    report = check_mask(
        np.ones((10, 10), np.uint8), roi=(0, 10, 0, 10), earlier=[("a", (5, 15, 5, 15))]
    )
    assert report["overlaps_sample"] == [{"sample": "a", "overlap": 0.25}]
    assert "overlaps_sample" in report["flags"]


def test_correct_mask_splits_pieces_and_drops_specks():
    mask = _mask()
    out, changes = correct_mask(mask)
    assert changes["split"] == {"2": [5]}
    assert changes["removed"] == {"3": 1}
    assert changes["pixels_removed"] == 1 and changes["changed"]
    assert out[25, 25] == 0
    assert set(np.unique(out[12:18, 2:8])) == {2}
    assert set(np.unique(out[12:18, 20:26])) == {5}
    np.testing.assert_array_equal(out[2:8, 2:8], 1)  # untouched
    assert mask[25, 25] == 3  # input not modified


def test_correct_mask_drops_stray_piece_of_a_cell():
    mask = np.zeros((20, 20), np.uint8)
    mask[2:10, 2:10] = 1
    mask[15, 15] = 1  # a 1-px stray bit of label 1
    out, changes = correct_mask(mask)
    assert changes == {
        "split": {},
        "removed": {"1": 1},
        "pixels_removed": 1,
        "changed": True,
        "min_area": 9,
    }
    assert out[15, 15] == 0 and (out[2:10, 2:10] == 1).all()


def test_qc_sample_refuse_reports_labels():
    with pytest.raises(QCError, match=r"disjoint label\(s\) \[2\] and specks label\(s\) \[3\]"):
        qc_sample(_mask(), auto_correct="refuse")
    with pytest.raises(ValueError, match="auto_correct: expected True, False or 'refuse'"):
        qc_sample(_mask(), auto_correct="yes")  # type: ignore[arg-type]
    mask, report, changes = qc_sample(_mask(), auto_correct=False)
    np.testing.assert_array_equal(mask, _mask())
    assert changes == {"mode": "off", "changed": False}
    assert report["flags_after"] == report["flags"]


@pytest.fixture
def session(experiment):
    s = segpaint.open(experiment)
    s.paint("targets", 1, [(20, 20)], radius=5, label=4)
    s.paint("targets", 1, [(20, 45)], radius=5, label=4)  # label 4 again, a separate blob
    s.paint("targets", 1, [(40, 30)], radius=0.5, label=9)  # 1-px speck
    return s


def test_export_auto_corrects_and_records_it(session, experiment):
    roi = session.add_roi(1, rows=(5, 50), cols=(5, 60))
    paths = session.export_roi("targets", roi)
    meta = json.loads(paths[2].read_text())
    assert meta["qc"]["flags"] == ["disjoint", "specks"]
    assert meta["qc"]["flags_after"] == []
    assert meta["auto_correct"]["mode"] == "on"
    assert meta["auto_correct"]["split"] == {"4": [10]}
    assert meta["auto_correct"]["removed"] == {"9": 1}
    mask = tifffile.imread(paths[1])
    assert meta["n_labels"] == 2 and int(mask.max()) == 2  # two blobs, no speck
    (pr, _), (pc, _) = meta["padding"]
    crop = mask[pr : pr + 45, pc : pc + 55]
    assert crop[20 - 5, 20 - 5] != crop[20 - 5, 45 - 5]
    assert crop[40 - 5, 30 - 5] == 0
    # the session's own labels are not changed by the export
    assert int(np.asarray(session.labels("targets", 1))[40, 30]) == 9


def test_export_refuse_writes_nothing(session, experiment):
    roi = session.add_roi(1, rows=(5, 50), cols=(5, 60))
    with pytest.raises(QCError, match=r"disjoint label\(s\) \[4\]"):
        session.export_roi("targets", roi, auto_correct="refuse")
    assert not (experiment / "annotations_targets").exists() or not any(
        (experiment / "annotations_targets").iterdir()
    )


def test_export_flags_overlap_and_cut(session):
    whole = session.add_roi(1, rows=(0, 30), cols=(0, 30))
    meta = json.loads(session.export_roi("targets", whole)[2].read_text())
    assert meta["qc"]["cut_by_roi"] == []  # label 4's other blob is elsewhere, not cut off
    first = session.add_roi(1, rows=(0, 30), cols=(0, 22))
    meta = json.loads(session.export_roi("targets", first)[2].read_text())
    assert meta["qc"]["cut_by_roi"] == [4]  # the ROI's right edge crosses the blob at (20, 20)
    second = session.add_roi(1, rows=(10, 40), cols=(10, 40))
    meta = json.loads(session.export_roi("targets", second)[2].read_text())
    assert meta["qc"]["overlaps_sample"] == [
        {"sample": "MyExp_100_0001_roi_0_30_0_30", "overlap": round(400 / 900, 4)},
        {"sample": "MyExp_100_0001_roi_0_30_0_22", "overlap": round(240 / 900, 4)},
    ]
    assert "overlaps_sample" in meta["qc"]["flags_after"]
    # another frame does not overlap
    third = session.add_roi(2, rows=(10, 40), cols=(10, 40))
    with pytest.warns(UserWarning, match="empty mask"):
        meta = json.loads(session.export_roi("targets", third)[2].read_text())
    assert meta["qc"]["overlaps_sample"] == []
    assert meta["qc"]["flags"] == ["empty"]
