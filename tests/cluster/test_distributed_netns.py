#!/usr/bin/env python3
"""Distributed mode over a real network path: two workers, each in a network
namespace of its own joined to this one by a veth pair, reach a master that
listens only on this side's veth address, and load a demo target bound to
that address too. The master's count must equal the target's, and each
worker's ZeroMQ connection must be an established TCP connection from its
namespace's address.

Addresses: 10.213.1.0/24 and 10.213.2.0/24 (or the next free 10.N/16), on interfaces this test creates
and deletes (nothing else is touched). Needs root (CAP_NET_ADMIN) and
iproute2; without them the test is skipped with the reason (exit 77).
"""

import os
import re
import shutil
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import hnlib  # noqa: E402
from test_distributed import Master, Proc, CACHE, hello_plugin, users_are  # noqa: E402

SKIP = 77
TAG = "%x" % (os.getpid() & 0xffff)
NAMESPACES = ["hn-%s-w%d" % (TAG, i) for i in (1, 2)]
NET = "10.213"  # the /16 the test's veth pairs use (setup takes a free one)


def ip(*args, ns=None, check=True):
    cmd = (["ip", "netns", "exec", ns] if ns else []) + ["ip"] + list(args)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
    if check and r.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(cmd), r.stderr.strip()))
    return r


def skip(reason):
    print("SKIP  test_distributed_netns: %s" % reason)
    sys.exit(SKIP)


def setup():
    if shutil.which("ip") is None:
        skip("iproute2 ('ip') is not installed")
    if os.geteuid() != 0:
        skip("creating network namespaces needs root (CAP_NET_ADMIN)")
    # Another suite on this machine may hold a /16 already: take a free one.
    global NET
    used = ip("-4", "addr", "show").stdout
    free = [n for n in range(213, 240) if "10.%d." % n not in used]
    if not free:
        skip("10.213.0.0/16 to 10.239.0.0/16 are all used on this machine")
    NET = "10.%d" % free[0]
    probe = subprocess.run(["ip", "netns", "add", NAMESPACES[0]], capture_output=True, text=True)
    if probe.returncode != 0:
        skip("network namespaces are not permitted here: %s" % probe.stderr.strip())
    for i, ns in enumerate(NAMESPACES, 1):
        if i > 1:
            ip("netns", "add", ns)
        host_if, ns_if = "hn%s-h%d" % (TAG, i), "hn%s-n%d" % (TAG, i)
        ip("link", "add", host_if, "type", "veth", "peer", "name", ns_if)
        ip("link", "set", ns_if, "netns", ns)
        ip("addr", "add", "%s.%d.1/24" % (NET, i), "dev", host_if)
        ip("link", "set", host_if, "up")
        ip("link", "set", "lo", "up", ns=ns)
        ip("addr", "add", "%s.%d.2/24" % (NET, i), "dev", ns_if, ns=ns)
        ip("link", "set", ns_if, "up", ns=ns)
        ip("route", "add", "default", "via", "%s.%d.1" % (NET, i), ns=ns)


def teardown():
    for ns in NAMESPACES:
        # Deleting a namespace deletes its end of the veth, and so the pair.
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


PASSED = []


def check(failed, ok, what):
    print("%s  %s" % ("PASS" if ok else "FAIL", what), flush=True)
    (PASSED if ok else failed).append(what)


def main():
    setup()
    procs, failed = [], []
    target = None
    try:
        target = hnlib.DemoTarget(extra_args=["--bind", NET + ".1.1"])
        target.start()
        url = "http://%s.1.1:%d" % (NET, target.port)
        m = Master(hello_plugin(), url, extra=["--master-bind-host", NET + ".1.1"])
        procs.append(m)
        for ns in NAMESPACES:
            procs.append(Proc(["--worker", "--master-host", NET + ".1.1", "--master-port",
                               str(m.zmq), "-f", hello_plugin()],
                              prefix=["ip", "netns", "exec", ns]))
        m.until("2 workers from the namespaces", lambda s: s["worker_count"] == 2, 60)
        for i, ns in enumerate(NAMESPACES, 1):
            ss = subprocess.run(["ip", "netns", "exec", ns, "ss", "-tnH", "state", "established"],
                                capture_output=True, text=True, timeout=10).stdout
            net = re.escape(NET)
            peer = re.search(r"%s\.%d\.2:\d+\s+%s\.1\.1:%d\b" % (net, i, net, m.zmq), ss)
            check(failed, peer is not None,
                  "worker in %s is connected from %s.%d.2 to the master over its veth"
                  % (ns, NET, i))
        status, body = m.api("POST", "/api/swarm", {"users": 8, "spawn_rate": 100})
        check(failed, status == 200, "swarm of 8 users started (%s %s)" % (status, body))
        m.until("4/4", users_are(8, [4, 4], 2), 30)
        # The count check needs more than 20 requests, however long they take.
        hnlib.wait_until(lambda: target.counts()["total"] > 20, 60, "more than 20 requests served")
        m.api("POST", "/api/stop")
        s = m.until("stopped", lambda s: s["state"] == "stopped", 30)
        served = target.counts()["total"]
        check(failed, served > 20 and s["total"]["requests"] == served,
              "the master counted every request the target served (%d vs %d)"
              % (s["total"]["requests"], served))
        check(failed, s["total"]["failures"] == 0, "no failures")
    except AssertionError as e:
        check(failed, False, str(e))
    finally:
        for p in procs:
            p.kill()
        if target is not None:
            target.stop()
        teardown()
    print("%d passed, %d failed" % (len(PASSED), len(failed)), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
