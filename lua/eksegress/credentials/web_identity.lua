--- Web identity (EKS IRSA and other OIDC federation): AssumeRoleWithWebIdentity.
--
-- From the environment (AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN, optional
-- AWS_ROLE_SESSION_NAME) or from a profile (web_identity_token_file, role_arn,
-- role_session_name). The token file is read again at every refresh because
-- the kubelet rotates it; it must be a regular file of at most 64 KiB
-- (credentials.util.read_file). The STS call is unsigned (opts.credentials = nil).
local U = require "eksegress.credentials.util"

local M = {}

local P = {}
P.__index = P

--- A provider for one role and token file.
-- @tparam table opts role_arn, token_file, session_name?, duration_seconds?,
--   region?, read_file? (function(path) -> text | nil, err), now?, source?
function M.new(opts)
  local duration
  if opts.duration_seconds ~= nil then
    duration = math.tointeger(tonumber(opts.duration_seconds))
    if not duration or duration < 900 or duration > 43200 then
      return nil, U.err("InvalidConfig", "web identity duration_seconds must be an integer "
        .. "from 900 to 43200")
    end
  end
  return setmetatable({
    name = opts.source or "web_identity",
    role_arn = opts.role_arn,
    token_file = opts.token_file,
    session_name = opts.session_name,
    duration = duration,
    region = opts.region,
    read_file = opts.read_file or U.read_file,
    now = opts.now or os.time,
  }, P)
end

function P:resolve(ctx)
  if not (ctx and ctx.sts) then
    return nil, U.err("NoStsClient", "web identity credentials need ctx.sts")
  end
  local text, rerr = self.read_file(self.token_file)
  if not text then
    return nil, U.file_error("WebIdentityTokenError", "the web identity token file",
      self.token_file, rerr)
  end
  local token = text:gsub("^%s+", ""):gsub("%s+$", "")
  if token == "" then
    return nil, U.err("WebIdentityTokenError", "web identity token file " .. self.token_file
      .. " is empty")
  end
  local res, serr = ctx.sts("AssumeRoleWithWebIdentity", {
    RoleArn = self.role_arn,
    RoleSessionName = self.session_name or ("eksegress-session-" .. math.floor(self.now())),
    WebIdentityToken = token,
    DurationSeconds = self.duration,
  }, { credentials = nil, region = self.region })
  if not res then
    if type(serr) == "table" then return nil, serr end
    return nil, U.err("AssumeRoleWithWebIdentityFailed", tostring(serr))
  end
  return U.from_sts(res, self.name, "AssumeRoleWithWebIdentity")
end

--- The chain's environment web identity provider (CredentialsNotFound unless
-- AWS_WEB_IDENTITY_TOKEN_FILE is set; AWS_ROLE_ARN is then required).
-- @tparam table opts env, region, read_file, now, session_name
function M.from_env(opts)
  return U.lazy("env_web_identity", opts, function(o)
    local file = U.getenv(o.env, "AWS_WEB_IDENTITY_TOKEN_FILE")
    if not file then return nil, U.not_found("AWS_WEB_IDENTITY_TOKEN_FILE is not set") end
    local arn = U.getenv(o.env, "AWS_ROLE_ARN")
    if not arn then
      return nil, U.err("InvalidConfig",
        "AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not")
    end
    return M.new{
      role_arn = arn, token_file = file,
      session_name = U.getenv(o.env, "AWS_ROLE_SESSION_NAME") or o.session_name,
      region = o.region, read_file = o.read_file, now = o.now, source = "env_web_identity",
    }
  end)
end

return M
