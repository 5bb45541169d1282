-- Chaos (issue 16, section 2): the CLI's audit and migration survive a
-- simulator clock 15 minutes ahead or behind (signatures outside the 5-minute
-- window until the engine learns the offset), a session that expires in the
-- middle of a run (15-minute container credentials while the service's clock
-- jumps 16 minutes ahead), and a credential_process that fails on its first
-- call. Witness: the simulator's /_sim/log (every cluster updated exactly
-- once, the credential endpoint asked again) and the CLI's exit status.
local cjson = require "cjson"
local migrate = require "eksegress.workflows.migrate"
local chaos = require "helpers.chaos"
local mh = require "helpers.migrate"

local REGIONS = "us-east-1,us-west-2"
local DRIVE = { "--wave-size", "6", "--max-parallel", "4", "--poll-interval", "0.05", "--in-flight-timeout", "120" }
local CONTAINER_TOKEN = "ekssim-container-token"

local args = chaos.args

describe("chaos: clock skew and credentials that expire or fail #chaos", function()
  local sim, dir, round = nil, nil, 0
  local clusters = chaos.count(60, 12)

  setup(function()
    -- Container credentials last 15 minutes (the AWS minimum for a session).
    sim = chaos.start_fleet(
      ("clusters=%d,accounts=1,regions=%s,seed=92,defects=0,routed=0,isolated=0,nomode=0"):format(clusters,
        REGIONS:gsub(",", "+")),
      "--time-scale 0.002",
      { container_credentials = { token = CONTAINER_TOKEN, account = "111122223333", role_name = "EksEgressAdmin",
                                  duration = 900 } })
    dir = mh.tmpdir()
  end)
  teardown(function() mh.stop(sim, dir) end)

  local function fresh_plan()
    round = round + 1
    return chaos.fresh_plan(sim, dir, round)
  end

  local function audit(env)
    local r = mh.cli(sim, { "audit", "--regions", REGIONS, "--output", "json" }, { env = env })
    chaos.assert_no_crash(r.stderr, "audit stderr")
    assert.are.equal(0, r.status, r.stderr)
    local doc = cjson.decode(r.stdout)
    assert.are.equal(clusters, #doc.clusters)
    assert.are.equal(0, #doc.errors)
    return doc
  end

  local function count_ops(log, op)
    local n = 0
    for _, q in ipairs(log.requests) do if q.operation == op then n = n + 1 end end
    return n
  end

  for _, skew in ipairs{ 900, -900 } do
    it(("survives the service's clock %+d minutes off: audit and apply end well, each cluster updated once")
      :format(skew // 60), function()
      local plan, plan_path, journal = fresh_plan()
      sim:admin("POST", "/_sim/faults", { reset = true, clock_skew = skew })
      audit()
      local r = mh.cli(sim, args({ "apply", plan_path, "--confirm", plan.plan_id }, table.unpack(DRIVE)))
      local log = mh.log(sim)
      sim:admin("POST", "/_sim/faults", { reset = true })
      chaos.assert_no_crash(r.stderr, "apply stderr")
      assert.are.equal(0, r.status, r.stderr)
      mh.assert_exactly_once(sim, plan, { log = log })
      assert.are.equal(#plan.clusters, migrate.journal.summary((mh.journal(journal))).done)
      -- The skew was real: requests were refused for their time first.
      local refused = 0
      for _, q in ipairs(log.requests) do
        if type(q.error) == "string" and (q.error:find("Signature") or q.error:find("RequestExpired")) then
          refused = refused + 1
        end
      end
      assert.is_true(refused > 0, "no request was refused for its time: the skew was not applied")
      chaos.figure(("skew %+d s: requests refused for their time, then corrected"):format(skew), refused)
    end)
  end

  it("survives a session that expires mid-run: the service's clock jumps past the container "
    .. "credentials' 15 minutes during apply", function()
    local plan, plan_path, journal = fresh_plan()
    local env = { AWS_ACCESS_KEY_ID = false, AWS_SECRET_ACCESS_KEY = false,
                  AWS_CONTAINER_CREDENTIALS_FULL_URI = sim.url .. "/v1/credentials",
                  AWS_CONTAINER_AUTHORIZATION_TOKEN = CONTAINER_TOKEN }
    local seq0 = mh.log(sim).last_seq
    local h = mh.spawn_cli(sim, args({ "apply", plan_path, "--confirm", plan.plan_id }, table.unpack(DRIVE)),
      { env = env })
    -- The canary is through and a wave is under way: the session expires.
    while h:alive() and #mh.records(journal, "sent") < 3 do chaos.nap(5) end
    sim:admin("POST", "/_sim/faults", { reset = true, clock_skew = 960 })
    local rc = h:wait(300)
    local err = h:stderr()
    h:stop()
    local log = mh.log(sim, seq0)
    sim:admin("POST", "/_sim/faults", { reset = true })
    chaos.assert_no_crash(err, "apply stderr")
    assert.are.equal(0, rc, err)
    mh.assert_exactly_once(sim, plan)
    assert.are.equal(#plan.clusters, migrate.journal.summary((mh.journal(journal))).done)
    local fetched = count_ops(log, "ContainerCredentials")
    assert.is_true(fetched >= 2, "the credentials were never fetched again")
    local expired = 0
    for _, q in ipairs(log.requests) do
      if q.error == "ExpiredTokenException" or q.error == "ExpiredToken" then expired = expired + 1 end
    end
    chaos.figure("expiring session: container credential fetches", fetched)
    chaos.figure("expiring session: requests answered ExpiredToken (then retried)", expired)
  end)

  it("survives a credential_process that fails on its first call: audit and apply end well", function()
    local plan, plan_path, journal = fresh_plan()
    local function process_env(counter)
      local config = counter .. ".config"
      mh.write(config, ("[default]\nregion = us-east-1\ncredential_process = %s tools/chaos/credproc.py %s %s "
        .. "--fail-first\n"):format(os.getenv("EKSEGRESS_PYTHON") or "python3", sim.url, counter))
      return { AWS_ACCESS_KEY_ID = false, AWS_SECRET_ACCESS_KEY = false, AWS_CONFIG_FILE = config }
    end
    local counter = dir .. "/audit.calls"
    audit(process_env(counter))
    assert.is_true(tonumber(mh.read(counter)) >= 2, "the helper ran once only")
    counter = dir .. "/apply.calls"
    local r = mh.cli(sim, args({ "apply", plan_path, "--confirm", plan.plan_id }, table.unpack(DRIVE)),
      { env = process_env(counter) })
    chaos.assert_no_crash(r.stderr, "apply stderr")
    assert.are.equal(0, r.status, r.stderr)
    mh.assert_exactly_once(sim, plan)
    assert.are.equal(#plan.clusters, migrate.journal.summary((mh.journal(journal))).done)
  end)
end)
