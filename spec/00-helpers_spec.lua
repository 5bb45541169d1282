-- The specs' own helper-process launcher (spec/helpers/process.lua): what every
-- spec that starts a simulator, a fault server or (soon) the CLI relies on.
local proc = require "helpers.process"

describe("helpers.process.spawn_and_wait", function()
  it("starts a helper, waits for its line, returns pid, captures and port; stop ends it", function()
    local h = proc.spawn_and_wait(
      "sh -c 'echo starting; sleep 0.2; echo \"listening on 127.0.0.1:4321\"; exec sleep 60'",
      "listening on (127%.0%.0%.1:(%d+))")
    assert.is_true(h:alive())
    assert.same({ "127.0.0.1:4321", "4321" }, h.captures)
    assert.equal(4321, h.port)
    assert.truthy(h:output():find("starting", 1, true))
    assert.is_true(h:stop())
    assert.is_false(h:alive())
    assert.is_true(h:stop(), "stop is idempotent")
  end)

  it("stop takes the helper's whole process group, children included", function()
    local h = proc.spawn_and_wait("sh -c 'sleep 60 & echo child $!; wait'", "child (%d+)")
    local child = h.port
    assert.is_true(proc.alive(child))
    assert.is_true(h:stop())
    -- The child was SIGTERMed with its group; give its reaper a moment (bounded).
    local deadline = require("eksegress.core").monotime() + 10
    while proc.alive(child) and require("eksegress.core").monotime() < deadline do
      require("eksegress.core").sleep_ms(20)
    end
    assert.is_false(proc.alive(child))
  end)

  it("kill sends the helper a signal (kill -9 by default)", function()
    local h = proc.spawn_and_wait("sh -c 'echo up; exec sleep 60'", "up")
    assert.is_true(h:kill())
    local deadline = require("eksegress.core").monotime() + 10
    while h:alive() and require("eksegress.core").monotime() < deadline do require("eksegress.core").sleep_ms(20) end
    assert.is_false(h:alive())
    assert.is_true(h:stop())
  end)

  it("a helper ignoring SIGTERM is killed", function()
    local h = proc.spawn_and_wait("sh -c 'trap \"\" TERM; echo ready; while :; do sleep 1; done'", "ready")
    assert.is_true(h:stop())
  end)

  it("a helper that exits before its line is an error carrying its output", function()
    local ok, err = pcall(proc.spawn_and_wait, "sh -c 'echo boom >&2; exit 3'", "never printed")
    assert.is_false(ok)
    assert.truthy(tostring(err):find("exited before printing", 1, true), err)
    assert.truthy(tostring(err):find("boom", 1, true), err)
  end)

  it("a helper that never prints its line is stopped at the deadline", function()
    local ok, err = pcall(proc.spawn_and_wait, "sleep 60", "never printed", { timeout = 0.3 })
    assert.is_false(ok)
    assert.truthy(tostring(err):find("timed out before printing", 1, true), err)
  end)
end)

describe("helpers.process.run_lua", function()
  it("runs a snippet with the spec's module paths", function()
    local r = proc.run_lua([[io.write(require("eksegress.core").version)]])
    assert.equal(0, r.status)
    assert.equal(require("eksegress.core").version, r.stdout)
  end)

  it("a child that hangs fails as a hang instead of stopping the suite", function()
    local ok, err = pcall(proc.run_lua, "while true do end", { timeout_ms = 300 })
    assert.is_false(ok)
    assert.truthy(tostring(err):find("hang", 1, true), err)
  end)
end)
