#!/usr/bin/env python3
"""bench/report.py [--strict] RAW JSON_OUT: print the `make bench` table and write results.json.

RAW is the "key value" file bench/run.sh collected ($BUILD/bench/raw.txt); a
key seen once per round has one value per round. This script keeps the best
round of every rate, computes the ratios from those best rates, compares each
figure with its target, prints the table, and writes JSON_OUT (machine
readable: figures, units, targets, PASS/MISS, date, machine, versions).

Exit status: 0 normally (a MISS is a result, not an error); 1 when the
measurements are inconsistent (the C and Lua benches signed different
requests) or the raw file is unusable; 2 with --strict when a figure misses
its target.  Standard library only.
"""

import datetime
import json
import os
import platform
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report_peers  # noqa: E402

# Rates: name, raw key, label, unit, description.  To add a section's
# figures (e.g. peers), append here and, if it has a target, to TARGETS.
RATES = [
    ("sigv4_core", "c_sigv4_core_per_sec", "SigV4 core signer (C)", "signatures/s",
     "es_sigv4_sign(): validation, canonicalization, key-cache lookup, result headers"),
    ("sigv4_lua", "lua_sigv4_lua_per_sec", "SigV4 via Lua API", "signatures/s",
     'require("eksegress.sigv4").sign{...} with a fresh argument table per call, result table included'),
    ("sigv4_reference", "c_sigv4_reference_per_sec", "SigV4 minimal reference (C)", "signatures/s",
     "only the required hashing with fetched EVP objects: SHA-256(body), SHA-256(pre-built canonical "
     "request), one HMAC keyed with the precomputed signing key"),
    ("sigv4_reference_keyed", "c_sigv4_reference_keyed_per_sec", "  keyed reference (info)", "signatures/s",
     "as the reference, but the HMAC context is keyed once and only re-initialized (strictest baseline)"),
    ("sigv4_botocore", "py_sigv4_botocore_per_sec", "SigV4 botocore (peer)", "signatures/s",
     "botocore SigV4Auth.add_auth on an AWSRequest of the same request (botocore stamps its own date)"),
]

# Ratios are cost ratios: reference rate / figure rate (= time per signature
# of the figure / time per signature of the reference; 1.00 = as fast).
RATIOS = [
    ("ratio_core_vs_reference", "sigv4_core", "sigv4_reference", "ratio core / reference", 1.3),
    ("ratio_lua_vs_reference", "sigv4_lua", "sigv4_reference", "ratio Lua API / reference", 3.0),
    ("ratio_core_vs_reference_keyed", "sigv4_core", "sigv4_reference_keyed", "  core / keyed ref (info)", None),
    ("ratio_botocore_vs_reference", "sigv4_botocore", "sigv4_reference", "  botocore / reference (info)", None),
]

SIM_TARGET = 2000.0


def parse_raw(path):
    vals = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            key, _, value = line.partition(" ")
            vals.setdefault(key, []).append(value.strip())
    return vals


def first(vals, key, default=None):
    v = vals.get(key)
    return v[0] if v else default


def floats(vals, key):
    out = []
    for v in vals.get(key, []):
        try:
            out.append(float(v))
        except ValueError:
            pass
    return out


def machine_info(vals):
    model, flags, mhz = "unknown", "", None
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                k, _, v = line.partition(":")
                k, v = k.strip(), v.strip()
                if k == "model name" and model == "unknown":
                    model = v
                elif k == "flags" and not flags:
                    flags = v
                elif k == "cpu MHz" and mhz is None:
                    mhz = v
    except OSError:
        pass
    flagset = set(flags.split())
    try:
        nproc = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        nproc = os.cpu_count() or 0
    mem_kb = None
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem_kb = int(line.split()[1])
                    break
    except (OSError, ValueError, IndexError):
        pass
    return {
        "nproc": nproc,
        "cpu_model": model,
        "cpu_mhz": float(mhz) if mhz else None,
        "sha_ni": "sha_ni" in flagset,
        "virtualized": "hypervisor" in flagset,
        "mem_total_mib": mem_kb // 1024 if mem_kb else None,
        "kernel": platform.release(),
        "arch": platform.machine(),
        # 1/5/15-minute load averages read as each section started.
        "loadavg_at_section_start": dict(v.split(" ", 1) for v in vals.get("meta_loadavg", []) if " " in v),
    }


def versions(vals):
    curl = first(vals, "lua_curl_version", "")
    curl_v = curl.split()[0].split("/", 1)[1] if curl.startswith("libcurl/") else first(vals, "meta_curl_pc")
    lua_v = first(vals, "meta_lua_v", "") or first(vals, "lua_lua_version", "")
    lua_v = " ".join(lua_v.split()[:2]) if lua_v else None
    py = first(vals, "meta_python_v", "")
    return {
        "openssl": first(vals, "c_openssl_version") or first(vals, "lua_openssl_version"),
        "libcurl": curl_v,
        "lua": lua_v,
        "cc": first(vals, "meta_cc_v"),
        "python": py.split()[1] if py.startswith("Python ") else py or None,
    }


def fmt_rate(v):
    return "{:,.0f}".format(v) if v is not None else "-"


def verdict(value, target, op):
    if value is None or target is None:
        return None
    ok = value <= target if op == "<=" else value >= target
    return "PASS" if ok else "MISS"


def main(argv):
    strict = False
    args = list(argv)
    if args and args[0] == "--strict":
        strict = True
        args.pop(0)
    if len(args) != 2:
        print(__doc__.strip().split("\n")[0], file=sys.stderr)
        return 1
    raw_path, json_path = args
    try:
        vals = parse_raw(raw_path)
    except OSError as e:
        print("report: cannot read %s: %s" % (raw_path, e), file=sys.stderr)
        return 1

    errors = []
    secs = first(vals, "meta_seconds", "?")
    rounds = first(vals, "meta_rounds", "?")
    sim_secs = first(vals, "meta_sim_seconds", "?")

    # Same request on both sides: every round of both benches must report
    # one and the same signature.
    sigs = set(vals.get("c_signature", []) + vals.get("lua_signature", []))
    if len(sigs) > 1:
        errors.append("the C and Lua benchmarks produced different signatures: not the same request")

    figures = []
    best = {}
    for name, key, label, unit, desc in RATES:
        rs = floats(vals, key)
        if not rs:
            continue
        best[name] = max(rs)
        figures.append({"name": name, "label": label.strip(), "value": round(best[name]), "unit": unit,
                        "us_per_signature": round(1e6 / best[name], 3),
                        "rounds": [round(r) for r in rs], "aggregate": "best of rounds",
                        "target": None, "result": None, "description": desc, "_label": label})
    for name, num, den, label, target in RATIOS:
        if num not in best or den not in best:
            continue
        ratio = best[den] / best[num]
        figures.append({"name": name, "label": label.strip(), "value": round(ratio, 3), "unit": "x",
                        "target": {"op": "<=", "value": target} if target is not None else None,
                        "result": verdict(ratio, target, "<="),
                        "description": "cost ratio: best %s rate / best %s rate (time per signature of %s "
                                       "over that of %s)" % (den, num, num, den), "_label": label})

    sim = None
    if "ekssim_json" in vals:
        try:
            sim = json.loads(first(vals, "ekssim_json"))
        except ValueError:
            errors.append("cannot parse the simulator benchmark's JSON line")
    if sim is not None:
        rps = float(sim.get("requests_per_second", 0))
        nerr = int(sim.get("errors", 0))
        res = verdict(rps, SIM_TARGET, ">=")
        if nerr:
            res = "MISS"
        figures.append({"name": "ekssim_describe_cluster", "label": "ekssim signed DescribeCluster",
                        "value": round(rps, 1), "unit": "requests/s",
                        "target": {"op": ">=", "value": SIM_TARGET}, "result": res,
                        "connections": sim.get("connections"), "client_processes": sim.get("processes"),
                        "seconds": sim.get("seconds"), "requests": sim.get("requests"), "errors": nerr,
                        "exit_status": int(first(vals, "ekssim_status", "0")),
                        "description": "tools/ekssim/bench.py: signed DescribeCluster responses (HTTP 200) per "
                                       "second from %s keep-alive connections, one run" % sim.get("connections"),
                        "_label": "ekssim signed DescribeCluster"})

    peer_figs, peer_lines = report_peers.figures(vals)

    mach = machine_info(vals)
    vers = versions(vals)
    vers.update(report_peers.versions(vals))
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)

    # ---- print ----
    cpu = "%d CPUs, %s%s" % (mach["nproc"], mach["cpu_model"], ", SHA-NI" if mach["sha_ni"] else "")
    print()
    print("eksegress benchmarks, %s" % now.strftime("%Y-%m-%d %H:%M UTC"))
    print("machine: %s; OpenSSL %s; libcurl %s; %s" % (
        cpu, (vers["openssl"] or "?").replace("OpenSSL ", "").split(" ")[0], vers["libcurl"] or "?",
        vers["lua"] or "Lua ?"))
    loads = mach["loadavg_at_section_start"]
    if loads:
        print("load average (1/5/15 min) as each section started: %s" % "; ".join(
            "%s %s" % (k, v) for k, v in loads.items()))
        print("  (other work on the machine lowers every figure; the ratios suffer less, not nothing)")
    if best:
        print("signing: typical EKS request (POST /clusters/prod/update-config, 200-byte JSON body, Host and")
        print("  Content-Type, 900-char session token, fixed X-Amz-Date so the derived key is cached);")
        print("  rounds: %s; each runs C core, reference, keyed reference (one process), then the Lua API" % rounds)
        print("  (lua5.4), %s s each; best round kept. Ratio = reference rate / figure rate (cost, lower"
              % secs)
        print("  is better).")
    if sim is not None:
        print("simulator: tools/ekssim/bench.py, %s keep-alive connections over %s client processes, one %s s run." % (
            sim.get("connections"), sim.get("processes"), sim_secs))
    print()
    row = "%-30s %10s  %-13s %7s  %-9s %-6s %s"
    hdr = row % ("figure", "value", "unit", "us each", "target", "result", "per round")
    print(hdr)
    print("-" * len(hdr))
    for f in figures:
        unit = f["unit"]
        if unit == "x":
            value, unit = "%.3fx" % f["value"], "cost ratio"
        else:
            value = fmt_rate(f["value"])
        tgt = f["target"]
        tgt_s = "%s %s" % (tgt["op"], ("%gx" % tgt["value"]) if f["unit"] == "x" else "{:,.0f}".format(tgt["value"])) \
            if tgt else ""
        extra = ""
        if "rounds" in f:
            extra = " ".join(fmt_rate(r) for r in f["rounds"])
        elif f["name"] == "ekssim_describe_cluster":
            extra = "%s errors" % f["errors"]
        us = "%.2f" % f["us_per_signature"] if "us_per_signature" in f else ""
        print((row % (f["_label"], value, unit, us, tgt_s, f["result"] or "", extra)).rstrip())
    if any(vers.get(k) for k in ("boto3", "awscli", "node", "aws_sdk_client_eks")):
        print()
        print("peers measured: boto3 %s (botocore %s); %s; node %s with @aws-sdk/client-eks %s" % (
            vers.get("boto3") or "-", vers.get("botocore") or "-", vers.get("awscli") or "aws CLI -",
            vers.get("node") or "-", vers.get("aws_sdk_client_eks") or "-"))
    for line in peer_lines:
        print(line)
    figures.extend(peer_figs)
    passed = sum(1 for f in figures if f["result"] == "PASS")
    missed = sum(1 for f in figures if f["result"] == "MISS")
    print()
    print("%d PASS, %d MISS; written to %s" % (passed, missed, json_path))
    for e in errors:
        print("bench: ERROR: " + e, file=sys.stderr)

    # ---- JSON ----
    for f in figures:
        f.pop("_label", None)
    misses = [f["label"] for f in figures if f["result"] == "MISS"]
    doc = {
        "date": now.isoformat().replace("+00:00", "Z"),
        "machine": mach,
        "versions": vers,
        "method": {
            "signing_seconds_per_measurement": float(secs) if secs != "?" else None,
            "signing_rounds": int(rounds) if rounds != "?" else None,
            "signing_aggregate": "best round of each figure; C core/reference/keyed reference alternate in one "
                                 "process, then the Lua API in lua5.4, per round",
            "signing_workload": "POST /clusters/prod/update-config, 200-byte JSON body, headers Host and "
                                "Content-Type, 900-character session token (signed), fixed X-Amz-Date, "
                                "cached derived key",
            "ratio_definition": "reference rate / figure rate (cost ratio; 1.0 = as fast as the reference)",
            "simulator_seconds": float(sim_secs) if sim_secs != "?" else None,
        },
        "figures": figures,
        "summary": {"pass": passed, "miss": missed, "missed": misses, "errors": errors},
    }
    tmp = json_path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    os.replace(tmp, json_path)

    if errors:
        return 1
    if strict and missed:
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
