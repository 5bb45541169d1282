--- The `sarif` format (.sarif): SARIF 2.1.0, the static analysis results
-- format code-scanning tools import.
--
-- One run. tool.driver names eksegress and lists the rules: the preflight
-- checks (from opts.rules, the list `checks.list()` returns: {id, severity,
-- title, help[, description]}; a check seen in the document but missing
-- there gets a rule made from its title), and for an audit with a required
-- mode the rule `egress_mode_required`. Results:
--   * a failed check: level error (blocking), warning, note (info);
--   * a check that was not evaluated: kind "review", level "none" (someone
--     must look; it did not pass);
--   * audit: a cluster without the required mode, under egress_mode_required.
-- Each result names where it is as logical locations (the cluster
-- "account/region/name", then each resource involved as
-- "account/region/resource-id"), never as a file path, and carries the fix
-- command in its message and properties. Targets that could not be read are
-- tool execution notifications of the invocation (executionSuccessful is
-- false when there are any).
--
-- Options: rules (see above), information_uri (tool.driver.informationUri;
-- left out when not given).
local text = require "eksegress.report.text"
local doc_util = require "eksegress.report.doc"
local json = require "eksegress.report.json"

local M = {}

M.SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
M.MODE_RULE = "egress_mode_required"

local LEVEL = { blocking = "error", warning = "warning", info = "note" }

local function str(v) return text.utf8_clean(doc_util.str(v)) end
-- Like str, but nil for a missing value (so the property is left out).
local function opt(v)
  if text.is_null(v) then return nil end
  return str(v)
end

-- The rules table: the list in order, and an index by id.
local function rules_builder()
  local list, index = {}, {}
  local b = {}
  function b.add(rule)
    if index[rule.id] then return end
    list[#list + 1] = rule
    index[rule.id] = #list - 1
  end
  function b.index(id) return index[id] end
  function b.list() return list end
  return b
end

local function descriptor(r)
  local id = str(r.id)
  local title = text.is_null(r.title) and id or str(r.title)
  local help = text.is_null(r.help) and ("See the finding's message for what was seen and the fix command.")
    or str(r.help)
  local full = text.is_null(r.description) and title or str(r.description)
  local sev = LEVEL[r.severity] and r.severity or "warning"
  return {
    id = id,
    shortDescription = { text = title },
    fullDescription = { text = full },
    help = { text = help },
    defaultConfiguration = { level = LEVEL[sev] },
    properties = { severity = sev },
  }
end

local function mode_rule(required)
  return {
    id = M.MODE_RULE,
    shortDescription = { text = "The cluster's control plane egress mode is the required one" },
    fullDescription = { text = ("Every audited cluster must run control plane egress mode %s "
      .. "(resourcesVpcConfig.controlPlaneEgressMode)."):format(required) },
    help = { text = "Plan the switch with `eksegress plan --region REGION --cluster NAME --out PLAN.json`: it "
      .. "runs the network preflight (fix its blocking findings first) and writes a plan to review; then run "
      .. "the `eksegress apply` command it prints. Switching AWS_MANAGED to CUSTOMER_ROUTED is permanent: it "
      .. "cannot be switched back. The result's fix property holds the plan command for that cluster; a "
      .. "cluster already CUSTOMER_ROUTED cannot return to AWS_MANAGED, and a mode that is UNKNOWN or "
      .. "undocumented needs a person to look at it." },
    defaultConfiguration = { level = "error" },
    properties = { severity = "blocking" },
  }
end

local function cluster_location(account, region, name, resources)
  local lls = { { name = str(name), fullyQualifiedName = doc_util.where(account, region, name), kind = "resource" } }
  for _, id in ipairs(doc_util.list(resources)) do
    local s = str(id)
    if s ~= "" and s ~= str(name) then
      lls[#lls + 1] = { name = s, fullyQualifiedName = doc_util.where(account, region, s), kind = "resource" }
    end
  end
  return { { logicalLocations = lls } }
end

local function finding_result(f, rules)
  local r = f.result
  local id = str(r.id)
  if not rules.index(id) then rules.add(descriptor(r)) end
  local where = doc_util.where(f.account, f.region, f.cluster)
  local msg = ("%s: %s"):format(where, str(r.message))
  local fix = opt(r.fix)
  if fix then msg = msg .. "\nFix: " .. fix end
  local res = {
    ruleId = id, ruleIndex = rules.index(id),
    message = { text = msg },
    locations = cluster_location(f.account, f.region, f.cluster, r.resources),
    partialFingerprints = { ["eksegressFinding/v1"] = where .. "/" .. id },
    properties = { account = str(f.account), region = str(f.region), cluster = str(f.cluster),
                   vpc_id = opt(f.vpc_id), status = str(r.status),
                   severity = str(r.severity), resources = doc_util.list(r.resources),
                   evidence = type(r.evidence) == "table" and r.evidence or nil, fix = fix },
  }
  if r.status == "not_evaluated" then
    res.kind, res.level = "review", "none"
    res.message.text = ("%s: not evaluated: %s"):format(where, str(r.message))
  else
    res.kind, res.level = "fail", LEVEL[r.severity] or "warning"
  end
  return res
end

local function mode_result(c, required, rules)
  local mode = doc_util.mode(c)
  local where = doc_util.where(c.account, c.region, c.name)
  local fix
  if required == "CUSTOMER_ROUTED" and mode == "AWS_MANAGED" then
    -- One command a shell accepts: the plan runs the preflight and prints the
    -- apply command to review and run; the switch itself goes through the guard.
    fix = ("eksegress plan --region %s --cluster %s --out %s"):format(doc_util.shell_word(c.region),
      doc_util.shell_word(c.name), doc_util.shell_word(str(c.name) .. ".plan.json"))
  end
  local msg = ("%s runs egress mode %s; %s is required."):format(where, str(mode), required)
  if fix then
    msg = msg .. "\nFix: " .. fix .. "\nthen review the plan and run the eksegress apply command it prints "
      .. "(the switch is permanent)."
  end
  return {
    ruleId = M.MODE_RULE, ruleIndex = rules.index(M.MODE_RULE), kind = "fail", level = "error",
    message = { text = msg },
    locations = cluster_location(c.account, c.region, c.name, nil),
    partialFingerprints = { ["eksegressFinding/v1"] = where .. "/" .. M.MODE_RULE },
    properties = { account = str(c.account), region = str(c.region), cluster = str(c.name),
                   egress_mode = str(mode), required = required, fix = fix },
  }
end

local function notifications(errs)
  local list = {}
  for _, e in ipairs(errs) do
    local n = {
      level = "error",
      message = { text = ("%s could not be read: %s: %s"):format(doc_util.error_target(e), str(e.code),
        str(e.message)) },
      descriptor = { id = str(e.code) ~= "" and str(e.code) or "Error" },
      properties = { target = opt(e.target), account = opt(e.account), region = opt(e.region),
                     cluster = opt(e.cluster), status = tonumber(e.status), request_id = opt(e.request_id) },
    }
    if not text.is_null(e.account) then
      local fq = doc_util.where(e.account, e.region, e.cluster)
      if text.is_null(e.region) then fq = str(e.account) end
      n.locations = { { logicalLocations = { { fullyQualifiedName = fq, kind = "resource" } } } }
    end
    list[#list + 1] = n
  end
  return list
end

--- The SARIF log as a Lua table (for the specs and for callers that merge
-- runs); M.render encodes it.
function M.log(kind, doc, opts)
  local rules = rules_builder()
  for _, r in ipairs(type(opts.rules) == "table" and opts.rules or {}) do
    if type(r) == "table" and type(r.id) == "string" and r.id ~= "" then rules.add(descriptor(r)) end
  end
  local required = kind == "audit" and not text.is_null(doc.require) and str(doc.require) or nil
  if required then rules.add(mode_rule(required)) end

  local results = {}
  if required then
    for _, c in ipairs(doc_util.list(doc.clusters)) do
      if c.compliant == false then results[#results + 1] = mode_result(c, required, rules) end
    end
  end
  for _, f in ipairs(doc_util.findings(doc)) do
    local st = f.result.status
    if st == "fail" or st == "not_evaluated" then results[#results + 1] = finding_result(f, rules) end
  end

  local tool = type(doc.tool) == "table" and doc.tool or {}
  local errs = doc_util.list(doc.errors)
  local invocation = { executionSuccessful = #errs == 0, toolExecutionNotifications = notifications(errs) }
  invocation.endTimeUtc = opt(doc.generated_at)
  return {
    ["$schema"] = M.SCHEMA_URI,
    version = "2.1.0",
    runs = { {
      tool = { driver = {
        name = text.is_null(tool.name) and "eksegress" or str(tool.name),
        version = opt(tool.version),
        informationUri = opts.information_uri,
        rules = rules.list(),
      } },
      invocations = { invocation },
      results = results,
      properties = { schema = doc_util.SCHEMAS[kind], require = required },
    } },
  }
end

-- SARIF's own keys in the order its specification lists them, so the file
-- reads naturally; json.encode puts the rest in byte order.
local SARIF_ORDER = {
  "$schema", "id", "ruleId", "ruleIndex", "name", "version", "informationUri", "kind", "level", "message",
  "text", "runs", "tool", "driver", "rules", "invocations", "executionSuccessful", "endTimeUtc",
  "toolExecutionNotifications", "results", "locations", "logicalLocations", "fullyQualifiedName",
  "partialFingerprints", "shortDescription", "fullDescription", "help", "defaultConfiguration",
  "descriptor", "properties",
}

--- Renderer entry (report.render).
function M.render(kind, doc, opts)
  return json.encode(M.log(kind, doc, opts), { key_order = SARIF_ORDER, arrays = { "results", "rules",
    "toolExecutionNotifications", "resources", "locations", "logicalLocations", "runs", "invocations" } })
end

return M
