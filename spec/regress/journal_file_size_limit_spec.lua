-- Regression (issue 16, chaos): a journal write past the file-size limit
-- (ulimit -f, RLIMIT_FSIZE) used to kill `eksegress apply` with SIGXFSZ:
-- exit 153, no message, a torn first line. The CLI now watches SIGXFSZ, so
-- the write fails with EFBIG, the journal is cut back to whole lines, and the
-- user gets one line and the documented exit code; nothing was sent.
local canonical = require "eksegress.canonical"
local exit = require "eksegress.cli.exit"
local migrate = require "eksegress.workflows.migrate"
local mh = require "helpers.migrate"

describe("regression: a journal past the file-size limit", function()
  local sim, dir
  setup(function()
    sim = mh.start_fleet{ generate = "clusters=3,accounts=1,regions=us-east-1,seed=3"
                                   .. ",defects=0,routed=0,isolated=0,nomode=0",
                          args = "--time-scale 0" }
    dir = mh.tmpdir()
  end)
  teardown(function() mh.stop(sim, dir) end)

  it("regression: the limit is an error line and exit 64 with nothing sent, not a silent SIGXFSZ", function()
    local plan = assert(migrate.plan(mh.factory(sim), { targets = mh.targets(sim), version = "test" }))
    local path = dir .. "/p.plan.json"
    local journal = dir .. "/p.journal"
    mh.write(path, canonical.encode(plan) .. "\n")
    local r = mh.cli(sim, { "apply", path, "--confirm", plan.plan_id, "--journal", journal },
      { wrap = function(cmd) return "prlimit --fsize=2000:2000 " .. cmd end })
    assert.are.equal(exit.USAGE, r.status, r.stderr)
    assert.matches("eksegress: apply: journal [^\n]*File too large; nothing was sent", r.stderr)
    assert.are.equal("", mh.read(journal) or "", "the torn first line was cut back")
    for _, q in ipairs(mh.log(sim).requests) do
      assert.are_not.equal("UpdateClusterConfig", q.operation)
    end
  end)
end)
