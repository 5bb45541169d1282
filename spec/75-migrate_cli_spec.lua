-- The CLI as a process against the simulator: audit -> plan --from-report
-- (role access to the second account) -> apply with a canary and waves ->
-- resume, on a 40-cluster fleet over 2 accounts x 2 regions; and the exit
-- codes of what can go wrong: a stale plan (2), a failing canary (4), the
-- guard refusing a revert (3), a plan edited to revert (64). Runs with or
-- without a preflight in the build (the plan says which).
local cjson = require "cjson"
local canonical = require "eksegress.canonical"
local document = require "eksegress.workflows.migrate.document"
local simmod = require "helpers.sim"
local mh = require "helpers.migrate"
local schema = require "helpers.schema"

local lines = mh.lines

describe("eksegress audit -> plan -> apply -> resume on a 40-cluster fleet", function()
  local sim, dir, plan, truth
  local MAX_PARALLEL = 3

  setup(function()
    sim = mh.start_fleet{ generate = "clusters=40,accounts=2,regions=2,seed=3,defects=0.25,routed=0.15,"
      .. "kinds=cluster_not_active+no_default_route+sg_no_443+nat_unavailable",
      args = "--time-scale 0.001 --latency-ms 2" }
    dir = mh.tmpdir()
    truth = mh.state(sim)
  end)
  teardown(function() mh.stop(sim, dir) end)

  it("plans from an audit report, with role access to the second account", function()
    local r = mh.cli(sim, { "audit", "--organization", "--role-name", "OrganizationAccountAccessRole",
      "--regions", "us-east-1,us-west-2", "--export", dir .. "/audit.json", "--output", "json" })
    assert.are.equal(0, r.status, r.stderr)
    r = mh.cli(sim, { "plan", "--from-report", dir .. "/audit.json", "--out", dir .. "/fleet.plan.json",
      "--output", "table" })
    assert.is_true(r.status == 0 or r.status == 1, r.stderr)
    plan = cjson.decode(mh.read(dir .. "/fleet.plan.json"))
    assert.is_true(document.validate(plan))
    schema.assert_valid(mh.PLAN_SCHEMA, mh.read(dir .. "/fleet.plan.json"))
    assert.matches("eksegress plan " .. plan.plan_id, r.stdout, 1, true)
    assert.matches("Review it, then: eksegress apply " .. dir .. "/fleet.plan.json --confirm " .. plan.plan_id,
      r.stderr, 1, true)
    local evaluated = plan.clusters[1].preflight.evaluated
    assert.are.equal(not evaluated, r.stderr:find("preflight is not available", 1, true) ~= nil)
    -- Routed clusters are not in the plan (the report says they are done);
    -- every other cluster is, migrated or skipped with the reason.
    local planned, accounts = {}, {}
    for _, c in ipairs(plan.clusters) do
      planned[c.key] = c
      local t = truth[c.key]
      if t.omit_mode then
        assert.are.equal("the API did not report the cluster's egress mode", c.reason)
      elseif t.mode == "CUSTOMER_ISOLATED" then
        assert.matches("^CUSTOMER_ISOLATED: undocumented mode", c.reason)
      elseif t.status ~= "ACTIVE" then
        assert.are.equal("skip", c.action)
        assert.are.equal("cluster is " .. t.status, c.reason)
      elseif c.action == "skip" then
        assert.is_true(evaluated)
        assert.matches("^blocking preflight findings", c.reason)
      end
      if c.action == "migrate" then accounts[c.account] = true end
      if c.account == "444455556666" then
        assert.are.equal("arn:aws:iam::444455556666:role/OrganizationAccountAccessRole", c.access.role_arn)
      end
    end
    for key, t in pairs(truth) do
      assert.are.equal(t.mode ~= "CUSTOMER_ROUTED", planned[key] ~= nil, key)
    end
    assert.is_true(accounts["111122223333"] and accounts["444455556666"], "both accounts have migrations")
    assert.is_true(#document.migrations(plan) >= 15)
  end)

  it("a wrong --confirm is a usage error and sends nothing", function()
    local seq = mh.log(sim).last_seq
    local r = mh.cli(sim, { "apply", dir .. "/fleet.plan.json", "--confirm", "p-0000000000" })
    assert.are.equal(64, r.status)
    assert.are.equal(1, #lines(r.stderr))
    assert.is_truthy(r.stderr:find('--confirm must be "' .. plan.plan_id .. '" (the plan id)', 1, true))
    assert.are.equal(seq, mh.log(sim).last_seq)
    assert.is_nil(mh.read(dir .. "/fleet.plan.journal"))
  end)

  it("applies with a canary and waves of a given size, at most --max-parallel updates in flight; "
    .. "every planned cluster updated exactly once, skipped ones untouched, no secret written", function()
    local canary = document.migrations(plan)[#document.migrations(plan)]
    -- Answers wait until 2 requests are in flight (the simulator's hold), so
    -- the overlap below is counted, not a race against a 2 ms latency.
    sim:reset_stats(2)
    local r = mh.cli(sim, { "apply", dir .. "/fleet.plan.json", "--confirm", plan.plan_id, "--canary", canary.name,
      "--wave-size", "8", "--max-parallel", tostring(MAX_PARALLEL), "--poll-interval", "0.02", "--output", "json" })
    assert.are.equal(0, r.status, r.stderr)
    local stats = sim:admin("GET", "/_sim/stats")
    schema.assert_valid(mh.RESULT_SCHEMA, r.stdout)
    local res = cjson.decode(r.stdout)
    assert.are.equal(canary.key, res.canary)
    assert.are.equal(#document.migrations(plan), res.summary.done)
    local log = mh.assert_exactly_once(sim, plan)
    for _, c in ipairs(plan.clusters) do
      if c.action == "skip" then assert.is_nil(log.clusters[c.key], c.key .. " was skipped") end
    end
    local most, first, last = mh.max_updates_in_flight(log)
    assert.is_true(most <= MAX_PARALLEL and most >= 2, "updates in flight at once: " .. most)
    -- HTTP requests in flight may exceed MAX_PARALLEL (each cluster's preflight reads its network
    -- concurrently); the promise is about updates, counted from the log above. Reads did overlap:
    assert.is_true(stats.in_flight_max >= 2, "requests in flight at once: " .. stats.in_flight_max)
    for key, seq in pairs(first) do
      if key ~= canary.key then assert.is_true(last[canary.key] < seq, "canary verified before " .. key) end
    end
    -- A line per cluster state change on stderr, the journal beside the plan.
    assert.matches("apply: canary " .. canary.key .. " first, alone", r.stderr, 1, true)
    assert.matches(canary.key .. ": done: CUSTOMER_ROUTED and ACTIVE", r.stderr, 1, true)
    local journal = dir .. "/fleet.plan.journal"
    mh.journal(journal)
    mh.assert_journal_valid(journal)
    for _, text in ipairs{ mh.read(journal), mh.read(dir .. "/fleet.plan.json"), r.stdout, r.stderr } do
      assert.is_nil(text:find(simmod.SECRET_KEY, 1, true))
      assert.is_nil(text:lower():find("sessiontoken", 1, true))
      assert.is_nil(text:find("ekssim/SecondAccount/Secret", 1, true))
    end
  end)

  it("resume of the finished journal reports and sends nothing; apply again is refused", function()
    local seq = mh.log(sim).last_seq
    local r = mh.cli(sim, { "resume", dir .. "/fleet.plan.journal", "--output", "table" })
    assert.are.equal(0, r.status, r.stderr)
    assert.matches("nothing to do %(every cluster has ended%); nothing was sent", r.stderr)
    assert.matches("Summary: %d+ done", r.stdout)
    r = mh.cli(sim, { "apply", dir .. "/fleet.plan.json", "--confirm", plan.plan_id })
    assert.are.equal(64, r.status)
    assert.matches("already holds %d+ records: run 'eksegress resume", r.stderr)
    assert.are.equal(seq, mh.log(sim).last_seq)
  end)
end)

describe("eksegress apply: exit codes of what goes wrong", function()
  local sim, fleet, dir
  local fails, victims

  setup(function()
    sim, fleet = mh.start_fleet{ generate = "clusters=6,accounts=1,regions=1,seed=9,defects=0,routed=0,isolated=0,"
      .. "nomode=0", patch = { { account = 1, cluster = 1, set = { egress_update_fails = true } } },
      args = "--time-scale 0.001" }
    dir = mh.tmpdir()
    fails = fleet.accounts[1].clusters[1].name
    victims = { fleet.accounts[1].clusters[2].name, fleet.accounts[1].clusters[3].name }
  end)
  teardown(function() mh.stop(sim, dir) end)

  local function plan_cli(out, ...)
    local r = mh.cli(sim, { "plan", "--region", fleet.accounts[1].clusters[1].region, "--out", out, ... })
    assert.are.equal(0, r.status, r.stderr)
    return cjson.decode(mh.read(out))
  end

  it("a canary whose update fails stops the waves: exit 4, the errors named, nothing else sent", function()
    local plan = plan_cli(dir .. "/canary.json", "--cluster", fails, "--cluster", victims[1], "--cluster", victims[2])
    local r = mh.cli(sim, { "apply", dir .. "/canary.json", "--confirm", plan.plan_id, "--canary", fails,
      "--poll-interval", "0.02", "--output", "json" })
    assert.are.equal(4, r.status, r.stderr)
    assert.matches(": update Failed: ClusterUnreachable: ", r.stderr)
    assert.matches("stopping new updates: update Failed", r.stderr)
    local res = cjson.decode(r.stdout)
    assert.are.equal("failure", res.stop_kind)
    local key_fails
    for _, c in ipairs(plan.clusters) do if c.name == fails then key_fails = c.key end end
    mh.assert_exactly_once(sim, plan, { updated = { [key_fails] = true } })
    -- resume has nothing to start after a failure: it says so, exit 4 still.
    local seq = mh.log(sim).last_seq
    r = mh.cli(sim, { "resume", dir .. "/canary.journal" })
    assert.are.equal(4, r.status)
    assert.matches("nothing to do %(stopped: update Failed", r.stderr)
    assert.are.equal(seq, mh.log(sim).last_seq)
  end)

  it("a stale plan is refused for the cluster that changed, naming what changed: exit 2", function()
    local plan = plan_cli(dir .. "/stale.json", "--cluster", victims[1])
    local cl = sim:client{ region = plan.clusters[1].region }
    assert(cl:call("eks", "UpdateClusterConfig", { name = victims[1],
      resourcesVpcConfig = { controlPlaneEgressMode = "CUSTOMER_ROUTED" } }, { acknowledge = victims[1] }))
    cl:close()
    sim:admin("POST", "/_sim/advance", { all = true })
    local r = mh.cli(sim, { "apply", dir .. "/stale.json", "--confirm", victims[1], "--poll-interval", "0.02" })
    assert.are.equal(2, r.status, r.stderr)
    assert.is_truthy(r.stderr:find(plan.clusters[1].key .. ": stale plan: mode AWS_MANAGED -> CUSTOMER_ROUTED", 1,
      true))
    local key = plan.clusters[1].key
    mh.assert_exactly_once(sim, plan, { updated = {}, foreign = { [key] = true }, only = { [key] = true } })
  end)

  -- victims[1] is CUSTOMER_ROUTED now (the previous test switched it).
  local function revert_plan(path)
    local cl = sim:client{ region = fleet.accounts[1].clusters[1].region }
    local live = assert(cl:call("eks", "DescribeCluster", { name = victims[1] })).cluster
    cl:close()
    local state = document.state_of(live, {})
    local entry = { account = fleet.accounts[1].id, region = live.arn:match("^arn:aws:eks:([^:]+)"), name = victims[1],
      state = state, fingerprint = document.fingerprint(state), action = "migrate",
      preflight = { blocking = 0, warnings = 0, evaluated = false },
      request = { method = "POST", path = document.request_path(victims[1]),
                  body = { resourcesVpcConfig = { controlPlaneEgressMode = "AWS_MANAGED" } } } }
    entry.key = document.key(entry)
    local plan = document.seal{ schema = document.SCHEMA, target_mode = document.TARGET_MODE,
      created_at = "2026-01-01T00:00:00Z", nonce = document.nonce(), clusters = { entry }, errors = {} }
    mh.write(path, canonical.encode(plan))
    return plan
  end

  it("a plan edited to revert is refused by plan validation: exit 64, nothing sent", function()
    revert_plan(dir .. "/revert.json")
    local seq = mh.log(sim).last_seq
    local r = mh.cli(sim, { "apply", dir .. "/revert.json", "--confirm", victims[1] })
    assert.are.equal(64, r.status)
    assert.matches("the request body must set only resourcesVpcConfig.controlPlaneEgressMode = CUSTOMER_ROUTED",
      r.stderr, 1, true)
    assert.are.equal(seq, mh.log(sim).last_seq)
  end)

  it("a revert that got past plan validation (a bug, simulated) is refused by the guard: exit 3, "
    .. "nothing sent", function()
    local plan = revert_plan(dir .. "/raw.json")
    -- The bug: validation waved through, and the workflow sends the plan's mode.
    local prelude = [[
      local d = require "eksegress.workflows.migrate.document"
      d.validate = function() return true end
      d.TARGET_MODE = "AWS_MANAGED"
    ]]
    local r = mh.cli(sim, { "apply", dir .. "/raw.json", "--confirm", victims[1], "--poll-interval", "0.02" },
      { prelude = prelude })
    assert.are.equal(3, r.status, r.stderr)
    assert.matches("refused by the guard: .*CUSTOMER_ROUTED", r.stderr)
    local key = plan.clusters[1].key
    for _, call in ipairs(mh.log(sim).clusters[key].calls) do
      assert.are_not.equal("AWS_MANAGED", call.mode)
      assert.are_not.equal(mh.token_of(plan, key), call.client_request_token)
    end
  end)
end)

describe("eksegress apply --no-wait", function()
  local sim, fleet, dir

  setup(function()
    sim, fleet = mh.start_fleet{ generate = "clusters=4,accounts=1,regions=1,seed=4,defects=0,routed=0,isolated=0,"
      .. "nomode=0", args = "--time-scale 0.001" }
    dir = mh.tmpdir()
  end)
  teardown(function() mh.stop(sim, dir) end)

  it("waits for the canary only, sends and journals the rest (exit 0); resume verifies each", function()
    local a = { "plan", "--region", fleet.accounts[1].clusters[1].region, "--out", dir .. "/p.json" }
    for _, c in ipairs(fleet.accounts[1].clusters) do
      a[#a + 1] = "--cluster"
      a[#a + 1] = c.name
    end
    local r = mh.cli(sim, a)
    assert.are.equal(0, r.status, r.stderr)
    local plan = cjson.decode(mh.read(dir .. "/p.json"))
    r = mh.cli(sim, { "apply", dir .. "/p.json", "--confirm", plan.plan_id, "--no-wait", "--poll-interval", "0.02",
      "--output", "json" })
    assert.are.equal(0, r.status, r.stderr)
    assert.is_truthy(r.stderr:find("updates sent without waiting; run 'eksegress resume " .. dir .. "/p.journal'",
      1, true))
    local res = cjson.decode(r.stdout)
    assert.are.equal(1, res.summary.done)
    assert.are.equal(3, res.summary.sent)
    mh.assert_exactly_once(sim, plan)
    r = mh.cli(sim, { "resume", dir .. "/p.journal", "--poll-interval", "0.02", "--output", "json" })
    assert.are.equal(0, r.status, r.stderr)
    assert.are.equal(4, cjson.decode(r.stdout).summary.done)
    mh.assert_exactly_once(sim, plan)
  end)
end)
