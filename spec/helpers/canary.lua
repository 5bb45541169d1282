-- The canary secret scan (issue 16, section 4): a unique secret access key
-- and session token, every form they could leak in (raw, JSON-escaped,
-- URL-encoded, base64 and base64url at each of the three byte alignments a
-- longer encoded blob could put them at), and a scan of texts and of every
-- file under a folder.
--
--     local canary = require "helpers.canary"
--     local c = canary.new()                 -- c.secret, c.token, c.akid
--     local hits = canary.scan(c, { ["audit stdout"] = r.stdout })
--     canary.scan_tree(c, dir, hits)          -- appends "path: form of what"
local core = require "eksegress.core"

local M = {}

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

local function b64(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = (a << 16) | ((b or 0) << 8) | (c or 0)
    for j = 3, 0, -1 do
      local k = (n >> (6 * j)) & 63
      out[#out + 1] = B64:sub(k + 1, k + 1)
    end
  end
  local pad = (3 - #s % 3) % 3
  for i = 0, pad - 1 do out[#out - i] = "=" end
  return table.concat(out)
end
M.base64 = b64

-- The base64 characters that depend on `s` alone when it starts `k` bytes
-- into an encoded stream (k = 0, 1, 2): what any longer blob holding s at
-- that alignment must contain.
local function b64_core(s, k)
  local enc = b64(("\0"):rep(k) .. s):gsub("=+$", "")
  local first = ({ [0] = 1, 3, 4 })[k]
  local n = k + #s
  local last = #enc - ((n % 3 == 0) and 0 or 1)
  return enc:sub(first, last)
end

local function pct(s, fmt)
  return (s:gsub("[^%w%-%._~]", function(ch) return fmt:format(ch:byte()) end))
end

--- The forms of a secret a leak could take: {name, needle} pairs.
function M.forms(s)
  local f = {
    { "raw", s },
    { "JSON-escaped", (s:gsub("/", "\\/")) },
    { "URL-encoded", pct(s, "%%%02X") },
    { "URL-encoded (lower case)", pct(s, "%%%02x") },
  }
  -- base64 of the raw value, and of its URL-encoded form (a presigned URL
  -- carries the token URL-encoded; an EKS token is that URL in base64url).
  for _, v in ipairs{ { "", s }, { " of the URL-encoded form", pct(s, "%%%02X") } } do
    for k = 0, 2 do
      local core_ = b64_core(v[2], k)
      f[#f + 1] = { ("base64%s (offset %d)"):format(v[1], k), core_ }
      f[#f + 1] = { ("base64url%s (offset %d)"):format(v[1], k), (core_:gsub("[+/]", { ["+"] = "-", ["/"] = "_" })) }
    end
  end
  return f
end

--- A fresh canary: an access key id, a secret access key and a session
-- token no other run uses (random bytes from the core), each holding the
-- characters that URL and JSON encodings change ('/', '+', '=').
function M.new()
  local hex = core.sha256_hex(core.random_bytes(32))
  local tok = core.sha256_hex(core.random_bytes(32))
  return {
    akid = "ASIACANARY" .. hex:sub(1, 10):upper(),
    secret = "cAnArY/" .. hex:sub(1, 24) .. "+Sec/ret=",
    token = "IQoJb3JpZ2luX2VjCANARY/TOKEN+" .. tok .. "/End+==",
  }
end

--- Scan texts ({label = text}) for every form of the canary's secret and
-- token; appends "label: form of what" to hits (a new list when nil).
function M.scan(c, texts, hits)
  hits = hits or {}
  for label, text in pairs(texts) do
    for what, value in pairs{ ["secret access key"] = c.secret, ["session token"] = c.token } do
      for _, form in ipairs(M.forms(value)) do
        if text:find(form[2], 1, true) then hits[#hits + 1] = ("%s: %s %s"):format(label, form[1], what) end
      end
    end
  end
  return hits
end

--- Every regular file under dir (recursively), scanned. Returns hits and
-- the number of files read.
function M.scan_tree(c, dir, hits)
  hits = hits or {}
  local p = assert(io.popen("find '" .. dir:gsub("'", "'\\''") .. "' -type f"))
  local n = 0
  for path in p:lines() do
    local f = io.open(path, "rb")
    if f then
      local text = f:read("a")
      f:close()
      n = n + 1
      M.scan(c, { [path] = text }, hits)
    end
  end
  p:close()
  return hits, n
end

return M
