"""Identity services: STS (query/XML), Organizations (json-1.1), IMDSv2 and the
container-credentials endpoint.

Temporary credentials (AssumeRole, AssumeRoleWithWebIdentity, GetSessionToken,
IMDS, container) are registered with the simulator so they can sign requests;
they expire on the simulator clock.
"""

import json
import os
import re
import time

from .ids import h16, hexid
from .protocols import AwsError, json_response, query_response
from .httpserver import Response

STS_OPERATIONS = ["GetCallerIdentity", "AssumeRole", "AssumeRoleWithWebIdentity", "GetSessionToken"]
ORG_OPERATIONS = ["ListAccounts", "DescribeOrganization", "DescribeAccount"]
ORG_TARGET_PREFIX = "AWSOrganizationsV20161128."

_SESSION_RE = re.compile(r"^[\w+=,.@-]{2,64}$")
_ROLE_ARN_RE = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):role/(?:[\w+=,.@-]+/)*([\w+=,.@-]+)$")


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def _validation(field, value, constraint):
    return AwsError("ValidationError", "1 validation error detected: Value %s at '%s' failed to satisfy "
                    "constraint: %s" % ("null" if value is None else "'%s'" % value, field, constraint), 400)


def _rand(n, alphabet):
    raw = os.urandom(n)
    return "".join(alphabet[b % len(alphabet)] for b in raw)


_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def new_key_material():
    akid = "ASIA" + _rand(16, _UPPER)
    secret = _rand(40, _B64)
    token = "IQoJb3JpZ2luX2VjEKr//////////wEaCXVzLWVhc3QtMSJHMEUCI" + _rand(280, _B64) + "=="
    return akid, secret, token


def role_id(role_arn):
    return "AROA" + hexid(17, "roleid", role_arn)


def user_id(user_arn):
    return "AIDA" + hexid(17, "userid", user_arn)


class StsService(object):
    def __init__(self, sim):
        self.sim = sim

    def call(self, ctx):
        return getattr(self, "op_" + ctx.op)(ctx)

    def _result(self, ctx, result):
        return query_response(ctx.op, ctx.request_id, result, json_form=ctx.json_accept)

    def op_GetCallerIdentity(self, ctx):
        p = ctx.principal
        return self._result(ctx, {"Arn": p.arn, "UserId": p.user_id, "Account": p.account})

    def _duration(self, ctx, default, max_allowed, chained=False):
        raw = ctx.params.get("DurationSeconds")
        if raw is None:
            return default if not chained else min(default, 3600)
        try:
            d = int(raw)
        except ValueError:
            raise _validation("durationSeconds", raw, "Member must be an integer")
        if d < 900:
            raise _validation("durationSeconds", raw, "Member must have value greater than or equal to 900")
        if d > 43200:
            raise _validation("durationSeconds", raw, "Member must have value less than or equal to 43200")
        if chained and d > 3600:
            raise AwsError("ValidationError", "The requested DurationSeconds exceeds the 1 hour session limit "
                           "for roles assumed by role chaining.", 400)
        if d > max_allowed:
            raise AwsError("ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set "
                           "for this role.", 400)
        return d

    def _role_params(self, ctx):
        p = ctx.params
        arn = p.get("RoleArn")
        if arn is None:
            raise _validation("roleArn", None, "Member must not be null")
        sess = p.get("RoleSessionName")
        if sess is None:
            raise _validation("roleSessionName", None, "Member must not be null")
        if not _SESSION_RE.match(sess):
            raise _validation("roleSessionName", sess, "Member must satisfy regular expression pattern: "
                              "[\\w+=,.@-]*")
        m = _ROLE_ARN_RE.match(arn)
        if not m or len(arn) < 20:
            raise _validation("roleArn", arn, "Member must have length greater than or equal to 20")
        return arn, sess, m.group(1), m.group(2)

    def _trusts(self, role, principal):
        for t in role.get("trust", []):
            if t == "*" or t == principal.account or t == "arn:aws:iam::%s:root" % principal.account:
                return True
            if t == principal.arn or (principal.role_arn and t == principal.role_arn):
                return True
        return False

    def op_AssumeRole(self, ctx):
        arn, sess, acct, name = self._role_params(ctx)
        caller = ctx.principal
        role = self.sim.fleet.role(acct, name)
        denied = AwsError("AccessDenied", "User: %s is not authorized to perform: sts:AssumeRole on resource: %s"
                          % (caller.arn, arn), 403)
        if role is None or not self._trusts(role, caller):
            raise denied
        want_ext = role.get("external_id")
        if want_ext is not None and ctx.params.get("ExternalId") != want_ext:
            raise denied
        chained = caller.kind == "assumed-role"
        dur = self._duration(ctx, 3600, role.get("max_session_duration", 3600), chained)
        # A source identity, once set, persists across chained sessions (IAM user guide).
        source_identity = ctx.params.get("SourceIdentity") or caller.source_identity
        cred = self.sim.issue_session(acct, "assumed-role", role_name=name, session_name=sess,
                                      duration=dur, deny=role.get("deny_actions", []),
                                      source=caller.arn, source_identity=source_identity)
        res = {"Credentials": self._creds_xml(cred),
               "AssumedRoleUser": {"AssumedRoleId": cred.principal.user_id, "Arn": cred.principal.arn}}
        if ctx.params.get("SourceIdentity"):
            res["SourceIdentity"] = ctx.params["SourceIdentity"]
        return self._result(ctx, res)

    def op_AssumeRoleWithWebIdentity(self, ctx):
        arn, sess, acct, name = self._role_params(ctx)
        tok = ctx.params.get("WebIdentityToken")
        if tok is None:
            raise _validation("webIdentityToken", None, "Member must not be null")
        entry = None
        for e in self.sim.fleet.web_identity_tokens:
            if e.get("token", "").strip() == tok.strip():
                entry = e
                break
        if entry is None:
            raise AwsError("InvalidIdentityToken", "The web identity token that was passed could not be validated "
                           "by AWS. Get a new identity token from the identity provider and then retry the "
                           "request.", 400)
        now = self.sim.now()
        exp = entry.get("expires_at")
        if exp is not None and now >= float(exp):
            raise AwsError("ExpiredTokenException", "Token expired: current date/time %s must be before the "
                           "expiration date/time %s" % (iso(now), iso(float(exp))), 400)
        role = self.sim.fleet.role(acct, name)
        provider = entry.get("provider", "")
        ok = role is not None and (arn in entry.get("roles", []) or ("oidc:" + provider) in role.get("trust", []))
        if not ok:
            raise AwsError("AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity", 403)
        dur = self._duration(ctx, 3600, role.get("max_session_duration", 3600))
        cred = self.sim.issue_session(acct, "assumed-role", role_name=name, session_name=sess, duration=dur,
                                      deny=role.get("deny_actions", []), source="web-identity:" + provider)
        res = {"Credentials": self._creds_xml(cred),
               "SubjectFromWebIdentityToken": entry.get("subject", "system:serviceaccount:default:default"),
               "AssumedRoleUser": {"AssumedRoleId": cred.principal.user_id, "Arn": cred.principal.arn},
               "Provider": provider, "Audience": entry.get("audience", "sts.amazonaws.com")}
        return self._result(ctx, res)

    def op_GetSessionToken(self, ctx):
        caller = ctx.principal
        if caller.kind != "user":
            raise AwsError("AccessDenied", "Cannot call GetSessionToken with session credentials", 403)
        dur = self._duration(ctx, 43200, 129600)
        cred = self.sim.issue_session(caller.account, "user-session", user=caller, duration=dur)
        return self._result(ctx, {"Credentials": self._creds_xml(cred)})

    @staticmethod
    def _creds_xml(cred):
        return {"AccessKeyId": cred.access_key, "SecretAccessKey": cred.secret, "SessionToken": cred.token,
                "Expiration": iso(cred.expiration)}


def account_state(a):
    """An account's Organizations State (fleet key state; the legacy key status maps onto it)."""
    return a.get("state") or a.get("status") or "ACTIVE"


class OrgService(object):
    def __init__(self, sim):
        self.sim = sim

    def call(self, ctx):
        fl = self.sim.fleet
        caller = ctx.principal
        admins = set([fl.management_account] + list((fl.spec.get("organization") or {}).get("delegated_admins", [])))
        if caller.account not in admins:
            raise AwsError("AccessDeniedException", "You don't have permissions to access this resource.", 400)
        try:
            body = json.loads(ctx.body.decode("utf-8") or "{}") if ctx.body else {}
        except (ValueError, UnicodeDecodeError):
            raise AwsError("SerializationException", "Unable to parse request body", 400)
        if not isinstance(body, dict):
            raise AwsError("SerializationException", "Request body must be a JSON object", 400)
        return getattr(self, "op_" + ctx.op)(ctx, body)

    def _account(self, a):
        fl = self.sim.fleet
        out = {"Id": a["id"],
               "Arn": "arn:aws:organizations::%s:account/%s/%s" % (fl.management_account, fl.org_id, a["id"]),
               "Email": a.get("email", "aws+%s@example.com" % a["id"]), "Name": a.get("name", a["id"])}
        # State (ACTIVE, SUSPENDED, PENDING_CLOSURE, CLOSED) replaced Status in September 2026;
        # organization.account_status chooses what is served ("state", "both", "legacy")
        state = account_state(a)
        if fl.account_status in ("legacy", "both"):
            out["Status"] = "SUSPENDED" if state == "CLOSED" else state
        if fl.account_status in ("state", "both"):
            out["State"] = state
        out["JoinedMethod"] = "CREATED" if a["id"] != fl.management_account else "INVITED"
        out["JoinedTimestamp"] = 1577836800.0 + int(h16("joined", a["id"]), 16) % 100000000
        return out

    def op_ListAccounts(self, ctx, body):
        accts = [self._account(a) for a in self.sim.fleet.spec["accounts"]]
        mr = body.get("MaxResults", 20)
        if not isinstance(mr, int) or mr < 1 or mr > 20:
            raise AwsError("InvalidInputException", "You provided a value that does not match the required "
                           "pattern.", 400, {"Reason": "INVALID_INPUT"})
        start = 0
        tok = body.get("NextToken")
        if tok is not None:
            try:
                start = int(tok.split(":", 1)[1]) if tok.startswith("ekssim:") else -1
            except (ValueError, AttributeError, IndexError):
                start = -1
            if start < 0 or start > len(accts):
                raise AwsError("InvalidInputException", "The NextToken value is invalid.", 400,
                               {"Reason": "INVALID_NEXT_TOKEN"})
        out = {"Accounts": accts[start:start + mr]}
        if start + mr < len(accts):
            out["NextToken"] = "ekssim:%d" % (start + mr)
        return json_response(out, content_type="application/x-amz-json-1.1")

    def op_DescribeOrganization(self, ctx, body):
        fl = self.sim.fleet
        mgmt = fl.accounts[fl.management_account]
        return json_response({"Organization": {
            "Id": fl.org_id, "Arn": "arn:aws:organizations::%s:organization/%s" % (fl.management_account, fl.org_id),
            "FeatureSet": "ALL",
            "MasterAccountArn": "arn:aws:organizations::%s:account/%s/%s" % (fl.management_account, fl.org_id,
                                                                           fl.management_account),
            "MasterAccountId": fl.management_account,
            "MasterAccountEmail": mgmt.get("email", "aws+%s@example.com" % mgmt["id"]),
            "AvailablePolicyTypes": [{"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"}]}},
            content_type="application/x-amz-json-1.1")

    def op_DescribeAccount(self, ctx, body):
        aid = body.get("AccountId")
        a = self.sim.fleet.accounts.get(aid)
        if a is None:
            raise AwsError("AccountNotFoundException", "You specified an account that doesn't exist.", 400)
        return json_response({"Account": self._account(a)}, content_type="application/x-amz-json-1.1")


class CredentialEndpoints(object):
    """IMDSv2 and the container credentials endpoint (unsigned)."""

    CONTAINER_PATHS = ("/v1/credentials", "/ecs/creds")

    def __init__(self, sim):
        self.sim = sim
        self.imds_tokens = {}
        self._cache = {}

    def _text(self, status, text, ctype="text/plain"):
        return Response(status, [("Content-Type", ctype)], text.encode("utf-8"))

    def _role_creds(self, kind, cfg):
        """Reuse the current credentials for a role until half their life is gone."""
        fl = self.sim.fleet
        acct = cfg.get("account", fl.spec["accounts"][0]["id"])
        role = cfg.get("role_name") or cfg.get("role_arn", "").split("/")[-1] or "ekssim-role"
        dur = int(cfg.get("duration", 21600))
        now = self.sim.now()
        key = (kind, acct, role)
        cur = self._cache.get(key)
        if cur is not None and self.sim.sessions.get(cur.access_key) is cur and cur.expiration - now > dur / 2:
            return cur
        sess = "i-0%s" % h16("instance", acct) if kind == "imds" else "eks-pod-identity"
        r = fl.role(acct, role) or {}
        cred = self.sim.issue_session(acct, "assumed-role", role_name=role, session_name=sess, duration=dur,
                                      deny=r.get("deny_actions", []), source=kind)
        self._cache[key] = cred
        return cred

    def imds(self, req, ctx):
        cfg = self.sim.fleet.imds
        if not cfg:
            return self._text(404, "Not Found")
        path = req.path
        now = time.time()
        if path == "/latest/api/token":
            if req.method != "PUT":
                return self._text(405, "Method Not Allowed")
            if req.header("x-forwarded-for"):
                return self._text(403, "Forbidden")
            ttl = req.header("x-aws-ec2-metadata-token-ttl-seconds")
            try:
                ttl_n = int(ttl)
            except (TypeError, ValueError):
                return self._text(400, "Bad Request")
            if ttl_n < 1 or ttl_n > 21600:
                return self._text(400, "Bad Request")
            tok = "AQAEA" + _rand(51, _B64.replace("+", "-").replace("/", "_")) + "=="
            self.imds_tokens[tok] = now + ttl_n
            if len(self.imds_tokens) > 10000:
                self.imds_tokens = {k: v for k, v in self.imds_tokens.items() if v > now}
            r = self._text(200, tok)
            r.headers.append(("X-aws-ec2-metadata-token-ttl-seconds", str(ttl_n)))
            return r
        if req.method not in ("GET", "HEAD"):
            return self._text(405, "Method Not Allowed")
        tok = req.header("x-aws-ec2-metadata-token")
        if tok is None:
            if not cfg.get("v1_allowed", False):
                return self._text(401, "Unauthorized")
        else:
            exp = self.imds_tokens.get(tok)
            if exp is None or exp < now:
                return self._text(401, "Unauthorized")
        role = cfg.get("role_name", "ekssim-node-role")
        acct = cfg.get("account", self.sim.fleet.spec["accounts"][0]["id"])
        region = cfg.get("region", "us-east-1")
        base = "/latest/meta-data/iam/security-credentials"
        if path in (base, base + "/"):
            return self._text(200, role)
        if path.startswith(base + "/"):
            if path[len(base) + 1:] != role:
                return self._text(404, "Not Found")
            cred = self._role_creds("imds", cfg)
            body = {"Code": "Success", "LastUpdated": iso(self.sim.now()), "Type": "AWS-HMAC",
                    "AccessKeyId": cred.access_key, "SecretAccessKey": cred.secret, "Token": cred.token,
                    "Expiration": iso(cred.expiration)}
            return self._text(200, json.dumps(body, indent=2))
        simple = {"/latest/meta-data/placement/region": region,
                  "/latest/meta-data/placement/availability-zone": region + "a",
                  "/latest/meta-data/instance-id": "i-0%s" % h16("instance", acct),
                  "/latest/meta-data/": "ami-id\ninstance-id\nplacement/\niam/\n"}
        if path in simple:
            return self._text(200, simple[path])
        if path == "/latest/dynamic/instance-identity/document":
            return self._text(200, json.dumps({"accountId": acct, "region": region, "availabilityZone": region + "a",
                                               "instanceId": "i-0%s" % h16("instance", acct)}),
                              "application/json")
        return self._text(404, "Not Found")

    def container(self, req, ctx):
        ctx.op = "ContainerCredentials"
        cfg = self.sim.fleet.container
        if not cfg:
            return self._text(404, "Not Found")
        if req.method != "GET":
            return self._text(405, "Method Not Allowed")
        want = cfg.get("token")
        got = req.header("authorization")
        if want is not None and got != want:
            return json_response({"code": "AccessDenied", "message": "Invalid or missing authorization token"}, 401)
        cred = self._role_creds("container", cfg)
        acct = cred.principal.account
        return json_response({"AccessKeyId": cred.access_key, "SecretAccessKey": cred.secret, "Token": cred.token,
                              "Expiration": iso(cred.expiration), "AccountId": acct,
                              "RoleArn": "arn:aws:iam::%s:role/%s" % (acct, cred.principal.role_name)})
