-- Regression specs for the reports of real audits: a fix that is two shell
-- commands (the DHCP options fix: create, then associate) must reach the
-- reader as two commands in every format people copy from, and every fix a
-- report offers must be a command a shell accepts.
local report = require "eksegress.report"
local R = require "helpers.reports"

-- The fix `audit --preflight` gives the sample fleet's analytics cluster
-- (workflows/preflight/fixes.lua amazon_dns): two commands, one per line.
local DHCP_FIX = "aws ec2 create-dhcp-options --dhcp-configurations Key=domain-name-servers,Values=AmazonProvidedDNS "
  .. "--region us-west-2\naws ec2 associate-dhcp-options --dhcp-options-id '<new-dopt-id>' "
  .. "--vpc-id vpc-00297ab204035ba32 --region us-west-2"

-- The sample audit document with one failed warning carrying that fix.
local function audit_doc()
  local doc = R.load("audit.json")
  local results = doc.clusters[2].preflight.results
  results[2].fix = DHCP_FIX
  return doc, results[2]
end

local function preflight_doc()
  local doc = R.load("preflight.json")
  local target
  for _, r in ipairs(doc.clusters[1].results) do
    if r.status == "fail" then target = r end
  end
  target.fix = DHCP_FIX
  return doc, target
end

local function under(tables, heading)
  for _, t in ipairs(tables) do
    if t.heading == heading then return t end
  end
  error("no table under " .. heading)
end

local function column(t, name)
  for i, h in ipairs(t.header) do
    if h == name then return i end
  end
  error("no column " .. name)
end

describe("regression: multi-line fixes", function()
  it("regression: markdown keeps a two-command fix as two code spans, never one joined line (preflight)", function()
    local doc, r = preflight_doc()
    local t = under(R.md_tables(report.render("preflight", "markdown", doc)),
      "## " .. doc.clusters[1].account .. "/" .. doc.clusters[1].region .. "/" .. doc.clusters[1].name)
    local fix = column(t, "Fix")
    local found = false
    for _, row in ipairs(t.rows) do
      if row[1] == r.id then
        found = true
        assert.are.equal(DHCP_FIX, row[fix])
      end
    end
    assert.is_true(found)
  end)

  it("regression: an audit --preflight markdown report lists each finding with its fix, line by line", function()
    local doc, r = audit_doc()
    local md = report.render("audit", "markdown", doc)
    local t = under(R.md_tables(md), "## Preflight findings")
    local where, check, fix = column(t, "Cluster"), column(t, "Check"), column(t, "Fix")
    local seen = {}
    for _, row in ipairs(t.rows) do seen[row[where] .. " " .. row[check]] = row[fix] end
    local c = doc.clusters[2]
    assert.are.equal(DHCP_FIX, seen[c.account .. "/" .. c.region .. "/" .. c.name .. " " .. r.id])
    -- Every failed or unevaluated result of every cluster is there, and no pass.
    local want = 0
    for _, cl in ipairs(doc.clusters) do
      for _, x in ipairs(type(cl.preflight) == "table" and cl.preflight.results or {}) do
        if x.status ~= "pass" then want = want + 1 end
      end
    end
    assert.are.equal(want, #t.rows)
  end)

  it("regression: the HTML report shows a two-command fix on two lines (preflight)", function()
    local doc = preflight_doc()
    local cells = R.rendered_cells(report.render("preflight", "html", doc), "fix")
    local found = false
    for _, text in ipairs(cells) do
      if text == DHCP_FIX then found = true end
      assert.is_falsy(text:find("us-west-2 aws ec2", 1, true), "two commands joined into one line: " .. text)
    end
    assert.is_true(found, "the fix is shown as its two lines")
  end)

  it("regression: an audit --preflight HTML report lists the findings with their fixes, line by line", function()
    local doc = audit_doc()
    local cells = R.rendered_cells(report.render("audit", "html", doc), "fix")
    local found = false
    for _, text in ipairs(cells) do
      if text == DHCP_FIX then found = true end
    end
    assert.is_true(found, "the audit's HTML shows the finding's fix on its two lines")
  end)
end)

describe("regression: fixes are commands a shell accepts", function()
  it("regression: the SARIF fix of a non-compliant cluster is a valid shell command, through eksegress plan", function()
    local doc = R.load("audit.json")
    local log = require("eksegress.report.sarif").log("audit", doc, {})
    local n = 0
    for _, res in ipairs(log.runs[1].results) do
      local fix = res.properties.fix
      if res.ruleId == "egress_mode_required" and fix then
        n = n + 1
        assert.is_true(R.shell_accepts(fix), "sh -n refuses: " .. fix)
        -- The switch goes through plan (preflight, review, guard), never a
        -- raw update-cluster-config.
        assert.matches("^eksegress plan ", fix)
        assert.is_falsy(fix:find("update-cluster-config", 1, true), fix)
      end
    end
    assert.is_true(n > 0, "the sample has non-compliant AWS_MANAGED clusters")
  end)
end)
