-- Start spec/helpers/scripted.py: an HTTP server on 127.0.0.1 answering as a
-- script of rules says (a hostile or broken "AWS" for regression specs). It
-- exits when the Lua process that started it is gone.
local cjson = require "cjson"
local core = require "eksegress.core"
local proc = require "helpers.process"

local M = {}

local Server = {}
Server.__index = Server

function M.start()
  local py = os.getenv("EKSEGRESS_PYTHON") or "python3"
  -- --parent-pid $PPID (this Lua process, expanded by the launching shell).
  local h = proc.spawn_and_wait(py .. " spec/helpers/scripted.py --parent-pid $PPID", "PORT (%d+)")
  return setmetatable({ pid = h.pid, log = h.log, handle = h, url = "http://127.0.0.1:" .. h.port,
    engine = assert(core.engine_new{ max_attempts = 1 }) }, Server)
end

local function request(self, method, path, body)
  local id = assert(self.engine:submit{ method = method, url = self.url .. path, body = body,
    headers = body and { { "Content-Type", "application/json" } } or nil })
  while true do
    self.engine:step(50)
    local r = self.engine:next_done()
    if r then
      assert(r.id == id and r.status == 200, "scripted server: " .. tostring(r.error or r.status))
      return cjson.decode(r.body)
    end
  end
end

--- Replace the rules (see scripted.py).
function Server:script(rules)
  return request(self, "POST", "/_script", cjson.encode(rules))
end

--- The requests seen since the last script: {method, path, headers}.
function Server:requests()
  return request(self, "GET", "/_requests").requests
end

function Server:stop()
  self.engine:close()
  self.handle:stop()
end

return M
