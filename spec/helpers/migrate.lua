-- Helpers for the migration specs (65-67: the workflows against the
-- simulator; 75-77: the CLI as a process). The simulator's /_sim/log is the
-- witness of what reached "EKS"; journals are read back with the core reader.
--
--     local mh = require "helpers.migrate"
--     local sim, fleet = mh.start_fleet{ generate = "clusters=40,accounts=2,regions=2",
--                                        patch = {{ account = 1, cluster = 1, set = { busy_seconds = 600 } }} }
--     local plan = assert(migrate.plan(mh.factory(sim), { targets = mh.targets(sim) }))
--     mh.assert_exactly_once(sim, plan)
local cjson = require "cjson"
local core = require "eksegress.core"
local simmod = require "helpers.sim"
local proc = require "helpers.process"

local M = {}

M.PLAN_SCHEMA = "docs/schemas/plan.schema.json"
M.JOURNAL_SCHEMA = "docs/schemas/journal.schema.json"
M.RESULT_SCHEMA = "docs/schemas/apply-result.schema.json"

local function python()
  return os.getenv("EKSEGRESS_PYTHON") or "python3"
end
M.python = python -- the Python the specs run helpers with (EKSEGRESS_PYTHON)

local function quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end
M.quote = quote

local function write(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
end
M.write = write

--- The lines of a text (without their newlines; empty lines dropped).
function M.lines(s)
  local out = {}
  for l in s:gmatch("[^\n]+") do out[#out + 1] = l end
  return out
end

--- A file's bytes, or nil when it cannot be read.
function M.read(path)
  return (core.read_file(path, 1 << 28))
end

--- A fresh temporary directory (removed by M.rmdir).
function M.tmpdir()
  local p = io.popen("mktemp -d")
  local d = p:read("l")
  p:close()
  return d
end

function M.rmdir(d)
  if d and d:find("^/tmp/") then os.execute("rm -rf " .. quote(d)) end
end

-- ---- plans without a network (pure specs) --------------------------------------

--- A DescribeCluster `cluster` (AWS_MANAGED, ACTIVE), fields overridden by `over`.
function M.cluster_object(over)
  local c = {
    name = "prod-api", arn = "arn:aws:eks:us-east-1:111122223333:cluster/prod-api",
    status = "ACTIVE", version = "1.32",
    resourcesVpcConfig = { controlPlaneEgressMode = "AWS_MANAGED", vpcId = "vpc-1",
      subnetIds = { "subnet-b", "subnet-a" }, securityGroupIds = { "sg-2" },
      clusterSecurityGroupId = "sg-1" },
  }
  for k, v in pairs(over or {}) do c[k] = v end
  return c
end

--- A plan entry for cluster `name` in 111122223333/us-east-1: action
-- "migrate" (with its request) or "skip".
function M.entry(name, action, over)
  local document = require "eksegress.workflows.migrate.document"
  local st = document.state_of(M.cluster_object{ name = name }, {})
  local e = { account = "111122223333", region = "us-east-1", name = name, state = st,
              fingerprint = document.fingerprint(st), action = action,
              preflight = { blocking = 0, warnings = 0, evaluated = false } }
  e.key = document.key(e)
  if action == "migrate" then
    e.request = { method = "POST", path = "/clusters/" .. name .. "/update-config",
                  body = { resourcesVpcConfig = { controlPlaneEgressMode = "CUSTOMER_ROUTED" } } }
  else
    e.reason = "already CUSTOMER_ROUTED"
  end
  for k, v in pairs(over or {}) do e[k] = v end
  return e
end

--- A sealed plan of these entries, as read back from its file.
function M.sealed(entries, extra)
  local document = require "eksegress.workflows.migrate.document"
  local plan = { schema = document.SCHEMA, target_mode = "CUSTOMER_ROUTED", clusters = entries }
  for k, v in pairs(extra or {}) do plan[k] = v end
  return cjson.decode(cjson.encode(document.seal(plan)))
end

--- Start the simulator on a fleet: generated (`generate`, a --generate SPEC),
-- with cluster keys set (`patch`: {{account = i, cluster = j, set = {k = v}}},
-- 1-based indices into the generated fleet), with extra arguments (`args`).
-- Returns the simulator, and the fleet as the simulator loaded it.
function M.start_fleet(o)
  local path = os.tmpname()
  local r = core.run_process({ python(), "tools/ekssim/ekssim.py", "--generate", o.generate, "--dump-fleet", path },
    { timeout_ms = 60000 })
  assert(r.status == 0, "ekssim --dump-fleet: " .. r.stderr)
  if o.patch then
    -- Python edits the fleet: a Lua round trip would turn its empty lists
    -- into objects.
    r = core.run_process({ python(), "-c", [[
import json, sys
path, patches = sys.argv[1], json.loads(sys.argv[2])
with open(path) as f:
    fleet = json.load(f)
for p in patches:
    fleet["accounts"][p["account"] - 1]["clusters"][p["cluster"] - 1].update(p["set"])
with open(path, "w") as f:
    json.dump(fleet, f)
]], path, cjson.encode(o.patch) }, { timeout_ms = 30000 })
    assert(r.status == 0, "patching the fleet: " .. r.stderr)
  end
  local fleet = cjson.decode(M.read(path))
  local sim = simmod.start(("--fleet %s %s"):format(path, o.args or ""))
  os.remove(path)
  return sim, fleet
end

--- Stop the simulator and remove a directory of the spec (teardown).
function M.stop(sim, dir)
  if sim then sim:stop() end
  M.rmdir(dir)
end

--- A client factory over the simulator (every client shares one runtime),
-- as the CLI's context makes them; `client_opts` are added to each client's
-- options (e.g. max_attempts).
function M.factory(sim, env_extra, client_opts)
  local rt
  return function(target)
    local o = { profile = target.profile, credentials = target.credentials, runtime = rt, env = sim:env(env_extra) }
    for k, v in pairs(client_opts or {}) do o[k] = v end
    local c, err = require("eksegress").client(o)
    if c then rt = rt or c.runtime end
    return c, err
  end
end

--- The simulator's clusters (GET /_sim/state), by key.
function M.state(sim)
  local out = {}
  for _, c in ipairs(sim:admin("GET", "/_sim/state").clusters) do
    out[c.account .. "/" .. c.region .. "/" .. c.name] = c
  end
  return out
end

--- Targets for migrate.plan: every cluster the simulator holds, with role
-- access (OrganizationAccountAccessRole) to accounts other than the caller's.
function M.targets(sim, filter)
  local t = {}
  for key, c in pairs(M.state(sim)) do
    if not filter or filter(c, key) then
      local access = {}
      if c.account ~= "111122223333" then
        access = { role_arn = "arn:aws:iam::" .. c.account .. ":role/OrganizationAccountAccessRole" }
      end
      t[#t + 1] = { account = c.account, region = c.region, name = c.name, access = access }
    end
  end
  table.sort(t, function(a, b) return a.account .. a.region .. a.name < b.account .. b.region .. b.name end)
  return t
end

--- A preflight standing in for the real one: the simulator's ground truth
-- (expect_fail, as the fleet started) as blocking findings.
function M.ground_truth_preflight(sim)
  local truth = {}
  for key, c in pairs(M.state(sim)) do
    local ids = {}
    for _, id in ipairs(c.expect_fail ~= cjson.null and c.expect_fail or {}) do ids[#ids + 1] = id end
    truth[key] = ids
  end
  return function(_, entry)
    local ids = truth[entry.account .. "/" .. entry.region .. "/" .. entry.name] or {}
    return { blocking = #ids, warnings = 0, blocking_ids = ids }
  end
end

--- POST an admin path from a subprocess (safe inside the workflow's
-- coroutines, where the simulator helper's own runtime may not be used).
function M.admin_async(sim, path, body)
  local r = core.run_process({ python(), "-c", [[
import sys, urllib.request
req = urllib.request.Request(sys.argv[1], data=sys.argv[2].encode(), method="POST",
                             headers={"Content-Type": "application/json"})
urllib.request.urlopen(req).read()
]], sim.url .. path, cjson.encode(body or {}) }, { timeout_ms = 30000 })
  assert(r.status == 0, "admin " .. path .. ": " .. r.stderr)
end

--- /_sim/log, with the mutating calls per cluster key (requests after
-- sequence number `since` only, when given).
function M.log(sim, since)
  if since then return sim:admin("GET", "/_sim/log?since=" .. math.tointeger(since)) end
  return sim:admin("GET", "/_sim/log")
end

--- A seeded generator: rng(seed)(n) is 1..n. Uses the high bits of a
-- linear congruential sequence (its low bits alternate).
function M.rng(seed)
  local x = seed
  return function(n)
    x = (x * 1103515245 + 12345) % 2147483648
    return (x >> 16) % n + 1
  end
end

local function token_of(plan, key)
  for _, c in ipairs(plan.clusters) do
    if c.key == key and c.action == "migrate" then return c.request.body.clientRequestToken end
  end
  return nil
end
M.token_of = token_of

--- The witness of exactly-once. For every cluster in the simulator's log:
-- each mutating call carrying the plan's token for that cluster is an
-- UpdateClusterConfig to CUSTOMER_ROUTED, and those calls made at most one
-- distinct update (exactly one for the clusters in `updated`, default: all
-- the plan migrates); a call without the plan's token (an unplanned request)
-- is allowed only on clusters in `foreign` (the test changed them itself).
-- `only` (a set of keys) limits the check to those clusters. Returns the log.
function M.assert_exactly_once(sim, plan, o)
  o = o or {}
  local log = o.log or M.log(sim)
  local updated = o.updated
  if not updated then
    updated = {}
    for _, c in ipairs(plan.clusters) do if c.action == "migrate" then updated[c.key] = true end end
  end
  local ours = {}
  for key, rec in pairs(log.clusters) do
    if o.only and not o.only[key] then goto continue end
    local token = token_of(plan, key)
    local ids, n = {}, 0
    for _, call in ipairs(rec.calls) do
      local faulted = type(call.fault) == "string" and call.accepted ~= true
      if token and faulted and type(call.client_request_token) ~= "string" then
        -- A fault the simulator injected before reading the body: the call
        -- started nothing, and no token was read from it.
        assert(call.operation == "UpdateClusterConfig", key .. ": unexpected " .. tostring(call.operation))
      elseif token and call.client_request_token == token then
        assert(call.operation == "UpdateClusterConfig", key .. ": unexpected " .. tostring(call.operation))
        -- The simulator records the mode of the calls it accepted as new
        -- updates (a replay of a token is the same update).
        assert(call.mode == "CUSTOMER_ROUTED" or ((call.accepted ~= true or call.replay == true)
          and type(call.mode) ~= "string"),
          key .. ": a request for mode " .. tostring(call.mode))
        local id = call.update_id
        if type(id) == "string" and not ids[id] then
          ids[id] = true
          n = n + 1
        end
      else
        assert(o.foreign and o.foreign[key], ("%s received a request that is not the plan's (%s, token %s)")
          :format(key, tostring(call.operation), tostring(call.client_request_token)))
      end
    end
    assert(n <= 1, ("%s has %d distinct updates from the plan"):format(key, n))
    ours[key] = n
    ::continue::
  end
  for key in pairs(updated) do
    assert((ours[key] or 0) == 1, ("%s: %d distinct updates, want 1"):format(key, ours[key] or 0))
  end
  return log
end

--- The largest number of clusters whose update this client had in flight at
-- once, from the order of requests in the log (never from clocks): a
-- cluster's update is in flight from its first accepted UpdateClusterConfig
-- to the last request about that cluster.
function M.max_updates_in_flight(log)
  local first, last = {}, {}
  for _, r in ipairs(log.requests) do
    if r.cluster ~= cjson.null and r.cluster then
      local key = r.account .. "/" .. r.region .. "/" .. r.cluster
      if r.operation == "UpdateClusterConfig" and r.status == 200 and not first[key] then first[key] = r.seq end
      last[key] = r.seq
    end
  end
  local events = {}
  for key, s in pairs(first) do
    events[#events + 1] = { s, 1 }
    events[#events + 1] = { last[key], -1 }
  end
  table.sort(events, function(a, b)
    if a[1] ~= b[1] then return a[1] < b[1] end
    return a[2] > b[2]
  end)
  local n, most = 0, 0
  for _, e in ipairs(events) do
    n = n + e[2]
    if n > most then most = n end
  end
  return most, first, last
end

--- The journal at path, read back, replayed and its plan validated (raises
-- with the reason otherwise). Returns run, data.
function M.journal(path)
  local journal = require "eksegress.workflows.migrate.journal"
  local document = require "eksegress.workflows.migrate.document"
  local data = assert(journal.read(path))
  local run = assert(journal.replay(data.records))
  assert(document.validate(run.plan))
  return run, data
end

--- The records of a journal of a given type (none while it does not exist).
function M.records(path, type_)
  local journal = require "eksegress.workflows.migrate.journal"
  local out = {}
  local data, err = journal.read(path)
  if not data and err.code == "NotFound" then return out end
  for _, r in ipairs(assert(data, err).records) do
    if not type_ or r.type == type_ then out[#out + 1] = r end
  end
  return out
end

--- Every line of the journal at path, as written, valid against
-- docs/schemas/journal.schema.json (one validator run for all of them).
function M.assert_journal_valid(path)
  local res = assert(core.journal_read(path, { max_bytes = 1 << 30 }))
  local dir = M.tmpdir()
  local files = {}
  for i, line in ipairs(res.lines) do
    files[i] = ("%s/%05d.json"):format(dir, i)
    write(files[i], line)
  end
  local p = assert(io.popen(("%s tools/schema-validate.py %s %s 2>&1"):format(python(), M.JOURNAL_SCHEMA,
    table.concat(files, " "))))
  local out = p:read("a")
  local ok = p:close()
  M.rmdir(dir)
  assert(ok, "journal records not valid against " .. M.JOURNAL_SCHEMA .. ":\n" .. out)
  return #res.lines
end

--- The environment of a CLI process pointed at the simulator.
function M.env(sim, extra)
  local get = sim:env()
  local t = {}
  for _, k in ipairs{ "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_CONFIG_FILE",
                      "AWS_SHARED_CREDENTIALS_FILE", "AWS_EC2_METADATA_DISABLED", "HOME" } do
    t[k] = get(k)
  end
  t.PATH = os.getenv("PATH")
  t.LUA_PATH = os.getenv("LUA_PATH")
  t.LUA_CPATH = os.getenv("LUA_CPATH")
  for k, v in pairs(extra or {}) do t[k] = v or nil end
  return proc.with_sanitizer_env(t)
end

local function cli_argv(sim, args, o)
  local argv = { "lua5.4" }
  if o.prelude then
    argv[#argv + 1] = "-e"
    argv[#argv + 1] = o.prelude
  end
  argv[#argv + 1] = "bin/eksegress"
  if sim then
    argv[#argv + 1] = "--endpoint-url"
    argv[#argv + 1] = sim.url
  end
  for _, a in ipairs(args) do argv[#argv + 1] = a end
  return argv
end

--- Run the CLI to its end: {status, stdout, stderr}. o: env (extra
-- variables), prelude (Lua run first: lua5.4 -e), wrap (a shell prefix, e.g.
-- "unshare -m sh -c ..."; the command is then run by /bin/sh), timeout_ms.
function M.cli(sim, args, o)
  o = o or {}
  local argv = cli_argv(sim, args, o)
  local cmd = argv
  if o.wrap then
    local q = {}
    for i, a in ipairs(argv) do q[i] = quote(a) end
    cmd = o.wrap(table.concat(q, " "))
  end
  local r, err = core.run_process(cmd, { env = M.env(sim, o.env), timeout_ms = o.timeout_ms or 300000,
                                         max_output = 64 * 1024 * 1024 })
  assert(r, "hang or failure running the CLI: " .. tostring(err))
  return r
end

local Running = {}
Running.__index = Running

--- Start the CLI in the background. Returns a handle: pid (the CLI's own),
-- :alive(), :kill(sig), :wait(seconds) -> exit status (128 + signal when a
-- signal ended it), :stdout(), :stderr(), :stop().
function M.spawn_cli(sim, args, o)
  o = o or {}
  local dir = M.tmpdir()
  local q = {}
  for i, a in ipairs(cli_argv(sim, args, o)) do q[i] = quote(a) end
  local env = {}
  for k, v in pairs(M.env(sim, o.env)) do env[#env + 1] = quote(k .. "=" .. v) end
  -- The CLI is a background job of sh so its own pid is known ($!) and sh
  -- records its exit status; a background job ignores SIGINT at first, and
  -- the CLI's own handler replaces that disposition.
  local script = ("%s >%s/out 2>%s/err & echo $! >%s/pid; wait $!; echo $? >%s/rc.tmp; mv %s/rc.tmp %s/rc"):format(
    table.concat(q, " "), dir, dir, dir, dir, dir, dir)
  local h = proc.spawn_and_wait(("env -i %s sh -c %s"):format(table.concat(env, " "), quote(script)), "^")
  local pid
  local deadline = core.monotime() + 20
  while not pid do
    pid = math.tointeger(tonumber(M.read(dir .. "/pid") or ""))
    if not pid then
      assert(core.monotime() < deadline, "the CLI did not start")
      core.sleep_ms(5)
    end
  end
  return setmetatable({ pid = pid, dir = dir, shell = h }, Running)
end

function Running:alive() return proc.alive(self.pid) end
function Running:kill(sig) return proc.signal(self.pid, sig or "KILL") end
--- Send a signal and wait until the CLI has taken it (see process.signal_delivered).
function Running:kill_delivered(sig) return proc.signal_delivered(self.pid, sig) end
function Running:stdout() return M.read(self.dir .. "/out") or "" end
function Running:stderr() return M.read(self.dir .. "/err") or "" end

--- Wait (bounded: a hang detector, not a speed test) for the CLI to end;
-- returns its exit status.
function Running:wait(seconds)
  local deadline = core.monotime() + (seconds or 300)
  while true do
    local rc = M.read(self.dir .. "/rc")
    if rc then return math.tointeger(tonumber(rc)) end
    if core.monotime() > deadline then
      self:stop()
      error("hang: the CLI did not end; its stderr:\n" .. self:stderr(), 2)
    end
    core.sleep_ms(10)
  end
end

function Running:stop()
  if proc.alive(self.pid) then proc.signal(self.pid, "KILL") end
  self.shell:stop()
  M.rmdir(self.dir)
end

return M
