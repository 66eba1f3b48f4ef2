#!/usr/bin/env python3
"""The fast HTTP/1.1 client and libcurl, side by side (issue 14): the same
plugin against the same loopback targets with --http-client curl and
--http-client fast must give the same statistics table and the same
Failures table, and the target's own counts must equal hornet's.

response_digest.c turns every response into a line of the Failures table
(its status, body length, first bytes and hash, Content-Type) or its
transport error, so "the same table" compares what each client received,
not only how many requests it made:

- the demo target (keep-alive): its pages, a JSON login whose cookie the
  cart needs, redirects, 204/404/500, a 200 KB body, HEAD, a dropped
  connection, a request that hangs past its own timeout, an item that
  does not exist;
- a raw target of this test's own (one connection per request): a gzip
  body, asked for and not, chunked with extensions and a trailer, cookies
  with Path, Max-Age=0 and a foreign Domain, a body that ends with the
  close, an interim 100 Continue, a relative redirect, a HEAD;
- the fast client's own words for what only libcurl does (a proxy
  variable, credentials in the URL), and a plugin that opts in with
  HN_USER_FAST_HTTP;
- https with the fast client: a certificate of a CA this test makes,
  trusted through SSL_CERT_FILE (OpenSSL's default paths), TLS sessions
  resumed on later connections, and an untrusted certificate's failure.
"""
import gzip
import json
import os
import ssl
import subprocess
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import hnlib  # noqa: E402

TMP = tempfile.mkdtemp(prefix="hn-clients-")
PLUGIN = hnlib.plugin_so("response_digest")

DEMO_STEPS = ";".join([
    "GET|/",
    "GET|/items",
    "GET|/item/7",
    "GET|/item/999",
    "GET|/json",
    "GET|/headers",
    "GET|/cart",
    'POST|/login|Content-Type: application/json|{"user":"ann"}',
    "GET|/cart",
    "POST|/login||user=bob",
    "GET|/cart",
    "GET|/redirect/3",
    "GET|/status/204",
    "GET|/status/404",
    "GET|/status/500",
    "GET|/bytes/200000",
    "HEAD|/items",
    "GET|/drop",
    "GET|/hang|||0.5",
    "GET|/",
])

GZ_BODY = b"hello gzip " * 200


class RawTarget(hnlib.HostileTarget):
    """What the demo target does not send, one answer per path. Its final
    heads say Connection: close, as it closes after each answer: a server
    that closes a keep-alive connection unannounced races the client's next
    request (the demo target covers keep-alive)."""

    @staticmethod
    def send(conn, data):
        at = data.rfind(b"HTTP/1.1 ")
        eol = data.index(b"\r\n", at) + 2
        conn.sendall(data[:eol] + b"Connection: close\r\n" + data[eol:])

    def respond(self, conn, path, head):
        low = head.lower()
        if path == "/gz":
            if b"accept-encoding: gzip" in low:
                z = gzip.compress(GZ_BODY)
                self.send(conn, b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Type: text/plain"
                            b"\r\nContent-Length: %d\r\n\r\n" % len(z) + z)
            else:
                self.send(conn, b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nplain")
        elif path == "/chunked":
            self.send(conn, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                         b"5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: yes\r\n\r\n")
        elif path == "/setcookie":
            self.send(conn, b"HTTP/1.1 200 OK\r\nSet-Cookie: a=1; Path=/; Max-Age=60\r\n"
                         b"Set-Cookie: b=2; Path=/other\r\nSet-Cookie: c=3; Path=/\r\n"
                         b"Set-Cookie: c=3; Path=/; Max-Age=0\r\n"
                         b"Set-Cookie: d=4; Domain=other.example; Path=/\r\n"
                         b"Content-Length: 2\r\n\r\nok")
        elif path in ("/echo-cookie", "/other/echo-cookie"):
            line = [h for h in head.split(b"\r\n") if h.lower().startswith(b"cookie:")]
            body = line[0][7:].strip() if line else b"none"
            self.send(conn, b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        elif path == "/close":
            self.send(conn, b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the close")
        elif path == "/continue":
            self.send(conn, b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\n"
                         b"Content-Length: 4\r\n\r\nmade")
        elif path == "/rel/a":
            self.send(conn, b"HTTP/1.1 302 Found\r\nLocation: b?x=1\r\nContent-Length: 0\r\n\r\n")
        elif path == "/rel/b?x=1":
            self.send(conn, b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nrel")
        elif path == "/head":
            self.send(conn, b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")


def fnv1a(data):
    """response_digest.c's body hash."""
    h = 2166136261
    for b in data:
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h


def make_certificates():
    """A CA and a certificate it signed for 127.0.0.1, by the openssl tool."""
    d = tempfile.mkdtemp(prefix="hn-tls-", dir=TMP)
    ca, ca_key = os.path.join(d, "ca.pem"), os.path.join(d, "ca.key")
    cert, key, csr = (os.path.join(d, n) for n in ("cert.pem", "cert.key", "cert.csr"))
    ext = os.path.join(d, "ext.cnf")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\n")

    def sh(*args):
        subprocess.run(["openssl"] + list(args), check=True, capture_output=True)
    sh("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca,
       "-days", "2", "-subj", "/CN=hornet test CA")
    sh("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj",
       "/CN=127.0.0.1")
    sh("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", cert,
       "-days", "2", "-extfile", ext)
    return ca, cert, key


class TlsTarget(hnlib.HostileTarget):
    """https on 127.0.0.1, one request per connection; handshakes records
    whether each connection resumed a session."""

    def __init__(self, cert, key):
        super().__init__()
        self.url = self.url.replace("http://", "https://")
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
        self.handshakes = []

    def _serve(self, conn):
        try:
            tls = self.ctx.wrap_socket(conn, server_side=True)
        except (OSError, ssl.SSLError):
            conn.close()
            return
        with self.lock:
            self.handshakes.append(tls.session_reused)
        try:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = tls.recv(4096)
                if not chunk:
                    return
                head += chunk
            tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n"
                        b"Content-Length: 5\r\n\r\ntls /")
        except (OSError, ssl.SSLError):
            pass
        finally:
            tls.close()


RAW_STEPS = ";".join([
    "GET|/gz",
    "GET|/gz|Accept-Encoding: gzip",
    "GET|/chunked",
    "GET|/echo-cookie",
    "GET|/setcookie",
    "GET|/echo-cookie",
    "GET|/other/echo-cookie",
    "GET|/close",
    "GET|/continue",
    "GET|/rel/a",
    "HEAD|/head",
    "GET|/rel/x/../b?x=1",
])


def run(url, steps, client, extra=(), env=None):
    out = os.path.join(TMP, "r-%s.json" % client)
    r = hnlib.run_hornet(["-f", PLUGIN, "-H", url, "--headless", "--only-summary", "-u", "1",
                          "-t", "60s", "--json", out, "--http-client", client,
                          "--param", "steps=" + steps] + list(extra),
                         timeout=90, env=env or hnlib.clean_env())
    hnlib.check_no_crash(r)
    with open(out) as f:
        doc = json.load(f)
    table = {(e["type"], e["name"]): (e["requests"], e["failures"]) for e in doc["entries"]}
    failures = {}
    for e in doc["errors"]:
        failures.setdefault(e["name"], []).append(e["message"])
    failures = {k: " / ".join(sorted(v)) for k, v in failures.items()}
    return doc, table, failures


class SideBySide(unittest.TestCase):
    maxDiff = None

    def compare(self, url, steps):
        runs = {c: run(url, steps, c) for c in ("curl", "fast")}
        self.assertEqual(runs["fast"][1], runs["curl"][1], "statistics tables differ")
        self.assertEqual(runs["fast"][2], runs["curl"][2], "failures tables differ")
        return runs

    def test_demo_target(self):
        t = hnlib.DemoTarget()
        t.start()
        try:
            runs = {}
            for client in ("curl", "fast"):
                t.reset()
                runs[client] = run(t.url, DEMO_STEPS, client)
                # Every request the target served is counted once.
                self.assertEqual(runs[client][0]["total"]["requests"], t.counts()["total"], client)
        finally:
            t.stop()
        self.assertEqual(runs["fast"][1], runs["curl"][1], "statistics tables differ")
        self.assertEqual(runs["fast"][2], runs["curl"][2], "failures tables differ")
        failures = runs["fast"][2]
        self.assertTrue(failures["07 /cart"].startswith("HTTP 401"), failures)
        self.assertTrue(failures["09 /cart"].startswith("HTTP 200"), failures)  # the cookie
        self.assertIn('"user":"bob"', failures["11 /cart"])                    # replaced
        # dropped on a reused connection: sent again on a new one, dropped
        # again; the target saw both
        self.assertEqual(failures["18 /drop"], "connection closed without a response / "
                         "connection closed without a response (retried on a new connection)")
        self.assertEqual(failures["19 /hang"], "timeout after 0.5 s")
        self.assertTrue(failures["16 /bytes/200000"].startswith("HTTP 200, 200000 bytes"))
        self.assertEqual(runs["fast"][1][("GET", "12 /redirect/3 (redirect)")], (3, 0))

    def test_raw_target(self):
        t = RawTarget()
        try:
            runs = self.compare(t.url, RAW_STEPS)
        finally:
            t.close()
        failures = runs["fast"][2]
        self.assertTrue(failures["01 /gz"].startswith("HTTP 200, 5 bytes, 'plain'"), failures)
        self.assertTrue(failures["02 /gz"].startswith("HTTP 200, %d bytes, 'hello gzip" %
                                                      len(GZ_BODY)), failures)
        self.assertTrue(failures["03 /chunked"].startswith("HTTP 200, 12 bytes, 'hello, world'"))
        self.assertTrue(failures["04 /echo-cookie"].startswith("HTTP 200, 4 bytes, 'none'"))
        self.assertTrue(failures["06 /echo-cookie"].startswith("HTTP 200, 3 bytes, 'a=1'"),
                        failures)
        self.assertTrue(failures["07 /other/echo-cookie"].startswith("HTTP 200, 8 bytes, 'b=2; a=1'"),
                        failures)
        self.assertTrue(failures["08 /close"].startswith("HTTP 200, 15 bytes, 'until the close'"))
        self.assertTrue(failures["09 /continue"].startswith("HTTP 201, 4 bytes, 'made'"))
        self.assertTrue(failures["10 /rel/a"].startswith("HTTP 200, 3 bytes, 'rel'"))
        self.assertTrue(failures["11 /head"].startswith("HTTP 200, 0 bytes"))
        # dot segments removed, as libcurl does
        self.assertTrue(failures["12 /rel/x/../b?x=1"].startswith("HTTP 200, 3 bytes, 'rel'"))
        # Both runs asked the target the same; one per path and run, the
        # redirect's hop counted in its own row.
        self.assertEqual(t.counts["/rel/b?x=1"], 4)
        self.assertEqual(sum(t.counts.values()),
                         sum(d[0]["total"]["requests"] for d in runs.values()))

    def test_what_only_libcurl_does(self):
        t = RawTarget()
        try:
            env = hnlib.clean_env(http_proxy="http://127.0.0.1:9", no_proxy="")
            _, _, failures = run(t.url, "GET|/close", "fast", env=env)
            self.assertEqual(failures["01 /close"], "the fast HTTP client does not use proxies "
                             "(a proxy variable is set for http): use --http-client curl")
            user_url = t.url.replace("http://", "http://ann:secret@")
            _, _, failures = run(user_url, "GET|/close", "fast")
            self.assertEqual(failures["01 /close"], "the fast HTTP client does not send "
                             "credentials from the URL: use --http-client curl")
        finally:
            t.close()
        self.assertEqual(t.counts, {})  # neither went on the wire

    def test_opt_in_per_user_type_and_shared_pool(self):
        """HN_USER_FAST_HTTP picks the fast client without the flag (a proxy
        variable tells which client served: only libcurl goes to the proxy),
        --http-client curl overrides it; and the shared pool (with
        HN_USER_SHARED_POOL) gives the same tables as per-user connections."""
        t = RawTarget()
        try:
            env = hnlib.clean_env(http_proxy="http://127.0.0.1:9", no_proxy="",
                                  HN_TEST_USER_FLAGS="0x4")
            out = os.path.join(TMP, "optin.json")
            for args, want in [([], "the fast HTTP client does not use proxies"),
                               (["--http-client", "curl"], "connection refused")]:
                r = hnlib.run_hornet(["-f", PLUGIN, "-H", t.url, "--headless", "-u", "1", "-t",
                                      "60s", "--json", out, "--param", "steps=GET|/close"] + args,
                                     timeout=90, env=env)
                hnlib.check_no_crash(r)
                with open(out) as f:
                    msg = json.load(f)["errors"][0]["message"]
                self.assertTrue(msg.startswith(want), (args, msg))
        finally:
            t.close()
        d = hnlib.DemoTarget()
        d.start()
        try:
            pooled = hnlib.clean_env(HN_TEST_USER_FLAGS="0x6")
            d.reset()
            doc, table, failures = run(d.url, DEMO_STEPS, "fast", env=pooled)
            self.assertEqual(doc["total"]["requests"], d.counts()["total"])
            d.reset()
            _, table_own, failures_own = run(d.url, DEMO_STEPS, "fast")
        finally:
            d.stop()
        self.assertEqual(table, table_own)
        self.assertEqual(failures, failures_own)

    def test_https(self):
        ca, cert, key = make_certificates()
        t = TlsTarget(cert, key)
        try:
            trusted = hnlib.clean_env(SSL_CERT_FILE=ca)
            steps = "GET|/a;GET|/b;GET|/c;GET|/d"
            doc, table, failures = run(t.url, steps, "fast", env=trusted)
            self.assertEqual(failures["01 /a"], "HTTP 200, 5 bytes, 'tls /', hash %08x, "
                             "type text/plain" % fnv1a(b"tls /"), failures)
            self.assertEqual(doc["total"]["requests"], 4)
            self.assertEqual(doc["total"]["failures"], 4)  # every digest is a "failure"
            # One connection per request (the target closes each): the first
            # one a full handshake, the others resume its session.
            self.assertEqual(t.handshakes, [False, True, True, True])
            # Not trusted without the CA: the failure says why.
            _, _, failures = run(t.url, "GET|/a", "fast")
            self.assertTrue(failures["01 /a"].startswith("TLS certificate verify failed"),
                            failures)
        finally:
            t.close()

    def test_bad_flag_value(self):
        r = hnlib.run_hornet(["-f", PLUGIN, "--headless", "--http-client", "h2"],
                             env=hnlib.clean_env())
        self.assertEqual(r.returncode, 2)
        self.assertIn("--http-client", r.stderr)
        self.assertIn("fast or curl", r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)


if __name__ == "__main__":
    sys.exit(hnlib.run_checks())
