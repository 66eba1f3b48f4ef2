#!/bin/sh
# Runs hornet's benchmark suite (see bench/bench.py for what and how).
#   bench/run.sh                 full run (~40 min: both HTTP clients, wrk at every scaling size)
#   BENCH_QUICK=1 bench/run.sh   smoke run of every section (~6 min)
#   HORNET=/path/to/hornet       measure another build (default: build/hornet)
# Results: printed, and written to $BENCH_OUT/results.md (a temp dir by default).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
for t in nginx wrk ab hey locust taskset python3; do
    command -v "$t" >/dev/null 2>&1 || [ -x "/usr/sbin/$t" ] || {
        echo "bench: '$t' is missing: run packaging/deps.sh bench" >&2; exit 2; }
done
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time is missing (package 'time')" >&2; exit 2; }
: "${HORNET:=$here/../${BUILD:-build}/hornet}"
export HORNET
exec python3 "$here/bench.py"
