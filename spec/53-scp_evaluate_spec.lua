-- The IAM policy evaluator (eksegress.workflows.scp.evaluate): condition
-- operators with the absent-key and IfExists traps, statement matching, and the
-- decision with SCP semantics. Every expected value is written by hand from the
-- IAM User Guide ("Condition operators", "Policy evaluation logic").
local evaluate = require "eksegress.workflows.scp.evaluate"

local MODE = "eks:controlPlaneEgressMode"

local function holds(op, key, values, keys)
  local ok, why = evaluate.condition(op, key, values, keys)
  assert(ok ~= nil, tostring(why))
  return ok
end

describe("condition operators", function()
  it("StringEquals: case-sensitive, values ORed, an absent key does not match", function()
    assert.is_true(holds("StringEquals", MODE, "CUSTOMER_ROUTED", { [MODE] = "CUSTOMER_ROUTED" }))
    assert.is_false(holds("StringEquals", MODE, "CUSTOMER_ROUTED", { [MODE] = "customer_routed" }))
    assert.is_true(holds("StringEquals", MODE, { "AWS_MANAGED", "CUSTOMER_ROUTED" }, { [MODE] = "CUSTOMER_ROUTED" }))
    assert.is_false(holds("StringEquals", MODE, "CUSTOMER_ROUTED", {}))
  end)

  it("StringNotEquals: true on an absent key (the documented SCP's trap), NOR over values", function()
    assert.is_true(holds("StringNotEquals", MODE, "CUSTOMER_ROUTED", {}))
    assert.is_false(holds("StringNotEquals", MODE, "CUSTOMER_ROUTED", { [MODE] = "CUSTOMER_ROUTED" }))
    assert.is_true(holds("StringNotEquals", MODE, "CUSTOMER_ROUTED", { [MODE] = "AWS_MANAGED" }))
    assert.is_false(holds("StringNotEquals", MODE, { "AWS_MANAGED", "CUSTOMER_ROUTED" }, { [MODE] = "AWS_MANAGED" }))
    assert.is_true(holds("StringNotEquals", MODE, { "AWS_MANAGED", "CUSTOMER_ROUTED" },
      { [MODE] = "CUSTOMER_ISOLATED" }))
  end)

  it("IfExists: an absent key matches, also for a negated operator", function()
    assert.is_true(holds("StringEqualsIfExists", MODE, "CUSTOMER_ROUTED", {}))
    assert.is_false(holds("StringEqualsIfExists", MODE, "CUSTOMER_ROUTED", { [MODE] = "AWS_MANAGED" }))
    -- the trap: StringNotEqualsIfExists does not make an SCP tolerate a request without the key
    assert.is_true(holds("StringNotEqualsIfExists", MODE, "CUSTOMER_ROUTED", {}))
    assert.is_false(holds("StringNotEqualsIfExists", MODE, "CUSTOMER_ROUTED", { [MODE] = "CUSTOMER_ROUTED" }))
  end)

  it("Null tests presence only", function()
    assert.is_true(holds("Null", MODE, "true", {}))
    assert.is_false(holds("Null", MODE, "true", { [MODE] = "AWS_MANAGED" }))
    assert.is_true(holds("Null", MODE, "false", { [MODE] = "AWS_MANAGED" }))
    assert.is_false(holds("Null", MODE, "false", {}))
    assert.is_true(holds("Null", MODE, false, { [MODE] = "" }))
  end)

  it("IgnoreCase variants", function()
    assert.is_true(holds("StringEqualsIgnoreCase", MODE, "customer_routed", { [MODE] = "CUSTOMER_ROUTED" }))
    assert.is_false(holds("StringNotEqualsIgnoreCase", MODE, "customer_routed", { [MODE] = "CUSTOMER_ROUTED" }))
    assert.is_true(holds("StringNotEqualsIgnoreCase", MODE, "customer_routed", {}))
  end)

  it("StringLike / StringNotLike: * any run, ? one character", function()
    assert.is_true(holds("StringLike", "aws:PrincipalArn", "arn:aws:iam::*:role/Break*",
      { ["aws:PrincipalArn"] = "arn:aws:iam::111122223333:role/BreakGlass" }))
    assert.is_true(holds("StringLike", "k", "a?c", { k = "abc" }))
    assert.is_false(holds("StringLike", "k", "a?c", { k = "abbc" }))
    assert.is_false(holds("StringLike", "k", "a.c", { k = "abc" })) -- a dot is not a wildcard
    assert.is_true(holds("StringLike", "k", "100%", { k = "100%" }))
    assert.is_true(holds("StringNotLike", "k", "a*", {}))
    assert.is_false(holds("StringNotLike", "k", "a*", { k = "abc" }))
  end)

  it("ArnLike / ArnEquals match the six ARN parts one by one; ArnNotLike holds on an absent key", function()
    local k = { ["aws:PrincipalArn"] = "arn:aws:iam::111122223333:role/ops/BreakGlass" }
    assert.is_true(holds("ArnLike", "aws:PrincipalArn", "arn:aws:iam::*:role/*", k))
    assert.is_true(holds("ArnEquals", "aws:PrincipalArn", "arn:aws:iam::111122223333:role/ops/BreakGlass", k))
    assert.is_true(holds("ArnLike", "aws:PrincipalArn", "arn:aws:iam::111122223333:role/ops/Break?lass", k))
    assert.is_false(holds("ArnLike", "aws:PrincipalArn", "arn:aws:iam::*:user/*", k))
    -- a pattern with fewer than six parts matches nothing, even with a wildcard at the end
    assert.is_false(holds("ArnLike", "aws:PrincipalArn", "arn:aws:iam::*", k))
    assert.is_false(holds("ArnLike", "aws:PrincipalArn", "arn:aws:iam::*:role/*", { ["aws:PrincipalArn"] = "role" }))
    assert.is_false(holds("ArnNotLike", "aws:PrincipalArn",
      { "arn:aws:iam::*:role/x", "arn:aws:iam::*:role/ops/*" }, k))
    assert.is_true(holds("ArnNotLike", "aws:PrincipalArn", "arn:aws:iam::*:role/x", k))
    assert.is_true(holds("ArnNotLike", "aws:PrincipalArn", "arn:aws:iam::*:role/x", {}))
    assert.is_true(holds("ArnNotEquals", "aws:PrincipalArn", "arn:aws:iam::*:role/x", k))
  end)

  it("Bool compares booleans and their text", function()
    assert.is_true(holds("Bool", "eks:endpointPublicAccess", "false", { ["eks:endpointPublicAccess"] = false }))
    assert.is_true(holds("Bool", "aws:SecureTransport", true, { ["aws:SecureTransport"] = "TRUE" }))
    assert.is_false(holds("Bool", "eks:endpointPublicAccess", "true", { ["eks:endpointPublicAccess"] = false }))
    assert.is_false(holds("Bool", "eks:endpointPublicAccess", "true", {}))
    assert.is_true(holds("BoolIfExists", "eks:endpointPublicAccess", "true", {}))
  end)

  it("Numeric operators", function()
    assert.is_true(holds("NumericLessThan", "n", "10", { n = 9 }))
    assert.is_false(holds("NumericLessThan", "n", "10", { n = "10" }))
    assert.is_true(holds("NumericGreaterThanEquals", "n", 10, { n = "10" }))
    assert.is_true(holds("NumericNotEquals", "n", "10", { n = "11" }))
    assert.is_false(holds("NumericEquals", "n", "10", { n = "ten" }))
  end)

  it("condition key names are case-insensitive", function()
    assert.is_true(holds("StringEquals", "EKS:ControlPlaneEgressMode", "CUSTOMER_ROUTED",
      { [MODE] = "CUSTOMER_ROUTED" }))
  end)

  it("ForAnyValue / ForAllValues over multi-valued keys, including the absent-key trap", function()
    local tags = { ["aws:TagKeys"] = { "team", "env" } }
    assert.is_true(holds("ForAnyValue:StringEquals", "aws:TagKeys", "env", tags))
    assert.is_false(holds("ForAllValues:StringEquals", "aws:TagKeys", "env", tags))
    assert.is_true(holds("ForAllValues:StringEquals", "aws:TagKeys", { "env", "team" }, tags))
    -- ForAllValues holds vacuously when the key is absent; ForAnyValue does not
    assert.is_true(holds("ForAllValues:StringEquals", "aws:TagKeys", "env", {}))
    assert.is_false(holds("ForAnyValue:StringEquals", "aws:TagKeys", "env", {}))
    assert.is_true(holds("ForAnyValue:StringNotEquals", "aws:TagKeys", "env", tags))
    assert.is_false(holds("ForAllValues:StringNotEquals", "aws:TagKeys", "env", tags))
  end)

  it("reports an operator it does not implement instead of guessing", function()
    for _, op in ipairs({ "IpAddress", "DateGreaterThan", "ForSomeValues:StringEquals", "StringEqualz" }) do
      local ok, err = evaluate.condition(op, "k", "v", { k = "v" })
      assert.is_nil(ok, op)
      assert.equal("UnsupportedCondition", err.code, op)
      assert.matches("UnsupportedCondition: ", tostring(err), 1, true)
    end
    local ok, err = evaluate.condition("Null", "k", "maybe", {})
    assert.is_nil(ok)
    assert.equal("UnsupportedCondition", err.code)
  end)
end)

describe("evaluate.decide", function()
  local ctx = function(action, keys, resource)
    return { action = action, keys = keys or {}, resource = resource }
  end

  it("matches actions case-insensitively with wildcards, and NotAction", function()
    local p = { Version = "2012-10-17",
                Statement = { { Sid = "D", Effect = "Deny", Action = "EKS:Update*", Resource = "*" } } }
    assert.equal("deny", evaluate.decide(p, ctx("eks:UpdateClusterConfig")).decision)
    assert.equal("allow", evaluate.decide(p, ctx("eks:CreateCluster")).decision)
    p.Statement[1].Action, p.Statement[1].NotAction = nil, { "eks:Describe*", "eks:List*" }
    assert.equal("deny", evaluate.decide(p, ctx("eks:CreateCluster")).decision)
    assert.equal("allow", evaluate.decide(p, ctx("eks:ListClusters")).decision)
  end)

  it("matches resources by ARN wildcard, and NotResource", function()
    local p = { Statement = { { Effect = "Deny", Action = "eks:*", Resource = "arn:aws:eks:*:*:cluster/prod-*" } } }
    assert.equal("deny", evaluate.decide(p, ctx("eks:UpdateClusterConfig", {},
      "arn:aws:eks:us-east-1:111122223333:cluster/prod-api")).decision)
    assert.equal("allow", evaluate.decide(p, ctx("eks:UpdateClusterConfig", {},
      "arn:aws:eks:us-east-1:111122223333:cluster/dev-api")).decision)
    p.Statement[1].Resource, p.Statement[1].NotResource = nil, "arn:aws:eks:*:*:cluster/prod-*"
    assert.equal("allow", evaluate.decide(p, ctx("eks:UpdateClusterConfig", {},
      "arn:aws:eks:us-east-1:111122223333:cluster/prod-api")).decision)
  end)

  it("an explicit deny wins over an allow", function()
    local p = { Statement = {
      { Sid = "All", Effect = "Allow", Action = "*", Resource = "*" },
      { Sid = "NoEgressChange", Effect = "Deny", Action = "eks:UpdateClusterConfig", Resource = "*",
        Condition = { Null = { [MODE] = "false" } } } } }
    local r = evaluate.decide(p, ctx("eks:UpdateClusterConfig", { [MODE] = "CUSTOMER_ROUTED" }))
    assert.equal("deny", r.decision)
    assert.equal("NoEgressChange", r.statement)
    r = evaluate.decide(p, ctx("eks:UpdateClusterConfig"))
    assert.equal("allow", r.decision)
    assert.equal("All", r.statement)
  end)

  it("a deny-only SCP is evaluated beside FullAWSAccess, and says so", function()
    local p = { Statement = { { Effect = "Deny", Action = "eks:CreateCluster", Resource = "*",
                                Condition = { StringNotEquals = { [MODE] = "CUSTOMER_ROUTED" } } } } }
    local r = evaluate.decide(p, ctx("eks:CreateCluster", { [MODE] = "CUSTOMER_ROUTED" }))
    assert.same("allow", r.decision)
    assert.equal("FullAWSAccess", r.statement)
    assert.matches("FullAWSAccess", r.reason, 1, true)
    r = evaluate.decide(p, ctx("eks:CreateCluster", { [MODE] = "CUSTOMER_ROUTED" }), { full_aws_access = false })
    assert.equal("implicit_deny", r.decision)
    r = evaluate.decide(p, ctx("eks:CreateCluster"))
    assert.equal("deny", r.decision)
    assert.equal(1, r.statement) -- no Sid: the statement's index
  end)

  it("a policy with Allow statements is an allow list: nothing matching is an implicit deny", function()
    local p = { Statement = { { Effect = "Allow", Action = "ec2:Describe*", Resource = "*" } } }
    assert.equal("allow", evaluate.decide(p, ctx("ec2:DescribeVpcs")).decision)
    assert.equal("implicit_deny", evaluate.decide(p, ctx("ec2:CreateVpc")).decision)
  end)

  it("every condition block and key must hold (AND)", function()
    local p = { Statement = { { Effect = "Deny", Action = "eks:UpdateClusterConfig", Resource = "*",
      Condition = { Null = { [MODE] = "false" }, StringNotEquals = { [MODE] = "CUSTOMER_ROUTED" },
                    ArnNotLike = { ["aws:PrincipalArn"] = "arn:aws:iam::*:role/BreakGlass" } } } } }
    local admin = "arn:aws:iam::111122223333:role/Admin"
    local glass = "arn:aws:iam::111122223333:role/BreakGlass"
    assert.equal("deny", evaluate.decide(p, ctx("eks:UpdateClusterConfig",
      { [MODE] = "AWS_MANAGED", ["aws:PrincipalArn"] = admin })).decision)
    assert.equal("allow", evaluate.decide(p, ctx("eks:UpdateClusterConfig",
      { [MODE] = "AWS_MANAGED", ["aws:PrincipalArn"] = glass })).decision)
    assert.equal("allow", evaluate.decide(p, ctx("eks:UpdateClusterConfig", { ["aws:PrincipalArn"] = admin })).decision)
  end)

  it("accepts a single statement object", function()
    local p = { Statement = { Effect = "Deny", Action = "*", Resource = "*" } }
    assert.equal("deny", evaluate.decide(p, ctx("s3:GetObject")).decision)
  end)

  it("returns nil, err for a malformed policy or an unsupported operator", function()
    local r, err = evaluate.decide({ Statement = { { Effect = "Deny", Resource = "*" } } }, ctx("eks:CreateCluster"))
    assert.is_nil(r)
    assert.equal("MalformedPolicy", err.code)
    r, err = evaluate.decide({ Statement = { { Effect = "Maybe", Action = "*", Resource = "*" } } }, ctx("x:y"))
    assert.is_nil(r)
    assert.equal("MalformedPolicy", err.code)
    r, err = evaluate.decide({ Version = "2012-10-17" }, ctx("x:y"))
    assert.is_nil(r)
    assert.equal("MalformedPolicy", err.code)
    r, err = evaluate.decide({ Statement = { { Effect = "Deny", Action = "*", Resource = "*",
      Condition = { DateLessThan = { ["aws:CurrentTime"] = "2030-01-01T00:00:00Z" } } } } }, ctx("x:y"))
    assert.is_nil(r)
    assert.equal("UnsupportedCondition", err.code)
  end)

  it("raises on misuse", function()
    assert.has_error(function() evaluate.decide(nil, ctx("x:y")) end)
    assert.has_error(function() evaluate.decide({}, {}) end)
    assert.has_error(function() evaluate.decide({}, { action = "x:y", keys = "k" }) end)
    assert.has_error(function() evaluate.matrix("policy") end)
  end)
end)

describe("evaluate.decide_union (identity policies)", function()
  it("any allow allows, any explicit deny wins, none is an implicit deny", function()
    local allow = { Statement = { { Effect = "Allow", Action = "ec2:Describe*", Resource = "*" } } }
    local deny = { Statement = { { Effect = "Deny", Action = "ec2:DescribeDhcpOptions", Resource = "*" } } }
    local q = { action = "ec2:DescribeDhcpOptions", resource = "*" }
    assert.equal("allow", evaluate.decide_union({ allow }, q).decision)
    local r = evaluate.decide_union({ allow, deny }, q)
    assert.equal("deny", r.decision)
    assert.equal(2, r.policy)
    assert.equal("implicit_deny", evaluate.decide_union({ deny }, { action = "ec2:DescribeVpcs" }).decision)
    assert.equal("implicit_deny", evaluate.decide_union({}, q).decision)
  end)
end)
