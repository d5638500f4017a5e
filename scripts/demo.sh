#!/usr/bin/env bash
# Set everything up and open the quickstart notebook in JupyterLab.
#
#   bash scripts/demo.sh            # venv in .venv-demo, then JupyterLab on notebooks/01_quickstart.ipynb
#
# Needs Python >= 3.10 and Node.js/npm (the widget's front-end is built during `pip install`).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
VENV="${SEGPAINT_DEMO_VENV:-$ROOT/.venv-demo}"
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -e ".[lab,dask]"
NOTEBOOK="${1:-notebooks/01_quickstart.ipynb}"
EXTRA=()
[ "$(id -u)" -eq 0 ] && EXTRA+=(--allow-root)  # JupyterLab refuses to run as root without it
exec "$VENV/bin/jupyter" lab "${EXTRA[@]}" "$NOTEBOOK"
