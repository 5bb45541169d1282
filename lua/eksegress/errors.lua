--- Error values shared by every eksegress layer.
--
-- Misuse raises (error()); runtime failures return `nil, err` where `err` is a
-- table with `code` and `message`, and where known `status`, `request_id`,
-- `retryable`, `throttling`, `operation`, `service`. All error tables share one
-- metatable (the C binding's, when it is loaded) so `tostring(err)` reads well.
-- Error messages never carry secrets: callers must not put them there, and
-- `errors.new` refuses nothing, so the rule is enforced by review and by the
-- canary tests.
local M = {}

local ok, core = pcall(require, "eksegress.core")
M.mt = ok and core.error_metatable or {
  __name = "eksegress.error",
  __tostring = function(e)
    local s = tostring(e.code) .. ": " .. tostring(e.message)
    if e.status then s = s .. " (HTTP " .. tostring(e.status) .. ")" end
    if e.request_id then s = s .. " [request " .. tostring(e.request_id) .. "]" end
    return s
  end,
}

--- Create an error table.
-- @tparam string code symbolic code (AWS error code, or one of ours)
-- @tparam string message human-readable text
-- @tparam[opt] table extra more fields (status, request_id, retryable, ...)
function M.new(code, message, extra)
  local e = {}
  if extra then for k, v in pairs(extra) do e[k] = v end end
  e.code = code
  e.message = message
  return setmetatable(e, M.mt)
end

--- True if v is an eksegress error table.
function M.is(v)
  return type(v) == "table" and getmetatable(v) == M.mt
end

-- Codes of errors worth trying again after a pause (besides the ones that
-- say retryable, throttling or a 5xx): lost connections, truncated answers,
-- a cluster not ACTIVE yet after its update.
local TRANSIENT_CODES = { Timeout = true, ConnectionError = true, ConnectionReset = true, HttpError = true,
                          RetryQuotaExceeded = true, ParseError = true, VerifyTimeout = true, CurlError = true }

--- Whether a runtime error is worth trying again later, after a pause: one
-- that outlived the engine's retries (throttling, 5xx, a lost or timed-out
-- connection, an empty retry quota, a truncated answer). A guard refusal,
-- a denial or a bad request never is. The workflows share this verdict (the
-- audit's later passes, migrate's uncertain outcomes).
-- @treturn boolean
function M.transient(err)
  if type(err) ~= "table" or err.guard then return false end
  if err.retryable or err.throttling or err.quota_exhausted then return true end
  if type(err.status) == "number" and err.status >= 500 then return true end
  return TRANSIENT_CODES[err.code] == true
end

--- Raise for misuse: a clear message at the caller's level.
function M.misuse(msg, level)
  error(msg, (level or 1) + 1)
end

return M
