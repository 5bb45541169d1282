-- The create workflow against the simulator: the guard before anything is
-- sent, the network preflight of the target subnets, one cluster per set of
-- inputs (the token, the existing cluster), ACTIVE and the mode read back.
-- The simulator's /_sim/log is the witness of what reached "AWS".
local simmod = require "helpers.sim"
local create = require "eksegress.workflows.create"

local ROLE = "arn:aws:iam::111122223333:role/eksClusterRole"
-- fleets/explicit.json: a healthy network (nat-instances) and one whose ACL
-- denies outbound 443 (nacl-deny-first).
local GOOD = { "subnet-0a0000000000a0061", "subnet-0a0000000000a0062" }
local GOOD_SG = { "sg-0a0000000000a0061" }
local BAD = { "subnet-0a0000000000a0011", "subnet-0a0000000000a0012" }

local function opts(name, extra)
  local o = { name = name, role_arn = ROLE, subnet_ids = GOOD, security_group_ids = GOOD_SG, poll_seconds = 0.05,
              max_attempts = 400 }
  for k, v in pairs(extra or {}) do o[k] = v end
  return o
end

-- The mutating calls the simulator saw for a cluster of account 1111/us-east-1.
local function calls(sim, name)
  local c = sim:admin("GET", "/_sim/log").clusters["111122223333/us-east-1/" .. name]
  return c and c.calls or {}
end

local function clusters_named(sim, name)
  local n = 0
  for _, c in ipairs(sim:admin("GET", "/_sim/state").clusters) do
    if c.name == name then n = n + 1 end
  end
  return n
end

describe("create workflow", function()
  local sim, client
  before_each(function()
    sim = simmod.start("--time-scale 0.001 --fleet tools/ekssim/fleets/explicit.json")
    client = sim:client()
  end)
  after_each(function()
    client:close()
    sim:stop()
  end)

  it("CUSTOMER_ROUTED without the acknowledgement is refused by the guard before anything is sent", function()
    for _, ack in ipairs({ false, "another-name" }) do
      local res, err = create.run(client, opts("routed", { egress_mode = "CUSTOMER_ROUTED", acknowledge = ack or nil }))
      assert.is_nil(res)
      assert.are.equal("IrreversibleChangeNotAcknowledged", err.code)
      assert.is_true(err.guard)
    end
    assert.are.same({}, sim:admin("GET", "/_sim/log").requests, "nothing was sent, not even a read")
  end)

  it("CUSTOMER_ROUTED with the acknowledgement: created, ACTIVE, the mode read back", function()
    local events = {}
    local res = assert(create.run(client, opts("routed", { egress_mode = "CUSTOMER_ROUTED", acknowledge = "routed",
      on_event = function(ev) events[#events + 1] = ev.type end })))
    assert.are.equal("created", res.outcome)
    assert.are.equal("ACTIVE", res.status)
    assert.are.equal("CUSTOMER_ROUTED", res.egress_mode)
    assert.is_true(res.verified)
    assert.are.equal(0, res.preflight.blocking)
    assert.are.equal("111122223333", res.account)
    local c = calls(sim, "routed")
    assert.are.equal(1, #c)
    assert.are.same({ "CreateCluster", true, "CUSTOMER_ROUTED", res.request_token },
      { c[1].operation, c[1].accepted, c[1].mode, c[1].client_request_token })
    assert.are.equal("preflight", events[1])
    assert.are.same({ "create", "created" }, { events[2], events[3] })
    assert.are.equal("done", events[#events])
  end)

  it("blocking findings stop it before CreateCluster; --accept-network-risk creates anyway", function()
    local res = assert(create.run(client, opts("risky", { subnet_ids = BAD, security_group_ids = {} })))
    assert.are.equal("blocked", res.outcome)
    assert.are.same({ "nacl_outbound_443" }, res.preflight.blocking_ids)
    assert.are.same({}, calls(sim, "risky"))
    res = assert(create.run(client, opts("risky", { subnet_ids = BAD, security_group_ids = {},
      accept_network_risk = true })))
    assert.are.equal("created", res.outcome)
    assert.are.equal("ACTIVE", res.status)
    assert.are.equal("AWS_MANAGED", res.egress_mode)
    assert.are.equal(1, #calls(sim, "risky"))
  end)

  it("--no-wait returns once EKS accepted it; a re-run finds the cluster and sends nothing more", function()
    local res = assert(create.run(client, opts("later", { wait = false })))
    assert.are.equal("created", res.outcome)
    assert.are.equal("CREATING", res.status)
    assert.is_true(res.verified)
    local again = assert(create.run(client, opts("later")))
    assert.are.equal("existing", again.outcome)
    assert.are.equal("ACTIVE", again.status)
    assert.are.equal(res.request_token, again.request_token)
    assert.are.equal(1, #calls(sim, "later"))
    assert.are.equal(1, clusters_named(sim, "later"))
  end)

  it("the same inputs give the same token; other inputs another", function()
    local a = create.request_token("us-east-1", opts("x"))
    assert.are.equal(a, create.request_token("us-east-1", opts("x", { subnet_ids = { GOOD[2], GOOD[1] } })))
    assert.matches("^%x+%-%x+%-%x+%-%x+%-%x+$", a)
    assert.are_not.equal(a, create.request_token("us-east-1", opts("x", { egress_mode = "CUSTOMER_ROUTED" })))
    assert.are_not.equal(a, create.request_token("us-west-2", opts("x")))
  end)

  it("responses lost after EKS accepted: every retry carries the same token, one cluster exists", function()
    sim:admin("POST", "/_sim/faults", { reset = true, drop_rate = "1@CreateCluster", drop_when = "after" })
    local flaky = sim:client{ max_attempts = 3, backoff_base = 0.001 }
    local res, err = create.run(flaky, opts("lost"))
    flaky:close()
    assert.is_nil(res)
    assert.matches("^Connection", err.code)
    -- Every attempt reached the simulator (the engine, and libcurl on a
    -- connection that died, retry): the first made the cluster, the others replayed.
    local c = calls(sim, "lost")
    assert.is_true(#c >= 2)
    for i, call in ipairs(c) do
      assert.is_true(call.accepted)
      assert.are.equal(i > 1, call.replay == true)
      assert.are.equal(c[1].client_request_token, call.client_request_token)
    end
    assert.are.equal(1, clusters_named(sim, "lost"))
    -- The next run finds it and waits for it.
    sim:admin("POST", "/_sim/faults", { reset = true })
    res = assert(create.run(client, opts("lost")))
    assert.are.equal("existing", res.outcome)
    assert.are.equal("ACTIVE", res.status)
    assert.are.equal(#c, #calls(sim, "lost"))
  end)

  it("a name taken by a cluster with other settings is reported and left alone", function()
    local res, err = create.run(client, opts("nat-instance-ok", { subnet_ids = BAD }))
    assert.is_nil(res)
    assert.are.equal("ClusterExists", err.code)
    assert.matches("subnets subnet%-0a0000000000a0061,subnet%-0a0000000000a0062 %(asked", err.message)
    assert.matches("nothing was created", err.message, 1, true)
    assert.are.same({}, calls(sim, "nat-instance-ok"))
  end)

  it("subnets that do not exist stop it before CreateCluster", function()
    local res, err, partial = create.run(client,
      opts("ghost", { subnet_ids = { GOOD[1], "subnet-0fffffffffffffff0" } }))
    assert.is_nil(res)
    assert.are.equal("InvalidSubnetID.NotFound", err.code)
    assert.matches("subnet%-0fffffffffffffff0", err.message)
    assert.is_table(partial.preflight)
    assert.are.same({}, calls(sim, "ghost"))
  end)

  it("raises on misuse", function()
    local function raises(pattern, o)
      local ok, e = pcall(create.run, client, o)
      assert.is_false(ok)
      assert.matches(pattern, tostring(e))
    end
    raises("name must be an EKS cluster name", opts("bad name"))
    raises("role_arn must be an IAM role ARN", opts("x", { role_arn = "eksClusterRole" }))
    raises('subnet_ids: "sg%-1" is not a subnet id', opts("x", { subnet_ids = { "sg-1" } }))
    raises("egress_mode must be AWS_MANAGED or CUSTOMER_ROUTED", opts("x", { egress_mode = "CUSTOMER_ISOLATED" }))
    raises('unknown option "subnets"', opts("x", { subnets = GOOD }))
  end)
end)

describe("create workflow: a cluster that ends FAILED", function()
  it("is a WaiterFailure naming the status", function()
    local sim = simmod.start("--time-scale 0")
    local ok, err = pcall(function()
      local env = { AWS_ACCESS_KEY_ID = "AKIAEKSSIM0000000002",
                    AWS_SECRET_ACCESS_KEY = "ekssim/SecondAccount/Secret+EXAMPLEKEY02" }
      local client = sim:client{ env_extra = env }
      local c = assert(client:call("eks", "DescribeCluster", { name = "dev-failed" })).cluster
      local vpc = c.resourcesVpcConfig
      local res, werr = create.run(client, { name = "dev-failed", role_arn = c.roleArn, subnet_ids = vpc.subnetIds,
        security_group_ids = vpc.securityGroupIds, egress_mode = vpc.controlPlaneEgressMode, poll_seconds = 0 })
      client:close()
      assert.is_nil(res)
      assert.are.equal("WaiterFailure", werr.code)
      assert.matches("dev%-failed is FAILED", werr.message)
      assert.is_nil(sim:admin("GET", "/_sim/log").clusters["444455556666/us-east-1/dev-failed"])
    end)
    sim:stop()
    assert(ok, err)
  end)
end)
