--- Migrate clusters to CUSTOMER_ROUTED: plan, apply in waves, resume after
-- a crash — each cluster updated exactly once.
--
--     local migrate = require "eksegress.workflows.migrate"
--     local plan = migrate.plan(factory, { clusters = { "prod-api" }, region = "us-east-1" })
--     local result = migrate.apply(factory, plan, { confirm = "prod-api", journal = "plan.journal" })
--     local result = migrate.resume(factory, "plan.journal", {})
--
-- `factory(target)` returns a client for `{}` (the caller), `{profile = P}`
-- or `{credentials = provider, account = id}`, as for the audit. The
-- workflows never print, read argv or exit: progress goes to opts.on_event,
-- results are plain tables.
local errors = require "eksegress.errors"
local parallel = require "eksegress.parallel"
local document = require "eksegress.workflows.migrate.document"
local journal_mod = require "eksegress.workflows.migrate.journal"
local run_mod = require "eksegress.workflows.migrate.run"
local role = require "eksegress.credentials.role"

local M = {}

M.document = document
M.journal = journal_mod

local RESULT_SCHEMA = "eksegress/apply-result/1"

local function err_table(e)
  if type(e) == "table" then return { code = e.code or "Error", message = tostring(e.message) } end
  return { code = "Error", message = tostring(e) }
end

-- Clients per access ({profile}, {role_arn}), created once and shared.
local function client_cache(factory, base_access)
  local cache, base = {}, nil
  return function(entry)
    local access = entry.access or base_access or {}
    local id = access.role_arn and ("role:" .. access.role_arn) or ("profile:" .. tostring(access.profile))
    local c = cache[id]
    if c then return c end
    local err
    if access.role_arn then
      if not base then
        base, err = factory{ profile = access.via_profile }
        if not base then return nil, err end
      end
      c, err = factory{ account = entry.account, credentials = role.new{
        source = base.credentials, role_arn = access.role_arn,
        session_name = access.session_name or "eksegress-migrate" } }
    else
      c, err = factory{ profile = access.profile }
    end
    if not c then return nil, err end
    cache[id] = c
    return c
  end
end

local function mode_of(cluster)
  local vpc = type(cluster.resourcesVpcConfig) == "table" and cluster.resourcesVpcConfig or {}
  return vpc.controlPlaneEgressMode
end

-- Read one cluster and decide its action.
local function plan_cluster(client_for, opts, t)
  local client, cerr = client_for(t)
  if not client then return nil, cerr end
  local out, err = client:call("eks", "DescribeCluster", { name = t.name }, { region = t.region })
  if not out then return nil, err end
  local cluster = out.cluster
  if type(cluster) ~= "table" then return nil, errors.new("ParseError", "DescribeCluster returned no cluster") end
  local ids, lerr = client:collect("eks", "ListUpdates", { name = t.name }, { region = t.region })
  if not ids then return nil, lerr end
  local in_flight = {}
  for _, id in ipairs(ids) do
    local u, uerr = client:call("eks", "DescribeUpdate", { name = t.name, updateId = id }, { region = t.region })
    if not u then return nil, uerr end
    if type(u.update) == "table" and u.update.status == "InProgress" then in_flight[#in_flight + 1] = id end
  end
  local state = document.state_of(cluster, in_flight)
  local entry = {
    account = t.account, region = t.region, name = t.name, arn = cluster.arn, access = t.access,
    state = state, fingerprint = document.fingerprint(state),
  }
  entry.key = document.key(entry)
  local mode = mode_of(cluster)
  local reason
  if mode == document.TARGET_MODE then
    reason = "already CUSTOMER_ROUTED"
  elseif mode == "CUSTOMER_ISOLATED" then
    reason = "CUSTOMER_ISOLATED: undocumented mode, eksegress does not change it"
  elseif type(mode) ~= "string" then
    reason = "the API did not report the cluster's egress mode"
  elseif mode ~= "AWS_MANAGED" then
    reason = ("unknown egress mode %q"):format(mode)
  elseif cluster.status ~= "ACTIVE" and not (cluster.status == "UPDATING" and #in_flight > 0) then
    reason = "cluster is " .. tostring(cluster.status)
  end
  if opts.preflight then
    local pf, perr = opts.preflight(client, entry, cluster)
    if not pf then return nil, perr end
    entry.preflight = pf
    if not reason and (pf.blocking or 0) > 0 then
      reason = "blocking preflight findings: " .. table.concat(pf.blocking_ids or {}, ", ")
    end
  else
    entry.preflight = { blocking = 0, warnings = 0, evaluated = false }
  end
  if reason then
    entry.action, entry.reason = "skip", reason
  else
    entry.action = "migrate"
    local prepared, perr = client:prepare("eks", "UpdateClusterConfig", {
      name = t.name, resourcesVpcConfig = { controlPlaneEgressMode = document.TARGET_MODE },
      clientRequestToken = "00000000-0000-4000-8000-000000000000",
    }, { region = t.region, acknowledge = t.name })
    if not prepared then return nil, perr end
    entry.request = { method = prepared.method, path = prepared.path,
                      body = { resourcesVpcConfig = { controlPlaneEgressMode = document.TARGET_MODE } } }
  end
  return entry
end

--- Build a plan.
-- @tparam function factory client factory
-- @tparam table opts targets = {{account, region, name, access}} (or
--   clusters = {names} with region/account of the caller), preflight
--   (function(client, entry, cluster) -> {blocking, warnings, blocking_ids}),
--   concurrency, on_event, now, version
-- @treturn table the sealed plan (with `errors` for clusters that could not
--   be read), or nil, err
function M.plan(factory, opts)
  if type(factory) ~= "function" then errors.misuse("migrate.plan: factory must be a function", 2) end
  opts = opts or {}
  local emit = opts.on_event or function() end
  local client_for = client_cache(factory, opts.access)
  local targets = opts.targets
  if not targets then
    if type(opts.clusters) ~= "table" or #opts.clusters == 0 then
      errors.misuse("migrate.plan: give targets or clusters", 2)
    end
    local base, berr = client_for({ access = opts.access })
    if not base then return nil, berr end
    local who, werr = base:whoami()
    if not who then return nil, werr end
    local region = opts.region or base.region
    if not region then return nil, errors.new("NoRegion", "no region: pass --region or set AWS_REGION") end
    targets = {}
    for _, name in ipairs(opts.clusters) do
      targets[#targets + 1] = { account = who.Account, region = region, name = name, access = opts.access }
    end
  end
  local done = 0
  local entries, errs = parallel(targets, function(t)
    local e, err = plan_cluster(client_for, opts, t)
    done = done + 1
    emit{ type = "progress", phase = "plan", done = done, total = #targets }
    return e, err
  end, { concurrency = opts.concurrency or 16, runtime = opts.runtime })
  local plan = { schema = document.SCHEMA, target_mode = document.TARGET_MODE,
                 created_at = os.date("!%Y-%m-%dT%H:%M:%SZ", math.floor(opts.now or os.time())),
                 tool = { name = "eksegress", version = opts.version },
                 clusters = {}, errors = {} }
  for i, t in ipairs(targets) do
    if entries[i] then
      plan.clusters[#plan.clusters + 1] = entries[i]
    else
      local e = err_table(errs[i])
      e.account, e.region, e.name = t.account, t.region, t.name
      plan.errors[#plan.errors + 1] = e
    end
  end
  table.sort(plan.clusters, function(a, b) return a.key < b.key end)
  return document.seal(plan)
end

local function result_of(run, res, journal_path)
  local out = { schema = RESULT_SCHEMA, plan_id = run.plan.plan_id, journal = journal_path,
                stopped = res and res.stopped or run.stopped, stop_kind = res and res.stop_kind,
                clusters = {} }
  for _, key in ipairs(run.order) do
    local c = run.clusters[key]
    local e = res and res.errors and res.errors[key]
    out.clusters[#out.clusters + 1] = {
      key = key, account = c.entry.account, region = c.entry.region, name = c.entry.name,
      state = c.state, update_id = c.update_id, reason = c.reason, errors = c.errors,
      guard = c.guard or nil, error = e and err_table(e) or nil,
    }
  end
  for _, c in ipairs(run.plan.clusters) do
    if c.action == "skip" then
      out.clusters[#out.clusters + 1] = { key = c.key, account = c.account, region = c.region,
        name = c.name, state = "skipped", reason = c.reason }
    end
  end
  table.sort(out.clusters, function(a, b) return a.key < b.key end)
  out.summary = journal_mod.summary(run)
  return out
end

local function env_for(factory, run, writer, opts)
  local rt = opts.runtime
  local core = require "eksegress.core"
  local client_for = client_cache(factory, nil)
  return {
    journal = writer,
    client = function(entry)
      local c, err = client_for(entry)
      if c and not rt then rt = c.runtime end
      return c, err
    end,
    runtime = rt,
    emit = opts.on_event,
    interrupted = opts.interrupted or function() return false end,
    now = opts.clock or core.monotime,
    sleep = function(s)
      local r = rt or require("eksegress.runtime").default()
      r:sleep(s)
    end,
  }
end

--- Apply a plan.
-- @tparam function factory function(target) -> client | nil, err, as for plan
-- @tparam table plan a plan (as read from its file)
-- @tparam table opts confirm (required: the cluster name of a one-cluster
--   plan, the plan id otherwise), journal (path), canary, wave_size,
--   max_parallel, poll_seconds, in_flight_timeout, verify_attempts,
--   preflight, on_event, interrupted (function), runtime
-- @treturn table the result (schema eksegress/apply-result/1), or nil, err
--   (InvalidPlan, ConfirmationMismatch, JournalExists, JournalLocked,
--   IoError: nothing was sent)
function M.apply(factory, plan, opts)
  if type(factory) ~= "function" then errors.misuse("migrate.apply: factory must be a function", 2) end
  opts = opts or {}
  local ok, perr = document.validate(plan)
  if not ok then return nil, errors.new(perr.code, perr.message) end
  local want = document.confirmation(plan)
  if opts.confirm ~= want then
    return nil, errors.new("ConfirmationMismatch", ("--confirm must be %q (%s), not %q"):format(want,
      #document.migrations(plan) == 1 and "the cluster's name" or "the plan id", tostring(opts.confirm)),
      { usage = true })
  end
  if opts.canary then
    local found = false
    for _, c in ipairs(document.migrations(plan)) do
      if c.name == opts.canary or c.key == opts.canary then found = true end
    end
    if not found then
      return nil, errors.new("UnknownCanary", ("the canary %q is not a cluster this plan migrates"):format(opts.canary),
        { usage = true })
    end
  end
  if type(opts.journal) ~= "string" or opts.journal == "" then
    errors.misuse("migrate.apply: journal (a path) is required", 2)
  end
  local writer, jerr = journal_mod.open(opts.journal)
  if not writer then return nil, jerr end
  local existing = journal_mod.read(opts.journal)
  if existing and #existing.records > 0 then
    writer:close()
    return nil, errors.new("JournalExists", ("the journal %s already holds %d records: "
      .. "run 'eksegress resume %s' to continue it, or choose another --journal"):format(
        opts.journal, #existing.records, opts.journal), { usage = true })
  end
  local begin = { type = "begin", schema = journal_mod.SCHEMA, plan_id = plan.plan_id, plan = plan,
                  options = { canary = opts.canary, wave_size = opts.wave_size,
                              max_parallel = opts.max_parallel } }
  local aok, aerr = writer:append(begin)
  if not aok then
    writer:close()
    return nil, aerr
  end
  local run = assert(journal_mod.replay({ begin }))
  local res = run_mod.drive(run, env_for(factory, run, writer, opts), opts)
  writer:append({ type = "end", summary = journal_mod.summary(run) })
  writer:close()
  return result_of(run, res, opts.journal)
end

--- Resume a journal after a crash (kill -9 included) or an interruption.
-- @treturn table the result; `nothing_to_do = true` when the journal was
--   already finished (nothing is sent or written then), or nil, err
function M.resume(factory, path, opts)
  if type(factory) ~= "function" then errors.misuse("migrate.resume: factory must be a function", 2) end
  opts = opts or {}
  local data, rerr = journal_mod.read(path)
  if not data then return nil, rerr end
  local run, jerr = journal_mod.replay(data.records)
  if not run then return nil, errors.new(jerr.code, path .. ": " .. jerr.message) end
  local ok, perr = document.validate(run.plan)
  if not ok then return nil, errors.new("InvalidJournal", path .. ": the embedded plan: " .. perr.message) end
  if journal_mod.summary(run).open == 0 then
    local out = result_of(run, nil, path)
    out.nothing_to_do = true
    return out
  end
  -- Opening cuts a torn last line (a crash mid-write); say so in the record.
  local torn_bytes = data.torn and data.torn_bytes or nil
  local writer, werr = journal_mod.open(path, { seq = run.last_seq })
  if not writer then return nil, werr end
  -- Read again under the lock: another process may have appended meanwhile.
  data, rerr = journal_mod.read(path)
  if not data then
    writer:close()
    return nil, rerr
  end
  run, jerr = journal_mod.replay(data.records)
  if not run then
    writer:close()
    return nil, errors.new(jerr.code, path .. ": " .. jerr.message)
  end
  writer.seq = run.last_seq
  local rok, aerr = writer:append({ type = "resume", torn_bytes = torn_bytes })
  if not rok then
    writer:close()
    return nil, aerr
  end
  local res = run_mod.drive(run, env_for(factory, run, writer, opts), opts)
  writer:append({ type = "end", summary = journal_mod.summary(run) })
  writer:close()
  return result_of(run, res, path)
end

return M
