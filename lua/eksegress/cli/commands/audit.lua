--- eksegress audit: every cluster's egress mode across accounts and regions.
local audit = require "eksegress.workflows.audit"
local exit = require "eksegress.cli.exit"
local args_util = require "eksegress.cli.args"

local M = {
  name = "audit",
  summary = "Inventory every cluster's egress mode across accounts and regions",
  description = "List every EKS cluster of the caller's account (or of several profiles, or of every "
    .. "account of the organization through a role) in the given regions, with its egress mode, and "
    .. "check it against a required mode. Clusters are read concurrently over one connection pool; "
    .. "every cluster appears exactly once, or its account/region is listed under errors.",
  examples = {
    "eksegress audit --regions all",
    "eksegress audit --regions us-east-1,eu-west-1 --require CUSTOMER_ROUTED --output table",
    "eksegress audit --profile prod --profile dev --regions all --export audit.html --export audit.sarif",
    "eksegress audit --organization --role-name OrganizationAccountAccessRole --regions all --require CUSTOMER_ROUTED",
    "eksegress audit --regions all --preflight --export fleet-preflight.sarif",
  },
  outputs = { "table", "json", "csv", "markdown" },
  exports = { ".json", ".csv", ".md", ".html", ".junit.xml", ".sarif" },
  export_formats = { "json", "csv", "markdown", "html", "junit", "sarif" },
  many_profiles = true,
}

function M.configure(c)
  c:option("--regions", "Regions to read: all (the account's enabled regions) or a comma-separated list. "
    .. "Default: the configured region.")
  c:option("--require", "The egress mode every cluster must have (exit 1 otherwise).")
    :choices{ "CUSTOMER_ROUTED", "AWS_MANAGED" }
  c:flag("--organization", "Audit every active account of the organization (run from the management "
    .. "account or a delegated administrator).")
  c:option("--role-name", "With --organization: the role to assume in each member account.")
  c:option("--accounts", "With --organization: only these account ids (comma-separated).")
  c:option("--exclude-accounts", "With --organization: skip these account ids (comma-separated).")
  c:option("--concurrency", "Requests in flight at once (default 32).")
  c:flag("--preflight", "Also run the network preflight on every cluster (its blocking findings and warnings "
    .. "per cluster; exit 1 when any cluster has a blocking finding). A VPC's reads are shared by its clusters.")
end

local PHASES = { accounts = "accounts", regions = "regions", list = "listing clusters",
                 describe = "describing clusters", preflight = "preflight" }

function M.run(ctx, a)
  local opts = { require = a.require, version = require("eksegress").version, preflight = a.preflight or nil }
  local err
  opts.regions, err = args_util.regions(a.regions)
  if err then return args_util.usage(err) end
  opts.concurrency, err = args_util.integer("--concurrency", a.concurrency, 1, 1024)
  if err then return args_util.usage(err) end
  if a.organization then
    if not a.role_name then return args_util.usage("--organization needs --role-name") end
    if #a.profiles > 1 then return args_util.usage("--organization reads accounts through one --profile") end
    local accounts, exclude
    accounts, err = args_util.account_list("--accounts", a.accounts)
    if err then return args_util.usage(err) end
    exclude, err = args_util.account_list("--exclude-accounts", a.exclude_accounts)
    if err then return args_util.usage(err) end
    opts.organization = { role_name = a.role_name, accounts = accounts, exclude_accounts = exclude }
  elseif a.role_name or a.accounts or a.exclude_accounts then
    return args_util.usage("--role-name, --accounts and --exclude-accounts go with --organization")
  elseif #a.profiles > 1 then
    opts.profiles = a.profiles
  end
  opts.on_event = function(ev)
    if ev.type == "progress" then
      ctx.out:status(("audit: %s %d/%d%s"):format(PHASES[ev.phase] or ev.phase, ev.done, ev.total,
        ev.failed > 0 and (" (" .. ev.failed .. " failed)") or ""))
    end
  end

  local doc, rerr = audit.run(ctx:factory(), opts)
  if not doc then return ctx:fail("audit", rerr) end
  for _, e in ipairs(doc.errors) do
    local where = e.cluster and ("cluster " .. e.cluster .. " in " .. e.account .. "/" .. e.region)
      or e.region and ("account " .. e.account .. " region " .. e.region)
      or e.account and ("account " .. e.account) or e.profile and ("profile " .. e.profile)
    ctx:fail("audit", e, where)
  end
  local ok, werr = ctx:emit("audit", doc)
  if not ok then
    ctx:fail("audit", werr)
    return exit.PARTIAL
  end
  if #doc.errors > 0 then return exit.PARTIAL end
  if (doc.summary.noncompliant or 0) > 0 or (doc.summary.blocking or 0) > 0 then return exit.FINDINGS end
  return exit.OK
end

return M
