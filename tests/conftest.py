"""Shared fixtures: small synthetic stacks, TIFF files, a tiny Celldetective experiment."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import numpy as np
import pytest
import tifffile

from optional import import_or_skip

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    """../shared/data (real Celldetective files); skips when this clone has none."""
    if not SHARED_DATA.is_dir():
        if os.environ.get("SEGPAINT_REQUIRE_SHARED") == "1":
            pytest.fail(f"SEGPAINT_REQUIRE_SHARED=1 but {SHARED_DATA} is missing")
        pytest.skip(f"shared test data not found at {SHARED_DATA} (only in the project checkout)")
    return SHARED_DATA


@pytest.fixture
def stack() -> np.ndarray:
    """A (T=3, C=2, Y=64, X=80) uint16 stack with distinct frames."""
    rng = np.random.default_rng(0)
    data = rng.integers(0, 4000, size=(3, 2, 64, 80), dtype=np.uint16)
    data[:, 1] //= 2
    data[1] += 100
    return data


def _write_experiment(
    root: Path,
    movie: np.ndarray,
    *,
    channels: str = "brightfield_channel = 0\nlive_nuclei_channel = 1\ndead_nuclei_channel = nan",
    populations: str | None = "targets",
    extra_movie_settings: str = "pxtoum = 0.5\nframetomin = 2.0",
) -> Path:
    """Write a Celldetective experiment with one position W1/100 holding ``movie`` (T, C, Y, X)."""
    root.mkdir(parents=True, exist_ok=True)
    pops = f"[Populations]\npopulations = {populations}\n\n" if populations else ""
    cfg = (
        pops
        + "[MovieSettings]\n"
        + extra_movie_settings
        + "\nmovie_prefix = Aligned\n\n[Channels]\n"
        + channels
        + "\n"
    )
    (root / "config.ini").write_text(textwrap.dedent(cfg))
    movie_dir = root / "W1" / "100" / "movie"
    movie_dir.mkdir(parents=True)
    tifffile.imwrite(movie_dir / "Aligned.tif", movie, imagej=True, metadata={"axes": "TCYX"})
    return root


@pytest.fixture
def experiment(tmp_path: Path, stack: np.ndarray) -> Path:
    """A tiny Celldetective experiment (3 frames, 2 channels) in a temp folder."""
    return _write_experiment(tmp_path / "MyExp", stack)


@pytest.fixture
def write_experiment():
    """The experiment writer, for tests that need an unusual config.ini."""
    return _write_experiment


@pytest.fixture
def import_optional():
    """``import_optional(module, env=..., install=...)``: see :func:`import_or_skip`."""
    return import_or_skip
