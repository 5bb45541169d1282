--- Reports: the renderers of the documents the workflows return, and report
-- files.
--
--     local report = require "eksegress.report"
--     io.write(report.render("audit", "table", doc, { color = false }))
--     local ok, err = report.export("fleet.sarif", "audit", doc, { rules = checks.list() })
--     report.stream("audit", "json", doc, {}, function(chunk) return io.stdout:write(chunk) end)
--
-- Kinds: "audit" (schema "eksegress/audit/1") and "preflight"
-- ("eksegress/preflight/1"); docs/schemas/ has their JSON Schemas.
-- Formats: table, json, csv, markdown, html, junit, sarif. Every renderer is
-- pure: a document and options in, a string out (json and csv also write
-- to a function a chunk at a time: report.stream, report.export). Nothing under report/
-- requires the client, the runtime or the C core, so a script can render a
-- saved document anywhere Lua and cjson run.
--
-- Options (one table for every format; each reads its own, so a caller may
-- pass the same table to several formats; an unknown name raises):
--   color (boolean, table; default true)     ANSI colour
--   columns (integer >= 1, table)            terminal width (at least 40 is used);
--                                            long values are cut
--   pretty (boolean, json; default true)     indented output
--   indent (integer 0-8, json; default 2)    spaces per level
--   formula_guard (boolean, csv; default true) quote values a spreadsheet would run
--   title (string, html and markdown)        the report's heading
--   rules (list, sarif)                      {id, severity, title, help} per check
--   information_uri (string, sarif)          tool.driver.informationUri
local errors = require "eksegress.errors"
local doc_util = require "eksegress.report.doc"

local M = {}

M.FORMATS = { "table", "json", "csv", "markdown", "html", "junit", "sarif" }
M.KINDS = { "audit", "preflight", "plan", "apply-result" }

local MODULES = {}
for _, f in ipairs(M.FORMATS) do MODULES[f] = "eksegress.report." .. f end

-- Longest first: ".junit.xml" before any shorter suffix.
M.EXTENSIONS = {
  { ".junit.xml", "junit" },
  { ".sarif", "sarif" },
  { ".json", "json" },
  { ".html", "html" },
  { ".csv", "csv" },
  { ".md", "markdown" },
}

local function is_bool(v) return type(v) == "boolean" end
local function int_in(lo, hi)
  return function(v) return math.type(v) == "integer" and v >= lo and v <= hi end
end
local function is_string(v) return type(v) == "string" end

local OPTIONS = {
  color = { is_bool, "a boolean" },
  columns = { int_in(1, 100000), "a positive integer" },
  pretty = { is_bool, "a boolean" },
  indent = { int_in(0, 8), "an integer from 0 to 8" },
  formula_guard = { is_bool, "a boolean" },
  title = { is_string, "a string" },
  rules = { function(v) return type(v) == "table" end, "a list of {id, severity, title, help}" },
  information_uri = { function(v) return type(v) == "string" and v:find("^%a[%w+.-]*:") ~= nil end,
                      "an absolute URI" },
}

local function check_opts(fname, opts)
  if opts == nil then return {} end
  if type(opts) ~= "table" then errors.misuse(fname .. ": options must be a table", 3) end
  for k, v in pairs(opts) do
    local spec = OPTIONS[k]
    if not spec then errors.misuse(("%s: unknown option %s"):format(fname, tostring(k)), 3) end
    if not spec[1](v) then errors.misuse(("%s: option %s must be %s"):format(fname, k, spec[2]), 3) end
  end
  return opts
end

local function check_kind(fname, kind, doc)
  if not doc_util.SCHEMAS[kind] then
    errors.misuse(("%s: kind must be one of %s, not %s"):format(fname, table.concat(M.KINDS, ", "),
      tostring(kind)), 3)
  end
  if type(doc) ~= "table" then errors.misuse(fname .. ": the document must be a table", 3) end
  if doc.schema ~= nil and doc.schema ~= doc_util.SCHEMAS[kind] then
    errors.misuse(("%s: a %s report needs a %q document, not %q"):format(fname, kind,
      doc_util.SCHEMAS[kind], tostring(doc.schema)), 3)
  end
end

--- The format a report file's name asks for.
-- @tparam string path a file name
-- @treturn string|nil the format, or nil and an error (code UnsupportedExport)
function M.for_extension(path)
  if type(path) ~= "string" then errors.misuse("report.for_extension: path must be a string", 2) end
  local lower = path:lower()
  for _, e in ipairs(M.EXTENSIONS) do
    if #lower > #e[1] and lower:sub(-#e[1]) == e[1] and lower:sub(-#e[1] - 1, -#e[1] - 1) ~= "/" then
      return e[2]
    end
  end
  local names = {}
  for _, e in ipairs(M.EXTENSIONS) do names[#names + 1] = e[1] end
  return nil, errors.new("UnsupportedExport", ("cannot tell the report format of %q: name it with one of %s")
    :format(path, table.concat(names, ", ")))
end

-- The module of a format (the kind and document already checked). Raises
-- at the level of the caller of render/stream.
local function renderer(fname, kind, format)
  if not MODULES[format] then
    errors.misuse(("%s: unknown format %s (one of %s)"):format(fname, tostring(format),
      table.concat(M.FORMATS, ", ")), 3)
  end
  local only = doc_util.KIND_FORMATS[kind]
  if only and not only[format] then
    errors.misuse(("%s: a %s renders as table or json, not %s"):format(fname, kind, format), 3)
  end
  return require(MODULES[format])
end

-- The report through write(chunk): piece by piece where the format can
-- (json, csv), else rendered whole and written once.
local function write_with(mod, kind, doc, opts, write)
  if mod.stream then return mod.stream(kind, doc, opts, write) end
  local ok, err = write(mod.render(kind, doc, opts))
  if not ok then return nil, err == nil and "write failed" or err end
  return true
end

--- Render a document.
-- @tparam string kind "audit" or "preflight"
-- @tparam string format one of M.FORMATS
-- @tparam table doc the document (as the workflow returned it, or decoded)
-- @tparam[opt] table opts see the module comment
-- @treturn string the report
function M.render(kind, format, doc, opts)
  check_kind("report.render", kind, doc)
  local mod = renderer("report.render", kind, format)
  opts = check_opts("report.render", opts)
  return mod.render(kind, doc, opts)
end

--- Render a document to `write(chunk)`, a chunk at a time: the same bytes
-- as render, but the json and csv formats never hold the whole report in
-- memory (a 10,000-cluster audit as one string cost more than the audit).
-- @tparam string kind as for render
-- @tparam string format as for render
-- @tparam table doc the document
-- @tparam[opt] table opts see the module comment
-- @tparam function write chunk -> true | nil, err (as file:write)
-- @treturn true|nil true, or nil and the error write returned (rendering
--   stops at the first failed write)
function M.stream(kind, format, doc, opts, write)
  check_kind("report.stream", kind, doc)
  local mod = renderer("report.stream", kind, format)
  opts = check_opts("report.stream", opts)
  if type(write) ~= "function" then errors.misuse("report.stream: write must be a function", 2) end
  return write_with(mod, kind, doc, opts, write)
end

--- Write a report file, its format chosen by the extension, a chunk at a
-- time. The file appears whole or not at all (see report.atomic).
-- @treturn true|nil true, or nil and an error (UnsupportedExport,
--   ExportFailed) with the path in the message
function M.export(path, kind, doc, opts)
  if type(path) ~= "string" or path == "" then errors.misuse("report.export: path must be a non-empty string", 2) end
  check_kind("report.export", kind, doc)
  opts = check_opts("report.export", opts)
  local format, err = M.for_extension(path)
  if not format then return nil, err end
  local mod = require(MODULES[format])
  return require("eksegress.report.atomic").write(path, function(write)
    return write_with(mod, kind, doc, opts, write)
  end)
end

return M
