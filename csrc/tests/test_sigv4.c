/*
 * test_sigv4.c: SigV4 signer tests.
 *
 *  1. Every case of the aws-c-auth v4 suite (spec/fixtures/sigv4/aws-c-auth-v4),
 *     both placements: canonical request, string to sign, signature and the
 *     signed request, byte for byte.
 *  2. Unit tests: UriEncode, path and query canonicalization, derived-key
 *     cache (hits, misses, bound, secret rotation), clock injection, error
 *     paths (ES_EINVAL / ES_ERANGE), result reuse, and a typical EKS POST and
 *     an STS presign checked against values computed with botocore.
 *
 * Run from the repository root.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "es_buf.h"
#include "es_error.h"
#include "sigv4.h"
#include "tap.h"

#define SUITE_DIR "spec/fixtures/sigv4/aws-c-auth-v4"

static const char *const AKID = "AKIDEXAMPLE";
static const char *const SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

/* ---- small helpers ---- */

static char *read_file(const char *path, size_t *len)
{
  FILE *f = fopen(path, "rb");
  char *buf = NULL;
  size_t cap = 0, n = 0;
  if(!f)
    return NULL;
  for(;;) {
    size_t r;
    if(n + 4096 + 1 > cap) {
      char *nb;
      cap = cap ? cap * 2 : 8192;
      nb = realloc(buf, cap);
      if(!nb) {
        free(buf);
        fclose(f);
        return NULL;
      }
      buf = nb;
    }
    r = fread(buf + n, 1, cap - n - 1, f);
    n += r;
    if(r == 0)
      break;
  }
  fclose(f);
  buf[n] = '\0';
  if(len)
    *len = n;
  return buf;
}

static time_t fixed_clock(void *ud)
{
  return *(const time_t *)ud;
}

/* 2015-08-30T12:36:00Z style */
static int parse_iso(const char *s, time_t *out)
{
  struct tm tm;
  memset(&tm, 0, sizeof(tm));
  if(sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
            &tm.tm_min, &tm.tm_sec) != 6)
    return -1;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  *out = timegm(&tm);
  return 0;
}

/* ---- the aws-c-auth suite ---- */

struct parsed_request {
  char *text;            /* request.txt, modified in place */
  char *method;
  char *target;
  size_t target_len;
  struct es_header *headers;
  size_t n_headers;
  /* Values that span continuation lines are rebuilt here. */
  struct es_buf *values;
  size_t n_values;
  const char *body;
  size_t body_len;
};

static void parsed_free(struct parsed_request *p)
{
  size_t i;
  for(i = 0; i < p->n_values; i++)
    es_buf_free(&p->values[i]);
  free(p->values);
  free(p->headers);
  free(p->text);
  memset(p, 0, sizeof(*p));
}

/* request.txt: "METHOD SP <target> SP HTTP/1.1", headers (a line starting with
   whitespace continues the previous one), blank line, body. */
static int parse_request(const char *path, struct parsed_request *p)
{
  size_t len, cap = 0;
  char *s, *eol, *end, *sp, *ver;
  memset(p, 0, sizeof(*p));
  p->text = read_file(path, &len);
  if(!p->text)
    return -1;
  s = p->text;
  end = s + len;
  eol = memchr(s, '\n', len);
  if(!eol)
    return -1;
  *eol = '\0';
  sp = strchr(s, ' ');
  ver = strstr(s, " HTTP/1.1");
  if(!sp || !ver)
    return -1;
  while(strstr(ver + 1, " HTTP/1.1"))
    ver = strstr(ver + 1, " HTTP/1.1");
  *sp = '\0';
  p->method = s;
  p->target = sp + 1;
  p->target_len = (size_t)(ver - (sp + 1));
  s = eol + 1;
  while(s < end) {
    char *line = s, *colon;
    eol = memchr(s, '\n', (size_t)(end - s));
    if(!eol)
      eol = end;
    s = eol < end ? eol + 1 : end;
    if(eol == line) {          /* blank line: the body follows */
      p->body = s;
      p->body_len = (size_t)(end - s);
      break;
    }
    if(line[0] == ' ' || line[0] == '\t') {
      struct es_buf *v;
      if(p->n_headers == 0)
        return -1;
      v = &p->values[p->n_headers - 1];
      if(es_buf_putc(v, '\n') || es_buf_append(v, line, (size_t)(eol - line)))
        return -1;
      continue;
    }
    colon = memchr(line, ':', (size_t)(eol - line));
    if(!colon)
      return -1;
    if(p->n_headers == cap) {
      size_t ncap = cap ? cap * 2 : 8;
      struct es_header *nh = realloc(p->headers, ncap * sizeof(*nh));
      struct es_buf *nv;
      if(!nh)
        return -1;
      p->headers = nh;
      nv = realloc(p->values, ncap * sizeof(*nv));
      if(!nv)
        return -1;
      p->values = nv;
      cap = ncap;
    }
    p->headers[p->n_headers].name = line;
    p->headers[p->n_headers].name_len = (size_t)(colon - line);
    memset(&p->values[p->n_headers], 0, sizeof(struct es_buf));
    if(es_buf_append(&p->values[p->n_headers], colon + 1, (size_t)(eol - colon - 1)))
      return -1;
    p->n_headers++;
    p->n_values = p->n_headers;
  }
  for(cap = 0; cap < p->n_headers; cap++) {
    p->headers[cap].value = p->values[cap].data;
    p->headers[cap].value_len = p->values[cap].len;
  }
  return 0;
}

static char *signed_request_text(const struct parsed_request *p, const struct es_sigv4_result *r)
{
  struct es_buf b = ES_BUF_INIT;
  size_t i;
  int rc = es_buf_printf(&b, "%s %s HTTP/1.1\n", p->method, r->target.data);
  for(i = 0; i < r->n_headers && !rc; i++) {
    rc = es_buf_append(&b, r->headers[i].name, r->headers[i].name_len);
    if(!rc)
      rc = es_buf_putc(&b, ':');
    if(!rc)
      rc = es_buf_append(&b, r->headers[i].value, r->headers[i].value_len);
    if(!rc)
      rc = es_buf_putc(&b, '\n');
  }
  if(!rc)
    rc = es_buf_putc(&b, '\n');
  if(!rc && p->body_len)
    rc = es_buf_append(&b, p->body, p->body_len);
  if(rc) {
    es_buf_free(&b);
    return NULL;
  }
  return b.data;
}

static void check_expected(const char *dir, const char *prefix, const char *file, const char *got,
                           const char *casename)
{
  char path[512];
  char *want;
  snprintf(path, sizeof(path), "%s/%s-%s", dir, prefix, file);
  want = read_file(path, NULL);
  if(!want) {
    ok(0, "%s %s: read %s", casename, prefix, path);
    return;
  }
  is_str(got, want, "%s %s %s", casename, prefix, file);
  free(want);
}

static void run_case(struct es_sigv4_signer *s, const char *name)
{
  char dir[512], path[600];
  json_t *ctx;
  json_error_t jerr;
  struct parsed_request p;
  const char *tok = NULL;
  time_t now = 0;
  unsigned flags = ES_SIGV4_DOUBLE_ENCODE;
  int pl;

  snprintf(dir, sizeof(dir), "%s/%s", SUITE_DIR, name);
  snprintf(path, sizeof(path), "%s/context.json", dir);
  ctx = json_load_file(path, 0, &jerr);
  if(!ctx) {
    ok(0, "%s: context.json: %s", name, jerr.text);
    return;
  }
  snprintf(path, sizeof(path), "%s/request.txt", dir);
  if(parse_request(path, &p)) {
    ok(0, "%s: parse request.txt", name);
    parsed_free(&p);
    json_decref(ctx);
    return;
  }
  {
    json_t *cr = json_object_get(ctx, "credentials");
    json_t *t = json_object_get(cr, "token");
    if(json_is_string(t))
      tok = json_string_value(t);
    if(json_is_true(json_object_get(ctx, "normalize")))
      flags |= ES_SIGV4_NORMALIZE_PATH;
    if(json_is_true(json_object_get(ctx, "sign_body")))
      flags |= ES_SIGV4_SIGN_BODY;
    if(json_is_true(json_object_get(ctx, "omit_session_token")))
      flags |= ES_SIGV4_OMIT_SESSION_TOKEN;
    if(parse_iso(json_string_value(json_object_get(ctx, "timestamp")), &now))
      ok(0, "%s: timestamp", name);
  }
  /* The suite's date comes from the injected clock. */
  es_sigv4_set_clock(s, fixed_clock, &now);

  for(pl = 0; pl < 2; pl++) {
    struct es_sigv4_request req;
    struct es_sigv4_result res;
    const char *prefix = pl ? "query" : "header";
    json_t *cr = json_object_get(ctx, "credentials");
    int rc;
    char *sr;

    memset(&req, 0, sizeof(req));
    req.method = p.method;
    req.target = p.target;
    req.target_len = p.target_len;
    req.headers = p.headers;
    req.n_headers = p.n_headers;
    req.body = p.body_len ? p.body : NULL;
    req.body_len = p.body_len;
    req.region = json_string_value(json_object_get(ctx, "region"));
    req.service = json_string_value(json_object_get(ctx, "service"));
    req.creds.access_key_id = json_string_value(json_object_get(cr, "access_key_id"));
    req.creds.secret_access_key = json_string_value(json_object_get(cr, "secret_access_key"));
    req.creds.session_token = tok;
    req.placement = pl ? ES_SIGV4_QUERY : ES_SIGV4_HEADER;
    req.expires = (long)json_integer_value(json_object_get(ctx, "expiration_in_seconds"));
    req.flags = flags;

    es_sigv4_result_init(&res);
    rc = es_sigv4_sign(s, &req, &res);
    if(!ok(rc == ES_OK, "%s %s: sign", name, prefix)) {
      diag("rc=%d", rc);
      es_sigv4_result_free(&res);
      continue;
    }
    check_expected(dir, prefix, "canonical-request.txt", res.canonical_request.data, name);
    check_expected(dir, prefix, "string-to-sign.txt", res.string_to_sign.data, name);
    check_expected(dir, prefix, "signature.txt", res.signature, name);
    sr = signed_request_text(&p, &res);
    check_expected(dir, prefix, "signed-request.txt", sr, name);
    free(sr);
    es_sigv4_result_free(&res);
  }
  es_sigv4_set_clock(s, NULL, NULL);
  parsed_free(&p);
  json_decref(ctx);
}

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void test_suite(void)
{
  DIR *d = opendir(SUITE_DIR);
  struct dirent *de;
  char **names = NULL;
  size_t n = 0, cap = 0, i;
  struct es_sigv4_signer *s;
  if(!ok(d != NULL, "open %s", SUITE_DIR))
    return;
  while((de = readdir(d)) != NULL) {
    if(de->d_name[0] == '.')
      continue;
    if(n == cap) {
      char **nn;
      cap = cap ? cap * 2 : 64;
      nn = realloc(names, cap * sizeof(*nn));
      if(!nn)
        break;
      names = nn;
    }
    names[n] = strdup(de->d_name);
    if(names[n])
      n++;
  }
  closedir(d);
  qsort(names, n, sizeof(*names), cmp_str);
  ok(n == 38, "suite has 38 cases (found %zu)", n);
  s = es_sigv4_signer_new(0);
  ok(s != NULL, "signer_new");
  for(i = 0; i < n && s; i++)
    run_case(s, names[i]);
  es_sigv4_signer_free(s);
  for(i = 0; i < n; i++)
    free(names[i]);
  free(names);
}

/* ---- unit tests ---- */

static void test_uri_encode(void)
{
  static const struct {
    const char *in;
    size_t len;
    int keep_slash;
    const char *want;
  } cases[] = {
    {"", 0, 0, ""},
    {"-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", 66, 0,
     "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"},
    {"a b", 3, 0, "a%20b"},
    {"/a/b c/", 7, 1, "/a/b%20c/"},
    {"/a/b c/", 7, 0, "%2Fa%2Fb%20c%2F"},
    {"+=&:;,?#[]@!$'()*", 17, 0, "%2B%3D%26%3A%3B%2C%3F%23%5B%5D%40%21%24%27%28%29%2A"},
    {"%20", 3, 1, "%2520"},
    {"\xe1\x88\xb4", 3, 0, "%E1%88%B4"},
    {"\x00\x7f\xff", 3, 0, "%00%7F%FF"},
  };
  size_t i;
  for(i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct es_buf b = ES_BUF_INIT;
    int rc = es_uri_encode(&b, cases[i].in, cases[i].len, cases[i].keep_slash);
    ok(rc == ES_OK, "uri_encode rc %zu", i);
    is_str(b.data, cases[i].want, "uri_encode case %zu", i);
    es_buf_free(&b);
  }
  {
    struct es_buf b = ES_BUF_INIT;
    ok(es_uri_encode(&b, NULL, 1, 0) == ES_EINVAL, "uri_encode NULL input with length -> EINVAL");
    ok(es_uri_encode(NULL, "a", 1, 0) == ES_EINVAL, "uri_encode NULL buffer -> EINVAL");
    ok(es_uri_encode(&b, "ab", 2, 0) == ES_OK && es_uri_encode(&b, " ", 1, 0) == ES_OK,
       "uri_encode appends");
    is_str(b.data, "ab%20", "uri_encode appended text");
    es_buf_free(&b);
  }
}

static void base_request(struct es_sigv4_request *req, struct es_header *hdrs, const char *target)
{
  memset(req, 0, sizeof(*req));
  hdrs[0].name = "Host";
  hdrs[0].name_len = 4;
  hdrs[0].value = "example.amazonaws.com";
  hdrs[0].value_len = strlen(hdrs[0].value);
  req->method = "GET";
  req->target = target;
  req->target_len = strlen(target);
  req->headers = hdrs;
  req->n_headers = 1;
  req->region = "us-east-1";
  req->service = "service";
  req->amz_date = "20150830T123600Z";
  req->creds.access_key_id = AKID;
  req->creds.secret_access_key = SECRET;
  req->placement = ES_SIGV4_HEADER;
  req->flags = ES_SIGV4_DEFAULT_FLAGS;
}

/* Line 'n' (0-based) of the canonical request, into out. */
static void cr_line(const struct es_sigv4_result *r, int n, char *out, size_t cap)
{
  const char *p = r->canonical_request.data;
  const char *e;
  size_t l;
  out[0] = '\0';
  if(!p)
    return;
  while(n-- > 0) {
    p = strchr(p, '\n');
    if(!p)
      return;
    p++;
  }
  e = strchr(p, '\n');
  l = e ? (size_t)(e - p) : strlen(p);
  if(l >= cap)
    l = cap - 1;
  memcpy(out, p, l);
  out[l] = '\0';
}

static void test_paths(struct es_sigv4_signer *s)
{
  static const struct {
    const char *target;
    unsigned flags;
    const char *uri;
    const char *query;
  } cases[] = {
    {"/%20/foo", ES_SIGV4_DEFAULT_FLAGS, "/%2520/foo", ""},
    {"/%20/foo", ES_SIGV4_NORMALIZE_PATH, "/%20/foo", ""},
    {"/a/b/../c", ES_SIGV4_DEFAULT_FLAGS, "/a/c", ""},
    {"/a/./b//c/", ES_SIGV4_DEFAULT_FLAGS, "/a/b/c/", ""},
    {"/a/b/..", ES_SIGV4_DEFAULT_FLAGS, "/a", ""},
    {"/../../x", ES_SIGV4_DEFAULT_FLAGS, "/x", ""},
    {"", ES_SIGV4_DEFAULT_FLAGS, "/", ""},
    {"", 0, "/", ""},
    {"?a=1", ES_SIGV4_DEFAULT_FLAGS, "/", "a=1"},
    {"/clusters/my%cluster", ES_SIGV4_DEFAULT_FLAGS, "/clusters/my%25cluster", ""},
    {"//", 0, "//", ""},
    {"/?Param1=value2&Param1=Value1", ES_SIGV4_DEFAULT_FLAGS, "/", "Param1=Value1&Param1=value2"},
    {"/?b&a=&c=%2f%2B+&d=%zz&e=%4", ES_SIGV4_DEFAULT_FLAGS, "/", "a=&b=&c=%2F%2B%2B&d=%25zz&e=%254"},
    {"/?&&x=1&&", ES_SIGV4_DEFAULT_FLAGS, "/", "x=1"},
    {"/?a=b=c&sp=a%20b", ES_SIGV4_DEFAULT_FLAGS, "/", "a=b%3Dc&sp=a%20b"},
    {"/?", ES_SIGV4_DEFAULT_FLAGS, "/", ""},
  };
  size_t i;
  for(i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct es_sigv4_request req;
    struct es_header h[1];
    struct es_sigv4_result r;
    char line[256];
    int rc;
    base_request(&req, h, cases[i].target);
    req.flags = cases[i].flags;
    es_sigv4_result_init(&r);
    rc = es_sigv4_sign(s, &req, &r);
    ok(rc == ES_OK, "path case %zu (%s) signs", i, cases[i].target);
    cr_line(&r, 1, line, sizeof(line));
    is_str(line, cases[i].uri, "canonical URI for '%s'", cases[i].target);
    cr_line(&r, 2, line, sizeof(line));
    is_str(line, cases[i].query, "canonical query for '%s'", cases[i].target);
    es_sigv4_result_free(&r);
  }
}

/* More than 16 query parameters and headers: the merge-sort path. */
static void test_long_lists(struct es_sigv4_signer *s)
{
  struct es_buf target = ES_BUF_INIT, want = ES_BUF_INIT, names = ES_BUF_INIT;
  struct es_header h[40];
  char hn[40][16], hv[40][16];
  struct es_sigv4_request req;
  struct es_sigv4_result r;
  char line[2048];
  int i, rc = 0;

  rc |= es_buf_puts(&target, "/?");
  for(i = 39; i >= 0; i--)
    rc |= es_buf_printf(&target, "p%02d=v%d&", i, i % 3);
  rc |= es_buf_puts(&target, "p05=a");        /* duplicate name: sorted by value */
  for(i = 0; i < 40; i++) {
    if(i)
      rc |= es_buf_putc(&want, '&');
    if(i == 5)
      rc |= es_buf_puts(&want, "p05=a&");
    rc |= es_buf_printf(&want, "p%02d=v%d", i, i % 3);
  }
  ok(rc == 0, "long list setup");
  base_request(&req, h, target.data);
  /* 39 headers in reverse order plus Host, x-bNN with duplicates of x-b07. */
  for(i = 0; i < 39; i++) {
    snprintf(hn[i], sizeof(hn[i]), "X-B%02d", (38 - i) % 30);
    snprintf(hv[i], sizeof(hv[i]), " v%d ", i);
    h[i + 1].name = hn[i];
    h[i + 1].name_len = strlen(hn[i]);
    h[i + 1].value = hv[i];
    h[i + 1].value_len = strlen(hv[i]);
  }
  req.n_headers = 40;
  es_sigv4_result_init(&r);
  rc = es_sigv4_sign(s, &req, &r);
  ok(rc == ES_OK, "sign with 40 params and 40 headers");
  cr_line(&r, 2, line, sizeof(line));
  is_str(line, want.data, "40 query params sorted by name then value");
  /* x-amz-date sorts before x-bNN */
  rc |= es_buf_puts(&names, "host;x-amz-date");
  for(i = 0; i < 30; i++)
    rc |= es_buf_printf(&names, ";x-b%02d", i);
  cr_line(&r, 4 + 31 + 1, line, sizeof(line));
  is_str(line, names.data, "signed headers of 32 distinct names, sorted");
  /* x-b00 arrives at i=8 (38-8=30 -> 0) and i=38 (0): values in arrival order. */
  cr_line(&r, 4, line, sizeof(line));
  is_str(line, "x-amz-date:20150830T123600Z", "x-amz-date line");
  cr_line(&r, 5, line, sizeof(line));
  is_str(line, "x-b00:v8,v38", "duplicate header values joined in arrival order");
  es_sigv4_result_free(&r);
  es_buf_free(&target);
  es_buf_free(&want);
  es_buf_free(&names);
}

static void test_cache(void)
{
  struct es_sigv4_signer *s = es_sigv4_signer_new(2);
  struct es_sigv4_signer *fresh = es_sigv4_signer_new(0);
  struct es_sigv4_request req;
  struct es_header h[1];
  struct es_sigv4_result r, r2;
  unsigned long hits, misses;
  char sig_a[65];
  static const char *const regions[] = {"us-east-1", "us-east-1", "eu-west-1", "ap-south-1",
                                        "eu-west-1", "us-east-1"};
  /* expected (hits, misses) after each signing with a 2-entry LRU */
  static const unsigned long want_h[] = {0, 1, 1, 1, 2, 2};
  static const unsigned long want_m[] = {1, 1, 2, 3, 3, 4};
  size_t i;

  if(!ok(s && fresh, "signers for cache tests")) {
    es_sigv4_signer_free(s);
    es_sigv4_signer_free(fresh);
    return;
  }
  es_sigv4_result_init(&r);
  es_sigv4_result_init(&r2);
  es_sigv4_cache_stats(s, &hits, &misses);
  ok(hits == 0 && misses == 0, "new signer: no hits, no misses");
  base_request(&req, h, "/");
  for(i = 0; i < sizeof(regions) / sizeof(regions[0]); i++) {
    req.region = regions[i];
    ok(es_sigv4_sign(s, &req, &r) == ES_OK, "cache sign %zu (%s)", i, regions[i]);
    es_sigv4_cache_stats(s, &hits, &misses);
    ok(hits == want_h[i] && misses == want_m[i], "after %zu: hits %lu (want %lu), misses %lu (want %lu)",
       i, hits, want_h[i], misses, want_m[i]);
    /* A cached key signs exactly like a freshly derived one. */
    ok(es_sigv4_sign(fresh, &req, &r2) == ES_OK, "fresh sign %zu", i);
    is_str(r.signature, r2.signature, "cached and fresh signatures agree (%s)", regions[i]);
  }
  /* us-east-1 signature for the secret */
  req.region = "us-east-1";
  ok(es_sigv4_sign(s, &req, &r) == ES_OK, "sign us-east-1 again (hit)");
  memcpy(sig_a, r.signature, 65);
  es_sigv4_cache_stats(s, &hits, &misses);
  ok(hits == 3 && misses == 4, "hit after re-insert");

  /* Rotated secret under the same access key id: must not reuse the old key. */
  req.creds.secret_access_key = "AnotherSecretKeyOfFortyCharactersXXXXXXX";
  ok(es_sigv4_sign(s, &req, &r) == ES_OK, "sign with a rotated secret");
  es_sigv4_cache_stats(s, &hits, &misses);
  ok(misses == 5, "rotated secret is a miss");
  ok(strcmp(r.signature, sig_a) != 0, "rotated secret gives another signature");
  ok(es_sigv4_sign(fresh, &req, &r2) == ES_OK && strcmp(r.signature, r2.signature) == 0,
     "rotated secret signature matches a fresh signer");
  req.creds.secret_access_key = SECRET;

  /* Another day is another key. */
  req.amz_date = "20150831T000000Z";
  ok(es_sigv4_sign(s, &req, &r) == ES_OK, "sign next day");
  es_sigv4_cache_stats(s, &hits, &misses);
  ok(misses == 6, "new date is a miss");
  req.amz_date = "20150830T123600Z";

  /* Another access key id with the same secret is another entry. */
  req.creds.access_key_id = "AKIDOTHER";
  ok(es_sigv4_sign(s, &req, &r) == ES_OK, "sign other AKID");
  es_sigv4_cache_stats(s, &hits, &misses);
  ok(misses == 7, "new access key id is a miss");
  req.creds.access_key_id = AKID;

  /* Scope fields too long to cache: still signs (derived every time). */
  {
    char longsvc[100];
    memset(longsvc, 's', sizeof(longsvc) - 1);
    longsvc[sizeof(longsvc) - 1] = '\0';
    req.service = longsvc;
    ok(es_sigv4_sign(s, &req, &r) == ES_OK, "uncacheable scope signs");
    ok(es_sigv4_sign(fresh, &req, &r2) == ES_OK && strcmp(r.signature, r2.signature) == 0,
       "uncacheable scope signature agrees");
    ok(es_sigv4_sign(s, &req, &r) == ES_OK && strcmp(r.signature, r2.signature) == 0,
       "uncacheable scope signs again");
    es_sigv4_cache_stats(s, &hits, &misses);
    ok(misses == 9, "uncacheable scope misses every time (misses %lu)", misses);
    req.service = "service";
  }
  es_sigv4_result_free(&r);
  es_sigv4_result_free(&r2);
  es_sigv4_signer_free(s);
  es_sigv4_signer_free(fresh);
  es_sigv4_cache_stats(NULL, &hits, &misses);
  ok(hits == 0 && misses == 0, "cache_stats(NULL) gives zeros");
}

static time_t counter_clock(void *ud)
{
  time_t *t = ud;
  return (*t)++;
}

static void test_clock(void)
{
  struct es_sigv4_signer *s = es_sigv4_signer_new(0);
  struct es_sigv4_request req;
  struct es_header h[2];
  struct es_sigv4_result r;
  time_t t = 1440938160;   /* 2015-08-30T12:36:00Z */
  char buf[17];

  es_sigv4_format_time(0, buf);
  is_str(buf, "19700101T000000Z", "format_time(0)");
  es_sigv4_format_time(1440938160, buf);
  is_str(buf, "20150830T123600Z", "format_time(2015-08-30T12:36:00Z)");
  es_sigv4_format_time(951782400, buf);
  is_str(buf, "20000229T000000Z", "format_time leap day");
  es_sigv4_format_time((time_t)253402300799LL, buf);
  is_str(buf, "99991231T235959Z", "format_time last representable second");
  es_sigv4_format_time((time_t)253402300800LL, buf);
  is_str(buf, "", "format_time beyond year 9999 gives empty string");

  if(!ok(s != NULL, "signer for clock tests"))
    return;
  es_sigv4_result_init(&r);
  base_request(&req, h, "/");
  req.amz_date = NULL;
  es_sigv4_set_clock(s, fixed_clock, &t);
  ok(es_sigv4_sign(s, &req, &r) == ES_OK, "sign with injected clock");
  is_str(r.amz_date, "20150830T123600Z", "amz_date from the injected clock");
  is_str(r.signature, "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
         "clock-dated signature equals get-vanilla");
  t += 86400 + 1;
  ok(es_sigv4_sign(s, &req, &r) == ES_OK, "sign after the clock moved");
  is_str(r.amz_date, "20150831T123601Z", "amz_date follows the clock");
  ok(strstr(r.string_to_sign.data, "\n20150831/us-east-1/service/aws4_request\n") != NULL,
     "scope date follows the clock");

  /* req->amz_date wins over the clock */
  req.amz_date = "20150830T123600Z";
  ok(es_sigv4_sign(s, &req, &r) == ES_OK, "sign with explicit amz_date");
  is_str(r.amz_date, "20150830T123600Z", "explicit amz_date used");

  /* an X-Amz-Date header given by the caller is used, and not duplicated */
  req.amz_date = NULL;
  h[1].name = "X-Amz-Date";
  h[1].name_len = 10;
  h[1].value = "20150830T123600Z";
  h[1].value_len = 16;
  req.n_headers = 2;
  ok(es_sigv4_sign(s, &req, &r) == ES_OK, "sign with caller X-Amz-Date header");
  is_str(r.signature, "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
         "caller X-Amz-Date header gives the get-vanilla signature");
  ok(r.n_headers == 3, "no second X-Amz-Date added (%zu headers)", r.n_headers);
  req.amz_date = "20150830T123601Z";
  ok(es_sigv4_sign(s, &req, &r) == ES_EINVAL, "amz_date disagreeing with the header -> EINVAL");
  req.amz_date = NULL;
  req.n_headers = 1;

  /* the clock is read once per signing */
  {
    time_t c = 1440938160;
    es_sigv4_set_clock(s, counter_clock, &c);
    ok(es_sigv4_sign(s, &req, &r) == ES_OK && c == 1440938161, "clock read exactly once");
    is_str(r.amz_date, "20150830T123600Z", "counter clock first value");
    ok(es_sigv4_sign(s, &req, &r) == ES_OK, "sign again");
    is_str(r.amz_date, "20150830T123601Z", "counter clock second value");
  }
  /* a clock outside the representable range */
  {
    time_t far = (time_t)253402300800LL;
    es_sigv4_set_clock(s, fixed_clock, &far);
    ok(es_sigv4_sign(s, &req, &r) == ES_ERANGE, "clock beyond year 9999 -> ERANGE");
  }
  /* back to the default clock: a well-formed date (no assertion on its value) */
  es_sigv4_set_clock(s, NULL, NULL);
  ok(es_sigv4_sign(s, &req, &r) == ES_OK && strlen(r.amz_date) == 16 && r.amz_date[8] == 'T' &&
       r.amz_date[15] == 'Z',
     "default clock gives a well-formed date");
  es_sigv4_result_free(&r);
  es_sigv4_signer_free(s);
}

static void test_errors(void)
{
  struct es_sigv4_signer *s = es_sigv4_signer_new(0);
  struct es_sigv4_request req;
  struct es_header h[3];
  struct es_sigv4_result r;
  char hex[65];

  if(!ok(s != NULL, "signer for error tests"))
    return;
  es_sigv4_result_init(&r);

  ok(es_sigv4_sign(NULL, &req, &r) == ES_EINVAL, "NULL signer -> EINVAL");
  ok(es_sigv4_sign(s, NULL, &r) == ES_EINVAL, "NULL request -> EINVAL");
  base_request(&req, h, "/");
  ok(es_sigv4_sign(s, &req, NULL) == ES_EINVAL, "NULL result -> EINVAL");

  /* expires: 1..604800 for query placement */
  req.placement = ES_SIGV4_QUERY;
  req.expires = 0;
  ok(es_sigv4_sign(s, &req, &r) == ES_ERANGE, "expires 0 -> ERANGE");
  ok(r.canonical_request.len == 0 && r.n_headers == 0 && r.signature[0] == '\0',
     "failed signing leaves an empty result");
  req.expires = -5;
  ok(es_sigv4_sign(s, &req, &r) == ES_ERANGE, "expires -5 -> ERANGE");
  req.expires = 604801;
  ok(es_sigv4_sign(s, &req, &r) == ES_ERANGE, "expires 604801 -> ERANGE");
  req.expires = 604800;
  ok(es_sigv4_sign(s, &req, &r) == ES_OK, "expires 604800 ok");
  ok(strstr(r.target.data, "&X-Amz-Expires=604800&") != NULL, "X-Amz-Expires=604800 in target");
  req.expires = 1;
  ok(es_sigv4_sign(s, &req, &r) == ES_OK, "expires 1 ok");
  req.placement = ES_SIGV4_HEADER;
  req.expires = 0;
  ok(es_sigv4_sign(s, &req, &r) == ES_OK, "expires ignored for header placement");
  req.placement = (enum es_sigv4_placement)7;
  ok(es_sigv4_sign(s, &req, &r) == ES_EINVAL, "unknown placement -> EINVAL");
  req.placement = ES_SIGV4_HEADER;

  /* presigning a URL that already carries X-Amz-* auth parameters */
  base_request(&req, h, "/?X-Amz-Signature=abc");
  req.placement = ES_SIGV4_QUERY;
  req.expires = 60;
  ok(es_sigv4_sign(s, &req, &r) == ES_EINVAL, "query placement with X-Amz-Signature in query -> EINVAL");
  base_request(&req, h, "/?x-amz-credential=abc");
  req.placement = ES_SIGV4_QUERY;
  req.expires = 60;
  ok(es_sigv4_sign(s, &req, &r) == ES_EINVAL, "query placement with x-amz-credential -> EINVAL");

#define EXPECT_EINVAL(what, stmt)                                       \
  do {                                                                  \
    base_request(&req, h, "/");                                         \
    stmt;                                                               \
    ok(es_sigv4_sign(s, &req, &r) == ES_EINVAL, "%s -> EINVAL", what);  \
  } while(0)

  EXPECT_EINVAL("no Host header", req.n_headers = 0);
  EXPECT_EINVAL("NULL method", req.method = NULL);
  EXPECT_EINVAL("empty method", req.method = "");
  EXPECT_EINVAL("method with a space", req.method = "GET X");
  EXPECT_EINVAL("absolute-form target", (req.target = "http://x/", req.target_len = 9));
  EXPECT_EINVAL("target with CR LF", (req.target = "/\r\nX: y", req.target_len = 7));
  EXPECT_EINVAL("NULL target with a length", (req.target = NULL, req.target_len = 3));
  EXPECT_EINVAL("NULL region", req.region = NULL);
  EXPECT_EINVAL("empty region", req.region = "");
  EXPECT_EINVAL("region with a slash", req.region = "us/east");
  EXPECT_EINVAL("service with a space", req.service = "my service");
  EXPECT_EINVAL("NULL access key id", req.creds.access_key_id = NULL);
  EXPECT_EINVAL("empty access key id", req.creds.access_key_id = "");
  EXPECT_EINVAL("access key id with a comma", req.creds.access_key_id = "AK,ID");
  EXPECT_EINVAL("NULL secret", req.creds.secret_access_key = NULL);
  EXPECT_EINVAL("empty secret", req.creds.secret_access_key = "");
  EXPECT_EINVAL("token with a newline", req.creds.session_token = "abc\ndef");
  EXPECT_EINVAL("body NULL with a length", req.body_len = 5);
  EXPECT_EINVAL("headers NULL with a count", (req.headers = NULL, req.n_headers = 2));
  EXPECT_EINVAL("bad amz_date", req.amz_date = "2015-08-30T12:36:00Z");
  EXPECT_EINVAL("amz_date with letters", req.amz_date = "2015083XT123600Z");
  EXPECT_EINVAL("empty payload_hash", req.payload_hash = "");
  EXPECT_EINVAL("payload_hash with a space", req.payload_hash = "UNSIGNED PAYLOAD");
  EXPECT_EINVAL("Authorization header",
                (h[1].name = "authorization", h[1].name_len = 13, h[1].value = "x",
                 h[1].value_len = 1, req.n_headers = 2));
  EXPECT_EINVAL("header value injecting a header",
                (h[1].name = "X-A", h[1].name_len = 3, h[1].value = "a\r\nX-B: b",
                 h[1].value_len = 9, req.n_headers = 2));
  EXPECT_EINVAL("header value ending in CRLF",
                (h[1].name = "X-A", h[1].name_len = 3, h[1].value = "a\r\n",
                 h[1].value_len = 3, req.n_headers = 2));
  EXPECT_EINVAL("header value with NUL",
                (h[1].name = "X-A", h[1].name_len = 3, h[1].value = "a\0b",
                 h[1].value_len = 3, req.n_headers = 2));
  EXPECT_EINVAL("header name with a colon",
                (h[1].name = "X:A", h[1].name_len = 3, h[1].value = "a",
                 h[1].value_len = 1, req.n_headers = 2));
  EXPECT_EINVAL("empty header name",
                (h[1].name = "", h[1].name_len = 0, h[1].value = "a",
                 h[1].value_len = 1, req.n_headers = 2));
  EXPECT_EINVAL("bad X-Amz-Date header",
                (h[1].name = "X-Amz-Date", h[1].name_len = 10, h[1].value = "yesterday",
                 h[1].value_len = 9, req.n_headers = 2));
  EXPECT_EINVAL("token header that differs from the credentials",
                (req.creds.session_token = "TOKEN1", h[1].name = "X-Amz-Security-Token",
                 h[1].name_len = 20, h[1].value = "TOKEN2", h[1].value_len = 6,
                 req.n_headers = 2));
  EXPECT_EINVAL("x-amz-content-sha256 header that differs from the payload hash",
                (req.flags |= ES_SIGV4_SIGN_BODY, h[1].name = "x-amz-content-sha256",
                 h[1].name_len = 20, h[1].value = "abc", h[1].value_len = 3,
                 req.n_headers = 2));
#undef EXPECT_EINVAL

  /* a matching token header is accepted and not duplicated */
  base_request(&req, h, "/");
  req.creds.session_token = "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267";
  h[1].name = "X-Amz-Security-Token";
  h[1].name_len = 20;
  h[1].value = req.creds.session_token;
  h[1].value_len = strlen(h[1].value);
  req.n_headers = 2;
  ok(es_sigv4_sign(s, &req, &r) == ES_OK, "matching token header accepted");
  is_str(r.signature, "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8",
         "same signature as get-vanilla-with-session-token");
  ok(r.n_headers == 4, "token not added twice (%zu headers)", r.n_headers);

  /* headers never signed (user-agent etc.) are sent but not signed */
  base_request(&req, h, "/");
  h[1].name = "User-Agent";
  h[1].name_len = 10;
  h[1].value = "eksegress/1";
  h[1].value_len = 11;
  h[2].name = "Expect";
  h[2].name_len = 6;
  h[2].value = "100-continue";
  h[2].value_len = 12;
  req.n_headers = 3;
  ok(es_sigv4_sign(s, &req, &r) == ES_OK, "sign with User-Agent and Expect");
  is_str(r.signature, "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
         "User-Agent and Expect are not signed");
  ok(r.n_headers == 5 && r.headers[1].name_len == 10 &&
       memcmp(r.headers[1].name, "User-Agent", 10) == 0,
     "unsigned headers are still in the result");

  /* payload_hash and SIGN_BODY */
  base_request(&req, h, "/");
  req.payload_hash = "UNSIGNED-PAYLOAD";
  req.flags |= ES_SIGV4_SIGN_BODY;
  ok(es_sigv4_sign(s, &req, &r) == ES_OK, "sign with UNSIGNED-PAYLOAD");
  ok(strstr(r.canonical_request.data, "\nx-amz-content-sha256:UNSIGNED-PAYLOAD\n") != NULL,
     "x-amz-content-sha256 carries the given payload hash");
  ok(r.canonical_request.len > 16 &&
       strcmp(r.canonical_request.data + r.canonical_request.len - 16, "UNSIGNED-PAYLOAD") == 0,
     "canonical request ends with the given payload hash");
  ok(r.n_headers == 4 && strcmp(r.headers[2].name, "x-amz-content-sha256") == 0 &&
       strcmp(r.headers[2].value, "UNSIGNED-PAYLOAD") == 0,
     "x-amz-content-sha256 header in the result");

  /* sha256 helper */
  ok(es_sigv4_sha256_hex(s, "", 0, hex) == ES_OK, "sha256_hex empty");
  is_str(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "sha256('')");
  ok(es_sigv4_sha256_hex(s, "abc", 3, hex) == ES_OK, "sha256_hex abc");
  is_str(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "sha256('abc')");
  ok(es_sigv4_sha256_hex(s, NULL, 0, hex) == ES_OK, "sha256_hex NULL, 0");
  ok(es_sigv4_sha256_hex(s, NULL, 2, hex) == ES_EINVAL, "sha256_hex NULL with length -> EINVAL");
  ok(es_sigv4_sha256_hex(NULL, "a", 1, hex) == ES_EINVAL, "sha256_hex NULL signer -> EINVAL");

  es_sigv4_result_free(&r);
  es_sigv4_result_free(&r);       /* idempotent */
  es_sigv4_result_free(NULL);
  es_sigv4_signer_free(s);
  es_sigv4_signer_free(NULL);
  es_sigv4_set_clock(NULL, NULL, NULL);
}

/*
 * The typical EKS call. Expected signatures were produced once with botocore
 * 1.29.27 (Debian python3-botocore) by /usr/bin/python3:
 *
 *   creds = Credentials('AKIDEXAMPLE', 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', TOKEN)
 *   with mock.patch('botocore.auth.datetime.datetime', <utcnow() = 2026-03-14 09:26:53>):
 *     req = AWSRequest(method='POST',
 *                      url='https://eks.us-west-2.amazonaws.com/clusters/prod/update-config',
 *                      data=BODY.encode(), headers={'Content-Type': 'application/json'})
 *     SigV4Auth(creds, 'eks', 'us-west-2').add_auth(req)
 *     -> SignedHeaders=content-type;host;x-amz-date;x-amz-security-token,
 *        Signature=c1eba27d...
 *     req2 = AWSRequest(method='GET', url='https://sts.us-west-2.amazonaws.com/'
 *                       '?Action=GetCallerIdentity&Version=2011-06-15',
 *                       headers={'x-k8s-aws-id': 'prod'})
 *     SigV4QueryAuth(creds, 'sts', 'us-west-2', expires=60).add_auth(req2)
 *     -> X-Amz-Signature=fa391f10...
 */
#define EKS_TOKEN "FwoGZXIvYXdzEJr//////////wEaDExampleSessionToken+abc/def=="
#define EKS_BODY                                                                                 \
  "{\"resourcesVpcConfig\":{\"controlPlaneEgressMode\":\"PRIVATE\",\"endpointPrivateAccess\":"   \
  "true,\"endpointPublicAccess\":false},\"clientRequestToken\":\"8f14e45f-ceea-467f-a0e6-"       \
  "1b2c3d4e5f60\",\"tags\":{\"a\":\"b\"}      }"

static void test_botocore(void)
{
  struct es_sigv4_signer *s = es_sigv4_signer_new(0);
  struct es_sigv4_request req;
  struct es_header h[2];
  struct es_sigv4_result r;
  time_t t = 1773480413;   /* 2026-03-14T09:26:53Z */
  int i;

  if(!ok(s != NULL, "signer for botocore tests"))
    return;
  es_sigv4_set_clock(s, fixed_clock, &t);
  es_sigv4_result_init(&r);
  ok(strlen(EKS_BODY) == 200, "EKS body is 200 bytes");

  memset(&req, 0, sizeof(req));
  h[0].name = "Host";
  h[0].name_len = 4;
  h[0].value = "eks.us-west-2.amazonaws.com";
  h[0].value_len = strlen(h[0].value);
  h[1].name = "Content-Type";
  h[1].name_len = 12;
  h[1].value = "application/json";
  h[1].value_len = 16;
  req.method = "POST";
  req.target = "/clusters/prod/update-config";
  req.target_len = strlen(req.target);
  req.headers = h;
  req.n_headers = 2;
  req.body = EKS_BODY;
  req.body_len = 200;
  req.region = "us-west-2";
  req.service = "eks";
  req.creds.access_key_id = AKID;
  req.creds.secret_access_key = SECRET;
  req.creds.session_token = EKS_TOKEN;
  req.placement = ES_SIGV4_HEADER;
  req.flags = ES_SIGV4_DEFAULT_FLAGS;
  /* Twice: the second signing reuses the result and hits the key cache. */
  for(i = 0; i < 2; i++) {
    ok(es_sigv4_sign(s, &req, &r) == ES_OK, "EKS POST signs (%d)", i);
    is_str(r.signature, "c1eba27d9db4874a44b26d88eb7b140321c41545763bbca30ff9628107130a70",
           "EKS POST signature equals botocore's (%d)", i);
  }
  ok(r.n_headers == 5, "EKS POST result has 5 headers");
  if(r.n_headers == 5) {
    is_str(r.headers[2].name, "X-Amz-Security-Token", "header 3 name");
    is_str(r.headers[2].value, EKS_TOKEN, "header 3 value");
    is_str(r.headers[3].name, "X-Amz-Date", "header 4 name");
    is_str(r.headers[3].value, "20260314T092653Z", "header 4 value");
    is_str(r.headers[4].name, "Authorization", "header 5 name");
    is_str(r.headers[4].value,
           "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260314/us-west-2/eks/aws4_request, "
           "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, "
           "Signature=c1eba27d9db4874a44b26d88eb7b140321c41545763bbca30ff9628107130a70",
           "Authorization equals botocore's");
  }
  is_str(r.target.data, "/clusters/prod/update-config", "header placement keeps the target");

  /* STS presign (the EKS token shape) */
  h[0].value = "sts.us-west-2.amazonaws.com";
  h[0].value_len = strlen(h[0].value);
  h[1].name = "x-k8s-aws-id";
  h[1].name_len = 12;
  h[1].value = "prod";
  h[1].value_len = 4;
  req.method = "GET";
  req.target = "/?Action=GetCallerIdentity&Version=2011-06-15";
  req.target_len = strlen(req.target);
  req.body = NULL;
  req.body_len = 0;
  req.region = "us-west-2";
  req.service = "sts";
  req.placement = ES_SIGV4_QUERY;
  req.expires = 60;
  ok(es_sigv4_sign(s, &req, &r) == ES_OK, "STS presign signs");
  is_str(r.signature, "fa391f1048e83da1b16b7b949b1a43b0e4253dd8e810f780db9483ef5a7c97c1",
         "STS presign signature equals botocore's");
  is_str(r.target.data,
         "/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256"
         "&X-Amz-Credential=AKIDEXAMPLE%2F20260314%2Fus-west-2%2Fsts%2Faws4_request"
         "&X-Amz-Date=20260314T092653Z&X-Amz-SignedHeaders=host%3Bx-k8s-aws-id&X-Amz-Expires=60"
         "&X-Amz-Security-Token=FwoGZXIvYXdzEJr%2F%2F%2F%2F%2F%2F%2F%2F%2F%2FwEaDExampleSessionToken"
         "%2Babc%2Fdef%3D%3D"
         "&X-Amz-Signature=fa391f1048e83da1b16b7b949b1a43b0e4253dd8e810f780db9483ef5a7c97c1",
         "STS presigned target");
  ok(r.n_headers == 2, "query placement returns the caller's headers only");
  es_sigv4_result_free(&r);
  es_sigv4_signer_free(s);
}

/* One result reused across placements and signers gives exactly what a
   fresh result gives (no stale bytes, no stale header count). */
static void test_result_reuse(void)
{
  struct es_sigv4_signer *s = es_sigv4_signer_new(0);
  struct es_sigv4_request req;
  struct es_header h[3];
  struct es_sigv4_result reused, fresh;
  static const char *const targets[] = {"/a/b?x=1", "/", "/long/path/with/more/segments?z=9&a=1"};
  int i;

  if(!ok(s != NULL, "signer for reuse tests"))
    return;
  es_sigv4_result_init(&reused);
  for(i = 0; i < 6; i++) {
    int rc1, rc2;
    base_request(&req, h, targets[i % 3]);
    req.placement = (i & 1) ? ES_SIGV4_QUERY : ES_SIGV4_HEADER;
    req.expires = 300;
    if(i >= 3)
      req.creds.session_token = "TOKEN/with+chars==";
    if(i == 4) {
      h[1].name = "X-Extra";
      h[1].name_len = 7;
      h[1].value = "  a   b  ";
      h[1].value_len = 9;
      req.n_headers = 2;
    }
    es_sigv4_result_init(&fresh);
    rc1 = es_sigv4_sign(s, &req, &reused);
    rc2 = es_sigv4_sign(s, &req, &fresh);
    ok(rc1 == ES_OK && rc2 == ES_OK, "reuse round %d signs", i);
    is_str(reused.canonical_request.data, fresh.canonical_request.data, "reuse round %d canonical request", i);
    is_str(reused.target.data, fresh.target.data, "reuse round %d target", i);
    ok(reused.n_headers == fresh.n_headers, "reuse round %d header count", i);
    if(reused.n_headers == fresh.n_headers && reused.n_headers > 0)
      is_str(reused.headers[reused.n_headers - 1].value, fresh.headers[fresh.n_headers - 1].value,
             "reuse round %d last header", i);
    es_sigv4_result_free(&fresh);
  }
  /* a failure in between leaves the reused result empty but usable */
  base_request(&req, h, "/");
  req.region = "";
  ok(es_sigv4_sign(s, &req, &reused) == ES_EINVAL && reused.n_headers == 0 &&
       reused.canonical_request.len == 0,
     "failed signing empties a reused result");
  req.region = "us-east-1";
  ok(es_sigv4_sign(s, &req, &reused) == ES_OK, "and it signs again afterwards");
  is_str(reused.signature, "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
         "get-vanilla signature after reuse");

  /* SIGN_BODY with the caller's own, matching x-amz-content-sha256 */
  base_request(&req, h, "/");
  req.method = "POST";
  req.body = "Param1=value1";
  req.body_len = 13;
  req.flags |= ES_SIGV4_SIGN_BODY;
  h[1].name = "X-Amz-Content-Sha256";
  h[1].name_len = 20;
  h[1].value = "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e";
  h[1].value_len = 64;
  req.n_headers = 2;
  ok(es_sigv4_sign(s, &req, &reused) == ES_OK, "matching caller x-amz-content-sha256 accepted");
  ok(reused.n_headers == 4, "and not added twice (%zu headers)", reused.n_headers);
  ok(strstr(reused.canonical_request.data,
            "\nx-amz-content-sha256:9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e\n") !=
       NULL,
     "caller x-amz-content-sha256 is signed");
  es_sigv4_result_free(&reused);
  es_sigv4_signer_free(s);
}

int main(void)
{
  struct es_sigv4_signer *s;
  test_suite();
  test_uri_encode();
  s = es_sigv4_signer_new(0);
  if(ok(s != NULL, "signer for canonicalization tests")) {
    test_paths(s);
    test_long_lists(s);
  }
  es_sigv4_signer_free(s);
  test_cache();
  test_clock();
  test_errors();
  test_result_reuse();
  test_botocore();
  return done_testing();
}
