"""bench/calls_boto3.py N CONCURRENCY: N DescribeCluster calls with boto3 and a
thread pool of CONCURRENCY, the way a boto3 user writes it: one client from
the environment, its connection pool raised to the concurrency (botocore's
default of 10 would cap it). Debian's botocore (1.29) predates
AWS_ENDPOINT_URL, so the endpoint is passed as endpoint_url. Prints one JSON line like calls_eksegress.lua:
wall_s and cpu_s (user+sys of this process) of the call phase alone."""
import json
import resource
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import os

import boto3
from botocore.config import Config


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    conc = int(sys.argv[2]) if len(sys.argv) > 2 else 32
    names = ["cl-%05d" % (i + 1) for i in range(n)]
    eks = boto3.client("eks", endpoint_url=os.environ["AWS_ENDPOINT_URL"],
                       config=Config(max_pool_connections=conc))

    def describe(name):
        try:
            return eks.describe_cluster(name=name)["cluster"]["name"] == name
        except Exception as e:  # noqa: BLE001 -- counted, the run goes on
            return str(e)

    t0, c0 = time.monotonic(), cpu()
    with ThreadPoolExecutor(max_workers=conc) as pool:
        out = list(pool.map(describe, names))
    t1, c1 = time.monotonic(), cpu()
    bad = [o for o in out if o is not True]
    doc = {"calls": n, "errors": len(bad), "wall_s": t1 - t0, "cpu_s": c1 - c0}
    if bad:
        doc["first_error"] = str(bad[0])
    print(json.dumps(doc))


main()
