-- Regression (issue 16, found by spec 15's fuzz at make-fuzz length): an XML
-- error document sent with a 2xx status whose <Code> or <Message> is empty
-- gave an error whose code or message was "" (printed as nothing). Blank
-- fields count as absent: the message says what happened, the code is
-- UnknownError when there is none.
local services = require "eksegress.services"
local xmlresponse = require "eksegress.protocols.xmlresponse"

local function parse(svcname, opname, body)
  local svc = assert(services.get(svcname))
  local codec = require("eksegress.protocols." .. svc.protocol_module)
  return codec.parse(svc, opname, svc.operations[opname], { status = 200, headers = {}, body = body })
end

describe("regressions: blank fields of XML error documents", function()
  it("regression: an error document in a 2xx with an empty Message or Code has a message and a code", function()
    local _, err = parse("sts", "GetCallerIdentity", "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling"
      .. "</Code><Message></Message></Error><RequestId>r</RequestId></ErrorResponse>")
    assert.are.equal("Throttling", err.code)
    assert.are.equal("error document in a 2xx response", err.message)
    _, err = parse("ec2", "DescribeRegions", "<Response><Errors><Error><Code> </Code><Message>slow down</Message>"
      .. "</Error></Errors><RequestID></RequestID></Response>")
    assert.are.equal("UnknownError", err.code)
    assert.are.equal("slow down", err.message)
    assert.is_nil(err.request_id)
  end)

  it("non-blank fields are kept as sent", function()
    local info = xmlresponse.parse_error(nil, "X", nil, { status = 400, body = "<ErrorResponse><Error>"
      .. "<Code>AccessDenied</Code><Message>no</Message></Error><RequestId>r-1</RequestId></ErrorResponse>" })
    assert.are.same({ code = "AccessDenied", message = "no", request_id = "r-1" }, info)
  end)
end)
