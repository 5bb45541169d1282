--- Driving a plan's clusters through the step machine: the canary alone
-- first, then the clusters a crash left in flight, then waves; apply and
-- resume share this loop (crash safety is a property of the machine plus the
-- journal, not of two code paths).
--
-- Stopping rules: the first failure (an update Failed, a verification
-- mismatch, a guard refusal, EKS refusing the request) stops new starts and
-- lets the updates in flight finish, and holds for every later resume;
-- Ctrl-C stops new starts, records the stop and returns without waiting for
-- updates in flight (resume picks them up); a journal that cannot be written
-- stops everything at once. The canary must end done before any other
-- cluster starts, in this run or a resumed one.
local machine = require "eksegress.workflows.migrate.machine"
local journal_mod = require "eksegress.workflows.migrate.journal"
local parallel = require "eksegress.parallel"

local M = {}

local DEFAULTS = {
  poll_seconds = 30,          -- DescribeUpdate poll interval (EKS updates take 7-10 minutes)
  in_flight_timeout = 3600,   -- how long to wait out someone else's update
  verify_attempts = 10,       -- DescribeCluster reads until ACTIVE after Successful
  attempts = 5,               -- passes over one cluster when errors may pass
  wave_size = 10,
  max_parallel = 5,
}
M.DEFAULTS = DEFAULTS

-- Ctrl-C is noticed within this many seconds while a step sleeps.
local SLEEP_SLICE = 0.2

local function option(opts, name)
  local v = opts[name]
  if v == nil then return DEFAULTS[name] end
  return v
end

-- The pacing of a run: the flag given now, else what the apply that began
-- the journal was given (a resume keeps the operator's waves), else the
-- default.
local function pacing(opts, run, name)
  if opts[name] ~= nil then return opts[name] end
  local v = math.tointeger(run.options[name])
  if v and v >= 1 then return v end
  return DEFAULTS[name]
end

--- The canary's key: the one the run was started with (a name or a key),
-- else the first cluster of the plan the run migrates.
function M.canary_key(run, wanted)
  if wanted then
    for _, key in ipairs(run.order) do
      if key == wanted or run.clusters[key].entry.name == wanted then return key end
    end
    return nil
  end
  return run.order[1]
end

--- Whether driving `run` could do anything: a cluster that is in flight, or
-- one that may still start (no lasting stop, and a canary that did not end
-- refused or failed).
function M.pending(run)
  local canary = run.clusters[M.canary_key(run, run.options.canary) or ""]
  local blocked = run.stopped ~= nil or (canary ~= nil and canary.state ~= "done"
    and journal_mod.TERMINAL[canary.state])
  for _, key in ipairs(run.order) do
    local st = run.clusters[key].state
    if st == "intent" or st == "sent" then return true end
    if not blocked and not journal_mod.TERMINAL[st] then return true end
  end
  return false
end

--- Run the open clusters of `run` (from journal.replay).
-- @tparam table run the replayed journal state
-- @tparam table env {journal (writer), client(entry), runtime, emit(ev),
--   interrupted() -> bool, sleep(s), now() -> seconds}
-- @tparam table opts wave_size, max_parallel, poll_seconds,
--   in_flight_timeout, verify_attempts, attempts, preflight, no_wait (the
--   canary is still waited for; the others end at "sent")
-- @treturn table {stopped = reason|nil, stop_kind, errors = {key -> err},
--   canary = key|nil}
function M.drive(run, env, opts)
  opts = opts or {}
  local stop_reason, stop_kind
  local interrupted = env.interrupted or function() return false end
  local ctx = {
    plan = run.plan,
    journal = env.journal,
    client = env.client,
    emit = env.emit or function() end,
    now = env.now,
    interrupted = interrupted,
    opts = {
      poll_seconds = option(opts, "poll_seconds"),
      in_flight_timeout = option(opts, "in_flight_timeout"),
      verify_attempts = option(opts, "verify_attempts"),
      attempts = option(opts, "attempts"),
      preflight = opts.preflight,
      no_wait = opts.no_wait,
    },
  }
  -- Sleep in slices, so Ctrl-C is noticed while waiting on a 30 s poll.
  function ctx.sleep(seconds)
    local deadline = env.now() + seconds
    while not interrupted() do
      local left = deadline - env.now()
      if left <= 0 then return end
      env.sleep(math.min(left, SLEEP_SLICE))
    end
  end
  function ctx.stop(reason, kind)
    if not stop_reason then
      stop_reason, stop_kind = reason, kind
      env.journal:append({ type = "stop", reason = reason, kind = kind })
      ctx.emit{ type = "stop", reason = reason, kind = kind }
    end
  end
  function ctx.stop_kind() return stop_kind end
  function ctx.stopping()
    if not stop_reason and interrupted() then ctx.stop("interrupted", "interrupted") end
    return stop_reason ~= nil
  end
  -- A run an earlier failure stopped only finishes what was in flight.
  if run.stopped then stop_reason, stop_kind = run.stopped, "earlier" end

  local errs = {}
  local function go(c)
    local ok, err = machine.run(ctx, c)
    if not ok and err and err ~= machine.STOPPED then errs[c.key] = err end
    return true
  end
  local concurrency = pacing(opts, run, "max_parallel")
  local function each(list)
    -- A raised error is a bug; keep it in the result instead of losing it.
    local _, raised = parallel(list, go, { concurrency = concurrency, runtime = env.runtime })
    for i, e in pairs(raised) do errs[list[i].key] = e end
  end

  -- The canary: alone, through to a verified CUSTOMER_ROUTED.
  local canary_key = M.canary_key(run, run.options.canary)
  local canary = canary_key and run.clusters[canary_key]
  if canary then
    canary.canary = true
    if canary.state ~= "done" then
      if not journal_mod.TERMINAL[canary.state] then
        ctx.emit{ type = "canary", key = canary.key, name = canary.entry.name }
        go(canary)
      end
      if canary.state ~= "done" then
        if not ctx.stopping() then
          ctx.stop(("the canary %s did not finish (%s)"):format(canary.key, canary.state), "canary")
        end
        return { stopped = stop_reason, stop_kind = stop_kind, errors = errs, canary = canary_key }
      end
    end
  end

  -- Clusters a crash left in flight: they are already changing.
  local in_flight, open = {}, {}
  for _, key in ipairs(run.order) do
    local c = run.clusters[key]
    if c ~= canary and not journal_mod.TERMINAL[c.state] then
      if c.state == "intent" or c.state == "sent" then in_flight[#in_flight + 1] = c else open[#open + 1] = c end
    end
  end
  each(in_flight)

  -- Waves of wave_size, at most max_parallel updates in flight.
  local wave_size = pacing(opts, run, "wave_size")
  local i = 1
  while i <= #open and not ctx.stopping() do
    local wave = {}
    for j = i, math.min(i + wave_size - 1, #open) do wave[#wave + 1] = open[j] end
    ctx.emit{ type = "wave", first = i, size = #wave, total = #open }
    each(wave)
    i = i + wave_size
  end
  -- Ctrl-C during the last wave still leaves its mark in the journal.
  ctx.stopping()

  return { stopped = stop_reason, stop_kind = stop_kind, errors = errs, canary = canary_key }
end

return M
