-- `eksegress preflight` as a process against the simulator: help, usage
-- errors, exit codes 0/1/2, JSON and SARIF validated against their schemas,
-- report files, one-line errors.
local cjson = require "cjson"
local simmod = require "helpers.sim"
local schema = require "helpers.schema"
local cli = require "helpers.cli"
local fx = require "helpers.fixtures"

local function one_line_errors(stderr)
  local lines = cli.lines(stderr)
  assert.is_true(#lines >= 1, "an error line")
  for _, l in ipairs(lines) do
    assert.matches("^eksegress: ", l)
    assert.is_nil(l:find("traceback", 1, true))
    assert.is_nil(l:find("%.lua:%d+"), "a Lua location: " .. l)
  end
  return lines
end

local read = fx.read

describe("eksegress preflight (process)", function()
  local sim
  setup(function() sim = simmod.start("--time-scale 0") end)
  teardown(function() sim:stop() end)

  it("--help shows the options, examples, formats and exit codes", function()
    local r = cli.run(sim, { "preflight", "--help" })
    assert.are.equal(0, r.status)
    for _, s in ipairs({ "--cluster", "--concurrency", "Examples:", "eksegress preflight --cluster prod",
                         ".sarif", "Exit codes:", "blocking" }) do
      assert.is_truthy(r.stdout:find(s, 1, true), s)
    end
    local top = cli.run(sim, { "--help" })
    assert.is_truthy(top.stdout:find("preflight", 1, true))
    assert.is_truthy(top.stdout:find("create", 1, true))
  end)

  for _, case in ipairs({
    { {}, "%-%-cluster NAME is required" },
    { { "--cluster", "bad name" }, '"bad name" is not an EKS cluster name' },
    { { "--cluster", "a", "--concurrency", "0" }, "%-%-concurrency must be an integer from 1 to 1024" },
    { { "--cluster", "a", "--output", "pdf" }, "%-%-output must be one of table, json, csv, markdown" },
    { { "--cluster", "a", "--export", "out.txt" }, "%-%-export out.txt: preflight writes" },
    { { "--cluster", "a", "--nope" }, "unknown option '%-%-nope'" },
  }) do
    it("usage error (exit 64): " .. case[2], function()
      local args = { "preflight" }
      for _, a in ipairs(case[1]) do args[#args + 1] = a end
      local before = #sim:admin("GET", "/_sim/log").requests
      local r = cli.run(sim, args)
      assert.are.equal(64, r.status)
      assert.are.equal("", r.stdout)
      local lines = one_line_errors(r.stderr)
      assert.matches(case[2], lines[#lines])
      assert.equal(before, #sim:admin("GET", "/_sim/log").requests, "nothing was sent")
    end)
  end

  it("exit 0: no blocking finding (warnings only)", function()
    local r = cli.run(sim, { "preflight", "--cluster", "prod-api", "--output", "json" })
    assert.are.equal(0, r.status, r.stderr)
    assert.are.equal("", r.stderr)
    schema.assert_valid(schema.PREFLIGHT, r.stdout)
    local doc = cjson.decode(r.stdout)
    assert.are.equal(0, doc.clusters[1].blocking)
    assert.is_true(doc.clusters[1].warnings > 0)
  end)

  it("exit 1: a blocking finding, with its fix as an AWS CLI command holding the real ids", function()
    local r = cli.run(sim, { "preflight", "--cluster", "legacy-batch", "--output", "table" })
    assert.are.equal(1, r.status, r.stderr)
    local state = sim:admin("GET", "/_sim/state?name=legacy-batch").clusters[1]
    assert.is_truthy(r.stdout:find("fail    blocking  route_default", 1, true), r.stdout)
    local fix = r.stdout:match("\n    (aws ec2 create%-route [^\n]+)")
    assert.is_truthy(fix, r.stdout)
    assert.matches("^aws ec2 create%-route %-%-route%-table%-id rtb%-%x+ %-%-destination%-cidr%-block 0%.0%.0%.0/0 "
      .. "%-%-nat%-gateway%-id nat%-%x+ %-%-region us%-east%-1$", fix)
    -- The table named in the fix is the one the subnets use in the simulator.
    local rt = fix:match("rtb%-%x+")
    local out = sim:client():call("ec2", "DescribeRouteTables", { Filters = { { Name = "association.subnet-id",
      Values = { state.subnet_ids[1] } } } })
    assert.are.equal(0, #out.routeTableSet, "the subnet has no association of its own")
    local main = sim:client():call("ec2", "DescribeRouteTables", { Filters = { { Name = "vpc-id",
      Values = { state.vpc_id } }, { Name = "association.main", Values = { "true" } } } })
    assert.are.equal(rt, main.routeTableSet[1].routeTableId)
  end)

  it("exit 2: a cluster that cannot be read is one error line; the others are still checked", function()
    local r = cli.run(sim, { "preflight", "--cluster", "legacy-batch", "--cluster", "ghost", "--output", "json" })
    assert.are.equal(2, r.status)
    local lines = one_line_errors(r.stderr)
    assert.are.equal(1, #lines)
    assert.matches("^eksegress: preflight: cluster ghost in us%-east%-1: No cluster found for name: ghost%. "
      .. "%(ResourceNotFoundException%) %[HTTP 404%]%. Check the cluster name and %-%-region$", lines[1])
    schema.assert_valid(schema.PREFLIGHT, r.stdout)
    local doc = cjson.decode(r.stdout)
    assert.are.equal("legacy-batch", doc.clusters[1].name)
    assert.are.equal("ghost", doc.errors[1].cluster)
  end)

  it("exit 2 with one line per cluster when the credentials are refused; no secret in any output", function()
    local r = cli.run(sim, { "preflight", "--cluster", "prod-api", "--cluster", "legacy-batch" },
      { AWS_SECRET_ACCESS_KEY = "canary/SECRET+value/0000000000000000000000" })
    assert.are.equal(2, r.status)
    local lines = one_line_errors(r.stderr)
    assert.are.equal(2, #lines)
    for _, l in ipairs(lines) do assert.matches("InvalidSignatureException", l) end
    assert.is_nil((r.stdout .. r.stderr):find("canary/SECRET", 1, true))
  end)

  it("exit 2 when a blocking check could not be evaluated (IAM reads denied), with one line saying why", function()
    sim:admin("POST", "/_sim/scp", { account = "444455556666", policy = {
      Version = "2012-10-17", Statement = { { Effect = "Deny", Action = "iam:*", Resource = "*" } } } })
    local r = cli.run(sim, { "preflight", "--cluster", "dev-a", "--output", "json" },
      { AWS_ACCESS_KEY_ID = "AKIAEKSSIM0000000002",
        AWS_SECRET_ACCESS_KEY = "ekssim/SecondAccount/Secret+EXAMPLEKEY02" })
    sim:admin("POST", "/_sim/scp", { account = "444455556666", policy = cjson.null })
    assert.are.equal(2, r.status)
    local lines = one_line_errors(r.stderr)
    assert.are.equal(1, #lines)
    assert.matches("^eksegress: preflight: cluster dev%-a in us%-east%-1: iam_role_describe not evaluated: the "
      .. "cluster IAM role could not be read: AccessDenied", lines[1])
    schema.assert_valid(schema.PREFLIGHT, r.stdout)
    assert.are.equal(0, cjson.decode(r.stdout).clusters[1].blocking)
  end)

  it("exit 2 without a region, saying how to give one", function()
    local r = cli.run(sim, { "preflight", "--cluster", "prod-api" }, { AWS_REGION = false })
    assert.are.equal(2, r.status)
    local lines = one_line_errors(r.stderr)
    assert.matches("no region for the clusters %(NoRegion%)%. Pass %-%-region", lines[1])
  end)

  it("writes every report file; the JSON and the SARIF are valid", function()
    local dir, remove = fx.tmpdir()
    local files = {}
    local args = { "preflight", "--cluster", "analytics", "--cluster", "payments", "--region", "us-west-2",
                   "--output", "json" }
    for _, ext in ipairs({ ".json", ".md", ".junit.xml", ".sarif", ".html", ".csv" }) do
      files[ext] = dir .. "/report" .. ext
      args[#args + 1] = "--export"
      args[#args + 1] = files[ext]
    end
    local r = cli.run(sim, args)
    assert.are.equal(1, r.status, r.stderr)
    schema.assert_valid(schema.PREFLIGHT, read(files[".json"]))
    assert.are.same(cjson.decode(r.stdout).clusters, cjson.decode(read(files[".json"])).clusters)
    local sarif = read(files[".sarif"])
    schema.assert_valid(schema.SARIF, sarif)
    local log = cjson.decode(sarif)
    local rules = {}
    for _, rule in ipairs(log.runs[1].tool.driver.rules) do rules[rule.id] = true end
    assert.is_true(rules.nacl_inbound_ephemeral and rules.iam_role_describe and true or false)
    local found = false
    for _, res in ipairs(log.runs[1].results) do
      if res.ruleId == "nacl_inbound_ephemeral" then
        found = true
        assert.matches("aws ec2 create%-network%-acl%-entry %-%-network%-acl%-id acl%-%x+ %-%-ingress",
          res.properties.fix)
      end
    end
    assert.is_true(found)
    assert.is_truthy(read(files[".md"]):find("## 111122223333/us-west-2/analytics", 1, true))
    assert.is_truthy(read(files[".junit.xml"]):find("<testsuites", 1, true))
    assert.is_truthy(read(files[".html"]):find("<!DOCTYPE html>", 1, true))
    assert.is_truthy(read(files[".csv"]):find("nacl_inbound_ephemeral", 1, true))
    remove()
  end)
end)
