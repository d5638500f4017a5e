"""segment_at with a StarDist model trained by segpaint.train (a tiny run: 1 epoch).

Marked ``ml`` (the ML environment); one epoch learns little, so this checks the path and the
click guarantees (each refinement click's pixel ends on its side, one undo step per click), not
accuracy: that is `benchmarks/bench_effort.py --only noc-model`.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

import segpaint
from optional import import_or_skip
from segpaint.data import synthetic_timelapse

pytestmark = [
    pytest.mark.ml,
    pytest.mark.slow,
    # the libraries' own deprecation chatter (keras, tf) is not ours to fix
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
    pytest.mark.filterwarnings("ignore::PendingDeprecationWarning"),
]


@pytest.fixture(scope="module")
def stardist_model(tmp_path_factory):
    import_or_skip(
        "stardist", env="SEGPAINT_REQUIRE_ML", install="pip install 'segpaint[stardist]'"
    )
    movie = synthetic_timelapse(n_frames=4, shape=(128, 128), seed=2)
    root = tmp_path_factory.mktemp("exp")
    s = movie.open(labels={"targets": movie.labels["targets"]}, journal=False)
    for t in range(4):
        s.export_roi("targets", s.add_roi(t, rows=(0, 128), cols=(0, 128)),
                     folder=root / "annotations_targets")  # fmt: skip
    path = segpaint.train(root / "annotations_targets", backend="stardist", channels=["nuclei"],
                          name="sd", epochs=1, steps_per_epoch=2, progress=False)  # fmt: skip
    return movie, str(path)


def test_stardist_click_then_refinement_clicks_land_on_their_side(stardist_model):
    movie, model = stardist_model
    truth = np.asarray(movie.labels["targets"][3])
    cell = truth == np.unique(truth)[1]
    dist = ndi.distance_transform_edt(cell)
    seed = tuple(int(v) for v in np.unravel_index(int(np.argmax(dist)), cell.shape))
    session = movie.open(journal=False)

    states = [np.asarray(session.labels("targets")[3]).copy()]

    def click(**kw):
        change = session.segment_at("targets", 3, seed, label=1, method=model,
                                    channels=["nuclei"], **kw)  # fmt: skip
        labels = np.asarray(session.labels("targets")[3]).copy()
        if change is not None:  # one undo step per click that changed something
            states.append(labels)
        return labels == 1

    click()
    rows, cols = np.nonzero(cell)
    edge = (int(rows.max()) - 1, int(cols.mean()))  # the cell's last row
    second = click(positive=[edge])
    assert second[edge] and second[seed]
    # a negative click 2 px inside the object's edge, the farthest such pixel from the seed
    inside = ndi.distance_transform_edt(second)
    rr, cc = np.nonzero((inside > 1.5) & (inside <= 2.5))
    far = int(np.argmax((rr - seed[0]) ** 2 + (cc - seed[1]) ** 2))
    out = (int(rr[far]), int(cc[far]))
    third = click(positive=[edge], negative=[out])
    assert third[edge] and third[seed] and not third[out]
    assert len(states) >= 3  # the negative click changed the cell, and so did the first click
    for before in reversed(states[:-1]):
        session.undo()
        np.testing.assert_array_equal(np.asarray(session.labels("targets")[3]), before)
