-- The CLI run from a copy without its C module (a checkout not built yet, an
-- install missing core.so): one clear line and exit 70, not a Lua traceback.
local core = require "eksegress.core"

describe("bin/eksegress without the C core", function()
  it("regression: a missing eksegress.core is one line naming the fix, exit 70, no traceback", function()
    local p = io.popen("mktemp -d")
    local dir = p:read("l")
    p:close()
    finally(function() os.execute("rm -rf '" .. dir .. "'") end)
    assert.is_true(os.execute("cp -r bin lua '" .. dir .. "/'"))
    -- no build/ beside it, and no system-wide eksegress.core on the paths
    local r = assert(core.run_process({ "env", "LUA_CPATH=/nonexistent/?.so", "LUA_PATH=/nonexistent/?.lua",
      "lua5.4", dir .. "/bin/eksegress", "audit" }, { timeout_ms = 30000 }))
    assert.are.equal(70, r.status)
    assert.are.equal("", r.stdout)
    assert.matches("^eksegress: cannot load the C core %(eksegress%.core%): run 'make'", r.stderr)
    assert.is_nil(r.stderr:find("traceback", 1, true), r.stderr)
    local _, lines = r.stderr:gsub("\n", "")
    assert.are.equal(1, lines, r.stderr)
  end)
end)
