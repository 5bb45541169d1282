"""Fleet files: accounts, identities, regions, VPC networks and clusters.

A fleet is JSON in a compact form (see README.md, "Fleet format").  Networks are
described by a few knobs (egress kind, route-table layout, NACL mode, IPv6,
defects) and expanded deterministically into EC2 resources, region by region, on
first use; every id is a hash of (account, region, network, role) so the same
fleet always yields the same ids.

Ground truth: each defect maps to exactly one preflight check id that must fail.
The expansion is written so that defects never cascade into other checks
(README.md documents each check's exact semantics).
"""

import hashlib
import ipaddress
import json
import os
import re

from . import regions

FORMAT = "ekssim-fleet/1"

CHECK_IDS = [
    "cluster_status", "update_in_progress", "subnets_same_vpc", "subnets_multi_az",
    "subnet_free_ips", "route_default", "route_blackhole", "egress_device_nat",
    "egress_device_tgw", "nacl_outbound_443", "nacl_outbound_10250", "nacl_inbound_ephemeral",
    "sg_egress_443", "sg_egress_10250", "dhcp_amazon_dns", "vpc_dns_support",
    "vpc_dns_hostnames", "ipv6_egress_only",
]

# network-level defects -> check id
NETWORK_DEFECTS = {
    "no_default_route": "route_default",
    "blackhole_route": "route_blackhole",
    "nat_unavailable": "egress_device_nat",
    "tgw_unavailable": "egress_device_tgw",
    "nacl_443_blocked": "nacl_outbound_443",
    "nacl_10250_blocked": "nacl_outbound_10250",
    "nacl_ephemeral_blocked": "nacl_inbound_ephemeral",
    "dhcp_no_amazon_dns": "dhcp_amazon_dns",
    "dns_support_off": "vpc_dns_support",
    "dns_hostnames_off": "vpc_dns_hostnames",
    "too_few_ips": "subnet_free_ips",
    "single_az": "subnets_multi_az",
    "ipv6_no_eigw": "ipv6_egress_only",
}

# cluster-level defects -> check ids
CLUSTER_DEFECTS = {
    "sg_no_443": ["sg_egress_443"],
    "sg_no_10250": ["sg_egress_10250"],
    "cluster_not_active": ["cluster_status"],
    # an update in flight also makes the cluster UPDATING
    "update_in_progress": ["cluster_status", "update_in_progress"],
    "subnets_other_vpc": ["subnets_same_vpc"],
}

# defects that touch the default route / its device: at most one per network
ROUTE_GROUP = {"no_default_route", "blackhole_route", "nat_unavailable", "tgw_unavailable"}
NACL_GROUP = {"nacl_443_blocked", "nacl_10250_blocked", "nacl_ephemeral_blocked"}
SG_GROUP = {"sg_no_443", "sg_no_10250"}

MODES = ("AWS_MANAGED", "CUSTOMER_ROUTED", "CUSTOMER_ISOLATED")
K8S_VERSIONS = ["1.28", "1.29", "1.30", "1.31", "1.32", "1.33"]
DEFAULT_K8S_VERSION = "1.32"

DEFAULT_TIMINGS = {"cluster_create": 600, "cluster_update": 420, "egress_update": 420,
                   "version_update": 1500, "cluster_delete": 300}

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_FLEET_PATH = os.path.join(HERE, "fleets", "sample.json")


class FleetError(Exception):
    pass


def h16(*parts):
    return hashlib.sha1("/".join(map(str, parts)).encode("utf-8")).hexdigest()[:16]


def rid(prefix, *parts):
    """A deterministic AWS-looking id: prefix-0 + 16 hex digits."""
    return "%s-0%s" % (prefix, h16(prefix, *parts))


def hexid(n, *parts):
    return hashlib.sha256("/".join(str(p) for p in parts).encode()).hexdigest()[:n].upper()


# ---------------------------------------------------------------- loading

def load(path=None):
    path = path or DEFAULT_FLEET_PATH
    try:
        with open(path, "r", encoding="utf-8") as f:
            spec = json.load(f)
    except (OSError, ValueError) as e:
        raise FleetError("cannot read fleet %s: %s" % (path, e))
    return spec


_ACCT_RE = re.compile(r"^\d{12}$")
_NAME_RE = re.compile(r"^[0-9A-Za-z][A-Za-z0-9\-_]*$")


def validate(spec):
    """Raise FleetError with a precise message for a malformed fleet."""
    if not isinstance(spec, dict):
        raise FleetError("fleet must be a JSON object")
    accts = spec.get("accounts")
    if not isinstance(accts, list) or not accts:
        raise FleetError("fleet.accounts must be a non-empty list")
    seen_keys = set()
    seen_ids = set()
    for a in accts:
        aid = a.get("id")
        if not isinstance(aid, str) or not _ACCT_RE.match(aid):
            raise FleetError("account id must be a 12-digit string: %r" % (aid,))
        if aid in seen_ids:
            raise FleetError("duplicate account %s" % aid)
        seen_ids.add(aid)
        for u in a.get("users", []):
            for k in ("name", "access_key_id", "secret_access_key"):
                if not isinstance(u.get(k), str) or not u.get(k):
                    raise FleetError("account %s: user needs %s" % (aid, k))
            if u["access_key_id"] in seen_keys:
                raise FleetError("duplicate access key %s" % u["access_key_id"])
            seen_keys.add(u["access_key_id"])
        for r in a.get("roles", []):
            if not isinstance(r.get("name"), str):
                raise FleetError("account %s: role needs a name" % aid)
        for key in ("opted_in_regions", "disabled_regions", "scp_denied_regions"):
            for rg in a.get(key, []):
                if not regions.is_region(rg):
                    raise FleetError("account %s: %s has unknown region %s" % (aid, key, rg))
        nets = {}
        for n in a.get("networks", []):
            name = n.get("name")
            if not isinstance(name, str) or not name:
                raise FleetError("account %s: network needs a name" % aid)
            rg = n.get("region")
            if not regions.is_region(rg):
                raise FleetError("account %s network %s: unknown region %r" % (aid, name, rg))
            if (rg, name) in nets:
                raise FleetError("account %s: duplicate network %s in %s" % (aid, name, rg))
            nets[(rg, name)] = n
            ds = n.get("defects", [])
            for d in ds:
                if d not in NETWORK_DEFECTS:
                    raise FleetError("network %s: unknown defect %r (known: %s)"
                                     % (name, d, ", ".join(sorted(NETWORK_DEFECTS))))
            if len(ROUTE_GROUP.intersection(ds)) > 1:
                raise FleetError("network %s: at most one of %s" % (name, ", ".join(sorted(ROUTE_GROUP))))
            if len(NACL_GROUP.intersection(ds)) > 1:
                raise FleetError("network %s: at most one of %s" % (name, ", ".join(sorted(NACL_GROUP))))
            eg = n.get("egress", "nat")
            if eg not in ("nat", "tgw"):
                raise FleetError("network %s: egress must be nat or tgw" % name)
            if "nat_unavailable" in ds and eg != "nat":
                raise FleetError("network %s: nat_unavailable needs egress nat" % name)
            if "tgw_unavailable" in ds and eg != "tgw":
                raise FleetError("network %s: tgw_unavailable needs egress tgw" % name)
            if "ipv6_no_eigw" in ds and not n.get("ipv6"):
                raise FleetError("network %s: ipv6_no_eigw needs ipv6: true" % name)
            if n.get("route_tables", "per-subnet") not in ("per-subnet", "main"):
                raise FleetError("network %s: route_tables must be per-subnet or main" % name)
            if n.get("nacl", "custom") not in ("custom", "default"):
                raise FleetError("network %s: nacl must be custom or default" % name)
            for z in n.get("azs", []) or []:
                if regions.az_id(rg, z) is None:
                    raise FleetError("network %s: unknown availability zone %r in %s" % (name, z, rg))
            ns = n.get("subnets", 3)
            if not isinstance(ns, int) or ns < 1 or ns > 8:
                raise FleetError("network %s: subnets must be 1..8" % name)
        names = set()
        for c in a.get("clusters", []):
            cname = c.get("name")
            if not isinstance(cname, str) or not _NAME_RE.match(cname) or len(cname) > 100:
                raise FleetError("account %s: bad cluster name %r" % (aid, cname))
            rg = c.get("region")
            if (rg, cname) in names:
                raise FleetError("account %s: duplicate cluster %s in %s" % (aid, cname, rg))
            names.add((rg, cname))
            if (rg, c.get("network")) not in nets:
                raise FleetError("cluster %s: network %r not declared in account %s region %s"
                                 % (cname, c.get("network"), aid, rg))
            if c.get("mode", "AWS_MANAGED") not in MODES:
                raise FleetError("cluster %s: mode must be one of %s" % (cname, ", ".join(MODES)))
            if c.get("status", "ACTIVE") not in ("ACTIVE", "FAILED", "CREATING"):
                raise FleetError("cluster %s: status must be ACTIVE, FAILED or CREATING" % cname)
            for d in c.get("defects", []):
                if d not in CLUSTER_DEFECTS:
                    raise FleetError("cluster %s: unknown defect %r (known: %s)"
                                     % (cname, d, ", ".join(sorted(CLUSTER_DEFECTS))))
            if len(SG_GROUP.intersection(c.get("defects", []))) > 1:
                raise FleetError("cluster %s: at most one of sg_no_443, sg_no_10250" % cname)
            if c.get("ip_family", "ipv4") == "ipv6" and not nets[(rg, c.get("network"))].get("ipv6"):
                raise FleetError("cluster %s: ip_family ipv6 needs an ipv6 network" % cname)
            if c.get("version", DEFAULT_K8S_VERSION) not in K8S_VERSIONS:
                raise FleetError("cluster %s: version must be one of %s" % (cname, ", ".join(K8S_VERSIONS)))
    org = spec.get("organization")
    if org and org.get("management_account") not in seen_ids:
        raise FleetError("organization.management_account must be one of the accounts")
    return spec


def ground_truth(network, cluster):
    """Sorted check ids that a correct preflight must report as failing."""
    fails = set()
    ipv6_cluster = cluster.get("ip_family", "ipv4") == "ipv6"
    for d in network.get("defects", []):
        if d == "ipv6_no_eigw" and not ipv6_cluster:
            continue
        fails.add(NETWORK_DEFECTS[d])
    for d in cluster.get("defects", []):
        fails.update(CLUSTER_DEFECTS[d])
    if cluster.get("status", "ACTIVE") != "ACTIVE":
        fails.add("cluster_status")
    return sorted(fails)


# ---------------------------------------------------------------- the fleet object

class Fleet(object):
    """The immutable part of the world: accounts, identities, network specs."""

    def __init__(self, spec):
        validate(spec)
        self.spec = spec
        self.accounts = {}
        self.users_by_key = {}
        self.networks = {}        # (account, region, name) -> network spec
        self.timings = dict(DEFAULT_TIMINGS)
        self.timings.update(spec.get("timings", {}))
        org = spec.get("organization") or {}
        self.org_id = org.get("id", "o-ekssim0example")
        self.management_account = org.get("management_account", spec["accounts"][0]["id"])
        self.behavior = spec.get("behavior", {})
        for a in spec["accounts"]:
            self.accounts[a["id"]] = a
            for u in a.get("users", []):
                self.users_by_key[u["access_key_id"]] = (a["id"], u)
            for n in a.get("networks", []):
                self.networks[(a["id"], n["region"], n["name"])] = n
        self.web_identity_tokens = spec.get("web_identity_tokens", [])
        self.imds = spec.get("imds")
        self.container = spec.get("container_credentials")

    # -- identities
    def role(self, account, name):
        for r in self.accounts.get(account, {}).get("roles", []):
            if r["name"] == name:
                return r
        return None

    def region_enabled(self, account, region):
        a = self.accounts.get(account)
        if a is None or not regions.is_region(region):
            return False
        if region in a.get("disabled_regions", []):
            return False
        if regions.REGIONS[region]["opt_in"] and region not in a.get("opted_in_regions", []):
            return False
        return True

    def region_opt_status(self, account, region):
        a = self.accounts[account]
        if not regions.REGIONS[region]["opt_in"]:
            return "opt-in-not-required"
        return "opted-in" if region in a.get("opted_in_regions", []) else "not-opted-in"

    def scp_denied(self, account, region):
        return region in self.accounts.get(account, {}).get("scp_denied_regions", [])

    def clusters(self):
        for a in self.spec["accounts"]:
            for c in a.get("clusters", []):
                yield a["id"], c


# ---------------------------------------------------------------- network geometry

def _ip4(n):
    return "%d.%d.%d.%d" % (n >> 24, (n >> 16) & 255, (n >> 8) & 255, n & 255)


def vpc_cidr(account, region, net):
    """(cidr string, integer base address)."""
    if net.get("cidr"):
        n = ipaddress.ip_network(net["cidr"], strict=False)
        return str(n), int(n.network_address)
    h = int(h16("cidr", account, region, net["name"]), 16)
    base = (10 << 24) | ((h % 250) << 16)
    return "%s/16" % _ip4(base), base


def network_layout(account, region, net):
    """Ids and geometry of a network that clusters need without expanding EC2."""
    name = net["name"]
    cidr, base = vpc_cidr(account, region, net)
    if net.get("azs"):
        eks_zones = [(z, regions.az_id(region, z)) for z in net["azs"]]
    else:
        eks_zones = regions.eks_azs(region)
    n = net.get("subnets", 3)
    single = "single_az" in net.get("defects", [])
    subnets = []
    for i in range(n):
        zone, zid = eks_zones[0] if single else eks_zones[i % len(eks_zones)]
        subnets.append({"id": rid("subnet", account, region, name, "private", i),
                        "cidr": "%s/20" % _ip4(base + i * 4096),
                        "az": zone, "az_id": zid, "index": i})
    return {"vpc_id": rid("vpc", account, region, name), "cidr": cidr, "subnets": subnets,
            "node_sg": rid("sg", account, region, name, "nodes"),
            "extra_sg": rid("sg", account, region, name, "controlplane")}


def peer_network(net):
    """The healthy sibling network used by the subnets_other_vpc cluster defect."""
    return {"name": net["name"] + "-peer", "region": net["region"], "egress": net.get("egress", "nat"),
            "subnets": 2, "ipv6": net.get("ipv6", False)}


# ---------------------------------------------------------------- EC2 region store

class RegionStore(object):
    """EC2 resources of one account in one region, in wire (camelCase) form.

    Keys beginning with '_' are private (never serialised).
    """
    KINDS = ("vpcs", "subnets", "route_tables", "nat_gateways", "network_acls", "security_groups",
             "dhcp_options", "network_interfaces", "vpc_endpoints", "egress_only_igws",
             "transit_gateways", "tgw_attachments", "internet_gateways")

    def __init__(self, account, region):
        self.account = account
        self.region = region
        for k in self.KINDS:
            setattr(self, k, {})
        self.layouts = {}

    def add(self, kind, obj_id, obj):
        getattr(self, kind)[obj_id] = obj


def _tags(d):
    return [{"key": k, "value": v} for k, v in d.items()]


def _route(dest, target_key, target, state="active", origin="CreateRoute", v6=False):
    r = {"destinationIpv6CidrBlock" if v6 else "destinationCidrBlock": dest}
    if target_key == "gatewayId":
        r["gatewayId"] = target
    else:
        r[target_key] = target
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


def expand_network(store, net, created_at):
    """Add every EC2 resource of one network spec to store."""
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
    nacl_mode = net.get("nacl", "custom")
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
    private = []
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
        private.append(sub)
    zones = []
    for s in lay["subnets"]:
        if (s["az"], s["az_id"]) not in zones:
            zones.append((s["az"], s["az_id"]))

    # internet gateway + public subnets + NAT gateways
    nat_by_zone = {}
    public_ids = []
    base = int(ipaddress.ip_network(cidr).network_address)
    if egress == "nat":
        igw = rid("igw", account, region, name)
        store.add("internet_gateways", igw, {"attachmentSet": [{"state": "available", "vpcId": vpc_id}],
                                             "internetGatewayId": igw, "ownerId": account,
                                             "tagSet": _tags({"Name": name + "-igw"})})
        for zi, (zone, zid) in enumerate(zones):
            sid = rid("subnet", account, region, name, "public", zi)
            store.add("subnets", sid, {
                "availabilityZone": zone, "availabilityZoneId": zid, "availableIpAddressCount": 250,
                "cidrBlock": str(ipaddress.ip_network((base + (200 + zi) * 256, 24))),
                "defaultForAz": False, "mapPublicIpOnLaunch": True, "state": "available",
                "subnetId": sid, "vpcId": vpc_id, "ownerId": account, "assignIpv6AddressOnCreation": False,
                "ipv6CidrBlockAssociationSet": [], "tagSet": _tags({"Name": "%s-public-%s" % (name, zone),
                                                                    "kubernetes.io/role/elb": "1"}),
                "subnetArn": "arn:aws:ec2:%s:%s:subnet/%s" % (region, account, sid), "_network": name})
            public_ids.append(sid)
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
        if "no_default_route" in defects:
            routes = [r for r in routes if r.get("destinationCidrBlock") != "0.0.0.0/0"]
        if blackhole_nat:
            routes = [r for r in routes if r.get("destinationCidrBlock") != "0.0.0.0/0"]
            routes.append(_route("0.0.0.0/0", "natGatewayId", blackhole_nat, state="blackhole"))
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
        igw = rid("igw", account, region, name)
        store.add("route_tables", rt, {
            "associationSet": [{"main": False, "routeTableAssociationId": rid("rtbassoc", rt, sid),
                                "routeTableId": rt, "subnetId": sid, "associationState": {"state": "associated"}}
                               for sid in public_ids],
            "propagatingVgwSet": [], "routeTableId": rt,
            "routeSet": _local_routes(cidr, v6block) + [_route("0.0.0.0/0", "gatewayId", igw)],
            "tagSet": _tags({"Name": name + "-public"}), "vpcId": vpc_id, "ownerId": account})

    # network ACLs
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
    nacl_defect = NACL_GROUP.intersection(defects)
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
        # AWS lists entries egress first, then by rule number
        return sorted(eg, key=lambda e: e["ruleNumber"]) + sorted(ing, key=lambda e: e["ruleNumber"])

    if custom_subnets or nacl_mode == "custom":
        acl(rid("acl", account, region, name, "private"), custom_entries(None), custom_subnets, False,
            name + "-private")
    if broken_subnets:
        acl(rid("acl", account, region, name, "restricted"), custom_entries(next(iter(nacl_defect))),
            broken_subnets, False, name + "-restricted")

    # security groups of the network
    all6 = ["::/0"] if ipv6 else []
    store.add("security_groups", rid("sg", account, region, name, "default"), security_group(
        account, region, rid("sg", account, region, name, "default"), "default", "default VPC security group",
        vpc_id, [_perm("-1", groups=[rid("sg", account, region, name, "default")], account=account)],
        [_perm("-1", cidrs=["0.0.0.0/0"], cidrs6=all6)]))
    store.add("security_groups", lay["node_sg"], security_group(
        account, region, lay["node_sg"], name + "-nodes", "EKS worker nodes", vpc_id,
        [_perm("-1", groups=[lay["node_sg"]], account=account), _perm("6", (10250, 10250), cidrs=[cidr])],
        [_perm("-1", cidrs=["0.0.0.0/0"], cidrs6=all6)], {"Name": name + "-nodes"}))
    # an optional extra control-plane group that only opens 443 outbound
    store.add("security_groups", lay["extra_sg"], security_group(
        account, region, lay["extra_sg"], name + "-controlplane", "extra control plane egress", vpc_id, [],
        [_perm("6", (443, 443), cidrs=["0.0.0.0/0"], cidrs6=all6)], {"Name": name + "-controlplane"}))

    # VPC endpoints
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
            "groupSet": [{"groupId": lay["node_sg"], "groupName": name + "-nodes"}],
            "ipAddressType": "ipv4", "dnsOptions": {"dnsRecordIpType": "ipv4"},
            "privateDnsEnabled": True, "requesterManaged": False, "networkInterfaceIdSet": enis,
            "dnsEntrySet": [{"dnsName": host, "hostedZoneId": "Z7HUB22UULQXV"},
                            {"dnsName": "%s.%s.amazonaws.com" % (svc, region), "hostedZoneId": "ZONEIDPENDING"}],
            "creationTimestamp": ctime, "tagSet": [], "ownerId": account})


def cluster_security_group(account, region, cl, lay, ipv6):
    """The EKS-created cluster security group for a cluster record."""
    gid = cl["cluster_sg"]
    name = cl["name"]
    defects = set(cl.get("defects", []))
    cidr = lay["cidr"] if lay else "10.0.0.0/16"
    node_sg = lay["node_sg"] if lay else gid
    all6 = ["::/0"] if ipv6 else []
    variant = int(h16("sgvariant", account, region, name), 16) % 3
    if "sg_no_443" in defects:
        egress = [_perm("6", (10250, 10250), groups=[node_sg], account=account),
                  _perm("17", (53, 53), cidrs=[cidr])]
    elif "sg_no_10250" in defects:
        egress = [_perm("6", (443, 443), cidrs=["0.0.0.0/0"], cidrs6=all6),
                  _perm("17", (53, 53), cidrs=[cidr])]
    elif variant == 1:
        egress = [_perm("6", (443, 443), cidrs=["0.0.0.0/0"], cidrs6=all6),
                  _perm("6", (10250, 10250), groups=[node_sg], account=account),
                  _perm("17", (53, 53), cidrs=[cidr])]
    elif variant == 2 and cl.get("extra_sg_attached"):
        # 443 comes from the extra control-plane group: the union matters
        egress = [_perm("6", (10250, 10250), cidrs=[cidr]), _perm("17", (53, 53), cidrs=[cidr])]
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
        net = ipaddress.ip_network(sub["cidrBlock"])
        ip = str(ipaddress.ip_address(int(net.network_address) + 10 + int(h16(eni), 16) % 200))
        out.append({
            "availabilityZone": sub["availabilityZone"], "description": "Amazon EKS " + cl["name"],
            "groupSet": [{"groupName": g, "groupId": g} for g in groups], "interfaceType": "interface",
            "ipv6AddressesSet": [], "macAddress": "0e:%s" % ":".join(h16("mac", eni)[j:j + 2] for j in range(0, 10, 2)),
            "networkInterfaceId": eni, "ownerId": account,
            "privateDnsName": "ip-%s.%s.compute.internal" % (ip.replace(".", "-"), region),
            "privateIpAddress": ip,
            "privateIpAddressesSet": [{"primary": True, "privateIpAddress": ip}],
            "requesterId": "%s" % hexid(12, "eks", region), "requesterManaged": False,
            "sourceDestCheck": True, "status": "in-use", "subnetId": sid,
            "tagSet": [], "vpcId": sub["vpcId"], "_cluster": cl["name"]})
    return out
