--- Create an EKS cluster with a chosen control plane egress mode, without
-- surprises: the guard's verdict first (nothing is sent when it refuses), the
-- preflight's network checks on the target subnets, CreateCluster with a
-- client request token derived from the inputs (a re-run after a crash sends
-- the same token, so EKS returns the same cluster), then ACTIVE and the mode
-- read back.
--
--     local create = require "eksegress.workflows.create"
--     local res, err = create.run(client, {
--       name = "prod", role_arn = "arn:aws:iam::111122223333:role/eksClusterRole",
--       subnet_ids = { "subnet-a", "subnet-b" }, security_group_ids = { "sg-1" },
--       egress_mode = "CUSTOMER_ROUTED", acknowledge = "prod",
--     })
--
-- `res.outcome`: "created" (this run's CreateCluster, or a replay of it),
-- "existing" (a cluster of that name with the same settings was found: a
-- re-run; nothing sent), "blocked" (blocking preflight findings; nothing
-- sent). `res.status`, `res.egress_mode` and `res.verified` say what EKS
-- reports at the end. nil, err for everything that stops it otherwise: a guard
-- refusal (`err.guard`, nothing sent), a name taken by a cluster with other
-- settings (ClusterExists), subnets that do not exist, a cluster that ends
-- FAILED (WaiterFailure), a mode read back that differs (ModeMismatch).
-- Workflows never print, read argv or exit: progress goes to `opts.on_event`.
local errors = require "eksegress.errors"
local guard = require "eksegress.guard"
local canonical = require "eksegress.canonical"
local services = require "eksegress.services"
local preflight = require "eksegress.workflows.preflight"

local M = {}

M.MODES = { AWS_MANAGED = true, CUSTOMER_ROUTED = true }

local OPTS = { name = true, role_arn = true, subnet_ids = true, security_group_ids = true,
               kubernetes_version = true, egress_mode = true, acknowledge = true, ip_family = true, region = true,
               wait = true, accept_network_risk = true, poll_seconds = true, max_attempts = true, on_event = true,
               tags = true, interrupted = true }

local function ids_of(fname, key, v, prefix, min)
  if v == nil and min == 0 then return {} end
  if type(v) ~= "table" or #v < min then
    errors.misuse(("%s: %s must be a list of %s ids"):format(fname, key, prefix), 3)
  end
  for _, id in ipairs(v) do
    if type(id) ~= "string" or not id:find("^" .. prefix .. "%-[%w]+$") then
      errors.misuse(("%s: %s: %q is not a %s id"):format(fname, key, tostring(id), prefix), 3)
    end
  end
  return v
end

local function check_opts(opts)
  local f = "create.run"
  if type(opts) ~= "table" then errors.misuse(f .. ": options must be a table", 3) end
  for k in pairs(opts) do
    if not OPTS[k] then errors.misuse(("%s: unknown option %q"):format(f, tostring(k)), 3) end
  end
  if not preflight.valid_cluster_name(opts.name) then
    errors.misuse(f .. ": name must be an EKS cluster name (letters, digits, - and _, at most 100)", 3)
  end
  if type(opts.role_arn) ~= "string" or not opts.role_arn:find("^arn:[%w%-]+:iam::%d+:role/.+") then
    errors.misuse(f .. ": role_arn must be an IAM role ARN", 3)
  end
  ids_of(f, "subnet_ids", opts.subnet_ids, "subnet", 1)
  ids_of(f, "security_group_ids", opts.security_group_ids, "sg", 0)
  if opts.egress_mode ~= nil and not M.MODES[opts.egress_mode] then
    errors.misuse(f .. ": egress_mode must be AWS_MANAGED or CUSTOMER_ROUTED", 3)
  end
  if opts.ip_family ~= nil and opts.ip_family ~= "ipv4" and opts.ip_family ~= "ipv6" then
    errors.misuse(f .. ': ip_family must be "ipv4" or "ipv6"', 3)
  end
  if opts.kubernetes_version ~= nil and (type(opts.kubernetes_version) ~= "string"
      or not opts.kubernetes_version:find("^%d+%.%d+$")) then
    errors.misuse(f .. ': kubernetes_version must look like "1.32"', 3)
  end
  if opts.poll_seconds ~= nil and (type(opts.poll_seconds) ~= "number" or opts.poll_seconds < 0) then
    errors.misuse(f .. ": poll_seconds must be a number of seconds", 3)
  end
  if opts.max_attempts ~= nil and (math.type(opts.max_attempts) ~= "integer" or opts.max_attempts < 1) then
    errors.misuse(f .. ": max_attempts must be a positive integer", 3)
  end
  for _, k in ipairs({ "on_event", "interrupted" }) do
    if opts[k] ~= nil and type(opts[k]) ~= "function" then
      errors.misuse(("%s: %s must be a function"):format(f, k), 3)
    end
  end
end

local function sorted_copy(list)
  local out = {}
  for i, v in ipairs(list or {}) do out[i] = v end
  table.sort(out)
  return out
end

--- The client request token of a create: the same inputs (name, region,
-- role, subnets and groups as sets, version, mode, address family) always give
-- the same token, so a re-run sends what the first run sent.
function M.request_token(region, opts)
  local inputs = canonical.encode({
    region = region, name = opts.name, role_arn = opts.role_arn,
    subnet_ids = canonical.array(sorted_copy(opts.subnet_ids)),
    security_group_ids = canonical.array(sorted_copy(opts.security_group_ids)),
    kubernetes_version = opts.kubernetes_version, egress_mode = opts.egress_mode or "AWS_MANAGED",
    ip_family = opts.ip_family or "ipv4",
  })
  local h = require("eksegress.core").sha256_hex("eksegress-create-token\0" .. inputs)
  return ("%s-%s-%s-%s-%s"):format(h:sub(1, 8), h:sub(9, 12), h:sub(13, 16), h:sub(17, 20), h:sub(21, 32))
end

local function request_params(opts, token)
  local vpc = { subnetIds = opts.subnet_ids, controlPlaneEgressMode = opts.egress_mode or "AWS_MANAGED" }
  if opts.security_group_ids and #opts.security_group_ids > 0 then vpc.securityGroupIds = opts.security_group_ids end
  local params = { name = opts.name, roleArn = opts.role_arn, resourcesVpcConfig = vpc, clientRequestToken = token,
                   version = opts.kubernetes_version, tags = opts.tags }
  if opts.ip_family then params.kubernetesNetworkConfig = { ipFamily = opts.ip_family } end
  return params
end

local function mode_of(cluster)
  local vpc = type(cluster) == "table" and cluster.resourcesVpcConfig
  return type(vpc) == "table" and vpc.controlPlaneEgressMode or nil
end

local function set_equal(a, b)
  local sa, sb = sorted_copy(a), sorted_copy(b)
  if #sa ~= #sb then return false end
  for i = 1, #sa do if sa[i] ~= sb[i] then return false end end
  return true
end

-- What differs between an existing cluster and the request (empty: a re-run of it).
local function differences(cluster, opts)
  local vpc = type(cluster.resourcesVpcConfig) == "table" and cluster.resourcesVpcConfig or {}
  local d = {}
  if cluster.roleArn ~= opts.role_arn then
    d[#d + 1] = ("role %s (asked %s)"):format(tostring(cluster.roleArn), opts.role_arn)
  end
  if not set_equal(vpc.subnetIds, opts.subnet_ids) then
    d[#d + 1] = ("subnets %s (asked %s)"):format(table.concat(sorted_copy(vpc.subnetIds), ","),
      table.concat(sorted_copy(opts.subnet_ids), ","))
  end
  if not set_equal(vpc.securityGroupIds, opts.security_group_ids) then
    d[#d + 1] = ("security groups %s (asked %s)"):format(table.concat(sorted_copy(vpc.securityGroupIds), ","),
      table.concat(sorted_copy(opts.security_group_ids), ","))
  end
  local want = opts.egress_mode or "AWS_MANAGED"
  if mode_of(cluster) ~= want then
    d[#d + 1] = ("egress mode %s (asked %s)"):format(tostring(mode_of(cluster) or "unknown"), want)
  end
  if opts.kubernetes_version and cluster.version ~= opts.kubernetes_version then
    d[#d + 1] = ("version %s (asked %s)"):format(tostring(cluster.version), opts.kubernetes_version)
  end
  return d
end

local function describe(client, name, region)
  local out, err = client:call("eks", "DescribeCluster", { name = name }, { region = region })
  if out then return out.cluster end
  if err.code == "ResourceNotFoundException" then return false end
  return nil, err
end

-- A cluster of that name: this request's (a re-run), or someone else's.
local function adopt(cluster, opts)
  local d = differences(cluster, opts)
  if #d == 0 then return true end
  return nil, errors.new("ClusterExists", ("cluster %s already exists with other settings: %s; nothing was created")
    :format(opts.name, table.concat(d, "; ")), { cluster = cluster })
end

-- Poll with the ClusterActive waiter's own acceptors (so ACTIVE, FAILED and
-- DELETING mean what the SDK waiter makes of them), reporting each status.
local function wait_active(client, name, region, opts, emit)
  local w = services.get("eks").waiters.ClusterActive
  local delay = opts.poll_seconds or w.delay
  local attempts = opts.max_attempts or w.max_attempts
  for attempt = 1, attempts do
    local out, err = client:call("eks", "DescribeCluster", { name = name }, { region = region })
    for _, acc in ipairs(w.acceptors) do
      if services.match_acceptor(acc, out, err) then
        if acc.state == "success" then return out.cluster end
        return nil, errors.new("WaiterFailure", ("cluster %s is %s: EKS could not create it"):format(name,
          tostring(out and out.cluster.status)), { cluster = out and out.cluster })
      end
    end
    if err and not err.retryable then return nil, err end
    emit{ type = "wait", name = name, status = out and out.cluster.status or (err and err.code), attempt = attempt,
          attempts = attempts }
    if opts.interrupted and opts.interrupted() then
      return nil, errors.new("Interrupted", ("stopped waiting for cluster %s, which EKS is still creating; run the "
        .. "same command again to keep waiting (no second cluster is created)"):format(name))
    end
    if attempt < attempts then client.runtime:sleep(delay) end
  end
  return nil, errors.new("WaiterTimeout", ("cluster %s did not become ACTIVE after %d checks %g s apart; it is "
    .. "still being created: run the same command again to keep waiting"):format(name, attempts, delay))
end

--- Create a cluster.
-- @param client an eksegress client (its region, or opts.region)
-- @tparam table opts name, role_arn, subnet_ids, security_group_ids,
--   kubernetes_version, egress_mode ("AWS_MANAGED" default | "CUSTOMER_ROUTED"),
--   acknowledge (the cluster name: required by the guard for CUSTOMER_ROUTED),
--   ip_family, tags, wait (default true), accept_network_risk (create despite
--   blocking findings), poll_seconds / max_attempts (the waiter's 30 s x 40 by
--   default), on_event, interrupted (function -> true to stop waiting)
-- @return result `{name, region, account, outcome, request_token, status,
--   egress_mode, verified, arn, preflight = {vpc_id, blocking, warnings,
--   blocking_ids, results}}`, or nil, err
function M.run(client, opts)
  if type(client) ~= "table" or type(client.call) ~= "function" then
    errors.misuse("create.run: client must be an eksegress client", 2)
  end
  check_opts(opts)
  local emit = opts.on_event or function() end
  local region = opts.region or client.region
  if not region then
    return nil, errors.new("NoRegion", "no region: pass --region, set AWS_REGION, or set region in the profile")
  end
  local token = M.request_token(region, opts)
  local prepared, perr = client:prepare("eks", "CreateCluster", request_params(opts, token),
    { region = region, acknowledge = opts.acknowledge })
  if not prepared then return nil, perr end
  -- The same decision the engine takes before sending, taken before anything
  -- at all is sent (no read either): a refused create leaves no trace.
  local verdict = guard.check{ method = prepared.method, target = prepared.path, body = prepared.body,
                               acknowledge = opts.acknowledge }
  if verdict.action ~= "allow" then
    return nil, errors.new(verdict.code or "GuardRefused", verdict.message, { guard = true })
  end
  local res = { name = opts.name, region = region, request_token = token,
                requested_mode = opts.egress_mode or "AWS_MANAGED" }

  local cluster, derr = describe(client, opts.name, region)
  if cluster == nil then return nil, derr end
  if cluster then
    local ok, aerr = adopt(cluster, opts)
    if not ok then return nil, aerr end
    res.outcome = "existing"
    emit{ type = "existing", name = opts.name, status = cluster.status }
  else
    emit{ type = "preflight", name = opts.name }
    local pf, pferr = preflight.network(client, { subnet_ids = opts.subnet_ids, name = opts.name,
      security_group_ids = opts.security_group_ids, role_arn = opts.role_arn, ip_family = opts.ip_family,
      region = region })
    if not pf then return nil, pferr end
    res.preflight = pf
    if #pf.missing_subnets > 0 then
      return nil, errors.new("InvalidSubnetID.NotFound", ("subnet %s does not exist in %s"):format(
        table.concat(pf.missing_subnets, ", "), region)), res
    end
    if pf.blocking > 0 and not opts.accept_network_risk then
      res.outcome = "blocked"
      return res
    end
    emit{ type = "create", name = opts.name, token = token }
    local out, cerr = client:send(prepared)
    if out then
      cluster = out.cluster
      res.outcome = "created"
    elseif cerr.code == "ResourceInUseException" then
      -- Created meanwhile (by a run whose response was lost, or by someone else).
      cluster, derr = describe(client, opts.name, region)
      if not cluster then return nil, derr or cerr end
      local ok, aerr = adopt(cluster, opts)
      if not ok then return nil, aerr end
      res.outcome = "existing"
    else
      return nil, cerr
    end
    emit{ type = "created", name = opts.name, status = cluster.status }
  end
  res.arn, res.status, res.account = cluster.arn, cluster.status, preflight.gather.arn_account(cluster.arn)
  if opts.wait ~= false and cluster.status ~= "ACTIVE" then
    local active, werr = wait_active(client, opts.name, region, opts, emit)
    if not active then return nil, werr, res end
    cluster = active
  end
  -- The mode as EKS reports it: after the wait, DescribeCluster's; with no
  -- wait, what CreateCluster (or the existing cluster) returned.
  res.status, res.egress_mode = cluster.status, mode_of(cluster)
  res.verified = res.egress_mode == res.requested_mode
  if not res.verified then
    return nil, errors.new("ModeMismatch", ("cluster %s reports controlPlaneEgressMode %s, not %s"):format(
      opts.name, tostring(res.egress_mode or "(none)"), res.requested_mode)), res
  end
  emit{ type = "done", name = opts.name, status = res.status, egress_mode = res.egress_mode }
  return res
end

return M
