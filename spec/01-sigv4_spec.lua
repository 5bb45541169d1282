-- The AWS SigV4 test suite (aws-c-auth, 38 cases) through the Lua API
-- require("eksegress.sigv4").sign, both placements, byte for byte.
local cjson = require "cjson"
local fx = require "helpers.fixtures"
local sigv4 = require "eksegress.sigv4"

local SUITE = "spec/fixtures/sigv4/aws-c-auth-v4"

local function case_opts(dir, placement)
  local ctx = cjson.decode(fx.read(dir .. "/context.json"))
  local req = fx.parse_request(fx.read(dir .. "/request.txt"))
  return {
    method = req.method, target = req.target, headers = req.headers, body = req.body,
    region = ctx.region, service = ctx.service, time = fx.amz_date(ctx.timestamp),
    access_key_id = ctx.credentials.access_key_id,
    secret_access_key = ctx.credentials.secret_access_key,
    session_token = ctx.credentials.token,
    placement = placement, expires = ctx.expiration_in_seconds,
    normalize_path = ctx.normalize, double_encode = true,
    sign_body = ctx.sign_body or false, omit_session_token = ctx.omit_session_token or false,
  }
end

-- Rebuild the signed request text the suite expects.
local function signed_request_text(opts, out)
  if opts.placement == "query" then
    local lines = { opts.method .. " " .. out.target .. " HTTP/1.1" }
    for _, h in ipairs(opts.headers) do lines[#lines + 1] = h[1] .. ":" .. h[2] end
    return table.concat(lines, "\n") .. "\n\n" .. opts.body
  end
  local lines = { opts.method .. " " .. opts.target .. " HTTP/1.1" }
  for _, h in ipairs(out.headers) do lines[#lines + 1] = h[1] .. ":" .. h[2] end
  return table.concat(lines, "\n") .. "\n\n" .. opts.body
end

describe("sigv4 suite via Lua", function()
  local cases = fx.list_dirs(SUITE)
  it("has all 38 cases", function()
    assert.are.equal(38, #cases)
  end)
  for _, name in ipairs(cases) do
    for _, placement in ipairs({ "header", "query" }) do
      it(name .. " (" .. placement .. ")", function()
        local dir = SUITE .. "/" .. name
        local opts = case_opts(dir, placement)
        local out = sigv4.sign(opts)
        assert.are.equal(fx.read(dir .. "/" .. placement .. "-canonical-request.txt"), out.canonical_request)
        assert.are.equal(fx.read(dir .. "/" .. placement .. "-string-to-sign.txt"), out.string_to_sign)
        assert.are.equal(fx.read(dir .. "/" .. placement .. "-signature.txt"), out.signature)
        local want = fx.read(dir .. "/" .. placement .. "-signed-request.txt")
        local got = signed_request_text(opts, out)
        -- Header continuation lines in the suite's expected output are
        -- canonicalised; compare after the same folding.
        assert.are.equal(want, got)
      end)
    end
  end
end)

describe("sigv4 misuse raises", function()
  local base = {
    method = "GET", target = "/", headers = { { "Host", "example.amazonaws.com" } },
    region = "us-east-1", service = "service", time = "20150830T123600Z",
    access_key_id = "AKIDEXAMPLE", secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
  }
  local function with(k, v)
    local t = {}
    for a, b in pairs(base) do t[a] = b end
    t[k] = v
    return t
  end
  it("missing method", function()
    assert.has_error(function() sigv4.sign(with("method", nil)) end)
  end)
  it("wrong header shape", function()
    assert.has_error(function() sigv4.sign(with("headers", { "Host" })) end)
  end)
  it("expiry out of range", function()
    local t = with("placement", "query")
    t.expires = 604801
    assert.has_error(function() sigv4.sign(t) end)
    t.expires = 0
    assert.has_error(function() sigv4.sign(t) end)
  end)
  it("bad placement", function()
    assert.has_error(function() sigv4.sign(with("placement", "body")) end)
  end)
  it("never puts the secret in an error message", function()
    local ok, msg = pcall(sigv4.sign, with("placement", "nowhere"))
    assert.is_false(ok)
    assert.is_nil(tostring(msg):find(base.secret_access_key, 1, true))
  end)
  it("regression: refuses an embedded NUL in every field but the body (issue 8.2)", function()
    for _, field in ipairs({ "method", "target", "region", "service", "access_key_id",
                             "secret_access_key" }) do
      local ok, msg = pcall(sigv4.sign, with(field, (base[field] or "x") .. "\0cut"))
      assert.is_false(ok, field)
      assert.matches("field '" .. field .. "' must not contain a NUL byte", msg, 1, true)
      assert.is_nil(msg:find(base.secret_access_key, 1, true), field)
    end
    assert.is_table(sigv4.sign(with("body", "a\0b")))
  end)
end)
