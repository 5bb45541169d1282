--- The default credential provider chain.
--
--     local credentials = require "eksegress.credentials"
--     local provider, err = credentials.default{ profile = nil, region = "us-west-2" }
--     local creds, err = provider:get(ctx)      -- ctx = { http = ..., sts = ... }
--
-- Order (AWS CLI v2 / aws-c-auth default chain):
--   1. explicit credentials given to the client (opts.credentials): nothing else
--      is consulted;
--   2. environment: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN
--      (a partial pair is an error);
--   3. the selected profile: assume-role chains, web identity, credential_process,
--      static keys (eksegress.credentials.profile);
--   4. web identity from AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN;
--   5. container credentials if AWS_CONTAINER_CREDENTIALS_* is set; otherwise
--   6. IMDSv2 (unless AWS_EC2_METADATA_DISABLED=true).
--
-- Profile versus environment keys, as in the AWS CLI v2 (botocore
-- create_credential_resolver): a profile chosen explicitly by the caller
-- (the `profile` option, i.e. `--profile`) removes step 2, so the profile's
-- credentials are used even when AWS_ACCESS_KEY_ID is set; a profile chosen by
-- AWS_PROFILE does not, so environment keys still win over it.
--
-- A provider answering CredentialsNotFound passes to the next one; any other
-- error stops the chain (a configured source that fails must not be papered
-- over by another identity). The provider that answered first is remembered and
-- asked again at each refresh.
--
-- Network providers never do HTTP themselves: they call ctx.http{method, url,
-- headers = {{name, value}, ...}, body, timeout_ms} -> {status, headers, body}
-- | nil, err and ctx.sts(action, params, {credentials = creds | nil, region})
-- -> result table | nil, err, both supplied by the client.
local secret = require "eksegress.secret"
local settings = require "eksegress.settings"
local U = require "eksegress.credentials.util"
local cache = require "eksegress.credentials.cache"
local env_provider = require "eksegress.credentials.env"
local profile = require "eksegress.credentials.profile"
local web_identity = require "eksegress.credentials.web_identity"
local container = require "eksegress.credentials.container"
local imds = require "eksegress.credentials.imds"

local M = {}

M.cache = cache.new
M.WAIT = cache.WAIT
M.credentials = secret.credentials
M.is_credentials = secret.is_credentials
M.is_not_found = U.is_not_found
M.NOT_FOUND = U.NOT_FOUND

--- Check what a provider handed back (eksegress.credentials.cache.check_result).
M.check_result = cache.check_result

local function is_provider(p)
  return type(p) == "function"
    or (type(p) == "table" and (type(p.resolve) == "function" or type(p.get) == "function"))
end

-- A provider object for anything with :resolve, :get or a function.
local function as_provider(p, name)
  if type(p) == "table" and type(p.resolve) ~= "function" and type(p.get) == "function" then
    return { name = p.name or name, resolve = function(_, ctx) return p:get(ctx) end }
  end
  return U.as_provider(p, name)
end

--- A provider returning fixed credentials: a credentials object, or a table
-- { access_key_id, secret_access_key, session_token?, expiration?, account_id? }.
function M.static(c)
  if not secret.is_credentials(c) then
    c = secret.credentials{
      access_key_id = c.access_key_id, secret_access_key = c.secret_access_key,
      session_token = c.session_token, expiration = c.expiration,
      account_id = c.account_id, source = "explicit",
    }
  end
  return { name = "explicit", resolve = function() return c end }
end

local Chain = {}
Chain.__index = Chain

--- Build the chain.
-- @tparam table opts credentials (explicit: a credentials object, a key table,
--   or a provider), settings (from eksegress.settings.resolve; otherwise resolved
--   here from the same opts: env, profile, region, config, config_file, ...),
--   read_file, run (credential_process runner), now, role_session_name,
--   mfa_token (function(serial, profile) -> code), refresh (cache options for
--   role sources: advisory, mandatory), providers (replace the list; tests)
-- @treturn[1] chain provider with :resolve(ctx)
-- @treturn[2] nil, err (bad config files or settings)
function M.chain(opts)
  opts = opts or {}
  local s, err = opts.settings
  if not s then
    s, err = settings.resolve(opts)
    if not s then return nil, err end
  end
  local shared = {
    env = s.env, config = s.config, profile = s.profile, profile_source = s.profile_source,
    region = s.region, metadata = s.metadata, read_file = opts.read_file, run = opts.run,
    now = opts.now, session_name = opts.role_session_name, mfa_token = opts.mfa_token,
    refresh = opts.refresh,
  }
  local list = opts.providers
  if not list then
    local explicit = opts.credentials
    if explicit ~= nil then
      if is_provider(explicit) then
        list = { as_provider(explicit, "explicit") }
      else
        list = { M.static(explicit) }
      end
    else
      list = {}
      -- See the module comment: an explicit profile option drops env keys.
      if s.profile_source ~= "option" then list[#list + 1] = env_provider.new(shared) end
      list[#list + 1] = profile.new(shared)
      list[#list + 1] = web_identity.from_env(shared)
      local c = container.new(shared)
      if c:configured() then
        list[#list + 1] = c
      else
        local i, ierr = imds.new(shared)
        if not i then return nil, ierr end
        list[#list + 1] = i
      end
    end
  end
  return setmetatable({ name = "chain", providers = list, settings = s }, Chain)
end

function Chain:resolve(ctx)
  if self.active then
    local c, err = self.active:resolve(ctx)
    if not c then return nil, err end
    return M.check_result(c, self.active.name)
  end
  local tried = {}
  for _, p in ipairs(self.providers) do
    local c, err = p:resolve(ctx)
    if c then
      self.active = p
      return M.check_result(c, p.name)
    end
    if not U.is_not_found(err) then return nil, err end
    tried[#tried + 1] = p.name .. ": " .. tostring(err and err.message)
  end
  return nil, U.not_found("unable to locate credentials (" .. table.concat(tried, "; ") .. ")")
end

--- The name of the provider that supplied credentials (nil before the first).
function Chain:source()
  return self.active and self.active.name
end

--- The default chain behind a refreshing cache.
-- @tparam table opts as for chain, plus now/advisory/mandatory/min_interval/ctx
--   for the cache
-- @treturn[1] cache with :get(ctx)
-- @treturn[2] nil, err
function M.default(opts)
  opts = opts or {}
  local chain, err = M.chain(opts)
  if not chain then return nil, err end
  return cache.new(chain, { now = opts.now, advisory = opts.advisory, mandatory = opts.mandatory,
    min_interval = opts.min_interval, ctx = opts.ctx })
end

--- The client's entry point: the provider a client uses, behind a cache.
-- @tparam table opts the client options (credentials, read_file, run, now,
--   role_session_name, mfa_token, refresh, advisory, mandatory, min_interval)
-- @tparam table s settings from eksegress.settings.resolve
-- @tparam table ctx { http = ..., sts = ... } used for every refresh
-- @treturn[1] cache with :get(ctx)
-- @treturn[2] nil, err
function M.provider_for(opts, s, ctx)
  local o = {}
  for k, v in pairs(opts or {}) do o[k] = v end
  o.settings, o.ctx = s, ctx
  return M.default(o)
end

--- Credentials from anything that can give them: a credentials object (returned
-- as is), a cache (:get), a provider (:resolve) or a function(ctx).
-- @treturn[1] credentials
-- @treturn[2] nil, err
function M.resolve(p, ctx)
  if secret.is_credentials(p) then return p end
  local c, err
  if type(p) == "table" and type(p.get) == "function" then
    c, err = p:get(ctx)
  elseif type(p) == "table" and type(p.resolve) == "function" then
    c, err = p:resolve(ctx)
  elseif type(p) == "function" then
    c, err = p(ctx)
  elseif type(p) == "table" and p.access_key_id then
    return M.check_result(p, "explicit")
  else
    return nil, U.err("NoCredentials", "no credentials provider")
  end
  if c == nil then return nil, err or U.err("ProviderError", "credential provider returned nothing") end
  return M.check_result(c, type(p) == "table" and p.name or "function")
end

return M
