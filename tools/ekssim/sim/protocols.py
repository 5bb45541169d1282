"""Wire shapes of responses and errors for the four AWS protocols served.

  rest-json  EKS           errors: x-amzn-ErrorType header + {"message": ...}
  ec2        EC2           <Response><Errors><Error>..</Error></Errors><RequestID>..</RequestID></Response>
  query      STS, IAM      <ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>
  json       Organizations json-1.1: {"__type": code, "Message": ...}

Services raise AwsError(code, message, status) for service errors, or
kind_error(kind, service) for the cross-cutting kinds (authentication,
throttling, 5xx, access denied) whose code differs per protocol.
"""

import json
from xml.sax.saxutils import escape

from .httpserver import Response

SERVICE_PROTOCOL = {"eks": "rest-json", "ec2": "ec2", "sts": "query", "organizations": "json", "iam": "query"}

EC2_NS = "http://ec2.amazonaws.com/doc/2016-11-15/"
STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"
IAM_NS = "https://iam.amazonaws.com/doc/2010-05-08/"
QUERY_NS = {"sts": STS_NS, "iam": IAM_NS}
EKS_ERR_NS = "http://internal.amazon.com/coral/com.amazonaws.eks/"


class AwsError(Exception):
    def __init__(self, code, message, status=400, extra=None, sender=True):
        Exception.__init__(self, "%s: %s" % (code, message))
        self.code = code
        self.message = message
        self.status = status
        self.extra = extra or {}
        self.sender = sender


_SIG_MISMATCH = ("The request signature we calculated does not match the signature you provided. "
                 "Check your AWS Secret Access Key and signing method. Consult the service "
                 "documentation for details.")
_TOKEN_INVALID = "The security token included in the request is invalid."
_EC2_AUTH = "AWS was not able to validate the provided access credentials"

# kind -> protocol -> (status, code, default message)
_KINDS = {
    "missing_auth": {
        "rest-json": (403, "MissingAuthenticationTokenException", "Missing Authentication Token"),
        "ec2": (401, "MissingAuthenticationToken",
                "The request must contain either a valid (registered) AWS access key ID or X.509 certificate."),
        "query": (403, "MissingAuthenticationToken", "Request is missing Authentication Token"),
        "json": (400, "MissingAuthenticationTokenException", "Missing Authentication Token"),
    },
    "incomplete": {
        "rest-json": (403, "IncompleteSignatureException", None),
        "ec2": (400, "IncompleteSignature", None),
        "query": (400, "IncompleteSignature", None),
        "json": (400, "IncompleteSignatureException", None),
    },
    "unknown_key": {
        "rest-json": (403, "UnrecognizedClientException", _TOKEN_INVALID),
        "ec2": (401, "AuthFailure", _EC2_AUTH),
        "query": (403, "InvalidClientTokenId", _TOKEN_INVALID),
        "json": (400, "UnrecognizedClientException", _TOKEN_INVALID),
    },
    "invalid_token": {
        "rest-json": (403, "UnrecognizedClientException", _TOKEN_INVALID),
        "ec2": (401, "AuthFailure", _EC2_AUTH),
        "query": (403, "InvalidClientTokenId", _TOKEN_INVALID),
        "json": (400, "UnrecognizedClientException", _TOKEN_INVALID),
    },
    "mismatch": {
        "rest-json": (403, "InvalidSignatureException", _SIG_MISMATCH),
        "ec2": (401, "AuthFailure", _EC2_AUTH),
        "query": (403, "SignatureDoesNotMatch", _SIG_MISMATCH),
        "json": (400, "InvalidSignatureException", _SIG_MISMATCH),
    },
    "scope": {
        "rest-json": (403, "InvalidSignatureException", None),
        "ec2": (401, "AuthFailure", None),
        "query": (403, "SignatureDoesNotMatch", None),
        "json": (400, "InvalidSignatureException", None),
    },
    # time skew: the signature is stale (or from the future)
    "expired": {
        "rest-json": (403, "InvalidSignatureException", None),
        "ec2": (400, "RequestExpired", "Request has expired."),
        "query": (403, "SignatureDoesNotMatch", None),
        "json": (400, "InvalidSignatureException", None),
    },
    "future": {
        "rest-json": (403, "InvalidSignatureException", None),
        "ec2": (400, "RequestExpired", "Request is not yet valid."),
        "query": (403, "SignatureDoesNotMatch", None),
        "json": (400, "InvalidSignatureException", None),
    },
    "expired_token": {
        "rest-json": (403, "ExpiredTokenException", "The security token included in the request is expired"),
        "ec2": (400, "RequestExpired", "Request has expired."),
        "query": (400, "ExpiredToken", "The security token included in the request is expired"),
        "json": (400, "ExpiredTokenException", "The security token included in the request is expired"),
    },
    "access_denied": {
        "rest-json": (403, "AccessDeniedException", None),
        "ec2": (403, "UnauthorizedOperation", None),
        "query": (403, "AccessDenied", None),
        "json": (400, "AccessDeniedException", None),
    },
    "throttle": {
        "rest-json": (429, "ThrottlingException", "Rate exceeded"),
        "ec2": (503, "RequestLimitExceeded", "Request limit exceeded."),
        "query": (400, "Throttling", "Rate exceeded"),
        "json": (400, "TooManyRequestsException", "AWS Organizations can't complete your request "
                 "because another request is already in progress. Try again later."),
    },
    "internal": {
        "rest-json": (500, "ServerException", "An internal error occurred. Try again later."),
        "ec2": (500, "InternalError", "An internal error has occurred"),
        "query": (500, "InternalFailure", "An internal error occurred. Try again later."),
        "json": (500, "ServiceException", "AWS Organizations can't complete your request because "
                 "of an internal service error. Try again later."),
    },
    "unavailable": {
        "rest-json": (503, "ServiceUnavailableException", "Service Unavailable. Please try again later."),
        "ec2": (503, "Unavailable", "The server is overloaded and can't handle the request."),
        "query": (503, "ServiceUnavailable", "Service is unable to handle request."),
        "json": (503, "ServiceException", "AWS Organizations can't complete your request because "
                 "of an internal service error. Try again later."),
    },
    "unknown_operation": {
        "rest-json": (404, "UnknownOperationException", "Unknown operation"),
        "ec2": (400, "InvalidAction", None),
        "query": (400, "InvalidAction", None),
        "json": (400, "UnknownOperationException", None),
    },
}


def kind_error(kind, service, message=None):
    proto = SERVICE_PROTOCOL.get(service, "rest-json")
    status, code, default = _KINDS[kind][proto]
    # a protocol with a fixed message for this kind (e.g. EC2 AuthFailure) keeps it
    e = AwsError(code, default if default is not None else (message or code), status,
                 sender=status < 500)
    e.kind = kind
    return e


# ---------------------------------------------------------------- XML

def _xml(out, name, value):
    if value is None:
        return
    t = type(value)
    if t is str:
        out.append("<%s>%s</%s>" % (name, escape(value), name))
    elif t is bool:
        out.append("<%s>%s</%s>" % (name, "true" if value else "false", name))
    elif t is int or t is float:
        out.append("<%s>%s</%s>" % (name, value, name))
    elif t is dict:
        out.append("<%s>" % name)
        for k, v in value.items():
            if k[0] != "_":
                _xml(out, k, v)
        out.append("</%s>" % name)
    elif t is list or t is tuple:
        if not value:
            out.append("<%s/>" % name)
            return
        out.append("<%s>" % name)
        for item in value:
            _xml(out, "item", item)
        out.append("</%s>" % name)
    else:
        out.append("<%s>%s</%s>" % (name, escape(str(value)), name))


def xml_fragment(fields, list_item="item"):
    """Serialise an ordered dict of fields (lists become <x><item>..</item></x>)."""
    out = []
    for k, v in fields.items():
        if k[0] != "_":
            _xml(out, k, v)
    s = "".join(out)
    if list_item != "item":
        s = s.replace("<item>", "<%s>" % list_item).replace("</item>", "</%s>" % list_item)
    return s


# ---------------------------------------------------------------- responses

def json_response(obj, status=200, content_type="application/json"):
    body = json.dumps(obj, separators=(",", ":")).encode("utf-8")
    return Response(status, [("Content-Type", content_type)], body)


def ec2_response(action, request_id, fields):
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n<%sResponse xmlns="%s"><requestId>%s</requestId>%s</%sResponse>'
            % (action, EC2_NS, request_id, xml_fragment(fields), action)).encode("utf-8")
    return Response(200, [("Content-Type", "text/xml;charset=UTF-8")], body)


def query_response(action, request_id, result, ns=STS_NS, json_form=False):
    if json_form:
        obj = {action + "Response": {action + "Result": result,
                                     "ResponseMetadata": {"RequestId": request_id}}}
        return json_response(obj)
    body = ('<%sResponse xmlns="%s">\n  <%sResult>%s</%sResult>\n  <ResponseMetadata>\n    <RequestId>%s</RequestId>\n'
            '  </ResponseMetadata>\n</%sResponse>\n'
            % (action, ns, action, xml_fragment(result, "member"), action, request_id, action)).encode("utf-8")
    return Response(200, [("Content-Type", "text/xml")], body)


def error_response(err, service, request_id, json_query=False):
    proto = SERVICE_PROTOCOL.get(service, "rest-json")
    if proto == "rest-json":
        obj = {"message": err.message}
        obj.update(err.extra)
        r = json_response(obj, err.status)
        r.headers.append(("x-amzn-ErrorType", "%s:%s" % (err.code, EKS_ERR_NS)))
        return r
    if proto == "json":
        obj = {"__type": err.code, "Message": err.message}
        obj.update(err.extra)
        r = json_response(obj, err.status, "application/x-amz-json-1.1")
        r.headers.append(("x-amzn-ErrorType", err.code))
        return r
    if proto == "ec2":
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>%s</Code><Message>%s</Message>'
                '</Error></Errors><RequestID>%s</RequestID></Response>'
                % (escape(err.code), escape(err.message), request_id)).encode("utf-8")
        return Response(err.status, [("Content-Type", "text/xml;charset=UTF-8")], body)
    # query (STS, IAM)
    typ = "Sender" if err.sender else "Receiver"
    if json_query:
        return json_response({"Error": {"Code": err.code, "Message": err.message, "Type": typ},
                              "RequestId": request_id}, err.status)
    body = ('<ErrorResponse xmlns="%s">\n  <Error>\n    <Type>%s</Type>\n    <Code>%s</Code>\n    <Message>%s</Message>\n'
            '  </Error>\n  <RequestId>%s</RequestId>\n</ErrorResponse>\n'
            % (QUERY_NS.get(service, STS_NS), typ, escape(err.code), escape(err.message), request_id)).encode("utf-8")
    return Response(err.status, [("Content-Type", "text/xml")], body)
