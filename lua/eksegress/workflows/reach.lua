--- What a cluster's control plane must reach: the destinations its API server
-- calls (admission webhooks, aggregated APIs, OIDC issuers), read through the
-- cluster's own Kubernetes API, and how each will travel once the control
-- plane's egress goes through the customer's VPC (CUSTOMER_ROUTED).
--
--     local reach = require "eksegress.workflows.reach"
--     local doc, err = reach.run(client, { cluster = "prod-api" })
--     for _, d in ipairs(doc.destinations) do print(d.kind, d.host, d.port, d.location) end
--     -- with a preflight's results (eksegress.workflows.preflight.checks.run):
--     local verdict = reach.evaluate(doc.destinations, results)
--     if verdict.blocking > 0 then ... end
--
-- `run` reads DescribeCluster (endpoint, CA, OIDC issuer, VPC), DescribeVpcs
-- (the VPC's CIDRs), ListIdentityProviderConfigs + DescribeIdentityProviderConfig,
-- and, with an EKS token (eksegress.workflows.token) over the same engine,
-- ValidatingWebhookConfigurations, MutatingWebhookConfigurations and
-- APIServices (paged with limit/continue). It never contacts a destination:
-- every classification comes from the objects and the VPC's CIDRs. Host
-- names are not resolved (after the switch the control plane resolves them
-- with the VPC's DNS, which this machine cannot see) unless `opts.resolve` is
-- given.
--
-- `destinations` and `evaluate` are pure, so the preflight (`preflight
-- --reach`) and scripts can use them on saved documents.
local cidr = require "eksegress.net.cidr"

local M = {}

M.SCHEMA = "eksegress/reach/1"

--- The Kubernetes resources read, in report order.
M.RESOURCES = {
  { key = "validating", kind = "validating_webhook", object_kind = "ValidatingWebhookConfiguration",
    group = "admissionregistration.k8s.io", version = "v1", plural = "validatingwebhookconfigurations" },
  { key = "mutating", kind = "mutating_webhook", object_kind = "MutatingWebhookConfiguration",
    group = "admissionregistration.k8s.io", version = "v1", plural = "mutatingwebhookconfigurations" },
  { key = "apiservices", kind = "apiservice", object_kind = "APIService",
    group = "apiregistration.k8s.io", version = "v1", plural = "apiservices" },
}

-- The preflight checks (eksegress.workflows.preflight.checks ids) a path
-- depends on.
local EGRESS_PATH = { "route_default", "route_blackhole", "route_igw_only", "route_specific_blackhole",
                      "egress_device_nat", "egress_device_tgw", "egress_device_instance" }
local PORT_443 = { "nacl_outbound_443", "sg_egress_443" }
local RETURN_TRAFFIC = { "nacl_inbound_ephemeral" }
local VPC_DNS = { "vpc_dns_support", "dhcp_amazon_dns" }

M.CHECK_IDS = {}
local OTHERS = { "ipv6_egress_only", "eks_endpoint_private_dns" }
for _, l in ipairs{ EGRESS_PATH, PORT_443, RETURN_TRAFFIC, VPC_DNS, OTHERS } do
  for _, id in ipairs(l) do M.CHECK_IDS[#M.CHECK_IDS + 1] = id end
end

local LOOPBACK = { cidr.parse("127.0.0.0/8"), cidr.parse("::1/128") }

local function list(v) return type(v) == "table" and v or {} end
local function str(v) return type(v) == "string" and v ~= "" and v or nil end

local function append(dst, src)
  for _, v in ipairs(src) do dst[#dst + 1] = v end
  return dst
end

local function int_port(v, default)
  local n = math.tointeger(tonumber(v))
  if n and n >= 1 and n <= 65535 then return n end
  return default
end

---------------------------------------------------------------------------------------
-- Addresses

--- Split an https URL as Kubernetes allows it in clientConfig.url / an issuer:
-- https://host[:port][/path], the host possibly an [IPv6] literal.
-- @return {scheme, host, port, path}, or nil, why
function M.parse_url(url)
  if type(url) ~= "string" then return nil, "not a string" end
  if url:find("[%s%c]") then return nil, "contains white space or control characters" end
  local scheme, authority, path = url:match("^(%a[%w+.-]*)://([^/?#]*)(.*)$")
  if not scheme then return nil, "not an absolute URL" end
  scheme = scheme:lower()
  if scheme ~= "https" and scheme ~= "http" then return nil, "scheme " .. scheme .. " is not https" end
  authority = authority:gsub("^.*@", "")
  local host, port
  if authority:sub(1, 1) == "[" then
    local h, rest = authority:match("^%[([%x:%.]+)%](.*)$")
    if not h then return nil, "bad IPv6 literal" end
    host, port = h, rest:match("^:(%d+)$")
    if rest ~= "" and not port then return nil, "bad port" end
  else
    host, port = authority:match("^([^:]+):(%d+)$")
    if not host then
      if authority:find(":", 1, true) then return nil, "bad port" end
      host = authority
    end
  end
  if host == "" then return nil, "no host" end
  local p = port and int_port(port)
  if port and not p then return nil, "port out of range" end
  return { scheme = scheme, host = host:lower(), port = p or (scheme == "https" and 443 or 80),
           path = path ~= "" and path or "/" }
end

local function parse_cidrs(texts)
  local out = {}
  for _, t in ipairs(list(texts)) do
    local p = type(t) == "string" and cidr.parse(t)
    if p then out[#out + 1] = p end
  end
  return out
end

local function within(addr, blocks)
  for _, b in ipairs(blocks) do
    if cidr.family(b) == cidr.family(addr) and cidr.contains(b, addr) then return true end
  end
  return false
end

-- Where an address or host name sits: location, address kind, in_vpc.
local function place(host, net)
  local addr = host:find("^[%x:.]+$") and (host:find(":", 1, true) or host:find("^%d+%.%d+%.%d+%.%d+$"))
    and cidr.parse(host) or nil
  if addr then
    local kind = cidr.family(addr) == 6 and "ipv6" or "ipv4"
    if within(addr, LOOPBACK) then return "control_plane", kind, false, { host } end
    if within(addr, net.service_cidrs) then return "in_cluster", kind, true, { host } end
    if #net.vpc_cidrs == 0 then return "unknown", kind, nil, { host } end
    if within(addr, net.vpc_cidrs) then return "inside_vpc", kind, true, { host } end
    return "outside_vpc", kind, false, { host }
  end
  if host == "localhost" then return "control_plane", "hostname", false, {} end
  if net.resolve then
    local ok, addrs = pcall(net.resolve, host)
    if ok and type(addrs) == "table" and #addrs > 0 then
      local all_in, any = #net.vpc_cidrs > 0, false
      for _, a in ipairs(addrs) do
        local p = cidr.parse(a)
        if p then
          any = true
          if not within(p, net.vpc_cidrs) then all_in = false end
        end
      end
      if any then
        return all_in and "inside_vpc" or "outside_vpc", "hostname", all_in, addrs, true
      end
    end
  end
  return "outside_vpc", "hostname", nil, {}
end

---------------------------------------------------------------------------------------
-- Destinations

local IF_UNREACHABLE = {
  Fail = "API requests this webhook matches are rejected",
  Ignore = "API requests this webhook matches are admitted unchecked",
  apiservice = "the aggregated API (and discovery of its group) fails",
  oidc_issuer = "OIDC discovery of the cluster's issuer fails (IAM roles for service accounts)",
  identity_provider = "users of this identity provider cannot authenticate",
  control_plane = "nothing leaves the control plane: served by the control plane itself",
}

local function severity_of(d)
  if d.location == "control_plane" then return "info" end
  if d.kind == "identity_provider" then return "blocking" end
  if d.kind == "validating_webhook" or d.kind == "mutating_webhook" then
    return d.failure_policy == "Ignore" and "warning" or "blocking"
  end
  return "warning"
end

-- The checks a path depends on; whether a failure of one decides it
-- ("full") or may not ("partial"); whether they check its port; a note.
local function path_of(d, net)
  if d.location == "control_plane" then
    return "control_plane_local", {}, "full", true, nil
  end
  local checks, covers, note = {}, "full", nil
  if d.location == "outside_vpc" or d.location == "unknown" then
    append(checks, EGRESS_PATH)
    if net.ipv6 or d.address == "ipv6" then checks[#checks + 1] = "ipv6_egress_only" end
  end
  local port_checked = d.port == 443
  if port_checked then
    append(checks, PORT_443)
  else
    note = ("the preflight checks TCP 443; this destination uses TCP %s: make sure the network ACLs and "
      .. "security groups allow it"):format(tostring(d.port or "?"))
  end
  append(checks, RETURN_TRAFFIC)
  if d.address == "hostname" then
    append(checks, VPC_DNS)
    if d.host:find("^oidc%.eks%.") then checks[#checks + 1] = "eks_endpoint_private_dns" end
  end
  if d.location == "inside_vpc" or d.location == "in_cluster" then
    -- Over the cluster's network interfaces to an address in the VPC (a
    -- service: its endpoints, pod addresses). The checks cover TCP 443 to
    -- anywhere: a pass covers this path, a failure does not prove it broken
    -- (rules may still allow the VPC).
    covers = "partial"
  end
  local path = (d.location == "outside_vpc" or d.location == "unknown") and "vpc_egress" or "vpc_internal"
  return path, checks, covers, port_checked, note
end

local function destination(base, net)
  local d = base
  if d.host then
    local location, address, in_vpc, addrs, resolved
    if d.service then
      location, address, in_vpc, addrs = "in_cluster", "service", true, {}
    else
      location, address, in_vpc, addrs, resolved = place(d.host, net)
    end
    d.location, d.address, d.in_vpc, d.addresses = location, address, in_vpc, addrs
    if address == "hostname" then
      d.resolution = resolved and "resolved_here" or "vpc_dns"
    elseif address == "service" then
      d.resolution = "cluster_service"
    else
      d.resolution = "literal"
    end
  else
    d.location, d.address, d.in_vpc, d.addresses, d.resolution = "unknown", "unknown", nil, {}, "unknown"
  end
  if d.location == "control_plane" then d.if_unreachable = IF_UNREACHABLE.control_plane end
  local note
  d.path, d.depends_on, d.covers, d.port_checked, note = path_of(d, net)
  -- What is known about an unreadable URL comes first.
  d.note = d.note or note
  d.severity = severity_of(d)
  return d
end

local function url_destination(d, url)
  d.url = url
  local u, why = M.parse_url(url)
  if u then
    d.host, d.port, d.url_path = u.host, u.port, u.path
  else
    d.note = "the URL could not be read: " .. why
  end
  return d
end

local function service_destination(d, svc)
  local ns, name = str(svc.namespace) or "default", str(svc.name) or "?"
  d.service = { namespace = ns, name = name, port = int_port(svc.port, 443), path = str(svc.path) }
  d.host = ("%s.%s.svc"):format(name, ns)
  d.port = d.service.port
  return d
end

local function webhooks_of(res, objects, net, out)
  for _, obj in ipairs(list(objects)) do
    local cfg = type(obj.metadata) == "table" and str(obj.metadata.name) or "?"
    for _, w in ipairs(list(obj.webhooks)) do
      local cc = type(w.clientConfig) == "table" and w.clientConfig or {}
      local policy = str(w.failurePolicy) or "Fail"
      local d = { kind = res.kind, name = cfg .. "/" .. (str(w.name) or "?"),
                  object = { kind = res.object_kind, name = cfg, webhook = str(w.name) },
                  failure_policy = policy, if_unreachable = IF_UNREACHABLE[policy] or IF_UNREACHABLE.Fail,
                  timeout_seconds = math.tointeger(tonumber(w.timeoutSeconds)) }
      if str(cc.url) then
        url_destination(d, cc.url)
      elseif type(cc.service) == "table" then
        service_destination(d, cc.service)
      else
        d.note = "the webhook names neither a URL nor a service"
      end
      out[#out + 1] = destination(d, net)
    end
  end
end

local function apiservices_of(res, objects, net, out)
  for _, obj in ipairs(list(objects)) do
    local spec = type(obj.spec) == "table" and obj.spec or {}
    -- A local APIService (spec.service null) is served by the API server itself.
    if type(spec.service) == "table" then
      local name = type(obj.metadata) == "table" and str(obj.metadata.name) or "?"
      local d = { kind = res.kind, name = name, object = { kind = res.object_kind, name = name },
                  if_unreachable = IF_UNREACHABLE.apiservice }
      service_destination(d, spec.service)
      out[#out + 1] = destination(d, net)
    end
  end
end

--- The destinations of a cluster, from what was read.
-- @tparam table cluster DescribeCluster's `cluster` (identity.oidc.issuer,
--   kubernetesNetworkConfig)
-- @tparam table objects `validating`, `mutating`, `apiservices` (lists of
--   Kubernetes objects, as the API lists them), `identity_providers` (list of
--   `{name, issuer_url}` or DescribeIdentityProviderConfig's `oidc` tables)
-- @tparam[opt] table opts `vpc_cidrs` (the VPC's CIDR blocks; without them a
--   literal address is `unknown`), `resolve` (function(host) -> list of
--   addresses; default: host names are not resolved)
-- @treturn table list of destinations (see docs/schemas/reach.schema.json)
function M.destinations(cluster, objects, opts)
  if type(cluster) ~= "table" then error("eksegress.workflows.reach.destinations: cluster must be a table", 2) end
  if type(objects) ~= "table" then error("eksegress.workflows.reach.destinations: objects must be a table", 2) end
  opts = opts or {}
  local knc = type(cluster.kubernetesNetworkConfig) == "table" and cluster.kubernetesNetworkConfig or {}
  local net = {
    vpc_cidrs = parse_cidrs(opts.vpc_cidrs),
    service_cidrs = parse_cidrs{ knc.serviceIpv4Cidr, knc.serviceIpv6Cidr },
    ipv6 = type(knc.ipFamily) == "string" and knc.ipFamily:lower() == "ipv6",
    resolve = opts.resolve,
  }
  local out = {}
  for _, res in ipairs(M.RESOURCES) do
    if res.kind == "apiservice" then
      apiservices_of(res, objects[res.key], net, out)
    else
      webhooks_of(res, objects[res.key], net, out)
    end
  end
  local issuer = type(cluster.identity) == "table" and type(cluster.identity.oidc) == "table"
    and str(cluster.identity.oidc.issuer)
  if issuer then
    out[#out + 1] = destination(url_destination({ kind = "oidc_issuer", name = "cluster OIDC issuer",
      if_unreachable = IF_UNREACHABLE.oidc_issuer }, issuer), net)
  end
  for _, p in ipairs(list(objects.identity_providers)) do
    local url = str(p.issuer_url) or str(p.issuerUrl)
    local name = str(p.name) or str(p.identityProviderConfigName) or "?"
    if url then
      out[#out + 1] = destination(url_destination({ kind = "identity_provider", name = name,
        if_unreachable = IF_UNREACHABLE.identity_provider }, url), net)
    end
  end
  return out
end

--- Counts for a destination list.
function M.summarize(dests)
  local s = { destinations = #dests, outside_vpc = 0, inside_vpc = 0, in_cluster = 0, control_plane = 0,
              unknown = 0, fail_closed_outside = 0, by_kind = {} }
  for _, d in ipairs(dests) do
    s[d.location] = (s[d.location] or 0) + 1
    s.by_kind[d.kind] = (s.by_kind[d.kind] or 0) + 1
    if d.location == "outside_vpc" and d.failure_policy == "Fail" then
      s.fail_closed_outside = s.fail_closed_outside + 1
    end
  end
  return s
end

---------------------------------------------------------------------------------------
-- Against a preflight

--- Decide, for each destination, whether its path works given a preflight's
-- results (eksegress.workflows.preflight.checks.run, or a preflight
-- document cluster's `results`).
-- A failed blocking check on a path it fully decides (`covers` "full": the
-- path leaves the VPC) makes the path `broken`; any other failure, a check not
-- evaluated or not run, or a port the checks do not cover (`port_checked`
-- false) makes it `unverified`; otherwise it is `ok`.
-- @treturn table `{destinations = {copies with path_status ("ok" | "broken" |
--   "unverified"), failing = {ids}, unverified = {ids}, blocking (boolean)},
--   blocking = n, warnings = n}`: blocking counts broken destinations of
--   severity blocking (e.g. a Fail webhook outside the VPC with no working
--   egress path), warnings every other broken or unverified one that matters
function M.evaluate(dests, results)
  if type(dests) ~= "table" then error("eksegress.workflows.reach.evaluate: destinations must be a list", 2) end
  if type(results) ~= "table" then error("eksegress.workflows.reach.evaluate: results must be a list", 2) end
  local by_id = {}
  for _, r in ipairs(results) do
    if type(r) == "table" and type(r.id) == "string" then by_id[r.id] = r end
  end
  local out = { destinations = {}, blocking = 0, warnings = 0 }
  for i, d in ipairs(dests) do
    local e = {}
    for k, v in pairs(d) do e[k] = v end
    local failing, unverified, broken = {}, {}, false
    for _, id in ipairs(list(d.depends_on)) do
      local r = by_id[id]
      if not r or r.status ~= "pass" then
        if r and r.status == "fail" then
          failing[#failing + 1] = id
          if r.severity == "blocking" and d.covers == "full" then broken = true end
        else
          unverified[#unverified + 1] = id
        end
      end
    end
    if broken then
      e.path_status = "broken"
    elseif #failing > 0 or #unverified > 0 or not d.port_checked then
      e.path_status = "unverified"
    else
      e.path_status = "ok"
    end
    e.failing, e.unverified = failing, unverified
    e.blocking = broken and d.severity == "blocking"
    if e.blocking then
      out.blocking = out.blocking + 1
    elseif e.path_status ~= "ok" and d.severity ~= "info" and (broken or #failing > 0) then
      out.warnings = out.warnings + 1
    end
    out.destinations[i] = e
  end
  return out
end

M.RESULT_ID = "reach_destinations"
M.RESULT_TITLE = "Destinations the control plane calls stay reachable"

--- One preflight-shaped result (id "reach_destinations") for a verdict from
-- `evaluate`, so a preflight can list the destinations with its checks:
-- fail/blocking when a destination that must stay reachable has no working
-- path; not_evaluated when a resource kind could not be listed (`errs`, a
-- run document's errors) and nothing is broken; fail/warning for other broken
-- or doubtful paths; else pass.
function M.result(verdict, errs)
  local broken, doubtful, items, resources = {}, {}, {}, {}
  for _, d in ipairs(verdict.destinations) do
    items[#items + 1] = { kind = d.kind, name = d.name, host = d.host, port = d.port, location = d.location,
                          path_status = d.path_status, failing = d.failing, blocking = d.blocking }
    if d.path_status == "broken" then
      broken[#broken + 1] = d
      resources[#resources + 1] = d.host
    elseif d.path_status == "unverified" and #d.failing > 0 then
      doubtful[#doubtful + 1] = d
    end
  end
  local function names(l)
    local t = {}
    for i, d in ipairs(l) do t[i] = ("%s %s (%s:%s: %s)"):format(d.kind:gsub("_", " "), d.name, tostring(d.host),
      tostring(d.port), table.concat(d.failing, ", ")) end
    return table.concat(t, "; ")
  end
  local r = { id = M.RESULT_ID, title = M.RESULT_TITLE, resources = resources, evidence = { items = items } }
  local unread = {}
  for _, e in ipairs(errs or {}) do unread[#unread + 1] = ("%s: %s (%s)"):format(e.source, e.message, e.code) end
  if verdict.blocking > 0 then
    r.status, r.severity = "fail", "blocking"
    r.message = "no working path to " .. names(broken)
  elseif #unread > 0 then
    r.status, r.severity = "not_evaluated", "blocking"
    r.message = "not every destination could be read: " .. table.concat(unread, "; ")
  elseif #broken > 0 or #doubtful > 0 then
    r.status, r.severity = "fail", "warning"
    r.message = "paths in doubt: " .. names(append(append({}, broken), doubtful))
  else
    r.status, r.severity = "pass", "blocking"
    r.message = ("%d destination(s); every path the preflight decides works"):format(#verdict.destinations)
  end
  return r
end

--- The `reach_destinations` result a preflight adds for a cluster: what `run`
-- returned (its document, or nil and the error) judged against the
-- preflight's results. A cluster whose destinations could not be read at all
-- is not_evaluated, with the reason.
-- @return the result, and the verdict (nil when nothing was read)
function M.preflight_result(doc, err, results)
  if not doc then
    return { id = M.RESULT_ID, title = M.RESULT_TITLE, status = "not_evaluated", severity = "blocking",
             resources = {}, message = ("the destinations could not be read: %s (%s)"):format(
               tostring(type(err) == "table" and err.message or err), tostring(type(err) == "table" and err.code
               or "Error")) }
  end
  local verdict = M.evaluate(doc.destinations, results)
  return M.result(verdict, doc.errors), verdict
end

---------------------------------------------------------------------------------------
-- Reading a cluster

local function err_entry(source, err)
  local e = { source = source }
  if type(err) == "table" then
    e.code, e.message, e.status = err.code or "Error", tostring(err.message), err.status
  else
    e.code, e.message = "Error", tostring(err)
  end
  return e
end

local function vpc_cidrs(client, vpc_id, region)
  local out, err = client:call("ec2", "DescribeVpcs", { VpcIds = { vpc_id } }, { region = region })
  if not out then return nil, err end
  local cidrs = {}
  for _, v in ipairs(list(out.vpcSet)) do
    if v.vpcId == vpc_id then
      local seen = {}
      local function add(c)
        if type(c) == "string" and not seen[c] then
          seen[c] = true
          cidrs[#cidrs + 1] = c
        end
      end
      add(v.cidrBlock)
      for _, a in ipairs(list(v.cidrBlockAssociationSet)) do
        local st = type(a.cidrBlockState) == "table" and a.cidrBlockState.state
        if st == nil or st == "associated" then add(a.cidrBlock) end
      end
      for _, a in ipairs(list(v.ipv6CidrBlockAssociationSet)) do
        local st = type(a.ipv6CidrBlockState) == "table" and a.ipv6CidrBlockState.state
        if st == nil or st == "associated" then add(a.ipv6CidrBlock) end
      end
    end
  end
  if #cidrs == 0 then
    local errors = require "eksegress.errors"
    return nil, errors.new("NotFound", "DescribeVpcs did not return " .. vpc_id)
  end
  return cidrs
end

local function identity_providers(client, name, region)
  local configs, err = client:collect("eks", "ListIdentityProviderConfigs", { clusterName = name },
    { region = region })
  if not configs then return nil, err end
  local out = {}
  for _, c in ipairs(configs) do
    if type(c) == "table" and c.type == "oidc" then
      local d, derr = client:call("eks", "DescribeIdentityProviderConfig", {
        clusterName = name, identityProviderConfig = { type = "oidc", name = c.name } }, { region = region })
      if not d then return nil, derr end
      local oidc = type(d.identityProviderConfig) == "table" and d.identityProviderConfig.oidc or {}
      out[#out + 1] = { name = oidc.identityProviderConfigName or c.name, issuer_url = oidc.issuerUrl }
    end
  end
  return out
end

-- Errors that stop every Kubernetes read: nothing more can be learnt.
local FATAL_K8S = { Unauthorized = true, TlsError = true, ConnectionError = true, Timeout = true,
                    TokenError = true, InvalidClusterCA = true }

local function rfc3339(t)
  return os.date("!%Y-%m-%dT%H:%M:%SZ", math.floor(t))
end

local function cluster_info(c, region, vpc)
  local arn = str(c.arn)
  local account = arn and arn:match("^arn:[^:]*:eks:[^:]*:(%d+):") or nil
  local rvc = type(c.resourcesVpcConfig) == "table" and c.resourcesVpcConfig or {}
  local knc = type(c.kubernetesNetworkConfig) == "table" and c.kubernetesNetworkConfig or {}
  return { name = c.name, account = account, region = region, arn = arn, version = str(c.version),
           status = str(c.status), egress_mode = str(rvc.controlPlaneEgressMode) or "UNKNOWN",
           endpoint = str(c.endpoint), vpc_id = str(rvc.vpcId), vpc_cidrs = vpc or {},
           service_cidr = str(knc.serviceIpv4Cidr) or str(knc.serviceIpv6Cidr),
           ip_family = str(knc.ipFamily) or "ipv4" }
end

local function check_run_opts(opts)
  if type(opts) ~= "table" then error("eksegress.workflows.reach.run: options must be a table", 3) end
  local n = opts.cluster
  if type(n) ~= "string" or not n:find("^[%w][%w_%-]*$") or #n > 100 then
    error("eksegress.workflows.reach.run: cluster must be a cluster name", 3)
  end
  if opts.limit ~= nil and (math.type(opts.limit) ~= "integer" or opts.limit < 1 or opts.limit > 10000) then
    error("eksegress.workflows.reach.run: limit must be an integer from 1 to 10000", 3)
  end
  if opts.cluster_description ~= nil and (type(opts.cluster_description) ~= "table"
      or opts.cluster_description.name ~= n) then
    error("eksegress.workflows.reach.run: cluster_description must be DescribeCluster's cluster for " .. n, 3)
  end
  for _, k in ipairs{ "on_event", "resolve" } do
    if opts[k] ~= nil and type(opts[k]) ~= "function" then
      error(("eksegress.workflows.reach.run: %s must be a function"):format(k), 3)
    end
  end
end

--- Read a cluster's destinations.
-- @param client an eksegress client for the cluster's account and region
-- @tparam table opts `cluster` (name, required), `region` (default the
--   client's), `limit` (Kubernetes page size, default 500), `signer` (the
--   client that presigns the token; default token.signer(client), closed at
--   the end), `cluster_description` (DescribeCluster's `cluster`, when the
--   caller has it: then it is not read again), `resolve` (see destinations),
--   `on_event` (function(ev):
--   {type = "step", step = "describe" | "vpc" | "identity_providers" |
--   <resource plural>}), `now`, `version`
-- @return the document (schema "eksegress/reach/1": cluster, destinations,
--   summary, errors; see docs/schemas/reach.schema.json), or nil, err when
--   the cluster or its Kubernetes API cannot be read at all (a DescribeCluster
--   error; Unauthorized, TlsError, ConnectionError from the API)
function M.run(client, opts)
  check_run_opts(opts)
  local token = require "eksegress.workflows.token"
  local k8s = require "eksegress.k8s"
  local errors = require "eksegress.errors"
  local name = opts.cluster
  local region = opts.region or client.region
  local function event(step)
    if opts.on_event then opts.on_event({ type = "step", step = step, cluster = name }) end
  end
  local c = opts.cluster_description
  if c == nil then
    event("describe")
    local d, derr = client:call("eks", "DescribeCluster", { name = name }, { region = region })
    if not d then return nil, derr end
    c = d.cluster
  end
  local errs = {}
  local rvc = type(c.resourcesVpcConfig) == "table" and c.resourcesVpcConfig or {}
  local cidrs
  if str(rvc.vpcId) then
    event("vpc")
    local verr
    cidrs, verr = vpc_cidrs(client, rvc.vpcId, region)
    if not cidrs then errs[#errs + 1] = err_entry("vpc", verr) end
  end
  event("identity_providers")
  local idps, ierr = identity_providers(client, name, region)
  if not idps then errs[#errs + 1] = err_entry("identity_providers", ierr) end

  local endpoint = str(c.endpoint)
  if not endpoint then
    return nil, errors.new("NoEndpoint", ("cluster %s has no API server endpoint yet (status %s)"):format(name,
      tostring(c.status)))
  end
  local signer, own_signer = opts.signer, false
  if not signer then
    local serr
    signer, serr = token.signer(client)
    if not signer then return nil, serr end
    own_signer = true
  end
  local cached, cached_at
  local function bearer()
    local now = os.time()
    if not cached or now - cached_at > 300 then
      local tok, terr = token.token(signer, name, { region = region })
      if not tok then return nil, terr end
      cached, cached_at = tok, now
    end
    return cached
  end
  local objects = { identity_providers = idps or {} }
  local api, aerr = k8s.new{ client = client, endpoint = endpoint, ca_data = type(c.certificateAuthority) == "table"
    and c.certificateAuthority.data or nil, token = bearer }
  local fatal = aerr
  if api then
    for _, res in ipairs(M.RESOURCES) do
      event(res.plural)
      local items, lerr = api:list(res.group, res.version, res.plural, { limit = opts.limit })
      if items then
        objects[res.key] = items
      elseif FATAL_K8S[lerr.code] then
        fatal = lerr
        break
      else
        errs[#errs + 1] = err_entry(res.plural, lerr)
      end
    end
  end
  if own_signer then signer:close() end
  if fatal then return nil, fatal end

  local dests = M.destinations(c, objects, { vpc_cidrs = cidrs, resolve = opts.resolve })
  return {
    schema = M.SCHEMA,
    generated_at = rfc3339(opts.now or os.time()),
    tool = { name = "eksegress", version = opts.version or require("eksegress").version },
    cluster = cluster_info(c, region, cidrs),
    destinations = dests,
    summary = M.summarize(dests),
    errors = errs,
  }
end

return M
