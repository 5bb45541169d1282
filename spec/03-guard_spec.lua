-- The irreversibility guard's decision function through the Lua API, over
-- the same table-driven corpus the C unit test runs (issue 4).
local cjson = require "cjson"
local fx = require "helpers.fixtures"
local guard = require "eksegress.guard"

local corpus = cjson.decode(fx.read("spec/fixtures/guard/corpus.json"))

-- RFC 4648 base64 decoding for the corpus' *_b64 fields.
local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local function unb64(s)
  s = s:gsub("[^%w%+/=]", "")
  local out, bits, nbits = {}, 0, 0
  for c in s:gmatch(".") do
    if c == "=" then break end
    bits = (bits << 6) | (B64:find(c, 1, true) - 1)
    nbits = nbits + 6
    if nbits >= 8 then
      nbits = nbits - 8
      out[#out + 1] = string.char((bits >> nbits) & 0xFF)
    end
  end
  return table.concat(out)
end

describe("guard corpus (issue 4)", function()
  it("has at least 100 cases", function()
    assert.is_true(#corpus.cases >= 100)
  end)
  for _, c in ipairs(corpus.cases) do
    it(c.name, function()
      local d = guard.check{
        method = c.method,
        target = c.target_b64 and unb64(c.target_b64) or c.target,
        body = c.body_b64 and unb64(c.body_b64) or c.body or "",
        current_mode = c.current_mode,
        acknowledge = c.acknowledge,
        allow_undocumented = c.allow_undocumented or false,
      }
      assert.are.equal(c.expect.action, d.action, d.message)
      assert.are.equal(c.expect.code, d.code, d.message)
      if c.expect.touches_mode ~= nil then assert.are.equal(c.expect.touches_mode, d.touches_mode) end
      if c.expect.cluster then assert.are.equal(c.expect.cluster, d.cluster or "") end
      if c.expect.from then assert.are.equal(c.expect.from, d.from or "") end
      if c.expect.to then assert.are.equal(c.expect.to, d.to or "") end
      assert.is_string(d.message)
    end)
  end
end)

describe("guard misuse", function()
  it("raises without method or target", function()
    assert.has_error(function() guard.check{ target = "/clusters" } end)
    assert.has_error(function() guard.check{ method = "GET" } end)
    assert.has_error(function() guard.check{ method = "GET", target = "/", body = 42 } end)
  end)
  it("regression: refuses an acknowledgement with an embedded NUL instead of cutting it (issue 8.2)", function()
    local body = '{"resourcesVpcConfig":{"controlPlaneEgressMode":"CUSTOMER_ROUTED"}}'
    for _, field in ipairs({ "acknowledge", "current_mode", "method" }) do
      local opts = { method = "POST", target = "/clusters/legacy-batch/update-config", body = body,
                     current_mode = "AWS_MANAGED", acknowledge = "legacy-batch" }
      opts[field] = opts[field] .. "\0anything"
      assert.error_matches(function() guard.check(opts) end,
        "field '" .. field .. "' must not contain a NUL byte", 1, true)
    end
    -- the target and the body go to the decision function whole: it refuses them itself
    local d = guard.check{ method = "POST", target = "/clusters/legacy-batch\0/update-config", body = body,
                           current_mode = "AWS_MANAGED", acknowledge = "legacy-batch" }
    assert.are.equal("AmbiguousRequest", d.code)
  end)
end)
