-- Issue 4, end to end: no sequence of library calls sends a revert or an
-- unacknowledged irreversible change; the simulator's request log proves
-- that nothing refused ever reached it.
local cjson = require "cjson"
local runtime = require "eksegress.runtime"
local simmod = require "helpers.sim"

local ACCT, REGION = "111122223333", "us-east-1"

local function calls_for(sim, name)
  local log = sim:admin("GET", "/_sim/log")
  local c = log.clusters[ACCT .. "/" .. REGION .. "/" .. name]
  return c and c.calls or {}
end

local function mode_of(client, name)
  local d = assert(client:call("eks", "DescribeCluster", { name = name }))
  return d.cluster.resourcesVpcConfig.controlPlaneEgressMode
end

describe("guard end to end (issue 4)", function()
  local sim, client, audit
  setup(function()
    sim = simmod.start("--time-scale 0")
    audit = os.tmpname()
    os.remove(audit)
    client = sim:client{ audit_path = audit }
  end)
  teardown(function()
    client:close()
    sim:stop()
    os.remove(audit)
  end)

  local ROUTED = { controlPlaneEgressMode = "CUSTOMER_ROUTED" }
  local MANAGED = { controlPlaneEgressMode = "AWS_MANAGED" }

  it("refuses an unacknowledged switch to CUSTOMER_ROUTED and sends nothing", function()
    local out, err = client:call("eks", "UpdateClusterConfig", { name = "prod-api", resourcesVpcConfig = ROUTED })
    assert.is_nil(out)
    assert.are.equal("IrreversibleChangeNotAcknowledged", err.code)
    assert.are.equal("refuse", err.guard.action)
    assert.are.equal("AWS_MANAGED", err.guard.from)
    assert.are.equal("CUSTOMER_ROUTED", err.guard.to)
    assert.matches("prod%-api", err.message)
    -- a wrong acknowledgement is no acknowledgement
    local _, err2 = client:call("eks", "UpdateClusterConfig", { name = "prod-api", resourcesVpcConfig = ROUTED },
      { acknowledge = "prod-ap" })
    assert.are.equal("IrreversibleChangeNotAcknowledged", err2.code)
    assert.are.same({}, calls_for(sim, "prod-api"))
  end)

  it("sends the acknowledged switch once, and the cluster ends CUSTOMER_ROUTED", function()
    local out, err = client:call("eks", "UpdateClusterConfig", { name = "prod-api", resourcesVpcConfig = ROUTED },
      { acknowledge = "prod-api" })
    assert.is_nil(err)
    assert.are.equal("ControlPlaneEgressUpdate", out.update.type)
    assert(client:wait("eks", "UpdateFinished", { name = "prod-api", updateId = out.update.id },
      { delay = 0.05, max_attempts = 50 }))
    assert.are.equal("CUSTOMER_ROUTED", mode_of(client, "prod-api"))
    local calls = calls_for(sim, "prod-api")
    assert.are.equal(1, #calls)
    assert.is_true(calls[1].accepted)
  end)

  it("refuses the revert always, with every override the API has", function()
    local _, err = client:call("eks", "UpdateClusterConfig", { name = "prod-api", resourcesVpcConfig = MANAGED },
      { acknowledge = "prod-api", allow_undocumented = true })
    assert.are.equal("IrreversibleTransitionRefused", err.code)
    assert.are.equal("CUSTOMER_ROUTED", err.guard.from)
    assert.are.equal(1, #calls_for(sim, "prod-api"))
  end)

  it("treats the same mode as a no-op that sends nothing", function()
    local out, err = client:call("eks", "UpdateClusterConfig",
      { name = "prod-routed", resourcesVpcConfig = ROUTED }, { acknowledge = "prod-routed" })
    assert.is_nil(err)
    assert.is_true(out.noop)
    assert.are.equal("NoChange", out.guard.code)
    assert.are.same({}, calls_for(sim, "prod-routed"))
  end)

  it("refuses a mixed update and an undocumented mode", function()
    local _, err = client:call("eks", "UpdateClusterConfig", { name = "legacy-batch",
      resourcesVpcConfig = { controlPlaneEgressMode = "CUSTOMER_ROUTED", endpointPublicAccess = false } },
      { acknowledge = "legacy-batch" })
    assert.are.equal("MixedUpdate", err.code)
    local _, err2 = client:call("eks", "UpdateClusterConfig", { name = "legacy-batch",
      resourcesVpcConfig = { controlPlaneEgressMode = "CUSTOMER_ISOLATED" } }, { acknowledge = "legacy-batch" })
    assert.are.equal("UndocumentedMode", err2.code)
    local _, err3 = client:call("eks", "UpdateClusterConfig", { name = "legacy-batch",
      resourcesVpcConfig = { controlPlaneEgressMode = "CUSTOMER_ISOLATED" } }, { allow_undocumented = true })
    assert.is_not_nil(err3)
    assert.are.equal("refuse", err3.guard.action)
    assert.are.same({}, calls_for(sim, "legacy-batch"))
  end)

  it("guards CreateCluster with CUSTOMER_ROUTED", function()
    local d = assert(client:call("eks", "DescribeCluster", { name = "prod-routed" }))
    local vpc = d.cluster.resourcesVpcConfig
    local input = { name = "guarded-new", roleArn = d.cluster.roleArn, resourcesVpcConfig = {
      subnetIds = vpc.subnetIds, controlPlaneEgressMode = "CUSTOMER_ROUTED" } }
    local _, err = client:call("eks", "CreateCluster", input)
    assert.are.equal("IrreversibleChangeNotAcknowledged", err.code)
    local _, err2 = client:call("eks", "CreateCluster", input, { acknowledge = "prod-routed" })
    assert.are.equal("IrreversibleChangeNotAcknowledged", err2.code)
    assert.are.same({}, calls_for(sim, "guarded-new"))
    local out, err3 = client:call("eks", "CreateCluster", input, { acknowledge = "guarded-new" })
    assert.is_nil(err3)
    assert.are.equal("guarded-new", out.cluster.name)
    assert.are.equal(1, #calls_for(sim, "guarded-new"))
  end)

  it("guards raw requests that bypass the client's helpers", function()
    local rt = assert(runtime.new{ max_attempts = 1 })
    local body = '{"resourcesVpcConfig":{"controlPlaneEgressMode":"CUSTOMER_ROUTED"}}'
    local function raw(method, target)
      local resp = assert(rt:request{ method = method, url = sim.url .. target, body = body,
        headers = { { "Content-Type", "application/json" } }, sign = true, service = "eks", region = REGION,
        access_key_id = simmod.ACCESS_KEY, secret_access_key = simmod.SECRET_KEY, acknowledge = "analytics" })
      return resp
    end
    -- This engine never saw a DescribeCluster of the cluster: mode unknown.
    local r = raw("POST", "/clusters/legacy-batch/update-config")
    assert.are.equal("CurrentModeUnknown", r.guard.code)
    for _, t in ipairs({
      "//clusters/legacy-batch/update-config", "/clusters/./legacy-batch/update-config",
      "/clusters/legacy-batch/update-config/", "/clusters/legacy-batch/%75pdate-config",
      "/CLUSTERS/legacy-batch/update-config", "/clusters/legacy-batch/update-config?x=1",
      "/x/../clusters/legacy-batch/update-config", "/clusters/legacy%2Dbatch/update-config",
    }) do
      local rr = raw("POST", t)
      assert.are.equal("AmbiguousRequest", rr.guard.code, t)
      assert.are.equal(0, rr.attempts, t)
    end
    local lower = raw("post", "/clusters/legacy-batch/update-config")
    assert.are.equal("refuse", lower.guard.action)
    rt:close()
    assert.are.same({}, calls_for(sim, "legacy-batch"))
  end)

  it("writes every decision to the audit log as JSON lines", function()
    local f = assert(io.open(audit, "rb"))
    local lines = {}
    for line in f:lines() do lines[#lines + 1] = cjson.decode(line) end
    f:close()
    assert.is_true(#lines >= 8)
    local kinds = {}
    for _, l in ipairs(lines) do
      assert.is_string(l.time)
      assert.is_string(l.decision)
      kinds[l.decision .. ":" .. tostring(l.code)] = true
    end
    assert.is_true(kinds["refuse:IrreversibleChangeNotAcknowledged"])
    assert.is_true(kinds["refuse:IrreversibleTransitionRefused"])
    assert.is_true(kinds["noop:NoChange"])
    local allowed = false
    for k in pairs(kinds) do if k:match("^allow:") then allowed = true end end
    assert.is_true(allowed, "the acknowledged switch is logged as allow")
    local text = assert(io.open(audit, "rb")):read("a")
    assert.is_nil(text:find(simmod.SECRET_KEY, 1, true))
  end)

  it("random sequences of library calls never send a revert or an unacknowledged change", function()
    local fresh = simmod.start("--time-scale 0 --seed 9")
    finally(function() fresh:stop() end)
    local c = fresh:client()
    local names = { "prod-api", "legacy-batch", "old-api", "prod-routed" }
    local modes = { "AWS_MANAGED", "CUSTOMER_ROUTED", "CUSTOMER_ISOLATED", "customer_routed", "BOGUS" }
    local acked = {}          -- name -> true when an acknowledged CUSTOMER_ROUTED was accepted
    local reached = {}        -- name -> number of updates the guard let through
    math.randomseed(20261126)
    for _ = 1, 150 do
      local name = names[math.random(#names)]
      local mode = modes[math.random(#modes)]
      local ack = ({ name, nil, "someone-else" })[math.random(3)]
      local undocumented = math.random(4) == 1
      local vpc = { controlPlaneEgressMode = mode }
      if math.random(6) == 1 then vpc.endpointPrivateAccess = true end
      local out, err = c:call("eks", "UpdateClusterConfig", { name = name, resourcesVpcConfig = vpc },
        { acknowledge = ack, allow_undocumented = undocumented })
      local guarded = (err and err.guard) or (out and out.noop)
      if not guarded then
        -- The guard let it through: it must have been acknowledged, never a
        -- revert, and a non-CUSTOMER_ROUTED value only with the opt-in.
        assert.are.equal(name, ack)
        assert.are_not.equal("AWS_MANAGED", mode)
        assert.is_true(mode == "CUSTOMER_ROUTED" or undocumented)
        reached[name] = (reached[name] or 0) + 1
        if out and out.update then acked[name] = true end
      end
    end
    assert.is_not_nil(next(acked), "the sequence includes accepted, acknowledged switches")
    local log = fresh:admin("GET", "/_sim/log")
    for key, entry in pairs(log.clusters) do
      local name = key:match("[^/]+$")
      local n = 0
      for _, call in ipairs(entry.calls) do
        if call.operation == "UpdateClusterConfig" then
          n = n + 1
          if call.accepted then assert.are.equal("CUSTOMER_ROUTED", call.mode, key) end
        end
      end
      -- Exactly the requests the guard allowed reached the simulator.
      assert.are.equal(reached[name] or 0, n, key)
    end
    for _, name in ipairs({ "prod-api", "legacy-batch", "prod-routed" }) do
      local m = mode_of(c, name)
      assert.is_true(m == "CUSTOMER_ROUTED" or (m == "AWS_MANAGED" and not acked[name]))
    end
    c:close()
  end)
end)
