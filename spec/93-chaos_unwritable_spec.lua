-- Chaos (issue 16, section 2): a journal or report that cannot be written.
-- A read-only folder (a read-only bind mount in a private mount namespace,
-- since we run as root), a file-size limit reached mid-run (RLIMIT_FSIZE via
-- prlimit) and a full disk (a small tmpfs, filled). Promises: nothing reaches
-- EKS that was not journaled first (the simulator's /_sim/log against the
-- journal), one clear line naming the file and the system's reason, the
-- documented exit code (lua/eksegress/cli/exit.lua: 64 when the journal
-- cannot be started, so nothing was sent; 2 when a run stops part-way), the
-- journal whole lines only, and `resume` finishing the job once the disk is
-- writable again.
local core = require "eksegress.core"
local exit = require "eksegress.cli.exit"
local migrate = require "eksegress.workflows.migrate"
local chaos = require "helpers.chaos"
local mh = require "helpers.migrate"

local DRIVE = { "--wave-size", "4", "--max-parallel", "4", "--poll-interval", "0.05", "--in-flight-timeout", "60" }

local function can_unshare()
  local r = core.run_process({ "unshare", "-m", "true" }, { timeout_ms = 10000 })
  return r and r.status == 0
end

local args = chaos.args

describe("chaos: journals and reports that cannot be written #chaos", function()
  local sim, dir, round = nil, nil, 0
  local unshare = can_unshare()

  setup(function()
    sim = mh.start_fleet{ generate = "clusters=8,accounts=1,regions=us-east-1,seed=93"
                                   .. ",defects=0,routed=0,isolated=0,nomode=0",
                          args = "--time-scale 0.001" }
    dir = mh.tmpdir()
  end)
  teardown(function() mh.stop(sim, dir) end)

  local function fresh_plan()
    round = round + 1
    return chaos.fresh_plan(sim, dir, round)
  end

  local function updates_sent()
    local n = 0
    for _, q in ipairs(mh.log(sim).requests) do
      if q.operation == "UpdateClusterConfig" then n = n + 1 end
    end
    return n
  end

  -- The journal holds whole records only; every update EKS saw has its
  -- intent (with the same token) in it.
  local function assert_journaled_first(journal)
    local text = mh.read(journal) or ""
    assert.is_true(text == "" or text:sub(-1) == "\n", "the journal ends in a torn line")
    local intents = {}
    if text ~= "" then
      for _, r in ipairs(mh.records(journal, "intent")) do intents[r.key] = r.token end
    end
    for key, rec in pairs(mh.log(sim).clusters) do
      for _, call in ipairs(rec.calls) do
        assert.are.equal(intents[key], call.client_request_token, key .. ": EKS got a request the journal lacks")
      end
    end
  end

  -- The one line that says what failed: names the file and the reason.
  local function assert_clear_line(stderr, path, reason)
    chaos.assert_no_crash(stderr, "stderr")
    local found
    for line in stderr:gmatch("[^\n]+") do
      if line:find(path, 1, true) and line:find(reason, 1, true) then found = line end
    end
    assert.is_truthy(found, ("no line names %s and %q:\n%s"):format(path, reason, stderr))
    assert.matches("^eksegress: ", found)
    return found
  end

  -- `sh -c SCRIPT` in a private mount namespace, with the CLI command as $1.
  local function in_namespace(script)
    return function(cmd)
      return ("unshare -m sh -c %s sh %s"):format(mh.quote(script), mh.quote(cmd))
    end
  end

  local function ro_mount(folder)
    return ("mount --bind %s %s && mount -o remount,bind,ro %s %s && exec sh -c \"$1\"")
      :format(folder, folder, folder, folder)
  end

  it("a journal in a read-only folder: exit 64, one line, nothing sent", function()
    if not unshare then return pending("unshare -m is not available") end
    local plan, plan_path = fresh_plan()
    local ro = dir .. "/ro"
    os.execute("mkdir -p " .. mh.quote(ro))
    local journal = ro .. "/run.journal"
    local r = mh.cli(sim, { "apply", plan_path, "--confirm", plan.plan_id, "--journal", journal },
      { wrap = in_namespace(ro_mount(ro)) })
    assert.are.equal(exit.USAGE, r.status, r.stderr)
    local line = assert_clear_line(r.stderr, journal, "Read-only file system")
    assert.matches("nothing was sent", line)
    assert.are.equal(0, updates_sent())
    chaos.figure("read-only journal folder", ("exit %d: %s"):format(r.status, line))
  end)

  it("a report or plan into a read-only folder: exit 2 and one line naming the file", function()
    if not unshare then return pending("unshare -m is not available") end
    fresh_plan()
    local ro = dir .. "/ro-reports"
    os.execute("mkdir -p " .. mh.quote(ro))
    for _, case in ipairs{
      { "audit", "--export", ro .. "/audit.json" },
      { "audit", "--export", ro .. "/audit.sarif" },
      { "plan", "--all-noncompliant", "--out", ro .. "/fleet.plan.json" },
    } do
      local r = mh.cli(sim, case, { wrap = in_namespace(ro_mount(ro)) })
      assert.are.equal(exit.PARTIAL, r.status, r.stderr)
      local line = assert_clear_line(r.stderr, case[#case], "Read-only file system")
      chaos.figure("read-only " .. case[1] .. " " .. case[#case - 1], ("exit %d: %s"):format(r.status, line))
    end
    assert.are.equal(0, updates_sent())
  end)

  -- Run apply until a journal write fails (`wrap` makes it fail), then check
  -- the promises and resume with a writable journal. Returns the line.
  local function fail_then_resume(wrap, journal_in, copy_out, reason)
    local plan, plan_path = fresh_plan()
    local r = mh.cli(sim, args({ "apply", plan_path, "--confirm", plan.plan_id, "--journal", journal_in },
      table.unpack(DRIVE)), { wrap = wrap })
    local journal = copy_out or journal_in
    assert.is_true(r.status == exit.USAGE or r.status == exit.PARTIAL, ("exit %d:\n%s"):format(r.status, r.stderr))
    local line = assert_clear_line(r.stderr, journal_in, reason)
    assert_journaled_first(journal)
    local sent = updates_sent()
    if r.status == exit.USAGE then assert.are.equal(0, sent) end
    -- Writable again: resume (or a fresh apply when the journal never
    -- started) finishes, each cluster updated once.
    local again
    if (mh.read(journal) or "") == "" then
      os.remove(journal)
      again = args({ "apply", plan_path, "--confirm", plan.plan_id, "--journal", journal }, table.unpack(DRIVE))
    else
      again = args({ "resume", journal }, table.unpack(DRIVE))
    end
    local r2 = mh.cli(sim, again)
    assert.are.equal(0, r2.status, r2.stderr)
    mh.assert_exactly_once(sim, plan)
    assert.are.equal(#plan.clusters, migrate.journal.summary((mh.journal(journal))).done)
    return r.status, line, sent
  end

  it("a file-size limit reached mid-run (RLIMIT_FSIZE): no unjournaled update, one line, exit 2 or 64; "
    .. "resume finishes", function()
    -- Limits from inside the first record (the plan) to a few records later.
    for _, limit in ipairs{ 4000, 8200, 9000, 10500, 12500 } do
      local journal = ("%s/fsize-%d.journal"):format(dir, limit)
      local status, line, sent = fail_then_resume(function(cmd)
        return ("prlimit --fsize=%d:%d %s"):format(limit, limit, cmd)
      end, journal, nil, "File too large")
      chaos.figure(("RLIMIT_FSIZE %d bytes"):format(limit), ("exit %d after %d update(s) sent: %s")
        :format(status, sent, line))
    end
  end)

  it("a full disk mid-run (a small tmpfs, filled): no unjournaled update, one line, exit 2 or 64; "
    .. "resume finishes", function()
    if not unshare then return pending("unshare -m is not available") end
    -- 8 pages of tmpfs; the filler leaves `free` bytes for the journal.
    for _, free in ipairs{ 4096, 8192, 12288 } do
      local mnt = ("%s/tmpfs-%d"):format(dir, free)
      local out = ("%s/full-%d.journal"):format(dir, free)
      os.execute("mkdir -p " .. mh.quote(mnt))
      local script = ("mount -t tmpfs -o size=32k tmpfs %s && dd if=/dev/zero of=%s/filler bs=1024 count=%d "
        .. "2>/dev/null; sh -c \"$1\"; rc=$?; cp %s/run.journal %s 2>/dev/null || : > %s; exit $rc")
        :format(mnt, mnt, (32768 - free) // 1024, mnt, out, out)
      local status, line, sent = fail_then_resume(in_namespace(script), mnt .. "/run.journal", out,
        "No space left on device")
      chaos.figure(("tmpfs with %d bytes free"):format(free), ("exit %d after %d update(s) sent: %s")
        :format(status, sent, line))
    end
  end)
end)
