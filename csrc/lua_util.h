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

/* Raise "field '<field>' must not contain a NUL byte" unless s[0..len) has
   none. Every string the binding hands to the core as a C string (method,
   URL, names, paths, credentials, the acknowledgement, ...) passes here: the
   core would read it only up to the first NUL. Only bodies may hold NULs. */
void es_lua_check_nonul(lua_State *L, const char *field, const char *s, size_t len);

/* Optional typed fields of the table at index idx (raise on a wrong type).
   es_lua_optstring and es_lua_checkstring return NUL-free strings (see
   es_lua_check_nonul); es_lua_optbytes returns any bytes, for bodies. */
const char *es_lua_optstring(lua_State *L, int idx, const char *field, const char *def, size_t *len);
const char *es_lua_checkstring(lua_State *L, int idx, const char *field, size_t *len);
const char *es_lua_optbytes(lua_State *L, int idx, const char *field, const char *def, size_t *len);
int es_lua_optbool(lua_State *L, int idx, const char *field, int def);
lua_Integer es_lua_optinteger(lua_State *L, int idx, const char *field, lua_Integer def);
lua_Number es_lua_optnumber(lua_State *L, int idx, const char *field, lua_Number def);

/* Read the ordered header list { {name, value}, ... } at the top of the
   stack (nil: none) into h (capacity cap); misuse (a wrong shape, a NUL
   byte in a name or value) raises, naming `field`.
   The list stays on the stack; the pointers stay valid while it is
   referenced. Returns the count. */
#define ES_LUA_MAX_HEADERS 64
size_t es_lua_read_headers(lua_State *L, const char *field, struct es_header *h, size_t cap);

/* Push an ordered header list as { {name, value}, ... }. */
void es_lua_push_headers(lua_State *L, const struct es_header *h, size_t n);

/* Set t[field] = string for the table at the top of the stack. */
void es_lua_setstr(lua_State *L, const char *field, const char *s, size_t len);

/* Push a new userdata of size bytes, zero-filled (so born closed), with nuv
   user values and the metatable registered as tname: created on first use
   by luaL_newmetatable, with the functions of meta and, when methods is not
   NULL, __index = a table of methods; afterwards reused as it is (idempotent
   across re-requires). Every userdata of the binding is made here. */
void *es_lua_newbox(lua_State *L, size_t size, int nuv, const char *tname, const luaL_Reg *meta,
                    const luaL_Reg *methods);
/* Push the metatable tname, creating it as es_lua_newbox does. */
void es_lua_metatable(lua_State *L, const char *tname, const luaL_Reg *meta, const luaL_Reg *methods);

/* Push the `nil, err` of a failure the core explained (struct es_error_info). */
struct es_error_info;
int es_lua_fail_info(lua_State *L, const struct es_error_info *info);

struct es_guard_decision;
/* Push a guard decision as a table (lua_guard.c). */
void es_lua_push_guard_decision(lua_State *L, const struct es_guard_decision *d);

/* Submodule openers (each adds functions to the module table at the top). */
void es_lua_open_sigv4(lua_State *L);
void es_lua_open_guard(lua_State *L);
void es_lua_open_engine(lua_State *L);
void es_lua_open_xml(lua_State *L);
void es_lua_open_journal(lua_State *L);
void es_lua_open_sys(lua_State *L);
void es_lua_open_term(lua_State *L);
void es_lua_open_digest(lua_State *L);
void es_lua_open_fs(lua_State *L);

#endif
