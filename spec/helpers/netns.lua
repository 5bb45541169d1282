-- Specs that could touch a non-loopback address run inside a private network
-- namespace (unshare -rn: a new user and network namespace, so no privilege is
-- needed and nothing the test does can leave the machine). The addresses the
-- fleet names (documentation ranges, the VPC's own) and the system's DNS
-- servers are put on that namespace's loopback interface, where
-- spec/helpers/trap.py listens: a regression that connects to a destination
-- or resolves a name reaches the trap instead of the network, and the trap's
-- log says so.
--
--     local netns = require "helpers.netns"
--     if not netns.inside() then
--       netns.describe_inside("spec/69-reach_spec.lua", "reach in a private network namespace", describe, it)
--       return
--     end
--     local trap = netns.trap()      -- inside: start the witness
--     ... trap:events() ...          -- lines logged, {} when nothing was contacted
--
-- The spec file runs twice: here, where describe_inside runs busted on the
-- same file inside the namespace and turns each of its TAP results into an
-- `it` of this run (so every inner test is counted and named), and inside,
-- where EKSEGRESS_IN_NETNS=1 selects the real tests.
local core = require "eksegress.core"
local proc = require "helpers.process"

local M = {}

-- Addresses put on the namespace's loopback: what the reach fleet's webhooks,
-- issuers and VPC name (spec/fixtures/reach/fleet.json).
M.ADDRESSES = { "203.0.113.10/32", "10.60.5.6/32", "10.60.9.9/32", "2001:db8::10/128" }
-- Ports the fleet's destinations use.
M.PORTS = { 443, 6443, 8443, 9443, 23443 }

function M.inside()
  return os.getenv("EKSEGRESS_IN_NETNS") == "1"
end

local function sh_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function busted_path()
  local p = io.popen("command -v busted 2>/dev/null")
  local path = p and p:read("l")
  if p then p:close() end
  return (path and path ~= "") and path or "/usr/bin/busted"
end

-- Parse busted's TAP: { {ok = bool, name = "...", diag = "..."}, ... }.
local function parse_tap(text)
  local tests, cur = {}, nil
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    local notok, name = line:match("^(n?o?t? ?)ok %d+ %- (.*)$")
    if name then
      cur = { ok = notok == "", name = name, diag = {} }
      tests[#tests + 1] = cur
    elseif cur and line:sub(1, 1) == "#" then
      cur.diag[#cur.diag + 1] = line
    end
  end
  for _, t in ipairs(tests) do t.diag = table.concat(t.diag, "\n") end
  return tests
end

--- Run busted on `spec` inside a private network namespace.
-- @return {status, output, tests = {{ok, name, diag}}}
function M.busted(spec)
  local adds = {}
  for _, a in ipairs(M.ADDRESSES) do
    adds[#adds + 1] = (a:find(":", 1, true) and "ip -6 addr add " or "ip addr add ") .. a .. " dev lo || exit 97"
  end
  local script = table.concat({
    "PATH=/usr/sbin:/sbin:$PATH",
    "ip link set lo up || exit 97",
    table.concat(adds, "\n"),
    -- the system's DNS servers too, so a lookup reaches the trap (loopback ones already do)
    "for ns in $(sed -n 's/^nameserver[[:space:]]*//p' /etc/resolv.conf 2>/dev/null); do",
    "  case $ns in 127.*|::1) ;; *:*) ip -6 addr add $ns/128 dev lo ;; *) ip addr add $ns/32 dev lo ;; esac",
    "done",
    "EKSEGRESS_IN_NETNS=1 exec lua5.4 " .. sh_quote(busted_path()) .. " --ignore-lua -o TAP " .. sh_quote(spec)
      .. " 2>&1",
  }, "\n")
  local r, err = core.run_process({ "unshare", "-rn", "sh", "-c", script }, { timeout_ms = 600000 })
  if not r then return { status = -1, output = tostring(err), tests = {} } end
  local out = (r.stdout or "") .. (r.stderr or "")
  return { status = r.status, output = out, tests = parse_tap(out) }
end

--- From outside: run `spec` inside a namespace and report each of its tests
-- as an `it` here (a run that could not start is one failing test). Pass
-- busted's `describe` and `it` (a required module does not see them).
function M.describe_inside(spec, title, describe, it)
  describe(title, function()
    local run = M.busted(spec)
    if #run.tests == 0 then
      it("runs inside a private network namespace (unshare -rn)", function()
        error("the namespace run produced no tests (status " .. tostring(run.status) .. "):\n" .. run.output, 0)
      end)
    end
    for _, t in ipairs(run.tests) do
      it(t.name, function()
        if not t.ok then error(t.diag ~= "" and t.diag or "failed inside the namespace", 0) end
      end)
    end
  end)
end

local Trap = {}
Trap.__index = Trap

--- Inside: start the trap (spec/helpers/trap.py) on every address, for M.PORTS and DNS.
function M.trap()
  assert(M.inside(), "netns.trap: only inside the namespace")
  local log = os.tmpname()
  local ports = {}
  for i, p in ipairs(M.PORTS) do ports[i] = tostring(p) end
  local py = os.getenv("EKSEGRESS_PYTHON") or "python3"
  local h = proc.spawn_and_wait(("%s spec/helpers/trap.py %s %s --parent-pid $PPID"):format(py, log,
    table.concat(ports, ",")), "TRAP READY")
  return setmetatable({ log = log, handle = h }, Trap)
end

--- The events logged so far (a list of lines).
function Trap:events()
  local f = io.open(self.log, "rb")
  local out = {}
  if f then
    for line in f:lines() do out[#out + 1] = line end
    f:close()
  end
  return out
end

--- Forget the events so far (after a positive control).
function Trap:clear()
  local f = assert(io.open(self.log, "wb"))
  f:close()
end

function Trap:stop()
  self.handle:stop()
  os.remove(self.log)
end

return M
