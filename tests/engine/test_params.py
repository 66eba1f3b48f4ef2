#!/usr/bin/env python3
"""Plugin parameters (ABI 1.1) through the real binary and the demo target.

tests/plugins/params_echo.c declares path (text), repeat (int), ratio
(float), verbose (bool) and token (a secret): each task requests path
repeat times, named after ratio, and /json when verbose, so the target's
own counts and the entry names show the values the users read.
- --param sets them (also HORNET_PARAM and hornet.conf); the JSON result,
  the HTML report and the console list them, the secret masked everywhere;
- POST /api/swarm {params} sets them for the next run, and /api/config and
  the snapshot describe them;
- a master sends them to its workers;
- bad values, unknown names and bad forms are exit 2 / 400 with one line.
"""
import json
import os
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import hnlib  # noqa: E402

TMP = tempfile.mkdtemp(prefix="hn-params-")
PLUGIN = hnlib.plugin_so("params_echo")


def headless(target, args, name, env=None):
    out, html = os.path.join(TMP, name + ".json"), os.path.join(TMP, name + ".html")
    r = hnlib.run_hornet(["-f", PLUGIN, "-H", target.url, "--headless", "--only-summary",
                          "-u", "2", "-r", "20", "-t", "2s", "--json", out, "--html", html]
                         + list(args), timeout=120, env=env or hnlib.clean_env())
    hnlib.check_no_crash(r)
    return r, json.load(open(out)), open(html, encoding="utf-8").read()


def by_path(target):
    return target.counts()["by_path"]


class Params(unittest.TestCase):
    def test_cli_values_reach_the_users(self):
        with hnlib.DemoTarget() as t:
            r, doc, html = headless(t, ["--param", "repeat=3", "--param", "path=/item/7",
                                        "--param", "ratio=0.25", "--param", "verbose=on",
                                        "--param", "token=hunter2"], "cli")
            self.assertEqual(r.returncode, 0, r.stderr[-2000:])
            entries = {(e["type"], e["name"]): e["requests"] for e in doc["entries"]}
            self.assertEqual(set(entries), {("GET", "ratio=0.25"), ("GET", "/json")})
            served = by_path(t)
            self.assertEqual(served.get("GET /item/7", 0), entries[("GET", "ratio=0.25")])
            # A task is 3 x /item/7 then /json (verbose); the stop may cut
            # short the task each of the 2 users is in.
            items, jsons = served.get("GET /item/7", 0), served.get("GET /json", 0)
            self.assertGreater(jsons, 5, served)
            self.assertLessEqual(abs(items - 3 * jsons), 2 * 3, served)
            params = {p["name"]: p for p in doc["run"]["params"]}
            self.assertEqual(params["repeat"]["value"], "3")
            self.assertEqual(params["repeat"]["type"], "int")
            self.assertEqual(params["token"]["value"], "********")
            self.assertTrue(params["token"]["secret"])
            self.assertIn("Parameters: path=/item/7, repeat=3, ratio=0.25, verbose=on, "
                          "token=********", r.stdout)
            for text in (r.stdout, r.stderr, html, json.dumps(doc)):
                self.assertNotIn("hunter2", text)
                self.assertNotIn("s3cret", text)

    def test_environment_and_config_file(self):
        conf = os.path.join(TMP, "hornet.conf")
        with open(conf, "w") as f:
            f.write("param = verbose=yes, path=/item/4\n")
        with hnlib.DemoTarget() as t:
            r, doc, _ = headless(t, ["--config", conf], "conf")
            self.assertEqual(r.returncode, 0, r.stderr[-2000:])
            served = by_path(t)
            self.assertGreater(served.get("GET /item/4", 0), 0, served)
            self.assertGreater(served.get("GET /json", 0), 0, served)
        with hnlib.DemoTarget() as t:
            r, doc, _ = headless(t, [], "env", env=hnlib.clean_env(HORNET_PARAM="path=/item/3"))
            self.assertEqual(r.returncode, 0, r.stderr[-2000:])
            self.assertGreater(by_path(t).get("GET /item/3", 0), 0)
            self.assertNotIn("GET /json", by_path(t))  # verbose is false by default

    def test_api(self):
        with hnlib.DemoTarget() as t:
            with hnlib.Dashboard(["-f", PLUGIN, "-H", t.url], os.path.join(TMP, "dash.log")) as d:
                st, cfg = d.call("GET", "/api/config")
                self.assertEqual([p["name"] for p in cfg["params"]],
                                 ["path", "repeat", "ratio", "verbose", "token"])
                self.assertEqual(cfg["params"][1], {"name": "repeat", "type": "int",
                                                    "default": "1", "help": "requests per task",
                                                    "secret": False})
                self.assertNotIn("s3cret", json.dumps(cfg))
                for params, needle in [({"repeat": "x"}, "parameter 'repeat' expects a whole number"),
                                       ({"ratio": "fast"}, "parameter 'ratio' expects a number"),
                                       ({"verbose": "maybe"}, "expects true or false"),
                                       ({"nope": 1}, "no parameter 'nope' (it has: path, repeat"),
                                       ({"repeat": [1]}, "must be text, a number or true/false"),
                                       ("repeat=2", "params must be an object")]:
                    with self.subTest(params=params):
                        st, e = d.call("POST", "/api/swarm", {"users": 1, "spawn_rate": 1,
                                                              "params": params})
                        self.assertEqual(st, 400, e)
                        self.assertIn(needle, e["error"])
                st, body = d.call("POST", "/api/swarm", {"users": 2, "spawn_rate": 20,
                                                        "params": {"repeat": 2, "verbose": True,
                                                                   "path": "/item/5"}})
                self.assertEqual(st, 200, body)
                hnlib.wait_until(lambda: by_path(t).get("GET /json", 0) >= 2, 30, "GET /json")
                s = d.call("GET", "/api/stats")[1]
                shown = {p["name"]: p["value"] for p in s["params"]}
                self.assertEqual((shown["repeat"], shown["verbose"], shown["path"]),
                                 ("2", "true", "/item/5"))
                st, e = d.call("POST", "/api/swarm", {"users": 2, "spawn_rate": 20,
                                                      "params": {"repeat": 1}})
                self.assertEqual(st, 409, e)
                self.assertIn("chosen for a new run", e["error"])
                self.assertEqual(d.call("POST", "/api/stop")[0], 200)

    def test_master_sends_them_to_workers(self):
        with hnlib.DemoTarget() as t:
            r, doc, _ = headless(t, ["--processes", "2", "--expect-workers", "2",
                                     "--param", "path=/item/9", "--param", "repeat=2"], "dist")
            self.assertEqual(r.returncode, 0, r.stderr[-2000:])
            served = by_path(t)
            self.assertGreater(served.get("GET /item/9", 0), 0, served)
            self.assertEqual(served.get("GET /item/9"), doc["total"]["requests"])

    def test_bad_input(self):
        for args, needle in [
            (["--param", "repeat=x"], "--param 'repeat=x': parameter 'repeat' expects a whole "
                                      "number, got 'x'"),
            (["--param", "nope=1"], "the plugin has no parameter 'nope' (it has: path, repeat, "
                                    "ratio, verbose, token)"),
            (["--param", "token"], "--param expects NAME=VALUE"),
            (["--param", "token=1", "--worker"], "belong on the master"),
        ]:
            with self.subTest(args=args):
                r = hnlib.run_hornet(["-f", PLUGIN, "-H", "http://127.0.0.1:9", "--headless",
                                      "-t", "1s"] + args, timeout=30)
                hnlib.check_no_crash(r)
                self.assertEqual(r.returncode, 2, r.stderr)
                lines = hnlib.stderr_lines(r.stderr)
                self.assertEqual(len(lines), 1, r.stderr)
                self.assertIn(needle, lines[0])
                self.assertNotIn("s3cret", r.stderr)


if __name__ == "__main__":
    sys.exit(hnlib.run_checks())
