-- `make demo` (tools/demo.sh) as a user runs it: the story of issue 15 told
-- against the simulator it starts and stops itself, checked step by step, and
-- the simulator's own request log as the witness that exactly the planned
-- updates were sent. The real-account branch runs in a private network
-- namespace against a simulator inside it, so a regression that reached for
-- AWS would find no network.
local core = require "eksegress.core"
local simmod = require "helpers.sim"

local PY = os.getenv("EKSEGRESS_PYTHON") or "python3"
local BUILD = (os.getenv("LUA_CPATH") or "build/?.so"):match("^(.-)/%?%.so") or "build"

local function sh_quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function tmpdir()
  local p = io.popen("mktemp -d")
  local d = p:read("l")
  p:close()
  return d
end

describe("make demo", function()
  it("tells the story against the simulator: audit, preflight, plan, apply, guard, audit, SCP", function()
    local out_dir = tmpdir()
    finally(function() os.execute("rm -rf " .. sh_quote(out_dir)) end)
    local r = assert(core.run_process({ "sh", "-c",
      "EKSEGRESS_DEMO=simulator EKSEGRESS_DEMO_OUT=" .. sh_quote(out_dir) .. " PYTHON=" .. sh_quote(PY)
        .. " exec sh tools/demo.sh " .. sh_quote(BUILD) .. " 2>&1" }, { timeout_ms = 300000 }))
    local out = r.stdout
    assert.are.equal(0, r.status, out)
    assert.is_nil(out:find("stack traceback", 1, true), out)
    -- 1. the organization audit, with its gaps and the HTML report
    assert.matches("Summary: 22 clusters in 2 accounts and 4 regions", out, 1, true)
    assert.matches("777788889999 %(sandbox%)%s+skipped%s+account is SUSPENDED", out)
    local html = assert(io.open(out_dir .. "/fleet.html")):read("a")
    assert.matches("<!DOCTYPE html>", html, 1, true)
    -- 2. the broken cluster's finding and its fix
    assert.matches("fail%s+blocking%s+nacl_inbound_ephemeral", out)
    assert.matches("aws ec2 create%-network%-acl%-entry %-%-network%-acl%-id acl%-", out)
    -- 3. the plan, 4. apply with a canary and a wave, then resume sends nothing
    assert.matches("Summary: 3 clusters to migrate to CUSTOMER_ROUTED (permanent), 6 skipped", out, 1, true)
    assert.matches("canary 111122223333/us%-west%-2/payments first, alone", out)
    assert.matches("wave of 2", out, 1, true)
    assert.matches("Summary: 3 done, 6 skipped", out, 1, true)
    assert.matches("nothing to do (every cluster has ended); nothing was sent", out, 1, true)
    -- 5. the guard refuses every way of undoing it
    local _, refused = out:gsub("refused: IrreversibleTransitionRefused", "")
    assert.are.equal(2, refused, out)
    assert.matches("switch to CUSTOMER_ISOLATED, acknowledged%s+refused: UndocumentedMode", out)
    assert.is_nil(out:find(" SENT ", 1, true), out)
    -- 6. the audit again, 7. the SCP and its matrix
    assert.matches("compliant with CUSTOMER_ROUTED: 4, non%-compliant: 6", out)
    assert.matches("CreateCluster without controlPlaneEgressMode %b()%s+denied", out)
    assert.matches("UpdateClusterConfig changing logging %(no egress key%)%s+allowed", out)
    assert.truthy(io.open(out_dir .. "/scp.json"))
    -- the simulator's log, read by the demo itself: one update per migrated cluster
    for _, name in ipairs({ "payments", "prod-api", "web-eu" }) do
      assert.matches("\n  " .. name:gsub("%-", "%%-") .. "%s+1 UpdateClusterConfig %(HTTP 200%)", out)
    end
    local _, updates = out:gsub("UpdateClusterConfig %(HTTP", "")
    assert.are.equal(3, updates, out)
    -- and it stopped the simulator it started
    local url = out:match("the AWS simulator is at (http://127%.0%.0%.1:%d+)")
    assert.is_string(url, out)
    local probe = core.run_process({ PY, "-c",
      "import sys, urllib.request\ntry:\n urllib.request.urlopen(sys.argv[1] + '/_sim/log', timeout=2)\n"
        .. " print('up')\nexcept Exception:\n print('down')", url }, { timeout_ms = 10000 })
    assert.are.equal("down\n", probe.stdout)
  end)

  it("with AWS credentials present, audits read-only and changes nothing (in a private network namespace)", function()
    local dir = tmpdir()
    finally(function() os.execute("rm -rf " .. sh_quote(dir)) end)
    -- Inside the namespace: a simulator on its loopback stands in for the
    -- account; the credentials are the user's, so the demo picks the real branch.
    local script = table.concat({
      "PATH=/usr/sbin:/sbin:$PATH",
      "ip link set lo up || exit 97",
      sh_quote(PY) .. " tools/ekssim/ekssim.py --port 0 --fleet tools/ekssim/fleets/sample.json --time-scale 0 > "
        .. sh_quote(dir .. "/sim.log") .. " 2>&1 &",
      "sim=$!",
      "i=0; while [ $i -lt 200 ]; do url=$(sed -n 's/^ekssim listening on \\(http:.*\\)$/\\1/p' "
        .. sh_quote(dir .. "/sim.log") .. "); [ -n \"$url\" ] && break; sleep 0.05; i=$((i+1)); done",
      "HOME=" .. sh_quote(dir) .. " AWS_ACCESS_KEY_ID=" .. simmod.ACCESS_KEY .. " AWS_SECRET_ACCESS_KEY="
        .. sh_quote(simmod.SECRET_KEY) .. " AWS_REGION=us-east-1 AWS_ENDPOINT_URL=$url"
        .. " AWS_EC2_METADATA_DISABLED=true EKSEGRESS_DEMO_OUT=" .. sh_quote(dir .. "/out") .. " PYTHON="
        .. sh_quote(PY) .. " sh tools/demo.sh " .. sh_quote(BUILD) .. " 2>&1",
      "rc=$?",
      sh_quote(PY) .. " -c 'import json,sys,urllib.request;"
        .. " log=json.load(urllib.request.urlopen(sys.argv[1]+\"/_sim/log\"));"
        .. " print(\"operations:\", \" \".join(sorted(set(r[\"operation\"] for r in log[\"requests\"]))))' \"$url\"",
      "kill $sim",
      "exit $rc",
    }, "\n")
    local r = assert(core.run_process({ "unshare", "-rn", "sh", "-c", script }, { timeout_ms = 300000 }))
    local out = r.stdout .. r.stderr
    assert.are.equal(0, r.status, out)
    assert.matches("AWS credentials found: a read-only audit of your account", out, 1, true)
    assert.matches("Summary: 10 clusters in 1 account and", out, 1, true)
    assert.matches("Nothing was changed.", out, 1, true)
    -- the witness: only reads reached the account
    local ops = assert(out:match("operations: ([^\n]*)"), out)
    for op in ops:gmatch("%S+") do
      local read = op:match("^Describe") or op:match("^List") or op:match("^Get")
      assert.is_truthy(read, "not a read: " .. op)
    end
    assert.truthy(io.open(dir .. "/out/audit.html"))
  end)
end)
