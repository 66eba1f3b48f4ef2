#!/usr/bin/env python3
"""GET /metrics against Debian's real Prometheus server.

- a dashboard runs the odd_names plugin (names with quotes, backslashes, a
  line feed, commas, UTF-8 and a byte that is not UTF-8) while Prometheus,
  started here on 127.0.0.1 with a temporary configuration and data folder,
  scrapes it every second; after the run Prometheus' own query API gives the
  same requests and failures per entry as hornet's JSON, label values read
  back as hornet wrote them, and histogram_quantile(0.95) agrees with
  hornet's p95 within the width of the bucket that holds it;
- promtool (the same package) lints a scrape;
- the metrics every Grafana panel in packaging/grafana queries exist and
  each query returns data;
- --metrics-buckets sets the bounds; bad ones exit 2 with one line;
- /metrics needs the dashboard's credentials when --web-auth is on.
"""
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse
import urllib.request

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import hnlib  # noqa: E402

TMP = tempfile.mkdtemp(prefix="hn-prometheus-")
CACHE = os.path.join(TMP, "cache")
ODD = hnlib.plugin_so("odd_names")
DEFAULT_LE = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Prometheus:
    """Debian's prometheus on 127.0.0.1, scraping targets every second."""

    def __init__(self, targets, auth=None):
        self.dir = tempfile.mkdtemp(prefix="prom-", dir=TMP)
        conf = os.path.join(self.dir, "prometheus.yml")
        with open(conf, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                    "scrape_configs:\n  - job_name: hornet\n    metrics_path: /metrics\n")
            if auth:
                f.write("    basic_auth:\n      username: %s\n      password: %s\n" % auth)
            f.write("    static_configs:\n      - targets: [%s]\n"
                    % ", ".join("'%s'" % t for t in targets))
        for _ in range(5):  # a port another process took meanwhile: try another
            self.port = free_port()
            self.log = open(os.path.join(self.dir, "prometheus.log"), "w")
            self.proc = subprocess.Popen(
                ["prometheus", "--config.file=" + conf,
                 "--storage.tsdb.path=" + os.path.join(self.dir, "data"),
                 "--web.listen-address=127.0.0.1:%d" % self.port, "--log.level=warn"],
                stdout=self.log, stderr=subprocess.STDOUT)
            try:
                hnlib.wait_until(lambda: self._ready(), 60, "prometheus to be ready")
                return
            except AssertionError:
                self.close()
        raise AssertionError("prometheus did not start: " + open(self.log.name).read()[-2000:])

    def _ready(self):
        if self.proc.poll() is not None:
            raise AssertionError("prometheus exited: " + open(self.log.name).read()[-2000:])
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/-/ready" % self.port, timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def query(self, expr):
        url = "http://127.0.0.1:%d/api/v1/query?%s" % (
            self.port, urllib.parse.urlencode({"query": expr}))
        with urllib.request.urlopen(url, timeout=10) as r:
            doc = json.load(r)
        assert doc["status"] == "success", doc
        return doc["data"]["result"]

    def scalar(self, expr):
        res = self.query(expr)
        return float(res[0]["value"][1]) if res else None

    def close(self):
        hnlib.stop_server(self.proc)
        self.log.close()


def dashboard(extra, name):
    return hnlib.Dashboard(["-f", ODD, "--threads", "1"] + extra, os.path.join(TMP, name + ".log"),
                           env=hnlib.clean_env(CACHE))


def scrape(port, auth=None):
    headers = {"Authorization": auth} if auth else None
    return hnlib.http_request(port, "GET", "/metrics", headers=headers)


def entry_key(labels):
    return (labels["method"], labels["name"])


class AgainstPrometheus(unittest.TestCase):
    def test_query_api_agrees_with_hornet(self):
        with dashboard(["--threshold", "p95<1s", "--threshold", "fail_ratio<1%"], "prom") as d:
            prom = Prometheus(["127.0.0.1:%d" % d.port])
            try:
                self.check_run(d, prom)
            finally:
                prom.close()

    def check_run(self, d, prom):
        # Prometheus applies its targets a few seconds after it is ready: the
        # run starts once it scrapes, so the run's seconds are all in it.
        hnlib.wait_until(lambda: prom.scalar('hornet_state{state="ready"}') == 1, 60,
                         "Prometheus' first scrape")
        status, _ = d.call("POST", "/api/swarm", {"users": 3, "spawn_rate": 10,
                                                  "run_time": "5s"})
        self.assertEqual(status, 200)
        hnlib.wait_until(lambda: d.call("GET", "/api/state")[1]["state"] == "stopped", 60,
                         "the run to stop")
        _, stats = d.call("GET", "/api/stats")
        entries = {(e["type"], e["name"]): e for e in stats["entries"]}
        total = stats["total"]
        self.assertEqual(len(entries), 7)
        total_req = sum(e["requests"] for e in entries.values())
        self.assertGreater(total_req, 50)

        # Prometheus has scraped the final numbers once its sum equals hornet's.
        hnlib.wait_until(lambda: prom.scalar("sum(hornet_requests_total)") == total_req, 60,
                         "Prometheus to hold the run's final requests")
        got = {entry_key(r["metric"]): int(r["value"][1])
               for r in prom.query("hornet_requests_total")}
        self.assertEqual(got, {k: e["requests"] for k, e in entries.items()})
        fails = {entry_key(r["metric"]): int(r["value"][1])
                 for r in prom.query("hornet_failures_total")}
        self.assertEqual(fails, {k: e["failures"] for k, e in entries.items()})
        self.assertEqual(prom.scalar("sum(hornet_failures_total)"),
                         sum(e["failures"] for e in entries.values()))
        # Label values read back as written (invalid UTF-8 shows as U+FFFD).
        self.assertIn(("GET", "line\nbreak"), got)
        self.assertIn(("GET", 'say "hi"'), got)
        self.assertIn(("POST", "back\\slash\\"), got)
        self.assertIn(("GET", "bad\ufffd byte"), got)
        errors = {(r["metric"]["name"], r["metric"]["error"]): int(r["value"][1])
                  for r in prom.query("hornet_errors_total")}
        self.assertEqual(errors[("line\nbreak", "first\nsecond")],
                         entries[("GET", "line\nbreak")]["failures"])

        # p95 of all requests: hornet's (nearest rank) and Prometheus' estimate
        # (interpolated within a bucket) fall in the same bucket.
        p95_ms = total["percentiles"]["95"]
        est = prom.scalar("histogram_quantile(0.95, sum by (le) "
                          "(hornet_response_time_seconds_bucket))")
        upper = min(b for b in DEFAULT_LE if b * 1000 >= p95_ms)
        lower = max([0] + [b for b in DEFAULT_LE if b < upper])
        self.assertTrue(lower <= est <= upper, (p95_ms, est, lower, upper))
        self.assertLessEqual(abs(est * 1000 - p95_ms), (upper - lower) * 1000)
        # _sum / _count is the average.
        avg = prom.scalar('sum(hornet_response_time_seconds_sum{name="/plain"}) / '
                          'sum(hornet_response_time_seconds_count{name="/plain"})')
        self.assertAlmostEqual(avg * 1000, entries[("GET", "/plain")]["avg_ms"],
                               places=3)
        self.assertEqual(prom.scalar('hornet_state{state="stopped"}'), 1)
        self.assertEqual(prom.scalar('hornet_state{state="running"}'), 0)
        self.assertEqual(prom.scalar('hornet_threshold_passing{threshold="p95<1s"}'), 1)
        self.assertEqual(prom.scalar('hornet_threshold_passing{threshold="fail_ratio<1%"}'), 0)
        self.check_grafana_queries(prom, d.port)

        # Counters reset with the stats: the entries go (Prometheus marks
        # their series stale) and come back from zero.
        self.assertEqual(d.call("POST", "/api/reset")[0], 200)
        hnlib.wait_until(lambda: not prom.query("hornet_requests_total"), 60,
                         "Prometheus to see the reset")

    def check_grafana_queries(self, prom, port):
        """Every panel of the Grafana dashboard queries metrics /metrics has
        and gets data back from Prometheus."""
        path = os.path.join(hnlib.source_dir(), "packaging", "grafana", "hornet.json")
        with open(path) as f:
            board = json.load(f)
        exprs = [t["expr"] for p in board["panels"] for t in p.get("targets", [])]
        self.assertGreaterEqual(len(exprs), 5)
        exposed = set(re.findall(r"^# TYPE (\w+)", scrape(port)[2].decode(), re.M))
        for expr in exprs:
            # Dashboard variables: $__rate_interval, $method, $name.
            q = (expr.replace("$__rate_interval", "1m").replace("$__interval", "1m")
                 .replace('=~"$method"', '=~".*"').replace('=~"$name"', '=~".*"'))
            for metric in re.findall(r"\b(hornet_\w+)", q):
                base = re.sub(r"_(bucket|sum|count)$", "", metric)
                self.assertIn(base, exposed, "%s in %r is not in /metrics" % (metric, expr))
            self.assertTrue(prom.query(q), "no data for Grafana query %r" % q)


class Format(unittest.TestCase):
    def test_promtool_lints_a_scrape(self):
        with dashboard(["--autostart", "-u", "2", "-r", "10", "-t", "30s",
                        "--threshold", "p99<1s"], "lint") as d:
            hnlib.wait_until(lambda: b'hornet_requests_total{method="GET",name="/plain"}'
                             in scrape(d.port)[2], 30, "requests in /metrics")
            status, headers, body = scrape(d.port)
            self.assertEqual(status, 200)
            self.assertEqual(headers["content-type"], "text/plain; version=0.0.4; charset=utf-8")
            r = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            # Each entry's buckets ascend to +Inf; a time on a bound is in its bucket.
            text = body.decode()

            def buckets(name):
                found = re.findall(r'^hornet_response_time_seconds_bucket\{method="GET",'
                                   r'name="%s",le="([^"]+)"\} (\d+)$' % re.escape(name), text,
                                   re.M)
                self.assertEqual([b[0] for b in found], ["%g" % b for b in DEFAULT_LE] + ["+Inf"])
                counts = [int(b[1]) for b in found]
                self.assertEqual(counts, sorted(counts))
                self.assertGreater(counts[-1], 0)
                return counts

            plain = buckets("/plain")                # 1 ms each: all in le="0.001"
            self.assertEqual(plain[0], plain[-1])
            quoted = buckets('say \\"hi\\"')         # 4 ms each: above 2.5 ms, within 5 ms
            self.assertEqual(quoted[1], 0)
            self.assertEqual(quoted[2], quoted[-1])

    def test_metrics_buckets_option(self):
        with dashboard(["--autostart", "-u", "1", "-r", "10", "-t", "30s",
                        "--metrics-buckets", "2ms,0.5s,20s"], "buckets") as d:
            hnlib.wait_until(lambda: b"+Inf" in scrape(d.port)[2], 30, "buckets in /metrics")
            les = re.findall(r'name="/plain",le="([^"]+)"', scrape(d.port)[2].decode())
            self.assertEqual(les, ["0.002", "0.5", "20", "+Inf"])

    def test_bad_buckets_exit_2(self):
        for value in ["", "abc", "5ms,1ms", "1ms,1ms", "-1s", ",".join(["1ms"] * 40)]:
            r = hnlib.run_hornet(["-f", ODD, "--headless", "-t", "1s", "--metrics-buckets",
                                  value], env=hnlib.clean_env(CACHE))
            self.assertEqual(r.returncode, 2, (value, r.stderr))
            lines = r.stderr.strip().splitlines()
            self.assertEqual(len(lines), 1, r.stderr)
            self.assertIn("--metrics-buckets", lines[0])

    def test_master_exposes_the_clusters_numbers(self):
        with hnlib.Dashboard(["-f", ODD, "--processes", "2", "--autostart", "-u", "4", "-r", "20",
                              "-t", "3s"], os.path.join(TMP, "master.log"),
                             env=hnlib.clean_env(CACHE)) as d:
            hnlib.wait_until(lambda: d.call("GET", "/api/state")[1]["state"] == "stopped", 60,
                             "the distributed run to stop")
            _, stats = d.call("GET", "/api/stats")
            text = scrape(d.port)[2].decode()
        got = sum(int(v) for v in re.findall(r"^hornet_requests_total\{.*\} (\d+)$", text, re.M))
        self.assertEqual(got, stats["total"]["requests"])
        self.assertGreater(got, 0)
        self.assertIn("hornet_workers 2.0\n", text)

    def test_web_auth_covers_metrics(self):
        with dashboard(["--web-auth", "ops:s3cret"], "auth") as d:
            self.assertEqual(scrape(d.port)[0], 401)
            ok = "Basic " + __import__("base64").b64encode(b"ops:s3cret").decode()
            self.assertEqual(scrape(d.port, ok)[0], 200)
            prom = Prometheus(["127.0.0.1:%d" % d.port], auth=("ops", "s3cret"))
            try:
                hnlib.wait_until(lambda: prom.scalar('hornet_state{state="ready"}') == 1, 60,
                                 "Prometheus to scrape with credentials")
            finally:
                prom.close()


if __name__ == "__main__":
    hnlib.run_checks()
