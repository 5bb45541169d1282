-- Regressions (issue 8, items 5, 7, 13): what a server sends back is scrubbed
-- of the caller's secrets before it reaches an error; credentials given as a
-- plain table are wrapped at once and no raw copy stays reachable from the
-- client; an HTTP error keeps quota_exhausted.
local eksegress = require "eksegress"
local runtime = require "eksegress.runtime"
local scripted = require "helpers.scripted"

local AKID = "AKIACANARY0000000001"
local SECRET = "canary/Secret+Key/0123456789abcdefEXAMPLE"
local TOKEN = "IQoJb3JpZ2luX2VjEKn//////////wEaCXVzLWVhc3QtMSJGMEQCIFcanaryTOKEN+/=="

local function no_env() return nil end

local function b64(s)
  local chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
  return ((s:gsub(".", function(c)
    local r, b = "", c:byte()
    for i = 8, 1, -1 do r = r .. (b % 2 ^ i - b % 2 ^ (i - 1) > 0 and "1" or "0") end
    return r
  end) .. "0000"):gsub("%d%d%d?%d?%d?%d?", function(x)
    if #x < 6 then return "" end
    local c = 0
    for i = 1, 6 do c = c + (x:sub(i, i) == "1" and 2 ^ (6 - i) or 0) end
    return chars:sub(c + 1, c + 1)
  end) .. ({ "", "==", "=" })[#s % 3 + 1])
end

local function pct(s)
  return (s:gsub("[^%w%-%._~]", function(c) return ("%%%02X"):format(c:byte()) end))
end

local function assert_clean(text, what)
  for _, s in ipairs({ SECRET, TOKEN, pct(SECRET), pct(TOKEN), b64(TOKEN), b64(SECRET) }) do
    assert.is_nil(text:find(s, 1, true), what .. " carries a secret: " .. text)
  end
end

-- Every string reachable from v through tables (keys, values, metatables)
-- and function upvalues, except the environment (_ENV) and eksegress.secret's
-- own functions, whose vault is the one place secrets are meant to live.
local function reachable_strings(root)
  local seen, found = {}, {}
  local function visit(v)
    local t = type(v)
    if t == "string" then
      found[#found + 1] = v
      return
    end
    if (t ~= "table" and t ~= "function") or seen[v] then return end
    seen[v] = true
    if t == "table" then
      if v == _G or v == package.loaded then return end
      for k, x in next, v do
        visit(k)
        visit(x)
      end
      visit(getmetatable(v))
    else
      if debug.getinfo(v, "S").source:find("eksegress/secret%.lua$") then return end
      for i = 1, 255 do
        local name, x = debug.getupvalue(v, i)
        if not name then break end
        if name ~= "_ENV" then visit(x) end
      end
    end
  end
  visit(root)
  return found
end

describe("regressions: secrets in server text and client objects (issue 8)", function()
  local srv
  setup(function() srv = scripted.start() end)
  teardown(function() srv:stop() end)

  local function client(extra)
    local opts = { region = "us-east-1", endpoint_url = srv.url, env = no_env, max_attempts = 1,
      credentials = { access_key_id = AKID, secret_access_key = SECRET, session_token = TOKEN } }
    for k, v in pairs(extra or {}) do opts[k] = v end
    return assert(eksegress.client(opts))
  end

  it("regression: a session token echoed in an error message never reaches err.message or tostring(err)",
    function()
      local echo = "token {token} is not valid; secret " .. SECRET .. " / " .. pct(SECRET)
        .. " / " .. pct(TOKEN) .. " / base64 " .. b64(TOKEN)
      srv:script{
        { path = "/clusters/echo", status = 403,
          headers = { ["x-amzn-ErrorType"] = "UnrecognizedClientException:" .. TOKEN },
          body = ('{"message": "%s"}'):format(echo) },
        { path = "/clusters/bad-json", status = 200, body = "{not json " .. TOKEN },
      }
      local c = client()
      local _, err = c:call("eks", "DescribeCluster", { name = "echo" })
      assert.are.equal(403, err.status)
      assert.matches("<redacted>", err.message)
      assert_clean(err.message, "err.message")
      assert_clean(err.code, "err.code")
      assert_clean(tostring(err), "tostring(err)")
      -- The server really did echo it: the scrub, not luck, kept it out.
      local seen = srv:requests()[1]
      local sent_token
      for _, h in ipairs(seen.headers) do
        if h[1]:lower() == "x-amz-security-token" then sent_token = h[2] end
      end
      assert.are.equal(TOKEN, sent_token)
      local _, perr = c:call("eks", "DescribeCluster", { name = "bad-json" })
      assert.are.equal("ParseError", perr.code)
      assert_clean(tostring(perr), "parse error")
    end)

  it("regression: credentials given as a plain table leave no raw copy reachable from the client", function()
    srv:script{ { path = "/clusters/*", status = 200,
      body = '{"cluster": {"name": "x", "status": "ACTIVE", "resourcesVpcConfig": {}}}' } }
    local c = client()
    for _, s in ipairs(reachable_strings(c)) do assert_clean(s, "a string reachable from the client") end
    assert(c:call("eks", "DescribeCluster", { name = "x" }))
    for _, s in ipairs(reachable_strings(c)) do assert_clean(s, "a string reachable after a call") end
    assert.is_nil(rawget(c, "opts"), "the caller's option table is not kept")
    -- the access key id is no secret, and still works for display
    assert.matches("AKIA%*%*%*%*0001", tostring(c.credentials:get()))
  end)

  it("regression: an HTTP error that ran out of retry quota says so (quota_exhausted)", function()
    srv:script{ { path = "/clusters/*", status = 500,
      body = '{"__type": "InternalFailure", "message": "down"}' } }
    -- The client has no engine options of its own, so it runs on this
    -- runtime's engine, whose retry quota holds two retries.
    local rt = assert(runtime.new{ quota_capacity = 10, backoff_base = 0.001 })
    finally(function() rt:close() end)
    local c = client{ runtime = rt, max_attempts = 2 }
    local last
    for _ = 1, 4 do
      local _, err = c:call("eks", "DescribeCluster", { name = "x" })
      assert.are.equal(500, err.status)
      last = err
    end
    assert.is_true(last.quota_exhausted)
  end)
end)
