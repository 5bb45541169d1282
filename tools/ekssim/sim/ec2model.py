"""The EC2 output shapes a fleet may state explicitly, and their conversion to wire form.

ec2_shapes.json is generated from botocore's EC2 model by tests/gen_ec2_shapes.py
(and checked against the installed botocore by tests/official_client.py).  A fleet
states resources with the SDK's member names (``RouteTables[].Routes[].NatGatewayId``);
the simulator stores and serves them under the wire element names
(``routeSet/item/natGatewayId``).  to_wire() converts one value and validates it
against the model: unknown members, wrong types and values outside an enum are
errors that name the exact path.
"""

import json
import os
import time

_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ec2_shapes.json")
_MODEL = None
# values EC2 really sends that the model's enums lack: an attached internet gateway is "available"
_ENUM_EXTRAS = {"AttachmentStatus": ["available"]}


class ShapeError(ValueError):
    pass


def model():
    global _MODEL
    if _MODEL is None:
        with open(_PATH, "r", encoding="utf-8") as f:
            data = json.load(f)
        shapes = {}
        for name, d in data["shapes"].items():
            s = dict(d)
            if s["t"] == "structure":
                s["by_name"] = dict((m[0], (m[1], m[2])) for m in s["m"])
            if "e" in s:
                # case-insensitive: EC2 itself is not consistent (VPC endpoint states come lower-case)
                s["enum_lower"] = set(v.lower() for v in s["e"] + _ENUM_EXTRAS.get(name, []))
            shapes[name] = s
        _MODEL = {"roots": data["roots"], "shapes": shapes, "source": data["source"]}
    return _MODEL


def root_shape(key):
    return model()["roots"].get(key)


def members(shape_name):
    """SDK member names of a structure shape, in model order."""
    return [m[0] for m in model()["shapes"][shape_name]["m"]]


def _iso(v):
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(float(v)))


def to_wire(shape_name, value, path):
    """Convert an SDK-shaped value to the wire form (element names, Python types)."""
    s = model()["shapes"][shape_name]
    t = s["t"]
    if t == "structure":
        if not isinstance(value, dict):
            raise ShapeError("%s: expected an object (%s)" % (path, shape_name))
        by_name = s["by_name"]
        for k in value:
            if k not in by_name:
                known = ", ".join(m[0] for m in s["m"])
                raise ShapeError("%s: unknown field %r for %s (known: %s)" % (path, k, shape_name, known))
        out = {}
        for name, wire, sub in s["m"]:         # model order, as EC2 writes them
            if name in value and value[name] is not None:
                out[wire] = to_wire(sub, value[name], "%s.%s" % (path, name))
        return out
    if t == "list":
        if not isinstance(value, list):
            raise ShapeError("%s: expected a list" % path)
        return [to_wire(s["m"], v, "%s[%d]" % (path, i)) for i, v in enumerate(value)]
    if t == "string":
        if not isinstance(value, str):
            raise ShapeError("%s: expected a string, got %r" % (path, value))
        if "e" in s and value.lower() not in s["enum_lower"]:
            raise ShapeError("%s: %r is not one of %s" % (path, value, ", ".join(s["e"])))
        return value
    if t in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ShapeError("%s: expected an integer, got %r" % (path, value))
        return value
    if t == "boolean":
        if not isinstance(value, bool):
            raise ShapeError("%s: expected true or false, got %r" % (path, value))
        return value
    if t in ("double", "float"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ShapeError("%s: expected a number, got %r" % (path, value))
        return value
    if t == "timestamp":
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise ShapeError("%s: expected an ISO 8601 time or epoch seconds, got %r" % (path, value))
        return value if isinstance(value, str) else _iso(value)
    raise ShapeError("%s: shape type %s is not supported" % (path, t))
