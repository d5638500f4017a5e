#!/usr/bin/env bash
# Create the ML test environment: segpaint + the cellpose and stardist extras.
#
#   bash scripts/setup_ml.sh            # -> /work/main/.venv-ml (or $VENV_ML)
#
# torch is installed first and pinned, so that cellpose (which asks for any torch) does not
# pull another build.  Which torch build you get depends on the index pip reads:
#   * PyPI's Linux x86_64 `torch==2.13.0` wheel is the CUDA build: it brings several GB of
#     nvidia-* packages.  On a machine without an NVIDIA GPU, take the CPU-only build (0.75 GB
#     installed) from PyTorch's own index instead:
#
#       TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu bash scripts/setup_ml.sh
#
#     which runs `pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu`.
#   * This project's CI machine reads a mirror whose torch wheel is already the CPU build, so it
#     leaves TORCH_INDEX_URL unset.
# A GPU machine wants the CUDA build: leave TORCH_INDEX_URL unset (or point it at the
# https://download.pytorch.org/whl/cuXXX index matching its driver).
# Re-running is cheap: pip skips what is already installed.
#
# Environment: VENV_ML (where the venv goes), PYTHON (its interpreter), TORCH_VERSION (default
# 2.13.0), TORCH_INDEX_URL (see above).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV_ML="${VENV_ML:-$ROOT/.venv-ml}"
PYTHON="${PYTHON:-python3.11}"
TORCH_VERSION="${TORCH_VERSION:-2.13.0}"
TORCH_INDEX_URL="${TORCH_INDEX_URL:-}"

if [ ! -x "$VENV_ML/bin/python" ]; then
  "$PYTHON" -m venv "$VENV_ML"
fi
PIP=("$VENV_ML/bin/python" -m pip install --quiet)

"${PIP[@]}" --upgrade pip
# 1. torch, pinned before anything can ask for another one (the CPU build with TORCH_INDEX_URL)
TORCH_FROM=()
if [ -n "$TORCH_INDEX_URL" ]; then
  TORCH_FROM=(--index-url "$TORCH_INDEX_URL")
  echo "setup_ml: torch==${TORCH_VERSION} from $TORCH_INDEX_URL"
fi
"${PIP[@]}" "${TORCH_FROM[@]}" "torch==${TORCH_VERSION}"
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
