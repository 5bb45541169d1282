-- Start spec/helpers/scripted.py: an HTTP server on 127.0.0.1 answering as a
-- script of rules says (a hostile or broken "AWS" for regression specs). It
-- exits when the Lua process that started it is gone.
local cjson = require "cjson"
local core = require "eksegress.core"

local M = {}

local Server = {}
Server.__index = Server

function M.start()
  local log = os.tmpname()
  local py = os.getenv("EKSEGRESS_PYTHON") or "python3"
  local p = assert(io.popen(("%s spec/helpers/scripted.py --parent-pid $PPID </dev/null >%s 2>&1 & echo $!")
    :format(py, log)))
  local pid = p:read("l")
  p:close()
  local deadline = core.monotime() + 20
  while core.monotime() < deadline do
    local f = io.open(log, "rb")
    local text = f and f:read("a") or ""
    if f then f:close() end
    local port = text:match("PORT (%d+)")
    if port then
      return setmetatable({ pid = pid, log = log, url = "http://127.0.0.1:" .. port,
        engine = assert(core.engine_new{ max_attempts = 1 }) }, Server)
    end
    core.sleep_ms(50)
  end
  os.execute("kill " .. pid .. " 2>/dev/null")
  error("scripted server did not start")
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
  os.execute("kill " .. self.pid .. " 2>/dev/null")
  os.remove(self.log)
end

return M
