#!/usr/bin/env python3
"""Is hornet itself the bottleneck? Each worker thread's timer lateness and
CPU are measured; a sustained overload is warned about with the measured
figures, in the log, the console summary, the JSON result and the HTML
report.

- tests/plugins/cpu_hog.c (3 ms of CPU, then a 5 ms sleep, per iteration)
  with 50 users on one thread: the thread runs flat out and its timers fire
  late: warned everywhere, with the figures;
- one such user: the thread is mostly idle (its CPU well under the limit).
"""
import json
import os
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import hnlib  # noqa: E402

TMP = tempfile.mkdtemp(prefix="hn-loadgen-")
PLUGIN = hnlib.plugin_so("cpu_hog")


def run(users, name):
    out, html = os.path.join(TMP, name + ".json"), os.path.join(TMP, name + ".html")
    r = hnlib.run_hornet(["-f", PLUGIN, "-H", "http://127.0.0.1:9", "--headless",
                          "--only-summary", "--threads", "1", "-u", str(users), "-r", "100",
                          "-t", "6s", "--json", out, "--html", html], timeout=120)
    hnlib.check_no_crash(r)
    return r, json.load(open(out)), open(html, encoding="utf-8").read()


class LoadGenerator(unittest.TestCase):
    def test_overloaded_thread_is_reported(self):
        r, doc, html = run(50, "hog")
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        lg = doc["run"]["load_generator"]
        # One thread asked for 50 x 3 ms of CPU every 8 ms: flat out, and late.
        self.assertGreaterEqual(lg["max_cpu_percent"], 90, lg)
        self.assertGreaterEqual(lg["max_loop_lag_ms"], 20, lg)
        self.assertGreaterEqual(lg["overloaded_s"], 3, lg)
        self.assertIn("hornet itself was the bottleneck", lg["warning"])
        self.assertIn("ms late", lg["warning"])
        self.assertIn("Warning: hornet itself was the bottleneck", r.stdout)
        self.assertIn("WARNING: hornet itself is the bottleneck: a worker thread at", r.stderr)
        self.assertIn('"warning":"hornet itself was the bottleneck', html)

    def test_idle_thread_is_not(self):
        r, doc, _ = run(1, "one")
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        lg = doc["run"]["load_generator"]
        self.assertLess(lg["max_cpu_percent"], 70, lg)  # 3 ms of every 8 ms at most
        self.assertGreater(lg["max_cpu_percent"], 5, lg)  # but measured


if __name__ == "__main__":
    sys.exit(hnlib.run_checks())
