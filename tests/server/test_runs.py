#!/usr/bin/env python3
"""The dashboard's Runs: every run that ends is kept as its JSON result (the
last 20), results from earlier sessions can be uploaded, and any two can be
compared, through the JSON API (the page's Runs tab uses the same calls).

- two short runs of the demo: listed newest first, their results served
  (equal to the run's own figures), a comparison of the two;
- an uploaded result (larger than the API's usual 64 KiB body limit) joins
  the list and compares like the others;
- bad uploads and bad arguments are 400/404 with a reason.
"""
import copy
import json
import os
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import hnlib  # noqa: E402

TMP = tempfile.mkdtemp(prefix="hn-runs-")


def run_once(d):
    st, body = d.call("POST", "/api/swarm", {"users": 3, "spawn_rate": 30, "run_time": "2s"})
    assert st == 200, body
    hnlib.wait_until(lambda: d.call("GET", "/api/stats")[1]["state"] == "running", 30, "running")
    return hnlib.wait_until(lambda: (lambda s: s if s["state"] == "stopped" else None)(
        d.call("GET", "/api/stats")[1]), 60, "the run to stop")


class Runs(unittest.TestCase):
    def test_runs(self):
        with hnlib.Dashboard(["--demo"], os.path.join(TMP, "dash.log")) as d:
            self.assertEqual(d.call("GET", "/api/runs")[1]["runs"], [])
            first = run_once(d)
            runs = hnlib.wait_until(lambda: d.call("GET", "/api/runs")[1]["runs"], 30,
                                    "the first run kept")
            self.assertEqual(len(runs), 1)
            self.assertEqual(runs[0]["id"], 1)
            self.assertEqual(runs[0]["source"], "run")
            self.assertEqual(runs[0]["requests"], first["total"]["requests"])
            self.assertEqual(runs[0]["stop_reason"], "run time limit reached")
            st, doc = d.call("GET", "/api/runs/result?id=1")
            self.assertEqual(st, 200)
            self.assertEqual(doc["format"], "hornet-result")
            self.assertEqual(doc["total"]["requests"], first["total"]["requests"])
            self.assertGreater(len(doc["history"]), 0)

            run_once(d)
            runs = hnlib.wait_until(lambda: (lambda r: r if len(r) == 2 else None)(
                d.call("GET", "/api/runs")[1]["runs"]), 30, "the second run kept")
            self.assertEqual([r["id"] for r in runs], [2, 1])  # newest first
            st, c = d.call("GET", "/api/runs/compare?base=1&new=2&tolerance=50%")
            self.assertEqual(st, 200, c)
            self.assertIn(c["verdict"], ("same", "better", "worse"))
            self.assertEqual(c["tolerance"], 0.5)
            self.assertIn("Aggregated", [r["name"] for r in c["rows"]])

            # An earlier session's result, made large: 2,000 more entries.
            big = copy.deepcopy(doc)
            for i in range(2000):
                e = copy.deepcopy(doc["total"])
                e.update({"type": "GET", "name": "/old/%d" % i})
                big["entries"].append(e)
            self.assertGreater(len(json.dumps(big)), 64 * 1024)
            st, body = d.call("POST", "/api/runs/upload", big)
            self.assertEqual(st, 200, body)
            self.assertEqual(body["id"], 3)
            runs = d.call("GET", "/api/runs")[1]["runs"]
            self.assertEqual(runs[0]["source"], "upload")
            st, c = d.call("GET", "/api/runs/compare?base=3&new=2")
            self.assertEqual(st, 200, c)
            old = [e for e in c["only_in_base"] if e["name"].startswith("/old/")]
            self.assertEqual(len(old), 2000)

            for method, path, body, status, needle in [
                ("POST", "/api/runs/upload", {"format": "something"}, 400,
                 "not a hornet JSON result"),
                ("GET", "/api/runs/result?id=99", None, 404, "no run 99"),
                ("GET", "/api/runs/result?id=x", None, 400, "?id=N"),
                ("GET", "/api/runs/result", None, 400, "?id=N"),
                ("GET", "/api/runs/compare?base=1", None, 400, "?base=N&new=M"),
                ("GET", "/api/runs/compare?base=1&new=42", None, 404, "no run 42"),
                ("GET", "/api/runs/compare?base=1&new=2&tolerance=lots", None, 400,
                 "tolerance must be"),
            ]:
                with self.subTest(path=path):
                    st, e = d.call(method, path, body)
                    self.assertEqual(st, status, e)
                    self.assertIn(needle, e["error"])
            st, _, data = hnlib.http_request(d.port, "POST", "/api/runs/upload", body="{nope",
                                             headers={"Content-Type": "application/json"})
            self.assertEqual(st, 400)


if __name__ == "__main__":
    sys.exit(hnlib.run_checks())
