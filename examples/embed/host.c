/*
 * host.c: a C program that hosts Lua 5.4 and runs an eksegress audit through
 * the library, as one binary (every Lua module comes from memory).
 *
 *   host [-v] ENDPOINT_URL [REGIONS]
 *
 * ENDPOINT_URL is the AWS endpoint for every service (the simulator's URL, in
 * the tests); REGIONS is "all" (default) or a comma-separated list.
 * Credentials come from the environment as for the AWS CLI. -v sends the
 * library's wire log to stderr through a C function. Prints a summary and the
 * clusters that do not use CUSTOMER_ROUTED; exits 0 when every cluster does,
 * 1 when some do not, 2 when a target could not be read, 3 on a failure.
 *
 * Build: make embed (build/examples/embed/host).
 */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdio.h>
#include <string.h>

#include "eksegress.h"

/* The script the host runs. It gets (endpoint, regions, log) and returns the
   audit document (schema eksegress/audit/1), or raises. */
static const char *SCRIPT =
  "local endpoint, regions, log = ...\n"
  "local eksegress = require 'eksegress'\n"
  "local audit = require 'eksegress.workflows.audit'\n"
  "-- This state's configuration: the endpoint from the host, the rest from\n"
  "-- the process environment.\n"
  "local function env(name)\n"
  "  if name == 'AWS_ENDPOINT_URL' then return endpoint end\n"
  "  return os.getenv(name)\n"
  "end\n"
  "local list = 'all'\n"
  "if regions ~= 'all' then\n"
  "  list = {}\n"
  "  for r in regions:gmatch('[^,]+') do list[#list + 1] = r end\n"
  "end\n"
  "local rt\n"
  "local doc, err = audit.run(function(target)\n"
  "  local c, cerr = eksegress.client{ profile = target.profile, credentials = target.credentials,\n"
  "                                    env = env, wire_log = log, runtime = rt }\n"
  "  if c then rt = rt or c.runtime end\n"
  "  return c, cerr\n"
  "end, { regions = list, require = 'CUSTOMER_ROUTED' })\n"
  "if not doc then error(tostring(err), 0) end\n"
  "return doc\n";

/* The log sink handed to the library: wire_log = host_log. */
static int host_log(lua_State *L)
{
  fprintf(stderr, "wire: %s\n", luaL_checkstring(L, 1));
  return 0;
}

static int traceback(lua_State *L)
{
  luaL_traceback(L, L, luaL_tolstring(L, 1, NULL), 1);
  return 1;
}

/* t[key] of the table at idx as an integer (0 when absent). */
static lua_Integer int_field(lua_State *L, int idx, const char *key)
{
  lua_Integer v;
  lua_getfield(L, idx, key);
  v = lua_tointeger(L, -1);
  lua_pop(L, 1);
  return v;
}

/* Print t[key] for each key of the table at the top of the stack, tab-separated.
   The strings belong to the state: used before their values are popped. */
static void print_fields(lua_State *L, const char *prefix, const char *const *keys)
{
  size_t i;
  fputs(prefix, stdout);
  for(i = 0; keys[i]; i++) {
    lua_getfield(L, -1, keys[i]);
    printf("\t%s", lua_isnil(L, -1) ? "-" : lua_tostring(L, -1));
    lua_pop(L, 1);
  }
  putchar('\n');
}

/* Print the document at the top of the stack; returns the exit code. */
static int print_report(lua_State *L)
{
  static const char *const cluster_keys[] = { "account", "region", "name", "egress_mode", NULL };
  static const char *const error_keys[] = { "account", "region", "cluster", "code", "message", NULL };
  lua_Integer n, noncompliant, errors, i;

  lua_getfield(L, -1, "summary");
  n = int_field(L, -1, "clusters");
  noncompliant = int_field(L, -1, "noncompliant");
  errors = int_field(L, -1, "errors");
  printf("audit: %lld clusters, %lld compliant, %lld not CUSTOMER_ROUTED, %lld errors\n", (long long)n,
         (long long)int_field(L, -1, "compliant"), (long long)noncompliant, (long long)errors);
  lua_pop(L, 1);

  lua_getfield(L, -1, "clusters");
  n = (lua_Integer)luaL_len(L, -1);
  for(i = 1; i <= n; i++) {
    lua_geti(L, -1, i);
    lua_getfield(L, -1, "compliant");
    if(!lua_toboolean(L, -1)) {
      lua_pop(L, 1);
      print_fields(L, "noncompliant", cluster_keys);
    }
    else
      lua_pop(L, 1);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);

  lua_getfield(L, -1, "errors");
  n = (lua_Integer)luaL_len(L, -1);
  for(i = 1; i <= n; i++) {
    lua_geti(L, -1, i);
    print_fields(L, "error", error_keys);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return errors > 0 ? 2 : noncompliant > 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
  lua_State *L;
  int verbose = 0, arg = 1, rc;
  const char *endpoint, *regions;

  if(arg < argc && strcmp(argv[arg], "-v") == 0) {
    verbose = 1;
    arg++;
  }
  if(arg >= argc || argc - arg > 2) {
    fprintf(stderr, "usage: %s [-v] ENDPOINT_URL [REGIONS]\n", argv[0]);
    return 64;
  }
  endpoint = argv[arg];
  regions = arg + 1 < argc ? argv[arg + 1] : "all";

  L = luaL_newstate();
  if(!L) {
    fprintf(stderr, "host: cannot create a Lua state\n");
    return 3;
  }
  luaL_openlibs(L);
  printf("host: eksegress %s, %d modules from memory\n", eksegress_version(), eksegress_openlibs(L));

  lua_pushcfunction(L, traceback);
  if(luaL_loadbuffer(L, SCRIPT, strlen(SCRIPT), "=host-script") != LUA_OK) {
    fprintf(stderr, "host: %s\n", lua_tostring(L, -1));
    lua_close(L);
    return 3;
  }
  lua_pushstring(L, endpoint);
  lua_pushstring(L, regions);
  if(verbose)
    lua_pushcfunction(L, host_log);
  else
    lua_pushnil(L);
  if(lua_pcall(L, 3, 1, -5) != LUA_OK) {
    fprintf(stderr, "host: audit failed: %s\n", lua_tostring(L, -1));
    rc = 3;
  }
  else
    rc = print_report(L);
  lua_close(L);
  return rc;
}
