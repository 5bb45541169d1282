--- The `markdown` format (GitHub-flavoured tables): a summary and tables,
-- for a pull request comment, a wiki page or a CI job summary.
--
-- Values are escaped for a table cell: every character Markdown or inline
-- HTML could act on (\ ` * [ ] < > | ~ # ! &, and _ except between two
-- letters or digits, where it cannot start emphasis) is backslash-escaped, so a
-- value reads back exactly and never turns into a link, markup or a column
-- break; line breaks inside a value become spaces. Fix commands go in code
-- spans whose fence is longer than any run of backticks inside them, with
-- "|" escaped (GFM splits cells there even inside code); a fix of several
-- commands gets one code span per line, joined by <br> (a table cell cannot
-- hold a line break), so no two commands are ever joined into one line.
--
-- Option: title (the heading; default "eksegress audit" / "eksegress
-- preflight").
local text = require "eksegress.report.text"
local doc_util = require "eksegress.report.doc"

local M = {}

--- Escape a value for a Markdown table cell (exposed for the specs).
function M.escape(v)
  local s = text.safe(doc_util.str(v), true)
  -- An underscore between two letters or digits cannot start or end
  -- emphasis, so AWS_MANAGED stays readable; any other one is escaped.
  return (s:gsub("()([\\`*_%[%]<>|~#!&])", function(at, ch)
    if ch == "_" and s:sub(at - 1, at - 1):find("^%w$") and s:sub(at + 1, at + 1):find("^%w$") then return "_" end
    return "\\" .. ch
  end))
end

local function code_span(s)
  s = text.safe(s, true)
  local longest = 0
  for run in s:gmatch("`+") do longest = math.max(longest, #run) end
  local fence = string.rep("`", longest + 1)
  -- A leading or trailing backtick would merge with the fence.
  if s:find("^`") or s:find("`$") then s = " " .. s .. " " end
  -- GFM splits table cells at "|" even inside code spans, unless escaped
  -- (and then shows the "|" alone).
  return fence .. s:gsub("|", "\\|") .. fence
end

local function code(s)
  local spans = {}
  for i, line in ipairs(doc_util.lines(s)) do spans[i] = code_span(line) end
  return table.concat(spans, "<br>")
end

local STATUS = { pass = "pass", fail = "**fail**", not_evaluated = "not evaluated" }

local function fix_cell(r)
  return text.is_null(r.fix) and "" or code(doc_util.str(r.fix))
end

-- A GitHub table, or the sentence `empty` (when given) where there are no rows.
local function tbl(out, headers, rows, empty)
  if empty and #rows == 0 then
    out[#out + 1] = empty
    out[#out + 1] = ""
    return
  end
  out[#out + 1] = "| " .. table.concat(headers, " | ") .. " |"
  local rule = {}
  for i = 1, #headers do rule[i] = "---" end
  out[#out + 1] = "| " .. table.concat(rule, " | ") .. " |"
  for _, r in ipairs(rows) do out[#out + 1] = "| " .. table.concat(r, " | ") .. " |" end
  out[#out + 1] = ""
end

local function yes_no(v)
  if v == true then return "yes" elseif v == false then return "**no**" end
  return ""
end

local function header(out, opts, default, doc)
  out[#out + 1] = "# " .. M.escape(opts.title or default)
  out[#out + 1] = ""
  local gen = doc_util.str(doc.generated_at)
  local tool = type(doc.tool) == "table" and doc.tool or {}
  out[#out + 1] = ("Generated %s by %s %s."):format(M.escape(gen), M.escape(tool.name or "eksegress"),
    M.escape(tool.version))
  out[#out + 1] = ""
end

local function errors_section(out, errs)
  if #errs == 0 then return end
  out[#out + 1] = ("## Errors (%d)"):format(#errs)
  out[#out + 1] = ""
  out[#out + 1] = "These targets could not be read; their clusters are not in the report."
  out[#out + 1] = ""
  local rows = {}
  for _, e in ipairs(errs) do
    rows[#rows + 1] = { M.escape(e.target), M.escape(e.account), M.escape(e.region), M.escape(e.cluster),
                        M.escape(e.code), M.escape(e.message) }
  end
  tbl(out, { "Target", "Account", "Region", "Cluster", "Code", "Message" }, rows)
end

local function audit(doc, opts)
  local out = {}
  header(out, opts, "eksegress audit", doc)
  local clusters = doc_util.list(doc.clusters)
  local t = doc_util.tally(clusters)
  local req = not text.is_null(doc.require) and doc_util.str(doc.require) or nil

  out[#out + 1] = "## Summary"
  out[#out + 1] = ""
  out[#out + 1] = ("- Clusters: %d in %d accounts and %d regions"):format(t.clusters,
    #doc_util.sorted_keys(t.by_account), #doc_util.sorted_keys(t.by_region))
  if req then
    out[#out + 1] = ("- Required mode: %s; compliant: %d; non-compliant: %d"):format(M.escape(req),
      t.compliant, t.noncompliant)
  end
  local later = doc_util.later_passes(doc)
  if later then out[#out + 1] = "- " .. M.escape(later:sub(1, 1):upper() .. later:sub(2)) end
  out[#out + 1] = ("- Errors: %d"):format(#doc_util.list(doc.errors))
  out[#out + 1] = ""
  local modes = doc_util.modes_of(t.by_mode)
  for _, dim in ipairs{ { "Account", t.by_account }, { "Region", t.by_region } } do
    local headers = { dim[1] }
    for _, m in ipairs(modes) do headers[#headers + 1] = M.escape(m) end
    headers[#headers + 1] = "Total"
    local rows = {}
    for _, key in ipairs(doc_util.sorted_keys(dim[2])) do
      local r, sum = { M.escape(key) }, 0
      for _, m in ipairs(modes) do
        local n = dim[2][key][m] or 0
        r[#r + 1], sum = tostring(n), sum + n
      end
      r[#r + 1] = tostring(sum)
      rows[#rows + 1] = r
    end
    if #rows > 0 then tbl(out, headers, rows) end
  end

  out[#out + 1] = "## Clusters"
  out[#out + 1] = ""
  local with_preflight = false
  for _, c in ipairs(clusters) do if type(c.preflight) == "table" then with_preflight = true end end
  local headers = { "Account", "Region", "Name", "Egress mode", "Status", "Version", "Public endpoint",
                    "Private endpoint" }
  if req then headers[#headers + 1] = "Compliant" end
  if with_preflight then headers[#headers + 1] = "Blocking"; headers[#headers + 1] = "Warnings" end
  local rows = {}
  for _, c in ipairs(clusters) do
    local r = { M.escape(c.account), M.escape(c.region), M.escape(c.name), M.escape(doc_util.mode(c)),
                M.escape(c.status), M.escape(c.version), M.escape(c.endpoint_public_access),
                M.escape(c.endpoint_private_access) }
    if req then r[#r + 1] = yes_no(c.compliant) end
    if with_preflight then
      local p = type(c.preflight) == "table" and c.preflight or {}
      r[#r + 1] = M.escape(p.blocking)
      r[#r + 1] = M.escape(p.warnings)
    end
    rows[#rows + 1] = r
  end
  tbl(out, headers, rows, "No clusters found.")

  if with_preflight then
    -- What the preflight found, with the fixes: every result that did not pass.
    local found = {}
    for _, f in ipairs(doc_util.findings(doc)) do
      local r = f.result
      if r.status ~= "pass" then
        found[#found + 1] = { M.escape(doc_util.where(f.account, f.region, f.cluster)), M.escape(r.id),
                              STATUS[r.status] or M.escape(r.status), M.escape(r.severity), M.escape(r.message),
                              fix_cell(r) }
      end
    end
    out[#out + 1] = "## Preflight findings"
    out[#out + 1] = ""
    tbl(out, { "Cluster", "Check", "Status", "Severity", "Finding", "Fix" }, found, "Every check passed.")
  end

  local skipped = {}
  for _, a in ipairs(doc_util.list(doc.accounts)) do
    if a.outcome ~= "audited" then
      skipped[#skipped + 1] = { M.escape(a.id), M.escape(a.name), M.escape(a.state), M.escape(a.outcome),
                                M.escape(a.reason) }
    end
  end
  if #skipped > 0 then
    out[#out + 1] = "## Accounts not audited"
    out[#out + 1] = ""
    tbl(out, { "Account", "Name", "State", "Outcome", "Reason" }, skipped)
  end
  errors_section(out, doc_util.list(doc.errors))
  return out
end

local function preflight(doc, opts)
  local out = {}
  header(out, opts, "eksegress preflight", doc)
  local clusters = doc_util.list(doc.clusters)
  out[#out + 1] = "## Summary"
  out[#out + 1] = ""
  local rows = {}
  for _, c in ipairs(clusters) do
    rows[#rows + 1] = { M.escape(c.account), M.escape(c.region), M.escape(c.name), M.escape(c.vpc_id),
                        M.escape(doc_util.mode(c)), M.escape(c.blocking), M.escape(c.warnings) }
  end
  tbl(out, { "Account", "Region", "Cluster", "VPC", "Egress mode", "Blocking", "Warnings" }, rows,
    "No clusters checked.")
  for _, c in ipairs(clusters) do
    out[#out + 1] = "## " .. M.escape(doc_util.where(c.account, c.region, c.name))
    out[#out + 1] = ""
    local results = {}
    for _, r in ipairs(doc_util.list(c.results)) do
      results[#results + 1] = { M.escape(r.id), STATUS[r.status] or M.escape(r.status), M.escape(r.severity),
                                M.escape(r.message), M.escape(doc_util.join(r.resources, " ")), fix_cell(r) }
    end
    tbl(out, { "Check", "Status", "Severity", "Finding", "Resources", "Fix" }, results, "No checks ran.")
  end
  errors_section(out, doc_util.list(doc.errors))
  return out
end

--- Renderer entry (report.render).
function M.render(kind, doc, opts)
  local out = (kind == "audit" and audit or preflight)(doc, opts)
  return table.concat(out, "\n")
end

return M
