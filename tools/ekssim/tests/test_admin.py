"""Admin endpoints and persistence across processes."""

import json
import os
import tempfile

from harness import T, Server, eq, ok, shared, xml_to_obj
from sigv4_client import Client, Creds


@T("admin: /_sim/health and /_sim/state (status, mode, updates, ground truth per cluster)")
def t_state():
    s = shared("admin", "--time-scale", "0")
    h = s.admin("GET", "/_sim/health")
    eq((h["ok"], h["clusters"]), (True, 22), "health")
    st = s.admin("GET", "/_sim/state")
    names = [(c["account"], c["region"], c["name"]) for c in st["clusters"]]
    eq(len(names), 22, "all clusters")
    one = s.admin("GET", "/_sim/state?name=legacy-batch")["clusters"]
    eq(len(one), 1, "filter by name")
    c = one[0]
    for k in ("status", "mode", "updates", "expect_fail", "vpc_id", "subnet_ids", "defects"):
        ok(k in c, "missing " + k)
    eq((c["status"], c["mode"], c["expect_fail"]), ("ACTIVE", "AWS_MANAGED", ["route_default"]), "legacy-batch")
    eq(len(s.admin("GET", "/_sim/state?account=444455556666")["clusters"]), 12, "filter by account")


@T("admin: /_sim/log records every request and per-cluster accepted vs refused mutating calls")
def t_log():
    s = shared("admin", "--time-scale", "0")
    s.reset()
    c = Client(s.port)
    c.eks("GET", "/clusters/prod-api")
    c.eks("POST", "/clusters/prod-routed/update-config",
          body={"resourcesVpcConfig": {"controlPlaneEgressMode": "AWS_MANAGED"}})
    c.eks("POST", "/clusters/prod-api/update-config",
          body={"resourcesVpcConfig": {"controlPlaneEgressMode": "CUSTOMER_ROUTED"}, "clientRequestToken": "t1"})
    c.ec2("DescribeVpcs")
    log = s.admin("GET", "/_sim/log")
    req = [e for e in log["requests"] if e["operation"] == "DescribeCluster"][-1]
    for k in ("time", "account", "region", "service", "operation", "cluster", "status", "error"):
        ok(k in req, "missing " + k)
    eq((req["account"], req["region"], req["service"], req["cluster"], req["status"]),
       ("111122223333", "us-east-1", "eks", "prod-api", 200), "request entry")
    bad = [e for e in log["requests"] if e["cluster"] == "prod-routed"][-1]
    eq((bad["status"], bad["error"]), (400, "InvalidParameterException"), "refused entry")
    per = log["clusters"]
    eq((per["111122223333/us-east-1/prod-routed"]["accepted"], per["111122223333/us-east-1/prod-routed"]["refused"]),
       (0, 1), "refused revert")
    pa = per["111122223333/us-east-1/prod-api"]
    eq((pa["accepted"], pa["refused"], len(pa["update_ids"])), (1, 0, 1), "accepted update")
    call = pa["calls"][0]
    eq((call["operation"], call["update_type"], call["mode"], call["client_request_token"]),
       ("UpdateClusterConfig", "ControlPlaneEgressUpdate", "CUSTOMER_ROUTED", "t1"), "call record")
    since = log["last_seq"]
    c.ec2("DescribeSubnets")
    eq([e["operation"] for e in s.admin("GET", "/_sim/log?since=%d" % since)["requests"]], ["DescribeSubnets"],
       "since")


@T("admin: /_sim/reset restores the fleet; /_sim/advance moves the state clock")
def t_reset_advance():
    s = Server("--time-scale", "1")
    try:
        c = Client(s.port)
        r = c.eks("POST", "/clusters/prod-api/update-config",
                  body={"resourcesVpcConfig": {"controlPlaneEgressMode": "CUSTOMER_ROUTED"}})
        uid = r.json()["update"]["id"]
        eq(r.json()["update"]["status"], "InProgress", "real-time update in progress")
        s.admin("POST", "/_sim/advance", {"seconds": 300})
        eq(c.eks("GET", "/clusters/prod-api/updates/" + uid).json()["update"]["status"], "InProgress", "after 300 s")
        s.admin("POST", "/_sim/advance", {"seconds": 130})
        eq(c.eks("GET", "/clusters/prod-api/updates/" + uid).json()["update"]["status"], "Successful", "after 430 s")
        eq(c.eks("GET", "/clusters/prod-api").json()["cluster"]["resourcesVpcConfig"]["controlPlaneEgressMode"],
           "CUSTOMER_ROUTED", "applied")
        s.reset()
        eq(c.eks("GET", "/clusters/prod-api").json()["cluster"]["resourcesVpcConfig"]["controlPlaneEgressMode"],
           "AWS_MANAGED", "reset")
        eq(c.eks("GET", "/clusters/prod-api/updates").json()["updateIds"], [], "updates gone")
        eq(s.admin("GET", "/_sim/log")["mutations"], [], "log cleared")
        eq(s.admin("GET", "/_sim/state?name=prod-api")["clusters"][0]["status"], "ACTIVE", "state")
    finally:
        s.stop()


@T("admin: --state persists clusters, updates, the mutation log and sessions across processes (atomic file)")
def t_persist():
    d = tempfile.mkdtemp(prefix="ekssim-state-")
    path = os.path.join(d, "state.json")
    s = Server("--time-scale", "0", "--state", path)
    try:
        ok(os.path.exists(path), "state written at start")
        c = Client(s.port)
        r = c.eks("POST", "/clusters/prod-api/update-config",
                  body={"resourcesVpcConfig": {"controlPlaneEgressMode": "CUSTOMER_ROUTED"}, "clientRequestToken": "p1"})
        uid = r.json()["update"]["id"]
        subs = c.eks("GET", "/clusters/prod-api").json()["cluster"]["resourcesVpcConfig"]["subnetIds"]
        eq(c.eks("POST", "/clusters", body={"name": "made-here", "roleArn": "arn:aws:iam::111122223333:role/r",
                                            "resourcesVpcConfig": {"subnetIds": subs[:2]}}).status, 200, "create")
        eq(c.eks("DELETE", "/clusters/legacy-batch").status, 200, "delete")
        _, obj = xml_to_obj(c.sts("AssumeRole", {"RoleArn": "arn:aws:iam::444455556666:role/EksAuditRole",
                                                 "RoleSessionName": "persist"}).text)
        cr = obj["AssumeRoleResult"]["Credentials"]
        json.load(open(path))
        eq([f for f in os.listdir(d) if f != "state.json"], [], "no temporary files left")
    finally:
        eq(s.stop(), 0, "clean exit")
    s2 = Server("--state", path)
    try:
        c = Client(s2.port)
        d2 = c.eks("GET", "/clusters/prod-api").json()["cluster"]
        eq(d2["resourcesVpcConfig"]["controlPlaneEgressMode"], "CUSTOMER_ROUTED", "mode survived")
        eq(c.eks("GET", "/clusters/prod-api/updates").json()["updateIds"], [uid], "update survived")
        r = c.eks("POST", "/clusters/prod-api/update-config", body={
            "resourcesVpcConfig": {"controlPlaneEgressMode": "CUSTOMER_ROUTED"}, "clientRequestToken": "p1"})
        eq(r.json()["update"]["id"], uid, "token replay across processes")
        names = c.eks("GET", "/clusters").json()["clusters"]
        ok("made-here" in names and "legacy-batch" not in names, "create and delete survived: %r" % names)
        ok(c.ec2("DescribeNetworkInterfaces", {"Filter.1.Name": "description",
                                               "Filter.1.Value.1": "Amazon EKS made-here"}).text.count(
            "<networkInterfaceId>") == 2, "ENIs of the created cluster rebuilt")
        tmp = Creds(cr["AccessKeyId"], cr["SecretAccessKey"], cr["SessionToken"])
        eq(Client(s2.port, tmp).eks("GET", "/clusters").status, 200, "session usable in the new process")
        muts = s2.admin("GET", "/_sim/log")["mutations"]
        eq([m["operation"] for m in muts], ["UpdateClusterConfig", "CreateCluster", "DeleteCluster",
                                             "UpdateClusterConfig"], "mutation log survived")
        ok(s2.admin("GET", "/_sim/health")["time_scale"] == 1.0, "time scale comes from the command line")
    finally:
        s2.stop()


def _overlapping_calls(s, n, path="/clusters"):
    """n callers, each with its own connection, send one request at once."""
    import threading
    gate = threading.Barrier(n)
    errors = []

    def call():
        c = Client(s.port)
        gate.wait()
        try:
            eq(c.eks("GET", path).status, 200, "answer")
        except Exception as e:  # reported by the test thread
            errors.append(e)
    threads = [threading.Thread(target=call) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    eq(errors, [], "every caller answered")


@T("admin: /_sim/stats counts requests in flight at once (a concurrency witness without a clock)")
def t_stats():
    s = Server("--time-scale", "0")
    try:
        first = s.admin("GET", "/_sim/stats")
        eq((first["in_flight"], first["in_flight_max"]), (1, 1), "the stats request counts itself")
        Client(s.port).eks("GET", "/clusters")          # one at a time: the maximum stays 1
        # Serial: the count drops before the answer's last bytes go out, so a caller that has
        # its answer never finds it still counted (regression: CI saw 2 here on a loaded machine).
        eq(s.admin("GET", "/_sim/stats")["in_flight_max"], 1, "serial requests")
        reset = s.admin("POST", "/_sim/stats/reset", {})
        eq((reset["in_flight_max"], reset["requests"]), (1, 0), "reset")
        # Eight callers overlap. The answers are held until eight are in flight, not for a
        # latency window (regression: a window a loaded machine could miss made this flaky).
        reset = s.admin("POST", "/_sim/stats/reset", {"hold_until_in_flight": 8})
        eq(reset["hold"], {"until_in_flight": 8, "timed_out": False}, "hold armed")
        _overlapping_calls(s, 8)
        st = s.admin("GET", "/_sim/stats")
        eq(st["in_flight"], 1, "nothing left in flight but this request")
        eq(st["in_flight_max"], 8, "eight requests in flight at once: %r" % st)
        eq(st["requests"], 8 + 1, "eight calls and this request since the reset")
        eq(st["hold"]["timed_out"], False, "released by the eighth caller, not by the deadline")
    finally:
        s.stop()


@T("admin: a stats hold lets callers that never overlap go once, after hold_seconds; admin and "
   "out-of-scope answers are never held; bad hold options are refused")
def t_stats_hold():
    import urllib.error
    s = Server("--time-scale", "0")
    try:
        c = Client(s.port)
        s.admin("POST", "/_sim/stats/reset", {"hold_until_in_flight": 2, "hold_seconds": 0.5})
        eq(s.admin("GET", "/_sim/stats")["hold"]["timed_out"], False, "admin answers are not held")
        eq(c.eks("GET", "/clusters").status, 200, "a lone caller is answered after the hold's deadline")
        st = s.admin("GET", "/_sim/stats")
        eq((st["in_flight_max"], st["hold"]), (1, {"until_in_flight": 0, "timed_out": True}),
           "the hold gave up and stays open until the next reset: %r" % st)
        # Scoped: ListClusters is held for up to 10 minutes; DescribeCluster is answered
        # (held, it would outlast the client's 20 s timeout).
        s.admin("POST", "/_sim/stats/reset", {"hold_until_in_flight": 2, "hold_ops": ["eks:ListClusters"],
                                              "hold_seconds": 600})
        eq(c.eks("GET", "/clusters/prod-api").status, 200, "out of scope: not held")
        _overlapping_calls(s, 2)
        st = s.admin("GET", "/_sim/stats")
        eq((st["in_flight_max"], st["hold"]["timed_out"]), (2, False), "two ListClusters released each other")
        for bad in ({"hold_until_in_flight": -1}, {"hold_until_in_flight": True}, {"hold_seconds": 0},
                    {"hold_seconds": 601}, {"hold_ops": 3}, {"hold": 2}, [1]):
            try:
                s.admin("POST", "/_sim/stats/reset", bad)
                raise AssertionError("accepted %r" % (bad,))
            except urllib.error.HTTPError as e:
                eq(e.code, 400, "status for %r" % (bad,))
    finally:
        s.stop()
