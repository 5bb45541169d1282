--- Pure parts of the audit: a DescribeCluster result to a report row, the
-- summary, and the document around them. Nothing here is networked, so the
-- shape of the report is tested without a simulator.
local M = {}

M.SCHEMA = "eksegress/audit/1"

local function rfc3339(t)
  if type(t) ~= "number" then return nil end
  return os.date("!%Y-%m-%dT%H:%M:%SZ", math.floor(t))
end
M.rfc3339 = rfc3339

local function str(v)
  if type(v) == "string" then return v end
  return nil
end

local function bool(v)
  if type(v) == "boolean" then return v end
  return nil
end

--- The egress mode as reported: the field's value verbatim (unknown values
-- are kept, never mapped to a known one), or UNKNOWN when the response lacks
-- it (an old API or model) — never assumed AWS_MANAGED.
function M.egress_mode(cluster)
  local vpc = type(cluster) == "table" and cluster.resourcesVpcConfig
  local mode = type(vpc) == "table" and vpc.controlPlaneEgressMode
  if type(mode) ~= "string" or mode == "" then return "UNKNOWN" end
  return mode
end

--- One row from a DescribeCluster `cluster` object.
-- @tparam table unit {account, region}
-- @tparam table cluster the DescribeCluster `cluster` member
-- @tparam[opt] string require the mode every cluster must have
function M.row(unit, cluster, require_mode)
  local vpc = type(cluster.resourcesVpcConfig) == "table" and cluster.resourcesVpcConfig or {}
  local mode = M.egress_mode(cluster)
  local row = {
    account = unit.account,
    region = unit.region,
    name = cluster.name,
    arn = str(cluster.arn),
    status = str(cluster.status),
    version = str(cluster.version),
    egress_mode = mode,
    endpoint_public_access = bool(vpc.endpointPublicAccess),
    endpoint_private_access = bool(vpc.endpointPrivateAccess),
    platform_version = str(cluster.platformVersion),
    created_at = rfc3339(cluster.createdAt),
    vpc_id = str(vpc.vpcId),
  }
  if require_mode then row.compliant = (mode == require_mode) end
  return row
end

local function bump(t, k)
  t[k] = (t[k] or 0) + 1
end

local function bump2(t, k1, k2)
  local inner = t[k1]
  if not inner then
    inner = {}
    t[k1] = inner
  end
  bump(inner, k2)
end

--- Counts by mode, by account and by region; compliance; errors.
function M.summary(clusters, errors, require_mode)
  local s = { clusters = #clusters, by_mode = {}, by_account = {}, by_region = {},
              errors = #errors, blocking = 0 }
  if require_mode then s.compliant, s.noncompliant = 0, 0 end
  for _, c in ipairs(clusters) do
    bump(s.by_mode, c.egress_mode)
    bump2(s.by_account, c.account, c.egress_mode)
    bump2(s.by_region, c.region, c.egress_mode)
    if require_mode then
      if c.compliant then s.compliant = s.compliant + 1 else s.noncompliant = s.noncompliant + 1 end
    end
    if type(c.preflight) == "table" and (c.preflight.blocking or 0) > 0 then
      s.blocking = s.blocking + 1
    end
  end
  return s
end

local function by_key(a, b)
  if a.account ~= b.account then return tostring(a.account) < tostring(b.account) end
  if a.region ~= b.region then return tostring(a.region) < tostring(b.region) end
  return tostring(a.name or a.cluster or "") < tostring(b.name or b.cluster or "")
end

--- Put the document together (sorted by account, region, name: stable keys,
-- so reports of several runs can be compared and merged).
-- `parts.passes` (the passes the audit ran) and `parts.recovered` (clusters
-- read in a later pass) go into the summary.
function M.document(parts)
  table.sort(parts.clusters, by_key)
  table.sort(parts.errors, by_key)
  local summary = M.summary(parts.clusters, parts.errors, parts.require)
  summary.passes, summary.recovered = parts.passes or 1, parts.recovered or 0
  return {
    schema = M.SCHEMA,
    generated_at = rfc3339(parts.now or os.time()),
    tool = { name = "eksegress", version = parts.version },
    require = parts.require,
    scope = parts.scope,
    clusters = parts.clusters,
    accounts = parts.accounts,
    summary = summary,
    errors = parts.errors,
  }
end

return M
