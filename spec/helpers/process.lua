-- Helper processes for the specs: one way to start a long-lived helper (the
-- simulator, the fault server, soon the CLI under kill -9) and one way to run a
-- short-lived child with a hang guard.
--
--     local proc = require "helpers.process"
--     local h = proc.spawn_and_wait("python3 tools/ekssim/ekssim.py --port 0",
--                                   "ekssim listening on (http://127%.0%.0%.1:(%d+))")
--     -- h.pid, h.port (4242), h.captures = { "http://127.0.0.1:4242", "4242" }, h.log
--     h:stop()
--
--     local r = proc.run_lua([[ ... ]])   -- {status, stdout, stderr}; raises on a hang
--
-- Nothing here talks to the network: the helpers bind 127.0.0.1 themselves.
local core = require "eksegress.core"

local M = {}

-- Valgrind runs set EKSEGRESS_SLOW=1: deadlines (hang detectors, never
-- assertions about speed) get more room.
local SLOW = os.getenv("EKSEGRESS_SLOW") == "1" and 5 or 1

local function read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

--- Is pid a live process (not gone, not a zombie waiting for its reaper)?
-- Variables a sanitizer build needs in every child that loads the C module
-- (make check's ASan pass preloads libasan; see the Makefile): a spec that
-- gives a child an explicit environment passes these through, or the child
-- cannot load core.so there. Outside make check none of them is set.
local SANITIZER_VARS = { "LD_PRELOAD", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS" }

--- Copy the sanitizer variables of this process into env (a table); returns env.
function M.with_sanitizer_env(env)
  for _, k in ipairs(SANITIZER_VARS) do
    local v = os.getenv(k)
    if v and v ~= "" and env[k] == nil then env[k] = v end
  end
  return env
end

function M.alive(pid)
  local stat = read_file("/proc/" .. tostring(pid) .. "/stat")
  if not stat then return false end
  -- "pid (comm) S ...": the state follows the last ')' (comm may hold one).
  local state = stat:match("^.*%) (%a)")
  return state ~= nil and state ~= "Z" and state ~= "X"
end

--- Send a signal ("TERM", "KILL", ...) to pid (a negative pid: its process
-- group); true if it was delivered.
function M.signal(pid, sig)
  return os.execute(("kill -s %s -- %d 2>/dev/null"):format(sig, math.tointeger(pid))) == true
end

local SIGNUM = { HUP = 1, INT = 2, QUIT = 3, KILL = 9, USR1 = 10, USR2 = 12, TERM = 15 }

--- Is signal sig ("INT", ...) sent to pid still waiting to be delivered
-- (/proc/PID/status SigPnd or ShdPnd)? Two signals of one kind sent before the
-- first is delivered arrive as one; a spec that means to send two waits for
-- this to be false in between. False once pid is gone.
function M.signal_pending(pid, sig)
  local status = read_file("/proc/" .. tostring(math.tointeger(pid)) .. "/status")
  if not status then return false end
  local bit = 1 << (assert(SIGNUM[sig], "unknown signal " .. tostring(sig)) - 1)
  for _, key in ipairs{ "SigPnd", "ShdPnd" } do
    local mask = status:match(key .. ":%s*(%x+)")
    if mask and (tonumber(mask, 16) & bit) ~= 0 then return true end
  end
  return false
end

--- Send pid signal sig and wait (a hang guard of 60 s) until it is delivered.
function M.signal_delivered(pid, sig)
  if not M.signal(pid, sig) then return false end
  local deadline = core.monotime() + 60 * SLOW
  while M.signal_pending(pid, sig) do
    assert(core.monotime() < deadline, "signal " .. sig .. " to " .. pid .. " still pending after 60 s")
    core.sleep_ms(2)
  end
  return true
end

-- Wait (bounded) until pid is gone. Returns true when it is.
local function wait_gone(pid, seconds)
  local deadline = core.monotime() + seconds * SLOW
  while M.alive(pid) do
    if core.monotime() > deadline then return false end
    core.sleep_ms(20)
  end
  return true
end

local Handle = {}
Handle.__index = Handle

--- Stop the helper and everything it started (its process group): SIGTERM,
-- then SIGKILL if it has not left within 5 s. Idempotent; returns true once the
-- helper is gone.
function Handle:stop()
  if not self.stopped then
    self.stopped = true
    if M.alive(self.pid) then
      M.signal(-self.pid, "TERM")
      if not wait_gone(self.pid, 5) then
        M.signal(-self.pid, "KILL")
        wait_gone(self.pid, 5)
      end
    end
    os.remove(self.log)
  end
  return not M.alive(self.pid)
end

--- Send the helper itself a signal (default KILL: a crash, as kill -9 makes
-- one); true if delivered. stop() still cleans up afterwards.
function Handle:kill(sig)
  return M.signal(self.pid, sig or "KILL")
end

--- Is the helper still running?
function Handle:alive()
  return M.alive(self.pid)
end

--- Everything the helper printed so far (stdout and stderr).
function Handle:output()
  return read_file(self.log) or ""
end

--- Start cmd in the background, as the leader of a new session and process
-- group (setsid), and wait until its output (stdout and stderr, collected in a
-- log file) matches pattern.
-- @tparam string cmd a simple command (program and arguments, shell-quoted),
--   stdin from /dev/null
-- @tparam string pattern a Lua pattern; its captures are returned
-- @tparam[opt] table opts timeout (seconds to wait for the line, default 20),
--   orphan_guard (default true: a watcher stops the helper when this Lua process
--   is gone, so a spec that dies before stop() leaves nothing running)
-- @return handle { pid, log, captures = {...}, port = the last capture made of
--   digits (as a number) or nil, :stop(), :kill(sig), :alive(), :output() }. Raises, with the
--   helper's output, if it exits or the deadline passes before the line appears
--   (the helper is stopped first).
function M.spawn_and_wait(cmd, pattern, opts)
  opts = opts or {}
  local log = os.tmpname()
  -- $PPID is this Lua process (the parent of the popen shell).
  local guard = opts.orphan_guard == false and "" or
    "(while kill -0 $PPID 2>/dev/null; do sleep 1; done; kill -- -$h 2>/dev/null) >/dev/null 2>&1 </dev/null & "
  -- A background job of a non-interactive shell is not a group leader, so
  -- setsid execs cmd in place: $! is the helper's own pid.
  local p = assert(io.popen(("setsid %s >'%s' 2>&1 </dev/null & h=$!; %secho $h"):format(cmd, log, guard)))
  local pid = math.tointeger(tonumber(p:read("l")))
  p:close()
  assert(pid, "spawn_and_wait: could not start: " .. cmd)
  local h = setmetatable({ pid = pid, log = log, cmd = cmd }, Handle)
  local deadline = core.monotime() + (opts.timeout or 20) * SLOW
  while true do
    local caps = { h:output():match(pattern) }
    if #caps > 0 then
      h.captures = caps
      for i = #caps, 1, -1 do
        if type(caps[i]) == "string" and caps[i]:find("^%d+$") then h.port = tonumber(caps[i]) break end
      end
      return h
    end
    local exited = not h:alive()
    if exited or core.monotime() > deadline then
      local text = h:output()
      h:stop()
      error(("spawn_and_wait: %s %s before printing %q; its output:\n%s"):format(cmd,
        exited and "exited" or "timed out", pattern, text), 2)
    end
    core.sleep_ms(20)
  end
end

--- Run a Lua 5.4 snippet in a child interpreter (same LUA_PATH / LUA_CPATH) with
-- a hang guard: a child still running after timeout_ms (default 60 s) is killed
-- and the spec fails with "hang". The guard detects a hang; it does not measure
-- speed. Returns {status, stdout, stderr}.
function M.run_lua(code, opts)
  opts = opts or {}
  local r, err = core.run_process({ "lua5.4", "-e", code },
    { timeout_ms = (opts.timeout_ms or 60000) * SLOW })
  if not r then
    error(err.code == "ProcessTimeout" and ("hang: the child did not finish (" .. err.message .. ")")
      or tostring(err), 2)
  end
  return r
end

return M
