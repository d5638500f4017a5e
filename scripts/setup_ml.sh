#!/usr/bin/env bash
# Create the ML test environment: segpaint + the cellpose and stardist extras.
#
#   bash scripts/setup_ml.sh            # -> /work/main/.venv-ml (or $VENV_ML)
#
# torch is installed first and pinned, from the CPU wheel found by pip's find-links,
# so that cellpose does not pull the multi-GB CUDA build.  Re-running is cheap: pip
# skips what is already installed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV_ML="${VENV_ML:-$ROOT/.venv-ml}"
PYTHON="${PYTHON:-python3.11}"
TORCH_VERSION="${TORCH_VERSION:-2.13.0}"

if [ ! -x "$VENV_ML/bin/python" ]; then
  "$PYTHON" -m venv "$VENV_ML"
fi
PIP=("$VENV_ML/bin/python" -m pip install --quiet)

"${PIP[@]}" --upgrade pip
# 1. the CPU torch build, pinned before anything can ask for another one
"${PIP[@]}" "torch==${TORCH_VERSION}"
# 2. the package with its extras and test tools; the constraint keeps torch where it is
CONSTRAINTS="$(mktemp)"
echo "torch==${TORCH_VERSION}" >"$CONSTRAINTS"
# The requirements come from pyproject.toml (base + extras); the package itself is put on the
# path with a .pth file, so this works whether or not the project builds as a wheel yet.
REQS="$(mktemp)"
trap 'rm -f "$CONSTRAINTS" "$REQS"' EXIT
"$VENV_ML/bin/python" - "$ROOT/pyproject.toml" >"$REQS" <<'PY'
import sys
import tomllib

with open(sys.argv[1], "rb") as handle:
    project = tomllib.load(handle)["project"]
requirements = list(project["dependencies"])
for extra in ("cellpose", "stardist", "dask", "test"):
    requirements += project["optional-dependencies"][extra]
print("\n".join(requirements))
PY
"${PIP[@]}" -c "$CONSTRAINTS" -r "$REQS"
SITE="$("$VENV_ML/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
echo "$ROOT/src" >"$SITE/segpaint-src.pth"

"$VENV_ML/bin/python" - <<'PY'
import cellpose, stardist, tensorflow, torch
print("torch", torch.__version__, "| tensorflow", tensorflow.__version__,
      "| stardist", stardist.__version__, "| cellpose ok")
PY
echo "ML environment ready: $VENV_ML"
