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

from segpaint.io.stack import tiff_planes

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
    A missing ``[Populations]`` section means ``effectors, targets``. The file may be UTF-8
    (with or without a BOM) or Latin-1, as Celldetective writes it on any system.

    Raises
    ------
    ExperimentError
        When a required key is missing or not a finite positive number, a channel index or
        ``len_movie`` is not a whole number, or ``movie_prefix`` holds a path (``/``, ``\\``,
        ``..``); the message names the key, the section and the fix.
    """
    path = Path(path)
    if not path.is_file():
        raise ExperimentError(f"no config.ini at {path}; a Celldetective experiment root holds one")
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(_config_text(path), source=str(path))
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
        idx = _whole_number(raw)
        if idx is None or idx < 0:
            raise ExperimentError(
                f"{path}: channel '{name} = {raw}' must be an integer index (0, 1, ...) or nan"
            )
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
    raw_len = movie.get("len_movie", "").strip()
    if raw_len.lower() not in ("", "nan", "none"):
        len_movie = _whole_number(raw_len)
        if len_movie is None or len_movie < 1:
            raise ExperimentError(
                f"{path}: [MovieSettings] len_movie = {raw_len!r} must be the number of frames "
                "of the movies (a whole number, 1 or more); fix it or delete the line"
            )
    prefix = movie.get("movie_prefix", "").strip()
    _check_prefix(prefix, path)
    return ExperimentConfig(
        path=path,
        channel_names=[indexed[i] for i in expected],
        pixel_size_um=pixel,
        frame_interval_min=interval,
        movie_prefix=prefix,
        populations=populations,
        len_movie=len_movie,
    )


def _check_prefix(prefix: str, config: Path) -> None:
    """``movie_prefix`` names files inside ``movie/``: no separators, no ``..``."""
    if any(bad in prefix for bad in ("/", "\\", "\0", "..")):
        raise ExperimentError(
            f"{config}: [MovieSettings] movie_prefix = {prefix!r} must be the start of a file "
            "name in each position's movie/ folder, without '/', '\\' or '..'; fix it in "
            "config.ini"
        )


def _config_text(path: Path) -> str:
    """The text of a config.ini: UTF-8 (with or without a BOM), else Latin-1.

    Celldetective writes its configs with Python's default encoding, which is not UTF-8
    everywhere (a "µ" from Windows is one Latin-1 byte); every byte string is valid Latin-1.
    """
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise ExperimentError(f"cannot read {path}: {err}") from err
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _whole_number(text: str) -> int | None:
    """``text`` as an int when it is a finite whole number (``"3"``, ``"3.0"``), else None."""
    try:
        value = float(text)
    except ValueError:
        return None
    if not math.isfinite(value) or value != int(value):
        return None
    return int(value)


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
        """The movie file of this position (``movie/<movie_prefix>*.tif``).

        The file must resolve inside this position's ``movie/`` folder (a symlink out of it is
        refused), and when config.ini gives ``len_movie`` the movie must hold ``len_movie``
        frames of the listed channels.

        Raises
        ------
        ExperimentError
            When no movie or several match, the movie escapes ``movie/``, or its frame count
            disagrees with ``len_movie``.
        """
        movie_dir = self.folder / "movie"
        prefix = self.config.movie_prefix
        _check_prefix(prefix, self.config.path)
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
        movie = files[0]
        inside = self.folder.resolve() / "movie"
        real = movie.resolve()
        if not real.is_relative_to(inside):
            raise ExperimentError(
                f"the movie {movie} resolves to {real}, outside the position's movie folder "
                f"{self.folder / 'movie'}; segpaint reads only files inside the experiment: copy "
                "the movie there instead of linking it"
            )
        self._check_length(movie)
        return movie

    def _check_length(self, movie: Path) -> None:
        """The movie holds ``len_movie`` frames of the channels in config.ini, when given."""
        expected = self.config.len_movie
        if expected is None:
            return
        n_c = len(self.config.channel_names)
        planes = tiff_planes(movie)
        if planes != expected * n_c:
            raise ExperimentError(
                f"config.ini says len_movie = {expected} and lists {n_c} channel(s), so "
                f"{expected * n_c} image planes, but {movie.name} holds {planes} "
                f"({planes / n_c:g} frames of {n_c} channels); fix len_movie or the [Channels] "
                f"section in {self.config.path}"
            )

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
