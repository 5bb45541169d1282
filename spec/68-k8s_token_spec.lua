-- Issue 13 §2 and the Kubernetes client of §3: EKS tokens proven against the
-- simulator's Kubernetes API (which authenticates exactly as EKS does), and
-- the small API client over the same engine, with the cluster's CA from
-- memory (engine `ca_pem`).
local cjson = require "cjson"
local core = require "eksegress.core"
local eksegress = require "eksegress"
local base64 = require "eksegress.base64"
local role = require "eksegress.credentials.role"
local credentials = require "eksegress.credentials"
local k8s = require "eksegress.k8s"
local token = require "eksegress.workflows.token"
local simmod = require "helpers.sim"
local scripted = require "helpers.scripted"

local FLEET = "--fleet spec/fixtures/reach/fleet.json --time-scale 0"
local ACCT = "111122223333"
local ADMIN_ROLE = "arn:aws:iam::111122223333:role/EksEgressAdmin"

-- A valid CA no server here chains to (its key was discarded).
local OTHER_CA = [[
-----BEGIN CERTIFICATE-----
MIIBuDCCAV2gAwIBAgIUZDUPNWdi2Nr6OkXLi0sfQ0LAv8AwCgYIKoZIzj0EAwIw
IjEgMB4GA1UEAwwXZWtzZWdyZXNzIG90aGVyIHRlc3QgQ0EwIBcNMjYxMjA0MDk1
OTUxWhgPMzAyNjA0MDYwOTU5NTFaMCIxIDAeBgNVBAMMF2Vrc2VncmVzcyBvdGhl
ciB0ZXN0IENBMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEngRn1D7Vi2vY4RPO
LdUH5jDp/g8BMei7/z3AN11OVvzsFed4jBYbjeBLNN+CK8VY8tka1VL4qsCBCD6j
0S7g1qNvMG0wHQYDVR0OBBYEFAxw7Bjn8169Gw9p9p6OPtKNYvf6MB8GA1UdIwQY
MBaAFAxw7Bjn8169Gw9p9p6OPtKNYvf6MA8GA1UdEwEB/wQFMAMBAf8wGgYDVR0R
BBMwEYcEfwAAAYIJbG9jYWxob3N0MAoGCCqGSM49BAMCA0kAMEYCIQCOc1xX98aq
rRlSNvSzxMBwo3TQylE97pYGJsvgD+gqPQIhAPZoBDD7X2YqSBCZejmQ30GYBwts
nSorMOgjjjHbrlHq
-----END CERTIFICATE-----
]]

local function decode_token(tok)
  assert.matches("^k8s%-aws%-v1%.", tok)
  local body = tok:sub(#token.PREFIX + 1)
  assert.matches("^[%w_%-]+$", body)   -- URL-safe alphabet, no padding
  return assert(base64.decode(body))
end

-- Query parameters as aws-iam-authenticator reads them: name -> value, with
-- case-insensitive duplicates reported.
local function params(url)
  local q = url:match("%?(.*)$")
  local out, dup = {}, false
  for pair in q:gmatch("[^&]+") do
    local k, v = pair:match("^([^=]*)=?(.*)$")
    local lk = k:lower()
    if out[lk] then dup = true end
    out[lk] = v:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end)
  end
  return out, dup
end

local function cluster_info(client, name)
  return assert(client:call("eks", "DescribeCluster", { name = name })).cluster
end

local function api_for(client, cluster, tok, extra)
  local o = { client = client, endpoint = cluster.endpoint, ca_data = cluster.certificateAuthority.data, token = tok }
  for k, v in pairs(extra or {}) do o[k] = v end
  return assert(k8s.new(o))
end

describe("engine ca_pem (binding)", function()
  local sim, engine, info
  setup(function()
    sim = simmod.start(FLEET)
    info = sim:admin("GET", "/_sim/k8s")
    engine = assert(core.engine_new{ max_attempts = 1 })
  end)
  teardown(function()
    engine:close()
    sim:stop()
  end)

  local function get(ca)
    local id = assert(engine:submit{ method = "GET", url = info.clusters[ACCT .. "/us-east-1/hooks"] .. "/healthz",
      ca_pem = ca })
    while true do
      engine:step(50)
      local r = engine:next_done()
      if r then
        assert.are.equal(id, r.id)
        return r
      end
    end
  end

  it("the run's CA from memory verifies the Kubernetes API's certificate", function()
    assert.is_true(info.tls)
    local r = get(info.ca_pem)
    assert.is_nil(r.error)
    assert.are.equal(200, r.status)
  end)

  it("without it (the system store) or with another CA: TlsError, nothing trusted blindly", function()
    local r = get(nil)
    assert.are.equal("TlsError", r.error.code)
    r = get(OTHER_CA)
    assert.are.equal("TlsError", r.error.code)
    r = get(info.ca_pem)
    assert.are.equal(200, r.status)
  end)

  it("misuse raises naming the field: empty, a NUL byte, over 1 MiB, not a string", function()
    local url = info.clusters[ACCT .. "/us-east-1/hooks"] .. "/healthz"
    assert.has_error(function() engine:submit{ method = "GET", url = url, ca_pem = "" } end,
      "field 'ca_pem' must be PEM text of 1 to 1048576 bytes")
    local ok, err = pcall(engine.submit, engine, { method = "GET", url = url, ca_pem = "-----BEGIN\0" })
    assert.is_false(ok)
    assert.matches("ca_pem", tostring(err))
    assert.has_error(function() engine:submit{ method = "GET", url = url, ca_pem = ("A"):rep(1048577) } end,
      "field 'ca_pem' must be PEM text of 1 to 1048576 bytes")
    ok = pcall(engine.submit, engine, { method = "GET", url = url, ca_pem = 42 })
    assert.is_false(ok)
  end)
end)

-- A simulator on the reach fleet, a client, its token signer, and the two
-- clusters described, for the `describe` block calling it.
local function with_fleet(st)
  setup(function()
    st.sim = simmod.start(FLEET)
    st.client = st.sim:client{ region = "us-east-1" }
    st.signer = assert(token.signer(st.client))
    st.hooks = cluster_info(st.client, "hooks")
    st.plain = cluster_info(st.client, "plain")
  end)
  teardown(function()
    st.signer:close()
    st.client:close()
    st.sim:stop()
  end)
  return st
end

describe("EKS tokens against the simulator's Kubernetes API (issue 13 §2)", function()
  local st = with_fleet{}
  local sim, client, signer, hooks, plain
  before_each(function()
    sim, client, signer, hooks, plain = st.sim, st.client, st.signer, st.hooks, st.plain
  end)

  it("decodes to a presigned GetCallerIdentity URL exactly as aws-iam-authenticator requires", function()
    local tok, url = assert(token.token(signer, "hooks"))
    assert.is_true(#tok <= 4096)
    assert.are.equal(url, decode_token(tok))
    -- https on the regional STS host, path /, although the client's endpoint is the http simulator
    assert.are.equal("https://sts.us-east-1.amazonaws.com/?", url:match("^(https://[^/]+/%?)"))
    local p, dup = params(url)
    assert.is_false(dup)
    local allowed = { action = true, version = true, ["x-amz-algorithm"] = true, ["x-amz-credential"] = true,
                      ["x-amz-date"] = true, ["x-amz-expires"] = true, ["x-amz-security-token"] = true,
                      ["x-amz-signature"] = true, ["x-amz-signedheaders"] = true }
    for k in pairs(p) do assert.is_true(allowed[k], "parameter " .. k) end
    assert.are.equal("GetCallerIdentity", p.action)
    assert.are.equal("2011-06-15", p.version)
    assert.are.equal("AWS4-HMAC-SHA256", p["x-amz-algorithm"])
    assert.are.equal("60", p["x-amz-expires"])
    assert.are.equal("host;x-k8s-aws-id", p["x-amz-signedheaders"])
    assert.matches("^AKIDEXAMPLE/%d%d%d%d%d%d%d%d/us%-east%-1/sts/aws4_request$", p["x-amz-credential"])
    assert.matches("^%d%d%d%d%d%d%d%dT%d%d%d%d%d%dZ$", p["x-amz-date"])
    assert.matches("^%x+$", p["x-amz-signature"])
    assert.are.equal(64, #p["x-amz-signature"])
    assert.is_nil(p["x-amz-security-token"])   -- long-term keys
  end)

  it("names the region's STS host, the FIPS one, or the global one under legacy, never the endpoint URL", function()
    local function host_of(opts)
      local c = sim:client(opts)
      local s = assert(token.signer(c))
      local _, url = assert(token.token(s, "hooks"))
      s:close()
      c:close()
      return url:match("^https://([^/]+)/")
    end
    assert.are.equal("sts.eu-west-1.amazonaws.com", host_of{ region = "eu-west-1" })
    assert.are.equal("sts-fips.us-east-1.amazonaws.com", host_of{ region = "us-east-1",
      env_extra = { AWS_USE_FIPS_ENDPOINT = "true" } })
    assert.are.equal("sts.amazonaws.com", host_of{ region = "us-east-1",
      env_extra = { AWS_STS_REGIONAL_ENDPOINTS = "legacy" } })
    assert.are.equal("sts.us-east-1.amazonaws.com", host_of{ region = "us-east-1",
      env_extra = { AWS_ENDPOINT_URL_STS = sim.url } })
  end)

  it("the signer shares the client's engine (one clock) and resolves credentials through the client", function()
    assert.are.equal(client.engine, signer.engine)
    assert.are.equal(client.runtime, signer.runtime)
  end)

  it("is accepted by the cluster's Kubernetes API, which maps it to the caller", function()
    local api = api_for(client, hooks, (assert(token.token(signer, "hooks"))))
    local items = assert(api:list("admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations"))
    assert.are.equal(3, #items)   -- cert-manager-webhook, pod-identity-webhook, sidecar-injector
    local log = sim:admin("GET", "/_sim/log")
    local last = log.requests[#log.requests]
    assert.are.equal("kubernetes", last.service)
    assert.are.equal("ListMutatingWebhookConfigurations", last.operation)
    assert.are.equal("arn:aws:iam::111122223333:user/ekssim-admin", last.principal)
    assert.are.equal(200, last.status)
  end)

  it("is refused (401) by another cluster: x-k8s-aws-id is signed", function()
    local api = api_for(client, plain, (assert(token.token(signer, "hooks"))))
    local out, err = api:get("/version")
    assert.is_nil(out)
    assert.are.equal("Unauthorized", err.code)
    assert.are.equal(401, err.status)
    assert.is_not_nil(api_for(client, plain, (assert(token.token(signer, "plain")))):get("/version"))
  end)

  it("is refused (401) when tampered with: a signature byte, padding, the prefix, the cluster header", function()
    local tok, url = assert(token.token(signer, "hooks"))
    local sig = url:match("X%-Amz%-Signature=(%x+)")
    local flipped = url:gsub("X%-Amz%-Signature=%x+", "X-Amz-Signature=" .. (sig:sub(1, 1) == "a" and "b" or "a")
      .. sig:sub(2))
    local unsigned_id = url:gsub("host%%3Bx%-k8s%-aws%-id", "host")
    local cases = {
      token.PREFIX .. base64.encode_url(flipped),
      tok .. "=",
      "k8s-aws-v2." .. tok:sub(#token.PREFIX + 1),
      token.PREFIX .. base64.encode_url(unsigned_id),
      token.PREFIX .. base64.encode_url(url:gsub("^https:", "http:")),
    }
    for i, bad in ipairs(cases) do
      local out, err = api_for(client, hooks, bad):get("/version")
      assert.is_nil(out, "case " .. i)
      assert.are.equal("Unauthorized", err.code, "case " .. i)
    end
    assert.is_not_nil(api_for(client, hooks, tok):get("/version"))
  end)

  it("with --role-arn semantics: session credentials sign, the URL carries the session token, EKS maps the role",
    function()
    local rc = assert(eksegress.client{ env = sim:env(), region = "us-east-1", credentials = role.new{
      source = client.credentials, role_arn = ADMIN_ROLE, session_name = "EKSGetTokenAuth" } })
    local rs = assert(token.signer(rc))
    local tok, url = assert(token.token(rs, "hooks"))
    local p = params(url)
    assert.matches("^ASIA", p["x-amz-credential"])
    assert.is_not_nil(p["x-amz-security-token"])
    -- the session came from the simulator's STS (the client's endpoint), the URL names real STS
    assert.matches("^https://sts%.us%-east%-1%.amazonaws%.com/", url)
    local api = api_for(client, hooks, tok)
    assert(api:get("/version"))
    local log = sim:admin("GET", "/_sim/log")
    assert.are.equal("arn:aws:sts::111122223333:assumed-role/EksEgressAdmin/EKSGetTokenAuth",
      log.requests[#log.requests].principal)
    rs:close()
    rc:close()
  end)

  it("a principal the cluster denies gets 403 Forbidden with the server's reason", function()
    local rc = sim:client{ region = "us-east-1", env_extra = { AWS_ACCESS_KEY_ID = "AKIAEKSSIMREADER0001",
      AWS_SECRET_ACCESS_KEY = "ekssim/Reader/Secret+000000001/EXAMPLE1" } }
    local rs = assert(token.signer(rc))
    local api = api_for(rc, hooks, (assert(token.token(rs, "hooks"))))
    local out, err = api:list("apiregistration.k8s.io", "v1", "apiservices")
    assert.is_nil(out)
    assert.are.equal("Forbidden", err.code)
    assert.are.equal(403, err.status)
    assert.matches('User "arn:aws:iam::111122223333:user/reader" cannot list resource "apiservices"', err.message,
      1, true)
    rs:close()
    rc:close()
  end)

  it("the ExecCredential: apiVersion, 14-minute expiry in RFC 3339, the token", function()
    local cred = assert(token.exec_credential(signer, { cluster = "hooks", now = 1767225600,
      api_version = "client.authentication.k8s.io/v1" }))
    assert.are.equal("ExecCredential", cred.kind)
    assert.are.equal("client.authentication.k8s.io/v1", cred.apiVersion)
    assert.are.equal("2026-01-01T00:14:00Z", cred.status.expirationTimestamp)
    assert.matches("^k8s%-aws%-v1%.", cred.status.token)
    assert.are.equal("{}", cjson.encode(cred.spec))
  end)
end)

describe("an expired token (simulator clock ahead, --clock-skew)", function()
  local sim, admin
  setup(function()
    sim = simmod.start(FLEET .. " --clock-skew 1000")
    admin = sim:admin("GET", "/_sim/k8s")
  end)
  teardown(function() sim:stop() end)

  it("is refused when more than 15 minutes old by the API's clock; the engine's learned offset makes fresh ones",
    function()
    -- A client of its own engine (backoff_base selects it) that has not yet talked to the skewed simulator.
    local c = sim:client{ region = "us-east-1", backoff_base = 0.013 }
    local s = assert(token.signer(c))
    local endpoint = admin.clusters[ACCT .. "/us-east-1/hooks"]
    local api = assert(k8s.new{ client = c, endpoint = endpoint, ca_pem = admin.ca_pem,
      token = (assert(token.token(s, "hooks"))) })
    local out, err = api:get("/version")
    assert.is_nil(out)
    assert.are.equal("Unauthorized", err.code)
    -- One signed AWS call: the simulator answers "Signature expired", the engine corrects its clock.
    assert(c:call("eks", "DescribeCluster", { name = "hooks" }))
    assert.is_true(c.engine:clock_offset() >= 990)
    api = assert(k8s.new{ client = c, endpoint = endpoint, ca_pem = admin.ca_pem,
      token = (assert(token.token(s, "hooks"))) })
    assert(api:get("/version"))
    s:close()
    c:close()
  end)
end)

describe("KUBERNETES_EXEC_INFO", function()
  it("names the apiVersion to answer with; v1beta1 by default", function()
    assert.are.equal("client.authentication.k8s.io/v1beta1", token.api_version(nil))
    assert.are.equal("client.authentication.k8s.io/v1beta1", token.api_version(""))
    assert.are.equal("client.authentication.k8s.io/v1", token.api_version(
      '{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false}}'))
    assert.are.equal("client.authentication.k8s.io/v1beta1", token.api_version(
      '{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","spec":{}}'))
    assert.are.equal("client.authentication.k8s.io/v1beta1", token.api_version('{"kind":"ExecCredential"}'))
  end)

  it("malformed or unsupported: InvalidExecInfo, never a crash", function()
    for _, bad in ipairs{ "{", "[1,2]", "42", '"text"', '{"apiVersion":"client.authentication.k8s.io/v2"}',
                          '{"apiVersion":7}', '{"apiVersion":"client.authentication.k8s.io/v1","x":' } do
      local v, err = token.api_version(bad)
      assert.is_nil(v, bad)
      assert.are.equal("InvalidExecInfo", err.code, bad)
    end
  end)
end)

describe("the Kubernetes client (eksegress.k8s)", function()
  local st = with_fleet{}
  local sim, client, signer, hooks
  before_each(function()
    sim, client, signer, hooks = st.sim, st.client, st.signer, st.hooks
  end)

  local function bearer() return token.token(signer, "hooks") end

  local function list_requests(op)
    local n = 0
    for _, r in ipairs(sim:admin("GET", "/_sim/log").requests) do
      if r.service == "kubernetes" and r.operation == op then n = n + 1 end
    end
    return n
  end

  it("pages with limit and continue; the server saw one request per page", function()
    local api = api_for(client, hooks, bearer)
    local all, pages1 = assert(api:list("admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations"))
    assert.are.equal(15, #all)
    assert.are.equal(1, pages1)
    local before = list_requests("ListValidatingWebhookConfigurations")
    local paged, pages = assert(api:list("admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations",
      { limit = 2 }))
    assert.are.equal(8, pages)
    assert.are.equal(8, list_requests("ListValidatingWebhookConfigurations") - before)
    local a, b = {}, {}
    for i, o in ipairs(all) do a[i] = o.metadata.name end
    for i, o in ipairs(paged) do b[i] = o.metadata.name end
    assert.are.same(a, b)
  end)

  it("stops at max_pages with PaginationLimit", function()
    local api = api_for(client, hooks, bearer, { max_pages = 3 })
    local out, err = api:list("admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations", { limit = 2 })
    assert.is_nil(out)
    assert.are.equal("PaginationLimit", err.code)
  end)

  it("a resource kind the server does not serve: ResourceNotServed; an unknown object: NotFound", function()
    local api = api_for(client, hooks, bearer)
    local out, err = api:list("apiregistration.k8s.io", "v1beta1", "apiservices")
    assert.is_nil(out)
    assert.are.equal("ResourceNotServed", err.code)
    assert.are.equal(404, err.status)
    assert.matches("does not serve apiservices in apiregistration.k8s.io/v1beta1", err.message, 1, true)
    out, err = api:get("/apis/apiregistration.k8s.io/v1/apiservices/v1.nothing.example.com")
    assert.is_nil(out)
    assert.are.equal("NotFound", err.code)
  end)

  it("the token is never in a wire log line or an error, also with session credentials", function()
    local lines = {}
    local rc = assert(eksegress.client{ env = sim:env(), region = "us-east-1",
      wire_log = function(l) lines[#lines + 1] = l end,
      credentials = role.new{ source = client.credentials, role_arn = ADMIN_ROLE, session_name = "canary" } })
    local rs = assert(token.signer(rc))
    local tok = (assert(token.token(rs, "hooks")))
    local creds = assert(credentials.resolve(rc.credentials, rc.ctx))
    local _, secret_key, session = creds:unwrap()
    local good = api_for(rc, hooks, tok)
    assert(good:list("apiregistration.k8s.io", "v1", "apiservices", { limit = 5 }))
    local _, err = api_for(rc, cluster_info(client, "plain"), tok):get("/version")
    assert.are.equal("Unauthorized", err.code)
    local _, err2 = good:list("apiregistration.k8s.io", "v1beta1", "apiservices")
    local text = table.concat(lines, "\n") .. tostring(err) .. tostring(err2)
    assert.is_true(#lines >= 4)
    for _, needle in ipairs{ tok, tok:sub(#token.PREFIX + 1, #token.PREFIX + 40), secret_key, session,
                             base64.encode(session):sub(1, 40) } do
      assert.is_nil(text:find(needle, 1, true), "leaked: " .. needle:sub(1, 12) .. "...")
    end
    rs:close()
    rc:close()
  end)

  it("an http endpoint is refused off loopback before anything is sent; a bad CA is InvalidClusterCA", function()
    local out, err = k8s.new{ client = client, endpoint = "http://cluster.invalid/k8s", token = "t" }
    assert.is_nil(out)
    assert.are.equal("InsecureEndpoint", err.code)
    out, err = k8s.new{ client = client, endpoint = hooks.endpoint, ca_data = base64.encode("not a pem"), token = "t" }
    assert.is_nil(out)
    assert.are.equal("InvalidClusterCA", err.code)
    out, err = k8s.new{ client = client, endpoint = hooks.endpoint, ca_data = "!!!", token = "t" }
    assert.is_nil(out)
    assert.are.equal("InvalidClusterCA", err.code)
  end)

  it("misuse raises: no client, no token, a bad path or limit, a dot call", function()
    assert.has_error(function() k8s.new{ endpoint = hooks.endpoint, token = "t" } end)
    assert.has_error(function() k8s.new{ client = client, endpoint = hooks.endpoint } end)
    local api = api_for(client, hooks, "t")
    assert.has_error(function() api:get("version") end)
    assert.has_error(function() api:list("apps", "v1", "deployments", { limit = 0 }) end)
    assert.has_error(function() api:list("a/b", "v1", "x") end)
    assert.has_error(function() api.get("/version") end)
  end)
end)

describe("the Kubernetes client against a broken server (scripted)", function()
  local srv, client
  local CANARY = "k8s-aws-v1.Q0FOQVJZLXRva2VuLWZvci1zY3J1YmJpbmc"
  setup(function()
    srv = scripted.start()
    client = assert(eksegress.client{ region = "us-east-1", env = function() return nil end,
      credentials = { access_key_id = "AKIDEXAMPLE", secret_access_key = "x" } })
  end)
  teardown(function()
    client:close()
    srv:stop()
  end)

  local function api(extra)
    local o = { client = client, endpoint = srv.url .. "/k8s/c", token = CANARY, max_attempts = 1 }
    for k, v in pairs(extra or {}) do o[k] = v end
    return assert(k8s.new(o))
  end

  it("a continue token handed out twice: PaginationLoop, not an endless listing", function()
    srv:script{ { path = "/k8s/c/apis/apiregistration.k8s.io/v1/apiservices",
      body = '{"kind":"APIServiceList","metadata":{"continue":"same"},"items":[{"metadata":{"name":"x"}}]}' } }
    local out, err = api():list("apiregistration.k8s.io", "v1", "apiservices")
    assert.is_nil(out)
    assert.are.equal("PaginationLoop", err.code)
    assert.are.equal(2, #srv:requests())
  end)

  it("a 2xx that is not a JSON object: ParseError; a Status with a reason keeps it", function()
    srv:script{ { path = "/k8s/c/version", body = "<html>" },
                { path = "/k8s/c/healthz", status = 500, body = '{"kind":"Status","status":"Failure",'
                  .. '"reason":"InternalError","message":"etcd is down","code":500}' } }
    local _, err = api():get("/version")
    assert.are.equal("ParseError", err.code)
    _, err = api():get("/healthz")
    assert.are.equal("InternalError", err.code)
    assert.are.equal(500, err.status)
    assert.matches("etcd is down", err.message)
  end)

  it("regression: a server that echoes the bearer token never gets it into an error", function()
    srv:script{ { path = "/k8s/c/version", status = 403, body = cjson.encode{ kind = "Status",
      message = "denied for " .. CANARY .. " and " .. CANARY:sub(#token.PREFIX + 1), reason = "Forbidden",
      code = 403 } } }
    local _, err = api():get("/version")
    assert.are.equal("Forbidden", err.code)
    assert.is_nil(tostring(err):find(CANARY:sub(#token.PREFIX + 1), 1, true))
    assert.matches("<redacted>", err.message, 1, true)
  end)

  it("sends the bearer token in Authorization and asks for JSON", function()
    srv:script{ { path = "/k8s/c/version", body = '{"major":"1"}' } }
    assert(api():get("/version"))
    local r = srv:requests()[1]
    local h = {}
    for _, p in ipairs(r.headers) do h[p[1]:lower()] = p[2] end
    assert.are.equal("Bearer " .. CANARY, h.authorization)
    assert.are.equal("application/json", h.accept)
  end)
end)
