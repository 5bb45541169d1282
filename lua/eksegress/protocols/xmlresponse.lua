--- XML responses, the response half of the Query and EC2 protocols: decoding a
-- body with the C decoder (bounded: eksegress.core.xml_decode) and recognising
-- the two error documents:
--   Query  <ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/>
--   EC2    <Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/>
-- Shaping the tree into tables is eksegress.protocols.xmltable's job.
local common = require "eksegress.protocols.common"
local errors = require "eksegress.errors"
local xmltable = require "eksegress.protocols.xmltable"

local M = {}

--- The xmltable options of a service: its list and map element names
-- (xml_lists, xml_maps) and whether a blank "...Set" leaf is an empty list
-- (xml_set_suffix).
function M.xml_opts(svc)
  return { lists = svc.xml_lists, maps = svc.xml_maps, set_suffix = svc.xml_set_suffix }
end

--- Decode the body of a 2xx XML response: tree, or nil, err. An empty body is an error
-- (every supported operation returns a document; an empty one means truncation).
function M.decode_body(svc, opname, resp)
  local body = type(resp) == "table" and resp.body or nil
  if type(body) ~= "string" or body == "" then
    return common.parse_failure(svc, opname, resp, "empty response body")
  end
  local tree, derr = xmltable.decode(body)
  if not tree then
    return common.parse_failure(svc, opname, resp, "malformed XML response: " .. tostring(derr.message))
  end
  return tree
end

-- Text of a child, nil when absent or blank: an empty <Code/> or <Message/>
-- is no code or message (an error with an empty message printed as nothing).
local function child_text(node, name)
  local s = xmltable.child_text(node, name)
  if s and s:find("^[ \t\r\n]*$") then return nil end
  return s
end

--- Error details from an XML error document (either shape above), or nil when the
-- tree is not one: {code, message, type, request_id}.
function M.error_from_tree(tree)
  if type(tree) ~= "table" then return nil end
  local e = xmltable.child(tree, "Error")
  if not e then
    local errs = xmltable.child(tree, "Errors")
    e = errs and xmltable.child(errs, "Error")
  end
  if not e then return nil end
  local info = {
    code = child_text(e, "Code"),
    message = child_text(e, "Message"),
    type = child_text(e, "Type"),
    request_id = child_text(tree, "RequestId") or child_text(tree, "RequestID"),
  }
  if info.code then info.code = info.code:match("^[ \t\r\n]*(.-)[ \t\r\n]*$") end
  return info
end

--- The decoded tree of a 2xx response, or nil, err: a malformed body, an error
-- document sent with a 2xx status (reported as the AWS error), or a root that is
-- not `<...Response>`.
function M.response_tree(svc, opname, resp)
  local tree, err = M.decode_body(svc, opname, resp)
  if not tree then return nil, err end
  local info = (tree.name == "ErrorResponse" or tree.name == "Response") and M.error_from_tree(tree)
  if info then
    return nil, errors.new(info.code or "UnknownError", info.message or "error document in a 2xx response", {
      service = svc.name, operation = opname, request_id = info.request_id,
      status = type(resp) == "table" and resp.status or nil,
    })
  end
  if not tree.name:find("Response$") then
    return common.parse_failure(svc, opname, resp, "unexpected root element in response")
  end
  return tree
end

--- Error details of a non-2xx response: {code, message, type, request_id} (fields
-- nil when absent), or nil when the body is not an XML error document. Never raises.
function M.parse_error(_svc, _opname, _op, resp)
  local body = type(resp) == "table" and resp.body or nil
  if type(body) ~= "string" or body == "" then return nil end
  return M.error_from_tree(xmltable.decode(body))
end

return M
