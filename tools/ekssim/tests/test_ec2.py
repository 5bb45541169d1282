"""EC2 query/XML: describe operations, filters, ID lists, pagination, errors."""

from harness import T, ec2_list, eq, ok, shared, xml_to_obj
from sigv4_client import Client, SECOND


def _c(region="us-east-1", creds=None):
    s = shared("default", "--time-scale", "0")
    return Client(s.port, creds, region=region) if creds else Client(s.port, region=region)


def F(*pairs, **ids):
    out = {}
    for i, (n, vals) in enumerate(pairs):
        out["Filter.%d.Name" % (i + 1)] = n
        for j, v in enumerate(vals):
            out["Filter.%d.Value.%d" % (i + 1, j + 1)] = v
    for k, vals in ids.items():
        for j, v in enumerate(vals):
            out["%s.%d" % (k, j + 1)] = v
    return out


def _cluster(c, name):
    return c.eks("GET", "/clusters/" + name).json()["cluster"]["resourcesVpcConfig"]


@T("ec2: DescribeSubnets by id and by vpc-id filter; real element names and root element")
def t_subnets():
    c = _c()
    v = _cluster(c, "prod-api")
    r = c.ec2("DescribeSubnets", F(SubnetId=v["subnetIds"]))
    ok(r.text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<DescribeSubnetsResponse '
                         'xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>'), "root")
    subs = ec2_list(r, "subnetSet")
    eq([s["subnetId"] for s in subs], v["subnetIds"], "ids in order")
    for k in ("subnetId", "vpcId", "cidrBlock", "availabilityZone", "availabilityZoneId", "availableIpAddressCount",
              "state", "defaultForAz", "mapPublicIpOnLaunch", "ownerId", "tagSet", "subnetArn"):
        ok(k in subs[0], "missing " + k)
    eq(len(set(s["availabilityZone"] for s in subs)), 3, "three AZs")
    allv = ec2_list(c.ec2("DescribeSubnets", F(("vpc-id", [v["vpcId"]]))), "subnetSet")
    eq(len(allv), 6, "3 private + 3 public subnets")
    tagged = ec2_list(c.ec2("DescribeSubnets", F(("vpc-id", [v["vpcId"]]), ("tag:Name", ["prod-use1-private-*"]))),
                      "subnetSet")
    eq(len(tagged), 3, "tag wildcard filter")
    eq(len(ec2_list(c.ec2("DescribeSubnets", F(("tag-key", ["kubernetes.io/role/elb"]),
                                               ("vpc-id", [v["vpcId"]]))), "subnetSet")), 3, "tag-key")


@T("ec2: unknown / malformed ids, unknown filters and actions, DryRun use EC2 error shapes")
def t_errors():
    c = _c()
    cases = [
        (c.ec2("DescribeSubnets", F(SubnetId=["subnet-0000000000000000f"])), 400, "InvalidSubnetID.NotFound"),
        (c.ec2("DescribeSubnets", F(SubnetId=["bogus"])), 400, "InvalidSubnetID.Malformed"),
        (c.ec2("DescribeVpcs", F(VpcId=["vpc-0000000000000000f"])), 400, "InvalidVpcID.NotFound"),
        (c.ec2("DescribeRouteTables", F(RouteTableId=["rtb-0000000000000000f"])), 400, "InvalidRouteTableID.NotFound"),
        (c.ec2("DescribeSecurityGroups", F(GroupId=["sg-0000000000000000f"])), 400, "InvalidGroup.NotFound"),
        (c.ec2("DescribeNatGateways", F(NatGatewayId=["nat-0000000000000000f"])), 400, "NatGatewayNotFound"),
        (c.ec2("DescribeNetworkAcls", F(NetworkAclId=["acl-0000000000000000f"])), 400, "InvalidNetworkAclID.NotFound"),
        (c.ec2("DescribeDhcpOptions", F(DhcpOptionsId=["dopt-0000000000000000f"])), 400,
         "InvalidDhcpOptionID.NotFound"),
        (c.ec2("DescribeSubnets", F(("no-such-filter", ["x"]))), 400, "InvalidParameterValue"),
        (c.ec2("DescribeNothing"), 400, "InvalidAction"),
        (c.ec2("DescribeVpcs", {"DryRun": "true"}), 412, "DryRunOperation"),
        (c.ec2("DescribeVpcAttribute", {"VpcId": "vpc-0000000000000000f", "Attribute": "enableDnsSupport"}), 400,
         "InvalidVpcID.NotFound"),
        (c.ec2("DescribeVpcAttribute", {"Attribute": "enableDnsSupport"}), 400, "MissingParameter"),
    ]
    for r, status, code in cases:
        eq((r.status, r.xml_code()), (status, code), code + " " + r.text[:200])
    r = cases[0][0]
    eq(r.text.split("<Message>")[1].split("</Message>")[0], "The subnet ID 'subnet-0000000000000000f' does not exist",
       "message")
    ok("<RequestID>" in r.text and "<requestId>" not in r.text, "error uses RequestID")


@T("ec2: MaxResults/NextToken pagination, ranges and parameter combinations")
def t_pagination():
    c = _c()
    v = _cluster(c, "prod-api")
    got = []
    tok = None
    pages = 0
    while True:
        p = F(("vpc-id", [v["vpcId"]]))
        p["MaxResults"] = "5"
        if tok:
            p["NextToken"] = tok
        r = c.ec2("DescribeSubnets", p)
        _, obj = xml_to_obj(r.text)
        got += obj["subnetSet"] if isinstance(obj["subnetSet"], list) else []
        pages += 1
        tok = obj.get("nextToken")
        if not tok:
            break
    eq((len(got), pages), (6, 2), "6 subnets in pages of 5")
    eq(len(set(s["subnetId"] for s in got)), 6, "no duplicates")
    r = c.ec2("DescribeSubnets", {"MaxResults": "4"})
    eq(r.xml_code(), "InvalidParameterValue", "MaxResults below 5")
    r = c.ec2("DescribeRouteTables", {"MaxResults": "101"})
    eq(r.xml_code(), "InvalidParameterValue", "route tables max 100")
    r = c.ec2("DescribeSubnets", dict(F(SubnetId=v["subnetIds"]), MaxResults="5"))
    eq(r.xml_code(), "InvalidParameterCombination", "ids with MaxResults")
    r = c.ec2("DescribeSubnets", {"MaxResults": "5", "NextToken": "garbage"})
    eq(r.xml_code(), "InvalidPaginationToken", "bad token")


@T("ec2: route tables by association.subnet-id, main table fallback, routes with targets and states")
def t_route_tables():
    c = _c()
    v = _cluster(c, "prod-api")
    rts = ec2_list(c.ec2("DescribeRouteTables", F(("association.subnet-id", [v["subnetIds"][0]]))), "routeTableSet")
    eq(len(rts), 1, "explicit association")
    routes = rts[0]["routeSet"]
    eq(routes[0]["gatewayId"], "local", "local route")
    d = [x for x in routes if x.get("destinationCidrBlock") == "0.0.0.0/0"][0]
    ok(d["natGatewayId"].startswith("nat-") and d["state"] == "active", "default route to NAT")
    lv = _cluster(c, "legacy-batch")
    eq(ec2_list(c.ec2("DescribeRouteTables", F(("association.subnet-id", [lv["subnetIds"][0]]))), "routeTableSet"),
       [], "legacy subnets use the main table")
    main = ec2_list(c.ec2("DescribeRouteTables", F(("vpc-id", [lv["vpcId"]]), ("association.main", ["true"]))),
                    "routeTableSet")
    eq(len(main), 1, "main table")
    eq(main[0]["associationSet"][0]["main"], "true", "main flag")
    ok(not [x for x in main[0]["routeSet"] if x.get("destinationCidrBlock") == "0.0.0.0/0"], "no default route")
    ce = _c("eu-west-1")
    ev = _cluster(ce, "edge-eu")
    rt = ec2_list(ce.ec2("DescribeRouteTables", F(("association.subnet-id", [ev["subnetIds"][0]]))),
                  "routeTableSet")[0]
    d = [x for x in rt["routeSet"] if x.get("destinationCidrBlock") == "0.0.0.0/0"][0]
    eq(d["state"], "blackhole", "blackhole route")
    ng = ec2_list(ce.ec2("DescribeNatGateways", F(NatGatewayId=[d["natGatewayId"]])), "natGatewaySet")[0]
    eq(ng["state"], "deleted", "blackhole target NAT is deleted")


@T("ec2: NAT gateways, transit gateways, egress-only gateways, VPC endpoints, internet gateways")
def t_devices():
    c = _c()
    v = _cluster(c, "prod-api")
    ngs = ec2_list(c.ec2("DescribeNatGateways", F(("vpc-id", [v["vpcId"]]))), "natGatewaySet")
    eq(len(ngs), 3, "one NAT per AZ")
    ok(all(n["state"] == "available" and n["natGatewayAddressSet"] for n in ngs), "available with addresses")
    eq(len(ec2_list(c.ec2("DescribeNatGateways", F(("state", ["available"]), ("vpc-id", [v["vpcId"]]))),
                    "natGatewaySet")), 3, "state filter")
    eps = ec2_list(c.ec2("DescribeVpcEndpoints", F(("vpc-id", [v["vpcId"]]))), "vpcEndpointSet")
    eq(sorted(e["serviceName"] for e in eps), ["com.amazonaws.us-east-1.eks", "com.amazonaws.us-east-1.s3",
                                               "com.amazonaws.us-east-1.sts"], "endpoints")
    eks_ep = [e for e in eps if e["serviceName"].endswith(".eks")][0]
    eq((eks_ep["vpcEndpointType"], eks_ep["privateDnsEnabled"]), ("Interface", "true"), "eks endpoint")
    ok(isinstance(eks_ep["subnetIdSet"], list) and eks_ep["subnetIdSet"][0].startswith("subnet-"), "string lists")
    eq(len(ec2_list(c.ec2("DescribeInternetGateways", F(("attachment.vpc-id", [v["vpcId"]]))),
                    "internetGatewaySet")), 1, "igw")
    cw = _c("us-west-2")
    tg = ec2_list(cw.ec2("DescribeTransitGateways"), "transitGatewaySet")
    eq([t["state"] for t in tg], ["available"], "transit gateway")
    atts = ec2_list(cw.ec2("DescribeTransitGatewayVpcAttachments", F(("transit-gateway-id",
                                                                      [tg[0]["transitGatewayId"]]))),
                    "transitGatewayVpcAttachments")
    ok(atts and atts[0]["state"] == "available", "attachment")
    ce = _c("eu-west-1")
    eg = ec2_list(ce.ec2("DescribeEgressOnlyInternetGateways"), "egressOnlyInternetGatewaySet")
    eq(len(eg), 1, "one EIGW (edge-euw1 has none)")
    wv = _cluster(ce, "web-eu")
    eq(len(ec2_list(ce.ec2("DescribeEgressOnlyInternetGateways", F(("attachment.vpc-id", [wv["vpcId"]]))),
                    "egressOnlyInternetGatewaySet")), 1, "attachment filter")
    c2 = Client(c.port, SECOND, region="eu-west-1")
    ngs = ec2_list(c2.ec2("DescribeNatGateways"), "natGatewaySet")
    eq(sorted(n["state"] for n in ngs), ["available", "failed"], "nat_unavailable defect")


@T("ec2: NACLs by association.subnet-id with ordered entries; security groups and rules")
def t_nacl_sg():
    c = _c("us-west-2")
    v = _cluster(c, "analytics")
    acl = ec2_list(c.ec2("DescribeNetworkAcls", F(("association.subnet-id", [v["subnetIds"][0]]))),
                   "networkAclSet")[0]
    ing = [e for e in acl["entrySet"] if e["egress"] == "false"]
    ok(ing and all(k in ing[0] for k in ("ruleNumber", "protocol", "ruleAction", "cidrBlock")), "entry fields")
    nums = [int(e["ruleNumber"]) for e in ing]
    eq(nums, sorted(nums), "ordered by rule number")
    c1 = _c()
    v1 = _cluster(c1, "prod-routed")
    groups = [v1["clusterSecurityGroupId"]] + v1["securityGroupIds"]
    sgs = ec2_list(c1.ec2("DescribeSecurityGroups", F(GroupId=groups)), "securityGroupInfo")
    eq(sorted(g["groupId"] for g in sgs), sorted(groups), "groups by id")
    csg = [g for g in sgs if g["groupId"] == v1["clusterSecurityGroupId"]][0]
    ok(csg["groupName"].startswith("eks-cluster-sg-prod-routed-"), "cluster SG name")
    ok(isinstance(csg["ipPermissionsEgress"], list) and csg["ipPermissionsEgress"], "egress permissions")
    rules = ec2_list(c1.ec2("DescribeSecurityGroupRules", F(("group-id", [csg["groupId"]]))), "securityGroupRuleSet")
    ok(rules and all(r["groupId"] == csg["groupId"] for r in rules), "rules for the group")
    ok(any(r["isEgress"] == "true" for r in rules) and any(r["isEgress"] == "false" for r in rules), "both ways")
    one = ec2_list(c1.ec2("DescribeSecurityGroupRules", F(SecurityGroupRuleId=[rules[0]["securityGroupRuleId"]])),
                   "securityGroupRuleSet")
    eq(len(one), 1, "rule by id")
    eq(len(ec2_list(c1.ec2("DescribeSecurityGroups", F(("egress.ip-permission.to-port", ["443"]),
                                                       ("vpc-id", [v1["vpcId"]]))), "securityGroupInfo")) >= 1,
       True, "permission filter")


@T("ec2: VPCs, DescribeVpcAttribute, DHCP options, EKS network interfaces")
def t_vpc_dns():
    c = _c("us-west-2")
    v = _cluster(c, "analytics")
    vpc = ec2_list(c.ec2("DescribeVpcs", F(VpcId=[v["vpcId"]])), "vpcSet")[0]
    for k in ("cidrBlock", "dhcpOptionsId", "state", "vpcId", "ownerId", "isDefault", "cidrBlockAssociationSet"):
        ok(k in vpc, "missing " + k)
    r = c.ec2("DescribeVpcAttribute", {"VpcId": v["vpcId"], "Attribute": "enableDnsSupport"})
    _, obj = xml_to_obj(r.text)
    eq((obj["vpcId"], obj["enableDnsSupport"]["value"]), (v["vpcId"], "true"), "dns support")
    eq(c.ec2("DescribeVpcAttribute", {"VpcId": v["vpcId"], "Attribute": "bogus"}).xml_code(),
       "InvalidParameterValue", "bad attribute")
    dopt = ec2_list(c.ec2("DescribeDhcpOptions", F(DhcpOptionsId=[vpc["dhcpOptionsId"]])), "dhcpOptionsSet")[0]
    servers = [x["value"] for cfg in dopt["dhcpConfigurationSet"] if cfg["key"] == "domain-name-servers"
               for x in cfg["valueSet"]]
    ok("AmazonProvidedDNS" not in servers and servers, "defective DHCP options: %r" % servers)
    c1 = _c()
    enis = ec2_list(c1.ec2("DescribeNetworkInterfaces", F(("description", ["Amazon EKS prod-api"]))),
                    "networkInterfaceSet")
    eq(len(enis), 2, "two EKS ENIs")
    v1 = _cluster(c1, "prod-api")
    ok(all(e["subnetId"] in v1["subnetIds"] for e in enis), "in cluster subnets")
    ok(all(g["groupId"] == v1["clusterSecurityGroupId"] for e in enis for g in e["groupSet"][:1]), "cluster SG")
    eq(len(ec2_list(c1.ec2("DescribeNetworkInterfaces", F(("description", ["Amazon EKS *"]),
                                                          ("vpc-id", [v1["vpcId"]]))), "networkInterfaceSet")), 6,
       "wildcard: three clusters share prod-use1")


@T("ec2: DescribeRegions reflects enabled, opted-in and not-opted-in regions per account")
def t_regions():
    c = _c()
    regs = ec2_list(c.ec2("DescribeRegions"), "regionInfo")
    names = [r["regionName"] for r in regs]
    ok("us-east-1" in names and "af-south-1" in names and "ap-east-1" not in names, "enabled only")
    eq([r["optInStatus"] for r in regs if r["regionName"] == "af-south-1"], ["opted-in"], "opted in")
    eq(regs[0]["regionEndpoint"], "ec2.us-east-1.amazonaws.com", "endpoint")
    allr = ec2_list(c.ec2("DescribeRegions", {"AllRegions": "true"}), "regionInfo")
    eq([r["optInStatus"] for r in allr if r["regionName"] == "ap-east-1"], ["not-opted-in"], "AllRegions")
    c2 = Client(c.port, SECOND)
    ok("af-south-1" not in [r["regionName"] for r in ec2_list(c2.ec2("DescribeRegions"), "regionInfo")],
       "per account")
    one = ec2_list(c.ec2("DescribeRegions", F(RegionName=["eu-west-1"])), "regionInfo")
    eq([r["regionName"] for r in one], ["eu-west-1"], "RegionName.N")
    f = ec2_list(c.ec2("DescribeRegions", F(("opt-in-status", ["opted-in"]))), "regionInfo")
    eq([r["regionName"] for r in f], ["af-south-1"], "filter")


@T("ec2: DescribeInstances: reservations of NAT instances, filters, ids, errors")
def t_instances():
    c = _c("us-east-2", SECOND)
    r = c.ec2("DescribeInstances")
    ok('<reservationSet><item><reservationId>r-0' in r.text, "reservationSet/item shape")
    res = ec2_list(r, "reservationSet")
    insts = [i for x in res for i in x["instancesSet"]]
    eq(len(insts), 3, "three NAT instances in us-east-2")
    ok(all(x["ownerId"] == "444455556666" and x["reservationId"].startswith("r-") for x in res), "reservations")
    by_state = sorted((i["instanceState"]["name"], i["instanceState"]["code"], i["sourceDestCheck"]) for i in insts)
    eq(by_state, [("running", "16", "false"), ("running", "16", "true"), ("stopped", "80", "false")],
       "one healthy, one with the source/dest check on, one stopped")
    stopped = [i for i in insts if i["instanceState"]["name"] == "stopped"][0]
    ok("ipAddress" not in stopped and stopped["stateReason"]["code"] == "Client.UserInitiatedShutdown", "stopped")
    one = ec2_list(c.ec2("DescribeInstances", F(("instance-state-name", ["stopped"]))), "reservationSet")
    eq([x["instancesSet"][0]["instanceId"] for x in one], [stopped["instanceId"]], "state filter")
    eq(len(ec2_list(c.ec2("DescribeInstances", F(("source-dest-check", ["true"]))), "reservationSet")), 1, "sdc filter")
    by_id = ec2_list(c.ec2("DescribeInstances", F(InstanceId=[stopped["instanceId"]])), "reservationSet")
    eq(by_id[0]["instancesSet"][0]["vpcId"], stopped["vpcId"], "by id")
    eq(len(ec2_list(c.ec2("DescribeInstances", F(("vpc-id", [stopped["vpcId"]]))), "reservationSet")), 1, "vpc-id")
    eni = stopped["networkInterfaceSet"][0]["networkInterfaceId"]
    eq(len(ec2_list(c.ec2("DescribeInstances", F(("network-interface.network-interface-id", [eni]))),
                    "reservationSet")), 1, "by ENI")
    enis = ec2_list(c.ec2("DescribeNetworkInterfaces", F(("attachment.instance-id", [stopped["instanceId"]]))),
                    "networkInterfaceSet")
    eq([e["networkInterfaceId"] for e in enis], [eni], "the instance's ENI in DescribeNetworkInterfaces")
    cases = [(c.ec2("DescribeInstances", F(InstanceId=["i-0000000000000000f"])), "InvalidInstanceID.NotFound"),
             (c.ec2("DescribeInstances", F(InstanceId=["bogus"])), "InvalidInstanceID.Malformed"),
             (c.ec2("DescribeInstances", dict(F(InstanceId=[stopped["instanceId"]]), MaxResults="5")),
              "InvalidParameterCombination"),
             (c.ec2("DescribeInstances", {"MaxResults": "4"}), "InvalidParameterValue"),
             (c.ec2("DescribeInstances", F(("no-such-filter", ["x"]))), "InvalidParameterValue")]
    for r, code in cases:
        eq(r.xml_code(), code, code)


def _pages(c, action, list_el, params, page_size):
    got, tok, n = [], None, 0
    while True:
        p = dict(params, MaxResults=str(page_size))
        if tok:
            p["NextToken"] = tok
        _, obj = xml_to_obj(c.ec2(action, p).text)
        v = obj.get(list_el)
        got += v if isinstance(v, list) else []
        n += 1
        tok = obj.get("nextToken")
        if not tok:
            return got, n


@T("ec2: DescribeInstances pages through a generated fleet's NAT instances")
def t_instances_paging():
    from harness import Server
    s = Server("--time-scale", "0", "--generate", "clusters=90,accounts=1,regions=1,seed=2,defects=0")
    try:
        c = Client(s.port)
        every = [r["instancesSet"][0]["instanceId"] for r in ec2_list(c.ec2("DescribeInstances"), "reservationSet")]
        ok(len(every) > 5, "enough instances to page: %d" % len(every))
        got, n = _pages(c, "DescribeInstances", "reservationSet", {}, 5)
        eq(([r["instancesSet"][0]["instanceId"] for r in got], n), (every, (len(every) + 4) // 5), "pages")
    finally:
        s.stop()


@T("ec2: managed prefix lists (AWS-managed and fleet-stated): DescribeManagedPrefixLists, "
   "GetManagedPrefixListEntries with paging, errors")
def t_prefix_lists():
    c = _c()
    pls = ec2_list(c.ec2("DescribeManagedPrefixLists"), "prefixListSet")
    names = dict((p["prefixListName"], p) for p in pls)
    eq(names["com.amazonaws.us-east-1.s3"]["prefixListId"], "pl-63a5400a", "the S3 list has AWS's id")
    eq((names["com.amazonaws.us-east-1.s3"]["ownerId"], names["com.amazonaws.us-east-1.s3"]["state"]),
       ("AWS", "create-complete"), "owner and state")
    one = ec2_list(c.ec2("DescribeManagedPrefixLists", F(("prefix-list-name", ["*.dynamodb"]))), "prefixListSet")
    eq(len(one), 1, "name filter")
    got, n = _pages(c, "DescribeManagedPrefixLists", "prefixListSet", {}, 1)
    eq((len(got), n), (len(pls), len(pls)), "pages of one")
    entries, n = _pages(c, "GetManagedPrefixListEntries", "entrySet", {"PrefixListId": "pl-63a5400a"}, 2)
    ok(len(entries) >= 4 and all("/" in e["cidr"] for e in entries) and n == (len(entries) + 1) // 2, entries)
    cases = [(c.ec2("GetManagedPrefixListEntries"), "MissingParameter"),
             (c.ec2("GetManagedPrefixListEntries", {"PrefixListId": "pl-00000000000000000"}),
              "InvalidPrefixListID.NotFound"),
             (c.ec2("GetManagedPrefixListEntries", {"PrefixListId": "bogus"}), "InvalidPrefixListID.Malformed"),
             (c.ec2("GetManagedPrefixListEntries", {"PrefixListId": "pl-63a5400a", "TargetVersion": "7"}),
              "InvalidParameterValue"),
             (c.ec2("DescribeManagedPrefixLists", F(PrefixListId=["pl-00000000000000000"])),
              "InvalidPrefixListID.NotFound"),
             (c.ec2("DescribeManagedPrefixLists", {"MaxResults": "101"}), "InvalidParameterValue")]
    for r, code in cases:
        eq(r.xml_code(), code, code)


@T("ec2: DescribeFlowLogs by resource-id (the VPC with flow_logs), ids and errors")
def t_flow_logs():
    c = _c("us-east-2", SECOND)
    vpc = c.eks("GET", "/clusters/dev-natinst").json()["cluster"]["resourcesVpcConfig"]["vpcId"]
    other = c.eks("GET", "/clusters/dev-igw").json()["cluster"]["resourcesVpcConfig"]["vpcId"]
    fl = ec2_list(c.ec2("DescribeFlowLogs", F(("resource-id", [vpc]))), "flowLogSet")
    eq([(f["resourceId"], f["flowLogStatus"], f["trafficType"], f["logDestinationType"]) for f in fl],
       [(vpc, "ACTIVE", "ALL", "cloud-watch-logs")], "flow log")
    eq(ec2_list(c.ec2("DescribeFlowLogs", F(("resource-id", [other]))), "flowLogSet"), [], "none elsewhere")
    eq(len(ec2_list(c.ec2("DescribeFlowLogs", F(FlowLogId=[fl[0]["flowLogId"]])), "flowLogSet")), 1, "by id")
    eq(c.ec2("DescribeFlowLogs", F(FlowLogId=["fl-00000000000000000"])).xml_code(), "InvalidFlowLogId.NotFound",
       "unknown")
