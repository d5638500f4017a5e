"""SampleGallery: cards, filters, exclude/include, open in an Annotator, coverage (Python side)."""

from __future__ import annotations

import io
import json

import imageio.v3 as iio
import numpy as np
import pytest

import segpaint
from segpaint.io.samples import sample_coverage


@pytest.fixture
def exported(experiment):
    s = segpaint.open(experiment)
    s.paint("targets", 0, [(20, 20)], radius=5, label=1)
    s.paint("targets", 0, [(30, 60)], radius=0.5, label=2)  # a speck: QC flags it
    s.paint("targets", 1, [(20, 20)], radius=5, label=1)
    s.export_roi("targets", s.add_roi(0, rows=(0, 40), cols=(0, 70)), auto_correct=False)
    s.export_roi("targets", s.add_roi(1, rows=(10, 40), cols=(10, 40)))
    return s, experiment


def test_cards_show_every_sample_with_outlines(exported):
    session, experiment = exported
    gallery = segpaint.SampleGallery(experiment, session=session)
    assert [r["sample"] for r in gallery.rows] == [
        "MyExp_100_0000_roi_0_40_0_70",
        "MyExp_100_0001_roi_10_40_10_40",
    ]
    assert len(gallery.cards.children) == 2
    image = gallery.cards.children[0].children[0]
    thumb = iio.imread(io.BytesIO(image.value))
    assert thumb.shape == (40, 70, 3)  # the crop, unpadded
    green = (thumb == [0, 255, 0]).all(axis=2)
    assert green[20 - 5, 20] and not green[20, 20]  # the outline of label 1, not its inside
    caption = gallery.cards.children[0].children[1].value
    assert "W1/100 · frame 0" in caption and "specks" in caption
    assert gallery.status.value == "2 of 2 sample(s) shown"


def test_filters_by_flag_population_and_excluded(exported):
    session, experiment = exported
    gallery = segpaint.SampleGallery(experiment, population="targets", session=session)
    assert gallery.population.value == "targets"
    gallery.set_filter(flag="specks")
    assert [r["frame"] for r in gallery.rows] == [0]
    gallery.set_filter(flag="(all)", position="W1/100")
    assert len(gallery.rows) == 2
    with pytest.raises(ValueError, match="population: 'effectors' is not among"):
        gallery.set_filter(population="effectors")
    row = gallery.exclude("MyExp_100_0000_roi_0_40_0_70")
    assert row["excluded"] is True
    side = experiment / "annotations_targets" / "MyExp_100_0000_roi_0_40_0_70.json"
    assert json.loads(side.read_text())["excluded"] is True
    assert side.with_suffix(".tif").is_file()  # nothing deleted
    gallery.set_filter(show_excluded=False)
    assert [r["frame"] for r in gallery.rows] == [1]
    gallery.set_filter(show_excluded=True)
    gallery.include("MyExp_100_0000_roi_0_40_0_70")
    assert json.loads(side.read_text())["excluded"] is False
    with pytest.raises(KeyError, match="no sample named 'nope'"):
        gallery.exclude("nope")


def test_exclude_button_updates_the_sidecar(exported):
    session, experiment = exported
    gallery = segpaint.SampleGallery(experiment, session=session)
    toggle = gallery.cards.children[1].children[2].children[0]
    assert toggle.description == "exclude"
    toggle.click()
    assert segpaint.samples(experiment)[1]["excluded"] is True
    assert gallery.cards.children[1].children[2].children[0].description == "include"


def test_open_gives_an_annotator_on_the_sample(exported):
    session, experiment = exported
    gallery = segpaint.SampleGallery(experiment, session=session)
    annotator = gallery.open_sample("MyExp_100_0001_roi_10_40_10_40")
    assert annotator.session.shape == (1, 2, 30, 30)
    labels = np.asarray(annotator.session.labels("targets", 0))
    expected = np.asarray(session.labels("targets", 1))[10:40, 10:40] > 0
    np.testing.assert_array_equal(labels > 0, expected)
    assert gallery.last_annotator is annotator


def test_coverage_lists_what_is_not_sampled(exported):
    session, experiment = exported
    gallery = segpaint.SampleGallery(experiment, session=session, grid=2)
    cov = gallery.coverage
    assert cov["frames"] == {0: 1, 1: 1}
    assert cov["frames_not_sampled"] == [2]
    assert cov["positions"] == {"W1/100": 2}
    assert cov["field"] == [64, 80] and cov["inferred"] is False
    # quadrants of 64x80 split at row 32, col 40: frame 0's ROI (rows 0-40, cols 0-70) touches
    # all four; frame 1's (rows 10-40, cols 10-40, half-open) the two on the left
    assert cov["regions"] == [[2, 1], [2, 1]]
    assert cov["regions_not_sampled"] == []
    assert "frames not sampled</td><td>2<" in gallery.coverage_table.value
    picture = iio.imread(io.BytesIO(gallery.coverage_image.value))
    assert picture.ndim == 3 and picture.shape[2] == 3


def test_sample_coverage_counts_only_included_samples():
    rows = [
        {"frame": 0, "roi": [0, 10, 0, 10], "well": "W1", "position": "1"},
        {"frame": 3, "roi": [50, 60, 50, 60], "well": "W1", "position": "2", "excluded": True},
    ]
    cov = sample_coverage(rows, n_frames=4, frame_shape=(60, 60), grid=3)
    assert cov["frames"] == {0: 1} and cov["frames_not_sampled"] == [1, 2, 3]
    assert cov["positions"] == {"W1/1": 1}
    assert len(cov["regions_not_sampled"]) == 8
    with pytest.raises(ValueError, match="grid: expected an int >= 1"):
        sample_coverage(rows, grid=0)


def test_open_fix_and_save_a_new_version(exported):
    session, experiment = exported
    gallery = segpaint.SampleGallery(experiment, session=session)
    with pytest.raises(RuntimeError, match="nothing is open"):
        gallery.save_version()
    annotator = gallery.open_sample("MyExp_100_0001_roi_10_40_10_40")
    annotator.session.erase("targets", 0, [(10, 10)], radius=30)  # the cell was wrong: remove it
    with pytest.warns(UserWarning, match="empty mask"):
        row = gallery.save_version()
    assert row["sample"] == "MyExp_100_0001_roi_10_40_10_40_v2" and row["n_labels"] == 0
    names = {r["sample"]: r["excluded"] for r in gallery.all_rows}
    assert names["MyExp_100_0001_roi_10_40_10_40"] is True
    assert names["MyExp_100_0001_roi_10_40_10_40_v2"] is False
    assert len(gallery.cards.children) == 3
