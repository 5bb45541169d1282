-- The engine keeps many requests in flight from one thread (issue 14),
-- proved by the server and not by a clock: the simulator counts the requests
-- it holds at once (GET /_sim/stats) while every answer waits until that
-- many are in flight (Sim:reset_stats(n)) and --latency-ms, and
-- /proc/self/status says how many threads this process runs meanwhile.
local eksegress = require "eksegress"
local core = require "eksegress.core"
local simmod = require "helpers.sim"

-- Long enough for every request to be sent before the first answer, even
-- under valgrind (EKSEGRESS_SLOW).
local LATENCY_MS = os.getenv("EKSEGRESS_SLOW") and 2500 or 400

local function threads()
  for line in io.lines("/proc/self/status") do
    local n = line:match("^Threads:%s*(%d+)")
    if n then return tonumber(n) end
  end
end

describe("the engine keeps N requests in flight with one thread (issue 14)", function()
  local sim, names
  setup(function()
    sim, names = simmod.start_fleet(200, ("--latency-ms %d --no-k8s"):format(LATENCY_MS))
  end)
  teardown(function() sim:stop() end)

  local function stats() return sim:admin("GET", "/_sim/stats") end
  -- n: hold the answers until n requests are in flight (regression: a raw engine's
  -- 150 requests did not all reach a loaded simulator within the latency window).
  local function reset(n) sim:reset_stats(n) end

  -- DescribeCluster of the first n clusters through client in parallel;
  -- every call must succeed with its own cluster.
  local function describe_first(client, n, concurrency, before_call)
    local results, errs = eksegress.parallel({ table.unpack(names, 1, n) }, function(name)
      if before_call then before_call() end
      return client:call("eks", "DescribeCluster", { name = name })
    end, { concurrency = concurrency })
    for i = 1, n do
      assert.is_nil(errs[i], tostring(errs[i]))
      assert.are.equal(names[i], results[i].cluster.name)
    end
  end

  it("regression: parallel with concurrency 128 and no option keeps 128 requests in flight "
    .. "(one host used to be capped at 64 connections)", function()
    local client = sim:client{ env_extra = { AWS_REGION = "us-west-2" } }
    local most_threads = 0
    reset(128)
    describe_first(client, 128, 128, function() most_threads = math.max(most_threads, threads()) end)
    local s = stats()
    assert.is_true(s.in_flight_max >= 128, "in flight at once: " .. s.in_flight_max)
    assert.are.equal(1, most_threads)
    local per_host = client.engine:max_connections()
    assert.is_true(per_host >= 128, "per-host connection cap: " .. per_host)
    client:close()
  end)

  for _, backend in ipairs{ "epoll", "poll" } do
    it("a raw engine drives 150 signed requests at once from one thread (" .. backend .. ")", function()
      local client = sim:client{ env_extra = { AWS_REGION = "us-west-2" } }
      local e = assert(core.engine_new{ max_connections = 150, use_poll = backend == "poll" })
      finally(function() e:close() client:close() end)
      reset(150)
      local ids = {}
      for i = 1, 150 do
        local p = assert(client:prepare("eks", "DescribeCluster", { name = names[i] }))
        local id = assert(e:submit{
          method = p.method, url = p.url, headers = p.headers, body = p.body, sign = true,
          region = p.signing_region, service = p.signing_name,
          access_key_id = simmod.ACCESS_KEY, secret_access_key = simmod.SECRET_KEY,
        })
        ids[id] = names[i]
      end
      local got, most_threads = 0, 0
      while got < 150 do
        local pending = assert(e:step(100))
        most_threads = math.max(most_threads, threads())
        for resp in e.next_done, e do
          assert.are.equal(200, resp.status, resp.body)
          assert.truthy(resp.body:find('"name":"' .. ids[resp.id] .. '"', 1, true), resp.body)
          got = got + 1
        end
        assert.is_true(pending > 0 or got == 150)
      end
      assert.are.equal(150, stats().in_flight_max)
      assert.are.equal(1, most_threads)
    end)
  end

  it("max_connections caps what is in flight, and every call still completes", function()
    local client = sim:client{ env_extra = { AWS_REGION = "us-west-2" }, max_connections = 6 }
    reset()
    describe_first(client, 40, 32)
    local s = stats()
    assert.is_true(s.in_flight_max <= 6, "in flight at once: " .. s.in_flight_max)
    assert.are.equal(41, s.requests)   -- the stats request counts itself
    assert.are.same({ 6, 6 }, { client.engine:max_connections() })
    client:close()
  end)

  it("the CLI's --max-connections reaches the engine; a bad value is a usage error", function()
    local small = simmod.start("--time-scale 0 --latency-ms 100 --no-k8s "
      .. "--generate 'clusters=12,accounts=1,regions=us-west-2,seed=9,defects=0'")
    finally(function() small:stop() end)
    local cli = require "eksegress.cli"
    local function run(argv)
      local out, err = {}, {}
      local sink = function(t) return { write = function(_, ...) for _, x in ipairs{ ... } do t[#t + 1] = x end end,
                                        flush = function() end } end
      local code = cli.main(argv, { stdout = sink(out), stderr = sink(err), env = small:env{ AWS_REGION = "us-west-2" },
                                    no_signals = true })
      return code, table.concat(out), table.concat(err)
    end
    local code, _, err = run{ "--max-connections", "0", "audit" }
    assert.are.equal(64, code)
    assert.matches("--max-connections must be an integer from 1", err, 1, true)
    code = select(1, run{ "audit", "--max-connections", "x" })
    assert.are.equal(64, code)
    small:reset_stats(2, { "eks:DescribeCluster" })
    local out
    code, out, err = run{ "audit", "--regions", "us-west-2", "--concurrency", "8", "--max-connections", "3",
                          "--output", "json" }
    assert.are.equal(0, code, err)
    assert.are.equal(12, #require("cjson").decode(out).clusters)
    local s = small:admin("GET", "/_sim/stats")
    assert.is_true(s.in_flight_max <= 3 and s.in_flight_max >= 2, "in flight at once: " .. s.in_flight_max)
  end)

  it("misuse of the connection caps raises", function()
    local e = assert(core.engine_new())
    finally(function() e:close() end)
    assert.has_error(function() e:set_max_connections(-1) end)
    assert.has_error(function() e:set_max_connections(4, -1) end)
    assert.has_error(function() e:set_max_connections(2000000) end)
    assert.has_error(function() core.engine_new{ max_connections = -2 } end)
    assert.has_error(function() eksegress.client{ max_connections = 0 } end)
    assert.is_true(e:set_max_connections(10, 20))
    assert.are.same({ 10, 20 }, { e:max_connections() })
  end)
end)
