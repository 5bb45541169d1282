--- ISO 8601 timestamps to epoch seconds, the same in every time zone.
-- Shared by the credential providers (credentials.util.parse_time) and the XML
-- protocols (protocols.xmltable.to_timestamp), which wrap it with their own rules.
local M = {}

--- Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm),
-- so parsing never depends on the local time zone the way os.time does.
-- Lua's // floors, so y // 400 is already the right era for negative years (the
-- C original's `(y >= 0 ? y : y - 399) / 400` makes up for truncating division).
function M.days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = y // 400
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = (153 * mp + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  return era * 146097 + doe - 719468
end

--- Parse an ISO 8601 / RFC 3339 timestamp with nothing around it
-- ("2026-01-01T00:00:00Z", fractional seconds, "+hh:mm" or "+hhmm" offsets).
-- @return whole epoch seconds (an integer) and the fraction of a second (0 when
--   there is none); or nil and the reason
function M.parse_iso8601(s)
  local y, mo, d, h, mi, sec, rest =
    s:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)[Tt ](%d%d):(%d%d):(%d%d)(.*)$")
  if not y then return nil, "not an ISO 8601 timestamp" end
  y, mo, d, h, mi, sec = tonumber(y), tonumber(mo), tonumber(d), tonumber(h), tonumber(mi), tonumber(sec)
  if mo < 1 or mo > 12 or d < 1 or d > 31 or h > 23 or mi > 59 or sec > 60 then
    return nil, "timestamp out of range"
  end
  local frac = 0
  local f, tz = rest:match("^%.(%d+)(.*)$")
  if f then
    frac = tonumber("0." .. f)
    rest = tz
  end
  local offset = 0
  if rest ~= "Z" and rest ~= "z" and rest ~= "" then
    local sign, oh, om = rest:match("^([+-])(%d%d):?(%d%d)$")
    if not sign then return nil, "bad time zone in timestamp" end
    offset = (tonumber(oh) * 3600 + tonumber(om) * 60) * (sign == "-" and -1 or 1)
  end
  return M.days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset, frac
end

return M
