-- `eksegress create` as a process against the simulator: help, usage errors,
-- the guard's refusal with nothing sent, blocking findings, --accept-network-risk,
-- --no-wait, a name taken, and a crash after the create followed by a re-run
-- (kill -9): one cluster, one CreateCluster in the simulator's log.
local cjson = require "cjson"
local core = require "eksegress.core"
local simmod = require "helpers.sim"
local schema = require "helpers.schema"
local proc = require "helpers.process"
local cli = require "helpers.cli"

local ROLE = "arn:aws:iam::111122223333:role/eksClusterRole"
local GOOD = "subnet-0a0000000000a0061,subnet-0a0000000000a0062"   -- fleets/explicit.json: nat-instances
local BAD = "subnet-0a0000000000a0011,subnet-0a0000000000a0012"    -- nacl-deny-first: 443 denied

local function create_args(name, extra)
  local args = { "create", "--name", name, "--role-arn", ROLE, "--subnets", GOOD, "--poll-interval", "0.05",
                 "--max-polls", "2000" }
  for _, a in ipairs(extra or {}) do args[#args + 1] = a end
  return args
end

local function create_calls(sim, name)
  local c = sim:admin("GET", "/_sim/log").clusters["111122223333/us-east-1/" .. name]
  local n = 0
  for _, call in ipairs(c and c.calls or {}) do
    if call.operation == "CreateCluster" then n = n + 1 end
  end
  return n
end

local function last_line(stderr)
  local lines = cli.lines(stderr)
  for _, l in ipairs(lines) do
    assert.matches("^eksegress: ", l)
    assert.is_nil(l:find("traceback", 1, true))
  end
  return lines[#lines]
end

describe("eksegress create (process)", function()
  local sim
  setup(function() sim = simmod.start("--time-scale 0.001 --fleet tools/ekssim/fleets/explicit.json") end)
  teardown(function() sim:stop() end)

  it("--help says what it does, why AWS_MANAGED is the default, and the exit codes", function()
    local r = cli.run(sim, { "create", "--help" })
    assert.are.equal(0, r.status)
    for _, s in ipairs({ "--name", "--role-arn", "--subnets", "--security-groups", "--kubernetes-version",
                         "--egress-mode", "--confirm", "--no-wait", "--accept-network-risk", "permanent",
                         "defaults to AWS_MANAGED", "Exit codes:" }) do
      assert.is_truthy(r.stdout:find(s, 1, true), s)
    end
  end)

  for _, case in ipairs({
    { { "create", "--role-arn", ROLE, "--subnets", GOOD }, "%-%-name is required" },
    { { "create", "--name", "x", "--subnets", GOOD }, "%-%-role%-arn is required" },
    { { "create", "--name", "x", "--role-arn", ROLE }, "%-%-subnets is required" },
    { { "create", "--name", "no spaces", "--role-arn", ROLE, "--subnets", GOOD }, "is not an EKS cluster name" },
    { { "create", "--name", "x", "--role-arn", "eksClusterRole", "--subnets", GOOD }, "is not an IAM role ARN" },
    { { "create", "--name", "x", "--role-arn", ROLE, "--subnets", "subnet-0a0000000000a0061" },
      "%-%-subnets needs at least 2 ids" },
    { { "create", "--name", "x", "--role-arn", ROLE, "--subnets", "subnet-1,vpc-2" }, '"vpc%-2" is not a subnet id' },
    { { "create", "--name", "x", "--role-arn", ROLE, "--subnets", GOOD, "--security-groups", "sg-1,," },
      "empty item" },
    { { "create", "--name", "x", "--role-arn", ROLE, "--subnets", GOOD, "--egress-mode", "CUSTOMER_ISOLATED" },
      "argument for option '%-%-egress%-mode' must be one of" },
    { { "create", "--name", "x", "--role-arn", ROLE, "--subnets", GOOD, "--confirm", "x" },
      "%-%-confirm goes with %-%-egress%-mode CUSTOMER_ROUTED" },
    { { "create", "--name", "x", "--role-arn", ROLE, "--subnets", GOOD, "--kubernetes-version", "latest" },
      "is not a version such as 1%.32" },
  }) do
    it("usage error (exit 64): " .. case[2], function()
      local before = #sim:admin("GET", "/_sim/log").requests
      local r = cli.run(sim, case[1])
      assert.are.equal(64, r.status)
      assert.matches(case[2], last_line(r.stderr))
      assert.are.equal(before, #sim:admin("GET", "/_sim/log").requests, "nothing was sent")
    end)
  end

  it("CUSTOMER_ROUTED without --confirm (or with another name): exit 3, nothing sent", function()
    local before = #sim:admin("GET", "/_sim/log").requests
    for _, extra in ipairs({ { "--egress-mode", "CUSTOMER_ROUTED" },
                             { "--egress-mode", "CUSTOMER_ROUTED", "--confirm", "someone-else" } }) do
      local r = cli.run(sim, create_args("routed", extra))
      assert.are.equal(3, r.status)
      assert.are.equal("", r.stdout)
      local line = last_line(r.stderr)
      assert.matches("^eksegress: create: cluster routed: refusing to create cluster \"routed\" with "
        .. "controlPlaneEgressMode CUSTOMER_ROUTED", line)
      assert.matches("%. This change is permanent: confirm it with %-%-confirm <cluster name>$", line)
      assert.is_nil(line:find("acknowledge =", 1, true))
    end
    assert.are.equal(before, #sim:admin("GET", "/_sim/log").requests, "no request at all, not even a read")
  end)

  it("CUSTOMER_ROUTED with --confirm: exit 0, ACTIVE, the mode read back", function()
    local r = cli.run(sim, create_args("routed", { "--egress-mode", "CUSTOMER_ROUTED", "--confirm", "routed",
      "--security-groups", "sg-0a0000000000a0061", "--output", "json" }))
    assert.are.equal(0, r.status, r.stderr)
    schema.assert_valid(schema.PREFLIGHT, r.stdout)
    local c = cjson.decode(r.stdout).clusters[1]
    assert.are.same({ "created", "ACTIVE", true }, { c.create.outcome, c.create.status, c.create.verified })
    assert.are.equal("CUSTOMER_ROUTED", c.egress_mode)
    assert.are.equal(1, create_calls(sim, "routed"))
  end)

  it("blocking findings: exit 1 and no CreateCluster; --accept-network-risk creates it", function()
    local r = cli.run(sim, { "create", "--name", "risky", "--role-arn", ROLE, "--subnets", BAD, "--output", "table" })
    assert.are.equal(1, r.status, r.stderr)
    assert.is_truthy(r.stdout:find("fail    blocking  nacl_outbound_443", 1, true), r.stdout)
    assert.is_truthy(r.stdout:find("aws ec2 create-network-acl-entry --network-acl-id acl-0a0000000000a0011 --egress "
      .. "--rule-number 89", 1, true))
    assert.is_truthy(r.stdout:find("create: risky not created: blocking preflight findings", 1, true))
    assert.are.equal(0, create_calls(sim, "risky"))
    r = cli.run(sim, { "create", "--name", "risky", "--role-arn", ROLE, "--subnets", BAD, "--accept-network-risk",
      "--poll-interval", "0.05", "--output", "table" })
    assert.are.equal(0, r.status, r.stderr)
    assert.is_truthy(r.stdout:find("create: risky created: ACTIVE, AWS_MANAGED (verified)", 1, true), r.stdout)
    assert.are.equal(1, create_calls(sim, "risky"))
  end)

  it("--no-wait: exit 0 once EKS accepted it, status CREATING", function()
    local r = cli.run(sim, create_args("quick", { "--no-wait", "--output", "json" }))
    assert.are.equal(0, r.status, r.stderr)
    local c = cjson.decode(r.stdout).clusters[1]
    assert.are.same({ "created", "CREATING" }, { c.create.outcome, c.create.status })
  end)

  it("a name taken by a cluster with other settings: exit 2, one line, nothing created", function()
    local r = cli.run(sim, { "create", "--name", "igw-only", "--role-arn", ROLE, "--subnets", GOOD })
    assert.are.equal(2, r.status)
    assert.matches("^eksegress: create: cluster igw%-only: cluster igw%-only already exists with other settings: ",
      last_line(r.stderr))
    assert.are.equal(0, create_calls(sim, "igw-only"))
  end)
end)

describe("eksegress create (process): a crash after the create, then a re-run", function()
  it("finds the cluster the killed run created: one cluster, one CreateCluster", function()
    local sim = simmod.start("--time-scale 1 --fleet tools/ekssim/fleets/explicit.json")
    local ok, err = pcall(function()
      local h = proc.spawn_and_wait(cli.command(sim, create_args("crashy")), "^")
      local deadline = core.monotime() + 30
      while create_calls(sim, "crashy") == 0 do
        assert(h:alive(), "the CLI ended before sending CreateCluster: " .. h:output())
        assert(core.monotime() < deadline, "no CreateCluster within 30 s")
        core.sleep_ms(20)
      end
      assert.is_true(h:kill("KILL"))
      h:stop()
      local state = sim:admin("GET", "/_sim/state?name=crashy").clusters
      assert.are.equal(1, #state)
      assert.are.equal("CREATING", state[1].status)
      -- The re-run finds it (still creating) and reports it, sending nothing.
      local r = cli.run(sim, create_args("crashy", { "--no-wait", "--output", "json" }))
      assert.are.equal(0, r.status, r.stderr)
      local c = cjson.decode(r.stdout).clusters[1]
      assert.are.same({ "existing", "CREATING" }, { c.create.outcome, c.create.status })
      -- Once it is ACTIVE, a re-run waits, verifies and still sends no second create.
      sim:admin("POST", "/_sim/advance", { all = true })
      r = cli.run(sim, create_args("crashy", { "--output", "json" }))
      assert.are.equal(0, r.status, r.stderr)
      c = cjson.decode(r.stdout).clusters[1]
      assert.are.same({ "existing", "ACTIVE", true }, { c.create.outcome, c.create.status, c.create.verified })
      local log = sim:admin("GET", "/_sim/log").clusters["111122223333/us-east-1/crashy"]
      assert.are.equal(1, log.accepted)
      assert.are.equal(1, create_calls(sim, "crashy"))
      assert.are.equal(1, #sim:admin("GET", "/_sim/state?name=crashy").clusters)
    end)
    sim:stop()
    assert(ok, err)
  end)

  it("a first Ctrl-C or SIGTERM while waiting stops the wait: exit 130, one line saying how to go on", function()
    local sim = simmod.start("--time-scale 1 --fleet tools/ekssim/fleets/explicit.json")
    local ok, err = pcall(function()
      -- The shell reports the CLI's pid and, at the end, its exit status.
      local script = cli.command(sim, create_args("stopped")) .. ' & echo "child=$!"; wait $!; echo "exit=$?"'
      local h = proc.spawn_and_wait("sh -c '" .. script:gsub("'", "'\\''") .. "'", "child=(%d+)")
      local child = tonumber(h.captures[1])
      local deadline = core.monotime() + 30
      while create_calls(sim, "stopped") == 0 do
        assert(core.monotime() < deadline, "no CreateCluster within 30 s: " .. h:output())
        core.sleep_ms(20)
      end
      assert.is_true(proc.signal(child, "TERM"))
      while not h:output():find("exit=%d+") do
        assert(core.monotime() < deadline + 30, "the CLI did not stop: " .. h:output())
        core.sleep_ms(20)
      end
      local out = h:output()
      h:stop()
      assert.matches("exit=130", out)
      assert.matches("eksegress: create: cluster stopped: stopped waiting for cluster stopped, which EKS is still "
        .. "creating; run the same command again to keep waiting", out, 1, true)
      assert.are.equal(1, create_calls(sim, "stopped"))
    end)
    sim:stop()
    assert(ok, err)
  end)
end)
