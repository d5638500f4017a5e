"""The front door: what a new user meets first (README example, import, build, demo, licence)."""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tifffile

import segpaint

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SRC = Path(segpaint.__file__).resolve().parents[1]  # the tree under test (src/ or site-packages)


# ---------------------------------------------------------------------------------- import
def test_submodules_are_attributes_after_a_bare_import() -> None:
    """``import segpaint`` then ``segpaint.data`` / ``.segment`` / ``.metrics``, as the README does,
    without importing them (or the widget's anywidget) up front."""
    code = (
        "import sys, segpaint\n"
        "lazy = ['segpaint.data', 'segpaint.metrics', 'segpaint.segment', 'segpaint.widgets',"
        " 'anywidget']\n"
        "print([m for m in lazy if m in sys.modules])\n"
        "print(segpaint.data.synthetic_timelapse.__name__, segpaint.segment.segment.__name__,"
        " segpaint.metrics.match_instances.__name__, segpaint.widgets.__name__)\n"
        "print('segpaint.metrics' in sys.modules)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert done.stdout.splitlines() == [
        "[]",
        "synthetic_timelapse segment match_instances segpaint.widgets",
        "True",
    ]


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="module 'segpaint' has no attribute 'metric'"):
        _ = segpaint.metric  # type: ignore[attr-defined]
    assert {"data", "metrics", "segment", "widgets", "open", "Annotator"} <= set(dir(segpaint))


# ---------------------------------------------------------------------------------- README
def _readme_example() -> str:
    section = README.read_text(encoding="utf-8").split("## The Python API in ten lines", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, "the README's 'Python API in ten lines' section has no ```python block"
    return match.group(1)


def _calls(stmt: ast.stmt) -> dict[str, ast.Call]:
    """``session.<method>(...)`` calls in a statement, by method name."""
    return {
        node.func.attr: node
        for node in ast.walk(stmt)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    }


def _keyword(call: ast.Call, name: str) -> Any:
    (value,) = (k.value for k in call.keywords if k.arg == name)
    return ast.literal_eval(value)


def test_readme_example_is_ten_lines() -> None:
    lines = [line for line in _readme_example().splitlines() if line.strip()]
    assert len(lines) <= 10
    assert all(len(line) <= 104 for line in lines), "keep README code readable without scrolling"


def test_readme_api_example_does_what_its_comments_say(shared_data: Path, tmp_path: Path) -> None:
    """Run the README's code block on Celldetective's test experiment, one statement at a time,
    and check each statement's effect on the labels and on disk."""
    experiment = tmp_path / "ExperimentTest"
    shutil.copytree(shared_data / "celldetective" / "ExperimentTest", experiment)
    code = _readme_example()
    assert '"ExperimentTest/W1/100"' in code
    code = code.replace('"ExperimentTest/W1/100"', repr(str(experiment / "W1" / "100")))

    namespace: dict[str, Any] = {}
    steps: dict[str, tuple[ast.Call, np.ndarray | None, np.ndarray | None, Any]] = {}
    shown: list[Any] = []  # values of the bare expressions (what a notebook cell would show)

    def labels() -> np.ndarray | None:
        session = namespace.get("session")
        if session is None or "targets" not in session.populations:
            return None
        return np.array(session.labels("targets", 0))

    for stmt in ast.parse(code).body:
        before = labels()
        if isinstance(stmt, ast.Expr):
            value = eval(compile(ast.Expression(stmt.value), "README.md", "eval"), namespace)
            if not _calls(stmt):
                shown.append(value)
        else:
            exec(compile(ast.Module([stmt], []), "README.md", "exec"), namespace)
            value = None
        for name, call in _calls(stmt).items():
            if name != "new_label":
                steps[name] = (call, before, labels(), value)
    session = namespace["session"]
    try:
        assert set(steps) >= {"open", "presegment", "fill", "undo", "paint", "add_roi"}
        assert set(steps) >= {"export_roi", "save_labels"}
        # line 2 shows the channel names from config.ini and (T, C, Y, X)
        ((names, shape),) = shown
        assert names == sorted(
            ["brightfield_channel", "dead_nuclei_channel", "empty_channel", "live_nuclei_channel"]
        )
        assert shape == (1, 4, 682, 660)

        _, before, after, _ = steps["presegment"]
        assert before is not None and not before.any()
        assert after is not None and len(np.unique(after)) - 1 >= 30  # the field's nuclei

        # the fill deletes a real, whole cell (not background) and nothing else
        call, before, after, _ = steps["fill"]
        assert before is not None and after is not None
        seed = _keyword(call, "seed")
        cell = int(before[seed])
        assert cell != 0, f"the README's fill seed {seed} is on background"
        assert (before == cell).sum() >= 500
        assert not (after == cell).any()
        np.testing.assert_array_equal(after[before != cell], before[before != cell])
        cell_before_fill = before

        # undo brings that cell back
        _, _, after, _ = steps["undo"]
        np.testing.assert_array_equal(after, cell_before_fill)

        # paint adds a new label (one not used before) of a nucleus' size
        call, before, after, _ = steps["paint"]
        assert before is not None and after is not None
        new = int(after[tuple(_keyword(call, "points")[0])])
        assert new != 0 and not (before == new).any()
        painted = after == new
        assert 150 <= painted.sum() <= 2000

        # the ROI holds the whole stroke
        roi = namespace["roi"]
        rows, cols = np.nonzero(painted)
        assert roi.row0 <= rows.min() and rows.max() < roi.row1
        assert roi.col0 <= cols.min() and cols.max() < roi.col1

        # the export writes a non-empty mask with the new cell and its neighbours
        paths = steps["export_roi"][3]
        assert paths[0].parent == experiment / "annotations_targets"
        mask = tifffile.imread(paths[1])
        crop = after[roi.row0 : roi.row1, roi.col0 : roi.col1]
        assert mask.shape == crop.shape == (256, 256)
        np.testing.assert_array_equal(mask > 0, crop > 0)
        assert len(np.unique(mask)) - 1 >= 5
        (new_in_mask,) = np.unique(mask[painted[roi.row0 : roi.row1, roi.col0 : roi.col1]])
        assert new_in_mask > 0
        sidecar = json.loads(paths[2].read_text())
        assert sidecar["method"]["method"] == "threshold"

        # save_labels writes W1/100/labels_targets/0000.tif with what the session holds
        saved = steps["save_labels"][3]
        assert saved == [experiment / "W1" / "100" / "labels_targets" / "0000.tif"]
        np.testing.assert_array_equal(tifffile.imread(saved[0]), after)
    finally:
        session.close()


# ---------------------------------------------------------------------------------- build
def _clone(target: Path) -> Path:
    """A git repository holding what a clone of this tree would (tracked + new files)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "-c", "core.hooksPath="]
    subprocess.run([*git, "init", "-q"], cwd=target, check=True)
    subprocess.run([*git, "add", "-A"], cwd=target, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "clone"], cwd=target, check=True)
    return target


def _git_status(repo: Path) -> str:
    return subprocess.run(
        ["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    pytest.importorskip("hatchling", reason="builds the wheel without build isolation")
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs git and a git checkout")
    return _clone(tmp_path / "clone")


def _pip_wheel(repo: Path, out: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    pip = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
    return subprocess.run(
        [*pip, "-w", str(out), str(repo)],
        capture_output=True,
        text=True,
        env={**env, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
        cwd=out.parent,
        timeout=300,
        check=False,
    )


@pytest.mark.slow
def test_building_a_wheel_leaves_the_clone_clean(clone: Path, tmp_path: Path) -> None:
    if shutil.which("npm") is None:
        pytest.skip("needs Node.js and npm to build the front-end")
    assert not (clone / "src" / "segpaint" / "static" / "widget.js").exists()
    done = _pip_wheel(clone, tmp_path / "dist", dict(os.environ))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert _git_status(clone) == "", "the build changed tracked files (js/package-lock.json?)"
    (wheel,) = (tmp_path / "dist").glob("segpaint-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        assert archive.getinfo("segpaint/static/widget.js").file_size > 1000
        (licence,) = (n for n in names if n.endswith(".dist-info/licenses/LICENSE"))
        assert "BSD 3-Clause License" in archive.read(licence).decode()
        (metadata,) = (n for n in names if n.endswith(".dist-info/METADATA"))
        assert "License-Expression: BSD-3-Clause" in archive.read(metadata).decode()


@pytest.mark.slow
def test_building_without_node_says_node_is_needed_and_a_wheel_is_not(
    clone: Path, tmp_path: Path
) -> None:
    path = os.path.dirname(sys.executable)  # python, but no node or npm
    assert shutil.which("node", path=path) is None
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = _pip_wheel(clone, tmp_path / "dist", {**env, "PATH": path})
    output = " ".join((done.stdout + done.stderr).split())
    assert done.returncode != 0
    assert "segpaint's front-end (the Annotator widget, js/) needs Node.js 18 or newer" in output
    assert "A wheel does not need Node.js" in output
    assert _git_status(clone) == ""


@pytest.mark.slow
def test_an_sdist_ships_the_front_end_so_installing_it_needs_no_node(
    clone: Path, tmp_path: Path
) -> None:
    if shutil.which("npm") is None:
        pytest.skip("needs Node.js and npm to build the sdist")
    sdist_dir = tmp_path / "sdist"
    built = subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "sdist", "-d", str(sdist_dir)],
        cwd=clone,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    assert _git_status(clone) == ""
    (sdist,) = sdist_dir.glob("segpaint-*.tar.gz")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = _pip_wheel(sdist, tmp_path / "dist", {**env, "PATH": os.path.dirname(sys.executable)})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (wheel,) = (tmp_path / "dist").glob("segpaint-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        assert archive.getinfo("segpaint/static/widget.js").file_size > 1000


def _hook() -> Any:
    pytest.importorskip("hatchling", reason="the build hook subclasses hatchling's interface")
    spec = importlib.util.spec_from_file_location(
        "hatch_build", ROOT / "scripts" / "hatch_build.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_bundle_is_rebuilt_only_when_a_front_end_source_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = _hook()
    (tmp_path / "js" / "node_modules" / "x").mkdir(parents=True)
    (tmp_path / "js" / "tests").mkdir()
    (tmp_path / "js" / "widget.js").write_text("export default {}")
    bundle = tmp_path / "src" / "segpaint" / "static" / "widget.js"
    assert hook.is_stale(tmp_path)  # no bundle yet
    bundle.parent.mkdir(parents=True)
    bundle.write_text("built")
    os.utime(tmp_path / "js" / "widget.js", (1_000_000, 1_000_000))
    assert not hook.is_stale(tmp_path)
    for ignored in ("node_modules/x/index.js", "tests/widget.test.js"):
        (tmp_path / "js" / ignored).write_text("newer, but not a source of the bundle")
    assert not hook.is_stale(tmp_path)
    os.utime(tmp_path / "js" / "widget.js")  # edited after the build
    assert hook.is_stale(tmp_path)
    # without Node.js a stale bundle is kept (an sdist's case); a missing one is an error
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    messages: list[str] = []
    assert hook.build_frontend(tmp_path, log=messages.append) is False
    assert bundle.read_text() == "built" and "no Node.js" in messages[0]
    bundle.unlink()
    with pytest.raises(hook.FrontendBuildError, match=r"`node` and `npm` were not found on PATH"):
        hook.build_frontend(tmp_path, log=messages.append)


def test_the_lock_file_matches_package_json() -> None:
    """``npm ci`` refuses a lock out of step with package.json; the build relies on it."""
    package = json.loads((ROOT / "js" / "package.json").read_text())
    lock = json.loads((ROOT / "js" / "package-lock.json").read_text())
    top = lock["packages"][""]
    for key in ("dependencies", "devDependencies"):
        assert top.get(key, {}) == package.get(key, {}), key
    # every platform's optional binaries are listed (esbuild's, rollup's...), not only this
    # machine's: a lock written where the registry served one platform's makes `npm ci` refuse
    systems = {
        system
        for entry in lock["packages"].values()
        if entry.get("optional")
        for system in entry.get("os", [])
    }
    if systems:
        assert {"linux", "darwin", "win32"} <= systems, sorted(systems)
    names = set(lock["packages"])
    for family, this_machine in (("@esbuild/", "linux-x64"), ("@rollup/rollup-", "linux-x64-gnu")):
        if f"node_modules/{family}{this_machine}" in names:
            assert sum(n.startswith(f"node_modules/{family}") for n in names) > 10, family


def test_licence_file_is_the_one_pyproject_names() -> None:
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("BSD 3-Clause License")
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'license = "BSD-3-Clause"' in pyproject and 'license-files = ["LICENSE"]' in pyproject


# ---------------------------------------------------------------------------------- demo
@pytest.mark.slow
@pytest.mark.timeout(180)
def test_demo_prints_a_url_that_opens_the_quickstart(tmp_path: Path) -> None:
    pytest.importorskip("jupyterlab", reason="the demo serves JupyterLab")
    env = {
        **os.environ,
        "SEGPAINT_DEMO_VENV": str(Path(sys.executable).parents[1]),
        "SEGPAINT_DEMO_INSTALL": "0",
        "SEGPAINT_DEMO_BROWSER": "0",
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
        "JUPYTER_DATA_DIR": str(tmp_path / "data"),
    }
    log = (tmp_path / "demo.log").open("w+")
    demo = subprocess.Popen(
        ["bash", str(ROOT / "scripts" / "demo.sh")],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        env=env,
        start_new_session=True,
    )
    try:
        url = None
        deadline = time.monotonic() + 150
        assert demo.stdout is not None
        while time.monotonic() < deadline and url is None:
            line = demo.stdout.readline()
            if not line:
                break
            found = re.search(r"http://127\.0\.0\.1:\d+/lab/tree/\S+\?token=\w+", line)
            url = found.group(0) if found else None
        log.seek(0)
        assert url, f"demo.sh printed no URL; its log:\n{log.read()[-3000:]}"
        assert "/lab/tree/notebooks/01_quickstart.ipynb?token=" in url
        with urllib.request.urlopen(url, timeout=30) as page:
            assert page.status == 200 and "JupyterLab" in page.read().decode()
        api = url.replace("/lab/tree/", "/api/contents/")
        with urllib.request.urlopen(api, timeout=30) as reply:
            notebook = json.loads(reply.read())
        assert notebook["path"] == "notebooks/01_quickstart.ipynb"
        assert notebook["type"] == "notebook"
    finally:
        os.killpg(demo.pid, signal.SIGTERM)
        demo.wait(timeout=30)
        assert demo.stdout is not None
        demo.stdout.close()
        log.close()
