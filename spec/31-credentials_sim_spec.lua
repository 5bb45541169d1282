-- Credential sources end to end: every provider of the default chain, their
-- precedence, refresh in the middle of a long run and secret hygiene, against
-- the bundled simulator (tools/ekssim) over real HTTP on 127.0.0.1.
--
-- Identities (tools/ekssim/fleets/sample.json): AKIDEXAMPLE is user ekssim-admin
-- of 111122223333, AKIAEKSSIMAUDITOR001 user auditor of the same account,
-- AKIAEKSSIM0000000002 user ekssim-admin of 444455556666; IMDS serves
-- ekssim-node-role, the container endpoint ekssim-pod-role, web identity
-- eksegress-irsa. Which identity answers STS GetCallerIdentity tells which
-- source the client used. Fixtures: spec/fixtures/credentials/ (paths inside
-- them are relative to the repository root, where busted runs).
local cjson = require "cjson"
local eksegress = require "eksegress"
local secret = require "eksegress.secret"
local H = require "helpers.sim"
local fx = require "helpers.fixtures"
local proc = require "helpers.process"

local F = "spec/fixtures/credentials/"
local ACCT1, ACCT2 = "111122223333", "444455556666"
local ADMIN_ARN = "arn:aws:iam::111122223333:user/ekssim-admin"
local AUDITOR_ARN = "arn:aws:iam::111122223333:user/auditor"
local SECOND_ARN = "arn:aws:iam::444455556666:user/ekssim-admin"
local IRSA_ROLE = "arn:aws:iam::111122223333:role/eksegress-irsa"
local POD_ARN = "arn:aws:sts::111122223333:assumed-role/ekssim-pod-role/eks-pod-identity"
local GOOD_WEB_TOKEN = "eyJhbGciOiJSUzI1NiJ9.ZWtzc2ltLWlyc2EtdG9rZW4.ekssim-irsa-signature"
local EXPIRED_WEB_TOKEN = "eyJhbGciOiJSUzI1NiJ9.ZXhwaXJlZA.ekssim-expired-signature"
local CONTAINER_TOKEN = "ekssim-container-token"

-- Every long-term secret of the fleet; temporary ones are added as they appear.
local STATIC_SECRETS = {
  H.SECRET_KEY,
  "ekssim/Auditor/Secret+000000001/EXAMPLE1",
  "ekssim/SecondAccount/Secret+EXAMPLEKEY02",
}

local sim

-- Unset every credential-related variable the simulator helper sets by default.
local NO_ENV_KEYS = { AWS_ACCESS_KEY_ID = false, AWS_SECRET_ACCESS_KEY = false }

local function merge(...)
  local out = {}
  for i = 1, select("#", ...) do
    for k, v in pairs(select(i, ...) or {}) do out[k] = v end
  end
  return out
end

-- Environment with the fixture config/credentials files and no env keys.
local function files(extra)
  return merge(NO_ENV_KEYS, {
    AWS_CONFIG_FILE = F .. "config", AWS_SHARED_CREDENTIALS_FILE = F .. "credentials",
  }, extra)
end

-- A client (or nil, err) with the simulator environment plus `env`.
local function new_client(env, opts)
  opts = merge(opts)
  opts.env = sim:env(env)
  return eksegress.client(opts)
end

local function client(env, opts)
  local c, err = new_client(env, opts)
  assert(c, err and tostring(err))
  return c
end

-- whoami's Arn, or raise with the error.
local function arn_of(c)
  local out, err = c:whoami()
  assert(out, "whoami failed: " .. tostring(err))
  return out.Arn
end

-- whoami must fail: returns the error.
local function whoami_error(c)
  local out, err = c:whoami()
  assert(out == nil, "whoami unexpectedly answered " .. tostring(out and out.Arn))
  assert(err, "no error returned")
  return err
end

local function mark()
  return math.tointeger(sim:admin("GET", "/_sim/log?limit=0").last_seq)
end

-- Requests the simulator saw after `since`, optionally only one operation
-- (and only successful ones with ok = true).
local function requests(since, op, ok)
  local out = {}
  for _, r in ipairs(sim:admin("GET", "/_sim/log?since=" .. since).requests) do
    if (not op or r.operation == op) and (not ok or r.status == 200) then out[#out + 1] = r end
  end
  return out
end

local function count(since, op, ok)
  return #requests(since, op, ok)
end

local function tmpfile(content)
  local path = os.tmpname()
  local f = assert(io.open(path, "wb"))
  f:write(content)
  f:close()
  return path
end

local function rewrite(path, content)
  local f = assert(io.open(path, "wb"))
  f:write(content)
  f:close()
end

-- An injectable clock for the client's credential caches: real time + shift.
local function shifted_clock()
  local clock = { shift = 0 }
  clock.now = function() return os.time() + clock.shift end
  return clock
end

setup(function()
  sim = H.start("--time-scale 0")
end)

teardown(function()
  if sim then sim:stop() end
end)

after_each(function()
  -- Tests that move the simulator clock put it back.
  sim:admin("POST", "/_sim/faults", { reset = true })
end)

-- ---------------------------------------------------------------------------
describe("environment keys", function()
  it("AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY sign EKS and STS calls", function()
    local c = client()
    assert.equal(ADMIN_ARN, arn_of(c))
    local out, err = c:call("eks", "ListClusters", {})
    assert.is_nil(err)
    assert.truthy(table.concat(out.clusters, ","):find("prod-api", 1, true))
  end)

  it("AWS_SESSION_TOKEN is sent with temporary keys (and required by them)", function()
    local admin = client()
    local out = assert(admin:call("sts", "AssumeRole", {
      RoleArn = "arn:aws:iam::111122223333:role/EksReadOnly", RoleSessionName = "spec-env-session" }))
    local k = out.Credentials
    assert.truthy(k.AccessKeyId:find("^ASIA"))
    local c = client{ AWS_ACCESS_KEY_ID = k.AccessKeyId, AWS_SECRET_ACCESS_KEY = k.SecretAccessKey,
      AWS_SESSION_TOKEN = k.SessionToken }
    assert.equal("arn:aws:sts::111122223333:assumed-role/EksReadOnly/spec-env-session", arn_of(c))
    local _, eerr = c:call("ec2", "DescribeVpcs", {})
    assert.is_nil(eerr)
    -- Without the token the simulator does not know the temporary key.
    local bare = client{ AWS_ACCESS_KEY_ID = k.AccessKeyId, AWS_SECRET_ACCESS_KEY = k.SecretAccessKey }
    assert.equal("InvalidClientTokenId", whoami_error(bare).code)
  end)

  it("a partial pair is a clear error and nothing is sent", function()
    local since = mark()
    local err = whoami_error(client{ AWS_SECRET_ACCESS_KEY = false })
    assert.equal("PartialCredentials", err.code)
    assert.truthy(err.message:find("AWS_SECRET_ACCESS_KEY is not set", 1, true))
    err = whoami_error(client{ AWS_ACCESS_KEY_ID = false })
    assert.equal("PartialCredentials", err.code)
    assert.truthy(err.message:find("AWS_ACCESS_KEY_ID is not set", 1, true))
    assert.equal(0, count(since))
  end)

  it("the explicit credentials option beats environment keys", function()
    local c = client(nil, { credentials = { access_key_id = "AKIAEKSSIM0000000002",
      secret_access_key = "ekssim/SecondAccount/Secret+EXAMPLEKEY02" } })
    assert.equal(SECOND_ARN, arn_of(c))
    -- ... and a profile: explicit credentials are the only source consulted.
    c = client(files{ AWS_PROFILE = "auditor" }, { credentials = { access_key_id = "AKIAEKSSIM0000000002",
      secret_access_key = "ekssim/SecondAccount/Secret+EXAMPLEKEY02" } })
    assert.equal(SECOND_ARN, arn_of(c))
  end)
end)

-- ---------------------------------------------------------------------------
describe("shared config and credentials files", function()
  it("[default]: the credentials file wins over the config file", function()
    -- config [default] holds the auditor's keys, credentials [default] the admin's.
    assert.equal(ADMIN_ARN, arn_of(client(files())))
    -- Without the credentials file the config file's keys are used.
    assert.equal(AUDITOR_ARN, arn_of(client(files{ AWS_SHARED_CREDENTIALS_FILE = "/nonexistent/creds" })))
  end)

  it("AWS_PROFILE selects a [profile x] section (config) or an [x] section (credentials)", function()
    assert.equal(SECOND_ARN, arn_of(client(files{ AWS_PROFILE = "second" })))
    assert.equal(SECOND_ARN, arn_of(client(files{ AWS_PROFILE = "cred-only" })))
    assert.equal(AUDITOR_ARN, arn_of(client(files{ AWS_DEFAULT_PROFILE = "auditor" })))
  end)

  it("the profile option beats AWS_PROFILE and environment keys", function()
    local c = client(files{ AWS_PROFILE = "second", AWS_ACCESS_KEY_ID = H.ACCESS_KEY,
      AWS_SECRET_ACCESS_KEY = H.SECRET_KEY }, { profile = "auditor" })
    assert.equal(AUDITOR_ARN, arn_of(c))
  end)

  it("a missing profile is ProfileNotFound (AWS_PROFILE or option)", function()
    local c, err = new_client(files{ AWS_PROFILE = "no-such-profile" })
    assert.is_nil(c)
    assert.equal("ProfileNotFound", err.code)
    assert.truthy(err.message:find("no-such-profile", 1, true))
    c, err = new_client(files(), { profile = "also-missing" })
    assert.is_nil(c)
    assert.equal("ProfileNotFound", err.code)
    assert.equal("also-missing", err.profile)
  end)

  it("a malformed file is ConfigParseError naming the file and line", function()
    local path = F .. "config-malformed"
    local c, err = new_client(files{ AWS_CONFIG_FILE = path })
    assert.is_nil(c)
    assert.equal("ConfigParseError", err.code)
    assert.equal(path, err.file)
    assert.equal(3, err.line)
    assert.truthy(err.message:find(path .. ":3:", 1, true))
  end)
end)

-- ---------------------------------------------------------------------------
describe("assume role", function()
  it("role_arn + source_profile: one hop, whoami shows the assumed role", function()
    local since = mark()
    local c = client(files{ AWS_PROFILE = "admin-role" })
    assert.equal("arn:aws:sts::111122223333:assumed-role/EksEgressAdmin/spec-one-hop", arn_of(c))
    local ar = requests(since, "AssumeRole")
    assert.equal(1, #ar)
    assert.equal(ADMIN_ARN, ar[1].principal)
    local out, err = c:call("eks", "DescribeCluster", { name = "prod-api" })
    assert.is_nil(err)
    assert.equal("prod-api", out.cluster.name)
  end)

  it("two-hop chain into 444455556666's EksAuditRole", function()
    local since = mark()
    local c = client(files{ AWS_PROFILE = "audit-chain" })
    assert.equal("arn:aws:sts::444455556666:assumed-role/EksAuditRole/spec-two-hop", arn_of(c))
    assert.equal(ACCT2, c.credentials:get(c.ctx).account_id)
    local ar = requests(since, "AssumeRole")
    assert.equal(2, #ar)
    assert.equal(ADMIN_ARN, ar[1].principal)
    assert.equal("arn:aws:sts::111122223333:assumed-role/EksEgressAdmin/spec-one-hop", ar[2].principal)
    -- A real EKS call in the second account (its clusters, not the first's).
    local out, err = c:call("eks", "ListClusters", {})
    assert.is_nil(err)
    local names = table.concat(out.clusters, ",")
    assert.truthy(names:find("dev-a", 1, true))
    assert.falsy(names:find("prod-api", 1, true))
  end)

  it("two-hop chain into 444455556666's EksEgressAdmin", function()
    local c = client(files{ AWS_PROFILE = "dev-admin-chain" })
    assert.equal("arn:aws:sts::444455556666:assumed-role/EksEgressAdmin/spec-two-hop-admin", arn_of(c))
    local out, err = c:call("ec2", "DescribeRegions", {})
    assert.is_nil(err)
    assert.truthy(out)
  end)

  it("external_id is sent (PartnerAccess); a wrong one is AccessDenied", function()
    assert.equal("arn:aws:sts::444455556666:assumed-role/PartnerAccess/spec-partner",
      arn_of(client(files{ AWS_PROFILE = "partner" })))
    local err = whoami_error(client(files{ AWS_PROFILE = "partner-wrong-id" }))
    assert.equal("AccessDenied", err.code)
    assert.equal(403, err.status)
    assert.truthy(err.message:find("partner-wrong-id", 1, true))
  end)

  it("credential_source = Environment takes the base keys from the environment", function()
    -- The profile option (like --profile) keeps the env keys from answering directly.
    local c = client(files{ AWS_ACCESS_KEY_ID = H.ACCESS_KEY, AWS_SECRET_ACCESS_KEY = H.SECRET_KEY },
      { profile = "env-role" })
    assert.equal("arn:aws:sts::111122223333:assumed-role/EksReadOnly/spec-from-env", arn_of(c))
    local err = whoami_error(client(files(), { profile = "env-role" }))
    assert.equal("InvalidConfig", err.code)
    assert.truthy(err.message:find("Environment", 1, true))
  end)

  it("credential_source = Ec2InstanceMetadata / EcsContainer", function()
    local since = mark()
    local c = client(files{ AWS_PROFILE = "imds-role", AWS_EC2_METADATA_DISABLED = false,
      AWS_EC2_METADATA_SERVICE_ENDPOINT = sim.url })
    assert.equal("arn:aws:sts::111122223333:assumed-role/EksReadOnly/spec-from-imds", arn_of(c))
    local ar = requests(since, "AssumeRole")
    assert.equal(1, #ar)
    assert.truthy(ar[1].principal:find("assumed-role/ekssim-node-role/", 1, true))
    since = mark()
    c = client(files{ AWS_PROFILE = "ecs-role",
      AWS_CONTAINER_CREDENTIALS_FULL_URI = sim.url .. "/v1/credentials",
      AWS_CONTAINER_AUTHORIZATION_TOKEN = CONTAINER_TOKEN })
    assert.equal("arn:aws:sts::444455556666:assumed-role/EksAuditRole/spec-from-container", arn_of(c))
    ar = requests(since, "AssumeRole")
    assert.equal(1, #ar)
    assert.equal(POD_ARN, ar[1].principal)
    -- A credential_source that has nothing to give is a configuration error.
    local err = whoami_error(client(files{ AWS_PROFILE = "imds-role" })) -- IMDS disabled
    assert.equal("InvalidConfig", err.code)
    assert.truthy(err.message:find("Ec2InstanceMetadata", 1, true))
  end)

  it("a source_profile cycle is InfiniteLoop and calls no STS", function()
    local since = mark()
    local err = whoami_error(client(files{ AWS_PROFILE = "loop-a" }))
    assert.equal("InfiniteLoop", err.code)
    assert.truthy(err.message:find("loop-a -> loop-b -> loop-a", 1, true))
    err = whoami_error(client(files{ AWS_PROFILE = "missing-source" }))
    assert.equal("InvalidConfig", err.code)
    assert.truthy(err.message:find("no-such-profile", 1, true))
    assert.equal(0, count(since))
  end)
end)

-- ---------------------------------------------------------------------------
describe("credential_process", function()
  it("runs the command and signs with its keys", function()
    local c = client(files{ AWS_PROFILE = "process-ok" })
    assert.equal(AUDITOR_ARN, arn_of(c))
    local creds = c.credentials:get(c.ctx)
    assert.equal("process", creds.source)
    assert.equal(ACCT1, creds.account_id)
  end)

  it("a non-zero exit is an error carrying stderr", function()
    local err = whoami_error(client(files{ AWS_PROFILE = "process-fail" }))
    assert.equal("CredentialProcessError", err.code)
    assert.truthy(err.message:find("status 3", 1, true))
    assert.truthy(err.message:find("the token broker said no", 1, true))
  end)

  it("output that is not JSON is an error", function()
    local err = whoami_error(client(files{ AWS_PROFILE = "process-badjson" }))
    assert.equal("CredentialProcessError", err.code)
    assert.truthy(err.message:find("not a JSON object", 1, true))
  end)

  it("Version other than 1 is an error", function()
    local err = whoami_error(client(files{ AWS_PROFILE = "process-version" }))
    assert.equal("CredentialProcessError", err.code)
    assert.truthy(err.message:find("Version must be 1", 1, true))
  end)
end)

describe("hangs and special files (issue 8.8, 8.9, 8.12)", function()
  it("regression: a credential_process helper that keeps stdout open fails the call, not the process", function()
    local process = require "eksegress.credentials.process"
    local since = mark()
    -- The client's `run` option shortens the deadline (the default is 60 s).
    local c = client(files{ AWS_PROFILE = "process-linger" }, { run = function(argv, o)
      return process.run(argv, { timeout_ms = 500, max_output = o.max_output })
    end })
    local err = whoami_error(c)
    assert.equal("CredentialProcessError", err.code)
    assert.equal("ProcessTimeout", err.reason)
    assert.equal(0, count(since), "nothing was sent without credentials")
  end)

  it("regression: AWS_CONFIG_FILE naming a FIFO is a clear client error, never a hang", function()
    local dir, remove = fx.tmpdir()
    finally(remove)
    fx.mkfifo(dir .. "/config")
    -- The witness: the child creates the client and comes back with the error.
    local r = proc.run_lua(([[
      local env = { AWS_CONFIG_FILE = %q, AWS_SHARED_CREDENTIALS_FILE = "/nonexistent",
                    AWS_REGION = "us-east-1", AWS_EC2_METADATA_DISABLED = "true" }
      local c, err = require("eksegress").client{ env = function(k) return env[k] end }
      io.write(tostring(c), "|", err.code, "|", tostring(err.reason))
    ]]):format(dir .. "/config"))
    assert.equal(0, r.status, r.stderr)
    assert.equal("nil|ConfigReadError|NotARegularFile", r.stdout)
  end)
end)

-- ---------------------------------------------------------------------------
describe("web identity", function()
  local function web_env(file, extra)
    return merge(NO_ENV_KEYS, { AWS_WEB_IDENTITY_TOKEN_FILE = file, AWS_ROLE_ARN = IRSA_ROLE }, extra)
  end

  it("from AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN (unsigned AssumeRoleWithWebIdentity)", function()
    local since = mark()
    local c = client(web_env(F .. "web-identity-token", { AWS_ROLE_SESSION_NAME = "spec-web-env" }))
    assert.equal("arn:aws:sts::111122223333:assumed-role/eksegress-irsa/spec-web-env", arn_of(c))
    local calls = requests(since, "AssumeRoleWithWebIdentity")
    assert.equal(1, #calls)
    assert.equal(200, calls[1].status)
    local _, err = c:call("eks", "ListClusters", {})
    assert.is_nil(err)
  end)

  it("from a profile (web_identity_token_file + role_arn)", function()
    assert.equal("arn:aws:sts::111122223333:assumed-role/eksegress-irsa/spec-web-profile",
      arn_of(client(files{ AWS_PROFILE = "web" })))
  end)

  it("re-reads the token file at every refresh", function()
    local path = tmpfile(GOOD_WEB_TOKEN .. "\n")
    local clock = shifted_clock()
    local since = mark()
    finally(function() os.remove(path) end)
    local c = client(web_env(path), { now = clock.now })
    assert.truthy(arn_of(c):find("assumed-role/eksegress-irsa/", 1, true))
    -- Rotate to the expired token; the cached credentials still serve.
    rewrite(path, EXPIRED_WEB_TOKEN)
    assert.truthy(arn_of(c):find("eksegress-irsa", 1, true))
    assert.equal(1, count(since, "AssumeRoleWithWebIdentity"))
    -- The credentials (1 h) reach their expiry: the refresh reads the new file.
    clock.shift = 3600 + 60
    assert.equal("ExpiredTokenException", whoami_error(c).code)
    -- Rotate to a valid token: the next refresh picks it up.
    rewrite(path, "  " .. GOOD_WEB_TOKEN .. "\n\n")
    assert.truthy(arn_of(c):find("eksegress-irsa", 1, true))
    assert.equal(3, count(since, "AssumeRoleWithWebIdentity"))
    assert.equal(2, count(since, "AssumeRoleWithWebIdentity", true))
  end)

  it("an expired token is an error (ExpiredTokenException)", function()
    local err = whoami_error(client(files{ AWS_PROFILE = "web-expired" }))
    assert.equal("ExpiredTokenException", err.code)
    assert.equal(400, err.status)
    err = whoami_error(client(web_env(F .. "web-identity-token-expired")))
    assert.equal("ExpiredTokenException", err.code)
  end)

  it("a missing token file is an error, not a fall-through", function()
    local err = whoami_error(client(web_env("/nonexistent/token")))
    assert.equal("WebIdentityTokenError", err.code)
    assert.truthy(err.message:find("/nonexistent/token", 1, true))
  end)
end)

-- ---------------------------------------------------------------------------
describe("container credentials", function()
  local function container_env(extra)
    return merge(NO_ENV_KEYS, { AWS_CONTAINER_CREDENTIALS_FULL_URI = sim.url .. "/v1/credentials" }, extra)
  end

  it("FULL_URI + AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", function()
    local since = mark()
    local c = client(container_env{ AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE = F .. "container-token" })
    assert.equal(POD_ARN, arn_of(c))
    assert.equal(1, count(since, "ContainerCredentials", true))
    local _, err = c:call("eks", "DescribeCluster", { name = "prod-routed" })
    assert.is_nil(err)
  end)

  it("re-reads the token file at every refresh", function()
    local path = tmpfile(CONTAINER_TOKEN)
    finally(function() os.remove(path) end)
    local clock = shifted_clock()
    local since = mark()
    local c = client(container_env{ AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE = path }, { now = clock.now })
    assert.equal(POD_ARN, arn_of(c))
    rewrite(path, "rotated-but-wrong-token\n")
    clock.shift = 6 * 3600 + 60 -- the 6 h credentials have expired
    local err = whoami_error(c)
    assert.equal("ContainerCredentialsError", err.code)
    assert.equal(401, err.status)
    rewrite(path, CONTAINER_TOKEN .. "\n")
    assert.equal(POD_ARN, arn_of(c))
    assert.equal(2, count(since, "ContainerCredentials", true))
    assert.equal(3, count(since, "ContainerCredentials")) -- one 401 in between
  end)

  it("AWS_CONTAINER_AUTHORIZATION_TOKEN; a wrong token is an error", function()
    assert.equal(POD_ARN, arn_of(client(container_env{ AWS_CONTAINER_AUTHORIZATION_TOKEN = CONTAINER_TOKEN })))
    local err = whoami_error(client(container_env{ AWS_CONTAINER_AUTHORIZATION_TOKEN = "wrong" }))
    assert.equal("ContainerCredentialsError", err.code)
    assert.equal(401, err.status)
    err = whoami_error(client(container_env()))
    assert.equal(401, err.status)
  end)

  it("a FULL_URI host that is not allowed is refused without a request", function()
    local since = mark()
    for _, uri in ipairs{ "http://192.0.2.10/v1/credentials", "http://example.com:8080/creds",
                          "http://user@127.0.0.1:1/v1/credentials" } do
      local err = whoami_error(client(container_env{ AWS_CONTAINER_CREDENTIALS_FULL_URI = uri,
        AWS_CONTAINER_AUTHORIZATION_TOKEN = CONTAINER_TOKEN }))
      assert.equal("InvalidConfig", err.code)
      assert.truthy(err.message:find("AWS_CONTAINER_CREDENTIALS_FULL_URI", 1, true))
    end
    assert.equal(0, count(since))
  end)
end)

-- ---------------------------------------------------------------------------
describe("IMDSv2", function()
  local function imds_env(extra)
    return merge(NO_ENV_KEYS, { AWS_EC2_METADATA_DISABLED = false,
      AWS_EC2_METADATA_SERVICE_ENDPOINT = sim.url }, extra)
  end

  it("token PUT, role listing, credentials", function()
    local since = mark()
    local c = client(imds_env())
    local arn = arn_of(c)
    assert.truthy(arn:find("^arn:aws:sts::111122223333:assumed%-role/ekssim%-node%-role/i%-0"), arn)
    local ops = {}
    for _, r in ipairs(requests(since)) do
      if r.service == "imds" then ops[#ops + 1] = r.operation .. " " .. math.tointeger(r.status) end
    end
    assert.same({ "ImdsToken 200", "ImdsMetadata 200", "ImdsCredentials 200" }, ops)
    assert.equal("imds", c.credentials:get(c.ctx).source)
  end)

  it("a 401 (token no longer valid) fetches a new token and retries", function()
    local clock = shifted_clock()
    local c = client(imds_env(), { now = clock.now })
    local first = arn_of(c)
    -- The simulator forgets every token it issued (and every session).
    sim:admin("POST", "/_sim/reset")
    local since = mark()
    -- 6 h credentials, 500 s left: a mandatory refresh with the cached token.
    clock.shift = 6 * 3600 - 500
    assert.equal(first, arn_of(c))
    local ops = {}
    for _, r in ipairs(requests(since)) do
      if r.service == "imds" then ops[#ops + 1] = r.operation .. " " .. math.tointeger(r.status) end
    end
    assert.same({ "ImdsMetadata 401", "ImdsToken 200", "ImdsMetadata 200", "ImdsCredentials 200" }, ops)
  end)

  it("AWS_EC2_METADATA_DISABLED=true skips it", function()
    local since = mark()
    local err = whoami_error(client(imds_env{ AWS_EC2_METADATA_DISABLED = "true" }))
    assert.equal("CredentialsNotFound", err.code)
    assert.truthy(err.message:find("disabled", 1, true))
    assert.equal(0, count(since))
  end)
end)

-- ---------------------------------------------------------------------------
describe("precedence", function()
  it("env > profile > web identity > container > IMDS", function()
    local env = {
      AWS_ACCESS_KEY_ID = H.ACCESS_KEY, AWS_SECRET_ACCESS_KEY = H.SECRET_KEY,
      AWS_CONFIG_FILE = F .. "config", AWS_SHARED_CREDENTIALS_FILE = F .. "credentials",
      AWS_PROFILE = "second",
      AWS_WEB_IDENTITY_TOKEN_FILE = F .. "web-identity-token", AWS_ROLE_ARN = IRSA_ROLE,
      AWS_ROLE_SESSION_NAME = "spec-precedence",
      AWS_CONTAINER_CREDENTIALS_FULL_URI = sim.url .. "/v1/credentials",
      AWS_CONTAINER_AUTHORIZATION_TOKEN = CONTAINER_TOKEN,
      AWS_EC2_METADATA_DISABLED = false, AWS_EC2_METADATA_SERVICE_ENDPOINT = sim.url,
    }
    local since = mark()
    assert.equal(ADMIN_ARN, arn_of(client(env)))
    env.AWS_ACCESS_KEY_ID, env.AWS_SECRET_ACCESS_KEY = false, false
    assert.equal(SECOND_ARN, arn_of(client(env)))
    -- A selected profile without credentials passes on to the next source.
    env.AWS_PROFILE = "regiononly"
    assert.equal("arn:aws:sts::111122223333:assumed-role/eksegress-irsa/spec-precedence", arn_of(client(env)))
    -- Until now no lower source was even asked.
    assert.equal(0, count(since, "ContainerCredentials") + count(since, "ImdsToken"))
    env.AWS_WEB_IDENTITY_TOKEN_FILE = false
    assert.equal(POD_ARN, arn_of(client(env)))
    -- With container credentials configured, IMDS is never consulted.
    assert.equal(0, count(since, "ImdsToken"))
    env.AWS_CONTAINER_CREDENTIALS_FULL_URI = false
    assert.truthy(arn_of(client(env)):find("assumed-role/ekssim-node-role/", 1, true))
    assert.equal(1, count(since, "ImdsToken"))
  end)

  it("AWS_PROFILE does not beat environment keys; an explicit profile does", function()
    local env = files{ AWS_ACCESS_KEY_ID = H.ACCESS_KEY, AWS_SECRET_ACCESS_KEY = H.SECRET_KEY,
      AWS_PROFILE = "second" }
    assert.equal(ADMIN_ARN, arn_of(client(env)))
    assert.equal(SECOND_ARN, arn_of(client(env, { profile = "second" })))
  end)

  it("a failing configured source is reported, not papered over by a lower one", function()
    local err = whoami_error(client{ AWS_ACCESS_KEY_ID = false, AWS_SECRET_ACCESS_KEY = false,
      AWS_WEB_IDENTITY_TOKEN_FILE = F .. "web-identity-token-expired", AWS_ROLE_ARN = IRSA_ROLE,
      AWS_CONTAINER_CREDENTIALS_FULL_URI = sim.url .. "/v1/credentials",
      AWS_CONTAINER_AUTHORIZATION_TOKEN = CONTAINER_TOKEN })
    assert.equal("ExpiredTokenException", err.code)
  end)
end)

-- ---------------------------------------------------------------------------
describe("refresh in the middle of a long run", function()
  -- Profile `short`: EksEgressAdmin with duration_seconds = 900, so the
  -- credentials are inside the 10-minute mandatory window almost at once.
  -- Time passes for both sides: the client's credential clock (`now`) and the
  -- simulator's clock (clock_skew: Date, signature window, credential expiry)
  -- move together; the engine learns the new time from the first
  -- "Signature expired" answer and re-signs.
  local function short_client(clock)
    return client(files{ AWS_PROFILE = "short" }, { now = clock.now })
  end

  local function move(clock, seconds)
    clock.shift = seconds
    sim:admin("POST", "/_sim/faults", { clock_skew = seconds })
  end

  it("a long loop keeps succeeding across refreshes; the old keys really expired", function()
    local clock = shifted_clock()
    local c = short_client(clock)
    local since = mark()
    local arns, first = {}, nil
    for i = 1, 60 do
      if i == 21 then move(clock, 400) end  -- 500 s left: mandatory refresh
      if i == 41 then move(clock, 1000) end -- the first keys are now expired
      local out, err
      if i % 3 == 0 then
        out, err = c:call("eks", "ListClusters", {})
      elseif i % 3 == 1 then
        out, err = c:whoami()
        if out then arns[out.Arn] = true end
      else
        out, err = c:call("ec2", "DescribeSubnets", { MaxResults = 5 })
      end
      assert(out, ("call %d failed: %s"):format(i, tostring(err)))
      if i == 1 then first = c.credentials:get(c.ctx) end
    end
    assert.equal(3, count(since, "AssumeRole", true))
    local n = 0
    for a in pairs(arns) do
      n = n + 1
      assert.truthy(a:find("^arn:aws:sts::111122223333:assumed%-role/EksEgressAdmin/eksegress%-session%-%d+$"), a)
    end
    assert.equal(3, n) -- three sessions, named after the (moved) clock
    -- The simulator now rejects the first keys: the refresh was needed.
    local _, err = c:call("sts", "GetCallerIdentity", {}, { credentials = first })
    assert.equal("ExpiredToken", err.code)
  end)

  it("concurrent callers (parallel, 20 items) share one refresh", function()
    local clock = shifted_clock()
    local c = short_client(clock)
    assert.truthy(arn_of(c):find("EksEgressAdmin", 1, true))
    local before = c.credentials.refreshes
    local since = mark()
    clock.shift = 400 -- 500 s left: every caller needs a mandatory refresh
    local items = {}
    for i = 1, 20 do items[i] = i end
    local results, errs = eksegress.parallel(items, function()
      local out, err = c:call("eks", "ListClusters", {})
      if not out then return nil, err end
      return c.credentials.current.access_key_id
    end, { concurrency = 20, runtime = c.runtime })
    for i = 1, 20 do
      assert(results[i], ("item %d: %s"):format(i, tostring(errs[i])))
    end
    assert.equal(1, count(since, "AssumeRole"))
    assert.equal(20, count(since, "ListClusters", true))
    assert.equal(before + 1, c.credentials.refreshes)
    for i = 2, 20 do assert.equal(results[1], results[i]) end
  end)

  it("the first resolve in parallel is shared too (two-hop chain, web identity)", function()
    local items = {}
    for i = 1, 20 do items[i] = i end
    local function run(c)
      local results, errs = eksegress.parallel(items, function()
        return c:call("eks", "ListClusters", {})
      end, { concurrency = 20, runtime = c.runtime })
      for i = 1, 20 do assert(results[i], ("item %d: %s"):format(i, tostring(errs[i]))) end
    end
    local since = mark()
    run(client(files{ AWS_PROFILE = "audit-chain" }))
    assert.equal(2, count(since, "AssumeRole"))
    since = mark()
    run(client(merge(NO_ENV_KEYS, { AWS_WEB_IDENTITY_TOKEN_FILE = F .. "web-identity-token",
      AWS_ROLE_ARN = IRSA_ROLE })))
    assert.equal(1, count(since, "AssumeRoleWithWebIdentity"))
    assert.equal(20, count(since, "ListClusters", true))
  end)
end)

-- ---------------------------------------------------------------------------
describe("secrets", function()
  -- Every string reachable from a value: tables walked (keys, values and
  -- __tostring), functions and userdata rendered with tostring.
  local function strings(v, out, seen)
    out, seen = out or {}, seen or {}
    local t = type(v)
    if t == "string" then
      out[#out + 1] = v
    elseif t == "number" or t == "boolean" then
      out[#out + 1] = tostring(v)
    elseif t == "table" then
      if seen[v] then return out end
      seen[v] = true
      out[#out + 1] = tostring(v)
      for k, x in pairs(v) do
        strings(k, out, seen)
        strings(x, out, seen)
      end
      local mt = getmetatable(v)
      if type(mt) == "table" then strings(mt, out, seen) end
    elseif t ~= "nil" then
      out[#out + 1] = tostring(v)
    end
    return out
  end

  local function assert_clean(haystack, needles)
    for _, s in ipairs(haystack) do
      for _, n in ipairs(needles) do
        if s:find(n, 1, true) then
          error(("a secret (%s...) leaked into: %s"):format(n:sub(1, 6), s:sub(1, 200)), 2)
        end
      end
    end
  end

  it("never appear in tostring, errors, the client object or the simulator's view", function()
    local clock = shifted_clock()
    local ctoken = tmpfile(CONTAINER_TOKEN)
    local audit = os.tmpname()
    finally(function() -- (busted keeps one finally per test)
      os.remove(ctoken)
      os.remove(audit)
    end)
    local since = mark()
    local needles = {}
    for _, s in ipairs(STATIC_SECRETS) do needles[#needles + 1] = s end
    needles[#needles + 1] = GOOD_WEB_TOKEN
    needles[#needles + 1] = CONTAINER_TOKEN
    local hay = {}
    local function add(...) for i = 1, select("#", ...) do strings(select(i, ...), hay) end end

    local clients = {
      client({}, { audit_path = audit }),
      client(files{ AWS_PROFILE = "audit-chain" }, { now = clock.now }),
      client(files{ AWS_PROFILE = "partner" }),
      client(files{ AWS_PROFILE = "process-ok" }),
      client(files{ AWS_PROFILE = "web" }),
      client(merge(NO_ENV_KEYS, { AWS_CONTAINER_CREDENTIALS_FULL_URI = sim.url .. "/v1/credentials",
        AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE = ctoken })),
      client(merge(NO_ENV_KEYS, { AWS_EC2_METADATA_DISABLED = false,
        AWS_EC2_METADATA_SERVICE_ENDPOINT = sim.url })),
    }
    for _, c in ipairs(clients) do
      add(c:whoami())
      add(c:call("eks", "ListClusters", {}))
      add(c:call("eks", "DescribeCluster", { name = "no-such-cluster" }))
      add(c:call("ec2", "DescribeVpcs", { VpcIds = { "vpc-0notthere000000" } }))
      local creds = c.credentials:get(c.ctx)
      add(tostring(c), tostring(creds), creds, c)
      -- Learn the temporary secrets this client holds, to search for them too.
      local _, sk, tok = creds:unwrap()
      needles[#needles + 1] = sk
      if tok then needles[#needles + 1] = tok end
    end
    -- A refresh of the chained role (new keys), then errors of every kind.
    clock.shift = 3000
    add(clients[2]:whoami(), clients[2])
    local _, sk2, tok2 = clients[2].credentials:get(clients[2].ctx):unwrap()
    needles[#needles + 1], needles[#needles + 1] = sk2, tok2
    local _, sk1, tok1 = clients[2].credentials:get(clients[2].ctx):unwrap()
    local broken = {
      client{ AWS_SECRET_ACCESS_KEY = false },
      client{ AWS_ACCESS_KEY_ID = "ASIAEKSSIMNOTKNOWN01", AWS_SESSION_TOKEN = tok1 },
      client{ AWS_SECRET_ACCESS_KEY = sk1 .. "x" }, -- wrong signature
      client(files{ AWS_PROFILE = "partner-wrong-id" }),
      client(files{ AWS_PROFILE = "process-fail" }),
      client(files{ AWS_PROFILE = "web-expired" }),
      client(merge(NO_ENV_KEYS, { AWS_CONTAINER_CREDENTIALS_FULL_URI = sim.url .. "/v1/credentials",
        AWS_CONTAINER_AUTHORIZATION_TOKEN = "wrong" })),
    }
    for _, c in ipairs(broken) do
      local out, err = c:whoami()
      assert.is_nil(out)
      add(err, tostring(err), c)
    end
    add(eksegress.client{ env = sim:env(files{ AWS_CONFIG_FILE = F .. "config-malformed" }) })
    -- What the simulator saw and logged, and its own output.
    add(cjson.encode(sim:admin("GET", "/_sim/log?since=" .. since)))
    local f = io.open(sim.log, "rb")
    if f then add(f:read("a")); f:close() end
    f = io.open(audit, "rb")
    if f then add(f:read("a")); f:close() end

    assert.truthy(#needles >= 3 + 7 + 4)
    assert.truthy(#hay > 100)
    assert_clean(hay, needles)
    -- Sanity: the search does find a secret where one is.
    assert.has_error(function() assert_clean({ "x" .. sk2 .. "y" }, needles) end)
    -- The masked form is what a credentials object shows.
    assert.equal("Credentials(AKIA****R001, source=process, expires=2999-01-01T00:00:00Z)",
      tostring(clients[4].credentials:get(clients[4].ctx)))
    assert.equal("<redacted>", tostring(secret.wrap(GOOD_WEB_TOKEN)))
    -- Keys read from the shared files stay wrapped in the client's settings.
    local props = clients[2].settings.config:profile("default")
    assert.equal("AKIDEXAMPLE", props.aws_access_key_id)
    assert.equal("<redacted>", tostring(props.aws_secret_access_key))
    assert.equal(H.SECRET_KEY, secret.reveal(props.aws_secret_access_key))
  end)
end)
