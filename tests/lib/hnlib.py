"""hnlib: shared helpers for hornet's integration tests (python3 stdlib only).

Typical use from a test script in tests/<folder>/:

    import os, sys
    sys.dont_write_bytecode = True          # keep __pycache__ out of the source tree
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
    import hnlib

    with hnlib.DemoTarget() as target:      # runs `$HORNET demo-target --port 0`
        status, headers, body = target.request("GET", "/json")
        assert target.counts()["by_route"]["GET /json"] == 1
        target.reset()                       # POST /__reset

Environment (set by ctest): HORNET = path of the hornet binary; HN_BUILD_DIR and
HN_SOURCE_DIR are available through build_dir() / source_dir().

Everything here talks to 127.0.0.1 only and every wait is bounded by a timeout.
"""

import asyncio
import http.client
import json
import os
import re
import select
import signal
import socket
import subprocess
import threading
import time

__all__ = ["hornet_path", "build_dir", "source_dir", "run_hornet", "DemoTarget",
           "http_request", "TargetError", "plugin_so", "clean_env", "sanitizer_report",
           "HornetCrash", "check_no_crash", "stderr_lines", "known_bug", "run_checks",
           "wait_until", "Dashboard", "LoopbackTarget", "HostileTarget"]

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


def wait_until(pred, timeout, what, interval=0.1):
    """Polls pred() until it returns a true value and returns that value;
    raises AssertionError naming `what` (and the last value) after timeout
    seconds. For conditions, instead of a sleep that happens to be long enough:
    give a generous timeout, it costs nothing when things are fast."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = pred()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %ss waiting for %s (last: %r)"
                                 % (timeout, what, last))
        time.sleep(interval)


class Dashboard:
    """A `hornet ... --web-port 0` child process with its dashboard up; its
    stderr goes to log_path. call(method, path, body) sends body as JSON and
    returns (status, parsed JSON or None). As a context manager it stops the
    process on exit and raises HornetCrash on a sanitizer report."""

    def __init__(self, args, log_path, cwd=None, env=None):
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen([hornet_path()] + list(args) + ["--web-port", "0"],
                                     stdout=subprocess.PIPE, stderr=self.log, text=True,
                                     cwd=cwd, env=env if env is not None else clean_env())
        line = self.proc.stdout.readline()
        m = re.search(r"https?://127\.0\.0\.1:(\d+)/", line)
        if m is None:
            self.close()
            raise AssertionError("no dashboard line from hornet: %r" % line)
        self.port = int(m.group(1))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def call(self, method, path, body=None):
        status, _, data = http_request(self.port, method, path,
                                       body=json.dumps(body) if body is not None else None,
                                       headers={"Content-Type": "application/json"})
        return status, json.loads(data) if data else None

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.communicate(timeout=60)
        if not self.log.closed:
            self.log.close()
            with open(self.log.name) as f:
                report = sanitizer_report(f.read())
            if report:
                raise HornetCrash(report)


class LoopbackTarget:
    """A target of a test's own: HTTP/1.1 keep-alive on 127.0.0.1 (asyncio,
    on a thread of its own) answering every request "200 ok" once
    `await self.serve(head)` returns; subclasses decide how long that takes
    (a delay, a limited number of slots, a freeze). url is its base URL;
    served counts the answers. Use it as a context manager."""

    def __init__(self):
        self.served = 0
        self.loop = asyncio.new_event_loop()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self._ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    async def serve(self, head):
        """Called once per request (its head, body already read)."""

    def setup(self):
        """Called on the target's loop before it accepts connections."""

    def __enter__(self):
        self.thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    def _run(self):
        asyncio.set_event_loop(self.loop)
        self.setup()
        server = self.loop.run_until_complete(
            asyncio.start_server(self._serve, sock=self.sock, backlog=1024))
        self._ready.set()
        self.loop.run_forever()
        server.close()
        self.loop.close()

    async def _serve(self, reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                if b"content-length:" in head.lower():
                    n = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                    await reader.readexactly(n)
                await self.serve(head)
                self.served += 1
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()


class HostileTarget:
    """A raw target of a test's own on 127.0.0.1: one misbehaviour per path,
    each request on a connection of its own (a thread each), closed after
    `self.answer(conn, path)` returns; subclasses write the answers. counts
    holds the requests it read per path; closing turns True at close(), for
    answers that would go on for ever."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.url = "http://127.0.0.1:%d" % self.sock.getsockname()[1]
        self.counts = {}
        self.lock = threading.Lock()
        self.closing = False
        threading.Thread(target=self._accept, daemon=True).start()

    def answer(self, conn, path):
        """Writes (or withholds) the answer to a request for path."""

    def respond(self, conn, path, head):
        """The same, for answers that read the request's head (bytes)."""
        self.answer(conn, path)

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        try:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                head += chunk
            path = head.split(b" ")[1].decode()
            with self.lock:
                self.counts[path] = self.counts.get(path, 0) + 1
            self.respond(conn, path, head)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self):
        self.closing = True
        self.sock.close()


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


# ---------------------------------------------------------------------------
# Helpers for the scripts that drive the hornet binary end to end
# (test_headless.py, test_cli_errors.py, test_examples.py).

def plugin_so(name):
    """Path of BUILD/tests/plugins/NAME.so (built from tests/plugins/NAME.c)."""
    return os.path.join(build_dir(), "tests", "plugins", name + ".so")


def stop_server(proc, timeout=30):
    """Stops a server a test started (Prometheus, influxd...) by its PID:
    SIGTERM, then SIGKILL if it has not exited within timeout seconds."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def clean_env(cache_dir=None, **extra):
    """A copy of os.environ without HORNET_* variables (so the caller's shell
    cannot change a run), with HORNET_CACHE_DIR=cache_dir if given and the
    extra variables added."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HORNET_")}
    if cache_dir is not None:
        env["HORNET_CACHE_DIR"] = cache_dir
    env.update(extra)
    return env


_SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                      "AddressSanitizer:DEADLYSIGNAL", "ERROR: UndefinedBehaviorSanitizer",
                      "WARNING: ThreadSanitizer",
                      "runtime error:", "Segmentation fault", "Aborted", "core dumped")


def sanitizer_report(text, lines=30):
    """Returns the first `lines` lines of a sanitizer report or crash notice
    found in text (a process's stderr), or None when there is none."""
    if not text:
        return None
    all_lines = text.splitlines()
    for i, line in enumerate(all_lines):
        if any(m in line for m in _SANITIZER_MARKERS):
            return "\n".join(all_lines[i:i + lines])
    return None


# Notices sanitizers print on every run that are not findings: ASan warns once
# per process about swapcontext even though engine/coro.c annotates its fiber
# switches.
_BENIGN_STDERR = re.compile(r"^==\d+==WARNING: ASan doesn't fully support "
                            r"makecontext/swapcontext")


def stderr_lines(text):
    """The non-empty lines of a process's stderr, without benign sanitizer
    notices (see _BENIGN_STDERR)."""
    return [x for x in (text or "").splitlines() if x.strip() and not _BENIGN_STDERR.match(x)]


class HornetCrash(Exception):
    """hornet crashed or a sanitizer reported something. Deliberately not an
    AssertionError, so that known_bug() never hides it."""


def check_no_crash(proc, what="hornet"):
    """Raises HornetCrash if a finished subprocess (CompletedProcess or Popen
    with .returncode, and .stderr text if captured) died from a signal or
    printed a sanitizer report or crash notice; the message quotes the first
    30 lines of the report."""
    rc = proc.returncode
    err = proc.stderr if isinstance(proc.stderr, str) else ""
    report = sanitizer_report(err)
    if report is not None:
        raise HornetCrash("%s (exit %s) printed a sanitizer report or crash notice:\n%s"
                          % (what, rc, report))
    if rc is not None and rc < 0:
        raise HornetCrash("%s was killed by signal %d; stderr tail:\n%s"
                          % (what, -rc, "\n".join(err.splitlines()[-30:])))


def known_bug(reason, may_pass=False):
    """Marks a test that fails because of a known, reported hornet bug. An
    assertion failure is then reported as XFAIL and does not fail the script
    (unless HN_STRICT=1 is set); errors and crashes still fail it. When the
    test passes it is reported as XPASS, which fails the script so the mark
    gets removed, unless may_pass is set (for bugs that do not show on every
    run)."""
    import functools
    import unittest

    def wrap(fn):
        if os.environ.get("HN_STRICT") == "1":
            return fn

        @functools.wraps(fn)
        def run(self, *args, **kwargs):
            try:
                fn(self, *args, **kwargs)
            except AssertionError as e:
                first = (str(e).strip().splitlines() or [""])[0][:300]
                raise unittest.SkipTest("XFAIL known hornet bug: %s | %s" % (reason, first))
            if not may_pass:
                self.fail("XPASS: the known bug '%s' looks fixed; remove its @known_bug mark"
                          % reason)
        return run
    return wrap


def run_checks(module_name="__main__"):
    """Runs the unittest cases of a module, printing one line per check
    (PASS/FAIL/XFAIL/XPASS/SKIP) and a final "N passed, N failed" line.
    Returns the process exit code (0 when nothing failed)."""
    import sys
    import traceback
    import unittest

    class Result(unittest.TestResult):
        def __init__(self):
            super().__init__()
            self.passed = self.failed = self.xfailed = 0

        @staticmethod
        def _name(test):
            doc = test.shortDescription() if hasattr(test, "shortDescription") else None
            name = test.id().split(".", 1)[-1] if hasattr(test, "id") else str(test)
            return name + (" - " + doc if doc else "")

        def _say(self, text):
            print(text, flush=True)

        def addSuccess(self, test):
            super().addSuccess(test)
            self.passed += 1
            self._say("PASS  " + self._name(test))

        def _fail(self, test, err, kind):
            self.failed += 1
            self._say("FAIL  %s (%s)" % (self._name(test), kind))
            text = "".join(traceback.format_exception(*err))
            for line in text.rstrip().splitlines():
                self._say("      " + line)

        def addFailure(self, test, err):
            super().addFailure(test, err)
            self._fail(test, err, "failure")

        def addError(self, test, err):
            super().addError(test, err)
            self._fail(test, err, "error")

        def addSubTest(self, test, subtest, err):
            super().addSubTest(test, subtest, err)
            if err is not None:
                kind = "failure" if issubclass(err[0], test.failureException) else "error"
                self._fail(subtest, err, kind)

        def addSkip(self, test, reason):
            super().addSkip(test, reason)
            if reason.startswith("XFAIL "):
                self.xfailed += 1
                self._say("XFAIL %s: %s" % (self._name(test), reason[6:]))
            else:
                self._say("SKIP  %s: %s" % (self._name(test), reason))

    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[module_name])
    result = Result()
    suite.run(result)
    if result.xfailed:
        print("%d known hornet bug(s) marked XFAIL (HN_STRICT=1 makes them fail)"
              % result.xfailed)
    print("%d passed, %d failed" % (result.passed, result.failed), flush=True)
    return 1 if result.failed else 0
