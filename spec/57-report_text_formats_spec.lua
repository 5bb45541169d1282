-- The formats people read: table (terminal), csv and markdown, each parsed
-- back and compared with the document value by value.
local cjson = require "cjson"
local report = require "eksegress.report"
local csv = require "eksegress.report.csv"
local doc_util = require "eksegress.report.doc"
local R = require "helpers.reports"

local S = R.str

-- A hostile cluster: every character the formats must survive.
local function hostile(doc)
  local c = R.copy(doc.clusters[1])
  c.name = 'we|rd,"na\nme" <script>x</script> `tick` *star* _under_ \\ =1+2'
  c.status = "=HYPERLINK(\"http://198.51.100.7/x\",\"click\")"
  c.version = "-1+1"
  c.platform_version = "@SUM(A1)"
  c.arn = "\tTAB"
  c.vpc_id = "\27[2J\27]0;pwned\7 \226\128\174gnp.exe"
  doc.clusters[#doc.clusters + 1] = c
  return c
end

describe("report table", function()
  it("lists every cluster with its mode, and a summary that matches the document", function()
    local doc = R.load("audit.json")
    local out = report.render("audit", "table", doc, { color = false, columns = 200 })
    for _, c in ipairs(doc.clusters) do
      local found
      for line in out:gmatch("[^\n]+") do
        local cells = {}
        for v in line:gmatch("%S+") do cells[#cells + 1] = v end
        if cells[1] == c.account and cells[2] == c.region and cells[3] == c.name then
          assert.is_nil(found, "two rows for " .. c.name)
          found = cells
        end
      end
      assert.is_truthy(found, c.name)
      assert.are.same({ c.egress_mode, c.status, c.version }, { found[4], found[5], found[6] })
    end
    assert.is_truthy(out:find("Summary: 9 clusters in 2 accounts and 3 regions", 1, true))
    for mode, n in pairs(doc.summary.by_mode) do
      assert.is_truthy(out:find("\n  " .. mode .. " +" .. string.format("%d", n) .. "\n"), mode)
    end
    assert.is_truthy(out:find("compliant with CUSTOMER_ROUTED: 3, non-compliant: 6", 1, true))
    for _, e in ipairs(doc.errors) do assert.is_truthy(out:find(e.code, 1, true), e.code) end
    assert.is_truthy(out:find("444444444444 (sandbox)", 1, true))
    assert.is_nil(out:find("\27", 1, true))
  end)

  it("fits the terminal width, cutting long values with an ellipsis", function()
    local doc = R.load("audit.json")
    for _, width in ipairs{ 80, 100, 120 } do
      local out = report.render("audit", "table", doc, { color = false, columns = width })
      for line in out:gmatch("[^\n]+") do
        -- Column rows only: the summary and heading lines are short anyway.
        assert.is_true(utf8.len(line) <= width or not line:find("  "), ("%d: %q"):format(width, line))
      end
    end
    local narrow = report.render("audit", "table", doc, { color = false, columns = 80 })
    assert.is_truthy(narrow:find("…", 1, true))
    -- A tiny terminal gets the narrowest layout, not an error.
    assert.are.equal(report.render("audit", "table", doc, { color = false, columns = 40 }),
      report.render("audit", "table", doc, { color = false, columns = 12 }))
  end)

  it("colours only when asked", function()
    local doc = R.load("preflight.json")
    local plain = report.render("preflight", "table", doc, { color = false })
    local coloured = report.render("preflight", "table", doc, { color = true })
    assert.is_nil(plain:find("\27", 1, true))
    assert.is_truthy(coloured:find("\27[31m", 1, true))
    assert.are.equal(plain, (coloured:gsub("\27%[[%d;]*m", "")))
  end)

  it("prints every fix whole, whatever the width", function()
    local doc = R.load("preflight.json")
    local out = report.render("preflight", "table", doc, { color = false, columns = 60 })
    for _, f in ipairs(doc_util.findings(doc)) do
      if f.result.status == "fail" and f.result.fix ~= cjson.null then
        assert.is_truthy(out:find("\n    " .. f.result.fix .. "\n", 1, true), f.result.id)
      end
    end
    assert.is_truthy(out:find("not evaluated", 1, true))
    assert.is_truthy(out:find("Summary: 5 clusters; 3 with blocking findings, 1 with warnings only", 1, true))
  end)

  it("never sends a control character or a bidi override to the terminal", function()
    local doc = R.load("audit.json")
    local c = hostile(doc)
    doc.errors[1].message = "denied\27[2K\r\nsecond line"
    local out = report.render("audit", "table", doc, { color = false, columns = 400 })
    assert.is_nil(out:find("[%z\1-\9\11-\31\127]"), "a control character got through")
    assert.is_nil(out:find("\226\128\174", 1, true))
    assert.is_truthy(out:find("\\x1b[2K", 1, true))
    c.vpc_id = nil
  end)

  it("handles an empty fleet and missing optional values", function()
    local doc = R.load("audit-plain.json")
    doc.clusters, doc.errors, doc.accounts = {}, {}, {}
    local out = report.render("audit", "table", doc, { color = false })
    assert.is_truthy(out:find("No clusters found.", 1, true))
    assert.is_truthy(out:find("required mode: none", 1, true))
    local plain = report.render("audit", "table", R.load("audit-plain.json"), { color = false })
    assert.is_nil(plain:find("COMPLIANT", 1, true))
    assert.is_nil(plain:find("PREFLIGHT", 1, true))
  end)

  it("says how many passes read the fleet and how many clusters the later ones recovered, "
    .. "in the table and the markdown; nothing when one pass was enough", function()
    local doc = R.load("audit.json")
    doc.summary.passes, doc.summary.recovered = 3, 476
    local line = "read in 3 passes: 476 clusters recovered by the later passes"
    assert.is_truthy(report.render("audit", "table", doc, { color = false }):find("  " .. line, 1, true))
    assert.is_truthy(report.render("audit", "markdown", doc, {}):find("- R" .. line:sub(2), 1, true))
    doc.summary.passes, doc.summary.recovered = 1, 0
    for _, fmt in ipairs{ "table", "markdown" } do
      assert.is_nil(report.render("audit", fmt, doc, { color = false }):find("passes", 1, true), fmt)
    end
  end)
end)

describe("report csv", function()
  local function by_header(rows)
    local header, out = rows[1], {}
    for i = 2, #rows do
      local r = {}
      for j, h in ipairs(header) do r[h] = rows[i][j] end
      out[#out + 1] = r
    end
    return header, out
  end

  for _, name in ipairs(R.FIXTURES.audit) do
    it(name .. ": one row per cluster, every value read back", function()
      local doc = R.load(name)
      local header, rows = by_header(R.parse_csv(report.render("audit", "csv", doc)))
      assert.are.same(csv.AUDIT_COLUMNS, header)
      assert.are.equal(#doc.clusters, #rows)
      for i, c in ipairs(doc.clusters) do
        local r = rows[i]
        for _, k in ipairs{ "account", "region", "name", "arn", "status", "version", "egress_mode",
                            "endpoint_public_access", "endpoint_private_access", "platform_version",
                            "created_at", "vpc_id", "compliant" } do
          assert.are.equal(S(c[k]), r[k], c.name .. " " .. k)
        end
        local p = c.preflight ~= cjson.null and c.preflight or {}
        assert.are.equal(S(p.blocking), r.preflight_blocking)
        assert.are.equal(S(p.warnings), r.preflight_warnings)
      end
    end)
  end

  it("preflight.json: one row per result, every value read back", function()
    local doc = R.load("preflight.json")
    local header, rows = by_header(R.parse_csv(report.render("preflight", "csv", doc)))
    assert.are.same(csv.PREFLIGHT_COLUMNS, header)
    local findings = doc_util.findings(doc)
    assert.are.equal(#findings, #rows)
    for i, f in ipairs(findings) do
      local r, res = rows[i], f.result
      assert.are.equal(f.account, r.account)
      assert.are.equal(f.region, r.region)
      assert.are.equal(f.cluster, r.cluster)
      assert.are.equal(S(f.vpc_id), r.vpc_id)
      assert.are.equal(f.egress_mode, r.egress_mode)
      assert.are.equal(res.id, r.check)
      for _, k in ipairs{ "status", "severity", "title", "message", "fix" } do
        assert.are.equal(S(res[k]), r[k], res.id .. " " .. k)
      end
      assert.are.equal(table.concat(res.resources, " "), r.resources)
      assert.are.same(res.evidence, cjson.decode(r.evidence))
    end
  end)

  it("quotes commas, quotes and line breaks (RFC 4180), CRLF between records", function()
    local doc = R.load("audit.json")
    local c = hostile(doc)
    local out = report.render("audit", "csv", doc, { formula_guard = false })
    assert.is_truthy(out:find('"we|rd,""na\nme"" <script>', 1, true))
    assert.is_nil(out:gsub('"[^"]*"', ""):find("[^\r]\n"), "a record ends without CR")
    local rows = R.parse_csv(out)
    local last = rows[#rows]
    assert.are.equal(c.name, last[3])
    assert.are.equal(c.status, last[5])
  end)

  it("guards against spreadsheet formulas by default, and documents how to turn it off", function()
    local doc = R.load("audit.json")
    local c = hostile(doc)
    local rows = R.parse_csv(report.render("audit", "csv", doc))
    local last = rows[#rows]
    assert.are.equal("'" .. c.status, last[5])          -- =HYPERLINK(...)
    assert.are.equal("'" .. c.version, last[6])         -- -1+1
    assert.are.equal("'" .. c.platform_version, last[10]) -- @SUM(A1)
    assert.are.equal("'" .. c.arn, last[4])             -- TAB
    assert.are.equal(c.name, last[3])                   -- starts with "w": untouched
    -- Numbers we write are never changed.
    local pre = R.load("preflight.json")
    pre.clusters[1].results[1].message = "+5 more"
    local prow = R.parse_csv(report.render("preflight", "csv", pre))[2]
    assert.are.equal("'+5 more", prow[10])
    local open = R.parse_csv(report.render("audit", "csv", doc, { formula_guard = false }))
    assert.are.equal(c.status, open[#open][5])
  end)

  it("has only the header for an empty fleet", function()
    local doc = R.load("audit-plain.json")
    doc.clusters = {}
    assert.are.equal(table.concat(csv.AUDIT_COLUMNS, ",") .. "\r\n", report.render("audit", "csv", doc))
  end)
end)

describe("report markdown", function()
  local function table_under(tables, heading)
    for _, t in ipairs(tables) do
      if t.heading == heading then return t end
    end
    error("no table under " .. heading)
  end

  it("audit.json: the cluster table reads back value by value", function()
    local doc = R.load("audit.json")
    local out = report.render("audit", "markdown", doc)
    local t = table_under(R.md_tables(out), "## Clusters")
    assert.are.equal(#doc.clusters, #t.rows)
    for i, c in ipairs(doc.clusters) do
      local r = t.rows[i]
      assert.are.same({ c.account, c.region, c.name, c.egress_mode, c.status, c.version,
        S(c.endpoint_public_access), S(c.endpoint_private_access) }, { table.unpack(r, 1, 8) })
      assert.are.equal(c.compliant and "yes" or "**no**", r[9])
      assert.are.equal(S(c.preflight.blocking), r[10])
      assert.are.equal(S(c.preflight.warnings), r[11])
      assert.are.equal(#t.header, #r)
    end
    assert.is_truthy(out:find("- Required mode: CUSTOMER_ROUTED; compliant: 3; non-compliant: 6", 1, true))
  end)

  it("audit.json: the mode tables by account and region match the summary", function()
    local doc = R.load("audit.json")
    local tables = R.md_tables(report.render("audit", "markdown", doc))
    local seen = 0
    for _, t in ipairs(tables) do
      local dim = t.header[1] == "Account" and doc.summary.by_account
        or t.header[1] == "Region" and t.heading == "## Summary" and doc.summary.by_region
      if dim and t.heading == "## Summary" then
        seen = seen + 1
        for _, r in ipairs(t.rows) do
          local total = 0
          for j = 2, #t.header - 1 do
            assert.are.equal(S(dim[r[1]][t.header[j]] or 0), r[j], r[1] .. " " .. t.header[j])
            total = total + tonumber(r[j])
          end
          assert.are.equal(tostring(total), r[#r])
        end
      end
    end
    assert.are.equal(2, seen)
  end)

  it("preflight.json: every result reads back under its cluster, fixes as code", function()
    local doc = R.load("preflight.json")
    local tables = R.md_tables(report.render("preflight", "markdown", doc))
    for _, c in ipairs(doc.clusters) do
      local t = table_under(tables, "## " .. c.account .. "/" .. c.region .. "/" .. c.name)
      assert.are.equal(#c.results, #t.rows)
      for i, res in ipairs(c.results) do
        local r = t.rows[i]
        assert.are.equal(res.id, r[1])
        assert.are.equal(res.severity, r[3])
        assert.are.equal(res.message, r[4])
        assert.are.equal(table.concat(res.resources, " "), r[5])
        assert.are.equal(S(res.fix), r[6])
      end
    end
    local errors = table_under(tables, "## Errors (2)")
    assert.are.equal(doc.errors[1].message, errors.rows[1][6])
  end)

  it("escapes pipes, markup and line breaks so a value stays in its cell", function()
    local doc = R.load("audit.json")
    local c = hostile(doc)
    doc.errors[1].message = "a | b <img src=x onerror=alert(1)> [link](http://198.51.100.7) `code`\nnext"
    local out = report.render("audit", "markdown", doc)
    assert.is_nil(out:find("[^\\]<script>"))
    assert.is_nil(out:find("[^\\]<img"))
    local t = table_under(R.md_tables(out), "## Clusters")
    local last = t.rows[#t.rows]
    assert.are.equal(#t.header, #last)
    assert.are.equal((c.name:gsub("\n", " ")), last[3])
    local errs = table_under(R.md_tables(out), "## Errors (4)")
    assert.are.equal(6, #errs.rows[1])
    assert.are.equal((doc.errors[1].message:gsub("\n", " ")), errs.rows[1][6])
  end)

  it("puts a fix with backticks and pipes in a code span that holds it", function()
    local doc = R.load("preflight.json")
    doc.clusters[1].results[3].fix = "aws ec2 describe-route-tables | jq '.RouteTables[] | `x`'"
    local out = report.render("preflight", "markdown", doc)
    assert.is_truthy(out:find("``aws ec2 describe-route-tables \\| jq", 1, true))
    local t = table_under(R.md_tables(out), "## 111111111111/eu-west-1/checkout")
    assert.are.equal(doc.clusters[1].results[3].fix, t.rows[3][6])
  end)
end)
