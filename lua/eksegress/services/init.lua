--- Registry of the supported AWS service definitions, and the checks the
-- client runs on what goes in and comes out of them.
--
--     local services = require "eksegress.services"
--     local svc = services.get("eks")                 -- or nil, err
--     local op = svc.operations.DescribeCluster        -- nil for an unknown operation
--     local codec = require("eksegress.protocols." .. svc.protocol_module)
--     local req = codec.build(svc, "DescribeCluster", op, { name = "prod" })
--
-- A service definition has: name, signing_name, endpoint_prefix, protocol
-- ("rest-json" | "ec2" | "query" | "json"), protocol_module ("restjson" | "ec2" |
-- "query" | "json"), api_version, global (true: one endpoint per partition, see
-- global_endpoints), operations, waiters, and the policy fields the client
-- reads (it knows no service by name):
--   default_region   the region used when none is configured (STS: us-east-1;
--                    Organizations: its home region in the aws partition)
--   guarded          true when the engine's irreversibility guard judges this
--                    service's requests (EKS): the client then resolves the
--                    caller identity for the guard's audit lines before the
--                    first mutating call with each credentials
-- An operation has: name, http = {method, uri}, input (member definitions, see
-- eksegress.protocols.query and .restjson), paginator ({input_token, output_token,
-- limit_key, result_key} or nil), unsigned (true: send without SigV4), and:
--   mutating         true for the calls that change state
--   observe_before   function(params) -> operation, params | nil: a read the client
--                    makes, with the same credentials and region, just before this
--                    call, and whose engine request id it passes as `observed_with`
--                    (EKS: UpdateClusterConfig that sets the egress mode first
--                    describes the cluster, so the guard judges the update by the
--                    observation its own describe produced)
--   output_types     { ["member.path"] = type, ... }: the members of a 2xx response
--                    that the library and its users rely on, checked by
--                    `check_output` (a wrongly typed one is a ParseError naming it,
--                    never a success). Types: "table" (an object/structure),
--                    "string", "number", "integer", "boolean", "list", "list<T>"
--                    (T one of the others: every element checked). A trailing "?"
--                    makes the member optional (absent or JSON null); otherwise it
--                    must be present whenever its parent is. Paths are dotted;
--                    a child is checked only when its parent is present.
--                    Paths name object members only (no list indexes): type a
--                    list's elements with list<T>. For example (EC2):
--                      output_types = { subnetSet = "list<table>", nextToken = "string?" }
local cjson = require "cjson"
local errors = require "eksegress.errors"
local M = {}

local NAMES = { "ec2", "eks", "iam", "organizations", "sts" }
local KNOWN = {}
for _, n in ipairs(NAMES) do KNOWN[n] = true end

--- The definition of a service by its lower-case name, or nil, err.
function M.get(name)
  if type(name) ~= "string" or not KNOWN[name] then
    return nil, errors.new("UnknownService", "unknown service '" .. tostring(name) .. "'")
  end
  return require("eksegress.services." .. name)
end

--- The supported service names, sorted.
function M.names()
  return table.move(NAMES, 1, #NAMES, 1, {})
end

--- Follow a dotted path ("cluster.status") through nested tables; nil when any
-- step is missing. A numeric step indexes a list ("update.errors.1.errorCode").
function M.path_get(t, path)
  local v = t
  for step in string.gmatch(path, "[^.]+") do
    if type(v) ~= "table" then return nil end
    local n = math.tointeger(tonumber(step))
    local x = v[step]
    if x == nil and n then x = v[n] end
    v = x
  end
  return v
end

--- Whether a waiter acceptor matches the outcome of one attempt (out, err as the
-- client returns them; err.code is the AWS error code).
function M.match_acceptor(acceptor, out, err)
  local matcher = acceptor.matcher or (acceptor.path and "path") or "error"
  if matcher == "error" then
    return err ~= nil and type(err) == "table" and err.code == acceptor.expected
  elseif matcher == "path" then
    return out ~= nil and M.path_get(out, acceptor.path) == acceptor.expected
  elseif matcher == "status" then
    return type(err) == "table" and err.status == acceptor.expected
  end
  return false
end

-- ---------------------------------------------------------------------------
-- Input shape: what the codecs can walk without recursing forever.

--- The deepest nesting accepted in operation parameters.
M.MAX_PARAM_DEPTH = 64

--- Check that params nest at most MAX_PARAM_DEPTH tables deep and contain no
-- cycle (a table inside itself). Shared tables that are not cycles are fine.
-- @treturn[1] true
-- @treturn[2] nil, message naming the path
function M.check_params(params)
  local on_path = {}
  local function walk(t, depth, path)
    if depth > M.MAX_PARAM_DEPTH then
      return nil, ("params nest deeper than %d tables (at %s)"):format(M.MAX_PARAM_DEPTH, path)
    end
    on_path[t] = true
    for k, v in next, t do
      if type(v) == "table" then
        local here = path .. "." .. tostring(k)
        if on_path[v] then
          return nil, ("params contain a cycle: %s is a table that contains itself"):format(here)
        end
        local ok, why = walk(v, depth + 1, here)
        if not ok then return nil, why end
      end
    end
    on_path[t] = nil
    return true
  end
  return walk(params, 1, "params")
end

-- ---------------------------------------------------------------------------
-- Output types.

local function is_list(v)
  if type(v) ~= "table" then return false end
  local n = #v
  for k in next, v do
    if math.type(k) ~= "integer" or k < 1 or k > n then return false end
  end
  return true
end

local SCALAR = {
  -- an empty table passes: JSON {} and [] decode alike
  table = function(v) return type(v) == "table" and (next(v) == nil or not is_list(v)) end,
  string = function(v) return type(v) == "string" end,
  number = function(v) return type(v) == "number" end,
  integer = function(v) return math.type(v) == "integer" end,
  boolean = function(v) return type(v) == "boolean" end,
  list = is_list,
}

local WORDS = { table = "an object", string = "a string", number = "a number", integer = "an integer",
                boolean = "a boolean", list = "a list" }

local function shown(v)
  if v == cjson.null then return "null" end
  if type(v) == "table" then return is_list(v) and #v > 0 and "a list" or "an object" end
  if type(v) == "string" then return ("a string (%q)"):format(#v > 40 and v:sub(1, 37) .. "..." or v) end
  return type(v) .. " " .. tostring(v)
end

-- op -> sorted list of {path, steps, kind, element, optional}, built once.
local compiled = setmetatable({}, { __mode = "k" })

local function compile(op)
  local rules = compiled[op]
  if rules then return rules end
  rules = {}
  for path, spec in pairs(op.output_types or {}) do
    local optional = spec:sub(-1) == "?"
    local t = optional and spec:sub(1, -2) or spec
    local kind, element = t:match("^(list)<(%w+)>$")
    kind = kind or t
    assert(SCALAR[kind] and (element == nil or SCALAR[element]),
      "output_types of " .. tostring(op.name) .. ": bad type '" .. spec .. "' for " .. path)
    local steps = {}
    for step in path:gmatch("[^.]+") do steps[#steps + 1] = step end
    rules[#rules + 1] = { path = path, steps = steps, kind = kind, element = element, optional = optional }
  end
  table.sort(rules, function(a, b) return a.path < b.path end)
  compiled[op] = rules
  return rules
end

--- Check a decoded 2xx response against op.output_types.
-- @treturn[1] true
-- @treturn[2] nil, message naming the member
function M.check_output(op, out)
  local rules = compile(op)
  if #rules == 0 then return true end
  if type(out) ~= "table" then return nil, "the response is not an object" end
  for _, r in ipairs(rules) do
    local v = out
    local parent_missing = false
    for i, step in ipairs(r.steps) do
      v = v[step]
      if i < #r.steps and (type(v) ~= "table") then
        -- an absent, null or mistyped parent: its own rule reports it
        parent_missing = true
        break
      end
    end
    if not parent_missing then
      if v == nil or v == cjson.null then
        if not r.optional then return nil, ("member '%s' is missing"):format(r.path) end
      elseif not SCALAR[r.kind](v) then
        return nil, ("member '%s' must be %s (got %s)"):format(r.path, WORDS[r.kind], shown(v))
      elseif r.element then
        for i = 1, #v do
          if not SCALAR[r.element](v[i]) then
            return nil, ("member '%s' must be a list of %ss (item %d is %s)"):format(r.path, r.element, i,
              shown(v[i]))
          end
        end
      end
    end
  end
  return true
end

return M
