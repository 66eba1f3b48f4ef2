#!/usr/bin/env python3
"""--http-client reaches the workers (issue 14): the master sends its choice
in the welcome, and the workers' users use that client. A proxy variable
tells which client served (the fast client refuses to go through a proxy,
saying so; libcurl would try the proxy), so the Failures table of a run
with --processes shows what the workers used.
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import hnlib  # noqa: E402

TMP = tempfile.mkdtemp(prefix="hn-wclient-")
PLUGIN = hnlib.plugin_so("response_digest")


class WorkersClient(unittest.TestCase):
    def run_processes(self, client, env):
        out = os.path.join(TMP, "r-%s.json" % client)
        r = hnlib.run_hornet(["--processes", "1", "-f", PLUGIN, "-H", "http://127.0.0.1:1",
                              "--headless", "-u", "1", "-t", "60s", "--json", out,
                              "--http-client", client, "--param", "steps=GET|/x"],
                             timeout=120, env=env)
        hnlib.check_no_crash(r)
        with open(out) as f:
            return [e["message"] for e in json.load(f)["errors"]]

    def test_the_masters_choice_reaches_the_workers(self):
        env = hnlib.clean_env(os.path.join(TMP, "cache"), http_proxy="http://127.0.0.1:9",
                              no_proxy="")
        self.assertEqual(self.run_processes("fast", env),
                         ["the fast HTTP client does not use proxies (a proxy variable is set "
                          "for http): use --http-client curl"])
        # libcurl went to the proxy (nothing listens on port 9)
        self.assertEqual(self.run_processes("curl", env), ["connection refused"])


if __name__ == "__main__":
    sys.exit(hnlib.run_checks())
