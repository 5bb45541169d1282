"""Service control policies loaded from policy documents (fleet and POST /_sim/scp)."""

import json
import os
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request

from harness import EKSSIM, T, Server, eq, fleet_file, ok, shared, xml_to_obj
from sigv4_client import Client, Creds, SECOND
from test_iampolicy import DOCUMENTED, SAFE

LOGGING = {"logging": {"clusterLogging": [{"types": ["audit"], "enabled": True}]}}


def _post(s, body):
    req = urllib.request.Request(s.url + "/_sim/scp", data=json.dumps(body).encode(), method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read().decode())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read().decode())


def _create(c, name, mode=None):
    subs = c.eks("GET", "/clusters/dev-a").json()["cluster"]["resourcesVpcConfig"]["subnetIds"]
    vpc = {"subnetIds": subs[:2]}
    if mode:
        vpc["controlPlaneEgressMode"] = mode
    return c.eks("POST", "/clusters", body={"name": name, "roleArn": "arn:aws:iam::444455556666:role/eksClusterRole",
                                            "resourcesVpcConfig": vpc})


@T("scp: policy documents loaded at runtime (POST /_sim/scp) decide CreateCluster / UpdateClusterConfig as IAM does")
def t_runtime():
    s = shared("scp", "--time-scale", "0")
    s.reset()
    c = Client(s.port, SECOND)
    try:
        eq(_post(s, {"account": "444455556666", "policy": DOCUMENTED})[0], 200, "load")
        r = _create(c, "scp-a")
        eq((r.status, r.error_type()), (403, "AccessDeniedException"), "create without the key")
        eq(r.json()["message"], "User: arn:aws:iam::444455556666:user/ekssim-admin is not authorized to perform: "
           "eks:CreateCluster on resource: arn:aws:eks:us-east-1:444455556666:cluster/scp-a with an explicit deny in "
           "a service control policy", "message")
        eq(_create(c, "scp-b", "CUSTOMER_ROUTED").status, 200, "create with the key")
        eq(_create(c, "scp-c", "AWS_MANAGED").status, 403, "create with another value")
        r = c.eks("POST", "/clusters/dev-a/update-config", body=LOGGING)
        eq(r.status, 403, "the documented policy denies an update without the key (absent key, negated operator)")
        eq(_post(s, {"account": "444455556666", "policy": SAFE})[0], 200, "replace")
        eq(c.eks("POST", "/clusters/dev-a/update-config", body=LOGGING).status, 200, "safe: logging passes")
        r = c.eks("POST", "/clusters/dev-routed/update-config",
                  body={"resourcesVpcConfig": {"controlPlaneEgressMode": "AWS_MANAGED"}})
        eq((r.status, r.error_type()), (403, "AccessDeniedException"), "safe: another mode is denied by the SCP first")
        st, body = _post(s, {"account": "444455556666", "policy": None})
        eq(st, 200, "remove")
        eq(_create(c, "scp-d").status, 200, "no SCP: allowed")
        got = s.admin("GET", "/_sim/scp?account=444455556666")
        eq((got["scp"], got["policies"]), (None, []), "removed")
        st, body = _post(s, {"account": "111122223333", "policy": DOCUMENTED})
        ok(st == 400 and "management account" in body["error"], "SCPs never apply to the management account: %r" % body)
        st, body = _post(s, {"account": "444455556666", "policy": {"Statement": [{"Effect": "Deny"}]}})
        ok(st == 400 and "exactly one of Action, NotAction" in body["error"], body)
        st, body = _post(s, {"account": "999999999999", "policy": DOCUMENTED})
        ok(st == 400 and "unknown account" in body["error"], body)
    finally:
        s.reset()
    got = s.admin("GET", "/_sim/scp?account=444455556666")
    eq(got["scp"]["variant"], "request_scoped", "reset restores the fleet's SCP")
    eq(len(got["policies"]), 2, "FullAWSAccess and the knob's document")
    eq(got["policies"][1]["Statement"][1]["Condition"]["Null"], {"eks:controlPlaneEgressMode": "false"},
       "the knob form is a policy document too")


@T("scp: the egress-mode key is in the request context only when the request carries the field")
def t_key_presence():
    s = shared("scp", "--time-scale", "0")
    s.reset()
    c = Client(s.port, SECOND)
    only_when_absent = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Action": "eks:UpdateClusterConfig", "Resource": "*",
        "Condition": {"Null": {"eks:controlPlaneEgressMode": "true"}}}]}
    try:
        _post(s, {"account": "444455556666", "policy": only_when_absent})
        eq(c.eks("POST", "/clusters/dev-a/update-config", body=LOGGING).status, 403, "absent: Null true matches")
        r = c.eks("POST", "/clusters/dev-a/update-config",
                  body={"resourcesVpcConfig": {"controlPlaneEgressMode": "CUSTOMER_ROUTED"}})
        eq(r.status, 200, "present (even with the value it already has): " + r.text)
        deny_ec2 = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "ec2:DescribeVpc*",
                                                            "Resource": "*"}]}
        _post(s, {"account": "444455556666", "policy": deny_ec2})
        r = c.ec2("DescribeVpcs")
        eq((r.status, r.xml_code()), (403, "UnauthorizedOperation"), "any action is evaluated")
        ok("with an explicit deny in a service control policy" in r.text, r.text)
        eq(c.ec2("DescribeSubnets").status, 200, "others pass")
        _post(s, {"account": "444455556666", "policy": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["eks:*", "sts:*"], "Resource": "*"}]}, "full_aws_access": False})
        r = c.ec2("DescribeSubnets")
        eq(r.status, 403, "without FullAWSAccess only what the SCP allows passes")
        ok("because no service control policy allows the ec2:DescribeSubnets action" in r.text, r.text)
        eq(c.eks("GET", "/clusters").status, 200, "allowed service")
        _, obj = xml_to_obj(c.sts("GetCallerIdentity").text)
        eq(obj["GetCallerIdentityResult"]["Account"], "444455556666", "GetCallerIdentity is never denied")
    finally:
        s.reset()


def _fleet(scp, roles=()):
    spec = {"format": "ekssim-fleet/1", "organization": {"management_account": "111122223333"}, "accounts": [
        {"id": "111122223333", "users": [{"name": "a", "access_key_id": "AKIDEXAMPLE",
                                          "secret_access_key": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}]},
        {"id": "444455556666", "users": [{"name": "b", "access_key_id": SECOND.akid,
                                          "secret_access_key": SECOND.secret}],
         "roles": list(roles), "scp": scp,
         "networks": [{"name": "n", "region": "us-east-1"}],
         "clusters": [{"name": "dev-a", "region": "us-east-1", "network": "n"}]}]}
    return fleet_file(spec)


@T("scp: a fleet account's scp.policy, with a break-glass role exempted through aws:PrincipalArn")
def t_fleet_policy():
    s = Server("--time-scale", "0", "--fleet", _fleet({"policy": SAFE}, [
        {"name": "BreakGlass", "trust": ["444455556666"]}, {"name": "Operator", "trust": ["444455556666"]}]))
    try:
        c = Client(s.port, SECOND)
        eq(_create(c, "x1").status, 403, "the user is denied")

        def assume(role):
            r = c.sts("AssumeRole", {"RoleArn": "arn:aws:iam::444455556666:role/" + role, "RoleSessionName": "s1"})
            _, obj = xml_to_obj(r.text)
            cr = obj["AssumeRoleResult"]["Credentials"]
            return Client(s.port, Creds(cr["AccessKeyId"], cr["SecretAccessKey"], cr["SessionToken"]))
        eq(_create(assume("BreakGlass"), "x2").status, 200, "aws:PrincipalArn of a role session is the role's ARN")
        eq(_create(assume("Operator"), "x3").status, 403, "another role is not exempt")
    finally:
        s.stop()


@T("scp: malformed fleet SCPs are refused with exit code 64")
def t_fleet_errors():
    out = []
    for scp, frag in [({"policy": {"Statement": "x"}}, "Statement must be"),
                      ({"policy": DOCUMENTED, "require_egress_mode": "CUSTOMER_ROUTED"}, "not both"),
                      ({"policy": {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*",
                                                                          "Condition": {"DateLessThan": {"a": "b"}}}]}},
                       "not supported by the simulator"),
                      ({"require_egress_mode": "CUSTOMER_ROUTED", "variant": "strict"}, "variant")]:
        p = subprocess.run([sys.executable, EKSSIM, "--fleet", _fleet(scp), "--dump-fleet", os.devnull],
                           capture_output=True, text=True, timeout=60)
        good = p.returncode == 64 and frag in p.stderr
        out.append((good, "scp fleet error: %s" % frag, None if good else "rc %d %s" % (p.returncode, p.stderr)))
    spec_path = _fleet(None)
    spec = json.load(open(spec_path))
    spec["accounts"][0]["scp"] = {"policy": DOCUMENTED}
    with open(spec_path, "w") as f:
        json.dump(spec, f)
    p = subprocess.run([sys.executable, EKSSIM, "--fleet", spec_path, "--dump-fleet", os.devnull],
                       capture_output=True, text=True, timeout=60)
    good = p.returncode == 64 and "management account" in p.stderr
    out.append((good, "scp fleet error: a policy on the management account", p.stderr))
    return out


@T("scp: a runtime SCP persists with --state across a restart")
def t_state():
    d = tempfile.mkdtemp(prefix="ekssim-scpstate-")
    path = os.path.join(d, "state.json")
    s = Server("--time-scale", "0", "--state", path)
    try:
        eq(_post(s, {"account": "444455556666", "policy": DOCUMENTED})[0], 200, "load")
    finally:
        s.stop()
    s = Server("--time-scale", "0", "--state", path)
    try:
        c = Client(s.port, SECOND)
        eq(c.eks("POST", "/clusters/dev-a/update-config", body=LOGGING).status, 403, "still in force")
    finally:
        s.stop()
