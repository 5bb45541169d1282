-- End-to-end runs of the examples against the simulator, as a user would
-- run them: a separate lua5.4 process configured only by environment.
local simmod = require "helpers.sim"

local function run(sim, script, args, extra_env)
  local env = ("AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY='%s' AWS_ENDPOINT_URL=%s "
    .. "AWS_CONFIG_FILE=/nonexistent AWS_SHARED_CREDENTIALS_FILE=/nonexistent AWS_EC2_METADATA_DISABLED=true ")
    :format(simmod.ACCESS_KEY, simmod.SECRET_KEY, sim.url)
    .. ("LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='%s' "):format(os.getenv("LUA_CPATH") or "build/?.so;;")
    .. (extra_env or "")
  local p = assert(io.popen(env .. "lua5.4 " .. script .. " " .. (args or "") .. " 2>&1"))
  local out = p:read("a")
  local ok, _, code = p:close()
  return out, ok and 0 or code
end

describe("examples", function()
  local sim
  setup(function() sim = simmod.start("--time-scale 0") end)
  teardown(function() sim:stop() end)

  it("list_clusters.lua describes every cluster of four regions (issue 5)", function()
    local out, code = run(sim, "examples/list_clusters.lua", "us-east-1 us-west-2 eu-west-1 af-south-1")
    assert.are.equal(0, code, out)
    local lines = {}
    for line in out:gmatch("[^\n]+") do lines[#lines + 1] = line end
    table.sort(lines)
    assert.are.same({
      "eu-west-1\tedge-eu\tACTIVE\tAWS_MANAGED",
      "eu-west-1\tlocked-eu\tACTIVE\tAWS_MANAGED",
      "eu-west-1\tweb-eu\tACTIVE\tAWS_MANAGED",
      "us-east-1\tlegacy-batch\tACTIVE\tAWS_MANAGED",
      "us-east-1\told-api\tACTIVE\tUNKNOWN",
      "us-east-1\tprod-api\tACTIVE\tAWS_MANAGED",
      "us-east-1\tprod-routed\tACTIVE\tCUSTOMER_ROUTED",
      "us-west-2\tanalytics\tACTIVE\tAWS_MANAGED",
      "us-west-2\tisolated-lab\tACTIVE\tCUSTOMER_ISOLATED",
      "us-west-2\tpayments\tACTIVE\tAWS_MANAGED",
    }, lines)
    -- Every cluster was described exactly once, concurrently.
    local log = sim:admin("GET", "/_sim/log")
    local describes = 0
    for _, r in ipairs(log.requests) do
      if r.operation == "DescribeCluster" then describes = describes + 1 end
    end
    assert.are.equal(10, describes)
  end)

  it("list_clusters.lua reports a region it cannot read without losing the others", function()
    local out, code = run(sim, "examples/list_clusters.lua", "us-east-1 sa-east-1")
    assert.are.equal(0, code, out)
    assert.matches("sa%-east%-1\tERROR\t.*AccessDenied", out)
    assert.matches("us%-east%-1\tprod%-api", out)
  end)

  -- Issue 9, 1b: the examples as written are concurrent. The simulator holds
  -- every DescribeCluster answer until 32 are in flight (Sim:reset_stats)
  -- and counts the requests it handles at once (GET /_sim/stats); calls made
  -- one after another would leave that count at 1 (and the hold times out).
  describe("concurrently, as written", function()
    local slow
    setup(function()
      slow = simmod.start("--time-scale 0 --latency-ms 100 "
        .. "--generate 'clusters=160,accounts=1,regions=4,seed=5,defects=0'")
    end)
    teardown(function() slow:stop() end)

    it("regression: examples/list_clusters.lua keeps its describes of several regions in flight at once", function()
      slow:reset_stats(32, { "eks:DescribeCluster" })
      -- no arguments: the example's own four regions, which the fleet fills with 40 clusters each
      local out, code = run(slow, "examples/list_clusters.lua")
      assert.are.equal(0, code, out)
      local n = 0
      for _ in out:gmatch("[^\n]+") do n = n + 1 end
      assert.are.equal(160, n, out)
      local stats = slow:admin("GET", "/_sim/stats")
      assert.are.equal(4 + 160 + 1, stats.requests)
      -- 16 describes per region, four regions at once: at least two regions' worth overlapped
      assert.is_true(stats.in_flight_max >= 32, "in flight at once: " .. stats.in_flight_max)
    end)

    it("regression: the README's parallel example keeps 32 calls in flight", function()
      local readme = assert(io.open("README.md")):read("a")
      local block
      for code in readme:gmatch("```lua\n(.-)```") do
        if code:find("eksegress.parallel(names", 1, true) then block = code end
      end
      assert.is_string(block, "README has the parallel example")
      local path = os.tmpname()
      finally(function() os.remove(path) end)
      local f = assert(io.open(path, "w"))
      -- the block exactly as written, then a check of what it produced
      f:write(block, "\nfor i = 1, #names do assert(results[i], tostring(errs[i])) end\nprint(#names)\n")
      f:close()
      slow:reset_stats(32, { "eks:DescribeCluster" })
      local out, code = run(slow, path, "", "AWS_REGION=us-west-2 ")
      assert.are.equal(0, code, out)
      assert.are.equal("40\n", out)
      local stats = slow:admin("GET", "/_sim/stats")
      assert.are.equal(1 + 40 + 1, stats.requests)
      assert.is_true(stats.in_flight_max >= 32, "in flight at once: " .. stats.in_flight_max)
    end)
  end)
end)
