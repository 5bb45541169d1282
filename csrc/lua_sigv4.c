/*
 * lua_sigv4.c: binding of the SigV4 signer: core.sigv4_sign(opts).
 * One signer per lua_State (its derived-key cache and fetched OpenSSL
 * algorithms are reused across calls), kept in the registry.
 */
#include "lua_util.h"

#include <string.h>

static const char signer_key = 0;

/* Per-lua_State signing context: the signer (fetched OpenSSL algorithms and
   the derived-key cache) and one result reused across calls, so a signature
   costs no C allocation once the buffers have grown. The box is GC-managed:
   a memory error while pushing results cannot leak. */
struct signer_box {
  struct es_sigv4_signer *s;
  struct es_sigv4_result res;
};

static int signer_gc(lua_State *L)
{
  struct signer_box *b = lua_touserdata(L, 1);
  es_sigv4_result_free(&b->res);
  if(b->s) {
    es_sigv4_signer_free(b->s);
    b->s = NULL;
  }
  return 0;
}

/* The state's context, created on first use (born closed, then acquired). */
static struct signer_box *state_box(lua_State *L)
{
  struct signer_box *b;
  static const luaL_Reg signer_meta[] = {{"__gc", signer_gc}, {NULL, NULL}};
  if(lua_rawgetp(L, LUA_REGISTRYINDEX, &signer_key) == LUA_TUSERDATA) {
    b = lua_touserdata(L, -1);
    lua_pop(L, 1);
    if(b->s)
      return b;
  }
  else {
    lua_pop(L, 1);
    b = es_lua_newbox(L, sizeof(*b), 0, "eksegress.signer", signer_meta, NULL);
    es_sigv4_result_init(&b->res);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &signer_key);
  }
  b->s = es_sigv4_signer_new(0);
  if(!b->s)
    luaL_error(L, "sigv4: cannot create signer (out of memory or OpenSSL failure)");
  return b;
}

/* The field names of sign{...} and of its result, held as upvalues of
   sigv4_sign: pushing an upvalue costs nothing, while lua_pushstring or
   lua_getfield re-intern the name on every call (a measurable share of a
   ~10 us signature). */
static const char *const sign_keys[] = {
  "method", "target", "body", "payload_hash", "region", "service", "time",
  "access_key_id", "secret_access_key", "session_token", "placement", "expires",
  "normalize_path", "double_encode", "sign_body", "omit_session_token", "headers",
  "canonical_request", "string_to_sign", "signature", "amz_date",
  /* header names the signer adds, so their strings are not re-made per call */
  "X-Amz-Date", "X-Amz-Security-Token", "Authorization", "x-amz-content-sha256", NULL
};
enum {
  K_METHOD = 1, K_TARGET, K_BODY, K_PAYLOAD_HASH, K_REGION, K_SERVICE, K_TIME,
  K_AKID, K_SECRET, K_TOKEN, K_PLACEMENT, K_EXPIRES,
  K_NORMALIZE, K_DOUBLE, K_SIGN_BODY, K_OMIT, K_HEADERS,
  K_CANONICAL, K_STS, K_SIGNATURE, K_AMZ_DATE,
  K_H_DATE, K_H_TOKEN, K_H_AUTH, K_H_SHA, K_COUNT = K_H_SHA
};

/* Push the upvalue holding `name` if it is one of the added header names,
   else a new string. */
static void push_header_name(lua_State *L, const char *name, size_t len)
{
  int k;
  for(k = K_H_DATE; k <= K_H_SHA; k++) {
    if(strlen(sign_keys[k - 1]) == len && memcmp(sign_keys[k - 1], name, len) == 0) {
      lua_pushvalue(L, lua_upvalueindex(k));
      return;
    }
  }
  lua_pushlstring(L, name, len);
}

/* Push args[key k] (raw) and return its type. */
static int argk(lua_State *L, int k)
{
  lua_pushvalue(L, lua_upvalueindex(k));
  return lua_rawget(L, 1);
}

/* A string field; the string stays referenced by the argument table. Every
   field but the body is handed to the signer as text: no NUL byte. */
static const char *kstring(lua_State *L, int k, int required, const char *def, size_t *len)
{
  const char *v;
  size_t n;
  int t = argk(L, k);
  if(t == LUA_TNIL) {
    lua_pop(L, 1);
    if(required)
      luaL_error(L, "field '%s' is required", sign_keys[k - 1]);
    if(len)
      *len = def ? strlen(def) : 0;
    return def;
  }
  if(t != LUA_TSTRING)
    luaL_error(L, "field '%s' must be a string (got %s)", sign_keys[k - 1], lua_typename(L, t));
  v = lua_tolstring(L, -1, &n);
  if(k != K_BODY)
    es_lua_check_nonul(L, sign_keys[k - 1], v, n);
  if(len)
    *len = n;
  lua_pop(L, 1);
  return v;
}

static int kbool(lua_State *L, int k, int def)
{
  int v = def;
  int t = argk(L, k);
  if(t == LUA_TBOOLEAN)
    v = lua_toboolean(L, -1);
  else if(t != LUA_TNIL)
    luaL_error(L, "field '%s' must be a boolean (got %s)", sign_keys[k - 1], lua_typename(L, t));
  lua_pop(L, 1);
  return v;
}

static lua_Integer kinteger(lua_State *L, int k, lua_Integer def)
{
  int isnum = 1;
  lua_Integer v = def;
  if(argk(L, k) != LUA_TNIL)
    v = lua_tointegerx(L, -1, &isnum);
  lua_pop(L, 1);
  if(!isnum)
    luaL_error(L, "field '%s' must be an integer", sign_keys[k - 1]);
  return v;
}

/* result[key k] = s, for the table at the top of the stack. */
static void setk(lua_State *L, int k, const char *s, size_t n)
{
  lua_pushvalue(L, lua_upvalueindex(k));
  lua_pushlstring(L, s, n);
  lua_rawset(L, -3);
}





static int same_bytes(const char *a, size_t alen, const char *b, size_t blen)
{
  return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

/* Push the signed header list. The signer returns the caller's headers
   first, unchanged, then the ones it adds: reuse the caller's {name, value}
   pairs and the session token string instead of copying them again (the
   token alone is often ~1 KB). Anything that differs is copied. */
static void push_signed_headers(lua_State *L, const struct es_sigv4_request *req,
                                const struct es_sigv4_result *res, int result_idx)
{
  size_t i;
  int have_list = 0;
  lua_createtable(L, (int)res->n_headers, 0);
  if(argk(L, K_HEADERS) == LUA_TTABLE)
    have_list = 1;
  for(i = 0; i < res->n_headers; i++) {
    const struct es_header *h = &res->headers[i];
    if(have_list && i < req->n_headers &&
       same_bytes(h->name, h->name_len, req->headers[i].name, req->headers[i].name_len) &&
       same_bytes(h->value, h->value_len, req->headers[i].value, req->headers[i].value_len)) {
      lua_rawgeti(L, -1, (lua_Integer)i + 1);     /* the caller's pair table */
      lua_rawseti(L, -3, (lua_Integer)i + 1);
      continue;
    }
    lua_createtable(L, 2, 0);
    push_header_name(L, h->name, h->name_len);
    lua_rawseti(L, -2, 1);
    if(res->amz_date[0] && same_bytes(h->value, h->value_len, res->amz_date, strlen(res->amz_date))) {
      lua_pushvalue(L, lua_upvalueindex(K_AMZ_DATE));
      lua_rawget(L, result_idx);                   /* result.amz_date, made once */
    }
    else if(req->creds.session_token &&
       same_bytes(h->value, h->value_len, req->creds.session_token, strlen(req->creds.session_token))) {
      argk(L, K_TOKEN);                            /* the caller's token string */
    }
    else
      lua_pushlstring(L, h->value, h->value_len);
    lua_rawseti(L, -2, 2);
    lua_rawseti(L, -3, (lua_Integer)i + 1);
  }
  lua_pop(L, 1);                                   /* the caller's list (or nil) */
}

static int l_sigv4_sign(lua_State *L)
{
  struct es_sigv4_request req;
  struct es_header headers[ES_LUA_MAX_HEADERS];
  struct signer_box *box;
  struct es_sigv4_result *res;
  const char *placement;
  int rc;

  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  memset(&req, 0, sizeof(req));
  req.method = kstring(L, K_METHOD, 1, NULL, NULL);
  req.target = kstring(L, K_TARGET, 1, NULL, &req.target_len);
  req.body = kstring(L, K_BODY, 0, "", &req.body_len);
  req.payload_hash = kstring(L, K_PAYLOAD_HASH, 0, NULL, NULL);
  req.region = kstring(L, K_REGION, 1, NULL, NULL);
  req.service = kstring(L, K_SERVICE, 1, NULL, NULL);
  req.amz_date = kstring(L, K_TIME, 0, NULL, NULL);
  req.creds.access_key_id = kstring(L, K_AKID, 1, NULL, NULL);
  req.creds.secret_access_key = kstring(L, K_SECRET, 1, NULL, NULL);
  req.creds.session_token = kstring(L, K_TOKEN, 0, NULL, NULL);
  placement = kstring(L, K_PLACEMENT, 0, "header", NULL);
  if(strcmp(placement, "header") == 0)
    req.placement = ES_SIGV4_HEADER;
  else if(strcmp(placement, "query") == 0)
    req.placement = ES_SIGV4_QUERY;
  else
    return luaL_error(L, "field 'placement' must be \"header\" or \"query\"");
  req.expires = (long)kinteger(L, K_EXPIRES, 3600);
  if(kbool(L, K_NORMALIZE, 1))
    req.flags |= ES_SIGV4_NORMALIZE_PATH;
  if(kbool(L, K_DOUBLE, 1))
    req.flags |= ES_SIGV4_DOUBLE_ENCODE;
  if(kbool(L, K_SIGN_BODY, 0))
    req.flags |= ES_SIGV4_SIGN_BODY;
  if(kbool(L, K_OMIT, 0))
    req.flags |= ES_SIGV4_OMIT_SESSION_TOKEN;
  req.headers = headers;
  argk(L, K_HEADERS);
  req.n_headers = es_lua_read_headers(L, "headers", headers, ES_LUA_MAX_HEADERS);
  lua_pop(L, 1);   /* still referenced by the argument table */

  box = state_box(L);
  res = &box->res;
  rc = es_sigv4_sign(box->s, &req, res);
  if(rc == ES_ERANGE)
    return luaL_error(L, "sigv4: 'expires' must be between 1 and 604800 seconds");
  if(rc == ES_ENOMEM)
    return luaL_error(L, "sigv4: out of memory");
  if(rc)
    return luaL_error(L, "sigv4: cannot sign this request (%s)", es_strerror(rc));

  lua_createtable(L, 0, 6);
  setk(L, K_CANONICAL, res->canonical_request.data, res->canonical_request.len);
  setk(L, K_STS, res->string_to_sign.data, res->string_to_sign.len);
  setk(L, K_SIGNATURE, res->signature, strlen(res->signature));
  setk(L, K_AMZ_DATE, res->amz_date, strlen(res->amz_date));
  if(req.placement == ES_SIGV4_HEADER) {
    int result_idx = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(K_HEADERS));
    push_signed_headers(L, &req, res, result_idx);
    lua_rawset(L, -3);
  }
  else {
    setk(L, K_TARGET, res->target.data, res->target.len);
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
    {"uri_encode", l_uri_encode},
    {"format_amz_date", l_sigv4_format_time},
    {NULL, NULL}
  };
  int k;
  luaL_setfuncs(L, fns, 0);
  for(k = 0; sign_keys[k]; k++)
    lua_pushstring(L, sign_keys[k]);
  lua_pushcclosure(L, l_sigv4_sign, K_COUNT);
  lua_setfield(L, -2, "sigv4_sign");
}
