"""STS, Organizations, IMDSv2 and container credentials."""

import calendar
import json
import re
import time

from harness import T, eq, fleet_file, ok, shared, xml_to_obj
from sigv4_client import Client, Creds, SECOND

WEB_TOKEN = "eyJhbGciOiJSUzI1NiJ9.ZWtzc2ltLWlyc2EtdG9rZW4.ekssim-irsa-signature"


def _s():
    return shared("default", "--time-scale", "0")


def _assume(c, arn, name="s1", **extra):
    p = {"RoleArn": arn, "RoleSessionName": name}
    p.update(extra)
    return c.sts("AssumeRole", p)


def _creds(reply, op="AssumeRole"):
    _, obj = xml_to_obj(reply.text)
    cr = obj[op + "Result"]["Credentials"]
    return Creds(cr["AccessKeyId"], cr["SecretAccessKey"], cr["SessionToken"]), obj[op + "Result"]


def _epoch(iso):
    return calendar.timegm(time.strptime(iso, "%Y-%m-%dT%H:%M:%SZ"))


@T("sts: GetCallerIdentity for an IAM user (XML shape)")
def t_gci():
    r = Client(_s().port).sts("GetCallerIdentity")
    ok(r.text.startswith('<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'), "root")
    tag, obj = xml_to_obj(r.text)
    res = obj["GetCallerIdentityResult"]
    eq((res["Account"], res["Arn"]), ("111122223333", "arn:aws:iam::111122223333:user/ekssim-admin"), "identity")
    ok(res["UserId"].startswith("AIDA"), "user id")
    eq(obj["ResponseMetadata"]["RequestId"], r.header("x-amzn-RequestId"), "request id")


@T("sts: AssumeRole cross-account gives ASIA keys, a session token and an expiry; they work in that account")
def t_assume_cross():
    c = Client(_s().port)
    r = _assume(c, "arn:aws:iam::444455556666:role/EksAuditRole", "audit", DurationSeconds="1800")
    eq(r.status, 200, r.text)
    cr, res = _creds(r)
    ok(re.match(r"^ASIA[A-Z2-7]{16}$", cr.akid), "ASIA key: " + cr.akid)
    eq(len(cr.secret), 40, "secret length")
    ok(len(cr.token) > 100 and "/" in cr.token + "/", "session token")
    exp = _epoch(res["Credentials"]["Expiration"])
    ok(abs(exp - (time.time() + 1800)) < 10, "expiry = now + DurationSeconds")
    eq(res["AssumedRoleUser"]["Arn"], "arn:aws:sts::444455556666:assumed-role/EksAuditRole/audit", "arn")
    ok(res["AssumedRoleUser"]["AssumedRoleId"].startswith("AROA") and
       res["AssumedRoleUser"]["AssumedRoleId"].endswith(":audit"), "role id")
    c2 = Client(c.port, cr)
    eq(sorted(c2.eks("GET", "/clusters").json()["clusters"]), ["dev-a", "dev-busy", "dev-failed", "dev-routed"],
       "account 444455556666 clusters")
    _, obj = xml_to_obj(c2.sts("GetCallerIdentity").text)
    eq(obj["GetCallerIdentityResult"]["Arn"], "arn:aws:sts::444455556666:assumed-role/EksAuditRole/audit", "whoami")
    r = c2.eks("POST", "/clusters/dev-a/update-config", body={"resourcesVpcConfig": {
        "controlPlaneEgressMode": "CUSTOMER_ROUTED"}})
    eq((r.status, r.error_type()), (403, "AccessDeniedException"), "audit role denies updates")


@T("sts: AssumeRole trust, external id, durations and validation errors")
def t_assume_rules():
    c = Client(_s().port)
    c2 = Client(c.port, SECOND)
    r = _assume(c2, "arn:aws:iam::111122223333:role/EksEgressAdmin")
    eq((r.status, r.xml_code()), (403, "AccessDenied"), "role does not trust 444455556666")
    ok("is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::111122223333:role/EksEgressAdmin"
       in r.text, "message")
    eq(_assume(c, "arn:aws:iam::444455556666:role/NoSuchRole").xml_code(), "AccessDenied", "unknown role")
    eq(_assume(c, "arn:aws:iam::444455556666:role/PartnerAccess").xml_code(), "AccessDenied", "external id missing")
    eq(_assume(c, "arn:aws:iam::444455556666:role/PartnerAccess", ExternalId="wrong").xml_code(), "AccessDenied",
       "external id wrong")
    eq(_assume(c, "arn:aws:iam::444455556666:role/PartnerAccess", ExternalId="ekssim-partner-42").status, 200,
       "external id right")
    eq(_assume(c, "arn:aws:iam::111122223333:role/EksEgressAdmin", DurationSeconds="7200").status, 200,
       "up to MaxSessionDuration")
    r = _assume(c, "arn:aws:iam::444455556666:role/EksAuditRole", DurationSeconds="7200")
    eq((r.status, r.xml_code()), (400, "ValidationError"), "above MaxSessionDuration")
    eq(_assume(c, "arn:aws:iam::444455556666:role/EksAuditRole", DurationSeconds="600").xml_code(),
       "ValidationError", "below 900")
    eq(_assume(c, "arn:aws:iam::444455556666:role/EksAuditRole", "x").xml_code(), "ValidationError",
       "session name too short")
    eq(c.sts("AssumeRole", {"RoleSessionName": "abc"}).xml_code(), "ValidationError", "RoleArn missing")
    eq(_assume(c, "not-an-arn").xml_code(), "ValidationError", "bad ARN")
    cr, _ = _creds(_assume(c, "arn:aws:iam::111122223333:role/EksEgressAdmin", "first", DurationSeconds="7200"))
    cc = Client(c.port, cr)
    r = _assume(cc, "arn:aws:iam::111122223333:role/EksEgressAdmin", "chained", DurationSeconds="7200")
    eq((r.status, r.xml_code()), (400, "ValidationError"), "role chaining limited to 1 hour")
    ok("role chaining" in r.text, "chaining message")
    r = _assume(cc, "arn:aws:iam::444455556666:role/EksAuditRole", "chained")
    eq(r.status, 200, "an account in the trust policy delegates to every principal in it, role sessions too")


@T("sts: AssumeRoleWithWebIdentity is unsigned and validates the token file contents")
def t_web_identity():
    c = Client(_s().port)
    from urllib.parse import urlencode

    def call(token, role="arn:aws:iam::111122223333:role/eksegress-irsa"):
        body = urlencode({"Action": "AssumeRoleWithWebIdentity", "Version": "2011-06-15", "RoleArn": role,
                          "RoleSessionName": "irsa", "WebIdentityToken": token}).encode()
        return c.raw("POST", "/", {"Host": "sts.us-east-1.amazonaws.com",
                                   "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}, body)
    r = call(WEB_TOKEN + "\n")
    eq(r.status, 200, r.text)
    cr, res = _creds(r, "AssumeRoleWithWebIdentity")
    eq(res["SubjectFromWebIdentityToken"], "system:serviceaccount:kube-system:eksegress", "subject")
    eq(res["Audience"], "sts.amazonaws.com", "audience")
    ok(res["Provider"].startswith("oidc.eks.us-east-1.amazonaws.com/id/"), "provider")
    eq(res["AssumedRoleUser"]["Arn"], "arn:aws:sts::111122223333:assumed-role/eksegress-irsa/irsa", "arn")
    eq(Client(c.port, cr).eks("GET", "/clusters").status, 200, "credentials usable")
    eq((call("not-a-known-token").status, call("not-a-known-token").xml_code()), (400, "InvalidIdentityToken"),
       "unknown token")
    eq(call("eyJhbGciOiJSUzI1NiJ9.ZXhwaXJlZA.ekssim-expired-signature").xml_code(), "ExpiredTokenException",
       "expired token")
    eq(call(WEB_TOKEN, "arn:aws:iam::111122223333:role/EksEgressAdmin").xml_code(), "AccessDenied", "role")
    r = c.raw("POST", "/", {"Host": "sts.us-east-1.amazonaws.com",
                            "Content-Type": "application/x-www-form-urlencoded"},
              b"Action=AssumeRole&Version=2011-06-15&RoleArn=x&RoleSessionName=y")
    eq(r.xml_code(), "MissingAuthenticationToken", "other actions stay signed")


@T("sts: GetSessionToken for users only; temporary credentials carry the user's identity")
def t_session_token():
    c = Client(_s().port)
    r = c.sts("GetSessionToken", {"DurationSeconds": "3600"})
    eq(r.status, 200, r.text)
    cr, _ = _creds(r, "GetSessionToken")
    _, obj = xml_to_obj(Client(c.port, cr).sts("GetCallerIdentity").text)
    eq(obj["GetCallerIdentityResult"]["Arn"], "arn:aws:iam::111122223333:user/ekssim-admin", "same user")
    eq(Client(c.port, cr).sts("GetSessionToken").xml_code(), "AccessDenied", "not with session credentials")


@T("organizations: ListAccounts (json-1.1, paginated), DescribeOrganization; members are refused")
def t_orgs():
    c = Client(_s().port)
    seen = []
    tok = None
    pages = 0
    while True:
        body = {"MaxResults": 1}
        if tok:
            body["NextToken"] = tok
        r = c.orgs("ListAccounts", body)
        eq(r.header("Content-Type"), "application/x-amz-json-1.1", "content type")
        d = r.json()
        seen += d["Accounts"]
        pages += 1
        tok = d.get("NextToken")
        if not tok:
            break
    eq([a["Id"] for a in seen], ["111122223333", "444455556666", "777788889999"], "accounts")
    eq(pages, 3, "pages")
    eq(seen[2]["State"], "SUSPENDED", "state")
    ok(all("Status" not in a for a in seen), "the retired Status field is not served by default")
    for k in ("Id", "Arn", "Email", "Name", "State", "JoinedMethod", "JoinedTimestamp"):
        ok(k in seen[0], "missing " + k)
    eq(len(c.orgs("ListAccounts").json()["Accounts"]), 3, "default page")
    r = c.orgs("ListAccounts", {"NextToken": "bad"})
    eq((r.status, r.json()["__type"]), (400, "InvalidInputException"), "bad token")
    r = c.orgs("ListAccounts", {"MaxResults": 50})
    eq(r.json()["__type"], "InvalidInputException", "MaxResults above 20")
    eq(c.orgs("DescribeOrganization").json()["Organization"]["MasterAccountId"], "111122223333", "org")
    r = Client(c.port, SECOND).orgs("ListAccounts")
    eq((r.status, r.json()["__type"]), (400, "AccessDeniedException"), "member account")
    eq(c.orgs("CreateAccount").json()["__type"], "UnknownOperationException", "unsupported op")


@T("imds: IMDSv2 token PUT, role and credentials GET, region; v1 and bad tokens refused")
def t_imds():
    s = _s()
    c = Client(s.port)
    eq(c.raw("PUT", "/latest/api/token").status, 400, "TTL header required")
    eq(c.raw("PUT", "/latest/api/token", {"X-aws-ec2-metadata-token-ttl-seconds": "99999"}).status, 400, "TTL range")
    eq(c.raw("PUT", "/latest/api/token", {"X-aws-ec2-metadata-token-ttl-seconds": "60",
                                          "X-Forwarded-For": "1.2.3.4"}).status, 403, "forwarded refused")
    r = c.raw("PUT", "/latest/api/token", {"X-aws-ec2-metadata-token-ttl-seconds": "21600"})
    eq(r.status, 200, "token")
    tok = r.text
    eq(r.header("X-aws-ec2-metadata-token-ttl-seconds"), "21600", "ttl echoed")
    h = {"X-aws-ec2-metadata-token": tok}
    eq(c.raw("GET", "/latest/meta-data/iam/security-credentials/").status, 401, "IMDSv1 refused")
    eq(c.raw("GET", "/latest/meta-data/iam/security-credentials/", {"X-aws-ec2-metadata-token": "x"}).status, 401,
       "bad token")
    role = c.raw("GET", "/latest/meta-data/iam/security-credentials/", h).text
    eq(role, "ekssim-node-role", "role name")
    d = json.loads(c.raw("GET", "/latest/meta-data/iam/security-credentials/" + role, h).text)
    eq((d["Code"], d["Type"]), ("Success", "AWS-HMAC"), "shape")
    for k in ("AccessKeyId", "SecretAccessKey", "Token", "Expiration", "LastUpdated"):
        ok(k in d, "missing " + k)
    eq(c.raw("GET", "/latest/meta-data/iam/security-credentials/other", h).status, 404, "unknown role")
    eq(c.raw("GET", "/latest/meta-data/placement/region", h).text, "us-east-1", "region")
    cr = Creds(d["AccessKeyId"], d["SecretAccessKey"], d["Token"])
    _, obj = xml_to_obj(Client(s.port, cr).sts("GetCallerIdentity").text)
    ok(obj["GetCallerIdentityResult"]["Arn"].startswith("arn:aws:sts::111122223333:assumed-role/ekssim-node-role/"),
       "usable")


@T("container credentials: Authorization token checked on /v1/credentials and /ecs/creds")
def t_container():
    s = _s()
    c = Client(s.port)
    eq(c.raw("GET", "/v1/credentials").status, 401, "no token")
    eq(c.raw("GET", "/v1/credentials", {"Authorization": "wrong"}).status, 401, "wrong token")
    for p in ("/v1/credentials", "/ecs/creds"):
        r = c.raw("GET", p, {"Authorization": "ekssim-container-token"})
        eq(r.status, 200, p)
        d = r.json()
        for k in ("AccessKeyId", "SecretAccessKey", "Token", "Expiration", "AccountId", "RoleArn"):
            ok(k in d, "missing " + k)
    cr = Creds(d["AccessKeyId"], d["SecretAccessKey"], d["Token"])
    eq(Client(s.port, cr).eks("GET", "/clusters").status, 200, "usable")


def _org_fleet(status_field):
    spec = {"format": "ekssim-fleet/1",
            "organization": {"id": "o-statetest", "management_account": "111122223333",
                             "account_status": status_field},
            "accounts": [
                {"id": "111122223333", "users": [{"name": "a", "access_key_id": "AKIDEXAMPLE",
                                                  "secret_access_key": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}]},
                {"id": "222233334444", "state": "ACTIVE",
                 "roles": [{"name": "OrganizationAccountAccessRole", "trust": ["111122223333"]}]},
                {"id": "333344445555", "state": "ACTIVE", "roles": []},
                {"id": "444455556666", "state": "SUSPENDED"},
                {"id": "555566667777", "state": "PENDING_CLOSURE"},
                {"id": "666677778888", "state": "CLOSED"},
                {"id": "777788889999", "status": "SUSPENDED"}]}
    return fleet_file(spec)


@T("organizations: State (ACTIVE, SUSPENDED, PENDING_CLOSURE, CLOSED) by default; organization.account_status "
   "serves the retired Status too ('both') or only ('legacy'); an account whose role cannot be assumed")
def t_org_state():
    from harness import Server
    want = {"111122223333": "ACTIVE", "222233334444": "ACTIVE", "333344445555": "ACTIVE",
            "444455556666": "SUSPENDED", "555566667777": "PENDING_CLOSURE", "666677778888": "CLOSED",
            "777788889999": "SUSPENDED"}
    legacy = dict(want, **{"666677778888": "SUSPENDED"})
    for field in ("state", "both", "legacy"):
        s = Server("--time-scale", "0", "--fleet", _org_fleet(field))
        try:
            c = Client(s.port)
            accts = c.orgs("ListAccounts").json()["Accounts"]
            got_state = dict((a["Id"], a.get("State")) for a in accts)
            got_status = dict((a["Id"], a.get("Status")) for a in accts)
            eq(got_state, want if field != "legacy" else dict((k, None) for k in want), field + ": State")
            eq(got_status, legacy if field != "state" else dict((k, None) for k in want), field + ": Status")
            one = c.orgs("DescribeAccount", {"AccountId": "666677778888"}).json()["Account"]
            eq((one.get("State"), one.get("Status")), {"state": ("CLOSED", None), "both": ("CLOSED", "SUSPENDED"),
                                                        "legacy": (None, "SUSPENDED")}[field], field + ": describe")
            if field == "state":
                ok_role = c.sts("AssumeRole", {"RoleArn": "arn:aws:iam::222233334444:role/OrganizationAccountAccessRole",
                                               "RoleSessionName": "audit"})
                eq(ok_role.status, 200, "an assumable member role")
                r = c.sts("AssumeRole", {"RoleArn": "arn:aws:iam::333344445555:role/OrganizationAccountAccessRole",
                                         "RoleSessionName": "audit"})
                eq((r.status, r.xml_code()), (403, "AccessDenied"), "an ACTIVE account without the role")
        finally:
            s.stop()


@T("sts: AssumeRole's SourceIdentity is logged with every request of the session and of chained sessions")
def t_source_identity_logged():
    from harness import Server
    s = Server("--time-scale", "0")
    try:
        c = Client(s.port)
        r = _assume(c, "arn:aws:iam::444455556666:role/EksAuditRole", "eksegress-audit", SourceIdentity="alice")
        eq(r.status, 200, r.text)
        cr, res = _creds(r)
        eq(res.get("SourceIdentity"), "alice", "echoed")
        member = Client(s.port, cr)
        eq(member.eks("GET", "/clusters").status, 200, "list")
        chained, _ = _creds(_assume(member, "arn:aws:iam::444455556666:role/EksEgressAdmin", "next"))
        eq(Client(s.port, chained).eks("GET", "/clusters").status, 200, "chained list")
        plain, _ = _creds(_assume(c, "arn:aws:iam::444455556666:role/EksAuditRole", "plain"))
        eq(Client(s.port, plain).eks("GET", "/clusters").status, 200, "list without a source identity")
        seen = [(q["principal"], q["source_identity"]) for q in s.admin("GET", "/_sim/log")["requests"]
                if q["operation"] == "ListClusters"]
        eq(seen, [("arn:aws:sts::444455556666:assumed-role/EksAuditRole/eksegress-audit", "alice"),
                  ("arn:aws:sts::444455556666:assumed-role/EksEgressAdmin/next", "alice"),
                  ("arn:aws:sts::444455556666:assumed-role/EksAuditRole/plain", None)], "log")
    finally:
        s.stop()
