#!/usr/bin/env python3
"""kubectl_exec.py: what kubectl (client-go) does with a kubeconfig `exec`
credential plugin, for a spec (kubectl itself is not installed here).

    kubectl_exec.py KUBECONFIG PATH

Reads the kubeconfig (YAML), takes the current context's cluster and user,
runs the user's exec command as client-go runs it (the command resolved
relative to the kubeconfig's folder when it is a relative path with a slash;
the stanza's env added to this environment; KUBERNETES_EXEC_INFO set to an
ExecCredential of the stanza's apiVersion with spec.interactive false; stdin
closed), checks the ExecCredential it prints (kind, the same apiVersion, a
token, an RFC 3339 expirationTimestamp), then GETs PATH on the cluster's
server with `Authorization: Bearer <token>`, trusting only the cluster's
certificate-authority-data. Prints one JSON object: {"status", "body",
"apiVersion", "expirationTimestamp"} or {"error": "..."}; {"skip": "..."} when
PyYAML is missing. Talks to the kubeconfig's server only (127.0.0.1 in specs).
"""
import base64
import datetime
import json
import os
import ssl
import subprocess
import sys
import urllib.error
import urllib.request


def fail(msg):
    json.dump({"error": msg}, sys.stdout)
    sys.exit(0)


def named(items, name, key):
    for it in items or []:
        if it.get("name") == name:
            return it.get(key) or {}
    fail("no %s named %s in the kubeconfig" % (key, name))


def main():
    try:
        import yaml
    except ImportError:
        json.dump({"skip": "python3-yaml is not installed"}, sys.stdout)
        return
    path, api_path = sys.argv[1], sys.argv[2]
    with open(path) as f:
        cfg = yaml.safe_load(f)
    ctx = named(cfg.get("contexts"), cfg.get("current-context"), "context")
    cluster = named(cfg.get("clusters"), ctx.get("cluster"), "cluster")
    user = named(cfg.get("users"), ctx.get("user"), "user")
    ex = user.get("exec")
    if not ex:
        fail("the user has no exec stanza")
    command = ex["command"]
    if "/" in command and not os.path.isabs(command):
        command = os.path.join(os.path.dirname(os.path.abspath(path)), command)
    env = dict(os.environ)
    for e in ex.get("env") or []:
        env[e["name"]] = e["value"]
    env["KUBERNETES_EXEC_INFO"] = json.dumps({"kind": "ExecCredential", "apiVersion": ex["apiVersion"],
                                              "spec": {"interactive": False}})
    p = subprocess.run([command] + list(ex.get("args") or []), env=env, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    if p.returncode != 0:
        fail("exec plugin: exit %d: %s" % (p.returncode, p.stderr.decode(errors="replace")))
    cred = json.loads(p.stdout.decode())
    if cred.get("kind") != "ExecCredential":
        fail("exec plugin: kind %r" % cred.get("kind"))
    if cred.get("apiVersion") != ex["apiVersion"]:
        fail("exec plugin is configured to use API version %s, plugin returned version %s"
             % (ex["apiVersion"], cred.get("apiVersion")))
    status = cred.get("status") or {}
    token = status.get("token")
    if not token:
        fail("exec plugin: no status.token")
    exp = status.get("expirationTimestamp")
    datetime.datetime.strptime(exp, "%Y-%m-%dT%H:%M:%SZ")
    ca = base64.b64decode(cluster["certificate-authority-data"]).decode()
    req = urllib.request.Request(cluster["server"] + api_path, headers={"Authorization": "Bearer " + token,
                                                                        "Accept": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30, context=ssl.create_default_context(cadata=ca)) as r:
            out = {"status": r.status, "body": json.loads(r.read().decode())}
    except urllib.error.HTTPError as e:
        out = {"status": e.code, "body": json.loads(e.read().decode() or "{}")}
    out["apiVersion"] = cred["apiVersion"]
    out["expirationTimestamp"] = exp
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
