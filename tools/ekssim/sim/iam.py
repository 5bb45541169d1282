"""IAM (query protocol, Version 2010-05-08, global endpoint iam.amazonaws.com, signed
for us-east-1): the reads the preflight's cluster-role check makes.

GetRole, ListAttachedRolePolicies, ListRolePolicies, GetRolePolicy, GetPolicy,
GetPolicyVersion, SimulatePrincipalPolicy.  Policy documents come URL-encoded,
as IAM sends them.  Lookups are in the caller's account; unknown entities are
404 NoSuchEntity, bad input 400 InvalidInput / ValidationError.
"""

import base64
import re
from urllib.parse import quote

from . import iampolicy
from .iamdir import document_text, parse_arn
from .protocols import IAM_NS, AwsError, query_response

IAM_OPERATIONS = ["GetRole", "ListAttachedRolePolicies", "ListRolePolicies", "GetRolePolicy", "GetPolicy",
                  "GetPolicyVersion", "SimulatePrincipalPolicy"]

_NAME_RE = re.compile(r"^[\w+=,.@-]+$")


def _validation(field, value, constraint):
    return AwsError("ValidationError", "1 validation error detected: Value %s at '%s' failed to satisfy "
                    "constraint: %s" % ("null" if value is None else "'%s'" % value, field, constraint), 400)


def _name(p, key, field):
    v = p.get(key)
    if v is None:
        raise _validation(field, None, "Member must not be null")
    if not _NAME_RE.match(v) or len(v) > 128:
        raise _validation(field, v, "Member must satisfy regular expression pattern: [\\w+=,.@-]+")
    return v


def _members(p, prefix):
    """Values of prefix.member.N in index order."""
    items = []
    pl = len(prefix) + len(".member.")
    for k, v in p.items():
        if k.startswith(prefix + ".member.") and k[pl:].isdigit():
            items.append((int(k[pl:]), v))
    return [v for _, v in sorted(items)]


def _page(p, items):
    """Marker/MaxItems pagination: (page, extra result fields)."""
    raw = p.get("MaxItems")
    n = 100
    if raw is not None:
        try:
            n = int(raw)
        except ValueError:
            raise _validation("maxItems", raw, "Member must be an integer")
        if n < 1 or n > 1000:
            raise _validation("maxItems", raw, "Member must have value between 1 and 1000")
    start = 0
    marker = p.get("Marker")
    if marker is not None:
        try:
            start = int(base64.b64decode(marker.encode(), validate=True).decode().split(":", 1)[1])
            if start < 0 or start > len(items):
                raise ValueError
        except (ValueError, IndexError, UnicodeDecodeError):
            raise AwsError("InvalidInput", "Invalid Marker.", 400)
    page = items[start:start + n]
    extra = {"IsTruncated": start + n < len(items)}
    if extra["IsTruncated"]:
        extra["Marker"] = base64.b64encode(("ekssim:%d" % (start + n)).encode()).decode()
    return page, extra


def encoded(doc):
    return quote(document_text(doc), safe="")


class IamService(object):
    def __init__(self, sim):
        self.sim = sim

    def call(self, ctx):
        return getattr(self, "op_" + ctx.op)(ctx)

    def _result(self, ctx, result):
        return query_response(ctx.op, ctx.request_id, result, ns=IAM_NS)

    @property
    def dir(self):
        return self.sim.fleet.iam

    def _role(self, ctx):
        name = _name(ctx.params, "RoleName", "roleName")
        r = self.dir.get(ctx.account, "role", name)
        if r is None:
            raise AwsError("NoSuchEntity", "The role with name %s cannot be found." % name, 404)
        return r

    def op_GetRole(self, ctx):
        r = self._role(ctx)
        role = {"Path": r.path, "RoleName": r.name, "RoleId": r.unique_id, "Arn": r.arn,
                "CreateDate": "2024-01-15T10:00:00Z", "AssumeRolePolicyDocument": encoded(r.trust)}
        if r.description:
            role["Description"] = r.description
        role["MaxSessionDuration"] = r.max_session
        role["Tags"] = []
        role["RoleLastUsed"] = {}
        return self._result(ctx, {"Role": role})

    def op_ListAttachedRolePolicies(self, ctx):
        r = self._role(ctx)
        prefix = ctx.params.get("PathPrefix", "/")
        items = [{"PolicyName": self.dir.managed[a].name, "PolicyArn": a} for a in r.attached
                 if self.dir.managed[a].path.startswith(prefix)]
        page, extra = _page(ctx.params, items)
        out = {"AttachedPolicies": page}
        out.update(extra)
        return self._result(ctx, out)

    def op_ListRolePolicies(self, ctx):
        r = self._role(ctx)
        page, extra = _page(ctx.params, sorted(r.inline))
        out = {"PolicyNames": page}
        out.update(extra)
        return self._result(ctx, out)

    def op_GetRolePolicy(self, ctx):
        r = self._role(ctx)
        pname = _name(ctx.params, "PolicyName", "policyName")
        doc = r.inline.get(pname)
        if doc is None:
            raise AwsError("NoSuchEntity", "The role policy with name %s cannot be found." % pname, 404)
        return self._result(ctx, {"RoleName": r.name, "PolicyName": pname, "PolicyDocument": encoded(doc)})

    def _policy(self, ctx):
        arn = ctx.params.get("PolicyArn")
        if arn is None:
            raise _validation("policyArn", None, "Member must not be null")
        parts = parse_arn(arn)
        if parts is None or parts[1] != "policy":
            raise AwsError("InvalidInput", "ARN %s is not valid." % arn, 400)
        mp = self.dir.managed.get(arn)
        if mp is None or (parts[0] != "aws" and parts[0] != ctx.account):
            raise AwsError("NoSuchEntity", "Policy %s does not exist or is not attachable." % arn, 404)
        return mp

    def op_GetPolicy(self, ctx):
        mp = self._policy(ctx)
        pol = {"PolicyName": mp.name, "PolicyId": mp.policy_id, "Arn": mp.arn, "Path": mp.path,
               "DefaultVersionId": mp.version, "AttachmentCount": mp.attachments, "PermissionsBoundaryUsageCount": 0,
               "IsAttachable": True}
        if mp.description:
            pol["Description"] = mp.description
        pol["CreateDate"] = mp.created
        pol["UpdateDate"] = mp.updated
        pol["Tags"] = []
        return self._result(ctx, {"Policy": pol})

    def op_GetPolicyVersion(self, ctx):
        mp = self._policy(ctx)
        vid = ctx.params.get("VersionId")
        if vid is None:
            raise _validation("versionId", None, "Member must not be null")
        if not re.match(r"^v[1-9][0-9]*(\.[A-Za-z0-9-]*)?$", vid):
            raise _validation("versionId", vid, "Member must satisfy regular expression pattern: v[1-9][0-9]*(\\.[A-Za-z0-9-]*)?")
        if vid != mp.version:
            raise AwsError("NoSuchEntity", "Policy %s version %s does not exist or is not attachable." % (mp.arn, vid),
                           404)
        return self._result(ctx, {"PolicyVersion": {"Document": encoded(mp.document), "VersionId": mp.version,
                                                    "IsDefaultVersion": True, "CreateDate": mp.updated}})

    def op_SimulatePrincipalPolicy(self, ctx):
        p = ctx.params
        src = p.get("PolicySourceArn")
        if src is None:
            raise _validation("policySourceArn", None, "Member must not be null")
        parts = parse_arn(src)
        if parts is None or parts[1] not in ("role", "user"):
            if not (isinstance(src, str) and src.startswith("arn:aws:sts::") and ":assumed-role/" in src):
                raise AwsError("InvalidInput", "Invalid ARN: Could not be parsed!" if not str(src).startswith("arn:")
                               else "ARN %s is not valid." % src, 400)
        principal = self.dir.principal(src)
        if principal is None or principal.account != ctx.account:
            raise AwsError("NoSuchEntity", "The principal %s does not exist." % src, 404)
        actions = _members(p, "ActionNames")
        if not actions:
            raise _validation("actionNames", None, "Member must not be null")
        resources = _members(p, "ResourceArns") or ["*"]
        context = {}
        n = 1
        while ("ContextEntries.member.%d.ContextKeyName" % n) in p:
            key = p["ContextEntries.member.%d.ContextKeyName" % n]
            vals = _members(p, "ContextEntries.member.%d.ContextKeyValues" % n)
            context[key] = vals
            n += 1
        extra = []
        for i, doc in enumerate(_members(p, "PolicyInputList")):
            try:
                pol = iampolicy.parse(doc, "PolicyInputList.%d" % (i + 1))
            except iampolicy.PolicyError as e:
                raise AwsError("MalformedPolicyDocument", str(e), 400)
            pol.source_id = "PolicyInputList.%d" % (i + 1)
            pol.source_type = "none"
            extra.append(pol)
        policies = self.dir.policies(principal) + extra
        ctx_eval = iampolicy.make_context(context)
        results = []
        for action in actions:
            if action != "*" and action.count(":") != 1:
                raise AwsError("InvalidInput", "Actions must be in the form service:action; %s is not." % action, 400)
            for res in resources:
                d = iampolicy.evaluate(policies, action, res, ctx_eval)
                missing = sorted(set(c.key for pol in policies for st in pol.statements for c in st.conditions
                                     if c.key not in ctx_eval and iampolicy.statement_applies(
                                         _without_conditions(st), action, res, {})))
                results.append({
                    "EvalActionName": action, "EvalResourceName": res, "EvalDecision": d.decision,
                    "MatchedStatements": [{"SourcePolicyId": pol.source_id, "SourcePolicyType": pol.source_type}
                                          for pol, _st in d.matched],
                    "MissingContextValues": missing})
        page, more = _page(p, results)
        out = {"EvaluationResults": page}
        out.update(more)
        return self._result(ctx, out)


def _without_conditions(st):
    bare = iampolicy.Statement(st.index)
    bare.effect, bare.actions, bare.not_actions = st.effect, st.actions, st.not_actions
    bare.resources, bare.not_resources = st.resources, st.not_resources
    return bare

