/*
 * lua_fs.c: binding of atomicfile.h.
 *
 *   core.write_file_atomic(path, data) -> true | nil, err (IoError, with the
 *   path and strerror in the message)
 */
#include "lua_util.h"
#include "atomicfile.h"

#include <string.h>

static int l_write_file_atomic(lua_State *L)
{
  size_t plen, len;
  const char *path = luaL_checklstring(L, 1, &plen);
  const char *data = luaL_checklstring(L, 2, &len);
  int e = 0, rc;
  luaL_argcheck(L, plen > 0 && strlen(path) == plen, 1, "a path without NUL bytes expected");
  rc = es_write_file_atomic(path, data, len, &e);
  if(rc == ES_OK) {
    lua_pushboolean(L, 1);
    return 1;
  }
  lua_pushfstring(L, "cannot write %s: %s", path, e ? strerror(e) : es_strerror(rc));
  return es_lua_fail(L, es_errname(rc), lua_tostring(L, -1));
}

void es_lua_open_fs(lua_State *L)
{
  static const luaL_Reg fns[] = {
    { "write_file_atomic", l_write_file_atomic },
    { NULL, NULL }
  };
  luaL_setfuncs(L, fns, 0);
}
