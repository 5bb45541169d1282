-- Chaos (issue 16, section 2): `eksegress audit` of a generated fleet over 2
-- accounts x 4 regions (2,000 clusters at CHAOS_SCALE=1) while the simulator
-- throttles 30% of requests, answers 10% with 5xx, drops 5% of connections
-- and stalls or truncates bodies. The run ends; every cluster of the
-- simulator's own inventory is in the report exactly once, or its target
-- (cluster, region, account or profile) is under errors with a reason (the
-- reads that failed with a retryable error are read again in the default
-- later passes, so most of what pass 1 left is recovered); the
-- CLI process's peak memory stays bounded. Tagged #chaos: `make chaos-short`
-- and `make chaos` run it, plain `make busted` leaves it out.
local cjson = require "cjson"
local chaos = require "helpers.chaos"
local mh = require "helpers.migrate"

local REGIONS = { "us-east-1", "us-west-2", "eu-west-1", "eu-central-1" }
-- A generous bound: the figure measured is far below (docs/RELIABILITY.md).
local PEAK_KIB_BOUND = 200 * 1024

local function str(v)
  return type(v) == "string" and v or nil
end

describe("chaos: audit of a fleet under faults #chaos", function()
  local sim, dir, n

  setup(function()
    n = chaos.count(2000, 240)
    sim = mh.start_fleet{ generate = ("clusters=%d,accounts=2,regions=%s,seed=7"):format(n, table.concat(REGIONS, "+")),
                          args = "--time-scale 0 " .. chaos.STALL_ARGS }
    dir = mh.tmpdir()
  end)
  teardown(function() mh.stop(sim, dir) end)

  it("ends with every cluster reported exactly once or its target under errors with a reason, "
    .. "in bounded memory", function()
    local inventory = mh.state(sim)
    local total = 0
    for _ in pairs(inventory) do total = total + 1 end
    assert.are.equal(n, total)
    local config, accounts = chaos.profiles(dir)
    local export = dir .. "/audit.json"
    sim:admin("POST", "/_sim/faults", chaos.faults(7))
    local r, kib = chaos.peak_cli(sim, { "audit", "--profile", "a", "--profile", "b",
      "--regions", table.concat(REGIONS, ","), "--cli-read-timeout", chaos.READ_TIMEOUT,
      "--output", "json", "--export", export },
      { env = { AWS_CONFIG_FILE = config, AWS_ACCESS_KEY_ID = false, AWS_SECRET_ACCESS_KEY = false } })
    local log = mh.log(sim)
    sim:admin("POST", "/_sim/faults", { reset = true })
    chaos.assert_no_crash(r.stderr, "stderr")
    -- 0: all read and compliant; 2: some targets under errors. Nothing else.
    assert.is_true(r.status == 0 or r.status == 2, ("exit %d:\n%s"):format(r.status, r.stderr))
    local doc = cjson.decode(r.stdout)
    assert.are.same(doc, cjson.decode(mh.read(export)), "the exported report is the stdout report")

    -- Each reported cluster is one of the simulator's, once, in its mode.
    local seen = {}
    for _, c in ipairs(doc.clusters) do
      local key = c.account .. "/" .. c.region .. "/" .. c.name
      assert.is_nil(seen[key], key .. " is reported twice")
      seen[key] = true
      local truth = inventory[key]
      assert.is_truthy(truth, key .. " is not one of the simulator's clusters")
      local mode = truth.omit_mode == true and "UNKNOWN" or truth.mode
      assert.are.equal(mode, c.egress_mode, key)
    end

    -- Each error names its target and says why.
    local by_cluster, by_region, by_account = {}, {}, {}
    for _, e in ipairs(doc.errors) do
      assert.is_truthy(str(e.code) and #e.code > 0, "an error without a code")
      assert.is_truthy(str(e.message) and #e.message > 0, "an error without a reason")
      local account = str(e.account) or accounts[str(e.profile) or ""]
      if e.target == "cluster" then
        by_cluster[account .. "/" .. e.region .. "/" .. e.cluster] = e
      elseif e.target == "region" then
        by_region[account .. "/" .. e.region] = e
      else
        assert.is_truthy(account, "an error whose account is unknown: " .. cjson.encode(e))
        by_account[account] = e
      end
    end

    -- The simulator's inventory, cluster by cluster: reported, or covered
    -- by an error for it, its region or its account -- never both.
    local reported, errored = 0, 0
    for key, c in pairs(inventory) do
      local covered = by_cluster[key] or by_region[c.account .. "/" .. c.region] or by_account[c.account]
      if seen[key] then
        assert.is_nil(covered, key .. " is both reported and under errors")
        reported = reported + 1
      else
        assert.is_truthy(covered, key .. " is neither in the report nor under errors")
        errored = errored + 1
      end
    end
    assert.are.equal(#doc.clusters, reported)
    assert.are.equal(#doc.errors, doc.summary.errors)
    assert.is_true(reported > 0, "no cluster was read at all")

    -- The faults were really there: every kind of the mix hit some request.
    local f = chaos.fault_counts(log)
    for _, kind in ipairs{ "throttle", "drop", "stall", "truncate" } do
      assert.is_truthy(f[kind], "no " .. kind .. " fault was injected")
    end
    assert.is_truthy((f.internal or 0) + (f.unavailable or 0) > 0, "no 5xx was injected")

    assert.is_true(kib < PEAK_KIB_BOUND, ("peak RSS %d KiB"):format(kib))
    chaos.figure("audit clusters", total)
    chaos.figure("audit requests", #log.requests)
    chaos.figure("audit faults injected", cjson.encode(f))
    chaos.figure("audit clusters reported", reported)
    chaos.figure("audit clusters under errors", errored)
    chaos.figure("audit error entries", #doc.errors)
    chaos.figure("audit passes", math.tointeger(doc.summary.passes))
    chaos.figure("audit clusters recovered by later passes", math.tointeger(doc.summary.recovered))
    chaos.figure("audit exit status", r.status)
    chaos.figure("audit peak RSS KiB", kib)
  end)
end)
