#!/usr/bin/env python3
"""The dashboard's HTTP side through the real binary: `hornet --demo
--web-port 0` on 127.0.0.1, driven with http.client. Every API route, every
validation error with its status and message, 409 on illegal transitions,
404/405/413, the embedded assets (Content-Type, ETag, 304), a swarm started,
resized, paused, resumed, reset and stopped through the API, the downloads
(Locust's CSV headers, Content-Disposition), the Locust-compatible aliases,
keep-alive, and --web-root (no path traversal).

Environment: HORNET (the binary; ctest sets it), HN_SOURCE_DIR (to compare
the served assets with web/ and Debian's chart.min.js). With HN_TEST_URL
(http://127.0.0.1:PORT/) the checks run against a server that is already
running instead (it must be a fresh --demo one; the --web-root and shutdown
checks are then skipped unless HORNET is set too).

Talks to 127.0.0.1 only; every wait is bounded. Prints one line per check and
a final "N passed, N failed" line."""

import csv
import http.client
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import hnlib  # noqa: E402

# Locust's CSV header rows (locust/stats.py), written out here so the test
# can fail if the server's differ.
STATS_HEADER = ("Type,Name,Request Count,Failure Count,Median Response Time,"
                "Average Response Time,Min Response Time,Max Response Time,"
                "Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,"
                "99%,99.9%,99.99%,100%")
HISTORY_HEADER = ("Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,66%,75%,80%,90%,"
                  "95%,98%,99%,99.9%,99.99%,100%,Total Request Count,Total Failure Count,"
                  "Total Median Response Time,Total Average Response Time,"
                  "Total Min Response Time,Total Max Response Time,Total Average Content Size")
FAILURES_HEADER = "Method,Name,Error,Occurrences,First Seen,Last Seen"
EXCEPTIONS_HEADER = "Count,Message,Traceback,Nodes"

READY_RE = re.compile(r"^hornet dashboard: http://127\.0\.0\.1:(\d+)/$")
DISPOSITION_RE = r'^attachment; filename="hornet_\d{8}-\d{6}_%s"$'
RUN_TIME_MSG = "run_time: expected a timespan like 30s, 5m or 1h30m"
JSON_CT = "application/json"
BODY_MAX = 64 * 1024

SERVER = None   # the Server every check of ApiTest uses


class Server:
    """A hornet dashboard (our own child process, or HN_TEST_URL's)."""

    def __init__(self, extra_args=(), url=None):
        self.proc = None
        self.tmp = None
        if url:
            m = re.match(r"^http://127\.0\.0\.1:(\d+)/?$", url)
            if not m:
                raise RuntimeError("HN_TEST_URL must look like http://127.0.0.1:PORT/")
            self.port = int(m.group(1))
            return
        self.tmp = tempfile.mkdtemp(prefix="hn-api-")
        self.out_path = os.path.join(self.tmp, "stdout")
        self.err_path = os.path.join(self.tmp, "stderr")
        args = [hnlib.hornet_path(), "--demo", "--web-port", "0", "--threads", "2"]
        args += list(extra_args)
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(args, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                         env=hnlib.clean_env(os.path.join(self.tmp, "cache")))
        self.port = self._wait_ready(60)

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with open(self.out_path, "rb") as f:
                text = f.read().decode(errors="replace")
            first = text.split("\n", 1)[0].strip()
            if "\n" in text:
                m = READY_RE.match(first)
                if not m:
                    self.kill()
                    raise RuntimeError("unexpected first stdout line: %r" % first)
                return int(m.group(1))
            if self.proc.poll() is not None:
                raise RuntimeError("hornet exited with %s before listening; stderr:\n%s"
                                   % (self.proc.returncode, self.stderr()[-3000:]))
            time.sleep(0.05)
        self.kill()
        raise RuntimeError("hornet printed no dashboard line within %ss" % timeout)

    def stderr(self):
        if self.tmp is None:
            return ""
        with open(self.err_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self, timeout=20):
        """SIGTERM and wait; returns (exit code, stderr)."""
        if self.proc is None:
            return None, ""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("hornet did not exit within %ss of SIGTERM" % timeout)
        return rc, self.stderr()

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def cleanup(self):
        self.kill()
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)

    # -- requests ----------------------------------------------------------

    def request(self, method, path, body=None, headers=None, timeout=10):
        """(status, headers with lower-case names, body bytes) on a new connection."""
        try:
            return hnlib.http_request(self.port, method, path, body, headers, timeout)
        except (ConnectionError, http.client.HTTPException):
            self.check_alive()
            raise

    def check_alive(self):
        """Raises HornetCrash (with the sanitizer report or stderr tail) if
        our hornet process has exited."""
        if self.proc is None or self.proc.poll() is None:
            return
        err = self.stderr()
        report = hnlib.sanitizer_report(err) or "\n".join(err.splitlines()[-30:])
        raise hnlib.HornetCrash("hornet exited with %s:\n%s" % (self.proc.returncode, report))

    def get_json(self, path):
        status, headers, data = self.request("GET", path)
        return status, headers, json.loads(data) if data else None

    def post_json(self, path, doc=None, raw=None, content_type=JSON_CT, headers=None):
        """POSTs doc as JSON (or the raw bytes/str) with content_type (None: no header)."""
        hdrs = dict(headers or {})
        body = raw if raw is not None else (json.dumps(doc) if doc is not None else None)
        if content_type is not None and body is not None:
            hdrs["Content-Type"] = content_type
        status, h, data = self.request("POST", path, body, hdrs)
        return status, h, json.loads(data) if data else None

    def state(self):
        status, _, doc = self.get_json("/api/state")
        assert status == 200, status
        return doc

    def wait_for(self, what, check, timeout=30, interval=0.1):
        """Polls check() until it returns a true value; returns it."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = check()
            if last:
                return last
            time.sleep(interval)
        raise AssertionError("timed out after %ss waiting for %s (last: %r)"
                             % (timeout, what, last))

    def wait_state(self, *states, timeout=30):
        return self.wait_for("state in %s" % (states,),
                             lambda: self.state()["state"] in states, timeout)

    def stop_swarm(self):
        """Brings the runner to stopped (from any state), for test isolation."""
        st = self.state()["state"]
        if st in ("spawning", "running", "paused"):
            self.post_json("/api/stop")
        if st != "ready":
            self.wait_state("stopped", timeout=30)


def source_file(*parts):
    return os.path.join(hnlib.source_dir(), *parts)


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def csv_rows(data):
    return list(csv.reader(io.StringIO(data.decode())))


def setUpModule():
    global SERVER
    SERVER = Server(url=os.environ.get("HN_TEST_URL"))


def tearDownModule():
    if SERVER is not None:
        SERVER.cleanup()


class ApiTest(unittest.TestCase):
    """Runs in name order against one server: the numbers are the order."""

    maxDiff = None

    def assertJsonError(self, resp, status, message=None, prefix=None):
        code, headers, body = resp
        self.assertEqual(code, status, body)
        self.assertTrue(headers.get("content-type", "").startswith(JSON_CT), headers)
        doc = body if isinstance(body, dict) else json.loads(body)
        self.assertEqual(list(doc.keys()), ["error"], doc)
        if message is not None:
            self.assertEqual(doc["error"], message)
        if prefix is not None:
            self.assertTrue(doc["error"].startswith(prefix), doc["error"])
            self.assertGreater(len(doc["error"]), len(prefix), doc["error"])
        return doc["error"]

    def config(self):
        status, _, doc = SERVER.get_json("/api/config")
        self.assertEqual(status, 200)
        return doc

    # -- read-only routes ----------------------------------------------------

    def test_01_config(self):
        """GET /api/config: defaults, limits and the plugin's user types"""
        status, headers, doc = SERVER.get_json("/api/config")
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"], JSON_CT)
        for key in ("version", "plugin", "default_host", "default_users", "default_spawn_rate",
                    "default_run_time", "max_users", "user_types"):
            self.assertIn(key, doc)
        self.assertIsInstance(doc["version"], str)
        self.assertRegex(doc["default_host"], r"^http://127\.0\.0\.1:\d+$")
        self.assertIsInstance(doc["max_users"], int)
        self.assertGreater(doc["max_users"], 0)
        self.assertIsInstance(doc["user_types"], list)
        self.assertGreater(len(doc["user_types"]), 0)
        for t in doc["user_types"]:
            self.assertIsInstance(t["name"], str)

    def test_02_state_ready(self):
        """GET /api/state before any run: ready, with every key"""
        doc = SERVER.state()
        self.assertEqual(set(doc), {"state", "host", "users", "target_users", "spawn_rate",
                                    "run_time_s", "start_time", "end_time", "stop_reason"})
        self.assertEqual(doc["state"], "ready")
        self.assertEqual(doc["users"], 0)

    def test_03_illegal_in_ready(self):
        """pause, resume, stop and resize while ready answer 409 with the reason"""
        for path, reason in (("/api/pause", "cannot pause: the swarm is ready"),
                             ("/api/resume", "cannot resume: the swarm is ready"),
                             ("/api/stop", "cannot stop: the swarm is ready")):
            with self.subTest(path=path):
                self.assertJsonError(SERVER.post_json(path), 409, reason)
                self.assertJsonError(SERVER.post_json(path, {}), 409, reason)
        self.assertJsonError(SERVER.post_json("/api/resize", {"users": 2}), 409,
                             "cannot resize: the swarm is ready")
        self.assertEqual(SERVER.state()["state"], "ready")

    def test_04_read_routes(self):
        """every GET data route answers 200 JSON with its documented shape"""
        status, _, stats = SERVER.get_json("/api/stats")
        self.assertEqual(status, 200)
        for key in ("state", "users", "entries", "total", "errors", "exceptions", "ratios",
                    "fail_ratio"):
            self.assertIn(key, stats)
        self.assertEqual(stats["total"]["name"], "Aggregated")
        status, _, hist = SERVER.get_json("/api/history")
        self.assertEqual(status, 200)
        self.assertIsInstance(hist, list)
        for path, key in (("/api/failures", "errors"), ("/api/exceptions", "exceptions"),
                          ("/api/ratio", "ratios"), ("/api/logs", "lines")):
            with self.subTest(path=path):
                status, headers, doc = SERVER.get_json(path)
                self.assertEqual(status, 200)
                self.assertEqual(headers["content-type"], JSON_CT)
                self.assertEqual(list(doc), [key])
                self.assertIsInstance(doc[key], list)
        _, _, logs = SERVER.get_json("/api/logs")
        self.assertTrue(all(isinstance(x, str) for x in logs["lines"]))
        self.assertLessEqual(len(logs["lines"]), 500)
        # HEAD is served like GET, without a body.
        status, headers, body = SERVER.request("HEAD", "/api/state")
        self.assertEqual(status, 200)
        self.assertEqual(body, b"")

    # -- validation ------------------------------------------------------------

    def test_05_swarm_validation(self):
        """POST /api/swarm: each bad field answers 400 naming the field"""
        mx = self.config()["max_users"]
        users_msg = "users must be an integer from 0 to %d" % mx
        rate_msg = "spawn_rate must be a number > 0"
        cases = [
            ({"usrs": 1, "spawn_rate": 1}, 'unknown field "usrs"'),
            ({"users": 1, "spawn_rate": 1, "hots": "x"}, 'unknown field "hots"'),
            ({"spawn_rate": 1}, "users is required"),
            ({}, "users is required"),
            ({"users": -1, "spawn_rate": 1}, users_msg),
            ({"users": mx + 1, "spawn_rate": 1}, users_msg),
            ({"users": "5", "spawn_rate": 1}, users_msg),
            ({"users": 1.5, "spawn_rate": 1}, users_msg),
            ({"users": True, "spawn_rate": 1}, users_msg),
            ({"users": None, "spawn_rate": 1}, users_msg),
            ({"users": 1}, "spawn_rate is required"),
            ({"users": 1, "spawn_rate": 0}, rate_msg),
            ({"users": 1, "spawn_rate": -2.5}, rate_msg),
            ({"users": 1, "spawn_rate": "5"}, rate_msg),
            ({"users": 1, "spawn_rate": None}, rate_msg),
            ({"users": 1, "spawn_rate": 100001}, "spawn_rate must be at most 100000"),
            ({"users": 1, "spawn_rate": 1, "run_time": "5x"}, RUN_TIME_MSG),
            ({"users": 1, "spawn_rate": 1, "run_time": "-3s"}, RUN_TIME_MSG),
            ({"users": 1, "spawn_rate": 1, "run_time": "1m1m"}, RUN_TIME_MSG),
            ({"users": 1, "spawn_rate": 1, "run_time": -1}, RUN_TIME_MSG),
            ({"users": 1, "spawn_rate": 1, "run_time": 1e10}, RUN_TIME_MSG),
            ({"users": 1, "spawn_rate": 1, "run_time": True}, RUN_TIME_MSG),
            ({"users": 1, "spawn_rate": 1, "run_time": [30]}, RUN_TIME_MSG),
        ]
        for doc, msg in cases:
            with self.subTest(body=doc):
                self.assertJsonError(SERVER.post_json("/api/swarm", doc), 400, msg)
        for host in ("example.com", "http://", "http://exa mple.com", "http://h:99999",
                     "http://h/?q=1", 5, ["http://h"]):
            with self.subTest(host=host):
                self.assertJsonError(
                    SERVER.post_json("/api/swarm", {"users": 1, "spawn_rate": 1, "host": host}),
                    400, prefix="host: ")
        # Not JSON, not an object, duplicate keys, wrong or missing Content-Type.
        self.assertJsonError(SERVER.post_json("/api/swarm", raw='{"users": 1,'), 400,
                             prefix="invalid JSON: ")
        self.assertJsonError(SERVER.post_json("/api/swarm", raw="[1, 2]"), 400,
                             "the body must be a JSON object")
        self.assertJsonError(SERVER.post_json("/api/swarm", raw="42"), 400,
                             "the body must be a JSON object")
        self.assertJsonError(
            SERVER.post_json("/api/swarm", raw='{"users": 1, "users": 2, "spawn_rate": 1}'),
            400, prefix="invalid JSON: ")
        self.assertJsonError(
            SERVER.post_json("/api/swarm", raw='{"users": "\\u0000", "spawn_rate": 1}'),
            400, prefix="invalid JSON: ")
        body = '{"users": 1, "spawn_rate": 1}'
        for ct in ("text/plain", "application/x-www-form-urlencoded", None):
            with self.subTest(content_type=ct):
                self.assertJsonError(SERVER.post_json("/api/swarm", raw=body, content_type=ct),
                                     415, "Content-Type must be application/json")
        self.assertEqual(SERVER.state()["state"], "ready", "a refused request changed state")

    def test_06_other_validation(self):
        """resize/pause/resume/stop/reset validate their bodies too"""
        self.assertJsonError(SERVER.post_json("/api/resize", {"users": 1, "bogus": 1}), 400,
                             'unknown field "bogus"')
        self.assertJsonError(SERVER.post_json("/api/resize", {"spawn_rate": 2}), 400,
                             "users is required")
        self.assertJsonError(SERVER.post_json("/api/resize", {"users": 1, "spawn_rate": 0}),
                             400, "spawn_rate must be a number > 0")
        self.assertJsonError(SERVER.post_json("/api/resize", {"users": -5}), 400,
                             "users must be an integer from 0 to %d" % self.config()["max_users"])
        for path in ("/api/pause", "/api/resume", "/api/stop", "/api/reset"):
            with self.subTest(path=path):
                self.assertJsonError(SERVER.post_json(path, {"x": 1}), 400, 'unknown field "x"')
                self.assertJsonError(SERVER.post_json(path, raw="nope"), 400,
                                     prefix="invalid JSON: ")
                self.assertJsonError(SERVER.post_json(path, raw="{}", content_type="text/plain"),
                                     415, "Content-Type must be application/json")
        # reset is legal in every state, with an empty body or {}.
        status, _, doc = SERVER.post_json("/api/reset")
        self.assertEqual((status, doc), (200, {"ok": True, "state": "ready"}))
        status, _, doc = SERVER.post_json("/api/reset", {})
        self.assertEqual((status, doc), (200, {"ok": True, "state": "ready"}))

    def test_07_not_found_and_methods(self):
        """unknown routes 404, wrong methods 405 with Allow, /ws over plain HTTP 400"""
        for path in ("/nope", "/api/nope", "/api", "/api/state/x", "/stats"):
            with self.subTest(path=path):
                msg = self.assertJsonError(SERVER.request("GET", path), 404)
                self.assertIn(path, msg)
        for method, path, allow in (("GET", "/api/swarm", "POST"), ("GET", "/api/stop", "POST"),
                                    ("PUT", "/api/pause", "POST"), ("POST", "/api/state", "GET"),
                                    ("DELETE", "/stats.csv", "GET"), ("POST", "/stop", "GET"),
                                    ("GET", "/swarm", "POST"), ("POST", "/index.html", "GET"),
                                    ("POST", "/", "GET"), ("PUT", "/chart.min.js", "GET")):
            with self.subTest(method=method, path=path):
                resp = SERVER.request(method, path, b"{}" if method != "GET" else None,
                                      {"Content-Type": JSON_CT})
                self.assertJsonError(resp, 405)
                self.assertIn(allow, resp[1].get("allow", ""))
        for path in ("/report.html", "/stats/report", "/report.html?download=1"):
            with self.subTest(path=path):
                status, headers, body = SERVER.request("GET", path)
                self.assertEqual(status, 200)
                self.assertTrue(headers.get("content-type", "").startswith("text/html"))
                self.assertIn(b'<script id="data" type="application/json">', body)
                if "download" in path:
                    self.assertIn("attachment", headers.get("content-disposition", ""))
                    self.assertIn(".html", headers.get("content-disposition", ""))
        self.assertJsonError(SERVER.request("GET", "/ws"), 400)

    def test_08_body_limit(self):
        """bodies over 64 KiB answer 413 (and the connection stays usable)"""
        pad = lambda n: ('{"users": 1, "spawn_rate": 1, "pad": "%s"}'  # noqa: E731
                         % ("x" * (n - 40))).encode()
        exact = pad(BODY_MAX)
        self.assertEqual(len(exact), BODY_MAX)
        # At the limit the body is read and judged (the pad field is unknown).
        self.assertJsonError(SERVER.post_json("/api/swarm", raw=exact), 400,
                             'unknown field "pad"')
        conn = http.client.HTTPConnection("127.0.0.1", SERVER.port, timeout=10)
        try:
            conn.request("POST", "/api/swarm", body=pad(BODY_MAX + 1),
                         headers={"Content-Type": JSON_CT})
            resp = conn.getresponse()
            data = resp.read()
            self.assertJsonError((resp.status, {k.lower(): v for k, v in resp.getheaders()},
                                  data), 413, "request body too large (the limit is 65536 bytes)")
            # Chunked, without a Content-Length: same answer on the same connection.
            def chunks():
                for _ in range(20):
                    yield b"y" * 8192
            conn.request("POST", "/api/pause", body=chunks(), encode_chunked=True,
                         headers={"Content-Type": JSON_CT, "Transfer-Encoding": "chunked"})
            resp = conn.getresponse()
            self.assertEqual(resp.status, 413, resp.read())
            resp.read()
            conn.request("GET", "/api/state")
            resp = conn.getresponse()
            self.assertEqual(resp.status, 200)
            resp.read()
        finally:
            conn.close()
        # A huge declared body is refused before it is sent.
        with socket.create_connection(("127.0.0.1", SERVER.port), timeout=10) as s:
            s.sendall(b"POST /api/swarm HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      b"Content-Type: application/json\r\nContent-Length: 100000000\r\n\r\n")
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = s.recv(4096)
                if not chunk:
                    break
                head += chunk
            self.assertTrue(head.startswith(b"HTTP/1.1 413"), head[:200])

    def test_09_assets(self):
        """/, /index.html, /app.js, /style.css, /chart.min.js: type, ETag, 304"""
        web = source_file("web")
        expected = {
            "/index.html": (os.path.join(web, "index.html"), "text/html; charset=utf-8"),
            "/app.js": (os.path.join(web, "app.js"), "text/javascript; charset=utf-8"),
            "/style.css": (os.path.join(web, "style.css"), "text/css; charset=utf-8"),
            "/chart.min.js": ("/usr/share/javascript/chart.js/chart.min.js",
                              "text/javascript; charset=utf-8"),
        }
        etags = set()
        for path, (src, ctype) in expected.items():
            with self.subTest(path=path):
                status, headers, body = SERVER.request("GET", path)
                self.assertEqual(status, 200)
                self.assertEqual(headers["content-type"], ctype)
                self.assertEqual(headers["cache-control"], "no-cache")
                self.assertEqual(headers.get("x-content-type-options"), "nosniff")
                self.assertEqual(body, read_bytes(src), "%s differs from %s" % (path, src))
                etag = headers["etag"]
                self.assertRegex(etag, r'^"[0-9a-f]{16,}"$')
                etags.add(etag)
                # Same validator on the next request; 304 when the browser has it.
                status, h2, body2 = SERVER.request("GET", path, headers={"If-None-Match": etag})
                self.assertEqual(status, 304)
                self.assertEqual(body2, b"")
                self.assertEqual(h2["etag"], etag)
                status, _, _ = SERVER.request("GET", path,
                                              headers={"If-None-Match": '"other", W/' + etag})
                self.assertEqual(status, 304)
                status, _, body3 = SERVER.request("GET", path,
                                                  headers={"If-None-Match": '"stale"'})
                self.assertEqual((status, body3), (200, body))
        self.assertEqual(len(etags), len(expected), "assets share an ETag")
        status, headers, body = SERVER.request("GET", "/")
        self.assertEqual((status, body), (200, read_bytes(os.path.join(web, "index.html"))))
        status, headers, body = SERVER.request("HEAD", "/chart.min.js")
        self.assertEqual((status, body), (200, b""))
        self.assertEqual(int(headers["content-length"]),
                         os.path.getsize("/usr/share/javascript/chart.js/chart.min.js"))
        for path in ("/index.htm", "/../etc/passwd", "/%2e%2e/etc/passwd", "/web/index.html"):
            with self.subTest(path=path):
                self.assertJsonError(SERVER.request("GET", path), 404)

    def test_10_keep_alive(self):
        """several requests (200, 304, 409, 404) share one connection"""
        conn = http.client.HTTPConnection("127.0.0.1", SERVER.port, timeout=10)
        try:
            conn.connect()
            sock = conn.sock
            etag = SERVER.request("GET", "/app.js")[1]["etag"]
            for method, path, body, headers, want in (
                    ("GET", "/api/state", None, {}, 200),
                    ("GET", "/api/state", None, {}, 200),
                    ("GET", "/app.js", None, {"If-None-Match": etag}, 304),
                    ("POST", "/api/pause", None, {}, 409),
                    ("GET", "/missing", None, {}, 404),
                    ("GET", "/api/config", None, {}, 200)):
                conn.request(method, path, body=body, headers=headers)
                resp = conn.getresponse()
                resp.read()
                self.assertEqual(resp.status, want, path)
                self.assertNotEqual((resp.getheader("Connection") or "").lower(), "close", path)
                self.assertFalse(resp.will_close, path)
                self.assertIs(conn.sock, sock, "the connection was reopened after " + path)
        finally:
            conn.close()

    def test_11_cross_origin_post(self):
        """a POST whose Origin is another site is refused with 403"""
        self.assertJsonError(SERVER.post_json("/api/reset", {},
                                              headers={"Origin": "http://evil.example"}), 403)
        self.assertJsonError(SERVER.post_json("/api/reset", {}, headers={"Origin": "null"}), 403)
        same = "http://127.0.0.1:%d" % SERVER.port
        status, _, doc = SERVER.post_json("/api/reset", {}, headers={"Origin": same})
        self.assertEqual(status, 200, doc)
        # Without Origin, the browser's other words for it: Sec-Fetch-Site, Referer.
        self.assertJsonError(SERVER.post_json("/api/reset", {},
                                              headers={"Sec-Fetch-Site": "cross-site"}), 403)
        self.assertJsonError(SERVER.post_json("/api/reset", {},
                                              headers={"Sec-Fetch-Site": "same-site"}), 403)
        self.assertJsonError(SERVER.post_json(
            "/api/reset", {}, headers={"Referer": "http://evil.example/page"}), 403)
        self.assertJsonError(SERVER.post_json(
            "/api/reset", {}, headers={"Referer": same + "0/x"}), 403)  # another port
        for ok in ({"Sec-Fetch-Site": "same-origin"}, {"Referer": same + "/"}):
            status, _, doc = SERVER.post_json("/api/reset", {}, headers=ok)
            self.assertEqual(status, 200, (ok, doc))

    def test_11b_no_framing(self):
        """no other site may frame the page (clickjacking)"""
        for path in ("/", "/api/state", "/nothing-here"):
            status, headers, _ = SERVER.request("GET", path)
            self.assertEqual(headers.get("x-frame-options"), "DENY", path)
            self.assertEqual(headers.get("content-security-policy"), "frame-ancestors 'none'", path)

    def test_12_dns_rebinding_and_cross_site_get(self):
        """a foreign Host name is refused (DNS rebinding); Locust's GET /stop and
        /stats/reset refuse cross-site requests"""
        self.assertJsonError(SERVER.request("GET", "/api/stats",
                                            headers={"Host": "evil.example:%d" % SERVER.port}),
                             403, prefix="Host 'evil.example")
        for host in ("localhost:%d" % SERVER.port, "127.0.0.1:%d" % SERVER.port,
                     "[::1]:%d" % SERVER.port):
            status = SERVER.request("GET", "/api/state", headers={"Host": host})[0]
            self.assertEqual(status, 200, host)
        for path in ("/stop", "/stats/reset"):
            self.assertJsonError(SERVER.request("GET", path,
                                                headers={"Sec-Fetch-Site": "cross-site"}), 403)
            self.assertJsonError(SERVER.request(
                "GET", path, headers={"Origin": "http://evil.example"}), 403)
            self.assertJsonError(SERVER.request(
                "GET", path, headers={"Referer": "http://evil.example/"}), 403)
        # Typed into the address bar (Sec-Fetch-Site: none) it still works.
        status = SERVER.request("GET", "/stats/reset", headers={"Sec-Fetch-Site": "none"})[0]
        self.assertEqual(status, 200)

    # -- a swarm through the API -------------------------------------------

    def test_20_swarm_lifecycle(self):
        """start, resize, pause, resume, reset and stop a swarm through the API"""
        host = self.config()["default_host"]
        status, _, doc = SERVER.post_json(
            "/api/swarm", {"users": 4, "spawn_rate": 50, "host": host, "run_time": "5m"},
            content_type="application/json; charset=utf-8")
        self.assertEqual((status, doc), (200, {"ok": True, "state": "spawning"}))
        SERVER.wait_state("running")
        self.assertJsonError(SERVER.post_json("/api/resume"), 409,
                             "cannot resume: the swarm is running")
        st = SERVER.state()
        self.assertEqual((st["users"], st["target_users"], st["host"]), (4, 4, host))
        self.assertEqual(st["run_time_s"], 300)
        self.assertGreater(st["start_time"], 0)
        SERVER.wait_for("requests counted", lambda: SERVER.get_json("/api/stats")[2]
                        ["total"]["requests"] > 0)

        # /api/swarm while running acts as a resize; so does /api/resize.
        status, _, doc = SERVER.post_json("/api/swarm", {"users": 2, "spawn_rate": 50})
        self.assertEqual(status, 200, doc)
        SERVER.wait_for("2 users", lambda: SERVER.state()["users"] == 2)
        status, _, doc = SERVER.post_json("/api/resize", {"users": 3, "spawn_rate": 25})
        self.assertEqual(status, 200, doc)
        SERVER.wait_for("3 users", lambda: (lambda s: s["users"] == 3 and s["target_users"] == 3
                                            and s["spawn_rate"] == 25)(SERVER.state()))
        status, _, doc = SERVER.post_json("/api/resize", {"users": 3})
        self.assertEqual(status, 200, doc)

        # Pause: no new requests; pause again is illegal.
        status, _, doc = SERVER.post_json("/api/pause")
        self.assertEqual((status, doc), (200, {"ok": True, "state": "paused"}))
        self.assertJsonError(SERVER.post_json("/api/pause"), 409,
                             "cannot pause: the swarm is paused")
        SERVER.wait_for("history points", lambda: len(SERVER.get_json("/api/history")[2]) >= 2)
        self.check_downloads(running=True)

        # Reset while paused: the counters start again from zero (so there
        # must be some to clear).
        SERVER.wait_for("requests to reset", lambda: SERVER.get_json("/api/stats")[2]
                        ["total"]["requests"] > 0)
        status, _, doc = SERVER.post_json("/api/reset")
        self.assertEqual((status, doc), (200, {"ok": True, "state": "paused"}))
        SERVER.wait_for("stats reset", lambda: SERVER.get_json("/api/stats")[2]
                        ["total"]["requests"] == 0)

        status, _, doc = SERVER.post_json("/api/resume")
        self.assertEqual(status, 200, doc)
        self.assertIn(doc["state"], ("spawning", "running"))
        SERVER.wait_for("requests after resume", lambda: SERVER.get_json("/api/stats")[2]
                        ["total"]["requests"] > 0)

        status, _, doc = SERVER.post_json("/api/stop", {})
        self.assertEqual(status, 200, doc)
        self.assertIn(doc["state"], ("stopping", "stopped"))
        SERVER.wait_state("stopped", timeout=30)
        for path, reason in (("/api/stop", "cannot stop: the swarm is stopped"),
                             ("/api/pause", "cannot pause: the swarm is stopped"),
                             ("/api/resume", "cannot resume: the swarm is stopped")):
            with self.subTest(path=path):
                self.assertJsonError(SERVER.post_json(path), 409, reason)
        self.assertJsonError(SERVER.post_json("/api/resize", {"users": 1}), 409,
                             "cannot resize: the swarm is stopped")
        st = SERVER.state()
        self.assertGreater(st["end_time"], st["start_time"])
        self.assertTrue(st["stop_reason"])
        lines = SERVER.get_json("/api/logs")[2]["lines"]
        self.assertTrue(any("starting" in x for x in lines), lines[-10:])
        self.check_downloads(running=False)

    def check_downloads(self, running):
        names = {"/stats.csv": ("stats.csv", STATS_HEADER),
                 "/failures.csv": ("failures.csv", FAILURES_HEADER),
                 "/exceptions.csv": ("exceptions.csv", EXCEPTIONS_HEADER),
                 "/stats_history.csv": ("stats_history.csv", HISTORY_HEADER),
                 "/stats/requests/csv": ("requests.csv", STATS_HEADER),
                 "/stats/failures/csv": ("failures.csv", FAILURES_HEADER),
                 "/exceptions/csv": ("exceptions.csv", EXCEPTIONS_HEADER)}
        for path, (fname, header) in names.items():
            with self.subTest(path=path, running=running):
                status, headers, body = SERVER.request("GET", path)
                self.assertEqual(status, 200)
                self.assertEqual(headers["content-type"], "text/csv; charset=utf-8")
                self.assertRegex(headers["content-disposition"], DISPOSITION_RE % re.escape(fname))
                self.assertTrue(body.startswith(header.encode() + b"\r\n"), body[:300])
                rows = csv_rows(body)
                self.assertEqual(",".join(rows[0]), header)
                width = len(rows[0])
                for row in rows[1:]:
                    self.assertEqual(len(row), width, row)
                if header == STATS_HEADER:
                    self.assertEqual(rows[-1][:2], ["", "Aggregated"])
                    self.assertGreater(len(rows), 2, "no endpoint rows")
                    self.assertGreater(int(rows[-1][2]), 0)
                if header == HISTORY_HEADER:
                    self.assertGreater(len(rows), 1, "no history rows")
                    for row in rows[1:]:
                        self.assertEqual(row[2:4], ["", "Aggregated"])
                        self.assertRegex(row[0], r"^\d{10}$")
                        self.assertRegex(row[4], r"^\d+\.\d{6}$")
                        # 66% is not kept in history; 50%/95%/99% are.
                        self.assertEqual(row[7], "N/A")
                        self.assertEqual(row[-5:], ["N/A"] * 5)
                        int(row[17]), int(row[18])
                    last = rows[-1]
                    self.assertGreater(int(last[17]), 0)
                    self.assertRegex(last[6], r"^\d+$")
        status, headers, body = SERVER.request("GET", "/report.json")
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"], JSON_CT)
        self.assertRegex(headers["content-disposition"], DISPOSITION_RE % r"report\.json")
        doc = json.loads(body)
        self.assertEqual(doc["format"], "hornet-result")
        self.assertGreater(doc["total"]["requests"], 0)
        self.assertIsInstance(doc["history"], list)
        self.assertGreater(len(doc["history"]), 0)

    # -- Locust's routes ------------------------------------------------------

    def test_30_locust_aliases(self):
        """POST /swarm (form), /stats/requests, /stop, /stats/reset answer like Locust"""
        SERVER.stop_swarm()
        host = self.config()["default_host"]
        form = {"Content-Type": "application/x-www-form-urlencoded"}

        def swarm(body, headers=form):
            status, h, data = SERVER.request("POST", "/swarm", body, headers)
            return status, h, json.loads(data)

        mx = self.config()["max_users"]
        for body, msg in (("spawn_rate=1", "Missing user_count or spawn_rate from /swarm request"),
                          ("user_count=1", "Missing user_count or spawn_rate from /swarm request"),
                          ("", "Missing user_count or spawn_rate from /swarm request"),
                          ("user_count=abc&spawn_rate=1",
                           "user_count must be an integer from 0 to %d" % mx),
                          ("user_count=1.5&spawn_rate=1",
                           "user_count must be an integer from 0 to %d" % mx),
                          ("user_count=1e3&spawn_rate=1",
                           "user_count must be an integer from 0 to %d" % mx),
                          ("user_count=-1&spawn_rate=1",
                           "user_count must be an integer from 0 to %d" % mx),
                          ("user_count=%d&spawn_rate=1" % (mx + 1),
                           "user_count must be an integer from 0 to %d" % mx),
                          ("user_count=1&spawn_rate=0", "spawn_rate must be a number > 0"),
                          ("user_count=1&spawn_rate=inf", "spawn_rate must be a number > 0"),
                          ("user_count=1&spawn_rate=0x10", "spawn_rate must be a number > 0"),
                          ("user_count=1&spawn_rate=1&run_time=5x", RUN_TIME_MSG)):
            with self.subTest(body=body):
                status, headers, doc = swarm(body)
                self.assertEqual(status, 400)
                self.assertEqual(doc, {"success": False, "message": msg})
        status, _, doc = swarm("user_count=1&spawn_rate=1&host=nohost")
        self.assertEqual(status, 400)
        self.assertTrue(doc["message"].startswith("host: "), doc)
        status, _, doc = swarm("user_count=1&spawn_rate=1",
                               {"Content-Type": "multipart/form-data; boundary=x"})
        self.assertEqual((status, doc["success"]), (415, False))
        self.assertIn(SERVER.state()["state"], ("ready", "stopped"))

        # Percent-encoding, '+' for spaces, and fields Locust's form also sends.
        body = ("user_count=3&spawn_rate=30&host=%s&run_time=2m&profile=&user_classes=x+y"
                % host.replace(":", "%3A").replace("/", "%2F"))
        status, headers, doc = swarm(body)
        self.assertEqual(status, 200, doc)
        self.assertEqual(headers["content-type"], JSON_CT)
        self.assertEqual(doc["success"], True)
        self.assertEqual(doc["message"], "Swarming started")
        self.assertEqual(doc["host"], host)
        SERVER.wait_state("running")
        self.assertEqual(SERVER.state()["run_time_s"], 120)

        def requests_doc():
            status, _, d = SERVER.get_json("/stats/requests")
            self.assertEqual(status, 200)
            return d
        doc = SERVER.wait_for("Locust stats with requests",
                              lambda: (lambda d: d if d["stats"][-1]["num_requests"] > 0
                                       else None)(requests_doc()))
        for key in ("stats", "errors", "total_rps", "total_fail_per_sec", "fail_ratio",
                    "current_response_time_percentiles", "state", "user_count"):
            self.assertIn(key, doc)
        self.assertEqual(doc["state"], "running")
        self.assertEqual(doc["user_count"], 3)
        self.assertEqual(set(doc["current_response_time_percentiles"]),
                         {"response_time_percentile_0.5", "response_time_percentile_0.95"})
        entry_keys = {"method", "name", "num_requests", "num_failures", "min_response_time",
                      "max_response_time", "current_rps", "current_fail_per_sec",
                      "avg_response_time", "median_response_time", "total_rps",
                      "total_fail_per_sec", "response_time_percentile_0.95",
                      "response_time_percentile_0.99", "avg_content_length"}
        for e in doc["stats"]:
            self.assertEqual(set(e), entry_keys)
        agg = doc["stats"][-1]
        self.assertEqual((agg["name"], agg["method"]), ("Aggregated", None))
        self.assertEqual(agg["num_requests"],
                         sum(e["num_requests"] for e in doc["stats"][:-1]))
        self.assertEqual(doc["total_rps"], agg["current_rps"])
        for e in doc["errors"]:
            self.assertEqual(set(e), {"method", "name", "error", "occurrences"})

        status, _, exc = SERVER.get_json("/exceptions")
        self.assertEqual(status, 200)
        self.assertIsInstance(exc["exceptions"], list)
        status, _, logs = SERVER.get_json("/logs")
        self.assertEqual(status, 200)
        self.assertIsInstance(logs["master"], list)
        self.assertEqual(logs["workers"], {})

        status, headers, data = SERVER.request("GET", "/stop")
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(data), {"success": True, "message": "Test stopped"})
        SERVER.wait_state("stopped", timeout=30)
        status, _, data = SERVER.request("GET", "/stop")
        self.assertEqual(json.loads(data), {"success": True, "message": "Test stopped"})

        status, headers, data = SERVER.request("GET", "/stats/reset")
        self.assertEqual((status, data), (200, b"ok"))
        self.assertTrue(headers["content-type"].startswith("text/plain"))
        SERVER.wait_for("stats reset", lambda: requests_doc()["stats"][-1]["num_requests"] == 0)
        self.assertEqual(requests_doc()["stats"][-1]["min_response_time"], None)

    def test_40_api_swarm_from_stopped(self):
        """a new swarm from stopped starts fresh; 0 users is a valid start"""
        SERVER.stop_swarm()
        status, _, doc = SERVER.post_json("/api/swarm", {"users": 0, "spawn_rate": 1,
                                                         "run_time": 60, "host": None})
        self.assertEqual(status, 200, doc)
        SERVER.wait_state("running")
        self.assertEqual(SERVER.state()["run_time_s"], 60)
        SERVER.stop_swarm()

    def test_99_shutdown(self):
        """SIGTERM ends the process cleanly (no crash, no sanitizer report)"""
        if SERVER.proc is None:
            self.skipTest("HN_TEST_URL: not our process")
        rc, err = SERVER.stop()
        self.assertGreaterEqual(rc, 0, "killed by a signal")
        self.assertIsNone(hnlib.sanitizer_report(err), err[-3000:])


class WebRootTest(unittest.TestCase):
    """--web-root DIR serves the page from disk, and nothing outside it."""

    server = None
    root = None

    @classmethod
    def setUpClass(cls):
        if not os.environ.get("HORNET"):
            raise unittest.SkipTest("HORNET is not set")
        cls.root = tempfile.mkdtemp(prefix="hn-webroot-")
        with open(os.path.join(cls.root, "index.html"), "w") as f:
            f.write("<!doctype html><p>from disk</p>\n")
        with open(os.path.join(cls.root, "extra.css"), "w") as f:
            f.write("p { color: red }\n")
        with open(os.path.join(cls.root, ".secret"), "w") as f:
            f.write("hidden\n")
        os.mkdir(os.path.join(cls.root, "sub"))
        os.mkfifo(os.path.join(cls.root, "fifo"))
        cls.server = Server(["--web-root", cls.root])

    @classmethod
    def tearDownClass(cls):
        if cls.server is not None:
            cls.server.cleanup()
        if cls.root:
            shutil.rmtree(cls.root, ignore_errors=True)

    def test_disk_files(self):
        """files come from the directory, with a validator that gives 304"""
        status, headers, body = self.server.request("GET", "/")
        self.assertEqual((status, body), (200, b"<!doctype html><p>from disk</p>\n"))
        self.assertEqual(headers["content-type"], "text/html; charset=utf-8")
        etag = headers["etag"]
        status, _, body = self.server.request("GET", "/index.html",
                                              headers={"If-None-Match": etag})
        self.assertEqual((status, body), (304, b""))
        status, headers, body = self.server.request("GET", "/extra.css")
        self.assertEqual((status, headers["content-type"]), (200, "text/css; charset=utf-8"))
        # A change on disk shows without a restart, with a new validator.
        time.sleep(0.01)
        with open(os.path.join(self.root, "index.html"), "w") as f:
            f.write("<p>changed</p>\n")
        status, headers, body = self.server.request("GET", "/",
                                                    headers={"If-None-Match": etag})
        self.assertEqual((status, body), (200, b"<p>changed</p>\n"))
        self.assertNotEqual(headers["etag"], etag)

    def test_embedded_fallback(self):
        """files not in the directory (Chart.js) still come from the binary"""
        status, _, body = self.server.request("GET", "/chart.min.js")
        self.assertEqual(status, 200)
        self.assertEqual(body, read_bytes("/usr/share/javascript/chart.js/chart.min.js"))

    def test_no_traversal(self):
        """'..', hidden files, directories and FIFOs are refused with 404"""
        for path in ("/../etc/passwd", "/%2e%2e/etc/passwd", "/sub/../index.html",
                     "/.secret", "/sub", "/sub/", "/fifo", "/missing.js", "//etc/passwd"):
            with self.subTest(path=path):
                status, headers, body = self.server.request("GET", path, timeout=5)
                self.assertEqual(status, 404, body[:200])
                self.assertEqual(headers["content-type"], JSON_CT)
                self.assertNotIn(b"root:", body)

    def test_zz_shutdown(self):
        """the --web-root instance exits cleanly on SIGTERM"""
        rc, err = self.server.stop()
        self.assertGreaterEqual(rc, 0, "killed by a signal")
        self.assertIsNone(hnlib.sanitizer_report(err), err[-3000:])


if __name__ == "__main__":
    sys.exit(hnlib.run_checks())
