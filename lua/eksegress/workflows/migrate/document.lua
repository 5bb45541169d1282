--- The plan document: what a migration will do, reviewable before anything
-- is sent. Pure: building, identifying and checking plans needs no network.
--
-- A plan ("schema": "eksegress/plan/1", docs/schemas/plan.schema.json) lists
-- clusters with the state each was planned against, a fingerprint of that
-- state, the preflight result, the action (migrate, or skip with a reason)
-- and, for migrate, the exact request apply will send. Its id is derived from
-- its content, including when it was made and a random nonce, and each
-- request's clientRequestToken from the id and the cluster:
--   * a plan edited after it was written no longer matches its id and is
--     refused (the id is a checksum against accidents, not a signature:
--     validate() checks every field as if the plan were hostile);
--   * applying one plan twice can never make EKS start a second update
--     (same token, same update);
--   * planning again makes new tokens, so a cluster whose update failed can
--     be tried again (EKS would answer an old token with the old, failed
--     update for ever).
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

--- A DescribeCluster `cluster`'s egress mode (nil when not reported).
function M.mode_of(cluster)
  local vpc = type(cluster.resourcesVpcConfig) == "table" and cluster.resourcesVpcConfig or {}
  return vpc.controlPlaneEgressMode
end

--- The part of a cluster's state a plan depends on. A change in any of these
-- between plan and apply makes the plan stale for that cluster.
-- @tparam table cluster DescribeCluster's `cluster`
-- @tparam table in_flight ids of updates InProgress (ListUpdates/DescribeUpdate)
function M.state_of(cluster, in_flight)
  local vpc = type(cluster.resourcesVpcConfig) == "table" and cluster.resourcesVpcConfig or {}
  local mode = M.mode_of(cluster)
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
local LIST_FIELDS = { subnet_ids = true, security_group_ids = true, updates_in_flight = true }

local function in_flight_count(state)
  return type(state.updates_in_flight) == "table" and #state.updates_in_flight or 0
end

-- A cluster that is UPDATING only because of an update in flight keeps its
-- fingerprint: its status counts as ACTIVE then.
local function effective_status(state)
  if state.status == "UPDATING" and in_flight_count(state) > 0 then return "ACTIVE" end
  return state.status
end

-- The fingerprinted fields, normalised: lists sorted and marked as lists (a
-- state read back from JSON hashes as it did in memory, where an empty list
-- and an empty object are one value).
local function fingerprint_view(state)
  local t = {}
  for _, f in ipairs(FINGERPRINT_FIELDS) do
    if LIST_FIELDS[f] then t[f] = sorted_copy(state[f]) else t[f] = state[f] end
  end
  t.status = effective_status(state)
  return t
end

--- "sha256:<hex>" of the fingerprinted fields of a state.
function M.fingerprint(state)
  return "sha256:" .. sha256(canonical.encode(fingerprint_view(state)))
end

local function show(v)
  if type(v) == "table" then
    local parts = {}
    for i, x in ipairs(v) do parts[i] = tostring(x) end
    return "[" .. table.concat(parts, ",") .. "]"
  end
  if v == nil or v == cjson.null then return "none" end
  return tostring(v)
end

--- What changed between two states, as short phrases ("mode AWS_MANAGED ->
-- CUSTOMER_ROUTED"); empty when the fingerprints agree.
function M.diff(planned, now)
  local a, b = fingerprint_view(planned), fingerprint_view(now)
  local out = {}
  for _, f in ipairs(FINGERPRINT_FIELDS) do
    local sa, sb = show(a[f]), show(b[f])
    if sa ~= sb then out[#out + 1] = ("%s %s -> %s"):format(f, sa, sb) end
  end
  return out
end

--- The planned state as the updates the plan already showed in flight leave
-- it once they end. The reviewer saw those updates in the plan; a version
-- update among them that ended Successful moves the version it was planned
-- against. Anything else that changed still makes the plan stale.
-- @tparam table planned the plan's state of the cluster
-- @tparam table ended DescribeUpdate `update`s that are no longer InProgress
-- @treturn table a state to compare the cluster's current one with
function M.expected_state(planned, ended)
  local shown = {}
  for _, id in ipairs(type(planned.updates_in_flight) == "table" and planned.updates_in_flight or {}) do
    shown[id] = true
  end
  local s = {}
  for k, v in pairs(planned) do s[k] = v end
  s.updates_in_flight = canonical.array()
  for _, u in ipairs(ended or {}) do
    if type(u) == "table" and shown[u.id] and u.status == "Successful" and u.type == "VersionUpdate" then
      for _, p in ipairs(type(u.params) == "table" and u.params or {}) do
        if type(p) == "table" and p.type == "Version" and type(p.value) == "string" then s.version = p.value end
      end
    end
  end
  if s.status == "UPDATING" and in_flight_count(planned) > 0 then s.status = "ACTIVE" end
  return s
end

--- The API path of a cluster's UpdateClusterConfig (EKS cluster names need
-- no escaping: [0-9A-Za-z][A-Za-z0-9_-]*).
function M.request_path(name)
  return "/clusters/" .. name .. "/update-config"
end

--- The deterministic idempotency token of a cluster's update in a plan
-- (a UUID-shaped string, as EKS's clientRequestToken accepts).
function M.token(plan_id, key)
  local h = sha256("eksegress-plan-token\0" .. plan_id .. "\0" .. key)
  return ("%s-%s-4%s-8%s-%s"):format(h:sub(1, 8), h:sub(9, 12), h:sub(14, 16), h:sub(18, 20), h:sub(21, 32))
end

--- A fresh nonce for a new plan (16 hex digits).
function M.nonce()
  local bytes = require("eksegress.core").random_bytes(8)
  return (bytes:gsub(".", function(ch) return ("%02x"):format(ch:byte()) end))
end

-- The content the id covers: the plan without its id and without the tokens
-- (which are derived from the id).
local function id_content(plan)
  local clusters = {}
  for i, c in ipairs(plan.clusters) do
    local copy = {}
    if type(c) == "table" then
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
    end
    clusters[i] = copy
  end
  return { schema = plan.schema, target_mode = plan.target_mode, created_at = plan.created_at,
           nonce = plan.nonce, clusters = canonical.array(clusters) }
end

--- The plan's short id: "p-" and 10 hex characters of its content hash.
-- The content is hashed as it reads back from its JSON file (an empty list
-- and an empty object are one value in Lua), so a plan gets the same id in
-- memory and after a round trip through its file.
-- @treturn string the id, or nil, message when the content cannot be hashed
function M.plan_id(plan)
  local ok, text = pcall(function()
    return canonical.encode(cjson.decode(cjson.encode(id_content(plan))))
  end)
  if not ok then return nil, tostring(text) end
  return "p-" .. sha256(text):sub(1, 10)
end

--- Give a plan its id and its tokens (in place); returns the plan.
function M.seal(plan)
  plan.plan_id = assert(M.plan_id(plan))
  for _, c in ipairs(plan.clusters) do
    if type(c.request) == "table" and type(c.request.body) == "table" then
      c.request.body.clientRequestToken = M.token(plan.plan_id, c.key)
    end
  end
  return plan
end

-- ---- validation ---------------------------------------------------------------
-- A plan comes from a file a person may have edited: every check below looks
-- at the type first, so no content can make validate raise.

local function problem(msg)
  return nil, { code = "InvalidPlan", message = msg }
end

local MODES = { AWS_MANAGED = true, CUSTOMER_ROUTED = true, CUSTOMER_ISOLATED = true, UNKNOWN = true }

local function is_string(v) return type(v) == "string" and v ~= "" end

local function count_keys(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n
end

local function string_list(v)
  if type(v) ~= "table" then return false end
  local n = 0
  for k, x in pairs(v) do
    if math.type(k) ~= "integer" or type(x) ~= "string" then return false end
    n = n + 1
  end
  return n == #v
end

local function optional_string(v)
  return v == nil or v == cjson.null or type(v) == "string"
end

-- The planned state: the fields state_of writes, each of its type.
local function check_state(c)
  local s = c.state
  if type(s) ~= "table" or not MODES[s.mode] then return "has no planned state" end
  for _, f in ipairs{ "arn", "status", "version", "vpc_id", "cluster_security_group_id" } do
    if not optional_string(s[f]) then return ("state.%s is not a string"):format(f) end
  end
  for f in pairs(LIST_FIELDS) do
    if s[f] ~= nil and not string_list(s[f]) then return ("state.%s is not a list of strings"):format(f) end
  end
  if M.fingerprint(s) ~= c.fingerprint then
    return "its fingerprint does not match its planned state"
  end
  return nil
end

local function check_preflight(pf)
  if type(pf) ~= "table" then return "has no preflight result" end
  for _, f in ipairs{ "blocking", "warnings" } do
    if pf[f] ~= nil and type(pf[f]) ~= "number" then
      return ("preflight.%s is not a number"):format(f)
    end
  end
  for _, f in ipairs{ "blocking_ids", "warning_ids" } do
    if pf[f] ~= nil and not string_list(pf[f]) then return ("preflight.%s is not a list of strings"):format(f) end
  end
  return nil
end

local function check_request(plan, c)
  local r = c.request
  local path = M.request_path(c.name)
  if type(r) ~= "table" or r.method ~= "POST" or r.path ~= path or type(r.body) ~= "table" then
    return "the request is not POST " .. path
  end
  local vpc = r.body.resourcesVpcConfig
  if count_keys(r.body) ~= 2 or type(vpc) ~= "table" or vpc.controlPlaneEgressMode ~= M.TARGET_MODE
      or count_keys(vpc) ~= 1 then
    return "the request body must set only resourcesVpcConfig.controlPlaneEgressMode = "
      .. M.TARGET_MODE .. " and clientRequestToken"
  end
  if r.body.clientRequestToken ~= M.token(plan.plan_id, c.key) then
    return "the clientRequestToken does not belong to this plan"
  end
  if c.state.mode ~= "AWS_MANAGED" then
    return "only an AWS_MANAGED cluster can be planned for migration"
  end
  if (tonumber(c.preflight.blocking) or 0) > 0 then
    return "a cluster with blocking preflight findings cannot be migrated"
  end
  return nil
end

local function check_access(a)
  if a == nil or a == cjson.null then return nil end
  if type(a) ~= "table" then return "access is not an object" end
  for k, v in pairs(a) do
    if type(k) ~= "string" or type(v) ~= "string" then return "access holds something other than names" end
  end
  return nil
end

--- Is a target {account, region, name} one a client can be pointed at? The
-- client raises on a region that is not one (a misuse), and a plan or an
-- audit report read from a file is not code: checked here, where it is
-- still bad input. Used for plans and for the audit reports plan reads.
-- @treturn nil when it is, or the reason
function M.check_target(c)
  if not (is_string(c.account) and c.account:find("^%d%d%d%d%d%d%d%d%d%d%d%d$")) then
    return ("account %q is not a 12-digit account id"):format(tostring(c.account))
  end
  if not require("eksegress.settings").valid_region(c.region) then
    return ("region %q is not a region name"):format(tostring(c.region))
  end
  if not (is_string(c.name) and #c.name <= 100 and c.name:find("^[%w][%w_%-]*$")) then
    return ("name %q is not an EKS cluster name"):format(tostring(c.name))
  end
  return nil
end

local function check_cluster(plan, c, i, seen)
  if type(c) ~= "table" then return ("cluster #%d is not an object"):format(i) end
  for _, f in ipairs{ "account", "region", "name", "key", "action", "fingerprint" } do
    if not is_string(c[f]) then return ("cluster #%d has no %s"):format(i, f) end
  end
  if c.key ~= M.key(c) then return ("cluster #%d: key does not match account/region/name"):format(i) end
  if seen[c.key] then return "cluster " .. c.key .. " appears twice" end
  seen[c.key] = true
  local why = M.check_target(c) or check_state(c) or check_preflight(c.preflight) or check_access(c.access)
  if not why then
    if c.action == "migrate" then
      why = check_request(plan, c)
    elseif c.action == "skip" then
      if not is_string(c.reason) then why = "is skipped without a reason"
      elseif c.request ~= nil then why = "is skipped but carries a request" end
    else
      why = "unknown action " .. tostring(c.action)
    end
  end
  if why then return "cluster " .. c.key .. ": " .. why end
  return nil
end

--- Check a plan read from a file: its shape, that its id matches its content
-- (not edited by hand, not truncated), that every migrate entry sends exactly
-- the one request a migration may send, and that no cluster appears twice.
-- Never raises, whatever the plan holds.
-- @treturn true, or nil, {code = "InvalidPlan", message}
function M.validate(plan)
  if type(plan) ~= "table" then return problem("the plan is not a JSON object") end
  if plan.schema ~= M.SCHEMA then
    return problem(("the plan's schema is %q; this eksegress reads %q"):format(show(plan.schema), M.SCHEMA))
  end
  if plan.target_mode ~= M.TARGET_MODE then
    return problem("the plan's target_mode must be " .. M.TARGET_MODE)
  end
  if type(plan.plan_id) ~= "string" or not plan.plan_id:find("^p%-%x+$") then
    return problem("the plan has no valid plan_id")
  end
  if type(plan.clusters) ~= "table" or count_keys(plan.clusters) ~= #plan.clusters then
    return problem("the plan has no clusters list")
  end
  local seen = {}
  for i, c in ipairs(plan.clusters) do
    local ok, why = pcall(check_cluster, plan, c, i, seen)
    if not ok then return problem(("cluster #%d cannot be read (%s)"):format(i, tostring(why))) end
    if why then return problem(why) end
  end
  local id = M.plan_id(plan)
  if id ~= plan.plan_id then
    return problem("the plan's content does not match its id " .. plan.plan_id
      .. " (edited or damaged after it was written): run eksegress plan again")
  end
  return true
end

--- Mark the lists of a validated plan as lists (in place), so a plan read
-- back from its file is written again with [] where it had [] (Lua has one
-- empty table for both). Returns the plan.
function M.normalize(plan)
  canonical.array(plan.clusters)
  plan.errors = canonical.array(type(plan.errors) == "table" and plan.errors or nil)
  for _, c in ipairs(plan.clusters) do
    for f in pairs(LIST_FIELDS) do
      if type(c.state[f]) == "table" then canonical.array(c.state[f]) end
    end
    for _, f in ipairs{ "blocking_ids", "warning_ids" } do
      if type(c.preflight[f]) == "table" then canonical.array(c.preflight[f]) end
    end
  end
  return plan
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
