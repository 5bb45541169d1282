-- `eksegress reach` as a process, inside a private network namespace (the
-- fleet's webhooks name non-loopback addresses; helpers.netns puts them on the
-- namespace's loopback with a trap listening): the JSON listing validated
-- against docs/schemas/reach.schema.json, the table, exit codes, one-line
-- errors, and no destination ever contacted.
local netns = require "helpers.netns"

if not netns.inside() then
  netns.describe_inside("spec/79-cli_reach_spec.lua", "eksegress reach, in a private network namespace",
    describe, it)
  return
end

local cjson = require "cjson"
local cli = require "helpers.cli"
local schema = require "helpers.schema"
local simmod = require "helpers.sim"

local READER = { AWS_ACCESS_KEY_ID = "AKIAEKSSIMREADER0001",
                 AWS_SECRET_ACCESS_KEY = "ekssim/Reader/Secret+000000001/EXAMPLE1" }

local lines = cli.lines

describe("eksegress reach", function()
  local trap, sim
  setup(function()
    trap = netns.trap()
    sim = simmod.start("--fleet spec/fixtures/reach/fleet.json --time-scale 0")
  end)
  teardown(function()
    sim:stop()
    trap:stop()
  end)

  local function reach(args, env)
    local argv = { "--endpoint-url", sim.url, "--region", "us-east-1", "reach" }
    for _, a in ipairs(args) do argv[#argv + 1] = a end
    return cli.run(sim, argv, env)
  end

  it("--output json: the listing, valid against the schema, exit 0", function()
    local r = reach{ "--cluster", "hooks", "--output", "json" }
    assert.are.equal(0, r.status, r.stderr)
    assert.are.equal("", r.stderr)
    schema.assert_valid("docs/schemas/reach.schema.json", r.stdout)
    local doc = cjson.decode(r.stdout)
    assert.are.equal("eksegress/reach/1", doc.schema)
    assert.are.equal(24, #doc.destinations)
    assert.are.equal("validating_webhook", doc.destinations[1].kind)
    assert.are.same({}, doc.errors)
    -- pages of 5: the same listing
    local paged = reach{ "--cluster", "hooks", "--output", "json", "--limit", "5" }
    assert.are.equal(0, paged.status)
    local pdoc = cjson.decode(paged.stdout)
    assert.are.same(doc.destinations, pdoc.destinations)
  end)

  it("--output table: one row per destination, how each travels, the checks, a summary", function()
    local r = reach({ "--cluster", "hooks", "--output", "table" }, { NO_COLOR = "1" })
    assert.are.equal(0, r.status, r.stderr)
    local out = r.stdout
    assert.matches("Cluster hooks %(111122223333, us%-east%-1%), Kubernetes 1%.31, egress AWS_MANAGED", out)
    assert.matches("VPC vpc%-%x+ 10%.60%.0%.0/16; services ", out)
    assert.matches("KIND%s+NAME%s+DESTINATION%s+LOCATION%s+FAILURE%s+IF UNREACHABLE", out)
    assert.matches("validating%s+policy%-gate/validate%.policy%.example%.com%s+policy%.example%.com:443%s+outside VPC"
      .. "%s+Fail%s+API requests this webhook matches are rejected", out)
    assert.matches("%[2001:db8::10%]:9443", out)
    assert.matches("service cert%-manager/cert%-manager%-webhook:443%s+in cluster", out)
    assert.matches("127%.0%.0%.1:23443%s+control plane", out)
    assert.matches("10%.60%.5%.6:8443%s+inside VPC", out)
    assert.matches("preflight checks: route_default, ", out)
    assert.matches("uses TCP 8443", out, 1, true)
    assert.matches("Summary: 24 destinations: 6 outside the VPC, 1 inside it, 16 in the cluster, 1 in the control "
      .. "plane; 2 fail-closed webhook(s) outside the VPC.", out, 1, true)
  end)

  it("an identity the cluster forbids: exit 2, one line per kind it could not list, the rest on stdout", function()
    local r = reach({ "--cluster", "hooks", "--output", "json" }, READER)
    assert.are.equal(2, r.status)
    local err = lines(r.stderr)
    assert.are.equal(3, #err)
    assert.matches("^eksegress: reach: cluster hooks validatingwebhookconfigurations: .*cannot list resource "
      .. '"validatingwebhookconfigurations".*%(Forbidden%) %[HTTP 403%]', err[1])
    local doc = cjson.decode(r.stdout)
    assert.are.equal(3, #doc.errors)
    assert.are.equal(3, #doc.destinations)
  end)

  it("an unknown cluster: exit 2, one line with EKS's error", function()
    local r = reach{ "--cluster", "nope" }
    assert.are.equal(2, r.status)
    assert.are.equal("", r.stdout)
    assert.are.equal(1, #lines(r.stderr))
    assert.matches("^eksegress: reach: cluster nope: .*ResourceNotFoundException", r.stderr)
  end)

  it("usage errors: no --cluster, a bad --limit, an output it does not write (exit 64)", function()
    for _, args in ipairs{ {}, { "--cluster", "hooks", "--limit", "0" }, { "--cluster", "hooks", "--limit", "x" },
                           { "--cluster", "hooks", "--output", "csv" }, { "--cluster", "a b" } } do
      local r = reach(args)
      assert.are.equal(64, r.status, table.concat(args, " ") .. ": " .. r.stderr)
      assert.are.equal("", r.stdout)
      assert.are.equal(1, #lines(r.stderr))
    end
  end)

  it("--debug logs each Kubernetes request without its bearer token", function()
    local r = reach{ "--cluster", "plain", "--output", "json", "--debug" }
    assert.are.equal(0, r.status, r.stderr)
    assert.matches("debug: %-> GET https://127%.0%.0%.1:%d+/k8s/111122223333/us%-east%-1/plain/apis/", r.stderr)
    assert.matches("bearer token not shown", r.stderr, 1, true)
    assert.is_nil(r.stderr:find("k8s-aws-v1.", 1, true))
    assert.is_nil(r.stderr:find("Bearer", 1, true))
  end)

  it("preflight --reach: exit 1 on a webhook the VPC cannot reach; the document validates; plain preflight has no "
    .. "such result", function()
    local function run(args, env)
      return cli.run(sim, { "--endpoint-url", sim.url, "--region", "us-east-1", "preflight", table.unpack(args) }, env)
    end
    local r = run{ "--cluster", "stranded", "--reach", "--output", "json" }
    assert.are.equal(1, r.status, r.stderr)
    schema.assert_valid("docs/schemas/preflight.schema.json", r.stdout)
    local doc = cjson.decode(r.stdout)
    local res = doc.clusters[1].results[#doc.clusters[1].results]
    assert.are.same({ "reach_destinations", "fail", "blocking" }, { res.id, res.status, res.severity })
    assert.matches("policy.example.com:443: route_igw_only", res.message, 1, true)
    r = run{ "--cluster", "hooks", "--reach", "--output", "json" }
    assert.are.equal(0, r.status, r.stderr)
    doc = cjson.decode(r.stdout)
    assert.are.equal("pass", doc.clusters[1].results[#doc.clusters[1].results].status)
    r = run{ "--cluster", "hooks", "--output", "json" }
    doc = cjson.decode(r.stdout)
    assert.are_not.equal("reach_destinations", doc.clusters[1].results[#doc.clusters[1].results].id)
    r = run({ "--cluster", "hooks", "--reach", "--output", "json" }, READER)
    assert.are.equal(2, r.status)
    assert.matches("reach_destinations not evaluated: not every destination could be read", r.stderr, 1, true)
  end)

  it("contacted no destination and resolved no name: the trap saw nothing", function()
    assert.are.same({}, trap:events())
  end)
end)
