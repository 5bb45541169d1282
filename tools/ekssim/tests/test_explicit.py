"""Explicit networks: a fleet network's ec2 object (SDK shapes), validation, ground truth."""

import collections
import copy
import os
import subprocess
import sys

import refcheck
from harness import EKSSIM, ROOT, T, Server, ec2_list, eq, fleet_file, ok, shared, xml_to_obj
from test_ec2 import F as _F
from sigv4_client import Client
from sim import fleet as fleetmod
from sim import generator
from sim.core import Simulator

EXPLICIT = os.path.join(ROOT, "fleets", "explicit.json")


def _srv():
    return shared("explicit", "--time-scale", "0", "--fleet", EXPLICIT)


def _run(spec):
    p = subprocess.run([sys.executable, EKSSIM, "--fleet", fleet_file(spec), "--dump-fleet", os.devnull],
                       capture_output=True, text=True, timeout=60)
    return p.returncode, p.stderr


def base_spec():
    """A one-network fleet whose network states its VPC and two subnets."""
    return {"format": "ekssim-fleet/1", "accounts": [{
        "id": "111122223333", "users": [{"name": "a", "access_key_id": "AKIDEXAMPLE",
                                         "secret_access_key": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}],
        "networks": [{"name": "n", "region": "us-east-1", "ec2": {
            "Vpcs": [{"VpcId": "vpc-0b000000000000001", "CidrBlock": "10.1.0.0/16"}],
            "Subnets": [{"SubnetId": "subnet-0b000000000000011", "AvailabilityZone": "us-east-1a"},
                        {"SubnetId": "subnet-0b000000000000012", "AvailabilityZone": "us-east-1b"}]}}],
        "clusters": [{"name": "c", "region": "us-east-1", "network": "n"}]}]}


@T("explicit: every cluster of fleets/explicit.json (one trap per network) gets its stated ground truth "
   "from a wire-level preflight")
def t_explicit_truth():
    s = _srv()
    bad = []
    clusters = s.admin("GET", "/_sim/state")["clusters"]
    for c in clusters:
        got = refcheck.check(Client(s.port, region=c["region"]), c["name"])
        if got != c["expect_fail"]:
            bad.append("%s: preflight %r, stated %r" % (c["name"], got, c["expect_fail"]))
    eq(bad, [], "ground truth")
    eq(len(clusters), 9, "clusters")
    fails = set(x for c in clusters for x in c["expect_fail"])
    ok({"nacl_outbound_443", "egress_device_nat", "route_igw_only", "dhcp_amazon_dns", "ipv6_egress_only",
        "egress_device_instance", "subnets_same_vpc", "iam_role_describe", "vpc_dns_hostnames"} <= fails, fails)


@T("explicit: stated resources are served in wire form with AWS's defaults (local route, catch-all NACL "
   "entries sorted, default-NACL association, tcp protocol names, instance ENIs, prefix list entries)")
def t_explicit_shapes():
    c = Client(_srv().port)
    rt = ec2_list(c.ec2("DescribeRouteTables", _F(RouteTableId=["rtb-0a0000000000a0010"])), "routeTableSet")[0]
    eq(rt["routeSet"][0], {"destinationCidrBlock": "10.101.0.0/16", "gatewayId": "local", "origin": "CreateRouteTable",
                           "state": "active"}, "the local route is added first")
    eq(rt["routeSet"][1]["state"], "active", "state defaults to active")
    eq((rt["associationSet"][0]["main"], rt["ownerId"], rt["vpcId"]), ("true", "111122223333", "vpc-0a00000000000a001"),
       "defaults")
    acl = ec2_list(c.ec2("DescribeNetworkAcls", _F(NetworkAclId=["acl-0a0000000000a0011"])), "networkAclSet")[0]
    order = [(e["egress"], int(e["ruleNumber"])) for e in acl["entrySet"]]
    eq(order, [("true", 90), ("true", 100), ("true", 32767), ("false", 100), ("false", 32767)],
       "egress first, by rule number, with the catch-all denies")
    eq(acl["entrySet"][0]["portRange"], {"from": "443", "to": "443"}, "port range")
    dacl = ec2_list(c.ec2("DescribeNetworkAcls", _F(("vpc-id", ["vpc-0a00000000000a005"]),
                                                    ("default", ["true"]))), "networkAclSet")[0]
    eq(sorted(a["subnetId"] for a in dacl["associationSet"]),
       ["subnet-0a0000000000a0051", "subnet-0a0000000000a0052", "subnet-0a0000000000a0053", "subnet-0a0000000000a0054"],
       "unassociated subnets belong to the default NACL")
    sg = ec2_list(c.ec2("DescribeSecurityGroups", _F(GroupId=["sg-0a0000000000a0061"])), "securityGroupInfo")[0]
    eq(sg["ipPermissionsEgress"][0]["prefixListIds"], [{"prefixListId": "pl-0a0000000000a0061"}], "prefix list rule")
    eq(sg["ipPermissionsEgress"][1]["groups"][0]["userId"], "111122223333", "group pair owner")
    rt = ec2_list(c.ec2("DescribeRouteTables", _F(RouteTableId=["rtb-0a0000000000a0060"])), "routeTableSet")[0]
    d = [r for r in rt["routeSet"] if r.get("destinationCidrBlock") == "0.0.0.0/0"][0]
    ok(d["instanceId"] == "i-0a0000000000a0061" and d["networkInterfaceId"].startswith("eni-") and
       d["instanceOwnerId"] == "111122223333", "a route to an instance names its ENI and owner: %r" % d)
    eni = ec2_list(c.ec2("DescribeNetworkInterfaces", _F(("attachment.instance-id", ["i-0a0000000000a0061"]))),
                   "networkInterfaceSet")
    eq([e["networkInterfaceId"] for e in eni], [d["networkInterfaceId"]], "the instance's ENI")
    eq((eni[0]["sourceDestCheck"], eni[0]["attachment"]["instanceId"]), ("false", "i-0a0000000000a0061"), "ENI")
    entries = ec2_list(c.ec2("GetManagedPrefixListEntries", {"PrefixListId": "pl-0a0000000000a0061"}), "entrySet")
    eq(entries, [{"cidr": "0.0.0.0/0", "description": "the internet"}], "prefix list entries")
    _, obj = xml_to_obj(c.ec2("DescribeVpcAttribute", {"VpcId": "vpc-0a00000000000a003",
                                                       "Attribute": "enableDnsHostnames"}).text)
    eq(obj["enableDnsHostnames"]["value"], "false", "EnableDnsHostnames")
    fl = ec2_list(c.ec2("DescribeFlowLogs", _F(("resource-id", ["vpc-0a00000000000a006"]))), "flowLogSet")
    eq([f["flowLogId"] for f in fl], ["fl-0a0000000000a0061"], "flow log defaults to the VPC")
    eigw = ec2_list(c.ec2("DescribeEgressOnlyInternetGateways", _F(("attachment.vpc-id", ["vpc-0a00000000000a005"]))),
                    "egressOnlyInternetGatewaySet")
    eq([(g["egressOnlyInternetGatewayId"], g["attachmentSet"][0]["state"]) for g in eigw],
       [("eigw-0a0000000000a0051", "attached")], "egress-only internet gateway")
    enis = ec2_list(c.ec2("DescribeNetworkInterfaces", _F(("description", ["Amazon EKS deny-before-allow"]))),
                    "networkInterfaceSet")
    eq(sorted(e["subnetId"] for e in enis), ["subnet-0a0000000000a0011", "subnet-0a0000000000a0012"],
       "the cluster's EKS ENIs in its stated subnets")
    eq(enis[0]["groupSet"][0], {"groupId": "sg-0a0000000000a0011", "groupName": "cluster"}, "the stated cluster SG")
    igw = ec2_list(c.ec2("DescribeInternetGateways", _F(("attachment.vpc-id", ["vpc-0a00000000000a003"]))),
                   "internetGatewaySet")
    eq([(g["internetGatewayId"], g["attachmentSet"][0]["state"]) for g in igw],
       [("igw-0a0000000000a0031", "available")], "internet gateway attachment")


@T("explicit: kinds not stated are still generated from the knobs and wired to the stated ones")
def t_partial():
    spec = base_spec()
    net = spec["accounts"][0]["networks"][0]
    net["ec2"]["NatGateways"] = [{"NatGatewayId": "nat-0b000000000000021", "State": "failed"}]
    net["ec2"]["DhcpOptions"] = [{"DhcpOptionsId": "dopt-0b000000000000031"}]
    net["ec2"]["Vpcs"][0]["EnableDnsSupport"] = False
    net["ec2"]["VpcEndpoints"] = [{"ServiceName": "com.amazonaws.us-east-1.eks"},
                                  {"ServiceName": "com.amazonaws.us-east-1.s3", "VpcEndpointType": "Gateway"}]
    spec["accounts"][0]["clusters"][0]["expect_fail"] = ["egress_device_nat", "vpc_dns_support"]
    spec["accounts"][0]["clusters"].append({"name": "unstated", "region": "us-east-1", "network": "n"})
    s = Server("--time-scale", "0", "--fleet", fleet_file(spec))
    try:
        c = Client(s.port)
        eq(refcheck.check(c, "c"), ["egress_device_nat", "vpc_dns_support"], "preflight")
        rts = ec2_list(c.ec2("DescribeRouteTables", _F(("association.subnet-id", ["subnet-0b000000000000011"]))),
                       "routeTableSet")
        d = [r for r in rts[0]["routeSet"] if r.get("destinationCidrBlock") == "0.0.0.0/0"][0]
        eq(d["natGatewayId"], "nat-0b000000000000021", "generated route to the stated NAT gateway")
        vpc = ec2_list(c.ec2("DescribeVpcs"), "vpcSet")[0]
        eq(vpc["dhcpOptionsId"], "dopt-0b000000000000031", "the stated VPC uses the stated DHCP options")
        subnets = ec2_list(c.ec2("DescribeSubnets"), "subnetSet")
        eq(sorted(x["subnetId"] for x in subnets), ["subnet-0b000000000000011", "subnet-0b000000000000012"],
           "no generated public subnets beside stated ones")
        eq(sorted(x["cidrBlock"] for x in subnets), ["10.1.0.0/20", "10.1.16.0/20"], "CIDRs carved from the VPC")
        eq(int(subnets[0]["availableIpAddressCount"]), 4091, "free addresses of a /20")
        eps = ec2_list(c.ec2("DescribeVpcEndpoints", _F(("vpc-id", ["vpc-0b000000000000001"]),
                                                        ("service-name", ["com.amazonaws.us-east-1.eks"]))),
                       "vpcEndpointSet")
        eq(len(eps), 1, "endpoint by service name")
        ep = eps[0]
        eq((ep["vpcEndpointType"], ep["privateDnsEnabled"], ep["state"]), ("Interface", "true", "available"),
           "interface endpoint defaults")
        eq(ep["subnetIdSet"], ["subnet-0b000000000000011", "subnet-0b000000000000012"], "in the cluster subnets")
        ok(ep["dnsEntrySet"][1]["dnsName"] == "eks.us-east-1.amazonaws.com", "private DNS name")
        st = {x["name"]: x for x in s.admin("GET", "/_sim/state")["clusters"]}
        eq(st["unstated"]["expect_fail"], None, "an explicit network without stated ground truth has none")
    finally:
        s.stop()


@T("explicit: resource invariants hold on sample, explicit and generated fleets (one NACL per subnet, at most "
   "one route-table association, one main table per VPC, every reference resolves)")
def t_invariants():
    specs = [fleetmod.load(), fleetmod.load(EXPLICIT),
             generator.generate("clusters=200,accounts=2,regions=2,seed=5,defects=0.8,multi=0.4,share=3")]
    bad = []
    for spec in specs:
        sim = Simulator(copy.deepcopy(spec), time_scale=0)
        pairs = set((a["id"], n["region"]) for a in spec["accounts"] for n in a.get("networks", []))
        for acct, region in sorted(pairs):
            st = sim.ec2.store(acct, region)
            nacl = collections.Counter(a["subnetId"] for x in st.network_acls.values() for a in x["associationSet"])
            rta = collections.Counter(a["subnetId"] for x in st.route_tables.values() for a in x["associationSet"]
                                      if "subnetId" in a)
            mains = collections.Counter(x["vpcId"] for x in st.route_tables.values() for a in x["associationSet"]
                                        if a.get("main"))
            for sid, sub in st.subnets.items():
                if nacl[sid] != 1 or rta[sid] > 1 or sub["vpcId"] not in st.vpcs:
                    bad.append("%s %s: %d NACLs, %d tables" % (region, sid, nacl[sid], rta[sid]))
            bad += ["%s %s: %d main tables" % (region, v, mains[v]) for v in st.vpcs if mains[v] != 1]
            bad += ["%s NAT %s in no subnet" % (region, k) for k, n in st.nat_gateways.items()
                    if n["subnetId"] not in st.subnets]
            for k, v in st.vpcs.items():
                if v["dhcpOptionsId"] not in st.dhcp_options:
                    bad.append("%s %s: unknown DHCP options" % (region, k))
            for i in st.instances.values():
                for n in i["networkInterfaceSet"]:
                    if n["networkInterfaceId"] not in st.network_interfaces:
                        bad.append("%s: ENI of %s not in DescribeNetworkInterfaces" % (region, i["instanceId"]))
    eq(bad[:10], [], "invariants")


def _err_cases():
    def with_ec2(**kinds):
        spec = base_spec()
        spec["accounts"][0]["networks"][0]["ec2"].update(kinds)
        return spec
    cases = []
    cases.append((with_ec2(Routes=[]), "unknown resource kind 'Routes'"))
    cases.append((with_ec2(RouteTables=[{"Associations": [{"Main": True}],
                                         "Routes": [{"Destination": "0.0.0.0/0", "GatewayId": "igw-0"}]}]),
                  "RouteTables[0].Routes[0]: needs exactly one of DestinationCidrBlock"))
    cases.append((with_ec2(RouteTables=[{"Associations": [{"Main": True}],
                                         "Routes": [{"DestinationCidrBlock": "0.0.0.0/0", "VpcEndpointId": "vpce-1"}]}]),
                  "GatewayId: vpce-"))
    cases.append((with_ec2(RouteTables=[{"Associations": [{"Main": True}], "Bogus": 1}]),
                  "unknown field 'Bogus' for RouteTable"))
    cases.append((with_ec2(RouteTables=[{"Associations": [{"Main": True}], "Routes": [
        {"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "igw-1", "State": "broken"}]}]), "is not one of active"))
    cases.append((with_ec2(RouteTables=[{"RouteTableId": "rt-1", "Associations": [{"Main": True}]}]),
                  "must start with rtb-"))
    cases.append((with_ec2(RouteTables=[{"Associations": [{"SubnetId": "subnet-0b000000000000011"}]}]),
                  "exactly one main route table"))
    cases.append((with_ec2(NetworkAcls=[{"Entries": [{"RuleNumber": "100", "Protocol": "-1", "RuleAction": "allow",
                                                      "Egress": True, "CidrBlock": "0.0.0.0/0"}],
                                         "IsDefault": True}]), "expected an integer"))
    cases.append((with_ec2(NetworkAcls=[{"Entries": [{"RuleNumber": 100, "Protocol": "tcp", "RuleAction": "allow",
                                                      "Egress": True, "CidrBlock": "0.0.0.0/0"}],
                                         "IsDefault": True}]), "protocol number"))
    cases.append((with_ec2(NetworkAcls=[{"Entries": [{"RuleNumber": 100, "Protocol": "-1", "RuleAction": "allow",
                                                      "CidrBlock": "0.0.0.0/0"}], "IsDefault": True}]),
                  "Egress is required"))
    cases.append((with_ec2(NetworkAcls=[{"Associations": [{"SubnetId": "subnet-0b000000000000011"}]}]),
                  "no network ACL association"))
    cases.append((with_ec2(NetworkAcls=[{"IsDefault": True, "Associations": [{"SubnetId": "subnet-0b000000000000011"}]},
                                        {"Associations": [{"SubnetId": "subnet-0b000000000000011"}]}]),
                  "associated with network ACLs"))
    two = base_spec()
    two["accounts"][0]["networks"][0]["ec2"]["Vpcs"].append({"VpcId": "vpc-0b000000000000002"})
    cases.append((two, "exactly one VPC"))
    sub = base_spec()
    sub["accounts"][0]["networks"][0]["ec2"]["Subnets"][0]["VpcId"] = "vpc-0b00000000000000f"
    cases.append((sub, "is not this network's VPC"))
    az = base_spec()
    az["accounts"][0]["networks"][0]["ec2"]["Subnets"][0]["AvailabilityZone"] = "eu-west-1a"
    cases.append((az, "is not a zone of us-east-1"))
    d = base_spec()
    d["accounts"][0]["networks"][0]["ec2"]["NetworkAcls"] = [{"IsDefault": True}]
    d["accounts"][0]["networks"][0]["defects"] = ["nacl_443_blocked"]
    cases.append((d, "acts on ec2.NetworkAcls"))
    k = base_spec()
    k["accounts"][0]["networks"].append({"name": "knobs", "region": "us-east-1"})
    k["accounts"][0]["clusters"].append({"name": "k", "region": "us-east-1", "network": "knobs",
                                         "subnet_ids": ["subnet-0b000000000000011"]})
    cases.append((k, "needs a network with explicit ec2.Subnets"))
    g = base_spec()
    g["accounts"][0]["networks"][0]["ec2"]["SecurityGroups"] = [{"GroupId": "sg-0b000000000000041"}]
    g["accounts"][0]["clusters"][0]["cluster_security_group_id"] = "sg-0b00000000000004f"
    cases.append((g, "is not one of the network's ec2.SecurityGroups"))
    e = base_spec()
    e["accounts"][0]["clusters"][0]["expect_fail"] = ["route_default", "no_such_check"]
    cases.append((e, "expect_fail must be a list of check ids"))
    dup = base_spec()
    n2 = copy.deepcopy(dup["accounts"][0]["networks"][0])
    n2["name"] = "n2"
    n2["ec2"]["Vpcs"][0]["VpcId"] = "vpc-0b000000000000002"
    dup["accounts"][0]["networks"].append(n2)
    cases.append((dup, "is already used by another network"))
    sn = base_spec()
    sn["accounts"][0]["clusters"][0]["subnet_ids"] = ["subnet-0b00000000000001f"]
    cases.append((sn, "subnet_ids: subnet-0b00000000000001f is not a subnet"))
    return cases


@T("explicit: malformed explicit networks are refused with exit code 64 and a message naming the path")
def t_errors():
    out = []
    for spec, frag in _err_cases():
        rc, err = _run(spec)
        good = rc == 64 and frag in err and "Traceback" not in err
        out.append((good, "explicit error: %s" % frag, None if good else "rc %d: %s" % (rc, err.strip()[-400:])))
    rc, err = _run(base_spec())
    out.append((rc == 0, "explicit: the minimal explicit fleet is accepted", err))
    return out


def _leaves(o, path=()):
    if isinstance(o, dict):
        for k, v in o.items():
            yield from _leaves(v, path + (k,))
    elif isinstance(o, list):
        for i, v in enumerate(o):
            yield from _leaves(v, path + (i,))
    yield path


@T("explicit: 400 seeded random corruptions of fleets/explicit.json are each accepted or refused as a fleet "
   "error, never a crash")
def t_fuzz():
    import random
    base = fleetmod.load(EXPLICIT)
    paths = [p for p in _leaves(base) if p]
    rng = random.Random(11)
    values = [None, True, 0, -1, 70000, "", "x", "0.0.0.0/0", "sg-1", [], [1], {}, {"a": 1}, 1.5]
    crashes = []
    refused = 0
    for n in range(400):
        spec = copy.deepcopy(base)
        path = rng.choice(paths)
        o = spec
        for k in path[:-1]:
            o = o[k]
        if rng.random() < 0.2 and isinstance(o, dict):
            del o[path[-1]]
        else:
            o[path[-1]] = rng.choice(values)
        try:
            fleetmod.validate(spec)
            sim = Simulator(spec, time_scale=0)
            for a in spec["accounts"]:
                for c in a.get("clusters", []):
                    sim.ec2.store(a["id"], c["region"])
        except fleetmod.FleetError:
            refused += 1
        except Exception as e:     # noqa: B902 - any other exception is the failure this test looks for
            crashes.append("%r -> %s: %s" % (path, type(e).__name__, e))
    eq(crashes[:5], [], "crashes")
    ok(refused > 100, "most corruptions are refused: %d" % refused)
