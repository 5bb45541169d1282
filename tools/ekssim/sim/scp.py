"""Service control policies per account, evaluated with iampolicy.

An account's ``scp`` is either a policy document (``{"policy": {...}}``) or the
knob form of eks-egress-domain.md section 10 (``require_egress_mode``,
``variant``, ``exempt_principals``), which is turned into the equivalent
document.  As in AWS, the account's SCPs are the document plus FullAWSAccess
(unless ``"full_aws_access": false``), so only Deny statements matter while
FullAWSAccess is there; and SCPs never apply to the organization's management
account (a policy document for it is refused).

The request context holds ``aws:PrincipalArn`` (the role ARN for a role session,
else the user ARN), ``aws:PrincipalAccount``, ``aws:RequestedRegion`` and, for
eks:CreateCluster and eks:UpdateClusterConfig, ``eks:controlPlaneEgressMode``
only when the request carries the field.
"""

from . import iampolicy

_FULL = None


def full_aws_access():
    global _FULL
    if _FULL is None:
        _FULL = iampolicy.parse(iampolicy.FULL_AWS_ACCESS, "FullAWSAccess")
        _FULL.source_id = "p-FullAWSAccess"
        _FULL.source_type = "scp"
    return _FULL


def knob_document(scp):
    """The policy document the knob form of an account's scp stands for."""
    req = scp["require_egress_mode"]
    exempt = scp.get("exempt_principals") or []

    def cond(extra=None):
        c = {"StringNotEquals": {"eks:controlPlaneEgressMode": req}}
        if extra:
            c.update(extra)
        if exempt:
            c["ArnNotLike"] = {"aws:PrincipalArn": exempt}
        return c
    if scp.get("variant", "documented") == "documented":
        stmts = [{"Sid": "RequireEgressMode", "Effect": "Deny",
                  "Action": ["eks:CreateCluster", "eks:UpdateClusterConfig"], "Resource": "*", "Condition": cond()}]
    else:
        stmts = [{"Sid": "RequireEgressModeOnCreate", "Effect": "Deny", "Action": "eks:CreateCluster",
                  "Resource": "*", "Condition": cond()},
                 {"Sid": "RequireEgressModeWhenSet", "Effect": "Deny", "Action": "eks:UpdateClusterConfig",
                  "Resource": "*", "Condition": cond({"Null": {"eks:controlPlaneEgressMode": "false"}})}]
    return {"Version": "2012-10-17", "Statement": stmts}


def validate(account_id, scp, management_account):
    """Raise ValueError with a clear message for a bad scp entry; return the document or None."""
    if not isinstance(scp, dict):
        raise ValueError("account %s: scp must be an object" % account_id)
    if "policy" in scp:
        if scp.get("require_egress_mode"):
            raise ValueError("account %s: scp: give either policy or require_egress_mode, not both" % account_id)
        if account_id == management_account:
            raise ValueError("account %s: scp: SCPs never apply to the organization's management account; "
                             "attach the policy to a member account" % account_id)
        if not isinstance(scp.get("full_aws_access", True), bool):
            raise ValueError("account %s: scp.full_aws_access must be true or false" % account_id)
        try:
            iampolicy.parse(scp["policy"], "account %s scp.policy" % account_id)
        except iampolicy.PolicyError as e:
            raise ValueError(str(e))
        return scp["policy"]
    if scp.get("require_egress_mode"):
        if scp.get("variant", "documented") not in ("documented", "request_scoped"):
            raise ValueError("account %s: scp.variant must be documented or request_scoped" % account_id)
        return knob_document(scp)
    return None


def policies(scp):
    """[Policy] in force for an account's scp entry (empty: no SCP restricts it)."""
    if not scp:
        return []
    if "policy" in scp:
        doc, full = scp["policy"], scp.get("full_aws_access", True)
    elif scp.get("require_egress_mode"):
        doc, full = knob_document(scp), True
    else:
        return []
    pol = iampolicy.parse(doc, "scp")
    pol.source_id = "p-ekssim-egress"
    pol.source_type = "scp"
    return [full_aws_access(), pol] if full else [pol]


def decide(policies_, action, resource, context):
    """None when allowed, else the reason AWS writes into the AccessDenied message."""
    d = iampolicy.evaluate(policies_, action, resource, iampolicy.make_context(context))
    if d.decision == iampolicy.EVAL_EXPLICIT_DENY:
        return "with an explicit deny in a service control policy"
    if d.decision == iampolicy.EVAL_IMPLICIT_DENY:
        return "because no service control policy allows the %s action" % action
    return None
