--- Text helpers shared by the report renderers: scalars to strings, UTF-8
-- repair, escaping for XML and HTML, and the width and truncation of values
-- shown in a terminal.
--
-- Report values come from AWS responses and error messages, so they may hold
-- anything: invalid UTF-8, control characters (a terminal escape sequence in
-- an error message must not reach the terminal as one), markup. Every
-- renderer passes values through one of the functions here.
local M = {}

local null_ok, cjson = pcall(require, "cjson")
local NULL = null_ok and cjson.null or nil

--- True for a missing value: nil or JSON null (cjson.null).
function M.is_null(v)
  return v == nil or (NULL ~= nil and v == NULL)
end

--- Replace every byte that is not part of valid UTF-8 with U+FFFD, so the
-- output of every renderer is valid UTF-8 (JSON and XML require it).
-- Surrogates and code points above U+10FFFF count as invalid (utf8.len's
-- strict mode).
function M.utf8_clean(s)
  if utf8.len(s) then return s end
  local out, i, n = {}, 1, #s
  while i <= n do
    local ok, bad = utf8.len(s, i)
    if ok then
      out[#out + 1] = s:sub(i)
      break
    end
    out[#out + 1] = s:sub(i, bad - 1)
    out[#out + 1] = "\u{FFFD}"
    i = bad + 1
  end
  return table.concat(out)
end

--- A number as people and JSON write it: integers (and floats holding an
-- integer, as cjson decodes them) without a fraction, others with the
-- shortest form that reads back to the same double.
function M.number(v)
  if math.type(v) == "integer" then return string.format("%d", v) end
  if v ~= v or v == math.huge or v == -math.huge then return nil end
  if v == math.floor(v) and math.abs(v) < 2 ^ 53 then return string.format("%d", math.tointeger(v)) end
  for digits = 15, 17 do
    local s = string.format("%." .. digits .. "g", v)
    if tonumber(s) == v then return s end
  end
  return string.format("%.17g", v)
end

--- A scalar as text: nil and null give nil; booleans "true"/"false";
-- numbers as M.number; strings as they are; anything else (a table) nil.
function M.scalar(v)
  local t = type(v)
  if t == "string" then return v end
  if t == "number" then return M.number(v) end
  if t == "boolean" then return v and "true" or "false" end
  return nil
end

-- Characters that must not reach a terminal, an XML file or a web page as
-- themselves: C0 controls, DEL, C1 controls (U+0080-U+009F, which some
-- terminals obey as escape sequences), and the bidirectional overrides that
-- can make text read differently from what it holds ("Trojan Source").
local UNSAFE = {
  "[\0-\8\11\12\14-\31\127]",                      -- C0 controls except TAB, LF, CR; DEL
  "\194[\128-\159]",                                -- C1 controls
  "\226\128[\170-\174]",                            -- U+202A-U+202E
  "\226\129[\166-\169]",                            -- U+2066-U+2069
}

local function visible(ch)
  if #ch == 1 then return string.format("\\x%02x", ch:byte()) end
  return string.format("\\u{%X}", utf8.codepoint(ch))
end

--- Replace unsafe characters (see UNSAFE) with a visible escape such as
-- "\x1b" or "\u{202E}", after repairing UTF-8. TAB, LF and CR are kept;
-- `fold` = true turns them into single spaces as well (one-line cells).
function M.safe(s, fold)
  s = M.utf8_clean(s)
  for _, pat in ipairs(UNSAFE) do s = s:gsub(pat, visible) end
  if fold then s = s:gsub("[\t\r\n]+", " ") end
  return s
end

local XML = { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;", ["'"] = "&apos;",
              ["\n"] = "&#10;", ["\r"] = "&#13;", ["\t"] = "&#9;" }

--- Escape text for XML 1.0 (also valid in HTML): & < > in text, and also
-- both quotes in attributes (`attr` = true), where TAB, LF and CR become
-- character references so parsers keep them instead of normalising them to
-- spaces. Characters XML cannot
-- carry at all become visible escapes (M.safe).
function M.xml(s, attr)
  s = M.safe(s)
  if attr then return (s:gsub("[&<>\"'\t\r\n]", XML)) end
  return (s:gsub("[&<>]", XML))
end

--- Display width of a string in a terminal (code points; every value the
-- reports show is first made safe, so no control character is counted).
function M.width(s)
  return utf8.len(s) or #s
end

--- Truncate to at most `w` columns, marking the cut with "…".
function M.truncate(s, w)
  if M.width(s) <= w then return s end
  if w < 1 then return "" end
  local cut = utf8.offset(s, w) -- byte offset of the w-th code point
  return s:sub(1, cut - 1) .. "…"
end

return M
