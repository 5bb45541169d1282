/*
 * lua_util.h: helpers shared by the thin Lua binding (csrc/lua_*.c).
 * The binding converts between Lua values and core structs, and nothing else.
 */
#ifndef ES_LUA_UTIL_H
#define ES_LUA_UTIL_H

#include <lua.h>
#include <lauxlib.h>

#include "es_buf.h"
#include "es_error.h"
#include "sigv4.h"

#define ES_LUA_EXPORT __attribute__((visibility("default")))

/* Registry keys (addresses are unique per process, values per lua_State). */
extern const char es_error_mt_key;

/* Push a new error table {code=, message=} with the shared metatable. */
void es_lua_push_error(lua_State *L, const char *code, const char *message);
/* luaL_pushfail + error table: the `nil, err` runtime-failure return. Returns 2. */
int es_lua_fail(lua_State *L, const char *code, const char *message);

/* Optional typed fields of the table at index idx (raise on a wrong type). */
const char *es_lua_optstring(lua_State *L, int idx, const char *field, const char *def, size_t *len);
const char *es_lua_checkstring(lua_State *L, int idx, const char *field, size_t *len);
int es_lua_optbool(lua_State *L, int idx, const char *field, int def);
lua_Integer es_lua_optinteger(lua_State *L, int idx, const char *field, lua_Integer def);
lua_Number es_lua_optnumber(lua_State *L, int idx, const char *field, lua_Number def);

/* Read the ordered header list { {name, value}, ... } at the top of the
   stack (nil: none) into h (capacity cap); misuse raises, naming `field`.
   The list stays on the stack; the pointers stay valid while it is
   referenced. Returns the count. */
#define ES_LUA_MAX_HEADERS 64
size_t es_lua_read_headers(lua_State *L, const char *field, struct es_header *h, size_t cap);

/* Push an ordered header list as { {name, value}, ... }. */
void es_lua_push_headers(lua_State *L, const struct es_header *h, size_t n);

/* Set t[field] = string for the table at the top of the stack. */
void es_lua_setstr(lua_State *L, const char *field, const char *s, size_t len);

struct es_guard_decision;
/* Push a guard decision as a table (lua_guard.c). */
void es_lua_push_guard_decision(lua_State *L, const struct es_guard_decision *d);

/* Submodule openers (each adds functions to the module table at the top). */
void es_lua_open_sigv4(lua_State *L);
void es_lua_open_guard(lua_State *L);
void es_lua_open_engine(lua_State *L);
void es_lua_open_xml(lua_State *L);
void es_lua_open_sys(lua_State *L);

#endif
