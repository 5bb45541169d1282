-- The README's commands, extracted from the README itself, and what a run of
-- one must show. Pure: spec/86-readme_commands_spec.lua runs them.
--
-- A code block that shows commands says where they run on the line before it:
--
--     <!-- readme-test: fleet=sample session=migrate -->
--     ```
--     $ eksegress plan --from-report audit.json --out fleet.plan.json --output table
--     ...
--
-- Keys: `fleet` (`sample`: tools/ekssim/fleets/sample.json; anything else is a
-- `--generate` SPEC of tools/ekssim), `session` (blocks of one session share one
-- simulator and one working directory, in README order; default: the block's
-- own), `time-scale` (the simulator's --time-scale, default 0), `exit` (the
-- exit status of commands whose transcript shows none), `interrupt-after`
-- (type Ctrl-C once this text has appeared in the output), `skip` (the reason
-- the block cannot run in a test, naming the spec that runs it instead).
-- Values with spaces are double-quoted.
local M = {}

--- The key=value pairs of a `<!-- readme-test: ... -->` line, or nil when the
-- line is not one; raises (with the line number) on a malformed one.
function M.annotation(line, lineno)
  local body = line:match("^%s*<!%-%-%s*readme%-test:(.-)%-%->%s*$")
  if not body then return nil end
  local ann, rest = {}, body
  while true do
    rest = rest:gsub("^%s+", "")
    if rest == "" then break end
    local key, after = rest:match("^([%w%-]+)=(.*)$")
    if not key then error(("README line %d: malformed readme-test annotation near %q"):format(lineno, rest), 0) end
    local value
    if after:sub(1, 1) == '"' then
      value, rest = after:match('^"([^"]*)"(.*)$')
      if not value then error(("README line %d: unterminated quote in readme-test annotation"):format(lineno), 0) end
    else
      value, rest = after:match("^(%S+)(.*)$")
    end
    ann[key] = value
  end
  local known = { fleet = true, session = true, ["time-scale"] = true, exit = true, ["interrupt-after"] = true,
                  skip = true }
  for k in pairs(ann) do
    if not known[k] then error(("README line %d: unknown readme-test key %q"):format(lineno, k), 0) end
  end
  if ann.exit and not ann.exit:find("^%d+$") then
    error(("README line %d: readme-test exit=%s is not a number"):format(lineno, ann.exit), 0)
  end
  if not ann.skip and not ann.fleet then
    error(("README line %d: a readme-test annotation needs fleet=... (or skip=\"reason\")"):format(lineno), 0)
  end
  return ann
end

-- The exit status a transcript line states: "# exit N ...", "(exit N)".
local function stated_exit(line)
  local n = line:match("^#%s*exit%s+(%d+)") or line:match("^%(exit%s+(%d+)%)%s*$")
  return n and tonumber(n)
end

-- Join `\` continuation lines: lines[i] starts a command; returns the command
-- and the index of its last line.
local function joined(lines, i, strip_prompt)
  local parts = {}
  local j = i
  while true do
    local l = lines[j]
    if j == i and strip_prompt then l = l:gsub("^%$ ", "") else l = l:gsub("^%s+", "") end
    local cont = l:find("\\$") ~= nil
    parts[#parts + 1] = (l:gsub("%s*\\$", ""))
    if not cont or j == #lines then break end
    j = j + 1
  end
  return table.concat(parts, " "), j
end

-- A transcript block: `$ ` commands, each followed by its output lines.
local function transcript_commands(lines, first)
  local cmds = {}
  local i = 1
  while i <= #lines do
    local l = lines[i]
    if l:find("^%$ ") then
      local text, last = joined(lines, i, true)
      if text == "echo $?" then
        -- the status of the command before it, on the next line
        local prev = cmds[#cmds]
        local n = lines[last + 1] and lines[last + 1]:match("^(%d+)%s*$")
        if not prev or not n then
          error(("README line %d: `echo $?` must follow a command and be followed by its status"):format(first + i), 0)
        end
        prev.exit = tonumber(n)
        i = last + 2
      else
        cmds[#cmds + 1] = { line = first + i, text = text, output = {}, output_lines = {} }
        i = last + 1
      end
    elseif #cmds > 0 then
      local n = stated_exit(l)
      if n then
        cmds[#cmds].exit = n
      else
        local c = cmds[#cmds]
        c.output[#c.output + 1] = l
        c.output_lines[#c.output_lines + 1] = first + i
      end
      i = i + 1
    else
      i = i + 1 -- text before the first prompt (none in practice)
    end
  end
  return cmds
end

-- A ```sh block: every line that is not blank or a comment is a command.
local function sh_commands(lines, first)
  local cmds = {}
  local i = 1
  while i <= #lines do
    local l = lines[i]
    if l:find("^%s*$") or l:find("^%s*#") then
      i = i + 1
    else
      local text, last = joined(lines, i, false)
      cmds[#cmds + 1] = { line = first + i, text = text }
      i = last + 1
    end
  end
  return cmds
end

--- The code blocks of a Markdown text that show commands.
-- @return list of `{line (of the opening fence), lang, kind = "transcript" | "sh",
--   annotation (table or nil), commands = {{line, text, output?, output_lines?, exit?}}}`
function M.blocks(text)
  local lines = {}
  for l in (text:gsub("\n?$", "\n")):gmatch("(.-)\n") do lines[#lines + 1] = l end
  local out = {}
  local i = 1
  while i <= #lines do
    local lang = lines[i]:match("^```(%S*)%s*$")
    if lang then
      local j = i + 1
      while j <= #lines and not lines[j]:find("^```%s*$") do j = j + 1 end
      local body = table.move(lines, i + 1, j - 1, 1, {})
      local cmds
      if lang == "sh" then
        cmds = sh_commands(body, i)
      elseif lang == "" or lang == "console" or lang == "text" then
        cmds = transcript_commands(body, i)
      end
      if cmds and #cmds > 0 then
        out[#out + 1] = {
          line = i, lang = lang, kind = lang == "sh" and "sh" or "transcript", commands = cmds,
          annotation = i > 1 and M.annotation(lines[i - 1], i - 1) or nil,
        }
      end
      i = j + 1
    else
      i = i + 1
    end
  end
  return out
end

--- What a terminal shows of raw output: ANSI sequences dropped, each line what
-- remains after its last carriage return (a status line rewritten in place
-- shows only its last state), trailing blanks dropped.
function M.terminal_lines(raw)
  local s = raw:gsub("\27%[[%d;?]*[ -/]*[@-~]", ""):gsub("\27[%(%)][%w]", "")
  local out = {}
  for l in (s:gsub("\n?$", "\n")):gmatch("(.-)\n") do
    l = l:gsub("\r+$", "")
    l = l:match("([^\r]*)$")
    out[#out + 1] = (l:gsub("%s+$", ""))
  end
  if out[#out] == "" then out[#out] = nil end
  return out
end

-- Volatile parts of a line: what changes from run to run for the same
-- commands. Each is replaced by a placeholder of its kind; plan ids are also
-- remembered so a later command can use the plan id the run really made.
local VOLATILE = {
  { "time", "%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d[%.%d]*Z" },
  { "uuid", "%x%x%x%x%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x" },
  { "plan", "%f[%w]p%-" .. ("%x"):rep(10) .. "%f[^%w%-]" },  -- document.lua: "p-" and 10 hex
  { "oidc", "/id/%x+" },  -- the simulator derives a cluster's OIDC issuer id from its creation time
}

--- The line with its volatile parts replaced, and the plan ids it holds.
-- The terminal's echo of a Ctrl-C ("^C") is dropped: where it lands (on a
-- line of its own, after a line, or under the next status line) depends on
-- when the key was pressed, not on the program.
function M.normalise(line)
  line = line:gsub("%^C", "")
  local plans = {}
  for p in line:gmatch(VOLATILE[3][2]) do plans[#plans + 1] = p end
  for _, v in ipairs(VOLATILE) do line = line:gsub(v[2], "<" .. v[1] .. ">") end
  return (line:gsub("%s+$", "")), plans
end

-- Does a shown line match a real one (bindings: README plan id -> real one)?
-- Returns the new bindings on a match.
local function line_matches(shown, real, bindings)
  local ns, ps = M.normalise(shown)
  local nr, pr = M.normalise(real)
  if ns ~= nr then return nil end
  local new = {}
  for k, p in ipairs(ps) do
    local bound = bindings[p] or new[p]
    if bound and bound ~= pr[k] then return nil end
    new[p] = pr[k]
  end
  return new
end

local function is_elision(l) return l:match("^%s*%.%.%.%s*$") ~= nil end

--- The real line (from index pos on) sharing the longest start with a shown
-- one, for the failure message.
function M.nearest(shown, real, pos)
  local want = M.normalise(shown)
  local best, best_n = nil, 0
  for i = pos, #real do
    local got = M.normalise(real[i])
    local n = 0
    while n < #want and n < #got and want:byte(n + 1) == got:byte(n + 1) do n = n + 1 end
    if n > best_n then best, best_n = real[i], n end
  end
  return best
end

--- Check that the shown output lines appear in the real ones: runs of shown
-- lines between `...` lines appear as consecutive real lines, in order.
-- @param shown list of lines from the README (`...` lines are elisions)
-- @param real list of lines the command printed (terminal_lines)
-- @param bindings table README plan id -> real plan id, extended on success
-- @return true, or nil and `{index = i (into shown), expected = line, nearest = real line or nil}`
function M.match(shown, real, bindings)
  local chunks, cur = {}, nil
  for i, l in ipairs(shown) do
    if is_elision(l) then
      cur = nil
    else
      if not cur then cur = {} chunks[#chunks + 1] = cur end
      cur[#cur + 1] = { i = i, text = l }
    end
  end
  local pos = 1
  for _, chunk in ipairs(chunks) do
    local best, best_at, best_len = nil, nil, -1
    for start = pos, #real - #chunk + 1 do
      local acc, n = {}, 0
      for k, item in ipairs(chunk) do
        local b = setmetatable({}, { __index = function(_, key) return acc[key] or bindings[key] end })
        local got = line_matches(item.text, real[start + k - 1], b)
        if not got then break end
        for key, v in pairs(got) do acc[key] = v end
        n = k
      end
      if n == #chunk then best, best_at, best_len = acc, start, n break end
      if n > best_len then best_at, best_len = start, n end
    end
    if not best then
      local miss = chunk[best_len + 1]
      local nearest = best_at and best_len > 0 and real[best_at + best_len] or M.nearest(miss.text, real, pos)
      return nil, { index = miss.i, expected = miss.text, nearest = nearest }
    end
    for k, v in pairs(best) do bindings[k] = v end
    pos = best_at + #chunk
  end
  return true
end

--- A command with the README's plan ids replaced by the ones this run made.
function M.substitute(text, bindings)
  return (text:gsub(VOLATILE[3][2], function(p) return bindings[p] end))
end

return M
