#!/usr/bin/env bash
# Set everything up and open the quickstart notebook in JupyterLab.
#
#   bash scripts/demo.sh                    # venv in .venv-demo, then JupyterLab on the quickstart
#   bash scripts/demo.sh notebooks/02_population_specific.ipynb
#
# Prints, once the server answers, the one URL to open (JupyterLab's own log prints several):
#   http://127.0.0.1:PORT/lab/tree/notebooks/01_quickstart.ipynb?token=...
# Ctrl+C stops the server.
#
# Needs Python >= 3.10 and Node.js/npm (the widget's front-end is built during `pip install`).
# Environment: PYTHON (interpreter for the venv), SEGPAINT_DEMO_VENV (where the venv goes),
# SEGPAINT_DEMO_INSTALL=0 (reuse that venv as it is, no pip install), SEGPAINT_DEMO_PORT (default:
# a free port), SEGPAINT_DEMO_BROWSER=0 (do not open a browser).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
VENV="${SEGPAINT_DEMO_VENV:-$ROOT/.venv-demo}"
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
if [ "${SEGPAINT_DEMO_INSTALL:-1}" != "0" ]; then
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet -e ".[lab,dask]"
fi
NOTEBOOK="${1:-notebooks/01_quickstart.ipynb}"
[ -f "$NOTEBOOK" ] || { echo "demo.sh: no notebook at $ROOT/$NOTEBOOK" >&2; exit 2; }

PORT="${SEGPAINT_DEMO_PORT:-$("$VENV/bin/python" -c '
import socket
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])')}"
TOKEN="$("$VENV/bin/python" -c 'import secrets; print(secrets.token_hex(24))')"
URL="http://127.0.0.1:$PORT/lab/tree/$NOTEBOOK?token=$TOKEN"

ARGS=(--ServerApp.ip=127.0.0.1 "--ServerApp.port=$PORT" --ServerApp.port_retries=0
      "--IdentityProvider.token=$TOKEN" "--ServerApp.root_dir=$ROOT")
[ "$(id -u)" -eq 0 ] && ARGS+=(--allow-root)  # JupyterLab refuses to run as root without it
[ "${SEGPAINT_DEMO_BROWSER:-1}" = "0" ] && ARGS+=(--no-browser)

"$VENV/bin/jupyter" lab "${ARGS[@]}" "$NOTEBOOK" &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null' EXIT INT TERM

# Wait until the server answers (at most 120 s), then print the URL where nobody can miss it.
for _ in $(seq 240); do
    kill -0 "$SERVER" 2>/dev/null || { echo "demo.sh: JupyterLab exited (see its log above)" >&2; exit 1; }
    if "$VENV/bin/python" - "$PORT" "$TOKEN" <<'PY' 2>/dev/null; then
import sys, urllib.request
urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/api/status?token={sys.argv[2]}", timeout=2)
PY
        printf '\n%s\n  segpaint demo: open the quickstart at\n\n    %s\n\n  (Ctrl+C here stops JupyterLab)\n%s\n\n' \
            "========================================================================" "$URL" \
            "========================================================================"
        wait "$SERVER"
        exit $?
    fi
    sleep 0.5
done
echo "demo.sh: JupyterLab did not answer on port $PORT within 120 s" >&2
exit 1
