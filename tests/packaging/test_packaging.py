#!/usr/bin/python3
"""Checks the deployment packaging in packaging/: the Dockerfile, the
Kubernetes manifests in packaging/k8s and their guide, for structure and for
agreement with each other, with the sources and with the binary:

- every manifest parses; kinds and apiVersions are the expected ones;
  kustomization.yaml lists every manifest, and `kubectl kustomize` (when
  kubectl is installed) builds them;
- Deployment selectors match their pod labels, the Service selects the master
  pods only;
- the workers' --master-host is the master Service's name, their
  --master-port the Service's zmq port, which leads to the master container's
  zmq containerPort and --master-bind-port; the same for the web port;
- the plugin path in the args is a key of the mounted ConfigMap, and the
  ConfigMap's plugin equals plugins/<key> byte for byte;
- probes use a declared port, every container has resource requests and
  limits;
- the Dockerfile has >= 2 stages, all Debian 12, a numeric non-root USER,
  EXPOSE 8089 and 5557, ENTRYPOINT hornet; every package its runtime stage
  installs exists in Debian 12 (apt-cache), and every shared library the
  binary needs comes from one of them; hadolint when installed;
- every hornet option the manifests and packaging/README.md use (as args or
  HORNET_<OPTION> variables) is in `hornet --help`.

Runs with Debian's /usr/bin/python3 (needs PyYAML, Debian package
python3-yaml); exits 77 (skipped) when PyYAML is missing. The hornet binary:
argv[1], else $HORNET_BIN, else $HORNET (set by ctest). Prints one line per
check and a final "N passed, N failed" line."""

import base64
import json
import math
import os
import re
import shlex
import shutil
import subprocess
import sys
import unittest

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import hnlib  # noqa: E402

try:
    import yaml
except ImportError as e:
    # The default python3 may be one without PyYAML (e.g. a pyenv build); Debian's has it.
    if os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3") \
            and os.access("/usr/bin/python3", os.X_OK) and not os.environ.get("HN_PKG_REEXEC"):
        os.environ["HN_PKG_REEXEC"] = "1"
        os.execv("/usr/bin/python3", ["/usr/bin/python3", os.path.abspath(__file__)] + sys.argv[1:])
    print("SKIP: PyYAML is not importable by %s (%s); install the Debian package python3-yaml "
          "(packaging/deps.sh test does)" % (sys.executable, e), flush=True)
    sys.exit(77)

if len(sys.argv) > 1:
    os.environ["HORNET"] = os.path.abspath(sys.argv.pop(1))
elif os.environ.get("HORNET_BIN"):
    os.environ["HORNET"] = os.environ["HORNET_BIN"]

SRC = hnlib.source_dir()
PKG = os.path.join(SRC, "packaging")
K8S = os.path.join(PKG, "k8s")
DOCKERFILE = os.path.join(PKG, "Dockerfile")

# Short options the manifests may use, and their long names.
SHORT = {"-f": "--plugin", "-H": "--host", "-u": "--users", "-r": "--spawn-rate",
         "-t": "--run-time", "-P": "--web-port", "-s": "--stop-timeout", "-T": "--tags",
         "-E": "--exclude-tags", "-L": "--loglevel"}
# Options that take no value.
FLAGS = {"--master", "--worker", "--headless", "--autostart", "--csv-full-history",
         "--only-summary", "--demo"}
# HORNET_* variables that are not options.
NON_OPTION_ENV = {"HORNET_CACHE_DIR"}
# Packages every debian:12 image has (libraries the binary may need from them).
BASE_PACKAGES = {"libc6", "libgcc-s1", "zlib1g", "libzstd1", "liblzma5", "libbz2-1.0"}
SANITIZER_LIBS = re.compile(r"^lib(asan|ubsan|tsan|lsan|hwasan)\.so")


# ---------------------------------------------------------------- loading

def load_manifests():
    """{file name: [documents]} for every *.yaml in packaging/k8s."""
    out = {}
    for name in sorted(os.listdir(K8S)):
        if name.endswith((".yaml", ".yml")):
            with open(os.path.join(K8S, name), encoding="utf-8") as f:
                out[name] = [d for d in yaml.safe_load_all(f) if d is not None]
    return out


def resources():
    """Every Kubernetes resource (not the Kustomization), as (file, doc)."""
    return [(n, d) for n, docs in load_manifests().items() for d in docs
            if d.get("kind") != "Kustomization"]


def one(kind, component=None):
    found = [d for _, d in resources() if d.get("kind") == kind and
             (component is None or
              d["metadata"].get("labels", {}).get("app.kubernetes.io/component") == component)]
    if len(found) != 1:
        raise AssertionError("expected one %s%s, found %d" % (
            kind, " (component %s)" % component if component else "", len(found)))
    return found[0]


def container(dep):
    cs = dep["spec"]["template"]["spec"]["containers"]
    hornet = [c for c in cs if c.get("name") == "hornet"] or cs
    return hornet[0]


def parse_args(args):
    """hornet args -> {long option: value or True}."""
    opts = {}
    i = 0
    while i < len(args):
        a = str(args[i])
        if not a.startswith("-"):
            raise AssertionError("stray argument %r in %r" % (a, args))
        if "=" in a and a.startswith("--"):
            k, v = a.split("=", 1)
            opts[k] = v
            i += 1
            continue
        k = SHORT.get(a, a)
        if k in FLAGS or i + 1 >= len(args) or str(args[i + 1]).startswith("-"):
            opts[k] = True
            i += 1
        else:
            opts[k] = str(args[i + 1])
            i += 2
    return opts


def env_of(c):
    return {e["name"]: e.get("value") for e in c.get("env", [])}


def options(c):
    """The container's hornet options: args, then HORNET_<OPTION> env for the rest."""
    opts = parse_args(c.get("args", []) + c.get("command", [])[1:])
    for name, value in env_of(c).items():
        if name.startswith("HORNET_") and name not in NON_OPTION_ENV:
            opts.setdefault("--" + name[len("HORNET_"):].lower().replace("_", "-"), value)
    return opts


def port_of(c, ref):
    """containerPort that a probe/Service port reference (name or number) means."""
    for p in c.get("ports", []):
        if ref == p.get("name") or (isinstance(ref, int) and ref == p["containerPort"]):
            return p["containerPort"]
    raise AssertionError("port %r is not declared by container %s (ports %r)"
                         % (ref, c.get("name"), c.get("ports")))


def cpu(q):
    q = str(q)
    return float(q[:-1]) / 1000 if q.endswith("m") else float(q)


def memory(q):
    q = str(q)
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40,
             "k": 10**3, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
    for u in sorted(units, key=len, reverse=True):
        if q.endswith(u):
            return float(q[:-len(u)]) * units[u]
    return float(q)


def dockerfile():
    """[(instruction, arguments)] with continuations joined, comments dropped."""
    lines, cur = [], ""
    with open(DOCKERFILE, encoding="utf-8") as f:
        for raw in f:
            s = raw.rstrip("\n")
            if s.strip().startswith("#"):
                continue  # comment lines, also inside a continued instruction
            if s.rstrip().endswith("\\"):
                cur += s.rstrip()[:-1] + " "
                continue
            cur += s
            if cur.strip():
                ins, _, rest = cur.strip().partition(" ")
                lines.append((ins.upper(), rest.strip()))
            cur = ""
    return lines


def stages():
    """[(from image, stage name, [(instruction, arguments)])]."""
    out = []
    for ins, rest in dockerfile():
        if ins == "FROM":
            words = rest.split()
            words = [w for w in words if not w.startswith("--platform")]
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            out.append((words[0], name, []))
        elif out:
            out[-1][2].append((ins, rest))
    return out


def apt_installs(stage_lines):
    """Package names given to apt-get/apt install in RUN instructions."""
    pkgs = []
    for ins, rest in stage_lines:
        if ins != "RUN":
            continue
        for cmd in re.split(r"&&|;|\|\|?", rest):
            words = shlex.split(cmd)
            if len(words) >= 2 and words[0] in ("apt-get", "apt") and "install" in words:
                after = words[words.index("install") + 1:]
                pkgs += [w for w in after if not w.startswith("-")]
    return pkgs


def help_text():
    r = hnlib.run_hornet(["--help"], timeout=20)
    hnlib.check_no_crash(r, "hornet --help")
    if r.returncode != 0:
        raise AssertionError("hornet --help exited %d: %s" % (r.returncode, r.stderr))
    return r.stdout


def have_binary():
    path = os.environ.get("HORNET")
    return bool(path) and os.access(path, os.X_OK)


# ---------------------------------------------------------------- manifests

class Manifests(unittest.TestCase):
    def test_parse_kinds(self):
        """every manifest parses; kinds and apiVersions are the expected ones"""
        m = load_manifests()
        self.assertTrue(m, "no manifests in " + K8S)
        for name, docs in m.items():
            self.assertTrue(docs, name + " is empty")
            for d in docs:
                self.assertIsInstance(d, dict, name)
                self.assertIn("kind", d, name)
                self.assertIn("apiVersion", d, name)
        kinds = sorted((d["apiVersion"], d["kind"],
                        d["metadata"].get("labels", {}).get("app.kubernetes.io/component", ""))
                       for _, d in resources())
        self.assertEqual(kinds, [("apps/v1", "Deployment", "master"),
                                 ("apps/v1", "Deployment", "worker"),
                                 ("v1", "ConfigMap", ""),
                                 ("v1", "Service", "master")])
        for _, d in resources():
            self.assertTrue(d["metadata"].get("name"), d["kind"])
            self.assertEqual(d["metadata"].get("labels", {}).get("app.kubernetes.io/name"),
                             "hornet", "%s %s" % (d["kind"], d["metadata"]["name"]))

    def test_kustomization(self):
        """kustomization.yaml lists every manifest; kubectl kustomize builds them"""
        m = load_manifests()
        self.assertIn("kustomization.yaml", m)
        k = m["kustomization.yaml"][0]
        self.assertEqual(k["apiVersion"], "kustomize.config.k8s.io/v1beta1")
        self.assertEqual(k["kind"], "Kustomization")
        self.assertEqual(sorted(k["resources"]),
                         sorted(n for n in m if n != "kustomization.yaml"))
        for img in k.get("images", []):
            self.assertEqual(img["name"], container(one("Deployment", "master"))["image"]
                             .split(":")[0], "images: names an image no Deployment uses")
        kubectl = shutil.which("kubectl")
        if kubectl is None:
            self.skipTest("kubectl is not installed (kustomize build not run)")
        r = subprocess.run([kubectl, "kustomize", K8S], capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        built = sorted((d["kind"], d["metadata"]["name"])
                       for d in yaml.safe_load_all(r.stdout) if d)
        self.assertEqual(built, sorted((d["kind"], d["metadata"]["name"])
                                       for _, d in resources()))

    def test_selectors(self):
        """Deployment selectors match their pod labels; the Service selects master pods only"""
        for comp, replicas in (("master", 1), ("worker", 3)):
            dep = one("Deployment", comp)
            sel = dep["spec"]["selector"]["matchLabels"]
            labels = dep["spec"]["template"]["metadata"]["labels"]
            self.assertEqual(labels.get("app.kubernetes.io/name"), "hornet")
            self.assertEqual(labels.get("app.kubernetes.io/component"), comp)
            self.assertTrue(sel, comp + ": empty selector")
            for k, v in sel.items():
                self.assertEqual(labels.get(k), v, "%s: selector %s=%s not in pod labels %r"
                                 % (comp, k, v, labels))
            self.assertEqual(sel.get("app.kubernetes.io/component"), comp,
                             comp + ": the selector must tell master and worker pods apart")
            self.assertEqual(dep["spec"]["replicas"], replicas, comp)
        svc = one("Service")
        ssel = svc["spec"]["selector"]
        master = one("Deployment", "master")["spec"]["template"]["metadata"]["labels"]
        worker = one("Deployment", "worker")["spec"]["template"]["metadata"]["labels"]
        self.assertTrue(all(master.get(k) == v for k, v in ssel.items()),
                        "Service selector %r does not select the master pods" % ssel)
        self.assertFalse(all(worker.get(k) == v for k, v in ssel.items()),
                         "Service selector %r also selects the worker pods" % ssel)

    def test_worker_reaches_master(self):
        """worker --master-host/--master-port = Service name/zmq port -> master containerPort = --master-bind-port"""
        svc = one("Service")
        mc = container(one("Deployment", "master"))
        wc = container(one("Deployment", "worker"))
        mo, wo = options(mc), options(wc)
        self.assertIs(mo.get("--master"), True, "master args lack --master: %r" % mo)
        self.assertIs(wo.get("--worker"), True, "worker args lack --worker: %r" % wo)
        self.assertNotIn("--worker", mo)
        self.assertNotIn("--master", wo)
        self.assertEqual(wo.get("--master-host"), svc["metadata"]["name"])
        sports = {p["name"]: p for p in svc["spec"]["ports"]}
        self.assertEqual(set(sports), {"web", "zmq"})
        zmq = sports["zmq"]
        self.assertEqual(int(wo.get("--master-port")), zmq["port"])
        self.assertEqual(port_of(mc, zmq.get("targetPort", zmq["port"])),
                         int(mo.get("--master-bind-port")))
        self.assertEqual(port_of(mc, "zmq"), int(mo["--master-bind-port"]))
        self.assertEqual(mo.get("--master-bind-host"), "0.0.0.0")
        web = sports["web"]
        self.assertEqual(port_of(mc, web.get("targetPort", web["port"])),
                         int(mo.get("--web-port", 8089)))
        self.assertEqual(mo.get("--web-host"), "0.0.0.0",
                         "the dashboard must listen on the pod's address for probes and the Service")
        self.assertTrue(str(mo.get("--host", "")).startswith(("http://", "https://")),
                        "master needs the target URL (HORNET_HOST): %r" % mo)
        self.assertEqual(env_of(mc).get("HORNET_HOST"), mo.get("--host"))
        # The ports the image declares.
        exposed = set()
        for ins, rest in stages()[-1][2]:
            if ins == "EXPOSE":
                exposed |= {int(p.split("/")[0]) for p in rest.split()}
        self.assertEqual(exposed, {p["containerPort"] for p in mc["ports"]})

    def test_plugin_mount(self):
        """the plugin in the args is a key of the mounted ConfigMap, same in master and workers"""
        cm = one("ConfigMap")
        keys = set(cm.get("data", {})) | set(cm.get("binaryData", {}))
        paths = set()
        for comp in ("master", "worker"):
            dep = one("Deployment", comp)
            c = container(dep)
            plugin = options(c).get("--plugin")
            self.assertTrue(plugin, comp + ": no -f/--plugin")
            paths.add(plugin)
            mdir, key = os.path.split(plugin)
            mounts = [m for m in c.get("volumeMounts", []) if m["mountPath"].rstrip("/") == mdir]
            self.assertEqual(len(mounts), 1, "%s: nothing mounted at %s" % (comp, mdir))
            self.assertNotIn("subPath", mounts[0], comp + ": a subPath mount never updates")
            vols = {v["name"]: v for v in dep["spec"]["template"]["spec"].get("volumes", [])}
            vol = vols.get(mounts[0]["name"])
            self.assertIsNotNone(vol, "%s: volume %s is not declared" % (comp, mounts[0]["name"]))
            self.assertIn("configMap", vol, comp)
            self.assertEqual(vol["configMap"]["name"], cm["metadata"]["name"], comp)
            items = vol["configMap"].get("items")
            if items:
                key = {i["path"]: i["key"] for i in items}.get(key)
            self.assertIn(key, keys, "%s: %s is not a key of ConfigMap %s (keys %s)"
                          % (comp, plugin, cm["metadata"]["name"], sorted(keys)))
            # The compile cache, when mounted, is where the image points HORNET_CACHE_DIR.
            cache = env_of(c).get("HORNET_CACHE_DIR") or dockerfile_env().get("HORNET_CACHE_DIR")
            for m in c.get("volumeMounts", []):
                if m["name"] == "cache":
                    self.assertEqual(m["mountPath"], cache, comp)
        self.assertEqual(len(paths), 1, "master and workers load different plugins: %s" % paths)

    def test_configmap_is_source(self):
        """the ConfigMap's plugin equals plugins/<key> byte for byte"""
        cm = one("ConfigMap")
        items = [(k, v.encode("utf-8")) for k, v in cm.get("data", {}).items()]
        items += [(k, base64.b64decode(v)) for k, v in cm.get("binaryData", {}).items()]
        self.assertTrue(items, "ConfigMap has no data")
        for key, content in items:
            src = os.path.join(SRC, "plugins", key)
            self.assertTrue(os.path.isfile(src), "plugins/%s does not exist" % key)
            with open(src, "rb") as f:
                want = f.read()
            self.assertEqual(content, want,
                             "ConfigMap key %s differs from plugins/%s; regenerate it (packaging/README.md)"
                             % (key, key))

    def test_probes(self):
        """probes are HTTP on a declared port (the master's web port)"""
        mc = container(one("Deployment", "master"))
        for probe in ("readinessProbe", "livenessProbe"):
            self.assertIn(probe, mc, "master has no " + probe)
        for comp in ("master", "worker"):
            c = container(one("Deployment", comp))
            for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
                if probe not in c:
                    continue
                p = c[probe]
                if "httpGet" in p:
                    self.assertTrue(p["httpGet"]["path"].startswith("/"))
                    self.assertEqual(port_of(c, p["httpGet"]["port"]),
                                     int(options(c).get("--web-port", 8089)),
                                     "%s %s: not the web port" % (comp, probe))
                elif "tcpSocket" in p:
                    port_of(c, p["tcpSocket"]["port"])
                else:
                    self.assertIn("exec", p, "%s %s: no handler" % (comp, probe))

    def test_resources(self):
        """every container has cpu and memory requests and limits, requests <= limits"""
        for comp in ("master", "worker"):
            for c in one("Deployment", comp)["spec"]["template"]["spec"]["containers"]:
                res = c.get("resources", {})
                for kind in ("requests", "limits"):
                    for r in ("cpu", "memory"):
                        self.assertIn(r, res.get(kind, {}), "%s: no %s.%s" % (comp, kind, r))
                self.assertLessEqual(cpu(res["requests"]["cpu"]), cpu(res["limits"]["cpu"]))
                self.assertLessEqual(memory(res["requests"]["memory"]),
                                     memory(res["limits"]["memory"]))
                threads = env_of(c).get("HORNET_THREADS")
                if threads is not None:
                    self.assertEqual(int(threads), max(1, math.ceil(cpu(res["limits"]["cpu"]))),
                                     comp + ": HORNET_THREADS should match the CPU limit")

    def test_image_and_user(self):
        """both Deployments run the same image, as non-root (the image's USER is numeric)"""
        images = {container(one("Deployment", c))["image"] for c in ("master", "worker")}
        self.assertEqual(len(images), 1, images)
        for comp in ("master", "worker"):
            spec = one("Deployment", comp)["spec"]["template"]["spec"]
            self.assertIs(spec.get("securityContext", {}).get("runAsNonRoot"), True, comp)
        user = [rest for ins, rest in stages()[-1][2] if ins == "USER"]
        self.assertTrue(user and re.fullmatch(r"\d+(:\d+)?", user[-1]),
                        "runAsNonRoot needs a numeric USER in the image: %r" % user)


def dockerfile_env():
    env = {}
    for ins, rest in stages()[-1][2]:
        if ins == "ENV":
            for w in shlex.split(rest):
                if "=" in w:
                    k, v = w.split("=", 1)
                    env[k] = v
    return env


# ---------------------------------------------------------------- Dockerfile

class Dockerfile(unittest.TestCase):
    def test_stages(self):
        """>= 2 stages, all Debian 12; build stage: deps.sh build + Release; runtime copies it"""
        st = stages()
        self.assertGreaterEqual(len(st), 2)
        for image, _, _ in st:
            self.assertRegex(image, r"^(docker\.io/(library/)?)?debian:(12|bookworm)"
                                    r"([.\w-]*)?(@sha256:[0-9a-f]{64})?$")
        build_runs = " ".join(rest for _, _, lines in st[:-1] for ins, rest in lines
                              if ins == "RUN")
        self.assertIn("packaging/deps.sh build", build_runs)
        self.assertRegex(build_runs, r"CMAKE_BUILD_TYPE=Release")
        runtime = st[-1][2]
        names = {n for _, n, _ in st[:-1] if n} | {str(i) for i in range(len(st) - 1)}
        copies = [rest for ins, rest in runtime if ins == "COPY"]
        self.assertTrue(any(re.match(r"--from=(\S+)\s+\S*/hornet\s+(/usr/local/bin|/usr/bin)/",
                                     c) and re.match(r"--from=(\S+)", c).group(1) in names
                            for c in copies), "runtime stage does not copy the built hornet: %r"
                        % copies)
        self.assertTrue(any(re.match(r"plugins/\*\.c\s+/usr/share/hornet/plugins/?$", c)
                            for c in copies), copies)
        runtime_runs = " ".join(rest for ins, rest in runtime if ins == "RUN")
        self.assertNotIn("deps.sh", runtime_runs)

    def test_runtime_stage(self):
        """runtime: non-root numeric USER, EXPOSE 8089 5557, ENTRYPOINT hornet, HORNET_CACHE_DIR owned"""
        runtime = stages()[-1][2]
        user = [rest for ins, rest in runtime if ins == "USER"]
        self.assertTrue(user, "no USER")
        uid = user[-1].split(":")[0]
        self.assertNotIn(uid, ("root", "0"))
        exposed = set()
        for ins, rest in runtime:
            if ins == "EXPOSE":
                exposed |= {p.split("/")[0] for p in rest.split()}
        self.assertTrue({"8089", "5557"} <= exposed, exposed)
        ep = [rest for ins, rest in runtime if ins == "ENTRYPOINT"]
        self.assertTrue(ep, "no ENTRYPOINT")
        ep = json.loads(ep[-1])  # exec form, so signals reach hornet
        self.assertEqual(os.path.basename(ep[0]), "hornet")
        cache = dockerfile_env().get("HORNET_CACHE_DIR")
        self.assertTrue(cache, "HORNET_CACHE_DIR not set")
        runs = " ".join(rest for ins, rest in runtime if ins == "RUN")
        self.assertIn(cache, runs, "the cache directory is not created")
        self.assertRegex(runs, r"(install\s+-d\s+-o\s+\S+|chown\s+\S+[^&;]*%s)" % re.escape(cache),
                         "the cache directory is not given to the user")

    def test_runtime_packages(self):
        """runtime installs only runtime libraries, plus gcc and libc6-dev for .c plugins"""
        st = stages()
        pkgs = apt_installs(st[-1][2])
        self.assertTrue(pkgs, "runtime stage installs nothing")
        for p in ("libmicrohttpd12", "libwebsockets17", "libcurl4", "libjansson4", "libzmq5",
                  "gcc", "libc6-dev"):
            self.assertIn(p, pkgs)
        self.assertEqual([p for p in pkgs if p.endswith("-dev") and p != "libc6-dev"], [])
        self.assertNotIn("build-essential", pkgs)
        self.assertNotIn("cmake", pkgs)

    def test_packages_exist_in_debian12(self):
        """every package the runtime stage installs exists in Debian 12 (apt-cache)"""
        if shutil.which("apt-cache") is None:
            self.skipTest("apt-cache is not available")
        try:
            with open("/etc/debian_version") as f:
                ver = f.read().strip()
        except OSError:
            ver = ""
        if not ver.startswith("12"):
            self.skipTest("this machine is not Debian 12 (%s)" % (ver or "no /etc/debian_version"))
        lists = "/var/lib/apt/lists"
        if not any("_Packages" in n for n in (os.listdir(lists) if os.path.isdir(lists) else [])):
            self.skipTest("no apt package lists (run apt-get update)")
        missing = []
        for p in apt_installs(stages()[-1][2]):
            r = subprocess.run(["apt-cache", "policy", p], capture_output=True, text=True,
                               timeout=60)
            m = re.search(r"Candidate:\s*(\S+)", r.stdout)
            if r.returncode != 0 or not m or m.group(1) == "(none)":
                missing.append(p)
        if missing:
            self.fail("not installable on Debian 12: " + ", ".join(missing))

    def test_packages_cover_binary(self):
        """every shared library hornet needs comes from a package the runtime stage installs"""
        if not have_binary():
            self.skipTest("no hornet binary given")
        for tool in ("objdump", "ldd", "dpkg-query"):
            if shutil.which(tool) is None:
                self.skipTest(tool + " is not available")
        binary = os.environ["HORNET"]
        r = subprocess.run(["objdump", "-p", binary], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        needed = re.findall(r"^\s*NEEDED\s+(\S+)", r.stdout, re.M)
        self.assertTrue(needed)
        if any(SANITIZER_LIBS.match(lib) for lib in needed):
            # The image ships a Release build; a sanitizer build also links
            # libraries its dependencies only need privately (e.g. libcap).
            self.skipTest("a sanitizer build of the test suite; the image ships a Release build")
        r = subprocess.run(["ldd", binary], capture_output=True, text=True, timeout=60)
        where = dict(re.findall(r"^\s*(\S+)\s+=>\s+(/\S+)", r.stdout, re.M))
        installed = set(apt_installs(stages()[-1][2]))
        # Direct dependencies are named, not left to another package's Depends.
        closure = installed | BASE_PACKAGES
        uncovered, unknown = [], []
        for lib in needed:
            if SANITIZER_LIBS.match(lib):
                continue  # an ASan/UBSan/TSan build of the test suite
            path = where.get(lib)
            if path is None:
                unknown.append(lib + " (not found by ldd)")
                continue
            q = subprocess.run(["dpkg-query", "-S", os.path.realpath(path)],
                               capture_output=True, text=True, timeout=60)
            if q.returncode != 0:
                q = subprocess.run(["dpkg-query", "-S", path], capture_output=True, text=True,
                                   timeout=60)
            if q.returncode != 0:
                unknown.append("%s (%s: from no Debian package)" % (lib, path))
                continue
            pkg = q.stdout.split(":")[0].strip()
            if pkg not in closure:
                uncovered.append("%s (package %s)" % (lib, pkg))
        if uncovered:
            self.fail("the runtime stage does not install the packages of: " + ", ".join(uncovered))
        if unknown:
            print("      note: not checked: " + ", ".join(unknown), flush=True)

    def test_dockerignore(self):
        """.dockerignore at the build context (repository root) leaves out build/, .git, node_modules"""
        path = os.path.join(SRC, ".dockerignore")
        self.assertTrue(os.path.isfile(path), path)
        with open(path) as f:
            pats = {line.strip().rstrip("/") for line in f
                    if line.strip() and not line.startswith("#")}
        self.assertIn(".git", pats)
        self.assertIn("build", pats)
        self.assertTrue({"node_modules", "**/node_modules"} & pats, pats)
        self.assertNotIn("packaging", pats)
        self.assertNotIn("plugins", pats)

    def test_hadolint(self):
        """hadolint finds nothing (when installed)"""
        hadolint = shutil.which("hadolint")
        if hadolint is None:
            self.skipTest("hadolint is not installed")
        r = subprocess.run([hadolint, DOCKERFILE], capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_deps_test_profile(self):
        """packaging/deps.sh's test profile installs python3-yaml (this test's PyYAML)"""
        with open(os.path.join(PKG, "deps.sh")) as f:
            text = f.read()
        m = re.search(r'^test="([^"]*)"', text, re.M)
        self.assertTrue(m, "no test= profile in deps.sh")
        self.assertIn("python3-yaml", m.group(1).split())


# ---------------------------------------------------------------- the binary

def used_options():
    """{option: where} for every hornet option the manifests and README use."""
    used = {}
    for name, d in resources():
        if d["kind"] != "Deployment":
            continue
        for c in d["spec"]["template"]["spec"]["containers"]:
            for a in c.get("args", []):
                a = str(a)
                if a.startswith("-"):
                    used.setdefault(a.split("=", 1)[0], "k8s/" + name)
            for e in c.get("env", []):
                n = e["name"]
                if n.startswith("HORNET_") and n not in NON_OPTION_ENV:
                    used.setdefault("--" + n[7:].lower().replace("_", "-"),
                                    "k8s/%s (env %s)" % (name, n))
    for name, cmd in ci_commands():
        for w in shlex.split(cmd):
            if w.startswith("-"):
                used.setdefault(w.split("=", 1)[0], name)
    with open(os.path.join(PKG, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    # Inline code that starts with an option is a hornet command-line fragment.
    for span in re.findall(r"`(-[^`]+)`", readme):
        for w in span.split():
            if w.startswith("-"):
                used.setdefault(w.split("=", 1)[0], "README.md")
    return used


# ---------------------------------------------------------------- CI pipelines

def gitlab_job():
    with open(os.path.join(PKG, "ci", "gitlab-ci.yml"), encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    return doc["loadtest"]


def jenkinsfile():
    with open(os.path.join(PKG, "ci", "Jenkinsfile"), encoding="utf-8") as f:
        return f.read()


def ci_commands():
    """[(file, the hornet command line)] of both pipelines."""
    out = []
    for line in gitlab_job()["script"]:
        if line.strip().startswith("hornet "):
            out.append(("ci/gitlab-ci.yml", " ".join(line.split())))
    for m in re.finditer(r"sh '\''((?:hornet)[^']*)'\''", jenkinsfile()):
        out.append(("ci/Jenkinsfile", " ".join(m.group(1).replace("\\\n", " ").split())))
    return out


def option_values(cmd, name):
    words = shlex.split(cmd)
    return [words[i + 1] for i, w in enumerate(words[:-1]) if w == name]


class CiPipelines(unittest.TestCase):
    def test_both_run_hornet_headless_with_thresholds(self):
        """the GitLab job and the Jenkinsfile run hornet headless with thresholds and JUnit"""
        cmds = dict(ci_commands())
        self.assertEqual(sorted(cmds), ["ci/Jenkinsfile", "ci/gitlab-ci.yml"])
        for name, cmd in cmds.items():
            for opt in ("--headless", "--junit", "--html", "--csv", "-t"):
                self.assertTrue(option_values(cmd, opt) or opt in shlex.split(cmd),
                                "%s: %s missing" % (name, opt))
            self.assertTrue(option_values(cmd, "--threshold"), name + ": no --threshold")

    def test_thresholds_parse(self):
        """every threshold in the pipelines is one hornet accepts"""
        if not have_binary():
            self.skipTest("no hornet binary (argv[1], HORNET_BIN or HORNET)")
        for name, cmd in ci_commands():
            for expr in option_values(cmd, "--threshold"):
                # --master with --worker fails after every option parsed: any
                # other complaint is about the threshold.
                r = hnlib.run_hornet(["--threshold", expr, "--master", "--worker"], timeout=20)
                hnlib.check_no_crash(r)
                self.assertIn("cannot be combined", r.stderr, "%s: %s: %s" % (name, expr, r.stderr))

    def test_gitlab_keeps_the_reports(self):
        """GitLab: the junit report is the file hornet writes; every output is an artefact"""
        job = gitlab_job()
        cmd = dict(ci_commands())["ci/gitlab-ci.yml"]
        junit = option_values(cmd, "--junit")[0]
        self.assertEqual(job["artifacts"]["reports"]["junit"], junit)
        self.assertEqual(job["artifacts"]["when"], "always", "a failed gate must keep its reports")
        paths = job["artifacts"]["paths"]
        for opt in ("--junit", "--html", "--csv", "--json"):
            out = option_values(cmd, opt)[0]
            self.assertTrue(any(out.startswith(p.rstrip("/") + "/") or out == p for p in paths),
                            "%s %s is not kept (%s)" % (opt, out, paths))
        self.assertEqual(job["image"]["entrypoint"], [""], "the image's entrypoint is hornet")

    def test_jenkins_keeps_the_reports(self):
        """Jenkins: the junit step reads the file hornet writes, always; outputs are archived"""
        text = jenkinsfile()
        cmd = dict(ci_commands())["ci/Jenkinsfile"]
        junit = option_values(cmd, "--junit")[0]
        m = re.search(r"always\s*\{(.*?)\n\s*\}", text, re.S)
        self.assertTrue(m, "no post { always { ... } } block")
        self.assertIn("junit testResults: '%s'" % junit, m.group(1))
        arch = re.search(r"archiveArtifacts artifacts: '([^']+)'", m.group(1))
        self.assertTrue(arch, "outputs are not archived")
        prefix = arch.group(1).split("*")[0]
        for opt in ("--junit", "--html", "--csv", "--json"):
            self.assertTrue(option_values(cmd, opt)[0].startswith(prefix), opt)
        self.assertEqual(text.count("{"), text.count("}"), "unbalanced braces")


class Binary(unittest.TestCase):
    def test_help_lists_used_options(self):
        """every option the manifests and README use is in hornet --help"""
        if not have_binary():
            self.skipTest("no hornet binary (argv[1], HORNET_BIN or HORNET)")
        text = help_text()
        missing = []
        for opt, where in sorted(used_options().items()):
            if opt.startswith("--"):
                found = re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(opt), text)
            else:
                found = re.search(r"(?m)^\s+%s,\s" % re.escape(opt), text)
            if not found:
                missing.append("%s (%s)" % (opt, where))
        if missing:
            self.fail("options not in `hornet --help`: " + ", ".join(missing))


if __name__ == "__main__":
    sys.exit(hnlib.run_checks())
