"""The Kubernetes API per cluster: TLS with the per-run CA, EKS token authentication, lists."""

import base64
import calendar
import http.client
import json
import ssl
import time
import urllib.parse

from harness import T, Server, eq, ok, shared
from sigv4_client import MAIN, SECOND, Client, Creds, amz_now, presign

WEBHOOKS = "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations"
MUTATING = "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations"
APISERVICES = "/apis/apiregistration.k8s.io/v1/apiservices"


def token(cluster, creds=MAIN, region="us-east-1", host=None, signed=True, amz_date=None, expires=60, params=None):
    """An `aws eks get-token` token: k8s-aws-v1. + unpadded URL-safe base64 of a presigned STS URL."""
    host = host or "sts.%s.amazonaws.com" % region
    q = {"Action": "GetCallerIdentity", "Version": "2011-06-15"}
    q.update(params or {})
    path = presign("GET", host, "/", q, region, "sts", creds.akid, creds.secret, creds.token, expires=expires,
                   extra_signed={"x-k8s-aws-id": cluster} if signed else None, amz_date=amz_date)
    url = "https://%s%s" % (host, path)
    return "k8s-aws-v1." + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


class Kube(object):
    """A cluster's API as a kubeconfig would reach it: DescribeCluster's endpoint and CA."""

    def __init__(self, port, name, creds=MAIN, region="us-east-1"):
        d = Client(port, creds, region=region).eks("GET", "/clusters/" + name).json()["cluster"]
        self.endpoint = d["endpoint"]
        self.ca = base64.b64decode(d["certificateAuthority"]["data"]).decode()
        u = urllib.parse.urlsplit(self.endpoint)
        self.scheme, self.host, self.port, self.prefix = u.scheme, u.hostname, u.port, u.path

    def get(self, path, tok=None, method="GET", context=None):
        if self.scheme == "https":
            ctx = context or ssl.create_default_context(cadata=self.ca)
            conn = http.client.HTTPSConnection(self.host, self.port, context=ctx, timeout=10)
        else:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        h = {"Authorization": "Bearer " + tok} if tok else {}
        conn.request(method, self.prefix + path, headers=h)
        r = conn.getresponse()
        body = r.read()
        conn.close()
        try:
            return r.status, json.loads(body.decode())
        except ValueError:
            return r.status, body.decode()


def _s():
    return shared("default", "--time-scale", "0")


@T("k8s: DescribeCluster's endpoint and certificateAuthority.data reach a TLS API server on 127.0.0.1 that the "
   "per-run CA verifies (and the system trust store does not)")
def t_tls():
    s = _s()
    k = Kube(s.port, "prod-api")
    ok(k.endpoint.startswith("https://127.0.0.1:") and k.endpoint.endswith("/k8s/111122223333/us-east-1/prod-api"),
       k.endpoint)
    ok(k.ca.startswith("-----BEGIN CERTIFICATE-----"), "a PEM CA")
    st, v = k.get("/version", token("prod-api"))
    eq((st, v["major"], v["minor"]), (200, "1", "31+"), "version")
    ok(v["gitVersion"].startswith("v1.31.") and "-eks-" in v["gitVersion"], v["gitVersion"])
    try:
        k.get("/version", token("prod-api"), context=ssl.create_default_context())
        raise AssertionError("a certificate from the per-run CA verified against the system store")
    except ssl.SSLError:
        pass
    info = s.admin("GET", "/_sim/k8s")
    eq((info["tls"], info["ca_pem"]), (True, k.ca), "admin view")
    eq(info["clusters"]["111122223333/us-east-1/prod-api"], k.endpoint, "endpoint map")


@T("k8s: webhook configurations and APIServices from the fleet, Kubernetes list shapes, limit/continue paging")
def t_lists():
    s = _s()
    k = Kube(s.port, "dev-natinst", SECOND, "us-east-2")
    tok = token("dev-natinst", SECOND, "us-east-2")
    st, lst = k.get(WEBHOOKS, tok)
    eq((st, lst["kind"], lst["apiVersion"]), (200, "ValidatingWebhookConfigurationList",
                                              "admissionregistration.k8s.io/v1"), "list shape")
    ok("resourceVersion" in lst["metadata"] and "continue" not in lst["metadata"], lst["metadata"])
    eq([o["metadata"]["name"] for o in lst["items"]], ["policy-gate"], "validating")
    w = lst["items"][0]["webhooks"][0]
    eq((w["clientConfig"]["url"], w["failurePolicy"], w["sideEffects"], w["admissionReviewVersions"]),
       ("https://policy.example.com/validate", "Fail", "None", ["v1"]), "webhook with defaults")
    ok("kind" not in lst["items"][0], "list items carry no kind, as the API server sends them")
    st, lst = k.get(MUTATING, tok)
    eq([o["metadata"]["name"] for o in lst["items"]], ["cert-manager-webhook", "pod-identity-webhook"], "mutating")
    svc = lst["items"][0]["webhooks"][0]["clientConfig"]["service"]
    eq((svc["namespace"], svc["name"], svc["port"]), ("cert-manager", "cert-manager-webhook", 443), "service")
    eq(lst["items"][1]["webhooks"][0]["clientConfig"]["url"], "https://127.0.0.1:23443/mutate",
       "EKS's own control-plane-local webhook")
    st, full = k.get(APISERVICES, tok)
    names = [o["metadata"]["name"] for o in full["items"]]
    ok("v1beta1.metrics.k8s.io" in names and "v1." in names and "v1.apps" in names, names)
    metrics = [o for o in full["items"] if o["metadata"]["name"] == "v1beta1.metrics.k8s.io"][0]
    eq(metrics["spec"]["service"], {"namespace": "kube-system", "name": "metrics-server", "port": 443}, "aggregated")
    eq([o for o in full["items"] if o["metadata"]["name"] == "v1.apps"][0]["spec"]["service"], None, "local")
    got, cont, pages = [], None, 0
    while True:
        st, page = k.get(APISERVICES + "?limit=5" + ("&continue=" + urllib.parse.quote(cont) if cont else ""), tok)
        eq(st, 200, "page")
        got += [o["metadata"]["name"] for o in page["items"]]
        pages += 1
        cont = page["metadata"].get("continue")
        if cont:
            eq(page["metadata"]["remainingItemCount"], len(names) - len(got), "remainingItemCount")
        else:
            break
    eq((got, pages), (names, (len(names) + 4) // 5), "paging returns every item once, in order")
    st, one = k.get(APISERVICES + "/v1beta1.metrics.k8s.io", tok)
    eq((st, one["kind"], one["apiVersion"]), (200, "APIService", "apiregistration.k8s.io/v1"), "get by name")
    st, e = k.get(WEBHOOKS + "/nope", tok)
    eq((st, e["kind"], e["reason"], e["code"]), (404, "Status", "NotFound", 404), "missing object")
    eq(e["message"], 'validatingwebhookconfigurations.admissionregistration.k8s.io "nope" not found', "message")
    st, e = k.get("/apis/apps/v1/deployments", tok)
    eq((st, e["reason"], e["message"]), (404, "NotFound", "the server could not find the requested resource"),
       "a resource kind the cluster does not serve")
    eq(k.get(APISERVICES + "?continue=garbage", tok)[0], 400, "bad continue token")
    eq(k.get(APISERVICES + "?limit=-1", tok)[0], 400, "bad limit")
    eq(k.get(WEBHOOKS, tok, method="POST")[1]["reason"], "MethodNotAllowed", "read-only")
    st, lst = k.get(WEBHOOKS, token("dev-natinst", SECOND, "us-east-2"))
    eq(st, 200, "a second token works too")


@T("k8s: token rejections (expired, another cluster's name, tampered, x-k8s-aws-id unsigned, wrong secret, format "
   "rules) are 401 Unauthorized Status objects")
def t_rejected():
    s = _s()
    k = Kube(s.port, "prod-api")
    good = token("prod-api")
    eq(k.get(WEBHOOKS, good)[0], 200, "the good token")
    eq(k.get(WEBHOOKS, token("prod-api", amz_date=amz_now(-14 * 60)))[0], 200, "signed 14 minutes ago: still valid")
    eq(k.get(WEBHOOKS, token("prod-api", region="eu-west-1"))[0], 200, "a regional STS endpoint")
    eq(k.get(WEBHOOKS, token("prod-api", host="sts.amazonaws.com"))[0], 200, "the global STS endpoint")

    def url_of(tok):
        b = tok[len("k8s-aws-v1."):]
        return base64.urlsafe_b64decode(b + "=" * (-len(b) % 4)).decode()

    def tok_of(url):
        return "k8s-aws-v1." + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")
    url = url_of(good)
    sig = url.rsplit("X-Amz-Signature=", 1)[1]
    bad_sig = url[:-len(sig)] + ("0" if sig[0] != "0" else "1") + sig[1:]
    date = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["X-Amz-Date"][0]
    later = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(calendar.timegm(time.strptime(date, "%Y%m%dT%H%M%SZ")) + 1))
    cases = [
        ("expired (signed 16 minutes ago)", token("prod-api", amz_date=amz_now(-16 * 60))),
        ("another cluster's name", token("legacy-batch")),
        ("tampered signature", tok_of(bad_sig)),
        ("tampered X-Amz-Date", tok_of(url.replace(date, later))),
        ("x-k8s-aws-id not signed", token("prod-api", signed=False)),
        ("wrong secret", token("prod-api", Creds(MAIN.akid, "x" * 40))),
        ("unknown key", token("prod-api", Creds("AKIANOTAREALKEY00000", "x" * 40))),
        ("no prefix", good[len("k8s-aws-v1."):]),
        ("padded base64", good + "=="),
        ("not an STS host", token("prod-api", host="sts.example.com")),
        ("X-Amz-Expires above 900", token("prod-api", expires=901)),
        ("a parameter outside the allow-list", token("prod-api", params={"Extra": "1"})),
        ("another action", token("prod-api", params={"Action": "AssumeRole"})),
        ("another account's principal", token("prod-api", SECOND)),
    ]
    out = []
    for what, tok in cases:
        st, e = k.get(WEBHOOKS, tok)
        good_reply = st == 401 and isinstance(e, dict) and e.get("kind") == "Status" and \
            e.get("reason") == "Unauthorized" and e.get("code") == 401
        out.append((good_reply, "k8s: token refused: " + what, "%d %r" % (st, e)))
    st, e = k.get(WEBHOOKS, tok_of(url.replace("https://", "http://")))
    out.append((st == 401, "k8s: token refused: http scheme", "%d %r" % (st, e)))
    return out


@T("k8s: role sessions of the cluster's account may read; k8s_deny gives 403 Forbidden; anonymous access as EKS")
def t_principals():
    s = _s()
    c = Client(s.port, SECOND, region="us-east-2")
    r = c.sts("AssumeRole", {"RoleArn": "arn:aws:iam::444455556666:role/EksEgressAdmin", "RoleSessionName": "kube"})
    from harness import xml_to_obj
    cr = xml_to_obj(r.text)[1]["AssumeRoleResult"]["Credentials"]
    admin = Creds(cr["AccessKeyId"], cr["SecretAccessKey"], cr["SessionToken"])
    k = Kube(s.port, "dev-natinst", SECOND, "us-east-2")
    eq(k.get(WEBHOOKS, token("dev-natinst", admin, "us-east-2"))[0], 200, "a role session (session token in the URL)")
    r = Client(s.port).sts("AssumeRole", {"RoleArn": "arn:aws:iam::444455556666:role/EksAuditRole",
                                           "RoleSessionName": "audit"})
    cr = xml_to_obj(r.text)[1]["AssumeRoleResult"]["Credentials"]
    audit = Creds(cr["AccessKeyId"], cr["SecretAccessKey"], cr["SessionToken"])
    st, e = k.get(WEBHOOKS, token("dev-natinst", audit, "us-east-2"))
    eq((st, e["reason"], e["details"]), (403, "Forbidden", {"group": "admissionregistration.k8s.io",
                                                            "kind": "validatingwebhookconfigurations"}), "denied")
    eq(e["message"], 'validatingwebhookconfigurations.admissionregistration.k8s.io is forbidden: User '
       '"arn:aws:sts::444455556666:assumed-role/EksAuditRole/audit" cannot list resource '
       '"validatingwebhookconfigurations" in API group "admissionregistration.k8s.io" at the cluster scope', "message")
    # anonymous: Kubernetes 1.32 (dev-natinst) allows only the health endpoints
    eq(k.get("/healthz"), (200, "ok"), "healthz")
    eq(k.get(WEBHOOKS)[1]["reason"], "Unauthorized", "1.32: anonymous list")
    eq(k.get("/version")[0], 401, "1.32: anonymous version")
    old = Kube(s.port, "prod-api")                       # Kubernetes 1.31
    eq(old.get("/version")[0], 200, "before 1.32 /version is public")
    st, e = old.get(WEBHOOKS)
    eq((st, e["reason"]), (403, "Forbidden"), "before 1.32 anonymous is authenticated, then forbidden")
    ok('User "system:anonymous"' in e["message"], e["message"])
    eq(old.get(WEBHOOKS, "garbage")[0], 401, "a bad token is never treated as anonymous")
    log = s.admin("GET", "/_sim/log")["requests"]
    kube = [x for x in log if x["service"] == "kubernetes" and x["cluster"] == "dev-natinst"]
    ok(any(x["operation"] == "ListValidatingWebhookConfigurations" and x["status"] == 200 and
           x["principal"] == "arn:aws:sts::444455556666:assumed-role/EksEgressAdmin/kube" for x in kube),
       "the request log names the caller")


@T("k8s: a cluster still CREATING answers 503; --k8s-http serves plain HTTP; --no-k8s keeps placeholders; "
   "Kubernetes faults only when named")
def t_modes():
    s = Server("--time-scale", "1")
    try:
        c = Client(s.port)
        subs = c.eks("GET", "/clusters/prod-api").json()["cluster"]["resourcesVpcConfig"]["subnetIds"]
        r = c.eks("POST", "/clusters", body={"name": "young", "roleArn": "arn:aws:iam::111122223333:role/eksClusterRole",
                                             "resourcesVpcConfig": {"subnetIds": subs[:2]}})
        eq(r.json()["cluster"]["status"], "CREATING", "creating")
        ok("endpoint" not in r.json()["cluster"], "no endpoint while CREATING")
        k = Kube(s.port, "prod-api")
        k.prefix = k.prefix.replace("prod-api", "young")
        st, e = k.get("/version", token("young"))
        eq((st, e["reason"]), (503, "ServiceUnavailable"), "not yet")
        k.prefix = k.prefix.replace("young", "no-such")
        eq(k.get("/version", token("no-such"))[0], 404, "unknown cluster")
        s.faults(reset=True, throttle_rate="1@kubernetes:*")
        k = Kube(s.port, "prod-api")
        st, e = k.get(WEBHOOKS, token("prod-api"))
        eq((st, e["reason"]), (429, "TooManyRequests"), "kubernetes faults when named")
        eq(Client(s.port).eks("GET", "/clusters/prod-api").status, 200, "the AWS API is not affected")
    finally:
        s.stop()
    s = Server("--time-scale", "0", "--k8s-http")
    try:
        k = Kube(s.port, "prod-api")
        eq(k.scheme, "http", "plain HTTP on loopback")
        eq(k.get(WEBHOOKS, token("prod-api"))[0], 200, "works")
        eq(s.admin("GET", "/_sim/k8s")["ca_pem"], None, "no CA")
    finally:
        s.stop()
    s = Server("--time-scale", "0", "--no-k8s")
    try:
        d = Client(s.port).eks("GET", "/clusters/prod-api").json()["cluster"]
        ok(d["endpoint"].endswith(".eks.amazonaws.com"), d["endpoint"])
        eq(s.line, "ekssim listening on http://127.0.0.1:%d" % s.port, "the listening line is unchanged")
    finally:
        s.stop()
