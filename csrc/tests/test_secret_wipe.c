/*
 * test_secret_wipe.c: secret material the core holds is wiped before its
 * memory goes back to the allocator.
 *
 * Linked with -Wl,--wrap=free,--wrap=realloc,--wrap=malloc (Makefile, the
 * reliability block): every free() and realloc() made by the core's objects
 * goes through the wrappers below, which look inside the block being released
 * for the canary secrets while a check is running (and malloc clears whole
 * blocks then, so stale bytes another library left in reused memory are never
 * taken for ours). A block that still holds one when
 * it is freed, or when it is handed to realloc (which may move it and free the
 * old copy uncleared), is a violation. Memory libcurl, OpenSSL and expat free
 * themselves is theirs and not seen here (docs/RELIABILITY.md says so).
 *
 * Each case first shows the witness can fail: the same bytes in a plain
 * buffer, freed, are reported.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "es_buf.h"
#include "es_error.h"
#include "engine.h"
#include "faultserver.h"
#include "fileread.h"
#include "process.h"
#include "sigv4.h"
#include "tap.h"
#include "xml.h"

void __real_free(void *p);
void *__real_realloc(void *p, size_t n);
void *__real_malloc(size_t n);
void __wrap_free(void *p);
void *__wrap_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);

/* Long enough that every buffer holding one must grow past its first block. */
#define SECRET_KEY "CanarySecretKey0wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY/" \
                   "CanarySecretKey1wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY/" \
                   "CanarySecretKey2wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define TOKEN_MARK "CanarySessionToken"
#define MARK_LEN 18

static const char *const canaries[] = {"CanarySecretKey", TOKEN_MARK, "CanaryWebIdentity", NULL};
static int tracking;
static int violations;

static int holds_canary(const void *p, size_t n)
{
  for(int i = 0; canaries[i]; i++)
    if(memmem(p, n, canaries[i], strlen(canaries[i])))
      return 1;
  return 0;
}

void __wrap_free(void *p)
{
  if(tracking && p && holds_canary(p, malloc_usable_size(p)))
    violations++;
  __real_free(p);
}

void *__wrap_realloc(void *p, size_t n)
{
  size_t kept = p ? malloc_usable_size(p) : 0, have;
  void *q;
  if(tracking && p && holds_canary(p, kept))
    violations++;
  q = __real_realloc(p, n);
  /* Clear what the block gained: it may hold stale bytes of someone else's
     block (libcurl frees its buffers uncleared), never to be blamed on us,
     and valgrind never sees the scan read bytes nobody wrote. */
  if(q && (have = malloc_usable_size(q)) > kept)
    memset((char *)q + kept, 0, have - kept);
  return q;
}

void *__wrap_malloc(size_t n)
{
  void *p = __real_malloc(n);
  if(p)
    memset(p, 0, malloc_usable_size(p));
  return p;
}

static void begin(void)
{
  violations = 0;
  tracking = 1;
}

static int end(void)
{
  tracking = 0;
  return violations;
}

/* A session token of n bytes: the mark, then visible filler. */
static char *make_token(size_t n)
{
  char *t = malloc(n + 1);
  if(!t)
    abort();
  for(size_t i = 0; i < n; i++)
    t[i] = (char)('A' + i % 26);
  memcpy(t, TOKEN_MARK, MARK_LEN);
  t[n] = '\0';
  return t;
}

static void wipe_free(char *p)
{
  if(p)
    memset(p, 0, strlen(p));
  free(p);
}

static void test_witness(void)
{
  struct es_buf plain = ES_BUF_INIT, secret = ES_BUF_INIT;
  int v;
  begin();
  for(int i = 0; i < 20; i++)
    es_buf_puts(&plain, SECRET_KEY);
  es_buf_free(&plain);
  v = end();
  ok(v > 0, "the witness sees a plain buffer freed (and grown by realloc) with a secret in it (%d)", v);

  es_buf_set_secret(&secret);
  begin();
  for(int i = 0; i < 20; i++)
    es_buf_puts(&secret, SECRET_KEY);
  es_buf_printf(&secret, "%s", SECRET_KEY);
  es_buf_free(&secret);
  v = end();
  ok(v == 0, "a secret es_buf grown by append and printf, then freed, leaves no copy (%d)", v);
}

/* One signer and one result signing ever bigger requests (more query
   parameters, more headers), as an engine reuses them: every scratch buffer
   and the result grow while they hold the token of the signing before. */
static void sign_with(enum es_sigv4_placement placement, const char *what)
{
  static const char *const regions[] = {"us-east-1", "eu-west-1", "ap-south-1"};
  struct es_header hdrs[41];
  struct es_sigv4_signer *s = es_sigv4_signer_new(2);
  struct es_sigv4_result r;
  struct es_sigv4_request req;
  struct es_buf target = ES_BUF_INIT;
  char *token = make_token(40);
  int rc = ES_OK, v;

  hdrs[0] = (struct es_header){"Host", 4, "sts.us-east-1.amazonaws.com", 27};
  for(size_t i = 1; i < 41; i++)
    hdrs[i] = (struct es_header){"X-Extra-Header", 14, "some value of a header", 22};
  es_sigv4_result_init(&r);
  memset(&req, 0, sizeof(req));
  req.method = "GET";
  req.headers = hdrs;
  req.service = "sts";
  req.creds.access_key_id = "AKIDEXAMPLE";
  req.creds.secret_access_key = SECRET_KEY;
  req.creds.session_token = token;
  req.placement = placement;
  req.expires = 60;
  req.flags = ES_SIGV4_DEFAULT_FLAGS;
  es_buf_puts(&target, "/a/./b/../c?Action=GetCallerIdentity");
  begin();
  for(size_t i = 1; i < 41 && rc == ES_OK; i++) {
    es_buf_printf(&target, "&Param%zu=value-%zu", i, i);
    req.target = target.data;
    req.target_len = target.len;
    req.n_headers = i + 1;
    req.region = regions[i % 3];   /* the derived-key cache (2 entries) evicts */
    rc = es_sigv4_sign(s, &req, &r);
  }
  es_sigv4_result_free(&r);
  es_sigv4_signer_free(s);
  es_buf_free(&target);
  v = end();
  ok(rc == ES_OK && v == 0,
     "regression: %s signing, with the result and signer reused for ever bigger requests, leaves no "
     "copy of the session token or secret key in freed or moved memory (rc %d, %d blocks)", what, rc, v);
  wipe_free(token);
}

static void test_engine(void)
{
  struct faultserver fs;
  struct es_engine_config c;
  struct es_engine *e;
  struct es_http_request req;
  struct es_http_response *resp = NULL;
  struct es_error_info err;
  unsigned long long id = 0;
  char url[128], *token = make_token(900), *body = malloc(20000);
  int v, saw = 0;

  if(!body)
    abort();
  /* A web identity token in the body, as AssumeRoleWithWebIdentity sends it. */
  memset(body, 'w', 20000);
  memcpy(body, "WebIdentityToken=CanaryWebIdentity", 35);
  body[19999] = '\0';
  if(faultserver_start(&fs) != 0) {
    ok(0, "the fault server starts");
    wipe_free(token);
    wipe_free(body);
    return;
  }
  es_engine_config_init(&c);
  c.timeout_ms = 10000;
  snprintf(url, sizeof(url), "%s/echo", fs.base_url);
  memset(&req, 0, sizeof(req));
  req.method = "POST";
  req.url = url;
  req.body = body;
  req.body_len = 19999;
  req.sign = 1;
  req.region = "us-east-1";
  req.service = "sts";
  req.creds.access_key_id = "AKIDEXAMPLE";
  req.creds.secret_access_key = SECRET_KEY;
  req.creds.session_token = token;
  req.sigv4_flags = ES_SIGV4_DEFAULT_FLAGS;

  begin();
  e = es_engine_new(&c, &err);
  if(e && es_engine_submit(e, &req, &id) == ES_OK) {
    for(int loops = 0; !resp && loops < 400; loops++) {
      if(es_engine_step(e, 50) < 0)
        break;
      resp = es_engine_next_done(e);
    }
  }
  /* The echo holds the token and the body: the response is secret too. */
  saw = resp && resp->status == 200 && resp->body.data && strstr(resp->body.data, TOKEN_MARK) &&
        strstr(resp->body.data, "CanaryWebIdentity");
  es_http_response_free(resp);
  es_engine_free(e);
  v = end();
  ok(saw, "the fault server echoed the token and the body back");
  ok(v == 0, "regression: the engine's request copies (headers, body) and a response that echoes the "
     "session token and a web identity token are wiped when freed (%d blocks)", v);
  faultserver_stop(&fs);
  wipe_free(token);
  wipe_free(body);
}

static void test_fileread(void)
{
  char path[] = "/tmp/es-secret-wipe-XXXXXX";
  int fd = mkstemp(path), v, rc = -1;
  struct es_buf b = ES_BUF_INIT;
  if(fd >= 0) {
    FILE *f = fdopen(fd, "w");
    fprintf(f, "[default]\n");
    for(int i = 0; i < 2000; i++)
      fprintf(f, "aws_secret_access_key = %s\n", SECRET_KEY);
    fclose(f);
    begin();
    rc = es_file_read(path, 1 << 20, &b, NULL, NULL);
    es_buf_free(&b);
    v = end();
    unlink(path);
    ok(rc == ES_OK && v == 0, "a credentials file read whole (grown past its first block) leaves no copy "
       "(%d blocks)", v);
  }
  else
    ok(0, "a temporary file");
}

static void test_process(void)
{
  const char *argv[] = {"/bin/sh", "-c",
                        "i=0; while [ $i -lt 3000 ]; do echo CanarySecretKey-$i; i=$((i+1)); done", NULL};
  struct es_proc_result r;
  int rc, v;
  memset(&r, 0, sizeof(r));
  begin();
  rc = es_proc_run(argv, NULL, &r, NULL, 0);
  es_proc_result_free(&r);
  v = end();
  ok(rc == ES_OK && v == 0, "credential_process output (60 KB) leaves no copy (%d blocks)", v);
}

static void test_xml(void)
{
  struct es_buf doc = ES_BUF_INIT;
  struct es_xml_doc *d = NULL;
  int rc, v;
  es_buf_set_secret(&doc);
  es_buf_puts(&doc, "<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>ASIA1</AccessKeyId>"
                    "<SecretAccessKey>" SECRET_KEY "</SecretAccessKey><SessionToken>");
  for(int i = 0; i < 200; i++)
    es_buf_puts(&doc, TOKEN_MARK "-part-");
  es_buf_puts(&doc, "</SessionToken></Credentials></AssumeRoleResult></AssumeRoleResponse>");
  begin();
  rc = es_xml_parse(doc.data, doc.len, NULL, &d, NULL, 0);
  es_xml_free(d);
  v = end();
  ok(rc == ES_OK && v == 0, "an AssumeRole response decoded and freed leaves no copy (%d blocks)", v);
  es_buf_wipe_free(&doc);
}

int main(void)
{
  test_witness();
  sign_with(ES_SIGV4_HEADER, "header-placement");
  sign_with(ES_SIGV4_QUERY, "presigned (query-placement)");
  test_engine();
  test_fileread();
  test_process();
  test_xml();
  return done_testing();
}
