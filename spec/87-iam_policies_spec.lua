-- The IAM policies of docs/iam/ (README "Using it against a real AWS account")
-- are enough for the commands they are written for: each command runs against
-- the simulator, and every AWS operation it sent (the simulator's /_sim/log:
-- service, operation, the principal that signed it) must be allowed by that
-- command's policies, as IAM's evaluator of this project
-- (eksegress.workflows.scp.evaluate, identity-policy mode: no Allow is an
-- implicit deny) decides it. A command that starts calling a new API fails here
-- until its policy names it.
--
-- Not checked, on purpose: sts:GetCallerIdentity (AWS lets every principal call
-- it; no policy can deny it) and the Kubernetes API calls of token/reach
-- (authorised by the cluster's RBAC, not IAM; the README lists them).
local cjson = require "cjson"
local evaluate = require "eksegress.workflows.scp.evaluate"
local simmod = require "helpers.sim"
local cli = require "helpers.cli"
local mh = require "helpers.migrate"

local SECOND = { AWS_ACCESS_KEY_ID = "AKIAEKSSIM0000000002",
                 AWS_SECRET_ACCESS_KEY = "ekssim/SecondAccount/Secret+EXAMPLEKEY02" }

local function policy(name)
  return cjson.decode(mh.read("docs/iam/" .. name .. ".json"))
end

-- The operations of the log after `since`, with the request context IAM
-- would evaluate, grouped by who signed them (the caller or a role it assumed).
local function operations(sim, since, role_arn)
  local log = mh.log(sim, since)
  local out = {}
  -- the roles this run assumed: the one it was told to (role_arn), and those
  -- it went on to sign with
  local assumed = role_arn and { [role_arn] = true } or {}
  for _, r in ipairs(log.requests) do
    local account, role = (r.principal or ""):match("^arn:aws:sts::(%d+):assumed%-role/([^/]+)/")
    if role then assumed["arn:aws:iam::" .. account .. ":role/" .. role] = true end
  end
  local updates = {}
  for _, r in ipairs(log.requests) do
    if r.service == "eks" and r.operation == "UpdateClusterConfig" then
      updates[r.request_id] = true -- evaluated below, with the mode it set
    elseif r.service ~= "kubernetes" and not (r.service == "sts" and r.operation == "GetCallerIdentity") then
      local ctx = { action = r.service .. ":" .. r.operation, resource = "*", keys = {},
                    member = (r.principal or ""):find(":assumed-role/", 1, true) ~= nil, seq = r.seq }
      if r.service == "eks" and r.cluster then
        ctx.resource = ("arn:aws:eks:%s:%s:cluster/%s"):format(r.region, r.account, r.cluster)
      end
      if ctx.action == "sts:AssumeRole" then
        for arn in pairs(assumed) do
          local c = { action = ctx.action, resource = arn, keys = {}, member = false, seq = r.seq }
          out[#out + 1] = c
        end
      else
        out[#out + 1] = ctx
      end
    end
  end
  -- a mode change carries its condition key (migrate.json allows CUSTOMER_ROUTED only)
  for key, c in pairs(log.clusters or {}) do
    local account, region, name = key:match("^([^/]+)/([^/]+)/(.+)$")
    for _, call in ipairs(c.calls or {}) do
      if call.operation == "UpdateClusterConfig" and updates[call.request_id] then
        updates[call.request_id] = nil
        out[#out + 1] = { action = "eks:UpdateClusterConfig", member = (call.principal or ""):find(":assumed-role/", 1,
          true) ~= nil, resource = ("arn:aws:eks:%s:%s:cluster/%s"):format(region, account, name),
          keys = { ["eks:controlPlaneEgressMode"] = call.mode } }
      end
    end
  end
  assert(next(updates) == nil, "an UpdateClusterConfig of the log has no per-cluster record")
  return out, log.last_seq
end

-- Assert every operation is allowed: the caller's by `caller`, an assumed
-- role's by `member` (lists of policy file names). Returns the actions seen.
local function assert_allowed(ops, caller, member)
  local seen = {}
  for _, op in ipairs(ops) do
    local names = op.member and member or caller
    assert(names, ("%s was signed by an assumed role, and this command has no member-role policy"):format(op.action))
    local docs = {}
    for i, n in ipairs(names) do docs[i] = policy(n) end
    local r = assert(evaluate.decide_union(docs, op))
    assert(r.decision == "allow", ("%s on %s is not allowed by docs/iam/%s.json: %s"):format(op.action, op.resource,
      table.concat(names, ".json + docs/iam/"), r.reason))
    seen[op.action] = true
  end
  return seen
end

describe("docs/iam policies allow what each command sends", function()
  local sim, dir, since

  setup(function()
    sim = simmod.start("--time-scale 0")
    dir = mh.tmpdir()
    since = 0
  end)
  teardown(function() mh.stop(sim, dir) end)

  -- Run the CLI; return the operations it sent.
  local function run(args, extra, statuses, role_arn)
    local r = cli.run(sim, args, extra)
    assert(statuses[r.status], ("eksegress %s exited %d: %s"):format(table.concat(args, " "), r.status, r.stderr))
    assert.is_nil(r.stderr:find("traceback", 1, true), r.stderr)
    local ops, last = operations(sim, since, role_arn)
    since = last
    assert(#ops > 0, "the command sent nothing to check")
    return ops
  end

  it("audit, one account, every region, with the preflight: audit.json (+ preflight.json)", function()
    local seen = assert_allowed(run({ "audit", "--regions", "all", "--output", "json" }, nil,
      { [1] = true, [2] = true }),
      { "audit" })
    assert.is_true(seen["eks:ListClusters"] and seen["eks:DescribeCluster"] and seen["ec2:DescribeRegions"])
    assert_allowed(run({ "audit", "--region", "eu-west-1", "--preflight", "--output", "json" }, nil, { [1] = true }),
      { "audit", "preflight" })
  end)

  it("audit --organization: audit-organization.json for the caller, audit-member-role.json for the role", function()
    local seen = assert_allowed(run({ "audit", "--organization", "--role-name", "OrganizationAccountAccessRole",
      "--regions", "all", "--output", "json" }, nil, { [1] = true, [2] = true }),
      { "audit-organization" }, { "audit-member-role" })
    assert.is_true(seen["organizations:ListAccounts"] and seen["sts:AssumeRole"])
    -- the trust policy names the actions the caller's policy uses on the role
    local trust = policy("audit-member-trust").Statement[1]
    assert.are.same({ "sts:AssumeRole", "sts:SetSourceIdentity" }, trust.Action)
  end)

  it("preflight: preflight.json (a healthy cluster, a broken one, a role that may not describe)", function()
    assert_allowed(run({ "preflight", "--region", "eu-west-1", "--cluster", "edge-eu", "--cluster", "web-eu",
      "--output", "json" }, nil, { [1] = true }), { "preflight" })
    local seen = assert_allowed(run({ "preflight", "--region", "us-east-2", "--cluster", "dev-role",
      "--output", "json" },
      SECOND, { [1] = true }), { "preflight" })
    assert.is_true(seen["iam:GetRole"] and seen["ec2:DescribeRouteTables"] and seen["eks:DescribeCluster"])
  end)

  it("create: create.json", function()
    local seen = assert_allowed(run({ "create", "--region", "us-east-1", "--name", "iam-check",
      "--role-arn", "arn:aws:iam::111122223333:role/eksClusterRole",
      "--subnets", "subnet-0d49bc36c35d4adaa,subnet-0960f7c5d7bb4a4f8,subnet-0f0c72c36f511a965",
      "--poll-interval", "1", "--output", "json" }, nil, { [0] = true }), { "create" })
    assert.is_true(seen["eks:CreateCluster"])
  end)

  it("plan, apply, resume: migrate.json, and UpdateClusterConfig only to CUSTOMER_ROUTED", function()
    assert_allowed(run({ "plan", "--region", "us-east-1", "--cluster", "prod-api", "--out", dir .. "/one.json",
      "--output", "json" }, nil, { [0] = true }), { "migrate" })
    -- every non-compliant cluster of every region: prod-api, payments and web-eu to migrate
    local plan = dir .. "/p.json"
    assert_allowed(run({ "plan", "--all-noncompliant", "--regions", "all", "--out", plan, "--output", "json" }, nil,
      { [1] = true, [2] = true }), { "migrate" })
    local id = cjson.decode(mh.read(plan)).plan_id
    -- --no-wait: the canary to its end, the other update only sent, so resume has one to wait for
    local seen = assert_allowed(run({ "apply", plan, "--confirm", id, "--no-wait", "--poll-interval", "1",
      "--output", "json" }, nil, { [0] = true }), { "migrate" })
    assert.is_true(seen["eks:UpdateClusterConfig"], "the apply sent its updates")
    seen = assert_allowed(run({ "resume", dir .. "/p.journal", "--poll-interval", "1", "--output", "json" }, nil,
      { [0] = true }), { "migrate" })
    assert.is_true(seen["eks:DescribeUpdate"] or seen["eks:DescribeCluster"], "resume read the update it waited for")
    -- and the condition bites: the same policy refuses a switch to anything else
    local r = evaluate.decide_union({ policy("migrate") }, { action = "eks:UpdateClusterConfig",
      keys = { ["eks:controlPlaneEgressMode"] = "AWS_MANAGED" } })
    assert.are.equal("implicit_deny", r.decision)
  end)

  it("token (with --role-arn) and reach: token-reach.json", function()
    local role = "arn:aws:iam::111122223333:role/EksReadOnly"
    local seen = assert_allowed(run({ "token", "--cluster", "prod-api", "--role-arn", role }, nil, { [0] = true },
      role),
      { "token-reach" })
    assert.is_true(seen["sts:AssumeRole"])
    seen = assert_allowed(run({ "reach", "--region", "us-east-2", "--cluster", "dev-natinst", "--output", "json" },
      SECOND, { [0] = true }), { "token-reach" })
    assert.is_true(seen["eks:DescribeCluster"] and seen["ec2:DescribeVpcs"])
  end)

  it("a command calling an API its policy does not name fails this check", function()
    local ops = { { action = "eks:DeleteCluster", resource = "*", keys = {}, member = false } }
    assert.has_error(function() assert_allowed(ops, { "audit" }) end)
  end)
end)
