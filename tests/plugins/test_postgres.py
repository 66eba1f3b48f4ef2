#!/usr/bin/env python3
"""plugins/postgres.c (libpq's asynchronous API under hn_wait_fd) against
Debian's real PostgreSQL 15 server.

- a run's requests per name equal the server's own counts
  (pg_stat_statements: calls per statement), and the orders it stored;
  no failures, exit 0;
- nothing listening: every connect fails with libpq's "Connection refused"
  line, exit 1, no crash;
- the server killed (SIGKILL) mid-run: the run still ends on time, the lost
  connections and the refused reconnects are failures, no crash;
- a server that accepts TCP and never answers, and one that completes the
  handshake and then never answers a query: failures with the plugin's
  timeout messages, within the bound;
- a malformed dsn stops the test with the reason.
Each server is started here on 127.0.0.1 with a temporary data directory
and stopped by its PID. postgres refuses to run as root: as root, initdb
and postgres run as the postgres user (made by Debian's package).
"""
import json
import os
import pwd
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import hnlib  # noqa: E402

PG_BIN = "/usr/lib/postgresql/15/bin"
TMP = tempfile.mkdtemp(prefix="hn-postgres-")
CACHE = os.path.join(TMP, "cache")


def plugin():
    return os.path.join(hnlib.build_dir(), "plugins", "postgres.so")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg_env():
    """The environment without PG* variables (PGHOST, PGPORT... would change
    what libpq, psql and the server do)."""
    return {k: v for k, v in hnlib.clean_env(CACHE).items() if not k.startswith("PG")}


def as_server_user():
    """Popen arguments that run the server as the postgres user when we are root."""
    if os.geteuid() != 0:
        return {}
    return {"user": "postgres", "group": "postgres", "extra_groups": []}


class Postgres:
    """A postgres on 127.0.0.1 with its own data and socket directories,
    pg_stat_statements loaded; trust authentication (loopback only)."""

    def __init__(self):
        if not os.access(os.path.join(PG_BIN, "postgres"), os.X_OK):
            raise AssertionError("no %s/postgres: install postgresql (packaging/deps.sh test)"
                                 % PG_BIN)
        self.dir = tempfile.mkdtemp(prefix="pg-", dir=TMP)
        self.data = os.path.join(self.dir, "data")
        self.sock = os.path.join(self.dir, "sock")
        os.mkdir(self.sock)
        if os.geteuid() == 0:
            try:
                pw = pwd.getpwnam("postgres")
            except KeyError:
                raise AssertionError("running as root and there is no postgres user to run "
                                     "the server as: install postgresql (packaging/deps.sh test)")
            os.chmod(TMP, 0o711)  # let the postgres user reach its directory
            for d in (self.dir, self.sock):
                os.chown(d, pw.pw_uid, pw.pw_gid)
        r = subprocess.run([os.path.join(PG_BIN, "initdb"), "-D", self.data, "-U", "postgres",
                            "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"],
                           capture_output=True, text=True, timeout=120, env=pg_env(),
                           cwd=self.dir, **as_server_user())
        if r.returncode != 0:
            raise AssertionError("initdb failed:\n" + r.stdout[-2000:] + r.stderr[-2000:])
        for _ in range(5):
            self.port = free_port()
            try:
                self.start()
                break
            except AssertionError:
                self.stop()
        else:
            raise AssertionError("postgres did not start: " + self.log_text()[-2000:])
        self.dsn = "host=127.0.0.1 port=%d dbname=postgres user=postgres" % self.port
        try:
            self.psql("CREATE EXTENSION pg_stat_statements")
        except BaseException:
            self.stop()
            raise

    def start(self):
        self.log = open(os.path.join(self.dir, "postgres.log"), "a")
        # Small and unsafe on purpose: a throw-away server, nothing to keep.
        self.proc = subprocess.Popen(
            [os.path.join(PG_BIN, "postgres"), "-D", self.data, "-p", str(self.port),
             "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=" + self.sock,
             "-c", "shared_preload_libraries=pg_stat_statements", "-c", "shared_buffers=16MB",
             "-c", "max_connections=50", "-c", "fsync=off", "-c", "synchronous_commit=off",
             "-c", "full_page_writes=off", "-c", "logging_collector=off"],
            stdout=self.log, stderr=subprocess.STDOUT, env=pg_env(), cwd=self.dir,
            start_new_session=True, **as_server_user())
        hnlib.wait_until(self._ready, 60, "postgres to accept connections")

    def _ready(self):
        if self.proc.poll() is not None:
            raise AssertionError("postgres exited: " + self.log_text()[-2000:])
        r = subprocess.run([os.path.join(PG_BIN, "pg_isready"), "-q", "-h", "127.0.0.1",
                            "-p", str(self.port), "-U", "postgres", "-d", "postgres"],
                           env=pg_env(), timeout=30)
        return r.returncode == 0

    def log_text(self):
        with open(os.path.join(self.dir, "postgres.log"), errors="replace") as f:
            return f.read()

    def psql(self, sql):
        """Runs sql; returns its rows as lists of text fields."""
        r = subprocess.run([os.path.join(PG_BIN, "psql"), "-X", "-q", "-A", "-t", "-F", "\t",
                            "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(self.port),
                            "-U", "postgres", "-d", "postgres", "-c", sql],
                           capture_output=True, text=True, timeout=60, env=pg_env())
        if r.returncode != 0:
            raise AssertionError("psql %r failed: %s" % (sql, r.stderr))
        return [line.split("\t") for line in r.stdout.splitlines() if line]

    def calls(self):
        """{statement text: calls} from pg_stat_statements."""
        return {q: int(n) for q, n in self.psql(
            "SELECT query, sum(calls) FROM pg_stat_statements GROUP BY query")}

    def stop(self):
        """Stops the server by its PID. After a SIGKILL its backends exit on
        their own (they watch the postmaster); the small SysV segment it
        keeps for its interlock is then removed, as a clean stop would."""
        hnlib.stop_server(self.proc)
        self.log.close()
        hnlib.wait_until(lambda: not self._group_alive(), 30, "postgres' backends to exit")
        try:
            with open(os.path.join(self.data, "postmaster.pid")) as f:
                lines = f.read().splitlines()
        except OSError:
            return  # a clean stop removes the file and the segment
        if len(lines) >= 7 and len(lines[6].split()) == 2:
            subprocess.run(["ipcrm", "-m", lines[6].split()[1]], capture_output=True,
                           timeout=30)

    def _group_alive(self):
        """True while a process of the server's process group is left."""
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % pid) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == self.proc.pid and fields[0] != "Z":
                return True
        return False


def run(args, timeout=60):
    """Runs hornet headless with postgres.so and a JSON output; returns
    (CompletedProcess, doc, seconds it took)."""
    path = os.path.join(TMP, "r-%d.json" % time.monotonic_ns())
    full = ["-f", plugin(), "--headless", "--only-summary", "--json", path] + list(args)
    start = time.monotonic()
    r = hnlib.run_hornet(full, timeout=timeout, cwd=TMP, env=pg_env())
    took = time.monotonic() - start
    hnlib.check_no_crash(r, "hornet " + " ".join(full))
    doc = None
    if os.path.exists(path):
        with open(path) as f:
            doc = json.load(f)
    return r, doc, took


def describe(r):
    return "exit %s\n--- stdout (tail)\n%s\n--- stderr (tail)\n%s" % (
        r.returncode, "\n".join(r.stdout.splitlines()[-25:]),
        "\n".join(r.stderr.splitlines()[-25:]))


def entries(doc):
    return {(e["type"], e["name"]): e for e in doc["entries"]}


def errors(doc):
    return {(x["type"], x["name"], x["message"]) for x in doc["errors"]}


# The statements as pg_stat_statements keeps them (constants become $n).
SELECT_ITEM = "SELECT name, stock FROM hornet_items WHERE id = $1"
INSERT_ORDER = "INSERT INTO hornet_orders (user_id, item_id, qty) VALUES ($1, $2, $3)"
CHECKOUT_UPDATE = "UPDATE hornet_items SET stock = stock - $2 WHERE id = $1 AND stock >= $2"
CHECKOUT_INSERT = INSERT_ORDER + " RETURNING id"
SCHEMA_LOCK = "SELECT pg_advisory_xact_lock($1)"


class AgainstPostgres(unittest.TestCase):
    """10 users for 5 s against a fresh server"""

    USERS = 10

    @classmethod
    def setUpClass(cls):
        cls.pg = Postgres()
        try:
            cls.pg.psql("SELECT pg_stat_statements_reset()")
            cls.r, cls.doc, _ = run(["-u", str(cls.USERS), "-r", "20", "-t", "5s", "--seed", "3",
                                     "--param", "dsn=" + cls.pg.dsn])
            cls.calls = cls.pg.calls()
            cls.orders = int(cls.pg.psql("SELECT count(*) FROM hornet_orders")[0][0])
        except BaseException:
            cls.pg.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.pg.stop()

    def test_exit_and_no_failures(self):
        """exit 0, no failures, no exceptions, ended by the run time"""
        self.assertIsNotNone(self.doc, describe(self.r))
        self.assertEqual(self.doc["errors"], [], describe(self.r))
        self.assertEqual(self.doc["exceptions"], [])
        self.assertEqual(self.r.returncode, 0, describe(self.r))
        self.assertEqual(self.doc["run"]["stop_reason"], "run time limit reached")

    def test_counts_equal_pg_stat_statements(self):
        """requests per name equal the server's calls per statement, exactly"""
        e = {name: ent["requests"] for (t, name), ent in entries(self.doc).items() if t == "PG"}
        self.assertEqual(set(e), {"connect", "schema", "select item", "insert order", "checkout"})
        self.assertEqual(set(t for t, _ in entries(self.doc)), {"PG"})
        c = self.calls
        print("      hornet %s; pg_stat_statements: select %d, insert %d, update %d, "
              "insert returning %d, begin %d, commit %d, lock %d" % (
                  e, c.get(SELECT_ITEM, 0), c.get(INSERT_ORDER, 0), c.get(CHECKOUT_UPDATE, 0),
                  c.get(CHECKOUT_INSERT, 0), c.get("BEGIN", 0), c.get("COMMIT", 0),
                  c.get(SCHEMA_LOCK, 0)), flush=True)
        self.assertEqual(e["select item"], c.get(SELECT_ITEM, 0), c)
        self.assertEqual(e["insert order"], c.get(INSERT_ORDER, 0), c)
        for stmt in (CHECKOUT_UPDATE, CHECKOUT_INSERT, "BEGIN", "COMMIT"):
            self.assertEqual(e["checkout"], c.get(stmt, 0), stmt)
        self.assertNotIn("ROLLBACK", c)
        self.assertEqual(e["schema"], c.get(SCHEMA_LOCK, 0), c)
        # ~10 users x 5 s at one task per 0.1-0.5 s: some hundreds of statements.
        self.assertGreater(e["select item"], 100)
        self.assertGreater(e["checkout"], 10)

    def test_rows_stored(self):
        """every insert order and every checkout left one row in hornet_orders"""
        e = entries(self.doc)
        self.assertEqual(self.orders, e[("PG", "insert order")]["requests"]
                         + e[("PG", "checkout")]["requests"])

    def test_one_connection_per_user(self):
        """one connect and one schema check per user, none failed"""
        e = entries(self.doc)
        self.assertEqual(e[("PG", "connect")]["requests"], self.USERS)
        self.assertEqual(e[("PG", "schema")]["requests"], self.USERS)
        self.assertEqual(self.doc["total"]["failures"], 0)

    def test_params_in_result(self):
        """the dsn is listed with the run; the password parameter is masked"""
        params = {p["name"]: p for p in self.doc["run"]["params"]}
        self.assertEqual(params["dsn"]["value"], self.pg.dsn)
        self.assertTrue(params["password"]["secret"])
        self.assertEqual(params["timeout"]["value"], "10")

    def test_sql_error_keeps_connection(self):
        """an INSERT the server refuses: its ERROR line, the transaction rolled back, no reconnect"""
        self.pg.psql("ALTER TABLE hornet_orders ADD CONSTRAINT no_orders CHECK (qty < 0) "
                     "NOT VALID")
        try:
            self.pg.psql("SELECT pg_stat_statements_reset()")
            r, doc, _ = run(["-u", "5", "-r", "50", "-t", "3s", "--param", "dsn=" + self.pg.dsn])
            calls = self.pg.calls()
        finally:
            self.pg.psql("ALTER TABLE hornet_orders DROP CONSTRAINT no_orders")
        self.assertIsNotNone(doc, describe(r))
        self.assertEqual(r.returncode, 1, describe(r))
        refused = ('ERROR:  new row for relation "hornet_orders" violates check constraint '
                   '"no_orders"')
        msgs = errors(doc)
        self.assertTrue(msgs, describe(r))
        self.assertLessEqual(msgs, {("PG", "insert order", refused), ("PG", "checkout", refused)})
        e = entries(doc)
        self.assertEqual(e[("PG", "connect")]["requests"], 5)  # connections kept
        self.assertEqual(e[("PG", "select item")]["failures"], 0)
        for name in ("insert order", "checkout"):
            if ("PG", name) in e:
                self.assertEqual(e[("PG", name)]["failures"], e[("PG", name)]["requests"])
        # Each checkout began, updated, failed to insert and was rolled back
        # (pg_stat_statements counts only the statements that succeeded).
        checkouts = e[("PG", "checkout")]["requests"] if ("PG", "checkout") in e else 0
        for stmt in ("BEGIN", CHECKOUT_UPDATE, "ROLLBACK"):
            self.assertEqual(calls.get(stmt, 0), checkouts, stmt)
        self.assertNotIn("COMMIT", calls)


class Broken(unittest.TestCase):
    def test_nothing_listening(self):
        """a dsn to a closed port: connects fail with libpq's line, exit 1, no crash"""
        port = free_port()
        r, doc, took = run(["-u", "3", "-r", "30", "-t", "1.5s", "--param",
                            "dsn=host=127.0.0.1 port=%d dbname=postgres user=postgres" % port])
        self.assertIsNotNone(doc, describe(r))
        self.assertEqual(r.returncode, 1, describe(r))
        want = ('connection to server at "127.0.0.1", port %d failed: Connection refused' % port)
        self.assertEqual(errors(doc), {("PG", "connect", want)}, describe(r))
        e = entries(doc)
        self.assertEqual(set(e), {("PG", "connect")})
        self.assertEqual(e[("PG", "connect")]["requests"], e[("PG", "connect")]["failures"])
        self.assertGreater(e[("PG", "connect")]["requests"], 3)  # each task tries again
        self.assertLess(took, 1.5 + 5)

    def test_server_killed_mid_run(self):
        """postgres SIGKILLed mid-run: the run ends on time with failures, no hang"""
        pg = Postgres()
        path = os.path.join(TMP, "killed.json")
        log = open(os.path.join(TMP, "killed.log"), "w")
        start = time.monotonic()
        proc = subprocess.Popen([hnlib.hornet_path(), "-f", plugin(), "--headless",
                                 "--only-summary", "--json", path, "-u", "5", "-r", "50",
                                 "-t", "5s", "--param", "timeout=2", "--param", "dsn=" + pg.dsn],
                                stdout=subprocess.DEVNULL, stderr=log, cwd=TMP, env=pg_env())
        try:
            hnlib.wait_until(lambda: int(pg.psql(
                "SELECT count(*) FROM pg_stat_statements WHERE query = '%s' AND calls > 20"
                % SELECT_ITEM.replace("'", "''"))[0][0]), 30, "the users' first queries")
            os.kill(pg.proc.pid, signal.SIGKILL)
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            log.close()
            pg.stop()
        took = time.monotonic() - start
        with open(os.path.join(TMP, "killed.log")) as f:
            stderr = f.read()
        hnlib.check_no_crash(subprocess.CompletedProcess(proc.args, proc.returncode, "", stderr))
        self.assertEqual(proc.returncode, 1, stderr[-3000:])
        self.assertLess(took, 5 + 2 + 6, stderr[-3000:])  # run + one timeout + start-up
        with open(path) as f:
            doc = json.load(f)
        self.assertEqual(doc["run"]["stop_reason"], "run time limit reached")
        e = entries(doc)
        self.assertGreater(e[("PG", "select item")]["requests"]
                           - e[("PG", "select item")]["failures"], 20)
        msgs = errors(doc)
        refused = ('connection to server at "127.0.0.1", port %d failed: Connection refused'
                   % pg.port)
        self.assertIn(("PG", "connect", refused), msgs, msgs)
        self.assertGreater(e[("PG", "connect")]["failures"], 0)
        # The connections open at the kill broke under a statement: a
        # failure of a task's entry too, with libpq's or the server's line.
        self.assertTrue(any(n != "connect" for _, n, _ in msgs), msgs)
        for _, _, m in msgs:
            self.assertNotIn("\n", m)
        print("      failures: %s" % sorted(msgs), flush=True)

    def test_never_answers(self):
        """a port that accepts TCP but never answers: connects time out after 1 s"""
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(64)  # the kernel completes the handshakes; nobody reads
        port = srv.getsockname()[1]
        try:
            r, doc, took = run(["-u", "3", "-r", "30", "-t", "2s", "--param", "timeout=1",
                                "--param", "dsn=host=127.0.0.1 port=%d user=postgres" % port])
        finally:
            srv.close()
        self.assertIsNotNone(doc, describe(r))
        self.assertEqual(r.returncode, 1, describe(r))
        self.assertEqual(errors(doc), {("PG", "connect", "could not connect within 1 s")})
        self.assertGreaterEqual(entries(doc)[("PG", "connect")]["failures"], 3)
        self.assertLess(took, 2 + 1 + 5)  # the run, one timeout, start-up

    def test_never_answers_a_query(self):
        """a server that lets users in but never answers a query: 'no answer within 1 s'"""
        srv = SilentServer()
        try:
            r, doc, took = run(["-u", "3", "-r", "30", "-t", "2s", "--param", "timeout=1",
                                "--param", "dsn=host=127.0.0.1 port=%d user=postgres" % srv.port])
        finally:
            srv.close()
        self.assertIsNotNone(doc, describe(r))
        self.assertEqual(r.returncode, 1, describe(r))
        # The first statement of each connection is the schema check; it
        # times out, the connection is closed, the next task reconnects.
        self.assertEqual(errors(doc), {("PG", "schema", "no answer within 1 s")}, describe(r))
        e = entries(doc)
        self.assertEqual(e[("PG", "connect")]["failures"], 0)
        self.assertGreaterEqual(e[("PG", "schema")]["failures"], 3)
        self.assertGreaterEqual(srv.connections, e[("PG", "connect")]["requests"])
        self.assertLess(took, 2 + 1 + 5)

    def test_bad_dsn_stops_test(self):
        """a malformed dsn stops the test at once with libpq's reason"""
        r, doc, took = run(["-u", "2", "-r", "10", "-t", "5s", "--param", "dsn=host"])
        self.assertIsNotNone(doc, describe(r))
        self.assertIn("postgres: bad dsn: missing \"=\" after \"host\"",
                      doc["run"]["stop_reason"] or "", describe(r))
        self.assertLess(doc["run"]["duration_s"], 4)


class SilentServer:
    """Speaks just enough of PostgreSQL's protocol to let a client in (no
    SSL, no authentication), then reads and never answers."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.conns = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            self.conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    @staticmethod
    def _read(conn, n):
        data = b""
        while len(data) < n:
            chunk = conn.recv(n - len(data))
            if not chunk:
                raise OSError("closed")
            data += chunk
        return data

    def _serve(self, conn):
        try:
            while True:  # SSLRequest / GSSENCRequest ('N': not here), then the startup
                n, code = struct.unpack("!II", self._read(conn, 8))
                self._read(conn, n - 8)
                if code not in (80877103, 80877104):
                    break
                conn.sendall(b"N")

            def msg(kind, body):
                return kind + struct.pack("!I", len(body) + 4) + body
            conn.sendall(msg(b"R", struct.pack("!I", 0))  # AuthenticationOk
                         + msg(b"S", b"server_version\x0015.0\x00")
                         + msg(b"S", b"client_encoding\x00UTF8\x00")
                         + msg(b"K", struct.pack("!II", 1, 2))
                         + msg(b"Z", b"I"))
            while conn.recv(65536):
                pass
        except OSError:
            pass

    def close(self):
        self.sock.close()
        for c in self.conns:
            c.close()


def tearDownModule():
    shutil.rmtree(TMP, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(hnlib.run_checks())
