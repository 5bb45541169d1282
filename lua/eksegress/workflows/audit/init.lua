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
--
-- Reads run in passes. A read that failed with an error worth trying again
-- (throttling, 5xx, a lost or timed-out connection: `eksegress.errors.transient`)
-- after the client's own retries -- typically because a retry storm emptied
-- the engine's retry quota, after which nothing is retried at all -- is read
-- again in a later pass: after a pause (doubled per pass, with jitter,
-- bounded) and with every engine's retry quota refilled. A region's listing
-- is read again from its first page (a page token may not outlive the pause;
-- names are kept per account/region/name, so a listing read twice cannot
-- give a cluster twice). Denials, unknown or disabled regions and roles that
-- cannot be assumed are never read again.
local errors = require "eksegress.errors"
local parallel = require "eksegress.parallel"
local settings = require "eksegress.settings"
local targets = require "eksegress.workflows.audit.targets"
local report = require "eksegress.workflows.audit.report"

local M = {}

M.targets = targets
M.report = report

--- Later passes by default: each pass, with a fresh retry quota, reads most
-- of what the one before left (under 30% throttling and 10% 5xx a read fails
-- its three attempts about one time in ten), so two passes leave about one in
-- a hundred of pass 1's failures; a third would add little but another pause.
M.RETRY_PASSES = 2
M.MAX_RETRY_PASSES = 10
--- The pause before pass 2, in seconds; doubled for each later pass, capped
-- at PAUSE_CAP (the SDKs' longest retry backoff) or retry_pause if longer,
-- and then jittered to between half and all of it.
M.RETRY_PAUSE = 2
M.MAX_RETRY_PAUSE = 60
M.PAUSE_CAP = 20

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
  local rp = opts.retry_passes
  if rp ~= nil and (math.type(rp) ~= "integer" or rp < 0 or rp > M.MAX_RETRY_PASSES) then
    errors.misuse(("audit.run: retry_passes must be an integer from 0 to %d"):format(M.MAX_RETRY_PASSES), 3)
  end
  local pause = opts.retry_pause
  if pause ~= nil and (type(pause) ~= "number" or pause ~= pause or pause < 0 or pause > M.MAX_RETRY_PAUSE) then
    errors.misuse(("audit.run: retry_pause must be a number of seconds from 0 to %d"):format(M.MAX_RETRY_PAUSE), 3)
  end
end

local err_entry = targets.error_entry
local retryable = errors.transient

-- Marks a target that a phase did not start because the caller interrupted.
local NOT_STARTED = {}

-- Run fn over items with progress events for one phase of a pass. Once the
-- caller says it was interrupted, items not yet started fail with
-- Interrupted (so they are listed under errors like any other target not
-- read); an item started counts one more pass in `item.passes`.
local function phase(ctx, name, items, fn)
  local total, done, failed = #items, 0, 0
  ctx.emit{ type = "phase", phase = name, total = total, pass = ctx.pass }
  local results, errs = parallel(items, function(item, i)
    local v, err
    if ctx.interrupted() then
      err = NOT_STARTED
    else
      item.passes = item.passes + 1
      v, err = fn(item, i)
    end
    done = done + 1
    if v == nil then failed = failed + 1 end
    ctx.emit{ type = "progress", phase = name, done = done, total = total, failed = failed, pass = ctx.pass }
    return v, err
  end, { concurrency = ctx.concurrency, runtime = ctx.runtime })
  return results, errs
end

-- The error an item ends with: what it failed with, or, when an interrupted
-- pass did not start it, what it failed with in the pass before.
local function reason(item, err)
  if err == NOT_STARTED then
    return item.err or errors.new("Interrupted", "not read: the audit was interrupted")
  end
  return err
end

-- An item that failed in this pass: kept for the next pass when its error is
-- worth retrying, else it ends under errors now.
local function failed(item, err, later, give_up)
  item.err = reason(item, err)
  if retryable(item.err) then
    later[#later + 1] = item
  else
    give_up(item)
  end
end

-- The pause before pass `pass`: retry_pause doubled per pass after the
-- second, bounded, with equal jitter (half fixed, so the throttling has time
-- to settle; half random, so audits started together do not come back in step).
local function pause_for(base, pass)
  local t = math.min(base * 2 ^ (pass - 2), math.max(base, M.PAUSE_CAP))
  return t / 2 + math.random() * t / 2
end

-- Sleep in short slices, so Ctrl-C during the pause is seen at once.
local function pause(ctx, seconds)
  local left = seconds
  while left > 0 and not ctx.interrupted() do
    local step = math.min(left, 0.1)
    ctx.runtime:sleep(step)
    left = left - step
  end
end

--- Run the audit.
-- @tparam function factory target -> client | nil, err
-- @tparam table opts regions ("all" or a list; default: each client's
--   region), require (mode), profiles (list) | organization {role_name,
--   accounts, exclude_accounts, session_name, source_identity, external_id},
--   preflight (true: each cluster's network preflight findings in
--   `clusters[].preflight`), concurrency (default 32), on_event (called with
--   {type = "phase", phase, total, pass}, {type = "progress", phase, done,
--   total, failed, pass}, before each later pass's pause {type = "pass",
--   pass, passes (at most), pause (seconds), accounts, regions, clusters (to
--   read again)}, and {type = "done", summary}), now (epoch seconds for
--   generated_at),
--   version (tool version in the document), interrupted (function: true
--   once the caller wants to stop; targets not started are then listed
--   under errors with code Interrupted, or with the error of their last
--   pass), retry_passes (later passes over the reads that failed with a
--   retryable error, 0-10, default M.RETRY_PASSES; 0: none), retry_pause
--   (seconds before pass 2, 0-60, default M.RETRY_PAUSE)
-- @treturn table the report, or nil, err when not even the caller's account
--   can be read (no credentials, Organizations denied, ...)
function M.run(factory, opts)
  if type(factory) ~= "function" then errors.misuse("audit.run: factory must be a function", 2) end
  opts = opts or {}
  check_opts(opts)
  local emit = opts.on_event or function() end
  local ctx = { emit = emit, concurrency = opts.concurrency or 32, runtime = opts.runtime, pass = 1,
                interrupted = opts.interrupted or function() return false end }
  local retry_passes = opts.retry_passes or M.RETRY_PASSES
  local retry_pause = opts.retry_pause or M.RETRY_PAUSE

  emit{ type = "phase", phase = "accounts", total = 0, pass = 1 }
  local acc, aerr = targets.accounts(factory, {
    profiles = opts.profiles, organization = opts.organization,
    concurrency = ctx.concurrency, runtime = ctx.runtime,
  })
  if not acc then return nil, aerr end
  local errs = acc.errors
  for _, e in ipairs(errs) do e.passes = 1 end
  if not ctx.runtime and acc.targets[1] then ctx.runtime = acc.targets[1].client.runtime end
  local entry_of = {}
  for _, a in ipairs(acc.accounts) do
    if a.outcome == "audited" then entry_of[a.id] = a end
  end

  local function add_error(fields, item)
    local e = err_entry(fields, item.err)
    e.passes = item.passes
    errs[#errs + 1] = e
  end
  local function account_fails(item)
    add_error({ target = "account", account = item.target.account }, item)
    local entry = entry_of[item.target.account]
    entry.outcome = "error"
    entry.reason = "cannot list regions: " .. tostring(item.err and item.err.message)
  end
  local function region_fails(item)
    add_error({ target = "region", account = item.account, region = item.region }, item)
  end
  local function cluster_fails(item)
    add_error({ target = "cluster", account = item.unit.account, region = item.unit.region,
                cluster = item.name }, item)
  end

  local all_units, clusters, checked, recovered = {}, {}, {}, 0
  local work = { regions = {}, units = {}, pairs = {} }
  for _, t in ipairs(acc.targets) do work.regions[#work.regions + 1] = { target = t, passes = 0 } end

  -- One pass: the regions of the accounts in work.regions, the listings of
  -- work.units and of those regions, the clusters of work.pairs and of those
  -- listings. What failed and may be read again goes to `later`.
  local function run_pass(later)
    local first = ctx.pass == 1
    if first or #work.regions > 0 then
      local region_lists, region_errs = phase(ctx, "regions", work.regions, function(item)
        local t = item.target
        if opts.regions == nil then
          if not t.client.region then
            return nil, errors.new("NoRegion",
              "no region: pass --regions, set AWS_REGION, or set region in the profile")
          end
          return { read = { t.client.region }, not_enabled = {}, unreadable = {} }
        end
        return targets.regions(t, opts.regions)
      end)
      for i, item in ipairs(work.regions) do
        local r, t = region_lists[i], item.target
        if r then
          for _, region in ipairs(r.read) do
            local u = { account = t.account, region = region, client = t.client, passes = 0 }
            work.units[#work.units + 1] = u
            all_units[#all_units + 1] = u
          end
          for _, u in ipairs(r.unreadable) do
            add_error({ target = "region", account = t.account, region = u.region },
                      { err = u.err, passes = item.passes })
          end
          local entry = entry_of[t.account]
          entry.regions, entry.regions_not_enabled = r.read, r.not_enabled
        else
          failed(item, region_errs[i], later.regions, account_fails)
        end
      end
    end

    -- Cluster names per account and region. A listing counts only when it
    -- was read whole, and a listing read whole is never read again (a later
    -- pass reads only what failed, from its first page), so no cluster can
    -- come from two passes; a name on two pages of one listing is still one
    -- cluster. The set of names lives as long as its listing: a set of every
    -- cluster kept to the end cost 2 MiB at 10,000 clusters.
    if first or #work.units > 0 then
      local names, list_errs = phase(ctx, "list", work.units, function(u)
        return u.client:collect("eks", "ListClusters", {}, { region = u.region })
      end)
      for i, u in ipairs(work.units) do
        if names[i] then
          local seen = {}
          for _, name in ipairs(names[i]) do
            if not seen[name] then
              seen[name] = true
              work.pairs[#work.pairs + 1] = { unit = u, name = name, passes = 0 }
            end
          end
        else
          failed(u, list_errs[i], later.units, region_fails)
        end
      end
    end

    -- One DescribeCluster per cluster, kept as its report row at once (and
    -- the whole cluster only when the preflight reads it): a whole
    -- DescribeCluster per cluster held until the end made a 10,000-cluster
    -- audit peak above 100 MB. No wrapper table per row either (10,000 of
    -- them were 1.2 MB).
    if first or #work.pairs > 0 then
      local whole = {}
      local described, desc_errs = phase(ctx, "describe", work.pairs, function(p, i)
        local out, err = p.unit.client:call("eks", "DescribeCluster", { name = p.name }, { region = p.unit.region })
        if not out then return nil, err end
        local c = out.cluster
        if type(c) ~= "table" or c.name ~= p.name then
          return nil, errors.new("ParseError", "DescribeCluster returned another cluster or none")
        end
        if opts.preflight then whole[i] = c end
        return report.row(p.unit, c, opts.require)
      end)
      for i, p in ipairs(work.pairs) do
        local row = described[i]
        if row then
          clusters[#clusters + 1] = row
          if ctx.pass > 1 then recovered = recovered + 1 end
          if whole[i] then checked[#checked + 1] = { row = row, unit = p.unit, cluster = whole[i], passes = 0 } end
        else
          failed(p, desc_errs[i], later.pairs, cluster_fails)
        end
      end
    end
  end

  -- Engines the targets' clients use (clients configured alike share one).
  local engines, seen_engine = {}, {}
  for _, t in ipairs(acc.targets) do
    local e = t.client.engine
    if e and not seen_engine[e] then seen_engine[e] = true; engines[#engines + 1] = e end
  end

  while true do
    local later = { regions = {}, units = {}, pairs = {} }
    run_pass(later)
    local left = #later.regions + #later.units + #later.pairs
    if left == 0 or ctx.pass > retry_passes or ctx.interrupted() then
      for _, item in ipairs(later.regions) do account_fails(item) end
      for _, item in ipairs(later.units) do region_fails(item) end
      for _, item in ipairs(later.pairs) do cluster_fails(item) end
      break
    end
    ctx.pass = ctx.pass + 1
    local seconds = pause_for(retry_pause, ctx.pass)
    emit{ type = "pass", pass = ctx.pass, passes = retry_passes + 1, pause = seconds,
          accounts = #later.regions, regions = #later.units, clusters = #later.pairs }
    pause(ctx, seconds)
    -- The storm that emptied the retry quota is over: this pass starts with
    -- a full one, or its reads would get no retries at all.
    for _, e in ipairs(engines) do e:refill_retry_quota() end
    work = later
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
        w.err = reason(w, pf_errs[i])
        add_error({ target = "preflight", account = w.row.account, region = w.row.region, cluster = w.row.name }, w)
      end
    end
  end

  local regions_scope = opts.regions
  if regions_scope == nil then
    local seen, list = {}, {}
    for _, u in ipairs(all_units) do
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
    clusters = clusters, accounts = acc.accounts, errors = errs, passes = ctx.pass, recovered = recovered,
  }
  emit{ type = "done", summary = doc.summary }
  return doc
end

return M
