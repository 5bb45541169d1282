--- Client settings resolved like the AWS CLI v2: explicit option > environment
-- variable > the selected profile's property > default.
--
--     local s, err = require("eksegress.settings").resolve{ region = nil, profile = nil }
--     -- s.region, s.profile, s.retry_mode, s.max_attempts, s.ca_bundle, ...
--
-- Each setting: option name / environment variables / profile key / default.
--   profile: profile / AWS_PROFILE, AWS_DEFAULT_PROFILE / - / "default"
--   region: region / AWS_REGION, AWS_DEFAULT_REGION / region / nil
--   retry_mode: retry_mode / AWS_RETRY_MODE / retry_mode / "standard"
--   max_attempts: max_attempts / AWS_MAX_ATTEMPTS / max_attempts / 5 (legacy), 3 (otherwise)
--   ca_bundle: ca_bundle / AWS_CA_BUNDLE / ca_bundle / nil ("~" expanded)
--   sts_regional_endpoints: (same) / AWS_STS_REGIONAL_ENDPOINTS / (same) / "regional"
--   use_fips_endpoint: (same) / AWS_USE_FIPS_ENDPOINT / (same) / false
--   ignore_configured_endpoint_urls: (same) / AWS_IGNORE_CONFIGURED_ENDPOINT_URLS / (same) / false
--   endpoint_url: a string or { service = url } / see eksegress.endpoints
--   metadata (IMDS): metadata = { disabled, v1_disabled, endpoint, endpoint_mode, timeout, attempts }
--     / AWS_EC2_METADATA_DISABLED, AWS_EC2_METADATA_V1_DISABLED,
--       AWS_EC2_METADATA_SERVICE_ENDPOINT(_MODE), AWS_METADATA_SERVICE_TIMEOUT,
--       AWS_METADATA_SERVICE_NUM_ATTEMPTS
--     / ec2_metadata_v1_disabled, ec2_metadata_service_endpoint(_mode),
--       metadata_service_timeout (seconds, default 1), metadata_service_num_attempts (default 1)
--
-- Bad values are errors ({code = "InvalidConfig"}), never silently replaced.
-- IMDS is never asked for the region here; `region_from_imds` does it on request.
local config = require "eksegress.config"
local errors = require "eksegress.errors"

local M = {}

local function getenv(env, name)
  local v = env(name)
  if v == "" then return nil end
  return v
end

local function invalid(what, value, expected)
  return nil, errors.new("InvalidConfig",
    string.format("invalid %s %q: expected %s", what, tostring(value), expected))
end

-- First non-nil of: option, each env var, the profile property. Returns the
-- value and a label naming where it came from (for error messages).
local function lookup(s, option_value, option_name, env_names, key)
  if option_value ~= nil then return option_value, "option " .. option_name end
  for _, name in ipairs(env_names) do
    local v = getenv(s.env, name)
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
function M.valid_region(r)
  return type(r) == "string" and #r <= 63
    and r:find("^[%w][%w%-]*$") ~= nil and r:sub(-1) ~= "-"
end

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
-- @tparam table opts env (function, default os.getenv), profile, region, retry_mode,
--   max_attempts, ca_bundle, endpoint_url, sts_regional_endpoints, use_fips_endpoint,
--   ignore_configured_endpoint_urls, allow_http, metadata (table of IMDS overrides),
--   config (a view from eksegress.config; else loaded with config_file,
--   credentials_file, read_file, home, platform)
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
    properties = props, allow_http = opts.allow_http or false,
    endpoint_url = opts.endpoint_url,
  }

  local v, label
  v, label = lookup(s, opts.region, "region", { "AWS_REGION", "AWS_DEFAULT_REGION" }, "region")
  if v ~= nil and not M.valid_region(v) then
    return nil, errors.new("InvalidRegion",
      string.format("invalid region %q (from %s): not a valid host label", tostring(v), label))
  end
  s.region, s.region_source = v, label

  v, label = lookup(s, opts.retry_mode, "retry_mode", { "AWS_RETRY_MODE" }, "retry_mode")
  if v ~= nil and not DEFAULT_ATTEMPTS[v] then
    return invalid(label, v, "legacy, standard or adaptive")
  end
  s.retry_mode = v or "standard"

  v, label = lookup(s, opts.max_attempts, "max_attempts", { "AWS_MAX_ATTEMPTS" }, "max_attempts")
  s.max_attempts, err = positive_int(v, label)
  if err then return nil, err end
  s.max_attempts = s.max_attempts or DEFAULT_ATTEMPTS[s.retry_mode]

  s.ca_bundle = lookup(s, opts.ca_bundle, "ca_bundle", { "AWS_CA_BUNDLE" }, "ca_bundle")
  if s.ca_bundle then s.ca_bundle = config.expand_home(s.ca_bundle, config.home(env)) end

  v, label = lookup(s, opts.sts_regional_endpoints, "sts_regional_endpoints",
    { "AWS_STS_REGIONAL_ENDPOINTS" }, "sts_regional_endpoints")
  if v ~= nil and v ~= "regional" and v ~= "legacy" then
    return invalid(label, v, "regional or legacy")
  end
  s.sts_regional_endpoints = v or "regional"

  v, label = lookup(s, opts.use_fips_endpoint, "use_fips_endpoint", { "AWS_USE_FIPS_ENDPOINT" },
    "use_fips_endpoint")
  s.use_fips_endpoint, err = boolean(v, label)
  if err then return nil, err end
  s.use_fips_endpoint = s.use_fips_endpoint or false

  v, label = lookup(s, opts.ignore_configured_endpoint_urls, "ignore_configured_endpoint_urls",
    { "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS" }, "ignore_configured_endpoint_urls")
  s.ignore_configured_endpoint_urls, err = boolean(v, label)
  if err then return nil, err end
  s.ignore_configured_endpoint_urls = s.ignore_configured_endpoint_urls or false

  s.metadata, err = M.metadata(env, props, {
    profile = profile,
    disabled = (opts.metadata or {}).disabled,
    v1_disabled = (opts.metadata or {}).v1_disabled,
    endpoint = (opts.metadata or {}).endpoint,
    endpoint_mode = (opts.metadata or {}).endpoint_mode,
    timeout = (opts.metadata or {}).timeout,
    attempts = (opts.metadata or {}).attempts,
  })
  if err then return nil, err end
  return s
end

--- Ask IMDS for the region (only when the caller wants it).
-- @param s settings from resolve
-- @param ctx { http = function } as for eksegress.credentials
function M.region_from_imds(s, ctx)
  local imds = require "eksegress.credentials.imds"
  local p = imds.new{ metadata = s.metadata, env = s.env }
  return p:region(ctx)
end

return M
