"""Cellpose and StarDist backends: registry, local model folders, preprocessing, real predictions.

Tests marked ``ml`` run real (randomly initialised) models through the same path a user's model
takes.  They skip when the extra is missing, and fail instead when SEGPAINT_REQUIRE_ML=1 (CI).
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import urllib.error
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from scipy import ndimage as ndi

import segpaint
from segpaint.metrics import match_instances
from segpaint.segment import (
    NAMED_MODELS,
    MissingExtraError,
    MissingWeightsError,
    clear_model_cache,
    segment,
)
from segpaint.segment._models import (
    _map_channels,
    _resize_labels,
    normalize_channels,
    resolve_model,
)

REQUIRE_ML = os.environ.get("SEGPAINT_REQUIRE_ML") == "1"
ML_WARNINGS = [
    pytest.mark.ml,
    # the libraries' own deprecation chatter (torch.jit, keras, tf) is not ours to fix
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
    pytest.mark.filterwarnings("ignore::PendingDeprecationWarning"),
]


def ml_test(func: Any) -> Any:
    """Mark a test as needing an ML extra and silence the libraries' own warnings."""
    for mark in reversed(ML_WARNINGS):
        func = mark(func)
    return func


def need(module: str, extra: str) -> ModuleType:
    """Import an optional backend, or skip (fail under SEGPAINT_REQUIRE_ML=1)."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        message = f"{module} is not installed ({error}); pip install 'segpaint[{extra}]'"
        if REQUIRE_ML:
            pytest.fail(f"SEGPAINT_REQUIRE_ML=1 but {message}")
        pytest.skip(message)


@pytest.fixture(autouse=True)
def _fresh_models() -> Any:
    clear_model_cache()
    yield
    clear_model_cache()


def nuclei_image(shape: tuple[int, int] = (96, 112), seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rows, cols = np.ogrid[: shape[0], : shape[1]]
    image = rng.normal(100, 5, shape)
    for r, c in [(20, 25), (50, 70), (75, 30)]:
        image[(rows - r) ** 2 + (cols - c) ** 2 <= 100] += 800
    return image.astype(np.uint16)


# ----------------------------------------------------------------- without the ML extras


def test_registry_names() -> None:
    assert NAMED_MODELS["CP_cyto3"] == ("cellpose", "cyto3")
    assert NAMED_MODELS["CP_nuclei"] == ("cellpose", "nuclei")
    assert NAMED_MODELS["CP_livecell"] == ("cellpose", "livecell_cp3")
    assert NAMED_MODELS["CP_tissuenet"] == ("cellpose", "tissuenet_cp3")
    assert NAMED_MODELS["SD_versatile_fluo"] == ("stardist", "2D_versatile_fluo")
    assert NAMED_MODELS["SD_versatile_he"] == ("stardist", "2D_versatile_he")


@pytest.mark.parametrize(
    ("method", "extra"), [("CP_cyto3", "cellpose"), ("SD_versatile_fluo", "stardist")]
)
def test_missing_extra_names_the_pip_line(
    monkeypatch: pytest.MonkeyPatch, method: str, extra: str
) -> None:
    monkeypatch.setitem(sys.modules, extra, None)  # as if it were not installed
    monkeypatch.setitem(sys.modules, f"{extra}.models", None)
    with pytest.raises(MissingExtraError, match=rf'pip install "segpaint\[{extra}\]"'):
        segment(nuclei_image(), method)


def test_unknown_model_parameters_fail_before_loading() -> None:
    with pytest.raises(TypeError, match=r"cellpose model: unknown parameter\(s\) 'diamter'"):
        segment(nuclei_image(), "CP_cyto3", diamter=30)
    with pytest.raises(TypeError, match=r"stardist model: unknown parameter\(s\) 'prob'"):
        segment(nuclei_image(), "SD_versatile_fluo", prob=0.5)


def test_resolve_local_models(tmp_path: Path) -> None:
    cp_file = tmp_path / "my_cellpose_model"
    cp_file.write_bytes(b"weights")
    assert resolve_model(str(cp_file)).library == "cellpose"
    sd_folder = tmp_path / "sd_model"
    sd_folder.mkdir()
    (sd_folder / "config.json").write_text("{}")
    assert resolve_model(str(sd_folder)).library == "stardist"
    cd_folder = tmp_path / "CP_targets"
    cd_folder.mkdir()
    (cd_folder / "CP_targets").write_bytes(b"weights")
    (cd_folder / "config_input.json").write_text(
        json.dumps(
            {
                "channels": ["brightfield_channel", "live_nuclei_channel"],
                "spatial_calibration": 0.5,
                "normalization_percentile": [True, False],
                "normalization_values": [[1, 99], [0, 1000]],
                "normalization_clip": [False, True],
                "diameter": 30,
                "cellprob_threshold": -1,
                "flow_threshold": 0.6,
                "model_type": "cellpose",
            }
        )
    )
    spec = resolve_model(str(cd_folder))
    assert spec.library == "cellpose"
    assert spec.source == str(cd_folder / "CP_targets")
    assert spec.channels == ("brightfield_channel", "live_nuclei_channel")
    assert spec.pixel_size_um == 0.5
    assert spec.normalization == ((True, (1.0, 99.0), False), (False, (0.0, 1000.0), True))
    assert spec.defaults == {"diameter": 30, "cellprob_threshold": -1, "flow_threshold": 0.6}
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="neither a StarDist model"):
        resolve_model(str(empty))


def test_channels_are_mapped_by_name() -> None:
    image = np.stack([np.full((4, 4), v) for v in (1, 2, 3)])
    spec = resolve_model("CP_cyto3")
    assert _map_channels(image, spec, ["a", "b", "c"]) is image  # no names: all channels
    from dataclasses import replace

    named = replace(spec, channels=("c", "a"))
    mapped = _map_channels(image, named, ["a", "b", "c"])
    assert mapped[:, 0, 0].tolist() == [3, 1]
    with pytest.raises(ValueError, match="the model needs a channel named 'c'"):
        _map_channels(image, named, ["x", "y", "z"])


def test_normalization_and_label_resizing() -> None:
    image = np.stack([np.arange(100.0).reshape(10, 10), np.arange(100.0).reshape(10, 10)])
    out = normalize_channels(image, [(True, (0, 100), False), (False, (0, 50), True)])
    assert out.dtype == np.float32
    assert out[0].min() == 0.0
    assert out[0].max() == 1.0
    assert out[1].max() == 1.0  # clipped
    assert out[1, 2, 5] == pytest.approx(25 / 50)
    labels = np.array([[1, 2], [3, 4]], np.uint32)
    big = _resize_labels(labels, (4, 6))
    assert big.shape == (4, 6)
    assert big[0].tolist() == [1, 1, 1, 2, 2, 2]
    assert big[3].tolist() == [3, 3, 3, 4, 4, 4]


# ----------------------------------------------------------------------------- Cellpose


def random_cellpose_file(folder: Path, name: str = "cp_random") -> Path:
    torch = need("torch", "cellpose")
    models = need("cellpose.models", "cellpose")
    torch.manual_seed(0)
    model = models.CellposeModel(gpu=False, pretrained_model=False, mkldnn=False)
    path = folder / name
    model.net.save_model(str(path))
    return path


class EvalSpy:
    """Wraps CellposeModel.eval to record what segpaint feeds it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        models = need("cellpose.models", "cellpose")
        self.calls: list[dict[str, Any]] = []
        self.models: list[Any] = []
        original = models.CellposeModel.eval

        def eval_spy(model: Any, x: Any, **kwargs: Any) -> Any:
            self.calls.append({"x": np.array(x), **kwargs})
            self.models.append(model)
            return original(model, x, **kwargs)

        monkeypatch.setattr(models.CellposeModel, "eval", eval_spy)


@pytest.mark.slow
@ml_test
def test_cellpose_model_file_runs_through_the_user_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    torch = need("torch", "cellpose")
    path = random_cellpose_file(tmp_path)
    spy = EvalSpy(monkeypatch)
    image = nuclei_image()
    labels = segment(image, str(path), cellprob_threshold=-1.0, diameter=20)
    assert labels.dtype == np.uint32
    assert labels.shape == image.shape
    (call,) = spy.calls
    low, high = np.percentile(image.astype(np.float32), [1, 99])
    np.testing.assert_allclose(call["x"], (image - low) / (high - low), rtol=1e-5, atol=1e-6)
    assert call["channels"] == [0, 0]
    assert call["normalize"] is False
    assert call["diameter"] == 20
    assert call["cellprob_threshold"] == -1.0
    # the network that ran holds the saved weights
    saved = torch.load(path, map_location="cpu", weights_only=True)
    loaded = spy.models[0].net.state_dict()
    weights = [key for key in saved if key.endswith((".weight", ".bias"))]
    assert len(weights) > 20
    for key in weights:
        value = saved[key]
        tensor = loaded[key]
        if tensor.layout != torch.strided:  # inference uses MKL-DNN tensors on CPU
            tensor = tensor.to_dense()
        torch.testing.assert_close(tensor.cpu(), value)


def _celldetective_cellpose_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "CP_targets"
    folder.mkdir()
    random_cellpose_file(folder, "CP_targets")
    (folder / "config_input.json").write_text(
        json.dumps(
            {
                "channels": ["live_nuclei_channel"],
                "spatial_calibration": 0.5,
                "normalization_percentile": [False],
                "normalization_values": [[0, 1000]],
                "normalization_clip": [True],
                "diameter": 25,
                "cellprob_threshold": -2,
                "flow_threshold": 0.5,
                "model_type": "cellpose",
            }
        )
    )
    return folder


@pytest.mark.slow
@ml_test
def test_celldetective_cellpose_folder_rescales_and_normalises(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _celldetective_cellpose_folder(tmp_path)
    spy = EvalSpy(monkeypatch)
    image = nuclei_image((96, 112))
    stack = np.stack([np.zeros_like(image), image])
    labels = segment(
        stack,
        str(folder),
        channel_names=["brightfield_channel", "live_nuclei_channel"],
        pixel_size_um=0.25,
    )
    assert labels.shape == image.shape  # scaled back to the frame
    (call,) = spy.calls
    # 0.25 µm/px -> the model's 0.5 µm/px: half the size; fixed-value normalisation, clipped
    expected = ndi.zoom(np.clip(image.astype(np.float32) / 1000, 0, 1), 0.5, order=1)
    assert call["x"].shape == (48, 56)
    np.testing.assert_allclose(call["x"], expected, atol=1e-6)
    assert (call["diameter"], call["cellprob_threshold"], call["flow_threshold"]) == (25, -2, 0.5)
    with pytest.raises(ValueError, match="the model needs a channel named 'live_nuclei_channel'"):
        segment(stack, str(folder), channel_names=["a", "b"])


@ml_test
def test_cellpose_weights_missing_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    models = need("cellpose.models", "cellpose")
    monkeypatch.setattr(models, "MODEL_DIR", tmp_path)

    def offline(*_args: Any, **_kwargs: Any) -> str:
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(models, "model_path", offline)
    with pytest.raises(MissingWeightsError, match=rf"'cyto3'.*not in {tmp_path}.*download"):
        segment(nuclei_image(), "CP_cyto3")
    with pytest.raises(MissingWeightsError, match="'nucleitorch_0'"):
        segment(nuclei_image(), "CP_nuclei")


# ----------------------------------------------------------------------------- StarDist


def random_stardist_folder(folder: Path, n_channel_in: int = 1) -> Path:
    sd_models = need("stardist.models", "stardist")
    tf = need("tensorflow", "stardist")
    # Seeded: unseeded random weights sometimes predict no object at all, and the tests
    # compare objects, so the network must be the same one on every run.
    tf.keras.utils.set_random_seed(0)
    config = sd_models.Config2D(
        n_rays=16,
        grid=(2, 2),
        n_channel_in=n_channel_in,
        unet_n_depth=2,
        train_tensorboard=False,
    )
    model = sd_models.StarDist2D(config, name=folder.name, basedir=str(folder.parent))
    model.keras_model.save_weights(str(folder / "weights_best.weights.h5"))
    (folder / "thresholds.json").write_text(json.dumps({"prob": 0.5, "nms": 0.3}))
    return folder


def _stardist_direct(folder: Path, x: np.ndarray) -> np.ndarray:
    sd_models = need("stardist.models", "stardist")
    model = sd_models.StarDist2D(None, name=folder.name, basedir=str(folder.parent))
    labels, _ = model.predict_instances(x, axes="YX", show_tile_progress=False, verbose=False)
    return np.asarray(labels)


def assert_same_objects(labels: np.ndarray, expected: np.ndarray) -> None:
    """Equal up to rare NMS ties: a random network predicts many near-equal probabilities."""
    assert (labels > 0).sum() == pytest.approx((expected > 0).sum(), rel=0.01)
    result = match_instances(expected, labels, iou_threshold=0.9)
    assert result.f1 > 0.98, result


@pytest.mark.slow
@ml_test
def test_stardist_model_folder_runs_through_the_user_path(tmp_path: Path) -> None:
    folder = random_stardist_folder(tmp_path / "sd_random")
    image = nuclei_image()
    labels = segment(image, str(folder))
    assert labels.dtype == np.uint32
    assert labels.shape == image.shape
    low, high = np.percentile(image.astype(np.float32), [1, 99.8])
    direct = _stardist_direct(folder, (image.astype(np.float32) - low) / (high - low))
    assert direct.max() > 0  # the random network does predict objects
    assert_same_objects(labels, direct)


@pytest.mark.slow
@ml_test
def test_celldetective_stardist_folder_and_presegment(tmp_path: Path) -> None:
    folder = random_stardist_folder(tmp_path / "SD_targets")
    (folder / "config_input.json").write_text(
        json.dumps(
            {
                "channels": ["live_nuclei_channel"],
                "spatial_calibration": 0.5,
                "normalization_percentile": [True],
                "normalization_values": [[1, 99.8]],
                "normalization_clip": [False],
                "model_type": "stardist",
            }
        )
    )
    image = nuclei_image((96, 112))
    movie = np.stack([np.stack([image, image // 2]), np.stack([image // 2, image])])
    session = segpaint.open(
        movie, axes="TCYX", channel_names=["live_nuclei_channel", "other"], pixel_size_um=0.25
    )
    assert session.presegment("cells", str(folder), progress=False) == [0, 1]
    frame0 = np.asarray(session.labels("cells", 0))
    assert frame0.shape == image.shape
    low, high = np.percentile(image.astype(np.float32), [1, 99.8])
    zoomed = ndi.zoom((image.astype(np.float32) - low) / (high - low), 0.5, order=1)
    direct = _stardist_direct(folder, zoomed)
    assert_same_objects(frame0, _resize_labels(direct, image.shape))
    assert session.method("cells") == {"method": str(folder), "params": {}}


@ml_test
def test_stardist_weights_missing_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    sd_models = need("stardist.models", "stardist")

    def offline(*_args: Any, **_kwargs: Any) -> Any:
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(sd_models.StarDist2D, "from_pretrained", offline)
    with pytest.raises(
        MissingWeightsError,
        match=r"'2D_versatile_fluo' are not in .*StarDist2D.2D_versatile_fluo.*downloaded",
    ):
        segment(nuclei_image(), "SD_versatile_fluo")
