#!/usr/bin/env python3
"""Comparing runs: `hornet compare BASE.json NEW.json` and `--baseline`.

Three runs of the open model (a fixed 40 iterations/s, so requests/s do not
move) against a loopback target of this test's own whose latency is set
per run: 20 ms, 20 ms again, then 60 ms.
- compare says the median is the same for the two 20 ms runs and worse for
  the slow one, whose verdict is "worse" (exit 3); the other way round it is
  "better" (exit 0); a result whose figures all moved within the tolerance
  is "same" (exit 0). (The tails of two runs on a busy 2-core machine can
  differ by more than any sensible tolerance: the median is what the real
  runs are judged on.)
- `--baseline` puts the same comparison into the console summary, the JSON
  result and the HTML report's data, without changing the exit code;
- the failure ratio: a rise below 0.1 % of requests is the same, above it
  worse;
- bad input (files, tolerance, arguments) is exit 2 with one line.
"""
import asyncio
import copy
import json
import os
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import hnlib  # noqa: E402

TMP = tempfile.mkdtemp(prefix="hn-compare-")
PLUGIN = hnlib.plugin_so("open_get")


class SlowTarget(hnlib.LoopbackTarget):
    """Answers every request after `delay` seconds."""

    delay = 0.0

    async def serve(self, head):
        await asyncio.sleep(self.delay)


def hornet_run(target, name, extra=()):
    out = os.path.join(TMP, name + ".json")
    r = hnlib.run_hornet(["-f", PLUGIN, "-H", target.url, "--headless", "--only-summary",
                          "--arrival-rate", "40", "-u", "40", "-t", "3s", "--json", out]
                         + list(extra), timeout=120, env=hnlib.clean_env())
    hnlib.check_no_crash(r)
    return r, out


def compare(*args):
    r = hnlib.run_hornet(["compare"] + list(args), timeout=30)
    hnlib.check_no_crash(r)
    return r


class Compare(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with SlowTarget() as t:
            t.delay = 0.020
            r, cls.base = hornet_run(t, "base")
            assert r.returncode == 0, r.stderr[-2000:]
            r, cls.again = hornet_run(t, "again")
            assert r.returncode == 0, r.stderr[-2000:]
            t.delay = 0.060
            html = os.path.join(TMP, "slow.html")
            cls.slow_run, cls.slow = hornet_run(t, "slow", ["--baseline", cls.base,
                                                             "--tolerance", "25%", "--html", html])
            cls.html = html

    def test_same_when_nothing_changed(self):
        r = compare(self.base, self.again, "--tolerance", "25%")
        self.assertRegex(r.stdout, r"\n\s+Aggregated\s+p50 ms\s+[\d.]+\s+[\d.]+\s+[-+]\d+\.\d %"
                                   r"\s+same")
        r = compare(self.base, self.base)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("Compared with the baseline (tolerance 10 %): same (0 worse, 0 better)",
                      r.stdout)
        # Every figure 8 % slower, requests/s 8 % lower: within 10 %.
        d = json.load(open(self.base))
        for e in [d["total"]] + d["entries"]:
            e["total_rps"] *= 0.92
            for k in e["percentiles"]:
                if e["percentiles"][k] is not None:
                    e["percentiles"][k] *= 1.08
        moved = os.path.join(TMP, "moved.json")
        json.dump(d, open(moved, "w"))
        r = compare(self.base, moved)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("): same (0 worse, 0 better)", r.stdout)
        r = compare(self.base, moved, "--tolerance", "5%")
        self.assertEqual(r.returncode, 3, r.stdout + r.stderr)

    def test_worse_when_slower(self):
        r = compare(self.base, self.slow)
        self.assertEqual(r.returncode, 3, r.stdout + r.stderr)
        self.assertIn("): worse (", r.stdout)
        self.assertRegex(r.stdout, r"\n\s+Aggregated\s+p50 ms\s+[\d.]+\s+[\d.]+\s+\+\d+\.\d %"
                                   r"\s+worse")
        self.assertRegex(r.stdout, r"\nGET\s+/\s+p50 ms\s+[\d.]+\s+[\d.]+\s+\+\d+\.\d %\s+worse")
        # And the other way round, the median got better.
        r = compare(self.slow, self.base)
        self.assertRegex(r.stdout, r"\n\s+Aggregated\s+p50 ms\s+[\d.]+\s+[\d.]+\s+-\d+\.\d %"
                                   r"\s+better")

    def test_baseline_in_the_run(self):
        r = self.slow_run
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])  # a comparison is not a gate
        self.assertIn("Compared with the baseline (tolerance 25 %): worse", r.stdout)
        doc = json.load(open(self.slow))
        c = doc["comparison"]
        self.assertEqual(c["verdict"], "worse")
        self.assertEqual(c["tolerance"], 0.25)
        p50 = [x for x in c["rows"] if x["name"] == "Aggregated" and x["metric"] == "p50"][0]
        self.assertEqual(p50["verdict"], "worse")
        self.assertGreater(p50["new"], 2 * p50["base"])
        self.assertAlmostEqual(p50["change"], (p50["new"] - p50["base"]) / p50["base"])
        text = open(self.html, encoding="utf-8").read()
        self.assertIn('"comparison":', text)
        self.assertIn('id="comparison-section"', text)

    def test_failure_ratio_floor(self):
        base = json.load(open(self.base))

        def with_ratio(ratio, name):
            d = copy.deepcopy(base)
            d["total"]["fail_ratio"] = ratio
            path = os.path.join(TMP, name)
            json.dump(d, open(path, "w"))
            return path
        zero = with_ratio(0.0, "r0.json")
        tiny = with_ratio(0.0005, "r1.json")
        many = with_ratio(0.05, "r2.json")
        r = compare(zero, tiny)
        self.assertEqual(r.returncode, 0, r.stdout)
        r = compare(zero, many)
        self.assertEqual(r.returncode, 3, r.stdout)
        self.assertRegex(r.stdout, r"Aggregated\s+fail %\s+0\.00\s+5\.00\s+n/a\s+worse")

    def test_bad_input(self):
        notjson = os.path.join(TMP, "not.json")
        with open(notjson, "w") as f:
            f.write("{nope")
        other = os.path.join(TMP, "other.json")
        with open(other, "w") as f:
            json.dump({"format": "something-else"}, f)
        for args, needle in [
            ([self.base], "give two JSON results"),
            ([self.base, self.base, self.base], "not more"),
            ([self.base, os.path.join(TMP, "missing.json")], "cannot read"),
            ([self.base, notjson], "not.json:1: not JSON"),
            ([self.base, other], "not a hornet JSON result"),
            ([self.base, self.again, "--tolerance", "lots"], "--tolerance expects a percentage"),
            ([self.base, self.again, "--tolerance"], "--tolerance needs a value"),
            ([self.base, self.again, "--fast"], "unknown option '--fast'"),
        ]:
            with self.subTest(args=args):
                r = compare(*args)
                self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
                lines = hnlib.stderr_lines(r.stderr)
                self.assertEqual(len(lines), 1, r.stderr)
                self.assertIn(needle, lines[0])
        for args, needle in [(["--baseline", other], "--baseline %s: not a hornet JSON" % other),
                             (["--tolerance", "-5%"], "--tolerance expects a percentage")]:
            with self.subTest(args=args):
                r = hnlib.run_hornet(["-f", PLUGIN, "-H", "http://127.0.0.1:9", "--headless",
                                      "-t", "1s"] + args, timeout=30)
                hnlib.check_no_crash(r)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn(needle, r.stderr)
        r = compare("--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("usage: hornet compare BASE.json NEW.json", r.stdout)


if __name__ == "__main__":
    sys.exit(hnlib.run_checks())
