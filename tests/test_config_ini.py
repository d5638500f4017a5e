"""config.ini as found in the wild: encodings, odd numbers, len_movie, and movie_prefix paths.

Every bad config gives an ExperimentError that names the key and the fix (never a raw
UnicodeDecodeError or OverflowError), and nothing outside ``<position>/movie/`` is opened.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile

import segpaint
from segpaint.io import ExperimentError, read_config

CONFIG = """[Populations]
populations = targets

[MovieSettings]
pxtoum = {pxtoum}
frametomin = 2.0
{extra}movie_prefix = {prefix}

[Channels]
{channel} = 0
live_nuclei_channel = 1
"""


def _config(
    root: Path,
    *,
    pxtoum: str = "0.5",
    extra: str = "",
    prefix: str = "Aligned",
    channel: str = "brightfield_channel",
    encoding: str = "utf-8",
    bom: bool = False,
) -> Path:
    text = CONFIG.format(pxtoum=pxtoum, extra=extra, prefix=prefix, channel=channel)
    data = text.encode(encoding)
    (root / "config.ini").write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return root


@pytest.fixture
def root(tmp_path, stack, write_experiment) -> Path:
    """An experiment with one position W1/100 whose movie is the (3, 2, 64, 80) ``stack``."""
    return write_experiment(tmp_path / "Exp", stack)


def test_latin1_config_reads_its_micro_sign(root, stack):
    _config(root, channel="µ_channel", extra="# pixel size in µm\n", encoding="latin-1")
    assert b"\xb5" in (root / "config.ini").read_bytes()  # not valid UTF-8
    s = segpaint.open(root)
    assert s.channel_names == ["µ_channel", "live_nuclei_channel"]
    np.testing.assert_array_equal(s.image(2), stack[2])


def test_utf8_config_with_bom(root):
    _config(root, channel="µ_channel", bom=True)
    cfg = read_config(root / "config.ini")
    assert cfg.channel_names == ["µ_channel", "live_nuclei_channel"]
    assert cfg.populations == ["targets"]  # the first section is not lost to the BOM


@pytest.mark.parametrize("value", ["inf", "1e999", "-inf", "nan", "-0.3", "0"])
def test_non_finite_or_non_positive_pixel_size(root, value):
    _config(root, pxtoum=value)
    with pytest.raises(
        ExperimentError, match=r"\[MovieSettings\] pxtoum must be a positive number"
    ):
        segpaint.open(root)


@pytest.mark.parametrize("value", ["1e400", "inf", "2.5", "-3", "0", "ten"])
def test_bad_len_movie(root, value):
    _config(root, extra=f"len_movie = {value}\n")
    with pytest.raises(
        ExperimentError, match=rf"len_movie = '{value}' must be the number of frames"
    ):
        segpaint.open(root)


@pytest.mark.parametrize("value", ["inf", "1e400", "1.5", "-1"])
def test_bad_channel_index(root, value):
    text = CONFIG.format(pxtoum="0.5", extra="", prefix="Aligned", channel="a")
    (root / "config.ini").write_text(text.replace("a = 0", f"a = {value}"))
    with pytest.raises(ExperimentError, match=rf"channel 'a = {value}' must be an integer index"):
        segpaint.open(root)


def test_len_movie_that_matches_the_movie(root, stack):
    _config(root, extra="len_movie = 3\n")
    s = segpaint.open(root)
    assert s.shape == stack.shape
    np.testing.assert_array_equal(s.image(1), stack[1])


@pytest.mark.parametrize("value", ["10", "2"])
def test_len_movie_that_disagrees_with_the_movie(root, value):
    _config(root, extra=f"len_movie = {value}\n")
    n = int(value)
    with pytest.raises(
        ExperimentError,
        match=rf"len_movie = {n} and lists 2 channel\(s\), so {2 * n} image planes, but "
        r"Aligned.tif holds 6 \(3 frames of 2 channels\); fix len_movie",
    ):
        segpaint.open(root)


def test_len_movie_catches_a_wrong_channel_count(root):
    """6 planes but len_movie = 3 with 3 channels listed: 9 planes expected, so refused."""
    _config(root, extra="len_movie = 3\n")
    text = (root / "config.ini").read_text() + "dead_nuclei_channel = 2\n"
    (root / "config.ini").write_text(text)
    with pytest.raises(ExperimentError, match=r"lists 3 channel\(s\), so 9 image planes"):
        segpaint.open(root)


@pytest.mark.parametrize("prefix", ["../../..", "../../../secret", "sub/Aligned", "..\\x", ".."])
def test_movie_prefix_with_a_path_is_refused(root, prefix):
    secret = root.parent / "secret.tif"
    tifffile.imwrite(secret, np.zeros((4, 4), np.uint8))
    _config(root, prefix=prefix)
    with pytest.raises(ExperimentError, match=r"movie_prefix = .* without '/', '\\' or '\.\.'"):
        segpaint.open(root)


def test_movie_symlinked_out_of_the_experiment_is_refused(root, tmp_path):
    outside = tmp_path / "elsewhere.tif"
    tifffile.imwrite(outside, np.zeros((3, 2, 64, 80), np.uint16))
    movie = root / "W1" / "100" / "movie" / "Aligned.tif"
    movie.unlink()
    movie.symlink_to(outside)
    with pytest.raises(ExperimentError, match=r"outside the position's movie folder"):
        segpaint.open(root)


def test_movie_folder_symlinked_out_of_the_experiment_is_refused(root, tmp_path):
    movie_dir = root / "W1" / "100" / "movie"
    (root / "W1" / "100" / "movie").rename(tmp_path / "moved")
    movie_dir.symlink_to(tmp_path / "moved", target_is_directory=True)
    with pytest.raises(ExperimentError, match=r"outside the position's movie folder"):
        segpaint.open(root / "W1" / "100")


def test_symlink_inside_the_movie_folder_is_fine(root, stack):
    movie_dir = root / "W1" / "100" / "movie"
    (movie_dir / "Aligned.tif").rename(movie_dir / "real.tif")
    (movie_dir / "Aligned.tif").symlink_to(movie_dir / "real.tif")
    _config(root, prefix="Align")
    np.testing.assert_array_equal(segpaint.open(root).image(2), stack[2])


def test_unreadable_config_bytes_never_escape_as_unicode_errors(root):
    (root / "config.ini").write_bytes(b"\xff\xfe[\x00M\x00o\x00v\x00")  # UTF-16 garbage
    with pytest.raises(ExperimentError):
        segpaint.open(root)
