-- eksegress.parallel over client:call is concurrent (issue 9, 1b), proved
-- without a clock: the simulator counts the requests it handles at once
-- (GET /_sim/stats) while every answer is held until that many are in flight
-- (Sim:reset_stats(n), not a latency window a loaded machine can miss), and
-- the spec requires that count to reach the concurrency asked for. Called one
-- after another, the calls would never overlap and the count would stay 1.
local eksegress = require "eksegress"
local runtime = require "eksegress.runtime"
local simmod = require "helpers.sim"
local fsrv = require "helpers.faultserver"

-- Under valgrind (EKSEGRESS_SLOW) a request costs the client far more: hold
-- each response longer so the calls still overlap.
local LATENCY_MS = os.getenv("EKSEGRESS_SLOW") and 400 or 20

local function stats(sim) return sim:admin("GET", "/_sim/stats") end
-- n: hold the answers until n requests are in flight (regression: 32 calls did
-- not all reach a loaded simulator within a 20 ms latency window).
local function reset_stats(sim, n) sim:reset_stats(n) end

describe("parallel is concurrent (issue 9, 1b)", function()
  local sim, names
  setup(function()
    sim, names = simmod.start_fleet(200, ("--latency-ms %d"):format(LATENCY_MS))
  end)
  teardown(function() sim:stop() end)

  it("regression: 200 DescribeCluster calls with concurrency 32 keep 32 requests in flight", function()
    local client = sim:client{ env_extra = { AWS_REGION = "us-west-2" } }
    reset_stats(sim, 32)
    local results, errs = eksegress.parallel(names, function(name)
      return client:call("eks", "DescribeCluster", { name = name })
    end, { concurrency = 32 })
    for i = 1, #names do
      assert.is_nil(errs[i], tostring(errs[i]))
      assert.are.equal(names[i], results[i].cluster.name)
    end
    local s = stats(sim)
    assert.are.equal(200 + 1, s.requests)
    assert.is_true(s.in_flight_max >= 32, "in flight at once: " .. s.in_flight_max)
  end)

  it("regression: a client with engine-level options (audit_path, timeouts) is concurrent too", function()
    local audit = os.tmpname()
    finally(function() os.remove(audit) end)
    local client = sim:client{ env_extra = { AWS_REGION = "us-west-2" }, audit_path = audit,
      connect_timeout_ms = 2000, timeout_ms = 20000, backoff_base = 0.01 }
    reset_stats(sim, 16)
    local _, errs = eksegress.parallel({ table.unpack(names, 1, 64) }, function(name)
      return client:call("eks", "DescribeCluster", { name = name })
    end, { concurrency = 16 })
    for i = 1, 64 do assert.is_nil(errs[i], tostring(errs[i])) end
    assert.is_true(stats(sim).in_flight_max >= 16)
    client:close()
  end)

  it("regression: a call from a task of another runtime is an error, never a silent block", function()
    local client = sim:client{ env_extra = { AWS_REGION = "us-west-2" } }
    local other = assert(runtime.new())
    finally(function() other:close() end)
    local results, errs = eksegress.parallel({ names[1], names[2] }, function(name)
      return client:call("eks", "DescribeCluster", { name = name })
    end, { runtime = other })
    assert.is_nil(results[1])
    assert.are.equal("TaskError", errs[1].code)
    assert.matches("another runtime", errs[1].message)
    assert.matches("runtime = client.runtime", errs[1].message, 1, true)
  end)

  describe("options that shape the engine or each request still work on the shared runtime", function()
    it("timeout_ms from the client, overridden per call", function()
      local c = sim:client{ env_extra = { AWS_REGION = "us-west-2" }, timeout_ms = 1, max_attempts = 1 }
      local _, err = c:call("eks", "DescribeCluster", { name = names[1] })
      assert.are.equal("Timeout", err.code)
      assert(c:call("eks", "DescribeCluster", { name = names[1] }, { timeout_ms = 60000 }))
      c:close()
    end)

    it("max_attempts from the client and per call, with a backoff_base engine of its own", function()
      sim:admin("POST", "/_sim/faults", { reset = true, throttle_rate = 1 })
      finally(function() sim:admin("POST", "/_sim/faults", { reset = true }) end)
      local c = sim:client{ env_extra = { AWS_REGION = "us-west-2" }, max_attempts = 2, backoff_base = 0.001 }
      assert.are_not.equal(c.runtime.engine, c.engine)
      local _, err, meta = c:call("eks", "DescribeCluster", { name = names[1] })
      assert.are.equal("ThrottlingException", err.code)
      assert.are.equal(2, meta.attempts)
      _, _, meta = c:call("eks", "DescribeCluster", { name = names[1] }, { max_attempts = 3 })
      assert.are.equal(3, meta.attempts)
      c:close()
    end)

    it("ca_bundle reaches the engine (TLS to a test server signed by its own CA)", function()
      local fs = fsrv.start()
      finally(function() fs.stop() end)
      local text = assert(io.open(fs.log)):read("a")
      local tls, ca = text:match("TLSPORT (%d+) CAFILE (%S+)")
      local function client(bundle)
        return assert(eksegress.client{ region = "us-east-1", endpoint_url = "https://127.0.0.1:" .. tls,
          ca_bundle = bundle, env = function() return nil end, max_attempts = 1,
          credentials = { access_key_id = simmod.ACCESS_KEY, secret_access_key = simmod.SECRET_KEY } })
      end
      local trusted = client(ca)
      local out = assert(trusted:call("eks", "DescribeCluster", { name = "am-tls" }))
      assert.are.equal("AWS_MANAGED", out.cluster.resourcesVpcConfig.controlPlaneEgressMode)
      local untrusted = client(nil)
      local _, err = untrusted:call("eks", "DescribeCluster", { name = "am-tls" })
      assert.is_table(err)
      assert.are_not.equal(trusted.engine, untrusted.engine)
      trusted:close()
      untrusted:close()
    end)
  end)
end)
