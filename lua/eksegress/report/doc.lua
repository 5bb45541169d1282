--- Reading the report documents ("eksegress/audit/1", "eksegress/preflight/1")
-- the way every renderer needs: lists that may be absent, the egress modes in
-- one order, tallies by mode, and the preflight findings flattened to rows.
-- Renderers never trust a document's shape: a missing list is empty, a
-- missing value is shown empty, and nothing here raises on odd input.
local text = require "eksegress.report.text"

local M = {}

M.SCHEMAS = { audit = "eksegress/audit/1", preflight = "eksegress/preflight/1",
              plan = "eksegress/plan/1", ["apply-result"] = "eksegress/apply-result/1" }

--- The formats each kind renders to (plans and apply results are for review
-- and for programs: a table and JSON).
M.KIND_FORMATS = {
  plan = { table = true, json = true },
  ["apply-result"] = { table = true, json = true },
}

-- The documented modes first, in this order; any other value (a mode EKS
-- adds later, kept verbatim) after them in byte order.
M.MODES = { "AWS_MANAGED", "CUSTOMER_ROUTED", "CUSTOMER_ISOLATED", "UNKNOWN" }
local MODE_RANK = {}
for i, m in ipairs(M.MODES) do MODE_RANK[m] = i end

--- A list field, or an empty list when absent or not a table.
function M.list(v)
  return type(v) == "table" and v or {}
end

--- A value as display text ("" for nil and null).
function M.str(v)
  return text.scalar(v) or ""
end

--- The values of a list as text joined with `sep` ("" when not a list).
function M.join(v, sep)
  local parts = {}
  for i, x in ipairs(M.list(v)) do parts[i] = M.str(x) end
  return table.concat(parts, sep)
end

--- The lines of a value's text (a fix may be several commands, one per
-- line); empty lines are dropped.
function M.lines(v)
  local out = {}
  for line in (M.str(v) .. "\n"):gmatch("([^\r\n]*)\r?\n") do
    if line:find("%S") then out[#out + 1] = line end
  end
  return out
end

--- A word for a POSIX shell: as it is when it holds nothing a shell acts
-- on, else in single quotes.
function M.shell_word(v)
  local s = M.str(v)
  if s:find("^[%w_.:/=,@+%-]+$") then return s end
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

--- A cluster's egress mode as the report shows it: the value verbatim, or
-- UNKNOWN when it is missing (never assumed to be a known mode).
function M.mode(c)
  local m = c.egress_mode
  if type(m) ~= "string" or m == "" then return "UNKNOWN" end
  return m
end

function M.mode_less(a, b)
  local ra, rb = MODE_RANK[a], MODE_RANK[b]
  if ra and rb then return ra < rb end
  if ra or rb then return ra ~= nil end
  return a < b
end

--- The keys of a set (or of a {mode = n} table), modes in report order.
function M.modes_of(set)
  local list = {}
  for m in pairs(set) do list[#list + 1] = m end
  table.sort(list, M.mode_less)
  return list
end

--- The keys of a table in byte order.
function M.sorted_keys(t)
  local list = {}
  for k in pairs(t) do list[#list + 1] = k end
  table.sort(list, function(a, b) return tostring(a) < tostring(b) end)
  return list
end

local function bump(t, k1, k2)
  local inner = t[k1]
  if not inner then
    inner = {}
    t[k1] = inner
  end
  inner[k2] = (inner[k2] or 0) + 1
end

--- Counts over the clusters of an audit document, as its summary states
-- them: by mode, by account, by region, and compliance (clusters whose
-- `compliant` is a boolean; null means no required mode).
function M.tally(clusters)
  local t = { clusters = #clusters, by_mode = {}, by_account = {}, by_region = {},
              compliant = 0, noncompliant = 0, judged = false }
  for _, c in ipairs(clusters) do
    local mode = M.mode(c)
    t.by_mode[mode] = (t.by_mode[mode] or 0) + 1
    bump(t.by_account, M.str(c.account), mode)
    bump(t.by_region, M.str(c.region), mode)
    if c.compliant == true then
      t.compliant, t.judged = t.compliant + 1, true
    elseif c.compliant == false then
      t.noncompliant, t.judged = t.noncompliant + 1, true
    end
  end
  return t
end

--- One line about an audit's later passes ("read in 3 passes: 476 clusters
-- recovered by the later passes"), or nil when one pass read everything it
-- could (or the document predates passes).
function M.later_passes(doc)
  local s = type(doc.summary) == "table" and doc.summary or {}
  local passes, recovered = math.tointeger(s.passes), math.tointeger(s.recovered) or 0
  if not passes or passes < 2 then return nil end
  return ("read in %d passes: %d %s recovered by the later passes"):format(passes, recovered,
    recovered == 1 and "cluster" or "clusters")
end

--- Preflight findings as rows: one per result, with the cluster it belongs
-- to. Works on a preflight document and on an audit document whose clusters
-- carry a `preflight` object (audit --preflight).
-- @return list of {account, region, cluster, vpc_id, egress_mode, result}
function M.findings(doc)
  local rows = {}
  for _, c in ipairs(M.list(doc.clusters)) do
    local results = c.results
    if type(c.preflight) == "table" then results = c.preflight.results end
    for _, r in ipairs(M.list(results)) do
      if type(r) == "table" then
        rows[#rows + 1] = { account = c.account, region = c.region, cluster = c.name,
                            vpc_id = c.vpc_id, egress_mode = c.egress_mode, result = r }
      end
    end
  end
  return rows
end

--- A failed check that counts against the cluster: blocking or warning.
function M.counts_against(r)
  return r.status == "fail" and (r.severity == "blocking" or r.severity == "warning")
end

--- "account/region/name" for a cluster or finding row (empty parts kept, so
-- the same key always has the same shape).
function M.where(account, region, name)
  local parts = { M.str(account), M.str(region) }
  if not text.is_null(name) then parts[3] = M.str(name) end
  return table.concat(parts, "/")
end

--- What an error entry is about, for people: "cluster web in
-- 111111111111/eu-west-1", "region us-west-2 of 111111111111", ...
function M.error_target(e)
  local account, region, cluster = M.str(e.account), M.str(e.region), M.str(e.cluster)
  if cluster ~= "" then return ("cluster %s in %s"):format(cluster, M.where(e.account, e.region)) end
  if region ~= "" and account ~= "" then return ("region %s of account %s"):format(region, account) end
  if region ~= "" then return "region " .. region end
  if account ~= "" then return "account " .. account end
  local profile = M.str(e.profile)
  if profile ~= "" then return "profile " .. profile end
  local target = M.str(e.target)
  return target ~= "" and target or "(unknown target)"
end

return M
