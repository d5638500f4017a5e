"""segpaint.open_experiment: wells, positions, lazy Sessions, one pre-segmentation run, samples."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest
import tifffile

import segpaint
from segpaint.experiment import Experiment
from segpaint.io.celldetective import ExperimentError

LAYOUT = {"W1": ["100", "101"], "W2": ["200"], "W10": ["1000"]}


def _movie(seed: int, frames: int = 3) -> np.ndarray:
    """(T, C=2, 48, 64) uint16 with one bright square per frame, at a place set by seed/frame."""
    movie = np.full((frames, 2, 48, 64), 100, np.uint16)
    for t in range(frames):
        r, c = 4 + 3 * seed + 2 * t, 6 + 4 * seed
        movie[t, 0, r : r + 10, c : c + 12] = 3000
    return movie


def _write(root: Path, layout: dict[str, list[str]] = LAYOUT, frames: int = 3) -> Path:
    root.mkdir(parents=True)
    labels = ",".join(f"type{i}" for i in range(len(layout)))
    (root / "config.ini").write_text(
        textwrap.dedent(
            f"""\
            [Populations]
            populations = targets,effectors

            [MovieSettings]
            pxtoum = 0.5
            frametomin = 2.0
            movie_prefix = Aligned

            [Channels]
            live_nuclei_channel = 0
            brightfield_channel = 1

            [Labels]
            cell_types = {labels}
            antibodies = 1,2
            """
        )
    )
    seed = 0
    for well, positions in layout.items():
        for pos in positions:
            folder = root / well / pos / "movie"
            folder.mkdir(parents=True)
            tifffile.imwrite(
                folder / "Aligned.tif",
                _movie(seed, frames),
                imagej=True,
                metadata={"axes": "TCYX"},
            )
            seed += 1
    return root


@pytest.fixture
def exp_root(tmp_path: Path) -> Path:
    return _write(tmp_path / "Exp")


def test_layout_and_metadata(exp_root: Path) -> None:
    exp = segpaint.open_experiment(exp_root)
    assert isinstance(exp, Experiment)
    assert exp.wells == ["W1", "W2", "W10"]  # natural order, as Celldetective sorts wells
    assert [p.key for p in exp.positions] == [
        ("W1", "100"),
        ("W1", "101"),
        ("W2", "200"),
        ("W10", "1000"),
    ]
    assert exp.positions_in("W1") == ["100", "101"]
    assert exp.names == ["W1/100", "W1/101", "W2/200", "W10/1000"]
    info = exp.positions[2]
    assert info.folder == exp_root.resolve() / "W2" / "200"
    assert info.movie.name == "Aligned.tif"
    # [Labels] gives one value per well; a key with the wrong count is left out
    assert info.well_metadata == {"cell_types": "type1"}
    assert exp.populations == ["targets", "effectors"]
    assert exp.config.channel_names == ["live_nuclei_channel", "brightfield_channel"]
    assert len(exp) == 4
    assert "4 position(s)" in repr(exp)
    assert exp.open_sessions == {}  # nothing opened yet


def test_sessions_are_lazy_cached_and_per_position(exp_root: Path) -> None:
    exp = segpaint.open_experiment(exp_root, journal=False)
    s1 = exp["W1", "100"]
    assert exp.session("W1/100") is s1
    assert exp.session("W1", 100) is s1
    s2 = exp["W2", "200"]
    assert s2 is not s1
    np.testing.assert_array_equal(s1.image(1), _movie(0)[1])
    np.testing.assert_array_equal(s2.image(1), _movie(2)[1])
    s1.paint("targets", 0, [(5, 5)], radius=2, label=7)
    assert s1.labels("targets", 0)[5, 5] == 7
    assert s2.labels("targets", 0)[5, 5] == 0  # labels stay per position
    s2.paint("targets", 0, [(30, 30)], radius=1, label=2)
    back = exp["W1", "100"]  # moving back: the same Session, its edit and undo history kept
    assert back.labels("targets", 0)[5, 5] == 7
    assert back.can_undo
    saved = s1.save_labels("targets")
    assert saved == [exp_root.resolve() / "W1" / "100" / "labels_targets" / "0000.tif"]
    assert set(exp.open_sessions) == {("W1", "100"), ("W2", "200")}


def test_each_position_keeps_its_own_journal(exp_root: Path) -> None:
    exp = segpaint.open_experiment(exp_root)
    a, b = exp["W1", "100"], exp["W1", "101"]
    assert a.journal_path is not None
    assert b.journal_path is not None
    assert a.journal_path != b.journal_path
    assert a.journal_path.is_relative_to(exp_root.resolve() / "W1" / "100")


def test_bad_names_say_what_exists(exp_root: Path, tmp_path: Path) -> None:
    exp = segpaint.open_experiment(exp_root)
    with pytest.raises(KeyError, match=r"no well 'W3'.*wells are \['W1', 'W2', 'W10'\]"):
        exp["W3", "1"]
    with pytest.raises(KeyError, match=r"no position '102' in well 'W1'.*\['100', '101'\]"):
        exp["W1", "102"]
    with pytest.raises(TypeError, match="expected a well and a position"):
        exp[3]
    with pytest.raises(ExperimentError, match="has no config.ini"):
        segpaint.open_experiment(tmp_path)
    with pytest.raises(KeyError, match="unknown population 'cells'"):
        exp.presegment("cells", progress=False)
    with pytest.raises(ValueError, match="mode: expected"):
        exp.presegment("targets", mode="all", progress=False)


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"mode": "all"}, ValueError, "mode: expected 'replace' or 'fill-empty', got 'all'"),
        ({"window": 0}, ValueError, "window: expected a positive int, got 0"),
        ({"window": "2"}, TypeError, "window: expected a positive int, got '2'"),
        ({"window": True}, TypeError, "window: expected a positive int, got True"),
        ({"callback": 3}, TypeError, r"callback: expected a function callback\(done, total\)"),
    ],
)
def test_experiment_and_session_presegment_check_run_options_alike(
    exp_root: Path, options: dict, error: type, match: str
) -> None:
    exp = segpaint.open_experiment(exp_root)
    session = exp["W1", "100"]
    with pytest.raises(error, match=match):
        exp.presegment("targets", progress=False, **options)
    with pytest.raises(error, match=match):
        session.presegment("targets", progress=False, **options)
    assert not np.asarray(session.labels("targets")).any()
    assert not list(exp_root.rglob("labels_targets"))


def test_experiment_presegment_records_a_threshold_config_like_a_session(
    exp_root: Path, tmp_path: Path
) -> None:
    config = segpaint.segment.write_threshold_config(
        tmp_path / "threshold_config_targets.json",
        {"target_channel": 0, "thresholds": [1000, 1e10]},
    )
    exp = segpaint.open_experiment(exp_root)
    exp.presegment("targets", config, positions=["W1/100"], save=False, progress=False)
    alone = segpaint.open(exp_root / "W1" / "101", read_only=True)
    alone.presegment("targets", config, progress=False)
    assert exp["W1", "100"].method("targets") == alone.method("targets")
    assert alone.method("targets")["params"]["config"] == str(config)
    assert np.asarray(exp["W1", "100"].labels("targets", 0)).max() == 1


def test_open_on_a_multi_position_root_points_to_open_experiment(exp_root: Path) -> None:
    with pytest.raises(ExperimentError, match=r"several positions.*segpaint\.open_experiment"):
        segpaint.open(exp_root)


def _threshold_truth(seed: int, t: int) -> np.ndarray:
    truth = np.zeros((48, 64), bool)
    r, c = 4 + 3 * seed + 2 * t, 6 + 4 * seed
    truth[r : r + 10, c : c + 12] = True
    return truth


def test_presegment_every_position_writes_each_position_labels(exp_root: Path) -> None:
    exp = segpaint.open_experiment(exp_root, journal=False)
    progress: list[tuple[int, int]] = []
    done = exp.presegment(
        "targets",
        "threshold",
        channels=[0],
        thresholds=[1000, 1e9],
        progress=False,
        callback=lambda d, n: progress.append((d, n)),
    )
    assert done == {key: [0, 1, 2] for key in exp}
    assert progress[-1] == (12, 12)  # one count over the whole experiment
    assert [d for d, _ in progress] == list(range(1, 13))
    for seed, info in enumerate(exp.positions):
        for t in range(3):
            path = info.folder / "labels_targets" / f"{t:04d}.tif"
            labels = tifffile.imread(path)
            np.testing.assert_array_equal(labels > 0, _threshold_truth(seed, t))
    # a Session opened afterwards sees them, and knows the method
    session = exp["W2", "200"]
    np.testing.assert_array_equal(session.labels("targets", 1) > 0, _threshold_truth(2, 1))
    assert session.method("targets") == {
        "method": "threshold",
        "params": {"thresholds": [1000, 1e9], "channels": [0]},
    }


def test_presegment_through_an_open_session_updates_it(exp_root: Path) -> None:
    exp = segpaint.open_experiment(exp_root, journal=False)
    session = exp["W1", "101"]
    seen: list[int] = []
    session.on_change(lambda pop, frame, bbox: seen.append(frame))
    exp.presegment(
        "targets", positions=["W1/101"], frames=[2], thresholds=[1000, 1e9], progress=False
    )
    assert seen == [2]
    np.testing.assert_array_equal(session.labels("targets", 2) > 0, _threshold_truth(1, 2))
    assert (exp_root / "W1" / "101" / "labels_targets" / "0002.tif").is_file()
    assert session.method("targets")["method"] == "threshold"


def test_presegment_positions_selection_and_frame_errors(exp_root: Path) -> None:
    exp = segpaint.open_experiment(exp_root, journal=False)
    done = exp.presegment(
        "effectors", positions=["W1"], frames=0, thresholds=[1000, 1e9], progress=False
    )
    assert done == {("W1", "100"): [0], ("W1", "101"): [0]}
    assert not (exp_root / "W2" / "200" / "labels_effectors").exists()
    # the method is recorded for the positions it ran on only
    assert exp.method("effectors", "W1", "101") == {
        "method": "threshold",
        "params": {"thresholds": [1000, 1e9]},
    }
    assert exp.method("effectors", "W2/200") is None
    assert exp["W2", "200"].method("effectors") is None
    assert exp["W1", "100"].method("effectors")["method"] == "threshold"
    one = exp.presegment("effectors", positions=("W2", "200"), frames=0, progress=False)
    assert list(one) == [("W2", "200")]
    two = exp.presegment("effectors", positions=("W1/100", "W10/1000"), frames=0, progress=False)
    assert list(two) == [("W1", "100"), ("W10", "1000")]
    assert list(exp.presegment("effectors", positions="W10", frames=0, progress=False)) == [
        ("W10", "1000")
    ]
    with pytest.raises(IndexError, match="frames: 5 is out of range for position W1/100"):
        exp.presegment("effectors", frames=[5], progress=False)
    with pytest.raises(KeyError, match="no position '9'"):
        exp.presegment("effectors", positions=[("W1", "9")], progress=False)


def test_interrupted_presegment_resumes_where_it_stopped(exp_root: Path) -> None:
    exp = segpaint.open_experiment(exp_root, journal=False)

    def stop_after_five(done: int, total: int) -> None:
        if done == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        exp.presegment(
            "targets", thresholds=[1000, 1e9], progress=False, callback=stop_after_five, window=1
        )
    files = sorted(exp_root.glob("W*/*/labels_targets/*.tif"))
    assert len(files) == 5
    again = segpaint.open_experiment(exp_root, journal=False)
    done = again.presegment("targets", thresholds=[1000, 1e9], progress=False)
    assert sum(len(v) for v in done.values()) == 7  # only what was left
    assert len(sorted(exp_root.glob("W*/*/labels_targets/*.tif"))) == 12
    # nothing left: a third run writes nothing; replace redoes everything
    assert sum(len(v) for v in again.presegment("targets", progress=False).values()) == 0
    redo = again.presegment("targets", mode="replace", thresholds=[1000, 1e9], progress=False)
    assert sum(len(v) for v in redo.values()) == 12


def test_presegment_without_save_keeps_results_in_sessions(exp_root: Path) -> None:
    exp = segpaint.open_experiment(exp_root, journal=False)
    exp.presegment("targets", positions=["W2"], save=False, thresholds=[1000, 1e9], progress=False)
    assert not list(exp_root.glob("W*/*/labels_targets"))
    session = exp["W2", "200"]
    np.testing.assert_array_equal(session.labels("targets", 0) > 0, _threshold_truth(2, 0))
    assert exp.save_labels("targets")  # now written
    assert (exp_root / "W2" / "200" / "labels_targets" / "0002.tif").is_file()


def test_presegment_on_a_dask_cluster(exp_root: Path) -> None:
    distributed = pytest.importorskip("distributed")
    exp = segpaint.open_experiment(exp_root, journal=False)
    with distributed.Client(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=":0"
    ) as client:
        done = exp.presegment(
            "targets",
            positions=["W1", "W10"],
            thresholds=[1000, 1e9],
            progress=False,
            client=client,
        )
    assert done == {("W1", "100"): [0, 1, 2], ("W1", "101"): [0, 1, 2], ("W10", "1000"): [0, 1, 2]}
    labels = tifffile.imread(exp_root / "W10" / "1000" / "labels_targets" / "0002.tif")
    np.testing.assert_array_equal(labels > 0, _threshold_truth(3, 2))


def test_samples_and_coverage_read_the_whole_experiment(exp_root: Path) -> None:
    exp = segpaint.open_experiment(exp_root, journal=False)
    for key, frame, rows, cols in [
        (("W1", "100"), 0, (0, 24), (0, 32)),
        (("W1", "100"), 2, (0, 24), (16, 48)),
        (("W2", "200"), 1, (10, 20), (10, 20)),
    ]:
        session = exp[key]
        session.paint("targets", frame, [(rows[0] + 4, cols[0] + 4)], radius=3, label=1)
        session.export_roi("targets", session.add_roi(frame, rows=rows, cols=cols))
    samples = exp.samples("targets")
    assert len(samples) == 3
    assert {(s.metadata["well"], s.metadata["position"], s.frame) for s in samples} == {
        ("W1", "100", 0),
        ("W1", "100", 2),
        ("W2", "200", 1),
    }
    assert exp.samples("effectors") == []
    assert len(exp.samples()) == 3
    rows = {(r["well"], r["position"]): r for r in exp.coverage("targets")}
    assert rows["W1", "100"]["samples"] == 2
    assert rows["W1", "100"]["frames_sampled"] == [0, 2]
    # the two ROIs cover rows 0..24, cols 0..48 of a 48x64 field
    assert rows["W1", "100"]["area_fraction"] == pytest.approx(24 * 48 / (48 * 64))
    assert rows["W1", "101"]["samples"] == 0
    assert rows["W1", "101"]["area_fraction"] == 0
    cover = exp.coverage_map("targets", "W1", "100")
    assert cover[5, 20] == 2  # both ROIs
    assert cover[5, 40] == 1
    assert cover[30, 5] == 0
    with pytest.raises(KeyError, match="unknown population 'x'"):
        exp.samples("x")


@pytest.mark.shared_data
def test_the_real_celldetective_experiment(shared_data: Path) -> None:
    exp = segpaint.open_experiment(shared_data / "celldetective" / "ExperimentTest", read_only=True)
    assert exp.wells == ["W1"]
    assert [p.key for p in exp.positions] == [("W1", "100")]
    assert exp.positions[0].movie.name == "sample.tif"
    # [Labels] lists 10 values for 1 well: Celldetective falls back to indices, so do we
    assert exp.positions[0].well_metadata == {}
    assert exp.populations == ["targets"]
    session = exp["W1", "100"]
    assert session.shape == (1, 4, 682, 660)
    assert exp.coverage("targets")[0]["samples"] == 0


def test_a_position_without_a_usable_movie_does_not_hide_the_others(exp_root: Path) -> None:
    (exp_root / "W2" / "200" / "movie" / "Aligned.tif").unlink()
    tifffile.imwrite(exp_root / "W1" / "101" / "movie" / "Aligned_copy.tif", _movie(9))
    exp = segpaint.open_experiment(exp_root, journal=False)
    assert len(exp) == 4
    bad = {p.key: p for p in exp.positions if p.problem is not None}
    assert set(bad) == {("W2", "200"), ("W1", "101")}
    assert bad["W2", "200"].movie is None
    with pytest.raises(ExperimentError, match=r"position W2/200: no movie in .*movie_prefix"):
        exp["W2", "200"]
    with pytest.raises(ExperimentError, match="position W1/101: several movies match"):
        exp.presegment("targets", positions=["W1"], progress=False)
    done = exp.presegment(
        "targets", positions=["W1/100", "W10"], thresholds=[1000, 1e9], progress=False
    )
    assert done == {("W1", "100"): [0, 1, 2], ("W10", "1000"): [0, 1, 2]}
    rows = {(r["well"], r["position"]): r for r in exp.coverage("targets")}
    assert rows["W2", "200"]["frames"] is None
    assert rows["W2", "200"]["area_fraction"] is None
    assert rows["W1", "100"]["frames"] == 3
