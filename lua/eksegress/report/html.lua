--- The `html` format: one self-contained page (.html) that needs no network
-- at all. The stylesheet and script are inline (report.html_assets), there
-- is no CDN, font or image, and a Content-Security-Policy lets the page run
-- and style only those two blocks (by hash) and load nothing.
--
-- audit: summary cards, a chart of clusters per egress mode by account and
-- by region, the sortable and filterable table of clusters, the accounts not
-- audited, and the errors. preflight: summary cards, a chart of check
-- outcomes by cluster, the sortable and filterable table of results with
-- their fixes, and the errors.
--
-- The tables are rendered here, every value HTML-escaped (text.xml), so the
-- page reads fine without script; the script only sorts and filters rows
-- and draws the charts from the document, which is embedded as JSON in a
-- <script type="application/json"> block with <, > and & escaped as \u003c
-- etc., so no value (not even "</script>") can end the block.
--
-- Option: title (default "eksegress audit" / "eksegress preflight").
local text = require "eksegress.report.text"
local doc_util = require "eksegress.report.doc"
local json = require "eksegress.report.json"
local assets = require "eksegress.report.html_assets"

local M = {}

local function esc(v)
  return text.xml(doc_util.str(v), true)
end

M.escape = esc

local function csp()
  return table.concat({
    "default-src 'none'",
    "script-src '" .. assets.JS_SHA256 .. "'",
    "style-src '" .. assets.CSS_SHA256 .. "'",
    "img-src 'none'", "connect-src 'none'", "base-uri 'none'", "form-action 'none'",
  }, "; ")
end

local KNOWN_MODE = { AWS_MANAGED = true, CUSTOMER_ROUTED = true, CUSTOMER_ISOLATED = true, UNKNOWN = true }

local function mode_pill(mode)
  local class = KNOWN_MODE[mode] and ("m-" .. mode) or "m-other"
  return ('<span class="pill %s">%s</span>'):format(class, esc(mode))
end

-- A table from column specs: {head, type ("text"|"number"), cell(item) ->
-- html, sort(item) -> value or nil, class}. `id` makes it the sortable and
-- filterable table; others are plain.
local function data_table(out, columns, items, id, noun)
  local attrs = id and (' id="%s" data-noun="%s"'):format(id, esc(noun)) or ""
  out[#out + 1] = '<div class="scroll"><table' .. attrs .. ">"
  local head = {}
  for i, col in ipairs(columns) do
    local label = esc(col.head)
    if id then label = '<button type="button">' .. label .. "</button>" end
    head[i] = ('<th scope="col" data-type="%s">%s</th>'):format(col.type or "text", label)
  end
  out[#out + 1] = "<thead><tr>" .. table.concat(head) .. "</tr></thead>"
  out[#out + 1] = "<tbody>"
  for _, item in ipairs(items) do
    local cells = {}
    for i, col in ipairs(columns) do
      local sort = col.sort and col.sort(item)
      local a = ""
      if sort ~= nil then a = (' data-sort="%s"'):format(esc(sort)) end
      if col.class then a = a .. (' class="%s"'):format(col.class) end
      cells[i] = "<td" .. a .. ">" .. col.cell(item) .. "</td>"
    end
    out[#out + 1] = "<tr>" .. table.concat(cells) .. "</tr>"
  end
  out[#out + 1] = "</tbody></table></div>"
end

local function card(out, n, label, class)
  out[#out + 1] = ('<div class="card%s"><span class="n">%s</span>%s</div>'):format(
    class and (" " .. class) or "", esc(n), esc(label))
end

local function filter_controls(out, placeholder, total, noun)
  out[#out + 1] = '<div class="controls"><label>Filter <input id="filter" type="search" autocomplete="off" '
    .. ('placeholder="%s"></label> <span class="count" id="row-count">%d of %d %s</span></div>'):format(
      esc(placeholder), total, total, esc(noun))
end

local function errors_section(out, errs)
  out[#out + 1] = ('<section id="errors"><h2>Errors (%d)</h2>'):format(#errs)
  if #errs == 0 then
    out[#out + 1] = '<p class="muted">Every target was read.</p></section>'
    return
  end
  out[#out + 1] = "<p>These targets could not be read; their clusters are not in this report.</p>"
  data_table(out, {
    { head = "Target", cell = function(e) return esc(doc_util.error_target(e)) end },
    { head = "Code", cell = function(e) return '<span class="bad">' .. esc(e.code) .. "</span>" end },
    { head = "HTTP", type = "number", class = "num", cell = function(e) return esc(e.status) end },
    { head = "Message", cell = function(e) return esc(e.message) end },
    { head = "Request id", class = "mono", cell = function(e) return esc(e.request_id) end },
  }, errs)
  out[#out + 1] = "</section>"
end

-- A fix of several commands shows one command per line (a line break
-- inside one <code> would render as a space, and a copied fix would join
-- two commands into one).
local function fix_cell(f)
  if text.is_null(f.result.fix) then return "" end
  local lines = {}
  for i, line in ipairs(doc_util.lines(f.result.fix)) do lines[i] = "<code>" .. esc(line) .. "</code>" end
  return table.concat(lines, "<br>")
end

local OUTCOME_CLASS = { pass = "good", fail = "bad", not_evaluated = "muted" }

local function outcome(status)
  local st = doc_util.str(status)
  return ('<span class="%s">%s</span>'):format(OUTCOME_CLASS[st] or "warn",
    esc(st == "not_evaluated" and "not evaluated" or st))
end

-- The columns of a table of preflight results (items {account, region,
-- cluster, result}): `before`, then the check, its outcome, severity and
-- finding, then `after`. The audit's findings and the preflight's results
-- share them.
local function result_columns(before, after)
  local cols = {}
  for _, c in ipairs(before) do cols[#cols + 1] = c end
  cols[#cols + 1] = { head = "Check", class = "mono", cell = function(f)
    return ('<span title="%s">%s</span>'):format(esc(f.result.title), esc(f.result.id))
  end }
  cols[#cols + 1] = { head = "Status", cell = function(f) return outcome(f.result.status) end }
  cols[#cols + 1] = { head = "Severity", cell = function(f) return esc(f.result.severity) end }
  cols[#cols + 1] = { head = "Finding", cell = function(f) return esc(f.result.message) end }
  for _, c in ipairs(after) do cols[#cols + 1] = c end
  return cols
end

local function yes_no(v)
  if v == true then return '<span class="good">yes</span>' end
  if v == false then return '<span class="bad">no</span>' end
  return '<span class="muted">&#8212;</span>'
end

local function endpoint(c)
  local parts = {}
  if c.endpoint_public_access == true then parts[#parts + 1] = "public" end
  if c.endpoint_private_access == true then parts[#parts + 1] = "private" end
  return esc(table.concat(parts, " + "))
end

local function audit(out, doc)
  local clusters = doc_util.list(doc.clusters)
  local t = doc_util.tally(clusters)
  local req = not text.is_null(doc.require) and doc_util.str(doc.require) or nil
  local errs = doc_util.list(doc.errors)

  out[#out + 1] = '<section class="cards" id="summary">'
  card(out, t.clusters, "clusters")
  card(out, #doc_util.sorted_keys(t.by_account), "accounts")
  card(out, #doc_util.sorted_keys(t.by_region), "regions")
  if req then
    card(out, t.compliant, "compliant", "good")
    card(out, t.noncompliant, "non-compliant", t.noncompliant > 0 and "bad" or nil)
  end
  card(out, #errs, "errors", #errs > 0 and "bad" or nil)
  local s = type(doc.summary) == "table" and doc.summary or {}
  local passes = math.tointeger(s.passes)
  if passes and passes > 1 then
    card(out, math.tointeger(s.recovered) or 0, ("recovered in passes 2-%d"):format(passes))
  end
  out[#out + 1] = "</section>"

  out[#out + 1] = '<section class="charts" id="charts">'
  out[#out + 1] = '<figure><figcaption>Clusters by account and egress mode</figcaption>'
    .. '<div id="chart-account" data-title="Clusters by account and egress mode"></div></figure>'
  out[#out + 1] = '<figure><figcaption>Clusters by region and egress mode</figcaption>'
    .. '<div id="chart-region" data-title="Clusters by region and egress mode"></div></figure>'
  out[#out + 1] = "<noscript><p>The charts need JavaScript; the table lists every cluster.</p></noscript>"
  out[#out + 1] = "</section>"

  out[#out + 1] = '<section id="clusters"><h2>Clusters</h2>'
  filter_controls(out, "account, region, name, mode…", #clusters, "clusters")
  local columns = {
    { head = "Account", class = "mono", cell = function(c) return esc(c.account) end },
    { head = "Region", class = "nowrap", cell = function(c) return esc(c.region) end },
    { head = "Name", cell = function(c)
        return ('<span title="%s">%s</span>'):format(esc(c.arn), esc(c.name))
      end },
    { head = "Egress mode", cell = function(c) return mode_pill(doc_util.mode(c)) end },
    { head = "Status", class = "nowrap", cell = function(c) return esc(c.status) end },
    { head = "Version", cell = function(c) return esc(c.version) end },
    { head = "Endpoint", cell = endpoint },
  }
  if req then
    columns[#columns + 1] = { head = "Compliant", cell = function(c) return yes_no(c.compliant) end,
      sort = function(c) return c.compliant == true and "yes" or c.compliant == false and "no" or "" end }
  end
  local with_preflight = false
  for _, c in ipairs(clusters) do if type(c.preflight) == "table" then with_preflight = true end end
  if with_preflight then
    columns[#columns + 1] = { head = "Blocking", type = "number", class = "num", cell = function(c)
      local n = type(c.preflight) == "table" and tonumber(c.preflight.blocking) or nil
      if n and n > 0 then return '<span class="bad">' .. esc(n) .. "</span>" end
      return esc(n)
    end }
    columns[#columns + 1] = { head = "Warnings", type = "number", class = "num", cell = function(c)
      return esc(type(c.preflight) == "table" and tonumber(c.preflight.warnings) or nil)
    end }
  end
  columns[#columns + 1] = { head = "Created", class = "nowrap", cell = function(c) return esc(c.created_at) end }
  data_table(out, columns, clusters, "report-table", "clusters")
  out[#out + 1] = "</section>"

  if with_preflight then
    -- What the preflight found, with the fixes: every result that did not pass.
    local found = {}
    for _, f in ipairs(doc_util.findings(doc)) do
      if f.result.status ~= "pass" then found[#found + 1] = f end
    end
    out[#out + 1] = ('<section id="findings"><h2>Preflight findings (%d)</h2>'):format(#found)
    if #found == 0 then
      out[#out + 1] = '<p class="muted">Every check passed.</p>'
    else
      data_table(out, result_columns({
        { head = "Cluster", cell = function(f) return esc(doc_util.where(f.account, f.region, f.cluster)) end },
      }, { { head = "Fix", class = "fix", cell = fix_cell } }), found)
    end
    out[#out + 1] = "</section>"
  end

  local skipped = {}
  for _, a in ipairs(doc_util.list(doc.accounts)) do
    if a.outcome ~= "audited" then skipped[#skipped + 1] = a end
  end
  if #skipped > 0 then
    out[#out + 1] = '<section id="accounts"><h2>Accounts not audited</h2>'
    data_table(out, {
      { head = "Account", class = "mono", cell = function(a) return esc(a.id) end },
      { head = "Name", cell = function(a) return esc(a.name) end },
      { head = "State", cell = function(a) return esc(a.state) end },
      { head = "Outcome", cell = function(a)
          return ('<span class="%s">%s</span>'):format(a.outcome == "error" and "bad" or "warn", esc(a.outcome))
        end },
      { head = "Reason", cell = function(a) return esc(a.reason) end },
    }, skipped)
    out[#out + 1] = "</section>"
  end
  errors_section(out, errs)
end


local function preflight(out, doc)
  local clusters = doc_util.list(doc.clusters)
  local findings = doc_util.findings(doc)
  local errs = doc_util.list(doc.errors)
  local blocked, warned = 0, 0
  for _, c in ipairs(clusters) do
    if (tonumber(c.blocking) or 0) > 0 then blocked = blocked + 1
    elseif (tonumber(c.warnings) or 0) > 0 then warned = warned + 1 end
  end
  out[#out + 1] = '<section class="cards" id="summary">'
  card(out, #clusters, "clusters checked")
  card(out, blocked, "with blocking findings", blocked > 0 and "bad" or "good")
  card(out, warned, "with warnings only", warned > 0 and "warn" or nil)
  card(out, #errs, "errors", #errs > 0 and "bad" or nil)
  out[#out + 1] = "</section>"

  out[#out + 1] = '<section class="charts" id="charts"><figure><figcaption>Check outcomes by cluster</figcaption>'
    .. '<div id="chart-cluster" data-title="Check outcomes by cluster"></div></figure>'
    .. "<noscript><p>The chart needs JavaScript; the table lists every result.</p></noscript></section>"

  out[#out + 1] = '<section id="results"><h2>Results</h2>'
  filter_controls(out, "cluster, check, status, resource…", #findings, "results")
  data_table(out, result_columns({
    { head = "Account", class = "mono", cell = function(f) return esc(f.account) end },
    { head = "Region", class = "nowrap", cell = function(f) return esc(f.region) end },
    { head = "Cluster", cell = function(f) return esc(f.cluster) end },
  }, {
    { head = "Resources", class = "ids", cell = function(f)
        return esc(doc_util.join(f.result.resources, " "))
      end },
    { head = "Fix", class = "fix", cell = fix_cell },
  }), findings, "report-table", "results")
  out[#out + 1] = "</section>"
  errors_section(out, errs)
end

--- Renderer entry (report.render). Option: title.
function M.render(kind, doc, opts)
  local title = opts.title or ("eksegress " .. kind)
  local tool = type(doc.tool) == "table" and doc.tool or {}
  local out = {
    "<!DOCTYPE html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    -- Our own constant, with no " < or &: written as is, so it reads plainly.
    '<meta http-equiv="Content-Security-Policy" content="' .. csp() .. '">',
    '<meta name="referrer" content="no-referrer">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="generator" content="' .. esc(doc_util.str(tool.name) .. " " .. doc_util.str(tool.version)) .. '">',
    "<title>" .. esc(title) .. " &#183; " .. esc(doc.generated_at) .. "</title>",
    "<style>" .. assets.CSS .. "</style>",
    "</head>",
    "<body>",
    "<header><h1>" .. esc(title) .. "</h1>",
  }
  local meta = { "Generated " .. esc(doc.generated_at) .. " by " .. esc(tool.name) .. " " .. esc(tool.version) }
  if kind == "audit" then
    meta[#meta + 1] = "required mode: " .. (text.is_null(doc.require) and "none" or esc(doc.require))
    local scope = type(doc.scope) == "table" and doc.scope or {}
    local regions = scope.regions
    if type(regions) == "table" then regions = doc_util.join(regions, ", ") end
    if not text.is_null(regions) then meta[#meta + 1] = "regions: " .. esc(regions) end
  end
  out[#out + 1] = '<p class="meta">' .. table.concat(meta, " &#183; ") .. "</p></header>"
  out[#out + 1] = "<main>"
  if kind == "audit" then audit(out, doc) else preflight(out, doc) end
  out[#out + 1] = "</main>"
  out[#out + 1] = '<script type="application/json" id="report-data">'
    .. json.encode(doc, { pretty = false, script_safe = true }) .. "</script>"
  out[#out + 1] = "<script>" .. assets.JS .. "</script>"
  out[#out + 1] = "</body>"
  out[#out + 1] = "</html>"
  return table.concat(out, "\n") .. "\n"
end

return M
