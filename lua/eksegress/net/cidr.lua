--- IPv4 and IPv6 prefixes (CIDR blocks): parsing, containment, overlap, subtraction
-- and coverage. Pure Lua; the preflight's route, NACL and security group logic and
-- the reach listing build on it.
--
--     local cidr = require "eksegress.net.cidr"
--     local vpc = assert(cidr.parse("10.20.0.0/16"))
--     cidr.contains(assert(cidr.parse("0.0.0.0/0")), vpc)        --> true
--     cidr.covers({ "0.0.0.0/1", "128.0.0.0/1" }, "0.0.0.0/0")     --> true
--
-- A prefix is `{ family = 4|6, len = 0..32|0..128, words = {16-bit integers} }`
-- (2 words for IPv4, 8 for IPv6), with host bits cleared. Sixteen-bit words keep
-- IPv4 and IPv6 on one code path without 128-bit arithmetic. Functions that take a
-- prefix also take its text form. Parsing failures return nil, message.
local M = {}

local WORD = 16
local WORDS = { [4] = 2, [6] = 8 }
local BITS = { [4] = 32, [6] = 128 }

local function parse_v4_words(s)
  local a, b, c, d = s:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  if not a then return nil end
  local o = { tonumber(a), tonumber(b), tonumber(c), tonumber(d) }
  for i = 1, 4 do
    -- Leading zeros are refused: some parsers read them as octal, EC2 never prints them.
    local text = ({ a, b, c, d })[i]
    if o[i] > 255 or (#text > 1 and text:sub(1, 1) == "0") then return nil end
  end
  return { o[1] * 256 + o[2], o[3] * 256 + o[4] }
end

local function parse_groups(part, out)
  if part == "" then return true end
  for g in (part .. ":"):gmatch("([^:]*):") do
    if not g:match("^%x%x?%x?%x?$") then return false end
    out[#out + 1] = tonumber(g, 16)
  end
  return true
end

local function parse_v6_words(s)
  if #s > 45 then return nil end
  -- An embedded IPv4 tail ("::ffff:192.0.2.1") counts as the last two words.
  local head, v4 = s:match("^(.*:)(%d+%.%d+%.%d+%.%d+)$")
  local tail4
  if head then
    tail4 = parse_v4_words(v4)
    if not tail4 then return nil end
    s = head .. "0:0"
  end
  local left, right = s, nil
  local dc = s:find("::", 1, true)
  if dc then
    if s:find("::", dc + 1, true) then return nil end
    left, right = s:sub(1, dc - 1), s:sub(dc + 2)
  end
  local lw, rw = {}, {}
  if not parse_groups(left, lw) then return nil end
  if right and not parse_groups(right, rw) then return nil end
  local words
  if right then
    if #lw + #rw > 7 then return nil end
    words = {}
    for _, w in ipairs(lw) do words[#words + 1] = w end
    for _ = 1, 8 - #lw - #rw do words[#words + 1] = 0 end
    for _, w in ipairs(rw) do words[#words + 1] = w end
  else
    if #lw ~= 8 then return nil end
    words = lw
  end
  if tail4 then words[7], words[8] = tail4[1], tail4[2] end
  return words
end

local function mask_words(words, len)
  local out = {}
  for i, w in ipairs(words) do
    local first = (i - 1) * WORD
    if len >= first + WORD then
      out[i] = w
    elseif len <= first then
      out[i] = 0
    else
      local keep = len - first
      out[i] = w & (((1 << keep) - 1) << (WORD - keep))
    end
  end
  return out
end

local function make(family, words, len)
  return { family = family, len = len, words = mask_words(words, len) }
end

--- Parse "a.b.c.d/n", "x:y::z/n", or a bare address (a /32 or /128).
-- Host bits are cleared, as EC2 does when it stores a block.
-- @return prefix, or nil, message
function M.parse(text)
  if type(text) ~= "string" then return nil, "not a string" end
  local addr, len = text:match("^([^/]+)/(%d+)$")
  if not addr then addr = text end
  local family, words
  if addr:find(":", 1, true) then
    family, words = 6, parse_v6_words(addr)
  else
    family, words = 4, parse_v4_words(addr)
  end
  if not words then return nil, ("%q is not an IPv%d address"):format(addr, family) end
  local n = len and tonumber(len) or BITS[family]
  if n > BITS[family] or (len and #len > 1 and len:sub(1, 1) == "0") then
    return nil, ("%q has an invalid prefix length"):format(text)
  end
  return make(family, words, n)
end

local function coerce(p)
  if type(p) == "table" then return p end
  local v, err = M.parse(p)
  if not v then error("eksegress.net.cidr: " .. tostring(err), 3) end
  return v
end

--- The text form: dotted quad for IPv4, RFC 5952 (lowercase, longest zero run
-- compressed) for IPv6.
function M.tostring(p)
  p = coerce(p)
  local w = p.words
  if p.family == 4 then
    return ("%d.%d.%d.%d/%d"):format(w[1] >> 8, w[1] & 255, w[2] >> 8, w[2] & 255, p.len)
  end
  local best_at, best_n, at, n = nil, 1, nil, 0
  for i = 1, 9 do
    if i <= 8 and w[i] == 0 then
      if not at then at = i end
      n = n + 1
    else
      if at and n > best_n then best_at, best_n = at, n end
      at, n = nil, 0
    end
  end
  local function hex(from, to)
    local parts = {}
    for i = from, to do parts[#parts + 1] = ("%x"):format(w[i]) end
    return table.concat(parts, ":")
  end
  if not best_at then return hex(1, 8) .. "/" .. p.len end
  return hex(1, best_at - 1) .. "::" .. hex(best_at + best_n, 8) .. "/" .. p.len
end

--- True if a and b are the same prefix.
function M.equal(a, b)
  a, b = coerce(a), coerce(b)
  if a.family ~= b.family or a.len ~= b.len then return false end
  for i = 1, WORDS[a.family] do
    if a.words[i] ~= b.words[i] then return false end
  end
  return true
end

--- True if every address of b is in a (same family only).
function M.contains(a, b)
  a, b = coerce(a), coerce(b)
  if a.family ~= b.family or a.len > b.len then return false end
  local masked = mask_words(b.words, a.len)
  for i = 1, WORDS[a.family] do
    if masked[i] ~= a.words[i] then return false end
  end
  return true
end

--- True if a and b share at least one address.
function M.overlaps(a, b)
  a, b = coerce(a), coerce(b)
  return M.contains(a, b) or M.contains(b, a)
end

local function flip_bit(words, i)
  local out = {}
  for k, w in ipairs(words) do out[k] = w end
  local k = i // WORD + 1
  out[k] = out[k] ~ (1 << (WORD - 1 - i % WORD))
  return out
end

--- a minus b, as a list of disjoint prefixes (empty when b contains a; {a} when
-- they are disjoint; otherwise the siblings along the path from a down to b).
function M.subtract(a, b)
  a, b = coerce(a), coerce(b)
  if M.contains(b, a) then return {} end
  if not M.contains(a, b) then return { a } end
  local out = {}
  for l = a.len + 1, b.len do
    -- The sibling at depth l: b's first l bits with bit l flipped.
    out[#out + 1] = make(a.family, flip_bit(mask_words(b.words, l), l - 1), l)
  end
  return out
end

--- Subtract every block of `blocks` from the list `from`; returns what remains.
function M.subtract_all(from, blocks)
  local rest = {}
  for _, f in ipairs(from) do rest[#rest + 1] = coerce(f) end
  for _, b in ipairs(blocks) do
    b = coerce(b)
    local nxt = {}
    for _, r in ipairs(rest) do
      for _, piece in ipairs(M.subtract(r, b)) do nxt[#nxt + 1] = piece end
    end
    rest = nxt
    if #rest == 0 then break end
  end
  return rest
end

--- True if the union of `blocks` covers every address of `target`.
function M.covers(blocks, target)
  return #M.subtract_all({ target }, blocks) == 0
end

--- "0.0.0.0/0" or "::/0" for a family (4 or 6).
function M.any(family)
  return family == 6 and "::/0" or "0.0.0.0/0"
end

--- 4 or 6 for a prefix or text (nil, message for text that does not parse).
function M.family(p)
  if type(p) == "table" then return p.family end
  local v, err = M.parse(p)
  if not v then return nil, err end
  return v.family
end

return M
