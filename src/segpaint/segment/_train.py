"""Train a segmentation model from exported samples (or scribbles) and evaluate it.

`train` writes a model folder Celldetective can read, ``models/segmentation_<population>/<name>/``
with ``config_input.json`` (channels, normalisation, calibration, model type, cell size, the
dataset split) and ``training_instructions.json`` (the keys Celldetective's trainer reads);
`segpaint.Session.presegment` then takes the folder as its method.  `evaluate` scores a model
and the method it replaces on the same samples.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from segpaint._version import __version__
from segpaint.io.png import curve_picture, encode_png, grey_rgb, outline_overlay, write_png
from segpaint.io.samples import SampleFile, as_sample_files, read_sample
from segpaint.metrics import match_instances
from segpaint.segment._models import normalize_channels
from segpaint.segment._pixel_classifier import (
    BACKGROUND,
    CLASSIFIER_FILE,
    INTERIOR,
    MODEL_TYPE,
    PixelClassifier,
    _import_sklearn,
    pixel_features,
    pixel_targets,
)

if TYPE_CHECKING:
    from segpaint.session import Session

__all__ = [
    "BACKENDS",
    "Evaluation",
    "StopTraining",
    "evaluate",
    "split_indices",
    "train",
    "train_from_scribbles",
]

BACKENDS: tuple[str, ...] = (MODEL_TYPE, "stardist", "cellpose")
"""Training backends available in this version."""
IOU_THRESHOLDS: tuple[float, ...] = (0.5, 0.6, 0.7, 0.8, 0.9)
_PERCENTILES = (1.0, 99.8)
TrainCallback = Callable[[dict[str, Any]], Any]


class StopTraining(Exception):  # noqa: N818  (a signal, like StopIteration)
    """Raise from a training callback to stop early; the model trained so far is kept."""


def split_indices(n: int, validation_split: float, seed: int) -> tuple[list[int], list[int]]:
    """A deterministic train/validation split of ``n`` items.

    At least one item is kept for training; with two or more items and ``validation_split > 0``
    at least one goes to validation.

    Examples
    --------
    >>> split_indices(10, 0.2, seed=0) == split_indices(10, 0.2, seed=0)
    True
    >>> [len(part) for part in split_indices(10, 0.2, seed=0)]
    [8, 2]
    """
    if not 0 <= validation_split < 1:
        raise ValueError(
            f"validation_split: expected a fraction in [0, 1), got {validation_split!r}"
        )
    order = np.random.default_rng(seed).permutation(n).tolist()
    wanted = round(validation_split * n)
    n_val = min(max(1, wanted), n - 1) if validation_split > 0 and n >= 2 else 0
    return sorted(order[: n - n_val]), sorted(order[n - n_val :])


def _normalise(image: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
    return normalize_channels(image, [(True, _PERCENTILES, False)] * image.shape[0])


def _channel_indices(
    channels: Sequence[int | str] | int | str | None, names: Sequence[str], n: int
) -> list[int]:
    if channels is None:
        return list(range(n))
    wanted = [channels] if isinstance(channels, int | str) else list(channels)
    out = []
    for c in wanted:
        if isinstance(c, str):
            if c not in names:
                raise ValueError(
                    f"channels: no channel named {c!r}; the samples' channels are {list(names)}"
                )
            out.append(list(names).index(c))
        elif isinstance(c, int | np.integer) and not isinstance(c, bool) and -n <= c < n:
            out.append(int(c) % n)
        else:
            raise ValueError(f"channels: {c!r} is not a channel of the samples (0..{n - 1})")
    return out


def _check_name(name: str, what: str) -> str:
    if not name or any(ch in name for ch in "/\\:") or name in (".", ".."):
        raise ValueError(f"{what}: {name!r} is not a folder name (no slashes); e.g. 'effectors_pc'")
    return name


@dataclass
class _Data:
    images: list[npt.NDArray[Any]]
    masks: list[npt.NDArray[Any]]
    names: list[str]
    channel_names: list[str]
    pixel_size_um: float | None
    population: str


def _load_samples(
    samples: Any,
    population: str | None,
    channels: Sequence[int | str] | int | str | None,
    *,
    unpad: bool = True,
) -> tuple[_Data, list[SampleFile]]:
    files = [s for s in as_sample_files(samples, population) if not s.excluded]
    if not files:
        raise ValueError(
            "samples: no sample to train on (none found, or all are excluded"
            + (f", or none is of population {population!r}" if population else "")
            + "); export some with session.export_roi(...)"
        )
    pops = sorted({s.population for s in files if s.population})
    if population is None:
        if len(pops) != 1:
            found = f"of populations {pops}" if pops else "of no recorded population"
            raise ValueError(
                f"population: the samples are {found}; a model is for one population, pass "
                "population=... (it names models/segmentation_<population>/)"
            )
        population = pops[0]
    names = files[0].channels
    for s in files[1:]:
        if s.channels != names:
            raise ValueError(
                f"samples: {s.stem} has channels {s.channels} but {files[0].stem} has {names}; "
                "train on samples of one acquisition setup (or pass channels= by index)"
            )
    images, masks = [], []
    index: list[int] | None = None
    for s in files:
        image, mask = read_sample(s, unpad=unpad)
        if index is None:
            index = _channel_indices(channels, names, image.shape[0])
        images.append(image[index])
        masks.append(mask)
    sizes = [s.pixel_size_um for s in files if s.pixel_size_um]
    kept = [names[i] for i in (index or [])] if names else [f"channel_{i}" for i in index or []]
    data = _Data(
        images,
        masks,
        [s.stem for s in files],
        kept,
        float(np.median(sizes)) if sizes else None,
        population,
    )
    return data, files


def _default_root(files: Sequence[SampleFile]) -> Path:
    side = files[0].sidecar
    # celldetective/cellpose: <root>/annotations_x/stem.json; stardist: <root>/annotations_x/meta/
    folder = side.parent.parent if side.parent.name == "meta" else side.parent
    return folder.parent


def _model_folder(
    root: str | Path | None,
    population: str,
    name: str | None,
    default_root: Path | None,
    backend: str = MODEL_TYPE,
) -> Path:
    if root is None:
        if default_root is None:
            raise ValueError(
                "folder: where should the model go? pass folder= (the experiment root; the model "
                "is written to <folder>/models/segmentation_<population>/<name>/)"
            )
        root = default_root
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d_%H%M%S")
    kind = backend.replace("-", "_")
    model_name = _check_name(name or f"{population}_{kind}_{stamp}", "name")
    return Path(root).expanduser() / "models" / f"segmentation_{population}" / model_name


def _json(path: Path, data: Mapping[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=4, default=_json_default), encoding="utf-8")


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot store {type(obj).__name__} in JSON")


def _cell_size_px(masks: Iterable[npt.NDArray[Any]]) -> tuple[float, float]:
    """Median equivalent diameter and 5th-percentile area of the objects (pixels)."""
    areas: list[int] = []
    for mask in masks:
        counts = np.bincount(np.asarray(mask, dtype=np.int64).ravel())[1:]
        areas.extend(int(a) for a in counts if a > 0)
    if not areas:
        return 0.0, 0.0
    diameter = float(np.median(2 * np.sqrt(np.asarray(areas) / np.pi)))
    return diameter, float(np.percentile(areas, 5))


def _pixels(
    features: npt.NDArray[np.float32],
    targets: npt.NDArray[np.integer[Any]],
    rng: np.random.Generator,
    per_class: int,
    classes: Sequence[int],
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.uint8]]:
    """A class-balanced random subset of the pixels that have a target (targets >= 0)."""
    flat_t = targets.ravel()
    flat_f = features.reshape(-1, features.shape[-1])
    picks = []
    for cls in classes:
        where = np.flatnonzero(flat_t == cls)
        if where.size > per_class:
            where = rng.choice(where, size=per_class, replace=False)
        picks.append(where)
    index = np.concatenate(picks) if picks else np.zeros(0, np.intp)
    return flat_f[index], flat_t[index].astype(np.uint8)


def _progress(enabled: bool, total: int, description: str) -> Any:
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=description, unit="step")


def _fit_forest(
    x_train: npt.NDArray[np.float32],
    y_train: npt.NDArray[np.uint8],
    x_val: npt.NDArray[np.float32],
    y_val: npt.NDArray[np.uint8],
    *,
    n_estimators: int,
    steps: int,
    seed: int,
    progress: bool,
    callback: TrainCallback | None,
    description: str,
) -> tuple[Any, list[dict[str, Any]], bool]:
    """Grow the forest a few trees at a time, scoring each step on the validation pixels."""
    ensemble = _import_sklearn()
    from sklearn.metrics import accuracy_score, log_loss

    forest = ensemble.RandomForestClassifier(
        n_estimators=0,
        warm_start=True,
        min_samples_leaf=2,
        max_features="sqrt",
        n_jobs=1,
        random_state=seed,
    )
    steps = max(1, min(steps, n_estimators))
    history: list[dict[str, Any]] = []
    stopped = False
    bar = _progress(progress, steps, description)
    try:
        for step in range(1, steps + 1):
            forest.n_estimators = math.ceil(n_estimators * step / steps)
            try:
                forest.fit(x_train, y_train)
            except KeyboardInterrupt:
                if not history:
                    raise
                forest.estimators_ = forest.estimators_[: history[-1]["n_trees"]]
                forest.n_estimators = len(forest.estimators_)
                stopped = True
                break
            proba = forest.predict_proba(x_val)
            record = {
                "step": step,
                "n_trees": len(forest.estimators_),
                "loss": float(log_loss(y_val, proba, labels=forest.classes_)),
                "accuracy": float(accuracy_score(y_val, forest.classes_[proba.argmax(1)])),
            }
            history.append(record)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{record['loss']:.4f}", acc=f"{record['accuracy']:.3f}")
            if callback is not None:
                try:
                    if callback(dict(record)) is False:
                        stopped = step < steps
                        break
                except StopTraining:
                    stopped = step < steps
                    break
    except KeyboardInterrupt:
        if not history:
            raise
        stopped = True
    finally:
        if bar is not None:
            bar.close()
    return forest, history, stopped


def _config_input(
    data: _Data,
    *,
    model_type: str,
    train_names: Sequence[str],
    val_names: Sequence[str],
    extra: Mapping[str, Any],
    percentiles: tuple[float, float] = _PERCENTILES,
) -> dict[str, Any]:
    n = len(data.channel_names)
    diameter, _ = _cell_size_px(data.masks)
    return {
        "channels": list(data.channel_names),
        "normalization_percentile": [True] * n,
        "normalization_clip": [False] * n,
        "normalization_values": [list(percentiles)] * n,
        "model_type": model_type,
        "spatial_calibration": data.pixel_size_um,
        "cell_size_um": round(diameter * data.pixel_size_um, 4) if data.pixel_size_um else None,
        "cell_size_px": round(diameter, 2),
        "dataset": {"train": list(train_names), "validation": list(val_names)},
        **extra,
    }


def _instructions(
    model_dir: Path,
    data: _Data,
    *,
    model_type: str,
    datasets: Sequence[str],
    validation_split: float,
    epochs: int,
    batch_size: int | None,
    learning_rate: float | None,
    seed: int,
    percentiles: tuple[float, float] = _PERCENTILES,
    pretrained: str | None = None,
) -> dict[str, Any]:
    n = len(data.channel_names)
    return {
        "model_name": model_dir.name,
        "target_directory": str(model_dir.parent),
        "model_type": model_type,
        "pretrained": pretrained,
        "ds": list(datasets),
        "channel_option": list(data.channel_names),
        "normalization_percentile": [True] * n,
        "normalization_clip": [False] * n,
        "normalization_values": [list(percentiles)] * n,
        "spatial_calibration": data.pixel_size_um,
        "validation_split": validation_split,
        "augmentation_factor": 1.0,
        "learning_rate": learning_rate,
        "epochs": epochs,
        "batch_size": batch_size,
        "seed": seed,
    }


LOSS_CURVE = "training_curve.png"
"""The loss curve a model folder holds: training loss blue, validation loss orange."""


def _write_curve(folder: Path, history: Sequence[Mapping[str, Any]]) -> None:
    """``training_curve.png``: the loss per step/epoch (blue), the validation loss (orange)."""
    if not history:
        return
    series = {"loss": [float(h.get("loss", np.nan)) for h in history]}
    if any("val_loss" in h for h in history):
        series["val_loss"] = [float(h.get("val_loss", np.nan)) for h in history]
    (folder / LOSS_CURVE).write_bytes(encode_png(curve_picture(series)))


def _commit_folder(tmp: Path, final: Path, overwrite: bool) -> Path:
    """Move a finished model folder into place in one rename (an older one only if asked)."""
    backup = None
    if final.exists():
        if not overwrite:
            raise FileExistsError(f"{final} already exists; pass overwrite=True or another name=")
        backup = final.with_name(f".{final.name}.old-{os.getpid()}")
        os.replace(final, backup)
    try:
        os.replace(tmp, final)
    except BaseException:
        if backup is not None:
            os.replace(backup, final)
        raise
    if backup is not None:
        shutil.rmtree(backup, ignore_errors=True)
    return final


def _train_pixel_classifier(
    data: _Data,
    train_idx: Sequence[int],
    val_idx: Sequence[int],
    *,
    seed: int,
    n_estimators: int,
    steps: int,
    pixels_per_class: int,
    sigma_min: float,
    sigma_max: float,
    progress: bool,
    callback: TrainCallback | None,
) -> tuple[PixelClassifier, dict[str, Any]]:
    rng = np.random.default_rng(seed)
    classes = (0, 1, 2)

    def gather(indices: Sequence[int]) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.uint8]]:
        xs, ys = [], []
        for i in indices:
            feats = pixel_features(
                _normalise(data.images[i]), sigma_min=sigma_min, sigma_max=sigma_max
            )
            x, y = _pixels(feats, pixel_targets(data.masks[i]), rng, pixels_per_class, classes)
            xs.append(x)
            ys.append(y)
        return np.concatenate(xs), np.concatenate(ys)

    x_train, y_train = gather(train_idx)
    x_val, y_val = gather(val_idx) if val_idx else (x_train, y_train)
    forest, history, stopped = _fit_forest(
        x_train,
        y_train,
        x_val,
        y_val,
        n_estimators=n_estimators,
        steps=steps,
        seed=seed,
        progress=progress,
        callback=callback,
        description=f"{data.population}: pixel classifier",
    )
    _, small_area = _cell_size_px(data.masks[i] for i in train_idx)
    min_size = max(9, int(0.25 * small_area))
    model = PixelClassifier(
        forest,
        sigma_min=sigma_min,
        sigma_max=sigma_max,
        min_size=min_size,
        n_channels=data.images[0].shape[0],
        info={"history": history, "stopped_early": stopped},
    )
    extra = {
        "min_size": min_size,
        "pixel_classifier": {
            "file": CLASSIFIER_FILE,
            "sigma_min": sigma_min,
            "sigma_max": sigma_max,
            "n_estimators": len(forest.estimators_),
            "pixels_per_class": pixels_per_class,
            "training_pixels": len(y_train),
            "validation_pixels": len(y_val) if val_idx else 0,
        },
        "history": history,
        "stopped_early": stopped,
    }
    return model, extra


def train(
    samples: Any,
    *,
    backend: str = MODEL_TYPE,
    channels: Sequence[int | str] | int | str | None = None,
    population: str | None = None,
    name: str | None = None,
    folder: str | Path | None = None,
    validation_split: float = 0.2,
    seed: int = 0,
    progress: bool = True,
    callback: TrainCallback | None = None,
    overwrite: bool = False,
    n_estimators: int = 60,
    steps: int = 6,
    pixels_per_class: int = 4000,
    sigma_min: float = 1.0,
    sigma_max: float = 8.0,
    epochs: int = 100,
    steps_per_epoch: int | None = None,
    batch_size: int = 4,
    learning_rate: float | None = None,
    pretrained: str | None = None,
) -> Path:
    """Train a segmentation model for one population from exported samples.

    Parameters
    ----------
    samples : folder, or list of samples / sidecar paths
        Exported samples (`segpaint.samples`, ``session.samples(...)``, the paths
        ``session.export_roi`` returned, or a folder of them).  Excluded samples are skipped.
    backend : {"pixel-classifier", "stardist", "cellpose"}, keyword-only
        ``"pixel-classifier"`` (no extra needed): multiscale scikit-image features + a
        scikit-learn random forest (background / interior / boundary), then a watershed for
        instances.  ``"stardist"`` / ``"cellpose"`` (the extras): the library's own training
        (StarDist ``StarDist2D.train``; Cellpose 3 ``train.train_seg``), from scratch or from
        ``pretrained``, on the GPU when one is present.
    channels : int, str or sequence, keyword-only, optional
        Input channels by name or index (default: all the samples' channels).
    population : str, keyword-only, optional
        Train on this population's samples (default: the samples' one population).
    name : str, keyword-only, optional
        Model folder name (default: ``<population>_pixel_classifier_<UTC time>``).
    folder : path, keyword-only, optional
        Where ``models/segmentation_<population>/<name>/`` goes (default: the folder that holds
        the samples' ``annotations_<population>`` folder, i.e. the experiment root).
    validation_split : float, keyword-only
        Fraction of samples held out (deterministic from ``seed``; recorded in the folder).
    seed : int, keyword-only
        Seeds the split, the pixel sampling and the forest.
    progress : bool, keyword-only
        A tqdm progress bar with the validation loss.
    callback : callable(dict) -> bool or None, keyword-only, optional
        Called after each step with ``{"step", "n_trees", "loss", "accuracy"}`` (log loss and
        accuracy on the validation samples' pixels; the curve is saved as
        ``training_curve.png`` in the model folder); return
        ``False`` (or raise `StopTraining`) to stop early.  KeyboardInterrupt also stops
        cleanly once one step is done; the model trained so far is saved either way.
    overwrite : bool, keyword-only
        Replace an existing model folder of the same name.
    n_estimators, steps, pixels_per_class, sigma_min, sigma_max : keyword-only
        Pixel classifier: trees in the forest, grown in ``steps`` steps; pixels sampled per
        class and sample; feature scales in pixels.
    epochs, steps_per_epoch, batch_size, learning_rate, pretrained : keyword-only
        StarDist / Cellpose: training length, batch, learning rate (default: the library's),
        and a model to fine-tune (a StarDist model folder; a Cellpose model name or file).
        Their progress is the library's own log; ``callback`` gets ``{"epoch", "loss",
        "val_loss"}`` after each StarDist epoch (return ``False`` to stop); KeyboardInterrupt
        stops either and keeps the weights trained so far.

    Returns
    -------
    Path
        The model folder; pass it to ``session.presegment(population, folder)``.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend: {backend!r} is not known; use one of {list(BACKENDS)}")
    for key, value in (("n_estimators", n_estimators), ("steps", steps), ("epochs", epochs)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{key}: expected an int >= 1, got {value!r}")
    if backend != MODEL_TYPE:
        from segpaint.segment._models import _import

        _import(backend)  # a missing extra fails here, before any work, with the pip line
    # the deep-learning backends train on the padded samples, as Celldetective does
    data, files = _load_samples(samples, population, channels, unpad=backend == MODEL_TYPE)
    train_idx, val_idx = split_indices(len(data.images), validation_split, seed)
    target = _model_folder(folder, data.population, name, _default_root(files), backend)
    if target.exists() and not overwrite:
        raise FileExistsError(f"{target} already exists; pass overwrite=True or another name=")
    datasets = sorted({str(f.sidecar.parent) for f in files})
    if backend != MODEL_TYPE:
        from segpaint.segment._train_ml import train_deep

        return train_deep(
            backend,
            data,
            train_idx,
            val_idx,
            target,
            datasets=datasets,
            validation_split=validation_split,
            seed=seed,
            epochs=epochs,
            steps_per_epoch=steps_per_epoch,
            batch_size=batch_size,
            learning_rate=learning_rate,
            pretrained=pretrained,
            callback=callback,
            overwrite=overwrite,
        )
    started = time.perf_counter()
    model, extra = _train_pixel_classifier(
        data,
        train_idx,
        val_idx,
        seed=seed,
        n_estimators=n_estimators,
        steps=steps,
        pixels_per_class=pixels_per_class,
        sigma_min=sigma_min,
        sigma_max=sigma_max,
        progress=progress,
        callback=callback,
    )
    extra["training_seconds"] = round(time.perf_counter() - started, 3)
    return _save_pixel_model(
        model,
        data,
        target,
        train_names=[data.names[i] for i in train_idx],
        val_names=[data.names[i] for i in val_idx],
        datasets=datasets,
        validation_split=validation_split,
        seed=seed,
        extra=extra,
        overwrite=overwrite,
    )


def _save_pixel_model(
    model: PixelClassifier,
    data: _Data,
    target: Path,
    *,
    train_names: Sequence[str],
    val_names: Sequence[str],
    datasets: Sequence[str],
    validation_split: float,
    seed: int,
    extra: Mapping[str, Any],
    overwrite: bool,
) -> Path:
    import joblib

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        joblib.dump(model, tmp / CLASSIFIER_FILE)
        _write_curve(tmp, extra.get("history", []))
        config = _config_input(
            data,
            model_type=MODEL_TYPE,
            train_names=train_names,
            val_names=val_names,
            extra={**extra, "seed": seed, "segpaint_version": __version__},
        )
        _json(tmp / "config_input.json", config)
        steps = len(extra.get("history", [])) or 1
        _json(
            tmp / "training_instructions.json",
            _instructions(
                target,
                data,
                model_type=MODEL_TYPE,
                datasets=datasets,
                validation_split=validation_split,
                epochs=steps,
                batch_size=None,
                learning_rate=None,
                seed=seed,
            ),
        )
        return _commit_folder(tmp, target, overwrite)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def train_from_scribbles(
    session: Session,
    population: str,
    scribbles: Mapping[int, npt.ArrayLike],
    *,
    channels: Sequence[int | str] | int | str | None = None,
    name: str | None = None,
    folder: str | Path | None = None,
    seed: int = 0,
    progress: bool = True,
    callback: TrainCallback | None = None,
    overwrite: bool = False,
    n_estimators: int = 40,
    steps: int = 4,
    pixels_per_class: int = 20000,
    sigma_min: float = 1.0,
    sigma_max: float = 8.0,
) -> Path:
    """Train a pixel classifier from scribbles: "cell" (1) and "background" (2) marks on frames.

    Parameters
    ----------
    session : Session
    population : str
        The population the model is for (names the model folder).
    scribbles : mapping of frame -> array of shape (Y, X)
        ``1`` marks cell pixels, ``2`` background pixels, ``0`` unmarked.
    channels, name, seed, progress, callback, overwrite, n_estimators, steps,
    pixels_per_class, sigma_min, sigma_max
        As in `train`.
    folder : path, optional
        Default: the experiment root (or the file's folder); required for in-memory arrays.

    Returns
    -------
    Path
        The model folder.  With scribbles there is no boundary class: touching cells are split
        by a distance-transform watershed instead.
    """
    if population not in session.populations:
        raise KeyError(
            f"population: unknown population {population!r}; populations are {session.populations}"
        )
    if not isinstance(scribbles, Mapping) or not scribbles:
        raise ValueError(
            "scribbles: expected {frame: (Y, X) array of 0 (unmarked), 1 (cell), 2 (background)}"
        )
    names = session.channel_names
    index = _channel_indices(channels, names, session.n_channels)
    rng = np.random.default_rng(seed)
    xs, ys, masks = [], [], []
    for frame, marks in sorted(scribbles.items()):
        arr = np.asarray(marks)
        if arr.shape != session.frame_shape:
            raise ValueError(
                f"scribbles[{frame}]: shape {arr.shape} differs from the frame {session.frame_shape}"
            )
        bad = set(np.unique(arr).tolist()) - {0, 1, 2}
        if bad:
            raise ValueError(
                f"scribbles[{frame}]: values {sorted(bad)} found; use 1 for cell, 2 for "
                "background, 0 for unmarked"
            )
        image = np.asarray(session.image(int(frame)))[index]
        feats = pixel_features(_normalise(image), sigma_min=sigma_min, sigma_max=sigma_max)
        targets = np.full(arr.shape, -1, np.int16)
        targets[arr == 1] = INTERIOR
        targets[arr == 2] = BACKGROUND
        x, y = _pixels(feats, targets, rng, pixels_per_class, (BACKGROUND, INTERIOR))
        xs.append(x)
        ys.append(y)
        masks.append((arr == 1).astype(np.uint8))
    y_all = np.concatenate(ys)
    if set(np.unique(y_all).tolist()) != {BACKGROUND, INTERIOR}:
        raise ValueError("scribbles: mark both some cell (1) and some background (2) pixels")
    x_all = np.concatenate(xs)
    forest, history, stopped = _fit_forest(
        x_all,
        y_all,
        x_all,
        y_all,
        n_estimators=n_estimators,
        steps=steps,
        seed=seed,
        progress=progress,
        callback=callback,
        description=f"{population}: pixel classifier (scribbles)",
    )
    model = PixelClassifier(
        forest,
        sigma_min=sigma_min,
        sigma_max=sigma_max,
        min_size=9,
        n_channels=len(index),
        info={"history": history, "stopped_early": stopped, "scribbles": True},
    )
    data = _Data(
        [],
        [],
        [f"scribbles_frame_{int(t):04d}" for t in sorted(scribbles)],
        [names[i] for i in index],
        session.pixel_size_um,
        population,
    )
    # the experiment root, or the folder of the file: where annotations_<population> goes
    export = session.source.default_export_folder(population, "celldetective")
    target = _model_folder(folder, population, name, export.parent if export else None)
    if target.exists() and not overwrite:
        raise FileExistsError(f"{target} already exists; pass overwrite=True or another name=")
    extra = {
        "min_size": 9,
        "pixel_classifier": {
            "file": CLASSIFIER_FILE,
            "sigma_min": sigma_min,
            "sigma_max": sigma_max,
            "n_estimators": len(forest.estimators_),
            "pixels_per_class": pixels_per_class,
            "training_pixels": len(y_all),
            "scribbles": {
                "frames": sorted(int(t) for t in scribbles),
                "cell_pixels": int(sum((np.asarray(s) == 1).sum() for s in scribbles.values())),
                "background_pixels": int(
                    sum((np.asarray(s) == 2).sum() for s in scribbles.values())
                ),
            },
        },
        "history": history,
        "stopped_early": stopped,
        "source": str(session.source.path) if session.source.path else session.source.kind,
    }
    return _save_pixel_model(
        model,
        data,
        target,
        train_names=data.names,
        val_names=[],
        datasets=[str(extra["source"])],
        validation_split=0.0,
        seed=seed,
        extra=extra,
        overwrite=overwrite,
    )


# ------------------------------------------------------------------------------ evaluation
@dataclass
class Evaluation:
    """Scores of a model and of the method it replaces on the same samples.

    Attributes
    ----------
    rows : list of dict
        One per (method, IoU threshold): ``method, iou_threshold, f1, ap, tp, fp, fn,
        mean_matched_iou``, counts summed over the samples.
    per_sample : list of dict
        One per (sample, method): ``sample, method, f1, mean_matched_iou`` at IoU 0.5.
    methods : dict
        ``{"model": name, "baseline": name or None}``.
    samples : list of str
        The samples scored.
    worst : str
        The sample where the model's F1@0.5 is lowest.
    picture : ndarray of uint8, shape (Y, X, 3)
        That sample (the model's first input channel, in grey) with the true outlines (green),
        the model's (magenta) and the baseline's (orange), side by side.
    """

    rows: list[dict[str, Any]]
    per_sample: list[dict[str, Any]]
    methods: dict[str, str | None]
    samples: list[str]
    worst: str
    picture: npt.NDArray[np.uint8] = field(repr=False)

    def score(self, method: str = "model", iou_threshold: float = 0.5, key: str = "f1") -> float:
        """One number from `rows`: ``key`` of ``"model"`` or ``"baseline"`` at a threshold."""
        label = self.methods[method]
        for row in self.rows:
            if row["method"] == label and abs(row["iou_threshold"] - iou_threshold) < 1e-9:
                return float(row[key])
        raise KeyError(f"no score for method={method!r} at iou_threshold={iou_threshold}")

    def table(self) -> str:
        """The scores as a text table (F1 and AP per IoU threshold, one line per method)."""
        thresholds = sorted({r["iou_threshold"] for r in self.rows})
        head = ["method", *(f"F1@{t:g}" for t in thresholds), *(f"AP@{t:g}" for t in thresholds)]
        head.append("IoU(matched)")
        lines = [head]
        for label in [m for m in self.methods.values() if m is not None]:
            rows = {r["iou_threshold"]: r for r in self.rows if r["method"] == label}
            lines.append(
                [
                    label,
                    *(f"{rows[t]['f1']:.3f}" for t in thresholds),
                    *(f"{rows[t]['ap']:.3f}" for t in thresholds),
                    f"{rows[thresholds[0]]['mean_matched_iou']:.3f}",
                ]
            )
        widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
        text = [
            "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)) for line in lines
        ]
        return "\n".join(text)

    def save_picture(self, path: str | Path) -> Path:
        """Write the worst sample's picture as a PNG file."""
        return write_png(path, self.picture)

    def __str__(self) -> str:
        return f"{self.table()}\n({len(self.samples)} sample(s); worst: {self.worst})"


def _method_label(method: str | os.PathLike[str]) -> str:
    text = os.fspath(method)
    path = Path(text)
    return path.name if path.is_dir() or path.is_file() else text


def _trained_names(method: str) -> list[str] | None:
    """The samples a model folder was trained on (its recorded split), or None."""
    config = Path(method) / "config_input.json"
    if not config.is_file():
        return None
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
        names = data["dataset"]["train"]
    except (ValueError, KeyError, TypeError):
        return None
    return [str(n) for n in names] if isinstance(names, list) else None


def _sidecar_method(sample: SampleFile) -> tuple[str, dict[str, Any]] | None:
    method = sample.metadata.get("method")
    if not isinstance(method, dict) or not method.get("method"):
        return None
    params = dict(method.get("params") or {})
    params.pop("config", None)
    return str(method["method"]), params


def evaluate(
    model: str | os.PathLike[str],
    samples: Any,
    *,
    baseline: str | os.PathLike[str] | None = "auto",
    channels: Sequence[int | str] | int | str | None = None,
    validation_only: bool = True,
    iou_thresholds: Sequence[float] = IOU_THRESHOLDS,
    params: Mapping[str, Any] | None = None,
) -> Evaluation:
    """Score a model (or any method) on samples, beside the method it replaces.

    Parameters
    ----------
    model : str or path
        A model folder from `train` or anything `segpaint.segment.segment` accepts.
    samples : folder or list of samples
        As in `train`; excluded samples are skipped.
    baseline : str, path, None or "auto", keyword-only
        The method to compare with on the same samples.  ``"auto"``: the method recorded in
        each sample's sidecar (how it was pre-segmented before correction), else
        ``"threshold"``; ``None``: no baseline.
    channels : keyword-only, optional
        Channels given to ``model`` (a model folder knows its own channels by name).
    validation_only : bool, keyword-only
        For a model folder that records its split, score only the samples it was not trained
        on (its validation samples, and any new ones).
    iou_thresholds : sequence of float, keyword-only
        F1 and AP are computed at each (default 0.5, 0.6, ..., 0.9).
    params : mapping, keyword-only, optional
        Parameters for ``model`` (e.g. ``{"min_size": 20}``).

    Returns
    -------
    Evaluation
        ``str(result)`` is the table; ``result.picture`` / ``save_picture`` the worst sample.
    """
    from segpaint.segment import segment

    files = [s for s in as_sample_files(samples) if not s.excluded]
    method = os.fspath(model)
    if validation_only:
        names = _trained_names(method)
        if names is not None:
            files = [s for s in files if s.stem not in names]
            if not files:
                raise ValueError(
                    f"samples: {method} was trained on all of them; pass its validation samples "
                    "or new ones, or validation_only=False (scores on training samples are "
                    "optimistic)"
                )
    if not files:
        raise ValueError("samples: nothing to evaluate (no sample found, or all excluded)")
    label = _method_label(method)
    base_label = None if baseline is None else _method_label(baseline)
    if baseline == "auto":
        recorded = {(_sidecar_method(s) or ("threshold", {}))[0] for s in files}
        base_label = (
            f"{_method_label(recorded.pop())} (recorded)"
            if len(recorded) == 1
            else "recorded methods"
        )
    if base_label == label:
        base_label = f"{label} (baseline)"
    methods: dict[str, str | None] = {"model": label, "baseline": base_label}
    thresholds = [float(t) for t in iou_thresholds]
    counts: dict[tuple[str, float], list[float]] = {}
    per_sample: list[dict[str, Any]] = []
    worst: tuple[float, str, npt.NDArray[np.uint8]] | None = None
    for sample in files:
        image, truth = read_sample(sample)
        predictions = {
            label: segment(
                image,
                method,
                channels=channels,
                channel_names=sample.channels,
                pixel_size_um=sample.pixel_size_um,
                **dict(params or {}),
            )
        }
        if base_label is not None:
            base: tuple[str, dict[str, Any]] | None
            base = (
                _sidecar_method(sample)
                if baseline == "auto" or baseline is None
                else (os.fspath(baseline), {})
            )
            base_method, base_params = base or ("threshold", {})
            base_channels = base_params.pop("channels", None)
            predictions[base_label] = segment(
                image,
                base_method,
                channels=base_channels,
                channel_names=sample.channels,
                pixel_size_um=sample.pixel_size_um,
                **base_params,
            )
        for name, pred in predictions.items():
            for t in thresholds:
                r = match_instances(truth, pred, iou_threshold=t)
                acc = counts.setdefault((name, t), [0, 0, 0, 0.0])
                acc[0] += r.tp
                acc[1] += r.fp
                acc[2] += r.fn
                acc[3] += r.mean_matched_iou * r.tp
                if t == thresholds[0]:
                    per_sample.append(
                        {
                            "sample": sample.stem,
                            "method": name,
                            "f1": r.f1,
                            "mean_matched_iou": r.mean_matched_iou,
                        }
                    )
        f1 = match_instances(truth, predictions[label], iou_threshold=thresholds[0]).f1
        if worst is None or f1 < worst[0]:
            shown = _shown_channel(method, channels, sample.channels, image.shape[0])
            worst = (f1, sample.stem, _picture(image[shown], truth, predictions, label, base_label))
    rows = []
    for (name, t), (tp, fp, fn, iou_sum) in counts.items():
        total = tp + fp + fn
        rows.append(
            {
                "method": name,
                "iou_threshold": t,
                "f1": 2 * tp / (2 * tp + fp + fn) if total else 1.0,
                "ap": tp / total if total else 1.0,
                "tp": int(tp),
                "fp": int(fp),
                "fn": int(fn),
                "mean_matched_iou": iou_sum / tp if tp else 0.0,
            }
        )
    assert worst is not None  # files is not empty
    return Evaluation(rows, per_sample, methods, [s.stem for s in files], worst[1], worst[2])


def _shown_channel(
    method: str, channels: Sequence[int | str] | int | str | None, names: Sequence[str], n: int
) -> int:
    """The channel the picture shows: the model's first input channel when it is known."""
    first: int | str | None = None
    if channels is not None:
        first = channels if isinstance(channels, int | str) else next(iter(channels), None)
    else:
        config = Path(method) / "config_input.json"
        if config.is_file():
            try:
                wanted = json.loads(config.read_text(encoding="utf-8")).get("channels") or []
                first = str(wanted[0]) if wanted else None
            except (ValueError, AttributeError):
                first = None
    if isinstance(first, str):
        return list(names).index(first) if first in names else 0
    return int(first) if isinstance(first, int) and 0 <= first < n else 0


def _picture(
    image: npt.NDArray[Any],
    truth: npt.NDArray[Any],
    predictions: Mapping[str, npt.NDArray[Any]],
    label: str,
    base_label: str | None,
) -> npt.NDArray[np.uint8]:
    grey = grey_rgb(image)
    panels = [outline_overlay(grey, truth, (0, 255, 0))]
    panels.append(
        outline_overlay(
            outline_overlay(grey, truth, (0, 160, 0)), predictions[label], (255, 0, 255)
        )
    )
    if base_label is not None:
        panels.append(
            outline_overlay(
                outline_overlay(grey, truth, (0, 160, 0)), predictions[base_label], (255, 140, 0)
            )
        )
    gap = np.full((grey.shape[0], 4, 3), 255, np.uint8)
    out = [panels[0]]
    for panel in panels[1:]:
        out += [gap, panel]
    return np.concatenate(out, axis=1)
