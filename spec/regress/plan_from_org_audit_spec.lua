-- Regression spec: an --organization audit records how it read each member
-- account (the role, its session name eksegress-audit, the caller's source
-- identity). `eksegress plan --from-report` must keep only the role: the
-- audit's session name and source identity leaked into the plan, which then
-- failed its schema, and apply would have changed clusters as
-- "eksegress-audit", on behalf of whoever ran the audit.
local cjson = require "cjson"
local simmod = require "helpers.sim"
local mh = require "helpers.migrate"
local schema = require "helpers.schema"
local ah = require "helpers.audit"

local MEMBER = "444455556666"
local ROLE_ARN = "arn:aws:iam::" .. MEMBER .. ":role/" .. ah.ROLE

describe("regression: a plan from an --organization audit report", function()
  local sim, dir
  setup(function()
    sim = simmod.start("--time-scale 0")
    dir = mh.tmpdir()
  end)
  teardown(function() mh.stop(sim, dir) end)

  it("regression: a plan from an --organization audit keeps the member's role, not the audit's session name "
    .. "or source identity, and reads the member as eksegress-migrate", function()
    local r = mh.cli(sim, { "audit", "--organization", "--role-name", ah.ROLE, "--regions", "us-east-1",
      "--export", dir .. "/audit.json", "--output", "json" })
    assert.are.equal(0, r.status, r.stderr)
    local member
    for _, a in ipairs(cjson.decode(r.stdout).accounts) do if a.id == MEMBER then member = a end end
    assert.are.equal("eksegress-audit", member.access.session_name, "the audit records its own session")
    assert.are.equal("ekssim-admin", member.access.source_identity)

    local seq = mh.log(sim).last_seq
    r = mh.cli(sim, { "plan", "--from-report", dir .. "/audit.json", "--out", dir .. "/plan.json" })
    assert.is_true(r.status == 0 or r.status == 1, r.stderr)
    local text = mh.read(dir .. "/plan.json")
    schema.assert_valid(mh.PLAN_SCHEMA, text)
    local members = 0
    for _, c in ipairs(cjson.decode(text).clusters) do
      if c.account == MEMBER then
        members = members + 1
        assert.are.same({ role_arn = ROLE_ARN }, c.access, c.key)
      end
    end
    assert.is_true(members > 0, "the plan has clusters of the member account")
    -- Apply reaches the member through the same client cache as the plan's
    -- reads: the role, as eksegress-migrate, with no source identity.
    local sessions = {}
    for _, q in ipairs(mh.log(sim, seq).requests) do
      if q.account == MEMBER and q.service == "eks" then
        sessions[q.principal .. " " .. tostring(q.source_identity ~= cjson.null and q.source_identity or "-")] = true
      end
    end
    assert.are.same({ ["arn:aws:sts::" .. MEMBER .. ":assumed-role/" .. ah.ROLE .. "/eksegress-migrate -"] = true },
      sessions)
  end)
end)
