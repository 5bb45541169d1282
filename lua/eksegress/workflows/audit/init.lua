--- Fleet audit: every cluster of every account and region, with its egress
-- mode and (optionally) whether it complies with a required mode.
--
--     local audit = require "eksegress.workflows.audit"
--     local report, err = audit.run(function(target)
--       return eksegress.client{ profile = target.profile, credentials = target.credentials }
--     end, { regions = "all", require = "CUSTOMER_ROUTED" })
--
-- `factory(target)` returns a client (or nil, err) for a target:
-- `{}` (the caller), `{profile = P}`, or `{account = id, credentials = provider}`
-- (a member account reached through AssumeRole). Clients must share one
-- runtime (the default does), so every read runs concurrently over one engine.
--
-- The run never prints, reads argv or exits: progress goes to
-- `opts.on_event(ev)` and the result is a plain table (schema
-- "eksegress/audit/1"). Completeness is the promise: every cluster is in
-- `clusters` exactly once, or the account, region or cluster it belongs to is
-- in `errors` with the reason.
local errors = require "eksegress.errors"
local parallel = require "eksegress.parallel"
local settings = require "eksegress.settings"
local targets = require "eksegress.workflows.audit.targets"
local report = require "eksegress.workflows.audit.report"

local M = {}

M.targets = targets
M.report = report

local ACCOUNT_ID = "^%d%d%d%d%d%d%d%d%d%d%d%d$"
local MODES = { AWS_MANAGED = true, CUSTOMER_ROUTED = true, CUSTOMER_ISOLATED = true }

local function check_opts(opts)
  if type(opts) ~= "table" then errors.misuse("audit.run: options must be a table", 3) end
  local r = opts.regions
  if r ~= nil and r ~= "all" then
    if type(r) ~= "table" or #r == 0 then
      errors.misuse('audit.run: regions must be "all" or a non-empty list of region names', 3)
    end
    for _, name in ipairs(r) do
      if not settings.valid_region(name) then
        errors.misuse(("audit.run: invalid region %q"):format(tostring(name)), 3)
      end
    end
  end
  if opts.require ~= nil and not MODES[opts.require] then
    errors.misuse("audit.run: require must be AWS_MANAGED, CUSTOMER_ROUTED or CUSTOMER_ISOLATED", 3)
  end
  local c = opts.concurrency
  if c ~= nil and (math.type(c) ~= "integer" or c < 1 or c > 1024) then
    errors.misuse("audit.run: concurrency must be an integer from 1 to 1024", 3)
  end
  local org = opts.organization
  if org ~= nil then
    if type(org) ~= "table" or type(org.role_name) ~= "string" or not org.role_name:find("^[%w+=,.@_%-/]+$") then
      errors.misuse("audit.run: organization.role_name must be an IAM role name", 3)
    end
    local si = org.source_identity
    if si ~= nil and si ~= false
      and (type(si) ~= "string" or #si < 2 or #si > 64 or not si:find("^[%w+=,.@_%-]+$")) then
      errors.misuse("audit.run: organization.source_identity must be false or 2-64 characters of letters, "
        .. "digits and +=,.@_-", 3)
    end
    for _, key in ipairs{ "accounts", "exclude_accounts" } do
      for _, id in ipairs(org[key] or {}) do
        if type(id) ~= "string" or not id:find(ACCOUNT_ID) then
          errors.misuse(("audit.run: organization.%s: %q is not a 12-digit account id"):format(key, tostring(id)), 3)
        end
      end
    end
  end
  if opts.on_event ~= nil and type(opts.on_event) ~= "function" then
    errors.misuse("audit.run: on_event must be a function", 3)
  end
  if opts.preflight ~= nil and type(opts.preflight) ~= "boolean" then
    errors.misuse("audit.run: preflight must be a boolean", 3)
  end
  if opts.interrupted ~= nil and type(opts.interrupted) ~= "function" then
    errors.misuse("audit.run: interrupted must be a function", 3)
  end
end

local err_entry = targets.error_entry

-- Run fn over items with progress events for one phase. Once the caller
-- says it was interrupted, items not yet started fail with Interrupted (so
-- they are listed under errors like any other target not read).
local function phase(ctx, name, items, fn)
  local total, done, failed = #items, 0, 0
  ctx.emit{ type = "phase", phase = name, total = total }
  local results, errs = parallel(items, function(item, i)
    local v, err
    if ctx.interrupted() then
      err = errors.new("Interrupted", "not read: the audit was interrupted")
    else
      v, err = fn(item, i)
    end
    done = done + 1
    if v == nil then failed = failed + 1 end
    ctx.emit{ type = "progress", phase = name, done = done, total = total, failed = failed }
    return v, err
  end, { concurrency = ctx.concurrency, runtime = ctx.runtime })
  return results, errs
end

--- Run the audit.
-- @tparam function factory target -> client | nil, err
-- @tparam table opts regions ("all" or a list; default: each client's
--   region), require (mode), profiles (list) | organization {role_name,
--   accounts, exclude_accounts, session_name, source_identity, external_id},
--   preflight (true: each cluster's network preflight findings in
--   `clusters[].preflight`), concurrency (default 32), on_event, now (epoch
--   seconds for generated_at),
--   version (tool version in the document), interrupted (function: true
--   once the caller wants to stop; targets not started are then listed
--   under errors with code Interrupted)
-- @treturn table the report, or nil, err when not even the caller's account
--   can be read (no credentials, Organizations denied, ...)
function M.run(factory, opts)
  if type(factory) ~= "function" then errors.misuse("audit.run: factory must be a function", 2) end
  opts = opts or {}
  check_opts(opts)
  local emit = opts.on_event or function() end
  local ctx = { emit = emit, concurrency = opts.concurrency or 32, runtime = opts.runtime,
                interrupted = opts.interrupted or function() return false end }

  emit{ type = "phase", phase = "accounts", total = 0 }
  local acc, aerr = targets.accounts(factory, {
    profiles = opts.profiles, organization = opts.organization,
    concurrency = ctx.concurrency, runtime = ctx.runtime,
  })
  if not acc then return nil, aerr end
  local errs = acc.errors
  if not ctx.runtime and acc.targets[1] then ctx.runtime = acc.targets[1].client.runtime end

  -- Regions per account.
  local region_lists, region_errs = phase(ctx, "regions", acc.targets, function(t)
    if opts.regions == nil then
      if not t.client.region then
        return nil, errors.new("NoRegion", "no region: pass --regions, set AWS_REGION, or set region in the profile")
      end
      return { read = { t.client.region }, not_enabled = {}, unreadable = {} }
    end
    return targets.regions(t, opts.regions)
  end)
  local entry_of = {}
  for _, a in ipairs(acc.accounts) do
    if a.outcome == "audited" then entry_of[a.id] = a end
  end
  local units = {}
  for i, t in ipairs(acc.targets) do
    local r, entry = region_lists[i], entry_of[t.account]
    if r then
      for _, region in ipairs(r.read) do
        units[#units + 1] = { account = t.account, region = region, client = t.client }
      end
      for _, u in ipairs(r.unreadable) do
        errs[#errs + 1] = err_entry({ target = "region", account = t.account, region = u.region }, u.err)
      end
      entry.regions, entry.regions_not_enabled = r.read, r.not_enabled
    else
      errs[#errs + 1] = err_entry({ target = "account", account = t.account }, region_errs[i])
      entry.outcome = "error"
      entry.reason = "cannot list regions: " .. tostring(region_errs[i] and region_errs[i].message)
    end
  end

  -- Cluster names per account and region.
  local names, list_errs = phase(ctx, "list", units, function(u)
    return u.client:collect("eks", "ListClusters", {}, { region = u.region })
  end)
  local pairs_ = {}
  for i, u in ipairs(units) do
    if names[i] then
      -- A name listed twice (pages that overlap) is still one cluster.
      local seen = {}
      for _, name in ipairs(names[i]) do
        if not seen[name] then
          seen[name] = true
          pairs_[#pairs_ + 1] = { unit = u, name = name }
        end
      end
    else
      errs[#errs + 1] = err_entry({ target = "region", account = u.account, region = u.region }, list_errs[i])
    end
  end

  -- One DescribeCluster per cluster, kept as its report row at once (and
  -- the whole cluster only when the preflight reads it): a whole
  -- DescribeCluster per cluster held until the end made a 10,000-cluster
  -- audit peak above 100 MB.
  -- No wrapper table per row either (10,000 of them were 1.2 MB).
  local whole = {}
  local described, desc_errs = phase(ctx, "describe", pairs_, function(p, i)
    local out, err = p.unit.client:call("eks", "DescribeCluster", { name = p.name }, { region = p.unit.region })
    if not out then return nil, err end
    local c = out.cluster
    if type(c) ~= "table" or c.name ~= p.name then return false end
    if opts.preflight then whole[i] = c end
    return report.row(p.unit, c, opts.require)
  end)
  local clusters, checked = {}, {}
  for i, p in ipairs(pairs_) do
    local row = described[i]
    if row then
      clusters[#clusters + 1] = row
      if whole[i] then checked[#checked + 1] = { row = row, unit = p.unit, cluster = whole[i] } end
    else
      local e = desc_errs[i] or errors.new("ParseError", "DescribeCluster returned another cluster or none")
      errs[#errs + 1] = err_entry({ target = "cluster", account = p.unit.account,
        region = p.unit.region, cluster = p.name }, e)
    end
  end

  if opts.preflight then
    -- The network preflight of every cluster read, over the cluster it just
    -- described; one cache, so the clusters of a VPC share its EC2 reads.
    local preflight = require "eksegress.workflows.preflight"
    local cache = preflight.gather.cache()
    local found, pf_errs = phase(ctx, "preflight", checked, function(w)
      return preflight.cluster(w.unit.client, { name = w.row.name, region = w.row.region, account = w.row.account,
                                                cluster = w.cluster }, { cache = cache })
    end)
    for i, w in ipairs(checked) do
      if found[i] then
        w.row.preflight = preflight.findings(found[i])
      else
        errs[#errs + 1] = err_entry({ target = "preflight", account = w.row.account, region = w.row.region,
          cluster = w.row.name }, pf_errs[i])
      end
    end
  end

  local regions_scope = opts.regions
  if regions_scope == nil then
    local seen, list = {}, {}
    for _, u in ipairs(units) do
      if not seen[u.region] then seen[u.region] = true; list[#list + 1] = u.region end
    end
    table.sort(list)
    regions_scope = list
  end
  local account_ids = {}
  for _, t in ipairs(acc.targets) do account_ids[#account_ids + 1] = t.account end
  table.sort(account_ids)
  local doc = report.document{
    now = opts.now, version = opts.version or require("eksegress").version, require = opts.require,
    scope = { accounts = account_ids, regions = regions_scope, organization = opts.organization ~= nil },
    clusters = clusters, accounts = acc.accounts, errors = errs,
  }
  emit{ type = "done", summary = doc.summary }
  return doc
end

return M
