/*
 * digest.h: SHA-256 and random bytes for the Lua layer's documents.
 *
 * Plans carry a fingerprint of each cluster's state and an id derived from
 * their content; journals and idempotency tokens need unpredictable bytes.
 * Both come from OpenSSL (EVP_Digest, RAND_bytes), never from a Lua PRNG.
 */
#ifndef ES_DIGEST_H
#define ES_DIGEST_H

#include <stddef.h>

/* Lower-case hex SHA-256 of data into out (65 bytes with the NUL).
   Returns ES_OK, ES_EINVAL (NULL data with len > 0, NULL out) or ES_ECRYPTO. */
int es_sha256_hex(const void *data, size_t len, char out[65]);

/* Fill buf with n cryptographically random bytes. ES_OK or ES_ECRYPTO. */
int es_random_bytes(unsigned char *buf, size_t n);

#endif
