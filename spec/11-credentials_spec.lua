-- Credentials: secrets handling, providers, the chain and the refresh cache.
-- Network providers are tested here with small in-spec fakes of ctx.http and
-- ctx.sts, for their logic only; real-HTTP tests run against the simulator.
local cjson = require "cjson.safe"
local config = require "eksegress.config"
local settings = require "eksegress.settings"
local secret = require "eksegress.secret"
local credentials = require "eksegress.credentials"
local U = require "eksegress.credentials.util"
local env_p = require "eksegress.credentials.env"
local process = require "eksegress.credentials.process"
local web_identity = require "eksegress.credentials.web_identity"
local container = require "eksegress.credentials.container"
local imds = require "eksegress.credentials.imds"
local cache = require "eksegress.credentials.cache"
local fx = require "helpers.fixtures"
local proc = require "helpers.process"

local SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
local TOKEN = "IQoJb3JpZ2luX2VjEXAMPLETOKENVALUE"

local function envfn(t)
  return function(k) return t[k] end
end

local function view_of(cfg, cred)
  return config.view(assert(config.parse(cfg or "", "config")),
    assert(config.parse(cred or "", "credentials")))
end

local function sts_result(akid, exp)
  return {
    Credentials = { AccessKeyId = akid, SecretAccessKey = "SECRET-" .. akid,
                    SessionToken = "TOKEN-" .. akid, Expiration = exp or "2030-01-01T00:00:00Z" },
    AssumedRoleUser = { Arn = "arn:aws:sts::123456789012:assumed-role/r/s",
                        AssumedRoleId = "AROAEXAMPLE:s" },
  }
end

-- ctx whose sts answers AssumeRole* with credentials named after the role and
-- records every call.
local function fake_ctx(over)
  local ctx = { calls = {}, http_calls = {} }
  ctx.sts = function(action, params, opts)
    ctx.calls[#ctx.calls + 1] = { action = action, params = params, opts = opts }
    if over and over.sts then return over.sts(action, params, opts) end
    local role = params.RoleArn:match("role/(.+)$") or "x"
    return sts_result("ASIA" .. role:upper() .. "0000000000")
  end
  ctx.http = function(req)
    ctx.http_calls[#ctx.http_calls + 1] = req
    if over and over.http then return over.http(req) end
    return nil, { code = "ConnectError", message = "connection refused" }
  end
  return ctx
end

local function header(req, name)
  for _, h in ipairs(req.headers or {}) do
    if h[1]:lower() == name:lower() then return h[2] end
  end
end

local function base_akid(call)
  return call.opts.credentials and call.opts.credentials.access_key_id
end

describe("secret", function()
  local c = secret.credentials{ access_key_id = "AKIAIOSFODNN7EXAMPLE", secret_access_key = SECRET,
    session_token = TOKEN, expiration = 1767225600, account_id = "123456789012", source = "env" }

  it("tostring shows only the masked access key id", function()
    local s = tostring(c)
    assert.equal("Credentials(AKIA****MPLE, source=env, expires=2026-01-01T00:00:00Z)", s)
    assert.falsy(s:find(SECRET, 1, true))
    assert.falsy(s:find(TOKEN, 1, true))
    assert.equal("****", secret.mask("AKIA"))
    assert.equal("****", secret.mask(nil))
  end)

  it("cjson.encode and pairs do not reveal secrets", function()
    local json = assert(cjson.encode(c))
    assert.falsy(json:find(SECRET, 1, true))
    assert.falsy(json:find(TOKEN, 1, true))
    assert.truthy(json:find("AKIAIOSFODNN7EXAMPLE", 1, true))
    for k, v in pairs(c) do
      assert.is_not.equal(SECRET, v, k)
      assert.is_not.equal(TOKEN, v, k)
    end
  end)

  it("unwrap is the one accessor", function()
    assert.same({ "AKIAIOSFODNN7EXAMPLE", SECRET, TOKEN }, { c:unwrap() })
    assert.is_true(c:has_session_token())
    assert.equal(100, c:expires_in(1767225500))
    assert.equal("123456789012", c.account_id)
    assert.is_true(secret.is_credentials(c))
    assert.is_false(secret.is_credentials({ access_key_id = "x" }))
    local plain = secret.credentials{ access_key_id = "AKIDEXAMPLE1234", secret_access_key = "s",
      session_token = "" }
    assert.is_false(plain:has_session_token())
    assert.equal(math.huge, plain:expires_in(0))
    assert.equal("static", plain.source)
  end)

  it("misuse raises", function()
    assert.has_error(function() secret.credentials{ access_key_id = "", secret_access_key = "x" } end)
    assert.has_error(function() secret.credentials{ access_key_id = "a" } end)
    assert.has_error(function() secret.credentials{ access_key_id = "a", secret_access_key = "b",
      expiration = "tomorrow" } end)
  end)

  it("wrap hides one value; scrub removes known secrets from text", function()
    local s = secret.wrap("bearer-token-value")
    assert.equal("<redacted>", tostring(s))
    assert.equal("bearer-token-value", s:reveal())
    assert.equal("{}", cjson.encode(s))
    assert.is_nil(secret.wrap(nil))
    local text = "oops " .. SECRET .. " and " .. TOKEN .. " and bearer-token-value"
    assert.equal("oops <redacted> and <redacted> and <redacted>", secret.scrub(text, c, s))
  end)
end)

describe("util.parse_time", function()
  it("parses ISO 8601 in UTC whatever the local zone", function()
    assert.equal(1767225600, U.parse_time("2026-01-01T00:00:00Z"))
    assert.equal(1440941760, U.parse_time("2015-08-30T13:36:00Z"))
    assert.equal(951825600, U.parse_time("2000-02-29T12:00:00.123Z"))
    assert.equal(1767225600, U.parse_time("2026-01-01T02:00:00+02:00"))
    assert.equal(1767225600, U.parse_time("2025-12-31T19:00:00-0500"))
    assert.equal(-1, U.parse_time("1969-12-31T23:59:59Z"))
    assert.equal(1767225600, U.parse_time(1767225600))
    for _, bad in ipairs{ "2026-13-01T00:00:00Z", "yesterday", "2026-01-01", "2026-01-01T00:00:00Q" } do
      assert.is_nil(U.parse_time(bad), bad)
    end
  end)
end)

describe("env provider", function()
  it("reads keys, token, legacy token, expiration and account", function()
    local c = assert(env_p.read(envfn{ AWS_ACCESS_KEY_ID = "AKIDENV000000000", AWS_SECRET_ACCESS_KEY = "s",
      AWS_SESSION_TOKEN = "t", AWS_CREDENTIAL_EXPIRATION = "2026-01-01T00:00:00Z",
      AWS_ACCOUNT_ID = "111122223333" }))
    assert.same({ "AKIDENV000000000", "s", "t" }, { c:unwrap() })
    assert.equal(1767225600, c.expiration)
    assert.equal("111122223333", c.account_id)
    assert.equal("env", c.source)
    c = assert(env_p.read(envfn{ AWS_ACCESS_KEY_ID = "A", AWS_SECRET_ACCESS_KEY = "s",
      AWS_SECURITY_TOKEN = "legacy" }))
    assert.equal("legacy", select(3, c:unwrap()))
  end)

  it("nothing set is not found; a partial pair is an error; empty counts as unset", function()
    local _, err = env_p.read(envfn{})
    assert.equal("CredentialsNotFound", err.code)
    _, err = env_p.read(envfn{ AWS_ACCESS_KEY_ID = "A" })
    assert.equal("PartialCredentials", err.code)
    _, err = env_p.read(envfn{ AWS_SECRET_ACCESS_KEY = SECRET, AWS_ACCESS_KEY_ID = "" })
    assert.equal("PartialCredentials", err.code)
    assert.falsy(tostring(err):find(SECRET, 1, true))
    _, err = env_p.read(envfn{ AWS_ACCESS_KEY_ID = "A", AWS_SECRET_ACCESS_KEY = "s",
      AWS_CREDENTIAL_EXPIRATION = "soon" })
    assert.equal("InvalidConfig", err.code)
  end)
end)

describe("chain order", function()
  local ENV_KEYS = { AWS_ACCESS_KEY_ID = "AKIDFROMENV00000", AWS_SECRET_ACCESS_KEY = "envsecret",
                     AWS_EC2_METADATA_DISABLED = "true" }
  local CREDS = "[default]\naws_access_key_id = AKIDDEFAULT00000\naws_secret_access_key = d\n"
    .. "[other]\naws_access_key_id = AKIDOTHER0000000\naws_secret_access_key = o\n"

  local function with(t, extra)
    local out = {}
    for k, v in pairs(t) do out[k] = v end
    for k, v in pairs(extra or {}) do out[k] = v end
    return out
  end

  local function resolve(opts, ctx)
    local chain = assert(credentials.chain(opts))
    local c, err = chain:resolve(ctx or fake_ctx())
    return c, err, chain
  end

  it("explicit credentials win over everything", function()
    local c, _, chain = resolve{ env = envfn(ENV_KEYS), config = view_of("", CREDS),
      credentials = { access_key_id = "AKIDEXPLICIT0000", secret_access_key = "x" } }
    assert.equal("AKIDEXPLICIT0000", c.access_key_id)
    assert.equal("explicit", c.source)
    assert.equal("explicit", chain:source())
  end)

  it("an explicit provider function is used as is", function()
    local c = resolve{ env = envfn(ENV_KEYS), config = view_of("", CREDS),
      credentials = function() return secret.credentials{ access_key_id = "AKIDFN0000000000",
        secret_access_key = "x", source = "mine" } end }
    assert.equal("mine", c.source)
  end)

  it("environment keys beat the default profile and an AWS_PROFILE profile", function()
    local c = resolve{ env = envfn(ENV_KEYS), config = view_of("", CREDS) }
    assert.equal("AKIDFROMENV00000", c.access_key_id)
    c = resolve{ env = envfn(with(ENV_KEYS, { AWS_PROFILE = "other" })), config = view_of("", CREDS) }
    assert.equal("AKIDFROMENV00000", c.access_key_id)
  end)

  it("an explicitly selected profile (option) beats environment keys", function()
    local c = resolve{ env = envfn(ENV_KEYS), config = view_of("", CREDS), profile = "other" }
    assert.equal("AKIDOTHER0000000", c.access_key_id)
    assert.equal("profile", c.source)
  end)

  it("a partial environment pair stops the chain", function()
    local _, err = resolve{ env = envfn{ AWS_ACCESS_KEY_ID = "A" }, config = view_of("", CREDS) }
    assert.equal("PartialCredentials", err.code)
  end)

  it("profile next; then env web identity; then container; then IMDS", function()
    local files = { ["/tok"] = "jwt-token" }
    local read = function(p) return files[p] end
    local wi_env = { AWS_WEB_IDENTITY_TOKEN_FILE = "/tok",
                     AWS_ROLE_ARN = "arn:aws:iam::123456789012:role/irsa",
                     AWS_EC2_METADATA_DISABLED = "true" }
    -- profile with keys wins over env web identity
    local c = resolve{ env = envfn(wi_env), config = view_of("", CREDS), read_file = read }
    assert.equal("AKIDDEFAULT00000", c.access_key_id)
    -- no profile credentials: env web identity
    local ctx = fake_ctx()
    c = resolve({ env = envfn(wi_env), config = view_of(""), read_file = read }, ctx)
    assert.equal("ASIAIRSA0000000000", c.access_key_id)
    assert.equal("env_web_identity", c.source)
    assert.equal("AssumeRoleWithWebIdentity", ctx.calls[1].action)
    -- container
    ctx = fake_ctx{ http = function()
      return { status = 200, body = cjson.encode{ AccessKeyId = "ASIACONTAINER000",
        SecretAccessKey = "s", Token = "t", Expiration = "2030-01-01T00:00:00Z" } }
    end }
    c = resolve({ env = envfn{ AWS_CONTAINER_CREDENTIALS_RELATIVE_URI = "/v2/creds" },
      config = view_of("") }, ctx)
    assert.equal("ASIACONTAINER000", c.access_key_id)
    assert.equal("http://169.254.170.2/v2/creds", ctx.http_calls[1].url)
    -- IMDS
    ctx = fake_ctx{ http = function(req)
      if req.method == "PUT" then return { status = 200, body = "tok" } end
      if req.url:sub(-1) == "/" then return { status = 200, body = "role" } end
      return { status = 200, body = cjson.encode{ Code = "Success", AccessKeyId = "ASIAIMDS00000000",
        SecretAccessKey = "s", Token = "t", Expiration = "2030-01-01T00:00:00Z" } }
    end }
    c = resolve({ env = envfn{}, config = view_of("") }, ctx)
    assert.equal("ASIAIMDS00000000", c.access_key_id)
    assert.equal("imds", c.source)
  end)

  it("nothing anywhere: CredentialsNotFound naming what was tried", function()
    local _, err = resolve({ env = envfn{}, config = view_of("") }, fake_ctx())
    assert.equal("CredentialsNotFound", err.code)
    for _, name in ipairs{ "env", "profile", "env_web_identity", "imds" } do
      assert.truthy(err.message:find(name .. ":", 1, true), name)
    end
  end)

  it("a selected profile that does not exist is an error up front", function()
    local chain, err = credentials.chain{ env = envfn{ AWS_PROFILE = "nope" }, config = view_of("") }
    assert.is_nil(chain)
    assert.equal("ProfileNotFound", err.code)
  end)

  it("remembers the provider that answered", function()
    local n = 0
    local chain = assert(credentials.chain{ env = envfn{}, config = view_of(""), providers = {
      { name = "a", resolve = function() n = n + 1; return nil, U.not_found("no") end },
      { name = "b", resolve = function()
        return secret.credentials{ access_key_id = "AKIDB00000000000", secret_access_key = "s" }
      end },
    } })
    assert(chain:resolve({}))
    assert(chain:resolve({}))
    assert.equal(1, n)
    assert.equal("b", chain:source())
  end)

  it("provider_for (the client's entry) and resolve", function()
    local s = assert(settings.resolve{ env = envfn(ENV_KEYS), config = view_of("") })
    local ctx = fake_ctx()
    local p = assert(credentials.provider_for({}, s, ctx))
    local c = assert(credentials.resolve(p))
    assert.equal("AKIDFROMENV00000", c.access_key_id)
    assert.equal(c, credentials.resolve(c))
    p = assert(credentials.provider_for({ credentials = { access_key_id = "AKIDEXPLICIT0000",
      secret_access_key = "x" } }, s, ctx))
    assert.equal("AKIDEXPLICIT0000", credentials.resolve(p).access_key_id)
    assert.equal("AKIDPLAIN0000000", credentials.resolve({ access_key_id = "AKIDPLAIN0000000",
      secret_access_key = "x" }).access_key_id)
    assert.equal("AKIDFUNC00000000", credentials.resolve(function(cx)
      assert.equal(ctx, cx)
      return secret.credentials{ access_key_id = "AKIDFUNC00000000", secret_access_key = "x" }
    end, ctx).access_key_id)
    local _, err = credentials.resolve(nil)
    assert.equal("NoCredentials", err.code)
  end)

  it("default() wraps the chain in a cache", function()
    local p = assert(credentials.default{ env = envfn(ENV_KEYS), config = view_of("") })
    local c = assert(p:get(fake_ctx()))
    assert.equal("AKIDFROMENV00000", c.access_key_id)
    assert.equal(c, p:get())
  end)
end)

describe("profile provider", function()
  local function resolve(cfg, cred, opts, ctx)
    opts = opts or {}
    opts.env = opts.env or envfn{ AWS_EC2_METADATA_DISABLED = "true" }
    opts.config = view_of(cfg, cred)
    local chain, err = credentials.chain(opts)
    if not chain then return nil, err end
    return chain:resolve(ctx or fake_ctx())
  end

  it("credentials-file keys > credential_process > config-file keys", function()
    local ran = 0
    local run = function()
      ran = ran + 1
      return cjson.encode{ Version = 1, AccessKeyId = "AKIDPROCESS00000", SecretAccessKey = "p" }, 0, ""
    end
    local cfg = "[default]\ncredential_process = helper\naws_access_key_id = AKIDCONFIG000000\n"
      .. "aws_secret_access_key = c\n"
    local c = assert(resolve(cfg, "[default]\naws_access_key_id = AKIDCREDS0000000\n"
      .. "aws_secret_access_key = k\naws_session_token = tok\n", { run = run }))
    assert.equal("AKIDCREDS0000000", c.access_key_id)
    assert.equal("tok", select(3, c:unwrap()))
    assert.equal(0, ran)
    c = assert(resolve(cfg, "", { run = run }))
    assert.equal("AKIDPROCESS00000", c.access_key_id)
    assert.equal("process", c.source)
    c = assert(resolve("[default]\naws_access_key_id = AKIDCONFIG000000\naws_secret_access_key = c\n"))
    assert.equal("AKIDCONFIG000000", c.access_key_id)
  end)

  it("partial keys in a profile are an error", function()
    local _, err = resolve("", "[default]\naws_access_key_id = AKIDCREDS0000000\n")
    assert.equal("PartialCredentials", err.code)
  end)

  it("SSO profiles are refused clearly", function()
    local _, err = resolve("[default]\nsso_session = corp\nsso_account_id = 1\n")
    assert.equal("UnsupportedCredentialSource", err.code)
  end)

  it("web identity in a profile", function()
    local ctx = fake_ctx()
    local c = assert(resolve("[default]\nrole_arn = arn:aws:iam::123456789012:role/wi\n"
      .. "web_identity_token_file = /t\nrole_session_name = sess\n", "",
      { read_file = function() return "jwt\n" end, region = "eu-west-1" }, ctx))
    assert.equal("ASIAWI0000000000", c.access_key_id)
    assert.equal("profile_web_identity", c.source)
    assert.same({ RoleArn = "arn:aws:iam::123456789012:role/wi", RoleSessionName = "sess",
                  WebIdentityToken = "jwt" }, ctx.calls[1].params)
    assert.is_nil(ctx.calls[1].opts.credentials)
    assert.equal("eu-west-1", ctx.calls[1].opts.region)
  end)
end)

describe("assume role", function()
  local STATIC = "aws_access_key_id = AKIDBASE00000000\naws_secret_access_key = BASESECRET0123\n"

  local function chain_for(cfg, opts)
    opts = opts or {}
    opts.env = opts.env or envfn{ AWS_EC2_METADATA_DISABLED = "true" }
    opts.config = view_of(cfg)
    return credentials.chain(opts)
  end

  local function resolve(cfg, opts, ctx)
    ctx = ctx or fake_ctx()
    local chain, err = chain_for(cfg, opts)
    if not chain then return nil, err, ctx end
    local c, rerr = chain:resolve(ctx)
    return c, rerr, ctx
  end

  it("source_profile with static keys: one AssumeRole with every parameter", function()
    local c, err, ctx = resolve("[profile dev]\nrole_arn = arn:aws:iam::123456789012:role/dev\n"
      .. "source_profile = base\nexternal_id = ext\nduration_seconds = 1800\n"
      .. "role_session_name = me\n[profile base]\n" .. STATIC,
      { profile = "dev", region = "us-west-2" })
    assert.is_nil(err)
    assert.equal("ASIADEV0000000000", c.access_key_id)
    assert.equal("assume_role", c.source)
    assert.equal("123456789012", c.account_id)
    assert.equal(1893456000, c.expiration)
    assert.equal(1, #ctx.calls)
    assert.equal("AssumeRole", ctx.calls[1].action)
    assert.same({ RoleArn = "arn:aws:iam::123456789012:role/dev", RoleSessionName = "me",
                  ExternalId = "ext", DurationSeconds = 1800 }, ctx.calls[1].params)
    assert.equal("AKIDBASE00000000", base_akid(ctx.calls[1]))
    assert.equal("us-west-2", ctx.calls[1].opts.region)
  end)

  it("default session name carries the time", function()
    local _, _, ctx = resolve("[default]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = b\n"
      .. "[profile b]\n" .. STATIC, { now = function() return 1700000000 end })
    assert.equal("eksegress-session-1700000000", ctx.calls[1].params.RoleSessionName)
  end)

  it("chains of roles are assumed innermost first", function()
    local c, err, ctx = resolve(table.concat({
      "[profile a]", "role_arn = arn:aws:iam::1:role/a", "source_profile = b",
      "[profile b]", "role_arn = arn:aws:iam::1:role/b", "source_profile = c",
      "[profile c]", STATIC }, "\n"), { profile = "a" })
    assert.is_nil(err)
    assert.equal("ASIAA0000000000", c.access_key_id)
    assert.equal(2, #ctx.calls)
    assert.equal("arn:aws:iam::1:role/b", ctx.calls[1].params.RoleArn)
    assert.equal("AKIDBASE00000000", base_akid(ctx.calls[1]))
    assert.equal("arn:aws:iam::1:role/a", ctx.calls[2].params.RoleArn)
    assert.equal("ASIAB0000000000", base_akid(ctx.calls[2]))
  end)

  it("a self-referencing profile with static keys assumes its role once", function()
    local c, err, ctx = resolve("[profile s]\nrole_arn = arn:aws:iam::1:role/s\nsource_profile = s\n"
      .. STATIC, { profile = "s" })
    assert.is_nil(err)
    assert.equal("ASIAS0000000000", c.access_key_id)
    assert.equal(1, #ctx.calls)
    assert.equal("AKIDBASE00000000", base_akid(ctx.calls[1]))
  end)

  it("a source profile with static keys and a role uses its keys", function()
    local _, err, ctx = resolve("[profile a]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = b\n"
      .. "[profile b]\nrole_arn = arn:aws:iam::1:role/b\nsource_profile = a\n" .. STATIC,
      { profile = "a" })
    assert.is_nil(err)
    assert.equal(1, #ctx.calls)
    assert.equal("arn:aws:iam::1:role/a", ctx.calls[1].params.RoleArn)
  end)

  it("detects cycles", function()
    local _, err, ctx = resolve("[profile a]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = b\n"
      .. "[profile b]\nrole_arn = arn:aws:iam::1:role/b\nsource_profile = c\n"
      .. "[profile c]\nrole_arn = arn:aws:iam::1:role/c\nsource_profile = a\n", { profile = "a" })
    assert.equal("InfiniteLoop", err.code)
    assert.truthy(err.message:find("a -> b -> c -> a", 1, true), err.message)
    assert.equal(0, #ctx.calls)
    _, err = resolve("[profile s]\nrole_arn = arn:aws:iam::1:role/s\nsource_profile = s\n",
      { profile = "s" })
    assert.equal("InfiniteLoop", err.code)
  end)

  it("configuration errors", function()
    local _, err = resolve("[default]\nrole_arn = arn:aws:iam::1:role/r\n")
    assert.equal("PartialCredentials", err.code)
    _, err = resolve("[default]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = x\n"
      .. "credential_source = Environment\n")
    assert.equal("InvalidConfig", err.code)
    _, err = resolve("[default]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = missing\n")
    assert.equal("InvalidConfig", err.code)
    assert.truthy(err.message:find("missing", 1, true))
    _, err = resolve("[default]\nrole_arn = arn:aws:iam::1:role/r\ncredential_source = Laptop\n")
    assert.equal("InvalidConfig", err.code)
    _, err = resolve("[default]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = e\n[profile e]\n")
    assert.equal("InvalidConfig", err.code)
    assert.truthy(err.message:find("must have credentials", 1, true))
    _, err = resolve("[default]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = b\n"
      .. "duration_seconds = 60\n[profile b]\n" .. STATIC)
    assert.equal("InvalidConfig", err.code)
  end)

  it("credential_source Environment / EcsContainer / Ec2InstanceMetadata", function()
    local c, err, ctx = resolve("[default]\nrole_arn = arn:aws:iam::1:role/r\n"
      .. "credential_source = Environment\n", { profile = "default", -- explicit: env keys step aside
        env = envfn{ AWS_ACCESS_KEY_ID = "AKIDENVSRC000000",
        AWS_SECRET_ACCESS_KEY = "s", AWS_EC2_METADATA_DISABLED = "true" } })
    assert.is_nil(err)
    assert.equal("ASIAR0000000000", c.access_key_id)
    assert.equal("AKIDENVSRC000000", base_akid(ctx.calls[1]))
    local _
    -- Environment with nothing in it is a configuration error, not a fall-through
    _, err = resolve("[default]\nrole_arn = arn:aws:iam::1:role/r\ncredential_source = Environment\n")
    assert.equal("InvalidConfig", err.code)

    ctx = fake_ctx{ http = function()
      return { status = 200, body = cjson.encode{ AccessKeyId = "ASIAECSSRC000000",
        SecretAccessKey = "s", Token = "t", Expiration = "2030-01-01T00:00:00Z" } }
    end }
    _, err = resolve("[default]\nrole_arn = arn:aws:iam::1:role/r\ncredential_source = EcsContainer\n",
      { env = envfn{ AWS_CONTAINER_CREDENTIALS_RELATIVE_URI = "/c" } }, ctx)
    assert.is_nil(err)
    assert.equal("ASIAECSSRC000000", base_akid(ctx.calls[1]))

    ctx = fake_ctx{ http = function(req)
      if req.method == "PUT" then return { status = 200, body = "tok" } end
      if req.url:sub(-1) == "/" then return { status = 200, body = "role" } end
      return { status = 200, body = cjson.encode{ Code = "Success", AccessKeyId = "ASIAIMDSSRC00000",
        SecretAccessKey = "s", Token = "t", Expiration = "2030-01-01T00:00:00Z" } }
    end }
    _, err = resolve("[default]\nrole_arn = arn:aws:iam::1:role/r\n"
      .. "credential_source = Ec2InstanceMetadata\n", { env = envfn{} }, ctx)
    assert.is_nil(err)
    assert.equal("ASIAIMDSSRC00000", base_akid(ctx.calls[1]))
  end)

  it("a web identity profile can be a source", function()
    local _, err, ctx = resolve("[default]\nrole_arn = arn:aws:iam::1:role/top\nsource_profile = w\n"
      .. "[profile w]\nrole_arn = arn:aws:iam::1:role/w\nweb_identity_token_file = /t\n",
      { read_file = function() return "jwt" end })
    assert.is_nil(err)
    assert.equal("AssumeRoleWithWebIdentity", ctx.calls[1].action)
    assert.equal("AssumeRole", ctx.calls[2].action)
    assert.equal("ASIAW0000000000", base_akid(ctx.calls[2]))
  end)

  it("mfa_serial needs a token code", function()
    local cfg = "[default]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = b\n"
      .. "mfa_serial = arn:aws:iam::1:mfa/me\n[profile b]\n" .. STATIC
    local _, err = resolve(cfg)
    assert.equal("MfaRequired", err.code)
    local asked
    local _, err2, ctx = resolve(cfg, { mfa_token = function(serial, p)
      asked = serial .. "|" .. p
      return 123456
    end })
    assert.is_nil(err2)
    assert.equal("arn:aws:iam::1:mfa/me|default", asked)
    assert.equal("arn:aws:iam::1:mfa/me", ctx.calls[1].params.SerialNumber)
    assert.equal("123456", ctx.calls[1].params.TokenCode)
  end)

  it("STS errors keep their code and never show the source secrets", function()
    local ctx = fake_ctx{ sts = function()
      return nil, { code = "AccessDenied", message = "not authorized", status = 403,
        request_id = "req-1" }
    end }
    local _, err = resolve("[default]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = b\n"
      .. "[profile b]\n" .. STATIC, {}, ctx)
    assert.equal("AccessDenied", err.code)
    assert.equal(403, err.status)
    assert.equal("req-1", err.request_id)
    assert.truthy(err.message:find("arn:aws:iam::1:role/r", 1, true))
    assert.falsy(tostring(err):find("BASESECRET0123", 1, true))
  end)

  it("a malformed STS result is an error without echoing it", function()
    local ctx = fake_ctx{ sts = function()
      return { Credentials = { AccessKeyId = "ASIA", SecretAccessKey = SECRET } , Bogus = true,
               [1] = "x" }
    end }
    local c = resolve("[default]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = b\n"
      .. "[profile b]\n" .. STATIC, {}, ctx)
    assert.truthy(c) -- no Expiration is allowed
    ctx = fake_ctx{ sts = function()
      return { Credentials = { SecretAccessKey = SECRET } }
    end }
    local _, err = resolve("[default]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = b\n"
      .. "[profile b]\n" .. STATIC, {}, ctx)
    assert.equal("InvalidStsResponse", err.code)
    assert.falsy(tostring(err):find(SECRET, 1, true))
  end)

  it("accepts results still wrapped in <Op>Result", function()
    local ctx = fake_ctx{ sts = function()
      return { AssumeRoleResult = sts_result("ASIAWRAPPED00000") }
    end }
    local c = assert(resolve("[default]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = b\n"
      .. "[profile b]\n" .. STATIC, {}, ctx))
    assert.equal("ASIAWRAPPED00000", c.access_key_id)
  end)

  it("re-assumes only the links that expire", function()
    local now = 1000
    local n = 0
    local ctx = fake_ctx{ sts = function(_, params)
      n = n + 1
      local role = params.RoleArn:match("role/(.+)$")
      -- b lives long, a is short-lived
      local exp = role == "b" and U.format_time(now + 7200) or U.format_time(now + 900)
      return sts_result("ASIA" .. role:upper() .. tostring(n) .. "00000000000", exp)
    end }
    local p = assert(credentials.default{ env = envfn{ AWS_EC2_METADATA_DISABLED = "true" },
      profile = "a", now = function() return now end, config = view_of(table.concat({
        "[profile a]", "role_arn = arn:aws:iam::1:role/a", "source_profile = b",
        "[profile b]", "role_arn = arn:aws:iam::1:role/b", "source_profile = c",
        "[profile c]", STATIC }, "\n")) })
    assert(p:get(ctx))
    assert.equal(2, n)
    now = now + 400 -- a has 500 s left: mandatory refresh; b still has 6800 s
    local c = assert(p:get(ctx))
    assert.equal(3, n)
    assert.equal("arn:aws:iam::1:role/a", ctx.calls[3].params.RoleArn)
    assert.equal("ASIAA300000000000", c.access_key_id)
  end)
end)

describe("credential_process", function()
  it("splits like a shell", function()
    local cases = {
      { "helper", { "helper" } },
      { "  a   b\tc ", { "a", "b", "c" } },
      { [[a 'b c' "d e"]], { "a", "b c", "d e" } },
      { [[a 'it'\''s']], { "a", "it's" } },
      { [[a "x \"y\" \\ \$HOME \q"]], { "a", [[x "y" \ $HOME \q]] } },
      { [[a\ b c\\d]], { "a b", [[c\d]] } },
      { [[a "" '']], { "a", "", "" } },
      { [[a"b"'c'd]], { "abcd" } },
      { "/usr/bin/helper --profile 'my prof' --json", { "/usr/bin/helper", "--profile", "my prof", "--json" } },
    }
    for _, c in ipairs(cases) do
      assert.same(c[2], assert(process.split(c[1])), c[1])
    end
    for _, bad in ipairs{ "a 'b", [[a "b]], [[a \]], "", "   " } do
      local r, err = process.split(bad)
      assert.is_nil(r, bad)
      assert.equal("InvalidConfig", err.code)
    end
  end)

  it("runs argv without shell interpretation", function()
    local args = { "printf", "%s|", "it's", "$HOME", "`id`", "a b", "; echo pwned", "\\", "" }
    local out, status, stderr = process.run(args)
    assert.equal(0, status)
    assert.equal("", stderr)
    assert.equal("it's|$HOME|`id`|a b|; echo pwned|\\||", out)
  end)

  it("runs a real helper and parses its JSON", function()
    local script = os.tmpname()
    finally(function() os.remove(script) end)
    local f = assert(io.open(script, "w"))
    f:write([[
if [ "$1" = "fail" ]; then echo "helper: token expired" >&2; printf '%s' '{"SecretAccessKey":"LEAK"}'; exit 3; fi
printf '%s' '{"Version": 1, "AccessKeyId": "AKIDPROC00000000", "SecretAccessKey": "ps",
  "SessionToken": "pt", "Expiration": "2030-01-01T00:00:00Z", "AccountId": "999988887777"}'
]])
    f:close()
    local p = process.new{ command = "/bin/sh '" .. script .. "' ok", profile = "p" }
    local c = assert(p:resolve())
    assert.same({ "AKIDPROC00000000", "ps", "pt" }, { c:unwrap() })
    assert.equal(1893456000, c.expiration)
    assert.equal("999988887777", c.account_id)
    assert.equal("process", c.source)
    local _, err = process.new{ command = "/bin/sh " .. script .. " fail", profile = "p" }:resolve()
    assert.equal("CredentialProcessError", err.code)
    assert.truthy(err.message:find("status 3", 1, true))
    assert.truthy(err.message:find("helper: token expired", 1, true))
    assert.falsy(err.message:find("LEAK", 1, true))
    _, err = process.new{ command = "/nonexistent/helper-xyz" }:resolve()
    assert.equal("CredentialProcessError", err.code)
    -- posix_spawn reports the missing program; where it cannot (valgrind's
    -- fork), the child exits 127.
    assert.truthy(err.message:find("helper-xyz", 1, true) or err.message:find("127", 1, true), err.message)
  end)

  it("validates the output without echoing it", function()
    local function with_output(out, status)
      return process.new{ command = "x", run = function() return out, status or 0, "" end }:resolve()
    end
    local cases = {
      { "not json " .. SECRET, "JSON" },
      { cjson.encode{ Version = 2, AccessKeyId = "A", SecretAccessKey = SECRET }, "Version" },
      { cjson.encode{ Version = "1", AccessKeyId = "A", SecretAccessKey = SECRET }, "Version" },
      { cjson.encode{ Version = 1, SecretAccessKey = SECRET }, "AccessKeyId" },
      { cjson.encode{ Version = 1, AccessKeyId = "A" }, "SecretAccessKey" },
      { cjson.encode{ Version = 1, AccessKeyId = "A", SecretAccessKey = SECRET,
                      Expiration = "later" }, "Expiration" },
    }
    for _, c in ipairs(cases) do
      local r, err = with_output(c[1])
      assert.is_nil(r)
      assert.equal("CredentialProcessError", err.code)
      assert.truthy(err.message:find(c[2], 1, true), err.message)
      assert.falsy(err.message:find(SECRET, 1, true))
    end
    local c = assert(with_output(cjson.encode{ Version = 1, AccessKeyId = "A", SecretAccessKey = "s" }))
    assert.is_nil(c.expiration)
    assert.is_false(c:has_session_token())
  end)

  local GOOD = [[{"Version": 1, "AccessKeyId": "AKIDPROC00000000", "SecretAccessKey": "ps"}]]

  it("runs with a 60 s deadline and a 1 MiB output cap by default", function()
    assert.equal(60000, process.TIMEOUT_MS)
    assert.equal(1024 * 1024, process.MAX_OUTPUT)
    local p = process.new{ command = "x" }
    assert.equal(60000, p.timeout_ms)
    assert.equal(1024 * 1024, p.max_output)
  end)

  it("regression: a helper that hangs is stopped at its deadline", function()
    local _, err = process.new{ command = "sleep 30", profile = "p", timeout_ms = 300 }:resolve()
    assert.equal("CredentialProcessError", err.code)
    assert.equal("ProcessTimeout", err.reason)
    assert.equal("credential_process of profile p: the command did not finish within 0.3 s and was stopped",
      err.message)
  end)

  it("regression: a helper that prints credentials and keeps stdout open is a timeout", function()
    local script = os.tmpname()
    finally(function() os.remove(script) end)
    local f = assert(io.open(script, "w"))
    f:write("printf '%s' '", GOOD, "'\nexec sleep 30\n")
    f:close()
    local c, err = process.new{ command = "/bin/sh " .. script, profile = "p", timeout_ms = 300 }:resolve()
    assert.is_nil(c)
    assert.equal("ProcessTimeout", err.reason)
    assert.falsy(err.message:find("ps", 1, true) and err.message:find("AKIDPROC", 1, true))
  end)

  it("regression: a helper printing more than its output cap is stopped", function()
    local _, err = process.new{ command = "yes", profile = "p", max_output = 4096 }:resolve()
    assert.equal("CredentialProcessError", err.code)
    assert.equal("ProcessOutputTooLarge", err.reason)
    assert.truthy(err.message:find("4096 bytes", 1, true), err.message)
    _, err = process.new{ command = "/bin/sh -c 'yes >&2'", profile = "p", max_output = 4096 }:resolve()
    assert.equal("ProcessOutputTooLarge", err.reason)
    assert.truthy(err.message:find("stderr", 1, true), err.message)
  end)

  it("regression: helper output nested past the JSON bounds is refused, not decoded", function()
    local deep = string.rep('{"a":', 100) .. "1" .. string.rep("}", 100)
    local _, err = process.new{ command = "x", run = function() return deep, 0, "" end }:resolve()
    assert.equal("CredentialProcessError", err.code)
    assert.equal("JsonTooDeep", err.reason)
    assert.truthy(err.message:find("64", 1, true), err.message)
  end)

  it("runs with stdin closed, in its own process group", function()
    -- cat ends at once on /dev/null (an inherited terminal would keep it);
    -- /proc/<pid>/stat holds "pid (comm) state ppid pgrp ...".
    local out, status = process.run({ "/bin/sh", "-c", "cat; cat /proc/$$/stat; echo; cat /proc/$PPID/stat" })
    assert.equal(0, status)
    local pgrps = {}
    for line in out:gmatch("[^\n]+") do pgrps[#pgrps + 1] = line:match("^%d+ %(.*%) %a %d+ (%d+)") end
    assert.equal(2, #pgrps, out)
    assert.are_not.equal(pgrps[1], pgrps[2])
  end)

  it("is re-run by the cache only when its credentials expire", function()
    local now, runs = 0, 0
    local p = process.new{ command = "x", run = function()
      runs = runs + 1
      return cjson.encode{ Version = 1, AccessKeyId = "AKIDRUN" .. runs .. "000000000",
        SecretAccessKey = "s", Expiration = U.format_time(now + 3600) }, 0, ""
    end }
    local c = cache.new(p, { now = function() return now end })
    assert(c:get())
    now = 1000
    assert(c:get())
    assert.equal(1, runs)
    now = 3000 -- 600 s left: mandatory
    assert.equal("AKIDRUN2000000000", c:get().access_key_id)
  end)
end)

describe("web identity", function()
  it("re-reads the token file at each refresh and calls STS unsigned", function()
    local reads, token = 0, "jwt-1"
    local p = web_identity.from_env{ env = envfn{ AWS_WEB_IDENTITY_TOKEN_FILE = "/var/run/token",
      AWS_ROLE_ARN = "arn:aws:iam::1:role/irsa", AWS_ROLE_SESSION_NAME = "pod" },
      region = "us-east-2", read_file = function(path)
        assert.equal("/var/run/token", path)
        reads = reads + 1
        return token .. "\n"
      end }
    local ctx = fake_ctx()
    assert(p:resolve(ctx))
    token = "jwt-2"
    assert(p:resolve(ctx))
    assert.equal(2, reads)
    assert.equal("jwt-1", ctx.calls[1].params.WebIdentityToken)
    assert.equal("jwt-2", ctx.calls[2].params.WebIdentityToken)
    assert.equal("pod", ctx.calls[1].params.RoleSessionName)
    assert.is_nil(ctx.calls[1].opts.credentials)
    assert.equal("us-east-2", ctx.calls[1].opts.region)
  end)

  it("errors: no role arn, unreadable or empty token, STS failure", function()
    local _, err = web_identity.from_env{ env = envfn{ AWS_WEB_IDENTITY_TOKEN_FILE = "/t" } }
      :resolve(fake_ctx())
    assert.equal("InvalidConfig", err.code)
    _, err = web_identity.from_env{ env = envfn{} }:resolve(fake_ctx())
    assert.equal("CredentialsNotFound", err.code)
    local p = web_identity.new{ role_arn = "arn:aws:iam::1:role/r", token_file = "/nope",
      read_file = function() return nil end }
    _, err = p:resolve(fake_ctx())
    assert.equal("WebIdentityTokenError", err.code)
    p = web_identity.new{ role_arn = "arn:aws:iam::1:role/r", token_file = "/t",
      read_file = function() return " \n" end }
    _, err = p:resolve(fake_ctx())
    assert.equal("WebIdentityTokenError", err.code)
    p = web_identity.new{ role_arn = "arn:aws:iam::1:role/r", token_file = "/t",
      read_file = function() return "jwt" end }
    _, err = p:resolve(fake_ctx{ sts = function()
      return nil, { code = "InvalidIdentityToken", message = "expired" }
    end })
    assert.equal("InvalidIdentityToken", err.code)
    _, err = p:resolve({})
    assert.equal("NoStsClient", err.code)
  end)

  it("reads a real token file by default", function()
    local path = os.tmpname()
    finally(function() os.remove(path) end)
    local f = assert(io.open(path, "w"))
    f:write("jwt-file")
    f:close()
    local ctx = fake_ctx()
    assert(web_identity.new{ role_arn = "arn:aws:iam::1:role/r", token_file = path }:resolve(ctx))
    assert.equal("jwt-file", ctx.calls[1].params.WebIdentityToken)
  end)
end)

describe("token files are bounded", function()
  local dir, remove
  setup(function()
    dir, remove = fx.tmpdir()
    fx.mkfifo(dir .. "/fifo")
    local f = assert(io.open(dir .. "/big", "wb"))
    f:write(string.rep("t", U.TOKEN_FILE_MAX + 1))
    f:close()
  end)
  teardown(function() remove() end)

  local function web(file)
    return web_identity.new{ role_arn = "arn:aws:iam::1:role/r", token_file = file }
      :resolve(fake_ctx())
  end

  it("regression: a web identity token file over 64 KiB, or /dev/zero, is refused", function()
    assert.equal(64 * 1024, U.TOKEN_FILE_MAX)
    local _, err = web(dir .. "/big")
    assert.equal("WebIdentityTokenError", err.code)
    assert.equal("FileTooLarge", err.reason)
    assert.truthy(err.message:find("65536 bytes", 1, true), err.message)
    _, err = web("/dev/zero")
    assert.equal("NotARegularFile", err.reason)
  end)

  it("regression: a web identity token FIFO with no writer is refused, never a hang", function()
    -- The witness: the child comes back with the error (run_lua fails on a hang).
    local r = proc.run_lua(([[
      local w = require "eksegress.credentials.web_identity"
      local _, err = w.new{ role_arn = "arn:aws:iam::1:role/r", token_file = %q }
        :resolve({ sts = function() error("STS must not be called") end })
      io.write(err.code, "|", err.reason, "|", err.message)
    ]]):format(dir .. "/fifo"))
    assert.equal(0, r.status, r.stderr)
    assert.equal("WebIdentityTokenError|NotARegularFile|cannot read the web identity token file: "
      .. dir .. "/fifo is a FIFO, not a regular file", r.stdout)
  end)

  it("regression: a container authorization token file over 64 KiB, or a FIFO, is refused", function()
    for _, case in ipairs{ { dir .. "/big", "FileTooLarge" }, { dir .. "/fifo", "NotARegularFile" } } do
      local ctx = fake_ctx{ http = function() error("nothing may be sent") end }
      local _, err = container.new{ env = envfn{ AWS_CONTAINER_CREDENTIALS_RELATIVE_URI = "/x",
        AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE = case[1] } }:resolve(ctx)
      assert.equal("InvalidConfig", err.code, case[1])
      assert.equal(case[2], err.reason, case[1])
      assert.truthy(err.message:find("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", 1, true))
    end
  end)
end)

describe("container provider", function()
  local OK_BODY = cjson.encode{ AccessKeyId = "ASIACONT00000000", SecretAccessKey = SECRET,
    Token = TOKEN, Expiration = "2030-01-01T00:00:00Z", AccountId = "444455556666" }

  local function ok_ctx()
    return fake_ctx{ http = function() return { status = 200, body = OK_BODY } end }
  end

  it("relative URI, headers and response parsing", function()
    local ctx = ok_ctx()
    local c = assert(container.new{ env = envfn{ AWS_CONTAINER_CREDENTIALS_RELATIVE_URI = "/v2/x",
      AWS_CONTAINER_CREDENTIALS_FULL_URI = "http://127.0.0.1/ignored",
      AWS_CONTAINER_AUTHORIZATION_TOKEN = "Basic abc" } }:resolve(ctx))
    local req = ctx.http_calls[1]
    assert.equal("GET", req.method)
    assert.equal("http://169.254.170.2/v2/x", req.url)
    assert.equal("application/json", header(req, "accept"))
    assert.equal("Basic abc", header(req, "authorization"))
    assert.equal(2000, req.timeout_ms)
    assert.same({ "ASIACONT00000000", SECRET, TOKEN }, { c:unwrap() })
    assert.equal("444455556666", c.account_id)
    assert.equal(1893456000, c.expiration)
  end)

  it("full URI host rules", function()
    for _, ok in ipairs{ "http://127.0.0.1:8080/creds", "http://localhost/x",
                         "http://169.254.170.23/v1/credentials", "http://[fd00:ec2::23]/v1/credentials",
                         "http://169.254.170.2/x", "http://[::1]:9/x", "https://creds.example.com/x?a=b" } do
      local ctx = ok_ctx()
      assert(container.new{ env = envfn{ AWS_CONTAINER_CREDENTIALS_FULL_URI = ok } }:resolve(ctx), ok)
      assert.equal(ok, ctx.http_calls[1].url)
    end
    for _, bad in ipairs{ "http://example.com/x", "http://169.254.169.254/latest", "ftp://127.0.0.1/",
                          "http://user@127.0.0.1/", "http://127.0.0.1.nip.io/", "http://[fd00:ec2::24]/",
                          "http://127.0.0.1/a b" } do
      local ctx = ok_ctx()
      local _, err = container.new{ env = envfn{ AWS_CONTAINER_CREDENTIALS_FULL_URI = bad } }:resolve(ctx)
      assert.equal("InvalidConfig", err.code, bad)
      assert.equal(0, #ctx.http_calls)
    end
  end)

  it("re-reads the token file on every fetch and prefers it to the env token", function()
    local n = 0
    local p = container.new{ env = envfn{
      AWS_CONTAINER_CREDENTIALS_FULL_URI = "http://169.254.170.23/v1/credentials",
      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE = "/var/run/pod-identity/token",
      AWS_CONTAINER_AUTHORIZATION_TOKEN = "env-token" },
      read_file = function() n = n + 1; return "file-token-" .. n .. "\n" end }
    local ctx = ok_ctx()
    assert(p:resolve(ctx))
    assert(p:resolve(ctx))
    assert.equal("file-token-1", header(ctx.http_calls[1], "Authorization"))
    assert.equal("file-token-2", header(ctx.http_calls[2], "Authorization"))
  end)

  it("refuses CR/LF in the token", function()
    local ctx = ok_ctx()
    local _, err = container.new{ env = envfn{ AWS_CONTAINER_CREDENTIALS_RELATIVE_URI = "/x",
      AWS_CONTAINER_AUTHORIZATION_TOKEN = "abc\r\nX-Evil: 1" } }:resolve(ctx)
    assert.equal("InvalidConfig", err.code)
    assert.equal(0, #ctx.http_calls)
    _, err = container.new{ env = envfn{ AWS_CONTAINER_CREDENTIALS_RELATIVE_URI = "/x",
      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE = "/t" },
      read_file = function() return "abc\nX-Evil: 1\n" end }:resolve(ctx)
    assert.equal("InvalidConfig", err.code)
  end)

  it("retries 5xx and network errors, not 4xx; errors never echo secrets", function()
    local answers = { { status = 500, body = "" }, false, { status = 200, body = OK_BODY } }
    local i, slept = 0, 0
    local ctx = fake_ctx{ http = function()
      i = i + 1
      local a = answers[i]
      if not a then return nil, { code = "Timeout", message = "timed out" } end
      return a
    end }
    ctx.sleep = function() slept = slept + 1 end
    local env = envfn{ AWS_CONTAINER_CREDENTIALS_RELATIVE_URI = "/x" }
    assert(container.new{ env = env }:resolve(ctx))
    assert.equal(3, i)
    assert.equal(2, slept)

    i = 0
    local _, err = container.new{ env = env }:resolve(fake_ctx{ http = function()
      i = i + 1
      return { status = 403, body = cjson.encode{ code = "AccessDenied", message = "no" } }
    end })
    assert.equal(1, i)
    assert.equal("ContainerCredentialsError", err.code)
    assert.equal(403, err.status)
    assert.truthy(err.message:find("AccessDenied", 1, true))

    _, err = container.new{ env = env }:resolve(fake_ctx{ http = function()
      return { status = 200, body = '{"SecretAccessKey":"' .. SECRET .. '"}' }
    end })
    assert.equal("InvalidContainerResponse", err.code)
    assert.falsy(tostring(err):find(SECRET, 1, true))
  end)

  it("regression: a response past the JSON bounds is refused before decoding", function()
    local huge = '{"AccessKeyId":"A","SecretAccessKey":"' .. SECRET .. '","x":['
      .. string.rep("0,", 1000000) .. '0]}'
    local _, err = container.new{ env = envfn{ AWS_CONTAINER_CREDENTIALS_RELATIVE_URI = "/x" } }
      :resolve(fake_ctx{ http = function() return { status = 200, body = huge } end })
    assert.equal("InvalidContainerResponse", err.code)
    assert.equal("JsonTooLarge", err.reason)
    assert.truthy(err.message:find("max_values", 1, true), err.message)
    assert.falsy(tostring(err):find(SECRET, 1, true))
  end)

  it("not configured is not found", function()
    local _, err = container.new{ env = envfn{} }:resolve(fake_ctx())
    assert.equal("CredentialsNotFound", err.code)
  end)
end)

describe("IMDS provider", function()
  local CREDS = cjson.encode{ Code = "Success", LastUpdated = "2026-01-01T00:00:00Z", Type = "AWS-HMAC",
    AccessKeyId = "ASIAIMDS00000000", SecretAccessKey = SECRET, Token = TOKEN,
    Expiration = "2030-01-01T00:00:00Z" }

  -- A scripted IMDS: token_status, and a handler per GET.
  local function imds_ctx(o)
    o = o or {}
    local tokens = 0
    return fake_ctx{ http = function(req)
      if req.method == "PUT" then
        tokens = tokens + 1
        if o.unreachable then return nil, { code = "ConnectError", message = "refused" } end
        local st = o.token_status and o.token_status(tokens) or 200
        return { status = st, body = st == 200 and ("token-" .. tokens) or "" }
      end
      local tok = header(req, "X-aws-ec2-metadata-token")
      if o.get then
        local r = o.get(req, tok)
        if r then return r end
      end
      if req.url:find("/iam/security%-credentials/$") then return { status = 200, body = "my-role\n" } end
      if req.url:find("/iam/security%-credentials/my%-role$") then return { status = 200, body = CREDS } end
      if req.url:find("/placement/region$") then return { status = 200, body = "eu-north-1" } end
      return { status = 404, body = "" }
    end }
  end

  local function provider(env)
    return assert(imds.new{ metadata = assert(settings.metadata(envfn(env or {}), {})) })
  end

  it("IMDSv2 flow: token PUT with TTL, token on GETs, credentials parsed", function()
    local ctx = imds_ctx()
    local c = assert(provider():resolve(ctx))
    assert.same({ "ASIAIMDS00000000", SECRET, TOKEN }, { c:unwrap() })
    assert.equal("imds", c.source)
    assert.equal(1893456000, c.expiration)
    local put = ctx.http_calls[1]
    assert.equal("PUT", put.method)
    assert.equal("http://169.254.169.254/latest/api/token", put.url)
    assert.equal("21600", header(put, "X-aws-ec2-metadata-token-ttl-seconds"))
    assert.equal(1000, put.timeout_ms)
    assert.equal("http://169.254.169.254/latest/meta-data/iam/security-credentials/", ctx.http_calls[2].url)
    assert.equal("token-1", header(ctx.http_calls[2], "X-aws-ec2-metadata-token"))
    assert.equal("http://169.254.169.254/latest/meta-data/iam/security-credentials/my-role",
      ctx.http_calls[3].url)
  end)

  it("keeps the token between refreshes", function()
    local ctx = imds_ctx()
    local p = provider()
    assert(p:resolve(ctx))
    assert(p:resolve(ctx))
    local puts = 0
    for _, r in ipairs(ctx.http_calls) do if r.method == "PUT" then puts = puts + 1 end end
    assert.equal(1, puts)
  end)

  it("401 on a GET fetches a new token and retries", function()
    local rejected = false
    local ctx = imds_ctx{ get = function(_, tok)
      if tok == "token-1" then
        rejected = true
        return { status = 401, body = "" }
      end
    end }
    assert(provider():resolve(ctx))
    assert.is_true(rejected)
    assert.equal("token-2", header(ctx.http_calls[#ctx.http_calls], "X-aws-ec2-metadata-token"))
  end)

  it("403/404/405 on the token fall back to IMDSv1 unless disabled", function()
    for _, st in ipairs{ 403, 404, 405 } do
      local ctx = imds_ctx{ token_status = function() return st end }
      assert(provider():resolve(ctx))
      assert.is_nil(header(ctx.http_calls[2], "X-aws-ec2-metadata-token"))
    end
    local ctx = imds_ctx{ token_status = function() return 403 end }
    local _, err = provider{ AWS_EC2_METADATA_V1_DISABLED = "true" }:resolve(ctx)
    assert.truthy(err.message:find("IMDSv1", 1, true))
    assert.equal(1, #ctx.http_calls)
  end)

  it("400 on the token is fatal; unreachable is not found; disabled asks nothing", function()
    local _, err = provider():resolve(imds_ctx{ token_status = function() return 400 end })
    assert.equal("ImdsError", err.code)
    _, err = provider():resolve(imds_ctx{ unreachable = true })
    assert.equal("CredentialsNotFound", err.code)
    local ctx = imds_ctx()
    _, err = provider{ AWS_EC2_METADATA_DISABLED = "true" }:resolve(ctx)
    assert.equal("CredentialsNotFound", err.code)
    assert.equal(0, #ctx.http_calls)
  end)

  it("no role, or a non-Success document, is not found", function()
    local _, err = provider():resolve(imds_ctx{ get = function() return { status = 404, body = "" } end })
    assert.equal("CredentialsNotFound", err.code)
    _, err = provider():resolve(imds_ctx{ get = function(req)
      if req.url:find("my%-role$") then
        return { status = 200, body = cjson.encode{ Code = "AssumeRoleUnauthorizedAccess",
          Message = "denied" } }
      end
    end })
    assert.equal("CredentialsNotFound", err.code)
    assert.truthy(err.message:find("AssumeRoleUnauthorizedAccess", 1, true))
  end)

  it("endpoint override, attempts and region", function()
    local ctx = imds_ctx()
    local p = provider{ AWS_EC2_METADATA_SERVICE_ENDPOINT = "http://127.0.0.1:8111" }
    assert.equal("eu-north-1", p:region(ctx))
    assert.equal("http://127.0.0.1:8111/latest/api/token", ctx.http_calls[1].url)
    local n = 0
    ctx = imds_ctx{ get = function(req)
      if req.url:find("/$") then
        n = n + 1
        if n < 3 then return { status = 500, body = "" } end
      end
    end }
    assert(provider{ AWS_METADATA_SERVICE_NUM_ATTEMPTS = "3" }:resolve(ctx))
    assert.equal(3, n)
  end)
end)

describe("credentials.cache", function()
  local function counting(exp_fn, fail)
    local p = { name = "counting", n = 0 }
    function p.resolve(self)
      self.n = self.n + 1
      if fail and fail(self.n) then return nil, U.err("Boom", "refresh failed") end
      return secret.credentials{ access_key_id = "AKIDGEN" .. self.n .. "000000000",
        secret_access_key = "s", expiration = exp_fn and exp_fn(self.n) }
    end
    return p
  end

  it("keeps non-expiring credentials for good", function()
    local p = counting()
    local c = cache.new(p, { now = function() return 0 end })
    for _ = 1, 5 do assert(c:get()) end
    assert.equal(1, p.n)
    assert.equal(c:get(), c:resolve())
  end)

  it("advisory, mandatory and expired refresh", function()
    local now = 0
    local failing = false
    local p = counting(function() return now + 3600 end, function() return failing end)
    local c = cache.new(p, { now = function() return now end, min_interval = 0 })
    assert.equal("AKIDGEN1000000000", c:get().access_key_id)
    now = 3600 - 901
    assert.equal("AKIDGEN1000000000", c:get().access_key_id) -- plenty left
    now = 3600 - 800 -- advisory window: refresh
    assert.equal("AKIDGEN2000000000", c:get().access_key_id)
    local exp2 = c:get().expiration
    now = exp2 - 800
    failing = true -- advisory failure: keep the current ones
    assert.equal("AKIDGEN2000000000", assert(c:get()).access_key_id)
    now = exp2 - 500 -- mandatory failure: an error
    local r, err = c:get()
    assert.is_nil(r)
    assert.equal("Boom", err.code)
    failing = false
    now = exp2 + 10 -- expired
    assert.equal("AKIDGEN5000000000", c:get().access_key_id)
  end)

  it("min_interval stops refresh storms for short-lived credentials", function()
    local now = 0
    local p = counting(function() return now + 300 end) -- always inside the mandatory window
    local c = cache.new(p, { now = function() return now end, min_interval = 30 })
    assert(c:get())
    now = 10
    assert(c:get())
    assert.equal(1, p.n)
    now = 31
    assert(c:get())
    assert.equal(2, p.n)
    now = 1000 -- expired: refresh regardless
    assert(c:get())
    assert.equal(3, p.n)
  end)

  it("invalidate forces a refresh", function()
    local p = counting()
    local c = cache.new(p)
    assert(c:get())
    c:invalidate()
    assert(c:get())
    assert.equal(2, p.n)
  end)

  it("concurrent coroutines share one refresh (yielding ctx)", function()
    local ctx = {}
    local p = { name = "slow", n = 0 }
    function p.resolve(_, cx)
      p.n = p.n + 1
      local res = cx.sts("AssumeRole", {}, {})
      return secret.credentials{ access_key_id = res, secret_access_key = "s", expiration = 10 ^ 10 }
    end
    ctx.sts = function() return coroutine.yield("io") end
    local c = cache.new(p, { ctx = ctx, now = function() return 0 end })
    local co1 = coroutine.create(function() return c:get() end)
    local co2 = coroutine.create(function() return c:get() end)
    local co3 = coroutine.create(function() return c:get() end)
    assert.same({ true, "io" }, { coroutine.resume(co1) })
    assert.same({ true, cache.WAIT }, { coroutine.resume(co2) })
    assert.same({ true, cache.WAIT }, { coroutine.resume(co3) })
    assert.same({ true, cache.WAIT }, { coroutine.resume(co2) }) -- still waiting
    local ok, creds = coroutine.resume(co1, "AKIDSHARED000000")
    assert.is_true(ok)
    assert.equal("AKIDSHARED000000", creds.access_key_id)
    local ok2, c2 = coroutine.resume(co2)
    local ok3, c3 = coroutine.resume(co3)
    assert.is_true(ok2 and ok3)
    assert.equal(creds, c2)
    assert.equal(creds, c3)
    assert.equal(1, p.n)
    assert.equal("dead", coroutine.status(co2))
  end)

  it("uses ctx.wait / ctx.wake when the scheduler provides them", function()
    local woken, waits = {}, 0
    local ctx = {
      sts = function() return coroutine.yield("io") end,
      wait = function(f) waits = waits + 1; return coroutine.yield(f) end,
      wake = function(f) woken[#woken + 1] = f end,
    }
    local p = { name = "slow", n = 0 }
    function p.resolve(_, cx)
      p.n = p.n + 1
      return secret.credentials{ access_key_id = cx.sts(), secret_access_key = "s" }
    end
    local c = cache.new(p)
    local co1 = coroutine.create(function() return c:get(ctx) end)
    local co2 = coroutine.create(function() return c:get(ctx) end)
    coroutine.resume(co1)
    local _, flight = coroutine.resume(co2)
    assert.is_table(flight)
    assert.is_false(flight.done)
    local _, creds = coroutine.resume(co1, "AKIDWAKE00000000")
    assert.same({ flight }, woken)
    local _, c2 = coroutine.resume(co2)
    assert.equal(creds, c2)
    assert.equal(1, waits)
    assert.equal(1, p.n)
  end)

  it("waiters share a failed refresh's error; the advisory window does not wait", function()
    local now = 0
    local ctx = { sts = function() return coroutine.yield("io") end }
    local p = { name = "slow", n = 0 }
    function p.resolve(_, cx)
      p.n = p.n + 1
      local r = cx.sts()
      if r == "fail" then return nil, U.err("Boom", "no") end
      return secret.credentials{ access_key_id = r, secret_access_key = "s", expiration = now + 3600 }
    end
    local c = cache.new(p, { ctx = ctx, now = function() return now end, min_interval = 0 })
    local co = coroutine.create(function() return c:get() end)
    coroutine.resume(co)
    local _, first = coroutine.resume(co, "AKIDFIRST0000000")
    -- advisory window: a second caller gets the current credentials immediately
    now = 3600 - 800
    local a = coroutine.create(function() return c:get() end)
    assert.same({ true, "io" }, { coroutine.resume(a) })
    local b = coroutine.create(function() return c:get() end)
    local okb, got = coroutine.resume(b)
    assert.is_true(okb)
    assert.equal(first, got)
    -- the advisory refresh fails: its caller still gets the valid credentials
    local _, ra = coroutine.resume(a, "fail")
    assert.equal(first, ra)
    -- mandatory window: waiters get the error
    now = 3600 - 100
    local m1 = coroutine.create(function() return c:get() end)
    local m2 = coroutine.create(function() return c:get() end)
    coroutine.resume(m1)
    assert.same({ true, cache.WAIT }, { coroutine.resume(m2) })
    coroutine.resume(m1, "fail")
    local ok2, r2, e2 = coroutine.resume(m2)
    assert.is_true(ok2)
    assert.is_nil(r2)
    assert.equal("Boom", e2.code)
  end)

  it("outside a coroutine a caller refreshes on its own", function()
    local ctx = { sts = function()
      if coroutine.isyieldable() then return coroutine.yield("io") end
      return "AKIDMAIN00000000"
    end }
    local p = { name = "p", n = 0 }
    function p.resolve(_, cx)
      p.n = p.n + 1
      return secret.credentials{ access_key_id = cx.sts(), secret_access_key = "s" }
    end
    local c = cache.new(p, { ctx = ctx })
    local co = coroutine.create(function() return c:get() end)
    coroutine.resume(co)
    assert.equal("AKIDMAIN00000000", c:get().access_key_id)
    assert.equal(2, p.n)
  end)

  it("a provider that raises wakes the waiters and re-raises", function()
    local ctx = { sts = function() return coroutine.yield("io") end }
    local p = { name = "buggy" }
    function p.resolve(_, cx)
      cx.sts()
      error("bug in provider")
    end
    local c = cache.new(p, { ctx = ctx })
    local co1 = coroutine.create(function() return c:get() end)
    local co2 = coroutine.create(function() return c:get() end)
    coroutine.resume(co1)
    coroutine.resume(co2)
    local ok, msg = coroutine.resume(co1)
    assert.is_false(ok)
    assert.truthy(tostring(msg):find("bug in provider", 1, true))
    local ok2, r, err = coroutine.resume(co2)
    assert.is_true(ok2)
    assert.is_nil(r)
    assert.equal("ProviderError", err.code)
    assert.is_nil(c.flight)
  end)
end)
