--- Shape the neutral XML tree of `eksegress.core.xml_decode` into plain Lua tables.
--
-- The C decoder reports structure only: every element is
-- `{ name = "localName", text = "...", [1] = child, [2] = child, ... }`, with the
-- namespace stripped and `text` kept byte for byte on leaves ("" on elements with
-- children). Deciding what is a list is this module's job:
--
--   * an element whose children are all `<item>` (EC2) or `<member>` (Query) is a list;
--   * an element known to be a map (`opts.maps[name]`, a Query map such as IAM's
--     EvalDecisionDetails) is `{ [key] = shaped value }` from its
--     `<entry><key/><value/></entry>` children (`{}` when it has none);
--   * a childless element known to be a list (`opts.lists[name]`, or a name ending in
--     "Set" unless `opts.set_suffix == false`) whose text is blank is an empty list;
--   * any other element with children is a map from child name to shaped child (a name
--     repeated among siblings collects its values into a list, so nothing is dropped);
--   * any other leaf is its text, as a string. Values are never guessed into numbers or
--     booleans: callers convert with the typed helpers below where they need to.
--
-- Wire element names are kept (EC2 camelCase `subnetId`, STS PascalCase `Arn`), and
-- unknown elements are kept like known ones.
local timeutil = require "eksegress.timeutil"

local M = {}

local WRAPPERS = { item = true, member = true }

-- XML whitespace is exactly space, tab, CR and LF (not the locale's %s).
local function blank(s)
  return s == nil or s == "" or not s:find("[^ \t\r\n]")
end

local function is_list_name(name, opts)
  if opts.lists and opts.lists[name] then return true end
  if opts.set_suffix ~= false and #name > 3 and name:sub(-3) == "Set" then return true end
  return false
end

local shape_node, shape_map

-- A Query map: <entry><key>k</key><value>v</value></entry> children.
local function shape_entries(node, opts)
  local t = {}
  for i = 1, #node do
    local e = node[i]
    local k, v = M.child(e, "key"), M.child(e, "value")
    if e.name == "entry" and k and #k == 0 then
      t[k.text] = v and shape_node(v, opts) or ""
    end
  end
  return t
end

function shape_node(node, opts)
  local n = #node
  if opts.maps and opts.maps[node.name] then return shape_entries(node, opts) end
  if n == 0 then
    if blank(node.text) and is_list_name(node.name, opts) then return {} end
    return node.text or ""
  end
  for i = 1, n do
    if not WRAPPERS[node[i].name] then return shape_map(node, opts) end
  end
  local t = {}
  for i = 1, n do t[i] = shape_node(node[i], opts) end
  return t
end

function shape_map(node, opts)
  local t, repeated = {}, nil
  for i = 1, #node do
    local c = node[i]
    local k, v = c.name, shape_node(c, opts)
    local prev = t[k]
    if prev == nil then
      t[k] = v
    elseif repeated and repeated[k] then
      prev[#prev + 1] = v
    else
      -- A repeated sibling name (a flattened list): keep every value, in order.
      repeated = repeated or {}
      repeated[k] = true
      t[k] = { prev, v }
    end
  end
  return t
end

local NO_OPTS = {}

--- Shape one element (list, map or string, by the rules above).
-- @param node an element of the decoder's tree
-- @tparam[opt] table opts `lists` (set of element names that are lists), `maps`
--   (set of element names that are Query maps), `set_suffix` (default true: a
--   blank leaf whose name ends in "Set" is an empty list)
function M.shape(node, opts)
  return shape_node(node, opts or NO_OPTS)
end

--- Shape an element's children as a map, whatever they look like (for the
-- `<XResponse>` root and the `<XResult>` wrapper). A leaf gives `{}`.
function M.shape_map(node, opts)
  return shape_map(node, opts or NO_OPTS)
end

--- First direct child of `node` named `name`, or nil.
function M.child(node, name)
  if type(node) ~= "table" then return nil end
  for i = 1, #node do
    if node[i].name == name then return node[i] end
  end
  return nil
end

--- Text of the first direct child named `name`, or nil (also nil for a child that
-- has children of its own).
function M.child_text(node, name)
  local c = M.child(node, name)
  if c and #c == 0 then return c.text end
  return nil
end

local core
--- Decode an XML body with the C decoder: tree, or nil, err ({code, message}).
-- Never raises, even if the C module is missing.
function M.decode(body)
  if type(body) ~= "string" then
    return nil, { code = "ParseError", message = "response body is not a string" }
  end
  if not core then
    local ok, mod = pcall(require, "eksegress.core")
    if not ok or type(mod) ~= "table" or type(mod.xml_decode) ~= "function" then
      return nil, { code = "XmlUnavailable", message = "eksegress.core.xml_decode is not available" }
    end
    core = mod
  end
  local ok, tree, err = pcall(core.xml_decode, body)
  if not ok then
    return nil, { code = "XmlParseError", message = tostring(tree) }
  end
  if not tree then
    if type(err) == "table" then
      return nil, { code = err.code or "XmlParseError", message = err.message or "malformed XML" }
    end
    return nil, { code = "XmlParseError", message = tostring(err or "malformed XML") }
  end
  return tree
end

---------------------------------------------------------------------------------------
-- Typed helpers: responses keep text; these convert where a caller needs a value.
-- Each returns nil for nil or for text that is not of the type (never raises).

--- "true" / "false" (the only spellings EC2 and STS use) to a boolean.
function M.to_boolean(s)
  if s == "true" then return true elseif s == "false" then return false end
  return nil
end

--- Decimal integer text (optional sign, surrounding XML whitespace allowed).
function M.to_integer(s)
  if type(s) ~= "string" then return nil end
  local d = s:match("^[ \t\r\n]*([+-]?%d+)[ \t\r\n]*$")
  if not d then return nil end
  return math.tointeger(tonumber(d))
end

--- Decimal number text (no hex, no inf/nan).
function M.to_number(s)
  if type(s) ~= "string" then return nil end
  local d = s:match("^[ \t\r\n]*([+-]?[%d.]+[eE]?[+-]?%d*)[ \t\r\n]*$")
  if not d or not d:find("%d") then return nil end
  return tonumber(d)
end

--- ISO 8601 timestamp ("2015-08-30T13:36:00Z", fractional seconds and "+hh:mm"
-- offsets accepted) to UNIX seconds (an integer, or a float with a fraction).
function M.to_timestamp(s)
  if type(s) ~= "string" then return nil end
  local t, frac = timeutil.parse_iso8601(s)
  if not t then return nil end
  if frac ~= 0 then return t + frac end
  return t
end

--- A tag list (`{{key=, value=}, ...}` as EC2 shapes it, or `{{Key=, Value=}}` as
-- STS/IAM do) to a map name -> value. Non-list input gives an empty map.
function M.tags(list)
  local t = {}
  if type(list) ~= "table" then return t end
  for _, e in ipairs(list) do
    if type(e) == "table" then
      local k = e.key or e.Key
      if type(k) == "string" then t[k] = e.value or e.Value or "" end
    end
  end
  return t
end

return M
