#!/usr/bin/env python3
"""Integration test of `hornet demo-target`: every endpoint, its error cases,
exact counting, keep-alive, non-blocking waits, the KV line protocol and the
command line. Needs HORNET (path of the binary); talks to 127.0.0.1 only."""

import http.client
import json
import os
import resource
import signal
import socket
import sys
import threading
import time
import unittest
import urllib.request

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import hnlib  # noqa: E402

T = None  # the shared target, started in setUpModule


def setUpModule():
    global T
    T = hnlib.DemoTarget().start()


def tearDownModule():
    rc = T.stop()
    if rc != 0:
        raise AssertionError("demo-target exited with %s (leaks under ASan?)" % rc)


def req(method, path, body=None, headers=None, timeout=10):
    return T.request(method, path, body, headers, timeout)


def jreq(method, path, body=None, headers=None):
    status, hdrs, data = req(method, path, body, headers)
    return status, hdrs, json.loads(data)


def kv_connect():
    s = socket.create_connection(("127.0.0.1", T.kv_port), timeout=5)
    return s


def kv_read_lines(sock, n):
    """Reads exactly n CRLF-terminated lines."""
    buf = b""
    while buf.count(b"\r\n") < n:
        chunk = sock.recv(65536)
        if not chunk:
            break
        buf += chunk
    lines = buf.split(b"\r\n")
    return [x.decode() for x in lines[:n]], b"\r\n".join(lines[n:])


def login(user="ann"):
    status, hdrs, doc = jreq("POST", "/login", {"user": user})
    assert status == 200, status
    cookie = hdrs["set-cookie"]
    assert cookie.startswith("session=") and "Path=/" in cookie, cookie
    return {"Cookie": cookie.split(";")[0]}


class Endpoints(unittest.TestCase):
    def check_basic(self, status, hdrs, data, want_status, ctype):
        self.assertEqual(status, want_status)
        self.assertTrue(hdrs["content-type"].startswith(ctype), hdrs)
        self.assertEqual(int(hdrs["content-length"]), len(data))

    def test_root(self):
        status, hdrs, data = req("GET", "/")
        self.check_basic(status, hdrs, data, 200, "text/plain")
        self.assertEqual(data, b"hornet demo target\n")
        status, hdrs, data = req("HEAD", "/")
        self.assertEqual((status, data), (200, b""))

    def test_status(self):
        for code in (200, 201, 302, 400, 404, 418, 500, 503, 599):
            status, hdrs, data = req("GET", "/status/%d" % code)
            self.check_basic(status, hdrs, data, code, "application/json")
            self.assertEqual(json.loads(data), {"status": code})
        for code in (204, 304):
            status, hdrs, data = req("GET", "/status/%d" % code)
            self.assertEqual((status, data), (code, b""))
        for bad in ("99", "600", "abc", "-1", "2000", "20x"):
            status, hdrs, data = req("GET", "/status/" + bad)
            self.check_basic(status, hdrs, data, 400, "application/json")
            self.assertIn("error", json.loads(data))
        # A 1xx is interim in HTTP; the target closes so clients fail fast.
        t0 = time.monotonic()
        with self.assertRaises((http.client.HTTPException, ConnectionError)):
            req("GET", "/status/100", timeout=5)
        self.assertLess(time.monotonic() - t0, 3)

    def test_delay(self):
        t0 = time.monotonic()
        status, hdrs, data = req("GET", "/delay/0.3")
        took = time.monotonic() - t0
        self.check_basic(status, hdrs, data, 200, "application/json")
        self.assertEqual(json.loads(data), {"delay": 0.3})
        self.assertGreaterEqual(took, 0.29)
        self.assertLess(took, 2)
        status, _, data = req("GET", "/delay/0")
        self.assertEqual((status, json.loads(data)), (200, {"delay": 0}))
        for bad in ("61", "-1", "abc", "nan", "inf", "1e1", "0x10", "1.2.3", "."):
            status, hdrs, data = req("GET", "/delay/" + bad)
            self.assertEqual(status, 400, bad)
            self.assertIn("error", json.loads(data))

    def test_delay_does_not_block(self):
        results = []

        def one():
            t0 = time.monotonic()
            status, _, _ = req("GET", "/delay/0.5")
            results.append((status, time.monotonic() - t0))

        t0 = time.monotonic()
        threads = [threading.Thread(target=one) for _ in range(10)]
        for t in threads:
            t.start()
        # Meanwhile a plain request is answered at once.
        q0 = time.monotonic()
        self.assertEqual(req("GET", "/json")[0], 200)
        self.assertLess(time.monotonic() - q0, 0.45)
        for t in threads:
            t.join(10)
        total = time.monotonic() - t0
        self.assertEqual(len(results), 10)
        self.assertTrue(all(s == 200 and d >= 0.49 for s, d in results), results)
        self.assertLess(total, 2.0)

    def test_many_parked_connections_few_threads(self):
        """1,000 concurrent /delay requests are parked, not given threads."""
        n = 1000
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < n + 100:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 200), hard))
        socks = []
        try:
            for _ in range(n):
                s = socket.create_connection(("127.0.0.1", T.port), timeout=10)
                s.sendall(b"GET /delay/1 HTTP/1.1\r\nHost: x\r\n\r\n")
                socks.append(s)
            threads = len(os.listdir("/proc/%d/task" % T.proc.pid))
            self.assertLess(threads, 20)
            t0 = time.monotonic()
            for s in socks:
                data = b""
                while b"\r\n\r\n" not in data or not data.endswith(b"}\n"):
                    chunk = s.recv(4096)
                    self.assertTrue(chunk, "connection closed before the answer")
                    data += chunk
                self.assertTrue(data.startswith(b"HTTP/1.1 200"), data[:40])
            self.assertLess(time.monotonic() - t0, 8)
        finally:
            for s in socks:
                s.close()

    def test_bytes(self):
        for n in (0, 1, 10, 4096, 4097, 100000, 10000000):
            status, hdrs, data = req("GET", "/bytes/%d" % n, timeout=30)
            self.check_basic(status, hdrs, data, 200, "application/octet-stream")
            self.assertEqual(len(data), n)
            self.assertEqual(data, b"x" * n)
        for bad in ("10000001", "-1", "abc", "1e3"):
            status, _, data = req("GET", "/bytes/" + bad)
            self.assertEqual(status, 400, bad)

    def test_json(self):
        status, hdrs, data = req("GET", "/json")
        self.check_basic(status, hdrs, data, 200, "application/json")
        doc = json.loads(data)
        self.assertEqual(doc["shop"]["name"], "Hornet Demo Shop")

    def test_headers(self):
        conn = http.client.HTTPConnection("127.0.0.1", T.port, timeout=5)
        conn.putrequest("GET", "/headers")
        conn.putheader("X-Test", "hello \"world\"")
        conn.putheader("X-Multi", "a")
        conn.putheader("X-Multi", "b")
        conn.endheaders()
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        self.assertEqual(resp.status, 200)
        self.assertEqual(int(resp.getheader("Content-Length")), len(data))
        h = json.loads(data)["headers"]
        self.assertEqual(h["X-Test"], "hello \"world\"")
        self.assertEqual(h["X-Multi"], "a, b")
        self.assertIn("Host", h)

    def test_redirect(self):
        status, hdrs, data = req("GET", "/redirect/3")
        self.assertEqual(status, 302)
        self.assertEqual(hdrs["location"], "/redirect/2")
        self.assertEqual(int(hdrs["content-length"]), len(data))
        self.assertEqual(req("GET", "/redirect/1")[1]["location"], "/")
        with urllib.request.urlopen(T.url + "/redirect/5", timeout=10) as r:
            self.assertEqual(r.status, 200)
            self.assertEqual(r.read(), b"hornet demo target\n")
        for bad in ("0", "11", "x"):
            self.assertEqual(req("GET", "/redirect/" + bad)[0], 400, bad)

    def test_items(self):
        status, hdrs, data = req("GET", "/items")
        self.check_basic(status, hdrs, data, 200, "application/json")
        items = json.loads(data)["items"]
        self.assertEqual([i["id"] for i in items], list(range(1, 21)))
        for i in items:
            self.assertTrue(i["name"])
            self.assertGreater(i["price"], 0)
        status, hdrs, data = req("GET", "/item/7")
        self.check_basic(status, hdrs, data, 200, "application/json")
        self.assertEqual(json.loads(data), items[6])
        self.assertEqual(json.loads(req("GET", "/item/100")[2])["id"], 100)
        for bad in ("0", "101", "abc", "-1"):
            status, hdrs, data = req("GET", "/item/" + bad)
            self.assertEqual(status, 404, bad)
            self.assertIn("error", json.loads(data))

    def test_not_found_and_method(self):
        for path in ("/nope", "/json/", "/status", "/status/", "/a/b/c"):
            status, hdrs, data = req("GET", path)
            self.check_basic(status, hdrs, data, 404, "application/json")
            self.assertEqual(json.loads(data), {"error": "not found"})
        status, hdrs, data = req("DELETE", "/json")
        self.check_basic(status, hdrs, data, 405, "application/json")
        self.assertIn("GET", hdrs["allow"])
        self.assertEqual(req("GET", "/login")[0], 405)
        self.assertEqual(req("GET", "/checkout")[0], 405)
        self.assertEqual(req("PUT", "/cart", "{}")[0], 405)
        self.assertEqual(req("POST", "/json", "x")[0], 405)

    def test_login(self):
        status, hdrs, doc = jreq("POST", "/login", {"user": "ann"})
        self.assertEqual((status, doc), (200, {"user": "ann"}))
        self.assertRegex(hdrs["set-cookie"], r"^session=[^;]+; Path=/")
        status, hdrs, doc = jreq("POST", "/login", "user=b%C3%B6b+x&x=1",
                                 {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual((status, doc), (200, {"user": "b\u00f6b x"}))
        self.assertNotEqual(hdrs["set-cookie"], login()["Cookie"])
        for body in ({}, {"user": ""}, {"user": 5}, {"user": "x" * 65}, "{bad json", "x=1", ""):
            status, _, doc = jreq("POST", "/login", body)
            self.assertEqual(status, 400, body)
            self.assertIn("error", doc)

    def test_cart_flow(self):
        status, _, doc = jreq("GET", "/cart")
        self.assertEqual(status, 401)
        self.assertIn("error", doc)
        self.assertEqual(req("GET", "/cart", headers={"Cookie": "session=1.0000000000000000"})[0],
                         401)
        self.assertEqual(req("GET", "/cart", headers={"Cookie": "session=garbage"})[0], 401)
        self.assertEqual(req("POST", "/cart", {"item_id": 1})[0], 401)
        self.assertEqual(req("POST", "/checkout")[0], 401)

        ck = login("carol")
        status, _, doc = jreq("GET", "/cart", headers=ck)
        self.assertEqual((status, doc["items"], doc["count"], doc["total"]), (200, [], 0, 0))
        status, _, doc = jreq("POST", "/checkout", headers=ck)
        self.assertEqual((status, doc), (400, {"error": "cart is empty"}))

        self.assertEqual(jreq("POST", "/cart", {"item_id": 5, "qty": 2}, ck)[2], {"count": 2})
        self.assertEqual(jreq("POST", "/cart", {"item_id": 7}, ck)[2], {"count": 3})
        self.assertEqual(jreq("POST", "/cart", {"item_id": 5, "qty": 1}, ck)[2], {"count": 4})
        for bad in ({"item_id": 0}, {"item_id": 101}, {"item_id": "5"}, {"qty": 1},
                    {"item_id": 5, "qty": 0}, {"item_id": 5, "qty": 1.5}, [1], "nope"):
            status, _, doc = jreq("POST", "/cart", bad, ck)
            self.assertEqual(status, 400, bad)
            self.assertIn("error", doc)
        status, _, cart = jreq("GET", "/cart", headers=ck)
        self.assertEqual(status, 200)
        self.assertEqual(cart["count"], 4)
        qty = {i["id"]: i["qty"] for i in cart["items"]}
        self.assertEqual(qty, {5: 3, 7: 1})
        prices = {i: jreq("GET", "/item/%d" % i)[2]["price"] for i in (5, 7)}
        self.assertAlmostEqual(cart["total"], 3 * prices[5] + prices[7], places=2)

        # Carts are per session.
        other = login("dave")
        self.assertEqual(jreq("GET", "/cart", headers=other)[2]["count"], 0)

        status, _, doc = jreq("POST", "/checkout", headers=ck)
        self.assertEqual(status, 200)
        self.assertIn(doc["status"], ("ok", "declined"))
        self.assertEqual(jreq("GET", "/cart", headers=ck)[2]["count"], 0)

    def test_checkout_declines_every_20th(self):
        ck = login("erin")
        outcomes = []
        for _ in range(40):
            self.assertEqual(req("POST", "/cart", {"item_id": 1}, ck)[0], 200)
            status, _, doc = jreq("POST", "/checkout", headers=ck)
            self.assertEqual(status, 200)
            outcomes.append(doc)
        declined = [i for i, d in enumerate(outcomes) if d["status"] == "declined"]
        self.assertEqual(len(declined), 2, outcomes)
        self.assertEqual(declined[1] - declined[0], 20)
        for d in outcomes:
            if d["status"] == "declined":
                self.assertEqual(d["reason"], "card declined")
            else:
                self.assertEqual(d["status"], "ok")
                self.assertNotEqual(d["order_id"] % 20, 0)
        oks = [d["order_id"] for d in outcomes if d["status"] == "ok"]
        self.assertEqual(oks, sorted(oks))

    def test_body_too_large(self):
        status, _, doc = jreq("POST", "/login", "user=" + "x" * (70 * 1024),
                              {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(status, 413)
        self.assertIn("error", doc)

    def test_keep_alive(self):
        conn = http.client.HTTPConnection("127.0.0.1", T.port, timeout=5)
        try:
            sock_name = None
            for method, path, body in (("GET", "/", None), ("GET", "/json", None),
                                       ("GET", "/status/500", None), ("GET", "/nope", None),
                                       ("POST", "/login", b'{"user":"k"}'),
                                       ("GET", "/delay/0.05", None), ("GET", "/bytes/100000", None),
                                       ("GET", "/slow-body/0.1", None), ("GET", "/items", None)):
                conn.request(method, path, body=body)
                resp = conn.getresponse()
                resp.read()
                self.assertIsNone(resp.getheader("Connection"), path)
                self.assertFalse(resp.will_close, path)
                if sock_name is None:
                    sock_name = conn.sock.getsockname()
                self.assertEqual(conn.sock.getsockname(), sock_name, path)
        finally:
            conn.close()

    def test_drop(self):
        s = socket.create_connection(("127.0.0.1", T.port), timeout=5)
        s.sendall(b"GET /drop HTTP/1.1\r\nHost: x\r\n\r\n")
        try:
            data = s.recv(4096)
        except ConnectionResetError:
            data = b""
        s.close()
        self.assertEqual(data, b"")
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionError)):
            req("GET", "/drop")

    def test_hang(self):
        t0 = time.monotonic()
        with self.assertRaises(socket.timeout):
            req("GET", "/hang", timeout=0.5)
        took = time.monotonic() - t0
        self.assertGreaterEqual(took, 0.45)
        self.assertLess(took, 3)
        self.assertEqual(req("GET", "/")[0], 200)

    def test_slow_body(self):
        conn = http.client.HTTPConnection("127.0.0.1", T.port, timeout=5)
        try:
            t0 = time.monotonic()
            conn.request("GET", "/slow-body/1")
            resp = conn.getresponse()
            t_head = time.monotonic() - t0
            self.assertEqual(resp.status, 200)
            self.assertLess(t_head, 0.8)
            # Other requests are served while the body trickles.
            q0 = time.monotonic()
            self.assertEqual(req("GET", "/json")[0], 200)
            self.assertLess(time.monotonic() - q0, 0.45)
            data = resp.read()
            t_body = time.monotonic() - t0
            self.assertEqual(len(data), int(resp.getheader("Content-Length")))
            self.assertGreater(len(data), 0)
            self.assertGreaterEqual(t_body, 0.9)
            self.assertLess(t_body, 3)
        finally:
            conn.close()
        status, _, data = req("GET", "/slow-body/0")
        self.assertEqual(status, 200)
        self.assertGreater(len(data), 0)
        self.assertEqual(req("GET", "/slow-body/61")[0], 400)
        self.assertEqual(req("GET", "/slow-body/x")[0], 400)


class Counts(unittest.TestCase):
    def test_counts_routes_and_paths(self):
        T.reset()
        c = T.counts()
        self.assertEqual((c["total"], c["by_route"], c["by_path"], c["kv"]), (0, {}, {}, {}))
        ck = login("frank")  # POST /login
        calls = [("GET", "/"), ("GET", "/status/500"), ("GET", "/status/500"),
                 ("GET", "/status/abc"), ("GET", "/delay/0"), ("GET", "/bytes/3"),
                 ("GET", "/json"), ("GET", "/headers"), ("GET", "/redirect/1"),
                 ("GET", "/items"), ("GET", "/item/3"), ("GET", "/item/300"), ("GET", "/cart"),
                 ("GET", "/slow-body/0"), ("GET", "/nope"), ("DELETE", "/json"),
                 ("POST", "/checkout")]
        for m, p in calls:
            req(m, p, headers=ck)
        with self.assertRaises(Exception):
            req("GET", "/drop")
        with self.assertRaises(socket.timeout):
            req("GET", "/hang?x=1", timeout=0.3)
        c = T.counts()
        self.assertEqual(c["total"], len(calls) + 3)
        self.assertEqual(c["by_route"], {
            "POST /login": 1, "GET /": 1, "GET /status/{code}": 3, "GET /delay/{s}": 1,
            "GET /bytes/{n}": 1, "GET /json": 1, "GET /headers": 1, "GET /redirect/{n}": 1,
            "GET /items": 1, "GET /item/{id}": 2, "GET /cart": 1, "GET /slow-body/{s}": 1,
            "GET other": 1, "DELETE /json": 1, "POST /checkout": 1, "GET /drop": 1,
            "GET /hang": 1})
        self.assertEqual(c["by_path"]["GET /status/500"], 2)
        self.assertEqual(c["by_path"]["GET /status/abc"], 1)
        self.assertEqual(c["by_path"]["GET /item/300"], 1)
        self.assertEqual(c["by_path"]["GET /hang"], 1)  # no query string
        self.assertEqual(c["by_path"]["GET /nope"], 1)
        self.assertEqual(sum(c["by_path"].values()), c["total"])
        self.assertNotIn("GET /__counts", c["by_path"])
        # /__counts and /__reset are not counted; wrong methods there are 405.
        self.assertEqual(T.counts()["total"], c["total"])
        self.assertEqual(req("GET", "/__reset")[0], 405)
        self.assertEqual(req("POST", "/__counts")[0], 405)
        self.assertEqual(T.counts()["total"], c["total"])
        T.reset()
        self.assertEqual(T.counts()["total"], 0)

    def test_counts_exact_under_concurrency(self):
        T.reset()
        paths = ["/", "/json", "/status/201", "/item/9", "/nope"]
        errors = []

        def worker(k):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", T.port, timeout=10)
                for i in range(25):
                    conn.request("GET", paths[(k + i) % len(paths)])
                    conn.getresponse().read()
                conn.close()
            except Exception as e:  # reported below
                errors.append(e)

        threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        self.assertEqual(errors, [])
        c = T.counts()
        self.assertEqual(c["total"], 200)
        self.assertEqual(sum(c["by_route"].values()), 200)
        self.assertEqual(c["by_path"], {"GET " + p: 40 for p in paths})
        self.assertEqual(c["by_route"]["GET other"], 40)

    def test_many_paths_fold(self):
        """Distinct paths are bounded: past 10,000 they fold into (other)."""
        T.reset()
        n = 10050
        s = socket.create_connection(("127.0.0.1", T.port), timeout=10)
        try:
            # Pipelined on one connection to keep this quick.
            batch = 500
            for start in range(0, n, batch):
                reqs = b"".join(b"GET /p/%d HTTP/1.1\r\nHost: x\r\n\r\n" % i
                                for i in range(start, min(n, start + batch)))
                s.sendall(reqs)
                want = min(n, start + batch) - start
                got, buf = 0, b""
                while got < want:
                    chunk = s.recv(65536)
                    self.assertTrue(chunk)
                    buf += chunk
                    got = buf.count(b"HTTP/1.1 404")
        finally:
            s.close()
        c = T.counts()
        self.assertEqual(c["total"], n)
        self.assertEqual(len(c["by_path"]), 10001)
        self.assertEqual(c["by_path"]["(other)"], 50)
        T.reset()
        self.assertEqual(T.counts()["by_path"], {})


class KV(unittest.TestCase):
    def test_commands(self):
        T.reset()
        s = kv_connect()
        try:
            cmds = [(b"PING", "+PONG"), (b"SET k1 hello world", "+OK"),
                    (b"GET k1", "$hello world"), (b"GET nokey", "-ERR not found"),
                    (b"INCR n1", ":1"), (b"INCR n1", ":2"), (b"incr n1", ":3"),
                    (b"GET n1", "$3"), (b"INCR k1", "-ERR value is not an integer"),
                    (b"FOO bar", "-ERR unknown command"), (b"SET onlykey", None),
                    (b"GET", None)]
            for cmd, want in cmds:
                s.sendall(cmd + b"\r\n")
                lines, rest = kv_read_lines(s, 1)
                self.assertEqual(rest, b"")
                if want is None:
                    self.assertTrue(lines[0].startswith("-ERR"), (cmd, lines))
                else:
                    self.assertEqual(lines[0], want, cmd)
        finally:
            s.close()
        kv = T.counts()["kv"]
        self.assertEqual(kv, {"PING": 1, "SET": 2, "GET": 4, "INCR": 4, "other": 1})

    def test_pipelining(self):
        T.reset()
        s = kv_connect()
        try:
            n = 300
            payload = b"".join(b"INCR pipe\r\nPING\r\n" for _ in range(n))
            s.sendall(payload)
            lines, rest = kv_read_lines(s, 2 * n)
            self.assertEqual(rest, b"")
            base = int(lines[0][1:]) - 1
            for i in range(n):
                self.assertEqual(lines[2 * i], ":%d" % (base + i + 1))
                self.assertEqual(lines[2 * i + 1], "+PONG")
            # A command split across writes still works.
            s.sendall(b"PI")
            time.sleep(0.05)
            s.sendall(b"NG\r\n")
            self.assertEqual(kv_read_lines(s, 1)[0], ["+PONG"])
        finally:
            s.close()
        kv = T.counts()["kv"]
        self.assertEqual(kv, {"PING": n + 1, "INCR": n})

    def test_line_too_long(self):
        s = kv_connect()
        try:
            s.sendall(b"SET big " + b"v" * 5000 + b"\r\n")
            data = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            self.assertTrue(data.startswith(b"-ERR"), data)
        except ConnectionResetError:
            pass  # closed with unread input: acceptable, it was still closed
        finally:
            s.close()
        s = kv_connect()
        try:
            s.sendall(b"PING\r\n")
            self.assertEqual(kv_read_lines(s, 1)[0], ["+PONG"])
        finally:
            s.close()


class CommandLine(unittest.TestCase):
    def test_bad_values_exit_2(self):
        cases = [(["--port", "abc"], "--port expects a number 0..65535"),
                 (["--port", "70000"], "--port expects a number 0..65535"),
                 (["--port", "-1"], "--port expects a number 0..65535"),
                 (["--port"], "--port expects a number 0..65535"),
                 (["--port="], "--port expects a number 0..65535"),
                 (["--kv-port", "x"], "--kv-port expects a number 0..65535"),
                 (["--bind", "nowhere"], "--bind expects an IPv4 address"),
                 (["--frobnicate"], "unknown option")]
        for args, msg in cases:
            r = hnlib.run_hornet(["demo-target"] + args, timeout=10)
            self.assertEqual(r.returncode, 2, (args, r.stderr))
            lines = r.stderr.strip().splitlines()
            self.assertEqual(len(lines), 1, r.stderr)
            self.assertIn(msg, lines[0])
            self.assertTrue(lines[0].startswith("hornet demo-target: "), lines[0])
            self.assertEqual(r.stdout, "")

    def test_help(self):
        r = hnlib.run_hornet(["demo-target", "--help"], timeout=10)
        self.assertEqual(r.returncode, 0)
        self.assertIn("--kv-port", r.stdout)

    def test_port_in_use(self):
        r = hnlib.run_hornet(["demo-target", "--port", str(T.port)], timeout=10)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("cannot listen", r.stderr)

    def test_fixed_ports_and_clean_stop(self):
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.close()
        t = hnlib.DemoTarget(["--port", str(port), "--bind", "127.0.0.1"])
        # --port given twice: the last one wins.
        t.start()
        try:
            self.assertEqual(t.port, port)
            self.assertEqual(hnlib.http_request(t.port, "GET", "/")[0], 200)
            # Leave parked and streaming requests in flight, then SIGINT.
            socks = []
            for path in (b"/hang", b"/delay/30", b"/slow-body/30"):
                s = socket.create_connection(("127.0.0.1", t.port), timeout=5)
                s.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n\r\n")
                socks.append(s)
            k = socket.create_connection(("127.0.0.1", t.kv_port), timeout=5)
            k.sendall(b"PING\r\n")
            # In flight means received: the GET / above, these three and the PING counted.
            hnlib.wait_until(lambda: (lambda c: c["total"] >= 4 and c["kv"].get("PING", 0) >= 1)
                             (t.counts()), 30, "the target to receive the requests")
            t0 = time.monotonic()
            rc = t.stop(timeout=15, sig=signal.SIGINT)
            self.assertEqual(rc, 0)
            self.assertLess(time.monotonic() - t0, 5)
            for s in socks + [k]:
                s.close()
        finally:
            t.kill()


if __name__ == "__main__":
    unittest.main(verbosity=2)
