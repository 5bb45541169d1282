--- The credentials a profile holds itself: steps 2-6 of
-- eksegress.credentials.profile (web identity, the SSO refusal, static keys in
-- the credentials file, credential_process, static keys in the config file).
-- This is also how a source_profile's own credentials are found, so
-- eksegress.credentials.assume_role builds on this module, and
-- eksegress.credentials.profile (which sends role profiles to assume_role) on
-- both: no require cycle.
--
-- Options (`opts`): env, config (a view from eksegress.config), region,
-- read_file, run, now, session_name.
local secret = require "eksegress.secret"
local U = require "eksegress.credentials.util"

local M = {}

local function nonempty(v)
  if v == nil or v == "" then return nil end
  return v
end

-- A secret property (wrapped by eksegress.config views) as a plain string.
local function revealed(v)
  return nonempty(secret.reveal(v))
end

--- Does a property table hold (part of) a static key pair?
function M.has_static(props)
  return nonempty(props.aws_access_key_id) ~= nil or revealed(props.aws_secret_access_key) ~= nil
end

--- Static credentials from a property table.
-- @treturn[1] credentials
-- @treturn[2] nil, err (CredentialsNotFound if no keys; PartialCredentials if one is missing)
function M.static(props, name, where)
  local akid, sk = nonempty(props.aws_access_key_id), revealed(props.aws_secret_access_key)
  if not akid and not sk then
    return nil, U.not_found("profile " .. name .. " has no static keys")
  end
  if not akid or not sk then
    return nil, U.err("PartialCredentials", string.format(
      "profile %s%s has %s but not %s", name, where and (" (" .. where .. " file)") or "",
      akid and "aws_access_key_id" or "aws_secret_access_key",
      akid and "aws_secret_access_key" or "aws_access_key_id"))
  end
  local exp
  if nonempty(props.aws_credential_expiration) then
    local why
    exp, why = U.parse_time(props.aws_credential_expiration)
    if not exp then
      return nil, U.err("InvalidConfig", "profile " .. name .. " aws_credential_expiration: " .. why)
    end
  end
  return secret.credentials{
    access_key_id = akid,
    secret_access_key = sk,
    session_token = revealed(props.aws_session_token) or revealed(props.aws_security_token),
    expiration = exp,
    account_id = nonempty(props.aws_account_id),
    source = "profile",
  }
end

-- A provider that always returns the same credentials.
local function fixed(creds, name)
  return { name = name, resolve = function() return creds end }
end

-- A provider of the static keys profile `name` holds in one file ("config" or
-- "credentials"); nil when it holds none there; nil, err for a partial pair.
local function static_in(view, kind, name)
  local props = view:profile_in(kind, name)
  if not (props and M.has_static(props)) then return nil end
  local c, err = M.static(props, name, kind)
  if not c then return nil, err end
  return fixed(c, "profile")
end

local function is_sso(props)
  return nonempty(props.sso_session) or nonempty(props.sso_start_url)
    or nonempty(props.sso_account_id) or nonempty(props.sso_role_name)
end

--- The provider for a profile's own credentials, ignoring a role_arn that has
-- no web_identity_token_file (steps 2-6 of eksegress.credentials.profile).
-- @treturn[1] provider
-- @treturn[2] nil, err (CredentialsNotFound when the profile holds no credentials)
function M.plain_provider(name, opts)
  local view = opts.config
  local props = view:profile(name)
  if not props then return nil, U.not_found("profile " .. name .. " does not exist") end

  if nonempty(props.web_identity_token_file) then
    if not nonempty(props.role_arn) then
      return nil, U.err("InvalidConfig", "profile " .. name
        .. " has web_identity_token_file but no role_arn")
    end
    local web_identity = require "eksegress.credentials.web_identity"
    return web_identity.new{
      role_arn = props.role_arn,
      token_file = props.web_identity_token_file,
      session_name = nonempty(props.role_session_name) or opts.session_name,
      duration_seconds = nonempty(props.duration_seconds),
      region = opts.region, read_file = opts.read_file, now = opts.now,
      source = "profile_web_identity",
    }
  end

  if is_sso(props) then
    return nil, U.err("UnsupportedCredentialSource", string.format(
      "profile %s uses IAM Identity Center (SSO), which eksegress does not support; "
      .. "export temporary keys first, e.g. `aws configure export-credentials --profile %s "
      .. "--format env`", name, name))
  end

  local p, err = static_in(view, "credentials", name)
  if p or err then return p, err end

  if nonempty(props.credential_process) then
    local process = require "eksegress.credentials.process"
    return process.new{ command = props.credential_process, profile = name, run = opts.run }
  end

  p, err = static_in(view, "config", name)
  if p or err then return p, err end
  return nil, U.not_found("profile " .. name .. " holds no credentials")
end

--- Does this profile assume a role with source_profile/credential_source?
function M.is_role(props)
  return nonempty(props.role_arn) ~= nil and nonempty(props.web_identity_token_file) == nil
end

return M
