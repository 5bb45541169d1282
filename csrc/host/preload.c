/*
 * preload.c: the parts of the host API (eksegress.h) that need no embedded
 * Lua source: the C module's preload entry, libcurl's one-time
 * initialisation, the version. Kept apart from openlibs.c so a host that
 * takes its Lua modules from package.path links none of the embedded text.
 */
#include "eksegress.h"

#include <lauxlib.h>
#include <stdio.h>

#include "engine.h"
#include "es_version.h"

void eksegress_preload_core(lua_State *L)
{
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(L, luaopen_eksegress_core);
  lua_setfield(L, -2, "eksegress.core");
  lua_pop(L, 1);
}

/* The engine owns libcurl's initialisation (pthread_once around
   curl_global_init, in es_engine_new); creating one engine is the way to run
   it now, in this thread, without a second copy of that logic. */
int eksegress_global_init(char *errbuf, size_t errlen)
{
  struct es_error_info err;
  struct es_engine *e = es_engine_new(NULL, &err);
  if(!e) {
    if(errbuf && errlen > 0)
      snprintf(errbuf, errlen, "%s", err.message);
    return err.code;
  }
  es_engine_free(e);
  if(errbuf && errlen > 0)
    errbuf[0] = '\0';
  return 0;
}

const char *eksegress_version(void)
{
  return es_version();
}
