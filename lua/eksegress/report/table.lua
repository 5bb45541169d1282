--- The `table` format: for people at a terminal. Aligned columns that fit
-- the terminal (the widest columns are cut first, marked with "…"), optional
-- ANSI colour, and a summary block. Fix commands are printed whole, never
-- cut, so they can be copied.
--
-- Every value passes text.safe first: a control character or escape
-- sequence inside a value (an error message, a cluster tag) is shown as
-- "\x1b", never sent to the terminal.
--
-- Options: color (default true; the CLI passes false when stdout is not a
-- terminal or NO_COLOR is set), columns (the terminal width, default 120;
-- at least 40 is used).
local text = require "eksegress.report.text"
local doc_util = require "eksegress.report.doc"

local M = {}

local SGR = { bold = "1", dim = "2", red = "31", green = "32", yellow = "33", magenta = "35", cyan = "36" }

local MODE_COLOR = { CUSTOMER_ROUTED = "green", AWS_MANAGED = "yellow", CUSTOMER_ISOLATED = "magenta",
                     UNKNOWN = "red" }

local function painter(opts)
  if opts.color == false then return function(s) return s end end
  return function(s, style)
    if not style or s == "" then return s end
    return "\27[" .. SGR[style] .. "m" .. s .. "\27[0m"
  end
end

local function cell(v, style)
  return { text = text.safe(doc_util.str(v), true), style = style }
end

-- Lay out rows of cells under headers, within `width` columns. Columns are
-- as wide as their widest value. When the total is too wide, free-text
-- columns (a header ending in "~", e.g. "MESSAGE~") give up width first,
-- down to 12 columns; then the widest column loses a column at a time, down
-- to its header's width (at least 6).
local function grid(out, paint, headers, rows, width, indent)
  indent = indent or ""
  local n, w, flex, names = #headers, {}, {}, {}
  for i, h in ipairs(headers) do
    flex[i] = h:sub(-1) == "~"
    names[i] = flex[i] and h:sub(1, -2) or h
    w[i] = text.width(names[i])
  end
  for _, r in ipairs(rows) do
    for i = 1, n do w[i] = math.max(w[i], text.width(r[i].text)) end
  end
  local function total()
    local t = #indent + 2 * (n - 1)
    for i = 1, n do t = t + w[i] end
    return t
  end
  local function shrink(only_flex)
    while total() > width do
      local widest, wi = 0, nil
      for i = 1, n do
        local floor = math.max(text.width(names[i]), only_flex and 12 or 6)
        if (flex[i] or not only_flex) and w[i] > floor and w[i] > widest then widest, wi = w[i], i end
      end
      if not wi then return end
      w[wi] = w[wi] - 1
    end
  end
  shrink(true)
  shrink(false)
  local function line(cells, style)
    local parts = {}
    for i = 1, n do
      local c = cells[i]
      local s = text.truncate(c.text, w[i])
      local gap = i < n and string.rep(" ", w[i] - text.width(s)) or "" -- no trailing spaces
      parts[i] = paint(s, style or c.style) .. gap
    end
    out[#out + 1] = indent .. table.concat(parts, "  ")
  end
  local head = {}
  for i, h in ipairs(names) do head[i] = { text = h } end
  line(head, "bold")
  for _, r in ipairs(rows) do line(r) end
end

-- Also the layout of the CLI's own tables (eksegress.cli.columns).
M.grid = grid

local function plural(n, one, many)
  return ("%d %s"):format(n, n == 1 and one or (many or one .. "s"))
end

local function endpoint(c)
  local pub, priv = c.endpoint_public_access, c.endpoint_private_access
  if pub == true and priv == true then return "both" end
  if pub == true then return "public" end
  if priv == true then return "private" end
  if pub == false and priv == false then return "none" end
  return ""
end

local function preflight_cell(p)
  if type(p) ~= "table" then return cell(nil) end
  if p.evaluated == false then return cell("not run", "yellow") end
  local b, wn = tonumber(p.blocking) or 0, tonumber(p.warnings) or 0
  if b == 0 and wn == 0 then return cell("ok", "green") end
  local parts = {}
  if b > 0 then parts[#parts + 1] = plural(b, "blocking", "blocking") end
  if wn > 0 then parts[#parts + 1] = plural(wn, "warning") end
  return cell(table.concat(parts, ", "), b > 0 and "red" or "yellow")
end

local function heading(out, paint, what, doc)
  local parts = { "eksegress " .. what }
  if not text.is_null(doc.generated_at) then parts[#parts + 1] = text.safe(doc_util.str(doc.generated_at), true) end
  out[#out + 1] = paint(table.concat(parts, " · "), "bold")
end

local function errors_block(out, paint, errs, width)
  if #errs == 0 then return end
  out[#out + 1] = ""
  out[#out + 1] = paint(("Errors (%d): these targets could not be read"):format(#errs), "red")
  local rows = {}
  for _, e in ipairs(errs) do
    rows[#rows + 1] = { cell(doc_util.error_target(e)), cell(e.code, "red"), cell(e.message) }
  end
  grid(out, paint, { "TARGET", "CODE", "MESSAGE~" }, rows, width, "  ")
end

local function audit(doc, paint, width)
  local out = {}
  heading(out, paint, "audit", doc)
  local req = not text.is_null(doc.require) and doc_util.str(doc.require) or nil
  out[#out + 1] = "required mode: " .. (req and text.safe(req, true) or "none")
  out[#out + 1] = ""
  local clusters = doc_util.list(doc.clusters)
  local with_preflight = false
  for _, c in ipairs(clusters) do
    if type(c.preflight) == "table" then with_preflight = true end
  end
  local headers = { "ACCOUNT", "REGION", "NAME", "MODE", "STATUS", "VERSION", "ENDPOINT~" }
  if req then headers[#headers + 1] = "COMPLIANT" end
  if with_preflight then headers[#headers + 1] = "PREFLIGHT~" end
  local rows = {}
  for _, c in ipairs(clusters) do
    local mode = doc_util.mode(c)
    local row = { cell(c.account), cell(c.region), cell(c.name), cell(mode, MODE_COLOR[mode] or "magenta"),
                  cell(c.status), cell(c.version), cell(endpoint(c)) }
    if req then
      local v = c.compliant
      row[#row + 1] = v == true and cell("yes", "green") or v == false and cell("no", "red") or cell(nil)
    end
    if with_preflight then row[#row + 1] = preflight_cell(c.preflight) end
    rows[#rows + 1] = row
  end
  if #rows > 0 then grid(out, paint, headers, rows, width) else out[#out + 1] = "No clusters found." end

  local t = doc_util.tally(clusters)
  out[#out + 1] = ""
  local n_accounts, n_regions = #doc_util.sorted_keys(t.by_account), #doc_util.sorted_keys(t.by_region)
  out[#out + 1] = paint(("Summary: %s in %s and %s"):format(plural(t.clusters, "cluster"),
    plural(n_accounts, "account"), plural(n_regions, "region")), "bold")
  local modes, mw = doc_util.modes_of(t.by_mode), 0
  for _, mode in ipairs(modes) do mw = math.max(mw, text.width(text.safe(mode, true))) end
  for _, mode in ipairs(modes) do
    local name = text.safe(mode, true)
    out[#out + 1] = "  " .. paint(name, MODE_COLOR[mode] or "magenta") .. string.rep(" ", mw - text.width(name))
      .. string.format("%6d", t.by_mode[mode])
  end
  if req then
    out[#out + 1] = ("  compliant with %s: %d, non-compliant: %s"):format(text.safe(req, true), t.compliant,
      paint(tostring(t.noncompliant), t.noncompliant > 0 and "red" or nil))
  end
  local later = doc_util.later_passes(doc)
  if later then out[#out + 1] = "  " .. later end
  local notes = {}
  for _, a in ipairs(doc_util.list(doc.accounts)) do
    if a.outcome == "skipped" or a.outcome == "error" then
      local name = text.is_null(a.name) and "" or (" (" .. doc_util.str(a.name) .. ")")
      local style = a.outcome == "error" and "red" or "yellow"
      notes[#notes + 1] = { cell(doc_util.str(a.id) .. name), cell(a.outcome, style), cell(a.reason) }
    end
  end
  if #notes > 0 then
    out[#out + 1] = ""
    out[#out + 1] = paint("Accounts not audited", "bold")
    grid(out, paint, { "ACCOUNT", "OUTCOME", "REASON~" }, notes, width, "  ")
  end
  errors_block(out, paint, doc_util.list(doc.errors), width)
  return out
end

local STATUS_STYLE = { pass = "green", fail = "red", not_evaluated = "yellow" }

local function preflight(doc, paint, width)
  local out = {}
  heading(out, paint, "preflight", doc)
  local clusters = doc_util.list(doc.clusters)
  local blocked, warned = 0, 0
  for _, c in ipairs(clusters) do
    out[#out + 1] = ""
    local b, wn = tonumber(c.blocking) or 0, tonumber(c.warnings) or 0
    if b > 0 then blocked = blocked + 1 elseif wn > 0 then warned = warned + 1 end
    local verdict = b > 0 and paint(plural(b, "blocking finding"), "red")
      or wn > 0 and paint(plural(wn, "warning"), "yellow") or paint("ready", "green")
    out[#out + 1] = paint(text.safe(doc_util.where(c.account, c.region, c.name), true), "bold") .. "  "
      .. text.safe(doc_util.str(c.vpc_id), true) .. "  " .. text.safe(doc_util.mode(c), true) .. "  " .. verdict
    local rows, fixes = {}, {}
    for _, r in ipairs(doc_util.list(c.results)) do
      local status = doc_util.str(r.status)
      local style = STATUS_STYLE[status]
      if status == "fail" and r.severity ~= "blocking" then style = r.severity == "warning" and "yellow" or "cyan" end
      rows[#rows + 1] = { cell(status == "not_evaluated" and "not evaluated" or status, style), cell(r.severity),
                          cell(r.id), cell(text.is_null(r.message) and r.title or r.message) }
      if status == "fail" and not text.is_null(r.fix) then fixes[#fixes + 1] = r end
    end
    if #rows > 0 then grid(out, paint, { "STATUS", "SEVERITY", "CHECK", "FINDING~" }, rows, width, "  ") end
    for _, r in ipairs(fixes) do
      out[#out + 1] = "  " .. paint("fix " .. text.safe(doc_util.str(r.id), true) .. ":", "cyan")
      for line in (text.safe(doc_util.str(r.fix)) .. "\n"):gmatch("(.-)\r?\n") do out[#out + 1] = "    " .. line end
    end
  end
  out[#out + 1] = ""
  out[#out + 1] = paint(("Summary: %s; %d with blocking findings, %d with warnings only"):format(
    plural(#clusters, "cluster"), blocked, warned), "bold")
  errors_block(out, paint, doc_util.list(doc.errors), width)
  return out
end

-- A migration plan, for review before apply.
local function plan(doc, paint, width)
  local out = {}
  out[#out + 1] = paint("eksegress plan " .. text.safe(doc_util.str(doc.plan_id), true) .. " · target mode "
    .. text.safe(doc_util.str(doc.target_mode), true), "bold")
  local rows, n_migrate = {}, 0
  for _, c in ipairs(doc_util.list(doc.clusters)) do
    local migrate = c.action == "migrate"
    if migrate then n_migrate = n_migrate + 1 end
    local st = type(c.state) == "table" and c.state or {}
    local pf = type(c.preflight) == "table" and c.preflight or nil
    local what = migrate and (doc_util.str(type(c.request) == "table" and c.request.method) .. " "
      .. doc_util.str(type(c.request) == "table" and c.request.path)) or doc_util.str(c.reason)
    rows[#rows + 1] = { cell(doc_util.where(c.account, c.region, c.name)), cell(st.mode), cell(st.status),
      cell(c.action, migrate and "green" or "yellow"), preflight_cell(pf), cell(what) }
  end
  out[#out + 1] = ""
  grid(out, paint, { "CLUSTER", "MODE", "STATUS", "ACTION", "PREFLIGHT", "REQUEST / REASON~" }, rows, width)
  out[#out + 1] = ""
  out[#out + 1] = paint(("Summary: %s to migrate to CUSTOMER_ROUTED (permanent), %d skipped"):format(
    plural(n_migrate, "cluster"), #doc_util.list(doc.clusters) - n_migrate), "bold")
  local errs = {}
  for _, e in ipairs(doc_util.list(doc.errors)) do
    errs[#errs + 1] = { account = e.account, region = e.region, cluster = e.name, code = e.code, message = e.message }
  end
  errors_block(out, paint, errs, width)
  return out
end

local RESULT_STYLE = { done = "green", skipped = "dim", failed = "red", refused = "yellow" }

-- What apply or resume did.
local function apply_result(doc, paint, width)
  local out = {}
  out[#out + 1] = paint("eksegress apply · plan " .. text.safe(doc_util.str(doc.plan_id), true)
    .. " · journal " .. text.safe(doc_util.str(doc.journal), true), "bold")
  local rows, counts = {}, {}
  for _, c in ipairs(doc_util.list(doc.clusters)) do
    local st = doc_util.str(c.state)
    counts[st] = (counts[st] or 0) + 1
    local why = c.reason
    if text.is_null(why) and type(c.error) == "table" then
      why = doc_util.str(c.error.code) .. ": " .. doc_util.str(c.error.message)
    end
    if c.canary == true then why = text.is_null(why) and "canary" or ("canary; " .. doc_util.str(why)) end
    rows[#rows + 1] = { cell(doc_util.where(c.account, c.region, c.name)), cell(st, RESULT_STYLE[st] or "yellow"),
      cell(c.update_id), cell(why) }
  end
  out[#out + 1] = ""
  grid(out, paint, { "CLUSTER", "OUTCOME", "UPDATE", "DETAIL~" }, rows, width)
  out[#out + 1] = ""
  local parts = {}
  for _, k in ipairs(doc_util.sorted_keys(counts)) do parts[#parts + 1] = ("%d %s"):format(counts[k], k) end
  out[#out + 1] = paint("Summary: " .. table.concat(parts, ", "), "bold")
  if not text.is_null(doc.stopped) then
    out[#out + 1] = paint("Stopped: " .. text.safe(doc_util.str(doc.stopped), true), "red")
  end
  -- What is left, and the command that continues it.
  local summary = type(doc.summary) == "table" and doc.summary or {}
  local open = math.tointeger(tonumber(summary.open)) or 0
  if open > 0 then
    local journal = text.safe(doc_util.str(doc.journal), true)
    if doc.no_wait == true and open == math.tointeger(tonumber(summary.sent)) then
      out[#out + 1] = ("Sent without waiting: 'eksegress resume %s' waits for %s and verifies each"):format(journal,
        plural(open, "update"))
    else
      out[#out + 1] = paint(("Not finished: %s; continue with 'eksegress resume %s'"):format(
        plural(open, "cluster"), journal), "yellow")
    end
  end
  return out
end

local KINDS = { audit = audit, preflight = preflight, plan = plan, ["apply-result"] = apply_result }

--- Renderer entry (report.render).
function M.render(kind, doc, opts)
  local paint = painter(opts)
  -- Below 40 columns no table is readable; wrap rather than cut to nothing.
  local width = math.max(opts.columns or 120, 40)
  local out = KINDS[kind](doc, paint, width)
  return table.concat(out, "\n") .. "\n"
end

return M
