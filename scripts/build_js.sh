#!/usr/bin/env bash
# Build and test the Annotator front-end: js/ -> src/segpaint/static/widget.js (esbuild), then the
# type check (tsc --noEmit over the JSDoc types), the lint (eslint) and vitest.
# Needs Node.js >= 18 and npm (the npm registry, or a warm npm cache). About 20-40 s on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../js"
start=$(date +%s)
# `npm install` (not `npm ci`): this registry mirror serves only this platform's optional
# binaries (rollup, esbuild), so the lock file lists only those and `npm ci` rejects it as out of
# sync. `npm install` still installs the locked versions.
npm install --no-audit --no-fund --prefer-offline
npm run build
npm run typecheck
npm run lint
npm test
echo "build_js.sh: done in $(( $(date +%s) - start )) s"
