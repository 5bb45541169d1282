#!/usr/bin/env python3
"""scripted.py: an HTTP/1.1 server on 127.0.0.1 that answers as a script says,
for specs that need a hostile or broken "AWS" (a token echoed in an error
message, a fresh page token forever, a member of the wrong type).

Prints "PORT <n>" once listening; exits when the process --parent-pid names is
gone. Standard library only.

  POST /_script   a JSON list of rules, replacing the current ones:
                  {"method": "GET" (optional), "path": "/clusters" (exact, or a
                   prefix ending in "*"), "status": 200, "headers": {...},
                   "body": "...", "limit": N (optional: the rule stops matching
                   after answering N requests)}
                  The first rule matching a request answers it. In "body",
                  {token} is the request's X-Amz-Security-Token header and {n}
                  counts the requests this rule answered (1, 2, ...).
  GET  /_requests {"requests": [{"method", "path", "headers"}...]} since the last script
Anything no rule matches gets 404 {"message": "no rule"}.
"""

import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
STATE = {"rules": [], "counts": [], "requests": []}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, body, headers=()):
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.send_response(status)
        sent = set()
        for k, v in headers:
            self.send_header(k, v)
            sent.add(k.lower())
        if "content-type" not in sent:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        path = self.path.split("?", 1)[0]
        if path == "/_script" and self.command == "POST":
            rules = json.loads(body.decode("utf-8"))
            with LOCK:
                STATE["rules"], STATE["counts"], STATE["requests"] = rules, [0] * len(rules), []
            return self.reply(200, json.dumps({"ok": True, "rules": len(rules)}))
        if path == "/_requests":
            with LOCK:
                reqs = list(STATE["requests"])
            return self.reply(200, json.dumps({"requests": reqs}))
        with LOCK:
            STATE["requests"].append({"method": self.command, "path": self.path,
                                      "headers": [[k, v] for k, v in self.headers.items()]})
            for i, r in enumerate(STATE["rules"]):
                want = r.get("path", "*")
                if r.get("method") and r["method"] != self.command:
                    continue
                if want.endswith("*") and not path.startswith(want[:-1]):
                    continue
                if not want.endswith("*") and path != want:
                    continue
                if "limit" in r and STATE["counts"][i] >= int(r["limit"]):
                    continue
                STATE["counts"][i] += 1
                n = STATE["counts"][i]
                break
            else:
                r = None
        if r is None:
            return self.reply(404, json.dumps({"message": "no rule"}))
        text = r.get("body", "").replace("{token}", self.headers.get("X-Amz-Security-Token", ""))
        text = text.replace("{n}", str(n))
        return self.reply(int(r.get("status", 200)), text, list(r.get("headers", {}).items()))

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = handle_any


def main():
    parent = int(sys.argv[sys.argv.index("--parent-pid") + 1]) if "--parent-pid" in sys.argv else None
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdout.write("PORT %d\n" % server.server_address[1])
    sys.stdout.flush()
    while True:
        time.sleep(0.5)
        if parent is not None:
            try:
                os.kill(parent, 0)
            except OSError:
                return 0


if __name__ == "__main__":
    sys.exit(main())
