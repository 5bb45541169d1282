#!/usr/bin/env python3
"""peakrss.py OUT -- COMMAND [ARG ...]

Run COMMAND (stdin, stdout and stderr inherited), then write its peak resident
set size in KiB to OUT: the kernel's ru_maxrss of the waited-for child, which
is the child's VmHWM at exit. Exits with the child's status (128 + N when
signal N ended it), so callers see the command's own exit code.

The chaos specs use it to bound the CLI's memory without polling /proc or
depending on GNU time being installed; Python's standard library only.
"""
import os
import resource
import subprocess
import sys


def main(argv):
    if len(argv) < 4 or argv[2] != "--":
        sys.stderr.write("usage: peakrss.py OUT -- COMMAND [ARG ...]\n")
        return 64
    out, cmd = argv[1], argv[3:]
    rc = subprocess.call(cmd)
    kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss   # KiB on Linux
    tmp = "%s.tmp.%d" % (out, os.getpid())
    with open(tmp, "w") as f:
        f.write("%d\n" % kib)
    os.replace(tmp, out)
    return 128 - rc if rc < 0 else rc


if __name__ == "__main__":
    sys.exit(main(sys.argv))
