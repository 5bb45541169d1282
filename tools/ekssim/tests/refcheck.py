"""A reference implementation of every preflight check id the simulator knows, over the wire.

It exists to prove that the simulator's recorded ground truth (expect_fail)
matches what a careful preflight sees through the EKS and EC2 APIs.  The
semantics follow tools/ekssim/README.md ("Preflight check ids").
"""

import ipaddress

from harness import ec2_list, xml_to_obj


def _ids(prefix, ids):
    return dict(("%s.%d" % (prefix, i + 1), v) for i, v in enumerate(ids))


def _filters(*pairs):
    out = {}
    for i, (name, values) in enumerate(pairs):
        out["Filter.%d.Name" % (i + 1)] = name
        for j, v in enumerate(values):
            out["Filter.%d.Value.%d" % (i + 1, j + 1)] = v
    return out


def _b(v):
    return v == "true" or v is True


def _net(c):
    return ipaddress.ip_network(c, strict=False)


def nacl_allows(entries, egress, lo, hi, target):
    """First match by rule number.  An allow decides only if its CIDR contains the
    target and its ports cover lo..hi; a deny decides if it overlaps at all."""
    t = _net(target)
    rel = []
    for e in entries:
        if _b(e["egress"]) != egress:
            continue
        cidr = e.get("cidrBlock") or e.get("ipv6CidrBlock")
        if not cidr or _net(cidr).version != t.version:
            continue
        rel.append((int(e["ruleNumber"]), e, _net(cidr)))
    rel.sort(key=lambda x: x[0])
    for _, e, n in rel:
        if e["protocol"] not in ("-1", "6"):
            continue
        pr = e.get("portRange")
        plo, phi = (int(pr["from"]), int(pr["to"])) if pr and e["protocol"] != "-1" else (0, 65535)
        if e["ruleAction"] == "allow":
            if n.supernet_of(t) and plo <= lo and phi >= hi:
                return True
        else:
            if n.overlaps(t) and plo <= hi and phi >= lo:
                return False
    return False


def sg_allows(perms, port, target, group_ok=False, prefix_lists=None):
    """prefix_lists maps a managed prefix list id to its CIDRs (GetManagedPrefixListEntries)."""
    t = _net(target)
    for p in perms:
        proto = p["ipProtocol"]
        if proto not in ("-1", "tcp", "6"):
            continue
        if proto != "-1" and not (int(p["fromPort"]) <= port <= int(p["toPort"])):
            continue
        cidrs = [r["cidrIp"] for r in (p.get("ipRanges") or [])] + \
            [r["cidrIpv6"] for r in (p.get("ipv6Ranges") or [])]
        for r in (p.get("prefixListIds") or []):
            cidrs.extend((prefix_lists or {}).get(r["prefixListId"], []))
        for c in cidrs:
            if _net(c).version == t.version and _net(c).supernet_of(t):
                return True
        if group_ok and p.get("groups"):
            return True
    return False


def _prefix_lists(client, perms):
    out = {}
    for p in perms:
        for r in (p.get("prefixListIds") or []):
            pid = r["prefixListId"]
            if pid not in out:
                entries = ec2_list(client.ec2("GetManagedPrefixListEntries", {"PrefixListId": pid}), "entrySet")
                out[pid] = [e["cidr"] for e in entries]
    return out


def _instance_ok(client, route):
    """A NAT instance route target: the instance runs and its source/dest check is off."""
    iid = route.get("instanceId")
    if not iid:
        enis = ec2_list(client.ec2("DescribeNetworkInterfaces", _ids("NetworkInterfaceId",
                                                                     [route["networkInterfaceId"]])),
                        "networkInterfaceSet")
        iid = enis[0].get("attachment", {}).get("instanceId") if enis else None
        if not iid:
            return False
    res = ec2_list(client.ec2("DescribeInstances", _ids("InstanceId", [iid])), "reservationSet")
    insts = [i for r in res for i in r["instancesSet"]]
    return bool(insts) and insts[0]["instanceState"]["name"] == "running" and \
        insts[0]["sourceDestCheck"] == "false"


def role_can_describe(client, role_arn):
    """iam_role_describe: SimulatePrincipalPolicy allows ec2:DescribeVpcs and ec2:DescribeDhcpOptions."""
    r = client.iam("SimulatePrincipalPolicy", {"PolicySourceArn": role_arn,
                                                "ActionNames.member.1": "ec2:DescribeVpcs",
                                                "ActionNames.member.2": "ec2:DescribeDhcpOptions"})
    if r.status == 404:
        return False
    from harness import eq
    eq(r.status, 200, "SimulatePrincipalPolicy (%s)" % r.text[:300])
    _, obj = xml_to_obj(r.text)
    results = obj["SimulatePrincipalPolicyResult"]["EvaluationResults"]
    return len(results) == 2 and all(x["EvalDecision"] == "allowed" for x in results)


def check(client, name):
    """Return the sorted list of failing check ids for cluster `name`."""
    fails = set()
    r = client.eks("GET", "/clusters/" + name)
    c = r.json()["cluster"]
    if c["status"] != "ACTIVE":
        fails.add("cluster_status")
    ids = client.eks("GET", "/clusters/%s/updates" % name).json()["updateIds"]
    for uid in ids:
        u = client.eks("GET", "/clusters/%s/updates/%s" % (name, uid)).json()["update"]
        if u["status"] == "InProgress":
            fails.add("update_in_progress")
    vpc_cfg = c["resourcesVpcConfig"]
    vpc_id = vpc_cfg["vpcId"]
    ipv6 = c["kubernetesNetworkConfig"].get("ipFamily") == "ipv6"
    subnets = ec2_list(client.ec2("DescribeSubnets", _ids("SubnetId", vpc_cfg["subnetIds"])), "subnetSet")
    if len(set(s["vpcId"] for s in subnets)) > 1:
        fails.add("subnets_same_vpc")
    if len(set(s["availabilityZone"] for s in subnets)) < 2:
        fails.add("subnets_multi_az")
    if any(int(s["availableIpAddressCount"]) < 6 for s in subnets):
        fails.add("subnet_free_ips")
    vpc = ec2_list(client.ec2("DescribeVpcs", _ids("VpcId", [vpc_id])), "vpcSet")[0]
    vpc_cidr = vpc["cidrBlock"]
    for s in subnets:
        sid, svpc = s["subnetId"], s["vpcId"]
        rts = ec2_list(client.ec2("DescribeRouteTables", _filters(("association.subnet-id", [sid]))),
                       "routeTableSet")
        if not rts:
            rts = ec2_list(client.ec2("DescribeRouteTables", _filters(("vpc-id", [svpc]),
                                                                      ("association.main", ["true"]))),
                           "routeTableSet")
        routes = rts[0]["routeSet"] if rts else []
        default = [x for x in routes if x.get("destinationCidrBlock") == "0.0.0.0/0"]
        if not default:
            fails.add("route_default")
        else:
            d = default[0]
            if d["state"] == "blackhole":
                fails.add("route_blackhole")
            elif d.get("gatewayId", "").startswith("igw-"):
                # the cluster's ENIs have no public IPv4 address: an internet gateway alone does not serve them
                fails.add("route_igw_only")
            elif d.get("instanceId") or d.get("networkInterfaceId"):
                if not _instance_ok(client, d):
                    fails.add("egress_device_instance")
            elif d.get("natGatewayId"):
                ng = ec2_list(client.ec2("DescribeNatGateways", _ids("NatGatewayId", [d["natGatewayId"]])),
                              "natGatewaySet")
                if not ng or ng[0]["state"] != "available":
                    fails.add("egress_device_nat")
            elif d.get("transitGatewayId"):
                tg = ec2_list(client.ec2("DescribeTransitGateways", _ids("TransitGatewayIds",
                                                                         [d["transitGatewayId"]])),
                              "transitGatewaySet")
                att = ec2_list(client.ec2("DescribeTransitGatewayVpcAttachments", _filters(
                    ("transit-gateway-id", [d["transitGatewayId"]]), ("vpc-id", [svpc]))),
                    "transitGatewayVpcAttachments")
                if not tg or tg[0]["state"] != "available" or not att or att[0]["state"] != "available":
                    fails.add("egress_device_tgw")
        if ipv6:
            v6 = [x for x in routes if x.get("destinationIpv6CidrBlock") == "::/0" and x["state"] == "active"
                  and x.get("egressOnlyInternetGatewayId")]
            good = False
            if v6:
                eg = ec2_list(client.ec2("DescribeEgressOnlyInternetGateways", _ids(
                    "EgressOnlyInternetGatewayId", [v6[0]["egressOnlyInternetGatewayId"]])),
                    "egressOnlyInternetGatewaySet")
                good = bool(eg) and any(a["vpcId"] == svpc and a["state"] == "attached"
                                        for a in eg[0]["attachmentSet"])
            if not good:
                fails.add("ipv6_egress_only")
        acls = ec2_list(client.ec2("DescribeNetworkAcls", _filters(("association.subnet-id", [sid]))),
                        "networkAclSet")
        entries = acls[0]["entrySet"] if acls else []
        fams = [("0.0.0.0/0", vpc_cidr)] + ([("::/0", None)] if ipv6 else [])
        for anyaddr, local in fams:
            if not nacl_allows(entries, True, 443, 443, anyaddr):
                fails.add("nacl_outbound_443")
            if local and not nacl_allows(entries, True, 10250, 10250, local):
                fails.add("nacl_outbound_10250")
            if not nacl_allows(entries, False, 1024, 65535, anyaddr):
                fails.add("nacl_inbound_ephemeral")
    groups = [vpc_cfg["clusterSecurityGroupId"]] + list(vpc_cfg["securityGroupIds"])
    sgs = ec2_list(client.ec2("DescribeSecurityGroups", _ids("GroupId", groups)), "securityGroupInfo")
    perms = [p for g in sgs for p in (g.get("ipPermissionsEgress") or [])]
    pls = _prefix_lists(client, perms)
    if not sg_allows(perms, 443, "0.0.0.0/0", prefix_lists=pls) or \
            (ipv6 and not sg_allows(perms, 443, "::/0", prefix_lists=pls)):
        fails.add("sg_egress_443")
    if not sg_allows(perms, 10250, vpc_cidr, group_ok=True, prefix_lists=pls):
        fails.add("sg_egress_10250")
    dopt = ec2_list(client.ec2("DescribeDhcpOptions", _ids("DhcpOptionsId", [vpc["dhcpOptionsId"]])),
                    "dhcpOptionsSet")[0]
    servers = [v["value"] for cfg in dopt["dhcpConfigurationSet"] if cfg["key"] == "domain-name-servers"
               for v in cfg["valueSet"]]
    if "AmazonProvidedDNS" not in servers:
        fails.add("dhcp_amazon_dns")
    for attr, cid in (("enableDnsSupport", "vpc_dns_support"), ("enableDnsHostnames", "vpc_dns_hostnames")):
        r = client.ec2("DescribeVpcAttribute", {"VpcId": vpc_id, "Attribute": attr})
        _, obj = xml_to_obj(r.text)
        if obj[attr]["value"] != "true":
            fails.add(cid)
    if not role_can_describe(client, c["roleArn"]):
        fails.add("iam_role_describe")
    return sorted(fails)
