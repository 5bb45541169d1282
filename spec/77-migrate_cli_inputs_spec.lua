-- The CLI as a process, given bad inputs: plans and journals edited by hand,
-- truncated, from another version, not JSON, missing; a journal on a
-- read-only file system, locked by another apply, or a FIFO; bad flags.
-- Each is one clear line on stderr, exit 64, and nothing sent (the
-- simulator's log does not move).
local cjson = require "cjson"
local canonical = require "eksegress.canonical"
local core = require "eksegress.core"
local journal_mod = require "eksegress.workflows.migrate.journal"
local mh = require "helpers.migrate"

local lines = mh.lines

describe("eksegress plan/apply/resume with bad inputs", function()
  local sim, fleet, dir, plan, plan_text, journal_text
  local plan_path, journal_path

  setup(function()
    sim, fleet = mh.start_fleet{ generate = "clusters=3,accounts=1,regions=1,seed=2,defects=0,routed=0,isolated=0,"
      .. "nomode=0", args = "--time-scale 0.001" }
    dir = mh.tmpdir()
    plan_path = dir .. "/good.plan.json"
    local r = mh.cli(sim, { "plan", "--region", fleet.accounts[1].clusters[1].region, "--out", plan_path,
      "--cluster", fleet.accounts[1].clusters[1].name, "--cluster", fleet.accounts[1].clusters[2].name })
    assert(r.status == 0, r.stderr)
    plan_text = mh.read(plan_path)
    plan = cjson.decode(plan_text)
    -- A journal of a finished apply, to damage in the resume cases.
    journal_path = dir .. "/good.journal"
    r = mh.cli(sim, { "apply", plan_path, "--confirm", plan.plan_id, "--journal", journal_path,
      "--poll-interval", "0.02" })
    assert(r.status == 0, r.stderr)
    journal_text = mh.read(journal_path)
  end)
  teardown(function() mh.stop(sim, dir) end)

  local n = 0
  local function file(text)
    n = n + 1
    local p = ("%s/case%d"):format(dir, n)
    mh.write(p, text)
    return p
  end

  -- Run the CLI; it must fail with exit 64 and one line matching `want`
  -- (a plain substring), having sent nothing.
  local function refused(args, want, o)
    local seq = mh.log(sim).last_seq
    local r = mh.cli(sim, args, o)
    assert.are.equal(64, r.status, r.stderr)
    local ls = lines(r.stderr)
    assert.are.equal(1, #ls, r.stderr)
    assert.is_truthy(ls[1]:find(want, 1, true), ("%q lacks %q"):format(ls[1], want))
    assert.is_nil(ls[1]:find("traceback", 1, true))
    assert.are.equal("", r.stdout)
    assert.are.equal(seq, mh.log(sim).last_seq, "nothing was sent")
    return ls[1]
  end

  local function apply(path, extra)
    local a = { "apply", path, "--confirm", plan.plan_id, "--journal", dir .. "/j" .. n .. ".journal" }
    for _, x in ipairs(extra or {}) do a[#a + 1] = x end
    return a
  end

  local function edited(fn)
    local p = cjson.decode(plan_text)
    fn(p)
    return file(canonical.encode(p))
  end

  describe("plans", function()
    it("not JSON", function()
      refused(apply(file("this is not a plan\n")), "is not valid JSON")
    end)
    it("truncated", function()
      refused(apply(file(plan_text:sub(1, #plan_text // 2))), "is not valid JSON")
    end)
    it("a JSON value that is not an object", function()
      refused(apply(file("[1, 2, 3]")), "the plan's schema is")
    end)
    it("from another version", function()
      refused(apply(edited(function(p) p.schema = "eksegress/plan/2" end)),
        'the plan\'s schema is "eksegress/plan/2"; this eksegress reads "eksegress/plan/1"')
    end)
    it("edited by hand: a skipped field changed", function()
      refused(apply(edited(function(p) p.clusters[1].state.version = "1.20" end)),
        "its fingerprint does not match its planned state")
    end)
    it("edited by hand: the fingerprint recomputed, the id not", function()
      refused(apply(edited(function(p)
        p.clusters[1].state.version = "1.20"
        p.clusters[1].fingerprint = require("eksegress.workflows.migrate.document").fingerprint(p.clusters[1].state)
      end)), "does not match its id " .. plan.plan_id .. " (edited or damaged after it was written)")
    end)
    it("edited by hand: a value of the wrong type", function()
      refused(apply(edited(function(p) p.clusters[1].preflight.blocking = "none" end)),
        "preflight.blocking is not a number")
    end)
    it("missing", function()
      refused(apply(dir .. "/no-such.plan.json"), "cannot read the plan")
    end)
    it("a directory", function()
      refused(apply(dir), "cannot read the plan")
    end)
    it("an audit report that is not one", function()
      refused({ "plan", "--from-report", file('{"schema": "x"}'), "--out", dir .. "/x.json" },
        "is not an eksegress audit report")
    end)
  end)

  describe("journals", function()
    local function resume(path) return { "resume", path, "--poll-interval", "0.02" } end

    it("not JSON", function()
      refused(resume(file("garbage\n")), "line 1 is not a JSON object")
    end)
    it("empty", function()
      refused(resume(file("")), "record 1: a journal starts with a begin record")
    end)
    it("missing", function()
      refused(resume(dir .. "/no-such.journal"), "no-such.journal: no such journal")
    end)
    it("from another version", function()
      local at = assert(journal_text:find('"schema":"eksegress\\/journal\\/1"', 1, true))
      local text = journal_text:sub(1, at - 1) .. '"schema":"eksegress\\/journal\\/9"'
        .. journal_text:sub(at + #'"schema":"eksegress\\/journal\\/1"')
      refused(resume(file(text)),
        'schema "eksegress/journal/9"; this eksegress reads "eksegress/journal/1"')
    end)
    it("a line removed by hand (a gap in the sequence)", function()
      local ls = lines(journal_text)
      table.remove(ls, 3)
      refused(resume(file(table.concat(ls, "\n") .. "\n")), "records are missing or out of order")
    end)
    it("its embedded plan edited by hand", function()
      local ls = lines(journal_text)
      ls[1] = ls[1]:gsub('"version":"1%.%d+"', '"version":"1.20"', 1)
      refused(resume(file(table.concat(ls, "\n") .. "\n")), "the embedded plan:")
    end)
    it("a record for a cluster the plan does not migrate", function()
      local extra = canonical.encode{ type = "intent", key = "111122223333/us-east-1/other", token = "t",
                                      seq = #lines(journal_text) + 1, time = "2026-01-01T00:00:00Z" }
      refused(resume(file(journal_text .. extra .. "\n")), "which the plan does not migrate")
    end)

    it("truncated mid-line (a crash mid-write) is resumed, the torn line cut and recorded; "
      .. "what the cut lost is never done twice", function()
      -- A journal cut after the canary's intent: its update's answer, and
      -- all of the second cluster, are lost (both were done).
      local ls, keep = lines(journal_text), {}
      for i, l in ipairs(ls) do
        keep[#keep + 1] = l
        if l:find('"type":"intent"', 1, true) and i > 1 then break end
      end
      local path = file(table.concat(keep, "\n") .. "\n" .. '{"key":"' .. plan.clusters[1].key .. '","status":"InPro')
      local r = mh.cli(sim, { "resume", path, "--poll-interval", "0.02", "--output", "json" })
      assert.are.equal(2, r.status, r.stderr)
      local resumed = mh.records(path, "resume")
      assert.is_true(resumed[1].torn_bytes > 0)
      local res = cjson.decode(r.stdout)
      local by = {}
      for _, c in ipairs(res.clusters) do by[c.key] = c end
      -- The canary's update is found in EKS and verified; the second
      -- cluster is CUSTOMER_ROUTED already, so its plan is stale.
      assert.are.equal("done", by[plan.clusters[1].key].state)
      assert.are.equal("refused", by[plan.clusters[2].key].state)
      assert.are.equal("stale plan: mode AWS_MANAGED -> CUSTOMER_ROUTED", by[plan.clusters[2].key].reason)
      assert.are.equal(1, #mh.records(path, "adopted"))
      mh.assert_exactly_once(sim, plan)
    end)
  end)

  describe("journal paths", function()
    it("on a read-only file system: IoError naming the path, nothing sent", function()
      local ro = dir .. "/ro"
      os.execute("mkdir -p " .. mh.quote(ro))
      -- A private mount namespace where ro/ is a read-only bind mount (root
      -- may write anywhere else).
      local line = refused(apply(plan_path, { "--journal", ro .. "/x.journal" }), "nothing was sent", {
        wrap = function(cmd)
          local q = mh.quote(ro)
          return ("unshare -m sh -c %s"):format(mh.quote(
            ("mount --bind %s %s && mount -o remount,bind,ro %s %s && exec %s"):format(q, q, q, q, cmd)))
        end })
      assert.is_truthy(line:find(ro .. "/x.journal", 1, true))
      assert.is_truthy(line:find("Read-only file system", 1, true))
    end)

    it("locked by another apply: JournalLocked, nothing sent", function()
      local path = dir .. "/held.journal"
      local holder = assert(core.journal_open(path, {}))
      local line = refused(apply(plan_path, { "--journal", path }), "nothing was sent")
      assert.is_truthy(line:find("locked", 1, true))
      assert.is_truthy(line:find("Another eksegress apply is using this journal", 1, true))
      -- resume of a journal another process holds: the same.
      local w = assert(journal_mod.open(dir .. "/held2.journal"))
      local lines_ = lines(journal_text)
      w.j:append(lines_[1])
      local line2 = refused({ "resume", dir .. "/held2.journal" }, "nothing was sent")
      assert.is_truthy(line2:find("locked", 1, true))
      w:close()
      holder:close()
    end)

    it("a FIFO: refused at once, nothing sent", function()
      local path = dir .. "/fifo.journal"
      assert(os.execute("mkfifo " .. mh.quote(path)))
      refused(apply(plan_path, { "--journal", path }), "not a regular file")
    end)
  end)

  describe("flags", function()
    for _, case in ipairs{
      { { "--wave-size", "0" }, "--wave-size must be an integer from 1 to 10000" },
      { { "--max-parallel", "many" }, "--max-parallel must be an integer from 1 to 100" },
      { { "--poll-interval=-1" }, "--poll-interval must be a number of seconds from 0 to 3600" },
      { { "--in-flight-timeout", "1.5" }, "--in-flight-timeout must be an integer" },
      { { "--canary", "no-such-cluster" }, 'the canary "no-such-cluster" is not a cluster this plan migrates' },
    } do
      it(table.concat(case[1], " "), function()
        refused(apply(plan_path, case[1]), case[2])
      end)
    end
    it("apply without --confirm", function()
      refused({ "apply", plan_path }, "--confirm is required")
    end)
  end)
end)
