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
    assert.are.equal("AWS_MANAGED", e:observed_mode(fs.host, "am-prod"))
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
