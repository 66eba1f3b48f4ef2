#!/usr/bin/env python3
"""The dashboard under a flood of connections (issue 13, finding 1).

libmicrohttpd 0.9.75 locks its thread for good when a connection handed to
it meets its connection limit; with 1,100 idle keep-alive connections the
dashboard reset every later connection, kept the fds in CLOSE-WAIT and hung
on SIGTERM. hornet now holds at most 1,000 and closes the longest idle one
to take a new one. Checked here, each against `hornet --demo`:

- 1,500 keep-alive connections that each sent one request and stay open:
  the page's API answers meanwhile, answers again once they are closed, the
  process is back to the fds it had, and SIGTERM ends it at once (exit 0);
- 1,500 connections whose head never ends (slowloris; the acceptor holds
  those until their head is whole): the same;
- churn: 3,000 connections opened and dropped at once, half after sending
  a request they do not wait for, half mid-head, some with a reset: the
  same;
- 2,000 random heads (seeded, so a failure repeats): each gets an answer or
  a close, never a hang, and the dashboard stays up.
"""
import random
import os
import re
import resource
import signal
import struct
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import hnlib  # noqa: E402

TMP = tempfile.mkdtemp(prefix="hn-flood-")
FLOOD = 1500


def raise_nofile(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < need:
        raise AssertionError("the test needs %d open files; the hard limit is %d" % (need, hard))
    if soft != resource.RLIM_INFINITY and soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))


def fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


class Flood(unittest.TestCase):
    def setUp(self):
        raise_nofile(FLOOD + 256)
        self.log = open(os.path.join(TMP, "%s.log" % self._testMethodName), "w")
        self.p = subprocess.Popen([hnlib.hornet_path(), "--demo", "--web-port", "0"],
                                  stdout=subprocess.PIPE, stderr=self.log, text=True,
                                  env=hnlib.clean_env())
        m = re.search(r":(\d+)/", self.p.stdout.readline())
        self.assertIsNotNone(m, "no dashboard line")
        self.port = int(m.group(1))
        hnlib.wait_until(self.answers, 30, "the dashboard answering")
        self.socks = []

    def tearDown(self):
        for s in self.socks:
            s.close()
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait(30)
        self.log.close()
        with open(self.log.name) as f:
            report = hnlib.sanitizer_report(f.read())
        if report:
            raise hnlib.HornetCrash(report)

    def answers(self):
        """A fresh connection gets GET /api/state answered within 2 s."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
                s.sendall(b"GET /api/state HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                          b"Connection: close\r\n\r\n")
                return s.recv(64).startswith(b"HTTP/1.1 200")
        except OSError:
            return False

    def flood(self, head):
        for _ in range(FLOOD):
            s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
            s.sendall(head)
            self.socks.append(s)

    def check_recovers(self, before):
        # Meanwhile: a new connection is answered (an old idle one makes room).
        hnlib.wait_until(self.answers, 10, "an answer while the flood is held")
        for s in self.socks:
            s.close()
        self.socks = []
        hnlib.wait_until(self.answers, 10, "an answer after the flood")
        # Every connection closed on hornet's side too (none left in CLOSE-WAIT).
        hnlib.wait_until(lambda: fds(self.p.pid) <= before + 2, 30,
                         "hornet's fds back to %d" % before)
        start = time.monotonic()
        self.p.send_signal(signal.SIGTERM)
        self.assertEqual(self.p.wait(30), 0)
        self.assertLess(time.monotonic() - start, 10, "SIGTERM took long")
        with open(self.log.name) as f:
            log = f.read()
        self.assertNotIn("reached connection limit", log)
        return log

    # check_recovers stops hornet: each test is its own process.

    def test_idle_keep_alive_flood(self):
        before = fds(self.p.pid)
        self.flood(b"GET /api/state HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        self.assertIn("closing the longest idle ones", self.check_recovers(before))

    def test_churn(self):
        before = fds(self.p.pid)
        for i in range(3000):
            s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
            if i % 2:
                s.sendall(b"GET /api/stats HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            else:
                s.sendall(b"GET /api/stats HTTP/1.1\r\nHost: 127.")
            if i % 3 == 0:  # a reset instead of a close
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
        self.check_recovers(before)

    def test_random_heads(self):
        before = fds(self.p.pid)
        rng = random.Random(1303)
        words = [b"GET", b"POST", b"/api/swarm", b"/ws", b"HTTP/1.1", b"Host:", b"Upgrade:",
                 b"websocket", b"Content-Length:", b"Transfer-Encoding:", b"chunked", b"\r\n",
                 b"\n", b" ", b":", b"?", b"&", b"%00", b"\x00", b"\xff", b"-1", b"99999999999"]
        for _ in range(2000):
            head = b"".join(rng.choice(words) for _ in range(rng.randint(1, 40)))
            if rng.random() < 0.7:
                head += b"\r\n\r\n"
            with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
                s.sendall(head)
                s.shutdown(socket.SHUT_WR)
                try:
                    while s.recv(65536):  # an answer, then the close; or the close
                        pass
                except ConnectionResetError:
                    pass
                except socket.timeout:
                    self.fail("no answer and no close within 10 s for %r" % head)
        self.assertTrue(self.answers())
        self.check_recovers(before)

    def test_slowloris(self):
        before = fds(self.p.pid)
        self.flood(b"GET /api/state HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        self.check_recovers(before)


if __name__ == "__main__":
    sys.exit(hnlib.run_checks())
