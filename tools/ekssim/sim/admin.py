"""Admin endpoints under /_sim/ (unsigned, outside the AWS shapes).

  GET  /_sim/health                 liveness and counts
  GET  /_sim/state                  clusters (status, mode, updates, ground truth); ?account=&region=&name=
  GET  /_sim/log                    request log and per-cluster mutating calls; ?since=SEQ&limit=N
  POST /_sim/reset                  back to the initial fleet (clears sessions, log, state clock)
  GET  /_sim/faults                 current fault settings
  POST /_sim/faults                 change fault settings (JSON; {"reset": true} clears first)
  POST /_sim/advance                {"seconds": N} moves the state clock; {"all": true} finishes
                                    every timed transition now
  GET  /_sim/fleet                  the fleet spec in use (compact form, with ground truth)
"""

import json
import time
from urllib.parse import parse_qsl

from .protocols import json_response


def _q(req):
    return dict(parse_qsl(req.raw_query, keep_blank_values=True))


def handle(sim, req):
    path = req.path.rstrip("/")
    m = req.method
    try:
        if path == "/_sim/health" and m == "GET":
            with sim.lock:
                n = len(sim.eks.clusters)
            return json_response({"ok": True, "clusters": n, "uptime_s": round(time.time() - sim.started, 3),
                                  "time_scale": sim.time_scale, "pid": sim.pid})
        if path == "/_sim/state" and m == "GET":
            q = _q(req)
            with sim.lock:
                now = sim.state_now()
                out = {"now": now, "time_scale": sim.time_scale, "state_offset": sim.state_offset,
                       "clusters": sim.eks.state_view(now, q.get("account"), q.get("region"), q.get("name")),
                       "sessions": len(sim.sessions)}
            return json_response(out)
        if path == "/_sim/log" and m == "GET":
            q = _q(req)
            try:
                since = int(q.get("since", "0"))
                limit = int(q.get("limit", "100000"))
            except ValueError:
                return json_response({"error": "since and limit must be integers"}, 400)
            with sim.lock:
                return json_response(sim.log.view(since, limit))
        if path == "/_sim/reset" and m == "POST":
            sim.reset()
            return json_response({"ok": True})
        if path == "/_sim/faults" and m == "GET":
            return json_response(sim.faults.to_dict())
        if path == "/_sim/faults" and m == "POST":
            try:
                d = json.loads(req.body.decode("utf-8") or "{}")
                if not isinstance(d, dict):
                    raise ValueError("body must be a JSON object")
                sim.faults.update(d)
            except (ValueError, TypeError, UnicodeDecodeError) as e:
                return json_response({"error": str(e)}, 400)
            return json_response(sim.faults.to_dict())
        if path == "/_sim/advance" and m == "POST":
            try:
                d = json.loads(req.body.decode("utf-8") or "{}")
                if not isinstance(d, dict):
                    raise ValueError("body must be a JSON object")
                with sim.lock:
                    if d.get("all"):
                        sim.eks.advance_all(sim.state_now())
                    else:
                        sim.state_offset += float(d.get("seconds", 0))
                    sim.save_state()
            except (ValueError, TypeError, UnicodeDecodeError) as e:
                return json_response({"error": str(e)}, 400)
            return json_response({"ok": True, "state_offset": sim.state_offset})
        if path in ("/_sim/stats", "/_sim/stats/reset"):
            if req.server is None:
                return json_response({"error": "no HTTP server counts these requests"}, 404)
            if m == "POST" and path == "/_sim/stats/reset":
                req.server.reset_stats()
                return json_response(req.server.stats())
            if m == "GET" and path == "/_sim/stats":
                return json_response(req.server.stats())
        if path == "/_sim/fleet" and m == "GET":
            return json_response(sim.fleet.spec)
    except Exception as e:  # admin must never take the server down
        return json_response({"error": "%s: %s" % (type(e).__name__, e)}, 500)
    return json_response({"error": "unknown admin endpoint %s %s" % (m, req.path)}, 404)
