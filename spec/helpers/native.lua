-- Build and run the project's own C programs (the embedding examples, a host
-- compiled from the documented link line) from a spec, checked for memory
-- errors: under valgrind (zero errors, zero definite leaks) in a plain run,
-- or, in `make asan`'s run, as the instrumented binaries they then are, with
-- LeakSanitizer on. Valgrind cannot run an ASan binary, and the ASan run
-- preloads libasan into every child, so each mode gets its own.
local core = require "eksegress.core"
local simmod = require "helpers.sim"

local M = {}

-- Valgrind runs set EKSEGRESS_SLOW=1 (the hang guard gets more room).
local SLOW = os.getenv("EKSEGRESS_SLOW") == "1" and 5 or 1

--- The build folder of this run (build, build/asan, ...), from LUA_CPATH.
function M.build_dir()
  return (os.getenv("LUA_CPATH") or "build/?.so"):match("^(.-)/%?%.so") or "build"
end

--- Is this `make asan`'s run (libasan preloaded, binaries instrumented)?
function M.asan()
  return (os.getenv("LD_PRELOAD") or ""):find("libasan", 1, true) ~= nil
end

--- Run make with targets (a string) in the repository; the variables of the
-- make that started busted (BUILD, SANITIZE, ...) reach it through MAKEFLAGS.
-- Returns the result of core.run_process.
function M.make(targets)
  return assert(core.run_process("make --no-print-directory -s " .. targets .. " 2>&1",
    { timeout_ms = 600000 }))
end

--- An environment for a child: PATH and HOME, the simulator's credentials
-- and endpoint when sim is given, then extra (false removes a name).
function M.env(sim, extra)
  local env = { PATH = os.getenv("PATH") or "/usr/bin:/bin", HOME = "/nonexistent" }
  if sim then
    env.AWS_ACCESS_KEY_ID, env.AWS_SECRET_ACCESS_KEY = simmod.ACCESS_KEY, simmod.SECRET_KEY
    env.AWS_REGION, env.AWS_ENDPOINT_URL = "us-east-1", sim.url
    env.AWS_CONFIG_FILE, env.AWS_SHARED_CREDENTIALS_FILE = "/nonexistent/config", "/nonexistent/credentials"
    env.AWS_EC2_METADATA_DISABLED = "true"
  end
  for k, v in pairs(extra or {}) do env[k] = v or nil end
  return env
end

local VALGRIND = { "valgrind", "--quiet", "--error-exitcode=99", "--leak-check=full",
  "--errors-for-leak-kinds=definite", "--show-leak-kinds=definite", "--num-callers=30",
  "--trace-children=no", "--suppressions=tools/valgrind.supp" }

--- Run argv (a list) checked for memory errors, with env (a table; it
-- replaces the environment). Returns {status, stdout, stderr, checker}: a
-- memory error is status 99 under valgrind, or an ASan report on stderr.
function M.run_checked(argv, env, timeout_ms)
  local cmd = {}
  env = env or M.env()
  if M.asan() then
    env.ASAN_OPTIONS = "detect_leaks=1:halt_on_error=1:exitcode=99"
    env.UBSAN_OPTIONS = "halt_on_error=1:print_stacktrace=1"
  else
    for _, a in ipairs(VALGRIND) do cmd[#cmd + 1] = a end
  end
  for _, a in ipairs(argv) do cmd[#cmd + 1] = a end
  local r, err = core.run_process(cmd, { env = env, timeout_ms = (timeout_ms or 180000) * SLOW,
    max_output = 8 * 1024 * 1024 })
  if not r then error(err.code == "ProcessTimeout" and "hang: " .. err.message or tostring(err), 2) end
  r.checker = M.asan() and "asan" or "valgrind"
  return r
end

return M
