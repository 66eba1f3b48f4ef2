#!/usr/bin/env python3
"""--cluster-key: master and workers talk over ZeroMQ CURVE with key pairs
derived from one shared secret (issue 13, going further).

- a master with the key and workers given it (flag, or HORNET_CLUSTER_KEY)
  run a test whose counts equal the target's;
- a worker without the key, or with another one, is refused with the
  reason and exits 2 (it does not wait for ever);
- --processes hands the key to its local workers by the environment, not
  their command line;
- a secret too short is refused without being echoed.
"""
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import hnlib  # noqa: E402

TMP = tempfile.mkdtemp(prefix="hn-ckey-")
SECRET = "correct-horse-battery"
PLUGIN = os.path.join(hnlib.source_dir(), "plugins", "hello.c")


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ClusterKey(unittest.TestCase):
    def start_master(self, target, port, run_time="4s"):
        out = os.path.join(TMP, "result.json")
        p = subprocess.Popen([hnlib.hornet_path(), "--master", "--master-bind-port", str(port),
                              "--cluster-key", SECRET, "-f", PLUGIN, "-H", target.url,
                              "--headless", "-u", "4", "-r", "100", "-t", run_time,
                              "--expect-workers", "1", "--expect-workers-max-wait", "60",
                              "--json", out],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=hnlib.clean_env(os.path.join(TMP, "cache")))
        return p, out

    def worker(self, port, key=None, env_key=None):
        env = hnlib.clean_env(os.path.join(TMP, "cache"))
        if env_key:
            env["HORNET_CLUSTER_KEY"] = env_key
        args = [hnlib.hornet_path(), "--worker", "--master-port", str(port)]
        if key:
            args += ["--cluster-key", key]
        return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=env)

    def test_refused_without_or_with_another_key(self):
        with hnlib.DemoTarget() as t:
            port = free_port()
            master, _ = self.start_master(t, port, run_time="30s")
            try:
                for key, needle in [(None, "the master needs a --cluster-key"),
                                    ("another-secret-key", "the same --cluster-key")]:
                    w = self.worker(port, key=key)
                    _, err = w.communicate(timeout=60)
                    self.assertEqual(w.returncode, 2, err)
                    self.assertIn(needle, err)
                    self.assertNotIn(SECRET, err)
                self.assertEqual(t.counts()["total"], 0)  # nothing ran for them
            finally:
                master.terminate()
                master.communicate(timeout=60)

    def test_run_with_the_key(self):
        with hnlib.DemoTarget() as t:
            port = free_port()
            master, out = self.start_master(t, port)
            w = self.worker(port, env_key=SECRET)
            try:
                _, merr = master.communicate(timeout=120)
            finally:
                w.terminate()
                _, werr = w.communicate(timeout=60)
            self.assertEqual(master.returncode, 0, merr[-2000:])
            hnlib.check_no_crash(subprocess.CompletedProcess([], w.returncode, "", werr), "worker")
            doc = json.load(open(out))
            self.assertGreater(doc["total"]["requests"], 0)
            self.assertEqual(doc["total"]["requests"], t.counts()["total"])

    def test_processes_get_the_key_by_environment(self):
        with hnlib.DemoTarget() as t:
            out = os.path.join(TMP, "processes.json")
            p = subprocess.Popen([hnlib.hornet_path(), "--processes", "2", "--cluster-key", SECRET,
                                  "-f", PLUGIN, "-H", t.url, "--headless", "-u", "4", "-r", "100",
                                  "-t", "4s", "--json", out],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 env=hnlib.clean_env(os.path.join(TMP, "cache")))
            # The workers' command lines, once they run, do not hold the secret.
            def children():
                kids = []
                for pid in os.listdir("/proc"):
                    if pid.isdigit():
                        try:
                            with open("/proc/%s/stat" % pid) as f:
                                if f.read().split(") ")[1].split()[1] == str(p.pid):
                                    kids.append(pid)
                        except (OSError, IndexError):
                            pass
                return kids
            kids = hnlib.wait_until(lambda: len(children()) == 2 and children(), 60,
                                    "2 local workers")
            for pid in kids:
                with open("/proc/%s/cmdline" % pid, "rb") as f:
                    self.assertNotIn(SECRET.encode(), f.read())
            _, err = p.communicate(timeout=120)
            self.assertEqual(p.returncode, 0, err[-2000:])
            doc = json.load(open(out))
            self.assertGreater(doc["total"]["requests"], 0)
            self.assertEqual(doc["total"]["requests"], t.counts()["total"])

    def test_short_secret(self):
        r = hnlib.run_hornet(["--worker", "--cluster-key", "short"], timeout=30)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("8 characters or more", r.stderr)
        self.assertNotIn("short'", r.stderr)


if __name__ == "__main__":
    sys.exit(hnlib.run_checks())
