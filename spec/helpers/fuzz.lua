-- A small seeded mutation fuzzer for Lua-level parsers (spec 15; make fuzz runs it long).
--
--     local fuzz = require "helpers.fuzz"
--     local stats = fuzz.run{
--       name = "config.parse", seed = 85, count = 2000, seeds = { "[default]\nregion = x\n" },
--       check = function(input) local t, err = config.parse(input, "config") ... end,
--     }
--
-- Each input is a seed with 1 to max_mutations (default 8) mutations (flip, insert, delete, repeat,
-- splice another seed, insert a token the parser cares about), or, one time
-- in eight, random bytes. `check(input)` runs under two bounds: an
-- instruction budget (proportional to the input: a parser that loops forever
-- or goes quadratic is caught deterministically, with no clock) and a memory
-- bound (the Lua heap, sampled by the same hook). A raise, or a bound
-- exceeded, fails the run with the input (escaped), the seed and the
-- iteration, so it can be replayed. Returns { inputs, bytes, max_kb }.
--
-- EKSEGRESS_FUZZ_SCALE (make fuzz) multiplies every count.
local M = {}

local SCALE = tonumber(os.getenv("EKSEGRESS_FUZZ_SCALE") or "") or 1

--- Tokens worth inserting: syntax of INI files, JSON and XML, and bytes that
-- often break parsers.
M.TOKENS = {
  "\n", "\r\n", "\r", " ", "\t", "\0", "=", "[", "]", "[profile ", "[sso-session ", "[services ", "#", ";",
  "{", "}", "[", "]", ",", ":", "\"", "\\", "\\u0000", "\\ud800", "\\u", "null", "true", "1e999", "-0",
  "<", ">", "</", "/>", "<?xml version=\"1.0\"?>", "<!DOCTYPE x>", "&amp;", "&#0;", "&#x110000;",
  "<![CDATA[", "]]>", "\xff", "\xc3", "\xe2\x80\x8b", "\xef\xbc\xa1", ("a"):rep(300), ("[" ):rep(200),
  ("{\"a\":"):rep(100), "9223372036854775808", "0x10", "NaN", "Infinity",
}

--- A seeded generator: r(n) is 1..n (the specs' one, helpers.migrate.rng).
M.rng = require("helpers.migrate").rng

local function random_bytes(r, n)
  local t = {}
  for i = 1, n do t[i] = string.char(r(256) - 1) end
  return table.concat(t)
end

--- One mutation of s.
function M.mutate(r, s, seeds)
  local n = #s
  local pos = r(n + 1)
  local k = r(8)
  if k == 1 and n > 0 then
    -- flip one byte
    return s:sub(1, pos - 1) .. string.char(r(256) - 1) .. s:sub(pos + 1)
  elseif k == 2 then
    return s:sub(1, pos - 1) .. random_bytes(r, r(8)) .. s:sub(pos)
  elseif k == 3 and n > 0 then
    -- delete a range
    return s:sub(1, pos - 1) .. s:sub(pos + r(math.min(n, 64)))
  elseif k == 4 and n > 0 then
    -- repeat a range
    local len = r(math.min(n - pos + 1, 32) > 0 and math.min(n - pos + 1, 32) or 1)
    return s:sub(1, pos + len - 1) .. s:sub(pos, pos + len - 1):rep(r(4)) .. s:sub(pos + len)
  elseif k == 5 and seeds then
    -- splice: our head, another seed's tail
    local other = seeds[r(#seeds)]
    return s:sub(1, pos - 1) .. other:sub(r(#other + 1))
  elseif k == 6 and n > 0 then
    -- truncate
    return s:sub(1, pos - 1)
  else
    return s:sub(1, pos - 1) .. M.TOKENS[r(#M.TOKENS)] .. s:sub(pos)
  end
end

--- A printable rendering of an input, for a failure message.
function M.escape(s, max)
  max = max or 600
  local shown = s:sub(1, max):gsub("[^%w%p ]", function(c) return ("\\x%02x"):format(c:byte()) end)
  if #s > max then shown = shown .. ("... (%d bytes)"):format(#s) end
  return shown
end

--- Run a fuzz target; see the module description. o: name, seed, count,
-- seeds (strings), check(input), max_mutations (default 8), budget (instructions per input byte,
-- default 4000), base_budget (default 4,000,000), max_mb (Lua heap growth
-- allowed during one input, default 256).
function M.run(o)
  local r = M.rng(o.seed)
  local seeds = o.seeds
  local count = math.floor(o.count * SCALE)
  local per_byte, base = o.budget or 4000, o.base_budget or 4000000
  local max_kb = (o.max_mb or 256) * 1024
  local stats = { inputs = 0, bytes = 0, max_kb = 0 }
  for i = 1, count do
    local input
    if r(8) == 1 then
      input = random_bytes(r, r(512) - 1)
    else
      input = seeds[r(#seeds)]
      for _ = 1, r(o.max_mutations or 8) do input = M.mutate(r, input, seeds) end
    end
    collectgarbage("collect")
    local heap0 = collectgarbage("count")
    local limit = base + per_byte * #input
    local why
    -- The count hook runs every 1000 instructions of this coroutine: the
    -- budget and the heap bound, both deterministic for a given input.
    local used = 0
    debug.sethook(function()
      used = used + 1000
      if used > limit then why = "instruction budget exceeded" error(why, 0) end
      local grown = collectgarbage("count") - heap0
      if grown > stats.max_kb then stats.max_kb = grown end
      if grown > max_kb then why = "memory bound exceeded" error(why, 0) end
    end, "", 1000)
    local ok, err = pcall(o.check, input)
    debug.sethook()
    if not ok then
      error(("%s: %s on input %d (seed %d, %d bytes): %s\n  input: %s"):format(o.name,
        why or "raised", i, o.seed, #input, tostring(why or err), M.escape(input)), 0)
    end
    stats.inputs = stats.inputs + 1
    stats.bytes = stats.bytes + #input
  end
  return stats
end

return M
