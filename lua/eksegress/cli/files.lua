--- Reading the JSON documents a user hands the CLI (plans, audit reports)
-- and writing the ones it produces, with errors that say which file and why.
local cjson = require "cjson"

local M = {}

-- Plans and reports are small; anything larger is not one of ours.
local MAX_DOCUMENT = 64 * 1024 * 1024

--- Read and decode a JSON document.
-- @tparam string path
-- @tparam string what "plan", "audit report", ... (for messages)
-- @treturn table, or nil, message
function M.read_json(path, what)
  local core = require "eksegress.core"
  local text, err
  if core.read_file then
    text, err = core.read_file(path, MAX_DOCUMENT)
    if not text then return nil, ("cannot read the %s %s: %s"):format(what, path, tostring(err and err.message)) end
  else
    local f, oerr = io.open(path, "rb")
    if not f then return nil, ("cannot read the %s: %s"):format(what, tostring(oerr)) end
    text = f:read(MAX_DOCUMENT + 1)
    f:close()
    if not text then text = "" end
    if #text > MAX_DOCUMENT then return nil, ("the %s %s is larger than 64 MiB"):format(what, path) end
  end
  local ok, doc = pcall(cjson.decode, text)
  if not ok then return nil, ("the %s %s is not valid JSON (%s)"):format(what, path, tostring(doc)) end
  if type(doc) ~= "table" then return nil, ("the %s %s is not a JSON object"):format(what, path) end
  return doc
end

--- Write text to path atomically and durably (never a half-written file).
-- @treturn true, or nil, err
function M.write_atomic(path, text)
  return require("eksegress.core").write_file_atomic(path, text)
end

return M
