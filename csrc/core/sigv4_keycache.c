/* sigv4_keycache.c: bounded LRU cache of derived SigV4 signing keys. See sigv4_keycache.h. */
#include "sigv4_keycache.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "es_error.h"

/* ---- SipHash-2-4 (Aumasson, Bernstein), 64-bit output ---- */

#define ROTL64(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

#define SIPROUND                                                                  \
  do {                                                                            \
    v0 += v1; v1 = ROTL64(v1, 13); v1 ^= v0; v0 = ROTL64(v0, 32);                 \
    v2 += v3; v3 = ROTL64(v3, 16); v3 ^= v2;                                      \
    v0 += v3; v3 = ROTL64(v3, 21); v3 ^= v0;                                      \
    v2 += v1; v1 = ROTL64(v1, 17); v1 ^= v2; v2 = ROTL64(v2, 32);                 \
  } while(0)

static uint64_t load_le64(const unsigned char *p)
{
  return (uint64_t)p[0] | ((uint64_t)p[1] << 8) | ((uint64_t)p[2] << 16) | ((uint64_t)p[3] << 24) |
         ((uint64_t)p[4] << 32) | ((uint64_t)p[5] << 40) | ((uint64_t)p[6] << 48) |
         ((uint64_t)p[7] << 56);
}

static uint64_t siphash24(const unsigned char key[16], const unsigned char *in, size_t n)
{
  uint64_t k0 = load_le64(key), k1 = load_le64(key + 8);
  uint64_t v0 = 0x736f6d6570736575ULL ^ k0;
  uint64_t v1 = 0x646f72616e646f6dULL ^ k1;
  uint64_t v2 = 0x6c7967656e657261ULL ^ k0;
  uint64_t v3 = 0x7465646279746573ULL ^ k1;
  uint64_t b = (uint64_t)n << 56, m;
  size_t i, left = n & 7;
  const unsigned char *end = in + (n - left);

  for(; in != end; in += 8) {
    m = load_le64(in);
    v3 ^= m;
    SIPROUND;
    SIPROUND;
    v0 ^= m;
  }
  for(i = 0; i < left; i++)
    b |= (uint64_t)in[i] << (8 * i);
  v3 ^= b;
  SIPROUND;
  SIPROUND;
  v0 ^= b;
  v2 ^= 0xff;
  SIPROUND;
  SIPROUND;
  SIPROUND;
  SIPROUND;
  return v0 ^ v1 ^ v2 ^ v3;
}

/* ---- cache ---- */

int es_sv4_keycache_init(struct es_sv4_keycache *c, size_t cap)
{
  memset(c, 0, sizeof(*c));
  if(cap == 0 || cap > (size_t)-1 / sizeof(*c->e))
    return ES_EINVAL;
  c->e = calloc(cap, sizeof(*c->e));
  if(!c->e)
    return ES_ENOMEM;
  c->cap = cap;
  if(RAND_bytes(c->sipkey, (int)sizeof(c->sipkey)) != 1) {
    free(c->e);
    c->e = NULL;
    return ES_ECRYPTO;
  }
  return ES_OK;
}

static void wipe_entry(struct es_sv4_kentry *e, int free_mac)
{
  EVP_MAC_CTX *mac = e->mac;
  OPENSSL_cleanse(e->key, sizeof(e->key));
  if(free_mac) {
    EVP_MAC_CTX_free(mac);     /* the HMAC provider clear-frees its key and state */
    mac = NULL;
  }
  OPENSSL_cleanse(e, sizeof(*e));
  e->mac = mac;
}

void es_sv4_keycache_free(struct es_sv4_keycache *c)
{
  size_t i;
  if(!c->e)
    return;
  for(i = 0; i < c->cap; i++)
    wipe_entry(&c->e[i], 1);
  free(c->e);
  c->e = NULL;
  OPENSSL_cleanse(c->sipkey, sizeof(c->sipkey));
}

uint64_t es_sv4_keycache_fingerprint(const struct es_sv4_keycache *c, const char *secret, size_t n)
{
  return siphash24(c->sipkey, (const unsigned char *)secret, n);
}

int es_sv4_keycache_fits(const struct es_sv4_scope *sc)
{
  return sc->akid_len <= ES_SV4_AKID_MAX && sc->region_len <= ES_SV4_SCOPE_FIELD_MAX &&
         sc->service_len <= ES_SV4_SCOPE_FIELD_MAX;
}

static int entry_matches(const struct es_sv4_kentry *e, const struct es_sv4_scope *sc)
{
  return e->stamp != 0 && e->fp == sc->fp && memcmp(e->date, sc->date, 8) == 0 &&
         e->akid_len == sc->akid_len && e->region_len == sc->region_len &&
         e->service_len == sc->service_len && memcmp(e->akid, sc->akid, sc->akid_len) == 0 &&
         memcmp(e->region, sc->region, sc->region_len) == 0 &&
         memcmp(e->service, sc->service, sc->service_len) == 0;
}

struct es_sv4_kentry *es_sv4_keycache_find(struct es_sv4_keycache *c, const struct es_sv4_scope *sc)
{
  size_t i;
  if(entry_matches(&c->e[c->mru], sc)) {
    c->hits++;
    c->e[c->mru].stamp = ++c->tick;
    return &c->e[c->mru];
  }
  for(i = 0; i < c->cap; i++) {
    if(i != c->mru && entry_matches(&c->e[i], sc)) {
      c->hits++;
      c->e[i].stamp = ++c->tick;
      c->mru = i;
      return &c->e[i];
    }
  }
  c->misses++;
  return NULL;
}

struct es_sv4_kentry *es_sv4_keycache_store(struct es_sv4_keycache *c, const struct es_sv4_scope *sc,
                                            const unsigned char key[32], EVP_MAC_CTX *tmpl, int *rc)
{
  size_t i, victim = 0;
  struct es_sv4_kentry *e;

  if(!es_sv4_keycache_fits(sc)) {
    *rc = ES_ERANGE;
    return NULL;
  }
  for(i = 0; i < c->cap; i++) {
    if(c->e[i].stamp == 0) {
      victim = i;
      break;
    }
    if(c->e[i].stamp < c->e[victim].stamp)
      victim = i;
  }
  e = &c->e[victim];
  wipe_entry(e, 0);            /* keeps the HMAC context; re-keyed below */
  if(!e->mac) {
    e->mac = EVP_MAC_CTX_dup(tmpl);
    if(!e->mac) {
      *rc = ES_ECRYPTO;
      return NULL;
    }
  }
  if(!EVP_MAC_init(e->mac, key, 32, NULL)) {
    /* Leave no key material behind in a half-set-up slot. */
    EVP_MAC_CTX_free(e->mac);
    e->mac = NULL;
    *rc = ES_ECRYPTO;
    return NULL;
  }
  memcpy(e->key, key, 32);
  e->fp = sc->fp;
  memcpy(e->date, sc->date, 8);
  e->akid_len = sc->akid_len;
  memcpy(e->akid, sc->akid, sc->akid_len);
  e->region_len = sc->region_len;
  memcpy(e->region, sc->region, sc->region_len);
  e->service_len = sc->service_len;
  memcpy(e->service, sc->service, sc->service_len);
  e->stamp = ++c->tick;
  c->mru = victim;
  *rc = ES_OK;
  return e;
}
