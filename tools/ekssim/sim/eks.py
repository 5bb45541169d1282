"""EKS (rest-json): clusters, updates, node groups, add-ons, identity providers.

State machines (times come from the simulator's state clock; durations are
fleet timings multiplied by --time-scale, so 0 makes transitions instant):
  cluster  CREATING -> ACTIVE              (ready_at; None = stuck forever)
           ACTIVE -> UPDATING -> ACTIVE    (while any update is InProgress)
           DELETING -> gone                (delete_at)
  update   InProgress -> Successful|Failed (done_at; None = stuck forever)
An update's changes (e.g. the egress mode) are applied when it completes.

controlPlaneEgressMode rules (eks-egress-domain.md sections 1, 5, 8):
default AWS_MANAGED; AWS_MANAGED -> CUSTOMER_ROUTED allowed; any revert or a
transition involving CUSTOMER_ISOLATED refused (InvalidParameterException);
a no-op refused; one update type per call; one update in flight per cluster
(ResourceInUseException 409); clientRequestToken makes create/update idempotent.
"""

import base64
import bisect
import json
import re
import uuid
from urllib.parse import unquote

from . import fleet as fleetmod
from . import iamdir, network, regions
from .ids import h16, hexid, rid
from .httpserver import Response
from .protocols import AwsError, json_response

_NAME_RE = re.compile(r"^[0-9A-Za-z][A-Za-z0-9\-_]*$")
_ROLE_RE = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")
LOG_TYPES = ["api", "audit", "authenticator", "controllerManager", "scheduler"]

MUTATING = {"CreateCluster", "UpdateClusterConfig", "UpdateClusterVersion", "DeleteCluster"}
READ_OPS = {"DescribeCluster", "ListClusters", "DescribeUpdate", "ListUpdates", "ListNodegroups",
            "DescribeNodegroup", "ListAddons", "ListIdentityProviderConfigs",
            "DescribeIdentityProviderConfig"}
OPERATIONS = sorted(MUTATING | READ_OPS)

# UpdateClusterConfig body keys -> update type
_TOP_TYPES = {
    "logging": "LoggingUpdate", "accessConfig": "AccessConfigUpdate",
    "upgradePolicy": "UpgradePolicyUpdate", "zonalShiftConfig": "ZonalShiftConfigUpdate",
    "computeConfig": "AutoModeUpdate", "kubernetesNetworkConfig": "AutoModeUpdate",
    "storageConfig": "AutoModeUpdate", "remoteNetworkConfig": "RemoteNetworkConfigUpdate",
    "deletionProtection": "DeletionProtectionUpdate",
    "controlPlaneScalingConfig": "ControlPlaneScalingConfigUpdate",
    "kubeApiServerConfig": "ControlPlaneComponentConfigUpdate",
    "kubeSchedulerConfig": "ControlPlaneComponentConfigUpdate",
    "kubeControllerManagerConfig": "ControlPlaneComponentConfigUpdate",
}
_VPC_TYPES = {
    "subnetIds": "VpcConfigUpdate", "securityGroupIds": "VpcConfigUpdate",
    "endpointPublicAccess": "EndpointAccessUpdate", "endpointPrivateAccess": "EndpointAccessUpdate",
    "publicAccessCidrs": "EndpointAccessUpdate", "controlPlaneEgressMode": "ControlPlaneEgressUpdate",
}


def _ipe(msg, **extra):
    return AwsError("InvalidParameterException", msg, 400, extra)


def _not_found(name):
    return AwsError("ResourceNotFoundException", "No cluster found for name: %s." % name, 404,
                    {"clusterName": name})


def identify(method, path):
    """(operation, cluster name, sub-resource) from method and wire path, or None."""
    segs = path.split("/")[1:]
    if not segs or segs[0] != "clusters" or any(s == "" for s in segs):
        return None
    n = len(segs)
    if n == 1:
        return {"GET": ("ListClusters", None, None), "POST": ("CreateCluster", None, None)}.get(method)
    name = unquote(segs[1])
    if n == 2:
        return {"GET": ("DescribeCluster", name, None), "DELETE": ("DeleteCluster", name, None)}.get(method)
    sub = segs[2]
    if n == 3:
        table = {("POST", "update-config"): "UpdateClusterConfig", ("GET", "updates"): "ListUpdates",
                 ("POST", "updates"): "UpdateClusterVersion", ("GET", "node-groups"): "ListNodegroups",
                 ("GET", "addons"): "ListAddons",
                 ("GET", "identity-provider-configs"): "ListIdentityProviderConfigs"}
        op = table.get((method, sub))
        return (op, name, None) if op else None
    if n == 4:
        arg = unquote(segs[3])
        if method == "GET" and sub == "updates":
            return ("DescribeUpdate", name, arg)
        if method == "GET" and sub == "node-groups":
            return ("DescribeNodegroup", name, arg)
        if method == "POST" and sub == "identity-provider-configs" and arg == "describe":
            return ("DescribeIdentityProviderConfig", name, None)
    return None


def _page_token(after):
    return base64.urlsafe_b64encode(json.dumps({"after": after}).encode()).decode().rstrip("=")


def _page_after(token):
    try:
        pad = "=" * (-len(token) % 4)
        d = json.loads(base64.urlsafe_b64decode(token + pad).decode())
        after = d["after"]
        if not isinstance(after, (str, int)):
            raise ValueError
        return after
    except (ValueError, KeyError, TypeError):
        raise _ipe("The nextToken provided is invalid.")


def _max_results(q, lo=1, hi=100, default=100):
    v = q.get("maxResults")
    if v is None:
        return default
    try:
        n = int(v)
    except ValueError:
        raise _ipe("maxResults must be an integer")
    if n < lo or n > hi:
        raise _ipe("1 validation error detected: Value '%s' at 'maxResults' failed to satisfy constraint: "
                   "Member must have value %s %d" % (v, "greater than or equal to" if n < lo else
                                                     "less than or equal to", lo if n < lo else hi))
    return n


def _paginate_list(items, q):
    """Pagination by offset over a small per-cluster list."""
    n = _max_results(q)
    start = 0
    tok = q.get("nextToken")
    if tok:
        start = _page_after(tok)
        if not isinstance(start, int) or start < 0 or start > len(items):
            raise _ipe("The nextToken provided is invalid.")
    page = items[start:start + n]
    nxt = _page_token(start + n) if start + n < len(items) else None
    return page, nxt


class EksService(object):
    def __init__(self, sim):
        self.sim = sim
        self.clusters = {}   # (account, region, name) -> record
        self.names = {}      # (account, region) -> sorted [names]
        self.create_tokens = {}  # (account, region, token) -> name
        self.deleting = set()
        self._deleted = set()    # fleet clusters whose deletion completed
        self._layouts = {}

    # ------------------------------------------------------------ building

    def layout(self, account, region, net):
        key = (account, region, net["name"])
        lay = self._layouts.get(key)
        if lay is None:
            lay = network.network_layout(account, region, net)
            self._layouts[key] = lay
        return lay

    def load_fleet(self, fl, now):
        for account, c in fl.clusters():
            rec = self._record_from_spec(fl, account, c, now)
            self._index(rec)

    def _record_from_spec(self, fl, account, c, now):
        region = c["region"]
        net = fl.networks[(account, region, c["network"])]
        lay = self.layout(account, region, net)
        subnet_ids = list(c["subnet_ids"]) if "subnet_ids" in c else [s["id"] for s in lay["subnets"]]
        k = c.get("subnets")
        if isinstance(k, int) and k > 0:
            subnet_ids = subnet_ids[:k]
        defects = list(c.get("defects", []))
        if "subnets_other_vpc" in defects:
            peer = network.peer_network(net)
            subnet_ids.append(self.layout(account, region, peer)["subnets"][0]["id"])
        name = c["name"]
        age = 86400 * (30 + int(h16("age", account, region, name), 16) % 700)
        created = c.get("created_at", round(now - age, 3))
        sg_ids = list(c.get("security_group_ids", []))
        # sg_no_443 removes every 443 egress rule from the cluster's groups, so the
        # network's extra 443-only group is not attached to such a cluster
        extra = bool(c.get("extra_sg")) and "sg_no_443" not in defects
        if extra:
            sg_ids.append(lay["extra_sg"])
        rec = self._base_record(account, region, name, created, c.get("version", fleetmod.DEFAULT_K8S_VERSION),
                                iamdir.cluster_role_arn(account, c), subnet_ids, sg_ids, lay["vpc_id"],
                                c.get("mode", "AWS_MANAGED"), c.get("ip_family", "ipv4"))
        if c.get("cluster_security_group_id"):
            # the network states this group; EKS's own is not generated
            rec["cluster_sg"] = c["cluster_security_group_id"]
            rec["cluster_sg_stated"] = True
        rec["omit_mode"] = bool(c.get("omit_mode"))
        rec["network"] = c["network"]
        rec["source"] = "fleet"
        rec["defects"] = defects
        rec["extra_sg_attached"] = extra
        rec["expect_fail"] = fl.expected_failures(account, c, rec["role_arn"])
        rec["egress_update_fails"] = bool(c.get("egress_update_fails"))
        rec["endpoint_public"] = c.get("endpoint_public_access", True)
        rec["endpoint_private"] = c.get("endpoint_private_access", False)
        rec["tags"] = dict(c.get("tags", {}))
        rec["deletion_protection"] = bool(c.get("deletion_protection", False))
        status = c.get("status", "ACTIVE")
        if status == "FAILED":
            rec["status_base"] = "FAILED"
        elif status == "CREATING":
            rec["ready_at"] = None
        if "cluster_not_active" in defects and status == "ACTIVE":
            rec["status_base"] = "FAILED"
        if "update_in_progress" in defects or c.get("update_in_progress"):
            cur = rec["version"]
            nxt = fleetmod.K8S_VERSIONS[min(fleetmod.K8S_VERSIONS.index(cur) + 1, len(fleetmod.K8S_VERSIONS) - 1)]
            rec["updates"].append({"id": str(uuid.UUID(h16("upd", account, region, name) * 2)),
                                   "type": "VersionUpdate",
                                   "params": [{"type": "Version", "value": nxt},
                                              {"type": "PlatformVersion", "value": "eks.1"}],
                                   "created_at": round(now - 120, 3), "done_at": None, "outcome": "Successful",
                                   "errors": [], "token": None, "applied": False, "changes": {}})
        elif c.get("busy_seconds") is not None:
            # an update in flight that completes after busy_seconds of state-clock time (not scaled)
            cur = rec["version"]
            vs = fleetmod.K8S_VERSIONS
            nxt = vs[min(vs.index(cur) + 1, len(vs) - 1)]
            rec["updates"].append({"id": str(uuid.UUID(h16("busy", account, region, name) * 2)),
                                   "type": "VersionUpdate",
                                   "params": [{"type": "Version", "value": nxt},
                                              {"type": "PlatformVersion", "value": "eks.1"}],
                                   "created_at": round(now, 3), "done_at": now + float(c["busy_seconds"]),
                                   "outcome": "Successful", "errors": [], "token": None, "applied": False,
                                   "changes": {"version": nxt, "platform_version": "eks.1"}})
        ngs = c.get("nodegroups", [])
        if isinstance(ngs, int):
            ngs = [{"name": "ng-%d" % (i + 1)} for i in range(ngs)]
        rec["nodegroups"] = [dict(n) for n in ngs]
        rec["addons"] = list(c.get("addons", []))
        rec["idps"] = [dict(i) for i in c.get("identity_providers", [])]
        rec["k8s"] = {"webhooks": c.get("webhooks", []), "apiservices": c.get("apiservices", []),
                      "k8s_builtin": c.get("k8s_builtin", True), "k8s_deny": c.get("k8s_deny", []),
                      "k8s_allow": c.get("k8s_allow", [])}
        return rec

    def _base_record(self, account, region, name, created, version, role_arn, subnet_ids, sg_ids, vpc_id,
                     mode, ip_family):
        hx = hexid(32, "endpoint", account, region, name, created)
        oidc = hexid(32, "oidc", account, region, name, created)
        return {
            "name": name, "account": account, "region": region,
            "arn": "arn:aws:eks:%s:%s:cluster/%s" % (region, account, name),
            "created_at": created, "version": version,
            "platform_version": "eks.%d" % (3 + int(hx[:2], 16) % 9),
            "role_arn": role_arn,
            "endpoint": "https://%s.gr7.%s.eks.amazonaws.com" % (hx, region),
            "oidc_id": oidc,
            "subnet_ids": subnet_ids, "sg_ids": sg_ids,
            "cluster_sg": rid("sg", account, region, "cluster", name, created),
            "vpc_id": vpc_id, "endpoint_public": True, "endpoint_private": False,
            "public_cidrs": ["0.0.0.0/0"], "mode": mode, "omit_mode": False, "ip_family": ip_family,
            "logging": [], "status_base": "ACTIVE", "ready_at": created, "delete_at": None,
            "updates": [], "create_token": None, "tags": {}, "nodegroups": [], "addons": [], "idps": [],
            "deletion_protection": False, "egress_update_fails": False, "defects": [], "expect_fail": [],
            "network": None, "source": "api", "extra_config": {}, "extra_sg_attached": False,
        }

    def _index(self, rec):
        key = (rec["account"], rec["region"], rec["name"])
        self.clusters[key] = rec
        lst = self.names.setdefault((rec["account"], rec["region"]), [])
        i = bisect.bisect_left(lst, rec["name"])
        if i >= len(lst) or lst[i] != rec["name"]:
            lst.insert(i, rec["name"])
        if rec.get("create_token"):
            self.create_tokens[(rec["account"], rec["region"], rec["create_token"])] = rec["name"]
        if rec.get("delete_at") is not None:
            self.deleting.add(key)

    def _unindex(self, rec):
        key = (rec["account"], rec["region"], rec["name"])
        self.clusters.pop(key, None)
        lst = self.names.get((rec["account"], rec["region"]), [])
        i = bisect.bisect_left(lst, rec["name"])
        if i < len(lst) and lst[i] == rec["name"]:
            del lst[i]
        if rec.get("create_token"):
            self.create_tokens.pop((rec["account"], rec["region"], rec["create_token"]), None)
        self.deleting.discard(key)
        self.sim.ec2.remove_cluster(rec)

    # ------------------------------------------------------------ persistence

    def snapshot(self):
        """Records that differ from the fleet (mutated, created, deleted)."""
        out = {"clusters": [], "deleted": []}
        for rec in self.clusters.values():
            if rec.get("_dirty") or rec["source"] == "api":
                out["clusters"].append({k: v for k, v in rec.items() if not k.startswith("_")})
        out["deleted"] = [list(k) for k in sorted(self._deleted)]
        return out

    def restore(self, snap):
        self._deleted = set(tuple(x) for x in snap.get("deleted", []))
        for key in self._deleted:
            rec = self.clusters.get(key)
            if rec:
                self._unindex(rec)
        for rec in snap.get("clusters", []):
            old = self.clusters.get((rec["account"], rec["region"], rec["name"]))
            if old:
                self._unindex(old)
            rec["_dirty"] = True
            self._index(rec)

    def _touch(self, rec):
        rec["_dirty"] = True
        rec["_v"] = rec.get("_v", 0) + 1

    # ------------------------------------------------------------ state machine

    def _materialize(self, rec, now):
        for u in rec["updates"]:
            if not u["applied"] and u["done_at"] is not None and now >= u["done_at"]:
                u["applied"] = True
                rec["_v"] = rec.get("_v", 0) + 1
                if u["outcome"] == "Successful":
                    self._apply_changes(rec, u)

    def _apply_changes(self, rec, u):
        ch = u.get("changes", {})
        for k, v in ch.items():
            if k == "extra_config":
                rec["extra_config"].update(v)
            else:
                rec[k] = v
        if "subnet_ids" in ch or "sg_ids" in ch:
            self.sim.ec2.refresh_cluster(rec)

    def _status(self, rec, now):
        if rec["delete_at"] is not None:
            return "DELETING"
        if rec["ready_at"] is None or now < rec["ready_at"]:
            return "CREATING"
        for u in rec["updates"]:
            if u["done_at"] is None or now < u["done_at"]:
                return "UPDATING"
        return rec["status_base"]

    @staticmethod
    def _update_status(u, now):
        if u["done_at"] is None or now < u["done_at"]:
            return "InProgress"
        return u["outcome"]

    def _in_progress(self, rec, now):
        for u in rec["updates"]:
            if u["done_at"] is None or now < u["done_at"]:
                return u
        return None

    def purge(self, now):
        """Drop clusters whose deletion finished."""
        if not self.deleting:
            return
        for key in list(self.deleting):
            rec = self.clusters.get(key)
            if rec is None:
                self.deleting.discard(key)
            elif now >= rec["delete_at"]:
                self._unindex(rec)
                if rec["source"] == "fleet":
                    self._deleted.add(key)

    def get(self, account, region, name, now):
        rec = self.clusters.get((account, region, name))
        if rec is None:
            return None
        if rec["delete_at"] is not None and now >= rec["delete_at"]:
            self.purge(now)
            return None
        self._materialize(rec, now)
        return rec

    def _require(self, ctx, name):
        rec = self.get(ctx.account, ctx.region, name, ctx.state_now)
        if rec is None:
            raise _not_found(name)
        return rec

    def records(self, account=None, region=None):
        for (a, r, _n), rec in self.clusters.items():
            if (account is None or a == account) and (region is None or r == region):
                yield rec

    # ------------------------------------------------------------ rendering

    def describe(self, rec, now):
        status = self._status(rec, now)
        vpc = {"subnetIds": list(rec["subnet_ids"]), "securityGroupIds": list(rec["sg_ids"]),
               "clusterSecurityGroupId": rec["cluster_sg"], "vpcId": rec["vpc_id"],
               "endpointPublicAccess": rec["endpoint_public"], "endpointPrivateAccess": rec["endpoint_private"],
               "publicAccessCidrs": list(rec["public_cidrs"]) if rec["endpoint_public"] else []}
        if not rec["omit_mode"]:
            vpc["controlPlaneEgressMode"] = rec["mode"]
        if rec["ip_family"] == "ipv6":
            knc = {"serviceIpv6Cidr": "fd%s::/108" % h16("svc6", rec["arn"])[:2], "ipFamily": "ipv6",
                   "elasticLoadBalancing": {"enabled": False}}
        else:
            knc = {"serviceIpv4Cidr": "172.20.0.0/16", "ipFamily": "ipv4",
                   "elasticLoadBalancing": {"enabled": False}}
        enabled = [t for t in LOG_TYPES if t in rec["logging"]]
        disabled = [t for t in LOG_TYPES if t not in rec["logging"]]
        logging = []
        if enabled:
            logging.append({"types": enabled, "enabled": True})
        if disabled:
            logging.append({"types": disabled, "enabled": False})
        c = {"name": rec["name"], "arn": rec["arn"], "createdAt": rec["created_at"], "version": rec["version"]}
        k8s = self.sim.k8s
        if status != "CREATING":
            c["endpoint"] = k8s.endpoint(rec) if k8s is not None else rec["endpoint"]
        c["roleArn"] = rec["role_arn"]
        c["resourcesVpcConfig"] = vpc
        c["kubernetesNetworkConfig"] = knc
        c["logging"] = {"clusterLogging": logging}
        c["identity"] = {"oidc": {"issuer": "https://oidc.eks.%s.amazonaws.com/id/%s"
                                            % (rec["region"], rec["oidc_id"])}}
        c["status"] = status
        if status != "CREATING":
            ca = k8s.ca_data() if k8s is not None else None
            c["certificateAuthority"] = {"data": ca or base64.b64encode(
                ("-----BEGIN CERTIFICATE-----\nekssim %s\n-----END CERTIFICATE-----\n" % rec["arn"]).encode()).decode()}
        c["platformVersion"] = rec["platform_version"]
        c["tags"] = dict(rec["tags"])
        c["health"] = {"issues": []}
        c["accessConfig"] = {"authenticationMode": "API_AND_CONFIG_MAP"}
        c["upgradePolicy"] = {"supportType": "STANDARD"}
        c["deletionProtection"] = rec["deletion_protection"]
        if rec.get("create_token"):
            c["clientRequestToken"] = rec["create_token"]
        return c

    def render_update(self, u, now):
        out = {"id": u["id"], "status": self._update_status(u, now), "type": u["type"],
               "params": [dict(p) for p in u["params"]], "createdAt": u["created_at"], "errors": []}
        if out["status"] == "Failed":
            out["errors"] = [dict(e) for e in u.get("errors", [])]
        return out

    # ------------------------------------------------------------ dispatch

    def call(self, ctx):
        now = ctx.state_now
        self.purge(now)
        fn = getattr(self, "op_" + ctx.op)
        return fn(ctx)

    def _body(self, ctx):
        if not ctx.body:
            return {}
        try:
            obj = json.loads(ctx.body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise AwsError("SerializationException", "Unable to parse the request body as JSON", 400)
        if not isinstance(obj, dict):
            raise AwsError("SerializationException", "Request body must be a JSON object", 400)
        return obj

    def op_ListClusters(self, ctx):
        q = ctx.query
        n = _max_results(q)
        lst = self.names.get((ctx.account, ctx.region), [])
        start = 0
        tok = q.get("nextToken")
        if tok:
            after = _page_after(tok)
            if not isinstance(after, str):
                raise _ipe("The nextToken provided is invalid.")
            start = bisect.bisect_right(lst, after)
        page = lst[start:start + n]
        out = {"clusters": page}
        if start + n < len(lst):
            out["nextToken"] = _page_token(page[-1])
        return json_response(out)

    def op_DescribeCluster(self, ctx):
        rec = self._require(ctx, ctx.cluster)
        # the rendered body only changes with the status or a mutation: cache it
        key = (self._status(rec, ctx.state_now), rec.get("_v", 0))
        cached = rec.get("_json")
        if cached is None or cached[0] != key:
            body = json.dumps({"cluster": self.describe(rec, ctx.state_now)}, separators=(",", ":")).encode()
            cached = rec["_json"] = (key, body)
        return Response(200, [("Content-Type", "application/json")], cached[1])

    # -- create
    def op_CreateCluster(self, ctx):
        b = self._body(ctx)
        now = ctx.state_now
        name = b.get("name")
        if not isinstance(name, str) or not name:
            raise _ipe("Cluster name is required.")
        ctx.cluster = name
        if len(name) > 100 or not _NAME_RE.match(name):
            raise _ipe("The cluster name %s is invalid. Cluster names must start with an alphanumeric "
                       "character and contain only alphanumeric characters, hyphens and underscores "
                       "(1-100 characters)." % json.dumps(name), clusterName=name)
        role = b.get("roleArn")
        if not isinstance(role, str) or not _ROLE_RE.match(role):
            raise _ipe("Invalid roleArn: %s" % json.dumps(role), clusterName=name)
        vpc = b.get("resourcesVpcConfig")
        if not isinstance(vpc, dict):
            raise _ipe("resourcesVpcConfig is required.", clusterName=name)
        mode = vpc.get("controlPlaneEgressMode")
        # SCPs are evaluated before the service looks at the request
        self.sim.check_egress_scp(ctx, "eks:CreateCluster", mode if isinstance(mode, str) else None,
                                  "arn:aws:eks:%s:%s:cluster/%s" % (ctx.region, ctx.account, name))
        token = b.get("clientRequestToken")
        if token is not None and (not isinstance(token, str) or not token):
            raise _ipe("clientRequestToken must be a non-empty string", clusterName=name)
        if mode is not None and mode not in fleetmod.MODES:
            raise _ipe("1 validation error detected: Value '%s' at 'resourcesVpcConfig.controlPlaneEgressMode' "
                       "failed to satisfy constraint: Member must satisfy enum value set: "
                       "[AWS_MANAGED, CUSTOMER_ROUTED, CUSTOMER_ISOLATED]" % (mode,), clusterName=name)
        if token:
            prev = self.create_tokens.get((ctx.account, ctx.region, token))
            if prev is not None:
                if prev != name:
                    raise AwsError("InvalidRequestException", "The client request token %s was already used "
                                   "for a different request." % token, 400, {"clusterName": name})
                rec = self.get(ctx.account, ctx.region, name, now)
                if rec is not None:
                    ctx.mutation = {"accepted": True, "replay": True, "token": token}
                    return json_response({"cluster": self.describe(rec, now)})
        if (ctx.account, ctx.region, name) in self.clusters and self.get(ctx.account, ctx.region, name, now):
            raise AwsError("ResourceInUseException", "Cluster already exists with name: %s" % name, 409,
                           {"clusterName": name})
        version = b.get("version", fleetmod.DEFAULT_K8S_VERSION)
        if version not in fleetmod.K8S_VERSIONS:
            raise _ipe("unsupported Kubernetes version %s" % json.dumps(version), clusterName=name)
        subnets = vpc.get("subnetIds")
        if not isinstance(subnets, list) or not all(isinstance(s, str) for s in subnets):
            raise _ipe("subnetIds must be a list of subnet ids.", clusterName=name)
        sgs = vpc.get("securityGroupIds", [])
        if not isinstance(sgs, list) or not all(isinstance(s, str) for s in sgs):
            raise _ipe("securityGroupIds must be a list of security group ids.", clusterName=name)
        kn = b.get("kubernetesNetworkConfig") or {}
        ip_family = kn.get("ipFamily", "ipv4") if isinstance(kn, dict) else "ipv4"
        if ip_family not in ("ipv4", "ipv6"):
            raise _ipe("ipFamily must be ipv4 or ipv6", clusterName=name)
        store = self.sim.ec2.store(ctx.account, ctx.region)
        vpc_id, network = self._validate_subnets(ctx, name, store, subnets, ip_family)
        if len(sgs) > 5:
            raise _ipe("A maximum of 5 security groups can be specified.", clusterName=name)
        for g in sgs:
            sg = store.security_groups.get(g)
            if sg is None:
                raise _ipe("The security group '%s' does not exist" % g, clusterName=name)
            if sg["vpcId"] != vpc_id:
                raise _ipe("Security group(s) [%s] are not in the same VPC as the subnets. Please check "
                           "them and try again." % g, clusterName=name)
        created = round(now, 3)
        rec = self._base_record(ctx.account, ctx.region, name, created, version, role, list(subnets), list(sgs),
                                vpc_id, mode or "AWS_MANAGED", ip_family)
        rec["ready_at"] = created + self.sim.duration("cluster_create")
        rec["create_token"] = token
        rec["network"] = network
        if isinstance(b.get("tags"), dict):
            rec["tags"] = {str(k): str(v) for k, v in b["tags"].items()}
        ep = vpc.get("endpointPublicAccess")
        if isinstance(ep, bool):
            rec["endpoint_public"] = ep
        epr = vpc.get("endpointPrivateAccess")
        if isinstance(epr, bool):
            rec["endpoint_private"] = epr
        if isinstance(vpc.get("publicAccessCidrs"), list):
            rec["public_cidrs"] = [str(x) for x in vpc["publicAccessCidrs"]]
        lg = b.get("logging")
        if isinstance(lg, dict):
            rec["logging"] = self._logging_types(lg, [])
        if isinstance(b.get("deletionProtection"), bool):
            rec["deletion_protection"] = b["deletionProtection"]
        netspec = self.sim.fleet.networks.get((ctx.account, ctx.region, network))
        if netspec is not None and netspec.get("ec2"):
            rec["expect_fail"] = None        # an explicit network: nothing stated for a new cluster
        elif netspec is not None:
            fails = set(fleetmod.ground_truth(netspec, {"ip_family": ip_family}))
            if not self.sim.fleet.iam.allows_describe(role):
                fails.add("iam_role_describe")
            rec["expect_fail"] = sorted(fails)
        rec["_dirty"] = True
        self._deleted.discard((ctx.account, ctx.region, name))
        self._index(rec)
        self.sim.ec2.add_cluster(rec)
        ctx.mutation = {"accepted": True, "replay": False, "token": token, "mode": rec["mode"]}
        return json_response({"cluster": self.describe(rec, now)})

    def _validate_subnets(self, ctx, name, store, subnets, ip_family):
        if len(subnets) < 2:
            raise _ipe("Subnets specified must be in at least two different AZs", clusterName=name)
        vpcs = set()
        zones = []
        network = None
        for s in subnets:
            sub = store.subnets.get(s)
            if sub is None:
                raise _ipe("The subnet ID '%s' does not exist (Service: AmazonEC2; Status Code: 400; Error Code: "
                           "InvalidSubnetID.NotFound; Request ID: %s)" % (s, ctx.request_id), clusterName=name)
            vpcs.add(sub["vpcId"])
            network = network or sub.get("_network")
            zones.append((sub["availabilityZone"], sub["availabilityZoneId"]))
            if sub["availableIpAddressCount"] < 6:
                raise _ipe("Provided subnet %s does not have enough free IP addresses: %d available, at least 6 "
                           "are required." % (s, sub["availableIpAddressCount"]), clusterName=name)
            if ip_family == "ipv6" and not sub["ipv6CidrBlockAssociationSet"]:
                raise _ipe("Subnet %s does not have an IPv6 CIDR block; ipFamily ipv6 requires IPv6 subnets." % s,
                           clusterName=name)
        if len(vpcs) > 1:
            raise _ipe("Subnets specified must belong to the same VPC.", clusterName=name)
        for z, zid in zones:
            if zid in regions.EKS_UNSUPPORTED_AZ_IDS:
                valid = [zz for zz, _ in regions.eks_azs(ctx.region)]
                raise AwsError("UnsupportedAvailabilityZoneException",
                               "Cannot create cluster '%s' because %s, the targeted availability zone, does not "
                               "currently have sufficient capacity to support the cluster. Retry and choose from "
                               "these availability zones: %s" % (name, z, ", ".join(valid)), 400,
                               {"clusterName": name, "validZones": valid})
        if len(set(zones)) < 2:
            raise _ipe("Subnets specified must be in at least two different AZs", clusterName=name)
        return vpcs.pop(), network

    # -- delete
    def op_DeleteCluster(self, ctx):
        now = ctx.state_now
        rec = self._require(ctx, ctx.cluster)
        st = self._status(rec, now)
        if st == "DELETING":
            raise AwsError("ResourceInUseException", "Cluster %s is already being deleted." % rec["name"], 409,
                           {"clusterName": rec["name"]})
        if rec["deletion_protection"]:
            raise AwsError("InvalidRequestException", "Cannot delete cluster %s because deletion protection is "
                           "enabled." % rec["name"], 400, {"clusterName": rec["name"]})
        if rec["nodegroups"]:
            raise AwsError("ResourceInUseException", "Cluster has nodegroups attached", 409,
                           {"clusterName": rec["name"]})
        rec["delete_at"] = now + self.sim.duration("cluster_delete")
        self.deleting.add((rec["account"], rec["region"], rec["name"]))
        self._touch(rec)
        ctx.mutation = {"accepted": True, "replay": False}
        return json_response({"cluster": self.describe(rec, now)})

    # -- updates
    def _logging_types(self, lg, current):
        cl = lg.get("clusterLogging")
        if not isinstance(cl, list):
            raise _ipe("logging.clusterLogging must be a list")
        enabled = set(current)
        for item in cl:
            if not isinstance(item, dict) or not isinstance(item.get("types"), list):
                raise _ipe("logging.clusterLogging entries need types")
            for t in item["types"]:
                if t not in LOG_TYPES:
                    raise _ipe("1 validation error detected: Value '%s' at 'logging.clusterLogging.types' failed "
                               "to satisfy constraint: Member must satisfy enum value set: [%s]"
                               % (t, ", ".join(LOG_TYPES)))
                if item.get("enabled"):
                    enabled.add(t)
                else:
                    enabled.discard(t)
        return [t for t in LOG_TYPES if t in enabled]

    def _new_update(self, ctx, rec, utype, params, changes, token, duration_key, outcome="Successful", errors=None):
        now = ctx.state_now
        u = {"id": str(uuid.uuid4()), "type": utype, "params": params, "created_at": round(now, 3),
             "done_at": now + self.sim.duration(duration_key), "outcome": outcome, "errors": errors or [],
             "token": token, "applied": False, "changes": changes}
        rec["updates"].append(u)
        self._touch(rec)
        self._materialize(rec, now)
        return u

    def _replay(self, ctx, rec, token, utype, params):
        if not token:
            return None
        for u in rec["updates"]:
            if u.get("token") == token:
                if u["type"] != utype or u["params"] != params:
                    raise AwsError("InvalidRequestException", "The client request token %s was already used with "
                                   "different request parameters." % token, 400, {"clusterName": rec["name"]})
                ctx.mutation = {"accepted": True, "replay": True, "update_id": u["id"], "update_type": utype,
                                "token": token}
                return json_response({"update": self.render_update(u, ctx.state_now)})
        return None

    def _check_busy(self, ctx, rec, utype):
        now = ctx.state_now
        st = self._status(rec, now)
        if st in ("CREATING", "DELETING"):
            raise AwsError("ResourceInUseException", "Cannot %s because cluster %s is in %s state."
                           % (utype, rec["name"], st), 409, {"clusterName": rec["name"]})
        if st == "FAILED":
            raise AwsError("InvalidRequestException", "Cannot %s because cluster %s is in FAILED state."
                           % (utype, rec["name"]), 400, {"clusterName": rec["name"]})
        busy = self._in_progress(rec, now)
        if busy is not None:
            raise AwsError("ResourceInUseException", "Cannot %s because cluster %s currently has update %s in "
                           "progress" % (utype, rec["name"], busy["id"]), 409, {"clusterName": rec["name"]})

    def op_UpdateClusterConfig(self, ctx):
        b = self._body(ctx)
        vpc_req = b.get("resourcesVpcConfig")
        key = vpc_req.get("controlPlaneEgressMode") if isinstance(vpc_req, dict) else None
        self.sim.check_egress_scp(ctx, "eks:UpdateClusterConfig", key if isinstance(key, str) else None,
                                  "arn:aws:eks:%s:%s:cluster/%s" % (ctx.region, ctx.account, ctx.cluster))
        rec = self._require(ctx, ctx.cluster)
        name = rec["name"]
        token = b.get("clientRequestToken")
        if token is not None and (not isinstance(token, str) or not token):
            raise _ipe("clientRequestToken must be a non-empty string", clusterName=name)
        types = {}
        for k, v in b.items():
            if v is None or k in ("clientRequestToken", "name"):
                continue
            if k == "resourcesVpcConfig":
                if not isinstance(v, dict):
                    raise _ipe("resourcesVpcConfig must be an object", clusterName=name)
                for vk, vv in v.items():
                    if vv is None:
                        continue
                    t = _VPC_TYPES.get(vk)
                    if t is None:
                        continue
                    types.setdefault(t, {})[vk] = vv
            elif k in _TOP_TYPES:
                types.setdefault(_TOP_TYPES[k], {})[k] = v
        if not types:
            raise _ipe("No changes were specified. Specify at least one of resourcesVpcConfig, logging, "
                       "accessConfig, upgradePolicy, zonalShiftConfig, computeConfig, kubernetesNetworkConfig, "
                       "storageConfig, remoteNetworkConfig, deletionProtection or controlPlaneScalingConfig.",
                       clusterName=name)
        if len(types) > 1:
            raise _ipe("Only one type of update can be allowed.", clusterName=name)
        utype, fields = next(iter(types.items()))
        ctx.mutation_type = utype
        handler = {"ControlPlaneEgressUpdate": self._upd_egress, "EndpointAccessUpdate": self._upd_endpoint,
                   "LoggingUpdate": self._upd_logging, "VpcConfigUpdate": self._upd_vpc,
                   "DeletionProtectionUpdate": self._upd_deletion}.get(utype, self._upd_generic)
        return handler(ctx, rec, utype, fields, token)

    def _upd_egress(self, ctx, rec, utype, fields, token):
        name = rec["name"]
        mode = fields["controlPlaneEgressMode"]
        if not isinstance(mode, str) or mode not in fleetmod.MODES:
            raise _ipe("1 validation error detected: Value '%s' at 'resourcesVpcConfig.controlPlaneEgressMode' "
                       "failed to satisfy constraint: Member must satisfy enum value set: "
                       "[AWS_MANAGED, CUSTOMER_ROUTED, CUSTOMER_ISOLATED]" % (mode,), clusterName=name)
        params = [{"type": "ControlPlaneEgressMode", "value": mode}]
        r = self._replay(ctx, rec, token, utype, params)
        if r is not None:
            return r
        self._check_busy(ctx, rec, utype)
        cur = rec["mode"]
        if cur == mode:
            raise _ipe("Cluster is already at the desired configuration with controlPlaneEgressMode: %s" % mode,
                       clusterName=name)
        allowed = (cur == "AWS_MANAGED" and mode == "CUSTOMER_ROUTED")
        if cur == "AWS_MANAGED" and mode == "CUSTOMER_ISOLATED" and \
                self.sim.fleet.behavior.get("allow_customer_isolated_update"):
            allowed = True
        if not allowed:
            raise _ipe("Updating ControlPlaneEgressMode from %s to %s is not supported." % (cur, mode),
                       clusterName=name)
        outcome, errors = "Successful", []
        fail = rec.get("egress_update_fails")
        if not fail and self.sim.fleet.behavior.get("fail_egress_update_on_defects"):
            fail = any(c not in ("cluster_status", "update_in_progress") for c in rec.get("expect_fail") or [])
        if fail:
            outcome = "Failed"
            errors = [{"errorCode": "ClusterUnreachable",
                       "errorMessage": "The control plane could not reach required endpoints through the "
                                       "cluster subnets.", "resourceIds": list(rec["subnet_ids"])}]
        u = self._new_update(ctx, rec, utype, params, {"mode": mode}, token, "egress_update", outcome, errors)
        ctx.mutation = {"accepted": True, "replay": False, "update_id": u["id"], "update_type": utype,
                        "token": token, "mode": mode}
        return json_response({"update": self.render_update(u, ctx.state_now)})

    def _upd_endpoint(self, ctx, rec, utype, fields, token):
        name = rec["name"]
        pub = fields.get("endpointPublicAccess", rec["endpoint_public"])
        priv = fields.get("endpointPrivateAccess", rec["endpoint_private"])
        cidrs = fields.get("publicAccessCidrs", rec["public_cidrs"])
        if not isinstance(pub, bool) or not isinstance(priv, bool):
            raise _ipe("endpointPublicAccess and endpointPrivateAccess must be booleans", clusterName=name)
        if not isinstance(cidrs, list) or not all(isinstance(c, str) for c in cidrs):
            raise _ipe("publicAccessCidrs must be a list of CIDR blocks", clusterName=name)
        params = []
        if "endpointPublicAccess" in fields:
            params.append({"type": "EndpointPublicAccess", "value": "true" if pub else "false"})
        if "endpointPrivateAccess" in fields:
            params.append({"type": "EndpointPrivateAccess", "value": "true" if priv else "false"})
        if "publicAccessCidrs" in fields:
            params.append({"type": "PublicAccessCidrs", "value": json.dumps(cidrs)})
        r = self._replay(ctx, rec, token, utype, params)
        if r is not None:
            return r
        self._check_busy(ctx, rec, utype)
        if not pub and not priv:
            raise _ipe("Cluster must have either public or private API server endpoint access enabled.",
                       clusterName=name)
        if pub == rec["endpoint_public"] and priv == rec["endpoint_private"] and cidrs == rec["public_cidrs"]:
            raise _ipe("Cluster is already at the desired configuration with endpointPrivateAccess: %s , "
                       "endpointPublicAccess: %s, and Public Endpoint Restrictions: [%s]"
                       % (str(priv).lower(), str(pub).lower(), ", ".join(cidrs)), clusterName=name)
        u = self._new_update(ctx, rec, utype, params, {"endpoint_public": pub, "endpoint_private": priv,
                                                       "public_cidrs": list(cidrs)}, token, "cluster_update")
        ctx.mutation = {"accepted": True, "replay": False, "update_id": u["id"], "update_type": utype,
                        "token": token}
        return json_response({"update": self.render_update(u, ctx.state_now)})

    def _upd_logging(self, ctx, rec, utype, fields, token):
        lg = fields["logging"]
        if not isinstance(lg, dict):
            raise _ipe("logging must be an object", clusterName=rec["name"])
        new = self._logging_types(lg, rec["logging"])
        params = [{"type": "ClusterLogging", "value": json.dumps(lg, sort_keys=True)}]
        r = self._replay(ctx, rec, token, utype, params)
        if r is not None:
            return r
        self._check_busy(ctx, rec, utype)
        if new == rec["logging"]:
            raise _ipe("The type for cluster update was not provided or the cluster is already at the desired "
                       "logging configuration.", clusterName=rec["name"])
        u = self._new_update(ctx, rec, utype, params, {"logging": new}, token, "cluster_update")
        ctx.mutation = {"accepted": True, "replay": False, "update_id": u["id"], "update_type": utype,
                        "token": token}
        return json_response({"update": self.render_update(u, ctx.state_now)})

    def _upd_vpc(self, ctx, rec, utype, fields, token):
        name = rec["name"]
        subnets = fields.get("subnetIds", rec["subnet_ids"])
        sgs = fields.get("securityGroupIds", rec["sg_ids"])
        if not isinstance(subnets, list) or not isinstance(sgs, list):
            raise _ipe("subnetIds and securityGroupIds must be lists", clusterName=name)
        params = []
        if "subnetIds" in fields:
            params.append({"type": "Subnets", "value": json.dumps(subnets)})
        if "securityGroupIds" in fields:
            params.append({"type": "SecurityGroups", "value": json.dumps(sgs)})
        r = self._replay(ctx, rec, token, utype, params)
        if r is not None:
            return r
        self._check_busy(ctx, rec, utype)
        store = self.sim.ec2.store(ctx.account, ctx.region)
        if "subnetIds" in fields:
            vpc_id, _ = self._validate_subnets(ctx, name, store, subnets, rec["ip_family"])
            if vpc_id != rec["vpc_id"]:
                raise _ipe("Subnets specified must belong to the same VPC as the cluster.", clusterName=name)
        for g in sgs:
            sg = store.security_groups.get(g)
            if sg is None or sg["vpcId"] != rec["vpc_id"]:
                raise _ipe("The security group '%s' does not exist" % g, clusterName=name)
        if subnets == rec["subnet_ids"] and sgs == rec["sg_ids"]:
            raise _ipe("Cluster is already at the desired configuration with subnets and security groups.",
                       clusterName=name)
        u = self._new_update(ctx, rec, utype, params, {"subnet_ids": list(subnets), "sg_ids": list(sgs)}, token,
                             "cluster_update")
        ctx.mutation = {"accepted": True, "replay": False, "update_id": u["id"], "update_type": utype,
                        "token": token}
        return json_response({"update": self.render_update(u, ctx.state_now)})

    def _upd_deletion(self, ctx, rec, utype, fields, token):
        v = fields["deletionProtection"]
        if not isinstance(v, bool):
            raise _ipe("deletionProtection must be a boolean", clusterName=rec["name"])
        params = [{"type": "DeletionProtection", "value": "true" if v else "false"}]
        r = self._replay(ctx, rec, token, utype, params)
        if r is not None:
            return r
        self._check_busy(ctx, rec, utype)
        if v == rec["deletion_protection"]:
            raise _ipe("Cluster is already at the desired configuration with deletionProtection: %s"
                       % str(v).lower(), clusterName=rec["name"])
        u = self._new_update(ctx, rec, utype, params, {"deletion_protection": v}, token, "cluster_update")
        ctx.mutation = {"accepted": True, "replay": False, "update_id": u["id"], "update_type": utype,
                        "token": token}
        return json_response({"update": self.render_update(u, ctx.state_now)})

    def _upd_generic(self, ctx, rec, utype, fields, token):
        params = [{"type": utype.replace("Update", ""), "value": json.dumps(fields, sort_keys=True)}]
        r = self._replay(ctx, rec, token, utype, params)
        if r is not None:
            return r
        self._check_busy(ctx, rec, utype)
        if all(rec["extra_config"].get(k) == v for k, v in fields.items()):
            raise _ipe("Cluster is already at the desired configuration.", clusterName=rec["name"])
        u = self._new_update(ctx, rec, utype, params, {"extra_config": dict(fields)}, token, "cluster_update")
        ctx.mutation = {"accepted": True, "replay": False, "update_id": u["id"], "update_type": utype,
                        "token": token}
        return json_response({"update": self.render_update(u, ctx.state_now)})

    def op_UpdateClusterVersion(self, ctx):
        b = self._body(ctx)
        rec = self._require(ctx, ctx.cluster)
        name = rec["name"]
        version = b.get("version")
        token = b.get("clientRequestToken")
        ctx.mutation_type = "VersionUpdate"
        if not isinstance(version, str):
            raise _ipe("version is required", clusterName=name)
        params = [{"type": "Version", "value": version}, {"type": "PlatformVersion", "value": "eks.1"}]
        r = self._replay(ctx, rec, token, "VersionUpdate", params)
        if r is not None:
            return r
        self._check_busy(ctx, rec, "VersionUpdate")
        if version == rec["version"]:
            raise _ipe("Cluster is already at the desired version %s" % version, clusterName=name)
        vs = fleetmod.K8S_VERSIONS
        if version not in vs or vs.index(version) != vs.index(rec["version"]) + 1:
            raise _ipe("Unsupported Kubernetes minor version update from %s to %s" % (rec["version"], version),
                       clusterName=name)
        u = self._new_update(ctx, rec, "VersionUpdate", params, {"version": version, "platform_version": "eks.1"},
                             token, "version_update")
        ctx.mutation = {"accepted": True, "replay": False, "update_id": u["id"], "update_type": "VersionUpdate",
                        "token": token}
        return json_response({"update": self.render_update(u, ctx.state_now)})

    def op_DescribeUpdate(self, ctx):
        rec = self._require(ctx, ctx.cluster)
        for opt in ("nodegroupName", "addonName", "capabilityName"):
            if ctx.query.get(opt):
                raise AwsError("ResourceNotFoundException", "No update found for ID: %s" % ctx.sub, 404,
                               {"clusterName": rec["name"]})
        for u in rec["updates"]:
            if u["id"] == ctx.sub:
                return json_response({"update": self.render_update(u, ctx.state_now)})
        raise AwsError("ResourceNotFoundException", "No update found for ID: %s" % ctx.sub, 404,
                       {"clusterName": rec["name"]})

    def op_ListUpdates(self, ctx):
        rec = self._require(ctx, ctx.cluster)
        ids = [u["id"] for u in rec["updates"]]
        if ctx.query.get("nodegroupName") or ctx.query.get("addonName") or ctx.query.get("capabilityName"):
            ids = []
        page, nxt = _paginate_list(ids, ctx.query)
        out = {"updateIds": page}
        if nxt:
            out["nextToken"] = nxt
        return json_response(out)

    # -- node groups, add-ons, identity providers
    def op_ListNodegroups(self, ctx):
        rec = self._require(ctx, ctx.cluster)
        page, nxt = _paginate_list([n["name"] for n in rec["nodegroups"]], ctx.query)
        out = {"nodegroups": page}
        if nxt:
            out["nextToken"] = nxt
        return json_response(out)

    def op_DescribeNodegroup(self, ctx):
        rec = self._require(ctx, ctx.cluster)
        for n in rec["nodegroups"]:
            if n["name"] == ctx.sub:
                return json_response({"nodegroup": self._nodegroup(rec, n)})
        raise AwsError("ResourceNotFoundException", "No node group found for name: %s." % ctx.sub, 404,
                       {"clusterName": rec["name"], "nodegroupName": ctx.sub})

    def _nodegroup(self, rec, n):
        uid = str(uuid.UUID(h16("ng", rec["arn"], n["name"]) * 2))
        return {
            "nodegroupName": n["name"],
            "nodegroupArn": "arn:aws:eks:%s:%s:nodegroup/%s/%s/%s" % (rec["region"], rec["account"], rec["name"],
                                                                    n["name"], uid),
            "clusterName": rec["name"], "version": rec["version"],
            "releaseVersion": "%s.0-20250101" % rec["version"], "createdAt": rec["created_at"],
            "modifiedAt": rec["created_at"], "status": n.get("status", "ACTIVE"),
            "capacityType": n.get("capacity_type", "ON_DEMAND"),
            "scalingConfig": {"minSize": n.get("min", 1), "maxSize": n.get("max", 3),
                              "desiredSize": n.get("desired", 2)},
            "instanceTypes": n.get("instance_types", ["m5.large"]), "subnets": list(rec["subnet_ids"]),
            "amiType": n.get("ami_type", "AL2023_x86_64_STANDARD"),
            "nodeRole": "arn:aws:iam::%s:role/eksNodeRole" % rec["account"], "labels": {}, "diskSize": 20,
            "resources": {"autoScalingGroups": [{"name": "eks-%s-%s" % (n["name"], uid)}]},
            "health": {"issues": []}, "updateConfig": {"maxUnavailable": 1}, "tags": {}}

    def op_ListAddons(self, ctx):
        rec = self._require(ctx, ctx.cluster)
        page, nxt = _paginate_list(list(rec["addons"]), ctx.query)
        out = {"addons": page}
        if nxt:
            out["nextToken"] = nxt
        return json_response(out)

    def op_ListIdentityProviderConfigs(self, ctx):
        rec = self._require(ctx, ctx.cluster)
        items = [{"type": "oidc", "name": i["name"]} for i in rec["idps"]]
        page, nxt = _paginate_list(items, ctx.query)
        out = {"identityProviderConfigs": page}
        if nxt:
            out["nextToken"] = nxt
        return json_response(out)

    def op_DescribeIdentityProviderConfig(self, ctx):
        rec = self._require(ctx, ctx.cluster)
        b = self._body(ctx)
        ipc = b.get("identityProviderConfig")
        if not isinstance(ipc, dict) or not isinstance(ipc.get("name"), str) or not isinstance(ipc.get("type"), str):
            raise _ipe("identityProviderConfig with type and name is required", clusterName=rec["name"])
        if ipc["type"] != "oidc":
            raise _ipe("The type %s is not supported; the only supported type is oidc." % ipc["type"],
                       clusterName=rec["name"])
        for i in rec["idps"]:
            if i["name"] == ipc["name"]:
                return json_response({"identityProviderConfig": {"oidc": {
                    "identityProviderConfigName": i["name"],
                    "identityProviderConfigArn": "arn:aws:eks:%s:%s:identityproviderconfig/%s/oidc/%s/%s"
                    % (rec["region"], rec["account"], rec["name"], i["name"],
                       str(uuid.UUID(h16("idp", rec["arn"], i["name"]) * 2))),
                    "clusterName": rec["name"], "issuerUrl": i.get("issuer_url", "https://idp.example.com"),
                    "clientId": i.get("client_id", "kubernetes"), "usernameClaim": i.get("username_claim", "email"),
                    "usernamePrefix": i.get("username_prefix", "oidc:"), "groupsClaim": i.get("groups_claim", "groups"),
                    "groupsPrefix": i.get("groups_prefix", "oidc:"), "requiredClaims": {}, "tags": {},
                    "status": i.get("status", "ACTIVE")}}})
        raise AwsError("ResourceNotFoundException", "No identity provider config found for name: %s" % ipc["name"],
                       404, {"clusterName": rec["name"]})

    # ------------------------------------------------------------ admin view

    def state_view(self, now, account=None, region=None, name=None):
        out = []
        for key in sorted(self.clusters):
            a, r, n = key
            if (account and a != account) or (region and r != region) or (name and n != name):
                continue
            rec = self.get(a, r, n, now)
            if rec is None:
                continue
            status = self._status(rec, now)
            out.append({"account": a, "region": r, "name": n, "status": status,
                        "mode": rec["mode"], "omit_mode": rec["omit_mode"], "version": rec["version"],
                        "network": rec["network"], "vpc_id": rec["vpc_id"], "subnet_ids": rec["subnet_ids"],
                        "role_arn": rec["role_arn"], "defects": rec.get("defects", []),
                        "expect_fail": self.expect_fail_now(rec, status, now),
                        "updates": [self.render_update(u, now) for u in rec["updates"]]})
        return out

    def expect_fail_now(self, rec, status, now):
        """The ground truth at this moment: a cluster that is not ACTIVE (an update in flight,
        creating, deleting) also fails cluster_status, and update_in_progress while an update runs.
        None: an explicit network whose fleet states no ground truth."""
        ef = rec.get("expect_fail")
        if ef is None:
            return None
        fails = set(ef)
        if status != "ACTIVE":
            fails.add("cluster_status")
        if self._in_progress(rec, now) is not None:
            fails.add("update_in_progress")
        return sorted(fails)

    def advance_all(self, now):
        """Finish every timed transition at 'now' (admin helper)."""
        for rec in self.clusters.values():
            if rec["ready_at"] is not None and rec["ready_at"] > now:
                rec["ready_at"] = now
                self._touch(rec)
            for u in rec["updates"]:
                if u["done_at"] is not None and u["done_at"] > now:
                    u["done_at"] = now
                    self._touch(rec)
            if rec["delete_at"] is not None and rec["delete_at"] > now:
                rec["delete_at"] = now
                self._touch(rec)
