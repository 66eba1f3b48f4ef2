#!/usr/bin/env python3
"""Each transport fault reads as its own cause (issue 13, finding 3), against
a hostile loopback target of this test's own with one misbehaviour per path:
a reset, a bad chunk size, a reply that is not HTTP, a status line that is
not one, a 2 MiB header line, 200,000 header lines. One user meets them in that order on the same
handle, so a stale OS error number (curl never resets it) would show as
"connection reset by peer" on the later ones. Both HTTP clients (libcurl and
the fast one, issue 14) must name each fault the same way.
"""
import json
import os
import socket
import struct
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import hnlib  # noqa: E402

TMP = tempfile.mkdtemp(prefix="hn-causes-")
PLUGIN = hnlib.plugin_so("hostile_paths")

REPLIES = {
    "/badchunk": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n",
    "/garbage": b"hello, this is not HTTP\r\n\r\n",
    "/nostatus": b"HTTP/1.1 OK\r\nContent-Length: 2\r\n\r\nok",
    "/bigheader": b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * (2 << 20) + b"\r\nContent-Length: 2\r\n\r\nok",
    "/manyheaders": b"HTTP/1.1 200 OK\r\n" + b"X-N: 1\r\n" * 200000 + b"Content-Length: 2\r\n\r\nok",
    "/ok": b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
}


class HostileTarget(hnlib.HostileTarget):
    """One misbehaviour per path, each on a connection of its own."""

    def answer(self, conn, path):
        if path == "/reset":
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        else:
            conn.sendall(REPLIES[path])


class Causes(unittest.TestCase):
    def test_each_fault_reads_as_its_own_cause(self):
        for client in ("curl", "fast"):  # both clients read each fault alike
            with self.subTest(client=client):
                self.check_causes(client)

    def check_causes(self, client):
        t = HostileTarget()
        try:
            out = os.path.join(TMP, "causes.json")
            r = hnlib.run_hornet(["-f", PLUGIN, "-H", t.url, "--headless", "--only-summary",
                                  "-u", "1", "-t", "3s", "--json", out, "--http-client", client,
                                  "--param",
                                  "paths=/reset,/badchunk,/garbage,/nostatus,/bigheader,/manyheaders,/ok"],
                                 timeout=60)
            hnlib.check_no_crash(r)
            doc = json.load(open(out))
        finally:
            t.close()
        errors = {e["name"]: e["message"] for e in doc["errors"]}
        self.assertEqual(errors, {
            "/reset": "connection reset by peer",
            "/badchunk": "malformed chunked body",
            "/garbage": "not an HTTP response",
            "/nostatus": "malformed HTTP response (no valid status line)",
            "/bigheader": "response header too large",
            "/manyheaders": "too many or too large response headers",
        }, doc["errors"])
        ok = [e for e in doc["entries"] if e["name"] == "/ok"]
        self.assertEqual((ok[0]["requests"], ok[0]["failures"]), (1, 0))
        self.assertEqual(doc["total"]["requests"], 7)


if __name__ == "__main__":
    sys.exit(hnlib.run_checks())
