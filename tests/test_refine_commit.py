"""`Session.refine` commits the pixels `refine_changes` lists (no comparison of the window):
the same labels, undo step, journal bytes and event as a commit of `refine_outlines`' whole new
window, with numba (where it imports) and with the numpy code; every cell, a ROI, one cell,
radii, and changes over a third of the window (the dense step)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

import segpaint
from masks import off_by, voronoi_cells
from segpaint.ops import refine
from steps import same_steps

SHAPE = (180, 210)


@pytest.fixture(scope="module")
def scene():
    truth = voronoi_cells(SHAPE, 90, 3, radii=(4, 13))
    rng = np.random.default_rng(3)
    bright = rng.uniform(400, 1500, int(truth.max()) + 1)
    bright[0] = 0
    img = ndi.gaussian_filter(bright[truth], 1.2) + 100 + rng.normal(0, 25, SHAPE)
    return np.clip(img, 0, 4000).astype(np.uint16), truth


def _session(path, image, lab):
    s = segpaint.open(np.stack([image, image]), axes="TYX", populations=["c"], journal=path)
    s.set_labels("c", 0, lab)
    return s


@pytest.mark.parametrize("numba", ["1", "0"])
@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"radius": 1},
        {"radius": 5},
        {"roi": (20, 150, 33, 190)},
        {"roi": (0, 40, 0, 60)},
        {"label": "one"},
    ],
)
def test_refine_commits_the_step_and_record_of_the_window_commit(
    tmp_path, monkeypatch, scene, numba, kw
):
    monkeypatch.setenv("SEGPAINT_NUMBA", numba)
    image, truth = scene
    start = off_by(truth, 2)
    if kw.get("label") == "one":
        kw = {"label": int(np.unique(start)[40])}
    a, b = _session(tmp_path / "a", image, start), _session(tmp_path / "b", image, start)
    seen = []
    b.on_change(lambda *args: seen.append(args))
    # the reference: the whole new window of `refine_outlines`, compared and committed
    limits = a._assist_channels(0, None, None)[1]
    roi = kw.get("roi")
    found = refine.refine_outlines(
        image, start, limits=limits, label=kw.get("label"), clip=roi,
        radius=kw.get("radius", refine.REFINE_RADIUS),
    )  # fmt: skip
    assert found is not None
    window, new = found
    ca = a._assist_commit("c", 0, window, new, None, clip=roi)
    cb = b.refine("c", 0, **kw)
    assert ca is not None and ca == cb
    np.testing.assert_array_equal(b.labels("c", 0), a.labels("c", 0))
    assert (b.labels("c", 0) != start).sum() > 20  # outlines moved
    assert (tmp_path / "a").read_bytes() == (tmp_path / "b").read_bytes()
    same_steps(a, b)
    assert len(seen) == 1
    b.undo()
    np.testing.assert_array_equal(b.labels("c", 0), start)
    b.redo()
    np.testing.assert_array_equal(b.labels("c", 0), a.labels("c", 0))
    np.testing.assert_array_equal(b.labels("c", 1), 0)  # the other frame untouched
    a.close()
    b.close()


@pytest.mark.parametrize("numba", ["1", "0"])
def test_refine_that_moves_nothing_is_no_step(tmp_path, monkeypatch, scene, numba):
    monkeypatch.setenv("SEGPAINT_NUMBA", numba)
    _, truth = scene
    flat = np.full(SHAPE, 700, np.uint16)  # no edge anywhere: every cell stays as it is
    s = _session(tmp_path / "j", flat, truth)
    size, step = (tmp_path / "j").stat().st_size, s.history.peek()
    assert s.refine("c", 0, limits=[(0, 2000)]) is None
    assert s.history.peek() is step and (tmp_path / "j").stat().st_size == size
    np.testing.assert_array_equal(s.labels("c", 0), truth)
    s.close()
