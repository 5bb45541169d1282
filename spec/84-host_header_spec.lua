-- The public host header (csrc/eksegress.h): it stands alone in C and C++,
-- the library defines everything it declares, and the link line it documents
-- builds a working host.
local core = require "eksegress.core"
local native = require "helpers.native"
local fixtures = require "helpers.fixtures"

local HEADER = "csrc/eksegress.h"

local read = fixtures.read

local function sh(cmd)
  local r = assert(core.run_process({ "sh", "-c", cmd }, { timeout_ms = 300000 }))
  return r.status, r.stdout .. r.stderr
end

local function sanitize_flags()
  return native.asan() and " -fsanitize=address,undefined -fno-omit-frame-pointer" or ""
end

describe("csrc/eksegress.h", function()
  local build
  setup(function()
    local r = native.make(native.build_dir() .. "/libeksegress.a")
    assert(r.status == 0, r.stdout)
    build = native.build_dir()
  end)

  it("compiles on its own as C11 and as C++", function()
    local d, cleanup = fixtures.tmpdir()
    finally(cleanup)
    local status, out = sh(("printf '#include \"eksegress.h\"\\n' > %s/h.c && "
      .. "cc -std=c11 -Wall -Wextra -Werror -pedantic -fsyntax-only -Icsrc $(pkg-config --cflags lua5.4) %s/h.c && "
      .. "cp %s/h.c %s/h.cc && c++ -Wall -Wextra -Werror -fsyntax-only -Icsrc $(pkg-config --cflags lua5.4) %s/h.cc")
      :format(d, d, d, d, d))
    assert.are.equal(0, status, out)
  end)

  it("declares only what libeksegress.a defines", function()
    local declared = {}
    -- Prototypes: a line starting with a type and ending in ");".
    for name in read(HEADER):gmatch("\n[%a_][%w_ %*]-([%a_][%w_]*)%([^)]*%);") do
      declared[#declared + 1] = name
    end
    table.sort(declared)
    assert.are.same({ "eksegress_global_init", "eksegress_openlibs", "eksegress_preload_core", "eksegress_version",
                      "luaopen_eksegress_core" }, declared)
    local status, out = sh("nm -g --defined-only " .. build .. "/libeksegress.a")
    assert.are.equal(0, status, out)
    for _, name in ipairs(declared) do
      assert.matches(" T " .. name .. "\n", out, 1, true)
    end
  end)

  it("the link line it documents builds a host that runs eksegress from memory", function()
    -- The command under LINKING, continuation lines joined.
    local cmd = read(HEADER):match("\n %*%s+(cc host%.c.-lpthread)\n")
    assert.is_string(cmd, "no link line in " .. HEADER)
    cmd = cmd:gsub("\\\n %*%s*", " ")
    local d, cleanup = fixtures.tmpdir()
    finally(cleanup)
    local f = assert(io.open(d .. "/host.c", "w"))
    f:write([[
#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include "eksegress.h"
int main(void)
{
  char err[256];
  lua_State *L;
  if(eksegress_global_init(err, sizeof(err)) != 0) { fprintf(stderr, "%s\n", err); return 1; }
  L = luaL_newstate();
  luaL_openlibs(L);
  eksegress_openlibs(L);
  if(luaL_dostring(L, "local e = require 'eksegress'\n"
                      "local ok, err = pcall(e.client, { region = 42 })\n"
                      "print(e.version, package.searchpath('eksegress', package.path) == nil, ok)")) {
    fprintf(stderr, "%s\n", lua_tostring(L, -1));
    lua_close(L);
    return 1;
  }
  lua_close(L);
  printf("%s\n", eksegress_version());
  return 0;
}
]])
    f:close()
    cmd = cmd:gsub("host%.c", d .. "/host.c"):gsub("build/libeksegress%.a", build .. "/libeksegress.a")
    local status, out = sh(cmd .. sanitize_flags() .. " -o " .. d .. "/host")
    assert.are.equal(0, status, cmd .. "\n" .. out)
    local r = native.run_checked({ d .. "/host" }, native.env())
    assert.are.equal(0, r.status, r.stdout .. r.stderr)
    assert.are.equal(("%s\ttrue\tfalse\n%s\n"):format(core.version, core.version), r.stdout)
  end)
end)
