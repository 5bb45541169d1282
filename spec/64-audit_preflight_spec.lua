-- audit with the preflight (audit.run{preflight = true}) against the
-- simulator: each cluster's findings in the audit document, the EC2 reads of
-- a VPC made once for the whole fleet.
local simmod = require "helpers.sim"
local schema = require "helpers.schema"
local audit = require "eksegress.workflows.audit"
local checks = require "eksegress.workflows.preflight.checks"
local report = require "eksegress.report"

local factory_for = require("helpers.migrate").factory

describe("audit --preflight", function()
  local sim
  setup(function() sim = simmod.start("--time-scale 0") end)
  teardown(function() sim:stop() end)

  it("puts each cluster's findings in the audit; blocking ones agree with the ground truth", function()
    local severity = {}
    for _, d in ipairs(checks.list()) do severity[d.id] = d.severity end
    local phases = {}
    local doc = assert(audit.run(factory_for(sim), { regions = { "us-east-1", "us-west-2", "eu-west-1" },
      preflight = true, version = require("eksegress").version,
      on_event = function(ev) if ev.type == "phase" then phases[#phases + 1] = ev.phase end end }))
    assert.are.same({ "accounts", "regions", "list", "describe", "preflight" }, phases)
    assert.are.same({}, doc.errors)
    local truth = {}
    for _, c in ipairs(sim:admin("GET", "/_sim/state", nil).clusters) do
      truth[c.account .. "/" .. c.region .. "/" .. c.name] = c
    end
    local with_blocking = 0
    for _, row in ipairs(doc.clusters) do
      local key = row.account .. "/" .. row.region .. "/" .. row.name
      local want = {}
      for _, id in ipairs(truth[key].expect_fail) do
        if severity[id] == "blocking" then want[#want + 1] = id end
      end
      table.sort(want)
      local got = {}
      for _, r in ipairs(row.preflight.results) do
        if r.status == "fail" and r.severity == "blocking" then got[#got + 1] = r.id end
      end
      table.sort(got)
      assert.are.same(want, got, key)
      assert.are.equal(#got, row.preflight.blocking, key)
      if #got > 0 then with_blocking = with_blocking + 1 end
    end
    assert.are.equal(10, #doc.clusters)
    assert.are.equal(with_blocking, doc.summary.blocking)
    assert.is_true(with_blocking >= 4)
    schema.assert_valid(schema.AUDIT, report.render("audit", "json", doc))
  end)

  it("reads each VPC's network once for the whole fleet", function()
    sim:admin("POST", "/_sim/reset")
    local doc = assert(audit.run(factory_for(sim), { regions = { "us-west-2" }, preflight = true }))
    local vpcs, n = {}, 0
    for _, c in ipairs(doc.clusters) do
      if not vpcs[c.vpc_id] then n = n + 1 end
      vpcs[c.vpc_id] = true
    end
    assert.is_true(n < #doc.clusters, "the sample fleet shares a VPC in us-west-2")
    local count = {}
    for _, q in ipairs(sim:admin("GET", "/_sim/log").requests) do
      count[q.operation] = (count[q.operation] or 0) + 1
    end
    assert.are.equal(n, count.DescribeRouteTables)
    assert.are.equal(n, count.DescribeNetworkAcls)
    assert.are.equal(#doc.clusters, count.DescribeCluster, "each cluster described once: by the audit")
  end)

  it("preflight must be a boolean", function()
    local ok, err = pcall(audit.run, factory_for(sim), { preflight = "yes" })
    assert.is_false(ok)
    assert.matches("preflight must be a boolean", tostring(err))
  end)
end)
