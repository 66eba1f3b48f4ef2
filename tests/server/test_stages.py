#!/usr/bin/env python3
"""Load profiles (--stages, POST /api/swarm {stages}) through the real binary.

- the user count follows the profile (checked on every snapshot against the
  line the stages draw, within one spawn step) and the run ends with the last
  stage; -t ends it first when shorter;
- a run driven by a profile refuses a resize with the reason;
- bad profiles: one-line messages and exit 2 / 400s naming the stage;
- a master with two local worker processes follows the profile too.
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import hnlib  # noqa: E402

TMP = tempfile.mkdtemp(prefix="hn-stages-")
CACHE = os.path.join(TMP, "cache")
PROBE = hnlib.plugin_so("engine_probe")


def profile(stages, t):
    """Users the profile wants t seconds into the run ([(seconds, users)])."""
    begin, frm = 0.0, 0
    for d, users in stages:
        if t < begin + d:
            return frm + (users - frm) * ((t - begin) / d if d > 0 else 1)
        begin, frm = begin + d, users
    return 0


def hornet(args, timeout=120, env=None):
    r = subprocess.run([hnlib.hornet_path()] + list(args), capture_output=True, text=True,
                       timeout=timeout, cwd=TMP, env=hnlib.clean_env(CACHE, **(env or {})))
    hnlib.check_no_crash(r, "hornet " + " ".join(args))
    return r


def Dashboard(extra=()):
    return hnlib.Dashboard(["--demo", "-f", PROBE, "-T", "delay"] + list(extra),
                           os.path.join(TMP, "dash-%d.log" % time.monotonic_ns()), cwd=TMP,
                           env=hnlib.clean_env(CACHE))


class Follow(unittest.TestCase):
    def test_users_follow_the_stages_and_the_run_ends_with_them(self):
        stages = [(2.0, 10), (1.5, 10), (2.0, 4), (0, 8), (1.5, 0)]
        d = Dashboard()
        try:
            st, _ = d.call("POST", "/api/swarm", {
                "stages": [{"duration": "2s", "users": 10}, "1.5s:10",
                           {"duration": 2, "users": 4}, "0:8", "1.5s:0"]})
            self.assertEqual(st, 200)
            seen, t0 = {}, time.monotonic()
            while time.monotonic() - t0 < 60:
                st, s = d.call("GET", "/api/stats")
                if s["state"] in ("spawning", "running", "stopping", "stopped"):
                    seen[s["seq"]] = (s["active_s"], s["users"], s["state"], s["stage"])
                if s["state"] == "stopped":
                    break
                time.sleep(0.05)
            self.assertEqual(s["state"], "stopped", "the run did not end with its last stage")
            self.assertEqual(s["stop_reason"], "load profile complete")
            self.assertEqual(s["stages"], [{"duration_s": a, "users": b} for a, b in stages])
            self.assertIsNone(s["stage"])
            # 7 s of stages; the stop itself takes a moment more.
            self.assertGreaterEqual(s["active_s"], 7.0)
            self.assertLess(s["active_s"], 9.5)
            # Each snapshot's users lie on the line within one spawn step (a
            # user either side, plus the slope over the 10 ms control tick).
            checked = 0
            for seq, (t, users, state, stage) in sorted(seen.items()):
                if state not in ("spawning", "running") or t < 0.05:
                    continue
                lo = min(profile(stages, max(0.0, t - 0.05)), profile(stages, t))
                hi = max(profile(stages, max(0.0, t - 0.05)), profile(stages, t))
                self.assertGreaterEqual(users, lo - 1.01, "t=%.2f s: %d users" % (t, users))
                self.assertLessEqual(users, hi + 1.01, "t=%.2f s: %d users" % (t, users))
                checked += 1
            self.assertGreaterEqual(checked, 5, seen)
            # The peak was reached and the stage index moved on.
            self.assertEqual(max(u for _, u, _, _ in seen.values()), 10)
            self.assertGreaterEqual(len({g for _, _, _, g in seen.values() if g is not None}), 3)
        finally:
            d.close()

    def test_resize_is_refused_while_a_profile_drives(self):
        d = Dashboard()
        try:
            st, _ = d.call("POST", "/api/swarm", {"stages": ["30s:5"], "run_time": "20s"})
            self.assertEqual(st, 200)
            hnlib.wait_until(lambda: d.call("GET", "/api/state")[1]["state"] in
                             ("spawning", "running"), 30, "the run to start")
            for path, body in [("/api/resize", {"users": 3}),
                               ("/api/swarm", {"users": 3, "spawn_rate": 1})]:
                st, e = d.call("POST", path, body)
                self.assertEqual(st, 409, path)
                self.assertIn("a load profile (stages) drives this run", e["error"])
            st, e = d.call("POST", "/api/swarm", {"stages": ["1s:1"]})
            self.assertEqual(st, 409)
            self.assertIn("stop the", e["error"])
            st, _ = d.call("POST", "/api/stop", {})
            self.assertEqual(st, 200)
            hnlib.wait_until(lambda: d.call("GET", "/api/state")[1]["state"] == "stopped", 60,
                             "the run to stop")
            # A fixed-users run afterwards has no profile.
            st, _ = d.call("POST", "/api/swarm", {"users": 2, "spawn_rate": 10})
            self.assertEqual(st, 200)
            hnlib.wait_until(lambda: d.call("GET", "/api/stats")[1]["users"] == 2, 30, "2 users")
            _, s = d.call("GET", "/api/stats")
            self.assertEqual((s["stages"], s["stage"]), ([], None))
            st, _ = d.call("POST", "/api/resize", {"users": 3})
            self.assertEqual(st, 200)
        finally:
            d.close()

    def test_command_line_profile_prefills_the_form(self):
        d = Dashboard(["--stages", "5s:2, 5s:0"])
        try:
            st, c = d.call("GET", "/api/config")
            self.assertEqual((st, c["default_stages"]), (200, "5s:2, 5s:0"))
        finally:
            d.close()
        d = Dashboard()
        try:
            self.assertIsNone(d.call("GET", "/api/config")[1]["default_stages"])
        finally:
            d.close()

    def test_bad_stages_are_400s(self):
        d = Dashboard()
        try:
            for body, needle in [
                ({"stages": []}, "stages must be an array of 1 to 100"),
                ({"stages": "30s:10"}, "stages must be an array"),
                ({"stages": ["30s"]}, "stages[0]: stage 1 ('30s'): expected"),
                ({"stages": ["10s:5", "soon:5"]}, "stages[1]: stage 1 ('soon:5'): 'soon' is not a "
                                                  "duration"),
                ({"stages": ["10s:-5"]}, "users must be a whole number from 0"),
                ({"stages": ["10s:2000000"]}, "users must be a whole number from 0"),
                ({"stages": [{"duration": "10s"}]}, "stages[0]: expected {\"duration\""),
                ({"stages": [{"duration": -1, "users": 1}]}, "stages[0]: expected"),
                ({"stages": [{"duration": "1s", "users": 1.5}]}, "stages[0]: users must be"),
                ({"stages": [5]}, "stages[0] must be"),
                ({"stages": ["0s:10"]}, "stages last 0 s in all"),
                ({"stages": ["1s:1"], "users": 3}, "give either users and spawn_rate, or stages"),
            ]:
                st, e = d.call("POST", "/api/swarm", body)
                self.assertEqual(st, 400, body)
                self.assertIn(needle, e["error"], body)
            self.assertEqual(d.call("GET", "/api/state")[1]["state"], "ready")
        finally:
            d.close()


class Headless(unittest.TestCase):
    def test_headless_profile_and_run_time(self):
        r = hornet(["--demo", "-f", PROBE, "-T", "delay", "--headless", "--only-summary",
                    "--stages", "1s:4, 1s:4, 1s:0", "--json", os.path.join(TMP, "h.json")])
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        doc = json.load(open(os.path.join(TMP, "h.json")))
        self.assertEqual(doc["run"]["stop_reason"], "load profile complete")
        self.assertEqual([s["users"] for s in doc["run"]["stages"]], [4, 4, 0])
        self.assertLess(doc["run"]["duration_s"], 6)
        self.assertGreater(doc["total"]["requests"], 0)
        # -t shorter than the profile ends the run first.
        r = hornet(["--demo", "-f", PROBE, "-T", "delay", "--headless", "--only-summary",
                    "--stages", "30s:4", "-t", "2s", "--json", os.path.join(TMP, "t.json")])
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        doc = json.load(open(os.path.join(TMP, "t.json")))
        self.assertEqual(doc["run"]["stop_reason"], "run time limit reached")

    def test_bad_stages_exit_2(self):
        for spec, needle in [("", "expected stages like"),
                             ("30s", "stage 1 ('30s'): expected"),
                             ("30s:10,,1m:5", "stage 2 (''): expected"),
                             ("30x:10", "'30x' is not a duration"),
                             ("30s:ten", "users must be a whole number"),
                             ("0s:10", "the stages last 0 s in all")]:
            with self.subTest(spec=spec):
                r = hornet(["--demo", "--headless", "--stages", spec], timeout=30)
                self.assertEqual(r.returncode, 2)
                lines = hnlib.stderr_lines(r.stderr)
                self.assertEqual(len(lines), 1, r.stderr)
                self.assertIn("--stages", lines[0])
                self.assertIn(needle, lines[0])
        r = hornet(["--worker", "--stages", "1s:1"], timeout=30)
        self.assertEqual(r.returncode, 2)
        self.assertIn("belong on the master", r.stderr)
        self.assertIn("--stages", r.stderr)


class Distributed(unittest.TestCase):
    def test_master_with_workers_follows_the_profile(self):
        with hnlib.DemoTarget() as target:
            r = hornet(["--processes", "2", "-f", PROBE, "-H", target.url, "-T", "delay",
                        "--headless", "--only-summary", "--stages", "2s:6,1s:6,1s:0",
                        "--csv", os.path.join(TMP, "dist"), "--json",
                        os.path.join(TMP, "dist.json")], timeout=180)
            self.assertEqual(r.returncode, 0, r.stderr[-3000:])
            doc = json.load(open(os.path.join(TMP, "dist.json")))
            self.assertEqual(doc["run"]["stop_reason"], "load profile complete")
            self.assertEqual(len(doc["workers"]), 2)
            self.assertEqual(max(p["users"] for p in doc["history"]), 6)
            # Every request the target served is counted once.
            served = target.counts()["by_route"].get("GET /delay/{s}", 0)
            self.assertEqual(doc["total"]["requests"], served)


if __name__ == "__main__":
    sys.exit(hnlib.run_checks())
