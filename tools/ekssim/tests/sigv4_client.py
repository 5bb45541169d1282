"""A small stdlib SigV4 signer and HTTP client for the ekssim tests and bench.

Written separately from sim/sigv4.py (the verifier) so the two check each other.
It signs exactly what it sends: the path as given (caller passes it already
encoded), the query string as given, the listed headers, and the body.
"""

import datetime
import hashlib
import hmac
import http.client
import json
import time
from urllib.parse import quote, urlencode

EMPTY = hashlib.sha256(b"").hexdigest()


def _h(key, msg):
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def _enc(s):
    return quote(s, safe="-_.~")


def amz_now(offset=0.0):
    return datetime.datetime.fromtimestamp(time.time() + offset, datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _normalize(path):
    segs = []
    for seg in path.split("/"):
        if seg in ("", "."):
            continue
        if seg == "..":
            if segs:
                segs.pop()
        else:
            segs.append(seg)
    out = "/" + "/".join(segs)
    if path.endswith("/") and segs:
        out += "/"
    return out


def _canon_query(qs):
    if not qs:
        return ""
    pairs = []
    for part in qs.split("&"):
        if not part:
            continue
        k, _, v = part.partition("=")
        from urllib.parse import unquote
        pairs.append((_enc(unquote(k)), _enc(unquote(v))))
    pairs.sort()
    return "&".join("%s=%s" % p for p in pairs)


def sign(method, host, path, query, headers, body, region, service, akid, secret, token=None,
         amz_date=None, sign_token=True, drop=()):
    """Return headers (dict) with Authorization added.  headers must not contain host."""
    amz_date = amz_date or amz_now()
    hdrs = dict(headers)
    hdrs["host"] = host
    hdrs["x-amz-date"] = amz_date
    if token and sign_token:
        hdrs["x-amz-security-token"] = token
    for d in drop:
        hdrs.pop(d, None)
    names = sorted(k.lower() for k in hdrs)
    lower = dict((k.lower(), " ".join(str(v).split())) for k, v in hdrs.items())
    canon_headers = "".join("%s:%s\n" % (n, lower[n]) for n in names)
    signed = ";".join(names)
    payload = hashlib.sha256(body).hexdigest() if body else EMPTY
    # non-S3: dot segments and empty segments removed (like botocore), then the
    # (already encoded) path is encoded once more
    cpath = quote(_normalize(path), safe="/~")
    creq = "\n".join([method, cpath, _canon_query(query), canon_headers, signed, payload])
    scope = "%s/%s/%s/aws4_request" % (amz_date[:8], region, service)
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(creq.encode()).hexdigest()])
    k = _h(("AWS4" + secret).encode(), amz_date[:8])
    k = _h(k, region)
    k = _h(k, service)
    k = _h(k, "aws4_request")
    sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    out = dict(hdrs)
    del out["host"]
    if token and not sign_token:
        out["x-amz-security-token"] = token
    out["Authorization"] = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
        akid, scope, signed, sig)
    return out


def presign(method, host, path, params, region, service, akid, secret, token=None, expires=60,
            extra_signed=None, amz_date=None):
    """Query-string SigV4 (presigned URL).  extra_signed: dict of headers the caller will send."""
    amz_date = amz_date or amz_now()
    extra_signed = extra_signed or {}
    names = sorted(["host"] + [k.lower() for k in extra_signed])
    q = dict(params)
    q.update({"X-Amz-Algorithm": "AWS4-HMAC-SHA256",
              "X-Amz-Credential": "%s/%s/%s/%s/aws4_request" % (akid, amz_date[:8], region, service),
              "X-Amz-Date": amz_date, "X-Amz-Expires": str(expires), "X-Amz-SignedHeaders": ";".join(names)})
    if token:
        q["X-Amz-Security-Token"] = token
    qs = "&".join("%s=%s" % (_enc(k), _enc(v)) for k, v in sorted(q.items()))
    lower = {"host": host}
    lower.update(dict((k.lower(), v) for k, v in extra_signed.items()))
    canon_headers = "".join("%s:%s\n" % (n, lower[n]) for n in names)
    creq = "\n".join([method, quote(path, safe="/~"), qs, canon_headers, ";".join(names), EMPTY])
    scope = "%s/%s/%s/aws4_request" % (amz_date[:8], region, service)
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(creq.encode()).hexdigest()])
    k = _h(("AWS4" + secret).encode(), amz_date[:8])
    for part in (region, service, "aws4_request"):
        k = _h(k, part)
    sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    return "%s?%s&X-Amz-Signature=%s" % (path, qs, sig)


class Creds(object):
    def __init__(self, akid, secret, token=None):
        self.akid = akid
        self.secret = secret
        self.token = token


MAIN = Creds("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
SECOND = Creds("AKIAEKSSIM0000000002", "ekssim/SecondAccount/Secret+EXAMPLEKEY02")


class Reply(object):
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body.decode())

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def xml_code(self):
        import re
        m = re.search(r"<Code>([^<]*)</Code>", self.text)
        return m.group(1) if m else None

    def error_type(self):
        v = self.header("x-amzn-ErrorType")
        return v.split(":")[0] if v else None


class Client(object):
    """Signed requests to the simulator on one keep-alive connection."""

    def __init__(self, port, creds=MAIN, region="us-east-1", timeout=20):
        self.port = port
        self.creds = creds
        self.region = region
        self.timeout = timeout
        self.conn = None
        self.clock_offset = 0.0

    def _conn(self):
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        return self.conn

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def raw(self, method, target, headers=None, body=b""):
        c = self._conn()
        try:
            c.request(method, target, body=body or None, headers=headers or {})
            r = c.getresponse()
            data = r.read()
        except Exception:
            self.close()
            raise
        if r.getheader("Connection", "").lower() == "close":
            self.close()
        return Reply(r.status, r.getheaders(), data)

    def signed(self, service, method, path, query="", headers=None, body=b"", creds=None, region=None,
               host=None, amz_date=None, **kw):
        creds = creds or self.creds
        region = region or self.region
        host = host or "127.0.0.1:%d" % self.port
        h = sign(method, host, path, query, headers or {}, body, region, service, creds.akid, creds.secret,
                 creds.token, amz_date=amz_date or amz_now(self.clock_offset), **kw)
        h["Host"] = host
        target = path + ("?" + query if query else "")
        return self.raw(method, target, h, body)

    # protocol helpers
    def eks(self, method, path, query="", body=None, **kw):
        data = json.dumps(body).encode() if body is not None else b""
        hdrs = {"content-type": "application/json"} if body is not None else {}
        return self.signed("eks", method, path, query, hdrs, data, **kw)

    def query(self, service, action, params=None, version=None, **kw):
        p = {"Action": action, "Version": version or ("2016-11-15" if service == "ec2" else "2011-06-15")}
        p.update(params or {})
        body = urlencode(p, quote_via=quote, safe="-_.~").encode()
        return self.signed(service, "POST", "/", "", {"content-type": "application/x-www-form-urlencoded; "
                                                                        "charset=utf-8"}, body, **kw)

    def ec2(self, action, params=None, **kw):
        return self.query("ec2", action, params, **kw)

    def sts(self, action, params=None, **kw):
        return self.query("sts", action, params, **kw)

    def iam(self, action, params=None, **kw):
        """IAM: one global endpoint, signed for us-east-1."""
        kw.setdefault("region", "us-east-1")
        return self.query("iam", action, params, version="2010-05-08", **kw)

    def orgs(self, op, body=None, **kw):
        data = json.dumps(body or {}).encode()
        return self.signed("organizations", "POST", "/", "", {
            "content-type": "application/x-amz-json-1.1",
            "x-amz-target": "AWSOrganizationsV20161128." + op}, data, region="us-east-1", **kw)
