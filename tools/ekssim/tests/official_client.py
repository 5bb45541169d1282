#!/usr/bin/python3
"""Official-client check: Debian's botocore (and awscli) against the simulator.

  /usr/bin/python3 tools/ekssim/tests/official_client.py http://127.0.0.1:PORT [http://127.0.0.1:PORT2]

Prints one line per check: "ok - NAME", "not ok - NAME" (followed by "# ..."
diagnostics) or "skip - REASON".  The simulator at PORT must run the default fleet with
--time-scale 0; the optional one at PORT2 fleets/explicit.json.  Debian's botocore model predates controlPlaneEgressMode and drops
the field, so the egress mode itself is tested elsewhere with signed requests.
"""

import base64
import http.client
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request
import xml.etree.ElementTree as ET

try:
    import botocore
    import botocore.session
    from botocore import UNSIGNED
    from botocore.config import Config
    from botocore.exceptions import ClientError
except ImportError as e:
    print("skip - botocore not importable (%s)" % e)
    sys.exit(0)

URL = sys.argv[1]
PORT = int(URL.rsplit(":", 1)[1])
EXPLICIT_URL = sys.argv[2] if len(sys.argv) > 2 else None
SECOND = ("AKIAEKSSIM0000000002", "ekssim/SecondAccount/Secret+EXAMPLEKEY02")
MAIN = ("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
RESULTS = []


def check(name):
    def deco(fn):
        t0 = time.time()
        try:
            fn()
            print("ok - %s" % name)
            if os.environ.get("EKSSIM_TIMING"):
                print("# took %.2f s" % (time.time() - t0))
        except Exception as e:
            print("not ok - %s" % name)
            for line in ("%s: %s" % (type(e).__name__, e)).splitlines() + traceback.format_exc().splitlines()[-4:]:
                print("# " + line)
        sys.stdout.flush()
        return fn
    return deco


SESSION = botocore.session.get_session()


def client(service, region="us-east-1", creds=MAIN, token=None, url=None, **cfg):
    kw = {}
    if cfg:
        kw["config"] = Config(**cfg)
    if creds is None:
        kw["config"] = Config(signature_version=UNSIGNED)
        return SESSION.create_client(service, region_name=region, endpoint_url=url or URL, **kw)
    return SESSION.create_client(service, region_name=region, endpoint_url=url or URL, aws_access_key_id=creds[0],
                                 aws_secret_access_key=creds[1], aws_session_token=token, **kw)


def admin(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(URL + path, data=data, method=method)
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read().decode())


def expect_error(fn, code):
    try:
        fn()
    except ClientError as e:
        got = e.response["Error"]["Code"]
        if got != code:
            raise AssertionError("error code %s, want %s" % (got, code))
        return e
    raise AssertionError("no error, want %s" % code)


def assert_eq(got, want, what):
    if got != want:
        raise AssertionError("%s: got %r, want %r" % (what, got, want))


admin("POST", "/_sim/reset", {})
EKS = client("eks")
EC2 = client("ec2")
STS = client("sts")


@check("botocore %s: EKS ListClusters (paginator, maxResults/nextToken) and DescribeCluster" % botocore.__version__)
def _():
    names = []
    for page in EKS.get_paginator("list_clusters").paginate(PaginationConfig={"PageSize": 1}):
        names += page["clusters"]
    assert_eq(names, ["legacy-batch", "old-api", "prod-api", "prod-routed"], "names")
    c = EKS.describe_cluster(name="prod-api")["cluster"]
    assert_eq((c["status"], c["resourcesVpcConfig"]["vpcId"][:4]), ("ACTIVE", "vpc-"), "cluster")
    assert c["createdAt"].year > 2000, "createdAt parsed as a timestamp"
    expect_error(lambda: EKS.describe_cluster(name="missing"), "ResourceNotFoundException")


@check("botocore: EKS CreateCluster (auto clientRequestToken), waiter, DeleteCluster")
def _():
    subs = EKS.describe_cluster(name="prod-api")["cluster"]["resourcesVpcConfig"]["subnetIds"]
    c = EKS.create_cluster(name="boto-made", roleArn="arn:aws:iam::111122223333:role/eksClusterRole",
                           resourcesVpcConfig={"subnetIds": subs[:2]}, version="1.32")["cluster"]
    assert c["status"] in ("CREATING", "ACTIVE"), c["status"]
    EKS.get_waiter("cluster_active").wait(name="boto-made", WaiterConfig={"Delay": 0.1, "MaxAttempts": 20})
    expect_error(lambda: EKS.create_cluster(name="-bad", roleArn="arn:aws:iam::111122223333:role/r",
                                            resourcesVpcConfig={"subnetIds": subs[:2]}),
                 "InvalidParameterException")
    expect_error(lambda: EKS.create_cluster(name="boto-made", roleArn="arn:aws:iam::111122223333:role/r",
                                            resourcesVpcConfig={"subnetIds": subs[:2]}),
                 "ResourceInUseException")
    d = EKS.delete_cluster(name="boto-made")["cluster"]
    assert_eq(d["status"], "DELETING", "delete")
    expect_error(lambda: EKS.describe_cluster(name="boto-made"), "ResourceNotFoundException")


@check("botocore: EKS UpdateClusterConfig, DescribeUpdate, ListUpdates, UpdateClusterVersion")
def _():
    u = EKS.update_cluster_config(name="prod-api", resourcesVpcConfig={"endpointPrivateAccess": True})["update"]
    assert_eq(u["type"], "EndpointAccessUpdate", "type")
    d = EKS.describe_update(name="prod-api", updateId=u["id"])["update"]
    assert_eq(d["status"], "Successful", "status")
    assert d["createdAt"].year > 2000
    u2 = EKS.update_cluster_version(name="prod-api", version="1.32")["update"]
    ids = EKS.list_updates(name="prod-api")["updateIds"]
    assert_eq(ids, [u["id"], u2["id"]], "ListUpdates")
    pages = list(EKS.get_paginator("list_updates").paginate(name="prod-api", PaginationConfig={"PageSize": 1}))
    assert_eq(sum(len(p["updateIds"]) for p in pages), 2, "paginated updates")
    e = expect_error(lambda: EKS.update_cluster_config(
        name="prod-api", resourcesVpcConfig={"endpointPrivateAccess": True},
        logging={"clusterLogging": [{"types": ["api"], "enabled": True}]}), "InvalidParameterException")
    assert "Only one type of update can be allowed." in str(e)
    expect_error(lambda: EKS.update_cluster_config(name="prod-api", resourcesVpcConfig={
        "endpointPrivateAccess": True}), "InvalidParameterException")


@check("botocore: EKS ListNodegroups, DescribeNodegroup, ListAddons, ListIdentityProviderConfigs, "
       "DescribeIdentityProviderConfig")
def _():
    assert_eq(EKS.list_nodegroups(clusterName="prod-api")["nodegroups"], ["general"], "nodegroups")
    ng = EKS.describe_nodegroup(clusterName="prod-api", nodegroupName="general")["nodegroup"]
    assert_eq((ng["status"], ng["scalingConfig"]["desiredSize"]), ("ACTIVE", 2), "nodegroup")
    assert_eq(EKS.list_addons(clusterName="prod-api")["addons"], ["coredns", "kube-proxy", "vpc-cni"], "addons")
    cfgs = EKS.list_identity_provider_configs(clusterName="prod-api")["identityProviderConfigs"]
    assert_eq(cfgs, [{"type": "oidc", "name": "corp-oidc"}], "idps")
    o = EKS.describe_identity_provider_config(clusterName="prod-api", identityProviderConfig=cfgs[0])
    assert_eq(o["identityProviderConfig"]["oidc"]["issuerUrl"], "https://idp.example.com/oidc", "issuer")
    expect_error(lambda: EKS.describe_nodegroup(clusterName="prod-api", nodegroupName="x"),
                 "ResourceNotFoundException")


EC2_CALLS = [
    ("describe_subnets", {}, "Subnets"), ("describe_route_tables", {}, "RouteTables"),
    ("describe_nat_gateways", {}, "NatGateways"), ("describe_network_acls", {}, "NetworkAcls"),
    ("describe_security_groups", {}, "SecurityGroups"), ("describe_security_group_rules", {}, "SecurityGroupRules"),
    ("describe_vpcs", {}, "Vpcs"), ("describe_dhcp_options", {}, "DhcpOptions"),
    ("describe_network_interfaces", {}, "NetworkInterfaces"), ("describe_vpc_endpoints", {}, "VpcEndpoints"),
    ("describe_egress_only_internet_gateways", {}, "EgressOnlyInternetGateways"),
    ("describe_transit_gateways", {}, "TransitGateways"), ("describe_regions", {}, "Regions"),
    ("describe_internet_gateways", {}, "InternetGateways"),
    ("describe_transit_gateway_vpc_attachments", {}, "TransitGatewayVpcAttachments"),
]


NEW_EC2 = [("DescribeInstances", {}), ("DescribeManagedPrefixLists", {}),
           ("GetManagedPrefixListEntries", {"PrefixListId": None}), ("DescribeFlowLogs", {})]
IAM_READS = [("GetRole", {"RoleName": "eksClusterRole"}), ("ListAttachedRolePolicies", {"RoleName": "eksClusterRole"}),
             ("ListRolePolicies", {"RoleName": "EksReadOnly"}),
             ("GetRolePolicy", {"RoleName": "EksReadOnly", "PolicyName": "ekssim-access"}),
             ("GetPolicy", {"PolicyArn": "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"}),
             ("GetPolicyVersion", {"PolicyArn": "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy", "VersionId": "v8"}),
             ("SimulatePrincipalPolicy", {"PolicySourceArn": "arn:aws:iam::111122223333:role/eksClusterRole",
                                          "ActionNames.member.1": "ec2:DescribeVpcs",
                                          "ActionNames.member.2": "ec2:DeleteVpc"})]


@check("botocore: all EC2 describe operations parse (us-east-1, eu-west-1, us-west-2)")
def _():
    seen = {}
    for region in ("us-east-1", "eu-west-1", "us-west-2"):
        ec2 = client("ec2", region)
        for op, kw, key in EC2_CALLS:
            r = getattr(ec2, op)(**kw)
            seen[op] = seen.get(op, 0) + len(r[key])
    empty = [op for op, n in seen.items() if n == 0]
    assert not empty, "no items from %s" % empty
    v = EKS.describe_cluster(name="prod-api")["cluster"]["resourcesVpcConfig"]["vpcId"]
    a = EC2.describe_vpc_attribute(VpcId=v, Attribute="enableDnsSupport")
    assert_eq(a["EnableDnsSupport"]["Value"], True, "vpc attribute")
    rt = EC2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [v]},
                                            {"Name": "association.main", "Values": ["true"]}])["RouteTables"]
    assert_eq(len(rt), 1, "main route table")
    assert rt[0]["Associations"][0]["Main"] is True
    acl = EC2.describe_network_acls(Filters=[{"Name": "vpc-id", "Values": [v]}])["NetworkAcls"][0]
    assert isinstance(acl["Entries"][0]["RuleNumber"], int)


@check("botocore: EC2 paginators follow NextToken; error codes parse (InvalidSubnetID.NotFound, ...)")
def _():
    n = 0
    pages = 0
    for page in EC2.get_paginator("describe_subnets").paginate(PaginationConfig={"PageSize": 5}):
        n += len(page["Subnets"])
        pages += 1
    assert_eq(n, len(EC2.describe_subnets()["Subnets"]), "all subnets")
    assert pages > 1, "several pages"
    expect_error(lambda: EC2.describe_subnets(SubnetIds=["subnet-0000000000000000f"]), "InvalidSubnetID.NotFound")
    expect_error(lambda: EC2.describe_vpcs(DryRun=True), "DryRunOperation")
    expect_error(lambda: client("ec2", creds=("AKIANOTAREALKEY00000", "x" * 40)).describe_vpcs(), "AuthFailure")
    expect_error(lambda: client("ec2", "sa-east-1").describe_vpcs(), "UnauthorizedOperation")


def _model_elements(service, op_name, xml_text):
    """Every element in the response must be a member name (wire name) in botocore's model."""
    model = SESSION.get_service_model(service)
    op = model.operation_model(op_name)
    root = ET.fromstring(xml_text)
    unknown = []

    def strip(t):
        return t.split("}", 1)[1] if "}" in t else t

    def walk(elem, shape):
        for child in elem:
            tag = strip(child.tag)
            if shape is None:
                continue
            if shape.type_name == "list":
                walk(child, shape.member)
                continue
            if shape.type_name != "structure":
                continue
            found = None
            for name, m in shape.members.items():
                if m.serialization.get("name", name) == tag or name == tag:
                    found = m
                    break
            if found is None:
                if tag not in ("requestId", "nextToken", "ResponseMetadata", "RequestId"):
                    unknown.append(tag)
                continue
            if found.type_name == "list":
                for item in child:
                    walk(item, found.member) if found.member.type_name == "structure" else None
            else:
                walk(child, found)
    out = op.output_shape
    body = root
    if service in ("sts", "iam"):
        body = [e for e in root if strip(e.tag).endswith("Result")][0]
    walk(body, out)
    return unknown


@check("botocore model: EC2 and STS responses use only element names the model knows")
def _():
    import sigv4_client
    sc = sigv4_client.Client(PORT)
    bad = {}
    for region in ("us-east-1", "eu-west-1", "us-west-2"):
        sc.region = region
        for op, _, _ in EC2_CALLS:
            action = "".join(p.capitalize() for p in op.split("_"))
            r = sc.ec2(action)
            u = _model_elements("ec2", action, r.text)
            if u:
                bad[action] = sorted(set(u))
    for action in ("GetCallerIdentity",):
        u = _model_elements("sts", action, sc.sts(action).text)
        if u:
            bad[action] = u
    sc2 = sigv4_client.Client(PORT, sigv4_client.SECOND, region="us-east-2")
    pl_id = client("ec2", "us-east-2", SECOND).describe_managed_prefix_lists()["PrefixLists"][0]["PrefixListId"]
    for action, params in NEW_EC2:
        if "PrefixListId" in params:
            params = {"PrefixListId": pl_id}
        r = sc2.ec2(action, params)
        assert r.status == 200, "%s: %s" % (action, r.text[:300])
        u = _model_elements("ec2", action, r.text)
        if u:
            bad[action] = sorted(set(u))
    for action, params in IAM_READS:
        r = sc.iam(action, params)
        assert r.status == 200, "%s: %s" % (action, r.text[:300])
        u = _model_elements("iam", action, r.text)
        if u:
            bad[action] = sorted(set(u))
    assert not bad, "elements unknown to the model: %r" % bad


@check("botocore model: sim/ec2_shapes.json (the EC2 shapes explicit networks use) agrees with this botocore")
def _():
    import json as _json
    table = _json.load(open(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "sim",
                                         "ec2_shapes.json")))
    model = SESSION.get_service_model("ec2")
    bad = []
    for name, d in table["shapes"].items():
        shape = model.shape_for(name)
        if shape.type_name != d["t"]:
            bad.append("%s: type %s, model %s" % (name, d["t"], shape.type_name))
        elif d["t"] == "structure":
            for member, wire, sub in d["m"]:
                m = shape.members.get(member)
                if m is None or m.serialization.get("name", member) != wire or m.name != sub:
                    bad.append("%s.%s" % (name, member))
        elif d["t"] == "list" and shape.member.name != d["m"]:
            bad.append("%s: member" % name)
        elif "e" in d and not set(d["e"]) <= set(shape.enum or []):
            bad.append("%s: enum" % name)
    assert not bad, "ec2_shapes.json disagrees with botocore: %r" % bad[:20]


def EKS_US2():
    return client("eks", "us-east-2", SECOND)


@check("botocore: EC2 DescribeInstances, DescribeManagedPrefixLists, GetManagedPrefixListEntries, DescribeFlowLogs "
       "(paginators, filters, error codes)")
def _():
    ec2 = client("ec2", "us-east-2", SECOND)
    insts = [i for page in ec2.get_paginator("describe_instances").paginate(PaginationConfig={"PageSize": 5})
             for r in page["Reservations"] for i in r["Instances"]]
    assert_eq(sorted((i["State"]["Name"], i["SourceDestCheck"]) for i in insts),
              [("running", False), ("running", True), ("stopped", False)], "instances")
    assert insts[0]["LaunchTime"].year > 2000 and insts[0]["NetworkInterfaces"][0]["NetworkInterfaceId"]
    stopped = ec2.describe_instances(Filters=[{"Name": "instance-state-name", "Values": ["stopped"]}])
    assert_eq(len(stopped["Reservations"]), 1, "filter")
    expect_error(lambda: ec2.describe_instances(InstanceIds=["i-0000000000000000f"]), "InvalidInstanceID.NotFound")
    pls = [p for page in ec2.get_paginator("describe_managed_prefix_lists").paginate(PaginationConfig={"PageSize": 1})
           for p in page["PrefixLists"]]
    assert len(pls) >= 2 and all(p["OwnerId"] == "AWS" for p in pls), pls
    entries = [e for page in ec2.get_paginator("get_managed_prefix_list_entries").paginate(
        PrefixListId=pls[0]["PrefixListId"], PaginationConfig={"PageSize": 2}) for e in page["Entries"]]
    assert len(entries) >= 4 and all("/" in e["Cidr"] for e in entries), entries
    expect_error(lambda: ec2.get_managed_prefix_list_entries(PrefixListId="pl-00000000000000000"),
                 "InvalidPrefixListID.NotFound")
    vpc = EKS_US2().describe_cluster(name="dev-natinst")["cluster"]["resourcesVpcConfig"]["vpcId"]
    fl = ec2.describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [vpc]}])["FlowLogs"]
    assert_eq([(f["ResourceId"], f["FlowLogStatus"]) for f in fl], [(vpc, "ACTIVE")], "flow logs")
    assert fl[0]["CreationTime"].year > 2000


@check("botocore: IAM GetRole, ListAttachedRolePolicies / ListRolePolicies (paginators), GetRolePolicy, GetPolicy, "
       "GetPolicyVersion (documents decoded by botocore), SimulatePrincipalPolicy, NoSuchEntity")
def _():
    iam = client("iam")
    role = iam.get_role(RoleName="eksClusterRole")["Role"]
    assert_eq(role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"], {"Service": "eks.amazonaws.com"},
              "botocore URL-decodes and parses the trust policy")
    assert role["CreateDate"].year > 2000
    att = [a for page in iam.get_paginator("list_attached_role_policies").paginate(
        RoleName="eksClusterRole", PaginationConfig={"PageSize": 1}) for a in page["AttachedPolicies"]]
    assert_eq([a["PolicyName"] for a in att], ["AmazonEKSClusterPolicy"], "attached")
    names = [n for page in iam.get_paginator("list_role_policies").paginate(RoleName="EksReadOnly")
             for n in page["PolicyNames"]]
    assert_eq(names, ["ekssim-access"], "inline")
    doc = iam.get_role_policy(RoleName="EksReadOnly", PolicyName="ekssim-access")["PolicyDocument"]
    assert_eq(doc["Statement"][1]["Effect"], "Deny", "inline document")
    pol = iam.get_policy(PolicyArn=att[0]["PolicyArn"])["Policy"]
    ver = iam.get_policy_version(PolicyArn=att[0]["PolicyArn"], VersionId=pol["DefaultVersionId"])["PolicyVersion"]
    assert "ec2:DescribeDhcpOptions" in ver["Document"]["Statement"][0]["Action"]
    res = iam.simulate_principal_policy(PolicySourceArn="arn:aws:iam::111122223333:role/eksClusterRole",
                                        ActionNames=["ec2:DescribeVpcs", "ec2:DescribeDhcpOptions", "ec2:DeleteVpc"])
    assert_eq([r["EvalDecision"] for r in res["EvaluationResults"]], ["allowed", "allowed", "implicitDeny"],
              "decisions")
    assert_eq(res["EvaluationResults"][0]["MatchedStatements"][0]["SourcePolicyType"], "aws-managed", "matched")
    pages = list(iam.get_paginator("simulate_principal_policy").paginate(
        PolicySourceArn="arn:aws:iam::111122223333:role/eksClusterRole",
        ActionNames=["ec2:DescribeVpcs", "ec2:DescribeDhcpOptions"], PaginationConfig={"PageSize": 1}))
    assert_eq(sum(len(p["EvaluationResults"]) for p in pages), 2, "paginated results")
    e = expect_error(lambda: iam.get_role(RoleName="nope"), "NoSuchEntity")
    assert_eq(e.response["ResponseMetadata"]["HTTPStatusCode"], 404, "status")
    # IAM is global: a client signs for us-east-1 (a custom endpoint_url signs for the client's region)
    r2 = client("iam", "us-east-1", SECOND).simulate_principal_policy(
        PolicySourceArn="arn:aws:iam::444455556666:role/eksClusterRole-dev-role", ActionNames=["ec2:DescribeVpcs"])
    assert r2["EvaluationResults"][0]["EvalDecision"] in ("implicitDeny", "explicitDeny"), r2


@check("botocore: Organizations ListAccounts parses; this botocore predates State and the retired Status is not sent")
def _():
    accts = client("organizations").list_accounts()["Accounts"]
    assert_eq(len(accts), 3, "accounts")
    assert all("Status" not in a for a in accts), accts


def k8s_token_url(cluster, creds=MAIN):
    """The `aws eks get-token` recipe: a presigned GetCallerIdentity URL with x-k8s-aws-id signed."""
    sts = SESSION.create_client("sts", region_name="us-east-1", aws_access_key_id=creds[0],
                                aws_secret_access_key=creds[1])

    def add_header(params, context, **kw):
        if "x-k8s-aws-id" in params:
            context["x-k8s-aws-id"] = params.pop("x-k8s-aws-id")

    def inject(request, **kw):
        if "x-k8s-aws-id" in request.context:
            request.headers["x-k8s-aws-id"] = request.context["x-k8s-aws-id"]
    sts.meta.events.register("provide-client-params.sts.GetCallerIdentity", add_header)
    sts.meta.events.register("before-sign.sts.GetCallerIdentity", inject)
    return sts.generate_presigned_url("get_caller_identity", Params={"x-k8s-aws-id": cluster}, ExpiresIn=60,
                                      HttpMethod="GET")


@check("botocore: the `aws eks get-token` token is accepted by the cluster's Kubernetes API (endpoint and CA from "
       "DescribeCluster)")
def _():
    import ssl
    url = k8s_token_url("prod-api")
    tok = "k8s-aws-v1." + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")
    c = EKS.describe_cluster(name="prod-api")["cluster"]
    ca = base64.b64decode(c["certificateAuthority"]["data"]).decode()
    req = urllib.request.Request(c["endpoint"] + "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations",
                                 headers={"Authorization": "Bearer " + tok})
    with urllib.request.urlopen(req, timeout=10, context=ssl.create_default_context(cadata=ca)) as r:
        body = json.loads(r.read().decode())
    assert_eq(body["kind"], "MutatingWebhookConfigurationList", "kind")
    other = c["endpoint"].replace("/prod-api", "/legacy-batch")
    try:
        urllib.request.urlopen(urllib.request.Request(other + "/version", headers={"Authorization": "Bearer " + tok}),
                               timeout=10, context=ssl.create_default_context(cadata=ca))
        raise AssertionError("a token for prod-api opened legacy-batch")
    except urllib.error.HTTPError as e:
        assert_eq(e.code, 401, "another cluster")


EXPLICIT_CALLS = {
    "Vpcs": ("describe_vpcs", "VpcIds", "VpcId"), "Subnets": ("describe_subnets", "SubnetIds", "SubnetId"),
    "RouteTables": ("describe_route_tables", "RouteTableIds", "RouteTableId"),
    "NetworkAcls": ("describe_network_acls", "NetworkAclIds", "NetworkAclId"),
    "SecurityGroups": ("describe_security_groups", "GroupIds", "GroupId"),
    "NatGateways": ("describe_nat_gateways", "NatGatewayIds", "NatGatewayId"),
    "DhcpOptions": ("describe_dhcp_options", "DhcpOptionsIds", "DhcpOptionsId"),
    "InternetGateways": ("describe_internet_gateways", "InternetGatewayIds", "InternetGatewayId"),
    "EgressOnlyInternetGateways": ("describe_egress_only_internet_gateways", "EgressOnlyInternetGatewayIds",
                                   "EgressOnlyInternetGatewayId"),
    "TransitGateways": ("describe_transit_gateways", "TransitGatewayIds", "TransitGatewayId"),
    "TransitGatewayVpcAttachments": ("describe_transit_gateway_vpc_attachments", "TransitGatewayAttachmentIds",
                                     "TransitGatewayAttachmentId"),
    "ManagedPrefixLists": ("describe_managed_prefix_lists", "PrefixListIds", "PrefixListId"),
    "FlowLogs": ("describe_flow_logs", "FlowLogIds", "FlowLogId"),
    "Instances": ("describe_instances", "InstanceIds", "InstanceId"),
}
EXTENSIONS = {"EnableDnsSupport", "EnableDnsHostnames", "Entries"}


def _contains(stated, got, path, skip=()):
    """Every stated field is in what botocore parsed, with the same value (lists: each stated item somewhere)."""
    if isinstance(stated, dict):
        assert isinstance(got, dict), "%s: %r is not an object" % (path, got)
        for k, v in stated.items():
            if k in skip:
                continue
            assert k in got, "%s.%s missing from botocore's parse (%r)" % (path, k, sorted(got))
            _contains(v, got[k], "%s.%s" % (path, k))
    elif isinstance(stated, list):
        assert isinstance(got, list), "%s: %r is not a list" % (path, got)
        for i, item in enumerate(stated):
            errs = []
            for g in got:
                try:
                    _contains(item, g, "%s[%d]" % (path, i))
                    break
                except AssertionError as e:
                    errs.append(str(e))
            else:
                raise AssertionError("%s[%d] %r not found in %r (%s)" % (path, i, item, got, errs[:1]))
    else:
        assert stated == got, "%s: stated %r, botocore parsed %r" % (path, stated, got)


if EXPLICIT_URL:
    @check("botocore: every resource fleets/explicit.json states comes back from EC2 exactly as stated (SDK names "
           "in, botocore's parse out)")
    def _():
        import json as _json
        spec = _json.load(open(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fleets",
                                            "explicit.json")))
        ec2 = client("ec2", url=EXPLICIT_URL)
        n = 0
        for net in spec["accounts"][0]["networks"]:
            for key, items in net["ec2"].items():
                op, param, idk = EXPLICIT_CALLS[key]
                got = getattr(ec2, op)(**{param: [o[idk] for o in items]})
                if key == "Instances":
                    got = [i for r in got["Reservations"] for i in r["Instances"]]
                else:
                    got = got[{"ManagedPrefixLists": "PrefixLists"}.get(key, key)]
                for o in items:
                    match = [g for g in got if g[idk] == o[idk]]
                    assert len(match) == 1, "%s %s" % (key, o[idk])
                    _contains(o, match[0], "%s.%s" % (net["name"], key), skip=EXTENSIONS)
                    n += 1
                    if key == "ManagedPrefixLists":
                        ent = ec2.get_managed_prefix_list_entries(PrefixListId=o[idk])["Entries"]
                        _contains(o["Entries"], ent, key + ".Entries")
        assert n >= 40, "checked %d resources" % n
        attr = ec2.describe_vpc_attribute(VpcId="vpc-0a00000000000a003", Attribute="enableDnsHostnames")
        assert_eq(attr["EnableDnsHostnames"]["Value"], False, "EnableDnsHostnames")


@check("botocore: STS GetCallerIdentity, AssumeRole (cross-account), GetSessionToken")
def _():
    assert_eq(STS.get_caller_identity()["Account"], "111122223333", "account")
    cr = STS.assume_role(RoleArn="arn:aws:iam::444455556666:role/EksAuditRole", RoleSessionName="boto",
                         DurationSeconds=900)["Credentials"]
    assert cr["AccessKeyId"].startswith("ASIA") and cr["Expiration"].year > 2000
    sts2 = client("sts", creds=(cr["AccessKeyId"], cr["SecretAccessKey"]), token=cr["SessionToken"])
    assert_eq(sts2.get_caller_identity()["Arn"], "arn:aws:sts::444455556666:assumed-role/EksAuditRole/boto", "arn")
    eks2 = client("eks", creds=(cr["AccessKeyId"], cr["SecretAccessKey"]), token=cr["SessionToken"])
    assert "dev-a" in eks2.list_clusters()["clusters"]
    expect_error(lambda: eks2.update_cluster_config(name="dev-a", logging={"clusterLogging": [
        {"types": ["api"], "enabled": True}]}), "AccessDeniedException")
    st = STS.get_session_token(DurationSeconds=900)["Credentials"]
    assert st["SessionToken"]
    expect_error(lambda: STS.assume_role(RoleArn="arn:aws:iam::444455556666:role/Nope", RoleSessionName="xx"),
                 "AccessDenied")
    expect_error(lambda: client("sts", creds=(MAIN[0], "wrong" * 8)).get_caller_identity(), "SignatureDoesNotMatch")


@check("botocore: AssumeRoleWithWebIdentity unsigned, and the web-identity credential provider")
def _():
    tok = "eyJhbGciOiJSUzI1NiJ9.ZWtzc2ltLWlyc2EtdG9rZW4.ekssim-irsa-signature"
    r = client("sts", creds=None).assume_role_with_web_identity(
        RoleArn="arn:aws:iam::111122223333:role/eksegress-irsa", RoleSessionName="irsa", WebIdentityToken=tok)
    assert r["Credentials"]["AccessKeyId"].startswith("ASIA")
    assert_eq(r["SubjectFromWebIdentityToken"], "system:serviceaccount:kube-system:eksegress", "subject")
    from botocore.credentials import AssumeRoleWithWebIdentityCredentialFetcher
    path = os.path.join(tempfile.mkdtemp(), "token")
    with open(path, "w") as f:
        f.write(tok)
    from botocore.utils import FileWebIdentityTokenLoader
    fetcher = AssumeRoleWithWebIdentityCredentialFetcher(
        client_creator=lambda *a, **kw: client("sts", creds=None), web_identity_token_loader=FileWebIdentityTokenLoader(path),
        role_arn="arn:aws:iam::111122223333:role/eksegress-irsa")
    creds = fetcher.fetch_credentials()
    assert creds["access_key"].startswith("ASIA")
    expect_error(lambda: client("sts", creds=None).assume_role_with_web_identity(
        RoleArn="arn:aws:iam::111122223333:role/eksegress-irsa", RoleSessionName="irsa", WebIdentityToken="not-a-known-token"),
        "InvalidIdentityToken")


@check("botocore: presigned GetCallerIdentity with x-k8s-aws-id (the `aws eks get-token` recipe) verifies")
def _():
    url = k8s_token_url("prod-api")
    # Debian's botocore 1.29 still defaults to the global endpoint (sts.amazonaws.com, signed for us-east-1)
    assert "x-k8s-aws-id" in url and url.startswith("https://sts."), url
    host = url.split("/")[2]
    path = url.split(host, 1)[1]
    c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)
    c.request("GET", path, headers={"Host": host, "x-k8s-aws-id": "prod-api", "Accept": "application/json"})
    r = c.getresponse()
    body = json.loads(r.read().decode())
    assert_eq(r.status, 200, "status")
    assert_eq(body["GetCallerIdentityResponse"]["GetCallerIdentityResult"]["Account"], "111122223333", "account")


@check("botocore: Organizations ListAccounts paginator and DescribeOrganization")
def _():
    org = client("organizations")
    ids = []
    for page in org.get_paginator("list_accounts").paginate(PaginationConfig={"PageSize": 1}):
        ids += [a["Id"] for a in page["Accounts"]]
    assert_eq(ids, ["111122223333", "444455556666", "777788889999"], "accounts")
    assert_eq(org.describe_organization()["Organization"]["MasterAccountId"], "111122223333", "org")
    expect_error(lambda: client("organizations", creds=("AKIAEKSSIM0000000002",
                                                        "ekssim/SecondAccount/Secret+EXAMPLEKEY02")).list_accounts(),
                 "AccessDeniedException")


@check("botocore: IMDSv2 and container credential providers fetch working credentials")
def _():
    from botocore.utils import InstanceMetadataFetcher, ContainerMetadataFetcher
    f = InstanceMetadataFetcher(timeout=2, num_attempts=1, base_url=URL + "/")
    c = f.retrieve_iam_role_credentials()
    assert c.get("access_key", "").startswith("ASIA"), c.keys()
    s = client("sts", creds=(c["access_key"], c["secret_key"]), token=c["token"])
    assert ":assumed-role/ekssim-node-role/" in s.get_caller_identity()["Arn"]
    cf = ContainerMetadataFetcher()
    d = cf.retrieve_full_uri(URL + "/v1/credentials", headers={"Authorization": "ekssim-container-token"})
    assert d["AccessKeyId"].startswith("ASIA") and d["Token"]
    s = client("sts", creds=(d["AccessKeyId"], d["SecretAccessKey"]), token=d["Token"])
    assert ":assumed-role/ekssim-pod-role/" in s.get_caller_identity()["Arn"]


@check("botocore: standard retry mode rides through throttling and 5xx")
def _():
    # botocore sleeps up to 2^n s between attempts: stop as soon as both protocols retried once
    admin("POST", "/_sim/faults", {"reset": True, "seed": 5, "throttle_rate": "0.5@DescribeCluster",
                                   "error_rate": "0.5@DescribeVpcs"})
    try:
        eks = client("eks", retries={"mode": "standard", "max_attempts": 10})
        ec2 = client("ec2", retries={"mode": "standard", "max_attempts": 10})
        retried = [0, 0]
        for _ in range(12):
            if not retried[0]:
                retried[0] += eks.describe_cluster(name="prod-api")["ResponseMetadata"]["RetryAttempts"]
            if not retried[1]:
                retried[1] += ec2.describe_vpcs()["ResponseMetadata"]["RetryAttempts"]
            if all(retried):
                break
        assert all(retried), "no retries happened: %r" % retried
    finally:
        admin("POST", "/_sim/faults", {"reset": True})


def _aws(*args, env_extra=None):
    env = dict(os.environ, AWS_ACCESS_KEY_ID=MAIN[0], AWS_SECRET_ACCESS_KEY=MAIN[1], AWS_DEFAULT_REGION="us-east-1",
               AWS_PAGER="", AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null")
    env.pop("AWS_PROFILE", None)
    env.update(env_extra or {})
    p = subprocess.run(["/usr/bin/aws"] + list(args), capture_output=True, text=True, env=env, timeout=60)
    if p.returncode != 0:
        raise AssertionError("aws %s: rc %d: %s" % (" ".join(args), p.returncode, p.stderr[-500:]))
    return p.stdout


if os.path.exists("/usr/bin/aws"):
    @check("awscli: eks list-clusters / describe-cluster, ec2 describe-subnets, sts get-caller-identity")
    def _():
        out = json.loads(_aws("eks", "list-clusters", "--endpoint-url", URL, "--output", "json"))
        assert_eq(len(out["clusters"]), 4, "clusters")
        out = json.loads(_aws("eks", "describe-cluster", "--name", "prod-api", "--endpoint-url", URL,
                              "--output", "json"))
        assert_eq(out["cluster"]["name"], "prod-api", "describe")
        out = json.loads(_aws("ec2", "describe-subnets", "--endpoint-url", URL, "--output", "json",
                              "--filters", "Name=tag:Name,Values=prod-use1-private-*"))
        assert_eq(len(out["Subnets"]), 3, "subnets")
        out = json.loads(_aws("sts", "get-caller-identity", "--endpoint-url", URL, "--output", "json"))
        assert_eq(out["Account"], "111122223333", "account")

    @check("awscli: `aws eks get-token` token decodes to a presigned URL the simulator accepts")
    def _():
        out = json.loads(_aws("eks", "get-token", "--cluster-name", "prod-api", "--output", "json"))
        tok = out["status"]["token"]
        assert tok.startswith("k8s-aws-v1.") and "=" not in tok
        url = base64.urlsafe_b64decode(tok[len("k8s-aws-v1."):] + "=" * (-len(tok) % 4)).decode()
        host = url.split("/")[2]
        path = url.split(host, 1)[1]
        c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)
        c.request("GET", path, headers={"Host": host, "x-k8s-aws-id": "prod-api", "Accept": "application/json"})
        r = c.getresponse()
        data = r.read().decode()
        assert_eq(r.status, 200, "status (%s)" % data[:200])
        arn = json.loads(data)["GetCallerIdentityResponse"]["GetCallerIdentityResult"]["Arn"]
        assert_eq(arn, "arn:aws:iam::111122223333:user/ekssim-admin", "arn")
else:
    print("skip - /usr/bin/aws not installed")

admin("POST", "/_sim/reset", {})
