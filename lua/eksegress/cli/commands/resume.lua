--- eksegress resume: finish an apply after a crash or an interruption.
local migrate = require "eksegress.workflows.migrate"
local args_util = require "eksegress.cli.args"
local common = require "eksegress.cli.migrate_common"

local M = {
  name = "resume",
  summary = "Finish an interrupted apply from its journal (never a second update)",
  description = "Read the journal an apply left (after kill -9, a lost connection or Ctrl-C), ask EKS "
    .. "what became of every update whose response was not journaled, and carry on with the plan "
    .. "embedded in the journal. A request is sent again only with its original client request token, "
    .. "so EKS returns the update it already has. A finished journal is reported and nothing is sent.",
  examples = { "eksegress resume fleet.plan.journal" },
  outputs = { "table", "json" },
}

function M.configure(c)
  c:argument("journal", "The journal file of the apply.")
  common.configure_driving(c)
end

function M.run(ctx, a)
  local opts = common.driving(a)
  opts.preflight = ctx:preflight_fn()
  opts.on_event = common.on_event(ctx, "resume")
  opts.interrupted = function() return ctx:interrupted() end
  local res, err = migrate.resume(ctx:factory(), a.journal, opts)
  if not res then
    if err.code == "InvalidJournal" or err.code == "FileNotFound" then return args_util.usage(err.message) end
    return ctx:fail("resume", err, a.journal)
  end
  if res.nothing_to_do then
    ctx.out:line(("eksegress: resume: %s is finished; nothing to do"):format(a.journal))
  end
  common.report_problems(ctx, "resume", res)
  local ok, werr = ctx:emit("apply-result", res)
  if not ok then ctx:fail("resume", werr) end
  return common.exit_code(res)
end

return M
