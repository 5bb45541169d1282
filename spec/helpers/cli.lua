-- Run bin/eksegress as a separate process against the simulator, with a hang
-- guard and a clean environment (no profile, no metadata service, nothing
-- outside 127.0.0.1).
--
--     local cli = require "helpers.cli"
--     local r = cli.run(sim, { "preflight", "--cluster", "prod-api" })   -- {status, stdout, stderr}
local core = require "eksegress.core"
local simmod = require "helpers.sim"

local M = {}

local SLOW = os.getenv("EKSEGRESS_SLOW") == "1" and 5 or 1

--- The environment of the CLI process: the simulator's default keys and
-- us-east-1, overridden by `extra` (false removes a variable). Without a
-- simulator (sim nil) no endpoint is set: for commands that send nothing.
function M.env(sim, extra)
  local t = {
    PATH = os.getenv("PATH") or "/usr/bin:/bin", HOME = "/nonexistent", LANG = "C",
    AWS_ACCESS_KEY_ID = simmod.ACCESS_KEY, AWS_SECRET_ACCESS_KEY = simmod.SECRET_KEY, AWS_REGION = "us-east-1",
    AWS_ENDPOINT_URL = sim and sim.url, AWS_CONFIG_FILE = "/nonexistent/config",
    AWS_SHARED_CREDENTIALS_FILE = "/nonexistent/credentials", AWS_EC2_METADATA_DISABLED = "true",
  }
  for k, v in pairs(extra or {}) do t[k] = v or nil end
  return t
end

--- The shell words of `env NAME=value ... lua5.4 bin/eksegress args...` (for
-- process.spawn_and_wait, which takes a command line).
function M.command(sim, args, extra)
  local words = { "env", "-i" }
  local env = M.env(sim, extra)
  local names = {}
  for k in pairs(env) do names[#names + 1] = k end
  table.sort(names)
  for _, k in ipairs(names) do words[#words + 1] = k .. "=" .. env[k] end
  words[#words + 1] = "lua5.4"
  words[#words + 1] = "bin/eksegress"
  for _, a in ipairs(args) do words[#words + 1] = a end
  for i, w in ipairs(words) do words[i] = "'" .. w:gsub("'", "'\\''") .. "'" end
  return table.concat(words, " ")
end

--- Run the CLI to its end. Raises on a hang (60 s).
function M.run(sim, args, extra)
  local argv = { "lua5.4", "bin/eksegress" }
  for _, a in ipairs(args) do argv[#argv + 1] = a end
  local r, err = core.run_process(argv, { env = M.env(sim, extra), timeout_ms = 60000 * SLOW })
  if not r then error("eksegress did not finish: " .. tostring(err), 2) end
  return r
end

--- The lines of a text, without the empty last one.
function M.lines(s)
  local out = {}
  for line in s:gmatch("([^\n]*)\n") do out[#out + 1] = line end
  return out
end

return M
