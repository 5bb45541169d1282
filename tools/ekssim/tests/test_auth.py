"""SigV4 verification through the server: each failure gets the protocol's code."""

import base64
import re

from harness import T, Server, eq, ok, shared, xml_to_obj
from sigv4_client import Client, Creds, MAIN, SECOND, amz_now, presign, sign


def _srv():
    return shared("default", "--time-scale", "0")


def _all_protocols(c, **kw):
    """(protocol, reply) for one call of each protocol."""
    return [("eks", c.eks("GET", "/clusters", **kw)),
            ("ec2", c.ec2("DescribeVpcs", **kw)),
            ("sts", c.sts("GetCallerIdentity", **kw)),
            ("orgs", c.orgs("ListAccounts", **kw))]


def _code(proto, r):
    if proto == "eks":
        return r.error_type()
    if proto == "orgs":
        return r.json().get("__type")
    return r.xml_code()


def _expect(replies, table):
    for proto, r in replies:
        status, code = table[proto]
        eq((r.status, _code(proto, r)), (status, code), "%s status/code (%s)" % (proto, r.text[:200]))
        if proto == "ec2":
            ok(re.search(r"<Response><Errors><Error><Code>[^<]+</Code><Message>[^<]*</Message></Error></Errors>"
                         r"<RequestID>[0-9a-f-]{36}</RequestID></Response>", r.text), "EC2 error shape")
        if proto == "sts":
            ok("<ErrorResponse" in r.text and "<Type>" in r.text and "<RequestId>" in r.text, "STS error shape")
        if proto == "eks":
            ok("message" in r.json(), "EKS error body has message")


@T("auth: valid signatures accepted for EKS, EC2, STS and Organizations")
def t_valid():
    c = Client(_srv().port)
    for proto, r in _all_protocols(c):
        eq(r.status, 200, "%s status (%s)" % (proto, r.text[:200]))


@T("auth: missing authorization -> MissingAuthenticationToken(Exception) per protocol")
def t_missing():
    c = Client(_srv().port)
    rs = [("eks", c.raw("GET", "/clusters", {"Host": "eks.us-east-1.amazonaws.com"})),
          ("ec2", c.raw("POST", "/", {"Host": "ec2.us-east-1.amazonaws.com",
                                      "Content-Type": "application/x-www-form-urlencoded"},
                        b"Action=DescribeVpcs&Version=2016-11-15")),
          ("sts", c.raw("POST", "/", {"Host": "sts.amazonaws.com",
                                      "Content-Type": "application/x-www-form-urlencoded"},
                        b"Action=GetCallerIdentity&Version=2011-06-15")),
          ("orgs", c.raw("POST", "/", {"X-Amz-Target": "AWSOrganizationsV20161128.ListAccounts",
                                       "Content-Type": "application/x-amz-json-1.1"}, b"{}"))]
    _expect(rs, {"eks": (403, "MissingAuthenticationTokenException"), "ec2": (401, "MissingAuthenticationToken"),
                 "sts": (403, "MissingAuthenticationToken"), "orgs": (400, "MissingAuthenticationTokenException")})


@T("auth: incomplete Authorization header -> IncompleteSignature(Exception)")
def t_incomplete():
    c = Client(_srv().port)
    bad = {"Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/eks/aws4_request",
           "X-Amz-Date": amz_now(), "Host": "eks.us-east-1.amazonaws.com"}
    r = c.raw("GET", "/clusters", bad)
    eq((r.status, r.error_type()), (403, "IncompleteSignatureException"), "eks")
    ok("Signature" in r.json()["message"], "message names the missing part")
    bad["Host"] = "sts.us-east-1.amazonaws.com"
    r = c.raw("POST", "/", dict(bad, **{"Content-Type": "application/x-www-form-urlencoded"}),
              b"Action=GetCallerIdentity&Version=2011-06-15")
    eq((r.status, r.xml_code()), (400, "IncompleteSignature"), "sts")
    bad["Host"] = "ec2.us-east-1.amazonaws.com"
    r = c.raw("POST", "/", dict(bad, **{"Content-Type": "application/x-www-form-urlencoded"}),
              b"Action=DescribeVpcs&Version=2016-11-15")
    eq((r.status, r.xml_code()), (400, "IncompleteSignature"), "ec2")


@T("auth: unknown access key -> UnrecognizedClientException / AuthFailure / InvalidClientTokenId")
def t_unknown_key():
    c = Client(_srv().port, Creds("AKIANOTAREALKEY00000", "x" * 40))
    _expect(_all_protocols(c), {"eks": (403, "UnrecognizedClientException"), "ec2": (401, "AuthFailure"),
                                "sts": (403, "InvalidClientTokenId"), "orgs": (400, "UnrecognizedClientException")})


@T("auth: wrong secret -> InvalidSignatureException / AuthFailure / SignatureDoesNotMatch")
def t_bad_sig():
    c = Client(_srv().port, Creds(MAIN.akid, MAIN.secret[:-1] + "X"))
    _expect(_all_protocols(c), {"eks": (403, "InvalidSignatureException"), "ec2": (401, "AuthFailure"),
                                "sts": (403, "SignatureDoesNotMatch"), "orgs": (400, "InvalidSignatureException")})


@T("auth: a signed header changed in transit (or a wrong body hash) is a signature mismatch")
def t_tamper():
    s = _srv()
    c = Client(s.port)
    host = "127.0.0.1:%d" % s.port
    h = sign("GET", host, "/clusters", "maxResults=5", {}, b"", "us-east-1", "eks", MAIN.akid, MAIN.secret)
    h["Host"] = host
    r = c.raw("GET", "/clusters?maxResults=6", h)
    eq((r.status, r.error_type()), (403, "InvalidSignatureException"), "query changed")
    body = b"Action=GetCallerIdentity&Version=2011-06-15"
    h = sign("POST", host, "/", "", {"content-type": "application/x-www-form-urlencoded",
                                     "x-amz-content-sha256": "0" * 64}, body, "us-east-1", "sts",
             MAIN.akid, MAIN.secret)
    h["Host"] = host
    r = c.raw("POST", "/", h, body)
    eq((r.status, r.xml_code()), (403, "SignatureDoesNotMatch"), "wrong x-amz-content-sha256")


@T("auth: clock skew beyond 5 minutes -> Signature expired / RequestExpired / not yet current")
def t_skew():
    c = Client(_srv().port)
    c.clock_offset = -400
    rs = _all_protocols(c)
    _expect(rs, {"eks": (403, "InvalidSignatureException"), "ec2": (400, "RequestExpired"),
                 "sts": (403, "SignatureDoesNotMatch"), "orgs": (400, "InvalidSignatureException")})
    ok(rs[0][1].json()["message"].startswith("Signature expired: "), "EKS message")
    ok(re.search(r"<Message>Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z "
                 r"\(\d{8}T\d{6}Z - 5 min\.\)</Message>", rs[2][1].text), "STS message: " + rs[2][1].text)
    c.clock_offset = 400
    r = c.eks("GET", "/clusters")
    ok(r.status == 403 and "not yet current" in r.json()["message"], "future: " + r.text)
    c.clock_offset = 250
    eq(c.eks("GET", "/clusters").status, 200, "within the window")


@T("auth: region comes from the credential scope; unknown region and wrong service scope refused")
def t_scope():
    c = Client(_srv().port, region="us-west-2")
    eq(sorted(c.eks("GET", "/clusters").json()["clusters"]), ["analytics", "isolated-lab", "payments"],
       "us-west-2 clusters")
    c = Client(_srv().port, region="xx-nowhere-1")
    r = c.eks("GET", "/clusters")
    eq((r.status, r.error_type()), (403, "InvalidSignatureException"), "unknown region")
    # signed for ec2 but sent to the EKS host name with an EKS path: scope wins (routes to ec2) and fails
    s = _srv()
    host = "eks.us-east-1.amazonaws.com"
    h = sign("GET", host, "/clusters", "", {}, b"", "us-east-1", "s3", MAIN.akid, MAIN.secret)
    h["Host"] = host
    r = Client(s.port).raw("GET", "/clusters", h)
    eq((r.status, r.error_type()), (403, "InvalidSignatureException"), "wrong service in scope")
    ok("correct service" in r.json()["message"], "message")


@T("auth: routing falls back to the Host name for unsigned requests")
def t_host_routing():
    c = Client(_srv().port)
    r = c.raw("GET", "/anything", {"Host": "eks.eu-west-1.amazonaws.com"})
    eq(r.error_type(), "MissingAuthenticationTokenException", "eks host")
    r = c.raw("POST", "/", {"Host": "ec2.eu-west-1.amazonaws.com"}, b"x=1")
    eq(r.xml_code(), "MissingAuthenticationToken", "ec2 host")
    r = c.raw("POST", "/", {"Host": "sts.amazonaws.com"}, b"x=1")
    ok("<ErrorResponse" in r.text, "sts host")


@T("auth: temporary credentials need their session token (missing or wrong token refused)")
def t_session_token():
    s = _srv()
    c = Client(s.port)
    r = c.sts("AssumeRole", {"RoleArn": "arn:aws:iam::111122223333:role/EksEgressAdmin",
                             "RoleSessionName": "auth-test"})
    eq(r.status, 200, "AssumeRole " + r.text[:300])
    _, obj = xml_to_obj(r.text)
    cr = obj["AssumeRoleResult"]["Credentials"]
    tmp = Creds(cr["AccessKeyId"], cr["SecretAccessKey"], cr["SessionToken"])
    for proto, rr in _all_protocols(Client(s.port, tmp)):
        eq(rr.status, 200, "%s with session token (%s)" % (proto, rr.text[:200]))
    no_tok = Creds(tmp.akid, tmp.secret, None)
    _expect(_all_protocols(Client(s.port, no_tok)),
            {"eks": (403, "UnrecognizedClientException"), "ec2": (401, "AuthFailure"),
             "sts": (403, "InvalidClientTokenId"), "orgs": (400, "UnrecognizedClientException")})
    wrong = Creds(tmp.akid, tmp.secret, tmp.token[:-4] + "AAAA")
    _expect(_all_protocols(Client(s.port, wrong)),
            {"eks": (403, "UnrecognizedClientException"), "ec2": (401, "AuthFailure"),
             "sts": (403, "InvalidClientTokenId"), "orgs": (400, "UnrecognizedClientException")})
    lt = Creds(MAIN.akid, MAIN.secret, "bogus-token")
    r = Client(s.port, lt).eks("GET", "/clusters")
    eq(r.error_type(), "UnrecognizedClientException", "token with a long-term key")
    # a token added after signing (unsigned header) is still accepted
    r = Client(s.port, tmp).eks("GET", "/clusters", sign_token=False)
    eq(r.status, 200, "unsigned x-amz-security-token header")


@T("auth: expired temporary credentials -> ExpiredTokenException / RequestExpired / ExpiredToken")
def t_expired_token():
    s = Server("--time-scale", "0")
    try:
        c = Client(s.port)
        r = c.sts("AssumeRole", {"RoleArn": "arn:aws:iam::111122223333:role/EksEgressAdmin",
                                 "RoleSessionName": "short", "DurationSeconds": "900"})
        _, obj = xml_to_obj(r.text)
        cr = obj["AssumeRoleResult"]["Credentials"]
        tmp = Creds(cr["AccessKeyId"], cr["SecretAccessKey"], cr["SessionToken"])
        s.faults(clock_skew=1000)           # the simulator clock moves past the expiry
        c2 = Client(s.port, tmp)
        c2.clock_offset = 1000              # the client follows the server's Date header
        _expect(_all_protocols(c2), {"eks": (403, "ExpiredTokenException"), "ec2": (400, "RequestExpired"),
                                     "sts": (400, "ExpiredToken"), "orgs": (400, "ExpiredTokenException")})
    finally:
        s.stop()


def _token_url(s, creds, cluster, region="us-east-1", amz_date=None):
    host = "sts.%s.amazonaws.com" % region
    return host, presign("GET", host, "/", {"Action": "GetCallerIdentity", "Version": "2011-06-15"}, region, "sts",
                         creds.akid, creds.secret, creds.token, expires=60, extra_signed={"x-k8s-aws-id": cluster},
                         amz_date=amz_date)


@T("auth: presigned STS GetCallerIdentity (x-k8s-aws-id signed) verifies; JSON with Accept: application/json")
def t_presigned():
    s = _srv()
    c = Client(s.port)
    host, url = _token_url(s, MAIN, "prod-api")
    r = c.raw("GET", url, {"Host": host, "x-k8s-aws-id": "prod-api", "Accept": "application/json"})
    eq(r.status, 200, "status " + r.text[:300])
    d = r.json()["GetCallerIdentityResponse"]
    eq(d["GetCallerIdentityResult"]["Account"], "111122223333", "account")
    ok(d["ResponseMetadata"]["RequestId"], "request id")
    r = c.raw("GET", url, {"Host": host, "x-k8s-aws-id": "prod-api"})
    ok(r.status == 200 and "<GetCallerIdentityResult>" in r.text, "XML without Accept")
    r = c.raw("GET", url, {"Host": host, "x-k8s-aws-id": "other-cluster", "Accept": "application/json"})
    eq((r.status, r.json()["Error"]["Code"]), (403, "SignatureDoesNotMatch"), "cluster id changed")
    r = c.raw("GET", url, {"Host": host, "Accept": "application/json"})
    eq(r.status, 403, "x-k8s-aws-id header missing")
    # X-Amz-Expires=60, but STS honours such URLs for 15 minutes after X-Amz-Date
    _, old = _token_url(s, MAIN, "prod-api", amz_date=amz_now(-600))
    r = c.raw("GET", old, {"Host": host, "x-k8s-aws-id": "prod-api"})
    eq(r.status, 200, "10-minute-old token URL")
    _, stale = _token_url(s, MAIN, "prod-api", amz_date=amz_now(-960))
    r = c.raw("GET", stale, {"Host": host, "x-k8s-aws-id": "prod-api"})
    eq((r.status, r.xml_code()), (403, "SignatureDoesNotMatch"), "16-minute-old token URL")
    # the token format of `aws eks get-token` round-trips
    tok = "k8s-aws-v1." + base64.urlsafe_b64encode(("https://" + host + url).encode()).decode().rstrip("=")
    raw = base64.urlsafe_b64decode(tok[len("k8s-aws-v1."):] + "=" * (-len(tok) % 4)).decode()
    path = raw.split(host, 1)[1]
    eq(c.raw("GET", path, {"Host": host, "x-k8s-aws-id": "prod-api"}).status, 200, "decoded token URL")


@T("auth: presigned URL with temporary credentials (token in the query) verifies")
def t_presigned_token():
    s = _srv()
    c = Client(s.port)
    r = c.sts("AssumeRole", {"RoleArn": "arn:aws:iam::444455556666:role/EksAuditRole", "RoleSessionName": "tok"})
    _, obj = xml_to_obj(r.text)
    cr = obj["AssumeRoleResult"]["Credentials"]
    tmp = Creds(cr["AccessKeyId"], cr["SecretAccessKey"], cr["SessionToken"])
    host, url = _token_url(s, tmp, "dev-a", region="eu-west-1")
    ok("X-Amz-Security-Token=" in url, "token in URL")
    r = c.raw("GET", url, {"Host": host, "x-k8s-aws-id": "dev-a", "Accept": "application/json"})
    eq(r.status, 200, r.text[:300])
    arn = r.json()["GetCallerIdentityResponse"]["GetCallerIdentityResult"]["Arn"]
    eq(arn, "arn:aws:sts::444455556666:assumed-role/EksAuditRole/tok", "assumed role arn")


@T("auth: a region the account has not enabled answers like an unknown key")
def t_disabled_region():
    c = Client(_srv().port, region="ap-east-1")
    _expect(_all_protocols(c)[:3], {"eks": (403, "UnrecognizedClientException"), "ec2": (401, "AuthFailure"),
                                    "sts": (403, "InvalidClientTokenId")})
    c = Client(_srv().port, region="af-south-1")     # opted in for account 111122223333
    eq(c.eks("GET", "/clusters").status, 200, "opted-in region works")
    c = Client(_srv().port, SECOND, region="af-south-1")
    eq(c.ec2("DescribeVpcs").status, 401, "not opted in for 444455556666")


@T("auth: a region denied by SCP -> AccessDeniedException / UnauthorizedOperation / AccessDenied")
def t_scp_region():
    c = Client(_srv().port, region="sa-east-1")
    rs = _all_protocols(c)[:2] + [("sts", c.sts("AssumeRole", {
        "RoleArn": "arn:aws:iam::111122223333:role/EksEgressAdmin", "RoleSessionName": "x"}))]
    _expect(rs, {"eks": (403, "AccessDeniedException"), "ec2": (403, "UnauthorizedOperation"),
                 "sts": (403, "AccessDenied")})
    ok("service control policy" in rs[0][1].json()["message"], "EKS message mentions the SCP")
    ok("Encoded authorization failure message" in rs[1][1].text, "EC2 message shape")
    eq(c.sts("GetCallerIdentity").status, 200, "GetCallerIdentity cannot be denied")
    eq(Client(_srv().port, SECOND, region="ap-southeast-1").eks("GET", "/clusters").status, 403,
       "per-account SCP region")
    eq(Client(_srv().port, SECOND, region="sa-east-1").eks("GET", "/clusters").status, 200,
       "sa-east-1 not denied for 444455556666")
