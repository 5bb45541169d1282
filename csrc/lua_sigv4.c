/*
 * lua_sigv4.c: binding of the SigV4 signer: core.sigv4_sign(opts).
 * One signer per lua_State (its derived-key cache and fetched OpenSSL
 * algorithms are reused across calls), kept in the registry.
 */
#include "lua_util.h"

#include <string.h>

static const char signer_key = 0;

struct signer_box {
  struct es_sigv4_signer *s;
};

static int signer_gc(lua_State *L)
{
  struct signer_box *b = lua_touserdata(L, 1);
  if(b->s) {
    es_sigv4_signer_free(b->s);
    b->s = NULL;
  }
  return 0;
}

/* The state's signer, created on first use (born closed, then acquired). */
static struct es_sigv4_signer *state_signer(lua_State *L)
{
  struct signer_box *b;
  if(lua_rawgetp(L, LUA_REGISTRYINDEX, &signer_key) == LUA_TUSERDATA) {
    b = lua_touserdata(L, -1);
    lua_pop(L, 1);
    if(b->s)
      return b->s;
  }
  else {
    lua_pop(L, 1);
    b = lua_newuserdatauv(L, sizeof(*b), 0);
    b->s = NULL;
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, signer_gc);
    lua_setfield(L, -2, "__gc");
    lua_setmetatable(L, -2);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &signer_key);
  }
  b->s = es_sigv4_signer_new(0);
  if(!b->s)
    luaL_error(L, "sigv4: cannot create signer (out of memory or OpenSSL failure)");
  return b->s;
}

/* Signing results live in a GC-managed box so a memory error while pushing
   them cannot leak the C buffers. */
static int result_gc(lua_State *L)
{
  struct es_sigv4_result *r = lua_touserdata(L, 1);
  es_sigv4_result_free(r);
  return 0;
}

static int l_sigv4_sign(lua_State *L)
{
  struct es_sigv4_request req;
  struct es_sigv4_result *res;
  const char *placement;
  int rc;

  luaL_checktype(L, 1, LUA_TTABLE);
  memset(&req, 0, sizeof(req));
  req.method = es_lua_checkstring(L, 1, "method", NULL);
  req.target = es_lua_checkstring(L, 1, "target", &req.target_len);
  req.body = es_lua_optstring(L, 1, "body", "", &req.body_len);
  req.payload_hash = es_lua_optstring(L, 1, "payload_hash", NULL, NULL);
  req.region = es_lua_checkstring(L, 1, "region", NULL);
  req.service = es_lua_checkstring(L, 1, "service", NULL);
  req.amz_date = es_lua_optstring(L, 1, "time", NULL, NULL);
  req.creds.access_key_id = es_lua_checkstring(L, 1, "access_key_id", NULL);
  req.creds.secret_access_key = es_lua_checkstring(L, 1, "secret_access_key", NULL);
  req.creds.session_token = es_lua_optstring(L, 1, "session_token", NULL, NULL);
  placement = es_lua_optstring(L, 1, "placement", "header", NULL);
  if(strcmp(placement, "header") == 0)
    req.placement = ES_SIGV4_HEADER;
  else if(strcmp(placement, "query") == 0)
    req.placement = ES_SIGV4_QUERY;
  else
    return luaL_error(L, "field 'placement' must be \"header\" or \"query\"");
  req.expires = (long)es_lua_optinteger(L, 1, "expires", 3600);
  if(es_lua_optbool(L, 1, "normalize_path", 1))
    req.flags |= ES_SIGV4_NORMALIZE_PATH;
  if(es_lua_optbool(L, 1, "double_encode", 1))
    req.flags |= ES_SIGV4_DOUBLE_ENCODE;
  if(es_lua_optbool(L, 1, "sign_body", 0))
    req.flags |= ES_SIGV4_SIGN_BODY;
  if(es_lua_optbool(L, 1, "omit_session_token", 0))
    req.flags |= ES_SIGV4_OMIT_SESSION_TOKEN;
  req.n_headers = es_lua_headers(L, 1, "headers", (struct es_header **)&req.headers);

  res = lua_newuserdatauv(L, sizeof(*res), 0);
  es_sigv4_result_init(res);
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, result_gc);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);

  rc = es_sigv4_sign(state_signer(L), &req, res);
  if(rc == ES_ERANGE)
    return luaL_error(L, "sigv4: 'expires' must be between 1 and 604800 seconds");
  if(rc == ES_ENOMEM)
    return luaL_error(L, "sigv4: out of memory");
  if(rc)
    return luaL_error(L, "sigv4: cannot sign this request (%s)", es_strerror(rc));

  lua_createtable(L, 0, 6);
  es_lua_setstr(L, "canonical_request", res->canonical_request.data, res->canonical_request.len);
  es_lua_setstr(L, "string_to_sign", res->string_to_sign.data, res->string_to_sign.len);
  es_lua_setstr(L, "signature", res->signature, strlen(res->signature));
  es_lua_setstr(L, "amz_date", res->amz_date, strlen(res->amz_date));
  if(req.placement == ES_SIGV4_HEADER) {
    es_lua_push_headers(L, res->headers, res->n_headers);
    lua_setfield(L, -2, "headers");
  }
  else {
    es_lua_setstr(L, "target", res->target.data, res->target.len);
  }
  return 1;
}

static int l_uri_encode(lua_State *L)
{
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  int keep_slash = lua_toboolean(L, 2);
  struct es_buf b = ES_BUF_INIT;
  if(es_uri_encode(&b, s, n, keep_slash)) {
    es_buf_free(&b);
    return luaL_error(L, "uri_encode: out of memory");
  }
  lua_pushlstring(L, b.data ? b.data : "", b.len);
  es_buf_free(&b);
  return 1;
}

static int l_sigv4_format_time(lua_State *L)
{
  char out[17];
  es_sigv4_format_time((time_t)luaL_checkinteger(L, 1), out);
  lua_pushstring(L, out);
  return 1;
}

void es_lua_open_sigv4(lua_State *L)
{
  static const luaL_Reg fns[] = {
    {"sigv4_sign", l_sigv4_sign},
    {"uri_encode", l_uri_encode},
    {"format_amz_date", l_sigv4_format_time},
    {NULL, NULL}
  };
  luaL_setfuncs(L, fns, 0);
}
