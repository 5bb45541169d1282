-- The HTML report in a real browser: Debian's Chromium, headless, driven by
-- tools/browser/check-report.js (playwright-core), for the report specs (59)
-- and the audit CLI specs (70). Chromium runs inside `unshare -n` where we
-- may (no network at all); the script also aborts and records any request.
--
--     local browser = require "helpers.browser"
--     if not browser.available then pending(browser.SKIP) end
--     browser.assert_audit_page(dir, "audit.html", doc, html, { region = "us-east-1", mode = "AWS_MANAGED" })
local cjson = require "cjson"
local assert = require "luassert"

local M = {}

M.CHROMIUM = os.getenv("CHROMIUM") or "/usr/bin/chromium"
M.available = os.execute("test -x " .. M.CHROMIUM) == true
M.SKIP = "Chromium is not installed (" .. M.CHROMIUM .. "; apt-get install chromium): "
  .. "the HTML report was not tested in a browser"

local isolate
local function isolation()
  if isolate == nil then isolate = os.execute("unshare -n true >/dev/null 2>&1") and "unshare -n " or "" end
  return isolate
end

--- The page sorts as people expect: numbers inside text by value
-- ("sg_egress_443" before "sg_egress_10250"), letters case-insensitively.
function M.natural_less(a, b)
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

function M.sorted_names(doc)
  local names = {}
  for i, c in ipairs(doc.clusters) do names[i] = c.name end
  table.sort(names, M.natural_less)
  return names
end

function M.reversed(list)
  local out = {}
  for i = #list, 1, -1 do out[#out + 1] = list[i] end
  return out
end

--- {group: {category: n}} with every count as text (JSON numbers come
-- back as floats).
function M.counts(t)
  local out = {}
  for g, inner in pairs(t) do
    out[g] = {}
    for k, n in pairs(inner) do
      out[g][k] = (type(n) == "number" and n == math.floor(n)) and string.format("%d", n) or tostring(n)
    end
  end
  return out
end

--- Run the checker on an HTML text written to dir/name; returns its
-- observations, exit status and stderr.
function M.check(dir, name, html, args)
  local path = dir .. "/" .. name
  local f = assert(io.open(path, "wb"))
  f:write(html)
  f:close()
  local errfile = path .. ".stderr"
  -- `make asan` preloads the sanitizer runtime into this process; Node and
  -- Chromium are not what it tests, so they run without it.
  local p = assert(io.popen(("env -u LD_PRELOAD -u ASAN_OPTIONS -u UBSAN_OPTIONS %snode "
    .. "tools/browser/check-report.js %s %s 2>%s"):format(isolation(), args or "", path, errfile)))
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

--- The page ran to its end with no problem, no request, no page error and
-- nothing injected.
function M.clean(obs, code, err)
  assert.are.same({}, obs.problems, err)
  assert.are.equal(0, code, err)
  assert.is_true(obs.ready)
  assert.are.same({}, obs.requests)
  assert.are.same({}, obs.page_errors)
  assert.are.equal(cjson.null, obs.injected)
end

--- An audit's HTML page in Chromium matches its document: every cluster a
-- row, the charts' bars and legends the summary's counts, sorting by Name
-- (both ways) and filtering by `filter.region` and `filter.mode`.
-- @return the observations
function M.assert_audit_page(dir, name, doc, html, filter)
  local obs, code, err = M.check(dir, name, html, ("--sort Name --filter '%s %s'"):format(filter.region, filter.mode))
  M.clean(obs, code, err)
  assert.are.equal(#doc.clusters, obs.rows)
  assert.are.equal(#doc.clusters, obs.total_rows)
  assert.are.equal(("%d of %d clusters"):format(#doc.clusters, #doc.clusters), obs.row_count_text)

  local by_account, by_region = obs.charts["chart-account"], obs.charts["chart-region"]
  assert.is_true(by_account.drawn and by_region.drawn)
  assert.are.same(M.counts(doc.summary.by_account), M.counts(by_account.bars))
  assert.are.same(M.counts(doc.summary.by_region), M.counts(by_region.bars))
  assert.are.same(M.counts{ all = doc.summary.by_mode }, M.counts{ all = by_account.legend })
  assert.are.same(M.counts{ all = doc.summary.by_mode }, M.counts{ all = by_region.legend })

  local names = {}
  for i, c in ipairs(doc.clusters) do names[i] = c.name end
  assert.are.same(names, obs.sort.before)
  assert.are.same(M.sorted_names(doc), obs.sort.ascending)
  assert.are_not.same(obs.sort.before, obs.sort.ascending, "the rows are already sorted: the test proves nothing")
  assert.are.same(M.reversed(M.sorted_names(doc)), obs.sort.descending)
  assert.are.same({ "ascending", "descending" }, obs.sort.aria)

  local want = 0
  for _, c in ipairs(doc.clusters) do
    if c.region == filter.region and c.egress_mode == filter.mode then want = want + 1 end
  end
  assert.is_true(want > 0 and want < #doc.clusters, "the filter must keep some rows and hide others")
  assert.are.equal(want, obs.filter.rows)
  assert.are.equal(("%d of %d clusters"):format(want, #doc.clusters), obs.filter.row_count_text)
  assert.are.equal(#doc.clusters, obs.filter.rows_after_clear)
  return obs
end

return M
