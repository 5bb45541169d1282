-- The audit workflow against the simulator: accounts from the organization
-- or from profiles, every cluster exactly once or its target under errors.
local simmod = require "helpers.sim"
local audit = require "eksegress.workflows.audit"
local ah = require "helpers.audit"
local mh = require "helpers.migrate"

local factory_for = mh.factory

local function keyset(doc)
  local seen, dups = {}, {}
  for _, c in ipairs(doc.clusters) do
    local k = c.account .. "/" .. c.region .. "/" .. c.name
    if seen[k] then dups[#dups + 1] = k end
    seen[k] = true
  end
  return seen, dups
end

-- Completeness: every cluster the simulator holds in the audited accounts is
-- in the report exactly once, or its account, region or name is in errors.
local function assert_complete(sim, doc, accounts)
  local c = ah.assert_complete(sim, doc, accounts)
  return c.listed + c.covered
end

describe("audit workflow", function()
  local sim
  setup(function() sim = simmod.start("--time-scale 0") end)
  teardown(function() sim:stop() end)

  it("audits the organization: suspended account skipped, SCP-denied regions under errors, "
    .. "every cluster once", function()
    local events = {}
    local doc = assert(audit.run(factory_for(sim), {
      regions = "all", require = "CUSTOMER_ROUTED",
      organization = { role_name = "OrganizationAccountAccessRole" },
      on_event = function(ev) events[#events + 1] = ev end,
    }))
    assert.are.equal("eksegress/audit/1", doc.schema)
    local outcome = {}
    for _, a in ipairs(doc.accounts) do outcome[a.id] = a.outcome end
    assert.are.same({ ["111122223333"] = "audited", ["444455556666"] = "audited",
                      ["777788889999"] = "skipped" }, outcome)
    local n = assert_complete(sim, doc, { ["111122223333"] = true, ["444455556666"] = true })
    assert.are.equal(n, #doc.clusters)   -- no error hid a cluster in the sample fleet
    local denied = {}
    for _, e in ipairs(doc.errors) do denied[#denied + 1] = e.account .. "/" .. e.region .. "/" .. e.code end
    table.sort(denied)
    assert.are.same({ "111122223333/sa-east-1/AccessDeniedException",
                      "444455556666/ap-southeast-1/AccessDeniedException" }, denied)
    -- The old-API cluster is UNKNOWN, never assumed AWS_MANAGED; unknown
    -- modes are kept verbatim.
    local modes = {}
    for _, c in ipairs(doc.clusters) do modes[c.name] = c.egress_mode end
    assert.are.equal("UNKNOWN", modes["old-api"])
    assert.are.equal("CUSTOMER_ISOLATED", modes["isolated-lab"])
    assert.are.equal(2, doc.summary.compliant)
    assert.are.equal(#doc.clusters - 2, doc.summary.noncompliant)
    local phases = {}
    for _, ev in ipairs(events) do if ev.type == "phase" then phases[#phases + 1] = ev.phase end end
    assert.are.same({ "accounts", "regions", "list", "describe" }, phases)
  end)

  it("lists an account whose role cannot be assumed under errors and audits the others", function()
    local doc = assert(audit.run(factory_for(sim), {
      regions = { "us-east-1" },
      -- PartnerAccess in 444455556666 demands an external id: AssumeRole fails.
      organization = { role_name = "PartnerAccess" },
    }))
    local by = {}
    for _, a in ipairs(doc.accounts) do by[a.id] = a end
    assert.are.equal("error", by["444455556666"].outcome)
    assert.matches("PartnerAccess", by["444455556666"].reason)
    local listed = false
    for _, e in ipairs(doc.errors) do
      if e.account == "444455556666" and e.target == "account" and e.code == "AccessDenied" then listed = true end
    end
    assert.is_true(listed, "the account's AssumeRole failure is under errors")
    -- The caller's own account is read with the caller's credentials.
    assert.are.equal("audited", by["111122223333"].outcome)
    assert.are.equal("skipped", by["777788889999"].outcome)
    for _, c in ipairs(doc.clusters) do assert.are.equal("us-east-1", c.region) end
  end)

  it("reads each account once when two profiles name the same account", function()
    local cfg = os.tmpname()
    local f = assert(io.open(cfg, "w"))
    f:write(("[profile a]\naws_access_key_id = %s\naws_secret_access_key = %s\n"
      .. "[profile b]\naws_access_key_id = %s\naws_secret_access_key = %s\n"
      .. "[profile dev]\naws_access_key_id = AKIAEKSSIM0000000002\n"
      .. "aws_secret_access_key = ekssim/SecondAccount/Secret+EXAMPLEKEY02\n")
      :format(simmod.ACCESS_KEY, simmod.SECRET_KEY, simmod.ACCESS_KEY, simmod.SECRET_KEY))
    f:close()
    local extra = { AWS_CONFIG_FILE = cfg, AWS_ACCESS_KEY_ID = false, AWS_SECRET_ACCESS_KEY = false }
    local doc = assert(audit.run(factory_for(sim, extra), { profiles = { "a", "b", "dev" },
                                                            regions = { "us-east-1" } }))
    os.remove(cfg)
    local by = {}
    for _, a in ipairs(doc.accounts) do by[a.profile] = a end
    assert.are.equal("audited", by.a.outcome)
    assert.are.equal("skipped", by.b.outcome)
    assert.matches("same account as profile a", by.b.reason)
    assert.are.equal("audited", by.dev.outcome)
    assert.are.same({}, select(2, keyset(doc)))
  end)

  it("misuse raises with a clear message", function()
    assert.has_error(function() audit.run(factory_for(sim), { regions = { "not a region" } }) end,
      'audit.run: invalid region "not a region"')
    assert.has_error(function() audit.run(factory_for(sim), { require = "customer_routed" }) end)
    assert.has_error(function() audit.run("x") end, "audit.run: factory must be a function")
  end)
end)

describe("audit completeness under faults", function()
  local sim
  setup(function()
    sim = simmod.start("--time-scale 0 --generate clusters=2000,accounts=2,regions=4,seed=7 "
      .. "--throttle-rate 0.2 --error-rate 0.05 --drop-rate 0.02 --drop-when before --seed 3")
  end)
  teardown(function() sim:stop() end)

  it("2,000 clusters with 20% throttling, 5% 5xx and 2% drops: every cluster once or its target "
    .. "under errors, and the run ends", function()
    local doc = assert(audit.run(factory_for(sim, nil, { max_attempts = 8 }), {
      regions = "all", organization = { role_name = "OrganizationAccountAccessRole" }, concurrency = 64,
    }))
    local n = assert_complete(sim, doc, { ["111122223333"] = true, ["444455556666"] = true })
    assert.are.equal(2000, n)
    -- The faults were real: the log shows throttled and failed attempts.
    local log = sim:admin("GET", "/_sim/log?limit=100000")
    local faults = 0
    for _, r in ipairs(log.requests) do if r.fault then faults = faults + 1 end end
    assert.is_true(faults > 100, "expected injected faults, saw " .. faults)
  end)
end)
