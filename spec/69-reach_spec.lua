-- Issue 13 §3: what the control plane must reach. The pure parts (URL
-- reading, classification, the verdict against a preflight) run here; every
-- test that reads a cluster whose webhooks name non-loopback addresses runs
-- inside a private network namespace (helpers.netns), with a trap listening
-- on those addresses and on DNS: the listing must never contact a
-- destination, and the trap would show it if it did.
local netns = require "helpers.netns"
local cjson = require "cjson"
local reach = require "eksegress.workflows.reach"

local FLEET = "--fleet spec/fixtures/reach/fleet.json --time-scale 0"

local function by_name(dests)
  local t = {}
  for _, d in ipairs(dests) do t[d.name] = d end
  return t
end

local function has(list, v)
  for _, x in ipairs(list) do if x == v then return true end end
  return false
end

if not netns.inside() then

describe("reach: reading URLs", function()
  it("takes host, port and path of https URLs, IPv6 literals included", function()
    local u = assert(reach.parse_url("https://policy.example.com/validate"))
    assert.are.same({ scheme = "https", host = "policy.example.com", port = 443, path = "/validate" }, u)
    u = assert(reach.parse_url("https://[2001:DB8::10]:9443/v"))
    assert.are.equal("2001:db8::10", u.host)
    assert.are.equal(9443, u.port)
    u = assert(reach.parse_url("https://10.60.5.6:8443"))
    assert.are.equal("/", u.path)
  end)

  it("refuses what is no URL, a bad port, other schemes, control characters", function()
    for _, bad in ipairs{ "policy.example.com", "https://", "https://h:0/", "https://h:70000/", "https://h:x/",
                          "ftp://h/", "https://h/\n", "https://[::1/", 42 } do
      assert.is_nil(reach.parse_url(bad), tostring(bad))
    end
  end)
end)

describe("reach: classifying destinations (pure)", function()
  local cluster = {
    name = "c", identity = { oidc = { issuer = "https://oidc.eks.us-east-1.amazonaws.com/id/ABC" } },
    kubernetesNetworkConfig = { serviceIpv4Cidr = "172.20.0.0/16", ipFamily = "ipv4" },
  }
  local function hook(name, cc, policy)
    return { metadata = { name = name }, webhooks = { { name = name .. ".example.com", clientConfig = cc,
      failurePolicy = policy } } }
  end
  local objects = {
    validating = {
      hook("outside-name", { url = "https://hooks.example.com/v" }, "Fail"),
      hook("inside-ip", { url = "https://10.0.3.4/v" }, "Fail"),
      hook("outside-ip", { url = "https://198.51.100.7:8443/v" }, "Ignore"),
      hook("cluster-ip", { url = "https://172.20.0.10/v" }),
      hook("local", { url = "https://127.0.0.1:23443/m" }, "Ignore"),
      hook("localhost", { url = "https://localhost/m" }),
      hook("broken", { url = "not a url" }),
      hook("neither", {}),
    },
    mutating = { hook("svc", { service = { namespace = "ns", name = "s", port = 9443, path = "/p" } }, "Fail") },
    apiservices = {
      { metadata = { name = "v1.apps" }, spec = { group = "apps", version = "v1", service = cjson.null } },
      { metadata = { name = "v1beta1.metrics.k8s.io" }, spec = { service = { namespace = "kube-system",
        name = "metrics-server" } } },
    },
    identity_providers = { { name = "corp", issuer_url = "https://idp.example.com/oidc" },
                           { identityProviderConfigName = "raw", issuerUrl = "https://idp2.example.com" } },
  }

  it("places each destination and lists the checks its path depends on", function()
    local d = by_name(reach.destinations(cluster, objects, { vpc_cidrs = { "10.0.0.0/16" } }))
    local o = d["outside-name/outside-name.example.com"]
    assert.are.same({ "outside_vpc", "hostname", "vpc_dns", "vpc_egress", "full", true, "blocking" },
      { o.location, o.address, o.resolution, o.path, o.covers, o.port_checked, o.severity })
    assert.is_nil(o.in_vpc)
    for _, id in ipairs{ "route_default", "egress_device_nat", "nacl_outbound_443", "sg_egress_443",
                         "nacl_inbound_ephemeral", "vpc_dns_support", "dhcp_amazon_dns" } do
      assert.is_true(has(o.depends_on, id), id)
    end
    assert.is_false(has(o.depends_on, "ipv6_egress_only"))
    local i = d["inside-ip/inside-ip.example.com"]
    assert.are.same({ "inside_vpc", "ipv4", true, "vpc_internal", "partial" },
      { i.location, i.address, i.in_vpc, i.path, i.covers })
    assert.is_false(has(i.depends_on, "route_default"))
    assert.is_false(has(i.depends_on, "vpc_dns_support"))
    local x = d["outside-ip/outside-ip.example.com"]
    assert.are.same({ "outside_vpc", false, 8443, false, "warning" },
      { x.location, x.in_vpc, x.port, x.port_checked, x.severity })
    assert.matches("TCP 8443", x.note)
    assert.is_false(has(x.depends_on, "sg_egress_443"))
    assert.are.equal("in_cluster", d["cluster-ip/cluster-ip.example.com"].location)
    local l = d["local/local.example.com"]
    assert.are.same({ "control_plane", "control_plane_local", "info" }, { l.location, l.path, l.severity })
    assert.are.same({}, l.depends_on)
    assert.are.equal("control_plane", d["localhost/localhost.example.com"].location)
    assert.are.equal("unknown", d["broken/broken.example.com"].location)
    assert.matches("could not be read", d["broken/broken.example.com"].note)
    assert.are.equal("unknown", d["neither/neither.example.com"].location)
    local s = d["svc/svc.example.com"]
    assert.are.same({ "in_cluster", "service", "cluster_service", "s.ns.svc", 9443 },
      { s.location, s.address, s.resolution, s.host, s.port })
    assert.are.same({ namespace = "ns", name = "s", port = 9443, path = "/p" }, s.service)
    assert.is_nil(d["v1.apps"])   -- a local APIService is served by the API server itself
    assert.are.equal(443, d["v1beta1.metrics.k8s.io"].port)
    local oidc = d["cluster OIDC issuer"]
    assert.is_true(has(oidc.depends_on, "eks_endpoint_private_dns"))
    assert.are.equal("warning", oidc.severity)
    assert.are.equal("blocking", d.corp.severity)
    assert.are.equal("idp2.example.com", d.raw.host)
  end)

  it("without the VPC's blocks a literal address is unknown; IPv6 clusters depend on ipv6_egress_only", function()
    local d = by_name(reach.destinations(cluster, objects, {}))
    assert.are.equal("unknown", d["inside-ip/inside-ip.example.com"].location)
    assert.is_nil(d["inside-ip/inside-ip.example.com"].in_vpc)
    local v6 = { name = "c", kubernetesNetworkConfig = { ipFamily = "ipv6", serviceIpv6Cidr = "fd00::/108" } }
    d = by_name(reach.destinations(v6, { validating = objects.validating }, { vpc_cidrs = { "10.0.0.0/16" } }))
    assert.is_true(has(d["outside-name/outside-name.example.com"].depends_on, "ipv6_egress_only"))
  end)

  it("a resolver the caller supplies decides host names; a failing one leaves them to the VPC's DNS", function()
    local asked = {}
    local d = by_name(reach.destinations(cluster, objects, { vpc_cidrs = { "10.0.0.0/16" }, resolve = function(h)
      asked[#asked + 1] = h
      if h == "hooks.example.com" then return { "10.0.9.9" } end
      error("no such host")
    end }))
    local o = d["outside-name/outside-name.example.com"]
    assert.are.same({ "inside_vpc", "resolved_here", true }, { o.location, o.resolution, o.in_vpc })
    assert.are.same({ "10.0.9.9" }, o.addresses)
    assert.are.equal("vpc_dns", d.corp.resolution)
    assert.is_true(has(asked, "idp.example.com"))
  end)

  it("counts them", function()
    local s = reach.summarize(reach.destinations(cluster, objects, { vpc_cidrs = { "10.0.0.0/16" } }))
    assert.are.equal(13, s.destinations)
    assert.are.equal(5, s.outside_vpc)   -- outside-name, outside-ip, the issuer, two providers
    assert.are.equal(1, s.fail_closed_outside)
    assert.are.equal(8, s.by_kind.validating_webhook)
  end)

  it("misuse raises", function()
    assert.has_error(function() reach.destinations(nil, {}) end)
    assert.has_error(function() reach.evaluate({}, nil) end)
    assert.has_error(function() reach.run({}, { cluster = "bad name" }) end)
    assert.has_error(function() reach.run({}, { cluster = "c", limit = 0 }) end)
    assert.has_error(function() reach.run({}, { cluster = "c", cluster_description = { name = "other" } }) end)
  end)
end)

describe("reach: whether each path works, given a preflight (evaluate)", function()
  local checks = require "eksegress.workflows.preflight.checks"
  local fixtures = require "helpers.fixtures"

  local function snapshot(name)
    return cjson.decode(fixtures.read("spec/fixtures/preflight/" .. name .. ".json"))
  end

  local cluster = { name = "c", kubernetesNetworkConfig = { serviceIpv4Cidr = "172.20.0.0/16" } }
  local objects = {
    validating = {
      { metadata = { name = "gate" }, webhooks = { { name = "gate.example.com", failurePolicy = "Fail",
        clientConfig = { url = "https://gate.example.com/v" } } } },
      { metadata = { name = "soft" }, webhooks = { { name = "soft.example.com", failurePolicy = "Ignore",
        clientConfig = { url = "https://soft.example.com/v" } } } },
      { metadata = { name = "odd-port" }, webhooks = { { name = "odd.example.com", failurePolicy = "Fail",
        clientConfig = { url = "https://odd.example.com:8443/v" } } } },
    },
    mutating = { { metadata = { name = "svc" }, webhooks = { { name = "svc.example.com", failurePolicy = "Fail",
      clientConfig = { service = { namespace = "n", name = "s" } } } } } },
  }

  local function verdict(fixture)
    local results = checks.run(snapshot(fixture))
    local dests = reach.destinations(cluster, objects, { vpc_cidrs = { "10.0.0.0/16" } })
    return reach.evaluate(dests, results), results
  end

  it("a healthy network: every decided path ok; a port the checks do not cover stays unverified", function()
    local v = verdict("healthy")
    local d = by_name(v.destinations)
    assert.are.equal("ok", d["gate/gate.example.com"].path_status)
    assert.are.equal("ok", d["svc/svc.example.com"].path_status)
    assert.are.equal("unverified", d["odd-port/odd.example.com"].path_status)
    assert.are.equal(0, v.blocking)
    assert.are.equal(0, v.warnings)
    assert.are.equal("pass", reach.result(v).status)
  end)

  it("the default route straight to an internet gateway: a Fail webhook outside the VPC is blocking", function()
    local v = verdict("igw-only")
    local d = by_name(v.destinations)
    local gate = d["gate/gate.example.com"]
    assert.are.equal("broken", gate.path_status)
    assert.are.same({ "route_igw_only" }, gate.failing)
    assert.is_true(gate.blocking)
    assert.are.equal("broken", d["soft/soft.example.com"].path_status)
    assert.is_false(d["soft/soft.example.com"].blocking)   -- Ignore: admitted unchecked
    assert.are.equal("ok", d["svc/svc.example.com"].path_status)   -- inside the VPC, no route needed
    assert.are.equal(2, v.blocking)   -- gate and odd-port
    assert.are.equal(1, v.warnings)
    local r = reach.result(v)
    assert.are.same({ "fail", "blocking", "reach_destinations" }, { r.status, r.severity, r.id })
    assert.matches("gate.example.com", r.message, 1, true)
    assert.matches("route_igw_only", r.message, 1, true)
  end)

  it("a security group without 443: outside paths broken, in-VPC ones unverified (not proven broken)", function()
    local v = verdict("sg-second-group-detached")
    local d = by_name(v.destinations)
    assert.are.equal("broken", d["gate/gate.example.com"].path_status)
    assert.are.equal("unverified", d["svc/svc.example.com"].path_status)
    assert.are.same({ "sg_egress_443" }, d["svc/svc.example.com"].failing)
    assert.is_false(d["svc/svc.example.com"].blocking)
  end)

  it("a warning-level finding (custom DNS resolvers) makes host names unverified, never blocking", function()
    local v = verdict("custom-dhcp")
    local d = by_name(v.destinations)
    assert.are.equal("unverified", d["gate/gate.example.com"].path_status)
    assert.are.same({ "dhcp_amazon_dns" }, d["gate/gate.example.com"].failing)
    assert.are.equal(0, v.blocking)
    assert.are.equal("warning", reach.result(v).severity)
  end)

  it("result(): one preflight result, valid in a preflight document (docs/schemas/preflight.schema.json)", function()
    local schema = require "helpers.schema"
    local json = require "eksegress.report.json"
    for _, fixture in ipairs{ "healthy", "igw-only", "custom-dhcp" } do
      local v, results = verdict(fixture)
      results[#results + 1] = reach.result(v)
      local doc = { schema = "eksegress/preflight/1", generated_at = "2026-12-01T00:00:00Z",
        tool = { name = "eksegress", version = "0.1.0" }, errors = {},
        clusters = { { account = "111122223333", region = "us-east-1", name = "c", egress_mode = "AWS_MANAGED",
          results = results, blocking = v.blocking > 0 and 1 or 0, warnings = 0 } } }
      schema.assert_valid(schema.PREFLIGHT, json.encode(doc, { arrays = { "failing", "items" } }))
    end
  end)

  it("checks not evaluated or not run leave a path unverified", function()
    local dests = reach.destinations(cluster, objects, { vpc_cidrs = { "10.0.0.0/16" } })
    local v = reach.evaluate(dests, { { id = "route_default", status = "not_evaluated", severity = "blocking" } })
    local gate = by_name(v.destinations)["gate/gate.example.com"]
    assert.are.equal("unverified", gate.path_status)
    assert.is_true(has(gate.unverified, "route_default"))
    assert.is_true(has(gate.unverified, "sg_egress_443"))
    assert.are.equal(0, v.blocking)
  end)
end)

netns.describe_inside("spec/69-reach_spec.lua", "reach against the simulator, in a private network namespace",
  describe, it)
return
end

-- ---------------------------------------------------------------------------
-- Inside the namespace: the simulator, the trap, the workflow.
local simmod = require "helpers.sim"
local scripted = require "helpers.scripted"
local schema = require "helpers.schema"
local token = require "eksegress.workflows.token"
local core = require "eksegress.core"

describe("reach against the simulator (issue 13 §3)", function()
  local trap, sim, client
  setup(function()
    trap = netns.trap()
    sim = simmod.start(FLEET)
    client = sim:client{ region = "us-east-1" }
  end)
  teardown(function()
    client:close()
    sim:stop()
    trap:stop()
  end)

  it("control: the trap sees a connection to a fleet address and a DNS query", function()
    local py = os.getenv("EKSEGRESS_PYTHON") or "python3"
    local r = assert(core.run_process({ py, "-c", [[
import socket
s = socket.create_connection(("203.0.113.10", 443), timeout=5); s.close()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.sendto(b"q", ("203.0.113.10", 53))
import time; time.sleep(0.3)
]] }, { timeout_ms = 30000 }))
    assert.are.equal(0, r.status, r.stderr)
    local ev = trap:events()
    assert.is_true(#ev >= 1)
    assert.matches("tcp 203.0.113.10:443", table.concat(ev, "\n"), 1, true)
    trap:clear()
  end)

  local doc
  it("lists every destination of a cluster with URL and service webhooks, APIServices and OIDC providers", function()
    local err
    doc, err = reach.run(client, { cluster = "hooks" })
    assert.is_nil(err)
    assert.are.equal(reach.SCHEMA, doc.schema)
    assert.are.same({ "10.60.0.0/16" }, doc.cluster.vpc_cidrs)
    assert.are.equal("111122223333", doc.cluster.account)
    assert.are.same({}, doc.errors)
    local d = by_name(doc.destinations)
    local gate = d["policy-gate/validate.policy.example.com"]
    assert.are.same({ "validating_webhook", "outside_vpc", "hostname", "Fail", "blocking", 443 },
      { gate.kind, gate.location, gate.address, gate.failure_policy, gate.severity, gate.port })
    assert.are.equal("API requests this webhook matches are rejected", gate.if_unreachable)
    local inside = d["in-vpc-literal/check.in-vpc.example.com"]
    assert.are.same({ "inside_vpc", true, 8443, false }, { inside.location, inside.in_vpc, inside.port,
      inside.port_checked })
    local out4 = d["outside-literal/validate.outside.example.com"]
    assert.are.same({ "outside_vpc", false, "Ignore", "warning" }, { out4.location, out4.in_vpc,
      out4.failure_policy, out4.severity })
    assert.are.equal("API requests this webhook matches are admitted unchecked", out4.if_unreachable)
    local out6 = d["outside-literal/validate6.outside.example.com"]
    assert.are.same({ "ipv6", "2001:db8::10", 9443 }, { out6.address, out6.host, out6.port })
    local cm = d["cert-manager-webhook/webhook.cert-manager.io"]
    assert.are.same({ "mutating_webhook", "in_cluster", "/mutate", 443 }, { cm.kind, cm.location,
      cm.service.path, cm.port })
    assert.are.equal(8443, d["sidecar-injector/inject.sidecar.example.com"].port)
    local pod = d["pod-identity-webhook/iam-for-pods.amazonaws.com"]
    assert.are.same({ "control_plane", "Ignore" }, { pod.location, pod.failure_policy })
    for i = 1, 12 do
      assert.are.equal("in_cluster", d[("bulk-%02d/bulk-%02d.policy.example.com"):format(i, i)].location)
    end
    assert.are.equal("in_cluster", d["v1beta1.metrics.k8s.io"].location)
    assert.are.equal(6443, d["v1beta2.custom.metrics.k8s.io"].port)
    assert.is_nil(d["v1.apps"])
    assert.matches("^oidc%.eks%.us%-east%-1%.amazonaws%.com$", d["cluster OIDC issuer"].host)
    assert.are.same({ "identity_provider", "idp.example.com", "blocking" }, { d["corp-oidc"].kind,
      d["corp-oidc"].host, d["corp-oidc"].severity })
    assert.are.equal(8443, d.partner.port)
    -- 16 validating webhooks (15 configurations), 3 mutating, 2 APIServices, the issuer, 2 providers
    assert.are.equal(24, #doc.destinations)
    assert.are.equal(2, doc.summary.fail_closed_outside)   -- policy-gate and the IPv6 literal
  end)

  it("the document validates against docs/schemas/reach.schema.json", function()
    local json = require("eksegress.cli.commands.reach").render_json(doc)
    schema.assert_valid("docs/schemas/reach.schema.json", json)
  end)

  it("pages with limit/continue to the same listing; the API saw one request per page", function()
    local function lists()
      local n = 0
      for _, r in ipairs(sim:admin("GET", "/_sim/log").requests) do
        if r.service == "kubernetes" and r.operation == "ListValidatingWebhookConfigurations" then n = n + 1 end
      end
      return n
    end
    local before = lists()
    local paged = assert(reach.run(client, { cluster = "hooks", limit = 2 }))
    assert.are.equal(8, lists() - before)   -- 15 validating webhook configurations, 2 per page
    local a, b = {}, {}
    for i, d in ipairs(doc.destinations) do a[i] = d.name end
    for i, d in ipairs(paged.destinations) do b[i] = d.name end
    assert.are.same(a, b)
  end)

  it("an identity the cluster forbids (403): each kind listed under errors, the EKS destinations remain", function()
    local rc = sim:client{ region = "us-east-1", env_extra = { AWS_ACCESS_KEY_ID = "AKIAEKSSIMREADER0001",
      AWS_SECRET_ACCESS_KEY = "ekssim/Reader/Secret+000000001/EXAMPLE1" } }
    local d = assert(reach.run(rc, { cluster = "hooks" }))
    assert.are.equal(3, #d.errors)
    for _, e in ipairs(d.errors) do
      assert.are.equal("Forbidden", e.code)
      assert.are.equal(403, e.status)
    end
    assert.are.same({ "validatingwebhookconfigurations", "mutatingwebhookconfigurations", "apiservices" },
      { d.errors[1].source, d.errors[2].source, d.errors[3].source })
    assert.are.equal(3, #d.destinations)   -- the OIDC issuer and two identity providers
    rc:close()
  end)

  it("an identity the cluster does not map (401): Unauthorized, nothing half-listed", function()
    local other = sim:client{ region = "us-east-1", env_extra = { AWS_ACCESS_KEY_ID = "AKIAEKSSIM0000000002",
      AWS_SECRET_ACCESS_KEY = "ekssim/SecondAccount/Secret+EXAMPLEKEY02" } }
    local signer = assert(token.signer(other))
    local d, err = reach.run(client, { cluster = "hooks", signer = signer })
    assert.is_nil(d)
    assert.are.equal("Unauthorized", err.code)
    assert.are.equal(401, err.status)
    signer:close()
    other:close()
  end)

  it("a cluster without webhooks or aggregated APIs lists its OIDC issuer alone", function()
    local d = assert(reach.run(client, { cluster = "plain" }))
    assert.are.equal(1, #d.destinations)
    assert.are.equal("oidc_issuer", d.destinations[1].kind)
  end)

  it("an unknown cluster: the EKS error, unchanged", function()
    local d, err = reach.run(client, { cluster = "nope" })
    assert.is_nil(d)
    assert.are.equal("ResourceNotFoundException", err.code)
  end)

  it("a resource kind the API server does not serve: listed under errors, the rest stands", function()
    local srv = scripted.start()
    local list = function(kind) return cjson.encode{ kind = kind, apiVersion = "admissionregistration.k8s.io/v1",
      metadata = {}, items = { { metadata = { name = "x" }, webhooks = { { name = "x.example.com",
        clientConfig = { url = "https://policy.example.com/x" } } } } } } end
    srv:script{
      { path = "/k8s/c/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations",
        body = list("ValidatingWebhookConfigurationList") },
      { path = "/k8s/c/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations",
        body = list("MutatingWebhookConfigurationList") },
      { path = "/k8s/c/apis/apiregistration.k8s.io/v1/apiservices", status = 404, body = cjson.encode{
        kind = "Status", status = "Failure", reason = "NotFound", code = 404,
        message = "the server could not find the requested resource" } },
    }
    local described = assert(client:call("eks", "DescribeCluster", { name = "hooks" })).cluster
    described.endpoint = srv.url .. "/k8s/c"
    described.certificateAuthority = nil
    local d = assert(reach.run(client, { cluster = "hooks", cluster_description = described }))
    assert.are.equal(1, #d.errors)
    assert.are.same({ "apiservices", "ResourceNotServed" }, { d.errors[1].source, d.errors[1].code })
    assert.are.equal(2 + 1 + 2, #d.destinations)
    srv:stop()
  end)

  it("preflight with reach: a webhook outside a VPC whose default route goes to an internet gateway is blocking",
    function()
    local preflight = require "eksegress.workflows.preflight"
    local function reach_result(entry)
      for _, r in ipairs(entry.results) do if r.id == reach.RESULT_ID then return r end end
    end
    local stranded = assert(preflight.cluster(client, { name = "stranded" }, { reach = true }))
    local r = reach_result(stranded)
    assert.are.same({ "fail", "blocking" }, { r.status, r.severity })
    assert.matches("validating webhook policy-gate/validate.policy.example.com (policy.example.com:443: "
      .. "route_igw_only)", r.message, 1, true)
    assert.are.equal(2, stranded.blocking)   -- route_igw_only and reach_destinations
    local items = {}
    for _, it_ in ipairs(r.evidence.items) do items[it_.name] = it_ end
    assert.is_true(items["policy-gate/validate.policy.example.com"].blocking)
    assert.are.equal("ok", items["in-cluster/mutate.in-cluster.example.com"].path_status)
    -- a healthy VPC: the same kind of webhook passes; without reach there is no such result
    local hooks = assert(preflight.cluster(client, { name = "hooks" }, { reach = true }))
    assert.are.equal("pass", reach_result(hooks).status)
    assert.is_nil(reach_result(assert(preflight.cluster(client, { name = "hooks" }))))
    -- preflight.run passes it on
    local pdoc = preflight.run(client, { clusters = { "stranded", "hooks" }, reach = true })
    assert.are.equal(2, #pdoc.clusters)
    for _, c in ipairs(pdoc.clusters) do assert.is_not_nil(reach_result(c), c.name) end
  end)

  it("preflight with reach, destinations that cannot be listed (403): not evaluated with the reason, never a pass",
    function()
    local preflight = require "eksegress.workflows.preflight"
    local rc = sim:client{ region = "us-east-1", env_extra = { AWS_ACCESS_KEY_ID = "AKIAEKSSIMREADER0001",
      AWS_SECRET_ACCESS_KEY = "ekssim/Reader/Secret+000000001/EXAMPLE1" } }
    local e = assert(preflight.cluster(rc, { name = "hooks" }, { reach = true }))
    local r = e.results[#e.results]
    assert.are.same({ reach.RESULT_ID, "not_evaluated", "blocking" }, { r.id, r.status, r.severity })
    assert.matches("cannot list resource", r.message, 1, true)
    -- and when nothing can be read at all (401)
    local verdict_r = reach.preflight_result(nil, { code = "Unauthorized", message = "no" }, {})
    assert.are.same({ "not_evaluated", "blocking" }, { verdict_r.status, verdict_r.severity })
    rc:close()
  end)

  it("contacted no destination and resolved no name: the trap saw nothing", function()
    assert.are.same({}, trap:events())
  end)
end)
