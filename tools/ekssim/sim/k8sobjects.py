"""Kubernetes objects a fleet cluster serves: webhook configurations and APIServices.

A fleet states them as Kubernetes objects (``kubectl get -o json`` shapes):

  "webhooks": [{"kind": "ValidatingWebhookConfiguration" | "MutatingWebhookConfiguration",
                "metadata": {"name": ...},
                "webhooks": [{"name": "policy.example.com",
                              "clientConfig": {"url": "https://..."} | {"service": {"namespace", "name",
                                                                                    "port", "path"}},
                              "failurePolicy": "Fail" | "Ignore", ...}]}]
  "apiservices": [{"metadata": {"name": "v1beta1.metrics.k8s.io"},
                   "spec": {"group": ..., "version": ..., "service": {"namespace", "name", "port"} | null}}]

Omitted fields get the API server's defaults.  Unless ``k8s_builtin`` is false a
cluster also has what every EKS cluster has: the local APIServices of the built-in
groups (``spec.service`` null) and the control-plane-local ``pod-identity-webhook``.
"""

import copy

from .ids import h16

KINDS = {"ValidatingWebhookConfiguration": "validatingwebhookconfigurations",
         "MutatingWebhookConfiguration": "mutatingwebhookconfigurations"}

BUILTIN_API_GROUPS = [
    ("", "v1"), ("admissionregistration.k8s.io", "v1"), ("apiextensions.k8s.io", "v1"),
    ("apiregistration.k8s.io", "v1"), ("apps", "v1"), ("authentication.k8s.io", "v1"),
    ("authorization.k8s.io", "v1"), ("autoscaling", "v1"), ("autoscaling", "v2"), ("batch", "v1"),
    ("certificates.k8s.io", "v1"), ("coordination.k8s.io", "v1"), ("discovery.k8s.io", "v1"),
    ("events.k8s.io", "v1"), ("flowcontrol.apiserver.k8s.io", "v1"), ("networking.k8s.io", "v1"),
    ("node.k8s.io", "v1"), ("policy", "v1"), ("rbac.authorization.k8s.io", "v1"), ("scheduling.k8s.io", "v1"),
    ("storage.k8s.io", "v1"),
]

CREATED = "2024-01-15T10:00:00Z"


class ObjectError(ValueError):
    pass


def _meta(obj, seed, where):
    m = obj.setdefault("metadata", {})
    if not isinstance(m, dict) or not isinstance(m.get("name"), str) or not m["name"]:
        raise ObjectError("%s: metadata.name is required" % where)
    h = h16("k8suid", seed, m["name"])
    m.setdefault("uid", "%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h16(h)[:4], h16("u", h)[:12]))
    m.setdefault("resourceVersion", str(1000 + int(h[:6], 16) % 900000))
    m.setdefault("generation", 1)
    m.setdefault("creationTimestamp", CREATED)
    return m["name"]


def _webhook(w, mutating, where):
    if not isinstance(w, dict) or not isinstance(w.get("name"), str) or w["name"].count(".") < 2:
        raise ObjectError("%s: each webhook needs a fully qualified name (e.g. policy.example.com)" % where)
    cc = w.get("clientConfig")
    if not isinstance(cc, dict) or (("url" in cc) == ("service" in cc)):
        raise ObjectError("%s: webhook %s: clientConfig needs exactly one of url, service" % (where, w["name"]))
    if "url" in cc and (not isinstance(cc["url"], str) or not cc["url"].startswith("https://")):
        raise ObjectError("%s: webhook %s: clientConfig.url must be an https:// URL" % (where, w["name"]))
    if "service" in cc:
        s = cc["service"]
        if not isinstance(s, dict) or not isinstance(s.get("name"), str) or not isinstance(s.get("namespace"), str):
            raise ObjectError("%s: webhook %s: clientConfig.service needs namespace and name" % (where, w["name"]))
        s.setdefault("port", 443)
    if w.get("failurePolicy", "Fail") not in ("Fail", "Ignore"):
        raise ObjectError("%s: webhook %s: failurePolicy must be Fail or Ignore" % (where, w["name"]))
    w.setdefault("rules", [])
    w.setdefault("failurePolicy", "Fail")
    w.setdefault("matchPolicy", "Equivalent")
    w.setdefault("namespaceSelector", {})
    w.setdefault("objectSelector", {})
    w.setdefault("sideEffects", "None")
    w.setdefault("timeoutSeconds", 10)
    w.setdefault("admissionReviewVersions", ["v1"])
    if mutating:
        w.setdefault("reinvocationPolicy", "Never")


def webhook_configurations(cluster, seed):
    """{resource plural: [objects]} for a fleet cluster (validated, defaults filled)."""
    out = {"validatingwebhookconfigurations": [], "mutatingwebhookconfigurations": []}
    items = copy.deepcopy(cluster.get("webhooks", []))
    if not isinstance(items, list):
        raise ObjectError("webhooks must be a list of webhook configuration objects")
    if cluster.get("k8s_builtin", True):
        items.insert(0, pod_identity_webhook())
    seen = set()
    for i, obj in enumerate(items):
        where = "webhooks[%d]" % i
        if not isinstance(obj, dict) or obj.get("kind") not in KINDS:
            raise ObjectError("%s: kind must be ValidatingWebhookConfiguration or MutatingWebhookConfiguration"
                              % where)
        name = _meta(obj, seed, where)
        plural = KINDS[obj["kind"]]
        if (plural, name) in seen:
            raise ObjectError("%s: duplicate %s %s" % (where, obj["kind"], name))
        seen.add((plural, name))
        obj.setdefault("apiVersion", "admissionregistration.k8s.io/v1")
        hooks = obj.setdefault("webhooks", [])
        if not isinstance(hooks, list):
            raise ObjectError("%s: webhooks must be a list" % where)
        for w in hooks:
            _webhook(w, obj["kind"] == "MutatingWebhookConfiguration", "%s (%s)" % (where, name))
        out[plural].append(obj)
    for v in out.values():
        v.sort(key=lambda o: o["metadata"]["name"])
    return out


def api_services(cluster, seed):
    items = copy.deepcopy(cluster.get("apiservices", []))
    if not isinstance(items, list):
        raise ObjectError("apiservices must be a list of APIService objects")
    if cluster.get("k8s_builtin", True):
        items = [local_api_service(g, v) for g, v in BUILTIN_API_GROUPS] + items
    out = []
    seen = set()
    for i, obj in enumerate(items):
        where = "apiservices[%d]" % i
        if not isinstance(obj, dict):
            raise ObjectError("%s: must be an APIService object" % where)
        spec = obj.setdefault("spec", {})
        if not isinstance(spec, dict) or not isinstance(spec.get("version"), str) or \
                not isinstance(spec.get("group", ""), str):
            raise ObjectError("%s: spec needs version (and group)" % where)
        spec.setdefault("group", "")
        want = "%s.%s" % (spec["version"], spec["group"])
        obj.setdefault("metadata", {}).setdefault("name", want)
        name = _meta(obj, seed, where)
        if name != want:
            raise ObjectError("%s: metadata.name must be <version>.<group> (%s), not %s" % (where, want, name))
        if name in seen:
            raise ObjectError("%s: duplicate APIService %s" % (where, name))
        seen.add(name)
        svc = spec.get("service")
        if svc is not None:
            if not isinstance(svc, dict) or not isinstance(svc.get("name"), str) or \
                    not isinstance(svc.get("namespace"), str):
                raise ObjectError("%s: spec.service needs namespace and name (or null for a local API)" % where)
            svc.setdefault("port", 443)
        else:
            spec["service"] = None
        spec.setdefault("groupPriorityMinimum", 100)
        spec.setdefault("versionPriority", 100)
        obj.setdefault("kind", "APIService")
        obj.setdefault("apiVersion", "apiregistration.k8s.io/v1")
        obj.setdefault("status", {"conditions": [{
            "type": "Available", "status": "True", "lastTransitionTime": CREATED,
            "reason": "Local" if svc is None else "Passed",
            "message": "Local APIServices are always available" if svc is None else "all checks passed"}]})
        out.append(obj)
    out.sort(key=lambda o: o["metadata"]["name"])
    return out


def local_api_service(group, version):
    return {"metadata": {"name": "%s.%s" % (version, group), "labels": {"kube-aggregator.kubernetes.io/automanaged":
                                                                           "onstart"}},
            "spec": {"group": group, "version": version, "service": None,
                     "groupPriorityMinimum": 18000 if group == "" else 17000, "versionPriority": 15}}


def pod_identity_webhook():
    """EKS's own mutating webhook, served by the control plane itself (a loopback URL)."""
    return {"kind": "MutatingWebhookConfiguration", "metadata": {"name": "pod-identity-webhook"},
            "webhooks": [{"name": "iam-for-pods.amazonaws.com", "admissionReviewVersions": ["v1beta1"],
                          "clientConfig": {"url": "https://127.0.0.1:23443/mutate"}, "failurePolicy": "Ignore",
                          "reinvocationPolicy": "IfNeeded",
                          "objectSelector": {"matchExpressions": [{"key": "eks.amazonaws.com/skip-pod-identity-webhook",
                                                                   "operator": "DoesNotExist"}]},
                          "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"],
                                     "resources": ["pods"], "scope": "*"}]}]}


def validate_cluster(cluster, where):
    """Raise ObjectError for a fleet cluster's Kubernetes keys."""
    try:
        webhook_configurations(cluster, "validate")
        api_services(cluster, "validate")
    except ObjectError as e:
        raise ObjectError("%s: %s" % (where, e))
    for key in ("k8s_deny", "k8s_allow"):
        v = cluster.get(key, [])
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            raise ObjectError("%s: %s must be a list of principal ARN patterns%s" % (
                where, key, " or account ids" if key == "k8s_allow" else ""))
    if not isinstance(cluster.get("k8s_builtin", True), bool):
        raise ObjectError("%s: k8s_builtin must be true or false" % where)
