/*
 * lua_sys.c: binding of the bounded system primitives:
 *
 *   core.read_file(path, max_bytes) -> string | nil, err
 *   core.run_process(command, opts) -> {status, signal?, stdout, stderr} | nil, err
 *   core.json_check(s, opts) -> true, values, depth | nil, err
 *
 * Misuse (wrong types, unknown options, out-of-range limits) raises; runtime
 * failures return nil, err with the error codes listed at each function.
 * Results that may hold secrets (a credentials file, a helper's stdout) pass
 * through a boxed buffer that is zeroed when collected, also when building the
 * Lua value fails.
 */
#include "lua_util.h"
#include "fileread.h"
#include "jsonbound.h"
#include "process.h"

#include <string.h>

#define FILEBUF_MT "eksegress.sys.filebuf"
#define PROCRESULT_MT "eksegress.sys.procresult"

/* A userdata of size bytes (zeroed) whose metatable, created once per state,
   runs gc when it is collected. */
static void *gc_box(lua_State *L, size_t size, const char *mt, lua_CFunction gc)
{
  void *p = lua_newuserdatauv(L, size, 0);
  memset(p, 0, size);
  if(luaL_newmetatable(L, mt)) {
    lua_pushcfunction(L, gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  return p;
}

/* Fail with nil, err where err.code is code and err[field] = value. */
static int fail_with(lua_State *L, const char *code, const char *message, const char *field,
                     lua_Integer value)
{
  es_lua_fail(L, code, message);
  if(field) {
    lua_pushinteger(L, value);
    lua_setfield(L, -2, field);
  }
  return 2;
}

/* Reject an embedded NUL: the C side would see a shorter string. */
static int has_nul(const char *s, size_t len)
{
  return memchr(s, '\0', len) != NULL;
}

static lua_Integer check_limit(lua_State *L, int arg, const char *what, lua_Integer def,
                               lua_Integer max)
{
  lua_Integer v = def;
  if(!lua_isnoneornil(L, arg) || def < 0)
    v = luaL_checkinteger(L, arg);
  if(v < 1 || v > max)
    luaL_error(L, "%s must be an integer from 1 to %I", what, max);
  return v;
}

/* ---- read_file ----------------------------------------------------------- */

static int filebuf_gc(lua_State *L)
{
  es_buf_wipe_free(lua_touserdata(L, 1));
  return 0;
}

/* core.read_file(path, max_bytes): the whole regular file, at most max_bytes.
   Errors: FileNotFound, NotARegularFile (directory, FIFO, device, socket),
   FileTooLarge (err.limit), IoError, InvalidPath (NUL byte), OutOfMemory;
   err.path is the path. Never blocks on a FIFO or device. */
static int l_read_file(lua_State *L)
{
  size_t plen;
  const char *path = luaL_checklstring(L, 1, &plen);
  lua_Integer max = check_limit(L, 2, "max_bytes", -1, (lua_Integer)ES_FILE_READ_LIMIT - 1);
  struct es_buf *b;
  enum es_file_kind kind;
  int sys_errno, rc;
  if(has_nul(path, plen)) {
    es_lua_fail(L, "InvalidPath", "the file path contains a NUL byte");
    return 2;
  }
  b = gc_box(L, sizeof(*b), FILEBUF_MT, filebuf_gc);
  rc = es_file_read(path, (size_t)max, b, &kind, &sys_errno);
  if(rc == ES_OK) {
    lua_pushlstring(L, b->data, b->len);
    es_buf_wipe_free(b);
    return 1;
  }
  switch(rc) {
  case ES_ENOTFOUND:
    lua_pushfstring(L, "%s: no such file", path);
    es_lua_fail(L, "FileNotFound", lua_tostring(L, -1));
    break;
  case ES_ENOTREG:
    lua_pushfstring(L, "%s is a %s, not a regular file", path, es_file_kind_name(kind));
    es_lua_fail(L, "NotARegularFile", lua_tostring(L, -1));
    break;
  case ES_EFILETOOBIG:
    lua_pushfstring(L, "%s is larger than the limit of %I bytes", path, max);
    fail_with(L, "FileTooLarge", lua_tostring(L, -1), "limit", max);
    break;
  case ES_ENOMEM:
    es_lua_fail(L, "OutOfMemory", "out of memory reading a file");
    break;
  default:
    lua_pushfstring(L, "%s: %s", path, sys_errno ? strerror(sys_errno) : es_strerror(rc));
    es_lua_fail(L, "IoError", lua_tostring(L, -1));
    break;
  }
  lua_pushstring(L, path);
  lua_setfield(L, -2, "path");
  return 2;
}

/* ---- run_process --------------------------------------------------------- */

static int procresult_gc(lua_State *L)
{
  es_proc_result_free(lua_touserdata(L, 1));
  return 0;
}

/* Push a userdata holding a NULL-terminated char* array of n + 1 slots. The
   strings it will point to must stay referenced by the caller. */
static const char **new_vector(lua_State *L, size_t n)
{
  const char **v = lua_newuserdatauv(L, (n + 1) * sizeof(*v), 0);
  memset(v, 0, (n + 1) * sizeof(*v));
  return v;
}

/* argv from the command (argument 1): a string runs through /bin/sh -c, a list
   of strings is run directly with a PATH search. Pushes the vector; returns it,
   or NULL after pushing nil, err for a NUL byte. */
static const char **command_argv(lua_State *L, int *search_path)
{
  const char **argv;
  size_t len, n, i;
  if(lua_type(L, 1) == LUA_TSTRING) {
    const char *cmd = lua_tolstring(L, 1, &len);
    if(has_nul(cmd, len)) {
      es_lua_fail(L, "InvalidCommand", "the command contains a NUL byte");
      return NULL;
    }
    argv = new_vector(L, 3);
    argv[0] = "/bin/sh";
    argv[1] = "-c";
    argv[2] = cmd;   /* argument 1 keeps it alive */
    *search_path = 0;
    return argv;
  }
  luaL_argexpected(L, lua_type(L, 1) == LUA_TTABLE, 1, "string or list of strings");
  n = (size_t)lua_rawlen(L, 1);
  if(n == 0)
    luaL_argerror(L, 1, "the argument list is empty");
  argv = new_vector(L, n);
  for(i = 0; i < n; i++) {
    const char *a;
    if(lua_rawgeti(L, 1, (lua_Integer)i + 1) != LUA_TSTRING)
      luaL_error(L, "run_process: argument %d must be a string", (int)i + 1);
    a = lua_tolstring(L, -1, &len);
    lua_pop(L, 1);   /* still referenced by the list */
    if(has_nul(a, len)) {
      lua_pop(L, 1);
      es_lua_fail(L, "InvalidCommand", "an argument contains a NUL byte");
      return NULL;
    }
    argv[i] = a;
  }
  *search_path = 1;
  return argv;
}

/* envp from opts.env (a table name -> string) at index opts. The "NAME=value"
   strings go into a table pushed first, which keeps them alive, then the
   vector. Returns NULL (nothing pushed) when env is absent, or pushes nil, err
   and sets *bad for a NUL byte. */
static const char **env_vector(lua_State *L, int opts, int *bad)
{
  const char **envp;
  size_t n = 0, i = 0;
  *bad = 0;
  if(lua_isnoneornil(L, opts) || lua_getfield(L, opts, "env") == LUA_TNIL) {
    if(!lua_isnoneornil(L, opts))
      lua_pop(L, 1);
    return NULL;
  }
  if(!lua_istable(L, -1))
    luaL_error(L, "run_process: option 'env' must be a table of name = value strings");
  lua_pushnil(L);
  while(lua_next(L, -2)) {
    n++;
    lua_pop(L, 1);
  }
  lua_newtable(L);            /* env, strings */
  envp = new_vector(L, n);    /* env, strings, vector */
  lua_pushnil(L);
  while(lua_next(L, -4)) {    /* env, strings, vector, k, v */
    size_t klen, vlen;
    const char *k, *v;
    if(lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
      luaL_error(L, "run_process: option 'env' must map names to strings");
    k = lua_tolstring(L, -2, &klen);
    v = lua_tolstring(L, -1, &vlen);
    if(klen == 0 || memchr(k, '=', klen))
      luaL_error(L, "run_process: environment name '%s' is empty or contains '='", k);
    if(has_nul(k, klen) || has_nul(v, vlen)) {
      *bad = 1;
      lua_pop(L, 2);
      break;
    }
    lua_pushfstring(L, "%s=%s", k, v);
    envp[i] = lua_tostring(L, -1);
    lua_rawseti(L, -5, (lua_Integer)i + 1);   /* strings[i + 1] */
    i++;
    lua_pop(L, 1);
  }
  if(*bad) {
    es_lua_fail(L, "InvalidCommand", "an environment variable contains a NUL byte");
    return NULL;
  }
  return envp;
}

static void check_option_names(lua_State *L, int opts)
{
  static const char *const known[] = {"timeout_ms", "max_output", "env", "stdin", NULL};
  if(lua_isnoneornil(L, opts))
    return;
  luaL_checktype(L, opts, LUA_TTABLE);
  lua_pushnil(L);
  while(lua_next(L, opts)) {
    int i, found = 0;
    const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
    for(i = 0; k && known[i]; i++)
      found |= strcmp(k, known[i]) == 0;
    if(!found)
      luaL_error(L, "run_process: unknown option '%s' (known: timeout_ms, max_output, env, stdin)",
                 k ? k : luaL_typename(L, -2));
    lua_pop(L, 1);
  }
}

static lua_Integer opt_limit(lua_State *L, int opts, const char *field, lua_Integer def,
                             lua_Integer max)
{
  lua_Integer v = def;
  if(lua_isnoneornil(L, opts))
    return v;
  v = es_lua_optinteger(L, opts, field, def);
  if(v < 1 || v > max)
    luaL_error(L, "run_process: option '%s' must be an integer from 1 to %I", field, max);
  return v;
}

/* core.run_process(command, {timeout_ms = 60000, max_output = 1 MiB, env = nil,
   stdin = "null" | "inherit"}). command: a string (run as /bin/sh -c command)
   or a list {program, arg, ...} (run directly, program found through PATH).
   env: nil inherits this process's environment; a table replaces it.
   Returns {status = exit code (128 + signal when killed by one), signal = n
   or nil, stdout = s, stderr = s}. Errors: ProcessTimeout (err.timeout_ms),
   ProcessOutputTooLarge (err.limit), ProcessNotFound, ProcessError,
   InvalidCommand (a NUL byte), OutOfMemory. The child is always reaped. */
static int l_run_process(lua_State *L)
{
  struct es_proc_opts o;
  struct es_proc_result *r;
  const char **argv;
  char errbuf[256];
  int rc, bad;
  if(lua_gettop(L) < 2)
    lua_settop(L, 2);
  check_option_names(L, 2);
  memset(&o, 0, sizeof(o));
  o.timeout_ms = (long)opt_limit(L, 2, "timeout_ms", ES_PROC_DEFAULT_TIMEOUT_MS, 24L * 3600 * 1000);
  o.max_output = (size_t)opt_limit(L, 2, "max_output", (lua_Integer)ES_PROC_DEFAULT_MAX_OUTPUT,
                                   (lua_Integer)1 << 30);
  if(!lua_isnil(L, 2)) {
    const char *in = es_lua_optstring(L, 2, "stdin", "null", NULL);
    if(strcmp(in, "null") != 0 && strcmp(in, "inherit") != 0)
      luaL_error(L, "run_process: option 'stdin' must be \"null\" or \"inherit\"");
    o.inherit_stdin = strcmp(in, "inherit") == 0;
  }
  argv = command_argv(L, &o.search_path);
  if(!argv)
    return 2;
  o.envp = env_vector(L, 2, &bad);
  if(bad)
    return 2;
  r = gc_box(L, sizeof(*r), PROCRESULT_MT, procresult_gc);
  rc = es_proc_run(argv, &o, r, errbuf, sizeof(errbuf));
  switch(rc) {
  case ES_OK:
    break;
  case ES_ETIMEOUT:
    return fail_with(L, "ProcessTimeout", errbuf, "timeout_ms", o.timeout_ms);
  case ES_ETOOBIG:
    return fail_with(L, "ProcessOutputTooLarge", errbuf, "limit", (lua_Integer)o.max_output);
  case ES_ENOTFOUND:
    return fail_with(L, "ProcessNotFound", errbuf, NULL, 0);
  case ES_ENOMEM:
    return fail_with(L, "OutOfMemory", "out of memory running a process", NULL, 0);
  default:
    return fail_with(L, "ProcessError", errbuf[0] ? errbuf : es_strerror(rc), NULL, 0);
  }
  lua_createtable(L, 0, 4);
  lua_pushinteger(L, r->term_signal ? 128 + r->term_signal : r->exit_code);
  lua_setfield(L, -2, "status");
  if(r->term_signal) {
    lua_pushinteger(L, r->term_signal);
    lua_setfield(L, -2, "signal");
  }
  es_lua_setstr(L, "stdout", r->out, r->out_len);
  es_lua_setstr(L, "stderr", r->err, r->err_len);
  es_proc_result_free(r);
  return 1;
}

/* ---- json_check ---------------------------------------------------------- */

/* core.json_check(s, {max_depth = 64, max_values = 1000000}) -> true, values,
   depth | nil, err. Errors: JsonTooDeep / JsonTooLarge (err.limit, and a
   message naming the option), JsonParseError (err.offset), OutOfMemory. */
static int l_json_check(lua_State *L)
{
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  struct es_json_limits lim = {0, 0};
  struct es_json_stats st;
  char errbuf[160];
  int rc;
  if(!lua_isnoneornil(L, 2)) {
    lua_Integer d, v;
    luaL_checktype(L, 2, LUA_TTABLE);
    d = es_lua_optinteger(L, 2, "max_depth", ES_JSON_DEFAULT_MAX_DEPTH);
    v = es_lua_optinteger(L, 2, "max_values", ES_JSON_DEFAULT_MAX_VALUES);
    if(d < 1 || d > ES_JSON_MAX_DEPTH_LIMIT)
      luaL_error(L, "json_check: max_depth must be an integer from 1 to %d", (int)ES_JSON_MAX_DEPTH_LIMIT);
    if(v < 1)
      luaL_error(L, "json_check: max_values must be a positive integer");
    lim.max_depth = (unsigned)d;
    lim.max_values = (size_t)v;
  }
  rc = es_json_check(s, len, &lim, &st, errbuf, sizeof(errbuf));
  if(rc == ES_OK) {
    lua_pushboolean(L, 1);
    lua_pushinteger(L, (lua_Integer)st.values);
    lua_pushinteger(L, (lua_Integer)st.depth);
    return 3;
  }
  if(rc == ES_ERANGE && st.exceeded == ES_JSON_TOO_DEEP)
    return fail_with(L, "JsonTooDeep", errbuf, "limit",
                     lim.max_depth ? lim.max_depth : ES_JSON_DEFAULT_MAX_DEPTH);
  if(rc == ES_ERANGE)
    return fail_with(L, "JsonTooLarge", errbuf, "limit",
                     (lua_Integer)(lim.max_values ? lim.max_values : ES_JSON_DEFAULT_MAX_VALUES));
  if(rc == ES_EPARSE)
    return fail_with(L, "JsonParseError", errbuf, "offset", (lua_Integer)st.offset);
  return fail_with(L, "OutOfMemory", "out of memory checking JSON", NULL, 0);
}

void es_lua_open_sys(lua_State *L)
{
  static const luaL_Reg fns[] = {
    {"read_file", l_read_file},
    {"run_process", l_run_process},
    {"json_check", l_json_check},
    {NULL, NULL}
  };
  luaL_setfuncs(L, fns, 0);
}
