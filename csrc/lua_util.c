/* lua_util.c: argument and error helpers for the Lua binding. */
#include "lua_util.h"

#include <string.h>

const char es_error_mt_key = 0;

void es_lua_push_error(lua_State *L, const char *code, const char *message)
{
  lua_createtable(L, 0, 4);
  lua_pushstring(L, code);
  lua_setfield(L, -2, "code");
  lua_pushstring(L, message);
  lua_setfield(L, -2, "message");
  lua_rawgetp(L, LUA_REGISTRYINDEX, &es_error_mt_key);
  lua_setmetatable(L, -2);
}

int es_lua_fail(lua_State *L, const char *code, const char *message)
{
  luaL_pushfail(L);
  es_lua_push_error(L, code, message);
  return 2;
}

void es_lua_check_nonul(lua_State *L, const char *field, const char *s, size_t len)
{
  /* The field's name, never its value: it may be a secret. */
  if(s && memchr(s, '\0', len))
    luaL_error(L, "field '%s' must not contain a NUL byte", field);
}

const char *es_lua_optbytes(lua_State *L, int idx, const char *field, const char *def, size_t *len)
{
  const char *s;
  int t;
  /* Raw access: a string produced by an __index metamethod would be
     referenced by nothing once popped. */
  idx = lua_absindex(L, idx);
  lua_pushstring(L, field);
  t = lua_rawget(L, idx);
  if(t == LUA_TNIL) {
    lua_pop(L, 1);
    if(len)
      *len = def ? strlen(def) : 0;
    return def;
  }
  if(t != LUA_TSTRING)
    luaL_error(L, "field '%s' must be a string (got %s)", field, lua_typename(L, t));
  s = lua_tolstring(L, -1, len);
  /* The string stays referenced by the argument table, which the caller keeps
     on the stack for the duration of the call. */
  lua_pop(L, 1);
  return s;
}

const char *es_lua_optstring(lua_State *L, int idx, const char *field, const char *def, size_t *len)
{
  size_t n;
  const char *s = es_lua_optbytes(L, idx, field, def, &n);
  es_lua_check_nonul(L, field, s, n);
  if(len)
    *len = n;
  return s;
}

const char *es_lua_checkstring(lua_State *L, int idx, const char *field, size_t *len)
{
  const char *s = es_lua_optstring(L, idx, field, NULL, len);
  if(!s)
    luaL_error(L, "field '%s' is required", field);
  return s;
}

int es_lua_optbool(lua_State *L, int idx, const char *field, int def)
{
  int t = lua_getfield(L, idx, field);
  int v = def;
  if(t == LUA_TBOOLEAN)
    v = lua_toboolean(L, -1);
  else if(t != LUA_TNIL)
    luaL_error(L, "field '%s' must be a boolean (got %s)", field, lua_typename(L, t));
  lua_pop(L, 1);
  return v;
}

/* Numbers only: a numeric string ("10") is a caller's mistake, not a number. */
lua_Integer es_lua_optinteger(lua_State *L, int idx, const char *field, lua_Integer def)
{
  lua_Integer v = def;
  int isnum = 0;
  int t = lua_getfield(L, idx, field);
  if(t != LUA_TNIL) {
    if(t == LUA_TNUMBER)
      v = lua_tointegerx(L, -1, &isnum);
    if(!isnum)
      luaL_error(L, "field '%s' must be an integer (got %s)", field,
                 t == LUA_TNUMBER ? "a fraction" : lua_typename(L, t));
  }
  lua_pop(L, 1);
  return v;
}

lua_Number es_lua_optnumber(lua_State *L, int idx, const char *field, lua_Number def)
{
  lua_Number v = def;
  int t = lua_getfield(L, idx, field);
  if(t == LUA_TNUMBER)
    v = lua_tonumber(L, -1);
  else if(t != LUA_TNIL)
    luaL_error(L, "field '%s' must be a number (got %s)", field, lua_typename(L, t));
  lua_pop(L, 1);
  return v;
}

size_t es_lua_read_headers(lua_State *L, const char *field, struct es_header *h, size_t cap)
{
  size_t n, i;
  if(lua_isnil(L, -1))
    return 0;
  if(!lua_istable(L, -1))
    luaL_error(L, "field '%s' must be a list of {name, value} pairs", field);
  n = (size_t)lua_rawlen(L, -1);
  if(n > cap)
    luaL_error(L, "field '%s' has more than %d entries", field, (int)cap);
  for(i = 0; i < n; i++) {
    lua_rawgeti(L, -1, (lua_Integer)i + 1);
    if(!lua_istable(L, -1))
      luaL_error(L, "%s[%d] must be a {name, value} pair", field, (int)i + 1);
    lua_rawgeti(L, -1, 1);
    lua_rawgeti(L, -2, 2);
    if(lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
      luaL_error(L, "%s[%d] must hold two strings", field, (int)i + 1);
    /* The strings are owned by the pair tables, owned by the list, which the
       caller keeps referenced for the whole call. */
    h[i].name = lua_tolstring(L, -2, &h[i].name_len);
    h[i].value = lua_tolstring(L, -1, &h[i].value_len);
    if(memchr(h[i].name, '\0', h[i].name_len) || memchr(h[i].value, '\0', h[i].value_len))
      luaL_error(L, "%s[%d] must not contain a NUL byte", field, (int)i + 1);
    lua_pop(L, 3);
  }
  return n;
}

void es_lua_push_headers(lua_State *L, const struct es_header *h, size_t n)
{
  size_t i;
  lua_createtable(L, (int)n, 0);
  for(i = 0; i < n; i++) {
    lua_createtable(L, 2, 0);
    lua_pushlstring(L, h[i].name, h[i].name_len);
    lua_rawseti(L, -2, 1);
    lua_pushlstring(L, h[i].value, h[i].value_len);
    lua_rawseti(L, -2, 2);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
}

void es_lua_setstr(lua_State *L, const char *field, const char *s, size_t len)
{
  lua_pushlstring(L, s, len);
  lua_setfield(L, -2, field);
}

void es_lua_metatable(lua_State *L, const char *tname, const luaL_Reg *meta, const luaL_Reg *methods)
{
  /* luaL_newmetatable returns 0 when the registry already has it: set up once. */
  if(luaL_newmetatable(L, tname)) {
    if(meta)
      luaL_setfuncs(L, meta, 0);
    if(methods) {
      lua_newtable(L);
      luaL_setfuncs(L, methods, 0);
      lua_setfield(L, -2, "__index");
    }
  }
}

void *es_lua_newbox(lua_State *L, size_t size, int nuv, const char *tname, const luaL_Reg *meta,
                    const luaL_Reg *methods)
{
  void *box = lua_newuserdatauv(L, size, nuv);
  memset(box, 0, size);
  es_lua_metatable(L, tname, meta, methods);
  lua_setmetatable(L, -2);
  return box;
}

int es_lua_fail_info(lua_State *L, const struct es_error_info *info)
{
  return es_lua_fail(L, es_errname(info->code), info->message[0] ? info->message : es_strerror(info->code));
}
