#!/usr/bin/env python3
"""WebSocket users (issue 16) against a server hornet did not write:
Debian's python3-websockets (tests/lib/ws_peer.py, started by PID under
/usr/bin/python3, over ws:// and wss://), driven by tests/plugins/ws_probe.c:

- exchanges (hn_ws_request) and binary messages come back intact; the
  server's own counts of messages and connections equal hornet's, and
  every connection was closed with a close frame (1000);
- pings from the server are answered while hornet waits for a reply;
- broken peers, each a failure with its own words, and the run ends on
  time: a close without a close frame, a close with 1011, a normal close
  while a reply was awaited, a server that never answers, a 16 MiB message
  (over --max-body, and received whole under a larger one), a refused
  handshake, nothing listening, a URL that is not ws://;
- wss:// with --ca-cert, and an unknown CA refused;
- a stop while users wait on a silent server ends at the stop timeout;
- the example plugins/chat.c: the server's counts equal hornet's.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import hnlib  # noqa: E402

TMP = tempfile.mkdtemp(prefix="hn-ws-")
PROBE = hnlib.plugin_so("ws_probe")
PEER = os.path.join(hnlib.source_dir(), "tests", "lib", "ws_peer.py")


class Peer:
    """ws_peer.py by PID; its port from the file it writes when ready."""

    def __init__(self, name, tls=None):
        self.port_file = os.path.join(TMP, name + ".port")
        args = ["/usr/bin/python3", PEER, self.port_file] + (list(tls) if tls else [])
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        hnlib.wait_until(lambda: self.proc.poll() is not None or os.path.exists(self.port_file),
                         20, "ws_peer.py ready")
        if self.proc.poll() is not None:
            raise RuntimeError("ws_peer.py exited: " + self.proc.stderr.read().decode())
        with open(self.port_file) as f:
            self.port = int(f.read())
        self.scheme = "https" if tls else "http"

    def host(self):
        return "%s://127.0.0.1:%d" % (self.scheme, self.port)

    def stats(self, ctx=None):
        with urllib.request.urlopen("%s/stats" % self.host(), timeout=10, context=ctx) as r:
            return json.load(r)

    def stop(self):
        hnlib.stop_server(self.proc)


def run(host, path, users=1, tasks=2, exchanges=5, timeout=5, extra=(), params=(), limit=60):
    out = os.path.join(TMP, "r.json")
    if os.path.exists(out):
        os.unlink(out)
    args = ["-f", PROBE, "-H", host, "--headless", "--only-summary", "-u", str(users), "-r",
            str(users), "-t", "%ds" % limit, "--json", out, "--param", "path=" + path,
            "--param", "users=%d" % users, "--param", "tasks=%d" % tasks,
            "--param", "exchanges=%d" % exchanges, "--param", "timeout=%g" % timeout]
    for p in params:
        args += ["--param", p]
    started = time.monotonic()
    r = hnlib.run_hornet(args + list(extra), timeout=limit + 60, env=hnlib.clean_env())
    r.elapsed = time.monotonic() - started
    hnlib.check_no_crash(r)
    if not os.path.exists(out):
        raise AssertionError("no result (exit %d): %s" % (r.returncode, r.stderr[-2000:]))
    with open(out) as f:
        doc = json.load(f)
    table = {(e["type"], e["name"]): (e["requests"], e["failures"]) for e in doc["entries"]}
    errors = {(e["name"], e["message"]) for e in doc["errors"]}
    return r, table, errors


class WebSocket(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.peer = Peer("plain")

    @classmethod
    def tearDownClass(cls):
        cls.peer.stop()
        shutil.rmtree(TMP, ignore_errors=True)

    def test_echo_counts(self):
        """3 users x 4 tasks: each a connect, 5 exchanges and a binary
        round trip; the server saw every message and connection, and a
        close frame for each."""
        before = self.peer.stats()
        r, table, errors = run(self.peer.host(), "/echo", users=3, tasks=4,
                               params=["binary=true"])
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        self.assertEqual(errors, set())
        self.assertEqual(table, {("WS", "/echo"): (12, 0), ("WS", "echo"): (60, 0),
                                 ("WS", "binary"): (12, 0)})
        # the server counts a close when its handler ends, maybe after hornet
        hnlib.wait_until(lambda: self.peer.stats()["client_close_codes"].get("1000", 0)
                         - before["client_close_codes"].get("1000", 0) >= 12, 10, "12 closes")
        after = self.peer.stats()

        def grew(key, sub):
            return after[key].get(sub, 0) - before[key].get(sub, 0)
        self.assertEqual(grew("received", "/echo"), 60 + 12)
        self.assertEqual(grew("connections", "/echo"), 12)
        self.assertEqual(grew("client_close_codes", "1000"), 12)

    def test_url_forms(self):
        """A ws:// URL works as a path on the host does; the default name is
        the path."""
        url = "ws://127.0.0.1:%d/echo?room=1" % self.peer.port
        r, table, errors = run("http://127.0.0.1:9", url, tasks=1, exchanges=2)
        self.assertEqual((table, errors), ({("WS", "/echo?room=1"): (1, 0), ("WS", "echo"): (2, 0)},
                                           set()))

    def test_pings_answered(self):
        """The server pings before each reply and replies "pong" only once
        hornet's pong came."""
        r, table, errors = run(self.peer.host(), "/ping", tasks=1, exchanges=3,
                               params=["expect=pong"])
        self.assertEqual((table, errors), ({("WS", "/ping"): (1, 0), ("WS", "echo"): (3, 0)}, set()))

    def test_broken_peers(self):
        """Each broken peer is one failure in its own words, and the run
        ends as soon as the users are done (no hang)."""
        cases = [
            ("/close-abrupt", ("echo", "connection closed without a close frame")),
            ("/close-1011", ("echo", "closed by the server (1011)")),
            ("/close-1000", ("echo", "closed by the server (1000)")),
            ("/silent", ("echo", "no reply within 1 s")),
            ("/big", ("echo", "message of more than 1048576 bytes (--max-body)")),
            ("/reject", ("/reject", "handshake refused: HTTP 403 Forbidden")),
            ("ws://127.0.0.1:1/nothing", ("/nothing", "connection refused")),
            ("ftp://127.0.0.1/x", ("ftp://127.0.0.1/x", "not a WebSocket URL (ws:// or wss://)")),
        ]
        for path, failure in cases:
            with self.subTest(path=path):
                r, table, errors = run(self.peer.host(), path, tasks=1, timeout=1)
                self.assertEqual(errors, {failure}, r.stderr[-1500:])
                self.assertEqual(r.returncode, 1)
                self.assertLess(r.elapsed, 30)
                self.assertEqual(table[("WS", failure[0])][1], 1)

    def test_ping_flood(self):
        """A server that floods pings and never replies: the exchange still
        ends at its deadline (the pongs are sent as hornet reads)."""
        r, table, errors = run(self.peer.host(), "/ping-flood", tasks=1, exchanges=1, timeout=1)
        self.assertEqual(len(errors), 1, errors)
        self.assertIn(errors.pop(), {("echo", "no reply within 1 s"),
                                     ("echo", "the server sends faster than it reads (pings flood)")})
        self.assertLess(r.elapsed, 30)

    def test_big_message_within_max_body(self):
        """A 16 MiB message arrives whole when --max-body allows it."""
        r, table, errors = run(self.peer.host(), "/big", tasks=1, exchanges=2,
                               params=["expect=" + "x" * 16], extra=["--max-body", "32MiB"])
        # the reply is 16 MiB of x: not the 16-byte expectation, so each
        # exchange is followed by a "wrong reply" record: both arrived whole
        self.assertEqual(table[("WS", "echo")], (2, 0), errors)
        self.assertEqual(errors, {("wrong reply", "wrong reply")})
        out = os.path.join(TMP, "r.json")
        with open(out) as f:
            entry = [e for e in json.load(f)["entries"] if e["name"] == "echo"][0]
        self.assertEqual(entry["avg_bytes"], 16 << 20)

    def test_stop_while_waiting(self):
        """Users waiting for replies that never come are cut off at the
        stop timeout: the run ends, nothing crashes or leaks."""
        r, table, errors = run(self.peer.host(), "/silent", users=4, tasks=100, timeout=120,
                               limit=2, extra=["--stop-timeout", "1s"])
        self.assertLess(r.elapsed, 20, r.stderr[-1500:])
        self.assertEqual(table[("WS", "/silent")], (4, 0))

    def test_example_chat(self):
        """plugins/chat.c (the guide's example) against the same protocol:
        every join and say the server received is one hornet counted, each
        connection closed with 1000 when the users stopped."""
        before = self.peer.stats()
        out = os.path.join(TMP, "chat.json")
        r = hnlib.run_hornet(["-f", os.path.join(hnlib.build_dir(), "plugins", "chat.so"),
                              "-H", self.peer.host(), "--headless", "--only-summary", "-u", "10",
                              "-r", "10", "-t", "3s", "--json", out, "--param", "path=/chat",
                              "--param", "rooms=2"], timeout=60, env=hnlib.clean_env())
        hnlib.check_no_crash(r)
        self.assertEqual(r.returncode, 0, r.stderr[-1500:])
        with open(out) as f:
            doc = json.load(f)
        table = {e["name"]: (e["requests"], e["failures"]) for e in doc["entries"]}
        self.assertEqual((table["/chat"], table["join"]), ((10, 0), (10, 0)))
        self.assertGreater(table["say"][0], 0)
        self.assertEqual(table["say"][1], 0)
        hnlib.wait_until(lambda: self.peer.stats()["client_close_codes"].get("1000", 0)
                         - before["client_close_codes"].get("1000", 0) >= 10, 10, "10 closes")
        after = self.peer.stats()
        grew = {k: after[k].get(s, 0) - before[k].get(s, 0)
                for k, s in (("received", "/chat"), ("connections", "/chat"),
                             ("client_close_codes", "1000"))}
        self.assertEqual(grew, {"received": 10 + table["say"][0], "connections": 10,
                                "client_close_codes": 10})

    def test_example_chat_on_the_demo_target(self):
        """plugins/chat.c against hornet's own demo target (/ws/chat, libwslay
        on the server side): its counts equal hornet's."""
        with hnlib.DemoTarget() as demo:
            out = os.path.join(TMP, "chat-demo.json")
            r = hnlib.run_hornet(["-f", os.path.join(hnlib.build_dir(), "plugins", "chat.so"),
                                  "-H", demo.url, "--headless", "--only-summary", "-u", "20",
                                  "-r", "20", "-t", "3s", "--json", out], timeout=60,
                                 env=hnlib.clean_env())
            hnlib.check_no_crash(r)
            self.assertEqual(r.returncode, 0, r.stderr[-1500:])
            with open(out) as f:
                table = {e["name"]: (e["requests"], e["failures"])
                         for e in json.load(f)["entries"]}
            self.assertEqual((table["/ws/chat"], table["join"]), ((20, 0), (20, 0)))
            self.assertEqual(table["say"][1], 0)
            hnlib.wait_until(lambda: demo.counts()["ws_open"] == 0, 10, "connections closed")
            counts = demo.counts()
            self.assertEqual(counts["ws_connections"], 20)
            self.assertEqual(counts["ws_messages_in"], 20 + table["say"][0])

    def test_wss(self):
        """wss:// with the run's --ca-cert; without it the CA is unknown."""
        def openssl(*args):
            subprocess.run(["openssl"] + list(args), cwd=TMP, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "30", "-subj", "/CN=ws-ca")
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", "srv.key", "-out", "srv.csr", "-subj", "/CN=127.0.0.1")
        with open(os.path.join(TMP, "srv.ext"), "w") as f:
            f.write("subjectAltName=IP:127.0.0.1\n")
        openssl("x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-out", "srv.pem", "-days", "30", "-extfile", "srv.ext")
        peer = Peer("tls", (os.path.join(TMP, "srv.pem"), os.path.join(TMP, "srv.key")))
        try:
            r, table, errors = run(peer.host(), "/echo", users=2, tasks=2,
                                   extra=["--ca-cert", os.path.join(TMP, "ca.pem")],
                                   params=["binary=true"])
            self.assertEqual(errors, set(), r.stderr[-1500:])
            self.assertEqual(table[("WS", "echo")], (20, 0))
            r, table, errors = run(peer.host(), "/echo", tasks=1)
            self.assertEqual(errors, {("/echo", "TLS certificate verify failed "
                                                "(unable to get local issuer certificate)")})
        finally:
            peer.stop()


if __name__ == "__main__":
    sys.exit(hnlib.run_checks())
