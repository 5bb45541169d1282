/*
 * test_engine_proxy.c: the engine takes its proxy from the usual environment
 * variables, as libcurl does (issue 2, section 3). Two fault servers run on
 * 127.0.0.1: one is the origin, the other is named in http_proxy; a request
 * to the origin must arrive at the proxy (in absolute form), and with
 * no_proxy naming the origin it must go direct.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "es_error.h"
#include "faultserver.h"
#include "tap.h"

static struct es_http_response *get(struct es_engine *e, const char *url)
{
  struct es_http_request req;
  unsigned long long id;
  int i;
  memset(&req, 0, sizeof(req));
  req.method = "GET";
  req.url = url;
  if(es_engine_submit(e, &req, &id) != ES_OK)
    return NULL;
  for(i = 0; i < 500; i++) {
    struct es_http_response *r;
    es_engine_step(e, 20);
    r = es_engine_next_done(e);
    if(r)
      return r;
  }
  return NULL;
}

/* Requests the server at base saw for key k (its /count endpoint), -1 on failure. */
static long seen(struct es_engine *e, const struct faultserver *fs, const char *k)
{
  char url[256];
  struct es_http_response *r;
  json_t *j;
  long v = -1;
  snprintf(url, sizeof(url), "%s/count?of=%s", fs->base_url, k);
  r = get(e, url);
  if(!r)
    return -1;
  j = json_loadb(r->body.data ? r->body.data : "", r->body.len, 0, NULL);
  if(json_is_integer(json_object_get(j, "count")))
    v = (long)json_integer_value(json_object_get(j, "count"));
  json_decref(j);
  es_http_response_free(r);
  return v;
}

int main(void)
{
  struct faultserver origin, proxy;
  struct es_engine *e;
  struct es_http_response *r;
  char url[256];

  if(faultserver_start(&origin) != 0 || faultserver_start(&proxy) != 0) {
    printf("not ok 1 - start csrc/tests/faultserver.py (run from the repository root)\n1..1\n");
    return 1;
  }
  /* Counting requests must itself go direct. */
  unsetenv("http_proxy");
  unsetenv("HTTP_PROXY");
  unsetenv("no_proxy");
  unsetenv("NO_PROXY");
  unsetenv("all_proxy");
  unsetenv("ALL_PROXY");

  setenv("http_proxy", proxy.base_url, 1);
  e = es_engine_new(NULL, NULL);
  ok(e != NULL, "engine created with http_proxy set");
  snprintf(url, sizeof(url), "%s/ok?k=via-proxy", origin.base_url);
  r = get(e, url);
  ok(r && r->status == 200, "the request completes through the proxy");
  es_http_response_free(r);
  es_engine_free(e);

  unsetenv("http_proxy");
  e = es_engine_new(NULL, NULL);
  ok(seen(e, &proxy, "via-proxy") == 1, "the proxy received the request");
  ok(seen(e, &origin, "via-proxy") == 0, "the origin did not");
  es_engine_free(e);

  setenv("http_proxy", proxy.base_url, 1);
  setenv("no_proxy", "127.0.0.1", 1);
  e = es_engine_new(NULL, NULL);
  snprintf(url, sizeof(url), "%s/ok?k=direct", origin.base_url);
  r = get(e, url);
  ok(r && r->status == 200, "with no_proxy naming the origin the request completes");
  es_http_response_free(r);
  unsetenv("http_proxy");
  unsetenv("no_proxy");
  ok(seen(e, &origin, "direct") == 1, "no_proxy: the origin received it directly");
  ok(seen(e, &proxy, "direct") == 0, "no_proxy: the proxy did not");
  es_engine_free(e);

  faultserver_stop(&proxy);
  faultserver_stop(&origin);
  return done_testing();
}
