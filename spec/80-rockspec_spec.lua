-- The rockspecs (rockspec/): generated from the tree by tools/dist.lua, they
-- list every Lua module and C source, name the dependencies the issue asks
-- for, and pass `luarocks lint`.
local core = require "eksegress.core"
local read = require("helpers.fixtures").read

local SPECS = { "rockspec/eksegress-scm-1.rockspec", ("rockspec/eksegress-%s-1.rockspec"):format(core.version) }

-- A rockspec is a Lua chunk of assignments: its globals are its fields.
local function load_rockspec(path)
  local env = {}
  assert(load(read(path), "@" .. path, "t", env))()
  return env
end

local function find(cmd)
  local list = {}
  local p = assert(io.popen(cmd))
  for line in p:lines() do list[#list + 1] = line end
  p:close()
  table.sort(list)
  return list
end

local function run(cmd)
  local r = assert(core.run_process(cmd .. " 2>&1", { timeout_ms = 120000 }))
  return r.status, r.stdout
end

describe("rockspecs", function()
  it("exist for scm and for the core's version", function()
    for _, path in ipairs(SPECS) do
      local spec = load_rockspec(path)
      assert.are.equal("eksegress", spec.package)
      assert.are.equal(path:match("eksegress%-(.-)%.rockspec$"), spec.version)
    end
    assert.are.equal("v" .. core.version, load_rockspec(SPECS[2]).source.tag)
  end)

  it("list every Lua module of lua/ at its path, and nothing else", function()
    local want = {}
    for _, path in ipairs(find("find lua -type f -name '*.lua'")) do
      local name = path:gsub("^lua/", ""):gsub("%.lua$", ""):gsub("/init$", ""):gsub("/", ".")
      want[name] = path
    end
    assert.is_truthy(want["eksegress"] and want["eksegress.cli"] and want["eksegress.workflows.audit"])
    for _, path in ipairs(SPECS) do
      local got = {}
      for name, v in pairs(load_rockspec(path).build.modules) do
        if name ~= "eksegress.core" then got[name] = v end
      end
      assert.are.same(want, got, path)
    end
  end)

  it("build eksegress.core from every C source of the core and the binding", function()
    local want = find("ls csrc/core/*.c csrc/lua_*.c")
    for _, path in ipairs(SPECS) do
      local spec = load_rockspec(path)
      local c = spec.build.modules["eksegress.core"]
      local got = {}
      for _, s in ipairs(c.sources) do got[#got + 1] = s end
      table.sort(got)
      assert.are.same(want, got, path)
      assert.are.equal("builtin", spec.build.type)
      -- Each library is found through its LuaRocks variables (CURL_DIR, ...).
      assert.are.same({ "curl", "crypto", "jansson", "expat" }, c.libraries)
      for _, var in ipairs{ "CURL", "OPENSSL", "JANSSON", "EXPAT" } do
        assert.is_table(spec.external_dependencies[var], var)
        assert.is_truthy(table.concat(c.libdirs, " "):find("$(" .. var .. "_LIBDIR)", 1, true), var)
        assert.is_truthy(table.concat(c.incdirs, " "):find("$(" .. var .. "_INCDIR)", 1, true), var)
      end
    end
  end)

  it("depend on Lua 5.4, lua-cjson and argparse, and install the CLI", function()
    for _, path in ipairs(SPECS) do
      local spec = load_rockspec(path)
      assert.are.same({ "lua >= 5.4, < 5.5", "lua-cjson", "argparse" }, spec.dependencies)
      assert.are.same({ eksegress = "bin/eksegress" }, spec.build.install.bin)
    end
  end)

  it("are what tools/dist.lua generates from the tree (make rockspec has been run)", function()
    for i, version in ipairs{ "scm", core.version } do
      local status, out = run("lua5.4 tools/dist.lua rockspec " .. version)
      assert.are.equal(0, status, out)
      assert.are.equal(read(SPECS[i]), out, "stale " .. SPECS[i] .. ": run make rockspec")
    end
  end)

  it("pass luarocks lint", function()
    for _, path in ipairs(SPECS) do
      local status, out = run("luarocks --lua-version 5.4 lint " .. path)
      assert.are.equal(0, status, out)
    end
  end)
end)
