--- AWS Query protocol (STS, IAM): form-encoded POST requests, XML responses
-- `<{Op}Response><{Op}Result>...</{Op}Result><ResponseMetadata>`.
--
--     local req = query.build(svc, "AssumeRole", op, params)
--     -- { method = "POST", path = "/", query = "",
--     --   headers = { {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"} },
--     --   body = "Action=AssumeRole&Version=2011-06-15&RoleArn=...&RoleSessionName=..." }
--     local out, err = query.parse(svc, "AssumeRole", op, resp)
--     -- out = the shaped <AssumeRoleResult> plus ResponseMetadata = { RequestId = "..." }
--
-- Lists carry `.member.N` on the wire (eksegress.protocols.form describes the input
-- shapes); responses are decoded by eksegress.protocols.xmlresponse.
local form = require "eksegress.protocols.form"
local xmlresponse = require "eksegress.protocols.xmlresponse"
local xmltable = require "eksegress.protocols.xmltable"

local M = {}

M.CONTENT_TYPE = form.CONTENT_TYPE

--- Build a Query request (see the module description). Raises on misuse.
function M.build(svc, opname, op, params)
  return form.build(svc, opname, op, params, false)
end

--- Parse a 2xx Query response: the shaped `<{Op}Result>` (a map; `{}` when the
-- operation has no result) plus `ResponseMetadata` (`{RequestId = ...}`).
-- Returns nil, err ({code = "ParseError" | AWS code, message, ...}) on a malformed
-- body; never raises.
function M.parse(svc, opname, _op, resp)
  local tree, err = xmlresponse.response_tree(svc, opname, resp)
  if not tree then return nil, err end
  local opts = xmlresponse.xml_opts(svc)
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

--- Error details of a non-2xx response (`<ErrorResponse><Error>`): {code, message,
-- type, request_id}, or nil when the body is not an error document.
M.parse_error = xmlresponse.parse_error

return M
