"""Demo images: a synthetic time-lapse with ground truth, and loaders for real public images.

`synthetic_timelapse` needs nothing but numpy/scipy and runs offline in well under a second, so
notebooks, Binder demos and teaching material can use it anywhere.  `stardist_nuclei` and
`human_mitosis` return real microscopy images when their source is available (an installed
package or a network connection) and raise `DataUnavailableError` saying how to get them otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from scipy import ndimage as ndi

if TYPE_CHECKING:
    from segpaint.session import Session

__all__ = [
    "POPULATIONS",
    "DataUnavailableError",
    "Division",
    "PublicImage",
    "SyntheticTimelapse",
    "human_mitosis",
    "stardist_nuclei",
    "synthetic_timelapse",
]

POPULATIONS = ("targets", "effectors")
"""The populations of `synthetic_timelapse`: large dim "targets", small bright "effectors"."""

CHANNEL_NAMES = ("nuclei", "cytoplasm")

Labels = npt.NDArray[np.uint32]


class DataUnavailableError(RuntimeError):
    """A demo image whose source (optional package, network) is not available here."""


@dataclass(frozen=True)
class Division:
    """One cell division: ``mother`` is last seen at ``frame - 1``, ``daughters`` from ``frame``."""

    population: str
    frame: int
    mother: int
    daughters: tuple[int, int]


@dataclass(frozen=True)
class SyntheticTimelapse:
    """A synthetic movie and its ground truth (see `synthetic_timelapse`).

    Attributes
    ----------
    image : ndarray of uint16, shape (T, C, Y, X)
        Channel 0 ``"nuclei"`` (a DNA stain), channel 1 ``"cytoplasm"`` (a whole-cell stain).
    channel_names : list of str
        ``["nuclei", "cytoplasm"]``.
    labels : dict of str -> ndarray of uint32, shape (T, Y, X)
        True nuclei per population (``"targets"``, ``"effectors"``).  A cell keeps its label
        across frames (tracks); daughters of a division get new labels.
    cell_labels : dict of str -> ndarray of uint32, shape (T, Y, X)
        True whole cells, same label values as ``labels``.
    divisions : list of Division
        Every division, in frame order.
    pixel_size_um, frame_interval_min : float
        Calibration, so that Celldetective exports work without further settings.
    """

    image: npt.NDArray[np.uint16]
    channel_names: list[str]
    labels: dict[str, Labels]
    cell_labels: dict[str, Labels]
    divisions: list[Division] = field(default_factory=list)
    pixel_size_um: float = 0.65
    frame_interval_min: float = 5.0

    def open(self, **kwargs: Any) -> Session:
        """Open the movie as a `segpaint.Session` with its channel names and calibration.

        Populations ``targets`` and ``effectors`` start empty (the truth is not loaded); pass
        ``labels=data.labels`` to start from the ground truth instead.  Other keyword arguments
        go to `segpaint.open`.

        Examples
        --------
        >>> session = synthetic_timelapse(n_frames=2, shape=(64, 64)).open()
        >>> session.shape, session.channel_names, session.populations
        ((2, 2, 64, 64), ['nuclei', 'cytoplasm'], ['targets', 'effectors'])
        """
        from segpaint.session import open as open_session

        options: dict[str, Any] = {
            "axes": "TCYX",
            "channel_names": self.channel_names,
            "pixel_size_um": self.pixel_size_um,
            "frame_interval_min": self.frame_interval_min,
            "populations": list(POPULATIONS),
            "name": "synthetic",
        }
        options.update(kwargs)
        return open_session(self.image, **options)


@dataclass(frozen=True)
class PublicImage:
    """A real image from a public source, with its reference masks when the source has them.

    Attributes
    ----------
    image : ndarray, shape (Y, X)
    labels : ndarray of uint32, shape (Y, X), or None
    channel_names : list of str
    pixel_size_um : float or None
    source : str
        Where it comes from and whom to cite.
    """

    image: npt.NDArray[Any]
    labels: Labels | None
    channel_names: list[str]
    pixel_size_um: float | None
    source: str

    def open(self, *, population: str = "nuclei", **kwargs: Any) -> Session:
        """Open the image as a one-frame `segpaint.Session` (reference masks not loaded)."""
        from segpaint.session import open as open_session

        options: dict[str, Any] = {
            "axes": "YX",
            "channel_names": self.channel_names,
            "pixel_size_um": self.pixel_size_um,
            "populations": [population],
        }
        options.update(kwargs)
        return open_session(self.image, **options)


# ----------------------------------------------------------------------------- simulation
@dataclass
class _Cell:
    population: str
    label: int
    row: float
    col: float
    v_row: float
    v_col: float
    nucleus_radius: float
    cell_radius: float
    elongation: float  # nucleus axis ratio (>= 1)
    angle: float
    nucleus_brightness: float
    cell_brightness: float
    texture_seed: int
    divide_at: int | None = None


@dataclass(frozen=True)
class _Kind:
    nucleus_radius: tuple[float, float]
    cell_factor: tuple[float, float]
    nucleus_brightness: tuple[float, float]
    cell_brightness: tuple[float, float]
    speed: float
    persistence: float


_KINDS = {
    # MCF-7-like targets: big, dim, slow; NK-like effectors: small, bright, fast and persistent
    "targets": _Kind((8.5, 11.0), (1.7, 2.0), (0.30, 0.45), (0.22, 0.30), 0.8, 0.3),
    "effectors": _Kind((3.6, 4.6), (1.35, 1.5), (0.85, 1.0), (0.65, 0.80), 4.5, 0.85),
}


def _check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {value!r}")
    return int(value)


def _ellipse(
    shape: tuple[int, int],
    row: float,
    col: float,
    radius: float,
    *,
    elongation: float,
    angle: float,
) -> tuple[tuple[slice, slice], npt.NDArray[np.bool_]] | None:
    """The pixels of an ellipse of area ``pi radius^2``, as (slices, mask) clipped to the image."""
    a = radius * math.sqrt(elongation)  # semi-axes keep the area of a disc of `radius`
    b = radius / math.sqrt(elongation)
    reach = math.ceil(a) + 1
    r0, r1 = max(int(row) - reach, 0), min(int(row) + reach + 2, shape[0])
    c0, c1 = max(int(col) - reach, 0), min(int(col) + reach + 2, shape[1])
    if r1 <= r0 or c1 <= c0:
        return None
    rr, cc = np.mgrid[r0:r1, c0:c1]
    dr, dc = rr - row, cc - col
    cos, sin = math.cos(angle), math.sin(angle)
    u = dr * cos + dc * sin
    v = -dr * sin + dc * cos
    mask = (u / a) ** 2 + (v / b) ** 2 <= 1.0
    if not mask.any():
        return None
    return (slice(r0, r1), slice(c0, c1)), mask


def _new_cell(
    rng: np.random.Generator, population: str, label: int, row: float, col: float
) -> _Cell:
    kind = _KINDS[population]
    radius = float(rng.uniform(*kind.nucleus_radius))
    heading = float(rng.uniform(0, 2 * math.pi))
    return _Cell(
        population=population,
        label=label,
        row=row,
        col=col,
        v_row=kind.speed * math.sin(heading),
        v_col=kind.speed * math.cos(heading),
        nucleus_radius=radius,
        cell_radius=radius * float(rng.uniform(*kind.cell_factor)),
        elongation=float(rng.uniform(1.0, 1.5)),
        angle=float(rng.uniform(0, math.pi)),
        nucleus_brightness=float(rng.uniform(*kind.nucleus_brightness)),
        cell_brightness=float(rng.uniform(*kind.cell_brightness)),
        texture_seed=int(rng.integers(2**31)),
    )


def _place(
    rng: np.random.Generator,
    shape: tuple[int, int],
    cells: Sequence[_Cell],
    radius: float,
    *,
    margin: float,
    spacing: float,
) -> tuple[float, float]:
    """A random centre ``spacing`` radii away from the nuclei of ``cells`` (best of 200 tries)."""
    best, best_gap = (shape[0] / 2, shape[1] / 2), -math.inf
    for _ in range(200):
        row = float(rng.uniform(margin, shape[0] - margin))
        col = float(rng.uniform(margin, shape[1] - margin))
        gap = min(
            (
                math.hypot(row - c.row, col - c.col) - spacing * (radius + c.nucleus_radius)
                for c in cells
            ),
            default=math.inf,
        )
        if gap >= 0:
            return row, col
        if gap > best_gap:
            best, best_gap = (row, col), gap
    return best


def _texture(seed: int, shape: tuple[int, int]) -> npt.NDArray[np.float64]:
    """Smooth chromatin-like modulation around 1 (deterministic per cell)."""
    noise = np.random.default_rng(seed).normal(size=shape)
    smooth = ndi.gaussian_filter(noise, 1.5)
    texture = 1.0 + 0.35 * smooth / max(float(smooth.std()), 1e-9)
    return np.asarray(np.clip(texture, 0.3, None), dtype=np.float64)


def synthetic_timelapse(
    *,
    n_frames: int = 8,
    shape: tuple[int, int] = (256, 256),
    n_targets: int = 10,
    n_effectors: int = 14,
    n_divisions: int = 1,
    seed: int = 0,
    photons: float = 400.0,
    read_noise: float = 3.0,
    camera_offset: float = 0.0,
) -> SyntheticTimelapse:
    """A two-population fluorescence time-lapse with ground-truth masks, made offline in numpy.

    Large, dim, slow **targets** and small, bright, fast **effectors** move across the field:
    effectors crawl up to targets and touch them, pairs of targets touch, ``n_divisions``
    targets divide into two daughters, and effectors leave through the image border.  The
    image has a nuclei channel and a whole-cell (cytoplasm) channel, an uneven illumination
    gradient, out-of-focus blur that grows towards one side, and shot (Poisson) plus read
    (Gaussian) noise.  The same ``seed`` gives the same movie, bit for bit.

    Parameters
    ----------
    n_frames : int, keyword-only
        Number of frames T (>= 1).
    shape : (int, int), keyword-only
        ``(rows, cols)`` of a frame, each >= 32.
    n_targets, n_effectors : int, keyword-only
        Cells of each population in the first frame.
    n_divisions : int, keyword-only
        Targets that divide during the movie (needs ``n_frames >= 3``; capped at ``n_targets``).
    seed : int, keyword-only
        Random seed; everything is a function of it.
    photons : float, keyword-only
        Photons per pixel at full brightness: lower is noisier (shot noise).
    read_noise : float, keyword-only
        Standard deviation of the camera's Gaussian read noise, in counts.
    camera_offset : float, keyword-only
        Constant the camera adds to every pixel (real sCMOS/CCD cameras: ~100).  The default, 0,
        is an offset-subtracted image, as many acquisition programs save.

    Returns
    -------
    SyntheticTimelapse
        ``image`` ``(T, 2, Y, X)`` uint16, ``channel_names``, true ``labels`` (nuclei) and
        ``cell_labels`` (whole cells) per population, and the ``divisions``.

    Examples
    --------
    >>> data = synthetic_timelapse(n_frames=4, shape=(128, 128), seed=1)
    >>> data.image.shape, data.image.dtype, data.channel_names
    ((4, 2, 128, 128), dtype('uint16'), ['nuclei', 'cytoplasm'])
    >>> sorted(data.labels), data.labels["targets"].shape
    (['effectors', 'targets'], (4, 128, 128))
    >>> bool((synthetic_timelapse(n_frames=4, shape=(128, 128), seed=1).image == data.image).all())
    True
    """
    n_frames = _check_int("n_frames", n_frames, 1)
    n_targets = _check_int("n_targets", n_targets, 0)
    n_effectors = _check_int("n_effectors", n_effectors, 0)
    n_divisions = _check_int("n_divisions", n_divisions, 0)
    seed = _check_int("seed", seed, 0)
    try:
        rows, cols = (int(v) for v in shape)
    except (TypeError, ValueError) as err:
        raise ValueError(f"shape: expected (rows, cols), e.g. (256, 256), got {shape!r}") from err
    if rows < 32 or cols < 32:
        raise ValueError(f"shape: each side must be >= 32 pixels, got {shape!r}")
    for name, value in (
        ("photons", photons),
        ("read_noise", read_noise),
        ("camera_offset", camera_offset),
    ):
        if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
            raise ValueError(f"{name}: expected a finite number >= 0, got {value!r}")
    if photons <= 0:
        raise ValueError(f"photons: expected a number > 0 (e.g. 400), got {photons!r}")
    frame_shape = (rows, cols)
    rng = np.random.default_rng(seed)
    cells = _initial_cells(rng, frame_shape, n_targets, n_effectors)
    next_label = {
        p: 1 + max((c.label for c in cells if c.population == p), default=0) for p in POPULATIONS
    }
    targets = [c for c in cells if c.population == "targets"]
    divisions: list[Division] = []
    if n_frames >= 3 and targets:
        chosen = rng.choice(len(targets), size=min(n_divisions, len(targets)), replace=False)
        for k, index in enumerate(sorted(int(i) for i in chosen)):
            # spread divisions over the movie, never in the first frame
            targets[index].divide_at = 1 + int((k + 0.5) * (n_frames - 1) / len(chosen))

    image = np.empty((n_frames, 2, rows, cols), np.uint16)
    labels = {p: np.zeros((n_frames, rows, cols), np.uint32) for p in POPULATIONS}
    cell_labels = {p: np.zeros((n_frames, rows, cols), np.uint32) for p in POPULATIONS}
    gradient = _illumination(rng, frame_shape)
    focus = _focus_map(rng, frame_shape)
    for t in range(n_frames):
        if t > 0:
            cells = _step(rng, cells, t, frame_shape, next_label=next_label, divisions=divisions)
        clean = _render(cells, t, frame_shape, labels, cell_labels)
        image[t] = _acquire(
            rng,
            clean,
            gradient,
            focus,
            photons=photons,
            read_noise=read_noise,
            offset=camera_offset,
        )
    return SyntheticTimelapse(
        image=image,
        channel_names=list(CHANNEL_NAMES),
        labels=labels,
        cell_labels=cell_labels,
        divisions=divisions,
    )


def _initial_cells(
    rng: np.random.Generator, shape: tuple[int, int], n_targets: int, n_effectors: int
) -> list[_Cell]:
    cells: list[_Cell] = []
    for i in range(n_targets):
        radius = _KINDS["targets"].nucleus_radius[1]
        if i % 4 == 1 and cells:
            # a touching pair: nuclei side by side, 2 px apart at most
            partner = cells[-1]
            angle = float(rng.uniform(0, 2 * math.pi))
            cell = _new_cell(rng, "targets", i + 1, partner.row, partner.col)
            gap = partner.nucleus_radius + cell.nucleus_radius + 1.0
            cell.row = min(max(partner.row + gap * math.sin(angle), 12.0), shape[0] - 12.0)
            cell.col = min(max(partner.col + gap * math.cos(angle), 12.0), shape[1] - 12.0)
            cell.elongation = partner.elongation = 1.0  # round nuclei keep the gap predictable
            cell.v_row, cell.v_col = partner.v_row, partner.v_col
        else:
            row, col = _place(rng, shape, cells, radius, margin=radius + 14, spacing=2.6)
            cell = _new_cell(rng, "targets", i + 1, row, col)
        cells.append(cell)
    targets = list(cells)
    for i in range(n_effectors):
        radius = _KINDS["effectors"].nucleus_radius[1]
        if i % 3 == 0 and targets:
            # an effector in contact with a target's membrane
            host = targets[(i // 3) % len(targets)]
            angle = float(rng.uniform(0, 2 * math.pi))
            distance = host.cell_radius + radius * 1.2
            row = min(max(host.row + distance * math.sin(angle), 6.0), shape[0] - 6.0)
            col = min(max(host.col + distance * math.cos(angle), 6.0), shape[1] - 6.0)
        else:
            row, col = _place(rng, shape, cells, radius, margin=radius + 2, spacing=2.0)
        cell = _new_cell(rng, "effectors", i + 1, row, col)
        if i % 3 == 0 and targets:
            cell.v_row = cell.v_col = 0.0  # conjugated effectors stay put
        cells.append(cell)
    if n_effectors:
        # one effector heads straight out through the nearest border: cells leave the field
        leaver = max(
            (c for c in cells if c.population == "effectors"),
            key=lambda c: -min(c.row, c.col, shape[0] - c.row, shape[1] - c.col),
        )
        distances = (leaver.row, shape[0] - leaver.row, leaver.col, shape[1] - leaver.col)
        side = int(np.argmin(distances))
        speed = 2.0 * _KINDS["effectors"].speed
        leaver.v_row, leaver.v_col = ((-speed, 0.0), (speed, 0.0), (0.0, -speed), (0.0, speed))[
            side
        ]
    return cells


def _step(
    rng: np.random.Generator,
    cells: list[_Cell],
    t: int,
    shape: tuple[int, int],
    *,
    next_label: dict[str, int],
    divisions: list[Division],
) -> list[_Cell]:
    """Move every cell one frame, divide the ones due, drop the ones that left the field."""
    out: list[_Cell] = []
    for cell in cells:
        if cell.divide_at == t:
            out.extend(_divide(rng, cell, t, next_label, divisions))
            continue
        kind = _KINDS[cell.population]
        if cell.v_row or cell.v_col:
            # persistent random walk: keep part of the last velocity, redraw the rest
            keep = kind.persistence
            v_row, v_col = rng.normal(0.0, kind.speed / math.sqrt(2), size=2)
            if math.hypot(cell.v_row, cell.v_col) > 1.5 * kind.speed:
                keep = 1.0  # the designated leaver goes straight
                v_row = v_col = 0.0
            cell.v_row = keep * cell.v_row + (1 - keep) * float(v_row)
            cell.v_col = keep * cell.v_col + (1 - keep) * float(v_col)
        cell.row += cell.v_row
        cell.col += cell.v_col
        cell.angle += float(rng.normal(0.0, 0.05))
        outside = (
            cell.row < -cell.cell_radius
            or cell.col < -cell.cell_radius
            or cell.row > shape[0] + cell.cell_radius
            or cell.col > shape[1] + cell.cell_radius
        )
        if not outside:
            out.append(cell)
    return out


def _divide(
    rng: np.random.Generator,
    mother: _Cell,
    t: int,
    next_label: dict[str, int],
    divisions: list[Division],
) -> list[_Cell]:
    axis = float(rng.uniform(0, math.pi))
    daughters = []
    for sign in (-1.0, 1.0):
        label = next_label[mother.population]
        next_label[mother.population] += 1
        child = _new_cell(rng, mother.population, label, mother.row, mother.col)
        child.nucleus_radius = mother.nucleus_radius * 0.72
        child.cell_radius = mother.cell_radius * 0.75
        child.nucleus_brightness = mother.nucleus_brightness * 1.3  # condensed chromatin
        child.cell_brightness = mother.cell_brightness
        offset = mother.nucleus_radius * 0.95
        child.row = mother.row + sign * offset * math.sin(axis)
        child.col = mother.col + sign * offset * math.cos(axis)
        child.v_row = sign * 0.8 * math.sin(axis)
        child.v_col = sign * 0.8 * math.cos(axis)
        child.elongation = 1.0
        daughters.append(child)
    divisions.append(
        Division(mother.population, t, mother.label, (daughters[0].label, daughters[1].label))
    )
    return daughters


def _render(
    cells: Sequence[_Cell],
    t: int,
    shape: tuple[int, int],
    labels: Mapping[str, Labels],
    cell_labels: Mapping[str, Labels],
) -> npt.NDArray[np.float64]:
    """Noise-free ``(2, Y, X)`` intensities in [0, ~1], and the truth of frame ``t``."""
    clean = np.zeros((2, *shape), np.float64)
    # targets first, so that effectors (which crawl over them) are drawn on top; all bodies
    # before any nucleus, so that a neighbour's cytoplasm never hides a nucleus
    ordered = sorted(cells, key=lambda c: c.population != "targets")
    for cell in ordered:
        body = _ellipse(
            shape,
            cell.row,
            cell.col,
            cell.cell_radius,
            elongation=1.0 + (cell.elongation - 1) / 2,
            angle=cell.angle,
        )
        if body is not None:
            (rs, cs), mask = body
            _claim(cell_labels, cell, t, (rs, cs), mask)
            clean[1, rs, cs][mask] = (
                cell.cell_brightness * _texture(cell.texture_seed + 1, mask.shape)[mask] ** 0.3
            )
    for cell in ordered:
        nucleus = _ellipse(
            shape,
            cell.row,
            cell.col,
            cell.nucleus_radius,
            elongation=cell.elongation,
            angle=cell.angle,
        )
        if nucleus is not None:
            (rs, cs), mask = nucleus
            _claim(labels, cell, t, (rs, cs), mask)
            _claim(cell_labels, cell, t, (rs, cs), mask)  # a nucleus belongs to its own cell
            clean[0, rs, cs][mask] = (
                cell.nucleus_brightness * _texture(cell.texture_seed, mask.shape)[mask]
            )
            # the nucleus excludes the cytoplasmic stain
            clean[1, rs, cs][mask] = 0.6 * cell.cell_brightness
    return clean


def _claim(
    truth: Mapping[str, Labels],
    cell: _Cell,
    t: int,
    box: tuple[slice, slice],
    mask: npt.NDArray[np.bool_],
) -> None:
    """Write ``cell`` into its population's truth and hide whatever lay under it in the others."""
    for population, stack in truth.items():
        stack[t][box][mask] = cell.label if population == cell.population else 0


def _illumination(rng: np.random.Generator, shape: tuple[int, int]) -> npt.NDArray[np.float64]:
    """A smooth tilt-plus-vignetting field in [0.55, 1.0] (uneven illumination)."""
    rr, cc = np.mgrid[0 : shape[0], 0 : shape[1]] / np.array(shape, float)[:, None, None]
    tilt = float(rng.uniform(0, 2 * math.pi))
    ramp = (rr - 0.5) * math.sin(tilt) + (cc - 0.5) * math.cos(tilt)
    vignette = -((rr - 0.5) ** 2 + (cc - 0.5) ** 2)
    field = 0.7 * ramp + 0.3 * vignette
    return np.asarray(0.55 + 0.45 * (field - field.min()) / np.ptp(field), dtype=np.float64)


def _focus_map(rng: np.random.Generator, shape: tuple[int, int]) -> npt.NDArray[np.float64]:
    """Weight of the out-of-focus image per pixel: 0 (sharp) on one side to 0.7 on the other."""
    cc = np.linspace(0.0, 1.0, shape[1])[None, :]
    if rng.random() < 0.5:
        cc = cc[:, ::-1]
    return np.asarray(np.broadcast_to(0.7 * cc**2, shape), dtype=np.float64)


def _acquire(
    rng: np.random.Generator,
    clean: npt.NDArray[np.float64],
    gradient: npt.NDArray[np.float64],
    focus: npt.NDArray[np.float64],
    *,
    photons: float,
    read_noise: float,
    offset: float,
) -> npt.NDArray[np.uint16]:
    """Optics (PSF, defocus, illumination, background) then camera (shot + read noise)."""
    out = np.empty(clean.shape, np.uint16)
    backgrounds = (0.06, 0.10)  # autofluorescence and out-of-plane light, relative units
    for c in range(clean.shape[0]):
        sharp = ndi.gaussian_filter(clean[c], 1.0)
        blurred = ndi.gaussian_filter(clean[c], 3.5)
        optical = (1 - focus) * sharp + focus * blurred
        expected = photons * gradient * (optical + backgrounds[c])
        counts = rng.poisson(expected).astype(np.float64)
        counts += rng.normal(offset, read_noise, size=counts.shape)
        out[c] = np.clip(np.rint(counts), 0, np.iinfo(np.uint16).max).astype(np.uint16)
    return out


# ----------------------------------------------------------------------------- public images
def stardist_nuclei() -> PublicImage:
    """StarDist's bundled 2-D nuclei test image and its reference masks.

    Needs the ``stardist`` package (``pip install "segpaint[stardist]"``); the image ships with
    it, so no network is needed.  Cite: Schmidt, Weigert et al., MICCAI 2018 (StarDist), image
    from the DSB 2018 nuclei data.

    Raises
    ------
    DataUnavailableError
        When stardist is not installed.
    """
    try:
        from stardist import data as stardist_data
    except ImportError as err:
        raise DataUnavailableError(
            "stardist_nuclei() needs the stardist package, which is not installed: "
            'pip install "segpaint[stardist]" (or use synthetic_timelapse(), which needs nothing)'
        ) from err
    loader: Callable[..., Any] = stardist_data.test_image_nuclei_2d
    image, mask = loader(return_mask=True)
    return PublicImage(
        image=np.asarray(image),
        labels=np.asarray(mask).astype(np.uint32),
        channel_names=["nuclei"],
        pixel_size_um=None,
        source="StarDist test_image_nuclei_2d (DSB 2018 nuclei; Schmidt, Weigert et al., 2018)",
    )


def human_mitosis() -> PublicImage:
    """scikit-image's ``human_mitosis`` image: 512x512 uint8 nuclei, many dividing (no masks).

    scikit-image downloads it on first use and caches it, which needs the ``pooch`` package and
    a network connection once.  Image: Moffat et al., Cell 2006, via scikit-image's data
    module (CC0).

    Raises
    ------
    DataUnavailableError
        When pooch is missing or the download fails (offline); the message says how to fix it.
    """
    from skimage import data as skimage_data

    loader: Callable[[], Any] = skimage_data.human_mitosis
    try:
        image = loader()
    except ImportError as err:
        raise DataUnavailableError(
            "human_mitosis() downloads the image through scikit-image, which needs the pooch "
            "package: pip install pooch (then run it once with a network connection)"
        ) from err
    except (OSError, ValueError) as err:
        raise DataUnavailableError(
            "human_mitosis() could not download the image (no network connection?): "
            f"{type(err).__name__}: {err}. Run it once online to cache it, or use "
            "synthetic_timelapse(), which works offline"
        ) from err
    return PublicImage(
        image=np.asarray(image),
        labels=None,
        channel_names=["nuclei"],
        pixel_size_um=None,
        source="scikit-image data.human_mitosis (Moffat et al., Cell 2006; CC0)",
    )
