"""Every notebook under notebooks/ runs top to bottom in a fresh kernel, as a user would run it.

Needs nbclient and ipykernel (the ``browser`` or ``lab`` extras); skips without them unless
SEGPAINT_REQUIRE_NOTEBOOKS=1.  The kernel is this interpreter, so it imports the segpaint under
test (installed, or from ``src/`` via PYTHONPATH).
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import segpaint

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").rglob("*.ipynb"))
CELL_TIMEOUT_S = 120


def notebook_id(path: Path) -> str:
    return path.relative_to(ROOT / "notebooks").as_posix()


pytestmark = pytest.mark.slow


def _require(module: str) -> Any:
    try:
        return __import__(module)
    except ImportError as err:
        message = f"{module} is not installed ({err}); pip install nbclient ipykernel"
        if os.environ.get("SEGPAINT_REQUIRE_NOTEBOOKS") == "1":
            pytest.fail(f"SEGPAINT_REQUIRE_NOTEBOOKS=1 but {message}")
        pytest.skip(message)


@pytest.fixture(scope="module")
def kernel_name(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A kernelspec that runs this interpreter, whatever kernels the machine has installed."""
    _require("ipykernel")
    jupyter_path = tmp_path_factory.mktemp("jupyter")
    spec = jupyter_path / "kernels" / "segpaint-under-test"
    spec.mkdir(parents=True)
    # the folder that holds the imported segpaint package (src/ or site-packages)
    package_parent = str(Path(segpaint.__file__).resolve().parents[1])
    pythonpath = os.pathsep.join(p for p in (package_parent, os.environ.get("PYTHONPATH")) if p)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "segpaint under test",
                "language": "python",
                "env": {"PYTHONPATH": pythonpath},
            }
        )
    )
    old = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = os.pathsep.join(p for p in (str(jupyter_path), old) if p)
    yield "segpaint-under-test"
    if old is None:
        os.environ.pop("JUPYTER_PATH", None)
    else:
        os.environ["JUPYTER_PATH"] = old


def execute(path: Path, kernel_name: str, tmp: Path) -> Any:
    """Run a notebook in its own folder, its temporary files under ``tmp``; raise on an error."""
    nbclient = _require("nbclient")
    nbformat = _require("nbformat")
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT_S,
        kernel_name=kernel_name,
        resources={"metadata": {"path": str(path.parent)}},
    )
    # the notebooks write into tempfile.mkdtemp() folders: keep those inside pytest's tmp_path
    client.execute(env={**os.environ, "TMPDIR": str(tmp)})
    return notebook


def text_outputs(notebook: Any) -> str:
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if "text" in output:
                parts.append(output["text"])
            parts.append(output.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def test_every_notebook_is_collected() -> None:
    names = {p.relative_to(ROOT / "notebooks").as_posix() for p in NOTEBOOKS}
    assert {
        "01_quickstart.ipynb",
        "02_population_specific.ipynb",
        "03_celldetective_experiment.ipynb",
        "05_experiment.ipynb",
        "04_train_in_the_loop.ipynb",
        "teaching/01_instance_vs_semantic.ipynb",
        "teaching/02_annotation_conventions.ipynb",
    } <= names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=notebook_id)
def test_notebook_is_committed_without_outputs(path: Path) -> None:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [], f"{path.name}: strip outputs before committing"
            assert cell["execution_count"] is None


@pytest.mark.parametrize("path", NOTEBOOKS, ids=notebook_id)
def test_notebook_runs_top_to_bottom(path: Path, kernel_name: str, tmp_path: Path) -> None:
    notebook = execute(path, kernel_name, tmp_path)
    errors = [
        output
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert not errors
    text = text_outputs(notebook)
    if path.name == "01_quickstart.ipynb":
        # the user sees one sample listed, and its three files are on disk
        assert "1 sample(s) in" in text
        (workdir,) = tmp_path.glob("segpaint-quickstart-*")
        written = sorted(p.name for p in (workdir / "annotations_targets").iterdir())
        stem = "synthetic_0000_roi_64_192_112_240"
        assert written == [f"{stem}.json", f"{stem}.tif", f"{stem}_labelled.tif"]
    if path.name == "02_population_specific.ipynb":
        for population in ("targets", "effectors"):
            (workdir,) = tmp_path.glob("segpaint-populations-*")
            assert len(list((workdir / f"annotations_{population}").glob("*_labelled.tif"))) == 2
    if path.name == "03_celldetective_experiment.ipynb":
        assert "masks read back identical: True" in text
    if path.name == "05_experiment.ipynb":
        # every position pre-segmented once, nothing left on the second run, two samples
        assert "frames left to do: 0" in text
        assert "2 sample(s) in" in text
        # one widget, two positions: the position menu's trait moved it to W2/201
        assert "W2/201 of ['W1/100', 'W1/101', 'W2/200', 'W2/201'], frame 0, tool brush" in text
        (workdir,) = tmp_path.glob("segpaint-experiment05-*")
        labels = sorted(workdir.glob("DemoExperiment/W*/*/labels_targets/*.tif"))
        assert len(labels) == 16  # 4 positions x 4 frames
        masks = sorted((workdir / "DemoExperiment" / "annotations_targets").glob("*_labelled.tif"))
        assert [m.name[:22] for m in masks] == ["DemoExperiment_100_000", "DemoExperiment_201_000"]
    if path.name == "04_train_in_the_loop.ipynb":
        (workdir,) = tmp_path.glob("segpaint-loop-*")
        assert len(list((workdir / "annotations_effectors").glob("*_labelled.tif"))) == 10
        model = workdir / "models" / "segmentation_effectors" / "effectors_pc"
        assert (model / "config_input.json").is_file()
        f1 = {
            m.group(1): float(m.group(2))
            for m in re.finditer(
                r"(pixel classifier|threshold default) on frames 8-11: F1@0.5 = ([0-9.]+)", text
            )
        }
        assert f1["pixel classifier"] > f1["threshold default"] + 0.2
