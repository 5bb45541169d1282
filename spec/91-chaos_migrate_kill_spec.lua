-- Chaos (issue 16, section 2): the migration of a generated fleet (200
-- clusters over 2 accounts x 4 regions at CHAOS_SCALE=1) under the audit's
-- fault mix (30% throttling, 10% 5xx, 5% connections dropped after EKS
-- acted, stalled and truncated bodies), with `kill -9` of the apply/resume
-- process at 20 seeded random moments and `eksegress resume` after each.
-- Witnesses: the simulator's /_sim/log (one distinct update per planned
-- cluster, only the plan's requests, never a revert, each accepted update
-- journaled as an intent first) and the journal itself, read line by line
-- after every kill (a torn tail only at the end, cut off by the next run).
local cjson = require "cjson"
local migrate = require "eksegress.workflows.migrate"
local chaos = require "helpers.chaos"
local mh = require "helpers.migrate"

local REGIONS = "us-east-1+us-west-2+eu-west-1+eu-central-1"

local args = chaos.args

-- The journal's bytes, checked without the workflow's reader: every line
-- ending in a newline is one JSON object; only the bytes after the last
-- newline may be a fragment (a torn tail). Returns complete lines, torn bytes.
local function check_journal_bytes(path)
  local text = mh.read(path)
  if not text then return 0, 0 end
  local n, pos = 0, 1
  while true do
    local nl = text:find("\n", pos, true)
    if not nl then break end
    local line = text:sub(pos, nl - 1)
    local ok, rec = pcall(cjson.decode, line)
    assert(ok and type(rec) == "table" and type(rec.type) == "string",
      ("%s line %d is not a journal record: %q"):format(path, n + 1, line:sub(1, 200)))
    n = n + 1
    pos = nl + 1
  end
  return n, #text - pos + 1
end

describe("chaos: migration under faults and kill -9 #chaos", function()
  local sim, dir, plan, plan_path, journal, round
  local clusters = chaos.count(200, 16)
  local kills_wanted = chaos.count(20, 4)
  local drive = { "--wave-size", tostring(chaos.count(20, 6)), "--max-parallel", "6", "--poll-interval", "0.05",
                  "--in-flight-timeout", "120", "--cli-read-timeout", chaos.READ_TIMEOUT }

  setup(function()
    sim = mh.start_fleet{
      generate = ("clusters=%d,accounts=2,regions=%s,seed=91,defects=0,routed=0.1,isolated=0,nomode=0")
        :format(clusters, REGIONS),
      args = "--time-scale 0.001 " .. chaos.STALL_ARGS }
    dir = mh.tmpdir()
    round = 0
  end)
  teardown(function() mh.stop(sim, dir) end)

  -- A fresh fleet, an empty log, and its plan (made without faults: the
  -- audit spec covers reading under faults) where the CLI reads it.
  local function fresh_plan()
    round = round + 1
    plan, plan_path, journal = chaos.fresh_plan(sim, dir, round)
  end

  local function accepted_updates(since)
    local n = 0
    for _, r in ipairs(mh.log(sim, since).requests) do
      if r.operation == "UpdateClusterConfig" and r.status == 200 then n = n + 1 end
    end
    return n
  end


  it(("every cluster ends CUSTOMER_ROUTED with one distinct update after %d kill -9s and resumes "
    .. "under faults; nothing unplanned, no revert, the journal valid after every kill"):format(kills_wanted),
  function()
    local random = mh.rng(91016)
    local kills, rounds, runs = 0, 0, 0
    local figures = { lines = 0, updates = 0, torn_seen = 0, torn_made = 0, exits = {} }
    local done = false
    while not done do
      rounds = rounds + 1
      assert(rounds <= 8, "too many rounds for " .. kills_wanted .. " kills")
      fresh_plan()
      local migrating = 0
      for _, c in ipairs(plan.clusters) do if c.action == "migrate" then migrating = migrating + 1 end end
      local spread = math.max(14, (4 * migrating) // kills_wanted)
      local first, finished = true, false
      while not finished do
        runs = runs + 1
        assert(runs <= 40 + 12 * kills_wanted, "the job never finished")
        sim:admin("POST", "/_sim/faults", chaos.faults(runs))
        local cmd = first and args({ "apply", plan_path, "--confirm", plan.plan_id }, table.unpack(drive))
          or args({ "resume", journal }, table.unpack(drive))
        -- A moment (the kinds take turns, the counts are seeded): after N
        -- more journal lines, or right after EKS accepted M more updates
        -- (between the answer and its journal line).
        local by_lines = runs % 2 == 1
        local want = by_lines and random(spread) or random(3)
        local lines0 = check_journal_bytes(journal)
        local seq0 = mh.log(sim).last_seq
        local h = mh.spawn_cli(sim, cmd)
        local killed = false
        while h:alive() and kills < kills_wanted do
          local reached
          if by_lines then reached = (check_journal_bytes(journal)) >= lines0 + want
          else reached = accepted_updates(seq0) >= want end
          if reached then
            killed = h:kill("KILL")
            break
          end
          chaos.nap(5)
        end
        local rc = h:wait(600)
        local err = h:stderr()
        h:stop()
        chaos.assert_no_crash(err, "stderr")
        if killed and rc == 137 then
          kills = kills + 1
          figures[by_lines and "lines" or "updates"] = figures[by_lines and "lines" or "updates"] + 1
          -- After every kill: the journal parses line by line (a fragment
          -- only at the end), the workflow's reader replays it, and nothing
          -- reached EKS that it does not know of.
          local _, torn = check_journal_bytes(journal)
          if torn > 0 then figures.torn_seen = figures.torn_seen + 1 end
          mh.journal(journal)
          chaos.assert_journaled_first(sim, journal)
          mh.assert_exactly_once(sim, plan, { updated = {} })
          -- Once, a power loss mid-write: half a record at the end. The
          -- next run must cut it off before appending.
          if kills == 2 and torn == 0 then
            local f = assert(io.open(journal, "ab"))
            f:write('{"type":"intent","key":"111122223333/us-east-1/torn-')
            f:close()
            figures.torn_made = figures.torn_made + 1
          end
        else
          -- Errors that outlived every retry leave clusters to resume (2).
          figures.exits[tostring(rc)] = (figures.exits[tostring(rc)] or 0) + 1
          assert.is_true(rc == 0 or rc == 2, ("exit %s:\n%s"):format(tostring(rc), err))
          finished = rc == 0
        end
        -- Whatever happened, the next run starts from a journal whose every
        -- line is whole once it has run (checked at its start above).
        first = false
      end
      sim:admin("POST", "/_sim/faults", { reset = true })
      local _, torn = check_journal_bytes(journal)
      assert.are.equal(0, torn, "a torn tail survived a complete run")
      -- Done: every planned cluster CUSTOMER_ROUTED with one update.
      local log = mh.assert_exactly_once(sim, plan)
      local state = mh.state(sim)
      for _, c in ipairs(plan.clusters) do
        assert.are.equal("CUSTOMER_ROUTED", state[c.key].mode, c.key)
      end
      for _, q in ipairs(log.requests) do
        assert.is_true(q.operation ~= "UpdateClusterConfig" or q.cluster ~= cjson.null,
          "an update without a cluster")
      end
      assert.are.equal(migrating, migrate.journal.summary((mh.journal(journal))).done)
      figures.requests = (figures.requests or 0) + #log.requests
      figures.faults = chaos.fault_counts(log)
      done = kills >= kills_wanted
    end
    assert.are.equal(kills_wanted, kills)
    assert.is_true(figures.lines > 0 and figures.updates > 0, ("kills after lines %d, after updates %d")
      :format(figures.lines, figures.updates))
    chaos.figure("migrate clusters per round", clusters)
    chaos.figure("migrate rounds", rounds)
    chaos.figure("migrate CLI runs", runs)
    chaos.figure("migrate kills (after journal lines / after accepted updates)",
      ("%d (%d / %d)"):format(kills, figures.lines, figures.updates))
    chaos.figure("migrate torn tails seen after a kill / written on purpose", ("%d / %d")
      :format(figures.torn_seen, figures.torn_made))
    chaos.figure("migrate run exits other than kill", cjson.encode(figures.exits))
    chaos.figure("migrate requests (all rounds)", figures.requests)
    chaos.figure("migrate faults (last round)", cjson.encode(figures.faults))
  end)
end)
