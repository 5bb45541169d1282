-- Regression specs for resume after a lost response (a crash between the
-- intent and the journaled answer): EKS is asked first, an egress update the
-- cluster already had before its check is never taken for this run's, and
-- nothing is sent again while EKS cannot be asked. The simulator's log is the
-- witness. The journals are written as a crash would have left them: the
-- begin record, the check, the intent, and nothing after.
local cjson = require "cjson"
local canonical = require "eksegress.canonical"
local migrate = require "eksegress.workflows.migrate"
local journal = require "eksegress.workflows.migrate.journal"
local run_mod = require "eksegress.workflows.migrate.run"
local core = require "eksegress.core"
local mh = require "helpers.migrate"

describe("resume after a lost response", function()
  local sim, fleet, dir, factory

  setup(function()
    -- EKS-like update times (7 minutes): an update stays InProgress until
    -- the test moves the state clock.
    sim, fleet = mh.start_fleet{ generate = "clusters=4,accounts=1,regions=1,seed=3,defects=0,routed=0,isolated=0,"
      .. "nomode=0", patch = { { account = 1, cluster = 1, set = { egress_update_fails = true } } },
      args = "--time-scale 1" }
    dir = mh.tmpdir()
    factory = mh.factory(sim)
  end)
  teardown(function() mh.stop(sim, dir) end)

  local function plan_of(name)
    local plan = assert(migrate.plan(factory, { targets = mh.targets(sim, function(c) return c.name == name end) }))
    return cjson.decode(canonical.encode(plan))
  end

  -- The journal a crash right after the intent leaves behind.
  local function crashed_journal(plan, egress_before)
    local path = dir .. "/" .. plan.plan_id .. ".journal"
    local c = plan.clusters[1]
    local w = assert(journal.open(path))
    assert(w:append({ type = "begin", schema = journal.SCHEMA, plan_id = plan.plan_id,
                      plan = migrate.document.normalize(plan), options = {} }))
    assert(w:append({ type = "check", key = c.key, outcome = "ok", egress_before = canonical.array(egress_before) }))
    assert(w:append({ type = "intent", key = c.key, token = c.request.body.clientRequestToken,
                      request = { method = "POST", path = c.request.path } }))
    w:close()
    return path
  end

  local function send_as_the_crashed_run(plan)
    local c = plan.clusters[1]
    local cl = sim:client{ region = c.region }
    local out = assert(cl:call("eks", "UpdateClusterConfig", { name = c.name,
      resourcesVpcConfig = { controlPlaneEgressMode = "CUSTOMER_ROUTED" },
      clientRequestToken = c.request.body.clientRequestToken }, { acknowledge = c.name }))
    cl:close()
    return out.update.id
  end

  it("regression: a resume never takes an egress update the cluster had before its check "
    .. "for its own; it sends its own with its token", function()
    local name = fleet.accounts[1].clusters[1].name
    -- A first plan's update failed (the cluster's egress updates fail).
    local first = plan_of(name)
    local old = send_as_the_crashed_run(first)
    sim:admin("POST", "/_sim/advance", { all = true })
    -- A new plan; its run crashed after journaling the intent, before sending.
    local second = plan_of(name)
    assert.are_not.equal(first.plan_id, second.plan_id)
    local path = crashed_journal(second, { old })
    local events = {}
    local res = assert(migrate.resume(factory, path, { poll_seconds = 0.01,
      on_event = function(ev)
        events[#events + 1] = ev
        -- Let the update it sent end (as Failed: this cluster's updates fail).
        if ev.what == "sent" then mh.admin_async(sim, "/_sim/advance", { all = true }) end
      end }))
    local c = res.clusters[1]
    assert.are_not.equal(old, c.update_id, "the old, failed update was taken for this run's")
    assert.are.equal("failed", c.state)
    local log = mh.log(sim)
    local calls = log.clusters[second.clusters[1].key].calls
    assert.are.equal(second.clusters[1].request.body.clientRequestToken, calls[#calls].client_request_token)
    assert.are.equal(c.update_id, calls[#calls].update_id)
  end)

  it("regression: resume sends nothing while EKS cannot be asked whether the update exists, "
    .. "then adopts the update it finds", function()
    local name = fleet.accounts[1].clusters[2].name
    local plan = plan_of(name)
    local key = plan.clusters[1].key
    local path = crashed_journal(plan, {})
    -- The crashed run's request did reach EKS: the update runs.
    local sent = send_as_the_crashed_run(plan)
    sim:admin("POST", "/_sim/faults", { reset = true, throttle_rate = "1.0@ListUpdates" })
    local res = assert(migrate.resume(factory, path, { poll_seconds = 0.01, attempts = 2 }))
    sim:admin("POST", "/_sim/faults", { reset = true })
    assert.are.equal("intent", res.clusters[1].state)
    assert.are.equal("ThrottlingException", res.clusters[1].error.code)
    assert.are.equal(1, #mh.log(sim).clusters[key].calls, "nothing was sent again")
    -- EKS answers again: the update is found and waited for; still one call.
    local res2 = assert(migrate.resume(factory, path, { poll_seconds = 0.01,
      on_event = function(ev)
        if ev.what == "adopted" then mh.admin_async(sim, "/_sim/advance", { all = true }) end
      end }))
    assert.are.equal("done", res2.clusters[1].state)
    assert.are.equal(sent, res2.clusters[1].update_id)
    assert.are.equal(1, #mh.log(sim).clusters[key].calls)
    -- (The first test's cluster holds that test's calls.)
    local first = fleet.accounts[1].clusters[1]
    mh.assert_exactly_once(sim, plan, { updated = { [key] = true },
      foreign = { [fleet.accounts[1].id .. "/" .. first.region .. "/" .. first.name] = true } })
  end)
end)

describe("the check before sending", function()
  -- A scripted EKS: the cluster reads UPDATING once while no update is in
  -- progress any more (an update ended between the two reads), then ACTIVE.
  local function fake_eks(entry)
    local reads, sent = 0, false
    local client = {}
    function client.call(_, _, op, params)
      if op == "DescribeCluster" then
        reads = reads + 1
        local c = mh.cluster_object{ name = entry.name }
        c.status = reads == 1 and "UPDATING" or "ACTIVE"
        if sent then c.resourcesVpcConfig.controlPlaneEgressMode = "CUSTOMER_ROUTED" end
        return { cluster = c }
      elseif op == "DescribeUpdate" then
        return { update = { id = params.updateId, status = "Successful", type = "ControlPlaneEgressUpdate" } }
      end
      error("unexpected " .. op)
    end
    function client.collect(_, _, op)
      assert(op == "ListUpdates")
      return sent and { "u-1" } or {}
    end
    function client.prepare(_, _, _, params)
      return { method = "POST", path = "/clusters/" .. params.name .. "/update-config",
               body = cjson.encode{ resourcesVpcConfig = params.resourcesVpcConfig,
                                    clientRequestToken = params.clientRequestToken } }
    end
    function client.send()
      sent = true
      return { update = { id = "u-1", status = "InProgress" } }
    end
    return client
  end

  it("regression: UPDATING with no update in progress is read again, not called a stale plan", function()
    local plan = mh.sealed({ mh.entry("prod-api", "migrate") })
    local path = os.tmpname()
    os.remove(path)
    local w = assert(journal.open(path))
    local begin = { type = "begin", schema = journal.SCHEMA, plan_id = plan.plan_id, plan = plan, options = {} }
    assert(w:append(begin))
    local run = assert(journal.replay({ begin }))
    local client = fake_eks(plan.clusters[1])
    local res = run_mod.drive(run, {
      journal = w, client = function() return client end, now = core.monotime, sleep = function() end,
      interrupted = function() return false end,
    }, { poll_seconds = 0, in_flight_timeout = 60 })
    w:close()
    os.remove(path)
    assert.is_nil(res.stopped)
    assert.are.equal("done", run.clusters[plan.clusters[1].key].state)
  end)
end)
