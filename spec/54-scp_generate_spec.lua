-- SCP generation (eksegress.workflows.scp) and the --explain matrix. The expected
-- decision of every matrix row is written out by hand from IAM's rules, not
-- computed by the code under test.
local cjson = require "cjson"
local scp = require "eksegress.workflows.scp"

local EXEMPT = "arn:aws:iam::*:role/BreakGlass"

-- row id -> expected decision ("allow" or "deny") and deciding statement
local function check_matrix(rows, expected)
  local seen = {}
  for _, row in ipairs(rows) do
    local want = expected[row.id]
    assert.is_table(want, "unexpected row " .. row.id)
    assert.equal(want[1], row.decision, row.id .. ": " .. tostring(row.reason))
    assert.equal(want[1] == "allow", row.allowed, row.id)
    assert.equal(want[2], row.statement, row.id)
    assert.is_string(row.request)
    seen[row.id] = true
  end
  for id in pairs(expected) do assert.is_true(seen[id], "missing row " .. id) end
end

describe("scp.generate", function()
  it("documented: AWS's own sample, verbatim", function()
    local out = assert(scp.generate{ variant = "documented" })
    assert.same(cjson.decode([[{"Version":"2012-10-17","Statement":[{"Sid":"RequireCustomerRoutedControlPlane",
      "Effect":"Deny","Action":["eks:CreateCluster","eks:UpdateClusterConfig"],"Resource":"*",
      "Condition":{"StringNotEquals":{"eks:controlPlaneEgressMode":"CUSTOMER_ROUTED"}}}]}]]), out.policy)
    assert.equal('{"Version":"2012-10-17","Statement":[{"Sid":"RequireCustomerRoutedControlPlane","Effect":"Deny",'
      .. '"Action":["eks:CreateCluster","eks:UpdateClusterConfig"],"Resource":"*","Condition":{"StringNotEquals":'
      .. '{"eks:controlPlaneEgressMode":"CUSTOMER_ROUTED"}}}]}', out.json)
    assert.equal(#out.json, out.size)
    assert.equal("documented", out.variant)
    assert.equal("CUSTOMER_ROUTED", out.require)
  end)

  it("safe (the default): create must carry the mode; updates are denied only when they carry another", function()
    local out = assert(scp.generate())
    assert.equal("safe", out.variant)
    assert.same(cjson.decode([[{"Version":"2012-10-17","Statement":[
      {"Sid":"DenyCreateClusterWithoutCustomerRouted","Effect":"Deny","Action":"eks:CreateCluster","Resource":"*",
       "Condition":{"StringNotEquals":{"eks:controlPlaneEgressMode":"CUSTOMER_ROUTED"}}},
      {"Sid":"DenyEgressModeOtherThanCustomerRouted","Effect":"Deny","Action":"eks:UpdateClusterConfig",
       "Resource":"*","Condition":{"Null":{"eks:controlPlaneEgressMode":"false"},
       "StringNotEquals":{"eks:controlPlaneEgressMode":"CUSTOMER_ROUTED"}}}]}]]), out.policy)
  end)

  it("exempts principals with ArnNotLike aws:PrincipalArn in every statement", function()
    local out = assert(scp.generate{ exempt_role_arns = { EXEMPT, "arn:aws:iam::111122223333:role/ops/Migrator",
                                                          EXEMPT } })
    assert.same({ EXEMPT, "arn:aws:iam::111122223333:role/ops/Migrator" }, out.exempt_role_arns)
    for _, st in ipairs(out.policy.Statement) do
      assert.same({ ["aws:PrincipalArn"] = out.exempt_role_arns }, st.Condition.ArnNotLike)
    end
  end)

  it("writes valid JSON that decodes to the policy, with no escaped slashes", function()
    for _, variant in ipairs({ "safe", "documented" }) do
      local out = assert(scp.generate{ variant = variant, exempt_role_arns = { EXEMPT } })
      assert.same(out.policy, cjson.decode(out.json))
      assert.is_nil(out.json:find("\\/", 1, true))
      assert.same(out.policy, cjson.decode(scp.to_json(out.policy, { indent = 2 })))
      assert.is_true(out.size <= scp.MAX_SIZE)
    end
  end)

  it("says in plain words what each variant blocks and allows", function()
    local documented = table.concat(assert(scp.generate{ variant = "documented" }).blocks, "\n")
    assert.matches("logging, endpoint%-access and deletion%-protection updates", documented)
    local safe = table.concat(assert(scp.generate{ exempt_role_arns = { EXEMPT } }).blocks, "\n")
    assert.matches("Allows UpdateClusterConfig requests that do not carry the key", safe, 1, true)
    assert.matches("Exempts principals whose ARN matches " .. EXEMPT, safe, 1, true)
    assert.matches("management account", safe, 1, true)
  end)

  it("refuses bad values with an error (nil, err), and raises on misuse", function()
    local cases = {
      { { variant = "strict" }, "InvalidParameter" },
      { { require = "CUSTOMER_ISOLATED" }, "InvalidParameter" },
      { { require = "AWS_MANAGED", variant = "documented" }, "InvalidParameter" },
      { { exempt_role_arns = { "arn:aws:iam::12345:role/x" } }, "InvalidParameter" },
      { { exempt_role_arns = { "arn:aws:iam::111122223333:user/alice" } }, "InvalidParameter" },
      { { exempt_role_arns = { 'arn:aws:iam::111122223333:role/x"y' } }, "InvalidParameter" },
      { { exempt_role_arns = { 42 } }, "InvalidParameter" },
    }
    for _, c in ipairs(cases) do
      local out, err = scp.generate(c[1])
      assert.is_nil(out)
      assert.equal(c[2], err.code)
      assert.is_string(err.message)
    end
    assert.has_error(function() scp.generate("safe") end)
    assert.has_error(function() scp.generate{ exempt_role_arns = "arn" } end)
  end)

  it("stays under the 5,120-character SCP quota or says so", function()
    local many = {}
    for i = 1, 60 do many[i] = ("arn:aws:iam::111122223333:role/team-%03d-deployer"):format(i) end
    local out, err = scp.generate{ exempt_role_arns = many }
    assert.is_nil(out)
    assert.equal("PolicyTooLarge", err.code)
    for i = 21, 60 do many[i] = nil end
    out = assert(scp.generate{ exempt_role_arns = many })
    assert.is_true(out.size <= 5120)
  end)
end)

describe("the --explain matrix", function()
  it("documented: denies every update without the key, logging and endpoint access included", function()
    local out = assert(scp.generate{ variant = "documented", exempt_role_arns = { EXEMPT } })
    local S = "RequireCustomerRoutedControlPlane"
    check_matrix(assert(scp.matrix(out.policy, { exempt_role_arns = out.exempt_role_arns })), {
      create_without_key = { "deny", S },
      create_aws_managed = { "deny", S },
      create_customer_routed = { "allow", "FullAWSAccess" },
      create_customer_isolated = { "deny", S },
      update_mode_aws_managed = { "deny", S },
      update_mode_customer_routed = { "allow", "FullAWSAccess" },
      update_mode_customer_isolated = { "deny", S },
      update_logging = { "deny", S },
      update_endpoint_access = { "deny", S },
      update_deletion_protection = { "deny", S },
      exempt_create_without_key = { "allow", "FullAWSAccess" },
      exempt_update_mode_aws_managed = { "allow", "FullAWSAccess" },
    })
  end)

  it("safe: unrelated updates go through; creates and mode changes are enforced", function()
    local out = assert(scp.generate{ exempt_role_arns = { EXEMPT } })
    local C, U = "DenyCreateClusterWithoutCustomerRouted", "DenyEgressModeOtherThanCustomerRouted"
    check_matrix(assert(scp.matrix(out.policy, { exempt_role_arns = out.exempt_role_arns })), {
      create_without_key = { "deny", C },
      create_aws_managed = { "deny", C },
      create_customer_routed = { "allow", "FullAWSAccess" },
      create_customer_isolated = { "deny", C },
      update_mode_aws_managed = { "deny", U },
      update_mode_customer_routed = { "allow", "FullAWSAccess" },
      update_mode_customer_isolated = { "deny", U },
      update_logging = { "allow", "FullAWSAccess" },
      update_endpoint_access = { "allow", "FullAWSAccess" },
      update_deletion_protection = { "allow", "FullAWSAccess" },
      exempt_create_without_key = { "allow", "FullAWSAccess" },
      exempt_update_mode_aws_managed = { "allow", "FullAWSAccess" },
    })
  end)

  it("safe with require AWS_MANAGED: nothing may set another mode; omitting the key is allowed", function()
    local out = assert(scp.generate{ require = "AWS_MANAGED" })
    local S = "DenyEgressModeOtherThanAwsManaged"
    check_matrix(assert(scp.matrix(out.policy)), {
      create_without_key = { "allow", "FullAWSAccess" },
      create_aws_managed = { "allow", "FullAWSAccess" },
      create_customer_routed = { "deny", S },
      create_customer_isolated = { "deny", S },
      update_mode_aws_managed = { "allow", "FullAWSAccess" },
      update_mode_customer_routed = { "deny", S },
      update_mode_customer_isolated = { "deny", S },
      update_logging = { "allow", "FullAWSAccess" },
      update_endpoint_access = { "allow", "FullAWSAccess" },
      update_deletion_protection = { "allow", "FullAWSAccess" },
    })
  end)

  it("each row names the request context it evaluated", function()
    local rows = assert(scp.matrix(assert(scp.generate{ exempt_role_arns = { EXEMPT } }).policy,
      { exempt_role_arns = { EXEMPT } }))
    local by = {}
    for _, r in ipairs(rows) do by[r.id] = r end
    assert.same({ ["aws:PrincipalArn"] = "arn:aws:iam::111122223333:role/ClusterAdmin" },
      by.create_without_key.keys)
    assert.equal("eks:UpdateClusterConfig", by.update_endpoint_access.action)
    assert.same({ ["aws:PrincipalArn"] = "arn:aws:iam::111122223333:role/ClusterAdmin",
                  ["eks:endpointPublicAccess"] = false, ["eks:endpointPrivateAccess"] = true },
      by.update_endpoint_access.keys)
    assert.equal("arn:aws:iam::111122223333:role/BreakGlass", by.exempt_create_without_key.principal)
    assert.matches("key is absent", by.create_without_key.reason, 1, true)
  end)

  it("scp.evaluate is the evaluator's decide", function()
    local out = assert(scp.generate())
    local r = scp.evaluate(out.policy, { action = "eks:CreateCluster", keys = { ["eks:controlPlaneEgressMode"] =
      "CUSTOMER_ROUTED" } })
    assert.equal("allow", r.decision)
  end)
end)
