--- The runtime: a coroutine scheduler over HTTP engines.
--
-- Every request goes through `rt:request(req[, engine])`. Inside a task of the
-- scheduler (see `rt:spawn`, `eksegress.parallel`) it yields only its own
-- coroutine until the engine completes the transfer; anywhere else it drives
-- the engine until that one request is done. So a script reads like a loop of
-- blocking calls while hundreds of requests are in flight.
--
-- One runtime per process is the rule: `runtime.default()` is shared by every
-- client and by `eksegress.parallel`, so calls made inside parallel tasks run
-- concurrently. A runtime holds one engine per distinct engine configuration
-- (`rt:engine_for(opts)`): clients whose options shape the engine (an audit
-- log, a CA bundle, connect timeout, retry backoff) get an engine of their own
-- inside the same scheduler, and clients with the same configuration share
-- one (one connection pool, retry quota, clock offset and guard state).
-- Per-request settings (timeout_ms, max_attempts) never need an engine of
-- their own.
--
-- A task belongs to the runtime that spawned it. A request, sleep or wait
-- from a task of another runtime would block that runtime's scheduler
-- silently, so it raises instead.
--
-- No Lua ever runs inside a libcurl callback: the engines only hand back
-- completed responses, which the scheduler routes to the waiting coroutine.
local core = require "eksegress.core"
local errors = require "eksegress.errors"

local M = {}

local Runtime = { __name = "eksegress.runtime" }
Runtime.__index = Runtime

-- Marker yielded by tasks, so a stray coroutine.yield in user code is told
-- apart from a wait on the runtime.
local WAIT = setmetatable({}, { __name = "eksegress.runtime.wait" })

-- coroutine -> the runtime whose task it is (weak: finished tasks go).
local owner_of = setmetatable({}, { __mode = "k" })

-- When several engines have work, none can wait on the others' sockets: each
-- waits at most this long in turn.
local SHARED_WAIT_MS = 2

-- The engine options that make an engine (see core.engine_new); the key of a
-- configuration is their canonical text.
local ENGINE_OPTIONS = {
  "audit_path", "backoff_base", "backoff_cap", "ca_bundle", "connect_timeout_ms", "insecure",
  "max_attempts", "max_connections", "max_host_connections", "max_response_bytes", "quota_capacity",
  "retry_mode", "seed", "timeout_ms", "use_poll", "user_agent",
}

-- The per-host connection cap of an engine whose configuration sets none:
-- the engine's default, raised to the number of tasks alive at once (each
-- task has at most one request in flight), so `parallel` with a concurrency
-- of 128 gets 128 connections without an option.
local DEFAULT_CONNECTIONS = 64

local function config_key(opts)
  local parts = {}
  for _, k in ipairs(ENGINE_OPTIONS) do
    local v = opts[k]
    if v ~= nil then parts[#parts + 1] = k .. "=" .. string.format("%q", v) end
  end
  return table.concat(parts, "\n")
end

local function new_slot(engine, key, opts)
  -- waiting: request id -> task; stash: request id -> response nobody waits
  -- for yet; inflight: submitted and not yet routed; refs: users (clients);
  -- connections: the per-host cap the runtime set, nil when configured
  local fixed = opts.max_connections ~= nil or opts.max_host_connections ~= nil
  return { engine = engine, key = key, waiting = {}, stash = {}, inflight = 0, refs = 0,
           connections = not fixed and DEFAULT_CONNECTIONS or nil }
end

-- Raise the connection cap of every engine without a configured one to the
-- tasks alive now (never lowered: idle connections cost nothing here).
local function fit_connections(self, slot)
  local want = self.live
  if slot.connections and want > slot.connections then
    slot.engine:set_max_connections(want)
    slot.connections = want
  end
end

--- Create a runtime.
-- @tparam[opt] table opts options of its first engine (timeout_ms,
--   connect_timeout_ms, max_attempts, retry_mode, ca_bundle, audit_path,
--   backoff_base, seed, ...: see core.engine_new)
-- @treturn[1] runtime
-- @treturn[2] nil, err (the engine could not be created)
function M.new(opts)
  opts = opts or {}
  if type(opts) ~= "table" then errors.misuse("runtime.new: options must be a table", 2) end
  local engine, err = core.engine_new(opts)
  if not engine then return nil, err end
  local slot = new_slot(engine, config_key(opts), opts)
  local rt = setmetatable({
    engine = engine,   -- the first engine (raw users, clients with its configuration)
    primary = slot,
    slots = { [slot.key] = slot },
    by_engine = { [engine] = slot },
    ready = {},        -- FIFO of tasks to resume: ready[head .. tail], their values in ready_value
    ready_value = {},
    head = 1, tail = 0,
    timers = {},       -- list of {at = monotime, task = task}, unsorted (small)
    tasks = {},        -- coroutine -> task record
    live = 0,          -- tasks spawned and not finished
    limiters = {},     -- rate limiters by key
    events = {},       -- event key -> list of waiting tasks
    turn = 0,          -- which busy engine waits next when several have work
    busy = {},         -- pump's list of engines with work
  }, Runtime)
  return rt
end

--- True if v is a runtime.
function M.is_runtime(v)
  return getmetatable(v) == Runtime
end

local default_runtime

--- The process-wide runtime (created on first use, again after a close).
function M.default()
  if not default_runtime or default_runtime.engine:is_closed() then
    default_runtime = assert(M.new())
  end
  return default_runtime
end

--- The runtime whose task is running now, or nil outside any task.
function M.current()
  return owner_of[coroutine.running()]
end

local FOREIGN = "eksegress: this call runs in a task of another runtime, whose scheduler it would block; "
  .. "run the calls of a client on the client's runtime (eksegress.parallel(items, fn, "
  .. "{ runtime = client.runtime })) or create the client with runtime = that runtime"

-- The task record of the running coroutine if it is one of ours, nil outside
-- any task; raises for a task of another runtime.
local function own_task(self, level)
  local co, main = coroutine.running()
  if main then return nil end
  local owner = owner_of[co]
  if owner and owner ~= self then errors.misuse(FOREIGN, level + 1) end
  return self.tasks[co]
end

--- The task record of the running coroutine, if it is one of ours.
function Runtime:current_task()
  local co, main = coroutine.running()
  if main then return nil end
  return self.tasks[co]
end

--- The engine for an engine configuration, created on first use; every
-- caller holds a reference until `rt:release(engine)`. No option at all means
-- the runtime's first engine (its own configuration is its users' default).
-- @tparam table opts engine options (as for runtime.new)
-- @treturn[1] engine (pass it to rt:request)
-- @treturn[2] nil, err (the engine could not be created)
function Runtime:engine_for(opts)
  local key = config_key(opts or {})
  local slot = key == "" and self.primary or self.slots[key]
  if not slot then
    local engine, err = core.engine_new(opts)
    if not engine then return nil, err end
    slot = new_slot(engine, key, opts or {})
    self.slots[key] = slot
    self.by_engine[engine] = slot
    fit_connections(self, slot)
  end
  slot.refs = slot.refs + 1
  return slot.engine
end

--- Drop a reference taken by engine_for; an engine nobody uses any more is
-- closed (the runtime's first engine stays until rt:close()).
function Runtime:release(engine)
  local slot = self.by_engine[engine]
  if not slot then return end
  slot.refs = slot.refs - 1
  if slot.refs <= 0 and slot ~= self.primary then
    self.slots[slot.key] = nil
    self.by_engine[engine] = nil
    engine:close()
  end
end

local function push_ready(self, task, value)
  local t = self.tail + 1
  self.tail = t
  self.ready[t], self.ready_value[t] = task, value
end

local function has_ready(self) return self.head <= self.tail end

-- The next task to resume and its value (the queue is not empty).
local function pop_ready(self)
  local h = self.head
  local task, value = self.ready[h], self.ready_value[h]
  self.ready[h], self.ready_value[h] = nil, nil
  if h == self.tail then
    self.head, self.tail = 1, 0
  else
    self.head = h + 1
  end
  return task, value
end

-- Route every completed response of one engine to its waiter (or stash it).
local function drain(self, slot)
  while true do
    local resp = slot.engine:next_done()
    if not resp then return end
    slot.inflight = slot.inflight - 1
    local task = slot.waiting[resp.id]
    if task then
      slot.waiting[resp.id] = nil
      push_ready(self, task, resp)
    else
      slot.stash[resp.id] = resp
    end
  end
end

local function slot_of(self, engine, level)
  local slot = engine == nil and self.primary or self.by_engine[engine]
  if not slot then errors.misuse("runtime:request: that engine does not belong to this runtime", level + 1) end
  return slot
end

--- Submit a request table (see core engine submit) and return its response.
-- Yields the current task, or blocks when called outside the scheduler.
-- @tparam table req the request
-- @param[opt] engine one of this runtime's engines (engine_for); default its first
function Runtime:request(req, engine)
  local slot = slot_of(self, engine, 2)
  local task = own_task(self, 2)
  local id, err = slot.engine:submit(req)
  if not id then return nil, err end
  slot.inflight = slot.inflight + 1
  if task then
    slot.waiting[id] = task
    return coroutine.yield(WAIT, "request", id)
  end
  while true do
    local resp = slot.stash[id]
    if resp then
      slot.stash[id] = nil
      return resp
    end
    local _, serr = slot.engine:step(100)
    if serr then return nil, serr end
    drain(self, slot)
  end
end

--- Wait `seconds` (yielding the task, or blocking outside the scheduler).
function Runtime:sleep(seconds)
  local task = own_task(self, 2)
  if seconds <= 0 then return end
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
  local task = own_task(self, 2)
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
-- (a token bucket holding up to `burst`, at least 1). Waits when empty.
function Runtime:acquire(key, rate, burst)
  if not rate then return end
  if type(rate) ~= "number" or rate ~= rate or rate <= 0 then
    errors.misuse("runtime:acquire: rate must be a positive number", 2)
  end
  burst = burst or math.max(1, rate)
  if type(burst) ~= "number" or burst ~= burst or burst < 1 then
    errors.misuse("runtime:acquire: burst must be a number of at least 1", 2)
  end
  local lim = self.limiters[key]
  local now = core.monotime()
  if not lim then
    lim = { tokens = burst, at = now }
    self.limiters[key] = lim
  end
  while true do
    lim.tokens = math.min(burst, lim.tokens + (now - lim.at) * rate)
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
  owner_of[task.co] = self
  self.live = self.live + 1
  if self.live > DEFAULT_CONNECTIONS then
    for _, slot in pairs(self.slots) do fit_connections(self, slot) end
  end
  push_ready(self, task, nil)
  return task
end

local function fire_timers(self)
  if #self.timers == 0 then return nil end
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

-- Drive the engines that have work for at most wait_ms (sleep that long when
-- none has and a timer is due). Returns the number of engines with work, or
-- nil, err.
local function pump(self, wait_ms, timer)
  local busy, n = self.busy, 0   -- reused: this runs on every wake-up
  for _, slot in pairs(self.slots) do
    if slot.inflight > 0 then n = n + 1; busy[n] = slot end
  end
  for i = #busy, n + 1, -1 do busy[i] = nil end
  if n == 0 then
    if timer and wait_ms > 0 then core.sleep_ms(wait_ms) end
    return 0
  end
  if n == 1 then
    local _, err = busy[1].engine:step(wait_ms)
    if err then return nil, err end
    drain(self, busy[1])
    return 1
  end
  for _, slot in ipairs(busy) do
    local _, err = slot.engine:step(0)
    if err then return nil, err end
    drain(self, slot)
  end
  if not has_ready(self) and wait_ms > 0 then
    self.turn = self.turn % #busy + 1
    local slot = busy[self.turn]
    local _, err = slot.engine:step(math.min(wait_ms, SHARED_WAIT_MS))
    if err then return nil, err end
    drain(self, slot)
  end
  return #busy
end

--- Run the scheduler until `done()` is true (default: no task left).
-- Must be called outside any task.
function Runtime:run(done)
  done = done or function() return self.live == 0 end
  local co, main = coroutine.running()
  if not main and owner_of[co] then
    errors.misuse("runtime:run() called from inside a task; use runtime:join()", 2)
  end
  while not done() do
    if has_ready(self) then
      resume(self, pop_ready(self))
    else
      local wait = fire_timers(self)
      if not has_ready(self) then
        local busy, serr = pump(self, math.floor(math.min(wait or 0.2, 0.2) * 1000), wait ~= nil)
        if not busy then return nil, serr end
        if busy == 0 and not wait and not has_ready(self) and not done() then
          -- Nothing in flight, no timer, nothing to resume: no one can ever
          -- wake the tasks that are left.
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
  local me = own_task(self, 2)
  -- Count the tasks down as they finish (no scan of the list per step).
  for _, t in ipairs(tasks) do
    if not t.done then
      local prev = t.on_done
      t.on_done = function(task)
        if prev then prev(task) end
        remaining = remaining - 1
        if remaining == 0 and me then push_ready(self, me, nil) end
      end
    end
  end
  if not me then
    return self:run(function() return remaining == 0 end)
  end
  coroutine.yield(WAIT, "join")
  return true
end

--- Close every engine (in-flight requests are dropped).
function Runtime:close()
  for _, slot in pairs(self.slots) do slot.engine:close() end
end

function Runtime:__tostring()
  local n = 0
  for _ in pairs(self.slots) do n = n + 1 end
  return ("eksegress.runtime (%d engine%s, %d task%s)"):format(n, n == 1 and "" or "s",
    self.live, self.live == 1 and "" or "s")
end

M.Runtime = Runtime
return M
