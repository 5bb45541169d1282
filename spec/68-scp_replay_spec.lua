-- Issue 13 §1: the generated SCP behaves in the simulator as the evaluator
-- says. The --explain matrix of each variant is replayed as real CreateCluster
-- / UpdateClusterConfig calls against the simulator with the generated policy
-- loaded on a member account (POST /_sim/scp on 444455556666; the management
-- account is never subject to SCPs). Every row's outcome in the simulator
-- equals the evaluator's: AccessDeniedException for a denied row; for an
-- allowed row, no SCP denial (the call succeeds here, or fails for another
-- reason EKS has, never AccessDenied).
--
-- Which rows the simulator witnesses, and how:
--   * through eksegress (client -> engine -> guard -> simulator): every create
--     row, the updates to CUSTOMER_ROUTED and CUSTOMER_ISOLATED (acknowledged,
--     the latter with allow_undocumented), the logging, endpoint-access and
--     deletion-protection updates, and the exempt principal's create;
--   * the two rows that set AWS_MANAGED on an existing cluster (the ordinary
--     caller's and the exempt principal's) are never sent by eksegress: its guard
--     answers NoChange on an AWS_MANAGED cluster and IrreversibleTransitionRefused
--     on a CUSTOMER_ROUTED one (asserted here, with the simulator's log showing
--     nothing arrived). The simulator's decision on them is witnessed with the
--     simulator suite's own signer (spec/helpers/raw_eks.py), outside eksegress.
local cjson = require "cjson"
local core = require "eksegress.core"
local eksegress = require "eksegress"
local credentials = require "eksegress.credentials"
local role = require "eksegress.credentials.role"
local scp = require "eksegress.workflows.scp"
local simmod = require "helpers.sim"

local MEMBER, REGION = "444455556666", "us-east-1"
local MEMBER_ENV = { AWS_ACCESS_KEY_ID = "AKIAEKSSIM0000000002",
                     AWS_SECRET_ACCESS_KEY = "ekssim/SecondAccount/Secret+EXAMPLEKEY02" }
local EXEMPT_ROLE = "arn:aws:iam::444455556666:role/EksEgressAdmin"
local CLUSTER_ROLE = "arn:aws:iam::444455556666:role/eksClusterRole"
local MODE_KEY = "eks:controlPlaneEgressMode"

local function mode_of(row)
  return row.keys[MODE_KEY]
end

local function calls_for(sim, name)
  local log = sim:admin("GET", "/_sim/log")
  local c = log.clusters[MEMBER .. "/" .. REGION .. "/" .. name]
  return c and c.calls or {}
end

-- One signed request outside eksegress (see the header).
local function raw(sim, creds, method, path, body)
  local akid, secret, token = creds:unwrap()
  local input = cjson.encode{ port = sim.port, akid = akid, secret = secret, token = token or cjson.null,
                              region = REGION, method = method, path = path, body = body }
  local file = os.tmpname()   -- mode 0600: the request (with its keys) stays out of argv
  local f = assert(io.open(file, "wb"))
  f:write(input)
  f:close()
  local r = assert(core.run_process({ os.getenv("EKSEGRESS_PYTHON") or "python3", "spec/helpers/raw_eks.py", file },
    { timeout_ms = 60000 }))
  os.remove(file)
  assert(r.status == 0, r.stderr)
  return cjson.decode(r.stdout)
end

local function replay_variant(variant)
  describe("the " .. variant .. " variant", function()
    local sim, member, exempt, member_arn, subnets, gen, rows
    setup(function()
      sim = simmod.start("--time-scale 0")
      member = sim:client{ env_extra = MEMBER_ENV }
      exempt = assert(eksegress.client{ env = sim:env(MEMBER_ENV), credentials = role.new{
        source = member.credentials, role_arn = EXEMPT_ROLE, session_name = "scp-replay" } })
      member_arn = assert(member:whoami()).Arn
      subnets = assert(member:call("eks", "DescribeCluster", { name = "dev-a" })).cluster.resourcesVpcConfig.subnetIds
      gen = assert(scp.generate{ variant = variant, exempt_role_arns = { EXEMPT_ROLE } })
      rows = assert(scp.matrix(gen.policy, { principal_arn = member_arn, exempt_role_arns = { EXEMPT_ROLE },
        cluster_arn = "arn:aws:eks:us-east-1:444455556666:cluster/dev-a" }))
      local loaded = sim:admin("POST", "/_sim/scp", { account = MEMBER, policy = gen.policy })
      assert(loaded.account == MEMBER)
    end)
    teardown(function()
      exempt:close()
      member:close()
      sim:stop()
    end)

    it("is in force on the member account as generated, beside FullAWSAccess", function()
      local s = sim:admin("GET", "/_sim/scp?account=" .. MEMBER)
      assert.are.equal(2, #s.policies)
      assert.are.same(cjson.decode(gen.json), s.policies[2])
    end)

    -- The client (and the acknowledgement the guard wants) for a row.
    local function client_for(row)
      return row.principal == member_arn and member or exempt
    end

    local function create(row)
      local name = ("scp-%s-%s"):format(variant, row.id:gsub("_", "-"))
      local m = mode_of(row)
      local vpc = { subnetIds = subnets, controlPlaneEgressMode = m }
      local out, err = client_for(row):call("eks", "CreateCluster", { name = name, roleArn = CLUSTER_ROLE,
        resourcesVpcConfig = vpc }, { acknowledge = (m == "CUSTOMER_ROUTED" or m == "CUSTOMER_ISOLATED") and name
        or nil, allow_undocumented = m == "CUSTOMER_ISOLATED" })
      return out, err, name
    end

    local UPDATES = {
      update_logging = { logging = { clusterLogging = { { types = { "api", "audit" }, enabled = true } } } },
      update_endpoint_access = { resourcesVpcConfig = { endpointPrivateAccess = true, endpointPublicAccess = true } },
      update_deletion_protection = { deletionProtection = true },
    }

    local function update(row)
      local m = mode_of(row)
      local params = UPDATES[row.id] or { resourcesVpcConfig = { controlPlaneEgressMode = m } }
      params.name = "dev-a"
      local out, err = client_for(row):call("eks", "UpdateClusterConfig", params, {
        acknowledge = m and "dev-a" or nil, allow_undocumented = m == "CUSTOMER_ISOLATED" })
      return out, err, "dev-a"
    end

    local function assert_outcome(row, out, err, name)
      if row.allowed then
        assert.is_not_nil(out, row.id .. ": " .. tostring(err))
        assert.is_nil(err)
      else
        assert.is_nil(out, row.id)
        assert.are.equal("AccessDeniedException", err.code, row.id)
        assert.are.equal(403, err.status)
        assert.matches("explicit deny in a service control policy", err.message, 1, true)
      end
      -- The simulator's log shows the call arrived and how it ended.
      local calls = calls_for(sim, name)
      local last = calls[#calls]
      assert.is_not_nil(last, row.id .. ": the call reached the simulator")
      assert.are.equal(not row.allowed, last.error == "AccessDeniedException", row.id)
    end

    -- In order: the switch of dev-a to CUSTOMER_ROUTED comes last, after every
    -- row that needs it AWS_MANAGED.
    local SENT = { "create_without_key", "create_aws_managed", "create_customer_routed", "create_customer_isolated",
                   "exempt_create_without_key", "update_logging", "update_endpoint_access",
                   "update_deletion_protection", "update_mode_customer_isolated" }
    local RAW = { "update_mode_aws_managed", "exempt_update_mode_aws_managed" }
    local LAST = "update_mode_customer_routed"

    it("covers every matrix row: sent through eksegress, or refused by its guard and sent raw", function()
      local ids = {}
      for _, r in ipairs(rows) do ids[#ids + 1] = r.id end
      table.sort(ids)
      local want = { LAST }
      for _, id in ipairs(SENT) do want[#want + 1] = id end
      for _, id in ipairs(RAW) do want[#want + 1] = id end
      table.sort(want)
      assert.are.same(want, ids)
    end)

    local function sent(id)
      it(("row %s: the simulator decides as the evaluator (sent through eksegress)"):format(id), function()
        local row
        for _, r in ipairs(rows) do if r.id == id then row = r end end
        local out, err, name
        if row.action == "eks:CreateCluster" then
          out, err, name = create(row)
        else
          out, err, name = update(row)
        end
        assert_outcome(row, out, err, name)
        if row.allowed and row.action == "eks:CreateCluster" then
          assert.are.equal(name, out.cluster.name)
          assert.are.equal(mode_of(row) or "AWS_MANAGED", out.cluster.resourcesVpcConfig.controlPlaneEgressMode)
        end
      end)
    end

    for _, id in ipairs(SENT) do sent(id) end

    for _, id in ipairs(RAW) do
      it(("row %s: eksegress's guard never sends it; the simulator decides it as the evaluator (raw signer)")
        :format(id), function()
        local row
        for _, r in ipairs(rows) do if r.id == id then row = r end end
        local c = client_for(row)
        local before = #calls_for(sim, "dev-routed")
        -- On a CUSTOMER_ROUTED cluster it is a revert: refused, never sent.
        local out, err = c:call("eks", "UpdateClusterConfig", { name = "dev-routed",
          resourcesVpcConfig = { controlPlaneEgressMode = "AWS_MANAGED" } }, { acknowledge = "dev-routed" })
        assert.is_nil(out)
        assert.are.equal("IrreversibleTransitionRefused", err.code)
        assert.are.equal(before, #calls_for(sim, "dev-routed"))
        -- On an AWS_MANAGED cluster it changes nothing: a no-op, never sent.
        local before_a = #calls_for(sim, "dev-a")
        local noop = assert(c:call("eks", "UpdateClusterConfig", { name = "dev-a",
          resourcesVpcConfig = { controlPlaneEgressMode = "AWS_MANAGED" } }))
        assert.is_true(noop.noop)
        assert.are.equal(before_a, #calls_for(sim, "dev-a"))
        -- The simulator's own decision, through the raw signer.
        local creds = assert(credentials.resolve(c.credentials, c.ctx))
        local r = raw(sim, creds, "POST", "/clusters/dev-a/update-config",
          { resourcesVpcConfig = { controlPlaneEgressMode = "AWS_MANAGED" } })
        if row.allowed then
          -- Not an SCP denial: EKS's own answer (already AWS_MANAGED).
          assert.are.equal(400, r.status)
          assert.matches("^InvalidParameterException", r.error or r.body.__type)
        else
          assert.are.equal(403, r.status)
          assert.matches("AccessDeniedException", r.error or r.body.__type)
        end
      end)
    end

    sent(LAST)
  end)
end

describe("the SCP matrix replayed against the simulator (issue 13)", function()
  replay_variant("safe")
  replay_variant("documented")
end)
