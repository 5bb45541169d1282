--- eksegress apply: carry out a plan, canary first, then waves.
local lazy = require "eksegress.cli.lazy"
local migrate = lazy(function() return require "eksegress.workflows.migrate" end)
local args_util = require "eksegress.cli.args"
local files = require "eksegress.cli.files"
local common = require "eksegress.cli.migrate_common"

local M = {
  name = "apply",
  summary = "Apply a migration plan: the canary, then waves; every step journaled",
  description = "Switch the plan's clusters to CUSTOMER_ROUTED (permanent). Every cluster is read "
    .. "again first and refused if it changed since the plan; the canary goes alone through to a "
    .. "verified CUSTOMER_ROUTED, then the rest in waves. Each step is recorded in an append-only, "
    .. "fsync'd, locked journal before it happens, so 'eksegress resume JOURNAL' finishes the job after "
    .. "any crash without ever sending a second update. The first failure stops new updates.",
  examples = {
    "eksegress apply prod-api.plan.json --confirm prod-api",
    "eksegress apply fleet.plan.json --confirm p-1a2b3c4d5e --canary dev-a --wave-size 10 --max-parallel 5",
    "eksegress apply fleet.plan.json --confirm p-1a2b3c4d5e --no-wait   # then: eksegress resume fleet.plan.journal",
  },
  outputs = { "table", "json" },
}

function M.configure(c)
  c:argument("plan", "The plan file (eksegress plan --out).")
  c:option("--confirm", "The cluster name (one-cluster plan) or the plan id: the switch is permanent.")
  c:option("--journal", "The journal file (default: PLAN.journal beside the plan).")
  c:option("--canary", "The cluster to migrate first, alone (default: the plan's first).")
  c:flag("--no-wait", "Wait for the canary only: send the other updates (journaled) and exit; "
    .. "'eksegress resume JOURNAL' then waits for them and verifies each.")
  common.configure_driving(c)
end

function M.run(ctx, a)
  if not a.confirm then
    return args_util.usage("--confirm is required: the cluster name for a one-cluster plan, the plan id otherwise")
  end
  local plan, err = files.read_json(a.plan, "plan")
  if not plan then return args_util.usage(err) end
  local opts = common.driving(a)
  opts.confirm = a.confirm
  opts.canary = a.canary
  opts.no_wait = a.no_wait
  opts.journal = a.journal or (a.plan:gsub("%.json$", "") .. ".journal")
  local res, rerr = migrate.apply(ctx:factory(), plan, common.workflow_options(ctx, "apply", opts))
  return common.finish(ctx, "apply", res, rerr)
end

return M
