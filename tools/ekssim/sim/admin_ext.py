"""More admin endpoints under /_sim/ (unsigned).  Paths not listed here fall through
to admin.py.

  GET  /_sim/checks                 {"checks": [...]}: the preflight check ids the ground truth uses
  GET  /_sim/scp?account=ID         {"account", "scp", "policies": [documents in force]}
  POST /_sim/scp                    {"account": ID, "policy": {...} | null, "full_aws_access": true}
                                    replaces the account's SCP (null removes it) until /_sim/reset
  GET  /_sim/k8s                    {"url", "tls", "ca_pem", "clusters": {"acct/region/name": endpoint}}
"""

import json
from urllib.parse import parse_qsl

from . import fleet as fleetmod
from .protocols import json_response


def handle(sim, req):
    """A Response for the paths this module serves, else None."""
    path = req.path.rstrip("/")
    m = req.method
    if path == "/_sim/checks" and m == "GET":
        return json_response({"checks": list(fleetmod.CHECK_IDS)})
    if path == "/_sim/scp" and m == "GET":
        q = dict(parse_qsl(req.raw_query, keep_blank_values=True))
        acct = q.get("account")
        if acct not in sim.fleet.accounts:
            return json_response({"error": "unknown account %r (?account=ID)" % (acct,)}, 400)
        return json_response({"account": acct, "scp": sim.scp_entry(acct),
                              "policies": [p.document for p in sim.scp_policies(acct)]})
    if path == "/_sim/scp" and m == "POST":
        try:
            d = json.loads(req.body.decode("utf-8") or "{}")
            if not isinstance(d, dict) or "account" not in d or "policy" not in d:
                raise ValueError('body must be {"account": ID, "policy": {...} | null}')
            entry = None
            if d["policy"] is not None:
                entry = {"policy": d["policy"], "full_aws_access": d.get("full_aws_access", True)}
            sim.set_scp(d["account"], entry)
        except (ValueError, TypeError, UnicodeDecodeError) as e:
            return json_response({"error": str(e)}, 400)
        return json_response({"ok": True, "account": d["account"]})
    if path == "/_sim/k8s" and m == "GET":
        k = sim.k8s
        if k is None:
            return json_response({"error": "the Kubernetes API is not running (started with --no-k8s?)"}, 404)
        with sim.lock:
            clusters = dict(("%s/%s/%s" % (r["account"], r["region"], r["name"]), k.endpoint(r))
                            for r in sim.eks.records())
        return json_response({"url": k.url, "tls": k.tls, "ca_pem": k.ca_pem, "clusters": clusters})
    return None
