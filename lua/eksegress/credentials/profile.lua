--- Credentials from the selected profile of the shared files.
--
-- For a profile, the first that applies (botocore's order, which the AWS CLI v2
-- follows):
--   1. role_arn (without web_identity_token_file): assume the role; its base
--      credentials come from source_profile or credential_source
--      (eksegress.credentials.assume_role);
--   2. web_identity_token_file + role_arn: AssumeRoleWithWebIdentity;
--   3. sso_session / sso_start_url: not supported, a clear error;
--   4. static keys in the credentials file;
--   5. credential_process;
--   6. static keys in the config file.
-- Steps 2-6 are also how a source_profile's own credentials are found
-- (eksegress.credentials.profile_plain).
--
-- Options shared by every provider built here (`opts`): env, config (a view
-- from eksegress.config), profile, profile_source, region, read_file, run,
-- now, session_name, mfa_token, metadata, refresh (cache options).
local assume_role = require "eksegress.credentials.assume_role"
local plain = require "eksegress.credentials.profile_plain"
local U = require "eksegress.credentials.util"

local M = {}

--- The provider for a profile (steps 1-6).
function M.for_profile(name, opts)
  local props = opts.config:profile(name)
  if props and plain.is_role(props) then return assume_role.new(name, opts) end
  return plain.plain_provider(name, opts)
end

--- The chain's profile provider: builds the selected profile's provider on
-- first use, then keeps asking the same one.
function M.new(opts)
  return U.lazy("profile", opts, function(o)
    local name = o.profile or "default"
    if not o.config:profile(name) then
      return nil, U.not_found("profile " .. name .. " is not in the shared files")
    end
    return M.for_profile(name, o)
  end)
end

return M
