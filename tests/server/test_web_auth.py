#!/usr/bin/env python3
"""--web-auth USER:PASS (Locust's flag): HTTP Basic for the page, the API,
the downloads and the live push (issue 13, going further).

- without credentials, or with wrong ones, every route is a 401 JSON error
  with a WWW-Authenticate challenge; with them it answers as before, on
  every request of a keep-alive connection;
- a WebSocket upgrade without them is refused (401) before lws sees it,
  and with them it is accepted (101);
- --web-auth-file and HORNET_WEB_AUTH give the same without the password
  in the command line; bad values exit 2 without echoing the password;
- a dashboard bound beyond loopback without --web-auth says so.
"""
import base64
import http.client
import json
import os
import subprocess
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import hnlib  # noqa: E402

TMP = tempfile.mkdtemp(prefix="hn-auth-")
SECRET = "s3cret:with:colons"


def basic(user_pass):
    return "Basic " + base64.b64encode(user_pass.encode()).decode()


def upgrade(port, authorization=None):
    """The status line of a WebSocket upgrade's answer."""
    head = ("GET /ws HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n" % port)
    if authorization:
        head += "Authorization: %s\r\n" % authorization
    import socket
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall((head + "\r\n").encode())
        out = b""
        while b"\r\n\r\n" not in out:
            chunk = s.recv(4096)
            if not chunk:
                break
            out += chunk
    return out.split(b"\r\n")[0].decode()


class WebAuth(unittest.TestCase):
    def check_protected(self, d, user_pass):
        good = {"Authorization": basic(user_pass)}
        for path in ("/", "/api/state", "/stats.csv", "/report.json"):
            for headers in ({}, {"Authorization": basic("admin:wrong")},
                            {"Authorization": "Bearer x"}):
                status, hdrs, body = hnlib.http_request(d.port, "GET", path, headers=headers)
                self.assertEqual(status, 401, (path, headers))
                self.assertEqual(hdrs.get("www-authenticate"),
                                 'Basic realm="hornet", charset="UTF-8"')
                self.assertIn("--web-auth", json.loads(body)["error"])
            status, _, _ = hnlib.http_request(d.port, "GET", path, headers=good)
            self.assertEqual(status, 200, path)
        status, _, body = hnlib.http_request(d.port, "POST", "/api/reset", body="{}",
                                             headers=dict(good, **{"Content-Type":
                                                                   "application/json"}))
        self.assertEqual(status, 200, body)
        # Each request of one keep-alive connection is checked.
        conn = http.client.HTTPConnection("127.0.0.1", d.port, timeout=10)
        try:
            conn.request("GET", "/api/state", headers=good)
            r = conn.getresponse()
            r.read()
            self.assertEqual(r.status, 200)
            conn.request("GET", "/api/state")
            r = conn.getresponse()
            r.read()
            self.assertEqual(r.status, 401)
        finally:
            conn.close()
        self.assertTrue(upgrade(d.port).startswith("HTTP/1.1 401 "))
        self.assertTrue(upgrade(d.port, basic("admin:nope")).startswith("HTTP/1.1 401 "))
        self.assertTrue(upgrade(d.port, basic(user_pass)).startswith("HTTP/1.1 101 "))

    def test_flag(self):
        with hnlib.Dashboard(["--demo", "--web-auth", "admin:" + SECRET],
                             os.path.join(TMP, "flag.log")) as d:
            self.check_protected(d, "admin:" + SECRET)

    def test_file_and_environment(self):
        path = os.path.join(TMP, "creds")
        with open(path, "w") as f:
            f.write("ops:" + SECRET + "\n")
        with hnlib.Dashboard(["--demo", "--web-auth-file", path],
                             os.path.join(TMP, "file.log")) as d:
            self.check_protected(d, "ops:" + SECRET)
        env = hnlib.clean_env()
        env["HORNET_WEB_AUTH"] = "env:" + SECRET
        with hnlib.Dashboard(["--demo"], os.path.join(TMP, "env.log"), env=env) as d:
            self.check_protected(d, "env:" + SECRET)

    def test_bad_values(self):
        for args, needle in [
            (["--web-auth", "nocolon" + SECRET.replace(":", "")], "expects USER:PASSWORD"),
            (["--web-auth", ":" + SECRET], "expects USER:PASSWORD"),
            (["--web-auth", "admin:"], "expects USER:PASSWORD"),
            (["--web-auth-file", os.path.join(TMP, "missing")], "cannot read"),
        ]:
            r = hnlib.run_hornet(["--demo"] + args, timeout=30)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn(needle, r.stderr)
            self.assertNotIn(SECRET.replace(":", ""), r.stderr)  # never echoed
            self.assertNotIn("s3cret", r.stderr)

    def test_warns_beyond_loopback(self):
        p = subprocess.Popen([hnlib.hornet_path(), "--demo", "--web-host", "0.0.0.0",
                              "--web-port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=hnlib.clean_env())
        try:
            p.stdout.readline()
        finally:
            p.terminate()
            _, err = p.communicate(timeout=30)
        self.assertIn("without --web-auth", err)


if __name__ == "__main__":
    sys.exit(hnlib.run_checks())
