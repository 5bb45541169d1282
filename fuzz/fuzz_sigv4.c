/* fuzz-sources: sigv4.c sigv4_canon.c sigv4_keycache.c es_buf.c es_error.c */
/*
 * fuzz_sigv4.c: libFuzzer target for SigV4 canonicalization and signing
 * (csrc/core/sigv4_canon.c, sigv4.c, sigv4_keycache.c).
 *
 * Input layout: byte 0 flags (bit0 normalize the path, bit1 double-encode,
 * bit2 query placement, bit3 a session token, bit4 sign the body, bits5-7
 * pick one of eight secret keys, so the derived-key cache is hit, missed and
 * evicted); then fields separated by the byte 0xFF: the path, the query, the
 * body, then header name / value pairs.
 *
 * Each piece is checked against a reference written here, independently of
 * the signer, after the rules in /work/shared/docs/aws-wire.md (and botocore):
 *   - path: remove_dot_segments (empty and "." segments dropped, ".." pops,
 *     a trailing slash kept when something remains), then UriEncode once more
 *     (double_encode);
 *   - query: split on '&' (empty pairs dropped), each pair on its first '=',
 *     percent-decode (an invalid escape stays literal), UriEncode, sort by
 *     name then value (bytes);
 *   - headers: names lower-cased, values trimmed with runs of SP/HT/CR/LF
 *     collapsed to one space, stable-sorted by name, repeats joined with ','.
 * Then the whole signer: every request it signs must have a canonical request
 * made of exactly those pieces, and a signature equal to one computed here
 * from the canonical request with one-shot OpenSSL HMACs (so a derived-key
 * cache that handed out the key of another secret, date, region or service
 * would be caught). Signing the same request twice gives the same signature.
 * Any violation aborts.
 */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "es_buf.h"
#include "es_error.h"
#include "sigv4.h"
#include "sigv4_canon.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FAIL(why) do { fprintf(stderr, "sigv4 oracle violated: %s\n", why); abort(); } while(0)
#define MAX_FIELDS 40
#define DATE "20260115T093000Z"

struct field {
  const char *p;
  size_t n;
};

/* ---- references ---------------------------------------------------------- */

static int ref_hex(int c)
{
  if(c >= '0' && c <= '9')
    return c - '0';
  if(c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if(c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

static int unreserved(unsigned char c, int keep_slash)
{
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~' || (keep_slash && c == '/');
}

static void ref_encode(struct es_buf *out, const char *s, size_t n, int keep_slash)
{
  static const char hx[] = "0123456789ABCDEF";
  for(size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if(unreserved(c, keep_slash))
      es_buf_putc(out, (char)c);
    else {
      char e[3] = {'%', hx[c >> 4], hx[c & 15]};
      es_buf_append(out, e, 3);
    }
  }
}

static void ref_decode(struct es_buf *out, const char *s, size_t n)
{
  for(size_t i = 0; i < n; i++) {
    if(s[i] == '%' && i + 2 < n && ref_hex((unsigned char)s[i + 1]) >= 0 &&
       ref_hex((unsigned char)s[i + 2]) >= 0) {
      es_buf_putc(out, (char)(ref_hex((unsigned char)s[i + 1]) * 16 + ref_hex((unsigned char)s[i + 2])));
      i += 2;
    }
    else
      es_buf_putc(out, s[i]);
  }
}

/* botocore's remove_dot_segments on a path that starts with '/'. */
static void ref_normalize(struct es_buf *out, const char *p, size_t n)
{
  size_t segs[512][2], ns = 0, i = 0;
  if(n == 0) {
    es_buf_putc(out, '/');
    return;
  }
  while(i <= n) {
    size_t j = i;
    while(j < n && p[j] != '/')
      j++;
    if(j > i && !(j - i == 1 && p[i] == '.')) {
      if(j - i == 2 && p[i] == '.' && p[i + 1] == '.') {
        if(ns)
          ns--;
      }
      else if(ns < 512) {
        segs[ns][0] = i;
        segs[ns][1] = j - i;
        ns++;
      }
    }
    i = j + 1;
  }
  es_buf_putc(out, '/');
  for(i = 0; i < ns; i++) {
    if(i)
      es_buf_putc(out, '/');
    es_buf_append(out, p + segs[i][0], segs[i][1]);
  }
  if(ns && p[n - 1] == '/')
    es_buf_putc(out, '/');
}

static int count_segments(const char *p, size_t n)
{
  int k = 0;
  for(size_t i = 0; i < n; i++)
    k += p[i] == '/';
  return k;
}

static void ref_path(struct es_buf *out, const char *p, size_t n, int normalize, int dbl)
{
  struct es_buf tmp = ES_BUF_INIT;
  if(normalize)
    ref_normalize(&tmp, p, n);
  else if(n == 0)
    es_buf_putc(&tmp, '/');
  else
    es_buf_append(&tmp, p, n);
  if(dbl)
    ref_encode(out, tmp.data, tmp.len, 1);
  else
    es_buf_append(out, tmp.data, tmp.len);
  es_buf_free(&tmp);
}

struct kv {
  struct es_buf k, v;
  size_t seq;
};

static int kv_cmp_bytes(const struct es_buf *a, const struct es_buf *b)
{
  size_t m = a->len < b->len ? a->len : b->len;
  int c = m ? memcmp(a->data, b->data, m) : 0;
  if(c)
    return c;
  return a->len < b->len ? -1 : a->len > b->len;
}

static int q_cmp(const void *x, const void *y)
{
  const struct kv *a = x, *b = y;
  int c = kv_cmp_bytes(&a->k, &b->k);
  return c ? c : kv_cmp_bytes(&a->v, &b->v);
}

static int h_cmp(const void *x, const void *y)
{
  const struct kv *a = x, *b = y;
  int c = kv_cmp_bytes(&a->k, &b->k);
  return c ? c : (a->seq < b->seq ? -1 : a->seq > b->seq);
}

static void kv_free(struct kv *v, size_t n)
{
  for(size_t i = 0; i < n; i++) {
    es_buf_free(&v[i].k);
    es_buf_free(&v[i].v);
  }
  free(v);
}

/* The canonical query of s[0..n). */
static void ref_query(struct es_buf *out, const char *s, size_t n)
{
  size_t cap = n / 2 + 2, k = 0, i = 0;
  struct kv *v = calloc(cap, sizeof(*v));
  if(!v)
    abort();
  while(i <= n && n) {
    size_t j = i, eq;
    while(j < n && s[j] != '&')
      j++;
    if(j > i) {
      struct es_buf d = ES_BUF_INIT;
      eq = i;
      while(eq < j && s[eq] != '=')
        eq++;
      ref_decode(&d, s + i, eq - i);
      ref_encode(&v[k].k, d.data ? d.data : "", d.len, 0);
      es_buf_reset(&d);
      if(eq < j)
        ref_decode(&d, s + eq + 1, j - eq - 1);
      ref_encode(&v[k].v, d.data ? d.data : "", d.len, 0);
      es_buf_append(&v[k].k, "", 0);
      es_buf_append(&v[k].v, "", 0);
      es_buf_free(&d);
      k++;
    }
    i = j + 1;
  }
  qsort(v, k, sizeof(*v), q_cmp);
  for(i = 0; i < k; i++) {
    if(i)
      es_buf_putc(out, '&');
    es_buf_append(out, v[i].k.data ? v[i].k.data : "", v[i].k.len);
    es_buf_putc(out, '=');
    es_buf_append(out, v[i].v.data ? v[i].v.data : "", v[i].v.len);
  }
  es_buf_append(out, "", 0);
  kv_free(v, cap);
}

static int is_ws(unsigned char c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void ref_header_value(struct es_buf *out, const char *s, size_t n)
{
  size_t a = 0, b = n;
  int pending = 0;
  while(a < b && is_ws((unsigned char)s[a]))
    a++;
  while(b > a && is_ws((unsigned char)s[b - 1]))
    b--;
  for(size_t i = a; i < b; i++) {
    if(is_ws((unsigned char)s[i])) {
      pending = 1;
      continue;
    }
    if(pending)
      es_buf_putc(out, ' ');
    pending = 0;
    es_buf_putc(out, s[i]);
  }
}

/* Canonical header block and signed-header list of the given headers. */
static void ref_headers(struct es_buf *block, struct es_buf *names, const struct es_header *h, size_t n)
{
  struct kv *v = calloc(n + 1, sizeof(*v));
  size_t i;
  if(!v)
    abort();
  for(i = 0; i < n; i++) {
    for(size_t c = 0; c < h[i].name_len; c++) {
      char ch = h[i].name[c];
      es_buf_putc(&v[i].k, (char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch));
    }
    ref_header_value(&v[i].v, h[i].value, h[i].value_len);
    v[i].seq = i;
  }
  qsort(v, n, sizeof(*v), h_cmp);
  for(i = 0; i < n; i++) {
    int same = i > 0 && kv_cmp_bytes(&v[i].k, &v[i - 1].k) == 0;
    if(same)
      es_buf_putc(block, ',');
    else {
      if(i)
        es_buf_putc(block, '\n');
      es_buf_append(block, v[i].k.data ? v[i].k.data : "", v[i].k.len);
      es_buf_putc(block, ':');
      if(i)
        es_buf_putc(names, ';');
      es_buf_append(names, v[i].k.data ? v[i].k.data : "", v[i].k.len);
    }
    es_buf_append(block, v[i].v.data ? v[i].v.data : "", v[i].v.len);
  }
  if(n)
    es_buf_putc(block, '\n');
  es_buf_append(block, "", 0);
  es_buf_append(names, "", 0);
  kv_free(v, n + 1);
}

static void must_equal(const struct es_buf *got, const struct es_buf *want, const char *what)
{
  if(got->len != want->len || memcmp(got->data ? got->data : "", want->data ? want->data : "", got->len)) {
    fprintf(stderr, "%s\n got: %.*s\nwant: %.*s\n", what, (int)got->len, got->data ? got->data : "",
            (int)want->len, want->data ? want->data : "");
    FAIL(what);
  }
}

/* ---- unit checks ------------------------------------------------------------ */

static void check_path(const char *p, size_t n, int normalize, int dbl)
{
  struct es_buf got = ES_BUF_INIT, want = ES_BUF_INIT, tmp = ES_BUF_INIT;
  if(count_segments(p, n) >= 512)
    return;
  if(es_sv4_canon_path(&got, p, n, normalize, dbl, &tmp) != ES_OK)
    FAIL("canon_path failed");
  ref_path(&want, p, n, normalize, dbl);
  must_equal(&got, &want, "canonical path differs from the reference");
  if(normalize && !dbl) {
    /* Normalizing a normal path changes nothing. */
    struct es_buf again = ES_BUF_INIT;
    if(es_sv4_canon_path(&again, got.data, got.len, 1, 0, &tmp) != ES_OK)
      FAIL("canon_path failed on its own output");
    must_equal(&again, &got, "normalization is not idempotent");
    es_buf_free(&again);
  }
  es_buf_free(&got);
  es_buf_free(&want);
  es_buf_wipe_free(&tmp);
}

static void check_query(const char *s, size_t n)
{
  struct es_sv4_qlist q;
  struct es_buf got = ES_BUF_INIT, want = ES_BUF_INIT;
  memset(&q, 0, sizeof(q));
  if(es_sv4_qlist_parse(&q, s, n) != ES_OK || es_sv4_qlist_emit(&q, &got) != ES_OK)
    FAIL("query parse or emit failed");
  if(!got.data)
    es_buf_append(&got, "", 0);
  ref_query(&want, s, n);
  must_equal(&got, &want, "canonical query differs from the reference");
  /* The canonical form is a fixed point. */
  es_sv4_qlist_reset(&q);
  es_buf_reset(&want);
  if(es_sv4_qlist_parse(&q, got.data, got.len) != ES_OK || es_sv4_qlist_emit(&q, &want) != ES_OK)
    FAIL("query parse or emit failed on its own output");
  if(!want.data)
    es_buf_append(&want, "", 0);
  must_equal(&want, &got, "canonical query is not a fixed point");
  es_sv4_qlist_free(&q);
  es_buf_free(&got);
  es_buf_free(&want);
}

static void check_headers(const struct es_header *h, size_t n)
{
  struct es_sv4_hlist hl;
  struct es_buf names = ES_BUF_INIT, block = ES_BUF_INIT, rnames = ES_BUF_INIT, rblock = ES_BUF_INIT;
  size_t room;
  memset(&hl, 0, sizeof(hl));
  for(size_t i = 0; i < n; i++)
    if(es_sv4_hlist_add(&hl, h[i].name, h[i].name_len, h[i].value, h[i].value_len) != ES_OK)
      FAIL("hlist_add failed");
  if(es_sv4_hlist_sort_names(&hl, &names) != ES_OK)
    FAIL("sort_names failed");
  if(!names.data)
    es_buf_append(&names, "", 0);
  room = es_sv4_hlist_block_size(&hl);
  if(es_buf_reserve(&block, room) != ES_OK)
    FAIL("harness out of memory");
  es_sv4_hlist_block(&hl, &block);
  if(block.len > room)
    FAIL("the header block overran its announced size");
  ref_headers(&rblock, &rnames, h, n);
  must_equal(&names, &rnames, "signed headers differ from the reference");
  must_equal(&block, &rblock, "canonical headers differ from the reference");
  es_sv4_hlist_free(&hl);
  es_buf_free(&names);
  es_buf_free(&block);
  es_buf_free(&rnames);
  es_buf_free(&rblock);
}

/* ---- the whole signer ------------------------------------------------------- */

static const char *const secrets[8] = {
  "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEZ",
  "s", "s2", "0123456789012345678901234567890123456789012345678901234567890123456789",
  "x", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY/longer", "y",
};

static void hmac(const unsigned char *key, size_t klen, const char *msg, size_t mlen, unsigned char out[32])
{
  unsigned int ol = 0;
  if(!HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg, mlen, out, &ol) || ol != 32)
    FAIL("reference HMAC failed");
}

static void hex(const unsigned char *in, size_t n, char *out)
{
  static const char hx[] = "0123456789abcdef";
  for(size_t i = 0; i < n; i++) {
    out[2 * i] = hx[in[i] >> 4];
    out[2 * i + 1] = hx[in[i] & 15];
  }
  out[2 * n] = '\0';
}

/* The signature of a canonical request, from scratch. */
static void ref_signature(const char *secret, const char *region, const char *service,
                          const struct es_buf *creq, char out[65])
{
  unsigned char k[32], h[32];
  char k0[200], sts[400], hh[65];
  int n;
  SHA256((const unsigned char *)creq->data, creq->len, h);
  hex(h, 32, hh);
  n = snprintf(sts, sizeof(sts), "AWS4-HMAC-SHA256\n%s\n%.8s/%s/%s/aws4_request\n%s", DATE, DATE, region,
               service, hh);
  snprintf(k0, sizeof(k0), "AWS4%s", secret);
  hmac((const unsigned char *)k0, strlen(k0), DATE, 8, k);
  hmac(k, 32, region, strlen(region), k);
  hmac(k, 32, service, strlen(service), k);
  hmac(k, 32, "aws4_request", 12, k);
  hmac(k, 32, sts, (size_t)n, h);
  hex(h, 32, out);
}

static struct es_sigv4_signer *signer;

static void check_sign(unsigned flags, const struct field *f, size_t nf, const struct es_header *fh, size_t nfh)
{
  struct es_header hdrs[MAX_FIELDS];
  struct es_sigv4_request req;
  struct es_sigv4_result res, res2;
  struct es_buf target = ES_BUF_INIT, want = ES_BUF_INIT, blk = ES_BUF_INIT, names = ES_BUF_INIT;
  const char *secret = secrets[(flags >> 5) & 7];
  const char *token = (flags & 8) ? "FwoGZXIvYXdzEJr//////////wEaDFuzzToken+/=" : NULL;
  int query = (flags & 4) != 0;
  char sig[65];
  size_t nh = 0;
  int rc;

  es_buf_putc(&target, '/');
  es_buf_append(&target, f[0].p, f[0].n);
  if(nf > 1) {
    es_buf_putc(&target, '?');
    es_buf_append(&target, f[1].p, f[1].n);
  }
  hdrs[nh++] = (struct es_header){"Host", 4, "eks.us-east-1.amazonaws.com", 27};
  for(size_t i = 0; i < nfh && nh < MAX_FIELDS; i++)
    hdrs[nh++] = fh[i];

  memset(&req, 0, sizeof(req));
  req.method = "POST";
  req.target = target.data;
  req.target_len = target.len;
  req.headers = hdrs;
  req.n_headers = nh;
  req.body = nf > 2 ? f[2].p : NULL;
  req.body_len = nf > 2 ? f[2].n : 0;
  req.region = (flags & 0x20) ? "eu-west-1" : "us-east-1";
  req.service = (flags & 0x40) ? "sts" : "eks";
  req.amz_date = DATE;
  req.creds.access_key_id = "AKIDEXAMPLE";
  req.creds.secret_access_key = secret;
  req.creds.session_token = token;
  req.placement = query ? ES_SIGV4_QUERY : ES_SIGV4_HEADER;
  req.expires = 300;
  req.flags = (flags & 1 ? ES_SIGV4_NORMALIZE_PATH : 0) | (flags & 2 ? ES_SIGV4_DOUBLE_ENCODE : 0) |
              (flags & 16 ? ES_SIGV4_SIGN_BODY : 0);

  es_sigv4_result_init(&res);
  es_sigv4_result_init(&res2);
  rc = es_sigv4_sign(signer, &req, &res);
  if(rc != ES_OK && rc != ES_EINVAL)
    FAIL("sign returned an unexpected code");
  if(rc == ES_OK && count_segments(target.data, target.len) < 512) {
    const char *cr = res.canonical_request.data;
    const char *l1 = strchr(cr, '\n'), *l2 = l1 ? strchr(l1 + 1, '\n') : NULL;
    const char *l3 = l2 ? strchr(l2 + 1, '\n') : NULL;
    const char *qm = memchr(target.data, '?', target.len);
    size_t plen = qm ? (size_t)(qm - target.data) : target.len;
    struct es_buf got = ES_BUF_INIT;
    if(!l3 || strncmp(cr, "POST\n", 5) != 0)
      FAIL("canonical request has no method, path and query lines");
    ref_path(&want, target.data, plen, flags & 1, (flags & 2) != 0);
    es_buf_append(&got, l1 + 1, (size_t)(l2 - l1 - 1));
    must_equal(&got, &want, "the signer's canonical path differs from the reference");
    if(!query) {
      es_buf_reset(&want);
      es_buf_reset(&got);
      ref_query(&want, qm ? qm + 1 : "", qm ? target.len - plen - 1 : 0);
      es_buf_append(&got, l2 + 1, (size_t)(l3 - l2 - 1));
      must_equal(&got, &want, "the signer's canonical query differs from the reference");
    }
    if(!query && !(flags & 16) && !token) {
      /* The header block: the caller's signed headers plus x-amz-date. */
      struct es_header all[MAX_FIELDS + 1];
      size_t k = 0;
      int have_date = 0;
      for(size_t i = 0; i < nh; i++) {
        static const char *const skip[] = {"te", "expect", "upgrade", "trailer", "connection", "user-agent",
                                           "keep-alive", "x-amzn-trace-id", "transfer-encoding",
                                           "sec-websocket-key", "proxy-authenticate", "proxy-authorization",
                                           "sec-websocket-version", "sec-websocket-protocol", NULL};
        int skipped = 0;
        for(int s = 0; skip[s]; s++)
          if(strlen(skip[s]) == hdrs[i].name_len && strncasecmp(skip[s], hdrs[i].name, hdrs[i].name_len) == 0)
            skipped = 1;
        if(hdrs[i].name_len == 10 && strncasecmp(hdrs[i].name, "x-amz-date", 10) == 0)
          have_date = 1;
        if(!skipped)
          all[k++] = hdrs[i];
      }
      if(!have_date)
        all[k++] = (struct es_header){"x-amz-date", 10, DATE, 16};
      ref_headers(&blk, &names, all, k);
      if(strncmp(l3 + 1, blk.data, blk.len) != 0)
        FAIL("the signer's canonical headers differ from the reference");
    }
    ref_signature(secret, req.region, req.service, &res.canonical_request, sig);
    if(strcmp(sig, res.signature) != 0)
      FAIL("signature differs from the one computed from scratch");
    if(es_sigv4_sign(signer, &req, &res2) != ES_OK || strcmp(res.signature, res2.signature) != 0)
      FAIL("signing the same request twice gave another signature");
    es_buf_free(&got);
  }
  es_sigv4_result_free(&res);
  es_sigv4_result_free(&res2);
  es_buf_free(&target);
  es_buf_free(&want);
  es_buf_free(&blk);
  es_buf_free(&names);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct field f[MAX_FIELDS];
  struct es_header h[MAX_FIELDS / 2];
  size_t nf = 0, nh = 0, i;
  const char *p, *end;
  unsigned flags;
  struct es_buf path = ES_BUF_INIT;

  if(size < 1)
    return 0;
  if(!signer) {
    signer = es_sigv4_signer_new(4);
    if(!signer)
      abort();
  }
  flags = data[0];
  p = (const char *)data + 1;
  end = (const char *)data + size;
  while(nf < MAX_FIELDS) {
    const char *q = memchr(p, 0xFF, (size_t)(end - p));
    if(!q)
      q = end;
    f[nf].p = p;
    f[nf].n = (size_t)(q - p);
    nf++;
    if(q == end)
      break;
    p = q + 1;
  }
  for(i = 3; i + 1 < nf; i += 2) {
    h[nh].name = f[i].p;
    h[nh].name_len = f[i].n;
    h[nh].value = f[i + 1].p;
    h[nh].value_len = f[i + 1].n;
    nh++;
  }

  /* The path as the signer sees it: always starting with '/'. */
  es_buf_putc(&path, '/');
  es_buf_append(&path, f[0].p, f[0].n);
  check_path(path.data, path.len, flags & 1, (flags & 2) != 0);
  check_path(f[0].p, 0, flags & 1, (flags & 2) != 0);
  es_buf_free(&path);
  if(nf > 1)
    check_query(f[1].p, f[1].n);
  check_headers(h, nh);
  check_sign(flags, f, nf, h, nh);
  return 0;
}
