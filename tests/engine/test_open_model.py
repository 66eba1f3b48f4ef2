#!/usr/bin/env python3
"""The open model (--arrival-rate) against a target of this test's own that
freezes for a while in the middle of the run.

- iterations start at the asked rate (rate x duration, within 1 %), and go
  on arriving while the target is frozen;
- the freeze shows in the percentiles: latency counts from each
  iteration's intended start (no coordinated omission);
- a pool too small gives counted dropped iterations (and fails a
  dropped_iterations==0 threshold with exit 3);
- the target's own count equals hornet's;
- the rate is as exact when a master splits it over 3 worker processes;
- PREFIX_open_model.csv holds the figures.
"""
import asyncio
import csv
import json
import os
import sys
import tempfile
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import hnlib  # noqa: E402

TMP = tempfile.mkdtemp(prefix="hn-open-")
PLUGIN = hnlib.plugin_so("open_get")


class FreezingTarget(hnlib.LoopbackTarget):
    """Answers at once, except that from freeze_at to freeze_at + freeze_s
    seconds after its first request it answers nothing: requests arriving
    then (or waiting) are answered when the freeze ends. Counts every
    request on arrival."""

    def __init__(self, freeze_at=None, freeze_s=0.0):
        super().__init__()
        self.freeze_at, self.freeze_s = freeze_at, freeze_s
        self.arrivals = []  # seconds since the first request
        self.t0 = None

    async def serve(self, head):
        now = time.monotonic()
        if self.t0 is None:
            self.t0 = now
        t = now - self.t0
        self.arrivals.append(t)
        if self.freeze_at is not None and self.freeze_at <= t < self.freeze_at + self.freeze_s:
            await asyncio.sleep(self.t0 + self.freeze_at + self.freeze_s - now)


def run(target, args, timeout=120):
    out = os.path.join(TMP, "r-%d.json" % time.monotonic_ns())
    r = hnlib.run_hornet(["-f", PLUGIN, "-H", target.url, "--headless", "--only-summary",
                          "--json", out] + list(args), timeout=timeout, env=hnlib.clean_env())
    hnlib.check_no_crash(r)
    doc = json.load(open(out)) if os.path.exists(out) else None
    return r, doc


class OpenModel(unittest.TestCase):
    def test_rate_is_exact(self):
        with FreezingTarget() as t:
            r, doc = run(t, ["--arrival-rate", "40", "-u", "100", "-t", "5s"])
            self.assertEqual(r.returncode, 0, r.stderr[-2000:])
            o = doc["run"]["open"]
            want = 40 * doc["run"]["duration_s"]
            self.assertLessEqual(abs(o["iterations"] - want), 0.01 * want + 1, o)
            self.assertEqual(o["dropped_iterations"], 0)
            self.assertEqual(doc["total"]["requests"], o["iterations"])
            self.assertEqual(len(t.arrivals), doc["total"]["requests"])

    def test_rate_is_exact_over_three_workers(self):
        with FreezingTarget() as t:
            prefix = os.path.join(TMP, "split")
            r, doc = run(t, ["--arrival-rate", "45", "-u", "30", "-t", "5s",
                             "--processes", "3", "--expect-workers", "3", "--csv", prefix])
            self.assertEqual(r.returncode, 0, r.stderr[-2000:])
            o = doc["run"]["open"]
            # Arrivals run until the stop begins; the master's stop then
            # waits for its workers' last reports, which adds no arrival.
            # Each worker's first arrival is at once: at most one more each.
            self.assertLessEqual(abs(o["achieved_rate"] - 45), 0.01 * 45 + 3 / 5, o)
            self.assertLessEqual(abs(o["iterations"] - 45 * 5), 0.01 * 45 * 5 + 3, o)
            self.assertEqual(o["dropped_iterations"], 0)
            self.assertEqual(o["arrival_rate"], 45)
            self.assertGreater(o["start_lag_ms"]["max"], 0, o)  # it came over the wire
            self.assertEqual(doc["total"]["requests"], o["iterations"])
            self.assertEqual(len(t.arrivals), doc["total"]["requests"])
            # Every worker took its share.
            self.assertEqual(len(doc["workers"]), 3, doc["workers"])
            with open(prefix + "_open_model.csv", newline="") as f:
                rows = list(csv.DictReader(f))
            self.assertEqual(len(rows), 1, rows)
            self.assertEqual(float(rows[0]["Arrival Rate"]), 45)
            self.assertEqual(int(rows[0]["Iterations"]), o["iterations"])
            self.assertEqual(int(rows[0]["Dropped Iterations"]), 0)

    def test_freeze_shows_in_the_percentiles(self):
        with FreezingTarget(freeze_at=2.0, freeze_s=1.5) as t:
            r, doc = run(t, ["--arrival-rate", "40", "-u", "200", "-t", "6s"])
            self.assertEqual(r.returncode, 0, r.stderr[-2000:])
            o = doc["run"]["open"]
            want = 40 * doc["run"]["duration_s"]
            self.assertLessEqual(abs(o["iterations"] - want), 0.01 * want + 1, o)
            self.assertEqual(o["dropped_iterations"], 0)
            # Arrivals went on during the freeze, at the asked rate.
            frozen = [a for a in t.arrivals if 2.0 <= a < 3.5]
            self.assertGreaterEqual(len(frozen), 0.9 * 40 * 1.5, len(frozen))
            # A quarter of the requests waited up to 1.5 s: p95 shows it.
            p95 = doc["total"]["percentiles"]["95"]
            self.assertGreaterEqual(p95, 1000, doc["total"]["percentiles"])
            self.assertGreaterEqual(doc["total"]["max_ms"], 1300)
            # The pool grew to serve the frozen requests, within -u.
            self.assertGreater(max(p["users"] for p in doc["history"]), 40)
            self.assertEqual(len(t.arrivals), doc["total"]["requests"])

    def test_small_pool_drops_iterations(self):
        with FreezingTarget(freeze_at=1.0, freeze_s=2.0) as t:
            r, doc = run(t, ["--arrival-rate", "40", "-u", "5", "-t", "5s",
                             "--threshold", "dropped_iterations==0"])
            self.assertEqual(r.returncode, 3, r.stderr[-2000:])
            o = doc["run"]["open"]
            self.assertGreater(o["dropped_iterations"], 40, o)
            want = 40 * doc["run"]["duration_s"]
            total = o["iterations"] + o["dropped_iterations"]
            self.assertLessEqual(abs(total - want), 0.01 * want + 1, o)
            self.assertEqual(doc["thresholds"][0]["verdict"], "fail")
            self.assertEqual(doc["thresholds"][0]["value"], o["dropped_iterations"])
            self.assertEqual(len(t.arrivals), doc["total"]["requests"])
            self.assertIn("dropped", r.stdout)

    def test_stages_give_the_rate(self):
        with FreezingTarget() as t:
            r, doc = run(t, ["--arrival-rate", "1", "-u", "50", "--stages", "2s:20, 2s:20"])
            self.assertEqual(r.returncode, 0, r.stderr[-2000:])
            self.assertEqual(doc["run"]["stop_reason"], "load profile complete")
            o = doc["run"]["open"]
            # A ramp from 0 to 20/s over 2 s (20 iterations), then 2 s at 20/s (40).
            self.assertLessEqual(abs(o["iterations"] - 60), 2, o)
            self.assertEqual(o["arrival_rate"], 20)
            self.assertEqual(len(t.arrivals), doc["total"]["requests"])

    def test_api_and_refusals(self):
        with FreezingTarget() as t:
            with hnlib.Dashboard(["-f", PLUGIN, "-H", t.url],
                                 os.path.join(TMP, "dash.log")) as d:
                call = d.call
                for body, needle in [({"arrival_rate": 0, "users": 5}, "arrival_rate must be"),
                                     ({"arrival_rate": "x", "users": 5}, "arrival_rate must be"),
                                     ({"arrival_rate": 5}, "users is required"),
                                     ({"arrival_rate": 5, "users": 5, "spawn_rate": 1},
                                      "give either spawn_rate or arrival_rate")]:
                    st, e = call("POST", "/api/swarm", body)
                    self.assertEqual(st, 400, body)
                    self.assertIn(needle, e["error"], body)
                st, _ = call("POST", "/api/swarm", {"arrival_rate": 25, "users": 20})
                self.assertEqual(st, 200)
                s = hnlib.wait_until(lambda: (lambda s: s if s["open"] and
                                              s["open"]["iterations"] >= 50 else None)(
                    call("GET", "/api/stats")[1]), 30, "50 iterations")
                self.assertEqual(s["open"]["arrival_rate"], 25)
                for path, body in [("/api/resize", {"users": 3}),
                                   ("/api/swarm", {"users": 3, "spawn_rate": 1})]:
                    st, e = call("POST", path, body)
                    self.assertEqual(st, 409, path)
                    self.assertIn("an arrival rate (the open model) drives this run", e["error"])

    def test_bad_input(self):
        for args, needle in [(["--arrival-rate", "0"], "--arrival-rate expects iterations per"),
                             (["--arrival-rate", "fast"], "--arrival-rate expects"),
                             (["--arrival-rate", "5", "--worker"], "belong on the master"),
                             (["--arrival-rate", "5", "-u", "0"], "users is the most users")]:
            with self.subTest(args=args):
                r = hnlib.run_hornet(["-f", PLUGIN, "-H", "http://127.0.0.1:9", "--headless",
                                      "-t", "1s"] + args, timeout=30)
                hnlib.check_no_crash(r)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn(needle, r.stderr)


if __name__ == "__main__":
    sys.exit(hnlib.run_checks())
