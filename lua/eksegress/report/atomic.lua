--- Writing a report file so that it appears whole or not at all.
--
-- The bytes go to a new temporary file in the same folder (so the rename
-- below stays within one filesystem), which is flushed and closed, then
-- renamed over the target. rename(2) within a filesystem is atomic: a reader
-- (a CI job picking up the report, a person opening it) sees the old file or
-- the new one, never a half-written one, and a failed write leaves the old
-- file untouched and no temporary file behind.
--
-- This is plain Lua io on purpose (report/ requires nothing of the C core),
-- and plain Lua cannot fsync. So the rename is atomic but not durable: after
-- a power loss the new report may be missing, never torn. A report can be
-- produced again; the migration journal, which cannot, uses the core's
-- durable writer instead.
local errors = require "eksegress.errors"

local M = {}

local counter = 0

-- A temporary name next to `path` that does not exist yet. Lua's io.open
-- cannot create exclusively ("wx"), so uniqueness comes from the name: the
-- target, the time, the CPU clock, a per-process counter and a random part.
local function temp_name(path)
  for _ = 1, 100 do
    counter = counter + 1
    local name = ("%s.tmp-%d-%d-%d-%06d"):format(path, os.time(), math.floor(os.clock() * 1e6) % 1000000,
      counter, math.random(0, 999999))
    local f = io.open(name, "rb")
    if not f then return name end
    f:close()
  end
  return nil
end

local function fail(path, why)
  return nil, errors.new("ExportFailed", ("cannot write %s: %s"):format(path, tostring(why)))
end

-- Writes data (a string, or a producer calling write(chunk) repeatedly)
-- to the open file; true, or nil and the error.
local function fill(f, data)
  if type(data) == "string" then return f:write(data) end
  return data(function(chunk) return f:write(chunk) end)
end

--- Write `data` to `path` atomically.
-- @param data a string, or a producer `function(write) -> true | nil, err`
--   that calls `write(chunk)` (true, or nil and an error, as file:write)
--   for each piece in turn, so a large report never needs to be one string.
--   A producer that fails or raises leaves no file behind (what it raised
--   is raised again, after the temporary file is removed).
-- @treturn true|nil true, or nil and an error (code ExportFailed)
function M.write(path, data)
  if type(path) ~= "string" or path == "" then errors.misuse("report.atomic.write: path must be a string", 2) end
  if type(data) ~= "string" and type(data) ~= "function" then
    errors.misuse("report.atomic.write: data must be a string or a function", 2)
  end
  local tmp = temp_name(path)
  if not tmp then return fail(path, "no free temporary name beside it") end
  local f, oerr = io.open(tmp, "wb")
  if not f then
    -- "tmp: No such file or directory" would name the wrong file.
    return fail(path, (tostring(oerr):gsub("^.-: ", "", 1)))
  end
  local done, ok, werr = pcall(fill, f, data)
  if not done then
    f:close()
    os.remove(tmp)
    error(ok, 0)
  end
  if ok then ok, werr = f:flush() end
  local closed, cerr = f:close()
  if ok and not closed then ok, werr = nil, cerr end
  if not ok then
    os.remove(tmp)
    return fail(path, werr)
  end
  local renamed, rerr = os.rename(tmp, path)
  if not renamed then
    os.remove(tmp)
    return fail(path, (tostring(rerr):gsub("^.-: ", "", 1)))
  end
  return true
end

return M
