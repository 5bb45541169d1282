/*
 * lua_digest.c: binding of digest.h.
 *
 *   core.sha256_hex(s)      -> 64 lower-case hex characters
 *   core.random_bytes(n)    -> n random bytes (1..4096)
 */
#include "lua_util.h"
#include "digest.h"

static int l_sha256_hex(lua_State *L)
{
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  char out[65];
  if(es_sha256_hex(s, len, out) != ES_OK)
    return es_lua_fail(L, "CryptoError", "SHA-256 failed");
  lua_pushlstring(L, out, 64);
  return 1;
}

static int l_random_bytes(lua_State *L)
{
  lua_Integer n = luaL_checkinteger(L, 1);
  unsigned char buf[4096];
  luaL_argcheck(L, n >= 1 && n <= (lua_Integer)sizeof(buf), 1, "must be 1..4096");
  if(es_random_bytes(buf, (size_t)n) != ES_OK)
    return es_lua_fail(L, "CryptoError", "no random bytes from OpenSSL");
  lua_pushlstring(L, (const char *)buf, (size_t)n);
  return 1;
}

void es_lua_open_digest(lua_State *L)
{
  static const luaL_Reg fns[] = {
    { "sha256_hex", l_sha256_hex },
    { "random_bytes", l_random_bytes },
    { NULL, NULL }
  };
  luaL_setfuncs(L, fns, 0);
}
