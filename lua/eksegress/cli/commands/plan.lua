--- eksegress plan: a reviewable migration plan (nothing is changed).
local lazy = require "eksegress.cli.lazy"
local canonical = require "eksegress.canonical"
local migrate = lazy(function() return require "eksegress.workflows.migrate" end)
local audit = lazy(function() return require "eksegress.workflows.audit" end)
local exit = require "eksegress.cli.exit"
local args_util = require "eksegress.cli.args"
local files = require "eksegress.cli.files"

local M = {
  name = "plan",
  summary = "Write a migration plan to CUSTOMER_ROUTED for review (changes nothing)",
  description = "Read each cluster, run the network preflight, and write a plan: per cluster the state "
    .. "it was planned against and its fingerprint, the preflight result, the action (migrate, or skip "
    .. "with the reason) and the exact request apply will send. Clusters with blocking findings are "
    .. "never planned for migration. Review it with --output table, then run eksegress apply.",
  examples = {
    "eksegress plan --region us-east-1 --cluster prod-api --out prod-api.plan.json",
    "eksegress plan --from-report audit.json --out fleet.plan.json --output table",
    "eksegress plan --all-noncompliant --regions all --out fleet.plan.json",
  },
  outputs = { "table", "json" },
}

function M.configure(c)
  c:option("--cluster", "A cluster to plan (repeatable; in --region of the caller's account)."):count("*")
  c:option("--from-report", "Plan every cluster of an audit report (eksegress audit --export audit.json).")
  c:flag("--all-noncompliant", "Audit first (with --regions), then plan every cluster not CUSTOMER_ROUTED.")
  c:option("--regions", "With --all-noncompliant: all, or a comma-separated list.")
  c:option("--out", "Where to write the plan (JSON).")
  c:option("--concurrency", "Clusters read at once (default 16).")
end

-- How apply reaches each account an audit read: the same profile or role.
-- The audit's session name and source identity describe its own sessions
-- (eksegress-audit, whoever ran the audit); apply opens its own sessions
-- (eksegress-migrate), as whoever applies the plan.
local function access_by_account(accounts)
  local access = {}
  for _, acc in ipairs(type(accounts) == "table" and accounts or {}) do
    local from = type(acc) == "table" and acc.access
    if type(from) == "table" and acc.id then
      access[acc.id] = { profile = from.profile, role_arn = from.role_arn, via_profile = from.via_profile }
    end
  end
  return access
end

local function targets_from_report(path)
  local doc, err = files.read_json(path, "audit report")
  if not doc then return nil, err end
  if doc.schema ~= audit.report.SCHEMA or type(doc.clusters) ~= "table" then
    return nil, ("%s is not an eksegress audit report (schema %s)"):format(path, audit.report.SCHEMA)
  end
  local access = access_by_account(doc.accounts)
  local targets = {}
  targets.unread = type(doc.errors) == "table" and #doc.errors or 0
  for _, c in ipairs(doc.clusters) do
    if type(c) ~= "table" or type(c.name) ~= "string" or type(c.region) ~= "string" or type(c.account) ~= "string" then
      return nil, path .. ": a cluster entry lacks account, region or name"
    end
    local why = migrate.document.check_target(c)
    if why then return nil, ("%s: cluster %s: %s"):format(path, c.name, why) end
    if c.egress_mode ~= "CUSTOMER_ROUTED" then
      targets[#targets + 1] = { account = c.account, region = c.region, name = c.name, access = access[c.account] }
    end
  end
  return targets
end

function M.run(ctx, a)
  local modes = (#a.cluster > 0 and 1 or 0) + (a.from_report and 1 or 0) + (a.all_noncompliant and 1 or 0)
  if modes ~= 1 then return args_util.usage("give exactly one of --cluster, --from-report, --all-noncompliant") end
  if not a.out then return args_util.usage("--out PLAN.json is required") end
  local concurrency, err = args_util.integer("--concurrency", a.concurrency, 1, 256)
  if err then return args_util.usage(err) end
  for _, name in ipairs(a.cluster) do
    if not name:find("^[%w][%w_%-]*$") or #name > 100 then
      return args_util.usage(("--cluster %q is not a valid EKS cluster name"):format(name))
    end
  end
  local opts = {
    version = require("eksegress").version, concurrency = concurrency,
    preflight = ctx:preflight_fn(),
    on_event = function(ev)
      if ev.type == "progress" then ctx.out:status(("plan: reading clusters %d/%d"):format(ev.done, ev.total)) end
    end,
  }
  if #a.cluster > 0 then
    opts.clusters, opts.region, opts.access = a.cluster, a.region, { profile = a.profile }
  elseif a.from_report then
    local t, terr = targets_from_report(a.from_report)
    if not t then return args_util.usage(terr) end
    if t.unread > 0 then
      ctx.out:line(("eksegress: plan: note: %s lists %d target(s) the audit could not read; "
        .. "clusters there are not in this plan"):format(a.from_report, t.unread))
    end
    t.unread = nil
    opts.targets = t
  else
    local regions, rerr = args_util.regions(a.regions)
    if rerr then return args_util.usage(rerr) end
    local doc, aerr = audit.run(ctx:factory(), { regions = regions, require = "CUSTOMER_ROUTED" })
    if not doc then return ctx:fail("plan", aerr) end
    for _, e in ipairs(doc.errors) do ctx:fail("plan", e, "audit") end
    local t = {}
    local access = access_by_account(doc.accounts)
    for _, c in ipairs(doc.clusters) do
      if not c.compliant then
        t[#t + 1] = { account = c.account, region = c.region, name = c.name, access = access[c.account] }
      end
    end
    opts.targets = t
  end
  if not opts.preflight then
    ctx.out:line("eksegress: plan: note: the network preflight is not available in this build; "
      .. "clusters are planned without it (PREFLIGHT: not run)")
  end
  if opts.targets and #opts.targets == 0 then
    ctx.out:line("eksegress: plan: no cluster to plan (every cluster is already CUSTOMER_ROUTED)")
  end
  local plan, perr = migrate.plan(ctx:factory(), opts)
  if not plan then return ctx:fail("plan", perr) end
  local ok, werr = files.write_atomic(a.out, canonical.encode(plan) .. "\n")
  if not ok then return ctx:fail("plan", werr, a.out) end
  for _, e in ipairs(plan.errors) do ctx:fail("plan", e, "cluster " .. tostring(e.name)) end
  local eok, eerr = ctx:emit("plan", plan)
  if not eok then return ctx:fail("plan", eerr) end
  local m = migrate.document.migrations(plan)
  ctx.out:line(("eksegress: plan %s written to %s: %d to migrate, %d skipped. Review it, then: "
    .. "eksegress apply %s --confirm %s"):format(plan.plan_id, a.out, #m, #plan.clusters - #m, a.out,
    migrate.document.confirmation(plan)))
  if #plan.errors > 0 then return exit.PARTIAL end
  for _, c in ipairs(plan.clusters) do
    if c.action == "skip" and type(c.preflight) == "table" and (c.preflight.blocking or 0) > 0 then
      return exit.FINDINGS
    end
  end
  return exit.OK
end

return M
