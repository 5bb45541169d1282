-- Start and stop the bundled simulator (tools/ekssim) for a spec file.
-- The simulator binds 127.0.0.1 only; nothing here ever reaches AWS.
local cjson = require "cjson"
local proc = require "helpers.process"

local M = {}

M.ACCESS_KEY = "AKIDEXAMPLE"
M.SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

local function python()
  return os.getenv("EKSEGRESS_PYTHON") or "python3"
end

local Sim = {}
Sim.__index = Sim

--- Start the simulator with extra command-line arguments (a string).
-- Waits until it prints its listening line (at most 20 s).
function M.start(args)
  local h = proc.spawn_and_wait(("%s tools/ekssim/ekssim.py --port 0 %s"):format(python(), args or ""),
    "ekssim listening on (http://127%.0%.0%.1:(%d+))")
  return setmetatable({ pid = h.pid, url = h.captures[1], port = h.port, log = h.log, handle = h, rt = nil }, Sim)
end

--- Start the simulator with a generated fleet of n clusters in one account,
-- all in us-west-2 (extra: more command-line arguments), and list their
-- names through a client. Returns the simulator and the names.
function M.start_fleet(n, extra)
  local sim = M.start(("--time-scale 0 %s --generate 'clusters=%d,accounts=1,regions=us-west-2,seed=5,defects=0'")
    :format(extra or "", n))
  local c = sim:client{ env_extra = { AWS_REGION = "us-west-2" } }
  local names = assert(c:collect("eks", "ListClusters", {}))
  assert(#names == n, ("the simulator lists %d clusters, not %d"):format(#names, n))
  return sim, names
end

function Sim:stop()
  if self.rt then self.rt:close() self.rt = nil end
  self.handle:stop()
end

-- A private runtime for admin calls (never retries).
function Sim:runtime()
  if not self.rt then self.rt = assert(require("eksegress.runtime").new{ max_attempts = 1 }) end
  return self.rt
end

--- GET/POST an admin path (/_sim/...), returning the decoded JSON body.
function Sim:admin(method, path, body)
  local resp = assert(self:runtime():request{
    method = method, url = self.url .. path, body = body and cjson.encode(body) or nil,
    headers = body and { { "Content-Type", "application/json" } } or nil,
  })
  assert(not resp.error, resp.error and tostring(resp.error))
  assert(resp.status == 200, "admin " .. path .. " -> HTTP " .. tostring(resp.status) .. ": " .. resp.body)
  return cjson.decode(resp.body)
end

--- Restart the simulator's request counts (GET /_sim/stats). With n, also hold
-- every answer (of the operations in ops, e.g. { "eks:DescribeCluster" }; all
-- when nil) until n requests have been in flight at once: callers that really
-- overlap then always drive in_flight_max to n, however loaded the machine,
-- where a --latency-ms window can be missed. Callers that never get there are
-- let go after 60 s, once, and in_flight_max shows they fell short.
function Sim:reset_stats(n, ops)
  local body = {}
  if n then body = { hold_until_in_flight = n, hold_ops = ops } end
  return self:admin("POST", "/_sim/stats/reset", body)
end

--- Environment for a client pointed at the simulator, with the default keys.
function Sim:env(extra)
  local t = {
    AWS_ACCESS_KEY_ID = M.ACCESS_KEY, AWS_SECRET_ACCESS_KEY = M.SECRET_KEY,
    AWS_REGION = "us-east-1", AWS_ENDPOINT_URL = self.url,
    AWS_CONFIG_FILE = "/nonexistent/config", AWS_SHARED_CREDENTIALS_FILE = "/nonexistent/credentials",
    AWS_EC2_METADATA_DISABLED = "true", HOME = "/nonexistent",
  }
  for k, v in pairs(extra or {}) do t[k] = v end
  return function(name)
    local v = t[name]
    if v == false then return nil end
    return v
  end
end

--- A client against the simulator.
function Sim:client(opts)
  opts = opts or {}
  opts.env = opts.env or self:env(opts.env_extra)
  opts.env_extra = nil
  return assert(require("eksegress").client(opts))
end

return M
