--- The plan document: what a migration will do, reviewable before anything
-- is sent. Pure: building, identifying and checking plans needs no network.
--
-- A plan ("schema": "eksegress/plan/1") lists clusters with the state each
-- was planned against, a fingerprint of that state, the preflight result, the
-- action (migrate, or skip with a reason) and, for migrate, the exact request
-- apply will send. Its id is derived from its content, and each request's
-- clientRequestToken from the id and the cluster: a plan edited after it was
-- written no longer matches its id and is refused, and applying one plan
-- twice can never make EKS start a second update (same token, same update).
local cjson = require "cjson"
local canonical = require "eksegress.canonical"

local M = {}

M.SCHEMA = "eksegress/plan/1"
M.TARGET_MODE = "CUSTOMER_ROUTED"

local function sha256(s)
  return require("eksegress.core").sha256_hex(s)
end

--- The stable key of a cluster: account/region/name.
function M.key(c)
  return ("%s/%s/%s"):format(tostring(c.account), tostring(c.region), tostring(c.name))
end

local function sorted_copy(list)
  local out = {}
  for i, v in ipairs(type(list) == "table" and list or {}) do out[i] = v end
  table.sort(out, function(a, b) return tostring(a) < tostring(b) end)
  return canonical.array(out)
end

--- The part of a cluster's state a plan depends on. A change in any of these
-- between plan and apply makes the plan stale for that cluster.
-- @tparam table cluster DescribeCluster's `cluster`
-- @tparam table in_flight ids of updates InProgress (ListUpdates/DescribeUpdate)
function M.state_of(cluster, in_flight)
  local vpc = type(cluster.resourcesVpcConfig) == "table" and cluster.resourcesVpcConfig or {}
  local mode = vpc.controlPlaneEgressMode
  return {
    arn = cluster.arn,
    status = cluster.status,
    version = cluster.version,
    mode = type(mode) == "string" and mode or "UNKNOWN",
    vpc_id = vpc.vpcId,
    subnet_ids = sorted_copy(vpc.subnetIds),
    security_group_ids = sorted_copy(vpc.securityGroupIds),
    cluster_security_group_id = vpc.clusterSecurityGroupId,
    updates_in_flight = sorted_copy(in_flight),
  }
end

-- What the fingerprint covers: everything in the state except the updates in
-- flight (apply waits those out instead of calling the plan stale).
local FINGERPRINT_FIELDS = { "arn", "status", "version", "mode", "vpc_id", "subnet_ids",
                             "security_group_ids", "cluster_security_group_id" }

--- "sha256:<hex>" of the fingerprinted fields of a state.
function M.fingerprint(state)
  local t = {}
  for _, f in ipairs(FINGERPRINT_FIELDS) do t[f] = state[f] end
  -- A cluster that is UPDATING only because of an update in flight keeps its
  -- fingerprint: status is compared as "ACTIVE" then.
  if t.status == "UPDATING" and #(state.updates_in_flight or {}) > 0 then t.status = "ACTIVE" end
  return "sha256:" .. sha256(canonical.encode(t))
end

--- What changed between two states, as short phrases ("mode AWS_MANAGED ->
-- CUSTOMER_ROUTED"); empty when the fingerprints agree.
function M.diff(planned, now)
  local out = {}
  for _, f in ipairs(FINGERPRINT_FIELDS) do
    local a, b = planned[f], now[f]
    local sa = type(a) == "table" and table.concat(a, ",") or tostring(a)
    local sb = type(b) == "table" and table.concat(b, ",") or tostring(b)
    if f == "status" and sb == "UPDATING" and #(now.updates_in_flight or {}) > 0 then sb = "ACTIVE" end
    if sa ~= sb then out[#out + 1] = ("%s %s -> %s"):format(f, sa, sb) end
  end
  return out
end

--- The deterministic idempotency token of a cluster's update in a plan
-- (a UUID-shaped string, as EKS's clientRequestToken accepts).
function M.token(plan_id, key)
  local h = sha256("eksegress-plan-token\0" .. plan_id .. "\0" .. key)
  return ("%s-%s-4%s-8%s-%s"):format(h:sub(1, 8), h:sub(9, 12), h:sub(14, 16), h:sub(18, 20), h:sub(21, 32))
end

-- The content the id covers: the plan without its id and without the tokens
-- (which are derived from the id).
local function id_content(plan)
  local clusters = {}
  for i, c in ipairs(plan.clusters) do
    local copy = {}
    for k, v in pairs(c) do copy[k] = v end
    if type(c.request) == "table" then
      local r = {}
      for k, v in pairs(c.request) do r[k] = v end
      if type(r.body) == "table" then
        local body = {}
        for k, v in pairs(r.body) do if k ~= "clientRequestToken" then body[k] = v end end
        r.body = body
      end
      copy.request = r
    end
    clusters[i] = copy
  end
  return { schema = plan.schema, target_mode = plan.target_mode, clusters = canonical.array(clusters) }
end

--- The plan's short id: "p-" and 10 hex characters of its content hash.
-- The content is hashed as it reads back from its JSON file (an empty list
-- and an empty object are one value in Lua), so a plan gets the same id in
-- memory and after a round trip through its file.
function M.plan_id(plan)
  local as_read = cjson.decode(cjson.encode(id_content(plan)))
  return "p-" .. sha256(canonical.encode(as_read)):sub(1, 10)
end

--- Give a plan its id and its tokens (in place); returns the plan.
function M.seal(plan)
  plan.plan_id = M.plan_id(plan)
  for _, c in ipairs(plan.clusters) do
    if type(c.request) == "table" and type(c.request.body) == "table" then
      c.request.body.clientRequestToken = M.token(plan.plan_id, c.key)
    end
  end
  return plan
end

local function problem(msg)
  return nil, { code = "InvalidPlan", message = msg }
end

local MODES = { AWS_MANAGED = true, CUSTOMER_ROUTED = true, CUSTOMER_ISOLATED = true, UNKNOWN = true }

--- Check a plan read from a file: its shape, that its id matches its content
-- (not edited by hand, not truncated), that every migrate entry sends exactly
-- the one request a migration may send, and that no cluster appears twice.
-- @treturn true, or nil, {code = "InvalidPlan", message}
function M.validate(plan)
  if type(plan) ~= "table" then return problem("the plan is not a JSON object") end
  if plan.schema ~= M.SCHEMA then
    return problem(("the plan's schema is %q; this eksegress reads %q"):format(tostring(plan.schema), M.SCHEMA))
  end
  if plan.target_mode ~= M.TARGET_MODE then
    return problem("the plan's target_mode must be " .. M.TARGET_MODE)
  end
  if type(plan.plan_id) ~= "string" or not plan.plan_id:find("^p%-%x+$") then
    return problem("the plan has no valid plan_id")
  end
  if type(plan.clusters) ~= "table" then return problem("the plan has no clusters list") end
  local seen = {}
  for i, c in ipairs(plan.clusters) do
    local where = ("cluster #%d"):format(i)
    if type(c) ~= "table" then return problem(where .. " is not an object") end
    for _, f in ipairs{ "account", "region", "name", "key", "action", "fingerprint" } do
      if type(c[f]) ~= "string" or c[f] == "" then return problem(where .. " has no " .. f) end
    end
    if c.key ~= M.key(c) then return problem(where .. ": key does not match account/region/name") end
    if seen[c.key] then return problem("cluster " .. c.key .. " appears twice") end
    seen[c.key] = true
    if type(c.state) ~= "table" or not MODES[c.state.mode] then
      return problem("cluster " .. c.key .. " has no planned state")
    end
    if c.action == "migrate" then
      local r = c.request
      local path = "/clusters/" .. c.name .. "/update-config"
      if type(r) ~= "table" or r.method ~= "POST" or r.path ~= path or type(r.body) ~= "table" then
        return problem("cluster " .. c.key .. ": the request is not POST " .. path)
      end
      local vpc = r.body.resourcesVpcConfig
      local n = 0
      for _ in pairs(r.body) do n = n + 1 end
      if n ~= 2 or type(vpc) ~= "table" or vpc.controlPlaneEgressMode ~= M.TARGET_MODE
          or next(vpc, next(vpc)) ~= nil then
        return problem("cluster " .. c.key .. ": the request body must set only "
          .. "resourcesVpcConfig.controlPlaneEgressMode = " .. M.TARGET_MODE .. " and clientRequestToken")
      end
      if r.body.clientRequestToken ~= M.token(plan.plan_id, c.key) then
        return problem("cluster " .. c.key .. ": the clientRequestToken does not belong to this plan")
      end
      if c.state.mode ~= "AWS_MANAGED" then
        return problem("cluster " .. c.key .. ": only an AWS_MANAGED cluster can be planned for migration")
      end
      if type(c.preflight) ~= "table" or (c.preflight.blocking or 0) > 0 then
        return problem("cluster " .. c.key .. ": a cluster with blocking preflight findings cannot be migrated")
      end
    elseif c.action == "skip" then
      if type(c.reason) ~= "string" or c.reason == "" then
        return problem("cluster " .. c.key .. " is skipped without a reason")
      end
      if c.request ~= nil then return problem("cluster " .. c.key .. " is skipped but carries a request") end
    else
      return problem("cluster " .. c.key .. ": unknown action " .. tostring(c.action))
    end
  end
  if M.plan_id(plan) ~= plan.plan_id then
    return problem("the plan's content does not match its id " .. plan.plan_id
      .. " (edited or damaged after it was written): run eksegress plan again")
  end
  return true
end

--- The clusters a plan migrates, in plan order.
function M.migrations(plan)
  local out = {}
  for _, c in ipairs(plan.clusters) do
    if c.action == "migrate" then out[#out + 1] = c end
  end
  return out
end

--- What --confirm must say: the cluster name for a one-cluster plan, the
-- plan id otherwise.
function M.confirmation(plan)
  local m = M.migrations(plan)
  if #m == 1 then return m[1].name end
  return plan.plan_id
end

return M
