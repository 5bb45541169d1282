"""bench/report_peers.py: the peer sections of the `make bench` report (calls,
audit, startup, scaling), for bench/report.py.

figures(vals) turns the "calls/audit/startup/scaling {json}" lines that
bench/peers.py wrote into figures (the results.json shape of report.py) and
the text tables printed after the signing table. Every peer figure is the
median of its rounds; every ratio is computed from medians.
"""

import json
import statistics

# Targets of issue 14.
BOUND_TARGET = 0.9          # calls/s over the latency bound (concurrency / latency)
CPU_RATIO_TARGET = 0.1      # eksegress CPU per call over boto3's
STARTUP_RATIO_TARGET = 1 / 25.0
RSS_10K_TARGET_MIB = 30.0
LINEAR_TARGET = 1.25        # client CPU per cluster at the largest fleet over that at 1,000

CLIENT_LABEL = {"eksegress": "eksegress (parallel)", "boto3": "boto3 + thread pool",
                "js": "JS SDK v3 + promise pool", "awscli": "AWS CLI"}


def _docs(vals, key):
    out = []
    for v in vals.get(key, []):
        try:
            out.append(json.loads(v))
        except ValueError:
            pass
    return out


def _med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def _verdict(value, op, target):
    if value is None:
        return None
    return "PASS" if (value <= target if op == "<=" else value >= target) else "MISS"


def _section(vals, key, lines, title):
    """The measurements of one section (empty when it did not run), after a
    blank line and the section's title in lines."""
    docs = _docs(vals, key)
    if docs:
        lines.append("")
        lines.append(title(docs))
    return docs


def _fig(name, label, value, unit, desc, target=None, op=None, **extra):
    f = {"name": name, "label": label, "value": value, "unit": unit, "description": desc,
         "target": {"op": op, "value": target} if target is not None else None,
         "result": _verdict(value, op, target) if target is not None else None}
    f.update(extra)
    return f


def _calls(vals, figs, lines):
    docs = _section(vals, "calls", lines, lambda ds: "calls: %s DescribeCluster per run against "
                    "bench/responder.c (SigV4 verified on every request)," % "{:,}".format(ds[0].get("calls", 0)))
    if not docs:
        return
    configs = sorted({(d["latency_ms"], d["concurrency"]) for d in docs})
    lines.append("  median of %d rounds; CPU = user+sys of the client process during the calls (start-up "
                 "excluded)" % max(d["round"] for d in docs))
    row = "  %-6s %4s  %-26s %8s %9s %10s %10s %12s  %s"
    lines.append(row % ("lat", "conc", "client", "calls/s", "of bound", "CPU/call", "peak RSS", "server CPU/call",
                        "result"))
    for lat, conc in configs:
        bound = conc * 1000.0 / lat
        per = {}
        for client in ("eksegress", "boto3", "js"):
            ds = [d for d in docs if d["client"] == client and (d["latency_ms"], d["concurrency"]) == (lat, conc)]
            if not ds:
                continue
            rates = [d["calls"] / d["wall_s"] for d in ds if d.get("wall_s")]
            cpu = [d["cpu_s"] / d["calls"] * 1e6 for d in ds if d.get("cpu_s") is not None]
            rss = [d["maxrss_kb"] / 1024.0 for d in ds if d.get("maxrss_kb")]
            srv = [d["server_cpu_s"] / d["server_requests"] * 1e6 for d in ds if d.get("server_requests")]
            errs = sum(d.get("errors", 0) for d in ds) + sum(d.get("bad_signatures", 0) for d in ds)
            rate = _med(rates)
            frac = rate / bound if rate else None
            m = {"rate": rate, "frac": frac, "cpu": _med(cpu), "rss": _med(rss), "srv": _med(srv), "errors": errs,
                 "inflight": max(d.get("server_in_flight_max", 0) for d in ds)}
            per[client] = m
            name = "calls_%s_%dms_c%d" % (client, lat, conc)
            target = BOUND_TARGET if client == "eksegress" else None
            f = _fig(name, "%s, %d ms, concurrency %d" % (CLIENT_LABEL[client], lat, conc),
                     round(rate, 1) if rate else None, "calls/s",
                     "%d DescribeCluster at %d ms latency, %d at once; value: median calls/s" % (
                         ds[0].get("calls", 0), lat, conc),
                     round(frac, 3) if target else None, ">=" if target else None,
                     of_bound=round(frac, 3) if frac else None, bound_calls_per_s=bound,
                     cpu_us_per_call=round(m["cpu"], 1) if m["cpu"] is not None else None,
                     peak_rss_mib=round(m["rss"], 1) if m["rss"] else None,
                     server_cpu_us_per_call=round(m["srv"], 1) if m["srv"] is not None else None,
                     server_in_flight_max=m["inflight"], errors=errs,
                     rounds=[round(r, 1) for r in rates])
            if target:
                # The target is on the fraction of the bound, not the rate.
                f["result"] = _verdict(frac, ">=", BOUND_TARGET) if not errs else "MISS"
            figs.append(f)
            lines.append(row % ("%d ms" % lat, conc, CLIENT_LABEL[client], "{:,.0f}".format(rate or 0),
                                "%.2f" % (frac or 0), "%.0f us" % (m["cpu"] or 0), "%.0f MiB" % (m["rss"] or 0),
                                "%.0f us" % (m["srv"] or 0),
                                (f["result"] or "") + (" %d errors" % errs if errs else "")))
        e, b = per.get("eksegress"), per.get("boto3")
        if e and b and e["cpu"] and b["cpu"]:
            ratio = e["cpu"] / b["cpu"]
            f = _fig("calls_cpu_ratio_%dms_c%d" % (lat, conc),
                     "CPU per call, eksegress / boto3, %d ms, concurrency %d" % (lat, conc), round(ratio, 3), "x",
                     "median client CPU per call of eksegress over boto3's", CPU_RATIO_TARGET, "<=")
            figs.append(f)
            js = per.get("js")
            lines.append("  %-6s %4s  CPU per call: eksegress / boto3 = %.3fx (target <= %gx) %s%s" % (
                "", "", ratio, CPU_RATIO_TARGET, f["result"],
                "; eksegress / JS SDK = %.3fx" % (e["cpu"] / js["cpu"]) if js and js["cpu"] else ""))


def _audit(vals, figs, lines):
    docs = _section(vals, "audit", lines, lambda ds: "fleet audit: 2,000 clusters, 2 accounts x 4 regions, "
                    "20 ms latency (the simulator), concurrency %s;" % ds[0].get("concurrency"))
    if not docs:
        return
    lines.append("  median of rounds; the AWS CLI runs one process per call on a 50-cluster slice")
    row = "  %-34s %9s %8s %10s %9s  %s"
    lines.append(row % ("client", "clusters", "wall", "CPU", "peak RSS", "per cluster"))
    med = {}
    for client in ("eksegress", "boto3", "awscli"):
        ds = [d for d in docs if d["client"] == client]
        if not ds:
            continue
        wall = _med([d["wall_s"] for d in ds])
        cpu = _med([d.get("cpu_total_s") for d in ds])
        rss = _med([(d.get("maxrss_kb") or 0) / 1024.0 for d in ds])
        n = _med([d.get("clusters") or 0 for d in ds])
        errs = sum(d.get("errors") or 0 for d in ds)
        per = wall / n * 1000 if n else None
        med[client] = {"wall": wall, "n": n, "per": per}
        label = {"eksegress": "eksegress audit (CLI)", "boto3": "boto3 script (list + describe)",
                 "awscli": "AWS CLI (50-cluster slice)"}[client]
        figs.append(_fig("audit_%s" % client, label, round(wall, 3), "s",
                         "wall time of the whole run, start-up included (median of rounds)",
                         clusters=n, errors=errs, cpu_s=round(cpu, 3) if cpu is not None else None,
                         peak_rss_mib=round(rss, 1), ms_per_cluster=round(per, 3) if per else None,
                         rounds=[round(d["wall_s"], 3) for d in ds]))
        lines.append(row % (label, "{:,}".format(int(n)), "%.2f s" % wall, "%.2f s" % (cpu or 0),
                            "%.0f MiB" % rss, "%.2f ms%s" % (per or 0, " (%d errors)" % errs if errs else "")))
    e = med.get("eksegress")
    for peer in ("boto3", "awscli"):
        p = med.get(peer)
        if e and p and e["per"] and p["per"]:
            ratio = p["per"] / e["per"]
            figs.append(_fig("audit_speedup_vs_%s" % peer, "audit time per cluster, %s / eksegress" % peer,
                             round(ratio, 2), "x", "how many times longer %s takes per cluster" % peer))
            lines.append("  %s takes %.1fx eksegress's time per cluster%s" % (
                CLIENT_LABEL[peer], ratio,
                " (2,000 clusters: about %.0f s)" % (p["per"] * 2000 / 1000) if peer == "awscli" else ""))


def _startup(vals, figs, lines):
    docs = _section(vals, "startup", lines, lambda ds: "start-up plus one describe, end to end (one process; "
                    "median of %d runs):" % max(d["round"] for d in ds))
    if not docs:
        return
    med, labels = {}, {}
    for d in docs:
        labels[d["case"]] = d["label"]
    row = "  %-50s %9s %9s"
    lines.append(row % ("command", "wall", "peak RSS"))
    for case in labels:
        ds = [d for d in docs if d["case"] == case and d["status"] == 0]
        if not ds:
            lines.append(row % (labels[case], "failed", ""))
            continue
        wall = _med([d["wall_s"] for d in ds]) * 1000
        rss = _med([(d.get("maxrss_kb") or 0) / 1024.0 for d in ds])
        med[case] = wall
        figs.append(_fig("startup_%s" % case, labels[case].strip(), round(wall, 1), "ms",
                         "wall time of the process, median of runs", peak_rss_mib=round(rss, 1),
                         rounds=[round(d["wall_s"] * 1000, 1) for d in ds]))
        lines.append(row % (labels[case], "%.1f ms" % wall, "%.0f MiB" % rss))
    aws = med.get("awscli")
    for case in ("eksegress_cli", "eksegress_lib"):
        if aws and case in med:
            ratio = med[case] / aws
            figs.append(_fig("startup_ratio_%s" % case, "start-up + describe, %s / aws CLI" % case,
                             round(ratio, 4), "x", "median wall time over the AWS CLI's",
                             STARTUP_RATIO_TARGET if case == "eksegress_cli" else None,
                             "<=" if case == "eksegress_cli" else None))
            lines.append("  %s / aws CLI = 1/%.0f (%.4fx)%s" % (case, 1 / ratio, ratio,
                         " target <= 1/25: %s" % figs[-1]["result"] if case == "eksegress_cli" else ""))
    if aws and "eksegress_cli" in med:
        budget = aws / 40
        parts = [(k, med[k]) for k in ("part_lua", "part_core", "part_cli") if k in med]
        lines.append("  1/40 of the aws CLI is %.1f ms; eksegress takes %.1f ms, of which: %s" % (
            budget, med["eksegress_cli"], ", ".join("%s %.1f ms" % (labels[k].strip(), v) for k, v in parts)))
        figs.append(_fig("startup_budget_1_40", "1/40 of the aws CLI's start-up + describe", round(budget, 1),
                         "ms", "what eksegress would need to reach 1/40"))


def _scaling(vals, figs, lines):
    docs = _section(vals, "scaling", lines, lambda ds: "scaling: `eksegress audit`, 1 account x 4 regions, "
                    "no added latency (the simulator), concurrency 32:")
    if not docs:
        return
    docs.sort(key=lambda d: d["clusters"])
    row = "  %8s %9s %9s %9s %11s %10s  %s"
    lines.append(row % ("clusters", "wall", "CPU", "peak RSS", "CPU/cluster", "audited", "curve (wall)"))
    top = max(d["wall_s"] for d in docs) or 1
    base = next((d for d in docs if d["clusters"] == 1000), None)
    for d in docs:
        per = (d.get("cpu_total_s") or 0) / d["clusters"] * 1e6 if d["clusters"] else 0
        rss = (d.get("maxrss_kb") or 0) / 1024.0
        bar = "#" * max(1, int(round(40 * d["wall_s"] / top)))
        f = _fig("scaling_%d" % d["clusters"], "audit of %s clusters" % "{:,}".format(d["clusters"]),
                 round(d["wall_s"], 3), "s", "wall time of `eksegress audit`, start-up included",
                 RSS_10K_TARGET_MIB if d["clusters"] == 10000 else None, "<=" if d["clusters"] == 10000 else None,
                 peak_rss_mib=round(rss, 1), cpu_s=d.get("cpu_total_s"), cpu_us_per_cluster=round(per, 1),
                 audited=d.get("audited"), errors=d.get("errors"))
        if d["clusters"] == 10000:
            f["result"] = _verdict(rss, "<=", RSS_10K_TARGET_MIB)
            f["description"] += "; target on peak RSS (MiB)"
        figs.append(f)
        lines.append(row % ("{:,}".format(d["clusters"]), "%.2f s" % d["wall_s"],
                            "%.2f s" % (d.get("cpu_total_s") or 0), "%.1f MiB" % rss,
                            "%.0f us" % per, "%s%s" % (d.get("audited"), "" if d.get("audited") == d["clusters"]
                                                       else " (INCOMPLETE)"), bar)
                     + ("   peak RSS target <= %g MiB: %s" % (RSS_10K_TARGET_MIB, f["result"])
                        if d["clusters"] == 10000 else ""))
    last = docs[-1]
    if base and last["clusters"] > base["clusters"] and base.get("cpu_total_s") and last.get("cpu_total_s"):
        ratio = (last["cpu_total_s"] / last["clusters"]) / (base["cpu_total_s"] / base["clusters"])
        f = _fig("scaling_linearity", "client CPU per cluster, %s clusters / 1,000" % "{:,}".format(last["clusters"]),
                 round(ratio, 3), "x", "eksegress's own CPU (the simulator's is not counted); 1.0: linear; "
                 "below: better than linear (start-up amortized)", LINEAR_TARGET, "<=")
        figs.append(f)
        wall_ratio = (last["wall_s"] / last["clusters"]) / (base["wall_s"] / base["clusters"])
        lines.append("  client CPU per cluster at %s over that at 1,000: %.2fx (linear or better: <= %g) %s;"
                     % ("{:,}".format(last["clusters"]), ratio, LINEAR_TARGET, f["result"]))
        lines.append("  wall time per cluster: %.2fx (includes the simulator, which slows as its fleet grows)"
                     % wall_ratio)


def figures(vals):
    """(figures, printed lines) of the peer sections present in vals."""
    figs, lines = [], []
    _calls(vals, figs, lines)
    _audit(vals, figs, lines)
    _startup(vals, figs, lines)
    _scaling(vals, figs, lines)
    return figs, lines


def versions(vals):
    def first(key):
        v = vals.get(key)
        return v[0] if v else None
    bv = (first("meta_boto3_v") or "").split()
    return {"boto3": bv[0] if len(bv) == 2 else None, "botocore": bv[1] if len(bv) == 2 else None,
            "awscli": first("meta_awscli_v"), "node": first("meta_node_v"),
            "aws_sdk_client_eks": first("meta_jssdk_v") or None}
