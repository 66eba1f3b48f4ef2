#!/usr/bin/env python3
"""The drill-down: GET /api/entry?type=&name= gives one entry's own history
(once a second: requests/s, failures/s, p50/p95/p99) and its response-time
distribution from the histogram's buckets.

- the demo: an entry's history has a point per second of the run, and its
  distribution's bins hold every request once, in ascending bounds;
- 5,000 entries (tests/plugins/many_entries.c): every entry has its own
  history and distribution;
- an unknown entry is a 404, a missing argument a 400.
"""
import os
import sys
import tempfile
import unittest
from urllib.parse import quote

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import hnlib  # noqa: E402

TMP = tempfile.mkdtemp(prefix="hn-drill-")


def run_for(d, seconds, users=3):
    st, body = d.call("POST", "/api/swarm", {"users": users, "spawn_rate": 30,
                                            "run_time": "%ds" % seconds})
    assert st == 200, body
    return hnlib.wait_until(lambda: (lambda s: s if s["state"] == "stopped" else None)(
        d.call("GET", "/api/stats")[1]), 60, "the run to stop")


class DrillDown(unittest.TestCase):
    def test_demo_entry(self):
        with hnlib.Dashboard(["--demo"], os.path.join(TMP, "demo.log")) as d:
            s = run_for(d, 4)
            e = max(s["entries"], key=lambda x: x["requests"])
            st, det = d.call("GET", "/api/entry?type=%s&name=%s" % (quote(e["type"], safe=""),
                                                                    quote(e["name"], safe="")))
            self.assertEqual(st, 200, det)
            self.assertEqual(det["requests"], e["requests"])
            self.assertGreaterEqual(len(det["history"]), 3, det["history"])
            self.assertTrue(any(p["rps"] > 0 for p in det["history"]))
            times = [p["time"] for p in det["history"]]
            self.assertEqual(times, sorted(times))
            bounds = [b["le_ms"] for b in det["distribution"]]
            self.assertEqual(bounds, sorted(bounds))
            self.assertEqual(sum(b["count"] for b in det["distribution"]), e["requests"])
            self.assertGreaterEqual(bounds[-1], e["max_ms"] * 0.99)
            for path, status, needle in [("/api/entry?type=GET&name=/nowhere", 404, "no entry"),
                                         ("/api/entry?name=/", 400, "?type=GET&name=")]:
                st, err = d.call("GET", path)
                self.assertEqual(st, status, err)
                self.assertIn(needle, err["error"])

    def test_five_thousand_entries(self):
        plugin = hnlib.plugin_so("many_entries")
        with hnlib.Dashboard(["-f", plugin, "-H", "http://127.0.0.1:9"],
                             os.path.join(TMP, "many.log")) as d:
            s = run_for(d, 3, users=2)
            self.assertEqual(len(s["entries"]), 5000)
            for name in ("e0000", "e2500", "e4999"):
                st, det = d.call("GET", "/api/entry?type=CALC&name=" + name)
                self.assertEqual(st, 200, det)
                self.assertGreaterEqual(len(det["history"]), 2)
                self.assertEqual(sum(b["count"] for b in det["distribution"]), det["requests"])


if __name__ == "__main__":
    sys.exit(hnlib.run_checks())
