--- The AWS client: one generic entry point every service call goes through.
--
--     local client = eksegress.client{ region = "us-west-2" }
--     local out, err = client:call("eks", "DescribeCluster", { name = "prod" })
--     for page, perr in client:paginate("eks", "ListClusters", {}) do ... end
--     client:wait("eks", "ClusterActive", { name = "prod" })
--
-- Configuration and credentials resolve like the AWS CLI v2 (explicit options,
-- then environment, then the shared config/credentials files). Every request
-- is signed by the C core on every attempt, and every EKS request passes the
-- irreversibility guard in the C core before it is signed.
local cjson = require "cjson"
local runtime = require "eksegress.runtime"
local services = require "eksegress.services"
local errors = require "eksegress.errors"
local settings_mod = require "eksegress.settings"
local endpoints = require "eksegress.endpoints"
local credentials = require "eksegress.credentials"

local M = {}

local Client = {}
Client.__index = Client

local codecs = {}
local function codec_for(svc)
  local name = svc.protocol_module
  local c = codecs[name]
  if not c then
    c = require("eksegress.protocols." .. name)
    codecs[name] = c
  end
  return c
end

--- Create a client.
-- @tparam[opt] table opts profile, region, endpoint_url, credentials
--   (a provider, a credentials object or a plain {access_key_id=, ...}),
--   env (function(name) -> value, default os.getenv), runtime,
--   max_attempts, retry_mode, timeout_ms, connect_timeout_ms, ca_bundle,
--   allow_http (plain http to a non-loopback endpoint), rate_limit
--   (requests per second per account/region/service), acknowledge_log.
function M.new(opts)
  opts = opts or {}
  if type(opts) ~= "table" then errors.misuse("eksegress.client: options must be a table", 2) end
  local settings, err = settings_mod.resolve(opts)
  if not settings then return nil, err end
  local self = setmetatable({
    opts = opts,
    settings = settings,
    region = settings.region,
    identity = nil,
  }, Client)
  self.runtime = opts.runtime or self:_make_runtime()
  self.ctx = self:_credential_context()
  local copts = opts
  if opts.now == nil then
    -- Judge credential expiry by the service's clock: the engine learns the
    -- offset from clock-skew errors and signs with it, so a local clock that
    -- runs behind cannot keep expired credentials looking fresh.
    local rt = self.runtime
    copts = {}
    for k, v in pairs(opts) do copts[k] = v end
    copts.now = function() return os.time() + rt.engine:clock_offset() end
  end
  local provider, cerr = credentials.provider_for(copts, settings, self.ctx)
  if not provider then return nil, cerr end
  self.credentials = provider
  return self
end

function Client:_make_runtime()
  local s = self.settings
  local rt, err = runtime.new{
    max_attempts = s.max_attempts,
    -- legacy, standard and adaptive all run the engine's standard mode; the
    -- adaptive client-side limiter is approximated by the optional rate_limit.
    retry_mode = self.opts.retry_mode_engine or "standard",
    ca_bundle = s.ca_bundle,
    timeout_ms = self.opts.timeout_ms,
    connect_timeout_ms = self.opts.connect_timeout_ms,
    audit_path = self.opts.audit_path,
    backoff_base = self.opts.backoff_base,
  }
  if not rt then errors.misuse("eksegress.client: " .. tostring(err), 3) end
  return rt
end

-- The context credential providers use for their own HTTP and STS calls.
function Client:_credential_context()
  local this = self
  return {
    http = function(req) return this:raw_request(req) end,
    sts = function(action, params, o)
      o = o or {}
      return this:call("sts", action, params, {
        credentials = o.credentials, region = o.region, unsigned = o.credentials == nil,
      })
    end,
    env = self.opts.env,
    -- A refresh in flight makes other tasks wait for it instead of starting
    -- their own (eksegress.credentials.cache).
    wait = function(flight) this.runtime:wait_on(flight) end,
    wake = function(flight) this.runtime:wake(flight) end,
  }
end

--- Send an unsigned raw HTTP request (IMDS, container credentials).
-- req = {method, url, headers = {{n, v}...}, body, timeout_ms}
-- Returns {status, headers, body} or nil, err.
function Client:raw_request(req)
  local resp, err = self.runtime:request{
    method = req.method or "GET", url = req.url, headers = req.headers,
    body = req.body, timeout_ms = req.timeout_ms, max_attempts = req.max_attempts or 1,
  }
  if not resp then return nil, err end
  if resp.error then return nil, resp.error end
  return resp
end

local function is_2xx(status) return status >= 200 and status < 300 end

-- Turn an engine response into (out, err) for an operation.
local function to_result(svc, op_name, op, resp)
  local meta = { request_id = resp.request_id, attempts = resp.attempts, status = resp.status,
                 total_ms = resp.total_ms }
  if resp.guard and resp.guard.action == "noop" then
    return { noop = true, message = resp.guard.message, guard = resp.guard }, nil, meta
  end
  if resp.error then
    local e = resp.error
    local g = resp.guard
    if g and g.action == "refuse" then
      return nil, errors.new(g.code, g.message, {
        service = svc.name, operation = op_name, guard = g, retryable = false,
        cluster = g.cluster,
      }), meta
    end
    return nil, errors.new(e.code, e.message, {
      service = svc.name, operation = op_name, retryable = e.retryable,
      quota_exhausted = e.quota_exhausted, attempts = resp.attempts,
    }), meta
  end
  if not is_2xx(resp.status) then
    local code = resp.aws_code or ("Http" .. tostring(resp.status))
    return nil, errors.new(code, resp.aws_message or ("HTTP status " .. tostring(resp.status)), {
      status = resp.status, request_id = resp.request_id, service = svc.name,
      operation = op_name, retryable = resp.retryable, throttling = resp.throttling,
      attempts = resp.attempts,
    }), meta
  end
  local out, perr = codec_for(svc).parse(svc, op_name, op, resp)
  if not out then
    perr = errors.is(perr) and perr or errors.new("ParseError", tostring(perr and perr.message or perr))
    perr.service, perr.operation, perr.request_id = svc.name, op_name, resp.request_id
    return nil, perr, meta
  end
  return out, nil, meta
end

-- Does this EKS request set the egress mode? (Then the guard needs a fresh
-- DescribeCluster first: the engine takes the current mode only from what it
-- has observed itself, never from the caller.)
local function sets_egress_mode(op_name, params)
  if op_name ~= "UpdateClusterConfig" then return false end
  local vpc = params.resourcesVpcConfig
  return type(vpc) == "table" and vpc.controlPlaneEgressMode ~= nil
end

--- Call an operation by its AWS name.
-- @tparam string service "eks" | "ec2" | "sts" | "organizations"
-- @tparam string op_name e.g. "DescribeCluster"
-- @tparam[opt] table params operation input (AWS member names)
-- @tparam[opt] table opts region, credentials, acknowledge (EKS: the cluster
--   name, confirming an irreversible change), allow_undocumented, unsigned,
--   timeout_ms, max_attempts
-- @treturn table|nil the response table
-- @treturn table|nil err {code, message, status, request_id, retryable, ...}
-- @treturn table meta {request_id, attempts, status, total_ms}
function Client:call(service, op_name, params, opts)
  params = params or {}
  opts = opts or {}
  local svc, serr = services.get(service)
  if not svc then errors.misuse("eksegress: " .. tostring(serr and serr.message or serr), 2) end
  local op = svc.operations[op_name]
  if not op then errors.misuse(("eksegress: %s has no operation %q"):format(service, tostring(op_name)), 2) end
  if type(params) ~= "table" then errors.misuse("eksegress: params must be a table", 2) end

  local region = opts.region or self.region
  if not region and svc.name == "sts" then region = "us-east-1" end
  if not region and not svc.global then
    return nil, errors.new("NoRegion", "no region: pass region=, set AWS_REGION, or set region in the profile")
  end
  local ep, eerr = endpoints.resolve(svc, region, self.settings, { allow_http = self.opts.allow_http })
  if not ep then return nil, eerr end

  if svc.name == "eks" and sets_egress_mode(op_name, params) and type(params.name) == "string" then
    local _, derr = self:call("eks", "DescribeCluster", { name = params.name }, {
      region = region, credentials = opts.credentials,
    })
    if derr then return nil, derr end
  end

  local req = codec_for(svc).build(svc, op_name, op, params)
  local url = ep.url .. req.path .. ((req.query and req.query ~= "") and ("?" .. req.query) or "")

  local submit = {
    method = req.method, url = url, headers = req.headers, body = req.body,
    service = ep.signing_name or svc.signing_name, region = ep.signing_region or region,
    acknowledge = opts.acknowledge, allow_undocumented = opts.allow_undocumented,
    identity = self.identity, timeout_ms = opts.timeout_ms, max_attempts = opts.max_attempts,
  }
  if not (opts.unsigned or op.unsigned) then
    local provider = opts.credentials or self.credentials
    local creds, cerr = credentials.resolve(provider, self.ctx)
    if not creds then return nil, cerr end
    submit.sign = true
    submit.access_key_id, submit.secret_access_key, submit.session_token = creds:unwrap()
  end

  if self.opts.rate_limit then
    self.runtime:acquire(table.concat({ tostring(self.identity), region or "", svc.name }, "/"),
      self.opts.rate_limit, self.opts.rate_burst)
  end

  local resp, rerr = self.runtime:request(submit)
  submit.secret_access_key, submit.session_token = nil, nil
  if not resp then return nil, rerr end
  return to_result(svc, op_name, op, resp)
end

--- Iterate over every page of a paginated operation, lazily.
--     for page, err in client:paginate("eks", "ListClusters", {}) do
--       if not page then error(err) end ...
--     end
-- On an error the iterator yields (false, err) once and then stops: a nil
-- first value would end a generic for silently and hide the error.
function Client:paginate(service, op_name, params, opts)
  local svc = services.get(service)
  local op = svc and svc.operations[op_name]
  if not op then errors.misuse(("eksegress: %s has no operation %q"):format(service, tostring(op_name)), 2) end
  local pg = op.paginator
  if not pg then errors.misuse(("eksegress: %s %s is not paginated"):format(service, op_name), 2) end
  local input = {}
  for k, v in pairs(params or {}) do input[k] = v end
  local finished = false
  local seen = {}
  return function()
    if finished then return nil end
    local page, err = self:call(service, op_name, input, opts)
    if not page then
      finished = true
      return false, err
    end
    local token = page[pg.output_token]
    if token == nil or token == "" or token == cjson.null then
      finished = true
    elseif seen[token] then
      -- A service that repeats a token would loop forever: stop with an error.
      finished = true
      return page, errors.new("PaginationLoop", "the service returned the same page token twice")
    else
      seen[token] = true
      input[pg.input_token] = token
    end
    return page
  end
end

--- Collect every item of a paginated list (result_key) into one array.
function Client:collect(service, op_name, params, opts)
  local svc = services.get(service)
  local op = svc and svc.operations[op_name]
  local key = op and op.paginator and op.paginator.result_key
  if not key then errors.misuse(("eksegress: %s %s has no result key"):format(service, op_name), 2) end
  local all = {}
  for page, err in self:paginate(service, op_name, params, opts) do
    if not page then return nil, err end
    for _, item in ipairs(page[key] or {}) do all[#all + 1] = item end
    if err then return nil, err end
  end
  return all
end

--- Wait with a service waiter (ClusterActive, ClusterDeleted, UpdateFinished).
-- opts.delay / opts.max_attempts override the documented values (tests scale
-- them down). Returns the last response, or nil, err (code WaiterFailure or
-- WaiterTimeout, or the call's error).
function Client:wait(service, waiter_name, params, opts)
  opts = opts or {}
  local svc = services.get(service)
  local w = svc and svc.waiters and svc.waiters[waiter_name]
  if not w then errors.misuse(("eksegress: %s has no waiter %q"):format(service, tostring(waiter_name)), 2) end
  local delay = opts.delay or w.delay
  local attempts = opts.max_attempts or w.max_attempts
  for attempt = 1, attempts do
    local out, err = self:call(service, w.operation, params, opts)
    for _, acc in ipairs(w.acceptors) do
      if services.match_acceptor(acc, out, err) then
        if acc.state == "success" then return out or {} end
        return nil, errors.new("WaiterFailure", ("waiter %s reached a failure state (%s = %s)")
          :format(waiter_name, tostring(acc.path or acc.matcher), tostring(acc.expected)), { response = out })
      end
    end
    if err and not err.retryable and err.code ~= "ResourceNotFoundException" then
      return nil, err
    end
    if attempt < attempts then self.runtime:sleep(delay) end
  end
  return nil, errors.new("WaiterTimeout", ("waiter %s gave up after %d attempts"):format(waiter_name, attempts))
end

--- The caller identity (STS GetCallerIdentity), cached; also used in the
-- guard's audit log.
function Client:whoami(opts)
  local out, err = self:call("sts", "GetCallerIdentity", {}, opts)
  if not out then return nil, err end
  self.identity = out.Arn
  return out
end

--- Close the client's runtime when it owns it.
function Client:close()
  if not self.opts.runtime then self.runtime:close() end
end

function Client:__tostring()
  return ("eksegress.client (region %s)"):format(tostring(self.region))
end

M.Client = Client
return M
