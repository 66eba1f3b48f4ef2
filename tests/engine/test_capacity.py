#!/usr/bin/env python3
"""The capacity search (--find-capacity) against a target of this test's own
with a known capacity: it serves 4 requests at a time, each taking 100 ms
(others wait their turn), so it does 40 requests/s at most, and latency
stays 100 ms up to 4 users (the knee) and grows beyond.

- closed model, steps of 2 users, p95<140ms: 2 and 4 users hold (100 ms), 6
  break (half the requests wait a second turn, up to 200 ms); the knee is
  at 4 users; the console, the JSON result (run and
  snapshot) and the stop reason say so; exit 0;
- open model, steps of 10 iterations/s, p95<300ms: up to 30/s (or 40/s,
  exactly the capacity) hold, 50/s breaks (the queue grows by 10 a second);
- a search whose first step breaks exits 3; bad options exit 2.
"""
import asyncio
import json
import os
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import hnlib  # noqa: E402

TMP = tempfile.mkdtemp(prefix="hn-capacity-")
PLUGIN = hnlib.plugin_so("open_get")
SLOTS, SERVICE_S = 4, 0.100


class LimitedTarget(hnlib.LoopbackTarget):
    """SLOTS requests served at a time, each SERVICE_S long; the rest queue."""

    def setup(self):
        self.slots = asyncio.Semaphore(SLOTS)

    async def serve(self, head):
        async with self.slots:
            await asyncio.sleep(SERVICE_S)


def search(target, args, name):
    out = os.path.join(TMP, name + ".json")
    r = hnlib.run_hornet(["-f", PLUGIN, "-H", target.url, "--headless", "--only-summary",
                          "--find-capacity", "--json", out] + list(args),
                         timeout=180, env=hnlib.clean_env())
    hnlib.check_no_crash(r)
    doc = json.load(open(out)) if os.path.exists(out) else None
    return r, doc


class Capacity(unittest.TestCase):
    def test_closed_model(self):
        with LimitedTarget() as t:
            html = os.path.join(TMP, "closed.html")
            r, doc = search(t, ["-u", "2", "--capacity-step", "2", "--capacity-hold", "3s",
                                "--threshold", "p95<140ms", "-t", "120s", "--html", html], "closed")
            self.assertEqual(r.returncode, 0, r.stderr[-2000:])
            c = doc["run"]["capacity"]
            self.assertEqual(c["model"], "users")
            self.assertEqual([s["load"] for s in c["steps"]], [2, 4, 6], c)
            self.assertEqual([s["held"] for s in c["steps"]], [True, True, False], c)
            self.assertEqual(c["held"], 4)
            self.assertEqual(c["knee"], 4)  # 40 req/s at 4 users, no more at 6
            self.assertTrue(c["done"])
            six = c["steps"][2]
            self.assertIn("p95<140ms", six["broken"])
            self.assertGreater(six["p95_ms"], 140)
            # Each step's throughput is its own: 20, 40, then 40 req/s.
            self.assertAlmostEqual(c["steps"][0]["rps"], 20, delta=3)
            self.assertAlmostEqual(c["steps"][1]["rps"], 40, delta=5)
            self.assertAlmostEqual(c["steps"][2]["rps"], 40, delta=5)
            self.assertTrue(doc["run"]["stop_reason"].startswith("capacity: 4 users held; 6 users "
                                                                  "broke p95<140ms"), doc["run"])
            self.assertIn("Capacity search (each step held 3 s", r.stdout)
            self.assertIn("capacity: 4 users held", r.stdout)
            self.assertIn("the knee at 4 users", r.stdout)
            self.assertEqual(doc["total"]["requests"], t.served)
            # The HTML report carries the same search (drawn by its capacity section).
            text = open(html, encoding="utf-8").read()
            self.assertIn('id="capacity-section"', text)
            self.assertIn('"capacity":{"model":"users"', text)

    def test_open_model(self):
        with LimitedTarget() as t:
            r, doc = search(t, ["--arrival-rate", "10", "-u", "400", "--capacity-step", "10",
                                "--capacity-hold", "3s", "--threshold", "p95<300ms",
                                "-t", "120s"], "open")
            self.assertEqual(r.returncode, 0, r.stderr[-2000:])
            c = doc["run"]["capacity"]
            self.assertEqual(c["model"], "arrival_rate")
            loads = [s["load"] for s in c["steps"]]
            # The true capacity is 40/s: 30 or 40 is the last to hold, 50 breaks.
            self.assertIn(c["held"], (30, 40), c)
            self.assertEqual(loads[-1], c["held"] + 10, c)
            self.assertFalse(c["steps"][-1]["held"])
            self.assertTrue(all(s["held"] for s in c["steps"][:-1]), c)
            self.assertIn("iterations/s held", doc["run"]["stop_reason"])

    def test_first_step_breaks(self):
        with LimitedTarget() as t:
            r, doc = search(t, ["-u", "8", "--capacity-hold", "2s", "--threshold", "p95<50ms",
                                "-t", "60s"], "none")
            self.assertEqual(r.returncode, 3, r.stderr[-2000:])
            c = doc["run"]["capacity"]
            self.assertEqual(c["held"], 0)
            self.assertEqual(len(c["steps"]), 1)
            self.assertIn("capacity: no step held; 8 users broke p95<50ms", r.stdout)

    def test_bad_options(self):
        for args, needle in [
            (["--find-capacity"], "--find-capacity needs at least one --threshold"),
            (["--find-capacity", "--threshold", "p95<1s", "--stages", "1s:1"], "drop --stages"),
            (["--capacity-step", "2"], "need --find-capacity"),
            (["--find-capacity", "--threshold", "p95<1s", "--capacity-step", "0"],
             "--capacity-step expects"),
            (["--find-capacity", "--threshold", "p95<1s", "--capacity-hold", "0s"],
             "--capacity-hold expects"),
            (["--find-capacity", "--threshold", "p95<1s", "--worker"], "belong on the master"),
        ]:
            with self.subTest(args=args):
                r = hnlib.run_hornet(["-f", PLUGIN, "-H", "http://127.0.0.1:9", "--headless"]
                                     + args, timeout=30)
                hnlib.check_no_crash(r)
                self.assertEqual(r.returncode, 2, r.stderr)
                lines = hnlib.stderr_lines(r.stderr)
                self.assertEqual(len(lines), 1, r.stderr)
                self.assertIn(needle, lines[0])


if __name__ == "__main__":
    sys.exit(hnlib.run_checks())
