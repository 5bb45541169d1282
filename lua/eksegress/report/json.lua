--- The `json` format: the document as it is, with a stable key order, so two
-- reports of the same fleet are byte-identical and diff line by line.
--
-- cjson cannot do this (its key order follows the hash table), so this is a
-- small encoder of its own. Keys of the report documents come in the order
-- of KEY_ORDER (a document reads top-down: identity, state, details, lists);
-- any other key follows, in byte order. Lua cannot tell an empty list from an
-- empty object: an empty table is written as [] under the keys that hold
-- lists in the documents (ARRAY_KEYS), or when it carries M.array_mt (or
-- cjson's array metatable, where that cjson has one), and as {} otherwise:
-- a producer marks an empty list elsewhere (in evidence, say) with
-- setmetatable(t, json.array_mt). cjson.null is null.
-- Strings are repaired to valid UTF-8 (invalid bytes become U+FFFD).
local text = require "eksegress.report.text"
local sink = require "eksegress.report.sink"

local put = sink.put

local M = {}

local KEY_ORDER = {
  "schema", "generated_at", "tool", "require", "scope",
  "target", "id", "account", "region", "name", "cluster", "vpc_id", "arn",
  "state", "outcome", "reason",
  "status", "severity", "version", "egress_mode",
  "endpoint_public_access", "endpoint_private_access", "platform_version", "created_at",
  "code", "title", "message", "resources", "evidence", "fix", "request_id",
  "clusters", "accounts", "regions", "organization",
  "by_mode", "by_account", "by_region", "compliant", "noncompliant",
  "preflight", "blocking", "warnings", "results", "summary", "errors",
}
local RANK = {}
for i, k in ipairs(KEY_ORDER) do RANK[k] = i end
M.KEY_ORDER = KEY_ORDER

local ARRAY_KEYS = { clusters = true, accounts = true, errors = true, results = true,
                     resources = true, regions = true, regions_not_enabled = true }

local cjson_ok, cjson = pcall(require, "cjson")
local NULL = cjson_ok and cjson.null or nil
local CJSON_ARRAY_MT = cjson_ok and cjson.array_mt or nil

--- Mark a table as a list, so it is written as [] even when empty.
M.array_mt = { __name = "eksegress.report.json.array" }
local EMPTY_ARRAY = cjson_ok and cjson.empty_array or nil

local function key_order(rank)
  return function(a, b)
    local ra, rb = rank[a], rank[b]
    if ra and rb then return ra < rb end
    if ra or rb then return ra ~= nil end
    return a < b
  end
end
local DEFAULT_LESS = key_order(RANK)

local ESC = { ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
              ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }
local function esc(c) return ESC[c] or string.format("\\u%04x", c:byte()) end
-- Inside an HTML <script> block: no "<" (so neither "</script>" nor "<!--"
-- can appear), and no U+2028/U+2029 (line terminators in older JavaScript).
local SCRIPT_ESC = { ["<"] = "\\u003c", [">"] = "\\u003e", ["&"] = "\\u0026" }

local function quote(s, script_safe)
  s = text.utf8_clean(s):gsub('[%c"\\]', esc)
  if script_safe then
    s = s:gsub("[<>&]", SCRIPT_ESC):gsub("\226\128\168", "\\u2028"):gsub("\226\128\169", "\\u2029")
  end
  return '"' .. s .. '"'
end

-- "array" (with its length), "object" (with its sorted keys), or raises.
local function shape(t, key, ctx)
  local mt = getmetatable(t)
  if mt ~= nil and (mt == M.array_mt or mt == CJSON_ARRAY_MT) then return "array", #t end
  local n, keys = 0, {}
  for k in pairs(t) do
    n = n + 1
    if type(k) == "string" then keys[#keys + 1] = k end
  end
  if n == 0 then
    if ctx.array_keys[key] then return "array", 0 end
    return "object", keys
  end
  if #keys == n then
    table.sort(keys, ctx.less)
    return "object", keys
  end
  if #keys == 0 and #t == n then return "array", n end
  error("report.json: a table mixes list and object keys, or has holes (under " .. tostring(key) .. ")", 0)
end

-- "\n" and the indent of a level, and the same after a comma (pretty only).
local function pads(indent)
  local pad, sep = {}, {}
  for depth = 0, 65 do
    pad[depth] = "\n" .. string.rep(indent, depth)
    sep[depth] = "," .. pad[depth]
  end
  return pad, sep
end

-- Writes v through the sink ctx.sink; the same bytes, piece by piece, that
-- joining each table's encoded members would give.
local function encode(v, ctx, depth, key)
  local out = ctx.sink
  local t = type(v)
  if t == "string" then return put(out, quote(v, ctx.script_safe)) end
  if t == "number" then
    local s = text.number(v)
    if not s then error("report.json: cannot encode " .. tostring(v) .. " (under " .. tostring(key) .. ")", 0) end
    return put(out, s)
  end
  if t == "boolean" then return put(out, v and "true" or "false") end
  if v == nil or (NULL ~= nil and v == NULL) then return put(out, "null") end
  if EMPTY_ARRAY ~= nil and v == EMPTY_ARRAY then return put(out, "[]") end
  if t ~= "table" then error("report.json: cannot encode a " .. t .. " (under " .. tostring(key) .. ")", 0) end
  if ctx.open[v] then error("report.json: the document refers to itself (under " .. tostring(key) .. ")", 0) end
  if depth > 64 then error("report.json: the document nests deeper than 64 levels", 0) end
  ctx.open[v] = true
  local kind, keys = shape(v, key, ctx)
  local n = kind == "array" and keys or #keys
  if n == 0 then
    put(out, kind == "array" and "[]" or "{}")
    ctx.open[v] = nil
    return
  end
  put(out, kind == "array" and "[" or "{")
  local pad, sep = ctx.pad and ctx.pad[depth + 1], ctx.sep and ctx.sep[depth + 1] or ","
  if pad then put(out, pad) end
  for i = 1, n do
    if i > 1 then put(out, sep) end
    if kind == "array" then
      encode(v[i], ctx, depth + 1, key)
    else
      local k = keys[i]
      local qk = ctx.keys[k]
      if not qk then
        qk = quote(k, ctx.script_safe) .. ctx.colon
        ctx.keys[k] = qk
      end
      put(out, qk)
      encode(v[k], ctx, depth + 1, k)
    end
  end
  if pad then put(out, ctx.pad[depth]) end
  put(out, kind == "array" and "]" or "}")
  ctx.open[v] = nil
end

local function context(opts)
  local pretty = opts.pretty ~= false
  local ctx = {
    open = {},
    keys = {},
    script_safe = opts.script_safe,
    colon = pretty and ": " or ":",
    less = DEFAULT_LESS,
    array_keys = ARRAY_KEYS,
    pretty = pretty,
  }
  if pretty then ctx.pad, ctx.sep = pads(string.rep(" ", opts.indent or 2)) end
  if opts.key_order then
    local rank = {}
    for i, k in ipairs(opts.key_order) do rank[k] = rank[k] or i end
    ctx.less = key_order(rank)
  end
  if opts.arrays then
    ctx.array_keys = setmetatable({}, { __index = ARRAY_KEYS })
    for _, k in ipairs(opts.arrays) do ctx.array_keys[k] = true end
  end
  return ctx
end

local function filler(v, opts)
  local ctx = context(opts or {})
  return function(s)
    ctx.sink = s
    encode(v, ctx, 0, nil)
    if ctx.pretty then put(s, "\n") end
  end
end

--- Encode a value as JSON.
-- @param v the value (tables, strings, numbers, booleans, cjson.null)
-- @tparam[opt] table opts pretty (default true), indent (spaces, default 2),
--   script_safe (escape <, >, & and U+2028/9: for embedding in HTML),
--   key_order (a list of keys that come first, in that order, instead of
--   the report documents' order), arrays (a list of more keys under which
--   an empty table is written as [])
-- @treturn string JSON text (pretty output ends with a newline)
function M.encode(v, opts)
  return sink.collect(filler(v, opts))
end

--- Write a value as JSON to `write(chunk)` a chunk at a time (see
-- report.sink): the same bytes as M.encode, never all in memory at once.
-- @tparam function write chunk -> true | nil, err
-- @treturn true|nil true, or nil and write's error (raises as M.encode does
--   on a value it cannot encode, after the chunks already written)
function M.write(v, opts, write)
  return sink.run(write, filler(v, opts))
end

--- Renderer entry (report.render): the document as JSON.
-- Options: pretty (default true), indent (default 2).
function M.render(_kind, doc, opts)
  return M.encode(doc, { pretty = opts.pretty, indent = opts.indent })
end

--- Streaming renderer entry (report.stream).
function M.stream(_kind, doc, opts, write)
  return M.write(doc, { pretty = opts.pretty, indent = opts.indent }, write)
end

return M
