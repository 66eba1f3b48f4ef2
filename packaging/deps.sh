#!/bin/sh
# Installs the Debian 12 packages hornet needs to build, test and run.
# Usage: packaging/deps.sh [build|test|bench]   (default: test)
# Only missing packages are installed; runs apt-get as root (or via sudo).
set -eu

profile=${1:-test}
build="build-essential cmake pkg-config libmicrohttpd-dev libwebsockets-dev libzmq3-dev libcsv-dev
       libcurl4-openssl-dev libjansson-dev libcmocka-dev libjs-chart.js libhttp-parser-dev
       libssl-dev zlib1g-dev libpq-dev libwslay-dev"
test="$build curl python3 python3-yaml python3-junitparser procps chromium clang libclang-rt-14-dev
      prometheus influxdb postgresql libnss3-tools nginx-light python3-websockets"
bench="$test wrk apache2-utils hey python3-locust time"

case "$profile" in
build) want=$build ;;
test) want=$test ;;
bench) want=$bench ;;
*) echo "deps.sh: unknown profile '$profile' (expected build, test or bench)" >&2; exit 2 ;;
esac

# The browser tests (tests/web) need node and npm. A node that is already
# installed some other way (e.g. a vendor build that bundles npm) is used as
# is: Debian's npm package would conflict with it.
if [ "$profile" != build ]; then
    command -v node >/dev/null 2>&1 || want="$want nodejs"
    command -v npm >/dev/null 2>&1 || want="$want npm"
fi

missing=""
for p in $want; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "deps.sh: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
