"""StarDist and Cellpose training through segpaint.train: tiny runs (1 epoch, a few steps).

Marked ``ml``: they run in the ML environment (cellpose + stardist installed) and skip
elsewhere unless SEGPAINT_REQUIRE_ML=1.  They check the model folder Celldetective reads and
that `session.presegment` runs the trained model, not its accuracy (one epoch learns little).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import segpaint
from optional import import_or_skip
from segpaint.data import synthetic_timelapse
from segpaint.segment import clear_model_cache

pytestmark = [
    pytest.mark.ml,
    pytest.mark.slow,
    # the libraries' own deprecation chatter (torch, keras, tf) is not ours to fix
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
    pytest.mark.filterwarnings("ignore::PendingDeprecationWarning"),
]


def need(module: str, extra: str) -> None:
    import_or_skip(module, env="SEGPAINT_REQUIRE_ML", install=f"pip install 'segpaint[{extra}]'")


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    movie = synthetic_timelapse(n_frames=4, shape=(128, 128), seed=2)
    root = tmp_path_factory.mktemp("exp")
    s = movie.open(labels={"targets": movie.labels["targets"]}, journal=False)
    for t in range(4):
        s.export_roi(
            "targets",
            s.add_roi(t, rows=(0, 128), cols=(0, 128)),
            folder=root / "annotations_targets",
        )
    return movie, root / "annotations_targets"


def _check_folder(path, backend):
    config = json.loads((path / "config_input.json").read_text())
    assert config["model_type"] == backend
    assert config["channels"] == ["nuclei"]
    assert len(config["dataset"]["validation"]) == 1 and len(config["dataset"]["train"]) == 3
    instructions = json.loads((path / "training_instructions.json").read_text())
    assert instructions["model_type"] == backend and instructions["epochs"] == 1
    return config


def test_stardist_from_scratch(samples, tmp_path):
    need("stardist", "stardist")
    movie, folder = samples
    seen = []
    path = segpaint.train(
        folder,
        backend="stardist",
        channels=["nuclei"],
        name="sd",
        folder=tmp_path,
        epochs=1,
        steps_per_epoch=2,
        batch_size=1,
        callback=seen.append,
    )
    assert path == tmp_path / "models" / "segmentation_targets" / "sd"
    assert (path / "config.json").is_file()
    assert list(path.glob("weights_*.h5"))
    config = _check_folder(path, "stardist")
    assert config["normalization_values"] == [[1.0, 99.8]]
    assert [r["epoch"] for r in seen] == [1] and np.isfinite(seen[0]["loss"])
    clear_model_cache()
    session = movie.open(journal=False)
    session.presegment("targets", path, frames=[0], progress=False)
    assert np.asarray(session.labels("targets", 0)).shape == (128, 128)
    assert session.method("targets")["method"] == str(path)


def test_cellpose_from_scratch(samples, tmp_path):
    need("cellpose", "cellpose")
    movie, folder = samples
    path = segpaint.train(
        folder,
        backend="cellpose",
        channels=["nuclei"],
        name="cp",
        folder=tmp_path,
        epochs=1,
        batch_size=2,
    )
    assert (path / "cp").is_file()  # the weights, named after the folder like Celldetective
    assert not (path / "models").exists()
    config = _check_folder(path, "cellpose")
    assert config["normalization_values"] == [[1.0, 99.0]]
    assert config["diameter"] == 30.0 and len(config["history"]) == 1
    clear_model_cache()
    session = movie.open(journal=False)
    session.presegment("targets", path, frames=[0], progress=False)
    assert np.asarray(session.labels("targets", 0)).shape == (128, 128)
