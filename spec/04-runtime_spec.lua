-- The runtime's scheduler and eksegress.parallel, over real HTTP to the
-- fault server: tasks yield only themselves, nested parallel joins, timers,
-- events, stray yields and misuse.
local core = require "eksegress.core"
local runtime = require "eksegress.runtime"
local parallel = require "eksegress.parallel"
local fsrv = require "helpers.faultserver"

describe("runtime", function()
  local fs, rt
  setup(function()
    fs = fsrv.start()
    rt = assert(runtime.new{ max_attempts = 1 })
  end)
  teardown(function()
    rt:close()
    fs.stop()
  end)

  local function get(path)
    return rt:request{ method = "GET", url = fs.url .. path }
  end

  it("blocks outside a task and returns the response", function()
    local r = assert(get("/ok?k=rt-block"))
    assert.are.equal(200, r.status)
  end)

  it("runs requests of many tasks concurrently", function()
    -- Each request stalls 300 ms; 10 of them in parallel finish together,
    -- which the server sees as 10 requests in flight at once.
    local results, errs = parallel({ 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 }, function(i)
      local r = get("/stall?ms=300&k=rt-par" .. i)
      return r.status
    end, { concurrency = 10, runtime = rt })
    for i = 1, 10 do
      assert.is_nil(errs[i])
      assert.are.equal(200, results[i])
    end
    local stats = require("cjson").decode(get("/stats").body)
    assert.is_true(stats.connections >= 10, "one connection per in-flight request")
  end)

  it("keeps per-item results and errors, including raised errors", function()
    local results, errs = parallel({ "a", "b", "c" }, function(x)
      if x == "b" then error("item b failed") end
      if x == "c" then return nil, { code = "Custom", message = "c" } end
      return x:upper()
    end, { runtime = rt })
    assert.are.equal("A", results[1])
    assert.are.equal("TaskError", errs[2].code)
    assert.matches("item b failed", errs[2].message)
    assert.are.equal("Custom", errs[3].code)
  end)

  it("joins a nested parallel from inside a task without blocking the others", function()
    local events = {}
    local results = parallel({ "outer1", "outer2" }, function(name)
      local inner = parallel({ 1, 2, 3 }, function(i)
        events[#events + 1] = "start " .. name
        local r = get("/stall?ms=200&k=" .. name .. i)
        events[#events + 1] = "end " .. name
        return r.status
      end, { runtime = rt, concurrency = 3 })
      return #inner
    end, { runtime = rt, concurrency = 2 })
    assert.are.same({ 3, 3 }, results)
    -- All six inner requests, of both outer tasks, were in flight before any
    -- finished: a joining outer task did not block the scheduler.
    for i = 1, 6 do assert.matches("^start ", events[i]) end
    for i = 7, 12 do assert.matches("^end ", events[i]) end
  end)

  it("sleeps on scheduler timers inside tasks", function()
    local t0 = core.monotime()
    local woke = {}
    parallel({ 0.2, 0.1, 0.05 }, function(s)
      rt:sleep(s)
      woke[#woke + 1] = s
      return true
    end, { runtime = rt, concurrency = 3 })
    assert.are.same({ 0.05, 0.1, 0.2 }, woke)
    -- Three sleeps ran concurrently: the order proves it, not the clock.
    assert.is_true(core.monotime() - t0 >= 0.2)
  end)

  it("wakes tasks waiting on an event", function()
    local flight = {}
    local seen = {}
    parallel({ "waiter1", "waiter2", "waker" }, function(role)
      if role == "waker" then
        rt:sleep(0.05)
        flight.done = true
        rt:wake(flight)
      else
        rt:wait_on(flight)
        seen[#seen + 1] = role
      end
      return true
    end, { runtime = rt, concurrency = 3 })
    table.sort(seen)
    assert.are.same({ "waiter1", "waiter2" }, seen)
  end)

  it("reports a task that yields outside the runtime instead of hanging", function()
    local _, errs = parallel({ 1 }, function()
      coroutine.yield("stray")
      return true
    end, { runtime = rt })
    assert.are.equal("TaskError", errs[1].code)
  end)

  it("rate-limits without losing calls", function()
    local n = 0
    parallel({ 1, 2, 3, 4, 5, 6 }, function()
      rt:acquire("spec-key", 100, 2)
      n = n + 1
      return true
    end, { runtime = rt, concurrency = 6 })
    assert.are.equal(6, n)
  end)

  it("one engine per engine configuration: shared by users alike, closed when the last lets go", function()
    local a = assert(rt:engine_for{})
    assert.are.equal(rt.engine, a)                       -- no options: the runtime's own engine
    local audit = os.tmpname()
    finally(function() os.remove(audit) end)
    local b = assert(rt:engine_for{ audit_path = audit, backoff_base = 0.01 })
    local c = assert(rt:engine_for{ backoff_base = 0.01, audit_path = audit })
    assert.are.equal(b, c)                               -- same configuration, any order
    assert.are_not.equal(a, b)
    local r = assert(rt:request({ method = "GET", url = fs.url .. "/ok?k=rt-engine-for" }, b))
    assert.are.equal(200, r.status)
    rt:release(b)
    assert.is_false(b:is_closed())
    rt:release(c)
    assert.is_true(b:is_closed())
    rt:release(a)
    assert.is_false(rt.engine:is_closed())               -- the runtime's own engine stays
    assert.has_error(function() rt:request({ method = "GET", url = fs.url .. "/ok" }, b) end,
      "runtime:request: that engine does not belong to this runtime")
  end)

  it("requests on two engines of one runtime run in the same scheduler", function()
    local other = assert(rt:engine_for{ connect_timeout_ms = 2000 })
    finally(function() rt:release(other) end)
    local results = parallel({ 1, 2, 3, 4 }, function(i)
      local r = rt:request({ method = "GET", url = fs.url .. "/stall?ms=200&k=rt-two" .. i },
        i % 2 == 0 and other or nil)
      return r.status
    end, { runtime = rt, concurrency = 4 })
    assert.are.same({ 200, 200, 200, 200 }, results)
  end)

  it("regression: a request, sleep or wait from a task of another runtime raises instead of blocking", function()
    local other = assert(runtime.new{ max_attempts = 1 })
    finally(function() other:close() end)
    local _, errs = parallel({ "request", "sleep", "wait", "join" }, function(kind)
      if kind == "request" then return rt:request{ method = "GET", url = fs.url .. "/ok" } end
      if kind == "sleep" then return rt:sleep(0.01) end
      if kind == "wait" then return rt:wait_on({}) end
      return rt:join({ rt:spawn(function() end) })
    end, { runtime = other })
    for i = 1, 4 do
      assert.are.equal("TaskError", errs[i].code)
      assert.matches("a task of another runtime", errs[i].message)
    end
    rt:run()   -- the task spawned for "join" runs on its own runtime
  end)

  it("parallel inside a task runs on that task's runtime", function()
    local other = assert(runtime.new{ max_attempts = 1 })
    finally(function() other:close() end)
    local seen = parallel({ 1 }, function()
      local inner = parallel({ 1, 2 }, function() return runtime.current() end)
      return inner[1] == other and inner[2] == other
    end, { runtime = other })
    assert.is_true(seen[1])
    assert.is_nil(runtime.current())
  end)

  it("tasks waiting on an event nobody can fire end in Deadlock, not a busy hang", function()
    local _, errs = parallel({ 1 }, function() rt:wait_on({}) end, { runtime = rt })
    assert.are.equal("Deadlock", errs[1].code)
  end)

  it("raises on misuse", function()
    assert.has_error(function() parallel("not a list", function() end) end)
    assert.has_error(function() parallel({}, "not a function") end)
    assert.has_error(function() parallel({ 1 }, function() end, { concurrency = 0 }) end)
  end)
end)
