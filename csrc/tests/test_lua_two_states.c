/*
 * test_lua_two_states.c: two lua_States in one process use eksegress.core
 * independently (issue 2, section 4). Each state opens the module, creates
 * its own engine and talks to the fault server; one state is closed while
 * its transfer is in flight (its engine is collected by __gc) and the other
 * finishes normally. Run under valgrind by `make check`: no errors, no leaks.
 */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <string.h>

#include "faultserver.h"
#include "tap.h"

int luaopen_eksegress_core(lua_State *L);

static lua_State *new_state(const char *base_url)
{
  lua_State *L = luaL_newstate();
  if(!L)
    return NULL;
  luaL_openlibs(L);
  /* As a host embedding the static module would: a preload entry, so
     require() finds it and re-requiring runs luaopen again. */
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(L, luaopen_eksegress_core);
  lua_setfield(L, -2, "eksegress.core");
  lua_pop(L, 1);
  lua_pushstring(L, base_url);
  lua_setglobal(L, "BASE");
  return L;
}

/* Run a chunk; return 1 on success, printing the error otherwise. */
static int run(lua_State *L, const char *chunk)
{
  if(luaL_dostring(L, chunk) != LUA_OK) {
    diag("lua error: %s", lua_tostring(L, -1));
    lua_pop(L, 1);
    return 0;
  }
  return 1;
}

static const char *SUBMIT =
  "local core = require 'eksegress.core'\n"
  "E = core.engine_new{ max_attempts = 1, timeout_ms = 10000 }\n"
  "ID = E:submit{ method = 'GET', url = BASE .. WHAT }\n";

static const char *POLL =
  "local n = E:step(20)\n"
  "local r = E:next_done()\n"
  "if r then RESP = r end\n"
  "return RESP ~= nil\n";

static int poll_done(lua_State *L)
{
  int done;
  if(luaL_dostring(L, POLL) != LUA_OK) {
    diag("poll error: %s", lua_tostring(L, -1));
    lua_pop(L, 1);
    return -1;
  }
  done = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return done;
}

int main(void)
{
  struct faultserver fs;
  lua_State *a, *b;
  int i, done_a = 0;

  if(faultserver_start(&fs) != 0) {
    printf("not ok 1 - start csrc/tests/faultserver.py (run from the repository root)\n1..1\n");
    return 1;
  }

  a = new_state(fs.base_url);
  b = new_state(fs.base_url);
  ok(a && b, "two lua_States open eksegress.core");
  if(!a || !b)
    return done_testing();

  /* Re-opening the module in the same state is idempotent (busted does it). */
  ok(run(a, "package.loaded['eksegress.core'] = nil\n"
            "local c1 = require 'eksegress.core'\n"
            "package.loaded['eksegress.core'] = nil\n"
            "local c2 = require 'eksegress.core'\n"
            "assert(c1.error_metatable == c2.error_metatable)\n"),
     "luaopen_eksegress_core twice in one state shares the metatables");

  lua_pushstring(a, "/echo?k=two-a");
  lua_setglobal(a, "WHAT");
  lua_pushstring(b, "/stall?ms=3000&k=two-b");
  lua_setglobal(b, "WHAT");
  ok(run(a, SUBMIT), "state A submits");
  ok(run(b, SUBMIT), "state B submits a stalled request");

  /* Drive both; A completes while B stays in flight. */
  for(i = 0; i < 500 && !done_a; i++) {
    done_a = poll_done(a);
    if(poll_done(b) != 0)
      break;
  }
  ok(done_a == 1, "state A's request completes while B's is in flight");
  ok(run(a, "assert(RESP.status == 200, 'status ' .. tostring(RESP.status))\n"
            "assert(RESP.body:find('two%-a'))\n"),
     "state A got its own response");

  /* Close B mid-transfer: __gc closes its engine and aborts the transfer. */
  lua_close(b);
  ok(1, "state B closed with its transfer in flight");

  /* A keeps working after B is gone, with a fresh engine. */
  ok(run(a, "E:close(); E:close()\n"
            "assert(E:is_closed())\n"
            "local ok = pcall(E.submit, E, {method='GET', url=BASE})\n"
            "assert(not ok, 'a closed engine must raise')\n"
            "WHAT = '/ok?k=two-a2'\n"),
     "close is idempotent and a closed engine raises");
  ok(run(a, SUBMIT), "state A submits again");
  lua_pushnil(a);
  lua_setglobal(a, "RESP");
  done_a = 0;
  for(i = 0; i < 500 && !done_a; i++)
    done_a = poll_done(a);
  ok(done_a == 1, "state A completes after B was closed");
  ok(run(a, "do local e <close> = require('eksegress.core').engine_new{}; X = e end\n"
            "assert(X:is_closed(), '__close closed the engine')\n"),
     "to-be-closed engine is closed at scope exit");
  lua_close(a);

  faultserver_stop(&fs);
  return done_testing();
}
