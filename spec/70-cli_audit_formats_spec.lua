-- `eksegress audit` as a process on the sample fleet (three accounts, an
-- SCP-denied region in two of them, an opted-in region, a suspended account,
-- the old-API cluster without the egress field): every stdout format and
-- every report file, each parsed back by a reader of its own and compared
-- cluster by cluster with the JSON, which is compared with the simulator
-- (/_sim/state and DescribeCluster); the HTML in headless Chromium; the exit
-- codes and their precedence; Ctrl-C; progress only on a terminal.
local cjson = require "cjson"
local core = require "eksegress.core"
local simmod = require "helpers.sim"
local schema = require "helpers.schema"
local R = require "helpers.reports"
local ah = require "helpers.audit"
local mh = require "helpers.migrate"
local browser = require "helpers.browser"

local ORG = { "--organization", "--role-name", ah.ROLE }

local function args(...)
  local out = {}
  for _, list in ipairs{ ... } do
    for _, a in ipairs(list) do out[#out + 1] = a end
  end
  return out
end

local S = R.str

local function yes_no(v)
  if v == true then return "yes" elseif v == false then return "no" end
  return ""
end

local function endpoint(c)
  local pub, priv = c.endpoint_public_access, c.endpoint_private_access
  if pub == true and priv == true then return "both" end
  if pub == true then return "public" end
  if priv == true then return "private" end
  return "none"
end

-- The rows of the terminal table (stdout not a terminal: nothing is cut),
-- read by the columns' positions under the header.
local function table_rows(out)
  local lines = mh.lines(out)
  local head_at
  for i, l in ipairs(lines) do if l:find("^ACCOUNT%s+REGION%s+NAME") then head_at = i break end end
  assert(head_at, "no cluster table in:\n" .. out)
  local head, starts, names = lines[head_at], {}, {}
  for at, name in head:gmatch("()(%S+)") do starts[#starts + 1], names[#names + 1] = at, name end
  local rows = {}
  for i = head_at + 1, #lines do
    local l = lines[i]
    if not l:find("^%d%d%d%d%d%d%d%d%d%d%d%d ") then break end
    local row = {}
    for j, at in ipairs(starts) do
      row[names[j]] = l:sub(at, (starts[j + 1] or 0) - 1):match("^%s*(.-)%s*$")
    end
    rows[#rows + 1] = row
  end
  return rows
end

local function by_key(list, key_of)
  local t = {}
  for _, x in ipairs(list) do
    local k = key_of(x)
    assert(t[k] == nil, "twice: " .. k)
    t[k] = x
  end
  return t
end

local function cluster_key(c) return ah.key(c.account, c.region, c.name) end

-- The results of the preflight that did not pass, by "cluster check".
local function findings_of(doc)
  local out = {}
  for _, c in ipairs(doc.clusters) do
    for _, r in ipairs(type(c.preflight) == "table" and c.preflight.results or {}) do
      if r.status ~= "pass" then out[cluster_key(c) .. " " .. r.id] = r end
    end
  end
  return out
end

local function count(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n
end

-- The README's audit transcript runs, on a terminal, in spec/86-readme_commands_spec.lua.
describe("eksegress audit (process): formats on the sample fleet", function()
  local sim, dir, doc, run
  local FULL = args({ "audit" }, ORG, { "--regions", "all", "--require", "CUSTOMER_ROUTED", "--preflight" })

  setup(function()
    sim = simmod.start("--time-scale 0")
    dir = mh.tmpdir()
    local exports = {}
    for _, ext in ipairs{ "json", "csv", "md", "html", "junit.xml", "sarif" } do
      exports[#exports + 1] = "--export"
      exports[#exports + 1] = dir .. "/fleet." .. ext
    end
    run = mh.cli(sim, args(FULL, { "--output", "json" }, exports))
    doc = cjson.decode(run.stdout)
  end)
  teardown(function() mh.stop(sim, dir) end)

  local function file(ext) return mh.read(dir .. "/fleet." .. ext) end

  it("JSON: valid against its schema, the same as the report file, every cluster once or its target under "
    .. "errors, each row what EKS says; exit 2 for the SCP-denied regions (2 wins over 1)", function()
    assert.are.equal(2, run.status, run.stderr)
    schema.assert_valid(ah.SCHEMA, run.stdout)
    assert.are.equal(run.stdout, file("json"))
    local c = ah.assert_complete(sim, doc)
    assert.are.equal(22, c.listed)
    assert.are.equal(0, c.covered, "the denied regions of the sample fleet hold no cluster")
    assert.are.equal(22, ah.assert_rows_match(sim, doc))
    ah.assert_summary(doc)
    assert.is_true(doc.summary.noncompliant > 0, "non-compliant clusters too: exit 2 wins over 1")
    local errs = {}
    for _, e in ipairs(doc.errors) do errs[#errs + 1] = e.account .. " " .. e.region .. " " .. e.code end
    table.sort(errs)
    assert.are.same({ "111122223333 sa-east-1 AccessDeniedException",
                      "444455556666 ap-southeast-1 AccessDeniedException" }, errs)
    local states = {}
    for _, a in ipairs(doc.accounts) do states[a.id] = a.outcome .. " " .. a.state end
    assert.are.same({ ["111122223333"] = "audited ACTIVE", ["444455556666"] = "audited ACTIVE",
                      ["777788889999"] = "skipped SUSPENDED" }, states)
    -- One line on stderr per target not read, naming it.
    local lines = mh.lines(run.stderr)
    assert.are.equal(2, #lines, run.stderr)
    assert.matches("^eksegress: audit: account 111122223333 region sa%-east%-1: ", lines[1])
  end)

  it("JSON: each cluster's preflight blocking findings are the simulator's ground truth", function()
    local severity = {}
    for _, d in ipairs(require("eksegress.workflows.preflight.checks").list()) do severity[d.id] = d.severity end
    local truth = mh.state(sim)
    local blocked = 0
    for _, row in ipairs(doc.clusters) do
      local want, got = {}, {}
      for _, id in ipairs(truth[cluster_key(row)].expect_fail) do
        if severity[id] == "blocking" then want[#want + 1] = id end
      end
      for _, r in ipairs(row.preflight.results) do
        if r.status == "fail" and r.severity == "blocking" then got[#got + 1] = r.id end
      end
      table.sort(want)
      table.sort(got)
      assert.are.same(want, got, cluster_key(row))
      if #got > 0 then blocked = blocked + 1 end
    end
    assert.are.equal(blocked, doc.summary.blocking)
    assert.is_true(blocked >= 6)
  end)

  it("CSV (RFC 4180): a header and one row per cluster, every field as in the JSON", function()
    local rows = R.parse_csv(file("csv"))
    local header = table.remove(rows, 1)
    assert.are.same(require("eksegress.report.csv").AUDIT_COLUMNS, header)
    assert.are.equal(#doc.clusters, #rows)
    local want = by_key(doc.clusters, cluster_key)
    for _, r in ipairs(rows) do
      local rec = {}
      for i, h in ipairs(header) do rec[h] = r[i] end
      local c = assert(want[cluster_key(rec)], cluster_key(rec))
      for _, h in ipairs(header) do
        local v = c[h]
        if h == "preflight_blocking" then v = c.preflight.blocking
        elseif h == "preflight_warnings" then v = c.preflight.warnings end
        assert.are.equal(S(v), rec[h], cluster_key(rec) .. " " .. h)
      end
    end
  end)

  it("Markdown: the clusters table, the findings with their fixes (line by line), the errors", function()
    local tables = R.md_tables(file("md"))
    local function under(heading)
      for _, t in ipairs(tables) do if t.heading == heading then return t end end
      error("no table under " .. heading)
    end
    local t = under("## Clusters")
    assert.are.same({ "Account", "Region", "Name", "Egress mode", "Status", "Version", "Public endpoint",
                      "Private endpoint", "Compliant", "Blocking", "Warnings" }, t.header)
    assert.are.equal(#doc.clusters, #t.rows)
    local want = by_key(doc.clusters, cluster_key)
    for _, r in ipairs(t.rows) do
      local c = assert(want[ah.key(r[1], r[2], r[3])])
      assert.are.same({ c.egress_mode, c.status, c.version, S(c.endpoint_public_access),
                        S(c.endpoint_private_access), c.compliant and "yes" or "**no**",
                        S(c.preflight.blocking), S(c.preflight.warnings) },
                      { r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11] })
    end
    local f = under("## Preflight findings")
    local found = findings_of(doc)
    assert.are.equal(count(found), #f.rows)
    local multi = 0
    for _, r in ipairs(f.rows) do
      local res = assert(found[r[1] .. " " .. r[2]], r[1] .. " " .. r[2])
      assert.are.equal(res.severity, r[4])
      assert.are.equal(S(res.fix), r[6])
      if r[6]:find("\n") then multi = multi + 1 end
    end
    assert.is_true(multi > 0, "the sample fleet has a fix of two commands (analytics' DHCP options)")
    assert.are.equal(#doc.errors, #under("## Errors (2)").rows)
  end)

  it("JUnit: a test case per cluster, failing when non-compliant or blocked; an error per target not read",
    function()
    local root = R.parse("xml", file("junit.xml"))
    assert.are.equal("testsuites", root.tag)
    local suite = R.children(root, "testsuite")[1]
    local want = by_key(doc.clusters, cluster_key)
    local cases, failures, errors_ = 0, 0, 0
    for _, tc in ipairs(R.children(suite, "testcase")) do
      local failure, err = R.children(tc, "failure")[1], R.children(tc, "error")[1]
      if err then
        errors_ = errors_ + 1
        assert.matches("AccessDeniedException", err.attrib.message)
      else
        cases = cases + 1
        local account, region = tc.attrib.classname:match("^(%d+)/(.+)$")
        local c = assert(want[ah.key(account, region, tc.attrib.name)], tc.attrib.name)
        local should_fail = c.compliant == false or c.preflight.blocking > 0
        assert.are.equal(should_fail, failure ~= nil, tc.attrib.name)
        if failure then failures = failures + 1 end
      end
    end
    assert.are.equal(#doc.clusters, cases)
    assert.are.equal(#doc.errors, errors_)
    assert.are.equal(S(cases + errors_), root.attrib.tests)
    assert.are.equal(S(failures), root.attrib.failures)
    assert.are.equal(S(errors_), root.attrib.errors)
  end)

  it("SARIF 2.1.0: valid; a result per non-compliant cluster and per finding, fixes a shell accepts; "
    .. "the targets not read as notifications", function()
    local text = file("sarif")
    schema.assert_valid(schema.SARIF, text)
    local log = cjson.decode(text)
    local run1 = log.runs[1]
    local modes, findings = {}, {}
    for _, res in ipairs(run1.results) do
      local p = res.properties
      local k = ah.key(p.account, p.region, p.cluster)
      if res.ruleId == "egress_mode_required" then
        modes[k] = true
      else
        findings[k .. " " .. res.ruleId] = true
      end
      if p.fix then assert.is_true(R.shell_accepts(p.fix), "sh -n refuses: " .. p.fix) end
    end
    local want_modes = {}
    for _, c in ipairs(doc.clusters) do if c.compliant == false then want_modes[cluster_key(c)] = true end end
    assert.are.same(want_modes, modes)
    local want_findings = {}
    for k, r in pairs(findings_of(doc)) do
      if r.status == "fail" or r.status == "not_evaluated" then want_findings[k] = true end
    end
    assert.are.same(want_findings, findings)
    local rules = {}
    for _, rule in ipairs(run1.tool.driver.rules) do rules[rule.id] = rule end
    for k in pairs(findings) do
      local rule = assert(rules[k:match(" (%S+)$")], k)
      assert.is_true(#rule.help.text > 0)
    end
    assert.are.equal(#doc.errors, #run1.invocations[1].toolExecutionNotifications)
    assert.is_false(run1.invocations[1].executionSuccessful)
  end)

  it("HTML in headless Chromium: renders, the charts and the rows match the JSON, sorting and filtering "
    .. "work, no console error, no request; the fixes read line by line", function()
    local html = file("html")
    local fixes = {}
    for _, text in ipairs(R.rendered_cells(html, "fix")) do if text ~= "" then fixes[text] = true end end
    local want = {}
    for _, r in pairs(findings_of(doc)) do if type(r.fix) == "string" then want[r.fix] = true end end
    assert.are.same(want, fixes)
    if not browser.available then
      pending(browser.SKIP)
      return
    end
    browser.assert_audit_page(dir, "fleet-check.html", doc, html, { region = "us-east-1", mode = "AWS_MANAGED" })
  end)

  it("stdout table, csv and markdown say what the report files say", function()
    local tbl = mh.cli(sim, args(FULL, { "--output", "table" }))
    assert.are.equal(2, tbl.status)
    local rows = table_rows(tbl.stdout)
    assert.are.equal(#doc.clusters, #rows)
    local want = by_key(doc.clusters, cluster_key)
    for _, r in ipairs(rows) do
      local c = assert(want[ah.key(r.ACCOUNT, r.REGION, r.NAME)], r.NAME)
      assert.are.same({ c.egress_mode, c.status, c.version, endpoint(c), yes_no(c.compliant) },
                      { r.MODE, r.STATUS, r.VERSION, r.ENDPOINT, r.COMPLIANT })
    end
    assert.matches("Summary: 22 clusters in 2 accounts and 4 regions", tbl.stdout, 1, true)
    assert.matches("777788889999 (sandbox)  skipped  account is SUSPENDED", tbl.stdout, 1, true)
    assert.is_falsy(tbl.stdout:find("\27", 1, true), "no colour when stdout is not a terminal")

    local csv = mh.cli(sim, args(FULL, { "--output", "csv" }))
    assert.are.equal(2, csv.status)
    assert.are.equal(file("csv"), csv.stdout)
    local md = mh.cli(sim, args(FULL, { "--output", "markdown" }))
    assert.are.equal(2, md.status)
    local function undated(s) return (s:gsub("Generated [^\n]* by", "Generated by")) end
    assert.are.equal(undated(file("md")), undated(md.stdout))
  end)
end)

describe("eksegress audit (process): exit codes", function()
  local sim
  setup(function() sim = simmod.start("--time-scale 0") end)
  teardown(function() sim:stop() end)

  local function audit(...)
    local r = mh.cli(sim, args({ "audit", "--output", "json" }, ...))
    return r, r.status ~= 64 and cjson.decode(r.stdout) or nil
  end

  it("0 when nothing is required and every target was read", function()
    local r, doc = audit{ "--regions", "us-east-1,us-west-2" }
    assert.are.equal(0, r.status, r.stderr)
    assert.are.equal("", r.stderr)
    assert.are.equal(7, #doc.clusters)
  end)

  it("0 when every cluster complies", function()
    local routed = simmod.start("--time-scale 0 --generate clusters=6,accounts=1,regions=2,routed=1,isolated=0,"
      .. "nomode=0,defects=0,seed=4")
    local ok = mh.cli(routed, { "audit", "--regions", "us-east-1,us-west-2", "--require", "CUSTOMER_ROUTED",
                                "--output", "json" })
    routed:stop()
    assert.are.equal(0, ok.status, ok.stderr)
    assert.are.equal(6, cjson.decode(ok.stdout).summary.compliant)
  end)

  it("1 when a cluster does not comply and every target was read", function()
    local r, doc = audit{ "--regions", "us-east-1", "--require", "CUSTOMER_ROUTED" }
    assert.are.equal(1, r.status, r.stderr)
    assert.are.equal("", r.stderr)
    assert.are.same({}, doc.errors)
    assert.are.equal(3, doc.summary.noncompliant)
  end)

  it("2 when a target could not be read, even with non-compliant clusters (2 wins over 1); the report "
    .. "still lists everything read", function()
    local r, doc = audit{ "--regions", "us-east-1,sa-east-1", "--require", "CUSTOMER_ROUTED" }
    assert.are.equal(2, r.status)
    assert.are.equal(3, doc.summary.noncompliant)
    assert.are.equal(1, #doc.errors)
    assert.are.equal(4, #doc.clusters)
    assert.matches("^eksegress: audit: account 111122223333 region sa%-east%-1: .*AccessDeniedException", r.stderr)
    -- A region of the list the account has not enabled, or that does not
    -- exist, is unreadable too (and never called).
    local r2, doc2 = audit{ "--regions", "us-east-1,ap-east-1,nowhere-1" }
    assert.are.equal(2, r2.status)
    assert.are.equal("RegionNotEnabled", doc2.errors[1].code)
    assert.are.equal("UnknownRegion", doc2.errors[2].code)
    assert.are.equal("nowhere-1", doc2.errors[2].region)
  end)

  it("64 for bad flags: one line, nothing sent", function()
    local before = sim:admin("GET", "/_sim/stats").requests
    for _, bad in ipairs{
      { "--organization" },
      { "--role-name", "R" },
      { "--regions", "us_east_1" },
      { "--regions", "us-east-1,,us-west-2" },
      { "--concurrency", "0" },
      { "--require", "customer_routed" },
      { "--organization", "--role-name", "R", "--accounts", "12345" },
      { "--organization", "--role-name", "bad role" },
      { "--organization", "--role-name", "R", "--source-identity", "a b" },
      { "--organization", "--role-name", "R", "--source-identity", "alice", "--no-source-identity" },
      { "--no-source-identity" },
      { "--export", "/tmp/report.txt" },
      { "--retry-passes", "11" }, { "--retry-passes", "-1" }, { "--retry-passes", "x" },
      { "--retry-passes", "1.5" }, { "--retry-passes", "" },
      { "--retry-pause", "61" }, { "--retry-pause", "-1" }, { "--retry-pause", "nan" },
    } do
      local r = mh.cli(sim, args({ "audit" }, bad))
      assert.are.equal(64, r.status, table.concat(bad, " ") .. ": " .. r.stderr)
      assert.are.equal("", r.stdout)
      assert.are.equal(1, #mh.lines(r.stderr), r.stderr)
      assert.matches("^eksegress: ", r.stderr)
    end
    -- Only the admin calls of this test reached the simulator.
    assert.are.equal(before + 1, sim:admin("GET", "/_sim/stats").requests)
  end)
end)

describe("eksegress audit (process): Ctrl-C and progress", function()
  local sim
  setup(function()
    sim = simmod.start("--time-scale 0 --latency-ms 50 --generate clusters=300,accounts=1,regions=2,seed=11")
  end)
  teardown(function() sim:stop() end)

  it("Ctrl-C: exit 130, the report of what was read, every other cluster under errors as Interrupted", function()
    local h = mh.spawn_cli(sim, { "audit", "--regions", "us-east-1,us-west-2", "--concurrency", "2",
                                  "--output", "json" })
    -- Some clusters are being described.
    local deadline = core.monotime() + 60
    while h:alive() and sim:admin("GET", "/_sim/stats").requests < 30 do
      assert(core.monotime() < deadline, "the audit did not start")
      core.sleep_ms(5)
    end
    assert.is_true(h:kill("INT"))
    local rc = h:wait(120)
    local out, err = h:stdout(), h:stderr()
    h:stop()
    assert.are.equal(130, rc, err)
    local doc = cjson.decode(out)
    schema.assert_valid(ah.SCHEMA, out)
    local interrupted = 0
    for _, e in ipairs(doc.errors) do if e.code == "Interrupted" then interrupted = interrupted + 1 end end
    assert.is_true(interrupted > 0, "the audit stopped early")
    local c = ah.assert_complete(sim, doc)
    assert.are.equal(300, c.listed + c.covered)
  end)

  it("progress goes to stderr on a terminal only, never into --output json", function()
    sim:admin("POST", "/_sim/faults", { reset = true })
    local ARGS = { "audit", "--regions", "us-east-1", "--output", "json" }
    -- stderr not a terminal: no progress at all.
    local plain = mh.cli(sim, ARGS)
    assert.are.equal(0, plain.status)
    assert.are.equal("", plain.stderr)
    -- stderr a terminal, stdout a pipe: the status line on the terminal, the
    -- JSON alone on stdout.
    local tty = ah.run_on_tty(sim, ARGS)
    assert.are.equal(0, tty.status)
    assert.matches("audit: describing clusters %d+/150", tty.tty)
    assert.is_truthy(tty.tty:find("\r\27[K", 1, true), "a status line that is cleared")
    local doc = cjson.decode(tty.stdout)
    assert.are.equal(150, #doc.clusters)
    assert.is_falsy(tty.stdout:find("\27", 1, true))
    -- Both on the terminal: the status line is cleared before the JSON, which
    -- arrives whole after it.
    local both = ah.run_on_tty(sim, ARGS, true)
    assert.are.equal(0, both.status)
    local last_clear = 0
    for at in both.tty:gmatch("()\r\27%[K") do last_clear = at end
    assert.is_true(last_clear > 0)
    local json_text = both.tty:sub(last_clear + 4):gsub("\r\n", "\n")
    assert.is_falsy(json_text:find("\27", 1, true))
    assert.are.equal(150, #cjson.decode(json_text).clusters)
  end)
end)
