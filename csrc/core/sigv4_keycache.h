/*
 * sigv4_keycache.h: private bounded cache of derived SigV4 signing keys.
 *
 * Keyed by (access key id, fingerprint of the secret, date, region, service).
 * The raw secret is never stored: the fingerprint is SipHash-2-4 of the secret
 * under a random per-signer key, so it reveals nothing usable about the secret
 * and cannot be precomputed, while it still tells a rotated secret apart.
 * Each entry keeps a ready-keyed HMAC context, so a cache hit signs with one
 * HMAC re-init instead of a key setup. Eviction is LRU; evicted and freed
 * entries are wiped (OPENSSL_cleanse, and the HMAC context's own clear-free).
 */
#ifndef ES_SIGV4_KEYCACHE_H
#define ES_SIGV4_KEYCACHE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#define ES_SV4_AKID_MAX 128
#define ES_SV4_SCOPE_FIELD_MAX 64

struct es_sv4_kentry {
  unsigned long long stamp;    /* last use (LRU); 0 = empty slot */
  uint64_t fp;                 /* fingerprint of the secret */
  size_t akid_len, region_len, service_len;
  char akid[ES_SV4_AKID_MAX];
  char date[8];                /* YYYYMMDD */
  char region[ES_SV4_SCOPE_FIELD_MAX];
  char service[ES_SV4_SCOPE_FIELD_MAX];
  unsigned char key[32];       /* kSigning */
  EVP_MAC_CTX *mac;            /* HMAC-SHA256 keyed with 'key' */
};

struct es_sv4_keycache {
  struct es_sv4_kentry *e;
  size_t cap;
  size_t mru;                  /* index checked first */
  unsigned long long tick;
  unsigned char sipkey[16];
  unsigned long hits, misses;
};

struct es_sv4_scope {
  const char *akid;
  size_t akid_len;
  uint64_t fp;
  const char *date;            /* 8 chars */
  const char *region;
  size_t region_len;
  const char *service;
  size_t service_len;
};

/* 0 or ES_ENOMEM / ES_ECRYPTO. cap > 0. */
int es_sv4_keycache_init(struct es_sv4_keycache *c, size_t cap);
void es_sv4_keycache_free(struct es_sv4_keycache *c);
uint64_t es_sv4_keycache_fingerprint(const struct es_sv4_keycache *c, const char *secret, size_t n);
/* Can this scope be cached at all (fields within the fixed sizes)? */
int es_sv4_keycache_fits(const struct es_sv4_scope *sc);
/* The entry for sc, or NULL (counts a hit or a miss). */
struct es_sv4_kentry *es_sv4_keycache_find(struct es_sv4_keycache *c, const struct es_sv4_scope *sc);
/* Store key for sc in an empty or the least recently used slot, keying the
   slot's HMAC context (created by duplicating tmpl, which must have its digest
   set). Returns the entry, or NULL with *rc set. */
struct es_sv4_kentry *es_sv4_keycache_store(struct es_sv4_keycache *c, const struct es_sv4_scope *sc,
                                            const unsigned char key[32], EVP_MAC_CTX *tmpl, int *rc);

#endif
