--- Writing a report piece by piece: a renderer puts small strings into a
-- sink, which hands them on to a `write(chunk)` function in chunks of about
-- M.SIZE bytes. A report of any size is then never one string in memory: a
-- 10,000-cluster audit as one JSON string (and the pieces it was joined
-- from) cost more memory than the audit itself.
--
--     local ok, err = sink.run(function(chunk) return f:write(chunk) end, function(s)
--       sink.put(s, "[") ... sink.put(s, "]")
--     end)
--
-- `write(chunk)` returns a true value, or nil and an error (as file:write
-- does): the rendering then stops at once and run returns nil and that
-- error. Any other error raised while rendering (a document that cannot be
-- encoded) is raised again by run, after what was already written.
local M = {}

--- Bytes gathered before they are handed to write (module-level so a test
-- can make chunks tiny and cross every boundary).
M.SIZE = 64 * 1024

-- Raised through the renderer when write fails; never escapes run.
local ABORT = setmetatable({}, { __tostring = function() return "report.sink: write failed" end })

local function flush(s)
  if s.n == 0 then return end
  -- Entries past n are stale and never read; reusing the table spares one
  -- list of a few thousand slots per chunk.
  local chunk = table.concat(s.buf, "", 1, s.n)
  s.n, s.size = 0, 0
  local ok, err = s.write(chunk)
  if not ok then
    s.err = err == nil and "write failed" or err
    error(ABORT, 0)
  end
end

--- Add a string to the sink.
function M.put(s, str)
  local n = s.n + 1
  s.buf[n] = str
  s.n = n
  local size = s.size + #str
  s.size = size
  if size >= M.SIZE then flush(s) end
end

--- Render through a sink: `fill(s)` puts the pieces; whatever is left is
-- written at the end.
-- @tparam function write chunk -> true | nil, err
-- @tparam function fill s -> nothing (puts pieces with M.put)
-- @treturn true|nil true, or nil and the error write returned
function M.run(write, fill)
  local s = { write = write, buf = {}, n = 0, size = 0 }
  local ok, e = pcall(function()
    fill(s)
    flush(s)
  end)
  if ok then return true end
  if e == ABORT then return nil, s.err end
  error(e, 0)
end

--- Render through a sink into one string (for callers that want the text).
function M.collect(fill)
  local parts = {}
  M.run(function(chunk)
    parts[#parts + 1] = chunk
    return true
  end, fill)
  return table.concat(parts)
end

return M
