#!/usr/bin/env python3
"""Each phase of a request has its own limit and its own message, and a
response body costs at most --max-body of memory (issue 13, findings 2 and
4), against a hostile loopback target of this test's own:

- /hang never answers: "no response within 1 s";
- /driphead sends a header line every 0.2 s, never ending the head:
  "headers incomplete after 1 s";
- /stall sends its head and 10 of 1,000 body bytes, then nothing:
  "body stalled for 1 s";
- /endless sends a chunked body for ever, as fast as it can: the request's
  own total ("timeout after 2 s");
- /big is a 8 MiB body: the plugin sees the first --max-body bytes and
  hn_body_truncated; /bomb a gzip body that would inflate to 64 MiB (kept
  as sent); /statusN an odd status code;
- /loop redirects to itself and /chainN to /chain(N-1): every redirect
  followed is a request of its own row ("/loop (redirect)"), so hornet's
  counts equal the target's (finding 5: a loop read as 7 failures while the
  target served 217 requests).

And memory: 20 users on /endless for their 2 s total each keep at most
1 MiB of body: hornet's peak RSS stays within 200 MiB (it was 64 MiB per
user before: 1.3 GiB for 20).
"""
import json
import os
import resource
import sys
import tempfile
import time
import unittest
import zlib

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import hnlib  # noqa: E402

TMP = tempfile.mkdtemp(prefix="hn-limits-")
PLUGIN = hnlib.plugin_so("hostile_paths")
BIG = 8 << 20


def gzip_bomb(mib):
    """A gzip stream of mib MiB of zeros, made a MiB at a time: this process
    must not grow (the peak RSS of its children counts what they inherit)."""
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = b"\0" * (1 << 20)
    return b"".join(z.compress(zeros) for _ in range(mib)) + z.flush()


BOMB = gzip_bomb(64)  # 64 KiB that would inflate to 64 MiB


class HostileTarget(hnlib.HostileTarget):
    """One misbehaviour per path, each on a connection of its own (its
    answers say Connection: close, so no request races a close on a reused
    connection)."""

    def answer(self, conn, path):
        if path == "/hang":
            conn.recv(1)  # until the client gives up
        elif path == "/driphead":
            conn.sendall(b"HTTP/1.1 200 OK\r\n")
            while not self.closing:
                conn.sendall(b"X-Drip: 1\r\n")
                time.sleep(0.2)
        elif path == "/stall":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"x" * 10)
            conn.recv(1)
        elif path == "/endless":
            conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            chunk = b"%x\r\n" % 65536 + b"y" * 65536 + b"\r\n"
            while not self.closing:
                conn.sendall(chunk)
        elif path == "/loop":
            conn.sendall(b"HTTP/1.1 302 Found\r\nLocation: /loop\r\nContent-Length: 0\r\n"
                         b"Connection: close\r\n\r\n")
        elif path.startswith("/chain"):
            n = int(path[6:] or 0)
            conn.sendall(b"HTTP/1.1 302 Found\r\nLocation: /chain%d\r\n"
                         b"Content-Length: 0\r\nConnection: close\r\n\r\n" % (n - 1)
                         if n > 0 else
                         b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n"
                         b"\r\nok")
        elif path == "/bomb":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nConnection: close\r\n"
                         b"Content-Length: %d\r\n\r\n" % len(BOMB) + BOMB)
        elif path.startswith("/status"):
            conn.sendall(b"HTTP/1.1 %s Odd\r\nContent-Length: 2\r\nConnection: close\r\n"
                         b"\r\nok" % path[7:].encode())
        elif path == "/big":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n"
                         b"\r\n" % BIG)
            conn.sendall(b"z" * BIG)


# Each test runs with both HTTP clients: they must read every fault alike.
CLIENTS = ("curl", "fast")


def run(target, paths, client, users=1, run_time="5s", extra=()):
    """The user visits the paths once and stops; the run lasts run_time."""
    out = os.path.join(TMP, "limits.json")
    r = hnlib.run_hornet(["-f", PLUGIN, "-H", target.url, "--headless", "--only-summary",
                          "-u", str(users), "-r", str(users), "-t", run_time, "--json", out,
                          "--response-timeout", "1s", "--idle-timeout", "1s",
                          "--http-client", client, "--param", "paths=" + paths] + list(extra),
                         timeout=120)
    hnlib.check_no_crash(r)
    return json.load(open(out))


class Limits(unittest.TestCase):
    def test_each_phase_has_its_own_limit_and_message(self):
        for client in CLIENTS:
            with self.subTest(client=client):
                self.check_each_phase_has_its_own_limit_and_message(client)

    def check_each_phase_has_its_own_limit_and_message(self, client):
        t = HostileTarget()
        try:
            doc = run(t, "/hang,/driphead,/stall,/endless,/big", client, run_time="15s",
                      extra=["--param", "timeout=2", "--param", "kept=true"])
        finally:
            t.close()
        errors = {e["name"]: e["message"] for e in doc["errors"]}
        self.assertEqual(errors, {
            "/hang": "no response within 1 s",
            "/driphead": "headers incomplete after 1 s",
            "/stall": "body stalled for 1 s",
            "/endless": "timeout after 2 s",
            "/big": "kept=%d truncated=1" % (1 << 20),
        }, doc["errors"])
        # Each request counted once, as the target saw it.
        self.assertEqual({e["name"]: e["requests"] for e in doc["entries"]}, t.counts)
        # Each ended at its limit (not at the run's end or the stop timeout).
        took = {e["name"]: e["max_ms"] for e in doc["entries"]}
        for name, limit in [("/hang", 1), ("/driphead", 1), ("/stall", 1), ("/endless", 2)]:
            self.assertGreaterEqual(took[name], limit * 1000 - 50, name)  # curl rounds to ms
            self.assertLess(took[name], limit * 1000 + 900, name)

    def test_every_redirect_is_counted(self):
        """A redirect loop: curl follows 30, the 31st fails the request; a
        chain of 3 ends in a 200. Every request the target answered shows."""
        for client in CLIENTS:
            with self.subTest(client=client):
                self.check_every_redirect_is_counted(client)

    def check_every_redirect_is_counted(self, client):
        t = HostileTarget()
        try:
            doc = run(t, "/loop,/chain3", client)
        finally:
            t.close()
        rows = {e["name"]: (e["requests"], e["failures"]) for e in doc["entries"]}
        self.assertEqual(rows, {"/loop": (1, 1), "/loop (redirect)": (30, 0),
                                "/chain3": (1, 0), "/chain3 (redirect)": (3, 0)})
        self.assertEqual(t.counts["/loop"], 31)
        self.assertEqual(sum(v for k, v in t.counts.items() if k.startswith("/chain")), 4)
        self.assertEqual(doc["total"]["requests"], 35)
        self.assertEqual([e["message"] for e in doc["errors"]], ["too many redirects"])

    def test_bomb_and_odd_statuses(self):
        """a compressed body is kept as sent (hornet asks for no encoding and
        inflates nothing), and status codes curl cannot take read as such"""
        for client in CLIENTS:
            with self.subTest(client=client):
                self.check_bomb_and_odd_statuses(client)

    def check_bomb_and_odd_statuses(self, client):
        t = HostileTarget()
        try:
            doc = run(t, "/bomb,/status999,/status099,/status2000", client,
                      extra=["--param", "kept=true"])
        finally:
            t.close()
        errors = {e["name"]: e["message"] for e in doc["errors"]}
        self.assertEqual(errors, {
            "/bomb": "kept=%d truncated=0" % len(BOMB),
            "/status999": "HTTP 999",
            "/status099": "malformed HTTP response (status code not 100-999)",
            "/status2000": "malformed HTTP response (status code not 100-999)",
        })
        self.assertEqual({e["name"]: e["requests"] for e in doc["entries"]}, t.counts)

    def test_max_body_and_memory(self):
        for client in CLIENTS:
            with self.subTest(client=client):
                self.check_max_body_and_memory(client)

    def check_max_body_and_memory(self, client):
        t = HostileTarget()
        try:
            doc = run(t, "/big", client, extra=["--param", "kept=true", "--max-body", "64KiB"])
            self.assertEqual([e["message"] for e in doc["errors"]], ["kept=65536 truncated=1"])
            # 20 users on endless bodies: at most 1 MiB kept each.
            doc = run(t, "/endless", client, users=20, extra=["--param", "timeout=2"])
        finally:
            t.close()
        endless = [e for e in doc["entries"] if e["name"] == "/endless"][0]
        self.assertEqual(endless["requests"], 20)
        peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print("peak RSS with 20 users on endless bodies: %.0f MiB" % peak_mib)
        self.assertLess(peak_mib, 200)


if __name__ == "__main__":
    sys.exit(hnlib.run_checks())
