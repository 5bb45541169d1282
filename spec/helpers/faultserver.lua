-- Start csrc/tests/faultserver.py (a scriptable HTTP server on 127.0.0.1)
-- for binding-level specs. It exits on GET /shutdown, or when the Lua
-- process that started it is gone.
local core = require "eksegress.core"
local proc = require "helpers.process"

local M = {}

function M.start()
  local py = os.getenv("EKSEGRESS_PYTHON") or "python3"
  -- --parent-pid $PPID (this Lua process, expanded by the launching shell): the
  -- server also exits by itself when the spec's process is gone.
  local h = proc.spawn_and_wait(py .. " csrc/tests/faultserver.py --parent-pid $PPID", "PORT (%d+)")
  local fs = { url = "http://127.0.0.1:" .. h.port, host = "127.0.0.1:" .. h.port, pid = h.pid, log = h.log,
               handle = h }
  function fs.stop()
    -- Ask it to leave, then make sure it did.
    local rt = core.engine_new{ max_attempts = 1 }
    rt:submit{ method = "GET", url = fs.url .. "/shutdown" }
    for _ = 1, 50 do
      rt:step(20)
      if rt:next_done() then break end
    end
    rt:close()
    h:stop()
  end
  return fs
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
