--- What apply and resume share on the command line: their options, the
-- progress lines, and the exit code of a result.
local exit = require "eksegress.cli.exit"
local args_util = require "eksegress.cli.args"

local M = {}

function M.configure_driving(c)
  c:option("--wave-size", "Clusters per wave after the canary (default 10; resume: what apply was given).")
  c:option("--max-parallel", "Updates in flight at once (default 5; resume: what apply was given).")
  c:option("--poll-interval", "Seconds between DescribeUpdate polls (default 30).")
  c:option("--in-flight-timeout", "Seconds to wait out an update already in progress (default 3600).")
end

--- The driving options from the flags, or a usage error.
function M.driving(a)
  local o, err = {}
  o.wave_size, err = args_util.integer("--wave-size", a.wave_size, 1, 10000)
  if err then return args_util.usage(err) end
  o.max_parallel, err = args_util.integer("--max-parallel", a.max_parallel, 1, 100)
  if err then return args_util.usage(err) end
  o.poll_seconds, err = args_util.seconds("--poll-interval", a.poll_interval, 0, 3600)
  if err then return args_util.usage(err) end
  o.in_flight_timeout, err = args_util.integer("--in-flight-timeout", a.in_flight_timeout, 0, 86400)
  if err then return args_util.usage(err) end
  return o
end

local WORDS = {
  checked = "checked: unchanged since the plan",
  stale = "refused: the plan is stale",
  gone = "refused: the cluster no longer exists",
  busy = "refused: an update stayed in progress",
  blocked = "refused: new blocking preflight findings",
  waiting = "waiting for an update in progress",
  intent = "journaled; sending the update",
  sent = "update started",
  adopted = "update found in EKS",
  resending = "no update found in EKS; sending again with the same token",
  retrying = "will try again",
  failed = "failed",
  done = "done: CUSTOMER_ROUTED and ACTIVE",
}

--- The event callback: a line on stderr per cluster state change (so a log
-- of the run survives in CI), and a live status line on a terminal.
function M.on_event(ctx, verb)
  local done = 0
  return function(ev)
    if ev.type == "cluster" then
      local text = WORDS[ev.what] or ev.what
      if ev.what == "status" then text = "update " .. tostring(ev.status) end
      if ev.update_id and ev.what ~= "status" then text = text .. " (" .. ev.update_id .. ")" end
      if ev.note then text = text .. ": " .. ev.note end
      if ev.reason then text = text .. ": " .. ev.reason end
      if ev.error then text = text .. " (" .. tostring(ev.error) .. ")" end
      if ev.changes then text = text .. ": " .. table.concat(ev.changes, "; ") end
      ctx.out:line(("eksegress: %s: %s: %s"):format(verb, ev.key, text))
      if ev.what == "done" then done = done + 1 end
      ctx.out:status(("%s: %d done"):format(verb, done))
    elseif ev.type == "canary" then
      ctx.out:line(("eksegress: %s: canary %s first, alone"):format(verb, ev.key))
    elseif ev.type == "wave" then
      ctx.out:line(("eksegress: %s: wave of %d (%d-%d of %d)"):format(verb, ev.size, ev.first,
        ev.first + ev.size - 1, ev.total))
    elseif ev.type == "stop" then
      ctx.out:line(("eksegress: %s: stopping new updates: %s"):format(verb, ev.reason))
    end
  end
end

--- The workflow options apply and resume share: the preflight, progress
-- and Ctrl-C.
function M.workflow_options(ctx, verb, opts)
  opts.preflight = ctx:preflight_fn()
  opts.on_event = M.on_event(ctx, verb)
  opts.interrupted = function() return ctx:interrupted() end
  return opts
end

--- The exit code of an apply/resume result: 130 interrupted, 4 a cluster
-- failed, 3 the guard refused, 2 clusters left open (refused as stale, or
-- not finished: resume), 0 every planned cluster done (or sent, with
-- --no-wait).
function M.exit_code(res)
  if res.stop_kind == "interrupted" then return exit.INTERRUPTED end
  local failed, guard, open = false, false, false
  for _, c in ipairs(res.clusters) do
    if c.state == "failed" then
      if c.guard then guard = true else failed = true end
    elseif not (c.state == "done" or c.state == "skipped" or (res.no_wait and c.state == "sent")) then
      open = true
    end
  end
  if failed then return exit.UPDATE_FAILED end
  if guard then return exit.REFUSED end
  if open then return exit.PARTIAL end
  return exit.OK
end

--- One line per cluster that did not end done.
function M.report_problems(ctx, verb, res)
  for _, c in ipairs(res.clusters) do
    if c.state ~= "done" and c.state ~= "skipped" and not (res.no_wait and c.state == "sent") then
      local why = c.reason or (c.error and (c.error.code .. ": " .. c.error.message)) or ("left " .. c.state)
      ctx.out:line(("eksegress: %s: %s: %s"):format(verb, c.key, why))
    end
  end
end

--- The end of apply and resume: an error that stopped them before anything
-- was sent (exit 64: a bad plan, journal or argument, or a journal that
-- cannot be created, written or locked), or the result: problems, the
-- document, the exit code.
function M.finish(ctx, verb, res, err)
  if not res then
    if err.usage then return args_util.usage(err.message) end
    if err.journal then
      err.message = tostring(err.message) .. "; nothing was sent"
      ctx:fail(verb, err, "journal " .. tostring(err.path))
      return exit.USAGE
    end
    return ctx:fail(verb, err)
  end
  M.report_problems(ctx, verb, res)
  if res.no_wait then
    ctx.out:line(("eksegress: %s: updates sent without waiting; run 'eksegress resume %s' to wait for "
      .. "them and verify each"):format(verb, res.journal))
  end
  local ok, werr = ctx:emit("apply-result", res)
  if not ok then ctx:fail(verb, werr) end
  return M.exit_code(res)
end

return M
