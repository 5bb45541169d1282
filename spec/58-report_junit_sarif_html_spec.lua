-- The formats machines read: JUnit XML and SARIF 2.1.0, parsed back (XML
-- with Python's ElementTree, SARIF validated against the official 2.1.0
-- schema) and compared with the document; and the HTML report read with
-- Python's HTML parser: one self-contained page, every value escaped, the
-- embedded data exactly the document. (59 runs the page in Chromium.)
local cjson = require "cjson"
local report = require "eksegress.report"
local assets = require "eksegress.report.html_assets"
local doc_util = require "eksegress.report.doc"
local schema = require "helpers.schema"
local R = require "helpers.reports"

local S = R.str

-- Values that try to break out of XML and HTML.
local EVIL_NAME = "</script><script>window.__pwned=1</script><!--"
local EVIL_MESSAGE = '<img src=x onerror="window.__pwned=2"> & ]]> "quoted" \'single\' \1\27[31m'

local function hostile_audit()
  local doc = R.load("audit.json")
  local c = R.copy(doc.clusters[1])
  c.name = EVIL_NAME
  c.arn = '"><script>window.__pwned=3</script>'
  doc.clusters[#doc.clusters + 1] = c
  doc.errors[1].message = EVIL_MESSAGE
  doc.accounts[3].reason = "<b>bold</b>"
  return doc
end

-- What text.safe makes of EVIL_MESSAGE's control characters in XML.
local EVIL_MESSAGE_XML = EVIL_MESSAGE:gsub("\1", "\\x01"):gsub("\27", "\\x1b")

describe("report junit", function()
  local function parse(kind, doc)
    local root = R.parse("xml", report.render(kind, "junit", doc))
    assert.are.equal("testsuites", root.tag)
    return root
  end

  -- The counts on every suite and on the root agree with the test cases.
  local function check_counts(root)
    local total = { tests = 0, failures = 0, errors = 0, skipped = 0 }
    for _, suite in ipairs(R.children(root, "testsuite")) do
      local c = { tests = 0, failures = 0, errors = 0, skipped = 0 }
      for _, tc in ipairs(R.children(suite, "testcase")) do
        c.tests = c.tests + 1
        for _, kind in ipairs{ "failure", "error", "skipped" } do
          if #R.children(tc, kind) > 0 then
            local k = kind == "failure" and "failures" or kind == "error" and "errors" or "skipped"
            c[k] = c[k] + 1
          end
        end
      end
      for k, v in pairs(c) do
        assert.are.equal(tostring(v), suite.attrib[k], suite.attrib.name .. " " .. k)
        total[k] = total[k] + v
      end
    end
    for k, v in pairs(total) do assert.are.equal(tostring(v), root.attrib[k], "testsuites " .. k) end
  end

  it("audit.json: a test case per cluster and per unreadable target", function()
    local doc = R.load("audit.json")
    local root = parse("audit", doc)
    check_counts(root)
    local cases = R.children(R.children(root, "testsuite")[1], "testcase")
    assert.are.equal(#doc.clusters + #doc.errors, #cases)
    for i, c in ipairs(doc.clusters) do
      local tc = cases[i]
      assert.are.equal(c.account .. "/" .. c.region, tc.attrib.classname)
      assert.are.equal(c.name, tc.attrib.name)
      local failure = R.children(tc, "failure")[1]
      local should_fail = c.compliant == false or c.preflight.blocking > 0
      assert.are.equal(should_fail, failure ~= nil, c.name)
      if c.compliant == false then
        assert.is_truthy(failure.attrib.message:find("egress mode " .. c.egress_mode .. ", required CUSTOMER_ROUTED", 1,
          true), failure.attrib.message)
      end
      if failure then
        for _, r in ipairs(c.preflight.results) do
          if r.status == "fail" and r.severity == "blocking" and r.fix ~= cjson.null then
            assert.is_truthy(failure.text:find("fix: " .. r.fix, 1, true), c.name .. " " .. r.id)
          end
        end
      end
      assert.is_truthy(R.children(tc, "system-out")[1].text:find("egress mode: " .. c.egress_mode, 1, true))
    end
    for i, e in ipairs(doc.errors) do
      local tc = cases[#doc.clusters + i]
      local err = R.children(tc, "error")[1]
      assert.is_truthy(err, tc.attrib.name)
      assert.are.equal(e.code, err.attrib.type)
      assert.are.equal(e.code .. ": " .. e.message, err.attrib.message)
      assert.are.equal(doc_util.error_target(e), tc.attrib.name)
    end
  end)

  it("audit-plain.json: nothing fails without a required mode", function()
    local root = parse("audit", R.load("audit-plain.json"))
    check_counts(root)
    assert.are.same({ "3", "0", "0" }, { root.attrib.tests, root.attrib.failures, root.attrib.errors })
  end)

  it("preflight.json: a suite per cluster, a test case per check", function()
    local doc = R.load("preflight.json")
    local root = parse("preflight", doc)
    check_counts(root)
    local suites = R.children(root, "testsuite")
    assert.are.equal(#doc.clusters + 1, #suites)
    for i, c in ipairs(doc.clusters) do
      local where = c.account .. "/" .. c.region .. "/" .. c.name
      assert.are.equal(where, suites[i].attrib.name)
      local cases = R.children(suites[i], "testcase")
      assert.are.equal(#c.results, #cases)
      for j, r in ipairs(c.results) do
        local tc = cases[j]
        assert.are.equal(where, tc.attrib.classname)
        assert.are.equal(r.id, tc.attrib.name)
        local failure, skipped = R.children(tc, "failure")[1], R.children(tc, "skipped")[1]
        local counts = r.status == "fail" and (r.severity == "blocking" or r.severity == "warning")
        assert.are.equal(counts, failure ~= nil, r.id)
        assert.are.equal(r.status == "not_evaluated", skipped ~= nil, r.id)
        if failure then
          assert.are.equal(r.message, failure.attrib.message)
          assert.are.equal(r.severity, failure.attrib.type)
          if r.fix ~= cjson.null then assert.is_truthy(failure.text:find("fix: " .. r.fix, 1, true)) end
          assert.is_truthy(failure.text:find("evidence: {", 1, true))
        end
        if r.status == "fail" and r.severity == "info" then
          assert.is_truthy(R.children(tc, "system-out")[1].text:find(r.message, 1, true))
        end
      end
    end
    assert.are.equal("errors", suites[#suites].attrib.name)
    assert.are.equal(#doc.errors, #R.children(suites[#suites], "testcase"))
  end)

  it("stays well-formed XML whatever the values hold", function()
    local doc = hostile_audit()
    local root = parse("audit", doc)
    local cases = R.children(R.children(root, "testsuite")[1], "testcase")
    assert.are.equal(EVIL_NAME, cases[#doc.clusters].attrib.name)
    local err = R.children(cases[#doc.clusters + 1], "error")[1]
    assert.are.equal(doc.errors[1].code .. ": " .. EVIL_MESSAGE_XML, err.attrib.message)
    assert.is_truthy(err.text:find(EVIL_MESSAGE_XML, 1, true))
    local pre = R.load("preflight.json")
    pre.clusters[1].results[3].message = EVIL_MESSAGE .. "\n\tline two"
    local proot = parse("preflight", pre)
    local tc = R.children(R.children(proot, "testsuite")[1], "testcase")[3]
    assert.are.equal(EVIL_MESSAGE_XML .. "\n\tline two", R.children(tc, "failure")[1].attrib.message)
  end)
end)

describe("report sarif", function()
  local RULES = {
    { id = "route_default", severity = "blocking", title = "Default route to an egress device",
      help = "Each cluster subnet needs 0.0.0.0/0 to a NAT gateway, transit gateway or firewall. Fix: aws ec2 "
        .. "create-route or replace-route with --nat-gateway-id." },
    { id = "nacl_outbound_443", severity = "blocking", title = "NACLs allow outbound 443", help = "Allow it." },
    { id = "dhcp_resolver", severity = "warning", title = "AmazonProvidedDNS", help = "Use it." },
    { id = "never_seen", severity = "info", title = "A check with no result here", help = "Nothing." },
  }

  local function log(kind, doc, opts)
    local out = report.render(kind, "sarif", doc, opts)
    schema.assert_valid(schema.SARIF, out)
    return cjson.decode(out), out
  end

  for kind, names in pairs(R.FIXTURES) do
    for _, name in ipairs(names) do
      it(name .. " is valid SARIF 2.1.0, with and without rules", function()
        log(kind, R.load(name))
        log(kind, R.load(name), { rules = RULES, information_uri = "https://example.com/eksegress" })
      end)
    end
  end

  -- Every failing or unevaluated finding, and every non-compliant cluster,
  -- is a result; nothing else is.
  local function expected_results(kind, doc)
    local want = {}
    if kind == "audit" and doc.require ~= cjson.null then
      for _, c in ipairs(doc.clusters) do
        if c.compliant == false then
          want[#want + 1] = { id = "egress_mode_required", where = c.account .. "/" .. c.region .. "/" .. c.name,
                              level = "error", kind = "fail" }
        end
      end
    end
    local LEVEL = { blocking = "error", warning = "warning", info = "note" }
    for _, f in ipairs(doc_util.findings(doc)) do
      local r = f.result
      if r.status ~= "pass" then
        want[#want + 1] = { id = r.id, where = f.account .. "/" .. f.region .. "/" .. f.cluster,
          level = r.status == "fail" and LEVEL[r.severity] or "none", kind = r.status == "fail" and "fail" or "review",
          fix = r.fix ~= cjson.null and r.fix or nil, resources = r.resources }
      end
    end
    return want
  end

  for _, case in ipairs{ { "audit", "audit.json" }, { "preflight", "preflight.json" } } do
    it(case[2] .. ": a result per finding, each pointing at its rule and its cluster", function()
      local doc = R.load(case[2])
      local sarif = log(case[1], doc, { rules = RULES })
      local run = sarif.runs[1]
      assert.are.equal("eksegress", run.tool.driver.name)
      assert.are.equal(doc.tool.version, run.tool.driver.version)
      local want = expected_results(case[1], doc)
      assert.are.equal(#want, #run.results)
      for i, w in ipairs(want) do
        local res = run.results[i]
        assert.are.equal(w.id, res.ruleId)
        assert.are.equal(w.id, run.tool.driver.rules[res.ruleIndex + 1].id)
        assert.are.equal(w.level, res.level)
        assert.are.equal(w.kind, res.kind)
        local lls = res.locations[1].logicalLocations
        assert.are.equal(w.where, lls[1].fullyQualifiedName)
        assert.are.equal(w.where .. "/" .. w.id, res.partialFingerprints["eksegressFinding/v1"])
        assert.is_truthy(res.message.text:find(w.where, 1, true))
        if w.fix then
          assert.are.equal(w.fix, res.properties.fix)
          assert.is_truthy(res.message.text:find("Fix: " .. w.fix, 1, true))
        end
        for j, id in ipairs(w.resources or {}) do
          if id ~= res.properties.cluster then
            local found = false
            for _, ll in ipairs(lls) do if ll.name == id then found = true end end
            assert.is_true(found, id .. " in the locations of " .. w.where .. "/" .. w.id .. " (" .. j .. ")")
          end
        end
      end
      -- No result ever names a file.
      for _, res in ipairs(run.results) do
        for _, loc in ipairs(res.locations) do assert.is_nil(loc.physicalLocation) end
      end
      local inv = run.invocations[1]
      assert.is_false(inv.executionSuccessful)
      assert.are.equal(#doc.errors, #inv.toolExecutionNotifications)
      for i, e in ipairs(doc.errors) do
        local n = inv.toolExecutionNotifications[i]
        assert.are.equal("error", n.level)
        assert.are.equal(e.code, n.descriptor.id)
        assert.is_truthy(n.message.text:find(e.message, 1, true))
      end
    end)
  end

  it("takes rule metadata from the check list, and makes rules for checks it does not list", function()
    local sarif = log("preflight", R.load("preflight.json"), { rules = RULES })
    local rules = sarif.runs[1].tool.driver.rules
    for i, r in ipairs(RULES) do
      assert.are.equal(r.id, rules[i].id)
      assert.are.equal(r.title, rules[i].shortDescription.text)
      assert.are.equal(r.help, rules[i].help.text)
      local level = ({ blocking = "error", warning = "warning", info = "note" })[r.severity]
      assert.are.equal(level, rules[i].defaultConfiguration.level)
    end
    local ids = {}
    for _, r in ipairs(rules) do
      assert.is_nil(ids[r.id], "rule listed twice: " .. r.id)
      ids[r.id] = true
      assert.is_string(r.fullDescription.text)
      assert.is_string(r.help.text)
    end
    assert.is_true(ids.route_blackhole, "a check missing from the list still gets a rule")
    assert.is_true(ids.never_seen, "every listed check is a rule")
  end)

  it("the audit's required-mode rule says how to fix it, and that it is permanent", function()
    local sarif = log("audit", R.load("audit.json"))
    local rule = sarif.runs[1].tool.driver.rules[1]
    assert.are.equal("egress_mode_required", rule.id)
    assert.is_truthy(rule.help.text:find("permanent", 1, true))
    local first = sarif.runs[1].results[1]
    assert.are.equal("eksegress plan --region eu-west-1 --cluster checkout --out checkout.plan.json",
      first.properties.fix)
    -- No switch back is ever suggested, nor one for a mode nobody documents.
    for _, res in ipairs(sarif.runs[1].results) do
      if res.ruleId == "egress_mode_required" and res.properties.egress_mode ~= "AWS_MANAGED" then
        assert.is_nil(res.properties.fix, res.properties.cluster)
      end
    end
  end)

  it("audit-plain.json: a clean run has no results and succeeded", function()
    local sarif = log("audit", R.load("audit-plain.json"), { information_uri = "https://example.com/eksegress" })
    local run = sarif.runs[1]
    assert.are.equal(0, #run.results)
    assert.is_true(run.invocations[1].executionSuccessful)
    assert.are.equal("https://example.com/eksegress", run.tool.driver.informationUri)
    local _, text = log("audit", R.load("audit-plain.json"))
    assert.is_truthy(text:find('"results": []', 1, true))
  end)

  it("stays valid SARIF whatever the values hold", function()
    local doc = hostile_audit()
    local sarif = log("audit", doc)
    local n = sarif.runs[1].invocations[1].toolExecutionNotifications[1]
    assert.is_truthy(n.message.text:find(EVIL_MESSAGE, 1, true))
  end)
end)

describe("report html", function()
  local function sha256_b64(s)
    local path = R.write_temp(s)
    local p = assert(io.popen((os.getenv("EKSEGRESS_PYTHON") or "python3")
      .. " -c 'import hashlib,base64,sys; print(base64.b64encode(hashlib.sha256(open(sys.argv[1],\"rb\").read())"
      .. ".digest()).decode())' " .. path))
    local out = p:read("l")
    p:close()
    os.remove(path)
    return "sha256-" .. out
  end

  it("the Content-Security-Policy hashes are those of the inline CSS and script", function()
    local css, js = sha256_b64(assets.CSS), sha256_b64(assets.JS)
    assert.are.equal(css, assets.CSS_SHA256, "set M.CSS_SHA256 = \"" .. css .. "\" in report/html_assets.lua")
    assert.are.equal(js, assets.JS_SHA256, "set M.JS_SHA256 = \"" .. js .. "\" in report/html_assets.lua")
  end)

  local function page(kind, doc)
    local out = report.render(kind, "html", doc)
    local parsed = R.parse("html", out)
    return parsed, out
  end

  -- One self-contained page: the two inline scripts, one stylesheet, and
  -- nothing that could load or send anything.
  local function self_contained(parsed, out)
    assert.are.equal(2, #parsed.scripts, "script elements")
    assert.are.same({ type = "application/json", id = "report-data" }, parsed.scripts[1].attrs)
    assert.are.same({}, parsed.scripts[2].attrs)
    assert.are.equal(assets.JS, parsed.scripts[2].text)
    assert.are.equal(1, parsed.elements.style)
    for _, tag in ipairs{ "img", "link", "iframe", "object", "embed", "base", "form", "audio", "video" } do
      assert.is_nil(parsed.elements[tag], tag)
    end
    assert.are.same({}, parsed.links)
    local policy = out:match('http%-equiv="Content%-Security%-Policy" content="([^"]+)"')
    assert.is_truthy(policy)
    assert.is_truthy(policy:find("default-src 'none'", 1, true))
    assert.is_truthy(policy:find("script-src '" .. assets.JS_SHA256 .. "'", 1, true))
    assert.is_nil(policy:find("unsafe", 1, true))
    assert.is_nil(assets.CSS:find("url(", 1, true))
    assert.is_nil(assets.CSS:find("@import", 1, true))
  end

  local function cells(parsed, id)
    local rows = parsed.tables[id]
    assert.is_truthy(rows, "no table " .. id)
    return rows[1], { table.unpack(rows, 2) }
  end

  it("audit.json: self-contained; the table and the embedded data are the document", function()
    local doc = R.load("audit.json")
    local parsed, out = page("audit", doc)
    self_contained(parsed, out)
    assert.are.same(doc, cjson.decode(parsed.scripts[1].text))
    local header, rows = cells(parsed, "report-table")
    assert.are.same({ "Account", "Region", "Name", "Egress mode", "Status", "Version", "Endpoint", "Compliant",
                      "Blocking", "Warnings", "Created" }, header)
    assert.are.equal(#doc.clusters, #rows)
    for i, c in ipairs(doc.clusters) do
      assert.are.same({ c.account, c.region, c.name, c.egress_mode, c.status, c.version },
        { table.unpack(rows[i], 1, 6) })
      assert.are.equal(c.compliant and "yes" or "no", rows[i][8])
      assert.are.equal(S(c.preflight.blocking), rows[i][9])
      assert.are.equal(c.created_at, rows[i][11])
    end
    -- The errors and the accounts not audited, as plain tables.
    local errors
    for _, t in pairs(parsed.tables) do
      if t[1][1] == "Target" then errors = t end
    end
    assert.are.equal(#doc.errors + 1, #errors)
    for i, e in ipairs(doc.errors) do
      assert.are.same({ doc_util.error_target(e), e.code, S(e.status), e.message, S(e.request_id) }, errors[i + 1])
    end
    assert.is_truthy(out:find("444444444444", 1, true))
  end)

  it("audit-plain.json: no compliance column without a required mode", function()
    local parsed, out = page("audit", R.load("audit-plain.json"))
    self_contained(parsed, out)
    local header, rows = cells(parsed, "report-table")
    assert.are.same({ "Account", "Region", "Name", "Egress mode", "Status", "Version", "Endpoint", "Created" }, header)
    assert.are.equal(3, #rows)
    assert.is_truthy(out:find("Every target was read.", 1, true))
  end)

  it("audit.json: a card for the clusters later passes recovered, only when there were later passes", function()
    local doc = R.load("audit.json")
    doc.summary.passes, doc.summary.recovered = 3, 476
    local parsed, out = page("audit", doc)
    self_contained(parsed, out)
    assert.is_truthy(out:find('<span class="n">476</span>recovered in passes 2-3</div>', 1, true))
    doc.summary.passes, doc.summary.recovered = 1, 0
    local _, plain = page("audit", doc)
    assert.is_nil(plain:find("recovered in passes", 1, true))
  end)

  it("preflight.json: a row per result, with its fix", function()
    local doc = R.load("preflight.json")
    local parsed, out = page("preflight", doc)
    self_contained(parsed, out)
    assert.are.same(doc, cjson.decode(parsed.scripts[1].text))
    local _, rows = cells(parsed, "report-table")
    local findings = doc_util.findings(doc)
    assert.are.equal(#findings, #rows)
    for i, f in ipairs(findings) do
      local r = f.result
      local status = r.status == "not_evaluated" and "not evaluated" or r.status
      assert.are.same({ f.account, f.region, f.cluster, r.id, status, r.severity, r.message,
        table.concat(r.resources, " "), S(r.fix) }, rows[i])
    end
  end)

  it("escapes every value: markup in a name or a message stays text", function()
    local doc = hostile_audit()
    local parsed, out = page("audit", doc)
    self_contained(parsed, out)
    -- The data block still decodes to the very document.
    assert.are.same(doc, cjson.decode(parsed.scripts[1].text))
    assert.is_nil(parsed.scripts[1].text:find("<", 1, true))
    local _, rows = cells(parsed, "report-table")
    assert.are.equal(EVIL_NAME, rows[#rows][3])
    assert.is_nil(parsed.elements.b, "<b> in a reason became markup")
    assert.is_truthy(out:find("&lt;img src=x onerror=&quot;window.__pwned=2&quot;&gt;", 1, true))
  end)
end)
