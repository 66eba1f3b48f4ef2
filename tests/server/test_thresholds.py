#!/usr/bin/env python3
"""Thresholds end to end: the real binary against its demo target.

- exit codes 0 / 1 / 2 / 3 and their order (2 > 3 > 1);
- an abort threshold ends the run early, with the reason;
- --threshold from the command line, hornet.conf and HORNET_THRESHOLD;
- the JUnit file read by an independent parser (Debian's python3-junitparser),
  the JSON result and the console summary agree;
- POST /api/swarm {thresholds}: judged live in /api/stats, bad ones are 400s;
- a master with a local worker process judges the cluster's numbers.
"""
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import hnlib  # noqa: E402

TMP = tempfile.mkdtemp(prefix="hn-thresholds-")
CACHE = os.path.join(TMP, "cache")
PROBE = hnlib.plugin_so("engine_probe")
# The delay task only: every request succeeds and takes about 50 ms.
CLEAN = ["--demo", "-f", PROBE, "-T", "delay", "--headless", "-u", "4", "-r", "50",
         "--only-summary"]
# The basic tasks: some requests fail (GET /status/500), all are fast.
FAILING = ["--demo", "-f", PROBE, "-T", "basic", "--headless", "-u", "4", "-r", "50",
           "--only-summary"]


def hornet(args, timeout=120, env=None, cwd=TMP):
    r = subprocess.run([hnlib.hornet_path()] + list(args), capture_output=True, text=True,
                       timeout=timeout, cwd=cwd, env=hnlib.clean_env(CACHE, **(env or {})))
    hnlib.check_no_crash(r, "hornet " + " ".join(args))
    return r


def out(name):
    return os.path.join(TMP, name)


class ExitCodes(unittest.TestCase):
    def test_passing_thresholds_exit_0(self):
        r = hornet(CLEAN + ["-t", "2s", "--threshold", "p95<5s", "--threshold", "failures==0",
                            "--json", out("pass.json")])
        self.assertEqual(r.returncode, 0, r.stdout[-2000:] + r.stderr[-2000:])
        doc = json.load(open(out("pass.json")))
        self.assertTrue(doc["thresholds_passed"])
        self.assertEqual([t["verdict"] for t in doc["thresholds"]], ["pass", "pass"])
        self.assertEqual(doc["thresholds"][0]["unit"], "ms")
        self.assertGreaterEqual(doc["thresholds"][0]["value"], 45)  # the 50 ms delay
        self.assertIn("Thresholds:", r.stdout)
        self.assertRegex(r.stdout, r"pass\s+p95<5s\s+\d")

    def test_broken_threshold_exit_3(self):
        r = hornet(CLEAN + ["-t", "2s", "--threshold", "p95<10ms", "--json", out("fail.json")])
        self.assertEqual(r.returncode, 3, r.stderr[-2000:])
        doc = json.load(open(out("fail.json")))
        self.assertFalse(doc["thresholds_passed"])
        t = doc["thresholds"][0]
        self.assertEqual((t["expr"], t["verdict"]), ("p95<10ms", "fail"))
        self.assertGreaterEqual(t["value"], 45)
        self.assertRegex(r.stdout, r"FAIL\s+p95<10ms\s+\d+(\.\d+)? ms")

    def test_request_failures_exit_1(self):
        r = hornet(FAILING + ["-t", "2s", "--threshold", "p95<5s"])
        self.assertEqual(r.returncode, 1, r.stderr[-2000:])

    def test_threshold_wins_over_failures(self):
        r = hornet(FAILING + ["-t", "2s", "--threshold", "failures==0"])
        self.assertEqual(r.returncode, 3, r.stderr[-2000:])

    def test_lost_output_wins_over_threshold(self):
        r = hornet(CLEAN + ["-t", "1s", "--threshold", "p95<1ms", "--junit",
                            "/proc/hornet-no-such-dir/x.xml"])
        self.assertEqual(r.returncode, 2, r.stderr[-2000:])
        self.assertIn("hornet-no-such-dir", r.stderr)

    def test_command_line_expressions_are_whole(self):
        """on argv one --threshold is one expression: names keep commas and brackets"""
        r = hornet(CLEAN + ["-t", "1s", "--threshold", "GET /item/[id]?a=1,2:requests==0",
                            "--threshold", "[api] login:failures==0", "--json",
                            out("whole.json")])
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        doc = json.load(open(out("whole.json")))
        self.assertEqual([t["expr"] for t in doc["thresholds"]],
                         ["GET /item/[id]?a=1,2:requests==0", "[api] login:failures==0"])

    def test_malformed_expression_exit_2(self):
        for expr, needle in [("p97<1s", "unknown metric 'p97'"),
                             ("p95<fast", "expected a number"),
                             ("p95", "expected an operator"),
                             ("fail_ratio<150%", "at most 100%"),
                             ("p95<1s:abort=soon", ":abort=GRACE")]:
            with self.subTest(expr=expr):
                r = hornet(CLEAN + ["-t", "1s", "--threshold", expr], timeout=30)
                self.assertEqual(r.returncode, 2)
                lines = hnlib.stderr_lines(r.stderr)
                self.assertEqual(len(lines), 1, r.stderr)
                self.assertIn("--threshold '%s'" % expr, lines[0])
                self.assertIn(needle, lines[0])

    def test_worker_refuses_thresholds(self):
        r = hornet(["--worker", "--threshold", "p95<1s"], timeout=30)
        self.assertEqual(r.returncode, 2)
        self.assertIn("--threshold", r.stderr)
        self.assertIn("belong on the master", r.stderr)


class Sources(unittest.TestCase):
    def test_config_file_and_environment(self):
        d = tempfile.mkdtemp(dir=TMP)
        with open(os.path.join(d, "hornet.conf"), "w") as f:
            f.write("threshold = p95<5s, 'failures==0'\n")
        r = hornet(CLEAN + ["-t", "1s", "--json", "r.json"], cwd=d)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        doc = json.load(open(os.path.join(d, "r.json")))
        self.assertEqual([t["expr"] for t in doc["thresholds"]], ["p95<5s", "failures==0"])
        # The environment replaces the file's list; argv replaces both.
        r = hornet(CLEAN + ["-t", "1s", "--json", "r.json"], cwd=d,
                   env={"HORNET_THRESHOLD": "requests>1000000"})
        self.assertEqual(r.returncode, 3, r.stderr[-2000:])
        doc = json.load(open(os.path.join(d, "r.json")))
        self.assertEqual([t["expr"] for t in doc["thresholds"]], ["requests>1000000"])
        r = hornet(CLEAN + ["-t", "1s", "--json", "r.json", "--threshold", "requests>0"], cwd=d,
                   env={"HORNET_THRESHOLD": "requests>1000000"})
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        r = hornet(CLEAN + ["-t", "1s"], cwd=d, env={"HORNET_THRESHOLD": "p95<<1"}, timeout=30)
        self.assertEqual(r.returncode, 2)
        self.assertIn("HORNET_THRESHOLD", r.stderr)


class Abort(unittest.TestCase):
    def test_abort_ends_the_run_early(self):
        t0 = time.monotonic()
        r = hornet(CLEAN + ["-t", "60s", "--threshold", "p95<10ms:abort=1s", "--threshold",
                            "requests>0", "--json", out("abort.json")])
        took = time.monotonic() - t0
        self.assertEqual(r.returncode, 3, r.stderr[-2000:])
        self.assertLess(took, 45, "the run went on after the threshold broke")
        doc = json.load(open(out("abort.json")))
        self.assertEqual(doc["run"]["stop_reason"], "threshold broken: p95<10ms:abort=1s")
        self.assertGreaterEqual(doc["run"]["duration_s"], 1.0)  # not before the grace
        self.assertIn("threshold broken", r.stderr)
        self.assertEqual([t["verdict"] for t in doc["thresholds"]], ["fail", "pass"])
        self.assertTrue(doc["thresholds"][0]["abort"])

    def test_abort_waits_for_its_grace(self):
        r = hornet(CLEAN + ["-t", "2s", "--threshold", "p95<10ms:abort=1h", "--json",
                            out("grace.json")])
        self.assertEqual(r.returncode, 3, r.stderr[-2000:])
        doc = json.load(open(out("grace.json")))
        self.assertEqual(doc["run"]["stop_reason"], "run time limit reached")


JUNIT_CHECK = r"""
import json, sys
from junitparser import JUnitXml, Failure
xml = JUnitXml.fromfile(sys.argv[1])
cases = []
for suite in xml:
    for case in suite:
        fails = [r for r in case.result if isinstance(r, Failure)]
        cases.append({"suite": suite.name, "classname": case.classname, "name": case.name,
                      "failed": bool(fails),
                      "message": fails[0].message if fails else None,
                      "text": fails[0].text if fails else None})
print(json.dumps({"tests": xml.tests, "failures": xml.failures, "cases": cases}))
"""


class JUnit(unittest.TestCase):
    def test_junit_read_by_junitparser(self):
        if not os.path.exists("/usr/bin/python3"):
            self.skipTest("Debian's python3 is not installed")
        path = out("junit/report.xml")  # the directory is created
        r = hornet(FAILING + ["-t", "2s", "--threshold", "p95<5s", "--threshold",
                              "GET /status/500:failures==0", "--threshold",
                              "GET /:p50<1ms", "--threshold", "/nope:p99<1s",
                              "--junit", path, "--json", out("junit.json")])
        self.assertEqual(r.returncode, 3, r.stderr[-2000:])
        p = subprocess.run(["/usr/bin/python3", "-c", JUNIT_CHECK, path], capture_output=True,
                           text=True, timeout=60)
        if "No module named 'junitparser'" in p.stderr:
            self.fail("python3-junitparser is missing: packaging/deps.sh test installs it")
        self.assertEqual(p.returncode, 0, p.stderr)
        got = json.loads(p.stdout)
        doc = json.load(open(out("junit.json")))
        by_expr = {t["expr"]: t for t in doc["thresholds"]}
        cases = {c["name"]: c for c in got["cases"]}
        # One testcase per threshold, named by it; failed exactly when it failed.
        for expr, t in by_expr.items():
            self.assertIn(expr, cases)
            self.assertEqual(cases[expr]["classname"], "hornet.thresholds")
            self.assertEqual(cases[expr]["failed"], t["verdict"] != "pass", expr)
        self.assertFalse(cases["p95<5s"]["failed"])
        self.assertTrue(cases["GET /status/500:failures==0"]["failed"])
        self.assertRegex(cases["GET /status/500:failures==0"]["message"], r"^failures = \d+$")
        self.assertEqual(cases["/nope:p99<1s"]["message"], "no data")
        # One per endpoint with failures, with its counts and messages.
        failing = [e for e in doc["entries"] if e["failures"] > 0]
        self.assertTrue(failing)
        for e in failing:
            name = "%s %s" % (e["type"], e["name"])
            self.assertIn(name, cases)
            c = cases[name]
            self.assertEqual(c["classname"], "hornet.requests")
            self.assertEqual(c["message"], "%d of %d requests failed" % (e["failures"],
                                                                         e["requests"]))
            self.assertIn("HTTP 500 Internal Server Error", c["text"])
        n_thr = len(by_expr)
        n_failed_thr = sum(t["verdict"] != "pass" for t in by_expr.values())
        self.assertEqual(got["tests"], n_thr + len(failing))
        self.assertEqual(got["failures"], n_failed_thr + len(failing))


class Api(unittest.TestCase):
    def test_swarm_with_thresholds(self):
        with hnlib.Dashboard(["--demo", "-f", PROBE, "-T", "delay", "--threshold",
                              "requests>=0"], out("api.log"), cwd=TMP,
                             env=hnlib.clean_env(CACHE)) as d:
            call = d.call
            # The command line's thresholds show before any run.
            st, s = call("GET", "/api/stats")
            self.assertEqual(st, 200)
            self.assertEqual([(t["expr"], t["verdict"]) for t in s["thresholds"]],
                             [("requests>=0", "pass")])
            for bad, needle in [(["p97<1s"], "thresholds[0]: unknown metric 'p97'"),
                                (["p95<1s", 5], "thresholds[1] must be a string"),
                                ("p95<1s", "thresholds must be an array"),
                                (["p95<1s", "GET /x:p95"], "thresholds[1]: "),
                                (["p95<1s\u0000x"], "not allowed")]:
                st, e = call("POST", "/api/swarm", {"users": 1, "spawn_rate": 1,
                                                    "thresholds": bad})
                self.assertEqual(st, 400, bad)
                self.assertIn(needle, json.dumps(e), bad)
            st, s = call("GET", "/api/state")
            self.assertEqual(s["state"], "ready")  # nothing started
            st, _ = call("POST", "/api/swarm", {"users": 3, "spawn_rate": 30,
                                                "thresholds": ["p95<10ms", "p95<5s"]})
            self.assertEqual(st, 200)

            def judged():
                _, s = call("GET", "/api/stats")
                ts = s["thresholds"]
                return ts if [t["verdict"] for t in ts] == ["fail", "pass"] else None
            ts = hnlib.wait_until(judged, 60, "both thresholds judged on the run's requests")
            self.assertEqual([t["expr"] for t in ts], ["p95<10ms", "p95<5s"])
            self.assertGreaterEqual(ts[0]["value"], 45)
            # An empty list clears them for the next run.
            st, _ = call("POST", "/api/stop", {})
            self.assertEqual(st, 200)
            hnlib.wait_until(lambda: call("GET", "/api/state")[1]["state"] == "stopped", 60,
                             "the run to stop")
            st, _ = call("POST", "/api/swarm", {"users": 1, "spawn_rate": 1, "thresholds": []})
            self.assertEqual(st, 200)
            hnlib.wait_until(lambda: call("GET", "/api/stats")[1]["thresholds"] == [], 30,
                             "the thresholds to be cleared")


class Distributed(unittest.TestCase):
    def test_master_judges_the_cluster(self):
        with hnlib.DemoTarget() as target:
            r = hornet(["--processes", "1", "-f", PROBE, "-H", target.url, "-T", "delay",
                        "--headless", "-u", "4", "-r", "50", "-t", "3s", "--only-summary",
                        "--threshold", "requests>0", "--threshold", "p95<10ms",
                        "--json", out("dist.json")], timeout=180)
        self.assertEqual(r.returncode, 3, r.stderr[-3000:])
        doc = json.load(open(out("dist.json")))
        self.assertTrue(doc["workers"])
        self.assertEqual([t["verdict"] for t in doc["thresholds"]], ["pass", "fail"])
        self.assertEqual(doc["thresholds"][0]["value"], doc["total"]["requests"])
        self.assertEqual(doc["total"]["failures"], 0)
        self.assertGreaterEqual(doc["thresholds"][1]["value"], 45)


if __name__ == "__main__":
    sys.exit(hnlib.run_checks())
