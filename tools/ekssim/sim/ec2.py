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

from . import fleet as fleetmod
from . import regions
from .protocols import AwsError, ec2_response


def _tag_values(o, key):
    return [t["value"] for t in o.get("tagSet", []) if t["key"] == key]


def _tag_keys(o):
    return [t["key"] for t in o.get("tagSet", [])]


def _b(v):
    return "true" if v else "false"


def _s(v):
    return [] if v is None else [str(v)]


# filter name -> getter(obj) -> list of strings, per resource kind
F_SUBNET = {
    "subnet-id": lambda o: [o["subnetId"]], "vpc-id": lambda o: [o["vpcId"]],
    "availability-zone": lambda o: [o["availabilityZone"]], "availabilityZone": lambda o: [o["availabilityZone"]],
    "availability-zone-id": lambda o: [o["availabilityZoneId"]],
    "availabilityZoneId": lambda o: [o["availabilityZoneId"]],
    "available-ip-address-count": lambda o: [str(o["availableIpAddressCount"])],
    "cidr-block": lambda o: [o["cidrBlock"]], "cidr": lambda o: [o["cidrBlock"]],
    "cidrBlock": lambda o: [o["cidrBlock"]],
    "default-for-az": lambda o: [_b(o["defaultForAz"])], "defaultForAz": lambda o: [_b(o["defaultForAz"])],
    "map-public-ip-on-launch": lambda o: [_b(o["mapPublicIpOnLaunch"])],
    "state": lambda o: [o["state"]], "owner-id": lambda o: [o["ownerId"]],
    "subnet-arn": lambda o: [o["subnetArn"]],
    "ipv6-cidr-block-association.ipv6-cidr-block":
        lambda o: [a["ipv6CidrBlock"] for a in o["ipv6CidrBlockAssociationSet"]],
    "ipv6-cidr-block-association.state":
        lambda o: [a["ipv6CidrBlockState"]["state"] for a in o["ipv6CidrBlockAssociationSet"]],
}


def _routes(o, key):
    return [r[key] for r in o["routeSet"] if key in r]


F_RTB = {
    "route-table-id": lambda o: [o["routeTableId"]], "vpc-id": lambda o: [o["vpcId"]],
    "owner-id": lambda o: [o["ownerId"]],
    "association.subnet-id": lambda o: [a["subnetId"] for a in o["associationSet"] if "subnetId" in a],
    "association.main": lambda o: ["true" if any(a["main"] for a in o["associationSet"]) else "false"],
    "association.route-table-association-id": lambda o: [a["routeTableAssociationId"] for a in o["associationSet"]],
    "association.route-table-id": lambda o: [a["routeTableId"] for a in o["associationSet"]],
    "association.gateway-id": lambda o: [a["gatewayId"] for a in o["associationSet"] if "gatewayId" in a],
    "route.destination-cidr-block": lambda o: _routes(o, "destinationCidrBlock"),
    "route.destination-ipv6-cidr-block": lambda o: _routes(o, "destinationIpv6CidrBlock"),
    "route.destination-prefix-list-id": lambda o: _routes(o, "destinationPrefixListId"),
    "route.gateway-id": lambda o: _routes(o, "gatewayId"),
    "route.nat-gateway-id": lambda o: _routes(o, "natGatewayId"),
    "route.transit-gateway-id": lambda o: _routes(o, "transitGatewayId"),
    "route.egress-only-internet-gateway-id": lambda o: _routes(o, "egressOnlyInternetGatewayId"),
    "route.instance-id": lambda o: _routes(o, "instanceId"),
    "route.vpc-peering-connection-id": lambda o: _routes(o, "vpcPeeringConnectionId"),
    "route.state": lambda o: _routes(o, "state"), "route.origin": lambda o: _routes(o, "origin"),
}

F_NAT = {
    "nat-gateway-id": lambda o: [o["natGatewayId"]], "state": lambda o: [o["state"]],
    "subnet-id": lambda o: [o["subnetId"]], "vpc-id": lambda o: [o["vpcId"]],
}

F_ACL = {
    "network-acl-id": lambda o: [o["networkAclId"]], "vpc-id": lambda o: [o["vpcId"]],
    "default": lambda o: [_b(o["default"])], "owner-id": lambda o: [o["ownerId"]],
    "association.subnet-id": lambda o: [a["subnetId"] for a in o["associationSet"]],
    "association.association-id": lambda o: [a["networkAclAssociationId"] for a in o["associationSet"]],
    "association.network-acl-id": lambda o: [a["networkAclId"] for a in o["associationSet"]],
    "entry.rule-number": lambda o: [str(e["ruleNumber"]) for e in o["entrySet"]],
    "entry.protocol": lambda o: [e["protocol"] for e in o["entrySet"]],
    "entry.rule-action": lambda o: [e["ruleAction"] for e in o["entrySet"]],
    "entry.egress": lambda o: [_b(e["egress"]) for e in o["entrySet"]],
    "entry.cidr": lambda o: [e["cidrBlock"] for e in o["entrySet"] if "cidrBlock" in e],
    "entry.ipv6-cidr": lambda o: [e["ipv6CidrBlock"] for e in o["entrySet"] if "ipv6CidrBlock" in e],
}


def _perm_vals(o, key, sub):
    out = []
    for p in o[key]:
        if sub == "cidr":
            out.extend(r["cidrIp"] for r in p["ipRanges"])
        elif sub == "ipv6-cidr":
            out.extend(r["cidrIpv6"] for r in p["ipv6Ranges"])
        elif sub == "group-id":
            out.extend(g["groupId"] for g in p["groups"])
        elif sub == "protocol":
            out.append(p["ipProtocol"])
        elif sub == "from-port" and "fromPort" in p:
            out.append(str(p["fromPort"]))
        elif sub == "to-port" and "toPort" in p:
            out.append(str(p["toPort"]))
    return out


F_SG = {
    "group-id": lambda o: [o["groupId"]], "group-name": lambda o: [o["groupName"]],
    "vpc-id": lambda o: [o["vpcId"]], "owner-id": lambda o: [o["ownerId"]],
    "description": lambda o: [o["groupDescription"]],
}
for _sub in ("cidr", "ipv6-cidr", "group-id", "protocol", "from-port", "to-port"):
    F_SG["ip-permission." + _sub] = (lambda s: lambda o: _perm_vals(o, "ipPermissions", s))(_sub)
    F_SG["egress.ip-permission." + _sub] = (lambda s: lambda o: _perm_vals(o, "ipPermissionsEgress", s))(_sub)

F_SGR = {
    "group-id": lambda o: [o["groupId"]], "security-group-rule-id": lambda o: [o["securityGroupRuleId"]],
}

F_VPC = {
    "vpc-id": lambda o: [o["vpcId"]], "cidr": lambda o: [o["cidrBlock"]],
    "cidr-block-association.cidr-block": lambda o: [a["cidrBlock"] for a in o["cidrBlockAssociationSet"]],
    "dhcp-options-id": lambda o: [o["dhcpOptionsId"]], "is-default": lambda o: [_b(o["isDefault"])],
    "state": lambda o: [o["state"]], "owner-id": lambda o: [o["ownerId"]],
    "ipv6-cidr-block-association.ipv6-cidr-block":
        lambda o: [a["ipv6CidrBlock"] for a in o["ipv6CidrBlockAssociationSet"]],
}

F_DOPT = {
    "dhcp-options-id": lambda o: [o["dhcpOptionsId"]], "owner-id": lambda o: [o["ownerId"]],
    "key": lambda o: [c["key"] for c in o["dhcpConfigurationSet"]],
    "value": lambda o: [v["value"] for c in o["dhcpConfigurationSet"] for v in c["valueSet"]],
}

F_ENI = {
    "network-interface-id": lambda o: [o["networkInterfaceId"]], "description": lambda o: [o["description"]],
    "vpc-id": lambda o: [o["vpcId"]], "subnet-id": lambda o: [o["subnetId"]],
    "group-id": lambda o: [g["groupId"] for g in o["groupSet"]],
    "group-name": lambda o: [g["groupName"] for g in o["groupSet"]],
    "status": lambda o: [o["status"]], "requester-managed": lambda o: [_b(o["requesterManaged"])],
    "requester-id": lambda o: [o["requesterId"]], "interface-type": lambda o: [o["interfaceType"]],
    "availability-zone": lambda o: [o["availabilityZone"]], "owner-id": lambda o: [o["ownerId"]],
    "private-ip-address": lambda o: [o["privateIpAddress"]],
    "addresses.private-ip-address": lambda o: [a["privateIpAddress"] for a in o["privateIpAddressesSet"]],
    "mac-address": lambda o: [o["macAddress"]],
}

F_VPCE = {
    "vpc-endpoint-id": lambda o: [o["vpcEndpointId"]], "vpc-id": lambda o: [o["vpcId"]],
    "service-name": lambda o: [o["serviceName"]], "vpc-endpoint-type": lambda o: [o["vpcEndpointType"]],
    "vpc-endpoint-state": lambda o: [o["state"]],
    "ip-address-type": lambda o: _s(o.get("ipAddressType")),
}

F_EIGW = {
    "egress-only-internet-gateway-id": lambda o: [o["egressOnlyInternetGatewayId"]],
    "attachment.vpc-id": lambda o: [a["vpcId"] for a in o["attachmentSet"]],
    "attachment.state": lambda o: [a["state"] for a in o["attachmentSet"]],
}

F_TGW = {
    "transit-gateway-id": lambda o: [o["transitGatewayId"]], "state": lambda o: [o["state"]],
    "owner-id": lambda o: [o["ownerId"]],
}

F_TGWA = {
    "transit-gateway-attachment-id": lambda o: [o["transitGatewayAttachmentId"]],
    "transit-gateway-id": lambda o: [o["transitGatewayId"]], "vpc-id": lambda o: [o["vpcId"]],
    "state": lambda o: [o["state"]], "vpc-owner-id": lambda o: [o["vpcOwnerId"]],
}

F_IGW = {
    "internet-gateway-id": lambda o: [o["internetGatewayId"]], "owner-id": lambda o: [o["ownerId"]],
    "attachment.vpc-id": lambda o: [a["vpcId"] for a in o["attachmentSet"]],
    "attachment.state": lambda o: [a["state"] for a in o["attachmentSet"]],
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
}

OPERATIONS = sorted(list(OPS) + ["DescribeVpcAttribute", "DescribeRegions"])


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
                r = {"securityGroupRuleId": "sgr-0" + fleetmod.h16("sgr", sg["groupId"], egress, pi, val),
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
        st = fleetmod.RegionStore(account, region)
        st.index = {}
        ctime = "2024-01-15T10:00:00.000Z"
        acct = fl.accounts.get(account)
        if acct is not None:
            peers = {}
            nets = [n for n in acct.get("networks", []) if n["region"] == region]
            for n in nets:
                fleetmod.expand_network(st, n, ctime)
                peers[n["name"]] = n
            for c in acct.get("clusters", []):
                if c["region"] == region and "subnets_other_vpc" in c.get("defects", []):
                    peer = fleetmod.peer_network(peers[c["network"]])
                    if peer["name"] not in st.layouts:
                        fleetmod.expand_network(st, peer, ctime)
        for rec in self.sim.eks.records(account, region):
            self._add_cluster_resources(st, rec)
        return st

    def _invalidate(self, st, *kinds):
        for k in kinds:
            st.index.pop(k, None)

    def _add_cluster_resources(self, st, rec):
        lay = st.layouts.get(rec.get("network")) if rec.get("network") else None
        sg = fleetmod.cluster_security_group(st.account, st.region, rec, lay, rec["ip_family"] == "ipv6")
        sg["vpcId"] = rec["vpc_id"]
        st.security_groups[sg["groupId"]] = sg
        for eni in fleetmod.cluster_enis(st.account, st.region, rec, st.subnets):
            for g in eni["groupSet"]:
                grp = st.security_groups.get(g["groupId"])
                if grp is not None:
                    g["groupName"] = grp["groupName"]
            st.network_interfaces[eni["networkInterfaceId"]] = eni
        self._invalidate(st, "security_groups", "network_interfaces", "sg_rules")

    def _remove_cluster_resources(self, st, rec):
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
                            "attachment.vpc-id", "transit-gateway-id", "dhcp-options-id"):
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
        max_results = p.get("MaxResults")
        if max_results is not None:
            try:
                mr = int(max_results)
            except ValueError:
                raise AwsError("InvalidParameterValue", "Invalid value '%s' for maxResults" % max_results, 400)
            lo, hi = op.max_range
            if mr < lo or mr > hi:
                raise AwsError("InvalidParameterValue", "Value ( %d ) for parameter maxResults is invalid. "
                               "Expecting a value %s %d." % (mr, "greater than" if mr < lo else "less than",
                                                            lo if mr < lo else hi), 400)
            if (ids or names) and not op.ids_with_max:
                pname = op.id_params[0][:1].lower() + op.id_params[0][1:] + "s"
                raise AwsError("InvalidParameterCombination", "The parameter %s cannot be used with the "
                               "parameter maxResults" % pname, 400)
        else:
            mr = None
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
        start = 0
        fp = hashlib.sha1(json.dumps([ctx.op, ids, names, filters]).encode()).hexdigest()[:12]
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
        out = {}
        if mr is not None:
            page = cands[start:start + mr]
            out[op.list_el] = page
            if start + mr < len(cands):
                out["nextToken"] = base64.b64encode(json.dumps({"o": start + mr, "f": fp}).encode()).decode()
        else:
            out[op.list_el] = cands[start:]
        return ec2_response(ctx.op, ctx.request_id, out)

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
