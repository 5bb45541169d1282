-- The HTML report in a real browser: Debian's Chromium, headless, driven by
-- tools/browser/check-report.js (playwright-core). The page must render, its
-- charts and row count must match the document, sorting and filtering must
-- work, markup in values must not run, and the page must make no request
-- and log no error. Chromium runs inside `unshare -n` where we may (no
-- network at all); the script also aborts and records any request.
--
-- Skips, with one message, only where Chromium is not installed.
local cjson = require "cjson"
local report = require "eksegress.report"
local doc_util = require "eksegress.report.doc"
local R = require "helpers.reports"

local CHROMIUM = os.getenv("CHROMIUM") or "/usr/bin/chromium"
local have_chromium = os.execute("test -x " .. CHROMIUM)

-- The page sorts as people expect: numbers inside text by value
-- ("sg_egress_443" before "sg_egress_10250"), letters case-insensitively.
local function natural_less(a, b)
  local function parts(s)
    local out = {}
    for text, num in s:lower():gmatch("(%D*)(%d*)") do
      if text ~= "" then out[#out + 1] = text end
      if num ~= "" then out[#out + 1] = tonumber(num) end
    end
    return out
  end
  local pa, pb = parts(a), parts(b)
  for i = 1, math.min(#pa, #pb) do
    local x, y = pa[i], pb[i]
    if x ~= y then
      if type(x) == type(y) then return x < y end
      return type(x) == "number"
    end
  end
  return #pa < #pb
end

local function sorted_names(doc)
  local names = {}
  for i, c in ipairs(doc.clusters) do names[i] = c.name end
  table.sort(names, natural_less)
  return names
end

local function reversed(list)
  local out = {}
  for i = #list, 1, -1 do out[#out + 1] = list[i] end
  return out
end

-- JSON numbers come back as floats; compare {group: {category: n}} as text.
local function counts(t)
  local out = {}
  for g, inner in pairs(t) do
    out[g] = {}
    for k, n in pairs(inner) do out[g][k] = R.str(n) end
  end
  return out
end

if not have_chromium then
  describe("report html in Chromium", function()
    pending("Chromium is not installed (" .. CHROMIUM .. "; apt-get install chromium): "
      .. "the HTML report was not tested in a browser")
  end)
  return
end

describe("report html in Chromium", function()
  local dir
  local isolate = os.execute("unshare -n true >/dev/null 2>&1") and "unshare -n " or ""

  setup(function() dir = R.temp_dir() end)
  teardown(function() R.remove_dir(dir) end)

  -- Run the checker on an HTML text; returns its observations, exit status
  -- and stderr.
  local function check(name, html, args)
    local path = dir .. "/" .. name
    local f = assert(io.open(path, "wb"))
    f:write(html)
    f:close()
    local errfile = path .. ".stderr"
    -- `make asan` preloads the sanitizer runtime into this process; Node and
    -- Chromium are not what it tests, so they run without it.
    local p = assert(io.popen(("env -u LD_PRELOAD -u ASAN_OPTIONS -u UBSAN_OPTIONS %snode "
      .. "tools/browser/check-report.js %s %s 2>%s"):format(isolate, args or "", path, errfile)))
    local out = p:read("a")
    local _, _, code = p:close()
    local ef = io.open(errfile, "rb")
    local err = ef and ef:read("a") or ""
    if ef then ef:close() end
    assert(code ~= 2, "check-report.js could not run: " .. err)
    local ok, obs = pcall(cjson.decode, out)
    assert(ok, "check-report.js printed no JSON: " .. out .. err)
    return obs, code, err
  end

  local function clean(obs, code, err)
    assert.are.same({}, obs.problems, err)
    assert.are.equal(0, code, err)
    assert.is_true(obs.ready)
    assert.are.same({}, obs.requests)
    assert.are.same({}, obs.page_errors)
    assert.are.equal(cjson.null, obs.injected)
  end

  it("audit.json: charts, rows, sorting and filtering match the document", function()
    local doc = R.load("audit.json")
    local obs, code, err = check("audit.html", report.render("audit", "html", doc),
      "--sort Name --filter 'us-east-1 AWS_MANAGED'")
    clean(obs, code, err)
    assert.are.equal(#doc.clusters, obs.rows)
    assert.are.equal(#doc.clusters, obs.total_rows)
    assert.are.equal(("%d of %d clusters"):format(#doc.clusters, #doc.clusters), obs.row_count_text)

    local by_account, by_region = obs.charts["chart-account"], obs.charts["chart-region"]
    assert.is_true(by_account.drawn and by_region.drawn)
    assert.are.same(counts(doc.summary.by_account), counts(by_account.bars))
    assert.are.same(counts(doc.summary.by_region), counts(by_region.bars))
    assert.are.same(counts{ all = doc.summary.by_mode }, counts{ all = by_account.legend })
    assert.are.same(counts{ all = doc.summary.by_mode }, counts{ all = by_region.legend })

    local names = {}
    for i, c in ipairs(doc.clusters) do names[i] = c.name end
    assert.are.same(names, obs.sort.before)
    assert.are.same(sorted_names(doc), obs.sort.ascending)
    assert.are_not.same(obs.sort.before, obs.sort.ascending, "the sample is already sorted: the test proves nothing")
    assert.are.same(reversed(sorted_names(doc)), obs.sort.descending)
    assert.are.same({ "ascending", "descending" }, obs.sort.aria)

    local want = 0
    for _, c in ipairs(doc.clusters) do
      if c.region == "us-east-1" and c.egress_mode == "AWS_MANAGED" then want = want + 1 end
    end
    assert.is_true(want > 0 and want < #doc.clusters)
    assert.are.equal(want, obs.filter.rows)
    assert.are.equal(("%d of %d clusters"):format(want, #doc.clusters), obs.filter.row_count_text)
    assert.are.equal(#doc.clusters, obs.filter.rows_after_clear)
  end)

  it("preflight.json: the outcome chart and the result rows match the document", function()
    local doc = R.load("preflight.json")
    local obs, code, err = check("preflight.html", report.render("preflight", "html", doc),
      "--sort Check --filter staging-web")
    clean(obs, code, err)
    local findings = doc_util.findings(doc)
    assert.are.equal(#findings, obs.rows)
    local want = {}
    for _, f in ipairs(findings) do
      local r, key = f.result, f.account .. "/" .. f.region .. "/" .. f.cluster
      local outcome = r.status == "fail" and r.severity or r.status == "not_evaluated" and "not evaluated" or "pass"
      want[key] = want[key] or {}
      want[key][outcome] = (want[key][outcome] or 0) + 1
    end
    assert.are.same(counts(want), counts(obs.charts["chart-cluster"].bars))
    local ids = {}
    for i, f in ipairs(findings) do ids[i] = f.result.id end
    table.sort(ids, natural_less)
    assert.are.same(ids, obs.sort.ascending)
    local staging = 0
    for _, f in ipairs(findings) do if f.cluster == "staging-web" then staging = staging + 1 end end
    assert.are.equal(staging, obs.filter.rows)
  end)

  it("markup in values is shown as text and never runs", function()
    local doc = R.load("audit.json")
    local evil = R.copy(doc.clusters[1])
    evil.name = "</script><script>window.__pwned='script'</script>"
    evil.account = "999999999999"
    evil.region = '<img src=x onerror="window.__pwned=\'img\'">'
    doc.clusters[#doc.clusters + 1] = evil
    doc.errors[1].message = "<svg onload=\"window.__pwned='svg'\"></svg><iframe src=\"javascript:window.__pwned='js'\">"
    local obs, code, err = check("hostile.html", report.render("audit", "html", doc), "--sort Name")
    clean(obs, code, err)
    assert.are.equal(#doc.clusters, obs.rows)
    local found = false
    for _, name in ipairs(obs.sort.ascending) do if name == evil.name then found = true end end
    assert.is_true(found, "the hostile name is not shown as text")
    assert.are.equal(1, obs.charts["chart-region"].bars[evil.region].AWS_MANAGED)
  end)

  it("the checker catches a page that requests, logs an error or runs injected script", function()
    -- Not a report: a page that does all three, to prove the witness works.
    -- The request goes to a loopback port and is aborted before it is sent.
    local html = [[<!DOCTYPE html><html><head><meta charset="utf-8"><title>bad</title></head><body>
<img src="http://127.0.0.1:9/witness.png"><script>console.error("boom"); window.__pwned = "yes";
document.documentElement.setAttribute("data-ready", "true");</script></body></html>]]
    local obs, code = check("bad.html", html)
    assert.are.equal(1, code)
    assert.are.equal("yes", obs.injected)
    assert.are.same({ "http://127.0.0.1:9/witness.png" }, obs.requests)
    local logged = false
    for _, m in ipairs(obs.console) do if m.type == "error" and m.text == "boom" then logged = true end end
    assert.is_true(logged)
    assert.is_true(#obs.problems >= 3)
  end)
end)
