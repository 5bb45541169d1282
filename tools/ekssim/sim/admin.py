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
  GET  /_sim/stats                  requests in flight now, the most at once, requests counted
  POST /_sim/stats/reset            count afresh; {"hold_until_in_flight": N, "hold_ops": [...],
                                    "hold_seconds": S} also holds answers until N were in flight
"""

import json
import time
from urllib.parse import parse_qsl

from .faults import in_scope, ops_list
from .protocols import json_response

MAX_HOLD_SECONDS = 600.0


def _q(req):
    return dict(parse_qsl(req.raw_query, keep_blank_values=True))


def _hold_options(body):
    """reset_stats() keyword arguments from the JSON body of POST /_sim/stats/reset."""
    d = json.loads(body.decode("utf-8") or "{}") if body else {}
    if not isinstance(d, dict):
        raise ValueError("body must be a JSON object")
    unknown = sorted(set(d) - {"hold_until_in_flight", "hold_ops", "hold_seconds"})
    if unknown:
        raise ValueError("unknown field(s): %s" % ", ".join(unknown))
    n = d.get("hold_until_in_flight", 0)
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError("hold_until_in_flight must be a whole number >= 0")
    secs = d.get("hold_seconds", 60)
    if isinstance(secs, bool) or not isinstance(secs, (int, float)) or not 0 < secs <= MAX_HOLD_SECONDS:
        raise ValueError("hold_seconds must be a number of seconds above 0, at most %d" % MAX_HOLD_SECONDS)
    scope = ops_list(d.get("hold_ops"))

    def match(resp):
        return resp.op is not None and in_scope(scope, resp.op[1], resp.op[0])
    return {"hold_until": n, "hold_match": match, "hold_seconds": float(secs)}


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
                try:
                    hold = _hold_options(req.body)
                except (ValueError, TypeError, UnicodeDecodeError) as e:
                    return json_response({"error": str(e)}, 400)
                req.server.reset_stats(**hold)
                return json_response(req.server.stats())
            if m == "GET" and path == "/_sim/stats":
                return json_response(req.server.stats())
        if path == "/_sim/fleet" and m == "GET":
            return json_response(sim.fleet.spec)
    except Exception as e:  # admin must never take the server down
        return json_response({"error": "%s: %s" % (type(e).__name__, e)}, 500)
    return json_response({"error": "unknown admin endpoint %s %s" % (m, req.path)}, 404)
