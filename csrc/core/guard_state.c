/*
 * guard_state.c: the modes the engine observed in DescribeCluster responses.
 *
 * The guard never takes the current mode on the caller's word: the engine
 * feeds every EKS response here, and looks the mode up just before an
 * UpdateClusterConfig. Anything that could change a cluster's mode (any
 * UpdateClusterConfig response, a CreateCluster, a DeleteCluster) or that we
 * could not read makes us forget the entry, so a lookup then says "unknown"
 * and the guard refuses until the cluster is described again.
 *
 * A chained hash table keyed by (endpoint, cluster name); bounded: when full,
 * the oldest observation is evicted.
 */
#include "guard.h"
#include "guard_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NBUCKETS 256
#define MAX_ENTRIES 4096
#define MAX_MODE_LEN 256       /* longer "modes" are not remembered (lookup says unknown) */

struct entry {
  struct entry *next;
  uint32_t hash;
  time_t seen;
  char *mode;                  /* NULL: the response had no mode */
  size_t klen;                 /* endpoint '\0' cluster */
  char key[];
};

struct es_guard_state {
  struct entry *buckets[NBUCKETS];
  size_t count;
};

struct es_guard_state *es_guard_state_new(void)
{
  return calloc(1, sizeof(struct es_guard_state));
}

static void entry_free(struct entry *e)
{
  free(e->mode);
  free(e);
}

void es_guard_state_free(struct es_guard_state *st)
{
  if(!st)
    return;
  for(size_t b = 0; b < NBUCKETS; b++) {
    struct entry *e = st->buckets[b];
    while(e) {
      struct entry *next = e->next;
      entry_free(e);
      e = next;
    }
  }
  free(st);
}

size_t es_guard_state_count(const struct es_guard_state *st)
{
  return st ? st->count : 0;
}

/* FNV-1a over endpoint '\0' cluster. */
static uint32_t key_hash(const char *ep, const char *cl)
{
  uint32_t h = 2166136261u;
  for(const unsigned char *p = (const unsigned char *)ep; *p; p++)
    h = (h ^ *p) * 16777619u;
  h = (h ^ 0u) * 16777619u;
  for(const unsigned char *p = (const unsigned char *)cl; *p; p++)
    h = (h ^ *p) * 16777619u;
  return h;
}

static struct entry **find(struct es_guard_state *st, const char *ep, const char *cl, uint32_t h)
{
  size_t el = strlen(ep), cll = strlen(cl);
  struct entry **pp = &st->buckets[h % NBUCKETS];
  for(; *pp; pp = &(*pp)->next) {
    struct entry *e = *pp;
    if(e->hash == h && e->klen == el + 1 + cll && memcmp(e->key, ep, el + 1) == 0 &&
       memcmp(e->key + el + 1, cl, cll) == 0)
      return pp;
  }
  return NULL;
}

void es_guard_state_forget(struct es_guard_state *st, const char *endpoint, const char *cluster)
{
  struct entry **pp, *e;
  if(!st || !cluster)
    return;
  if(!endpoint)
    endpoint = "";
  pp = find(st, endpoint, cluster, key_hash(endpoint, cluster));
  if(!pp)
    return;
  e = *pp;
  *pp = e->next;
  entry_free(e);
  st->count--;
}

/* Forget every cluster of one endpoint (a CreateCluster whose response we
   could not read: we do not know which name it was). */
static void forget_endpoint(struct es_guard_state *st, const char *endpoint)
{
  size_t el = strlen(endpoint);
  for(size_t b = 0; b < NBUCKETS; b++) {
    struct entry **pp = &st->buckets[b];
    while(*pp) {
      struct entry *e = *pp;
      if(e->klen > el && memcmp(e->key, endpoint, el + 1) == 0) {
        *pp = e->next;
        entry_free(e);
        st->count--;
      }
      else
        pp = &e->next;
    }
  }
}

static void evict_oldest(struct es_guard_state *st)
{
  struct entry **oldest = NULL;
  for(size_t b = 0; b < NBUCKETS; b++)
    for(struct entry **pp = &st->buckets[b]; *pp; pp = &(*pp)->next)
      if(!oldest || (*pp)->seen < (*oldest)->seen)
        oldest = pp;
  if(oldest) {
    struct entry *e = *oldest;
    *oldest = e->next;
    entry_free(e);
    st->count--;
  }
}

/* Remember (endpoint, cluster) -> mode (NULL: absent) at now. On allocation
   failure the old entry is dropped: a stale mode must never survive. */
static void remember(struct es_guard_state *st, const char *ep, const char *cl,
                     const char *mode, size_t mode_len, time_t now)
{
  uint32_t h = key_hash(ep, cl);
  struct entry **pp = find(st, ep, cl, h), *e;
  size_t el = strlen(ep), cll = strlen(cl);
  char *m = NULL;

  if(mode) {
    m = malloc(mode_len + 1);
    if(!m) {
      es_guard_state_forget(st, ep, cl);
      return;
    }
    memcpy(m, mode, mode_len);
    m[mode_len] = '\0';
  }
  if(pp) {
    e = *pp;
    free(e->mode);
    e->mode = m;
    e->seen = now;
    return;
  }
  if(st->count >= MAX_ENTRIES)
    evict_oldest(st);
  e = malloc(sizeof(*e) + el + 1 + cll + 1);
  if(!e) {
    free(m);
    return;
  }
  e->hash = h;
  e->seen = now;
  e->mode = m;
  e->klen = el + 1 + cll;
  memcpy(e->key, ep, el + 1);
  memcpy(e->key + el + 1, cl, cll + 1);
  e->next = st->buckets[h % NBUCKETS];
  st->buckets[h % NBUCKETS] = e;
  st->count++;
}

/* Read a DescribeCluster body for cluster `name`. Remembers the mode, or
   forgets the entry when anything about the body is doubtful. */
static void observe_describe(struct es_guard_state *st, const char *ep, const char *name,
                             const char *body, size_t body_len, time_t now)
{
  json_error_t err;
  json_t *root, *cluster, *cname, *vpc, *mode = NULL;

  if(!body || body_len == 0 || body_len > ES_GUARD_MAX_BODY || memchr(body, '\0', body_len)) {
    es_guard_state_forget(st, ep, name);
    return;
  }
  root = json_loadb(body, body_len, JSON_REJECT_DUPLICATES, &err);
  if(!root) {
    es_guard_state_forget(st, ep, name);
    return;
  }
  cluster = json_object_get(root, "cluster");
  cname = json_object_get(cluster, "name");
  vpc = json_object_get(cluster, "resourcesVpcConfig");
  if(!json_is_object(cluster) || !json_is_string(cname) || strcmp(json_string_value(cname), name) != 0 ||
     (vpc && !json_is_object(vpc)))
    goto doubtful;
  if(vpc) {
    for(void *it = json_object_iter(vpc); it; it = json_object_iter_next(vpc, it)) {
      const char *k = json_object_iter_key(it);
      if(!es_guard_key_folds_to(k, "controlplaneegressmode"))
        continue;
      if(strcmp(k, "controlPlaneEgressMode") != 0)
        goto doubtful;                      /* a second spelling: which one is true? */
      mode = json_object_iter_value(it);
    }
  }
  if(mode && !json_is_null(mode)) {
    if(!json_is_string(mode) || json_string_length(mode) == 0 ||
       json_string_length(mode) > MAX_MODE_LEN)
      goto doubtful;
    remember(st, ep, name, json_string_value(mode), json_string_length(mode), now);
  }
  else
    remember(st, ep, name, NULL, 0, now);   /* known to be absent: lookup says unknown */
  json_decref(root);
  return;
doubtful:
  es_guard_state_forget(st, ep, name);
  json_decref(root);
}

/* A CreateCluster response: forget the created name (or, if unreadable,
   every cluster of the endpoint). */
static void observe_create(struct es_guard_state *st, const char *ep, const char *body,
                           size_t body_len)
{
  json_error_t err;
  json_t *root = NULL, *cname;
  if(body && body_len > 0 && body_len <= ES_GUARD_MAX_BODY)
    root = json_loadb(body, body_len, 0, &err);
  cname = json_object_get(json_object_get(root, "cluster"), "name");
  if(json_is_string(cname))
    es_guard_state_forget(st, ep, json_string_value(cname));
  else
    forget_endpoint(st, ep);
  json_decref(root);
}

void es_guard_observe(struct es_guard_state *st, const char *endpoint,
                      const char *method, const char *target, size_t target_len,
                      long status, const char *body, size_t body_len, time_t now)
{
  char name[ES_GUARD_NAME_MAX + 1];
  enum es_guard_op op;
  if(!st || !method || !target)
    return;
  if(!endpoint)
    endpoint = "";
  op = es_guard_canonical_op(method, target, target_len, name);
  switch(op) {
  case ES_GOP_DESCRIBE:
    if(status == 200)
      observe_describe(st, endpoint, name, body, body_len, now);
    else if(status == 404)
      es_guard_state_forget(st, endpoint, name);
    break;
  case ES_GOP_UPDATE_CONFIG:
  case ES_GOP_DELETE:
    /* Whatever the status: a 5xx or a timeout may still have applied it. */
    es_guard_state_forget(st, endpoint, name);
    break;
  case ES_GOP_CREATE:
    if(status == 200)
      observe_create(st, endpoint, body, body_len);
    else if(status <= 0 || status >= 500)
      forget_endpoint(st, endpoint);      /* it may have been created: we cannot tell which */
    break;
  case ES_GOP_NONE:
    break;
  }
}

const char *es_guard_state_lookup(struct es_guard_state *st, const char *endpoint,
                                  const char *cluster, time_t now, long max_age)
{
  struct entry **pp, *e;
  if(!st || !cluster || max_age < 0)
    return NULL;
  if(!endpoint)
    endpoint = "";
  pp = find(st, endpoint, cluster, key_hash(endpoint, cluster));
  if(!pp)
    return NULL;
  e = *pp;
  /* An observation from the future (the clock went back) is not trusted. */
  if(now < e->seen || (uintmax_t)now - (uintmax_t)e->seen > (uintmax_t)max_age)
    return NULL;
  return e->mode;
}
