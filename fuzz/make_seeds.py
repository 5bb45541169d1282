#!/usr/bin/env python3
"""fuzz/make_seeds.py: write the seed corpora of the sigv4, awserror, httpdate
and jsonbound targets into fuzz/corpus/<name>/ (committed; run again after
changing an input layout). Seeds come from the project's own fixtures (the
aws-c-auth SigV4 suite, recorded AWS responses) and hand-written edge cases.

    /usr/bin/python3 fuzz/make_seeds.py
"""
import glob
import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEP = b"\xff"


def out(target, name, data):
    d = os.path.join(ROOT, "fuzz", "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def read(path):
    with open(os.path.join(ROOT, path), "rb") as f:
        return f.read()


# ---- sigv4: flags, path, query, body, header name/value pairs ---------------

def sigv4_seeds():
    n = 0
    for req in sorted(glob.glob(os.path.join(ROOT, "spec/fixtures/sigv4/aws-c-auth-v4/*/request.txt"))):
        raw = open(req, "rb").read()
        head, _, body = raw.partition(b"\n\n")
        lines = head.split(b"\n")
        _method, target, _ = lines[0].split(b" ", 2)
        path, _, query = target.partition(b"?")
        fields = [path[1:], query, body]
        # Headers, with folded continuation lines joined back (they start with space).
        hdrs = []
        for line in lines[1:]:
            if line[:1] in (b" ", b"\t") and hdrs:
                hdrs[-1][1] += b"\n" + line
            elif b":" in line:
                k, v = line.split(b":", 1)
                if k.lower() != b"host":
                    hdrs.append([k, v])
        for k, v in hdrs:
            fields += [k, v]
        name = os.path.basename(os.path.dirname(req))
        for flags in (0x03, 0x07, 0x0B, 0x13, 0x00, 0xE3):
            out("sigv4", "%s-%02x" % (name, flags), bytes([flags]) + SEP.join(fields))
            n += 1
    extra = [
        (0x03, [b"a/./b/../../c//d/", b"", b""]),
        (0x03, [b"..%2F..%2Fetc", b"a=%zz&b=%4&=x&&c", b""]),
        (0x07, [b"clusters/prod/update-config", b"X-Amz-Date=1", b"{}"]),
        (0x03, [b"x", b"a=1&a=0&A=1&a", b"", b"X-Amz-Date", b"20260115T093000Z"]),
        (0x0B, [b"", b"", b"", b"x-amz-security-token", b"FwoGZXIvYXdzEJr//////////wEaDFuzzToken+/="]),
        (0x13, [b"", b"", b"body", b"x-amz-content-sha256", b"230d8358dc8e8890b4c58deeb62912ee2f20357ae92a5cc861b98e68fe31acb5"]),
        (0x03, [b"%E1%88%B4", b"%E1%88%B4=%e1%88%b4", b"", b"My-Header", b"  a \r\n\t b  ", b"my-header", b"c"]),
    ]
    for i, (flags, fields) in enumerate(extra):
        out("sigv4", "edge-%02d" % i, bytes([flags]) + SEP.join(fields))
        n += 1
    return n


# ---- awserror: flags (which headers), header values, body ----------------------

def awserror_seeds():
    bodies = {
        "restjson": b'{"message":"Cluster not found","__type":"ResourceNotFoundException"}',
        "restjson-code": b'{"Code":"InvalidParameterException","Message":"bad"}',
        "json11": b'{"__type":"com.amazonaws.organizations#TooManyRequestsException","message":"slow down"}',
        "ec2": b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>RequestLimitExceeded"
               b"</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>"
               b"a1b2</RequestID></Response>",
        "query": b"<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type>"
                 b"<Code>ExpiredToken</Code><Message>The security token included in the request is expired"
                 b"</Message></Error><RequestId>r-1</RequestId></ErrorResponse>",
        "doctype": b"<!DOCTYPE x [<!ENTITY a \"aaaa\">]><ErrorResponse><Error><Code>&a;</Code></Error></ErrorResponse>",
        "utf8-cut": b'{"message":"' + "\u00e9".encode() * 300 + b'"}',
        "empty": b"",
        "html": b"<html><body>502 Bad Gateway</body></html>",
    }
    for name in ("ec2-error-in-200.xml",):
        bodies["fixture-" + name] = read("spec/fixtures/protocols/" + name)
    headers = {
        0: [],
        1: [b"req-1234"],
        3: [b"req-1234", b"AWS.SimpleQueueService.NonExistentQueue;Sender"],
        4: [b"ResourceNotFoundException:http://internal.amazon.com/"],
        5: [b"req-1234", b"aws.protocoltests#InvalidGreeting:extra"],
        13: [b"req-1234", b"ThrottlingException"],
    }
    n = 0
    for bname, body in bodies.items():
        for flags, vals in headers.items():
            out("awserror", "%s-%02d" % (bname, flags), bytes([flags]) + b"".join(v + b"\n" for v in vals) + body)
            n += 1
    return n


# ---- httpdate -----------------------------------------------------------------

def httpdate_seeds():
    dates = [
        b"Sun, 06 Nov 1994 08:49:37 GMT", b"Sunday, 06-Nov-94 08:49:37 GMT", b"Sun Nov  6 08:49:37 1994",
        b"Wed, 15 Jan 2026 09:30:00 GMT", b"  Thu, 01 Jan 1970 00:00:00 GMT\r\n", b"Fri, 31 Dec 9999 23:59:59 GMT",
        b"Sat, 29 Feb 2000 12:00:60 GMT", b"Mon, 29 Feb 1900 12:00:00 GMT", b"Wednesday, 31-Dec-69 23:59:59 GMT",
        b"Tue Feb 29 23:59:59 2028", b"Sun, 06 Nov 1994 08:49:37 UTC", b"", b"Sun, 6 Nov 1994 08:49:37 GMT",
        b"\x00\x01\x02\x03\x04\x05\x06\x07Sun, 06 Nov 1994 08:49:37 GMT",
    ]
    for i, d in enumerate(dates):
        out("httpdate", "date-%02d" % i, d)
    return len(dates)


# ---- jsonbound: byte 0 picks the limits, then the document ----------------------

def jsonbound_seeds():
    docs = {
        "describe-cluster": read("spec/fixtures/protocols/eks-DescribeCluster-response.json"),
        "list-clusters": read("spec/fixtures/protocols/eks-ListClusters-page.json"),
        "list-accounts": read("spec/fixtures/protocols/organizations-ListAccounts-page.json"),
        "scalars": b'[true,false,null,-0,0.5e-3,1E+9,"\\u00e9\\n\\"",{}]',
        "deep-64": b"[" * 64 + b"]" * 64,
        "deep-65": b"[" * 65 + b"]" * 65,
        "dup-keys": b'{"a":1,"a":2,"b":{"a":[]}}',
        "bad-escape": b'{"a":"\\x"}',
        "trailing": b'{"a":1} x',
        "big-number": b"123456789012345678901234567890",
        "lone-surrogate": b'"\\ud800"',
        "nul-escape": b'"a\\u0000b"',
        "empty": b"",
        "ws": b" \t\r\n 1 \n",
    }
    n = 0
    for name, doc in docs.items():
        for lim in (0x00, 0x83, 0xFF):
            out("jsonbound", "%s-%02x" % (name, lim), bytes([lim]) + doc)
            n += 1
    return n


if __name__ == "__main__":
    counts = {"sigv4": sigv4_seeds(), "awserror": awserror_seeds(), "httpdate": httpdate_seeds(),
              "jsonbound": jsonbound_seeds()}
    print(json.dumps(counts))
