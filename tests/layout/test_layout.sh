#!/bin/sh
# The folder dependency rules (cmake/CheckLayout.cmake) hold for the tree,
# and each kind of wrong include planted in a copy of it fails the check
# with a line that names the file and the rule.
set -eu

src=${HN_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
script=$src/cmake/CheckLayout.cmake
tmp=$(mktemp -d /tmp/hn-layout-XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM
fails=0

copy_tree() { # a fresh copy of every checked source folder into $tmp/tree
    rm -rf "$tmp/tree"
    for d in base engine engine/client web report outputs cluster demo server; do
        [ -d "$src/$d" ] || continue
        mkdir -p "$tmp/tree/$d"
        find "$src/$d" -maxdepth 1 \( -name '*.c' -o -name '*.h' \) -exec cp {} "$tmp/tree/$d/" \;
    done
}

check() { cmake -DROOT="$tmp/tree" -P "$script" >"$tmp/out" 2>&1; }

copy_tree
if check; then
    echo "ok   the tree follows the rules"
else
    echo "FAIL the tree breaks the rules:"; cat "$tmp/out"; fails=$((fails + 1))
fi

# planted FILE INCLUDE EXPECTED-TEXT
planted() {
    copy_tree
    printf '#include "%s"\n' "$2" >>"$tmp/tree/$1"
    if check; then
        echo "FAIL $1 including \"$2\" passed the check"; fails=$((fails + 1))
    elif grep -qF "$3" "$tmp/out"; then
        echo "ok   $1 including \"$2\" is refused"
    else
        echo "FAIL $1 including \"$2\": the message lacks '$3':"; cat "$tmp/out"
        fails=$((fails + 1))
    fi
}

planted engine/worker.c report.h 'engine/worker.c: #include "report.h" (report/): engine/ may use'
planted engine/runner.c api.h 'engine/runner.c: #include "api.h" (server/)'
planted engine/client/curl_client.c user.h 'engine/client/curl_client.c: #include "user.h" (engine/): engine/client/ may use base'
planted report/report.c runner.h 'report/report.c: #include "runner.h" (engine/): report/ may use base, web, engine/snapshot.h'
planted base/log.c stats.h 'base/log.c: #include "stats.h" (engine/): base/ may use nothing outside itself'
planted server/api.c cluster.h 'server/api.c: #include "cluster.h" (cluster/)'
planted server/session.c demo_target.h 'server/session.c: #include "demo_target.h" (demo/)'
planted cluster/fleet.c report.h 'cluster/fleet.c: #include "report.h" (report/)'
planted demo/demo_target.c snapshot.h 'demo/demo_target.c: #include "snapshot.h" (engine/)'
planted outputs/influx.c runner.h 'outputs/influx.c: #include "runner.h" (engine/): outputs/ may use base, report, engine/snapshot.h'
planted server/api.c outputs.h 'server/api.c: #include "outputs.h" (outputs/)'
planted engine/stats.c ../report/report.h 'name a header by its file name'

[ "$fails" -eq 0 ] || { echo "$fails failed"; exit 1; }
echo "all passed"
