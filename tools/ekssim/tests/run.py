#!/usr/bin/env python3
"""Run every ekssim test and print TAP.

  python3 tools/ekssim/tests/run.py [substring ...]

Each test module registers tests with harness.T; servers are ekssim
subprocesses on 127.0.0.1 port 0.  The official-client check runs
tests/official_client.py under /usr/bin/python3 (Debian's botocore / awscli) and
is reported as one TAP line per operation group; it is skipped only when
botocore cannot be imported.  Exit status is 1 if any test fails.
"""

import importlib
import os
import sys
import time
import traceback

sys.dont_write_bytecode = True
os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import harness  # noqa: E402

MODULES = ["test_sigv4", "test_iampolicy", "test_server", "test_auth", "test_eks", "test_ec2", "test_explicit",
           "test_iam", "test_scp", "test_k8s", "test_identity", "test_faults", "test_admin", "test_fleet",
           "test_official"]


def main(argv):
    want = argv[1:]
    for m in MODULES:
        importlib.import_module(m)
    n = 0
    failed = 0
    t_start = time.time()
    try:
        for name, fn in harness.TESTS:
            if want and not any(w in name for w in want):
                continue
            t0 = time.time()
            try:
                res = fn()
                if res is None:
                    res = [(True, name, None)]
            except Exception as e:
                tb = traceback.format_exc().strip().splitlines()
                res = [(False, name, "%s: %s\n%s" % (type(e).__name__, e, "\n".join(tb[-6:])))]
            for item in res:
                okay, tname, diag = item
                n += 1
                if okay is None:     # skipped
                    print("ok %d # SKIP %s" % (n, diag or tname))
                elif okay:
                    print("ok %d - %s" % (n, tname))
                else:
                    failed += 1
                    print("not ok %d - %s" % (n, tname))
                    for line in str(diag).splitlines():
                        print("#   " + line)
            dt = time.time() - t0
            if dt > 3:
                print("# (%s took %.1f s)" % (name, dt))
            sys.stdout.flush()
    finally:
        harness.stop_all()
    print("1..%d" % n)
    print("# %d tests, %d failed, %.1f s" % (n, failed, time.time() - t_start))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
