-- The pure workflow parts (preflight checks and snapshot, CIDR math, SCP
-- generation and evaluation) need nothing networked: a fresh interpreter whose
-- eksegress.core, client, runtime, parallel and errors modules are poisoned loads
-- them and runs them end to end without touching any of those.
local fixtures = require "helpers.fixtures"

local PURE = {
  "eksegress.net.cidr",
  "eksegress.workflows.preflight.snapshot",
  "eksegress.workflows.preflight.fixes",
  "eksegress.workflows.preflight.checks",
  "eksegress.workflows.scp",
  "eksegress.workflows.scp.evaluate",
}

local POISONED = { "eksegress.core", "eksegress.client", "eksegress.runtime", "eksegress.parallel",
                   "eksegress.errors", "eksegress.credentials", "eksegress.services", "eksegress" }

-- A fresh interpreter: poison the networked modules, run `body`, report whether it
-- ran and what it touched.
local HARNESS = [=[
local touched, poisoned = {}, {}
for _, name in ipairs({ %s }) do
  poisoned[name] = true
  local trap = function(_, k) touched[#touched + 1] = name .. "." .. tostring(k); error("touched " .. name, 2) end
  package.loaded[name] = setmetatable({}, { __index = trap, __call = trap })
end
local real_require = require
function require(name) -- luacheck: ignore
  if poisoned[name] then touched[#touched + 1] = "require " .. name end
  return real_require(name)
end
local cjson = require "cjson"
local function read(p) local f = assert(io.open(p, "rb")); local s = f:read("a"); f:close(); return s end
local ok, err = pcall(function()
%s
end)
io.write(ok and "ok" or "error", "\n", "touched: ", table.concat(touched, ","), "\n")
if not ok then io.stderr:write(tostring(err), "\n") end
]=]

local PURE_BODY = [=[
  for _, m in ipairs({ %s }) do require(m) end
  local checks = require "eksegress.workflows.preflight.checks"
  local snapshot = require "eksegress.workflows.preflight.snapshot"
  local scp = require "eksegress.workflows.scp"
  local results = checks.run(cjson.decode(read("spec/fixtures/preflight/nacl-deny-before-allow.json")))
  assert(#results == 28)
  local snap = snapshot.from_client(cjson.decode(read("spec/fixtures/preflight/client/analytics.json")))
  assert(#checks.run(snap) == 28)
  assert(snapshot.policy_document("%%7B%%22Statement%%22%%3A%%5B%%5D%%7D"))
  for _, v in ipairs({ "safe", "documented" }) do
    local out = assert(scp.generate{ variant = v, exempt_role_arns = { "arn:aws:iam::*:role/BreakGlass" } })
    assert(#assert(scp.matrix(out.policy, { exempt_role_arns = out.exempt_role_arns })) == 12)
  end
  assert(select(2, scp.generate{ variant = "nope" }).code == "InvalidParameter")
]=]

local function quoted(list)
  local out = {}
  for i, s in ipairs(list) do out[i] = ("%q"):format(s) end
  return table.concat(out, ", ")
end

local function run_poisoned(body)
  local path = os.tmpname()
  local f = assert(io.open(path, "wb"))
  f:write(HARNESS:format(quoted(POISONED), body))
  f:close()
  local lua = os.getenv("LUA") or "lua5.4"
  -- No eksegress C module on the path: only system ones (cjson) can load.
  local cmd = ("LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='/nonexistent/?.so;;' %s %s 2>/dev/null")
    :format(lua, path)
  local p = assert(io.popen(cmd))
  local out = p:read("a")
  p:close()
  os.remove(path)
  return out
end

describe("pure workflow modules", function()
  it("load and run with the core, client, runtime and errors modules poisoned", function()
    assert.equal("ok\ntouched: \n", run_poisoned(PURE_BODY:format(quoted(PURE))))
  end)

  it("the poison is a working witness: a module that uses the core is caught", function()
    -- eksegress.protocols.xmltable loads eksegress.core to decode XML
    local out = run_poisoned('require("eksegress.protocols.xmltable").decode("<a/>")')
    assert.equal("error\ntouched: require eksegress.core,eksegress.core.xml_decode\n", out)
  end)

  it("require nothing but each other, cjson and the standard library", function()
    local allowed = { cjson = true, ["cjson.safe"] = true }
    for _, m in ipairs(PURE) do allowed[m] = true end
    for _, m in ipairs(PURE) do
      local file = "lua/" .. m:gsub("%.", "/") .. ".lua"
      if not fixtures.exists(file) then file = "lua/" .. m:gsub("%.", "/") .. "/init.lua" end
      local text = fixtures.read(file)
      for dep in text:gmatch("require%s*%(?%s*[\"']([^\"']+)[\"']") do
        assert.is_true(allowed[dep], ("%s requires %s"):format(m, dep))
      end
    end
  end)
end)
