"""VPC networks: geometry, the per-region EC2 store, and the expansion of a network
spec into EC2 resources in wire form.

A network is described by knobs (egress kind, route-table layout, NACL mode, IPv6,
defects) and optionally by explicit resources (its ``ec2`` object, see explicit.py).
Knob expansion is deterministic: every id is a hash of (account, region, network,
role).  Explicit resources replace what the knobs would generate, kind by kind;
generated resources of the other kinds are wired to the explicit ones.
"""

import ipaddress

from . import ec2model, regions
from .ids import h16, hexid, rid

NACL_DEFECTS = ("nacl_443_blocked", "nacl_10250_blocked", "nacl_ephemeral_blocked")

# EC2 store kind -> (SDK list key in a fleet's "ec2" object, SDK id member, wire id element, id prefix)
KINDS = {
    "vpcs": ("Vpcs", "VpcId", "vpcId", "vpc-"),
    "subnets": ("Subnets", "SubnetId", "subnetId", "subnet-"),
    "route_tables": ("RouteTables", "RouteTableId", "routeTableId", "rtb-"),
    "nat_gateways": ("NatGateways", "NatGatewayId", "natGatewayId", "nat-"),
    "network_acls": ("NetworkAcls", "NetworkAclId", "networkAclId", "acl-"),
    "security_groups": ("SecurityGroups", "GroupId", "groupId", "sg-"),
    "dhcp_options": ("DhcpOptions", "DhcpOptionsId", "dhcpOptionsId", "dopt-"),
    "network_interfaces": ("NetworkInterfaces", "NetworkInterfaceId", "networkInterfaceId", "eni-"),
    "vpc_endpoints": ("VpcEndpoints", "VpcEndpointId", "vpcEndpointId", "vpce-"),
    "egress_only_igws": ("EgressOnlyInternetGateways", "EgressOnlyInternetGatewayId",
                         "egressOnlyInternetGatewayId", "eigw-"),
    "transit_gateways": ("TransitGateways", "TransitGatewayId", "transitGatewayId", "tgw-"),
    "tgw_attachments": ("TransitGatewayVpcAttachments", "TransitGatewayAttachmentId",
                        "transitGatewayAttachmentId", "tgw-attach-"),
    "internet_gateways": ("InternetGateways", "InternetGatewayId", "internetGatewayId", "igw-"),
    "instances": ("Instances", "InstanceId", "instanceId", "i-"),
    "prefix_lists": ("ManagedPrefixLists", "PrefixListId", "prefixListId", "pl-"),
    "flow_logs": ("FlowLogs", "FlowLogId", "flowLogId", "fl-"),
}
KIND_BY_KEY = dict((v[0], k) for k, v in KINDS.items())
# shared by several networks of one account and region: an identical copy is not a conflict
SHARED_KINDS = ("dhcp_options", "transit_gateways", "prefix_lists")

INSTANCE_STATE_CODES = {"pending": 0, "running": 16, "shutting-down": 32, "terminated": 48, "stopping": 64,
                        "stopped": 80}


class NetworkError(ValueError):
    pass


# ---------------------------------------------------------------- geometry

def _ip4(n):
    return "%d.%d.%d.%d" % (n >> 24, (n >> 16) & 255, (n >> 8) & 255, n & 255)


def vpc_cidr(account, region, net):
    """(cidr string, integer base address)."""
    explicit = _explicit_vpc(net)
    cidr = (explicit or {}).get("CidrBlock") or net.get("cidr")
    if cidr:
        n = ipaddress.ip_network(cidr, strict=False)
        return str(n), int(n.network_address)
    h = int(h16("cidr", account, region, net["name"]), 16)
    base = (10 << 24) | ((h % 250) << 16)
    return "%s/16" % _ip4(base), base


def _explicit_vpc(net):
    vpcs = (net.get("ec2") or {}).get("Vpcs")
    return vpcs[0] if vpcs else None


def network_layout(account, region, net):
    """Ids and geometry of a network that clusters need without expanding EC2."""
    name = net["name"]
    cidr, base = vpc_cidr(account, region, net)
    ec2 = net.get("ec2") or {}
    vpc = _explicit_vpc(net)
    vpc_id = (vpc or {}).get("VpcId") or rid("vpc", account, region, name)
    if "Subnets" in ec2:
        from . import explicit
        subnets = explicit.layout_subnets(account, region, net, cidr)
    else:
        if net.get("azs"):
            eks_zones = [(z, regions.az_id(region, z)) for z in net["azs"]]
        else:
            eks_zones = regions.eks_azs(region)
        single = "single_az" in net.get("defects", [])
        subnets = []
        for i in range(net.get("subnets", 3)):
            zone, zid = eks_zones[0] if single else eks_zones[i % len(eks_zones)]
            subnets.append({"id": rid("subnet", account, region, name, "private", i),
                            "cidr": "%s/20" % _ip4(base + i * 4096),
                            "az": zone, "az_id": zid, "index": i})
    own_sgs = "SecurityGroups" not in ec2
    return {"vpc_id": vpc_id, "cidr": cidr, "subnets": subnets,
            "node_sg": rid("sg", account, region, name, "nodes") if own_sgs else None,
            "extra_sg": rid("sg", account, region, name, "controlplane") if own_sgs else None}


def peer_network(net):
    """The healthy sibling network used by the subnets_other_vpc cluster defect."""
    return {"name": net["name"] + "-peer", "region": net["region"], "egress": net.get("egress", "nat"),
            "subnets": 2, "ipv6": net.get("ipv6", False)}


# ---------------------------------------------------------------- EC2 region store

class RegionStore(object):
    """EC2 resources of one account in one region, in wire (camelCase) form.

    Keys beginning with '_' are private (never serialised).
    """

    def __init__(self, account, region):
        self.account = account
        self.region = region
        for k in KINDS:
            setattr(self, k, {})
        self.layouts = {}

    def add(self, kind, obj_id, obj):
        getattr(self, kind)[obj_id] = obj


def _tags(d):
    return [{"key": k, "value": v} for k, v in d.items()]


def _route(dest, target_key, target, state="active", origin="CreateRoute", v6=False, extra=None):
    r = {"destinationIpv6CidrBlock" if v6 else "destinationCidrBlock": dest, target_key: target}
    r.update(extra or {})
    r["origin"] = origin
    r["state"] = state
    return r


def _local_routes(cidr, v6cidr):
    out = [_route(cidr, "gatewayId", "local", origin="CreateRouteTable")]
    if v6cidr:
        out.append(_route(v6cidr, "gatewayId", "local", origin="CreateRouteTable", v6=True))
    return out


def _nacl_entry(num, proto, action, egress, cidr, ports=None, v6=False):
    e = {}
    if v6:
        e["ipv6CidrBlock"] = cidr
    else:
        e["cidrBlock"] = cidr
    e["egress"] = egress
    if ports:
        e["portRange"] = {"from": ports[0], "to": ports[1]}
    e["protocol"] = proto
    e["ruleAction"] = action
    e["ruleNumber"] = num
    return e


def _perm(proto, ports=None, cidrs=(), cidrs6=(), groups=(), account=None):
    """A security group permission; EC2 reports TCP/UDP as 'tcp'/'udp', all traffic as '-1'."""
    p = {}
    if ports is not None:
        p["fromPort"] = ports[0]
    p["ipProtocol"] = proto
    p["ipRanges"] = [{"cidrIp": c} for c in cidrs]
    p["ipv6Ranges"] = [{"cidrIpv6": c} for c in cidrs6]
    p["prefixListIds"] = []
    if ports is not None:
        p["toPort"] = ports[1]
    p["groups"] = [{"groupId": g, "userId": account} for g in groups]
    return p


def security_group(account, region, gid, name, desc, vpc_id, ingress, egress, tags=None):
    return {"groupDescription": desc, "groupName": name, "ipPermissions": ingress, "ownerId": account,
            "groupId": gid, "ipPermissionsEgress": egress, "tagSet": _tags(tags or {}), "vpcId": vpc_id}


def default_dhcp_id(account, region):
    return rid("dopt", account, region, "default")


def _mac(seed):
    return "0e:%s" % ":".join(h16("mac", seed)[j:j + 2] for j in range(0, 10, 2))


def _host_ip(cidr, seed):
    net = ipaddress.ip_network(cidr)
    return str(ipaddress.ip_address(int(net.network_address) + 10 + int(h16(seed), 16) % 200))


def _private_dns(ip, region):
    return "ip-%s.%s" % (ip.replace(".", "-"), "ec2.internal" if region == "us-east-1"
                         else region + ".compute.internal")


def instance_sdk(account, region, inst, subnets, ctime):
    """An instance (SDK shape, as a fleet states it) with AWS's values for what it omits.

    inst needs InstanceId and SubnetId; subnets maps subnet id -> wire subnet.  Returns
    (instance, [its interfaces as DescribeNetworkInterfaces shows them]), both SDK-shaped."""
    iid = inst["InstanceId"]
    subnet = subnets[inst["SubnetId"]]
    state = (inst.get("State") or {}).get("Name", "running")
    nics_in = inst.get("NetworkInterfaces") or [{}]
    # the instance's source/dest check is its primary interface's
    sdc = inst.get("SourceDestCheck", nics_in[0].get("SourceDestCheck", True))
    groups = inst.get("SecurityGroups", [])
    nics, enis = [], []
    for j, given in enumerate(nics_in):
        n = dict(given)
        eid = n.setdefault("NetworkInterfaceId", rid("eni", iid, "primary" if j == 0 else j))
        sid = n.setdefault("SubnetId", subnet["subnetId"])
        sub = subnets.get(sid, subnet)
        n.setdefault("VpcId", sub["vpcId"])
        ip = n.setdefault("PrivateIpAddress", _host_ip(sub["cidrBlock"], eid))
        n.setdefault("Attachment", {"AttachTime": ctime, "AttachmentId": rid("eni-attach", eid),
                                    "DeleteOnTermination": True, "DeviceIndex": j, "Status": "attached",
                                    "NetworkCardIndex": 0})
        n.setdefault("Description", "")
        n.setdefault("Groups", groups)
        n.setdefault("Ipv6Addresses", [])
        n.setdefault("MacAddress", _mac(eid))
        n.setdefault("OwnerId", account)
        n.setdefault("PrivateDnsName", _private_dns(ip, region))
        n.setdefault("SourceDestCheck", sdc)
        n.setdefault("Status", "in-use")
        n.setdefault("InterfaceType", "interface")
        n.setdefault("PrivateIpAddresses", [{"Primary": True, "PrivateDnsName": n["PrivateDnsName"],
                                             "PrivateIpAddress": ip}])
        if state == "running" and j == 0 and "Association" not in n:
            hh = int(h16("eip", iid), 16)
            n["Association"] = {"IpOwnerId": "amazon", "PublicDnsName": "",
                                "PublicIp": "3.%d.%d.%d" % (hh % 250, (hh >> 8) % 250, (hh >> 16) % 250 + 1)}
        nics.append(n)
        eni = dict((k, v) for k, v in n.items() if k not in ("Attachment", "Groups"))
        att = dict(n["Attachment"]) if isinstance(n["Attachment"], dict) else {}
        att.setdefault("InstanceId", iid)
        att.setdefault("InstanceOwnerId", account)
        eni.update({"Attachment": att, "AvailabilityZone": sub["availabilityZone"], "Groups": n["Groups"],
                    "RequesterManaged": False, "TagSet": []})
        enis.append(eni)
    primary = nics[0]
    out = {"AmiLaunchIndex": 0, "ImageId": "ami-0%s" % h16("ami", region, "nat"), "InstanceId": iid,
           "InstanceType": "t3.micro", "LaunchTime": ctime, "Monitoring": {"State": "disabled"},
           "Placement": {"AvailabilityZone": subnet["availabilityZone"], "GroupName": "", "Tenancy": "default"},
           "PrivateDnsName": primary["PrivateDnsName"], "PrivateIpAddress": primary["PrivateIpAddress"],
           "ProductCodes": [], "PublicDnsName": "",
           "State": {"Code": INSTANCE_STATE_CODES.get(state, 16), "Name": state},
           "StateTransitionReason": "" if state == "running" else "User initiated (2024-01-15 10:00:00 GMT)",
           "SubnetId": subnet["subnetId"], "VpcId": subnet["vpcId"], "Architecture": "x86_64",
           "BlockDeviceMappings": [], "ClientToken": "", "EbsOptimized": False, "EnaSupport": True,
           "Hypervisor": "xen", "NetworkInterfaces": nics, "RootDeviceName": "/dev/xvda",
           "RootDeviceType": "ebs", "SecurityGroups": groups, "SourceDestCheck": sdc, "Tags": [],
           "VirtualizationType": "hvm"}
    if isinstance(primary.get("Association"), dict) and primary["Association"].get("PublicIp"):
        out["PublicIpAddress"] = primary["Association"]["PublicIp"]
    if state != "running":
        out["StateReason"] = {"Code": "Client.UserInitiatedShutdown",
                              "Message": "Client.UserInitiatedShutdown: User initiated shutdown"}
    for k, v in inst.items():
        if k == "State" and isinstance(v, dict):
            out["State"] = dict(out["State"], **v)
        elif k != "NetworkInterfaces":
            out[k] = v
    return out, enis


def instance_resources(account, region, inst, subnets, ctime, path="Instance"):
    """instance_sdk() converted to wire form: (instance, [ENIs])."""
    sdk, enis = instance_sdk(account, region, inst, subnets, ctime)
    return (ec2model.to_wire("Instance", sdk, path),
            [ec2model.to_wire("NetworkInterface", e, "%s.NetworkInterfaces[%d]" % (path, j))
             for j, e in enumerate(enis)])


def flow_log(account, region, resource_id, ctime, label):
    fid = rid("fl", account, region, resource_id)
    group = "/aws/vpc/flow-logs/%s" % label
    return ec2model.to_wire("FlowLog", {
        "CreationTime": ctime, "DeliverLogsPermissionArn": "arn:aws:iam::%s:role/vpc-flow-logs" % account,
        "DeliverLogsStatus": "SUCCESS", "FlowLogId": fid, "FlowLogStatus": "ACTIVE", "LogGroupName": group,
        "ResourceId": resource_id, "TrafficType": "ALL", "LogDestinationType": "cloud-watch-logs",
        "LogDestination": "arn:aws:logs:%s:%s:log-group:%s" % (region, account, group),
        "LogFormat": "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} "
                     "${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status}",
        "Tags": [], "MaxAggregationInterval": 600}, "FlowLog")


# AWS-managed prefix lists every region has (ids per region are AWS's own in us-east-1; elsewhere derived)
_AWS_PREFIX_LISTS = [
    ("s3", ["3.5.0.0/19", "16.182.0.0/16", "18.34.0.0/19", "52.216.0.0/15", "54.231.0.0/16"]),
    ("dynamodb", ["3.218.180.0/22", "35.71.64.0/22", "52.94.0.0/22", "52.119.224.0/20"]),
]
_KNOWN_PL_IDS = {("us-east-1", "s3"): "pl-63a5400a", ("us-east-1", "dynamodb"): "pl-02cd2c6b"}


def aws_prefix_lists(region):
    """[(wire prefix list, [wire entries])] of the AWS-managed lists of a region."""
    out = []
    for svc, cidrs in _AWS_PREFIX_LISTS:
        pid = _KNOWN_PL_IDS.get((region, svc)) or "pl-%s" % h16("awspl", region, svc)[:8]
        name = "com.amazonaws.%s.%s" % (region, svc)
        pl = ec2model.to_wire("ManagedPrefixList", {
            "PrefixListId": pid, "AddressFamily": "IPv4", "State": "create-complete",
            "PrefixListArn": "arn:aws:ec2:%s:aws:prefix-list/%s" % (region, pid), "PrefixListName": name,
            "Tags": [], "OwnerId": "AWS"}, "ManagedPrefixList")
        pl["_entries"] = [{"cidr": c} for c in cidrs]
        out.append(pl)
    return out


# ---------------------------------------------------------------- expansion

def expand_network(store, net, created_at):
    """Add every EC2 resource of one network spec to store."""
    if not net.get("ec2"):
        _expand_knobs(store, net, created_at)
        return
    from . import explicit
    bucket = RegionStore(store.account, store.region)
    _expand_knobs(bucket, net, created_at)
    replaced = explicit.resources(store.account, store.region, net, bucket, created_at)
    # generated resources of the kinds not stated are wired to the stated ones: a reference to a
    # replaced resource moves to a stated one of its kind (by position); a generated subnet that the
    # stated Subnets replace (e.g. a public subnet) leaves the associations and lists that named it
    remap, drop, fallback = {}, set(), None
    for kind, objs in replaced.items():
        idk = KINDS[kind][2]
        stated = [o[idk] for o in objs]
        gen = [g for g in getattr(bucket, kind) if g not in set(stated)]
        if kind == "subnets":
            drop.update(gen)
            fallback = stated[0] if stated else None
        elif stated:
            for j, gid in enumerate(gen):
                remap[gid] = stated[j % len(stated)]
        setattr(bucket, kind, dict((o[idk], o) for o in objs))
    if remap or drop:
        for kind in KINDS:
            if kind in replaced:
                continue
            coll = getattr(bucket, kind)
            for oid, o in coll.items():
                coll[oid] = _rewrite(o, remap, drop, fallback)
    for kind in KINDS:
        target = getattr(store, kind)
        for oid, o in getattr(bucket, kind).items():
            prev = target.get(oid)
            if prev is not None and (kind not in SHARED_KINDS or prev != o):
                raise NetworkError("network %s: %s id %s is already used by another network in %s"
                                   % (net["name"], KINDS[kind][0], oid, store.region))
            target[oid] = o
    store.layouts.update(bucket.layouts)


def _rewrite(o, remap, drop, fallback):
    if isinstance(o, dict):
        return dict((k, _rewrite(v, remap, drop, fallback)) for k, v in o.items())
    if isinstance(o, list):
        return [_rewrite(v, remap, drop, fallback) for v in o
                if not (v in drop if isinstance(v, str) else isinstance(v, dict) and v.get("subnetId") in drop)]
    if isinstance(o, str):
        return fallback if o in drop else remap.get(o, o)
    return o


def _expand_knobs(store, net, created_at):
    account, region = store.account, store.region
    name = net["name"]
    defects = set(net.get("defects", []))
    lay = network_layout(account, region, net)
    store.layouts[name] = lay
    vpc_id = lay["vpc_id"]
    cidr = lay["cidr"]
    ipv6 = bool(net.get("ipv6"))
    v6block = None
    if ipv6:
        hx = h16("v6", account, region, name)
        v6block = "2600:1f%s:%s:%s00::/56" % (hx[0:2], hx[2:6], hx[6:8])
    egress = net.get("egress", "nat")
    rt_mode = net.get("route_tables", "per-subnet")
    ctime = created_at
    h = int(h16("variant", account, region, name), 16)

    # DHCP options
    if "dhcp_no_amazon_dns" in defects:
        dopt_id = rid("dopt", account, region, name)
        store.add("dhcp_options", dopt_id, {
            "dhcpConfigurationSet": [
                {"key": "domain-name", "valueSet": [{"value": "corp.example.internal"}]},
                {"key": "domain-name-servers", "valueSet": [{"value": "10.250.0.10"}, {"value": "10.250.0.11"}]}],
            "dhcpOptionsId": dopt_id, "ownerId": account, "tagSet": _tags({"Name": name + "-corp-dns"})})
    else:
        dopt_id = default_dhcp_id(account, region)
        if dopt_id not in store.dhcp_options:
            dn = "ec2.internal" if region == "us-east-1" else region + ".compute.internal"
            store.add("dhcp_options", dopt_id, {
                "dhcpConfigurationSet": [
                    {"key": "domain-name", "valueSet": [{"value": dn}]},
                    {"key": "domain-name-servers", "valueSet": [{"value": "AmazonProvidedDNS"}]}],
                "dhcpOptionsId": dopt_id, "ownerId": account, "tagSet": []})

    v6assoc = []
    if ipv6:
        v6assoc = [{"associationId": rid("vpc-cidr-assoc", account, region, name, "v6"), "ipv6CidrBlock": v6block,
                    "ipv6CidrBlockState": {"state": "associated"}, "networkBorderGroup": region,
                    "ipv6Pool": "Amazon"}]
    store.add("vpcs", vpc_id, {
        "cidrBlock": cidr, "dhcpOptionsId": dopt_id, "state": "available", "vpcId": vpc_id,
        "ownerId": account, "instanceTenancy": "default", "ipv6CidrBlockAssociationSet": v6assoc,
        "cidrBlockAssociationSet": [{"associationId": rid("vpc-cidr-assoc", account, region, name),
                                     "cidrBlock": cidr, "cidrBlockState": {"state": "associated"}}],
        "isDefault": False, "tagSet": _tags({"Name": name}),
        "_dns_support": "dns_support_off" not in defects,
        "_dns_hostnames": "dns_hostnames_off" not in defects,
        "_network": name})

    # subnets
    for s in lay["subnets"]:
        i = s["index"]
        free = 4000 + (h >> i) % 80
        if i == 0 and "too_few_ips" in defects:
            free = 3
        sub = {"availabilityZone": s["az"], "availabilityZoneId": s["az_id"], "availableIpAddressCount": free,
               "cidrBlock": s["cidr"], "defaultForAz": False, "mapPublicIpOnLaunch": False,
               "state": "available", "subnetId": s["id"], "vpcId": vpc_id, "ownerId": account,
               "assignIpv6AddressOnCreation": False, "ipv6CidrBlockAssociationSet": [],
               "tagSet": _tags({"Name": "%s-private-%s" % (name, s["az"]),
                                "kubernetes.io/role/internal-elb": "1"}),
               "subnetArn": "arn:aws:ec2:%s:%s:subnet/%s" % (region, account, s["id"]),
               "_network": name}
        if ipv6:
            sub["ipv6CidrBlockAssociationSet"] = [{
                "associationId": rid("subnet-cidr-assoc", account, region, name, i),
                "ipv6CidrBlock": v6block.replace("00::/56", "%02x::/64" % i),
                "ipv6CidrBlockState": {"state": "associated"}}]
        store.add("subnets", s["id"], sub)
    zones = []
    for s in lay["subnets"]:
        if (s["az"], s["az_id"]) not in zones:
            zones.append((s["az"], s["az_id"]))

    # internet gateway + public subnets, then NAT gateways or a NAT instance
    nat_by_zone = {}
    public_ids = []
    base = int(ipaddress.ip_network(cidr).network_address)
    igw = rid("igw", account, region, name)
    if egress in ("nat", "instance") or "igw_only_route" in defects:
        store.add("internet_gateways", igw, {"attachmentSet": [{"state": "available", "vpcId": vpc_id}],
                                             "internetGatewayId": igw, "ownerId": account,
                                             "tagSet": _tags({"Name": name + "-igw"})})
    if egress in ("nat", "instance"):
        for zi, (zone, zid) in enumerate(zones):
            sid = rid("subnet", account, region, name, "public", zi)
            sub = {
                "availabilityZone": zone, "availabilityZoneId": zid, "availableIpAddressCount": 250,
                "cidrBlock": str(ipaddress.ip_network((base + (200 + zi) * 256, 24))),
                "defaultForAz": False, "mapPublicIpOnLaunch": True, "state": "available",
                "subnetId": sid, "vpcId": vpc_id, "ownerId": account, "assignIpv6AddressOnCreation": False,
                "ipv6CidrBlockAssociationSet": [], "tagSet": _tags({"Name": "%s-public-%s" % (name, zone),
                                                                    "kubernetes.io/role/elb": "1"}),
                "subnetArn": "arn:aws:ec2:%s:%s:subnet/%s" % (region, account, sid), "_network": name}
            store.add("subnets", sid, sub)
            public_ids.append(sid)
    if egress == "nat":
        for zi, (zone, zid) in enumerate(zones):
            sid = public_ids[zi]
            nat = rid("nat", account, region, name, zi)
            hh = int(h16("eip", nat), 16)
            ng = {"createTime": ctime, "natGatewayAddressSet": [{
                "allocationId": rid("eipalloc", nat), "networkInterfaceId": rid("eni", nat),
                "privateIp": str(ipaddress.ip_address(base + (200 + zi) * 256 + 10)),
                "publicIp": "3.%d.%d.%d" % (hh % 250, (hh >> 8) % 250, (hh >> 16) % 250 + 1)}],
                "natGatewayId": nat, "state": "available", "subnetId": sid, "vpcId": vpc_id,
                "tagSet": _tags({"Name": "%s-nat-%s" % (name, zone)}), "connectivityType": "public"}
            store.add("nat_gateways", nat, ng)
            nat_by_zone[zone] = ng
        if "nat_unavailable" in defects:
            ng = nat_by_zone[lay["subnets"][0]["az"]]
            ng["state"] = "failed"
            ng["failureCode"] = "Gateway.NotAttached"
            ng["failureMessage"] = "Network %s has no Internet gateway attached" % vpc_id
            ng["natGatewayAddressSet"] = []
    nat_instance = None
    if egress == "instance":
        # one NAT instance for the whole network, in the first public subnet
        nsg = rid("sg", account, region, name, "nat-instance")
        store.add("security_groups", nsg, security_group(
            account, region, nsg, name + "-nat-instance", "NAT instance", vpc_id,
            [_perm("-1", cidrs=[cidr])], [_perm("-1", cidrs=["0.0.0.0/0"])], {"Name": name + "-nat-instance"}))
        inst = {"InstanceId": rid("i", account, region, name, "nat"), "SubnetId": public_ids[0],
                "State": {"Name": "stopped" if "nat_instance_stopped" in defects else "running"},
                "SourceDestCheck": "nat_instance_src_dst_check" in defects,
                "SecurityGroups": [{"GroupId": nsg, "GroupName": name + "-nat-instance"}],
                "Tags": [{"Key": "Name", "Value": name + "-nat-instance"}]}
        wire, enis = instance_resources(account, region, inst, store.subnets, ctime)
        store.add("instances", wire["instanceId"], wire)
        for eni in enis:
            store.add("network_interfaces", eni["networkInterfaceId"], eni)
        nat_instance = wire
    tgw_id = None
    if egress == "tgw":
        broken = "tgw_unavailable" in defects
        tgw_id = rid("tgw", account, region, name if broken else "shared-egress")
        if tgw_id not in store.transit_gateways:
            store.add("transit_gateways", tgw_id, {
                "transitGatewayId": tgw_id,
                "transitGatewayArn": "arn:aws:ec2:%s:%s:transit-gateway/%s" % (region, account, tgw_id),
                "state": "pending" if broken else "available", "ownerId": account,
                "description": "egress transit gateway", "creationTime": ctime,
                "options": {"amazonSideAsn": 64512, "autoAcceptSharedAttachments": "disable",
                            "defaultRouteTableAssociation": "enable", "defaultRouteTablePropagation": "enable",
                            "vpnEcmpSupport": "enable", "dnsSupport": "enable", "multicastSupport": "disable"},
                "tagSet": _tags({"Name": "egress-tgw"})})
        att = rid("tgw-attach", account, region, name)
        store.add("tgw_attachments", att, {
            "transitGatewayAttachmentId": att, "transitGatewayId": tgw_id, "vpcId": vpc_id,
            "vpcOwnerId": account, "state": "pending" if broken else "available",
            "subnetIds": [s["id"] for s in lay["subnets"]], "creationTime": ctime,
            "options": {"dnsSupport": "enable", "ipv6Support": "enable" if ipv6 else "disable",
                        "applianceModeSupport": "disable"}, "tagSet": _tags({"Name": name + "-attach"})})

    eigw = None
    if ipv6 and "ipv6_no_eigw" not in defects:
        eigw = rid("eigw", account, region, name)
        store.add("egress_only_igws", eigw, {"attachmentSet": [{"state": "attached", "vpcId": vpc_id}],
                                             "egressOnlyInternetGatewayId": eigw,
                                             "tagSet": _tags({"Name": name + "-eigw"})})

    # route tables
    def default_routes(zone):
        if egress == "nat":
            return [_route("0.0.0.0/0", "natGatewayId", nat_by_zone[zone]["natGatewayId"])]
        if egress == "instance":
            # EC2 reports a route to an instance with the instance, its owner and its primary ENI
            return [_route("0.0.0.0/0", "instanceId", nat_instance["instanceId"], extra={
                "instanceOwnerId": account,
                "networkInterfaceId": nat_instance["networkInterfaceSet"][0]["networkInterfaceId"]})]
        return [_route("0.0.0.0/0", "transitGatewayId", tgw_id)]

    def v6_routes():
        return [_route("::/0", "egressOnlyInternetGatewayId", eigw, v6=True)] if eigw else []

    blackhole_nat = None
    if "blackhole_route" in defects:
        blackhole_nat = rid("nat", account, region, name, "deleted")
        store.add("nat_gateways", blackhole_nat, {
            "createTime": ctime, "deleteTime": ctime, "natGatewayAddressSet": [],
            "natGatewayId": blackhole_nat, "state": "deleted",
            "subnetId": public_ids[0] if public_ids else lay["subnets"][0]["id"], "vpcId": vpc_id,
            "tagSet": _tags({"Name": name + "-nat-old"}), "connectivityType": "public"})

    def apply_route_defects(routes):
        if defects & {"no_default_route", "blackhole_route", "igw_only_route"}:
            routes = [r for r in routes if r.get("destinationCidrBlock") != "0.0.0.0/0"]
        if blackhole_nat:
            routes.append(_route("0.0.0.0/0", "natGatewayId", blackhole_nat, state="blackhole"))
        if "igw_only_route" in defects:
            routes.append(_route("0.0.0.0/0", "gatewayId", igw))
        return routes

    main_rt = rid("rtb", account, region, name, "main")
    main_routes = _local_routes(cidr, v6block)
    if rt_mode == "main":
        main_routes += default_routes(lay["subnets"][0]["az"]) + v6_routes()
        main_routes = apply_route_defects(main_routes)
    store.add("route_tables", main_rt, {
        "associationSet": [{"main": True, "routeTableAssociationId": rid("rtbassoc", main_rt),
                            "routeTableId": main_rt, "associationState": {"state": "associated"}}],
        "propagatingVgwSet": [], "routeTableId": main_rt, "routeSet": main_routes,
        "tagSet": _tags({"Name": name + "-main"}), "vpcId": vpc_id, "ownerId": account})
    if rt_mode == "per-subnet":
        for s in lay["subnets"]:
            rt = rid("rtb", account, region, name, "private", s["index"])
            routes = _local_routes(cidr, v6block) + default_routes(s["az"]) + v6_routes()
            if s["index"] == 0:
                routes = apply_route_defects(routes)
            store.add("route_tables", rt, {
                "associationSet": [{"main": False, "routeTableAssociationId": rid("rtbassoc", rt),
                                    "routeTableId": rt, "subnetId": s["id"],
                                    "associationState": {"state": "associated"}}],
                "propagatingVgwSet": [], "routeTableId": rt, "routeSet": routes,
                "tagSet": _tags({"Name": "%s-private-%s" % (name, s["az"])}), "vpcId": vpc_id,
                "ownerId": account})
    if public_ids:
        rt = rid("rtb", account, region, name, "public")
        store.add("route_tables", rt, {
            "associationSet": [{"main": False, "routeTableAssociationId": rid("rtbassoc", rt, sid),
                                "routeTableId": rt, "subnetId": sid, "associationState": {"state": "associated"}}
                               for sid in public_ids],
            "propagatingVgwSet": [], "routeTableId": rt,
            "routeSet": _local_routes(cidr, v6block) + [_route("0.0.0.0/0", "gatewayId", igw)],
            "tagSet": _tags({"Name": name + "-public"}), "vpcId": vpc_id, "ownerId": account})

    _expand_nacls(store, net, lay, public_ids, v6block, h)

    # security groups of the network
    all6 = ["::/0"] if ipv6 else []
    store.add("security_groups", rid("sg", account, region, name, "default"), security_group(
        account, region, rid("sg", account, region, name, "default"), "default", "default VPC security group",
        vpc_id, [_perm("-1", groups=[rid("sg", account, region, name, "default")], account=account)],
        [_perm("-1", cidrs=["0.0.0.0/0"], cidrs6=all6)]))
    node_sg = lay["node_sg"] or rid("sg", account, region, name, "nodes")
    extra_sg = lay["extra_sg"] or rid("sg", account, region, name, "controlplane")
    store.add("security_groups", node_sg, security_group(
        account, region, node_sg, name + "-nodes", "EKS worker nodes", vpc_id,
        [_perm("-1", groups=[node_sg], account=account), _perm("tcp", (10250, 10250), cidrs=[cidr])],
        [_perm("-1", cidrs=["0.0.0.0/0"], cidrs6=all6)], {"Name": name + "-nodes"}))
    # an optional extra control-plane group that only opens 443 outbound
    store.add("security_groups", extra_sg, security_group(
        account, region, extra_sg, name + "-controlplane", "extra control plane egress", vpc_id, [],
        [_perm("tcp", (443, 443), cidrs=["0.0.0.0/0"], cidrs6=all6)], {"Name": name + "-controlplane"}))

    _expand_endpoints(store, net, lay, node_sg, ctime)
    if net.get("flow_logs"):
        fl = flow_log(account, region, vpc_id, ctime, name)
        store.add("flow_logs", fl["flowLogId"], fl)


def _expand_nacls(store, net, lay, public_ids, v6block, h):
    account, region, name = store.account, store.region, net["name"]
    vpc_id, cidr = lay["vpc_id"], lay["cidr"]
    ipv6 = v6block is not None
    nacl_mode = net.get("nacl", "custom")
    defects = set(net.get("defects", []))
    default_acl = rid("acl", account, region, name, "default")
    dentries = [_nacl_entry(100, "-1", "allow", True, "0.0.0.0/0"),
                _nacl_entry(32767, "-1", "deny", True, "0.0.0.0/0"),
                _nacl_entry(100, "-1", "allow", False, "0.0.0.0/0"),
                _nacl_entry(32767, "-1", "deny", False, "0.0.0.0/0")]
    if ipv6:
        dentries[1:1] = [_nacl_entry(101, "-1", "allow", True, "::/0", v6=True)]
        dentries.append(_nacl_entry(101, "-1", "allow", False, "::/0", v6=True))
        dentries.append(_nacl_entry(32768, "-1", "deny", True, "::/0", v6=True))
        dentries.append(_nacl_entry(32768, "-1", "deny", False, "::/0", v6=True))
    nacl_defect = [d for d in NACL_DEFECTS if d in defects]
    default_subnets = list(public_ids)
    custom_subnets = []
    broken_subnets = []
    for s in lay["subnets"]:
        if s["index"] == 0 and nacl_defect:
            broken_subnets.append(s["id"])
        elif nacl_mode == "default":
            default_subnets.append(s["id"])
        else:
            custom_subnets.append(s["id"])

    def acl(acl_id, entries, subnet_ids, is_default, label):
        store.add("network_acls", acl_id, {
            "associationSet": [{"networkAclAssociationId": rid("aclassoc", acl_id, sid), "networkAclId": acl_id,
                                "subnetId": sid} for sid in subnet_ids],
            "entrySet": entries, "default": is_default, "networkAclId": acl_id,
            "tagSet": _tags({"Name": label}) if not is_default else [], "vpcId": vpc_id, "ownerId": account})

    acl(default_acl, dentries, default_subnets, True, name + "-default")

    def custom_entries(defect):
        eg = [_nacl_entry(100, "6", "allow", True, "0.0.0.0/0", (443, 443)),
              _nacl_entry(110, "6", "allow", True, cidr, (10250, 10250)),
              _nacl_entry(120, "6", "allow", True, "0.0.0.0/0", (1024, 65535)),
              _nacl_entry(130, "17", "allow", True, cidr, (53, 53)),
              _nacl_entry(140, "6", "allow", True, cidr, (53, 53))]
        ing = [_nacl_entry(100, "6", "allow", False, "0.0.0.0/0", (1024, 65535)),
               _nacl_entry(110, "-1", "allow", False, cidr)]
        if ipv6:
            eg.append(_nacl_entry(105, "6", "allow", True, "::/0", (443, 443), v6=True))
            eg.append(_nacl_entry(125, "6", "allow", True, "::/0", (1024, 65535), v6=True))
            ing.append(_nacl_entry(105, "6", "allow", False, "::/0", (1024, 65535), v6=True))
        if defect == "nacl_443_blocked":
            eg.append(_nacl_entry(90, "6", "deny", True, "0.0.0.0/0", (443, 443)))
        elif defect == "nacl_10250_blocked":
            eg.append(_nacl_entry(90, "6", "deny", True, cidr, (10250, 10250)))
        elif defect == "nacl_ephemeral_blocked":
            if h % 2:
                ing.append(_nacl_entry(90, "6", "deny", False, "0.0.0.0/0", (1024, 65535)))
            else:
                ing[0] = _nacl_entry(100, "6", "allow", False, "0.0.0.0/0", (32768, 65535))
        eg.append(_nacl_entry(32767, "-1", "deny", True, "0.0.0.0/0"))
        ing.append(_nacl_entry(32767, "-1", "deny", False, "0.0.0.0/0"))
        if ipv6:
            eg.append(_nacl_entry(32768, "-1", "deny", True, "::/0", v6=True))
            ing.append(_nacl_entry(32768, "-1", "deny", False, "::/0", v6=True))
        return sort_nacl_entries(eg + ing)

    if custom_subnets or nacl_mode == "custom":
        acl(rid("acl", account, region, name, "private"), custom_entries(None), custom_subnets, False,
            name + "-private")
    if broken_subnets:
        acl(rid("acl", account, region, name, "restricted"), custom_entries(nacl_defect[0]),
            broken_subnets, False, name + "-restricted")


def sort_nacl_entries(entries):
    """AWS lists NACL entries egress first, then by rule number."""
    return sorted(entries, key=lambda e: (not e["egress"], e["ruleNumber"]))


def _expand_endpoints(store, net, lay, node_sg, ctime):
    account, region, name = store.account, store.region, net["name"]
    vpc_id = lay["vpc_id"]
    for svc in net.get("vpc_endpoints", []):
        ep = rid("vpce", account, region, name, svc)
        if svc == "s3":
            store.add("vpc_endpoints", ep, {
                "vpcEndpointId": ep, "vpcEndpointType": "Gateway", "vpcId": vpc_id,
                "serviceName": "com.amazonaws.%s.s3" % region, "state": "available",
                "routeTableIdSet": [rt["routeTableId"] for rt in store.route_tables.values()
                                    if rt["vpcId"] == vpc_id],
                "subnetIdSet": [], "groupSet": [], "privateDnsEnabled": False, "requesterManaged": False,
                "networkInterfaceIdSet": [], "dnsEntrySet": [], "creationTimestamp": ctime, "tagSet": [],
                "ownerId": account})
            continue
        enis = [rid("eni", ep, s["id"]) for s in lay["subnets"]]
        host = "%s.%s.%s.vpce.amazonaws.com" % (ep, svc, region)
        store.add("vpc_endpoints", ep, {
            "vpcEndpointId": ep, "vpcEndpointType": "Interface", "vpcId": vpc_id,
            "serviceName": "com.amazonaws.%s.%s" % (region, svc), "state": "available",
            "routeTableIdSet": [], "subnetIdSet": [s["id"] for s in lay["subnets"]],
            "groupSet": [{"groupId": node_sg, "groupName": name + "-nodes"}],
            "ipAddressType": "ipv4", "dnsOptions": {"dnsRecordIpType": "ipv4"},
            "privateDnsEnabled": True, "requesterManaged": False, "networkInterfaceIdSet": enis,
            "dnsEntrySet": [{"dnsName": host, "hostedZoneId": "Z7HUB22UULQXV"},
                            {"dnsName": "%s.%s.amazonaws.com" % (svc, region), "hostedZoneId": "ZONEIDPENDING"}],
            "creationTimestamp": ctime, "tagSet": [], "ownerId": account})


# ---------------------------------------------------------------- per-cluster resources

def cluster_security_group(account, region, cl, lay, ipv6):
    """The EKS-created cluster security group for a cluster record."""
    gid = cl["cluster_sg"]
    name = cl["name"]
    defects = set(cl.get("defects", []))
    cidr = lay["cidr"] if lay else "10.0.0.0/16"
    node_sg = (lay or {}).get("node_sg") or gid
    all6 = ["::/0"] if ipv6 else []
    variant = int(h16("sgvariant", account, region, name), 16) % 3
    if "sg_no_443" in defects:
        egress = [_perm("tcp", (10250, 10250), groups=[node_sg], account=account),
                  _perm("udp", (53, 53), cidrs=[cidr])]
    elif "sg_no_10250" in defects:
        egress = [_perm("tcp", (443, 443), cidrs=["0.0.0.0/0"], cidrs6=all6),
                  _perm("udp", (53, 53), cidrs=[cidr])]
    elif variant == 1:
        egress = [_perm("tcp", (443, 443), cidrs=["0.0.0.0/0"], cidrs6=all6),
                  _perm("tcp", (10250, 10250), groups=[node_sg], account=account),
                  _perm("udp", (53, 53), cidrs=[cidr])]
    elif variant == 2 and cl.get("extra_sg_attached"):
        # 443 comes from the extra control-plane group: the union matters
        egress = [_perm("tcp", (10250, 10250), cidrs=[cidr]), _perm("udp", (53, 53), cidrs=[cidr])]
    else:
        egress = [_perm("-1", cidrs=["0.0.0.0/0"], cidrs6=all6)]
    sgname = "eks-cluster-sg-%s-%d" % (name, int(h16("sgnum", gid), 16) % 10 ** 10)
    return security_group(
        account, region, gid, sgname,
        "EKS created security group applied to ENI that is attached to EKS Control Plane master nodes, "
        "as well as any managed workloads.", cl["vpc_id"], [_perm("-1", groups=[gid], account=account)], egress,
        {"Name": sgname, "kubernetes.io/cluster/" + name: "owned",
         "aws:eks:cluster-name": name})


def cluster_enis(account, region, cl, subnets_by_id):
    out = []
    groups = [cl["cluster_sg"]] + list(cl.get("sg_ids", []))
    for i, sid in enumerate(cl["subnet_ids"][:2]):
        sub = subnets_by_id.get(sid)
        if sub is None:
            continue
        eni = rid("eni", account, region, cl["name"], cl.get("created_at", 0), i)
        ip = _host_ip(sub["cidrBlock"], eni)
        out.append({
            "availabilityZone": sub["availabilityZone"], "description": "Amazon EKS " + cl["name"],
            "groupSet": [{"groupName": g, "groupId": g} for g in groups], "interfaceType": "interface",
            "ipv6AddressesSet": [], "macAddress": _mac(eni),
            "networkInterfaceId": eni, "ownerId": account,
            "privateDnsName": "ip-%s.%s.compute.internal" % (ip.replace(".", "-"), region),
            "privateIpAddress": ip,
            "privateIpAddressesSet": [{"primary": True, "privateIpAddress": ip}],
            "requesterId": "%s" % hexid(12, "eks", region), "requesterManaged": False,
            "sourceDestCheck": True, "status": "in-use", "subnetId": sid,
            "tagSet": [], "vpcId": sub["vpcId"], "_cluster": cl["name"]})
    return out
