/*
 * lua_guard.c: binding of the irreversibility guard's pure decision function:
 * core.guard_check(opts) -> decision table. The same C function runs inside the
 * engine for every EKS request; this entry point lets any test or script ask
 * for a decision without a network.
 */
#include "lua_util.h"
#include "guard.h"

#include <string.h>

/* Push a decision as a table { action, code?, cluster?, from?, to?, message,
   touches_mode }; empty strings are left out. Shared with lua_engine.c. */
void es_lua_push_guard_decision(lua_State *L, const struct es_guard_decision *d)
{
  const char *code = es_guard_code_name(d->code);
  const char *fields[4][2];
  int i;
  fields[0][0] = "code";
  fields[0][1] = code;
  fields[1][0] = "cluster";
  fields[1][1] = d->cluster;
  fields[2][0] = "from";
  fields[2][1] = d->from;
  fields[3][0] = "to";
  fields[3][1] = d->to;
  lua_createtable(L, 0, 7);
  lua_pushstring(L, es_guard_action_name(d->action));
  lua_setfield(L, -2, "action");
  for(i = 0; i < 4; i++) {
    if(fields[i][1] && fields[i][1][0]) {
      lua_pushstring(L, fields[i][1]);
      lua_setfield(L, -2, fields[i][0]);
    }
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
  /* The target and the body go to the guard with their lengths: the
     decision function itself reads NUL and other odd bytes (and refuses
     them), so they are passed through for it to judge. */
  in.target = es_lua_optbytes(L, 1, "target", NULL, &in.target_len);
  if(!in.target)
    return luaL_error(L, "field 'target' is required");
  in.body = es_lua_optbytes(L, 1, "body", "", &in.body_len);
  in.current_mode = es_lua_optstring(L, 1, "current_mode", NULL, NULL);
  in.acknowledge = es_lua_optstring(L, 1, "acknowledge", NULL, NULL);
  in.allow_undocumented = es_lua_optbool(L, 1, "allow_undocumented", 0);
  if(es_guard_check(&in, &d))
    return luaL_error(L, "guard: invalid input");
  es_lua_push_guard_decision(L, &d);
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
