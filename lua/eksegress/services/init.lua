--- Registry of the supported AWS service definitions.
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
-- global_endpoints), operations, waiters. An operation has: name, http = {method, uri},
-- input (member definitions, see eksegress.protocols.query and .restjson), paginator
-- ({input_token, output_token, limit_key, result_key} or nil), mutating (true for the
-- calls that change state), unsigned (true: send without SigV4).
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

return M
