/* digest.c: SHA-256 and random bytes (OpenSSL). */
#include "digest.h"

#include "es_error.h"

#include <limits.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

int es_sha256_hex(const void *data, size_t len, char out[65])
{
  static const char hex[] = "0123456789abcdef";
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0, i;
  if(!out || (!data && len))
    return ES_EINVAL;
  if(!EVP_Digest(data ? data : "", len, md, &n, EVP_sha256(), NULL) || n != 32)
    return ES_ECRYPTO;
  for(i = 0; i < n; i++) {
    out[2 * i] = hex[md[i] >> 4];
    out[2 * i + 1] = hex[md[i] & 15];
  }
  out[64] = '\0';
  return ES_OK;
}

int es_random_bytes(unsigned char *buf, size_t n)
{
  while(n > 0) {
    int chunk = n > (size_t)INT_MAX ? INT_MAX : (int)n;
    if(RAND_bytes(buf, chunk) != 1)
      return ES_ECRYPTO;
    buf += chunk;
    n -= (size_t)chunk;
  }
  return ES_OK;
}
