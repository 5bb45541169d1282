-- Regression (issue 16, found by spec 15's fuzz): cjson reads a JSON number
-- beyond a double's range (1e999, -1e400) as inf. The bounded decoder passed
-- it on, and the first encoder that met it (the report, the plan's
-- canonical JSON, the journal) raised "inf is not a JSON number" long after
-- the response was accepted. Such a body is malformed: a ParseError at once.
local canonical = require "eksegress.canonical"
local common = require "eksegress.protocols.common"
local report_json = require "eksegress.report.json"
local services = require "eksegress.services"

local function parse(svcname, opname, body)
  local svc = assert(services.get(svcname))
  local codec = require("eksegress.protocols." .. svc.protocol_module)
  return codec.parse(svc, opname, svc.operations[opname], { status = 200, headers = {}, body = body })
end

describe("regressions: JSON numbers beyond a double's range", function()
  it("regression: a response number of 1e999 is a ParseError, not inf that breaks the report and the journal",
     function()
    for _, n in ipairs{ "1e999", "-1e400", "14811e999830215", "1" .. ("0"):rep(400) } do
      local out, err = parse("eks", "DescribeCluster", '{"cluster":{"name":"a","createdAt":' .. n .. "}}")
      assert.is_nil(out, n)
      assert.are.equal("ParseError", err.code)
      assert.is_truthy(err.message:find("beyond the range of a double", 1, true), err.message)
      out, err = parse("organizations", "ListAccounts", '{"Accounts":[{"JoinedTimestamp":[' .. n .. "]}]}")
      assert.is_nil(out, n)
      assert.are.equal("ParseError", err.code)
    end
  end)

  it("numbers within range still decode, as integers where integral, and every encoder takes them", function()
    local t = assert(common.json_decode('{"a":1.7976931348623157e308,"b":-4.9e-324,"c":1e300,"d":2.0,'
      .. '"e":9223372036854775808,"f":[1e-400,-0.0]}'))
    assert.are.equal(1.7976931348623157e308, t.a)
    assert.are.equal(math.tointeger(2), t.d)
    assert.are.equal("integer", math.type(t.d))
    assert.are.equal(0.0, t.f[1]) -- an underflow is a zero, not an error
    assert.are.equal("string", type(canonical.encode(t)))
    assert.are.equal("string", type(report_json.encode(t)))
  end)
end)
