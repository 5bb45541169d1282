#!/usr/bin/env python3
"""raw_eks.py: send one signed EKS request to the simulator outside eksegress,
with the simulator suite's own signer (tools/ekssim/tests/sigv4_client.py).

    raw_eks.py REQUEST.json

For specs that must show what the simulator decides on a request eksegress's
guard never sends (a revert to AWS_MANAGED): the spec states such rows are
witnessed by this independent signer, not by eksegress. Reads one JSON object
from the file named (credentials stay out of argv):

  {"port": N, "akid": "...", "secret": "...", "token": null, "region": "us-east-1",
   "method": "POST", "path": "/clusters/x/update-config", "body": {...}}

and prints {"status": N, "body": {...}}. Talks to 127.0.0.1 only.
"""
import http.client
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools", "ekssim", "tests"))
import sigv4_client  # noqa: E402


def main():
    with open(sys.argv[1]) as f:
        req = json.load(f)
    host = "127.0.0.1:%d" % req["port"]
    body = json.dumps(req.get("body") or {}).encode()
    headers = sigv4_client.sign(req["method"], host, req["path"], "", {"content-type": "application/json"}, body,
                                req["region"], "eks", req["akid"], req["secret"], req.get("token"))
    conn = http.client.HTTPConnection("127.0.0.1", req["port"], timeout=30)
    conn.request(req["method"], req["path"], body=body, headers=headers)
    resp = conn.getresponse()
    data = resp.read().decode()
    try:
        parsed = json.loads(data)
    except ValueError:
        parsed = {"raw": data}
    json.dump({"status": resp.status, "body": parsed, "error": resp.getheader("x-amzn-ErrorType")}, sys.stdout)


if __name__ == "__main__":
    main()
