/*
 * test_engine.c: the HTTP engine over real HTTP on 127.0.0.1 against
 * csrc/tests/faultserver.py (started here; it exits when our pipe closes).
 *
 * Proves: retries and their limit, backoff bounds (recorded delays against the
 * formula with the same seeded RNG), the retry quota (empties, stops retries,
 * refunds), timeouts, connection resets, the size limit, re-signing with a
 * fresh time on every attempt, clock-skew correction, 200 concurrent requests,
 * keep-alive reuse, cancel, and the guard wiring. No assertion depends on
 * elapsed time: timeouts are chosen far apart (250 ms vs a 3 s stall).
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine.h"
#include "engine_retry.h"
#include "es_error.h"
#include "faultserver.h"
#include "tap.h"

static char base_url[64];
static char tls_url[64];
static char ca_file[512];
static char host_hdr[64];

#define H(n, v) {n, sizeof(n) - 1, v, sizeof(v) - 1}

/* ---- the fault server ------------------------------------------------------ */

static struct faultserver fsrv;

static int start_server(void)
{
  if(faultserver_start(&fsrv) != 0)
    return -1;
  snprintf(base_url, sizeof(base_url), "%s", fsrv.base_url);
  snprintf(tls_url, sizeof(tls_url), "%s", fsrv.tls_url);
  snprintf(ca_file, sizeof(ca_file), "%s", fsrv.ca_file);
  snprintf(host_hdr, sizeof(host_hdr), "%s", fsrv.host);
  return 0;
}

static void stop_server(void)
{
  faultserver_stop(&fsrv);
}

/* ---- helpers ---------------------------------------------------------------------- */

/* 1: the engines of test_config() wait with poll(2) instead of epoll (the
   second pass of main runs the transfer tests again on that backend). */
static int use_poll_backend;

static struct es_engine_config test_config(void)
{
  struct es_engine_config c;
  es_engine_config_init(&c);
  c.use_poll = use_poll_backend;
  c.backoff_base_s = 0.002;   /* tiny waits: the formula is checked, not the clock */
  c.backoff_cap_s = 0.02;
  c.connect_timeout_ms = 2000;
  c.timeout_ms = 10000;
  c.seed = 7;
  return c;
}

static void url_of(char *buf, size_t n, const char *path)
{
  snprintf(buf, n, "%s%s", base_url, path);
}

/* Drive the engine until the response for id completes; other completed
   responses are freed. */
static struct es_http_response *wait_for(struct es_engine *e, unsigned long long id)
{
  struct es_http_response *r, *found = NULL;
  int loops = 0;
  while(!found && loops++ < 4000) {
    while((r = es_engine_next_done(e))) {
      if(r->id == id && !found)
        found = r;
      else
        es_http_response_free(r);
    }
    if(found)
      break;
    if(es_engine_step(e, 50) < 0)
      break;
  }
  return found;
}

static struct es_http_response *run(struct es_engine *e, struct es_http_request *req)
{
  unsigned long long id = 0;
  if(es_engine_submit(e, req, &id) != ES_OK)
    return NULL;
  return wait_for(e, id);
}

static struct es_http_response *get(struct es_engine *e, const char *path)
{
  struct es_http_request req;
  char url[256];
  memset(&req, 0, sizeof(req));
  url_of(url, sizeof(url), path);
  req.method = "GET";
  req.url = url;
  return run(e, &req);
}

static void init_signed(struct es_http_request *req, const char *method, const char *url)
{
  memset(req, 0, sizeof(*req));
  req->method = method;
  req->url = url;
  req->sign = 1;
  req->region = "us-east-1";
  req->service = "execute-api";
  req->creds.access_key_id = "AKIDEXAMPLE";
  req->creds.secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
  req->creds.session_token = "SESSIONTOKEN-EXAMPLE";
  req->sigv4_flags = ES_SIGV4_DEFAULT_FLAGS;
}

/* A JSON integer field of a server answer (/count, /stats), -1 on failure. */
static long json_int(struct es_engine *e, const char *path, const char *field)
{
  struct es_http_response *r = get(e, path);
  json_t *j;
  long v = -1;
  if(!r)
    return -1;
  j = json_loadb(r->body.data ? r->body.data : "", r->body.len, 0, NULL);
  if(json_is_integer(json_object_get(j, field)))
    v = (long)json_integer_value(json_object_get(j, field));
  json_decref(j);
  es_http_response_free(r);
  return v;
}

static long server_count(struct es_engine *e, const char *key)
{
  char p[128];
  snprintf(p, sizeof(p), "/count?of=%s", key);
  return json_int(e, p, "count");
}

static long path_count(struct es_engine *e, const char *path)
{
  char p[256];
  snprintf(p, sizeof(p), "/count?path=%s", path);
  return json_int(e, p, "count");
}

/* ---- tests ------------------------------------------------------------------------ */

static void test_basic(struct es_engine *e)
{
  struct es_http_response *r = get(e, "/ok");
  size_t i;
  int lower = 1;
  ok(r != NULL, "GET /ok completes");
  if(!r)
    return;
  ok(r->status == 200 && r->error == 0, "200, no error");
  ok(r->attempts == 1 && r->attempt[0].status == 200 && r->attempt[0].delay_ms == 0,
     "one attempt, not delayed");
  ok(r->body.data && strstr(r->body.data, "\"ok\": true") != NULL, "body kept");
  ok(r->date[0] != '\0', "Date header kept: %s", r->date);
  ok(strncmp(r->request_id, "fault-req-", 10) == 0, "request id from x-amzn-RequestId");
  for(i = 0; i < r->n_headers; i++)
    if(strcspn(r->headers[i].name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != r->headers[i].name_len)
      lower = 0;
  ok(lower && r->n_headers >= 4, "response header names lower-case (%zu headers)", r->n_headers);
  is_str(es_http_response_header(r, "Content-Type"), "application/json", "header lookup");
  ok(r->http_version == 11, "HTTP/1.1 (got %d)", r->http_version);
  ok(r->aws_code[0] == '\0' && !r->retryable && !r->throttling, "no error shape on success");
  ok(r->total_ms >= 0, "total_ms recorded");
  ok(es_engine_retry_quota(e) == 500, "success at capacity keeps the quota full");
  es_http_response_free(r);
  ok(es_engine_step(e, 0) == 0, "nothing pending: step returns 0");
  ok(es_engine_next_done(e) == NULL, "no stray responses");
}

static void test_validation(struct es_engine *e)
{
  struct es_http_request req;
  struct es_header crlf[] = {H("X-Bad", "a\r\nInjected: 1")};
  struct es_header badname[] = {H("Bad Name", "v")};
  char url[256];
  memset(&req, 0, sizeof(req));
  req.method = "GET";
  req.url = "ftp://127.0.0.1/";
  ok(es_engine_submit(e, &req, NULL) == ES_EINVAL, "non-http scheme refused");
  req.url = "http://user:pw@127.0.0.1/";
  ok(es_engine_submit(e, &req, NULL) == ES_EINVAL, "userinfo refused");
  req.url = "http://127.0.0.1/a b";
  ok(es_engine_submit(e, &req, NULL) == ES_EINVAL, "space in URL refused");
  req.url = "http://127.0.0.1/a#frag";
  ok(es_engine_submit(e, &req, NULL) == ES_EINVAL, "fragment refused");
  req.url = "http://127.0.0.1:8x/";
  ok(es_engine_submit(e, &req, NULL) == ES_EINVAL, "bad port refused");
  url_of(url, sizeof(url), "/ok");
  req.url = url;
  req.method = "GE T";
  ok(es_engine_submit(e, &req, NULL) == ES_EINVAL, "bad method refused");
  req.method = "GET";
  req.headers = crlf;
  req.n_headers = 1;
  ok(es_engine_submit(e, &req, NULL) == ES_EINVAL, "CR/LF in a header value refused");
  req.headers = badname;
  ok(es_engine_submit(e, &req, NULL) == ES_EINVAL, "bad header name refused");
  init_signed(&req, "GET", url);
  req.creds.secret_access_key = NULL;
  ok(es_engine_submit(e, &req, NULL) == ES_EINVAL, "signing without a secret refused");
  ok(es_engine_step(e, 0) == 0 && es_engine_done_count(e) == 0, "refused submits queue nothing");
}

static void test_retries(struct es_engine *e)
{
  struct es_http_response *r;
  struct es_http_request req;
  char url[256];

  r = get(e, "/throttle?n=2&k=t1");
  ok(r && r->status == 200 && r->attempts == 3, "json throttled twice, third attempt succeeds");
  if(r) {
    ok(r->attempt[0].status == 429 && r->attempt[1].status == 429 && r->attempt[2].status == 200,
       "per-attempt statuses 429, 429, 200");
    is_str(r->attempt[0].aws_code, "ThrottlingException", "attempt 1 code");
    ok(!r->retryable && !r->throttling, "final outcome is a success");
  }
  es_http_response_free(r);
  ok(server_count(e, "t1") == 3, "server saw 3 requests");

  r = get(e, "/throttle?n=2&k=t2&style=ec2");
  ok(r && r->status == 200 && r->attempts == 3, "EC2 503 RequestLimitExceeded retried");
  if(r)
    ok(r->attempt[0].status == 503 && strcmp(r->attempt[0].aws_code, "RequestLimitExceeded") == 0,
       "attempt 1 was 503 RequestLimitExceeded");
  es_http_response_free(r);

  r = get(e, "/throttle?k=t3");
  ok(r && r->status == 429 && r->attempts == 3, "always throttled: stops at max attempts (3)");
  if(r) {
    ok(r->retryable && r->throttling && !r->quota_exhausted, "final: retryable throttling");
    is_str(r->aws_code, "ThrottlingException", "final aws_code");
    is_str(r->aws_message, "injected failure 3", "final aws_message");
  }
  es_http_response_free(r);
  ok(server_count(e, "t3") == 3, "server saw exactly 3");

  memset(&req, 0, sizeof(req));
  url_of(url, sizeof(url), "/5xx?k=t4");
  req.method = "GET";
  req.url = url;
  req.max_attempts = 5;
  r = run(e, &req);
  ok(r && r->status == 500 && r->attempts == 5, "per-request max_attempts 5");
  es_http_response_free(r);
  req.max_attempts = 1;
  url_of(url, sizeof(url), "/5xx?k=t5");
  r = run(e, &req);
  ok(r && r->status == 500 && r->attempts == 1 && r->retryable, "max_attempts 1: no retry");
  es_http_response_free(r);

  r = get(e, "/5xx?n=1&k=t6");
  ok(r && r->status == 200 && r->attempts == 2, "500 then 200");
  es_http_response_free(r);
  r = get(e, "/fail?n=1&k=t7&status=503&code=ServiceUnavailable");
  ok(r && r->status == 200 && r->attempts == 2, "503 then 200");
  es_http_response_free(r);
  r = get(e, "/fail?n=1&k=t8&status=400&code=RequestTimeoutException");
  ok(r && r->status == 200 && r->attempts == 2, "400 RequestTimeoutException is transient");
  es_http_response_free(r);

  r = get(e, "/fail?k=f1");
  ok(r && r->status == 400 && r->attempts == 1, "400 ValidationException never retried");
  if(r) {
    is_str(r->aws_code, "ValidationException", "code from x-amzn-ErrorType");
    ok(!r->retryable && !r->throttling, "classified not retryable");
  }
  es_http_response_free(r);
  r = get(e, "/fail?k=f2&status=501&code=NotImplemented");
  ok(r && r->status == 501 && r->attempts == 1, "501 not retried");
  es_http_response_free(r);
  r = get(e, "/fail?k=f3&status=400&code=InvalidParameterValue&style=ec2");
  ok(r && r->attempts == 1, "EC2 4xx not retried");
  if(r) {
    is_str(r->aws_code, "InvalidParameterValue", "EC2 code parsed from XML");
    is_str(r->request_id, "ec2-req-1", "EC2 RequestID from the body");
  }
  es_http_response_free(r);
  r = get(e, "/fail?k=f4&status=400&code=Throttling&style=query");
  ok(r && r->attempts == 3 && r->throttling, "query Throttling (400) retried");
  if(r)
    is_str(r->request_id, "query-req-1", "query RequestId from the body");
  es_http_response_free(r);
}

static void test_backoff_bounds(void)
{
  struct es_engine_config c = test_config();
  struct es_engine *e;
  struct es_http_request req;
  struct es_http_response *r;
  struct es_rng rng;
  char url[256];
  int i, bounded = 1, exact = 1;

  c.seed = 12345;
  c.max_attempts = 6;
  c.backoff_base_s = 0.001;
  c.backoff_cap_s = 0.004;
  e = es_engine_new(&c, NULL);
  memset(&req, 0, sizeof(req));
  url_of(url, sizeof(url), "/5xx?k=b1");
  req.method = "GET";
  req.url = url;
  r = run(e, &req);
  ok(r && r->attempts == 6, "six attempts");
  es_rng_seed(&rng, 12345);
  for(i = 0; r && i < r->attempts; i++) {
    double d = r->attempt[i].delay_ms, bound;
    if(i == 0) {
      if(d != 0)
        bounded = 0;
      continue;
    }
    bound = 1000.0 * fmin(0.001 * pow(2, i - 1), 0.004);
    if(!(d >= 0 && d <= bound))
      bounded = 0;
    if(fabs(d - 1000.0 * es_retry_backoff(0.001, 0.004, i + 1, es_rng_uniform(&rng))) > 1e-9)
      exact = 0;
    diag("attempt %d: delay %.4f ms (bound %.1f ms)", i + 1, d, bound);
  }
  ok(bounded, "0 <= delay <= min(base*2^(n-1), cap), first attempt not delayed");
  ok(exact, "delays equal the formula with the same seeded RNG");
  es_http_response_free(r);
  es_engine_free(e);
}

static void test_quota(void)
{
  struct es_engine_config c = test_config();
  struct es_engine *e;
  struct es_http_request req;
  struct es_http_response *r;
  char url[256];

  c.quota_capacity = 10;
  c.max_attempts = 5;
  e = es_engine_new(&c, NULL);
  ok(es_engine_retry_quota(e) == 10, "quota starts at capacity 10");
  r = get(e, "/5xx?n=1&k=q1");
  ok(r && r->status == 200 && r->attempts == 2, "one retry, then success");
  es_http_response_free(r);
  ok(es_engine_retry_quota(e) == 10, "success after a retry refunds its cost (5)");

  r = get(e, "/5xx?k=q2");
  ok(r && r->status == 500 && r->attempts == 3 && r->quota_exhausted,
     "quota 10 allows two retries of 5, then stops (attempts %d)", r ? r->attempts : -1);
  ok(es_engine_retry_quota(e) == 0, "quota empty");
  es_http_response_free(r);
  r = get(e, "/5xx?k=q3");
  ok(r && r->attempts == 1 && r->quota_exhausted && r->retryable && r->status == 500,
     "empty quota: no retry, last error returned");
  es_http_response_free(r);
  r = get(e, "/ok");
  es_http_response_free(r);
  ok(es_engine_retry_quota(e) == 1, "success without retry refunds 1");
  es_engine_free(e);

  /* Timeouts cost 10. */
  c = test_config();
  c.quota_capacity = 15;
  c.max_attempts = 3;
  e = es_engine_new(&c, NULL);
  memset(&req, 0, sizeof(req));
  url_of(url, sizeof(url), "/stall?ms=3000&k=q4");
  req.method = "GET";
  req.url = url;
  req.timeout_ms = 250;
  r = run(e, &req);
  ok(r && r->error == ES_ETIMEOUT && r->attempts == 2 && r->quota_exhausted,
     "timeout retry costs 10: 15 tokens allow one");
  ok(es_engine_retry_quota(e) == 5, "5 tokens left");
  es_http_response_free(r);
  es_engine_free(e);
}

static void test_timeouts(struct es_engine *e)
{
  struct es_http_request req;
  struct es_http_response *r;
  char url[256];
  memset(&req, 0, sizeof(req));
  req.method = "GET";
  req.url = url;
  req.timeout_ms = 250;
  req.max_attempts = 2;
  url_of(url, sizeof(url), "/stall?ms=3000&k=s1");
  r = run(e, &req);
  ok(r && r->error == ES_ETIMEOUT && r->status == 0 && r->attempts == 2,
     "stalled server: timeout on both attempts");
  if(r) {
    ok(r->attempt[0].error == ES_ETIMEOUT && r->attempt[1].error == ES_ETIMEOUT,
       "per-attempt error Timeout");
    ok(r->retryable && r->error_message[0], "retryable, message: %s", r->error_message);
    ok(r->body.len == 0, "no body on a transport error");
  }
  es_http_response_free(r);
  url_of(url, sizeof(url), "/stall?ms=3000&n=1&k=s2");
  r = run(e, &req);
  ok(r && r->status == 200 && r->attempts == 2 && r->attempt[0].error == ES_ETIMEOUT,
     "timeout then success");
  es_http_response_free(r);
}

static void test_reset(void)
{
  /* A fresh engine: the first attempt opens a new connection, so libcurl's own
     retry of a dead reused connection cannot blur the count. */
  struct es_engine_config c = test_config();
  struct es_engine *e = es_engine_new(&c, NULL);
  struct es_http_response *r;
  r = get(e, "/reset?n=1&k=r1");
  ok(r && r->status == 200 && r->attempts == 2, "reset, then success");
  if(r)
    ok(r->attempt[0].error == ES_ECONNRESET, "attempt 1: ConnectionReset (%s)",
       es_errname(r->attempt[0].error));
  es_http_response_free(r);
  r = get(e, "/reset?k=r2");
  ok(r && r->error == ES_ECONNRESET && r->attempts == 3 && r->retryable,
     "always reset: ConnectionReset after 3 attempts");
  es_http_response_free(r);
  es_engine_free(e);

  {
    struct es_http_request req;
    memset(&req, 0, sizeof(req));
    req.method = "GET";
    req.url = "http://127.0.0.1:1/";   /* nothing listens on port 1 */
    req.max_attempts = 2;
    e = es_engine_new(&c, NULL);
    r = run(e, &req);
    ok(r && r->error == ES_ECONNECT && r->attempts == 2, "connection refused: ConnectionError, retried");
    es_http_response_free(r);
    es_engine_free(e);
  }
}

static void test_size_limit(void)
{
  struct es_engine_config c = test_config();
  struct es_engine *e;
  struct es_http_response *r;
  c.max_response_bytes = 100000;
  e = es_engine_new(&c, NULL);
  r = get(e, "/big?size=200000");
  ok(r && r->error == ES_ETOOBIG && r->attempts == 1, "Content-Length over the limit: ResponseTooLarge");
  es_http_response_free(r);
  r = get(e, "/big?size=200000&chunked=1");
  ok(r && r->error == ES_ETOOBIG && r->attempts == 1 && r->body.len == 0,
     "chunked body over the limit: aborted");
  es_http_response_free(r);
  r = get(e, "/big?size=100000&chunked=1");
  ok(r && r->status == 200 && r->error == 0 && r->body.len == 100000, "exactly the limit is fine");
  es_http_response_free(r);
  es_engine_free(e);
}

struct fake_clock {
  time_t base;
  long calls;
};

/* A wall clock that advances one second per reading: every attempt signs with a new time. */
static time_t ticking_clock(void *ud)
{
  struct fake_clock *fc = ud;
  return fc->base + fc->calls++;
}

static const char *hdr_of(json_t *entry, const char *name, int *count)
{
  json_t *hs = json_object_get(entry, "headers"), *h;
  size_t i;
  const char *v = NULL;
  *count = 0;
  json_array_foreach(hs, i, h) {
    const char *n = json_string_value(json_array_get(h, 0));
    if(n && strcasecmp(n, name) == 0) {
      (*count)++;
      if(!v)
        v = json_string_value(json_array_get(h, 1));
    }
  }
  return v;
}

static void test_resign(void)
{
  struct es_engine_config c = test_config();
  struct fake_clock fc = {0, 0};
  struct es_engine *e;
  struct es_http_request req;
  struct es_http_response *r;
  struct es_header hs[] = {
    H("Content-Type", "application/json"),
    H("X-Amz-Date", "20000101T000000Z"),
    H("Authorization", "AWS4-HMAC-SHA256 stale"),
    H("X-Amz-Security-Token", "stale-token"),
  };
  char url[256];
  json_t *j, *reqs;
  size_t i;
  int distinct_date = 1, distinct_auth = 1, singles = 1, signed_ok = 1, clean = 1, verified = 1;
  const char *prev_date = NULL, *prev_auth = NULL;

  fc.base = time(NULL);
  c.wall_clock = ticking_clock;
  c.clock_ud = &fc;
  e = es_engine_new(&c, NULL);
  url_of(url, sizeof(url), "/throttle?n=2&k=rs1");
  init_signed(&req, "POST", url);
  req.headers = hs;
  req.n_headers = 4;
  req.body = "{\"a\":1}";
  req.body_len = 7;
  r = run(e, &req);
  ok(r && r->status == 200 && r->attempts == 3, "signed POST throttled twice, then 200");
  es_http_response_free(r);

  r = get(e, "/log?of=rs1");
  j = r ? json_loadb(r->body.data, r->body.len, 0, NULL) : NULL;
  reqs = json_object_get(j, "requests");
  ok(json_array_size(reqs) == 3, "server logged 3 attempts");
  for(i = 0; i < json_array_size(reqs); i++) {
    json_t *ent = json_array_get(reqs, i);
    int n_date, n_auth, n_tok, n_host, n_exp, n_ct, n;
    const char *date = hdr_of(ent, "X-Amz-Date", &n_date);
    const char *auth = hdr_of(ent, "Authorization", &n_auth);
    const char *tok = hdr_of(ent, "X-Amz-Security-Token", &n_tok);
    const char *host = hdr_of(ent, "Host", &n_host);
    const char *ct = hdr_of(ent, "Content-Type", &n_ct);
    const char *sh;
    (void)hdr_of(ent, "Expect", &n_exp);
    if(n_date != 1 || n_auth != 1 || n_tok != 1 || n_host != 1 || n_ct != 1)
      singles = 0;
    if(!date || !auth || (prev_date && strcmp(prev_date, date) == 0))
      distinct_date = 0;
    if(!auth || (prev_auth && strcmp(prev_auth, auth) == 0))
      distinct_auth = 0;
    if(!date || strcmp(date, "20000101T000000Z") == 0 || !auth || strstr(auth, "stale") ||
       !tok || strcmp(tok, "SESSIONTOKEN-EXAMPLE") != 0 || n_exp != 0 || !ct ||
       strcmp(ct, "application/json") != 0 ||
       strcmp(json_string_value(json_object_get(ent, "body")), "{\"a\":1}") != 0)
      clean = 0;
    if(!host || strcmp(host, host_hdr) != 0)
      clean = 0;
    if(!json_string_value(json_object_get(ent, "sigv4")) ||
       strcmp(json_string_value(json_object_get(ent, "sigv4")), "ok") != 0)
      verified = 0;
    /* Every signed header is on the wire. */
    sh = auth ? strstr(auth, "SignedHeaders=") : NULL;
#define SH "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token,"
    if(!sh || strncmp(sh, SH, strlen(SH)) != 0)
      signed_ok = 0;
    if(!auth || strncmp(auth, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/", 40) != 0)
      signed_ok = 0;
    (void)n;
    diag("attempt %zu: X-Amz-Date %s", i + 1, date ? date : "-");
    if(!signed_ok)
      diag("Authorization: %s", auth ? auth : "-");
    prev_date = date;
    prev_auth = auth;
  }
  ok(distinct_date, "X-Amz-Date differs on every attempt");
  ok(distinct_auth, "Authorization differs on every attempt");
  ok(singles, "exactly one Date/Authorization/token/Host/Content-Type per attempt");
  ok(clean, "caller's stale auth headers dropped; Host, token, body, Content-Type as signed; no Expect");
  ok(signed_ok, "SignedHeaders covers content-type, host, x-amz-date, token");
  ok(verified, "the server's independent SigV4 check accepts every attempt as received");
  json_decref(j);
  es_http_response_free(r);

  /* A query string needing canonicalisation, and an unsigned request. */
  url_of(url, sizeof(url), "/ok?z=1&k=sq1&a=hello%20world&empty=&b=%7E~");
  init_signed(&req, "GET", url);
  req.creds.session_token = NULL;
  r = run(e, &req);
  ok(r && r->status == 200, "signed GET with a query string");
  es_http_response_free(r);
  url_of(url, sizeof(url), "/ok?k=sq1");
  memset(&req, 0, sizeof(req));
  req.method = "GET";
  req.url = url;
  r = run(e, &req);
  es_http_response_free(r);
  r = get(e, "/log?of=sq1");
  j = r ? json_loadb(r->body.data, r->body.len, 0, NULL) : NULL;
  reqs = json_object_get(j, "requests");
  ok(json_array_size(reqs) == 2 &&
       strcmp(json_string_value(json_object_get(json_array_get(reqs, 0), "sigv4")), "ok") == 0 &&
       strcmp(json_string_value(json_object_get(json_array_get(reqs, 1), "sigv4")), "none") == 0,
     "query string signed as sent; unsigned request carries no Authorization");
  {
    int n_tok;
    ok(hdr_of(json_array_get(reqs, 0), "X-Amz-Security-Token", &n_tok) == NULL && n_tok == 0,
       "no session token header without a token");
  }
  json_decref(j);
  es_http_response_free(r);
  es_engine_free(e);
}

static void test_skew(void)
{
  struct es_engine_config c = test_config();
  struct es_engine *e = es_engine_new(&c, NULL);
  struct es_http_request req;
  struct es_http_response *r;
  unsigned long long ids[5];
  char url[256];
  long off;
  int i, all = 1;

  url_of(url, sizeof(url), "/skew?ahead=3600&k=sk1");
  init_signed(&req, "GET", url);
  ok(es_engine_clock_offset(e) == 0, "offset starts at 0");
  r = run(e, &req);
  ok(r && r->status == 200 && r->attempts == 2, "skewed 403 then 200 after correction");
  off = es_engine_clock_offset(e);
  ok(off >= 3590 && off <= 3610, "offset learned from Date (%ld s)", off);
  if(r) {
    ok(r->attempt[0].status == 403 && strcmp(r->attempt[0].aws_code, "InvalidSignatureException") == 0,
       "attempt 1: 403 InvalidSignatureException");
    ok(r->clock_skew_corrected, "response flags the correction");
  }
  es_http_response_free(r);
  r = run(e, &req);
  ok(r && r->status == 200 && r->attempts == 1, "next request signs with the offset: one attempt");
  es_http_response_free(r);

  /* A skew code without a skewed Date: nothing to correct, not retried. */
  url_of(url, sizeof(url), "/fail?k=sk2&status=403&code=SignatureDoesNotMatch&style=query");
  init_signed(&req, "GET", url);
  es_engine_set_clock_offset(e, 0);
  r = run(e, &req);
  ok(r && r->status == 403 && r->attempts == 1 && !r->retryable && !r->clock_skew_corrected,
     "SignatureDoesNotMatch with a sane clock: not retried");
  es_http_response_free(r);
  ok(es_engine_clock_offset(e) == 0, "offset untouched");

  /* Concurrent requests all signed with the bad clock: one corrects, all retry once. */
  url_of(url, sizeof(url), "/skew?ahead=-3600&k=sk3");
  init_signed(&req, "GET", url);
  for(i = 0; i < 5; i++)
    es_engine_submit(e, &req, &ids[i]);
  for(i = 0; i < 5;) {
    if(es_engine_step(e, 50) < 0)
      break;
    while((r = es_engine_next_done(e))) {
      if(r->status != 200 || r->attempts != 2) {
        all = 0;
        diag("request %d: status %ld attempts %d code %s", i, r->status, r->attempts, r->aws_code);
      }
      es_http_response_free(r);
      i++;
    }
  }
  (void)ids;
  ok(all, "5 concurrent skewed requests: each retried once and succeeded");
  off = es_engine_clock_offset(e);
  ok(off <= -3590 && off >= -3610, "offset now about -3600 (%ld)", off);

  /* Unsigned requests never retry on skew codes. */
  es_engine_set_clock_offset(e, 0);
  memset(&req, 0, sizeof(req));
  url_of(url, sizeof(url), "/skew?ahead=3600&k=sk4");
  req.method = "GET";
  req.url = url;
  r = run(e, &req);
  ok(r && r->status == 403 && r->attempts == 1, "unsigned: skew error returned as is");
  es_http_response_free(r);
  es_engine_free(e);
}

static void test_concurrency(void)
{
  struct es_engine_config c = test_config();
  struct es_engine *e = es_engine_new(&c, NULL), *probe = es_engine_new(&c, NULL);
  struct es_http_request req;
  struct es_http_response *r;
  char url[256];
  enum { N = 200 };
  static unsigned char seen[N];
  int i, n_done = 0, all_ok = 1, ids_ok = 1, loops = 0;
  long c0, c1;

  c0 = json_int(probe, "/stats", "connections");
  memset(seen, 0, sizeof(seen));   /* static: main runs this test once per backend */
  memset(&req, 0, sizeof(req));
  req.method = "GET";
  req.url = url;
  for(i = 0; i < N; i++) {
    snprintf(url, sizeof(url), "%s/ok?k=cc%d", base_url, i);
    req.user_id = (unsigned long long)i;
    if(es_engine_submit(e, &req, NULL) != ES_OK)
      all_ok = 0;
  }
  ok(all_ok, "200 submitted");
  while(n_done < N && loops++ < 2000) {
    es_engine_step(e, 50);
    while((r = es_engine_next_done(e))) {
      if(r->user_id >= N || seen[r->user_id])
        ids_ok = 0;
      else
        seen[r->user_id] = 1;
      if(r->status != 200)
        all_ok = 0;
      n_done++;
      es_http_response_free(r);
    }
  }
  ok(n_done == N && all_ok, "all 200 completed with 200 (%d)", n_done);
  ok(ids_ok, "each user_id came back exactly once");
  c1 = json_int(probe, "/stats", "connections");
  ok(c1 - c0 <= 64 + 1, "at most max_host_connections (64) connections opened (%ld)", c1 - c0);
  es_engine_free(e);
  es_engine_free(probe);
}

/* Connection caps: a total cap holds however many requests are submitted,
   and a live engine's caps can be raised; every request still completes. */
static void test_connection_limits(void)
{
  struct es_engine_config c = test_config();
  struct es_engine *e, *probe = es_engine_new(&c, NULL);
  struct es_http_request req;
  struct es_http_response *r;
  char url[256];
  long c0, c1, per_host = -1, total = -1;
  int round, i, n_done, all_ok;

  c.max_total_connections = 4;
  e = es_engine_new(&c, NULL);
  es_engine_connection_limits(e, &per_host, &total);
  ok(per_host == 64 && total == 4, "limits as configured (%ld per host, %ld total)", per_host, total);
  for(round = 0; round < 2; round++) {
    long cap = round == 0 ? 4 : 8;
    c0 = json_int(probe, "/stats", "connections");
    memset(&req, 0, sizeof(req));
    req.method = "GET";
    req.url = url;
    all_ok = 1;
    for(i = 0; i < 40; i++) {
      snprintf(url, sizeof(url), "%s/stall?ms=20&n=1&k=cap%d-%d", base_url, round, i);
      if(es_engine_submit(e, &req, NULL) != ES_OK)
        all_ok = 0;
    }
    for(n_done = 0, i = 0; n_done < 40 && i < 2000; i++) {
      es_engine_step(e, 50);
      while((r = es_engine_next_done(e))) {
        all_ok = all_ok && r->status == 200;
        n_done++;
        es_http_response_free(r);
      }
    }
    c1 = json_int(probe, "/stats", "connections");
    ok(n_done == 40 && all_ok, "cap %ld: 40 requests completed with 200 (%d)", cap, n_done);
    ok(c1 - c0 <= cap, "cap %ld: at most %ld connections opened (%ld)", cap, cap, c1 - c0);
    ok(es_engine_set_connection_limits(e, 8, 8) == ES_OK, "caps raised on the live engine");
  }
  ok(es_engine_set_connection_limits(e, -1, 0) == ES_EINVAL &&
     es_engine_set_connection_limits(e, 1, -1) == ES_EINVAL &&
     es_engine_set_connection_limits(NULL, 1, 1) == ES_EINVAL, "negative caps are refused");
  ok(es_engine_set_connection_limits(e, 0, 0) == ES_OK, "0 per host: the default");
  es_engine_connection_limits(e, &per_host, &total);
  ok(per_host == ES_ENGINE_DEFAULT_HOST_CONNECTIONS && total == 0, "defaults back (%ld, %ld)", per_host, total);
  es_engine_free(e);
  es_engine_free(probe);
}

/* More transfers at once than the easy-handle pool keeps (256): every one
   completes, twice over, so handles are reset, reused and, past the pool's
   size, cleaned up (ASan and valgrind see that nothing leaks). */
static void test_easy_pool(void)
{
  struct es_engine_config c = test_config();
  struct es_engine *e;
  struct es_http_request req;
  struct es_http_response *r;
  char url[256];
  enum { N = 300 };
  int round, i, n_done, all_ok;

  c.max_host_connections = N;
  e = es_engine_new(&c, NULL);
  for(round = 0; round < 2; round++) {
    memset(&req, 0, sizeof(req));
    req.method = round == 0 ? "GET" : "POST";
    req.body = round == 0 ? NULL : "{}";
    req.body_len = round == 0 ? 0 : 2;
    req.url = url;
    all_ok = 1;
    for(i = 0; i < N; i++) {
      snprintf(url, sizeof(url), "%s/stall?ms=50&n=1&k=pool%d-%d", base_url, round, i);
      if(es_engine_submit(e, &req, NULL) != ES_OK)
        all_ok = 0;
    }
    for(n_done = 0, i = 0; n_done < N && i < 4000; i++) {
      es_engine_step(e, 50);
      while((r = es_engine_next_done(e))) {
        all_ok = all_ok && r->status == 200 && r->error == 0;
        n_done++;
        es_http_response_free(r);
      }
    }
    ok(n_done == N && all_ok, "round %d: %d %s requests at once all completed with 200 (%d)", round + 1, N,
       req.method, n_done);
  }
  es_engine_free(e);
}

static void test_keepalive(void)
{
  struct es_engine_config c = test_config();
  struct es_engine *e = es_engine_new(&c, NULL);
  struct es_http_response *r;
  long c0, c1;
  int i, reused = 1;
  c0 = json_int(e, "/stats", "connections");
  for(i = 0; i < 20; i++) {
    r = get(e, "/ok");
    if(!r || r->status != 200 || r->attempt[0].new_connection)
      reused = 0;
    es_http_response_free(r);
  }
  c1 = json_int(e, "/stats", "connections");
  ok(c0 > 0 && c1 == c0, "20 sequential requests reuse one connection (%ld -> %ld)", c0, c1);
  ok(reused, "no attempt reported a new connection");
  es_engine_free(e);
}

static void test_cancel(void)
{
  struct es_engine_config c = test_config();
  struct es_engine *e, *probe = es_engine_new(&c, NULL);
  struct es_http_request req;
  struct es_http_response *r;
  struct es_rng rng;
  unsigned long long id;
  char url[256];
  int i;

  e = es_engine_new(&c, NULL);
  memset(&req, 0, sizeof(req));
  req.method = "GET";
  req.url = url;
  url_of(url, sizeof(url), "/stall?ms=3000&k=cx1");
  ok(es_engine_submit(e, &req, &id) == ES_OK, "submit a stalling request");
  for(i = 0; i < 5; i++)
    es_engine_step(e, 10);
  ok(es_engine_cancel(e, id) == ES_OK, "cancel in flight");
  ok(es_engine_step(e, 0) == 0, "nothing pending after cancel");
  r = es_engine_next_done(e);
  ok(r && r->id == id && r->error == ES_ECLOSED, "canceled request completes with Closed");
  if(r)
    is_str(r->error_message, "canceled", "message");
  es_http_response_free(r);
  ok(es_engine_cancel(e, id) == ES_ENOTFOUND, "cancel again: NotFound");
  ok(es_engine_cancel(e, 999999) == ES_ENOTFOUND, "cancel unknown id: NotFound");
  es_engine_free(e);

  /* Cancel during a retry wait: pick a seed whose first draw gives a long wait. */
  c.backoff_base_s = 60;
  c.backoff_cap_s = 60;
  for(c.seed = 1;; c.seed++) {
    es_rng_seed(&rng, c.seed);
    if(es_rng_uniform(&rng) > 0.5)
      break;
  }
  e = es_engine_new(&c, NULL);
  url_of(url, sizeof(url), "/5xx?k=cx2");
  es_engine_submit(e, &req, &id);
  for(i = 0; i < 1000 && es_engine_waiting_count(e) == 0; i++)
    es_engine_step(e, 10);
  ok(es_engine_step(e, 0) == 1 && es_engine_waiting_count(e) == 1,
     "request pending, waiting on its retry timer");
  ok(es_engine_cancel(e, id) == ES_OK, "cancel during the backoff wait");
  r = es_engine_next_done(e);
  ok(r && r->error == ES_ECLOSED && r->attempts == 1 && r->attempt[0].status == 500,
     "completed as Closed after its first attempt (500)");
  es_http_response_free(r);
  ok(server_count(probe, "cx2") == 1, "no retry was sent");

  /* Freeing an engine with requests in flight and unpopped responses. */
  url_of(url, sizeof(url), "/stall?ms=3000&k=cx3");
  for(i = 0; i < 3; i++)
    es_engine_submit(e, &req, NULL);
  url_of(url, sizeof(url), "/ok");
  es_engine_submit(e, &req, NULL);
  for(i = 0; i < 20 && es_engine_done_count(e) == 0; i++)
    es_engine_step(e, 20);
  es_engine_free(e);
  ok(1, "engine freed with transfers in flight (valgrind/ASan check the rest)");
  es_engine_free(probe);
}

static int count_lines(const char *path)
{
  FILE *f = fopen(path, "r");
  char line[4096];
  int n = 0;
  if(!f)
    return -1;
  while(fgets(line, sizeof(line), f)) {
    json_t *j = json_loads(line, 0, NULL);
    if(json_is_object(j) && json_is_string(json_object_get(j, "decision")))
      n++;
    else
      n = -1000;
    json_decref(j);
  }
  fclose(f);
  return n;
}

static void test_guard(void)
{
  struct es_engine_config c = test_config();
  struct es_engine *e;
  struct es_http_request req;
  struct es_http_response *r;
  struct es_header ct[] = {H("Content-Type", "application/json")};
  char url[256], audit[] = "/tmp/es_engine_audit_XXXXXX";
  const char *to_am = "{\"resourcesVpcConfig\":{\"controlPlaneEgressMode\":\"AWS_MANAGED\"}}";
  const char *to_cr = "{\"resourcesVpcConfig\":{\"controlPlaneEgressMode\":\"CUSTOMER_ROUTED\"}}";
  int fd = mkstemp(audit);
  if(fd >= 0)
    close(fd);
  c.audit_path = audit;
  e = es_engine_new(&c, NULL);
  ok(e != NULL, "engine with an audit log");

  /* 1. Mode unknown: refused, never sent. */
  url_of(url, sizeof(url), "/clusters/demo/update-config");
  init_signed(&req, "POST", url);
  req.service = "eks";
  req.headers = ct;
  req.n_headers = 1;
  req.body = to_am;
  req.body_len = strlen(to_am);
  req.identity = "arn:aws:sts::123456789012:assumed-role/test/s";
  r = run(e, &req);
  ok(r && r->error == ES_EGUARD && r->guarded && r->guard.action == ES_GUARD_REFUSE &&
       r->guard.code == ES_GUARD_CURRENT_MODE_UNKNOWN && r->attempts == 0,
     "update with the mode unknown: refused (CurrentModeUnknown), no attempt");
  if(r)
    diag("guard: %s", r->error_message);
  es_http_response_free(r);

  /* 2. Describe: CUSTOMER_ROUTED. CUSTOMER_ROUTED -> AWS_MANAGED is refused always. */
  {
    struct es_http_request d;
    char durl[256];
    url_of(durl, sizeof(durl), "/clusters/demo");
    init_signed(&d, "GET", durl);
    d.service = "eks";
    r = run(e, &d);
    ok(r && r->status == 200 && r->guarded && r->guard.action == ES_GUARD_ALLOW,
       "DescribeCluster allowed and sent");
    es_http_response_free(r);
  }
  req.acknowledge = "demo";
  r = run(e, &req);
  ok(r && r->error == ES_EGUARD && r->guard.code == ES_GUARD_TRANSITION_REFUSED && r->attempts == 0,
     "CUSTOMER_ROUTED -> AWS_MANAGED refused even acknowledged");
  es_http_response_free(r);

  /* 3. Same mode: no-op, nothing sent. */
  req.body = to_cr;
  req.body_len = strlen(to_cr);
  r = run(e, &req);
  ok(r && r->error == 0 && r->status == 0 && r->attempts == 0 && r->guard.action == ES_GUARD_NOOP,
     "same mode: no-op, nothing sent");
  es_http_response_free(r);
  ok(path_count(e, "/clusters/demo/update-config") == 0, "the server never saw an update for demo");

  /* 4. AWS_MANAGED -> CUSTOMER_ROUTED: needs the acknowledgement, then goes through. */
  {
    struct es_http_request d;
    char durl[256];
    url_of(durl, sizeof(durl), "/clusters/am-demo");
    init_signed(&d, "GET", durl);
    d.service = "eks";
    r = run(e, &d);
    es_http_response_free(r);
  }
  url_of(url, sizeof(url), "/clusters/am-demo/update-config");
  req.acknowledge = NULL;
  r = run(e, &req);
  ok(r && r->error == ES_EGUARD && r->guard.code == ES_GUARD_IRREVERSIBLE_NOT_ACKNOWLEDGED,
     "AWS_MANAGED -> CUSTOMER_ROUTED without acknowledgement refused");
  es_http_response_free(r);
  ok(path_count(e, "/clusters/am-demo/update-config") == 0, "not sent");
  req.acknowledge = "am-demo";
  r = run(e, &req);
  ok(r && r->error == 0 && r->status == 200 && r->attempts == 1 && r->guard.action == ES_GUARD_ALLOW &&
       r->guard.touches_mode,
     "acknowledged: allowed and sent");
  es_http_response_free(r);
  ok(path_count(e, "/clusters/am-demo/update-config") == 1, "the server saw exactly that update");
  req.acknowledge = "am-demo";
  r = run(e, &req);
  ok(r && r->error == ES_EGUARD && r->guard.code == ES_GUARD_CURRENT_MODE_UNKNOWN,
     "after an update the observed mode is forgotten: refused until described again");
  es_http_response_free(r);

  /* Non-EKS requests are not guarded. */
  r = get(e, "/ok");
  ok(r && !r->guarded, "non-eks request not guarded");
  es_http_response_free(r);
  es_engine_free(e);

  ok(count_lines(audit) == 6, "audit log: one JSON line per mode decision (%d)", count_lines(audit));
  unlink(audit);

  {
    struct es_error_info err;
    char fdir[] = "/tmp/es_engine_fifo_XXXXXX", fifo[64];
    c.audit_path = "/nonexistent-dir/audit.log";
    e = es_engine_new(&c, &err);
    ok(e == NULL && err.code == ES_EIO && strstr(err.message, "/nonexistent-dir/audit.log") &&
         strstr(err.message, "No such file or directory") && !strstr(err.message, "libcurl"),
       "regression: an audit log that cannot be opened is IoError naming the path and the reason (%s)",
       err.message);
    es_engine_free(e);
    /* A FIFO would block a plain open for writing until a reader comes: never. */
    if(mkdtemp(fdir) && snprintf(fifo, sizeof(fifo), "%s/audit", fdir) > 0 && mkfifo(fifo, 0600) == 0) {
      c.audit_path = fifo;
      e = es_engine_new(&c, &err);
      ok(e == NULL && err.code == ES_ENOTREG && strstr(err.message, fifo),
         "regression: an audit_path that is a FIFO is refused at once (%s)", err.message);
      es_engine_free(e);
      unlink(fifo);
      rmdir(fdir);
    }
    else
      ok(0, "mkfifo for the FIFO test");
    /* A directory: no test opens a device for writing, which would create a
       regular file in its place if it went missing meanwhile. */
    c.audit_path = "/tmp";
    e = es_engine_new(&c, &err);
    ok(e == NULL && err.code == ES_ENOTREG, "a directory as audit_path: NotARegularFile");
    es_engine_free(e);
  }
}

/* ---- the guard across identities (issue 8.1) -------------------------------- */

static time_t id_clock_now;
static time_t id_clock(void *ud)
{
  (void)ud;
  return id_clock_now;
}

static struct es_http_response *eks_as(struct es_engine *e, const char *akid, const char *method,
                                       const char *path, const char *ack, unsigned long long observed_with)
{
  static struct es_header ct[] = {H("Content-Type", "application/json")};
  const char *to_cr = "{\"resourcesVpcConfig\":{\"controlPlaneEgressMode\":\"CUSTOMER_ROUTED\"}}";
  struct es_http_request req;
  char url[256];
  url_of(url, sizeof(url), path);
  init_signed(&req, method, url);
  req.service = "eks";
  req.creds.access_key_id = akid;
  req.acknowledge = ack;
  req.observed_with = observed_with;
  if(strcmp(method, "POST") == 0) {
    req.headers = ct;
    req.n_headers = 1;
    req.body = to_cr;
    req.body_len = strlen(to_cr);
  }
  return run(e, &req);
}

static void test_guard_identities(void)
{
  struct es_engine_config c = test_config();
  struct es_engine *e;
  struct es_http_response *r;
  unsigned long long da, db;
  const char *m;

  id_clock_now = 1770000000;
  c.wall_clock = id_clock;
  e = es_engine_new(&c, NULL);

  /* Interleaved: account A (AWS_MANAGED) and account B (CUSTOMER_ROUTED), one
     host, one cluster name. The last describe must not decide for the other. */
  es_http_response_free(eks_as(e, "AKIDMANAGEDC1", "GET", "/clusters/twin", NULL, 0));
  es_http_response_free(eks_as(e, "AKIDROUTEDC1", "GET", "/clusters/twin", NULL, 0));
  is_str(es_engine_observed_mode(e, "AKIDMANAGEDC1", host_hdr, "twin", 0), "AWS_MANAGED",
         "A's observation is A's");
  is_str(es_engine_observed_mode(e, "AKIDROUTEDC1", host_hdr, "twin", 0), "CUSTOMER_ROUTED",
         "B's observation is B's");
  ok(es_engine_observed_mode(e, NULL, host_hdr, "twin", 0) == NULL, "unsigned callers observed nothing");
  r = eks_as(e, "AKIDMANAGEDC1", "POST", "/clusters/twin/update-config", "twin", 0);
  ok(r && r->guard.action == ES_GUARD_ALLOW && r->status == 200 && r->attempts == 1,
     "regression: A's acknowledged switch is decided on A's describe and sent, not a no-op from B's");
  es_http_response_free(r);
  r = eks_as(e, "AKIDROUTEDC1", "POST", "/clusters/twin/update-config", "twin", 0);
  ok(r && r->guard.action == ES_GUARD_NOOP && r->attempts == 0, "B's same switch is B's no-op");
  es_http_response_free(r);
  ok(path_count(e, "/clusters/twin/update-config") == 1, "exactly one update reached the server");

  /* observed_with: only that observation, same identity and cluster, fresh. */
  r = eks_as(e, "AKIDISOLATEDC2", "GET", "/clusters/twin2", NULL, 0);
  da = r ? r->id : 0;
  es_http_response_free(r);
  r = eks_as(e, "AKIDMANAGEDC2", "GET", "/clusters/twin2", NULL, 0);
  db = r ? r->id : 0;
  es_http_response_free(r);
  r = eks_as(e, "AKIDISOLATEDC2", "POST", "/clusters/twin2/update-config", "twin2", 0);
  ok(r && r->guard.code == ES_GUARD_UNDOCUMENTED_MODE && r->attempts == 0,
     "regression: a CUSTOMER_ISOLATED cluster's switch is not sent on another account's AWS_MANAGED");
  es_http_response_free(r);
  r = eks_as(e, "AKIDISOLATEDC2", "POST", "/clusters/twin2/update-config", "twin2", db);
  ok(r && r->guard.code == ES_GUARD_CURRENT_MODE_UNKNOWN && r->attempts == 0,
     "observed_with naming another identity's describe: CurrentModeUnknown");
  es_http_response_free(r);
  m = es_engine_observed_mode(e, "AKIDISOLATEDC2", host_hdr, "twin2", da);
  is_str(m, "CUSTOMER_ISOLATED", "observed_with naming its own describe");
  id_clock_now += ES_GUARD_MAX_AGE;
  ok(es_engine_observed_mode(e, "AKIDISOLATEDC2", host_hdr, "twin2", da) != NULL,
     "fresh at exactly ES_GUARD_MAX_AGE on the engine's clock");
  id_clock_now += 1;
  ok(es_engine_observed_mode(e, "AKIDISOLATEDC2", host_hdr, "twin2", da) == NULL,
     "stale one second later: the injected clock decides, not time()");
  r = eks_as(e, "AKIDISOLATEDC2", "POST", "/clusters/twin2/update-config", "twin2", da);
  ok(r && r->guard.code == ES_GUARD_CURRENT_MODE_UNKNOWN && r->attempts == 0,
     "a stale observed_with: CurrentModeUnknown, not sent");
  es_http_response_free(r);
  ok(path_count(e, "/clusters/twin2/update-config") == 0, "nothing reached the server for twin2");

  /* The same identity describing again with the same mode keeps earlier ids usable;
     a different mode makes them history. */
  r = eks_as(e, "AKIDMANAGEDC3", "GET", "/clusters/am-three", NULL, 0);
  da = r ? r->id : 0;
  es_http_response_free(r);
  r = eks_as(e, "AKIDMANAGEDC3", "GET", "/clusters/am-three", NULL, 0);
  db = r ? r->id : 0;
  es_http_response_free(r);
  ok(es_engine_observed_mode(e, "AKIDMANAGEDC3", host_hdr, "am-three", da) != NULL &&
       es_engine_observed_mode(e, "AKIDMANAGEDC3", host_hdr, "am-three", db) != NULL,
     "two describes with the same mode: either can be relied on");
  r = eks_as(e, "AKIDMANAGEDC3", "POST", "/clusters/am-three/update-config", "am-three", da);
  ok(r && r->guard.action == ES_GUARD_ALLOW && r->status == 200, "acknowledged switch on observed_with sent");
  es_http_response_free(r);
  r = eks_as(e, "AKIDMANAGEDC3", "POST", "/clusters/am-three/update-config", "am-three", db);
  ok(r && r->guard.code == ES_GUARD_CURRENT_MODE_UNKNOWN && r->attempts == 0,
     "after a switch, no earlier observation allows a second one");
  es_http_response_free(r);
  es_engine_free(e);
}

/* ---- raw requests to EKS (issue 8.4) ---------------------------------------- */

static void test_guard_raw(void)
{
  struct es_engine_config c = test_config();
  struct es_engine *e = es_engine_new(&c, NULL);
  const char *to_cr = "{\"resourcesVpcConfig\":{\"controlPlaneEgressMode\":\"CUSTOMER_ROUTED\"}}";
  const char *paths[] = {"/clusters/am-raw/update-config", "/Clusters/am-raw/update-config",
                         "/%63lusters/am-raw/update-config", "//clusters/am-raw/update-config",
                         "/%2563lusters/am-raw/update-config"};
  struct es_http_request req;
  struct es_http_response *r;
  char url[256];
  for(size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
    memset(&req, 0, sizeof(req));
    url_of(url, sizeof(url), paths[i]);
    req.method = "POST";
    req.url = url;
    req.body = to_cr;
    req.body_len = strlen(to_cr);
    r = run(e, &req);
    ok(r && r->guarded && r->error == ES_EGUARD && r->attempts == 0,
       "regression: an unsigned request without a service to %s is guarded and refused", paths[i]);
    es_http_response_free(r);
  }
  ok(path_count(e, "/clusters/am-raw/update-config") == 0, "nothing reached the server");
  memset(&req, 0, sizeof(req));
  url_of(url, sizeof(url), "/clusters/am-raw");
  req.method = "GET";
  req.url = url;
  r = run(e, &req);
  ok(r && r->guarded && r->guard.action == ES_GUARD_ALLOW && r->status == 200,
     "a read-only raw request to a cluster path is guarded and passes");
  es_http_response_free(r);
  ok(es_guard_targets_eks(NULL, "EKS.eu-west-1.amazonaws.com", NULL, "/", 1) &&
       es_guard_targets_eks(NULL, NULL, "eks-fips.us-east-1.amazonaws.com", "/", 1) &&
       es_guard_targets_eks("EKS", NULL, NULL, "/", 1) &&
       !es_guard_targets_eks("ec2", "ec2.us-east-1.amazonaws.com", NULL, "/?Action=x", 10) &&
       !es_guard_targets_eks(NULL, "127.0.0.1:1", NULL, "/latest/meta-data/clusters", 26) &&
       es_guard_targets_eks(NULL, "127.0.0.1:1", NULL, "/x/../clusters", 14),
     "es_guard_targets_eks: service, hosts (any case) and the first path segment");
  es_engine_free(e);
}

static void test_tls(void)
{
  struct es_engine_config c = test_config();
  struct es_engine *e;
  struct es_http_request req;
  struct es_http_response *r;
  char url[256];
  memset(&req, 0, sizeof(req));
  req.method = "GET";
  req.url = url;
  snprintf(url, sizeof(url), "%s/ok", tls_url);

  e = es_engine_new(&c, NULL);
  r = run(e, &req);
  ok(r && r->error == ES_ETLS && r->attempts == 1 && !r->retryable,
     "self-signed server, default CAs: TlsError, not retried (%s)", r ? r->error_message : "-");
  es_http_response_free(r);
  es_engine_free(e);

  c.ca_bundle = ca_file;
  e = es_engine_new(&c, NULL);
  r = run(e, &req);
  ok(r && r->status == 200 && r->error == 0, "CA bundle override: verified and 200");
  if(r)
    ok(r->http_version == 11, "ALPN http/1.1 server: HTTP/1.1 (%d)", r->http_version);
  es_http_response_free(r);
  r = run(e, &req);
  ok(r && r->status == 200 && !r->attempt[0].new_connection, "TLS connection reused");
  es_http_response_free(r);
  snprintf(url, sizeof(url), "https://localhost:%s/ok", strrchr(tls_url, ':') + 1);
  r = run(e, &req);
  ok(r && r->status == 200, "host name verified against the certificate (localhost)");
  es_http_response_free(r);
  es_engine_free(e);

  c.ca_bundle = "/nonexistent/ca.pem";
  e = es_engine_new(&c, NULL);
  snprintf(url, sizeof(url), "%s/ok", tls_url);
  r = run(e, &req);
  ok(r && r->error == ES_ETLS, "missing CA bundle: TlsError");
  es_http_response_free(r);
  es_engine_free(e);

  c.ca_bundle = NULL;
  c.insecure = 1;
  e = es_engine_new(&c, NULL);
  r = run(e, &req);
  ok(r && r->status == 200, "insecure=1 skips verification (tests only)");
  es_http_response_free(r);
  es_engine_free(e);
}

static void test_retry_2026(void)
{
  struct es_engine_config c = test_config();
  struct es_engine *e;
  struct es_http_response *r;
  json_t *j, *reqs;
  int n, good = 1;
  size_t i;
  c.retry_mode = ES_RETRY_STANDARD_2026;
  c.quota_capacity = 100;
  e = es_engine_new(&c, NULL);
  r = get(e, "/5xx?n=2&k=n26");
  ok(r && r->status == 200 && r->attempts == 3, "2026 mode retries");
  if(r)
    ok(r->attempt[1].delay_ms <= 1000.0 * c.backoff_base_s / 20.0 &&
         r->attempt[2].delay_ms <= 2000.0 * c.backoff_base_s / 20.0,
       "non-throttling base is base/20");
  es_http_response_free(r);
  ok(es_engine_retry_quota(e) == 100 - 14 - 14 + 14, "non-throttling retries cost 14, last refunded");
  r = get(e, "/log?of=n26");
  j = r ? json_loadb(r->body.data, r->body.len, 0, NULL) : NULL;
  reqs = json_object_get(j, "requests");
  for(i = 0; i < json_array_size(reqs); i++) {
    char want[64];
    const char *v = hdr_of(json_array_get(reqs, i), "amz-sdk-request", &n);
    snprintf(want, sizeof(want), "attempt=%zu; max=3", i + 1);
    if(!v || n != 1 || strcmp(v, want) != 0)
      good = 0;
  }
  ok(json_array_size(reqs) == 3 && good, "amz-sdk-request: attempt=N; max=3 on every attempt");
  json_decref(j);
  es_http_response_free(r);
  es_engine_free(e);

  c = test_config();
  c.retry_mode = ES_RETRY_OFF;
  e = es_engine_new(&c, NULL);
  r = get(e, "/5xx?k=off1");
  ok(r && r->status == 500 && r->attempts == 1, "retry mode off: one attempt");
  es_http_response_free(r);
  es_engine_free(e);
}

/* The tests that move bytes, run once per event backend. */
static void transfer_tests(void)
{
  struct es_engine_config c = test_config();
  struct es_engine *e = es_engine_new(&c, NULL);
  ok(e != NULL, "engine created (%s)", use_poll_backend ? "poll" : "epoll");
  test_basic(e);
  test_validation(e);
  test_retries(e);
  test_timeouts(e);
  es_engine_free(e);
  test_concurrency();
  test_keepalive();
  test_cancel();
  test_tls();
  test_connection_limits();
}

int main(void)
{
  signal(SIGPIPE, SIG_IGN);
  /* The engine honours proxy variables (libcurl's default); these tests must
     only ever talk to 127.0.0.1 directly. */
  setenv("no_proxy", "127.0.0.1,localhost", 1);
  setenv("NO_PROXY", "127.0.0.1,localhost", 1);
  if(start_server() != 0) {
    printf("not ok 1 - start csrc/tests/faultserver.py (run from the repository root)\n1..1\n");
    stop_server();
    return 1;
  }
  diag("fault server at %s", base_url);
  transfer_tests();
  test_backoff_bounds();
  test_quota();
  test_reset();
  test_size_limit();
  test_resign();
  test_skew();
  test_guard();
  test_guard_identities();
  test_guard_raw();
  test_retry_2026();
  test_easy_pool();

  /* The transfer tests again, waiting with poll(2) (the backend where epoll
     is missing), against a fresh fault server (its keys count again). */
  use_poll_backend = 1;
  diag("the same transfers over the poll(2) backend");
  stop_server();
  if(start_server() != 0) {
    ok(0, "restart csrc/tests/faultserver.py");
    stop_server();
    return done_testing();
  }
  transfer_tests();
  use_poll_backend = 0;
  es_engine_free(es_engine_new(NULL, NULL));
  ok(1, "engine with all defaults created and freed");
  stop_server();
  return done_testing();
}
