/*
 * lua_engine.c: binding of the HTTP engine.
 *
 *   local e, err = core.engine_new{ timeout_ms = ..., max_attempts = ..., audit_path = ...,
 *                                   max_connections = N (total and per host), use_poll = true (tests) }
 *   local id = e:submit{ method=, url=, headers=, body=, sign=, region=, service=,
 *                        access_key_id=, secret_access_key=, session_token=,
 *                        acknowledge=, allow_undocumented=, identity=, observed_with=,
 *                        ca_pem=, ... }
 *     -- ca_pem: PEM CA(s) the TLS server must chain to, instead of the engine's
 *     -- CAs (a Kubernetes cluster's CA); verification stays on
 *   local pending = e:step(timeout_ms)      -- non-blocking when 0
 *   local resp = e:next_done()              -- completed response table, or nil
 *   local mode = e:observed_mode(host, cluster[, access_key_id[, observed_with]])
 *   e:set_max_connections(per_host[, total])   -- caps of a live engine (total 0: none)
 *   local per_host, total = e:max_connections()
 *   e:close()                               -- also __gc and __close
 *
 * engine_new raises on misuse (a wrong type, an unknown retry mode) and
 * returns nil, err when the engine cannot be made: err.code "IoError",
 * "NotARegularFile" or "JournalLocked" for the audit log (the message names
 * the path and the reason), "OutOfMemory", "CurlError", "CryptoError".
 * Every string field but body must be free of NUL bytes (misuse otherwise).
 *
 * The userdata is born closed (engine pointer NULL) and acquires the engine
 * afterwards, so an allocation failure leaves a consistent object; __gc,
 * __close and close() share one idempotent function. No Lua code ever runs
 * inside a libcurl callback: the engine only moves bytes, Lua only sees
 * completed responses.
 */
#include "lua_util.h"
#include "engine.h"

#include <string.h>

#define ENGINE_MT "eksegress.engine"
#define RESPONSE_MT "eksegress.engine.response"

struct engine_box {
  struct es_engine *e;
};

static struct engine_box *check_box(lua_State *L)
{
  return luaL_checkudata(L, 1, ENGINE_MT);
}

static struct es_engine *check_engine(lua_State *L)
{
  struct engine_box *b = check_box(L);
  if(!b->e)
    luaL_error(L, "attempt to use a closed engine");
  return b->e;
}

static int engine_close(lua_State *L)
{
  struct engine_box *b = check_box(L);
  if(b->e) {
    struct es_engine *e = b->e;
    b->e = NULL;            /* cleared first: close is idempotent */
    es_engine_free(e);
  }
  return 0;
}

static int retry_mode_of(lua_State *L, const char *s)
{
  if(!s || strcmp(s, "standard") == 0)
    return ES_RETRY_STANDARD;
  if(strcmp(s, "off") == 0)
    return ES_RETRY_OFF;
  if(strcmp(s, "standard-2026") == 0)
    return ES_RETRY_STANDARD_2026;
  return luaL_error(L, "retry_mode must be \"standard\", \"standard-2026\" or \"off\"");
}

/* A request id: 0 (none) or positive. */
static unsigned long long observed_with_of(lua_State *L, lua_Integer id)
{
  if(id < 0)
    luaL_error(L, "field 'observed_with' must be the id of a DescribeCluster request (a positive integer)");
  return (unsigned long long)id;
}

static int l_engine_submit(lua_State *L)
{
  struct es_engine *e = check_engine(L);
  struct es_http_request r;
  struct es_header headers[ES_LUA_MAX_HEADERS];
  unsigned long long id = 0;
  int rc;
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  memset(&r, 0, sizeof(r));
  r.method = es_lua_checkstring(L, 2, "method", NULL);
  r.url = es_lua_checkstring(L, 2, "url", NULL);
  r.body = es_lua_optbytes(L, 2, "body", NULL, &r.body_len);
  r.sign = es_lua_optbool(L, 2, "sign", 0);
  r.region = es_lua_optstring(L, 2, "region", NULL, NULL);
  r.service = es_lua_optstring(L, 2, "service", NULL, NULL);
  r.creds.access_key_id = es_lua_optstring(L, 2, "access_key_id", NULL, NULL);
  r.creds.secret_access_key = es_lua_optstring(L, 2, "secret_access_key", NULL, NULL);
  r.creds.session_token = es_lua_optstring(L, 2, "session_token", NULL, NULL);
  r.sigv4_flags = ES_SIGV4_DEFAULT_FLAGS;
  r.acknowledge = es_lua_optstring(L, 2, "acknowledge", NULL, NULL);
  r.allow_undocumented = es_lua_optbool(L, 2, "allow_undocumented", 0);
  r.identity = es_lua_optstring(L, 2, "identity", NULL, NULL);
  r.observed_with = observed_with_of(L, es_lua_optinteger(L, 2, "observed_with", 0));
  r.timeout_ms = (long)es_lua_optinteger(L, 2, "timeout_ms", 0);
  r.max_attempts = (int)es_lua_optinteger(L, 2, "max_attempts", 0);
  r.user_id = (unsigned long long)es_lua_optinteger(L, 2, "user_id", 0);
  r.ca_pem = es_lua_optstring(L, 2, "ca_pem", NULL, &r.ca_pem_len);
  if(r.ca_pem && (r.ca_pem_len == 0 || r.ca_pem_len > ES_ENGINE_MAX_CA_PEM))
    return luaL_error(L, "field 'ca_pem' must be PEM text of 1 to %d bytes", (int)ES_ENGINE_MAX_CA_PEM);
  if(r.sign && (!r.region || !r.service || !r.creds.access_key_id || !r.creds.secret_access_key))
    return luaL_error(L, "a signed request needs region, service, access_key_id and secret_access_key");
  lua_getfield(L, 2, "headers");   /* stays on the stack for the call */
  r.n_headers = es_lua_read_headers(L, "headers", headers, ES_LUA_MAX_HEADERS);
  r.headers = headers;
  rc = es_engine_submit(e, &r, &id);
  if(rc == ES_EINVAL)
    return luaL_error(L, "submit: invalid request (method or URL)");
  if(rc)
    return es_lua_fail(L, es_errname(rc), es_strerror(rc));
  lua_pushinteger(L, (lua_Integer)id);
  return 1;
}

static int l_engine_step(lua_State *L)
{
  struct es_engine *e = check_engine(L);
  long timeout = (long)luaL_optinteger(L, 2, 0);
  int rc = es_engine_step(e, timeout < 0 ? 0 : timeout);
  if(rc < 0)
    return es_lua_fail(L, es_errname(rc), es_strerror(rc));
  lua_pushinteger(L, rc);
  return 1;
}

static void set_str_if(lua_State *L, const char *field, const char *s)
{
  if(s && s[0]) {
    lua_pushstring(L, s);
    lua_setfield(L, -2, field);
  }
}

/* Response boxes: the C response is freed by __gc even if building the Lua
   table raises a memory error half-way. */
static int response_gc(lua_State *L)
{
  struct es_http_response **r = lua_touserdata(L, 1);
  if(*r) {
    es_http_response_free(*r);
    *r = NULL;
  }
  return 0;
}

static void push_response(lua_State *L, const struct es_http_response *r)
{
  size_t i;
  int a;
  lua_createtable(L, 0, 20);
  lua_pushinteger(L, (lua_Integer)r->id);
  lua_setfield(L, -2, "id");
  lua_pushinteger(L, (lua_Integer)r->user_id);
  lua_setfield(L, -2, "user_id");
  lua_pushinteger(L, r->status);
  lua_setfield(L, -2, "status");
  lua_pushinteger(L, r->http_version);
  lua_setfield(L, -2, "http_version");
  /* headers: lower-case name -> value (repeated names joined with ", "),
     and header_list: the ordered pairs as received */
  lua_createtable(L, 0, (int)r->n_headers);
  for(i = 0; i < r->n_headers; i++) {
    lua_pushlstring(L, r->headers[i].name, r->headers[i].name_len);
    if(lua_rawget(L, -2) == LUA_TSTRING) {
      lua_pushstring(L, ", ");
      lua_pushlstring(L, r->headers[i].value, r->headers[i].value_len);
      lua_concat(L, 3);
    }
    else {
      lua_pop(L, 1);
      lua_pushlstring(L, r->headers[i].value, r->headers[i].value_len);
    }
    lua_pushlstring(L, r->headers[i].name, r->headers[i].name_len);
    lua_insert(L, -2);
    lua_rawset(L, -3);
  }
  lua_setfield(L, -2, "headers");
  es_lua_push_headers(L, r->headers, r->n_headers);
  lua_setfield(L, -2, "header_list");
  lua_pushlstring(L, r->body.data ? r->body.data : "", r->body.len);
  lua_setfield(L, -2, "body");
  set_str_if(L, "date", r->date);
  set_str_if(L, "aws_code", r->aws_code);
  set_str_if(L, "aws_message", r->aws_message);
  set_str_if(L, "request_id", r->request_id);
  lua_pushboolean(L, r->retryable);
  lua_setfield(L, -2, "retryable");
  lua_pushboolean(L, r->throttling);
  lua_setfield(L, -2, "throttling");
  lua_pushboolean(L, r->quota_exhausted);
  lua_setfield(L, -2, "quota_exhausted");
  lua_pushboolean(L, r->clock_skew_corrected);
  lua_setfield(L, -2, "clock_skew_corrected");
  lua_pushinteger(L, r->attempts);
  lua_setfield(L, -2, "attempts");
  lua_pushnumber(L, r->total_ms);
  lua_setfield(L, -2, "total_ms");
  lua_createtable(L, r->attempts, 0);
  for(a = 0; a < r->attempts && a < ES_ENGINE_MAX_ATTEMPTS; a++) {
    const struct es_http_attempt *at = &r->attempt[a];
    lua_createtable(L, 0, 6);
    lua_pushinteger(L, at->status);
    lua_setfield(L, -2, "status");
    if(at->error) {
      lua_pushstring(L, es_errname(at->error));
      lua_setfield(L, -2, "error");
    }
    lua_pushnumber(L, at->ms);
    lua_setfield(L, -2, "ms");
    lua_pushnumber(L, at->delay_ms);
    lua_setfield(L, -2, "delay_ms");
    lua_pushboolean(L, at->new_connection);
    lua_setfield(L, -2, "new_connection");
    set_str_if(L, "aws_code", at->aws_code);
    lua_rawseti(L, -2, a + 1);
  }
  lua_setfield(L, -2, "attempt_log");
  if(r->error) {
    es_lua_push_error(L, es_errname(r->error),
                      r->error_message[0] ? r->error_message : es_strerror(r->error));
    lua_pushboolean(L, r->retryable);
    lua_setfield(L, -2, "retryable");
    if(r->quota_exhausted) {
      lua_pushboolean(L, 1);
      lua_setfield(L, -2, "quota_exhausted");
    }
    lua_setfield(L, -2, "error");
  }
  if(r->guarded) {
    es_lua_push_guard_decision(L, &r->guard);
    lua_setfield(L, -2, "guard");
  }
}

static int l_engine_next_done(lua_State *L)
{
  static const luaL_Reg response_meta[] = {{"__gc", response_gc}, {NULL, NULL}};
  struct es_engine *e = check_engine(L);
  struct es_http_response **box;
  if(es_engine_done_count(e) == 0) {   /* the common answer of a drain loop: no garbage for it */
    lua_pushnil(L);
    return 1;
  }
  box = es_lua_newbox(L, sizeof(*box), 0, RESPONSE_MT, response_meta, NULL);
  *box = es_engine_next_done(e);
  push_response(L, *box);
  es_http_response_free(*box);
  *box = NULL;
  return 1;
}

static int l_engine_done_count(lua_State *L)
{
  lua_pushinteger(L, (lua_Integer)es_engine_done_count(check_engine(L)));
  return 1;
}

static int l_engine_cancel(lua_State *L)
{
  struct es_engine *e = check_engine(L);
  lua_Integer id = luaL_checkinteger(L, 2);
  lua_pushboolean(L, es_engine_cancel(e, (unsigned long long)id) == ES_OK);
  return 1;
}

static int l_engine_clock_offset(lua_State *L)
{
  lua_pushinteger(L, es_engine_clock_offset(check_engine(L)));
  return 1;
}

static int l_engine_set_clock_offset(lua_State *L)
{
  struct es_engine *e = check_engine(L);
  es_engine_set_clock_offset(e, (long)luaL_checkinteger(L, 2));
  return 0;
}

static int l_engine_retry_quota(lua_State *L)
{
  lua_pushinteger(L, es_engine_retry_quota(check_engine(L)));
  return 1;
}

static int l_engine_refill_retry_quota(lua_State *L)
{
  es_engine_refill_retry_quota(check_engine(L));
  return 0;
}

/* A positional string argument handed to the core: NUL-free. */
static const char *arg_string(lua_State *L, int arg, const char *name, int optional)
{
  size_t n;
  const char *s = optional ? luaL_optlstring(L, arg, NULL, &n) : luaL_checklstring(L, arg, &n);
  es_lua_check_nonul(L, name, s, n);
  return s;
}

/* e:observed_mode(host, cluster[, access_key_id[, observed_with]]) -> mode or
   nil: what the engine's guard would use as the current mode right now for a
   request signed with access_key_id (nil: unsigned) to host, relying on
   DescribeCluster observed_with (nil: the latest), on the engine's clock. */
static int l_engine_observed_mode(lua_State *L)
{
  struct es_engine *e = check_engine(L);
  const char *host = arg_string(L, 2, "host", 0);
  const char *cluster = arg_string(L, 3, "cluster", 0);
  const char *akid = arg_string(L, 4, "access_key_id", 1);
  unsigned long long obs = observed_with_of(L, luaL_optinteger(L, 5, 0));
  const char *m = es_engine_observed_mode(e, akid, host, cluster, obs);
  if(m)
    lua_pushstring(L, m);
  else
    lua_pushnil(L);
  return 1;
}

/* Connection caps: a positive integer per host, and over every host (0: none). */
static long connections_arg(lua_State *L, int arg, const char *what, int allow_zero)
{
  lua_Integer n = luaL_checkinteger(L, arg);
  if(n < (allow_zero ? 0 : 1) || n > 1000000)
    luaL_error(L, "%s must be an integer from %d to 1000000", what, allow_zero ? 0 : 1);
  return (long)n;
}

static int l_engine_set_max_connections(lua_State *L)
{
  struct es_engine *e = check_engine(L);
  long per_host = connections_arg(L, 2, "max_connections (per host)", 0);
  long total = lua_isnoneornil(L, 3) ? 0 : connections_arg(L, 3, "max_connections (total)", 1);
  int rc = es_engine_set_connection_limits(e, per_host, total);
  if(rc)
    return es_lua_fail(L, es_errname(rc), es_strerror(rc));
  lua_pushboolean(L, 1);
  return 1;
}

static int l_engine_max_connections(lua_State *L)
{
  long per_host, total;
  es_engine_connection_limits(check_engine(L), &per_host, &total);
  lua_pushinteger(L, per_host);
  lua_pushinteger(L, total);
  return 2;
}

static int l_engine_closed(lua_State *L)
{
  lua_pushboolean(L, check_box(L)->e == NULL);
  return 1;
}

static int l_engine_tostring(lua_State *L)
{
  struct engine_box *b = check_box(L);
  lua_pushfstring(L, "eksegress.engine (%s)", b->e ? "open" : "closed");
  return 1;
}

static const luaL_Reg engine_methods[] = {
  {"submit", l_engine_submit},
  {"step", l_engine_step},
  {"next_done", l_engine_next_done},
  {"done_count", l_engine_done_count},
  {"cancel", l_engine_cancel},
  {"clock_offset", l_engine_clock_offset},
  {"set_clock_offset", l_engine_set_clock_offset},
  {"retry_quota", l_engine_retry_quota},
  {"refill_retry_quota", l_engine_refill_retry_quota},
  {"observed_mode", l_engine_observed_mode},
  {"set_max_connections", l_engine_set_max_connections},
  {"max_connections", l_engine_max_connections},
  {"is_closed", l_engine_closed},
  {"close", engine_close},
  {NULL, NULL}
};

static const luaL_Reg engine_meta[] = {
  {"__gc", engine_close},
  {"__close", engine_close},
  {"__tostring", l_engine_tostring},
  {NULL, NULL}
};

static int l_engine_new(lua_State *L)
{
  struct es_engine_config cfg;
  struct es_error_info err;
  struct engine_box *b;
  if(lua_isnoneornil(L, 1))
    lua_newtable(L);
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  es_engine_config_init(&cfg);
  cfg.connect_timeout_ms = (long)es_lua_optinteger(L, 1, "connect_timeout_ms", cfg.connect_timeout_ms);
  cfg.timeout_ms = (long)es_lua_optinteger(L, 1, "timeout_ms", cfg.timeout_ms);
  cfg.max_response_bytes = (size_t)es_lua_optinteger(L, 1, "max_response_bytes",
                                                     (lua_Integer)cfg.max_response_bytes);
  cfg.ca_bundle = es_lua_optstring(L, 1, "ca_bundle", NULL, NULL);
  cfg.insecure = es_lua_optbool(L, 1, "insecure", 0);
  cfg.max_attempts = (int)es_lua_optinteger(L, 1, "max_attempts", cfg.max_attempts);
  cfg.retry_mode = retry_mode_of(L, es_lua_optstring(L, 1, "retry_mode", NULL, NULL));
  cfg.quota_capacity = (long)es_lua_optinteger(L, 1, "quota_capacity", cfg.quota_capacity);
  cfg.backoff_base_s = es_lua_optnumber(L, 1, "backoff_base", cfg.backoff_base_s);
  cfg.backoff_cap_s = es_lua_optnumber(L, 1, "backoff_cap", cfg.backoff_cap_s);
  cfg.seed = (unsigned long long)es_lua_optinteger(L, 1, "seed", 0);
  cfg.max_host_connections = (long)es_lua_optinteger(L, 1, "max_host_connections",
                                                     cfg.max_host_connections);
  /* max_connections caps both: per host and over every host. */
  cfg.max_total_connections = (long)es_lua_optinteger(L, 1, "max_connections", 0);
  if(cfg.max_total_connections < 0 || cfg.max_total_connections > 1000000)
    return luaL_error(L, "max_connections must be an integer from 1 to 1000000");
  if(cfg.max_total_connections > 0)
    cfg.max_host_connections = cfg.max_total_connections;
  cfg.use_poll = es_lua_optbool(L, 1, "use_poll", 0);
  cfg.audit_path = es_lua_optstring(L, 1, "audit_path", NULL, NULL);
  cfg.user_agent = es_lua_optstring(L, 1, "user_agent", NULL, NULL);
  if(cfg.max_attempts < 1)
    return luaL_error(L, "max_attempts must be at least 1");

  b = es_lua_newbox(L, sizeof(*b), 0, ENGINE_MT, engine_meta, engine_methods);
  b->e = es_engine_new(&cfg, &err);   /* the config strings are copied */
  if(!b->e)
    return es_lua_fail_info(L, &err);
  return 1;
}

void es_lua_open_engine(lua_State *L)
{
  es_lua_metatable(L, ENGINE_MT, engine_meta, engine_methods);
  lua_pop(L, 1);
  lua_pushcfunction(L, l_engine_new);
  lua_setfield(L, -2, "engine_new");
}
