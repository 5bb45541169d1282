--- eksegress preflight: check clusters' networks before their egress becomes
-- CUSTOMER_ROUTED.
local lazy = require "eksegress.cli.lazy"
local preflight = lazy(function() return require "eksegress.workflows.preflight" end)
local checks = lazy(function() return require "eksegress.workflows.preflight.checks" end)
local errors = require "eksegress.errors"
local exit = require "eksegress.cli.exit"
local args_util = require "eksegress.cli.args"

local M = {
  name = "preflight",
  summary = "Check clusters' networks before switching their egress to CUSTOMER_ROUTED",
  description = "Run the network preflight on each cluster (of one account and region): cluster state, "
    .. "subnets, the effective route table of every subnet and its egress device, network ACLs evaluated "
    .. "as EC2 does, the union of the security groups' egress rules, DNS, the cluster role's permissions, "
    .. "and the destinations that must stay reachable. Each finding names the resources, the evidence that "
    .. "decided it, and the fix as an AWS CLI command with the real ids. Clusters are checked concurrently; "
    .. "a VPC's reads are shared by its clusters. With --reach it also reads, through the cluster's Kubernetes "
    .. "API, the destinations the control plane calls (as eksegress reach lists them) and judges each path "
    .. "against the checks: a webhook outside the VPC with no working egress path is blocking "
    .. "(reach_destinations). Nothing is changed. Exit 1 when a cluster has a blocking "
    .. "finding; 2 when a cluster could not be read, or a blocking check could not be evaluated (a read was "
    .. "denied: its result says why), which takes precedence; 0 otherwise.",
  examples = {
    "eksegress preflight --cluster prod --region us-west-2",
    "eksegress preflight --cluster prod --cluster staging --output json > preflight.json",
    "eksegress preflight --cluster prod --reach",
    "eksegress preflight --cluster prod --export preflight.sarif --export preflight.md --export preflight.junit.xml",
  },
  outputs = { "table", "json", "csv", "markdown" },
  exports = { ".json", ".csv", ".md", ".html", ".junit.xml", ".sarif" },
  export_formats = { "json", "csv", "markdown", "html", "junit", "sarif" },
}

function M.configure(c)
  c:option("--cluster", "A cluster to check (repeatable; at least one)."):count("*")
  c:option("--concurrency", "Clusters checked at once (default 8).")
  c:flag("--reach", "Also check the paths to the destinations the control plane calls (see eksegress reach).")
end

--- Cluster names from repeated --cluster flags, or a usage error.
function M.cluster_names(list)
  if #list == 0 then return args_util.usage("--cluster NAME is required (repeat it for several clusters)") end
  for _, n in ipairs(list) do
    if not preflight.valid_cluster_name(n) then
      return args_util.usage(("--cluster: %q is not an EKS cluster name (letters, digits, - and _, at most 100)")
        :format(n))
    end
  end
  return list
end

function M.run(ctx, a)
  local names = M.cluster_names(a.cluster)
  local concurrency, err = args_util.integer("--concurrency", a.concurrency, 1, 1024)
  if err then return args_util.usage(err) end
  local client, cerr = ctx:client()
  if not client then return ctx:fail("preflight", cerr) end
  if not client.region then
    return ctx:fail("preflight", errors.new("NoRegion", "no region for the clusters"))
  end
  local doc = preflight.run(client, {
    clusters = names, concurrency = concurrency, version = require("eksegress").version, reach = a.reach,
    on_event = function(ev)
      if ev.type == "progress" then
        ctx.out:status(("preflight: %d/%d clusters%s"):format(ev.done, ev.total,
          ev.failed > 0 and (" (" .. ev.failed .. " could not be read)") or ""))
      elseif ev.type == "cluster" then
        ctx.out:progress_line(("preflight: %s: %d blocking, %d warnings"):format(ev.name, ev.blocking, ev.warnings))
      end
    end,
  })
  for _, e in ipairs(doc.errors) do
    ctx:fail("preflight", e, ("cluster %s in %s"):format(e.cluster, tostring(e.region)))
  end
  local ok, werr = ctx:emit("preflight", doc, { rules = checks.list() })
  if not ok then
    ctx:fail("preflight", werr)
    return exit.PARTIAL
  end
  -- A blocking check that could not be evaluated is not a pass: say which,
  -- and why, and do not exit 0.
  local unchecked = false
  for _, c in ipairs(doc.clusters) do
    for _, r in ipairs(c.results) do
      if r.status == "not_evaluated" and r.severity == "blocking" then
        unchecked = true
        ctx.out:line(("eksegress: preflight: cluster %s in %s: %s not evaluated: %s"):format(c.name, c.region, r.id,
          (r.message:gsub("[\r\n]+", " "))))
      end
    end
  end
  if #doc.errors > 0 or unchecked then return exit.PARTIAL end
  for _, c in ipairs(doc.clusters) do
    if c.blocking > 0 then return exit.FINDINGS end
  end
  return exit.OK
end

return M
