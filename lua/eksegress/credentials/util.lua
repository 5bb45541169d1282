--- Small helpers shared by the credential providers: errors, env reads,
-- file reads, time parsing, turning an STS result into credentials.
local core = require "eksegress.core"
local errors = require "eksegress.errors"
local secret = require "eksegress.secret"
local timeutil = require "eksegress.timeutil"

local M = {}

--- Error code meaning "this provider is not configured here; try the next one".
M.NOT_FOUND = "CredentialsNotFound"

function M.err(code, message, extra)
  return errors.new(code, message, extra)
end

function M.not_found(message)
  return errors.new(M.NOT_FOUND, message)
end

--- True if err means "not configured" (the chain moves on).
function M.is_not_found(err)
  return type(err) == "table" and err.code == M.NOT_FOUND
end

--- Read an environment variable through an injectable reader; "" counts as
-- unset (eksegress.envvar, where the rule is written once).
M.getenv = require("eksegress.envvar").get

--- The most a token file (web identity, container authorization) may hold:
-- real tokens are a few kilobytes.
M.TOKEN_FILE_MAX = 64 * 1024

--- Read a whole token file: text, or nil, err (FileNotFound, NotARegularFile,
-- FileTooLarge, IoError; see eksegress.core.read_file). A FIFO or a device is
-- refused without blocking.
function M.read_file(path, max_bytes)
  return core.read_file(path, max_bytes or M.TOKEN_FILE_MAX)
end

--- The error for a file a provider could not read: code, "cannot read <what>:
-- <why>" (the core's messages name the path), err.reason the read error's code.
function M.file_error(code, what, path, rerr)
  local why = type(rerr) == "table" and rerr.message or (path .. ": " .. tostring(rerr))
  return errors.new(code, "cannot read " .. what .. ": " .. why,
    { path = path, reason = type(rerr) == "table" and rerr.code or nil })
end

--- Parse a boolean setting ("true"/"false", any case). nil stays nil.
function M.boolean(v)
  if v == nil or type(v) == "boolean" then return v end
  local s = tostring(v):lower()
  if s == "true" then return true end
  if s == "false" then return false end
  return nil, "expected true or false"
end

--- Parse a timestamp into epoch seconds. Accepts a number (epoch seconds, as
-- the JSON protocols send them) or an ISO 8601 / RFC 3339 string
-- ("2026-01-01T00:00:00Z", fractions, "+hh:mm" offsets), surrounding whitespace
-- allowed; a fraction of a second is dropped.
function M.parse_time(v)
  if type(v) == "number" then return v end
  if type(v) ~= "string" then return nil, "timestamp expected" end
  local t, why = timeutil.parse_iso8601(v:match("^%s*(.-)%s*$"))
  if not t then return nil, why end
  return t
end

--- Format epoch seconds as ISO 8601 UTC.
function M.format_time(t)
  return os.date("!%Y-%m-%dT%H:%M:%SZ", math.floor(t))
end

--- The account id inside an ARN ("arn:aws:sts::123456789012:assumed-role/x/y").
function M.account_from_arn(arn)
  if type(arn) ~= "string" then return nil end
  return arn:match("^arn:[^:]*:[^:]*:[^:]*:(%d+):")
end

--- Credentials from an STS AssumeRole* result table (the parsed response,
-- optionally still wrapped in `<Op>Result`). Never echoes the result in errors.
function M.from_sts(result, source, operation)
  if type(result) == "table" and result.Credentials == nil then
    -- tolerate {AssumeRoleResult = {...}} and {AssumeRoleResponse = {AssumeRoleResult = ...}}
    local inner = result[operation .. "Response"] or result
    inner = inner[operation .. "Result"] or inner
    result = inner
  end
  local c = type(result) == "table" and result.Credentials
  if type(c) ~= "table" or type(c.AccessKeyId) ~= "string" or c.AccessKeyId == ""
    or type(c.SecretAccessKey) ~= "string" or c.SecretAccessKey == "" then
    return nil, M.err("InvalidStsResponse", operation .. " returned no usable Credentials block")
  end
  local exp, perr
  if c.Expiration ~= nil then
    exp, perr = M.parse_time(c.Expiration)
    if not exp then
      return nil, M.err("InvalidStsResponse", operation .. " returned a bad Expiration: " .. perr)
    end
  end
  local user = result.AssumedRoleUser
  return secret.credentials{
    access_key_id = c.AccessKeyId,
    secret_access_key = c.SecretAccessKey,
    session_token = c.SessionToken,
    expiration = exp,
    account_id = M.account_from_arn(type(user) == "table" and user.Arn or nil),
    source = source,
  }
end

--- Accept a provider object (with :resolve(ctx)) or a plain function(ctx).
function M.as_provider(p, name)
  if type(p) == "function" then
    return { name = name or "function", resolve = function(_, ctx) return p(ctx) end }
  end
  if type(p) == "table" and type(p.resolve) == "function" then return p end
  error("credentials: provider expected (a function or a table with :resolve)", 3)
end

local Lazy = {}
Lazy.__index = Lazy

--- A provider that builds its real provider on first use, with
-- build(opts) -> provider | nil, err (a failed build is tried again at the next
-- resolve), then keeps asking the same one.
function M.lazy(name, opts, build)
  return setmetatable({ name = name, opts = opts, build = build }, Lazy)
end

function Lazy:resolve(ctx)
  if not self.inner then
    local inner, err = self.build(self.opts)
    if not inner then return nil, err end
    self.inner = inner
  end
  return self.inner:resolve(ctx)
end

return M
