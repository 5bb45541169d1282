--- Driving a plan's clusters through the step machine: the canary alone
-- first, then waves; apply and resume share this loop (crash safety is a
-- property of the machine plus the journal, not of two code paths).
--
-- Stopping rules: the first failure (an update Failed, a verification
-- mismatch, a guard refusal, EKS refusing the request) stops new starts and
-- lets the updates in flight finish; Ctrl-C stops new starts, records the
-- stop and returns without waiting for updates in flight (resume picks them
-- up); a journal that cannot be written stops everything at once.
local machine = require "eksegress.workflows.migrate.machine"
local journal_mod = require "eksegress.workflows.migrate.journal"
local parallel = require "eksegress.parallel"

local M = {}

local DEFAULTS = {
  poll_seconds = 30,          -- DescribeUpdate poll interval (EKS updates take 7-10 minutes)
  in_flight_timeout = 3600,   -- how long to wait out someone else's update
  verify_attempts = 10,       -- DescribeCluster reads until ACTIVE after Successful
  wave_size = 10,
  max_parallel = 5,
}
M.DEFAULTS = DEFAULTS

local function option(opts, name)
  local v = opts[name]
  if v == nil then return DEFAULTS[name] end
  return v
end

--- Run the open clusters of `run` (from journal.replay).
-- @tparam table run the replayed journal state
-- @tparam table env {journal (writer), client(entry), runtime, emit(ev),
--   interrupted() -> bool, sleep(s), now() -> seconds}
-- @tparam table opts canary (cluster name or key), wave_size, max_parallel,
--   poll_seconds, in_flight_timeout, verify_attempts, preflight, no_wait
-- @treturn table result {clusters = {...}, stopped = reason|nil, stop_kind}
function M.drive(run, env, opts)
  opts = opts or {}
  local stop_reason, stop_kind
  local ctx = {
    plan = run.plan,
    journal = env.journal,
    client = env.client,
    emit = env.emit or function() end,
    sleep = env.sleep,
    now = env.now,
    opts = {
      poll_seconds = option(opts, "poll_seconds"),
      in_flight_timeout = option(opts, "in_flight_timeout"),
      verify_attempts = option(opts, "verify_attempts"),
      preflight = opts.preflight,
    },
  }
  function ctx.stop(reason, kind)
    if not stop_reason then
      stop_reason, stop_kind = reason, kind
      env.journal:append({ type = "stop", reason = reason, kind = kind })
      ctx.emit{ type = "stop", reason = reason, kind = kind }
    end
  end
  function ctx.stopping()
    if not stop_reason and env.interrupted() then ctx.stop("interrupted", "interrupted") end
    return stop_reason ~= nil
  end
  -- A run that an earlier failure stopped only finishes what was in flight.
  if run.stopped and run.stopped ~= "interrupted" and run.stop_kind ~= "interrupted" then
    stop_reason, stop_kind = run.stopped, "earlier"
  end

  local open, in_flight = {}, {}
  for _, key in ipairs(run.order) do
    local c = run.clusters[key]
    if not journal_mod.TERMINAL[c.state] then
      if c.state == "intent" or c.state == "sent" then in_flight[#in_flight + 1] = c else open[#open + 1] = c end
    end
  end

  local errs = {}
  local function go(c)
    local ok, err = machine.run(ctx, c)
    if not ok and err and err ~= "stopped" then errs[c.key] = err end
    return true
  end

  local concurrency = option(opts, "max_parallel")
  -- Clusters a crash left in flight come first: they are already changing.
  parallel(in_flight, go, { concurrency = concurrency, runtime = env.runtime })

  -- The canary: alone, through to a verified CUSTOMER_ROUTED. Once any
  -- cluster of the run is done (a resumed run), the canary phase is over.
  local any_done = false
  for _, key in ipairs(run.order) do
    if run.clusters[key].state == "done" then any_done = true end
  end
  if not any_done and #open > 0 and not ctx.stopping() then
    local wanted = opts.canary or run.options.canary
    local at = 1
    if wanted then
      at = nil
      for idx, c in ipairs(open) do
        if c.key == wanted or c.entry.name == wanted then at = idx break end
      end
    end
    if at then
      local canary = table.remove(open, at)
      ctx.emit{ type = "canary", key = canary.key, name = canary.entry.name }
      go(canary)
      if canary.state ~= "done" and not ctx.stopping() then
        ctx.stop("the canary " .. canary.key .. " did not finish (" .. canary.state .. ")", "canary")
      end
    end
  end

  -- Waves of wave_size, at most max_parallel updates in flight.
  local wave_size = option(opts, "wave_size")
  local i = 1
  while i <= #open and not ctx.stopping() do
    local wave = {}
    for j = i, math.min(i + wave_size - 1, #open) do wave[#wave + 1] = open[j] end
    ctx.emit{ type = "wave", first = i, size = #wave, total = #open }
    parallel(wave, function(c)
      if ctx.stopping() and c.state == "planned" then return true end
      return go(c)
    end, { concurrency = concurrency, runtime = env.runtime })
    i = i + wave_size
  end

  return { stopped = stop_reason, stop_kind = stop_kind, errors = errs }
end

return M
