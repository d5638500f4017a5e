"""StarDist and Cellpose training with each library's own calls (the optional extras).

The model folder is the one Celldetective writes: StarDist's own folder (``config.json``,
weights) or the Cellpose weights file named after the folder, plus ``config_input.json`` and
``training_instructions.json``.  Images are normalised per channel by percentiles (StarDist
1-99.8, Cellpose 1-99, as those libraries do), and the samples keep their export padding, as
Celldetective trains on them.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from segpaint._version import __version__
from segpaint.segment._models import _import, normalize_channels
from segpaint.segment._train import (
    TrainCallback,
    _commit_folder,
    _config_input,
    _Data,
    _instructions,
    _json,
    _write_curve,
)

__all__ = ["train_deep"]

_PERCENTILES = {"stardist": (1.0, 99.8), "cellpose": (1.0, 99.0)}
_LEARNING_RATE = {"stardist": 3e-4, "cellpose": 0.005}


def _torch_gpu() -> bool:
    try:
        import torch

        return bool(torch.cuda.is_available())
    except ImportError:  # pragma: no cover - cellpose needs torch
        return False


def _normalised(data: _Data, backend: str) -> list[npt.NDArray[np.float32]]:
    low, high = _PERCENTILES[backend]
    return [normalize_channels(x, [(True, (low, high), False)] * x.shape[0]) for x in data.images]


def _fill_holes(mask: npt.NDArray[Any]) -> npt.NDArray[np.int32]:
    from scipy import ndimage as ndi

    out: npt.NDArray[np.int32] = np.array(mask, dtype=np.int32)
    for value, box in enumerate(ndi.find_objects(out), start=1):
        if box is not None:
            filled = ndi.binary_fill_holes(out[box] == value)
            out[box][filled & (out[box] == 0)] = value
    return out


def train_deep(
    backend: str,
    data: _Data,
    train_idx: Sequence[int],
    val_idx: Sequence[int],
    target: Path,
    *,
    datasets: Sequence[str],
    validation_split: float,
    seed: int,
    epochs: int,
    steps_per_epoch: int | None,
    batch_size: int,
    learning_rate: float | None,
    pretrained: str | None,
    callback: TrainCallback | None,
    overwrite: bool,
) -> Path:
    """Train StarDist or Cellpose into a new model folder at ``target`` (see `segpaint.train`)."""
    if not val_idx:
        raise ValueError(
            f"samples: {backend} training needs a validation sample; export at least 2 samples "
            "and keep validation_split > 0"
        )
    images = _normalised(data, backend)
    masks = [_fill_holes(m) for m in data.masks]
    rate = _LEARNING_RATE[backend] if learning_rate is None else float(learning_rate)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    started = time.perf_counter()
    try:
        folder = tmp / target.name
        if backend == "stardist":
            extra = _train_stardist(
                images, masks, train_idx, val_idx, folder,
                seed=seed, epochs=epochs, steps_per_epoch=steps_per_epoch,
                batch_size=batch_size, learning_rate=rate, pretrained=pretrained,
                callback=callback,
            )  # fmt: skip
        else:
            extra = _train_cellpose(
                images, masks, train_idx, val_idx, folder,
                epochs=epochs, batch_size=batch_size, learning_rate=rate,
                pretrained=pretrained,
            )  # fmt: skip
        extra["training_seconds"] = round(time.perf_counter() - started, 3)
        _write_curve(folder, extra.get("history", []))
        percentiles = _PERCENTILES[backend]
        _json(
            folder / "config_input.json",
            _config_input(
                data,
                model_type=backend,
                train_names=[data.names[i] for i in train_idx],
                val_names=[data.names[i] for i in val_idx],
                extra={**extra, "seed": seed, "segpaint_version": __version__},
                percentiles=percentiles,
            ),
        )
        _json(
            folder / "training_instructions.json",
            _instructions(
                target,
                data,
                model_type=backend,
                datasets=datasets,
                validation_split=validation_split,
                epochs=epochs,
                batch_size=batch_size,
                learning_rate=rate,
                seed=seed,
                percentiles=percentiles,
                pretrained=pretrained,
            ),
        )
        return _commit_folder(folder, target, overwrite)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _train_stardist(
    images: list[npt.NDArray[np.float32]],
    masks: list[npt.NDArray[np.int32]],
    train_idx: Sequence[int],
    val_idx: Sequence[int],
    folder: Path,
    *,
    seed: int,
    epochs: int,
    steps_per_epoch: int | None,
    batch_size: int,
    learning_rate: float,
    pretrained: str | None,
    callback: TrainCallback | None,
) -> dict[str, Any]:
    sd_models = _import("stardist")
    import tensorflow as tf

    tf.keras.utils.set_random_seed(seed)
    # StarDist takes channels last
    x = [np.moveaxis(img, 0, -1) for img in images]
    x_trn, y_trn = [x[i] for i in train_idx], [masks[i] for i in train_idx]
    x_val, y_val = [x[i] for i in val_idx], [masks[i] for i in val_idx]
    smallest = min(min(img.shape[:2]) for img in x)
    patch = max(16, min(256, smallest - smallest % 16))
    steps = steps_per_epoch or max(1, len(x_trn))
    if pretrained is not None:
        shutil.copytree(pretrained, folder)
        for stale in ("config_input.json", "training_instructions.json"):
            (folder / stale).unlink(missing_ok=True)
        model = sd_models.StarDist2D(None, name=folder.name, basedir=str(folder.parent))
        model.config.train_epochs = epochs
        model.config.train_steps_per_epoch = steps
        model.config.train_batch_size = min(batch_size, len(x_trn))
        model.config.train_learning_rate = learning_rate
        model.config.train_tensorboard = False
    else:
        config = sd_models.Config2D(
            n_rays=32,
            grid=(2, 2),
            n_channel_in=x[0].shape[-1],
            train_patch_size=(patch, patch),
            train_epochs=epochs,
            train_steps_per_epoch=steps,
            train_batch_size=min(batch_size, len(x_trn)),
            train_learning_rate=learning_rate,
            train_tensorboard=False,
            use_gpu=False,  # gputools for data loading; TensorFlow itself uses a GPU if present
        )
        model = sd_models.StarDist2D(config, name=folder.name, basedir=str(folder.parent))
    history: list[dict[str, Any]] = []
    stopped = False

    class _Report(tf.keras.callbacks.Callback):  # type: ignore[misc]
        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            logs = logs or {}
            record = {
                "epoch": epoch + 1,
                "loss": float(logs.get("loss", np.nan)),
                "val_loss": float(logs.get("val_loss", np.nan)),
            }
            history.append(record)
            if callback is not None and callback(dict(record)) is False:
                self.model.stop_training = True

    model.prepare_for_training()
    model.callbacks.append(_Report())
    try:
        model.train(
            x_trn, y_trn, validation_data=(x_val, y_val), epochs=epochs, steps_per_epoch=steps
        )
    except KeyboardInterrupt:
        stopped = True
        model.keras_model.save_weights(str(folder / "weights_last.h5"))
    if not (folder / "weights_best.h5").is_file() and not (folder / "weights_last.h5").is_file():
        model.keras_model.save_weights(str(folder / "weights_last.h5"))
    interrupted = stopped
    stopped = stopped or len(history) < epochs
    thresholds: dict[str, Any] = {}
    if not interrupted:  # a callback's stop still gets thresholds tuned on the validation set
        model.optimize_thresholds(x_val, y_val)
        thresholds = dict(model.thresholds._asdict())
    return {
        "stardist": {"patch_size": patch, "steps_per_epoch": steps, "thresholds": thresholds},
        "history": history,
        "stopped_early": stopped,
    }


def _train_cellpose(
    images: list[npt.NDArray[np.float32]],
    masks: list[npt.NDArray[np.int32]],
    train_idx: Sequence[int],
    val_idx: Sequence[int],
    folder: Path,
    *,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    pretrained: str | None,
) -> dict[str, Any]:
    models = _import("cellpose")
    from cellpose import train as cp_train

    gpu = _torch_gpu()
    options: dict[str, Any] = {"gpu": gpu, "mkldnn": gpu, "diam_mean": 30.0, "nchan": 2}
    if pretrained is None:
        options["pretrained_model"] = False  # a random network
    elif Path(pretrained).is_file():
        options["pretrained_model"] = pretrained
    else:
        options["model_type"] = pretrained  # a built-in name: its weights must be cached
    model = models.CellposeModel(**options)
    n_channels = images[0].shape[0]
    if n_channels > 2:
        raise ValueError(
            f"channels: Cellpose trains on 1 channel or 2 (cytoplasm, nuclei), got {n_channels}; "
            "pass channels= to choose them"
        )
    channels = [0, 0] if n_channels == 1 else [1, 2]
    x = [img[0] if n_channels == 1 else img for img in images]
    folder.mkdir(parents=True)
    stopped = False
    try:
        path, train_losses, test_losses = cp_train.train_seg(
            model.net,
            train_data=[x[i] for i in train_idx],
            train_labels=[masks[i] for i in train_idx],
            test_data=[x[i] for i in val_idx],
            test_labels=[masks[i] for i in val_idx],
            channels=channels,
            channel_axis=None if n_channels == 1 else 0,
            normalize=False,
            n_epochs=epochs,
            batch_size=batch_size,
            learning_rate=learning_rate,
            rescale=False,
            min_train_masks=1,
            save_path=str(folder),
            model_name=folder.name,
        )
        history = [
            {"epoch": i + 1, "loss": float(a), "val_loss": float(b)}
            for i, (a, b) in enumerate(zip(train_losses, test_losses, strict=True))
        ]
    except KeyboardInterrupt:
        stopped = True
        path = folder / "models" / folder.name
        path.parent.mkdir(exist_ok=True)
        model.net.save_model(str(path))
        history = []
    # Celldetective keeps the weights as <folder>/<folder name>
    shutil.move(str(path), str(folder / folder.name))
    shutil.rmtree(folder / "models", ignore_errors=True)
    return {
        "diameter": 30.0,
        "cellprob_threshold": 0.0,
        "flow_threshold": 0.4,
        "cellpose": {"gpu": gpu, "rescale": False},
        "history": history,
        "stopped_early": stopped,
    }
