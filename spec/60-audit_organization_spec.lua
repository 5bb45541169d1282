-- The audit workflow over an organization, against the simulator's
-- organization fixture (spec/fixtures/fleets/audit-org.json): every account
-- state in each shape of Organizations' answer, AssumeRole as eksegress with
-- the caller's source identity, a member whose role is missing, enabled,
-- opted-in, disabled and SCP-denied regions, and what each row says. The
-- completeness promise is checked on every run: every cluster exactly once,
-- or its target under errors or listed as not audited.
local cjson = require "cjson"
local audit = require "eksegress.workflows.audit"
local targets = require "eksegress.workflows.audit.targets"
local report = require "eksegress.report"
local ah = require "helpers.audit"
local mh = require "helpers.migrate"
local schema = require "helpers.schema"

local ORG = { role_name = ah.ROLE }

local function by_id(doc)
  local t = {}
  for _, a in ipairs(doc.accounts) do t[a.id] = a end
  return t
end

local function error_keys(doc)
  local out = {}
  for _, e in ipairs(doc.errors) do
    out[#out + 1] = table.concat({ e.target, e.account or "", e.region or "", e.code }, " ")
  end
  table.sort(out)
  return out
end

describe("audit: account states", function()
  it("reads State and falls back to the retired Status: State wins, then Status, else UNKNOWN", function()
    assert.are.equal("CLOSED", targets.account_state{ State = "CLOSED", Status = "SUSPENDED" })
    assert.are.equal("PENDING_CLOSURE", targets.account_state{ Status = "PENDING_CLOSURE" })
    assert.are.equal("SUSPENDED", targets.account_state{ State = "", Status = "SUSPENDED" })
    assert.are.equal("UNKNOWN", targets.account_state{})
    assert.are.equal("UNKNOWN", targets.account_state{ State = cjson.null })
  end)

  -- What Organizations says of each account of the fixture, per shape: a
  -- CLOSED account's retired Status is SUSPENDED.
  local WANT = {
    state = { ["111122223333"] = "ACTIVE", ["222233334444"] = "ACTIVE", ["333344445555"] = "ACTIVE",
              ["444455556666"] = "SUSPENDED", ["555566667777"] = "PENDING_CLOSURE", ["666677778888"] = "CLOSED",
              ["777788889999"] = "SUSPENDED" },
  }
  WANT.both = WANT.state
  WANT.legacy = setmetatable({ ["666677778888"] = "SUSPENDED" }, { __index = WANT.state })

  for _, shape in ipairs{ "state", "both", "legacy" } do
    it(("every state, served as %q: active accounts audited, the others listed as skipped with their state")
        :format(shape), function()
      local sim = ah.start_org(shape)
      local ok, err = pcall(function()
        local doc = assert(audit.run(mh.factory(sim), { organization = ORG, regions = { "us-east-1" } }))
        local got = by_id(doc)
        for id, state in pairs(WANT.state) do
          local want = WANT[shape][id]
          assert.are.equal(want, got[id].state, shape .. " " .. id)
          if want == "ACTIVE" then
            assert.are_not.equal("skipped", got[id].outcome, id)
          else
            assert.are.equal("skipped", got[id].outcome, id)
            assert.are.equal("account is " .. want, got[id].reason, id)
          end
          local _ = state
        end
        assert.are.equal(7, #doc.accounts)
        assert.are.same({ "111122223333", "222233334444" }, doc.scope.accounts, "the accounts audited")
        ah.assert_complete(sim, doc)
        schema.assert_valid(ah.SCHEMA, report.render("audit", "json", doc))
      end)
      sim:stop()
      assert(ok, err)
    end)
  end
end)

describe("audit: the organization fixture", function()
  local sim
  setup(function() sim = ah.start_org("state") end)
  teardown(function() sim:stop() end)
  before_each(function() sim:admin("POST", "/_sim/reset") end)

  it("assumes each member's role as eksegress-audit with the caller's source identity: the log shows both",
    function()
    local doc = assert(audit.run(mh.factory(sim), { organization = ORG, regions = { "us-east-1", "us-west-2" } }))
    assert.are.same({ role_arn = "arn:aws:iam::222233334444:role/" .. ah.ROLE, session_name = "eksegress-audit",
                      source_identity = "ekssim-admin" }, by_id(doc)["222233334444"].access)
    assert.are.same({}, by_id(doc)["111122223333"].access, "the caller's own account: its own credentials")
    local member = 0
    for _, q in ipairs(mh.log(sim).requests) do
      if q.account == "222233334444" then
        member = member + 1
        assert.are.equal("arn:aws:sts::222233334444:assumed-role/" .. ah.ROLE .. "/eksegress-audit", q.principal)
        assert.are.equal("ekssim-admin", q.source_identity, q.operation)
      elseif q.account == "111122223333" and q.operation ~= "AssumeRole" then
        assert.are.equal("arn:aws:iam::111122223333:user/ekssim-admin", q.principal)
      end
    end
    assert.is_true(member >= 4, "ListClusters, DescribeCluster, ... in the member account")
  end)

  it("a source identity can be named, or left out for trust policies that do not allow it", function()
    local named = assert(audit.run(mh.factory(sim), { regions = { "us-west-2" },
      organization = { role_name = ah.ROLE, source_identity = "alice@example.com", accounts = { "222233334444" } } }))
    assert.are.equal("alice@example.com", by_id(named)["222233334444"].access.source_identity)
    sim:admin("POST", "/_sim/reset")
    local none = assert(audit.run(mh.factory(sim), { regions = { "us-west-2" },
      organization = { role_name = ah.ROLE, source_identity = false, accounts = { "222233334444" } } }))
    assert.is_nil(by_id(none)["222233334444"].access.source_identity)
    for _, q in ipairs(mh.log(sim).requests) do
      if q.account == "222233334444" then assert.are.equal(cjson.null, q.source_identity, q.operation) end
    end
    assert.has_error(function()
      audit.run(mh.factory(sim), { organization = { role_name = ah.ROLE, source_identity = "no spaces" } })
    end)
  end)

  it("the source identity names the caller: a user's name, a session's name, root", function()
    assert.are.equal("ekssim-admin", targets.source_identity("arn:aws:iam::111122223333:user/ekssim-admin"))
    assert.are.equal("bob", targets.source_identity("arn:aws:iam::111122223333:user/team/a/bob"))
    assert.are.equal("alice@example.com",
      targets.source_identity("arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin_0123/alice@example.com"))
    assert.are.equal("root", targets.source_identity("arn:aws:iam::111122223333:root"))
    assert.are.equal("a_b", targets.source_identity("arn:aws:sts::111122223333:assumed-role/R/a b"))
    assert.are.equal(64, #targets.source_identity("arn:aws:iam::111122223333:user/" .. ("x"):rep(80)))
    assert.is_nil(targets.source_identity("arn:aws:sts::111122223333:assumed-role/R/x"))
    assert.is_nil(targets.source_identity(nil))
  end)

  it("an active account whose role is missing is under errors with the reason; the others are audited", function()
    local doc = assert(audit.run(mh.factory(sim), { organization = ORG, regions = "all", require = "CUSTOMER_ROUTED" }))
    local acct = by_id(doc)["333344445555"]
    assert.are.equal("error", acct.outcome)
    assert.are.equal("ACTIVE", acct.state)
    assert.matches("cannot assume arn:aws:iam::333344445555:role/OrganizationAccountAccessRole", acct.reason, 1, true)
    local listed
    for _, e in ipairs(doc.errors) do
      if e.target == "account" and e.account == "333344445555" then listed = e end
    end
    assert.is_table(listed, "the account is under errors")
    assert.are.equal("AccessDenied", listed.code)
    assert.are.equal(403, listed.status)
    assert.is_string(listed.request_id)
    assert.matches("not authorized to perform: sts:AssumeRole", listed.message, 1, true)
    -- The rest went on: both other active accounts are audited.
    assert.are.equal("audited", by_id(doc)["111122223333"].outcome)
    assert.are.equal("audited", by_id(doc)["222233334444"].outcome)
    local c = ah.assert_complete(sim, doc)
    assert.are.equal(9, c.listed)
    -- orphan (no role), frozen (suspended), west-hidden (disabled), brazil (SCP).
    assert.are.equal(4, c.covered)
  end)

  it("--regions all: enabled and opted-in regions read, opt-in regions not enabled left out and listed, the "
    .. "disabled and the SCP-denied region under errors", function()
    local doc = assert(audit.run(mh.factory(sim), { organization = ORG, regions = "all" }))
    assert.are.same({
      "account 333344445555  AccessDenied",
      "region 111122223333 sa-east-1 AccessDeniedException",
      "region 111122223333 us-west-1 RegionDisabled",
    }, error_keys(doc))
    local core_ = by_id(doc)["111122223333"]
    local read = {}
    for _, r in ipairs(core_.regions) do read[r] = true end
    assert.is_true(read["af-south-1"], "the opted-in region is read")
    assert.is_true(read["us-east-1"] and read["eu-west-1"] and read["sa-east-1"])
    assert.is_nil(read["us-west-1"], "the disabled region is not read")
    assert.is_nil(read["ap-east-1"], "an opt-in region not enabled is not read")
    local left = {}
    for _, r in ipairs(core_.regions_not_enabled) do left[r] = true end
    assert.is_true(left["ap-east-1"] and left["me-central-1"], "opt-in regions not enabled are listed")
    assert.is_nil(left["af-south-1"])
    assert.is_nil(left["us-west-1"], "a disabled region that needs no opt-in is an error, not left out")
    -- Never a request into a region that is not enabled.
    for _, q in ipairs(mh.log(sim).requests) do
      if q.account == "111122223333" then
        assert.is_falsy(q.region == "us-west-1" or q.region == "ap-east-1", q.operation .. " " .. q.region)
      end
    end
    local c = ah.assert_complete(sim, doc)
    assert.are.equal(9, c.listed)
    local cape
    for _, row in ipairs(doc.clusters) do if row.name == "cape" then cape = row end end
    assert.are.equal("af-south-1", cape.region)
  end)

  it("a region named in --regions that the account has not enabled is under errors, never called", function()
    local doc = assert(audit.run(mh.factory(sim), { regions = { "us-east-1", "us-west-1", "ap-east-1" } }))
    assert.are.same({
      "region 111122223333 ap-east-1 RegionNotEnabled",
      "region 111122223333 us-west-1 RegionNotEnabled",
    }, error_keys(doc))
    for _, e in ipairs(doc.errors) do
      assert.matches("is not enabled for account 111122223333", e.message, 1, true)
    end
    for _, q in ipairs(mh.log(sim).requests) do
      assert.is_falsy(q.region == "us-west-1" or q.region == "ap-east-1", q.operation .. " " .. q.region)
    end
    ah.assert_complete(sim, doc, { ["111122223333"] = true })
  end)

  it("each row says what EKS says: ARN, status, version, mode (UNKNOWN when absent), endpoint access, "
    .. "platform version, created time, compliance; the summary counts them by mode, account and region", function()
    local doc = assert(audit.run(mh.factory(sim), { organization = ORG, regions = "all", require = "CUSTOMER_ROUTED" }))
    assert.are.equal(9, ah.assert_rows_match(sim, doc))
    ah.assert_summary(doc)
    local rows = {}
    for _, r in ipairs(doc.clusters) do rows[r.name] = r end
    assert.are.equal("UNKNOWN", rows["core-old"].egress_mode)
    assert.is_false(rows["core-old"].compliant)
    assert.are.equal("CUSTOMER_ISOLATED", rows["wl-isolated"].egress_mode)
    assert.are.equal("FAILED", rows["wl-failed"].status)
    assert.is_false(rows["core-eu"].endpoint_public_access)
    assert.is_true(rows["core-eu"].endpoint_private_access)
    assert.are.same({ AWS_MANAGED = 4, CUSTOMER_ROUTED = 3, CUSTOMER_ISOLATED = 1, UNKNOWN = 1 }, doc.summary.by_mode)
    assert.are.equal(3, doc.summary.compliant)
    assert.are.equal(6, doc.summary.noncompliant)
    schema.assert_valid(ah.SCHEMA, report.render("audit", "json", doc))
  end)

  it("--accounts and --exclude-accounts: a named account Organizations does not list is an error; "
    .. "excluded accounts are listed as skipped", function()
    local doc = assert(audit.run(mh.factory(sim), { regions = { "us-east-1" }, organization = {
      role_name = ah.ROLE, accounts = { "222233334444", "999999999999" } } }))
    local a = by_id(doc)
    assert.are.equal("audited", a["222233334444"].outcome)
    assert.are.equal("skipped", a["111122223333"].outcome)
    assert.are.equal("excluded by the account filter", a["111122223333"].reason)
    assert.are.equal("error", a["999999999999"].outcome)
    assert.are.same({ "account 999999999999  AccountNotFound" }, error_keys(doc))
    sim:admin("POST", "/_sim/reset")
    doc = assert(audit.run(mh.factory(sim), { regions = { "us-east-1" }, organization = {
      role_name = ah.ROLE, exclude_accounts = { "333344445555" } } }))
    assert.are.equal("skipped", by_id(doc)["333344445555"].outcome)
    assert.are.same({}, doc.errors)
    ah.assert_complete(sim, doc)
  end)

  it("interrupted: the targets not started are under errors (Interrupted), so nothing is lost", function()
    local stop = false
    local doc = assert(audit.run(mh.factory(sim), { organization = ORG, regions = "all",
      interrupted = function() return stop end,
      on_event = function(ev) if ev.type == "phase" and ev.phase == "describe" then stop = true end end }))
    assert.are.same({}, doc.clusters)
    local interrupted = 0
    for _, e in ipairs(doc.errors) do
      if e.code == "Interrupted" then
        interrupted = interrupted + 1
        assert.are.equal("cluster", e.target)
      end
    end
    assert.are.equal(9, interrupted)
    ah.assert_complete(sim, doc)
    local describes = 0
    for _, q in ipairs(mh.log(sim).requests) do
      if q.operation == "DescribeCluster" then describes = describes + 1 end
    end
    assert.are.equal(0, describes, "nothing is started after the interruption")
  end)
end)

-- A client that answers from tables: the shapes the simulator cannot make.
local function fake_factory(names, mode)
  local calls = {}
  local client = {
    region = "us-east-1",
    whoami = function() return { Account = "123456789012", Arn = "arn:aws:iam::123456789012:user/u" } end,
    collect = function(_, _, op) calls[#calls + 1] = op; return names end,
    call = function(_, _, op, p)
      calls[#calls + 1] = op .. " " .. tostring(p.name)
      return { cluster = { name = p.name, status = "ACTIVE", resourcesVpcConfig = { controlPlaneEgressMode = mode } } }
    end,
  }
  return function() return client end, calls
end

describe("audit: shapes the simulator cannot make", function()
  it("regression: a cluster listed twice by overlapping ListClusters pages is described and reported once",
    function()
    local factory, calls = fake_factory({ "a", "b", "a" }, "AWS_MANAGED")
    local doc = assert(audit.run(factory, {}))
    local names = {}
    for _, c in ipairs(doc.clusters) do names[#names + 1] = c.name end
    assert.are.same({ "a", "b" }, names)
    local describes = 0
    for _, op in ipairs(calls) do if op:find("^DescribeCluster") then describes = describes + 1 end end
    assert.are.equal(2, describes)
  end)

  it("a mode EKS adds later is kept verbatim and is not compliant", function()
    local factory = fake_factory({ "future" }, "CUSTOMER_SOMETHING_NEW")
    local doc = assert(audit.run(factory, { require = "CUSTOMER_ROUTED" }))
    assert.are.equal("CUSTOMER_SOMETHING_NEW", doc.clusters[1].egress_mode)
    assert.is_false(doc.clusters[1].compliant)
    assert.are.same({ CUSTOMER_SOMETHING_NEW = 1 }, doc.summary.by_mode)
  end)
end)
