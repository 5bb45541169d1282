-- The plan document and the journal replay: pure, no network.
local document = require "eksegress.workflows.migrate.document"
local journal = require "eksegress.workflows.migrate.journal"
local canonical = require "eksegress.canonical"
local cjson = require "cjson"

local mh = require "helpers.migrate"

local cluster_obj, entry = mh.cluster_object, mh.entry

local function plan_of(entries)
  return document.seal{ schema = document.SCHEMA, target_mode = "CUSTOMER_ROUTED", clusters = entries }
end

-- Round-trip through JSON, as a plan read from its file.
local function reread(plan)
  return cjson.decode(cjson.encode(plan))
end

describe("plan document", function()
  it("fingerprints ignore list order and updates in flight, and see every planned field", function()
    local a = document.state_of(cluster_obj(), {})
    local b = document.state_of(cluster_obj{ resourcesVpcConfig = {
      controlPlaneEgressMode = "AWS_MANAGED", vpcId = "vpc-1", subnetIds = { "subnet-a", "subnet-b" },
      securityGroupIds = { "sg-2" }, clusterSecurityGroupId = "sg-1" } }, {})
    assert.are.equal(document.fingerprint(a), document.fingerprint(b))
    local busy = document.state_of(cluster_obj{ status = "UPDATING" }, { "u-1" })
    assert.are.equal(document.fingerprint(a), document.fingerprint(busy))
    local changed = document.state_of(cluster_obj{ version = "1.33" }, {})
    assert.are_not.equal(document.fingerprint(a), document.fingerprint(changed))
    assert.are.same({ "version 1.32 -> 1.33" }, document.diff(a, changed))
    local routed = document.state_of(cluster_obj{ resourcesVpcConfig = { controlPlaneEgressMode = "CUSTOMER_ROUTED",
      vpcId = "vpc-1", subnetIds = { "subnet-a", "subnet-b" }, securityGroupIds = { "sg-2" },
      clusterSecurityGroupId = "sg-1" } }, {})
    assert.are.same({ "mode AWS_MANAGED -> CUSTOMER_ROUTED" }, document.diff(a, routed))
  end)

  it("a sealed plan validates after a JSON round trip; its tokens derive from its id", function()
    local plan = reread(plan_of{ entry("a", "migrate"), entry("b", "skip") })
    assert.is_true(document.validate(plan))
    assert.matches("^p%-%x%x%x%x%x%x%x%x%x%x$", plan.plan_id)
    local tok = plan.clusters[1].request.body.clientRequestToken
    assert.matches("^%x+%-%x+%-4%x+%-8%x+%-%x+$", tok)
    assert.are.equal(document.token(plan.plan_id, plan.clusters[1].key), tok)
    assert.are.equal("a", document.confirmation(plan))
  end)

  it("the same content gives the same id; another content another id", function()
    local p1 = plan_of{ entry("a", "migrate"), entry("b", "migrate") }
    local p2 = plan_of{ entry("a", "migrate"), entry("b", "migrate") }
    local p3 = plan_of{ entry("a", "migrate") }
    assert.are.equal(p1.plan_id, p2.plan_id)
    assert.are_not.equal(p1.plan_id, p3.plan_id)
    assert.are.equal(p1.plan_id, document.confirmation(p1))
  end)

  -- Each of these is a plan edited or damaged after it was written.
  local tampering = {
    { "a skipped cluster turned into a migration", function(p)
      p.clusters[2].action = "migrate"
      p.clusters[2].reason = nil
      p.clusters[2].request = { method = "POST", path = "/clusters/b/update-config",
        body = { resourcesVpcConfig = { controlPlaneEgressMode = "CUSTOMER_ROUTED" },
                 clientRequestToken = document.token(p.plan_id, p.clusters[2].key) } }
    end, "content does not match its id" },
    { "a revert in the body", function(p)
      p.clusters[1].request.body.resourcesVpcConfig.controlPlaneEgressMode = "AWS_MANAGED"
    end, "must set only" },
    { "another field riding along", function(p)
      p.clusters[1].request.body.logging = {}
    end, "must set only" },
    { "another path", function(p) p.clusters[1].request.path = "/clusters/b/update-config" end, "is not POST" },
    { "a token from elsewhere", function(p)
      p.clusters[1].request.body.clientRequestToken = "11111111-1111-4111-8111-111111111111"
    end, "does not belong to this plan" },
    { "blocking findings", function(p) p.clusters[1].preflight.blocking = 2 end, "blocking preflight" },
    { "a duplicated cluster", function(p) p.clusters[2] = p.clusters[1] end, "appears twice" },
    { "another schema", function(p) p.schema = "eksegress/plan/2" end, "this eksegress reads" },
    { "a cluster not AWS_MANAGED", function(p)
      p.clusters[1].state.mode = "CUSTOMER_ISOLATED"
      p.clusters[1].fingerprint = document.fingerprint(p.clusters[1].state)
    end, "only an AWS_MANAGED cluster" },
    { "a fingerprint that is not its planned state's", function(p)
      p.clusters[1].state.version = "1.20"
    end, "fingerprint does not match its planned state" },
  }
  for _, case in ipairs(tampering) do
    it("regression: refuses a plan with " .. case[1], function()
      local plan = reread(plan_of{ entry("a", "migrate"), entry("b", "skip") })
      case[2](plan)
      local ok, err = document.validate(plan)
      assert.is_nil(ok)
      assert.are.equal("InvalidPlan", err.code)
      assert.matches(case[3], err.message, 1, true)
    end)
  end
end)

describe("journal replay", function()
  local plan = reread(plan_of{ entry("a", "migrate"), entry("b", "migrate"), entry("c", "skip") })
  local ka, kb = plan.clusters[1].key, plan.clusters[2].key
  local function records(list)
    local out = { { type = "begin", schema = journal.SCHEMA, seq = 1, plan = plan, plan_id = plan.plan_id } }
    for i, r in ipairs(list) do
      r.seq = i + 1
      out[#out + 1] = r
    end
    return out
  end

  it("rebuilds each planned cluster's state; skipped clusters are not in the run", function()
    local run = assert(journal.replay(records{
      { type = "check", key = ka, outcome = "ok" },
      { type = "intent", key = ka, token = "t-a" },
      { type = "sent", key = ka, update_id = "u-1", status = "InProgress" },
      { type = "status", key = ka, update_id = "u-1", status = "Successful" },
      { type = "verified", key = ka, mode = "CUSTOMER_ROUTED", status = "ACTIVE" },
      { type = "check", key = kb, outcome = "ok" },
      { type = "intent", key = kb, token = "t-b" },
    }))
    assert.are.same({ ka, kb }, run.order)
    assert.are.equal("done", run.clusters[ka].state)
    assert.are.equal("intent", run.clusters[kb].state)
    assert.are.equal("t-b", run.clusters[kb].token)
    local s = journal.summary(run)
    assert.are.equal(1, s.done)
    assert.are.equal(1, s.open)
  end)

  it("regression: refuses records for clusters the plan does not migrate", function()
    local run, err = journal.replay(records{ { type = "intent", key = plan.clusters[3].key, token = "x" } })
    assert.is_nil(run)
    assert.matches("does not migrate", err.message)
  end)

  it("regression: refuses missing or reordered records (a gap in the sequence)", function()
    local recs = records{ { type = "check", key = ka, outcome = "ok" }, { type = "intent", key = ka, token = "t" } }
    table.remove(recs, 2)
    local run, err = journal.replay(recs)
    assert.is_nil(run)
    assert.matches("missing or out of order", err.message)
  end)

  it("regression: refuses a record after a cluster ended", function()
    local run, err = journal.replay(records{
      { type = "check", key = ka, outcome = "stale", detail = "x" },
      { type = "intent", key = ka, token = "t" },
    })
    assert.is_nil(run)
    assert.matches("after it ended", err.message)
  end)

  it("journal lines are canonical JSON (stable bytes)", function()
    assert.are.equal('{"b":[1,2],"a":null}' ~= canonical.encode{ b = { 1, 2 } }, true)
    assert.are.equal('{"a":"x","b":[1,2]}', canonical.encode{ b = { 1, 2 }, a = "x" })
  end)
end)

describe("plan and apply-result tables", function()
  local report = require "eksegress.report"
  local function result(over)
    local doc = { schema = "eksegress/apply-result/1", plan_id = "p-0123456789", journal = "fleet.plan.journal",
      canary = "111122223333/us-east-1/a", clusters = {
        { key = "111122223333/us-east-1/a", account = "111122223333", region = "us-east-1", name = "a",
          state = "done", update_id = "u-1", canary = true },
        { key = "111122223333/us-east-1/b", account = "111122223333", region = "us-east-1", name = "b",
          state = "sent", update_id = "u-2" },
        { key = "111122223333/us-east-1/c", account = "111122223333", region = "us-east-1", name = "c",
          state = "refused", reason = "stale plan: mode AWS_MANAGED -> CUSTOMER_ROUTED" },
      }, summary = { total = 3, open = 1, done = 1, sent = 1, refused = 1, failed = 0, skipped = 0 } }
    for k, v in pairs(over or {}) do doc[k] = v end
    return report.render("apply-result", "table", doc, { columns = 200, color = false })
  end

  it("marks the canary and names the command that continues an unfinished run", function()
    local out = result{ stopped = "interrupted", stop_kind = "interrupted" }
    assert.matches("u%-1%s+canary", out)
    assert.matches("stale plan: mode AWS_MANAGED %-> CUSTOMER_ROUTED", out)
    assert.matches("Stopped: interrupted", out)
    assert.matches("Not finished: 1 cluster; continue with 'eksegress resume fleet.plan.journal'", out)
  end)

  it("says what --no-wait left to resume, and nothing when everything ended", function()
    assert.matches("Sent without waiting: 'eksegress resume fleet.plan.journal' waits for 1 update",
      result{ no_wait = true })
    local done = result{ summary = { total = 3, open = 0, done = 2, refused = 1 } }
    assert.is_nil(done:find("resume", 1, true))
  end)

  it("a plan table shows every cluster's action and the request or the reason", function()
    local plan = mh.sealed({ mh.entry("a", "migrate"), mh.entry("b", "skip") })
    local out = report.render("plan", "table", plan, { columns = 200, color = false })
    assert.matches("eksegress plan " .. plan.plan_id, out, 1, true)
    assert.matches("migrate%s+not run%s+POST /clusters/a/update%-config", out)
    assert.matches("skip%s+not run%s+already CUSTOMER_ROUTED", out)
    assert.matches("1 cluster to migrate to CUSTOMER_ROUTED %(permanent%), 1 skipped", out)
  end)
end)
