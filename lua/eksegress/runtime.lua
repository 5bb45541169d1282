--- The runtime: one HTTP engine and a coroutine scheduler over it.
--
-- Every request goes through `rt:request(req)`. Inside a task of the
-- scheduler (see `rt:spawn`, `eksegress.parallel`) it yields only its own
-- coroutine until the engine completes the transfer; anywhere else it drives
-- the engine until that one request is done. So a script reads like a loop of
-- blocking calls while hundreds of requests are in flight.
--
-- No Lua ever runs inside a libcurl callback: the engine only hands back
-- completed responses, which the scheduler routes to the waiting coroutine.
local core = require "eksegress.core"
local errors = require "eksegress.errors"

local M = {}

local Runtime = {}
Runtime.__index = Runtime

-- Marker yielded by tasks, so a stray coroutine.yield in user code is told
-- apart from a wait on the runtime.
local WAIT = setmetatable({}, { __name = "eksegress.runtime.wait" })

--- Create a runtime.
-- @tparam[opt] table opts engine options (timeout_ms, connect_timeout_ms,
--   max_attempts, retry_mode, ca_bundle, audit_path, backoff_base, seed, ...)
function M.new(opts)
  local engine, err = core.engine_new(opts or {})
  if not engine then return nil, err end
  return setmetatable({
    engine = engine,
    waiting = {},      -- request id -> task waiting for it
    stash = {},        -- request id -> response nobody waits for yet
    ready = {},        -- FIFO of {task, value} to resume
    timers = {},       -- list of {at = monotime, task = task}, unsorted (small)
    tasks = {},        -- coroutine -> task record
    live = 0,          -- tasks spawned and not finished
    limiters = {},     -- rate limiters by key
    events = {},       -- event key -> list of waiting tasks
  }, Runtime)
end

local default_runtime

--- The process-wide default runtime (created on first use).
function M.default()
  if not default_runtime or default_runtime.engine:is_closed() then
    default_runtime = assert(M.new())
  end
  return default_runtime
end

--- The task record of the running coroutine, if it is one of ours.
function Runtime:current_task()
  local co, main = coroutine.running()
  if main then return nil end
  return self.tasks[co]
end

local function push_ready(self, task, value)
  self.ready[#self.ready + 1] = { task = task, value = value }
end

-- Route every completed response to its waiter (or stash it).
local function drain(self)
  while true do
    local resp = self.engine:next_done()
    if not resp then return end
    local task = self.waiting[resp.id]
    if task then
      self.waiting[resp.id] = nil
      push_ready(self, task, resp)
    else
      self.stash[resp.id] = resp
    end
  end
end

--- Submit a request table (see core engine submit) and return its response.
-- Yields the current task, or blocks when called outside the scheduler.
function Runtime:request(req)
  local id, err = self.engine:submit(req)
  if not id then return nil, err end
  local task = self:current_task()
  if task then
    self.waiting[id] = task
    return coroutine.yield(WAIT, "request", id)
  end
  while true do
    local resp = self.stash[id]
    if resp then
      self.stash[id] = nil
      return resp
    end
    local _, serr = self.engine:step(100)
    if serr then return nil, serr end
    drain(self)
  end
end

--- Wait `seconds` (yielding the task, or blocking outside the scheduler).
function Runtime:sleep(seconds)
  if seconds <= 0 then return end
  local task = self:current_task()
  if task then
    self.timers[#self.timers + 1] = { at = core.monotime() + seconds, task = task }
    coroutine.yield(WAIT, "sleep")
    return
  end
  core.sleep_ms(math.ceil(seconds * 1000))
end

--- Wait until `rt:wake(key)`: yields the task. Outside a task it runs the
-- scheduler until `key.done` is set (the waker's task runs meanwhile).
function Runtime:wait_on(key)
  local task = self:current_task()
  if task then
    local list = self.events[key]
    if not list then
      list = {}
      self.events[key] = list
    end
    list[#list + 1] = task
    coroutine.yield(WAIT, "event")
    return
  end
  local ok, err = self:run(function() return key.done end)
  if not ok then error(err, 0) end
end

--- Wake every task waiting on `key`.
function Runtime:wake(key)
  local list = self.events[key]
  self.events[key] = nil
  for _, t in ipairs(list or {}) do push_ready(self, t, nil) end
end

--- Client-side rate limit: at most `rate` acquisitions per second per key
-- (a token bucket with burst `burst`). Waits when empty.
function Runtime:acquire(key, rate, burst)
  if not rate or rate <= 0 then return end
  local lim = self.limiters[key]
  local now = core.monotime()
  if not lim then
    lim = { tokens = burst or rate, at = now }
    self.limiters[key] = lim
  end
  while true do
    lim.tokens = math.min(burst or rate, lim.tokens + (now - lim.at) * rate)
    lim.at = now
    if lim.tokens >= 1 then
      lim.tokens = lim.tokens - 1
      return
    end
    self:sleep((1 - lim.tokens) / rate)
    now = core.monotime()
  end
end

-- Resume a task with a value; record its end when it finishes.
local function resume(self, task, value)
  local ok, a, b, c = coroutine.resume(task.co, value)
  if not ok then
    task.done, task.ok, task.result = true, false, a
  elseif coroutine.status(task.co) == "dead" then
    task.done, task.ok, task.result, task.err = true, true, a, b
  elseif a ~= WAIT then
    task.done, task.ok = true, false
    task.result = "a task yielded outside the eksegress runtime (coroutine.yield in user code)"
  else
    local _ = b and c   -- kind and request id are routed by request()/sleep()
    return
  end
  self.tasks[task.co] = nil
  self.live = self.live - 1
  if task.on_done then task.on_done(task) end
end

--- Spawn fn(...) as a task. Returns the task record; `task.done`, `task.ok`,
-- `task.result`, `task.err` are set when it finishes.
function Runtime:spawn(fn, ...)
  local args = table.pack(...)
  local task = {}
  task.co = coroutine.create(function() return fn(table.unpack(args, 1, args.n)) end)
  self.tasks[task.co] = task
  self.live = self.live + 1
  push_ready(self, task, nil)
  return task
end

local function fire_timers(self)
  local now = core.monotime()
  local nearest
  local i = 1
  while i <= #self.timers do
    local t = self.timers[i]
    if t.at <= now then
      table.remove(self.timers, i)
      push_ready(self, t.task, nil)
    else
      nearest = (not nearest or t.at < nearest) and t.at or nearest
      i = i + 1
    end
  end
  return nearest and (nearest - now) or nil
end

--- Run the scheduler until `done()` is true (default: no task left).
-- Must be called outside any task.
function Runtime:run(done)
  done = done or function() return self.live == 0 end
  if self:current_task() then
    errors.misuse("runtime:run() called from inside a task; use runtime:join()", 2)
  end
  while not done() do
    if #self.ready > 0 then
      local r = table.remove(self.ready, 1)
      resume(self, r.task, r.value)
    else
      local wait = fire_timers(self)
      if #self.ready == 0 then
        local pending, serr = self.engine:step(math.floor(math.min(wait or 0.2, 0.2) * 1000))
        if serr then return nil, serr end
        drain(self)
        if pending == 0 and #self.ready == 0 and not wait and self.engine:done_count() == 0
           and next(self.waiting) == nil and next(self.events) == nil and not done() then
          return nil, errors.new("Deadlock", "runtime: tasks are waiting on nothing")
        end
      end
    end
  end
  return true
end

--- Wait until every task in `tasks` has finished: yields when called from a
-- task (the scheduler keeps running the others), runs the scheduler otherwise.
function Runtime:join(tasks)
  local remaining = 0
  for _, t in ipairs(tasks) do if not t.done then remaining = remaining + 1 end end
  if remaining == 0 then return true end
  local me = self:current_task()
  if not me then
    return self:run(function()
      for _, t in ipairs(tasks) do if not t.done then return false end end
      return true
    end)
  end
  for _, t in ipairs(tasks) do
    if not t.done then
      local prev = t.on_done
      t.on_done = function(task)
        if prev then prev(task) end
        remaining = remaining - 1
        if remaining == 0 then push_ready(self, me, nil) end
      end
    end
  end
  coroutine.yield(WAIT, "join")
  return true
end

--- Close the engine (in-flight requests are dropped).
function Runtime:close()
  self.engine:close()
end

M.Runtime = Runtime
return M
