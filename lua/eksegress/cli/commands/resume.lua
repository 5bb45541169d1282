--- eksegress resume: finish an apply after a crash or an interruption.
local lazy = require "eksegress.cli.lazy"
local migrate = lazy(function() return require "eksegress.workflows.migrate" end)
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
  local res, err = migrate.resume(ctx:factory(), a.journal, common.workflow_options(ctx, "resume", opts))
  if res and res.nothing_to_do then
    ctx.out:line(("eksegress: resume: %s: nothing to do (%s); nothing was sent"):format(a.journal,
      res.stopped and ("stopped: " .. res.stopped) or "every cluster has ended"))
  end
  return common.finish(ctx, "resume", res, err)
end

return M
