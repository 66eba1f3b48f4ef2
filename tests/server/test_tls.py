#!/usr/bin/env python3
"""--tls-cert/--tls-key: the dashboard over HTTPS on its one port.

The test makes its own CA and a certificate for 127.0.0.1 with openssl, and
checks with real TLS clients that:
- the API answers over HTTPS, many requests on one kept-alive connection,
  and a run starts and shows up; the certificate is verified against the
  test's CA (a client that trusts only the system's CAs is refused);
- the live push works over wss:// (the WebSocket routed after TLS);
- --web-auth still guards both;
- a plain HTTP request on the port gets a clear 400, garbage and silent
  handshakes are closed, and after 300 connections hornet's descriptors are
  back where they were;
- bad files, a key that does not match, and one of the two options alone
  exit 2 with one line.
"""
import base64
import hashlib
import http.client
import json
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import hnlib  # noqa: E402

TMP = tempfile.mkdtemp(prefix="hn-tls-")
CACHE = os.path.join(TMP, "cache")
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def path(name):
    return os.path.join(TMP, name)


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, capture_output=True)


def make_pki():
    """ca.pem/ca.key, server.pem/server.key (127.0.0.1 and localhost, signed
    by the CA) and other.key (a key of no certificate here)."""
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", path("ca.key"),
            "-out", path("ca.pem"), "-days", "2", "-subj", "/CN=hornet test CA")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", path("server.key"),
            "-out", path("server.csr"), "-subj", "/CN=127.0.0.1")
    with open(path("ext.cnf"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl("x509", "-req", "-in", path("server.csr"), "-CA", path("ca.pem"), "-CAkey",
            path("ca.key"), "-CAcreateserial", "-out", path("server.pem"), "-days", "2",
            "-extfile", path("ext.cnf"))
    openssl("genpkey", "-algorithm", "RSA", "-out", path("other.key"))


def client_ctx():
    ctx = ssl.create_default_context(cafile=path("ca.pem"))
    return ctx


def https(port, method, p, body=None, headers=None, conn=None):
    own = conn is None
    conn = conn or http.client.HTTPSConnection("127.0.0.1", port, context=client_ctx(),
                                               timeout=10)
    hdrs = dict(headers or {})
    if body is not None:
        body = json.dumps(body)
        hdrs["Content-Type"] = "application/json"
    conn.request(method, p, body=body, headers=hdrs)
    r = conn.getresponse()
    data = r.read()
    if own:
        conn.close()
    return r.status, dict((k.lower(), v) for k, v in r.getheaders()), data


def fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def dashboard(extra=(), name="tls"):
    return hnlib.Dashboard(["--demo", "--tls-cert", path("server.pem"), "--tls-key",
                            path("server.key")] + list(extra), path(name + ".log"),
                           env=hnlib.clean_env(CACHE))


def setUpModule():
    make_pki()


class OverHttps(unittest.TestCase):
    def test_api_and_a_run(self):
        with dashboard() as d:
            line_ok = True  # the Dashboard parsed an https:// line to get here
            self.assertTrue(line_ok)
            conn = http.client.HTTPSConnection("127.0.0.1", d.port, context=client_ctx(),
                                               timeout=10)
            for _ in range(20):  # one connection, kept alive
                status, _, body = https(d.port, "GET", "/api/state", conn=conn)
                self.assertEqual(status, 200)
                self.assertIn("state", json.loads(body))
            status, _, body = https(d.port, "POST", "/api/swarm",
                                    {"users": 2, "spawn_rate": 10, "run_time": "30s"}, conn=conn)
            self.assertEqual(status, 200, body)
            hnlib.wait_until(lambda: json.loads(https(d.port, "GET", "/api/stats", conn=conn)[2])
                             ["total"]["requests"] > 0, 30, "requests over https")
            status, headers, body = https(d.port, "GET", "/", conn=conn)
            self.assertEqual(status, 200)
            self.assertIn("text/html", headers["content-type"])
            status, _, body = https(d.port, "GET", "/stats.csv", conn=conn)
            self.assertEqual(status, 200)
            self.assertTrue(body.startswith(b"Type,Name,"))
            conn.close()

    def test_certificate_is_verified(self):
        with dashboard() as d:
            ctx = ssl.create_default_context()  # the system's CAs only
            with socket.create_connection(("127.0.0.1", d.port), timeout=10) as s:
                with self.assertRaises(ssl.SSLCertVerificationError):
                    ctx.wrap_socket(s, server_hostname="127.0.0.1")
            with socket.create_connection(("127.0.0.1", d.port), timeout=10) as s:
                with client_ctx().wrap_socket(s, server_hostname="127.0.0.1") as t:
                    self.assertIn(t.version(), ("TLSv1.2", "TLSv1.3"))

    def test_live_push_over_wss(self):
        with dashboard(["--autostart", "-u", "1", "-r", "10", "-t", "30s"]) as d:
            raw = socket.create_connection(("127.0.0.1", d.port), timeout=10)
            s = client_ctx().wrap_socket(raw, server_hostname="127.0.0.1")
            key = base64.b64encode(os.urandom(16)).decode()
            s.sendall(("GET /ws HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                       "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                       "Sec-WebSocket-Version: 13\r\n\r\n" % (d.port, key)).encode())
            data = b""
            while b"\r\n\r\n" not in data:
                data += s.recv(65536)
            head, _, rest = data.partition(b"\r\n\r\n")
            self.assertTrue(head.startswith(b"HTTP/1.1 101"), head)
            accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest())
            self.assertIn(b"sec-websocket-accept: " + accept.lower(), head.lower())
            # A text frame with a snapshot arrives within a few seconds.
            deadline = time.monotonic() + 15
            while len(rest) < 2 and time.monotonic() < deadline:
                rest += s.recv(65536)
            self.assertEqual(rest[0] & 0x0F, 1, rest[:16])  # a text frame
            s.close()

    def test_web_auth_over_https(self):
        with dashboard(["--web-auth", "ops:s3cret"], "auth") as d:
            self.assertEqual(https(d.port, "GET", "/api/state")[0], 401)
            ok = {"Authorization": "Basic " + base64.b64encode(b"ops:s3cret").decode()}
            self.assertEqual(https(d.port, "GET", "/api/state", headers=ok)[0], 200)


class Hostile(unittest.TestCase):
    def test_plain_garbage_silent_and_fds(self):
        with dashboard() as d:
            pid = d.proc.pid
            https(d.port, "GET", "/api/state")  # everything started
            before = fds(pid)
            # Plain HTTP on the HTTPS port: a clear answer, in plain HTTP.
            status, _, body = hnlib.http_request(d.port, "GET", "/api/state")
            self.assertEqual(status, 400)
            self.assertIn("serves HTTPS", json.loads(body)["error"])
            # Garbage that starts like a TLS record, and random bytes.
            for junk in (b"\x16\x03\x01\x00\x05hello" + os.urandom(200), os.urandom(300)):
                with socket.create_connection(("127.0.0.1", d.port), timeout=10) as s:
                    s.sendall(junk)
                    s.settimeout(10)
                    try:
                        while s.recv(4096):
                            pass
                    except ConnectionResetError:
                        pass  # closed either way
            # 300 connections: 100 full requests, 100 handshakes dropped
            # halfway, 100 that never send a byte (closed at the deadline).
            silent = [socket.create_connection(("127.0.0.1", d.port)) for _ in range(100)]
            for _ in range(100):
                self.assertEqual(https(d.port, "GET", "/api/state")[0], 200)
            for _ in range(100):
                s = socket.create_connection(("127.0.0.1", d.port))
                s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
                s.close()
            self.assertEqual(https(d.port, "GET", "/api/state")[0], 200)  # still answering
            for s in silent:
                s.close()
            hnlib.wait_until(lambda: fds(pid) <= before + 2, 30,
                             "hornet's descriptors to come back (%d before)" % before)


    def test_silent_handshake_is_closed(self):
        # A client that connects and never finishes its handshake holds
        # nothing for long: the head deadline (10 s) closes it.
        with dashboard(name="silent") as d:
            start = time.monotonic()
            s = socket.create_connection(("127.0.0.1", d.port), timeout=30)
            s.sendall(b"\x16\x03\x01")  # the start of a record, and no more
            try:
                self.assertEqual(s.recv(4096), b"")
            except ConnectionResetError:
                pass
            self.assertLess(time.monotonic() - start, 20)
            s.close()


class BadOptions(unittest.TestCase):
    def test_bad_files_exit_2(self):
        with open(path("not.pem"), "w") as f:
            f.write("not a certificate\n")
        cases = [
            (["--tls-cert", path("missing.pem"), "--tls-key", path("server.key")], "--tls-cert"),
            (["--tls-cert", path("not.pem"), "--tls-key", path("server.key")], "--tls-cert"),
            (["--tls-cert", path("server.pem"), "--tls-key", path("other.key")], "--tls-key"),
            (["--tls-cert", path("server.pem")], "go together"),
            (["--tls-key", path("server.key")], "go together"),
        ]
        for args, says in cases:
            r = hnlib.run_hornet(["--demo", "--web-port", "0"] + args, timeout=30,
                                 env=hnlib.clean_env(CACHE))
            self.assertEqual(r.returncode, 2, (args, r.stdout, r.stderr))
            lines = r.stderr.strip().splitlines()
            self.assertEqual(len(lines), 1, r.stderr)
            self.assertIn(says, lines[0])


if __name__ == "__main__":
    hnlib.run_checks()
