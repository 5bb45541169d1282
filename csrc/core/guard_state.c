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
 * Observations belong to the identity that made them: the key is (access key
 * id, endpoint, cluster name). Two accounts in one region may each have a
 * cluster named "prod"; what one account's DescribeCluster says must never
 * decide the other account's update.
 *
 * Each entry also keeps the request ids of the last ES_GUARD_OBS_KEEP
 * DescribeCluster responses that saw its current mode, so an update can name
 * the very observation it relies on (observed_with); a different mode or a
 * forget starts the list afresh.
 *
 * A chained hash table; bounded: when full, the entry observed least recently
 * is evicted. Entries sit on a list in the order they were last observed
 * (the most recent at the tail), so finding it costs O(1) however many
 * clusters an engine has seen; a 30,000-cluster audit no longer scans 4,096
 * entries for every new one.
 */
#include "guard.h"
#include "guard_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NBUCKETS 4096
#define MAX_ENTRIES 4096
#define MAX_MODE_LEN 256       /* longer "modes" are not remembered (lookup says unknown) */

struct observation {
  unsigned long long id;       /* the engine request id of the DescribeCluster */
  time_t seen;
};

struct entry {
  struct entry *next;          /* bucket chain */
  struct entry *older, *newer; /* the recency list */
  uint32_t hash;
  char *mode;                  /* NULL: the response had no mode */
  struct observation obs[ES_GUARD_OBS_KEEP];   /* oldest first; the last is the latest */
  size_t n_obs;                /* >= 1 */
  size_t klen;                 /* identity '\0' endpoint '\0' cluster */
  char key[];
};

struct es_guard_state {
  struct entry *buckets[NBUCKETS];
  struct entry *oldest, *newest;   /* the recency list: least to most recently observed */
  size_t count;
};

/* The three parts of a key, NULL read as "". */
struct key {
  const char *part[3];
  size_t len[3];
  size_t total;                /* with the two separators */
};

static void make_key(struct key *k, const char *identity, const char *endpoint, const char *cluster)
{
  k->part[0] = identity ? identity : "";
  k->part[1] = endpoint ? endpoint : "";
  k->part[2] = cluster ? cluster : "";
  k->total = 2;
  for(int i = 0; i < 3; i++) {
    k->len[i] = strlen(k->part[i]);
    k->total += k->len[i];
  }
}

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

/* FNV-1a over identity '\0' endpoint '\0' cluster. */
static uint32_t key_hash(const struct key *k)
{
  uint32_t h = 2166136261u;
  for(int i = 0; i < 3; i++) {
    const unsigned char *p = (const unsigned char *)k->part[i];
    for(size_t j = 0; j < k->len[i]; j++)
      h = (h ^ p[j]) * 16777619u;
    if(i < 2)
      h = (h ^ 0u) * 16777619u;
  }
  return h;
}

static int key_equal(const struct entry *e, const struct key *k)
{
  size_t off = 0;
  if(e->klen != k->total)
    return 0;
  for(int i = 0; i < 3; i++) {
    if(memcmp(e->key + off, k->part[i], k->len[i]) != 0 || (i < 2 && e->key[off + k->len[i]] != '\0'))
      return 0;
    off += k->len[i] + 1;
  }
  return 1;
}

static struct entry **find(struct es_guard_state *st, const struct key *k, uint32_t h)
{
  struct entry **pp = &st->buckets[h % NBUCKETS];
  for(; *pp; pp = &(*pp)->next)
    if((*pp)->hash == h && key_equal(*pp, k))
      return pp;
  return NULL;
}

static void recency_unlink(struct es_guard_state *st, struct entry *e)
{
  if(e->older)
    e->older->newer = e->newer;
  else
    st->oldest = e->newer;
  if(e->newer)
    e->newer->older = e->older;
  else
    st->newest = e->older;
  e->older = e->newer = NULL;
}

/* Put e at the recent end of the list (it is on no list). */
static void recency_push(struct es_guard_state *st, struct entry *e)
{
  e->newer = NULL;
  e->older = st->newest;
  if(st->newest)
    st->newest->newer = e;
  else
    st->oldest = e;
  st->newest = e;
}

static void unlink_entry(struct es_guard_state *st, struct entry **pp)
{
  struct entry *e = *pp;
  *pp = e->next;
  recency_unlink(st, e);
  entry_free(e);
  st->count--;
}

static void forget_key(struct es_guard_state *st, const struct key *k)
{
  struct entry **pp = find(st, k, key_hash(k));
  if(pp)
    unlink_entry(st, pp);
}

void es_guard_state_forget(struct es_guard_state *st, const char *identity, const char *endpoint,
                           const char *cluster)
{
  struct key k;
  if(!st || !cluster)
    return;
  make_key(&k, identity, endpoint, cluster);
  forget_key(st, &k);
}

/* The endpoint part of an entry's key. */
static const char *entry_endpoint(const struct entry *e)
{
  return e->key + strlen(e->key) + 1;
}

/* Forget every cluster of one endpoint, for every identity (a CreateCluster
   whose response we could not read: we do not know which name it was, and
   cannot tell which other access keys share its account). */
static void forget_endpoint(struct es_guard_state *st, const char *endpoint)
{
  for(size_t b = 0; b < NBUCKETS; b++) {
    struct entry **pp = &st->buckets[b];
    while(*pp) {
      if(strcmp(entry_endpoint(*pp), endpoint) == 0)
        unlink_entry(st, pp);
      else
        pp = &(*pp)->next;
    }
  }
}

static time_t latest_seen(const struct entry *e)
{
  return e->obs[e->n_obs - 1].seen;
}

/* Evict the entry observed least recently: the head of the recency list,
   unlinked from its bucket's chain (a few entries: the table has a bucket
   per entry it can hold). */
static void evict_oldest(struct es_guard_state *st)
{
  struct entry *victim = st->oldest, **pp;
  if(!victim)
    return;
  for(pp = &st->buckets[victim->hash % NBUCKETS]; *pp; pp = &(*pp)->next)
    if(*pp == victim) {
      unlink_entry(st, pp);
      return;
    }
}

static int same_mode(const char *a, const char *b)
{
  return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Remember key -> mode (NULL: absent) as observation obs_id at now. On
   allocation failure the old entry is dropped: a stale mode must never survive. */
static void remember(struct es_guard_state *st, const struct key *k, const char *mode,
                     size_t mode_len, time_t now, unsigned long long obs_id)
{
  uint32_t h = key_hash(k);
  struct entry **pp = find(st, k, h), *e;
  char *m = NULL;
  size_t off = 0;

  if(mode) {
    m = malloc(mode_len + 1);
    if(!m) {
      forget_key(st, k);
      return;
    }
    memcpy(m, mode, mode_len);
    m[mode_len] = '\0';
  }
  if(pp) {
    e = *pp;
    if(same_mode(e->mode, m)) {
      /* Another look at the same mode: one more observation to rely on. */
      free(m);
      if(e->n_obs == ES_GUARD_OBS_KEEP) {
        memmove(e->obs, e->obs + 1, (ES_GUARD_OBS_KEEP - 1) * sizeof(e->obs[0]));
        e->n_obs--;
      }
    }
    else {
      /* The mode changed: earlier observations no longer describe the cluster. */
      free(e->mode);
      e->mode = m;
      e->n_obs = 0;
    }
    e->obs[e->n_obs].id = obs_id;
    e->obs[e->n_obs].seen = now;
    e->n_obs++;
    recency_unlink(st, e);
    recency_push(st, e);
    return;
  }
  if(st->count >= MAX_ENTRIES)
    evict_oldest(st);
  e = malloc(sizeof(*e) + k->total + 1);
  if(!e) {
    free(m);
    return;
  }
  e->hash = h;
  e->mode = m;
  e->obs[0].id = obs_id;
  e->obs[0].seen = now;
  e->n_obs = 1;
  e->klen = k->total;
  for(int i = 0; i < 3; i++) {
    memcpy(e->key + off, k->part[i], k->len[i]);
    e->key[off + k->len[i]] = '\0';
    off += k->len[i] + 1;
  }
  e->next = st->buckets[h % NBUCKETS];
  st->buckets[h % NBUCKETS] = e;
  recency_push(st, e);
  st->count++;
}

/* Read a DescribeCluster body for the cluster of key k. Remembers the mode,
   or forgets the entry when anything about the body is doubtful. */
static void observe_describe(struct es_guard_state *st, const struct key *k, const char *body,
                             size_t body_len, time_t now, unsigned long long obs_id)
{
  const char *name = k->part[2];
  json_error_t err;
  json_t *root, *cluster, *cname, *vpc, *mode = NULL;

  if(!body || body_len == 0 || body_len > ES_GUARD_MAX_BODY || memchr(body, '\0', body_len)) {
    forget_key(st, k);
    return;
  }
  root = json_loadb(body, body_len, JSON_REJECT_DUPLICATES, &err);
  if(!root) {
    forget_key(st, k);
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
      const char *key = json_object_iter_key(it);
      if(!es_guard_key_folds_to(key, "controlplaneegressmode"))
        continue;
      if(strcmp(key, "controlPlaneEgressMode") != 0)
        goto doubtful;                      /* a second spelling: which one is true? */
      mode = json_object_iter_value(it);
    }
  }
  if(mode && !json_is_null(mode)) {
    if(!json_is_string(mode) || json_string_length(mode) == 0 ||
       json_string_length(mode) > MAX_MODE_LEN)
      goto doubtful;
    remember(st, k, json_string_value(mode), json_string_length(mode), now, obs_id);
  }
  else
    remember(st, k, NULL, 0, now, obs_id);   /* known to be absent: lookup says unknown */
  json_decref(root);
  return;
doubtful:
  forget_key(st, k);
  json_decref(root);
}

/* A CreateCluster response: forget the created name (or, if unreadable,
   every cluster of the endpoint). */
static void observe_create(struct es_guard_state *st, const char *identity, const char *ep,
                           const char *body, size_t body_len)
{
  json_error_t err;
  json_t *root = NULL, *cname;
  if(body && body_len > 0 && body_len <= ES_GUARD_MAX_BODY)
    root = json_loadb(body, body_len, 0, &err);
  cname = json_object_get(json_object_get(root, "cluster"), "name");
  if(json_is_string(cname))
    es_guard_state_forget(st, identity, ep, json_string_value(cname));
  else
    forget_endpoint(st, ep);
  json_decref(root);
}

void es_guard_observe(struct es_guard_state *st, const char *identity, const char *endpoint,
                      const char *method, const char *target, size_t target_len,
                      long status, const char *body, size_t body_len, time_t now,
                      unsigned long long obs_id)
{
  char name[ES_GUARD_NAME_MAX + 1];
  enum es_guard_op op;
  struct key k;
  if(!st || !method || !target)
    return;
  if(!endpoint)
    endpoint = "";
  op = es_guard_canonical_op(method, target, target_len, name);
  make_key(&k, identity, endpoint, name);
  switch(op) {
  case ES_GOP_DESCRIBE:
    if(status == 200)
      observe_describe(st, &k, body, body_len, now, obs_id);
    else if(status == 404)
      forget_key(st, &k);
    break;
  case ES_GOP_UPDATE_CONFIG:
  case ES_GOP_DELETE:
    /* Whatever the status: a 5xx or a timeout may still have applied it. */
    forget_key(st, &k);
    break;
  case ES_GOP_CREATE:
    if(status == 200)
      observe_create(st, identity, endpoint, body, body_len);
    else if(status <= 0 || status >= 500)
      forget_endpoint(st, endpoint);      /* it may have been created: we cannot tell which */
    break;
  case ES_GOP_NONE:
    break;
  }
}

static int fresh(time_t seen, time_t now, long max_age)
{
  /* An observation from the future (the clock went back) is not trusted. */
  return now >= seen && (uintmax_t)now - (uintmax_t)seen <= (uintmax_t)max_age;
}

static struct entry *lookup_entry(struct es_guard_state *st, const char *identity,
                                  const char *endpoint, const char *cluster, long max_age)
{
  struct key k;
  struct entry **pp;
  if(!st || !cluster || max_age < 0)
    return NULL;
  make_key(&k, identity, endpoint, cluster);
  pp = find(st, &k, key_hash(&k));
  return pp ? *pp : NULL;
}

const char *es_guard_state_lookup(struct es_guard_state *st, const char *identity,
                                  const char *endpoint, const char *cluster, time_t now,
                                  long max_age)
{
  struct entry *e = lookup_entry(st, identity, endpoint, cluster, max_age);
  if(!e || !fresh(latest_seen(e), now, max_age))
    return NULL;
  return e->mode;
}

const char *es_guard_state_lookup_observation(struct es_guard_state *st, unsigned long long obs_id,
                                              const char *identity, const char *endpoint,
                                              const char *cluster, time_t now, long max_age)
{
  struct entry *e = lookup_entry(st, identity, endpoint, cluster, max_age);
  if(!e || obs_id == 0)
    return NULL;
  for(size_t i = 0; i < e->n_obs; i++)
    if(e->obs[i].id == obs_id)
      return fresh(e->obs[i].seen, now, max_age) ? e->mode : NULL;
  return NULL;
}
