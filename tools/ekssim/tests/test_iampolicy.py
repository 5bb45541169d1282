"""The IAM policy evaluator (sim/iampolicy.py), in-process."""

from harness import T, eq, ok
from sim import iampolicy as ip

DOCUMENTED = {"Version": "2012-10-17", "Statement": [{
    "Sid": "RequireCustomerRoutedControlPlane", "Effect": "Deny",
    "Action": ["eks:CreateCluster", "eks:UpdateClusterConfig"], "Resource": "*",
    "Condition": {"StringNotEquals": {"eks:controlPlaneEgressMode": "CUSTOMER_ROUTED"}}}]}

SAFE = {"Version": "2012-10-17", "Statement": [
    {"Sid": "Create", "Effect": "Deny", "Action": "eks:CreateCluster", "Resource": "*",
     "Condition": {"StringNotEquals": {"eks:controlPlaneEgressMode": "CUSTOMER_ROUTED"},
                   "ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/BreakGlass*"}}},
    {"Sid": "Update", "Effect": "Deny", "Action": "eks:UpdateClusterConfig", "Resource": "*",
     "Condition": {"Null": {"eks:controlPlaneEgressMode": "false"},
                   "StringNotEquals": {"eks:controlPlaneEgressMode": "CUSTOMER_ROUTED"},
                   "ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/BreakGlass*"}}}]}

ADMIN = "arn:aws:iam::111122223333:role/Admin"
GLASS = "arn:aws:iam::111122223333:role/BreakGlassOps"


def decide(doc, action, context, resource="*", full=True):
    pols = [ip.parse(doc)]
    if full:
        pols.insert(0, ip.parse(ip.FULL_AWS_ACCESS))
    return ip.evaluate(pols, action, resource, ip.make_context(context)).decision


@T("iampolicy: the documented SCP: absent key denies (negated operator on an absent key is true)")
def t_documented():
    cases = [
        ("eks:CreateCluster", {}, ip.EVAL_EXPLICIT_DENY),
        ("eks:CreateCluster", {"eks:controlPlaneEgressMode": "CUSTOMER_ROUTED"}, ip.EVAL_ALLOWED),
        ("eks:CreateCluster", {"eks:controlPlaneEgressMode": "AWS_MANAGED"}, ip.EVAL_EXPLICIT_DENY),
        ("eks:UpdateClusterConfig", {}, ip.EVAL_EXPLICIT_DENY),
        ("eks:UpdateClusterConfig", {"eks:controlPlaneEgressMode": "CUSTOMER_ROUTED"}, ip.EVAL_ALLOWED),
        ("eks:DescribeCluster", {}, ip.EVAL_ALLOWED),
        ("EKS:createcluster", {}, ip.EVAL_EXPLICIT_DENY),      # actions match case-insensitively
    ]
    for action, ctx, want in cases:
        eq(decide(DOCUMENTED, action, ctx), want, "%s %r" % (action, ctx))
    # condition key names are case-insensitive, values are not
    eq(decide(DOCUMENTED, "eks:CreateCluster", {"EKS:ControlPlaneEgressMode": "CUSTOMER_ROUTED"}), ip.EVAL_ALLOWED,
       "key case")
    eq(decide(DOCUMENTED, "eks:CreateCluster", {"eks:controlPlaneEgressMode": "customer_routed"}),
       ip.EVAL_EXPLICIT_DENY, "value case")


@T("iampolicy: the safe variant: Null + StringNotEquals AND'ed, ArnNotLike exempts a principal")
def t_safe():
    cases = [
        ("eks:CreateCluster", {"aws:PrincipalArn": ADMIN}, ip.EVAL_EXPLICIT_DENY),
        ("eks:CreateCluster", {"aws:PrincipalArn": GLASS}, ip.EVAL_ALLOWED),
        ("eks:UpdateClusterConfig", {"aws:PrincipalArn": ADMIN}, ip.EVAL_ALLOWED),   # logging/endpoint updates
        ("eks:UpdateClusterConfig", {"aws:PrincipalArn": ADMIN, "eks:controlPlaneEgressMode": "AWS_MANAGED"},
         ip.EVAL_EXPLICIT_DENY),
        ("eks:UpdateClusterConfig", {"aws:PrincipalArn": ADMIN, "eks:controlPlaneEgressMode": "CUSTOMER_ROUTED"},
         ip.EVAL_ALLOWED),
        ("eks:UpdateClusterConfig", {"aws:PrincipalArn": GLASS, "eks:controlPlaneEgressMode": "AWS_MANAGED"},
         ip.EVAL_ALLOWED),
        # an absent aws:PrincipalArn makes ArnNotLike true: still denied
        ("eks:CreateCluster", {}, ip.EVAL_EXPLICIT_DENY),
    ]
    for action, ctx, want in cases:
        eq(decide(SAFE, action, ctx), want, "%s %r" % (action, ctx))


@T("iampolicy: IfExists, Null, multiple values OR'ed, keys and operators AND'ed")
def t_operators():
    def one(cond, ctx):
        doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:Get*", "Resource": "*",
                                                        "Condition": cond}]}
        return decide(doc, "s3:GetObject", ctx, full=False)
    A, D = ip.EVAL_ALLOWED, ip.EVAL_IMPLICIT_DENY
    cases = [
        ({"StringEquals": {"k": "a"}}, {}, D),                       # positive, absent key: false
        ({"StringEqualsIfExists": {"k": "a"}}, {}, A),               # IfExists: absent key matches
        ({"StringEqualsIfExists": {"k": "a"}}, {"k": "b"}, D),
        ({"StringNotEqualsIfExists": {"k": "a"}}, {}, A),
        ({"StringNotEquals": {"k": "a"}}, {}, A),                    # negated, absent: true
        ({"StringNotLike": {"k": "a*"}}, {}, A),
        ({"ArnNotLike": {"k": "arn:aws:iam::*:role/x"}}, {}, A),
        ({"StringLike": {"k": "a*"}}, {}, D),
        ({"ArnLike": {"k": "arn:aws:iam::*:role/x"}}, {}, D),
        ({"StringEquals": {"k": ["a", "b"]}}, {"k": "b"}, A),        # values OR'ed
        ({"StringNotEquals": {"k": ["a", "b"]}}, {"k": "b"}, D),     # negated: none of them
        ({"StringNotEquals": {"k": ["a", "b"]}}, {"k": "c"}, A),
        ({"StringEquals": {"k": "a", "j": "b"}}, {"k": "a"}, D),     # keys AND'ed
        ({"StringEquals": {"k": "a", "j": "b"}}, {"k": "a", "j": "b"}, A),
        ({"StringEquals": {"k": "a"}, "StringLike": {"j": "x?z"}}, {"k": "a", "j": "xyz"}, A),  # operators AND'ed
        ({"StringEquals": {"k": "a"}, "StringLike": {"j": "x?z"}}, {"k": "a", "j": "xyyz"}, D),
        ({"Null": {"k": "true"}}, {}, A),
        ({"Null": {"k": "true"}}, {"k": "a"}, D),
        ({"Null": {"k": "false"}}, {"k": "a"}, A),
        ({"Null": {"k": "false"}}, {}, D),
        ({"StringEqualsIgnoreCase": {"k": "ABC"}}, {"k": "abc"}, A),
        ({"StringLike": {"k": "a[b]"}}, {"k": "a[b]"}, A),           # [ ] are not wildcards in IAM
        ({"StringLike": {"k": "a[b]"}}, {"k": "ab"}, D),
        ({"Bool": {"k": "true"}}, {"k": True}, A),
        ({"Bool": {"k": True}}, {"k": "false"}, D),
        ({"ForAnyValue:StringLike": {"k": "kubernetes.io/cluster/*"}}, {"k": ["a", "kubernetes.io/cluster/x"]}, A),
        ({"ForAnyValue:StringLike": {"k": "kubernetes.io/cluster/*"}}, {}, D),
        ({"ForAllValues:StringEquals": {"k": ["a", "b"]}}, {"k": ["a", "b"]}, A),
        ({"ForAllValues:StringEquals": {"k": ["a", "b"]}}, {"k": ["a", "c"]}, D),
        ({"ForAllValues:StringEquals": {"k": ["a", "b"]}}, {}, A),
    ]
    for cond, ctx, want in cases:
        eq(one(cond, ctx), want, "%r with %r" % (cond, ctx))


@T("iampolicy: ARN components match separately; Resource / NotResource; Action / NotAction wildcards")
def t_arns():
    eq(ip.arn_match("arn:aws:iam::*:role/Break*", "arn:aws:iam::111122223333:role/BreakGlass"), True, "wildcards")
    eq(ip.arn_match("arn:aws:iam::*:role/*", "arn:aws:iam::111122223333:user/x"), False, "resource part")
    eq(ip.arn_match("arn:aws:eks:*:*:cluster/*", "arn:aws:eks:us-east-1:111122223333:cluster/a/b"), True,
       "the resource part keeps its slashes")
    eq(ip.arn_match("arn:aws:*", "arn:aws:iam::1:role/x"), True, "fewer components: whole-string match")
    doc = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "NotAction": "iam:*", "Resource": "arn:aws:eks:*:*:cluster/prod-*"},
        {"Effect": "Deny", "Action": "eks:Delete?luster", "NotResource": "arn:aws:eks:*:*:cluster/prod-keep"}]}
    eq(decide(doc, "eks:DescribeCluster", {}, "arn:aws:eks:us-east-1:1:cluster/prod-a", False), ip.EVAL_ALLOWED, "1")
    eq(decide(doc, "eks:DescribeCluster", {}, "arn:aws:eks:us-east-1:1:cluster/dev-a", False), ip.EVAL_IMPLICIT_DENY,
       "resource outside")
    eq(decide(doc, "iam:GetRole", {}, "arn:aws:eks:us-east-1:1:cluster/prod-a", False), ip.EVAL_IMPLICIT_DENY,
       "NotAction")
    eq(decide(doc, "eks:DeleteCluster", {}, "arn:aws:eks:us-east-1:1:cluster/prod-a", False), ip.EVAL_EXPLICIT_DENY,
       "? wildcard and NotResource")
    eq(decide(doc, "eks:DeleteCluster", {}, "arn:aws:eks:us-east-1:1:cluster/prod-keep", False), ip.EVAL_ALLOWED,
       "NotResource excludes")
    d = ip.evaluate([ip.parse(doc)], "eks:DeleteCluster", "arn:aws:eks:us-east-1:1:cluster/prod-a")
    eq([st.index for _, st in d.matched], [1], "the deciding statement is reported")


@T("iampolicy: malformed documents and unsupported operators are refused with the path")
def t_errors():
    bad = [
        ("not json", "not valid JSON"),
        ({"Statement": []}, "Statement must be"),
        ({"Statement": [{"Effect": "Maybe", "Action": "*"}]}, "Effect must be Allow or Deny"),
        ({"Statement": [{"Effect": "Allow"}]}, "exactly one of Action, NotAction"),
        ({"Statement": [{"Effect": "Allow", "Action": "*", "NotAction": "x:y"}]}, "exactly one of Action, NotAction"),
        ({"Statement": [{"Effect": "Allow", "Action": "nocolon"}]}, "service:Action"),
        ({"Statement": [{"Effect": "Allow", "Action": "*", "Condition": {"NumericLessThan": {"k": "1"}}}]},
         "not supported by the simulator"),
        ({"Statement": [{"Effect": "Allow", "Action": "*", "Condition": {"ForSomeValues:StringEquals": {"k": "1"}}}]},
         "unknown qualifier"),
        ({"Statement": [{"Effect": "Allow", "Action": "*", "Condition": {"NullIfExists": {"k": "true"}}}]},
         "Null takes neither"),
        ({"Statement": [{"Effect": "Allow", "Action": "*", "Condition": {"Null": {"k": "maybe"}}}]},
         "true or false"),
        ({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::${aws:username}/*"}]},
         "policy variables"),
        ({"Statement": [{"Effect": "Allow", "Action": "*", "Principal": "*"}]}, "Principal is not allowed"),
        ({"Version": "2020-01-01", "Statement": [{"Effect": "Allow", "Action": "*"}]}, "Version must be"),
        ({"Statement": [{"Effect": "Allow", "Action": "*", "Bogus": 1}]}, "unknown element"),
    ]
    for doc, frag in bad:
        try:
            ip.parse(doc, "test")
            raise AssertionError("accepted: %r" % (doc,))
        except ip.PolicyError as e:
            ok(frag in str(e), "%r: message %r lacks %r" % (doc, str(e), frag))
    ip.parse({"Statement": {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "x"}}},
             allow_principal=True)
