#!/usr/bin/env python3
"""Benchmark: signed DescribeCluster requests per second over keep-alive connections.

  python3 tools/ekssim/bench.py [--url http://127.0.0.1:PORT] [--connections 64] [--seconds 5]
                                [--processes N] [--clusters 1000]

Without --url it starts its own simulator (a generated fleet) and stops it when
done.  Clients use http.client, one keep-alive connection per thread, threads
spread over several processes.  Each connection signs one request per cluster
name up front and re-signs every 60 s, so the server verifies a real signature
on every request while the client stays cheap.  Prints requests/s.
"""

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import threading
import time
import http.client

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "tests"))

import sigv4_client  # noqa: E402


def worker(port, names, conns, seconds, start_at, q):
    counts = [0] * conns
    errors = [0] * conns
    stop_at = start_at + seconds

    def run(i):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        host = "127.0.0.1:%d" % port
        signed_at = 0
        reqs = []
        n = 0
        while time.time() < start_at:
            time.sleep(0.001)
        while True:
            now = time.time()
            if now >= stop_at:
                break
            if now - signed_at > 60:
                reqs = []
                for name in names[i % len(names)::max(1, conns)][:16] or names[:16]:
                    path = "/clusters/" + name
                    h = sigv4_client.sign("GET", host, path, "", {}, b"", "us-east-1", "eks",
                                          sigv4_client.MAIN.akid, sigv4_client.MAIN.secret)
                    h["Host"] = host
                    reqs.append((path, h))
                signed_at = now
            path, h = reqs[n % len(reqs)]
            n += 1
            try:
                c.request("GET", path, headers=h)
                r = c.getresponse()
                r.read()
                if r.status == 200:
                    counts[i] += 1
                else:
                    errors[i] += 1
            except (OSError, http.client.HTTPException):
                errors[i] += 1
                c.close()
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        c.close()

    ts = [threading.Thread(target=run, args=(i,)) for i in range(conns)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    q.put((sum(counts), sum(errors)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url")
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--processes", type=int, default=0, help="client processes (default: 2 per CPU, max 8)")
    ap.add_argument("--clusters", type=int, default=1000)
    ap.add_argument("--json", action="store_true", help="print a JSON line instead of text")
    ap.add_argument("--min", type=float, default=0, help="exit 1 when requests/s is below this (e.g. 2000)")
    args = ap.parse_args()
    proc = None
    if args.url:
        port = int(args.url.rstrip("/").rsplit(":", 1)[1])
    else:
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
        proc = subprocess.Popen([sys.executable, os.path.join(HERE, "ekssim.py"), "--port", "0",
                                 "--generate", "clusters=%d,accounts=1,regions=1,seed=1" % args.clusters,
                                 "--time-scale", "0"], stdout=subprocess.PIPE, text=True, env=env)
        line = proc.stdout.readline()
        port = int(line.strip().rsplit(":", 1)[1])
    try:
        cl = sigv4_client.Client(port)
        names = []
        tok = None
        while True:
            r = cl.eks("GET", "/clusters", "maxResults=100" + ("&nextToken=" + tok if tok else ""))
            d = r.json()
            names.extend(d["clusters"])
            tok = d.get("nextToken")
            if not tok or len(names) >= 2048:
                break
        cl.close()
        if not names:
            print("bench: the simulator has no clusters in us-east-1 for AKIDEXAMPLE", file=sys.stderr)
            return 1
        nproc = args.processes or min(8, 2 * (os.cpu_count() or 1))
        nproc = max(1, min(nproc, args.connections))
        per = [args.connections // nproc + (1 if i < args.connections % nproc else 0) for i in range(nproc)]
        q = multiprocessing.Queue()
        start_at = time.time() + 1.0
        ps = [multiprocessing.Process(target=worker, args=(port, names, per[i], args.seconds, start_at, q))
              for i in range(nproc)]
        for p in ps:
            p.start()
        res = [q.get() for _ in ps]
        for p in ps:
            p.join()
        ok = sum(r[0] for r in res)
        err = sum(r[1] for r in res)
        rps = ok / args.seconds
        if args.json:
            print(json.dumps({"bench": "ekssim-describe-cluster", "connections": args.connections,
                              "processes": nproc, "seconds": args.seconds, "requests": ok, "errors": err,
                              "requests_per_second": round(rps, 1)}))
        else:
            print("ekssim bench: %d signed DescribeCluster in %.1f s over %d keep-alive connections "
                  "(%d client processes): %.0f requests/s, %d errors" % (ok, args.seconds, args.connections,
                                                                         nproc, rps, err))
        if args.min and rps < args.min:
            print("ekssim bench: below the %.0f requests/s target" % args.min, file=sys.stderr)
            return 1
        return 0 if err == 0 else 1
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait()


if __name__ == "__main__":
    sys.exit(main())
