--- A refreshing cache in front of a credential provider.
--
--     local c = cache.new(provider, { now = os.time, advisory = 15 * 60, mandatory = 10 * 60 })
--     local creds, err = c:get(ctx)
--
-- Rules (botocore's RefreshableCredentials):
-- * Credentials without an expiration are kept for good.
-- * Less than `advisory` seconds left: refresh; if that fails, keep using the
--   current credentials (they are still valid) and try again later.
-- * Less than `mandatory` seconds left (or expired): refresh; a failure is
--   returned to the caller.
-- * After a refresh (or a failed advisory one) no new refresh starts for
--   `min_interval` seconds unless the credentials have actually expired, so a
--   provider that hands out short-lived credentials cannot cause a storm.
--
-- Concurrency: one refresh at a time. A coroutine calling :get() while another
-- coroutine's refresh is suspended (inside ctx.sts / ctx.http) does not start
-- its own: in the advisory window it gets the current credentials at once,
-- otherwise it waits for the refresh in flight and shares its result. Waiting
-- means `ctx.wait(flight)` when the ctx provides it (the refresher then calls
-- `ctx.wake(flight)` when done), else `coroutine.yield(cache.WAIT)` in a loop
-- until the flight is done: a scheduler that sees WAIT just resumes the
-- coroutine later. Outside any coroutine a caller cannot wait, so it refreshes
-- on its own.
local U = require "eksegress.credentials.util"
local errors = require "eksegress.errors"
local secret = require "eksegress.secret"

local M = {}

--- Check what a provider handed back: credentials pass; a plain key table
-- { access_key_id, secret_access_key, session_token?, ... } is wrapped (so no
-- raw copy is kept); anything else is an error naming the provider, never an
-- "attempt to index" deep inside the client.
-- @treturn[1] credentials
-- @treturn[2] nil, err {code = "ProviderError"}
function M.check_result(c, name)
  if secret.is_credentials(c) then return c end
  if type(c) == "table" and getmetatable(c) == nil and type(c.access_key_id) == "string"
     and c.access_key_id ~= "" and type(c.secret_access_key) == "string" and c.secret_access_key ~= ""
     and (c.session_token == nil or type(c.session_token) == "string")
     and (c.expiration == nil or type(c.expiration) == "number") then
    return secret.credentials{
      access_key_id = c.access_key_id, secret_access_key = c.secret_access_key,
      session_token = c.session_token, expiration = c.expiration,
      account_id = type(c.account_id) == "string" and c.account_id or nil, source = name,
    }
  end
  local what = type(c) == "table" and "a table without access_key_id and secret_access_key" or type(c)
  return nil, U.err("ProviderError", ("credential provider %s returned %s; expected credentials "
    .. "(eksegress.secret.credentials) or a table {access_key_id, secret_access_key, session_token?}")
    :format(tostring(name), what))
end

--- The value a waiting coroutine yields when the ctx has no `wait` function.
M.WAIT = setmetatable({}, {
  __name = "eksegress.credentials.WAIT",
  __tostring = function() return "eksegress.credentials.WAIT" end,
})

local Cache = {}
Cache.__index = Cache

--- Wrap a provider (object with :resolve(ctx), or function(ctx)).
-- @tparam table opts now (function -> epoch seconds), advisory (s, default 900),
--   mandatory (s, default 600), min_interval (s, default 30), ctx (default ctx for :get())
function M.new(provider, opts)
  opts = opts or {}
  provider = U.as_provider(provider)
  return setmetatable({
    name = provider.name or "provider",
    provider = provider,
    now = opts.now or os.time,
    advisory = opts.advisory or 15 * 60,
    mandatory = opts.mandatory or 10 * 60,
    min_interval = opts.min_interval or 30,
    ctx = opts.ctx,
    current = nil,      -- the credentials handed out
    flight = nil,       -- { done, creds, err } while a refresh runs
    last_attempt = nil, -- when the last refresh finished (success or advisory failure)
    refreshes = 0,      -- how many times the provider was asked (for tests and stats)
  }, Cache)
end

-- "none" | "advisory" | "mandatory"
function Cache:need(now)
  local c = self.current
  if not c then return "mandatory" end
  if not c.expiration then return "none" end
  local left = c.expiration - now
  if left <= 0 then return "mandatory" end
  local recent = self.last_attempt ~= nil and now - self.last_attempt < self.min_interval
  if left <= self.mandatory then return recent and "none" or "mandatory" end
  if left <= self.advisory then return recent and "none" or "advisory" end
  return "none"
end

local function wait_for(f, ctx)
  repeat
    if ctx and ctx.wait then ctx.wait(f) else coroutine.yield(M.WAIT) end
  until f.done
  if f.creds then return f.creds end
  return nil, f.err
end

function Cache:refresh(ctx, need)
  local f = { done = false }
  local own = self.flight == nil
  if own then self.flight = f end
  self.refreshes = self.refreshes + 1
  local ok, creds, err = pcall(self.provider.resolve, self.provider, ctx)
  if own then self.flight = nil end
  local raised
  if not ok then
    raised = creds
    creds, err = nil, errors.is(raised) and raised
      or U.err("ProviderError", "credential provider " .. self.name .. " failed: " .. tostring(raised))
  elseif not creds and not err then
    err = U.err("ProviderError", "credential provider " .. self.name .. " returned nothing")
  elseif creds then
    creds, err = M.check_result(creds, self.name)
  end
  local after = self.now()
  local result, rerr = creds, err
  if creds then
    self.current, self.last_attempt = creds, after
  elseif need == "advisory" and self.current and self.current:expires_in(after) > 0 then
    -- Advisory refresh failed: the current credentials are still good.
    self.last_attempt = after
    result, rerr = self.current, nil
  end
  f.done, f.creds, f.err = true, result, rerr
  if own and ctx and ctx.wake then ctx.wake(f) end
  if raised ~= nil then error(raised, 0) end
  return result, rerr
end

--- Credentials, refreshed as needed; or nil, err.
function Cache:get(ctx)
  ctx = ctx or self.ctx
  local need = self:need(self.now())
  if need == "none" then return self.current end
  local f = self.flight
  if f then
    if need == "advisory" then return self.current end
    if coroutine.isyieldable() then return wait_for(f, ctx) end
  end
  return self:refresh(ctx, need)
end

--- A cache is a provider too.
function Cache:resolve(ctx)
  return self:get(ctx)
end

--- Forget the current credentials (e.g. after the service said they expired).
-- With `stale` (the credentials the service refused), only if they are still
-- the current ones: a refresh another task made meanwhile is kept.
function Cache:invalidate(stale)
  if stale and self.current and self.current.access_key_id ~= stale.access_key_id then return end
  self.current = nil
  self.last_attempt = nil
end

return M
