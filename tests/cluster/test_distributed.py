#!/usr/bin/env python3
"""Distributed mode through real processes on 127.0.0.1: a master
(`hornet --master`, dashboard and API, no users) and worker processes
(`hornet --worker`) against the demo target.

Checks: users spread over 3 workers as asked, resize, pause and stop act
cluster-wide, and the master's request count equals the target's own count;
percentiles of a distributed run equal a single process's and a direct
computation (a plugin that records a known set of timings); --processes;
a worker killed with SIGKILL is marked missing and its users re-spread, and
a new worker joins and gets its share; a killed master makes workers stop
their users and wait, and they rejoin a new master on the same port; a
worker with another plugin is refused with one clear line; bad distributed
options exit 2.

Every process is bounded in time and killed at the end. Prints one line per
check and a final "N passed, N failed" line."""

import json
import math
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import hnlib  # noqa: E402

DASH_RE = re.compile(r"hornet dashboard: http://127\.0\.0\.1:(\d+)/")
ZMQ_RE = re.compile(r"master: waiting for workers on [^ ]*:(\d+)")
CACHE = tempfile.mkdtemp(prefix="hn-dist-cache-")


def hello_plugin():
    return os.path.join(hnlib.source_dir(), "plugins", "hello.c")


class Proc:
    """A hornet process whose stdout/stderr are collected in the background."""

    def __init__(self, args, env=None, prefix=()):
        self.args = list(prefix) + [hnlib.hornet_path()] + list(args)
        self.p = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, env=env or hnlib.clean_env(CACHE))
        self.out, self.err = [], []
        self._threads = [threading.Thread(target=self._pump, args=(s, b), daemon=True)
                         for s, b in ((self.p.stdout, self.out), (self.p.stderr, self.err))]
        for t in self._threads:
            t.start()

    @staticmethod
    def _pump(stream, buf):
        for line in stream:
            buf.append(line)

    def text(self):
        return "".join(self.err)

    def wait_for(self, regex, where="err", timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            m = regex.search("".join(self.out if where == "out" else self.err))
            if m:
                return m
            if self.p.poll() is not None:
                # Exited: the pumps end at EOF, so everything it wrote is read.
                for t in self._threads:
                    t.join(10)
                m = regex.search("".join(self.out if where == "out" else self.err))
                if m:
                    return m
                break
            time.sleep(0.05)
        raise AssertionError("%s: no line matching %r (exit %s); stderr:\n%s"
                             % (" ".join(self.args[1:4]), regex.pattern, self.p.poll(),
                                self.text()[-3000:]))

    def signal(self, sig):
        if self.p.poll() is None:
            self.p.send_signal(sig)

    def wait(self, timeout=20):
        try:
            return self.p.wait(timeout)
        finally:
            for t in self._threads:
                t.join(2)

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
        self.wait(10)

    def check(self, what):
        self.wait(10)
        proc = subprocess.CompletedProcess(self.args, self.p.returncode, "".join(self.out),
                                           self.text())
        hnlib.check_no_crash(proc, what)


class Master(Proc):
    def __init__(self, plugin, host, extra=(), bind_port=0):
        super().__init__(["--master", "--master-bind-port", str(bind_port), "--web-port", "0",
                          "-f", plugin, "-H", host] + list(extra))
        # On a fresh cache the master compiles the plugin with cc first.
        self.web = int(self.wait_for(DASH_RE, "out", 120).group(1))
        self.zmq = int(self.wait_for(ZMQ_RE).group(1))

    def api(self, method, path, body=None):
        status, _, data = hnlib.http_request(self.web, method, path,
                                             json.dumps(body) if body is not None else None,
                                             {"Content-Type": "application/json"}
                                             if body is not None else None)
        return status, json.loads(data) if data else None

    def stats(self):
        return self.api("GET", "/api/stats")[1]

    def until(self, what, pred, timeout=30):
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            last = self.stats()
            if pred(last):
                return last
            time.sleep(0.2)
        raise AssertionError("timed out waiting for %s; last snapshot: users=%s state=%s "
                             "workers=%s" % (what, last.get("users"), last.get("state"),
                                             [(w["id"], w["state"], w["users"])
                                              for w in last.get("workers", [])]))


def worker(port, plugin=None, extra=()):
    """plugin None: hello.c; "": none (the worker runs the master's)."""
    if plugin is None:
        plugin = hello_plugin()
    return Proc(["--worker", "--master-port", str(port)] + (["-f", plugin] if plugin else [])
                + list(extra))


def served_more_than(target, n):
    """A predicate (for until/wait_until): the target served more than n requests."""
    return lambda *_: target.counts()["total"] > n


def live(s):
    return [w for w in s["workers"] if w["state"] != "missing"]


def users_are(n, per_worker=None, workers=None):
    def pred(s):
        ws = live(s)
        if workers is not None and len(ws) != workers:
            return False
        if sum(w["users"] for w in ws) != n or s["users"] != n:
            return False
        return per_worker is None or sorted(w["users"] for w in ws) == sorted(per_worker)
    return pred


class Cluster:
    """A demo target, a master and n workers; everything killed on exit."""

    def __init__(self, n, plugin=None):
        self.plugin = plugin or hello_plugin()
        self.target = hnlib.DemoTarget()
        self.procs = []
        self.n = n

    def __enter__(self):
        self.target.start()
        self.master = Master(self.plugin, "http://127.0.0.1:%d" % self.target.port)
        self.procs.append(self.master)
        self.workers = [self.add_worker() for _ in range(self.n)]
        self.master.until("%d workers" % self.n, lambda s: s["worker_count"] == self.n, 60)
        return self

    def add_worker(self, port=None, plugin=None):
        w = worker(port or self.master.zmq, self.plugin if plugin is None else plugin)
        self.procs.append(w)
        return w

    def __exit__(self, exc_type, *exc):
        try:
            if exc_type is None:
                # A master that quits tells its workers to quit: all exit 0.
                self.master.signal(signal.SIGTERM)
                for p in self.procs:
                    if p.p.poll() is None or p.p.returncode >= 0:
                        p.wait(20)
        finally:
            for p in self.procs:
                p.kill()
            self.target.stop()


class DistributedTest(unittest.TestCase):
    def test_spread_resize_pause_stop_and_counts(self):
        """3 workers: 30 users as 10/10/10, resize to 12 (4 each), pause and resume act
        everywhere, stop; the master's total equals the target's count"""
        with Cluster(3) as c:
            m = c.master
            status, body = m.api("POST", "/api/swarm", {"users": 30, "spawn_rate": 60})
            self.assertEqual(status, 200, body)
            m.until("30 users as 10/10/10", users_are(30, [10, 10, 10], 3))
            self.assertEqual(m.api("POST", "/api/resize", {"users": 12})[0], 200)
            m.until("12 users as 4/4/4", users_are(12, [4, 4, 4], 3))
            # The count checks below need a run that made requests, not a second of it.
            hnlib.wait_until(served_more_than(c.target, 50), 30, "more than 50 requests served")
            self.assertEqual(m.api("POST", "/api/pause")[0], 200)
            m.until("all workers paused",
                    lambda s: all(w["state"] == "paused" for w in live(s)), 30)
            before = c.target.counts()["total"]
            time.sleep(1.5)  # an observation window: nothing may happen while paused
            self.assertEqual(c.target.counts()["total"], before, "requests while paused")
            self.assertEqual(m.api("POST", "/api/resume")[0], 200)
            m.until("requests again", lambda s: c.target.counts()["total"] > before, 30)
            self.assertEqual(m.api("POST", "/api/stop")[0], 200)
            s = m.until("stopped", lambda s: s["state"] == "stopped", 30)
            counts = c.target.counts()
            self.assertGreater(counts["total"], 50)
            self.assertEqual(s["total"]["requests"], counts["total"],
                             "the master counted %d requests, the target served %d"
                             % (s["total"]["requests"], counts["total"]))
            self.assertEqual(s["total"]["failures"], 0)
            for w in s["workers"]:
                self.assertEqual(w["state"], "stopped", w)
                self.assertEqual(w["users"], 0, w)
            # Reset while stopped clears the master's tables; late deltas of the old
            # epoch would be dropped.
            self.assertEqual(m.api("POST", "/api/reset")[0], 200)
            s = m.until("reset", lambda s: s["total"]["requests"] == 0, 30)
            time.sleep(1.5)  # an observation window: late deltas arrive within a report or two
            self.assertEqual(m.stats()["total"]["requests"], 0)
            # A second run on the same cluster counts from zero again.
            c.target.reset()
            self.assertEqual(m.api("POST", "/api/swarm", {"users": 6, "spawn_rate": 100})[0], 200)
            m.until("6 users as 2/2/2", users_are(6, [2, 2, 2], 3))
            # Equal counts only mean something once there are some.
            m.until("requests counted", lambda s: s["total"]["requests"] > 0)
            self.assertEqual(m.api("POST", "/api/stop")[0], 200)
            s = m.until("stopped", lambda s: s["state"] == "stopped", 30)
            self.assertEqual(s["total"]["requests"], c.target.counts()["total"])
        for p in c.procs:
            p.check(" ".join(p.args[1:3]))
            self.assertEqual(p.p.returncode, 0, p.text()[-2000:])

    def test_percentiles_equal_single_process(self):
        """--processes 3: every timing merges exactly; the master's percentiles equal a
        single process's and the nearest-rank computation over the known timings"""
        plugin = hnlib.plugin_so("fixed_timings")
        tmp = tempfile.mkdtemp(prefix="hn-dist-")
        common = ["-f", plugin, "--headless", "-u", "30", "-r", "300", "-t", "3s",
                  "-H", "tcp://127.0.0.1:9", "--exit-code-on-error", "0"]
        dist = subprocess.run([hnlib.hornet_path(), "--processes", "3", "--json",
                               os.path.join(tmp, "dist.json")] + common,
                              capture_output=True, text=True, timeout=90,
                              env=hnlib.clean_env(CACHE))
        hnlib.check_no_crash(dist, "hornet --processes 3")
        self.assertEqual(dist.returncode, 0, dist.stderr[-2000:])
        single = subprocess.run([hnlib.hornet_path(), "--json", os.path.join(tmp, "one.json")]
                                + common, capture_output=True, text=True, timeout=90,
                                env=hnlib.clean_env(CACHE))
        self.assertEqual(single.returncode, 0, single.stderr[-2000:])
        with open(os.path.join(tmp, "dist.json")) as f:
            d = json.load(f)
        with open(os.path.join(tmp, "one.json")) as f:
            o = json.load(f)
        self.assertEqual(len(d.get("workers", [])), 3, d.get("workers"))

        values = sorted(((i * 37) % 128) for i in range(200)) * 30
        values.sort()
        expect = {}
        for q in (0.5, 0.66, 0.75, 0.8, 0.9, 0.95, 0.98, 0.99, 0.999, 0.9999, 1.0):
            rank = max(1, math.ceil(q * len(values) - 1e-9))
            expect[q] = values[rank - 1] / 1000.0
        de, oe = d["entries"][0], o["entries"][0]
        self.assertEqual(de["requests"], 30 * 200)
        self.assertEqual(de["failures"], 30 * 4)
        self.assertEqual((de["requests"], de["failures"]), (oe["requests"], oe["failures"]))
        for key in ("min_ms", "max_ms", "median_ms", "avg_ms", "avg_bytes"):
            self.assertAlmostEqual(de[key], oe[key], places=9, msg=key)
        dp, op = de["percentiles"], oe["percentiles"]
        self.assertEqual(dp, op)
        for q, v in expect.items():
            key = next(k for k in dp if abs(float(k) / 100 - q) < 1e-9)
            self.assertAlmostEqual(dp[key], v, places=9, msg="percentile %s" % key)
        self.assertEqual(d["errors"][0]["count"], 30 * 4)
        # The local workers are gone with their master (they may take a moment to exit).
        def workers_left():
            return subprocess.run(["pgrep", "-f", "--", "--worker .*-f %s" % re.escape(plugin)],
                                  capture_output=True, text=True).stdout.strip()
        try:
            hnlib.wait_until(lambda: not workers_left(), 20, "the local workers to exit")
        except AssertionError:
            self.fail("worker processes left behind: %s" % workers_left())

    def test_worker_killed_respread_and_rejoin(self):
        """SIGKILL one of 3 workers: it is marked missing within a few seconds, its users
        go to the other two, the run continues; a new worker joins and gets its share"""
        with Cluster(3) as c:
            m = c.master
            self.assertEqual(m.api("POST", "/api/swarm", {"users": 30, "spawn_rate": 100})[0],
                             200)
            m.until("10/10/10", users_are(30, [10, 10, 10], 3))
            killed_at = time.time()
            c.workers[0].p.kill()
            s = m.until("the killed worker missing",
                        lambda s: any(w["state"] == "missing" for w in s["workers"]), 10)
            self.assertLess(time.time() - killed_at, 8)
            m.until("15/15 on the other two", users_are(30, [15, 15], 2), 30)
            before = c.target.counts()["total"]
            hnlib.wait_until(served_more_than(c.target, before), 30,
                             "more requests: the run must go on")
            c.add_worker()
            m.until("10/10/10 with the new worker", users_are(30, [10, 10, 10], 3), 60)
            self.assertEqual(m.api("POST", "/api/stop")[0], 200)
            s = m.until("stopped", lambda s: s["state"] == "stopped", 30)
            served = c.target.counts()["total"]
            # The killed worker's last unreported second is lost with it.
            self.assertLessEqual(s["total"]["requests"], served)
            self.assertGreater(s["total"]["requests"], served * 0.8)
            self.assertIn("missing", [w["state"] for w in s["workers"]])

    def test_open_model_resplit_when_a_worker_is_lost(self):
        """--arrival-rate over 3 workers: every worker takes a share; SIGKILL one and the
        other two take its share, so the cluster keeps the whole rate"""
        with Cluster(3) as c:
            m = c.master
            status, body = m.api("POST", "/api/swarm", {"arrival_rate": 30, "users": 60})
            self.assertEqual(status, 200, body)
            m.until("a pool on each of the 3 workers",
                    lambda s: len(live(s)) == 3 and all(w["users"] > 0 for w in live(s)), 30)

            def rate_over(seconds):
                """Iterations per second the master counted over a window."""
                i0, t0 = m.stats()["open"]["iterations"], time.monotonic()
                time.sleep(seconds)  # the observation window itself
                return (m.stats()["open"]["iterations"] - i0) / (time.monotonic() - t0)

            c.workers[0].p.kill()
            m.until("the killed worker missing",
                    lambda s: any(w["state"] == "missing" for w in s["workers"]), 15)
            # Workers report once a second: an 8 s window is exact to 1/8.
            got = rate_over(8)
            self.assertGreater(got, 30 * 0.85, "the lost worker's share was not re-split")
            self.assertLess(got, 30 * 1.15)
            s = m.stats()
            self.assertEqual(s["open"]["arrival_rate"], 30)
            self.assertEqual(m.api("POST", "/api/stop")[0], 200)
            m.until("stopped", lambda s: s["state"] == "stopped", 30)

    def test_picker_reaches_the_workers(self):
        """the user type picker on a master: only the picked type runs on the workers, with
        its chosen task and host (the second target's own counts say so)"""
        shop = os.path.join(hnlib.source_dir(), "plugins", "shop.c")
        other = hnlib.DemoTarget()
        other.start()
        try:
            with Cluster(2, plugin=shop) as c:
                m = c.master
                status, body = m.api("POST", "/api/swarm", {
                    "users": 4, "spawn_rate": 40,
                    "user_types": [{"name": "browser", "tasks": ["json"], "host": other.url}]})
                self.assertEqual(status, 200, body)
                m.until("4 browsers on 2 workers", users_are(4, [2, 2], 2))
                hnlib.wait_until(served_more_than(other, 3), 30, "requests at the picked host")
                self.assertEqual(m.api("POST", "/api/stop")[0], 200)
                m.until("stopped", lambda s: s["state"] == "stopped", 30)
                self.assertEqual(set(other.counts()["by_route"]), {"GET /json"})
                self.assertEqual(c.target.counts()["total"], 0)
                ratios = {r["user_type"]: r["users"] for r in m.stats()["ratios"]}
                self.assertEqual(set(ratios), {"browser"})
        finally:
            other.stop()

    def test_stalled_worker_is_welcomed_back(self):
        """A worker that stops answering (SIGSTOP) is marked missing and its users go
        to the others; when it returns (SIGCONT) it is welcomed back and rebalanced"""
        with Cluster(2) as c:
            m = c.master
            self.assertEqual(m.api("POST", "/api/swarm", {"users": 10, "spawn_rate": 100})[0],
                             200)
            m.until("5/5", users_are(10, [5, 5], 2))
            c.workers[0].signal(signal.SIGSTOP)
            try:
                m.until("one missing", lambda s: any(w["state"] == "missing"
                                                     for w in s["workers"]), 30)
                m.until("10 on the other", users_are(10, [10], 1), 30)
            finally:
                c.workers[0].signal(signal.SIGCONT)
            m.until("5/5 again", users_are(10, [5, 5], 2), 60)
            self.assertEqual(m.api("POST", "/api/stop")[0], 200)
            s = m.until("stopped", lambda s: s["state"] == "stopped", 30)
            self.assertEqual(s["total"]["requests"], c.target.counts()["total"])

    def test_master_stall_does_not_end_the_run(self):
        """A master frozen for longer than the workers' patience (SIGSTOP 7 s): workers
        stop their users, then rejoin when it thaws, and the run goes on; worker log
        lines reach the master's log"""
        with Cluster(2) as c:
            m = c.master
            self.assertEqual(m.api("POST", "/api/swarm", {"users": 6, "spawn_rate": 100})[0],
                             200)
            m.until("3/3", users_are(6, [3, 3], 2))
            m.signal(signal.SIGSTOP)
            try:
                # Frozen until every worker ran out of patience (5 s), however
                # long that takes on this machine, and at least 7 s.
                frozen = time.monotonic()
                hnlib.wait_until(lambda: all("lost the master" in w.text() for w in c.workers),
                                 60, "both workers to log 'lost the master'")
                time.sleep(max(0.0, 7 - (time.monotonic() - frozen)))
            finally:
                m.signal(signal.SIGCONT)
            m.until("3/3 again", users_are(6, [3, 3], 2), 60)
            time.sleep(1)  # the run goes on: still running a second later
            s = m.stats()
            self.assertEqual(s["state"], "running", s.get("stop_reason"))
            self.assertIn("lost the master", c.workers[0].text())
            wid = s["workers"][0]["id"]
            # Forwarded with the worker's next report.
            hnlib.wait_until(lambda: re.search(r"\[%s\] " % re.escape(wid), m.text()), 30,
                             "a log line of worker %s in the master's log" % wid)

    def test_master_killed_workers_stop_and_rejoin(self):
        """SIGKILL the master: workers stop their users and wait; a new master on the
        same port gets them back; a master that quits makes them exit 0"""
        with Cluster(2) as c:
            m = c.master
            self.assertEqual(m.api("POST", "/api/swarm", {"users": 10, "spawn_rate": 100})[0],
                             200)
            m.until("5/5", users_are(10, [5, 5], 2))
            port = m.zmq
            m.p.kill()
            # Users stop after the master timeout (5 s), then the target goes quiet.
            hnlib.wait_until(lambda: all("lost the master" in w.text() for w in c.workers),
                             60, "both workers to log 'lost the master'")
            deadline = time.time() + 30
            quiet = False
            while time.time() < deadline and not quiet:
                a = c.target.counts()["total"]
                time.sleep(1.0)
                quiet = c.target.counts()["total"] == a
            self.assertTrue(quiet, "workers kept sending requests without a master")
            for w in c.workers:
                self.assertIsNone(w.p.poll(), "a worker exited instead of waiting")
                self.assertIn("lost the master", w.text())
            m2 = Master(c.plugin, "http://127.0.0.1:%d" % c.target.port, bind_port=port)
            c.procs.append(m2)
            m2.until("the workers back", lambda s: s["worker_count"] == 2, 60)
            # The new master's first run is a run like any other.
            c.target.reset()
            self.assertEqual(m2.api("POST", "/api/swarm", {"users": 4, "spawn_rate": 100})[0],
                             200)
            m2.until("2/2", users_are(4, [2, 2], 2))
            m2.until("requests counted", lambda s: s["total"]["requests"] > 0)
            time.sleep(1.5)  # and still running a while later
            s = m2.stats()
            self.assertEqual(s["state"], "running", s.get("stop_reason"))
            self.assertEqual(m2.api("POST", "/api/stop")[0], 200)
            s = m2.until("stopped", lambda s: s["state"] == "stopped", 30)
            self.assertEqual(s["total"]["requests"], c.target.counts()["total"])
            m2.signal(signal.SIGTERM)
            self.assertEqual(m2.wait(20), 0)
            for w in c.workers:
                self.assertEqual(w.wait(15), 0, w.text()[-2000:])
                self.assertIn("the master quit", w.text())

    def test_worker_without_plugin_runs_the_masters(self):
        """A worker started without -f receives the master's plugin, checks its hash,
        compiles it and runs its share of the users"""
        with Cluster(1) as c:
            bare = c.add_worker(plugin="")
            c.master.until("2 workers", lambda s: s["worker_count"] == 2, 60)
            self.assertIn("running the master's plugin hello.c", bare.text())
            m = c.master
            self.assertEqual(m.api("POST", "/api/swarm", {"users": 4, "spawn_rate": 100})[0],
                             200)
            m.until("2/2", users_are(4, [2, 2], 2))
            m.until("requests counted", lambda s: s["total"]["requests"] > 0)
            self.assertEqual(m.api("POST", "/api/stop")[0], 200)
            s = m.until("stopped", lambda s: s["state"] == "stopped", 30)
            self.assertEqual(s["total"]["requests"], c.target.counts()["total"])

    def test_refused_worker(self):
        """A worker with a different plugin is refused: exit 2, one clear line"""
        with Cluster(1) as c:
            other = c.add_worker(plugin=hnlib.plugin_so("fixed_timings"))
            rc = other.wait(60)
            self.assertEqual(rc, 2, other.text())
            lines = hnlib.stderr_lines(other.text())
            self.assertRegex(lines[-1], r"^hornet: the master refused this worker: its plugin "
                                        r"differs from the master's")
            self.assertEqual(c.master.stats()["worker_count"], 1)

    def test_worker_processes_forward_sigterm(self):
        """--worker --processes 2 starts two workers; SIGTERM to the parent stops both,
        they say bye, and the parent exits 0"""
        with Cluster(0) as c:
            group = Proc(["--worker", "--processes", "2", "--master-port", str(c.master.zmq),
                          "-f", c.plugin])
            c.procs.append(group)
            c.master.until("2 workers", lambda s: s["worker_count"] == 2, 60)
            group.signal(signal.SIGTERM)
            self.assertEqual(group.wait(30), 0, group.text()[-2000:])
            c.master.until("none left", lambda s: len(s["workers"]) == 0, 30)

    def test_processes_use_the_bind_address(self):
        """--processes with --master-bind-host 127.0.0.2: the local workers connect there"""
        r = subprocess.run([hnlib.hornet_path(), "--processes", "1", "--master-bind-host",
                            "127.0.0.2", "-f", hnlib.plugin_so("fixed_timings"), "--headless",
                            "-u", "2", "-r", "100", "-t", "1s", "-H", "tcp://127.0.0.1:9",
                            "--exit-code-on-error", "0", "--expect-workers-max-wait", "30s"],
                           capture_output=True, text=True, timeout=90, env=hnlib.clean_env(CACHE))
        hnlib.check_no_crash(r)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        self.assertIn("waiting for workers on 127.0.0.2:", r.stderr)

    def test_option_errors(self):
        """Bad distributed options exit 2 with a line naming the option"""
        cases = [
            (["--master", "--worker"], r"--master.* and --worker.* cannot be combined"),
            (["--worker", "--master-port", "0"], r"--master-port expects a port from 1"),
            (["--worker", "--master-host", "http://x"], r"--master-host expects a host name"),
            (["--expect-workers", "2"], r"--expect-workers.* needs --master"),
            (["--worker", "--headless"], r"--worker runs what the master says"),
            (["--processes", "0"], r"--processes expects a whole number from 1"),
            (["--master", "--demo"], r"--demo runs on one machine"),
        ]
        for args, pattern in cases:
            with self.subTest(args=args):
                r = subprocess.run([hnlib.hornet_path(), "-f", hello_plugin()] + args,
                                   capture_output=True, text=True, timeout=30,
                                   env=hnlib.clean_env(CACHE))
                hnlib.check_no_crash(r)
                self.assertEqual(r.returncode, 2, r.stderr)
                lines = hnlib.stderr_lines(r.stderr)
                self.assertEqual(len(lines), 1, r.stderr)
                self.assertRegex(lines[0], "^hornet: " + pattern)

    def test_bind_port_in_use(self):
        """A master whose port is taken says so and exits 2"""
        with hnlib.DemoTarget() as t:
            first = Master(hello_plugin(), "http://127.0.0.1:%d" % t.port)
            try:
                r = subprocess.run([hnlib.hornet_path(), "--master", "--master-bind-port",
                                    str(first.zmq), "--web-port", "0", "-f", hello_plugin()],
                                   capture_output=True, text=True, timeout=30,
                                   env=hnlib.clean_env(CACHE))
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertRegex(hnlib.stderr_lines(r.stderr)[-1],
                                 r"^hornet: --master-bind-host/--master-bind-port: cannot "
                                 r"listen on 127\.0\.0\.1:%d: Address already in use"
                                 % first.zmq)
            finally:
                first.kill()


if __name__ == "__main__":
    sys.exit(hnlib.run_checks())
