-- The HTML report in a real browser: Debian's Chromium, headless, driven by
-- tools/browser/check-report.js (playwright-core). The page must render, its
-- charts and row count must match the document, sorting and filtering must
-- work, markup in values must not run, and the page must make no request
-- and log no error. Chromium runs inside `unshare -n` where we may (no
-- network at all); the script also aborts and records any request.
--
-- Skips, with one message, only where Chromium is not installed.
local report = require "eksegress.report"
local doc_util = require "eksegress.report.doc"
local R = require "helpers.reports"
local browser = require "helpers.browser"

local natural_less, counts = browser.natural_less, browser.counts

if not browser.available then
  describe("report html in Chromium", function()
    pending(browser.SKIP)
  end)
  return
end

describe("report html in Chromium", function()
  local dir

  setup(function() dir = R.temp_dir() end)
  teardown(function() R.remove_dir(dir) end)

  local function check(name, html, args) return browser.check(dir, name, html, args) end
  local clean = browser.clean

  it("audit.json: charts, rows, sorting and filtering match the document", function()
    local doc = R.load("audit.json")
    browser.assert_audit_page(dir, "audit.html", doc, report.render("audit", "html", doc),
      { region = "us-east-1", mode = "AWS_MANAGED" })
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
