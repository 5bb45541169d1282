-- Helpers for the chaos specs (90-94): how big a run is (CHAOS_SCALE), the
-- fault mix of issue 16, two profiles for the generated fleet's two accounts,
-- the CLI's peak memory, and the figures a run measured.
--
-- CHAOS_SCALE scales cluster and kill counts: `make chaos` runs 1 (the
-- issue's 2,000-cluster audit, 200-cluster migration, 20 kills); `make
-- chaos-short` (part of `make check`) runs the default 0.1 with floors that
-- keep every kind of event present.
--
--     local chaos = require "helpers.chaos"
--     local n = chaos.count(2000, 160)
--     local r, kib = chaos.peak_cli(sim, { "audit", ... }, { env = ... })
local assert = require "luassert"
local core = require "eksegress.core"
local mh = require "helpers.migrate"

local M = {}

--- The scale of this run (CHAOS_SCALE, default 0.1).
function M.scale()
  local s = tonumber(os.getenv("CHAOS_SCALE") or "")
  if not s or s <= 0 then s = 0.1 end
  return s
end

--- `full` scaled by CHAOS_SCALE, at least `floor`, an integer.
function M.count(full, floor)
  local n = math.floor(full * M.scale() + 0.5)
  if n < floor then n = floor end
  return math.tointeger(n)
end

--- The fault mix of issue 16 (a /_sim/faults body): 30% throttling, 10% 5xx,
-- 5% dropped connections, stalled bodies (headers, then silence) and
-- truncated bodies. `drop_when` "after": the operation ran, its answer is
-- lost (the hard case for an update).
function M.faults(seed, extra)
  local f = { reset = true, seed = seed or 16, throttle_rate = 0.3, error_rate = 0.1, drop_rate = 0.05,
              drop_when = "after", stall_rate = 0.01, truncate_rate = 0.02 }
  for k, v in pairs(extra or {}) do f[k] = v end
  return f
end

--- Stall length the simulator is started with (--stall-seconds) and the
-- CLI's per-attempt read timeout below it, so a stalled body ends in a
-- client timeout (then a retry), never in the simulator closing first.
M.STALL_ARGS = "--stall-seconds 3"
M.READ_TIMEOUT = "2"

--- The injected faults in a /_sim/log, by kind (throttle, internal,
-- unavailable, drop, stall, truncate).
function M.fault_counts(log)
  local n = {}
  for _, q in ipairs(log.requests) do
    if type(q.fault) == "string" then n[q.fault] = (n[q.fault] or 0) + 1 end
  end
  return n
end

--- An AWS config file with profile `a` (111122223333) and `b` (444455556666),
-- the generated fleet's first two accounts. Returns its path and the
-- profile -> account map.
function M.profiles(dir)
  local path = dir .. "/config"
  mh.write(path, table.concat({
    "[profile a]", "aws_access_key_id = AKIDEXAMPLE",
    "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "region = us-east-1",
    "[profile b]", "aws_access_key_id = AKIAEKSSIM0000000002",
    "aws_secret_access_key = ekssim/SecondAccount/Secret+EXAMPLEKEY02", "region = us-east-1", "" }, "\n"))
  return path, { a = "111122223333", b = "444455556666" }
end

local function python()
  return os.getenv("EKSEGRESS_PYTHON") or "python3"
end

--- Run the CLI to its end under tools/chaos/peakrss.py: returns the result
-- ({status, stdout, stderr}) and the CLI process's peak resident set size in
-- KiB (its VmHWM, from the kernel's rusage of the waited-for child).
function M.peak_cli(sim, args, o)
  o = o or {}
  local out = os.tmpname()
  local wrap = function(cmd)
    return ("%s tools/chaos/peakrss.py %s -- %s"):format(mh.quote(python()), mh.quote(out), cmd)
  end
  local r = mh.cli(sim, args, { env = o.env, wrap = wrap, timeout_ms = o.timeout_ms })
  local kib = math.tointeger(tonumber(mh.read(out) or ""))
  os.remove(out)
  assert(kib, "peakrss.py wrote no figure; stderr:\n" .. r.stderr)
  return r, kib
end

--- Print a measured figure as a TAP comment (docs/RELIABILITY.md
-- quotes them) and append it to $CHAOS_FIGURES when set.
function M.figure(name, value)
  local line = ("# chaos figure (scale %s): %s = %s"):format(M.scale(), name, tostring(value))
  io.stdout:write(line, "\n")
  io.stdout:flush()
  local path = os.getenv("CHAOS_FIGURES")
  if path and path ~= "" then
    local f = io.open(path, "a")
    if f then
      f:write(line, "\n")
      f:close()
    end
  end
end

--- Every line of a CLI's stderr, checked: no Lua traceback, no internal
-- error. Returns the text.
function M.assert_no_crash(text, what)
  assert.is_nil(text:find("stack traceback", 1, true), (what or "output") .. " has a traceback:\n" .. text)
  assert.is_nil(text:find("eksegress: internal error", 1, true), (what or "output") .. " reports a bug:\n" .. text)
  return text
end

--- Start the simulator on a generated fleet whose top-level keys are set
-- from `top` (e.g. {container_credentials = {...}}); `args` as for
-- helpers.migrate.start_fleet. Returns the simulator.
function M.start_fleet(generate, args, top)
  local cjson = require "cjson"
  local simmod = require "helpers.sim"
  local path = os.tmpname()
  local r = core.run_process({ python(), "tools/ekssim/ekssim.py", "--generate", generate, "--dump-fleet", path },
    { timeout_ms = 60000 })
  assert(r.status == 0, "ekssim --dump-fleet: " .. r.stderr)
  r = core.run_process({ python(), "-c", [[
import json, sys
path, top = sys.argv[1], json.loads(sys.argv[2])
with open(path) as f:
    fleet = json.load(f)
fleet.update(top)
with open(path, "w") as f:
    json.dump(fleet, f)
]], path, cjson.encode(top or {}) }, { timeout_ms = 30000 })
  assert(r.status == 0, "editing the fleet: " .. r.stderr)
  local sim = simmod.start(("--fleet %s %s"):format(path, args or ""))
  os.remove(path)
  return sim
end

--- A list's items followed by more: args({"apply", p}, "--wave-size", "4").
function M.args(list, ...)
  local out = {}
  for _, a in ipairs(list) do out[#out + 1] = a end
  for _, a in ipairs{ ... } do out[#out + 1] = a end
  return out
end

--- Faults off, the fleet reset, and a plan of every cluster (made in this
-- process) written to dir/round<N>.plan.json. Returns the plan, its path
-- and the journal path beside it.
function M.fresh_plan(sim, dir, round)
  local canonical = require "eksegress.canonical"
  local migrate = require "eksegress.workflows.migrate"
  sim:admin("POST", "/_sim/faults", { reset = true })
  sim:admin("POST", "/_sim/reset")
  local plan = assert(migrate.plan(mh.factory(sim), { targets = mh.targets(sim), version = "test" }))
  local path = ("%s/round%d.plan.json"):format(dir, round)
  mh.write(path, canonical.encode(plan) .. "\n")
  return plan, path, (path:gsub("%.json$", ".journal"))
end

--- Every update EKS accepted (per /_sim/log) was journaled first: the
-- journal's intent record for that cluster carries the same token.
function M.assert_journaled_first(sim, journal)
  local intents = {}
  for _, r in ipairs(mh.records(journal, "intent")) do intents[r.key] = r.token end
  for key, rec in pairs(mh.log(sim).clusters) do
    for _, call in ipairs(rec.calls) do
      if call.accepted == true then
        assert.are.equal(call.client_request_token, intents[key], key .. ": EKS got an update before its intent")
      end
    end
  end
end

--- Sleep a little (polling loops in the specs).
function M.nap(ms)
  core.sleep_ms(ms or 5)
end

return M
