/*
 * test_host_api.c: the host API of csrc/eksegress.h, as a host uses it:
 * libeksegress.a linked into a C program, modules from memory, several
 * states, libcurl initialised once. Run by `make test` from the repository
 * root, and under ASan and valgrind by `make check`.
 */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <string.h>

#include "eksegress.h"
#include "embedded.h"
#include "es_error.h"
#include "es_version.h"
#include "tap.h"

static lua_State *open_with(int (*opener)(lua_State *), void (*preload)(lua_State *))
{
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  if(opener)
    opener(L);
  if(preload)
    preload(L);
  return L;
}

/* Run chunk; 1 when it ran and returned true, else 0 with the reason. */
static int check(lua_State *L, const char *chunk)
{
  int r;
  if(luaL_dostring(L, chunk) != LUA_OK) {
    diag("lua error: %s", lua_tostring(L, -1));
    lua_pop(L, 1);
    return 0;
  }
  r = lua_toboolean(L, -1);
  if(!r && lua_gettop(L) > 1 && lua_isstring(L, -2))
    diag("%s", lua_tostring(L, -2));
  lua_settop(L, 0);
  return r;
}

int main(void)
{
  char err[256] = "unset";
  size_t n = 0;
  int i, opened;
  lua_State *L, *states[3];

  ok(eksegress_global_init(err, sizeof(err)) == 0 && err[0] == '\0', "eksegress_global_init succeeds");
  ok(eksegress_global_init(NULL, 0) == 0, "and again, without a message buffer");
  is_str(eksegress_version(), ES_VERSION, "eksegress_version is the core's version");

  while(es_embedded_modules[n].name)
    n++;
  L = open_with(NULL, NULL);
  opened = eksegress_openlibs(L);
  ok(n > 50 && opened == (int)n + 1, "openlibs preloads every embedded module and the C module (%d)", opened);

  /* Modules come from memory: none of them is on this process's search
     paths (the tests run without LUA_PATH pointing at lua/). */
  lua_pushstring(L, ES_VERSION);
  lua_setglobal(L, "VERSION");
  ok(check(L, "return package.searchpath('eksegress.client', package.path) == nil"),
     "eksegress.client is not on package.path");
  ok(check(L, "local e = require 'eksegress'\n"
              "return e.version == VERSION and type(e.client) == 'function', e.version"),
     "require 'eksegress' from memory, with the C core's version");
  ok(check(L, "local failed = {}\n"
              "for name in pairs(package.preload) do\n"
              "  local ok, err = pcall(require, name)\n"
              "  if not ok then failed[#failed + 1] = name .. ': ' .. tostring(err) end\n"
              "end\n"
              "return #failed == 0, table.concat(failed, '\\n')"),
     "every preloaded module loads");
  ok(check(L, "local info = debug.getinfo(require('eksegress.errors').new, 'S')\n"
              "return info.source == '@lua/eksegress/errors.lua', info.source"),
     "an embedded module's chunk name is its path in the tree");
  ok(check(L, "local c = require 'eksegress.core'\n"
              "package.loaded['eksegress.core'] = nil\n"
              "return require('eksegress.core').error_metatable == c.error_metatable"),
     "the C module opens twice in one state, sharing its metatables");
  ok(eksegress_openlibs(L) == opened, "openlibs again on the same state");
  ok(check(L, "local ok, err = pcall(require('eksegress').client, { no_such_option = 1 })\n"
              "return not ok and tostring(err):find('no_such_option', 1, true) ~= nil, tostring(err)"),
     "misuse raises a clear error from embedded code");
  lua_close(L);

  /* preload_core alone: the C module from memory, no Lua module. */
  L = open_with(NULL, eksegress_preload_core);
  ok(check(L, "return type(require('eksegress.core').engine_new) == 'function'"),
     "eksegress_preload_core makes eksegress.core loadable");
  ok(check(L, "return package.preload['eksegress.client'] == nil and not pcall(require, 'eksegress.client')"),
     "eksegress_preload_core adds no Lua module");
  lua_close(L);

  /* Several states at once, each with its own engine; closed in any order. */
  for(i = 0; i < 3; i++) {
    states[i] = open_with(eksegress_openlibs, NULL);
    ok(check(states[i], "local core = require 'eksegress.core'\n"
                        "E = core.engine_new{}\n"
                        "return not E:is_closed()"),
       "state %d opens an engine", i);
  }
  lua_close(states[1]);
  ok(check(states[0], "E:close() return E:is_closed()"), "state 0 still works after state 1 closed");
  lua_close(states[2]);
  lua_close(states[0]);
  return done_testing();
}
