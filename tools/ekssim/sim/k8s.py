"""A minimal Kubernetes API per cluster, on its own listener (HTTPS on 127.0.0.1).

One listener serves every cluster under a path prefix:

  https://127.0.0.1:PORT/k8s/<account>/<region>/<cluster>

which is what DescribeCluster returns as ``endpoint``; its CA (generated per run
with openssl, see tlsca.py) is ``certificateAuthority.data`` (base64 of the PEM).

Served (GET only): /version, /healthz, /livez, /readyz,
/apis/admissionregistration.k8s.io/v1/{validating,mutating}webhookconfigurations[/NAME],
/apis/apiregistration.k8s.io/v1/apiservices[/NAME]; lists take ``limit`` and
``continue``.  Errors are Kubernetes Status objects (401, 403, 404, 400, 405).

Authentication is EKS's (aws-iam-authenticator): ``Authorization: Bearer
k8s-aws-v1.<unpadded URL-safe base64 of a presigned STS GetCallerIdentity URL>``.
The URL must be https, on an STS host, path /, with only the authenticator's
query parameters (case-insensitively unique), Action=GetCallerIdentity,
``x-k8s-aws-id`` among the signed headers, 0 <= X-Amz-Expires <= 900 and
X-Amz-Date under 15 minutes old; then the presigned request is verified as STS
would verify it, with the header ``x-k8s-aws-id: <this cluster's name>`` (so a
token for another cluster fails its signature).  Any principal of the cluster's
account (or listed in the cluster's ``k8s_allow``) may read; ``k8s_deny`` patterns
get 403.  Without a token only the health endpoints answer (and /version before
Kubernetes 1.32, as EKS allows anonymous access to it there).
"""

import base64
import binascii
import calendar
import fnmatch
import json
import re
import sys
import time
import uuid
from urllib.parse import parse_qsl, unquote, urlsplit

from . import k8sobjects, tlsca
from .httpserver import HTTPServer, Response
from .ids import h16, hexid

PREFIX = "/k8s/"
TOKEN_PREFIX = "k8s-aws-v1."
MAX_TOKEN_BYTES = 4096
PRESIGN_WINDOW = 900
ALLOWED_PARAMS = {"action", "version", "x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-expires",
                  "x-amz-security-token", "x-amz-signature", "x-amz-signedheaders"}
_STS_HOST = re.compile(r"^sts(-fips)?\.[a-z]{2}(-gov)?-[a-z]+-\d\.(amazonaws\.com(\.cn)?|api\.aws)$")
_B64URL = re.compile(r"^[A-Za-z0-9_-]*$")

RESOURCES = {
    ("admissionregistration.k8s.io", "validatingwebhookconfigurations"): "ValidatingWebhookConfiguration",
    ("admissionregistration.k8s.io", "mutatingwebhookconfigurations"): "MutatingWebhookConfiguration",
    ("apiregistration.k8s.io", "apiservices"): "APIService",
}
HEALTH = ("/healthz", "/livez", "/readyz")


class Unauthorized(Exception):
    pass


def decode_token(token, now):
    """The presigned URL inside an EKS token, after the authenticator's checks; raise Unauthorized."""
    if len(token) > MAX_TOKEN_BYTES:
        raise Unauthorized("token is too large")
    if not token.startswith(TOKEN_PREFIX):
        raise Unauthorized("token is missing expected \"k8s-aws-v1.\" prefix")
    body = token[len(TOKEN_PREFIX):]
    if not _B64URL.match(body):
        raise Unauthorized("token is not unpadded URL-safe base64")
    try:
        url = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise Unauthorized("token does not decode")
    try:
        u = urlsplit(url)
        host = u.hostname or ""
    except ValueError:
        raise Unauthorized("token is not a URL")
    if u.scheme != "https":
        raise Unauthorized("unexpected scheme %r in pre-signed URL" % u.scheme)
    if host != "sts.amazonaws.com" and not _STS_HOST.match(host):
        raise Unauthorized("unexpected hostname %r in pre-signed URL" % host)
    if u.path != "/":
        raise Unauthorized("unexpected path %r in pre-signed URL" % u.path)
    seen = {}
    for k, v in parse_qsl(u.query, keep_blank_values=True):
        lk = k.lower()
        if lk in seen:
            raise Unauthorized("query parameter %r is repeated" % k)
        if lk not in ALLOWED_PARAMS:
            raise Unauthorized("non-allowlisted query parameter %r" % k)
        seen[lk] = v
    if seen.get("action") != "GetCallerIdentity":
        raise Unauthorized("unexpected action parameter in pre-signed URL")
    if "x-k8s-aws-id" not in seen.get("x-amz-signedheaders", "").split(";"):
        raise Unauthorized("client did not sign the x-k8s-aws-id header in the pre-signed URL")
    try:
        expires = int(seen.get("x-amz-expires", ""))
    except ValueError:
        raise Unauthorized("X-Amz-Expires is missing or not a number")
    if expires < 0 or expires > PRESIGN_WINDOW:
        raise Unauthorized("X-Amz-Expires parameter out of range")
    try:
        signed_at = calendar.timegm(time.strptime(seen.get("x-amz-date", ""), "%Y%m%dT%H%M%SZ"))
    except ValueError:
        raise Unauthorized("X-Amz-Date is missing or malformed")
    if now > signed_at + PRESIGN_WINDOW:
        raise Unauthorized("X-Amz-Date parameter is expired (15 minute expiration)")
    return u.netloc, u.query


def _status(code, reason, message, details=None):
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
            "reason": reason}
    if details is not None:
        body["details"] = details
    body["code"] = code
    return _json(code, body)


def _json(code, obj):
    return Response(code, [("Content-Type", "application/json"), ("Audit-Id", str(uuid.uuid4())),
                           ("Cache-Control", "no-cache, private")],
                    json.dumps(obj, separators=(",", ":")).encode("utf-8"))


def _not_found():
    return _status(404, "NotFound", "the server could not find the requested resource", {})


def _continue_token(rv, start):
    d = {"v": "meta.k8s.io/v1", "rv": rv, "start": start + "\u0000"}
    return base64.b64encode(json.dumps(d, separators=(",", ":")).encode()).decode()


def _continue_start(token):
    try:
        d = json.loads(base64.b64decode(token.encode(), validate=True).decode())
        if d.get("v") != "meta.k8s.io/v1" or not isinstance(d.get("start"), str):
            raise ValueError
        return d["start"].rstrip("\u0000")
    except (ValueError, UnicodeDecodeError, AttributeError, binascii.Error):
        raise ValueError("continue key is not valid: invalid continue token")


def _matches(patterns, principal):
    for pat in patterns:
        if fnmatch.fnmatchcase(principal.arn, pat) or (principal.role_arn and
                                                       fnmatch.fnmatchcase(principal.role_arn, pat)):
            return True
    return False


class K8sApi(object):
    """The listener and the request handler; sim.k8s points at the running instance."""

    def __init__(self, sim, host="127.0.0.1", port=0, tls=True, on_error=None):
        self.sim = sim
        self.ca_pem = None
        self.tls = False
        ctx = None
        if tls:
            try:
                ctx, self.ca_pem = tlsca.server_context()
                self.tls = True
            except tlsca.CaError as e:
                print("ekssim: note: no TLS for the Kubernetes API (%s); serving plain HTTP on loopback" % e,
                      file=sys.stderr)
        self.server = HTTPServer(self.handle, host, port, on_error=on_error, date_fn=sim.date_header)
        if ctx is not None:
            # the handshake happens on the connection's own thread, at its first read
            self.server.sock = ctx.wrap_socket(self.server.sock, server_side=True, do_handshake_on_connect=False)
        self.url = "%s://127.0.0.1:%d" % ("https" if self.tls else "http", self.server.port)
        self._objects = {}

    def start(self):
        self.server.start()

    def stop(self):
        self.server.stop()

    def endpoint(self, rec):
        return "%s%s%s/%s/%s" % (self.url, PREFIX, rec["account"], rec["region"], rec["name"])

    def ca_data(self):
        return base64.b64encode(self.ca_pem.encode("ascii")).decode() if self.ca_pem else None

    # ------------------------------------------------------------ objects

    def objects(self, rec):
        key = (rec["account"], rec["region"], rec["name"], rec.get("created_at"))
        objs = self._objects.get(key)
        if objs is None:
            spec = rec.get("k8s") or {}
            seed = rec["arn"]
            objs = k8sobjects.webhook_configurations(spec, seed)
            objs["apiservices"] = k8sobjects.api_services(spec, seed)
            self._objects[key] = objs
        return objs

    # ------------------------------------------------------------ requests

    def handle(self, req):
        t0 = time.time()
        info = {"op": None, "cluster": None, "account": None, "region": None, "principal": None, "error": None}
        resp = self._handle(req, info)
        self.sim.log.add(t0, info["account"], info["region"], "kubernetes", info["op"], info["cluster"],
                         resp.status, info["error"], getattr(resp, "fault", None), info["principal"], None)
        return resp

    def _handle(self, req, info):
        path = req.path
        if not path.startswith(PREFIX):
            return _not_found()
        parts = path[len(PREFIX):].split("/", 3)
        if len(parts) < 3:
            return _not_found()
        account, region, name = parts[0], parts[1], unquote(parts[2])
        rest = "/" + parts[3] if len(parts) > 3 else "/"
        info.update(account=account, region=region, cluster=name, op=self._op_name(req.method, rest))
        with self.sim.lock:
            now = self.sim.state_now()
            rec = self.sim.eks.get(account, region, name, now)
            status = self.sim.eks._status(rec, now) if rec is not None else None
        if rec is None:
            info["error"] = "NotFound"
            return _status(404, "NotFound", "ekssim: no cluster %s/%s/%s" % (account, region, name), {})
        if status in ("CREATING", "DELETING"):
            info["error"] = "ServiceUnavailable"
            return _status(503, "ServiceUnavailable", "the API server of cluster %s is not available (%s)"
                           % (name, status), {})
        user, err = self._authenticate(req, rec)
        if err is not None:
            info["error"] = "Unauthorized"
            return err
        info["principal"] = user.arn if user is not None else "system:anonymous"
        dec = self.sim.faults.decide(info["op"], "kubernetes")
        if dec.pre == "throttle":
            r = _status(429, "TooManyRequests", "Too many requests, please try again later.", {"retryAfterSeconds": 1})
            r.headers.append(("Retry-After", "1"))
            info["error"] = "TooManyRequests"
            return r
        if dec.pre in ("internal", "unavailable"):
            info["error"] = "InternalError" if dec.pre == "internal" else "ServiceUnavailable"
            return _status(500 if dec.pre == "internal" else 503, info["error"],
                           "an error on the server prevented the request from succeeding", {})
        resp = self._serve(req, rec, rest, user, info)
        if dec.pre == "drop" or dec.post:
            resp.fault = "drop" if dec.pre == "drop" else dec.post
            resp.stall_seconds = self.sim.faults.stall_seconds
        resp.delay = dec.delay
        return resp

    @staticmethod
    def _op_name(method, rest):
        if rest in HEALTH:
            return "Health"
        if rest == "/version":
            return "GetVersion"
        segs = [s for s in rest.split("/") if s]
        if len(segs) >= 4 and segs[0] == "apis":
            kind = RESOURCES.get((segs[1], segs[3]))
            if kind:
                return ("List%ss" if len(segs) == 4 else "Get%s") % kind
        return "%s %s" % (method, rest)

    def _authenticate(self, req, rec):
        """(principal or None for anonymous, error response or None)."""
        auth = req.header("authorization")
        if not auth:
            return None, None
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None, _status(401, "Unauthorized", "Unauthorized")
        try:
            host, query = decode_token(token.strip(), self.sim.now())
        except Unauthorized:
            return None, _status(401, "Unauthorized", "Unauthorized")
        principal = self.sim.verify_presigned_sts(host, query, {"x-k8s-aws-id": [rec["name"]]})
        if principal is None:
            return None, _status(401, "Unauthorized", "Unauthorized")
        allow = (rec.get("k8s") or {}).get("k8s_allow", [])
        if principal.account != rec["account"] and principal.account not in allow and not _matches(allow, principal):
            # an identity with no access entry in this cluster is not authenticated by EKS
            return None, _status(401, "Unauthorized", "Unauthorized")
        return principal, None

    def _serve(self, req, rec, rest, user, info):
        if req.method != "GET":
            info["error"] = "MethodNotAllowed"
            return _status(405, "MethodNotAllowed", "the server does not allow this method on the requested "
                                                    "resource", {})
        if rest in HEALTH:
            return Response(200, [("Content-Type", "text/plain; charset=utf-8")], b"ok")
        anonymous_version = rest == "/version" and rec["version"] < "1.32"
        if user is None and not anonymous_version:
            if rec["version"] >= "1.32":
                # EKS restricts anonymous requests to the health endpoints from Kubernetes 1.32
                info["error"] = "Unauthorized"
                return _status(401, "Unauthorized", "Unauthorized")
            info["error"] = "Forbidden"
            return _status(403, "Forbidden", "forbidden: User \"system:anonymous\" cannot get path \"%s\"" % rest,
                           {})
        username = user.arn if user is not None else "system:anonymous"
        if rest == "/version":
            return self._version(rec)
        segs = [s for s in rest.split("/") if s]
        if len(segs) not in (4, 5) or segs[0] != "apis" or segs[2] != "v1" or (segs[1], segs[3]) not in RESOURCES:
            info["error"] = "NotFound"
            return _not_found()
        group, plural = segs[1], segs[3]
        verb = "list" if len(segs) == 4 else "get"
        if user is not None and _matches((rec.get("k8s") or {}).get("k8s_deny", []), user):
            info["error"] = "Forbidden"
            what = "%s.%s" % (plural, group)
            if verb == "get":
                what += " \"%s\"" % segs[4]
            return _status(403, "Forbidden", "%s is forbidden: User \"%s\" cannot %s resource \"%s\" in API group "
                                             "\"%s\" at the cluster scope" % (what, username, verb, plural, group),
                           {"name": segs[4], "group": group, "kind": plural} if verb == "get"
                           else {"group": group, "kind": plural})
        items = self.objects(rec)[plural]
        kind = RESOURCES[(group, plural)]
        api_version = "%s/v1" % group
        rv = str(100000 + int(h16("rv", rec["arn"]), 16) % 800000)
        if verb == "get":
            for o in items:
                if o["metadata"]["name"] == segs[4]:
                    out = {"kind": kind, "apiVersion": api_version}
                    out.update((k, v) for k, v in o.items() if k not in ("kind", "apiVersion"))
                    return _json(200, out)
            info["error"] = "NotFound"
            return _status(404, "NotFound", "%s.%s \"%s\" not found" % (plural, group, segs[4]),
                           {"name": segs[4], "group": group, "kind": plural})
        q = dict(parse_qsl(req.raw_query, keep_blank_values=True))
        try:
            limit = int(q.get("limit") or 0)
            if limit < 0:
                raise ValueError
        except ValueError:
            info["error"] = "BadRequest"
            return _status(400, "BadRequest", "limit: Invalid value: %r: must be a non-negative integer"
                           % q.get("limit"), {})
        start = 0
        if q.get("continue"):
            try:
                after = _continue_start(q["continue"])
            except ValueError as e:
                info["error"] = "BadRequest"
                return _status(400, "BadRequest", str(e), {})
            start = len([o for o in items if o["metadata"]["name"] < after])
        page = items[start:start + limit] if limit else items[start:]
        meta = {"resourceVersion": rv}
        if limit and start + limit < len(items):
            meta["continue"] = _continue_token(rv, items[start + limit]["metadata"]["name"])
            meta["remainingItemCount"] = len(items) - start - limit
        # a list's items carry no kind / apiVersion, as the API server sends them
        body = {"kind": kind + "List", "apiVersion": api_version, "metadata": meta,
                "items": [dict((k, v) for k, v in o.items() if k not in ("kind", "apiVersion")) for o in page]}
        return _json(200, body)

    @staticmethod
    def _version(rec):
        major, minor = rec["version"].split(".")
        return _json(200, {"major": major, "minor": minor + "+",
                           "gitVersion": "v%s.4-eks-%s" % (rec["version"], h16("git", rec["version"])[:7]),
                           "gitCommit": hexid(40, "commit", rec["version"]).lower(), "gitTreeState": "clean",
                           "buildDate": "2025-01-15T10:00:00Z", "goVersion": "go1.23.4", "compiler": "gc",
                           "platform": "linux/amd64"})
