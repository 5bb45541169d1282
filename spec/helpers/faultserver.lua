-- Start csrc/tests/faultserver.py (a scriptable HTTP server on 127.0.0.1)
-- for binding-level specs. It exits on GET /shutdown, or when the Lua
-- process that started it is gone.
local core = require "eksegress.core"

local M = {}

function M.start()
  local log = os.tmpname()
  local py = os.getenv("EKSEGRESS_PYTHON") or "python3"
  -- $PPID is this Lua process: the server exits when it is gone.
  local cmd = ("%s csrc/tests/faultserver.py --parent-pid $PPID </dev/null >%s 2>&1 &"):format(py, log)
  os.execute(cmd)
  local deadline = core.monotime() + 20
  while core.monotime() < deadline do
    local f = io.open(log, "rb")
    local text = f and f:read("a") or ""
    if f then f:close() end
    local port = text:match("PORT (%d+)")
    if port then
      local fs = { url = "http://127.0.0.1:" .. port, host = "127.0.0.1:" .. port, log = log }
      function fs.stop()
        local rt = core.engine_new{ max_attempts = 1 }
        rt:submit{ method = "GET", url = fs.url .. "/shutdown" }
        for _ = 1, 50 do
          rt:step(20)
          if rt:next_done() then break end
        end
        rt:close()
        os.remove(log)
      end
      return fs
    end
    core.sleep_ms(50)
  end
  error("faultserver did not start")
end

-- Run one request to completion on an engine; returns the response table.
function M.run(engine, req)
  local id = assert(engine:submit(req))
  for _ = 1, 100000 do
    engine:step(50)
    local r = engine:next_done()
    if r then
      assert(r.id == id)
      return r
    end
  end
  error("request did not complete")
end

return M
