--- Credentials from environment variables:
-- AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, and optionally AWS_SESSION_TOKEN
-- (or the legacy AWS_SECURITY_TOKEN), AWS_CREDENTIAL_EXPIRATION, AWS_ACCOUNT_ID.
-- Only one of the key pair set is an error ("PartialCredentials"), not a
-- silent fall-through to the next provider.
local secret = require "eksegress.secret"
local U = require "eksegress.credentials.util"

local M = {}

local P = {}
P.__index = P

--- Read credentials from `env` (a function name -> value, default os.getenv).
-- @treturn[1] credentials
-- @treturn[2] nil, err (code CredentialsNotFound when nothing is set)
function M.read(env, source)
  local akid = U.getenv(env, "AWS_ACCESS_KEY_ID")
  local sk = U.getenv(env, "AWS_SECRET_ACCESS_KEY")
  if not akid and not sk then
    return nil, U.not_found("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set")
  end
  if not akid or not sk then
    return nil, U.err("PartialCredentials", (akid and "AWS_SECRET_ACCESS_KEY" or "AWS_ACCESS_KEY_ID")
      .. " is not set but " .. (akid and "AWS_ACCESS_KEY_ID" or "AWS_SECRET_ACCESS_KEY") .. " is")
  end
  local exp
  local raw = U.getenv(env, "AWS_CREDENTIAL_EXPIRATION")
  if raw then
    local why
    exp, why = U.parse_time(raw)
    if not exp then
      return nil, U.err("InvalidConfig", "AWS_CREDENTIAL_EXPIRATION: " .. why)
    end
  end
  return secret.credentials{
    access_key_id = akid,
    secret_access_key = sk,
    session_token = U.getenv(env, "AWS_SESSION_TOKEN") or U.getenv(env, "AWS_SECURITY_TOKEN"),
    expiration = exp,
    account_id = U.getenv(env, "AWS_ACCOUNT_ID"),
    source = source or "env",
  }
end

--- A provider over the environment.
-- @tparam[opt] table opts env (function)
function M.new(opts)
  opts = opts or {}
  return setmetatable({ name = "env", env = opts.env or os.getenv }, P)
end

function P:resolve()
  -- Re-read each time: the cache only asks again when credentials that carry
  -- an AWS_CREDENTIAL_EXPIRATION are about to expire.
  return M.read(self.env, "env")
end

return M
