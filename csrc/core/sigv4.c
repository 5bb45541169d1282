/*
 * sigv4.c: AWS Signature Version 4 signer (header and presigned-query
 * placement). See sigv4.h for the contract and docs/aws-wire.md section 2 for
 * the rules; canonicalization lives in sigv4_canon.c and the derived-key cache
 * in sigv4_keycache.c.
 *
 * Performance notes (the signer runs on every API call):
 *  - SHA-256 and HMAC are fetched once per signer (EVP_MD_fetch/EVP_MAC_fetch);
 *    the one-shot SHA256()/HMAC() helpers would re-fetch on every call.
 *  - A cache hit keeps a ready-keyed HMAC context, so the signature costs one
 *    HMAC re-init + update + final, and the secret is only fingerprinted
 *    (SipHash), never re-derived.
 *  - All canonicalization scratch lives in the signer and is reused; the
 *    result's buffers are reused too when the caller passes the same result
 *    again. In the steady state the signer allocates nothing itself (OpenSSL
 *    3.0 still allocates a digest context per EVP_DigestInit_ex inside).
 *  - The body hash runs right before the other two hashes when it can:
 *    keeping the OpenSSL work together measurably helps (warm caches).
 */
#include "sigv4.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "es_error.h"
#include "es_text.h"
#include "sigv4_canon.h"
#include "sigv4_keycache.h"
#include "sigv4_tables.h"

#define ALGORITHM "AWS4-HMAC-SHA256"
#define DEFAULT_CACHE_SIZE 16
#define MAX_EXPIRES 604800L
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

struct es_sigv4_signer {
  EVP_MD *md;
  EVP_MAC *mac;
  EVP_MD_CTX *mdctx;
  EVP_MAC_CTX *macctx;          /* digest set; used for key derivation */
  es_clock_fn clock;
  void *clock_ud;
  time_t last_t;                /* memo of the last clock formatting */
  int have_last;
  char last_fmt[17];
  struct es_sv4_keycache cache;
  /* Scratch, reused by every signing. */
  struct es_sv4_hlist hl;
  struct es_sv4_qlist ql;
  struct es_buf path_tmp, curi, cquery, shdrs, scope, cred;
};

/* Header roles the signer must notice in the caller's list. */
enum hrole { H_PLAIN, H_SKIP, H_HOST, H_DATE, H_TOKEN, H_SHA, H_AUTH };

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
/* Bytes a0 a1 a2 a3 (low to high) -> a0 0 a1 0 a2 0 a3 0. */
static uint64_t spread4(uint32_t a)
{
  uint64_t x = a;
  x = (x | (x << 16)) & 0x0000ffff0000ffffULL;
  return (x | (x << 8)) & 0x00ff00ff00ff00ffULL;
}

/* Each byte 0..15 -> its lower-case hex digit. */
static uint64_t nibbles_to_hex(uint64_t n)
{
  uint64_t gt9 = ((n + 0x0606060606060606ULL) >> 4) & 0x0101010101010101ULL;
  return n + 0x3030303030303030ULL + gt9 * 0x27;
}
#endif

/* Lower-case hex of a 32-byte digest into out[65]. Three per signing: four
   input bytes per step on little-endian machines. */
static void to_hex(const unsigned char in[32], char out[65])
{
  size_t i;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  for(i = 0; i < 32; i += 4) {
    uint32_t w;
    uint64_t v;
    memcpy(&w, in + i, 4);
    v = nibbles_to_hex(spread4((w >> 4) & 0x0f0f0f0fu) | (spread4(w & 0x0f0f0f0fu) << 8));
    memcpy(out + 2 * i, &v, 8);
  }
#else
  for(i = 0; i < 32; i++)
    memcpy(out + 2 * i, hex_pairs + 2 * in[i], 2);
#endif
  out[64] = '\0';
}

static time_t default_clock(void *ud)
{
  (void)ud;
  return time(NULL);
}

/* ---- time ----------------------------------------------------------------- */

static void put2(char *d, int v)
{
  d[0] = (char)('0' + v / 10);
  d[1] = (char)('0' + v % 10);
}

/* "YYYYMMDDTHHMMSSZ"; ES_ERANGE when the year has no 4-digit form. */
static int format_time(time_t t, char out[17])
{
  struct tm tm;
  int year;
  if(!gmtime_r(&t, &tm))
    return ES_ERANGE;
  year = tm.tm_year + 1900;
  if(year < 0 || year > 9999)
    return ES_ERANGE;
  put2(out, year / 100);
  put2(out + 2, year % 100);
  put2(out + 4, tm.tm_mon + 1);
  put2(out + 6, tm.tm_mday);
  out[8] = 'T';
  put2(out + 9, tm.tm_hour);
  put2(out + 11, tm.tm_min);
  put2(out + 13, tm.tm_sec);
  out[15] = 'Z';
  out[16] = '\0';
  return ES_OK;
}

/* Out-of-range times (year outside 0..9999) give "". */
void es_sigv4_format_time(time_t t, char out[17])
{
  if(format_time(t, out))
    out[0] = '\0';
}

static int valid_amz_date(const char *d, size_t n)
{
  size_t i;
  if(n != 16 || d[8] != 'T' || d[15] != 'Z')
    return 0;
  for(i = 0; i < 15; i++) {
    if(i != 8 && !es_is_digit((unsigned char)d[i]))
      return 0;
  }
  return 1;
}

/* ---- signer lifecycle ----------------------------------------------------- */

struct es_sigv4_signer *es_sigv4_signer_new(size_t key_cache_size)
{
  struct es_sigv4_signer *s = calloc(1, sizeof(*s));
  OSSL_PARAM params[2];
  char digest_name[] = "SHA256";
  if(!s)
    return NULL;
  s->clock = default_clock;
  /* Scratch that may hold the session token (canonical headers and query,
     the presign's parameters), wiped whenever it grows or is freed. */
  es_buf_set_secret(&s->hl.text);
  es_buf_set_secret(&s->ql.text);
  es_buf_set_secret(&s->ql.tmp);
  es_buf_set_secret(&s->cquery);
  if(es_sv4_keycache_init(&s->cache, key_cache_size ? key_cache_size : DEFAULT_CACHE_SIZE)) {
    free(s);
    return NULL;
  }
  s->md = EVP_MD_fetch(NULL, "SHA256", NULL);
  s->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
  s->mdctx = EVP_MD_CTX_new();
  s->macctx = s->mac ? EVP_MAC_CTX_new(s->mac) : NULL;
  params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0);
  params[1] = OSSL_PARAM_construct_end();
  if(!s->md || !s->mac || !s->mdctx || !s->macctx || !EVP_MAC_CTX_set_params(s->macctx, params)) {
    es_sigv4_signer_free(s);
    return NULL;
  }
  return s;
}

void es_sigv4_signer_free(struct es_sigv4_signer *s)
{
  if(!s)
    return;
  es_sv4_keycache_free(&s->cache);
  EVP_MAC_CTX_free(s->macctx);
  EVP_MD_CTX_free(s->mdctx);
  EVP_MAC_free(s->mac);
  EVP_MD_free(s->md);
  /* Scratch holds canonical headers/queries, which may contain a session token. */
  es_sv4_hlist_free(&s->hl);
  es_sv4_qlist_free(&s->ql);
  es_buf_wipe_free(&s->path_tmp);
  es_buf_wipe_free(&s->curi);
  es_buf_wipe_free(&s->cquery);
  es_buf_free(&s->shdrs);
  es_buf_free(&s->scope);
  es_buf_free(&s->cred);
  free(s);
}

void es_sigv4_set_clock(struct es_sigv4_signer *s, es_clock_fn fn, void *ud)
{
  if(!s)
    return;
  s->clock = fn ? fn : default_clock;
  s->clock_ud = fn ? ud : NULL;
  s->have_last = 0;
}

void es_sigv4_cache_stats(const struct es_sigv4_signer *s, unsigned long *hits, unsigned long *misses)
{
  if(hits)
    *hits = s ? s->cache.hits : 0;
  if(misses)
    *misses = s ? s->cache.misses : 0;
}

/* ---- hashing -------------------------------------------------------------- */

static int sha256_raw(struct es_sigv4_signer *s, const void *data, size_t len, unsigned char md[32])
{
  unsigned int mdlen = 0;
  if(!EVP_DigestInit_ex(s->mdctx, s->md, NULL) || !EVP_DigestUpdate(s->mdctx, data, len) ||
     !EVP_DigestFinal_ex(s->mdctx, md, &mdlen) || mdlen != 32)
    return ES_ECRYPTO;
  return ES_OK;
}

int es_sigv4_sha256_hex(struct es_sigv4_signer *s, const void *data, size_t len, char out[65])
{
  unsigned char md[32];
  int rc;
  if(!s || !out || (!data && len))
    return ES_EINVAL;
  rc = sha256_raw(s, data ? data : "", len, md);
  if(!rc)
    to_hex(md, out);
  return rc;
}

static int hmac_with(EVP_MAC_CTX *ctx, const unsigned char *key, size_t keylen, const void *data,
                     size_t len, unsigned char out[32])
{
  size_t outl = 0;
  if(!EVP_MAC_init(ctx, key, keylen, NULL) || !EVP_MAC_update(ctx, data, len) ||
     !EVP_MAC_final(ctx, out, &outl, 32) || outl != 32)
    return ES_ECRYPTO;
  return ES_OK;
}

/* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request") */
static int derive_key(struct es_sigv4_signer *s, const char *secret, size_t slen, const char *date,
                      const char *region, size_t rlen, const char *service, size_t svlen,
                      unsigned char key[32])
{
  unsigned char stackbuf[132];
  unsigned char *k0 = stackbuf;
  unsigned char tmp[32];
  int rc;

  if(slen > sizeof(stackbuf) - 4) {
    k0 = malloc(slen + 4);
    if(!k0)
      return ES_ENOMEM;
  }
  memcpy(k0, "AWS4", 4);
  memcpy(k0 + 4, secret, slen);
  rc = hmac_with(s->macctx, k0, slen + 4, date, 8, tmp);
  if(!rc)
    rc = hmac_with(s->macctx, tmp, 32, region, rlen, key);
  if(!rc)
    rc = hmac_with(s->macctx, key, 32, service, svlen, tmp);
  if(!rc)
    rc = hmac_with(s->macctx, tmp, 32, "aws4_request", 12, key);
  OPENSSL_cleanse(k0, slen + 4);
  if(k0 != stackbuf)
    free(k0);
  OPENSSL_cleanse(tmp, sizeof(tmp));
  if(rc)
    OPENSSL_cleanse(key, 32);
  return rc;
}

/* ---- validation ----------------------------------------------------------- */

/* Every byte of s[0..n) has class bit cls (and n > 0). */
static int all_class(const char *s, size_t n, unsigned cls)
{
  size_t i;
  unsigned acc = cls;
  if(n == 0)
    return 0;
  for(i = 0; i < n; i++)
    acc &= char_class[(unsigned char)s[i]];
  return acc != 0;
}

/* A header value: no NUL, and CR/LF only as obs-fold (followed by SP/HT), so a
   value can never inject a header of its own. */
static int valid_header_value(const char *v, size_t n)
{
  size_t i = 0;
  unsigned acc = 0;
  for(i = 0; i < n; i++)
    acc |= char_class[(unsigned char)v[i]];
  if(!(acc & CC_HVSPEC))
    return 1;            /* the usual case: nothing to look at */
  i = 0;
  while(i < n) {
    unsigned char c = (unsigned char)v[i];
    if(c == '\0')
      return 0;
    if(c == '\r' || c == '\n') {
      if(c == '\r' && i + 1 < n && v[i + 1] == '\n')
        i++;
      i++;
      if(i >= n || (v[i] != ' ' && v[i] != '\t'))
        return 0;
      continue;
    }
    i++;
  }
  return 1;
}

static enum hrole header_role(const char *name, size_t n)
{
  switch(n) {
  case 2:
    return es_sv4_name_eq(name, n, "te") ? H_SKIP : H_PLAIN;
  case 4:
    return es_sv4_name_eq(name, n, "host") ? H_HOST : H_PLAIN;
  case 6:
    return es_sv4_name_eq(name, n, "expect") ? H_SKIP : H_PLAIN;
  case 7:
    return (es_sv4_name_eq(name, n, "upgrade") || es_sv4_name_eq(name, n, "trailer")) ? H_SKIP
                                                                                     : H_PLAIN;
  case 10:
    if(es_sv4_name_eq(name, n, "x-amz-date"))
      return H_DATE;
    return (es_sv4_name_eq(name, n, "connection") || es_sv4_name_eq(name, n, "user-agent") ||
            es_sv4_name_eq(name, n, "keep-alive"))
             ? H_SKIP
             : H_PLAIN;
  case 13:
    return es_sv4_name_eq(name, n, "authorization") ? H_AUTH : H_PLAIN;
  case 15:
    return es_sv4_name_eq(name, n, "x-amzn-trace-id") ? H_SKIP : H_PLAIN;
  case 17:
    return (es_sv4_name_eq(name, n, "transfer-encoding") ||
            es_sv4_name_eq(name, n, "sec-websocket-key"))
             ? H_SKIP
             : H_PLAIN;
  case 18:
    return es_sv4_name_eq(name, n, "proxy-authenticate") ? H_SKIP : H_PLAIN;
  case 19:
    return es_sv4_name_eq(name, n, "proxy-authorization") ? H_SKIP : H_PLAIN;
  case 20:
    return (es_sv4_name_eq(name, n, "x-amz-security-token")
              ? H_TOKEN
              : es_sv4_name_eq(name, n, "x-amz-content-sha256") ? H_SHA : H_PLAIN);
  case 21:
    return es_sv4_name_eq(name, n, "sec-websocket-version") ? H_SKIP : H_PLAIN;
  case 22:
    return es_sv4_name_eq(name, n, "sec-websocket-protocol") ? H_SKIP : H_PLAIN;
  default:
    return H_PLAIN;
  }
}

/* The header value with surrounding whitespace removed. */
static void trim_value(const char *v, size_t n, const char **out, size_t *outlen)
{
  while(n > 0 && (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n')) {
    v++;
    n--;
  }
  while(n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\r' || v[n - 1] == '\n'))
    n--;
  *out = v;
  *outlen = n;
}

static int same_bytes(const char *a, size_t alen, const char *b, size_t blen)
{
  return alen == blen && memcmp(a, b, alen) == 0;
}

/* ---- result --------------------------------------------------------------- */

void es_sigv4_result_init(struct es_sigv4_result *r)
{
  if(r)
    memset(r, 0, sizeof(*r));
}

void es_sigv4_result_free(struct es_sigv4_result *r)
{
  if(!r)
    return;
  /* Canonical request, target and header storage can carry the session token. */
  es_buf_wipe_free(&r->canonical_request);
  es_buf_free(&r->string_to_sign);
  es_buf_wipe_free(&r->target);
  es_buf_wipe_free(&r->storage);
  memset(r, 0, sizeof(*r));
}

/* Empty the result but keep its memory for reuse. The canonical request,
   the target and the header storage can carry the session token: they wipe
   what they leave behind when they grow. */
static void result_clear(struct es_sigv4_result *r)
{
  es_buf_set_secret(&r->canonical_request);
  es_buf_set_secret(&r->target);
  es_buf_set_secret(&r->storage);
  es_buf_reset(&r->canonical_request);
  es_buf_reset(&r->string_to_sign);
  es_buf_reset(&r->target);
  es_buf_reset(&r->storage);
  r->headers = NULL;
  r->n_headers = 0;
  r->signature[0] = '\0';
  r->amz_date[0] = '\0';
}

/* Copy n bytes plus a NUL to *d; return where they start. */
static const char *put_str(char **d, const char *s, size_t n)
{
  char *start = *d;
  if(n)
    memcpy(start, s, n);
  start[n] = '\0';
  *d = start + n + 1;
  return start;
}

static void put_header(struct es_header *h, char **d, const char *name, size_t nl, const char *val,
                       size_t vl)
{
  h->name = put_str(d, name, nl);
  h->name_len = nl;
  h->value = put_str(d, val, vl);
  h->value_len = vl;
}

static size_t append_raw(char *d, const char *s, size_t n)
{
  memcpy(d, s, n);
  return n;
}

/* ---- signing -------------------------------------------------------------- */

struct sign_state {
  const struct es_sigv4_request *req;
  int query;
  unsigned flags;
  const char *tok;
  size_t tok_len;
  size_t path_len;              /* target[0..path_len) is the path */
  const char *qstr;             /* raw query (after '?'), may be NULL */
  size_t qlen;
  size_t akid_len, secret_len, region_len, service_len;
  char date[17];
  char phash[129];
  size_t phash_len;             /* known from check_request() on */
  int phash_done;
  int have_date_hdr, have_tok_hdr, have_sha_hdr;
};

static int check_request(const struct es_sigv4_request *req, struct sign_state *st)
{
  const struct es_credentials *c = &req->creds;
  const char *tgt = req->target ? req->target : "";

  if(req->placement != ES_SIGV4_HEADER && req->placement != ES_SIGV4_QUERY)
    return ES_EINVAL;
  st->query = req->placement == ES_SIGV4_QUERY;
  st->flags = req->flags;
  if(!req->method || !all_class(req->method, strlen(req->method), CC_TCHAR))
    return ES_EINVAL;
  if(!req->target && req->target_len)
    return ES_EINVAL;
  if(req->target_len && !all_class(tgt, req->target_len, CC_TARGET))
    return ES_EINVAL;
  st->path_len = req->target_len;
  st->qstr = NULL;
  st->qlen = 0;
  {
    const char *qm = req->target_len ? memchr(tgt, '?', req->target_len) : NULL;
    if(qm) {
      st->path_len = (size_t)(qm - tgt);
      st->qstr = qm + 1;
      st->qlen = req->target_len - st->path_len - 1;
    }
  }
  if(st->path_len > 0 && tgt[0] != '/')
    return ES_EINVAL;      /* origin-form only: no absolute URLs */
  if(!req->region || !req->service)
    return ES_EINVAL;
  st->region_len = strlen(req->region);
  st->service_len = strlen(req->service);
  if(!all_class(req->region, st->region_len, CC_SCOPE) ||
     !all_class(req->service, st->service_len, CC_SCOPE))
    return ES_EINVAL;
  if(!c->access_key_id || !c->secret_access_key)
    return ES_EINVAL;
  st->akid_len = strlen(c->access_key_id);
  st->secret_len = strlen(c->secret_access_key);
  if(!all_class(c->access_key_id, st->akid_len, CC_AKID) || st->secret_len == 0)
    return ES_EINVAL;
  st->tok = (c->session_token && c->session_token[0]) ? c->session_token : NULL;
  st->tok_len = st->tok ? strlen(st->tok) : 0;
  if(st->tok && !es_sv4_all_visible(st->tok, st->tok_len))
    return ES_EINVAL;
  if(!req->body && req->body_len)
    return ES_EINVAL;
  if(req->n_headers && !req->headers)
    return ES_EINVAL;
  st->phash_len = 64;
  st->phash_done = 0;
  if(req->payload_hash) {
    size_t n = strlen(req->payload_hash);
    if(n == 0 || n >= sizeof(st->phash) || !es_sv4_all_visible(req->payload_hash, n))
      return ES_EINVAL;
    st->phash_len = n;
  }
  if(req->amz_date && !valid_amz_date(req->amz_date, strlen(req->amz_date)))
    return ES_EINVAL;
  if(st->query && (req->expires < 1 || req->expires > MAX_EXPIRES))
    return ES_ERANGE;
  return ES_OK;
}

/* Classify and validate the caller's headers; find the date. */
static int scan_headers(struct es_sigv4_signer *s, struct sign_state *st)
{
  const struct es_sigv4_request *req = st->req;
  size_t i;
  int have_host = 0;
  const char *hdate = NULL;
  size_t hdate_len = 0;

  st->have_date_hdr = st->have_tok_hdr = st->have_sha_hdr = 0;
  for(i = 0; i < req->n_headers; i++) {
    const struct es_header *h = &req->headers[i];
    const char *v;
    size_t vl;
    if(!h->name || !all_class(h->name, h->name_len, CC_TCHAR) || (!h->value && h->value_len) ||
       !valid_header_value(h->value, h->value_len))
      return ES_EINVAL;
    switch(header_role(h->name, h->name_len)) {
    case H_HOST:
      have_host = 1;
      break;
    case H_AUTH:
      return ES_EINVAL;    /* never sign (or keep) an old Authorization */
    case H_DATE:
      if(hdate)
        return ES_EINVAL;
      trim_value(h->value, h->value_len, &hdate, &hdate_len);
      if(!valid_amz_date(hdate, hdate_len))
        return ES_EINVAL;
      st->have_date_hdr = 1;
      break;
    case H_TOKEN:
      if(!st->query && st->tok) {
        /* Already present: it must be this token, and it is then signed. */
        trim_value(h->value, h->value_len, &v, &vl);
        if(st->have_tok_hdr || (st->flags & ES_SIGV4_OMIT_SESSION_TOKEN) ||
           !same_bytes(v, vl, st->tok, st->tok_len))
          return ES_EINVAL;
        st->have_tok_hdr = 1;
      }
      break;
    case H_SHA:
      if(!st->query && (st->flags & ES_SIGV4_SIGN_BODY)) {
        if(st->have_sha_hdr)
          return ES_EINVAL;
        st->have_sha_hdr = 1;    /* compared with the payload hash later */
      }
      break;
    default:
      break;
    }
  }
  if(!have_host)
    return ES_EINVAL;

  if(st->req->amz_date) {
    if(hdate && !same_bytes(hdate, hdate_len, st->req->amz_date, 16))
      return ES_EINVAL;
    memcpy(st->date, st->req->amz_date, 17);
  }
  else if(hdate) {
    memcpy(st->date, hdate, 16);
    st->date[16] = '\0';
  }
  else {
    time_t t = s->clock(s->clock_ud);
    if(!s->have_last || t != s->last_t) {
      int rc = format_time(t, s->last_fmt);
      if(rc)
        return rc;
      s->last_t = t;
      s->have_last = 1;
    }
    memcpy(st->date, s->last_fmt, 17);
  }
  return ES_OK;
}

static int payload_hash(struct es_sigv4_signer *s, struct sign_state *st)
{
  const struct es_sigv4_request *req = st->req;
  if(req->payload_hash) {
    memcpy(st->phash, req->payload_hash, st->phash_len + 1);
  }
  else if(req->body_len == 0) {
    memcpy(st->phash, EMPTY_SHA256, 65);
  }
  else {
    unsigned char md[32];
    int rc = sha256_raw(s, req->body, req->body_len, md);
    if(rc)
      return rc;
    to_hex(md, st->phash);
  }
  st->phash_done = 1;
  if(st->have_sha_hdr) {
    size_t i;
    for(i = 0; i < req->n_headers; i++) {
      const struct es_header *h = &req->headers[i];
      if(header_role(h->name, h->name_len) == H_SHA) {
        const char *v;
        size_t vl;
        trim_value(h->value, h->value_len, &v, &vl);
        if(!same_bytes(v, vl, st->phash, st->phash_len))
          return ES_EINVAL;
      }
    }
  }
  return ES_OK;
}

static int build_headers(struct es_sigv4_signer *s, struct sign_state *st)
{
  const struct es_sigv4_request *req = st->req;
  size_t i;
  int rc = ES_OK;

  es_sv4_hlist_reset(&s->hl);
  for(i = 0; i < req->n_headers && !rc; i++) {
    const struct es_header *h = &req->headers[i];
    if(header_role(h->name, h->name_len) == H_SKIP)
      continue;
    rc = es_sv4_hlist_add(&s->hl, h->name, h->name_len, h->value ? h->value : "", h->value_len);
  }
  if(!rc && !st->query) {
    /* Our own values hold no whitespace (checked): no canonicalization pass. */
    if(!st->have_date_hdr)
      rc = es_sv4_hlist_add_canonical(&s->hl, "x-amz-date", 10, st->date, 16);
    if(!rc && st->tok && !(st->flags & ES_SIGV4_OMIT_SESSION_TOKEN) && !st->have_tok_hdr)
      rc = es_sv4_hlist_add_canonical(&s->hl, "x-amz-security-token", 20, st->tok, st->tok_len);
    if(!rc && (st->flags & ES_SIGV4_SIGN_BODY) && !st->have_sha_hdr)
      rc = es_sv4_hlist_add_canonical(&s->hl, "x-amz-content-sha256", 20, st->phash,
                                      st->phash_len);
  }
  if(rc)
    return rc;
  es_buf_reset(&s->shdrs);
  return es_sv4_hlist_sort_names(&s->hl, &s->shdrs);
}

static const char *const reserved_query[] = {
  "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
  "X-Amz-SignedHeaders", "X-Amz-Security-Token", "X-Amz-Signature", NULL
};

static int build_query(struct es_sigv4_signer *s, struct sign_state *st)
{
  const struct es_sigv4_request *req = st->req;
  int rc = ES_OK;
  char expires[24];
  int n;

  es_sv4_qlist_reset(&s->ql);
  if(st->qlen)
    rc = es_sv4_qlist_parse(&s->ql, st->qstr, st->qlen);
  if(!rc && st->query) {
    size_t i;
    for(i = 0; reserved_query[i]; i++) {
      if(es_sv4_qlist_has(&s->ql, reserved_query[i]))
        return ES_EINVAL;   /* a stale presign: the caller must strip it */
    }
    n = snprintf(expires, sizeof(expires), "%ld", req->expires);
    if(n < 0 || (size_t)n >= sizeof(expires))
      return ES_ERANGE;
    rc = es_sv4_qlist_add(&s->ql, "X-Amz-Algorithm", 15, ALGORITHM, sizeof(ALGORITHM) - 1);
    if(!rc)
      rc = es_sv4_qlist_add(&s->ql, "X-Amz-Credential", 16, s->cred.data, s->cred.len);
    if(!rc)
      rc = es_sv4_qlist_add(&s->ql, "X-Amz-Date", 10, st->date, 16);
    if(!rc)
      rc = es_sv4_qlist_add(&s->ql, "X-Amz-Expires", 13, expires, (size_t)n);
    if(!rc)
      rc = es_sv4_qlist_add(&s->ql, "X-Amz-SignedHeaders", 19, s->shdrs.data, s->shdrs.len);
    if(!rc && st->tok && !(st->flags & ES_SIGV4_OMIT_SESSION_TOKEN))
      rc = es_sv4_qlist_add(&s->ql, "X-Amz-Security-Token", 20, st->tok, st->tok_len);
  }
  if(rc)
    return rc;
  es_buf_reset(&s->cquery);
  return es_sv4_qlist_emit(&s->ql, &s->cquery);
}

/* scope = date/region/service/aws4_request; cred = akid/scope */
static int build_scope(struct es_sigv4_signer *s, struct sign_state *st)
{
  const struct es_sigv4_request *req = st->req;
  size_t n = 8 + 1 + st->region_len + 1 + st->service_len + 13;
  char *d;
  int rc;
  es_buf_reset(&s->scope);
  rc = es_buf_reserve(&s->scope, n);
  if(rc)
    return rc;
  d = s->scope.data;
  d += append_raw(d, st->date, 8);
  *d++ = '/';
  d += append_raw(d, req->region, st->region_len);
  *d++ = '/';
  d += append_raw(d, req->service, st->service_len);
  d += append_raw(d, "/aws4_request", 13);
  *d = '\0';
  s->scope.len = n;

  es_buf_reset(&s->cred);
  rc = es_buf_reserve(&s->cred, st->akid_len + 1 + n);
  if(rc)
    return rc;
  d = s->cred.data;
  d += append_raw(d, req->creds.access_key_id, st->akid_len);
  *d++ = '/';
  d += append_raw(d, s->scope.data, n);
  *d = '\0';
  s->cred.len = st->akid_len + 1 + n;
  return ES_OK;
}

static int build_canonical_request(struct es_sigv4_signer *s, struct sign_state *st,
                                   struct es_sigv4_result *out)
{
  size_t ml = strlen(st->req->method);
  size_t n = ml + 1 + s->curi.len + 1 + s->cquery.len + 1 + es_sv4_hlist_block_size(&s->hl) + 1 +
             s->shdrs.len + 1 + st->phash_len;
  struct es_buf *cr = &out->canonical_request;
  char *d;
  int rc = es_buf_reserve(cr, n);
  if(rc)
    return rc;
  d = cr->data;
  d += append_raw(d, st->req->method, ml);
  *d++ = '\n';
  d += append_raw(d, s->curi.data, s->curi.len);
  *d++ = '\n';
  d += append_raw(d, s->cquery.data, s->cquery.len);
  *d++ = '\n';
  /* The header block goes straight into the canonical request. */
  cr->len = (size_t)(d - cr->data);
  es_sv4_hlist_block(&s->hl, cr);
  d = cr->data + cr->len;
  *d++ = '\n';
  d += append_raw(d, s->shdrs.data, s->shdrs.len);
  *d++ = '\n';
  /* The payload hash goes last; it may not be computed yet (see sign_inner). */
  if(st->phash_done)
    memcpy(d, st->phash, st->phash_len);
  d += st->phash_len;
  *d = '\0';
  cr->len = (size_t)(d - cr->data);
  return ES_OK;
}

static int build_string_to_sign(struct es_sigv4_signer *s, struct sign_state *st,
                                 struct es_sigv4_result *out)
{
  unsigned char md[32];
  size_t n = (sizeof(ALGORITHM) - 1) + 1 + 16 + 1 + s->scope.len + 1 + 64;
  struct es_buf *sts = &out->string_to_sign;
  char *d;
  int rc = sha256_raw(s, out->canonical_request.data, out->canonical_request.len, md);
  if(!rc)
    rc = es_buf_reserve(sts, n);
  if(rc)
    return rc;
  d = sts->data;
  d += append_raw(d, ALGORITHM "\n", sizeof(ALGORITHM));
  d += append_raw(d, st->date, 16);
  *d++ = '\n';
  d += append_raw(d, s->scope.data, s->scope.len);
  *d++ = '\n';
  to_hex(md, d);
  sts->len = n;
  return ES_OK;
}

static int compute_signature(struct es_sigv4_signer *s, struct sign_state *st,
                             struct es_sigv4_result *out)
{
  const struct es_credentials *c = &st->req->creds;
  struct es_sv4_scope sc;
  struct es_sv4_kentry *e;
  unsigned char key[32], sig[32];
  size_t outl = 0;
  int rc = ES_OK;

  sc.akid = c->access_key_id;
  sc.akid_len = st->akid_len;
  sc.fp = es_sv4_keycache_fingerprint(&s->cache, c->secret_access_key, st->secret_len);
  sc.date = st->date;
  sc.region = st->req->region;
  sc.region_len = st->region_len;
  sc.service = st->req->service;
  sc.service_len = st->service_len;

  e = es_sv4_keycache_find(&s->cache, &sc);
  if(!e) {
    rc = derive_key(s, c->secret_access_key, st->secret_len, st->date, sc.region, sc.region_len,
                    sc.service, sc.service_len, key);
    if(rc)
      return rc;
    e = es_sv4_keycache_store(&s->cache, &sc, key, s->macctx, &rc);
    if(!e && rc == ES_ERANGE) {
      /* Too long to cache: sign with the derivation context directly. */
      rc = hmac_with(s->macctx, key, 32, out->string_to_sign.data, out->string_to_sign.len, sig);
    }
    OPENSSL_cleanse(key, sizeof(key));
    if(rc)
      return rc;
  }
  if(e) {
    /* NULL key: restart the HMAC with the key the context already holds. */
    if(!EVP_MAC_init(e->mac, NULL, 0, NULL) ||
       !EVP_MAC_update(e->mac, (const unsigned char *)out->string_to_sign.data,
                       out->string_to_sign.len) ||
       !EVP_MAC_final(e->mac, sig, &outl, sizeof(sig)) || outl != 32)
      return ES_ECRYPTO;
  }
  to_hex(sig, out->signature);
  return ES_OK;
}

/* Header placement: caller headers, X-Amz-Security-Token, X-Amz-Date,
   x-amz-content-sha256, Authorization (aws-c-auth's order). */
static int build_header_result(struct es_sigv4_signer *s, struct sign_state *st,
                               struct es_sigv4_result *out)
{
  const struct es_sigv4_request *req = st->req;
  int add_tok = st->tok && !st->have_tok_hdr;
  int add_date = !st->have_date_hdr;
  int add_sha = (st->flags & ES_SIGV4_SIGN_BODY) && !st->have_sha_hdr;
  size_t nh = req->n_headers + (size_t)add_tok + (size_t)add_date + (size_t)add_sha + 1;
  size_t auth_len = (sizeof(ALGORITHM " Credential=") - 1) + s->cred.len +
                    (sizeof(", SignedHeaders=") - 1) + s->shdrs.len + (sizeof(", Signature=") - 1) +
                    64;
  size_t strings = 0, arr, i, k = 0;
  struct es_header *hv;
  char *d, *a;
  int rc;

  for(i = 0; i < req->n_headers; i++) {
    size_t add = req->headers[i].name_len + req->headers[i].value_len + 2;
    if(strings > (size_t)-1 / 2 - add)
      return ES_ENOMEM;
    strings += add;
  }
  strings += add_tok ? 20 + st->tok_len + 2 : 0;
  strings += add_date ? 10 + 16 + 2 : 0;
  strings += add_sha ? 20 + st->phash_len + 2 : 0;
  strings += 13 + auth_len + 2;
  arr = nh * sizeof(struct es_header);
  rc = es_buf_reserve(&out->storage, arr + strings);
  if(rc)
    return rc;
  /* The header array sits at the start of storage (malloc alignment), the
     strings after it. */
  hv = (struct es_header *)(void *)out->storage.data;
  d = out->storage.data + arr;
  for(i = 0; i < req->n_headers; i++) {
    const struct es_header *h = &req->headers[i];
    put_header(&hv[k++], &d, h->name, h->name_len, h->value ? h->value : "", h->value_len);
  }
  if(add_tok)
    put_header(&hv[k++], &d, "X-Amz-Security-Token", 20, st->tok, st->tok_len);
  if(add_date)
    put_header(&hv[k++], &d, "X-Amz-Date", 10, st->date, 16);
  if(add_sha)
    put_header(&hv[k++], &d, "x-amz-content-sha256", 20, st->phash, st->phash_len);
  hv[k].name = put_str(&d, "Authorization", 13);
  hv[k].name_len = 13;
  a = d;
  d += append_raw(d, ALGORITHM " Credential=", sizeof(ALGORITHM " Credential=") - 1);
  d += append_raw(d, s->cred.data, s->cred.len);
  d += append_raw(d, ", SignedHeaders=", sizeof(", SignedHeaders=") - 1);
  d += append_raw(d, s->shdrs.data, s->shdrs.len);
  d += append_raw(d, ", Signature=", sizeof(", Signature=") - 1);
  d += append_raw(d, out->signature, 64);
  *d++ = '\0';
  hv[k].value = a;
  hv[k].value_len = auth_len;
  k++;
  out->storage.len = (size_t)(d - out->storage.data) - 1;
  out->headers = hv;
  out->n_headers = k;
  /* The request-target is unchanged. */
  return es_buf_append(&out->target, req->target ? req->target : "", req->target_len);
}

/* Query placement: the caller's headers unchanged; the target gets the X-Amz-*
   parameters after the caller's query, in aws-c-auth's order, then the signature. */
static int build_query_result(struct es_sigv4_signer *s, struct sign_state *st,
                              struct es_sigv4_result *out)
{
  const struct es_sigv4_request *req = st->req;
  const char *tgt = req->target ? req->target : "";
  struct es_buf *t = &out->target;
  size_t strings = 0, arr, i;
  struct es_header *hv;
  char *d;
  int rc;

  for(i = 0; i < req->n_headers; i++) {
    size_t add = req->headers[i].name_len + req->headers[i].value_len + 2;
    if(strings > (size_t)-1 / 2 - add)
      return ES_ENOMEM;
    strings += add;
  }
  arr = req->n_headers * sizeof(struct es_header);
  rc = es_buf_reserve(&out->storage, arr + strings);
  if(rc)
    return rc;
  hv = (struct es_header *)(void *)out->storage.data;
  d = out->storage.data + arr;
  for(i = 0; i < req->n_headers; i++) {
    const struct es_header *h = &req->headers[i];
    put_header(&hv[i], &d, h->name, h->name_len, h->value ? h->value : "", h->value_len);
  }
  out->storage.len = arr + strings;
  out->storage.data[out->storage.len] = '\0';
  out->headers = req->n_headers ? hv : NULL;
  out->n_headers = req->n_headers;

  rc = es_buf_append(t, tgt, st->path_len);
  if(!rc)
    rc = es_buf_putc(t, '?');
  if(!rc && st->qlen) {
    rc = es_buf_append(t, st->qstr, st->qlen);
    if(!rc)
      rc = es_buf_putc(t, '&');
  }
  if(!rc)
    rc = es_buf_puts(t, "X-Amz-Algorithm=" ALGORITHM "&X-Amz-Credential=");
  if(!rc)
    rc = es_uri_encode(t, s->cred.data, s->cred.len, 0);
  if(!rc)
    rc = es_buf_puts(t, "&X-Amz-Date=");
  if(!rc)
    rc = es_buf_append(t, st->date, 16);
  if(!rc)
    rc = es_buf_puts(t, "&X-Amz-SignedHeaders=");
  if(!rc)
    rc = es_uri_encode(t, s->shdrs.data, s->shdrs.len, 0);
  if(!rc)
    rc = es_buf_printf(t, "&X-Amz-Expires=%ld", req->expires);
  if(!rc && st->tok) {
    rc = es_buf_puts(t, "&X-Amz-Security-Token=");
    if(!rc)
      rc = es_uri_encode(t, st->tok, st->tok_len, 0);
  }
  if(!rc)
    rc = es_buf_puts(t, "&X-Amz-Signature=");
  if(!rc)
    rc = es_buf_append(t, out->signature, 64);
  return rc;
}

static int sign_inner(struct es_sigv4_signer *s, const struct es_sigv4_request *req,
                      struct es_sigv4_result *out)
{
  struct sign_state st;
  int rc, early;

  /* No memset: every field is set before use (the struct holds ~200 bytes
     of buffers that would be cleared on every signing). */
  st.req = req;
  rc = check_request(req, &st);
  if(!rc)
    rc = scan_headers(s, &st);
  /* The body hash is needed early only when it is also a header value (or is
     compared with one). Otherwise it runs just before the other two hashes:
     keeping the OpenSSL calls together measurably helps (warm caches). */
  if(rc)
    return rc;
  early = (!st.query && (st.flags & ES_SIGV4_SIGN_BODY)) || st.have_sha_hdr;
  if(early)
    rc = payload_hash(s, &st);
  if(!rc)
    rc = build_scope(s, &st);
  if(!rc)
    rc = build_headers(s, &st);
  if(!rc) {
    es_buf_reset(&s->curi);
    rc = es_sv4_canon_path(&s->curi, req->target ? req->target : "", st.path_len,
                           (st.flags & ES_SIGV4_NORMALIZE_PATH) != 0,
                           (st.flags & ES_SIGV4_DOUBLE_ENCODE) != 0, &s->path_tmp);
  }
  if(!rc)
    rc = build_query(s, &st);
  if(!rc)
    rc = build_canonical_request(s, &st, out);
  if(!rc && !early) {
    rc = payload_hash(s, &st);
    if(!rc)
      memcpy(out->canonical_request.data + out->canonical_request.len - st.phash_len, st.phash,
             st.phash_len);
  }
  if(!rc)
    rc = build_string_to_sign(s, &st, out);
  if(!rc)
    rc = compute_signature(s, &st, out);
  if(!rc) {
    memcpy(out->amz_date, st.date, 17);
    rc = st.query ? build_query_result(s, &st, out) : build_header_result(s, &st, out);
  }
  return rc;
}

int es_sigv4_sign(struct es_sigv4_signer *s, const struct es_sigv4_request *req,
                  struct es_sigv4_result *out)
{
  int rc;
  if(!out)
    return ES_EINVAL;
  result_clear(out);
  if(!s || !req)
    return ES_EINVAL;
  rc = sign_inner(s, req, out);
  if(rc)
    result_clear(out);
  return rc;
}
