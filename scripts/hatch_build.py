"""Hatch build hook: bundle the Annotator's front-end, ``js/`` -> ``src/segpaint/static/widget.js``.

``pip install .`` / ``pip install -e .`` / ``pip wheel .`` from a clone run it (see
``[tool.hatch.build.hooks.custom]`` in pyproject.toml).  It

* installs the front-end's build tools with ``npm ci``, which installs exactly what
  ``js/package-lock.json`` lists and never rewrites it, so a build leaves the clone as git has it
  (a lock file that does not suit the registry falls back to ``npm install --no-save``, which does
  not write it either);
* rebuilds the bundle only when it is missing or older than a file in ``js/`` (an sdist ships the
  bundle, so installing one needs no Node.js);
* says plainly, when Node.js is missing, that building from source needs it and a wheel does not.

Only the standard library and hatchling: it runs inside pip's isolated build environment.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

BUNDLE = Path("src", "segpaint", "static", "widget.js")
JS = Path("js")
NODE_MIN = 18
NPM_FLAGS = ("--no-audit", "--no-fund", "--prefer-offline")

NEEDS_NODE = (
    "segpaint's front-end (the Annotator widget, js/) needs Node.js {minimum} or newer with npm "
    "to build segpaint from source, and {found}. Install Node.js (https://nodejs.org/, "
    "`apt-get install nodejs npm`, or `conda install -c conda-forge nodejs`) and run the install "
    "again. A wheel does not need Node.js: it ships the built front-end, so installing a released "
    "wheel (`pip install segpaint`), or a wheel built once on a machine with Node.js "
    "(`pip wheel --no-deps .`), works without it."
)


class FrontendBuildError(RuntimeError):
    """The front-end could not be built (no Node.js, or npm failed)."""


def _sources(root: Path) -> list[Path]:
    """The files the bundle is made from (not node_modules, not the JS tests)."""
    out = []
    for folder, subfolders, files in os.walk(root / JS):
        if Path(folder) == root / JS:
            subfolders[:] = [d for d in subfolders if d not in {"node_modules", "tests"}]
        out += [Path(folder, name) for name in files]
    return out


def is_stale(root: Path) -> bool:
    """True when the bundle is missing or older than one of its source files."""
    bundle = root / BUNDLE
    if not bundle.is_file():
        return True
    built = bundle.stat().st_mtime
    return any(path.stat().st_mtime > built for path in _sources(root))


def find_node(path: str | None = None) -> tuple[str, str]:
    """``(node, npm)`` executables on ``path`` (default: ``$PATH``); FrontendBuildError if unusable."""
    node = shutil.which("node", path=path)
    npm = shutil.which("npm", path=path)
    if node is None or npm is None:
        missing = [f"`{n}`" for n, p in (("node", node), ("npm", npm)) if p is None]
        found = " and ".join(missing) + (" were" if len(missing) > 1 else " was")
        raise FrontendBuildError(
            NEEDS_NODE.format(minimum=NODE_MIN, found=f"{found} not found on PATH")
        )
    version = subprocess.run(
        [node, "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    match = re.match(r"v?(\d+)\.", version)
    if match is None or int(match.group(1)) < NODE_MIN:
        raise FrontendBuildError(
            NEEDS_NODE.format(minimum=NODE_MIN, found=f"{node} is version {version or '?'}")
        )
    return node, npm


def _run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)


def build_frontend(root: Path, *, force: bool = False, log: Callable[[str], Any] = print) -> bool:
    """Build ``src/segpaint/static/widget.js`` from ``js/`` when needed; True when it built.

    Without Node.js an existing bundle is kept (with a warning when it is older than ``js/``);
    a missing one is a :class:`FrontendBuildError` that says how to get Node.js or a wheel.
    """
    root = Path(root)
    if not force and not is_stale(root):
        log(f"segpaint front-end: {BUNDLE} is up to date")
        return False
    try:
        _node, npm = find_node()
    except FrontendBuildError:
        if (root / BUNDLE).is_file():
            log(f"segpaint front-end: no Node.js; keeping {BUNDLE}, older than a file in js/")
            return False
        raise
    js = root / JS
    log("segpaint front-end: npm ci (installs js/package-lock.json as it is)")
    done = _run([npm, "ci", *NPM_FLAGS], js)
    if done.returncode != 0:
        # e.g. a registry mirror that serves other optional packages than the lock lists;
        # --no-save installs the locked versions where it can and leaves the lock file alone.
        log(
            "segpaint front-end: npm ci failed, retrying with npm install --no-save:\n"
            + done.stderr
        )
        done = _run([npm, "install", "--no-save", *NPM_FLAGS], js)
    if done.returncode == 0:
        done = _run([npm, "run", "build"], js)
    if done.returncode != 0 or not (root / BUNDLE).is_file():
        raise FrontendBuildError(
            f"building segpaint's front-end failed in {js} ({' '.join(map(str, done.args))}, "
            f"exit code {done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )
    log(f"segpaint front-end: built {BUNDLE} ({(root / BUNDLE).stat().st_size} bytes)")
    return True


class FrontendBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    """Runs :func:`build_frontend` before a wheel or an sdist is assembled."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name not in {"wheel", "sdist"}:
            return
        build_frontend(Path(self.root), log=self.app.display_info)
