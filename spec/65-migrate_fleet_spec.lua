-- The migration workflow against the simulator over real HTTP: a fleet of
-- 44 clusters over 2 accounts x 2 regions (routed, defective and not-ACTIVE
-- clusters among them), planned with a preflight that blocks on the
-- simulator's ground truth, applied with a named canary and waves under a
-- parallelism bound. The simulator's /_sim/log is the witness: one distinct
-- update per planned cluster, nothing for the others, the canary's update
-- verified before any other started, waves in order, never more than
-- max_parallel updates in flight (from the order of requests, never clocks).
local cjson = require "cjson"
local canonical = require "eksegress.canonical"
local migrate = require "eksegress.workflows.migrate"
local mh = require "helpers.migrate"
local schema = require "helpers.schema"

local MAX_PARALLEL, WAVE_SIZE = 3, 7

-- A plan as apply reads it: through its JSON file.
local function as_file(plan)
  return cjson.decode(canonical.encode(plan))
end

describe("migrate workflow: a 44-cluster fleet over 2 accounts x 2 regions", function()
  local sim, plan, result, truth, log, journal_path
  local dir = mh.tmpdir()

  setup(function()
    sim = mh.start_fleet{ generate = "clusters=44,accounts=2,regions=2,seed=5,defects=0.3,routed=0.15",
                          args = "--time-scale 0.001 --latency-ms 2" }
    truth = mh.state(sim)
  end)
  teardown(function() mh.stop(sim, dir) end)

  it("plans every cluster: defective, routed and not-ACTIVE ones skipped with the reason", function()
    plan = assert(migrate.plan(mh.factory(sim), { targets = mh.targets(sim), version = "test",
                                                  preflight = mh.ground_truth_preflight(sim) }))
    assert.are.same({}, plan.errors)
    assert.is_true(migrate.document.validate(as_file(plan)))
    schema.assert_valid(mh.PLAN_SCHEMA, canonical.encode(plan))
    local n = 0
    for _ in pairs(truth) do n = n + 1 end
    assert.are.equal(n, #plan.clusters)
    local reasons = {}
    for _, c in ipairs(plan.clusters) do
      local t = truth[c.key]
      if t.mode == "CUSTOMER_ROUTED" then
        assert.are.equal("skip", c.action)
        assert.are.equal("already CUSTOMER_ROUTED", c.reason)
      elseif t.status ~= "ACTIVE" and t.status ~= "UPDATING" then
        assert.are.equal("skip", c.action)
        assert.are.equal("cluster is " .. t.status, c.reason)
      elseif #t.expect_fail > 0 then
        assert.are.equal("skip", c.action, c.key)
        assert.matches("^blocking preflight findings: ", c.reason)
        assert.are.equal(#t.expect_fail, c.preflight.blocking)
      else
        assert.are.equal("migrate", c.action, c.key)
        assert.are.equal("POST", c.request.method)
        assert.are.equal("/clusters/" .. c.name .. "/update-config", c.request.path)
      end
      reasons[c.action] = (reasons[c.action] or 0) + 1
    end
    assert.is_true(reasons.migrate >= 20, "enough clusters to make waves")
    assert.is_true(reasons.skip >= 10)
  end)

  it("applies a named canary alone, then waves, at most max_parallel updates in flight; "
    .. "every planned cluster updated exactly once, skipped ones never touched", function()
    local migrations = migrate.document.migrations(plan)
    -- The canary: a cluster of the second account, not the plan's first.
    local canary
    for _, c in ipairs(migrations) do
      if c.account == "444455556666" and not canary then canary = c end
    end
    sim:admin("POST", "/_sim/stats/reset")
    journal_path = dir .. "/fleet.journal"
    local events = {}
    result = assert(migrate.apply(mh.factory(sim), as_file(plan), {
      confirm = plan.plan_id, journal = journal_path, canary = canary.name,
      wave_size = WAVE_SIZE, max_parallel = MAX_PARALLEL, poll_seconds = 0.02, in_flight_timeout = 30,
      on_event = function(ev) events[#events + 1] = ev end,
    }))
    local stats = sim:admin("GET", "/_sim/stats")
    log = mh.assert_exactly_once(sim, plan)

    -- Outcomes: every migration done, every skip reported skipped.
    for _, c in ipairs(result.clusters) do
      local planned
      for _, p in ipairs(plan.clusters) do if p.key == c.key then planned = p end end
      assert.are.equal(planned.action == "migrate" and "done" or "skipped", c.state, c.key)
    end
    assert.are.equal(#migrations, result.summary.done)
    assert.is_nil(result.stopped)
    assert.are.equal(canary.key, result.canary)
    schema.assert_valid(mh.RESULT_SCHEMA, require("eksegress.report").render("apply-result", "json", result))

    -- The canary's update was sent, and verified, before any other update.
    local most, first, last = mh.max_updates_in_flight(log)
    for key, seq in pairs(first) do
      if key ~= canary.key then
        assert.is_true(last[canary.key] < seq, "the canary was verified before " .. key .. " started")
      end
    end
    -- Waves in plan order: wave k ended before wave k+1 started.
    local rest = {}
    for _, c in ipairs(migrations) do if c.key ~= canary.key then rest[#rest + 1] = c.key end end
    for w = 1, math.ceil(#rest / WAVE_SIZE) - 1 do
      local ends, starts = 0, math.huge
      for i = (w - 1) * WAVE_SIZE + 1, w * WAVE_SIZE do ends = math.max(ends, last[rest[i]]) end
      for i = w * WAVE_SIZE + 1, math.min((w + 1) * WAVE_SIZE, #rest) do starts = math.min(starts, first[rest[i]]) end
      assert.is_true(ends < starts, ("wave %d ended before wave %d started"):format(w, w + 1))
    end
    -- The parallelism bound, two witnesses: updates in flight from the order
    -- of requests, and the simulator's count of requests handled at once.
    assert.is_true(most <= MAX_PARALLEL, "at most max_parallel updates in flight, saw " .. most)
    assert.is_true(most >= 2, "updates overlapped (the bound was exercised), saw " .. most)
    assert.is_true(stats.in_flight_max <= MAX_PARALLEL, "requests in flight " .. stats.in_flight_max)

    local waves = 0
    for _, ev in ipairs(events) do if ev.type == "wave" then waves = waves + 1 end end
    assert.are.equal(math.ceil(#rest / WAVE_SIZE), waves)
  end)

  it("journals an intent before every update, in a journal that validates record by record", function()
    local run = mh.journal(journal_path)
    assert.are.equal(0, migrate.journal.summary(run).open)
    assert.is_true(mh.assert_journal_valid(journal_path) > 6 * #migrate.document.migrations(plan))
    local intents, seen = {}, {}
    for _, r in ipairs(mh.records(journal_path)) do
      if r.type == "intent" then intents[r.key] = r.token end
      if r.type == "sent" then
        assert.is_truthy(intents[r.key], "intent journaled before the response of " .. r.key)
        seen[r.key] = r.update_id
      end
    end
    for key, rec in pairs(log.clusters) do
      assert.are.equal(mh.token_of(plan, key), intents[key])
      assert.are.equal(rec.update_ids[1], seen[key])
    end
  end)

  it("resuming the finished journal reports and sends nothing, writes nothing", function()
    local before = mh.read(journal_path)
    local seq = mh.log(sim).last_seq
    local res = assert(migrate.resume(mh.factory(sim), journal_path, { poll_seconds = 0.02 }))
    assert.is_true(res.nothing_to_do)
    assert.are.equal(result.summary.done, res.summary.done)
    assert.are.equal(seq, mh.log(sim).last_seq)
    assert.are.equal(before, mh.read(journal_path))
  end)

  it("applying the same plan again on a new journal starts no second update", function()
    local res = assert(migrate.apply(mh.factory(sim), as_file(plan), {
      confirm = plan.plan_id, journal = dir .. "/again.journal", wave_size = 50, max_parallel = 8,
      poll_seconds = 0.02, in_flight_timeout = 30 }))
    -- Every cluster is CUSTOMER_ROUTED now: the check calls the plan stale
    -- for the canary, and a canary that did not end done stops the run.
    for _, c in ipairs(res.clusters) do
      if c.key == res.canary then
        assert.are.equal("refused", c.state)
        assert.matches("stale plan: mode AWS_MANAGED %-> CUSTOMER_ROUTED", c.reason)
      elseif c.state ~= "skipped" then
        assert.are.equal("planned", c.state)
      end
    end
    assert.matches("the canary .* did not finish %(refused%)", res.stopped)
    mh.assert_exactly_once(sim, plan)
  end)
end)
