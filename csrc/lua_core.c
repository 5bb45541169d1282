/*
 * lua_core.c: luaopen_eksegress_core, the one C module of eksegress.
 *
 * Opening is idempotent per lua_State (busted re-runs luaopen_* in the same
 * state): shared metatables live in the registry under address keys and are
 * created only once. Several lua_States in one process are independent: no
 * mutable C globals here; the engine guards curl_global_init with pthread_once.
 */
#include "lua_util.h"
#include "es_version.h"

#include <curl/curl.h>
#include <errno.h>
#include <openssl/opensslv.h>
#include <time.h>

/* core.monotime() -> seconds (float) from a monotonic clock: for scheduling
   timers and measuring durations, never affected by wall-clock changes. */
static int l_monotime(lua_State *L)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec / 1e9);
  return 1;
}

/* core.sleep_ms(ms): block the calling thread (used only outside the
   scheduler, where there is nothing else to run). */
static int l_sleep_ms(lua_State *L)
{
  lua_Integer ms = luaL_checkinteger(L, 1);
  struct timespec ts;
  if(ms <= 0)
    return 0;
  ts.tv_sec = (time_t)(ms / 1000);
  ts.tv_nsec = (long)(ms % 1000) * 1000000L;
  while(nanosleep(&ts, &ts) == -1 && errno == EINTR)
    ;
  return 0;
}

/* core.time() -> integer UNIX time (wall clock). */
static int l_time(lua_State *L)
{
  lua_pushinteger(L, (lua_Integer)time(NULL));
  return 1;
}

static int error_tostring(lua_State *L)
{
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  lua_getfield(L, 1, "code");
  luaL_addvalue(&b);
  luaL_addstring(&b, ": ");
  lua_getfield(L, 1, "message");
  luaL_addvalue(&b);
  if(lua_getfield(L, 1, "status") != LUA_TNIL) {
    luaL_addstring(&b, " (HTTP ");
    luaL_addvalue(&b);
    luaL_addstring(&b, ")");
  }
  else
    lua_pop(L, 1);
  if(lua_getfield(L, 1, "request_id") != LUA_TNIL) {
    luaL_addstring(&b, " [request ");
    luaL_addvalue(&b);
    luaL_addstring(&b, "]");
  }
  else
    lua_pop(L, 1);
  luaL_pushresult(&b);
  return 1;
}

static void ensure_error_mt(lua_State *L)
{
  if(lua_rawgetp(L, LUA_REGISTRYINDEX, &es_error_mt_key) == LUA_TTABLE)
    return;
  lua_pop(L, 1);
  lua_createtable(L, 0, 2);
  lua_pushstring(L, "eksegress.error");
  lua_setfield(L, -2, "__name");
  lua_pushcfunction(L, error_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pushvalue(L, -1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &es_error_mt_key);
}

/* Pushes "libcurl/V <ssl> zlib/V nghttp2/V", built from curl_version_info.
   Not curl_version(): that string names the LDAP library, and to get it
   libcurl calls ldap_get_option(), which initializes OpenLDAP and Cyrus SASL
   (reads ldap.conf, loads SASL plugins) and leaves global allocations that
   are lost when Lua dlcloses this module: a side effect no caller wants. */
static void push_curl_version(lua_State *L)
{
  const curl_version_info_data *vi = curl_version_info(CURLVERSION_NOW);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  luaL_addstring(&b, "libcurl/");
  luaL_addstring(&b, vi && vi->version ? vi->version : "?");
  if(vi && vi->ssl_version) {
    luaL_addchar(&b, ' ');
    luaL_addstring(&b, vi->ssl_version);
  }
  if(vi && vi->libz_version) {
    luaL_addstring(&b, " zlib/");
    luaL_addstring(&b, vi->libz_version);
  }
  if(vi && vi->age >= CURLVERSION_SIXTH && vi->nghttp2_version) {
    luaL_addstring(&b, " nghttp2/");
    luaL_addstring(&b, vi->nghttp2_version);
  }
  luaL_pushresult(&b);
}

ES_LUA_EXPORT int luaopen_eksegress_core(lua_State *L);

ES_LUA_EXPORT int luaopen_eksegress_core(lua_State *L)
{
  lua_newtable(L);
  ensure_error_mt(L);
  lua_setfield(L, -2, "error_metatable");
  es_lua_open_sigv4(L);
  es_lua_open_guard(L);
  es_lua_open_engine(L);
  es_lua_open_xml(L);
  es_lua_open_journal(L);
  es_lua_open_sys(L);
  es_lua_open_term(L);
  es_lua_open_digest(L);
  es_lua_open_fs(L);
  lua_pushcfunction(L, l_monotime);
  lua_setfield(L, -2, "monotime");
  lua_pushcfunction(L, l_sleep_ms);
  lua_setfield(L, -2, "sleep_ms");
  lua_pushcfunction(L, l_time);
  lua_setfield(L, -2, "time");
  lua_pushstring(L, es_version());
  lua_setfield(L, -2, "version");
  push_curl_version(L);
  lua_setfield(L, -2, "curl_version");
  lua_pushstring(L, OPENSSL_VERSION_TEXT);
  lua_setfield(L, -2, "openssl_version");
  return 1;
}
