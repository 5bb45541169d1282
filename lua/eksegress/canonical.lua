--- Canonical JSON: sorted keys, no whitespace, one spelling per value.
--
-- Fingerprints and content ids hash this text, so the same table always
-- gives the same bytes (cjson's key order follows the hash table and changes
-- between runs). Empty arrays need a marker, since Lua cannot tell `[]` from
-- `{}`: `canonical.array{}` (or any table with canonical.array_mt).
local cjson = require "cjson"

local M = {}

M.array_mt = { __name = "eksegress.array" }

--- Mark t (default a new table) as a JSON array.
function M.array(t)
  return setmetatable(t or {}, M.array_mt)
end

local function is_array(t)
  if getmetatable(t) == M.array_mt then return true end
  local n = #t
  if n == 0 then return false end
  local count = 0
  for k in pairs(t) do
    if math.type(k) ~= "integer" or k < 1 or k > n then return false end
    count = count + 1
  end
  return count == n
end

local function encode(v, out, depth)
  if depth > 64 then error("canonical.encode: nested deeper than 64 levels", 0) end
  local t = type(v)
  if v == nil or v == cjson.null then
    out[#out + 1] = "null"
  elseif t == "boolean" then
    out[#out + 1] = v and "true" or "false"
  elseif t == "number" then
    if v ~= v or v == math.huge or v == -math.huge then
      error("canonical.encode: " .. tostring(v) .. " is not a JSON number", 0)
    end
    if math.type(v) == "integer" then
      out[#out + 1] = string.format("%d", v)
    elseif v == math.floor(v) and math.abs(v) < 2^53 then
      out[#out + 1] = string.format("%d", math.tointeger(v))
    else
      out[#out + 1] = string.format("%.17g", v)
    end
  elseif t == "string" then
    out[#out + 1] = cjson.encode(v)
  elseif t == "table" then
    if is_array(v) then
      out[#out + 1] = "["
      for i = 1, #v do
        if i > 1 then out[#out + 1] = "," end
        encode(v[i], out, depth + 1)
      end
      out[#out + 1] = "]"
    else
      local keys = {}
      for k in pairs(v) do
        if type(k) ~= "string" then
          error("canonical.encode: object keys must be strings (got " .. type(k) .. ")", 0)
        end
        keys[#keys + 1] = k
      end
      table.sort(keys)
      out[#out + 1] = "{"
      for i, k in ipairs(keys) do
        if i > 1 then out[#out + 1] = "," end
        out[#out + 1] = cjson.encode(k)
        out[#out + 1] = ":"
        encode(v[k], out, depth + 1)
      end
      out[#out + 1] = "}"
    end
  else
    error("canonical.encode: cannot encode a " .. t, 0)
  end
end

--- Encode v as canonical JSON text. Raises for values JSON cannot hold.
function M.encode(v)
  local out = {}
  encode(v, out, 0)
  return table.concat(out)
end

return M
