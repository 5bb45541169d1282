#!/usr/bin/env python3
"""bench/peers.py SECTION BUILD: the sections of `make bench` that run eksegress
side by side with boto3, the AWS SDK for JavaScript v3 and the AWS CLI.

  calls     2,000 DescribeCluster at 20 ms (concurrency 32 and 128) and 40 ms
            (128) against bench/responder.c: eksegress.parallel, boto3 with a
            thread pool, the JS SDK with a promise pool
  audit     `eksegress audit` over 2,000 clusters in 2 accounts x 4 regions at
            20 ms (the simulator), a boto3 script doing the same list +
            describe, and the AWS CLI on a 50-cluster slice
  startup   start-up plus one describe, end to end, one process each
  scaling   `eksegress audit` wall time and peak RSS for 100 ... 30,000 clusters

Prints "key value" lines for bench/report.py; each value is one JSON object.
Every client runs as its own process; its peak RSS and user+sys CPU come from
wait4() on that process alone (servers are separate processes). The call
scripts also report the CPU of their call phase alone (start-up excluded).
Loopback only. Standard library only.
"""

import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON = os.environ.get("PYTHON") or "/usr/bin/python3"
LUA = os.environ.get("LUA") or "lua5.4"
AWS = os.environ.get("BENCH_AWS") or "/usr/bin/aws"
NODE = shutil.which("node")
ROUNDS = int(os.environ.get("BENCH_PEER_ROUNDS", "3"))
CALLS = int(os.environ.get("BENCH_CALLS", "2000"))

ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
# The simulator's second generated account (tools/ekssim README).
ACCESS_KEY_2 = "AKIAEKSSIM0000000002"
SECRET_KEY_2 = "ekssim/SecondAccount/Secret+EXAMPLEKEY02"
REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1"]


def emit(key, doc):
    print("%s %s" % (key, json.dumps(doc, sort_keys=True)), flush=True)


def note(msg):
    print("bench: %s" % msg, file=sys.stderr, flush=True)


def base_env(build, endpoint=None, extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({
        "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_REGION": "us-west-2", "AWS_DEFAULT_REGION": "us-west-2",
        "AWS_CONFIG_FILE": "/nonexistent/config", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credentials",
        "AWS_EC2_METADATA_DISABLED": "true", "AWS_PAGER": "", "NODE_NO_WARNINGS": "1",
        "LUA_PATH": "lua/?.lua;lua/?/init.lua;;", "LUA_CPATH": build + "/?.so;;",
        "PYTHONDONTWRITEBYTECODE": "1",
    })
    if endpoint:
        env["AWS_ENDPOINT_URL"] = endpoint
    for k, v in (extra or {}).items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


class RusagePopen(subprocess.Popen):
    """Popen that reaps its child with wait4, keeping the child's own rusage
    (user+sys CPU and peak RSS of that process alone)."""

    rusage = None

    def _try_wait(self, wait_flags):
        try:
            pid, sts, ru = os.wait4(self.pid, wait_flags)
        except ChildProcessError:
            return (self.pid, 0)
        if pid == self.pid:
            self.rusage = {"cpu_total_s": ru.ru_utime + ru.ru_stime, "maxrss_kb": ru.ru_maxrss}
        return (pid, sts)


# A process forked from this Python starts with Python's memory high-water
# mark (Linux keeps it across exec), so peak RSS comes from GNU time, a small
# C program that forks the command itself; its figure is the command's.
TIME = "/usr/bin/time"


def run(cmd, env, cwd=ROOT):
    """Run cmd; return wall time, the child's own CPU and peak RSS, exit
    status, stdout, and its last JSON line (if any)."""
    fd, rss_file = tempfile.mkstemp(prefix="eksegress-bench-rss-")
    os.close(fd)
    wrapped = [TIME, "-f", "%M", "-o", rss_file] + cmd if os.access(TIME, os.X_OK) else cmd
    t0 = time.monotonic()
    p = RusagePopen(wrapped, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                    stdin=subprocess.DEVNULL)
    out, err = p.communicate()
    res = {"wall_s": time.monotonic() - t0, "status": p.returncode, "stdout": out.decode("utf-8", "replace"),
           "stderr": err.decode("utf-8", "replace")[-2000:]}
    res.update(p.rusage or {})
    try:
        with open(rss_file, encoding="utf-8") as f:
            lines = [x for x in f.read().split() if x.isdigit()]
        if lines and wrapped is not cmd:
            res["maxrss_kb"] = int(lines[-1])
        # time reports a failing command on its own line; the status is the command's.
    finally:
        os.unlink(rss_file)
    last = None
    for line in res["stdout"].splitlines():
        line = line.strip()
        if line.startswith("{") and line.endswith("}"):
            last = line
    if last:
        try:
            res["json"] = json.loads(last)
        except ValueError:
            pass
    return res


def start(cmd, pattern, env, timeout=120):
    """Start a server; wait for the line matching pattern; return (proc, match)."""
    p = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = p.stdout.readline().decode("utf-8", "replace")
        if not line:
            break
        m = re.search(pattern, line)
        if m:
            return p, m
    p.kill()
    p.wait()
    raise RuntimeError("server did not start: %s" % " ".join(cmd))


def stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def http_json(url, method="GET"):
    req = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    with urllib.request.urlopen(req, timeout=30) as r:  # loopback only
        return json.loads(r.read().decode("utf-8"))


def have_boto3():
    return subprocess.run([PYTHON, "-c", "import boto3"], capture_output=True).returncode == 0


def have_js():
    return NODE is not None and os.path.isdir(os.path.join(ROOT, "bench/js/node_modules/@aws-sdk/client-eks"))


# ---------------------------------------------------------------------------
# calls

CALL_CONFIGS = [(20, 32), (20, 128), (40, 128)]


def section_calls(build):
    responder = os.path.join(build, "bench", "responder")
    clients = [("eksegress", [LUA, "bench/calls_eksegress.lua"])]
    if have_boto3():
        clients.append(("boto3", [PYTHON, "bench/calls_boto3.py"]))
    else:
        note("calls: boto3 missing, skipped")
    if have_js():
        clients.append(("js", [NODE, "bench/js/calls.mjs"]))
    else:
        note("calls: the JS SDK is missing, skipped")
    for latency, conc in CALL_CONFIGS:
        srv, m = start([responder, "--latency-ms", str(latency)], r"listening on (\d+)", base_env(build))
        url = "http://127.0.0.1:%s" % m.group(1)
        try:
            for rnd in range(1, ROUNDS + 1):
                for name, cmd in clients:
                    note("calls: %s, %d ms, concurrency %d, round %d/%d" % (name, latency, conc, rnd, ROUNDS))
                    before = http_json(url + "/_stats/reset", "POST")
                    before = http_json(url + "/_stats")
                    r = run(cmd + [str(CALLS), str(conc)], base_env(build, url))
                    after = http_json(url + "/_stats")
                    doc = {"client": name, "latency_ms": latency, "concurrency": conc, "round": rnd,
                           "status": r["status"], "wall_total_s": r["wall_s"],
                           "cpu_total_s": r.get("cpu_total_s"), "maxrss_kb": r.get("maxrss_kb"),
                           "server_cpu_s": (after["cpu_us"] - before["cpu_us"]) / 1e6,
                           "server_requests": after["requests"], "server_in_flight_max": after["in_flight_max"],
                           "bad_signatures": after["bad_signatures"]}
                    doc.update(r.get("json") or {"calls": CALLS, "errors": CALLS, "first_error": r["stderr"][-300:]})
                    emit("calls", doc)
        finally:
            stop(srv)


# ---------------------------------------------------------------------------
# simulator helpers

def start_sim(build, spec, latency_ms=0):
    cmd = [PYTHON, "tools/ekssim/ekssim.py", "--port", "0", "--time-scale", "0", "--no-k8s",
           "--generate", spec, "--log-size", "1"]
    if latency_ms:
        cmd += ["--latency-ms", str(latency_ms)]
    p, m = start(cmd, r"listening on (http://127\.0\.0\.1:\d+)", base_env(build), timeout=600)
    return p, m.group(1)


def profiles_file(tmp):
    path = os.path.join(tmp, "config")
    with open(path, "w", encoding="utf-8") as f:
        f.write("[profile a]\naws_access_key_id = %s\naws_secret_access_key = %s\n"
                "[profile b]\naws_access_key_id = %s\naws_secret_access_key = %s\n"
                % (ACCESS_KEY, SECRET_KEY, ACCESS_KEY_2, SECRET_KEY_2))
    return path


def audit_count(stdout):
    try:
        doc = json.loads(stdout)
    except ValueError:
        return None, None
    return len(doc.get("clusters") or []), len(doc.get("errors") or [])


def eksegress_audit(build, url, regions, conc, profiles=None, env_extra=None):
    cmd = [LUA, "bin/eksegress", "audit", "--regions", ",".join(regions), "--endpoint-url", url,
           "--output", "json", "--concurrency", str(conc)]
    for p in profiles or []:
        cmd += ["--profile", p]
    r = run(cmd, base_env(build, extra=env_extra))
    n, errs = audit_count(r["stdout"])
    return r, n, errs


# ---------------------------------------------------------------------------
# audit

def section_audit(build):
    regions = REGIONS
    conc = 32
    sim, url = start_sim(build, "clusters=2000,accounts=2,regions=4,seed=7,defects=0", latency_ms=20)
    tmp = tempfile.mkdtemp(prefix="eksegress-bench-")
    try:
        cfg = profiles_file(tmp)
        files = {"AWS_CONFIG_FILE": cfg, "AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None}
        for rnd in range(1, ROUNDS + 1):
            note("audit: eksegress audit, 2 profiles x 4 regions, round %d/%d" % (rnd, ROUNDS))
            env_extra = dict(files)
            r, n, errs = eksegress_audit(build, url, regions, conc, ["a", "b"], env_extra)
            emit("audit", {"client": "eksegress", "round": rnd, "clusters": n, "errors": errs,
                           "status": r["status"], "wall_s": r["wall_s"], "cpu_total_s": r.get("cpu_total_s"),
                           "maxrss_kb": r.get("maxrss_kb"), "concurrency": conc, "stderr": r["stderr"][-300:]})
            if have_boto3():
                note("audit: boto3 script, round %d/%d" % (rnd, ROUNDS))
                r = run([PYTHON, "bench/audit_boto3.py", url, "a,b", ",".join(regions), str(conc)],
                        base_env(build, extra=files))
                j = r.get("json") or {}
                emit("audit", {"client": "boto3", "round": rnd, "clusters": j.get("clusters"),
                               "errors": j.get("errors"), "status": r["status"], "wall_s": r["wall_s"],
                               "cpu_total_s": r.get("cpu_total_s"), "maxrss_kb": r.get("maxrss_kb"),
                               "concurrency": conc, "stderr": r["stderr"][-300:]})
        if os.access(AWS, os.X_OK):
            note("audit: the AWS CLI on a 50-cluster slice (list, then one describe-cluster per cluster)")
            emit("audit", dict(awscli_slice(build, url, files, 50), client="awscli", round=1))
        else:
            note("audit: %s missing, the AWS CLI slice is skipped" % AWS)
    finally:
        stop(sim)
        shutil.rmtree(tmp, ignore_errors=True)


def awscli_slice(build, url, files, n):
    env = base_env(build, extra=files)
    env["AWS_PROFILE"] = "a"
    t0 = time.monotonic()
    cpu = 0.0
    rss = 0
    r = run([AWS, "eks", "list-clusters", "--region", REGIONS[0], "--endpoint-url", url, "--max-items",
             str(n), "--output", "json"], env)
    cpu += r.get("cpu_total_s") or 0
    rss = max(rss, r.get("maxrss_kb") or 0)
    names = json.loads(r["stdout"]).get("clusters", [])[:n] if r["status"] == 0 else []
    described = 0
    for name in names:
        d = run([AWS, "eks", "describe-cluster", "--region", REGIONS[0], "--endpoint-url", url, "--name", name,
                 "--output", "json"], env)
        cpu += d.get("cpu_total_s") or 0
        rss = max(rss, d.get("maxrss_kb") or 0)
        if d["status"] == 0:
            described += 1
    return {"clusters": described, "errors": len(names) - described, "processes": 1 + len(names),
            "wall_s": time.monotonic() - t0, "cpu_total_s": cpu, "maxrss_kb": rss, "status": 0 if names else 1,
            "concurrency": 1}


# ---------------------------------------------------------------------------
# start-up plus one describe

def section_startup(build):
    sim, url = start_sim(build, "clusters=1,accounts=1,regions=1,seed=3,defects=0")
    try:
        env = base_env(build, url, {"AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1"})
        r = run([LUA, "-e", "local c = require('eksegress').client(); "
                 "print(assert(c:collect('eks', 'ListClusters', {}))[1])"], env)
        name = r["stdout"].strip()
        if not name:
            raise RuntimeError("startup: no cluster in the simulator: " + r["stderr"])
        cases = [
            ("eksegress_cli", "eksegress audit (CLI: STS + list + describe)",
             [LUA, "bin/eksegress", "audit", "--regions", "us-east-1", "--endpoint-url", url, "--output", "json"]),
            ("eksegress_lib", "eksegress library (lua5.4 script, one describe)",
             [LUA, "bench/describe_one.lua", name]),
        ]
        if os.access(AWS, os.X_OK):
            cases.append(("awscli", "aws eks describe-cluster",
                          [AWS, "eks", "describe-cluster", "--name", name, "--endpoint-url", url, "--output", "json"]))
        if have_boto3():
            cases.append(("boto3", "boto3 script, one describe", [PYTHON, "bench/describe_one.py", name]))
        if have_js():
            cases.append(("js", "node + JS SDK v3, one describe", [NODE, "bench/js/describe_one.mjs", name]))
        # Where eksegress's start goes: the interpreter, loading core.so (and
        # libcurl's shared libraries), loading the CLI's Lua modules.
        cases += [
            ("part_lua", "  lua5.4 alone", [LUA, "-e", ""]),
            ("part_core", "  + core.so and its libraries", [LUA, "-e", "require 'eksegress.core'"]),
            ("part_cli", "  + every CLI module", [LUA, "-e", "require 'eksegress.cli'; "
                                                  "for _, n in ipairs(require('eksegress.cli').COMMANDS) do "
                                                  "require('eksegress.cli.commands.' .. n) end"]),
        ]
        rounds = max(5, ROUNDS)
        for key, label, cmd in cases:
            for rnd in range(1, rounds + 1):
                r = run(cmd, env)
                emit("startup", {"case": key, "label": label, "round": rnd, "status": r["status"],
                                 "wall_s": r["wall_s"], "cpu_total_s": r.get("cpu_total_s"),
                                 "maxrss_kb": r.get("maxrss_kb"), "stderr": r["stderr"][-300:]})
            note("startup: %s done" % key)
    finally:
        stop(sim)


# ---------------------------------------------------------------------------
# scaling

def section_scaling(build):
    sizes = [int(x) for x in os.environ.get("BENCH_SCALING", "100,1000,10000,30000").split(",")]
    for n in sizes:
        note("scaling: %d clusters (1 account, 4 regions), starting the simulator" % n)
        sim, url = start_sim(build, "clusters=%d,accounts=1,regions=4,seed=11,defects=0" % n)
        try:
            r, got, errs = eksegress_audit(build, url, REGIONS, 32, env_extra={"AWS_REGION": "us-east-1"})
            emit("scaling", {"clusters": n, "audited": got, "errors": errs, "status": r["status"],
                             "wall_s": r["wall_s"], "cpu_total_s": r.get("cpu_total_s"),
                             "maxrss_kb": r.get("maxrss_kb"), "stderr": r["stderr"][-300:]})
        finally:
            stop(sim)


def main(argv):
    if len(argv) != 2 or argv[0] not in ("calls", "audit", "startup", "scaling"):
        print(__doc__.strip().split("\n")[0], file=sys.stderr)
        return 64
    section, build = argv
    os.chdir(ROOT)
    globals()["section_" + section](build)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
