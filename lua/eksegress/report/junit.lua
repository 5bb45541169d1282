--- The `junit` format (.junit.xml): JUnit XML as CI systems read it
-- (GitLab, Jenkins, GitHub test reporters, Azure DevOps).
--
-- audit: one test case per cluster (classname "account/region", name the
-- cluster), failing when the cluster does not have the required mode or
-- has blocking preflight findings; one test case per target that could not
-- be read, as an <error>. preflight: one test suite per cluster (name
-- "account/region/cluster"), one test case per check, failing for a failed
-- blocking or warning check, skipped when the check was not evaluated; an
-- "errors" suite holds the clusters that could not be checked.
--
-- Everything is XML-escaped (text.xml); characters XML 1.0 cannot carry
-- become visible escapes, so the file always parses.
local text = require "eksegress.report.text"
local doc_util = require "eksegress.report.doc"
local json = require "eksegress.report.json"

local M = {}

local function attrs(list)
  local parts = {}
  for i = 1, #list, 2 do
    local v = list[i + 1]
    if v ~= nil then parts[#parts + 1] = (' %s="%s"'):format(list[i], text.xml(tostring(v), true)) end
  end
  return table.concat(parts)
end

-- JUnit's timestamp is a local date-time without a zone; UTC reports
-- (ending in Z) give one, others none rather than a wrong one.
local function timestamp(doc)
  local s = doc_util.str(doc.generated_at)
  return s:match("^(%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d)[.%d]*Z$")
end

-- A test case: {classname, name, kind = nil|"failure"|"error"|"skipped",
-- message, type, body, out}.
local function testcase(out, tc)
  local head = "    <testcase" .. attrs{ "classname", tc.classname, "name", tc.name }
  if not tc.kind and not tc.out then
    out[#out + 1] = head .. "/>"
    return
  end
  out[#out + 1] = head .. ">"
  if tc.kind == "skipped" then
    out[#out + 1] = "      <skipped" .. attrs{ "message", tc.message } .. "/>"
  elseif tc.kind then
    out[#out + 1] = ("      <%s%s>%s</%s>"):format(tc.kind, attrs{ "message", tc.message, "type", tc.type },
      text.xml(tc.body or ""), tc.kind)
  end
  if tc.out then out[#out + 1] = "      <system-out>" .. text.xml(tc.out) .. "</system-out>" end
  out[#out + 1] = "    </testcase>"
end

local function counts(cases)
  local c = { tests = #cases, failures = 0, errors = 0, skipped = 0 }
  for _, tc in ipairs(cases) do
    if tc.kind == "failure" then c.failures = c.failures + 1
    elseif tc.kind == "error" then c.errors = c.errors + 1
    elseif tc.kind == "skipped" then c.skipped = c.skipped + 1 end
  end
  return c
end

local function document(name, suites, stamp, properties)
  local total = { tests = 0, failures = 0, errors = 0, skipped = 0 }
  for _, s in ipairs(suites) do
    s.counts = counts(s.cases)
    for k, v in pairs(s.counts) do total[k] = total[k] + v end
  end
  local out = { '<?xml version="1.0" encoding="UTF-8"?>',
    "<testsuites" .. attrs{ "name", name, "tests", total.tests, "failures", total.failures,
      "errors", total.errors, "skipped", total.skipped } .. ">" }
  for _, s in ipairs(suites) do
    local c = s.counts
    out[#out + 1] = "  <testsuite" .. attrs{ "name", s.name, "tests", c.tests, "failures", c.failures,
      "errors", c.errors, "skipped", c.skipped, "timestamp", stamp } .. ">"
    if properties and #properties > 0 then
      out[#out + 1] = "    <properties>"
      for i = 1, #properties, 2 do
        out[#out + 1] = "      <property" .. attrs{ "name", properties[i], "value", properties[i + 1] } .. "/>"
      end
      out[#out + 1] = "    </properties>"
    end
    for _, tc in ipairs(s.cases) do testcase(out, tc) end
    out[#out + 1] = "  </testsuite>"
  end
  out[#out + 1] = "</testsuites>"
  return table.concat(out, "\n") .. "\n"
end

local function error_cases(errs)
  local cases = {}
  for _, e in ipairs(errs) do
    local classname = doc_util.where(e.account, e.region)
    if text.is_null(e.region) then classname = doc_util.str(e.account) end
    cases[#cases + 1] = {
      classname = classname ~= "" and classname or "eksegress",
      name = doc_util.error_target(e),
      kind = "error", type = doc_util.str(e.code),
      message = doc_util.str(e.code) .. ": " .. doc_util.str(e.message),
      body = ("%s could not be read: %s\n%s\nHTTP status: %s\nrequest id: %s"):format(doc_util.error_target(e),
        doc_util.str(e.code), doc_util.str(e.message), doc_util.str(e.status), doc_util.str(e.request_id)),
    }
  end
  return cases
end

local function tool_property(doc)
  local tool = type(doc.tool) == "table" and doc.tool or {}
  return (doc_util.str(tool.name) .. " " .. doc_util.str(tool.version)):gsub("^ +", "")
end

local function finding_lines(r)
  local lines = { doc_util.str(r.title), doc_util.str(r.message) }
  if #doc_util.list(r.resources) > 0 then lines[#lines + 1] = "resources: " .. doc_util.join(r.resources, " ") end
  if type(r.evidence) == "table" then
    lines[#lines + 1] = "evidence: " .. json.encode(r.evidence, { pretty = false })
  end
  if not text.is_null(r.fix) then lines[#lines + 1] = "fix: " .. doc_util.str(r.fix) end
  return table.concat(lines, "\n")
end

local function audit(doc)
  local req = not text.is_null(doc.require) and doc_util.str(doc.require) or nil
  local cases = {}
  for _, c in ipairs(doc_util.list(doc.clusters)) do
    local mode = doc_util.mode(c)
    local tc = {
      classname = doc_util.where(c.account, c.region), name = doc_util.str(c.name),
      out = ("egress mode: %s\nstatus: %s\nversion: %s\narn: %s"):format(mode, doc_util.str(c.status),
        doc_util.str(c.version), doc_util.str(c.arn)),
    }
    local problems, types = {}, {}
    if c.compliant == false then
      problems[#problems + 1] = ("egress mode %s, required %s"):format(mode, req or "(none)")
      types[#types + 1] = "egress_mode_required"
    end
    local body = {}
    if type(c.preflight) == "table" then
      local b = tonumber(c.preflight.blocking) or 0
      if b > 0 then
        problems[#problems + 1] = ("%d blocking preflight finding%s"):format(b, b == 1 and "" or "s")
        types[#types + 1] = "preflight_blocking"
      end
      for _, r in ipairs(doc_util.list(c.preflight.results)) do
        if r.status == "fail" and r.severity == "blocking" then
          body[#body + 1] = "[" .. doc_util.str(r.id) .. "] " .. finding_lines(r)
        end
      end
    end
    if #problems > 0 then
      tc.kind, tc.message, tc.type = "failure", table.concat(problems, "; "), table.concat(types, ",")
      tc.body = tc.message .. (#body > 0 and ("\n\n" .. table.concat(body, "\n\n")) or "")
    end
    cases[#cases + 1] = tc
  end
  for _, tc in ipairs(error_cases(doc_util.list(doc.errors))) do cases[#cases + 1] = tc end
  local props = { "tool", tool_property(doc), "require", req or "" }
  return document("eksegress audit", { { name = "eksegress audit", cases = cases } }, timestamp(doc), props)
end

local function preflight(doc)
  local suites = {}
  for _, c in ipairs(doc_util.list(doc.clusters)) do
    local where = doc_util.where(c.account, c.region, c.name)
    local cases = {}
    for _, r in ipairs(doc_util.list(c.results)) do
      local tc = { classname = where, name = doc_util.str(r.id) }
      if r.status == "not_evaluated" then
        tc.kind, tc.message = "skipped", "not evaluated: " .. doc_util.str(r.message)
      elseif doc_util.counts_against(r) then
        tc.kind, tc.type = "failure", doc_util.str(r.severity)
        tc.message, tc.body = doc_util.str(r.message), finding_lines(r)
      elseif r.status == "fail" then
        tc.out = doc_util.str(r.severity) .. ": " .. finding_lines(r)
      end
      cases[#cases + 1] = tc
    end
    suites[#suites + 1] = { name = where, cases = cases }
  end
  local errs = doc_util.list(doc.errors)
  if #errs > 0 then suites[#suites + 1] = { name = "errors", cases = error_cases(errs) } end
  return document("eksegress preflight", suites, timestamp(doc), { "tool", tool_property(doc) })
end

--- Renderer entry (report.render). No options.
function M.render(kind, doc)
  return kind == "audit" and audit(doc) or preflight(doc)
end

return M
