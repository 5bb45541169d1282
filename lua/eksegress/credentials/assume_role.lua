--- Assume-role profiles: `role_arn` with `source_profile` (possibly a chain of
-- roles) or `credential_source` (Environment | Ec2InstanceMetadata | EcsContainer).
--
-- Follows botocore's AssumeRoleProvider:
-- * exactly one of source_profile / credential_source, else an error;
-- * the source profile must exist;
-- * a source profile that holds static keys (or no role) supplies its own
--   credentials (its role_arn, if any, is then ignored); one with a role is
--   assumed first, recursively;
-- * visiting a profile twice is an InfiniteLoop error, except a profile that
--   names itself as source_profile and holds static keys: those keys are the
--   base and the role is assumed once;
-- * STS AssumeRole with RoleArn, RoleSessionName (role_session_name, else
--   "eksegress-session-<unix time>"), ExternalId, SerialNumber + TokenCode
--   (mfa_serial; the code comes from opts.mfa_token(serial, profile)),
--   DurationSeconds (duration_seconds).
-- Each source's credentials sit in their own refreshing cache, so a chain
-- re-assumes only the links that are about to expire.
local U = require "eksegress.credentials.util"
local cache = require "eksegress.credentials.cache"
local profile = require "eksegress.credentials.profile_plain"

local M = {}

local P = {}
P.__index = P

local function nonempty(v)
  if v == nil or v == "" then return nil end
  return v
end

local SOURCES = {
  Environment = function(opts)
    local env = require "eksegress.credentials.env"
    return env.new{ env = opts.env }
  end,
  Ec2InstanceMetadata = function(opts)
    local imds = require "eksegress.credentials.imds"
    return imds.new{ env = opts.env, metadata = opts.metadata, now = opts.now }
  end,
  EcsContainer = function(opts)
    local container = require "eksegress.credentials.container"
    return container.new{ env = opts.env, read_file = opts.read_file }
  end,
}

-- The credential_source provider must find credentials: "not found" from it
-- is a configuration error here, not a reason to try something else.
local function required(provider, what)
  return {
    name = provider.name,
    resolve = function(_, ctx)
      local c, err = provider:resolve(ctx)
      if not c and U.is_not_found(err) then
        return nil, U.err("InvalidConfig", what .. ": " .. err.message)
      end
      return c, err
    end,
  }
end

local function loop_error(visited, again)
  local path = table.concat(visited, " -> ") .. " -> " .. again
  return nil, U.err("InfiniteLoop", "infinite loop in profile config: " .. path,
    { profiles = visited })
end

--- Build the provider for role profile `name`.
-- @tparam string name a profile with role_arn
-- @tparam table opts see eksegress.credentials.profile
-- @tparam[opt] table visited profile names already on the path (internal)
-- @treturn[1] provider
-- @treturn[2] nil, err (InvalidConfig, PartialCredentials, InfiniteLoop, ...)
function M.new(name, opts, visited)
  local view = opts.config
  local props = view:profile(name)
  if not props then return nil, U.not_found("profile " .. name .. " does not exist") end
  visited = visited or { name }
  local role_arn = nonempty(props.role_arn)
  local sp, cs = nonempty(props.source_profile), nonempty(props.credential_source)
  if sp and cs then
    return nil, U.err("InvalidConfig", "profile " .. name
      .. " contains both source_profile and credential_source")
  end
  if not sp and not cs then
    return nil, U.err("PartialCredentials", "profile " .. name
      .. " has role_arn but neither source_profile nor credential_source")
  end

  local duration
  if nonempty(props.duration_seconds) then
    duration = math.tointeger(tonumber(props.duration_seconds))
    if not duration or duration < 900 or duration > 43200 then
      return nil, U.err("InvalidConfig", "profile " .. name
        .. ": duration_seconds must be an integer from 900 to 43200")
    end
  end

  local source, err
  if cs then
    local make = SOURCES[cs]
    if not make then
      return nil, U.err("InvalidConfig", string.format(
        "credential_source %q in profile %s is not valid (use Environment, "
        .. "Ec2InstanceMetadata or EcsContainer)", cs, name))
    end
    source = required(make(opts), "credential_source " .. cs .. " of profile " .. name)
  else
    local sprops = view:profile(sp)
    if not sprops then
      return nil, U.err("InvalidConfig", string.format(
        "the source_profile %q referenced in profile %s does not exist", sp, name))
    end
    for _, v in ipairs(visited) do
      if v == sp then
        -- Only a profile naming itself, with static keys, may come back.
        if sp ~= name or not profile.has_static(sprops) then return loop_error(visited, sp) end
      end
    end
    local path = { table.unpack(visited) }
    path[#path + 1] = sp
    if sp == name or profile.has_static(sprops) or not profile.is_role(sprops) then
      source, err = profile.plain_provider(sp, opts)
      if not source then
        if U.is_not_found(err) then
          return nil, U.err("InvalidConfig", "the source profile " .. sp .. " must have credentials")
        end
        return nil, err
      end
    else
      source, err = M.new(sp, opts, path)
      if not source then return nil, err end
    end
  end

  return setmetatable({
    name = "assume_role",
    profile = name,
    role_arn = role_arn,
    session_name = nonempty(props.role_session_name) or opts.session_name,
    external_id = nonempty(props.external_id),
    mfa_serial = nonempty(props.mfa_serial),
    duration = duration,
    region = opts.region,
    mfa_token = opts.mfa_token,
    now = opts.now or os.time,
    source = cache.new(source, { now = opts.now, advisory = (opts.refresh or {}).advisory,
      mandatory = (opts.refresh or {}).mandatory }),
  }, P)
end

function P:resolve(ctx)
  if not (ctx and ctx.sts) then
    return nil, U.err("NoStsClient", "assuming a role needs ctx.sts")
  end
  local base, err = self.source:get(ctx)
  if not base then return nil, err end
  local params = {
    RoleArn = self.role_arn,
    RoleSessionName = self.session_name or ("eksegress-session-" .. math.floor(self.now())),
    ExternalId = self.external_id,
    DurationSeconds = self.duration,
  }
  if self.mfa_serial then
    local code = self.mfa_token and self.mfa_token(self.mfa_serial, self.profile)
    if not code then
      return nil, U.err("MfaRequired", "profile " .. self.profile .. " needs an MFA code for "
        .. self.mfa_serial .. " (pass mfa_token = function(serial, profile) ... end)")
    end
    params.SerialNumber, params.TokenCode = self.mfa_serial, tostring(code)
  end
  local res, serr = ctx.sts("AssumeRole", params, { credentials = base, region = self.region })
  if not res then
    local e = U.err(type(serr) == "table" and serr.code or "AssumeRoleFailed",
      "assuming " .. self.role_arn .. " for profile " .. self.profile .. " failed: "
      .. (type(serr) == "table" and tostring(serr.message) or tostring(serr)),
      type(serr) == "table" and { status = serr.status, request_id = serr.request_id,
        retryable = serr.retryable, throttling = serr.throttling } or nil)
    return nil, e
  end
  return U.from_sts(res, "assume_role", "AssumeRole")
end

return M
