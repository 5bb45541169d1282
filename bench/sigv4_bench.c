/*
 * sigv4_bench.c: throughput of the SigV4 signer against a minimal reference.
 *
 * Build and run from the repository root (after `make`, which produces
 * build/libeksegress_core.a):
 *
 *   cc -std=c11 -D_GNU_SOURCE -O2 -Icsrc/core bench/sigv4_bench.c build/libeksegress_core.a \
 *      $(pkg-config --libs libcrypto) -o build/sigv4_bench && build/sigv4_bench
 *
 * (`make bench` builds it as $(BUILD)/bench/sigv4_bench through bench/run.sh.)
 *
 * Optional arguments: seconds per measurement (default 1.0; each side gets
 * that much in total, split into alternating rounds) and the number of
 * rounds (default 5). bench/run.sh runs `sigv4_bench 2 1` once per round and
 * alternates it with the Lua benchmark, keeping the best of each.
 *
 * Workload: the typical EKS call, POST /clusters/prod/update-config with a
 * 200-byte JSON body, headers Host and Content-Type, X-Amz-Date from the
 * (injected) clock, a session token (signed), derived key cached.
 *
 *  (a) core:      es_sigv4_sign() with one signer and one reused result
 *                 (validation, canonicalization, key-cache lookup, result
 *                 headers: everything a caller gets).
 *  (b) reference: only the hashing SigV4 cannot avoid, with fetched EVP
 *                 objects and no canonicalization at all: SHA-256 of the body
 *                 (hex written into a pre-built canonical request), SHA-256 of
 *                 that canonical request (hex written into a pre-built string
 *                 to sign), one HMAC of the string to sign with the
 *                 precomputed signing key (EVP_MAC_init with the key).
 *  (c) keyed reference: as (b), but the HMAC context is keyed once and only
 *                 re-initialized per signature (saves the two key-setup
 *                 compressions). The core does the same through its key cache,
 *                 so this is the strictest possible baseline; informational.
 *
 * Output (machine-readable, one "key value" per line; ratios are cost ratios,
 * reference rate / core rate, so 1.00 = as fast as the reference):
 *   sigv4_core_per_sec N
 *   sigv4_reference_per_sec N
 *   ratio_core_vs_reference X
 *   sigv4_reference_keyed_per_sec N
 *   ratio_core_vs_reference_keyed X
 *   signature HEX              (the core's; bench/sigv4_lua.lua prints its own
 *                               so the report can prove both signed the same)
 *   openssl_version TEXT       (OpenSSL's runtime version string)
 * Lines starting with '#' are comments. Exit status 1 if a reference and the
 * core disagree on the signature, or a signing fails.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "es_error.h"
#include "sigv4.h"

#define DEFAULT_ROUNDS 5

#define BODY                                                                                     \
  "{\"resourcesVpcConfig\":{\"controlPlaneEgressMode\":\"PRIVATE\",\"endpointPrivateAccess\":"   \
  "true,\"endpointPublicAccess\":false},\"clientRequestToken\":\"8f14e45f-ceea-467f-a0e6-"       \
  "1b2c3d4e5f60\",\"tags\":{\"a\":\"b\"}      }"
/* An STS session token of realistic length (900 characters; AssumeRole and
   web-identity tokens run 800-1200). It is signed, so it is part of the
   canonical request that both sides hash. */
#define TOKEN_UNIT "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLXdlc3QtMiJHMEUCIQDexample+token/part=="
#define TOKEN                                                                                    \
  TOKEN_UNIT TOKEN_UNIT TOKEN_UNIT TOKEN_UNIT TOKEN_UNIT TOKEN_UNIT TOKEN_UNIT TOKEN_UNIT        \
    TOKEN_UNIT TOKEN_UNIT TOKEN_UNIT TOKEN_UNIT

static double now_sec(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static time_t fixed_clock(void *ud)
{
  return *(const time_t *)ud;
}

static const char hexlc[] = "0123456789abcdef";

static void to_hex(const unsigned char *in, size_t n, char *out)
{
  size_t i;
  for(i = 0; i < n; i++) {
    out[2 * i] = hexlc[in[i] >> 4];
    out[2 * i + 1] = hexlc[in[i] & 15];
  }
}

/* ---- reference ---- */

struct ref {
  EVP_MD *md;
  EVP_MAC *mac;
  EVP_MD_CTX *mdctx;
  EVP_MAC_CTX *keyed;      /* HMAC keyed once with kSigning */
  EVP_MAC_CTX *plain;      /* for the rekey variant */
  unsigned char ksig[32];
  char *creq;              /* pre-built canonical request; last 64 bytes = body hash */
  size_t creq_len;
  char sts[256];           /* pre-built string to sign; last 64 bytes = creq hash */
  size_t sts_len;
  char sig[65];
};

static int hmac(EVP_MAC_CTX *c, const void *k, size_t kl, const void *d, size_t dl, unsigned char out[32])
{
  size_t ol = 0;
  return EVP_MAC_init(c, k, kl, NULL) && EVP_MAC_update(c, d, dl) && EVP_MAC_final(c, out, &ol, 32);
}

static int ref_init(struct ref *r, const char *creq, const char *sts, const char *secret,
                    const char *date8, const char *region, const char *service)
{
  OSSL_PARAM params[2];
  char digest[] = "SHA256";
  unsigned char k[32], k2[32];
  char k0[128];

  memset(r, 0, sizeof(*r));
  r->md = EVP_MD_fetch(NULL, "SHA256", NULL);
  r->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
  r->mdctx = EVP_MD_CTX_new();
  if(!r->md || !r->mac || !r->mdctx)
    return -1;
  r->plain = EVP_MAC_CTX_new(r->mac);
  if(!r->plain)
    return -1;
  params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0);
  params[1] = OSSL_PARAM_construct_end();
  if(!EVP_MAC_CTX_set_params(r->plain, params))
    return -1;
  snprintf(k0, sizeof(k0), "AWS4%s", secret);
  if(!hmac(r->plain, k0, strlen(k0), date8, 8, k) ||
     !hmac(r->plain, k, 32, region, strlen(region), k2) ||
     !hmac(r->plain, k2, 32, service, strlen(service), k) ||
     !hmac(r->plain, k, 32, "aws4_request", 12, r->ksig))
    return -1;
  OPENSSL_cleanse(k0, sizeof(k0));
  r->keyed = EVP_MAC_CTX_dup(r->plain);
  if(!r->keyed || !EVP_MAC_init(r->keyed, r->ksig, 32, NULL))
    return -1;
  r->creq_len = strlen(creq);
  r->creq = malloc(r->creq_len + 1);
  r->sts_len = strlen(sts);
  if(!r->creq || r->sts_len >= sizeof(r->sts))
    return -1;
  memcpy(r->creq, creq, r->creq_len + 1);
  memcpy(r->sts, sts, r->sts_len + 1);
  return 0;
}

static void ref_free(struct ref *r)
{
  EVP_MAC_CTX_free(r->keyed);
  EVP_MAC_CTX_free(r->plain);
  EVP_MD_CTX_free(r->mdctx);
  EVP_MAC_free(r->mac);
  EVP_MD_free(r->md);
  OPENSSL_cleanse(r->ksig, sizeof(r->ksig));
  free(r->creq);
}

static int ref_sign(struct ref *r, const char *body, size_t body_len, int rekey)
{
  unsigned char md[32];
  unsigned int mdl;
  size_t ol;
  if(!EVP_DigestInit_ex(r->mdctx, r->md, NULL) || !EVP_DigestUpdate(r->mdctx, body, body_len) ||
     !EVP_DigestFinal_ex(r->mdctx, md, &mdl))
    return -1;
  to_hex(md, 32, r->creq + r->creq_len - 64);
  if(!EVP_DigestInit_ex(r->mdctx, r->md, NULL) || !EVP_DigestUpdate(r->mdctx, r->creq, r->creq_len) ||
     !EVP_DigestFinal_ex(r->mdctx, md, &mdl))
    return -1;
  to_hex(md, 32, r->sts + r->sts_len - 64);
  if(rekey) {
    if(!EVP_MAC_init(r->plain, r->ksig, 32, NULL))
      return -1;
  }
  else if(!EVP_MAC_init(r->keyed, NULL, 0, NULL)) {
    return -1;
  }
  if(!EVP_MAC_update(rekey ? r->plain : r->keyed, (const unsigned char *)r->sts, r->sts_len) ||
     !EVP_MAC_final(rekey ? r->plain : r->keyed, md, &ol, 32))
    return -1;
  to_hex(md, 32, r->sig);
  r->sig[64] = '\0';
  return 0;
}

/* ---- driver ---- */

struct core_ctx {
  struct es_sigv4_signer *s;
  struct es_sigv4_request *req;
  struct es_sigv4_result *res;
};

static double run_core(struct core_ctx *c, double secs)
{
  unsigned long n = 0;
  double t0 = now_sec(), t;
  do {
    int i;
    for(i = 0; i < 256; i++) {
      if(es_sigv4_sign(c->s, c->req, c->res) != ES_OK)
        return -1;
    }
    n += 256;
    t = now_sec() - t0;
  } while(t < secs);
  return (double)n / t;
}

static double run_ref(struct ref *r, double secs, int rekey)
{
  unsigned long n = 0;
  double t0 = now_sec(), t;
  do {
    int i;
    for(i = 0; i < 256; i++) {
      if(ref_sign(r, BODY, sizeof(BODY) - 1, rekey))
        return -1;
    }
    n += 256;
    t = now_sec() - t0;
  } while(t < secs);
  return (double)n / t;
}

int main(int argc, char **argv)
{
  double secs = argc > 1 ? atof(argv[1]) : 1.0;
  int rounds = argc > 2 ? atoi(argv[2]) : DEFAULT_ROUNDS;
  time_t t = 1773480413;   /* 2026-03-14T09:26:53Z */
  struct es_header h[2] = {
    {"Host", 4, "eks.us-west-2.amazonaws.com", 27},
    {"Content-Type", 12, "application/json", 16},
  };
  struct es_sigv4_request req;
  struct es_sigv4_result res;
  struct core_ctx c;
  struct ref r;
  double core_rate, ref_rate, keyed_rate;
  int i, status = 0;

  if(secs <= 0)
    secs = 1.0;
  if(rounds < 1)
    rounds = DEFAULT_ROUNDS;
  memset(&req, 0, sizeof(req));
  req.method = "POST";
  req.target = "/clusters/prod/update-config";
  req.target_len = strlen(req.target);
  req.headers = h;
  req.n_headers = 2;
  req.body = BODY;
  req.body_len = sizeof(BODY) - 1;
  req.region = "us-west-2";
  req.service = "eks";
  req.creds.access_key_id = "AKIDEXAMPLE";
  req.creds.secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
  req.creds.session_token = TOKEN;
  req.placement = ES_SIGV4_HEADER;
  req.flags = ES_SIGV4_DEFAULT_FLAGS;

  c.s = es_sigv4_signer_new(0);
  if(!c.s) {
    fprintf(stderr, "signer_new failed\n");
    return 1;
  }
  es_sigv4_set_clock(c.s, fixed_clock, &t);
  es_sigv4_result_init(&res);
  c.req = &req;
  c.res = &res;
  if(es_sigv4_sign(c.s, &req, &res) != ES_OK) {
    fprintf(stderr, "sign failed\n");
    return 1;
  }
  if(ref_init(&r, res.canonical_request.data, res.string_to_sign.data, req.creds.secret_access_key,
              "20260314", req.region, req.service)) {
    fprintf(stderr, "reference init failed\n");
    return 1;
  }
  if(ref_sign(&r, BODY, sizeof(BODY) - 1, 0) || strcmp(r.sig, res.signature) != 0) {
    fprintf(stderr, "reference (keyed) and core signatures differ\n");
    status = 1;
  }
  printf("# body %zu bytes, canonical request %zu bytes, token %zu bytes\n", sizeof(BODY) - 1,
         res.canonical_request.len, strlen(TOKEN));

  if(ref_sign(&r, BODY, sizeof(BODY) - 1, 1) || strcmp(r.sig, res.signature) != 0) {
    fprintf(stderr, "reference (rekey) and core signatures differ\n");
    status = 1;
  }

  /* Warm up, then alternate short runs of each and keep the best of each, so
     a noisy neighbour on the machine hurts no side more than another. */
  run_core(&c, secs / 10);
  run_ref(&r, secs / 10, 0);
  run_ref(&r, secs / 10, 1);
  core_rate = ref_rate = keyed_rate = 0;
  for(i = 0; i < rounds; i++) {
    double a = run_core(&c, secs / rounds), b = run_ref(&r, secs / rounds, 1),
           k = run_ref(&r, secs / rounds, 0);
    if(a < 0 || b < 0 || k < 0) {
      core_rate = -1;
      break;
    }
    if(a > core_rate)
      core_rate = a;
    if(b > ref_rate)
      ref_rate = b;
    if(k > keyed_rate)
      keyed_rate = k;
  }
  if(core_rate <= 0 || ref_rate <= 0 || keyed_rate <= 0) {
    fprintf(stderr, "signing failed during the run\n");
    status = 1;
  }
  else {
    printf("sigv4_core_per_sec %.0f\n", core_rate);
    printf("sigv4_reference_per_sec %.0f\n", ref_rate);
    printf("ratio_core_vs_reference %.3f\n", ref_rate / core_rate);
    printf("sigv4_reference_keyed_per_sec %.0f\n", keyed_rate);
    printf("ratio_core_vs_reference_keyed %.3f\n", keyed_rate / core_rate);
  }
  printf("signature %s\n", res.signature);
  printf("openssl_version %s\n", OpenSSL_version(OPENSSL_VERSION));
  ref_free(&r);
  es_sigv4_result_free(&res);
  es_sigv4_signer_free(c.s);
  return status;
}
