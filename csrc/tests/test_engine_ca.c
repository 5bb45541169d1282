/*
 * test_engine_ca.c: a per-request CA from memory (es_http_request.ca_pem),
 * against the HTTPS port of csrc/tests/faultserver.py.
 *
 * Proves: the request's CA alone is trusted (not the engine's ca_bundle, not
 * the system store); a connection verified with one CA is never reused for a
 * request that names another (or none); verification stays on (a CA the
 * server does not chain to, or text that is no certificate, is a TLS error);
 * and the size rules at submit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "es_error.h"
#include "faultserver.h"
#include "tap.h"

/* A throwaway self-signed CA made for this test only (its key was discarded):
   valid, but the fault server's certificate does not chain to it. */
static const char OTHER_CA[] =
  "-----BEGIN CERTIFICATE-----\n"
  "MIIBuDCCAV2gAwIBAgIUZDUPNWdi2Nr6OkXLi0sfQ0LAv8AwCgYIKoZIzj0EAwIw\n"
  "IjEgMB4GA1UEAwwXZWtzZWdyZXNzIG90aGVyIHRlc3QgQ0EwIBcNMjYxMjA0MDk1\n"
  "OTUxWhgPMzAyNjA0MDYwOTU5NTFaMCIxIDAeBgNVBAMMF2Vrc2VncmVzcyBvdGhl\n"
  "ciB0ZXN0IENBMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEngRn1D7Vi2vY4RPO\n"
  "LdUH5jDp/g8BMei7/z3AN11OVvzsFed4jBYbjeBLNN+CK8VY8tka1VL4qsCBCD6j\n"
  "0S7g1qNvMG0wHQYDVR0OBBYEFAxw7Bjn8169Gw9p9p6OPtKNYvf6MB8GA1UdIwQY\n"
  "MBaAFAxw7Bjn8169Gw9p9p6OPtKNYvf6MA8GA1UdEwEB/wQFMAMBAf8wGgYDVR0R\n"
  "BBMwEYcEfwAAAYIJbG9jYWxob3N0MAoGCCqGSM49BAMCA0kAMEYCIQCOc1xX98aq\n"
  "rRlSNvSzxMBwo3TQylE97pYGJsvgD+gqPQIhAPZoBDD7X2YqSBCZejmQ30GYBwts\n"
  "nSorMOgjjjHbrlHq\n"
  "-----END CERTIFICATE-----\n";

static struct faultserver fsrv;
static char server_ca[8192];
static size_t server_ca_len;

static int read_ca(const char *path)
{
  FILE *f = fopen(path, "rb");
  if(!f)
    return -1;
  server_ca_len = fread(server_ca, 1, sizeof(server_ca) - 1, f);
  fclose(f);
  server_ca[server_ca_len] = '\0';
  return server_ca_len > 0 ? 0 : -1;
}

static struct es_http_response *run(struct es_engine *e, const char *url, const char *ca, size_t ca_len)
{
  struct es_http_request req;
  struct es_http_response *r, *found = NULL;
  unsigned long long id = 0;
  int loops = 0;
  memset(&req, 0, sizeof(req));
  req.method = "GET";
  req.url = url;
  req.ca_pem = ca;
  req.ca_pem_len = ca_len;
  req.max_attempts = 1;
  if(es_engine_submit(e, &req, &id) != ES_OK)
    return NULL;
  while(!found && loops++ < 400) {
    while((r = es_engine_next_done(e))) {
      if(r->id == id && !found)
        found = r;
      else
        es_http_response_free(r);
    }
    if(!found && es_engine_step(e, 50) < 0)
      break;
  }
  return found;
}

static struct es_engine *engine(const char *ca_bundle)
{
  struct es_engine_config c;
  es_engine_config_init(&c);
  c.connect_timeout_ms = 2000;
  c.timeout_ms = 10000;
  c.ca_bundle = ca_bundle;
  return es_engine_new(&c, NULL);
}

static void test_request_ca(void)
{
  struct es_engine *e = engine(NULL);
  struct es_http_response *r;
  char url[128];
  snprintf(url, sizeof(url), "%s/ok", fsrv.tls_url);

  r = run(e, url, server_ca, server_ca_len);
  ok(r && r->status == 200 && r->error == 0, "the server's CA from memory: verified, 200 (%s)",
     r ? r->error_message : "-");
  es_http_response_free(r);

  r = run(e, url, OTHER_CA, sizeof(OTHER_CA) - 1);
  ok(r && r->error == ES_ETLS && r->status == 0,
     "another CA on the same engine and host: TlsError, the verified connection is not reused");
  es_http_response_free(r);

  r = run(e, url, NULL, 0);
  ok(r && r->error == ES_ETLS, "no CA on the next request: the system store, which does not trust the server");
  es_http_response_free(r);

  r = run(e, url, server_ca, server_ca_len);
  ok(r && r->status == 200 && !r->attempt[0].new_connection,
     "the same CA again reuses the connection verified with it");
  es_http_response_free(r);

  r = run(e, url, "not a certificate\n", 18);
  ok(r && r->error == ES_ETLS, "text that is no certificate: TlsError, never an unverified connection");
  es_http_response_free(r);

  snprintf(url, sizeof(url), "https://localhost:%d/ok", fsrv.tls_port);
  r = run(e, url, server_ca, server_ca_len);
  ok(r && r->status == 200, "host name localhost verified against the certificate");
  es_http_response_free(r);
  es_engine_free(e);
}

static void test_replaces_bundle(void)
{
  struct es_engine *e = engine(fsrv.ca_file);
  struct es_http_response *r;
  char url[128];
  snprintf(url, sizeof(url), "%s/ok", fsrv.tls_url);
  r = run(e, url, NULL, 0);
  ok(r && r->status == 200, "the engine's ca_bundle trusts the server");
  es_http_response_free(r);
  r = run(e, url, OTHER_CA, sizeof(OTHER_CA) - 1);
  ok(r && r->error == ES_ETLS, "a request's CA replaces the engine's ca_bundle instead of adding to it");
  es_http_response_free(r);
  es_engine_free(e);
}

static void test_submit_rules(void)
{
  struct es_engine *e = engine(NULL);
  struct es_http_request req;
  char *big = malloc(ES_ENGINE_MAX_CA_PEM + 1);
  unsigned long long id = 0;
  memset(&req, 0, sizeof(req));
  req.method = "GET";
  req.url = fsrv.tls_url;
  req.ca_pem = "";
  req.ca_pem_len = 0;
  ok(es_engine_submit(e, &req, &id) == ES_EINVAL && id == 0, "an empty CA is refused at submit");
  if(big) {
    memset(big, 'A', ES_ENGINE_MAX_CA_PEM + 1);
    req.ca_pem = big;
    req.ca_pem_len = ES_ENGINE_MAX_CA_PEM + 1;
    ok(es_engine_submit(e, &req, &id) == ES_EINVAL && id == 0, "a CA over ES_ENGINE_MAX_CA_PEM is refused");
  }
  else
    ok(0, "malloc");
  ok(es_engine_step(e, 0) == 0, "nothing was queued");
  free(big);
  es_engine_free(e);
}

int main(void)
{
  signal(SIGPIPE, SIG_IGN);
  /* Only ever 127.0.0.1 directly, whatever proxy the environment names. */
  setenv("no_proxy", "127.0.0.1,localhost", 1);
  setenv("NO_PROXY", "127.0.0.1,localhost", 1);
  if(faultserver_start(&fsrv) != 0 || fsrv.tls_port == 0 || read_ca(fsrv.ca_file) != 0) {
    printf("not ok 1 - start csrc/tests/faultserver.py with its TLS port (run from the repository root)\n1..1\n");
    faultserver_stop(&fsrv);
    return 1;
  }
  test_request_ca();
  test_replaces_bundle();
  test_submit_rules();
  faultserver_stop(&fsrv);
  return done_testing();
}
