--- eksegress reach: the destinations a cluster's control plane calls, and how
-- each travels once its egress goes through the VPC.
local lazy = require "eksegress.cli.lazy"
local reach = lazy(function() return require "eksegress.workflows.reach" end)
local args_util = require "eksegress.cli.args"
local columns = lazy(function() return require "eksegress.cli.columns" end)
local exit = require "eksegress.cli.exit"

local M = {
  name = "reach",
  summary = "List what the cluster's control plane calls, and how it travels after the switch",
  description = "Read, through the cluster's own Kubernetes API (endpoint and CA from DescribeCluster, an EKS "
    .. "token as eksegress token makes it; no kubectl), the destinations its API server calls: admission "
    .. "webhooks (a URL outside: VPC egress and DNS; a service: in the cluster) with their failure policy and "
    .. "what fails if unreachable, aggregated APIs (APIServices with a service), the cluster's OIDC issuer and "
    .. "associated identity providers. For each: host, port, whether it is inside the VPC's CIDR blocks (literal "
    .. "addresses and services; host names are resolved by the VPC's DNS after the switch and not here), and the "
    .. "preflight checks its path depends on. No destination is contacted. The identity needs list access to "
    .. "validatingwebhookconfigurations, mutatingwebhookconfigurations (admissionregistration.k8s.io) and "
    .. "apiservices (apiregistration.k8s.io).",
  examples = {
    "eksegress reach --cluster prod-api --region us-east-1",
    "eksegress reach --cluster prod-api --output json > reach.json",
  },
  outputs = { "table", "json" },
}

function M.configure(c)
  c:option("--cluster --cluster-name", "The cluster name.")
  c:option("--limit", "Kubernetes list page size (default 500).")
end

local KIND = { validating_webhook = "validating", mutating_webhook = "mutating", apiservice = "apiservice",
               oidc_issuer = "oidc issuer", identity_provider = "identity provider" }
local LOCATION = { outside_vpc = "outside VPC", inside_vpc = "inside VPC", in_cluster = "in cluster",
                   control_plane = "control plane", unknown = "unknown" }
local PATH = {
  vpc_egress = "through the VPC's egress path (route, egress device, network ACL, security groups) and, for "
    .. "host names, the VPC's DNS",
  vpc_internal = "over the cluster's network interfaces inside the VPC (the checks cover TCP 443 to anywhere, "
    .. "which includes these addresses)",
  control_plane_local = "nothing leaves the control plane",
}
local PATH_ORDER = { "vpc_egress", "vpc_internal", "control_plane_local" }

local KEY_ORDER = { "schema", "generated_at", "tool", "cluster", "account", "region", "name", "arn", "status",
                    "version", "egress_mode", "endpoint", "vpc_id", "vpc_cidrs", "service_cidr", "ip_family",
                    "summary", "destinations", "kind", "object", "webhook", "url", "service", "namespace",
                    "host", "port", "path", "address", "addresses", "resolution", "in_vpc", "location",
                    "failure_policy", "timeout_seconds", "if_unreachable", "severity", "depends_on", "covers",
                    "port_checked", "note", "errors", "source", "code", "message" }

local function render_json(doc)
  return require("eksegress.report.json").encode(doc, { key_order = KEY_ORDER,
    arrays = { "destinations", "addresses", "depends_on", "vpc_cidrs" } })
end

local function where(d)
  if d.service then
    return ("service %s/%s:%d"):format(d.service.namespace, d.service.name, d.port)
  end
  if not d.host then return d.url or "?" end
  local h = d.host:find(":", 1, true) and ("[" .. d.host .. "]") or d.host
  return h .. ":" .. tostring(d.port)
end

local function render_table(doc, width)
  local c = doc.cluster
  local out = {}
  out[#out + 1] = ("Cluster %s (%s, %s), Kubernetes %s, egress %s\n"):format(c.name, tostring(c.account),
    tostring(c.region), tostring(c.version), tostring(c.egress_mode))
  out[#out + 1] = ("VPC %s %s%s\n\n"):format(tostring(c.vpc_id), #c.vpc_cidrs > 0 and table.concat(c.vpc_cidrs, ", ")
    or "(CIDR blocks unknown)", c.service_cidr and ("; services " .. c.service_cidr) or "")
  local rows, notes, by_path = {}, {}, {}
  for i, d in ipairs(doc.destinations) do
    rows[i] = { KIND[d.kind] or d.kind, d.name, where(d), LOCATION[d.location] or d.location,
                d.failure_policy or "", d.if_unreachable }
    if d.note then notes[#notes + 1] = ("  %s %s: %s\n"):format(KIND[d.kind] or d.kind, d.name, d.note) end
    local p = by_path[d.path]
    if not p then
      p = { n = 0, checks = {}, seen = {} }
      by_path[d.path] = p
    end
    p.n = p.n + 1
    for _, id in ipairs(d.depends_on) do
      if not p.seen[id] then
        p.seen[id] = true
        p.checks[#p.checks + 1] = id
      end
    end
  end
  if #rows == 0 then
    out[#out + 1] = "No destinations: no webhooks, aggregated APIs or OIDC issuers.\n"
  else
    out[#out + 1] = columns.render({ "KIND", "NAME~", "DESTINATION", "LOCATION", "FAILURE", "IF UNREACHABLE~" }, rows,
      { width = width })
  end
  out[#out + 1] = "\nHow they travel once egress is CUSTOMER_ROUTED:\n"
  for _, key in ipairs(PATH_ORDER) do
    local p = by_path[key]
    if p then
      out[#out + 1] = ("  %d %s: %s%s\n"):format(p.n, p.n == 1 and "destination" or "destinations", PATH[key],
        #p.checks > 0 and ("; preflight checks: " .. table.concat(p.checks, ", ")) or "")
    end
  end
  if #notes > 0 then
    out[#out + 1] = "Notes:\n"
    for _, n in ipairs(notes) do out[#out + 1] = n end
  end
  local s = doc.summary
  out[#out + 1] = ("Summary: %d destinations: %d outside the VPC, %d inside it, %d in the cluster, %d in the "
    .. "control plane; %d fail-closed webhook(s) outside the VPC.\n"):format(s.destinations, s.outside_vpc,
    s.inside_vpc, s.in_cluster, s.control_plane, s.fail_closed_outside)
  return table.concat(out)
end

local STEPS = { describe = "describing the cluster", vpc = "reading the VPC", identity_providers =
  "reading identity providers" }

function M.run(ctx, a)
  if not a.cluster then return args_util.usage("--cluster NAME is required") end
  local _, cerr = args_util.cluster("--cluster", a.cluster)
  if cerr then return args_util.usage(cerr) end
  local limit, lerr = args_util.integer("--limit", a.limit, 1, 10000)
  if lerr then return args_util.usage(lerr) end
  local client, err = ctx:client{}
  if not client then return ctx:fail("reach", err) end
  local doc, rerr = reach.run(client, { cluster = a.cluster, limit = limit, on_event = function(ev)
    ctx.out:status("reach: " .. (STEPS[ev.step] or ("listing " .. ev.step)))
  end })
  if not doc then return ctx:fail("reach", rerr, "cluster " .. a.cluster) end
  for _, e in ipairs(doc.errors) do ctx:fail("reach", e, "cluster " .. a.cluster .. " " .. e.source) end
  if a.output == "json" then
    ctx.out:result(render_json(doc))
  else
    ctx.out:result(render_table(doc, ctx.out.columns))
  end
  if #doc.errors > 0 then return exit.PARTIAL end
  return exit.OK
end

M.render_table = render_table
M.render_json = render_json
return M
