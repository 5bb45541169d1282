"""EC2 query protocol (Version 2016-11-15): the describe calls preflight needs.

Resources live per (account, region) in a RegionStore, built from the fleet's
network specs on first use and kept in sync with EKS clusters (cluster security
group and the 'Amazon EKS <name>' ENIs).  Every describe supports its ID list,
Filter.N.Name/Value.M (with * and ? wildcards, tag:Key and tag-key), MaxResults
(per-operation range) and NextToken, and returns EC2's error shapes.
"""

import base64
import fnmatch
import hashlib
import json

from . import network, regions
from .ids import h16
from .protocols import AwsError, ec2_response


def _tag_values(o, key):
    return [t["value"] for t in o.get("tagSet", []) if t.get("key") == key]


def _tag_keys(o):
    return [t["key"] for t in o.get("tagSet", []) if "key" in t]


def _b(v):
    return "true" if v else "false"


def _s(v):
    return [] if v is None else [_b(v) if isinstance(v, bool) else str(v)]


def _f(*path):
    """A filter getter for the value at a path of keys (missing fields match nothing)."""
    def get(o):
        for k in path:
            if not isinstance(o, dict):
                return []
            o = o.get(k)
        return _s(o)
    return get


def _fl(list_key, *path):
    """A filter getter over every item of a list field."""
    inner = _f(*path)

    def get(o):
        out = []
        for item in o.get(list_key) or []:
            out.extend(inner(item) if path else _s(item))
        return out
    return get


# filter name -> getter(obj) -> list of strings, per resource kind
F_SUBNET = {
    "subnet-id": _f("subnetId"), "vpc-id": _f("vpcId"),
    "availability-zone": _f("availabilityZone"), "availabilityZone": _f("availabilityZone"),
    "availability-zone-id": _f("availabilityZoneId"), "availabilityZoneId": _f("availabilityZoneId"),
    "available-ip-address-count": _f("availableIpAddressCount"),
    "cidr-block": _f("cidrBlock"), "cidr": _f("cidrBlock"), "cidrBlock": _f("cidrBlock"),
    "default-for-az": _f("defaultForAz"), "defaultForAz": _f("defaultForAz"),
    "map-public-ip-on-launch": _f("mapPublicIpOnLaunch"),
    "state": _f("state"), "owner-id": _f("ownerId"), "subnet-arn": _f("subnetArn"),
    "ipv6-cidr-block-association.ipv6-cidr-block": _fl("ipv6CidrBlockAssociationSet", "ipv6CidrBlock"),
    "ipv6-cidr-block-association.state": _fl("ipv6CidrBlockAssociationSet", "ipv6CidrBlockState", "state"),
}

F_RTB = {
    "route-table-id": _f("routeTableId"), "vpc-id": _f("vpcId"), "owner-id": _f("ownerId"),
    "association.subnet-id": _fl("associationSet", "subnetId"),
    "association.main": lambda o: [_b(any(a.get("main") for a in o.get("associationSet", [])))],
    "association.route-table-association-id": _fl("associationSet", "routeTableAssociationId"),
    "association.route-table-id": _fl("associationSet", "routeTableId"),
    "association.gateway-id": _fl("associationSet", "gatewayId"),
}
for _k, _w in (("destination-cidr-block", "destinationCidrBlock"), ("destination-ipv6-cidr-block",
               "destinationIpv6CidrBlock"), ("destination-prefix-list-id", "destinationPrefixListId"),
               ("gateway-id", "gatewayId"), ("nat-gateway-id", "natGatewayId"),
               ("transit-gateway-id", "transitGatewayId"),
               ("egress-only-internet-gateway-id", "egressOnlyInternetGatewayId"), ("instance-id", "instanceId"),
               ("vpc-peering-connection-id", "vpcPeeringConnectionId"), ("state", "state"), ("origin", "origin")):
    F_RTB["route." + _k] = _fl("routeSet", _w)

F_NAT = {
    "nat-gateway-id": _f("natGatewayId"), "state": _f("state"), "subnet-id": _f("subnetId"), "vpc-id": _f("vpcId"),
}

F_ACL = {
    "network-acl-id": _f("networkAclId"), "vpc-id": _f("vpcId"), "default": _f("default"),
    "owner-id": _f("ownerId"),
    "association.subnet-id": _fl("associationSet", "subnetId"),
    "association.association-id": _fl("associationSet", "networkAclAssociationId"),
    "association.network-acl-id": _fl("associationSet", "networkAclId"),
    "entry.rule-number": _fl("entrySet", "ruleNumber"), "entry.protocol": _fl("entrySet", "protocol"),
    "entry.rule-action": _fl("entrySet", "ruleAction"), "entry.egress": _fl("entrySet", "egress"),
    "entry.cidr": _fl("entrySet", "cidrBlock"), "entry.ipv6-cidr": _fl("entrySet", "ipv6CidrBlock"),
    "entry.port-range.from": _fl("entrySet", "portRange", "from"),
    "entry.port-range.to": _fl("entrySet", "portRange", "to"),
}


def _perm_vals(o, key, sub):
    out = []
    for p in o.get(key) or []:
        if sub == "cidr":
            out.extend(r["cidrIp"] for r in p.get("ipRanges", []))
        elif sub == "ipv6-cidr":
            out.extend(r["cidrIpv6"] for r in p.get("ipv6Ranges", []))
        elif sub == "group-id":
            out.extend(g["groupId"] for g in p.get("groups", []))
        elif sub == "prefix-list-id":
            out.extend(r["prefixListId"] for r in p.get("prefixListIds", []))
        elif sub == "protocol":
            out.append(p["ipProtocol"])
        elif sub == "from-port" and "fromPort" in p:
            out.append(str(p["fromPort"]))
        elif sub == "to-port" and "toPort" in p:
            out.append(str(p["toPort"]))
    return out


F_SG = {
    "group-id": _f("groupId"), "group-name": _f("groupName"), "vpc-id": _f("vpcId"), "owner-id": _f("ownerId"),
    "description": _f("groupDescription"),
}
for _sub in ("cidr", "ipv6-cidr", "group-id", "prefix-list-id", "protocol", "from-port", "to-port"):
    F_SG["ip-permission." + _sub] = (lambda s: lambda o: _perm_vals(o, "ipPermissions", s))(_sub)
    F_SG["egress.ip-permission." + _sub] = (lambda s: lambda o: _perm_vals(o, "ipPermissionsEgress", s))(_sub)

F_SGR = {"group-id": _f("groupId"), "security-group-rule-id": _f("securityGroupRuleId")}

F_VPC = {
    "vpc-id": _f("vpcId"), "cidr": _f("cidrBlock"),
    "cidr-block-association.cidr-block": _fl("cidrBlockAssociationSet", "cidrBlock"),
    "dhcp-options-id": _f("dhcpOptionsId"), "is-default": _f("isDefault"), "state": _f("state"),
    "owner-id": _f("ownerId"),
    "ipv6-cidr-block-association.ipv6-cidr-block": _fl("ipv6CidrBlockAssociationSet", "ipv6CidrBlock"),
}

F_DOPT = {
    "dhcp-options-id": _f("dhcpOptionsId"), "owner-id": _f("ownerId"),
    "key": _fl("dhcpConfigurationSet", "key"),
    "value": lambda o: [v["value"] for c in o.get("dhcpConfigurationSet", []) for v in c.get("valueSet", [])],
}

F_ENI = {
    "network-interface-id": _f("networkInterfaceId"), "description": _f("description"), "vpc-id": _f("vpcId"),
    "subnet-id": _f("subnetId"), "group-id": _fl("groupSet", "groupId"), "group-name": _fl("groupSet", "groupName"),
    "status": _f("status"), "requester-managed": _f("requesterManaged"), "requester-id": _f("requesterId"),
    "interface-type": _f("interfaceType"), "availability-zone": _f("availabilityZone"), "owner-id": _f("ownerId"),
    "private-ip-address": _f("privateIpAddress"), "mac-address": _f("macAddress"),
    "addresses.private-ip-address": _fl("privateIpAddressesSet", "privateIpAddress"),
    "source-dest-check": _f("sourceDestCheck"),
    "attachment.instance-id": _f("attachment", "instanceId"),
    "attachment.instance-owner-id": _f("attachment", "instanceOwnerId"),
    "attachment.attachment-id": _f("attachment", "attachmentId"), "attachment.status": _f("attachment", "status"),
    "attachment.device-index": _f("attachment", "deviceIndex"),
    "association.public-ip": _f("association", "publicIp"),
}

F_VPCE = {
    "vpc-endpoint-id": _f("vpcEndpointId"), "vpc-id": _f("vpcId"), "service-name": _f("serviceName"),
    "vpc-endpoint-type": _f("vpcEndpointType"), "vpc-endpoint-state": _f("state"),
    "ip-address-type": _f("ipAddressType"),
}

F_EIGW = {
    "egress-only-internet-gateway-id": _f("egressOnlyInternetGatewayId"),
    "attachment.vpc-id": _fl("attachmentSet", "vpcId"), "attachment.state": _fl("attachmentSet", "state"),
}

F_TGW = {"transit-gateway-id": _f("transitGatewayId"), "state": _f("state"), "owner-id": _f("ownerId")}

F_TGWA = {
    "transit-gateway-attachment-id": _f("transitGatewayAttachmentId"), "transit-gateway-id": _f("transitGatewayId"),
    "vpc-id": _f("vpcId"), "state": _f("state"), "vpc-owner-id": _f("vpcOwnerId"),
}

F_IGW = {
    "internet-gateway-id": _f("internetGatewayId"), "owner-id": _f("ownerId"),
    "attachment.vpc-id": _fl("attachmentSet", "vpcId"), "attachment.state": _fl("attachmentSet", "state"),
}

F_INSTANCE = {
    "instance-id": _f("instanceId"), "vpc-id": _f("vpcId"), "subnet-id": _f("subnetId"),
    "instance-state-name": _f("instanceState", "name"), "instance-state-code": _f("instanceState", "code"),
    "instance-type": _f("instanceType"), "availability-zone": _f("placement", "availabilityZone"),
    "private-ip-address": _f("privateIpAddress"), "ip-address": _f("ipAddress"),
    "source-dest-check": _f("sourceDestCheck"), "image-id": _f("imageId"),
    "reservation-id": _f("_reservation"), "owner-id": _f("_owner"),
    "instance.group-id": _fl("groupSet", "groupId"), "group-id": _fl("groupSet", "groupId"),
    "network-interface.network-interface-id": _fl("networkInterfaceSet", "networkInterfaceId"),
    "network-interface.subnet-id": _fl("networkInterfaceSet", "subnetId"),
    "network-interface.vpc-id": _fl("networkInterfaceSet", "vpcId"),
    "network-interface.source-dest-check": _fl("networkInterfaceSet", "sourceDestCheck"),
    "network-interface.addresses.private-ip-address": _fl("networkInterfaceSet", "privateIpAddress"),
}

F_PREFIX_LIST = {"prefix-list-id": _f("prefixListId"), "prefix-list-name": _f("prefixListName"),
                 "owner-id": _f("ownerId")}

F_FLOW_LOG = {
    "resource-id": _f("resourceId"), "flow-log-id": _f("flowLogId"), "log-group-name": _f("logGroupName"),
    "traffic-type": _f("trafficType"), "deliver-log-status": _f("deliverLogsStatus"),
    "log-destination-type": _f("logDestinationType"),
}


class Op(object):
    def __init__(self, kind, list_el, id_params, id_prefix, not_found, filters, max_range=(5, 1000),
                 ids_with_max=True, id_key=None):
        self.kind = kind
        self.list_el = list_el
        self.id_params = id_params
        self.id_prefix = id_prefix
        self.not_found = not_found
        self.filters = filters
        self.max_range = max_range
        self.ids_with_max = ids_with_max
        self.id_key = id_key


OPS = {
    "DescribeSubnets": Op("subnets", "subnetSet", ["SubnetId"], "subnet-",
                          ("InvalidSubnetID.NotFound", "The subnet ID '%s' does not exist"), F_SUBNET,
                          ids_with_max=False),
    "DescribeRouteTables": Op("route_tables", "routeTableSet", ["RouteTableId"], "rtb-",
                              ("InvalidRouteTableID.NotFound", "The routeTable ID '%s' does not exist"), F_RTB,
                              (5, 100), ids_with_max=False),
    "DescribeNatGateways": Op("nat_gateways", "natGatewaySet", ["NatGatewayId"], "nat-",
                              ("NatGatewayNotFound", "NAT gateway %s was not found"), F_NAT),
    "DescribeNetworkAcls": Op("network_acls", "networkAclSet", ["NetworkAclId"], "acl-",
                              ("InvalidNetworkAclID.NotFound", "The networkAcl ID '%s' does not exist"), F_ACL,
                              (5, 100), ids_with_max=False),
    "DescribeSecurityGroups": Op("security_groups", "securityGroupInfo", ["GroupId"], "sg-",
                                 ("InvalidGroup.NotFound", "The security group '%s' does not exist"), F_SG,
                                 ids_with_max=False),
    "DescribeSecurityGroupRules": Op("sg_rules", "securityGroupRuleSet", ["SecurityGroupRuleId"], "sgr-",
                                     ("InvalidSecurityGroupRuleId.NotFound",
                                      "The security group rule ID '%s' does not exist"), F_SGR),
    "DescribeVpcs": Op("vpcs", "vpcSet", ["VpcId"], "vpc-",
                       ("InvalidVpcID.NotFound", "The vpc ID '%s' does not exist"), F_VPC, ids_with_max=False),
    "DescribeDhcpOptions": Op("dhcp_options", "dhcpOptionsSet", ["DhcpOptionsId"], "dopt-",
                              ("InvalidDhcpOptionID.NotFound", "The dhcpOption ID '%s' does not exist"), F_DOPT,
                              ids_with_max=False),
    "DescribeNetworkInterfaces": Op("network_interfaces", "networkInterfaceSet", ["NetworkInterfaceId"], "eni-",
                                    ("InvalidNetworkInterfaceID.NotFound",
                                     "The networkInterface ID '%s' does not exist"), F_ENI, ids_with_max=False),
    "DescribeVpcEndpoints": Op("vpc_endpoints", "vpcEndpointSet", ["VpcEndpointId"], "vpce-",
                               ("InvalidVpcEndpointId.NotFound", "The Vpc Endpoint Id '%s' does not exist"),
                               F_VPCE, (1, 1000)),
    "DescribeEgressOnlyInternetGateways": Op("egress_only_igws", "egressOnlyInternetGatewaySet",
                                             ["EgressOnlyInternetGatewayId"], "eigw-",
                                             ("InvalidEgressOnlyInternetGatewayId.NotFound",
                                              "The egressOnlyInternetGateway ID '%s' does not exist"), F_EIGW,
                                             (5, 255)),
    "DescribeTransitGateways": Op("transit_gateways", "transitGatewaySet", ["TransitGatewayIds", "TransitGatewayId"],
                                  "tgw-", ("InvalidTransitGatewayID.NotFound",
                                           "Transit Gateway %s was deleted or does not exist."), F_TGW),
    "DescribeTransitGatewayVpcAttachments": Op("tgw_attachments", "transitGatewayVpcAttachments",
                                               ["TransitGatewayAttachmentIds", "TransitGatewayAttachmentId"],
                                               "tgw-attach-", ("InvalidTransitGatewayAttachmentID.NotFound",
                                                               "Transit Gateway Attachment %s was deleted or does "
                                                               "not exist."), F_TGWA),
    "DescribeInternetGateways": Op("internet_gateways", "internetGatewaySet", ["InternetGatewayId"], "igw-",
                                   ("InvalidInternetGatewayID.NotFound",
                                    "The internetGateway ID '%s' does not exist"), F_IGW, ids_with_max=False),
    "DescribeInstances": Op("instances", "reservationSet", ["InstanceId"], "i-",
                            ("InvalidInstanceID.NotFound", "The instance ID '%s' does not exist"), F_INSTANCE,
                            ids_with_max=False),
    "DescribeManagedPrefixLists": Op("prefix_lists", "prefixListSet", ["PrefixListId"], "pl-",
                                     ("InvalidPrefixListID.NotFound", "The prefix list ID '%s' does not exist."),
                                     F_PREFIX_LIST, (1, 100)),
    "DescribeFlowLogs": Op("flow_logs", "flowLogSet", ["FlowLogId"], "fl-",
                           ("InvalidFlowLogId.NotFound", "These flow log ids in the input list are not found: "
                                                         "[TotalCount: 1] %s"), F_FLOW_LOG, (1, 1000)),
}

OPERATIONS = sorted(list(OPS) + ["DescribeVpcAttribute", "DescribeRegions", "GetManagedPrefixListEntries"])


def _get_list(params, prefix):
    """Values of prefix.N in index order."""
    items = []
    pl = len(prefix) + 1
    for k, v in params.items():
        if k.startswith(prefix + ".") and k[pl:].isdigit():
            items.append((int(k[pl:]), v))
    items.sort()
    return [v for _, v in items]


def _get_filters(params):
    fl = {}
    for k, v in params.items():
        if not k.startswith("Filter."):
            continue
        parts = k.split(".")
        if len(parts) == 3 and parts[2] == "Name" and parts[1].isdigit():
            fl.setdefault(int(parts[1]), [None, []])[0] = v
        elif len(parts) == 4 and parts[2] == "Value" and parts[1].isdigit() and parts[3].isdigit():
            fl.setdefault(int(parts[1]), [None, []])[1].append((int(parts[3]), v))
    out = []
    for n in sorted(fl):
        name, vals = fl[n]
        if name is None:
            raise AwsError("InvalidParameterValue", "The filter 'null' is invalid", 400)
        out.append((name, [v for _, v in sorted(vals)]))
    return out


def _max_results(p, rng):
    """MaxResults within the operation's range, or None (everything in one page)."""
    raw = p.get("MaxResults")
    if raw is None:
        return None
    try:
        mr = int(raw)
    except ValueError:
        raise AwsError("InvalidParameterValue", "Invalid value '%s' for maxResults" % raw, 400)
    lo, hi = rng
    if mr < lo or mr > hi:
        raise AwsError("InvalidParameterValue", "Value ( %d ) for parameter maxResults is invalid. "
                       "Expecting a value %s %d." % (mr, "greater than" if mr < lo else "less than",
                                                    lo if mr < lo else hi), 400)
    return mr


def _paginate(p, items, mr, fingerprint):
    """(page, next token or None); tokens are bound to the request that made them."""
    start = 0
    fp = hashlib.sha1(json.dumps(fingerprint).encode()).hexdigest()[:12]
    tok = p.get("NextToken")
    if tok:
        try:
            d = json.loads(base64.b64decode(tok.encode(), validate=True).decode())
            start = int(d["o"])
            if d["f"] != fp or start < 0:
                raise ValueError
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            raise AwsError("InvalidPaginationToken", "The specified pagination token is not valid or is "
                           "expired.", 400)
    if mr is None:
        return items[start:], None
    nxt = None
    if start + mr < len(items):
        nxt = base64.b64encode(json.dumps({"o": start + mr, "f": fp}).encode()).decode()
    return items[start:start + mr], nxt


def _page_response(ctx, list_el, page, token):
    out = {list_el: page}
    if token:
        out["nextToken"] = token
    return ec2_response(ctx.op, ctx.request_id, out)


def _matcher(values):
    plain = set()
    pats = []
    for v in values:
        if "*" in v or "?" in v:
            pats.append(v)
        else:
            plain.add(v)

    def match(got):
        for g in got:
            if g in plain:
                return True
            for p in pats:
                if fnmatch.fnmatchcase(g, p):
                    return True
        return False
    return match


def _sg_rules(sg):
    out = []
    for egress, key in ((False, "ipPermissions"), (True, "ipPermissionsEgress")):
        for pi, p in enumerate(sg[key]):
            proto = p["ipProtocol"]
            fp = p.get("fromPort", -1)
            tp = p.get("toPort", -1)
            targets = [("cidrIpv4", r["cidrIp"]) for r in p["ipRanges"]] + \
                      [("cidrIpv6", r["cidrIpv6"]) for r in p["ipv6Ranges"]] + \
                      [("referencedGroupInfo", g["groupId"]) for g in p["groups"]] + \
                      [("prefixListId", r["prefixListId"]) for r in p["prefixListIds"]]
            for kind, val in targets:
                r = {"securityGroupRuleId": "sgr-0" + h16("sgr", sg["groupId"], egress, pi, val),
                     "groupId": sg["groupId"], "groupOwnerId": sg["ownerId"], "isEgress": egress,
                     "ipProtocol": proto, "fromPort": fp, "toPort": tp}
                if kind == "referencedGroupInfo":
                    r[kind] = {"groupId": val, "userId": sg["ownerId"]}
                else:
                    r[kind] = val
                r["tagSet"] = []
                out.append(r)
    return out


class Ec2Service(object):
    def __init__(self, sim):
        self.sim = sim
        self.stores = {}

    # ------------------------------------------------------------ stores

    def store(self, account, region):
        key = (account, region)
        st = self.stores.get(key)
        if st is None:
            st = self._build(account, region)
            self.stores[key] = st
        return st

    def _build(self, account, region):
        fl = self.sim.fleet
        st = network.RegionStore(account, region)
        st.index = {}
        ctime = "2024-01-15T10:00:00.000Z"
        for pl in network.aws_prefix_lists(region):
            st.prefix_lists[pl["prefixListId"]] = pl
        acct = fl.accounts.get(account)
        if acct is not None:
            peers = {}
            nets = [n for n in acct.get("networks", []) if n["region"] == region]
            for n in nets:
                network.expand_network(st, n, ctime)
                peers[n["name"]] = n
            for c in acct.get("clusters", []):
                if c["region"] == region and "subnets_other_vpc" in c.get("defects", []):
                    peer = network.peer_network(peers[c["network"]])
                    if peer["name"] not in st.layouts:
                        network.expand_network(st, peer, ctime)
        for iid, inst in st.instances.items():
            inst["_reservation"] = "r-0%s" % h16("reservation", iid)
            inst["_owner"] = account
        for rec in self.sim.eks.records(account, region):
            self._add_cluster_resources(st, rec)
        return st

    def _invalidate(self, st, *kinds):
        for k in kinds:
            st.index.pop(k, None)

    def _add_cluster_resources(self, st, rec):
        lay = st.layouts.get(rec.get("network")) if rec.get("network") else None
        if not rec.get("cluster_sg_stated"):
            sg = network.cluster_security_group(st.account, st.region, rec, lay, rec["ip_family"] == "ipv6")
            sg["vpcId"] = rec["vpc_id"]
            st.security_groups[sg["groupId"]] = sg
        for eni in network.cluster_enis(st.account, st.region, rec, st.subnets):
            for g in eni["groupSet"]:
                grp = st.security_groups.get(g["groupId"])
                if grp is not None and "groupName" in grp:
                    g["groupName"] = grp["groupName"]
            st.network_interfaces[eni["networkInterfaceId"]] = eni
        self._invalidate(st, "security_groups", "network_interfaces", "sg_rules")

    def _remove_cluster_resources(self, st, rec):
        if not rec.get("cluster_sg_stated"):
            st.security_groups.pop(rec["cluster_sg"], None)
        for eid in [e for e, o in st.network_interfaces.items() if o.get("_cluster") == rec["name"]]:
            del st.network_interfaces[eid]
        self._invalidate(st, "security_groups", "network_interfaces", "sg_rules")

    def add_cluster(self, rec):
        st = self.stores.get((rec["account"], rec["region"]))
        if st is not None:
            self._add_cluster_resources(st, rec)

    def remove_cluster(self, rec):
        st = self.stores.get((rec["account"], rec["region"]))
        if st is not None:
            self._remove_cluster_resources(st, rec)

    def refresh_cluster(self, rec):
        st = self.stores.get((rec["account"], rec["region"]))
        if st is not None:
            self._remove_cluster_resources(st, rec)
            self._add_cluster_resources(st, rec)

    def reset(self):
        self.stores = {}

    # ------------------------------------------------------------ dispatch

    def call(self, ctx):
        p = ctx.params
        if p.get("DryRun", "").lower() == "true":
            raise AwsError("DryRunOperation", "Request would have succeeded, but DryRun flag is set.", 412)
        if ctx.op == "DescribeRegions":
            return self.describe_regions(ctx)
        st = self.store(ctx.account, ctx.region)
        if ctx.op == "DescribeVpcAttribute":
            return self.describe_vpc_attribute(ctx, st)
        if ctx.op == "GetManagedPrefixListEntries":
            return self.prefix_list_entries(ctx, st)
        return self.describe(ctx, st, OPS[ctx.op])

    def _items(self, st, kind):
        if kind == "sg_rules":
            cache = st.index.get("sg_rules")
            if cache is None:
                rules = {}
                for sg in st.security_groups.values():
                    for r in _sg_rules(sg):
                        rules[r["securityGroupRuleId"]] = r
                cache = st.index["sg_rules"] = {"_all": rules}
            return cache["_all"]
        return getattr(st, kind)

    def _narrow(self, st, op, coll, filters):
        """Use exact-value indexes to cut the candidate list before filtering."""
        best = None
        for name, values in filters:
            if name not in op.filters or any("*" in v or "?" in v for v in values):
                continue
            if name not in ("vpc-id", "subnet-id", "association.subnet-id", "group-id", "description",
                            "attachment.vpc-id", "transit-gateway-id", "dhcp-options-id", "instance-id",
                            "resource-id", "attachment.instance-id"):
                continue
            idx_all = st.index.setdefault(op.kind, {})
            idx = idx_all.get(name)
            if idx is None:
                idx = {}
                getter = op.filters[name]
                for oid, o in coll.items():
                    for v in getter(o):
                        idx.setdefault(v, []).append(oid)
                idx_all[name] = idx
            ids = []
            seen = set()
            for v in values:
                for oid in idx.get(v, ()):
                    if oid not in seen:
                        seen.add(oid)
                        ids.append(oid)
            if best is None or len(ids) < len(best):
                best = ids
        return best

    def describe(self, ctx, st, op):
        p = ctx.params
        coll = self._items(st, op.kind)
        ids = []
        for pn in op.id_params:
            ids.extend(_get_list(p, pn))
        if op.kind == "security_groups":
            names = _get_list(p, "GroupName")
        else:
            names = []
        filters = _get_filters(p)
        for name, _ in filters:
            if name not in op.filters and not name.startswith("tag:") and name != "tag-key":
                raise AwsError("InvalidParameterValue", "The filter '%s' is invalid" % name, 400)
        mr = _max_results(p, op.max_range)
        if mr is not None and (ids or names) and not op.ids_with_max:
            pname = op.id_params[0][:1].lower() + op.id_params[0][1:] + "s"
            raise AwsError("InvalidParameterCombination", "The parameter %s cannot be used with the "
                           "parameter maxResults" % pname, 400)
        if ids or names:
            cands = []
            for i in ids:
                o = coll.get(i)
                if o is None:
                    if not i.startswith(op.id_prefix):
                        code = op.not_found[0].replace(".NotFound", ".Malformed")
                        if code == op.not_found[0]:
                            code = "InvalidParameterValue"
                        raise AwsError(code, 'Invalid id: "%s"' % i, 400)
                    raise AwsError(op.not_found[0], op.not_found[1] % i, 400)
                cands.append(o)
            for n in names:
                found = [o for o in coll.values() if o["groupName"] == n]
                if not found:
                    raise AwsError("InvalidGroup.NotFound", "The security group '%s' does not exist in default VPC "
                                   "'vpc-default'" % n, 400)
                cands.extend(found)
        else:
            narrowed = self._narrow(st, op, coll, filters)
            cands = list(coll.values()) if narrowed is None else [coll[i] for i in narrowed if i in coll]
        for name, values in filters:
            m = _matcher(values)
            if name.startswith("tag:"):
                key = name[4:]
                cands = [o for o in cands if m(_tag_values(o, key))]
            elif name == "tag-key":
                cands = [o for o in cands if m(_tag_keys(o))]
            else:
                g = op.filters[name]
                cands = [o for o in cands if m(g(o))]
        page, token = _paginate(p, cands, mr, [ctx.op, ids, names, filters])
        if op.kind == "instances":
            # one reservation per instance, as for instances launched one at a time
            page = [{"reservationId": o["_reservation"], "ownerId": o["_owner"], "groupSet": [],
                     "instancesSet": [o]} for o in page]
        return _page_response(ctx, op.list_el, page, token)

    def prefix_list_entries(self, ctx, st):
        p = ctx.params
        pid = p.get("PrefixListId")
        if not pid:
            raise AwsError("MissingParameter", "The request must contain the parameter PrefixListId", 400)
        pl = st.prefix_lists.get(pid)
        if pl is None:
            if not pid.startswith("pl-"):
                raise AwsError("InvalidPrefixListID.Malformed", 'Invalid id: "%s"' % pid, 400)
            raise AwsError("InvalidPrefixListID.NotFound", "The prefix list ID '%s' does not exist." % pid, 400)
        tv = p.get("TargetVersion")
        if tv is not None and tv != str(pl.get("version", 1)):
            raise AwsError("InvalidParameterValue", "The specified version %s of prefix list %s does not exist."
                           % (tv, pid), 400)
        mr = _max_results(p, (1, 100))
        page, token = _paginate(p, pl.get("_entries", []), mr, ["GetManagedPrefixListEntries", pid])
        return _page_response(ctx, "entrySet", page, token)

    def describe_vpc_attribute(self, ctx, st):
        p = ctx.params
        vpc_id = p.get("VpcId")
        attr = p.get("Attribute")
        if not vpc_id:
            raise AwsError("MissingParameter", "The request must contain the parameter vpcId", 400)
        if not attr:
            raise AwsError("MissingParameter", "The request must contain the parameter attribute", 400)
        if attr not in ("enableDnsSupport", "enableDnsHostnames", "enableNetworkAddressUsageMetrics"):
            raise AwsError("InvalidParameterValue", "Value (%s) for parameter attribute is invalid. Unknown "
                           "attribute." % attr, 400)
        vpc = st.vpcs.get(vpc_id)
        if vpc is None:
            if not vpc_id.startswith("vpc-"):
                raise AwsError("InvalidVpcID.Malformed", 'Invalid id: "%s"' % vpc_id, 400)
            raise AwsError("InvalidVpcID.NotFound", "The vpc ID '%s' does not exist" % vpc_id, 400)
        val = {"enableDnsSupport": vpc["_dns_support"], "enableDnsHostnames": vpc["_dns_hostnames"],
               "enableNetworkAddressUsageMetrics": False}[attr]
        return ec2_response("DescribeVpcAttribute", ctx.request_id, {"vpcId": vpc_id, attr: {"value": val}})

    def describe_regions(self, ctx):
        p = ctx.params
        fl = self.sim.fleet
        all_regions = p.get("AllRegions", "").lower() == "true"
        names = _get_list(p, "RegionName")
        filters = _get_filters(p)
        out = []
        for r in regions.REGION_ORDER:
            enabled = fl.region_enabled(ctx.account, r)
            if not all_regions and not enabled and r not in names:
                continue
            status = fl.region_opt_status(ctx.account, r)
            if r in fl.accounts[ctx.account].get("disabled_regions", []):
                status = "not-opted-in"
            out.append({"regionEndpoint": "ec2.%s.amazonaws.com" % r, "regionName": r, "optInStatus": status})
        if names:
            known = {o["regionName"]: o for o in out}
            bad = [n for n in names if n not in known]
            if bad:
                raise AwsError("InvalidParameterValue", "Invalid region names: %s" % ", ".join(bad), 400)
            if not all_regions:
                for n in names:
                    if not fl.region_enabled(ctx.account, n):
                        raise AwsError("InvalidParameterValue", "Invalid region names: %s" % n, 400)
            out = [known[n] for n in names]
        getters = {"region-name": lambda o: [o["regionName"]], "endpoint": lambda o: [o["regionEndpoint"]],
                   "opt-in-status": lambda o: [o["optInStatus"]]}
        for name, values in filters:
            if name not in getters:
                raise AwsError("InvalidParameterValue", "The filter '%s' is invalid" % name, 400)
            m = _matcher(values)
            out = [o for o in out if m(getters[name](o))]
        return ec2_response("DescribeRegions", ctx.request_id, {"regionInfo": out})
