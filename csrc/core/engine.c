/*
 * engine.c: the HTTP engine (see engine.h).
 *
 * One libcurl multi handle drives every transfer through its socket
 * interface (engine_events.c: epoll, or poll(2)), so a wake-up costs the
 * sockets that are ready; retry timers are a list of their own, so a step
 * never visits the requests in transfer. libcurl callbacks only copy bytes
 * into request-owned buffers. A request lives in the pending list from submit
 * until it completes; its response is then moved to the done queue, whose room
 * is reserved at submit so that completing a request can never fail.
 *
 * Easy handles are pooled (reset between requests, never cleaned up while the
 * engine lives) and every one shares the engine's TLS session and DNS caches
 * (a CURLSH), besides the multi handle's connection pool.
 */
#include "engine.h"

#include <curl/curl.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "awserror.h"
#include "engine_events.h"
#include "engine_retry.h"
#include "es_error.h"
#include "es_text.h"
#include "es_version.h"
#include "httpdate.h"
#include "journal.h"

#define ES_MAX_HEADER_BYTES (256 * 1024)   /* response header block limit */
#define ES_ENGINE_EASY_POOL 256             /* idle easy handles kept for reuse */

/* ---- process-wide libcurl init (the only global state) ------------------- */

static pthread_once_t es_curl_once = PTHREAD_ONCE_INIT;
static CURLcode es_curl_init_rc = CURLE_FAILED_INIT;

static void es_curl_init(void)
{
  es_curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- types ------------------------------------------------------------------ */

enum es_req_state { ES_RS_ACTIVE, ES_RS_WAITING };

/* The lists a request can be on: every request not completed is pending;
   one waiting for a retry is on the timer list too. */
enum { ES_L_PENDING, ES_L_TIMER, ES_N_LISTS };

struct es_req;
struct es_list {
  struct es_req *head;
  size_t n;
};

struct es_req {
  struct es_engine *e;
  struct es_req *prev[ES_N_LISTS], *next[ES_N_LISTS];
  int on[ES_N_LISTS];              /* on that list */
  unsigned long long id;
  enum es_req_state state;

  /* copied inputs */
  char *method;
  char *url;                       /* as handed to curl (scheme://authority/target) */
  const char *target;              /* points into url */
  size_t target_len;
  char *url_host;                  /* the URL's host[:port] (where the connection goes) */
  char *host;                      /* Host header value (signed, sent, guard endpoint) */
  struct es_header *hdrs;          /* filtered caller headers + Host; strings in hstore */
  size_t n_hdrs;
  struct es_buf hstore;
  char *body;                      /* never NULL ("" when empty) */
  size_t body_len;
  int sign;
  char *region, *service;
  char *ak, *sk, *tok;             /* wiped on free */
  unsigned flags;
  int is_eks;                      /* EKS-bound: guarded, and its responses observed */
  long timeout_ms;
  int max_attempts;
  int has_content_type;
  char *ca_pem;                    /* per-request CA (PEM), or NULL: the engine's */
  size_t ca_pem_len;

  /* transfer state */
  CURL *easy;
  struct curl_slist *slist;
  char errbuf[CURL_ERROR_SIZE];
  struct es_buf hraw;              /* this attempt's headers: "name\0value\0"... */
  size_t n_hraw;
  int toobig;
  double t_submit, t_attempt, t_due;
  double next_delay_ms;
  long sign_offset;                /* clock offset used to sign the current attempt */
  long last_acquired;              /* quota tokens taken for the last retry */
  int skew_retried;

  struct es_http_response *resp;   /* filled as attempts complete */
};

struct es_engine {
  CURLM *multi;
  CURLSH *share;                   /* TLS sessions and DNS, shared by every easy handle */
  struct es_events *events;        /* libcurl's sockets and timeout */
  CURL **pool;                     /* idle easy handles, reset */
  size_t n_pool;
  struct es_sigv4_signer *signer;
  struct es_guard_state *guard;
  struct es_retry_quota quota;
  struct es_rng rng;
  long clock_offset;
  es_clock_fn wall_clock;
  void *clock_ud;

  long connect_timeout_ms, timeout_ms;
  size_t max_response_bytes;
  char *ca_bundle;
  int insecure;
  int max_attempts;
  int retry_mode;
  double backoff_base_s, backoff_cap_s;
  char *user_agent;
  struct es_journal *audit;        /* guard audit log, or NULL */
  long max_host_connections, max_total_connections;

  unsigned long long next_id;
  struct es_list pending;          /* requests not completed */
  struct es_list timers;           /* requests waiting for a retry (unordered; few) */

  struct es_http_response **done;  /* FIFO: done[done_head .. done_head+done_len) */
  size_t done_head, done_len, done_cap;
};

/* ---- small helpers ------------------------------------------------------------ */

static time_t es_default_clock(void *ud)
{
  (void)ud;
  return time(NULL);
}

static time_t es_wall(const struct es_engine *e)
{
  return e->wall_clock(e->clock_ud);
}

static char *es_strndup0(const char *s, size_t n)
{
  char *p = malloc(n + 1);
  if(!p)
    return NULL;
  if(n)
    memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

static char *es_strdup0(const char *s)
{
  return s ? es_strndup0(s, strlen(s)) : NULL;
}

static void es_wipe_str(char *s)
{
  if(s) {
    OPENSSL_cleanse(s, strlen(s));
    free(s);
  }
}

static void es_setmsg(struct es_http_response *r, const char *msg)
{
  es_scopy(r->error_message, sizeof(r->error_message), msg);
}

static int es_name_eq(const struct es_header *h, const char *name)
{
  size_t n = strlen(name);
  return h->name_len == n && strncasecmp(h->name, name, n) == 0;
}

/* ---- configuration -------------------------------------------------------- */

void es_engine_config_init(struct es_engine_config *cfg)
{
  memset(cfg, 0, sizeof(*cfg));
  cfg->connect_timeout_ms = 3000;
  cfg->timeout_ms = 30000;
  cfg->max_response_bytes = (size_t)16 << 20;
  cfg->max_attempts = 3;
  cfg->retry_mode = ES_RETRY_STANDARD;
  cfg->quota_capacity = ES_RETRY_QUOTA_CAPACITY;
  cfg->backoff_base_s = 1.0;
  cfg->backoff_cap_s = 20.0;
  cfg->max_host_connections = ES_ENGINE_DEFAULT_HOST_CONNECTIONS;
}

struct es_engine *es_engine_new(const struct es_engine_config *cfg_in, struct es_error_info *err)
{
  struct es_engine_config def, cfg;
  struct es_engine *e;

  es_engine_config_init(&def);
  if(cfg_in)
    cfg = *cfg_in;
  else
    cfg = def;
  if(cfg.connect_timeout_ms <= 0)
    cfg.connect_timeout_ms = def.connect_timeout_ms;
  if(cfg.timeout_ms <= 0)
    cfg.timeout_ms = def.timeout_ms;
  if(cfg.max_response_bytes == 0)
    cfg.max_response_bytes = def.max_response_bytes;
  if(cfg.max_attempts <= 0)
    cfg.max_attempts = def.max_attempts;
  if(cfg.max_attempts > ES_ENGINE_MAX_ATTEMPTS)
    cfg.max_attempts = ES_ENGINE_MAX_ATTEMPTS;
  if(cfg.retry_mode != ES_RETRY_OFF && cfg.retry_mode != ES_RETRY_STANDARD_2026)
    cfg.retry_mode = ES_RETRY_STANDARD;
  if(cfg.quota_capacity <= 0)
    cfg.quota_capacity = def.quota_capacity;
  if(!(cfg.backoff_base_s > 0))
    cfg.backoff_base_s = def.backoff_base_s;
  if(!(cfg.backoff_cap_s > 0))
    cfg.backoff_cap_s = def.backoff_cap_s;
  if(cfg.max_host_connections <= 0)
    cfg.max_host_connections = def.max_host_connections;
  if(cfg.max_total_connections < 0)
    cfg.max_total_connections = 0;

  es_error_set(err, ES_OK, 0, "%s", "");
  pthread_once(&es_curl_once, es_curl_init);
  if(es_curl_init_rc != CURLE_OK) {
    es_error_set(err, ES_ECURL, 0, "libcurl global initialization failed (%s)",
                 curl_easy_strerror(es_curl_init_rc));
    return NULL;
  }

  e = calloc(1, sizeof(*e));
  if(!e) {
    es_error_set(err, ES_ENOMEM, 0, "out of memory");
    return NULL;
  }
  e->connect_timeout_ms = cfg.connect_timeout_ms;
  e->timeout_ms = cfg.timeout_ms;
  e->max_response_bytes = cfg.max_response_bytes;
  e->insecure = cfg.insecure ? 1 : 0;
  e->max_attempts = cfg.retry_mode == ES_RETRY_OFF ? 1 : cfg.max_attempts;
  e->retry_mode = cfg.retry_mode;
  e->backoff_base_s = cfg.backoff_base_s;
  e->backoff_cap_s = cfg.backoff_cap_s;
  e->wall_clock = cfg.wall_clock ? cfg.wall_clock : es_default_clock;
  e->clock_ud = cfg.wall_clock ? cfg.clock_ud : NULL;
  e->next_id = 1;
  es_retry_quota_init(&e->quota, cfg.quota_capacity);
  es_rng_seed(&e->rng, cfg.seed ? cfg.seed
                                : ((uint64_t)time(NULL) << 20) ^ (uint64_t)(uintptr_t)e ^
                                    (uint64_t)(es_mono_ms() * 1000.0));

  if(cfg.ca_bundle && !(e->ca_bundle = es_strdup0(cfg.ca_bundle)))
    goto nomem;
  if(cfg.user_agent)
    e->user_agent = es_strdup0(cfg.user_agent);
  else {
    const curl_version_info_data *vi = curl_version_info(CURLVERSION_NOW);
    struct es_buf ua = ES_BUF_INIT;
    if(es_buf_printf(&ua, "eksegress/%s libcurl/%s", es_version(),
                     vi && vi->version ? vi->version : "?") != ES_OK) {
      es_buf_free(&ua);
      goto nomem;
    }
    e->user_agent = ua.data;
  }
  if(!e->user_agent)
    goto nomem;
  if(cfg.audit_path) {
    struct es_error_info jerr;
    /* Shared: several processes may append to one audit log; every line is
       synced before the request it records is sent. */
    e->audit = es_journal_open(cfg.audit_path, ES_JOURNAL_SHARED | ES_JOURNAL_SYNC, &jerr);
    if(!e->audit) {
      es_error_set(err, jerr.code, 0, "audit_path: %s", jerr.message);
      goto fail;
    }
  }
  e->guard = es_guard_state_new();
  e->pool = calloc(ES_ENGINE_EASY_POOL, sizeof(*e->pool));
  if(!e->guard || !e->pool)
    goto nomem;
  e->signer = es_sigv4_signer_new(0);
  if(!e->signer) {
    es_error_set(err, ES_ECRYPTO, 0, "cannot set up the SigV4 signer (OpenSSL failure or out of memory)");
    goto fail;
  }
  e->multi = curl_multi_init();
  e->share = curl_share_init();
  if(!e->multi || !e->share ||
     curl_share_setopt(e->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK ||
     curl_share_setopt(e->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK ||
     es_engine_set_connection_limits(e, cfg.max_host_connections, cfg.max_total_connections) != ES_OK ||
     curl_multi_setopt(e->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX) != CURLM_OK) {
    es_error_set(err, ES_ECURL, 0, "cannot set up the libcurl multi handle");
    goto fail;
  }
  e->events = es_events_new(e->multi, cfg.use_poll);
  if(!e->events) {
    es_error_set(err, ES_ECURL, 0, "cannot set up the event loop (epoll/poll)");
    goto fail;
  }
  return e;

nomem:
  es_error_set(err, ES_ENOMEM, 0, "out of memory");
fail:
  es_engine_free(e);
  return NULL;
}

/* ---- response / request lifetime ------------------------------------------ */

void es_http_response_free(struct es_http_response *r)
{
  if(!r)
    return;
  free(r->headers);
  es_buf_free(&r->body);
  free(r);
}

static void es_slist_wipe_free(struct curl_slist *l)
{
  struct curl_slist *p;
  for(p = l; p; p = p->next)
    if(p->data)
      OPENSSL_cleanse(p->data, strlen(p->data));   /* may hold the session token */
  curl_slist_free_all(l);
}

/* An easy handle back to the pool (reset: nothing of the request stays set),
   or cleaned up when the pool is full. */
static void es_easy_release(struct es_engine *e, CURL *c)
{
  if(e && e->n_pool < ES_ENGINE_EASY_POOL) {
    curl_easy_reset(c);
    e->pool[e->n_pool++] = c;
  }
  else
    curl_easy_cleanup(c);
}

static void es_list_push(struct es_list *l, struct es_req *q, int k)
{
  q->prev[k] = NULL;
  q->next[k] = l->head;
  if(l->head)
    l->head->prev[k] = q;
  l->head = q;
  q->on[k] = 1;
  l->n++;
}

static void es_list_remove(struct es_list *l, struct es_req *q, int k)
{
  if(!q->on[k])
    return;
  if(q->prev[k])
    q->prev[k]->next[k] = q->next[k];
  else
    l->head = q->next[k];
  if(q->next[k])
    q->next[k]->prev[k] = q->prev[k];
  q->prev[k] = q->next[k] = NULL;
  q->on[k] = 0;
  l->n--;
}

static void es_req_free(struct es_req *q)
{
  if(!q)
    return;
  if(q->e)
    es_list_remove(&q->e->timers, q, ES_L_TIMER);
  if(q->easy) {
    if(q->state == ES_RS_ACTIVE && q->e)
      curl_multi_remove_handle(q->e->multi, q->easy);
    es_easy_release(q->e, q->easy);
  }
  es_slist_wipe_free(q->slist);
  free(q->method);
  free(q->url);
  free(q->url_host);
  free(q->host);
  free(q->hdrs);
  es_buf_free(&q->hstore);
  if(q->body)
    OPENSSL_cleanse(q->body, q->body_len);
  free(q->body);
  free(q->region);
  free(q->service);
  free(q->ca_pem);
  es_wipe_str(q->ak);
  es_wipe_str(q->sk);
  es_wipe_str(q->tok);
  es_buf_free(&q->hraw);
  es_http_response_free(q->resp);
  free(q);
}

/* Room for every pending request's response plus `extra`, so completion never allocates. */
static int es_done_reserve(struct es_engine *e, size_t extra)
{
  size_t need = e->pending.n + e->done_len + extra;
  struct es_http_response **p;
  size_t ncap;
  if(e->done_head > 0 && e->done_head + need > e->done_cap) {
    memmove(e->done, e->done + e->done_head, e->done_len * sizeof(*e->done));
    e->done_head = 0;
  }
  if(need <= e->done_cap)
    return ES_OK;
  ncap = e->done_cap ? e->done_cap * 2 : 16;
  while(ncap < need)
    ncap *= 2;
  p = realloc(e->done, ncap * sizeof(*p));
  if(!p)
    return ES_ENOMEM;
  e->done = p;
  e->done_cap = ncap;
  return ES_OK;
}

/* Move a request's response to the done queue and free the request. */
static void es_complete(struct es_engine *e, struct es_req *q)
{
  struct es_http_response *r = q->resp;
  q->resp = NULL;
  r->total_ms = es_mono_ms() - q->t_submit;
  if(!r->body.data)
    (void)es_buf_append(&r->body, "", 0);   /* best effort: callers may still see NULL on ENOMEM */
  if(r->error && !r->error_message[0])
    es_setmsg(r, es_strerror(r->error));
  es_list_remove(&e->pending, q, ES_L_PENDING);
  /* es_done_reserve() made room at submit; compact if the tail is reached. */
  if(e->done_head + e->done_len >= e->done_cap) {
    memmove(e->done, e->done + e->done_head, e->done_len * sizeof(*e->done));
    e->done_head = 0;
  }
  e->done[e->done_head + e->done_len++] = r;
  es_req_free(q);
}

void es_engine_free(struct es_engine *e)
{
  size_t i;
  if(!e)
    return;
  while(e->pending.head) {
    struct es_req *q = e->pending.head;
    es_list_remove(&e->pending, q, ES_L_PENDING);
    es_req_free(q);
  }
  for(i = 0; i < e->done_len; i++)
    es_http_response_free(e->done[e->done_head + i]);
  free(e->done);
  for(i = 0; i < e->n_pool; i++)
    curl_easy_cleanup(e->pool[i]);
  free(e->pool);
  es_events_free(e->events);
  if(e->multi)
    curl_multi_cleanup(e->multi);
  if(e->share)
    curl_share_cleanup(e->share);
  es_sigv4_signer_free(e->signer);
  es_guard_state_free(e->guard);
  free(e->ca_bundle);
  free(e->user_agent);
  (void)es_journal_close(e->audit);
  free(e);
}

/* ---- libcurl callbacks: copy bytes, nothing else ---------------------------- */

static size_t es_write_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
  struct es_req *q = ud;
  size_t n = size * nmemb;
  if(q->resp->body.len + n > q->e->max_response_bytes) {
    q->toobig = 1;
    return 0;   /* aborts the transfer with CURLE_WRITE_ERROR */
  }
  if(es_buf_append(&q->resp->body, ptr, n) != ES_OK)
    return 0;
  return n;
}

static size_t es_header_cb(char *ptr, size_t size, size_t nitems, void *ud)
{
  struct es_req *q = ud;
  size_t n = size * nitems, i, nl, vs, ve;
  char *colon;

  if(n >= 5 && memcmp(ptr, "HTTP/", 5) == 0) {
    /* A new response (after 1xx or a proxy CONNECT): keep only the last block. */
    es_buf_reset(&q->hraw);
    q->n_hraw = 0;
    return n;
  }
  if(q->hraw.len + n > ES_MAX_HEADER_BYTES) {
    q->toobig = 1;
    return 0;
  }
  colon = memchr(ptr, ':', n);
  if(!colon || colon == ptr || ptr[0] == ' ' || ptr[0] == '\t')
    return n;   /* blank line, obsolete line folding or garbage: ignore */
  nl = (size_t)(colon - ptr);
  while(nl > 0 && (ptr[nl - 1] == ' ' || ptr[nl - 1] == '\t'))
    nl--;
  vs = (size_t)(colon - ptr) + 1;
  while(vs < n && (ptr[vs] == ' ' || ptr[vs] == '\t'))
    vs++;
  ve = n;
  while(ve > vs && (ptr[ve - 1] == '\r' || ptr[ve - 1] == '\n' || ptr[ve - 1] == ' ' ||
                    ptr[ve - 1] == '\t'))
    ve--;
  if(es_buf_reserve(&q->hraw, nl + (ve - vs) + 2) != ES_OK)
    return 0;
  for(i = 0; i < nl; i++) {
    char c = ptr[i];
    q->hraw.data[q->hraw.len++] = (char)es_ascii_lower((unsigned char)c);
  }
  q->hraw.data[q->hraw.len++] = '\0';
  memcpy(q->hraw.data + q->hraw.len, ptr + vs, ve - vs);
  q->hraw.len += ve - vs;
  q->hraw.data[q->hraw.len++] = '\0';
  q->hraw.data[q->hraw.len] = '\0';
  q->n_hraw++;
  return n;
}

/* ---- request building --------------------------------------------------------- */

/* Split an absolute URL into the Host value and the request-target, and build
   the URL curl gets. Rejects anything that would make the wire differ from
   what is signed: userinfo, fragments, whitespace and control bytes. */
static int es_parse_url(struct es_req *q, const char *url)
{
  const char *p, *auth, *auth_end, *host_end, *port;
  size_t slen, alen, hlen;
  int https;
  struct es_buf u = ES_BUF_INIT;

  for(p = url; *p; p++)
    if((unsigned char)*p <= 0x20 || (unsigned char)*p == 0x7f || *p == '#')
      return ES_EINVAL;
  if(strncasecmp(url, "https://", 8) == 0) {
    https = 1;
    slen = 8;
  }
  else if(strncasecmp(url, "http://", 7) == 0) {
    https = 0;
    slen = 7;
  }
  else
    return ES_EINVAL;
  auth = url + slen;
  auth_end = auth + strcspn(auth, "/?");
  alen = (size_t)(auth_end - auth);
  if(alen == 0 || memchr(auth, '@', alen))
    return ES_EINVAL;
  /* Find the port separator, skipping an IPv6 literal. */
  host_end = auth_end;
  port = NULL;
  if(auth[0] == '[') {
    const char *rb = memchr(auth, ']', alen);
    if(!rb)
      return ES_EINVAL;
    if(rb + 1 < auth_end) {
      if(rb[1] != ':')
        return ES_EINVAL;
      port = rb + 2;
      host_end = rb + 1;
    }
  }
  else {
    const char *c = memchr(auth, ':', alen);
    if(c) {
      port = c + 1;
      host_end = c;
    }
  }
  if(port) {
    const char *d;
    if(port == auth_end)
      return ES_EINVAL;
    for(d = port; d < auth_end; d++)
      if(!es_is_digit((unsigned char)*d))
        return ES_EINVAL;
  }
  if(host_end == auth)
    return ES_EINVAL;
  /* AWS SDKs sign the Host without the scheme's default port. */
  if(port && (size_t)(auth_end - port) == (https ? 3u : 2u) &&
     memcmp(port, https ? "443" : "80", https ? 3 : 2) == 0)
    hlen = (size_t)(host_end - auth);
  else
    hlen = alen;
  q->url_host = es_strndup0(auth, hlen);
  q->host = es_strndup0(auth, hlen);
  if(!q->url_host || !q->host)
    return ES_ENOMEM;

  if(es_buf_append(&u, url, slen + alen) != ES_OK ||
     (*auth_end != '/' && es_buf_putc(&u, '/') != ES_OK) ||
     es_buf_puts(&u, auth_end) != ES_OK) {
    es_buf_free(&u);
    return ES_ENOMEM;
  }
  q->url = u.data;
  q->target = q->url + slen + alen;
  q->target_len = strlen(q->target);
  return ES_OK;
}

static int es_header_ok(const struct es_header *h)
{
  size_t i;
  if(!h->name || h->name_len == 0 || (!h->value && h->value_len))
    return 0;
  for(i = 0; i < h->name_len; i++)
    if(!es_is_tchar((unsigned char)h->name[i]))
      return 0;
  for(i = 0; i < h->value_len; i++) {
    unsigned char c = (unsigned char)h->value[i];
    if(c == '\r' || c == '\n' || c == '\0')
      return 0;   /* header injection */
  }
  return 1;
}

/* Copy the caller's headers, dropping what the signer regenerates, adding Host. */
static int es_copy_headers(struct es_req *q, const struct es_http_request *r)
{
  size_t i, n = 0;
  int have_host = 0;
  size_t *off;

  for(i = 0; i < r->n_headers; i++) {
    if(!es_header_ok(&r->headers[i]))
      return ES_EINVAL;
    if(es_name_eq(&r->headers[i], "host"))
      have_host = 1;
  }
  q->hdrs = calloc(r->n_headers + 1, sizeof(*q->hdrs));
  off = calloc(2 * (r->n_headers + 1), sizeof(*off));
  if(!q->hdrs || !off) {
    free(off);
    return ES_ENOMEM;
  }
  /* Offsets first: hstore may move while it grows. */
  if(!have_host) {
    off[0] = q->hstore.len;
    if(es_buf_append(&q->hstore, "Host", 5) != ES_OK)
      goto nomem;
    off[1] = q->hstore.len;
    if(es_buf_append(&q->hstore, q->host, strlen(q->host) + 1) != ES_OK)
      goto nomem;
    q->hdrs[0].name_len = 4;
    q->hdrs[0].value_len = strlen(q->host);
    n = 1;
  }
  for(i = 0; i < r->n_headers; i++) {
    const struct es_header *h = &r->headers[i];
    if(r->sign && (es_name_eq(h, "authorization") || es_name_eq(h, "x-amz-date") ||
                   es_name_eq(h, "x-amz-security-token") ||
                   ((r->sigv4_flags & ES_SIGV4_SIGN_BODY) && es_name_eq(h, "x-amz-content-sha256"))))
      continue;
    if(q->e->retry_mode == ES_RETRY_STANDARD_2026 && es_name_eq(h, "amz-sdk-request"))
      continue;
    if(es_name_eq(h, "content-type"))
      q->has_content_type = 1;
    if(es_name_eq(h, "host")) {
      /* The caller's Host wins: it is what is signed, sent and guarded. */
      char *nh = es_strndup0(h->value, h->value_len);
      if(!nh)
        goto nomem;
      free(q->host);
      q->host = nh;
    }
    off[2 * n] = q->hstore.len;
    if(es_buf_append(&q->hstore, h->name, h->name_len) != ES_OK ||
       es_buf_putc(&q->hstore, '\0') != ES_OK)
      goto nomem;
    off[2 * n + 1] = q->hstore.len;
    if((h->value_len && es_buf_append(&q->hstore, h->value, h->value_len) != ES_OK) ||
       es_buf_putc(&q->hstore, '\0') != ES_OK)
      goto nomem;
    q->hdrs[n].name_len = h->name_len;
    q->hdrs[n].value_len = h->value_len;
    n++;
  }
  for(i = 0; i < n; i++) {
    q->hdrs[i].name = q->hstore.data + off[2 * i];
    q->hdrs[i].value = q->hstore.data + off[2 * i + 1];
  }
  q->n_hdrs = n;
  free(off);
  return ES_OK;

nomem:
  free(off);
  return ES_ENOMEM;
}

static int es_method_ok(const char *m)
{
  const char *p;
  if(!m || !*m || strlen(m) > 32)
    return 0;
  for(p = m; *p; p++)
    if(!es_is_tchar((unsigned char)*p))
      return 0;
  return 1;
}

/* Append "Name: value" (or "Name;" for an empty value, curl's syntax) to the list. */
static int es_slist_add(struct curl_slist **l, const char *name, size_t nlen, const char *value,
                        size_t vlen)
{
  struct es_buf b = ES_BUF_INIT;
  struct curl_slist *nl;
  int rc;
  if(vlen)
    rc = es_buf_printf(&b, "%.*s: %.*s", (int)nlen, name, (int)vlen, value);
  else
    rc = es_buf_printf(&b, "%.*s;", (int)nlen, name);
  if(rc != ES_OK) {
    es_buf_free(&b);
    return rc;
  }
  nl = curl_slist_append(*l, b.data);
  es_buf_wipe_free(&b);
  if(!nl)
    return ES_ENOMEM;
  *l = nl;
  return ES_OK;
}

/* Build this attempt's header list: sign with a fresh time when asked. */
static int es_build_headers(struct es_req *q, int attempt, struct es_http_response *r)
{
  struct es_engine *e = q->e;
  struct curl_slist *l = NULL;
  const struct es_header *send = q->hdrs;
  size_t n_send = q->n_hdrs, i;
  struct es_header *ext = NULL;
  struct es_sigv4_result res;
  char amz_date[17];
  char sdkreq[64];
  int rc = ES_OK;

  es_sigv4_result_init(&res);
  if(e->retry_mode == ES_RETRY_STANDARD_2026) {
    /* amz-sdk-request goes in before signing, as botocore does */
    int max = q->max_attempts;
    ext = calloc(q->n_hdrs + 1, sizeof(*ext));
    if(!ext)
      return ES_ENOMEM;
    memcpy(ext, q->hdrs, q->n_hdrs * sizeof(*ext));
    snprintf(sdkreq, sizeof(sdkreq), "attempt=%d; max=%d", attempt, max);
    ext[q->n_hdrs].name = "amz-sdk-request";
    ext[q->n_hdrs].name_len = strlen("amz-sdk-request");
    ext[q->n_hdrs].value = sdkreq;
    ext[q->n_hdrs].value_len = strlen(sdkreq);
    send = ext;
    n_send = q->n_hdrs + 1;
  }
  if(q->sign) {
    struct es_sigv4_request sr;
    memset(&sr, 0, sizeof(sr));
    q->sign_offset = e->clock_offset;
    es_sigv4_format_time(es_wall(e) + (time_t)e->clock_offset, amz_date);
    sr.method = q->method;
    sr.target = q->target;
    sr.target_len = q->target_len;
    sr.headers = send;
    sr.n_headers = n_send;
    sr.body = q->body;
    sr.body_len = q->body_len;
    sr.region = q->region;
    sr.service = q->service;
    sr.amz_date = amz_date;
    sr.creds.access_key_id = q->ak;
    sr.creds.secret_access_key = q->sk;
    sr.creds.session_token = q->tok;
    sr.placement = ES_SIGV4_HEADER;
    sr.flags = q->flags;
    rc = es_sigv4_sign(e->signer, &sr, &res);
    if(rc != ES_OK) {
      es_setmsg(r, "SigV4 signing failed");
      goto out;
    }
    send = res.headers;
    n_send = res.n_headers;
  }
  for(i = 0; i < n_send && rc == ES_OK; i++)
    rc = es_slist_add(&l, send[i].name, send[i].name_len, send[i].value, send[i].value_len);
  /* Keep curl from adding headers of its own that change the request:
     "Expect: 100-continue" and a form Content-Type. */
  if(rc == ES_OK) {
    struct curl_slist *nl = curl_slist_append(l, "Expect:");   /* "Name:" removes it */
    if(nl)
      l = nl;
    else
      rc = ES_ENOMEM;
  }
  if(rc == ES_OK && !q->has_content_type) {
    struct curl_slist *nl = curl_slist_append(l, "Content-Type:");
    if(nl)
      l = nl;
    else
      rc = ES_ENOMEM;
  }
out:
  es_sigv4_result_free(&res);
  free(ext);
  if(rc != ES_OK) {
    es_slist_wipe_free(l);
    return rc;
  }
  es_slist_wipe_free(q->slist);
  q->slist = l;
  return ES_OK;
}

/* ---- transfers ------------------------------------------------------------------ */

static int es_map_curl_error(const struct es_req *q, CURLcode rc)
{
  switch(rc) {
  case CURLE_OK:
    return 0;
  case CURLE_OPERATION_TIMEDOUT:
    return ES_ETIMEOUT;
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_RESOLVE_PROXY:
  case CURLE_COULDNT_CONNECT:
    return ES_ECONNECT;
  case CURLE_SEND_ERROR:
  case CURLE_RECV_ERROR:
  case CURLE_GOT_NOTHING:
  case CURLE_PARTIAL_FILE:
  case CURLE_HTTP2:
  case CURLE_HTTP2_STREAM:
    return ES_ECONNRESET;
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CIPHER:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_ENGINE_NOTFOUND:
  case CURLE_SSL_ENGINE_SETFAILED:
  case CURLE_SSL_ENGINE_INITFAILED:
  case CURLE_SSL_SHUTDOWN_FAILED:
  case CURLE_SSL_CRL_BADFILE:
  case CURLE_SSL_ISSUER_ERROR:
  case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
  case CURLE_SSL_INVALIDCERTSTATUS:
  case CURLE_USE_SSL_FAILED:
    return ES_ETLS;
  case CURLE_FILESIZE_EXCEEDED:
    return ES_ETOOBIG;
  case CURLE_WRITE_ERROR:
    return q->toobig ? ES_ETOOBIG : ES_ENOMEM;
  case CURLE_OUT_OF_MEMORY:
    return ES_ENOMEM;
  default:
    return ES_EHTTP;
  }
}

static int es_setup_easy(struct es_req *q)
{
  struct es_engine *e = q->e;
  CURL *c = e->n_pool ? e->pool[--e->n_pool] : curl_easy_init();
  int ok = 1;
  if(!c)
    return ES_ECURL;
  q->easy = c;
#define ES_SET(opt, val) ok = ok && curl_easy_setopt(c, opt, val) == CURLE_OK
  ES_SET(CURLOPT_SHARE, e->share);
  ES_SET(CURLOPT_URL, q->url);
  ES_SET(CURLOPT_PRIVATE, (void *)q);
  ES_SET(CURLOPT_NOSIGNAL, 1L);
  ES_SET(CURLOPT_ERRORBUFFER, q->errbuf);
  ES_SET(CURLOPT_WRITEFUNCTION, es_write_cb);
  ES_SET(CURLOPT_WRITEDATA, (void *)q);
  ES_SET(CURLOPT_HEADERFUNCTION, es_header_cb);
  ES_SET(CURLOPT_HEADERDATA, (void *)q);
  ES_SET(CURLOPT_CONNECTTIMEOUT_MS, e->connect_timeout_ms);
  ES_SET(CURLOPT_TIMEOUT_MS, q->timeout_ms);
  ES_SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
  ES_SET(CURLOPT_SSL_VERIFYPEER, e->insecure ? 0L : 1L);
  ES_SET(CURLOPT_SSL_VERIFYHOST, e->insecure ? 0L : 2L);
  if(q->ca_pem) {
    /* Trust this request's CA alone: no CA file, no CA directory. libcurl
       copies the blob and keeps connections made with another CA apart. */
    struct curl_blob blob;
    blob.data = q->ca_pem;
    blob.len = q->ca_pem_len;
    blob.flags = CURL_BLOB_COPY;
    ES_SET(CURLOPT_CAINFO_BLOB, &blob);
    ES_SET(CURLOPT_CAINFO, (char *)NULL);
    ES_SET(CURLOPT_CAPATH, (char *)NULL);
  }
  else if(e->ca_bundle)
    ES_SET(CURLOPT_CAINFO, e->ca_bundle);
  /* The path is signed as given: curl must not remove dot segments. */
  ES_SET(CURLOPT_PATH_AS_IS, 1L);
  ES_SET(CURLOPT_USERAGENT, e->user_agent);
  ES_SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)e->max_response_bytes);
  ES_SET(CURLOPT_TCP_KEEPALIVE, 1L);
  ES_SET(CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
  ES_SET(CURLOPT_PROTOCOLS_STR, "http,https");
#else
  ES_SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  /* Share an HTTP/2 connection being set up instead of opening another. */
  if(strncasecmp(q->url, "https:", 6) == 0)
    ES_SET(CURLOPT_PIPEWAIT, 1L);
  if(strcmp(q->method, "HEAD") == 0)
    ES_SET(CURLOPT_NOBODY, 1L);
  else if(strcmp(q->method, "GET") == 0 && q->body_len == 0)
    ES_SET(CURLOPT_HTTPGET, 1L);
  else {
    if(q->body_len > 0 || strcmp(q->method, "POST") == 0 || strcmp(q->method, "PUT") == 0 ||
       strcmp(q->method, "PATCH") == 0) {
      ES_SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->body_len);
      ES_SET(CURLOPT_POSTFIELDS, q->body);
    }
    if(strcmp(q->method, "POST") != 0)
      ES_SET(CURLOPT_CUSTOMREQUEST, q->method);
  }
#undef ES_SET
  return ok ? ES_OK : ES_ECURL;
}

/* Build the response's header array from this attempt's raw headers
   (one block: the array, then the strings). */
static int es_take_headers(struct es_req *q, struct es_http_response *r)
{
  struct es_header *h;
  char *s;
  size_t i;
  free(r->headers);
  r->headers = NULL;
  r->n_headers = 0;
  r->date[0] = '\0';
  if(q->n_hraw == 0)
    return ES_OK;
  h = malloc(q->n_hraw * sizeof(*h) + q->hraw.len);
  if(!h)
    return ES_ENOMEM;
  s = (char *)(h + q->n_hraw);
  memcpy(s, q->hraw.data, q->hraw.len);
  for(i = 0; i < q->n_hraw; i++) {
    h[i].name = s;
    h[i].name_len = strlen(s);
    s += h[i].name_len + 1;
    h[i].value = s;
    h[i].value_len = strlen(s);
    s += h[i].value_len + 1;
    if(!r->date[0] && strcmp(h[i].name, "date") == 0)
      es_scopy(r->date, sizeof(r->date), h[i].value);
  }
  r->headers = h;
  r->n_headers = q->n_hraw;
  return ES_OK;
}

static void es_finish_attempt(struct es_engine *e, struct es_req *q, CURLcode cres);

/* Start the next attempt. The request may complete (and be freed) in here. */
static void es_start_attempt(struct es_engine *e, struct es_req *q)
{
  struct es_http_response *r = q->resp;
  int rc;
  rc = es_build_headers(q, r->attempts + 1, r);
  if(rc == ES_OK && !q->easy)
    rc = es_setup_easy(q);
  if(rc == ES_OK && curl_easy_setopt(q->easy, CURLOPT_HTTPHEADER, q->slist) != CURLE_OK)
    rc = ES_ECURL;
  if(rc != ES_OK) {
    r->error = rc;
    es_complete(e, q);
    return;
  }
  r->attempt[r->attempts].delay_ms = q->next_delay_ms;
  r->attempts++;
  es_buf_reset(&r->body);
  es_buf_reset(&q->hraw);
  q->n_hraw = 0;
  q->toobig = 0;
  q->errbuf[0] = '\0';
  q->t_attempt = es_mono_ms();
  if(curl_multi_add_handle(e->multi, q->easy) != CURLM_OK) {
    r->error = ES_ECURL;
    es_setmsg(r, "curl_multi_add_handle failed");
    es_complete(e, q);
    return;
  }
  q->state = ES_RS_ACTIVE;
  /* Send it now rather than at the next step: a caller that submits
     requests one after another (a scheduler resuming its tasks) would
     otherwise hold the first back until the last is built. Whatever this
     completes is collected by the next step. */
  (void)es_events_run_due(e->events);
}

/* The server's retry hint in ms: x-amz-retry-after (milliseconds), else an
   HTTP Retry-After given in delta-seconds (dates are ignored); -1 if none. */
static long es_retry_after_ms(const struct es_http_response *r)
{
  const char *v = es_http_response_header(r, "x-amz-retry-after");
  long scale = 1;
  char *end;
  long n;
  if(!v || !*v) {
    v = es_http_response_header(r, "retry-after");
    scale = 1000;
  }
  if(!v || !*v)
    return -1;
  errno = 0;
  n = strtol(v, &end, 10);
  if(errno || *end || n < 0 || n > 86400L * 1000L)
    return -1;
  return n * scale;
}

static void es_finish_attempt(struct es_engine *e, struct es_req *q, CURLcode cres)
{
  struct es_http_response *r = q->resp;
  struct es_http_attempt *a = &r->attempt[r->attempts - 1];
  struct es_retry_class cls;
  struct es_aws_error aerr;
  long status = 0, httpver = 0, nconn = 0;
  int err, skew_retry = 0, success;

  curl_multi_remove_handle(e->multi, q->easy);
  q->state = ES_RS_WAITING;
  a->ms = es_mono_ms() - q->t_attempt;
  curl_easy_getinfo(q->easy, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_getinfo(q->easy, CURLINFO_NUM_CONNECTS, &nconn);
  curl_easy_getinfo(q->easy, CURLINFO_HTTP_VERSION, &httpver);
  err = es_map_curl_error(q, cres);
  if(es_take_headers(q, r) != ES_OK && !err)
    err = ES_ENOMEM;
  a->status = status;
  a->error = err;
  a->new_connection = nconn > 0;
  r->status = status;
  r->error = err;
  r->http_version = httpver == CURL_HTTP_VERSION_1_0   ? 10
                    : httpver == CURL_HTTP_VERSION_1_1 ? 11
                    : httpver == CURL_HTTP_VERSION_2_0 ? 20
                                                       : 0;
  if(err)
    es_setmsg(r, q->errbuf[0] ? q->errbuf : es_strerror(err));
  else
    r->error_message[0] = '\0';

  success = !err && status >= 200 && status < 300;
  (void)es_aws_error_parse(r->headers, r->n_headers, success || err ? NULL : r->body.data,
                           success || err ? 0 : r->body.len, &aerr);
  es_scopy(r->aws_code, sizeof(r->aws_code), aerr.code);
  es_scopy(r->aws_message, sizeof(r->aws_message), aerr.message);
  es_scopy(r->request_id, sizeof(r->request_id), aerr.request_id);
  es_scopy(a->aws_code, sizeof(a->aws_code), aerr.code);

  es_retry_classify(err ? 0 : status, err, aerr.code, &cls);

  /* The guard learns from every EKS attempt: a DescribeCluster tells the mode;
     an UpdateClusterConfig attempt, even a failed one, may have changed it. */
  if(q->is_eks)
    es_guard_observe(e->guard, q->ak, q->host, q->method, q->target, q->target_len, err ? 0 : status,
                     err ? NULL : r->body.data, err ? 0 : r->body.len, es_wall(e), q->id);

  /* Clock skew: learn the offset from Date; retry once if the offset now
     differs from the one this attempt was signed with (also when a concurrent
     request corrected it first). */
  if(cls.skew && q->sign && !q->skew_retried) {
    time_t server;
    if(r->date[0] && es_httpdate_parse(r->date, strlen(r->date), &server) == ES_OK) {
      time_t now = es_wall(e);
      long long diff = (long long)server - ((long long)now + e->clock_offset);
      if(diff >= ES_SKEW_THRESHOLD_S || diff <= -ES_SKEW_THRESHOLD_S) {
        e->clock_offset = (long)((long long)server - (long long)now);
        r->clock_skew_corrected = 1;
      }
    }
    if(e->clock_offset != q->sign_offset) {
      skew_retry = 1;
      q->skew_retried = 1;
    }
  }
  r->retryable = cls.retryable || skew_retry;
  r->throttling = cls.throttling;

  if(r->retryable && r->attempts < q->max_attempts) {
    long cost = es_retry_cost(e->retry_mode, &cls);
    if(es_retry_quota_acquire(&e->quota, cost)) {
      double d;
      q->last_acquired = cost;
      if(e->retry_mode == ES_RETRY_STANDARD_2026)
        d = es_retry_backoff_2026(e->backoff_base_s, e->backoff_cap_s, r->attempts + 1,
                                  cls.throttling, es_retry_after_ms(r), es_rng_uniform(&e->rng));
      else
        d = es_retry_apply_hint(es_retry_backoff(e->backoff_base_s, e->backoff_cap_s, r->attempts + 1,
                                                 es_rng_uniform(&e->rng)),
                                es_retry_after_ms(r));
      q->next_delay_ms = d * 1000.0;
      q->t_due = es_mono_ms() + q->next_delay_ms;
      es_list_push(&e->timers, q, ES_L_TIMER);
      return;   /* stays pending; es_start_due() sends it when due */
    }
    r->quota_exhausted = 1;
  }

  /* Final outcome. */
  if(success)
    es_retry_quota_on_success(&e->quota, q->last_acquired);
  if(err)
    es_buf_free(&r->body);
  es_complete(e, q);
}

/* Collect finished transfers. Returns how many attempts finished. */
static int es_collect(struct es_engine *e)
{
  CURLMsg *m;
  int left, n = 0;
  while((m = curl_multi_info_read(e->multi, &left))) {
    struct es_req *q = NULL;
    if(m->msg != CURLMSG_DONE)
      continue;
    if(curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&q) != CURLE_OK || !q)
      continue;
    es_finish_attempt(e, q, m->data.result);
    n++;
  }
  return n;
}

/* Start every request whose retry timer is due; returns the earliest
   remaining due time (or a negative number if none waits). Only the timer
   list is visited, never the requests in transfer. */
static double es_start_due(struct es_engine *e, double now)
{
  struct es_req *q = e->timers.head, *next;
  double earliest = -1;
  for(; q; q = next) {
    next = q->next[ES_L_TIMER];
    if(q->t_due <= now) {
      es_list_remove(&e->timers, q, ES_L_TIMER);
      es_start_attempt(e, q);   /* may complete and free q, never next */
    }
    else if(earliest < 0 || q->t_due < earliest)
      earliest = q->t_due;
  }
  return earliest;
}

int es_engine_step(struct es_engine *e, long timeout_ms)
{
  double due;
  int rc;

  if(!e)
    return ES_EINVAL;
  due = es_start_due(e, es_mono_ms());
  if(e->pending.n == 0)
    return 0;
  /* One pass: libcurl's due timeout first (it sends what was submitted
     since), then at most one wait for the sockets, unless a response is
     already waiting to be collected. */
  if(es_collect(e) == 0) {
    long wait = timeout_ms;
    if(due >= 0 && wait > 0) {
      double w = due - es_mono_ms();
      if(w < 0)
        w = 0;
      if(w < (double)wait)
        wait = (long)w + 1;   /* round up: waking early only costs another loop */
    }
    rc = es_events_drive(e->events, e->pending.n > 0 ? wait : 0);
    if(rc < 0)
      return rc;
    es_collect(e);
  }
  (void)es_start_due(e, es_mono_ms());
  return e->pending.n > 0x7fffffff ? 0x7fffffff : (int)e->pending.n;
}

int es_engine_set_connection_limits(struct es_engine *e, long per_host, long total)
{
  long cache;
  if(!e || per_host < 0 || total < 0)
    return ES_EINVAL;
  if(per_host == 0)
    per_host = ES_ENGINE_DEFAULT_HOST_CONNECTIONS;
  /* Idle connections kept for reuse: enough for every host's cap at once. */
  cache = total > 0 ? total : per_host * 4;
  if(cache < 16)
    cache = 16;
  if(curl_multi_setopt(e->multi, CURLMOPT_MAX_HOST_CONNECTIONS, per_host) != CURLM_OK ||
     curl_multi_setopt(e->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, total) != CURLM_OK ||
     curl_multi_setopt(e->multi, CURLMOPT_MAXCONNECTS, cache) != CURLM_OK)
    return ES_ECURL;
  e->max_host_connections = per_host;
  e->max_total_connections = total;
  return ES_OK;
}

void es_engine_connection_limits(const struct es_engine *e, long *per_host, long *total)
{
  if(per_host)
    *per_host = e ? e->max_host_connections : 0;
  if(total)
    *total = e ? e->max_total_connections : 0;
}

/* ---- submit ------------------------------------------------------------------ */

/* The guard gate: after the request is fully built, before it is signed.
   Returns 1 when the request completed here (refused, no-op, or its audit
   line could not be written) and must not be started. */
static int es_guard_request(struct es_engine *e, struct es_req *q, const struct es_http_request *r)
{
  struct es_http_response *resp = q->resp;
  struct es_guard_request gr;
  int rc, sys_errno = 0;

  memset(&gr, 0, sizeof(gr));
  gr.method = q->method;
  gr.target = q->target;
  gr.target_len = q->target_len;
  gr.body = q->body;
  gr.body_len = q->body_len;
  gr.access_key_id = q->ak;
  gr.endpoint = q->host;
  gr.observed_with = r->observed_with;
  gr.acknowledge = r->acknowledge;
  gr.allow_undocumented = r->allow_undocumented;
  gr.identity = r->identity;
  resp->guarded = 1;
  rc = es_guard_gate(e->guard, e->audit, &gr, es_wall(e), &resp->guard, &sys_errno);
  if(rc != ES_OK) {
    struct es_error_info why;
    /* Every mode decision must be on record: without the audit line, nothing is sent. */
    es_error_set(&why, ES_EGUARD, sys_errno, "guard audit log write failed (%s); request not sent",
                 es_strerror(rc));
    resp->error = ES_EGUARD;
    es_setmsg(resp, why.message);
    es_complete(e, q);
    return 1;
  }
  if(resp->guard.action == ES_GUARD_REFUSE) {
    resp->error = ES_EGUARD;
    es_setmsg(resp, resp->guard.message[0] ? resp->guard.message : "refused by the guard");
    es_complete(e, q);
    return 1;
  }
  if(resp->guard.action == ES_GUARD_NOOP) {
    es_complete(e, q);
    return 1;
  }
  return 0;
}

int es_engine_submit(struct es_engine *e, const struct es_http_request *r,
                     unsigned long long *id_out)
{
  struct es_req *q;
  struct es_http_response *resp;
  int rc;

  if(!e || !r || !es_method_ok(r->method) || !r->url || (r->body_len && !r->body) ||
     (r->n_headers && !r->headers))
    return ES_EINVAL;
  if(r->sign && (!r->region || !r->service || !r->creds.access_key_id ||
                 !r->creds.secret_access_key))
    return ES_EINVAL;
  if(r->ca_pem && (r->ca_pem_len == 0 || r->ca_pem_len > ES_ENGINE_MAX_CA_PEM))
    return ES_EINVAL;
  q = calloc(1, sizeof(*q));
  if(!q)
    return ES_ENOMEM;
  q->e = e;
  q->state = ES_RS_WAITING;
  /* Headers (an Authorization for container credentials), the body (a web
     identity token) and the response (keys from STS) may be secrets. */
  es_buf_set_secret(&q->hstore);
  es_buf_set_secret(&q->hraw);
  rc = es_parse_url(q, r->url);
  if(rc == ES_OK)
    rc = es_copy_headers(q, r);
  if(rc != ES_OK)
    goto fail;
  rc = ES_ENOMEM;
  q->method = es_strdup0(r->method);
  q->body = es_strndup0(r->body ? r->body : "", r->body_len);
  q->body_len = r->body_len;
  q->resp = calloc(1, sizeof(*q->resp));
  if(!q->method || !q->body || !q->resp)
    goto fail;
  es_buf_set_secret(&q->resp->body);
  if(r->service && !(q->service = es_strdup0(r->service)))
    goto fail;
  if(r->region && !(q->region = es_strdup0(r->region)))
    goto fail;
  if(r->ca_pem) {
    if(!(q->ca_pem = es_strndup0(r->ca_pem, r->ca_pem_len)))
      goto fail;
    q->ca_pem_len = r->ca_pem_len;
  }
  q->sign = r->sign ? 1 : 0;
  if(q->sign) {
    q->ak = es_strdup0(r->creds.access_key_id);
    q->sk = es_strdup0(r->creds.secret_access_key);
    if(!q->ak || !q->sk)
      goto fail;
    if(r->creds.session_token && !(q->tok = es_strdup0(r->creds.session_token)))
      goto fail;
  }
  q->flags = r->sigv4_flags;
  q->is_eks = es_guard_targets_eks(q->service, q->url_host, q->host, q->target, q->target_len);
  q->timeout_ms = r->timeout_ms > 0 ? r->timeout_ms : e->timeout_ms;
  q->max_attempts = r->max_attempts > 0 ? r->max_attempts : e->max_attempts;
  if(q->max_attempts > ES_ENGINE_MAX_ATTEMPTS)
    q->max_attempts = ES_ENGINE_MAX_ATTEMPTS;
  if(e->retry_mode == ES_RETRY_OFF)
    q->max_attempts = 1;
  if(es_done_reserve(e, 1) != ES_OK)
    goto fail;

  resp = q->resp;
  q->id = e->next_id++;
  resp->id = q->id;
  resp->user_id = r->user_id;
  q->t_submit = es_mono_ms();
  es_list_push(&e->pending, q, ES_L_PENDING);
  if(id_out)
    *id_out = q->id;

  if(q->is_eks && es_guard_request(e, q, r))
    return ES_OK;
  es_start_attempt(e, q);
  return ES_OK;

fail:
  es_req_free(q);
  return rc;
}

/* ---- the rest of the API ------------------------------------------------------------ */

struct es_http_response *es_engine_next_done(struct es_engine *e)
{
  struct es_http_response *r;
  if(!e || e->done_len == 0)
    return NULL;
  r = e->done[e->done_head++];
  e->done_len--;
  if(e->done_len == 0)
    e->done_head = 0;
  return r;
}

size_t es_engine_done_count(const struct es_engine *e)
{
  return e ? e->done_len : 0;
}

size_t es_engine_waiting_count(const struct es_engine *e)
{
  return e ? e->timers.n : 0;
}

int es_engine_cancel(struct es_engine *e, unsigned long long id)
{
  struct es_req *q;
  if(!e)
    return ES_EINVAL;
  for(q = e->pending.head; q; q = q->next[ES_L_PENDING])
    if(q->id == id)
      break;
  if(!q)
    return ES_ENOTFOUND;
  if(q->state == ES_RS_ACTIVE) {
    curl_multi_remove_handle(e->multi, q->easy);
    q->state = ES_RS_WAITING;
    /* The request may have reached the server: let the guard forget what it changes. */
    if(q->is_eks)
      es_guard_observe(e->guard, q->ak, q->host, q->method, q->target, q->target_len, 0, NULL, 0,
                       es_wall(e), q->id);
  }
  q->resp->error = ES_ECLOSED;
  es_setmsg(q->resp, "canceled");
  es_buf_free(&q->resp->body);
  es_complete(e, q);
  return ES_OK;
}

long es_engine_clock_offset(const struct es_engine *e)
{
  return e ? e->clock_offset : 0;
}

void es_engine_set_clock_offset(struct es_engine *e, long seconds)
{
  if(e)
    e->clock_offset = seconds;
}

long es_engine_retry_quota(const struct es_engine *e)
{
  return e ? e->quota.available : 0;
}

void es_engine_refill_retry_quota(struct es_engine *e)
{
  if(e)
    es_retry_quota_release(&e->quota, e->quota.capacity);
}

struct es_guard_state *es_engine_guard_state(struct es_engine *e)
{
  return e ? e->guard : NULL;
}

const char *es_engine_observed_mode(struct es_engine *e, const char *access_key_id,
                                    const char *host, const char *cluster,
                                    unsigned long long observed_with)
{
  if(!e)
    return NULL;
  /* The engine's clock, as the guard gate in es_engine_submit uses it. */
  return es_guard_state_current(e->guard, observed_with, access_key_id, host, cluster, es_wall(e));
}

const char *es_http_response_header(const struct es_http_response *r, const char *name)
{
  size_t i;
  if(!r || !name)
    return NULL;
  for(i = 0; i < r->n_headers; i++)
    if(strcasecmp(r->headers[i].name, name) == 0)
      return r->headers[i].value;
  return NULL;
}
