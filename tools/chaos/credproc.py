#!/usr/bin/env python3
"""credproc.py URL COUNTER [--fail-first] [--lifetime S]

A credential_process for the chaos specs: fetches role credentials from the
simulator's container-credentials endpoint (URL/v1/credentials, token
ekssim-container-token) and prints them in credential_process JSON. Every call
increments the number in COUNTER (a file), so a spec can count refreshes.

--fail-first   the first call fails (exit 1, a one-line reason on stderr), as a
               flaky SSO helper or a network blip does; later calls work.
--lifetime S   report an Expiration S seconds from the simulator's clock
               (its Date header) instead of the session's own, so a client
               must come back for fresh credentials during a run.

Talks only to the URL given (the simulator on 127.0.0.1); standard library.
"""
import email.utils
import json
import os
import sys
import time
import urllib.request


def main(argv):
    url, counter = argv[1], argv[2]
    fail_first = "--fail-first" in argv
    lifetime = None
    if "--lifetime" in argv:
        lifetime = int(argv[argv.index("--lifetime") + 1])
    try:
        with open(counter) as f:
            n = int(f.read().strip() or "0")
    except FileNotFoundError:
        n = 0
    n += 1
    tmp = "%s.tmp.%d" % (counter, os.getpid())
    with open(tmp, "w") as f:
        f.write("%d\n" % n)
    os.replace(tmp, counter)
    if fail_first and n == 1:
        sys.stderr.write("credproc: the identity provider is unavailable (simulated first-call failure)\n")
        return 1
    req = urllib.request.Request(url + "/v1/credentials", headers={"Authorization": "ekssim-container-token"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        body = json.loads(resp.read())
        server_now = email.utils.parsedate_to_datetime(resp.headers["Date"]).timestamp()
    expiration = body["Expiration"]
    if lifetime is not None:
        expiration = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(server_now + lifetime))
    out = {"Version": 1, "AccessKeyId": body["AccessKeyId"], "SecretAccessKey": body["SecretAccessKey"],
           "SessionToken": body["Token"], "Expiration": expiration}
    sys.stdout.write(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
