"""Deterministic AWS-looking ids: the same fleet always yields the same ids."""

import hashlib


def h16(*parts):
    return hashlib.sha1("/".join(map(str, parts)).encode("utf-8")).hexdigest()[:16]


def rid(prefix, *parts):
    """A deterministic AWS-looking id: prefix-0 + 16 hex digits."""
    return "%s-0%s" % (prefix, h16(prefix, *parts))


def hexid(n, *parts):
    return hashlib.sha256("/".join(str(p) for p in parts).encode()).hexdigest()[:n].upper()
