"""Issue 10, "Everything at hand": the Annotator traits behind the canvas size, the time axis
and the auto-contrast percentiles (the front-end side is pinned in js/tests/at_hand.test.js)."""

from __future__ import annotations

import numpy as np
import pytest
import traitlets

import segpaint
from segpaint.widgets import Annotator


def test_height_defaults_to_fit_and_accepts_pixels(stack: np.ndarray) -> None:
    widget = Annotator(segpaint.open(stack, axes="TCYX"))
    assert widget.height == 0  # 0: the front-end fits the canvas to the notebook area
    widget.height = 720
    assert widget.height == 720
    assert Annotator(segpaint.open(stack, axes="TCYX"), height=400).height == 400


@pytest.mark.parametrize("bad", [-1, 2.5, "tall", 20001])
def test_height_refuses_what_is_not_a_pixel_count(stack: np.ndarray, bad: object) -> None:
    widget = Annotator(segpaint.open(stack, axes="TCYX"))
    with pytest.raises(
        traitlets.TraitError, match=r"height must be a canvas height from 0 to 20000"
    ):
        widget.height = bad
    assert widget.height == 0


def test_frame_interval_comes_from_the_session(stack: np.ndarray) -> None:
    timed = segpaint.open(stack, axes="TCYX", frame_interval_min=7.5)
    assert Annotator(timed).frame_interval_min == 7.5
    assert Annotator(segpaint.open(stack, axes="TCYX")).frame_interval_min == 0.0


def test_frame_interval_is_read_only(stack: np.ndarray) -> None:
    widget = Annotator(segpaint.open(stack, axes="TCYX", frame_interval_min=5))
    with pytest.raises(traitlets.TraitError, match="read-only"):
        widget.frame_interval_min = 3.0
    with pytest.raises(TypeError, match="frame_interval_min"):
        Annotator(segpaint.open(stack, axes="TCYX"), frame_interval_min=3.0)


def test_auto_percentiles_settable_and_checked(stack: np.ndarray) -> None:
    widget = Annotator(segpaint.open(stack, axes="TCYX"))
    assert widget.auto_percentiles == (1.0, 99.8)
    widget.auto_percentiles = [0.5, 99]
    assert widget.auto_percentiles == (0.5, 99.0)
    for bad in [(99, 1), (1, 101), (-1, 50), (1,), "1,99", (1, float("nan"))]:
        with pytest.raises(traitlets.TraitError, match=r"auto_percentiles must be two percentiles"):
            widget.auto_percentiles = bad
    assert widget.auto_percentiles == (0.5, 99.0)


def test_fill_mask_not_contiguous_takes_every_pixel_of_the_value() -> None:
    from segpaint.ops import fill_mask

    lab = np.zeros((6, 8), np.uint32)
    lab[0, 0] = 4
    lab[4, 6] = 4
    lab[2, 2:4] = 1
    box, mask = fill_mask(lab, (0, 0))
    assert box == (0, 1, 0, 1)
    box, mask = fill_mask(lab, (0, 0), contiguous=False)
    assert box == (0, 5, 0, 7)
    assert np.argwhere(mask).tolist() == [[0, 0], [4, 6]]
    box, mask = fill_mask(lab, (0, 0), contiguous=False, clip=(0, 3, 0, 8))
    assert box == (0, 1, 0, 1)  # the clip keeps (4, 6) out


def test_session_fill_not_contiguous(stack: np.ndarray) -> None:
    session = segpaint.open(stack, axes="TCYX")
    if "cells" not in session.populations:
        session.add_population("cells")
    session.paint("cells", 0, [(5, 5)], 2, 4)
    session.paint("cells", 0, [(40, 60)], 2, 4)
    session.fill("cells", 0, (5, 5), 7)
    labels = session.labels("cells", 0)
    assert labels[5, 5] == 7 and labels[40, 60] == 4
    session.fill("cells", 0, (40, 60), 7, contiguous=False)
    assert labels[40, 60] == 7
    assert set(np.unique(session.labels("cells", 0)).tolist()) == {0, 7}
    session.fill("cells", 0, (0, 0), 9, contiguous=False)  # all background, in one undo step
    assert (session.labels("cells", 0) != 0).all()
    session.undo()
    assert set(np.unique(session.labels("cells", 0)).tolist()) == {0, 7}


def test_fill_contiguous_trait(stack: np.ndarray) -> None:
    widget = Annotator(segpaint.open(stack, axes="TCYX"))
    assert widget.fill_contiguous is True
    widget.fill_contiguous = False
    with pytest.raises(traitlets.TraitError, match="fill_contiguous"):
        widget.fill_contiguous = "no"
