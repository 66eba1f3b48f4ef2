#!/bin/sh
# Browser tests of the dashboard: Debian's chromium driven by playwright-core,
#  - tests/e2e/dashboard.test.js against `$HORNET --demo --web-port 0`;
#  - tests/e2e/distributed.test.js against a master, two workers and the demo
#    target (the header's worker count, the Workers tab, the report's workers).
# Screenshots of every step go to $HN_BUILD_DIR/e2e-screenshots/ (dist-*.png
# for the second).
# Skips (exit 0) only when node or chromium is not installed; packaging/deps.sh
# installs both, so in `make test` and CI it always runs.
set -eu

src=${HN_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
e2e=$src/tests/e2e
chromium=${CHROMIUM:-/usr/bin/chromium}

if ! command -v node >/dev/null 2>&1; then
    echo "SKIP: node is not installed (packaging/deps.sh test installs nodejs and npm)"
    exit 0
fi
if [ ! -x "$chromium" ]; then
    echo "SKIP: $chromium is not installed (packaging/deps.sh test installs chromium)"
    exit 0
fi
if [ -z "${HORNET:-}" ] || [ ! -x "$HORNET" ]; then
    echo "FAIL: HORNET must name the hornet binary (got '${HORNET:-}')" >&2
    exit 1
fi

if [ ! -f "$e2e/node_modules/playwright-core/package.json" ]; then
    if ! command -v npm >/dev/null 2>&1; then
        echo "FAIL: npm is missing, so playwright-core cannot be installed (run packaging/deps.sh test)" >&2
        exit 1
    fi
    # playwright-core alone: no browser download, the test uses Debian's chromium.
    timeout 180 npm ci --prefix "$e2e" --no-audit --no-fund --loglevel=error >/dev/null
fi

export CHROMIUM="$chromium"
export HN_SOURCE_DIR="$src"
rc=0
node "$e2e/dashboard.test.js" || rc=1
node "$e2e/distributed.test.js" || rc=1
exit $rc
