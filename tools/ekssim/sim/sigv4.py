"""Independent SigV4 verification (aws-wire.md section 2).

This module knows nothing about services or accounts: it parses the
authorization material of a request (Authorization header or presigned query),
rebuilds the canonical request from what came over the wire, and checks time
windows.  The caller looks up the secret for the access key and maps SigError
kinds to each protocol's error code.

Canonicalisation rules implemented here (non-S3 services):
  * path: the wire path (already percent-encoded) has its dot segments removed
    and repeated slashes collapsed, then is UriEncoded once more keeping '/'
    (so '%' becomes '%25', raw bytes become %XX);
  * query: split on '&' and the first '=', percent-decode, UriEncode with the
    unreserved set, sort by name then value; X-Amz-Signature is left out for
    presigned requests;
  * headers: lower-case names, values trimmed with inner whitespace runs
    collapsed, repeated headers joined with ',' in arrival order, sorted;
  * payload: hex SHA-256 of the body, or the x-amz-content-sha256 header value.
"""

import calendar
import hashlib
import hmac
from urllib.parse import quote, unquote_to_bytes

ALGORITHM = "AWS4-HMAC-SHA256"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
SKEW_SECONDS = 300
PRESIGN_MAX_EXPIRES = 604800
# STS presigned GetCallerIdentity URLs are honoured for 15 minutes after
# X-Amz-Date whatever X-Amz-Expires says (aws-iam-authenticator token.go).
STS_PRESIGN_WINDOW = 900

_PRESIGN_REQUIRED = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature",
                     "X-Amz-Date", "X-Amz-SignedHeaders")


class SigError(Exception):
    """A signature problem.  kind is one of:
    incomplete   malformed / partial authorization material
    scope        credential scope inconsistent with the request date
    mismatch     signature (or payload hash) does not match
    expired      request time more than 5 minutes in the past / presign expired
    future       request time more than 5 minutes in the future
    """

    def __init__(self, kind, message):
        Exception.__init__(self, message)
        self.kind = kind
        self.message = message


class AuthInfo(object):
    __slots__ = ("access_key", "scope_date", "region", "service", "terminator",
                 "signed_headers", "signature", "amz_date", "presigned", "expires",
                 "token", "scope")

    def __init__(self):
        self.access_key = None
        self.scope_date = None
        self.region = None
        self.service = None
        self.terminator = None
        self.signed_headers = []
        self.signature = None
        self.amz_date = None
        self.presigned = False
        self.expires = None
        self.token = None
        self.scope = None


# ---------------------------------------------------------------- helpers

def uri_encode(s, keep_slash=False):
    """UriEncode: every byte but A-Z a-z 0-9 - . _ ~ becomes %XX (upper hex)."""
    if isinstance(s, str):
        if s.isascii():
            return quote(s, safe="/~" if keep_slash else "~")
        s = s.encode("utf-8", "surrogateescape")
    return quote(s, safe="/~" if keep_slash else "~")


def normalize_path(path):
    """Remove '.' and '..' segments and empty segments (repeated slashes).

    A leading slash is kept; a trailing slash is kept when something remains
    after it; an empty result is '/'.
    """
    if not path:
        return "/"
    out = []
    for seg in path.split("/"):
        if seg == "" or seg == ".":
            continue
        if seg == "..":
            if out:
                out.pop()
            continue
        out.append(seg)
    result = "/" + "/".join(out) if path.startswith("/") else "/".join(out)
    if path.endswith("/") and out:
        result += "/"
    return result or "/"


def canonical_uri(raw_path, normalize=True):
    """raw_path is the path as received (a latin-1 str of the wire bytes)."""
    p = raw_path or "/"
    if normalize:
        p = normalize_path(p)
    return quote(p.encode("latin-1", "replace"), safe="/~")


def _unq(s):
    if "%" not in s and s.isascii():
        return s
    return unquote_to_bytes(s.encode("latin-1", "replace")).decode("utf-8", "surrogateescape")


def split_query(raw_query):
    """[(decoded name, decoded value)] in wire order.

    raw_query is a latin-1 str of the wire bytes; decoded values are UTF-8 with
    surrogateescape so that uri_encode() reproduces the exact bytes.
    """
    pairs = []
    if not raw_query:
        return pairs
    for piece in raw_query.split("&"):
        if not piece:
            continue
        name, _, value = piece.partition("=")
        pairs.append((_unq(name), _unq(value)))
    return pairs


def canonical_query(pairs, drop_signature=False):
    enc = []
    for name, value in pairs:
        if drop_signature and name == "X-Amz-Signature":
            continue
        enc.append((uri_encode(name), uri_encode(value)))
    enc.sort()
    return "&".join("%s=%s" % nv for nv in enc)


def canonical_header_value(values):
    return ",".join(" ".join(v.split()) for v in values)


_date_cache = {}


def amz_date_to_epoch(s):
    """'YYYYMMDDTHHMMSSZ' -> epoch seconds, or None if malformed."""
    t = _date_cache.get(s)
    if t is not None:
        return t
    if len(s) != 16 or s[8] != "T" or s[15] != "Z" or not (s[:8] + s[9:15]).isdigit():
        return None
    try:
        mon, day, hh, mm, ss = int(s[4:6]), int(s[6:8]), int(s[9:11]), int(s[11:13]), int(s[13:15])
        if not (1 <= mon <= 12 and 1 <= day <= 31 and hh < 24 and mm < 60 and ss < 61):
            return None
        t = calendar.timegm((int(s[0:4]), mon, day, hh, mm, ss, 0, 0, 0))
    except ValueError:
        return None
    if len(_date_cache) > 10000:
        _date_cache.clear()
    _date_cache[s] = t
    return t


def epoch_to_amz_date(t):
    import time
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(t))


_MONTHS = {"Jan": 1, "Feb": 2, "Mar": 3, "Apr": 4, "May": 5, "Jun": 6, "Jul": 7,
           "Aug": 8, "Sep": 9, "Oct": 10, "Nov": 11, "Dec": 12}


def http_date_to_amz(s):
    """RFC 1123 'Sun, 30 Aug 2015 12:36:00 GMT' -> '20150830T123600Z' (or None)."""
    parts = s.replace(",", " ").split()
    try:
        if len(parts) < 5:
            return None
        day, mon, year, hms = int(parts[1]), _MONTHS[parts[2]], int(parts[3]), parts[4]
        hh, mm, ss = (int(x) for x in hms.split(":"))
        return "%04d%02d%02dT%02d%02d%02dZ" % (year, mon, day, hh, mm, ss)
    except (KeyError, ValueError):
        return None


_key_cache = {}


def signing_key(secret, date, region, service):
    ck = (secret, date, region, service)
    k = _key_cache.get(ck)
    if k is None:
        k = hmac.new(("AWS4" + secret).encode("utf-8"), date.encode("utf-8"), hashlib.sha256).digest()
        for part in (region, service, "aws4_request"):
            k = hmac.new(k, part.encode("utf-8"), hashlib.sha256).digest()
        if len(_key_cache) > 4096:
            _key_cache.clear()
        _key_cache[ck] = k
    return k


# ---------------------------------------------------------------- parsing

def _parse_credential(cred, info):
    parts = cred.split("/")
    if len(parts) != 5 or not parts[0]:
        raise SigError("incomplete", "Credential should be scoped to a valid region, not '%s'. "
                       % (parts[2] if len(parts) > 2 else ""))
    info.access_key, info.scope_date, info.region, info.service, info.terminator = parts
    if info.terminator != "aws4_request":
        raise SigError("incomplete", "Credential should be scoped with a valid terminator: "
                       "'aws4_request', not '%s'." % info.terminator)
    info.scope = "/".join(parts[1:])


def parse(query_pairs, headers):
    """Return AuthInfo for a signed request, or None when the request carries no
    authorization at all.  headers maps lower-case names to lists of values."""
    auth = headers.get("authorization")
    if auth:
        return _parse_header(auth[-1], headers)
    names = [n for n, _ in query_pairs]
    if "X-Amz-Algorithm" in names or "X-Amz-Credential" in names or "X-Amz-Signature" in names:
        return _parse_presigned(query_pairs, headers)
    return None


def _parse_header(value, headers):
    info = AuthInfo()
    value = value.strip()
    alg, _, rest = value.partition(" ")
    fields = {}
    for item in rest.split(","):
        k, eq, v = item.strip().partition("=")
        if eq:
            fields[k.strip()] = v.strip()
    missing = [k for k in ("Credential", "Signature", "SignedHeaders") if k not in fields]
    if alg != ALGORITHM or missing:
        if alg != ALGORITHM and not missing:
            raise SigError("incomplete", "Unsupported AWS 'algorithm': '%s'." % alg)
        raise SigError("incomplete", " ".join(
            "Authorization header requires '%s' parameter." % k for k in (missing or ["Credential"]))
            + " Authorization=" + value.split(" ")[0])
    _parse_credential(fields["Credential"], info)
    info.signed_headers = [h for h in fields["SignedHeaders"].split(";") if h]
    info.signature = fields["Signature"]
    xd = headers.get("x-amz-date")
    if xd:
        info.amz_date = xd[-1].strip()
    else:
        d = headers.get("date")
        info.amz_date = http_date_to_amz(d[-1]) if d else None
        if d and info.amz_date is None:
            raise SigError("incomplete", "Date must be in ISO-8601 'basic format'.")
    if not info.amz_date:
        raise SigError("incomplete", "Authorization header requires existence of either a "
                       "'X-Amz-Date' or a 'Date' header. Authorization=" + ALGORITHM)
    tok = headers.get("x-amz-security-token")
    info.token = tok[-1].strip() if tok else None
    _common_checks(info)
    return info


def _parse_presigned(pairs, headers):
    info = AuthInfo()
    info.presigned = True
    q = {}
    for n, v in pairs:
        if n in q and n.startswith("X-Amz-"):
            raise SigError("incomplete", "Duplicate query-string parameter '%s'." % n)
        q[n] = v
    missing = [k for k in _PRESIGN_REQUIRED if k not in q]
    if missing:
        raise SigError("incomplete", "AWS query-string parameters must include 'X-Amz-Algorithm', "
                       "'X-Amz-Credential', 'X-Amz-Signature', 'X-Amz-Date', 'X-Amz-SignedHeaders', "
                       "and 'X-Amz-Expires'. Re-examine the query-string parameters.")
    if q["X-Amz-Algorithm"] != ALGORITHM:
        raise SigError("incomplete", "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"")
    _parse_credential(q["X-Amz-Credential"], info)
    info.signed_headers = [h for h in q["X-Amz-SignedHeaders"].split(";") if h]
    info.signature = q["X-Amz-Signature"]
    info.amz_date = q["X-Amz-Date"]
    exp = q.get("X-Amz-Expires")
    if exp is not None:
        try:
            info.expires = int(exp)
        except ValueError:
            raise SigError("incomplete", "X-Amz-Expires should be a number")
        if info.expires < 0 or info.expires > PRESIGN_MAX_EXPIRES:
            raise SigError("incomplete", "X-Amz-Expires must be less than a week (in seconds) "
                           "that is 604800")
    info.token = q.get("X-Amz-Security-Token")
    _common_checks(info)
    return info


def _common_checks(info):
    if amz_date_to_epoch(info.amz_date) is None:
        raise SigError("incomplete", "Date must be in ISO-8601 'basic format'. Got '%s'. "
                       "See http://en.wikipedia.org/wiki/ISO_8601" % info.amz_date)
    if "host" not in info.signed_headers:
        raise SigError("incomplete", "'Host' or ':authority' must be a 'SignedHeader' in the AWS "
                       "Authorization.")
    if info.scope_date != info.amz_date[:8]:
        raise SigError("scope", "Date in Credential scope does not match YYYYMMDD from ISO-8601 "
                       "version of date from HTTP: '%s' != '%s', from '%s'."
                       % (info.scope_date, info.amz_date[:8], info.amz_date))


# ---------------------------------------------------------------- checking

def check_time(info, now, presign_window=None):
    """Raise SigError('expired'|'future') when the request time is outside the window."""
    t = amz_date_to_epoch(info.amz_date)
    if t > now + SKEW_SECONDS:
        raise SigError("future", "Signature not yet current: %s is still later than %s (%s + 5 min.)"
                       % (info.amz_date, epoch_to_amz_date(now + SKEW_SECONDS), epoch_to_amz_date(now)))
    if info.presigned:
        window = presign_window if presign_window is not None else (info.expires or 0)
        if now > t + window:
            raise SigError("expired", "Signature expired: %s is now earlier than %s (%s - %d min.)"
                           % (info.amz_date, epoch_to_amz_date(now - window), epoch_to_amz_date(now),
                              window // 60))
    elif t < now - SKEW_SECONDS:
        raise SigError("expired", "Signature expired: %s is now earlier than %s (%s - 5 min.)"
                       % (info.amz_date, epoch_to_amz_date(now - SKEW_SECONDS), epoch_to_amz_date(now)))


def payload_hash(info, headers, body):
    """The hashed payload for the canonical request; raises on a wrong declared hash."""
    declared = headers.get("x-amz-content-sha256")
    actual = hashlib.sha256(body).hexdigest() if body else EMPTY_SHA256
    if declared:
        d = declared[-1].strip()
        if d != UNSIGNED_PAYLOAD and d != actual:
            raise SigError("mismatch", "The provided 'x-amz-content-sha256' header does not match "
                           "what was computed.")
        return d
    return actual


def build_canonical_request(method, raw_path, query_pairs, headers, info, hashed_payload,
                            normalize=True):
    lines = [method, canonical_uri(raw_path, normalize),
             canonical_query(query_pairs, drop_signature=info.presigned)]
    hdr_lines = []
    for name in info.signed_headers:
        vals = headers.get(name)
        hdr_lines.append("%s:%s\n" % (name, canonical_header_value(vals) if vals else ""))
    lines.append("".join(hdr_lines))
    lines.append(";".join(info.signed_headers))
    lines.append(hashed_payload)
    return "\n".join(lines)


def build_string_to_sign(info, canonical_request):
    return "%s\n%s\n%s\n%s" % (ALGORITHM, info.amz_date, info.scope,
                               hashlib.sha256(canonical_request.encode("latin-1", "replace")).hexdigest())


def expected_signature(secret, info, string_to_sign):
    key = signing_key(secret, info.scope_date, info.region, info.service)
    return hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def verify_signature(secret, method, raw_path, query_pairs, headers, body, info, normalize=True):
    """Raise SigError('mismatch') unless the request is signed with secret.

    Signed header names must be sorted lower-case names; a list that is not is
    rejected as a mismatch (AWS computes over the list as sent, which can never
    match a correct canonical request).
    """
    ph = payload_hash(info, headers, body)
    creq = build_canonical_request(method, raw_path, query_pairs, headers, info, ph, normalize)
    sts = build_string_to_sign(info, creq)
    want = expected_signature(secret, info, sts)
    if not hmac.compare_digest(want, info.signature) and info.presigned and info.token is not None:
        # Some signers append X-Amz-Security-Token to a presigned URL after
        # signing (aws-c-auth omit_session_token); accept that form too.
        pairs2 = [(n, v) for n, v in query_pairs if n != "X-Amz-Security-Token"]
        creq2 = build_canonical_request(method, raw_path, pairs2, headers, info, ph, normalize)
        want2 = expected_signature(secret, info, build_string_to_sign(info, creq2))
        if hmac.compare_digest(want2, info.signature):
            return creq2
    if not hmac.compare_digest(want, info.signature):
        err = SigError("mismatch", "The request signature we calculated does not match the signature "
                       "you provided. Check your AWS Secret Access Key and signing method. Consult "
                       "the service documentation for details.")
        err.canonical_request = creq
        err.string_to_sign = sts
        raise err
    return creq
