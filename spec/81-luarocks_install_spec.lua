-- Installing with LuaRocks, as a user does from a clone: `make rock` (tools/
-- rock.sh) builds the rock into a fresh tree with no network at all (inside
-- `unshare -n`), the clone is then deleted, and the installed CLI and a Lua
-- script work from another folder against the simulator.
local core = require "eksegress.core"
local simmod = require "helpers.sim"
local native = require "helpers.native"
local fixtures = require "helpers.fixtures"

local SLOW = os.getenv("EKSEGRESS_SLOW") == "1" and 5 or 1

local function sh(script, env, timeout_ms)
  local r, err = core.run_process({ "sh", "-c", script }, { env = env or native.env(),
    timeout_ms = (timeout_ms or 120000) * SLOW, max_output = 8 * 1024 * 1024 })
  if not r then error(err.code == "ProcessTimeout" and "hang: " .. err.message or tostring(err), 2) end
  return r
end

local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

describe("LuaRocks install into a fresh tree", function()
  local sim, dir, cleanup, tree, install
  setup(function()
    dir, cleanup = fixtures.tmpdir()
    tree = dir .. "/tree"
    -- The clone: the files git would commit (tracked and new, not ignored).
    local r = sh(("mkdir -p %s/clone && git ls-files -co --exclude-standard -z | tar --null -T - -cf - "
      .. "| tar -xf - -C %s/clone"):format(q(dir), q(dir)), native.env())
    assert(r.status == 0, r.stdout .. r.stderr)
    -- Offline: a network namespace of our own has no route anywhere.
    install = sh(("cd %s/clone && unshare -n sh tools/rock.sh --tree %s"):format(q(dir), q(tree)), nil, 600000)
    sh("rm -rf " .. q(dir .. "/clone"))
    sim = simmod.start("--time-scale 0")
  end)
  teardown(function()
    if sim then sim:stop() end
    if cleanup then cleanup() end
  end)

  it("builds and installs offline, relying on the Lua 5.4 modules already installed", function()
    assert.are.equal(0, install.status, install.stdout .. install.stderr)
    assert.matches("--deps-mode=none", install.stdout, 1, true)
    assert.matches("eksegress scm%-1 is now installed in " .. tree:gsub("%p", "%%%0"), install.stdout)
    local r = sh(("ls %s %s"):format(q(tree .. "/lib/lua/5.4/eksegress/core.so"),
      q(tree .. "/share/lua/5.4/eksegress/client.lua")))
    assert.are.equal(0, r.status, r.stderr)
  end)

  it("the installed CLI runs from another folder, with nothing but PATH and HOME set", function()
    local r = sh(("cd %s && %s --version"):format(q(dir), q(tree .. "/bin/eksegress")))
    assert.are.equal(0, r.status, r.stdout .. r.stderr)
    assert.matches("^eksegress " .. core.version:gsub("%.", "%%.") .. " %(Lua 5%.4", r.stdout)
  end)

  it("the installed CLI audits the simulator", function()
    local r = sh(("cd %s && %s audit --regions us-east-1,us-west-2 --require CUSTOMER_ROUTED --output json")
      :format(q(dir), q(tree .. "/bin/eksegress")), native.env(sim))
    assert.are.equal(1, r.status, r.stdout .. r.stderr)    -- exit 1: clusters not compliant
    local doc = require("cjson").decode(r.stdout)
    assert.are.equal("eksegress/audit/1", doc.schema)
    assert.are.equal(7, #doc.clusters)
    assert.are.equal(1, doc.summary.compliant)
  end)

  it("a Lua script requires eksegress from the tree (luarocks path) and calls the simulator", function()
    local script = [[
      local eksegress = require "eksegress"
      local where = package.searchpath("eksegress.client", package.path)
      local client = assert(eksegress.client{})
      local out = assert(client:call("eks", "DescribeCluster", { name = "prod-api" }))
      print(where, package.searchpath("eksegress.core", package.cpath), eksegress.version, out.cluster.status)
    ]]
    local r = sh(("cd %s && eval \"$(luarocks --lua-version 5.4 --tree %s path)\" && lua5.4 -e %s")
      :format(q(dir), q(tree), q(script)), native.env(sim))
    assert.are.equal(0, r.status, r.stdout .. r.stderr)
    assert.are.equal(("%s/share/lua/5.4/eksegress/client.lua\t%s/lib/lua/5.4/eksegress/core.so\t%s\tACTIVE\n")
      :format(tree, tree, core.version), r.stdout)
  end)
end)
