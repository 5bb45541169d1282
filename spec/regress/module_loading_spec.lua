-- Regressions (issue 9, 4, the Lua parts): `require "eksegress"` hides only
-- a missing module of its own, never a real load error; the version comes
-- from the C core; settings has no hidden require of the credential layer
-- above it; a client whose engine cannot be created is nil, err, not a raise.
local eksegress = require "eksegress"

describe("regressions: module loading and client creation (issue 9)", function()
  it("regression: a module of ours that fails to load raises its real error, not nil", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. dir .. "/eksegress"))
    local f = assert(io.open(dir .. "/eksegress/brokenmod.lua", "w"))
    f:write('error("brokenmod: a real load error")\n')
    f:close()
    local saved = package.path
    package.path = dir .. "/?.lua;" .. saved
    finally(function()
      package.path = saved
      package.loaded["eksegress.brokenmod"] = nil
      os.execute("rm -rf " .. dir)
    end)
    local ok, msg = pcall(function() return eksegress.brokenmod end)
    assert.is_false(ok)
    assert.matches("brokenmod: a real load error", msg)
    -- a name that is no module of ours is simply absent
    assert.is_nil(eksegress.no_such_module)
    assert.is_nil(eksegress["not a name"])
    -- and modules of ours load on first use
    assert.are.equal(require("eksegress.options"), eksegress.options)
  end)

  it("the version is the C core's (a literal only for a core that has none)", function()
    local core = require "eksegress.core"
    assert.is_string(eksegress.version)
    assert.are.equal(core.version or "0.1.0", eksegress.version)
  end)

  it("regression: settings requires nothing from the credential layer above it (no hidden cycle)", function()
    local src = assert(io.open("lua/eksegress/settings.lua")):read("a")
    for name in src:gmatch("require%s*%(?%s*[\"']([%w._]+)[\"']") do
      assert.is_nil(name:find("^eksegress%.credentials"), "settings requires " .. name)
      assert.is_nil(name:find("^eksegress%.client"), "settings requires " .. name)
    end
    -- and loading it alone pulls none of them in
    local p = assert(io.popen("LUA_PATH='lua/?.lua;lua/?/init.lua;;' lua5.4 -e "
      .. "'require \"eksegress.settings\"; for k in pairs(package.loaded) do print(k) end' 2>&1"))
    local loaded = p:read("a")
    p:close()
    assert.matches("eksegress.settings", loaded, 1, true)
    assert.is_nil(loaded:find("eksegress.credentials", 1, true))
  end)

  it("regression: an engine that cannot be created (unwritable audit_path) is nil, err from "
    .. "eksegress.client, not a raise", function()
    local ok, c, err = pcall(eksegress.client, { region = "us-east-1", env = function() return nil end,
      credentials = { access_key_id = "AKIDEXAMPLE", secret_access_key = "not-a-real-secret-key" },
      audit_path = "/nonexistent-dir/for/sure/audit.log" })
    assert.is_true(ok, tostring(c))
    assert.is_nil(c)
    -- IoError once the core reports why (issue 9, 3); EngineError from a core
    -- that cannot tell yet
    assert.is_truthy(err.code == "IoError" or err.code == "EngineError", tostring(err))
    assert.is_string(err.message)
  end)
end)
