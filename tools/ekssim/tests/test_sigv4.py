"""SigV4 verifier unit tests (in-process)."""

import calendar
import json
import os
import time

from harness import T, eq, HERE
from sim import sigv4

# one copy of the aws-c-auth suite, shared with the busted specs (issue 9)
SUITE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(HERE))), "spec", "fixtures", "sigv4",
                     "aws-c-auth-v4")


def _parse_request(text):
    lines = text.split("\n")
    method, _, rest = lines[0].partition(" ")
    target = rest[:rest.rfind(" HTTP/1.1")]
    headers = {}
    last = None
    body_at = None
    for i, ln in enumerate(lines[1:], 1):
        if ln == "":
            body_at = i + 1
            break
        if ln[0] in " \t":
            headers[last][-1] += " " + ln.strip()
            continue
        n, _, v = ln.partition(":")
        last = n.lower()
        headers.setdefault(last, []).append(v)
    body = "\n".join(lines[body_at:]) if body_at else ""
    return method, target, headers, body.encode()


@T("sigv4: aws-c-auth suite, header and presigned forms")
def t_suite():
    results = []
    for case in sorted(os.listdir(SUITE)):
        ctx = json.load(open(os.path.join(SUITE, case, "context.json")))
        now = calendar.timegm(time.strptime(ctx["timestamp"], "%Y-%m-%dT%H:%M:%SZ"))
        for kind in ("header", "query"):
            name = "sigv4 suite %s (%s)" % (case, kind)
            try:
                text = open(os.path.join(SUITE, case, kind + "-signed-request.txt"), encoding="utf-8").read()
                method, target, headers, body = _parse_request(text)
                target = target.encode("utf-8").decode("latin-1")
                path, _, q = target.partition("?")
                pairs = sigv4.split_query(q)
                info = sigv4.parse(pairs, headers)
                sigv4.check_time(info, now)
                creq = sigv4.verify_signature(ctx["credentials"]["secret_access_key"], method, path, pairs,
                                              headers, body, info, normalize=ctx["normalize"])
                want = open(os.path.join(SUITE, case, kind + "-canonical-request.txt"), encoding="utf-8").read()
                if creq != want and not ctx.get("omit_session_token"):
                    raise AssertionError("canonical request differs:\n%r\n%r" % (creq, want))
                # a one-character change to the signature must fail
                info.signature = info.signature[:-1] + ("0" if info.signature[-1] != "0" else "1")
                try:
                    sigv4.verify_signature(ctx["credentials"]["secret_access_key"], method, path, pairs,
                                           headers, body, info, normalize=ctx["normalize"])
                    raise AssertionError("tampered signature accepted")
                except sigv4.SigError as e:
                    eq(e.kind, "mismatch", "kind")
                results.append((True, name, None))
            except Exception as e:
                results.append((False, name, "%s: %s" % (type(e).__name__, e)))
    if len(results) != 76:
        results.append((False, "sigv4 suite: 38 cases in %s" % SUITE, "found %d" % (len(results) // 2)))
    return results


@T("sigv4: wire path is encoded once more and normalized (non-S3)")
def t_paths():
    eq(sigv4.canonical_uri("/%20/foo"), "/%2520/foo", "double encoding")
    eq(sigv4.canonical_uri("/example space/"), "/example%20space/", "raw space")
    eq(sigv4.canonical_uri("//example//"), "/example/", "repeated slashes")
    eq(sigv4.canonical_uri("/example/.."), "/", "dot-dot")
    eq(sigv4.canonical_uri("/./example"), "/example", "dot")
    eq(sigv4.canonical_uri(""), "/", "empty")
    eq(sigv4.canonical_uri("/clusters/a%2Fb"), "/clusters/a%252Fb", "encoded slash")
    eq(sigv4.canonical_uri("/a/./b/../c", normalize=False), "/a/./b/../c", "no normalization")


@T("sigv4: query canonicalization sorts by encoded name then value")
def t_query():
    pairs = sigv4.split_query("b=2&a=z&a=Y&Param-3=x&%E1%88%B4=1&e&sp=a%20b&plus=a+b")
    eq(sigv4.canonical_query(pairs),
       "%E1%88%B4=1&Param-3=x&a=Y&a=z&b=2&e=&plus=a%2Bb&sp=a%20b", "canonical query")


@T("sigv4: header values trimmed, whitespace collapsed, duplicates joined in order")
def t_headers():
    eq(sigv4.canonical_header_value(["  a   b  ", "c\t d"]), "a b,c d", "value")


@T("sigv4: 5-minute window, presign expiry, malformed dates")
def t_time():
    info = sigv4.AuthInfo()
    info.amz_date = "20150830T123600Z"
    t = calendar.timegm((2015, 8, 30, 12, 36, 0, 0, 0, 0))
    sigv4.check_time(info, t + 299)
    for delta, kind in ((301, "expired"), (-301, "future")):
        try:
            sigv4.check_time(info, t + delta)
            raise AssertionError("accepted %+d s" % delta)
        except sigv4.SigError as e:
            eq(e.kind, kind, "kind for %+d" % delta)
    eq(_msg(info, t + 600), "Signature expired: 20150830T123600Z is now earlier than 20150830T124100Z "
       "(20150830T124600Z - 5 min.)", "expired message shape")
    info.presigned = True
    info.expires = 60
    sigv4.check_time(info, t + 59)
    try:
        sigv4.check_time(info, t + 61)
        raise AssertionError("presign past X-Amz-Expires accepted")
    except sigv4.SigError as e:
        eq(e.kind, "expired", "presign kind")
    sigv4.check_time(info, t + 899, presign_window=900)
    eq(sigv4.amz_date_to_epoch("20151330T123600Z"), None, "bad month")
    eq(sigv4.amz_date_to_epoch("2015-08-30T12:36:00Z"), None, "extended format")
    eq(sigv4.http_date_to_amz("Sun, 30 Aug 2015 12:36:00 GMT"), "20150830T123600Z", "RFC 1123")


def _msg(info, now):
    try:
        sigv4.check_time(info, now)
    except sigv4.SigError as e:
        return e.message
    return ""


@T("sigv4: incomplete authorization headers are rejected with a reason")
def t_incomplete():
    cases = [
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/eks/aws4_request, SignedHeaders=host",
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/eks, SignedHeaders=host, Signature=00",
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/eks/aws4_reqst, SignedHeaders=host, Signature=0",
        "Bearer abc",
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/eks/aws4_request, SignedHeaders=x-amz-date, "
        "Signature=00",
    ]
    for c in cases:
        try:
            sigv4.parse([], {"authorization": [c], "x-amz-date": ["20150830T123600Z"]})
            raise AssertionError("accepted: " + c)
        except sigv4.SigError as e:
            eq(e.kind, "incomplete", "kind for " + c)
    try:
        sigv4.parse([], {"authorization": [cases[1].replace("/eks,", "/eks/aws4_request,")],
                         "x-amz-date": ["20150831T000000Z"]})
        raise AssertionError("scope date mismatch accepted")
    except sigv4.SigError as e:
        eq(e.kind, "scope", "scope kind")
