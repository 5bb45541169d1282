-- Regressions (issue 8, item 14): misuse ends in a clear message at the
-- boundary, never an internal Lua error ("attempt to index a number value",
-- "stack overflow" after seconds on cyclic params). Each case asserts the
-- message says what was wrong.
local eksegress = require "eksegress"
local scripted = require "helpers.scripted"

local KEYS = { access_key_id = "AKIDEXAMPLE", secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" }

local function no_env() return nil end

-- The error a function raises, as text; fails if it does not raise or if the
-- message is an internal Lua error.
local function raised(fn)
  local ok, msg = pcall(fn)
  assert.is_false(ok, "expected an error")
  msg = tostring(msg)
  for _, internal in ipairs({ "attempt to", "stack overflow", "bad argument", "C stack" }) do
    assert.is_nil(msg:find(internal, 1, true), "an internal error leaked: " .. msg)
  end
  return msg
end

describe("regressions: misuse is a clear error (issue 8, 14)", function()
  local srv, client
  setup(function()
    srv = scripted.start()
    srv:script{ { path = "/clusters/*", status = 200,
      body = '{"cluster": {"name": "x", "status": "ACTIVE", "resourcesVpcConfig": {}}}' } }
    client = assert(eksegress.client{ region = "us-east-1", endpoint_url = srv.url, env = no_env,
      credentials = KEYS })
  end)
  teardown(function() srv:stop() end)

  local function new(opts)
    opts.region, opts.endpoint_url, opts.env = "us-east-1", srv.url, opts.env or no_env
    local c, err = eksegress.client(opts)
    return c, err
  end

  it("regression: credentials = 42", function()
    local msg = raised(function() new{ credentials = 42 } end)
    assert.matches("option 'credentials' must be credentials, a provider", msg)
    -- and the message points at the caller's line, not inside the library
    assert.matches("^spec/regress/misuse_is_a_clear_error_spec%.lua:%d+:", msg)
  end)

  it("regression: credentials as a table without the secret key", function()
    assert.matches("option 'credentials'", raised(function() new{ credentials = { access_key_id = "AKID" } } end))
  end)

  it("regression: a provider returning something that is not credentials", function()
    for _, bad in ipairs({ 42, "AKID:secret", { token = "x" } }) do
      local c = assert(new{ credentials = function() return bad end })
      local out, err = c:call("eks", "DescribeCluster", { name = "x" })
      assert.is_nil(out)
      assert.are.equal("ProviderError", err.code)
      assert.matches("returned " .. (type(bad) == "table" and "a table without" or type(bad)), err.message)
    end
    -- a provider may hand back a plain key table: it is wrapped, and works
    local c = assert(new{ credentials = function() return { access_key_id = KEYS.access_key_id,
      secret_access_key = KEYS.secret_access_key } end })
    assert(c:call("eks", "DescribeCluster", { name = "x" }))
  end)

  it("regression: env = \"x\"", function()
    assert.matches("option 'env' must be a function", raised(function() new{ env = "x" } end))
  end)

  it("regression: runtime = {}", function()
    assert.matches("option 'runtime' must be a runtime", raised(function() new{ runtime = {} } end))
  end)

  it("regression: rate_limit = \"fast\"", function()
    assert.matches("option 'rate_limit' must be a number from 0.1", raised(function() new{ rate_limit = "fast" } end))
  end)

  it("regression: options that are not a table", function()
    assert.matches("eksegress.client: options must be a table", raised(function() eksegress.client("us-west-2") end))
    assert.matches("client:call: options must be a table",
      raised(function() client:call("eks", "DescribeCluster", { name = "x" }, "fast") end))
  end)

  it("regression: every method called with '.' instead of ':'", function()
    local calls = {
      call = function() return client.call("eks", "DescribeCluster", { name = "x" }) end,
      prepare = function() return client.prepare("eks", "DescribeCluster", { name = "x" }) end,
      send = function() return client.send({}) end,
      presign = function() return client.presign("sts", "GetCallerIdentity", {}) end,
      paginate = function() return client.paginate("eks", "ListClusters", {}) end,
      collect = function() return client.collect("eks", "ListClusters", {}) end,
      wait = function() return client.wait("eks", "ClusterActive", { name = "x" }) end,
      whoami = function() return client.whoami() end,
      raw_request = function() return client.raw_request({ url = srv.url }) end,
      close = function() return client.close() end,
    }
    for name, fn in pairs(calls) do
      assert.matches("call " .. name .. " with a colon: client:" .. name, raised(fn), 1, true)
    end
  end)

  it("regression: paginate(..., \"x\")", function()
    assert.matches("client:paginate: options must be a table",
      raised(function() client:paginate("eks", "ListClusters", {}, "x") end))
    assert.matches("client:paginate: params must be a table",
      raised(function() client:paginate("eks", "ListClusters", "x") end))
  end)

  it("regression: wait with delay = \"1\"", function()
    assert.matches("option 'delay' must be a number from 0 to 3600",
      raised(function() client:wait("eks", "ClusterActive", { name = "x" }, { delay = "1" }) end))
  end)

  it("regression: cyclic params are refused at once, not after a stack overflow", function()
    local vpc = { subnetIds = {} }
    vpc.self = vpc
    local msg = raised(function()
      client:call("eks", "UpdateClusterConfig", { name = "x", resourcesVpcConfig = vpc })
    end)
    assert.matches("params contain a cycle: params.resourcesVpcConfig.self", msg, 1, true)
  end)

  it("regression: 100,000-deep params are refused with the depth bound", function()
    local deep = {}
    local t = deep
    for _ = 1, 100000 do
      t.x = {}
      t = t.x
    end
    local msg = raised(function() client:call("eks", "UpdateClusterConfig", { name = "x", logging = deep }) end)
    assert.matches("params nest deeper than 64 tables", msg, 1, true)
  end)

  it("regression: send of something client:prepare did not make", function()
    assert.matches("client:send: expects a request made by client:prepare",
      raised(function() client:send({ method = "GET", url = srv.url }) end))
  end)

  it("regression: parallel with an unknown option or a runtime that is not one", function()
    assert.matches("parallel: unknown option 'concurency'",
      raised(function() eksegress.parallel({}, function() end, { concurency = 2 }) end))
    assert.matches("parallel: runtime must be a runtime",
      raised(function() eksegress.parallel({}, function() end, { runtime = {} }) end))
  end)
end)
