/*
 * lua_guard.c: binding of the irreversibility guard's pure decision function:
 * core.guard_check(opts) -> decision table. The same C function runs inside the
 * engine for every EKS request; this entry point lets any test or script ask
 * for a decision without a network.
 */
#include "lua_util.h"
#include "guard.h"

#include <string.h>

static void push_decision(lua_State *L, const struct es_guard_decision *d)
{
  const char *code = es_guard_code_name(d->code);
  lua_createtable(L, 0, 7);
  lua_pushstring(L, es_guard_action_name(d->action));
  lua_setfield(L, -2, "action");
  if(code) {
    lua_pushstring(L, code);
    lua_setfield(L, -2, "code");
  }
  if(d->cluster[0]) {
    lua_pushstring(L, d->cluster);
    lua_setfield(L, -2, "cluster");
  }
  if(d->from[0]) {
    lua_pushstring(L, d->from);
    lua_setfield(L, -2, "from");
  }
  if(d->to[0]) {
    lua_pushstring(L, d->to);
    lua_setfield(L, -2, "to");
  }
  lua_pushstring(L, d->message);
  lua_setfield(L, -2, "message");
  lua_pushboolean(L, d->touches_mode);
  lua_setfield(L, -2, "touches_mode");
}

static int l_guard_check(lua_State *L)
{
  struct es_guard_input in;
  struct es_guard_decision d;
  luaL_checktype(L, 1, LUA_TTABLE);
  memset(&in, 0, sizeof(in));
  in.method = es_lua_checkstring(L, 1, "method", NULL);
  in.target = es_lua_checkstring(L, 1, "target", &in.target_len);
  in.body = es_lua_optstring(L, 1, "body", "", &in.body_len);
  in.current_mode = es_lua_optstring(L, 1, "current_mode", NULL, NULL);
  in.acknowledge = es_lua_optstring(L, 1, "acknowledge", NULL, NULL);
  in.allow_undocumented = es_lua_optbool(L, 1, "allow_undocumented", 0);
  if(es_guard_check(&in, &d))
    return luaL_error(L, "guard: invalid input");
  push_decision(L, &d);
  return 1;
}

void es_lua_open_guard(lua_State *L)
{
  static const luaL_Reg fns[] = {
    {"guard_check", l_guard_check},
    {NULL, NULL}
  };
  luaL_setfuncs(L, fns, 0);
}
