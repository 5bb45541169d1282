--- The AWS json 1.1 protocol (Organizations): every operation is
-- `POST /` with `X-Amz-Target: <targetPrefix>.<Op>`, a JSON body and a JSON response.
--
--     local req = json.build(svc, "ListAccounts", op, { MaxResults = 20 })
--     -- { method = "POST", path = "/", query = "",
--     --   headers = { {"Content-Type", "application/x-amz-json-1.1"},
--     --               {"X-Amz-Target", "AWSOrganizationsV20161128.ListAccounts"} },
--     --   body = '{"MaxResults":20}' }
--
-- X-Amz-Target is part of the protocol (it names the operation), unlike the X-Amz-*
-- headers the signer adds; the signer must sign it like any other header.
-- Input shapes and JSON rules are those of eksegress.protocols.restjson; an empty
-- input is sent as "{}". Members are never dropped.
local common = require "eksegress.protocols.common"
local restjson = require "eksegress.protocols.restjson"

local M = {}

M.CONTENT_TYPE = "application/x-amz-json-1.1"

--- Build a json 1.1 request (see the module description).
function M.build(svc, opname, op, params)
  local ctx
  ctx, params = common.begin_build(svc, opname, op, params)
  if type(svc.target_prefix) ~= "string" then
    error(ctx .. ": service has no target_prefix", 0)
  end
  local body = restjson.json_encode(params, { type = "structure", members = op.input or {} }, ctx, "")
  return {
    method = "POST",
    path = "/",
    query = "",
    headers = {
      { "Content-Type", svc.content_type or M.CONTENT_TYPE },
      { "X-Amz-Target", svc.target_prefix .. "." .. opname },
    },
    body = body,
  }
end

--- Parse a 2xx response: the decoded JSON object. nil, err on an empty or malformed
-- body; never raises.
function M.parse(svc, opname, _op, resp)
  return restjson.parse_body(svc, opname, resp)
end

--- Error details of a non-2xx response: `__type` (namespace# prefix removed) and
-- message, plus the request id header. Same shape as restjson.parse_error.
M.parse_error = restjson.parse_error

return M
