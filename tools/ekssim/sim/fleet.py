"""Fleet files: accounts, identities, regions, VPC networks and clusters.

A fleet is JSON in a compact form (see README.md, "Fleet format").  Networks are
described by a few knobs (egress kind, route-table layout, NACL mode, IPv6,
defects) and optionally by explicit EC2 resources (``ec2``), and expanded
deterministically into EC2 resources, region by region, on first use
(network.py, explicit.py).

Ground truth: each defect maps to exactly one preflight check id that must fail
(two for update_in_progress).  The expansion is written so that defects never
cascade into other checks (README.md documents each check's exact semantics).
A cluster on an explicit network carries the ground truth its fleet states
(``expect_fail``), or none.
"""

import ipaddress
import json
import os
import re

from . import explicit, iamdir, k8sobjects, network, regions, scp
from . import ec2model

FORMAT = "ekssim-fleet/1"

# The preflight check ids the simulator's ground truth uses; they are the ids of
# lua/eksegress/workflows/preflight/checks.lua (a Lua spec asserts this list is a subset).
CHECK_IDS = [
    "cluster_status", "update_in_progress", "subnets_same_vpc", "subnets_multi_az", "subnet_free_ips",
    "route_default", "route_blackhole", "route_igw_only", "egress_device_nat", "egress_device_tgw",
    "egress_device_instance", "nacl_outbound_443", "nacl_outbound_10250", "nacl_inbound_ephemeral",
    "sg_egress_443", "sg_egress_10250", "dhcp_amazon_dns", "vpc_dns_support", "vpc_dns_hostnames",
    "ipv6_egress_only", "iam_role_describe",
]

# network-level defects -> check id
NETWORK_DEFECTS = {
    "no_default_route": "route_default",
    "blackhole_route": "route_blackhole",
    "igw_only_route": "route_igw_only",
    "nat_unavailable": "egress_device_nat",
    "tgw_unavailable": "egress_device_tgw",
    "nat_instance_stopped": "egress_device_instance",
    "nat_instance_src_dst_check": "egress_device_instance",
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
    "role_no_describe": ["iam_role_describe"],
}

# defects that touch the default route / its device: at most one per network
ROUTE_GROUP = {"no_default_route", "blackhole_route", "igw_only_route", "nat_unavailable", "tgw_unavailable",
               "nat_instance_stopped", "nat_instance_src_dst_check"}
NACL_GROUP = set(network.NACL_DEFECTS)
SG_GROUP = {"sg_no_443", "sg_no_10250"}
EGRESS_KINDS = ("nat", "tgw", "instance")
# a defect needs this egress kind
DEFECT_EGRESS = {"nat_unavailable": "nat", "tgw_unavailable": "tgw", "nat_instance_stopped": "instance",
                 "nat_instance_src_dst_check": "instance"}
# the explicit resource kinds a network defect changes (it cannot act on stated resources)
DEFECT_RESOURCES = {
    "no_default_route": ["RouteTables"], "blackhole_route": ["RouteTables", "NatGateways"],
    "igw_only_route": ["RouteTables", "InternetGateways"], "nat_unavailable": ["NatGateways"],
    "tgw_unavailable": ["TransitGateways", "TransitGatewayVpcAttachments"],
    "nat_instance_stopped": ["Instances"], "nat_instance_src_dst_check": ["Instances"],
    "nacl_443_blocked": ["NetworkAcls"], "nacl_10250_blocked": ["NetworkAcls"],
    "nacl_ephemeral_blocked": ["NetworkAcls"], "dhcp_no_amazon_dns": ["DhcpOptions"],
    "dns_support_off": ["Vpcs"], "dns_hostnames_off": ["Vpcs"], "too_few_ips": ["Subnets"],
    "single_az": ["Subnets"], "ipv6_no_eigw": ["EgressOnlyInternetGateways", "RouteTables"],
}

ACCOUNT_STATES = ("ACTIVE", "SUSPENDED", "PENDING_CLOSURE", "CLOSED")
LEGACY_STATUSES = ("ACTIVE", "SUSPENDED", "PENDING_CLOSURE")
ACCOUNT_STATUS_FIELDS = ("state", "both", "legacy")

MODES = ("AWS_MANAGED", "CUSTOMER_ROUTED", "CUSTOMER_ISOLATED")
K8S_VERSIONS = ["1.28", "1.29", "1.30", "1.31", "1.32", "1.33"]
DEFAULT_K8S_VERSION = "1.32"

DEFAULT_TIMINGS = {"cluster_create": 600, "cluster_update": 420, "egress_update": 420,
                   "version_update": 1500, "cluster_delete": 300}

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_FLEET_PATH = os.path.join(HERE, "fleets", "sample.json")


class FleetError(Exception):
    pass


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


def _strlist(v):
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


def validate(spec):
    """Raise FleetError with a precise message for a malformed fleet."""
    try:
        return _validate(spec)
    except (TypeError, AttributeError, KeyError, ValueError) as e:
        # a value of an unexpected type where no check above looked: still a fleet error, never a traceback
        raise FleetError("malformed fleet (%s: %s)" % (type(e).__name__, e))


def _validate(spec):
    if not isinstance(spec, dict):
        raise FleetError("fleet must be a JSON object")
    accts = spec.get("accounts")
    if not isinstance(accts, list) or not accts or not all(isinstance(a, dict) for a in accts):
        raise FleetError("fleet.accounts must be a non-empty list of objects")
    org = spec.get("organization") or {}
    if not isinstance(org, dict):
        raise FleetError("organization must be an object")
    mgmt = org.get("management_account", accts[0].get("id"))
    if org.get("account_status", "state") not in ACCOUNT_STATUS_FIELDS:
        raise FleetError("organization.account_status must be one of %s" % ", ".join(ACCOUNT_STATUS_FIELDS))
    tm = spec.get("timings", {})
    if not isinstance(tm, dict) or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0
                                           for v in tm.values()):
        raise FleetError("timings must be an object of seconds >= 0")
    seen_keys = set()
    seen_ids = set()
    for a in accts:
        aid = a.get("id")
        if not isinstance(aid, str) or not _ACCT_RE.match(aid):
            raise FleetError("account id must be a 12-digit string: %r" % (aid,))
        if aid in seen_ids:
            raise FleetError("duplicate account %s" % aid)
        seen_ids.add(aid)
        _validate_account(a, aid, mgmt, seen_keys)
    if org and org.get("management_account") not in seen_ids:
        raise FleetError("organization.management_account must be one of the accounts")
    try:
        iamdir.Directory(spec)
    except iamdir.DirectoryError as e:
        raise FleetError(str(e))
    _validate_explicit_regions(spec)
    return spec


def _validate_account(a, aid, mgmt, seen_keys):
    for key in ("users", "roles", "managed_policies", "networks", "clusters"):
        v = a.get(key, [])
        if not isinstance(v, list) or not all(isinstance(x, dict) for x in v):
            raise FleetError("account %s: %s must be a list of objects" % (aid, key))
    if a.get("state", "ACTIVE") not in ACCOUNT_STATES:
        raise FleetError("account %s: state must be one of %s" % (aid, ", ".join(ACCOUNT_STATES)))
    if a.get("status", "ACTIVE") not in LEGACY_STATUSES:
        raise FleetError("account %s: status (legacy) must be one of %s" % (aid, ", ".join(LEGACY_STATUSES)))
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
        for key in ("trust", "deny_actions"):
            if not _strlist(r.get(key, [])):
                raise FleetError("account %s role %s: %s must be a list of strings" % (aid, r["name"], key))
    for u in a.get("users", []):
        if not _strlist(u.get("deny_actions", [])):
            raise FleetError("account %s user %s: deny_actions must be a list of strings" % (aid, u["name"]))
    for key in ("opted_in_regions", "disabled_regions", "scp_denied_regions"):
        for rg in a.get(key, []):
            if not regions.is_region(rg):
                raise FleetError("account %s: %s has unknown region %s" % (aid, key, rg))
    if a.get("scp") is not None:
        try:
            scp.validate(aid, a["scp"], mgmt)
        except ValueError as e:
            raise FleetError(str(e))
    nets = {}
    for n in a.get("networks", []):
        _validate_network(aid, n, nets)
    names = set()
    for c in a.get("clusters", []):
        _validate_cluster(aid, c, nets, names)


def _validate_network(aid, n, nets):
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
    if not _strlist(ds):
        raise FleetError("network %s: defects must be a list of defect names" % name)
    for d in ds:
        if d not in NETWORK_DEFECTS:
            raise FleetError("network %s: unknown defect %r (known: %s)"
                             % (name, d, ", ".join(sorted(NETWORK_DEFECTS))))
    if len(ROUTE_GROUP.intersection(ds)) > 1:
        raise FleetError("network %s: at most one of %s" % (name, ", ".join(sorted(ROUTE_GROUP))))
    if len(NACL_GROUP.intersection(ds)) > 1:
        raise FleetError("network %s: at most one of %s" % (name, ", ".join(sorted(NACL_GROUP))))
    eg = n.get("egress", "nat")
    if eg not in EGRESS_KINDS:
        raise FleetError("network %s: egress must be one of %s" % (name, ", ".join(EGRESS_KINDS)))
    for d in ds:
        if d in DEFECT_EGRESS and eg != DEFECT_EGRESS[d]:
            raise FleetError("network %s: %s needs egress %s" % (name, d, DEFECT_EGRESS[d]))
    if "ipv6_no_eigw" in ds and not n.get("ipv6"):
        raise FleetError("network %s: ipv6_no_eigw needs ipv6: true" % name)
    if n.get("route_tables", "per-subnet") not in ("per-subnet", "main"):
        raise FleetError("network %s: route_tables must be per-subnet or main" % name)
    if n.get("nacl", "custom") not in ("custom", "default"):
        raise FleetError("network %s: nacl must be custom or default" % name)
    if not isinstance(n.get("flow_logs", False), bool):
        raise FleetError("network %s: flow_logs must be true or false" % name)
    for z in n.get("azs", []) or []:
        if regions.az_id(rg, z) is None:
            raise FleetError("network %s: unknown availability zone %r in %s" % (name, z, rg))
    ns = n.get("subnets", 3)
    if not isinstance(ns, int) or isinstance(ns, bool) or ns < 1 or ns > 8:
        raise FleetError("network %s: subnets must be 1..8" % name)
    if "cidr" in n:
        try:
            ok = isinstance(n["cidr"], str) and ipaddress.IPv4Network(n["cidr"]).prefixlen == 16
        except ValueError:
            ok = False
        if not ok:
            raise FleetError("network %s: cidr must be an IPv4 /16 such as 10.10.0.0/16, not %r" % (name, n["cidr"]))
    if not _strlist(n.get("vpc_endpoints", [])) or not _strlist(n.get("azs") or []):
        raise FleetError("network %s: vpc_endpoints and azs must be lists of strings" % name)
    if "ec2" in n:
        try:
            explicit.check_keys(n)
        except network.NetworkError as e:
            raise FleetError(str(e))
        stated = set(n["ec2"])
        for d in ds:
            hit = [k for k in DEFECT_RESOURCES[d] if k in stated]
            if hit:
                raise FleetError("network %s: defect %s acts on ec2.%s, which the network states explicitly; "
                                 "state the defect in the explicit resources instead" % (name, d, hit[0]))
        vpc = (n["ec2"].get("Vpcs") or [{}])[0]
        if isinstance(vpc, dict) and "CidrBlock" in vpc and "Subnets" not in stated:
            try:
                if ipaddress.ip_network(vpc["CidrBlock"], strict=False).prefixlen > 16:
                    raise FleetError("network %s: generated subnets need a /16 VPC; state ec2.Subnets for %s"
                                     % (name, vpc["CidrBlock"]))
            except (ValueError, TypeError):
                raise FleetError("network %s: ec2.Vpcs[0].CidrBlock %r is not a CIDR block" % (name, vpc["CidrBlock"]))


def network_ipv6(n):
    if n.get("ipv6"):
        return True
    vpc = ((n.get("ec2") or {}).get("Vpcs") or [{}])[0]
    return bool(isinstance(vpc, dict) and vpc.get("Ipv6CidrBlockAssociationSet"))


def _validate_cluster(aid, c, nets, names):
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
    net = nets[(rg, c["network"])]
    stated = set(net.get("ec2") or {})
    if c.get("mode", "AWS_MANAGED") not in MODES:
        raise FleetError("cluster %s: mode must be one of %s" % (cname, ", ".join(MODES)))
    if c.get("status", "ACTIVE") not in ("ACTIVE", "FAILED", "CREATING"):
        raise FleetError("cluster %s: status must be ACTIVE, FAILED or CREATING" % cname)
    ds = c.get("defects", [])
    if not _strlist(ds):
        raise FleetError("cluster %s: defects must be a list of defect names" % cname)
    for key in ("addons", "security_group_ids"):
        if not _strlist(c.get(key, [])):
            raise FleetError("cluster %s: %s must be a list of strings" % (cname, key))
    tags = c.get("tags", {})
    if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
        raise FleetError("cluster %s: tags must be an object of strings" % cname)
    ngs = c.get("nodegroups", [])
    if not (isinstance(ngs, int) and not isinstance(ngs, bool) and ngs >= 0) and not (
            isinstance(ngs, list) and all(isinstance(g, dict) and isinstance(g.get("name"), str) for g in ngs)):
        raise FleetError("cluster %s: nodegroups must be a number or a list of {\"name\", …}" % cname)
    idps = c.get("identity_providers", [])
    if not isinstance(idps, list) or not all(isinstance(i, dict) and isinstance(i.get("name"), str) for i in idps):
        raise FleetError("cluster %s: identity_providers must be a list of {\"name\", …}" % cname)
    k = c.get("subnets")
    if k is not None and (not isinstance(k, int) or isinstance(k, bool) or k < 1):
        raise FleetError("cluster %s: subnets must be a positive number" % cname)
    for key in ("omit_mode", "extra_sg", "egress_update_fails", "deletion_protection", "endpoint_public_access",
                "endpoint_private_access"):
        if not isinstance(c.get(key, False), bool):
            raise FleetError("cluster %s: %s must be true or false" % (cname, key))
    if c.get("role_arn") is not None and not isinstance(c["role_arn"], str):
        raise FleetError("cluster %s: role_arn must be a role ARN" % cname)
    if c.get("ip_family", "ipv4") not in ("ipv4", "ipv6"):
        raise FleetError("cluster %s: ip_family must be ipv4 or ipv6" % cname)
    for d in ds:
        if d not in CLUSTER_DEFECTS:
            raise FleetError("cluster %s: unknown defect %r (known: %s)"
                             % (cname, d, ", ".join(sorted(CLUSTER_DEFECTS))))
    if len(SG_GROUP.intersection(ds)) > 1:
        raise FleetError("cluster %s: at most one of sg_no_443, sg_no_10250" % cname)
    if c.get("ip_family", "ipv4") == "ipv6" and not network_ipv6(net):
        raise FleetError("cluster %s: ip_family ipv6 needs an ipv6 network" % cname)
    if c.get("version", DEFAULT_K8S_VERSION) not in K8S_VERSIONS:
        raise FleetError("cluster %s: version must be one of %s" % (cname, ", ".join(K8S_VERSIONS)))
    if "role_no_describe" in ds and c.get("role_arn"):
        raise FleetError("cluster %s: role_no_describe gives the cluster its own role; drop role_arn (or state "
                         "the role's policies in the account's roles instead)" % cname)
    bs = c.get("busy_seconds")
    if bs is not None:
        if isinstance(bs, bool) or not isinstance(bs, (int, float)) or bs < 0:
            raise FleetError("cluster %s: busy_seconds must be a number of seconds >= 0" % cname)
        if "update_in_progress" in ds or c.get("status", "ACTIVE") != "ACTIVE":
            raise FleetError("cluster %s: busy_seconds needs an ACTIVE cluster without update_in_progress" % cname)
    if "subnet_ids" in c:
        if "Subnets" not in stated:
            raise FleetError("cluster %s: subnet_ids needs a network with explicit ec2.Subnets" % cname)
        if not _strlist(c["subnet_ids"]) or not c["subnet_ids"] or "subnets_other_vpc" in ds:
            raise FleetError("cluster %s: subnet_ids must be a non-empty list of subnet ids (and excludes "
                             "subnets_other_vpc)" % cname)
    if "cluster_security_group_id" in c:
        if "SecurityGroups" not in stated:
            raise FleetError("cluster %s: cluster_security_group_id needs a network with explicit "
                             "ec2.SecurityGroups" % cname)
        if SG_GROUP.intersection(ds):
            raise FleetError("cluster %s: sg defects act on the generated cluster security group; the cluster "
                             "states its own (cluster_security_group_id)" % cname)
        ids = [g.get("GroupId") for g in net["ec2"]["SecurityGroups"] if isinstance(g, dict)]
        if c["cluster_security_group_id"] not in ids:
            raise FleetError("cluster %s: cluster_security_group_id %r is not one of the network's "
                             "ec2.SecurityGroups GroupIds" % (cname, c["cluster_security_group_id"]))
    if c.get("extra_sg") and "SecurityGroups" in stated:
        raise FleetError("cluster %s: extra_sg adds a generated group, but network %s states its SecurityGroups; "
                         "use security_group_ids" % (cname, net["name"]))
    ef = c.get("expect_fail")
    if ef is not None and stated:
        if not _strlist(ef) or any(x not in CHECK_IDS for x in ef):
            raise FleetError("cluster %s: expect_fail must be a list of check ids (%s)" % (cname, ", ".join(CHECK_IDS)))
    try:
        k8sobjects.validate_cluster(c, "cluster %s" % cname)
    except k8sobjects.ObjectError as e:
        raise FleetError(str(e))


def _validate_explicit_regions(spec):
    """Expand every region that has an explicit network, so its resources are checked now."""
    todo = set()
    for a in spec["accounts"]:
        for n in a.get("networks", []):
            if n.get("ec2"):
                todo.add((a["id"], n["region"]))
    for a in spec["accounts"]:
        for account, region in sorted(todo):
            if account != a["id"]:
                continue
            store = network.RegionStore(account, region)
            nets = [n for n in a.get("networks", []) if n["region"] == region]
            for n in nets:
                try:
                    network.expand_network(store, n, "2024-01-15T10:00:00.000Z")
                except (network.NetworkError, ec2model.ShapeError) as e:
                    raise FleetError(str(e))
                except (KeyError, TypeError, AttributeError, ValueError) as e:
                    # a value of the wrong type where the checks above did not look: still a fleet error
                    raise FleetError("network %s: malformed ec2 resources (%s: %s)" % (n["name"], type(e).__name__, e))
            for c in a.get("clusters", []):
                if c["region"] != region:
                    continue
                for sid in c.get("subnet_ids", []):
                    if sid not in store.subnets:
                        raise FleetError("cluster %s: subnet_ids: %s is not a subnet of account %s in %s"
                                         % (c["name"], sid, account, region))


def ground_truth(network_spec, cluster):
    """Sorted check ids that a correct preflight must report as failing (knob networks)."""
    fails = set()
    ipv6_cluster = cluster.get("ip_family", "ipv4") == "ipv6"
    for d in network_spec.get("defects", []):
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
        self.iam = iamdir.Directory(spec)
        self.account_status = org.get("account_status", "state")
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

    def expected_failures(self, account, cluster, role=None):
        """Ground truth for a cluster: derived from defects on knob networks (plus the IAM
        evaluation of its role), stated (or None) on explicit networks."""
        net = self.networks[(account, cluster["region"], cluster["network"])]
        if net.get("ec2"):
            ef = cluster.get("expect_fail")
            return sorted(ef) if ef is not None else None
        fails = set(ground_truth(net, cluster))
        if not self.iam.allows_describe(role or iamdir.cluster_role_arn(account, cluster)):
            fails.add("iam_role_describe")
        return sorted(fails)
