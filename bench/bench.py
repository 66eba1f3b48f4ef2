#!/usr/bin/env python3
"""hornet's benchmark harness (run through bench/run.sh or `make bench`).

Compares hornet with wrk, ab, hey and Locust against one local nginx worker,
then measures hornet's scaling, idle-user memory, spawn rate and latency
accuracy. Everything runs on 127.0.0.1, every process is started by this
script, pinned with taskset (generator on CPU 0, target on CPU 1), bounded
in time and stopped by PID at the end (also on Ctrl-C).

The headline figure is generator CPU per completed request: user+sys of the
generator process from /usr/bin/time -v divided by the requests it reports.
It stays stable under noise, unlike req/s, which also depends on the target.

Environment (all optional):
  HORNET                 hornet binary (default: build/hornet)
  HORNET_BASE            a second hornet binary (e.g. an older commit's build): every
                         hornet generator name with "@base" appended (hornet@base,
                         hornet-fast@base...) runs it, alternating with HORNET's runs
  HORNET_INCLUDE, HORNET_BASE_INCLUDE
                         include dirs the plugins are built against for HORNET and HORNET_BASE
                         (default: the include/ of the source tree named by the CMakeCache.txt
                         beside the binary, else this checkout's include/; an older hornet
                         refuses a plugin built for a newer ABI minor)
  BENCH_QUICK=1          smoke mode: 1 repetition, 3 s runs, small scaling/idle sizes
  BENCH_REPS             repetitions per generator (default 3)
  BENCH_DURATION         seconds per C-tool and hornet run (default 10)
  BENCH_LOCUST_DURATION  seconds per Locust run (default 15)
  BENCH_SECTIONS         comma list of main,scaling,idle,distributed,accuracy,metrics
                         (default: all), and soak (not by default: BENCH_SOAK_MINUTES long)
                         and dashboard_tls (the dashboard over HTTP and HTTPS),
                         and profile (not by default: needs perf): where hornet's CPU per
                         request goes, by library, at the smallest and largest scaling size
  BENCH_TOOLS            comma list for the main table (default: hornet,hornet-shared,
                         hornet-fast,hornet-fast-shared,wrk,ab,hey,locust-fast,locust-http).
                         hornet = the default client (libcurl), hornet-fast = --http-client
                         fast; -shared = HN_BENCH_SHARED_POOL=1 (the worker's pool)
  BENCH_SCALE_TOOLS      generators of the scaling section, each run at every
                         BENCH_SCALE_USERS size (default: the hornet* ones and wrk of
                         BENCH_TOOLS; wrk is always added, for the ratio at the same size)
  BENCH_IDLE_USERS       comma list (default 10000,50000,100000)
  BENCH_IDLE_CLIENTS     comma list of curl,fast: the sleeping-users section once per client
                         (default curl,fast)
  BENCH_PROFILE_TOOLS    generators the profile section records (default hornet,hornet-fast;
                         wrk may be added, to compare where its CPU goes)
  BENCH_ACCURACY_TOOLS   hornet generators of the accuracy section, each beside wrk
                         (default hornet,hornet-fast)
  BENCH_QUIET_WAIT       seconds to wait for both pinned CPUs to be quiet before a run
                         (default 10; a run that starts on a busy CPU is counted as such)
  BENCH_SCALE_USERS      comma list (default 50,500,5000)
  BENCH_ACCURACY_DELAY_MS  fixed delay of bench/delay_target.c (default 5)
  BENCH_ACCURACY_USERS   comma list (default 50,100)
  BENCH_DIST_USERS       users for the distributed section (default 150)
  BENCH_OUT              directory for raw outputs and results.md (default: a temp dir)
"""
import atexit
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
GEN_CPU, TARGET_CPU = "0", "1"
FOREIGN_MAX = 12.0  # % of foreign CPU on a pinned core that makes a run "noisy"

QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
REPS = int(os.environ.get("BENCH_REPS", "1" if QUICK else "3"))
DUR = int(os.environ.get("BENCH_DURATION", "3" if QUICK else "10"))
LDUR = int(os.environ.get("BENCH_LOCUST_DURATION", "3" if QUICK else "15"))
SECTIONS = os.environ.get("BENCH_SECTIONS",
                          "main,scaling,idle,distributed,accuracy,metrics").split(",")
DIST_USERS = int(os.environ.get("BENCH_DIST_USERS", "150"))
# hornet generators: name -> (shared pool, --http-client or None for the default)
HORNET_TOOLS = {"hornet": (False, None), "hornet-shared": (True, None),
                "hornet-fast": (False, "fast"), "hornet-fast-shared": (True, "fast")}
TOOLS = os.environ.get(
    "BENCH_TOOLS", "hornet,hornet-shared,hornet-fast,hornet-fast-shared,wrk,ab,hey,"
    "locust-fast,locust-http").split(",")
SCALE_TOOLS = os.environ.get("BENCH_SCALE_TOOLS", "").split(",")
if SCALE_TOOLS == [""]:
    SCALE_TOOLS = [t for t in TOOLS if t.split("@")[0] in HORNET_TOOLS or t == "wrk"]
if "wrk" not in SCALE_TOOLS:
    SCALE_TOOLS.append("wrk")
IDLE_CLIENTS = os.environ.get("BENCH_IDLE_CLIENTS", "curl,fast").split(",")
PROFILE_TOOLS = os.environ.get("BENCH_PROFILE_TOOLS", "hornet,hornet-fast").split(",")
ACCURACY_TOOLS = os.environ.get("BENCH_ACCURACY_TOOLS", "hornet,hornet-fast").split(",")
SCRAPES = int(os.environ.get("BENCH_SCRAPES", "30"))
SOAK_MINUTES = float(os.environ.get("BENCH_SOAK_MINUTES", "30"))
QUIET_WAIT = float(os.environ.get("BENCH_QUIET_WAIT", "10"))
def is_hornet(tool):
    """Is tool a hornet generator (HORNET_TOOLS, maybe with "@base")?"""
    return tool.split("@")[0] in HORNET_TOOLS and tool.count("@") <= (
        1 if tool.endswith("@base") else 0)


for _t in SCALE_TOOLS + PROFILE_TOOLS + ACCURACY_TOOLS:
    if not is_hornet(_t) and _t != "wrk":
        raise SystemExit("bench: '%s' is not a hornet generator (%s) or wrk"
                         % (_t, ",".join(HORNET_TOOLS)))
for _c in IDLE_CLIENTS:
    if _c not in ("curl", "fast"):
        raise SystemExit("bench: BENCH_IDLE_CLIENTS takes curl and fast, not '%s'" % _c)
IDLE_USERS = [int(x) for x in os.environ.get(
    "BENCH_IDLE_USERS", "2000,5000" if QUICK else "10000,50000,100000").split(",")]
SCALE_USERS = [int(x) for x in os.environ.get(
    "BENCH_SCALE_USERS", "50,500" if QUICK else "50,500,5000").split(",")]
HORNET = os.path.abspath(os.environ.get("HORNET", os.path.join(ROOT, "build", "hornet")))
HORNET_BASE = os.environ.get("HORNET_BASE") and os.path.abspath(os.environ["HORNET_BASE"])

children = []  # every Popen we started, stopped by PID at exit
GET_BASE_SO = None


def log(msg):
    print("[bench] " + msg, flush=True)


def cleanup():
    for p in children:
        if p.poll() is None:
            try:
                p.terminate()
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


atexit.register(cleanup)
signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=10.0):
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise SystemExit("bench: target exited early (rc %s)" % proc.returncode)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("bench: target did not listen on port %d" % port)


def cpu_ticks():
    """Busy and total jiffies per CPU from /proc/stat."""
    out = {}
    with open("/proc/stat") as f:
        for line in f:
            m = re.match(r"cpu(\d+) (.*)", line)
            if m:
                v = [int(x) for x in m.group(2).split()]
                idle = v[3] + v[4]
                out[m.group(1)] = (sum(v[:8]) - idle, sum(v[:8]))
    return out


NOISE = {"runs": 0, "busy_start": 0, "noisy_kept": 0}  # reported in results.md


def wait_quiet(limit=15.0, timeout=None):
    """Waits until both pinned CPUs are under limit % busy (or timeout)."""
    end = time.time() + (QUIET_WAIT if timeout is None else timeout)
    NOISE["runs"] += 1
    while True:
        a = cpu_ticks()
        time.sleep(0.5)
        b = cpu_ticks()
        busy = [100.0 * (b[c][0] - a[c][0]) / max(1, b[c][1] - a[c][1])
                for c in (GEN_CPU, TARGET_CPU) if c in a]
        if max(busy) < limit:
            return
        if time.time() >= end:
            break
    NOISE["busy_start"] += 1
    log("warning: CPUs not quiet before the run (%s %% busy)" %
        "/".join("%.0f" % x for x in busy))


def proc_cpu_s(pid):
    """user+sys seconds of a live process (for the target's own CPU)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            v = f.read().rsplit(")", 1)[1].split()
        return (int(v[11]) + int(v[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return 0.0


def raise_nofile():
    """In a child before exec: the soft limit of open files up to the hard
    one (wrk -c5000 needs more than the usual 1024; hornet raises its own)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def run_timed(name, cmd, timeout, env=None):
    """Runs cmd pinned to the generator CPU under /usr/bin/time -v.
    Returns stdout+stderr, CPU seconds, peak RSS and foreign-CPU figures."""
    tfile = os.path.join(OUT, "time.txt")
    full = ["/usr/bin/time", "-v", "-o", tfile, "taskset", "-c", GEN_CPU] + cmd
    wait_quiet()
    t_cpu0 = proc_cpu_s(TARGET.pid) if TARGET else 0.0
    a = cpu_ticks()
    t0 = time.time()
    p = subprocess.Popen(full, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                         text=True, errors="replace", preexec_fn=raise_nofile)
    children.append(p)
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, _ = p.communicate()
        out += "\n[bench] killed after %d s\n" % timeout
    wall = time.time() - t0
    b = cpu_ticks()
    t_cpu = (proc_cpu_s(TARGET.pid) - t_cpu0) if TARGET else 0.0
    with open(tfile) as f:
        tv = f.read()
    user = float(re.search(r"User time \(seconds\): ([\d.]+)", tv).group(1))
    sys_ = float(re.search(r"System time \(seconds\): ([\d.]+)", tv).group(1))
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", tv).group(1))
    hz = os.sysconf("SC_CLK_TCK")
    gen_busy = (b[GEN_CPU][0] - a[GEN_CPU][0]) / hz
    tgt_busy = (b[TARGET_CPU][0] - a[TARGET_CPU][0]) / hz
    foreign_gen = 100.0 * (gen_busy - user - sys_) / wall
    foreign_tgt = 100.0 * (tgt_busy - t_cpu) / wall
    with open(os.path.join(OUT, "%s.log" % name), "w") as f:
        f.write(" ".join(cmd) + "\n\n" + out + "\n" + tv)
    return {"out": out, "user": user, "sys": sys_, "rss_mb": rss / 1024.0, "wall": wall,
            "rc": p.returncode, "foreign_gen": foreign_gen, "foreign_tgt": foreign_tgt,
            "target_cpu_pct": 100.0 * t_cpu / wall}


# ---------------------------------------------------------------- parsers
# Each returns (requests, p50_ms, p99_ms, failures) from the tool's own report.

def unit_ms(v, u):
    return float(v) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[u]


def parse_wrk(out, _):
    reqs = int(re.search(r"(\d+) requests in", out).group(1))
    p = {k: unit_ms(v, u) for k, v, u in re.findall(r"\s(50|99)%\s+([\d.]+)(us|ms|s|m)\b", out)}
    errs = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                     out)
    return (reqs, p.get("50"), p.get("99"), (int(errs.group(1)) if errs else 0) +
            (sum(int(x) for x in sock.groups()) if sock else 0))


def parse_ab(out, _):
    reqs = int(re.search(r"Complete requests:\s+(\d+)", out).group(1))
    fails = int(re.search(r"Failed requests:\s+(\d+)", out).group(1))
    p = dict(re.findall(r"^\s+(50|99)%\s+(\d+)", out, re.M))
    return reqs, float(p["50"]), float(p["99"]), fails


def parse_hey(out, _):
    reqs = sum(int(n) for n in re.findall(r"\[\d+\]\s+(\d+) responses", out))
    p = {k: float(v) * 1e3 for k, v in re.findall(r"(50|99)%+ in ([\d.]+) secs", out)}
    ok = sum(int(n) for n in re.findall(r"\[2\d\d\]\s+(\d+) responses", out))
    return reqs, p.get("50"), p.get("99"), reqs - ok


def parse_locust(out, _):
    agg = [ln.split() for ln in out.splitlines() if ln.strip().startswith("Aggregated")]
    reqs = int(agg[0][1])
    fails = int(agg[0][2].split("(")[0])
    pct = agg[1][1:]  # 50 66 75 80 90 95 98 99 99.9 99.99 100 #reqs
    return reqs, float(pct[0]), float(pct[7]), fails


def parse_hornet(_, jpath):
    with open(jpath) as f:
        j = json.load(f)
    t = j["total"]
    return t["requests"], t["percentiles"]["50"], t["percentiles"]["99"], t["failures"]


# ---------------------------------------------------------------- generators

def hornet_cmd(plugin, url, users, rate, secs, jpath, extra=(), binary=None):
    if binary is not None and binary == HORNET_BASE and binary != HORNET and plugin == GET_SO:
        plugin = GET_BASE_SO  # built against HORNET_BASE's own hornet.h
    return [binary or HORNET, "-f", plugin, "-H", url, "--headless", "--only-summary", "-u", str(users),
            "-r", str(rate), "-t", "%ds" % secs, "--threads", "1", "--json", jpath,
            "-s", "5s"] + list(extra)


def hornet_setup(tool):
    """(environment, extra arguments, binary) of one hornet generator
    (HORNET_TOOLS; "NAME@base" runs HORNET_BASE)."""
    name, _, base = tool.partition("@")
    if base and not HORNET_BASE:
        raise SystemExit("bench: %s needs HORNET_BASE (a second hornet binary)" % tool)
    shared, client = HORNET_TOOLS[name]
    env = dict(os.environ)
    if shared:
        env["HN_BENCH_SHARED_POOL"] = "1"
    else:
        env.pop("HN_BENCH_SHARED_POOL", None)
    return env, (["--http-client", client] if client else []), HORNET_BASE if base else HORNET


def generator(tool, url, users=50):
    """(command, parser, timeout, env, json path) for one tool."""
    jpath = os.path.join(OUT, "hornet.json")
    env = dict(os.environ)
    if is_hornet(tool):
        env, extra, binary = hornet_setup(tool)
        # All users start at once, like wrk's connections.
        return (hornet_cmd(GET_SO, url, users, users, DUR, jpath, extra, binary), parse_hornet,
                DUR + 30, env, jpath)
    if tool == "wrk":
        return (["wrk", "-t1", "-c%d" % users, "-d%ds" % DUR, "--latency", url + "/"],
                parse_wrk, DUR + 30, env, None)
    if tool == "ab":
        return (["ab", "-q", "-k", "-c%d" % users, "-t%d" % DUR, "-n", "5000000", url + "/"],
                parse_ab, DUR + 60, env, None)
    if tool == "hey":
        return (["hey", "-c", str(users), "-cpus", "1", "-z", "%ds" % DUR, url + "/"],
                parse_hey, DUR + 60, env, None)
    if tool in ("locust-fast", "locust-http"):
        lf = os.path.join(HERE, "locust_fast.py" if tool == "locust-fast" else "locust_http.py")
        return (["locust", "-f", lf, "--headless", "-u", str(users), "-r", str(users), "-t",
                 "%ds" % LDUR, "-H", url, "--only-summary", "--stop-timeout", "5"],
                parse_locust, LDUR + 60, env, None)
    raise SystemExit("bench: unknown tool '%s'" % tool)


def measure(tool, url, tag, users=50):
    cmd, parse, timeout, env, jpath = generator(tool, url, users)
    for attempt in range(3):
        if jpath and os.path.exists(jpath):
            os.unlink(jpath)
        r = run_timed("%s-%s-%d" % (tag, tool, attempt), cmd, timeout, env)
        try:
            reqs, p50, p99, fails = parse(r["out"], jpath)
        except (AttributeError, IndexError, KeyError, ValueError, OSError) as e:
            log("%s: could not parse its output (%s); see %s" % (tool, e, OUT))
            return None
        r.update(reqs=reqs, p50=p50, p99=p99, fails=fails,
                 us_per_req=1e6 * (r["user"] + r["sys"]) / max(1, reqs),
                 rps=reqs / (DUR if not tool.startswith("locust") else LDUR))
        noisy = r["foreign_gen"] > FOREIGN_MAX or r["foreign_tgt"] > FOREIGN_MAX
        r["noisy"] = noisy
        log("%-18s %5d users %9.0f req/s %8.2f us/req  p50 %s p99 %s ms  rss %.1f MB  "
            "fails %d  foreign %.0f/%.0f %%%s" % (
                tool, users, r["rps"], r["us_per_req"], fmt(r["p50"]), fmt(r["p99"]),
                r["rss_mb"], fails, r["foreign_gen"], r["foreign_tgt"],
                ("  NOISY, repeating" if attempt < 2 else "  NOISY, kept") if noisy else ""))
        if not noisy:
            break
    if r["noisy"]:
        NOISE["noisy_kept"] += 1
    return r


def fmt(v, nd=3):
    if v is None:
        return "–"
    return ("%." + str(nd) + "g") % v if v < 1 else "%.1f" % v if v < 100 else "%.0f" % v


def median(xs):
    xs = sorted(x for x in xs if x is not None)
    if not xs:
        return None
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


# ---------------------------------------------------------------- targets

def start_nginx():
    d = os.path.join(OUT, "nginx")
    os.makedirs(d, exist_ok=True)
    port = free_port()
    with open(os.path.join(HERE, "nginx.conf.in")) as f:
        conf = f.read().replace("@DIR@", d).replace("@PORT@", str(port))
    with open(os.path.join(d, "nginx.conf"), "w") as f:
        f.write(conf)
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    p = subprocess.Popen(["taskset", "-c", TARGET_CPU, nginx, "-p", d, "-c",
                          os.path.join(d, "nginx.conf")], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    children.append(p)
    wait_port(port, p)
    return p, "http://127.0.0.1:%d" % port


def stop(p):
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


# ---------------------------------------------------------------- sections

def section_main(url, md):
    log("main table: %d repetition(s), %d s runs (Locust %d s), 50 users/connections"
        % (REPS, DUR, LDUR))
    runs = {t: [] for t in TOOLS}
    for rep in range(REPS):
        for t in TOOLS:  # round-robin, so drift hits every tool alike
            r = measure(t, url, "main%d" % rep, 50)
            if r:
                runs[t].append(r)
    md.append("## Main table: `GET /` (2-byte body), 50 users / connections\n")
    md.append("Median of %d alternating runs; %d s per run (Locust %d s). CPU µs/req = "
              "(user+sys of the generator) / completed requests.\n" % (REPS, DUR, LDUR))
    md.append("| generator | req/s | CPU µs/req (median, range) | p50 ms | p99 ms | peak RSS MB "
              "| nginx CPU % | failures | noisy runs |")
    md.append("|---|---|---|---|---|---|---|---|---|")
    med = {}
    for t in TOOLS:
        rs = runs[t]
        if not rs:
            md.append("| %s | (no result) ||||||||" % t)
            continue
        m = {k: median([r[k] for r in rs]) for k in
             ("rps", "us_per_req", "p50", "p99", "rss_mb", "target_cpu_pct", "fails")}
        lo = min(r["us_per_req"] for r in rs)
        hi = max(r["us_per_req"] for r in rs)
        med[t] = m
        md.append("| %s | %.0f | **%.2f** (%.2f–%.2f) | %s | %s | %.1f | %.0f | %d | %d/%d |" % (
            t, m["rps"], m["us_per_req"], lo, hi, fmt(m["p50"]), fmt(m["p99"]), m["rss_mb"],
            m["target_cpu_pct"], m["fails"], sum(r["noisy"] for r in rs), len(rs)))
    md.append("")
    md.append("*noisy runs*: runs kept with more than %.0f %% foreign CPU on a pinned core after "
              "3 attempts.\n" % FOREIGN_MAX)
    base = [t for t in TOOLS if is_hornet(t) and t in med]
    if base:
        md.append("Ratios of generator CPU per request (lower is better for hornet):\n")
        for h in base:
            for other in [t for t in TOOLS if not is_hornet(t)] + (
                    ["hornet"] if HORNET_TOOLS[h.split("@")[0]][1] else []) + (
                    [h + "@base"] if "@" not in h else []):
                if other in med:
                    a, b = med[h]["us_per_req"], med[other]["us_per_req"]
                    md.append("- %s / %s = %.2f (%s costs %.1fx %s's CPU per request)" % (
                        h, other, a / b, other, b / a, h) if a < b else
                        "- %s / %s = %.2f" % (h, other, a / b))
        md.append("")
    return med


def section_scaling(url, md):
    """Every SCALE_TOOLS generator (hornet's and wrk) at every SCALE_USERS
    size, round-robin per size, so each hornet figure has wrk's at the same
    connection count beside it."""
    log("scaling: %s at %s users/connections" % (",".join(SCALE_TOOLS), SCALE_USERS))
    md.append("## Scaling: CPU per request by concurrent users (no think time)\n")
    md.append("Each generator at each size, %d alternating run(s) of %d s per size; hornet with "
              "`-u N -r N` (all users at once), wrk with `-t1 -cN`. */ wrk* = CPU µs/req over "
              "wrk's at the same connection count.\n" % (REPS, DUR))
    md.append("| users | generator | req/s | CPU µs/req (median, range) | / wrk | p50 ms | "
              "p99 ms | peak RSS MB | failures | noisy runs |")
    md.append("|---|---|---|---|---|---|---|---|---|---|")
    res = {}
    for n in SCALE_USERS:
        runs = {t: [] for t in SCALE_TOOLS}
        for rep in range(REPS):
            for t in SCALE_TOOLS:  # round-robin, so drift hits every tool alike
                r = measure(t, url, "scale%d-%d" % (n, rep), n)
                if r:
                    runs[t].append(r)
        for t in SCALE_TOOLS:
            rs = runs[t]
            if not rs:
                md.append("| %d | %s | (no result) ||||||||" % (n, t))
                continue
            m = {k: median([r[k] for r in rs]) for k in
                 ("rps", "us_per_req", "p50", "p99", "rss_mb", "fails")}
            m["lo"] = min(r["us_per_req"] for r in rs)
            m["hi"] = max(r["us_per_req"] for r in rs)
            m["noisy"] = "%d/%d" % (sum(r["noisy"] for r in rs), len(rs))
            res[(t, n)] = m
        w = res.get(("wrk", n))
        for t in SCALE_TOOLS:
            m = res.get((t, n))
            if m is None:
                continue
            ratio = "%.2fx" % (m["us_per_req"] / w["us_per_req"]) if w and t != "wrk" else "–"
            md.append("| %d | %s | %.0f | **%.2f** (%.2f–%.2f) | %s | %s | %s | %.1f | %d | %s |"
                      % (n, t, m["rps"], m["us_per_req"], m["lo"], m["hi"], ratio, fmt(m["p50"]),
                         fmt(m["p99"]), m["rss_mb"], m["fails"], m["noisy"]))
    md.append("")
    for t in SCALE_TOOLS:
        ks = [n for n in SCALE_USERS if (t, n) in res]
        if len(ks) >= 2:
            a, b = res[(t, ks[0])]["us_per_req"], res[(t, ks[-1])]["us_per_req"]
            line = "- %s: CPU/request at %d users is %.2fx that at %d users" % (
                t, ks[-1], b / a, ks[0])
            if t != "wrk" and all(("wrk", n) in res for n in ks):
                line += "; against wrk at the same count: " + ", ".join(
                    "%.2fx at %d" % (res[(t, n)]["us_per_req"] / res[("wrk", n)]["us_per_req"],
                                     n) for n in ks)
            md.append(line)
    md.append("")
    return res


def run_master(name, cmd, timeout):
    """Runs a hornet master pinned to the generator CPU (its local workers
    inherit the pinning). Returns the master's own CPU seconds (sampled from
    /proc until it exits), the CPU seconds of master and workers together
    (wait4), the wall time and the output."""
    wait_quiet()
    t0 = time.time()
    p = subprocess.Popen(["taskset", "-c", GEN_CPU] + cmd, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, errors="replace")
    children.append(p)
    out = []
    import threading
    reader = threading.Thread(target=lambda: out.extend(p.stdout), daemon=True)
    reader.start()
    master_cpu, ru = 0.0, None
    # Reaped here with wait4 (not Popen.poll) to get the rusage, which
    # includes the workers the master waited for.
    while True:
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid == p.pid:
            p.returncode = status
            break
        if time.time() - t0 > timeout:
            p.kill()
        master_cpu = max(master_cpu, proc_cpu_s(p.pid))
        time.sleep(0.1)
    reader.join(5)
    total = (ru.ru_utime + ru.ru_stime) if ru else float("nan")
    with open(os.path.join(OUT, "%s.log" % name), "w") as f:
        f.write(" ".join(cmd) + "\n\n" + "".join(out))
    return {"master_cpu": master_cpu, "total_cpu": total, "wall": time.time() - t0,
            "out": "".join(out)}


def section_distributed(url, md):
    """hornet --processes 3 (a master and three local workers) against one
    process with the same users: requests/s and where the CPU goes."""
    log("distributed: 1 process vs a master with 3 local workers, %d users" % DIST_USERS)
    md.append("## Distributed: a master with 3 local worker processes\n")
    md.append("%d users, no think time, `--threads 1` per process, %d s, master and workers "
              "pinned to CPU %s (one core for all: this measures overhead, not a speed-up; "
              "nginx on CPU %s). Master CPU is the master process alone; total adds the "
              "workers.\n" % (DIST_USERS, DUR, GEN_CPU, TARGET_CPU))
    md.append("| setup | req/s | total CPU µs/req | master CPU % of a core | "
              "master CPU µs/req | failures |")
    md.append("|---|---|---|---|---|---|")
    for label, extra in (("1 process", []), ("master + 3 workers", ["--processes", "3"])):
        rows = []
        for rep_i in range(REPS):
            jpath = os.path.join(OUT, "dist.json")
            if os.path.exists(jpath):
                os.unlink(jpath)
            cmd = hornet_cmd(GET_SO, url, DIST_USERS, DIST_USERS, DUR, jpath, extra)
            r = run_master("dist-%s-%d" % (extra and "3w" or "1p", rep_i), cmd, DUR + 60)
            try:
                reqs, _, _, fails = parse_hornet(None, jpath)
            except (OSError, ValueError, KeyError):
                log("distributed run failed; see %s" % OUT)
                continue
            active = DUR  # -t: users ran this long
            rows.append({"rps": reqs / active, "tot": 1e6 * r["total_cpu"] / max(1, reqs),
                         "mpct": 100.0 * r["master_cpu"] / r["wall"] if extra else float("nan"),
                         "mus": 1e6 * r["master_cpu"] / max(1, reqs) if extra else float("nan"),
                         "fails": fails})
        if rows:
            m = {k: median([x[k] for x in rows]) for k in rows[0]}
            md.append("| %s | %.0f | **%.2f** | %s | %s | %d |" % (
                label, m["rps"], m["tot"],
                "—" if m["mpct"] != m["mpct"] else "%.1f" % m["mpct"],
                "—" if m["mus"] != m["mus"] else "%.2f" % m["mus"], m["fails"]))
    md.append("")


def perf_rows(data, sort, path):
    """perf report of data sorted by sort ("dso" or "dso,sym"), kept in path:
    {key: samples}, key = dso or (dso, symbol)."""
    out = subprocess.run(["perf", "report", "-i", data, "--stdio", "-n", "--sort", sort],
                         capture_output=True, text=True, timeout=300).stdout
    with open(path, "w") as f:
        f.write(out)
    rows = {}
    for line in out.splitlines():
        if sort == "dso":
            m = re.match(r"\s*([\d.]+)%\s+(\d+)\s+(\S+)\s*$", line)
            key = m and m.group(3)
        else:
            m = re.match(r"\s*([\d.]+)%\s+(\d+)\s+(\S+)\s+\[.\]\s+(.*?)\s*$", line)
            key = m and (m.group(3), m.group(4))
        if m:
            rows[key] = rows.get(key, 0) + int(m.group(2))
    return rows


def section_profile(url, md):
    """perf record of each PROFILE_TOOLS hornet generator at the smallest
    and largest scaling sizes: CPU per request split by shared object
    (kernel, libcurl, libc, hornet...), and the hottest symbols."""
    if shutil.which("perf") is None:
        log("profile: perf is not installed; skipped")
        return
    freq = 2000
    sizes = [SCALE_USERS[0], SCALE_USERS[-1]]
    tools = [t for t in PROFILE_TOOLS if is_hornet(t) or t == "wrk"]
    log("profile: perf record of %s at %s users" % (",".join(tools), sizes))
    md.append("## Profile: where the CPU per request goes (perf)\n")
    md.append("`BENCH_SECTIONS=profile bench/run.sh` (generators: `BENCH_PROFILE_TOOLS`, "
              "sizes: the first and last of `BENCH_SCALE_USERS`): `perf record -F %d` of the "
              "whole generator process (the same command as the scaling section), samples per "
              "shared object divided by the frequency and by the requests completed. Raw "
              "reports: `$BENCH_OUT/perf-TOOL-N.{dso,sym}.txt`.\n" % freq)
    for tool in tools:
        env, extra, binary = (dict(os.environ), [], None) if tool == "wrk" else \
            hornet_setup(tool)
        split, syms, cpu = {}, {}, {}
        for n in sizes:
            jpath = os.path.join(OUT, "profile.json")
            if os.path.exists(jpath):
                os.unlink(jpath)
            data = os.path.join(OUT, "perf-%s-%d.data" % (tool, n))
            gen = (["wrk", "-t1", "-c%d" % n, "-d%ds" % DUR, "--latency", url + "/"]
                   if tool == "wrk" else hornet_cmd(GET_SO, url, n, n, DUR, jpath, extra, binary))
            cmd = ["perf", "record", "-q", "-F", str(freq), "-o", data, "--", "taskset", "-c",
                   GEN_CPU] + gen
            wait_quiet()
            out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                 errors="replace", timeout=DUR + 60, env=env,
                                 preexec_fn=raise_nofile).stdout
            try:
                reqs = (parse_wrk(out, None) if tool == "wrk" else parse_hornet(None, jpath))[0]
            except (AttributeError, OSError, ValueError, KeyError):
                log("profile %s %d: no request count; see %s" % (tool, n, OUT))
                continue
            base = os.path.join(OUT, "perf-%s-%d" % (tool, n))
            per = 1e6 / freq / max(1, reqs)
            split[n] = {k: v * per for k, v in perf_rows(data, "dso", base + ".dso.txt").items()}
            syms[n] = {k: v * per for k, v in
                       perf_rows(data, "dso,sym", base + ".sym.txt").items()}
            cpu[n] = sum(split[n].values())
            log("profile %s %d users: %d requests, %.2f us/req sampled" % (tool, n, reqs, cpu[n]))
        if len(split) < 2:
            continue
        a, b = sizes
        md.append("### %s%s\n" % (tool, "" if not extra else " (`%s`)" % " ".join(extra)))
        md.append("| shared object | µs/req at %d users | µs/req at %d users | ratio |" % (a, b))
        md.append("|---|---|---|---|")
        names = sorted(set(split[a]) | set(split[b]), key=lambda k: -split[b].get(k, 0))
        for k in names[:8]:
            x, y = split[a].get(k, 0), split[b].get(k, 0)
            md.append("| %s | %.2f | %.2f | %s |" % (k, x, y,
                                                     "%.2fx" % (y / x) if x > 0 else "—"))
        ta, tb = cpu[a], cpu[b]
        md.append("| **all** | **%.2f** | **%.2f** | **%.2fx** |" % (ta, tb,
                                                                    tb / ta if ta else 0))
        md.append("")
        md.append("Hottest symbols (µs/req; *hornet* = hornet's own code):\n")
        md.append("| symbol | shared object | at %d users | at %d users |" % (a, b))
        md.append("|---|---|---|---|")
        keys = sorted(set(syms[a]) | set(syms[b]),
                      key=lambda k: -(syms[a].get(k, 0) + syms[b].get(k, 0)))
        own = [k for k in keys if k[0] == "hornet"]
        shown = keys[:12] + [k for k in own[:8] if k not in keys[:12]]
        for k in shown:
            md.append("| `%s` | %s | %.2f | %.2f |" % (k[1], k[0], syms[a].get(k, 0),
                                                        syms[b].get(k, 0)))
        md.append("")


def api_get(port, path):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=2) as r:
        return json.loads(r.read().decode())


def vm_hwm_mb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for ln in f:
                if ln.startswith("VmHWM:"):
                    return int(ln.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def section_idle(url, md):
    log("idle users: %s, client(s) %s" % (IDLE_USERS, ",".join(IDLE_CLIENTS)))
    md.append("## Sleeping users: memory and spawn time (bench/idle.c, shared pool)\n")
    md.append("Users GET / once, then think 60 s. Spawn rate requested = the user count (all "
              "at once); 1 worker thread on CPU 0. *client*: curl = the default (libcurl), "
              "fast = `--http-client fast`; every user makes its first request, so each holds "
              "its client's per-user state (the fast client allocates it at the first request). "
              "*Runner* = the dashboard API reports "
              "state `running` (every spawn command sent; polled every 20 ms); *active* = "
              "every user has completed its first request (request count = users; the count "
              "updates once a second, so ±1 s).\n")
    md.append("| client | users | VmHWM MB | per user KiB | runner spawn s | users/s (runner) | "
              "all active s | users/s (active) | requests |")
    md.append("|---|---|---|---|---|---|---|---|---|")
    for client in IDLE_CLIENTS:
        base = None
        for n in IDLE_USERS:
            r = idle_run(url, n, client)
            hwm, t_run, t_active, nreq = r
            if base is None:
                base = (n, hwm)
            per = ((hwm - base[1]) * 1024.0 / (n - base[0]) if n != base[0]
                   else hwm * 1024.0 / n)
            log("idle %s %d users: VmHWM %.1f MB, runner %s s, active %s s" % (
                client, n, hwm or 0, t_run, t_active))
            md.append("| %s | %d | %.1f | %.2f%s | %s | %s | %s | %s | %s |" % (
                client, n, hwm or 0, per, "" if n != base[0] else " (whole process / n)",
                "%.2f" % t_run if t_run else "–", "%.0f" % (n / t_run) if t_run else "–",
                "%.1f" % t_active if t_active else "–",
                "%.0f" % (n / t_active) if t_active else "–",
                "%d" % nreq if nreq is not None else "–"))
    md.append("\nPer-user KiB is the VmHWM difference to the first row of the same client "
              "divided by the user difference. The times include hornet's start-up (plugin "
              "load, dashboard), measured from process start. *requests*: the last request "
              "count read (≥ users once all are active).\n")


def section_metrics(md):
    """GET /metrics at 5,000 entries: what one Prometheus scrape costs."""
    md.append("## Prometheus scrape cost (GET /metrics, tests/plugins/many_entries.c)\n")
    md.append("A dashboard (pinned to CPU %s, 1 worker thread) runs a plugin that records "
              "a timing under each of N names every 0.2 s; the bench script scrapes "
              "`/metrics` %d times on fresh connections. *time* = request to last byte; "
              "*CPU* = hornet's CPU time per scrape beyond the run's own (measured over the "
              "same span without scraping). Each entry is 19 lines (2 counters, 15 buckets, "
              "+Inf, _sum and _count).\n" % (TARGET_CPU, SCRAPES))
    md.append("| entries | bytes | lines | time median ms | time p90 ms | CPU ms/scrape |")
    md.append("|---|---|---|---|---|---|")
    plugin = os.path.join(ROOT, "tests", "plugins", "many_entries.c")
    for n in (5000,):
        port = free_port()
        p = subprocess.Popen(["taskset", "-c", TARGET_CPU, HORNET, "-f", plugin, "--web-port",
                              str(port), "--autostart", "-u", "1", "-r", "10", "-t", "120s",
                              "--threads", "1"], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    if len(api_get(port, "/api/stats")["entries"]) >= n:
                        break
                except OSError:
                    pass
                time.sleep(0.2)
            idle0, t0 = proc_cpu_s(p.pid), time.monotonic()
            time.sleep(5)
            idle_rate = (proc_cpu_s(p.pid) - idle0) / (time.monotonic() - t0)
            times, size, lines = [], 0, 0
            c0, t0 = proc_cpu_s(p.pid), time.monotonic()
            for _ in range(SCRAPES):
                start = time.perf_counter()
                with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port,
                                            timeout=10) as r:
                    body = r.read()
                times.append(time.perf_counter() - start)
                size, lines = len(body), body.count(b"\n")
            cpu = (proc_cpu_s(p.pid) - c0) - idle_rate * (time.monotonic() - t0)
        finally:
            stop(p)
        times.sort()
        log("metrics %d entries: %d bytes, median %.1f ms" % (n, size, median(times) * 1e3))
        md.append("| %d | %d | %d | %.1f | %.1f | %.1f |" % (
            n, size, lines, median(times) * 1e3, times[int(len(times) * 0.9)] * 1e3,
            cpu * 1e3 / SCRAPES))
    md.append("")


def api_post(port, path, body):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path),
                                 data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.loads(r.read().decode() or "null")


def vm_rss_mb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for ln in f:
                if ln.startswith("VmRSS:"):
                    return int(ln.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0


def soak_svg(samples, path):
    """Three stacked line charts over time (RSS, descriptors, CPU per
    request), as a self-contained SVG."""
    series = [("RSS (MB)", [(t, r) for t, r, _, _ in samples]),
              ("open descriptors", [(t, f) for t, _, f, _ in samples]),
              ("CPU per request (us)", [(t, c) for t, _, _, c in samples if c is not None])]
    w, h, pad, gap = 760, 150, 48, 30
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
           'font-family="sans-serif" font-size="11">' % (w, len(series) * (h + gap) + 10),
           '<rect width="100%" height="100%" fill="white"/>']
    tmax = max(t for t, *_ in samples) or 1
    for i, (title, pts) in enumerate(series):
        top = 10 + i * (h + gap)
        vmax = max([v for _, v in pts] + [1e-9]) * 1.15
        out.append('<text x="%d" y="%d" font-weight="bold">%s</text>' % (pad, top + 10, title))
        out.append('<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#ccc"/>'
                   % (pad, top + 16, w - pad - 10, h - 30))
        for k in range(3):
            v = vmax * k / 2
            y = top + 16 + (h - 30) * (1 - k / 2)
            out.append('<text x="4" y="%.1f">%.4g</text>' % (y + 4, v))
        poly = " ".join("%.1f,%.1f" % (pad + (w - pad - 10) * t / tmax,
                                       top + 16 + (h - 30) * (1 - v / vmax)) for t, v in pts)
        out.append('<polyline fill="none" stroke="#d97706" stroke-width="1.5" points="%s"/>' % poly)
        out.append('<text x="%d" y="%d">%.0f min</text>' % (w - 60, top + h, tmax / 60))
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def section_soak(md):
    """BENCH_SOAK_MINUTES at about 2,000 requests/s with resizes, pauses and a
    hostile mix: RSS, descriptors and CPU per request over time, and the
    target's count against hornet's."""
    log("soak: %g minutes" % SOAK_MINUTES)
    target = subprocess.Popen(["taskset", "-c", TARGET_CPU, HORNET, "demo-target", "--port", "0"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = target.stdout.readline()
    m = re.match(r"^demo-target (http://[0-9.]+:\d+) ", line)
    if m is None:
        stop(target)
        raise SystemExit("bench: the demo target said %r" % line)
    url = m.group(1)
    port = free_port()
    plugin = os.path.join(HERE, "soak.c")
    hornet = subprocess.Popen(["taskset", "-c", GEN_CPU, HORNET, "-f", plugin, "-H", url,
                               "--web-port", str(port), "--threads", "1"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    samples, events = [], []
    try:
        wait_port(port, hornet, timeout=60)
        api_post(port, "/api/swarm", {"users": 200, "spawn_rate": 100})
        start = time.monotonic()
        end = start + SOAK_MINUTES * 60
        last = (0.0, proc_cpu_s(hornet.pid), 0)
        next_resize, next_pause, users, paused_at = 120, 300, 200, None
        while time.monotonic() < end:
            time.sleep(5)
            t = time.monotonic() - start
            total = api_get(port, "/api/stats")["total"]
            cpu = proc_cpu_s(hornet.pid)
            fds = len(os.listdir("/proc/%d/fd" % hornet.pid))
            dreq = total["requests"] - last[2]
            per = (cpu - last[1]) * 1e6 / dreq if dreq > 1000 else None
            samples.append((t, vm_rss_mb(hornet.pid), fds, per))
            last = (t, cpu, total["requests"])
            if paused_at is not None and t >= paused_at + 10:
                api_post(port, "/api/resume", {})
                events.append((t, "resume"))
                paused_at = None
            elif t >= next_pause:
                api_post(port, "/api/pause", {})
                events.append((t, "pause"))
                paused_at, next_pause = t, next_pause + 300
            elif t >= next_resize:
                users = 100 if users == 200 else 200
                api_post(port, "/api/resize", {"users": users, "spawn_rate": 100})
                events.append((t, "resize to %d" % users))
                next_resize += 120
        api_post(port, "/api/stop", {})
        deadline = time.monotonic() + 60
        while api_get(port, "/api/state")["state"] != "stopped" and time.monotonic() < deadline:
            time.sleep(0.2)
        final = api_get(port, "/api/stats")
        with urllib.request.urlopen(url + "/__counts", timeout=5) as r:
            served = json.loads(r.read().decode())
    finally:
        stop(hornet)
        stop(target)
    svg = os.path.join(OUT, "soak.svg")
    soak_svg(samples, svg)

    def window(a, b):
        rows = [x for x in samples if a <= x[0] < b]
        cpus = sorted(x[3] for x in rows if x[3] is not None)
        return (median([x[1] for x in rows]) if rows else 0, max(x[2] for x in rows) if rows else 0,
                median(cpus) if cpus else 0)

    span = SOAK_MINUTES * 60
    md.append("## Soak: %g minutes with resizes, pauses and a hostile mix (bench/soak.c)\n" %
              SOAK_MINUTES)
    md.append("hornet (1 worker thread, CPU %s) runs 200 users, each starting a task every 0.1 s "
              "against its demo target (CPU %s): GET / and /items, with 500s, dropped "
              "connections (`/drop`), 50 ms answers and 100 KB bodies mixed in. Every 2 min the "
              "users go 200 -> 100 -> 200; every 5 min the run pauses for 10 s. Sampled every "
              "5 s: VmRSS, open descriptors, and CPU per request over the last 5 s. The plot "
              "is `soak.svg` beside this file.\n" % (GEN_CPU, TARGET_CPU))
    md.append("| window | RSS median MB | descriptors max | CPU per request median us |")
    md.append("|---|---|---|---|")
    step = max(span / 6, 60)
    a = 0.0
    while a < span:
        r, f, c = window(a, a + step)
        md.append("| %.0f-%.0f min | %.1f | %d | %.1f |" % (a / 60, (a + step) / 60, r, f, c))
        a += step
    tot = final["total"]
    md.append("\nRequests: hornet counted %d (%d failures); the target counted %d served. "
              "%d resizes and %d pauses.\n" % (
                  tot["requests"], tot["failures"], served.get("total", -1),
                  sum(1 for _, e in events if e.startswith("resize")),
                  sum(1 for _, e in events if e == "pause")))


def section_dashboard_tls(md):
    """What HTTPS costs the dashboard (--tls-cert): TLS is ended on the
    acceptor's thread and bridged to a socket pair, so every byte is copied
    once more. wrk on CPU GEN_CPU asks GET /api/state of hornet (CPU
    TARGET_CPU), on kept-alive connections and with a new connection (and
    handshake) per request."""
    global TARGET
    pki = tempfile.mkdtemp(prefix="hn-bench-tls-")
    sh = lambda *a: subprocess.run(["openssl"] + list(a), cwd=pki, check=True,
                                   capture_output=True)
    sh("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem", "-out",
       "cert.pem", "-days", "2", "-subj", "/CN=127.0.0.1")
    md.append("## The dashboard over HTTPS: what TLS costs (`--tls-cert`)\n")
    md.append("hornet `--demo` idle (its dashboard only) on CPU %s; wrk on CPU %s asks "
              "`GET /api/state` for %d s with 10 connections, kept alive, then with "
              "`Connection: close` (a TCP connection, and a TLS handshake with RSA-2048, per "
              "request). *hornet CPU* = its user+sys time per request (the acceptor, TLS, "
              "libmicrohttpd).\n" % (TARGET_CPU, GEN_CPU, DUR))
    md.append("| scheme | connections | req/s | p50 ms | p99 ms | hornet CPU us/req |")
    md.append("|---|---|---|---|---|---|")
    for scheme in ("http", "https"):
        port = free_port()
        args = ["taskset", "-c", TARGET_CPU, HORNET, "--demo", "--web-port", str(port)]
        if scheme == "https":
            args += ["--tls-cert", os.path.join(pki, "cert.pem"), "--tls-key",
                     os.path.join(pki, "key.pem")]
        p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        TARGET = p
        try:
            wait_port(port, p, timeout=60)
            for mode in ("keep-alive", "close"):
                cmd = ["wrk", "-t1", "-c10", "-d%ds" % DUR, "--latency"]
                if mode == "close":
                    cmd += ["-H", "Connection: close"]
                cpu0 = proc_cpu_s(p.pid)
                r = run_timed("dashboard-%s-%s" % (scheme, mode),
                              cmd + ["%s://127.0.0.1:%d/api/state" % (scheme, port)], DUR + 30)
                reqs, p50, p99, errs = parse_wrk(r["out"], None)
                cpu = proc_cpu_s(p.pid) - cpu0
                log("dashboard %s %s: %d requests" % (scheme, mode, reqs))
                md.append("| %s | %s | %.0f | %s | %s | %.1f |" % (
                    scheme, mode, reqs / r["wall"], fmt(p50), fmt(p99),
                    cpu * 1e6 / reqs if reqs else 0))
        finally:
            TARGET = None
            stop(p)
    shutil.rmtree(pki, ignore_errors=True)
    md.append("")


def idle_run(url, n, client):
    """One bench/idle.c run of n users with client: (VmHWM MB, runner s,
    all-active s, last request count)."""
    port = free_port()
    secs = 25 if n <= 50000 else 40
    cmd = ["taskset", "-c", GEN_CPU, HORNET, "-f", IDLE_SO, "-H", url, "--autostart",
           "--autoquit", "0", "-u", str(n), "-r", str(n), "-t", "%ds" % secs,
           "--threads", "1", "-P", str(port), "-s", "2s"]
    if client != "curl":
        cmd += ["--http-client", client]
    wait_quiet()
    with open(os.path.join(OUT, "idle-%s-%d.log" % (client, n)), "w") as lf:
        p = subprocess.Popen(cmd, stdout=lf, stderr=subprocess.STDOUT)
        children.append(p)
        t0 = time.time()
        t_run = t_active = None
        hwm = nreq = None
        while p.poll() is None and time.time() - t0 < secs + 20:
            try:
                s = api_get(port, "/stats/requests")
                now = time.time() - t0
                if t_run is None and s.get("state") == "running":
                    t_run = now
                tot = [e for e in s.get("stats", []) if e.get("name") == "Aggregated"]
                if tot:
                    nreq = tot[0].get("num_requests", 0)
                if t_active is None and tot and nreq >= n:
                    t_active = now
            except (OSError, ValueError):
                pass
            h = vm_hwm_mb(p.pid)
            hwm = h if h is not None else hwm
            if t_active is not None and time.time() - t0 > t_active + 3:
                break
            time.sleep(0.02)
        h = vm_hwm_mb(p.pid)
        hwm = h if h is not None else hwm
        stop(p)
    return hwm, t_run, t_active, nreq


def start_delay_target(delay_us):
    """Starts bench/delay_target.c (built into OUT) pinned to the target CPU;
    returns (process, url)."""
    exe = os.path.join(OUT, "delay_target")
    if not os.path.exists(exe):
        subprocess.check_call([os.environ.get("CC", "cc"), "-O2", "-o", exe,
                               os.path.join(HERE, "delay_target.c")])
    errf = open(os.path.join(OUT, "delay_target.err"), "w")
    p = subprocess.Popen(["taskset", "-c", TARGET_CPU, exe, "0", str(delay_us)],
                         stdout=subprocess.PIPE, stderr=errf, text=True)
    children.append(p)
    line = p.stdout.readline()
    m = re.match(r"port (\d+)", line)
    if not m:
        raise SystemExit("bench: delay_target did not start (%r)" % line)
    wait_port(int(m.group(1)), p)
    return p, "http://127.0.0.1:%s" % m.group(1)


def delay_target_lateness(p):
    """Stops the delay target and returns its lateness line (see delay_target.c)."""
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    try:
        with open(os.path.join(OUT, "delay_target.err")) as f:
            m = re.search(r"lateness_us (.*)", f.read())
        return m.group(1) if m else None
    except OSError:
        return None


def hist_bucket_us(us):
    """Width of hornet's histogram bucket at us (128 linear buckets per power of two)."""
    return max(1, (1 << max(0, int(us).bit_length() - 1)) // 128)


def section_accuracy(md):
    delay_ms = float(os.environ.get("BENCH_ACCURACY_DELAY_MS", "5"))
    users = [int(x) for x in os.environ.get("BENCH_ACCURACY_USERS", "50,100").split(",")]
    delay_us = int(round(delay_ms * 1000))
    log("accuracy: hornet and wrk against bench/delay_target.c answering after %g ms" % delay_ms)
    dt, url = start_delay_target(delay_us)
    md.append("## Accuracy: reported latency against a fixed %g ms server delay\n" % delay_ms)
    md.append("`bench/delay_target.c` (pinned to CPU %s) answers every request exactly %g ms after "
              "reading it (one timerfd, the last 200 µs spun on CLOCK_MONOTONIC); hornet "
              "(`bench/get.c`, per-user connections, 1 thread, no think time; generators: "
              "`BENCH_ACCURACY_TOOLS`) and `wrk -t1 "
              "--latency` with the same connection count on CPU %s, alternating. The path around "
              "the delay (loopback, wake-ups, send/recv) is common to both, so hornet's "
              "measurement overhead is its percentile minus wrk's. hornet's histogram buckets are "
              "%d µs wide at %g ms (values are bucket midpoints).\n"
              % (TARGET_CPU, delay_ms, GEN_CPU, hist_bucket_us(delay_us), delay_ms))
    md.append("| generator | users | req/s | p50 ms | p99 ms | p50 − delay | p99 − delay "
              "| p99 − wrk p99 |")
    md.append("|---|---|---|---|---|---|---|---|")
    htools = [t for t in ACCURACY_TOOLS if is_hornet(t)]
    try:
        for n in users:
            hrs, wrs = {t: [] for t in htools}, []
            for rep in range(REPS):
                for tool in htools:
                    jpath = os.path.join(OUT, "delay-%d.json" % n)
                    if os.path.exists(jpath):
                        os.unlink(jpath)
                    env, extra, binary = hornet_setup(tool)
                    run_timed("accuracy-%s-%d-%d" % (tool, n, rep),
                              hornet_cmd(GET_SO, url, n, n, DUR, jpath, extra, binary),
                              DUR + 30, env)
                    try:
                        with open(jpath) as f:
                            t = json.load(f)["total"]
                        hrs[tool].append((t["requests"] / DUR, t["percentiles"]["50"],
                                          t["percentiles"]["99"]))
                    except (OSError, ValueError, KeyError):
                        log("accuracy run %s %d produced no JSON; see %s" % (tool, n, OUT))
                w = run_timed("accuracy-wrk-%d-%d" % (n, rep),
                              ["wrk", "-t1", "-c%d" % n, "-d%ds" % DUR, "--latency", url + "/"],
                              DUR + 30)
                try:
                    reqs, wp50, wp99, _ = parse_wrk(w["out"], None)
                    wrs.append((reqs / DUR, wp50, wp99))
                except (AttributeError, ValueError):
                    log("accuracy: could not parse wrk's output; see %s" % OUT)
            wm = [median([r[i] for r in wrs]) for i in range(3)] if wrs else None
            ms = [(t, [median([r[i] for r in hrs[t]]) for i in range(3)] if hrs[t] else None)
                  for t in htools]
            for name, m in ms + [("wrk", wm)]:
                if m is None:
                    continue
                over = "%+.3f ms" % (m[2] - wm[2]) if name != "wrk" and wm else "–"
                log("accuracy %s %d users: p50 %.3f p99 %.3f ms (%s)" % (name, n, m[1], m[2], over))
                md.append("| %s | %d | %.0f | %.3f | %.3f | %+.3f | %+.3f | %s |" % (
                    name, n, m[0], m[1], m[2], m[1] - delay_ms, m[2] - delay_ms, over))
    finally:
        late = delay_target_lateness(dt)
    md.append("")
    md.append("Medians of %d alternating runs of %d s. The target's own lateness against its "
              "deadlines over all runs (µs): %s.\n" % (REPS, DUR, late or "not reported"))


def build_plugin(src, so, include=None):
    cc = os.environ.get("CC", "cc")
    subprocess.check_call([cc, "-O2", "-fPIC", "-shared", "-I",
                           include or os.path.join(ROOT, "include"), "-o", so, src])


def include_for(binary, var):
    """Where binary's hornet.h is: $var, or the source tree its build
    directory's CMakeCache.txt names, or this checkout's (None)."""
    if os.environ.get(var):
        return os.environ[var]
    d = os.path.dirname(binary)
    for cache in (os.path.join(d, "CMakeCache.txt"), os.path.join(d, "..", "CMakeCache.txt")):
        try:
            with open(cache) as f:
                m = re.search(r"^CMAKE_HOME_DIRECTORY:INTERNAL=(.*)$", f.read(), re.M)
            if m and os.path.exists(os.path.join(m.group(1), "include", "hornet", "hornet.h")):
                return os.path.join(m.group(1), "include")
        except OSError:
            pass
    return None


def machine():
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for ln in f:
            if ln.startswith("model name"):
                cpu = ln.split(":", 1)[1].strip()
                break
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30

    def ver(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True,
                                  timeout=10).stdout.strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return "?"
    return ("%d vCPU %s, %.0f GB RAM, kernel %s; %s (%s)%s, curl %s, %s, wrk %s, locust %s" % (
        os.cpu_count(), cpu, mem, os.uname().release, ver([HORNET, "--version"]), HORNET,
        "; @base: %s" % HORNET_BASE if HORNET_BASE else "",
        ver(["curl-config", "--version"]), ver(["sh", "-c", "nginx -v 2>&1"]),
        ver(["sh", "-c", "dpkg-query -W -f='${Version}' wrk"]),
        ver(["sh", "-c", "dpkg-query -W -f='${Version}' python3-locust"])))


def main():
    global OUT, TARGET, GET_SO, IDLE_SO, GET_BASE_SO
    if not os.access(HORNET, os.X_OK):
        raise SystemExit("bench: no hornet binary at %s (build first, or set HORNET)" % HORNET)
    if os.cpu_count() < 2:
        raise SystemExit("bench: needs 2 CPUs (generator and target on separate cores)")
    OUT = os.environ.get("BENCH_OUT") or tempfile.mkdtemp(prefix="hornet-bench-")
    os.makedirs(OUT, exist_ok=True)
    TARGET = None
    log("raw outputs in %s" % OUT)
    # Plugins are compiled up front, so no compiler CPU lands in a measurement.
    GET_SO = os.path.join(OUT, "get.so")
    IDLE_SO = os.path.join(OUT, "idle.so")
    inc = include_for(HORNET, "HORNET_INCLUDE")
    build_plugin(os.path.join(HERE, "get.c"), GET_SO, inc)
    build_plugin(os.path.join(HERE, "idle.c"), IDLE_SO, inc)
    if HORNET_BASE:
        if not os.access(HORNET_BASE, os.X_OK):
            raise SystemExit("bench: no hornet binary at HORNET_BASE=%s" % HORNET_BASE)
        GET_BASE_SO = os.path.join(OUT, "get-base.so")
        build_plugin(os.path.join(HERE, "get.c"), GET_BASE_SO,
                     include_for(HORNET_BASE, "HORNET_BASE_INCLUDE"))

    md = ["# hornet benchmark results\n",
          "- date: %s" % time.strftime("%Y-%m-%d %H:%M %Z"),
          "- machine: %s" % machine(),
          "- command: `%s bench/run.sh` (env: %s)" % (
              "BENCH_QUICK=1 " if QUICK else "",
              ", ".join("%s=%s" % (k, v) for k, v in sorted(os.environ.items())
                        if k.startswith("BENCH_")) or "defaults"),
          "- target: nginx, 1 process, `return 200 \"ok\"`, keep-alive, access log off, "
          "pinned to CPU %s; generators pinned to CPU %s" % (TARGET_CPU, GEN_CPU),
          ""]
    ng, url = start_nginx()
    TARGET = ng
    try:
        if "main" in SECTIONS:
            section_main(url, md)
        if "scaling" in SECTIONS:
            section_scaling(url, md)
        if "idle" in SECTIONS:
            TARGET = None
            section_idle(url, md)
            TARGET = ng
        if "distributed" in SECTIONS:
            section_distributed(url, md)
        if "profile" in SECTIONS:
            section_profile(url, md)
    finally:
        stop(ng)
    TARGET = None
    if "accuracy" in SECTIONS:
        section_accuracy(md)
    if "metrics" in SECTIONS:
        section_metrics(md)
    if "soak" in SECTIONS:
        section_soak(md)
    if "dashboard_tls" in SECTIONS:
        section_dashboard_tls(md)
    md.append("Noise: %d of %d runs started with a pinned CPU still above 15 %% busy after "
              "waiting up to %g s (BENCH_QUIET_WAIT); %d measured run(s) were kept with more "
              "than %.0f %% foreign CPU after 3 attempts.\n" % (
                  NOISE["busy_start"], NOISE["runs"], QUIET_WAIT, NOISE["noisy_kept"],
                  FOREIGN_MAX))
    path = os.path.join(OUT, "results.md")
    with open(path, "w") as f:
        f.write("\n".join(md) + "\n")
    print("\n".join(md))
    log("wrote %s (copy it to bench/RESULTS.md to publish)" % path)


if __name__ == "__main__":
    main()
