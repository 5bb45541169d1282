-- Shared config/credentials files, settings resolution and endpoints.
local cjson = require "cjson.safe"
local config = require "eksegress.config"
local settings = require "eksegress.settings"
local endpoints = require "eksegress.endpoints"
local fx = require "helpers.fixtures"
local proc = require "helpers.process"

local FIXTURES = "spec/fixtures/sdk-config/"

local function read_json(path)
  local f = assert(io.open(path, "rb"))
  local text = f:read("a")
  f:close()
  return assert(cjson.decode(text))
end

local function envfn(t)
  return function(k) return t[k] end
end

-- A read_file over an in-memory table of paths.
local function files(t)
  return function(path) return t[path] end
end

describe("config.parse: profile-parser-tests.json", function()
  local cases = read_json(FIXTURES .. "profile-parser-tests.json").tests
  for _, case in ipairs(cases) do
    it(case.name, function()
      local cfg, cerr, cred, crerr
      if case.input.configFile then
        cfg, cerr = config.parse(case.input.configFile, "config", "config")
      end
      if case.input.credentialsFile then
        cred, crerr = config.parse(case.input.credentialsFile, "credentials", "credentials")
      end
      local want = case.output
      if want.errorContaining then
        local err = cerr or crerr
        assert.is_table(err, "expected a parse error")
        assert.equal("ConfigParseError", err.code)
        assert.truthy(err.message:find(want.errorContaining, 1, true), err.message)
        assert.is_number(err.line)
        assert.is_string(err.file)
        return
      end
      assert.is_nil(cerr)
      assert.is_nil(crerr)
      local merged = config.merge(cfg, cred)
      assert.same(want.config.profiles, merged.profiles)
      if want.config.sso_sessions then
        assert.same(want.config.sso_sessions, merged.sso_sessions)
      end
    end)
  end
end)

describe("config.locations: file-location-tests.json", function()
  local cases = read_json(FIXTURES .. "file-location-tests.json").tests
  for _, case in ipairs(cases) do
    it(case.name, function()
      local loc = config.locations{ env = envfn(case.environment), platform = case.platform }
      assert.equal(case.configLocation, loc.config_file)
      assert.equal(case.credentialsLocation, loc.credentials_file)
      if case.profile then assert.equal(case.profile, loc.profile) end
    end)
  end
end)

describe("config", function()
  it("reports file and line for a bad line, never crashing", function()
    local set, err = config.parse("[profile a]\nx = 1\n\nkey : value\n", "config", "/tmp/cfg")
    assert.is_nil(set)
    assert.equal("ConfigParseError", err.code)
    assert.equal("/tmp/cfg", err.file)
    assert.equal(4, err.line)
    assert.matches("/tmp/cfg:4:", err.message, 1, true)
    assert.matches("ConfigParseError", tostring(err), 1, true)
  end)

  it("survives arbitrary bytes", function()
    math.randomseed(42)
    local alphabet = "[] =#;\t\n\rprofile default abc\0\255"
    for _ = 1, 500 do
      local t = {}
      for i = 1, math.random(0, 60) do
        local j = math.random(1, #alphabet)
        t[i] = alphabet:sub(j, j)
      end
      local text = table.concat(t)
      for _, kind in ipairs{ "config", "credentials" } do
        local ok, set, err = pcall(config.parse, text, kind)
        assert.is_true(ok, set)
        assert.is_true(set ~= nil or (err and err.code == "ConfigParseError"))
      end
    end
  end)

  it("parses sub-properties and services sections", function()
    local set = assert(config.parse(table.concat({
      "[profile dev]",
      "services = local",
      "s3 =",
      "  max_concurrent_requests = 20",
      "  Addressing_Style = path",
      "[services local]",
      "eks =",
      "  endpoint_url = http://127.0.0.1:4566",
      "sts =",
      "  endpoint_url = http://localhost:4567",
    }, "\n"), "config"))
    local view = config.view(set, nil)
    local p = view:profile("dev")
    assert.same({ max_concurrent_requests = "20", addressing_style = "path" },
      config.subproperties(p.s3))
    assert.same({ eks = { endpoint_url = "http://127.0.0.1:4566" },
                  sts = { endpoint_url = "http://localhost:4567" } },
      view:services_section("local"))
    assert.is_nil(view:services_section("nope"))
  end)

  it("load: reads both files, credentials file wins, missing files are empty", function()
    local env = envfn{ HOME = "/h" }
    local view = assert(config.load{ env = env, read_file = files{
      ["/h/.aws/config"] = "[default]\nregion = us-west-2\naws_access_key_id = FROMCONFIG\n"
        .. "[profile b]\nregion=eu-west-1\n[sso-session s]\nsso_region = us-east-1\n",
      ["/h/.aws/credentials"] = "[default]\naws_access_key_id = FROMCREDS\n",
    } })
    assert.equal("/h/.aws/config", view.config_file)
    assert.same({ region = "us-west-2", aws_access_key_id = "FROMCREDS" }, view:profile("default"))
    assert.equal("FROMCONFIG", view:profile_in("config", "default").aws_access_key_id)
    assert.equal("FROMCREDS", view:profile_in("credentials", "default").aws_access_key_id)
    assert.same({ sso_region = "us-east-1" }, view:sso_session("s"))
    assert.same({ "b", "default" }, view:profile_names())

    local empty = assert(config.load{ env = env, read_file = files{} })
    assert.same({}, empty:profile_names())
  end)

  it("load: a parse error names the file", function()
    local view, err = config.load{ env = envfn{ HOME = "/h" }, read_file = files{
      ["/h/.aws/credentials"] = "[ok]\n[broken\n" } }
    assert.is_nil(view)
    assert.equal("ConfigParseError", err.code)
    assert.equal("/h/.aws/credentials", err.file)
    assert.equal(2, err.line)
  end)

  it("load: an unreadable file is a ConfigReadError", function()
    local view, err = config.load{ env = envfn{ HOME = "/h" },
      read_file = function() return nil, "Permission denied" end }
    assert.is_nil(view)
    assert.equal("ConfigReadError", err.code)
  end)

  it("load: reads real files from disk, with ~ expansion of AWS_CONFIG_FILE", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p '" .. dir .. "/sub'"))
    finally(function() os.execute("rm -rf '" .. dir .. "'") end)
    local f = assert(io.open(dir .. "/sub/cfg", "w"))
    f:write("[profile x]\r\nregion = ap-south-1\r\n")
    f:close()
    local view = assert(config.load{ env = envfn{ HOME = dir, AWS_CONFIG_FILE = "~/sub/cfg" } })
    assert.equal(dir .. "/sub/cfg", view.config_file)
    assert.equal("ap-south-1", view:profile("x").region)
    assert.equal("ap-south-1", (config.profile("x", { env = envfn{ HOME = dir,
      AWS_CONFIG_FILE = "~/sub/cfg" } })).region)
  end)

  it("regression: AWS_CONFIG_FILE=/dev/zero is a clear error, not an endless read", function()
    local view, err = config.load{ env = envfn{ HOME = "/nonexistent", AWS_CONFIG_FILE = "/dev/zero" } }
    assert.is_nil(view)
    assert.equal("ConfigReadError", err.code)
    assert.equal("NotARegularFile", err.reason)
    assert.equal("/dev/zero", err.file)
    assert.equal("cannot read the config file: /dev/zero is a character device, not a regular file",
      err.message)
    -- /dev/null keeps meaning "no file", as it does for the AWS CLI (checked
    -- where /dev/null still is the null device: a machine may have lost it).
    local p = io.popen("stat -c %t,%T /dev/null 2>/dev/null")
    local is_null = p:read("a"):match("^1,3%s*$") ~= nil
    p:close()
    if is_null then
      view = assert(config.load{ env = envfn{ HOME = "/nonexistent", AWS_CONFIG_FILE = "/dev/null",
        AWS_SHARED_CREDENTIALS_FILE = "/dev/null" } })
      assert.same({}, view:profile_names())
    end
  end)

  it("regression: AWS_CONFIG_FILE naming a FIFO with no writer is refused, never a hang", function()
    local dir, remove = fx.tmpdir()
    finally(remove)
    fx.mkfifo(dir .. "/fifo")
    -- The witness: a child interpreter loads the files and must come back (a
    -- blocking open() would keep it there; run_lua fails the spec as a hang).
    local r = proc.run_lua(([[
      local config = require "eksegress.config"
      local env = { HOME = "/nonexistent", AWS_CONFIG_FILE = %q }
      local view, err = config.load{ env = function(k) return env[k] end }
      io.write(tostring(view), "|", err.code, "|", tostring(err.reason), "|", err.message)
    ]]):format(dir .. "/fifo"))
    assert.equal(0, r.status, r.stderr)
    assert.equal("nil|ConfigReadError|NotARegularFile|cannot read the config file: " .. dir
      .. "/fifo is a FIFO, not a regular file", r.stdout)
  end)

  it("regression: a credentials file over 16 MiB, or a directory, is refused", function()
    assert.equal(16 * 1024 * 1024, config.MAX_FILE_BYTES)
    local dir, remove = fx.tmpdir()
    finally(remove)
    assert(os.execute("mkdir '" .. dir .. "/d'"))
    local f = assert(io.open(dir .. "/big", "wb"))
    f:write("[default]\n", string.rep("#", config.MAX_FILE_BYTES))
    f:close()
    local view, err = config.load{ env = envfn{ HOME = "/nonexistent",
      AWS_SHARED_CREDENTIALS_FILE = dir .. "/big" } }
    assert.is_nil(view)
    assert.equal("ConfigReadError", err.code)
    assert.equal("FileTooLarge", err.reason)
    assert.truthy(err.message:find("16777216 bytes", 1, true), err.message)
    assert.truthy(err.message:find("credentials file", 1, true), err.message)
    view, err = config.load{ env = envfn{ HOME = "/nonexistent", AWS_CONFIG_FILE = dir .. "/d" } }
    assert.is_nil(view)
    assert.equal("NotARegularFile", err.reason)
    assert.truthy(err.message:find("is a directory", 1, true), err.message)
  end)

  it("profile_name: option > AWS_PROFILE > AWS_DEFAULT_PROFILE > default", function()
    assert.same({ "o", "option" },
      { config.profile_name{ profile = "o", env = envfn{ AWS_PROFILE = "e" } } })
    assert.same({ "e", "env" },
      { config.profile_name{ env = envfn{ AWS_PROFILE = "e", AWS_DEFAULT_PROFILE = "d" } } })
    assert.same({ "d", "env" }, { config.profile_name{ env = envfn{ AWS_DEFAULT_PROFILE = "d" } } })
    assert.same({ "default", "default" }, { config.profile_name{ env = envfn{} } })
  end)

  it("expand_home leaves other paths alone", function()
    assert.equal("/h/x", config.expand_home("~/x", "/h", "linux"))
    assert.equal("/h", config.expand_home("~", "/h", "linux"))
    assert.equal("~user/x", config.expand_home("~user/x", "/h", "linux"))
    assert.equal("~\\x", config.expand_home("~\\x", "/h", "linux"))
    assert.equal("C:\\u\\x", config.expand_home("~\\x", "C:\\u", "windows"))
    assert.equal("~/x", config.expand_home("~/x", nil, "linux"))
  end)
end)

-- ---------------------------------------------------------------------------

local function view_of(cfg, cred)
  return config.view(assert(config.parse(cfg or "", "config")),
    assert(config.parse(cred or "", "credentials")))
end

describe("settings.resolve", function()
  it("region: explicit > AWS_REGION > AWS_DEFAULT_REGION > profile > nil", function()
    local view = view_of("[default]\nregion = eu-west-1\n")
    local function region(opts_env, explicit)
      local s = assert(settings.resolve{ env = envfn(opts_env), config = view, region = explicit })
      return s.region
    end
    assert.equal("ap-south-1", region({ AWS_REGION = "us-east-1" }, "ap-south-1"))
    assert.equal("us-east-1", region{ AWS_REGION = "us-east-1", AWS_DEFAULT_REGION = "us-east-2" })
    assert.equal("us-east-2", region{ AWS_DEFAULT_REGION = "us-east-2" })
    assert.equal("eu-west-1", region{})
    local s = assert(settings.resolve{ env = envfn{}, config = view_of("") })
    assert.is_nil(s.region)
  end)

  it("rejects a region that is not a host label", function()
    local s, err = settings.resolve{ env = envfn{ AWS_REGION = "us-east-1.evil.com/" },
      config = view_of("") }
    assert.is_nil(s)
    assert.equal("InvalidRegion", err.code)
  end)

  it("profile: option > AWS_PROFILE > AWS_DEFAULT_PROFILE, missing selected profile is an error",
    function()
      local view = view_of("[profile a]\nregion = us-west-1\n[profile b]\nregion = us-west-2\n")
      local s = assert(settings.resolve{ env = envfn{ AWS_PROFILE = "a" }, config = view })
      assert.equal("a", s.profile)
      assert.equal("env", s.profile_source)
      assert.equal("us-west-1", s.region)
      s = assert(settings.resolve{ env = envfn{ AWS_PROFILE = "a" }, profile = "b", config = view })
      assert.equal("b", s.profile)
      assert.equal("us-west-2", s.region)
      local _, err = settings.resolve{ env = envfn{ AWS_PROFILE = "zz" }, config = view }
      assert.equal("ProfileNotFound", err.code)
      -- the implicit default profile may be absent
      s = assert(settings.resolve{ env = envfn{}, config = view })
      assert.equal("default", s.profile)
      assert.same({}, s.properties)
    end)

  it("retry_mode and max_attempts: env > profile, validated, with mode defaults", function()
    local view = view_of("[default]\nretry_mode = adaptive\nmax_attempts = 7\n")
    local s = assert(settings.resolve{ env = envfn{}, config = view })
    assert.equal("adaptive", s.retry_mode)
    assert.equal(7, s.max_attempts)
    s = assert(settings.resolve{ env = envfn{ AWS_RETRY_MODE = "legacy", AWS_MAX_ATTEMPTS = "2" },
      config = view })
    assert.equal("legacy", s.retry_mode)
    assert.equal(2, s.max_attempts)
    s = assert(settings.resolve{ env = envfn{}, config = view_of("") })
    assert.equal("standard", s.retry_mode)
    assert.equal(3, s.max_attempts)
    s = assert(settings.resolve{ env = envfn{ AWS_RETRY_MODE = "legacy" }, config = view_of("") })
    assert.equal(5, s.max_attempts)
    s = assert(settings.resolve{ env = envfn{}, config = view, retry_mode = "standard",
      max_attempts = 4 })
    assert.equal("standard", s.retry_mode)
    assert.equal(4, s.max_attempts)
    for _, bad in ipairs{ { AWS_RETRY_MODE = "fast" }, { AWS_MAX_ATTEMPTS = "0" },
                          { AWS_MAX_ATTEMPTS = "three" }, { AWS_MAX_ATTEMPTS = "2.5" } } do
      local r, err = settings.resolve{ env = envfn(bad), config = view_of("") }
      assert.is_nil(r)
      assert.equal("InvalidConfig", err.code)
      assert.matches(next(bad), err.message, 1, true)
    end
  end)

  it("ca_bundle, sts_regional_endpoints, use_fips_endpoint", function()
    local view = view_of("[default]\nca_bundle = /etc/ca.pem\nsts_regional_endpoints = legacy\n"
      .. "use_fips_endpoint = true\n")
    local s = assert(settings.resolve{ env = envfn{}, config = view })
    assert.equal("/etc/ca.pem", s.ca_bundle)
    assert.equal("legacy", s.sts_regional_endpoints)
    assert.is_true(s.use_fips_endpoint)
    s = assert(settings.resolve{ env = envfn{ AWS_CA_BUNDLE = "/x.pem",
      AWS_STS_REGIONAL_ENDPOINTS = "regional", AWS_USE_FIPS_ENDPOINT = "false" }, config = view })
    assert.equal("/x.pem", s.ca_bundle)
    assert.equal("regional", s.sts_regional_endpoints)
    assert.is_false(s.use_fips_endpoint)
    s = assert(settings.resolve{ env = envfn{}, config = view_of("") })
    assert.equal("regional", s.sts_regional_endpoints)
    assert.is_false(s.use_fips_endpoint)
    local _, err = settings.resolve{ env = envfn{ AWS_STS_REGIONAL_ENDPOINTS = "global" },
      config = view_of("") }
    assert.equal("InvalidConfig", err.code)
    _, err = settings.resolve{ env = envfn{ AWS_USE_FIPS_ENDPOINT = "yes" }, config = view_of("") }
    assert.equal("InvalidConfig", err.code)
  end)

  it("IMDS settings from env and profile", function()
    local view = view_of("[default]\nec2_metadata_service_endpoint_mode = IPv6\n"
      .. "metadata_service_timeout = 3\nmetadata_service_num_attempts = 2\n"
      .. "ec2_metadata_v1_disabled = true\n")
    local s = assert(settings.resolve{ env = envfn{}, config = view })
    assert.equal("http://[fd00:ec2::254]", s.metadata.endpoint)
    assert.equal(3000, s.metadata.timeout_ms)
    assert.equal(2, s.metadata.attempts)
    assert.is_true(s.metadata.v1_disabled)
    assert.is_false(s.metadata.disabled)
    s = assert(settings.resolve{ env = envfn{ AWS_EC2_METADATA_DISABLED = "TRUE",
      AWS_EC2_METADATA_SERVICE_ENDPOINT = "http://127.0.0.1:9000/" }, config = view })
    assert.is_true(s.metadata.disabled)
    assert.equal("http://127.0.0.1:9000", s.metadata.endpoint)
    s = assert(settings.resolve{ env = envfn{}, config = view_of("") })
    assert.equal("http://169.254.169.254", s.metadata.endpoint)
    assert.equal(1000, s.metadata.timeout_ms)
    assert.equal(1, s.metadata.attempts)
  end)

  it("passes file errors through", function()
    local s, err = settings.resolve{ env = envfn{ HOME = "/h" },
      read_file = files{ ["/h/.aws/config"] = "oops" } }
    assert.is_nil(s)
    assert.equal("ConfigParseError", err.code)
  end)
end)

describe("endpoints", function()
  local function settings_for(env, extra)
    local opts = { env = envfn(env or {}), config = view_of((extra or {}).cfg or "") }
    for k, v in pairs(extra or {}) do if k ~= "cfg" then opts[k] = v end end
    return assert(settings.resolve(opts))
  end

  it("default endpoints per partition", function()
    local cases = {
      { "eks", "us-west-2", "https://eks.us-west-2.amazonaws.com", "us-west-2", "aws" },
      { "ec2", "eu-central-1", "https://ec2.eu-central-1.amazonaws.com", "eu-central-1", "aws" },
      { "sts", "us-west-2", "https://sts.us-west-2.amazonaws.com", "us-west-2", "aws" },
      { "organizations", "eu-west-1", "https://organizations.us-east-1.amazonaws.com",
        "us-east-1", "aws" },
      { "eks", "cn-north-1", "https://eks.cn-north-1.amazonaws.com.cn", "cn-north-1", "aws-cn" },
      { "sts", "cn-north-1", "https://sts.cn-north-1.amazonaws.com.cn", "cn-north-1", "aws-cn" },
      { "organizations", "cn-north-1", "https://organizations.cn-northwest-1.amazonaws.com.cn",
        "cn-northwest-1", "aws-cn" },
      { "ec2", "us-gov-west-1", "https://ec2.us-gov-west-1.amazonaws.com", "us-gov-west-1",
        "aws-us-gov" },
      { "organizations", "us-gov-east-1", "https://organizations.us-gov-west-1.amazonaws.com",
        "us-gov-west-1", "aws-us-gov" },
      { "eks", "il-central-1", "https://eks.il-central-1.amazonaws.com", "il-central-1", "aws" },
    }
    for _, c in ipairs(cases) do
      local e = assert(endpoints.resolve(c[1], settings_for{ AWS_REGION = c[2] }))
      assert.equal(c[3], e.url, c[1] .. " " .. c[2])
      assert.equal(c[4], e.signing_region)
      assert.equal(c[5], e.partition)
      assert.equal(c[1], e.signing_name)
      assert.equal("default", e.source)
    end
  end)

  it("STS legacy global endpoint only for legacy regions in legacy mode", function()
    local e = assert(endpoints.resolve("sts", settings_for{ AWS_REGION = "us-west-2",
      AWS_STS_REGIONAL_ENDPOINTS = "legacy" }))
    assert.equal("https://sts.amazonaws.com", e.url)
    assert.equal("us-east-1", e.signing_region)
    e = assert(endpoints.resolve("sts", settings_for{ AWS_REGION = "ap-east-1",
      AWS_STS_REGIONAL_ENDPOINTS = "legacy" }))
    assert.equal("https://sts.ap-east-1.amazonaws.com", e.url)
    e = assert(endpoints.resolve("sts", settings_for{ AWS_REGION = "aws-global" }))
    assert.equal("https://sts.amazonaws.com", e.url)
    assert.equal("us-east-1", e.signing_region)
  end)

  it("FIPS is opt-in", function()
    local function url(svc, region, fips_env)
      local e = assert(endpoints.resolve(svc, settings_for{ AWS_REGION = region,
        AWS_USE_FIPS_ENDPOINT = fips_env or "true" }))
      return e.url, e.signing_region
    end
    assert.equal("https://fips.eks.us-east-1.amazonaws.com", url("eks", "us-east-1"))
    assert.equal("https://eks.us-east-1.amazonaws.com", url("eks", "us-east-1", "false"))
    assert.equal("https://ec2-fips.us-west-2.amazonaws.com", url("ec2", "us-west-2"))
    assert.equal("https://sts-fips.us-east-2.amazonaws.com", url("sts", "us-east-2"))
    assert.equal("https://organizations-fips.us-east-1.amazonaws.com",
      url("organizations", "us-west-2"))
    assert.equal("https://eks.us-gov-west-1.amazonaws.com", url("eks", "us-gov-west-1"))
    assert.equal("https://sts.us-gov-east-1.amazonaws.com", url("sts", "us-gov-east-1"))
    assert.equal("https://organizations.us-gov-west-1.amazonaws.com",
      url("organizations", "us-gov-east-1"))
    local e = assert(endpoints.resolve("eks", settings_for({ AWS_REGION = "us-east-1" },
      { use_fips_endpoint = true })))
    assert.equal("https://fips.eks.us-east-1.amazonaws.com", e.url)
    local _, err = endpoints.resolve("organizations", settings_for{ AWS_REGION = "cn-north-1",
      AWS_USE_FIPS_ENDPOINT = "true" })
    assert.equal("EndpointNotFound", err.code)
  end)

  it("needs a region except for organizations; unsupported partitions are errors", function()
    local _, err = endpoints.resolve("eks", settings_for{})
    assert.equal("NoRegion", err.code)
    local e = assert(endpoints.resolve("organizations", settings_for{}))
    assert.equal("https://organizations.us-east-1.amazonaws.com", e.url)
    _, err = endpoints.resolve("eks", settings_for{ AWS_REGION = "us-iso-east-1" })
    assert.equal("UnsupportedPartition", err.code)
    assert.has_error(function() endpoints.resolve("s3", settings_for{ AWS_REGION = "us-east-1" }) end)
  end)

  it("endpoint_url precedence: option > service env > global env > services section > profile",
    function()
      local cfg = "[default]\nendpoint_url = http://127.0.0.1:1\nservices = loc\n"
        .. "[services loc]\neks =\n  endpoint_url = http://127.0.0.1:2\n"
      local function url(env, extra)
        extra = extra or {}
        extra.cfg = cfg
        env.AWS_REGION = "us-west-2"
        local e = assert(endpoints.resolve("eks", settings_for(env, extra)))
        return e.url, e.source, e.signing_region
      end
      assert.equal("http://127.0.0.1:9", url({ AWS_ENDPOINT_URL_EKS = "http://127.0.0.1:3" },
        { endpoint_url = "http://127.0.0.1:9" }))
      assert.equal("http://127.0.0.1:8", url({}, { endpoint_url = { eks = "http://127.0.0.1:8" } }))
      assert.equal("http://127.0.0.1:3", url{ AWS_ENDPOINT_URL_EKS = "http://127.0.0.1:3",
        AWS_ENDPOINT_URL = "http://127.0.0.1:4" })
      assert.equal("http://127.0.0.1:4", url{ AWS_ENDPOINT_URL = "http://127.0.0.1:4" })
      local u, source, region = url{}
      assert.equal("http://127.0.0.1:2", u)
      assert.equal("services", source)
      assert.equal("us-west-2", region)
      -- sts has no entry in the services section: the profile's global endpoint_url
      local e = assert(endpoints.resolve("sts", settings_for({ AWS_REGION = "us-west-2" },
        { cfg = cfg })))
      assert.equal("http://127.0.0.1:1", e.url)
      -- ignore_configured_endpoint_urls drops env and files, not the explicit option
      e = assert(endpoints.resolve("eks", settings_for({ AWS_REGION = "us-west-2",
        AWS_ENDPOINT_URL = "http://127.0.0.1:4", AWS_IGNORE_CONFIGURED_ENDPOINT_URLS = "true" },
        { cfg = cfg })))
      assert.equal("https://eks.us-west-2.amazonaws.com", e.url)
      for _, svc in ipairs{ "EC2", "STS", "ORGANIZATIONS" } do
        e = assert(endpoints.resolve(svc:lower(), settings_for{ AWS_REGION = "us-west-2",
          ["AWS_ENDPOINT_URL_" .. svc] = "http://localhost:7" }))
        assert.equal("http://localhost:7", e.url)
        assert.equal("us-west-2", e.signing_region)
      end
    end)

  it("plain http only to loopback unless allowed", function()
    for _, ok in ipairs{ "http://127.0.0.1:8080", "http://127.1.2.3", "http://[::1]:99/base",
                         "http://localhost", "http://LOCALHOST:1", "https://example.com",
                         "https://10.0.0.1:8443/p" } do
      assert.truthy(endpoints.parse_url(ok), ok)
    end
    for _, bad in ipairs{ "http://example.com", "http://10.0.0.1", "http://127.0.0.1.evil.com",
                          "http://localhost.evil.com", "http://[::2]", "http://128.0.0.1",
                          "http://127.0.0.256" } do
      local r, err = endpoints.parse_url(bad)
      assert.is_nil(r, bad)
      assert.equal("InsecureEndpoint", err.code)
    end
    assert.truthy(endpoints.parse_url("http://example.com", { allow_http = true }))
    for _, bad in ipairs{ "ftp://x", "example.com", "https://user:pw@example.com", "https://",
                          "https://exa mple.com", "https://x/?a=b", "https://x#f",
                          "https://x:0", "https://x:65536", "https://[::1" } do
      local r, err = endpoints.parse_url(bad, { allow_http = true })
      assert.is_nil(r, bad)
      assert.equal("InvalidEndpoint", err.code)
    end
    local p = assert(endpoints.parse_url("https://Example.com:8443/base/"))
    assert.same({ "https", "example.com", 8443, "/base" }, { p.scheme, p.host, p.port, p.path })
    assert.equal("https://example.com:8443/base", p.url)
    local _, err = endpoints.resolve("eks", settings_for{ AWS_REGION = "us-west-2",
      AWS_ENDPOINT_URL = "http://10.1.1.1:80" })
    assert.equal("InsecureEndpoint", err.code)
    local e = assert(endpoints.resolve("eks", settings_for({ AWS_REGION = "us-west-2",
      AWS_ENDPOINT_URL = "http://10.1.1.1:80" }, { allow_http = true })))
    assert.equal("http://10.1.1.1:80", e.url)
  end)

  it("accepts (service table, region, settings, opts) too", function()
    local s = settings_for({ AWS_REGION = "us-west-2", AWS_ENDPOINT_URL_EKS = "http://10.0.0.9:1" })
    local e = assert(endpoints.resolve({ name = "eks" }, "eu-west-1", s, { allow_http = true }))
    assert.equal("http://10.0.0.9:1", e.url)
    assert.equal("eu-west-1", e.signing_region)
    local _, err = endpoints.resolve({ name = "eks" }, "eu-west-1", s)
    assert.equal("InsecureEndpoint", err.code)
    e = assert(endpoints.resolve("sts", "cn-north-1", settings_for{}))
    assert.equal("https://sts.cn-north-1.amazonaws.com.cn", e.url)
    _, err = endpoints.resolve("sts", "bad/region", settings_for{})
    assert.equal("InvalidRegion", err.code)
    e = assert(endpoints.resolve("organizations", nil, settings_for{}))
    assert.equal("us-east-1", e.signing_region)
  end)
end)
