#!/usr/bin/env python3
"""End-to-end test of `hornet --headless` through the real binary: the demo
run with CSV and JSON output (Locust's exact CSV headers, rows, history),
exact request counts against a separate demo target, exit codes, SIGINT,
--only-summary, --csv-full-history, HORNET_* variables and config files.

Needs HORNET (path of the binary) and HN_BUILD_DIR (for the test plugins);
talks to 127.0.0.1 only; every run is bounded in time. Prints one line per
check and a final "N passed, N failed" line."""

import csv
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import hnlib  # noqa: E402

# Locust's header rows (locust/stats.py; see docs: locust.md section 2.7). They
# are written out here, not read from report/csv.c, so the test can fail.
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
CSV_FILES = {"stats": STATS_HEADER, "stats_history": HISTORY_HEADER,
             "failures": FAILURES_HEADER, "exceptions": EXCEPTIONS_HEADER}

# A console stats table starts with this header line (periodic and final).
TABLE_HEAD = re.compile(r"^Type\s+Name\s+# reqs\s+# fails\s+\|\s+Avg\s+Min\s+Max\s+Med\s+\|"
                        r"\s+req/s\s+failures/s\s*$", re.M)
LOG_LINE = re.compile(r"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] (DEBUG|INFO|WARNING|ERROR|CRITICAL): ")

TMP = None      # temp directory for every output of this script
CACHE = None    # HORNET_CACHE_DIR for every run


def setUpModule():
    global TMP, CACHE
    TMP = tempfile.mkdtemp(prefix="hn-headless-")
    CACHE = os.path.join(TMP, "cache")


def tearDownModule():
    shutil.rmtree(TMP, ignore_errors=True)


def hornet(args, timeout=40, env=None, cwd=None):
    """Runs hornet to completion in TMP (so no ./hornet.conf is picked up from
    elsewhere) with a clean environment; raises HornetCrash on a crash or a
    sanitizer report. Returns the CompletedProcess plus .wall (seconds)."""
    t0 = time.monotonic()
    r = subprocess.run([hnlib.hornet_path()] + list(args), capture_output=True, text=True,
                       timeout=timeout, cwd=cwd or TMP,
                       env=hnlib.clean_env(CACHE, **(env or {})))
    r.wall = time.monotonic() - t0
    hnlib.check_no_crash(r, "hornet " + " ".join(args))
    return r


def out(name):
    return os.path.join(TMP, name)


def read_csv(path):
    """Returns (raw bytes, list of rows)."""
    with open(path, "rb") as f:
        raw = f.read()
    return raw, list(csv.reader(io.StringIO(raw.decode("utf-8"), newline="")))


def entries_by_key(doc):
    return {(e["type"], e["name"]): e for e in doc["entries"]}


def has_failures(doc):
    return doc["total"]["failures"] > 0 or len(doc["exceptions"]) > 0


def fnum(s):
    return float(s)


def describe(r):
    return "exit %s\n--- stdout (tail)\n%s\n--- stderr (tail)\n%s" % (
        r.returncode, "\n".join(r.stdout.splitlines()[-15:]),
        "\n".join(r.stderr.splitlines()[-15:]))


class DemoRun(unittest.TestCase):
    """`hornet --demo --headless -u 50 -r 50 -t 5s --csv DIR/run --json DIR/r.json`"""

    @classmethod
    def setUpClass(cls):
        cls.prefix = out("demo/run")   # the directory does not exist yet: hornet creates it
        cls.json_path = out("demo/r.json")
        cls.r = hornet(["--demo", "--headless", "-u", "50", "-r", "50", "-t", "5s",
                        "--csv", cls.prefix, "--json", cls.json_path], timeout=40)
        cls.doc = None
        if os.path.exists(cls.json_path):
            with open(cls.json_path) as f:
                cls.doc = json.load(f)

    def csv_rows(self, kind):
        path = "%s_%s.csv" % (self.prefix, kind)
        self.assertTrue(os.path.isfile(path), "%s missing; %s" % (path, describe(self.r)))
        return read_csv(path)

    def test_exit_code_matches_failures(self):
        """exit code is 1 when requests failed (declined checkouts), else 0"""
        self.assertIn(self.r.returncode, (0, 1), describe(self.r))
        self.assertIsNotNone(self.doc, "no JSON written; " + describe(self.r))
        want = 1 if has_failures(self.doc) else 0
        self.assertEqual(self.r.returncode, want,
                         "failures=%d exceptions=%d but exit %d" % (
                             self.doc["total"]["failures"], len(self.doc["exceptions"]),
                             self.r.returncode))

    def test_run_time(self):
        """the run lasts about 5 s and the process ends soon after"""
        self.assertLess(self.r.wall, 15, describe(self.r))
        run = self.doc["run"]
        self.assertEqual(run["stop_reason"], "run time limit reached")
        self.assertEqual(run["state"], "stopped")
        self.assertAlmostEqual(run["run_time_s"], 5.0)
        self.assertGreaterEqual(run["duration_s"], 4.9)
        self.assertLess(run["duration_s"], 8.0)
        self.assertEqual(run["target_users"], 50)
        self.assertEqual(run["spawn_rate"], 50.0)
        self.assertTrue(run["host"].startswith("http://127.0.0.1:"), run["host"])

    def test_csv_headers(self):
        """the four CSV files exist with Locust's exact header rows and CRLF lines"""
        for kind, header in CSV_FILES.items():
            raw, rows = self.csv_rows(kind)
            first = raw.split(b"\r\n", 1)[0].decode()
            self.assertEqual(first, header, kind)
            self.assertTrue(raw.endswith(b"\r\n"), kind)
            self.assertEqual(raw.count(b"\n"), raw.count(b"\r\n"), kind + ": bare LF")
            width = len(header.split(","))
            for row in rows:
                self.assertEqual(len(row), width, "%s row %r" % (kind, row))

    def test_stats_csv_rows(self):
        """stats.csv: sorted shop rows incl. /item/[id], then Aggregated with the sums"""
        _, rows = self.csv_rows("stats")
        body = rows[1:]
        self.assertGreaterEqual(len(body), 2)
        agg = body[-1]
        self.assertEqual(agg[:2], ["", "Aggregated"])
        entries = body[:-1]
        names = {(r[0], r[1]) for r in entries}
        for key in [("GET", "/item/[id]"), ("POST", "/login"), ("GET", "/items"), ("GET", "/")]:
            self.assertIn(key, names)
        self.assertNotIn("Aggregated", [r[1] for r in entries])
        self.assertEqual([(r[1], r[0]) for r in entries], sorted((r[1], r[0]) for r in entries),
                         "rows not sorted by name, then method")
        self.assertEqual(int(agg[2]), sum(int(r[2]) for r in entries))
        self.assertEqual(int(agg[3]), sum(int(r[3]) for r in entries))
        self.assertGreater(int(agg[2]), 100)
        for r in body:
            count, fails = int(r[2]), int(r[3])
            self.assertLessEqual(fails, count, r)
            lo, med, avg, hi = fnum(r[6]), fnum(r[4]), fnum(r[5]), fnum(r[7])
            # Min/Max/Median are whole ms (rounded), the average is not.
            self.assertTrue(lo - 0.5 <= avg <= hi + 0.5, r)
            self.assertTrue(lo <= med <= hi, r)
            pcts = [fnum(x) for x in r[11:22]]
            self.assertEqual(pcts, sorted(pcts), "percentiles not monotonic: %r" % r)
            self.assertGreater(fnum(r[9]), 0, r)   # Requests/s (total)

    def test_history_rows(self):
        """stats_history.csv: >= 4 Aggregated rows, time and totals never go back"""
        _, rows = self.csv_rows("stats_history")
        body = rows[1:]
        self.assertTrue(all(r[3] == "Aggregated" and r[2] == "" for r in body),
                        "without --csv-full-history only Aggregated rows are expected")
        self.assertGreaterEqual(len(body), 4, rows)
        stamps = [int(r[0]) for r in body]
        self.assertEqual(stamps, sorted(stamps), "timestamps go back: %r" % stamps)
        self.assertLessEqual(stamps[-1] - stamps[0], 10)
        self.assertTrue(abs(stamps[-1] - time.time()) < 120, "timestamp is not unix seconds")
        totals = [int(r[17]) for r in body]
        self.assertEqual(totals, sorted(totals))
        self.assertIn("50", [r[1] for r in body], "user count never reached 50")
        _, stats = self.csv_rows("stats")
        self.assertEqual(totals[-1], int(stats[-1][2]), "last history total != stats.csv total")
        for r in body:
            self.assertTrue(re.fullmatch(r"\d+\.\d{6}", r[4]), "Requests/s %r" % r[4])
            if int(r[17]) == 0:
                self.assertEqual(r[6:17], ["N/A"] * 11)

    def test_history_timestamps_strictly_increase(self):
        """stats_history.csv: no two Aggregated rows share a timestamp"""
        _, rows = self.csv_rows("stats_history")
        stamps = [r[0] for r in rows[1:]]
        dups = sorted({s for s in stamps if stamps.count(s) > 1})
        self.assertEqual(dups, [], "duplicate timestamps %r" % dups)

    def test_json_matches_csv(self):
        """the JSON parses and its totals and entries equal stats.csv"""
        doc = self.doc
        self.assertIsNotNone(doc)
        self.assertEqual(doc["format"], "hornet-result")
        _, rows = self.csv_rows("stats")
        agg = rows[-1]
        t = doc["total"]
        self.assertEqual(t["name"], "Aggregated")
        self.assertEqual(t["requests"], int(agg[2]))
        self.assertEqual(t["failures"], int(agg[3]))
        self.assertAlmostEqual(t["avg_ms"], fnum(agg[5]), places=6)
        self.assertAlmostEqual(t["avg_bytes"], fnum(agg[8]), places=6)
        self.assertAlmostEqual(t["total_rps"], fnum(agg[9]), places=6)
        by_key = entries_by_key(doc)
        self.assertEqual(len(by_key), len(rows) - 2)
        for r in rows[1:-1]:
            e = by_key[(r[0], r[1])]
            self.assertEqual(e["requests"], int(r[2]), r)
            self.assertEqual(e["failures"], int(r[3]), r)
        self.assertEqual(sum(e["requests"] for e in doc["entries"]), t["requests"])
        self.assertEqual(sum(e["count"] for e in doc["errors"]), t["failures"])
        self.assertGreaterEqual(len(doc["history"]), 4)
        self.assertEqual(doc["history"][-1]["requests"], t["requests"])
        self.assertEqual({x["user_type"] for x in doc["ratios"]}, {"shopper", "browser"})

    def test_failures_csv_matches_json(self):
        """failures.csv has one row per JSON error with the same counts"""
        _, rows = self.csv_rows("failures")
        got = sorted((r[0], r[1], r[2], int(r[3])) for r in rows[1:])
        want = sorted((e["type"], e["name"], e["message"], e["count"])
                      for e in self.doc["errors"])
        self.assertEqual(got, want)

    def test_console_output(self):
        """stdout shows the periodic table and the percentiles summary"""
        so = self.r.stdout
        tables = len(TABLE_HEAD.findall(so))
        self.assertGreaterEqual(tables, 3, "expected >= 2 periodic tables + the final one:\n" + so)
        self.assertIn("Response time percentiles (ms, each within 0.4 % of the exact value)", so)
        summary = so.split("Response time percentiles (ms, each within 0.4 % of the exact value)", 1)[1]
        self.assertRegex(summary, r"Type\s+Name\s+50%\s+66%\s+75%\s+80%\s+90%\s+95%\s+98%\s+99%"
                                  r"\s+99\.9%\s+99\.99%\s+100%\s+# reqs")
        self.assertRegex(summary, r"GET\s+/item/\[id\]")
        # The stats tables' Aggregated rows: requests, then failures(ratio).
        agg = re.findall(r"^\s+Aggregated\s+(\d+)\s+\d+\(", so, re.M)
        self.assertGreaterEqual(len(agg), 3)
        self.assertEqual(int(agg[-1]), self.doc["total"]["requests"],
                         "final table's Aggregated count != JSON total")
        if self.doc["total"]["failures"]:
            self.assertIn("Error report", summary)

    def test_stderr_only_log_lines(self):
        """stderr holds only log lines, none above INFO"""
        for line in hnlib.stderr_lines(self.r.stderr):
            m = LOG_LINE.match(line)
            self.assertIsNotNone(m, "unexpected stderr line %r" % line)
            self.assertIn(m.group(1), ("DEBUG", "INFO"), line)


class CountConservation(unittest.TestCase):
    """engine_probe against a separate demo target: every request counted once"""

    @classmethod
    def setUpClass(cls):
        cls.target = hnlib.DemoTarget().start()
        try:
            cls.json_path = out("probe.json")
            cls.r = hornet(["-f", hnlib.plugin_so("engine_probe"), "-H", cls.target.url,
                            "--headless", "-u", "20", "-r", "20", "-t", "4s",
                            "--json", cls.json_path], timeout=40)
            cls.counts = cls.target.counts()
            with open(cls.json_path) as f:
                cls.doc = json.load(f)
        except BaseException:
            cls.target.kill()
            raise

    @classmethod
    def tearDownClass(cls):
        rc = cls.target.stop()
        if rc != 0:
            raise hnlib.TargetError("demo-target exited with %s" % rc)

    def req(self, method, name):
        e = entries_by_key(self.doc).get((method, name))
        return e["requests"] if e else 0

    def test_exit_code(self):
        """engine_probe has failing tasks: exit code 1"""
        self.assertEqual(self.r.returncode, 1, describe(self.r))
        self.assertEqual(self.doc["run"]["stop_reason"], "run time limit reached")

    def test_per_endpoint_counts(self):
        """per-entry request counts equal the target's by_path/by_route counts"""
        c = self.counts
        self.assertGreater(self.req("GET", "/"), 50)
        pairs = [(("GET", "/"), "by_path", "GET /"),
                 (("GET", "/status/500"), "by_path", "GET /status/500"),
                 (("GET", "/delay/[s]"), "by_route", "GET /delay/{s}"),
                 (("GET", "/item/[id]"), "by_route", "GET /item/{id}"),
                 (("GET", "/drop"), "by_path", "GET /drop"),
                 (("GET", "/hang"), "by_path", "GET /hang"),
                 (("GET", "/json"), "by_path", "GET /json")]
        for key, table, tkey in pairs:
            self.assertEqual(self.req(*key), c[table].get(tkey, 0), "%s vs %s" % (key, tkey))
            self.assertGreater(self.req(*key), 0, key)
        self.assertEqual(self.req("GET", "/never-reached"), 0)
        http = sum(e["requests"] for e in self.doc["entries"] if e["type"] != "KV")
        self.assertEqual(http, c["total"])
        self.assertEqual(c["kv"], {})

    def test_failures(self):
        """500s, drops and timeouts are failures with readable messages"""
        e = entries_by_key(self.doc)
        self.assertEqual(e[("GET", "/status/500")]["failures"],
                         e[("GET", "/status/500")]["requests"])
        self.assertEqual(e[("GET", "/")]["failures"], 0)
        self.assertEqual(e[("GET", "/hang")]["failures"], e[("GET", "/hang")]["requests"])
        msgs = {}
        for err in self.doc["errors"]:
            msgs.setdefault(err["name"], {})[err["message"]] = err["count"]
        self.assertEqual(msgs["/status/500"], {"HTTP 500 Internal Server Error":
                                               e[("GET", "/status/500")]["requests"]})
        self.assertEqual(msgs["/hang"], {"timeout after 0.3 s": e[("GET", "/hang")]["requests"]})
        self.assertIn("connection closed without a response", msgs["/drop"])
        self.assertEqual(sum(msgs["/drop"].values()), e[("GET", "/drop")]["requests"])
        self.assertEqual(self.doc["total"]["failures"],
                         sum(x["count"] for x in self.doc["errors"]))

    def test_exceptions_and_custom(self):
        """hn_exception lands in exceptions; hn_record lands as a KV entry"""
        ex = self.doc["exceptions"]
        self.assertEqual([(x["user_type"], x["task"], x["message"]) for x in ex],
                         [("probe", "boom", "boom: something went wrong")])
        self.assertEqual(ex[0]["count"], self.req("GET", "/json"))
        kv = entries_by_key(self.doc)[("KV", "sleep10ms")]
        self.assertGreater(kv["requests"], 0)
        self.assertGreaterEqual(kv["median_ms"], 9.9)

    def test_current_percentiles(self):
        """the aggregate carries the 10 s window's p50/p95/p99; entries carry cumulative ones"""
        total = self.doc["total"]
        self.assertGreater(total["cur_p99_ms"], 0)
        self.assertGreaterEqual(total["cur_p99_ms"], total["cur_p50_ms"])
        d = entries_by_key(self.doc)[("GET", "/delay/[s]")]
        self.assertNotIn("cur_p50_ms", d)
        self.assertGreaterEqual(d["percentiles"]["50"], 45, d)


class Spawning(unittest.TestCase):
    """users are started at the spawn rate"""

    def run_json(self, args):
        path = out("spawn-%d.json" % time.monotonic_ns())
        r = hornet(["--demo", "-f", hnlib.plugin_so("engine_probe"), "--headless",
                    "--only-summary", "-T", "basic", "-E", "errors", "--json", path] + args)
        self.assertEqual(r.returncode, 0, describe(r))
        with open(path) as f:
            return json.load(f)

    def test_ramp(self):
        """-u 10 -r 10: the user count climbs to 10 and no further"""
        doc = self.run_json(["-u", "10", "-r", "10", "-t", "2.5s"])
        users = [h["users"] for h in doc["history"]]
        self.assertEqual(max(users), 10, users)
        peak = users.index(10)
        self.assertEqual(users[:peak + 1], sorted(users[:peak + 1]), users)
        self.assertGreater(doc["total"]["requests"], 0)

    def test_first_user_starts_at_once(self):
        """-u 1 -r 0.5 -t 1.5s: the first user starts at once and makes requests"""
        doc = self.run_json(["-u", "1", "-r", "0.5", "-t", "1.5s"])
        self.assertEqual(max(h["users"] for h in doc["history"]), 1)
        self.assertGreater(doc["total"]["requests"], 0)


class ExitCodes(unittest.TestCase):
    """--exit-code-on-error and tags decide the exit code"""

    @classmethod
    def setUpClass(cls):
        cls.target = hnlib.DemoTarget().start()

    @classmethod
    def tearDownClass(cls):
        cls.target.stop()

    def run_probe(self, *extra):
        path = out("codes-%d.json" % time.monotonic_ns())
        r = hornet(["-f", hnlib.plugin_so("engine_probe"), "-H", self.target.url, "--headless",
                    "-u", "4", "-r", "20", "-t", "1.5s", "--only-summary", "--json", path]
                   + list(extra))
        with open(path) as f:
            return r, json.load(f)

    def test_exit_code_on_error(self):
        """--exit-code-on-error 3 gives 3 when requests failed"""
        r, doc = self.run_probe("--exit-code-on-error", "3", "-T", "errors")
        self.assertGreater(doc["total"]["failures"], 0)
        self.assertEqual(r.returncode, 3, describe(r))

    def test_exit_code_zero_without_failures(self):
        """-T basic -E errors (only tasks that succeed) gives 0, even with --exit-code-on-error 3"""
        r, doc = self.run_probe("-T", "basic", "-E", "errors", "--exit-code-on-error", "3")
        self.assertEqual(r.returncode, 0, describe(r))
        self.assertEqual(doc["total"]["failures"], 0)
        self.assertEqual(sorted(e["name"] for e in doc["entries"]), ["/", "/item/[id]"])
        self.assertEqual(doc["exceptions"], [])

    def test_tag_basic(self):
        """-T basic runs root, item and err500 (tagged basic,errors): exit 1"""
        r, doc = self.run_probe("-T", "basic")
        self.assertEqual(sorted(e["name"] for e in doc["entries"]),
                         ["/", "/item/[id]", "/status/500"])
        self.assertEqual(r.returncode, 1, describe(r))

    def test_exception_only_is_an_error(self):
        """a run whose only problem is an exception exits 1"""
        r, doc = self.run_probe("-T", "exceptions")
        self.assertEqual(doc["total"]["failures"], 0)
        self.assertGreater(len(doc["exceptions"]), 0)
        self.assertEqual(r.returncode, 1, describe(r))


class Sigint(unittest.TestCase):
    """SIGINT mid-run stops promptly and still writes every output"""

    @classmethod
    def setUpClass(cls):
        cls.prefix = out("sigint/run")
        cls.json_path = out("sigint/r.json")
        os.makedirs(out("sigint"), exist_ok=True)
        # stderr goes to a file, read while it runs for the demo target's URL.
        err_path = out("sigint/stderr")
        with open(err_path, "w") as err:
            p = subprocess.Popen([hnlib.hornet_path(), "--demo", "-f",
                                  hnlib.plugin_so("engine_probe"), "--headless", "-u", "10",
                                  "-r", "10", "-t", "60s", "--csv", cls.prefix,
                                  "--json", cls.json_path],
                                 stdout=subprocess.PIPE, stderr=err, text=True,
                                 cwd=TMP, env=hnlib.clean_env(CACHE))
        try:
            # Mid-run: the SIGINT comes once the probe's failing requests
            # (/status/500) have been served, not after a guessed 2 s.
            def served_500s():
                with open(err_path) as f:
                    m = re.search(r"demo target listening on http://127\.0\.0\.1:(\d+)", f.read())
                if m is None or p.poll() is not None:
                    return p.poll() is not None
                _, _, data = hnlib.http_request(int(m.group(1)), "GET", "/__counts")
                return json.loads(data)["by_route"].get("GET /status/{code}", 0) >= 5
            hnlib.wait_until(served_500s, 60, "the run to serve some /status/500 requests")
        except BaseException:
            p.kill()
            p.communicate()
            raise
        p.send_signal(signal.SIGINT)
        t0 = time.monotonic()
        try:
            so, _ = p.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            so, _ = p.communicate()
        cls.stop_s = time.monotonic() - t0
        with open(err_path) as f:
            se = f.read()
        cls.r = subprocess.CompletedProcess(p.args, p.returncode, so, se)
        hnlib.check_no_crash(cls.r, "hornet (SIGINT run)")

    def test_prompt_exit(self):
        """exits within 10 s of SIGINT with exit code 1 (probe has failures)"""
        self.assertLess(self.stop_s, 10)
        self.assertEqual(self.r.returncode, 1, describe(self.r))

    def test_outputs_written(self):
        """summary, CSV and JSON are written; stop_reason names SIGINT"""
        self.assertIn("Response time percentiles (ms, each within 0.4 % of the exact value)", self.r.stdout)
        for kind in CSV_FILES:
            self.assertTrue(os.path.isfile("%s_%s.csv" % (self.prefix, kind)), kind)
        with open(self.json_path) as f:
            doc = json.load(f)
        self.assertIn("SIGINT", doc["run"]["stop_reason"] or "")
        self.assertEqual(doc["run"]["state"], "stopped")
        self.assertLess(doc["run"]["duration_s"], 12)
        self.assertGreater(doc["total"]["requests"], 0)
        _, rows = read_csv(self.prefix + "_stats.csv")
        self.assertEqual(int(rows[-1][2]), doc["total"]["requests"])
        self.assertIn("SIGINT", self.r.stderr)


class OutputOptions(unittest.TestCase):
    """--only-summary and --csv-full-history"""

    def test_only_summary(self):
        """--only-summary prints the final table and percentiles, no periodic table"""
        r = hornet(["--demo", "--headless", "-u", "5", "-r", "5", "-t", "3s", "--only-summary"])
        self.assertIn(r.returncode, (0, 1), describe(r))
        self.assertEqual(len(TABLE_HEAD.findall(r.stdout)), 1, r.stdout)
        self.assertIn("Response time percentiles (ms, each within 0.4 % of the exact value)", r.stdout)
        self.assertLess(r.stdout.index("Aggregated"),
                        r.stdout.index("Response time percentiles"))

    @classmethod
    def setUpClass(cls):
        cls.prefix = out("full/run")
        cls.json_path = out("full/r.json")
        cls.r = hornet(["--demo", "-f", hnlib.plugin_so("engine_probe"), "--headless", "-u", "5",
                        "-r", "5", "-t", "3s", "--only-summary", "--csv", cls.prefix,
                        "--csv-full-history", "--json", cls.json_path])

    def test_csv_full_history(self):
        """--csv-full-history adds one row per entry each second, Aggregated last"""
        self.assertEqual(self.r.returncode, 1, describe(self.r))
        raw, rows = read_csv(self.prefix + "_stats_history.csv")
        self.assertEqual(raw.split(b"\r\n", 1)[0].decode(), HISTORY_HEADER)
        body = rows[1:]
        names = {(x[2], x[3]) for x in body}
        for key in [("GET", "/"), ("GET", "/item/[id]"), ("GET", "/status/500"),
                    ("KV", "sleep10ms"), ("", "Aggregated")]:
            self.assertIn(key, names)
        groups = {}
        for x in body:
            groups.setdefault(x[0], []).append(x)
        full = [g for g in groups.values() if len(g) > 1]
        self.assertGreaterEqual(len(full), 2, "no second has per-entry rows")
        for g in groups.values():
            self.assertEqual(g[-1][3], "Aggregated", "Aggregated is not last in its second")
            self.assertEqual(len(g), len({(x[2], x[3]) for x in g}), "a second repeats a row")

    def test_history_ends_with_final_totals(self):
        """the last history rows (and JSON history point) carry the final totals"""
        _, rows = read_csv(self.prefix + "_stats_history.csv")
        _, stats = read_csv(self.prefix + "_stats.csv")
        final = {(x[0], x[1]): int(x[2]) for x in stats[1:]}
        last = {}
        for x in rows[1:]:
            last[(x[2], x[3])] = int(x[17])
        self.assertEqual(last, final, "last history totals != stats.csv")
        with open(self.json_path) as f:
            doc = json.load(f)
        self.assertEqual(doc["history"][-1]["requests"], doc["total"]["requests"])


class Configuration(unittest.TestCase):
    """HORNET_* variables, --config FILE and ./hornet.conf configure a run"""

    def run_json(self, args, env=None, cwd=None):
        path = out("cfg-%d.json" % time.monotonic_ns())
        r = hornet(["--demo", "--only-summary", "--json", path] + list(args), env=env, cwd=cwd)
        self.assertIn(r.returncode, (0, 1), describe(r))
        with open(path) as f:
            return json.load(f)

    def peak_users(self, doc):
        return max(h["users"] for h in doc["history"])

    def test_env(self):
        """HORNET_USERS=3 and friends set users, rate, run time and headless"""
        doc = self.run_json([], env={"HORNET_USERS": "3", "HORNET_SPAWN_RATE": "30",
                                     "HORNET_RUN_TIME": "1.5s", "HORNET_HEADLESS": "true"})
        self.assertEqual(doc["run"]["target_users"], 3)
        self.assertEqual(doc["run"]["spawn_rate"], 30.0)
        self.assertAlmostEqual(doc["run"]["run_time_s"], 1.5)
        self.assertEqual(self.peak_users(doc), 3)

    def test_config_file(self):
        """--config FILE sets options; the command line wins over it and over env"""
        conf = out("run.conf")
        with open(conf, "w") as f:
            f.write("# a comment\nusers = 4\nspawn-rate = 40  # trailing comment\n"
                    "headless = true\nrun-time = 1s\n")
        doc = self.run_json(["--config", conf])
        self.assertEqual(doc["run"]["target_users"], 4)
        self.assertEqual(doc["run"]["spawn_rate"], 40.0)
        self.assertAlmostEqual(doc["run"]["run_time_s"], 1.0)
        doc = self.run_json(["--config", conf, "-u", "2"], env={"HORNET_USERS": "7"})
        self.assertEqual(doc["run"]["target_users"], 2)
        doc = self.run_json(["--config", conf], env={"HORNET_USERS": "7"})
        self.assertEqual(doc["run"]["target_users"], 7, "environment must win over the file")

    def test_default_config_in_cwd(self):
        """./hornet.conf in the working directory is read"""
        d = out("cwd")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "hornet.conf"), "w") as f:
            f.write("users = 6\nspawn-rate = 60\nheadless = true\nrun-time = 1s\n")
        doc = self.run_json([], cwd=d)
        self.assertEqual(doc["run"]["target_users"], 6)


class DashboardLifecycle(unittest.TestCase):
    """--autostart, -t and --autoquit with the dashboard up"""

    def test_autostart_run_time_autoquit(self):
        """--autostart -t 2s --autoquit 1: runs with the page up, stops, quits by itself"""
        path = out("autoquit.json")
        r = hornet(["--demo", "--web-port", "0", "--autostart", "-u", "3", "-r", "3", "-t", "2s",
                    "--autoquit", "1", "--json", path], timeout=30)
        self.assertIn(r.returncode, (0, 1), describe(r))
        self.assertRegex(r.stdout.splitlines()[0], r"^hornet dashboard: http://127\.0\.0\.1:\d+/$")
        self.assertLess(r.wall, 12, describe(r))
        with open(path) as f:
            doc = json.load(f)
        self.assertEqual(doc["run"]["stop_reason"], "run time limit reached")
        self.assertGreater(doc["total"]["requests"], 0)
        self.assertIn("Response time percentiles", r.stdout)


if __name__ == "__main__":
    sys.exit(hnlib.run_checks())
