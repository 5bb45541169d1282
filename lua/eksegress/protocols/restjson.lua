--- The rest-json protocol (EKS): HTTP method and URI template per operation, members
-- bound to URI labels, query parameters, headers or the JSON body; JSON responses.
--
--     local req = restjson.build(svc, "DescribeUpdate", op,
--                                { name = "prod", updateId = "u-1", addonName = "vpc-cni" })
--     -- { method = "GET", path = "/clusters/prod/updates/u-1", query = "addonName=vpc-cni",
--     --   headers = {}, body = "" }
--     local out, err = restjson.parse(svc, "DescribeUpdate", op, resp)
--
-- Member definitions (op.input) are those of eksegress.protocols.form plus
-- `location = "uri" | "querystring" | "header"` and `name` (the label, query key or
-- header name; default: the member name); members without a location go to the body.
-- `idempotency_token = true` members are filled with a random UUID when absent (as the
-- AWS SDKs do), so a retry of the same built request stays idempotent.
--
-- Nothing the caller passes is dropped: unknown members go to the JSON body (POST/PUT/
-- PATCH, or any operation that has body members) or else to the query string.
-- The body is encoded here, with sorted keys, so the same input always gives the same
-- bytes. A Lua table is a JSON array when its definition says list, when it carries
-- M.array_mt, or when it is a non-empty sequence; an empty table of unknown type is {}.
-- Responses: decoded by eksegress.protocols.common.json_decode (bounded: nesting
-- depth and number of values are checked before decoding); JSON null members are
-- dropped, integral numbers become Lua integers, everything else is kept as sent.
local cjson = require "cjson.safe"
local common = require "eksegress.protocols.common"

local M = {}

local misuse, typename = common.misuse, common.typename
local pct = common.percent_encode

--- Metatable marking a table as a JSON array (for an empty list of unknown type).
M.array_mt = { __name = "eksegress.json.array" }

--- Sentinel for an explicit JSON null in input, and the value of null array elements
-- in decoded responses.
M.null = cjson.null

---------------------------------------------------------------------------------------
-- JSON encoding (shape-driven, deterministic)

local ESCAPES = {
  ['"'] = '\\"', ['\\'] = '\\\\', ['\b'] = '\\b', ['\f'] = '\\f',
  ['\n'] = '\\n', ['\r'] = '\\r', ['\t'] = '\\t',
}

local function quote(s)
  return '"' .. s:gsub('[\0-\31"\\]', function(c)
    return ESCAPES[c] or string.format("\\u%04x", c:byte())
  end) .. '"'
end

local encode

local function encode_list(buf, v, def, ctx, path)
  if type(v) ~= "table" or not common.is_sequence(v) then
    misuse(ctx, "parameter '%s' must be a list (got %s)", path, typename(v))
  end
  buf[#buf + 1] = "["
  for i = 1, #v do
    if i > 1 then buf[#buf + 1] = "," end
    encode(buf, v[i], def and def.member, ctx, path .. "[" .. i .. "]")
  end
  buf[#buf + 1] = "]"
end

local function encode_object(buf, v, def, ctx, path, is_map)
  if type(v) ~= "table" then
    misuse(ctx, "parameter '%s' must be a table (got %s)", path, typename(v))
  end
  if not is_map then common.check_required(def, v, ctx, path ~= "" and path or nil) end
  local members = def and def.members
  buf[#buf + 1] = "{"
  local first = true
  for _, k in ipairs(common.sorted_keys(v, ctx, path)) do
    common.check_string(k, ctx, path)
    if not first then buf[#buf + 1] = "," end
    first = false
    local mdef
    if is_map then mdef = def and def.value else mdef = members and members[k] end
    buf[#buf + 1] = quote(k)
    buf[#buf + 1] = ":"
    encode(buf, v[k], mdef, ctx, path == "" and k or (path .. "." .. k))
  end
  buf[#buf + 1] = "}"
end

function encode(buf, v, def, ctx, path)
  local t = def and def.type
  if v == cjson.null then
    buf[#buf + 1] = "null"
    return
  end
  if t == nil then
    local lt = type(v)
    if lt == "table" then
      if getmetatable(v) == M.array_mt or (next(v) ~= nil and common.is_sequence(v)) then
        t = "list"
      else
        t = "structure"
      end
    elseif lt == "string" or lt == "number" or lt == "boolean" then
      t = lt
    else
      misuse(ctx, "parameter '%s' has an unsupported type (%s)", path, typename(v))
    end
  end
  if t == "structure" then
    encode_object(buf, v, def, ctx, path, false)
  elseif t == "map" then
    encode_object(buf, v, def, ctx, path, true)
  elseif t == "list" then
    encode_list(buf, v, def, ctx, path)
  elseif t == "string" or t == "blob" then
    buf[#buf + 1] = quote(common.check_string(v, ctx, path))
  elseif t == "integer" or t == "long" then
    buf[#buf + 1] = string.format("%d", common.check_integer(v, ctx, path))
  elseif t == "boolean" then
    if type(v) ~= "boolean" then
      misuse(ctx, "parameter '%s' must be a boolean (got %s)", path, typename(v))
    end
    buf[#buf + 1] = v and "true" or "false"
  elseif t == "number" or t == "double" or t == "float" or t == "timestamp" then
    -- rest-json and json 1.1 send timestamps as UNIX seconds.
    local s = type(v) == "number" and common.format_number(v)
    if not s then misuse(ctx, "parameter '%s' must be a finite number (got %s)", path, typename(v)) end
    buf[#buf + 1] = s
  else
    misuse(ctx, "parameter '%s': unsupported member type %s", path, tostring(t))
  end
end

--- Encode a Lua value as JSON following an optional definition (see above).
-- Raises "<ctx>: ..." on misuse.
function M.json_encode(value, def, ctx, path)
  local buf = {}
  encode(buf, value, def, ctx or "json", path or "")
  return table.concat(buf)
end

---------------------------------------------------------------------------------------
-- JSON decoding

--- Decode a JSON object body: table, or nil, message, reason (see
-- eksegress.protocols.common.json_decode). Never raises.
M.json_decode = common.json_decode

--- Decode the body of a 2xx JSON response (shared with the json protocol).
function M.parse_body(svc, opname, resp)
  local body = type(resp) == "table" and resp.body or nil
  if type(body) ~= "string" or body == "" then
    return common.parse_failure(svc, opname, resp, "empty response body")
  end
  local out, msg, reason = common.json_decode(body)
  if not out then
    if reason then
      return common.parse_failure(svc, opname, resp, "JSON response refused: " .. msg, nil,
                                  { reason = reason })
    end
    return common.parse_failure(svc, opname, resp, "malformed JSON response: " .. msg)
  end
  return out
end

--- The AWS error code from a JSON error response: the x-amzn-errortype header before
-- ':' (botocore RestJSONParser), else the body's code / Code / __type; any
-- "namespace#" prefix is removed.
function M.error_code(headers, body)
  local code
  local h = type(headers) == "table" and (headers["x-amzn-errortype"] or headers["X-Amzn-ErrorType"])
  if type(h) == "string" and h ~= "" then code = h:match("^([^:]*)") end
  if (not code or code == "") and type(body) == "table" then
    for _, k in ipairs({ "code", "Code", "__type" }) do
      if type(body[k]) == "string" and body[k] ~= "" then code = body[k] break end
    end
  end
  if not code or code == "" then return nil end
  code = code:match("#(.*)$") or code
  code = code:match("^([^:]*)")
  return code ~= "" and code or nil
end

--- Error details of a non-2xx JSON response: {code, message, request_id, fields}
-- (fields: the decoded body, for modelled extras such as clusterName), or nil when
-- there is no code anywhere. Never raises.
function M.parse_error(_svc, _opname, _op, resp)
  if type(resp) ~= "table" then return nil end
  local headers = type(resp.headers) == "table" and resp.headers or {}
  local body = type(resp.body) == "string" and resp.body ~= "" and M.json_decode(resp.body) or nil
  local code = M.error_code(headers, body)
  if not code then return nil end
  local message
  if body then
    for _, k in ipairs({ "message", "Message", "errorMessage" }) do
      if type(body[k]) == "string" then message = body[k] break end
    end
  end
  return {
    code = code, message = message, fields = body,
    request_id = headers["x-amzn-requestid"] or headers["x-amz-request-id"],
  }
end

---------------------------------------------------------------------------------------
-- Requests

local function random_bytes(n)
  local f = io.open("/dev/urandom", "rb")
  if f then
    local s = f:read(n)
    f:close()
    if s and #s == n then return s end
  end
  local t = {}
  for i = 1, n do t[i] = string.char(math.random(0, 255)) end
  return table.concat(t)
end

--- A random (version 4) UUID, for idempotency tokens.
function M.uuid4()
  local b = { random_bytes(16):byte(1, 16) }
  b[7] = (b[7] & 0x0f) | 0x40
  b[9] = (b[9] & 0x3f) | 0x80
  return string.format("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                       table.unpack(b))
end

local BODY_METHODS = { POST = true, PUT = true, PATCH = true }

-- Fill absent idempotency tokens, on a shallow copy so the caller's table is untouched.
local function with_tokens(params, input)
  local copy
  for name, def in pairs(input) do
    if def.idempotency_token and params[name] == nil then
      if not copy then
        copy = {}
        for k, v in pairs(params) do copy[k] = v end
      end
      copy[name] = M.uuid4()
    end
  end
  return copy or params
end

local function render_label(value, def, ctx, member, greedy)
  local s = common.scalar_text(value, def, ctx, member)
  -- An empty or dot label would change which resource the path names
  -- (DELETE /clusters/ or /clusters/..): never send one.
  if s == "" then misuse(ctx, "parameter '%s' must not be empty", member) end
  if s == "." or s == ".." then misuse(ctx, "parameter '%s' must not be '.' or '..'", member) end
  if greedy then
    return (s:gsub("[^/]+", pct))
  end
  return pct(s)
end

--- Build a rest-json request (see the module description).
function M.build(svc, opname, op, params)
  local ctx
  ctx, params = common.begin_build(svc, opname, op, params)
  local input = op.input or {}
  local http = op.http or {}
  local method = http.method or "POST"
  common.sorted_keys(params, ctx, "") -- string keys only, before anything else
  common.check_required({ members = input }, params, ctx, nil)
  params = with_tokens(params, input)

  -- Which members go where.
  local labels, qparams, headers, body = {}, {}, {}, {}
  local has_body_members = false
  for _, def in pairs(input) do
    if not def.location then has_body_members = true break end
  end
  local unknown_to_body = BODY_METHODS[method] or has_body_members
  local body_used = false
  for _, k in ipairs(common.sorted_keys(params, ctx, "")) do
    local v, def = params[k], input[k]
    local loc = def and def.location
    if loc == "uri" then
      labels[def.name or k] = { v, def, k }
    elseif loc == "querystring" or (not def and not unknown_to_body) then
      local qname = (def and def.name) or k
      local qdef = def
      if (qdef and qdef.type == "list") or (not qdef and type(v) == "table" and common.is_sequence(v)) then
        if type(v) ~= "table" or not common.is_sequence(v) then
          misuse(ctx, "parameter '%s' must be a list (got %s)", k, typename(v))
        end
        for i = 1, #v do
          qparams[#qparams + 1] = { pct(qname), pct(common.scalar_text(v[i], qdef and qdef.member, ctx,
                                                                         k .. "[" .. i .. "]")) }
        end
      elseif qdef and qdef.type == "map" then
        if type(v) ~= "table" then misuse(ctx, "parameter '%s' must be a table (got %s)", k, typename(v)) end
        for _, mk in ipairs(common.sorted_keys(v, ctx, k)) do
          qparams[#qparams + 1] = { pct(mk), pct(common.scalar_text(v[mk], qdef.value, ctx, k .. "." .. mk)) }
        end
      else
        if type(v) == "table" then
          misuse(ctx, "parameter '%s' cannot be sent in the query string (got a table)", k)
        end
        qparams[#qparams + 1] = { pct(qname), pct(common.scalar_text(v, qdef, ctx, k)) }
      end
    elseif loc == "header" then
      local s = common.scalar_text(v, def, ctx, k)
      if s:find("[\r\n]") then misuse(ctx, "parameter '%s' must not contain a line break", k) end
      headers[#headers + 1] = { def.name or k, s }
    else
      body[k] = v
      body_used = true
    end
  end

  -- Path: expand {label} and {label+} (greedy: '/' kept) from the URI template.
  local uri = http.uri or "/"
  local path, static_query = uri:match("^([^?]*)%??(.*)$")
  path = path:gsub("{([A-Za-z0-9_]+)(%+?)}", function(label, plus)
    local entry = labels[label]
    if not entry then
      local member = label
      for name, def in pairs(input) do
        if def.location == "uri" and (def.name or name) == label then member = name end
      end
      misuse(ctx, "missing required parameter '%s'", member)
    end
    return render_label(entry[1], entry[2], ctx, entry[3], plus == "+")
  end)

  -- Query: stable order (sorted by encoded key, repeated keys in list order).
  local order = {}
  for i = 1, #qparams do order[i] = i end
  table.sort(order, function(a, b)
    local ka, kb = qparams[a][1], qparams[b][1]
    if ka ~= kb then return ka < kb end
    return a < b
  end)
  local qs = {}
  if static_query ~= "" then qs[1] = static_query end
  for _, i in ipairs(order) do qs[#qs + 1] = qparams[i][1] .. "=" .. qparams[i][2] end

  local body_text = ""
  if body_used or BODY_METHODS[method] or has_body_members then
    local body_def = { members = {} }
    for name, def in pairs(input) do
      if not def.location then body_def.members[name] = def end
    end
    body_text = M.json_encode(body, body_def, ctx, "")
    table.insert(headers, 1, { "Content-Type", "application/json" })
  end

  return {
    method = method,
    path = path,
    query = table.concat(qs, "&"),
    headers = headers,
    body = body_text,
  }
end

--- Parse a 2xx rest-json response: the decoded JSON object (every field kept).
-- nil, err on an empty or malformed body; never raises.
function M.parse(svc, opname, _op, resp)
  local out, err = M.parse_body(svc, opname, resp)
  if not out then return nil, err end
  return out
end

return M
