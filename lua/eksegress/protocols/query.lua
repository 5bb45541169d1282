--- AWS Query protocol (STS; also IAM-shaped services): form-encoded POST requests,
-- XML responses `<{Op}Response><{Op}Result>...</{Op}Result><ResponseMetadata>`.
--
--     local req = query.build(svc, "AssumeRole", op, params)
--     -- { method = "POST", path = "/", query = "",
--     --   headers = { {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"} },
--     --   body = "Action=AssumeRole&Version=2011-06-15&RoleArn=...&RoleSessionName=..." }
--     local out, err = query.parse(svc, "AssumeRole", op, resp)
--     -- out = the shaped <AssumeRoleResult> plus ResponseMetadata = { RequestId = "..." }
--
-- This module also holds what the EC2 protocol shares with Query (the form serializer,
-- SigV4 percent-encoding, scalar checks): eksegress.protocols.ec2 calls them with
-- `ec2 = true`, which drops `.member` from list names and sends nothing for empty lists.
--
-- Input shapes (op.input) map member names to definitions:
--   { type = "string"|"integer"|"long"|"boolean"|"double"|"float"|"timestamp"|"blob"|
--            "list"|"map"|"structure",
--     wire = "Name on the wire" (default: the member name), required = true,
--     member = <def> (list), member_name = "member" (Query list element name),
--     flattened = true (list/map without the .member/.entry level),
--     key = <def>, value = <def> (map), members = { name = <def>, ... } (structure) }
-- Members absent from the shape are still sent (their type inferred from the Lua
-- value), so a new AWS parameter works without a code change. Misuse raises with a
-- message "<service> <Op>: ..."; bad server data never raises.
local errors = require "eksegress.errors"
local xmltable = require "eksegress.protocols.xmltable"

local M = {}

M.CONTENT_TYPE = "application/x-www-form-urlencoded; charset=utf-8"

---------------------------------------------------------------------------------------
-- Shared helpers (also used by restjson, json and ec2)

--- Percent-encode with the SigV4 unreserved set (A-Z a-z 0-9 - _ . ~ stay as is).
-- Spelled out rather than %w, whose meaning follows the C locale.
function M.percent_encode(s)
  return (s:gsub("[^A-Za-z0-9%-%._~]", function(c)
    return string.format("%%%02X", c:byte())
  end))
end

--- Raise a misuse error "<ctx>: <message>" (no position prefix: the context names
-- the service and operation, which is what a caller needs).
function M.misuse(ctx, fmt, ...)
  error(ctx .. ": " .. string.format(fmt, ...), 0)
end

local misuse = M.misuse

local function typename(v)
  return math.type(v) or type(v)
end
M.typename = typename

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

local function check_string(v, ctx, path)
  if type(v) ~= "string" then
    misuse(ctx, "parameter '%s' must be a string (got %s)", path, typename(v))
  end
  if not utf8.len(v) then
    misuse(ctx, "parameter '%s' must be valid UTF-8", path)
  end
  return v
end
M.check_string = check_string

--- Check an integer member: a Lua integer, or a float with an integral value.
function M.check_integer(v, ctx, path)
  local i = type(v) == "number" and math.tointeger(v) or nil
  if not i then
    misuse(ctx, "parameter '%s' must be an integer (got %s)", path, typename(v))
  end
  return i
end

local function iso8601(v, ctx, path)
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
M.iso8601 = iso8601

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
    return iso8601(v, ctx, path)
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

local function sorted_keys(t, ctx, path)
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
M.sorted_keys = sorted_keys

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

local function join(prefix, name)
  if prefix == "" then return name end
  return prefix .. "." .. name
end

-- The type of an unknown member's value: tables are lists when they are non-empty
-- sequences, structures otherwise.
local function infer(v)
  if type(v) == "table" then
    if next(v) ~= nil and M.is_sequence(v) then return "list" end
    return "structure"
  end
  return nil
end

local serialize

local function serialize_structure(out, value, def, prefix, ctx, path, ec2)
  if type(value) ~= "table" then
    misuse(ctx, "parameter '%s' must be a table (got %s)", path, typename(value))
  end
  M.check_required(def, value, ctx, path ~= "" and path or nil)
  local members = def and def.members
  for _, k in ipairs(sorted_keys(value, ctx, path)) do
    local mdef = members and members[k]
    local name = (mdef and mdef.wire) or k
    serialize(out, value[k], mdef, join(prefix, name), ctx, join(path, k), ec2)
  end
end

local function serialize_list(out, value, def, prefix, ctx, path, ec2)
  if type(value) ~= "table" or not M.is_sequence(value) then
    misuse(ctx, "parameter '%s' must be a list (got %s)", path, typename(value))
  end
  if #value == 0 then
    -- Query sends an empty list as "Name="; EC2 sends nothing (botocore does the same).
    if not ec2 then out[#out + 1] = { prefix, "" } end
    return
  end
  local item_prefix = prefix
  if not ec2 and not (def and def.flattened) then
    item_prefix = prefix .. "." .. ((def and def.member_name) or "member")
  end
  for i = 1, #value do
    serialize(out, value[i], def and def.member, item_prefix .. "." .. i, ctx,
              path .. "[" .. i .. "]", ec2)
  end
end

local function serialize_map(out, value, def, prefix, ctx, path, ec2)
  if type(value) ~= "table" then
    misuse(ctx, "parameter '%s' must be a table (got %s)", path, typename(value))
  end
  local base = (def and def.flattened) and prefix or (prefix .. ".entry")
  local kname = def and def.key and def.key.wire or "key"
  local vname = def and def.value and def.value.wire or "value"
  for i, k in ipairs(sorted_keys(value, ctx, path)) do
    out[#out + 1] = { base .. "." .. i .. "." .. kname, check_string(k, ctx, path) }
    serialize(out, value[k], def and def.value, base .. "." .. i .. "." .. vname, ctx,
              path .. "." .. k, ec2)
  end
end

function serialize(out, value, def, prefix, ctx, path, ec2)
  if value == nil then return end
  local t = (def and def.type) or infer(value)
  if t == "structure" then
    serialize_structure(out, value, def, prefix, ctx, path, ec2)
  elseif t == "list" then
    serialize_list(out, value, def, prefix, ctx, path, ec2)
  elseif t == "map" then
    serialize_map(out, value, def, prefix, ctx, path, ec2)
  else
    out[#out + 1] = { prefix, M.scalar_text(value, def, ctx, path) }
  end
end

--- Form-encode an operation's input: "Action=<Op>&Version=<api>&..." with the other
-- parameters in a stable order (member names sorted, list items in order).
-- ec2 = true selects the EC2 flavour. Raises on misuse.
function M.encode_form(svc, opname, op, params, ec2)
  local ctx = svc.name .. " " .. opname
  if params == nil then params = {} end
  if type(params) ~= "table" then
    misuse(ctx, "parameters must be a table (got %s)", typename(params))
  end
  local pairs_out = {}
  serialize_structure(pairs_out, params, { members = op.input or {} }, "", ctx, "", ec2)
  local parts = { "Action=" .. M.percent_encode(opname),
                  "Version=" .. M.percent_encode(svc.api_version) }
  for _, kv in ipairs(pairs_out) do
    if kv[1] == "Action" or kv[1] == "Version" then
      misuse(ctx, "parameter '%s' is reserved", kv[1])
    end
    parts[#parts + 1] = M.percent_encode(kv[1]) .. "=" .. M.percent_encode(kv[2])
  end
  return table.concat(parts, "&")
end

local function check_op(svc, opname, op)
  if type(svc) ~= "table" or type(svc.name) ~= "string" then
    error("protocol: invalid service definition", 0)
  end
  if type(op) ~= "table" then
    error(svc.name .. " " .. tostring(opname) .. ": unknown operation", 0)
  end
end
M.check_op = check_op

--- A form request: POST / with the body of encode_form (ec2 = true selects the
-- EC2 flavour). Raises on misuse.
function M.build_form(svc, opname, op, params, ec2)
  check_op(svc, opname, op)
  return {
    method = "POST",
    path = "/",
    query = "",
    headers = { { "Content-Type", M.CONTENT_TYPE } },
    body = M.encode_form(svc, opname, op, params, ec2),
  }
end

--- Build a Query request (see the module description).
function M.build(svc, opname, op, params)
  return M.build_form(svc, opname, op, params, false)
end

---------------------------------------------------------------------------------------
-- Responses

local function parse_failure(svc, opname, resp, message, code)
  return nil, errors.new(code or "ParseError", message, {
    service = svc and svc.name, operation = opname,
    status = type(resp) == "table" and resp.status or nil,
  })
end
M.parse_failure = parse_failure

local function xml_opts(svc)
  return { lists = svc.xml_lists, set_suffix = svc.xml_set_suffix }
end
M.xml_opts = xml_opts

--- Decode the body of a 2xx XML response: tree, or nil, err. An empty body is an error
-- (every supported operation returns a document; an empty one means truncation).
function M.decode_body(svc, opname, resp)
  local body = type(resp) == "table" and resp.body or nil
  if type(body) ~= "string" or body == "" then
    return parse_failure(svc, opname, resp, "empty response body")
  end
  local tree, derr = xmltable.decode(body)
  if not tree then
    return parse_failure(svc, opname, resp, "malformed XML response: " .. tostring(derr.message))
  end
  return tree
end

--- Error details from an XML error body, or nil when the document is not one:
-- Query `<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/>` and EC2
-- `<Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/>`.
function M.error_from_tree(tree)
  if type(tree) ~= "table" then return nil end
  local e = xmltable.child(tree, "Error")
  if not e then
    local errs = xmltable.child(tree, "Errors")
    e = errs and xmltable.child(errs, "Error")
  end
  if not e then return nil end
  local info = {
    code = xmltable.child_text(e, "Code"),
    message = xmltable.child_text(e, "Message"),
    type = xmltable.child_text(e, "Type"),
    request_id = xmltable.child_text(tree, "RequestId") or xmltable.child_text(tree, "RequestID"),
  }
  if info.code then info.code = info.code:match("^[ \t\r\n]*(.-)[ \t\r\n]*$") end
  return info
end

-- A 2xx response carrying an error document: report the AWS error.
local function error_document(svc, opname, resp, info)
  return nil, errors.new(info.code or "UnknownError", info.message or "error document in a 2xx response", {
    service = svc.name, operation = opname, request_id = info.request_id,
    status = type(resp) == "table" and resp.status or nil,
  })
end
M.error_document = error_document

--- Parse a 2xx Query response: the shaped `<{Op}Result>` (a map; `{}` when the
-- operation has no result) plus `ResponseMetadata` (`{RequestId = ...}`).
-- Returns nil, err ({code = "ParseError" | AWS code, message, ...}) on a malformed
-- body; never raises.
function M.parse(svc, opname, _op, resp)
  local tree, err = M.decode_body(svc, opname, resp)
  if not tree then return nil, err end
  local info = (tree.name == "ErrorResponse" or tree.name == "Response") and M.error_from_tree(tree)
  if info then return error_document(svc, opname, resp, info) end
  if not tree.name:find("Response$") then
    return parse_failure(svc, opname, resp, "unexpected root element in response")
  end
  local opts = xml_opts(svc)
  local result = xmltable.child(tree, opname .. "Result")
  if not result then
    for i = 1, #tree do
      if tree[i].name:find("Result$") then result = tree[i] break end
    end
  end
  local out = result and xmltable.shape_map(result, opts) or {}
  local md = xmltable.child(tree, "ResponseMetadata")
  out.ResponseMetadata = md and xmltable.shape_map(md, opts) or {}
  return out
end

--- Error details of a non-2xx response: {code, message, type, request_id} (fields
-- nil when absent), or nil when the body is not an XML error document. Never raises.
function M.parse_error(_svc, _opname, _op, resp)
  local body = type(resp) == "table" and resp.body or nil
  if type(body) ~= "string" or body == "" then return nil end
  local tree = xmltable.decode(body)
  return M.error_from_tree(tree)
end

return M
