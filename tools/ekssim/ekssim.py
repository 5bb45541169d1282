#!/usr/bin/env python3
"""ekssim: local AWS simulator for eksegress (EKS, EC2, STS, Organizations, IMDSv2,
container credentials).  Python 3.9+ standard library only.

  python3 tools/ekssim/ekssim.py --port 0 [--fleet FILE | --generate SPEC] [--state FILE]
                                 [--time-scale X] [--seed N] [fault flags]

Prints "ekssim listening on http://127.0.0.1:PORT" once ready; SIGTERM/SIGINT stop it.
See tools/ekssim/README.md for the fleet format, the admin API and the fault flags.
"""

import argparse
import json
import os
import signal
import sys
import threading

sys.dont_write_bytecode = True      # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sim import fleet as fleetmod  # noqa: E402
from sim import generator  # noqa: E402
from sim.core import Simulator  # noqa: E402
from sim.faults import parse_rate  # noqa: E402
from sim.httpserver import HTTPServer  # noqa: E402
from sim.k8s import K8sApi  # noqa: E402


def _rate(s):
    try:
        parse_rate(s)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e))
    return s


def build_parser():
    p = argparse.ArgumentParser(prog="ekssim", description="Local AWS simulator for eksegress.")
    p.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0 picks a free port)")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--fleet", metavar="FILE", help="fleet JSON file (default: fleets/sample.json)")
    src.add_argument("--generate", metavar="SPEC",
                     help="generate a fleet, e.g. 'clusters=1000,accounts=2,regions=4,seed=7,defects=0.3'")
    p.add_argument("--dump-fleet", metavar="FILE", help="write the fleet (with ground truth) to FILE and exit")
    p.add_argument("--state", metavar="FILE", help="persist state in FILE (loaded at start if it exists)")
    p.add_argument("--time-scale", type=float, default=1.0,
                   help="multiply state-machine durations (0.01: a 7-minute update takes 4.2 s; 0: instant)")
    p.add_argument("--seed", type=int, default=0, help="seed for fault injection")
    p.add_argument("--log-size", type=int, default=100000,
                   help="requests kept in the /_sim/log ring buffer (mutating calls are all kept)")
    p.add_argument("--k8s-port", type=int, default=0, help="port of the Kubernetes API listener (0: a free one)")
    p.add_argument("--no-k8s", action="store_true",
                   help="no Kubernetes API (DescribeCluster then returns placeholder endpoints and CAs)")
    p.add_argument("--k8s-http", action="store_true",
                   help="serve the Kubernetes API over plain HTTP on loopback instead of HTTPS")
    f = p.add_argument_group("faults (rates 0..1; RATE@Op1,Op2 scopes one fault to operations)")
    f.add_argument("--throttle-rate", type=_rate, help="protocol throttling errors")
    f.add_argument("--error-rate", type=_rate, help="5xx errors (internal / unavailable)")
    f.add_argument("--drop-rate", type=_rate, help="close the connection without a response")
    f.add_argument("--stall-rate", type=_rate, help="send headers, then stall (see --stall-seconds)")
    f.add_argument("--truncate-rate", type=_rate, help="Content-Length larger than the body, then close")
    f.add_argument("--latency-ms", type=float, help="fixed latency added to every response")
    f.add_argument("--jitter-ms", type=float, help="uniform random extra latency 0..N ms")
    f.add_argument("--fault-ops", help="comma-separated operations every fault is limited to")
    f.add_argument("--clock-skew", type=float, help="shift the simulator clock by SECONDS")
    f.add_argument("--stall-seconds", type=float, help="how long a stalled response holds (max 30, default 30)")
    f.add_argument("--drop-when", choices=["before", "after"],
                   help="drop before executing the operation or after (default after: the response is lost)")
    return p


def fault_settings(args):
    d = {"seed": args.seed}
    for k in ("throttle", "error", "drop", "stall", "truncate"):
        v = getattr(args, k + "_rate")
        if v is not None:
            d[k + "_rate"] = v
    for k in ("latency_ms", "jitter_ms", "clock_skew", "stall_seconds", "drop_when"):
        v = getattr(args, k)
        if v is not None:
            d[k] = v
    if args.fault_ops:
        d["ops"] = args.fault_ops
    return d


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        if args.generate:
            spec = generator.generate(args.generate)
        else:
            spec = fleetmod.load(args.fleet)
        fleetmod.validate(spec)
    except (generator.SpecError, fleetmod.FleetError) as e:
        print("ekssim: %s" % e, file=sys.stderr)
        return 64
    if args.dump_fleet:
        # A regular file is replaced atomically; anything else (a pipe,
        # /dev/null, /dev/stdout) is written in place: renaming over a device
        # would replace the device itself with a file.
        target = args.dump_fleet
        if os.path.exists(target) and not os.path.isfile(target):
            with open(target, "w", encoding="utf-8") as fh:
                json.dump(spec, fh, indent=1, sort_keys=False)
                fh.write("\n")
            return 0
        tmp = target + ".tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(spec, fh, indent=1, sort_keys=False)
            fh.write("\n")
        os.replace(tmp, target)
        return 0
    if args.time_scale < 0:
        print("ekssim: --time-scale must be >= 0", file=sys.stderr)
        return 64
    if args.state and os.path.exists(args.state) and (args.fleet or args.generate):
        print("ekssim: note: %s exists; its saved fleet and state are used" % args.state, file=sys.stderr)
    try:
        sim = Simulator(spec, time_scale=args.time_scale, state_file=args.state, seed=args.seed,
                        log_size=max(1, args.log_size))
        sim.faults.update(fault_settings(args))
    except (fleetmod.FleetError, ValueError, OSError) as e:
        print("ekssim: %s" % e, file=sys.stderr)
        return 64
    except (TypeError, KeyError, AttributeError) as e:
        # a fleet (or --state file) value of a type nothing checked: a clear line, not a traceback
        print("ekssim: invalid fleet or state (%s: %s)" % (type(e).__name__, e), file=sys.stderr)
        return 64

    def on_error(e):
        import traceback
        traceback.print_exception(type(e), e, e.__traceback__, file=sys.stderr)

    try:
        server = HTTPServer(sim.handle, "127.0.0.1", args.port, on_error=on_error, date_fn=sim.date_header)
    except OSError as e:
        print("ekssim: cannot listen on 127.0.0.1:%d: %s" % (args.port, e), file=sys.stderr)
        return 69
    k8s = None
    if not args.no_k8s:
        try:
            k8s = K8sApi(sim, "127.0.0.1", args.k8s_port, tls=not args.k8s_http, on_error=on_error)
        except OSError as e:
            print("ekssim: cannot listen on 127.0.0.1:%d: %s" % (args.k8s_port, e), file=sys.stderr)
            server.stop()
            return 69
        sim.k8s = k8s
        k8s.start()
    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    server.start()
    sys.stdout.write("ekssim listening on http://127.0.0.1:%d\n" % server.port)
    if k8s is not None:
        sys.stdout.write("ekssim kubernetes api on %s/k8s/<account>/<region>/<cluster>\n" % k8s.url)
    sys.stdout.flush()
    while not stop.wait(0.5):
        pass
    server.stop()
    if k8s is not None:
        k8s.stop()
    try:
        sim.save_state()
    except OSError as e:
        print("ekssim: could not save state: %s" % e, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
