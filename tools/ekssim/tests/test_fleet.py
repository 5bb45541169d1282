"""Fleets: sample fleet, validation, the generator, ground truth, 10,000 clusters."""

import json
import os
import subprocess
import sys
import tempfile

import refcheck
from harness import EKSSIM, T, Server, cpu_seconds, eq, ok, shared
from sigv4_client import Client, Creds
from sim import fleet as fleetmod
from sim import generator


def _run(*args):
    p = subprocess.run([sys.executable, EKSSIM] + list(args), capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


def _keys(fl):
    out = {}
    for a in fl["accounts"]:
        if a.get("users"):
            u = a["users"][0]
            out[a["id"]] = Creds(u["access_key_id"], u["secret_access_key"])
    return out


def _agree(s, limit=None):
    fl = s.admin("GET", "/_sim/fleet")
    keys = _keys(fl)
    bad = []
    clusters = s.admin("GET", "/_sim/state")["clusters"]
    for c in clusters[:limit]:
        got = refcheck.check(Client(s.port, keys[c["account"]], c["region"]), c["name"])
        if got != c["expect_fail"]:
            bad.append("%s/%s/%s: preflight %r, ground truth %r" % (c["account"], c["region"], c["name"], got,
                                                                  c["expect_fail"]))
    return clusters, bad


@T("fleet: sample.json is the default fleet and validates; ground truth agrees with a wire-level preflight")
def t_sample():
    spec = fleetmod.load()
    fleetmod.validate(spec)
    eq(spec["accounts"][0]["users"][0]["access_key_id"], "AKIDEXAMPLE", "documented key")
    regions = set(c["region"] for a in spec["accounts"] for c in a.get("clusters", []))
    ok({"us-east-1", "us-west-2", "eu-west-1"} <= regions, "three regions")
    s = shared("default", "--time-scale", "0")
    clusters, bad = _agree(s)
    eq(bad, [], "ground truth")
    ok(any(c["expect_fail"] for c in clusters) and any(not c["expect_fail"] for c in clusters),
       "healthy and defective clusters")


@T("fleet: invalid fleets and SPECs are refused with a clear message and exit code 64")
def t_invalid():
    d = tempfile.mkdtemp(prefix="ekssim-fleet-")
    cases = [
        ({"accounts": []}, "non-empty"),
        ({"accounts": [{"id": "123"}]}, "12-digit"),
        ({"accounts": [{"id": "111122223333", "networks": [{"name": "n", "region": "us-east-1",
                                                           "defects": ["nope"]}]}]}, "unknown defect"),
        ({"accounts": [{"id": "111122223333", "networks": [{"name": "n", "region": "us-east-1"}],
                        "clusters": [{"name": "c", "region": "us-east-1", "network": "m"}]}]}, "not declared"),
        ({"accounts": [{"id": "111122223333", "networks": [{"name": "n", "region": "us-east-1",
                                                           "defects": ["no_default_route", "blackhole_route"]}]}]},
         "at most one"),
        ({"accounts": [{"id": "111122223333", "state": "GONE"}]}, "state must be one of"),
        ({"organization": {"management_account": "111122223333", "account_status": "Status"},
          "accounts": [{"id": "111122223333"}]}, "account_status must be one of"),
        ({"accounts": [{"id": "111122223333", "networks": [{"name": "n", "region": "us-east-1",
                                                           "egress": "gateway"}]}]}, "egress must be one of"),
        ({"accounts": [{"id": "111122223333", "networks": [{"name": "n", "region": "us-east-1",
                                                           "defects": ["nat_instance_stopped"]}]}]},
         "nat_instance_stopped needs egress instance"),
        ({"accounts": [{"id": "111122223333", "networks": [{"name": "n", "region": "us-east-1", "egress": "instance",
                                                           "defects": ["igw_only_route", "nat_instance_stopped"]}]}]},
         "at most one"),
        ({"accounts": [{"id": "111122223333", "networks": [{"name": "n", "region": "us-east-1"}],
                        "clusters": [{"name": "c", "region": "us-east-1", "network": "n", "busy_seconds": -1}]}]},
         "busy_seconds must be"),
        ({"accounts": [{"id": "111122223333", "networks": [{"name": "n", "region": "us-east-1"}],
                        "clusters": [{"name": "c", "region": "us-east-1", "network": "n", "defects": ["role_no_describe"],
                                      "role_arn": "arn:aws:iam::111122223333:role/x"}]}]}, "drop role_arn"),
        ({"accounts": [{"id": "111122223333", "networks": [{"name": "n", "region": "us-east-1"}],
                        "clusters": [{"name": "c", "region": "us-east-1", "network": "n",
                                      "webhooks": [{"kind": "ValidatingWebhookConfiguration",
                                                    "metadata": {"name": "w"},
                                                    "webhooks": [{"name": "a.b.c", "clientConfig": {}}]}]}]}]},
         "clientConfig needs exactly one of url, service"),
        ({"accounts": [{"id": "111122223333", "networks": [{"name": "n", "region": "us-east-1"}],
                        "clusters": [{"name": "c", "region": "us-east-1", "network": "n",
                                      "apiservices": [{"metadata": {"name": "x"}, "spec": {"group": "g",
                                                                                          "version": "v1"}}]}]}]},
         "metadata.name must be <version>.<group>"),
        ({"accounts": [{"id": "111122223333", "networks": [{"name": "n", "region": "us-east-1"}],
                        "clusters": [{"name": "c", "region": "us-east-1", "network": "n", "k8s_deny": "arn"}]}]},
         "k8s_deny must be a list"),
        ({"accounts": [{"id": "111122223333", "roles": [{"name": "r", "policies": ["NoSuchAwsPolicy"]}]}]},
         "is not an AWS managed policy the simulator knows"),
        ({"accounts": [{"id": "111122223333", "roles": [{"name": "r", "inline_policies": {
            "p": {"Statement": [{"Effect": "Allow", "Action": "*", "Condition": {"IpAddress": {"a": "b"}}}]}}}]}]},
         "not supported by the simulator"),
    ]
    for i, (spec, frag) in enumerate(cases):
        p = os.path.join(d, "f%d.json" % i)
        with open(p, "w") as f:
            json.dump(spec, f)
        rc, out, err = _run("--fleet", p)
        eq(rc, 64, "exit code for %s" % frag)
        ok(frag in err, "message %r should contain %r" % (err, frag))
    rc, out, err = _run("--generate", "clusters=10,bogus=1")
    ok(rc == 64 and "bogus" in err, "bad spec: " + err)
    rc, out, err = _run("--generate", "kinds=not_a_kind")
    ok(rc == 64 and "not_a_kind" in err, "bad kind: " + err)


@T("fleet: GET /_sim/checks lists the check ids of the ground truth; every defect maps to one of them")
def t_checks():
    s = shared("default", "--time-scale", "0")
    eq(s.admin("GET", "/_sim/checks")["checks"], fleetmod.CHECK_IDS, "checks")
    eq(len(set(fleetmod.CHECK_IDS)), 21, "21 distinct ids")
    for d, cid in fleetmod.NETWORK_DEFECTS.items():
        ok(cid in fleetmod.CHECK_IDS, d)
    for d, cids in fleetmod.CLUSTER_DEFECTS.items():
        ok(set(cids) <= set(fleetmod.CHECK_IDS), d)
    every = set(fleetmod.NETWORK_DEFECTS.values()) | set(c for v in fleetmod.CLUSTER_DEFECTS.values() for c in v)
    eq(sorted(every), sorted(fleetmod.CHECK_IDS), "every check id has a defect kind that fails it")


@T("generator: same SPEC gives the same fleet; every defect kind appears; SPEC syntax")
def t_generator():
    a = generator.generate("clusters=200,accounts=3,regions=us-east-1+eu-west-1,seed=4,defects=0.5")
    b = generator.generate("clusters=200,accounts=3,regions=us-east-1+eu-west-1,seed=4,defects=0.5")
    eq(json.dumps(a, sort_keys=True), json.dumps(b, sort_keys=True), "deterministic")
    fleetmod.validate(a)
    eq([x["id"] for x in a["accounts"]][:2], ["111122223333", "444455556666"], "account ids")
    eq(set(c["region"] for x in a["accounts"] for c in x["clusters"]), {"us-east-1", "eu-west-1"}, "regions")
    kinds = set()
    for acct in a["accounts"]:
        nets = dict((n["name"], n) for n in acct["networks"])
        for c in acct["clusters"]:
            kinds.update(c.get("defects", []))
            kinds.update(nets[c["network"]]["defects"])
            ok("expect_fail" in c, "ground truth recorded")
    eq(sorted(kinds), sorted(generator.DEFECT_KINDS), "every defect kind present")
    n = sum(len(x["clusters"]) for x in a["accounts"])
    eq(n, 200, "cluster count")
    defective = sum(1 for x in a["accounts"] for c in x["clusters"] if c["expect_fail"])
    ok(70 < defective < 130, "about half defective: %d" % defective)
    modes = [c.get("mode") for x in a["accounts"] for c in x["clusters"]]
    ok("CUSTOMER_ROUTED" in modes, "some already routed")
    c = generator.generate("clusters=30,kinds=sg_no_443+single_az,defects=1,seed=2")
    got = set(k for x in c["accounts"] for cl in x["clusters"] for k in cl["expect_fail"])
    eq(got, {"sg_egress_443", "subnets_multi_az"}, "kinds restriction")


@T("generator: ground truth agrees with a wire-level preflight on a defect-heavy generated fleet")
def t_ground_truth():
    s = Server("--time-scale", "0", "--generate",
               "clusters=120,accounts=3,regions=3,seed=21,defects=0.85,multi=0.4,ipv6=0.2")
    try:
        clusters, bad = _agree(s)
        eq(bad, [], "mismatches")
        eq(len(clusters), 120, "clusters")
        checks = set(x for c in clusters for x in c["expect_fail"])
        eq(sorted(checks), sorted(fleetmod.CHECK_IDS), "every check id fails somewhere")
    finally:
        s.stop()


@T("generator: shared VPCs (share=4) keep ground truth consistent")
def t_shared():
    s = Server("--time-scale", "0", "--generate", "clusters=48,accounts=2,regions=2,seed=8,defects=0.6,share=4")
    try:
        clusters, bad = _agree(s)
        eq(bad, [], "mismatches")
    finally:
        s.stop()


@T("generator: 10,000 clusters: --dump-fleet is quick, the server starts quickly and serves pages fast")
def t_big():
    # Budgets in CPU seconds of the simulator process (regression: wall-clock budgets failed when
    # other work shared the machine: "start took 10.4 s" on a loaded 2-core machine).
    d = tempfile.mkdtemp(prefix="ekssim-big-")
    path = os.path.join(d, "fleet.json")
    spec = "clusters=10000,accounts=2,regions=4,seed=7,defects=0.3"
    t0 = cpu_seconds()
    rc, out, err = _run("--generate", spec, "--dump-fleet", path)
    t_dump = cpu_seconds() - t0
    eq(rc, 0, "dump exit code: " + err)
    fl = json.load(open(path))
    eq(sum(len(a["clusters"]) for a in fl["accounts"]), 10000, "clusters dumped")
    ok(all("expect_fail" in c for a in fl["accounts"] for c in a["clusters"]), "ground truth in the dump")
    ok(t_dump < 10, "dump took %.1f CPU s" % t_dump)
    s = Server("--time-scale", "0", "--fleet", path)
    try:
        t_start = cpu_seconds(s.proc.pid)
        ok(t_start < 10, "start took %.1f CPU s" % t_start)
        c = Client(s.port)
        t0 = cpu_seconds(s.proc.pid)
        names = []
        tok = None
        while True:
            dd = c.eks("GET", "/clusters", "maxResults=100" + ("&nextToken=" + tok if tok else "")).json()
            names += dd["clusters"]
            tok = dd.get("nextToken")
            if not tok:
                break
        t_list = cpu_seconds(s.proc.pid) - t0
        eq(len(names), 1250, "10000 / (2 accounts x 4 regions)")
        ok(t_list < 3, "13 pages took %.2f CPU s" % t_list)
        t0 = cpu_seconds(s.proc.pid)
        for n in names[:200]:
            eq(c.eks("GET", "/clusters/" + n).status, 200, "describe")
        t_desc = cpu_seconds(s.proc.pid) - t0
        ok(t_desc < 5, "200 DescribeCluster took %.2f CPU s" % t_desc)
        t0 = cpu_seconds(s.proc.pid)
        got = refcheck.check(c, names[0])
        want = s.admin("GET", "/_sim/state?account=111122223333&region=us-east-1&name=" + names[0])["clusters"]
        eq(got, want[0]["expect_fail"], "ground truth on the big fleet")
        t_ec2 = cpu_seconds(s.proc.pid) - t0
        ok(t_ec2 < 5, "first EC2 use (region expansion) + checks took %.2f CPU s" % t_ec2)
    finally:
        s.stop()
