"""Explicit networks: a fleet network's optional ``ec2`` object.

It holds raw EC2 resources in the shapes DescribeX returns them to an SDK
(botocore/boto3 member names: ``RouteTables[].Routes[].NatGatewayId``,
``NetworkAcls[].Entries[].PortRange.From``, ...).  Each kind stated replaces what
the network's knobs would generate.  Omitted fields get AWS's values (owner,
state, association ids, ...) so a test writes only what it cares about; what
EC2 always has is added when missing (the local route, the NACLs' catch-all deny
entries, each subnet's association with the default NACL).

Two additions outside the EC2 shapes: ``Vpcs[].EnableDnsSupport`` /
``EnableDnsHostnames`` (booleans served by DescribeVpcAttribute) and
``ManagedPrefixLists[].Entries`` (``[{Cidr, Description}]``, served by
GetManagedPrefixListEntries).
"""

import ipaddress

from . import ec2model, regions
from .ids import h16, rid
from .network import KINDS, KIND_BY_KEY, NetworkError, _host_ip, _mac, _private_dns, instance_resources, \
    sort_nacl_entries

_EXTENSIONS = {"Vpcs": ("EnableDnsSupport", "EnableDnsHostnames"), "ManagedPrefixLists": ("Entries",)}
_SG_PROTOCOLS = {"6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6"}
_ROUTE_TARGETS = ("GatewayId", "NatGatewayId", "TransitGatewayId", "InstanceId", "NetworkInterfaceId",
                  "EgressOnlyInternetGatewayId", "VpcPeeringConnectionId", "LocalGatewayId", "CarrierGatewayId",
                  "CoreNetworkArn")


def _err(net, msg):
    return NetworkError("network %s: ec2.%s" % (net["name"], msg))


def _items(net, key):
    ec2 = net.get("ec2") or {}
    v = ec2.get(key)
    if v is None:
        return None
    if not isinstance(v, list) or not all(isinstance(o, dict) for o in v):
        raise _err(net, "%s must be a list of objects" % key)
    return [_without_nulls(o) for o in v]


def _without_nulls(o):
    """A copy in which JSON null means absent (so the field gets its default)."""
    if isinstance(o, dict):
        return dict((k, _without_nulls(v)) for k, v in o.items() if v is not None)
    if isinstance(o, list):
        return [_without_nulls(v) for v in o]
    return o


def check_keys(net):
    ec2 = net.get("ec2")
    if not isinstance(ec2, dict):
        raise NetworkError("network %s: ec2 must be an object" % net["name"])
    for k in ec2:
        if k not in KIND_BY_KEY:
            raise NetworkError("network %s: ec2 has unknown resource kind %r (known: %s)"
                               % (net["name"], k, ", ".join(sorted(KIND_BY_KEY))))
    vpcs = ec2.get("Vpcs")
    if vpcs is not None and (not isinstance(vpcs, list) or len(vpcs) != 1):
        raise NetworkError("network %s: ec2.Vpcs must hold exactly one VPC (a network is one VPC)" % net["name"])


def explicit_kinds(net):
    """Store kinds the network states explicitly."""
    return set(KIND_BY_KEY[k] for k in (net.get("ec2") or {}))


def _check_id(net, key, i, o):
    kind = KIND_BY_KEY[key]
    _, sdk_id, _, prefix = KINDS[kind]
    v = o.get(sdk_id)
    if v is not None and (not isinstance(v, str) or not v.startswith(prefix) or len(v) <= len(prefix)):
        raise _err(net, "%s[%d].%s: %r must start with %s" % (key, i, sdk_id, v, prefix))


def layout_subnets(account, region, net, vpc_cidr):
    """The explicit subnets with their defaults, as the layout needs them."""
    out = []
    for i, o in enumerate(_subnets_sdk(account, region, net, vpc_cidr)):
        out.append({"id": o["SubnetId"], "cidr": o["CidrBlock"], "az": o["AvailabilityZone"],
                    "az_id": o["AvailabilityZoneId"], "index": i})
    return out


def _subnets_sdk(account, region, net, vpc_cidr):
    subs = _items(net, "Subnets") or []
    vnet = ipaddress.ip_network(vpc_cidr)
    zones = regions.eks_azs(region)
    new_prefix = min(28, max(vnet.prefixlen + 4, 20))
    blocks = vnet.subnets(new_prefix=new_prefix) if new_prefix > vnet.prefixlen else iter([vnet])
    for i, o in enumerate(subs):
        _check_id(net, "Subnets", i, o)
        o.setdefault("SubnetId", rid("subnet", account, region, net["name"], "explicit", i))
        if "CidrBlock" not in o:
            try:
                o["CidrBlock"] = str(next(blocks))
            except StopIteration:
                raise _err(net, "Subnets[%d]: no room left in %s: state its CidrBlock" % (i, vpc_cidr))
        if "AvailabilityZone" not in o:
            o["AvailabilityZone"] = zones[i % len(zones)][0]
        zid = regions.az_id(region, o["AvailabilityZone"]) if isinstance(o["AvailabilityZone"], str) else None
        if zid is None:
            raise _err(net, "Subnets[%d].AvailabilityZone: %r is not a zone of %s"
                       % (i, o["AvailabilityZone"], region))
        o.setdefault("AvailabilityZoneId", zid)
        try:
            size = ipaddress.ip_network(o["CidrBlock"]).num_addresses
        except (ValueError, TypeError):
            raise _err(net, "Subnets[%d].CidrBlock: %r is not a CIDR block" % (i, o["CidrBlock"]))
        o.setdefault("AvailableIpAddressCount", max(0, size - 5))
    return subs


class _Ctx(object):
    pass


def resources(account, region, net, bucket, ctime):
    """{store kind: [wire objects]} for every kind the network states.

    bucket holds what the knobs generated for this network (for defaults such as
    the DHCP options a stated VPC uses when DhcpOptions is not stated)."""
    check_keys(net)
    name = net["name"]
    lay = bucket.layouts[name]
    cx = _Ctx()
    cx.account, cx.region, cx.name, cx.ctime = account, region, name, ctime
    cx.vpc_id, cx.cidr = lay["vpc_id"], lay["cidr"]
    out = {}
    sdk = {}
    for key in KIND_BY_KEY:
        items = _items(net, key)
        if items is None:
            continue
        seen = set()
        _, sdk_id, _, _ = KINDS[KIND_BY_KEY[key]]
        for i, o in enumerate(items):
            _check_id(net, key, i, o)
            if "VpcId" in o and o["VpcId"] != cx.vpc_id:
                raise _err(net, "%s[%d].VpcId %r is not this network's VPC %s" % (key, i, o["VpcId"], cx.vpc_id))
            if o.get(sdk_id) is not None:
                if o[sdk_id] in seen:
                    raise _err(net, "%s: duplicate %s %s" % (key, sdk_id, o[sdk_id]))
                seen.add(o[sdk_id])
        sdk[key] = items

    # subnets of the VPC, stated or generated (for defaults and associations)
    if "Subnets" in sdk:
        sdk["Subnets"] = _subnets_sdk(account, region, net, cx.cidr)
        subnet_ids = [o["SubnetId"] for o in sdk["Subnets"]]
        cx.subnet_az = dict((o["SubnetId"], o["AvailabilityZone"]) for o in sdk["Subnets"])
        cx.subnet_cidr = dict((o["SubnetId"], o["CidrBlock"]) for o in sdk["Subnets"])
    else:
        subnet_ids = list(bucket.subnets)
        cx.subnet_az = dict((k, v["availabilityZone"]) for k, v in bucket.subnets.items())
        cx.subnet_cidr = dict((k, v["cidrBlock"]) for k, v in bucket.subnets.items())
    cx.private_ids = [s["id"] for s in lay["subnets"]]
    cx.first_subnet = cx.private_ids[0] if cx.private_ids else (subnet_ids[0] if subnet_ids else None)

    def first_id(key, kind):
        if key in sdk:
            return sdk[key][0].get(KINDS[kind][1]) if sdk[key] else None
        gen = getattr(bucket, kind)
        return next(iter(gen), None)

    # ids first, so defaults can point at them
    for key, items in sdk.items():
        kind = KIND_BY_KEY[key]
        _, sdk_id, _, prefix = KINDS[kind]
        for i, o in enumerate(items):
            o.setdefault(sdk_id, rid(prefix.rstrip("-"), account, region, name, "explicit", i))
    cx.dopt_id = first_id("DhcpOptions", "dhcp_options")
    if "Vpcs" not in sdk:
        cx.dopt_id = cx.dopt_id if "DhcpOptions" in sdk else bucket.vpcs[cx.vpc_id]["dhcpOptionsId"]
    vpc_v6 = None
    if "Vpcs" in sdk:
        v6 = sdk["Vpcs"][0].get("Ipv6CidrBlockAssociationSet") or []
        vpc_v6 = v6[0].get("Ipv6CidrBlock") if v6 and isinstance(v6[0], dict) else None
    else:
        v6 = bucket.vpcs[cx.vpc_id]["ipv6CidrBlockAssociationSet"]
        vpc_v6 = v6[0]["ipv6CidrBlock"] if v6 else None
    cx.v6 = vpc_v6
    cx.tgw_id = first_id("TransitGateways", "transit_gateways")

    private = {}
    for key in ("DhcpOptions", "Vpcs", "Subnets", "SecurityGroups", "ManagedPrefixLists", "InternetGateways",
                "EgressOnlyInternetGateways", "NatGateways", "TransitGateways", "TransitGatewayVpcAttachments",
                "NetworkInterfaces", "VpcEndpoints", "FlowLogs"):
        if key not in sdk:
            continue
        fill = _DEFAULTS[key]
        for i, o in enumerate(sdk[key]):
            ext = dict((k, o.pop(k)) for k in _EXTENSIONS.get(key, ()) if k in o)
            fill(o, i, cx)
            private[(key, i)] = ext
    instances_eni = []
    if "Instances" in sdk:
        subnets = dict(bucket.subnets)
        for sid, cidr in cx.subnet_cidr.items():
            subnets[sid] = {"subnetId": sid, "vpcId": cx.vpc_id, "cidrBlock": cidr,
                            "availabilityZone": cx.subnet_az[sid]}
        for i, o in enumerate(sdk["Instances"]):
            instances_eni.append(_instance(o, i, cx, net, subnets))
        # the generated NAT instance goes, and so do its interfaces
        for eid, e in list(bucket.network_interfaces.items()):
            if (e.get("attachment") or {}).get("instanceId") in bucket.instances:
                del bucket.network_interfaces[eid]
    enis_by_instance = dict((w["instanceId"], w["networkInterfaceSet"][0]["networkInterfaceId"])
                            for w, _ in instances_eni if w.get("networkInterfaceSet"))
    if "RouteTables" in sdk:
        _route_tables(sdk["RouteTables"], cx, net, subnet_ids, enis_by_instance)
    if "NetworkAcls" in sdk:
        _network_acls(sdk["NetworkAcls"], cx, net, subnet_ids)

    for key, items in sdk.items():
        kind = KIND_BY_KEY[key]
        if key == "Instances":
            out[kind] = [w for w, _ in instances_eni]
            continue
        shape = ec2model.root_shape(key)
        objs = []
        for i, o in enumerate(items):
            try:
                w = ec2model.to_wire(shape, o, "%s[%d]" % (key, i))
            except ec2model.ShapeError as e:
                raise _err(net, _hint(str(e)))
            ext = private.get((key, i), {})
            if key == "Vpcs":
                for k in ("EnableDnsSupport", "EnableDnsHostnames"):
                    if not isinstance(ext.get(k, True), bool):
                        raise _err(net, "Vpcs[0].%s: expected true or false" % k)
                w["_dns_support"] = ext.get("EnableDnsSupport", True)
                w["_dns_hostnames"] = ext.get("EnableDnsHostnames", True)
            elif key == "ManagedPrefixLists":
                entries = ext.get("Entries", [])
                if not isinstance(entries, list):
                    raise _err(net, "%s[%d].Entries must be a list of {Cidr, Description}" % (key, i))
                try:
                    w["_entries"] = [ec2model.to_wire("PrefixListEntry", e, "%s[%d].Entries[%d]" % (key, i, j))
                                     for j, e in enumerate(entries)]
                except ec2model.ShapeError as e:
                    raise _err(net, str(e))
            if key in ("Vpcs", "Subnets"):
                w["_network"] = name
            objs.append(w)
        if key == "NetworkAcls":
            for w in objs:
                w["entrySet"] = sort_nacl_entries(w.get("entrySet", []))
        out[kind] = objs
    extra = [e for _, enis in instances_eni for e in enis]
    if "network_interfaces" in out:
        known = set(e["networkInterfaceId"] for e in out["network_interfaces"])
        out["network_interfaces"].extend(e for e in extra if e["networkInterfaceId"] not in known)
    else:
        # generated ENIs stay; the instances' ENIs are added beside them
        for e in extra:
            bucket.network_interfaces[e["networkInterfaceId"]] = e
    return out


def _hint(msg):
    if "unknown field 'VpcEndpointId'" in msg and "Routes" in msg:
        return msg + ". EC2 reports a route to a Gateway Load Balancer endpoint as GatewayId: vpce-..."
    return msg


# ---------------------------------------------------------------- per-kind defaults (SDK shape)

def _tags_default(o, cx, label=None):
    o.setdefault("Tags", [{"Key": "Name", "Value": label}] if label else [])


def _d_dhcp(o, i, cx):
    o.setdefault("DhcpConfigurations", [{"Key": "domain-name-servers", "Values": [{"Value": "AmazonProvidedDNS"}]}])
    o.setdefault("OwnerId", cx.account)
    _tags_default(o, cx)


def _d_vpc(o, i, cx):
    o.setdefault("VpcId", cx.vpc_id)
    o.setdefault("CidrBlock", cx.cidr)
    o.setdefault("DhcpOptionsId", cx.dopt_id)
    o.setdefault("State", "available")
    o.setdefault("OwnerId", cx.account)
    o.setdefault("InstanceTenancy", "default")
    o.setdefault("Ipv6CidrBlockAssociationSet", [])
    o.setdefault("CidrBlockAssociationSet", [{"AssociationId": rid("vpc-cidr-assoc", cx.account, cx.region, cx.name),
                                              "CidrBlock": o["CidrBlock"], "CidrBlockState": {"State": "associated"}}])
    o.setdefault("IsDefault", False)
    _tags_default(o, cx, cx.name)


def _d_subnet(o, i, cx):
    o.setdefault("DefaultForAz", False)
    o.setdefault("MapPublicIpOnLaunch", False)
    o.setdefault("State", "available")
    o.setdefault("VpcId", cx.vpc_id)
    o.setdefault("OwnerId", cx.account)
    o.setdefault("AssignIpv6AddressOnCreation", False)
    o.setdefault("Ipv6CidrBlockAssociationSet", [])
    _tags_default(o, cx)
    o.setdefault("SubnetArn", "arn:aws:ec2:%s:%s:subnet/%s" % (cx.region, cx.account, o["SubnetId"]))


def _perms(perms, cx):
    for p in perms if isinstance(perms, list) else []:
        if not isinstance(p, dict):
            continue
        proto = p.get("IpProtocol")
        if isinstance(proto, str):
            p["IpProtocol"] = _SG_PROTOCOLS.get(proto, proto)
        for key in ("IpRanges", "Ipv6Ranges", "PrefixListIds", "UserIdGroupPairs"):
            p.setdefault(key, [])
        for g in p["UserIdGroupPairs"] if isinstance(p["UserIdGroupPairs"], list) else []:
            if isinstance(g, dict):
                g.setdefault("UserId", cx.account)


def _d_sg(o, i, cx):
    o.setdefault("Description", "security group %s" % o["GroupId"])
    o.setdefault("GroupName", "%s-sg-%d" % (cx.name, i))
    o.setdefault("IpPermissions", [])
    o.setdefault("OwnerId", cx.account)
    o.setdefault("IpPermissionsEgress", [])
    _tags_default(o, cx)
    o.setdefault("VpcId", cx.vpc_id)
    _perms(o["IpPermissions"], cx)
    _perms(o["IpPermissionsEgress"], cx)


def _d_prefix_list(o, i, cx):
    o.setdefault("AddressFamily", "IPv4")
    o.setdefault("State", "create-complete")
    o.setdefault("PrefixListArn", "arn:aws:ec2:%s:%s:prefix-list/%s" % (cx.region, cx.account, o["PrefixListId"]))
    o.setdefault("PrefixListName", "%s-pl-%d" % (cx.name, i))
    o.setdefault("MaxEntries", 20)
    o.setdefault("Version", 1)
    _tags_default(o, cx)
    o.setdefault("OwnerId", cx.account)


def _d_igw(o, i, cx):
    o.setdefault("Attachments", [{"State": "available", "VpcId": cx.vpc_id}])
    o.setdefault("OwnerId", cx.account)
    _tags_default(o, cx)


def _d_eigw(o, i, cx):
    o.setdefault("Attachments", [{"State": "attached", "VpcId": cx.vpc_id}])
    _tags_default(o, cx)


def _d_nat(o, i, cx):
    o.setdefault("CreateTime", cx.ctime)
    sid = o.setdefault("SubnetId", cx.first_subnet)
    state = o.setdefault("State", "available")
    if "NatGatewayAddresses" not in o:
        addrs = []
        if str(state).lower() == "available" and sid in cx.subnet_cidr:
            hh = int(h16("eip", o["NatGatewayId"]), 16)
            addrs.append({"AllocationId": rid("eipalloc", o["NatGatewayId"]),
                          "NetworkInterfaceId": rid("eni", o["NatGatewayId"]),
                          "PrivateIp": _host_ip(cx.subnet_cidr[sid], o["NatGatewayId"]),
                          "PublicIp": "3.%d.%d.%d" % (hh % 250, (hh >> 8) % 250, (hh >> 16) % 250 + 1)})
        o["NatGatewayAddresses"] = addrs
    o.setdefault("VpcId", cx.vpc_id)
    _tags_default(o, cx)
    o.setdefault("ConnectivityType", "public")


def _d_tgw(o, i, cx):
    o.setdefault("TransitGatewayArn", "arn:aws:ec2:%s:%s:transit-gateway/%s"
                 % (cx.region, cx.account, o["TransitGatewayId"]))
    o.setdefault("State", "available")
    o.setdefault("OwnerId", cx.account)
    o.setdefault("Description", "")
    o.setdefault("CreationTime", cx.ctime)
    o.setdefault("Options", {"AmazonSideAsn": 64512, "AutoAcceptSharedAttachments": "disable",
                             "DefaultRouteTableAssociation": "enable", "DefaultRouteTablePropagation": "enable",
                             "VpnEcmpSupport": "enable", "DnsSupport": "enable", "MulticastSupport": "disable"})
    _tags_default(o, cx)


def _d_tgw_attachment(o, i, cx):
    if "TransitGatewayId" not in o:
        if cx.tgw_id is None:
            raise NetworkError("network %s: ec2.TransitGatewayVpcAttachments[%d]: state its TransitGatewayId "
                               "(the network has no transit gateway)" % (cx.name, i))
        o["TransitGatewayId"] = cx.tgw_id
    o.setdefault("VpcId", cx.vpc_id)
    o.setdefault("VpcOwnerId", cx.account)
    o.setdefault("State", "available")
    o.setdefault("SubnetIds", list(cx.private_ids))
    o.setdefault("CreationTime", cx.ctime)
    o.setdefault("Options", {"DnsSupport": "enable", "Ipv6Support": "enable" if cx.v6 else "disable",
                             "ApplianceModeSupport": "disable"})
    _tags_default(o, cx)


def _d_eni(o, i, cx):
    sid = o.setdefault("SubnetId", cx.first_subnet)
    eid = o["NetworkInterfaceId"]
    o.setdefault("AvailabilityZone", cx.subnet_az.get(sid, ""))
    o.setdefault("Description", "")
    o.setdefault("Groups", [])
    o.setdefault("InterfaceType", "interface")
    o.setdefault("Ipv6Addresses", [])
    o.setdefault("MacAddress", _mac(eid))
    o.setdefault("OwnerId", cx.account)
    if "PrivateIpAddress" not in o and sid in cx.subnet_cidr:
        o["PrivateIpAddress"] = _host_ip(cx.subnet_cidr[sid], eid)
    if "PrivateIpAddress" in o:
        o.setdefault("PrivateDnsName", _private_dns(o["PrivateIpAddress"], cx.region))
        o.setdefault("PrivateIpAddresses", [{"Primary": True, "PrivateIpAddress": o["PrivateIpAddress"],
                                             "PrivateDnsName": o["PrivateDnsName"]}])
    o.setdefault("RequesterManaged", False)
    o.setdefault("SourceDestCheck", True)
    o.setdefault("Status", "in-use" if o.get("Attachment") else "available")
    o.setdefault("TagSet", [])
    o.setdefault("VpcId", cx.vpc_id)


def _d_vpce(o, i, cx):
    if "ServiceName" not in o:
        raise NetworkError("network %s: ec2.VpcEndpoints[%d]: ServiceName is required (e.g. com.amazonaws.%s.eks)"
                           % (cx.name, i, cx.region))
    etype = o.setdefault("VpcEndpointType", "Interface")
    o.setdefault("VpcId", cx.vpc_id)
    o.setdefault("State", "available")
    o.setdefault("RouteTableIds", [])
    interface = str(etype) != "Gateway"
    o.setdefault("SubnetIds", list(cx.private_ids) if interface else [])
    o.setdefault("Groups", [])
    o.setdefault("PrivateDnsEnabled", str(etype) == "Interface")
    o.setdefault("RequesterManaged", False)
    ep = o["VpcEndpointId"]
    subnets = o["SubnetIds"] if isinstance(o["SubnetIds"], list) else []
    o.setdefault("NetworkInterfaceIds", [rid("eni", ep, s) for s in subnets] if interface else [])
    if interface and isinstance(o["ServiceName"], str):
        svc = o["ServiceName"].rsplit(".", 1)[-1]
        entries = [{"DnsName": "%s.%s.%s.vpce.amazonaws.com" % (ep, svc, cx.region), "HostedZoneId": "Z7HUB22UULQXV"}]
        if o["PrivateDnsEnabled"] is True:
            entries.append({"DnsName": "%s.%s.amazonaws.com" % (svc, cx.region), "HostedZoneId": "ZONEIDPENDING"})
        o.setdefault("DnsEntries", entries)
    else:
        o.setdefault("DnsEntries", [])
    o.setdefault("CreationTimestamp", cx.ctime)
    _tags_default(o, cx)
    o.setdefault("OwnerId", cx.account)


def _d_flow_log(o, i, cx):
    group = "/aws/vpc/flow-logs/%s" % cx.name
    o.setdefault("CreationTime", cx.ctime)
    o.setdefault("DeliverLogsPermissionArn", "arn:aws:iam::%s:role/vpc-flow-logs" % cx.account)
    o.setdefault("DeliverLogsStatus", "SUCCESS")
    o.setdefault("FlowLogStatus", "ACTIVE")
    o.setdefault("ResourceId", cx.vpc_id)
    o.setdefault("TrafficType", "ALL")
    dest = o.setdefault("LogDestinationType", "cloud-watch-logs")
    if dest == "cloud-watch-logs":
        o.setdefault("LogGroupName", group)
        o.setdefault("LogDestination", "arn:aws:logs:%s:%s:log-group:%s" % (cx.region, cx.account, o["LogGroupName"]))
    o.setdefault("Tags", [])
    o.setdefault("MaxAggregationInterval", 600)


_DEFAULTS = {"DhcpOptions": _d_dhcp, "Vpcs": _d_vpc, "Subnets": _d_subnet, "SecurityGroups": _d_sg,
             "ManagedPrefixLists": _d_prefix_list, "InternetGateways": _d_igw, "EgressOnlyInternetGateways": _d_eigw,
             "NatGateways": _d_nat, "TransitGateways": _d_tgw, "TransitGatewayVpcAttachments": _d_tgw_attachment,
             "NetworkInterfaces": _d_eni, "VpcEndpoints": _d_vpce, "FlowLogs": _d_flow_log}


def _instance(o, i, cx, net, subnets):
    """An explicit instance -> (wire instance, [wire ENIs]).  Stated fields win over the defaults."""
    o.setdefault("SubnetId", cx.first_subnet)
    if o["SubnetId"] not in subnets:
        raise _err(net, "Instances[%d].SubnetId %r is not a subnet of this network" % (i, o["SubnetId"]))
    if not isinstance(o.get("State", {}), dict) or not isinstance(o.get("NetworkInterfaces", []), list) or \
            not all(isinstance(n, dict) for n in o.get("NetworkInterfaces", [])):
        raise _err(net, "Instances[%d]: State must be an object and NetworkInterfaces a list of objects" % i)
    try:
        return instance_resources(cx.account, cx.region, o, subnets, cx.ctime, "Instances[%d]" % i)
    except ec2model.ShapeError as e:
        raise _err(net, str(e))


def _route_tables(tables, cx, net, subnet_ids, enis_by_instance):
    mains = 0
    assoc = {}
    for i, t in enumerate(tables):
        rtb = t["RouteTableId"]
        t.setdefault("VpcId", cx.vpc_id)
        t.setdefault("OwnerId", cx.account)
        t.setdefault("PropagatingVgws", [])
        _tags_default(t, cx)
        routes = t.setdefault("Routes", [])
        if not isinstance(routes, list):
            raise _err(net, "RouteTables[%d].Routes must be a list" % i)
        for j, r in enumerate(routes):
            if not isinstance(r, dict):
                raise _err(net, "RouteTables[%d].Routes[%d] must be an object" % (i, j))
            if "VpcEndpointId" in r:
                raise _err(net, "RouteTables[%d].Routes[%d]: EC2 reports a route to a Gateway Load Balancer "
                                "endpoint as GatewayId: vpce-..., not VpcEndpointId" % (i, j))
            dests = [k for k in ("DestinationCidrBlock", "DestinationIpv6CidrBlock", "DestinationPrefixListId")
                     if k in r]
            if len(dests) != 1:
                raise _err(net, "RouteTables[%d].Routes[%d]: needs exactly one of DestinationCidrBlock, "
                                "DestinationIpv6CidrBlock, DestinationPrefixListId" % (i, j))
            if not any(k in r for k in _ROUTE_TARGETS):
                raise _err(net, "RouteTables[%d].Routes[%d]: needs a target (%s)" % (i, j, ", ".join(_ROUTE_TARGETS)))
            if "InstanceId" in r:
                r.setdefault("InstanceOwnerId", cx.account)
                if r["InstanceId"] in enis_by_instance:
                    r.setdefault("NetworkInterfaceId", enis_by_instance[r["InstanceId"]])
            r.setdefault("Origin", "CreateRoute")
            r.setdefault("State", "active")
        # every route table has its VPC's local routes, first
        if cx.v6 and not any(r.get("GatewayId") == "local" and r.get("DestinationIpv6CidrBlock") == cx.v6
                             for r in routes):
            routes.insert(0, {"DestinationIpv6CidrBlock": cx.v6, "GatewayId": "local", "Origin": "CreateRouteTable",
                              "State": "active"})
        if not any(r.get("GatewayId") == "local" and r.get("DestinationCidrBlock") == cx.cidr for r in routes):
            routes.insert(0, {"DestinationCidrBlock": cx.cidr, "GatewayId": "local", "Origin": "CreateRouteTable",
                              "State": "active"})
        assocs = t.setdefault("Associations", [])
        if not isinstance(assocs, list):
            raise _err(net, "RouteTables[%d].Associations must be a list" % i)
        for j, a in enumerate(assocs):
            if not isinstance(a, dict):
                raise _err(net, "RouteTables[%d].Associations[%d] must be an object" % (i, j))
            a.setdefault("Main", False)
            a.setdefault("RouteTableAssociationId", rid("rtbassoc", rtb, j))
            a.setdefault("RouteTableId", rtb)
            a.setdefault("AssociationState", {"State": "associated"})
            if a["Main"] is True:
                mains += 1
            sid = a.get("SubnetId")
            if sid is not None:
                if sid in assoc:
                    raise _err(net, "subnet %s is associated with route tables %s and %s" % (sid, assoc[sid], rtb))
                assoc[sid] = rtb
    if mains != 1:
        raise _err(net, "RouteTables must include exactly one main route table (an association with Main: true); "
                        "found %d" % mains)


def _network_acls(acls, cx, net, subnet_ids):
    default = None
    assoc = {}
    for i, a in enumerate(acls):
        acl = a["NetworkAclId"]
        a.setdefault("IsDefault", False)
        a.setdefault("VpcId", cx.vpc_id)
        a.setdefault("OwnerId", cx.account)
        _tags_default(a, cx)
        if a["IsDefault"] is True:
            if default is not None:
                raise _err(net, "NetworkAcls: more than one default NACL (%s, %s)" % (default["NetworkAclId"], acl))
            default = a
        entries = a.setdefault("Entries", [])
        if not isinstance(entries, list):
            raise _err(net, "NetworkAcls[%d].Entries must be a list" % i)
        for j, e in enumerate(entries):
            if not isinstance(e, dict):
                raise _err(net, "NetworkAcls[%d].Entries[%d] must be an object" % (i, j))
            for k in ("RuleNumber", "Protocol", "RuleAction", "Egress"):
                if k not in e:
                    raise _err(net, "NetworkAcls[%d].Entries[%d]: %s is required" % (i, j, k))
            if ("CidrBlock" in e) == ("Ipv6CidrBlock" in e):
                raise _err(net, "NetworkAcls[%d].Entries[%d]: needs exactly one of CidrBlock, Ipv6CidrBlock" % (i, j))
            p = e["Protocol"]
            if not isinstance(p, str) or not (p == "-1" or (p.isdigit() and 0 <= int(p) <= 255)):
                raise _err(net, "NetworkAcls[%d].Entries[%d].Protocol: %r must be \"-1\" or a protocol number "
                                "(\"6\" for TCP), as EC2 reports it" % (i, j, p))
        for egress in (True, False):
            fams = [("CidrBlock", "0.0.0.0/0", 32767)] + ([("Ipv6CidrBlock", "::/0", 32768)] if cx.v6 else [])
            for key, anyaddr, num in fams:
                if not any(isinstance(e, dict) and e.get("Egress") is egress and e.get("RuleNumber") == num
                           for e in entries):
                    entries.append({key: anyaddr, "Egress": egress, "Protocol": "-1", "RuleAction": "deny",
                                    "RuleNumber": num})
        assocs = a.setdefault("Associations", [])
        if not isinstance(assocs, list):
            raise _err(net, "NetworkAcls[%d].Associations must be a list" % i)
        for j, s in enumerate(assocs):
            if not isinstance(s, dict) or "SubnetId" not in s:
                raise _err(net, "NetworkAcls[%d].Associations[%d] needs a SubnetId" % (i, j))
            s.setdefault("NetworkAclAssociationId", rid("aclassoc", acl, s["SubnetId"]))
            s.setdefault("NetworkAclId", acl)
            if s["SubnetId"] in assoc:
                raise _err(net, "subnet %s is associated with network ACLs %s and %s"
                           % (s["SubnetId"], assoc[s["SubnetId"]], acl))
            assoc[s["SubnetId"]] = acl
    loose = [s for s in subnet_ids if s not in assoc]
    if loose:
        if default is None:
            raise _err(net, "subnets %s have no network ACL association and NetworkAcls states no default NACL "
                            "(IsDefault: true); every subnet is associated with exactly one NACL"
                            % ", ".join(loose))
        for s in loose:
            default["Associations"].append({"NetworkAclAssociationId": rid("aclassoc", default["NetworkAclId"], s),
                                            "NetworkAclId": default["NetworkAclId"], "SubnetId": s})
