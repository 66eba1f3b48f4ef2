#!/usr/bin/env python3
"""HTTP/2, TLS options and source addresses (issue 16), against nginx on
loopback, started by PID from a configuration this test writes:

- HTTP/2 per user type (HN_USER_HTTP2) and per request (hn_req.http_version),
  over TLS (ALPN), and on plain http:// (prior knowledge, with libcurl 8.0 or
  later): nginx's access log shows the protocol of every request and one
  connection per user, and its line count equals hornet's request count;
- --ca-cert (a CA this test makes), --insecure, and the failures when the
  target's certificate is from an unknown CA, expired or for another host,
  in the same words from libcurl and the fast client;
- a client certificate: nginx requiring one answers 400 without it and 200
  with --client-cert/--client-key (the log names the certificate), and
  openssl s_server refusing the handshake without one gives a TLS alert;
- --source-ips: the target sees every address, a user each in turn;
- distributed: the workers get the master's TLS options and addresses;
- bad files and addresses: one line, exit 2.
"""
import collections
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import hnlib  # noqa: E402

TMP = tempfile.mkdtemp(prefix="hn-transport-")
PROBE = hnlib.plugin_so("transport_probe")
H2_USERS = hnlib.plugin_so("h2_users")
H2_POOLED = hnlib.plugin_so("h2_pooled")
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
CLIENTS = ("curl", "fast")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def openssl(*args):
    subprocess.run(["openssl"] + list(args), cwd=TMP, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def make_cert(name, subject, san, ca="ca", days="30", client=False):
    """NAME.pem/NAME.key signed by CA (ca.pem/ca.key)."""
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", name + ".key", "-out", name + ".csr", "-subj", "/CN=" + subject)
    with open(os.path.join(TMP, name + ".ext"), "w") as f:
        f.write(("extendedKeyUsage=clientAuth\n" if client else "subjectAltName=%s\n" % san))
    openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey", ca + ".key",
            "-CAcreateserial", "-out", name + ".pem", "-days", days, "-extfile", name + ".ext")


def make_ca(name, cn):
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", name + ".key", "-out", name + ".pem", "-days", "30", "-subj", "/CN=" + cn)


LOG_FORMAT = "'$remote_addr $server_port $server_protocol $connection $status \"$ssl_client_s_dn\"'"

NGINX_CONF = """
daemon off;
master_process off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    log_format probe {fmt};
    access_log {dir}/access.log probe;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    keepalive_requests 100000;
    ssl_protocols TLSv1.2 TLSv1.3;
    server {{
        listen 127.0.0.1:{good} ssl http2;
        ssl_certificate {dir}/good.pem;
        ssl_certificate_key {dir}/good.key;
        location / {{ return 200 "ok"; }}
    }}
    server {{
        listen 127.0.0.1:{expired} ssl;
        ssl_certificate {dir}/expired.pem;
        ssl_certificate_key {dir}/expired.key;
        location / {{ return 200 "ok"; }}
    }}
    server {{
        listen 127.0.0.1:{other_host} ssl;
        ssl_certificate {dir}/other.pem;
        ssl_certificate_key {dir}/other.key;
        location / {{ return 200 "ok"; }}
    }}
    server {{
        listen 127.0.0.1:{client_cert} ssl;
        ssl_certificate {dir}/good.pem;
        ssl_certificate_key {dir}/good.key;
        ssl_client_certificate {dir}/clientca.pem;
        ssl_verify_client on;
        location / {{ return 200 "ok"; }}
    }}
    server {{
        listen 127.0.0.1:{h2c} http2;
        location / {{ return 200 "ok"; }}
    }}
    server {{
        listen 127.0.0.1:{plain};
        location / {{ return 200 "ok"; }}
    }}
}}
"""


class Nginx:
    def __init__(self):
        self.ports = {k: free_port() for k in ("good", "expired", "other_host", "client_cert",
                                               "h2c", "plain")}
        with open(os.path.join(TMP, "nginx.conf"), "w") as f:
            f.write(NGINX_CONF.format(dir=TMP, fmt=LOG_FORMAT, **self.ports))
        self.proc = subprocess.Popen([NGINX, "-p", TMP, "-c", os.path.join(TMP, "nginx.conf")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        hnlib.wait_until(lambda: self.proc.poll() is not None or self._listening(), 20,
                         "nginx listening")
        if self.proc.poll() is not None:
            raise RuntimeError("nginx exited: " + self.proc.stderr.read().decode())

    def _listening(self):
        for port in self.ports.values():
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
            except OSError:
                return False
        return True

    def url(self, which):
        return "%s://127.0.0.1:%d" % ("http" if which in ("h2c", "plain") else "https",
                                      self.ports[which])

    def log(self, which, expect=0):
        """The access log's lines for one server, as (addr, protocol,
        connection, status, client DN) tuples, once there are at least
        expect of them (nginx writes a line after its response, so the last
        may come after hornet exits); the log is emptied."""
        path = os.path.join(TMP, "access.log")

        def lines():
            with open(path) as f:
                rows = [line.split(" ", 5) for line in f.read().splitlines()]
            return [(r[0], r[2], r[3], int(r[4]), r[5].strip('"')) for r in rows
                    if int(r[1]) == self.ports[which]]
        if expect:
            hnlib.wait_until(lambda: len(lines()) >= expect, 10, "%d lines in nginx's log" % expect)
        out = lines()
        os.truncate(path, 0)
        return out

    def stop(self):
        hnlib.stop_server(self.proc)


def run(url, plugin=PROBE, client="curl", users=1, seconds=None, requests=20, extra=(),
        params=()):
    out = os.path.join(TMP, "r.json")
    if os.path.exists(out):
        os.unlink(out)
    args = ["-f", plugin, "-H", url, "--headless", "--only-summary", "-u", str(users), "-r",
            str(users), "-t", "%ds" % (seconds or 30), "--json", out, "--http-client", client]
    args += ["--param", "users=%d" % users]
    if plugin == PROBE:
        args += ["--param", "requests=%d" % requests]
        for p in params:
            args += ["--param", p]
    r = hnlib.run_hornet(args + list(extra), timeout=90, env=hnlib.clean_env())
    hnlib.check_no_crash(r)
    if not os.path.exists(out):
        raise AssertionError("no result (exit %d): %s" % (r.returncode, r.stderr[-2000:]))
    with open(out) as f:
        doc = json.load(f)
    table = {e["name"]: (e["requests"], e["failures"]) for e in doc["entries"]}
    errors = {e["message"] for e in doc["errors"]}
    return r, table, errors


class Transport(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        make_ca("ca", "hornet-test-ca")
        make_ca("clientca", "hornet-test-client-ca")
        make_ca("otherca", "someone-else")
        make_cert("good", "127.0.0.1", "IP:127.0.0.1")
        make_cert("expired", "127.0.0.1", "IP:127.0.0.1", days="0")
        make_cert("other", "example.com", "DNS:example.com")
        make_cert("client", "hornet-user-1", "", ca="clientca", client=True)
        make_cert("stranger", "stranger", "", ca="otherca", client=True)
        with open(os.path.join(TMP, "both.pem"), "w") as f:  # key and certificate in one file
            for part in ("client.pem", "client.key"):
                with open(os.path.join(TMP, part)) as p:
                    f.write(p.read())
        cls.nginx = Nginx()

    @classmethod
    def tearDownClass(cls):
        cls.nginx.stop()
        shutil.rmtree(TMP, ignore_errors=True)

    def ca(self):
        return ["--ca-cert", os.path.join(TMP, "ca.pem")]

    def test_http2_per_request_over_tls(self):
        """hn_req.http_version = 2: HTTP/2 over TLS (ALPN), one connection per
        user, every request in nginx's log; 1 or 0 (the default) is HTTP/1.1."""
        self.nginx.log("good")
        for version, proto in ((2, "HTTP/2.0"), (1, "HTTP/1.1"), (0, "HTTP/1.1")):
            r, table, errors = run(self.nginx.url("good"), users=3, requests=30,
                                   extra=self.ca(), params=["http_version=%d" % version])
            self.assertEqual(r.returncode, 0, r.stderr[-1500:])
            self.assertEqual(errors, set())
            log = self.nginx.log("good", 90)
            self.assertEqual(table["probe"], (90, 0))
            self.assertEqual(len(log), 90, "nginx served what hornet counted")
            self.assertEqual({e[1] for e in log}, {proto})
            self.assertEqual(len({e[2] for e in log}), 3, "one connection per user")

    def test_http2_per_type(self):
        """HN_USER_HTTP2 makes a type's requests HTTP/2; hn_req.http_version =
        1 pins one request to HTTP/1.1 (on a connection of its own)."""
        self.nginx.log("good")
        r, table, errors = run(self.nginx.url("good"), plugin=H2_USERS, users=2, extra=self.ca())
        self.assertEqual(r.returncode, 0, r.stderr[-1500:])
        self.assertEqual((table["h2"], table["h1"]), ((40, 0), (40, 0)), errors)
        log = self.nginx.log("good", 80)
        self.assertEqual(collections.Counter(e[1] for e in log), {"HTTP/2.0": 40, "HTTP/1.1": 40})
        self.assertEqual(len({e[2] for e in log if e[1] == "HTTP/2.0"}), 2)

    def test_http2_pooled_multiplexed(self):
        """HN_USER_HTTP2 | HN_USER_SHARED_POOL: 10 users on one worker thread
        share one HTTP/2 connection, their requests streams on it."""
        self.nginx.log("good")
        r, table, errors = run(self.nginx.url("good"), plugin=H2_POOLED, users=10,
                               extra=self.ca() + ["--threads", "1"])
        self.assertEqual((table["pooled"], errors), ((200, 0), set()), r.stderr[-1500:])
        log = self.nginx.log("good", 200)
        self.assertEqual(len(log), 200)
        self.assertEqual({e[1] for e in log}, {"HTTP/2.0"})
        self.assertEqual(len({e[2] for e in log}), 1, "one connection for the thread's users")

    def test_h2c(self):
        """HTTP/2 on http:// (prior knowledge) needs libcurl 8.0 (7.88 fails
        every request after the first on the connection): with it, nginx's
        h2c port logs HTTP/2.0 on one connection per user; before it, one
        warning says the requests use HTTP/1.1 (which that port refuses)."""
        self.nginx.log("h2c")
        r, table, errors = run(self.nginx.url("h2c"), users=2, requests=10,
                               params=["http_version=2"])
        log = self.nginx.log("h2c", 20 if libcurl_version() >= (8, 0) else 0)
        warning = [x for x in r.stderr.splitlines() if "h2c" in x]
        if libcurl_version() >= (8, 0):
            self.assertEqual((table["probe"], errors, warning), ((20, 0), set(), []))
            self.assertEqual(len(log), 20)
            self.assertEqual({e[1] for e in log}, {"HTTP/2.0"})
            self.assertEqual(len({e[2] for e in log}), 2)
        else:
            self.assertEqual(len(warning), 1, r.stderr)
            self.assertRegex(warning[0], r"HTTP/2 on http:// \(h2c\) needs libcurl 8\.0 or later "
                                         r"\(this is 7\.\d+\.\d+\): those requests use HTTP/1\.1")
            self.assertEqual((table["probe"], errors), ((20, 20), {"not an HTTP response"}))

    def test_http2_with_the_fast_client(self):
        """The fast client speaks HTTP/1.1: a request asking for HTTP/2
        fails saying so; an HN_USER_HTTP2 type uses libcurl even with
        --http-client fast."""
        r, table, errors = run(self.nginx.url("good"), client="fast", requests=3,
                               extra=self.ca(), params=["http_version=2"])
        self.assertEqual(table["probe"], (3, 3))
        self.assertEqual(errors, {"HTTP/2 needs libcurl (the fast HTTP client speaks HTTP/1.1)"})
        self.nginx.log("good")
        r, table, errors = run(self.nginx.url("good"), plugin=H2_USERS, client="fast",
                               extra=self.ca())
        self.assertEqual(table["h2"], (20, 0), errors)
        self.assertEqual(collections.Counter(e[1] for e in self.nginx.log("good", 40)),
                         {"HTTP/2.0": 20, "HTTP/1.1": 20})

    def test_trust(self):
        """Without --ca-cert the test CA is unknown; with it, or with
        --insecure, requests succeed. Expired and wrong-host certificates
        fail with their reason, --insecure accepts them. Both clients say
        the same."""
        cases = [
            ("good", [], "TLS certificate verify failed (unable to get local issuer certificate)"),
            ("good", self.ca(), None),
            ("good", ["--insecure"], None),
            ("expired", self.ca(), "TLS certificate verify failed (certificate has expired)"),
            ("expired", ["-k"], None),
            ("other_host", self.ca(), "TLS certificate verify failed (not issued for this host)"),
            ("other_host", ["--insecure"], None),
        ]
        for which, extra, want in cases:
            for client in CLIENTS:
                with self.subTest(server=which, options=extra, client=client):
                    r, table, errors = run(self.nginx.url(which), client=client, requests=2,
                                           extra=extra)
                    if want is None:
                        self.assertEqual((table["probe"], errors), ((2, 0), set()))
                        self.assertEqual(r.returncode, 0)
                    else:
                        self.assertEqual((table["probe"], errors), ((2, 2), {want}))
                        self.assertEqual(r.returncode, 1)

    def test_client_certificate(self):
        """nginx requiring a client certificate: 400 without one, and for a
        certificate of another CA; 200 with ours (key apart, or in the same
        file), and nginx's log names it."""
        good = ["--client-cert", os.path.join(TMP, "client.pem"),
                "--client-key", os.path.join(TMP, "client.key")]
        stranger = ["--client-cert", os.path.join(TMP, "stranger.pem"),
                    "--client-key", os.path.join(TMP, "stranger.key")]
        both = ["--client-cert", os.path.join(TMP, "both.pem")]
        for client in CLIENTS:
            with self.subTest(client=client):
                self.nginx.log("client_cert")
                r, table, errors = run(self.nginx.url("client_cert"), client=client, requests=2,
                                       extra=self.ca())
                self.assertEqual((table["probe"], errors), ((2, 2), {"HTTP 400 Bad Request"}))
                r, table, errors = run(self.nginx.url("client_cert"), client=client, requests=2,
                                       extra=self.ca() + stranger)
                self.assertEqual((table["probe"], errors), ((2, 2), {"HTTP 400 Bad Request"}))
                for opts in (good, both):
                    r, table, errors = run(self.nginx.url("client_cert"), client=client,
                                           requests=2, extra=self.ca() + opts)
                    self.assertEqual((table["probe"], errors), ((2, 0), set()))
                log = self.nginx.log("client_cert", 8)
                self.assertEqual([e[3] for e in log], [400] * 4 + [200] * 4)
                self.assertEqual({e[4] for e in log if e[3] == 200}, {"CN=hornet-user-1"})

    def test_handshake_refused(self):
        """A server that refuses the handshake (TLS 1.3: after it) without a
        client certificate: the alert is the failure."""
        port = free_port()
        srv = subprocess.Popen(
            ["openssl", "s_server", "-accept", "127.0.0.1:%d" % port, "-cert", "good.pem",
             "-key", "good.key", "-Verify", "1", "-CAfile", "clientca.pem", "-www", "-naccept",
             "100"], cwd=TMP, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        try:
            hnlib.wait_until(lambda: _connects(port), 20, "openssl s_server listening")
            for client in CLIENTS:
                with self.subTest(client=client):
                    r, table, errors = run("https://127.0.0.1:%d" % port, client=client,
                                           requests=1, extra=self.ca())
                    self.assertEqual(table["probe"], (1, 1))
                    self.assertEqual(len(errors), 1, errors)
                    err = errors.pop()
                    self.assertRegex(err, r"^TLS (error|handshake failed) \(.*certificate required\)$")
        finally:
            hnlib.stop_server(srv)

    def test_source_ips(self):
        """--source-ips: users connect from the addresses in turn; nginx sees
        each one, as many connections from each as users given it."""
        ips = ["127.0.0.2", "127.0.0.3", "127.0.0.4"]
        for client in CLIENTS:
            with self.subTest(client=client):
                self.nginx.log("plain")
                r, table, errors = run(self.nginx.url("plain"), client=client, users=6,
                                       requests=5, extra=["--source-ips", ",".join(ips)])
                self.assertEqual((table["probe"], errors), ((30, 0), set()))
                log = self.nginx.log("plain", 30)
                self.assertEqual(len(log), 30)
                by_addr = collections.Counter(e[0] for e in log)
                self.assertEqual(by_addr, {ip: 10 for ip in ips})
                conns = collections.defaultdict(set)
                for e in log:
                    conns[e[0]].add(e[2])
                self.assertEqual({ip: len(c) for ip, c in conns.items()}, {ip: 2 for ip in ips})

    def test_distributed(self):
        """--processes 2: the master hands its TLS options and source addresses
        to the workers, which read the files and bind the addresses themselves."""
        ips = ["127.0.0.5", "127.0.0.6"]
        self.nginx.log("good")
        r, table, errors = run(self.nginx.url("good"), users=4, requests=5, seconds=4,
                               extra=self.ca() + ["--processes", "2", "--source-ips", ",".join(ips)])
        self.assertEqual((table["probe"], errors), ((20, 0), set()))
        log = self.nginx.log("good", 20)
        self.assertEqual(len(log), 20)
        self.assertEqual({e[0] for e in log}, set(ips))

    def test_bad_options(self):
        """Bad files and addresses: one line each, exit 2, before any load."""
        open(os.path.join(TMP, "junk.pem"), "w").write("not a certificate\n")
        missing = os.path.join(TMP, "missing.pem")
        junk = os.path.join(TMP, "junk.pem")
        cases = [
            (["--ca-cert", missing], r"^hornet: --ca-cert .*missing\.pem: cannot read it "
                                     r"\(No such file or directory\)$"),
            (["--ca-cert", junk], r"^hornet: --ca-cert .*junk\.pem: not a PEM certificate"),
            (["--client-cert", junk], r"^hornet: --client-cert .*junk\.pem: not a PEM certificate"),
            (["--client-key", os.path.join(TMP, "client.key")],
             r"^hornet: --client-key needs --client-cert$"),
            (["--client-cert", os.path.join(TMP, "client.pem")],
             r"^hornet: --client-cert .*client\.pem: not a PEM private key"),
            (["--client-cert", os.path.join(TMP, "client.pem"), "--client-key",
              os.path.join(TMP, "stranger.key")],
             r"^hornet: --client-key .*stranger\.key: not the key of the certificate in "),
            (["--source-ips", "127.0.0.2,nope"],
             r"^hornet: --source-ips: 'nope' is not an IP address$"),
            (["--source-ips", "127.0.0.2,,127.0.0.3"],
             r"^hornet: --source-ips: '' is not an IP address$"),
            (["--source-ips", "192.0.2.1"],
             r"^hornet: --source-ips: cannot connect from 192\.0\.2\.1 \(Cannot assign "
             r"requested address\)$"),
            (["--source-ips", ""], r"^hornet: --source-ips expects local IP addresses"),
        ]
        for extra, want in cases:
            with self.subTest(options=extra):
                r = hnlib.run_hornet(["-f", PROBE, "-H", self.nginx.url("plain"), "--headless",
                                      "-t", "5s"] + extra, timeout=30, env=hnlib.clean_env())
                hnlib.check_no_crash(r)
                self.assertEqual(r.returncode, 2, r.stderr)
                lines = [x for x in r.stderr.splitlines() if x.strip()]
                self.assertEqual(len(lines), 1, r.stderr)
                self.assertRegex(lines[0], want)


def libcurl_version():
    import ctypes
    lib = ctypes.CDLL("libcurl.so.4")
    lib.curl_version.restype = ctypes.c_char_p
    text = lib.curl_version().decode()  # "libcurl/7.88.1 OpenSSL/..."
    return tuple(int(x) for x in text.split()[0].split("/")[1].split(".")[:2])


def _connects(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    sys.exit(hnlib.run_checks())
