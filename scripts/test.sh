#!/usr/bin/env bash
# Set everything up and run the whole segpaint test suite (what CI runs).
#
#   bash scripts/test.sh
#
# Groups, each in its own environment so that the base install is tested without extras:
#   base     pip install ".[test]"                      -> pytest -m "not ml and not browser"
#   dev      pip install -e ".[dev]" + celldetective    -> ruff, mypy, JS tests, pytest -m "not ml"
#            (browser tests: JupyterLab + Debian's chromium, installed by scripts/setup_browser.sh)
#   ml       scripts/setup_ml.sh (cellpose 3 + stardist) -> pytest -m ml
# Every group runs even if an earlier one failed; the script exits non-zero if any failed and
# ends with one line "total: N passed, N failed, N skipped".
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
VENVS="${SEGPAINT_VENVS:-$ROOT/.venv-ci}"
REPORTS="$ROOT/test-artifacts/reports"
mkdir -p "$VENVS" "$REPORTS"
rm -f "$REPORTS"/*.xml
export PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONUNBUFFERED=1
# Each group requires the optional parts it installed: there, a missing backend, browser or
# loader fails instead of skipping (the base group has none and skips those tests).

failed=()
# Building (pip install ., npm) must not change the clone: compare git's view before and after.
tree_state() { git status --porcelain 2>/dev/null; }
TREE_BEFORE="$(tree_state)"
step() {  # step NAME COMMAND...
    local name="$1"; shift
    echo
    echo "=== [$(date +%H:%M:%S)] $name"
    local t0=$SECONDS
    if "$@"; then
        echo "=== $name: ok ($((SECONDS - t0)) s)"
    else
        echo "=== $name: FAILED ($((SECONDS - t0)) s)"
        failed+=("$name")
    fi
}

make_venv() {  # make_venv DIR
    [ -x "$1/bin/python" ] || "$PYTHON" -m venv "$1"
    "$1/bin/python" -m pip install --quiet --upgrade pip
}

# ------------------------------------------------------------------ base: no extras
setup_base() {
    make_venv "$VENVS/base" &&
    "$VENVS/base/bin/python" -m pip install --quiet --force-reinstall --no-deps . &&
    "$VENVS/base/bin/python" -m pip install --quiet ".[test]"
}
test_base() {
    # src/ is not on sys.path here: the tests import the installed wheel, as a user would.
    "$VENVS/base/bin/python" -m pytest tests -m "not ml and not browser" -p no:cacheprovider \
        --junitxml="$REPORTS/base.xml" -q
}

# ------------------------------------------------------------------ dev: lint, JS, browser
setup_dev() {
    make_venv "$VENVS/dev" &&
    "$VENVS/dev/bin/python" -m pip install --quiet -e ".[dev]" &&
    bash scripts/setup_browser.sh "$VENVS/dev" &&
    # Celldetective's own training loader reads our exports in a test; its full dependency set
    # (Qt, napari, a numpy pin) is not needed for that module. It goes in LAST, with --no-deps:
    # pip checks the requirements of installed packages that depend on what it installs, so any
    # install after it (natsort, imageio, pandas, ...) would print "ERROR: pip's dependency
    # resolver ..." for the thirty packages celldetective lists and we leave out.
    "$VENVS/dev/bin/python" -m pip install --quiet natsort imageio pandas &&
    "$VENVS/dev/bin/python" -m pip install --quiet --no-deps celldetective
}
lint() {
    "$VENVS/dev/bin/ruff" check src tests benchmarks &&
    "$VENVS/dev/bin/ruff" format --check src tests benchmarks &&
    "$VENVS/dev/bin/mypy"
}
test_js() {
    if [ -f js/package.json ]; then
        bash scripts/build_js.sh
    fi
}
test_dev() {
    SEGPAINT_REQUIRE_BROWSER=1 SEGPAINT_REQUIRE_CELLDETECTIVE=1 SEGPAINT_REQUIRE_NOTEBOOKS=1 \
    SEGPAINT_REQUIRE_ZARR=1 \
    "$VENVS/dev/bin/python" -m pytest tests -m "not ml" -p no:cacheprovider \
        --junitxml="$REPORTS/dev.xml" -q
}
test_doctests() {
    "$VENVS/dev/bin/python" -m pytest --doctest-modules src/segpaint -p no:cacheprovider \
        --junitxml="$REPORTS/doctests.xml" -q
}

# ------------------------------------------------------------------ ml: cellpose + stardist
setup_ml() { VENV_ML="$VENVS/ml" PYTHON="$PYTHON" bash scripts/setup_ml.sh; }
test_ml() {
    SEGPAINT_REQUIRE_ML=1 \
    "$VENVS/ml/bin/python" -m pytest tests -m ml -p no:cacheprovider --junitxml="$REPORTS/ml.xml" -q
}

step "setup base" setup_base && step "tests base (no extras)" test_base
step "setup dev" setup_dev
step "lint (ruff, mypy)" lint
step "tests js (vitest)" test_js
step "tests dev (all but ML, browser included)" test_dev
step "doctests" test_doctests
step "setup ml" setup_ml && step "tests ml (cellpose, stardist)" test_ml
clean_tree() {
    local after
    after="$(tree_state)"
    [ "$after" = "$TREE_BEFORE" ] && return 0
    echo "the build changed files git tracks (or left new ones); git status before/after:"
    diff <(echo "$TREE_BEFORE") <(echo "$after")
    return 1
}
step "the clone is as clean as before (builds wrote no tracked file)" clean_tree

"$PYTHON" - "$REPORTS" <<'PY'
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
for report in sorted(Path(sys.argv[1]).glob("*.xml")):
    root = ET.parse(report).getroot()
    for suite in root.iter("testsuite"):
        for key in totals:
            totals[key] += int(suite.get(key, 0))
failed = totals["failures"] + totals["errors"]
passed = totals["tests"] - failed - totals["skipped"]
print(f"\ntotal: {passed} passed, {failed} failed, {totals['skipped']} skipped")
PY

if [ ${#failed[@]} -gt 0 ]; then
    echo "FAILED steps: ${failed[*]}"
    exit 1
fi
