"""bench/audit_boto3.py ENDPOINT PROFILES REGIONS CONCURRENCY: what `eksegress
audit --profile ... --regions ...` does, written with boto3 the way a user
would script it: per profile, STS GetCallerIdentity; per profile and region,
every ListClusters page; then DescribeCluster for every cluster on a thread
pool of CONCURRENCY (each client's connection pool raised to match). Prints
one JSON line: clusters described, errors, and a count per egress mode.

Debian's botocore (1.29) predates AWS_ENDPOINT_URL, so the endpoint (the
simulator) is passed as endpoint_url."""
import json
import sys
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config


def main():
    endpoint, profiles, regions, conc = sys.argv[1], sys.argv[2].split(","), sys.argv[3].split(","), int(sys.argv[4])
    cfg = Config(max_pool_connections=conc)
    work = []
    for profile in profiles:
        session = boto3.Session(profile_name=profile)
        session.client("sts", region_name=regions[0], endpoint_url=endpoint, config=cfg).get_caller_identity()
        for region in regions:
            eks = session.client("eks", region_name=region, endpoint_url=endpoint, config=cfg)
            for page in eks.get_paginator("list_clusters").paginate():
                work += [(eks, name) for name in page["clusters"]]

    def describe(item):
        eks, name = item
        try:
            c = eks.describe_cluster(name=name)["cluster"]
            return c["resourcesVpcConfig"].get("controlPlaneEgressMode", "AWS_MANAGED")
        except Exception as e:  # noqa: BLE001 -- counted, the audit goes on
            return "error: %s" % e

    modes = {}
    with ThreadPoolExecutor(max_workers=conc) as pool:
        for mode in pool.map(describe, work):
            modes[mode] = modes.get(mode, 0) + 1
    errors = sum(v for k, v in modes.items() if k.startswith("error"))
    print(json.dumps({"clusters": len(work) - errors, "errors": errors, "modes": modes}))


main()
