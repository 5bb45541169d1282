"""The Simulator: routing, authentication, authorization, faults, request log,
persistence.  Services (eks, ec2, sts, organizations) only see a Ctx whose
caller is already authenticated.

Request flow:
  /_sim/*                       admin (unsigned)
  /latest/*                     IMDSv2 (unsigned)
  /v1/credentials, /ecs/creds   container credentials (Authorization token)
  everything else               service = SigV4 scope service, else Host, else
                                content (X-Amz-Target, /clusters, Action/Version);
                                region = scope region (else Host, else us-east-1)
  -> identify operation -> verify SigV4 -> region enabled / SCP / principal
     deny lists -> seeded faults -> service call -> transport faults -> log
"""

import fnmatch
import hmac
import json
import os
import threading
import time
from collections import deque
from email.utils import formatdate
from urllib.parse import parse_qsl

from . import admin, admin_ext, ec2, eks, faults as faultsmod, iam, regions, scp as scpmod, sigv4, sts
from . import fleet as fleetmod
from .ids import hexid
from .httpserver import Request, Response
from .protocols import AwsError, error_response, json_response, kind_error

SERVICES = ("eks", "ec2", "sts", "organizations", "iam")
GLOBAL_SERVICES = ("iam",)                  # one endpoint, signed for us-east-1
STATE_FORMAT = "ekssim-state/1"
_AUTH_QUERY = {"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders",
               "X-Amz-Signature", "X-Amz-Security-Token"}


class Principal(object):
    __slots__ = ("account", "arn", "user_id", "kind", "name", "role_name", "role_arn", "session_name", "deny",
                 "source_identity")

    def __init__(self, account, arn, user_id, kind, name=None, role_name=None, session_name=None, deny=(),
                 source_identity=None):
        self.account = account
        self.arn = arn
        self.user_id = user_id
        self.kind = kind
        self.name = name
        self.role_name = role_name
        self.role_arn = "arn:aws:iam::%s:role/%s" % (account, role_name) if role_name else None
        self.session_name = session_name
        self.deny = list(deny)
        # AssumeRole's SourceIdentity: logged with every request of the session, as CloudTrail does.
        self.source_identity = source_identity


class Credential(object):
    __slots__ = ("access_key", "secret", "principal", "token", "expiration", "source")

    def __init__(self, access_key, secret, principal, token=None, expiration=None, source=None):
        self.access_key = access_key
        self.secret = secret
        self.principal = principal
        self.token = token
        self.expiration = expiration
        self.source = source

    def to_json(self):
        p = self.principal
        return {"access_key": self.access_key, "secret": self.secret, "token": self.token,
                "expiration": self.expiration, "source": self.source, "account": p.account, "arn": p.arn,
                "user_id": p.user_id, "kind": p.kind, "name": p.name, "role_name": p.role_name,
                "session_name": p.session_name, "deny": p.deny, "source_identity": p.source_identity}

    @classmethod
    def from_json(cls, d):
        p = Principal(d["account"], d["arn"], d["user_id"], d["kind"], d.get("name"), d.get("role_name"),
                      d.get("session_name"), d.get("deny", []), d.get("source_identity"))
        return cls(d["access_key"], d["secret"], p, d.get("token"), d.get("expiration"), d.get("source"))


class Ctx(object):
    __slots__ = ("request_id", "req", "service", "op", "account", "region", "principal", "cred", "params",
                 "query", "body", "cluster", "sub", "now", "state_now", "mutation", "mutation_type",
                 "json_accept", "bad_action", "error", "fault", "t0")

    def __init__(self, req):
        self.request_id = new_request_id()
        self.req = req
        self.service = None
        self.op = None
        self.account = None
        self.region = None
        self.principal = None
        self.cred = None
        self.params = {}
        self.query = {}
        self.body = req.body
        self.cluster = None
        self.sub = None
        self.now = 0.0
        self.state_now = 0.0
        self.mutation = None
        self.mutation_type = None
        self.json_accept = False
        self.bad_action = None
        self.error = None
        self.fault = None
        self.t0 = time.time()


_iso_cache = (0, "")


def _iso(t):
    global _iso_cache
    sec = int(t)
    c = _iso_cache            # one atomic read: second and text always belong together
    if c[0] != sec:
        c = (sec, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec)))
        _iso_cache = c
    return "%s.%03dZ" % (c[1], int((t - sec) * 1000))


def new_request_id():
    h = os.urandom(16).hex()
    return "%s-%s-4%s-%s-%s" % (h[:8], h[8:12], h[13:16], h[16:20], h[20:32])


LOG_FIELDS = ("seq", "time", "account", "region", "service", "operation", "cluster", "status", "error", "fault",
              "principal", "request_id", "source_identity")


class RequestLog(object):
    """Ring buffer of requests (compact tuples) plus every mutating EKS call."""

    def __init__(self, maxlen=100000):
        self.entries = deque(maxlen=maxlen)
        self.seq = 0
        self.mutations = []
        self.lock = threading.Lock()

    def add(self, t0, account, region, service, op, cluster, status, error, fault, principal, request_id,
            source_identity=None):
        with self.lock:
            self.seq += 1
            self.entries.append((self.seq, t0, account, region, service, op, cluster, status, error, fault,
                                 principal, request_id, source_identity))
            return self.seq

    def mutation(self, entry):
        with self.lock:
            entry["seq"] = self.seq
            self.mutations.append(entry)

    def view(self, since=0, limit=100000):
        with self.lock:
            rows = [e for e in self.entries if e[0] > since][:limit]
            muts = list(self.mutations)
        reqs = []
        for e in rows:
            d = dict(zip(LOG_FIELDS, e))
            d["time"] = _iso(e[1])
            reqs.append(d)
        per = {}
        for m in muts:
            key = "%s/%s/%s" % (m["account"], m["region"], m["cluster"])
            c = per.setdefault(key, {"accepted": 0, "refused": 0, "update_ids": [], "calls": []})
            if m["accepted"]:
                c["accepted"] += 1
                if m.get("update_id") and m["update_id"] not in c["update_ids"]:
                    c["update_ids"].append(m["update_id"])
            else:
                c["refused"] += 1
            c["calls"].append(m)
        return {"requests": reqs, "mutations": muts, "clusters": per, "last_seq": self.seq}

    def clear(self):
        with self.lock:
            self.entries.clear()
            self.mutations = []


def service_from_host(host):
    h = (host or "").split(":")[0].lower()
    if not (h.endswith(".amazonaws.com") or h.endswith(".amazonaws.com.cn")):
        return None, None
    labels = h.split(".")
    first = labels[0].replace("-fips", "")
    svc = first if first in SERVICES else None
    region = labels[1] if len(labels) > 3 and regions.is_region(labels[1]) else None
    if svc in ("sts", "iam") and region is None:
        region = "us-east-1"
    return svc, region


class Simulator(object):
    def __init__(self, fleet_spec, time_scale=1.0, state_file=None, seed=0, log=None, log_size=100000):
        self.lock = threading.RLock()
        self.pid = os.getpid()
        self.started = time.time()
        self.time_scale = float(time_scale)
        self.state_file = state_file
        self.faults = faultsmod.Faults(seed)
        self.log = RequestLog(log_size)
        self.errlog = log or (lambda msg: None)
        self.creds = sts.CredentialEndpoints(self)
        self.k8s = None                 # the Kubernetes API listener (k8s.K8sApi), set by ekssim.py
        self._date_cache = (0, "")
        loaded = None
        if state_file and os.path.exists(state_file):
            with open(state_file, "r", encoding="utf-8") as f:
                loaded = json.load(f)
            if loaded.get("format") != STATE_FORMAT:
                raise fleetmod.FleetError("%s is not an ekssim state file" % state_file)
            fleet_spec = loaded["fleet"]
        self.fleet_spec = fleet_spec
        self._build(fleet_spec)
        if loaded:
            self._restore(loaded)
        elif state_file:
            self.save_state()

    # ------------------------------------------------------------ world

    def _build(self, spec):
        self.fleet = fleetmod.Fleet(spec)
        self._fleet_json = None
        self.state_offset = 0.0
        self.sessions = {}
        self.users = {}
        for akid, (acct, u) in self.fleet.users_by_key.items():
            arn = "arn:aws:iam::%s:user/%s" % (acct, u["name"])
            p = Principal(acct, arn, sts.user_id(arn), "user", name=u["name"], deny=u.get("deny_actions", []))
            self.users[akid] = Credential(akid, u["secret_access_key"], p)
        self.eks = eks.EksService(self)
        self.ec2 = ec2.Ec2Service(self)
        self.sts = sts.StsService(self)
        self.orgs = sts.OrgService(self)
        self.iam = iam.IamService(self)
        self.scp_overrides = {}         # account -> scp entry set at runtime (POST /_sim/scp)
        self._scp_cache = {}
        self.creds._cache = {}
        self.eks.load_fleet(self.fleet, self.state_now())

    def reset(self):
        with self.lock:
            self._build(self.fleet_spec)
            self.log.clear()
            self.creds.imds_tokens = {}
            self.save_state()

    def now(self):
        """Simulator wall clock (Date header, signatures, credential expiry)."""
        return time.time() + self.faults.clock_skew

    def state_now(self):
        """Clock of the state machines (moved by /_sim/advance, not by clock skew)."""
        return time.time() + self.state_offset

    def duration(self, key):
        return self.fleet.timings.get(key, 600) * self.time_scale

    # ------------------------------------------------------------ identities

    def lookup(self, akid):
        c = self.users.get(akid)
        if c is None:
            c = self.sessions.get(akid)
        return c

    def issue_session(self, account, kind, role_name=None, session_name=None, duration=3600, deny=(),
                      source=None, user=None, source_identity=None):
        akid, secret, token = sts.new_key_material()
        if kind == "user-session":
            p = Principal(account, user.arn, user.user_id, "user-session", name=user.name, deny=user.deny)
        else:
            role_arn = "arn:aws:iam::%s:role/%s" % (account, role_name)
            p = Principal(account, "arn:aws:sts::%s:assumed-role/%s/%s" % (account, role_name, session_name),
                          "%s:%s" % (sts.role_id(role_arn), session_name), "assumed-role", role_name=role_name,
                          session_name=session_name, deny=deny, source_identity=source_identity)
        cred = Credential(akid, secret, p, token, self.now() + duration, source)
        with self.lock:
            self.sessions[akid] = cred
            if len(self.sessions) > 200000:
                now = self.now()
                self.sessions = dict((k, v) for k, v in self.sessions.items() if v.expiration > now)
            self.save_state()
        return cred

    def scp_entry(self, account):
        if account in self.scp_overrides:
            return self.scp_overrides[account]
        return self.fleet.accounts.get(account, {}).get("scp")

    def set_scp(self, account, entry):
        """Replace an account's SCP at runtime (None removes it).  Raises ValueError."""
        if account not in self.fleet.accounts:
            raise ValueError("unknown account %r" % (account,))
        if entry is not None:
            scpmod.validate(account, entry, self.fleet.management_account)
        with self.lock:
            self.scp_overrides[account] = entry
            self._scp_cache.pop(account, None)
            self.save_state()

    def scp_policies(self, account):
        pols = self._scp_cache.get(account)
        if pols is None:
            pols = self._scp_cache[account] = scpmod.policies(self.scp_entry(account))
        return pols

    def check_scp(self, ctx, action, resource, extra=None):
        """Evaluate the account's SCPs for this request; raise AccessDenied in the protocol's shape."""
        pols = self.scp_policies(ctx.account)
        if not pols:
            return
        p = ctx.principal
        context = {"aws:PrincipalArn": p.role_arn or p.arn, "aws:PrincipalAccount": p.account,
                   "aws:RequestedRegion": ctx.region}
        context.update(extra or {})
        why = scpmod.decide(pols, action, resource, context)
        if why is not None:
            raise self._denied(ctx, action, resource, why)

    def check_egress_scp(self, ctx, action, key_value, resource):
        """SCPs for eks:CreateCluster / eks:UpdateClusterConfig: the request context holds
        eks:controlPlaneEgressMode only when the request carries the field."""
        extra = {"eks:controlPlaneEgressMode": key_value} if key_value is not None else None
        self.check_scp(ctx, action, resource, extra)

    # ------------------------------------------------------------ persistence

    def save_state(self):
        if not self.state_file:
            return
        with self.lock:
            if self._fleet_json is None:
                self._fleet_json = json.dumps(self.fleet_spec, separators=(",", ":"))
            dyn = {"eks": self.eks.snapshot(),
                   "sessions": [c.to_json() for c in self.sessions.values()],
                   "mutations": self.log.mutations, "state_offset": self.state_offset,
                   "scp_overrides": self.scp_overrides,
                   "saved_at": time.time()}
            text = '{"format":"%s","fleet":%s,"dynamic":%s}' % (
                STATE_FORMAT, self._fleet_json, json.dumps(dyn, separators=(",", ":")))
            tmp = "%s.tmp.%d" % (self.state_file, os.getpid())
            with open(tmp, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.state_file)

    def _restore(self, loaded):
        dyn = loaded.get("dynamic", {})
        self.state_offset = float(dyn.get("state_offset", 0.0))
        self.eks.restore(dyn.get("eks", {}))
        for d in dyn.get("sessions", []):
            c = Credential.from_json(d)
            self.sessions[c.access_key] = c
        self.log.mutations = list(dyn.get("mutations", []))
        self.scp_overrides = dict(dyn.get("scp_overrides", {}))

    # ------------------------------------------------------------ HTTP entry

    def date_header(self):
        t = int(self.now())
        c = self._date_cache
        if c[0] != t:
            c = (t, formatdate(t, usegmt=True))
            self._date_cache = c
        return c[1]

    def handle(self, req):
        path = req.path
        if path.startswith("/_sim/") or path == "/_sim":
            resp = admin_ext.handle(self, req) or admin.handle(self, req)
            resp.headers.append(("Date", self.date_header()))
            return resp
        ctx = Ctx(req)
        ctx.now = self.now()
        if path.startswith("/latest/") or path in sts.CredentialEndpoints.CONTAINER_PATHS:
            return self._handle_creds(ctx, req)
        pairs = sigv4.split_query(req.raw_query)
        auth = auth_err = None
        try:
            auth = sigv4.parse(pairs, req.headers)
        except sigv4.SigError as e:
            auth_err = e
        form = None
        ctype = req.header("content-type", "")
        if req.body and req.method == "POST" and "x-www-form-urlencoded" in ctype:
            form = dict(parse_qsl(req.body.decode("utf-8", "replace"), keep_blank_values=True))
        service, host_region = self._route(req, auth, pairs, form)
        if service is None:
            resp = json_response({"message": "ekssim: cannot tell which AWS service this request is for "
                                             "(sign it, or send it to a service host name)"}, 400)
            resp.headers.append(("Date", self.date_header()))
            return resp
        ctx.service = service
        ctx.region = auth.region if auth is not None else (host_region or "us-east-1")
        dec = None
        try:
            self._identify(ctx, req, pairs, form)
            self._authenticate(ctx, req, pairs, auth, auth_err)
            if ctx.op is None:
                raise kind_error("unknown_operation", service,
                                 "The action %s is not valid for this web service." % (ctx.bad_action or "")
                                 if service in ("ec2", "sts", "iam") else "Unknown operation %s %s" % (req.method, path))
            self._authorize(ctx)
            dec = self.faults.decide(ctx.op, service)
            if dec.pre == "drop":
                ctx.fault = "drop"
                resp = Response(0)       # logged as status 0: never executed, nothing sent
            elif dec.pre:
                ctx.fault = dec.pre
                raise kind_error(dec.pre, service)
            else:
                resp = self._call(ctx)
        except AwsError as e:
            ctx.error = e.code
            resp = error_response(e, service, ctx.request_id, json_query=ctx.json_accept)
        if dec is not None:
            if dec.pre == "drop":
                resp.fault = "drop"
            elif dec.post:
                resp.fault = dec.post
                ctx.fault = dec.post
                resp.stall_seconds = self.faults.stall_seconds
            resp.delay = dec.delay
        resp.op = (service, ctx.op or "")
        h = resp.headers
        h.append(("Date", self.date_header()))
        h.append(("x-amzn-RequestId", ctx.request_id))
        if service in ("ec2", "sts", "iam"):
            h.append(("x-amz-request-id", ctx.request_id))
        self._log(ctx, resp)
        return resp

    def _handle_creds(self, ctx, req):
        is_imds = req.path.startswith("/latest/")
        ctx.service = "imds" if is_imds else "container"
        ctx.op = "ImdsMetadata" if is_imds else "ContainerCredentials"
        if is_imds and req.path == "/latest/api/token":
            ctx.op = "ImdsToken"
        elif is_imds and req.path.startswith("/latest/meta-data/iam/security-credentials/") and \
                req.path != "/latest/meta-data/iam/security-credentials/":
            ctx.op = "ImdsCredentials"
        dec = self.faults.decide(ctx.op, ctx.service)
        if dec.pre in ("throttle", "internal", "unavailable"):
            resp = Response(429 if dec.pre == "throttle" else 500, [("Content-Type", "text/plain")],
                            b"Too Many Requests" if dec.pre == "throttle" else b"Internal Server Error")
            ctx.fault = dec.pre
        else:
            with self.lock:
                resp = self.creds.imds(req, ctx) if is_imds else self.creds.container(req, ctx)
            if dec.pre == "drop":
                resp.fault = "drop"
            elif dec.post:
                resp.fault = dec.post
                resp.stall_seconds = self.faults.stall_seconds
            ctx.fault = dec.pre or dec.post
        resp.delay = dec.delay
        resp.op = (ctx.service, ctx.op)
        resp.headers.append(("Date", self.date_header()))
        self._log(ctx, resp)
        return resp

    def _route(self, req, auth, pairs, form):
        hsvc, hregion = service_from_host(req.header("host", ""))
        if auth is not None and auth.service in SERVICES:
            return auth.service, hregion
        if hsvc:
            return hsvc, hregion
        target = req.header("x-amz-target", "")
        if target.startswith(sts.ORG_TARGET_PREFIX):
            return "organizations", None
        if req.path == "/clusters" or req.path.startswith("/clusters/"):
            return "eks", None
        params = dict(pairs)
        if form:
            params.update(form)
        action, version = params.get("Action"), params.get("Version")
        if version == "2016-11-15" or action in ec2.OPERATIONS:
            return "ec2", None
        if version == "2011-06-15" or action in sts.STS_OPERATIONS:
            return "sts", None
        if version == "2010-05-08" or action in iam.IAM_OPERATIONS:
            return "iam", "us-east-1"
        return None, None

    def _identify(self, ctx, req, pairs, form):
        svc = ctx.service
        if svc == "eks":
            r = eks.identify(req.method, req.path)
            if r is not None:
                ctx.op, ctx.cluster, ctx.sub = r
            ctx.query = dict(pairs)
            return
        if svc == "organizations":
            target = req.header("x-amz-target", "")
            if target.startswith(sts.ORG_TARGET_PREFIX):
                op = target[len(sts.ORG_TARGET_PREFIX):]
                if op in sts.ORG_OPERATIONS and req.method == "POST":
                    ctx.op = op
                else:
                    ctx.bad_action = op
            return
        params = dict((k, v) for k, v in pairs if k not in _AUTH_QUERY)
        if form:
            params.update(form)
        ctx.params = params
        action = params.get("Action")
        valid = {"ec2": ec2.OPERATIONS, "iam": iam.IAM_OPERATIONS}.get(svc, sts.STS_OPERATIONS)
        if action in valid:
            ctx.op = action
        else:
            ctx.bad_action = action
        if svc == "sts" and req.method == "GET" and "application/json" in req.header("accept", ""):
            ctx.json_accept = True

    def _authenticate(self, ctx, req, pairs, auth, auth_err):
        svc = ctx.service
        if auth_err is not None:
            raise kind_error(auth_err.kind if auth_err.kind in ("incomplete", "scope") else "incomplete", svc,
                             auth_err.message)
        if auth is None:
            if svc == "sts" and ctx.op == "AssumeRoleWithWebIdentity":
                return
            raise kind_error("missing_auth", svc)
        if not regions.is_region(auth.region):
            raise kind_error("scope", svc, "Credential should be scoped to a valid region, not '%s'. " % auth.region)
        if auth.service != svc:
            raise kind_error("scope", svc, "Credential should be scoped to correct service: '%s'. " % svc)
        if svc in GLOBAL_SERVICES and auth.region != "us-east-1":
            raise kind_error("scope", svc, "Credential should be scoped to a valid region. ")
        cred = self.lookup(auth.access_key)
        if cred is None:
            raise kind_error("unknown_key", svc)
        now = ctx.now
        window = sigv4.STS_PRESIGN_WINDOW if (auth.presigned and svc == "sts") else None
        try:
            sigv4.check_time(auth, now, window)
        except sigv4.SigError as e:
            raise kind_error(e.kind, svc, e.message)
        if cred.token is None:
            if auth.token:
                raise kind_error("invalid_token", svc)
        else:
            if not auth.token or not hmac.compare_digest(auth.token.encode("latin-1", "replace"),
                                                         cred.token.encode("latin-1", "replace")):
                raise kind_error("invalid_token", svc)
            if now >= cred.expiration:
                raise kind_error("expired_token", svc)
        try:
            sigv4.verify_signature(cred.secret, req.method, req.path, pairs, req.headers, req.body, auth)
        except sigv4.SigError as e:
            raise kind_error("mismatch", svc, e.message)
        ctx.cred = cred
        ctx.principal = cred.principal
        ctx.account = cred.principal.account
        if svc != "organizations" and not self.fleet.region_enabled(ctx.account, ctx.region):
            # AWS answers calls into a region the account has not enabled as an unknown key
            raise kind_error("unknown_key", svc)

    def _authorize(self, ctx):
        p = ctx.principal
        if p is None:
            return
        svc = ctx.service
        action = "%s:%s" % (svc, ctx.op)
        resource = "*"
        if svc == "eks" and ctx.cluster:
            resource = "arn:aws:eks:%s:%s:cluster/%s" % (ctx.region, ctx.account, ctx.cluster)
        why = None
        if svc not in ("organizations",) + GLOBAL_SERVICES and ctx.op != "GetCallerIdentity" and \
                self.fleet.scp_denied(ctx.account, ctx.region):
            why = "with an explicit deny in a service control policy"
        else:
            for pat in p.deny:
                if fnmatch.fnmatchcase(action, pat):
                    why = "with an explicit deny in an identity-based policy"
                    break
        if why is None:
            # the egress-mode key is only known once EKS has read the body: those two check later
            if action not in ("eks:CreateCluster", "eks:UpdateClusterConfig") and ctx.op != "GetCallerIdentity":
                self.check_scp(ctx, action, resource)
            return
        raise self._denied(ctx, action, resource, why)

    def _denied(self, ctx, action, resource, why):
        p = ctx.principal
        svc = ctx.service
        if svc == "ec2":
            msg = ("You are not authorized to perform this operation. User: %s is not authorized to perform: %s %s. "
                   "Encoded authorization failure message: %s" % (p.arn, action, why,
                                                                  hexid(48, "authz", action, p.arn)))
        else:
            msg = "User: %s is not authorized to perform: %s on resource: %s %s" % (p.arn, action, resource, why)
        return kind_error("access_denied", svc, msg)

    def _call(self, ctx):
        svc = ctx.service
        with self.lock:
            ctx.state_now = self.state_now()
            if svc == "eks":
                return self.eks.call(ctx)   # state is saved when the call is logged
            if svc == "ec2":
                return self.ec2.call(ctx)
            if svc == "sts":
                return self.sts.call(ctx)
            if svc == "iam":
                return self.iam.call(ctx)
            return self.orgs.call(ctx)

    # ------------------------------------------------------------ EKS tokens

    def verify_presigned_sts(self, host, raw_query, extra_headers):
        """Verify a presigned STS GetCallerIdentity request as STS would (what EKS's authenticator
        asks STS to do with a token's URL).  The principal, or None when STS would refuse it."""
        req = Request()
        req.method = "GET"
        req.path = "/"
        req.raw_query = raw_query
        req.headers = {"host": [host]}
        req.headers.update(extra_headers)
        ctx = Ctx(req)
        ctx.now = self.now()
        pairs = sigv4.split_query(raw_query)
        try:
            auth = sigv4.parse(pairs, req.headers)
            if auth is None or auth.service != "sts":
                return None
            ctx.service = "sts"
            ctx.op = "GetCallerIdentity"
            ctx.region = auth.region
            self._authenticate(ctx, req, pairs, auth, None)
        except (sigv4.SigError, AwsError):
            return None
        return ctx.principal

    # ------------------------------------------------------------ logging

    def _log(self, ctx, resp):
        principal = ctx.principal.arn if ctx.principal else None
        source_identity = ctx.principal.source_identity if ctx.principal else None
        self.log.add(ctx.t0, ctx.account, ctx.region, ctx.service, ctx.op, ctx.cluster, resp.status, ctx.error,
                     ctx.fault, principal, ctx.request_id, source_identity)
        if ctx.service == "eks" and ctx.op in eks.MUTATING and ctx.account:
            m = ctx.mutation or {}
            accepted = bool(ctx.mutation) and ctx.error is None
            rec = {"time": _iso(ctx.t0), "account": ctx.account, "region": ctx.region, "cluster": ctx.cluster,
                   "operation": ctx.op, "accepted": accepted, "replay": bool(m.get("replay")),
                   "update_id": m.get("update_id"), "update_type": m.get("update_type") or ctx.mutation_type,
                   "mode": m.get("mode"), "client_request_token": m.get("token"), "status": resp.status,
                   "error": ctx.error, "fault": ctx.fault, "principal": principal, "request_id": ctx.request_id}
            with self.lock:
                self.log.mutation(rec)
                if self.state_file:
                    self.save_state()
