#!/usr/bin/env bash
# Sets up the host (see setup.sh), then runs lint, type checks and the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
npx eslint . --max-warnings=0
npx tsc -p tsconfig.test.json
npx vitest run "$@"
