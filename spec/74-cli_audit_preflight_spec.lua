-- `eksegress audit --preflight` as a process: each cluster's preflight in the
-- audit document (validated against its schema), exit 1 on blocking findings.
local cjson = require "cjson"
local simmod = require "helpers.sim"
local schema = require "helpers.schema"
local cli = require "helpers.cli"
local fx = require "helpers.fixtures"

describe("eksegress audit --preflight (process)", function()
  it("is in the audit's help", function()
    local sim = simmod.start("--time-scale 0")
    local r = cli.run(sim, { "audit", "--help" })
    sim:stop()
    assert.are.equal(0, r.status)
    assert.is_truthy(r.stdout:find("--preflight", 1, true))
  end)

  it("exit 1 when a cluster has a blocking finding; the JSON and the SARIF are valid", function()
    local sim = simmod.start("--time-scale 0")
    local ok, err = pcall(function()
      local dir, remove = fx.tmpdir()
      local r = cli.run(sim, { "audit", "--regions", "us-east-1,us-west-2", "--preflight", "--output", "json",
        "--export", dir .. "/fleet.sarif" })
      assert.are.equal(1, r.status, r.stderr)
      schema.assert_valid(schema.AUDIT, r.stdout)
      local doc = cjson.decode(r.stdout)
      local blocking = {}
      for _, c in ipairs(doc.clusters) do
        assert.is_table(c.preflight, c.name)
        if c.preflight.blocking > 0 then blocking[#blocking + 1] = c.name end
      end
      table.sort(blocking)
      assert.are.same({ "analytics", "legacy-batch" }, blocking)
      assert.are.equal(2, doc.summary.blocking)
      schema.assert_valid(schema.SARIF, fx.read(dir .. "/fleet.sarif"))
      remove()
      -- The table shows the preflight column.
      r = cli.run(sim, { "audit", "--regions", "us-west-2", "--preflight", "--output", "table" })
      assert.are.equal(1, r.status)
      assert.is_truthy(r.stdout:find("PREFLIGHT", 1, true))
      assert.is_truthy(r.stdout:find("1 blocking", 1, true))
    end)
    sim:stop()
    assert(ok, err)
  end)

  it("exit 0 on a fleet without blocking findings", function()
    local sim = simmod.start("--time-scale 0 --generate clusters=4,accounts=1,regions=1,defects=0,routed=0,"
      .. "isolated=0,nomode=0,seed=9")
    local r = cli.run(sim, { "audit", "--preflight", "--output", "json" })
    sim:stop()
    assert.are.equal(0, r.status, r.stderr)
    local doc = cjson.decode(r.stdout)
    assert.are.equal(4, #doc.clusters)
    assert.are.equal(0, doc.summary.blocking)
  end)
end)
