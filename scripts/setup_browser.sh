#!/usr/bin/env bash
# Install what the browser tests and the browser benchmark need on a Debian machine:
# Debian's chromium (never `playwright install`: the browser comes from apt, not from a CDN).
# Idempotent: does nothing when `chromium` is already on PATH.
# Usage: bash scripts/setup_browser.sh [path/to/venv]   (the venv gets the `browser` extra's packages)
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
    echo "setup_browser: chromium already installed: $(chromium --version 2>/dev/null || echo '?')"
else
    if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then
        SUDO=sudo
    else
        SUDO=
    fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update
    $SUDO apt-get install -y --no-install-recommends chromium fonts-dejavu-core
    echo "setup_browser: installed $(chromium --version 2>/dev/null || echo chromium)"
fi

# Python side: optional, only when a venv is given.
if [ "${1:-}" != "" ]; then
    VENV="$1"
    "$VENV/bin/python" -m pip install --quiet \
        "jupyterlab>=4.2" "notebook>=7.2" "playwright>=1.45" "nbclient>=0.10" "ipykernel>=6.29" \
        "ipycanvas>=0.13"
    echo "setup_browser: python packages ready in $VENV"
fi
