--- The EC2 protocol: Query-style form requests without `.member`, XML responses.
--
--     local req = ec2.build(svc, "DescribeSubnets", op, {
--       Filters = { { Name = "vpc-id", Values = { "vpc-1" } } }, SubnetIds = { "subnet-1" } })
--     -- req.body == "Action=DescribeSubnets&Version=2016-11-15&Filter.1.Name=vpc-id&" ..
--     --             "Filter.1.Value.1=vpc-1&SubnetId.1=subnet-1"
--     local out, err = ec2.parse(svc, "DescribeSubnets", op, resp)
--     -- out = { requestId = "...", subnetSet = { {subnetId = "...", ...}, ... }, nextToken = "..." }
--
-- Input uses the API member names (as the AWS CLI and SDKs do: Filters, SubnetIds,
-- MaxResults, NextToken, DryRun); each definition's `wire` gives the EC2 wire name
-- (queryName, or the capitalised locationName). Lists flatten to Name.1, Name.2, ...;
-- empty lists send nothing. See eksegress.protocols.form for the shape format.
--
-- Responses keep the XML element names: the children of `<{Op}Response>` (requestId,
-- the `...Set` lists, nextToken). `nextToken` may be present and empty on the last page.
local form = require "eksegress.protocols.form"
local xmlresponse = require "eksegress.protocols.xmlresponse"
local xmltable = require "eksegress.protocols.xmltable"

local M = {}

M.CONTENT_TYPE = form.CONTENT_TYPE

--- Build an EC2 request: POST / with a form body (Action and Version first).
function M.build(svc, opname, op, params)
  return form.build(svc, opname, op, params, true)
end

--- Parse a 2xx EC2 response: the shaped children of the `<{Op}Response>` root.
-- nil, err on a malformed or empty body, or an error document; never raises.
function M.parse(svc, opname, _op, resp)
  local tree, err = xmlresponse.response_tree(svc, opname, resp)
  if not tree then return nil, err end
  return xmltable.shape_map(tree, xmlresponse.xml_opts(svc))
end

--- Error details of a non-2xx response (`<Response><Errors><Error>` with `RequestID`):
-- {code, message, request_id}, or nil when the body is not an error document.
M.parse_error = xmlresponse.parse_error

return M
