--- Every option of eksegress.client and of its calls, declared once.
--
--     local options = require "eksegress.options"
--     for _, o in ipairs(options.list) do print(o.name, o.type, o.doc) end
--     local opts = options.check("call", opts, "client:call", 2)   -- raises on misuse
--
-- An entry: name, type, scopes (where it is accepted), doc, and where they
-- apply: env (environment variables, first set wins), profile (the key in the
-- shared config profile), default, min/max (numbers), values (enums), engine
-- (true: it shapes the HTTP engine, see eksegress.client), setting (true:
-- `eksegress.settings` resolves it as option > environment > profile > default
-- into the client's settings, which is all the client reads; the others are
-- plumbing handed to the credential chain or the runtime). The CLI maps its
-- flags onto this list.
--
-- Scopes:
--   client    eksegress.client{...}
--   call      client:call, client:prepare, client:send
--   paginate  client:paginate, client:collect (the call options too)
--   wait      client:wait (the call options; delay and max_attempts are the waiter's)
--   presign   client:presign
--
-- Values given in code are checked strictly (a wrong type, an unknown name or
-- a value out of range is misuse and raises, with a "did you mean" hint for a
-- misspelt name). Values from the environment or a profile are text, parsed
-- by `parse`; a bad one is a runtime failure ({code = "InvalidConfig"}) naming
-- where it came from.
local errors = require "eksegress.errors"

local M = {}

local C, CALL, PAGE, WAIT, PRESIGN = "client", "call", "paginate", "wait", "presign"
local function scopes(...)
  local s = {}
  for _, v in ipairs({ ... }) do s[v] = true end
  return s
end
local EVERY_CALL = scopes(C, CALL, PAGE, WAIT)     -- client default and per-call override
local CALL_ONLY = scopes(CALL, PAGE, WAIT)

-- The declared options, in the order the documentation lists them.
M.list = {
  -- Where requests go and who signs them.
  { name = "profile", type = "string", scopes = scopes(C), env = { "AWS_PROFILE", "AWS_DEFAULT_PROFILE" },
    default = "default", doc = "the shared config/credentials profile" },
  { name = "region", setting = true, type = "region", scopes = scopes(C, CALL, PAGE, WAIT, PRESIGN),
    env = { "AWS_REGION", "AWS_DEFAULT_REGION" }, profile = "region",
    doc = "the AWS region (a service model's default_region applies when none is set)" },
  { name = "credentials", type = "credentials", scopes = scopes(C, CALL, PAGE, WAIT, PRESIGN),
    doc = "a credentials object, a provider (function(ctx) or table with :resolve/:get), or a table "
      .. "{access_key_id, secret_access_key, session_token?, expiration?, account_id?}, wrapped at once; "
      .. "default: the AWS CLI v2 chain" },
  { name = "endpoint_url", type = "endpoint_url", scopes = scopes(C),
    doc = "one URL for every service, or {eks = url, ...}; also AWS_ENDPOINT_URL[_<SERVICE>] and the "
      .. "profile's endpoint_url / services section (eksegress.endpoints)" },
  { name = "allow_http", setting = true, type = "boolean", scopes = scopes(C), default = false,
    doc = "allow plain http to a non-loopback endpoint (true or false only)" },
  { name = "use_fips_endpoint", setting = true, type = "boolean", scopes = scopes(C),
    env = { "AWS_USE_FIPS_ENDPOINT" }, profile = "use_fips_endpoint", default = false, doc = "use the FIPS endpoints" },
  { name = "sts_regional_endpoints", setting = true, type = "enum", values = { "regional", "legacy" },
    scopes = scopes(C), env = { "AWS_STS_REGIONAL_ENDPOINTS" }, profile = "sts_regional_endpoints",
    default = "regional", doc = "legacy sends STS calls of some regions to sts.amazonaws.com" },
  { name = "ignore_configured_endpoint_urls", setting = true, type = "boolean", scopes = scopes(C),
    env = { "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS" }, profile = "ignore_configured_endpoint_urls",
    default = false, doc = "ignore endpoint URLs from the environment and the config file" },

  -- Retries, timeouts, rate.
  { name = "retry_mode", setting = true, type = "enum", values = { "legacy", "standard", "adaptive" },
    scopes = scopes(C), env = { "AWS_RETRY_MODE" }, profile = "retry_mode", default = "standard",
    doc = "AWS retry mode; all three run the engine's standard retries (adaptive's client-side "
      .. "limiter is rate_limit); it sets max_attempts' default: 5 for legacy, 3 otherwise" },
  { name = "max_attempts", setting = true, type = "integer", min = 1, max = 20, scopes = scopes(C, CALL, PAGE),
    env = { "AWS_MAX_ATTEMPTS" }, profile = "max_attempts",
    doc = "attempts per request, the first included (the engine's cap is 20); default 3 (legacy: 5)" },
  { name = "timeout_ms", setting = true, type = "integer", min = 1, max = 3600000, scopes = EVERY_CALL, default = 30000,
    doc = "per attempt, connection and transfer together, in milliseconds" },
  { name = "connect_timeout_ms", setting = true, type = "integer", min = 1, max = 600000, scopes = scopes(C),
    default = 3000, engine = true, doc = "connection set-up limit per attempt, in milliseconds" },
  { name = "retry_mode_engine", setting = true, type = "enum", values = { "standard", "standard-2026", "off" },
    scopes = scopes(C), default = "standard", engine = true,
    doc = "the engine's retry algorithm: AWS standard mode, standard mode with the 2026 changes, "
      .. "or off (one attempt)" },
  { name = "backoff_base", setting = true, type = "number", min = 0.001, max = 20, scopes = scopes(C), default = 1,
    engine = true, doc = "retry backoff base in seconds (jitter scales from it; tests shrink it)" },
  { name = "ca_bundle", setting = true, type = "string", scopes = scopes(C), env = { "AWS_CA_BUNDLE" },
    profile = "ca_bundle", engine = true, doc = "a PEM file of trusted CAs instead of the system's (\"~\" expanded)" },
  { name = "max_connections", setting = true, type = "integer", min = 1, max = 1000000, scopes = scopes(C),
    engine = true,
    doc = "connections open at once, in total and so to any one host (default: 64 per host, raised to the "
      .. "number of tasks running at once, so eksegress.parallel's concurrency always gets its connections)" },
  { name = "rate_limit", setting = true, type = "number", min = 0.1, max = 1000000, scopes = scopes(C),
    doc = "client-side limit in requests per second per account/region/service (off when unset)" },
  { name = "rate_burst", setting = true, type = "integer", min = 1, max = 1000000, scopes = scopes(C),
    doc = "requests the rate limiter lets through at once (default: rate_limit, at least 1)" },

  -- The guard and its audit log.
  { name = "audit_path", setting = true, type = "string", scopes = scopes(C), engine = true,
    doc = "append every guard decision to this file, one JSON line each" },
  { name = "acknowledge", type = "string", scopes = CALL_ONLY,
    doc = "EKS: the cluster name, confirming an irreversible change (never read from the body)" },
  { name = "allow_undocumented", type = "boolean", scopes = CALL_ONLY, default = false,
    doc = "EKS: allow CUSTOMER_ISOLATED or an unknown egress mode (with the acknowledgement)" },
  { name = "unsigned", type = "boolean", scopes = CALL_ONLY, default = false,
    doc = "send without SigV4" },

  -- Pagination and waiters.
  { name = "max_pages", setting = true, type = "integer", min = 1, max = 10000000, scopes = scopes(C, PAGE),
    default = 10000, doc = "paginate/collect stop with PaginationLimit when a listing has more pages than this" },
  { name = "max_items", setting = true, type = "integer", min = 1, max = 1000000000, scopes = scopes(C, PAGE),
    default = 1000000, doc = "paginate/collect stop with PaginationLimit past this many items" },
  { name = "delay", type = "number", min = 0, max = 3600, scopes = scopes(WAIT),
    doc = "seconds between a waiter's attempts (default: the waiter's)" },
  { name = "max_attempts", type = "integer", min = 1, max = 100000, scopes = scopes(WAIT),
    doc = "a waiter's attempts (default: the waiter's)" },

  -- Presigned URLs.
  { name = "expires", type = "integer", min = 1, max = 604800, scopes = scopes(PRESIGN), default = 3600,
    doc = "seconds the presigned URL stays valid (X-Amz-Expires)" },
  { name = "headers", type = "headers", scopes = scopes(PRESIGN),
    doc = "{name = value} headers the URL's user must send, signed (e.g. x-k8s-aws-id)" },

  -- IMDS, the shared files, the credential chain; mostly for tests.
  { name = "metadata", type = "table", scopes = scopes(C),
    fields = { "disabled", "v1_disabled", "endpoint", "endpoint_mode", "timeout", "attempts" },
    doc = "IMDS overrides (see eksegress.settings.metadata)" },
  { name = "wire_log", type = "function", scopes = scopes(C),
    doc = "function(line) called with one line per request sent and per response (method, URL, "
      .. "status, request id, attempts, time; never a body, a signature or a secret): the CLI's --debug" },
  { name = "env", type = "function", scopes = scopes(C),
    doc = "function(name) -> value used instead of os.getenv" },
  { name = "runtime", type = "runtime", scopes = scopes(C),
    doc = "the runtime (scheduler and engines) to run on; default runtime.default(), shared" },
  { name = "config", type = "table", scopes = scopes(C), doc = "a loaded eksegress.config view" },
  { name = "config_file", type = "string", scopes = scopes(C), doc = "instead of AWS_CONFIG_FILE" },
  { name = "credentials_file", type = "string", scopes = scopes(C),
    doc = "instead of AWS_SHARED_CREDENTIALS_FILE" },
  { name = "home", type = "string", scopes = scopes(C), doc = "the home directory for ~ (tests)" },
  { name = "platform", type = "enum", values = { "linux", "windows" }, scopes = scopes(C),
    doc = "file-location rules (tests)" },
  { name = "read_file", type = "function", scopes = scopes(C), doc = "function(path) -> text | nil, err (tests)" },
  { name = "run", type = "function", scopes = scopes(C), doc = "credential_process runner (tests)" },
  { name = "now", type = "function", scopes = scopes(C),
    doc = "function() -> epoch seconds for credential expiry (default: the engine's corrected clock)" },
  { name = "role_session_name", type = "string", scopes = scopes(C), doc = "session name for assumed roles" },
  { name = "mfa_token", type = "function", scopes = scopes(C),
    doc = "function(serial, profile) -> code, for roles that need MFA" },
  { name = "refresh", type = "table", scopes = scopes(C), doc = "cache options for role sources" },
  { name = "advisory", type = "number", min = 0, max = 86400, scopes = scopes(C),
    doc = "refresh credentials this many seconds before expiry (default 900)" },
  { name = "mandatory", type = "number", min = 0, max = 86400, scopes = scopes(C),
    doc = "never use credentials this close to expiry (default 600)" },
  { name = "min_interval", type = "number", min = 0, max = 86400, scopes = scopes(C),
    doc = "seconds between refresh attempts (default 30)" },
}

-- Names once documented but never read, and what to use instead.
M.renamed = { acknowledge_log = "audit_path" }

local by_scope = {}
for _, o in ipairs(M.list) do
  for s in pairs(o.scopes) do
    by_scope[s] = by_scope[s] or {}
    assert(not by_scope[s][o.name], "option declared twice in one scope: " .. o.name)
    by_scope[s][o.name] = o
  end
end

--- The declaration of option `name` in `scope` (default "client"), or nil.
function M.get(name, scope)
  return (by_scope[scope or C] or {})[name]
end

--- The names valid in a scope, sorted.
function M.names(scope)
  local t = {}
  for name in pairs(by_scope[scope] or {}) do t[#t + 1] = name end
  table.sort(t)
  return t
end

-- ---------------------------------------------------------------------------
-- "Did you mean": the closest declared name by edit distance.

-- Optimal string alignment distance: insertions, deletions, substitutions,
-- and a swap of two neighbours ("regoin") each count as one edit.
local function distance(a, b)
  if math.abs(#a - #b) > 3 then return 99 end
  local d = {}
  for i = 0, #a do d[i] = { [0] = i } end
  for j = 1, #b do d[0][j] = j end
  for i = 1, #a do
    for j = 1, #b do
      local cost = a:byte(i) == b:byte(j) and 0 or 1
      local v = math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
      if i > 1 and j > 1 and a:byte(i) == b:byte(j - 1) and a:byte(i - 1) == b:byte(j) then
        v = math.min(v, d[i - 2][j - 2] + 1)
      end
      d[i][j] = v
    end
  end
  return d[#a][#b]
end

--- The declared name in `scope` closest to `name`, or nil when none is close.
function M.suggest(name, scope)
  local best, best_d
  for _, candidate in ipairs(M.names(scope)) do
    local d = distance(name, candidate)
    if d <= math.max(1, math.min(3, #candidate // 3)) and (not best_d or d < best_d) then
      best, best_d = candidate, d
    end
  end
  return best
end

-- ---------------------------------------------------------------------------
-- Values.

local function describe(v)
  if type(v) == "string" then return ("string %q"):format(v) end
  return type(v) == "table" and "a table" or (type(v) .. " " .. tostring(v))
end

local function number_text(o, kind)
  local lo, hi = o.min, o.max
  return ("%s from %s to %s"):format(kind, tostring(lo), tostring(hi))
end

--- What a declared option expects, in words.
function M.expects(o)
  local t = o.type
  if t == "integer" then return number_text(o, "an integer") end
  if t == "number" then return number_text(o, "a number") end
  if t == "enum" then return "one of " .. table.concat(o.values, ", ") end
  if t == "boolean" then return "true or false" end
  if t == "region" then return "a region name (a DNS label such as us-west-2)" end
  if t == "endpoint_url" then return "a URL string or a table {service = URL}" end
  if t == "credentials" then
    return "credentials, a provider, or a table {access_key_id, secret_access_key, session_token?}"
  end
  if t == "runtime" then return "a runtime from eksegress.runtime" end
  if t == "headers" then return "a table {name = value} of strings" end
  if t == "string" then return "a string without NUL bytes" end
  return "a " .. t
end

--- Is this a valid region name? (A DNS label, as botocore requires, so a region
-- can never smuggle a host or path into an endpoint.)
function M.valid_region(r)
  return type(r) == "string" and #r <= 63 and r:find("^[%w][%w%-]*$") ~= nil and r:sub(-1) ~= "-"
end

local function plain_string(v) return type(v) == "string" and not v:find("\0", 1, true) end

local function in_range(o, n)
  return (o.min == nil or n >= o.min) and (o.max == nil or n <= o.max)
end

local function is_key_table(v)
  return type(v) == "table" and getmetatable(v) == nil and plain_string(v.access_key_id)
    and v.access_key_id ~= "" and plain_string(v.secret_access_key) and v.secret_access_key ~= ""
    and (v.session_token == nil or plain_string(v.session_token))
    and (v.expiration == nil or type(v.expiration) == "number")
    and (v.account_id == nil or type(v.account_id) == "string")
end
M.is_key_table = is_key_table

local checks = {
  string = plain_string,
  boolean = function(v) return type(v) == "boolean" end,
  integer = function(v, o) return math.type(v) == "integer" and in_range(o, v) end,
  number = function(v, o) return type(v) == "number" and v == v and in_range(o, v) end,
  enum = function(v, o)
    for _, x in ipairs(o.values) do if v == x then return true end end
    return false
  end,
  ["function"] = function(v) return type(v) == "function" end,
  table = function(v) return type(v) == "table" end,
  region = M.valid_region,
  endpoint_url = function(v)
    if plain_string(v) then return true end
    if type(v) ~= "table" then return false end
    for k, u in pairs(v) do
      if type(k) ~= "string" or not plain_string(u) then return false end
    end
    return true
  end,
  credentials = function(v)
    local mt = getmetatable(v)
    if type(v) == "function" then return true end
    if type(v) ~= "table" then return false end
    if mt and mt.__name == "eksegress.credentials" then return true end
    if type(v.resolve) == "function" or type(v.get) == "function" then return true end
    return is_key_table(v)
  end,
  runtime = function(v)
    local mt = getmetatable(v)
    return type(v) == "table" and type(mt) == "table" and mt.__name == "eksegress.runtime"
  end,
  headers = function(v)
    if type(v) ~= "table" then return false end
    for k, x in pairs(v) do
      if not plain_string(k) or not k:find("^[%w!#$%%&'*+%-.^_`|~]+$") or not plain_string(x)
         or x:find("[\r\n]") then
        return false
      end
    end
    return true
  end,
}

--- Is `v` a valid value for the declared option `o`? (Values from code.)
function M.valid(o, v)
  return checks[o.type](v, o) and true or false
end

local function where_is(name)
  local list = {}
  for _, s in ipairs({ C, CALL, PAGE, WAIT, PRESIGN }) do
    if by_scope[s][name] then list[#list + 1] = s end
  end
  return list
end

local SCOPE_WORDS = {
  client = "eksegress.client{...}", call = "client:call/prepare/send",
  paginate = "client:paginate/collect", wait = "client:wait", presign = "client:presign",
}

--- Check the options a caller passed for `scope`. Returns the table (a new
-- empty one for nil). Raises, at `level` above the caller, on anything that
-- is not a table, an unknown name, or an invalid value.
-- @tparam string scope client | call | paginate | wait | presign
-- @tparam any opts the caller's options
-- @tparam string where the function name for messages ("eksegress.client")
-- @tparam[opt] number level as for error() in the caller (default 1: the caller)
function M.check(scope, opts, where, level)
  level = (level or 1) + 1
  if opts == nil then return {} end
  if type(opts) ~= "table" then
    errors.misuse(("%s: options must be a table (got %s)"):format(where, describe(opts)), level)
  end
  local known = by_scope[scope]
  for name, v in pairs(opts) do
    local o = type(name) == "string" and known[name]
    if not o then
      local msg
      if type(name) ~= "string" then
        msg = ("%s: option names are strings (got %s)"):format(where, describe(name))
      elseif M.renamed[name] then
        msg = ("%s: unknown option '%s' (use '%s')"):format(where, name, M.renamed[name])
      else
        local hint = M.suggest(name, scope)
        local elsewhere = where_is(name)
        if hint then
          msg = ("%s: unknown option '%s' (did you mean '%s'?)"):format(where, name, hint)
        elseif #elsewhere > 0 then
          msg = ("%s: '%s' is not an option here; it belongs to %s"):format(where, name,
            SCOPE_WORDS[elsewhere[1]])
        else
          msg = ("%s: unknown option '%s'"):format(where, name)
        end
      end
      errors.misuse(msg, level)
    elseif not checks[o.type](v, o) then
      errors.misuse(("%s: option '%s' must be %s (got %s)"):format(where, name, M.expects(o), describe(v)),
        level)
    elseif o.fields then
      for k in pairs(v) do
        local ok = false
        for _, f in ipairs(o.fields) do if f == k then ok = true end end
        if not ok then
          errors.misuse(("%s: option '%s' has no field '%s' (fields: %s)"):format(where, name, tostring(k),
            table.concat(o.fields, ", ")), level)
        end
      end
    end
  end
  return opts
end

--- The options of `opts` that `scope` accepts, in a new table (for handing a
-- paginate's options on to each call).
function M.subset(opts, scope)
  local known = by_scope[scope]
  local out = {}
  for k, v in pairs(opts or {}) do
    if known[k] then out[k] = v end
  end
  return out
end

--- Parse option `o` from text (an environment variable, a profile key, a
-- command-line flag). `label` names the source for the error message.
-- @treturn[1] the value
-- @treturn[2] nil, err {code = "InvalidConfig"}
function M.parse(o, text, label)
  local function bad()
    return nil, errors.new("InvalidConfig", ("invalid %s %q: expected %s"):format(label, tostring(text),
      M.expects(o)), { option = o.name, source = label })
  end
  if type(text) ~= "string" then
    if checks[o.type](text, o) then return text end
    return bad()
  end
  local t = o.type
  local v
  if t == "integer" then
    v = text:find("^%s*%d+%s*$") and math.tointeger(tonumber(text)) or nil
  elseif t == "number" then
    v = tonumber(text)
  elseif t == "boolean" then
    local l = text:lower()
    if l == "true" then v = true elseif l == "false" then v = false end
  else
    v = text
  end
  if v == nil or not checks[t](v, o) then return bad() end
  return v
end

return M
