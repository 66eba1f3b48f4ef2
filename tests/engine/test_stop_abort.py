#!/usr/bin/env python3
"""The stop timeout aborts transfers in flight (engine/client/curl_client.c
hn_curl_cancel), for users that own their connections and for users that
borrow pooled easy handles alike: each aborted request counts once, as a
failure with its cause, and equals what the target received; the process
ends soon after the timeout."""
import json
import os
import sys
import tempfile
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import hnlib  # noqa: E402


class StopAbort(unittest.TestCase):
    def test_aborted_in_flight_requests_count_once(self):
        with hnlib.DemoTarget() as t, tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "r.json")
            t0 = time.monotonic()
            r = hnlib.run_hornet(["-f", hnlib.plugin_so("hang_users"), "-H", t.url,
                                  "--headless", "--only-summary", "-u", "20", "-r", "200",
                                  "-t", "1s", "-s", "1s", "--threads", "2", "--json", out],
                                 timeout=120, env=hnlib.clean_env())
            took = time.monotonic() - t0
            hnlib.check_no_crash(r)
            self.assertEqual(r.returncode, 1, r.stderr[-2000:])
            self.assertLess(took, 60, "hornet did not end soon after the stop timeout")
            doc = json.load(open(out))
            hang = [e for e in doc["entries"] if e["name"] == "/hang"][0]
            self.assertEqual(hang["requests"], 20)  # every user had one in flight
            self.assertEqual(hang["failures"], 20)
            self.assertEqual([(x["message"], x["count"]) for x in doc["errors"]],
                             [("aborted: stop timeout reached", 20)])
            self.assertEqual(t.counts()["by_path"].get("GET /hang"), 20)
            self.assertIn("stop timeout (1 s) reached", r.stderr)


if __name__ == "__main__":
    sys.exit(hnlib.run_checks())
