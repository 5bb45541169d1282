--- The network preflight: every check that must hold before a cluster's
-- control plane egress can be CUSTOMER_ROUTED, run against the live resources.
--
--     local preflight = require "eksegress.workflows.preflight"
--     local doc = preflight.run(client, { clusters = { "prod", "dev" }, region = "us-west-2" })
--     for _, c in ipairs(doc.clusters) do print(c.name, c.blocking, c.warnings) end
--
-- `run` returns a document (schema "eksegress/preflight/1", see
-- docs/schemas/preflight.schema.json): per cluster the result of every check
-- (id, status pass | fail | not_evaluated, severity, message, resources,
-- evidence, fix), and under `errors` every cluster that could not be read.
-- Clusters are checked concurrently over the client's runtime; the EC2 reads of
-- a VPC are made once for all its clusters (eksegress.workflows.preflight.gather).
--
-- Also: `cluster` (one cluster, as an entry of that document), `network` (the
-- network checks on subnets before a cluster exists: create), `for_migration`
-- (the hook migrate.plan and apply call) and `findings` (what audit --preflight
-- embeds). Workflows never print, read argv or exit: progress goes to
-- `opts.on_event(ev)`.
local errors = require "eksegress.errors"
local parallel = require "eksegress.parallel"
local checks = require "eksegress.workflows.preflight.checks"
local gather = require "eksegress.workflows.preflight.gather"
local snapshot = require "eksegress.workflows.preflight.snapshot"
local audit_report = require "eksegress.workflows.audit.report"

local M = {}

M.SCHEMA = "eksegress/preflight/1"
M.checks = checks
M.gather = gather
M.snapshot = snapshot

-- Check ids by group, in report order.
local function ids_where(pred)
  local out = {}
  for _, d in ipairs(checks.list()) do
    if pred(d) then out[#out + 1] = d.id end
  end
  return out
end

--- The checks of the network alone (no cluster state, no destinations): what
-- create runs on its subnets.
M.NETWORK_CHECKS = ids_where(function(d) return d.group ~= "cluster" and d.group ~= "destinations" end)

--- What a migration checks: everything but the cluster's state (status,
-- updates in flight, mode), which the migration workflow judges itself (it
-- waits for an update in flight rather than refusing).
M.MIGRATION_CHECKS = ids_where(function(d) return d.group ~= "cluster" end)

local CLUSTER_NAME = "^[%w][%w_%-]*$"

--- Is name a valid EKS cluster name (a letter or digit, then letters, digits,
-- - and _; at most 100)?
function M.valid_cluster_name(name)
  return type(name) == "string" and #name <= 100 and name:find(CLUSTER_NAME) ~= nil
end
local valid_name = M.valid_cluster_name

local function check_ids(fname, ids)
  if ids == nil then return end
  if type(ids) ~= "table" then errors.misuse(fname .. ": checks must be a list of check ids", 3) end
  local known = {}
  for _, id in ipairs(checks.ids()) do known[id] = true end
  for _, id in ipairs(ids) do
    if not known[id] then errors.misuse(("%s: unknown check id %q"):format(fname, tostring(id)), 3) end
  end
end

local function check_client(fname, client)
  if type(client) ~= "table" or type(client.call) ~= "function" then
    errors.misuse(fname .. ": client must be an eksegress client", 3)
  end
end

-- The reads a set of checks needs beyond the network.
local function parts_for(ids)
  if not ids then return nil end
  local want = {}
  for _, id in ipairs(ids) do want[id] = true end
  return { updates = want.update_in_progress == true, identity_providers = want.destination_identity_providers == true,
           role = want.iam_role_describe == true }
end

local function blocking_ids(results)
  local out = {}
  for _, r in ipairs(results) do
    if r.status == "fail" and r.severity == "blocking" then out[#out + 1] = r.id end
  end
  return out
end

local function not_evaluated_ids(results)
  local out = {}
  for _, r in ipairs(results) do
    if r.status == "not_evaluated" then out[#out + 1] = r.id end
  end
  return out
end

--- Preflight one cluster.
-- @param client an eksegress client
-- @tparam table target name, region (default the client's), account
--   (default: from the cluster's ARN), cluster (an already described
--   DescribeCluster `cluster`: not described again)
-- @tparam[opt] table opts cache (gather.cache(), shared between calls),
--   checks (ids to run; default all), reach (true: also read the
--   destinations the control plane calls through the cluster's Kubernetes API
--   and add the result `reach_destinations`: see eksegress.workflows.reach)
-- @return the document's entry for the cluster `{account, region, name, arn,
--   vpc_id, egress_mode, results, blocking, warnings, not_evaluated}`, or nil,
--   err when the cluster cannot be described
function M.cluster(client, target, opts)
  check_client("preflight.cluster", client)
  if type(target) ~= "table" or not valid_name(target.name) then
    errors.misuse("preflight.cluster: target.name must be an EKS cluster name", 2)
  end
  opts = opts or {}
  check_ids("preflight.cluster", opts.checks)
  local cache = opts.cache or gather.cache()
  local region = target.region or client.region
  if not region then
    return nil, errors.new("NoRegion", "no region: pass one (--region), set AWS_REGION, or set region in the profile")
  end
  local raw, cluster = gather.cluster(client, { name = target.name, region = region, account = target.account,
    cluster = target.cluster, parts = parts_for(opts.checks) }, cache)
  if not raw then return nil, cluster end
  local snap = snapshot.from_client(raw)
  local results, summary = checks.run(snap, { region = region, checks = opts.checks, cluster_name = target.name })
  if opts.reach then
    local reach = require "eksegress.workflows.reach"
    local found, rerr = reach.run(client, { cluster = cluster.name or target.name, region = region,
                                            cluster_description = cluster })
    local r = reach.preflight_result(found, rerr, results)
    results[#results + 1] = r
    if r.status == "fail" then
      local key = r.severity == "blocking" and "blocking" or "warnings"
      summary[key] = summary[key] + 1
    elseif r.status == "not_evaluated" then
      summary.not_evaluated = summary.not_evaluated + 1
    end
  end
  local vpc = type(cluster.resourcesVpcConfig) == "table" and cluster.resourcesVpcConfig or {}
  return {
    account = target.account or gather.arn_account(cluster.arn),
    region = region,
    name = cluster.name or target.name,
    arn = cluster.arn,
    vpc_id = vpc.vpcId,
    egress_mode = audit_report.egress_mode(cluster),
    results = results,
    blocking = summary.blocking,
    warnings = summary.warnings,
    not_evaluated = summary.not_evaluated,
  }
end

local function error_entry(fields, err)
  local e = { target = "cluster" }
  for k, v in pairs(fields) do e[k] = v end
  if type(err) == "table" then
    e.code, e.message, e.status, e.request_id = tostring(err.code or "Error"), tostring(err.message),
      err.status, err.request_id
  else
    e.code, e.message = "Error", tostring(err)
  end
  return e
end

local function by_key(a, b)
  if (a.account or "") ~= (b.account or "") then return (a.account or "") < (b.account or "") end
  if (a.region or "") ~= (b.region or "") then return (a.region or "") < (b.region or "") end
  return (a.name or a.cluster or "") < (b.name or b.cluster or "")
end

local RUN_OPTS = { clusters = true, region = true, on_event = true, concurrency = true, now = true, version = true,
                   checks = true, cache = true, reach = true }

--- Preflight clusters of one account and region.
-- @param client an eksegress client
-- @tparam table opts clusters (names, required), region (default the
--   client's), concurrency (clusters at once, default 8), on_event, checks
--   (ids; default all), cache (a gather.cache to share), now (epoch seconds for
--   generated_at), version (the tool's version in the document), reach (see
--   M.cluster)
-- @treturn table the document; clusters that could not be read are under
--   `errors` (code, message, status, request_id), never left out
function M.run(client, opts)
  check_client("preflight.run", client)
  if type(opts) ~= "table" then errors.misuse("preflight.run: options must be a table", 2) end
  for k in pairs(opts) do
    if not RUN_OPTS[k] then errors.misuse(("preflight.run: unknown option %q"):format(tostring(k)), 2) end
  end
  if type(opts.clusters) ~= "table" or #opts.clusters == 0 then
    errors.misuse("preflight.run: clusters must be a non-empty list of cluster names", 2)
  end
  local names, seen = {}, {}
  for _, n in ipairs(opts.clusters) do
    if not valid_name(n) then errors.misuse(("preflight.run: %q is not an EKS cluster name"):format(tostring(n)), 2) end
    if not seen[n] then
      seen[n] = true
      names[#names + 1] = n
    end
  end
  local c = opts.concurrency
  if c ~= nil and (math.type(c) ~= "integer" or c < 1 or c > 1024) then
    errors.misuse("preflight.run: concurrency must be an integer from 1 to 1024", 2)
  end
  if opts.on_event ~= nil and type(opts.on_event) ~= "function" then
    errors.misuse("preflight.run: on_event must be a function", 2)
  end
  check_ids("preflight.run", opts.checks)
  if opts.cache ~= nil and not gather.is_cache(opts.cache) then
    errors.misuse("preflight.run: cache must come from gather.cache()", 2)
  end
  local emit = opts.on_event or function() end
  local cache = opts.cache or gather.cache()
  local region = opts.region or client.region

  local total, done, failed = #names, 0, 0
  emit{ type = "phase", phase = "preflight", total = total }
  local entries, errs = parallel(names, function(name)
    local entry, err = M.cluster(client, { name = name, region = region }, { cache = cache, checks = opts.checks,
                                                                            reach = opts.reach })
    done = done + 1
    if not entry then failed = failed + 1 end
    emit{ type = "progress", phase = "preflight", done = done, total = total, failed = failed }
    if entry then
      emit{ type = "cluster", name = name, blocking = entry.blocking, warnings = entry.warnings }
    end
    return entry, err
  end, { concurrency = opts.concurrency or 8, runtime = client.runtime })

  local clusters, errlist = {}, {}
  for i, name in ipairs(names) do
    if entries[i] then
      clusters[#clusters + 1] = entries[i]
    else
      errlist[#errlist + 1] = error_entry({ region = region, cluster = name }, errs[i])
    end
  end
  table.sort(clusters, by_key)
  table.sort(errlist, by_key)
  local doc = {
    schema = M.SCHEMA,
    generated_at = audit_report.rfc3339(opts.now or os.time()),
    tool = { name = "eksegress", version = opts.version or require("eksegress").version },
    clusters = clusters,
    errors = errlist,
  }
  emit{ type = "done", clusters = #clusters, errors = #errlist }
  return doc
end

--- The network checks for a cluster that does not exist yet (create): its
-- subnets, security groups and role, checked as EKS will use them.
-- @param client an eksegress client
-- @tparam table opts subnet_ids (required), security_group_ids, role_arn,
--   ip_family ("ipv4" | "ipv6"), region, name (the cluster to be; for the fix
--   commands), cache, checks (default NETWORK_CHECKS)
-- @return `{vpc_id, missing_subnets, results, blocking, warnings,
--   blocking_ids, not_evaluated}`, or nil, err when the subnets cannot be read
function M.network(client, opts)
  check_client("preflight.network", client)
  if type(opts) ~= "table" or type(opts.subnet_ids) ~= "table" or #opts.subnet_ids == 0 then
    errors.misuse("preflight.network: subnet_ids must be a non-empty list", 2)
  end
  if opts.ip_family ~= nil and opts.ip_family ~= "ipv4" and opts.ip_family ~= "ipv6" then
    errors.misuse('preflight.network: ip_family must be "ipv4" or "ipv6"', 2)
  end
  check_ids("preflight.network", opts.checks)
  local region = opts.region or client.region
  if not region then
    return nil, errors.new("NoRegion", "no region: pass one (--region), set AWS_REGION, or set region in the profile")
  end
  local ids = opts.checks or M.NETWORK_CHECKS
  local cache = opts.cache or gather.cache()
  local raw, info = gather.assemble(client, {
    region = region, subnet_ids = opts.subnet_ids, security_group_ids = opts.security_group_ids,
    role_arn = opts.role_arn, parts = parts_for(ids),
  }, cache)
  if raw.errors.Subnets and not raw.ec2.Subnets and not info.vpc_id then return nil, raw.errors.Subnets end
  -- The cluster as EKS will create it: the checks read its subnets, groups,
  -- role and address family from here; its state checks are not evaluated.
  raw.cluster = {
    name = opts.name, roleArn = opts.role_arn,
    resourcesVpcConfig = { vpcId = info.vpc_id, subnetIds = opts.subnet_ids,
                           securityGroupIds = opts.security_group_ids or {} },
    kubernetesNetworkConfig = { ipFamily = opts.ip_family or "ipv4" },
  }
  local snap = snapshot.from_client(raw)
  local results, summary = checks.run(snap, { planned = true, region = region, checks = ids,
                                              cluster_name = opts.name })
  return {
    vpc_id = info.vpc_id, missing_subnets = info.missing_subnets, results = results,
    blocking = summary.blocking, warnings = summary.warnings, blocking_ids = blocking_ids(results),
    not_evaluated = summary.not_evaluated,
  }
end

--- What audit --preflight embeds per cluster (preflight.schema.json#/$defs/findings).
function M.findings(entry)
  return { blocking = entry.blocking, warnings = entry.warnings, results = entry.results }
end

-- Reads shared by the clusters of one plan or apply run, read again after 30 s
-- (an apply can run for an hour; each cluster is checked against the network
-- as it is just before its switch).
local migration_cache = gather.cache({ max_age = 30 })

--- The hook migrate.plan and migrate.apply call for each cluster.
-- @param client an eksegress client for the cluster's account
-- @tparam table entry account, region, name
-- @tparam table cluster the DescribeCluster `cluster` the migration just read
-- @return `{blocking, warnings, blocking_ids, not_evaluated_ids, results,
--   evaluated = true}` (MIGRATION_CHECKS only), or nil, err
function M.for_migration(client, entry, cluster)
  check_client("preflight.for_migration", client)
  if type(entry) ~= "table" or not valid_name(entry.name) then
    errors.misuse("preflight.for_migration: entry.name must be an EKS cluster name", 2)
  end
  local res, err = M.cluster(client, { name = entry.name, region = entry.region, account = entry.account,
    cluster = cluster }, { cache = migration_cache, checks = M.MIGRATION_CHECKS })
  if not res then return nil, err end
  return {
    blocking = res.blocking, warnings = res.warnings, blocking_ids = blocking_ids(res.results),
    not_evaluated_ids = not_evaluated_ids(res.results), results = res.results, evaluated = true,
  }
end

return M
