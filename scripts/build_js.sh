#!/usr/bin/env bash
# Build and test the Annotator front-end: js/ -> src/segpaint/static/widget.js (esbuild), then the
# type check (tsc --noEmit over the JSDoc types), the lint (eslint) and vitest.
# Needs Node.js >= 18 and npm (the npm registry, or a warm npm cache). About 20-40 s on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../js"
start=$(date +%s)
# `npm ci`, never `npm install`: it installs exactly what js/package-lock.json lists and never
# rewrites that tracked file, so building leaves the clone as git has it. It fails when the lock
# is out of step with package.json: after changing dependencies, run `npm install` in js/ once
# and commit the lock it writes (it lists every platform's optional binaries, not only this one's).
npm ci --no-audit --no-fund --prefer-offline
npm run build
npm run typecheck
npm run lint
npm test
echo "build_js.sh: done in $(( $(date +%s) - start )) s"
