-- The engine binding: submit / step / next_done, error tables, lifecycle,
-- retries and the guard, over real HTTP to the fault server on 127.0.0.1.
local cjson = require "cjson"
local core = require "eksegress.core"
local fsrv = require "helpers.faultserver"

local SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
local TOKEN = "FQoGZXIvYXdzEXAMPLEsessiontoken/with+chars=="

describe("engine binding", function()
  local fs
  setup(function() fs = fsrv.start() end)
  teardown(function() fs.stop() end)

  local function engine(opts)
    opts = opts or {}
    opts.backoff_base = opts.backoff_base or 0.002
    opts.backoff_cap = opts.backoff_cap or 0.02
    opts.seed = opts.seed or 1
    return assert(core.engine_new(opts))
  end

  it("is born open, closes idempotently, and raises when used closed", function()
    local e = engine()
    assert.matches("open", tostring(e))
    e:close()
    e:close()
    assert.is_true(e:is_closed())
    assert.matches("closed", tostring(e))
    assert.has_error(function() e:submit{ method = "GET", url = fs.url .. "/ok" } end,
      "attempt to use a closed engine")
  end)

  it("completes a GET with status, headers, body, attempts and timings", function()
    local e = engine()
    local r = fsrv.run(e, { method = "GET", url = fs.url .. "/ok?k=get" })
    assert.are.equal(200, r.status)
    assert.are.equal(1, r.attempts)
    assert.is_string(r.headers["content-type"])
    assert.is_string(r.date)
    assert.is_true(r.total_ms >= 0)
    assert.are.equal(1, #r.attempt_log)
    assert.is_nil(r.error)
    assert.are.same({ ok = true }, cjson.decode(r.body))
    e:close()
  end)

  it("sends the core's one version in its User-Agent", function()
    local e = engine()
    local r = fsrv.run(e, { method = "GET", url = fs.url .. "/echo" })
    local ua
    for _, kv in ipairs(cjson.decode(r.body).headers) do
      if kv[1]:lower() == "user-agent" then ua = kv[2] end
    end
    assert.matches("^eksegress/" .. core.version:gsub("%.", "%%.") .. " libcurl/", ua)
    e:close()
  end)

  it("retries throttling and records each attempt", function()
    local e = engine()
    local r = fsrv.run(e, { method = "GET", url = fs.url .. "/throttle?n=2&k=thr" })
    assert.are.equal(200, r.status)
    assert.are.equal(3, r.attempts)
    assert.are.equal(429, r.attempt_log[1].status)
    assert.are.equal("ThrottlingException", r.attempt_log[1].aws_code)
    assert.are.equal(0, r.attempt_log[1].delay_ms)
    assert.is_true(r.attempt_log[2].delay_ms <= 20 + 1)
    e:close()
  end)

  it("honours the server's retry hint in standard mode (issue 5)", function()
    local e = engine{ backoff_base = 0.001, backoff_cap = 0.002 }
    local r = fsrv.run(e, { method = "GET", url = fs.url .. "/throttle?n=1&amz_retry_after=300&k=hint" })
    assert.are.equal(200, r.status)
    assert.are.equal(2, r.attempts)
    -- The backoff alone is at most 2 ms; the hint asks for 300 ms.
    assert.is_true(r.attempt_log[2].delay_ms >= 300)
    local r2 = fsrv.run(e, { method = "GET", url = fs.url .. "/throttle?n=1&retry_after=1&k=hint2" })
    assert.is_true(r2.attempt_log[2].delay_ms >= 1000)
    e:close()
  end)

  it("does not retry a client error and parses the AWS error shape", function()
    local e = engine()
    local r = fsrv.run(e, { method = "GET",
      url = fs.url .. "/fail?status=400&code=InvalidParameterException&k=c400" })
    assert.are.equal(400, r.status)
    assert.are.equal(1, r.attempts)
    assert.are.equal("InvalidParameterException", r.aws_code)
    assert.is_false(r.retryable)
    e:close()
  end)

  it("gives up after max attempts on 5xx", function()
    local e = engine{ max_attempts = 2 }
    local r = fsrv.run(e, { method = "GET", url = fs.url .. "/5xx?k=always5xx" })
    assert.are.equal(500, r.status)
    assert.are.equal(2, r.attempts)
    assert.is_true(r.retryable)
    e:close()
  end)

  it("reports a refused connection as an error table", function()
    local e = engine{ max_attempts = 1 }
    local r = fsrv.run(e, { method = "GET", url = "http://127.0.0.1:1/" })
    assert.are.equal(0, r.status)
    assert.are.equal("ConnectionError", r.error.code)
    assert.is_string(r.error.message)
    assert.is_true(r.error.retryable)
    assert.matches("^ConnectionError: ", tostring(r.error))
    e:close()
  end)

  it("times out a stalled response", function()
    local e = engine{ max_attempts = 1 }
    local r = fsrv.run(e, { method = "GET", url = fs.url .. "/stall?ms=3000&k=stall", timeout_ms = 300 })
    assert.are.equal("Timeout", r.error.code)
    e:close()
  end)

  it("enforces the response size limit", function()
    local e = engine{ max_attempts = 1, max_response_bytes = 1000 }
    local r = fsrv.run(e, { method = "GET", url = fs.url .. "/big?size=100000&k=big" })
    assert.are.equal("ResponseTooLarge", r.error.code)
    e:close()
  end)

  it("signs every attempt and never sends the secret", function()
    local e = engine()
    local r = fsrv.run(e, { method = "GET", url = fs.url .. "/echo?k=signed", sign = true,
      region = "us-east-1", service = "ec2", access_key_id = "AKIDEXAMPLE",
      secret_access_key = SECRET, session_token = TOKEN })
    assert.are.equal(200, r.status)
    local echo = cjson.decode(r.body)
    local headers = {}
    for _, kv in ipairs(echo.headers) do headers[kv[1]:lower()] = kv[2] end
    assert.matches("^AWS4%-HMAC%-SHA256 Credential=AKIDEXAMPLE/", headers.authorization)
    assert.is_nil(r.body:find(SECRET, 1, true))
    assert.are.equal(TOKEN, headers["x-amz-security-token"])
    e:close()
  end)

  it("raises on misuse", function()
    local e = engine()
    assert.has_error(function() e:submit{ url = fs.url } end)
    assert.has_error(function() e:submit{ method = "GET" } end)
    assert.has_error(function() e:submit{ method = "GET", url = fs.url, sign = true } end)
    assert.has_error(function() core.engine_new{ retry_mode = "sometimes" } end)
    assert.has_error(function() core.engine_new{ max_attempts = 0 } end)
    e:close()
  end)

  it("refuses an unacknowledged irreversible EKS change before sending (issue 4)", function()
    local e = engine()
    local body = '{"resourcesVpcConfig":{"controlPlaneEgressMode":"CUSTOMER_ROUTED"}}'
    -- The engine knows the mode only from a DescribeCluster it saw itself.
    local d = fsrv.run(e, { method = "GET", url = fs.url .. "/clusters/am-prod", sign = true,
      region = "us-east-1", service = "eks", access_key_id = "AKIDEXAMPLE", secret_access_key = SECRET })
    assert.are.equal(200, d.status)
    assert.are.equal("AWS_MANAGED", e:observed_mode(fs.host, "am-prod", "AKIDEXAMPLE"))
    local r = fsrv.run(e, { method = "POST", url = fs.url .. "/clusters/am-prod/update-config",
      body = body, sign = true, region = "us-east-1", service = "eks",
      access_key_id = "AKIDEXAMPLE", secret_access_key = SECRET })
    assert.are.equal("GuardRefused", r.error.code)
    assert.are.equal("refuse", r.guard.action)
    assert.are.equal("IrreversibleChangeNotAcknowledged", r.guard.code)
    assert.are.equal(0, r.attempts)
    local count = fsrv.run(e, { method = "GET", url = fs.url .. "/count?of=/clusters/am-prod/update-config" })
    assert.are.equal(0, cjson.decode(count.body).count)
    e:close()
  end)

  -- Issue 8.1: observations are the caller's own. Two identities (access key
  -- ids) on one host see clusters of the same name in different modes.
  describe("the guard across identities (issue 8.1)", function()
    local BODY = '{"resourcesVpcConfig":{"controlPlaneEgressMode":"CUSTOMER_ROUTED"}}'
    local function as(akid, method, path, extra)
      local req = { method = method, url = fs.url .. path, sign = true, region = "us-east-1",
        service = "eks", access_key_id = akid, secret_access_key = SECRET }
      if method == "POST" then
        req.body = BODY
        req.headers = { { "Content-Type", "application/json" } }
      end
      for k, v in pairs(extra or {}) do req[k] = v end
      return req
    end
    local function updates_sent(e, name)
      local c = fsrv.run(e, { method = "GET", url = fs.url .. "/count?path=/clusters/" .. name .. "/update-config" })
      return cjson.decode(c.body).count
    end

    it("regression: an update is decided on its own identity's DescribeCluster, not another account's", function()
      local e = engine()
      -- Account A's "shared-a" is AWS_MANAGED, account B's is CUSTOMER_ROUTED.
      assert.are.equal(200, fsrv.run(e, as("AKIDMANAGED1", "GET", "/clusters/shared-a")).status)
      assert.are.equal(200, fsrv.run(e, as("AKIDROUTED1", "GET", "/clusters/shared-a")).status)
      assert.are.equal("AWS_MANAGED", e:observed_mode(fs.host, "shared-a", "AKIDMANAGED1"))
      assert.are.equal("CUSTOMER_ROUTED", e:observed_mode(fs.host, "shared-a", "AKIDROUTED1"))
      assert.is_nil(e:observed_mode(fs.host, "shared-a"))   -- nobody described it unsigned
      -- A's acknowledged switch is sent (B's CUSTOMER_ROUTED made it a no-op before).
      local r = fsrv.run(e, as("AKIDMANAGED1", "POST", "/clusters/shared-a/update-config",
        { acknowledge = "shared-a" }))
      assert.is_nil(r.error)
      assert.are.equal("allow", r.guard.action)
      assert.are.equal("AWS_MANAGED", r.guard.from)
      assert.are.equal(200, r.status)
      assert.are.equal(1, updates_sent(e, "shared-a"))
      -- B's is a no-op from B's own observation.
      local rb = fsrv.run(e, as("AKIDROUTED1", "POST", "/clusters/shared-a/update-config",
        { acknowledge = "shared-a" }))
      assert.are.equal("noop", rb.guard.action)
      assert.are.equal(1, updates_sent(e, "shared-a"))
      e:close()
    end)

    it("regression: a CUSTOMER_ISOLATED cluster's switch is not sent on another account's AWS_MANAGED", function()
      local e = engine()
      fsrv.run(e, as("AKIDISOLATED2", "GET", "/clusters/shared-b"))
      fsrv.run(e, as("AKIDMANAGED2", "GET", "/clusters/shared-b"))   -- interleaved: A describes last
      local r = fsrv.run(e, as("AKIDISOLATED2", "POST", "/clusters/shared-b/update-config",
        { acknowledge = "shared-b" }))
      assert.are.equal("UndocumentedMode", r.guard.code)
      assert.are.equal("CUSTOMER_ISOLATED", r.guard.from)
      assert.are.equal(0, r.attempts)
      assert.are.equal(0, updates_sent(e, "shared-b"))
      e:close()
    end)

    it("regression: observed_with takes the mode from that very DescribeCluster only", function()
      local e = engine()
      local da = fsrv.run(e, as("AKIDMANAGED3", "GET", "/clusters/shared-c"))
      local db = fsrv.run(e, as("AKIDROUTED3", "GET", "/clusters/shared-c"))
      local dother = fsrv.run(e, as("AKIDMANAGED3", "GET", "/clusters/am-other"))
      assert.are.equal("AWS_MANAGED", e:observed_mode(fs.host, "shared-c", "AKIDMANAGED3", da.id))
      assert.is_nil(e:observed_mode(fs.host, "shared-c", "AKIDMANAGED3", db.id))
      -- B's observation, another cluster's, a request that observed nothing, an unknown id:
      -- refused as CurrentModeUnknown, nothing sent.
      for _, id in ipairs({ db.id, dother.id, 999999 }) do
        local r = fsrv.run(e, as("AKIDMANAGED3", "POST", "/clusters/shared-c/update-config",
          { acknowledge = "shared-c", observed_with = id }))
        assert.are.equal("CurrentModeUnknown", r.guard.code, tostring(id))
      end
      assert.are.equal(0, updates_sent(e, "shared-c"))
      -- A's own describe: allowed and sent, once; afterwards it is used up.
      local r = fsrv.run(e, as("AKIDMANAGED3", "POST", "/clusters/shared-c/update-config",
        { acknowledge = "shared-c", observed_with = da.id }))
      assert.are.equal("allow", r.guard.action)
      assert.are.equal(200, r.status)
      local again = fsrv.run(e, as("AKIDMANAGED3", "POST", "/clusters/shared-c/update-config",
        { acknowledge = "shared-c", observed_with = da.id }))
      assert.are.equal("CurrentModeUnknown", again.guard.code)
      assert.are.equal(1, updates_sent(e, "shared-c"))
      -- observed_with is checked like any other field.
      assert.error_matches(function() e:submit(as("AKIDMANAGED3", "GET", "/clusters/x", { observed_with = "1" })) end,
        "field 'observed_with' must be an integer", 1, true)
      assert.error_matches(function() e:submit(as("AKIDMANAGED3", "GET", "/clusters/x", { observed_with = -1 })) end,
        "field 'observed_with' must be the id of a DescribeCluster request", 1, true)
      e:close()
    end)
  end)

  -- Issue 8.2: strings handed to the core are C strings; an embedded NUL
  -- would cut them. Only bodies may hold NUL bytes.
  describe("embedded NUL bytes (issue 8.2)", function()
    it("regression: an acknowledgement with an embedded NUL is refused, not truncated", function()
      local e = engine()
      local d = fsrv.run(e, { method = "GET", url = fs.url .. "/clusters/am-nul", sign = true,
        region = "us-east-1", service = "eks", access_key_id = "AKIDEXAMPLE", secret_access_key = SECRET })
      assert.are.equal(200, d.status)
      local ok, err = pcall(e.submit, e, { method = "POST", url = fs.url .. "/clusters/am-nul/update-config",
        body = '{"resourcesVpcConfig":{"controlPlaneEgressMode":"CUSTOMER_ROUTED"}}', sign = true,
        region = "us-east-1", service = "eks", access_key_id = "AKIDEXAMPLE", secret_access_key = SECRET,
        acknowledge = "am-nul\0anything" })
      assert.is_false(ok)
      assert.matches("field 'acknowledge' must not contain a NUL byte", err)
      local count = fsrv.run(e, { method = "GET", url = fs.url .. "/count?path=/clusters/am-nul/update-config" })
      assert.are.equal(0, cjson.decode(count.body).count)
      e:close()
    end)

    it("regression: every string field but the body refuses an embedded NUL, naming the field", function()
      local e = engine()
      local base = { method = "GET", url = fs.url .. "/ok?k=nul", sign = true, region = "us-east-1",
        service = "ec2", access_key_id = "AKIDEXAMPLE", secret_access_key = SECRET, session_token = TOKEN }
      for _, field in ipairs({ "method", "url", "service", "region", "access_key_id", "secret_access_key",
                               "session_token", "identity", "acknowledge" }) do
        local req = {}
        for k, v in pairs(base) do req[k] = v end
        req[field] = (req[field] or "x") .. "\0tail"
        local ok, err = pcall(e.submit, e, req)
        assert.is_false(ok, field)
        assert.matches("field '" .. field .. "' must not contain a NUL byte", err)
        -- the error names the field, never its value (it may be a secret)
        assert.is_nil(err:find("tail", 1, true), field)
      end
      local ok, err = pcall(e.submit, e, { method = "GET", url = fs.url .. "/ok",
        headers = { { "X-A", "v\0w" } } })
      assert.is_false(ok)
      assert.matches("headers%[1%] must not contain a NUL byte", err)
      ok, err = pcall(e.submit, e, { method = "GET", url = fs.url .. "/ok", headers = { { "X\0A", "v" } } })
      assert.is_false(ok)
      assert.matches("headers%[1%] must not contain a NUL byte", err)
      -- a body may hold NUL bytes: they are sent as they are
      local r = fsrv.run(e, { method = "POST", url = fs.url .. "/echo", body = "a\0b" })
      assert.are.equal(200, r.status)
      assert.are.equal(3, #cjson.decode(r.body).body)
      assert.are.equal(0, cjson.decode(fsrv.run(e, { method = "GET", url = fs.url .. "/count?of=nul" }).body).count)
      e:close()
      for _, field in ipairs({ "audit_path", "ca_bundle", "user_agent" }) do
        local ok2, err2 = pcall(core.engine_new, { [field] = "/tmp/x\0y" })
        assert.is_false(ok2, field)
        assert.matches("field '" .. field .. "' must not contain a NUL byte", err2)
      end
    end)
  end)

  -- Issue 8.4: the engine guards by where a request goes, not by the
  -- service name the caller chose to give.
  describe("raw requests to EKS (issue 8.4)", function()
    local BODY = '{"resourcesVpcConfig":{"controlPlaneEgressMode":"CUSTOMER_ROUTED"}}'
    it("regression: a raw request without a service to an EKS cluster path is guarded", function()
      local e = engine()
      for _, path in ipairs({ "/clusters/am-raw/update-config", "/CLUSTERS/am-raw/update-config",
                              "/%63lusters/am-raw/update-config" }) do
        local r = fsrv.run(e, { method = "POST", url = fs.url .. path, body = BODY,
          headers = { { "Content-Type", "application/json" } } })
        assert.is_not_nil(r.guard, path)
        assert.are.equal("refuse", r.guard.action, path)
        assert.are.equal("GuardRefused", r.error.code, path)
        assert.are.equal(0, r.attempts, path)
      end
      -- read-only requests pass (and are guarded)
      local d = fsrv.run(e, { method = "GET", url = fs.url .. "/clusters/am-raw" })
      assert.are.equal(200, d.status)
      assert.are.equal("allow", d.guard.action)
      local count = fsrv.run(e, { method = "GET", url = fs.url .. "/count?path=/clusters/am-raw/update-config" })
      assert.are.equal(0, cjson.decode(count.body).count)
      -- a service other than eks does not switch the guard off either
      local r = fsrv.run(e, { method = "POST", url = fs.url .. "/clusters/am-raw/update-config", body = BODY,
        service = "execute-api" })
      assert.are.equal("refuse", r.guard.action)
      -- other paths are not EKS: not guarded
      assert.is_nil(fsrv.run(e, { method = "GET", url = fs.url .. "/ok" }).guard)
      e:close()
    end)

    it("guards an eks. or eks-fips. host whatever the service (any letter case)", function()
      local e = engine()
      for _, host in ipairs({ "eks.us-east-1.amazonaws.com", "EKS-FIPS.us-east-1.amazonaws.com" }) do
        -- the Host header names the endpoint; the connection goes to 127.0.0.1
        local r = fsrv.run(e, { method = "POST", url = fs.url .. "/x/update-config", body = "not json",
          headers = { { "Host", host } } })
        assert.are.equal("AmbiguousRequest", r.guard and r.guard.code, host)
        assert.are.equal(0, r.attempts, host)
      end
      e:close()
    end)
  end)

  -- Issue 8.15 / 8.12: engine creation says why it failed, and never hangs.
  describe("engine creation errors (issue 8.15)", function()
    it("regression: an unwritable audit_path is nil, IoError naming the path, not a setup failure", function()
      local e, err = core.engine_new{ audit_path = "/dev/null/audit.log" }
      assert.is_nil(e)
      assert.are.equal("IoError", err.code)
      assert.matches("/dev/null/audit.log", err.message, 1, true)
      assert.matches("Not a directory", err.message, 1, true)
      assert.is_nil(err.message:find("libcurl", 1, true))
    end)

    it("regression: an audit_path that is a FIFO is refused at once, not waited on", function()
      local dir = os.tmpname()
      os.remove(dir)
      assert(os.execute("mkdir " .. dir .. " && mkfifo " .. dir .. "/fifo"))
      local e, err = core.engine_new{ audit_path = dir .. "/fifo" }
      os.execute("rm -rf " .. dir)
      assert.is_nil(e)
      assert.are.equal("NotARegularFile", err.code)
      assert.matches("fifo", err.message, 1, true)
      local e2, err2 = core.engine_new{ audit_path = "/tmp" }
      assert.is_nil(e2)
      assert.are.equal("NotARegularFile", err2.code)
    end)
  end)

  it("drives many requests at once to completion", function()
    local e = engine{ max_host_connections = 16 }
    local ids = {}
    for i = 1, 100 do ids[assert(e:submit{ method = "GET", url = fs.url .. "/ok?k=many" .. i })] = true end
    local seen = 0
    for _ = 1, 10000 do
      e:step(50)
      while true do
        local r = e:next_done()
        if not r then break end
        assert.is_true(ids[r.id])
        assert.are.equal(200, r.status)
        ids[r.id] = nil
        seen = seen + 1
      end
      if seen == 100 then break end
    end
    assert.are.equal(100, seen)
    e:close()
  end)
end)
