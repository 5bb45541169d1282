-- The audit's later passes against the simulator: reads that failed with a
-- retryable error (5xx, throttling, a lost connection) after the client's
-- own retries are read again after a pause with a refilled retry quota;
-- denials and roles that cannot be assumed are not. The witnesses are the
-- simulator's own inventory (/_sim/state: every cluster exactly once or its
-- target under errors) and its request log (/_sim/log: what each pass sent).
-- The faults stop when pass 2 begins (switched from the progress callback),
-- or are counted (`fail_count`: the N requests after the first `fail_skip`).
local simmod = require "helpers.sim"
local audit = require "eksegress.workflows.audit"
local ah = require "helpers.audit"
local mh = require "helpers.migrate"

local ORG = { role_name = ah.ROLE }
local DENIED = { ["111122223333/sa-east-1"] = true, ["444455556666/ap-southeast-1"] = true }

-- A factory (3 attempts per request) that keeps the clients it made, to
-- read their engines' retry quota.
local function factory(sim, made)
  local f = mh.factory(sim, nil, { max_attempts = 3 })
  return function(target)
    local c, err = f(target)
    if c and made then made[#made + 1] = c end
    return c, err
  end
end

local function last_seq(sim)
  return sim:admin("GET", "/_sim/log?since=999999999").last_seq
end

-- The requests of /_sim/log after `since` (all when nil) for operation `op`.
local function requests(sim, op, since)
  local out = {}
  for _, r in ipairs(sim:admin("GET", ("/_sim/log?since=%d&limit=1000000"):format(since or 0)).requests) do
    if r.operation == op then out[#out + 1] = r end
  end
  return out
end

local function by_target(doc)
  local t = {}
  for _, e in ipairs(doc.errors) do
    t[e.account .. "/" .. (e.region or "") .. (e.cluster and ("/" .. e.cluster) or "")] = e
  end
  return t
end

local function count(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n
end

-- The simulator's clusters in the sample organization's audited accounts.
local function org_clusters(sim)
  local n = 0
  for _, c in pairs(mh.state(sim)) do
    if (c.account == "111122223333" or c.account == "444455556666")
      and not DENIED[c.account .. "/" .. c.region] then n = n + 1 end
  end
  return n
end

describe("audit later passes: listings that fail in pass 1", function()
  local sim
  setup(function() sim = simmod.start("--time-scale 0") end)
  teardown(function() sim:stop() end)
  before_each(function()
    sim:admin("POST", "/_sim/faults", { reset = true, error_rate = "1.0@ListClusters" })
  end)
  after_each(function() sim:admin("POST", "/_sim/faults", { reset = true }) end)

  it("retry_passes = 0: every listing that failed is under errors after 1 pass, nothing read again", function()
    local events = {}
    local doc = assert(audit.run(factory(sim), { regions = "all", organization = ORG, retry_passes = 0,
      on_event = function(ev) events[#events + 1] = ev end }))
    assert.are.same({}, doc.clusters)
    local c = ah.assert_complete(sim, doc)
    assert.are.equal(0, c.listed)
    local five = 0
    for _, e in ipairs(doc.errors) do
      assert.are.equal(1, e.passes, e.account .. "/" .. tostring(e.region))
      if e.target == "region" and not DENIED[e.account .. "/" .. e.region] then
        assert.is_true(e.status >= 500, e.code)
        five = five + 1
      end
    end
    assert.is_true(five >= 10, "listings failed: " .. five)
    assert.are.equal(1, doc.summary.passes)
    assert.are.equal(0, doc.summary.recovered)
    for _, ev in ipairs(events) do
      assert.are_not.equal("pass", ev.type)
      if ev.pass then assert.are.equal(1, ev.pass) end
    end
    -- Each listing: its 3 attempts in the one pass.
    assert.are.equal(3 * five, #requests(sim, "ListClusters") - 2)
  end)

  it("default passes: the listings are read again once the faults stop, every cluster exactly once; the "
    .. "SCP-denied regions are not read again; the retry quota is full again for pass 2", function()
    local made, quota_before, quota_pass2, boundary = {}, nil, nil, nil
    local passes_seen = {}
    local doc = assert(audit.run(factory(sim, made), { regions = "all", organization = ORG, retry_pause = 0,
      on_event = function(ev)
        if ev.type == "pass" then
          passes_seen[#passes_seen + 1] = ev
          quota_before = made[1].engine:retry_quota()
          boundary = last_seq(sim)
          sim:admin("POST", "/_sim/faults", { reset = true })
        elseif ev.type == "phase" and ev.pass == 2 and not quota_pass2 then
          quota_pass2 = made[1].engine:retry_quota()
        end
      end }))
    -- One later pass was enough; it re-read the failed listings (not the
    -- accounts, not the clusters).
    assert.are.equal(1, #passes_seen)
    local ev = passes_seen[1]
    assert.are.same({ 2, 3, 0, 0 }, { ev.pass, ev.passes, ev.accounts, ev.clusters })
    assert.is_true(ev.regions >= 10)
    -- The retry storm of pass 1 had spent tokens; pass 2 starts full.
    assert.is_true(quota_before < 500, "quota after pass 1: " .. tostring(quota_before))
    assert.are.equal(500, quota_pass2)

    local c = ah.assert_complete(sim, doc)
    assert.are.equal(org_clusters(sim), c.listed)
    assert.are.equal(c.listed, #doc.clusters)
    assert.are.equal(#doc.clusters, doc.summary.recovered)
    assert.are.equal(2, doc.summary.passes)
    -- Only the denied regions are left, tried in one pass.
    local errs = by_target(doc)
    assert.are.equal(2, count(errs))
    for key in pairs(DENIED) do
      assert.are.equal("AccessDeniedException", errs[key].code)
      assert.are.equal(1, errs[key].passes)
    end
    -- Pass 2 sent one ListClusters per failed listing and none to a denied region.
    local again = requests(sim, "ListClusters", boundary)
    assert.are.equal(ev.regions, #again)
    for _, r in ipairs(again) do
      assert.is_nil(DENIED[r.account .. "/" .. r.region], "pass 2 listed a denied region")
      assert.are.equal(200, r.status)
    end
    assert.are.equal(#doc.clusters, #requests(sim, "DescribeCluster", boundary))
    ah.assert_rows_match(sim, doc)
  end)

  it("a role that cannot be assumed is not tried again; every error says how many passes tried it", function()
    local boundaries = {}
    local doc = assert(audit.run(factory(sim), { regions = { "us-east-1", "eu-west-1" }, retry_pause = 0,
      -- PartnerAccess in 444455556666 demands an external id: AssumeRole fails.
      organization = { role_name = "PartnerAccess" },
      on_event = function(ev) if ev.type == "pass" then boundaries[#boundaries + 1] = last_seq(sim) end end }))
    -- The faults never stop: both later passes run, then the listings give up.
    assert.are.equal(2, #boundaries)
    assert.are.equal(3, doc.summary.passes)
    assert.are.same({}, doc.clusters)
    local errs = by_target(doc)
    assert.are.equal("AccessDenied", errs["444455556666/"].code)
    assert.are.equal(1, errs["444455556666/"].passes)
    for _, region in ipairs{ "us-east-1", "eu-west-1" } do
      local e = errs["111122223333/" .. region]
      assert.is_true(e.status >= 500, e.code)
      assert.are.equal(3, e.passes)
    end
    assert.are.equal(3, count(errs))
    -- Later passes sent nothing to STS for the role, and listed only the
    -- caller's two regions, 3 attempts each.
    for _, since in ipairs(boundaries) do
      assert.are.same({}, requests(sim, "AssumeRole", since))
    end
    local per_pass = #requests(sim, "ListClusters", boundaries[1]) - #requests(sim, "ListClusters", boundaries[2])
    assert.are.equal(2 * 3, per_pass)
    assert.are.equal(2 * 3, #requests(sim, "ListClusters", boundaries[2]))
  end)

  it("Ctrl-C during a later pass: the report keeps each target's last error and the passes that tried it", function()
    local stop, boundary = false, nil
    local doc = assert(audit.run(factory(sim), { regions = { "us-east-1", "us-west-2" }, retry_pause = 0,
      interrupted = function() return stop end,
      on_event = function(ev)
        if ev.type == "pass" then
          stop, boundary = true, last_seq(sim)
        end
      end }))
    assert.are.same({}, requests(sim, "ListClusters", boundary), "nothing was read after the interruption")
    assert.are.equal(2, doc.summary.passes)
    local errs = by_target(doc)
    assert.are.equal(2, count(errs))
    for _, region in ipairs{ "us-east-1", "us-west-2" } do
      local e = errs["111122223333/" .. region]
      assert.is_true(e.status >= 500, e.code)
      assert.are.equal(1, e.passes)
    end
  end)
end)

describe("audit later passes: a listing that failed on its second page", function()
  local sim
  setup(function()
    sim = simmod.start("--time-scale 0 --generate clusters=250,accounts=1,regions=us-east-1,seed=9")
  end)
  teardown(function() sim:stop() end)

  -- Page 1 answers, page 2 fails its 3 attempts; then everything answers.
  -- Returns where the log stands.
  local function fail_page_two()
    sim:admin("POST", "/_sim/faults", { reset = true, fail_skip = 1, fail_count = 3, fail_ops = "ListClusters" })
    return last_seq(sim)
  end

  it("retry_passes = 0: the region is under errors, no cluster of its first page is reported", function()
    local since = fail_page_two()
    local doc = assert(audit.run(factory(sim), { regions = { "us-east-1" }, retry_passes = 0 }))
    assert.are.same({}, doc.clusters)
    assert.are.equal(1, #doc.errors)
    assert.are.same({ "region", "us-east-1", 1 }, { doc.errors[1].target, doc.errors[1].region, doc.errors[1].passes })
    assert.are.same({}, requests(sim, "DescribeCluster", since))
  end)

  it("regression: a listing read partly in pass 1 and whole in pass 2 gives each cluster once", function()
    local since = fail_page_two()
    local doc = assert(audit.run(factory(sim), { regions = { "us-east-1" }, retry_pause = 0 }))
    local c = ah.assert_complete(sim, doc)
    assert.are.equal(250, c.listed)
    assert.are.same({}, doc.errors)
    assert.are.equal(250, doc.summary.recovered)
    -- Pass 2 read the listing again from its first page: 1 + 3 pages
    -- answered, and each cluster was described exactly once.
    local pages = requests(sim, "ListClusters", since)
    local ok, failed = 0, 0
    for _, r in ipairs(pages) do
      if r.status == 200 then ok = ok + 1 else failed = failed + 1 end
    end
    assert.are.same({ 4, 3 }, { ok, failed })
    local described = {}
    for _, r in ipairs(requests(sim, "DescribeCluster", since)) do
      assert.is_nil(described[r.cluster], r.cluster .. " described twice")
      described[r.cluster] = true
    end
    assert.are.equal(250, count(described))
  end)
end)

describe("audit later passes: a DescribeCluster that failed in pass 1", function()
  local sim
  setup(function() sim = simmod.start("--time-scale 0") end)
  teardown(function() sim:stop() end)

  it("is read again and counted as recovered; with retry_passes = 0 it is under errors", function()
    -- One at a time, so the 3 failures are the first cluster's 3 attempts.
    sim:admin("POST", "/_sim/faults", { reset = true, fail_count = 3, fail_kind = "throttle",
                                        fail_ops = "DescribeCluster" })
    local none = assert(audit.run(factory(sim), { regions = { "us-east-1" }, concurrency = 1, retry_passes = 0 }))
    assert.are.equal(1, #none.errors)
    local e = none.errors[1]
    assert.are.same({ "cluster", "ThrottlingException", 1 }, { e.target, e.code, e.passes })
    assert.are.equal(3, #none.clusters)

    sim:admin("POST", "/_sim/faults", { reset = true, fail_count = 3, fail_kind = "throttle",
                                        fail_ops = "DescribeCluster" })
    local doc = assert(audit.run(factory(sim), { regions = { "us-east-1" }, concurrency = 1, retry_pause = 0 }))
    assert.are.same({}, doc.errors)
    assert.are.equal(4, ah.assert_complete(sim, doc, { ["111122223333"] = true }).listed)
    assert.are.equal(1, doc.summary.recovered)
    assert.are.equal(2, doc.summary.passes)
  end)

  it("misuse of the options raises", function()
    for _, bad in ipairs{ -1, 11, 1.5, "2" } do
      assert.has_error(function() audit.run(factory(sim), { retry_passes = bad }) end,
        "audit.run: retry_passes must be an integer from 0 to 10")
    end
    for _, bad in ipairs{ -1, 61, 0 / 0, "1" } do
      assert.has_error(function() audit.run(factory(sim), { retry_pause = bad }) end,
        "audit.run: retry_pause must be a number of seconds from 0 to 60")
    end
  end)
end)
