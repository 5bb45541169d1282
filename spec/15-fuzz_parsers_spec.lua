-- The Lua-level parsers, fuzzed (issue 16, section 1): the INI config and
-- credentials parser, the bounded JSON decoder and the JSON encoders over
-- what it decodes, and the response codecs of the four wire protocols fed
-- whole responses (status, headers, body).
--
-- Seeded mutation of real inputs (helpers.fuzz): each input runs under an
-- instruction budget and a Lua heap bound, so a parser that loops forever,
-- goes quadratic or balloons fails with the input, its seed and its number.
-- The promise checked on every input: a value of the documented shape, or a
-- structured `nil, err`; never a raise. Counts are fixed (reproducible);
-- EKSEGRESS_FUZZ_SCALE multiplies them (`make fuzz` runs a long pass). Each
-- target prints its figures as a TAP comment ("# lua-fuzz: ...") for
-- docs/RELIABILITY.md.
local cjson = require "cjson.safe"
local canonical = require "eksegress.canonical"
local common = require "eksegress.protocols.common"
local config = require "eksegress.config"
local fuzz = require "helpers.fuzz"
local read = require("helpers.fixtures").read
local report_json = require "eksegress.report.json"
local services = require "eksegress.services"

local function report(name, stats)
  io.stdout:write(("# lua-fuzz: %s %d inputs, %d bytes, peak heap growth %d KiB\n"):format(
    name, stats.inputs, stats.bytes, math.ceil(stats.max_kb)))
end

-- Every config and credentials file of the cross-SDK parser tests.
local function ini_seeds()
  local doc = assert(cjson.decode(read("spec/fixtures/sdk-config/profile-parser-tests.json")))
  local seeds = {}
  for _, case in ipairs(doc.tests) do
    for _, k in ipairs{ "configFile", "credentialsFile" } do
      local s = case.input[k]
      if type(s) == "string" and s ~= "" then seeds[#seeds + 1] = s end
    end
  end
  assert(#seeds > 50, "the parser tests hold the seeds")
  return seeds
end

local function fixture_seeds(pattern)
  local seeds = {}
  local p = assert(io.popen("ls spec/fixtures/protocols"))
  for name in p:lines() do
    if name:find(pattern) then seeds[#seeds + 1] = read("spec/fixtures/protocols/" .. name) end
  end
  p:close()
  assert(#seeds > 0, "no seed matches " .. pattern)
  return seeds
end

-- A structured error: an eksegress.errors table with a code and a message.
local function is_structured(err)
  return type(err) == "table" and type(err.code) == "string" and err.code ~= ""
    and type(err.message) == "string" and err.message ~= ""
end

-- Deep equality of decoded JSON (cjson.null included).
local function same(a, b)
  if type(a) ~= "table" or type(b) ~= "table" then return a == b and math.type(a) == math.type(b) end
  for k, v in pairs(a) do
    if not same(v, b[k]) then return false end
  end
  for k in pairs(b) do
    if a[k] == nil then return false end
  end
  return true
end

describe("Lua-level fuzz (seeded, bounded)", function()
  it("config.parse: any text is a profile set or a ConfigParseError naming the line, never a raise", function()
    local seeds = ini_seeds()
    local stats = fuzz.run{
      name = "config.parse", seed = 1501, count = 3000, seeds = seeds,
      check = function(input)
        for _, kind in ipairs{ "config", "credentials" } do
          local set, err = config.parse(input, kind, "f")
          if set then
            for _, bucket in ipairs{ "profiles", "sso_sessions", "services" } do
              assert(type(set[bucket]) == "table", bucket)
              for name, props in pairs(set[bucket]) do
                assert(config.valid_identifier(name), "invalid section name kept: " .. name)
                for k, v in pairs(props) do
                  assert(config.valid_identifier(k) and k == k:lower(), "invalid property kept: " .. k)
                  assert(type(v) == "string", "property value is not text")
                  -- Sub-properties of any value parse without raising.
                  assert(type(config.subproperties(v)) == "table")
                end
              end
            end
            -- A view seals the secrets and answers every profile it names.
            local view = config.view(kind == "config" and set or nil, kind == "credentials" and set or nil)
            for _, name in ipairs(view:profile_names()) do assert(type(view:profile(name)) == "table") end
          else
            assert(is_structured(err) and err.code == "ConfigParseError", "not a structured error")
            assert(math.type(err.line) == "integer" and err.line >= 1, "no line number")
            assert(err.message:find("^f:" .. err.line .. ": "), err.message)
          end
        end
      end,
    }
    report("config.parse", stats)
  end)

  it("json_decode: a table or nil and a message; what it decodes encodes (canonical, report) and reads back equal",
     function()
    local seeds = fixture_seeds("%.json$")
    for _, s in ipairs{ "{}", '{"a":[1,2.5,-0,1e300,null,true,false,"\\u00e9\\ud83d\\ude00"]}',
                        '{"a":{"b":{"c":[[],{}]}}}', '{"k":"\\u0000\\n\\"x\\\\"}' } do
      seeds[#seeds + 1] = s
    end
    local decoded = 0
    local stats = fuzz.run{
      name = "json_decode", seed = 1502, count = 3000, seeds = seeds, max_mutations = 2,
      check = function(input)
        local t, msg, reason = common.json_decode(input)
        if t == nil then
          assert(type(msg) == "string" and msg ~= "", "no message")
          assert(reason == nil or reason == "JsonTooLarge" or reason == "JsonTooDeep", tostring(reason))
          return
        end
        assert(type(t) == "table", "not a table")
        decoded = decoded + 1
        local text = canonical.encode(t)
        local back = assert(common.json_decode(text), "canonical text does not decode")
        assert(same(t, back), "canonical round trip differs")
        local pretty = report_json.encode(t)
        assert(type(common.json_decode(pretty)) == "table", "report.json text does not decode")
      end,
    }
    assert(decoded > stats.inputs // 10, "too few inputs decode for the round trip to mean much")
    report("json_decode", stats)
    io.stdout:write(("# lua-fuzz: json_decode %d inputs decoded and round-tripped\n"):format(decoded))
  end)

  it("response codecs: a fuzzed response is a value or nil, err (parse) and error details or nil (parse_error)",
     function()
    local targets = {
      { "eks", "DescribeCluster" }, { "eks", "ListClusters" }, { "organizations", "ListAccounts" },
      { "ec2", "DescribeRegions" }, { "ec2", "DescribeVpcAttribute" }, { "iam", "GetRole" },
      { "sts", "AssumeRoleWithWebIdentity" }, { "sts", "GetCallerIdentity" },
    }
    local seeds = fixture_seeds("%.[jx][sm][ol]n?$")
    for _, s in ipairs{ '{"__type":"com.amazon#ResourceNotFoundException","message":"no"}',
                        "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>slow</Message>"
                          .. "</Error><RequestId>r</RequestId></ErrorResponse>",
                        "<Response><Errors><Error><Code>X</Code><Message>m</Message></Error></Errors>"
                          .. "<RequestID>r</RequestID></Response>", "<html><body>502</body></html>" } do
      seeds[#seeds + 1] = s
    end
    local r = fuzz.rng(1503)
    local statuses = { 200, 200, 200, 400, 403, 404, 429, 500, 503 }
    local stats = fuzz.run{
      name = "response codecs", seed = 1503, count = 2000, seeds = seeds,
      check = function(input)
        local tgt = targets[r(#targets)]
        local svc = assert(services.get(tgt[1]))
        local codec = require("eksegress.protocols." .. svc.protocol_module)
        local headers = r(4) == 1 and { ["x-amzn-errortype"] = input:sub(1, r(40)) } or {}
        local resp = { status = statuses[r(#statuses)], headers = headers, body = input }
        local out, err = codec.parse(svc, tgt[2], svc.operations[tgt[2]], resp)
        if out == nil then
          assert(is_structured(err), "parse: not a structured error")
        else
          assert(type(out) == "table", "parse: not a table")
        end
        local info = codec.parse_error(svc, tgt[2], svc.operations[tgt[2]], resp)
        assert(info == nil or type(info) == "table", "parse_error: neither nil nor details")
        if info then
          for _, k in ipairs{ "code", "message", "request_id", "type" } do
            assert(info[k] == nil or type(info[k]) == "string", "parse_error: " .. k .. " is not text")
          end
        end
      end,
    }
    report("response codecs", stats)
  end)
end)
