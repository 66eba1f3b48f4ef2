#!/usr/bin/env python3
"""End-to-end test of hornet's handling of bad input: every bad option,
plugin or configuration exits 2 with one clear line on stderr that names the
problem, and never crashes. Also -V/--help, and `demo-target` arguments.

Needs HORNET (path of the binary), HN_BUILD_DIR (test plugins) and
HN_SOURCE_DIR (fixtures). No network traffic except a connection refused on
127.0.0.1. Prints one line per check and a final "N passed, N failed" line."""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import hnlib  # noqa: E402

TMP = None
CACHE = None
# A host nothing listens on: no run in this file may get as far as a request.
DEAD = "http://127.0.0.1:9"
LOG_LINE = re.compile(r"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] (DEBUG|INFO|WARNING|ERROR|CRITICAL): ")


def setUpModule():
    global TMP, CACHE
    TMP = tempfile.mkdtemp(prefix="hn-cli-")
    CACHE = os.path.join(TMP, "cache")


def tearDownModule():
    shutil.rmtree(TMP, ignore_errors=True)


def hornet(args, env=None, timeout=30):
    r = subprocess.run([hnlib.hornet_path()] + list(args), capture_output=True, text=True,
                       timeout=timeout, cwd=TMP, env=hnlib.clean_env(CACHE, **(env or {})))
    hnlib.check_no_crash(r, "hornet " + " ".join(args))
    return r


def src(*parts):
    return os.path.join(hnlib.source_dir(), *parts)


def tmpfile(name, text):
    path = os.path.join(TMP, name)
    with open(path, "w") as f:
        f.write(text)
    return path


class BadInput(unittest.TestCase):
    def error_line(self, args, *needles, env=None, multiline=False):
        """Runs hornet; asserts exit 2, nothing on stdout and, apart from log
        lines, exactly one stderr line (unless multiline) that contains every
        needle. Returns the error line."""
        r = hornet(args, env=env)
        detail = "args %r\nstdout: %r\nstderr: %r" % (args, r.stdout[-500:], r.stderr[-2000:])
        self.assertEqual(r.returncode, 2, detail)
        self.assertEqual(r.stdout, "", detail)
        lines = [x for x in hnlib.stderr_lines(r.stderr) if not LOG_LINE.match(x)]
        self.assertGreaterEqual(len(lines), 1, detail)
        if not multiline:
            self.assertEqual(len(lines), 1, detail)
        line = lines[0]
        self.assertLess(len(line), 400, detail)
        for n in needles:
            self.assertIn(n, line if not multiline else r.stderr, detail)
        return line

    def probe(self):
        return hnlib.plugin_so("engine_probe")

    def headless(self, *extra):
        return ["--headless", "-f", self.probe(), "-H", DEAD, "-t", "1s"] + list(extra)

    # --- options -------------------------------------------------------------
    def test_unknown_flag(self):
        """unknown flag"""
        self.error_line(["--bogus"], "--bogus")

    def test_users_not_a_number(self):
        """-u ten"""
        self.error_line(self.headless("-u", "ten"), "-u/--users", "ten")

    def test_users_range(self):
        """-u -5 and -u 1000001"""
        self.error_line(self.headless("-u", "-5"), "--users")
        self.error_line(self.headless("-u", "1000001"), "--users", "1000001")

    def test_spawn_rate_zero(self):
        """-r 0"""
        self.error_line(self.headless("-r", "0"), "-r/--spawn-rate", "'0'")

    def test_spawn_rate_junk(self):
        """-r abc, -r nan"""
        self.error_line(self.headless("-r", "abc"), "--spawn-rate", "abc")
        self.error_line(self.headless("-r", "nan"), "--spawn-rate", "nan")

    def test_run_time_bad_unit(self):
        """-t 5x"""
        self.error_line(self.headless("-t", "5x"), "-t/--run-time", "5x")

    def test_missing_value(self):
        """-u with no value"""
        self.error_line(["--headless", "-f", self.probe(), "-H", DEAD, "-u"], "-u/--users")

    def test_other_ranges(self):
        """--threads 0, --exit-code-on-error 256, -L loud, -s -1, --web-port 70000"""
        self.error_line(self.headless("--threads", "0"), "--threads")
        self.error_line(self.headless("--exit-code-on-error", "256"), "--exit-code-on-error")
        self.error_line(self.headless("-L", "loud"), "--loglevel", "loud")
        self.error_line(self.headless("-s", "-1"), "--stop-timeout")
        self.error_line(self.headless("--web-port", "70000"), "--web-port")

    def test_positional_argument(self):
        """a stray positional argument"""
        self.error_line(self.headless("stray"), "stray")

    def test_csv_full_history_alone(self):
        """--csv-full-history without --csv"""
        self.error_line(self.headless("--csv-full-history"), "--csv-full-history", "--csv")

    def test_host_empty(self):
        """-H http:// (empty host)"""
        self.error_line(["--headless", "-f", self.probe(), "-H", "http://"], "-H/--host")

    def test_host_ftp(self):
        """-H ftp://x"""
        self.error_line(["--headless", "-f", self.probe(), "-H", "ftp://x", "-u", "1", "-t",
                         "1s"], "ftp://x")

    # --- configuration -------------------------------------------------------
    def test_env_bad_value(self):
        """HORNET_USERS=ten names the variable"""
        self.error_line(["--demo", "--headless", "-t", "1s"], "HORNET_USERS", "ten",
                        env={"HORNET_USERS": "ten"})

    def test_config_missing(self):
        """--config FILE that does not exist"""
        self.error_line(self.headless("--config", os.path.join(TMP, "nope.conf")), "--config",
                        "nope.conf")

    def test_config_bad_line(self):
        """a config line without '=' names the file and line"""
        path = tmpfile("bad.conf", "users = 3\nbogus-line\n")
        self.error_line(self.headless("--config", path), "bad.conf:2", "bogus-line")

    def test_config_unknown_key(self):
        """an unknown key in a config file"""
        path = tmpfile("bad2.conf", "nosuch = 3\n")
        self.error_line(self.headless("--config", path), "bad2.conf:1", "nosuch")

    def test_config_bad_value(self):
        """a bad value in a config file"""
        path = tmpfile("bad3.conf", "users = many\n")
        self.error_line(self.headless("--config", path), "users", "many")

    # --- plugins -------------------------------------------------------------
    def test_no_plugin(self):
        """no -f and no --demo"""
        self.error_line(["--headless", "-H", DEAD], "-f", "--demo")

    def test_missing_plugin_file(self):
        """-f a file that does not exist"""
        self.error_line(self.headless_with(os.path.join(TMP, "missing.so")), "missing.so")

    def test_plugin_is_directory(self):
        """-f a directory"""
        self.error_line(self.headless_with(TMP), TMP)

    def test_text_file_named_so(self):
        """-f a text file named x.so"""
        path = tmpfile("x.so", "this is not an ELF file\n")
        self.error_line(self.headless_with(path), "x.so")

    def test_unknown_extension(self):
        """-f a file that is neither .so nor .c"""
        path = tmpfile("plugin.txt", "hello\n")
        r = hornet(self.headless_with(path))
        self.assertEqual(r.returncode, 2, r.stderr)

    def test_syntax_error(self):
        """-f tests/fixtures/syntax_error.c shows the compiler's output"""
        path = src("tests", "fixtures", "syntax_error.c")
        line = self.error_line(self.headless_with(path), "syntax_error.c", multiline=True)
        self.assertIn("compil", line)
        r = hornet(self.headless_with(path))
        self.assertRegex(r.stderr, r"syntax_error\.c:\d+:\d+: error: ")

    def test_bad_abi(self):
        """-f bad_abi.so (built for ABI 2.x)"""
        self.error_line(self.headless_with(hnlib.plugin_so("bad_abi")), "bad_abi.so", "ABI")

    def test_no_entry(self):
        """-f no_entry.so (no hornet_plugin_entry_v1)"""
        self.error_line(self.headless_with(hnlib.plugin_so("no_entry")), "no_entry.so",
                        "hornet_plugin_entry_v1")

    def test_init_fails(self):
        """-f init_fails.so shows the plugin's own message"""
        self.error_line(self.headless_with(hnlib.plugin_so("init_fails")), "init_fails.so",
                        "init failed")

    def test_no_user_types(self):
        """-f no_user_types.so"""
        self.error_line(self.headless_with(hnlib.plugin_so("no_user_types")),
                        "no_user_types.so", "user type")

    def test_zero_weights(self):
        """-f zero_weights.so"""
        self.error_line(self.headless_with(hnlib.plugin_so("zero_weights")), "zero_weights.so",
                        "weight")

    def test_other_broken_plugins(self):
        """every other deliberately broken test plugin is refused with exit 2"""
        broken = ["duplicate_names", "no_tasks", "refuses", "small_struct", "stack_too_big",
                  "stack_too_small", "task_no_fn", "task_no_name", "unnamed_type", "init_silent",
                  "wait_between_reversed", "wait_custom_no_fn", "wait_negative",
                  "wait_throughput_zero"]
        for name in broken:
            path = hnlib.plugin_so(name)
            if os.path.exists(path):
                with self.subTest(plugin=name):
                    self.error_line(self.headless_with(path), name + ".so")

    def test_tags_match_nothing(self):
        """-T with a tag no task has: runner error"""
        line = self.error_line(self.headless("-T", "nosuchtag"), "--tags")
        self.assertIn("no task", line)

    def test_tags_empty(self):
        """-T ''"""
        self.error_line(self.headless("-T", ""), "-T/--tags")

    def headless_with(self, plugin):
        return ["--headless", "-f", plugin, "-H", DEAD, "-t", "1s"]

    # --- outputs -------------------------------------------------------------
    def test_unwritable_csv(self):
        """--csv under a regular file: cannot write, exit 2 before the run"""
        blocker = tmpfile("blocker", "")
        self.error_line(["--demo", "--headless", "-t", "1s", "--csv",
                         os.path.join(blocker, "sub", "run")], "cannot write")

    def test_json_new_directory(self):
        """--json DIR/sub/r.json creates the directory like --csv does"""
        path = os.path.join(TMP, "newdir", "sub", "r.json")
        r = hornet(["--demo", "--headless", "-t", "1s", "-u", "1", "--only-summary",
                    "--json", path])
        self.assertIn(r.returncode, (0, 1), r.stderr)
        self.assertTrue(os.path.isfile(path), r.stderr)

    def test_html_written_or_refused(self):
        """--html FILE is written, or refused with exit 2"""
        path = os.path.join(TMP, "report.html")
        r = hornet(["--demo", "--headless", "-t", "1s", "-u", "1", "--only-summary",
                    "--html", path])
        if r.returncode == 2:
            self.assertIn("--html", r.stderr)
        else:
            self.assertTrue(os.path.isfile(path), "exit %d, no %s" % (r.returncode, path))

    # --- modes ---------------------------------------------------------------
    def test_without_headless(self):
        """without --headless: the dashboard starts, prints its URL, and SIGINT quits with 0"""
        p = subprocess.Popen([hnlib.hornet_path(), "-f", self.probe(), "-H", DEAD,
                              "--web-port", "0"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, cwd=TMP,
                             env=hnlib.clean_env(CACHE))
        try:
            line = p.stdout.readline()
            self.assertRegex(line, r"^hornet dashboard: http://127\.0\.0\.1:\d+/$")
            p.send_signal(2)
            out, err = p.communicate(timeout=15)
        finally:
            if p.poll() is None:
                p.kill()
                p.communicate()
        hnlib.check_no_crash(subprocess.CompletedProcess(p.args, p.returncode, out, err))
        self.assertEqual(p.returncode, 0, err)

    def test_demo_target_bad_port(self):
        """hornet demo-target --port abc"""
        self.error_line(["demo-target", "--port", "abc"], "--port")

    def test_demo_target_unknown_option(self):
        """hornet demo-target --bogus"""
        r = hornet(["demo-target", "--bogus"], timeout=10)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("--bogus", r.stderr)


class GoodInfo(unittest.TestCase):
    def test_version(self):
        """hornet -V exits 0 and prints the version"""
        for flag in ("-V", "--version"):
            r = hornet([flag])
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertRegex(r.stdout, r"^hornet \d+\.\d+\.\d+ \(plugin ABI \d+\.\d+\)\n$")
            self.assertEqual(r.stderr, "")

    def test_help(self):
        """hornet --help exits 0 and lists the options"""
        for flag in ("-h", "--help"):
            r = hornet([flag])
            self.assertEqual(r.returncode, 0, r.stderr)
            for opt in ("--plugin", "--host", "--users", "--spawn-rate", "--run-time",
                        "--headless", "--csv", "--json", "--exit-code-on-error", "--tags"):
                self.assertIn(opt, r.stdout)
            self.assertEqual(r.stderr, "")

    def test_help_wins_over_bad_config(self):
        """--help works even when ./hornet.conf is broken"""
        d = os.path.join(TMP, "brokencwd")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "hornet.conf"), "w") as f:
            f.write("garbage\n")
        r = subprocess.run([hnlib.hornet_path(), "--help"], capture_output=True, text=True,
                           timeout=10, cwd=d, env=hnlib.clean_env(CACHE))
        hnlib.check_no_crash(r)
        self.assertEqual(r.returncode, 0, r.stderr)


if __name__ == "__main__":
    sys.exit(hnlib.run_checks())
