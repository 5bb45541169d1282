--- Where each service's requests go.
--
--     local e, err = endpoints.resolve("eks", settings)   -- settings from eksegress.settings
--     -- e.url = "https://eks.us-west-2.amazonaws.com", e.signing_region, e.signing_name,
--     -- e.partition, e.scheme, e.host, e.port, e.path, e.source
--
-- Order (AWS SDKs "service-specific endpoints"):
--   1. the explicit `endpoint_url` option (a string for every service, or a
--      table { eks = url, sts = url, ... });
--   2. AWS_ENDPOINT_URL_<SERVICE> (EKS, EC2, IAM, STS, ORGANIZATIONS: the model's
--      endpoint_env, by default its upper-cased name);
--   3. AWS_ENDPOINT_URL;
--   4. the profile's `services = NAME` section: `[services NAME]` / `eks =` /
--      `  endpoint_url = ...`;
--   5. the profile's `endpoint_url`;
--   6. the partition's default host (FIPS variant if use_fips_endpoint).
-- 2-5 are skipped when ignore_configured_endpoint_urls is true.
--
-- A configured URL is signed for the client's region (as botocore does). Plain
-- `http` is refused unless the host is a loopback address (127.0.0.0/8, ::1,
-- localhost) or the caller passed allow_http = true: credentials must not
-- travel in clear text by accident.
--
-- What varies by service comes from its model (eksegress.services.model lists
-- the fields): endpoint_prefix, signing_name, global + global_endpoints,
-- fips_endpoints, endpoint_env. Nothing here names a service except STS's
-- legacy global endpoint, which is a setting about STS (sts_regional_endpoints).
local errors = require "eksegress.errors"
local services = require "eksegress.services"

local M = {}

-- Partitions (botocore endpoints.json / partitions.json).
local PARTITIONS = {
  {
    name = "aws", dns = "amazonaws.com",
    match = function(r)
      for _, p in ipairs{ "us", "eu", "ap", "sa", "ca", "me", "af", "il", "mx" } do
        if r:find("^" .. p .. "%-%w+%-%d+$") then return true end
      end
      return false
    end,
  },
  {
    name = "aws-cn", dns = "amazonaws.com.cn",
    match = function(r) return r:find("^cn%-%w+%-%d+$") ~= nil end,
  },
  {
    name = "aws-us-gov", dns = "amazonaws.com",
    match = function(r) return r:find("^us%-gov%-%w+%-%d+$") ~= nil end,
  },
}

-- The model of a supported service; raises for anything else (misuse).
local function service_model(service)
  local svc = type(service) == "string" and services.get(service)
  if not svc then error("endpoints: unknown service " .. tostring(service), 3) end
  return svc
end

-- Regions that used sts.amazonaws.com under sts_regional_endpoints = legacy
-- (botocore _LEGACY_GLOBAL_STS_REGIONS).
local LEGACY_STS = {}
for _, r in ipairs{ "ap-northeast-1", "ap-south-1", "ap-southeast-1", "ap-southeast-2",
                    "aws-global", "ca-central-1", "eu-central-1", "eu-north-1", "eu-west-1",
                    "eu-west-2", "eu-west-3", "sa-east-1", "us-east-1", "us-east-2",
                    "us-west-1", "us-west-2" } do
  LEGACY_STS[r] = true
end

-- "" counts as unset: the one rule, in eksegress.envvar.
local getenv = require("eksegress.envvar").get

--- The partition of a region: aws, aws-cn or aws-us-gov (unknown names that
-- are not an isolated partition fall back to aws, as botocore does).
function M.partition(region)
  if region:find("^us%-iso") or region:find("^eu%-iso") then
    return nil, errors.new("UnsupportedPartition",
      "region " .. region .. " is in an isolated partition, which eksegress does not support")
  end
  for _, p in ipairs(PARTITIONS) do
    if p.match(region) then return p end
  end
  return PARTITIONS[1]
end

-- ---------------------------------------------------------------------------
-- URLs.

local function valid_ipv4(h)
  local a, b, c, d = h:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  if not a then return nil end
  for _, o in ipairs{ a, b, c, d } do
    if #o > 3 or tonumber(o) > 255 then return nil end
  end
  return tonumber(a)
end

--- Is host (no brackets) a loopback address: 127.0.0.0/8, ::1 or localhost?
function M.is_loopback(host)
  host = host:lower()
  if host == "localhost" or host == "::1" or host == "0:0:0:0:0:0:0:1" then return true end
  return valid_ipv4(host) == 127
end

--- Parse and check an endpoint URL.
-- @tparam string url
-- @tparam[opt] table opts allow_http (plain http to any host)
-- @treturn[1] table { url, scheme, host, port, path } (host lower-case, without
--   brackets; port nil if absent; path without trailing "/"; url rebuilt)
-- @treturn[2] nil, err (code "InvalidEndpoint" or "InsecureEndpoint")
function M.parse_url(url, opts)
  opts = opts or {}
  local function bad(why)
    return nil, errors.new("InvalidEndpoint",
      string.format("invalid endpoint URL %q: %s", tostring(url), why))
  end
  if type(url) ~= "string" then return bad("not a string") end
  if url:find("[%s%c]") then return bad("contains whitespace or control characters") end
  local scheme, authority, path = url:match("^(%a[%w+.-]*)://([^/?#]*)(.*)$")
  if not scheme then return bad("expected scheme://host") end
  scheme = scheme:lower()
  if scheme ~= "http" and scheme ~= "https" then return bad("scheme must be http or https") end
  if authority:find("@", 1, true) then return bad("user information is not allowed") end
  if path:find("[?#]") then return bad("query and fragment are not allowed") end
  local host, port
  if authority:sub(1, 1) == "[" then
    local h, rest = authority:match("^%[([%x:%.]+)%](.*)$")
    if not h then return bad("bad IPv6 literal") end
    host, port = h, rest:match("^:(%d+)$")
    if rest ~= "" and not port then return bad("bad port") end
  else
    host, port = authority:match("^([^:]*):(%d+)$")
    if not host then
      if authority:find(":", 1, true) then return bad("bad port") end
      host = authority
    end
    if not host:find("^[%w][%w%-%._]*$") then return bad("bad host") end
  end
  if host == "" then return bad("missing host") end
  host = host:lower()
  if port then
    port = tonumber(port)
    if port < 1 or port > 65535 then return bad("port out of range") end
  end
  path = path:gsub("/+$", "")
  if scheme == "http" and not opts.allow_http and not M.is_loopback(host) then
    return nil, errors.new("InsecureEndpoint", string.format(
      "refusing plain http to %s: only loopback addresses may use http "
      .. "(pass allow_http = true to override)", host))
  end
  local shown = host:find(":", 1, true) and ("[" .. host .. "]") or host
  return {
    url = scheme .. "://" .. shown .. (port and (":" .. port) or "") .. path,
    scheme = scheme, host = host, port = port, path = path,
  }
end

-- ---------------------------------------------------------------------------
-- Resolution.

--- The configured endpoint URL for a service, or nil. Returns url, source.
function M.configured_url(service, s)
  local svc = service_model(service)
  local opt = s.endpoint_url
  if type(opt) == "table" then opt = opt[service] end
  if opt then return opt, "option" end
  if s.ignore_configured_endpoint_urls then return nil end
  local var = "AWS_ENDPOINT_URL_" .. (svc.endpoint_env or svc.name:upper())
  local v = getenv(s.env, var)
  if v then return v, var end
  v = getenv(s.env, "AWS_ENDPOINT_URL")
  if v then return v, "AWS_ENDPOINT_URL" end
  local props = s.properties or {}
  if props.services and s.config then
    local sec = s.config:services_section(props.services)
    local entry = sec and sec[service]
    if entry and entry.endpoint_url and entry.endpoint_url ~= "" then
      return entry.endpoint_url, "services"
    end
  end
  if props.endpoint_url and props.endpoint_url ~= "" then return props.endpoint_url, "profile" end
  return nil
end

local function expand(pattern, service, region, dns)
  return (pattern:gsub("{service}", service):gsub("{region}", region):gsub("{dns}", dns))
end

--- The default endpoint of a service in a region.
-- @tparam string service a supported service name (eksegress.services.names())
-- @tparam string|nil region
-- @tparam[opt] table opts use_fips_endpoint, sts_regional_endpoints
function M.default(service, region, opts)
  opts = opts or {}
  local svc = service_model(service)
  local fips = opts.use_fips_endpoint
  if not region then
    if not svc.global then
      return nil, errors.new("NoRegion", "no region configured for " .. service
        .. " (set region, AWS_REGION or the profile's region)")
    end
    region = "us-east-1"
  end
  local host, signing_region, part
  if service == "sts" and region == "aws-global" then
    host = fips and "sts-fips.us-east-1.amazonaws.com" or "sts.amazonaws.com"
    part, signing_region = PARTITIONS[1], "us-east-1"
  else
    local err
    part, err = M.partition(region)
    if not part then return nil, err end
    if svc.global then
      local g = svc.global_endpoints[part.name]
      if g then
        if fips then host = g.fips_hostname else host = g.hostname end
      end
      if not host then
        return nil, errors.new("EndpointNotFound", "no " .. (fips and "FIPS " or "") .. "endpoint for "
          .. service .. " in partition " .. part.name)
      end
      signing_region = g.region
    elseif service == "sts" and not fips and opts.sts_regional_endpoints == "legacy"
        and LEGACY_STS[region] then
      host, signing_region = "sts.amazonaws.com", "us-east-1"
    else
      local pattern = "{service}.{region}.{dns}"
      if fips then
        pattern = (svc.fips_endpoints or {})[part.name] or "{service}-fips.{region}.{dns}"
      end
      host, signing_region = expand(pattern, svc.endpoint_prefix, region, part.dns), region
    end
  end
  return {
    url = "https://" .. host, scheme = "https", host = host, path = "",
    signing_region = signing_region, signing_name = svc.signing_name,
    partition = part.name, source = "default",
  }
end

--- Resolve the endpoint of a service from resolved settings.
--
--     endpoints.resolve("eks", settings)
--     endpoints.resolve(svc, region, settings, { allow_http = true })  -- also accepted
--
-- @param service a supported service name, or a service definition table with
--   a `name` field (misuse raises for anything else)
-- @tparam table s settings (eksegress.settings.resolve) or a table with the same
--   fields: region, env, properties, config, endpoint_url, use_fips_endpoint,
--   sts_regional_endpoints, ignore_configured_endpoint_urls, allow_http.
--   In the four-argument form, `region` and `opts.allow_http` override the
--   settings' own.
-- @tparam[opt] table settings_ in the four-argument form, the settings (the
--   second argument is then the region)
-- @tparam[opt] table opts in the four-argument form: allow_http
-- @treturn[1] table { url, scheme, host, port, path, signing_region,
--   signing_name, partition, source }
-- @treturn[2] nil, err (NoRegion, InvalidRegion, InvalidEndpoint,
--   InsecureEndpoint, UnsupportedPartition, EndpointNotFound)
function M.resolve(service, s, settings_, opts)
  if type(service) == "table" then service = service.name end
  if type(s) ~= "table" then
    opts = opts or {}
    local base = settings_ or {}
    s = setmetatable({ region = s, allow_http = opts.allow_http or base.allow_http },
      { __index = base })
  end
  local svc = service_model(service)
  if s.region ~= nil and not (type(s.region) == "string" and s.region:find("^[%w][%w%-]*$")) then
    return nil, errors.new("InvalidRegion", "invalid region " .. tostring(s.region))
  end
  local url, source = M.configured_url(service, s)
  if url then
    local p, err = M.parse_url(url, { allow_http = s.allow_http })
    if not p then
      err.message = err.message .. " (from " .. source .. ")"
      return nil, err
    end
    local region = s.region
    local part = region and M.partition(region)
    if not region then
      if not svc.global then
        return nil, errors.new("NoRegion", "no region configured for " .. service
          .. " (needed to sign requests to " .. p.url .. ")")
      end
      region = "us-east-1"
    end
    p.signing_region, p.signing_name = region, svc.signing_name
    p.partition, p.source = part and part.name or "aws", source
    return p
  end
  return M.default(service, s.region, s)
end

return M
