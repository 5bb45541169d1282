"""Seeded fault injection.

Rates (0..1) per request: throttle (protocol throttling error), error (5xx:
internal or unavailable), drop (close without a response), stall (headers sent,
body never comes; connection held for stall_seconds, max 30), truncate
(Content-Length larger than the body sent, then close).  Latency adds
latency_ms + uniform(0, jitter_ms) before the response.  clock_skew shifts the
simulator clock (Date header and signature checks) by that many seconds.

Scoping: a global operation list (--fault-ops / "ops") applies to every fault;
each fault may carry its own list ("0.2@DescribeCluster,ListClusters" on the
command line, or "<fault>_ops" in JSON).  Entries match an operation name
("DescribeCluster"), a service-qualified name ("eks:DescribeCluster") or a
pattern ("eks:*", "Describe*").  Without any list, faults hit every AWS API
operation (EKS, EC2, STS, Organizations, IAM) but not IMDS, container
credentials, the Kubernetes API or admin calls; name ImdsToken,
ImdsCredentials, ContainerCredentials or a Kubernetes operation
(kubernetes:*) explicitly to fault those.

Counted faults are deterministic and use no randomness: "fail_count": N
makes the N requests in scope after the first "fail_skip" (default 0) fail
with "fail_kind" (throttle, internal, unavailable (default) or drop: closed
before the operation runs); "fail_ops" scopes them like any fault.  The
counters run down (GET /_sim/faults shows what is left), so a test can make a
listing fail on its second page, then succeed when it is read again.
"""

import fnmatch
import random
import threading

RATES = ("throttle", "error", "drop", "stall", "truncate")
FAIL_KINDS = ("throttle", "internal", "unavailable", "drop")
AWS_SERVICES = ("eks", "ec2", "sts", "organizations", "iam")
MAX_STALL = 30.0


def parse_rate(value):
    """'0.2' or '0.2@Op1,Op2' -> (rate, [ops] or None)."""
    if isinstance(value, (int, float)):
        rate, ops = float(value), None
    else:
        s = str(value)
        if "@" in s:
            r, o = s.split("@", 1)
            rate, ops = float(r), [x.strip() for x in o.split(",") if x.strip()]
        else:
            rate, ops = float(s), None
    if rate < 0 or rate > 1:
        raise ValueError("fault rate must be between 0 and 1: %r" % (value,))
    return rate, ops


def ops_list(v):
    """An operation scope from JSON or a flag: a list, or 'Op1,Op2'; None stays None."""
    if v is None:
        return None
    if isinstance(v, str):
        return [x.strip() for x in v.split(",") if x.strip()]
    if isinstance(v, list):
        return [str(x) for x in v]
    raise ValueError("ops must be a list or a comma-separated string")


def in_scope(scope, op, service):
    """Does a list of operation patterns ('DescribeCluster', 'eks:*', ...; None:
    every AWS service) take in operation op of service?"""
    if scope is None:
        return service in AWS_SERVICES
    qual = "%s:%s" % (service, op)
    for s in scope:
        if s == op or s == qual or fnmatch.fnmatchcase(op, s) or fnmatch.fnmatchcase(qual, s):
            return True
    return False


class Decision(object):
    __slots__ = ("pre", "post", "delay")

    def __init__(self):
        self.pre = None     # None | 'throttle' | 'internal' | 'unavailable' | 'drop'
        self.post = None    # None | 'drop' | 'stall' | 'truncate'
        self.delay = 0.0


class Faults(object):
    def __init__(self, seed=0):
        self.lock = threading.Lock()
        self.seed = seed
        self.rng = random.Random(seed)
        self.clear()

    def clear(self):
        self.rates = dict((k, 0.0) for k in RATES)
        self.scopes = dict((k, None) for k in RATES)
        self.ops = None
        self.latency_ms = 0.0
        self.jitter_ms = 0.0
        self.latency_ops = None
        self.clock_skew = 0.0
        self.stall_seconds = MAX_STALL
        self.drop_when = "after"
        self.fail_count = 0
        self.fail_skip = 0
        self.fail_kind = "unavailable"
        self.fail_ops = None

    def active(self):
        return any(self.rates.values()) or self.latency_ms > 0 or self.jitter_ms > 0 or self.fail_count > 0

    def update(self, d):
        """Apply a JSON/CLI dict; unknown keys raise ValueError."""
        d = dict(d)
        with self.lock:
            if d.pop("reset", False):
                self.clear()
            if "seed" in d:
                self.seed = int(d.pop("seed"))
                self.rng = random.Random(self.seed)
            if "ops" in d:
                self.ops = ops_list(d.pop("ops"))
            for k in RATES:
                key = k + "_rate"
                if key in d:
                    rate, ops = parse_rate(d.pop(key))
                    self.rates[k] = rate
                    if ops is not None:
                        self.scopes[k] = ops
                if k + "_ops" in d:
                    self.scopes[k] = ops_list(d.pop(k + "_ops"))
            if "latency_ms" in d:
                self.latency_ms = max(0.0, float(d.pop("latency_ms")))
            if "jitter_ms" in d:
                self.jitter_ms = max(0.0, float(d.pop("jitter_ms")))
            if "latency_ops" in d:
                self.latency_ops = ops_list(d.pop("latency_ops"))
            if "clock_skew" in d:
                self.clock_skew = float(d.pop("clock_skew"))
            if "stall_seconds" in d:
                self.stall_seconds = min(MAX_STALL, max(0.0, float(d.pop("stall_seconds"))))
            if "drop_when" in d:
                v = d.pop("drop_when")
                if v not in ("before", "after"):
                    raise ValueError("drop_when must be before or after")
                self.drop_when = v
            for key in ("fail_count", "fail_skip"):
                if key in d:
                    v = d.pop(key)
                    if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                        raise ValueError("%s must be a non-negative integer" % key)
                    setattr(self, key, v)
            if "fail_kind" in d:
                v = d.pop("fail_kind")
                if v not in FAIL_KINDS:
                    raise ValueError("fail_kind must be one of %s" % ", ".join(FAIL_KINDS))
                self.fail_kind = v
            if "fail_ops" in d:
                self.fail_ops = ops_list(d.pop("fail_ops"))
            if d:
                raise ValueError("unknown fault settings: %s" % ", ".join(sorted(d)))

    def to_dict(self):
        out = {"seed": self.seed, "ops": self.ops, "latency_ms": self.latency_ms, "jitter_ms": self.jitter_ms,
               "latency_ops": self.latency_ops, "clock_skew": self.clock_skew,
               "stall_seconds": self.stall_seconds, "drop_when": self.drop_when,
               "fail_count": self.fail_count, "fail_skip": self.fail_skip, "fail_kind": self.fail_kind,
               "fail_ops": self.fail_ops}
        for k in RATES:
            out[k + "_rate"] = self.rates[k]
            out[k + "_ops"] = self.scopes[k]
        return out

    def _in_scope(self, scope, op, service):
        return in_scope(self.ops if scope is None else scope, op, service)

    def decide(self, op, service):
        d = Decision()
        if not self.active():
            return d
        with self.lock:
            if self.fail_count > 0 and self._in_scope(self.fail_ops, op, service):
                if self.fail_skip > 0:
                    self.fail_skip -= 1
                else:
                    self.fail_count -= 1
                    d.pre = self.fail_kind
            rng = self.rng
            for k in RATES:
                rate = self.rates[k]
                if rate <= 0 or not self._in_scope(self.scopes[k], op, service):
                    continue
                hit = rng.random() < rate
                if not hit:
                    continue
                if k == "throttle" and d.pre is None:
                    d.pre = "throttle"
                elif k == "error" and d.pre is None:
                    d.pre = "internal" if rng.random() < 0.5 else "unavailable"
                elif k == "drop" and self.drop_when == "before" and d.pre is None:
                    d.pre = "drop"
                elif k in ("drop", "stall", "truncate") and d.post is None:
                    d.post = k
            if (self.latency_ms > 0 or self.jitter_ms > 0) and self._in_scope(self.latency_ops, op, service):
                d.delay = (self.latency_ms + rng.uniform(0, self.jitter_ms)) / 1000.0
        return d
