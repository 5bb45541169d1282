-- The migration workflow against the simulator, at its edges: stale plans,
-- updates in flight waited out, failing canaries and waves, a journal that
-- cannot take the intent, Ctrl-C, --no-wait, and faults (throttling, 5xx,
-- responses lost after EKS accepted, clock skew). /_sim/log is the witness.
local cjson = require "cjson"
local canonical = require "eksegress.canonical"
local migrate = require "eksegress.workflows.migrate"
local journal_mod = require "eksegress.workflows.migrate.journal"
local common = require "eksegress.cli.migrate_common"
local mh = require "helpers.migrate"

local names = {}

-- 16 healthy clusters over 2 accounts x 2 regions, three of them given a
-- trait: an update in flight for a long while (busy_seconds), one stuck for
-- ever (update_in_progress), one whose egress update fails.
local PATCH = {
  { account = 1, cluster = 1, set = { busy_seconds = 100000 } },
  { account = 1, cluster = 2, set = { defects = { "update_in_progress" } } },
  { account = 1, cluster = 3, set = { egress_update_fails = true } },
}

local function name_traits(fleet)
  local c = fleet.accounts[1].clusters
  names.busy, names.stuck, names.fails = c[1].name, c[2].name, c[3].name
  names.healthy = {}
  for ai, a in ipairs(fleet.accounts) do
    for i, x in ipairs(a.clusters) do
      if ai > 1 or i > 3 then names.healthy[#names.healthy + 1] = x.name end
    end
  end
end

describe("migrate workflow at its edges", function()
  local sim, dir, n = nil, mh.tmpdir(), 0
  local factory

  setup(function()
    local fleet
    sim, fleet = mh.start_fleet{ generate = "clusters=16,accounts=2,regions=2,seed=11,defects=0,routed=0,"
      .. "isolated=0,nomode=0,ipv6=0", patch = PATCH, args = "--time-scale 0.001" }
    name_traits(fleet)
    factory = mh.factory(sim)
  end)
  teardown(function() mh.stop(sim, dir) end)

  -- Every test starts from the fleet as it was, with an empty log.
  before_each(function() sim:admin("POST", "/_sim/reset") end)

  local function healthy(count)
    local out = {}
    for i = 1, count do out[i] = assert(names.healthy[i]) end
    return out
  end

  local function plan_of(list, opts)
    local set = {}
    for _, name in ipairs(list) do set[name] = true end
    local o = { targets = mh.targets(sim, function(c) return set[c.name] end), version = "test" }
    for k, v in pairs(opts or {}) do o[k] = v end
    local plan = assert(migrate.plan(factory, o))
    assert.are.same({}, plan.errors)
    return cjson.decode(canonical.encode(plan))   -- as apply reads it from its file
  end

  local function apply(plan, opts)
    n = n + 1
    local o = { confirm = migrate.document.confirmation(plan), journal = ("%s/%d.journal"):format(dir, n),
                poll_seconds = 0.01, in_flight_timeout = 30 }
    for k, v in pairs(opts or {}) do o[k] = v end
    return assert(migrate.apply(factory, plan, o)), o.journal
  end

  -- Resume the journal: every cluster ends done, each updated once.
  local function resume_to_done(journal, plan)
    local res = assert(migrate.resume(factory, journal, { poll_seconds = 0.01 }))
    for _, c in ipairs(res.clusters) do assert.are.equal("done", c.state) end
    mh.assert_exactly_once(sim, plan)
    return res
  end

  local function by_name(res)
    local out = {}
    for _, c in ipairs(res.clusters) do out[c.name] = c end
    return out
  end

  local function key_of(plan, name)
    for _, c in ipairs(plan.clusters) do if c.name == name then return c.key end end
  end

  local function client_for(plan, name)
    for _, c in ipairs(plan.clusters) do
      if c.name == name then
        local cl = sim:client{ region = c.region }
        return cl, c
      end
    end
  end

  it("refuses a stale plan for the clusters that changed, naming what changed; the others go on", function()
    local plan = plan_of(healthy(6))
    -- After the plan, someone takes a subnet off one cluster and switches
    -- another to CUSTOMER_ROUTED.
    local regrouped, routed
    for i = 2, #plan.clusters do
      local c = plan.clusters[i]
      if not regrouped and #c.state.subnet_ids > 2 then regrouped = c
      elseif not routed then routed = c end
    end
    assert(regrouped and routed, "the fleet has a cluster with three subnets")
    local kept = { table.unpack(regrouped.state.subnet_ids, 1, #regrouped.state.subnet_ids - 1) }
    local function client(c)
      return sim:client{ region = c.region, env_extra = c.account ~= "111122223333" and {
        AWS_ACCESS_KEY_ID = "AKIAEKSSIM0000000002", AWS_SECRET_ACCESS_KEY = "ekssim/SecondAccount/Secret+EXAMPLEKEY02",
      } or nil }
    end
    local cl = client(regrouped)
    assert(cl:call("eks", "UpdateClusterConfig", { name = regrouped.name, resourcesVpcConfig = { subnetIds = kept } }))
    cl:close()
    cl = client(routed)
    assert(cl:call("eks", "UpdateClusterConfig", { name = routed.name,
      resourcesVpcConfig = { controlPlaneEgressMode = "CUSTOMER_ROUTED" } }, { acknowledge = routed.name }))
    cl:close()
    local changed = { [regrouped.key] = true, [routed.key] = true }
    sim:admin("POST", "/_sim/advance", { all = true })

    local res = apply(plan, { canary = plan.clusters[1].name })
    local out, updated = {}, {}
    for _, c in ipairs(res.clusters) do
      out[c.key] = c
      if not changed[c.key] then
        assert.are.equal("done", c.state)
        updated[c.key] = true
      end
    end
    assert.are.equal("refused", out[regrouped.key].state)
    assert.are.equal(("stale plan: subnet_ids [%s] -> [%s]"):format(table.concat(regrouped.state.subnet_ids, ","),
      table.concat(kept, ",")), out[regrouped.key].reason)
    assert.are.equal("refused", out[routed.key].state)
    assert.are.equal("stale plan: mode AWS_MANAGED -> CUSTOMER_ROUTED", out[routed.key].reason)
    assert.are.equal(2, common.exit_code(res))
    -- The changed clusters got nothing from the plan: only the test's calls.
    mh.assert_exactly_once(sim, plan, { updated = updated, foreign = changed })
  end)

  it("waits out the update the plan showed in flight (busy_seconds), then migrates", function()
    local plan = plan_of{ names.busy }
    local entry = plan.clusters[1]
    assert.are.equal("migrate", entry.action)
    assert.are.equal("UPDATING", entry.state.status)
    assert.are.equal(1, #entry.state.updates_in_flight)
    local waited
    local res, journal = apply(plan, { on_event = function(ev)
      if ev.type == "cluster" and ev.what == "waiting" and not waited then
        waited = ev.update_id
        -- Let the version update end now (its state clock is not scaled).
        mh.admin_async(sim, "/_sim/advance", { seconds = 100001 })
      end
    end })
    assert.are.equal(entry.state.updates_in_flight[1], waited)
    assert.are.equal("done", res.clusters[1].state, res.clusters[1].reason)
    local types = {}
    for _, r in ipairs(mh.records(journal)) do types[#types + 1] = r.type end
    assert.are.equal("begin waiting check intent sent status status verified end", table.concat(types, " "))
    mh.assert_exactly_once(sim, plan)
  end)

  it("waits out an update that started after the plan, then migrates", function()
    local list = healthy(1)
    local plan = plan_of(list)
    local cl, c = client_for(plan, list[1])
    assert(cl:call("eks", "UpdateClusterConfig", { name = c.name,
      logging = { clusterLogging = { { types = { "api" }, enabled = true } } } }))
    cl:close()
    local saw = false
    local res, journal = apply(plan, { on_event = function(ev)
      if ev.type == "cluster" and ev.what == "waiting" then saw = true end
    end })
    assert.is_true(saw)
    assert.are.equal("done", res.clusters[1].state, res.clusters[1].reason)
    assert.are.equal(1, #mh.records(journal, "waiting"))
    mh.assert_exactly_once(sim, plan, { foreign = { [c.key] = true } })
  end)

  it("refuses a cluster whose update stays in progress past the limit, sending nothing", function()
    local plan = plan_of{ names.stuck }
    assert.are.equal("migrate", plan.clusters[1].action)
    local res = apply(plan, { in_flight_timeout = 0 })
    assert.are.equal("refused", res.clusters[1].state)
    assert.matches("^update [%w%-]+ was still in progress after 0 s$", res.clusters[1].reason)
    mh.assert_exactly_once(sim, plan, { updated = {} })
    assert.is_nil(mh.log(sim).clusters[plan.clusters[1].key])
  end)

  it("a canary whose update fails stops the waves: errors surfaced, nothing else sent, "
    .. "nothing left for resume", function()
    local list = healthy(2)
    local plan = plan_of{ names.fails, list[1], list[2] }
    local res, journal = apply(plan, { canary = names.fails })
    local out = by_name(res)
    assert.are.equal("failed", out[names.fails].state)
    assert.matches("^update Failed: ClusterUnreachable: ", out[names.fails].reason)
    assert.are.equal("ClusterUnreachable", out[names.fails].errors[1].errorCode)
    assert.are.equal("planned", out[list[1]].state)
    assert.are.equal("planned", out[list[2]].state)
    assert.are.equal("failure", res.stop_kind)
    assert.are.equal(4, common.exit_code(res))
    mh.assert_exactly_once(sim, plan, { updated = { [key_of(plan, names.fails)] = true } })
    local seq = mh.log(sim).last_seq
    local again = assert(migrate.resume(factory, journal, { poll_seconds = 0.01 }))
    assert.is_true(again.nothing_to_do)
    assert.matches("^update Failed: ClusterUnreachable", again.stopped)
    assert.are.equal(seq, mh.log(sim).last_seq)
  end)

  it("a failure in a wave lets that wave's updates finish and starts no later wave", function()
    local list = healthy(5)
    table.insert(list, 2, names.fails)
    local plan = plan_of(list)
    local canary = key_of(plan, list[1])
    local res = apply(plan, { canary = list[1], wave_size = 2, max_parallel = 2 })
    local rest = {}
    for _, c in ipairs(plan.clusters) do if c.key ~= canary then rest[#rest + 1] = c.key end end
    local state = {}
    for _, c in ipairs(res.clusters) do state[c.key] = c.state end
    local failing_wave
    for i, key in ipairs(rest) do
      if key == key_of(plan, names.fails) then failing_wave = math.ceil(i / 2) end
    end
    local log = mh.log(sim)
    for i, key in ipairs(rest) do
      local w = math.ceil(i / 2)
      if key == key_of(plan, names.fails) then
        assert.are.equal("failed", state[key])
      elseif w <= failing_wave then
        assert.are.equal("done", state[key], key)
      else
        assert.are.equal("planned", state[key], key)
        assert.is_nil(log.clusters[key], key .. " got no request")
      end
    end
    assert.are.equal(4, common.exit_code(res))
  end)

  it("sends nothing that could not be journaled first: a failed intent stops the run; "
    .. "resume finishes it, each cluster updated once", function()
    local plan = plan_of(healthy(3))
    local victim = plan.clusters[2].key
    local real_open = journal_mod.open
    journal_mod.open = function(...)
      local w, err = real_open(...)
      if not w then return nil, err end
      local append = w.append
      function w.append(self, rec)
        if rec.type == "intent" and rec.key == victim then
          return nil, { code = "IoError", message = "no space left on device" }
        end
        return append(self, rec)
      end
      return w
    end
    -- One at a time: the third cluster would start only after the second.
    local ok, res, journal = pcall(apply, plan, { canary = plan.clusters[1].name, max_parallel = 1 })
    journal_mod.open = real_open
    assert(ok, res)
    assert.are.equal("journal", res.stop_kind)
    assert.matches("the journal cannot be written: no space left on device", res.stopped)
    local log = mh.log(sim)
    assert.is_nil(log.clusters[victim], "nothing was sent for the cluster whose intent failed")
    assert.is_nil(log.clusters[plan.clusters[3].key], "no new start after the journal failed")
    -- The journal is intact (no gap where the failed line would have been).
    local run = mh.journal(journal)
    assert.are.equal("checked", run.clusters[victim].state)
    resume_to_done(journal, plan)
  end)

  it("Ctrl-C stops new starts and journals the stop without waiting; resume finishes "
    .. "each cluster once", function()
    local plan = plan_of(healthy(6))
    local sent, interrupted = 0, false
    local res, journal = apply(plan, { wave_size = 6, max_parallel = 2,
      interrupted = function() return interrupted end,
      on_event = function(ev)
        if ev.type == "cluster" and ev.what == "sent" then
          sent = sent + 1
          if sent == 2 then interrupted = true end   -- the canary's, then one of the wave's
        end
      end })
    assert.are.equal("interrupted", res.stop_kind)
    assert.are.equal(130, common.exit_code(res))
    local open, sent_left = 0, 0
    for _, c in ipairs(res.clusters) do
      if c.state ~= "done" then open = open + 1 end
      if c.state == "sent" then sent_left = sent_left + 1 end
    end
    assert.is_true(open >= 4, "new updates were not started")
    assert.is_true(sent_left >= 1, "an update in flight was left to resume, not waited for")
    -- Every update EKS received was journaled first, and none began after the stop.
    local stop_seq, intents = nil, {}
    for _, r in ipairs(mh.records(journal)) do
      if r.type == "stop" then stop_seq = r.seq end
      if r.type == "intent" then
        assert.is_nil(stop_seq, "no intent after the stop")
        intents[r.key] = true
      end
    end
    assert.is_truthy(stop_seq)
    for key in pairs(mh.log(sim).clusters) do
      if mh.token_of(plan, key) then assert.is_true(intents[key], key) end
    end
    resume_to_done(journal, plan)
  end)

  it("regression: a resume without pacing flags keeps the waves and parallelism the apply was given", function()
    local plan = plan_of(healthy(6))
    local interrupted = false
    -- Ctrl-C as the first wave begins: only the canary is done.
    local _, journal = apply(plan, { wave_size = 2, max_parallel = 1,
      interrupted = function() return interrupted end,
      on_event = function(ev) if ev.type == "wave" then interrupted = true end end })
    local waves = {}
    local res = assert(migrate.resume(factory, journal, { poll_seconds = 0.01,
      on_event = function(ev) if ev.type == "wave" then waves[#waves + 1] = ev.size end end }))
    for _, c in ipairs(res.clusters) do assert.are.equal("done", c.state) end
    assert.are.same({ 2, 2, 1 }, waves)
    local most = mh.max_updates_in_flight(mh.assert_exactly_once(sim, plan))
    assert.are.equal(1, most)
  end)

  it("regression: credentials that answer as another account read and change nothing (plan and apply)", function()
    local list = healthy(2)
    local plan = plan_of(list)
    assert.are.equal("111122223333", plan.clusters[1].account)
    local other = mh.factory(sim, { AWS_ACCESS_KEY_ID = "AKIAEKSSIM0000000002",
                                    AWS_SECRET_ACCESS_KEY = "ekssim/SecondAccount/Secret+EXAMPLEKEY02" })
    local seq = mh.log(sim).last_seq
    local res = assert(migrate.apply(other, plan, { confirm = plan.plan_id, journal = dir .. "/other.journal",
      poll_seconds = 0.01 }))
    for _, c in ipairs(res.clusters) do
      assert.are.equal("planned", c.state)
    end
    local canary = res.clusters[1].key == res.canary and res.clusters[1] or res.clusters[2]
    assert.are.equal("AccountMismatch", canary.error.code)
    assert.matches("the caller's credentials answers as account 444455556666, not 111122223333", canary.error.message)
    local replan = assert(migrate.plan(other, { targets = mh.targets(sim, function(c) return c.name == list[1] end) }))
    assert.are.same({}, replan.clusters)
    assert.are.equal("AccountMismatch", replan.errors[1].code)
    for _, r in ipairs(mh.log(sim, seq).requests) do
      assert.are.equal("GetCallerIdentity", r.operation, "nothing but the identity was asked")
    end
  end)

  it("--no-wait waits for the canary only; the others are sent and journaled, and resume "
    .. "verifies them", function()
    local plan = plan_of(healthy(4))
    local res, journal = apply(plan, { no_wait = true, max_parallel = 4 })
    local states = {}
    for _, c in ipairs(res.clusters) do states[c.key] = c.state end
    assert.are.equal("done", states[res.canary])
    for key, st in pairs(states) do
      if key ~= res.canary then assert.are.equal("sent", st) end
    end
    assert.is_true(res.no_wait)
    assert.are.equal(0, common.exit_code(res))
    assert.are.equal(4, #mh.records(journal, "sent"))
    mh.assert_exactly_once(sim, plan)
    resume_to_done(journal, plan)
    assert.are.equal(4, #mh.records(journal, "verified"))
  end)

  it("throttling 30% + 5xx 10% + drops 5% (responses lost after EKS accepted) + clock skew: "
    .. "every cluster done exactly once", function()
    local plan = plan_of(healthy(4))
    sim:admin("POST", "/_sim/faults", { reset = true, seed = 21, throttle_rate = 0.3, error_rate = 0.1,
                                        drop_rate = 0.05, drop_when = "after", clock_skew = 900 })
    local ok, res, journal = pcall(apply, plan, { max_parallel = 2 })
    -- Whatever errors outlived every retry leave clusters for resume.
    local rounds = 0
    while ok and res.summary.open > 0 and rounds < 5 do
      rounds = rounds + 1
      ok, res = pcall(migrate.resume, factory, journal, { poll_seconds = 0.01 })
    end
    sim:admin("POST", "/_sim/faults", { reset = true })
    assert(ok, res)
    for _, c in ipairs(res.clusters) do assert.are.equal("done", c.state, c.reason) end
    local log = mh.assert_exactly_once(sim, plan)
    local faulted = 0
    for _, r in ipairs(log.requests) do if r.fault ~= cjson.null and r.fault then faulted = faulted + 1 end end
    assert.is_true(faulted > 0, "faults were injected")
    mh.journal(journal)
  end)
end)
