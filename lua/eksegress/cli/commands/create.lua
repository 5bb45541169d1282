--- eksegress create: a new cluster with a chosen control plane egress mode,
-- after the network preflight of its subnets.
local lazy = require "eksegress.cli.lazy"
local create = lazy(function() return require "eksegress.workflows.create" end)
local preflight = lazy(function() return require "eksegress.workflows.preflight" end)
local checks = lazy(function() return require "eksegress.workflows.preflight.checks" end)
local errors = require "eksegress.errors"
local exit = require "eksegress.cli.exit"
local args_util = require "eksegress.cli.args"

local M = {
  name = "create",
  summary = "Create a cluster with a chosen egress mode, after a network preflight of its subnets",
  description = "Check the target subnets, security groups and role with the preflight's network checks "
    .. "(blocking findings stop here, exit 1, unless --accept-network-risk), then create the cluster with a "
    .. "client request token derived from these options, wait until it is ACTIVE (unless --no-wait) and "
    .. "verify the egress mode EKS reports. Running the same command again (after a crash, a lost "
    .. "connection, Ctrl-C) never creates a second cluster: the existing one is found and waited for, or "
    .. "EKS returns the same cluster for the same token. A name taken by a cluster with other settings is "
    .. "reported and left alone (exit 2). The egress mode defaults to AWS_MANAGED because CUSTOMER_ROUTED "
    .. "is permanent for the life of the cluster: it must be asked for with --egress-mode CUSTOMER_ROUTED "
    .. "and confirmed with --confirm <name>; without the confirmation the guard refuses before anything "
    .. "is sent (exit 3). A cluster that ends FAILED is exit 4.",
  examples = {
    "eksegress create --name prod --role-arn arn:aws:iam::111122223333:role/eksClusterRole "
      .. "--subnets subnet-0a1b,subnet-0c2d --security-groups sg-0e3f",
    "eksegress create --name prod --role-arn arn:aws:iam::111122223333:role/eksClusterRole "
      .. "--subnets subnet-0a1b,subnet-0c2d --egress-mode CUSTOMER_ROUTED --confirm prod",
    "eksegress create --name lab --role-arn arn:aws:iam::111122223333:role/eksClusterRole "
      .. "--subnets subnet-0a1b,subnet-0c2d --no-wait --output json",
  },
  outputs = { "table", "json" },
  exports = { ".json", ".md", ".html", ".junit.xml", ".sarif" },
  export_formats = { "json", "markdown", "html", "junit", "sarif" },
}

function M.configure(c)
  c:option("--name", "The new cluster's name (required).")
  c:option("--role-arn", "The cluster IAM role's ARN (required).")
  c:option("--subnets", "Subnet ids, comma-separated, in two or more Availability Zones (required).")
  c:option("--security-groups", "Additional security group ids for the control plane ENIs, comma-separated.")
  c:option("--kubernetes-version", "Kubernetes version, e.g. 1.32 (default: EKS's default).")
  c:option("--egress-mode", "Control plane egress: AWS_MANAGED (default) or CUSTOMER_ROUTED (permanent; needs "
    .. "--confirm NAME).")
    :choices{ "AWS_MANAGED", "CUSTOMER_ROUTED" }
  c:option("--confirm", "The cluster's name again, confirming the permanent CUSTOMER_ROUTED mode.")
  c:option("--ip-family", "ipv4 (default) or ipv6."):choices{ "ipv4", "ipv6" }
  c:flag("--no-wait", "Return once EKS accepted the create (status CREATING), without waiting for ACTIVE.")
  c:flag("--accept-network-risk", "Create even when the preflight finds blocking problems.")
  c:option("--poll-interval", "Seconds between DescribeCluster polls while waiting (default 30).")
  c:option("--max-polls", "Polls before giving up waiting (default 40).")
end

local function ids(flag, s, prefix, min)
  if s == nil then
    if min > 0 then return args_util.usage(flag .. " is required") end
    return {}
  end
  local list, err = args_util.list(flag, s)
  if not list then return args_util.usage(err) end
  for _, id in ipairs(list) do
    if not id:find("^" .. prefix .. "%-%w+$") then
      return args_util.usage(("%s: %q is not a %s id"):format(flag, id, prefix))
    end
  end
  if #list < min then return args_util.usage(("%s needs at least %d ids"):format(flag, min)) end
  return list
end

-- The command line -> create.run options, or a usage error (exit 64).
local function options(a)
  if not a.name then return args_util.usage("--name is required") end
  if not preflight.valid_cluster_name(a.name) then
    return args_util.usage(("--name: %q is not an EKS cluster name (letters, digits, - and _, at most 100)")
      :format(a.name))
  end
  if not a.role_arn then return args_util.usage("--role-arn is required") end
  if not a.role_arn:find("^arn:[%w%-]+:iam::%d%d%d%d%d%d%d%d%d%d%d%d:role/[%w+=,.@_%-/]+$") then
    return args_util.usage(("--role-arn: %q is not an IAM role ARN"):format(a.role_arn))
  end
  if a.kubernetes_version and not a.kubernetes_version:find("^%d+%.%d+$") then
    return args_util.usage(("--kubernetes-version: %q is not a version such as 1.32"):format(a.kubernetes_version))
  end
  if a.confirm and a.egress_mode ~= "CUSTOMER_ROUTED" then
    return args_util.usage("--confirm goes with --egress-mode CUSTOMER_ROUTED (AWS_MANAGED needs no confirmation)")
  end
  local o = {
    name = a.name, role_arn = a.role_arn, kubernetes_version = a.kubernetes_version,
    subnet_ids = ids("--subnets", a.subnets, "subnet", 2),
    security_group_ids = ids("--security-groups", a.security_groups, "sg", 0),
    egress_mode = a.egress_mode or "AWS_MANAGED", acknowledge = a.confirm, ip_family = a.ip_family,
    wait = not a.no_wait, accept_network_risk = a.accept_network_risk or nil,
  }
  local err
  o.poll_seconds, err = args_util.seconds("--poll-interval", a.poll_interval, 0, 3600)
  if err then return args_util.usage(err) end
  o.max_attempts, err = args_util.integer("--max-polls", a.max_polls, 1, 100000)
  if err then return args_util.usage(err) end
  return o
end

local WORDS = {
  preflight = "checking the network of the target subnets",
  existing = "found an existing cluster with these settings",
  create = "sending CreateCluster",
  created = "EKS accepted the create",
}

local function on_event(ctx)
  return function(ev)
    if ev.type == "wait" then
      ctx.out:status(("create: %s: waiting for ACTIVE: %s (check %d/%d)"):format(ev.name, tostring(ev.status),
        ev.attempt, ev.attempts))
    elseif WORDS[ev.type] then
      local text = WORDS[ev.type]
      if ev.status then text = text .. " (" .. ev.status .. ")" end
      ctx.out:progress_line(("create: %s: %s"):format(ev.name, text))
    end
  end
end

-- The document printed and exported: a preflight document whose one entry is
-- the new cluster, with what create did under `create`.
local function document(client, o, res, err)
  local pf = res and res.preflight or { results = {}, blocking = 0, warnings = 0 }
  local account = res and res.account
  if not account then
    local me = client:whoami()
    account = me and me.Account
  end
  local entry = {
    account = account, region = res and res.region or client.region, name = o.name, arn = res and res.arn,
    vpc_id = pf.vpc_id, egress_mode = res and res.egress_mode or o.egress_mode,
    results = pf.results, blocking = pf.blocking, warnings = pf.warnings,
    create = res and {
      outcome = res.outcome or "failed", status = res.status, requested_mode = res.requested_mode,
      verified = res.verified, request_token = res.request_token,
      error = err and { code = err.code, message = err.message } or nil,
    } or nil,
  }
  return {
    schema = preflight.SCHEMA,
    generated_at = os.date("!%Y-%m-%dT%H:%M:%SZ"),
    tool = { name = "eksegress", version = require("eksegress").version },
    clusters = { entry }, errors = {},
  }
end

local SAY = {
  created = "created", existing = "already existed with these settings; nothing was sent",
  blocked = "not created: blocking preflight findings (fix them, or pass --accept-network-risk)",
}

function M.run(ctx, a)
  local o = options(a)
  local client, cerr = ctx:client()
  if not client then return ctx:fail("create", cerr) end
  if not client.region then return ctx:fail("create", errors.new("NoRegion", "no region for the new cluster")) end
  o.on_event = on_event(ctx)
  o.interrupted = function() return ctx:interrupted() end
  local res, err, partial = create.run(client, o)
  if not res then
    -- The guard speaks to library callers ("Pass acknowledge = ..."); the
    -- hint that follows says it in this command's terms (--confirm).
    if err.guard then err.message = tostring(err.message):gsub("%.? ?Pass acknowledge = .-choice", "") end
    local code = ctx:fail("create", err, "cluster " .. o.name)
    if err.code == "WaiterFailure" then code = exit.UPDATE_FAILED end
    -- Nothing to show for a refusal or a conflict (nothing was checked or sent).
    if partial and partial.preflight then
      local ok, werr = ctx:emit("preflight", document(client, o, partial, err), { rules = checks.list() })
      if not ok then ctx:fail("create", werr) end
    end
    return code
  end
  local ok, werr = ctx:emit("preflight", document(client, o, res), { rules = checks.list() })
  if not ok then
    ctx:fail("create", werr)
    return exit.PARTIAL
  end
  if ctx.args.output == "table" then
    local state = res.outcome == "blocked" and "" or (": %s, %s%s"):format(tostring(res.status),
      tostring(res.egress_mode), res.verified and " (verified)" or "")
    ctx.out:result(("create: %s %s%s"):format(o.name, SAY[res.outcome] or res.outcome, state))
  end
  if res.outcome == "blocked" then return exit.FINDINGS end
  return exit.OK
end

return M
