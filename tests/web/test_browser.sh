#!/bin/sh
# Browser tests of the dashboard: Debian's chromium driven by playwright-core,
#  - tests/web/dashboard.test.js against `$HORNET --demo --web-port 0`;
#  - tests/web/distributed.test.js against a master, two workers and the demo
#    target (the header's worker count, the Workers tab, the report's workers);
#  - tests/web/shape.test.js against a plugin with a load shape;
#  - tests/web/capacity.test.js: the capacity search from the start form;
#  - tests/web/picker.test.js: the user type picker;
#  - tests/web/params.test.js: the plugin's parameters in the start form;
#  - tests/web/runs.test.js: the Runs tab (compare, baseline overlay);
#  - tests/web/reload.test.js: reloading an edited plugin (a compile error too);
#  - tests/web/auth.test.js: the dashboard behind --web-auth;
#  - tests/web/tls.test.js: the dashboard over HTTPS (--tls-cert), behind --web-auth.
# Screenshots of every step go to $HN_BUILD_DIR/e2e-screenshots/ (dist-*.png
# for the second).
# Skips (exit 0) only when node or chromium is not installed; packaging/deps.sh
# installs both, so in `make test` and CI it always runs.
set -eu

src=${HN_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
web=$src/tests/web
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

if [ ! -f "$web/node_modules/playwright-core/package.json" ]; then
    # tests/web/setup_playwright.sh (the ctest fixture "playwright") installs it.
    echo "FAIL: playwright-core is missing: run tests/web/setup_playwright.sh" >&2
    exit 1
fi

export CHROMIUM="$chromium"
export HN_SOURCE_DIR="$src"
rc=0
node "$web/dashboard.test.js" || rc=1
node "$web/distributed.test.js" || rc=1
node "$web/shape.test.js" || rc=1
node "$web/capacity.test.js" || rc=1
node "$web/picker.test.js" || rc=1
node "$web/params.test.js" || rc=1
node "$web/runs.test.js" || rc=1
node "$web/reload.test.js" || rc=1
node "$web/auth.test.js" || rc=1
node "$web/tls.test.js" || rc=1
exit $rc
