#!/usr/bin/env python3
"""The user type picker (Locust's class picker) through the JSON API, with
plugins/shop.c (user types "shopper", weight 3, and "browser", weight 1,
whose tasks are home, json and items) against two demo targets.

- only the picked types run, with their chosen tasks (the target's own
  counts show which routes were hit) and host;
- weights and fixed counts set the mix (the ratio says so);
- a start without user_types runs every type again, as the plugin says;
- bad input is a 400 naming the problem, a pick while running a 409.
"""
import os
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import hnlib  # noqa: E402

TMP = tempfile.mkdtemp(prefix="hn-picker-")
SHOP = os.path.join(hnlib.source_dir(), "plugins", "shop.c")


def ratio_users(d):
    return {r["user_type"]: r["users"] for r in d.call("GET", "/api/stats")[1]["ratios"]}


def stop(d):
    d.call("POST", "/api/stop")
    hnlib.wait_until(lambda: d.call("GET", "/api/stats")[1]["state"] == "stopped", 30, "stopped")


class Picker(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.a = hnlib.DemoTarget()
        cls.a.start()
        cls.b = hnlib.DemoTarget()
        cls.b.start()
        cls.d = hnlib.Dashboard(["-f", SHOP, "-H", cls.a.url],
                                os.path.join(TMP, "dash.log"),
                                env=hnlib.clean_env(os.path.join(TMP, "cache")))

    @classmethod
    def tearDownClass(cls):
        cls.d.close()
        cls.a.stop()
        cls.b.stop()

    def test_1_types_tasks_and_host(self):
        d, a, b = self.d, self.a, self.b
        a.reset()
        b.reset()
        st, body = d.call("POST", "/api/swarm", {
            "users": 4, "spawn_rate": 50,
            "user_types": [{"name": "browser", "tasks": ["json"], "host": b.url}]})
        self.assertEqual(st, 200, body)
        hnlib.wait_until(lambda: b.counts()["by_route"].get("GET /json", 0) >= 4, 30,
                         "the picked type's task on the picked host")
        self.assertEqual(ratio_users(d), {"browser": 4})
        stop(d)
        routes = b.counts()["by_route"]
        self.assertEqual(set(routes), {"GET /json"}, routes)  # only the chosen task
        self.assertEqual(a.counts()["total"], 0)              # not the run's host

    def test_2_weights_and_fixed_counts(self):
        d = self.d
        st, body = d.call("POST", "/api/swarm", {
            "users": 5, "spawn_rate": 100,
            "user_types": [{"name": "shopper", "weight": 1},
                           {"name": "browser", "fixed_count": 2}]})
        self.assertEqual(st, 200, body)
        hnlib.wait_until(lambda: sum(ratio_users(d).values()) == 5, 30, "5 users")
        self.assertEqual(ratio_users(d), {"shopper": 3, "browser": 2})
        stop(d)

    def test_3_no_pick_runs_every_type(self):
        d = self.d
        st, body = d.call("POST", "/api/swarm", {"users": 8, "spawn_rate": 100})
        self.assertEqual(st, 200, body)
        hnlib.wait_until(lambda: sum(ratio_users(d).values()) == 8, 30, "8 users")
        self.assertEqual(ratio_users(d), {"shopper": 6, "browser": 2})  # weights 3:1
        # While it runs, a pick is refused.
        st, e = d.call("POST", "/api/swarm", {"users": 8, "spawn_rate": 100,
                                              "user_types": [{"name": "browser"}]})
        self.assertEqual(st, 409, e)
        self.assertIn("chosen for a new run", e["error"])
        stop(d)

    def test_4_bad_input(self):
        d = self.d
        for types, needle in [
            ([{"name": "robot"}], "no user type 'robot' to run (the plugin has: shopper, browser)"),
            ([{"name": "browser", "tasks": ["fly"]}], "'browser' has no task 'fly'"),
            ([{"name": "browser", "tasks": []}], "needs at least one task"),
            ([{"name": "browser", "weight": 0}], "would never run"),
            ([], "user_types must be a list"),
            ("browser", "user_types must be a list"),
            ([{"name": "browser", "weight": "lots"}], "entry 1 is not"),
            ([{"name": "browser", "colour": "red"}], "entry 1 is not"),
        ]:
            with self.subTest(types=types):
                st, e = d.call("POST", "/api/swarm", {"users": 1, "spawn_rate": 1,
                                                      "user_types": types})
                self.assertEqual(st, 400, e)
                self.assertIn(needle, e["error"])
        self.assertNotEqual(d.call("GET", "/api/stats")[1]["state"], "running")


if __name__ == "__main__":
    sys.exit(hnlib.run_checks())
