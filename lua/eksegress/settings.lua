--- Client settings resolved like the AWS CLI v2: explicit option > environment
-- variable > the selected profile's property > default.
--
--     local s, err = require("eksegress.settings").resolve{ region = nil, profile = nil }
--     -- s.region, s.profile, s.retry_mode, s.max_attempts, s.ca_bundle, s.timeout_ms, ...
--
-- Which options exist, their types, ranges, environment variables, profile
-- keys and defaults are declared once in eksegress.options (also exported here
-- as `settings.options`); `resolve` produces one field per option declared
-- with `setting = true`, plus:
--   profile: option profile / AWS_PROFILE, AWS_DEFAULT_PROFILE / "default"
--     (s.profile, s.profile_source = "option" | "env" | "default", s.properties)
--   max_attempts: its default follows retry_mode: 5 for legacy, 3 otherwise
--   ca_bundle: "~" expanded
--   rate_burst: defaults to rate_limit (at least 1) when a rate limit is set
--   endpoint_url: as given (see eksegress.endpoints)
--   metadata (IMDS): metadata = { disabled, v1_disabled, endpoint, endpoint_mode, timeout, attempts }
--     / AWS_EC2_METADATA_DISABLED, AWS_EC2_METADATA_V1_DISABLED,
--       AWS_EC2_METADATA_SERVICE_ENDPOINT(_MODE), AWS_METADATA_SERVICE_TIMEOUT,
--       AWS_METADATA_SERVICE_NUM_ATTEMPTS
--     / ec2_metadata_v1_disabled, ec2_metadata_service_endpoint(_mode),
--       metadata_service_timeout (seconds, default 1), metadata_service_num_attempts (default 1)
--
-- An empty environment variable counts as unset (eksegress.envvar). Bad values
-- are errors ({code = "InvalidConfig"} naming the variable, profile key or
-- option, and what is allowed), never silently replaced or clamped. Strict
-- checks of values given in code (misuse raises) are eksegress.options.check,
-- which the client runs first; `resolve` itself also accepts text values.
-- IMDS is never asked for the region here (eksegress.credentials.imds can).
local config = require "eksegress.config"
local errors = require "eksegress.errors"
local envvar = require "eksegress.envvar"
local options = require "eksegress.options"

local M = {}

--- Every declared option (eksegress.options.list).
M.options = options.list

--- Read an environment variable; "" counts as unset (eksegress.envvar.get).
M.getenv = envvar.get

local function invalid(what, value, expected)
  return nil, errors.new("InvalidConfig",
    string.format("invalid %s %q: expected %s", what, tostring(value), expected))
end

-- First non-nil of: option, each env var, the profile property. Returns the
-- value and a label naming where it came from (for error messages).
local function lookup(s, option_value, option_name, env_names, key)
  if option_value ~= nil then return option_value, "option " .. option_name end
  for _, name in ipairs(env_names or {}) do
    local v = envvar.get(s.env, name)
    if v then return v, name end
  end
  if key then
    local v = s.properties[key]
    if v ~= nil and v ~= "" then
      return v, "profile " .. s.profile .. " " .. key
    end
  end
  return nil
end
M.lookup = lookup

local function boolean(v, label)
  if v == nil or type(v) == "boolean" then return v end
  local l = tostring(v):lower()
  if l == "true" then return true end
  if l == "false" then return false end
  return invalid(label, v, "true or false")
end

local function positive_int(v, label)
  if v == nil then return nil end
  local n = math.tointeger(tonumber(v))
  if not n or n < 1 or (type(v) == "string" and not v:find("^%s*%d+%s*$")) then
    return invalid(label, v, "a positive integer")
  end
  return n
end

local function number(v, label)
  if v == nil then return nil end
  local n = tonumber(v)
  if not n or n <= 0 then return invalid(label, v, "a positive number") end
  return n
end

--- Is this a valid region name? (A DNS label, as botocore requires, so a region
-- can never smuggle a host or path into an endpoint.)
M.valid_region = options.valid_region

local DEFAULT_ATTEMPTS = { legacy = 5, standard = 3, adaptive = 3 }

--- IMDS settings from env and profile properties (used by credentials.imds).
-- @treturn table { disabled, v1_disabled, endpoint, timeout_ms, attempts } or nil, err
function M.metadata(env, props, opts)
  opts = opts or {}
  local s = { env = env or os.getenv, properties = props or {}, profile = opts.profile or "?" }
  local out = {}
  local v, label, err
  v, label = lookup(s, opts.disabled, "disabled", { "AWS_EC2_METADATA_DISABLED" }, nil)
  out.disabled, err = boolean(v, label)
  if err then return nil, err end
  out.disabled = out.disabled or false
  v, label = lookup(s, opts.v1_disabled, "v1_disabled", { "AWS_EC2_METADATA_V1_DISABLED" },
    "ec2_metadata_v1_disabled")
  out.v1_disabled, err = boolean(v, label)
  if err then return nil, err end
  out.v1_disabled = out.v1_disabled or false
  v = lookup(s, opts.endpoint, "endpoint", { "AWS_EC2_METADATA_SERVICE_ENDPOINT" },
    "ec2_metadata_service_endpoint")
  if v then
    out.endpoint = tostring(v):gsub("/+$", "")
  else
    v, label = lookup(s, opts.endpoint_mode, "endpoint_mode",
      { "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE" }, "ec2_metadata_service_endpoint_mode")
    local mode = v and tostring(v):lower() or "ipv4"
    if mode == "ipv4" then
      out.endpoint = "http://169.254.169.254"
    elseif mode == "ipv6" then
      out.endpoint = "http://[fd00:ec2::254]"
    else
      return invalid(label, v, "IPv4 or IPv6")
    end
  end
  v, label = lookup(s, opts.timeout, "timeout", { "AWS_METADATA_SERVICE_TIMEOUT" },
    "metadata_service_timeout")
  local t
  t, err = number(v, label)
  if err then return nil, err end
  out.timeout_ms = math.floor((t or 1) * 1000)
  v, label = lookup(s, opts.attempts, "attempts", { "AWS_METADATA_SERVICE_NUM_ATTEMPTS" },
    "metadata_service_num_attempts")
  out.attempts, err = positive_int(v, label)
  if err then return nil, err end
  out.attempts = out.attempts or 1
  return out
end

--- Resolve every setting.
-- @tparam table opts env (function, default os.getenv), profile, endpoint_url,
--   metadata (table of IMDS overrides), config (a view from eksegress.config;
--   else loaded with config_file, credentials_file, read_file, home, platform),
--   and any option declared with `setting = true` in eksegress.options. Other
--   keys are ignored here (the client rejects unknown names before).
-- @treturn[1] table settings
-- @treturn[2] nil, err
function M.resolve(opts)
  opts = opts or {}
  local env = opts.env or os.getenv
  local view, err = opts.config
  if not view then
    view, err = config.load{ env = env, home = opts.home, platform = opts.platform,
      config_file = opts.config_file, credentials_file = opts.credentials_file,
      read_file = opts.read_file }
    if not view then return nil, err end
  end
  local profile, profile_source = config.profile_name{ profile = opts.profile, env = env }
  local props = view:profile(profile)
  if not props then
    if profile_source ~= "default" then
      return nil, errors.new("ProfileNotFound",
        string.format("the config profile (%s) could not be found", profile),
        { profile = profile })
    end
    props = {}
  end

  local s = {
    env = env, config = view, profile = profile, profile_source = profile_source,
    properties = props, endpoint_url = opts.endpoint_url,
  }

  for _, o in ipairs(options.list) do
    if o.setting then
      local v, label = lookup(s, opts[o.name], o.name, o.env, o.profile)
      if v ~= nil then
        if o.type == "region" and not M.valid_region(v) then
          return nil, errors.new("InvalidRegion",
            string.format("invalid region %q (from %s): not a valid host label", tostring(v), label))
        end
        v, err = options.parse(o, v, label)
        if err then return nil, err end
        s[o.name .. "_source"] = label
      end
      if v == nil then v = o.default end
      s[o.name] = v
    end
  end
  s.max_attempts = s.max_attempts or DEFAULT_ATTEMPTS[s.retry_mode]
  if s.ca_bundle then s.ca_bundle = config.expand_home(s.ca_bundle, config.home(env)) end
  if s.rate_limit and not s.rate_burst then s.rate_burst = math.max(1, math.ceil(s.rate_limit)) end

  local md = opts.metadata or {}
  s.metadata, err = M.metadata(env, props, {
    profile = profile, disabled = md.disabled, v1_disabled = md.v1_disabled, endpoint = md.endpoint,
    endpoint_mode = md.endpoint_mode, timeout = md.timeout, attempts = md.attempts,
  })
  if err then return nil, err end
  return s
end

return M
