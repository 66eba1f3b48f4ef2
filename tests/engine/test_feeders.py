#!/usr/bin/env python3
"""Data feeders (ABI 1.1) through the real binary and the demo target.

tests/plugins/feed_items.c takes a row of its "items" feeder per iteration
and requests /item/<id>: the target's own counts say which rows were used.
- once: every row is used exactly once, then the test stops (or only the
  users, without HN_FEED_STOP_TEST);
- cycle: rows in order, wrapping: every row used as often as the others,
  give or take one;
- random: the same rows for the same --seed, other rows for another seed;
- quoted fields with commas, quotes and line breaks arrive intact (the
  plugin checks each name's length against its row);
- bad input: a missing or malformed file names the file and line (exit 2),
  an unknown feeder or --feed syntax is exit 2, a missing column is an
  exception with the columns listed;
- distributed (a master and 3 worker processes, which get the rows from the
  master and none of the files): once hands every row out exactly once in
  the whole cluster, and stops the test only when every worker has used up
  the rows it was handed; cycle uses every row about as often.
"""
import csv
import json
import os
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import hnlib  # noqa: E402

TMP = tempfile.mkdtemp(prefix="hn-feeders-")
PLUGIN = hnlib.plugin_so("feed_items")
ROWS = 40


def write_items(path, n=ROWS):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "name", "check"])
        for i in range(1, n + 1):
            name = 'item %d, "quoted"' % i if i % 3 else "two\nlines %d" % i
            w.writerow([i, name, len(name.encode())])


ITEMS = os.path.join(TMP, "items.csv")
write_items(ITEMS)


def run(mode, args, target=None, timeout=120):
    env = hnlib.clean_env(os.path.join(TMP, "cache"), HORNET_TEST_FEED_MODE=mode)
    full = ["-f", PLUGIN, "--headless", "--only-summary"] + list(args)
    if target is not None:
        full += ["-H", target.url]
    r = hnlib.run_hornet(full, timeout=timeout, env=env)
    hnlib.check_no_crash(r)
    return r


def item_counts(target):
    by_path = target.counts()["by_path"]
    return {int(k.split("/")[-1]): v for k, v in by_path.items() if k.startswith("GET /item/")}


class Modes(unittest.TestCase):
    def test_once_each_row_exactly_once_then_the_test_stops(self):
        with hnlib.DemoTarget() as t:
            out = os.path.join(TMP, "once.json")
            r = run("once", ["--feed", "items=" + ITEMS, "-u", "5", "-r", "50", "-t", "60s",
                             "--json", out], t)
            self.assertEqual(r.returncode, 0, r.stderr[-2000:])
            doc = json.load(open(out))
            self.assertEqual(doc["run"]["stop_reason"], "feeder 'items' ran out of rows")
            self.assertEqual(doc["exceptions"], [])
            self.assertEqual(item_counts(t), {i: 1 for i in range(1, ROWS + 1)})
            self.assertEqual(doc["total"]["requests"], ROWS)

    def test_once_without_stop_test_stops_only_the_users(self):
        with hnlib.DemoTarget() as t:
            out = os.path.join(TMP, "once-user.json")
            r = run("once-user", ["--feed", "items=" + ITEMS, "-u", "5", "-r", "50", "-t", "3s",
                                  "--json", out], t)
            self.assertEqual(r.returncode, 0, r.stderr[-2000:])
            doc = json.load(open(out))
            self.assertEqual(doc["run"]["stop_reason"], "run time limit reached")
            self.assertEqual(item_counts(t), {i: 1 for i in range(1, ROWS + 1)})

    def test_cycle_wraps_in_order(self):
        small = os.path.join(TMP, "small.csv")
        write_items(small, 7)
        with hnlib.DemoTarget() as t:
            r = run("cycle", ["--feed", "items=" + small, "-u", "3", "-r", "30", "-t", "2s"], t)
            self.assertEqual(r.returncode, 0, r.stderr[-2000:])
            c = item_counts(t)
            self.assertEqual(sorted(c), list(range(1, 8)))
            self.assertGreater(sum(c.values()), 7 * 3, c)  # wrapped several times
            self.assertLessEqual(max(c.values()) - min(c.values()), 1, c)

    def test_byte_order_mark_and_crlf(self):
        bom = os.path.join(TMP, "bom.csv")
        with open(bom, "wb") as f:
            f.write(b'\xef\xbb\xbfid,name,check\r\n1,"a, b",4\r\n2,x,1\r\n')
        with hnlib.DemoTarget() as t:
            out = os.path.join(TMP, "bom.json")
            r = run("once", ["--feed", "items=" + bom, "-u", "1", "-t", "30s", "--json", out], t)
            self.assertEqual(r.returncode, 0, r.stderr[-2000:])
            self.assertEqual(json.load(open(out))["exceptions"], [])
            self.assertEqual(item_counts(t), {1: 1, 2: 1})

    def test_random_is_repeatable_with_a_seed(self):
        def counts(seed):
            with hnlib.DemoTarget() as t:
                r = run("random", ["--feed", "items=" + ITEMS, "-u", "3", "-r", "30", "-t", "2s",
                                   "--seed", str(seed), "--threads", "1"], t)
                self.assertEqual(r.returncode, 0, r.stderr[-2000:])
                return item_counts(t)
        a, b, c = counts(7), counts(7), counts(8)
        self.assertEqual(sum(a.values()), 30)  # 10 rows for each of 3 users
        self.assertEqual(a, b)
        self.assertNotEqual(a, c)


class Distributed(unittest.TestCase):
    ROWS = 90  # the demo target has items 1 to 100

    def run_cluster(self, mode, rows, args, target):
        path = os.path.join(TMP, "cluster-%s.csv" % mode)
        write_items(path, rows)
        out = os.path.join(TMP, "cluster-%s.json" % mode)
        r = run(mode, ["--feed", "items=" + path, "-u", "9", "-r", "50", "--json", out,
                       "--processes", "3", "--expect-workers", "3"] + list(args), target)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        return json.load(open(out))

    def test_once_over_three_workers(self):
        with hnlib.DemoTarget() as t:
            doc = self.run_cluster("once", self.ROWS, ["-t", "60s"], t)
            self.assertEqual(doc["run"]["stop_reason"], "feeder 'items' ran out of rows")
            self.assertEqual(len(doc["workers"]), 3)
            self.assertEqual(doc["exceptions"], [])
            self.assertEqual(item_counts(t), {i: 1 for i in range(1, self.ROWS + 1)})
            self.assertEqual(doc["total"]["requests"], self.ROWS)

    def test_once_without_stop_test_over_three_workers(self):
        with hnlib.DemoTarget() as t:
            doc = self.run_cluster("once-user", self.ROWS, ["-t", "3s"], t)
            self.assertEqual(doc["run"]["stop_reason"], "run time limit reached")
            self.assertEqual(item_counts(t), {i: 1 for i in range(1, self.ROWS + 1)})

    def test_cycle_over_three_workers(self):
        with hnlib.DemoTarget() as t:
            doc = self.run_cluster("cycle", 7, ["-t", "3s"], t)
            c = item_counts(t)
            self.assertEqual(sorted(c), list(range(1, 8)))
            self.assertGreater(sum(c.values()), 7 * 9, c)
            # Workers take rows in leases of the cluster's one sequence: at
            # the stop each may have used part of its last lease.
            self.assertLessEqual(max(c.values()) - min(c.values()), 3, c)
            self.assertEqual(doc["total"]["requests"], sum(c.values()))


class BadInput(unittest.TestCase):
    def one_line(self, r):
        self.assertEqual(r.returncode, 2, r.stderr)
        lines = hnlib.stderr_lines(r.stderr)
        self.assertEqual(len(lines), 1, r.stderr)
        return lines[0]

    def test_files(self):
        bad = os.path.join(TMP, "ragged.csv")
        with open(bad, "w") as f:
            f.write('id,name,check\n1,"a",1\n2\n3,"c",1\n')
        quote = os.path.join(TMP, "quote.csv")
        with open(quote, "w") as f:
            f.write('id,name,check\n1,"a",1\n2,"b"x,1\n')
        dup = os.path.join(TMP, "dup.csv")
        with open(dup, "w") as f:
            f.write('id,name,id\n1,a,1\n')
        empty = os.path.join(TMP, "empty.csv")
        with open(empty, "w") as f:
            f.write('id,name,check\n')
        for args, needle in [
            ([], "feeder 'items' has no file: pass --feed items=PATH"),
            (["--feed", "items=" + TMP + "/nope.csv"], "cannot read feeder file '%s/nope.csv': "
                                                      "No such file or directory" % TMP),
            (["--feed", "items=" + bad], "%s:3: 1 field, the header has 3 (id, name, check)" % bad),
            (["--feed", "items=" + quote], "%s:3: malformed CSV" % quote),
            (["--feed", "items=" + dup], "%s:1: the header row needs a unique" % dup),
            (["--feed", "items=" + empty], "%s: no rows after the header row" % empty),
            (["--feed", "users=" + ITEMS], "--feed 'users=%s': the plugin declares no feeder "
                                           "'users' (it has: items)" % ITEMS),
            (["--feed", "items"], "--feed expects NAME=PATH"),
            (["--feed", "items=" + TMP + "/nope.csv", "--master"], "cannot read feeder file"),
            (["--feed", "items=" + ITEMS, "--worker"], "belong on the master"),
        ]:
            with self.subTest(args=args):
                r = run("once", args + ["-H", "http://127.0.0.1:9", "-t", "1s"], timeout=30)
                self.assertIn(needle, self.one_line(r))

    def test_missing_column_is_an_exception(self):
        with hnlib.DemoTarget() as t:
            out = os.path.join(TMP, "column.json")
            r = run("column", ["--feed", "items=" + ITEMS, "-u", "2", "-r", "20", "-t", "1s",
                               "--json", out], t)
            self.assertEqual(r.returncode, 1, r.stderr[-2000:])
            doc = json.load(open(out))
            self.assertEqual([x["message"] for x in doc["exceptions"]],
                             ["feeder 'items': no column 'nope' (columns: id, name, check)"])
            self.assertEqual(doc["total"]["requests"], 0)


if __name__ == "__main__":
    sys.exit(hnlib.run_checks())
