--- The AWS client: one generic entry point every service call goes through.
--
--     local client = assert(eksegress.client{ region = "us-west-2" })
--     local out, err = client:call("eks", "DescribeCluster", { name = "prod" })
--     local req = assert(client:prepare("eks", "DescribeCluster", { name = "prod" }))  -- no I/O
--     local out2, err2 = client:send(req)                                              -- call = send(prepare)
--     local url = client:presign("sts", "GetCallerIdentity", {}, { expires = 60,
--       headers = { ["x-k8s-aws-id"] = "prod" } })
--     for page, perr in client:paginate("eks", "ListClusters", {}) do ... end
--     client:wait("eks", "ClusterActive", { name = "prod" })
--
-- Options are declared once in eksegress.options and resolved by
-- eksegress.settings like the AWS CLI v2 (explicit option, environment, shared
-- config/credentials files, default); the client keeps the resolved settings
-- and never the caller's option table. Every request is signed by the C core
-- on every attempt, and every EKS request passes the irreversibility guard in
-- the C core before it is signed.
--
-- Runtime and engine: a client runs on `opts.runtime` or the process-wide
-- runtime.default(), which eksegress.parallel uses too, so calls in parallel
-- tasks overlap. The options that shape the HTTP engine (audit_path, ca_bundle,
-- connect_timeout_ms, backoff_base, retry_mode_engine: `engine = true` in
-- eksegress.options) select an engine of that runtime for this configuration
-- (runtime:engine_for): clients configured alike share one engine, and a
-- client with its own audit log still runs in the same scheduler. timeout_ms
-- and max_attempts travel with each request and need no engine of their own.
--
-- Service policy lives in the service models (see eksegress.services):
-- default_region, guarded, mutating, observe_before, output_types. The client
-- knows no service by name.
local cjson = require "cjson"
local runtime = require "eksegress.runtime"
local services = require "eksegress.services"
local errors = require "eksegress.errors"
local options = require "eksegress.options"
local settings_mod = require "eksegress.settings"
local endpoints = require "eksegress.endpoints"
local credentials = require "eksegress.credentials"
local secret = require "eksegress.secret"
local sigv4 = require "eksegress.sigv4"

local M = {}

local Client = { __name = "eksegress.client" }
Client.__index = Client

-- A prepared request (client:prepare): plain fields, no secret.
local Prepared = { __name = "eksegress.prepared" }
Prepared.__index = Prepared
function Prepared.__tostring(p)
  return ("%s %s (%s %s, signed for %s/%s)"):format(p.method, p.url, p.service, p.operation,
    tostring(p.signing_region), tostring(p.signing_name))
end

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

-- Methods called with '.' get a string or nil as self: say so plainly.
local function check_self(self, method, level)
  if getmetatable(self) ~= Client then
    errors.misuse(("eksegress: call %s with a colon: client:%s(...) (got %s as the client)"):format(
      method, method, type(self)), level + 1)
  end
  if self.closed then errors.misuse("eksegress: client:" .. method .. " on a closed client", level + 1) end
end

-- The service and operation definitions, or misuse.
local function operation(service, op_name, level)
  local svc, serr = services.get(service)
  if not svc then errors.misuse("eksegress: " .. tostring(serr and serr.message or serr), level + 1) end
  local op = type(op_name) == "string" and svc.operations[op_name]
  if not op then
    errors.misuse(("eksegress: %s has no operation %q"):format(service, tostring(op_name)), level + 1)
  end
  return svc, op
end

local function wrap_key_table(t)
  return secret.credentials{
    access_key_id = t.access_key_id, secret_access_key = t.secret_access_key,
    session_token = t.session_token, expiration = t.expiration, account_id = t.account_id,
    source = "explicit",
  }
end

-- The engine options of resolved settings: only values that differ from the
-- engine's defaults, so clients configured alike share one engine.
local function engine_options(s)
  local e = {}
  for _, o in ipairs(options.list) do
    if o.engine and s[o.name] ~= nil and s[o.name] ~= o.default then e[o.name] = s[o.name] end
  end
  e.retry_mode, e.retry_mode_engine = e.retry_mode_engine, nil   -- the engine's name for it
  return e
end

-- The options handed to the credential chain (never the caller's table).
local CREDENTIAL_OPTIONS = { "read_file", "run", "now", "role_session_name", "mfa_token", "refresh",
                             "advisory", "mandatory", "min_interval" }

--- Create a client.
-- @tparam[opt] table opts any option of scope "client" in eksegress.options
--   (profile, region, credentials, endpoint_url, max_attempts, timeout_ms,
--   audit_path, rate_limit, runtime, ...). Misuse (not a table, an unknown
--   name, a wrong type or a value out of range) raises.
-- @treturn[1] client
-- @treturn[2] nil, err: bad configuration from the environment or the files
--   (InvalidConfig, InvalidRegion, ProfileNotFound, ConfigParseError, ...) or an
--   engine that cannot be created (an unwritable audit_path: IoError)
function M.new(opts)
  opts = options.check("client", opts, "eksegress.client", 3)
  local explicit = opts.credentials
  if options.is_key_table(explicit) then explicit = wrap_key_table(explicit) end
  local settings, err = settings_mod.resolve(opts)
  if not settings then return nil, err end
  local rt = opts.runtime or runtime.default()
  local engine, eerr = rt:engine_for(engine_options(settings))
  if not engine then return nil, eerr end
  local self = setmetatable({
    settings = settings,
    region = settings.region,
    runtime = rt,
    engine = engine,
    identities = {},   -- access key id -> caller ARN (STS GetCallerIdentity)
    endpoints = {},    -- service "\0" region -> resolved endpoint (see endpoint())
    wire_log = opts.wire_log,
  }, Client)
  self.ctx = self:_credential_context(settings.env)
  local copts = { credentials = explicit }
  for _, k in ipairs(CREDENTIAL_OPTIONS) do copts[k] = opts[k] end
  if copts.now == nil then
    -- Judge credential expiry by the service's clock: the engine learns the
    -- offset from clock-skew errors and signs with it, so a local clock that
    -- runs behind cannot keep expired credentials looking fresh.
    copts.now = function() return os.time() + engine:clock_offset() end
  end
  local provider, cerr = credentials.provider_for(copts, settings, self.ctx)
  if not provider then
    rt:release(engine)
    return nil, cerr
  end
  self.credentials = provider
  return self
end

-- The context credential providers use for their own HTTP and STS calls.
function Client:_credential_context(env)
  local this = self
  return {
    http = function(req) return this:raw_request(req) end,
    sts = function(action, params, o)
      o = o or {}
      return this:call("sts", action, params, {
        credentials = o.credentials, region = o.region, unsigned = o.credentials == nil,
      })
    end,
    env = env,
    -- A refresh in flight makes other tasks wait for it instead of starting
    -- their own (eksegress.credentials.cache).
    wait = function(flight) this.runtime:wait_on(flight) end,
    wake = function(flight) this.runtime:wake(flight) end,
    -- Pauses between a provider's own attempts (container credentials,
    -- credential_process) yield the task instead of blocking the scheduler.
    sleep = function(seconds) this.runtime:sleep(seconds) end,
  }
end

--- Send an unsigned raw HTTP request (IMDS, container credentials).
-- req = {method, url, headers = {{n, v}...}, body, timeout_ms}
-- Returns {status, headers, body} or nil, err.
function Client:raw_request(req)
  check_self(self, "raw_request", 2)
  if type(req) ~= "table" then errors.misuse("client:raw_request: request must be a table", 2) end
  local resp, err = self.runtime:request({
    method = req.method or "GET", url = req.url, headers = req.headers,
    body = req.body, timeout_ms = req.timeout_ms, max_attempts = req.max_attempts or 1,
  }, self.engine)
  if not resp then return nil, err end
  if resp.error then return nil, resp.error end
  return resp
end

local function is_2xx(status) return status >= 200 and status < 300 end

-- Turn an engine response into (out, err, meta) for an operation. Every text
-- that came from the server is scrubbed of the caller's secrets first: a
-- service (or anything posing as one) may echo the session token back.
local function to_result(svc, op_name, op, resp, creds)
  local function scrub(text) return secret.scrub(text, creds) end
  local meta = { id = resp.id, request_id = resp.request_id, attempts = resp.attempts, status = resp.status,
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
    return nil, errors.new(scrub(e.code), scrub(e.message), {
      service = svc.name, operation = op_name, retryable = e.retryable,
      quota_exhausted = e.quota_exhausted, attempts = resp.attempts,
    }), meta
  end
  if not is_2xx(resp.status) then
    local code = resp.aws_code and scrub(resp.aws_code) or ("Http" .. tostring(resp.status))
    return nil, errors.new(code, scrub(resp.aws_message) or ("HTTP status " .. tostring(resp.status)), {
      status = resp.status, request_id = scrub(resp.request_id), service = svc.name,
      operation = op_name, retryable = resp.retryable, throttling = resp.throttling,
      quota_exhausted = resp.quota_exhausted, attempts = resp.attempts,
    }), meta
  end
  local out, perr = codec_for(svc).parse(svc, op_name, op, resp)
  if not out then
    -- a decoding failure, or an error document inside a 2xx (EC2)
    if not errors.is(perr) then
      perr = errors.new("ParseError", tostring(type(perr) == "table" and perr.message or perr))
    end
    perr.code, perr.message = scrub(perr.code), scrub(perr.message)
    perr.service, perr.operation = svc.name, op_name
    perr.request_id = perr.request_id or resp.request_id
    return nil, perr, meta
  end
  local ok, why = services.check_output(op, out)
  if not ok then
    return nil, errors.new("ParseError", ("%s %s response: %s"):format(svc.name, op_name, scrub(why)), {
      service = svc.name, operation = op_name, request_id = resp.request_id, status = resp.status }), meta
  end
  return out, nil, meta
end

-- The endpoint of a service in a region, resolved once per client: the
-- client's settings (and so every input of endpoints.resolve but the region)
-- are fixed when it is created. Failures are not kept.
local function endpoint(self, svc, region)
  local key = svc.name .. "\0" .. region
  local ep = self.endpoints[key]
  if ep then return ep end
  local err
  ep, err = endpoints.resolve(svc, region, self.settings, { allow_http = self.settings.allow_http })
  if not ep then return nil, err end
  self.endpoints[key] = ep
  return ep
end

-- prepare's work; `level` is the caller's level as seen from here.
local function prepare(self, service, op_name, params, opts, level)
  local svc, op = operation(service, op_name, level)
  if params == nil then params = {} end
  if type(params) ~= "table" then
    errors.misuse(("eksegress: %s %s: params must be a table (got %s)"):format(service, op_name, type(params)),
      level)
  end
  local shape_ok, why = services.check_params(params)
  if not shape_ok then errors.misuse(("eksegress: %s %s: %s"):format(service, op_name, why), level) end

  local region = opts.region or self.region or svc.default_region
  if not region then
    return nil, errors.new("NoRegion", "no region: pass region=, set AWS_REGION, or set region in the profile",
      { service = svc.name, operation = op_name })
  end
  local ep, eerr = endpoint(self, svc, region)
  if not ep then return nil, eerr end

  local req = codec_for(svc).build(svc, op_name, op, params)
  -- the path as sent: an endpoint URL may carry a path prefix
  local path = (ep.path or "") .. req.path
  local observe
  if op.observe_before then
    local obs_op, obs_params = op.observe_before(params)
    if obs_op then observe = { operation = obs_op, params = obs_params } end
  end
  return setmetatable({
    method = req.method,
    url = ep.url .. req.path .. ((req.query and req.query ~= "") and ("?" .. req.query) or ""),
    path = path,
    query = req.query or "",
    headers = req.headers or {},
    body = req.body or "",
    service = svc.name,
    operation = op_name,
    region = region,
    signing_name = ep.signing_name or svc.signing_name,
    signing_region = ep.signing_region or region,
    endpoint = ep.url,
    mutating = op.mutating or false,
    unsigned = opts.unsigned or op.unsigned or false,
    acknowledge = opts.acknowledge,
    allow_undocumented = opts.allow_undocumented or false,
    timeout_ms = opts.timeout_ms,
    max_attempts = opts.max_attempts,
    observe = observe,
  }, Prepared), nil
end

--- Build the exact request of an operation, without sending anything.
-- @tparam string service "eks" | "ec2" | "sts" | "organizations"
-- @tparam string op_name e.g. "UpdateClusterConfig"
-- @tparam[opt] table params operation input (AWS member names)
-- @tparam[opt] table opts call options (region, acknowledge, allow_undocumented,
--   unsigned, timeout_ms, max_attempts; credentials is accepted and left to send)
-- @treturn[1] table the request: method, url, path (as sent, with any endpoint path
--   prefix), query, headers ({{name, value}},
--   no Authorization: signing happens at send), body, service, operation, region,
--   signing_name, signing_region, endpoint, mutating, unsigned, the guard inputs
--   acknowledge and allow_undocumented, timeout_ms, max_attempts, and observe
--   ({operation, params} the client reads first, or nil). No secret is in it.
-- @treturn[2] nil, err (NoRegion, InvalidEndpoint, InsecureEndpoint, ...)
function Client:prepare(service, op_name, params, opts)
  check_self(self, "prepare", 2)
  opts = options.check("call", opts, "client:prepare", 2)
  return prepare(self, service, op_name, params, opts, 3)
end

-- The credentials for a request: the per-call option, else the client's.
local function resolve_credentials(self, per_call)
  local p = per_call
  if p == nil then p = self.credentials end
  if options.is_key_table(p) then p = wrap_key_table(p) end
  return credentials.resolve(p, self.ctx)
end

-- The caller's ARN for these credentials, asked once (STS GetCallerIdentity).
local function identity(self, creds, region)
  local arn = self.identities[creds.access_key_id]
  if arn then return arn end
  local out, err = self:call("sts", "GetCallerIdentity", {}, { credentials = creds, region = region })
  if not out then return nil, err end
  self.identities[creds.access_key_id] = out.Arn
  return out.Arn
end

local send

-- The --debug wire log: what was sent and what came back, one line each.
-- Headers are the prepared ones (no Authorization, no token: the engine adds
-- those when it signs); bodies are never logged, since a response can carry
-- credentials (STS AssumeRole).
local function log_request(self, prepared, submit)
  local hs = {}
  for _, h in ipairs(prepared.headers or {}) do hs[#hs + 1] = h[1] .. ": " .. h[2] end
  self.wire_log(("-> %s %s [%s] body %d bytes%s%s"):format(prepared.method, prepared.url,
    table.concat(hs, "; "), #(prepared.body or ""), submit.sign and ", signed" or ", unsigned",
    submit.observed_with and (", guard observation #" .. tostring(submit.observed_with)) or ""))
end

local function log_response(self, prepared, resp, rerr, creds)
  local line
  if not resp then
    line = ("<- %s %s: %s"):format(prepared.operation, prepared.url, tostring(rerr))
  else
    local g = resp.guard
    line = ("<- %s HTTP %s request %s, %s attempt(s), %.0f ms%s%s"):format(prepared.operation,
      tostring(resp.status), tostring(resp.request_id), tostring(resp.attempts), resp.total_ms or 0,
      resp.error and (", " .. tostring(resp.error.code) .. ": " .. tostring(resp.error.message)) or "",
      g and (", guard " .. tostring(g.action) .. (g.code and (" " .. g.code) or "")) or "")
  end
  self.wire_log(secret.scrub(line, creds))
end

-- The read an operation declares it needs first (observe_before), with the
-- same credentials and region; returns its engine request id.
local function observe(self, prepared, creds, opts)
  local obs, perr = prepare(self, prepared.service, prepared.observe.operation, prepared.observe.params,
    { region = prepared.region, timeout_ms = opts.timeout_ms }, 4)
  if not obs then return nil, perr end
  local _, err, meta = send(self, obs, { credentials = creds, timeout_ms = opts.timeout_ms })
  if err then return nil, err, meta end
  return meta.id
end

-- The service's word that the session expired (EKS, STS, EC2 and the query
-- services spell it differently); the request was refused before it did
-- anything, so it may be sent again with fresh credentials.
local EXPIRED_CODES = { ExpiredToken = true, ExpiredTokenException = true }

local send_once

-- A session can expire by the service's clock before it does by ours (a
-- clock that jumped, a session cut short). When the service says so, forget
-- those credentials (only those: a refresh another task made meanwhile is
-- kept) and send once more with fresh ones, if the provider can give any.
send = function(self, prepared, opts)
  local out, err, meta, creds = send_once(self, prepared, opts)
  if out or not creds or not (errors.is(err) and EXPIRED_CODES[err.code]) then return out, err, meta end
  local p = opts.credentials
  if p == nil then p = self.credentials end
  if type(p) ~= "table" or type(p.invalidate) ~= "function" then return out, err, meta end
  p:invalidate(creds)
  local fresh = resolve_credentials(self, opts.credentials)
  if not fresh or fresh.access_key_id == creds.access_key_id then return out, err, meta end
  return (send_once(self, prepared, opts))
end

send_once = function(self, prepared, opts)
  local svc, op = operation(prepared.service, prepared.operation, 3)
  local s = self.settings
  local submit = {
    method = prepared.method, url = prepared.url, headers = prepared.headers, body = prepared.body,
    service = prepared.signing_name, region = prepared.signing_region,
    acknowledge = prepared.acknowledge, allow_undocumented = prepared.allow_undocumented,
    timeout_ms = opts.timeout_ms or prepared.timeout_ms or s.timeout_ms,
    max_attempts = opts.max_attempts or prepared.max_attempts or s.max_attempts,
  }
  local creds
  if not prepared.unsigned then
    local cerr
    creds, cerr = resolve_credentials(self, opts.credentials)
    if not creds then return nil, cerr end
  end
  if creds and svc.guarded and prepared.mutating then
    local arn, ierr = identity(self, creds, prepared.region)
    if not arn then return nil, ierr, nil, creds end
    submit.identity = arn
  end
  if prepared.observe then
    local id, oerr, ometa = observe(self, prepared, creds, opts)
    if not id then return nil, oerr, ometa, creds end
    submit.observed_with = id
  end
  if creds then
    submit.sign = true
    submit.access_key_id, submit.secret_access_key, submit.session_token = creds:unwrap()
  end
  if s.rate_limit then
    local who = creds and (creds.account_id or creds.access_key_id) or "unsigned"
    self.runtime:acquire(table.concat({ who, prepared.signing_region or "", svc.name }, "/"),
      s.rate_limit, s.rate_burst)
  end
  if self.wire_log then log_request(self, prepared, submit) end
  local resp, rerr = self.runtime:request(submit, self.engine)
  submit.secret_access_key, submit.session_token = nil, nil
  if self.wire_log then log_response(self, prepared, resp, rerr, creds) end
  if not resp then
    if errors.is(rerr) then rerr.message = secret.scrub(rerr.message, creds) end
    return nil, rerr
  end
  local out, err, meta = to_result(svc, prepared.operation, op, resp, creds)
  return out, err, meta, creds
end

--- Send a prepared request: resolve credentials, make the observation the
-- operation declares (observe_before), resolve the caller identity before a
-- mutating call of a guarded service, rate-limit, sign in the engine, send
-- and decode.
-- @tparam table prepared from client:prepare
-- @tparam[opt] table opts call options: credentials, timeout_ms, max_attempts
--   override the prepared ones
-- @treturn table|nil the response table
-- @treturn table|nil err {code, message, status, request_id, retryable, ...}
-- @treturn table meta {id (the engine request id), request_id, attempts, status, total_ms}
function Client:send(prepared, opts)
  check_self(self, "send", 2)
  if getmetatable(prepared) ~= Prepared then
    errors.misuse("client:send: expects a request made by client:prepare", 2)
  end
  opts = options.check("call", opts, "client:send", 2)
  return send(self, prepared, opts)
end

--- Call an operation by its AWS name: send(prepare(...)).
-- @tparam string service "eks" | "ec2" | "sts" | "organizations"
-- @tparam string op_name e.g. "DescribeCluster"
-- @tparam[opt] table params operation input (AWS member names)
-- @tparam[opt] table opts call options (eksegress.options scope "call"): region,
--   credentials, acknowledge (EKS: the cluster name, confirming an irreversible
--   change), allow_undocumented, unsigned, timeout_ms, max_attempts
-- @treturn table|nil the response table
-- @treturn table|nil err {code, message, status, request_id, retryable, ...}
-- @treturn table meta {id, request_id, attempts, status, total_ms}
function Client:call(service, op_name, params, opts)
  check_self(self, "call", 2)
  opts = options.check("call", opts, "client:call", 2)
  local prepared, err = prepare(self, service, op_name, params, opts, 3)
  if not prepared then return nil, err end
  return send(self, prepared, opts)
end

local FORM = "application/x-www-form-urlencoded"

--- A presigned URL for an operation (SigV4 query placement), signed inside
-- the client so the caller never holds a secret. An operation with a form
-- body (the query protocol: STS) is presigned as GET with its parameters in
-- the query, as the AWS CLI does; one with a JSON body cannot be presigned.
-- The EKS token is `client:presign("sts", "GetCallerIdentity", {}, { expires = 60,
-- headers = { ["x-k8s-aws-id"] = cluster } })`. With temporary credentials the
-- URL carries the session token (X-Amz-Security-Token), as AWS requires; the
-- secret key never leaves the signer.
-- @tparam string service the service name ("sts", "eks", ...)
-- @tparam string op_name the operation's AWS name
-- @tparam table params the operation's input
-- @tparam[opt] table opts expires (seconds, default 3600), headers ({name = value},
--   signed: the URL's user must send them), region, credentials
-- @treturn[1] string the URL
-- @treturn[2] nil, err (NoRegion, credentials errors, ...)
function Client:presign(service, op_name, params, opts)
  check_self(self, "presign", 2)
  opts = options.check("presign", opts, "client:presign", 2)
  local prepared, err = prepare(self, service, op_name, params, { region = opts.region }, 3)
  if not prepared then return nil, err end
  local method, query = prepared.method, prepared.query
  if prepared.body ~= "" then
    local form = false
    for _, h in ipairs(prepared.headers) do
      if h[1]:lower() == "content-type" and h[2]:find(FORM, 1, true) then form = true end
    end
    if not form then
      errors.misuse(("client:presign: %s %s sends a JSON body, which a URL cannot carry"):format(service, op_name),
        2)
    end
    query = query ~= "" and (query .. "&" .. prepared.body) or prepared.body
    method = "GET"
  end
  local creds, cerr = resolve_credentials(self, opts.credentials)
  if not creds then return nil, cerr end
  local origin = prepared.url:match("^(%a+://[^/?]+)")
  local headers = { { "Host", origin:match("^%a+://(.*)$") } }
  local names = {}
  for name in pairs(opts.headers or {}) do names[#names + 1] = name end
  table.sort(names)
  for _, name in ipairs(names) do headers[#headers + 1] = { name:lower(), opts.headers[name] } end
  local akid, sk, token = creds:unwrap()
  local out = sigv4.sign{
    method = method, target = prepared.path .. (query ~= "" and ("?" .. query) or ""),
    headers = headers, body = "", region = prepared.signing_region, service = prepared.signing_name,
    time = sigv4.amz_date(os.time() + self.engine:clock_offset()),
    access_key_id = akid, secret_access_key = sk, session_token = token,
    placement = "query", expires = opts.expires or options.get("expires", "presign").default,
  }
  return origin .. out.target
end

-- A result page's token: nil on the last page.
local function next_token(page, pg)
  local token = page[pg.output_token]
  if token == nil or token == "" or token == cjson.null then return nil end
  return token
end

local function pagination_limit(what, limit, name)
  return errors.new("PaginationLimit", ("stopped after %d %s: the listing goes on (raise %s to read more)")
    :format(limit, what, name), { limit = limit, option = name })
end

--- Iterate over every page of a paginated operation, lazily.
--     for page, err in client:paginate("eks", "ListClusters", {}) do
--       if not page then error(err) end ...
--     end
-- On an error the iterator yields (false, err) once and then stops: a nil
-- first value would end a generic for silently and hide the error. A listing
-- longer than max_pages pages or max_items items (options, high defaults)
-- ends with (false, PaginationLimit): a service that hands out a fresh token
-- on every page cannot keep a script reading forever. A repeated token ends
-- with PaginationLoop.
-- @tparam string service the service name
-- @tparam string op_name a paginated operation's AWS name
-- @tparam table params the first page's input (the page token is filled in)
-- @tparam[opt] table opts call options plus max_pages, max_items
function Client:paginate(service, op_name, params, opts)
  check_self(self, "paginate", 2)
  opts = options.check("paginate", opts, "client:paginate", 2)
  local _, op = operation(service, op_name, 2)
  local pg = op.paginator
  if not pg then errors.misuse(("eksegress: %s %s is not paginated"):format(service, op_name), 2) end
  if params ~= nil and type(params) ~= "table" then
    errors.misuse(("client:paginate: params must be a table (got %s)"):format(type(params)), 2)
  end
  local max_pages = opts.max_pages or self.settings.max_pages
  local max_items = opts.max_items or self.settings.max_items
  local call_opts = options.subset(opts, "call")
  local input = {}
  for k, v in pairs(params or {}) do input[k] = v end
  local finished = false
  local seen = {}
  local pages, items = 0, 0
  return function()
    if finished then return nil end
    if pages >= max_pages then
      finished = true
      return false, pagination_limit("pages", max_pages, "max_pages")
    end
    local page, err = self:call(service, op_name, input, call_opts)
    if not page then
      finished = true
      return false, err
    end
    pages = pages + 1
    local list = page[pg.result_key]
    items = items + (type(list) == "table" and #list or 0)
    if items > max_items then
      finished = true
      return false, pagination_limit("items", max_items, "max_items")
    end
    local token = next_token(page, pg)
    if token == nil then
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
-- @tparam string service the service name
-- @tparam string op_name a paginated operation's AWS name
-- @tparam table params the first page's input
-- @tparam[opt] table opts as for paginate
function Client:collect(service, op_name, params, opts)
  check_self(self, "collect", 2)
  opts = options.check("paginate", opts, "client:collect", 2)
  local _, op = operation(service, op_name, 2)
  local key = op.paginator and op.paginator.result_key
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
-- opts.delay (seconds) and opts.max_attempts (the waiter's attempts) override
-- the documented values (tests scale them down); the other call options go to
-- each call. Returns the last response, or nil, err (code WaiterFailure or
-- WaiterTimeout, or the call's error).
function Client:wait(service, waiter_name, params, opts)
  check_self(self, "wait", 2)
  opts = options.check("wait", opts, "client:wait", 2)
  local svc = services.get(service)
  local w = svc and svc.waiters and svc.waiters[waiter_name]
  if not w then
    errors.misuse(("eksegress: %s has no waiter %q"):format(tostring(service), tostring(waiter_name)), 2)
  end
  local delay = opts.delay or w.delay
  local attempts = opts.max_attempts or w.max_attempts
  local call_opts = options.subset(opts, "call")
  call_opts.max_attempts = nil   -- the waiter's attempts, not the request's
  for attempt = 1, attempts do
    local out, err = self:call(service, w.operation, params, call_opts)
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

--- The caller identity (STS GetCallerIdentity) of the client's credentials (or
-- opts.credentials); the ARN is remembered for the guard's audit lines.
function Client:whoami(opts)
  check_self(self, "whoami", 2)
  opts = options.check("call", opts, "client:whoami", 2)
  local creds, cerr = resolve_credentials(self, opts.credentials)
  if not creds then return nil, cerr end
  local o = options.subset(opts, "call")
  o.credentials = creds
  local out, err = self:call("sts", "GetCallerIdentity", {}, o)
  if not out then return nil, err end
  self.identities[creds.access_key_id] = out.Arn
  return out
end

--- Let go of the client's engine (closed when no other client uses it; the
-- runtime itself stays). Idempotent; the client is unusable afterwards.
function Client:close()
  if getmetatable(self) ~= Client then
    errors.misuse("eksegress: call close with a colon: client:close()", 2)
  end
  if self.closed then return end
  self.closed = true
  self.runtime:release(self.engine)
end

function Client:__tostring()
  return ("eksegress.client (region %s)"):format(tostring(self.region))
end

M.Client = Client
M.Prepared = Prepared
return M
