/*
 * openlibs.c: eksegress_openlibs, every module of eksegress from memory.
 * Each Lua module is a package.preload loader that compiles its source on
 * the first require, so opening costs one table entry per module.
 */
#include "eksegress.h"

#include <lauxlib.h>

#include "embedded.h"

/* The preload loader of module number upvalue 1. Like package.path's loader,
   the chunk gets the module name and its file name as arguments; its
   result is require's value. */
static int load_embedded(lua_State *L)
{
  const struct es_embedded_module *m = &es_embedded_modules[lua_tointeger(L, lua_upvalueindex(1))];
  if(luaL_loadbufferx(L, m->source, m->len, m->chunkname, "t") != LUA_OK)
    return lua_error(L);
  lua_pushstring(L, m->name);
  lua_pushstring(L, m->chunkname + 1);
  lua_call(L, 2, 1);
  return 1;
}

int eksegress_openlibs(lua_State *L)
{
  int n = 1;
  lua_Integer i;
  eksegress_preload_core(L);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  for(i = 0; es_embedded_modules[i].name; i++, n++) {
    lua_pushinteger(L, i);
    lua_pushcclosure(L, load_embedded, 1);
    lua_setfield(L, -2, es_embedded_modules[i].name);
  }
  lua_pop(L, 1);
  return n;
}
