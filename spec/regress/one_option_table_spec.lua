-- Regressions (issue 9, 2; issue 8, items 6, 12, 17): every client option is
-- declared once (eksegress.options), the client reads the resolved settings
-- only, unknown names raise with a hint, values are range-checked wherever
-- they come from, and allow_http takes booleans only.
local eksegress = require "eksegress"
local options = require "eksegress.options"
local settings = require "eksegress.settings"
local scripted = require "helpers.scripted"

local KEYS = { access_key_id = "AKIDEXAMPLE", secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" }

local function env_of(t) return function(name) return t[name] end end

-- Run Lua code in a child process without any network but loopback (we run
-- as root; unshare -n gives the child an empty network namespace).
local function isolated(code)
  local path = os.tmpname()
  local f = assert(io.open(path, "w"))
  f:write(code)
  f:close()
  local p = assert(io.popen(("unshare -n env LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='%s' lua5.4 %s 2>&1")
    :format(os.getenv("LUA_CPATH") or "build/?.so;;", path)))
  local out = p:read("a")
  p:close()
  os.remove(path)
  return out
end

local function raised(fn)
  local ok, msg = pcall(fn)
  assert.is_false(ok, "expected an error")
  return tostring(msg)
end

describe("regressions: one declared option table (issues 8 and 9)", function()
  local srv
  setup(function()
    srv = scripted.start()
    srv:script{ { path = "/clusters*", status = 200, body = '{"clusters": ["a"]}' } }
  end)
  teardown(function() srv:stop() end)

  local function new(opts, env)
    opts.endpoint_url = opts.endpoint_url or srv.url
    opts.env = env_of(env or { AWS_REGION = "us-east-1", AWS_CONFIG_FILE = "/nonexistent",
      AWS_SHARED_CREDENTIALS_FILE = "/nonexistent" })
    opts.credentials = opts.credentials or KEYS
    local c, err = eksegress.client(opts)
    return c, err
  end

  it("regression: a misspelt client option raises with a did-you-mean hint", function()
    assert.matches("unknown option 'regoin' %(did you mean 'region'%?%)", raised(function() new{ regoin = "x" } end))
    assert.matches("unknown option 'timeout' %(did you mean 'timeout_ms'%?%)",
      raised(function() new{ timeout = 5 } end))
    assert.matches("'acknowledge' is not an option here; it belongs to client:call",
      raised(function() new{ acknowledge = "prod" } end))
    -- documented once, never read: now named for what it was
    assert.matches("unknown option 'acknowledge_log' %(use 'audit_path'%)",
      raised(function() new{ acknowledge_log = "/tmp/x" } end))
  end)

  it("regression: a misspelt call option raises with a did-you-mean hint", function()
    local c = assert(new{})
    assert.matches("client:call: unknown option 'acknowlege' %(did you mean 'acknowledge'%?%)",
      raised(function() c:call("eks", "ListClusters", {}, { acknowlege = "prod" }) end))
    assert.matches("client:collect: unknown option 'max_page' %(did you mean 'max_pages'%?%)",
      raised(function() c:collect("eks", "ListClusters", {}, { max_page = 3 }) end))
    assert.matches("'profile' is not an option here",
      raised(function() c:call("eks", "ListClusters", {}, { profile = "x" }) end))
  end)

  it("regression: out-of-range values raise, naming the option and the allowed range", function()
    local cases = {
      { { timeout_ms = -1 }, "option 'timeout_ms' must be an integer from 1 to 3600000" },
      { { max_attempts = 0 }, "option 'max_attempts' must be an integer from 1 to 20" },
      { { max_attempts = 21 }, "option 'max_attempts' must be an integer from 1 to 20" },
      { { rate_burst = 0.5 }, "option 'rate_burst' must be an integer from 1 to 1000000" },
      { { rate_limit = 1e-9 }, "option 'rate_limit' must be a number from 0.1 to 1000000" },
      { { rate_limit = "fast" }, "option 'rate_limit' must be a number" },
      { { connect_timeout_ms = 0 }, "option 'connect_timeout_ms' must be an integer from 1" },
      { { backoff_base = 0 }, "option 'backoff_base' must be a number from 0.001 to 20" },
      { { retry_mode = "fast" }, "option 'retry_mode' must be one of legacy, standard, adaptive" },
      { { region = "us-east-1/../x" }, "option 'region' must be a region name" },
      { { audit_path = "/tmp/a\0b" }, "option 'audit_path' must be a string without NUL bytes" },
    }
    for _, case in ipairs(cases) do
      assert.matches(case[2], raised(function() new(case[1]) end), 1, true)
    end
    local c = assert(new{})
    assert.matches("option 'timeout_ms' must be an integer from 1",
      raised(function() c:call("eks", "ListClusters", {}, { timeout_ms = -1 }) end), 1, true)
  end)

  it("regression: AWS_MAX_ATTEMPTS=99999 is an error naming the variable and the range, not clamped", function()
    local c, err = new({}, { AWS_REGION = "us-east-1", AWS_MAX_ATTEMPTS = "99999" })
    assert.is_nil(c)
    assert.are.equal("InvalidConfig", err.code)
    assert.are.equal('invalid AWS_MAX_ATTEMPTS "99999": expected an integer from 1 to 20', err.message)
    local view = require("eksegress.config").view(
      assert(require("eksegress.config").parse("[default]\nmax_attempts = 0\n", "config")),
      assert(require("eksegress.config").parse("", "credentials")))
    local _, perr = settings.resolve{ env = env_of{}, config = view }
    assert.are.equal('invalid profile default max_attempts "0": expected an integer from 1 to 20', perr.message)
  end)

  it("regression: allow_http takes booleans only ('no', 0, 'false' used to enable plain http)", function()
    for _, bad in ipairs({ "no", 0, "false", "true", 1 }) do
      assert.matches("option 'allow_http' must be true or false", raised(function() new{ allow_http = bad } end))
    end
    -- false means refused. This part names a non-loopback address, so it runs
    -- without a network (unshare -n): a regression could send nothing.
    local out = isolated([[
      local eksegress = require "eksegress"
      local keys = { access_key_id = "AKIDEXAMPLE", secret_access_key = "not-a-real-secret-key" }
      local function client(allow)
        return assert(eksegress.client{ region = "us-east-1", env = function() return nil end,
          credentials = keys, endpoint_url = "http://192.0.2.1:9", allow_http = allow, max_attempts = 1,
          connect_timeout_ms = 200 })
      end
      local _, err = client(false):call("eks", "ListClusters", {})
      print("false:" .. err.code)
      local req = assert(client(true):prepare("eks", "ListClusters", {}))
      print("true:" .. req.url)
    ]])
    assert.matches("false:InsecureEndpoint\n", out)
    assert.matches("true:http://192%.0%.2%.1:9/clusters", out)
  end)

  it("an empty environment variable counts as unset (written once, eksegress.envvar)", function()
    local s = assert(settings.resolve{ env = env_of{ AWS_REGION = "", AWS_DEFAULT_REGION = "eu-west-1",
      AWS_MAX_ATTEMPTS = "", AWS_RETRY_MODE = "" }, config = require("eksegress.config").view({}, {}) })
    assert.are.equal("eu-west-1", s.region)
    assert.are.equal(3, s.max_attempts)
    assert.are.equal(require("eksegress.envvar").get, settings.getenv)
    assert.are.equal(require("eksegress.envvar").get, require("eksegress.credentials.util").getenv)
  end)

  it("regression: the options read are the options declared (audit_path, rate_burst, backoff_base, "
    .. "retry_mode_engine included)", function()
    for _, name in ipairs({ "audit_path", "rate_burst", "backoff_base", "retry_mode_engine", "timeout_ms",
                            "connect_timeout_ms", "max_attempts", "rate_limit", "ca_bundle" }) do
      local o = options.get(name, "client")
      assert.is_table(o, name)
      assert.is_string(o.doc, name)
      assert.is_true(o.setting, name)
    end
    -- every declared setting comes back resolved, defaults included
    local s = assert(settings.resolve{ env = env_of{}, config = require("eksegress.config").view({}, {}),
      rate_limit = 2.5 })
    for _, o in ipairs(options.list) do
      if o.setting and o.default ~= nil then assert.are.equal(o.default, s[o.name], o.name) end
    end
    assert.are.equal(3, s.rate_burst)
    assert.are.equal(settings.options, options.list)
    -- the client source reads no option by name from a caller's table but the
    -- credential plumbing; everything else goes through settings
    local src = assert(io.open("lua/eksegress/client.lua")):read("a")
    assert.is_nil(src:find("self%.opts"), "the client keeps no caller option table")
  end)

  it("every declared client option is accepted, and the README documents exactly those", function()
    local readme = assert(io.open("README.md")):read("a")
    local section = readme:match("## The Lua API in brief(.-)\n## ")
    assert.is_string(section)
    local documented = {}
    for name in section:gmatch("\n| `([%w_]+)` |") do documented[name] = true end
    for _, o in ipairs(options.list) do
      assert.is_true(documented[o.name], "README does not document option " .. o.name)
    end
    for name in pairs(documented) do
      local found = false
      for _, o in ipairs(options.list) do if o.name == name then found = true end end
      assert.is_true(found, "README documents an option that does not exist: " .. name)
    end
  end)
end)
