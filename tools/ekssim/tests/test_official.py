"""Runs tests/official_client.py with /usr/bin/python3 (Debian's botocore, awscli)."""

import os
import subprocess
import sys

from harness import HERE, T, Server

OFFICIAL_PY = "/usr/bin/python3"


def _python():
    for py in (OFFICIAL_PY, sys.executable):
        if os.path.exists(py):
            p = subprocess.run([py, "-c", "import botocore"], capture_output=True)
            if p.returncode == 0:
                return py
    return None


@T("official client (botocore / awscli)")
def t_official():
    py = _python()
    if py is None:
        return [(None, "official client", "botocore is not importable by %s or %s" % (OFFICIAL_PY, sys.executable))]
    s = Server("--time-scale", "0")
    x = Server("--time-scale", "0", "--fleet", os.path.join(os.path.dirname(HERE), "fleets", "explicit.json"))
    try:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([HERE, os.path.dirname(HERE)]))
        p = subprocess.run([py, os.path.join(HERE, "official_client.py"), s.url, x.url], capture_output=True,
                           text=True, timeout=240, env=env)
    finally:
        s.stop()
        x.stop()
    out = []
    cur = None
    for line in p.stdout.splitlines():
        if line.startswith("ok - "):
            cur = [True, "official: " + line[5:], None]
            out.append(cur)
        elif line.startswith("not ok - "):
            cur = [False, "official: " + line[9:], ""]
            out.append(cur)
        elif line.startswith("# ") and cur is not None and cur[0] is False:
            cur[2] += line[2:] + "\n"
        elif line.startswith("skip - "):
            out.append([None, "official client", line[7:]])
    if p.returncode != 0 or not out:
        out.append([False, "official client script exit status", "rc=%d\n%s" % (p.returncode, p.stderr[-2000:])])
    return [tuple(x) for x in out]
