#!/bin/sh
# Installs playwright-core (no browser download: the tests drive Debian's
# chromium) into tests/web/node_modules once, for every browser test.
# ctest runs it as the fixture "playwright" before test_browser and
# test_report_browser, so two parallel tests never run npm in one folder.
set -eu

src=${HN_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
web=$src/tests/web

if ! command -v node >/dev/null 2>&1; then
    echo "SKIP: node is not installed (packaging/deps.sh test installs nodejs and npm)"
    exit 0
fi
if [ -f "$web/node_modules/playwright-core/package.json" ]; then
    exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
    echo "FAIL: npm is missing, so playwright-core cannot be installed (run packaging/deps.sh test)" >&2
    exit 1
fi
timeout 300 npm ci --prefix "$web" --no-audit --no-fund --loglevel=error >/dev/null
test -f "$web/node_modules/playwright-core/package.json"
