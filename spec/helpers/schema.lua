-- Validate JSON against the project's JSON Schemas (docs/schemas/) or the
-- SARIF 2.1.0 schema, with tools/schema-validate.py (Debian's
-- python3-jsonschema; tools/setup.sh installs it). Offline: references
-- resolve only between the schemas of one folder.
--
--     local schema = require "helpers.schema"
--     schema.assert_valid(schema.AUDIT, json_text)        -- busted assertion
--     local ok, out = schema.validate(schema.PREFLIGHT, json_text)
local M = {}

M.AUDIT = "docs/schemas/audit.schema.json"
M.PREFLIGHT = "docs/schemas/preflight.schema.json"
M.SARIF = "spec/fixtures/sarif/sarif-schema-2.1.0.json"
M.SCRIPT = "tools/schema-validate.py"

local function python()
  return os.getenv("EKSEGRESS_PYTHON") or "python3"
end

local function quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

--- Validate JSON text against a schema file.
-- @treturn boolean valid
-- @treturn string the validator's output (one line per problem)
function M.validate(schema_path, json_text)
  assert(type(json_text) == "string", "schema.validate: pass the JSON text")
  local tmp = os.tmpname()
  local f = assert(io.open(tmp, "wb"))
  f:write(json_text)
  f:close()
  local p = assert(io.popen(("%s %s %s %s 2>&1"):format(python(), M.SCRIPT, quote(schema_path), quote(tmp))))
  local out = p:read("a")
  local ok, _, code = p:close()
  os.remove(tmp)
  if code == 2 then error("schema-validate could not run: " .. out, 2) end
  return ok == true, (out:gsub(tmp:gsub("%p", "%%%0"), "<document>"))
end

--- Assert that JSON text is valid against a schema (the failure message
-- lists every problem with its JSON pointer).
function M.assert_valid(schema_path, json_text)
  local ok, out = M.validate(schema_path, json_text)
  assert(ok, ("not valid against %s:\n%s"):format(schema_path, out))
end

return M
