-- The C embedding examples (examples/embed), built by `make embed` and run
-- against the simulator as a host would run them, checked for memory errors
-- (valgrind: zero errors, zero definite leaks; in the ASan run, ASan + LSan).
local simmod = require "helpers.sim"
local native = require "helpers.native"
local fixtures = require "helpers.fixtures"

local ACCOUNT = "111122223333"

-- The simulator's ground truth: "region name mode" of every cluster of the
-- caller's account, by region.
local function truth(sim)
  local by_region = {}
  for _, c in ipairs(sim:admin("GET", "/_sim/state").clusters) do
    if c.account == ACCOUNT then
      local list = by_region[c.region] or {}
      by_region[c.region] = list
      list[#list + 1] = c
    end
  end
  return by_region
end

-- The mode a DescribeCluster shows (an old-API cluster has none: UNKNOWN).
local function mode_of(c)
  return c.omit_mode and "UNKNOWN" or c.mode
end

local function count_ops(sim, op)
  local n = 0
  for _, r in ipairs(sim:admin("GET", "/_sim/log").requests) do
    if r.operation == op then n = n + 1 end
  end
  return n
end

local function lines(text)
  local t = {}
  for line in text:gmatch("[^\n]+") do t[#t + 1] = line end
  return t
end

describe("C embedding examples (examples/embed)", function()
  local sim, build
  setup(function()
    local r = native.make("embed")
    assert(r.status == 0, "make embed failed:\n" .. r.stdout)
    build = native.build_dir()
    sim = simmod.start("--time-scale 0")
  end)
  teardown(function() if sim then sim:stop() end end)

  it("host.c audits the simulator from one binary: every cluster, the denied region under errors", function()
    local tmp, cleanup = fixtures.tmpdir()
    finally(cleanup)
    -- No Lua path leads to the modules: they come from the binary itself.
    local r = native.run_checked({ build .. "/examples/embed/host", sim.url },
      native.env(sim, { LUA_PATH = tmp .. "/?.lua;;", LUA_CPATH = false }))
    assert.are.equal(2, r.status, r.stdout .. r.stderr)     -- a region was denied: exit 2
    local got, expected, nonc = {}, {}, 0
    for _, line in ipairs(lines(r.stdout)) do
      local rest = line:match("^noncompliant\t(.*)$")
      if rest then got[#got + 1] = rest end
    end
    for region, list in pairs(truth(sim)) do
      for _, c in ipairs(list) do
        local mode = mode_of(c)
        if region ~= "sa-east-1" and mode ~= "CUSTOMER_ROUTED" then
          expected[#expected + 1] = table.concat({ ACCOUNT, region, c.name, mode }, "\t")
          nonc = nonc + 1
        end
      end
    end
    table.sort(got)
    table.sort(expected)
    assert.is_true(nonc > 3)
    assert.are.same(expected, got)
    assert.matches("\nerror\t" .. ACCOUNT .. "\tsa%-east%-1\t%-\tAccessDeniedException\t", r.stdout)
    assert.matches("modules from memory", r.stdout)
    assert.matches(("audit: %%d+ clusters, 1 compliant, %d not CUSTOMER_ROUTED, 1 errors"):format(nonc), r.stdout)
  end)

  it("host.c's log sink is a C function; it prints no secret", function()
    local r = native.run_checked({ build .. "/examples/embed/host", "-v", sim.url, "us-east-1" }, native.env(sim))
    assert.are.equal(1, r.status, r.stdout .. r.stderr)     -- clusters not yet CUSTOMER_ROUTED: exit 1
    local wire = 0
    for _, line in ipairs(lines(r.stderr)) do
      if line:find("^wire: ") then wire = wire + 1 end
    end
    assert.is_true(wire >= 6, r.stderr)    -- ListClusters, DescribeCluster x4: requests and responses
    assert.is_nil((r.stdout .. r.stderr):find(simmod.SECRET_KEY, 1, true))
    assert.is_nil((r.stdout .. r.stderr):find("Signature=", 1, true))
  end)

  it("host.c refuses bad usage with 64 and a usage line", function()
    local r = native.run_checked({ build .. "/examples/embed/host" }, native.env())
    assert.are.equal(64, r.status)
    assert.matches("^usage: ", r.stderr)
  end)

  it("threads.c runs scripts in several lua_States on several threads of one long-lived host", function()
    local before = count_ops(sim, "DescribeCluster")
    local lua_dir = assert(io.popen("pwd")):read("l") .. "/lua"
    local r = native.run_checked({ build .. "/examples/embed/threads", lua_dir, sim.url, "3", "2" }, native.env(sim))
    assert.are.equal(0, r.status, r.stdout .. r.stderr)
    local by_region = truth(sim)
    local jobs, threads = 0, {}
    local described = 0
    for _, line in ipairs(lines(r.stdout)) do
      local n, thread, region, count, text = line:match("^job (%d+) thread (%d+) ([%w-]+): (%d+) clusters (.*)$")
      if n then
        jobs = jobs + 1
        threads[thread] = true
        local want = {}
        for _, c in ipairs(by_region[region]) do want[#want + 1] = c.name .. "=" .. mode_of(c) end
        table.sort(want)
        assert.are.equal(table.concat(want, " "), text, line)
        assert.are.equal(#want, tonumber(count))
        described = described + #want
      end
    end
    assert.are.equal(6, jobs, r.stdout)
    -- Every worker held a job at the barrier: three states ran at once.
    local used = 0
    for _ in pairs(threads) do used = used + 1 end
    assert.are.equal(3, used)
    assert.matches(("jobs: 6, threads used: 3, clusters described: %d"):format(described), r.stdout)
    -- Each job described each cluster of its region exactly once.
    assert.are.equal(described, count_ops(sim, "DescribeCluster") - before)
  end)
end)
