/*
 * sigv4.h: AWS Signature Version 4 (header and presigned-query placement).
 *
 * A signer object owns the OpenSSL algorithm handles (fetched once, reused:
 * the one-shot SHA256()/HMAC() calls re-fetch the algorithm on every call and
 * cost 2x), a bounded cache of derived signing keys, and an injectable clock.
 * A signer is not thread-safe; use one per thread (or per engine).
 *
 * Secrets: the secret key is only read during es_sigv4_sign(); derived keys in
 * the cache are wiped (OPENSSL_cleanse) when evicted and when the signer is freed.
 */
#ifndef ES_SIGV4_H
#define ES_SIGV4_H

#include <stddef.h>
#include <time.h>

#include "es_buf.h"
#include "es_types.h"   /* struct es_header, struct es_credentials, es_clock_fn */

enum es_sigv4_placement {
  ES_SIGV4_HEADER = 0,   /* Authorization header */
  ES_SIGV4_QUERY = 1     /* presigned URL: X-Amz-* query parameters */
};

/* Flags for es_sigv4_request.flags */
#define ES_SIGV4_NORMALIZE_PATH     0x01u  /* remove dot segments, collapse '//' */
#define ES_SIGV4_DOUBLE_ENCODE      0x02u  /* UriEncode the wire path once more (all but S3) */
#define ES_SIGV4_SIGN_BODY          0x04u  /* add and sign x-amz-content-sha256 */
#define ES_SIGV4_OMIT_SESSION_TOKEN 0x08u  /* add the token after signing (unsigned) */
#define ES_SIGV4_DEFAULT_FLAGS (ES_SIGV4_NORMALIZE_PATH | ES_SIGV4_DOUBLE_ENCODE)

struct es_sigv4_request {
  const char *method;
  const char *target;             /* raw request-target as on the request line: path[?query] */
  size_t target_len;
  const struct es_header *headers;  /* ordered; duplicates allowed; must include Host */
  size_t n_headers;
  const char *body;               /* may be NULL when body_len == 0 */
  size_t body_len;
  const char *payload_hash;       /* optional precomputed hex hash or "UNSIGNED-PAYLOAD"; NULL: hash body */
  const char *region;
  const char *service;
  const char *amz_date;           /* "YYYYMMDDTHHMMSSZ"; NULL: format the signer's clock */
  struct es_credentials creds;
  enum es_sigv4_placement placement;
  long expires;                   /* query placement: X-Amz-Expires, 1..604800 */
  unsigned flags;                 /* ES_SIGV4_* */
};

/* Result of a signing. Every string is NUL-terminated and owned by the result. */
struct es_sigv4_result {
  struct es_buf canonical_request;
  struct es_buf string_to_sign;
  char signature[65];             /* lower-case hex */
  char amz_date[17];
  /* Header placement: the ordered headers to send: the caller's headers, then
     X-Amz-Security-Token, X-Amz-Date, x-amz-content-sha256 as applicable, then
     Authorization (the order of the aws-c-auth suite's signed requests).
     Query placement: the caller's headers, unchanged.
     Pointers refer into 'storage'; every name and value is NUL-terminated. */
  struct es_header *headers;
  size_t n_headers;
  /* The request-target to send. Query placement: the caller's target with
     X-Amz-Algorithm, -Credential, -Date, -SignedHeaders, -Expires,
     [-Security-Token], -Signature appended (aws-c-auth's order; the caller's
     own query keeps its bytes and order). Header placement: the caller's
     target, unchanged. */
  struct es_buf target;
  struct es_buf storage;          /* backing store for 'headers' */
};

struct es_sigv4_signer;

/* Create a signer. key_cache_size bounds the derived-key cache (0 -> default 16). NULL on ENOMEM/crypto failure. */
struct es_sigv4_signer *es_sigv4_signer_new(size_t key_cache_size);
void es_sigv4_signer_free(struct es_sigv4_signer *s);
void es_sigv4_set_clock(struct es_sigv4_signer *s, es_clock_fn fn, void *ud);

/* Sign. Returns ES_OK or a negative ES_E* code (ES_EINVAL on bad input, ES_ERANGE
   for a bad expiry). On failure the result holds nothing that needs freeing beyond
   es_sigv4_result_free(), which is always safe to call.
   'out' must have been set up with es_sigv4_result_init() (or hold an earlier
   result): signing into the same result again reuses its memory, so a retry
   loop or an engine can keep one result per signer and allocate nothing. */
int es_sigv4_sign(struct es_sigv4_signer *s, const struct es_sigv4_request *req,
                  struct es_sigv4_result *out);
void es_sigv4_result_init(struct es_sigv4_result *r);
void es_sigv4_result_free(struct es_sigv4_result *r);

/* Format t as "YYYYMMDDTHHMMSSZ" (UTC) into out[17] ("" if the year is outside 0..9999). */
void es_sigv4_format_time(time_t t, char out[17]);

/* Hex SHA-256 of data into out[65] using the signer's fetched digest. */
int es_sigv4_sha256_hex(struct es_sigv4_signer *s, const void *data, size_t len, char out[65]);

/* UriEncode (AWS rules: unreserved A-Za-z0-9-._~ kept, upper-case hex); keep_slash keeps '/'. */
int es_uri_encode(struct es_buf *out, const char *s, size_t n, int keep_slash);

/* Number of derived-key cache hits/misses since creation (for tests and benchmarks). */
void es_sigv4_cache_stats(const struct es_sigv4_signer *s, unsigned long *hits, unsigned long *misses);

#endif
