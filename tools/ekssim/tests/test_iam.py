"""IAM (query protocol, global endpoint): role and policy reads, SimulatePrincipalPolicy."""

import json
from urllib.parse import unquote

from harness import T, Server, eq, fleet_file, ok, shared, xml_to_obj
from sigv4_client import Client, SECOND
from sim import generator, iampolicy

EKS_POLICY = "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"


def _c(creds=None):
    s = shared("default", "--time-scale", "0")
    return Client(s.port, creds) if creds else Client(s.port)


def _ok(r, op):
    eq(r.status, 200, "%s (%s)" % (op, r.text[:300]))
    tag, obj = xml_to_obj(r.text)
    eq(tag, op + "Response", "root")
    return obj[op + "Result"]


def _doc(encoded):
    return json.loads(unquote(encoded))


def _simulate(c, principal, actions, context=None, **extra):
    p = {"PolicySourceArn": principal}
    for i, a in enumerate(actions):
        p["ActionNames.member.%d" % (i + 1)] = a
    for i, (k, vals) in enumerate((context or {}).items()):
        p["ContextEntries.member.%d.ContextKeyName" % (i + 1)] = k
        p["ContextEntries.member.%d.ContextKeyType" % (i + 1)] = "string"
        for j, v in enumerate(vals):
            p["ContextEntries.member.%d.ContextKeyValues.member.%d" % (i + 1, j + 1)] = v
    p.update(extra)
    return c.iam("SimulatePrincipalPolicy", p)


@T("iam: GetRole of a fleet cluster role: IAM's XML shape, URL-encoded trust policy, eks.amazonaws.com trusted")
def t_get_role():
    c = _c()
    r = c.iam("GetRole", {"RoleName": "eksClusterRole"})
    ok(r.text.startswith('<GetRoleResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">'), r.text[:120])
    role = _ok(r, "GetRole")["Role"]
    eq((role["RoleName"], role["Arn"], role["Path"]), ("eksClusterRole", "arn:aws:iam::111122223333:role/eksClusterRole",
                                                      "/"), "role")
    ok(role["RoleId"].startswith("AROA") and role["CreateDate"].endswith("Z"), "ids and dates")
    ok("%22" in role["AssumeRolePolicyDocument"], "the trust policy comes URL-encoded, as IAM sends it")
    trust = _doc(role["AssumeRolePolicyDocument"])
    eq(trust["Statement"][0]["Principal"], {"Service": "eks.amazonaws.com"}, "trust")
    # a declared role: trust from its fleet entry, permissions that mirror what the simulator lets it do
    role = _ok(c.iam("GetRole", {"RoleName": "EksReadOnly"}), "GetRole")["Role"]
    eq(_doc(role["AssumeRolePolicyDocument"])["Statement"][0]["Principal"],
       {"AWS": "arn:aws:iam::111122223333:root"}, "account trust")
    eq(role["MaxSessionDuration"], "3600", "max session")
    names = _ok(c.iam("ListRolePolicies", {"RoleName": "EksReadOnly"}), "ListRolePolicies")
    eq((names["PolicyNames"], names["IsTruncated"]), (["ekssim-access"], "false"), "inline policy names")
    doc = _doc(_ok(c.iam("GetRolePolicy", {"RoleName": "EksReadOnly", "PolicyName": "ekssim-access"}),
                   "GetRolePolicy")["PolicyDocument"])
    eq(doc["Statement"][1], {"Effect": "Deny", "Action": ["eks:CreateCluster", "eks:UpdateClusterConfig",
                                                          "eks:UpdateClusterVersion", "eks:DeleteCluster"],
                             "Resource": "*"}, "deny_actions as a Deny statement")


@T("iam: ListAttachedRolePolicies, GetPolicy and GetPolicyVersion serve AmazonEKSClusterPolicy's document")
def t_policies():
    c = _c()
    att = _ok(c.iam("ListAttachedRolePolicies", {"RoleName": "eksClusterRole"}), "ListAttachedRolePolicies")
    eq(att["AttachedPolicies"], [{"PolicyName": "AmazonEKSClusterPolicy", "PolicyArn": EKS_POLICY}], "attached")
    pol = _ok(c.iam("GetPolicy", {"PolicyArn": EKS_POLICY}), "GetPolicy")["Policy"]
    eq((pol["PolicyName"], pol["DefaultVersionId"], pol["Path"], pol["IsAttachable"]),
       ("AmazonEKSClusterPolicy", "v8", "/", "true"), "policy")
    ok(int(pol["AttachmentCount"]) >= 1 and pol["PolicyId"].startswith("ANPA"), "attachments and id")
    v = _ok(c.iam("GetPolicyVersion", {"PolicyArn": EKS_POLICY, "VersionId": "v8"}), "GetPolicyVersion")
    doc = _doc(v["PolicyVersion"]["Document"])
    acts = doc["Statement"][0]["Action"]
    ok("ec2:DescribeVpcs" in acts and "ec2:DescribeDhcpOptions" in acts and "ec2:DescribeSubnets" in acts, "actions")
    eq(v["PolicyVersion"]["IsDefaultVersion"], "true", "default version")
    r = c.iam("GetPolicyVersion", {"PolicyArn": EKS_POLICY, "VersionId": "v1"})
    eq((r.status, r.xml_code()), (404, "NoSuchEntity"), "old version")


@T("iam: errors: NoSuchEntity 404 in IAM's ErrorResponse, ValidationError, InvalidInput, signing region us-east-1 only")
def t_errors():
    c = _c()
    r = c.iam("GetRole", {"RoleName": "no-such-role"})
    eq((r.status, r.xml_code()), (404, "NoSuchEntity"), "unknown role")
    ok('<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">' in r.text and "<Type>Sender</Type>" in r.text
       and "The role with name no-such-role cannot be found." in r.text, r.text)
    eq((r.header("x-amzn-RequestId") or "") in r.text, True, "request id in the body")
    eq(c.iam("GetRole").xml_code(), "ValidationError", "RoleName missing")
    eq(c.iam("GetRolePolicy", {"RoleName": "eksClusterRole", "PolicyName": "nope"}).status, 404, "no inline policy")
    eq(c.iam("GetPolicy", {"PolicyArn": "not-an-arn"}).xml_code(), "InvalidInput", "bad ARN")
    eq(c.iam("GetPolicy", {"PolicyArn": "arn:aws:iam::aws:policy/NoSuchPolicy"}).xml_code(), "NoSuchEntity", "unknown")
    eq(c.iam("ListUsers").xml_code(), "InvalidAction", "unsupported action")
    r = c.iam("GetRole", {"RoleName": "eksClusterRole"}, region="eu-west-1")
    eq((r.status, r.xml_code()), (403, "SignatureDoesNotMatch"), "IAM is signed for us-east-1 only")
    eq(c.iam("GetRole", {"RoleName": "eksClusterRole"}, host="iam.amazonaws.com").status, 200, "global host name")
    # lookups are in the caller's account
    eq(Client(c.port, SECOND).iam("GetRole", {"RoleName": "EksReadOnly"}).xml_code(), "NoSuchEntity",
       "another account's role")
    eq(Client(c.port, SECOND).iam("GetRole", {"RoleName": "EksAuditRole"}).status, 200, "own role")


@T("iam: SimulatePrincipalPolicy: allowed by AmazonEKSClusterPolicy, denied for role_no_describe, context entries")
def t_simulate():
    c = _c()
    r = _simulate(c, "arn:aws:iam::111122223333:role/eksClusterRole", ["ec2:DescribeVpcs", "ec2:DescribeDhcpOptions",
                                                                      "ec2:DeleteVpc"])
    res = _ok(r, "SimulatePrincipalPolicy")["EvaluationResults"]
    eq([(x["EvalActionName"], x["EvalDecision"], x["EvalResourceName"]) for x in res],
       [("ec2:DescribeVpcs", "allowed", "*"), ("ec2:DescribeDhcpOptions", "allowed", "*"),
        ("ec2:DeleteVpc", "implicitDeny", "*")], "decisions")
    eq(res[0]["MatchedStatements"], [{"SourcePolicyId": "AmazonEKSClusterPolicy", "SourcePolicyType": "aws-managed"}],
       "matched statement")
    ok("<MatchedStatements/>" in r.text and res[2]["MatchedStatements"] == "", "nothing matched an implicit deny")
    c2 = Client(c.port, SECOND, region="us-east-2")
    role = c2.eks("GET", "/clusters/dev-role").json()["cluster"]["roleArn"]
    eq(role, "arn:aws:iam::444455556666:role/eksClusterRole-dev-role", "role_no_describe gives its own role")
    res = _ok(_simulate(c2, role, ["ec2:DescribeVpcs", "ec2:DescribeSubnets"]), "SimulatePrincipalPolicy")
    decisions = [x["EvalDecision"] for x in res["EvaluationResults"]]
    ok(decisions[0] in ("implicitDeny", "explicitDeny") and decisions[1] == "allowed", decisions)
    r = _simulate(c, "arn:aws:iam::111122223333:role/nope", ["ec2:DescribeVpcs"])
    eq((r.status, r.xml_code()), (404, "NoSuchEntity"), "unknown principal")
    eq(_simulate(c, "arn:aws:iam::111122223333:role/eksClusterRole", []).xml_code(), "ValidationError", "no actions")
    # a role session resolves to its role
    res = _ok(_simulate(c, "arn:aws:sts::111122223333:assumed-role/EksReadOnly/s", ["eks:DeleteCluster"]),
              "SimulatePrincipalPolicy")["EvaluationResults"]
    eq((res[0]["EvalDecision"], res[0]["MatchedStatements"][0]["SourcePolicyType"]), ("explicitDeny", "role"),
       "deny_actions")


def _iam_fleet():
    region_only = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*",
        "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}}]}
    spec = {"format": "ekssim-fleet/1", "accounts": [{
        "id": "111122223333", "users": [{"name": "a", "access_key_id": "AKIDEXAMPLE",
                                         "secret_access_key": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}],
        "managed_policies": [{"name": "vpc-read", "document": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["ec2:DescribeVpcs"], "Resource": "*"}]}},
                             {"name": "dhcp-read", "path": "/team/", "document": {"Version": "2012-10-17", "Statement": [
                                 {"Effect": "Allow", "Action": "ec2:DescribeDhcpOptions", "Resource": "*"}]}}],
        "roles": [{"name": "split", "trust": ["eks.amazonaws.com"],
                   "policies": ["vpc-read", "arn:aws:iam::111122223333:policy/team/dhcp-read", "AmazonEKSClusterPolicy"],
                   "inline_policies": {"regional": region_only}}],
        "networks": [{"name": "n", "region": "us-east-1"}],
        "clusters": [{"name": "c", "region": "us-east-1", "network": "n",
                      "role_arn": "arn:aws:iam::111122223333:role/split"}]}]}
    return fleet_file(spec)


@T("iam: declared policies (managed, with paths, AWS managed, inline), Marker/MaxItems pagination, "
   "MissingContextValues, PolicyInputList")
def t_declared():
    s = Server("--time-scale", "0", "--fleet", _iam_fleet())
    try:
        c = Client(s.port)
        got = []
        marker = None
        pages = 0
        while True:
            p = {"RoleName": "split", "MaxItems": "1"}
            if marker:
                p["Marker"] = marker
            res = _ok(c.iam("ListAttachedRolePolicies", p), "ListAttachedRolePolicies")
            got += [x["PolicyName"] for x in res["AttachedPolicies"]]
            pages += 1
            marker = res.get("Marker")
            eq(res["IsTruncated"], "true" if marker else "false", "IsTruncated")
            if not marker:
                break
        eq((got, pages), (["vpc-read", "dhcp-read", "AmazonEKSClusterPolicy"], 3), "pages of one")
        team = _ok(c.iam("ListAttachedRolePolicies", {"RoleName": "split", "PathPrefix": "/team/"}),
                   "ListAttachedRolePolicies")["AttachedPolicies"]
        eq([x["PolicyName"] for x in team], ["dhcp-read"], "PathPrefix")
        eq(c.iam("ListAttachedRolePolicies", {"RoleName": "split", "Marker": "bogus"}).xml_code(), "InvalidInput",
           "bad marker")
        eq(c.iam("ListAttachedRolePolicies", {"RoleName": "split", "MaxItems": "0"}).xml_code(), "ValidationError",
           "MaxItems range")
        role = "arn:aws:iam::111122223333:role/split"
        res = _ok(_simulate(c, role, ["ec2:DescribeSubnets"]), "SimulatePrincipalPolicy")["EvaluationResults"][0]
        eq(res["EvalDecision"], "allowed", "AmazonEKSClusterPolicy allows DescribeSubnets")
        res = _ok(_simulate(c, role, ["ec2:DescribeImages"]), "SimulatePrincipalPolicy")["EvaluationResults"][0]
        eq((res["EvalDecision"], res["MissingContextValues"]), ("implicitDeny", ["aws:requestedregion"]),
           "the regional inline policy needs a context key")
        res = _ok(_simulate(c, role, ["ec2:DescribeImages"], {"aws:RequestedRegion": ["us-east-1"]}),
                  "SimulatePrincipalPolicy")["EvaluationResults"][0]
        eq((res["EvalDecision"], res["MatchedStatements"][0]["SourcePolicyId"]), ("allowed", "regional"), "context")
        deny = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "ec2:DescribeVpcs",
                                                                    "Resource": "*"}]})
        res = _ok(_simulate(c, role, ["ec2:DescribeVpcs"], **{"PolicyInputList.member.1": deny}),
                  "SimulatePrincipalPolicy")["EvaluationResults"][0]
        eq(res["EvalDecision"], "explicitDeny", "PolicyInputList adds a policy")
        eq(_simulate(c, role, ["ec2:DescribeVpcs"], **{"PolicyInputList.member.1": "{"}).xml_code(),
           "MalformedPolicyDocument", "bad input policy")
    finally:
        s.stop()


@T("iam: documents read with GetRole/ListAttachedRolePolicies/GetPolicyVersion/ListRolePolicies/GetRolePolicy and "
   "evaluated locally agree with SimulatePrincipalPolicy for every cluster role (both role_no_describe variants)")
def t_consistent():
    spec = generator.generate("clusters=40,accounts=1,regions=1,seed=3,defects=1,kinds=role_no_describe+sg_no_443")
    s = Server("--time-scale", "0", "--fleet", fleet_file(spec))
    try:
        c = Client(s.port)
        roles = sorted(set(x["role_arn"] for x in s.admin("GET", "/_sim/state")["clusters"]))
        decisions = set()
        for arn in roles:
            name = arn.rsplit("/", 1)[1]
            docs = []
            for a in _ok(c.iam("ListAttachedRolePolicies", {"RoleName": name}),
                         "ListAttachedRolePolicies")["AttachedPolicies"]:
                ver = _ok(c.iam("GetPolicy", {"PolicyArn": a["PolicyArn"]}), "GetPolicy")["Policy"]["DefaultVersionId"]
                docs.append(_doc(_ok(c.iam("GetPolicyVersion", {"PolicyArn": a["PolicyArn"], "VersionId": ver}),
                                     "GetPolicyVersion")["PolicyVersion"]["Document"]))
            names = _ok(c.iam("ListRolePolicies", {"RoleName": name}), "ListRolePolicies")["PolicyNames"]
            for n in names:
                docs.append(_doc(_ok(c.iam("GetRolePolicy", {"RoleName": name, "PolicyName": n}),
                                     "GetRolePolicy")["PolicyDocument"]))
            pols = [iampolicy.parse(x) for x in docs]
            for action in ("ec2:DescribeVpcs", "ec2:DescribeDhcpOptions", "ec2:DescribeSubnets"):
                local = iampolicy.evaluate(pols, action).decision
                remote = _ok(_simulate(c, arn, [action]), "SimulatePrincipalPolicy")["EvaluationResults"][0]
                eq(remote["EvalDecision"], local, "%s %s" % (name, action))
                decisions.add(local)
        eq(decisions, {"allowed", "implicitDeny", "explicitDeny"}, "both role_no_describe variants appear")
    finally:
        s.stop()
