#!/usr/bin/env bash
# Sets up the host (see setup.sh), then runs lint, type checks and the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
npx eslint . --max-warnings=0
npx tsc -p tsconfig.test.json
mkdir -p build
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json=build/vitest.json "$@" || status=$?
# One plain closing line, whatever the reporter printed above.
node -e '
  const r = JSON.parse(require("fs").readFileSync("build/vitest.json", "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
' || true
exit "$status"
