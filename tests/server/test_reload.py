#!/usr/bin/env python3
"""Reloading the plugin between runs (POST /api/plugin/reload), through a
real compile of a .c file edited on disk, against a demo target whose own
counts say which plugin ran:

- GET /api/plugin says when the file changed since it was loaded;
- a reload compiles and loads the new version: the page's user types and
  parameters are the new ones, the next run requests the new paths, a
  parameter's value set before carries over, and hornet's request count
  equals the target's;
- a compile error is a 422 with the compiler's own words, and the old
  plugin stays (its types, its paths in the next run);
- refused while a run is on (409), and for the built-in plugin (409);
- a .so rebuilt in place is loaded anew (dlopen alone would hand back the
  old code);
- on a master, the workers (local processes that take the master's file)
  run the new plugin: the target sees only its paths.
"""
import os
import subprocess
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import hnlib  # noqa: E402

TMP = tempfile.mkdtemp(prefix="hn-reload-")
CACHE = os.path.join(TMP, "cache")

# TYPE and ROUTE change between versions; the parameter "tag" ends the
# path, so the target's counts show its value.
PLUGIN = r"""
#include <hornet/hornet.h>
#include <stdio.h>
static void go(struct hn_user *u)
{
    char path[128];
    snprintf(path, sizeof path, "/ROUTE/%s", hn_param(u, "tag"));
    hn_request(u, "GET", path, &(struct hn_req){.name = "/ROUTE"});
}
static const struct hn_task tasks[] = {{.name = "go", .fn = go, .weight = 1}, {0}};
static const struct hn_user_type types[] = {
    {.name = "TYPE", .weight = 1, .wait = hn_constant(0.05), .tasks = tasks}, {0}};
static const struct hn_param params[] = {
    {.name = "tag", .type = HN_PARAM_STRING, .default_value = "none", .help = "sent along"},
    {0}};
static const struct hn_plugin plugin = {
    .abi_major = HN_ABI_MAJOR, .abi_minor = HN_ABI_MINOR,
    .struct_size = sizeof(struct hn_plugin), .name = "reloadable",
    .user_types = types, .params = params};
HN_PLUGIN(plugin);
"""


def write_plugin(path, type_name, route, broken=False):
    text = PLUGIN.replace("TYPE", type_name).replace("ROUTE", route)
    if broken:
        text = text.replace("char path[128];", "char path[128] oops;")
    # Write and rename, as an editor saving the file does.
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


def routes(target):
    return target.counts()["by_path"]


def run_briefly(test, d, target, requests=20, **extra):
    """A run until the target has served `requests`, then stopped; returns
    hornet's total request count, checked against the target's."""
    st, body = d.call("POST", "/api/swarm", dict(users=4, spawn_rate=100, **extra))
    test.assertEqual(st, 200, body)
    hnlib.wait_until(lambda: target.counts()["total"] >= requests, 60, "requests served")
    d.call("POST", "/api/stop")
    hnlib.wait_until(lambda: d.call("GET", "/api/stats")[1]["state"] == "stopped", 60,
                     "stopped")
    total = d.call("GET", "/api/stats")[1]["total"]["requests"]
    test.assertEqual(total, target.counts()["total"], "hornet's count = the target's")
    return total


def type_names(d):
    return [t["name"] for t in d.call("GET", "/api/config")[1]["user_types"]]


class Reload(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.target = hnlib.DemoTarget()
        cls.target.start()
        cls.path = os.path.join(TMP, "reloadable.c")
        write_plugin(cls.path, "first", "first")
        cls.d = hnlib.Dashboard(["-f", cls.path, "-H", cls.target.url],
                                os.path.join(TMP, "dash.log"), env=hnlib.clean_env(CACHE))

    @classmethod
    def tearDownClass(cls):
        cls.d.close()
        cls.target.stop()

    def test_1_edit_reload_run(self):
        d, t = self.d, self.target
        st, status = d.call("GET", "/api/plugin")
        self.assertEqual(st, 200, status)
        self.assertEqual((status["changed"], status["reloadable"], status["reloads"]),
                         (False, True, 0))
        t.reset()
        run_briefly(self, d, t)
        self.assertEqual(set(routes(t)), {"GET /first/none"})
        # A parameter's value is set for this and the next runs; then the file changes.
        t.reset()
        run_briefly(self, d, t, params={"tag": "kept"})
        self.assertEqual(set(routes(t)), {"GET /first/kept"})
        write_plugin(self.path, "second", "second")
        hnlib.wait_until(lambda: d.call("GET", "/api/plugin")[1]["changed"], 10,
                         "the change seen")
        st, body = d.call("POST", "/api/plugin/reload")
        self.assertEqual(st, 200, body)
        self.assertEqual([u["name"] for u in body["user_types"]], ["second"])
        self.assertEqual((body["plugin"]["changed"], body["plugin"]["reloads"]), (False, 1))
        self.assertEqual(type_names(d), ["second"])
        t.reset()
        run_briefly(self, d, t)
        self.assertEqual(set(routes(t)), {"GET /second/kept"})  # the value carried over
        names = {e["name"] for e in d.call("GET", "/api/stats")[1]["entries"]}
        self.assertEqual(names, {"/second"})

    def test_2_compile_error_keeps_the_old_plugin(self):
        d, t = self.d, self.target
        write_plugin(self.path, "third", "third", broken=True)
        st, body = d.call("POST", "/api/plugin/reload")
        self.assertEqual(st, 422, body)
        self.assertIn("compilation failed", body["error"])
        self.assertIn("reloadable.c:", body["error"])   # the compiler's own words
        self.assertIn("oops", body["error"])
        status = d.call("GET", "/api/plugin")[1]
        self.assertIn("compilation failed", status["error"])
        self.assertTrue(status["changed"])
        self.assertEqual(type_names(d), ["second"])
        t.reset()
        run_briefly(self, d, t)
        self.assertEqual(set(routes(t)), {"GET /second/kept"})
        # Fixed: the reload works and the error is gone.
        write_plugin(self.path, "third", "third")
        st, body = d.call("POST", "/api/plugin/reload")
        self.assertEqual(st, 200, body)
        self.assertIsNone(body["plugin"]["error"])
        self.assertEqual(type_names(d), ["third"])

    def test_3_refused_while_running(self):
        d = self.d
        st, body = d.call("POST", "/api/swarm", {"users": 2, "spawn_rate": 100})
        self.assertEqual(st, 200, body)
        st, body = d.call("POST", "/api/plugin/reload")
        self.assertEqual(st, 409, body)
        self.assertIn("stop it before reloading", body["error"])
        d.call("POST", "/api/stop")
        hnlib.wait_until(lambda: d.call("GET", "/api/stats")[1]["state"] == "stopped", 60,
                         "stopped")
        st, body = d.call("GET", "/api/plugin/reload")
        self.assertEqual(st, 405, body)


class SharedObject(unittest.TestCase):
    def test_so_rebuilt_in_place(self):
        """dlopen of a path already loaded returns the loaded object: the
        reload must load the file as it is now."""
        src, so = os.path.join(TMP, "so.c"), os.path.join(TMP, "rebuilt.so")
        include = os.path.join(hnlib.source_dir(), "include")

        def build(type_name, route):
            write_plugin(src, type_name, route)
            subprocess.run(["cc", "-shared", "-fPIC", "-O1", "-I", include, "-o", so + ".new",
                            src], check=True)
            os.replace(so + ".new", so)

        build("old_so", "old")
        with hnlib.DemoTarget() as t, \
                hnlib.Dashboard(["-f", so, "-H", t.url], os.path.join(TMP, "so.log"),
                                env=hnlib.clean_env(CACHE)) as d:
            self.assertEqual(type_names(d), ["old_so"])
            build("new_so", "new")
            st, body = d.call("POST", "/api/plugin/reload")
            self.assertEqual(st, 200, body)
            self.assertEqual(type_names(d), ["new_so"])
            run_briefly(self, d, t, 10)
            self.assertEqual(set(routes(t)), {"GET /new/none"})
            # Reloading the same file again gives a fresh copy too.
            st, body = d.call("POST", "/api/plugin/reload")
            self.assertEqual(st, 200, body)
            self.assertEqual(body["plugin"]["reloads"], 2)


class BuiltIn(unittest.TestCase):
    def test_builtin_is_not_reloadable(self):
        with hnlib.Dashboard(["--demo"], os.path.join(TMP, "demo.log"),
                             env=hnlib.clean_env(CACHE)) as d:
            status = d.call("GET", "/api/plugin")[1]
            self.assertFalse(status["reloadable"])
            st, body = d.call("POST", "/api/plugin/reload")
            self.assertEqual(st, 409, body)
            self.assertIn("built-in plugin cannot be reloaded", body["error"])


class Master(unittest.TestCase):
    def test_workers_get_the_new_plugin(self):
        path = os.path.join(TMP, "cluster.c")
        write_plugin(path, "before", "before")
        with hnlib.DemoTarget() as t, \
                hnlib.Dashboard(["--processes", "2", "-f", path, "-H", t.url],
                                os.path.join(TMP, "master.log"), env=hnlib.clean_env(CACHE)) as d:
            def ready():
                return d.call("GET", "/api/workers")[1]["worker_count"] == 2
            hnlib.wait_until(ready, 120, "2 workers")
            run_briefly(self, d, t)
            self.assertEqual(set(routes(t)), {"GET /before/none"})
            write_plugin(path, "after", "after")
            st, body = d.call("POST", "/api/plugin/reload")
            self.assertEqual(st, 200, body)
            # They are welcomed again, each loading the new file: a start
            # is refused until one has ("no worker is connected").
            t.reset()
            hnlib.wait_until(lambda: d.call("POST", "/api/swarm",
                                            {"users": 4, "spawn_rate": 100})[0] == 200,
                             120, "a start accepted after the reload")
            hnlib.wait_until(ready, 120, "2 workers again")
            d.call("POST", "/api/stop")
            hnlib.wait_until(lambda: d.call("GET", "/api/stats")[1]["state"] == "stopped", 60,
                             "stopped")
            t.reset()
            run_briefly(self, d, t)
            self.assertEqual(set(routes(t)), {"GET /after/none"})
            with open(os.path.join(TMP, "master.log")) as f:
                self.assertIn("plugin reloaded", f.read())


if __name__ == "__main__":
    sys.exit(hnlib.run_checks())
