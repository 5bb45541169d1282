-- The CLI as a process under crashes, Ctrl-C and faults: `eksegress apply`
-- killed with SIGKILL at 20 seeded random moments, each followed by
-- `eksegress resume`, until done; SIGINT once (stop new starts, journal the
-- stop, exit 130) and twice (exit at once); throttling, 5xx, responses lost
-- after EKS accepted, and clock skew during apply. The simulator's /_sim/log
-- is the witness: one distinct update per cluster, only the plan's requests,
-- every one journaled (intent) before it reached EKS.
local cjson = require "cjson"
local canonical = require "eksegress.canonical"
local core = require "eksegress.core"
local migrate = require "eksegress.workflows.migrate"
local mh = require "helpers.migrate"

local KILLS = 20
local DRIVE = { "--wave-size", "6", "--max-parallel", "4", "--poll-interval", "0.02", "--in-flight-timeout", "60" }

local function args(list, ...)
  local out = {}
  for _, a in ipairs(list) do out[#out + 1] = a end
  for _, a in ipairs{ ... } do out[#out + 1] = a end
  return out
end

describe("eksegress apply under kill -9, Ctrl-C and faults", function()
  local sim, dir
  local round = 0

  setup(function()
    sim = mh.start_fleet{ generate = "clusters=16,accounts=2,regions=2,seed=23,defects=0,routed=0,isolated=0,nomode=0",
                          args = "--time-scale 0.001" }
    dir = mh.tmpdir()
  end)
  teardown(function() mh.stop(sim, dir) end)

  -- A fresh fleet (every cluster AWS_MANAGED, an empty log) and its plan,
  -- written where the CLI reads it. Returns the plan and its path.
  local function fresh_plan()
    sim:admin("POST", "/_sim/reset")
    round = round + 1
    local plan = assert(migrate.plan(mh.factory(sim), { targets = mh.targets(sim), version = "test" }))
    local path = ("%s/round%d.plan.json"):format(dir, round)
    mh.write(path, canonical.encode(plan) .. "\n")
    return plan, path, (path:gsub("%.json$", ".journal"))
  end

  local function journal_lines(path)
    local res = core.journal_read(path, { max_bytes = 1 << 30 })
    return res and #res.lines or 0
  end

  local function accepted_updates(since)
    local log = mh.log(sim, since)
    local n = 0
    for _, r in ipairs(log.requests) do
      if r.operation == "UpdateClusterConfig" and r.status == 200 then n = n + 1 end
    end
    return n
  end

  -- Every update EKS accepted for the plan was journaled (intent) first.
  local function assert_journaled_first(plan, journal)
    local intents = {}
    for _, r in ipairs(mh.records(journal, "intent")) do intents[r.key] = r.token end
    for key, rec in pairs(mh.log(sim).clusters) do
      for _, call in ipairs(rec.calls) do
        if call.accepted == true then
          assert.are.equal(call.client_request_token, intents[key], key .. ": an update EKS got before its intent")
        end
      end
    end
    assert.is_truthy(plan)
  end

  -- `eksegress resume` finishes the job: exit 0, each cluster updated once.
  local function resume_to_done(plan, journal)
    local r = mh.cli(sim, args({ "resume", journal }, table.unpack(DRIVE)))
    assert.are.equal(0, r.status, r.stderr)
    mh.assert_exactly_once(sim, plan)
  end

  it(("survives kill -9 at %d seeded random moments, each followed by resume: every cluster "
    .. "updated exactly once, the journal readable after every kill"):format(KILLS), function()
    local random = mh.rng(20260401)
    local kills, rounds, kinds = 0, 0, { lines = 0, updates = 0 }
    while kills < KILLS do
      rounds = rounds + 1
      assert(rounds <= 12, "too many rounds for " .. KILLS .. " kills")
      local plan, plan_path, journal = fresh_plan()
      local first = true
      local finished = false
      local runs = 0
      while not finished do
        runs = runs + 1
        assert(runs <= 60, "the job never finished")
        local cmd = first and args({ "apply", plan_path, "--confirm", plan.plan_id }, table.unpack(DRIVE))
          or args({ "resume", journal }, table.unpack(DRIVE))
        -- A moment: after N more journal lines, or right after EKS accepted
        -- M more updates (between the answer and its journal line).
        local by_lines = random(2) == 1
        local want = by_lines and random(14) or random(3)
        local lines0 = journal_lines(journal)
        local seq0 = mh.log(sim).last_seq
        local h = mh.spawn_cli(sim, cmd)
        local killed = false
        while h:alive() do
          local reached
          if by_lines then reached = journal_lines(journal) >= lines0 + want
          else reached = accepted_updates(seq0) >= want end
          if reached and kills < KILLS then
            killed = h:kill("KILL")
            break
          end
          core.sleep_ms(3)
        end
        local rc = h:wait(120)
        local err = h:stderr()
        h:stop()
        if killed and rc == 137 then
          kills = kills + 1
          kinds[by_lines and "lines" or "updates"] = kinds[by_lines and "lines" or "updates"] + 1
          -- The journal is readable after every kill, and nothing reached
          -- EKS that it does not know of.
          mh.journal(journal)
          assert_journaled_first(plan, journal)
          mh.assert_exactly_once(sim, plan, { updated = {} })
        else
          assert.are.equal(0, rc, err)
          finished = true
        end
        first = false
      end
      -- Done: every cluster CUSTOMER_ROUTED, one update each; a resume now
      -- has nothing to do and sends nothing.
      mh.assert_exactly_once(sim, plan)
      local run = mh.journal(journal)
      assert.are.equal(#plan.clusters, migrate.journal.summary(run).done)
      local seq = mh.log(sim).last_seq
      local r = mh.cli(sim, { "resume", journal })
      assert.are.equal(0, r.status, r.stderr)
      assert.matches("nothing to do", r.stderr)
      assert.are.equal(seq, mh.log(sim).last_seq)
    end
    assert.are.equal(KILLS, kills)
    -- Both kinds of moment were hit: after journal lines, and right after
    -- EKS accepted an update (before its answer was journaled).
    assert.is_true(kinds.lines > 0 and kinds.updates > 0, ("kills after lines %d, after updates %d")
      :format(kinds.lines, kinds.updates))
  end)

  it("Ctrl-C stops new updates, journals the stop and exits 130 without waiting; resume finishes", function()
    local plan, plan_path, journal = fresh_plan()
    local h = mh.spawn_cli(sim, args({ "apply", plan_path, "--confirm", plan.plan_id }, table.unpack(DRIVE)))
    -- The canary is done and a wave is under way.
    while h:alive() and #mh.records(journal, "sent") < 3 do core.sleep_ms(5) end
    assert.is_true(h:kill("INT"))
    local rc = h:wait(120)
    local err = h:stderr()
    local out = cjson.decode(h:stdout())
    h:stop()
    assert.are.equal(130, rc)
    assert.matches("stopping new updates: interrupted", err)
    assert.are.equal("interrupted", out.stop_kind)
    local stop, intents_after = nil, 0
    for _, r in ipairs(mh.records(journal)) do
      if r.type == "stop" then stop = r end
      if stop and r.type == "intent" then intents_after = intents_after + 1 end
    end
    assert.are.equal("interrupted", stop.kind)
    assert.are.equal(0, intents_after, "no update started after the stop")
    assert.is_true(out.summary.done < #plan.clusters)
    assert_journaled_first(plan, journal)
    resume_to_done(plan, journal)
  end)

  it("a second Ctrl-C exits at once (130) while requests are in flight; the journal stays "
    .. "readable and resume finishes", function()
    local plan, plan_path, journal = fresh_plan()
    local h = mh.spawn_cli(sim, args({ "apply", plan_path, "--confirm", plan.plan_id }, table.unpack(DRIVE)))
    while h:alive() and #mh.records(journal, "sent") < 2 do core.sleep_ms(5) end
    -- Every answer (EKS, EC2, STS) now takes 10 s: the first Ctrl-C cannot be
    -- acted on before one arrives.
    sim:admin("POST", "/_sim/faults", { reset = true, latency_ms = 10000 })
    -- Wait for 2 of the CLI's requests that arrived after the fault was set,
    -- so both are held 10 s (regression: "in flight" could be a request
    -- answered before the fault, or an EC2 read the EKS-only latency did
    -- not hold, gone by the time the CLI had left). The stats count every
    -- request since the reset, these polls included (admin answers are
    -- never delayed).
    sim:admin("POST", "/_sim/stats/reset")
    local polls = 0
    repeat
      core.sleep_ms(5)
      polls = polls + 1
    until sim:admin("GET", "/_sim/stats").requests - polls >= 2 or not h:alive()
    -- Two Ctrl-Cs, the second sent once the first was delivered (regression: 20 ms
    -- apart, a loaded machine could run the CLI only after both, which then
    -- arrived as one and the CLI waited for its answers as after a first one).
    assert.is_true(h:kill_delivered("INT"))
    assert.is_true(h:kill("INT"))
    local rc = h:wait(20)
    local pending = sim:admin("GET", "/_sim/stats").in_flight
    h:stop()
    sim:admin("POST", "/_sim/faults", { reset = true })
    assert.are.equal(130, rc)
    assert.is_true(pending >= 2, "the CLI left while its requests were still in flight")
    local types = {}
    for _, r in ipairs(mh.records(journal)) do types[r.type] = true end
    assert.is_nil(types["end"], "no orderly end: it exited at once")
    mh.journal(journal)
    assert_journaled_first(plan, journal)
    -- Wait out the simulator's delayed answers (they are not part of the job).
    while sim:admin("GET", "/_sim/stats").in_flight > 1 do core.sleep_ms(50) end
    resume_to_done(plan, journal)
  end)

  it("throttling 30% + 5xx 10% + drops 5% after EKS accepted + clock skew during apply: "
    .. "every cluster done exactly once", function()
    local plan, plan_path, journal = fresh_plan()
    sim:admin("POST", "/_sim/faults", { reset = true, seed = 5, throttle_rate = 0.3, error_rate = 0.1,
                                        drop_rate = 0.05, drop_when = "after", clock_skew = -700 })
    local r = mh.cli(sim, args({ "apply", plan_path, "--confirm", plan.plan_id, "--output", "json" },
      table.unpack(DRIVE)))
    -- Errors that outlived every retry leave clusters to resume (exit 2).
    local tries = 0
    while r.status == 2 and tries < 5 do
      tries = tries + 1
      r = mh.cli(sim, args({ "resume", journal, "--output", "json" }, table.unpack(DRIVE)))
    end
    local log = mh.log(sim)
    sim:admin("POST", "/_sim/faults", { reset = true })
    assert.are.equal(0, r.status, r.stderr)
    mh.assert_exactly_once(sim, plan, { log = log })
    local faults = {}
    for _, q in ipairs(log.requests) do
      if type(q.fault) == "string" then faults[q.fault] = (faults[q.fault] or 0) + 1 end
    end
    assert.is_truthy(faults.throttle, "throttling was injected")
    assert.is_truthy(faults.drop, "connections were dropped")
    local run = mh.journal(journal)
    assert.are.equal(#plan.clusters, migrate.journal.summary(run).done)
  end)
end)
