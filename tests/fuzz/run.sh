#!/bin/sh
# Runs every libFuzzer harness built in BUILD_DIR for SECONDS each, from a
# copy of its seed corpus (tests/fuzz/corpus/NAME), and says how long each
# ran without a finding. A finding stops that harness: its crash file and
# the fuzzer's report are in BUILD_DIR, and the script exits 1.
# Usage: tests/fuzz/run.sh BUILD_DIR SECONDS
set -eu
build=$1
seconds=$2
here=$(cd "$(dirname "$0")" && pwd)
rc=0
for fuzzer in "$build"/fuzz_*; do
    [ -x "$fuzzer" ] || continue
    name=${fuzzer##*/fuzz_}
    corpus="$build/corpus/$name"
    mkdir -p "$corpus"
    cp -n "$here/corpus/$name"/* "$corpus"/ 2>/dev/null || true
    log="$build/$name.log"
    start=$(date +%s)
    if "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$build/$name-" "$corpus" >"$log" 2>&1; then
        runs=$(grep -o 'Done [0-9]* runs' "$log" | tail -1)
        echo "fuzz $name: $(( $(date +%s) - start )) s without a finding ($runs)"
    else
        echo "fuzz $name: FINDING after $(( $(date +%s) - start )) s; see $log" >&2
        tail -40 "$log" >&2
        rc=1
    fi
done
exit $rc
