--- eksegress audit: every cluster's egress mode across accounts and regions.
local lazy = require "eksegress.cli.lazy"
local audit = lazy(function() return require "eksegress.workflows.audit" end)
local exit = require "eksegress.cli.exit"
local args_util = require "eksegress.cli.args"

local M = {
  name = "audit",
  summary = "Inventory every cluster's egress mode across accounts and regions",
  description = "List every EKS cluster of the caller's account (or of several profiles, or of every "
    .. "account of the organization through a role) in the given regions, with its egress mode, and "
    .. "check it against a required mode. Clusters are read concurrently over one connection pool; "
    .. "every cluster appears exactly once, or its account/region is listed under errors. Exit 0: every "
    .. "target read and every cluster compliant; 1: a cluster is not compliant or has a blocking preflight "
    .. "finding; 2: a target could not be read (2 wins over 1: a report with gaps cannot say the fleet "
    .. "complies); 130: interrupted (the report lists the targets not read). Reads that fail with throttling, "
    .. "a 5xx or a lost connection are read again in up to --retry-passes later passes.",
  examples = {
    "eksegress audit --regions all",
    "eksegress audit --regions us-east-1,eu-west-1 --require CUSTOMER_ROUTED --output table",
    "eksegress audit --profile prod --profile dev --regions all --export audit.html --export audit.sarif",
    "eksegress audit --organization --role-name OrganizationAccountAccessRole --regions all --require CUSTOMER_ROUTED",
    "eksegress audit --organization --role-name EksAuditRole --exclude-accounts 123456789012 --no-source-identity",
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
  c:option("--source-identity", "With --organization: the source identity of each AssumeRole (default: "
    .. "the caller's user or session name). The member roles' trust policies must allow sts:SetSourceIdentity.")
  c:flag("--no-source-identity", "With --organization: assume the roles without a source identity (for "
    .. "trust policies that do not allow sts:SetSourceIdentity).")
  c:option("--concurrency", "Requests in flight at once (default 32).")
  c:option("--retry-passes", "Passes after the first (0-10, default 2; 0: none) that read again the regions "
    .. "and clusters whose reads failed with throttling, a 5xx or a lost connection, each after a pause and "
    .. "with a fresh retry quota. Denials and unknown or disabled regions are not read again. Each error in "
    .. "the report says how many passes tried its target.")
  c:option("--retry-pause", "Seconds to wait before the second pass (0-60, default 2); each later pass waits "
    .. "twice as long (at most 20 s, or this value when larger), with jitter. Ctrl-C during a pause stops at once.")
  c:flag("--preflight", "Also run the network preflight on every cluster (its blocking findings and warnings "
    .. "per cluster; exit 1 when any cluster has a blocking finding). A VPC's reads are shared by its clusters.")
end

-- What to do about an account whose role could not be assumed: the generic
-- AccessDenied hint ("grant the permission") misleads when the role is
-- missing or does not trust the caller.
local function with_hint(e, org)
  if not (org and e.target == "account" and (e.code == "AccessDenied" or e.code == "AccessDeniedException")) then
    return e
  end
  local copy = {}
  for k, v in pairs(e) do copy[k] = v end
  copy.hint = ("check that role %s exists in account %s and trusts the caller%s"):format(org.role_name,
    tostring(e.account), org.source_identity ~= false
      and ", and that its trust policy allows sts:SetSourceIdentity (or pass --no-source-identity)" or "")
  return copy
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
  opts.retry_passes, err = args_util.integer("--retry-passes", a.retry_passes, 0, audit.MAX_RETRY_PASSES)
  if err then return args_util.usage(err) end
  opts.retry_pause, err = args_util.seconds("--retry-pause", a.retry_pause, 0, audit.MAX_RETRY_PAUSE)
  if err then return args_util.usage(err) end
  if a.organization then
    if not a.role_name then return args_util.usage("--organization needs --role-name") end
    if not a.role_name:find("^[%w+=,.@_%-]+$") or #a.role_name > 64 then
      return args_util.usage(("--role-name %q is not an IAM role name"):format(a.role_name))
    end
    if #a.profiles > 1 then return args_util.usage("--organization reads accounts through one --profile") end
    local accounts, exclude
    accounts, err = args_util.account_list("--accounts", a.accounts)
    if err then return args_util.usage(err) end
    exclude, err = args_util.account_list("--exclude-accounts", a.exclude_accounts)
    if err then return args_util.usage(err) end
    local si = a.source_identity
    if si and a.no_source_identity then
      return args_util.usage("give --source-identity or --no-source-identity, not both")
    end
    if si and (#si < 2 or #si > 64 or not si:find("^[%w+=,.@_%-]+$")) then
      return args_util.usage(("--source-identity %q must be 2-64 characters of letters, digits and +=,.@_-")
        :format(si))
    end
    if a.no_source_identity then si = false end
    opts.organization = { role_name = a.role_name, accounts = accounts, exclude_accounts = exclude,
                          source_identity = si }
  elseif a.role_name or a.accounts or a.exclude_accounts or a.source_identity or a.no_source_identity then
    return args_util.usage("--role-name, --accounts, --exclude-accounts and --source-identity go with --organization")
  elseif #a.profiles > 1 then
    opts.profiles = a.profiles
  end
  opts.interrupted = function() return ctx:interrupted() end
  opts.on_event = function(ev)
    if ev.type == "progress" then
      ctx.out:status(("audit: %s%s %d/%d%s"):format(ev.pass > 1 and ("pass " .. ev.pass .. ": ") or "",
        PHASES[ev.phase] or ev.phase, ev.done, ev.total, ev.failed > 0 and (" (" .. ev.failed .. " failed)") or ""))
    elseif ev.type == "pass" then
      ctx.out:status(("audit: pass %d of at most %d in %.1f s: reading again %d account(s), %d region(s), "
        .. "%d cluster(s)"):format(ev.pass, ev.passes, ev.pause, ev.accounts, ev.regions, ev.clusters))
    end
  end

  local doc, rerr = audit.run(ctx:factory(), opts)
  if not doc then return ctx:fail("audit", rerr) end
  for _, e in ipairs(doc.errors) do
    local where = e.cluster and ("cluster " .. e.cluster .. " in " .. e.account .. "/" .. e.region)
      or e.region and ("account " .. e.account .. " region " .. e.region)
      or e.account and ("account " .. e.account) or e.profile and ("profile " .. e.profile)
    if where and (e.passes or 0) > 1 then where = where .. (" (after %d passes)"):format(e.passes) end
    ctx:fail("audit", with_hint(e, opts.organization), where)
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
