-- The canary run (issue 16, section 4): the CLI end to end -- audit with
-- every --output and --export format, audit --preflight, preflight, plan,
-- apply with its journal, resume, token, scp, reach -- every command with
-- --debug, under a unique secret access key and session token the simulator
-- accepts (a session loaded from its --state file), plus the library's guard
-- audit log. Every stdout, stderr, report, plan, journal, audit log and every
-- file the runs left in their folder (TMPDIR included) is scanned for the
-- secret and the token in every form they could leak in
-- (helpers.canary.forms): zero hits. A self-check first proves the scan
-- finds a planted leak.
local cjson = require "cjson"
local core = require "eksegress.core"
local canary = require "helpers.canary"
local chaos = require "helpers.chaos"
local mh = require "helpers.migrate"
local simmod = require "helpers.sim"

local ROLE = "EksEgressAdmin"
local ACCOUNT = "111122223333"

local function python()
  return os.getenv("EKSEGRESS_PYTHON") or "python3"
end

describe("canary: no secret in any output #chaos", function()
  local sim, simdir, dir, c, cluster
  local outputs = {}   -- label -> text (stdout and stderr of every run)

  setup(function()
    c = canary.new()
    simdir = mh.tmpdir()   -- the simulator's own files (its state holds the canary by design)
    dir = mh.tmpdir()      -- everything the runs write, scanned
    local fleet = simdir .. "/fleet.json"
    local r = core.run_process({ python(), "tools/ekssim/ekssim.py", "--generate",
      "clusters=4,accounts=1,regions=us-east-1,seed=94,defects=0,routed=0,isolated=0,nomode=0",
      "--dump-fleet", fleet }, { timeout_ms = 60000 })
    assert(r.status == 0, r.stderr)
    -- A state file whose one session is the canary: the simulator accepts
    -- the canary key, secret and token as a role session of EksEgressAdmin.
    -- (Python writes it: a Lua round trip would turn the fleet's empty
    -- lists into objects.)
    local session = {
      access_key = c.akid, secret = c.secret, token = c.token, expiration = os.time() + 6 * 3600,
      source = "assume-role", account = ACCOUNT,
      arn = ("arn:aws:sts::%s:assumed-role/%s/canary"):format(ACCOUNT, ROLE),
      user_id = "AROACANARYROLE0000001:canary", kind = "assumed-role", role_name = ROLE,
      session_name = "canary" }
    r = core.run_process({ python(), "-c", [[
import json, sys
fleet, session, out = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
with open(fleet) as f:
    spec = json.load(f)
session["deny"] = []
with open(out, "w") as f:
    json.dump({"format": "ekssim-state/1", "fleet": spec, "dynamic": {"sessions": [session]}}, f)
]], fleet, cjson.encode(session), simdir .. "/state.json" }, { timeout_ms = 30000 })
    assert(r.status == 0, r.stderr)
    sim = simmod.start(("--state %s --time-scale 0"):format(simdir .. "/state.json"))
    cluster = sim:admin("GET", "/_sim/state").clusters[1].name
  end)
  teardown(function()
    if sim then sim:stop() end
    mh.rmdir(simdir)
    mh.rmdir(dir)
  end)

  local env
  local function run(label, args, expect)
    env = env or { AWS_ACCESS_KEY_ID = c.akid, AWS_SECRET_ACCESS_KEY = c.secret, AWS_SESSION_TOKEN = c.token,
                   TMPDIR = dir }
    local argv = { "--debug" }
    for _, a in ipairs(args) do argv[#argv + 1] = a end
    local r = mh.cli(sim, argv, { env = env })
    outputs[label .. " stdout"] = r.stdout
    outputs[label .. " stderr"] = r.stderr
    chaos.assert_no_crash(r.stderr, label)
    assert.are.equal(expect or 0, r.status, label .. ":\n" .. r.stderr)
    return r
  end

  it("the scan finds a planted leak in every form (self-check)", function()
    local plant = dir .. "/planted.txt"
    for _, value in ipairs{ c.secret, c.token } do
      for _, form in ipairs(canary.forms(value)) do
        mh.write(plant, "noise " .. form[2] .. " noise")
        local hits = canary.scan_tree(c, dir)
        assert.is_true(#hits > 0, "the scan missed the " .. form[1] .. " form")
      end
    end
    -- Inside a longer base64 blob, at each alignment.
    for k = 0, 2 do
      mh.write(plant, canary.base64(("xy"):sub(1, k) .. '{"Token":"' .. c.token .. '"}'))
      assert.is_true(#canary.scan_tree(c, dir) > 0, "missed a token inside base64 at offset " .. k)
    end
    os.remove(plant)
    assert.are.same({}, (canary.scan_tree(c, dir)))
  end)

  it("every output, report, plan, journal, audit log and temporary file of an end-to-end run "
    .. "holds no form of the secret or the token", function()
    -- Audit: every stdout format, every report file.
    for _, fmt in ipairs{ "table", "json", "csv", "markdown" } do
      run("audit --output " .. fmt, { "audit", "--output", fmt })
    end
    local exports = {}
    for _, ext in ipairs{ "json", "csv", "md", "html", "junit.xml", "sarif" } do
      exports[#exports + 1] = "--export"
      exports[#exports + 1] = dir .. "/audit." .. ext
    end
    run("audit --export", { "audit", "--require", "AWS_MANAGED", table.unpack(exports) })
    run("audit --preflight", { "audit", "--preflight", "--export", dir .. "/audit-preflight.sarif" })
    run("preflight", { "preflight", "--cluster", cluster, "--export", dir .. "/preflight.json",
                       "--export", dir .. "/preflight.html" })
    run("preflight --reach", { "preflight", "--cluster", cluster, "--reach" })
    -- Plan, apply (its journal beside the plan), resume.
    local plan = dir .. "/one.plan.json"
    run("plan", { "plan", "--cluster", cluster, "--out", plan })
    run("apply", { "apply", plan, "--confirm", cluster, "--poll-interval", "0.05", "--output", "json" })
    run("resume", { "resume", dir .. "/one.plan.journal" })
    -- The Kubernetes side: a token (the ExecCredential itself is a bearer
    -- token made from the canary: it must not carry the secret or the
    -- session token in any form), and the API server's destinations.
    local tok = run("token", { "token", "--cluster", cluster })
    assert.matches('"token": ?"k8s%-aws%-v1%.', tok.stdout)
    -- The bearer token is a presigned STS URL in base64url, and a presigned
    -- URL carries X-Amz-Security-Token (as `aws eks get-token`'s does): the
    -- session token is in it by design, the secret access key never. So:
    -- the token holds no form of the secret, and nothing outside the token
    -- field holds either.
    local exec = cjson.decode(tok.stdout)
    local bearer = exec.status.token
    assert.are.same({}, canary.scan({ secret = c.secret, token = "\0no-token\0" }, { bearer = bearer }))
    assert.is_true(#canary.scan(c, { bearer = bearer }) > 0, "the bearer token no longer carries the session "
      .. "token: the scan's composite forms are out of date")
    exec.status.token = "<bearer token, checked above>"
    outputs["token stdout"] = cjson.encode(exec)
    run("reach", { "reach", "--cluster", cluster })
    -- SCP: pure, but under --debug with the canary in the environment.
    run("scp --explain", { "scp", "--explain" })
    run("scp --out", { "scp", "--out", dir .. "/scp.json" })

    -- The library's guard audit log, with the canary credentials: an
    -- allowed update and a refused revert.
    sim:admin("POST", "/_sim/advance", { all = true })
    local log_path = dir .. "/guard-audit.log"
    local client = assert(require("eksegress").client{ audit_path = log_path, env = sim:env{
      AWS_ACCESS_KEY_ID = c.akid, AWS_SECRET_ACCESS_KEY = c.secret, AWS_SESSION_TOKEN = c.token } })
    local other = sim:admin("GET", "/_sim/state").clusters[2].name
    assert(client:call("eks", "DescribeCluster", { name = other }))
    assert(client:call("eks", "UpdateClusterConfig", { name = other,
      resourcesVpcConfig = { controlPlaneEgressMode = "CUSTOMER_ROUTED" } }, { acknowledge = other }))
    sim:admin("POST", "/_sim/advance", { all = true })
    assert(client:call("eks", "DescribeCluster", { name = cluster }))
    local _, err = client:call("eks", "UpdateClusterConfig", { name = cluster,
      resourcesVpcConfig = { controlPlaneEgressMode = "AWS_MANAGED" } })
    assert.is_truthy(err and err.guard, "the revert was refused by the guard")
    outputs["library error"] = tostring(err.message) .. " " .. cjson.encode(err.guard or {})
    outputs["client tostring"] = tostring(client)
    client:close()
    assert.is_true(#(mh.read(log_path) or "") > 0, "the guard wrote its audit log")

    -- The scan: every run's stdout and stderr, every file in the folder.
    local hits = canary.scan(c, outputs)
    local _, files = canary.scan_tree(c, dir, hits)
    local runs = 0
    for _ in pairs(outputs) do runs = runs + 1 end
    assert.are.same({}, hits)
    -- The runs did use the canary: the simulator saw the canary key.
    local seen = 0
    for _, q in ipairs(mh.log(sim).requests) do
      if q.principal == ("arn:aws:sts::%s:assumed-role/%s/canary"):format(ACCOUNT, ROLE) then seen = seen + 1 end
    end
    assert.is_true(seen > 0, "no request was signed with the canary")
    chaos.figure("canary: outputs scanned (stdout/stderr texts)", runs)
    chaos.figure("canary: files scanned", files)
    chaos.figure("canary: forms per secret", #canary.forms(c.secret))
    chaos.figure("canary: requests signed with the canary", seen)
    chaos.figure("canary: hits", #hits)
  end)
end)
