"""Fault injection: throttling and 5xx per protocol, latency, drops, stalls, truncation, skew, seeds."""

import email.utils
import http.client
import time

from harness import T, Server, eq, ok, shared
from sigv4_client import Client, MAIN, sign


def _s(**faults):
    s = shared("faults", "--time-scale", "0")
    faults["reset"] = True
    s.faults(**faults)
    return s


def _code(r):
    return r.error_type() or r.xml_code() or (r.json().get("__type") if r.body.startswith(b"{") else None)


@T("faults: --throttle-rate scoped to operations from the command line; other operations unaffected")
def t_cli_scope():
    s = Server("--time-scale", "0", "--throttle-rate", "1", "--fault-ops", "DescribeCluster,ec2:DescribeVpcs",
               "--seed", "3")
    try:
        c = Client(s.port)
        r = c.eks("GET", "/clusters/prod-api")
        eq((r.status, r.error_type()), (429, "ThrottlingException"), "EKS throttled")
        eq(r.json()["message"], "Rate exceeded", "message")
        eq(c.eks("GET", "/clusters").status, 200, "ListClusters not in scope")
        r = c.ec2("DescribeVpcs")
        eq((r.status, r.xml_code()), (503, "RequestLimitExceeded"), "EC2 throttled")
        eq(c.ec2("DescribeSubnets").status, 200, "DescribeSubnets not in scope")
        f = s.admin("GET", "/_sim/faults")
        eq((f["throttle_rate"], f["ops"]), (1.0, ["DescribeCluster", "ec2:DescribeVpcs"]), "settings")
    finally:
        s.stop()


@T("faults: throttling codes per protocol (EKS 429, EC2 503 RequestLimitExceeded, STS Throttling, Orgs)")
def t_throttle_protocols():
    s = _s(throttle_rate=1.0)
    c = Client(s.port)
    eq((lambda r: (r.status, _code(r)))(c.eks("GET", "/clusters")), (429, "ThrottlingException"), "eks")
    eq((lambda r: (r.status, _code(r)))(c.ec2("DescribeVpcs")), (503, "RequestLimitExceeded"), "ec2")
    r = c.sts("GetCallerIdentity")
    eq((r.status, r.xml_code()), (400, "Throttling"), "sts")
    ok("<Type>Sender</Type>" in r.text, "sender fault")
    eq((lambda r: (r.status, _code(r)))(c.orgs("ListAccounts")), (400, "TooManyRequestsException"), "orgs")
    eq(c.raw("GET", "/_sim/health").status, 200, "admin never faulted")


@T("faults: --error-rate gives 500/503 in each protocol's shape")
def t_errors():
    s = _s(error_rate=1.0)
    c = Client(s.port)
    seen = set()
    for _ in range(20):
        r = c.eks("GET", "/clusters")
        seen.add((r.status, r.error_type()))
        r = c.ec2("DescribeVpcs")
        seen.add((r.status, r.xml_code()))
        r = c.sts("GetCallerIdentity")
        seen.add((r.status, r.xml_code()))
    ok({(500, "ServerException"), (503, "ServiceUnavailableException"), (500, "InternalError"),
        (503, "Unavailable"), (500, "InternalFailure"), (503, "ServiceUnavailable")} <= seen, "codes: %r" % seen)


@T("faults: seeded: the same seed gives the same sequence of outcomes")
def t_seeded():
    s = _s()
    c = Client(s.port)
    seqs = []
    for seed in (11, 11, 12):
        s.faults(reset=True, seed=seed, throttle_rate=0.5)
        seqs.append([c.eks("GET", "/clusters").status for _ in range(40)])
    eq(seqs[0], seqs[1], "same seed")
    ok(seqs[0] != seqs[2], "different seed differs")
    ok(5 < seqs[0].count(429) < 35, "about half throttled: %d" % seqs[0].count(429))


@T("faults: latency and jitter delay responses; scoped latency spares other operations")
def t_latency():
    # Regression: this used to time the answers both ways ("< 1.0 s", "< 0.15 s"), which a
    # loaded machine can miss. The delays decided are checked exactly, the wire only in the
    # direction load cannot break: an answer never comes sooner than its delay.
    from sim.faults import Faults
    f = Faults(seed=1)
    f.update({"latency_ms": 150, "jitter_ms": 50})
    delays = [f.decide("ListClusters", "eks").delay for _ in range(500)]
    ok(all(0.15 <= d <= 0.2 for d in delays), "latency + uniform(0, jitter): %r" % [min(delays), max(delays)])
    ok(max(delays) - min(delays) > 0.03, "jitter varies the delay")
    f.update({"latency_ms": 200, "jitter_ms": 0, "latency_ops": ["ListClusters"]})
    eq((f.decide("ListClusters", "eks").delay, f.decide("DescribeCluster", "eks").delay), (0.2, 0.0), "scoped")
    s = _s(latency_ms=150, jitter_ms=50)
    c = Client(s.port)
    t0 = time.time()
    eq(c.eks("GET", "/clusters").status, 200, "answered")
    dt = time.time() - t0
    ok(dt >= 0.15, "held at least latency_ms: %.3f s" % dt)
    # ListClusters now waits ten minutes; DescribeCluster must answer within the client's
    # 20 s timeout (held too, it would time out).
    s.faults(reset=True, latency_ms=600000, latency_ops=["ListClusters"])
    eq(c.eks("GET", "/clusters/prod-api").status, 200, "scoped latency spares other operations")
    s.faults(reset=True)


@T("faults: dropped connection (no response); drop after an accepted update keeps it, token replay is safe")
def t_drop():
    s = _s(drop_rate=1.0)
    c = Client(s.port)
    try:
        c.eks("GET", "/clusters")
        raise AssertionError("got a response")
    except (http.client.RemoteDisconnected, ConnectionResetError, http.client.BadStatusLine):
        pass
    s.reset()
    s.faults(reset=True, drop_rate=1.0, drop_ops=["UpdateClusterConfig"])
    body = {"resourcesVpcConfig": {"controlPlaneEgressMode": "CUSTOMER_ROUTED"}, "clientRequestToken": "drop-1"}
    try:
        c.eks("POST", "/clusters/prod-api/update-config", body=body)
        raise AssertionError("got a response")
    except (http.client.RemoteDisconnected, ConnectionResetError, http.client.BadStatusLine):
        pass
    s.faults(reset=True)
    r = c.eks("POST", "/clusters/prod-api/update-config", body=body)
    eq(r.status, 200, "retry with the same token")
    log = s.admin("GET", "/_sim/log")["clusters"]["111122223333/us-east-1/prod-api"]
    eq(len(log["update_ids"]), 1, "exactly one update")
    eq([(m["accepted"], m["replay"], m["fault"]) for m in log["calls"]], [(True, False, "drop"), (True, True, None)],
       "log shows the lost response and the replay")
    s.reset()


@T("faults: drop_when=before drops without executing the operation")
def t_drop_before():
    s = _s(drop_rate=1.0, drop_when="before", drop_ops=["UpdateClusterConfig"])
    c = Client(s.port)
    try:
        c.eks("POST", "/clusters/prod-api/update-config",
              body={"resourcesVpcConfig": {"controlPlaneEgressMode": "CUSTOMER_ROUTED"}})
    except (http.client.RemoteDisconnected, ConnectionResetError, http.client.BadStatusLine):
        pass
    s.faults(reset=True)
    eq(c.eks("GET", "/clusters/prod-api/updates").json()["updateIds"], [], "not executed")
    s.reset()


@T("faults: stalled response sends headers then holds the connection (bounded)")
def t_stall():
    # Regression: a 0.4 s read timeout for the headers and a "< 3 s" bound failed on a loaded
    # machine. The witness is the connection closing without a body, never sooner than the stall,
    # well within a generous client timeout (the stall is bounded; unbounded, it would time out).
    s = _s(stall_rate=1.0, stall_seconds=1.0)
    host = "127.0.0.1:%d" % s.port
    h = sign("GET", host, "/clusters", "", {}, b"", "us-east-1", "eks", MAIN.akid, MAIN.secret)
    h["Host"] = host
    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=20)
    t0 = time.time()
    conn.request("GET", "/clusters", headers=h)
    r = conn.getresponse()
    eq(r.status, 200, "status line and headers arrive")
    ok(int(r.getheader("Content-Length")) > 0, "announced body")
    try:
        r.read()
        raise AssertionError("body arrived")
    except http.client.IncompleteRead as e:
        eq(e.partial, b"", "no byte of the body")
    dt = time.time() - t0
    ok(dt >= 1.0, "held for the stall before closing (%.2f s)" % dt)
    conn.close()
    s.faults(reset=True)


@T("faults: truncated body (Content-Length larger than what is sent, then close)")
def t_truncate():
    s = _s(truncate_rate=1.0)
    c = Client(s.port)
    try:
        c.ec2("DescribeVpcs")
        raise AssertionError("complete body")
    except http.client.IncompleteRead:
        pass
    s.faults(reset=True)


@T("faults: --clock-skew shifts the Date header and the signature window")
def t_skew():
    s = Server("--time-scale", "0", "--clock-skew", "3600")
    try:
        c = Client(s.port)
        r = c.eks("GET", "/clusters")
        eq((r.status, r.error_type()), (403, "InvalidSignatureException"), "client clock is 'behind'")
        server_time = email.utils.parsedate_to_datetime(r.header("Date")).timestamp()
        ok(abs(server_time - time.time() - 3600) < 5, "Date is an hour ahead")
        c.clock_offset = server_time - time.time()     # what aws-sdk-js does with the Date header
        eq(c.eks("GET", "/clusters").status, 200, "corrected clock works")
        eq(c.ec2("DescribeVpcs").status, 200, "ec2 too")
    finally:
        s.stop()


@T("faults: POST /_sim/faults validates its input")
def t_admin_validation():
    s = _s()
    import urllib.error
    for bad in ({"throttle_rate": 2}, {"bogus": 1}, {"drop_when": "later"}):
        try:
            s.admin("POST", "/_sim/faults", bad)
            raise AssertionError("accepted %r" % bad)
        except urllib.error.HTTPError as e:
            eq(e.code, 400, "status for %r" % bad)
    f = s.faults(throttle_rate="0.25@DescribeCluster", stall_seconds=99)
    eq((f["throttle_rate"], f["throttle_ops"], f["stall_seconds"]), (0.25, ["DescribeCluster"], 30.0), "parsed")
    s.faults(reset=True)


@T("faults: counted fault: after fail_skip requests in scope, the next fail_count fail, then none")
def t_counted():
    s = _s(fail_count=2, fail_skip=1, fail_ops=["ListClusters"])
    c = Client(s.port)
    statuses = []
    for _ in range(5):
        statuses.append(c.eks("GET", "/clusters").status)
        eq(c.eks("GET", "/clusters/prod-api").status, 200, "DescribeCluster is out of scope and counts nothing")
    eq(statuses, [200, 503, 503, 200, 200], "the second and third ListClusters fail, the rest succeed")
    f = s.admin("GET", "/_sim/faults")
    eq((f["fail_count"], f["fail_skip"], f["fail_kind"], f["fail_ops"]), (0, 0, "unavailable", ["ListClusters"]),
       "the counters ran down")
    log = [r for r in s.admin("GET", "/_sim/log")["requests"] if r["operation"] == "ListClusters"]
    eq([r["fault"] for r in log[-5:]], [None, "unavailable", "unavailable", None, None], "the log names the fault")
    s.faults(reset=True, fail_count=1, fail_kind="throttle")
    r = c.eks("GET", "/clusters/prod-api")
    eq((r.status, r.error_type()), (429, "ThrottlingException"), "fail_kind throttle, unscoped: any operation")
    eq(c.eks("GET", "/clusters/prod-api").status, 200, "then none")
    s.faults(reset=True, fail_count=1, fail_kind="drop", fail_ops="eks:ListClusters")
    try:
        c.eks("GET", "/clusters")
        raise AssertionError("got a response")
    except (http.client.RemoteDisconnected, ConnectionResetError, http.client.BadStatusLine):
        pass
    eq(c.eks("GET", "/clusters").status, 200, "one drop, then answers")
    import urllib.error
    for bad in ({"fail_count": -1}, {"fail_count": 1.5}, {"fail_skip": True}, {"fail_kind": "stall"}):
        try:
            s.admin("POST", "/_sim/faults", bad)
            raise AssertionError("accepted %r" % bad)
        except urllib.error.HTTPError as e:
            eq(e.code, 400, "status for %r" % bad)
    s.faults(reset=True)
