"""hnlib: shared helpers for hornet's integration tests (python3 stdlib only).

Typical use from a test script in tests/integration/:

    import os, sys
    sys.dont_write_bytecode = True          # keep __pycache__ out of the source tree
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import hnlib

    with hnlib.DemoTarget() as target:      # runs `$HORNET demo-target --port 0`
        status, headers, body = target.request("GET", "/json")
        assert target.counts()["by_route"]["GET /json"] == 1
        target.reset()                       # POST /__reset

Environment (set by ctest): HORNET = path of the hornet binary; HN_BUILD_DIR and
HN_SOURCE_DIR are available through build_dir() / source_dir().

Everything here talks to 127.0.0.1 only and every wait is bounded by a timeout.
"""

import http.client
import json
import os
import re
import select
import signal
import subprocess
import time

__all__ = ["hornet_path", "build_dir", "source_dir", "run_hornet", "DemoTarget",
           "http_request", "TargetError"]

_READY_RE = re.compile(r"^demo-target http://([0-9.]+):(\d+) kv ([0-9.]+):(\d+)$")


class TargetError(RuntimeError):
    """The demo target did not start, answer, or stop as expected."""


def hornet_path():
    """Returns $HORNET (the hornet binary); raises TargetError if unusable."""
    path = os.environ.get("HORNET")
    if not path:
        raise TargetError("HORNET is not set (path of the hornet binary)")
    if not os.access(path, os.X_OK):
        raise TargetError("HORNET=%s is not an executable file" % path)
    return path


def build_dir():
    """Returns $HN_BUILD_DIR, or the directory holding $HORNET."""
    return os.environ.get("HN_BUILD_DIR") or os.path.dirname(hornet_path())


def source_dir():
    """Returns $HN_SOURCE_DIR, or the repository root guessed from this file."""
    here = os.path.dirname(os.path.abspath(__file__))
    return os.environ.get("HN_SOURCE_DIR") or os.path.dirname(os.path.dirname(here))


def run_hornet(args, timeout=30, **kwargs):
    """Runs `hornet ARGS...` to completion; returns subprocess.CompletedProcess
    with text stdout/stderr captured."""
    return subprocess.run([hornet_path()] + list(args), capture_output=True, text=True,
                          timeout=timeout, **kwargs)


def http_request(port, method, path, body=None, headers=None, timeout=10, host="127.0.0.1"):
    """One request on a fresh connection. body may be bytes, str or a dict/list
    (sent as JSON). Returns (status, headers, body_bytes); headers is a dict
    with lower-case names (repeated headers joined with ", ")."""
    hdrs = dict(headers or {})
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
        hdrs.setdefault("Content-Type", "application/json")
    if isinstance(body, str):
        body = body.encode()
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=hdrs)
        resp = conn.getresponse()
        data = resp.read()
        out = {}
        for k, v in resp.getheaders():
            k = k.lower()
            out[k] = out[k] + ", " + v if k in out else v
        return resp.status, out, data
    finally:
        conn.close()


class DemoTarget:
    """A `hornet demo-target` child process on 127.0.0.1 with free ports.

    Attributes after start(): host, port, kv_port, url ("http://127.0.0.1:PORT"),
    proc (the subprocess.Popen). stderr of the child is inherited, so its log
    lines show up in the test output."""

    def __init__(self, extra_args=(), start_timeout=15):
        self.extra_args = list(extra_args)
        self.start_timeout = start_timeout
        self.proc = None
        self.host = self.port = self.kv_port = self.url = None

    def start(self):
        self.proc = subprocess.Popen([hornet_path(), "demo-target", "--port", "0"]
                                     + self.extra_args, stdout=subprocess.PIPE)
        line = self._first_line()
        m = _READY_RE.match(line)
        if not m:
            self.kill()
            raise TargetError("unexpected first line from demo-target: %r" % line)
        self.host, self.port, self.kv_port = m.group(1), int(m.group(2)), int(m.group(4))
        self.url = "http://%s:%d" % (self.host, self.port)
        return self

    def _first_line(self):
        deadline = time.monotonic() + self.start_timeout
        fd = self.proc.stdout.fileno()
        buf = b""
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0:
                self.kill()
                raise TargetError("demo-target printed no ready line within %ss"
                                  % self.start_timeout)
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 4096)
                if not chunk:
                    rc = self.proc.wait(timeout=5)
                    raise TargetError("demo-target exited with %s before it was ready" % rc)
                buf += chunk
        return buf.split(b"\n", 1)[0].decode(errors="replace").strip()

    def request(self, method, path, body=None, headers=None, timeout=10):
        """See http_request(); goes to this target."""
        return http_request(self.port, method, path, body, headers, timeout, self.host)

    def get_json(self, path, timeout=10):
        """GET path; returns (status, parsed JSON body)."""
        status, _, data = self.request("GET", path, timeout=timeout)
        return status, json.loads(data)

    def counts(self):
        """Returns the parsed GET /__counts document (not counted itself)."""
        status, doc = self.get_json("/__counts")
        if status != 200:
            raise TargetError("/__counts answered %d" % status)
        return doc

    def reset(self):
        """Zeroes the target's counters (POST /__reset)."""
        status, _, _ = self.request("POST", "/__reset")
        if status != 200:
            raise TargetError("/__reset answered %d" % status)

    def stop(self, timeout=15, sig=signal.SIGTERM):
        """Sends sig and waits; returns the exit code. Kills the process and
        raises TargetError if it does not exit within timeout."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise TargetError("demo-target did not stop within %ss" % timeout)
        finally:
            if self.proc.stdout:
                self.proc.stdout.close()
        return rc

    def kill(self):
        """Hard stop; safe to call more than once."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        if self.proc is not None and self.proc.stdout:
            self.proc.stdout.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            rc = self.stop()
            if rc != 0:
                raise TargetError("demo-target exited with %s" % rc)
        else:
            self.kill()
        return False
