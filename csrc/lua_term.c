/*
 * lua_term.c: binding of term.h for the command line.
 *
 *   core.isatty(io.stdout | fd)            -> boolean
 *   core.term_columns(io.stderr | fd)      -> integer (0: not a terminal)
 *   core.signal_watch("INT", {exit_after = 2})   -- "INT", "TERM", "HUP", "XFSZ"
 *   core.signal_count("INT")               -> integer
 *   core.signal_reset("INT"); core.signal_unwatch("INT")
 */
#include "lua_util.h"
#include "term.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

/* A Lua file handle or an integer descriptor. */
static int check_fd(lua_State *L, int idx)
{
  if(lua_isinteger(L, idx))
    return (int)lua_tointeger(L, idx);
  {
    luaL_Stream *s = luaL_testudata(L, idx, LUA_FILEHANDLE);
    if(!s)
      luaL_argerror(L, idx, "a file handle or an integer descriptor expected");
    if(!s->closef)
      luaL_argerror(L, idx, "attempt to use a closed file");
    return fileno(s->f);
  }
}

static int check_signal(lua_State *L, int idx)
{
  static const char *const names[] = { "INT", "TERM", "HUP", "XFSZ", NULL };
  static const int nums[] = { SIGINT, SIGTERM, SIGHUP, SIGXFSZ };
  return nums[luaL_checkoption(L, idx, NULL, names)];
}

static int l_isatty(lua_State *L)
{
  lua_pushboolean(L, es_term_isatty(check_fd(L, 1)));
  return 1;
}

static int l_term_columns(lua_State *L)
{
  lua_pushinteger(L, es_term_columns(check_fd(L, 1)));
  return 1;
}

static int l_signal_watch(lua_State *L)
{
  int sig = check_signal(L, 1);
  lua_Integer after = 0;
  if(!lua_isnoneornil(L, 2)) {
    luaL_checktype(L, 2, LUA_TTABLE);
    after = es_lua_optinteger(L, 2, "exit_after", 0);
    luaL_argcheck(L, after >= 0 && after <= 1000, 2, "exit_after must be 0..1000");
  }
  if(es_sigwatch_install(sig, (int)after) != 0)
    return es_lua_fail(L, "SignalError", "cannot install the signal handler");
  lua_pushboolean(L, 1);
  return 1;
}

static int l_signal_count(lua_State *L)
{
  lua_pushinteger(L, es_sigwatch_count(check_signal(L, 1)));
  return 1;
}

static int l_signal_reset(lua_State *L)
{
  es_sigwatch_reset(check_signal(L, 1));
  return 0;
}

static int l_signal_unwatch(lua_State *L)
{
  es_sigwatch_uninstall(check_signal(L, 1));
  return 0;
}

void es_lua_open_term(lua_State *L)
{
  static const luaL_Reg fns[] = {
    { "isatty", l_isatty },
    { "term_columns", l_term_columns },
    { "signal_watch", l_signal_watch },
    { "signal_count", l_signal_count },
    { "signal_reset", l_signal_reset },
    { "signal_unwatch", l_signal_unwatch },
    { NULL, NULL }
  };
  luaL_setfuncs(L, fns, 0);
}
