"""A small threaded HTTP/1.1 server tuned for many keep-alive connections.

One thread per connection, a hand-written request parser (BaseHTTPRequestHandler
parses headers with the email package, which costs more than everything else a
request does here), TCP_NODELAY, and each response written with a single
sendall() so Nagle and delayed ACKs never add 40 ms.

The server counts the requests it is handling (from the moment a request is
parsed to the moment its response is written or the connection dropped), and
the most it ever handled at once: a witness of client concurrency that needs
no clock (see stats(), served at /_sim/stats).

The handler is a callable taking a Request and returning a Response.  A
Response may carry a transport fault the handler decided on:
  'drop'      close the connection without writing anything
  'stall'     write status line and headers, then hold the connection open
              (bounded by Response.stall_seconds) and close it without a body
  'truncate'  announce the full Content-Length, write part of the body, close
and a delay (seconds) to wait before writing.

A test may also arm a hold (reset_stats(hold_until=N, ...)): answers the hold
matches wait, still counted in flight, until N requests have been in flight at
once.  A concurrency witness then no longer depends on a latency window being
long enough on a loaded machine: N callers that really overlap always reach N.
Callers that never get there are let go after hold_seconds, once (the hold
stays open until the next reset), and the count shows they fell short.
"""

import socket
import threading
import time
from email.utils import formatdate

MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 8 * 1024 * 1024

REASONS = {
    100: "Continue", 200: "OK", 204: "No Content", 400: "Bad Request", 401: "Unauthorized",
    403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 409: "Conflict",
    411: "Length Required", 412: "Precondition Failed", 413: "Payload Too Large",
    429: "Too Many Requests", 431: "Request Header Fields Too Large", 500: "Internal Server Error",
    501: "Not Implemented", 503: "Service Unavailable", 505: "HTTP Version Not Supported",
}


class Request(object):
    __slots__ = ("method", "target", "path", "raw_query", "version", "headers", "body", "peer", "server")

    def __init__(self):
        self.method = "GET"
        self.target = "/"
        self.path = "/"
        self.raw_query = ""
        self.version = "HTTP/1.1"
        self.headers = {}    # lower-case name -> [values in arrival order]
        self.body = b""
        self.peer = None
        self.server = None   # the HTTPServer that parsed it (stats); None when built by hand

    def header(self, name, default=None):
        v = self.headers.get(name)
        return v[-1].strip() if v else default


class Response(object):
    __slots__ = ("status", "headers", "body", "fault", "delay", "stall_seconds", "op")

    def __init__(self, status=200, headers=None, body=b""):
        self.status = status
        self.headers = headers if headers is not None else []
        self.body = body
        self.fault = None
        self.delay = 0.0
        self.stall_seconds = 0.0
        self.op = None       # (service, operation) of an AWS request; None for admin answers


class _BadRequest(Exception):
    def __init__(self, status, message):
        Exception.__init__(self, message)
        self.status = status
        self.message = message


def _parse_head(head):
    text = head.decode("latin-1")
    lines = text.split("\r\n")
    line = lines[0]
    sp1 = line.find(" ")
    sp2 = line.rfind(" ")
    if sp1 <= 0 or sp2 <= sp1:
        raise _BadRequest(400, "malformed request line")
    req = Request()
    req.method = line[:sp1]
    req.target = line[sp1 + 1:sp2]
    req.version = line[sp2 + 1:]
    if not req.version.startswith("HTTP/1."):
        raise _BadRequest(505, "unsupported HTTP version")
    path, _, q = req.target.partition("?")
    if path.startswith("http://") or path.startswith("https://"):
        # absolute-form target: keep only the path
        rest = path.split("://", 1)[1]
        slash = rest.find("/")
        path = rest[slash:] if slash >= 0 else "/"
    req.path = path or "/"
    req.raw_query = q
    headers = req.headers
    last = None
    for ln in lines[1:]:
        if not ln:
            continue
        if ln[0] in " \t":
            # obsolete line folding: continues the previous header value
            if last is None:
                raise _BadRequest(400, "malformed header")
            headers[last][-1] = headers[last][-1] + " " + ln.strip()
            continue
        name, colon, value = ln.partition(":")
        if not colon or not name or name != name.strip():
            raise _BadRequest(400, "malformed header")
        last = name.lower()
        vals = headers.get(last)
        if vals is None:
            headers[last] = [value.strip()]
        else:
            vals.append(value.strip())
    return req


class Connection(object):
    __slots__ = ("server", "sock", "buf", "peer")

    def __init__(self, server, sock, peer):
        self.server = server
        self.sock = sock
        self.buf = b""
        self.peer = peer

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            return False
        self.buf += data
        return True

    def _read_exact(self, n):
        while len(self.buf) < n:
            if not self._fill():
                return None
        out = self.buf[:n]
        self.buf = self.buf[n:]
        return out

    def _read_line(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line = self.buf[:i]
                self.buf = self.buf[i + 2:]
                return line
            if len(self.buf) > MAX_HEADER_BYTES or not self._fill():
                return None

    def _read_chunked(self):
        parts = []
        total = 0
        while True:
            line = self._read_line()
            if line is None:
                return None
            try:
                size = int(line.split(b";")[0].strip(), 16)
            except ValueError:
                raise _BadRequest(400, "bad chunk size")
            if size == 0:
                # trailers until blank line
                while True:
                    t = self._read_line()
                    if t is None or t == b"":
                        break
                return b"".join(parts)
            total += size
            if total > MAX_BODY_BYTES:
                raise _BadRequest(413, "body too large")
            data = self._read_exact(size + 2)
            if data is None:
                return None
            parts.append(data[:size])

    def serve(self):
        sock = self.sock
        srv = self.server
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        try:
            while not srv.stopping:
                # ---- head
                while True:
                    i = self.buf.find(b"\r\n\r\n")
                    if i >= 0:
                        break
                    if len(self.buf) > MAX_HEADER_BYTES:
                        self._send_simple(431, "header too large")
                        return
                    if not self._fill():
                        return
                head = self.buf[:i]
                self.buf = self.buf[i + 4:]
                # tolerate stray CRLFs between pipelined requests
                head = head.lstrip(b"\r\n")
                if not head:
                    continue
                try:
                    req = _parse_head(head)
                    req.peer = self.peer
                    req.server = srv
                    hdrs = req.headers
                    te = hdrs.get("transfer-encoding")
                    expect = hdrs.get("expect")
                    if expect and expect[-1].lower() == "100-continue":
                        sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
                    if te and "chunked" in te[-1].lower():
                        body = self._read_chunked()
                        if body is None:
                            return
                    else:
                        cl = hdrs.get("content-length")
                        n = 0
                        if cl:
                            try:
                                n = int(cl[-1])
                            except ValueError:
                                raise _BadRequest(400, "bad content-length")
                            if n < 0:
                                raise _BadRequest(400, "bad content-length")
                            if n > MAX_BODY_BYTES:
                                raise _BadRequest(413, "body too large")
                        if n:
                            body = self._read_exact(n)
                            if body is None:
                                return
                        else:
                            body = b""
                    req.body = body
                except _BadRequest as e:
                    self._send_simple(e.status, e.message)
                    return
                # In flight from parsed to just before the answer's last bytes go out: a
                # client that has read one answer and sends the next request never finds
                # the previous one still counted (a serial caller always sees 1).
                left = []

                def leave():
                    if not left:
                        left.append(True)
                        srv._leave()
                srv._enter()
                try:
                    if not self._handle(req, leave):
                        return
                finally:
                    leave()
        except (OSError, ValueError):
            return
        finally:
            srv._forget(self)
            try:
                sock.close()
            except OSError:
                pass

    def _handle(self, req, leave):
        """Answer one parsed request; False when the connection must close."""
        conn_hdr = req.headers.get("connection")
        conn_val = conn_hdr[-1].lower() if conn_hdr else ""
        if req.version == "HTTP/1.0":
            keep = "keep-alive" in conn_val
        else:
            keep = "close" not in conn_val
        try:
            resp = self.server.handler(req)
        except Exception as e:  # a bug in a handler must not kill the server
            self.server.on_error(e)
            resp = Response(500, [("Content-Type", "text/plain")], b"internal simulator error\n")
        return self._write(resp, keep, leave) and keep

    def _send_simple(self, status, message):
        body = (message + "\n").encode()
        head = ("HTTP/1.1 %d %s\r\nDate: %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
                "Connection: close\r\n\r\n" % (status, REASONS.get(status, "Error"), self.server.date_fn(),
                                                  len(body)))
        try:
            self.sock.sendall(head.encode() + body)
        except OSError:
            pass

    def _write(self, resp, keep, leave):
        srv = self.server
        if not srv.hold(resp):
            return False
        if resp.delay > 0:
            if srv.stop_event.wait(resp.delay):
                return False
        leave()
        if resp.fault == "drop":
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return False
        body = resp.body
        parts = ["HTTP/1.1 %d %s\r\n" % (resp.status, REASONS.get(resp.status, "Unknown"))]
        for k, v in resp.headers:
            parts.append("%s: %s\r\n" % (k, v))
        parts.append("Content-Length: %d\r\n" % len(body))
        if not keep:
            parts.append("Connection: close\r\n")
        parts.append("\r\n")
        head = "".join(parts).encode("latin-1")
        if resp.fault == "stall":
            self.sock.sendall(head)
            srv.stop_event.wait(resp.stall_seconds)
            return False
        if resp.fault == "truncate":
            self.sock.sendall(head + body[:len(body) // 2])
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return False
        self.sock.sendall(head + body)
        return True


class HTTPServer(object):
    def __init__(self, handler, host="127.0.0.1", port=0, on_error=None, date_fn=None):
        self.handler = handler
        self.date_fn = date_fn or (lambda: formatdate(usegmt=True))
        self.on_error = on_error or (lambda e: None)
        self.stopping = False
        self.stop_event = threading.Event()
        self._conns = set()
        self._lock = threading.Lock()
        self._in_flight = 0       # requests parsed whose answer has not started going out
        self._in_flight_max = 0   # the most at once since start or reset_stats()
        self._requests = 0        # requests parsed since start or reset_stats()
        self._held = threading.Condition(self._lock)
        self._hold_until = 0      # answers matching _hold_match wait for _in_flight_max >= this
        self._hold_match = None
        self._hold_deadline = 0.0
        self._hold_timed_out = False
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(1024)
        self.port = self.sock.getsockname()[1]
        self._thread = None

    def start(self):
        self._thread = threading.Thread(target=self._accept_loop, name="ekssim-accept", daemon=True)
        self._thread.start()

    def _accept_loop(self):
        while not self.stopping:
            try:
                s, peer = self.sock.accept()
            except OSError:
                if self.stopping:
                    return
                continue
            c = Connection(self, s, peer)
            with self._lock:
                self._conns.add(c)
            t = threading.Thread(target=c.serve, name="ekssim-conn", daemon=True)
            t.start()

    def _enter(self):
        with self._lock:
            self._in_flight += 1
            self._requests += 1
            if self._in_flight > self._in_flight_max:
                self._in_flight_max = self._in_flight
                if self._hold_until and self._in_flight_max >= self._hold_until:
                    self._held.notify_all()

    def _leave(self):
        with self._lock:
            self._in_flight -= 1

    def hold(self, resp):
        """Wait while the armed hold matches resp and fewer than its count were in
        flight at once; False when the server is stopping."""
        with self._held:
            if not (self._hold_until and self._hold_match is not None and self._hold_match(resp)):
                return True
            while self._hold_until and self._in_flight_max < self._hold_until:
                if self.stopping:
                    return False
                left = self._hold_deadline - time.monotonic()
                if left <= 0:
                    # Let go once: later answers pass too, so a client that never
                    # overlaps enough costs one hold_seconds, not one per request.
                    self._hold_until = 0
                    self._hold_timed_out = True
                    self._held.notify_all()
                    break
                self._held.wait(min(left, 0.5))
            return not self.stopping

    def stats(self):
        """{"in_flight", "in_flight_max", "requests", "hold"}; the request asking counts itself."""
        with self._lock:
            return {"in_flight": self._in_flight, "in_flight_max": self._in_flight_max,
                    "requests": self._requests,
                    "hold": {"until_in_flight": self._hold_until, "timed_out": self._hold_timed_out}}

    def reset_stats(self, hold_until=0, hold_match=None, hold_seconds=60.0):
        """Start counting afresh: the maximum restarts from what is in flight now.
        hold_until > 0 arms a hold: answers for which hold_match(resp) is true wait
        until hold_until requests were in flight at once (at most hold_seconds)."""
        with self._held:
            self._in_flight_max = self._in_flight
            self._requests = 0
            self._hold_until = hold_until
            self._hold_match = hold_match
            self._hold_deadline = time.monotonic() + hold_seconds
            self._hold_timed_out = False
            self._held.notify_all()

    def _forget(self, conn):
        with self._lock:
            self._conns.discard(conn)

    def stop(self):
        self.stopping = True
        self.stop_event.set()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            try:
                c.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
