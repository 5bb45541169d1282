-- The report documents and their JSON Schemas (docs/schemas/), the json
-- format, the format registry (report.render, report.for_extension), writing
-- report files atomically (report.export), and the layering rule: nothing
-- under report/ needs the client, the runtime or the C core.
local cjson = require "cjson"
local report = require "eksegress.report"
local json = require "eksegress.report.json"
local doc_util = require "eksegress.report.doc"
local schema = require "helpers.schema"
local fx = require "helpers.fixtures"
local R = require "helpers.reports"

local SCHEMA_OF = { audit = schema.AUDIT, preflight = schema.PREFLIGHT }

-- Deep equality of decoded JSON (an empty table equals an empty table,
-- whatever it was written as).
local function same(a, b, path)
  path = path or "$"
  if type(a) ~= "table" or type(b) ~= "table" then
    assert(a == b, ("%s: %s ~= %s"):format(path, tostring(a), tostring(b)))
    return
  end
  for k, v in pairs(a) do same(v, b[k], path .. "." .. tostring(k)) end
  for k in pairs(b) do assert(a[k] ~= nil, path .. "." .. tostring(k) .. " is missing") end
end

describe("report documents", function()
  for kind, names in pairs(R.FIXTURES) do
    for _, name in ipairs(names) do
      it(name .. " is valid against " .. SCHEMA_OF[kind], function()
        schema.assert_valid(SCHEMA_OF[kind], R.read(name))
      end)
    end
  end

  it("the audit samples' summaries agree with their clusters", function()
    for _, name in ipairs(R.FIXTURES.audit) do
      local doc = R.load(name)
      local t = doc_util.tally(doc.clusters)
      assert.are.equal(doc.summary.clusters, t.clusters)
      same(doc.summary.by_mode, t.by_mode, name .. " by_mode")
      same(doc.summary.by_account, t.by_account, name .. " by_account")
      same(doc.summary.by_region, t.by_region, name .. " by_region")
      assert.are.equal(#doc.errors, doc.summary.errors)
      if doc.require ~= cjson.null then
        assert.are.equal(doc.summary.compliant, t.compliant)
        assert.are.equal(doc.summary.noncompliant, t.noncompliant)
      end
    end
  end)

  it("the samples cover every mode, an unknown verbatim value, errors and fixes", function()
    local audit = R.load("audit.json")
    local modes = {}
    for _, c in ipairs(audit.clusters) do modes[c.egress_mode] = true end
    for _, m in ipairs{ "AWS_MANAGED", "CUSTOMER_ROUTED", "CUSTOMER_ISOLATED", "UNKNOWN",
                        "CUSTOMER_ROUTED_WITH_INSPECTION" } do
      assert.is_true(modes[m], m)
    end
    assert.is_true(#audit.errors >= 3)
    local outcomes = {}
    for _, a in ipairs(audit.accounts) do outcomes[a.outcome] = true end
    assert.is_true(outcomes.audited and outcomes.skipped and outcomes.error)
    local pre = R.load("preflight.json")
    local statuses, fixes = {}, 0
    for _, f in ipairs(doc_util.findings(pre)) do
      statuses[f.result.status] = true
      if f.result.fix ~= cjson.null then fixes = fixes + 1 end
    end
    assert.is_true(statuses.pass and statuses.fail and statuses.not_evaluated)
    assert.is_true(fixes >= 3)
  end)

  -- The schemas must reject what they promise to reject, or validating the
  -- CLI's output against them proves nothing.
  local broken = {
    { "audit", "audit.json", "no schema tag", function(d) d.schema = nil end },
    { "audit", "audit.json", "another schema version", function(d) d.schema = "eksegress/audit/2" end },
    { "audit", "audit.json", "a cluster without egress_mode", function(d) d.clusters[1].egress_mode = nil end },
    { "audit", "audit.json", "an empty egress_mode", function(d) d.clusters[1].egress_mode = "" end },
    { "audit", "audit.json", "a short account id", function(d) d.clusters[2].account = "12345" end },
    { "audit", "audit.json", "compliant as a string", function(d) d.clusters[1].compliant = "no" end },
    { "audit", "audit.json", "an unknown account outcome", function(d) d.accounts[1].outcome = "done" end },
    { "audit", "audit.json", "an error without a code", function(d) d.errors[1].code = nil end },
    { "audit", "audit.json", "a date that is not RFC 3339", function(d) d.generated_at = "04/12/2026" end },
    { "audit", "audit.json", "an embedded preflight result with a bad status",
      function(d) d.clusters[1].preflight.results[2].status = "failed" end },
    { "audit", "audit.json", "a count that is not an integer", function(d) d.summary.by_mode.AWS_MANAGED = 1.5 end },
    { "preflight", "preflight.json", "a result without an id", function(d) d.clusters[1].results[1].id = nil end },
    { "preflight", "preflight.json", "an unknown severity",
      function(d) d.clusters[1].results[1].severity = "high" end },
    { "preflight", "preflight.json", "a fix that is not a string", function(d) d.clusters[1].results[3].fix = 3 end },
    { "preflight", "preflight.json", "a cluster without blocking", function(d) d.clusters[2].blocking = nil end },
  }
  for _, case in ipairs(broken) do
    it("the " .. case[1] .. " schema rejects " .. case[3], function()
      local doc = R.load(case[2])
      case[4](doc)
      local ok, out = schema.validate(SCHEMA_OF[case[1]], cjson.encode(doc))
      assert.is_false(ok, "accepted: " .. case[3])
      assert.is_truthy(out:find("<document>: /", 1, true), out)
    end)
  end
end)

describe("report json", function()
  for kind, names in pairs(R.FIXTURES) do
    for _, name in ipairs(names) do
      it(name .. ": read back, it is the document, and valid", function()
        local doc = R.load(name)
        local out = report.render(kind, "json", doc)
        schema.assert_valid(SCHEMA_OF[kind], out)
        same(cjson.decode(out), doc, name)
        assert.are.equal(out, report.render(kind, "json", cjson.decode(out)), "not stable across a round trip")
      end)
    end
  end

  it("orders keys stably: documents read top-down, then others by name", function()
    local doc = R.load("audit.json")
    local out = report.render("audit", "json", doc)
    local last = 0
    for _, key in ipairs{ '"schema"', '"generated_at"', '"tool"', '"require"', '"scope"', '"clusters"',
                          '"accounts"', '"summary"', '"errors"' } do
      local at = out:find("\n  " .. key .. ":", 1, true)
      assert.is_truthy(at, key)
      assert.is_true(at > last, key .. " out of order")
      last = at
    end
    local c = out:match('\n    {\n(.-)\n    }')
    assert.is_truthy(c:find('"account".-"region".-"name".-"arn".-"status".-"egress_mode".-"compliant".-"preflight"'))
    -- Hash order differs between processes; the bytes must not.
    local again = report.render("audit", "json", R.load("audit.json"))
    assert.are.equal(out, again)
  end)

  it("writes empty lists as [] and empty objects as {}", function()
    local doc = R.load("audit-plain.json")
    local out = report.render("audit", "json", doc, { pretty = false })
    assert.is_truthy(out:find('"errors":[]', 1, true))
    doc.summary.by_mode = {}
    doc.clusters = {}
    out = report.render("audit", "json", doc, { pretty = false })
    assert.is_truthy(out:find('"clusters":[]', 1, true))
    assert.is_truthy(out:find('"by_mode":{}', 1, true))
    assert.is_truthy(out:find('"compliant":null', 1, true))
    assert.is_nil(out:find("\n", 1, true))
    -- Elsewhere, a producer marks an empty list as one.
    local e = { updates = setmetatable({}, json.array_mt), other = {} }
    assert.are.equal('{"other":{},"updates":[]}', json.encode(e, { pretty = false }))
  end)

  it("keeps every string valid UTF-8 and escapes controls", function()
    local s = json.encode({ a = "ok \0\27[31m \"q\" \\ caf\195\169 bad\255\254 end" }, { pretty = false })
    assert.are.equal('{"a":"ok \\u0000\\u001b[31m \\"q\\" \\\\ caf\195\169 bad\239\191\189\239\191\189 end"}', s)
    assert.is_truthy(utf8.len(s))
    assert.are.equal("ok \0\27[31m \"q\" \\ caf\195\169 bad\239\191\189\239\191\189 end", cjson.decode(s).a)
  end)

  it("script_safe output cannot close a <script> block", function()
    local s = json.encode({ v = "</script><script>alert(1)</script><!-- \226\128\168" }, { script_safe = true })
    assert.is_nil(s:find("<", 1, true))
    assert.is_nil(s:find("\226\128\168", 1, true))
    assert.are.equal("</script><script>alert(1)</script><!-- \226\128\168", cjson.decode(s).v)
  end)

  it("numbers: integers stay integers, others read back exactly", function()
    local s = json.encode({ a = 3, b = 3.0, c = 0.1, d = -2 ^ 60, e = 1e300 }, { pretty = false })
    local back = cjson.decode(s)
    assert.is_truthy(s:find('"a":3,', 1, true))
    assert.is_truthy(s:find('"b":3,', 1, true))
    assert.are.equal(0.1, back.c)
    assert.are.equal(1e300, back.e)
  end)

  it("raises on what JSON cannot hold", function()
    assert.has_error(function() json.encode({ x = 0 / 0 }) end)
    assert.has_error(function() json.encode({ x = math.huge }) end)
    assert.has_error(function() json.encode({ x = print }) end)
    assert.has_error(function() json.encode({ [1] = "a", b = "c" }) end)
    assert.has_error(function() json.encode({ [1] = "a", [3] = "c" }) end)
    local t = {}
    t.self = t
    assert.has_error(function() json.encode(t) end)
  end)
end)

describe("report registry", function()
  it("chooses the format from the export file name", function()
    local cases = { ["a.json"] = "json", ["dir/b.csv"] = "csv", ["c.md"] = "markdown", ["d.html"] = "html",
                    ["e.junit.xml"] = "junit", ["f.sarif"] = "sarif", ["G.JUNIT.XML"] = "junit",
                    ["x.sarif.json"] = "json", ["./out/fleet.HTML"] = "html" }
    for path, fmt in pairs(cases) do assert.are.equal(fmt, report.for_extension(path), path) end
  end)

  it("says clearly which names it does not know", function()
    for _, path in ipairs{ "report.xml", "report.txt", "report", ".json", "dir/.md", "report.markdown" } do
      local fmt, err = report.for_extension(path)
      assert.is_nil(fmt, path)
      assert.are.equal("UnsupportedExport", err.code)
      assert.is_truthy(err.message:find(path, 1, true), err.message)
      assert.is_truthy(err.message:find(".junit.xml", 1, true), err.message)
    end
  end)

  it("renders every format of both kinds", function()
    for kind, names in pairs(R.FIXTURES) do
      for _, fmt in ipairs(report.FORMATS) do
        local out = report.render(kind, fmt, R.load(names[1]), { color = false })
        assert.is_string(out)
        assert.is_true(#out > 200, kind .. " " .. fmt)
        assert.is_truthy(utf8.len(out), kind .. " " .. fmt .. " is not UTF-8")
      end
    end
  end)

  it("raises on misuse, naming the problem", function()
    local doc = R.load("audit.json")
    local function raises(pattern, fn)
      local ok, err = pcall(fn)
      assert.is_false(ok)
      assert.is_truthy(tostring(err):find(pattern), tostring(err))
    end
    raises("kind must be one of audit, preflight, plan, apply%-result, not fleet",
      function() report.render("fleet", "json", doc) end)
    raises("unknown format pdf", function() report.render("audit", "pdf", doc) end)
    raises("document must be a table", function() report.render("audit", "json", "{}") end)
    raises('needs a "eksegress/preflight/1" document', function() report.render("preflight", "json", doc) end)
    raises("unknown option colour", function() report.render("audit", "table", doc, { colour = false }) end)
    raises("option color must be a boolean", function() report.render("audit", "table", doc, { color = "no" }) end)
    raises("option columns must be", function() report.render("audit", "table", doc, { columns = 0 }) end)
    raises("option columns must be", function() report.render("audit", "table", doc, { columns = 80.5 }) end)
    raises("option information_uri must be", function()
      report.render("audit", "sarif", doc, { information_uri = "not a uri" })
    end)
    raises("path must be a non%-empty string", function() report.export("", "audit", doc) end)
  end)

  it("accepts one options table for several formats", function()
    local doc = R.load("preflight.json")
    local opts = { color = false, columns = 100, rules = {}, pretty = false, title = "t" }
    for _, fmt in ipairs(report.FORMATS) do assert.is_string(report.render("preflight", fmt, doc, opts)) end
  end)
end)

describe("report.export", function()
  local dir
  before_each(function() dir = R.temp_dir() end)
  after_each(function() R.remove_dir(dir) end)

  local function listing()
    local p = io.popen("ls -A " .. dir)
    local names = {}
    for l in p:lines() do names[#names + 1] = l end
    p:close()
    table.sort(names)
    return table.concat(names, " ")
  end

  it("writes each format, exactly as render returns it, and nothing else", function()
    local doc = R.load("audit.json")
    for _, name in ipairs{ "r.json", "r.csv", "r.md", "r.html", "r.junit.xml", "r.sarif" } do
      assert.is_true(report.export(dir .. "/" .. name, "audit", doc, { color = false }))
      local fmt = report.for_extension(name)
      assert.are.equal(report.render("audit", fmt, doc, { color = false }), fx.read(dir .. "/" .. name))
    end
    assert.are.equal("r.csv r.html r.json r.junit.xml r.md r.sarif", listing())
  end)

  it("replaces an existing report whole", function()
    local path = dir .. "/fleet.json"
    local f = assert(io.open(path, "wb"))
    f:write(string.rep("old ", 100000))
    f:close()
    assert.is_true(report.export(path, "audit", R.load("audit-plain.json")))
    assert.are.equal(report.render("audit", "json", R.load("audit-plain.json")), fx.read(path))
    assert.are.equal("fleet.json", listing())
  end)

  it("returns ExportFailed for a folder that does not exist", function()
    local ok, err = report.export(dir .. "/missing/fleet.json", "audit", R.load("audit.json"))
    assert.is_nil(ok)
    assert.are.equal("ExportFailed", err.code)
    assert.is_truthy(err.message:find(dir .. "/missing/fleet.json", 1, true), err.message)
    assert.is_truthy(err.message:find("No such file or directory", 1, true), err.message)
  end)

  it("returns an error for an unknown extension and writes nothing", function()
    local ok, err = report.export(dir .. "/fleet.txt", "audit", R.load("audit.json"))
    assert.is_nil(ok)
    assert.are.equal("UnsupportedExport", err.code)
    assert.are.equal("", listing())
  end)

  it("leaves no temporary file when the target cannot be replaced", function()
    assert(os.execute("mkdir " .. dir .. "/taken.json"))
    local ok, err = report.export(dir .. "/taken.json", "audit", R.load("audit.json"))
    assert.is_nil(ok)
    assert.are.equal("ExportFailed", err.code)
    assert.are.equal("taken.json", listing())
  end)

  it("a write that fails half way leaves the old report untouched and no temporary file", function()
    local path = dir .. "/fleet.html"
    local f = assert(io.open(path, "wb"))
    f:write("the previous report")
    f:close()
    -- A filesystem that fills up during the write: the first half of the
    -- bytes land, then ENOSPC.
    local real_open = io.open
    local failed = false
    io.open = function(name, mode) -- luacheck: ignore 122
      local h, e = real_open(name, mode)
      if not h or not name:find("%.tmp%-") then return h, e end
      return setmetatable({}, { __index = {
        write = function(_, s)
          h:write(s:sub(1, #s // 2))
          failed = true
          return nil, "No space left on device", 28
        end,
        flush = function() return h:flush() end,
        close = function() return h:close() end,
      } })
    end
    local ok, err = report.export(path, "audit", R.load("audit.json"))
    io.open = real_open -- luacheck: ignore 122
    assert.is_true(failed, "the stub was not used: the test proves nothing")
    assert.is_nil(ok)
    assert.are.equal("ExportFailed", err.code)
    assert.is_truthy(err.message:find("No space left on device", 1, true))
    assert.are.equal("the previous report", fx.read(path))
    assert.are.equal("fleet.html", listing())
  end)
end)

describe("report layering", function()
  it("report/ requires only report/, eksegress.errors and cjson", function()
    local p = assert(io.popen("ls lua/eksegress/report/*.lua"))
    local files = 0
    for path in p:lines() do
      files = files + 1
      local src = fx.read(path)
      local names = {}
      for name in src:gmatch("[^%w_\"']require%s*%(?%s*[\"']([^\"']+)[\"']") do names[#names + 1] = name end
      for name in src:gmatch("pcall%(%s*require%s*,%s*[\"']([^\"']+)[\"']") do names[#names + 1] = name end
      for _, name in ipairs(names) do
        assert.is_truthy(name:find("^eksegress%.report$") or name:find("^eksegress%.report%.")
          or name == "eksegress.errors" or name == "cjson", path .. " requires " .. name)
      end
    end
    p:close()
    assert.is_true(files >= 10)
  end)

  it("renders every format in a Lua without the C core, loading no networked module", function()
    local script = [[
      local report = require "eksegress.report"
      local cjson = require "cjson"
      for _, pair in ipairs{ { "audit", "audit.json" }, { "preflight", "preflight.json" } } do
        local f = assert(io.open("spec/fixtures/reports/" .. pair[2], "rb"))
        local doc = cjson.decode(f:read("a"))
        f:close()
        for _, fmt in ipairs(report.FORMATS) do assert(#report.render(pair[1], fmt, doc) > 0) end
      end
      local loaded = {}
      for name in pairs(package.loaded) do
        if name:find("^eksegress") then loaded[#loaded + 1] = name end
      end
      table.sort(loaded)
      print(table.concat(loaded, " "))
    ]]
    -- LUA_CPATH without build/: eksegress.core cannot be found at all.
    local cmd = ("LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH=';;' lua5.4 -e %q 2>&1"):format(script)
    local p = assert(io.popen(cmd))
    local out = p:read("a")
    assert.is_true(p:close(), out)
    assert.is_truthy(out:find("eksegress.report.html", 1, true), out)
    for name in out:gmatch("%S+") do
      assert.is_truthy(name:find("^eksegress%.report") or name == "eksegress.errors", "loaded " .. name)
    end
  end)
end)
