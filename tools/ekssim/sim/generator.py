"""--generate SPEC: large seeded fleets with network defects and ground truth.

SPEC is comma-separated key=value (README.md, "Generated fleets"):
  clusters=N      clusters in total (default 100)
  accounts=A      accounts (default 2; the first two are 111122223333 / 444455556666)
  regions=R       number of regions (first R of a fixed list) or a list joined by '+'
  seed=S          RNG seed (default 1): same SPEC, same fleet, same ids
  defects=F       share of clusters given a defect (default 0.3)
  kinds=a+b       restrict the defect kinds (default: all of them)
  multi=F         share of defective clusters that get a second, independent defect (default 0.1)
  routed=F        share already CUSTOMER_ROUTED (default 0.1)
  isolated=F      share CUSTOMER_ISOLATED (default 0.01)
  nomode=F        share whose DescribeCluster omits controlPlaneEgressMode (default 0.01)
  ipv6=F          share of healthy clusters on IPv6 (default 0.05)
  share=K         clusters per VPC network (default 1); network defects then hit every cluster on it
  nodegroups=K    node groups per cluster (default 1)
"""

import random

from . import fleet as fleetmod
from . import regions

DEFECT_KINDS = sorted(list(fleetmod.NETWORK_DEFECTS) + list(fleetmod.CLUSTER_DEFECTS))

MAIN_KEY = ("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
SECOND_KEY = ("AKIAEKSSIM0000000002", "ekssim/SecondAccount/Secret+EXAMPLEKEY02")

_TEAMS = ["payments", "search", "checkout", "ml", "data", "web", "api", "batch", "edge", "ledger", "auth", "media"]
_ENVS = ["prod", "stg", "dev"]


class SpecError(ValueError):
    pass


def parse_spec(spec):
    d = {"clusters": 100, "accounts": 2, "regions": 3, "seed": 1, "defects": 0.3, "kinds": None, "multi": 0.1,
         "routed": 0.1, "isolated": 0.01, "nomode": 0.01, "ipv6": 0.05, "share": 1, "nodegroups": 1}
    ints = ("clusters", "accounts", "seed", "share", "nodegroups")
    floats = ("defects", "multi", "routed", "isolated", "nomode", "ipv6")
    for part in (spec or "").split(","):
        part = part.strip()
        if not part:
            continue
        k, eq, v = part.partition("=")
        k = k.strip()
        v = v.strip()
        if not eq or k not in d:
            raise SpecError("bad --generate item %r (known keys: %s)" % (part, ", ".join(sorted(d))))
        try:
            if k in ints:
                d[k] = int(v)
            elif k in floats:
                d[k] = float(v)
                if not 0 <= d[k] <= 1:
                    raise ValueError
            elif k == "regions":
                d[k] = int(v) if v.isdigit() else [x for x in v.replace(":", "+").split("+") if x]
            elif k == "kinds":
                d[k] = [x for x in v.replace(":", "+").split("+") if x]
        except ValueError:
            raise SpecError("bad value for %s: %r" % (k, v))
    if d["clusters"] < 0 or d["accounts"] < 1 or d["share"] < 1 or d["nodegroups"] < 0:
        raise SpecError("clusters >= 0, accounts >= 1, share >= 1, nodegroups >= 0 required")
    if isinstance(d["regions"], int):
        if not 1 <= d["regions"] <= len(regions.GENERATOR_REGIONS):
            raise SpecError("regions must be 1..%d" % len(regions.GENERATOR_REGIONS))
        d["regions"] = regions.GENERATOR_REGIONS[:d["regions"]]
    for r in d["regions"]:
        if not regions.is_region(r) or regions.REGIONS[r]["opt_in"]:
            raise SpecError("unknown or opt-in region %r" % r)
    if d["kinds"] is not None:
        for k in d["kinds"]:
            if k not in DEFECT_KINDS:
                raise SpecError("unknown defect kind %r (known: %s)" % (k, ", ".join(DEFECT_KINDS)))
    return d


def account_ids(n, seed):
    ids = ["111122223333", "444455556666"]
    rng = random.Random("accounts-%d" % seed)
    while len(ids) < n:
        a = "%012d" % rng.randrange(100000000000, 999999999999)
        if a not in ids:
            ids.append(a)
    return ids[:n]


def identity_block(acct_ids, mgmt):
    """Users and roles for generated and sample accounts."""
    accounts = []
    for i, aid in enumerate(acct_ids):
        if i == 0:
            key = MAIN_KEY
        elif i == 1:
            key = SECOND_KEY
        else:
            key = ("AKIAEKSSIM%010d" % (i + 1), "ekssim/Generated/Secret+%08d/EXAMPLE" % (i + 1))
        trust = sorted(set([mgmt, aid]))
        accounts.append({
            "id": aid, "name": "account-%02d" % i if i else "management", "email": "aws+%s@example.com" % aid,
            "users": [{"name": "ekssim-admin", "access_key_id": key[0], "secret_access_key": key[1]}],
            "roles": [
                {"name": "EksEgressAdmin", "trust": trust, "max_session_duration": 3600},
                {"name": "OrganizationAccountAccessRole", "trust": [mgmt], "max_session_duration": 3600},
                {"name": "EksReadOnly", "trust": trust, "max_session_duration": 3600,
                 "deny_actions": ["eks:CreateCluster", "eks:UpdateClusterConfig", "eks:UpdateClusterVersion",
                                  "eks:DeleteCluster"]}],
            "networks": [], "clusters": []})
    return accounts


def _compatible(kind, have_net, have_cluster, net):
    if kind in fleetmod.NETWORK_DEFECTS:
        ds = set(net["defects"]) | {kind}
        if len(ds & fleetmod.ROUTE_GROUP) > 1 or len(ds & fleetmod.NACL_GROUP) > 1:
            return False
        return kind not in have_net
    ds = set(have_cluster) | {kind}
    if len(ds & fleetmod.SG_GROUP) > 1:
        return False
    if kind in ("cluster_not_active", "update_in_progress") and \
            ({"cluster_not_active", "update_in_progress"} & set(have_cluster)):
        return False
    return kind not in have_cluster


def generate(spec_str):
    p = parse_spec(spec_str)
    rng = random.Random(p["seed"])
    acct_ids = account_ids(p["accounts"], p["seed"])
    mgmt = acct_ids[0]
    accounts = identity_block(acct_ids, mgmt)
    kinds = p["kinds"] or DEFECT_KINDS
    regs = p["regions"]
    # defect kinds handed out round-robin from a seeded shuffle so every kind appears
    order = list(kinds)
    rng.shuffle(order)
    next_kind = [0]

    def pick_kind():
        k = order[next_kind[0] % len(order)]
        next_kind[0] += 1
        return k

    nets_by_group = {}
    for i in range(p["clusters"]):
        ai = i % len(accounts)
        acct = accounts[ai]
        region = regs[(i // len(accounts)) % len(regs)]
        group = (ai, region)
        gnets = nets_by_group.setdefault(group, [])
        name = "%s-%s-%05d" % (_ENVS[rng.randrange(3)], _TEAMS[rng.randrange(len(_TEAMS))], i)
        need_new = not gnets or gnets[-1]["_count"] >= p["share"]
        if need_new:
            r_eg = rng.random()
            net = {"name": "vpc-%s" % name if p["share"] == 1 else "net-%s-%04d" % (region, len(gnets)),
                   "region": region, "egress": "tgw" if r_eg < 0.2 else "instance" if r_eg < 0.3 else "nat",
                   "route_tables": "main" if rng.random() < 0.3 else "per-subnet",
                   "nacl": "default" if rng.random() < 0.4 else "custom",
                   "subnets": 3 if rng.random() < 0.6 else 2, "ipv6": False, "defects": [], "_count": 0}
            if rng.random() < 0.1:
                net["vpc_endpoints"] = ["eks", "sts"]
            if rng.random() < 0.5:
                net["flow_logs"] = True
            gnets.append(net)
            acct["networks"].append(net)
        net = gnets[-1]
        net["_count"] += 1
        r = rng.random()
        mode = "AWS_MANAGED"
        omit = False
        if r < p["routed"]:
            mode = "CUSTOMER_ROUTED"
        elif r < p["routed"] + p["isolated"]:
            mode = "CUSTOMER_ISOLATED"
        elif r < p["routed"] + p["isolated"] + p["nomode"]:
            omit = True
        cl = {"name": name, "region": region, "network": net["name"],
              "version": fleetmod.K8S_VERSIONS[1 + rng.randrange(len(fleetmod.K8S_VERSIONS) - 1)],
              "mode": mode, "defects": []}
        if omit:
            cl["omit_mode"] = True
        if rng.random() < 0.3:
            cl["extra_sg"] = True
        if p["nodegroups"]:
            cl["nodegroups"] = p["nodegroups"]
        cl["addons"] = ["coredns", "kube-proxy", "vpc-cni"]
        if rng.random() < 0.05:
            cl["identity_providers"] = [{"name": "corp-oidc", "issuer_url": "https://idp.example.com/%s" % name,
                                         "client_id": "kubernetes"}]
        n_defects = 0
        if rng.random() < p["defects"]:
            n_defects = 2 if rng.random() < p["multi"] else 1
        for _ in range(n_defects):
            for _try in range(len(order)):
                k = pick_kind()
                if _compatible(k, net["defects"], cl["defects"], net):
                    break
            else:
                continue
            if k in fleetmod.NETWORK_DEFECTS:
                net["defects"].append(k)
                if k in fleetmod.DEFECT_EGRESS:
                    net["egress"] = fleetmod.DEFECT_EGRESS[k]
                elif k == "ipv6_no_eigw":
                    net["ipv6"] = True
                    cl["ip_family"] = "ipv6"
            else:
                cl["defects"].append(k)
                if k == "sg_no_443":
                    cl.pop("extra_sg", None)
                if k == "cluster_not_active":
                    cl["status"] = "FAILED" if rng.random() < 0.5 else "CREATING"
        if not cl["defects"] and not net["defects"] and rng.random() < p["ipv6"] and net["_count"] == 1:
            net["ipv6"] = True
            cl["ip_family"] = "ipv6"
        if net.get("ipv6") and "ip_family" not in cl and net["_count"] > 1:
            cl["ip_family"] = "ipv6"
        acct["clusters"].append(cl)
    # a network may have gained defects after earlier clusters were placed on it:
    # fix egress kinds and IPv6 consistently, then compute ground truth
    for acct in accounts:
        nets = dict((n["name"], n) for n in acct["networks"])
        for n in acct["networks"]:
            n.pop("_count", None)
            for d in n["defects"]:
                if d in fleetmod.DEFECT_EGRESS:
                    n["egress"] = fleetmod.DEFECT_EGRESS[d]
        for c in acct["clusters"]:
            net = nets[c["network"]]
            if net.get("ipv6") and "ipv6_no_eigw" in net["defects"]:
                c["ip_family"] = "ipv6"
            c["expect_fail"] = fleetmod.ground_truth(net, c)
    fleet = {
        "format": fleetmod.FORMAT,
        "generated_by": spec_str,
        "organization": {"id": "o-ekssim%06d" % (p["seed"] % 1000000), "management_account": mgmt},
        "timings": dict(fleetmod.DEFAULT_TIMINGS),
        "imds": {"account": mgmt, "role_name": "EksEgressAdmin", "region": regs[0]},
        "container_credentials": {"token": "ekssim-container-token", "account": mgmt, "role_name": "EksEgressAdmin"},
        "accounts": accounts,
    }
    return fleet
