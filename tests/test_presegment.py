"""Session.presegment: frames, modes, undo, progress, parallel runs and a Dask cluster."""

from __future__ import annotations

import json
import threading
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path

import numpy as np
import pytest

import segpaint
from segpaint._presegment import _windowed, resolve_method
from segpaint.metrics import match_instances
from segpaint.segment import segment, write_threshold_config


def movie(n_frames: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(T, C=2, Y, X): channel 1 holds moving nuclei; channel 0 is noise. And the truth."""
    rng = np.random.default_rng(seed)
    shape = (96, 96)
    rows, cols = np.ogrid[: shape[0], : shape[1]]
    frames = np.zeros((n_frames, 2, *shape), np.uint16)
    truth = np.zeros((n_frames, *shape), np.int32)
    for t in range(n_frames):
        frames[t, 0] = rng.integers(0, 400, shape)
        nuclei = rng.normal(150, 10, shape)
        for index, (r, c) in enumerate([(20, 20 + 3 * t), (50, 60), (75, 25 + 2 * t)], start=1):
            disc = (rows - r) ** 2 + (cols - c) ** 2 <= 81
            nuclei[disc] += 900
            truth[t][disc] = index
        frames[t, 1] = np.clip(nuclei, 0, None)
    return frames, truth


@pytest.fixture
def session() -> segpaint.Session:
    frames, _ = movie()
    return segpaint.open(frames, axes="TCYX", channel_names=["noise", "dna"])


def test_presegments_all_frames_and_records_the_method(session: segpaint.Session) -> None:
    _, truth = movie()
    written = session.presegment("cells", channels=["dna"], progress=False)
    assert written == [0, 1, 2, 3]
    for t in range(4):
        labels = np.asarray(session.labels("cells", t))
        assert match_instances(truth[t], labels).tp == 3
        # the same as segmenting the frame directly
        expected = segment(session.image(t), channels=["dna"], channel_names=session.channel_names)
        np.testing.assert_array_equal(labels, expected)
    assert session.method("cells") == {"method": "threshold", "params": {"channels": ["dna"]}}


def test_frames_subset_and_one_undo_step_per_frame(session: segpaint.Session) -> None:
    written = session.presegment(
        "cells", frames=[2, 0], target_channel="dna", marker_min_distance=6, progress=False
    )
    assert written == [0, 2]
    assert np.asarray(session.labels("cells", 1)).max() == 0
    assert np.asarray(session.labels("cells", 0)).max() == 3
    assert session.method("cells") == {
        "method": "threshold",
        "params": {"target_channel": "dna", "marker_min_distance": 6},
    }
    session.undo()
    session.undo()
    assert np.asarray(session.labels("cells", 0)).max() == 0
    assert np.asarray(session.labels("cells", 2)).max() == 0
    assert not session.can_undo


def test_fill_empty_skips_frames_with_labels(session: segpaint.Session) -> None:
    hand = np.zeros((96, 96), np.uint32)
    hand[5:10, 5:10] = 42
    session.set_labels("cells", 1, hand)
    written = session.presegment("cells", mode="fill-empty", channels=["dna"], progress=False)
    assert written == [0, 2, 3]
    np.testing.assert_array_equal(session.labels("cells", 1), hand)
    replaced = session.presegment("cells", frames=1, channels=["dna"], progress=False)
    assert replaced == [1]
    assert np.asarray(session.labels("cells", 1))[7, 7] == 0
    assert session.presegment("cells", mode="fill-empty", progress=False) == []


def test_progress_callback_and_bar(
    session: segpaint.Session, capsys: pytest.CaptureFixture[str]
) -> None:
    calls: list[tuple[int, int]] = []
    session.presegment(
        "cells", channels=["dna"], callback=lambda done, total: calls.append((done, total))
    )
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert "4/4" in capsys.readouterr().err  # tqdm's bar, on stderr outside notebooks


def test_resolve_method_turns_a_threshold_config_into_threshold_with_its_params(
    tmp_path: Path,
) -> None:
    config = write_threshold_config(
        tmp_path / "threshold_config_cells.json",
        {"target_channel": 1, "thresholds": [600, 1e10], "filters": [["gauss", 1]]},
    )
    method, run, recorded = resolve_method(config, {"thresholds": [700, 1e10]}, ["dna"])
    assert method == "threshold"
    assert run["target_channel"] == 1 and run["filters"] == [["gauss", 1]]
    assert run["thresholds"] == [700, 1e10]  # the call's params win over the file's
    assert recorded == {"config": str(config), **run, "channels": ["dna"]}
    assert resolve_method("CP_cyto3", {"diameter": 30}) == (
        "CP_cyto3",
        {"diameter": 30},
        {"diameter": 30},
    )


def test_a_threshold_config_file_as_method(session: segpaint.Session, tmp_path: Path) -> None:
    config = write_threshold_config(
        tmp_path / "threshold_config_cells.json",
        {"target_channel": 1, "thresholds": [600, 1e10], "filters": [["gauss", 1]]},
    )
    session.presegment("cells", config, frames=[0], progress=False)
    labels = np.asarray(session.labels("cells", 0))
    assert labels.max() == 3
    recorded = session.method("cells")
    assert recorded is not None
    assert recorded["method"] == "threshold"
    assert recorded["params"]["config"] == str(config)
    assert recorded["params"]["thresholds"] == [600, 1e10]
    json.dumps(recorded)  # the sidecar can carry it


def test_equalize_reference_frame_is_resolved() -> None:
    frames, _ = movie()
    frames[3] = frames[3] // 3  # a dim frame: a fixed threshold misses its nuclei
    session = segpaint.open(frames, axes="TCYX", channel_names=["noise", "dna"])
    params = {"target_channel": "dna", "thresholds": [600, 1e10], "filters": [["gauss", 1]]}
    session.presegment("cells", frames=[3], progress=False, **params)
    assert np.asarray(session.labels("cells", 3)).max() == 0
    session.presegment("cells", frames=[3], equalize_reference=[True, 0], progress=False, **params)
    assert np.asarray(session.labels("cells", 3)).max() == 3


def test_errors(session: segpaint.Session) -> None:
    with pytest.raises(ValueError, match="mode: expected 'replace' or 'fill-empty'"):
        session.presegment("cells", mode="empty", progress=False)
    with pytest.raises(KeyError, match=r"unknown population 'nuclei'.*add_population"):
        session.presegment("nuclei", progress=False)
    with pytest.raises(IndexError, match="frames: 9 is out of range"):
        session.presegment("cells", frames=[9], progress=False)
    with pytest.raises(TypeError, match="unknown parameter.*'threshholds'"):
        session.presegment("cells", threshholds=[1, 2], progress=False)
    with pytest.raises(TypeError, match="client: expected a dask.distributed.Client"):
        session.presegment("cells", client=object(), progress=False)
    assert session.method("cells") is None


def test_a_failing_frame_stops_the_run_and_keeps_earlier_frames(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    frames, _ = movie()
    frames[2, 1] = 0
    session = segpaint.open(frames, axes="TCYX", channel_names=["noise", "dna"])

    def failing(image: np.ndarray, *args: object, **kwargs: object) -> np.ndarray:
        # the threshold pipeline no longer fails on any pixel values (inf counts as the
        # brightest finite value), so frame 2 fails here, like a model that raises
        if not np.asarray(image)[1].any():
            raise ValueError("frame 2: the dna channel has no finite signal")
        return segment(image, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("segpaint._presegment.segment", failing)
    with pytest.raises(ValueError, match="finite"):
        session.presegment("cells", channels=["dna"], progress=False, window=1)
    assert np.asarray(session.labels("cells", 0)).max() == 3
    assert np.asarray(session.labels("cells", 2)).max() == 0


def test_window_bounds_frames_in_flight() -> None:
    in_flight = 0
    most = 0
    lock = threading.Lock()

    def work(frame: int) -> np.ndarray:
        nonlocal in_flight, most
        with lock:
            in_flight += 1
            most = max(most, in_flight)
        threading.Event().wait(0.002)
        with lock:
            in_flight -= 1
        return np.full((2, 2), frame, np.uint32)

    with ThreadPoolExecutor(max_workers=8) as pool:

        def submit(frame: int) -> Future[np.ndarray]:
            return pool.submit(work, frame)

        results = dict(_windowed(range(200), submit, 3, wait))
    assert sorted(results) == list(range(200))
    assert all(int(labels[0, 0]) == frame for frame, labels in results.items())
    assert most <= 3
    assert FIRST_COMPLETED == "FIRST_COMPLETED"  # the string dask.distributed.wait takes too


def test_large_movie_is_read_one_frame_at_a_time(tmp_path: Path) -> None:
    tifffile = pytest.importorskip("tifffile")
    frames, _ = movie(n_frames=40)
    path = tmp_path / "movie.tif"
    tifffile.imwrite(path, frames, imagej=True, metadata={"axes": "TCYX"})
    session = segpaint.open(path, channel_names=["noise", "dna"])
    reads: list[int] = []
    original = type(session.stack).frame

    def counting_frame(stack: object, t: int) -> np.ndarray:
        reads.append(t)
        return original(stack, t)  # type: ignore[arg-type]

    try:
        type(session.stack).frame = counting_frame  # type: ignore[method-assign]
        written = session.presegment("cells", channels=["dna"], progress=False, window=2)
    finally:
        type(session.stack).frame = original  # type: ignore[method-assign]
    assert written == list(range(40))
    assert sorted(reads) == list(range(40))  # each frame read once, by its task


@pytest.mark.slow
def test_local_cluster_gives_the_serial_result(session: segpaint.Session) -> None:
    distributed = pytest.importorskip("distributed")
    frames, _ = movie()
    serial = segpaint.open(frames, axes="TCYX", channel_names=["noise", "dna"])
    serial.presegment("cells", channels=["dna"], progress=False, window=1)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        written = session.presegment("cells", channels=["dna"], progress=False, client=client)
    assert written == [0, 1, 2, 3]
    np.testing.assert_array_equal(
        np.asarray(session.labels("cells")), np.asarray(serial.labels("cells"))
    )


def test_a_run_is_one_undo_step_that_restores_the_method() -> None:
    movie = np.zeros((3, 32, 32), np.uint16)
    movie[:, 8:16, 8:16] = 1000
    session = segpaint.open(movie, axes="TYX")
    session.paint("cells", 1, [(25, 25)], radius=2, label=9)
    session.presegment("cells", progress=False, frames=[0])
    first = session.method("cells")
    session.presegment("cells", progress=False, fill_holes=False)
    assert session.method("cells")["params"] == {"fill_holes": False}
    assert all(session.labels("cells", t)[10, 10] == 1 for t in range(3))
    session.undo()  # the whole second run, all three frames, and its method
    assert session.method("cells") == first
    assert session.labels("cells", 0)[10, 10] == 1  # the first run is still there
    assert session.labels("cells", 1)[10, 10] == 0 and session.labels("cells", 1)[25, 25] == 9
    assert session.labels("cells", 2).max() == 0
    session.redo()
    assert session.method("cells")["params"] == {"fill_holes": False}
    assert all(session.labels("cells", t)[10, 10] == 1 for t in range(3))
    session.undo()
    session.undo()  # the first run
    assert session.method("cells") is None
    assert session.labels("cells", 0).max() == 0 and session.labels("cells", 1)[25, 25] == 9


def test_a_stroke_from_another_thread_during_a_run_stays_its_own_step() -> None:
    import threading

    movie = np.zeros((2, 32, 32), np.uint16)
    movie[:, 8:16, 8:16] = 1000
    session = segpaint.open(movie, axes="TYX")

    def stroke(done: int, total: int) -> None:
        if done == 1:
            worker = threading.Thread(target=session.paint, args=("cells", 1, [(28, 28)], 2, 7))
            worker.start()
            worker.join()

    session.presegment("cells", progress=False, callback=stroke)
    session.undo()  # the run (pushed when it ended)
    assert session.labels("cells", 1)[10, 10] == 0
    assert session.labels("cells", 1)[28, 28] == 7  # the canvas stroke was not swallowed
    session.undo()
    assert session.labels("cells", 1)[28, 28] == 0
