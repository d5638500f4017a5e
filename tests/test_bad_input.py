"""Bad input gets an error that names the parameter and the fix, and leaves the data untouched."""

from __future__ import annotations

import numpy as np
import pytest

import segpaint
from segpaint.io import StackError


@pytest.fixture
def session(stack):
    s = segpaint.open(stack, pixel_size_um=0.5)
    s.paint("cells", 0, [(10, 10)], radius=3, label=1)
    return s


def _unchanged(session, before):
    np.testing.assert_array_equal(np.asarray(session.labels("cells")), before)


@pytest.mark.parametrize(
    ("labels", "match"),
    [
        (np.full((64, 80), 0.5), "fractional values"),
        (np.full((64, 80), -1), "negative values"),
        (np.full((64, 80), np.nan), "NaN"),
        (np.zeros((64, 81)), r"labels must have shape \(64, 80\)"),
        (np.zeros((3, 64, 80)), r"labels must have shape \(64, 80\)"),
        (np.full((64, 80), 2**33), "above the uint32 label range"),
        (np.full((64, 80), "a"), "integer array of labels"),
    ],
)
def test_bad_label_images(session, labels, match):
    before = np.asarray(session.labels("cells")).copy()
    with pytest.raises((ValueError, TypeError), match=match):
        session.set_labels("cells", 0, labels)
    _unchanged(session, before)


def test_bad_initial_labels(stack):
    with pytest.raises(
        ValueError, match=r"labels\['cells'\] has shape \(64, 80\); expected \(3, 64, 80\)"
    ):
        segpaint.open(stack, labels={"cells": np.zeros((64, 80))})
    with pytest.raises(ValueError, match="negative"):
        segpaint.open(stack, labels={"cells": -np.ones((3, 64, 80))})


def test_label_above_range(session):
    with pytest.raises(ValueError, match=r"label=4294967296 is outside the range of uint32 labels"):
        session.paint("cells", 0, [(10, 10)], 2, 2**32)
    with pytest.raises(TypeError, match="label must be a non-negative integer"):
        session.paint("cells", 0, [(10, 10)], 2, 1.5)


def test_nan_image():
    with pytest.raises(StackError, match="NaN values; replace them first"):
        segpaint.open(np.full((2, 8, 8), np.nan), axes="TYX")


def test_wrong_dimensions():
    with pytest.raises(StackError, match="cannot read an image with 1 dimensions"):
        segpaint.open(np.zeros(10))
    with pytest.raises(StackError, match="6 dimensions"):
        segpaint.open(np.zeros((1, 1, 1, 1, 4, 4)))


@pytest.mark.parametrize(
    ("rows", "cols", "match"),
    [
        ((10, 10), (0, 5), "empty or reversed"),
        ((20, 10), (0, 5), "empty or reversed"),
        ((100, 200), (0, 5), "lies outside the 64x80 image"),
        (("a", 3), (0, 5), "rows and cols must be"),
    ],
)
def test_bad_roi(session, rows, cols, match):
    with pytest.raises((ValueError, TypeError), match=match):
        session.add_roi(0, rows=rows, cols=cols)
    assert session.rois() == []


def test_frame_out_of_range(session):
    with pytest.raises(IndexError, match=r"frame=7 is out of range: the stack has 3 frame\(s\)"):
        session.paint("cells", 7, [(1, 1)], 2, 1)
    with pytest.raises(IndexError, match="out of range"):
        session.image(3)


def test_unknown_population(session):
    with pytest.raises(
        KeyError, match=r"unknown population 'nuclei'.*session.add_population\('nuclei'\)"
    ):
        session.labels("nuclei")


@pytest.mark.parametrize("name", ["../evil", "a/b", "..", "Targets", "", "with space"])
def test_population_names_are_never_paths(session, name, tmp_path):
    with pytest.raises(ValueError, match="is not allowed: use lowercase letters"):
        session.add_population(name)
    with pytest.raises(ValueError, match="is not allowed"):
        session.labels(name)
    roi = session.add_roi(0, rows=(0, 8), cols=(0, 8))
    with pytest.raises(ValueError, match="is not allowed"):
        session.export_roi(name, roi, folder=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_bad_export_format(session, tmp_path):
    roi = session.add_roi(0, rows=(0, 8), cols=(0, 8))
    with pytest.raises(ValueError, match="format='tiff' is not known; use one of celldetective"):
        session.export_roi("cells", roi, format="tiff", folder=tmp_path)
    with pytest.raises(TypeError, match="roi must be an ROI from session.add_roi"):
        session.export_roi("cells", (0, 8, 0, 8), folder=tmp_path)  # type: ignore[arg-type]


def test_channel_names_length(stack):
    with pytest.raises(ValueError, match="channel_names has 3 names but the stack has 2"):
        segpaint.open(stack, channel_names=["a", "b", "c"])


def test_bad_pixel_size(stack):
    with pytest.raises(ValueError, match="pixel_size_um must be a positive number"):
        segpaint.open(stack, pixel_size_um=-1)


def test_bad_source_type():
    with pytest.raises(TypeError, match="wrap lists with np.asarray"):
        segpaint.open([[1, 2], [3, 4]])
    with pytest.raises(TypeError, match="source must be a numpy array"):
        segpaint.open(42)


def test_failing_change_callback_does_not_lose_the_edit(session):
    def broken(population, frame, bbox):
        raise ZeroDivisionError("bug in a callback")

    session.on_change(broken)
    with pytest.raises(RuntimeError, match="on_change callback failed after the edit was applied"):
        session.paint("cells", 0, [(40, 40)], 2, 5)
    assert session.labels("cells", 0)[40, 40] == 5
    assert session.can_undo
