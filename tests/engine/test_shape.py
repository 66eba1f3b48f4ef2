#!/usr/bin/env python3
"""Load shapes in code (ABI 1.1, Locust's LoadTestShape) through the binary.

tests/plugins/shape_steps.c wants 3 users, then 6 from 1.5 s, then 2 from
3 s, and is done at 4.5 s. Shown: the users follow its answers and the run
ends when it says so (headless, and on a master with two local workers);
the API refuses a resize (and stages) with the reason while the shape
drives; a step hornet cannot take ends the run with a clear log line. A
shape may drive the open model instead (an arrival rate), in one process
and on a master, whose workers each take a share of the rate.
"""
import json
import os
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import hnlib  # noqa: E402

TMP = tempfile.mkdtemp(prefix="hn-shape-")
PLUGIN = hnlib.plugin_so("shape_steps")


def users_by_time(history, start):
    return [(p["time"] - start, p["users"]) for p in history]


class Shape(unittest.TestCase):
    def check_follows(self, doc, peak_lag=0):
        """peak_lag: a master's users are what its workers last reported
        (each second), so its history may see the 1.5 s peak part-way."""
        self.assertEqual(doc["run"]["stop_reason"], "load shape finished")
        self.assertTrue(doc["run"]["shape"])
        self.assertGreaterEqual(doc["run"]["duration_s"], 4.4)
        self.assertLess(doc["run"]["duration_s"], 8)
        users = [u for _, u in users_by_time(doc["history"], doc["run"]["start_time"]) if u]
        peak = max(users)
        self.assertTrue(6 - peak_lag <= peak <= 6, users)
        top = users.index(peak)
        # 3 (maybe seen mid-spawn at first), then the peak, then 2.
        self.assertTrue(users[0] <= 3 and 3 in users[:top], users)
        self.assertIn(2, users[top:], users)

    def test_headless(self):
        with hnlib.DemoTarget() as target:
            out = os.path.join(TMP, "h.json")
            r = hnlib.run_hornet(["-f", PLUGIN, "-H", target.url, "--headless", "--only-summary",
                                  "-u", "50", "--json", out], timeout=120)
            hnlib.check_no_crash(r)
            self.assertEqual(r.returncode, 0, r.stderr[-2000:])
            doc = json.load(open(out))
            self.check_follows(doc)
            self.assertEqual(doc["total"]["requests"], target.counts()["by_route"]["GET /"])

    def test_master_with_workers(self):
        with hnlib.DemoTarget() as target:
            out = os.path.join(TMP, "d.json")
            r = hnlib.run_hornet(["--processes", "2", "-f", PLUGIN, "-H", target.url,
                                  "--headless", "--only-summary", "--json", out], timeout=180)
            hnlib.check_no_crash(r)
            self.assertEqual(r.returncode, 0, r.stderr[-3000:])
            doc = json.load(open(out))
            self.check_follows(doc, peak_lag=2)
            self.assertEqual(len(doc["workers"]), 2)
            self.assertEqual(doc["total"]["requests"], target.counts()["by_route"]["GET /"])

    def test_stages_refused_with_a_shape(self):
        r = hnlib.run_hornet(["-f", PLUGIN, "-H", "http://127.0.0.1:9", "--headless",
                              "--stages", "1s:1"], timeout=30)
        hnlib.check_no_crash(r)
        self.assertEqual(r.returncode, 2)
        self.assertIn("the plugin's load shape drives every run: stages cannot", r.stderr)

    def test_invalid_step_ends_the_run(self):
        with hnlib.DemoTarget() as target:
            out = os.path.join(TMP, "bad.json")
            r = hnlib.run_hornet(["-f", PLUGIN, "-H", target.url, "--headless", "--only-summary",
                                  "--json", out], timeout=120,
                                 env=hnlib.clean_env(None, HORNET_TEST_SHAPE="invalid"))
            hnlib.check_no_crash(r)
            doc = json.load(open(out))
            self.assertEqual(doc["run"]["stop_reason"], "load shape returned an invalid step")
            self.assertIn("the load shape returned 0 with 0 users at 0 users/s", r.stderr)

    def check_rate(self, doc, slack):
        self.assertEqual(doc["run"]["stop_reason"], "load shape finished")
        o = doc["run"]["open"]
        self.assertIsNotNone(o)
        self.assertEqual(o["arrival_rate"], 40)
        self.assertEqual(o["dropped_iterations"], 0)
        # 20/s for 2 s, then 40/s for 2 s.
        self.assertLessEqual(abs(o["iterations"] - 120), slack, o)

    def test_arrival_rate(self):
        with hnlib.DemoTarget() as target:
            out = os.path.join(TMP, "rate.json")
            r = hnlib.run_hornet(["-f", PLUGIN, "-H", target.url, "--headless", "--only-summary",
                                  "--json", out], timeout=120,
                                 env=hnlib.clean_env(None, HORNET_TEST_SHAPE="rate"))
            hnlib.check_no_crash(r)
            self.assertEqual(r.returncode, 0, r.stderr[-2000:])
            doc = json.load(open(out))
            self.check_rate(doc, 2)
            self.assertEqual(doc["total"]["requests"], doc["run"]["open"]["iterations"])
            self.assertEqual(doc["total"]["requests"], target.counts()["by_route"]["GET /"])

    def test_arrival_rate_on_a_master(self):
        with hnlib.DemoTarget() as target:
            out = os.path.join(TMP, "rate-d.json")
            r = hnlib.run_hornet(["--processes", "3", "--expect-workers", "3", "-f", PLUGIN,
                                  "-H", target.url, "--headless", "--only-summary", "--json", out],
                                 timeout=180, env=hnlib.clean_env(None, HORNET_TEST_SHAPE="rate"))
            hnlib.check_no_crash(r)
            self.assertEqual(r.returncode, 0, r.stderr[-3000:])
            doc = json.load(open(out))
            # The master passes a new rate on within 100 ms; each worker's
            # first arrival is at once.
            self.check_rate(doc, 8)
            self.assertEqual(len(doc["workers"]), 3)
            self.assertEqual(doc["total"]["requests"], target.counts()["by_route"]["GET /"])

    def test_a_run_keeps_its_model(self):
        with hnlib.DemoTarget() as target:
            out = os.path.join(TMP, "switch.json")
            r = hnlib.run_hornet(["-f", PLUGIN, "-H", target.url, "--headless", "--only-summary",
                                  "--json", out], timeout=120,
                                 env=hnlib.clean_env(None, HORNET_TEST_SHAPE="switch"))
            hnlib.check_no_crash(r)
            doc = json.load(open(out))
            self.assertEqual(doc["run"]["stop_reason"], "load shape returned an invalid step")
            self.assertIn("arrival rate 10", r.stderr)

    def test_dashboard_refuses_resize(self):
        with hnlib.DemoTarget() as target:
            with hnlib.Dashboard(["-f", PLUGIN, "-H", target.url],
                                 os.path.join(TMP, "dash.log")) as d:
                call = d.call
                self.assertTrue(call("GET", "/api/stats")[1]["shape"])
                st, _ = call("POST", "/api/swarm", {"users": 0, "spawn_rate": 1})
                self.assertEqual(st, 200)
                hnlib.wait_until(lambda: call("GET", "/api/stats")[1]["users"] == 3, 30,
                                 "the shape's first 3 users")
                for path, body in [("/api/resize", {"users": 9}),
                                   ("/api/swarm", {"users": 9, "spawn_rate": 1})]:
                    st, e = call("POST", path, body)
                    self.assertEqual(st, 409, path)
                    self.assertIn("the plugin's load shape drives this run", e["error"])
                hnlib.wait_until(lambda: call("GET", "/api/state")[1]["state"] == "stopped", 60,
                                 "the shape to end the run")
                self.assertEqual(call("GET", "/api/state")[1]["stop_reason"],
                                 "load shape finished")


if __name__ == "__main__":
    sys.exit(hnlib.run_checks())
