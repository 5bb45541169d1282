--- Base64 (RFC 4648): standard and URL-safe alphabets, with or without
-- padding. Pure Lua; used for EKS tokens and for decoding certificate data.
local M = {}

local STD = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

local function encode(s, alphabet, pad)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = (a << 16) | ((b or 0) << 8) | (c or 0)
    local q = {
      alphabet:sub((n >> 18) + 1, (n >> 18) + 1),
      alphabet:sub(((n >> 12) & 63) + 1, ((n >> 12) & 63) + 1),
      b and alphabet:sub(((n >> 6) & 63) + 1, ((n >> 6) & 63) + 1) or (pad and "=" or ""),
      c and alphabet:sub((n & 63) + 1, (n & 63) + 1) or (pad and "=" or ""),
    }
    out[#out + 1] = table.concat(q)
  end
  return table.concat(out)
end

--- Standard base64 with padding.
function M.encode(s) return encode(s, STD, true) end

--- URL-safe base64 without padding (RFC 4648 §5, as `base64.RawURLEncoding`).
function M.encode_url(s) return encode(s, URL, false) end

local DECODE = {}
for i = 1, 64 do
  DECODE[STD:byte(i)] = i - 1
  DECODE[URL:byte(i)] = i - 1
end

--- Decode either alphabet, padding optional, whitespace ignored.
-- @treturn string, or nil, message for a character outside the alphabet or
--   a length no encoder produces
function M.decode(s)
  s = s:gsub("%s", ""):gsub("=+$", "")
  if #s % 4 == 1 then return nil, "invalid base64 length" end
  local out = {}
  for i = 1, #s, 4 do
    local n, k = 0, 0
    for j = i, math.min(i + 3, #s) do
      local v = DECODE[s:byte(j)]
      if not v then return nil, ("invalid base64 character %q"):format(s:sub(j, j)) end
      n = (n << 6) | v
      k = k + 1
    end
    n = n << (6 * (4 - k))
    local bytes = string.char((n >> 16) & 255, (n >> 8) & 255, n & 255)
    out[#out + 1] = bytes:sub(1, k - 1)
  end
  return table.concat(out)
end

return M
