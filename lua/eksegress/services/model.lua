--- Builders the hand-written service definitions share (not a service:
-- services.get never returns it).
--
--     local model = require "eksegress.services.model"
--     local S, I, B = model.STRING, model.INTEGER, model.BOOLEAN
--     local page = model.paginator("NextToken", "nextToken", "MaxResults")
--     local LISTING = { DryRun = B, MaxResults = I, NextToken = S }
--     return model.service({
--       name = "ec2", endpoint_prefix = "ec2", signing_name = "ec2", ...
--     }, {
--       DescribeVpcs = { input = model.members(LISTING, { VpcIds = model.list(S, "VpcId") }),
--                        paginator = page("vpcSet") },
--     }, { http = { method = "POST", uri = "/" } })
--
-- A member definition is { type = ..., wire = ..., required = ..., member = ...,
-- members = ... } (eksegress.protocols.form and .restjson describe the fields).
--
-- What a service definition declares (model.service checks the required ones):
--   name, protocol, protocol_module, api_version, operations, waiters;
--   endpoint_prefix (the host label), signing_name;
--   global = true with global_endpoints = { [partition] = { hostname, region,
--     fips_hostname? } } for a service with one endpoint per partition;
--   fips_endpoints = { [partition] = "host pattern" } where the FIPS host is not
--     "{service}-fips.{region}.{dns}" ({service} is the endpoint prefix);
--   endpoint_env (default: the upper-cased name): the suffix of
--     AWS_ENDPOINT_URL_<X>;
--   xml_lists, xml_namespace (XML protocols); model (where it was taken from).
-- eksegress.endpoints reads these fields: adding a service is adding its model
-- (and its name to eksegress.services).
--
-- An operation may declare output_types = { ["dotted.path"] = "string" |
-- "table" | "list" | "list<string>" | "list<table>" | ... }: the shape of the
-- response members code relies on ("[]" is not used: a list path names the
-- list itself).
local M = {}

M.STRING = { type = "string" }
M.INTEGER = { type = "integer" }
M.LONG = { type = "long" }
M.BOOLEAN = { type = "boolean" }
M.TIMESTAMP = { type = "timestamp" }

--- A copy of a member definition, marked required.
function M.req(def)
  local t = {}
  for k, v in pairs(def) do t[k] = v end
  t.required = true
  return t
end

--- A list member; wire names it on the wire (EC2: "Filter", "SubnetId").
function M.list(member, wire)
  return { type = "list", member = member, wire = wire }
end

--- A structure member.
function M.struct(members)
  return { type = "structure", members = members }
end

--- A new member table holding the members of every argument, in order (a
-- later table's member replaces an earlier one of the same name; a member set
-- to false removes it). nil arguments are skipped.
function M.members(...)
  local out = {}
  for i = 1, select("#", ...) do
    local t = select(i, ...)
    if t then
      for k, v in pairs(t) do
        if v == false then out[k] = nil else out[k] = v end
      end
    end
  end
  return out
end

--- A set { [name] = true } of the names in a list (xml_lists, xml_maps).
function M.set(names)
  local t = {}
  for _, n in ipairs(names) do t[n] = true end
  return t
end

--- A paginator builder for a service's token and limit member names: the
-- function it returns takes the result key and gives a new paginator table.
-- more_results (optional) names the output flag saying another page exists
-- (IAM's IsTruncated).
function M.paginator(input_token, output_token, limit_key, more_results)
  return function(result_key)
    return { input_token = input_token, output_token = output_token, limit_key = limit_key,
             result_key = result_key, more_results = more_results }
  end
end

local REQUIRED = { "name", "protocol", "protocol_module", "api_version", "endpoint_prefix", "signing_name" }

--- Finish a service definition: check its declared fields, attach the
-- operations (each gets its name, and the fields of op_defaults it does not set,
-- such as a shared http binding), and default waiters to {}. Raises on a
-- definition that lacks a required field: a model bug, found at load time.
function M.service(def, operations, op_defaults)
  for _, k in ipairs(REQUIRED) do
    if type(def[k]) ~= "string" then
      error(("services: model %s lacks %s"):format(tostring(def.name), k), 2)
    end
  end
  if def.global and type(def.global_endpoints) ~= "table" then
    error(("services: global service %s has no global_endpoints"):format(def.name), 2)
  end
  for name, op in pairs(operations) do
    op.name = name
    for k, v in pairs(op_defaults or {}) do
      if op[k] == nil then op[k] = v end
    end
  end
  def.operations = operations
  def.waiters = def.waiters or {}
  return def
end

return M
