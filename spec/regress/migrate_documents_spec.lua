-- Regression specs for the migration's documents and journal, without a
-- network: plans and journals are files a person may edit or damage, so
-- nothing in them may make eksegress raise; a failed journal line must not
-- make the journal unreadable; two plans must never share tokens.
local cjson = require "cjson"
local canonical = require "eksegress.canonical"
local core = require "eksegress.core"
local document = require "eksegress.workflows.migrate.document"
local journal = require "eksegress.workflows.migrate.journal"
local mh = require "helpers.migrate"

local rng = mh.rng

-- A seeded generator of hostile JSON values.
local function hostile(r, depth)
  local k = r(depth > 3 and 7 or 10)
  if k == 1 then return cjson.null
  elseif k == 2 then return r(2) == 1
  elseif k == 3 then return r(1000) - 500
  elseif k == 4 then return 1.5
  elseif k == 5 then return ""
  elseif k == 6 then return ("x"):rep(r(40))
  elseif k == 7 then return "CUSTOMER_ROUTED"
  elseif k == 8 then return {}
  elseif k == 9 then
    local t = {}
    for i = 1, r(4) do t[i] = hostile(r, depth + 1) end
    return t
  else
    local t = {}
    for _ = 1, r(4) do t[("k%d"):format(r(5))] = hostile(r, depth + 1) end
    return t
  end
end

-- Every table inside v, with the key that leads to it (for replacement).
local function slots(v, out)
  out = out or {}
  if type(v) == "table" then
    for k, x in pairs(v) do
      out[#out + 1] = { v, k }
      slots(x, out)
    end
  end
  return out
end

-- Apply `count` seeded edits to copies of `value` (1 to 3 values replaced by
-- hostile ones each) and hand each copy to check(copy), which must not raise.
local function fuzz(value, seed, count, check)
  local text = cjson.encode(value)
  local r = rng(seed)
  for _ = 1, count do
    local copy = cjson.decode(text)
    for _ = 1, r(3) do
      local all = slots(copy)
      local slot = all[r(#all)]
      slot[1][slot[2]] = hostile(r, 0)
    end
    check(copy)
  end
end

describe("migration documents", function()
  it("regression: two plans of an unchanged fleet get different ids and tokens "
    .. "(a cluster whose update failed can be planned and tried again)", function()
    local a = mh.sealed({ mh.entry("a", "migrate") }, { created_at = "2026-01-01T00:00:00Z", nonce = document.nonce() })
    local b = mh.sealed({ mh.entry("a", "migrate") }, { created_at = "2026-01-01T00:00:00Z", nonce = document.nonce() })
    assert.are_not.equal(a.plan_id, b.plan_id)
    assert.are_not.equal(a.clusters[1].request.body.clientRequestToken, b.clusters[1].request.body.clientRequestToken)
    assert.is_true(document.validate(a))
    -- The nonce is covered by the id: changing it is an edit.
    a.nonce = b.nonce
    local ok, err = document.validate(a)
    assert.is_nil(ok)
    assert.matches("does not match its id", err.message)
  end)

  it("regression: a plan read back from its file is written with its empty lists as lists", function()
    local plan = mh.sealed({ mh.entry("a", "migrate", { state = document.state_of(mh.cluster_object{
      resourcesVpcConfig = { controlPlaneEgressMode = "AWS_MANAGED", vpcId = "vpc-1", subnetIds = { "s" },
                             securityGroupIds = {} } }, {}) }) }, { errors = canonical.array() })
    plan.clusters[1].fingerprint = document.fingerprint(plan.clusters[1].state)
    plan = mh.sealed(plan.clusters, { errors = canonical.array() })
    assert.is_true(document.validate(plan))
    local text = canonical.encode(document.normalize(plan))
    assert.matches('"errors":%[%]', text)
    assert.matches('"security_group_ids":%[%]', text)
    assert.matches('"updates_in_flight":%[%]', text)
    assert.is_true(document.validate(cjson.decode(text)))
  end)

  it("regression: validate never raises on a plan edited with arbitrary JSON (seeded, 3000 edits)", function()
    local valid = 0
    fuzz(mh.sealed({ mh.entry("a", "migrate"), mh.entry("b", "skip") }), 7, 3000, function(plan)
      local ok, res, err = pcall(document.validate, plan)
      assert(ok, "validate raised: " .. tostring(res))
      if res then valid = valid + 1 else assert.are.equal("InvalidPlan", err.code) end
    end)
    assert.is_true(valid < 3000)
  end)

  it("regression: replay never raises on a journal edited with arbitrary JSON (seeded, 3000 edits)", function()
    local plan = mh.sealed({ mh.entry("a", "migrate"), mh.entry("b", "migrate") })
    local ka = plan.clusters[1].key
    local records = {
      { type = "begin", schema = journal.SCHEMA, seq = 1, plan = plan, plan_id = plan.plan_id, options = {} },
      { type = "check", key = ka, outcome = "ok", seq = 2, egress_before = {} },
      { type = "intent", key = ka, token = "t", seq = 3 },
      { type = "sent", key = ka, update_id = "u", seq = 4 },
      { type = "status", key = ka, update_id = "u", status = "Failed", errors = {}, seq = 5 },
      { type = "failed", key = ka, reason = "x", seq = 6 },
      { type = "stop", reason = "x", kind = "failure", seq = 7 },
    }
    fuzz(records, 11, 3000, function(recs)
      local ok, run, err = pcall(journal.replay, recs)
      assert(ok, "replay raised: " .. tostring(run))
      if not run then assert.are.equal("InvalidJournal", err.code) end
    end)
  end)

  it("regression: a journal line that failed to be written leaves no gap in the sequence", function()
    local path = os.tmpname()
    os.remove(path)
    local w = assert(journal.open(path))
    local plan = mh.sealed({ mh.entry("a", "migrate") })
    assert(w:append({ type = "begin", schema = journal.SCHEMA, plan = plan, plan_id = plan.plan_id }))
    -- The disk is full for one line.
    local real = w.j
    w.j = { append = function() return nil, { code = "IoError", message = "no space left on device" } end }
    local ok, err = w:append({ type = "check", key = plan.clusters[1].key, outcome = "ok", egress_before = {} })
    assert.is_nil(ok)
    assert.are.equal("IoError", err.code)
    w.j = real
    assert(w:append({ type = "stop", reason = "the journal cannot be written", kind = "journal" }))
    w:close()
    local data = assert(journal.read(path))
    os.remove(path)
    assert.are.same({ 1, 2 }, { data.records[1].seq, data.records[2].seq })
    assert.is_truthy(journal.replay(data.records))
  end)

  it("regression: the journal's reader refuses a line that is not JSON, naming it", function()
    local path = os.tmpname()
    local f = assert(io.open(path, "wb"))
    f:write('{"type":"begin"}\nnot json\n')
    f:close()
    local data, err = journal.read(path)
    os.remove(path)
    assert.is_nil(data)
    assert.are.equal("InvalidJournal", err.code)
    assert.matches("line 2 is not a JSON object", err.message)
    assert.is_truthy(core.journal_read)
  end)
end)
