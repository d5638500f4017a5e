"""The Binder recipe works: a fresh venv from binder/ files runs the quickstart notebook.

This does what mybinder.org's repo2docker does with ``binder/runtime.txt`` and
``binder/requirements.txt``: copy the repository (tracked and new files, no build outputs), create
an environment, ``pip install -r binder/requirements.txt`` from the repository root, then open the
quickstart.  Needs network access to PyPI and npm (or warm caches), about 1-4 minutes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def _repository_copy(target: Path) -> Path:
    """Copy what a clone would hold (git's tracked and untracked, not ignored, files)."""
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
    # a git repository, so that the test can see whether the install changed a tracked file
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "-c", "core.hooksPath="]
    subprocess.run([*git, "init", "-q"], cwd=target, check=True)
    subprocess.run([*git, "add", "-A"], cwd=target, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "clone"], cwd=target, check=True)
    return target


def test_binder_environment_runs_the_quickstart(tmp_path: Path) -> None:
    nbclient = pytest.importorskip("nbclient", reason="the test process drives the kernel")
    nbformat = pytest.importorskip("nbformat")
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs a git checkout to copy the repository as Binder would")
    runtime = (ROOT / "binder" / "runtime.txt").read_text().strip()
    assert runtime == "python-3.11", "Binder reads the Python version from binder/runtime.txt"

    repo = _repository_copy(tmp_path / "repo")
    assert not (repo / "src" / "segpaint" / "static" / "widget.js").exists()
    env_dir = tmp_path / "env"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    # only the Binder install: no source tree on the path (the suite may run with PYTHONPATH=src)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "-r", "binder/requirements.txt"],
        check=False,
        cwd=repo,
        capture_output=True,
        text=True,
        env={**env, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
        timeout=840,
    )
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
    assert "ERROR: pip's dependency resolver" not in install.stdout + install.stderr
    # building the front-end (npm ci) rewrote no tracked file, e.g. js/package-lock.json
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True, check=True
    )
    assert status.stdout == "", status.stdout
    # the installed wheel carries the front-end bundle it built
    bundle = subprocess.run(
        [
            str(python),
            "-c",
            "import segpaint, pathlib; "
            "print((pathlib.Path(segpaint.__file__).parent / 'static' / 'widget.js').stat().st_size)",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    assert int(bundle.stdout) > 1000

    # a kernelspec for the Binder environment, as the Binder JupyterLab would use
    spec = tmp_path / "jupyter" / "kernels" / "binder-env"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "binder env",
                "language": "python",
            }
        )
    )
    notebook_path = repo / "notebooks" / "01_quickstart.ipynb"
    notebook = nbformat.read(notebook_path, as_version=4)
    env["TMPDIR"] = str(tmp_path)
    old = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = str(tmp_path / "jupyter")
    try:
        client = nbclient.NotebookClient(
            notebook,
            timeout=120,
            kernel_name="binder-env",
            resources={"metadata": {"path": str(notebook_path.parent)}},
        )
        client.execute(env=env)
    finally:
        if old is None:
            os.environ.pop("JUPYTER_PATH", None)
        else:
            os.environ["JUPYTER_PATH"] = old
    outputs = "\n".join(
        output.get("text", "") + output.get("data", {}).get("text/plain", "")
        for cell in notebook.cells
        for output in cell.get("outputs", [])
    )
    assert "1 sample(s) in" in outputs
    assert (
        str(env_dir)
        in subprocess.run(
            [str(python), "-c", "import segpaint; print(segpaint.__file__)"],
            capture_output=True,
            text=True,
            check=True,
            cwd=tmp_path,
            env=env,
        ).stdout
    ), "the kernel must import the Binder install, not the source tree"
    (workdir,) = tmp_path.glob("segpaint-quickstart-*")
    assert len(list((workdir / "annotations_targets").glob("*_labelled.tif"))) == 1
