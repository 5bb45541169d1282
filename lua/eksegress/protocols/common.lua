--- Helpers every wire codec shares (restjson, json, query, ec2, form): misuse
-- errors, scalar checks and their wire text, SigV4 percent-encoding, structure
-- checks, parse failures, and the one bounded JSON decoder.
--
-- Misuse raises "<service> <Op>: ..." (no position prefix: the context names the
-- service and operation, which is what a caller needs). Bad server data never
-- raises: it comes back as nil, err.
local cjson = require "cjson.safe"
local core = require "eksegress.core"
local errors = require "eksegress.errors"

local M = {}

--- Percent-encode with the SigV4 unreserved set (A-Z a-z 0-9 - _ . ~ stay as is).
-- Spelled out rather than %w, whose meaning follows the C locale.
function M.percent_encode(s)
  return (s:gsub("[^A-Za-z0-9%-%._~]", function(c)
    return string.format("%%%02X", c:byte())
  end))
end

--- Raise a misuse error "<ctx>: <message>".
function M.misuse(ctx, fmt, ...)
  error(ctx .. ": " .. string.format(fmt, ...), 0)
end

local misuse = M.misuse

--- "integer", "float" or the Lua type name (for messages).
function M.typename(v)
  return math.type(v) or type(v)
end

local typename = M.typename

--- Shortest decimal text that reads back as the same number (integers as %d).
-- Returns nil for NaN and infinities.
function M.format_number(v)
  if math.type(v) == "integer" then return string.format("%d", v) end
  if v ~= v or v == math.huge or v == -math.huge then return nil end
  local i = math.tointeger(v)
  if i then return string.format("%d", i) end
  for p = 15, 17 do
    local s = string.format("%." .. p .. "g", v)
    if tonumber(s) == v then return s end
  end
  return string.format("%.17g", v)
end

--- True if t is a table whose keys are exactly 1..n (n >= 0).
function M.is_sequence(t)
  local n = 0
  for k in pairs(t) do
    if math.type(k) ~= "integer" or k < 1 then return false end
    n = n + 1
  end
  for i = 1, n do
    if t[i] == nil then return false end
  end
  return true
end

--- Check a string member: a Lua string holding valid UTF-8.
function M.check_string(v, ctx, path)
  if type(v) ~= "string" then
    misuse(ctx, "parameter '%s' must be a string (got %s)", path, typename(v))
  end
  if not utf8.len(v) then
    misuse(ctx, "parameter '%s' must be valid UTF-8", path)
  end
  return v
end

local check_string = M.check_string

--- Check an integer member: a Lua integer, or a float with an integral value.
function M.check_integer(v, ctx, path)
  local i = type(v) == "number" and math.tointeger(v) or nil
  if not i then
    misuse(ctx, "parameter '%s' must be an integer (got %s)", path, typename(v))
  end
  return i
end

--- A timestamp member as ISO 8601 UTC text: given as UNIX seconds (fractions
-- kept to the millisecond) or as text (sent as is).
function M.iso8601(v, ctx, path)
  if type(v) == "string" then return check_string(v, ctx, path) end
  if type(v) ~= "number" or v ~= v then
    misuse(ctx, "parameter '%s' must be a timestamp (UNIX seconds or ISO 8601 text)", path)
  end
  local secs = math.floor(v)
  local s = os.date("!%Y-%m-%dT%H:%M:%S", secs)
  local ms = math.floor((v - secs) * 1000)
  if ms > 0 then s = s .. string.format(".%03d", ms) end
  return s .. "Z"
end

--- Wire text of a scalar for the query string, a form body, a URI label or a header.
-- def may be nil (an unknown member: string, number or boolean accepted).
function M.scalar_text(v, def, ctx, path)
  local t = def and def.type
  if t == "string" or t == "blob" then
    return check_string(v, ctx, path)
  elseif t == "integer" or t == "long" then
    return string.format("%d", M.check_integer(v, ctx, path))
  elseif t == "boolean" then
    if type(v) ~= "boolean" then
      misuse(ctx, "parameter '%s' must be a boolean (got %s)", path, typename(v))
    end
    return v and "true" or "false"
  elseif t == "double" or t == "float" then
    local s = type(v) == "number" and M.format_number(v)
    if not s then misuse(ctx, "parameter '%s' must be a finite number (got %s)", path, typename(v)) end
    return s
  elseif t == "timestamp" then
    return M.iso8601(v, ctx, path)
  elseif t == nil then
    if type(v) == "string" then return check_string(v, ctx, path) end
    if type(v) == "boolean" then return v and "true" or "false" end
    if type(v) == "number" then
      local s = M.format_number(v)
      if not s then misuse(ctx, "parameter '%s' must be a finite number", path) end
      return s
    end
    misuse(ctx, "parameter '%s' has an unsupported type (%s)", path, typename(v))
  end
  misuse(ctx, "parameter '%s' must be a scalar of type %s (got %s)", path, tostring(t), typename(v))
end

--- The keys of t, sorted; raises when one is not a string.
function M.sorted_keys(t, ctx, path)
  local keys = {}
  for k in pairs(t) do
    if type(k) ~= "string" then
      misuse(ctx, "%s has a non-string key (%s)",
             path == "" and "parameters table" or ("parameter '" .. path .. "'"), typename(k))
    end
    keys[#keys + 1] = k
  end
  table.sort(keys)
  return keys
end

--- Check required members of a structure definition (members with required = true).
function M.check_required(def, value, ctx, prefix)
  if not def or not def.members then return end
  local names = {}
  for name, mdef in pairs(def.members) do
    if mdef.required and value[name] == nil then names[#names + 1] = name end
  end
  if #names > 0 then
    table.sort(names)
    misuse(ctx, "missing required parameter '%s'", prefix and (prefix .. "." .. names[1]) or names[1])
  end
end

--- Raise unless svc is a service definition and op an operation of it.
function M.check_op(svc, opname, op)
  if type(svc) ~= "table" or type(svc.name) ~= "string" then
    error("protocol: invalid service definition", 0)
  end
  if type(op) ~= "table" then
    error(svc.name .. " " .. tostring(opname) .. ": unknown operation", 0)
  end
end

--- The common start of every build: check the operation, name the context, and
-- accept nil params as {}. Returns ctx, params.
function M.begin_build(svc, opname, op, params)
  M.check_op(svc, opname, op)
  local ctx = svc.name .. " " .. opname
  if params == nil then params = {} end
  if type(params) ~= "table" then
    misuse(ctx, "parameters must be a table (got %s)", typename(params))
  end
  return ctx, params
end

--- nil, err for a response that cannot be parsed (code ParseError unless given;
-- extra fields merged into the error).
function M.parse_failure(svc, opname, resp, message, code, extra)
  local fields = {
    service = svc and svc.name, operation = opname,
    status = type(resp) == "table" and resp.status or nil,
  }
  for k, v in pairs(extra or {}) do fields[k] = v end
  return nil, errors.new(code or "ParseError", message, fields)
end

---------------------------------------------------------------------------------------
-- Bounded JSON decoding

--- Bounds on a decoded JSON document: nil takes core.json_check's defaults
-- (nesting depth 64, 1,000,000 values, member names included), the XML
-- decoder's bounds. Without them a 16 MiB body of tiny values decoded to
-- 485 MB of Lua tables; a body beyond them is refused before cjson allocates
-- anything.
M.JSON_LIMITS = nil

local decoder = cjson.new()
decoder.decode_invalid_numbers(false)

-- Drop null members (keep null array elements: a hole would end the list) and
-- make integral floats integers, in place; false when a number is beyond a
-- double's range. cjson reads 1e999 as inf (strtod overflows), and an inf
-- that got into a document made every JSON encoder of ours raise later
-- (report, plan, journal): such a body is malformed, like NaN, refused here.
-- Recursion is bounded by the depth check. Runs over every decoded response:
-- strings and other scalars cost a comparison, no call.
local NULL, mtype, tointeger, HUGE = cjson.null, math.type, math.tointeger, math.huge
local function normalize(t)
  for k, x in next, t do
    if type(x) == "table" then
      if not normalize(x) then return false end
    elseif x == NULL then
      if mtype(k) ~= "integer" then t[k] = nil end
    elseif mtype(x) == "float" then
      local i = tointeger(x)
      if i then
        t[k] = i
      elseif x == HUGE or x == -HUGE then
        return false
      end
    end
  end
  return true
end

--- Decode a JSON object sent by a server (a response body, credentials from a
-- container endpoint or a helper): table, or nil, message, reason. reason is
-- "JsonTooLarge" or "JsonTooDeep" when a bound refused the text (the message
-- names the limit), nil for malformed JSON. Never raises.
function M.json_decode(body)
  if type(body) ~= "string" then return nil, "body is not a string" end
  local fine, cerr = core.json_check(body, M.JSON_LIMITS)
  if not fine then
    if cerr.code == "JsonTooLarge" or cerr.code == "JsonTooDeep" then
      return nil, cerr.message, cerr.code
    end
    return nil, cerr.message
  end
  local ok, v, derr = pcall(decoder.decode, body)
  if not ok then return nil, tostring(v) end
  if v == nil then return nil, tostring(derr) end
  if type(v) ~= "table" or (next(v) ~= nil and M.is_sequence(v)) then
    return nil, "not a JSON object"
  end
  if not normalize(v) then return nil, "a number is beyond the range of a double" end
  return v
end

return M
