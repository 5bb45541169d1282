"""Test harness: test registry, simulator subprocesses, small helpers."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
EKSSIM = os.path.join(ROOT, "ekssim.py")
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)

TESTS = []


def T(name):
    """Register a test.  A test returns None (one TAP line) or a list of
    (ok, name, diagnostic) tuples (several TAP lines)."""
    def deco(fn):
        TESTS.append((name, fn))
        return fn
    return deco


class Server(object):
    """An ekssim subprocess on 127.0.0.1:<free port>."""

    def __init__(self, *args, python=None):
        self.args = list(args)
        cmd = [python or sys.executable, EKSSIM, "--port", "0"] + self.args
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.line = self.proc.stdout.readline().rstrip("\n")
        if not self.line.startswith("ekssim listening on http://127.0.0.1:"):
            err = self.proc.stderr.read()
            raise RuntimeError("simulator did not start: %r %s" % (self.line, err))
        self.port = int(self.line.rsplit(":", 1)[1])
        self.url = "http://127.0.0.1:%d" % self.port

    def admin(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read().decode())

    def reset(self):
        return self.admin("POST", "/_sim/reset", {})

    def faults(self, **kw):
        return self.admin("POST", "/_sim/faults", kw)

    def stop(self, sig=signal.SIGTERM, wait=60):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(wait)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()
        return self.proc.returncode


_shared = {}


def shared(key="default", *args):
    """A server shared by tests (started once, stopped at the end)."""
    s = _shared.get(key)
    if s is None:
        s = _shared[key] = Server(*args)
    return s


def stop_all():
    for s in list(_shared.values()):
        s.stop()
    _shared.clear()


def fleet_file(spec):
    """Write a fleet spec to a fresh temporary file; its path."""
    import tempfile
    d = tempfile.mkdtemp(prefix="ekssim-fleet-")
    p = os.path.join(d, "fleet.json")
    with open(p, "w") as f:
        json.dump(spec, f)
    return p


def eq(got, want, what=""):
    if got != want:
        raise AssertionError("%s: got %r, want %r" % (what or "value", got, want))


def ok(cond, what):
    if not cond:
        raise AssertionError(what)


def wait_until(fn, timeout=60.0, step=0.05):
    """Poll fn until it is true; the deadline is a hang guard for a loaded machine, not a speed test."""
    end = time.time() + timeout
    while time.time() < end:
        v = fn()
        if v:
            return v
        time.sleep(step)
    raise AssertionError("condition not met within %.1f s" % timeout)


def cpu_seconds(pid=None):
    """CPU time (user + system) used so far by process pid, or by the children this
    process has reaped (pid None).  Speed budgets are checked in CPU time, not wall
    time: other work on a shared machine delays a process but does not add to this."""
    if pid is None:
        import resource
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        return ru.ru_utime + ru.ru_stime
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / float(os.sysconf("SC_CLK_TCK"))


def strip_ns(tag):
    return tag.split("}", 1)[1] if "}" in tag else tag


def xml_to_obj(text):
    """EC2/STS XML -> nested dict; elements whose children are all <item>/<member> become lists."""
    root = ET.fromstring(text)

    def conv(e):
        kids = list(e)
        if not kids:
            return e.text or ""
        names = [strip_ns(k.tag) for k in kids]
        if all(n in ("item", "member") for n in names):
            return [conv(k) for k in kids]
        out = {}
        for k, n in zip(kids, names):
            out[n] = conv(k)
        return out
    return strip_ns(root.tag), conv(root)


def ec2_list(reply, list_el):
    eq(reply.status, 200, "status (%s)" % reply.text[:300])
    _, obj = xml_to_obj(reply.text)
    v = obj.get(list_el, [])
    return v if isinstance(v, list) else []
