--- What apply and resume share on the command line: their options, the
-- progress lines, and the exit code of a result.
local exit = require "eksegress.cli.exit"
local args_util = require "eksegress.cli.args"

local M = {}

function M.configure_driving(c)
  c:option("--wave-size", "Clusters per wave after the canary (default 10).")
  c:option("--max-parallel", "Updates in flight at once (default 5).")
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
  waiting = "waiting for an update in progress",
  intent = "journaled; sending the update",
  sent = "update started",
  adopted = "update found in EKS",
  resending = "no update found in EKS; sending again with the same token",
  status = "update",
  done = "done: CUSTOMER_ROUTED and ACTIVE",
}

--- The event callback: a line per cluster state change (terminal only)
-- and a live status.
function M.on_event(ctx, verb)
  local counts = { done = 0 }
  return function(ev)
    if ev.type == "cluster" then
      local text = WORDS[ev.what] or ev.what
      if ev.what == "status" then text = "update " .. tostring(ev.status) end
      if ev.update_id and ev.what ~= "status" then text = text .. " (" .. ev.update_id .. ")" end
      if ev.changes then text = text .. ": " .. table.concat(ev.changes, "; ") end
      ctx.out:progress_line(("%s: %s: %s"):format(verb, ev.key, text))
      if ev.what == "done" then counts.done = counts.done + 1 end
      ctx.out:status(("%s: %d done"):format(verb, counts.done))
    elseif ev.type == "canary" then
      ctx.out:progress_line(("%s: canary %s first"):format(verb, ev.key))
    elseif ev.type == "wave" then
      ctx.out:progress_line(("%s: wave of %d (%d-%d of %d)"):format(verb, ev.size, ev.first,
        ev.first + ev.size - 1, ev.total))
    elseif ev.type == "stop" then
      ctx.out:line(("eksegress: %s: stopping new updates: %s"):format(verb, ev.reason))
    end
  end
end

--- The exit code of an apply/resume result.
function M.exit_code(res)
  if res.stop_kind == "interrupted" then return exit.INTERRUPTED end
  local failed, guard, open = false, false, false
  for _, c in ipairs(res.clusters) do
    if c.state == "failed" then
      if c.guard then guard = true else failed = true end
    elseif c.state ~= "done" and c.state ~= "skipped" then
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
    if c.state ~= "done" and c.state ~= "skipped" then
      local why = c.reason or (c.error and (c.error.code .. ": " .. c.error.message)) or ("left " .. c.state)
      ctx.out:line(("eksegress: %s: %s: %s"):format(verb, c.key, why))
    end
  end
end

return M
