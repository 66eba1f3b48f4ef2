#!/usr/bin/env python3
"""Integration test of pooled curl easy handles (engine/client/curl_client.c setup_easy):
HN_USER_SHARED_POOL users borrow an easy handle per transfer from their
worker, and must still keep their own cookies, and every request must be
counted once by hornet and by the target. Needs HORNET and HN_BUILD_DIR;
talks to 127.0.0.1 only."""

import json
import os
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import hnlib  # noqa: E402


class PooledEasy(unittest.TestCase):
    def test_cookies_stay_per_user(self):
        """200 pooled users on 2 workers: each request carries its own user's cookie"""
        with hnlib.DemoTarget() as t, tempfile.TemporaryDirectory() as d:
            t.reset()
            out = os.path.join(d, "r.json")
            p = hnlib.run_hornet(["-f", hnlib.plugin_so("pooled_cookies"), "-H", t.url,
                                  "--headless", "--only-summary", "-u", "200", "-r", "1000",
                                  "-t", "3s", "--threads", "2", "--json", out],
                                 timeout=60, env=hnlib.clean_env())
            hnlib.check_no_crash(p)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            with open(out) as f:
                res = json.load(f)
            by_name = {e["name"]: e for e in res["entries"]}
            self.assertEqual(by_name["/login"]["requests"], 200)
            checks = by_name["/headers"]
            self.assertGreater(checks["requests"], 1000)
            self.assertEqual(checks["failures"], 0)
            # Counted once on both sides.
            counts = t.counts()
            self.assertEqual(counts.get("total"), res["total"]["requests"], counts)


if __name__ == "__main__":
    sys.exit(hnlib.run_checks())
