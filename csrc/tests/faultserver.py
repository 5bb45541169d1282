#!/usr/bin/env python3
"""faultserver.py: a fault-injecting HTTP/1.1 server for the engine tests.

Python 3 standard library only. Listens on 127.0.0.1 port 0 for HTTP and on
another port for HTTPS (a self-signed test certificate embedded below), prints
"PORT <n> TLSPORT <m> CAFILE <path>" on stdout, and exits when stdin reaches
EOF (so it dies with the test that started it) or on GET /shutdown.

Every request may carry k=<key> in its query. Requests are counted per key and
per path, and their method, path, headers and body are logged per key, with
"sigv4": "ok" | "bad" | "none" from an independent SigV4 check of requests
signed with the test secret key.

Modes, chosen by path (query parameters in brackets):
  /ok                       200 {"ok":true}
  /fail  [status, code, style=json|ec2|query, n]
                            fail the first n requests of key k (all if no n) with an
                            AWS-shaped error, then 200
  /throttle [n, style, retry_after, amz_retry_after]
                            /fail with 429 ThrottlingException (json) or
                            503 RequestLimitExceeded (style=ec2); retry_after (s) and
                            amz_retry_after (ms) add the server's retry hints
  /5xx   [n, status=500]    /fail with a 5xx InternalFailure
  /stall [ms=5000, n]       sleep ms before answering (first n requests of k, all if no n)
  /reset [n]                close the connection without a response (RST) for the
                            first n requests of k (all if no n), then 200
  /big   [size, chunked=0]  a body of size bytes (Content-Length, or chunked)
  /skew  [ahead=3600]       the server clock runs `ahead` seconds fast: 403
                            InvalidSignatureException "Signature expired" (with the
                            server's Date) when X-Amz-Date is off by more than 300 s, else 200
  /echo                     200 with the request (method, path, headers, body) as JSON
  /count [of=key | path]    {"count": n} requests seen for a key or a path
  /log   [of=key]           {"requests": [...]} as /echo, for every request of the key
  /stats                    {"connections": n, "requests": n}
  /clusters/<name>...       a tiny EKS: GET /clusters/<name> describes a cluster whose
                            mode depends on who asks: an access key id containing
                            "MANAGED", "ROUTED" or "ISOLATED" sees AWS_MANAGED,
                            CUSTOMER_ROUTED or CUSTOMER_ISOLATED (two accounts with a
                            cluster of the same name); any other caller sees AWS_MANAGED
                            if the name starts with "am-", else CUSTOMER_ROUTED;
                            POST .../update-config answers 200 with an update
  /shutdown                 stop
"""

import calendar
import hashlib
import hmac
import json
import os
import shutil
import socket
import ssl
import struct
import sys
import tempfile
import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, unquote, urlsplit

LOCK = threading.Lock()

# A throwaway self-signed certificate for 127.0.0.1/localhost, valid 2000-2999,
# made for these tests only (its key protects nothing).
TEST_CERT = """-----BEGIN CERTIFICATE-----
MIIBczCCARmgAwIBAgIUNbVmjHlB25MeDt4HxMdv3InpxTIwCgYIKoZIzj0EAwIw
IDEeMBwGA1UEAwwVZWtzZWdyZXNzIHRlc3Qgc2VydmVyMCAXDTAwMDEwMTAwMDAw
MFoYDzI5OTkxMjMxMDAwMDAwWjAgMR4wHAYDVQQDDBVla3NlZ3Jlc3MgdGVzdCBz
ZXJ2ZXIwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAARQk7zBSKU43w8jQg5xQocZ
Y1zgG1J/S2savEVyA26G+hWm6aARU4XMUvklrbntKglIn0KKN14BywERsGFdDQHA
oy8wLTAaBgNVHREEEzARhwR/AAABgglsb2NhbGhvc3QwDwYDVR0TAQH/BAUwAwEB
/zAKBggqhkjOPQQDAgNIADBFAiEAuRJkDukpyE2hN1jIY7/yZYCmUTdBme51Wep/
AByPClsCICF6EnXQuN6FyCISLXgFUHlMXP5UGGnp9B2f3yWwurfj
-----END CERTIFICATE-----
"""
TEST_KEY = """-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgqDNSoSlfj3fJysP7
BPTNs5j+2VBvNNEC+9m8zIZKCwWhRANCAARQk7zBSKU43w8jQg5xQocZY1zgG1J/
S2savEVyA26G+hWm6aARU4XMUvklrbntKglIn0KKN14BywERsGFdDQHA
-----END PRIVATE KEY-----
"""

STATE = {"connections": 0, "requests": 0, "keys": {}, "paths": {}, "log": {}}


def http_date(t):
    return formatdate(t, usegmt=True)


def parse_amz_date(s):
    try:
        return calendar.timegm(time.strptime(s, "%Y%m%dT%H%M%SZ"))
    except (ValueError, TypeError):
        return None


# The test's secret key: requests signed with it are verified (an independent
# SigV4 implementation, stdlib only), so a header curl added or altered shows.
TEST_SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"


def _enc(s):
    return quote(s, safe="-_.~")


def sigv4_check(method, raw_target, headers, body):
    """'ok', 'bad' or 'none' (no SigV4 Authorization header)."""
    auth = headers.get("Authorization", "")
    if not auth.startswith("AWS4-HMAC-SHA256 "):
        return "none"
    try:
        fields = dict(p.strip().split("=", 1) for p in auth[len("AWS4-HMAC-SHA256 "):].split(","))
        akid, date, region, service, term = fields["Credential"].split("/")
        signed = fields["SignedHeaders"].split(";")
        path, _, query = raw_target.partition("?")
        # Double encoding (every service but S3): encode the wire path once more.
        curi = "/".join(_enc(seg) for seg in path.split("/")) or "/"
        pairs = []
        for part in query.split("&") if query else []:
            k, _, v = part.partition("=")
            pairs.append((_enc(unquote(k)), _enc(unquote(v))))
        cquery = "&".join("%s=%s" % kv for kv in sorted(pairs))
        chead = ""
        for name in signed:
            vals = headers.get_all(name) or []
            chead += "%s:%s\n" % (name, ",".join(" ".join(v.split()) for v in vals))
        creq = "\n".join([method, curi, cquery, chead, ";".join(signed),
                          hashlib.sha256(body).hexdigest()])
        amz_date = headers.get("X-Amz-Date", "")
        sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, "/".join([date, region, service, term]),
                         hashlib.sha256(creq.encode()).hexdigest()])
        k = ("AWS4" + TEST_SECRET).encode()
        for part in (date, region, service, "aws4_request"):
            k = hmac.new(k, part.encode(), hashlib.sha256).digest()
        want = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
        return "ok" if hmac.compare_digest(want, fields["Signature"]) else "bad"
    except (KeyError, ValueError):
        return "bad"


def access_key_id(headers):
    """The access key id of a SigV4 Authorization header, or "" (unsigned)."""
    auth = headers.get("Authorization", "")
    cred = auth.partition("Credential=")[2]
    return cred.partition("/")[0]


def cluster_mode(name, akid):
    """The egress mode this caller sees for cluster `name` (see the docstring)."""
    for word, mode in (("ISOLATED", "CUSTOMER_ISOLATED"), ("ROUTED", "CUSTOMER_ROUTED"),
                       ("MANAGED", "AWS_MANAGED")):
        if word in akid:
            return mode
    return "AWS_MANAGED" if name.startswith("am-") else "CUSTOMER_ROUTED"


def error_body(style, code, message):
    if style == "ec2":
        return ("application/xml", (
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>%s</Code>"
            "<Message>%s</Message></Error></Errors><RequestID>ec2-req-1</RequestID></Response>"
            % (code, message)).encode())
    if style == "query":
        return ("text/xml", (
            "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error>"
            "<Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error>"
            "<RequestId>query-req-1</RequestId></ErrorResponse>" % (code, message)).encode())
    return ("application/json", json.dumps({"message": message}).encode())


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "faultserver/1"

    def setup(self):
        if isinstance(self.request, ssl.SSLSocket):
            self.request.do_handshake()  # in this thread, not in the accept loop
        super().setup()
        with LOCK:
            STATE["connections"] += 1

    def log_message(self, fmt, *args):  # keep the TAP output clean
        pass

    # -- helpers --------------------------------------------------------------
    def reply(self, status, body=b"", ctype="application/json", headers=(), date=None, rid=True):
        self.send_response_only(status)
        self.send_header("Server", self.server_version)
        self.send_header("Date", http_date(date if date is not None else time.time()))
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        if rid:  # XML errors carry their request id in the body only
            self.send_header("x-amzn-RequestId", "fault-req-%d" % STATE["requests"])
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()

    def reply_json(self, status, obj, **kw):
        self.reply(status, json.dumps(obj).encode(), **kw)

    def aws_error(self, status, code, message, style, date=None, extra=()):
        ctype, body = error_body(style, code, message)
        headers = list(extra)
        if style == "json":
            headers.append(("x-amzn-ErrorType", code + ":http://internal.amazon.com/coral/test/"))
        self.reply(status, body, ctype, headers, date=date, rid=(style == "json"))

    def reset(self):
        # SO_LINGER 0: close() sends RST instead of FIN.
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass
        self.close_connection = True

    # -- dispatch -------------------------------------------------------------
    def handle_any(self):
        url = urlsplit(self.path)
        q = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        key = q.get("k", "")
        entry = {"method": self.command, "path": self.path,
                 "headers": [[k, v] for k, v in self.headers.items()],
                 "body": body.decode("utf-8", "replace"),
                 "sigv4": sigv4_check(self.command, self.path, self.headers, body)}
        with LOCK:
            STATE["requests"] += 1
            STATE["paths"][url.path] = STATE["paths"].get(url.path, 0) + 1
            seen = STATE["keys"].get(key, 0) + 1  # 1-based: this request's number for its key
            STATE["keys"][key] = seen
            if key:
                STATE["log"].setdefault(key, []).append(entry)
        n = int(q["n"]) if "n" in q else None
        failing = n is None or seen <= n
        path = url.path

        if path == "/ok":
            return self.reply_json(200, {"ok": True})
        if path in ("/fail", "/throttle", "/5xx"):
            if path == "/throttle":
                style = q.get("style", "json")
                dstatus, dcode = (503, "RequestLimitExceeded") if style == "ec2" else (429, "ThrottlingException")
            elif path == "/5xx":
                style = q.get("style", "json")
                dstatus, dcode = 500, "InternalFailure"
            else:
                style = q.get("style", "json")
                dstatus, dcode = 400, "ValidationException"
            status = int(q.get("status", dstatus))
            code = q.get("code", dcode)
            hints = []
            if "retry_after" in q:        # HTTP Retry-After, seconds
                hints.append(("Retry-After", q["retry_after"]))
            if "amz_retry_after" in q:    # x-amz-retry-after, milliseconds
                hints.append(("x-amz-retry-after", q["amz_retry_after"]))
            if failing:
                return self.aws_error(status, code, "injected failure %d" % seen, style, extra=hints)
            return self.reply_json(200, {"ok": True, "attempt": seen})
        if path == "/stall":
            if failing:
                time.sleep(int(q.get("ms", "5000")) / 1000.0)
            return self.reply_json(200, {"ok": True, "attempt": seen})
        if path == "/reset":
            if failing:
                return self.reset()
            return self.reply_json(200, {"ok": True, "attempt": seen})
        if path == "/big":
            size = int(q.get("size", "1048576"))
            if q.get("chunked") == "1":
                self.send_response_only(200)
                self.send_header("Date", http_date(time.time()))
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                chunk = b"x" * 65536
                left = size
                try:
                    while left > 0:
                        part = chunk[:min(left, len(chunk))]
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                        left -= len(part)
                    self.wfile.write(b"0\r\n\r\n")
                    self.wfile.flush()
                except OSError:
                    self.close_connection = True
                return None
            return self.reply(200, b"x" * size, "application/octet-stream")
        if path == "/skew":
            server_now = time.time() + int(q.get("ahead", "3600"))
            signed = parse_amz_date(self.headers.get("X-Amz-Date"))
            if signed is None or abs(signed - server_now) > 300:
                earliest = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(server_now - 300))
                msg = "Signature expired: %s is now earlier than %s (%s - 5 min.)" % (
                    self.headers.get("X-Amz-Date"), earliest,
                    time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(server_now)))
                return self.aws_error(403, "InvalidSignatureException", msg, "json", date=server_now)
            return self.reply_json(200, {"ok": True, "attempt": seen}, date=server_now)
        if path == "/echo":
            return self.reply_json(200, entry)
        if path == "/count":
            with LOCK:
                if "path" in q:
                    c = STATE["paths"].get(q["path"], 0)
                else:
                    c = STATE["keys"].get(q.get("of", ""), 0)
            return self.reply_json(200, {"count": c})
        if path == "/log":
            with LOCK:
                reqs = list(STATE["log"].get(q.get("of", ""), []))
            return self.reply_json(200, {"requests": reqs})
        if path == "/stats":
            with LOCK:
                s = {"connections": STATE["connections"], "requests": STATE["requests"]}
            return self.reply_json(200, s)
        if path.startswith("/clusters/"):
            parts = path.split("/")
            name = parts[2] if len(parts) > 2 else ""
            if self.command == "GET" and len(parts) == 3:
                return self.reply_json(200, {"cluster": {
                    "name": name, "status": "ACTIVE",
                    "resourcesVpcConfig": {"controlPlaneEgressMode":
                                           cluster_mode(name, access_key_id(self.headers))}}})
            if self.command == "POST" and len(parts) == 4 and parts[3] == "update-config":
                return self.reply_json(200, {"update": {"id": "u-1", "status": "InProgress",
                                                        "type": "VpcConfigUpdate"}})
            return self.aws_error(404, "ResourceNotFoundException", "No cluster found", "json")
        if path == "/shutdown":
            self.reply_json(200, {"ok": True})
            threading.Thread(target=self.server.shutdown, daemon=True).start()
            return None
        return self.aws_error(404, "NotFound", "no such mode: " + path, "json")

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = handle_any


def watch_stdin(tmpdir):
    # The test that started us holds our stdin: EOF means it is gone.
    try:
        while sys.stdin.buffer.read(4096):
            pass
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
        os._exit(0)


def watch_parent(pid, tmpdir):
    # Started by a Lua spec, which cannot hold a pipe open for us: exit as
    # soon as the process that started us is gone.
    try:
        while True:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.5)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
        os._exit(0)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512  # listen() backlog: many concurrent connects

    def handle_error(self, request, client_address):
        pass  # refused handshakes and dropped clients are part of the tests


def main():
    tmpdir = tempfile.mkdtemp(prefix="faultserver-")
    cafile = os.path.join(tmpdir, "ca.pem")
    keyfile = os.path.join(tmpdir, "key.pem")
    with open(cafile, "w") as f:
        f.write(TEST_CERT)
    with open(keyfile, "w") as f:
        f.write(TEST_KEY)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cafile, keyfile)
    ctx.set_alpn_protocols(["http/1.1"])
    srv = Server(("127.0.0.1", 0), Handler)
    tls = Server(("127.0.0.1", 0), Handler)
    tls.socket = ctx.wrap_socket(tls.socket, server_side=True, do_handshake_on_connect=False)
    print("PORT %d TLSPORT %d CAFILE %s" % (srv.server_address[1], tls.server_address[1], cafile),
          flush=True)
    if len(sys.argv) == 3 and sys.argv[1] == "--parent-pid":
        threading.Thread(target=watch_parent, args=(int(sys.argv[2]), tmpdir), daemon=True).start()
    else:
        threading.Thread(target=watch_stdin, args=(tmpdir,), daemon=True).start()
    threading.Thread(target=tls.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    srv.serve_forever(poll_interval=0.05)


if __name__ == "__main__":
    main()
