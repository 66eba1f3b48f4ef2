#!/usr/bin/env python3
"""--webhook and --slack-webhook against a loopback receiver.

- a dashboard run that breaks a threshold: the receiver gets start,
  threshold_broken and stop, in that order, each checked field by field
  against the run's own numbers; the report link in the stop answers; the
  Slack messages keep to Slack's format (text, Block Kit blocks within their
  limits, mrkdwn escaped) and the webhook's secret path never reaches the log;
- a receiver answering 500: each notice is tried again with backoff, the
  log says so, the run's end waits no longer than --output-timeout;
- a receiver that never answers: the same;
- bad URLs exit 2 with one line;
- the page's /api/config names the outputs that push.
"""
import http.server
import json
import os
import re
import sys
import tempfile
import threading
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import hnlib  # noqa: E402

TMP = tempfile.mkdtemp(prefix="hn-webhooks-")
CACHE = os.path.join(TMP, "cache")
ODD = hnlib.plugin_so("odd_names")
SLACK_PATH = "/services/T0000/B0000/s3cretS3cret"


class Receiver:
    """HTTP on 127.0.0.1 recording each POST (path, headers, JSON body, time);
    mode "ok" answers 200, "fail" 500, "hang" never answers."""

    def __init__(self, mode="ok"):
        self.mode, self.got, self.lock = mode, [], threading.Lock()
        self.release = threading.Event()
        recv = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with recv.lock:
                    recv.got.append((self.path, dict(self.headers), json.loads(body),
                                     time.monotonic()))
                if recv.mode == "hang":
                    recv.release.wait(60)
                    return
                status = 200 if recv.mode == "ok" else 500
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok" if status == 200 else b"no")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self, path):
        with self.lock:
            return [g for g in self.got if g[0] == path]

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def iso(s):
    return re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", s or "") is not None


class Notifications(unittest.TestCase):
    def test_dashboard_run_start_threshold_stop(self):
        recv = Receiver()
        log = os.path.join(TMP, "dash.log")
        try:
            with hnlib.Dashboard(["-f", ODD, "--threads", "1", "--autostart", "-u", "2", "-r", "20",
                                  "-t", "3s", "--threshold", "p95<10ms",
                                  "--threshold", "fail_ratio<90%",
                                  "--webhook", recv.url + "/hook",
                                  "--slack-webhook", recv.url + SLACK_PATH], log,
                                 env=hnlib.clean_env(CACHE)) as d:
                hnlib.wait_until(lambda: len(recv.events("/hook")) >= 3
                                 and len(recv.events(SLACK_PATH)) >= 3, 60, "three notices each")
                _, stats = d.call("GET", "/api/stats")
                _, config = d.call("GET", "/api/config")
                self.check_webhook(recv.events("/hook"), stats, d.port)
                self.check_slack(recv.events(SLACK_PATH), stats, d.port)
                self.assertEqual(config["integrations"],
                                 {"prometheus": "/metrics",
                                  "pushing": "1 webhook, 1 Slack webhook"})
            self.assertEqual(len(recv.events("/hook")), 3)  # each once
        finally:
            recv.close()
        text = open(log).read()
        self.assertNotIn("s3cret", text)

    def check_webhook(self, got, stats, port):
        kinds = [g[2]["event"] for g in got]
        self.assertEqual(kinds, ["start", "threshold_broken", "stop"])
        for path, headers, doc, _ in got:
            self.assertEqual(headers["Content-Type"], "application/json")
            self.assertEqual(doc["source"], "hornet")
            self.assertTrue(doc["plugin"].endswith("odd_names.so"))
            self.assertRegex(doc["version"], r"^\d+\.\d+")
            self.assertTrue(iso(doc["time"]))
            self.assertTrue(iso(doc["run"]["start_time"]))
            self.assertEqual(doc["run"]["run_time_s"], 3)
            self.assertEqual(doc["run"]["target_users"], 2)
            self.assertEqual(doc["dashboard_url"], "http://127.0.0.1:%d/" % port)
            self.assertEqual([t["expr"] for t in doc["thresholds"]],
                             ["p95<10ms", "fail_ratio<90%"])
        start, broke, stop = (g[2] for g in got)
        self.assertIn(start["state"], ("spawning", "running"))
        self.assertIsNone(start["run"]["end_time"])
        self.assertIsNone(start["report_url"])
        self.assertEqual(broke["threshold"]["expr"], "p95<10ms")
        self.assertEqual(broke["threshold"]["verdict"], "fail")
        self.assertGreater(broke["threshold"]["value"], 10)
        self.assertGreater(broke["summary"]["requests"], 0)
        # The stop carries the run's final numbers, as the API shows them.
        total = stats["total"]
        self.assertEqual(stop["state"], "stopped")
        self.assertTrue(iso(stop["run"]["end_time"]))
        self.assertEqual(stop["run"]["stop_reason"], stats["stop_reason"])
        self.assertEqual(stop["summary"]["requests"], total["requests"])
        self.assertEqual(stop["summary"]["failures"], total["failures"])
        self.assertAlmostEqual(stop["summary"]["fail_ratio"], total["failures"] / total["requests"])
        self.assertAlmostEqual(stop["summary"]["p95_ms"], total["percentiles"]["95"])
        self.assertAlmostEqual(stop["summary"]["p99_ms"], total["percentiles"]["99"])
        self.assertEqual([t["verdict"] for t in stop["thresholds"]], ["fail", "pass"])
        self.assertFalse(stop["thresholds_passed"])
        self.assertEqual(stop["report_url"], "http://127.0.0.1:%d/report.html" % port)
        status, headers, body = hnlib.http_request(port, "GET", "/report.html")
        self.assertEqual(status, 200)
        self.assertIn("text/html", headers["content-type"])

    def check_slack(self, got, stats, port):
        texts = [g[2]["text"] for g in got]
        self.assertTrue(texts[0].startswith("hornet: run started"), texts[0])
        self.assertTrue(texts[1].startswith("hornet: threshold broken: p95&lt;10ms ("), texts[1])
        self.assertTrue(texts[2].startswith("hornet: run failed: %d requests"
                                            % stats["total"]["requests"]), texts[2])
        for _, headers, msg, _ in got:
            self.assertEqual(set(msg), {"text", "blocks"})
            self.assertLessEqual(len(msg["blocks"]), 50)
            header = msg["blocks"][0]
            self.assertEqual(header["type"], "header")
            self.assertEqual(header["text"]["type"], "plain_text")
            self.assertLessEqual(len(header["text"]["text"]), 150)
            for block in msg["blocks"][1:]:
                self.assertIn(block["type"], ("section", "context"))
                for part in [block.get("text")] + block.get("fields", []) + \
                        block.get("elements", []):
                    if part is None:
                        continue
                    self.assertEqual(part["type"], "mrkdwn")
                    self.assertLessEqual(len(part["text"]), 3000)
                    # Only Slack's own link syntax may hold < and >.
                    bare = re.sub(r"<http://[^|>]+\|[^>]+>", "", part["text"])
                    self.assertNotRegex(bare, "[<>]")
                self.assertLessEqual(len(block.get("fields", [])), 10)
        stop = got[2][2]
        fields = {f["text"].split("\n")[0]: f["text"].split("\n")[1]
                  for b in stop["blocks"] for f in b.get("fields", [])}
        self.assertEqual(fields["*Requests*"], str(stats["total"]["requests"]))
        self.assertTrue(fields["*Failures*"].startswith(str(stats["total"]["failures"]) + " ("))
        thresholds = [b["text"]["text"] for b in stop["blocks"]
                      if b["type"] == "section" and "text" in b
                      and b["text"]["text"].startswith("*Thresholds*")][0]
        self.assertIn(":x: `p95&lt;10ms`", thresholds)
        self.assertIn(":white_check_mark: `fail_ratio&lt;90%`", thresholds)
        links = stop["blocks"][-1]
        self.assertEqual(links["type"], "context")
        self.assertIn("<http://127.0.0.1:%d/report.html|Open the report>" % port,
                      links["elements"][0]["text"])


class SlowOrFailingReceivers(unittest.TestCase):
    def run_against(self, mode, timeout="1s"):
        recv = Receiver(mode)
        try:
            start = time.monotonic()
            r = hnlib.run_hornet(["-f", ODD, "--headless", "-u", "1", "-r", "10", "-t", "2s",
                                  "--only-summary", "--exit-code-on-error", "0",
                                  "--output-timeout", timeout, "--webhook", recv.url + "/h"],
                                 timeout=120, env=hnlib.clean_env(CACHE))
            elapsed = time.monotonic() - start
            hnlib.check_no_crash(r, "hornet")
            return r, elapsed, recv.events("/h")
        finally:
            recv.close()

    def test_500_is_retried_and_bounded(self):
        r, elapsed, got = self.run_against("fail", "2s")
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        starts = [g for g in got if g[2]["event"] == "start"]
        self.assertEqual(len(starts), 3, [g[2]["event"] for g in got])  # 3 tries
        gaps = [b[3] - a[3] for a, b in zip(starts, starts[1:])]
        self.assertGreater(gaps[0], 0.8)   # backoff: 1 s, then 2 s
        self.assertGreater(gaps[1], 1.8)
        self.assertRegex(r.stderr, r"webhook at http://127\.0\.0\.1:\d+: HTTP 500: no "
                                   r"\(trying again\)")
        self.assertRegex(r.stderr, r"webhook at \S+: \d+ notifications not delivered")
        self.assertLess(elapsed, 2 + 2 + 5)

    def test_hanging_receiver_is_bounded(self):
        r, elapsed, got = self.run_against("hang", "1s")
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        self.assertGreaterEqual(len(got), 1)
        self.assertRegex(r.stderr, r"webhook at \S+: Operation timed out after \d+ milliseconds")
        self.assertLess(elapsed, 2 + 1 + 5)

    def test_bad_urls_exit_2(self):
        for args in (["--webhook", "not a url"], ["--webhook", "ftp://127.0.0.1/x"],
                     ["--slack-webhook", "http://"], ["--slack-webhook", ""]):
            r = hnlib.run_hornet(["-f", ODD, "--headless", "-t", "1s"] + args,
                                 env=hnlib.clean_env(CACHE))
            self.assertEqual(r.returncode, 2, (args, r.stderr))
            lines = r.stderr.strip().splitlines()
            self.assertEqual(len(lines), 1, r.stderr)
            self.assertRegex(lines[0], r"--(slack-)?webhook expects a URL")


if __name__ == "__main__":
    hnlib.run_checks()
