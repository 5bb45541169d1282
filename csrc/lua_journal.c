/*
 * lua_journal.c: binding of the durable append-only journal (journal.h).
 *
 *   local j, err = core.journal_open(path, { sync = true, shared = false })
 *   assert(j:append('{"step":"described"}'))   -- true | nil, err
 *   j:sync()                                   -- true | nil, err
 *   j:path()                                   -- the path (also once closed)
 *   j:close()                                  -- idempotent; also __gc and __close
 *   local r, rerr = core.journal_read(path, { max_bytes = 1 << 20 })
 *   -- r.lines = { "...", ... }, r.torn = false, r.torn_bytes = 0
 *
 * Runtime failures are nil, err with err.code "JournalLocked" (another
 * writer holds the file, also in this process), "NotARegularFile" (a FIFO,
 * a device, a directory: refused at once, never waited on), "IoError" (the
 * message names the path and the system's reason), and for journal_read
 * "NotFound" and "FileTooLarge". Misuse raises: a line holding '\n', a NUL
 * in the path, unknown or mistyped options, a closed journal.
 *
 * The userdata is born closed: the journal pointer is set only once the
 * file is open and locked. The path is kept as its user value.
 */
#include "lua_util.h"
#include "journal.h"

#include <string.h>

#define JOURNAL_MT "eksegress.journal"
#define DEFAULT_MAX_READ ((lua_Integer)64 << 20)

struct journal_box {
  struct es_journal *j;
};

static struct journal_box *check_box(lua_State *L)
{
  return luaL_checkudata(L, 1, JOURNAL_MT);
}

static struct es_journal *check_journal(lua_State *L)
{
  struct journal_box *b = check_box(L);
  if(!b->j)
    luaL_error(L, "attempt to use a closed journal");
  return b->j;
}

/* Raise on any option key not in allowed (a NULL-terminated list). */
static void check_options(lua_State *L, int idx, const char *fn, const char *const *allowed)
{
  if(lua_isnoneornil(L, idx))
    return;
  luaL_checktype(L, idx, LUA_TTABLE);
  lua_pushnil(L);
  while(lua_next(L, idx)) {
    int known = 0;
    lua_pop(L, 1);
    if(lua_type(L, -1) == LUA_TSTRING)
      for(const char *const *a = allowed; *a; a++)
        known = known || strcmp(lua_tostring(L, -1), *a) == 0;
    if(!known)
      luaL_error(L, "%s: unknown option '%s'", fn, lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "?");
  }
}

/* j:close() -> true | nil, err. Idempotent. */
static int journal_close(lua_State *L)
{
  struct journal_box *b = check_box(L);
  struct es_journal *j = b->j;
  int rc;
  if(!j) {
    lua_pushboolean(L, 1);
    return 1;
  }
  b->j = NULL;                /* cleared first: close is idempotent */
  rc = es_journal_close(j);
  if(rc != ES_OK) {
    lua_getiuservalue(L, 1, 1);
    return es_lua_fail(L, es_errname(rc), lua_pushfstring(L, "cannot close \"%s\"", lua_tostring(L, -1)));
  }
  lua_pushboolean(L, 1);
  return 1;
}

static int journal_gc(lua_State *L)
{
  struct journal_box *b = check_box(L);
  if(b->j) {
    (void)es_journal_close(b->j);
    b->j = NULL;
  }
  return 0;
}

/* The failure of an append or a sync: the path and the system's reason. */
static int journal_fail(lua_State *L, struct es_journal *j, int rc, const char *verb)
{
  struct es_error_info info;
  es_error_set(&info, rc, rc == ES_EIO ? es_journal_errno(j) : 0, "cannot %s \"%s\"", verb,
               es_journal_path(j));
  return es_lua_fail_info(L, &info);
}

static int journal_append(lua_State *L)
{
  struct es_journal *j = check_journal(L);
  size_t n;
  const char *line = luaL_checklstring(L, 2, &n);
  int rc;
  if(memchr(line, '\n', n))
    return luaL_error(L, "journal:append: a line must not contain a newline (one record per line)");
  rc = es_journal_append(j, line, n);
  if(rc != ES_OK)
    return journal_fail(L, j, rc, "append to");
  lua_pushboolean(L, 1);
  return 1;
}

static int journal_sync(lua_State *L)
{
  struct es_journal *j = check_journal(L);
  int rc = es_journal_sync(j);
  if(rc != ES_OK)
    return journal_fail(L, j, rc, "sync");
  lua_pushboolean(L, 1);
  return 1;
}

static int journal_path(lua_State *L)
{
  check_box(L);
  lua_getiuservalue(L, 1, 1);
  return 1;
}

static int journal_is_closed(lua_State *L)
{
  lua_pushboolean(L, check_box(L)->j == NULL);
  return 1;
}

static int journal_tostring(lua_State *L)
{
  struct journal_box *b = check_box(L);
  lua_getiuservalue(L, 1, 1);
  lua_pushfstring(L, "eksegress.journal (%s): %s", b->j ? "open" : "closed", lua_tostring(L, -1));
  return 1;
}

static const luaL_Reg journal_methods[] = {
  {"append", journal_append},
  {"sync", journal_sync},
  {"path", journal_path},
  {"is_closed", journal_is_closed},
  {"close", journal_close},
  {NULL, NULL}
};

static const luaL_Reg journal_meta[] = {
  {"__gc", journal_gc},
  {"__close", journal_gc},
  {"__tostring", journal_tostring},
  {NULL, NULL}
};

/* A path argument handed to the core: a NUL-free string. */
static const char *check_path(lua_State *L)
{
  size_t n;
  const char *path = luaL_checklstring(L, 1, &n);
  es_lua_check_nonul(L, "path", path, n);
  return path;
}

/* core.journal_open(path[, {sync = bool, shared = bool}]) -> j | nil, err */
static int l_journal_open(lua_State *L)
{
  static const char *const allowed[] = {"sync", "shared", NULL};
  const char *path = check_path(L);
  struct journal_box *b;
  struct es_error_info err;
  unsigned flags = 0;
  check_options(L, 2, "journal_open", allowed);
  if(!lua_isnoneornil(L, 2)) {
    if(es_lua_optbool(L, 2, "sync", 0))
      flags |= ES_JOURNAL_SYNC;
    if(es_lua_optbool(L, 2, "shared", 0))
      flags |= ES_JOURNAL_SHARED;
  }
  b = es_lua_newbox(L, sizeof(*b), 1, JOURNAL_MT, journal_meta, journal_methods);
  lua_pushvalue(L, 1);
  lua_setiuservalue(L, -2, 1);
  b->j = es_journal_open(path, flags, &err);
  if(!b->j)
    return es_lua_fail_info(L, &err);
  return 1;
}

/* Contents box: the C buffers are freed by __gc even if building the Lua
   table raises a memory error half-way. */
static int contents_gc(lua_State *L)
{
  es_journal_contents_free(lua_touserdata(L, 1));
  return 0;
}

/* core.journal_read(path[, {max_bytes = n}]) -> {lines, torn, torn_bytes} | nil, err */
static int l_journal_read(lua_State *L)
{
  static const char *const allowed[] = {"max_bytes", NULL};
  static const luaL_Reg contents_meta[] = {{"__gc", contents_gc}, {NULL, NULL}};
  const char *path = check_path(L);
  lua_Integer max = DEFAULT_MAX_READ;
  struct es_journal_contents *c;
  struct es_error_info err;
  check_options(L, 2, "journal_read", allowed);
  if(!lua_isnoneornil(L, 2))
    max = es_lua_optinteger(L, 2, "max_bytes", max);
  if(max < 1)
    return luaL_error(L, "journal_read: max_bytes must be a positive integer");
  c = es_lua_newbox(L, sizeof(*c), 0, "eksegress.journal.contents", contents_meta, NULL);
  if(es_journal_read(path, (size_t)max, c, &err) != ES_OK)
    return es_lua_fail_info(L, &err);
  lua_createtable(L, 0, 3);
  lua_createtable(L, (int)(c->n_lines > 0x7fffffff ? 0x7fffffff : c->n_lines), 0);
  for(size_t i = 0; i < c->n_lines; i++) {
    lua_pushlstring(L, c->data.data + c->lines[i].off, c->lines[i].len);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  lua_setfield(L, -2, "lines");
  lua_pushboolean(L, c->torn);
  lua_setfield(L, -2, "torn");
  lua_pushinteger(L, (lua_Integer)c->torn_bytes);
  lua_setfield(L, -2, "torn_bytes");
  es_journal_contents_free(c);
  return 1;
}

void es_lua_open_journal(lua_State *L)
{
  static const luaL_Reg fns[] = {
    {"journal_open", l_journal_open},
    {"journal_read", l_journal_read},
    {NULL, NULL}
  };
  es_lua_metatable(L, JOURNAL_MT, journal_meta, journal_methods);
  lua_pop(L, 1);
  luaL_setfuncs(L, fns, 0);
}
