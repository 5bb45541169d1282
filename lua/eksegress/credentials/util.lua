--- Small helpers shared by the credential providers: errors, env reads,
-- file reads, time parsing, turning an STS result into credentials.
local errors = require "eksegress.errors"
local secret = require "eksegress.secret"

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

--- Read an environment variable through an injectable reader; "" counts as unset.
function M.getenv(env, name)
  local v = (env or os.getenv)(name)
  if v == "" then return nil end
  return v
end

--- Read a whole file: text, or nil, err (err.missing = true when it does not exist).
function M.read_file(path)
  local f, msg, code = io.open(path, "rb")
  if not f then
    return nil, errors.new("FileError", msg or path, { path = path, missing = code == 2 })
  end
  local text, rerr = f:read("a")
  f:close()
  if not text then
    return nil, errors.new("FileError", path .. ": " .. tostring(rerr), { path = path })
  end
  return text
end

--- Parse a boolean setting ("true"/"false", any case). nil stays nil.
function M.boolean(v)
  if v == nil or type(v) == "boolean" then return v end
  local s = tostring(v):lower()
  if s == "true" then return true end
  if s == "false" then return false end
  return nil, "expected true or false"
end

-- Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm),
-- so parsing never depends on the local time zone the way os.time does.
local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = y // 400
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = (153 * mp + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  return era * 146097 + doe - 719468
end

--- Parse a timestamp into epoch seconds. Accepts a number (epoch seconds, as
-- the JSON protocols send them) or an ISO 8601 / RFC 3339 string
-- ("2026-01-01T00:00:00Z", fractions, "+hh:mm" offsets).
function M.parse_time(v)
  if type(v) == "number" then return v end
  if type(v) ~= "string" then return nil, "timestamp expected" end
  local y, mo, d, h, mi, s, rest =
    v:match("^%s*(%d%d%d%d)%-(%d%d)%-(%d%d)[Tt ](%d%d):(%d%d):(%d%d)(.-)%s*$")
  if not y then return nil, "not an ISO 8601 timestamp" end
  y, mo, d, h, mi, s = tonumber(y), tonumber(mo), tonumber(d), tonumber(h), tonumber(mi), tonumber(s)
  if mo < 1 or mo > 12 or d < 1 or d > 31 or h > 23 or mi > 59 or s > 60 then
    return nil, "timestamp out of range"
  end
  local frac = rest:match("^%.(%d+)")
  if frac then rest = rest:sub(#frac + 2) end
  local offset = 0
  if rest ~= "Z" and rest ~= "z" and rest ~= "" then
    local sign, oh, om = rest:match("^([+-])(%d%d):?(%d%d)$")
    if not sign then return nil, "bad time zone in timestamp" end
    offset = (tonumber(oh) * 3600 + tonumber(om) * 60) * (sign == "+" and 1 or -1)
  end
  return days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - offset
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

return M
