"""Celldetective experiments: ``config.ini``, wells/positions, movies and label folders.

Layout (as Celldetective writes it)::

    experiment/
        config.ini
        W1/100/movie/<movie_prefix>*.tif       # pages t0c0, t0c1, ..., t1c0, ...
        W1/100/labels_<population>/0000.tif    # one YX label image per frame
        annotations_<population>/               # exported training samples
"""

from __future__ import annotations

import configparser
import math
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_POPULATIONS = ("effectors", "targets")


class ExperimentError(ValueError):
    """A Celldetective experiment folder or config.ini that cannot be used."""


@dataclass(frozen=True)
class ExperimentConfig:
    """What segpaint needs from a Celldetective ``config.ini``."""

    path: Path
    channel_names: list[str]
    """Channel names in stack order (sorted by their index in ``[Channels]``)."""
    pixel_size_um: float
    frame_interval_min: float
    movie_prefix: str = ""
    populations: list[str] = field(default_factory=lambda: list(DEFAULT_POPULATIONS))
    len_movie: int | None = None


def read_config(path: str | Path) -> ExperimentConfig:
    """Read a Celldetective ``config.ini``.

    Channels come from ``[Channels]`` (``name = index`` or ``nan`` for absent ones); legacy
    configs that keep ``*_channel = index`` keys in ``[MovieSettings]`` are read too.
    A missing ``[Populations]`` section means ``effectors, targets``.

    Raises
    ------
    ExperimentError
        When a required key is missing or not a number; the message names the key, the section
        and the line to add.
    """
    path = Path(path)
    if not path.is_file():
        raise ExperimentError(f"no config.ini at {path}; a Celldetective experiment root holds one")
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except configparser.Error as err:
        raise ExperimentError(f"{path} is not a valid config.ini: {err}") from err
    if not parser.has_section("MovieSettings"):
        raise ExperimentError(
            f"{path} has no [MovieSettings] section; add it with pxtoum = <µm per pixel> and "
            "frametomin = <minutes per frame>"
        )
    movie = parser["MovieSettings"]

    def number(key: str) -> float:
        if key not in movie:
            raise ExperimentError(
                f"{path} is missing '{key}' in [MovieSettings]; add a line '{key} = <number>' "
                f"({'µm per pixel' if key == 'pxtoum' else 'minutes per frame'})"
            )
        try:
            value = float(movie[key])
        except ValueError as err:
            raise ExperimentError(
                f"{path}: [MovieSettings] {key} = {movie[key]!r} is not a number"
            ) from err
        if not math.isfinite(value) or value <= 0:
            raise ExperimentError(
                f"{path}: [MovieSettings] {key} must be a positive number; got {value}"
            )
        return value

    pixel = number("pxtoum")
    interval = number("frametomin")
    if parser.has_section("Channels"):
        items = list(parser["Channels"].items())
    else:  # legacy layout
        items = [(k, v) for k, v in movie.items() if k.endswith("_channel")]
    indexed: dict[int, str] = {}
    for name, value in items:
        raw = value.strip()
        if raw.lower() in ("nan", "none", ""):
            continue
        try:
            idx = int(float(raw))
        except ValueError as err:
            raise ExperimentError(
                f"{path}: channel '{name} = {raw}' must be an integer index or nan"
            ) from err
        if idx in indexed:
            raise ExperimentError(
                f"{path}: channels '{indexed[idx]}' and '{name}' both have index {idx}; "
                "give each channel its own index"
            )
        indexed[idx] = name
    if not indexed:
        raise ExperimentError(
            f"{path} lists no channels; add a [Channels] section with 'name = index' lines"
        )
    expected = list(range(len(indexed)))
    if sorted(indexed) != expected:
        raise ExperimentError(
            f"{path}: channel indices {sorted(indexed)} must be 0..{len(indexed) - 1} without gaps"
        )
    populations = list(DEFAULT_POPULATIONS)
    if parser.has_section("Populations") and "populations" in parser["Populations"]:
        populations = [
            p.strip().lower() for p in parser["Populations"]["populations"].split(",") if p.strip()
        ]
    len_movie = None
    if "len_movie" in movie:
        try:
            len_movie = int(float(movie["len_movie"]))
        except ValueError:
            len_movie = None
    return ExperimentConfig(
        path=path,
        channel_names=[indexed[i] for i in expected],
        pixel_size_um=pixel,
        frame_interval_min=interval,
        movie_prefix=movie.get("movie_prefix", "").strip(),
        populations=populations,
        len_movie=len_movie,
    )


@dataclass(frozen=True)
class Position:
    """One position of an experiment: ``root/well/position``."""

    root: Path
    well: str
    position: str
    config: ExperimentConfig

    @property
    def folder(self) -> Path:
        """The position folder (holds ``movie/`` and ``labels_<population>/``)."""
        return self.root / self.well / self.position

    @property
    def name(self) -> str:
        """Experiment name (the root folder's name)."""
        return self.root.name

    def movie_path(self) -> Path:
        """The movie file of this position (``movie/<movie_prefix>*.tif``)."""
        movie_dir = self.folder / "movie"
        prefix = self.config.movie_prefix
        files = sorted(
            p
            for p in movie_dir.glob(f"{prefix}*.tif*")
            if p.is_file() and not p.name.startswith(".")
        )
        if not files:
            raise ExperimentError(
                f"no movie in {movie_dir} (looked for '{prefix}*.tif' from movie_prefix in "
                "config.ini); put the position's movie there or fix movie_prefix"
            )
        if len(files) > 1:
            names = ", ".join(p.name for p in files)
            raise ExperimentError(
                f"several movies match movie_prefix={prefix!r} in {movie_dir}: {names}; "
                "set movie_prefix in config.ini to pick one"
            )
        return files[0]

    def labels_folder(self, population: str) -> Path:
        """``labels_<population>/`` inside the position folder."""
        return self.folder / f"labels_{population}"


def is_experiment_root(path: Path) -> bool:
    """True when ``path`` holds a ``config.ini``."""
    return (path / "config.ini").is_file()


def is_position_folder(path: Path) -> bool:
    """True when ``path`` looks like ``root/well/position`` with a ``movie/`` folder."""
    return (path / "movie").is_dir() and is_experiment_root(path.parent.parent)


def list_positions(root: Path) -> list[tuple[str, str]]:
    """All ``(well, position)`` pairs of an experiment, sorted."""
    out = []
    for well in sorted(p for p in root.iterdir() if p.is_dir()):
        for pos in sorted(p for p in well.iterdir() if p.is_dir()):
            if (pos / "movie").is_dir():
                out.append((well.name, pos.name))
    return out


def resolve_position(
    source: str | Path, *, well: str | None = None, position: str | int | None = None
) -> Position:
    """Find the position to open from a position folder or an experiment root.

    With an experiment root, ``well`` and ``position`` pick one; when the experiment has a single
    position they may be omitted.
    """
    path = Path(source)
    if is_position_folder(path):
        root = path.parent.parent
        return Position(root, path.parent.name, path.name, read_config(root / "config.ini"))
    if not is_experiment_root(path):
        raise ExperimentError(
            f"{path} is neither a Celldetective experiment root (with config.ini) nor a "
            "position folder (root/well/position with movie/)"
        )
    config = read_config(path / "config.ini")
    positions = list_positions(path)
    if not positions:
        raise ExperimentError(f"the experiment {path} has no position with a movie/ folder")
    choices = [
        (w, p)
        for w, p in positions
        if (well is None or w == well) and (position is None or p == str(position))
    ]
    listing = ", ".join(f"well={w!r}, position={p!r}" for w, p in positions)
    if not choices:
        raise ExperimentError(
            f"no position well={well!r}, position={position!r} in {path}; available: {listing}"
        )
    if len(choices) > 1:
        raise ExperimentError(
            f"the experiment {path} has several positions; pick one with well= and position=: "
            f"{listing}; or open them all with segpaint.open_experiment({str(path)!r})"
        )
    w, p = choices[0]
    return Position(path, w, p, config)
