#!/usr/bin/env python3
"""Per-user headers (ABI 1.1) through the real binary and demo target.

tests/plugins/user_headers.c checks, through the target's /headers echo,
that a user type's headers go with every request, that hn_set_header adds
and overrides them for that user only, that a request's own headers win,
that removing one brings the type's back, and that bad names and values are
refused. Every mismatch is a failure naming the header, so a clean run with
every step counted is the proof. Bad declarations are refused at load.
"""
import json
import os
import re
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import hnlib  # noqa: E402

TMP = tempfile.mkdtemp(prefix="hn-headers-")


class UserHeaders(unittest.TestCase):
    def test_type_user_and_request_headers(self):
        with hnlib.DemoTarget() as target:
            out = os.path.join(TMP, "r.json")
            r = hnlib.run_hornet(["-f", hnlib.plugin_so("user_headers"), "-H", target.url,
                                  "--headless", "--only-summary", "-u", "4", "-r", "40",
                                  "-t", "2s", "--json", out], timeout=120,
                                 env=hnlib.clean_env(os.path.join(TMP, "cache")))
            hnlib.check_no_crash(r)
            doc = json.load(open(out))
            self.assertEqual(doc["errors"], [], r.stdout[-3000:])
            self.assertEqual(doc["exceptions"], [])
            self.assertEqual(r.returncode, 0, r.stderr[-2000:])
            steps = {e["name"]: e["requests"] for e in doc["entries"]}
            for step in ("/headers [type]", "/headers [user]", "/headers [json]",
                         "/headers [json, own type]", "/headers [removed]"):
                self.assertGreaterEqual(steps.get(step, 0), 4, steps)
            served = target.counts()["by_route"].get("GET /headers", 0)
            self.assertEqual(sum(steps.values()), served)

    def test_bad_declarations_refused_at_load(self):
        for plugin, needle in [
            ("bad_header", "user type 'broken': header #2 'no colon here' is not 'Name: value'"),
            ("future_minor", r"was built for ABI 1\.(\d+), newer than this hornet's 1\.(\d+): "
                             r"upgrade hornet"),
        ]:
            with self.subTest(plugin=plugin):
                r = hnlib.run_hornet(["-f", hnlib.plugin_so(plugin), "-H", "http://127.0.0.1:9",
                                      "--headless", "-t", "1s"], timeout=30)
                hnlib.check_no_crash(r)
                self.assertEqual(r.returncode, 2)
                lines = hnlib.stderr_lines(r.stderr)
                self.assertEqual(len(lines), 1, r.stderr)
                if plugin == "future_minor":
                    m = re.search(needle, lines[0])
                    self.assertIsNotNone(m, lines[0])
                    self.assertEqual(int(m.group(1)), int(m.group(2)) + 1, lines[0])
                else:
                    self.assertIn(needle, lines[0])


if __name__ == "__main__":
    sys.exit(hnlib.run_checks())
