"""The IAM side of a fleet: roles, users, managed and inline policies, per account.

Built once from the fleet spec (README.md, "IAM").  What IAM reads return and what
SimulatePrincipalPolicy evaluates come from here; the simulator's own
authorization of requests still uses deny_actions and SCPs.

* A declared role or user with ``policies`` (attached managed policies: AWS managed
  names such as ``AmazonEKSClusterPolicy``, names of the account's
  ``managed_policies``, or full ARNs) and/or ``inline_policies`` ({name: document})
  has exactly those.  Without either key it gets one inline policy
  ``ekssim-access`` that mirrors what the simulator lets it do: Allow ``*``, and
  Deny its ``deny_actions``.
* Every role a fleet cluster names (``role_arn``, default ``eksClusterRole``) exists;
  one not declared is an EKS cluster role: trusted by eks.amazonaws.com, with
  AmazonEKSClusterPolicy attached.
* The cluster defect ``role_no_describe`` gives the cluster its own role
  ``eksClusterRole-<cluster>`` that may not call ec2:DescribeVpcs /
  ec2:DescribeDhcpOptions: either a customer managed copy of AmazonEKSClusterPolicy
  without them (implicit deny) or AmazonEKSClusterPolicy plus an inline Deny.
"""

import json

from . import awspolicies, iampolicy
from .ids import h16, hexid

DESCRIBE_ACTIONS = ("ec2:DescribeVpcs", "ec2:DescribeDhcpOptions")
CREATED = "2024-01-15T10:00:00Z"


class DirectoryError(ValueError):
    pass


def role_arn(account, name, path="/"):
    return "arn:aws:iam::%s:role%s%s" % (account, path, name)


def default_cluster_role(account):
    return role_arn(account, "eksClusterRole")


def restricted_role_name(cluster_name):
    return ("eksClusterRole-" + cluster_name)[:64]


def cluster_role_arn(account, cluster):
    """The role ARN a fleet cluster runs with."""
    if "role_no_describe" in cluster.get("defects", []):
        return role_arn(account, restricted_role_name(cluster["name"]))
    return cluster.get("role_arn") or default_cluster_role(account)


def parse_arn(arn):
    """(account, kind, path, name) of an IAM role/user/policy ARN, or None."""
    if not isinstance(arn, str) or not arn.startswith("arn:aws:iam::"):
        return None
    rest = arn[len("arn:aws:iam::"):]
    acct, _, res = rest.partition(":")
    kind, _, pn = res.partition("/")
    if kind not in ("role", "user", "policy") or not pn:
        return None
    path, _, name = ("/" + pn).rpartition("/")
    return acct, kind, path + "/", name


def _trust_document(account, r):
    if r.get("trust_policy") is not None:
        return r["trust_policy"]
    stmts = []
    aws, services = [], []
    for t in r.get("trust", []):
        if t.startswith("oidc:"):
            stmts.append({"Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
                          "Principal": {"Federated": "arn:aws:iam::%s:oidc-provider/%s" % (account, t[5:])}})
        elif t.isdigit():
            aws.append("arn:aws:iam::%s:root" % t)
        elif t.endswith(".amazonaws.com"):
            services.append(t)
        else:
            aws.append(t)
    if aws or services:
        p = {}
        if aws:
            p["AWS"] = aws[0] if len(aws) == 1 else aws
        if services:
            p["Service"] = services[0] if len(services) == 1 else services
        st = {"Effect": "Allow", "Principal": p, "Action": "sts:AssumeRole"}
        if r.get("external_id"):
            st["Condition"] = {"StringEquals": {"sts:ExternalId": r["external_id"]}}
        stmts.insert(0, st)
    if not stmts:
        # a role nobody may assume (the fleet gives it no trust)
        stmts = [{"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]
    return {"Version": "2012-10-17", "Statement": stmts}


def _access_inline(deny):
    stmts = [{"Effect": "Allow", "Action": "*", "Resource": "*"}]
    if deny:
        stmts.append({"Effect": "Deny", "Action": list(deny), "Resource": "*"})
    return {"ekssim-access": {"Version": "2012-10-17", "Statement": stmts}}


class ManagedPolicy(object):
    def __init__(self, arn, name, path, document, description, created, updated, version="v1", aws=False):
        self.arn = arn
        self.name = name
        self.path = path
        self.document = document
        self.description = description
        self.created = created
        self.updated = updated
        self.version = version
        self.aws = aws
        self.policy_id = "ANPA" + hexid(17, "policyid", arn)
        self.attachments = 0
        self.parsed = iampolicy.parse(document, "policy %s" % arn)
        self.parsed.source_id = name
        self.parsed.source_type = "aws-managed" if aws else "user-managed"


class Principal(object):
    """A role or user as IAM sees it."""

    def __init__(self, kind, account, name, path="/"):
        self.kind = kind
        self.account = account
        self.name = name
        self.path = path
        self.arn = "arn:aws:iam::%s:%s%s%s" % (account, kind, path, name)
        self.unique_id = ("AROA" if kind == "role" else "AIDA") + hexid(17, kind + "id", self.arn)
        self.attached = []          # policy ARNs
        self.inline = {}            # name -> document
        self.parsed_inline = {}
        self.trust = None
        self.max_session = 3600
        self.description = None
        self.tags = []


class Directory(object):
    def __init__(self, spec):
        self.managed = {}          # arn -> ManagedPolicy
        self.principals = {}       # arn -> Principal
        self.by_name = {}          # (account, kind, name) -> Principal
        for name, (path, ver, desc, doc, created, updated) in awspolicies.AWS_MANAGED.items():
            arn = "arn:aws:iam::aws:policy%s%s" % (path, name)
            self.managed[arn] = ManagedPolicy(arn, name, path, doc, desc, created, updated, ver, aws=True)
        accounts = spec.get("accounts", [])
        for a in accounts:
            for mp in a.get("managed_policies", []):
                self._add_managed(a["id"], mp)
        for a in accounts:
            aid = a["id"]
            for r in a.get("roles", []):
                self._add_principal(aid, "role", r)
            for u in a.get("users", []):
                self._add_principal(aid, "user", u)
        ids = set(a["id"] for a in accounts)
        for a in accounts:
            for c in a.get("clusters", []):
                self._add_cluster_role(a["id"], c, ids)
        for p in self.principals.values():
            for arn in p.attached:
                self.managed[arn].attachments += 1
        self._describe_ok = {}

    # -- building
    def _add_managed(self, account, mp):
        name = mp.get("name")
        if not isinstance(name, str) or not name:
            raise DirectoryError("account %s: managed_policies entries need a name" % account)
        path = mp.get("path", "/")
        arn = "arn:aws:iam::%s:policy%s%s" % (account, path, name)
        try:
            self.managed[arn] = ManagedPolicy(arn, name, path, mp.get("document"), mp.get("description"),
                                              CREATED, CREATED)
        except iampolicy.PolicyError as e:
            raise DirectoryError("account %s: managed policy %s: %s" % (account, name, e))

    def _policy_arn(self, account, ref, owner):
        if ref.startswith("arn:"):
            arn = ref
        elif ("arn:aws:iam::aws:policy/" + ref) in self.managed:
            arn = "arn:aws:iam::aws:policy/" + ref
        else:
            arn = "arn:aws:iam::%s:policy/%s" % (account, ref)
        if arn not in self.managed:
            raise DirectoryError("%s: attached policy %r is not an AWS managed policy the simulator knows (%s) nor one "
                                 "of the account's managed_policies" % (owner, ref, ", ".join(awspolicies.AWS_MANAGED)))
        return arn

    def _add_principal(self, account, kind, d):
        p = Principal(kind, account, d["name"], d.get("path", "/"))
        owner = "account %s %s %s" % (account, kind, d["name"])
        if "policies" in d or "inline_policies" in d:
            refs = d.get("policies", [])
            if not isinstance(refs, list) or not all(isinstance(x, str) for x in refs):
                raise DirectoryError("%s: policies must be a list of policy names or ARNs" % owner)
            p.attached = [self._policy_arn(account, ref, owner) for ref in refs]
            inline = d.get("inline_policies", {})
            if not isinstance(inline, dict):
                raise DirectoryError("%s: inline_policies must be an object {name: policy document}" % owner)
            p.inline = dict(inline)
        else:
            p.inline = _access_inline(d.get("deny_actions", []))
        if kind == "role":
            p.trust = _trust_document(account, d)
            p.max_session = d.get("max_session_duration", 3600)
            p.description = d.get("description")
            try:
                iampolicy.parse(p.trust, "%s trust policy" % owner, allow_principal=True)
            except iampolicy.PolicyError as e:
                raise DirectoryError(str(e))
        self._parse_inline(p, owner)
        self.principals[p.arn] = p
        self.by_name[(account, kind, p.name)] = p

    def _parse_inline(self, p, owner):
        for name, doc in p.inline.items():
            try:
                pol = iampolicy.parse(doc, "%s inline policy %s" % (owner, name))
            except iampolicy.PolicyError as e:
                raise DirectoryError(str(e))
            pol.source_id = name
            pol.source_type = p.kind
            p.parsed_inline[name] = pol

    def _add_cluster_role(self, account, c, accounts):
        arn = cluster_role_arn(account, c)
        parts = parse_arn(arn)
        if parts is None or parts[1] != "role" or parts[0] not in accounts or arn in self.principals:
            return
        acct, _, path, name = parts
        p = Principal("role", acct, name, path)
        p.trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
            "Service": "eks.amazonaws.com"}, "Action": ["sts:AssumeRole", "sts:TagSession"]}]}
        p.description = "Amazon EKS cluster role"
        eks_arn = "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"
        if "role_no_describe" in c.get("defects", []):
            if int(h16("nodescribe", acct, c["region"], c["name"]), 16) % 2:
                # the AWS policy, with an inline Deny on the two actions: explicitDeny
                p.attached = [eks_arn]
                p.inline = {"deny-vpc-describe": {"Version": "2012-10-17", "Statement": [{
                    "Sid": "NoVpcDescribe", "Effect": "Deny", "Action": list(DESCRIBE_ACTIONS), "Resource": "*"}]}}
            else:
                # a customer managed copy without the two actions: implicitDeny
                mp_name = name + "-policy"
                mp_arn = "arn:aws:iam::%s:policy/%s" % (acct, mp_name)
                self.managed[mp_arn] = ManagedPolicy(mp_arn, mp_name, "/", awspolicies.eks_cluster_policy(
                    without=DESCRIBE_ACTIONS), "AmazonEKSClusterPolicy without VPC/DHCP describe", CREATED, CREATED)
                p.attached = [mp_arn]
        else:
            p.attached = [eks_arn]
        self._parse_inline(p, "account %s role %s" % (acct, name))
        self.principals[p.arn] = p
        self.by_name[(acct, "role", name)] = p

    # -- reads
    def get(self, account, kind, name):
        return self.by_name.get((account, kind, name))

    def principal(self, arn):
        """A role or user by ARN (role session ARNs resolve to their role)."""
        if isinstance(arn, str) and arn.startswith("arn:aws:sts::") and ":assumed-role/" in arn:
            acct = arn.split(":")[4]
            role = arn.split(":assumed-role/", 1)[1].split("/")[0]
            return self.by_name.get((acct, "role", role))
        return self.principals.get(arn)

    def policies(self, p):
        return [self.managed[a].parsed for a in p.attached] + list(p.parsed_inline.values())

    def allows_describe(self, role):
        """True when the role exists and may call ec2:DescribeVpcs and ec2:DescribeDhcpOptions."""
        hit = self._describe_ok.get(role)
        if hit is None:
            p = self.principal(role)
            hit = p is not None and all(
                iampolicy.evaluate(self.policies(p), a).allowed for a in DESCRIBE_ACTIONS)
            self._describe_ok[role] = hit
        return hit


def document_text(doc):
    """A policy document as IAM stores it (compact JSON, key order kept)."""
    return json.dumps(doc, separators=(",", ":"))
