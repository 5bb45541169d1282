#!/usr/bin/python3
"""Official-client check: Debian's botocore (and awscli) against the simulator.

  /usr/bin/python3 tools/ekssim/tests/official_client.py http://127.0.0.1:PORT

Prints one line per check: "ok - NAME", "not ok - NAME" (followed by "# ..."
diagnostics) or "skip - REASON".  The simulator must run the default fleet with
--time-scale 0.  Debian's botocore model predates controlPlaneEgressMode and drops
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


def client(service, region="us-east-1", creds=MAIN, token=None, **cfg):
    kw = {}
    if cfg:
        kw["config"] = Config(**cfg)
    if creds is None:
        kw["config"] = Config(signature_version=UNSIGNED)
        return SESSION.create_client(service, region_name=region, endpoint_url=URL, **kw)
    return SESSION.create_client(service, region_name=region, endpoint_url=URL, aws_access_key_id=creds[0],
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
    if service == "sts":
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
    assert not bad, "elements unknown to the model: %r" % bad


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
    sts = SESSION.create_client("sts", region_name="us-east-1", aws_access_key_id=MAIN[0],
                                aws_secret_access_key=MAIN[1])

    def add_header(params, context, **kw):
        if "x-k8s-aws-id" in params:
            context["x-k8s-aws-id"] = params.pop("x-k8s-aws-id")

    def inject(request, **kw):
        if "x-k8s-aws-id" in request.context:
            request.headers["x-k8s-aws-id"] = request.context["x-k8s-aws-id"]
    sts.meta.events.register("provide-client-params.sts.GetCallerIdentity", add_header)
    sts.meta.events.register("before-sign.sts.GetCallerIdentity", inject)
    url = sts.generate_presigned_url("get_caller_identity", Params={"x-k8s-aws-id": "prod-api"}, ExpiresIn=60,
                                     HttpMethod="GET")
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
