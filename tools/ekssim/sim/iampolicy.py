"""IAM policy documents: parsing with clear errors, and evaluation.

Exactly the semantics identity policies and service control policies of this
project use (IAM User Guide, "Policy evaluation logic", "IAM JSON policy
elements: Condition operators"):

* a policy is ``{"Version", "Statement": [..] | {..}}``; a statement has ``Effect``
  (Allow | Deny), ``Action`` or ``NotAction``, optional ``Resource`` or
  ``NotResource`` (default ``*``), optional ``Condition``;
* actions match case-insensitively with ``*`` and ``?`` wildcards; resources
  match case-sensitively, an ARN component by component (six colon-separated
  parts), each part with wildcards;
* Condition: ``{operator: {key: value | [values]}}``.  Operators are AND'ed, keys
  within an operator are AND'ed, the values of one key are OR'ed.  Condition key
  names are case-insensitive.  A key absent from the request context makes a
  positive operator false and a negated one (``StringNotEquals``, ``StringNotLike``,
  ``ArnNotEquals``, ``ArnNotLike``, ``StringNotEqualsIgnoreCase``) true; the
  ``IfExists`` suffix makes an absent key match; ``Null`` tests presence
  (``"true"``: absent).  ``ForAnyValue:`` / ``ForAllValues:`` qualify multivalued keys
  (an absent key: ForAnyValue false, ForAllValues true);
* decision: an explicit Deny wins, then any Allow, else an implicit deny.

Operators outside this set (Numeric*, Date*, IpAddress, Binary*) and policy
variables (``${...}``) are refused when the policy is parsed, never evaluated wrongly.
"""

import json
import re

EVAL_ALLOWED = "allowed"
EVAL_EXPLICIT_DENY = "explicitDeny"
EVAL_IMPLICIT_DENY = "implicitDeny"

_BASE_OPS = ("StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase",
             "StringLike", "StringNotLike", "ArnEquals", "ArnNotEquals", "ArnLike", "ArnNotLike", "Bool", "Null")
_NEGATED = ("StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "ArnNotEquals", "ArnNotLike")
_STATEMENT_KEYS = ("Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition", "Principal",
                   "NotPrincipal")


class PolicyError(ValueError):
    pass


class Condition(object):
    __slots__ = ("text", "base", "if_exists", "qualifier", "key", "values")

    def __init__(self, text, base, if_exists, qualifier, key, values):
        self.text = text
        self.base = base
        self.if_exists = if_exists
        self.qualifier = qualifier
        self.key = key
        self.values = values


class Statement(object):
    __slots__ = ("index", "sid", "effect", "actions", "not_actions", "resources", "not_resources", "conditions")

    def __init__(self, index):
        self.index = index
        self.sid = None
        self.effect = None
        self.actions = None
        self.not_actions = None
        self.resources = None
        self.not_resources = None
        self.conditions = []


class Policy(object):
    __slots__ = ("document", "statements", "source_id", "source_type")

    def __init__(self, document, statements, source_id=None, source_type=None):
        self.document = document
        self.statements = statements
        self.source_id = source_id
        self.source_type = source_type


# ---------------------------------------------------------------- matching

_glob_cache = {}


def _glob(pattern, ignore_case=False):
    """IAM wildcards: * is any run of characters, ? is one; nothing else is special."""
    key = (pattern, ignore_case)
    rx = _glob_cache.get(key)
    if rx is None:
        parts = []
        for ch in pattern:
            parts.append(".*" if ch == "*" else "." if ch == "?" else re.escape(ch))
        rx = re.compile("^" + "".join(parts) + "$", re.DOTALL | (re.IGNORECASE if ignore_case else 0))
        if len(_glob_cache) > 4096:
            _glob_cache.clear()
        _glob_cache[key] = rx
    return rx


def glob_match(pattern, value, ignore_case=False):
    return _glob(pattern, ignore_case).match(value) is not None


def arn_match(pattern, value):
    """ArnLike / Resource matching: the six ARN components are matched separately."""
    p = pattern.split(":", 5)
    v = value.split(":", 5)
    if len(p) < 6:
        return glob_match(pattern, value)
    if len(v) < 6:
        return False
    return all(glob_match(a, b) for a, b in zip(p, v))


def action_match(pattern, action):
    return glob_match(pattern, action, ignore_case=True)


# ---------------------------------------------------------------- parsing

def _strings(v, where, allow_scalar_types=False):
    if isinstance(v, str):
        return [v]
    if allow_scalar_types and isinstance(v, (bool, int, float)):
        return [_scalar(v)]
    if isinstance(v, list) and v:
        out = []
        for x in v:
            if isinstance(x, str):
                out.append(x)
            elif allow_scalar_types and isinstance(x, (bool, int, float)):
                out.append(_scalar(x))
            else:
                raise PolicyError("%s: expected a string or a list of strings, got %r" % (where, v))
        return out
    raise PolicyError("%s: expected a string or a non-empty list of strings, got %r" % (where, v))


def _scalar(x):
    if isinstance(x, bool):
        return "true" if x else "false"
    return str(x)


def _no_variables(values, where):
    for v in values:
        if "${" in v:
            raise PolicyError("%s: policy variables (%s) are not supported by the simulator" % (where, v))


def parse(doc, what="policy", allow_principal=False):
    """Parse and validate a policy document (a dict or its JSON text) into a Policy."""
    if isinstance(doc, str):
        try:
            doc = json.loads(doc)
        except ValueError as e:
            raise PolicyError("%s: not valid JSON: %s" % (what, e))
    if not isinstance(doc, dict):
        raise PolicyError("%s: a policy document must be a JSON object" % what)
    for k in doc:
        if k not in ("Version", "Id", "Statement"):
            raise PolicyError("%s: unknown top-level element %r (Version, Id, Statement)" % (what, k))
    if doc.get("Version", "2012-10-17") not in ("2012-10-17", "2008-10-17"):
        raise PolicyError("%s: Version must be 2012-10-17 (or 2008-10-17), not %r" % (what, doc.get("Version")))
    raw = doc.get("Statement")
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list) or not raw:
        raise PolicyError("%s: Statement must be an object or a non-empty list of objects" % what)
    stmts = []
    for i, s in enumerate(raw):
        where = "%s Statement[%d]" % (what, i)
        if not isinstance(s, dict):
            raise PolicyError("%s: must be an object" % where)
        for k in s:
            if k not in _STATEMENT_KEYS:
                raise PolicyError("%s: unknown element %r" % (where, k))
        if ("Principal" in s or "NotPrincipal" in s) and not allow_principal:
            raise PolicyError("%s: Principal is not allowed in an identity policy or an SCP" % where)
        st = Statement(i)
        st.sid = s.get("Sid")
        if st.sid is not None and not isinstance(st.sid, str):
            raise PolicyError("%s: Sid must be a string" % where)
        if s.get("Effect") not in ("Allow", "Deny"):
            raise PolicyError("%s: Effect must be Allow or Deny, not %r" % (where, s.get("Effect")))
        st.effect = s["Effect"]
        if ("Action" in s) == ("NotAction" in s):
            raise PolicyError("%s: needs exactly one of Action, NotAction" % where)
        if "Action" in s:
            st.actions = _strings(s["Action"], where + ".Action")
        else:
            st.not_actions = _strings(s["NotAction"], where + ".NotAction")
        for a in (st.actions or st.not_actions):
            if a != "*" and (a.count(":") != 1 or not a.split(":")[0] or not a.split(":")[1]):
                raise PolicyError("%s: action %r must be '*' or 'service:Action' (wildcards allowed)" % (where, a))
        if "Resource" in s and "NotResource" in s:
            raise PolicyError("%s: give Resource or NotResource, not both" % where)
        if "NotResource" in s:
            st.not_resources = _strings(s["NotResource"], where + ".NotResource")
            _no_variables(st.not_resources, where)
        else:
            st.resources = _strings(s.get("Resource", "*"), where + ".Resource")
            _no_variables(st.resources, where)
        cond = s.get("Condition", {})
        if not isinstance(cond, dict):
            raise PolicyError("%s: Condition must be an object" % where)
        for op, block in cond.items():
            st.conditions.extend(_parse_operator(op, block, where))
        stmts.append(st)
    return Policy(doc, stmts)


def _parse_operator(op, block, where):
    text = op
    qualifier = None
    if ":" in op:
        qualifier, op = op.split(":", 1)
        if qualifier not in ("ForAnyValue", "ForAllValues"):
            raise PolicyError("%s.Condition: unknown qualifier %r (ForAnyValue, ForAllValues)" % (where, qualifier))
    if_exists = op.endswith("IfExists") and op != "IfExists"
    base = op[:-len("IfExists")] if if_exists else op
    if base not in _BASE_OPS:
        raise PolicyError("%s.Condition: operator %r is not supported by the simulator (supported: %s, with "
                          "IfExists; ForAnyValue:/ForAllValues:)" % (where, text, ", ".join(_BASE_OPS)))
    if base == "Null" and (if_exists or qualifier):
        raise PolicyError("%s.Condition: %s: Null takes neither IfExists nor a qualifier" % (where, text))
    if not isinstance(block, dict) or not block:
        raise PolicyError("%s.Condition.%s must be a non-empty object of key: value(s)" % (where, text))
    out = []
    for key, values in block.items():
        vals = _strings(values, "%s.Condition.%s.%s" % (where, text, key), allow_scalar_types=True)
        _no_variables(vals, where)
        if base in ("Null", "Bool"):
            for v in vals:
                if v.lower() not in ("true", "false"):
                    raise PolicyError("%s.Condition.%s.%s: %r must be true or false" % (where, text, key, v))
        out.append(Condition(text, base, if_exists, qualifier, key.lower(), vals))
    return out


# ---------------------------------------------------------------- evaluation

def _value_match(base, pattern, value):
    if base in ("StringEquals", "StringNotEquals"):
        return pattern == value
    if base in ("StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase"):
        return pattern.lower() == value.lower()
    if base in ("StringLike", "StringNotLike"):
        return glob_match(pattern, value)
    if base in ("ArnEquals", "ArnNotEquals", "ArnLike", "ArnNotLike"):
        return arn_match(pattern, value)
    if base == "Bool":
        return pattern.lower() == value.lower()
    raise AssertionError(base)


def condition_true(c, context):
    """context maps lower-case key names to lists of string values (absent keys are missing)."""
    got = context.get(c.key)
    present = got is not None and len(got) > 0
    if c.base == "Null":
        want_absent = [v.lower() == "true" for v in c.values]
        return any(w == (not present) for w in want_absent)
    negated = c.base in _NEGATED
    if c.qualifier:
        if not present:
            return c.qualifier == "ForAllValues"
        # per context value: does it satisfy the operator (a negated one: match none of the values)?
        each = [any(_value_match(c.base, p, v) for p in c.values) != negated for v in got]
        return any(each) if c.qualifier == "ForAnyValue" else all(each)
    if not present:
        return True if (c.if_exists or negated) else False
    hit = any(_value_match(c.base, p, v) for p in c.values for v in got)
    return not hit if negated else hit


def statement_applies(st, action, resource, context):
    if st.actions is not None:
        if not any(action_match(p, action) for p in st.actions):
            return False
    elif any(action_match(p, action) for p in st.not_actions):
        return False
    if st.resources is not None:
        if not any(p == "*" or arn_match(p, resource) for p in st.resources):
            return False
    elif any(p == "*" or arn_match(p, resource) for p in st.not_resources):
        return False
    return all(condition_true(c, context) for c in st.conditions)


class Decision(object):
    __slots__ = ("decision", "matched")

    def __init__(self, decision, matched):
        self.decision = decision
        self.matched = matched      # [(Policy, Statement)] that decided

    @property
    def allowed(self):
        return self.decision == EVAL_ALLOWED


def make_context(pairs):
    """{key: value | [values]} -> the evaluator's context (lower-case keys, lists of strings)."""
    ctx = {}
    for k, v in pairs.items():
        if v is None:
            continue
        vals = v if isinstance(v, (list, tuple)) else [v]
        ctx[k.lower()] = [_scalar(x) if not isinstance(x, str) else x for x in vals]
    return ctx


def evaluate(policies, action, resource="*", context=None):
    """Identity-policy / SCP evaluation: explicit deny > allow > implicit deny."""
    context = context or {}
    allows = []
    denies = []
    for pol in policies:
        for st in pol.statements:
            if statement_applies(st, action, resource, context):
                (denies if st.effect == "Deny" else allows).append((pol, st))
    if denies:
        return Decision(EVAL_EXPLICIT_DENY, denies)
    if allows:
        return Decision(EVAL_ALLOWED, allows)
    return Decision(EVAL_IMPLICIT_DENY, [])


FULL_AWS_ACCESS = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
