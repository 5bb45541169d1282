--- How eksegress holds secrets (secret access keys, session tokens, bearer tokens).
--
-- A secret never lives in a field of a table that user code can see. It is kept
-- in `vault`, a weak-keyed table local to this module, keyed by the object that
-- owns it. So `tostring`, `pairs`, `cjson.encode`, error messages and logs that
-- walk an object cannot reach it; only the one explicit accessor can
-- (`creds:unwrap()` for credentials, `s:reveal()` for a single secret), and the
-- only caller meant to use them is the code handing values to the C engine.
-- (The debug library can reach anything; that is outside this threat model.)
--
--     local secret = require "eksegress.secret"
--     local c = secret.credentials{ access_key_id = "AKIA...", secret_access_key = "...",
--                                   session_token = nil, expiration = 1767225600,
--                                   account_id = "123456789012", source = "env" }
--     tostring(c)          --> Credentials(AKIA****WXYZ, source=env, expires=2026-01-01T00:00:00Z)
--     local akid, sk, token = c:unwrap()
local M = {}

-- object -> { secret_access_key = ..., session_token = ... } or { value = ... }
local vault = setmetatable({}, { __mode = "k" })

--- Mask an access key id: the first and last four characters stay visible.
-- Short or missing ids mask completely.
function M.mask(id)
  if type(id) ~= "string" or #id < 12 then return "****" end
  return id:sub(1, 4) .. "****" .. id:sub(-4)
end

local function iso(t)
  return os.date("!%Y-%m-%dT%H:%M:%SZ", math.floor(t))
end

-- ---------------------------------------------------------------------------
-- A single secret value (web identity token, container authorization token).

local Secret = { __name = "eksegress.secret" }
Secret.__index = Secret
Secret.__tostring = function() return "<redacted>" end

--- Wrap one secret string. Returns nil for nil.
function M.wrap(value)
  if value == nil then return nil end
  if type(value) ~= "string" then error("secret.wrap: string expected", 2) end
  local s = setmetatable({}, Secret)
  vault[s] = { value = value }
  return s
end

--- The wrapped string.
function Secret:reveal()
  return vault[self].value
end

--- True if v is a secret made by `wrap`.
function M.is_secret(v)
  return getmetatable(v) == Secret and vault[v] ~= nil
end

--- The string inside a wrapped secret; any other value is returned unchanged.
function M.reveal(v)
  if M.is_secret(v) then return vault[v].value end
  return v
end

-- ---------------------------------------------------------------------------
-- Credentials.

local Credentials = { __name = "eksegress.credentials" }
Credentials.__index = Credentials

function Credentials.__tostring(c)
  local s = "Credentials(" .. M.mask(c.access_key_id) .. ", source=" .. tostring(c.source)
  if c.expiration then s = s .. ", expires=" .. iso(c.expiration) end
  return s .. ")"
end

--- access_key_id, secret_access_key, session_token (nil when absent).
-- The one way to read the secrets; meant only for the signer/engine hand-off.
function Credentials:unwrap()
  local v = vault[self]
  return self.access_key_id, v.secret_access_key, v.session_token
end

--- True if the credentials carry a session token (temporary credentials).
function Credentials:has_session_token()
  return vault[self].session_token ~= nil
end

--- Seconds until expiry at `now` (math.huge when they never expire).
function Credentials:expires_in(now)
  if not self.expiration then return math.huge end
  return self.expiration - now
end

--- The masked access key id, for messages.
function Credentials:masked()
  return M.mask(self.access_key_id)
end

--- Build a credentials object. Misuse (missing or mistyped fields) raises;
-- providers validate external input before calling this.
-- @tparam table f access_key_id, secret_access_key, session_token?, expiration?
--   (epoch seconds), account_id?, source?
function M.credentials(f)
  if type(f) ~= "table" then error("secret.credentials: table expected", 2) end
  if type(f.access_key_id) ~= "string" or f.access_key_id == "" then
    error("secret.credentials: access_key_id must be a non-empty string", 2)
  end
  if type(f.secret_access_key) ~= "string" or f.secret_access_key == "" then
    error("secret.credentials: secret_access_key must be a non-empty string", 2)
  end
  local token = f.session_token
  if token == "" then token = nil end
  if token ~= nil and type(token) ~= "string" then
    error("secret.credentials: session_token must be a string", 2)
  end
  if f.expiration ~= nil and type(f.expiration) ~= "number" then
    error("secret.credentials: expiration must be epoch seconds", 2)
  end
  local c = setmetatable({
    access_key_id = f.access_key_id,
    expiration = f.expiration,
    account_id = f.account_id ~= "" and f.account_id or nil,
    source = f.source or "static",
  }, Credentials)
  vault[c] = { secret_access_key = f.secret_access_key, session_token = token }
  return c
end

--- True if v is a credentials object made by this module.
function M.is_credentials(v)
  return getmetatable(v) == Credentials and vault[v] ~= nil
end

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

local function base64(data)
  local out = {}
  for i = 1, #data, 3 do
    local a, b, c = data:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local chars = 2 + (b and 1 or 0) + (c and 1 or 0)
    for k = 1, chars do
      local idx = (n >> (6 * (4 - k))) & 63
      out[#out + 1] = B64:sub(idx + 1, idx + 1)
    end
  end
  return table.concat(out)
end

-- The text of `s` in a base64 stream, for each of the three alignments it can
-- have there: only the characters that depend on s alone (the first and last
-- ones mix in the neighbouring bytes), in the standard and URL-safe alphabets.
local function base64_forms(s, out)
  for pad = 0, 2 do
    local enc = base64(("\0"):rep(pad) .. s)
    local first = ({ 1, 3, 4 })[pad + 1]          -- skip characters touching the pad bytes
    local last = #enc - (((pad + #s) % 3 == 0) and 0 or 1)
    local core = enc:sub(first, last)
    if #core >= 4 then
      out[#out + 1] = core
      out[#out + 1] = (core:gsub("[+/]", { ["+"] = "-", ["/"] = "_" }))
    end
  end
end

-- Percent-encoded forms: every byte outside A-Z a-z 0-9 - . _ ~ (and, for
-- form encoding, a space as '+'), in upper- and lower-case hex.
local function percent_forms(s, out)
  for _, fmt in ipairs({ "%%%02X", "%%%02x" }) do
    local enc = s:gsub("[^%w%-%._~]", function(c) return fmt:format(c:byte()) end)
    if enc ~= s then
      out[#out + 1] = enc
      local form = s:gsub("[^%w%-%._~ ]", function(c) return fmt:format(c:byte()) end):gsub(" ", "+")
      if form ~= enc then out[#out + 1] = form end
    end
  end
end

local function replace_all(text, s)
  local out, pos = {}, 1
  while true do
    local a, b = text:find(s, pos, true)
    if not a then break end
    out[#out + 1] = text:sub(pos, a - 1)
    out[#out + 1] = "<redacted>"
    pos = b + 1
  end
  if pos == 1 then return text end
  out[#out + 1] = text:sub(pos)
  return table.concat(out)
end

--- Replace every occurrence of the secrets held by the given credentials or
-- secret objects (or plain strings) in `text` with "<redacted>": as they are,
-- percent-encoded (as in a URL or a form) and base64-encoded (standard or
-- URL-safe, at any alignment in a longer stream). A last line of defence for
-- text that came from outside (a process's stderr, a server's error message).
-- Secrets shorter than 4 bytes are left alone (they would match anywhere).
function M.scrub(text, ...)
  if type(text) ~= "string" then return text end
  local values = {}
  for i = 1, select("#", ...) do
    local o = select(i, ...)
    local v = type(o) == "table" and vault[o]
    if v then
      values[#values + 1] = v.secret_access_key
      values[#values + 1] = v.session_token
      values[#values + 1] = v.value
    elseif type(o) == "string" then
      values[#values + 1] = o
    end
  end
  local forms = {}
  for _, s in pairs(values) do
    if #s >= 4 then
      forms[#forms + 1] = s
      percent_forms(s, forms)
      base64_forms(s, forms)
    end
  end
  -- Longest first, so a form containing another is replaced whole.
  table.sort(forms, function(a, b) return #a > #b end)
  for _, f in ipairs(forms) do text = replace_all(text, f) end
  return text
end

return M
