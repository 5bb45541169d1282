-- `eksegress audit --organization` as a process: a member account whose role
-- is missing is listed with the reason and a hint while the others are
-- audited, every AssumeRole names eksegress and the caller (the simulator's
-- log shows both); completeness through the CLI under throttling, 5xx and
-- dropped connections on 2,000 clusters; the library example
-- (examples/org_noncompliant.lua) run exactly as its comment shows it; and
-- --retry-passes (a listing failed in pass 1 read in pass 2, none with 0,
-- "(after N passes)" on the error line, Ctrl-C during pass 2).
local cjson = require "cjson"
local core = require "eksegress.core"
local simmod = require "helpers.sim"
local schema = require "helpers.schema"
local ah = require "helpers.audit"
local mh = require "helpers.migrate"

local ORG = { "audit", "--organization", "--role-name", ah.ROLE, "--output", "json" }

local function with(list, ...)
  local out = {}
  for _, a in ipairs(list) do out[#out + 1] = a end
  for _, a in ipairs{ ... } do out[#out + 1] = a end
  return out
end

local function accounts(doc)
  local t = {}
  for _, a in ipairs(doc.accounts) do t[a.id] = a end
  return t
end

describe("eksegress audit --organization (process)", function()
  local sim
  setup(function() sim = ah.start_org("state") end)
  teardown(function() sim:stop() end)
  before_each(function() sim:admin("POST", "/_sim/reset") end)

  it("a member whose role is missing: under errors with the reason and a hint, the others audited, exit 2",
    function()
    local r = mh.cli(sim, with(ORG, "--regions", "us-east-1,us-west-2", "--require", "CUSTOMER_ROUTED"))
    assert.are.equal(2, r.status, r.stderr)
    schema.assert_valid(ah.SCHEMA, r.stdout)
    local doc = cjson.decode(r.stdout)
    local a = accounts(doc)
    assert.are.equal("error", a["333344445555"].outcome)
    assert.are.equal("audited", a["111122223333"].outcome)
    assert.are.equal("audited", a["222233334444"].outcome)
    for _, id in ipairs{ "444455556666", "555566667777", "666677778888", "777788889999" } do
      assert.are.equal("skipped", a[id].outcome, id)
    end
    assert.are.equal(1, #doc.errors)
    assert.are.equal("AccessDenied", doc.errors[1].code)
    local lines = mh.lines(r.stderr)
    assert.are.equal(1, #lines, r.stderr)
    assert.matches("^eksegress: audit: account 333344445555: cannot assume "
      .. "arn:aws:iam::333344445555:role/OrganizationAccountAccessRole: ", lines[1])
    assert.matches("Check that role OrganizationAccountAccessRole exists in account 333344445555 and trusts "
      .. "the caller, and that its trust policy allows sts:SetSourceIdentity", lines[1], 1, true)
    local c = ah.assert_complete(sim, doc)
    assert.are.equal(7, c.listed)
    ah.assert_rows_match(sim, doc)
  end)

  it("each member is read as eksegress-audit with the caller's source identity, or the one given, or none",
    function()
    local function member_identities()
      local seen = {}
      for _, q in ipairs(mh.log(sim).requests) do
        if q.account == "222233334444" then
          seen[q.principal .. " " .. tostring(q.source_identity ~= cjson.null and q.source_identity or "-")] = true
        end
      end
      local list = {}
      for k in pairs(seen) do list[#list + 1] = k end
      return list
    end
    local session = "arn:aws:sts::222233334444:assumed-role/OrganizationAccountAccessRole/eksegress-audit"
    local r = mh.cli(sim, with(ORG, "--regions", "us-east-1", "--accounts", "222233334444"))
    assert.are.equal(0, r.status, r.stderr)
    assert.are.same({ session .. " ekssim-admin" }, member_identities())
    sim:admin("POST", "/_sim/reset")
    r = mh.cli(sim, with(ORG, "--regions", "us-east-1", "--accounts", "222233334444", "--source-identity",
      "alice@example.com"))
    assert.are.equal(0, r.status, r.stderr)
    assert.are.same({ session .. " alice@example.com" }, member_identities())
    sim:admin("POST", "/_sim/reset")
    r = mh.cli(sim, with(ORG, "--regions", "us-east-1", "--accounts", "222233334444", "--no-source-identity"))
    assert.are.equal(0, r.status, r.stderr)
    assert.are.same({ session .. " -" }, member_identities())
  end)

  it("--regions all: the disabled region is an error, the opted-in one is read, the opt-in ones not enabled "
    .. "are listed on the account", function()
    local r = mh.cli(sim, with(ORG, "--regions", "all", "--exclude-accounts", "333344445555"))
    assert.are.equal(2, r.status)
    local doc = cjson.decode(r.stdout)
    local codes = {}
    for _, e in ipairs(doc.errors) do codes[#codes + 1] = e.region .. " " .. e.code end
    table.sort(codes)
    assert.are.same({ "sa-east-1 AccessDeniedException", "us-west-1 RegionDisabled" }, codes)
    local core_ = accounts(doc)["111122223333"]
    assert.is_truthy(table.concat(core_.regions, " "):find("af-south-1", 1, true))
    assert.is_truthy(table.concat(core_.regions_not_enabled, " "):find("ap-east-1", 1, true))
    ah.assert_complete(sim, doc)
  end)

  describe("examples/org_noncompliant.lua", function()
    -- The command its comment gives, run as a shell would, from a checkout.
    local function usage_line()
      for line in io.lines("examples/org_noncompliant.lua") do
        local cmd = line:match("^%-%- Usage: (.+)$")
        if cmd then return cmd end
      end
      error("the example has no Usage line")
    end

    it("audits the whole organization and prints the non-compliant clusters, as its comment shows", function()
      local cmd = usage_line()
      assert.are.equal("lua5.4 examples/org_noncompliant.lua OrganizationAccountAccessRole", cmd)
      local env = mh.env(sim, { AWS_ENDPOINT_URL = sim.url, LUA_PATH = "lua/?.lua;lua/?/init.lua;;",
                                LUA_CPATH = os.getenv("LUA_CPATH") or "build/?.so;;" })
      local r = assert(core.run_process({ "sh", "-c", cmd }, { env = env, timeout_ms = 120000 }))
      assert.are.equal(2, r.status, r.stderr)
      local printed = {}
      for _, line in ipairs(mh.lines(r.stdout)) do
        local account, region, name, mode, status = line:match("^(%d+)\t(%S+)\t(%S+)\t(%S+)\t(%S+)$")
        assert(account, "not a cluster line: " .. line)
        printed[#printed + 1] = table.concat({ account, region, name, mode, status }, " ")
      end
      table.sort(printed)
      assert.are.same({
        "111122223333 eu-west-1 core-eu AWS_MANAGED ACTIVE",
        "111122223333 us-east-1 core-api AWS_MANAGED ACTIVE",
        "111122223333 us-east-1 core-old UNKNOWN ACTIVE",
        "222233334444 us-east-1 wl-a AWS_MANAGED ACTIVE",
        "222233334444 us-east-1 wl-failed AWS_MANAGED FAILED",
        "222233334444 us-east-1 wl-isolated CUSTOMER_ISOLATED ACTIVE",
      }, printed)
      local errs = mh.lines(r.stderr)
      table.sort(errs)
      assert.are.equal(3, #errs, r.stderr)
      assert.matches("^not read: 111122223333 sa%-east%-1: AccessDeniedException: ", errs[1])
      assert.matches("^not read: 111122223333 us%-west%-1: RegionDisabled: ", errs[2])
      assert.matches("^not read: 333344445555: AccessDenied: cannot assume ", errs[3])
    end)
  end)
end)

-- What the simulator's injected faults look like once every retry is spent
-- (tools/ekssim/README.md "Faults"), and a dropped connection, or a retry
-- the engine's retry quota no longer allows.
local FAULT_CODES = {}
for _, code in ipairs{ "ThrottlingException", "RequestLimitExceeded", "Throttling", "TooManyRequestsException",
                       "ServerException", "InternalError", "InternalFailure", "ServiceException",
                       "ServiceUnavailableException", "Unavailable", "ServiceUnavailable",
                       "ConnectionReset", "ConnectionError", "HttpError", "RetryQuotaExceeded" } do
  FAULT_CODES[code] = true
end

describe("eksegress audit (process): completeness under faults", function()
  local sim
  setup(function()
    sim = simmod.start("--time-scale 0 --generate clusters=2000,accounts=2,regions=4,seed=7 "
      .. "--throttle-rate 0.2 --error-rate 0.05 --drop-rate 0.02 --drop-when before --seed 5")
  end)
  teardown(function() sim:stop() end)

  it("2,000 clusters with 20% throttling, 5% 5xx and 2% dropped connections: the run ends, every cluster "
    .. "is in the report exactly once or its target is under errors, one stderr line per error", function()
    local r = mh.cli(sim, with(ORG, "--regions", "all", "--concurrency", "64"), { timeout_ms = 600000 })
    assert.is_truthy(r.status == 0 or r.status == 2, "exit " .. r.status .. ": " .. r.stderr)
    schema.assert_valid(ah.SCHEMA, r.stdout)
    local doc = cjson.decode(r.stdout)
    local c = ah.assert_complete(sim, doc)
    assert.are.equal(2000, c.listed + c.covered)
    assert.are.equal(#doc.errors, #mh.lines(r.stderr))
    assert.are.equal(#doc.errors > 0 and 2 or 0, r.status)
    -- Every target not read failed on an injected fault (after its retries),
    -- never for another reason; and most clusters were read.
    for _, e in ipairs(doc.errors) do
      assert.is_true(FAULT_CODES[e.code], "not an injected fault: " .. e.code .. " " .. tostring(e.message))
    end
    assert.is_true(c.listed > 1000, ("only %d of 2000 clusters read"):format(c.listed))
    local faults = 0
    for _, q in ipairs(sim:admin("GET", "/_sim/log?limit=100000").requests) do
      if q.fault and q.fault ~= cjson.null then faults = faults + 1 end
    end
    assert.is_true(faults > 100, "expected injected faults, saw " .. faults)
  end)
end)

describe("eksegress audit --retry-passes (process)", function()
  local sim
  setup(function() sim = simmod.start("--time-scale 0") end)
  teardown(function() sim:stop() end)
  after_each(function() sim:admin("POST", "/_sim/faults", { reset = true }) end)

  local ARGS = { "audit", "--regions", "us-east-1", "--output", "json" }

  -- The ListClusters of us-east-1 fails its 3 attempts (pass 1), then answers.
  local function fail_pass_one()
    sim:admin("POST", "/_sim/faults", { reset = true, fail_count = 3, fail_ops = "ListClusters" })
  end

  local function list_requests(since)
    local n = 0
    for _, q in ipairs(sim:admin("GET", ("/_sim/log?since=%d&limit=100000"):format(since)).requests) do
      if q.operation == "ListClusters" then n = n + 1 end
    end
    return n
  end

  it("by default a listing that failed in pass 1 is read in pass 2: exit 0, the summary counts it", function()
    fail_pass_one()
    local r = mh.cli(sim, ARGS)
    assert.are.equal(0, r.status, r.stderr)
    assert.are.equal("", r.stderr)
    schema.assert_valid(ah.SCHEMA, r.stdout)
    local doc = cjson.decode(r.stdout)
    assert.are.same({}, doc.errors)
    assert.are.equal(4, #doc.clusters)
    assert.are.same({ 2, 4 }, { doc.summary.passes, doc.summary.recovered })
  end)

  it("--retry-passes 0: the listing is under errors after 1 pass, exit 2", function()
    fail_pass_one()
    local r = mh.cli(sim, with(ARGS, "--retry-passes", "0"))
    assert.are.equal(2, r.status, r.stderr)
    schema.assert_valid(ah.SCHEMA, r.stdout)
    local doc = cjson.decode(r.stdout)
    assert.are.same({}, doc.clusters)
    assert.are.same({ "region", "us-east-1", 1 }, { doc.errors[1].target, doc.errors[1].region, doc.errors[1].passes })
    assert.are.same({ 1, 0 }, { doc.summary.passes, doc.summary.recovered })
    assert.matches("^eksegress: audit: account 111122223333 region us%-east%-1: ", r.stderr)
  end)

  it("--retry-passes 1 under a fault that never stops: 2 passes, the error line says so", function()
    sim:admin("POST", "/_sim/faults", { reset = true, error_rate = "1.0@ListClusters" })
    local since = sim:admin("GET", "/_sim/log?since=999999999").last_seq
    local r = mh.cli(sim, with(ARGS, "--retry-passes", "1"))
    assert.are.equal(2, r.status, r.stderr)
    local doc = cjson.decode(r.stdout)
    assert.are.equal(2, doc.errors[1].passes)
    assert.are.equal(2, doc.summary.passes)
    assert.matches("^eksegress: audit: account 111122223333 region us%-east%-1 %(after 2 passes%): ", r.stderr)
    assert.are.equal(2 * 3, list_requests(since))
  end)

  it("Ctrl-C during pass 2: exit 130, the report is written with the target under errors", function()
    sim:admin("POST", "/_sim/faults", { reset = true, error_rate = "1.0@ListClusters" })
    local since = sim:admin("GET", "/_sim/log?since=999999999").last_seq
    -- Ctrl-C once the status line (stderr, a terminal) announces pass 2. The
    -- pause before pass 2 is long, so a loaded machine delivers the Ctrl-C
    -- inside it (with the default 1-2 s it could land after pass 2 began);
    -- the pause is cut short by it, so the run still ends at once.
    local res = ah.run_on_tty(sim, with(ARGS, "--retry-pause", "60"), false, "audit: pass 2 ")
    assert.is_true(res.signalled, "the status line never said pass 2")
    assert.are.equal(130, res.status, res.tty)
    local out = res.stdout
    schema.assert_valid(ah.SCHEMA, out)
    local doc = cjson.decode(out)
    assert.are.equal(2, doc.summary.passes)
    assert.are.equal(1, #doc.errors)
    assert.is_true(doc.errors[1].status >= 500, doc.errors[1].code)
    assert.are.equal(1, doc.errors[1].passes)
    -- Pass 1's 3 attempts, nothing after the interruption.
    assert.are.equal(3, list_requests(since))
  end)

  it("--help documents --retry-passes (bad values: spec 70, exit codes)", function()
    local help = mh.cli(sim, { "audit", "--help" })
    assert.are.equal(0, help.status)
    assert.matches("%-%-retry%-passes <retry_passes>", help.stdout)
    assert.matches("default 2", help.stdout)
  end)
end)
