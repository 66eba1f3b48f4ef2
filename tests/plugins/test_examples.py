#!/usr/bin/env python3
"""End-to-end test of the example plugins in plugins/ through the real path:
`hornet -f plugins/NAME.c` compiles the source on the fly into a temporary
HORNET_CACHE_DIR, runs it headless against a `hornet demo-target`, and every
request it reports must match what the target counted.

Needs HORNET (path of the binary) and HN_SOURCE_DIR; talks to 127.0.0.1 only.
Prints one line per check and a final "N passed, N failed" line."""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import hnlib  # noqa: E402

TMP = None
CACHE = None
TARGET = None
COMPILING = re.compile(r"INFO: plugin '[^']*': compiling with ")


def setUpModule():
    global TMP, CACHE, TARGET
    TMP = tempfile.mkdtemp(prefix="hn-examples-")
    CACHE = os.path.join(TMP, "cache")
    TARGET = hnlib.DemoTarget().start()


def tearDownModule():
    try:
        rc = TARGET.stop()
        if rc != 0:
            raise hnlib.TargetError("demo-target exited with %s" % rc)
    finally:
        shutil.rmtree(TMP, ignore_errors=True)


def example(name):
    return os.path.join(hnlib.source_dir(), "plugins", name)


def run(args, timeout=60):
    """Runs hornet headless with a JSON output; returns (CompletedProcess, doc)."""
    path = os.path.join(TMP, "r-%d.json" % time.monotonic_ns())
    full = list(args) + ["--headless", "--only-summary", "--json", path]
    r = subprocess.run([hnlib.hornet_path()] + full, capture_output=True, text=True,
                       timeout=timeout, cwd=TMP, env=hnlib.clean_env(CACHE))
    hnlib.check_no_crash(r, "hornet " + " ".join(full))
    doc = None
    if os.path.exists(path):
        with open(path) as f:
            doc = json.load(f)
    return r, doc


def describe(r):
    return "exit %s\n--- stdout (tail)\n%s\n--- stderr (tail)\n%s" % (
        r.returncode, "\n".join(r.stdout.splitlines()[-25:]),
        "\n".join(r.stderr.splitlines()[-25:]))


def entries(doc):
    return {(e["type"], e["name"]): e for e in doc["entries"]}


def expect_exit(tc, r, doc):
    tc.assertIsNotNone(doc, describe(r))
    bad = doc["total"]["failures"] > 0 or len(doc["exceptions"]) > 0
    tc.assertEqual(r.returncode, 1 if bad else 0, describe(r))


class Shop(unittest.TestCase):
    """plugins/shop.c, compiled from source, 60 users for 4 s"""

    @classmethod
    def setUpClass(cls):
        TARGET.reset()
        cls.r, cls.doc = run(["-f", example("shop.c"), "-H", TARGET.url, "-u", "60", "-r", "60",
                              "-t", "4s", "--seed", "7"])
        cls.counts = TARGET.counts()

    def test_compiled_into_cache(self):
        """the .c file is compiled into HORNET_CACHE_DIR and loaded"""
        self.assertIsNotNone(self.doc, describe(self.r))
        self.assertRegex(self.r.stderr, COMPILING)
        sos = [f for f in os.listdir(CACHE) if f.startswith("shop") and f.endswith(".so")]
        self.assertEqual(len(sos), 1, os.listdir(CACHE))
        self.assertTrue(self.doc["plugin"].endswith("shop.c"), self.doc["plugin"])

    def test_exit_code(self):
        """exit code 1 exactly when something failed"""
        expect_exit(self, self.r, self.doc)
        self.assertEqual(self.doc["run"]["stop_reason"], "run time limit reached")

    def test_entries_match_target(self):
        """every shop endpoint is there and its count equals the target's"""
        e = entries(self.doc)
        routes = self.counts["by_route"]
        want = [("POST", "/login", "POST /login"), ("GET", "/items", "GET /items"),
                ("GET", "/item/[id]", "GET /item/{id}"), ("POST", "/cart", "POST /cart"),
                ("GET", "/cart", "GET /cart"), ("POST", "/checkout", "POST /checkout"),
                ("GET", "/", "GET /"), ("GET", "/json", "GET /json")]
        for method, name, route in want:
            self.assertIn((method, name), e, "no entry %s %s" % (method, name))
            self.assertEqual(e[(method, name)]["requests"], routes.get(route, 0), route)
        self.assertEqual(sorted(e), sorted((m, n) for m, n, _ in want), "unexpected entries")
        self.assertEqual(self.doc["total"]["requests"], self.counts["total"])

    def test_users_and_logins(self):
        """60 users split 45 shoppers : 15 browsers; each shopper logs in once"""
        e = entries(self.doc)
        self.assertEqual(e[("POST", "/login")]["requests"], 45)
        self.assertEqual(e[("POST", "/login")]["failures"], 0)
        self.assertEqual(max(h["users"] for h in self.doc["history"]), 60)

    def test_browser_sequence(self):
        """browsers walk home, json, items in order (HN_USER_SEQUENTIAL), about 1 per second"""
        e = entries(self.doc)
        home, js = e[("GET", "/")]["requests"], e[("GET", "/json")]["requests"]
        self.assertGreaterEqual(home - js, 0)
        self.assertLessEqual(home - js, 15)
        # 15 browsers for ~4 s at one task per second: about 60 tasks, 2/3 of them / or /json.
        self.assertGreater(home + js, 25)
        self.assertLess(home + js, 70)

    def test_failures_are_declines_only(self):
        """the only failures are declined checkouts; no exceptions"""
        for err in self.doc["errors"]:
            self.assertEqual((err["type"], err["name"]), ("POST", "/checkout"), err)
            self.assertTrue(err["message"].startswith("checkout declined: "), err)
        self.assertEqual(self.doc["exceptions"], [])
        e = entries(self.doc)
        for key, ent in e.items():
            if key != ("POST", "/checkout"):
                self.assertEqual(ent["failures"], 0, key)

    def test_cached_and_tags(self):
        """a second run uses the cache; -E cart drops the cart endpoints"""
        TARGET.reset()
        r, doc = run(["-f", example("shop.c"), "-H", TARGET.url, "-u", "8", "-r", "8", "-t",
                      "1.5s", "-E", "cart"])
        self.assertIsNotNone(doc, describe(r))
        self.assertNotRegex(r.stderr, COMPILING)
        self.assertEqual(r.returncode, 0, describe(r))
        names = set(entries(doc))
        self.assertFalse(names & {("POST", "/cart"), ("GET", "/cart"), ("POST", "/checkout")},
                         names)
        self.assertIn(("POST", "/login"), names)   # on_start runs whatever the tags
        self.assertEqual(doc["total"]["requests"], TARGET.counts()["total"])


class Hello(unittest.TestCase):
    """plugins/hello.c"""

    def test_hello(self):
        """hello.c: GET / only, counts equal the target's, exit 0"""
        TARGET.reset()
        r, doc = run(["-f", example("hello.c"), "-H", TARGET.url, "-u", "10", "-r", "10",
                      "-t", "2.5s"])
        self.assertIsNotNone(doc, describe(r))
        self.assertEqual(r.returncode, 0, describe(r))
        self.assertEqual(list(entries(doc)), [("GET", "/")])
        c = TARGET.counts()
        n = doc["entries"][0]["requests"]
        self.assertEqual(n, c["by_path"].get("GET /", 0))
        self.assertEqual(c["total"], n)
        # 10 users, first request at once, then one per 0.5-1.5 s for ~2.5 s.
        self.assertGreaterEqual(n, 20)
        self.assertLessEqual(n, 60)

    def test_recompiles_when_source_changes(self):
        """a changed .c file is compiled again, an unchanged one is not"""
        path = os.path.join(TMP, "hello_copy.c")
        shutil.copy(example("hello.c"), path)
        args = ["-f", path, "-H", TARGET.url, "-u", "1", "-r", "1", "-t", "0.5s"]
        r1, _ = run(args)
        r2, _ = run(args)
        with open(path, "a") as f:
            f.write("/* changed */\n")
        r3, _ = run(args)
        for r in (r1, r2, r3):
            self.assertEqual(r.returncode, 0, describe(r))
        self.assertRegex(r1.stderr, COMPILING)
        self.assertNotRegex(r2.stderr, COMPILING)
        self.assertRegex(r3.stderr, COMPILING)


class CustomTcp(unittest.TestCase):
    """plugins/custom_tcp.c against the demo target's KV port"""

    @classmethod
    def setUpClass(cls):
        TARGET.reset()
        cls.users = 10
        cls.r, cls.doc = run(["-f", example("custom_tcp.c"), "-H",
                              "tcp://127.0.0.1:%d" % TARGET.kv_port, "-u", str(cls.users),
                              "-r", "20", "-t", "3s"])
        cls.counts = TARGET.counts()

    def test_exit_code(self):
        """no failures, exit 0"""
        self.assertIsNotNone(self.doc, describe(self.r))
        self.assertEqual(self.doc["errors"], [])
        self.assertEqual(self.r.returncode, 0, describe(self.r))

    def test_kv_counts(self):
        """KV entries (PING, SET, GET, INCR) equal the target's kv counts"""
        e = entries(self.doc)
        kv = {name: ent["requests"] for (t, name), ent in e.items() if t == "KV"}
        self.assertEqual(set(kv), {"PING", "SET", "GET", "INCR"})
        self.assertEqual(kv, self.counts["kv"])
        self.assertEqual(kv["SET"], kv["GET"])   # every successful SET is read back
        self.assertEqual(self.counts["total"], 0, "no HTTP request expected")

    def test_tcp_connects(self):
        """one TCP connect per user, all successful"""
        e = entries(self.doc)
        self.assertIn(("TCP", "connect"), e)
        self.assertEqual(e[("TCP", "connect")]["requests"], self.users)
        self.assertEqual(e[("TCP", "connect")]["failures"], 0)
        self.assertEqual(set(t for t, _ in e), {"KV", "TCP"})

    def test_refused_port(self):
        """a closed port: connects fail with 'connection refused', exit 1, no crash"""
        import socket
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        r, doc = run(["-f", example("custom_tcp.c"), "-H", "tcp://127.0.0.1:%d" % port,
                      "-u", "2", "-r", "10", "-t", "1s"])
        self.assertIsNotNone(doc, describe(r))
        self.assertEqual(r.returncode, 1, describe(r))
        msgs = {(x["type"], x["name"], x["message"]) for x in doc["errors"]}
        self.assertIn(("TCP", "connect", "connection refused"), msgs)

    def test_bad_host_stops_test(self):
        """a non-numeric host stops the test with the plugin's reason"""
        r, doc = run(["-f", example("custom_tcp.c"), "-H", "tcp://localhost:1", "-u", "2",
                      "-r", "10", "-t", "5s"], timeout=30)
        self.assertIsNotNone(doc, describe(r))
        self.assertIn("bad host", doc["run"]["stop_reason"] or "", describe(r))
        self.assertLess(doc["run"]["duration_s"], 4)


if __name__ == "__main__":
    sys.exit(hnlib.run_checks())
