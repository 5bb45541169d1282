--- The `csv` format (RFC 4180): a header row, then one row per cluster
-- (audit) or per check result (preflight). Lines end with CRLF; a field
-- holding a comma, a double quote, CR or LF is quoted, with inner quotes
-- doubled. Booleans are true/false, missing values empty, lists joined with
-- a space, evidence as compact JSON. Errors are not rows here: the JSON and
-- HTML reports carry them.
--
-- Spreadsheet formula injection: a spreadsheet opening the file runs a
-- cell that starts with =, +, -, @, TAB or CR as a formula, and report
-- values come from AWS (an error message, a tag) that an attacker may
-- control. With `formula_guard` (the default) such a text value gets a
-- leading apostrophe ("'=1+2"), which spreadsheets display as text; numbers
-- we write are never changed. Pass formula_guard = false for a consumer that
-- is a program, which then reads every value exactly.
local text = require "eksegress.report.text"
local doc_util = require "eksegress.report.doc"
local json = require "eksegress.report.json"
local sink = require "eksegress.report.sink"

local M = {}

M.AUDIT_COLUMNS = {
  "account", "region", "name", "arn", "status", "version", "egress_mode",
  "endpoint_public_access", "endpoint_private_access", "platform_version", "created_at", "vpc_id",
  "compliant", "preflight_blocking", "preflight_warnings",
}

M.PREFLIGHT_COLUMNS = {
  "account", "region", "cluster", "vpc_id", "egress_mode",
  "check", "status", "severity", "title", "message", "resources", "fix", "evidence",
}

local function field(v, guard)
  if type(v) == "number" then return text.number(v) or "" end
  local s = text.utf8_clean(doc_util.str(v))
  if guard and type(v) == "string" and s:find("^[=+%-@\t\r]") then s = "'" .. s end
  if s:find('[,"\r\n]') then s = '"' .. s:gsub('"', '""') .. '"' end
  return s
end

local function row(values, n, guard)
  local cells = {}
  for i = 1, n do cells[i] = field(values[i], guard) end
  return table.concat(cells, ",")
end

local function audit_rows(doc, emit)
  for _, c in ipairs(doc_util.list(doc.clusters)) do
    local p = type(c.preflight) == "table" and c.preflight or {}
    emit{ c.account, c.region, c.name, c.arn, c.status, c.version, doc_util.mode(c),
          c.endpoint_public_access, c.endpoint_private_access, c.platform_version, c.created_at, c.vpc_id,
          c.compliant, p.blocking, p.warnings }
  end
end

local function preflight_rows(doc, emit)
  for _, f in ipairs(doc_util.findings(doc)) do
    local r = f.result
    local evidence = type(r.evidence) == "table" and json.encode(r.evidence, { pretty = false }) or nil
    emit{ f.account, f.region, f.cluster, f.vpc_id, f.egress_mode, r.id, r.status, r.severity, r.title,
          r.message, doc_util.join(r.resources, " "), r.fix, evidence }
  end
end

-- Puts the header and the rows, each line ending with CRLF, into a sink.
local function filler(kind, doc, opts)
  local guard = opts.formula_guard ~= false
  local columns = kind == "audit" and M.AUDIT_COLUMNS or M.PREFLIGHT_COLUMNS
  return function(s)
    sink.put(s, row(columns, #columns, false) .. "\r\n")
    local emit = function(values) sink.put(s, row(values, #columns, guard) .. "\r\n") end
    if kind == "audit" then audit_rows(doc, emit) else preflight_rows(doc, emit) end
  end
end

--- Renderer entry (report.render). Option: formula_guard (default true).
function M.render(kind, doc, opts)
  return sink.collect(filler(kind, doc, opts))
end

--- Streaming renderer entry (report.stream): the same bytes as render.
function M.stream(kind, doc, opts, write)
  return sink.run(write, filler(kind, doc, opts))
end

return M
