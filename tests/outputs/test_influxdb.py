#!/usr/bin/env python3
"""--influxdb against Debian's real InfluxDB server (influxd 1.6).

- a run pushes line protocol every second; sums queried back through the
  server's HTTP API equal hornet's JSON totals per entry (names with quotes,
  a line feed, commas, UTF-8 and a byte that is not UTF-8 included), and the
  running totals and the run's own points agree;
- with authentication on: the right user and password (from the environment,
  out of ps) write, a wrong one is refused and logged, the run goes on;
- the server stopped mid-run: the run ends on time and normally, and the log
  says what was dropped;
- a server that answers garbage: a logged warning, the run ends on time;
  the body it got is gzip-compressed line protocol;
- bad options exit 2 with one line.
Each influxd is started here on 127.0.0.1 with a temporary data folder and
stopped by its PID.
"""
import base64
import gzip
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse
import urllib.request

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import hnlib  # noqa: E402

TMP = tempfile.mkdtemp(prefix="hn-influxdb-")
CACHE = os.path.join(TMP, "cache")
ODD = hnlib.plugin_so("odd_names")
RUN = ["-f", ODD, "--headless", "-u", "3", "-r", "30", "--only-summary", "--threads", "1",
       "--exit-code-on-error", "0"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Influx:
    """influxd on 127.0.0.1 with its own folders; auth optional."""

    def __init__(self, auth=False):
        self.dir = tempfile.mkdtemp(prefix="influx-", dir=TMP)
        self.auth = None
        for _ in range(5):
            self.port, rpc = free_port(), free_port()
            conf = os.path.join(self.dir, "influxdb.conf")
            with open(conf, "w") as f:
                f.write('reporting-disabled = true\nbind-address = "127.0.0.1:%d"\n'
                        '[meta]\n  dir = "%s/meta"\n'
                        '[data]\n  dir = "%s/data"\n  wal-dir = "%s/wal"\n'
                        '  query-log-enabled = false\n'
                        '[monitor]\n  store-enabled = false\n'
                        '[http]\n  bind-address = "127.0.0.1:%d"\n  log-enabled = false\n'
                        '  auth-enabled = %s\n'
                        '[logging]\n  level = "warn"\n'
                        % (rpc, self.dir, self.dir, self.dir, self.port,
                           "true" if auth else "false"))
            self.conf = conf
            try:
                self.start()
                break
            except AssertionError:
                self.stop()
        else:
            raise AssertionError("influxd did not start: " + open(self.log.name).read()[-2000:])
        self.url = "http://127.0.0.1:%d" % self.port
        if auth:  # the first user may be created without credentials
            self.query("CREATE USER admin WITH PASSWORD 'adm1n-pw' WITH ALL PRIVILEGES")
            self.auth = ("admin", "adm1n-pw")
        self.query('CREATE DATABASE "hornet"')

    def start(self):
        """Starts influxd on the folders and port chosen (again after stop())."""
        self.log = open(os.path.join(self.dir, "influxd.log"), "a")
        self.proc = subprocess.Popen(["influxd", "-config", self.conf], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        hnlib.wait_until(self._ping, 60, "influxd to answer /ping")

    def _ping(self):
        if self.proc.poll() is not None:
            raise AssertionError("influxd exited: " + open(self.log.name).read()[-2000:])
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/ping" % self.port, timeout=2) as r:
                return r.status == 204
        except OSError:
            return False

    def query(self, q, db=None):
        params = {"q": q}
        if db:
            params["db"] = db
        req = urllib.request.Request(self.url + "/query",
                                     data=urllib.parse.urlencode(params).encode())
        if self.auth:
            req.add_header("Authorization", "Basic " + base64.b64encode(
                ("%s:%s" % self.auth).encode()).decode())
        with urllib.request.urlopen(req, timeout=30) as r:
            doc = json.load(r)
        res = doc["results"][0]
        assert "error" not in res, res
        return res.get("series", [])

    def grouped(self, q):
        """{(method, name): first row} of a GROUP BY "method","name" query."""
        return {(s["tags"]["method"], s["tags"]["name"]): dict(zip(s["columns"], s["values"][0]))
                for s in self.query(q, db="hornet")}

    def stop(self):
        hnlib.stop_server(self.proc)
        self.log.close()


def as_stored(name):
    """A name as line protocol can carry it (outputs/influx.c): a line feed
    as the two characters \\n, a trailing backslash as U+FF3C, a byte that
    is not UTF-8 as U+FFFD (the JSON result already shows it so)."""
    name = name.replace("\n", "\\n")
    return name[:-1] + "\uff3c" if name.endswith("\\") else name


def hornet(args, timeout=120, env=None):
    r = hnlib.run_hornet(args, timeout=timeout, env=hnlib.clean_env(CACHE, **(env or {})))
    hnlib.check_no_crash(r, "hornet")
    return r


def out(name):
    return os.path.join(TMP, name)


class AgainstInfluxDB(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.influx = Influx()

    @classmethod
    def tearDownClass(cls):
        cls.influx.stop()

    def test_sums_equal_hornets_totals(self):
        self.influx.query('DROP SERIES FROM /.*/', db="hornet")
        r = hornet(RUN + ["-t", "4s", "--influxdb", self.influx.url + "/", "--json",
                          out("sums.json")])
        self.assertEqual(r.returncode, 0, r.stderr[-3000:])
        doc = json.load(open(out("sums.json")))
        want = {(e["type"], as_stored(e["name"])): e for e in doc["entries"]}
        self.assertEqual(len(want), 7)
        sums = self.influx.grouped('SELECT sum(requests), sum(failures), last(requests_total), '
                                   'last(failures_total), count(requests) FROM hornet_requests '
                                   'GROUP BY "method","name"')
        self.assertEqual(set(sums), set(want))
        for key, e in want.items():
            self.assertEqual(sums[key]["sum"], e["requests"], key)
            self.assertEqual(sums[key]["sum_1"], e["failures"], key)
            self.assertEqual(sums[key]["last"], e["requests"], key)
            self.assertEqual(sums[key]["last_1"], e["failures"], key)
            self.assertGreaterEqual(sums[key]["count"], 3, key)  # about one a second
        run = self.influx.query('SELECT last(requests_total), last(failures_total), max(user_count) '
                                'FROM hornet_run', db="hornet")[0]
        row = dict(zip(run["columns"], run["values"][0]))
        self.assertEqual(row["last"], doc["total"]["requests"])
        self.assertEqual(row["last_1"], doc["total"]["failures"])
        self.assertEqual(row["max"], 3)
        state = self.influx.query('SELECT last(state) FROM hornet_run', db="hornet")[0]
        self.assertEqual(state["values"][0][1], "stopped")
        p95 = self.influx.grouped('SELECT last(p95_ms) FROM hornet_requests GROUP BY '
                                  '"method","name"')
        self.assertAlmostEqual(p95[("GET", "/plain")]["last"],
                               want[("GET", "/plain")]["percentiles"]["95"], places=3)
        self.assertNotIn("InfluxDB", r.stderr)  # nothing went wrong, nothing to say

    def test_server_stopped_mid_run(self):
        influx = Influx()
        log = open(out("stopped.log"), "w")
        start = time.monotonic()
        proc = subprocess.Popen([hnlib.hornet_path()] + RUN +
                                ["-t", "6s", "--influxdb", influx.url, "--output-timeout", "1s"],
                                stdout=subprocess.DEVNULL, stderr=log,
                                env=hnlib.clean_env(CACHE))
        try:
            hnlib.wait_until(lambda: influx.query("SELECT count(requests_total) FROM hornet_run",
                                                  db="hornet"), 30, "the first points")
            influx.stop()
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
            influx.stop()
            log.close()
        elapsed = time.monotonic() - start
        text = open(out("stopped.log")).read()
        self.assertEqual(proc.returncode, 0, text[-3000:])
        # 6 s of run + at most the 1 s timeout at the end, and a margin for start-up.
        self.assertLess(elapsed, 6 + 1 + 5, text[-3000:])
        self.assertIn("InfluxDB at %s: " % influx.url, text)
        self.assertRegex(text, r"InfluxDB at \S+: \S.*\(trying again\)")
        self.assertRegex(text, r"InfluxDB at \S+: \d+ points not delivered \(\d+ delivered; "
                               r"last error: .+\)")

    def test_server_back_after_an_outage(self):
        # Points wait in the queue (a minute of them) while the server is
        # away, and all arrive once it is back: the sums are still exact.
        influx = Influx()
        log_path = out("outage.log")
        log = open(log_path, "w")
        proc = subprocess.Popen([hnlib.hornet_path()] + RUN +
                                ["-t", "8s", "--influxdb", influx.url, "--json", out("outage.json")],
                                stdout=subprocess.DEVNULL, stderr=log, env=hnlib.clean_env(CACHE))
        try:
            hnlib.wait_until(lambda: influx.query("SELECT count(requests_total) FROM hornet_run",
                                                  db="hornet"), 30, "the first points")
            influx.stop()
            hnlib.wait_until(lambda: "(trying again)" in open(log_path).read(), 30,
                             "hornet to notice the outage")
            influx.start()
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
            log.close()
        try:
            text = open(log_path).read()
            self.assertEqual(proc.returncode, 0, text[-3000:])
            self.assertIn("delivering again (0 points dropped so far)", text)
            self.assertNotIn("not delivered", text)
            doc = json.load(open(out("outage.json")))
            got = influx.query("SELECT sum(requests), sum(failures) FROM hornet_requests",
                               db="hornet")[0]["values"][0]
            self.assertEqual(got[1:], [doc["total"]["requests"], doc["total"]["failures"]])
        finally:
            influx.stop()

    def test_bad_options_exit_2(self):
        for args, says in [
                (["--influxdb", "ftp://127.0.0.1/"], "--influxdb expects a URL"),
                (["--influxdb", "http://"], "--influxdb expects a URL"),
                (["--influxdb", ""], "--influxdb expects a URL"),
                (["--influxdb-db", "x"], "need --influxdb URL"),
                (["--influxdb", "http://127.0.0.1:1", "--influxdb-password", "pw"],
                 "--influxdb-password needs --influxdb-user"),
                (["--influxdb", "http://127.0.0.1:1", "--influxdb-user", "u"],
                 "--influxdb-user needs --influxdb-password"),
                (["--influxdb", "http://127.0.0.1:1", "--influxdb-token", "t",
                  "--influxdb-user", "u", "--influxdb-password", "p"], "give one"),
                (["--output-timeout", "0"], "--output-timeout expects")]:
            r = hornet(RUN + ["-t", "1s"] + args)
            self.assertEqual(r.returncode, 2, (args, r.stderr))
            lines = r.stderr.strip().splitlines()
            self.assertEqual(len(lines), 1, (args, r.stderr))
            self.assertIn(says, lines[0])
            self.assertNotIn("pw", lines[0].replace("--influxdb-password", ""))


class WithAuthentication(unittest.TestCase):
    def test_user_and_password(self):
        influx = Influx(auth=True)
        try:
            r = hornet(RUN + ["-t", "3s", "--influxdb", influx.url, "--influxdb-user", "admin",
                              "--json", out("auth.json")],
                       env={"HORNET_INFLUXDB_PASSWORD": "adm1n-pw"})
            self.assertEqual(r.returncode, 0, r.stderr[-3000:])
            total = json.load(open(out("auth.json")))["total"]["requests"]
            got = influx.query("SELECT sum(requests) FROM hornet_requests", db="hornet")
            self.assertEqual(got[0]["values"][0][1], total)

            influx.query('DROP SERIES FROM /.*/', db="hornet")
            r = hornet(RUN + ["-t", "2s", "--influxdb", influx.url, "--influxdb-user", "admin",
                              "--influxdb-password", "wrong-pw"])
            self.assertEqual(r.returncode, 0, r.stderr[-3000:])
            self.assertRegex(r.stderr, r"InfluxDB at \S+: dropping points \(HTTP 401: .*"
                                       r"authorization failed")
            self.assertNotIn("wrong-pw", r.stderr)
            self.assertEqual(influx.query("SELECT count(requests) FROM hornet_requests",
                                          db="hornet"), [])
        finally:
            influx.stop()


class GarbageServer(unittest.TestCase):
    def test_garbage_answer_is_a_warning(self):
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(64)
        port = srv.getsockname()[1]
        bodies = []

        def serve():
            while True:
                try:
                    conn, _ = srv.accept()
                except OSError:
                    return
                with conn:
                    conn.settimeout(5)
                    data = b""
                    try:
                        while b"\r\n\r\n" not in data:
                            data += conn.recv(65536)
                        head, _, body = data.partition(b"\r\n\r\n")
                        length = int([ln.split(b":")[1] for ln in head.split(b"\r\n")
                                      if ln.lower().startswith(b"content-length")][0])
                        while len(body) < length:
                            body += conn.recv(65536)
                        bodies.append((head, body))
                        conn.sendall(b"\x00\x01 not HTTP at all \xff\r\n\r\n")
                    except (OSError, IndexError, ValueError):
                        pass

        threading.Thread(target=serve, daemon=True).start()
        try:
            start = time.monotonic()
            r = hornet(RUN + ["-t", "2s", "--influxdb", "http://127.0.0.1:%d" % port,
                              "--output-timeout", "1s"])
            elapsed = time.monotonic() - start
        finally:
            srv.close()
        self.assertEqual(r.returncode, 0, r.stderr[-3000:])
        self.assertLess(elapsed, 2 + 1 + 5)
        self.assertRegex(r.stderr, r"InfluxDB at http://127\.0\.0\.1:\d+: .*\(trying again\)")
        self.assertRegex(r.stderr, r"points not delivered")
        head, body = bodies[0]
        self.assertIn(b"POST /write?db=hornet&precision=ms HTTP/1.1", head)
        self.assertIn(b"content-encoding: gzip", head.lower())
        lines = gzip.decompress(body).decode().splitlines()
        self.assertTrue(all(ln.startswith(("hornet_requests", "hornet_run ")) for ln in lines))


if __name__ == "__main__":
    hnlib.run_checks()
