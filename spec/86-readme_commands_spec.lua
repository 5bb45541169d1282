-- Every command the README shows runs here, as written, against the simulator
-- (issue 15 §4: the README cannot drift). The commands are extracted from
-- README.md itself (spec/helpers/readme.lua); each code block says on the line
-- before it which fleet and session it runs in:
--
--     <!-- readme-test: fleet=sample session=migrate -->
--
-- A block that shows a command and has no such line fails this spec, so a new
-- command cannot go untested. Each command runs through `sh -c` on a
-- pseudo-terminal 118 columns wide (spec/helpers/readme_pty.py), in the
-- session's working directory (with the checkout's lua/, build/, examples/,
-- tools/ linked in, as in a clone), with only the simulator's credentials and
-- endpoint in its environment and an `eksegress` on PATH; its exit status must
-- be the one shown, and the output lines shown must be what it printed
-- (timestamps, UUIDs and plan ids aside; `...` skips lines).
local core = require "eksegress.core"
local readme = require "helpers.readme"
local simmod = require "helpers.sim"

local PY = os.getenv("EKSEGRESS_PYTHON") or "python3"
local BUILD = (os.getenv("LUA_CPATH") or "build/?.so"):match("^(.-)/%?%.so") or "build"
local SLOW = os.getenv("EKSEGRESS_SLOW") == "1" and 5 or 1

local function sh_quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function capture(cmd)
  local p = assert(io.popen(cmd))
  local s = p:read("l")
  p:close()
  return s
end

local ROOT = capture("pwd")
local function abs(path) return path:sub(1, 1) == "/" and path or ROOT .. "/" .. path end

local read = require("helpers.migrate").read

local TEXT = read("README.md")

-- The blocks, or the error that stops parsing (a malformed annotation).
local ok_parse, BLOCKS = pcall(readme.blocks, TEXT)

-- A working directory laid out like a clone, and a PATH with `eksegress`.
local function workdir()
  local dir = capture("mktemp -d")
  for _, name in ipairs({ "lua", "examples", "tools", "bin", "docs" }) do
    assert(os.execute(("ln -s %s %s"):format(sh_quote(ROOT .. "/" .. name), sh_quote(dir .. "/" .. name))))
  end
  assert(os.execute(("ln -s %s %s"):format(sh_quote(abs(BUILD)), sh_quote(dir .. "/build"))))
  local bindir = dir .. "/.readme-bin"
  assert(os.execute("mkdir " .. sh_quote(bindir)))
  local f = assert(io.open(bindir .. "/eksegress", "w"))
  f:write("#!/bin/sh\nexec lua5.4 ", sh_quote(ROOT .. "/bin/eksegress"), ' "$@"\n')
  f:close()
  assert(os.execute("chmod +x " .. sh_quote(bindir .. "/eksegress")))
  return dir, bindir
end

local function environment(sim, dir, bindir)
  return require("helpers.process").with_sanitizer_env {
    PATH = bindir .. ":/usr/bin:/bin", HOME = dir, TERM = "xterm",
    AWS_ACCESS_KEY_ID = simmod.ACCESS_KEY, AWS_SECRET_ACCESS_KEY = simmod.SECRET_KEY,
    AWS_REGION = "us-east-1", AWS_ENDPOINT_URL = sim.url,
    AWS_CONFIG_FILE = "/nonexistent", AWS_SHARED_CREDENTIALS_FILE = "/nonexistent",
    AWS_EC2_METADATA_DISABLED = "true",
    LUA_PATH = ROOT .. "/lua/?.lua;" .. ROOT .. "/lua/?/init.lua;;",
    LUA_CPATH = abs(BUILD) .. "/?.so;;",
  }
end

local function sim_args(ann)
  local fleet = ann.fleet == "sample" and "--fleet tools/ekssim/fleets/sample.json"
    or "--generate " .. sh_quote(ann.fleet)
  return fleet .. " --time-scale " .. (ann["time-scale"] or "0")
end

-- Run one command on a terminal; {status, lines, raw}.
local function run(cmd, dir, env, ann)
  local argv = { PY, ROOT .. "/spec/helpers/readme_pty.py", "--cwd", dir, "--timeout", tostring(240 * SLOW) }
  if ann["interrupt-after"] then
    argv[#argv + 1] = "--interrupt-after"
    argv[#argv + 1] = ann["interrupt-after"]
  end
  argv[#argv + 1] = cmd
  local r = assert(core.run_process(argv, { env = env, timeout_ms = 300000 * SLOW, max_output = 64 << 20 }))
  return { status = r.status, lines = readme.terminal_lines(r.stdout), raw = r.stdout .. r.stderr }
end

-- Sessions in the order the README first names them; blocks in README order.
local function sessions(blocks)
  local list, by_name = {}, {}
  for _, b in ipairs(blocks) do
    local ann = b.annotation
    if ann and not ann.skip then
      local name = ann.session or ("line " .. b.line)
      local s = by_name[name]
      if not s then
        s = { name = name, fleet = ann.fleet, scale = ann["time-scale"], blocks = {}, line = b.line }
        by_name[name] = s
        list[#list + 1] = s
      end
      s.blocks[#s.blocks + 1] = b
    end
  end
  return list
end

local function excerpt(lines)
  local from = math.max(1, #lines - 60)
  return table.concat(lines, "\n", from)
end

describe("README commands", function()
  it("the README's readme-test annotations parse", function()
    assert(ok_parse, tostring(BLOCKS))
  end)
  if not ok_parse then return end

  it("every block that shows a command has a readme-test annotation, and every skip names the spec that runs it",
    function()
      for _, b in ipairs(BLOCKS) do
        assert(b.annotation, ("README command at line %d has no readme-test annotation"):format(b.commands[1].line))
        local skip = b.annotation.skip
        if skip then
          local spec = skip:match("spec/[%w_%-/]+%.lua")
          assert(spec, ("README line %d: skip=%q does not name the spec that runs it"):format(b.line, skip))
          assert(io.open(spec), ("README line %d: skip names %s, which does not exist"):format(b.line, spec))
        end
      end
    end)

  it("one fleet per session", function()
    for _, s in ipairs(sessions(BLOCKS)) do
      for _, b in ipairs(s.blocks) do
        assert(b.annotation.fleet == s.fleet and b.annotation["time-scale"] == s.scale,
          ("README line %d: session %s runs on fleet=%s time-scale=%s (first stated at line %d)")
            :format(b.line - 1, s.name, s.fleet, tostring(s.scale), s.line - 1))
      end
    end
  end)

  for _, s in ipairs(sessions(BLOCKS)) do
    describe("session " .. s.name .. " (fleet " .. s.fleet .. ")", function()
      local sim, dir, env
      local bindings = {}
      setup(function()
        sim = simmod.start(sim_args(s.blocks[1].annotation))
        local bindir
        dir, bindir = workdir()
        env = environment(sim, dir, bindir)
      end)
      teardown(function()
        if sim then sim:stop() end
        if dir then os.execute("rm -rf " .. sh_quote(dir)) end
      end)

      for _, b in ipairs(s.blocks) do
        for _, c in ipairs(b.commands) do
          it(("README line %d: %s"):format(c.line, c.text), function()
            local cmd = readme.substitute(c.text, bindings)
            local r = run(cmd, dir, env, b.annotation)
            local out = table.concat(r.lines, "\n")
            assert.is_nil(r.raw:find("stack traceback", 1, true), "a Lua traceback:\n" .. r.raw)
            assert.is_nil(r.raw:find("Traceback (most recent call last)", 1, true), "a Python traceback:\n" .. r.raw)
            local want = c.exit or tonumber(b.annotation.exit) or 0
            assert(r.status == want, ("README line %d: `%s` exited %d, the README shows %d; its output:\n%s")
              :format(c.line, cmd, r.status, want, excerpt(r.lines)))
            if c.output and #c.output > 0 then
              local ok, miss = readme.match(c.output, r.lines, bindings)
              assert(ok, miss and ("README line %d: %q is not in the output of `%s`%s; its output:\n%s")
                :format(c.output_lines[miss.index], miss.expected, cmd,
                  miss.nearest and (" (nearest line: %q)"):format(miss.nearest) or "", out))
            end
          end)
        end
      end
    end)
  end
end)

-- The README's CLI overview and IAM section say what the code says.
describe("README reference tables", function()
  local function section(title)
    return assert(TEXT:match("\n## " .. title:gsub("%p", "%%%0") .. "\n(.-)\n## "), "README has no section " .. title)
  end

  it("'The CLI': one row per command with its summary, and the exit codes of eksegress --help", function()
    local text = section("The CLI")
    local rows = {}
    for name, summary in text:gmatch("\n| `([%w-]+)` | ([^\n]-) |") do rows[#rows + 1] = { name, summary } end
    local want = {}
    for _, name in ipairs(require("eksegress.cli").COMMANDS) do
      want[#want + 1] = { name, require("eksegress.cli.commands." .. name).summary }
    end
    assert.are.same(want, rows)
    local codes = {}
    for code, meaning in text:gmatch("\n| (%d+) | ([^\n]-) |") do codes[#codes + 1] = { tonumber(code), meaning } end
    assert.are.same(require("eksegress.cli.exit").TABLE, codes)
  end)

  it("'Using it against a real AWS account': the audit policy shown is docs/iam/audit.json", function()
    local cjson = require "cjson"
    local shown = assert(section("Using it against a real AWS account"):match("```json\n(.-)```"))
    assert.are.same(cjson.decode(read("docs/iam/audit.json")), cjson.decode(shown))
    for file in section("Using it against a real AWS account"):gmatch("`([%w-]+%.json)`") do
      assert(io.open("docs/iam/" .. file), "the README names docs/iam/" .. file .. ", which does not exist")
    end
  end)
end)

-- The harness itself must be able to fail: the checks above on made-up READMEs.
describe("README command extraction", function()
  it("finds commands in transcripts (continuation lines joined) and sh blocks, with their statuses", function()
    local blocks = readme.blocks(table.concat({
      "text", "<!-- readme-test: fleet=sample session=a -->", "```", "$ eksegress audit \\", "    --regions all",
      "ACCOUNT  REGION", "...", "# exit 2 (more)", "$ eksegress plan x", "done", "$ echo $?", "130", "```",
      "```sh", "make demo   # a comment", "# a comment line", "LUA_PATH='x' lua5.4 \\", "  examples/a.lua", "```",
      "```lua", "$ not a command", "```",
    }, "\n"))
    assert.are.equal(2, #blocks)
    local t = blocks[1]
    assert.are.same({ fleet = "sample", session = "a" }, t.annotation)
    assert.are.equal("eksegress audit --regions all", t.commands[1].text)
    assert.are.equal(4, t.commands[1].line)
    assert.are.same({ "ACCOUNT  REGION", "..." }, t.commands[1].output)
    assert.are.equal(2, t.commands[1].exit)
    assert.are.equal(130, t.commands[2].exit)
    assert.are.same({ "done" }, t.commands[2].output)
    assert.is_nil(blocks[2].annotation)
    assert.are.same({ "make demo   # a comment", "LUA_PATH='x' lua5.4 examples/a.lua" },
      { blocks[2].commands[1].text, blocks[2].commands[2].text })
  end)

  it("refuses malformed annotations and unknown keys", function()
    assert.has_error(function() readme.blocks("<!-- readme-test: flet=sample -->\n```\n$ x\n```\n") end,
      'README line 1: unknown readme-test key "flet"')
    assert.has_error(function() readme.blocks("<!-- readme-test: session=a -->\n```\n$ x\n```\n") end,
      'README line 1: a readme-test annotation needs fleet=... (or skip="reason")')
    assert.has_error(function() readme.blocks('<!-- readme-test: skip="x -->\n```\n$ x\n```\n') end)
  end)

  it("matches shown lines in order, across elisions, with volatile parts and plan ids normalised", function()
    local real = { "noise", "eksegress plan p-0123456789 · 2026-12-04T10:00:00Z", "a", "b", "x",
                   "update b4b60904-4db5-4559-8f05-57c0051f9058", "end" }
    local b = {}
    assert.is_true(readme.match({ "eksegress plan p-aaaaaaaaaa · 2026-01-01T00:00:00Z", "a", "b", "...",
      "update 00000000-0000-0000-0000-000000000000" }, real, b))
    assert.are.same({ ["p-aaaaaaaaaa"] = "p-0123456789" }, b)
    assert.are.equal("apply --confirm p-0123456789", readme.substitute("apply --confirm p-aaaaaaaaaa", b))
    -- a line missing, lines out of order, a run broken by an extra line, a plan id bound to another
    local ok, miss = readme.match({ "a", "c" }, real, {})
    assert.is_nil(ok)
    assert.are.same({ index = 2, expected = "c", nearest = "b" }, miss)
    assert.is_nil((readme.match({ "b", "...", "a" }, real, {})))
    assert.is_nil((readme.match({ "a", "x" }, real, {})))
    assert.is_nil((readme.match({ "plan p-aaaaaaaaaa" }, { "plan p-1111111111" },
      { ["p-aaaaaaaaaa"] = "p-2222222222" })))
  end)

  it("reads a terminal's output as the user saw it: colours dropped, status lines rewritten in place", function()
    assert.are.same({ "eksegress: done", "\226\128\148 ok" },
      readme.terminal_lines("\r\27[Kaudit: 1/2\r\27[Kaudit: 2/2\r\27[Keksegress: done\r\n"
        .. "\27[1m\226\128\148 ok\27[0m  \r\n"))
  end)
end)
